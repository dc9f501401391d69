/*
 * lp.c: one phase of the round's LP with GLPK.  Columns are blocks per
 * candidate this round (in MiB so that the numbers stay near one); rows are
 * the capacity of every limited resource the candidates use (what is left
 * of it) and, per demand, the nested range rows: what a destination takes
 * from its sources of length up to L fits between its own length and L.
 * The objective is the candidates' weights per MiB.  All-zero is feasible,
 * so the primal simplex starts from the standard basis with no presolve
 * (a look-ahead from a crash basis).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glpk.h>

#include "planner.h"

#define MIB 1048576.0

struct lpbuild {
	int		*ia;
	int		*ja;
	double		*ar;
	size_t		 ne;
	size_t		 cap;
};

static void
lp_entry(struct lpbuild *b, int row, int col, double v)
{
	if (b->ne + 1 >= b->cap) {
		b->cap = b->cap ? b->cap * 2 : 1024;
		b->ia = xreallocarray(b->ia, b->cap, sizeof(int));
		b->ja = xreallocarray(b->ja, b->cap, sizeof(int));
		b->ar = xreallocarray(b->ar, b->cap, sizeof(double));
	}
	b->ne++;
	b->ia[b->ne] = row;
	b->ja[b->ne] = col;
	b->ar[b->ne] = v;
}

static double
block_mib(const struct sched *s, const struct candidate *c)
{
	return (double)s->m->manifests[s->demands[c->demand].file]->block_size
	    / MIB;
}

/* Adds a row per limited resource the candidates use. */
static void
capacity_rows(struct sched *s, glp_prob *lp, struct lpbuild *b,
    const size_t *cands, size_t n, int *col)
{
	int *row = xcalloc(s->t->nresources, sizeof(int));
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		const struct candidate *c = &s->cands[cands[i]];

		for (k = 0; col[cands[i]] != 0 && k < c->nres; k++) {
			size_t r = c->res[k];
			double left = s->residual[r];

			if (isinf(left))
				continue;
			if (row[r] == 0) {
				row[r] = glp_add_rows(lp, 1);
				glp_set_row_bnds(lp, row[r], GLP_UP, 0,
				    left > 0 ? left * s->T / MIB : 0);
			}
			lp_entry(b, row[r], col[cands[i]], block_mib(s, c));
		}
	}
	free(row);
}

/* Adds the nested range rows of every demand the candidates serve. */
static void
range_rows(struct sched *s, glp_prob *lp, struct lpbuild *b,
    const size_t *cands, size_t n, int *col)
{
	char *done = xcalloc(s->ndemands ? s->ndemands : 1, 1);
	size_t i, j, k;

	for (i = 0; i < n; i++) {
		const struct demand *d = &s->demands[s->cands[cands[i]].demand];
		size_t di = s->cands[cands[i]].demand;
		uint64_t bs, haveb, fixed = 0;
		int any_free = 0;

		if (done[di])
			continue;
		done[di] = 1;
		bs = s->m->manifests[d->file]->block_size;
		haveb = d->have / bs;
		for (j = d->first; j < d->first + d->ncand; j++) {
			const struct candidate *c = &s->cands[j];
			const struct manifest *man = s->m->manifests[d->file];
			uint64_t lim = (man->final && c->source_len ==
			    man->length) ? (c->source_len + bs - 1) / bs :
			    c->source_len / bs;
			int r;

			fixed += c->blocks;
			if (col[j] != 0)
				any_free = 1;
			if (!any_free)
				continue;
			r = glp_add_rows(lp, 1);
			glp_set_row_bnds(lp, r, GLP_UP, 0,
			    lim > haveb + fixed ? (double)(lim - haveb - fixed) :
			    0);
			for (k = d->first; k <= j; k++)
				if (col[k] != 0)
					lp_entry(b, r, col[k], 1.0);
		}
	}
	free(done);
}

/*
 * The later rounds of the horizon, 2 to H: a column per candidate and
 * round, worth a tenth less each round; each round's capacities; per
 * demand, what all rounds take within its need; and per candidate and
 * round, what it takes within what its source will hold then beyond what
 * its destination will hold then (both grow by what the earlier rounds
 * give them).  Only the first round is carried out; the rest is a
 * look-ahead, so that the first round prefers what makes sources.
 * Returns the columns of every round, [round * ncands + candidate].
 */
static int *
horizon_rows(struct sched *s, glp_prob *lp, struct lpbuild *b,
    const size_t *cands, size_t n, int *col)
{
	size_t nf = s->m->fileset->nfiles, H = (size_t)s->horizon;
	size_t N = s->ncands, i, j, k, t, u, nd = s->ndemands;
	int *colt = xcalloc(N * H, sizeof(int));	/* [t * N + cand] */
	char *in = xcalloc(nd ? nd : 1, 1);
	int *intake;
	double disc = 1;

	for (i = 0; i < n; i++) {
		colt[cands[i]] = col[cands[i]];
		in[s->cands[cands[i]].demand] = 1;
	}
	for (t = 1; t < H; t++) {
		disc *= 0.9;
		for (i = 0; i < n; i++) {
			const struct candidate *c = &s->cands[cands[i]];
			int cc = glp_add_cols(lp, 1);

			colt[t * N + cands[i]] = cc;
			glp_set_col_bnds(lp, cc, GLP_LO, 0, 0);
			glp_set_obj_coef(lp, cc, disc * c->weight *
			    block_mib(s, c));
		}
		capacity_rows(s, lp, b, cands, n, colt + t * N);
	}
	/* Need, over every round. */
	for (k = 0; k < nd; k++) {
		const struct demand *d = &s->demands[k];
		uint64_t bs = s->m->manifests[d->file]->block_size, given = 0;
		uint64_t need = (d->want - d->have + bs - 1) / bs;
		int r;

		if (!in[k])
			continue;
		/* Less what earlier phases gave it, now and ahead. */
		for (j = d->first; j < d->first + d->ncand; j++) {
			given += s->cands[j].blocks;
			for (t = 0; t + 1 < H; t++)
				given += (uint64_t)s->cands[j].ahead[t];
		}
		r = glp_add_rows(lp, 1);
		glp_set_row_bnds(lp, r, GLP_UP, 0,
		    need > given ? (double)(need - given) : 0);
		for (t = 0; t < H; t++)
			for (j = d->first; j < d->first + d->ncand; j++)
				if (colt[t * N + j] != 0)
					lp_entry(b, r, colt[t * N + j], 1.0);
	}
	/* What each demand takes in each round but the last, a column
	 * of its own so that the range rows stay short. */
	intake = xcalloc(nd * H + 1, sizeof(int));
	for (k = 0; k < nd; k++) {
		const struct demand *d = &s->demands[k];

		if (!in[k])
			continue;
		for (u = 0; u + 1 < H; u++) {
			int r = glp_add_rows(lp, 1), cc = glp_add_cols(lp, 1);

			intake[k * H + u] = cc;
			glp_set_col_bnds(lp, cc, GLP_LO, 0, 0);
			glp_set_row_bnds(lp, r, GLP_FX, 0, 0);
			lp_entry(b, r, cc, 1.0);
			for (j = d->first; j < d->first + d->ncand; j++)
				if (colt[u * N + j] != 0)
					lp_entry(b, r, colt[u * N + j], -1.0);
		}
	}
	/* Ranges: x[t][c] + in_d(<t) - in_s(<t) <= len_s - len_d, what
	 * earlier phases gave both counted in. */
	for (t = 1; t < H; t++)
		for (i = 0; i < n; i++) {
			const struct candidate *c = &s->cands[cands[i]];
			const struct demand *d = &s->demands[c->demand];
			const struct demand *e = NULL;
			uint64_t bs = s->m->manifests[d->file]->block_size;
			long sd = s->demand_of[c->source * nf + d->file];
			double lim = (double)(c->source_len / bs) -
			    (double)(d->have / bs);
			int r;

			/* A source that holds all the destination wants
			 * needs no row beyond the need. */
			if (sd < 0 && c->source_len >= d->want)
				continue;
			r = glp_add_rows(lp, 1);
			if (sd >= 0)
				e = &s->demands[sd];
			lp_entry(b, r, colt[t * N + cands[i]], 1.0);
			for (j = d->first; j < d->first + d->ncand; j++)
				lim -= (double)s->cands[j].blocks;
			for (u = 0; u < t; u++)
				lp_entry(b, r, intake[c->demand * H + u], 1.0);
			if (e != NULL) {
				for (j = e->first; j < e->first + e->ncand; j++)
					lim += (double)s->cands[j].blocks;
				for (u = 0; u < t && in[sd]; u++)
					lp_entry(b, r, intake[(size_t)sd * H + u],
					    -1.0);
			}
			/* A source behind its destination: loosened to
			 * "catches up", which keeps all-zero feasible. */
			glp_set_row_bnds(lp, r, GLP_UP, 0, lim > 0 ? lim : 0);
		}
	free(intake);
	free(in);
	return colt;
}

/*
 * Solves the LP over the candidates listed and grants each the whole
 * blocks of its solution that still fit.  Returns 0, or -1 when GLPK
 * found no usable solution (nothing is granted then).
 */
int
lp_solve(struct sched *s, const size_t *cands, size_t n)
{
	struct lpbuild b = { 0 };
	glp_prob *lp;
	glp_smcp parm;
	int *col = xcalloc(s->ncands ? s->ncands : 1, sizeof(int));
	int *colt = NULL;
	struct timespec t0, t1;
	size_t i, t;
	int rc, status, result = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	glp_term_out(GLP_OFF);
	lp = glp_create_prob();
	glp_set_obj_dir(lp, GLP_MAX);
	glp_add_cols(lp, (int)n);
	for (i = 0; i < n; i++) {
		const struct candidate *c = &s->cands[cands[i]];

		glp_set_col_bnds(lp, (int)i + 1, c->future ? GLP_FX : GLP_LO,
		    0, 0);
		if (c->future)
			continue;
		col[cands[i]] = (int)i + 1;
		glp_set_obj_coef(lp, (int)i + 1, c->weight * block_mib(s, c));
	}
	capacity_rows(s, lp, &b, cands, n, col);
	range_rows(s, lp, &b, cands, n, col);
	if (s->horizon > 1)
		colt = horizon_rows(s, lp, &b, cands, n, col);
	if (b.ne > 0)
		glp_load_matrix(lp, (int)b.ne, b.ia, b.ja, b.ar);
	glp_init_smcp(&parm);
	parm.msg_lev = GLP_MSG_OFF;
	parm.meth = GLP_PRIMAL;
	parm.presolve = GLP_OFF;
	parm.tm_lim = s->lp_time_limit;
	glp_scale_prob(lp, GLP_SF_AUTO);
	/*
	 * A round alone starts from the all-zero basis; a look-ahead from
	 * Bixby's crash basis, which measured 10% to 30% fewer seconds on
	 * it (and no change on a round alone).
	 */
	if (s->horizon > 1)
		glp_cpx_basis(lp);
	else
		glp_std_basis(lp);
	rc = glp_simplex(lp, &parm);
	status = glp_get_status(lp);
	if ((rc == 0 || rc == GLP_ETMLIM || rc == GLP_EITLIM) &&
	    (status == GLP_OPT || status == GLP_FEAS)) {
		for (i = 0; i < n; i++) {
			struct candidate *c = &s->cands[cands[i]];
			double x = glp_get_col_prim(lp, (int)i + 1);
			uint64_t want, room;

			if (!(x >= 1 - 1e-7))
				continue;
			want = (uint64_t)floor(x + 1e-7);
			/* Guard against the solver's rounding. */
			room = sched_room(s, c);
			c->blocks += want < room ? want : room;
			sched_charge(s, c, want < room ? want : room);
		}
		/* The look-ahead, for the ledger. */
		for (t = 1; colt != NULL && t < (size_t)s->horizon; t++)
			for (i = 0; i < n; i++) {
				int cc = colt[t * s->ncands + cands[i]];

				s->cands[cands[i]].ahead[t - 1] = cc == 0 ? 0 :
				    floor(glp_get_col_prim(lp, cc) + 1e-7);
			}
		result = rc == 0 ? 0 : -1;
		if (rc != 0)
			warnx_("LP stopped at its time limit with a feasible "
			    "solution; greedy fills the rest");
	} else
		warnx_("LP failed (glp_simplex %d, status %d); greedy used",
		    rc, status);
	glp_delete_prob(lp);
	free(b.ia);
	free(b.ja);
	free(b.ar);
	free(col);
	free(colt);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (s->lock != NULL)
		pthread_mutex_lock(s->lock);
	s->lp_seconds += (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (s->lock != NULL)
		pthread_mutex_unlock(s->lock);
	return result;
}
