/*
 * emit.c: the plans of a round, from the allocation: one op per granted
 * candidate, its range tiling from the destination's length, its rate
 * the bytes over the round; then rates raised into what capacity is left,
 * and the final check of every plan, new and kept, against the budget.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

/* Fills op number n of a plan from a granted candidate. */
static void
fill_op(struct sched *s, struct op *o, const struct candidate *c,
    uint64_t first_block, uint64_t epoch, size_t n)
{
	struct topology *t = s->t;
	const struct demand *d = &s->demands[c->demand];
	const struct file *f = &s->m->fileset->files[d->file];
	const struct manifest *man = s->m->manifests[d->file];
	const struct host *src = &t->hosts[c->source];
	int i;

	o->id = xasprintf("%" PRIu64 "/%s/%zu", epoch, t->hosts[d->host].name,
	    n);
	o->file = xstrdup(f->name);
	o->version = f->version;
	o->offset = first_block * man->block_size;
	o->length = sched_block_bytes(s, c, first_block, c->blocks);
	o->block_size = man->block_size;
	o->source.host = xstrdup(src->name);
	o->source.address = xstrdup(src->address);
	o->source.port = src->port;
	o->source.user = src->user ? xstrdup(src->user) : NULL;
	o->source.root = xstrdup(src->root);
	o->rate = ceil((double)o->length / s->T);
	o->resources = xcalloc((size_t)c->nres, sizeof(char *));
	o->res_index = xcalloc((size_t)c->nres, sizeof(size_t));
	for (i = 0; i < c->nres; i++) {
		o->resources[o->nresources++] = xstrdup(
		    t->resources[c->res[i]].id);
		o->res_index[o->nres_index++] = c->res[i];
	}
	o->nblocks = c->blocks;
	/* The manifest outlives the plans made from it: its checksums
	 * are not copied. */
	o->blocks = &man->blocks[first_block];
	o->blocks_borrowed = 1;
}

/* Builds every planned host's plan from the allocated candidates; the
 * array (one entry per host, NULL where none) is the caller's.  Its ops'
 * checksums are borrowed from the master's manifests, which must outlive
 * it (plans_free() leaves them alone). */
struct plan **
plans_build(struct sched *s, uint64_t epoch, time_t now, time_t expires)
{
	struct topology *t = s->t;
	const struct fileset *fs = s->m->fileset;
	struct plan **plans = xcalloc(t->nhosts, sizeof(*plans));
	size_t *nops = xcalloc(t->nhosts, sizeof(size_t));
	size_t i, j, h;

	for (i = 0; i < s->ncands; i++)
		if (s->cands[i].blocks > 0)
			nops[s->demands[s->cands[i].demand].host]++;
	for (h = 0; h < t->nhosts; h++) {
		struct plan *p;

		if (!s->dest_ok[h])
			continue;
		p = plans[h] = xcalloc(1, sizeof(*p));
		p->host = xstrdup(t->hosts[h].name);
		p->epoch = epoch;
		p->issued = now;
		p->expires = expires;
		p->fileset = xcalloc(fs->nfiles, sizeof(*p->fileset));
		for (j = 0; j < fs->nfiles; j++)
			if (fileset_targets(t, &fs->files[j], h) ||
			    fs->files[j].generator == h) {
				const struct manifest *man =
				    s->m->manifests[j];

				p->fileset[p->nfileset].name =
				    xstrdup(fs->files[j].name);
				p->fileset[p->nfileset].size = man != NULL &&
				    man->final ? man->length : 0;
				p->fileset[p->nfileset].mode = man != NULL ?
				    man->mode : MODE_UNKNOWN;
				p->fileset[p->nfileset++].version =
				    fs->files[j].version;
			}
		p->ops = xcalloc(nops[h], sizeof(*p->ops));
	}
	for (i = 0; i < s->ndemands; i++) {
		const struct demand *d = &s->demands[i];
		uint64_t block = d->have / s->m->manifests[d->file]->block_size;
		struct plan *p = plans[d->host];

		for (j = d->first; j < d->first + d->ncand; j++) {
			const struct candidate *c = &s->cands[j];

			if (c->blocks == 0)
				continue;
			fill_op(s, &p->ops[p->nops], c, block, epoch,
			    p->nops + 1);
			p->nops++;
			block += c->blocks;
		}
	}
	free(nops);
	return plans;
}

/* The plan that runs on host h: the new one, else the kept one. */
static struct plan *
plan_running(struct plan **plans, struct plan **kept, size_t h)
{
	return plans[h] != NULL ? plans[h] : kept[h];
}

/* An op with no limited resource moves its range in this share of its
 * round at least: so fast that an agent that starts late still ends it. */
#define UNLIMITED_SHARE 0.1

/*
 * Gives the new ops what capacity is left, water-filling: each limited
 * resource splits what remains of it equally among the new ops on it, and
 * each op takes the least of its resources' shares; a few passes.  An op
 * with no limited resource (hosts of unlimited NICs in one site) takes
 * the rate that moves its range in UNLIMITED_SHARE of the window, where
 * it had less: it was sized to last the whole round, and an agent that
 * started late cut it at every expiry.  Short ops then finish early
 * instead of trickling through the whole round.  The new ops of hosts
 * marked in skip are neither raised nor charged.
 */
static void
boost_rates(const struct topology *t, struct plan **plans,
    struct plan **kept, double window, const char *skip)
{
	size_t *count = xcalloc(t->nresources ? t->nresources : 1,
	    sizeof(size_t));
	struct budget b;
	size_t h, i, j, pass;

	for (pass = 0; pass < 4; pass++) {
		budget_init(&b, t, SCHED_PAYLOAD_SHARE);
		memset(count, 0, t->nresources * sizeof(size_t));
		for (h = 0; h < t->nhosts; h++) {
			struct plan *p = plan_running(plans, kept, h);

			if (skip != NULL && skip[h] && plans[h] != NULL)
				continue;
			if (p != NULL)
				budget_charge_plan(&b, p);
			for (i = 0; plans[h] != NULL && i < plans[h]->nops; i++)
				for (j = 0; j < plans[h]->ops[i].nres_index; j++)
					count[plans[h]->ops[i].res_index[j]]++;
		}
		for (h = 0; h < t->nhosts; h++) {
			if (skip != NULL && skip[h])
				continue;
			for (i = 0; plans[h] != NULL && i < plans[h]->nops;
			    i++) {
				struct op *o = &plans[h]->ops[i];
				double add = -1;

				for (j = 0; j < o->nres_index; j++) {
					size_t r = o->res_index[j];
					double left = budget_left(&b, r), share;

					if (isinf(left))
						continue;
					/* A resource already full gives none. */
					share = left > 0 ? left /
					    (double)count[r] : 0;
					if (add < 0 || share < add)
						add = share;
				}
				if (add >= 1)
					o->rate += floor(add);
				else if (add < 0 && pass == 0 && window > 0)
					o->rate = fmax(o->rate, ceil((double)
					    o->length / (UNLIMITED_SHARE *
					    window)));
			}
		}
		budget_free(&b);
	}
	free(count);
}

/*
 * Checks the plans that will run, new and kept, against every capacity
 * by budget_fits(), the rule verify applies; a failure here is a bug,
 * reported resource by resource with the plans on it.  Returns 0 or -1.
 */
static int
check_capacity(const struct topology *t, struct plan **plans,
    struct plan **kept)
{
	double *use = xcalloc(t->nresources ? t->nresources : 1,
	    sizeof(double));
	size_t h, i;
	int rc = 0;

	for (h = 0; h < t->nhosts; h++)
		if (plan_running(plans, kept, h) != NULL)
			plan_use(t, plan_running(plans, kept, h), use);
	for (i = 0; i < t->nresources; i++) {
		if (budget_fits(t->resources[i].capacity, use[i]))
			continue;
		warnx_("internal error: %s allocated %.0f B/s of %.0f",
		    t->resources[i].id, use[i], t->resources[i].capacity);
		for (h = 0; h < t->nhosts; h++) {
			struct plan *p = plan_running(plans, kept, h);
			double *one;

			if (p == NULL)
				continue;
			one = xcalloc(t->nresources, sizeof(double));
			plan_use(t, p, one);
			if (one[i] > 0)
				warnx_("  %s plan of %s, epoch %llu: %.0f B/s",
				    plans[h] ? "new" : "kept", p->host,
				    (unsigned long long)p->epoch, one[i]);
			free(one);
		}
		rc = -1;
	}
	free(use);
	return rc;
}

/* Times every new op by the rule of timing.c, with what each relay hop
 * costs where hops (hop_delay()) and each host's ops starting at
 * start[host] (0 and NULL by the rule); tag = h << 20 | op. */
void
plans_time(const struct sched *s, struct plan **plans, struct timing *tm,
    int hops, const double *start)
{
	const struct topology *t = s->t;
	size_t nf = s->m->fileset->nfiles, h, i;

	timing_init(tm, nf);
	for (h = 0; h < t->nhosts; h++)
		for (i = 0; plans[h] != NULL && i < plans[h]->nops; i++) {
			const struct op *o = &plans[h]->ops[i];
			size_t f = (size_t)fileset_find(s->m->fileset,
			    o->file);
			size_t src = (size_t)topology_host(t, o->source.host);
			struct timed_op x = timed_op_from(o, h, src, f,
			    s->len[src * nf + f], s->len[h * nf + f]);

			x.tag = h << 20 | i;
			if (hops)
				x.hop = hop_delay(s->t, t->hosts[src].site,
				    t->hosts[h].site);
			if (start != NULL)
				x.start = start[h];
			timing_add(tm, &x);
		}
	timing_run(tm);
}

/* Cuts op i of plan p to its first n blocks; 0 removes it, with every op
 * after it on the same file (the ops of a file tile a range). */
static void
cut_op(struct plan *p, size_t i, size_t n, char *drop)
{
	struct op *o = &p->ops[i];
	size_t k;

	if (n == 0) {
		for (k = i; k < p->nops; k++)
			if (strcmp(p->ops[k].file, o->file) == 0)
				drop[k] = 1;
		return;
	}
	o->length = (uint64_t)n * o->block_size;
	o->nblocks = n;
	for (k = i + 1; k < p->nops; k++)
		if (strcmp(p->ops[k].file, o->file) == 0)
			drop[k] = 1;
}

/* Removes the ops of plan p marked in drop, keeping the others' order. */
static void
drop_ops(struct plan *p, const char *drop)
{
	size_t i, k;

	for (i = k = 0; i < p->nops; i++)
		if (drop[i])
			op_clear(&p->ops[i]);
		else
			p->ops[k++] = p->ops[i];
	p->nops = k;
}

/*
 * Fits the new ops of the hosts marked in held (each has a new plan)
 * into what the other plans, new and kept, leave: where the held ops on
 * a resource want more than is left of it, each keeps what is left over
 * what they want there, of its rate, the least such share over its
 * resources.  One left with less than a byte a second goes, with the
 * ops after it on its file (and fit_round() then cuts what relayed those
 * bytes).
 */
static void
squeeze_held(const struct topology *t, struct plan **plans,
    struct plan **kept, const char *held)
{
	double *want = xcalloc(t->nresources ? t->nresources : 1,
	    sizeof(double));
	struct budget b;
	size_t h, i, j;

	budget_init(&b, t, SCHED_PAYLOAD_SHARE);
	for (h = 0; h < t->nhosts; h++) {
		struct plan *p = plan_running(plans, kept, h);

		if (p != NULL && !held[h])
			budget_charge_plan(&b, p);
		for (i = 0; held[h] && i < p->nops; i++)
			for (j = 0; j < p->ops[i].nres_index; j++)
				want[p->ops[i].res_index[j]] += p->ops[i].rate;
	}
	for (h = 0; h < t->nhosts; h++) {
		struct plan *p = plans[h];
		char *drop;

		if (!held[h])
			continue;
		drop = xcalloc(p->nops ? p->nops : 1, 1);
		for (i = 0; i < p->nops; i++) {
			struct op *o = &p->ops[i];
			double share = 1;

			for (j = 0; j < o->nres_index; j++) {
				size_t r = o->res_index[j];
				double left = budget_left(&b, r);

				if (isinf(left) || want[r] <= left)
					continue;
				share = left > 0 ? fmin(share, left / want[r]) : 0;
			}
			o->rate = floor(o->rate * share);
			if (!(o->rate >= 1))
				cut_op(p, i, 0, drop);
		}
		drop_ops(p, drop);
		free(drop);
	}
	budget_free(&b);
	free(want);
}

/*
 * The seconds from the run in which plans life seconds long (expires less
 * issued) move their ops: their life, less what the clock is past their
 * issue and the margin before expiry at which agents stop them
 * (PLAN_REPORT_MARGIN).
 */
double
sched_ops_window(const struct sched *s, double life)
{
	return life - s->late - PLAN_REPORT_MARGIN(life);
}

/*
 * Fits the new plans, whose life is life seconds from now, in their round
 * by the timing rule: an op whose last blocks would be done after its
 * host stops its ops (sched_ops_window(), or sooner as plan_report_stop()
 * says of a host whose state took long to send) keeps only the blocks
 * done in time (a relay fed too late, or too slowly), and the ops after
 * it on that file go; what depended on the removed bytes is timed again,
 * until every op fits.  Returns the ops cut.
 */
static size_t
fit_round(const struct sched *s, struct plan **plans, double life)
{
	const struct topology *t = s->t;
	double window = sched_ops_window(s, life);
	double *end = xcalloc(t->nhosts ? t->nhosts : 1, sizeof(double));
	size_t cuts = 0, h, i, changed;

	/* A host whose state took longer to send than the margin keeps its
	 * ops stopped that much sooner (plan_report_stop()). */
	for (h = 0; h < t->nhosts; h++) {
		const struct state *st = s->m->states[h];

		end[h] = window;
		if (st != NULL && st->has_report)
			end[h] -= plan_report_stop(life, st->report) -
			    PLAN_REPORT_MARGIN(life);
	}
	do {
		struct timing tm;
		char **drop = xcalloc(t->nhosts, sizeof(char *));

		plans_time(s, plans, &tm, 0, NULL);
		changed = 0;
		for (i = 0; i < tm.nops; i++) {
			const struct timed_op *x = &tm.ops[i];
			size_t n = 0;

			h = x->tag >> 20;
			if (x->finish <= end[h] * (1 + 1e-9))
				continue;
			/* Through a relay cycle nothing arrives. */
			while (!x->cycle && n < x->nblocks &&
			    x->done[n] <= end[h])
				n++;
			if (drop[h] == NULL)
				drop[h] = xcalloc(plans[h]->nops, 1);
			cut_op(plans[h], x->tag & 0xfffff, n, drop[h]);
			changed++;
		}
		for (h = 0; h < t->nhosts; h++) {
			if (drop[h] == NULL)
				continue;
			drop_ops(plans[h], drop[h]);
			free(drop[h]);
		}
		free(drop);
		timing_free(&tm);
		cuts += changed;
	} while (changed > 0);
	free(end);
	return cuts;
}

/*
 * 1 when a new plan has an op on a version of a file of the set that no
 * old plan (the last set's) has an op on: the set is that version's first.
 */
int
plans_new_version(const struct sched *s, struct plan **plans,
    struct plan **old)
{
	const struct fileset *fs = s->m->fileset;
	char *seen = xcalloc(fs->nfiles ? fs->nfiles : 1, 1);
	size_t h, i;
	long f;
	int found = 0;

	for (h = 0; h < s->t->nhosts; h++)
		for (i = 0; old[h] != NULL && i < old[h]->nops; i++) {
			const struct op *o = &old[h]->ops[i];

			if ((f = fileset_find(fs, o->file)) >= 0 &&
			    fs->files[f].version == o->version)
				seen[f] = 1;
		}
	for (h = 0; h < s->t->nhosts && !found; h++)
		for (i = 0; plans[h] != NULL && i < plans[h]->nops; i++) {
			const struct op *o = &plans[h]->ops[i];

			if ((f = fileset_find(fs, o->file)) >= 0 &&
			    fs->files[f].version == o->version && !seen[f]) {
				found = 1;
				break;
			}
		}
	free(seen);
	return found;
}

/*
 * When new plans whose ops are all done well before expires may expire
 * instead, for a caller that plans again then (plan_options.early): the
 * last op's end, timed as agents run them (each host from the start its
 * state says, a relay hop at its cost), over SCHED_ROUND_USE, so that
 * they keep the share of their life that a full round keeps for agents
 * that start late or run slow; at least s->early seconds after now, in
 * whole seconds.  The ops of hosts whose agents start late (sched_late())
 * are not waited for: such an agent, started by cron late in its period,
 * takes the plan current when it starts, and then each as it comes.
 * expires when that is not s->early before it (what is left would be too
 * short to plan again in), or when no op is of a host that ran its last
 * plan (none, or only silent hosts'): a round with nothing to do for the
 * agents that run lasts the round, where planning again every least life
 * would only plan the same again.  A set whose only ops are late agents'
 * does expire at its least life: each late agent takes the plan current
 * when it starts, and one made nearer then serves it better (a round-long
 * set there: the heads case's makespan at seed 1, 59.6 -> 63.1 s).
 * expires too when an agent on
 * time reports that its last plan expired before an op was done: it runs
 * slower than its plans say, and a shorter plan would cut it shorter
 * (unless that plan was a probe: cut to its short life as the fit times
 * ops, from the issue, its ops say nothing of an agent's pace).
 *
 * A probe: new plans that would expire early, with an op on a file
 * version that no plan of the last set had one on (plans_new_version()),
 * expire at their least life instead.  Such a set's trees hang on relays
 * that no agent has been seen to start on this version (the states are
 * from the set before); one that never starts costs its whole subtree
 * the plan, where the fallback can only share its feeder among its
 * children.  Planned again at that expiry, from what the agents that did
 * start report, a relay that did not is silent (note_silent() in
 * round.c) and relays nothing.  The set after a probe is never one.  A
 * round that its work fills is not probed: there the probe's second
 * start cost the cron loop of the examples 8% of its time (tests/loop.sh,
 * 60 s rounds).  *probe says whether the plans are one; the ledger
 * keeps it for the next run (s->after_probe), cron's as well.
 * *ontime, when not NULL, is the end of the ops of the hosts on time as
 * timed here, in seconds after now (0 where the plans were not timed).
 */
static time_t
early_expiry(const struct sched *s, struct plan **plans, struct plan **old,
    time_t now, time_t expires, int *probe, double *ontime)
{
	struct timing tm;
	double end = 0, least = s->early;
	time_t at, soonest;
	size_t i, n;

	*probe = 0;
	if (ontime != NULL)
		*ontime = 0;
	if (!(least > 0))
		return expires;
	for (i = 0; !s->after_probe && s->last_epoch > 0 &&
	    i < s->t->nhosts; i++) {
		const struct state *st = s->m->states[i];
		size_t k;

		if (st == NULL || st->epoch != s->last_epoch ||
		    sched_late(s, i) > 0)
			continue;
		for (k = 0; k < st->nfailures; k++)
			if (st->failures[k].class == FAIL_DEADLINE)
				return expires;
	}
	/* Plans outlive their writing: the run so far is most of it. */
	if (s->started >= 0)
		least = fmax(least, 3 * (clock_mono() - s->started));
	plans_time(s, plans, &tm, 1, s->start);
	for (i = n = 0; i < tm.nops; i++) {
		size_t h = tm.ops[i].tag >> 20;

		if (sched_late(s, h) == 0)
			end = fmax(end, tm.ops[i].finish);
		n += !s->silent[h];
	}
	timing_free(&tm);
	if (n == 0 || !isfinite(end))
		return expires;
	if (ontime != NULL)
		*ontime = end;
	at = now + (time_t)ceil(s->late + fmax(end / SCHED_ROUND_USE,
	    least) - 1e-9);
	if ((double)at + least > (double)expires)
		return expires;
	/* Never two probes in a row: one whose fit left a version no op
	 * would make the next set that version's first again. */
	soonest = now + (time_t)ceil(s->late + least - 1e-9);
	if (!s->after_probe && soonest < at &&
	    plans_new_version(s, plans, old)) {
		at = soonest;
		*probe = 1;
	}
	return at;
}

/*
 * Sets again the expiry that plans_finish() gave plans (*expires, a
 * round's grid or sooner: early_expiry()), now: the run has gone on since
 * (round.c planned the round in other shapes), and plans that expire
 * early must still outlive their writing.  Never sooner than before.
 */
void
plans_expire_again(const struct sched *s, struct plan **plans,
    struct plan **old, time_t now, time_t grid, time_t *expires, int *probe)
{
	time_t at;
	size_t h;
	int p;

	if (*expires >= grid)
		return;
	at = early_expiry(s, plans, old, now, grid, &p, NULL);
	if (at <= *expires)
		return;
	*expires = at;
	*probe = p;
	for (h = 0; h < s->t->nhosts; h++)
		if (plans[h] != NULL)
			plans[h]->expires = at;
}

/*
 * The hosts whose new ops give way to the others' (squeeze_held()), or
 * NULL.  Where the plans are to expire when the hosts on time are due to
 * be whole (a round that may be the last, s->early, and early_expiry()
 * sets an expiry before the grid, not a probe's), a late agent that
 * starts only after they are, timed as agents run the plans before their
 * rates are raised (each host from the start its state says,
 * a relay hop at its cost), will find them expired and take the
 * next: the rates its new ops would hold from their issue idle while the
 * others wait on the same routes.  So would a silent host's (it did not
 * report on its last plan, note_silent() in round.c; it is planned as a
 * late one).  Their ops stay, in what the others leave, for an agent
 * that starts after all, or sooner than its state says.  Where the plans
 * last to the grid (a round that runs its length, or a late one's set
 * pushed there), a late agent has the rest of the round to run its plan
 * in, and keeps its share; a probe ends at its least life whoever starts
 * when, and what it moves decides the next set's trees.
 */
static char *
held_late(const struct sched *s, struct plan **plans, struct plan **old,
    time_t now, time_t expires)
{
	double end;
	char *held = NULL;
	size_t h;
	int probe;

	if (!(s->early > 0) || !s->may_end)
		return NULL;
	for (h = 0; h < s->t->nhosts; h++)
		if (plans[h] != NULL && plans[h]->nops > 0 &&
		    sched_late(s, h) > 0)
			break;
	if (h == s->t->nhosts || early_expiry(s, plans, old, now, expires,
	    &probe, &end) >= expires || probe || !(end > 0))
		return NULL;
	for (h = 0; h < s->t->nhosts; h++)
		if (plans[h] != NULL && plans[h]->nops > 0 &&
		    sched_late(s, h) > 0 && (s->start[h] >= end ||
		    s->silent[h])) {
			if (held == NULL)
				held = xcalloc(s->t->nhosts, 1);
			held[h] = 1;
		}
	return held;
}

/*
 * Finishes the new plans: raises their rates into what the plans that
 * keep running (old ones not replaced and not expired at now) leave,
 * first those of the hosts whose rates would not idle (held_late()),
 * fits them in their round by the timing rule, sets when they expire
 * (*expires, or sooner: early_expiry(), which says in *probe whether they
 * are a probe), and checks them all against every capacity.  Returns 0 or
 * -1 (reported).
 */
int
plans_finish(const struct sched *s, struct plan **plans, struct plan **old,
    time_t now, time_t *expires, int *probe)
{
	const struct topology *t = s->t;
	struct plan **kept = xcalloc(t->nhosts ? t->nhosts : 1,
	    sizeof(*kept));
	double window = sched_ops_window(s, (double)(*expires - now));
	char *held = NULL;
	time_t early;
	size_t h;
	int rc;

	for (h = 0; h < t->nhosts; h++)
		if (plans[h] == NULL && old[h] != NULL && old[h]->expires > now)
			kept[h] = old[h];
	held = held_late(s, plans, old, now, *expires);
	if (held != NULL) {
		boost_rates(t, plans, kept, window, held);
		squeeze_held(t, plans, kept, held);
	}
	boost_rates(t, plans, kept, window, NULL);
	fit_round(s, plans, (double)(*expires - now));
	early = early_expiry(s, plans, old, now, *expires, probe, NULL);
	if (early < *expires) {
		/* What a late agent would not finish by then is cut. */
		*expires = early;
		fit_round(s, plans, (double)(*expires - now));
	}
	for (h = 0; h < t->nhosts; h++)
		if (plans[h] != NULL)
			plans[h]->expires = *expires;
	plans_fallback(s, plans, sched_ops_window(s, (double)(*expires -
	    now)));
	rc = check_capacity(t, plans, kept);
	free(held);
	free(kept);
	return rc;
}
