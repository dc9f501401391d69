/*
 * fallback.c: a way out for a host whose relay is late.  An op whose
 * source relays its range (receives it in the same epoch) waits on that
 * source; if its agent starts late, or never, the op moves nothing all
 * round.  Such an op is given a second source: the host that feeds its
 * source that range.  The destination takes it, for the whole op, only
 * when from a stated time on its source still has nothing of the range
 * and runs no plan of the round (ROOT/.sluice/began: one that runs it
 * waits on its own source, and is waited for); the source's own op from
 * the same host gives up the same rate from that time unless it had
 * passed the range's start or begun its plan by then (a shed entry).
 * So a fallback needs no capacity of its own: the destination no longer
 * uses its op's route, and the relay uses that much less of the route
 * from the second source.  Only a fallback whose route lies within those
 * two is planned; fallback_violation() is the rule, which verify applies.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

/* The op of plan p on file version (file, version) that covers [off,
 * end), from source host src (NULL: any); NULL when not exactly one. */
static const struct op *
feeding_op(const struct plan *p, const char *file, uint64_t version,
    uint64_t off, uint64_t end, const char *src)
{
	const struct op *found = NULL;
	size_t i;

	for (i = 0; p != NULL && i < p->nops; i++) {
		const struct op *o = &p->ops[i];

		if (strcmp(o->file, file) != 0 || o->version != version ||
		    o->offset > off || o->offset + o->length < end ||
		    (src != NULL && strcmp(o->source.host, src) != 0))
			continue;
		if (found != NULL)
			return NULL;
		found = o;
	}
	return found;
}

static int
has_resource(char *const *res, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(res[i], id) == 0)
			return 1;
	return 0;
}

/*
 * The route from host f to dst, into res (at most ROUTE_MAX + 4); its
 * length, or -1 when there is none.  *bad is the first of its resources
 * that neither op o nor op p uses (the ones a fallback may take over),
 * NULL when there is none.
 */
static int
freed_route(struct topology *t, size_t f, size_t dst, const struct op *o,
    const struct op *p, size_t *res, const char **bad)
{
	int n, i;

	*bad = NULL;
	if ((n = route_resources(t, f, dst, res, ROUTE_MAX + 4)) < 0)
		return -1;
	for (i = 0; i < n && *bad == NULL; i++) {
		const char *id = t->resources[res[i]].id;

		if (!has_resource(o->resources, o->nresources, id) &&
		    !has_resource(p->resources, p->nresources, id))
			*bad = id;
	}
	return n;
}

/*
 * The rule for op o of host dst's plan, which has a fallback, against
 * the plan of its source (src_plan, NULL when it has none this epoch):
 * the source has exactly one op of this epoch on the file version that
 * covers o's range, from the fallback's host, which is not dst; the
 * fallback's resources are the route from that host to dst, each one of
 * that op's or of o's; the fallback's rate is at most o's; and that op
 * sheds the same rate for dst at o's offset before the fallback's time.
 * Returns 0, or -1 with why filled.
 */
int
fallback_violation(struct topology *t, const struct plan *src_plan,
    const struct op *o, size_t dst, char *why, size_t whylen)
{
	const struct op_fallback *fb = o->fallback;
	const struct op *p;
	const char *bad;
	size_t res[ROUTE_MAX + 4], i;
	long f = topology_host(t, fb->source.host);
	int n;

	if (f < 0) {
		snprintf(why, whylen, "fallback source '%s' is no host",
		    fb->source.host);
		return -1;
	}
	if ((size_t)f == dst) {
		snprintf(why, whylen, "fallback source is the host itself");
		return -1;
	}
	if ((p = feeding_op(src_plan, o->file, o->version, o->offset,
	    o->offset + o->length, fb->source.host)) == NULL) {
		snprintf(why, whylen, "source %s has no one op of this epoch "
		    "from %s covering [%llu,%llu)", o->source.host,
		    fb->source.host, (unsigned long long)o->offset,
		    (unsigned long long)(o->offset + o->length));
		return -1;
	}
	if (!(fb->rate <= o->rate)) {
		snprintf(why, whylen, "fallback rate %.0f above the op's %.0f",
		    fb->rate, o->rate);
		return -1;
	}
	n = freed_route(t, (size_t)f, dst, o, p, res, &bad);
	for (i = 0; n >= 0 && (size_t)n == fb->nresources &&
	    i < (size_t)n; i++)
		if (!has_resource(fb->resources, fb->nresources,
		    t->resources[res[i]].id))
			break;
	if (n < 0 || (size_t)n != fb->nresources || i < (size_t)n) {
		snprintf(why, whylen, "fallback resources are not the route "
		    "from %s", fb->source.host);
		return -1;
	}
	if (bad != NULL) {
		snprintf(why, whylen, "fallback uses %s, which neither the op "
		    "nor %s's op %s frees", bad, o->source.host, p->id);
		return -1;
	}
	for (i = 0; i < p->nshed; i++) {
		const struct op_shed *sh = &p->shed[i];

		if (sh->offset == o->offset && sh->rate >= fb->rate &&
		    sh->at < fb->after && strcmp(sh->host,
		    t->hosts[dst].name) == 0)
			return 0;
	}
	snprintf(why, whylen, "%s's op %s sheds no %.0f B/s for it before "
	    "%.1fs", o->source.host, p->id, fb->rate, fb->after);
	return -1;
}

/* An op that may get a fallback, and the op of its source's that feeds
 * it. */
struct fb_cand {
	size_t		 host, op;	/* the op: plans[host]->ops[op] */
	size_t		 feeder;	/* its source */
	const struct op	*fed;		/* the source's op */
	double		 first;		/* its first block is done, seconds
					 * after issue */
	double		 weight;	/* the hosts that wait on its
					 * destination (relay_weight()) */
};

/* By the op fed, then the most hosts waiting first, then by host. */
static int
cmp_fed(const void *a, const void *b)
{
	const struct fb_cand *x = a, *y = b;

	if (x->fed != y->fed)
		return (uintptr_t)x->fed < (uintptr_t)y->fed ? -1 : 1;
	if (x->weight != y->weight)
		return x->weight > y->weight ? -1 : 1;
	return (x->host > y->host) - (x->host < y->host);
}

static void
copy_source(struct plan_source *to, const struct plan_source *from)
{
	to->host = xstrdup(from->host);
	to->address = xstrdup(from->address);
	to->port = from->port;
	to->user = from->user != NULL ? xstrdup(from->user) : NULL;
	to->root = xstrdup(from->root);
}

/* The relay edges of the round: op i of the timing, from src to dst. */
struct relay_graph {
	const struct timing	*tm;
	size_t			 nhosts;
	size_t			*first, *next;	/* per file and host, per op:
						 * lists */
	double			*weight;	/* per file and host; < 0 while
						 * open */
};

/*
 * How many hosts wait on host h for the file in this round: h and every
 * host that reads the file from one that waits on it, through an op
 * whose source does not hold the range's start.  A host met again while
 * open (a relay cycle) counts nothing more.
 */
static double
relay_weight(struct relay_graph *g, size_t file, size_t h)
{
	size_t k = file * g->nhosts + h, i;
	double w = 1;

	if (g->weight[k] != 0)
		return fmax(g->weight[k], 0);
	g->weight[k] = -1;
	for (i = g->first[k]; i != SIZE_MAX; i = g->next[i])
		w += relay_weight(g, file, g->tm->ops[i].dst);
	return g->weight[k] = w;
}

static void
relay_graph_init(struct relay_graph *g, const struct sched *s,
    const struct timing *tm)
{
	size_t nf = s->m->fileset->nfiles, n, i;

	g->tm = tm;
	g->nhosts = s->t->nhosts;
	n = nf * g->nhosts;
	g->first = xreallocarray(NULL, n, sizeof(size_t));
	g->next = xreallocarray(NULL, tm->nops + 1, sizeof(size_t));
	g->weight = xcalloc(n, sizeof(double));
	for (i = 0; i < n; i++)
		g->first[i] = SIZE_MAX;
	for (i = 0; i < tm->nops; i++) {
		const struct timed_op *x = &tm->ops[i];
		size_t k = x->file * g->nhosts + x->src;

		if (x->cycle || s->len[x->src * nf + x->file] > x->offset)
			continue;
		g->next[i] = g->first[k];
		g->first[k] = i;
	}
}

static void
relay_graph_free(struct relay_graph *g)
{
	free(g->first);
	free(g->next);
	free(g->weight);
}

/*
 * Gives every new op whose source relays its range a fallback, where the
 * rule allows one.  The relay's op from the fallback's host sheds, for
 * each host that may fall back on it, a share of its rate: in a round
 * that cannot be the last, in proportion to the hosts that wait on that
 * one for the file (relay_weight(): a host that feeds a site feeds every
 * host there), the relay counting one, so that the round moves the most;
 * in one that may be the last, an equal share (its rate over k +
 * FALLBACK_LAST_KEEP for k hosts), so that the slowest is the least
 * slow.  Either way the relay keeps a share.  The fallback is tried
 * FALLBACK_MARGIN after the op's first block was to be done, the shed
 * applies FALLBACK_GUARD earlier.  window is the round's length,
 * seconds.
 */
void
plans_fallback(const struct sched *s, struct plan **plans, double window)
{
	struct topology *t = s->t;
	size_t nf = s->m->fileset->nfiles, nc = 0, h, i, j, k;
	double margin = fmax(FALLBACK_MARGIN_MIN, FALLBACK_MARGIN * window);
	struct fb_cand *c = NULL;
	struct timing tm;
	struct relay_graph g;

	/* When the first block is due as real relays run. */
	plans_time(s, plans, &tm, 1, s->start);
	relay_graph_init(&g, s, &tm);
	for (i = 0; i < tm.nops; i++) {
		const struct timed_op *x = &tm.ops[i];
		const struct op *o, *p;
		const char *bad;
		size_t src, res[ROUTE_MAX + 4];
		long f;

		h = x->tag >> 20;
		o = &plans[h]->ops[x->tag & 0xfffff];
		src = x->src;
		/* A source that holds the range's start serves it. */
		if (x->cycle || x->nblocks == 0 || !isfinite(x->done[0]) ||
		    s->len[src * nf + x->file] > o->offset ||
		    x->done[0] + margin >= window)
			continue;
		if ((p = feeding_op(plans[src], o->file, o->version,
		    o->offset, o->offset + o->length, NULL)) == NULL ||
		    (f = topology_host(t, p->source.host)) < 0 ||
		    (size_t)f == h || !s->source_ok[f])
			continue;
		if (freed_route(t, (size_t)f, h, o, p, res, &bad) < 0 ||
		    bad != NULL)
			continue;
		c = xreallocarray(c, nc + 1, sizeof(*c));
		c[nc].host = h;
		c[nc].op = x->tag & 0xfffff;
		c[nc].feeder = src;
		c[nc].fed = p;
		c[nc].weight = relay_weight(&g, x->file, h);
		c[nc++].first = x->done[0];
	}
	relay_graph_free(&g);
	timing_free(&tm);
	if (nc > 0)
		qsort(c, nc, sizeof(*c), cmp_fed);
	for (i = 0; i < nc; i = j) {
		struct op *p = (struct op *)c[i].fed;
		/* In a round that may be the last the slowest host decides
		 * when it ends: equal parts, the relay's least.  In one that
		 * cannot, what the round moves in all: parts by the hosts
		 * below, the relay's one. */
		int weigh = !s->may_end;
		double all = weigh ? 1 : FALLBACK_LAST_KEEP;
		size_t end;

		for (j = i; j < nc && c[j].fed == c[i].fed; j++)
			;
		/* No more than an op may carry shed entries for: those on
		 * whom the most hosts wait. */
		end = j - i > OP_MAX_SHED ? i + OP_MAX_SHED : j;
		for (k = i; k < end; k++)
			all += weigh ? c[k].weight : 1;
		for (k = i; k < end; k++) {
			struct op *o = &plans[c[k].host]->ops[c[k].op];
			struct op_fallback *fb;
			struct op_shed *sh;
			double rate = floor(fmin(o->rate, p->rate *
			    (weigh ? c[k].weight : 1) / all));
			size_t res[ROUTE_MAX + 4];
			long f = topology_host(t, p->source.host);
			int n, m;

			if (rate < 1)
				continue;
			n = route_resources(t, (size_t)f, c[k].host, res,
			    ROUTE_MAX + 4);
			fb = o->fallback = xcalloc(1, sizeof(*fb));
			copy_source(&fb->source, &p->source);
			fb->after = ceil((c[k].first + margin) * 10) / 10;
			fb->rate = rate;
			fb->resources = xcalloc((size_t)n, sizeof(char *));
			for (m = 0; m < n; m++)
				fb->resources[fb->nresources++] = xstrdup(
				    t->resources[res[m]].id);
			p->shed = xreallocarray(p->shed, p->nshed + 1,
			    sizeof(*p->shed));
			sh = &p->shed[p->nshed++];
			sh->host = xstrdup(t->hosts[c[k].host].name);
			sh->at = floor((c[k].first + margin - FALLBACK_GUARD) * 10) /
			    10;
			sh->offset = o->offset;
			sh->rate = rate;
		}
	}
	free(c);
}
