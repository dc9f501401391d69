/*
 * lp.c: one phase of the round's LP with GLPK.  Columns are blocks per
 * candidate this round (in MiB so that the numbers stay near one); rows are
 * the capacity of every limited resource the candidates use (what is left
 * of it) and, per demand, the nested range rows: what a destination takes
 * from its sources of length up to L fits between its own length and L.
 * The objective is the candidates' weights per MiB.  All-zero is feasible,
 * so the primal simplex starts from the standard basis with no presolve.
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

		for (k = 0; k < c->nres; k++) {
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
	struct timespec t0, t1;
	size_t i;
	int rc, status, result = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	glp_term_out(GLP_OFF);
	lp = glp_create_prob();
	glp_set_obj_dir(lp, GLP_MAX);
	glp_add_cols(lp, (int)n);
	for (i = 0; i < n; i++) {
		const struct candidate *c = &s->cands[cands[i]];

		col[cands[i]] = (int)i + 1;
		glp_set_col_bnds(lp, (int)i + 1, GLP_LO, 0, 0);
		glp_set_obj_coef(lp, (int)i + 1, c->weight * block_mib(s, c));
	}
	capacity_rows(s, lp, &b, cands, n, col);
	range_rows(s, lp, &b, cands, n, col);
	if (b.ne > 0)
		glp_load_matrix(lp, (int)b.ne, b.ia, b.ja, b.ar);
	glp_init_smcp(&parm);
	parm.msg_lev = GLP_MSG_OFF;
	parm.meth = GLP_PRIMAL;
	parm.presolve = GLP_OFF;
	parm.tm_lim = s->lp_time_limit;
	glp_scale_prob(lp, GLP_SF_AUTO);
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
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s->lp_seconds += (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return result;
}
