/*
 * round.c: one planning round, a straight pipeline: the ledger updated
 * from the new states; demands and candidates; the allocation (LP or
 * greedy); the plans built, their rates raised, fitted in the round and
 * checked.  Writing the set is the caller's (epoch.c).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "schedule.h"

/*
 * Which hosts get a new plan: every one but those whose plan is still
 * running (not expired, and no verified state on it yet).  Those keep
 * their plan, and what it allocates stays charged.  A host whose new
 * state was unusable is planned from its last verified one: never
 * frozen.  A host that reported since the last run without running its
 * plan (its report came late, or could not be read then) is planned
 * afresh from what it reports, its old plan still charged until it
 * expires: the agent may be running it.
 */
static void
keep_running_plans(struct sched *s, struct plan **old, time_t now)
{
	const struct master *m = s->m;
	size_t h;

	for (h = 0; h < s->t->nhosts; h++) {
		struct plan *p = old[h];

		if (p == NULL || p->expires <= now || (m->states[h] != NULL &&
		    m->states[h]->epoch >= p->epoch))
			continue;
		if (!m->news[h])
			s->dest_ok[h] = 0;
		budget_charge_plan(&s->budget, p);
	}
}

/*
 * A host that was given a plan, which has expired, and has not reported
 * on it (its agent did not start, or is down, or is late) relays nothing
 * this round: it may not run this plan either, and every host below it
 * would wait for bytes that never come.  It still serves what it holds,
 * and it is blamed for nothing: silence is not evidence.  One that has
 * written no report for SILENT_ROUNDS rounds (none at all, not one that
 * could not be used) is not planned for either, until it reports: what
 * it would be sent takes capacity others could use.
 * But when no host has reported since the last set was issued, the
 * silence is the master's (it was down, or its sshd, or the network to
 * it), not the hosts': one heard within a round of the last report the
 * master had from any host was alive when the silence began, and is not
 * taken as silent (nor left out), but planned as that report says.
 * Taken host by host, a master's outage would leave only the generators
 * to serve for a round, and after two rounds plan no host at all until
 * each had reported again.  A host silent from before (its last report a
 * round older than that) stays silent, and so does every silent host
 * while any host is heard: where most agents never start, those that do
 * would otherwise be planned below them round after round.  s->ended
 * says how many plans had expired, s->unheard how many silent hosts were
 * taken as heard.
 */
static void
note_silent(struct sched *s, struct plan **old, time_t now)
{
	const struct master *m = s->m;
	time_t issued = 0, heard = 0;
	size_t h;
	int outage;

	for (h = 0; h < s->t->nhosts; h++) {
		const struct state *st = m->states[h];

		if (old[h] != NULL && old[h]->issued > issued)
			issued = old[h]->issued;
		if (st != NULL && !m->stale[h] && st->time > heard)
			heard = st->time;
	}
	outage = issued > 0 && heard < issued;
	for (h = 0; h < s->t->nhosts; h++) {
		const struct state *st = m->states[h];
		int ended = old[h] != NULL && old[h]->expires <= now;

		s->ended += ended;
		s->silent[h] = ended && (st == NULL ||
		    st->epoch < old[h]->epoch);
		if (s->silent[h] && outage && st != NULL && !m->stale[h] &&
		    difftime(heard, st->time) <= s->t->round) {
			s->silent[h] = 0;
			s->unheard++;
			continue;
		}
		if (s->silent[h] && !m->stale[h] && st != NULL &&
		    difftime(now, st->time) >
		    SILENT_ROUNDS * s->t->round)
			s->dest_ok[h] = 0;
	}
}

static void
fill_stats(const struct sched *s, struct plan **plans, struct plan **old,
    struct round_stats *st)
{
	size_t h;

	memset(st, 0, sizeof(*st));
	st->bytes = sched_scheduled_bytes(s);
	st->demands = s->ndemands;
	st->candidates = s->ncands;
	st->lp_seconds = s->lp_seconds;
	st->lp_fallbacks = s->lp_fallbacks;
	st->lans_solved = s->lans_solved;
	st->ended = s->ended;
	st->unheard = s->unheard;
	for (h = 0; h < s->t->nhosts; h++) {
		if (plans[h] != NULL) {
			st->planned++;
			st->ops += plans[h]->nops;
		} else if (old[h] != NULL)
			st->kept++;
	}
}

/* The shapes a round is planned in (SHAPE_* in schedule.h), the round's
 * own first: in a round that may be the last, and in any other. */
static const unsigned last_shapes[] = {
	0, SHAPE_SHALLOW, SHAPE_WIDE, SHAPE_SHALLOW | SHAPE_WIDE
};
static const unsigned full_shapes[] = { 0, SHAPE_NEAR };

/* Other shapes are planned only in rounds of at most this many demands:
 * each one that changes the forest costs a pass of demands, allocation
 * and plans (about a second per 30,000 demands). */
#define SHAPE_DEMANDS_MAX 20000

/* Plans whose on-time hosts get within this share of the bytes of
 * another's by the window do as much: the sooner done is the better. */
#define SHAPE_TIE 0.005

/* What sluice-plan run -v calls a shape. */
static const char *
shape_name(unsigned shape)
{
	switch (shape) {
	case 0:
		return "own";
	case SHAPE_SHALLOW:
		return "shallow";
	case SHAPE_WIDE:
		return "wide";
	case SHAPE_SHALLOW | SHAPE_WIDE:
		return "shallow+wide";
	case SHAPE_NEAR:
		return "near";
	}
	return "?";
}

/* One round planned in one shape. */
struct attempt {
	struct sched	 s;
	struct plan	**plans;
	time_t		 expires;
	int		 probe;
	double		 bytes;		/* plans_score() */
	double		 end;
};

/*
 * What new plans do for the hosts whose agents start on time, timed as
 * agents run them (SCHED_HOP_DELAY a relay hop, each host from the start
 * its state says): the bytes they move, and when the last of their ops
 * is done.  In a round that may be the last, every byte planned counts
 * (the plans are fitted in the round by the timing rule, and the round
 * ends when the last host is whole: the sooner done is the better of
 * two that move as much); in any other, only what is done within window
 * seconds of the issue (the round is full, and what a relay passes on
 * after it is cut).
 */
static void
plans_score(const struct sched *s, struct plan **plans, double window,
    double *bytes, double *end)
{
	struct timing tm;
	size_t i, b;

	*bytes = 0;
	*end = 0;
	plans_time(s, plans, &tm, SCHED_HOP_DELAY, s->start);
	for (i = 0; i < tm.nops; i++) {
		const struct timed_op *x = &tm.ops[i];

		if (sched_late(s, x->tag >> 20) > 0)
			continue;
		*end = fmax(*end, x->finish);
		for (b = 0; b < x->nblocks && (s->may_end ||
		    x->done[b] <= window); b++)
			*bytes += (double)(b + 1 < x->nblocks ? x->block_size :
			    x->length - b * x->block_size);
	}
	timing_free(&tm);
}

/* Whether attempt a does better than b: more bytes by the window, or as
 * many and done sooner. */
static int
attempt_better(const struct attempt *a, const struct attempt *b)
{
	if (a->bytes > b->bytes * (1 + SHAPE_TIE))
		return 1;
	return a->bytes >= b->bytes * (1 - SHAPE_TIE) && a->end < b->end;
}

static void
attempt_free(struct attempt *a)
{
	if (a->plans != NULL)
		plans_free(a->s.t, a->plans);
	a->plans = NULL;
	sched_free(&a->s);
}

/*
 * Steps 2 to 4 of a round in one shape: demands and candidates, the
 * allocation, the plans.  forests[0..nforests) are the forests of the
 * shapes planned before (host * nfiles + file: the parent): where this
 * shape's is one of them, nothing is planned and 1 returned.  Else 0, or
 * EX_SOFTWARE (a plan over a capacity: reported).  sec[] gains the
 * seconds of demands, allocation and plans.
 */
static int
plan_shape(struct master *m, struct ledger *l, struct plan **old,
    const struct plan_options *opt, time_t now, time_t expires,
    unsigned shape, long *const *forests, size_t nforests,
    struct attempt *a, double sec[3])
{
	struct sched *s = &a->s;
	size_t k, n = m->topology->nhosts * m->fileset->nfiles;
	double t0 = clock_mono(), t1, t2;
	int rc;

	memset(a, 0, sizeof(*a));
	sched_init(s, m, opt->method);
	s->shape = shape;
	if (opt->window > 0) {
		s->late = opt->late;
		s->window = opt->window;
		s->T = opt->window * SCHED_ROUND_USE;
	}
	s->early = opt->early;
	s->started = opt->started;
	s->after_probe = l->probe;
	s->last_epoch = l->epoch;
	ledger_apply(l, m->topology, s->source_ok, s->blocked);
	keep_running_plans(s, old, now);
	note_silent(s, old, now);
	sched_demands(s);
	space_bound_demands(s);
	sched_forest(s);
	for (k = 0; k < nforests; k++)
		if (memcmp(forests[k], s->forest_parent, n * sizeof(long)) ==
		    0) {
			sched_free(s);
			sec[0] += clock_mono() - t0;
			return 1;
		}
	sched_candidates(s);
	t1 = clock_mono();
	sched_allocate(s);
	t2 = clock_mono();
	a->plans = plans_build(s, l->epoch + 1, now, expires);
	a->expires = expires;
	rc = plans_finish(s, a->plans, old, now, &a->expires, &a->probe);
	sec[0] += t1 - t0;
	sec[1] += t2 - t1;
	sec[2] += clock_mono() - t2;
	if (rc != 0) {
		attempt_free(a);
		return EX_SOFTWARE;
	}
	plans_score(s, a->plans, (double)(expires - now) - s->late,
	    &a->bytes, &a->end);
	return 0;
}

/*
 * Plans one round issued at now, its plans expiring at expires (a round
 * later).  old[h] is host h's current plan or NULL.  Updates the
 * ledger (epoch, failures, reports, picture, changes) and
 * returns in *plansp a new plan per host, NULL where the old plan stays.
 * The round is planned in its own shape and, where it has at most
 * SHAPE_DEMANDS_MAX demands, in each other shape that changes its forest
 * (last_shapes, full_shapes); the plans plans_score() rates best are
 * returned (the first of equals), but in a version's first set another
 * shape's only where they are a probe.
 * The new plans' checksums point into m's manifests (plans_build()):
 * they are freed before m is, or its manifests replaced.  Returns 0 or
 * EX_SOFTWARE (a plan over a capacity: nothing is returned).
 */
int
plan_round_with(struct master *m, struct ledger *l, struct plan **old,
    const struct plan_options *opt, time_t now, time_t expires,
    struct plan ***plansp, struct round_stats *st)
{
	struct topology *t = m->topology;
	uint64_t epoch = l->epoch + 1;
	char *changed = xcalloc(t->nresources ? t->nresources : 1, 1);
	size_t n = t->nhosts * m->fileset->nfiles, nshapes = 1, k, tried = 1;
	const unsigned *shapes = full_shapes;
	long *forests[4];
	struct attempt best, next;
	double t0 = clock_mono(), sec[3] = { 0, 0, 0 };
	int rc, first;

	*plansp = NULL;
	/* 1. The ledger, from the new states. */
	ledger_update(l, m, old, epoch, now, changed);
	free(changed);
	sec[0] = clock_mono() - t0;
	/* 2-4, in the round's own shape. */
	rc = plan_shape(m, l, old, opt, now, expires, 0, NULL, 0, &best, sec);
	if (rc != 0)
		return EX_SOFTWARE;
	/* A version's first set hangs on relays no agent has been seen to
	 * start on it: another shape (the shallow one puts more sites on
	 * fewer hosts) is kept only where the set is a probe, planned again
	 * within seconds. */
	first = plans_new_version(&best.s, best.plans, old);
	if (best.s.ndemands <= SHAPE_DEMANDS_MAX && (!first || opt->early > 0)) {
		shapes = best.s.may_end ? last_shapes : full_shapes;
		nshapes = best.s.may_end ? sizeof(last_shapes) /
		    sizeof(*last_shapes) : sizeof(full_shapes) /
		    sizeof(*full_shapes);
	}
	forests[0] = xcalloc(n ? n : 1, sizeof(long));
	memcpy(forests[0], best.s.forest_parent, n * sizeof(long));
	/* ... and in every other shape that changes the forest. */
	for (k = 1; k < nshapes; k++) {
		rc = plan_shape(m, l, old, opt, now, expires, shapes[k],
		    forests, tried, &next, sec);
		if (rc == 1)
			continue;
		if (rc != 0)
			break;
		forests[tried] = xcalloc(n ? n : 1, sizeof(long));
		memcpy(forests[tried++], next.s.forest_parent,
		    n * sizeof(long));
		if (first && !next.probe)
			attempt_free(&next);
		else if (attempt_better(&next, &best)) {
			attempt_free(&best);
			best = next;
		} else
			attempt_free(&next);
	}
	for (k = 0; k < tried; k++)
		free(forests[k]);
	if (rc != 0 && rc != 1) {
		attempt_free(&best);
		return EX_SOFTWARE;
	}
	if (st != NULL) {
		fill_stats(&best.s, best.plans, old, st);
		st->demand_seconds = sec[0];
		st->allocate_seconds = sec[1];
		st->plans_seconds = sec[2];
		st->expires = best.expires;
		st->probe = best.probe;
		st->shapes = tried;
		st->shape = shape_name(best.s.shape);
	}
	/* 5. What the ledger keeps of this run. */
	l->epoch = epoch;
	l->issued = now;
	free(l->method);
	l->method = xstrdup(opt->method == METHOD_LP ? "lp" : "greedy");
	l->probe = best.probe;
	*plansp = best.plans;
	best.plans = NULL;
	attempt_free(&best);
	return 0;
}
