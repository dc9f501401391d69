/*
 * pace.c: holding a transfer to its allocated rate.  Every byte a
 * transfer asks the network for takes a slot in time at the rate, one
 * slot after the other: a request of n bytes goes out when the slots
 * before it are over and occupies n / rate seconds.  Time not used is
 * lost, never saved up, so after a stall (a slow peer, a busy CPU) the
 * transfer goes on at its rate instead of catching up in a burst: no
 * window of any length carries more than rate x window plus the one
 * request in progress.  Several threads may share one pace (the streams
 * of one op).
 */
#include <errno.h>
#include <math.h>
#include <time.h>

#include "agent.h"

double
clock_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps until the monotonic time when, at most max_wait seconds. */
void
sleep_until(double when)
{
	struct timespec ts;
	double d = when - clock_mono();

	if (!(d > 0))
		return;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* A pace of rate bytes per second, whose slots end at deadline (monotonic
 * seconds). */
void
pace_init(struct pace *p, double rate, double deadline)
{
	p->rate = rate;
	p->next = clock_mono();
	p->deadline = deadline;
	p->credit = 0;
	pthread_mutex_init(&p->lock, NULL);
}

void
pace_destroy(struct pace *p)
{
	pthread_mutex_destroy(&p->lock);
}

/*
 * Gives back up to seconds of time lost waiting on a relay source: the
 * link carried nothing of this op meanwhile, and the next slots may make
 * up for it.
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
	start = fmax(now - p->credit, p->next);
	p->credit = 0;
	if (start >= p->deadline) {
		pthread_mutex_unlock(&p->lock);
		return -1;
	}
	p->next = start + (double)n / p->rate;
	pthread_mutex_unlock(&p->lock);
	sleep_until(start);
	return 0;
}
