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

#include "schedule.h"

/* Blocks demand e has been given so far, over all its candidates. */
static uint64_t
granted(const struct sched *s, long e)
{
	const struct demand *d;
	uint64_t n = 0;
	size_t j;

	if (e < 0)
		return 0;
	d = &s->demands[e];
	for (j = d->first; j < d->first + d->ncand; j++)
		n += s->cands[j].blocks;
	return n;
}

/*
 * What a candidate's source is given this round, when it relays.  While
 * the sites' LANs are solved in parallel, a source in another site (a
 * site head the WAN relays from) counts what it had before they started,
 * so that no site's result depends on how far another's has got.
 */
static uint64_t
feed_blocks(const struct sched *s, const struct candidate *c)
{
	const struct topology *t = s->t;
	long e = c->feed;

	if (e < 0)
		return 0;
	if (s->feed_before != NULL &&
	    t->hosts[s->demands[e].host].site !=
	    t->hosts[s->demands[c->demand].host].site)
		return s->feed_before[e];
	return granted(s, e);
}

/*
 * The blocks a candidate's source will have of the file, counted from the
 * start: what it holds, and when it relays, what it is given this round.
 * (Its ops run side by side, so what it passes on arrives no faster than
 * its first op brings it: the plans' timing check, fit_round(), trims
 * what would end too late.)
 */
static uint64_t
source_blocks(const struct sched *s, const struct candidate *c)
{
	const struct demand *d = &s->demands[c->demand];
	uint64_t n = sched_blocks_of(s, d->file, c->source_len) +
	    feed_blocks(s, c), want = sched_blocks_of(s, d->file, d->want);

	/* Never past what the demand wants (a host's room: space.c). */
	return n < want ? n : want;
}

/*
 * Blocks the candidate may still take within its demand's range: a
 * demand's candidates tile its range in their order, so each one's end
 * stays within what its source will have; and a relay's range starts
 * within what its source holds, so that it reads from the start instead
 * of waiting for bytes that arrive late in the round.
 */
static uint64_t
range_room(const struct sched *s, const struct candidate *c)
{
	const struct demand *d = &s->demands[c->demand];
	uint64_t haveb = d->have / sched_block_size(s, d->file);
	uint64_t cum = 0, room = UINT64_MAX;
	size_t j;
	int after = 0;

	for (j = d->first; j < d->first + d->ncand; j++) {
		const struct candidate *o = &s->cands[j];
		uint64_t held = sched_blocks_of(s, d->file, o->source_len);
		/* A relay may hold less than the destination: it relays
		 * past it, and its range starts at the destination's. */
		uint64_t start = held > haveb ? held - haveb : 0;

		if (o == c) {
			after = 1;
			if (o->feed >= 0 && cum > start)
				return 0;
		} else if (after && o->feed >= 0 && o->blocks > 0) {
			/* What comes before a relay in use ends where its
			 * source's holding does. */
			uint64_t r = start > cum ? start - cum : 0;

			if (r < room)
				room = r;
		}
		cum += o->blocks;
		/* An empty range after c ends nowhere: only those in use
		 * bound where c's may end. */
		if (after && (o == c || o->blocks > 0)) {
			uint64_t sb = source_blocks(s, o);
			uint64_t limit = sb > haveb ? sb - haveb : 0;
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
	uint64_t a, b;

	/* What the forest granted stays first in its demand's range: the
	 * fill only extends it, so that cutting a late fill never cuts the
	 * forest's op after it. */
	if (s->forest_done && s->demands[c->demand].forest > (long)(c -
	    s->cands))
		return 0;
	/* The route first: a full one, as most are after the first pass of
	 * a fill, needs no walk over the demand's candidates. */
	if ((b = capacity_room(s, c)) == 0)
		return 0;
	a = range_room(s, c);
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
    const size_t *cands, size_t n, int *col,
    double (*share)(const void *, size_t), const void *arg)
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
				    MIB * (share != NULL ? share(arg, r) : 1) :
				    0, 0);
			lp_entry(b, row[r], col[cands[i]], block_mib(s, c));
		}
	}
	free(row);
}

/*
 * Adds the nested range rows of every demand the candidates serve: the
 * first j candidates' blocks end within what the j-th's source will have,
 * its holding and, when it relays, what its own candidates get (their
 * columns in this LP, their grants from earlier phases).
 */
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
		int any_free = 0, any_before;

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

			any_before = any_free;
			fixed += c->blocks;
			if (col[j] != 0)
				any_free = 1;
			if (!any_free)
				continue;
			/* A relay's range starts within what its source
			 * holds: what comes before it ends there. */
			if (c->feed >= 0 && j > d->first && any_before) {
				r = lp_add_row(b, lim > haveb + fixed - c->blocks ?
				    (double)(lim - haveb - fixed + c->blocks) : 0,
				    0);
				for (k = d->first; k < j; k++)
					if (col[k] != 0)
						lp_entry(b, r, col[k], 1.0);
			}
			lim += feed_blocks(s, c);
			r = lp_add_row(b, lim > haveb + fixed ? (double)(lim -
			    haveb - fixed) : 0, 0);
			for (k = d->first; k <= j; k++)
				if (col[k] != 0)
					lp_entry(b, r, col[k], 1.0);
			if (c->feed >= 0) {
				const struct demand *e = &s->demands[c->feed];

				for (k = e->first; k < e->first + e->ncand; k++)
					if (col[k] != 0)
						lp_entry(b, r, col[k], -1.0);
			}
		}
	}
	free(done);
}

/*
 * Solves one phase's LP over the candidates listed and grants each the
 * whole blocks of its solution that still fit.  Returns 0, or -1 when the
 * LP stopped early or failed (what it found is granted; the fill takes
 * the rest).
 */
static int
lp_phase(struct sched *s, const size_t *cands, size_t n,
    double (*share)(const void *, size_t), const void *arg)
{
	struct lp *b;
	int *col = xcalloc(s->ncands ? s->ncands : 1, sizeof(int));
	double *x, secs = 0;
	size_t i;
	int rc;

	b = lp_new(s->lp_time_limit);
	if (s->quiet)
		lp_quiet(b);
	for (i = 0; i < n; i++)
		col[cands[i]] = lp_add_col(b, s->cands[cands[i]].weight *
		    block_mib(s, &s->cands[cands[i]]), 0);
	capacity_rows(s, b, cands, n, col, share, arg);
	range_rows(s, b, cands, n, col);
	x = xcalloc(lp_ncols(b) ? lp_ncols(b) : 1, sizeof(double));
	rc = lp_solve(b, x, &secs);
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
		if (rc == 1 && !s->quiet)
			warnx_("LP stopped at its time limit with a feasible "
			    "solution; greedy fills the rest");
	}
	free(x);
	free(col);
	lp_free(b);
	if (s->lock != NULL)
		pthread_mutex_lock(s->lock);
	s->lp_seconds += secs;
	if (s->lock != NULL)
		pthread_mutex_unlock(s->lock);
	return rc == 0 ? 0 : -1;
}

/* Greedy: best weight first, each candidate as much as fits, once.  A
 * candidate keyed for that order: weight, then cost, then its index. */
struct greedy_key {
	double		 weight;
	double		 cost;
	size_t		 cand;
};

static int
cmp_greedy(const void *a, const void *b)
{
	const struct greedy_key *x = a, *y = b;

	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	if (x->cost != y->cost)
		return x->cost < y->cost ? -1 : 1;
	return (x->cand > y->cand) - (x->cand < y->cand);
}

/* The candidates of s, best first for the greedy fill. */
static size_t *
greedy_order(const struct sched *s)
{
	struct greedy_key *k = xcalloc(s->ncands ? s->ncands : 1, sizeof(*k));
	size_t *order = xcalloc(s->ncands ? s->ncands : 1, sizeof(size_t));
	size_t i;

	for (i = 0; i < s->ncands; i++) {
		k[i].weight = s->cands[i].weight;
		k[i].cost = s->cands[i].cost;
		k[i].cand = i;
	}
	qsort(k, s->ncands, sizeof(*k), cmp_greedy);
	for (i = 0; i < s->ncands; i++)
		order[i] = k[i].cand;
	free(k);
	return order;
}

/*
 * Gives each candidate, best first, as much as fits.  The order is sorted
 * once and kept for the other allocations of the round.  A relay's room
 * grows with what its source is given, which may come later in the
 * order (a leaf's block worth more than its parent's): the pass is made
 * again while it gives anything, GREEDY_PASSES times at most.
 */
#define GREEDY_PASSES 16

static void
greedy_fill(struct sched *s)
{
	size_t i;
	int pass, gave = 1;

	if (s->greedy_order == NULL)
		s->greedy_order = greedy_order(s);
	for (pass = 0; gave && pass < GREEDY_PASSES; pass++)
		for (gave = 0, i = 0; i < s->ncands; i++) {
			struct candidate *c = &s->cands[s->greedy_order[i]];
			uint64_t k = sched_room(s, c);

			if (k > 0) {
				c->blocks += k;
				sched_charge(s, c, k);
				gave = 1;
			}
		}
}

/*
 * The LANs.  Each site's LAN LP uses only its own hosts' NICs and its own
 * candidates, so the sites are solved in parallel (parallel_for()), with
 * the same results as one after the other: each LP's columns are its
 * site's candidates in index order whichever thread solves it.
 */
struct lans {
	struct sched	*s;
	int		 sources;	/* solve the source sites, or the rest */
	size_t		*first;		/* per site, into order; nsites + 2 */
	size_t		*order;		/* LAN candidates, by site */
	pthread_mutex_t	 lock;
};

/*
 * A NIC's weight for a file in its site's LAN: outbound, how many the
 * file's copy tree has the host feed; inbound, what it still needs of the
 * file.
 */
static double
nic_weight(const struct sched *s, size_t r, size_t file)
{
	size_t nf = s->m->fileset->nfiles, h = r / 2;
	long d;

	if (r == res_host_out(h))
		return s->children != NULL ? s->children[h * nf + file] : 0;
	d = s->demand_of[h * nf + file];
	return d < 0 || s->demands[d].want <= s->demands[d].have ? 0 :
	    (double)(s->demands[d].want - s->demands[d].have);
}

struct lan_share {
	const struct sched *s;
	size_t		 file;
	const double	*rest;		/* per NIC resource: the weights of
					 * the files not yet solved */
};

/* The share of what is left of resource r that a file's LP may use. */
static double
lan_share(const void *arg, size_t r)
{
	const struct lan_share *sh = arg;

	if (r >= 2 * sh->s->t->nhosts || !(sh->rest[r] > 0))
		return 1;
	return nic_weight(sh->s, r, sh->file) / sh->rest[r];
}

/*
 * Solves one site's LAN, a file at a time, which keeps each LP small
 * (GLPK's simplex takes more than linear time in its size): a file may
 * use of each NIC its weight's share of what is left, over the weights of
 * the files not yet solved, so that what one file leaves goes to the
 * files after it.
 */
static void
solve_lan(struct lans *w, size_t site)
{
	struct sched *s = w->s;
	const struct site *st = &s->t->sites[site];
	size_t n = w->first[site + 1] - w->first[site];
	const size_t *all = w->order + w->first[site];
	size_t nf = s->m->fileset->nfiles, f, i, j, k;
	size_t *count, *list;
	double *rest;
	struct lan_share sh;
	int fell = 0;

	if (s->source_site[site] != w->sources || n == 0)
		return;
	count = xcalloc(nf ? nf : 1, sizeof(size_t));
	list = xcalloc(n, sizeof(size_t));
	rest = xcalloc(2 * s->t->nhosts, sizeof(double));
	for (i = 0; i < n; i++)
		count[s->demands[s->cands[all[i]].demand].file]++;
	for (f = 0; f < nf; f++)
		for (j = 0; count[f] > 0 && j < st->nhosts; j++) {
			rest[res_host_out(st->hosts[j])] += nic_weight(s,
			    res_host_out(st->hosts[j]), f);
			rest[res_host_in(st->hosts[j])] += nic_weight(s,
			    res_host_in(st->hosts[j]), f);
		}
	sh.s = s;
	sh.rest = rest;
	for (f = 0; f < nf; f++) {
		if (count[f] == 0)
			continue;
		for (k = i = 0; i < n; i++)
			if (s->demands[s->cands[all[i]].demand].file == f)
				list[k++] = all[i];
		sh.file = f;
		fell |= lp_phase(s, list, k, lan_share, &sh) != 0;
		for (j = 0; j < st->nhosts; j++) {
			rest[res_host_out(st->hosts[j])] -= nic_weight(s,
			    res_host_out(st->hosts[j]), f);
			rest[res_host_in(st->hosts[j])] -= nic_weight(s,
			    res_host_in(st->hosts[j]), f);
		}
	}
	free(count);
	free(list);
	free(rest);
	pthread_mutex_lock(&w->lock);
	s->lans_solved++;
	s->lp_fallbacks += fell;
	pthread_mutex_unlock(&w->lock);
}

static void
lan_task(void *arg, size_t site)
{
	solve_lan(arg, site);
}

static void
solve_lans(struct sched *s, int sources)
{
	const struct topology *t = s->t;
	struct lans w;
	size_t i, k;

	memset(&w, 0, sizeof(w));
	w.s = s;
	w.sources = sources;
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
	s->feed_before = xcalloc(s->ndemands ? s->ndemands : 1,
	    sizeof(uint64_t));
	for (i = 0; i < s->ndemands; i++)
		s->feed_before[i] = granted(s, (long)i);
	pthread_mutex_init(&w.lock, NULL);
	s->lock = &w.lock;
	parallel_for(t->nsites, lan_task, &w, lp_thread_done);
	s->lock = NULL;
	free(s->feed_before);
	s->feed_before = NULL;
	pthread_mutex_destroy(&w.lock);
	free(w.first);
	free(w.order);
}

/*
 * One allocation with ops sized to s->T.  LP: the WAN, then every site's
 * LAN, then a greedy fill of what rounding left; greedy: the fill alone.
 */
static void
allocate_once(struct sched *s)
{
	struct topology *t = s->t;
	size_t *list = xcalloc(s->ncands ? s->ncands : 1, sizeof(size_t));
	size_t i, n;

	/* The forest first: every host's egress used; the rest fills. */
	sched_forest_grant(s);
	s->forest_done = s->forest_parent != NULL;
	if (s->method == METHOD_LP) {
		double *kept = xcalloc(t->nhosts ? t->nhosts : 1, sizeof(double));

		/*
		 * The source sites' LANs first: nothing of them waits on the
		 * WAN, and the WAN relays from their heads; those keep part
		 * of their egress for it.
		 */
		for (i = 0; i < t->nhosts; i++)
			if (s->export[i])
				kept[i] = budget_hold(&s->budget,
				    res_host_out(i), SCHED_EXPORT_SHARE);
		solve_lans(s, 1);
		for (i = 0; i < t->nhosts; i++) {
			budget_release(&s->budget, res_host_out(i), kept[i]);
			kept[i] = 0;
		}
		/*
		 * The WAN may take only part of the outbound capacity of the
		 * other sites' hosts before their LANs have had theirs: else
		 * a site's first holder spends all of it relaying to the
		 * next site, and the data crosses the sites one host at a
		 * time while the LANs wait.  What the LANs leave, the fill
		 * gives to the WAN.
		 */
		for (i = 0; i < t->nhosts; i++)
			if (!s->source_site[t->hosts[i].site])
				kept[i] = budget_hold(&s->budget,
				    res_host_out(i), 1 - SCHED_WAN_SHARE);
		for (n = i = 0; i < s->ncands; i++)
			if (s->cands[i].wan)
				list[n++] = i;
		if (n > 0 && lp_phase(s, list, n, NULL, NULL) != 0)
			s->lp_fallbacks++;
		for (i = 0; i < t->nhosts; i++)
			budget_release(&s->budget, res_host_out(i), kept[i]);
		free(kept);
		solve_lans(s, 0);
	}
	greedy_fill(s);
	free(list);
}

/* 1 when every demand got all it needs; with plans that end early
 * (s->early), every demand of a host whose agent starts on time, where
 * there is one: those of late agents are not waited for (early_expiry()
 * in emit.c), and sizing the ops for them would hold the hosts on time
 * to the late ones' pace. */
static int
all_served(const struct sched *s)
{
	size_t i;
	int skip_late = 0;

	for (i = 0; s->early > 0 && i < s->ndemands && !skip_late; i++)
		skip_late = sched_late(s, s->demands[i].host) == 0;
	for (i = 0; i < s->ndemands; i++) {
		const struct demand *d = &s->demands[i];
		uint64_t bs = sched_block_size(s, d->file);

		if (skip_late && sched_late(s, d->host) > 0)
			continue;
		if (granted(s, (long)i) < sched_blocks_of(s, d->file, d->want) -
		    d->have / bs)
			return 0;
	}
	return 1;
}

/* Forgets every grant: the budget is start again. */
static void
allocation_reset(struct sched *s, const struct budget *start)
{
	size_t i;

	for (i = 0; i < s->ncands; i++)
		s->cands[i].blocks = 0;
	for (i = 0; i < s->ndemands; i++)
		s->demands[i].forest = -1;
	s->forest_done = 0;
	budget_free(&s->budget);
	budget_copy(&s->budget, start);
}

/*
 * Allocates blocks to candidates.  When what is left fits in less than a
 * round, ops are sized to end as soon as the capacities allow, not to
 * fill the round: the allocation is sized for a time on a ladder that
 * starts at what the lower bound says, with some room for the pipelines
 * to fill, and goes up by a tenth each step to the round.  The greedy
 * fill, which takes a fraction of a second at thousands of hosts, finds
 * the step at which it serves every demand: the first step, where it
 * serves there, else by bisection over the rest (the round's own
 * length always counts as served); the LP, which takes seconds there, is
 * solved at that step, and again a step up only while it serves less.  A
 * round that is short of capacity is allocated once.
 */
#define SCHED_LADDER_STEP 1.1

/* Step k of the ladder from want to full. */
static double
ladder(double want, double full, unsigned k)
{
	while (k-- > 0 && want < full)
		want *= SCHED_LADDER_STEP;
	return fmin(want, full);
}

/* Whether the allocation at time T serves every demand; the budget is
 * left as start had it. */
static int
serves_at(struct sched *s, double T, const struct budget *start)
{
	int served;

	s->T = T;
	allocate_once(s);
	served = all_served(s);
	allocation_reset(s, start);
	return served;
}

/*
 * The time what the hosts not marked in skip (NULL: every host) lack
 * takes, sized as the ladder sizes it: the lower bound at the payload's
 * share, with SCHED_FILL_MARGIN for the pipelines to fill.  0 when they
 * lack nothing.
 */
double
sched_fill_time(const struct sched *s, const char *skip)
{
	char why[512];

	return bound_makespan_of(s->m, skip, why, sizeof(why)) /
	    SCHED_PAYLOAD_SHARE * SCHED_FILL_MARGIN;
}

void
sched_allocate(struct sched *s)
{
	enum method method = s->method;
	double full = s->T, want = sched_fill_time(s, NULL);
	struct budget start;
	unsigned lo, hi, k;

	if (!(want > 0) || want >= full) {
		allocate_once(s);
		return;
	}
	budget_copy(&start, &s->budget);
	/* Steps lo..hi: hi, the first at the round's length, serves. */
	for (hi = 0; ladder(want, full, hi) < full; hi++)
		;
	lo = 0;
	s->method = METHOD_GREEDY;
	/* The ladder's first step first: where the bound's estimate serves,
	 * as it mostly does, one probe settles it, where the bisection
	 * would make three or four. */
	if (hi > 0) {
		if (serves_at(s, ladder(want, full, 0), &start))
			hi = 0;
		else
			lo = 1;
	}
	while (lo < hi) {
		k = lo + (hi - lo) / 2;
		if (serves_at(s, ladder(want, full, k), &start))
			hi = k;
		else
			lo = k + 1;
	}
	s->method = method;
	for (k = lo;; k++) {
		s->T = ladder(want, full, k);
		allocate_once(s);
		if (method == METHOD_GREEDY || all_served(s) || s->T >= full)
			break;
		allocation_reset(s, &start);
	}
	budget_free(&start);
}

/* Total bytes the candidates were given. */
