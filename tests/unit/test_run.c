/*
 * test_run.c: what holds one plan's run together besides the network: the
 * pace that holds an op to its rate (never faster, time not used is lost,
 * nothing begins at the deadline, a relay's wait given back, what a
 * relay sheds and a fallback's cap), and the
 * ring between a stream's reader and hasher (in order, bounded, drained
 * when closed, let go when the op stops).
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "../../agent/run.h"

/* Seconds n takes of size bytes each take at once from p. */
static double
takes(struct pace *p, int n, size_t size)
{
	double t0 = clock_mono();
	int i;

	for (i = 0; i < n; i++)
		ck_assert_int_eq(pace_take(p, size), 0);
	return clock_mono() - t0;
}

/* Five slots of 0.1 s: the fifth begins 0.4 s after the first, never
 * sooner. */
START_TEST(pace_holds_rate)
{
	struct pace p;
	double secs;

	pace_init(&p, 1e6, clock_mono() + 60);
	secs = takes(&p, 5, 100000);
	ck_assert_double_ge(secs, 0.4 - 1e-3);
	ck_assert_double_lt(secs, 2.0);
	pace_destroy(&p);
}
END_TEST

/* A pace of 1 MB/s that took a slot of n bytes and then stood 0.3 s. */
static void
stalled(struct pace *p, size_t n)
{
	pace_init(p, 1e6, clock_mono() + 60);
	ck_assert_int_eq(pace_take(p, n), 0);
	sleep_until(clock_mono() + 0.3);
}

/* After a stall, no burst: time not used is lost. */
START_TEST(pace_no_burst)
{
	struct pace p;

	stalled(&p, 100000);
	ck_assert_double_ge(takes(&p, 3, 100000), 0.2 - 1e-3);
	pace_destroy(&p);
}
END_TEST

/* No slot begins at or after the deadline; it is refused at once. */
START_TEST(pace_deadline)
{
	struct pace p;
	double t0;

	pace_init(&p, 1e6, clock_mono() + 0.25);
	ck_assert_double_ge(takes(&p, 3, 100000), 0.2 - 1e-3);
	t0 = clock_mono();
	ck_assert_int_eq(pace_take(&p, 100000), -1);
	ck_assert_double_lt(clock_mono() - t0, 0.05);
	ck_assert_int_eq(pace_take(&p, 0), 0);
	pace_destroy(&p);
}
END_TEST

/* A relay's wait given back: after waiting 0.3 s on its source, the op
 * may make up 0.2 s of it, and no more: two slots of 0.1 s begin at
 * once, with the one that begins now, and the fourth waits its 0.1 s. */
START_TEST(pace_credit_given_back)
{
	struct pace p;
	double secs;

	stalled(&p, 1000);
	pace_credit(&p, 0.2);
	secs = takes(&p, 3, 100000);
	ck_assert_double_lt(secs, 0.09);
	ck_assert_double_ge(takes(&p, 1, 100000), 0.1 - 0.02);
	pace_destroy(&p);
}
END_TEST

/* A credit is spent where its slots reach the time it was taken: a pace
 * that then stalls, or runs behind its rate, makes up nothing of that. */
START_TEST(pace_credit_spent_once)
{
	struct pace p;

	stalled(&p, 10000);
	pace_credit(&p, 0.1);
	ck_assert_int_eq(pace_take(&p, 10000), 0);
	sleep_until(clock_mono() + 0.5);
	/* What was left of the credit is made up (9 slots at once), the
	 * 0.5 s stall is not: 30 slots of 10 ms take 0.20 s. */
	ck_assert_double_ge(takes(&p, 30, 10000), 0.2 - 0.015);
	pace_destroy(&p);
}
END_TEST

/* A stream reads more at once from a source far away, so that the reads
 * in flight cover the round trip; on a LAN what the rate gives. */
START_TEST(chunk_covers_round_trip)
{
	/* 40 Mbit/s: 47 kB is 10 ms; at 0.2 ms a round trip, that. */
	ck_assert_uint_eq(stream_chunk(45056, 4.7e6, 0.0002), 45056);
	/* At 80 ms, 0.4 of it at the rate, aligned down. */
	ck_assert_uint_eq(stream_chunk(45056, 4.7e6, 0.08), 147456);
	ck_assert_uint_eq(stream_chunk(45056, 4.7e6, 0.08) % STORE_ALIGN, 0);
	/* Never past CHUNK_MAX, nor CHUNK_TRIPS_MOST chunks: a second's
	 * round trip is taken for 0.4 s. */
	ck_assert_uint_eq(stream_chunk(1048576, 1e9, 0.1), CHUNK_MAX);
	ck_assert_uint_eq(stream_chunk(16384, 4.7e6, 1.0), 16 * 16384);
}
END_TEST

/*
 * Where libssh2's read of n bytes at pos leaves what it has asked, having
 * asked up to sent before: up to four times n from pos, in requests of at
 * most 30000 bytes, the last made at least n long (libssh2 1.10's
 * sftp_read()).
 */
static uint64_t
libssh2_asks(uint64_t pos, uint64_t sent, uint64_t n)
{
	uint64_t count, size;

	if (4 * n <= sent - pos)
		return sent;
	for (count = 4 * n - (sent - pos); count > 0; count -= size < count ?
	    size : count) {
		size = count < n ? n : count;
		if (size > 30000)
			size = 30000;
		sent += size;
	}
	return sent;
}

/* What a read asks ahead grows by a chunk at most and never passes the
 * end it is given (but for the last few bytes before it: a read of one
 * asks five, and counts them), whatever libssh2 has really asked of what
 * the count says.  Without an end (past the file's, where the server
 * says it ends) the last of a run is asked as any other part. */
START_TEST(read_size_within_the_end)
{
	uint64_t end = 8388608, pos, asked, sent, grow;
	size_t chunk = 147456, n;

	/* The first read: a chunk's worth asked. */
	n = read_size(0, 0, chunk, chunk, end, &grow);
	ck_assert(grow <= chunk && grow > chunk - 5);
	ck_assert_uint_le(libssh2_asks(0, 0, n), grow);
	/* 200 kB short of the end, all but 100 bytes of it asked: libssh2
	 * asks no further than the end (at 50000 bytes it would, by
	 * 49900); with no end, to it. */
	pos = end - 200000;
	n = read_size(pos, end - 100, chunk, chunk, end, &grow);
	ck_assert_uint_le(libssh2_asks(pos, end - 100, n), end);
	n = read_size(pos, end - 100, chunk, chunk, UINT64_MAX, &grow);
	ck_assert_uint_ge(libssh2_asks(pos, end - 100, n), end);
	/* Everything asked, libssh2 having really asked less (each read
	 * counts up to five times itself, asks four and up to one more):
	 * the reads near the end stay within it. */
	for (pos = 0; pos < end; pos += 65536 + 4097)
		for (asked = pos; asked <= end + 4; asked = asked < end &&
		    asked + 131072 + 511 > end ? end : asked + 131072 + 511)
			for (sent = pos; sent <= asked; sent += (asked - pos) /
			    3 + 1) {
				n = read_size(pos, asked, chunk, chunk, end,
				    &grow);
				ck_assert_uint_ge(n, 1);
				ck_assert_uint_le(grow, chunk);
				if (end - pos >= 5)
					ck_assert_uint_le(libssh2_asks(pos,
					    sent > end ? end : sent, n), end);
				else
					ck_assert_uint_ge(asked + grow, pos + 5);
			}
}
END_TEST

/* Given back over as many slots as it holds: at 0.01 s a slot, a credit
 * of 0.1 s lets ten begin at once besides the one that begins now, and
 * the twelfth waits its slot. */
START_TEST(pace_credit_over_small_slots)
{
	struct pace p;

	stalled(&p, 10000);
	pace_credit(&p, 0.1);
	ck_assert_double_lt(takes(&p, 11, 10000), 0.045);
	ck_assert_double_ge(takes(&p, 1, 10000), 0.005);
	ck_assert_double_ge(takes(&p, 5, 10000), 0.05 - 2e-3);
	pace_destroy(&p);
}
END_TEST

/*
 * The length of the slot of n bytes p gives at once, its earlier slots
 * long over: no sleep, so the rate it was given at is read exactly (to
 * the few microseconds pace_take() itself takes).
 */
static double
slot_now(struct pace *p, size_t n)
{
	double t0;

	p->next = 0;
	t0 = clock_mono();
	ck_assert_int_eq(pace_take(p, n), 0);
	return p->next - t0;
}

/*
 * Shed entries on a pace of 1 MB/s, as the rates they leave: two whose
 * time has come sum; one to come sheds from its time, unless the durable
 * length passes its offset before; passing an offset after its entry's
 * time takes nothing back, and a length at the offset does not pass it.
 */
START_TEST(pace_shed_entries)
{
	struct pace p;
	double now = clock_mono();

	pace_init(&p, 1e6, now + 600);
	pace_shed(&p, now - 1, 3e5, 100);
	pace_shed(&p, now - 2, 2e5, 4096);
	pace_shed(&p, now + 100, 4e5, 8192);
	ck_assert_double_eq_tol(slot_now(&p, 1000000), 1e6 / 5e5, 0.02);
	ck_assert_double_eq_tol(pace_rate(&p, now + 99.99), 5e5, 1e-6);
	ck_assert_double_eq_tol(pace_rate(&p, now + 100), 1e5, 1e-6);
	pace_passed(&p, 8192);
	ck_assert_double_eq_tol(slot_now(&p, 1000000), 1e6 / 5e5, 0.02);
	ck_assert_double_eq_tol(pace_rate(&p, now + 100), 1e5, 1e-6);
	pace_passed(&p, 8193);
	ck_assert_double_eq_tol(pace_rate(&p, now + 100), 5e5, 1e-6);
	ck_assert_double_eq_tol(pace_rate(&p, now + 1000), 5e5, 1e-6);
	pace_destroy(&p);
}
END_TEST

/*
 * A plan running since a time (its ROOT/.sluice/began said so) sheds for
 * no entry whose time comes after: the readers below it no longer leave
 * it.  Entries due by then still apply, a time not known (INFINITY)
 * waives none, and an entry due exactly then applies.
 */
START_TEST(pace_shed_running)
{
	struct pace p;
	double now = clock_mono();

	pace_init(&p, 1e6, now + 600);
	pace_shed(&p, now - 1, 3e5, 100);
	pace_shed(&p, now + 10, 2e5, 4096);
	pace_shed(&p, now + 100, 4e5, 8192);
	pace_running(&p, INFINITY);
	ck_assert_double_eq_tol(pace_rate(&p, now + 100), 1e5, 1e-6);
	pace_running(&p, now + 10);
	ck_assert_double_eq_tol(pace_rate(&p, now + 10), 5e5, 1e-6);
	ck_assert_double_eq_tol(pace_rate(&p, now + 100), 5e5, 1e-6);
	pace_running(&p, now);
	ck_assert_double_eq_tol(pace_rate(&p, now + 100), 7e5, 1e-6);
	ck_assert_double_eq_tol(slot_now(&p, 700000), 1, 0.02);
	pace_destroy(&p);
}
END_TEST

/* A fallback's rate caps the pace, sheds or not. */
START_TEST(pace_capped)
{
	struct pace p;
	double now = clock_mono();

	pace_init(&p, 1e6, now + 600);
	pace_cap(&p, 2.5e5);
	ck_assert_double_eq_tol(slot_now(&p, 500000), 2, 0.02);
	pace_shed(&p, now - 1, 9e5, 0);
	ck_assert_double_eq_tol(slot_now(&p, 500000), 5, 0.02);
	pace_destroy(&p);
}
END_TEST

/* A wait for a plan looks just after the plan in hand expires (when the
 * next is issued), then ever less often up to its poll; a time not known,
 * or long past, leaves the poll as it was; u spreads it a quarter. */
START_TEST(poll_after_due)
{
	/* 20 s before the plan is due: the poll, a quarter more or less. */
	ck_assert_double_eq_tol(poll_delay(100, 120, 1, 0.5), 1, 1e-9);
	ck_assert_double_eq_tol(poll_delay(100, 120, 1, 0), 0.75, 1e-9);
	ck_assert_double_eq_tol(poll_delay(100, 120, 1, 1), 1.25, 1e-9);
	/* Less than a poll before it: just after it, not a poll later. */
	ck_assert_double_eq_tol(poll_delay(119.6, 120, 1, 0.5),
	    0.4 + POLL_MIN, 1e-9);
	/* Just after it: every 50 ms; then half the time since. */
	ck_assert_double_eq_tol(poll_delay(120.01, 120, 1, 0.5), POLL_MIN,
	    1e-9);
	ck_assert_double_eq_tol(poll_delay(120.4, 120, 1, 0.5), 0.2, 1e-9);
	/* A master late or down is asked no more often than the poll. */
	ck_assert_double_eq_tol(poll_delay(125, 120, 1, 0.5), 1, 1e-9);
	ck_assert_double_eq_tol(poll_delay(125, 120, 1, 1), 1.25, 1e-9);
	ck_assert_double_eq_tol(poll_delay(100, NAN, 1, 0.5), 1, 1e-9);
	/* A poll shorter than 50 ms after the time stays as short. */
	ck_assert_double_eq_tol(poll_delay(120.01, 120, 0.02, 0.5), 0.02,
	    1e-9);
}
END_TEST

/* What a report took, as the next plan's ops must leave it: from the
 * ops' stop or their end before it; of a master's session made during
 * the run, only what its making took beyond the head start it was given
 * (here 1.7 s before a stop at 10). */
START_TEST(report_took_head)
{
	/* No session made during the run: from the ops' end. */
	ck_assert_double_eq_tol(report_took(10, 11.2, NAN, 0, 0), 1.2, 1e-9);
	/* Made in time, the ops run to their stop: the sending alone. */
	ck_assert_double_eq_tol(report_took(10, 11.15, 1.7, 0.8, 9.1), 1.15,
	    1e-9);
	/* Begun at 9.5, not 8.3 (a plan begun late), ready 0.3 s after
	 * the stop: the sending alone, as a plan on time would have it. */
	ck_assert_double_eq_tol(report_took(10, 11.45, 1.7, 0.8, 10.3), 1.15,
	    1e-9);
	/* Its making longer than its head start: that much more. */
	ck_assert_double_eq_tol(report_took(10, 12.05, 1.7, 2.6, 10.9), 1.15 +
	    0.9, 1e-9);
	/* Ops that ended at 3 had it made at once, ready at 3.8: not the
	 * 1.95 s from their end, which the next plan's ops, running to
	 * their stop, would not leave. */
	ck_assert_double_eq_tol(report_took(3, 4.95, 1.7, 0.8, 3.8), 1.15,
	    1e-9);
}
END_TEST

/* A sync waits to its period's end, and past it for the plan due as it
 * ends (by its grace), not for one due after it. */
START_TEST(sync_until_due)
{
	/* A plan due within the period: to the period's end. */
	ck_assert_double_eq_tol(sync_until(300, 120, 15), 300, 1e-9);
	/* Due as the period ends, or a moment before: past it. */
	ck_assert_double_eq_tol(sync_until(300, 300, 15), 315, 1e-9);
	ck_assert_double_eq_tol(sync_until(300, 299.5, 15), 314.5, 1e-9);
	/* Due after it: the next start takes that plan. */
	ck_assert_double_eq_tol(sync_until(300, 300.5, 15), 300, 1e-9);
}
END_TEST

/* A slot begun early on a relay's credit runs at the rate of now: a shed
 * entry whose time came within the credit applies to it. */
START_TEST(pace_shed_on_credit)
{
	struct pace p;
	double t0;

	pace_init(&p, 1e6, clock_mono() + 600);
	p.next = 0;
	pace_credit(&p, 0.2);
	t0 = clock_mono();
	pace_shed(&p, t0 - 0.1, 5e5, 0);
	ck_assert_int_eq(pace_take(&p, 100000), 0);
	/* Begun 0.2 s back at 0.5 MB/s, it ends now (at 1 MB/s, 0.1 s
	 * back). */
	ck_assert_double_gt(p.next - t0, -0.05);
	pace_destroy(&p);
}
END_TEST

/*
 * The rate drops while slots are taken: five slots of 0.1 s at 1 MB/s,
 * the rate halved 0.2 s after the first: the third begins at 0.2 s and
 * runs 0.2 s, as the fourth does: the fifth begins 0.6 s after the
 * first, never sooner (0.4 s unshed).
 */
START_TEST(pace_shed_while_running)
{
	struct pace p;
	double secs;

	pace_init(&p, 1e6, clock_mono() + 60);
	pace_shed(&p, p.next + 0.2, 5e5, 0);
	secs = takes(&p, 5, 100000);
	ck_assert_double_ge(secs, 0.6 - 1e-3);
	ck_assert_double_lt(secs, 3.0);
	pace_destroy(&p);
}
END_TEST

#define RING_CHUNKS 2000

struct producer {
	struct ring	*g;
	_Atomic int	 abort;
	int		 put;
};

static void *
produce(void *arg)
{
	struct producer *pr = arg;
	int i;

	for (i = 0; i < RING_CHUNKS; i++) {
		struct slot *sl = ring_get(pr->g, &pr->abort);

		if (sl == NULL)
			break;
		sl->offset = (uint64_t)i;
		sl->len = (size_t)i % 7;
		memset(sl->buf, i & 0xff, 16);
		ring_put(pr->g, sl);
		pr->put++;
	}
	ring_close(pr->g);
	return NULL;
}

/* Every chunk arrives once, in order, intact, and then the end. */
START_TEST(ring_in_order)
{
	struct ring g;
	struct producer pr = { &g, 0, 0 };
	pthread_t tid;
	struct slot *sl;
	uint64_t next = 0;

	ring_init(&g);
	ck_assert_int_eq(ring_alloc(&g, 4096), 0);
	ck_assert_int_eq(pthread_create(&tid, NULL, produce, &pr), 0);
	while ((sl = ring_take(&g)) != NULL) {
		ck_assert_uint_eq(sl->offset, next);
		ck_assert_uint_eq(sl->len, next % 7);
		ck_assert_uint_eq(sl->buf[15], next & 0xff);
		next++;
		ring_release(&g);
	}
	pthread_join(tid, NULL);
	ck_assert_uint_eq(next, RING_CHUNKS);
	ck_assert_int_eq(pr.put, RING_CHUNKS);
	ring_free(&g);
}
END_TEST

/*
 * The reader runs at most RING_SLOTS ahead; when the op stops it is let
 * go at once.  What was put before a close is still taken.
 */
START_TEST(ring_bounded_and_stopped)
{
	struct ring g;
	struct producer pr = { &g, 0, 0 };
	pthread_t tid;
	struct slot *sl;
	int i;

	ring_init(&g);
	ck_assert_int_eq(ring_alloc(&g, 64), 0);
	ck_assert_int_eq(pthread_create(&tid, NULL, produce, &pr), 0);
	for (i = 0; i < 100 && pr.put < RING_SLOTS; i++)
		sleep_until(clock_mono() + 0.01);
	sleep_until(clock_mono() + 0.05);
	ck_assert_int_eq(pr.put, RING_SLOTS);
	/* The op stops: the reader waiting for a slot returns. */
	pthread_mutex_lock(&g.lock);
	pr.abort = 1;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.lock);
	pthread_join(tid, NULL);
	ck_assert_int_eq(pr.put, RING_SLOTS);
	for (i = 0; (sl = ring_take(&g)) != NULL; i++) {
		ck_assert_uint_eq(sl->offset, (uint64_t)i);
		ring_release(&g);
	}
	ck_assert_int_eq(i, RING_SLOTS);
	ring_free(&g);
}
END_TEST

/*
 * A relay's reader asks its source's length a sixteenth of a block after
 * the last ask, from 0.02 s to RELAY_POLL_MOST, however long it has
 * waited, and no sooner than the last ask took: at a quarter of a block,
 * and backing off where the source held nothing, hosts deep in a slow
 * chain waited 0.1-0.2 s a hop for their first byte.
 */
START_TEST(relay_asks_often_enough)
{
	/* 1 MiB at 1.18 MB/s: 0.89 s a block. */
	ck_assert_double_eq_tol(relay_ask_after(0.89, 0), 0.055625, 1e-9);
	/* A fast op asks often, a slow one no less than RELAY_POLL_MOST. */
	ck_assert_double_eq_tol(relay_ask_after(0.001, 0), 0.02, 1e-9);
	ck_assert_double_eq_tol(relay_ask_after(20, 0), RELAY_POLL_MOST, 1e-9);
	ck_assert_double_le(RELAY_POLL_MOST, 0.25);
	/* Never sooner than the last ask took: 0.24 s on an 80 ms path
	 * holds the session no more than half the time. */
	ck_assert_double_eq_tol(relay_ask_after(0.89, 0.24), 0.24, 1e-9);
	ck_assert_double_eq_tol(relay_ask_after(20, 0.6), 0.6, 1e-9);
}
END_TEST

Suite *
suite_run(void)
{
	Suite *s = suite_create("run");
	TCase *tc = tcase_create("pace");
	TCase *tr = tcase_create("ring");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, pace_holds_rate);
	tcase_add_test(tc, pace_no_burst);
	tcase_add_test(tc, pace_deadline);
	tcase_add_test(tc, pace_credit_given_back);
	tcase_add_test(tc, pace_shed_entries);
	tcase_add_test(tc, pace_shed_running);
	tcase_add_test(tc, pace_capped);
	tcase_add_test(tc, pace_shed_on_credit);
	tcase_add_test(tc, pace_shed_while_running);
	tcase_add_test(tc, poll_after_due);
	tcase_add_test(tc, sync_until_due);
	tcase_add_test(tc, report_took_head);
	tcase_add_test(tc, relay_asks_often_enough);
	tcase_add_test(tc, pace_credit_over_small_slots);
	tcase_add_test(tc, chunk_covers_round_trip);
	tcase_add_test(tc, read_size_within_the_end);
	tcase_add_test(tc, pace_credit_spent_once);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tr, 30);
	tcase_add_test(tr, ring_in_order);
	tcase_add_test(tr, ring_bounded_and_stopped);
	suite_add_tcase(s, tr);
	return s;
}
