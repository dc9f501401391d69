/*
 * transfer.c: executing a plan.  The plan is checked whole before any
 * byte moves.  Each op runs as one stream or, when its rate is more than
 * one SSH session carries, several (fetch.c), on up to `parallel`
 * threads; the streams of all ops to one source share its sessions.
 * Every op is held to its rate by its pace; every block is hashed and
 * compared with the plan's checksum before it counts; verified prefixes
 * are made durable by the group commit (commit.c); at the plan's expiry
 * unfinished ops stop.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <stdatomic.h>

#include "run.h"

/* What one stream of one session is given before an op takes another:
 * above it, loopback measured faster with two sessions than one. */
#define STREAM_RATE 100e6


/* Rates a plan may give an op: below the floor an op would hold the sync
 * for ages; above the ceiling (8 Tbit/s) it is a mistake. */
#define RATE_FLOOR	1.0
#define RATE_CEILING	1e12
/* The longest a plan may run, from issue to expiry. */
#define PLAN_LIFE_MAX	(7 * 86400)

/* Orders ops by file, version and offset (for the tiling check). */
static int
cmp_op(const void *a, const void *b)
{
	const struct op *x = *(const struct op *const *)a;
	const struct op *y = *(const struct op *const *)b;
	int c = strcmp(x->file, y->file);

	if (c != 0)
		return c;
	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return (x->offset > y->offset) - (x->offset < y->offset);
}

/* Checks one op on its own; 0, or -1 with the reason in why. */
static int
op_check(const struct plan *p, const struct op *o,
    const struct agent_config *c, char *why, size_t whylen)
{
	uint64_t end = o->offset + o->length, size;
	double life = difftime(p->expires, p->issued);
	size_t j;

	if (o->block_size == 0) {
		snprintf(why, whylen, "op %s: no block_size", o->id);
		return -1;
	}
	if (o->length == 0 || end < o->offset) {
		snprintf(why, whylen, "op %s: range [%" PRIu64 ", +%" PRIu64
		    ") is empty or past 2^64", o->id, o->offset, o->length);
		return -1;
	}
	if (o->nblocks != (o->length + o->block_size - 1) / o->block_size) {
		snprintf(why, whylen, "op %s: %zu checksums for %" PRIu64
		    " bytes", o->id, o->nblocks, o->length);
		return -1;
	}
	for (j = 0; j < p->nfileset; j++)
		if (p->fileset[j].version == o->version &&
		    strcmp(p->fileset[j].name, o->file) == 0)
			break;
	if (j == p->nfileset) {
		snprintf(why, whylen, "op %s: %s@%" PRIu64 " is not in the "
		    "plan's file set", o->id, o->file, o->version);
		return -1;
	}
	size = p->fileset[j].size;
	if (size != 0 && end > size) {
		snprintf(why, whylen, "op %s: range ends at %" PRIu64 ", past "
		    "the file's size %" PRIu64, o->id, end, size);
		return -1;
	}
	/* Whole blocks, but for the file's last. */
	if (o->offset % o->block_size != 0 || (o->length % o->block_size !=
	    0 && (size == 0 || end != size))) {
		snprintf(why, whylen, "op %s: range [%" PRIu64 ", +%" PRIu64
		    ") is not whole blocks of %" PRIu64, o->id, o->offset,
		    o->length, o->block_size);
		return -1;
	}
	if (!(o->rate >= RATE_FLOOR && o->rate <= RATE_CEILING)) {
		snprintf(why, whylen, "op %s: rate %g B/s is outside [%g, %g]",
		    o->id, o->rate, RATE_FLOOR, RATE_CEILING);
		return -1;
	}
	if ((double)o->length / o->rate > life + 1) {
		snprintf(why, whylen, "op %s: %" PRIu64 " bytes at %.0f B/s "
		    "take %.0fs, past the plan's life of %.0fs", o->id,
		    o->length, o->rate, (double)o->length / o->rate, life);
		return -1;
	}
	if (strcmp(o->source.host, c->host) == 0) {
		snprintf(why, whylen, "op %s: copies from this host", o->id);
		return -1;
	}
	if (o->fallback != NULL && strcmp(o->fallback->source.host,
	    c->host) == 0) {
		snprintf(why, whylen, "op %s: its fallback copies from this "
		    "host", o->id);
		return -1;
	}
	if (o->fallback != NULL && !(o->fallback->rate >= RATE_FLOOR)) {
		snprintf(why, whylen, "op %s: fallback rate %g B/s is below "
		    "%g", o->id, o->fallback->rate, RATE_FLOOR);
		return -1;
	}
	return 0;
}

/*
 * Checks a plan before anything moves: it is this host's, it expires
 * after it was issued and within a week; every op has a block size, one
 * checksum per block, whole blocks (but at the file's end) within the
 * file's size, a version the plan's file set names, a rate within the
 * floor and the ceiling at which it ends before the plan expires; and the
 * ops on one version, in order, neither overlap nor leave gaps, all of
 * one block size.  O(n log n) in the ops.  Returns 0, or -1 with the
 * reason in why.
 */
int
plan_check(const struct plan *p, const struct agent_config *c, char *why,
    size_t whylen)
{
	const struct op **order;
	size_t i;
	int rc = 0;

	if (strcmp(p->host, c->host) != 0) {
		snprintf(why, whylen, "the plan is for host %s, not %s",
		    p->host, c->host);
		return -1;
	}
	if (p->expires <= p->issued || difftime(p->expires, p->issued) >
	    PLAN_LIFE_MAX) {
		snprintf(why, whylen, "the plan expires %.0fs after it was "
		    "issued, not within (0, %d]", difftime(p->expires,
		    p->issued), PLAN_LIFE_MAX);
		return -1;
	}
	/* Epochs count runs, at most one a round: an epoch beyond the
	 * rounds since 1970 is no master's, and would leave this host
	 * waiting for ever for a plan newer than it. */
	if (p->epoch > (uint64_t)p->issued / (uint64_t)difftime(p->expires,
	    p->issued)) {
		snprintf(why, whylen, "epoch %" PRIu64 " is more than the "
		    "rounds of %.0fs since 1970", p->epoch,
		    difftime(p->expires, p->issued));
		return -1;
	}
	for (i = 0; i < p->nops; i++)
		if (op_check(p, &p->ops[i], c, why, whylen) != 0)
			return -1;
	order = xcalloc(p->nops ? p->nops : 1, sizeof(*order));
	for (i = 0; i < p->nops; i++)
		order[i] = &p->ops[i];
	qsort(order, p->nops, sizeof(*order), cmp_op);
	for (i = 1; i < p->nops && rc == 0; i++) {
		const struct op *q = order[i - 1], *o = order[i];

		if (q->version != o->version || strcmp(q->file, o->file) != 0)
			continue;
		if (q->block_size != o->block_size) {
			snprintf(why, whylen, "ops %s and %s: block sizes %"
			    PRIu64 " and %" PRIu64, q->id, o->id,
			    q->block_size, o->block_size);
			rc = -1;
		} else if (q->offset + q->length != o->offset) {
			snprintf(why, whylen, "ops %s and %s %s", q->id, o->id,
			    q->offset + q->length > o->offset ? "overlap" :
			    "leave a gap");
			rc = -1;
		}
	}
	free(order);
	return rc;
}

/*
 * Whether plan p has expired: now is at or past its expires.  Returns 0,
 * or -1 with the reason in why (a clock that is off, here or on the
 * master, is the usual one when it comes new).
 */
int
plan_expired(const struct plan *p, time_t now, char *why, size_t whylen)
{
	char at[32];

	if (now < p->expires)
		return 0;
	time_format(at, sizeof(at), p->expires);
	snprintf(why, whylen, "plan of epoch %" PRIu64 " expired at %s, %.0fs "
	    "ago: not run (is the master's clock or this host's off?)",
	    p->epoch, at, difftime(now, p->expires));
	return -1;
}

static void *
worker(void *arg)
{
	struct runner *r = arg;

	for (;;) {
		struct job *j;
		size_t t;
		unsigned k;

		pthread_mutex_lock(&r->lock);
		if (r->next >= r->ntasks) {
			pthread_mutex_unlock(&r->lock);
			return NULL;
		}
		t = r->next++;
		j = &r->jobs[r->tasks[t]];
		k = 0;
		while (t > 0 && r->tasks[t - 1] == r->tasks[t]) {
			t--;
			k++;
		}
		pthread_mutex_unlock(&r->lock);
		j->phase = 1;
		fetch_stream(r, j, k);
		if (--j->running == 0)
			j->phase = 2;
	}
}

/*
 * Redraws one line per running op on standard error, once a second:
 * bytes, rate and time left.  Only when standard error is a terminal.
 */
static void *
progress(void *arg)
{
	struct runner *r = arg;
	double start = clock_mono();
	int drawn = 0;

	while (!r->finished) {
		struct timespec ts = { 0, 250000000 };
		double t;
		size_t i;
		int lines = 0;

		for (i = 0; i < 4 && !r->finished; i++)
			nanosleep(&ts, NULL);
		t = clock_mono() - start;
		if (drawn > 0)
			fprintf(stderr, "\033[%dA", drawn);
		for (i = 0; i < r->njobs; i++) {
			const struct job *j = &r->jobs[i];
			double done = (double)j->done, len =
			    (double)j->op->length, rate = t > 0 ? done / t : 0;

			if (j->phase != 1)
				continue;
			fprintf(stderr, "\033[K%-24s %8.1f/%.1f MiB %7.2f MB/s "
			    "ETA %4.0fs\n", j->op->id, done / 1048576,
			    len / 1048576, rate / 1e6, rate > 0 ?
			    (len - done) / rate : 0.0);
			lines++;
		}
		for (i = (size_t)lines; i < (size_t)drawn; i++)
			fprintf(stderr, "\033[K\n");
		if (drawn > lines)
			fprintf(stderr, "\033[%dA", drawn - lines);
		drawn = lines;
		fflush(stderr);
	}
	return NULL;
}

/*
 * The components a failed op may blame: its source (its fallback, once
 * taken from it), and for network trouble the sites and links its route
 * names.  An op cut off at the plan's expiry blames nothing: agents start
 * after the plan is issued, so running out of time is expected and says
 * nothing about the source; nor does one left waiting by a relay source,
 * which reports its own trouble.
 */
static void
blame(const struct job *j, const struct agent_config *c, struct failure *f)
{
	const struct op *o = j->op;
	char *const *route = j->switched ? o->fallback->resources :
	    o->resources;
	size_t nroute = j->switched ? o->fallback->nresources :
	    o->nresources;
	size_t i, k;

	f->components = xcalloc(nroute + 1, sizeof(char *));
	if (j->err.class == FAIL_DEADLINE || j->blameless)
		return;
	f->components[f->ncomponents++] = xasprintf("host:%s",
	    j->local ? c->host : job_source(j)->host);
	if (!j->blame_route)
		return;
	for (i = 0; i < nroute; i++) {
		const char *res = route[i];
		const char *colon;
		char *comp = NULL;

		if (strncmp(res, "link:", 5) == 0 &&
		    (colon = strchr(res + 5, ':')) != NULL)
			comp = xasprintf("link:%.*s", (int)(colon - res - 5),
			    res + 5);
		else if (strncmp(res, "site:", 5) == 0 &&
		    (colon = strchr(res + 5, ':')) != NULL)
			comp = xasprintf("site:%.*s", (int)(colon - res - 5),
			    res + 5);
		if (comp == NULL)
			continue;
		for (k = 0; k < f->ncomponents; k++)
			if (strcmp(f->components[k], comp) == 0)
				break;
		if (k < f->ncomponents)
			free(comp);
		else
			f->components[f->ncomponents++] = comp;
	}
}

void
run_result_clear(struct run_result *res)
{
	size_t i, j;

	for (i = 0; i < res->nfailures; i++) {
		free(res->failures[i].op);
		free(res->failures[i].source);
		free(res->failures[i].detail);
		for (j = 0; j < res->failures[i].ncomponents; j++)
			free(res->failures[i].components[j]);
		free(res->failures[i].components);
	}
	free(res->failures);
	memset(res, 0, sizeof(*res));
}

/* Whether two endpoints (address, port, user) are one. */
static int
same_endpoint(const char *aa, unsigned ap, const char *au, const char *ba,
    unsigned bp, const char *bu)
{
	return strcmp(aa, ba) == 0 && ap == bp &&
	    ((au == NULL && bu == NULL) || (au && bu && strcmp(au, bu) == 0));
}

static int
same_source(const struct plan_source *a, const struct plan_source *b)
{
	return strcmp(a->host, b->host) == 0 && same_endpoint(a->address,
	    a->port, a->user, b->address, b->port, b->user);
}

/* Whether a plan's source is at the endpoint of a shared session. */
int
at_endpoint(const struct plan_source *a, const struct shared_ssh *e)
{
	return same_endpoint(a->address, a->port, a->user, e->address,
	    e->port, e->user);
}

/* Ends every session of the pool, none waited on: each is idle, and
 * its peer may be gone. */
void
session_pool_clear(struct session_pool *pool)
{
	size_t i;

	for (i = 0; pool != NULL && i < pool->n; i++) {
		ssh_abandon(pool->v[i].ssh);
		free(pool->v[i].address);
		free(pool->v[i].user);
	}
	if (pool != NULL) {
		free(pool->v);
		pool->v = NULL;
		pool->n = 0;
	}
}

/* The run's sources take their sessions from the pool, the one each at
 * its endpoint; the pool's others are closed. */
static void
pool_take(struct session_pool *pool, struct source *sources, size_t n)
{
	size_t i, k;

	for (i = 0; pool != NULL && i < pool->n; i++)
		for (k = 0; k < n && pool->v[i].ssh != NULL; k++) {
			struct source *s = &sources[k];

			if (s->ssh[0] == NULL && !s->borrowed &&
			    same_endpoint(s->src->address, s->src->port,
			    s->src->user, pool->v[i].address,
			    pool->v[i].port, pool->v[i].user)) {
				s->ssh[0] = pool->v[i].ssh;
				s->pooled = 1;
				pool->v[i].ssh = NULL;
			}
		}
	session_pool_clear(pool);
}

/* A source's first session, sound at the run's end, goes to the pool for
 * the next; else it is closed. */
static void
pool_give(struct session_pool *pool, struct source *s)
{
	struct pooled_ssh *p;

	if (pool == NULL || s->ssh[0] == NULL || !ssh_reusable(s->ssh[0])) {
		ssh_close(s->ssh[0]);
		return;
	}
	pool->v = xreallocarray(pool->v, pool->n + 1, sizeof(*pool->v));
	p = &pool->v[pool->n++];
	p->address = xstrdup(s->src->address);
	p->port = s->src->port;
	p->user = s->src->user != NULL ? xstrdup(s->src->user) : NULL;
	p->ssh = s->ssh[0];
}

/* 1 when ROOT/NAME is already this version's data (same inode). */
static int
exposed(struct store *s, const struct version *v)
{
	struct stat a, b;
	char *path = xasprintf("%s/%s", s->root, v->name);
	int same;

	same = fstat(v->data_fd, &a) == 0 && lstat(path, &b) == 0 &&
	    a.st_ino == b.st_ino && a.st_dev == b.st_dev;
	free(path);
	return same;
}

/*
 * Puts every whole version of the plan's file set in place and removes the
 * versions it replaces.  Returns the number of errors.
 */
static int
finish_versions(const struct agent_config *c, struct store *s,
    const struct plan *p, struct version **vs)
{
	size_t i;
	int errors = 0;

	for (i = 0; i < p->nfileset; i++) {
		struct version *v = vs[i];

		if (v == NULL || p->fileset[i].size == 0 ||
		    v->length < p->fileset[i].size)
			continue;
		if (!exposed(s, v) && version_expose(s, v,
		    version_mode(p->fileset[i].mode, c->umask)) != 0) {
			errors++;
			continue;
		}
		if (store_retire(s, v->name, v->number) != 0)
			errors++;
	}
	return errors;
}

/* How many streams an op gets, and how many blocks each takes at once. */
static void
job_shape(struct job *j, unsigned cpus)
{
	const struct op *o = j->op;
	double rate = o->rate, bs = (double)o->block_size;
	unsigned most = cpus < STREAMS_MAX ? cpus : STREAMS_MAX;
	double c = rate * CHUNK_SECONDS;

	j->chunk = c < CHUNK_MIN ? CHUNK_MIN : c > CHUNK_MAX ? CHUNK_MAX :
	    (size_t)c;
	j->chunk -= j->chunk % STORE_ALIGN;
	j->streams = rate >= 2 * STREAM_RATE ? (unsigned)(rate / STREAM_RATE) :
	    1;
	if (j->streams > most)
		j->streams = most;
	if (j->streams < 1)
		j->streams = 1;
	/* Blocks beyond the durable length: at most half a second of the
	 * rate across the streams' runs. */
	j->run = j->streams == 1 ? o->nblocks :
	    (uint64_t)(0.5 * rate / ((double)j->streams * bs));
	if (j->run < 1)
		j->run = 1;
	if (j->streams > 1 && j->run > (o->nblocks + j->streams - 1) /
	    j->streams)
		j->run = (o->nblocks + j->streams - 1) / j->streams;
	while (j->streams > 1 && (uint64_t)j->streams > o->nblocks)
		j->streams--;
}

/* When the plan's ops must end, on the monotonic clock. */
static double
deadline_of(const struct plan *p)
{
	return clock_mono_of((double)p->expires) -
	    PLAN_REPORT_MARGIN(difftime(p->expires, p->issued));
}

/*
 * Sets up the job of op o, from the block its version already holds, on
 * its source src and its fallback's fb (NULL: none): the pace of its rate
 * with its shed entries, each at the plan's issue (issued, monotonic)
 * plus its time, and already passed when the version's durable length
 * passes its offset now (it is not known when it did, so as late as now).
 * An entry whose time comes after ROOT/.sluice/began said that this plan
 * runs never applies (pace_running()).
 */
static void
job_init(struct job *j, const struct op *o, struct version *v,
    struct source *src, struct source *fb, const struct runner *r,
    unsigned cpus)
{
	uint64_t have, durable;
	size_t i;

	j->op = o;
	j->version = v;
	j->source = src;
	j->fallback = fb;
	if (o->fallback != NULL)
		j->fallback_at = r->issued + o->fallback->after;
	pthread_mutex_init(&j->lock, NULL);
	pace_init(&j->pace, o->rate, r->deadline);
	if (v == NULL) {
		/* Its version found no room to be opened: the op fails as a
		 * full disk's, and runs no stream. */
		job_fail(j, FAIL_NOSPACE, 0, FAULT_LOCAL, o->offset, "local "
		    "store: cannot open %s@%" PRIu64 ": no space left on the "
		    "device", o->file, o->version);
		return;
	}
	job_shape(j, cpus);
	pthread_mutex_lock(&v->lock);
	if (v->block_size == 0)
		v->block_size = o->block_size;
	pthread_mutex_unlock(&v->lock);
	have = version_verified_length(v, &durable);
	for (i = 0; i < o->nshed; i++)
		pace_shed(&j->pace, r->issued + o->shed[i].at, o->shed[i].rate,
		    o->shed[i].offset);
	pace_running(&j->pace, r->began);
	pace_passed(&j->pace, durable);
	j->next = have > o->offset ? (have - o->offset) / o->block_size : 0;
	if (j->next > o->nblocks)
		j->next = o->nblocks;
	j->running = j->streams;
}

/* Opens (creating) the versions the plan writes; NULL entries others,
 * and those that found the file system full (their ops fail nospace). */
static int
open_versions(struct store *s, const struct plan *p, struct version **vs)
{
	size_t i, k;

	for (i = 0; i < p->nfileset; i++) {
		int needed = p->fileset[i].size != 0;

		for (k = 0; k < p->nops && !needed; k++)
			needed = p->ops[k].version == p->fileset[i].version &&
			    strcmp(p->ops[k].file, p->fileset[i].name) == 0;
		if (!needed)
			continue;
		if (store_version(s, p->fileset[i].name,
		    p->fileset[i].version, &vs[i]) != 0) {
			if (store_full(errno))
				continue;
			return -1;
		}
		if (p->fileset[i].size != 0 && version_set_size(s, vs[i],
		    p->fileset[i].size) != 0)
			return -1;
	}
	return 0;
}

/* Runs every stream of every job on up to parallel threads. */
static void
run_streams(struct runner *r, unsigned parallel)
{
	size_t i, nthreads = r->ntasks < parallel ? r->ntasks : parallel;
	pthread_t *threads = xcalloc(nthreads ? nthreads : 1,
	    sizeof(*threads));

	for (i = 0; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, worker, r) != 0) {
			warnx_("cannot start a thread: %s", strerror(errno));
			nthreads = i;
			break;
		}
	if (nthreads == 0)
		worker(r);
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	free(threads);
}

/*
 * Says, on standard output, what a finished op did: bytes, time, rate,
 * where from (its fallback, when it was switched to it) and what it shed.
 */
static void
report_op(const struct runner *r, const struct job *j)
{
	const struct op *o = j->op;
	double secs = j->last > j->first && j->first > 0 ? j->last - j->first :
	    0;
	size_t i;

	printf("op %s: %" PRIu64 " bytes from %s in %.3fs, %.0f B/s "
	    "(allocated %.0f), from %.2fs to %.2fs after the plan's issue",
	    o->id, (uint64_t)j->done, job_source(j)->host, secs, secs > 0 ?
	    (double)j->done / secs : 0.0, j->switched ? o->fallback->rate :
	    o->rate, j->first > 0 ? j->first - r->issued : 0.0, j->last > 0 ?
	    j->last - r->issued : 0.0);
	if (j->switched)
		printf("; from its fallback, relay source %s having %" PRIu64
		    " at +%.1fs", o->source.host, j->switch_seen,
		    j->switch_when - r->issued);
	for (i = 0; i < j->pace.nshed; i++) {
		const struct pace_shed *e = &j->pace.shed[i];

		if (r->began < e->at)
			printf("; nothing shed for %s, running from +%.2fs",
			    o->shed[i].host, r->began - r->issued);
		else if (e->passed <= e->at)
			printf("; nothing shed for %s, byte %" PRIu64 " passed "
			    "at +%.2fs", o->shed[i].host, e->offset,
			    e->passed - r->issued);
		else if (j->last > e->at)
			printf("; %.0f B/s shed for %s from +%.2fs", e->rate,
			    o->shed[i].host, e->at - r->issued);
	}
	printf("\n");
}

/* Fills res from the ended jobs: bytes, and one failure per failed op. */
static void
collect(struct runner *r, int verbose, struct run_result *res)
{
	size_t i;

	res->failures = xcalloc(r->njobs ? r->njobs : 1,
	    sizeof(*res->failures));
	for (i = 0; i < r->njobs; i++) {
		struct job *j = &r->jobs[i];
		const char *from = job_source(j)->host;

		res->bytes += j->done;
		if (!j->failed) {
			res->ops_done++;
			if (verbose)
				report_op(r, j);
			continue;
		}
		res->ops_failed++;
		res->failures[res->nfailures].op = xstrdup(j->op->id);
		res->failures[res->nfailures].source = xstrdup(from);
		res->failures[res->nfailures].class = j->err.class;
		res->failures[res->nfailures].detail = xstrdup(j->err.detail);
		blame(j, r->config, &res->failures[res->nfailures]);
		res->nfailures++;
		warnx_("op %s from %s: %s: %s", j->op->id, from,
		    failure_class_name(j->err.class), j->err.detail);
	}
}

/* The plan's source like s (the same host, address, port and user),
 * added to sources (room for one more) when there is none yet. */
static struct source *
source_for(struct source *sources, size_t *n, const struct plan_source *s)
{
	size_t k;

	for (k = 0; k < *n; k++)
		if (same_source(sources[k].src, s))
			return &sources[k];
	sources[k].src = s;
	pthread_mutex_init(&sources[k].lock, NULL);
	(*n)++;
	return &sources[k];
}

/*
 * Executes a checked plan against the store, its ops stopped the plan's
 * margin (deadline_of()) or lead seconds before it expires, whichever
 * is sooner.  Fills res with the bytes verified and one failure per
 * failed op.  Returns 0 when every op finished, 1 when some failed, -1
 * on a local error.
 */
int
plan_execute(const struct agent_config *c, struct store *s,
    const struct plan *p, int verbose, const struct shared_ssh *shared,
    double lead, struct run_result *res)
{
	struct runner r;
	struct version **vs = xcalloc(p->nfileset ? p->nfileset : 1,
	    sizeof(*vs));
	/* Each op's source and fallback's, at most. */
	struct source *sources = xcalloc(p->nops ? 2 * p->nops : 1,
	    sizeof(*sources));
	struct commit_watch *watches = xcalloc(p->nops ? p->nops : 1,
	    sizeof(*watches));
	size_t nsources = 0, nwatches = 0, i, k, n;
	int commit_errors;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t shower;
	int rc = 0, progress_on, committing = 0, began, began_lock, waited;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	r.config = c;
	r.store = s;
	r.plan = p;
	r.verbose = verbose;
	r.deadline = fmin(deadline_of(p), clock_mono_of((double)p->expires) -
	    lead);
	r.issued = clock_mono_of((double)p->issued);
	r.started = clock_mono();
	pthread_mutex_init(&r.lock, NULL);
	r.jobs = xcalloc(p->nops ? p->nops : 1, sizeof(*r.jobs));
	if (open_versions(s, p, vs) != 0) {
		rc = -1;
		goto out;
	}
	/* Said before any op runs, and that they stopped once they have: a
	 * peer whose relay this agent is leaves it for its fallback only
	 * while it is running no plan of the peer's epoch or a later one
	 * (fetch.c).  A write that fails leaves its peers the old rule.
	 * Only the run that holds began's lock says it: one that does not
	 * (another run of this store is under way) leaves its peers reading
	 * that one's, and sheds by its length alone. */
	began = (began_lock = store_lock(s, "began.lock", 0, &waited)) >= 0 &&
	    store_mark_began(s, p->epoch, 0) == 0;
	/* From now on no peer leaves this agent for its fallback, so what
	 * a shed entry of a later time would give up is for nobody. */
	r.began = began ? clock_mono() : INFINITY;
	for (i = n = 0; i < p->nops; i++) {
		const struct op *o = &p->ops[i];
		struct version *v = NULL;
		struct job *j;

		for (k = 0; k < p->nfileset; k++)
			if (vs[k] != NULL && vs[k]->number == o->version &&
			    strcmp(vs[k]->name, o->file) == 0)
				v = vs[k];
		j = &r.jobs[r.njobs++];
		job_init(j, o, v, source_for(sources, &nsources, &o->source),
		    o->fallback == NULL ? NULL : source_for(sources, &nsources,
		    &o->fallback->source), &r, cpus > 0 ? (unsigned)cpus : 1);
		n += j->streams;
		if (o->nshed > 0 && v != NULL) {
			watches[nwatches].version = v;
			watches[nwatches++].pace = &j->pace;
		}
	}
	/* The first op's source at the endpoint of the caller's session
	 * reads through it (one: each source keeps a session of its own;
	 * not a fallback's, seldom taken). */
	for (i = 0; shared != NULL && shared->ssh != NULL && i < r.njobs;
	    i++)
		if (at_endpoint(r.jobs[i].source->src, shared)) {
			r.jobs[i].source->ssh[0] = shared->ssh;
			r.jobs[i].source->tried[0] = 1;
			r.jobs[i].source->borrowed = 1;
			break;
		}
	/* The other sources' first sessions, where the last run of this
	 * sync left them one. */
	pool_take(shared != NULL ? shared->pool : NULL, sources, nsources);
	/* Each job's streams as consecutive tasks: a worker counts back to
	 * learn which stream of its job it runs. */
	r.tasks = xcalloc(n ? n : 1, sizeof(*r.tasks));
	for (i = 0; i < r.njobs; i++)
		for (k = 0; k < r.jobs[i].streams; k++)
			r.tasks[r.ntasks++] = i;
	commit_start(&r.commit, s, vs, p->nfileset, watches, nwatches);
	committing = 1;
	progress_on = r.njobs > 0 && isatty(STDERR_FILENO) &&
	    pthread_create(&shower, NULL, progress, &r) == 0;
	run_streams(&r, c->parallel);
	r.finished = 1;
	if (began)
		(void)store_mark_began(s, p->epoch, 1);
	if (began_lock >= 0)
		(void)close(began_lock);
	if (progress_on)
		pthread_join(shower, NULL);
	commit_errors = commit_finish(&r.commit);
	committing = 0;
	collect(&r, verbose, res);
	if (commit_errors > 0 || finish_versions(c, s, p, vs) != 0)
		rc = -1;
	else
		rc = res->ops_failed ? 1 : 0;
out:
	if (committing)
		commit_finish(&r.commit);
	for (i = 0; i < r.njobs; i++) {
		pthread_mutex_destroy(&r.jobs[i].lock);
		pace_destroy(&r.jobs[i].pace);
	}
	/* The ops' own sources, not their fallbacks', which open in the
	 * middle of the run while the op's bytes move from its source. */
	for (i = 0; i < r.njobs; i++)
		res->connect = fmax(res->connect, r.jobs[i].source->connect);
	for (i = 0; i < nsources; i++) {
		if (!sources[i].borrowed)
			pool_give(shared != NULL ? shared->pool : NULL,
			    &sources[i]);
		for (k = 1; k < STREAMS_MAX; k++)
			ssh_close(sources[i].ssh[k]);
		pthread_mutex_destroy(&sources[i].lock);
	}
	for (i = 0; i < p->nfileset; i++)
		version_free(vs[i]);
	free(vs);
	free(sources);
	free(watches);
	free(r.jobs);
	free(r.tasks);
	pthread_mutex_destroy(&r.lock);
	return rc;
}
