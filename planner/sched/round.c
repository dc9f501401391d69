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
	0, SHAPE_SHALLOW, SHAPE_WIDE, SHAPE_SHALLOW | SHAPE_WIDE,
	SHAPE_SHALLOW | SHAPE_LOW, SHAPE_INTAKE, SHAPE_INTAKE | SHAPE_SHALLOW,
	SHAPE_BYTES, SHAPE_BYTES | SHAPE_SHALLOW,
	SHAPE_SHALLOW | SHAPE_COUNTED
};
static const unsigned first_shapes[] = {
	0, SHAPE_INTAKE, SHAPE_INTAKE | SHAPE_SHALLOW, SHAPE_SHALLOW,
	SHAPE_SHALLOW | SHAPE_COUNTED,
	SHAPE_INTAKE | SHAPE_SHALLOW | SHAPE_COUNTED
};
static const unsigned full_shapes[] = {
	0, SHAPE_NEAR, SHAPE_INTAKE, SHAPE_BYTES, SHAPE_SHALLOW,
	SHAPE_INTAKE | SHAPE_SHALLOW, SHAPE_SHALLOW | SHAPE_COUNTED
};
#define SHAPES_MAX (sizeof(last_shapes) / sizeof(*last_shapes))
_Static_assert(sizeof(full_shapes) / sizeof(*full_shapes) <= SHAPES_MAX,
    "SHAPES_MAX holds every list of shapes");
_Static_assert(sizeof(first_shapes) / sizeof(*first_shapes) <= SHAPES_MAX,
    "SHAPES_MAX holds every list of shapes");

/* Other shapes are planned only in rounds of at most this many demands:
 * each one that changes the forest costs a pass of demands, allocation
 * and plans. */
#define SHAPE_DEMANDS_MAX 20000

/* Plans whose on-time hosts get within this share of the most bytes any
 * shape's get do as much: of those, the sooner done is the better. */
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
	case SHAPE_SHALLOW | SHAPE_LOW:
		return "shallow+low";
	case SHAPE_NEAR:
		return "near";
	case SHAPE_INTAKE:
		return "intake";
	case SHAPE_INTAKE | SHAPE_SHALLOW:
		return "intake+shallow";
	case SHAPE_BYTES:
		return "bytes";
	case SHAPE_BYTES | SHAPE_SHALLOW:
		return "bytes+shallow";
	case SHAPE_SHALLOW | SHAPE_COUNTED:
		return "shallow+counted";
	case SHAPE_INTAKE | SHAPE_SHALLOW | SHAPE_COUNTED:
		return "intake+shallow+counted";
	}
	return "?";
}

/* One round planned in one shape. */
struct attempt {
	struct sched	 s;
	struct plan	**plans;
	time_t		 expires;
	int		 probe;
	int		 may_keep;	/* 0: a version's first set, no probe */
	double		 bytes;		/* plans_score() */
	double		 end;
};

/*
 * What new plans do for the hosts whose agents start on time, timed as
 * agents run them (a relay hop at its cost, each host from the start
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
	plans_time(s, plans, &tm, 1, s->start);
	for (i = 0; i < tm.nops; i++) {
		const struct timed_op *x = &tm.ops[i];

		if (sched_late(s, x->tag >> 20) > 0 || x->cycle)
			continue;
		*end = fmax(*end, x->finish);
		for (b = 0; b < x->nblocks && (s->may_end ||
		    x->done[b] <= window); b++)
			*bytes += (double)(b + 1 < x->nblocks ? x->block_size :
			    x->length - b * x->block_size);
	}
	timing_free(&tm);
}

static void
attempt_free(struct attempt *a)
{
	if (a->plans != NULL)
		plans_free(a->s.t, a->plans);
	a->plans = NULL;
	sched_free(&a->s);
}

/* Whether two passes of a round built the same forest (so the same
 * plans): its parents, the hosts' order in each site and the sites'
 * order in each file's tree. */
static int
same_forest(const struct sched *a, const struct sched *b)
{
	size_t n = a->t->nhosts * a->m->fileset->nfiles;
	size_t ns = a->t->nsites * a->m->fileset->nfiles;

	return memcmp(a->forest_parent, b->forest_parent, n *
	    sizeof(long)) == 0 && memcmp(a->forest_rank, b->forest_rank, n *
	    sizeof(size_t)) == 0 && memcmp(a->forest_site_key,
	    b->forest_site_key, ns * sizeof(size_t)) == 0;
}

/*
 * Steps 2 to 4 of a round in one shape: demands and candidates, the
 * allocation, the plans.  done[0..ndone) are the passes made before;
 * where this shape's forest is one of theirs, nothing is planned and 1
 * returned.  Else 0, or EX_SOFTWARE (a plan over a capacity: reported).
 * A pass after the first warns of nothing the first would have.  sec[]
 * gains the seconds of demands, allocation and plans.
 */
static int
plan_shape(struct master *m, struct ledger *l, struct plan **old,
    const struct plan_options *opt, time_t now, time_t expires,
    unsigned shape, const struct attempt *done, size_t ndone,
    struct attempt *a, double sec[3])
{
	struct sched *s = &a->s;
	double t0 = clock_mono(), t1, t2;
	size_t k;
	int rc;

	memset(a, 0, sizeof(*a));
	sched_init(s, m, opt->method);
	s->shape = shape;
	s->quiet = ndone > 0;
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
	for (k = 0; k < ndone; k++)
		if (same_forest(s, &done[k].s)) {
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
	return 0;
}

/*
 * Of the passes a[0..n), the one to keep: of those that may be kept, the
 * one done soonest of those whose on-time hosts get within SHAPE_TIE of
 * the most bytes any gets, the first of equals (a[0], the round's own
 * shape, always may be).
 */
static size_t
pick_attempt(const struct attempt *a, size_t n)
{
	double most = 0;
	size_t k, pick = 0;

	for (k = 0; k < n; k++)
		if (a[k].may_keep)
			most = fmax(most, a[k].bytes);
	for (k = 0; k < n; k++)
		if (a[k].may_keep && a[k].bytes >= most * (1 - SHAPE_TIE) &&
		    (!(a[pick].bytes >= most * (1 - SHAPE_TIE)) ||
		    a[k].end < a[pick].end))
			pick = k;
	return pick;
}

/*
 * Plans one round issued at now, its plans expiring at expires (a round
 * later).  old[h] is host h's current plan or NULL.  Updates the
 * ledger (epoch, failures, reports, picture, changes) and
 * returns in *plansp a new plan per host, NULL where the old plan stays.
 * The round is planned in its own shape and, where it has at most
 * SHAPE_DEMANDS_MAX demands, in each other shape that changes its forest
 * (last_shapes, full_shapes; in a version's first set, unless it may be
 * a probe, first_shapes); the plans pick_attempt() takes by
 * plans_score() are returned, but in a version's first set another
 * shape's only where they are a probe, or where it may not be one.  A
 * shape whose plans fail their check is left (reported); the round's
 * own failing fails the round.
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
	size_t nshapes = 1, k, n = 0, pick;
	const unsigned *shapes = full_shapes;
	struct attempt a[SHAPES_MAX];
	double t0 = clock_mono(), sec[3] = { 0, 0, 0 }, lp_seconds = 0;
	int first, lp_fallbacks = 0;

	*plansp = NULL;
	/* 1. The ledger, from the new states. */
	ledger_update(l, m, old, epoch, now, changed);
	free(changed);
	sec[0] = clock_mono() - t0;
	/* 2-4, in the round's own shape. */
	if (plan_shape(m, l, old, opt, now, expires, 0, NULL, 0, &a[0],
	    sec) != 0)
		return EX_SOFTWARE;
	n = 1;
	a[0].may_keep = 1;
	/* A version's first set hangs on relays no agent has been seen to
	 * start on it: another shape (the shallow one puts more sites on
	 * fewer hosts) is kept only where the set is a probe, planned again
	 * within seconds.  Where it cannot be one (no --replan), the intake
	 * and shallow shapes, each and both, are planned and may be kept
	 * too: the generator's site, counted in the round's own shape as
	 * having room to send out two copies of each file, hangs the other
	 * sites on it, and every tree below waits for its oversubscribed
	 * egress; and where each site exports from its first host (the
	 * shallow shape), a site below waits a hop fewer for each site above
	 * it; and with those exports counted ahead (SHAPE_COUNTED), that
	 * first host relays less of the other files. */
	first = plans_new_version(&a[0].s, a[0].plans, old);
	if (a[0].s.ndemands <= SHAPE_DEMANDS_MAX && (!first || opt->early > 0)) {
		shapes = a[0].s.may_end ? last_shapes : full_shapes;
		nshapes = a[0].s.may_end ? sizeof(last_shapes) /
		    sizeof(*last_shapes) : sizeof(full_shapes) /
		    sizeof(*full_shapes);
	} else if (a[0].s.ndemands <= SHAPE_DEMANDS_MAX) {
		shapes = first_shapes;
		nshapes = sizeof(first_shapes) / sizeof(*first_shapes);
	}
	/* ... and in every other shape that changes the forest. */
	for (k = 1; k < nshapes; k++) {
		if (plan_shape(m, l, old, opt, now, expires, shapes[k], a, n,
		    &a[n], sec) != 0)
			continue;
		a[n].may_keep = !first || a[n].probe ||
		    shapes == first_shapes;
		n++;
	}
	for (k = 0; n > 1 && k < n; k++)
		plans_score(&a[k].s, a[k].plans, sched_ops_window(&a[k].s,
		    (double)(a[k].expires - now)), &a[k].bytes, &a[k].end);
	pick = pick_attempt(a, n);
	for (k = 0; k < n; k++) {
		lp_seconds += a[k].s.lp_seconds;
		lp_fallbacks += a[k].s.lp_fallbacks;
		if (k != pick)
			attempt_free(&a[k]);
	}
	/* The passes after it took time its early expiry did not count. */
	if (n > 1)
		plans_expire_again(&a[pick].s, a[pick].plans, old, now, expires,
		    &a[pick].expires, &a[pick].probe);
	if (st != NULL) {
		fill_stats(&a[pick].s, a[pick].plans, old, st);
		st->lp_seconds = lp_seconds;
		st->lp_fallbacks = lp_fallbacks;
		st->demand_seconds = sec[0];
		st->allocate_seconds = sec[1];
		st->plans_seconds = sec[2];
		st->expires = a[pick].expires;
		st->probe = a[pick].probe;
		st->shapes = n;
		st->shape = shape_name(a[pick].s.shape);
	}
	/* 5. What the ledger keeps of this run. */
	l->epoch = epoch;
	l->issued = now;
	free(l->method);
	l->method = xstrdup(opt->method == METHOD_LP ? "lp" : "greedy");
	l->probe = a[pick].probe;
	*plansp = a[pick].plans;
	a[pick].plans = NULL;
	attempt_free(&a[pick]);
	return 0;
}
