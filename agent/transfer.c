/*
 * transfer.c: executing a plan.  The plan is checked whole before any
 * byte moves.  Ops run on up to `parallel` threads; ops from one source
 * share one SSH session.  Each op reads exactly its range (one seek, then
 * sequential reads, which libssh2 pipelines), held to its rate by a token
 * bucket; every block is hashed and compared with the plan's checksum
 * before it is stored; at the plan's expiry unfinished ops stop.
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

#include "agent.h"

#define CHUNK_MAX (4 * 1024 * 1024)
#define CHUNK_MIN (16 * 1024)

struct source {
	const struct plan_source *src;
	struct ssh	*ssh;
	int		 tried;
	struct ssh_error err;
	pthread_mutex_t	 lock;
};

struct job {
	const struct op	*op;
	double		 seconds;	/* from first read to last block */
	struct version	*version;
	struct source	*source;
	_Atomic uint64_t done;		/* bytes verified by this op */
	_Atomic int	 phase;		/* 0 waiting, 1 running, 2 ended */
	int		 failed;
	struct ssh_error err;
	int		 blame_route;
};

struct runner {
	_Atomic int	 finished;	/* the workers have all returned */
	const struct agent_config *config;
	struct store	*store;
	const struct plan *plan;
	struct job	*jobs;
	size_t		 njobs;
	size_t		 next;
	pthread_mutex_t	 lock;
	int		 verbose;
	int		 progress;
};

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Sleeps until n more bytes fit the rate (the bucket starts empty); the
 * caller then adds what it actually received with bucket_add().
 */
struct bucket {
	double		 rate;
	double		 start;
	double		 sent;
};

static void
bucket_wait(struct bucket *b, size_t n)
{
	double due = b->start + (b->sent + (double)n) / b->rate;
	double now = now_seconds();

	if (due > now) {
		struct timespec ts;
		double d = due - now;

		ts.tv_sec = (time_t)d;
		ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
}

static void
bucket_add(struct bucket *b, size_t n)
{
	b->sent += (double)n;
}

/*
 * Checks a plan before anything moves: it is this host's, every op has a
 * block size, one checksum per block, a version the plan's file set
 * names, and the ops on one version do not overlap.  Returns 0, or -1 with
 * the reason in why.
 */
int
plan_check(const struct plan *p, const struct agent_config *c, char *why,
    size_t whylen)
{
	size_t i, j;

	if (strcmp(p->host, c->host) != 0) {
		snprintf(why, whylen, "the plan is for host %s, not %s",
		    p->host, c->host);
		return -1;
	}
	for (i = 0; i < p->nops; i++) {
		const struct op *o = &p->ops[i];
		uint64_t end = o->offset + o->length;

		if (o->block_size == 0) {
			snprintf(why, whylen, "op %s: no block_size", o->id);
			return -1;
		}
		if (o->nblocks != (o->length + o->block_size - 1) /
		    o->block_size) {
			snprintf(why, whylen, "op %s: %zu checksums for %" PRIu64
			    " bytes", o->id, o->nblocks, o->length);
			return -1;
		}
		for (j = 0; j < p->nfileset; j++)
			if (p->fileset[j].version == o->version &&
			    strcmp(p->fileset[j].name, o->file) == 0)
				break;
		if (j == p->nfileset) {
			snprintf(why, whylen, "op %s: %s@%" PRIu64 " is not in "
			    "the plan's file set", o->id, o->file, o->version);
			return -1;
		}
		if (p->fileset[j].size != 0 && end > p->fileset[j].size) {
			snprintf(why, whylen, "op %s: range ends at %" PRIu64
			    ", past the file's size %" PRIu64, o->id, end,
			    p->fileset[j].size);
			return -1;
		}
		if (strcmp(o->source.host, c->host) == 0) {
			snprintf(why, whylen, "op %s: copies from this host",
			    o->id);
			return -1;
		}
		for (j = 0; j < i; j++) {
			const struct op *q = &p->ops[j];

			if (q->version == o->version &&
			    strcmp(q->file, o->file) == 0 &&
			    q->offset < end && o->offset < q->offset +
			    q->length) {
				snprintf(why, whylen, "ops %s and %s overlap",
				    q->id, o->id);
				return -1;
			}
		}
	}
	return 0;
}

/* The session for a job's source: the first job to need it connects. */
static struct ssh *
source_session(struct runner *r, struct source *s, struct ssh_error *e)
{
	pthread_mutex_lock(&s->lock);
	if (!s->tried) {
		s->tried = 1;
		if (ssh_connect(r->config, s->src->address, s->src->port,
		    s->src->user, &s->ssh, &s->err) != 0)
			s->ssh = NULL;
	}
	pthread_mutex_unlock(&s->lock);
	if (s->ssh == NULL)
		*e = s->err;
	return s->ssh;
}

static void
job_fail(struct job *j, enum failure_class c, int route, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static void
job_fail(struct job *j, enum failure_class c, int route, const char *fmt,
    ...)
{
	va_list ap;

	j->failed = 1;
	j->err.class = c;
	j->blame_route = route;
	va_start(ap, fmt);
	vsnprintf(j->err.detail, sizeof(j->err.detail), fmt, ap);
	va_end(ap);
}

static int
network_class(enum failure_class c)
{
	return c == FAIL_CONNECT || c == FAIL_TIMEOUT || c == FAIL_IO;
}

/* Runs one op; on failure fills j->err. */
static void
run_job(struct runner *r, struct job *j)
{
	const struct op *o = j->op;
	struct version *v = j->version;
	uint64_t bs = o->block_size, end = o->offset + o->length, have;
	uint64_t first, i;
	struct ssh_error e;
	struct ssh *ssh;
	struct bucket b;
	unsigned char *buf = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	void *h = NULL;
	char *path = NULL;
	size_t chunk;
	time_t deadline = r->plan->expires;

	pthread_mutex_lock(&v->lock);
	have = v->length;
	if (v->block_size == 0)
		v->block_size = bs;
	pthread_mutex_unlock(&v->lock);
	if (have >= end)
		return;
	first = have > o->offset ? (have - o->offset) / bs : 0;
	if ((ssh = source_session(r, j->source, &e)) == NULL) {
		job_fail(j, e.class, network_class(e.class), "%s", e.detail);
		return;
	}
	path = store_data_path(o->source.root, o->file, o->version);
	ssh_lock(ssh);
	h = ssh_open_read(ssh, path, o->offset + first * bs, &e);
	ssh_unlock(ssh);
	if (h == NULL) {
		job_fail(j, e.class, network_class(e.class), "%s", e.detail);
		goto out;
	}
	buf = xcalloc(1, (size_t)bs);
	/*
	 * libssh2 asks the server for four times each read's size ahead of
	 * it, and the server sends that at once: reads of 20 ms of the rate
	 * keep that burst to some 80 ms of the op's allocation.
	 */
	chunk = (size_t)fmin(CHUNK_MAX, fmax(CHUNK_MIN, o->rate / 50));
	b.rate = o->rate;
	b.start = now_seconds();
	b.sent = 0;
	j->seconds = 0;
	for (i = first; i < o->nblocks; i++) {
		uint64_t boff = o->offset + i * bs;
		size_t blen = (size_t)(boff + bs > end ? end - boff : bs);
		size_t got = 0;

		while (got < blen) {
			size_t want = blen - got < chunk ? blen - got : chunk;
			long n;

			if (time(NULL) >= deadline) {
				job_fail(j, FAIL_DEADLINE, 0, "plan expired "
				    "at %" PRIu64 " of [%" PRIu64 ",%" PRIu64
				    ")", boff + got, o->offset, end);
				goto out;
			}
			bucket_wait(&b, want);
			ssh_lock(ssh);
			n = ssh_read(ssh, h, buf + got, want, &e);
			ssh_unlock(ssh);
			if (n < 0) {
				job_fail(j, e.class, network_class(e.class),
				    "%s at byte %" PRIu64, e.detail,
				    boff + got);
				goto out;
			}
			if (n == 0) {
				job_fail(j, FAIL_MISSING, 0, "source ended at "
				    "byte %" PRIu64 ", before %" PRIu64,
				    boff + got, end);
				goto out;
			}
			bucket_add(&b, (size_t)n);
			got += (size_t)n;
		}
		if (EVP_Digest(buf, blen, md, &mdlen, EVP_sha256(), NULL) !=
		    1 || mdlen != 32 || memcmp(md, o->blocks[i], 32) != 0) {
			job_fail(j, FAIL_CHECKSUM, 0, "block %" PRIu64 ": "
			    "sha256 mismatch", boff / bs);
			goto out;
		}
		if (version_commit_block(r->store, v, boff, buf, blen) != 0) {
			job_fail(j, FAIL_IO, 0, "local store: cannot write "
			    "block %" PRIu64, boff / bs);
			j->source = NULL;
			goto out;
		}
		j->done += blen;
		j->seconds = now_seconds() - b.start;
	}
out:
	if (h != NULL) {
		ssh_lock(ssh);
		ssh_close_file(ssh, h);
		ssh_unlock(ssh);
	}
	free(buf);
	free(path);
}

static void *
worker(void *arg)
{
	struct runner *r = arg;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&r->lock);
		if (r->next >= r->njobs) {
			pthread_mutex_unlock(&r->lock);
			return NULL;
		}
		j = &r->jobs[r->next++];
		pthread_mutex_unlock(&r->lock);
		j->phase = 1;
		run_job(r, j);
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
	double start = now_seconds();
	int drawn = 0;

	while (!r->finished) {
		struct timespec ts = { 0, 250000000 };
		double t;
		size_t i;
		int lines = 0;

		for (i = 0; i < 4 && !r->finished; i++)
			nanosleep(&ts, NULL);
		t = now_seconds() - start;
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
 * The components a failed op may blame: its source, and for network
 * trouble the sites and links its resources name.  An op cut off at the
 * plan's expiry blames nothing: agents start after the plan is issued, so
 * running out of time is expected and says nothing about the source.
 */
static void
blame(const struct job *j, const struct agent_config *c, struct failure *f)
{
	const struct op *o = j->op;
	size_t i, k;

	f->components = xcalloc(o->nresources + 1, sizeof(char *));
	if (j->err.class == FAIL_DEADLINE)
		return;
	f->components[f->ncomponents++] = xasprintf("host:%s",
	    j->source != NULL ? o->source.host : c->host);
	if (!j->blame_route)
		return;
	for (i = 0; i < o->nresources; i++) {
		const char *res = o->resources[i];
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

static int
same_source(const struct plan_source *a, const struct plan_source *b)
{
	return strcmp(a->host, b->host) == 0 &&
	    strcmp(a->address, b->address) == 0 && a->port == b->port &&
	    ((a->user == NULL && b->user == NULL) || (a->user && b->user &&
	    strcmp(a->user, b->user) == 0));
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
finish_versions(struct store *s, const struct plan *p, struct version **vs)
{
	size_t i;
	int errors = 0;

	for (i = 0; i < p->nfileset; i++) {
		struct version *v = vs[i];

		if (v == NULL || p->fileset[i].size == 0 ||
		    v->length < p->fileset[i].size)
			continue;
		if (!exposed(s, v) && version_expose(s, v) != 0) {
			errors++;
			continue;
		}
		if (store_retire(s, v->name, v->number) != 0)
			errors++;
	}
	return errors;
}

/*
 * Executes a checked plan against the store.  Fills res with the bytes
 * verified and one failure per failed op.  Returns 0 when every op
 * finished, 1 when some failed, -1 on a local error before any op ran.
 */
int
plan_execute(const struct agent_config *c, struct store *s,
    const struct plan *p, int verbose, struct run_result *res)
{
	struct runner r;
	struct version **vs = xcalloc(p->nfileset ? p->nfileset : 1,
	    sizeof(*vs));
	struct source *sources = xcalloc(p->nops ? p->nops : 1,
	    sizeof(*sources));
	size_t nsources = 0, i, k, nthreads;
	pthread_t *threads, shower;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	r.config = c;
	r.store = s;
	r.plan = p;
	r.verbose = verbose;
	pthread_mutex_init(&r.lock, NULL);
	for (i = 0; i < p->nfileset; i++) {
		int needed = p->fileset[i].size != 0;

		for (k = 0; k < p->nops && !needed; k++)
			needed = p->ops[k].version == p->fileset[i].version &&
			    strcmp(p->ops[k].file, p->fileset[i].name) == 0;
		if (!needed)
			continue;
		if (store_version(s, p->fileset[i].name,
		    p->fileset[i].version, &vs[i]) != 0) {
			rc = -1;
			goto out;
		}
		if (p->fileset[i].size != 0 && version_set_size(s, vs[i],
		    p->fileset[i].size) != 0) {
			rc = -1;
			goto out;
		}
	}
	r.jobs = xcalloc(p->nops ? p->nops : 1, sizeof(*r.jobs));
	for (i = 0; i < p->nops; i++) {
		const struct op *o = &p->ops[i];
		struct job *j = &r.jobs[r.njobs++];

		j->op = o;
		for (k = 0; k < p->nfileset; k++)
			if (vs[k] != NULL && vs[k]->number == o->version &&
			    strcmp(vs[k]->name, o->file) == 0)
				j->version = vs[k];
		for (k = 0; k < nsources; k++)
			if (same_source(sources[k].src, &o->source))
				break;
		if (k == nsources) {
			sources[nsources].src = &o->source;
			pthread_mutex_init(&sources[nsources].lock, NULL);
			nsources++;
		}
		j->source = &sources[k];
	}
	nthreads = r.njobs < c->parallel ? r.njobs : c->parallel;
	threads = xcalloc(nthreads ? nthreads : 1, sizeof(*threads));
	r.progress = r.njobs > 0 && isatty(STDERR_FILENO) &&
	    pthread_create(&shower, NULL, progress, &r) == 0;
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, worker, &r) != 0) {
			warnx_("cannot start a thread: %s", strerror(errno));
			nthreads = i;
			break;
		}
	if (nthreads == 0)
		worker(&r);
	for (i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	r.finished = 1;
	if (r.progress)
		pthread_join(shower, NULL);
	res->failures = xcalloc(r.njobs ? r.njobs : 1,
	    sizeof(*res->failures));
	for (i = 0; i < r.njobs; i++) {
		struct job *j = &r.jobs[i];

		res->bytes += j->done;
		if (!j->failed) {
			res->ops_done++;
			if (verbose)
				printf("op %s: %" PRIu64 " bytes from %s in "
				    "%.3fs, %.0f B/s (allocated %.0f)\n",
				    j->op->id, j->done, j->op->source.host,
				    j->seconds, j->seconds > 0 ? (double)j->done /
				    j->seconds : 0.0, j->op->rate);
			continue;
		}
		res->ops_failed++;
		res->failures[res->nfailures].op = xstrdup(j->op->id);
		res->failures[res->nfailures].source =
		    xstrdup(j->op->source.host);
		res->failures[res->nfailures].class = j->err.class;
		res->failures[res->nfailures].detail = xstrdup(j->err.detail);
		blame(j, c, &res->failures[res->nfailures]);
		res->nfailures++;
		warnx_("op %s from %s: %s: %s", j->op->id, j->op->source.host,
		    failure_class_name(j->err.class), j->err.detail);
	}
	if (finish_versions(s, p, vs) != 0)
		rc = -1;
	else
		rc = res->ops_failed ? 1 : 0;
out:
	for (i = 0; i < nsources; i++) {
		ssh_close(sources[i].ssh);
		pthread_mutex_destroy(&sources[i].lock);
	}
	for (i = 0; i < p->nfileset; i++)
		version_free(vs[i]);
	free(vs);
	free(sources);
	free(r.jobs);
	pthread_mutex_destroy(&r.lock);
	return rc;
}
