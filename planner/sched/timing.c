/*
 * timing.c: when each op of an epoch is done, block by block, by the rule
 * DESIGN.md and verify-plans state.  Every op starts at its plan's issue
 * and moves whole blocks in order at its rate: block k starts when block
 * k-1 is done and the source's verified prefix covers block k, and takes
 * its size over the rate.  A source's verified prefix covers, from the
 * start, what it holds (its state; a generator, what it publishes);
 * beyond that, a block of the source's own ops of the epoch counts from
 * the moment it and every block before it are done: a relay.  A relay
 * cycle, or a block no op of the epoch brings, is never done (INFINITY).
 *
 * The ops are grouped by destination and file; a group can be timed once
 * the groups of the sources it relays from are, so the groups are timed
 * in topological order (Kahn's), a level at a time, and what is left
 * over is a cycle.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

/* One (host, file): its ops of the epoch, and once timed, its prefix. */
struct tgroup {
	size_t		 host;
	size_t		 file;
	uint64_t	 have;		/* held from the start */
	size_t		*ops;		/* into the timing's ops, by offset */
	size_t		 nops, capops;
	uint64_t	*ends;		/* the prefix: reaches ends[i] ... */
	double		*at;		/* ... at at[i] (non-decreasing) */
	size_t		 nends;
	size_t		 waiting;	/* source groups not timed yet */
	size_t		*users;		/* groups that relay from this one */
	size_t		 nusers, capusers;
	int		 timed;
};

struct tindex {
	size_t		 key;		/* host * nfiles + file */
	size_t		 group;
};

static int
cmp_index(const void *a, const void *b)
{
	const struct tindex *x = a, *y = b;

	return (x->key > y->key) - (x->key < y->key);
}

/* An op of a group keyed for sorting by its range; its index breaks ties. */
struct tkey {
	uint64_t	 offset;
	uint64_t	 length;
	size_t		 op;
};

static int
cmp_tkey(const void *a, const void *b)
{
	const struct tkey *x = a, *y = b;

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	if (x->length != y->length)
		return x->length < y->length ? -1 : 1;
	return (x->op > y->op) - (x->op < y->op);
}

/* Sorts a group's ops by offset, then length. */
static void
sort_by_offset(const struct timing *tm, struct tgroup *g)
{
	struct tkey *k = xcalloc(g->nops ? g->nops : 1, sizeof(*k));
	size_t i;

	for (i = 0; i < g->nops; i++) {
		k[i].offset = tm->ops[g->ops[i]].offset;
		k[i].length = tm->ops[g->ops[i]].length;
		k[i].op = g->ops[i];
	}
	qsort(k, g->nops, sizeof(*k), cmp_tkey);
	for (i = 0; i < g->nops; i++)
		g->ops[i] = k[i].op;
	free(k);
}

/* The group of (host, file), or (size_t)-1 when it has no op. */
static size_t
group_of(const struct tindex *idx, size_t n, size_t key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (idx[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && idx[lo].key == key ? idx[lo].group : (size_t)-1;
}

/* When group g's prefix reaches x: 0 within what it held, INFINITY when
 * nothing of the epoch brings it that far. */
static double
prefix_at(const struct tgroup *g, uint64_t x)
{
	size_t lo = 0, hi = g->nends;

	if (x <= g->have)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->ends[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < g->nends ? g->at[lo] : INFINITY;
}

/* Times op o's blocks against its source's group (NULL: it holds what it
 * holds, and no more comes). */
static void
time_op(struct timed_op *o, const struct tgroup *src)
{
	uint64_t at = o->offset, end = o->offset + o->length;
	double clock = o->start;
	size_t k = 0;

	while (at < end) {
		uint64_t next = (at / o->block_size + 1) * o->block_size;
		double ready;

		if (next > end)
			next = end;
		ready = next <= o->source_have ? 0 : src != NULL ?
		    prefix_at(src, next) + o->hop : INFINITY;
		clock = fmax(clock, ready) + (double)(next - at) / o->rate;
		o->done[k++] = clock;
		at = next;
	}
	o->finish = o->nblocks ? o->done[o->nblocks - 1] : 0;
}

/* Builds group g's prefix from its timed ops: contiguous from what it
 * held, each block counting once it and all before it are done. */
static void
build_prefix(struct timing *tm, struct tgroup *g)
{
	uint64_t reach = g->have;
	double latest = 0;
	size_t i, k, n = 0;

	for (i = 0; i < g->nops; i++)
		n += tm->ops[g->ops[i]].nblocks;
	g->ends = xcalloc(n ? n : 1, sizeof(uint64_t));
	g->at = xcalloc(n ? n : 1, sizeof(double));
	for (i = 0; i < g->nops; i++) {
		const struct timed_op *o = &tm->ops[g->ops[i]];
		uint64_t at = o->offset;

		for (k = 0; k < o->nblocks; k++) {
			uint64_t next = (at / o->block_size + 1) *
			    o->block_size;

			if (next > o->offset + o->length)
				next = o->offset + o->length;
			if (at > reach)
				return;		/* a gap: no further */
			if (next > reach) {
				latest = fmax(latest, o->done[k]);
				reach = next;
				g->ends[g->nends] = reach;
				g->at[g->nends++] = latest;
			}
			at = next;
		}
	}
}

/*
 * A level of the groups, each of whose sources is timed: each group's ops
 * and prefix are its own, read from its sources' prefixes alone, so the
 * level is timed on every processor (parallel_for()) where it is large,
 * with the same results as one group after another.
 */
#define TIMING_PARALLEL_MIN 2048
#define TIMING_CHUNK 256

struct level {
	struct timing	*tm;
	struct tgroup	*g;
	const size_t	*src;		/* per op: its source group */
	const size_t	*queue;		/* the level's groups */
	size_t		 n;
};

/* Times the groups of chunk k of the level. */
static void
time_chunk(void *arg, size_t k)
{
	struct level *lv = arg;
	size_t from = k * TIMING_CHUNK, to = lv->n - from > TIMING_CHUNK ?
	    from + TIMING_CHUNK : lv->n, q, i;

	for (q = from; q < to; q++) {
		struct tgroup *d = &lv->g[lv->queue[q]];

		for (i = 0; i < d->nops; i++) {
			size_t op = d->ops[i];

			time_op(&lv->tm->ops[op], lv->src[op] == (size_t)-1 ?
			    NULL : &lv->g[lv->src[op]]);
		}
		build_prefix(lv->tm, d);
	}
}

/*
 * Times every op added to tm (timing_add()): fills each op's done[] and
 * finish, INFINITY for an op in a relay cycle or waiting on bytes nothing
 * brings (its cycle flag says which).
 */
void
timing_run(struct timing *tm)
{
	size_t nf = tm->nfiles, i, j, ngroups = 0, head = 0, tail = 0;
	struct tindex *idx = xcalloc(tm->nops ? tm->nops : 1, sizeof(*idx));
	struct tgroup *g;
	size_t *queue, *src;
	struct level lv;

	/* Groups: one per (destination, file) with ops. */
	for (i = 0; i < tm->nops; i++) {
		idx[i].key = tm->ops[i].dst * nf + tm->ops[i].file;
		idx[i].group = i;
	}
	qsort(idx, tm->nops, sizeof(*idx), cmp_index);
	for (i = j = 0; i < tm->nops; i++)
		if (i == 0 || idx[i].key != idx[j - 1].key)
			idx[j++] = idx[i];
	ngroups = j;
	g = xcalloc(ngroups ? ngroups : 1, sizeof(*g));
	for (i = 0; i < ngroups; i++) {
		g[i].host = idx[i].key / (nf ? nf : 1);
		g[i].file = idx[i].key % (nf ? nf : 1);
		idx[i].group = i;
	}
	src = xcalloc(tm->nops ? tm->nops : 1, sizeof(size_t));
	for (i = 0; i < tm->nops; i++) {
		struct timed_op *o = &tm->ops[i];
		struct tgroup *d = &g[group_of(idx, ngroups, o->dst * nf +
		    o->file)];

		d->have = o->dest_have;
		if (d->nops == d->capops) {
			d->capops = d->capops ? 2 * d->capops : 4;
			d->ops = xreallocarray(d->ops, d->capops,
			    sizeof(size_t));
		}
		d->ops[d->nops++] = i;
		o->done = xcalloc(o->nblocks ? o->nblocks : 1, sizeof(double));
		/* A source only waited on beyond what it holds. */
		src[i] = o->offset + o->length > o->source_have ?
		    group_of(idx, ngroups, o->src * nf + o->file) : (size_t)-1;
		if (src[i] != (size_t)-1) {
			struct tgroup *s = &g[src[i]];

			d->waiting++;
			if (s->nusers == s->capusers) {
				s->capusers = s->capusers ? 2 * s->capusers : 4;
				s->users = xreallocarray(s->users, s->capusers,
				    sizeof(size_t));
			}
			s->users[s->nusers++] = (size_t)(d - g);
		}
	}
	for (i = 0; i < ngroups; i++)
		sort_by_offset(tm, &g[i]);
	queue = xcalloc(ngroups ? ngroups : 1, sizeof(size_t));
	for (i = 0; i < ngroups; i++)
		if (g[i].waiting == 0)
			queue[tail++] = i;
	lv.tm = tm;
	lv.g = g;
	lv.src = src;
	/* A level at a time: the groups whose sources are all timed. */
	while (head < tail) {
		size_t end = tail, chunks, k;

		lv.queue = queue + head;
		lv.n = end - head;
		chunks = (lv.n + TIMING_CHUNK - 1) / TIMING_CHUNK;
		if (lv.n >= TIMING_PARALLEL_MIN)
			parallel_for(chunks, time_chunk, &lv, NULL);
		else
			for (k = 0; k < chunks; k++)
				time_chunk(&lv, k);
		for (; head < end; head++) {
			struct tgroup *d = &g[queue[head]];

			d->timed = 1;
			for (i = 0; i < d->nusers; i++)
				if (--g[d->users[i]].waiting == 0)
					queue[tail++] = d->users[i];
		}
	}
	/* What is left waits, directly or not, on a cycle. */
	for (i = 0; i < ngroups; i++)
		for (j = 0; !g[i].timed && j < g[i].nops; j++) {
			struct timed_op *o = &tm->ops[g[i].ops[j]];

			o->cycle = 1;
			o->finish = INFINITY;
		}
	for (i = 0; i < ngroups; i++) {
		free(g[i].ops);
		free(g[i].ends);
		free(g[i].at);
		free(g[i].users);
	}
	free(g);
	free(idx);
	free(src);
	free(queue);
}

/* What a relay hop from a host of site from to one of site to adds
 * beyond its block's transfer: SCHED_HOP_TRIPS of the round trip, twice
 * the route's latency (which is one way), and SCHED_HOP_DELAY at
 * least. */
double
hop_delay(struct topology *t, size_t from, size_t to)
{
	return fmax(SCHED_HOP_DELAY, SCHED_HOP_TRIPS * 2 * site_latency(t,
	    from, to));
}

/*
 * An op of a plan as the timing rule takes it: from host src to host dst,
 * of file (its index in the file set), its range, block size and rate the
 * plan's, the source holding source_have bytes and the destination
 * dest_have when it starts.  The tag is left 0 for the caller.
 */
struct timed_op
timed_op_from(const struct op *o, size_t dst, size_t src, size_t file,
    uint64_t source_have, uint64_t dest_have)
{
	struct timed_op x = { 0 };

	x.dst = dst;
	x.src = src;
	x.file = file;
	x.offset = o->offset;
	x.length = o->length;
	x.block_size = o->block_size;
	x.rate = o->rate;
	x.source_have = source_have;
	x.dest_have = dest_have;
	return x;
}

void
timing_init(struct timing *tm, size_t nfiles)
{
	memset(tm, 0, sizeof(*tm));
	tm->nfiles = nfiles;
}

/* Adds an op to be timed; returns its index.  nblocks is computed. */
size_t
timing_add(struct timing *tm, const struct timed_op *o)
{
	struct timed_op *t;

	if (tm->nops == tm->capops) {
		tm->capops = tm->capops ? 2 * tm->capops : 64;
		tm->ops = xreallocarray(tm->ops, tm->capops, sizeof(*tm->ops));
	}
	t = &tm->ops[tm->nops];
	*t = *o;
	t->nblocks = o->length == 0 ? 0 : (o->offset + o->length - 1) /
	    o->block_size - o->offset / o->block_size + 1;
	t->done = NULL;
	t->finish = 0;
	t->cycle = 0;
	return tm->nops++;
}

void
timing_free(struct timing *tm)
{
	size_t i;

	for (i = 0; i < tm->nops; i++)
		free(tm->ops[i].done);
	free(tm->ops);
	memset(tm, 0, sizeof(*tm));
}
