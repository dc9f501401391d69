/*
 * allocate.c: blocks per candidate.  The LP method solves the WAN first
 * (one LP over the cross-site candidates of each site's seeders), then
 * each site's LAN on its own, each with what the others left; the greedy
 * method and the fill after the LP take candidates best first.  Every
 * grant is charged to the round's budget.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "planner.h"

static uint64_t
range_room(const struct sched *s, const struct candidate *c)
{
	const struct demand *d = &s->demands[c->demand];
	uint64_t haveb = d->have / sched_block_size(s, d->file);
	uint64_t cum = 0, room = UINT64_MAX;
	size_t j;
	int after = 0;

	if (c->future)
		return 0;
	for (j = d->first; j < d->first + d->ncand; j++) {
		const struct candidate *o = &s->cands[j];
		uint64_t limit = sched_blocks_of(s, d->file, o->source_len) - haveb;

		cum += o->blocks;
		if (o == c)
			after = 1;
		if (after) {
			uint64_t r = limit > cum ? limit - cum : 0;

			if (r < room)
				room = r;
		}
	}
	return room == UINT64_MAX ? 0 : room;
}

/* Blocks the candidate's route can still carry this round. */
static uint64_t
capacity_room(const struct sched *s, const struct candidate *c)
{
	uint64_t bs = sched_block_size(s, s->demands[c->demand].file);
	uint64_t room = UINT64_MAX;
	int i;

	for (i = 0; i < c->nres; i++) {
		double r = budget_left(&s->budget, c->res[i]);
		uint64_t b;

		if (isinf(r))
			continue;
		b = r <= 0 ? 0 : (uint64_t)floor(r * s->T / (double)bs);
		if (b < room)
			room = b;
	}
	return room;
}

/* Blocks the candidate may still take: range and capacity both. */
uint64_t
sched_room(const struct sched *s, const struct candidate *c)
{
	uint64_t a = range_room(s, c), b = capacity_room(s, c);

	return a < b ? a : b;
}

/* Charges blocks more of the candidate (fewer when negative) to every
 * resource of its route. */
void
sched_charge(struct sched *s, const struct candidate *c, double blocks)
{
	double bs = (double)sched_block_size(s, s->demands[c->demand].file);

	budget_charge(&s->budget, c->res, c->nres, blocks * bs / s->T);
}

/*
 * The LP of a phase.  Columns are blocks per candidate this round (in MiB
 * so that the numbers stay near one); rows are the capacity of every
 * limited resource the candidates use (what the budget has left of it)
 * and, per demand, the nested range rows: what a destination takes from
 * its sources of length up to L fits between its own length and L.  The
 * objective is the candidates' weights per MiB.  All-zero is feasible.
 */
#define MIB 1048576.0

static double
block_mib(const struct sched *s, const struct candidate *c)
{
	return (double)s->m->manifests[s->demands[c->demand].file]->block_size
	    / MIB;
}

/* Adds a row per limited resource the candidates use. */
static void
capacity_rows(struct sched *s, struct lp *b,
    const size_t *cands, size_t n, int *col)
{
	int *row = xcalloc(s->t->nresources, sizeof(int));
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		const struct candidate *c = &s->cands[cands[i]];

		for (k = 0; col[cands[i]] != 0 && k < c->nres; k++) {
			size_t r = c->res[k];
			double left = budget_left(&s->budget, r);

			if (isinf(left))
				continue;
			if (row[r] == 0)
				row[r] = lp_add_row(b, left > 0 ? left * s->T /
				    MIB : 0, 0);
			lp_entry(b, row[r], col[cands[i]], block_mib(s, c));
		}
	}
	free(row);
}

/* Adds the nested range rows of every demand the candidates serve. */
static void
range_rows(struct sched *s, struct lp *b,
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
			r = lp_add_row(b, lim > haveb + fixed ? (double)(lim -
			    haveb - fixed) : 0, 0);
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
horizon_rows(struct sched *s, struct lp *b,
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
			colt[t * N + cands[i]] = lp_add_col(b, disc *
			    c->weight * block_mib(s, c), 0);
		}
		capacity_rows(s, b, cands, n, colt + t * N);
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
		r = lp_add_row(b, need > given ? (double)(need - given) : 0,
		    0);
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
			int r = lp_add_row(b, 0, 1), cc = lp_add_col(b, 0, 0);

			intake[k * H + u] = cc;
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
			r = lp_add_row(b, 0, 0);
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
			b->row_bound[r - 1] = lim > 0 ? lim : 0;
		}
	free(intake);
	free(in);
	return colt;
}

/*
 * Solves one phase's LP over the candidates listed and grants each the
 * whole blocks of its solution that still fit.  Returns 0, or -1 when the
 * LP stopped early or failed (what it found is granted; the fill takes
 * the rest).
 */
static int
lp_phase(struct sched *s, const size_t *cands, size_t n)
{
	struct lp b;
	int *col = xcalloc(s->ncands ? s->ncands : 1, sizeof(int));
	int *colt = NULL;
	double *x, secs = 0;
	size_t i, t;
	int rc;

	lp_init(&b);
	b.crash = s->horizon > 1;
	b.time_limit_ms = s->lp_time_limit;
	for (i = 0; i < n; i++) {
		const struct candidate *c = &s->cands[cands[i]];
		int cc = lp_add_col(&b, c->future ? 0 : c->weight *
		    block_mib(s, c), c->future);

		if (!c->future)
			col[cands[i]] = cc;
	}
	capacity_rows(s, &b, cands, n, col);
	range_rows(s, &b, cands, n, col);
	if (s->horizon > 1)
		colt = horizon_rows(s, &b, cands, n, col);
	x = xcalloc(b.ncols ? b.ncols : 1, sizeof(double));
	rc = lp_solve(&b, x, &secs);
	if (rc >= 0) {
		for (i = 0; i < n; i++) {
			struct candidate *c = &s->cands[cands[i]];
			double v = x[i];
			uint64_t want, room;

			if (!(v >= 1 - 1e-7))
				continue;
			want = (uint64_t)floor(v + 1e-7);
			/* Guard against the solver's rounding. */
			room = sched_room(s, c);
			if (want > room)
				want = room;
			c->blocks += want;
			sched_charge(s, c, (double)want);
		}
		/* The look-ahead, for the ledger. */
		for (t = 1; colt != NULL && t < (size_t)s->horizon; t++)
			for (i = 0; i < n; i++) {
				int cc = colt[t * s->ncands + cands[i]];

				s->cands[cands[i]].ahead[t - 1] = cc == 0 ? 0 :
				    floor(x[cc - 1] + 1e-7);
			}
		if (rc == 1)
			warnx_("LP stopped at its time limit with a feasible "
			    "solution; greedy fills the rest");
	}
	free(x);
	free(col);
	free(colt);
	lp_free(&b);
	if (s->lock != NULL)
		pthread_mutex_lock(s->lock);
	s->lp_seconds += secs;
	if (s->lock != NULL)
		pthread_mutex_unlock(s->lock);
	return rc == 0 ? 0 : -1;
}

/* Greedy: best weight first, each candidate as much as fits, once. */
static const struct sched *sort_sched;

static int
cmp_greedy(const void *a, const void *b)
{
	const struct candidate *x = &sort_sched->cands[*(const size_t *)a];
	const struct candidate *y = &sort_sched->cands[*(const size_t *)b];

	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	if (x->cost != y->cost)
		return x->cost < y->cost ? -1 : 1;
	return (*(const size_t *)a > *(const size_t *)b) -
	    (*(const size_t *)a < *(const size_t *)b);
}

static void
greedy_fill(struct sched *s)
{
	size_t *order = xcalloc(s->ncands ? s->ncands : 1, sizeof(size_t));
	size_t i;

	for (i = 0; i < s->ncands; i++)
		order[i] = i;
	sort_sched = s;
	qsort(order, s->ncands, sizeof(size_t), cmp_greedy);
	for (i = 0; i < s->ncands; i++) {
		struct candidate *c = &s->cands[order[i]];
		uint64_t k = sched_room(s, c);

		if (k > 0) {
			c->blocks += k;
			sched_charge(s, c, k);
		}
	}
	free(order);
}

/*
 * The LANs.  Each site's LAN LP uses only its own hosts' NICs and its own
 * candidates, so the sites are solved in parallel, by as many threads as
 * there are processors (up to LAN_THREADS), with the same results as one
 * after the other: each LP's columns are its site's candidates in index
 * order whichever thread solves it.
 */
#define LAN_THREADS 8

struct lans {
	struct sched	*s;
	size_t		*first;		/* per site, into order; nsites + 2 */
	size_t		*order;		/* LAN candidates, by site */
	size_t		 next;		/* the next site to take */
	pthread_mutex_t	 lock;
};

static void
solve_lan(struct lans *w, size_t site)
{
	struct sched *s = w->s;
	size_t n = w->first[site + 1] - w->first[site];
	int kept = 0, fell = 0;

	if (s->site_kept != NULL && s->site_kept[site] &&
	    ahead_take(s, site) == 0) {
		s->site_kept[site] = 2;
		kept = 1;
	} else if (n > 0)
		fell = lp_phase(s, w->order + w->first[site], n) != 0;
	pthread_mutex_lock(&w->lock);
	if (kept)
		s->lans_kept++;
	else if (n > 0)
		s->lans_solved++;
	s->lp_fallbacks += fell;
	pthread_mutex_unlock(&w->lock);
}

static void *
lan_worker(void *arg)
{
	struct lans *w = arg;

	for (;;) {
		size_t site;

		pthread_mutex_lock(&w->lock);
		site = w->next++;
		pthread_mutex_unlock(&w->lock);
		if (site >= w->s->t->nsites)
			break;
		solve_lan(w, site);
	}
	lp_thread_done();
	return NULL;
}

static void
solve_lans(struct sched *s)
{
	const struct topology *t = s->t;
	struct lans w;
	pthread_t tid[LAN_THREADS];
	size_t i, k, nthreads = 1;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	memset(&w, 0, sizeof(w));
	w.s = s;
	w.first = xcalloc(t->nsites + 2, sizeof(size_t));
	w.order = xcalloc(s->ncands ? s->ncands : 1, sizeof(size_t));
	/* Counting sort by site: first[site] .. first[site + 1]. */
	for (i = 0; i < s->ncands; i++)
		if (!s->cands[i].wan)
			w.first[t->hosts[s->cands[i].source].site + 2]++;
	for (k = 2; k < t->nsites + 2; k++)
		w.first[k] += w.first[k - 1];
	for (i = 0; i < s->ncands; i++)
		if (!s->cands[i].wan)
			w.order[w.first[t->hosts[s->cands[i].source].site +
			    1]++] = i;
	pthread_mutex_init(&w.lock, NULL);
	s->lock = &w.lock;
	if (cpus > 1)
		nthreads = (size_t)cpus < LAN_THREADS ? (size_t)cpus :
		    LAN_THREADS;
	if (nthreads > t->nsites)
		nthreads = t->nsites;
	for (k = 0; k < nthreads; k++)
		if (pthread_create(&tid[k], NULL, lan_worker, &w) != 0)
			break;
	if (k == 0)
		/* No thread to be had: this one does it all. */
		for (i = 0; i < t->nsites; i++)
			solve_lan(&w, i);
	while (k > 0)
		pthread_join(tid[--k], NULL);
	s->lock = NULL;
	pthread_mutex_destroy(&w.lock);
	free(w.first);
	free(w.order);
}

/*
 * Allocates blocks to candidates.  LP: the WAN, then every site's LAN, then
 * a greedy fill of what rounding left; greedy: the fill alone.
 */
void
sched_allocate(struct sched *s)
{
	struct topology *t = s->t;
	size_t *list = xcalloc(s->ncands ? s->ncands : 1, sizeof(size_t));
	size_t i, n;

	if (s->method == METHOD_LP) {
		double *kept = xcalloc(t->nhosts ? t->nhosts : 1, sizeof(double));

		/*
		 * The WAN may take only part of a host's outbound capacity
		 * before the LANs have had theirs: else a site's first
		 * holder spends all of it relaying to the next site, and the
		 * data crosses the sites one host at a time while the LANs
		 * wait.  What the LANs leave, the fill gives to the WAN.
		 */
		for (i = 0; i < t->nhosts; i++)
			kept[i] = budget_hold(&s->budget, res_host_out(i),
			    1 - SCHED_WAN_SHARE);
		for (n = i = 0; i < s->ncands; i++)
			if (s->cands[i].wan)
				list[n++] = i;
		if (n > 0 && lp_phase(s, list, n) != 0)
			s->lp_fallbacks++;
		for (i = 0; i < t->nhosts; i++)
			budget_release(&s->budget, res_host_out(i), kept[i]);
		free(kept);
		solve_lans(s);
	}
	greedy_fill(s);
	free(list);
}

/* Total bytes the candidates were given. */
