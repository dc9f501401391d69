/*
 * pace.c: holding a transfer to its allocated rate.  Every byte a
 * transfer asks the network for takes a slot in time at the rate, one
 * slot after the other: a request of n bytes goes out when the slots
 * before it are over and occupies n / rate seconds.  Time not used is
 * lost, never saved up, so after a stall (a slow peer, a busy CPU) the
 * transfer goes on at its rate instead of catching up in a burst: no
 * window of any length carries more than rate x window plus the one
 * request in progress (and, after a relay's wait, what pace_credit()
 * gives back of it).  Several threads may share one pace (the streams
 * of one op).
 *
 * The rate may drop from a time on: a relay's op sheds what a plan's
 * shed entry says from the entry's time, unless its durable length had
 * passed the entry's offset by then (the commit says when it passes,
 * pace_passed()) or its plan was running by then (pace_running()); an op
 * taken from its fallback runs at most at the fallback's rate
 * (pace_cap()).  Each slot runs at the rate of the time it begins, so
 * from the moment a lower rate applies no window carries more than it
 * allows plus the one request begun before.
 */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "agent.h"

/* A pace of rate bytes per second, whose slots end at deadline (monotonic
 * seconds). */
void
pace_init(struct pace *p, double rate, double deadline)
{
	p->rate = rate;
	p->cap = INFINITY;
	p->shed = NULL;
	p->nshed = 0;
	p->next = clock_mono();
	p->deadline = deadline;
	p->credit = 0;
	p->early = p->early_end = -INFINITY;
	pthread_mutex_init(&p->lock, NULL);
}

void
pace_destroy(struct pace *p)
{
	free(p->shed);
	p->shed = NULL;
	p->nshed = 0;
	pthread_mutex_destroy(&p->lock);
}

/*
 * Adds a shed entry: from at (monotonic) on, the pace gives up rate
 * bytes/s, unless the length pace_passed() is told passes offset at or
 * before at.  The rates shed must sum to less than the pace's.
 */
void
pace_shed(struct pace *p, double at, double rate, uint64_t offset)
{
	struct pace_shed *e;

	pthread_mutex_lock(&p->lock);
	p->shed = xreallocarray(p->shed, p->nshed + 1, sizeof(*p->shed));
	e = &p->shed[p->nshed++];
	e->at = at;
	e->rate = rate;
	e->offset = offset;
	e->passed = INFINITY;
	pthread_mutex_unlock(&p->lock);
}

/*
 * Tells the pace that the op's durable length is now length: every shed
 * entry whose offset it passes for the first time is marked passed now
 * (the clock read under the lock, so that no slot begun after now saw it
 * not passed at an earlier time).
 */
void
pace_passed(struct pace *p, uint64_t length)
{
	double now;
	size_t i;

	pthread_mutex_lock(&p->lock);
	now = clock_mono();
	for (i = 0; i < p->nshed; i++)
		if (length > p->shed[i].offset && p->shed[i].passed > now)
			p->shed[i].passed = now;
	pthread_mutex_unlock(&p->lock);
}

/*
 * Tells the pace that its plan has been running since since (monotonic;
 * INFINITY: not known to its peers): no entry whose time comes after
 * applies.  From that time on no host that reads from this one leaves it
 * for a fallback (its ROOT/.sluice/began says it runs), so the rate such
 * an entry would give up is for nobody.  Each is marked passed then.
 */
void
pace_running(struct pace *p, double since)
{
	size_t i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->nshed; i++)
		if (since < p->shed[i].at && p->shed[i].passed > since)
			p->shed[i].passed = since;
	pthread_mutex_unlock(&p->lock);
}

/* Holds the pace to at most rate bytes/s from its next slot on. */
void
pace_cap(struct pace *p, double rate)
{
	pthread_mutex_lock(&p->lock);
	p->cap = rate;
	pthread_mutex_unlock(&p->lock);
}

/* The rate of a slot beginning at when; the caller holds the lock.  An
 * entry not passed yet applies: it is not known to have passed in time. */
static double
rate_at(const struct pace *p, double when)
{
	double shed = 0;
	size_t i;

	for (i = 0; i < p->nshed; i++)
		if (when >= p->shed[i].at && !(p->shed[i].passed <=
		    p->shed[i].at))
			shed += p->shed[i].rate;
	return fmin(p->cap, p->rate - shed);
}

/* The rate of a slot beginning at when (monotonic), as known now. */
double
pace_rate(struct pace *p, double when)
{
	double rate;

	pthread_mutex_lock(&p->lock);
	rate = rate_at(p, when);
	pthread_mutex_unlock(&p->lock);
	return rate;
}

/*
 * Gives back up to seconds of time lost waiting on a relay source: the
 * link carried nothing of this op meanwhile, and the next slots may make
 * up for it.  From the next slot on, slots follow each other back to back
 * from that many seconds before it was taken, until they reach the time
 * it was taken: so many slots as that time holds, not only the first (at
 * 0.01 s a slot, the first alone gave back a tenth of it), and never more
 * (a pace that falls behind later makes up nothing).
 */
void
pace_credit(struct pace *p, double seconds)
{
	pthread_mutex_lock(&p->lock);
	p->credit = seconds;
	pthread_mutex_unlock(&p->lock);
}

/*
 * Takes the next slot of n bytes and sleeps until it begins.  Returns 0,
 * or -1 without sleeping when the slot would begin at or after the
 * deadline.
 */
int
pace_take(struct pace *p, size_t n)
{
	double start, now = clock_mono();

	if (n == 0)
		return 0;
	pthread_mutex_lock(&p->lock);
	if (p->credit > 0) {
		p->early = now - p->credit;
		p->early_end = now;
	}
	p->credit = 0;
	start = fmax(now, p->next);
	if (p->next < p->early_end)
		start = fmax(p->early, p->next);
	if (start >= p->deadline) {
		pthread_mutex_unlock(&p->lock);
		return -1;
	}
	/* At the rate of when it begins, or of now for one begun early
	 * on a relay's credit. */
	p->next = start + (double)n / rate_at(p, fmax(start, now));
	/* The credit is spent once the slots reach the time it was
	 * taken: a pace behind its rate after that makes up nothing. */
	if (p->next >= p->early_end)
		p->early = p->early_end = -INFINITY;
	pthread_mutex_unlock(&p->lock);
	sleep_until(start);
	return 0;
}
