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

/*
 * Plans one round issued at now, its plans expiring at expires (a round
 * later).  old[h] is host h's current plan or NULL.  Updates the
 * ledger (epoch, failures, reports, picture, changes) and
 * returns in *plansp a new plan per host, NULL where the old plan stays.
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
	struct plan **plans;
	struct sched s;
	double t0 = clock_mono(), t1, t2;
	int rc, probe = 0;

	*plansp = NULL;
	/* 1. The ledger, from the new states. */
	ledger_update(l, m, old, epoch, now, changed);
	/* 2. Demands and candidates, within what failed and what runs. */
	sched_init(&s, m, opt->method);
	if (opt->window > 0) {
		s.late = opt->late;
		s.window = opt->window;
		s.T = opt->window * SCHED_ROUND_USE;
	}
	s.early = opt->early;
	s.started = opt->started;
	s.after_probe = l->probe;
	s.last_epoch = l->epoch;
	ledger_apply(l, t, s.source_ok, s.blocked);
	keep_running_plans(&s, old, now);
	note_silent(&s, old, now);
	sched_demands(&s);
	space_bound_demands(&s);
	sched_forest(&s);
	sched_candidates(&s);
	/* 3. The allocation. */
	t1 = clock_mono();
	sched_allocate(&s);
	free(changed);
	t2 = clock_mono();
	/* 4. The plans: built, their rates raised, checked. */
	plans = plans_build(&s, epoch, now, expires);
	rc = plans_finish(&s, plans, old, now, &expires, &probe);
	if (rc != 0) {
		plans_free(t, plans);
		sched_free(&s);
		return EX_SOFTWARE;
	}
	if (st != NULL) {
		fill_stats(&s, plans, old, st);
		st->demand_seconds = t1 - t0;
		st->allocate_seconds = t2 - t1;
		st->plans_seconds = clock_mono() - t2;
		st->expires = expires;
		st->probe = probe;
	}
	/* 5. What the ledger keeps of this run. */
	l->epoch = epoch;
	l->issued = now;
	free(l->method);
	l->method = xstrdup(opt->method == METHOD_LP ? "lp" : "greedy");
	l->probe = probe;
	sched_free(&s);
	*plansp = plans;
	return 0;
}
