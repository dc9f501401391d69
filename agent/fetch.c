/*
 * fetch.c: one stream of an op.  A stream takes runs of consecutive
 * blocks of its op and reads each over one SFTP handle of its own
 * session, while a second thread hashes what arrived, writes it to the
 * store and, at each block's end, compares the block's SHA-256 with the
 * plan's before the block counts.  The two hand chunks over through a
 * small ring (ring.c), so reading never waits for hashing or the disk.
 *
 * What goes on the wire is what libssh2 asks the server for, not what a
 * read returns: a read of n bytes asks for up to four times n beyond what
 * has been read (none when that much is asked already), in requests of
 * at most 30,000 bytes, the last of which may overshoot by less than n
 * (libssh2 1.10, sftp_read()).  So the stream counts what has been
 * asked, takes every increase of it from the op's pace before the read
 * that causes it, lets it grow by at most one chunk per read (no burst
 * when an op starts; a chunk covers 0.4 of a round trip to the source,
 * stream_chunk()), and bounds every read so that libssh2 never asks past
 * the end of the run, nor past what a relay has made durable (no bytes
 * asked for that nobody wants or nobody verified, and no requests left
 * in flight when the stream seeks or the op ends): read_size().  Past
 * the file's end it may, where the source holds the whole file: the
 * server sends nothing there.
 */
#include <inttypes.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "run.h"

struct stream {
	struct runner	*r;
	struct job	*j;
	struct ring	 ring;		/* from the reader to the hasher */
	size_t		 chunk;		/* bytes per read: stream_chunk() */
};

/* Corruption and local trouble first, running out of time last. */
static int
severity(enum failure_class c, int local)
{
	return c == FAIL_CHECKSUM || local ? 2 : c == FAIL_DEADLINE ? 0 : 1;
}

/*
 * Records a failure of the op at byte at (UINT64_MAX: at no byte in
 * particular) and whose it is (FAULT_PEER: the source and, for network
 * trouble, its route; FAULT_LOCAL: this host; FAULT_NONE: nobody's).  The
 * gravest, then the earliest in the file, is the one reported.  No stream
 * takes a new run after it; a corrupt source or a broken store stops the
 * runs in progress too, while a short or unreachable one leaves the
 * others to finish theirs (what comes before the failure is still worth
 * having).
 */
void
job_fail(struct job *j, enum failure_class c, int route, int who,
    uint64_t at, const char *fmt, ...)
{
	int local = who == FAULT_LOCAL;
	va_list ap;

	pthread_mutex_lock(&j->lock);
	/* Of several streams' failures, the gravest, then the earliest. */
	if (!j->failed || severity(c, local) > severity(j->err.class,
	    j->local) || (severity(c, local) == severity(j->err.class,
	    j->local) && at < j->fail_at)) {
		j->fail_at = at;
		j->blameless = who == FAULT_NONE;
		j->failed = 1;
		j->err.class = c;
		j->blame_route = route;
		j->local = local;
		va_start(ap, fmt);
		vsnprintf(j->err.detail, sizeof(j->err.detail), fmt, ap);
		va_end(ap);
		text_sanitize(j->err.detail);
	}
	j->stop = 1;
	if (c == FAIL_CHECKSUM || local)
		j->abort = 1;
	pthread_mutex_unlock(&j->lock);
}

static int
network_class(enum failure_class c)
{
	return c == FAIL_CONNECT || c == FAIL_TIMEOUT || c == FAIL_IO;
}

/* The longest a session the last run left is waited for to answer
 * before a new one is made (source_session()): a few of a WAN's round
 * trips. */
#define POOL_CHECK_WAIT 2.0

/* A source's first session asked for this soon after the run began is
 * one its ops wait for before they move anything (struct source
 * connect). */
#define RUN_OPENING 0.1

/*
 * Session k of a source: the first stream to need it connects.  A
 * refused or timed-out connection (a peer's sshd turning connections away
 * at MaxStartups, as a fleet starting within a splay may make it) is
 * tried again after 0.25 s, doubling to 4 s with up to half as much again
 * at random, for the configured timeout but not past until (the op's
 * deadline); a relay tree would otherwise lose a whole branch to one
 * refusal.  Once a connection to the source has failed for good, no
 * other is tried this run.  Session 0 may be one the last run left
 * (struct session_pool), taken once it answers.
 */
static struct ssh *
source_session(struct runner *r, struct source *s, unsigned k,
    double until, struct ssh_error *e)
{
	struct ssh *ssh;
	double backoff = 0.25, now = clock_mono(), began, deadline = until;
	unsigned seed = (unsigned)((uint64_t)(now * 1e6) & 0xffffffffu) ^ k;

	pthread_mutex_lock(&s->lock);
	began = clock_mono();
	/* A session the last run left: one round trip says it still
	 * answers, where a new one takes several; else a new one.  One
	 * that a firewall dropped while it was idle is not waited for
	 * longer than POOL_CHECK_WAIT. */
	if (k == 0 && s->pooled && !s->tried[0]) {
		int alive;

		s->pooled = 0;
		ssh_lock(s->ssh[0]);
		alive = ssh_answers(s->ssh[0], s->src->root,
		    fmin(POOL_CHECK_WAIT, fmax(0.25, deadline - began)));
		ssh_unlock(s->ssh[0]);
		if (alive) {
			s->tried[0] = 1;
			if (began - r->started < RUN_OPENING)
				s->connect = fmax(1e-6, clock_mono() - began);
		} else {
			ssh_abandon(s->ssh[0]);
			s->ssh[0] = NULL;
		}
	}
	until = fmin(deadline, clock_mono() + r->config->timeout);
	while (!s->tried[k] && !s->broken) {
		if (ssh_connect(r->config, s->src->address, s->src->port,
		    s->src->user, &s->ssh[k], &s->err[k]) == 0) {
			s->tried[k] = 1;
			/* The source's first session, asked for as the run
			 * began: how long it took to reach, refusals waited
			 * out, not other sessions' turns at the lock.  Not
			 * one a stream waiting for a worker opens later, nor
			 * a second session where the first is the master's,
			 * already moving bytes. */
			if (!(s->connect > 0) && !s->borrowed && began -
			    r->started < RUN_OPENING)
				s->connect = fmax(1e-6, clock_mono() - began);
			break;
		}
		s->ssh[k] = NULL;
		if ((s->err[k].class != FAIL_CONNECT && s->err[k].class !=
		    FAIL_TIMEOUT) || clock_mono() + backoff > until) {
			s->tried[k] = 1;
			s->broken = 1;
			s->why = s->err[k];
			break;
		}
		sleep_until(clock_mono() + backoff * (1 + 0.5 *
		    (double)rand_r(&seed) / RAND_MAX));
		if (backoff < 4)
			backoff *= 2;
	}
	if ((ssh = s->ssh[k]) == NULL)
		*e = s->broken ? s->why : s->err[k];
	pthread_mutex_unlock(&s->lock);
	return ssh;
}

/* The hasher: hashes, stores and verifies what the reader hands over. */
static void *
hasher(void *arg)
{
	struct stream *st = arg;
	struct job *j = st->j;
	const struct op *o = j->op;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int n;
	int broken = md == NULL;

	if (broken)
		job_fail(j, FAIL_IO, 0, FAULT_LOCAL, UINT64_MAX, "cannot "
		    "hash: out of memory");
	for (;;) {
		struct slot *sl;

		if ((sl = ring_take(&st->ring)) == NULL)
			break;
		if (!broken && j->abort)
			broken = 1;
		if (!broken && sl->first && EVP_DigestInit_ex(md, EVP_sha256(),
		    NULL) != 1)
			broken = 1;
		if (!broken && EVP_DigestUpdate(md, sl->buf, sl->len) != 1)
			broken = 1;
		if (!broken && version_write(st->r->store, j->version,
		    sl->offset, sl->buf, sl->len, 1) != 0) {
			int full = store_full(errno);

			/* A full disk is this host's own: nospace, which
			 * the planner answers with the free space the
			 * state reports, never blaming a peer. */
			job_fail(j, full ? FAIL_NOSPACE : FAIL_IO, 0,
			    FAULT_LOCAL, sl->offset, "local store: cannot "
			    "write block %" PRIu64 "%s",
			    sl->offset / o->block_size, full ?
			    ": no space left on the device" : "");
			broken = 1;
			/* The failed write made the verified prefix durable:
			 * the committer tells the paces that watch it. */
			commit_dirty(&st->r->commit);
		}
		if (!broken && sl->last) {
			uint64_t boff = o->offset + sl->block * o->block_size;
			uint64_t blen = sl->offset + sl->len - boff;

			if (EVP_DigestFinal_ex(md, digest, &n) != 1 || n != 32 ||
			    memcmp(digest, o->blocks[sl->block], 32) != 0) {
				job_fail(j, FAIL_CHECKSUM, 0, FAULT_PEER, boff,
				    "block %" PRIu64 ": sha256 mismatch", boff /
				    o->block_size);
				broken = 1;
			} else {
				if (version_verified(j->version, boff, blen,
				    sl->generation))
					commit_dirty(&st->r->commit);
				j->done += blen;
				pthread_mutex_lock(&j->lock);
				j->last = clock_mono();
				pthread_mutex_unlock(&j->lock);
			}
		}
		ring_release(&st->ring);
	}
	EVP_MD_CTX_free(md);
	return NULL;
}

/*
 * The most a relay makes up of the time it waited for its source: its
 * source's durable length moves a group commit at a time, and at the same
 * rate as its source a relay catches up at every commit; its pace gives
 * back the wait, up to this, so that the relay ends as its source does
 * instead of a wait later each time.
 */
#define RELAY_CATCH_UP 0.1

/*
 * How long after its last ask a relay's reader asks its source's durable
 * length again, for an op whose block takes block seconds at its rate,
 * the last ask having taken took seconds: a sixteenth of a block, from
 * 0.02 s to RELAY_POLL_MOST, whether the source holds anything yet or
 * not; never sooner than the last ask took (an ask holds the session the
 * source's other ops read over, three round trips on a WAN).  A hop's
 * first byte waits half of it on average beyond the source's commit, and
 * a reader that then waited makes up to RELAY_CATCH_UP of its wait
 * (pace_credit()).  At a quarter of a block, and backing off to
 * RELAY_POLL_MOST where the source held nothing, a chain of 8 at 10 Mbit
 * (1 MiB blocks) took 0.11-0.16 s a hop beyond its block and 16 hosts at
 * 40 Mbit 0.11 s; at this, 0.02 s and none (bench/relay-hops.sh).  A
 * waiting stream asks at most 50 times a second, as it did where its
 * source held something.
 */
double
relay_ask_after(double block, double took)
{
	return fmax(took, fmin(RELAY_POLL_MOST, fmax(0.02, block / 16)));
}

/*
 * A read of n bytes at pos has libssh2 ask the server for what it has not
 * yet asked of up to four times n from pos, in requests of at most 30000
 * bytes, the last of which it makes at least n long (1.10 and 1.11
 * alike): what it asks ends before pos + READ_AHEAD * n.
 */
#define READ_AHEAD 5

/* What a wait returns when the op has been switched to its fallback:
 * the stream starts again from there. */
#define SWITCHED 1

/* Where a stream is in its file, and on which source. */
struct cursor {
	const struct plan_source *src;	/* the op's source or its fallback */
	int		 on_fallback;	/* ... the fallback */
	unsigned	 k;		/* the stream's number: its sessions */
	struct ssh	*ssh;
	struct ssh_file	*file;
	uint64_t	 pos;		/* the next byte a read returns */
	uint64_t	 asked;		/* about what libssh2 has asked
					 * (read_size()): what the pace is
					 * charged */
	int		 past;		/* ... some of it past what the
					 * source had made durable */
	int		 begun;
	char		*path;		/* the source's data */
	char		*len_path;	/* ... and its durable length */
	char		*hint_path;	/* ... and that length's hint */
	double		 record_at;	/* when the record itself was last
					 * asked, not its hint */
	uint64_t	 source_has;	/* ... as last read: nothing beyond
					 * it is ever asked for */
	double		 progress_at;	/* when it last grew */
	double		 read_at;	/* when it was last read */
	double		 trip;		/* the least round trip to the source
					 * seen, in seconds; 0: none yet */
	double		 took;		/* what the last ask of the length
					 * took, in seconds */
	int		 asking;	/* an ask over the ask channel is
					 * under way ... */
	double		 ask_at;	/* ... or was last begun, then */
	const char	*ask_hint;	/* ... asked first: hint_or_record() */
	double		 ask_mine;	/* ... on the channel since then;
					 * 0: queued behind another's */
	int		 no_ask;	/* the session has no ask channel */
};

/* How often a stream waiting on its ask looks whether the answer has
 * come: an eighth of its round trip, from 2 ms to 10 ms. */
static double
ask_tick(const struct cursor *c)
{
	return fmin(0.01, fmax(0.002, c->trip / 8));
}

/* Where the op reads from now: its source, or its fallback once it has
 * been switched to it. */
const struct plan_source *
job_source(const struct job *j)
{
	return j->switched ? &j->op->fallback->source : &j->op->source;
}

/* The op has been switched to its fallback, and the cursor is still on
 * the source it left. */
static int
switched_away(const struct job *j, const struct cursor *c)
{
	return j->switched && !c->on_fallback;
}

/* The op may yet be switched to its fallback: it has one, nothing has
 * decided, and the cursor reads from the op's own source. */
static int
fallback_pending(struct job *j, const struct cursor *c)
{
	int pending;

	if (j->op->fallback == NULL || c->on_fallback)
		return 0;
	pthread_mutex_lock(&j->lock);
	pending = !j->decided;
	pthread_mutex_unlock(&j->lock);
	return pending;
}

/* When a stream waiting on its source until `until` wakes: no later than
 * the fallback's time while the op may switch, so that the length read
 * then decides. */
static double
wake_at(struct job *j, const struct cursor *c, double until)
{
	return fallback_pending(j, c) && clock_mono() < j->fallback_at ?
	    fmin(until, j->fallback_at) : until;
}

/*
 * 1 when the op's fallback host holds more of the file than the op's
 * offset, read over this stream's session to it; 0 when it does not, or
 * cannot be asked (a fallback that has nothing is no way out).
 */
static int
fallback_has(struct stream *st, const struct cursor *c)
{
	struct job *j = st->j;
	const struct op *o = j->op;
	struct ssh_error e;
	struct ssh *ssh;
	char *path, *buf = NULL;
	size_t len;
	uint64_t n = 0;
	int rc;

	if ((ssh = source_session(st->r, j->fallback, c->k, j->pace.deadline,
	    &e)) == NULL)
		return 0;
	path = store_len_path(o->fallback->source.root, o->file, o->version);
	ssh_lock(ssh);
	rc = ssh_get(ssh, path, &buf, &len, 4096, &e);
	ssh_unlock(ssh);
	if (rc != 0 || store_parse_len(buf, &n) != 0)
		n = 0;
	free(buf);
	free(path);
	return n > o->offset;
}

/*
 * Whether the op's relay source is running a plan of this epoch or a
 * later one (its ROOT/.sluice/began, store_mark_began()), read over the
 * cursor's session to it: 1 when it is, or says something else than a
 * began (a peer that may be running is not left), 0 when it is not (no
 * such file, an earlier epoch, or that plan's ops have stopped), -1 when
 * the read failed (nothing is known).
 */
static int
source_running(struct stream *st, const struct cursor *c)
{
	struct ssh_error e;
	char *path = store_began_path(c->src->root), *buf = NULL;
	size_t len;
	uint64_t epoch = 0;
	int rc, ended = 0;

	ssh_lock(c->ssh);
	rc = ssh_get(c->ssh, path, &buf, &len, 4096, &e);
	ssh_unlock(c->ssh);
	free(path);
	if (rc == 1)
		return 0;
	if (rc != 0)
		return -1;
	rc = store_parse_began(buf, &epoch, &ended) != 0 ||
	    (epoch >= st->r->plan->epoch && !ended);
	free(buf);
	return rc;
}

/*
 * Decides whether the op is taken from its fallback, given the length n
 * of its source as read from the time when on.  From the fallback's time
 * on, a length that passes the op's offset, or a byte of the op read,
 * keeps the op on its source for good, as a failure (its source's) does;
 * one that does not switches it to its fallback, once the source is
 * running no plan of this epoch or a later one (one that is, is on its
 * way: its own source is late, and leaving it would only add this host
 * to the wait and take the fallback's share from the hosts below it)
 * and the fallback host has more than the offset (each asked after n was
 * read); until then nothing is decided.  Returns SWITCHED when the op is
 * taken from the fallback and the cursor is not on it, else 0.
 */
static int
fallback_consider(struct stream *st, struct cursor *c, double when,
    uint64_t n)
{
	struct job *j = st->j;
	const struct op *o = j->op;
	int decided = 0, open;
	char rate[32], what[300];

	if (o->fallback == NULL || c->on_fallback)
		return 0;
	pthread_mutex_lock(&j->lock);
	open = !j->decided && !j->failed && when >= j->fallback_at &&
	    j->first == 0 && n <= o->offset;
	pthread_mutex_unlock(&j->lock);
	if (open && (source_running(st, c) != 0 || !fallback_has(st, c)))
		return 0;
	pthread_mutex_lock(&j->lock);
	if (!j->decided && !j->failed && when >= j->fallback_at) {
		j->decided = decided = 1;
		if (j->first == 0 && n <= o->offset) {
			j->switch_seen = n;
			j->switch_when = when;
			pace_cap(&j->pace, o->fallback->rate);
			j->switched = 1;
		}
	}
	pthread_mutex_unlock(&j->lock);
	if (decided && st->r->verbose) {
		unit_format_bandwidth(rate, sizeof(rate), o->fallback->rate);
		if (j->switched)
			snprintf(what, sizeof(what), "%s at %s/s",
			    o->fallback->source.host, rate);
		else
			snprintf(what, sizeof(what), "there, not from %s",
			    o->fallback->source.host);
		printf("op %s: relay source %s has %" PRIu64 " at +%.1fs; "
		    "taking it from %s\n", o->id, o->source.host, n, when -
		    st->r->issued, what);
		fflush(stdout);
	}
	return switched_away(j, c) ? SWITCHED : 0;
}

/*
 * Takes what an ask of the source's durable length begun at when found:
 * rc and buf as ssh_get() gives them (buf is freed), e when rc is -1.
 * Returns 0, -1 (failed) or SWITCHED (the op left this source: a failure
 * here no longer matters).
 */
static int
source_length_found(struct stream *st, struct cursor *c, double when,
    int rc, char *buf, const struct ssh_error *e)
{
	struct job *j = st->j;
	uint64_t n;

	if (rc == 1)
		n = 0;			/* it holds nothing yet */
	else if (rc != 0 || store_parse_len(buf, &n) != 0) {
		free(buf);
		if (switched_away(j, c))
			return SWITCHED;
		if (rc != 0)
			job_fail(j, e->class, network_class(e->class),
			    FAULT_PEER, c->pos, "%s", e->detail);
		else
			job_fail(j, FAIL_IO, 0, FAULT_PEER, c->pos, "%s: not a "
			    "length", c->len_path);
		return -1;
	}
	free(buf);
	/* When the length was last learnt: a blocking ask counts the next
	 * from here, so that where one takes a WAN's round trips they do
	 * not follow each other back to back on a session other streams
	 * share. */
	c->read_at = clock_mono();
	if (n > c->source_has) {
		c->source_has = n;
		c->progress_at = clock_mono();
	}
	return fallback_consider(st, c, when, n);
}

/*
 * Where a source's length is asked: its hint (store.c's write_hint(), a
 * symbolic link read in one round trip), unless the hint has not moved
 * for HINT_TRUST seconds and the record was not asked in that time:
 * then the record, so that a hint left behind (by a source whose agent
 * could neither write nor remove it, or an older agent that knows of
 * none) slows a reader, never stops it.  NULL: the record.
 */
#define HINT_TRUST 1.0

static const char *
hint_or_record(struct cursor *c)
{
	double now = clock_mono();

	if (now - c->progress_at < HINT_TRUST ||
	    now - c->record_at < HINT_TRUST)
		return c->hint_path;
	c->record_at = now;
	return NULL;
}

/*
 * Reads the source's durable verified length, waiting for it over the
 * session the stream reads on: its hint, or where there is none (or
 * hint_or_record() says so) its record.  Returns as
 * source_length_found().
 */
static int
read_source_length(struct stream *st, struct cursor *c)
{
	struct ssh_error e;
	double when = clock_mono(), t0, trip;
	const char *hint = hint_or_record(c);
	char *buf = NULL, target[64];
	size_t len;
	int rc = 1, trips = 1;

	ssh_lock(c->ssh);
	t0 = clock_mono();
	if (hint != NULL && (rc = ssh_read_hint(c->ssh, hint, target,
	    sizeof(target), &e)) == 0)
		buf = xstrdup(target);
	else if (rc == 1) {
		rc = ssh_get(c->ssh, c->len_path, &buf, &len, 4096, &e);
		/* An open, a read and a close: three round trips; an open
		 * refused (nothing held yet): one; a hint before: one
		 * more. */
		trips = (rc == 0 ? 3 : 1) + (hint != NULL);
	}
	c->took = clock_mono() - t0;
	ssh_unlock(c->ssh);
	trip = rc >= 0 ? c->took / trips : 0;
	if (trip > 0 && (c->trip == 0 || trip < c->trip))
		c->trip = trip;
	return source_length_found(st, c, when, rc, buf, &e);
}

/*
 * Asks the source's durable verified length over the session's ask
 * channel (ssh_ask()), as far as that goes without waiting: the stream's
 * reads on the session go on meanwhile.  A new ask begins once every
 * seconds have passed since the last one began, and none of the
 * stream's is under way.  An ask unanswered for the configured timeout
 * once the channel is its fails the op, blaming the source, as a read of
 * it that timed out would; one queued that long behind other streams'
 * asks is made over the stream's session instead, waiting for it.
 * Returns as source_length_found(), 0 while the ask is under way or not
 * yet due; c->no_ask is set where the session has no ask channel.
 */
static int
ask_source_length(struct stream *st, struct cursor *c, double every)
{
	struct ssh_error e;
	char *buf = NULL;
	size_t len;
	int rc;

	if (!c->asking) {
		if (clock_mono() < c->ask_at + every)
			return 0;
		c->asking = 1;
		c->ask_at = clock_mono();
		c->ask_mine = 0;
		c->ask_hint = hint_or_record(c);
	}
	ssh_lock(c->ssh);
	rc = ssh_ask(c->ssh, c, c->ask_hint, c->len_path, &buf, &len, &e);
	ssh_unlock(c->ssh);
	if (rc == SSH_ASK_QUEUED) {
		if (clock_mono() - c->ask_at < st->r->config->timeout)
			return 0;
		c->asking = 0;
		return read_source_length(st, c);
	}
	if (rc == SSH_ASKING) {
		if (!(c->ask_mine > 0))
			c->ask_mine = clock_mono();
		if (clock_mono() - c->ask_mine < st->r->config->timeout)
			return 0;
		if (switched_away(st->j, c))
			return SWITCHED;
		job_fail(st->j, FAIL_TIMEOUT, 1, FAULT_PEER, c->pos, "relay "
		    "source %s: %s: no answer for %.0fs", c->src->host,
		    c->ask_hint != NULL ? c->ask_hint : c->len_path,
		    clock_mono() - c->ask_mine);
		return -1;
	}
	c->asking = 0;
	if (rc == SSH_ASK_NONE) {
		c->no_ask = 1;
		return 0;
	}
	return source_length_found(st, c, c->ask_at, rc, buf, &e);
}

/*
 * Waits, for at most the configured timeout, until the source's data
 * file exists or its durable length moves past pos; while the op may
 * switch to its fallback, until the fallback's time decides.  Returns 0,
 * -1 when the op failed (missing, blaming the source) or stopped, or
 * SWITCHED.
 */
static int
await_data(struct stream *st, struct cursor *c)
{
	struct job *j = st->j;
	struct ssh_error e;
	double started = clock_mono(), interval = 0.05;
	int there, rc;

	for (;;) {
		if (j->abort)
			return -1;
		if (switched_away(j, c))
			return SWITCHED;
		ssh_lock(c->ssh);
		there = ssh_exists(c->ssh, c->path, &e);
		ssh_unlock(c->ssh);
		if (there < 0) {
			if (switched_away(j, c))
				return SWITCHED;
			job_fail(j, e.class, network_class(e.class),
			    FAULT_PEER, c->pos, "%s", e.detail);
			return -1;
		}
		if (there || c->source_has > c->pos)
			return 0;
		if ((clock_mono() - started >= st->r->config->timeout &&
		    !fallback_pending(j, c)) ||
		    clock_mono() >= j->pace.deadline) {
			job_fail(j, FAIL_MISSING, 0, FAULT_PEER, c->pos,
			    "%s: no such file after %.0fs", c->path,
			    clock_mono() - started);
			return -1;
		}
		sleep_until(wake_at(j, c, fmin(clock_mono() + interval,
		    j->pace.deadline)));
		if (interval < 1)
			interval *= 2;
		if ((rc = read_source_length(st, c)) != 0)
			return rc;
	}
}

/*
 * What a relay's source must hold before a read at the cursor: the read
 * ahead's worth (READ_AHEAD chunks) or the rest of the run to.  Reading
 * right behind the source's length would ask for a few bytes at a time,
 * a round trip each.
 */
static uint64_t
relay_want(const struct cursor *c, size_t chunk, uint64_t to)
{
	uint64_t want = c->pos + READ_AHEAD * (uint64_t)chunk;

	return want < to ? want : to;
}

/*
 * Waits, polling the source's durable length, until it covers until (more
 * than pos): a relay serves only what it has verified.  Fails at the plan's
 * expiry, or when the source's length, once it holds anything, has not
 * grown for the configured timeout (not while the op may yet switch to
 * its fallback): waiting on a relay is nobody's fault here (the relay
 * reports its own trouble), so either failure blames no component.
 * Returns 0 when there is more to read, -1 when the op failed or
 * stopped, SWITCHED when it was switched to its fallback.
 */
static int
wait_source(struct stream *st, struct cursor *c, uint64_t until)
{
	struct job *j = st->j;
	const struct op *o = j->op;
	double block = (double)o->block_size / o->rate;
	double started;
	int rc;

	started = clock_mono();
	while (c->source_has < until) {
		double now = clock_mono(), next;

		if (j->abort)
			return -1;
		if (switched_away(j, c))
			return SWITCHED;
		if (now >= j->pace.deadline) {
			job_fail(j, FAIL_DEADLINE, 0, FAULT_NONE, c->pos, "plan "
			    "expired "
			    "at %" PRIu64 " waiting for relay source %s, which "
			    "has %" PRIu64, c->pos, c->src->host,
			    c->source_has);
			return -1;
		}
		/* A relay that has not begun may itself be waiting on its
		 * own source: only the plan's expiry ends that wait.  No
		 * progress is judged by what was read, not by the clock: a
		 * reader that began far behind its relay read for a while
		 * without asking, and the relay grew meanwhile. */
		if (c->source_has > 0 && !fallback_pending(j, c) &&
		    c->read_at - c->progress_at >= st->r->config->timeout) {
			job_fail(j, FAIL_TIMEOUT, 0, FAULT_NONE, c->pos, "relay "
			    "source "
			    "%s made no progress for %.0fs at byte %" PRIu64,
			    c->src->host, now - c->progress_at, c->source_has);
			return -1;
		}
		if (!c->no_ask) {
			/* Over the ask channel: moved on every tick while
			 * under way, a new one at once when due. */
			if ((rc = ask_source_length(st, c, relay_ask_after(
			    block, 0))) != 0)
				return rc;
			if (c->source_has >= until)
				break;
			next = c->asking ? clock_mono() + ask_tick(c) :
			    c->ask_at + relay_ask_after(block, 0);
			sleep_until(wake_at(j, c, fmin(next,
			    j->pace.deadline)));
			continue;
		}
		/* At once when it was last read long ago. */
		next = c->read_at + relay_ask_after(block, c->took);
		if (next > now)
			sleep_until(wake_at(j, c, fmin(next,
			    j->pace.deadline)));
		if ((rc = read_source_length(st, c)) != 0)
			return rc;
	}
	pace_credit(&j->pace, fmin(clock_mono() - started, RELAY_CATCH_UP));
	return 0;
}

/*
 * How much one read of want bytes at pos may take, libssh2 having asked
 * the server for less than asked, so that what it asks grows by a chunk
 * at most and never passes end (but for the last few bytes before it: a
 * read of one asks five).  For a relay, end is at most what its source
 * has made durable: a byte asked beyond it would come back unverified,
 * or as the file's end.  *grow is what the read may add to what is
 * asked.  Near end a read may take no more than a fifth of what is left,
 * and libssh2 asks for four of them: the rest a round trip later, a
 * fifth of it again, and so on (libssh2 gives no way to ask for the last
 * bytes alone): a run's last block took three times the others' through
 * an 80 ms round trip.  So there is no end at all where the file ends
 * there and the source holds it whole (ask_end()).
 */
size_t
read_size(uint64_t pos, uint64_t asked, size_t want, size_t chunk,
    uint64_t end, uint64_t *grow)
{
	uint64_t out = asked > pos ? asked - pos : 0;
	uint64_t n = want, cap;

	if (asked >= end)	/* everything is asked: ask no more */
		cap = out / (READ_AHEAD - 1);
	else
		cap = (out + chunk) / READ_AHEAD;
	/* Whatever libssh2 has asked (what asked counts, or less), it
	 * asks no further than pos + READ_AHEAD * n. */
	if (end > pos && (end - pos) / READ_AHEAD < cap)
		cap = (end - pos) / READ_AHEAD;
	*grow = 0;
	if (cap < 1) {
		/* The last few bytes: counted as asked past end. */
		cap = 1;
		if (pos + READ_AHEAD > asked)
			*grow = pos + READ_AHEAD - asked;
	}
	if (n > cap)
		n = cap;
	/* What libssh2 asks when what it has asked is short of four
	 * times n: counted where the count says so. */
	if ((READ_AHEAD - 1) * n > out && pos + READ_AHEAD * n > asked)
		*grow = pos + READ_AHEAD * n - asked;
	return (size_t)n;
}

/*
 * How far libssh2 may ask the source in a run that ends at to, of a file
 * size bytes long (0: unknown): no further than what the source has made
 * durable; but past the file's end where the source holds it whole and
 * the run ends there (the server says the file ends, and nothing is
 * sent).
 */
static uint64_t
ask_end(const struct cursor *c, uint64_t to, uint64_t size)
{
	if (size > 0 && to >= size && c->source_has >= size)
		return UINT64_MAX;
	return to < c->source_has ? to : c->source_has;
}

/*
 * A stream's first read of the op: from now on the op is read from where
 * it is and never switches.  Returns 0, or SWITCHED when it was switched
 * and the cursor is still on the source it left (nothing is read from
 * it).
 */
static int
job_reads(struct job *j, const struct cursor *c)
{
	int rc = 0;

	pthread_mutex_lock(&j->lock);
	if (switched_away(j, c))
		rc = SWITCHED;
	else {
		j->decided = 1;
		if (j->first == 0)
			j->first = clock_mono();
	}
	pthread_mutex_unlock(&j->lock);
	return rc;
}

/*
 * Reads [from, to) of the file into chunks for the hasher, block by block.
 * Returns 0, -1 when the op failed or stopped, or SWITCHED (before any
 * byte of it was read).
 */
static int
read_run(struct stream *st, struct cursor *c, uint64_t first,
    uint64_t last)
{
	struct job *j = st->j;
	const struct op *o = j->op;
	uint64_t bs = o->block_size, end = o->offset + o->length;
	uint64_t to = o->offset + last * bs < end ? o->offset + last * bs : end;
	uint64_t k, size = version_size(j->version);
	double block = (double)bs / o->rate;
	struct ssh_error e;
	int rc;

	/* A new place, or one where libssh2 may hold bytes asked past what
	 * the source had made durable: what it asked is dropped. */
	if (c->pos != o->offset + first * bs || c->past) {
		c->past = 0;
		c->pos = c->asked = o->offset + first * bs;
		ssh_lock(c->ssh);
		ssh_seek(c->file, c->pos);
		ssh_unlock(c->ssh);
	}
	for (k = first; k < last; k++) {
		uint64_t boff = o->offset + k * bs;
		uint64_t bend = boff + bs < end ? boff + bs : end;
		unsigned gen = version_generation(j->version);

		while (c->pos < bend) {
			struct slot *sl = ring_get(&st->ring, &st->j->abort);
			size_t want, filled = 0;

			if (sl == NULL)
				return -1;
			want = bend - c->pos < st->chunk ?
			    (size_t)(bend - c->pos) : st->chunk;
			sl->offset = c->pos;
			sl->block = k;
			sl->first = c->pos == boff;
			sl->generation = gen;
			while (filled < want) {
				uint64_t grow, charge, top, need =
				    relay_want(c, j->chunk, to);
				size_t n;
				long got;

				if (c->source_has < need &&
				    (rc = wait_source(st, c, need)) != 0)
					return rc;
				/* While the source still grows, its length
				 * is asked beside the reads (and an ask
				 * under way is seen to its end: the session's
				 * other streams ask after it). */
				if ((c->asking || c->source_has < to) &&
				    !c->no_ask &&
				    (rc = ask_source_length(st, c,
				    relay_ask_after(block, 0))) != 0)
					return rc;
				top = ask_end(c, to, size);
				n = read_size(c->pos, c->asked, want - filled,
				    st->chunk, top, &grow);
				/* The last few bytes before what the source
				 * holds: libssh2 asks past it. */
				if (top != UINT64_MAX && c->pos + READ_AHEAD *
				    n > c->source_has)
					c->past = 1;
				/* What is asked past the file's end is not
				 * sent: the server says it ends. */
				charge = grow;
				if (top == UINT64_MAX && c->asked + grow > size)
					charge = c->asked < size ? size -
					    c->asked : 0;

				if (pace_take(&j->pace, (size_t)charge) != 0 ||
				    clock_mono() >= j->pace.deadline) {
					job_fail(j, FAIL_DEADLINE, 0,
					    FAULT_NONE, c->pos, "plan expired "
					    "at %" PRIu64 " of [%" PRIu64 ",%"
					    PRIu64 ")", c->pos, o->offset, end);
					return -1;
				}
				if (j->abort)
					return -1;
				if (!c->begun) {
					if (job_reads(j, c) != 0)
						return SWITCHED;
					c->begun = 1;
				}
				c->asked += grow;
				ssh_lock(c->ssh);
				got = ssh_read(c->ssh, c->file, sl->buf + filled, n,
				    &e);
				ssh_unlock(c->ssh);
				if (got < 0) {
					job_fail(j, e.class,
					    network_class(e.class), FAULT_PEER,
					    c->pos, "%s at byte %" PRIu64,
					    e.detail, c->pos);
					return -1;
				}
				if (got == 0) {
					job_fail(j, FAIL_MISSING, 0,
					    FAULT_PEER, c->pos, "source ended "
					    "at byte %" PRIu64 ", before %"
					    PRIu64, c->pos, end);
					return -1;
				}
				filled += (size_t)got;
				c->pos += (uint64_t)got;
				if (c->asked < c->pos)
					c->asked = c->pos;
			}
			sl->len = filled;
			sl->last = c->pos == bend;
			ring_put(&st->ring, sl);
		}
	}
	return 0;
}

/* Claims the op's next run of blocks; 0, or -1 when none is left. */
static int
claim_run(struct job *j, uint64_t *first, uint64_t *last)
{
	int rc = -1;

	pthread_mutex_lock(&j->lock);
	if (!j->stop && j->next < j->op->nblocks) {
		*first = j->next;
		*last = j->next + j->run < j->op->nblocks ? j->next + j->run :
		    j->op->nblocks;
		j->next = *last;
		rc = 0;
	}
	pthread_mutex_unlock(&j->lock);
	return rc;
}

/*
 * Opens the cursor at block first of the op on where the op reads from
 * now (its source, or its fallback once switched), over session k, once
 * that holds something there: a relay whose agent has not begun (it
 * starts later within a splay) has no data file yet, and is given the
 * timeout to appear before its bytes count as missing (a wrong root stays
 * caught); once it is there, it is waited for like any other relay.
 * Returns 0, -1 when the op failed or stopped, or SWITCHED.
 */
static int
cursor_open(struct stream *st, struct cursor *c, unsigned k, uint64_t first)
{
	struct job *j = st->j;
	const struct op *o = j->op;
	struct ssh_error e;
	int rc;

	c->on_fallback = j->switched;
	c->k = k;
	c->src = c->on_fallback ? &o->fallback->source : &o->source;
	if ((c->ssh = source_session(st->r, c->on_fallback ? j->fallback :
	    j->source, k, j->pace.deadline, &e)) == NULL) {
		if (switched_away(j, c))
			return SWITCHED;
		job_fail(j, e.class, network_class(e.class), FAULT_PEER,
		    UINT64_MAX, "%s", e.detail);
		return -1;
	}
	c->path = store_data_path(c->src->root, o->file, o->version);
	c->len_path = store_len_path(c->src->root, o->file, o->version);
	c->hint_path = store_hint_path(c->src->root, o->file, o->version);
	c->pos = c->asked = o->offset + first * o->block_size;
	c->progress_at = clock_mono();
	if ((rc = read_source_length(st, c)) != 0)
		return rc;
	if (c->source_has <= c->pos && (rc = await_data(st, c)) != 0)
		return rc;
	/* A source that holds nothing here yet is asked over the ask
	 * channel from now on: its opening begins at once. */
	if (c->source_has <= c->pos && (rc = ask_source_length(st, c, 0)) !=
	    0)
		return rc;
	/* Opened once it is there, before its first bytes are: their
	 * first read then waits one round trip, not two. */
	ssh_lock(c->ssh);
	c->file = ssh_open_read(c->ssh, c->path, c->pos, &e);
	ssh_unlock(c->ssh);
	if (c->file == NULL) {
		if (switched_away(j, c))
			return SWITCHED;
		job_fail(j, e.class, network_class(e.class), FAULT_PEER,
		    UINT64_MAX, "%s", e.detail);
		return -1;
	}
	return c->source_has <= c->pos ? wait_source(st, c, c->pos + 1) : 0;
}

/* Closes the cursor's file and forgets where it was (the session stays
 * its source's). */
static void
cursor_close(struct cursor *c)
{
	if (c->ssh != NULL) {
		ssh_lock(c->ssh);
		ssh_ask_drop(c->ssh, c);
		ssh_close_file(c->ssh, c->file);
		ssh_unlock(c->ssh);
	}
	free(c->path);
	free(c->len_path);
	free(c->hint_path);
	memset(c, 0, sizeof(*c));
}

/*
 * Reads the run [*first, *last) and every run claimed after it.  Returns
 * 0 when none is left, -1 when the op failed or stopped, or SWITCHED,
 * with *first and *last the run to read again from the fallback.
 */
static int
read_runs(struct stream *st, struct cursor *c, uint64_t *first,
    uint64_t *last)
{
	int rc;

	do {
		if ((rc = read_run(st, c, *first, *last)) != 0)
			return rc;
	} while (claim_run(st->j, first, last) == 0);
	return 0;
}

/*
 * The bytes a stream reads at once from a source trip seconds away (a
 * round trip), for an op of rate bytes/s given chunk (10 ms of its rate,
 * job_shape()): libssh2 keeps about READ_AHEAD reads in flight, so a
 * read must hold CHUNK_TRIPS of a round trip at the rate, or the stream
 * waits on the network instead of its pace.  At 80 ms a round trip, a
 * 40 Mbit op of 16 MiB took 13.2 s where it takes 3.8 s on loopback; at
 * five times the chunk, 5.5 s (tests/lib/delay.py).  rate is a stream's
 * share of its op's.  Never more than CHUNK_MAX, nor CHUNK_TRIPS_MOST
 * times chunk (a round trip measured long, on a session other ops' data
 * crowd, sizes no burst past that); a multiple of STORE_ALIGN.
 */
size_t
stream_chunk(size_t chunk, double rate, double trip)
{
	double want = rate * trip * CHUNK_TRIPS;

	if (want > (double)CHUNK_MAX)
		want = CHUNK_MAX;
	if (want > (double)chunk * CHUNK_TRIPS_MOST)
		want = (double)chunk * CHUNK_TRIPS_MOST;
	if (want > (double)chunk) {
		chunk = (size_t)want;
		chunk -= chunk % STORE_ALIGN;
	}
	return chunk;
}

/*
 * Runs stream number k of job j until its op has no block left to claim
 * or fails; when the op is switched to its fallback, the stream opens its
 * run again there.  Failures are recorded in the job.
 */
void
fetch_stream(struct runner *r, struct job *j, unsigned k)
{
	struct stream st;
	struct cursor c;
	pthread_t tid;
	uint64_t first, last;
	int hashing = 0, rc;

	memset(&st, 0, sizeof(st));
	memset(&c, 0, sizeof(c));
	st.r = r;
	st.j = j;
	ring_init(&st.ring);
	if (claim_run(j, &first, &last) != 0)
		goto out;
	do {
		cursor_close(&c);
		if ((rc = cursor_open(&st, &c, k, first)) != 0)
			continue;
		if (!hashing)
			st.chunk = stream_chunk(j->chunk, j->op->rate /
			    j->streams, c.trip);
		if (!hashing && ring_alloc(&st.ring, st.chunk) != 0) {
			job_fail(j, FAIL_IO, 0, FAULT_LOCAL, UINT64_MAX,
			    "out of memory");
			break;
		}
		if (!hashing && pthread_create(&tid, NULL, hasher, &st) != 0) {
			job_fail(j, FAIL_IO, 0, FAULT_LOCAL, UINT64_MAX,
			    "cannot start a thread");
			break;
		}
		hashing = 1;
		rc = read_runs(&st, &c, &first, &last);
	} while (rc == SWITCHED);
out:
	if (hashing) {
		ring_close(&st.ring);
		pthread_join(tid, NULL);
	}
	cursor_close(&c);
	ring_free(&st.ring);
}
