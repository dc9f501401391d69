/*
 * forest.c: the round's structure first, its rates second.  Per file, a
 * tree of the sites that need it over their real routes (Prim's, from the
 * sites that hold it, a site's children costing more and a link's other
 * files too, so that each file crosses each WAN link once and the trees
 * lean on different links); within each site a tree of its hosts whose
 * interior roles rotate from file to file, so that hosts forward in
 * proportion to their egress (with equal NICs, about as much as they
 * receive).  Then rates, by progressive filling over
 * every capacity the round has left, a relay never faster than what
 * feeds it; and the forest's blocks granted before the LP or the greedy
 * fill what it leaves (allocate.c).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

/* The widest a tree within a site is made. */
#define FOREST_FANOUT_MAX 3
/* An agent starting more than this share of the round after the earliest
 * is late: it is placed below those that are not. */
#define FOREST_LATE 0.02
/* A site whose holder can send every host of it what it needs within
 * this share of the round gets it from the holder alone: a few seconds
 * of a minute's round, where relays would save at most those. */
#define FOREST_FLAT 0.05
/* An exporter this many blocks behind a site's head still feeds it. */
#define FOREST_CATCHUP 2
/* ... and, in the shape SHAPE_NEAR, this many where the head's nearest
 * holder is in another partition. */
#define FOREST_NEAR_CATCHUP 4
/* ... and, where the holder's site has no room for the head's stream,
 * this share of what the exporter brings in the round. */
#define FOREST_CATCHUP_SHARE 0.1
/* The widest a tree within a site is made in the shape SHAPE_WIDE. */
#define FOREST_FANOUT_WIDE 6
/* How many times the sites' trees count a hop in the shape SHAPE_LOW. */
#define FOREST_LOW_HOPS 3

static int
wants(const struct sched *s, size_t host, size_t file)
{
	return s->demand_of[host * s->m->fileset->nfiles + file] >= 0;
}

/* How many files host wants. */
static size_t
wanted(const struct sched *s, size_t host)
{
	size_t f, n = 0;

	for (f = 0; f < s->m->fileset->nfiles; f++)
		n += wants(s, host, f);
	return n;
}

/* ------------------------------------------------------------------ */
/* The sites' tree of a file                                          */

struct site_tree {
	size_t		*order;		/* sites in the order they joined */
	size_t		 n;
	long		*parent;	/* per site: the site feeding it */
	size_t		*depth;		/* per site: below the first */
	double		*lag;		/* per site: its hops' delays from
					 * the first (hop_delay()) */
};

/* The WAN resources of the route from one site to another: its uplink,
 * links and downlink; n -1 when there is none or one is blocked. */
struct site_route {
	size_t		 res[ROUTE_MAX];
	int		 n;
	double		 hop;		/* what a relay hop on it costs,
					 * hop_delay() */
};

static struct site_route *
site_routes(struct sched *s)
{
	size_t ns = s->t->nsites, u, v;
	struct site_route *rt = xcalloc(ns > 0 ? ns * ns : 1, sizeof(*rt));
	int i;

	for (u = 0; u < ns; u++)
		for (v = 0; v < ns; v++) {
			struct site_route *r = &rt[u * ns + v];
			int n;

			r->n = -1;
			if (u == v || s->t->sites[u].nhosts == 0 ||
			    s->t->sites[v].nhosts == 0)
				continue;
			n = route_sites(s->t, u, v, r->res + 1, ROUTE_MAX - 2);
			if (n < 0)
				continue;
			r->res[0] = res_site_up(s->t, u);
			r->res[n + 1] = res_site_down(s->t, v);
			r->n = n + 2;
			r->hop = hop_delay(s->t, u, v);
			for (i = 0; i < r->n; i++)
				if (s->blocked[r->res[i]])
					r->n = -1;
		}
	return rt;
}

/* What a stream on a route gets with more streams besides those of every
 * file's tree on it (1: one more; 0: as the trees stand, at least one):
 * the least, over its resources, of the capacity over the streams;
 * INFINITY when all are unlimited. */
static double
route_share(const struct topology *t, const struct site_route *r,
    const unsigned *use, unsigned more)
{
	double share = INFINITY;
	int i;

	for (i = 0; i < r->n; i++) {
		double cap = t->resources[r->res[i]].capacity;

		if (cap != CAP_UNLIMITED)
			share = fmin(share, cap / fmax(1, use[r->res[i]] +
			    more));
	}
	return share;
}

/*
 * What each site's hosts can send beyond what they feed each other, in
 * bytes/s: their egress, less the ingress of those that need files, plus
 * what enters it from outside (a stream per file it needs at its hosts'
 * mean pace).  A site that exports more streams than this slows every
 * tree below its exporters.  need and best are sched_forest()'s: per
 * file and site, whether the site needs the file, and the most a host of
 * it that may serve holds.  In the shape SHAPE_INTAKE (round.c plans it
 * in every round), no stream enters a site of a file that one of its
 * hosts holds the most of: its hosts feed each other all of that file,
 * and what it can export is less by so much (the generator's site of a
 * one-round push has room for one copy of every file, where the rule
 * above counts two; the sites' trees then chain the sites rather than
 * hang them all on it).
 */
static double *
site_spare(const struct sched *s, const char *need, const uint64_t *best)
{
	const struct topology *t = s->t;
	size_t nf = s->m->fileset->nfiles, ns = t->nsites, i, j, f;
	double *spare = xcalloc(ns ? ns : 1, sizeof(double));
	uint64_t *top = xcalloc(nf ? nf : 1, sizeof(uint64_t));
	int intake = (s->shape & SHAPE_INTAKE) != 0;

	for (f = 0; f < nf; f++)
		for (i = 0; i < ns; i++)
			top[f] = best[f * ns + i] > top[f] ? best[f * ns + i] :
			    top[f];
	for (i = 0; i < ns; i++) {
		const struct site *st = &t->sites[i];
		double out = 0, in = 0, streams = 0, files = 0;

		for (f = 0; f < nf; f++)
			files += need[f * ns + i] && !(intake && top[f] > 0 &&
			    best[f * ns + i] == top[f]);
		for (j = 0; j < st->nhosts && isfinite(out); j++) {
			const struct host *h = &t->hosts[st->hosts[j]];
			size_t w = wanted(s, st->hosts[j]);

			if (s->source_ok[st->hosts[j]])
				out += h->nic_out == CAP_UNLIMITED ? INFINITY :
				    h->nic_out;
			if (w > 0) {
				if (h->nic_in == CAP_UNLIMITED)
					out = INFINITY;
				in += h->nic_in;
				streams += (double)w;
			}
		}
		spare[i] = !isfinite(out) ? INFINITY : out - in + (streams > 0 ?
		    in / streams * files : 0);
		if (spare[i] < 0)
			spare[i] = 0;
	}
	free(top);
	return spare;
}

/*
 * How a stream of share sh into a site depth sites below a root ranks,
 * the greater the better, lag seconds being what the hops on the way
 * cost beyond their blocks (hop_delay(): more where a route's round trip
 * is long).  Each site on the way adds a hop (a block at the stream's
 * share and its delay) before the first byte arrives.
 * In a round that cannot be the last: what it moves in the round, a
 * stream whose hops outlast the round ranked by its share alone (as one
 * moving for a twentieth of it).  In one that may be (s->may_end): how
 * soon it brings the site the lack bytes it is short of, hops included,
 * as a rate (one over the time), since there the round ends when the
 * last site is whole, and a stream a little wider but a level deeper
 * brings them later: every host below waits for the last block to come
 * down the whole chain of sites.  In the shape SHAPE_LOW the hops count
 * FOREST_LOW_HOPS times there: the hosts within each site on the way are
 * hops too, which this rank does not see.
 */
static double
stream_rank(const struct sched *s, double sh, size_t depth, double lag,
    double block, uint64_t lack)
{
	double hops;

	if (!isfinite(sh) || !(sh > 0))
		return sh;
	hops = (double)depth * block / sh + lag;
	if ((s->shape & SHAPE_LOW) && s->may_end)
		hops *= FOREST_LOW_HOPS;
	if (s->may_end)
		return 1 / ((double)lack / sh + hops);
	return sh * fmax(s->T - hops, s->T / 20);
}

/*
 * The tree of the sites that need file f, grown from those whose hosts
 * hold the most of it: each step joins the site whose route from a site
 * already in the tree leaves a stream the most bandwidth, counting the
 * streams of every file's tree so far on each uplink, link and downlink
 * (a widest-path Prim's tree), less what the hops to it cost (what the
 * stream moves in the round, or in a round that may be the last how soon
 * it brings the site what it lacks: stream_rank()), so that a site is
 * not hung a level deeper for a share a little wider; of equals, from the
 * shallowest site, then over the fewest links.  So each file crosses a
 * WAN link once, and the files' trees lean on different links.
 */
static void
sites_tree(struct sched *s, size_t f, const struct site_route *rt,
    const uint64_t *best, const char *need, unsigned *use,
    const double *spare, unsigned *exports, struct site_tree *st)
{
	size_t ns = s->t->nsites, i, u, v;
	char *in = xcalloc(ns ? ns : 1, 1);
	uint64_t top = 0;
	int k;

	for (i = 0; i < ns; i++)
		if (best[i] > top)
			top = best[i];
	st->n = 0;
	for (i = 0; i < ns; i++) {
		st->parent[i] = -1;
		st->depth[i] = 0;
		st->lag[i] = 0;
		if (top > 0 && best[i] == top) {
			in[i] = 1;
			st->order[st->n++] = i;
		}
	}
	for (;;) {
		double bs = -1;
		size_t bu = 0, bv = 0;
		int bh = 0;

		for (v = 0; v < ns; v++) {
			if (in[v] || !need[v])
				continue;
			for (i = 0; i < st->n; i++) {
				const struct site_route *r;
				double sh;

				u = st->order[i];
				r = &rt[u * ns + v];
				if (r->n < 0)
					continue;
				sh = stream_rank(s, fmin(route_share(s->t, r,
				    use, 1), spare[u] / (exports[u] + 1)),
				    st->depth[u] + 1, st->lag[u] + r->hop,
				    (double)sched_block_size(s, f),
				    top - best[v]);
				if (sh > bs * (1 + 1e-9) || (sh >= bs * (1 -
				    1e-9) && (st->depth[u] < st->depth[bu] ||
				    (st->depth[u] == st->depth[bu] &&
				    r->n < bh)))) {
					bs = sh;
					bu = u;
					bv = v;
					bh = r->n;
				}
			}
		}
		if (bs < 0)
			break;
		in[bv] = 1;
		st->parent[bv] = (long)bu;
		st->depth[bv] = st->depth[bu] + 1;
		st->lag[bv] = st->lag[bu] + rt[bu * ns + bv].hop;
		st->order[st->n++] = bv;
		exports[bu]++;
		for (k = 0; k < rt[bu * ns + bv].n; k++)
			use[rt[bu * ns + bv].res[k]]++;
	}
	free(in);
}

/* ------------------------------------------------------------------ */
/* The hosts' tree of a file within a site                            */

struct member {
	size_t		 host;
	int		 serves;	/* may serve */
	uint64_t	 len;
	double		 late;		/* its agent starts this late: 0, or
					 * its start (sched_late()) */
	double		 out;
	unsigned	 kids;		/* streams it feeds so far */
	size_t		 key;		/* the rotation, for ties */
};

/*
 * The order of a site's hosts for a file: those that may serve, then by
 * what they hold, then the late last, then by egress for each stream
 * they already feed and this one (so that a host much faster than the
 * rest heads as many files' trees as its egress is worth, not every
 * one: with every file entering through one host, that host's absence
 * costs the whole round), then by egress, then by those streams (which
 * decide only between hosts of unlimited egress: one of those still
 * heads every tree), then by rotation.
 */
static int
cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	double ox, oy;

	if (x->serves != y->serves)
		return x->serves ? -1 : 1;
	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;
	if (x->late != y->late)
		return x->late < y->late ? -1 : 1;
	ox = x->out / (double)(x->kids + 1);
	oy = y->out / (double)(y->kids + 1);
	if (ox != oy)
		return ox > oy ? -1 : 1;
	if (x->out != y->out)
		return x->out > y->out ? -1 : 1;
	if (x->kids != y->kids)
		return x->kids < y->kids ? -1 : 1;
	return (x->key > y->key) - (x->key < y->key);
}

/* How much later than another an agent may start and still count as
 * starting with it: FOREST_LATE of the round, at least a second (of the
 * round's time, not of what ops fill: round_fill() sizes that from who
 * is late). */
static double
late_slack(const struct sched *s)
{
	return fmax(1.0, FOREST_LATE * s->window);
}

/*
 * The round that ops fill.  Where the hosts whose agents start on time
 * cannot all be whole by the round's end (what they lack, over the lower
 * bound at the payload's share with the ladder's margin, outlasts it):
 * what the round leaves after the latest start the states say of such
 * an agent, at least SCHED_START_LEAST, and before the agents stop their
 * ops (PLAN_REPORT_MARGIN before expiry), where that is more than
 * SCHED_ROUND_USE of it (where no start is said, nine tenths).  That tenth
 * was kept for the agents' start (an agent begins its plan a moment
 * after the plan's issue, its sources' sessions opened: 0.0-0.2 s
 * measured under cron on loopback namespaces, 0.5 s simulated); kept
 * whole, the hosts' links stood idle for the rest of it every round, and
 * no run of many rounds could end within 1.18 of the lower bound.  A
 * round that may be the last (s->may_end, the bound on what the hosts on
 * time lack fits in what the round leaves after the latest start) keeps
 * it: there an op stretched over the whole round at a low rate, at the
 * end of a chain of relays, misses its last block by a hop's delay, and
 * the hosts below wait a round for it.
 * A late agent's ops are still cut to the round by the timing rule
 * (fit_round() in emit.c).  Called once lateness is known, silent
 * hosts' included (sched_late()).
 */
static void
round_fill(struct sched *s)
{
	const struct topology *t = s->t;
	double latest = -1, begin, ops;
	char *late = xcalloc(t->nhosts ? t->nhosts : 1, 1);
	size_t i;

	for (i = 0; i < t->nhosts; i++) {
		late[i] = !s->dest_ok[i] || sched_late(s, i) > 0;
		if (!late[i] && s->m->states[i] != NULL &&
		    s->m->states[i]->has_start)
			latest = fmax(latest, s->start[i]);
	}
	/* Before its first plan an agent says its place in the splay (0
	 * with none), not how long it takes to begin one; and a start just
	 * after issue still has the master to reach.  Agents stop their
	 * ops a margin before the plans expire (sched_ops_window()). */
	begin = fmax(latest, SCHED_START_LEAST);
	s->may_end = sched_fill_time(s, late) < s->window - begin;
	ops = sched_ops_window(s, s->window + s->late);
	if (latest >= 0 && !s->may_end && ops - begin > s->T)
		s->T = ops - begin;
	free(late);
}

/*
 * How late host h's agent starts, for its place in the trees: 0 when
 * within late_slack() of the earliest agent's start (s->late_after),
 * else its start.
 * Those that start late come last in their site's order: a parent
 * starts before the hosts below it.  Valid once sched_forest() has found
 * the earliest start.
 */
double
sched_late(const struct sched *s, size_t h)
{
	return s->start[h] > s->late_after ? s->start[h] : 0;
}

/*
 * The fan-out of a site's tree of a file.  Each hop adds a block and
 * SCHED_HOP_DELAY to when the last host has it; a tree d wide is log d of
 * the hosts deep, but unless d divides the files the site has in flight
 * some of its hosts feed more streams than they receive.  Of the widths 1
 * (a chain) to FOREST_FANOUT_MAX (FOREST_FANOUT_WIDE in the shape
 * SHAPE_WIDE, in a round that may be the last): the one that moves the
 * most in the round when the file takes longer than a round, else the
 * one that ends it first.
 */
static size_t
site_fanout(const struct sched *s, const struct member *e, size_t n,
    size_t files, size_t f)
{
	double rate = INFINITY, bytes = 0, best = -INFINITY;
	size_t nf = s->m->fileset->nfiles, j, d, pick = 1;
	size_t widest = (s->shape & SHAPE_WIDE) && s->may_end ?
	    FOREST_FANOUT_WIDE : FOREST_FANOUT_MAX;

	for (j = 0; j < n; j++) {
		const struct host *h = &s->t->hosts[e[j].host];
		long k = s->demand_of[e[j].host * nf + f];

		if (h->nic_in != CAP_UNLIMITED)
			rate = fmin(rate, h->nic_in);
		if (h->nic_out != CAP_UNLIMITED)
			rate = fmin(rate, h->nic_out);
		if (k >= 0)
			bytes = fmax(bytes, (double)(s->demands[k].want -
			    s->demands[k].have));
	}
	if (!isfinite(rate) || n < 3 || !(bytes > 0))
		return 1;
	if (files < 1)
		files = 1;
	rate *= SCHED_PAYLOAD_SHARE / (double)files;
	bytes = fmin(bytes, (double)s->m->manifests[f]->length);
	for (d = 1; d <= widest; d++) {
		/* Inner roles go round the files: the busiest host feeds
		 * d streams of each of ceil(files / d) files. */
		double r = rate * (double)files / (double)(d * ((files + d -
		    1) / d));
		double depth = d == 1 ? (double)n : ceil(log((double)n *
		    (double)(d - 1) + 1) / log((double)d));
		double hops = depth * (fmin((double)sched_block_size(s, f),
		    bytes) / r + SCHED_HOP_DELAY), v;

		if (bytes / rate > s->T)
			v = r * (s->T - hops);		/* moved in the round */
		else
			v = -(bytes / r + hops);	/* when it ends */
		if (v > best) {
			best = v;
			pick = d;
		}
	}
	return pick;
}

/* The parent of position k > 0 of a heap d wide, the first at 0.  Where
 * reserve is not 0, the first feeds d - reserve (at least one; the rest
 * of its streams go to other sites), and each level's positions go round
 * the level above, so that a level not full spreads its streams over
 * every parent. */
static size_t
heap_up(size_t d, size_t reserve, size_t k)
{
	size_t from = 0, width = 1, next = 1, nwidth;

	if (reserve == 0 || d < 2)
		return (k - 1) / d;
	nwidth = reserve < d ? d - reserve : 1;
	while (k >= next + nwidth) {
		from = next;
		width = nwidth;
		next += nwidth;
		nwidth *= d;
	}
	return from + (k - next) % width;
}

/* The nearest host before e[j] in the heap of fan-out d that may serve. */
static long
heap_parent(const struct member *e, size_t first, size_t j, size_t d,
    size_t reserve)
{
	while (j > first) {
		j = first + heap_up(d, reserve, j - first);
		if (e[j].serves)
			return (long)e[j].host;
	}
	return -1;
}

struct site_hosts {
	struct member	*e;
	size_t		 n;
	size_t		 lead;		/* the first that needs the file */
	unsigned	*kids;		/* per host: streams it feeds, of
					 * every file so far */
	unsigned	*fkids;		/* host * nfiles + file: of one */
	size_t		*depth;		/* per member: below the lead */
	double		*busy;		/* per host: seconds of its egress
					 * fed to flat sites so far */
	double		 inflow;	/* B/s a stream of the file brings its
					 * first host from another site; 0
					 * when none does */
	size_t		 root;		/* the heap's first: lead, or lead + 1
					 * when the first feeds only one */
	size_t		 reserve;	/* the heap's first feeds so many
					 * streams fewer of it: it exports the
					 * file */
	unsigned	*tops;		/* per host: files of which it alone
					 * holds the most in its site */
	size_t		 nexports;	/* sites below it in the file's tree
					 * (0: it feeds no other the file) */
	unsigned	*ahead;		/* per host: exports counted in kids
					 * before they are made
					 * (SHAPE_COUNTED) */
};

/* The depth of position k of a heap d wide, the first at 0 (reserve:
 * heap_up()). */
static size_t
heap_depth(size_t d, size_t reserve, size_t k)
{
	size_t depth = 0;

	if (d <= 1)
		return k;
	while (k > 0) {
		k = heap_up(d, reserve, k);
		depth++;
	}
	return depth;
}

/* Host h's streams over its egress, with more of them: 0 when its
 * egress is unlimited. */
static double
host_load(const struct sched *s, const unsigned *kids, size_t h,
    unsigned more)
{
	double out = s->t->hosts[h].nic_out;

	return out == CAP_UNLIMITED ? 0 : (double)(kids[h] + more) / out;
}

/*
 * Of the members before e[j] (which hold at least as much), the parent
 * that keeps every host's egress even: one that may serve, feeds fewer
 * than d streams of file f and is no deeper than e[j]'s parent in the
 * heap, not late unless e[j] is; of those, the one feeding the fewest
 * streams of every file for its egress, then the shallowest, then the
 * first.  -1 when there is none.
 */
static long
balanced_parent(const struct sched *s, const struct site_hosts *sh,
    size_t f, size_t j, size_t d)
{
	size_t nf = s->m->fileset->nfiles, i;
	size_t dmax = heap_depth(d, sh->reserve, j - sh->root) + (sh->root -
	    sh->lead);
	long best = -1;

	for (i = sh->lead; i < j; i++) {
		const struct member *x = &sh->e[i];
		const struct member *b;

		if (!x->serves || sh->fkids[x->host * nf + f] >= (i < sh->root ?
		    1 : i == sh->root && sh->reserve ? d - sh->reserve : d) ||
		    sh->depth[i] + 1 > dmax ||
		    (x->late > 0 && !(sh->e[j].late > 0)))
			continue;
		if (best < 0) {
			best = (long)i;
			continue;
		}
		b = &sh->e[best];
		if (host_load(s, sh->kids, x->host, 1) <
		    host_load(s, sh->kids, b->host, 1) ||
		    (host_load(s, sh->kids, x->host, 1) ==
		    host_load(s, sh->kids, b->host, 1) &&
		    sh->depth[i] < sh->depth[best]))
			best = (long)i;
	}
	return best;
}

/*
 * Feeds site's hosts that need file f (complete: a growing file is
 * pipelined down a tree; and not to be sent on to another site, which
 * one host receiving at a holder's full egress does first) straight
 * from the holders that need none of it, when those hold all that is
 * needed and can send it within FOREST_FLAT of the round: each host from
 * the holder that would be done with it first, counting what each holder
 * was given of the files before (sh->busy, seconds of its egress).  Then
 * no host here waits on a relay, and one that starts late or never costs
 * only itself.
 * Returns 1 when done, 0 (nothing changed) when it would not fit.
 */
static int
flat_site(struct sched *s, struct site_hosts *sh, size_t f)
{
	size_t nf = s->m->fileset->nfiles, i, j;
	double limit = FOREST_FLAT * s->T, *busy;
	long *pick;

	if (sh->lead == 0 || sh->nexports > 0 || !s->m->manifests[f]->final)
		return 0;
	pick = xcalloc(sh->n, sizeof(*pick));
	busy = xcalloc(sh->lead, sizeof(*busy));
	for (i = 0; i < sh->lead; i++)
		busy[i] = sh->busy[sh->e[i].host];
	for (j = sh->lead; j < sh->n; j++) {
		long k = s->demand_of[sh->e[j].host * nf + f];
		double bytes, best = INFINITY;

		pick[j] = -1;
		if (k < 0)
			continue;
		bytes = (double)(s->demands[k].want - s->demands[k].have);
		for (i = 0; i < sh->lead; i++) {
			const struct member *x = &sh->e[i];
			double done;

			if (!x->serves || !(x->out > 0) ||
			    x->len < s->demands[k].want)
				continue;
			done = busy[i] + bytes / (x->out * SCHED_PAYLOAD_SHARE);
			if (done < best) {
				best = done;
				pick[j] = (long)i;
			}
		}
		if (pick[j] < 0 || best > limit)
			break;
		busy[pick[j]] = best;
	}
	if (j < sh->n) {
		free(pick);
		free(busy);
		return 0;
	}
	for (i = 0; i < sh->lead; i++)
		sh->busy[sh->e[i].host] = busy[i];
	for (j = sh->lead; j < sh->n; j++) {
		size_t h;

		sh->depth[j] = 0;
		if (pick[j] < 0)
			continue;
		h = sh->e[pick[j]].host;
		s->forest_parent[sh->e[j].host * nf + f] = (long)h;
		sh->kids[h]++;
		sh->fkids[h * nf + f]++;
	}
	free(pick);
	free(busy);
	return 1;
}

/*
 * Whether the site's first host that needs its file counts the streams
 * it will send the sites below ahead (SHAPE_COUNTED): it exports them
 * only with the shallow exports (exporter() may take a host a level
 * down otherwise), and only where it may serve and starts on time.
 */
static int
counts_ahead(const struct sched *s, const struct site_hosts *sh)
{
	return (s->shape & SHAPE_COUNTED) && (s->shape & SHAPE_SHALLOW) &&
	    sh->nexports > 0 && sh->lead < sh->n && sh->e[sh->lead].serves &&
	    !(sh->e[sh->lead].late > 0);
}

/*
 * Orders site's hosts for file f (those that need it or hold some) as
 * cmp_member() says, ties rotated by the file's turn; and links each
 * that needs the file to its parent within the site: the first holders
 * that need nothing feed only the first that does, the rest a heap
 * under it (under the second, when the first feeds only that one:
 * sh->root).
 */
static void
site_hosts(struct sched *s, size_t site, size_t f, size_t turn,
    size_t turns, struct site_hosts *sh)
{
	const struct site *st = &s->t->sites[site];
	size_t nf = s->m->fileset->nfiles, j, n = 0, d, chain;
	double slack = late_slack(s);

	for (j = 0; j < st->nhosts; j++) {
		size_t h = st->hosts[j];

		if (!wants(s, h, f) &&
		    !(s->source_ok[h] && sched_held(s, h, f) > 0))
			continue;
		sh->e[n].host = h;
		/* A host that did not run its last plan may still serve
		 * what it holds, but feeds no tree: it may not run this
		 * one either. */
		sh->e[n].serves = s->source_ok[h] && !s->silent[h];
		sh->e[n].len = sched_held(s, h, f);
		sh->e[n].late = sched_late(s, h);
		sh->e[n].out = s->t->hosts[h].nic_out == CAP_UNLIMITED ?
		    INFINITY : s->t->hosts[h].nic_out;
		sh->e[n].kids = sh->kids[h];
		sh->e[n].key = (j + (turns ? turn * st->nhosts / turns : 0)) %
		    st->nhosts;
		n++;
	}
	sh->n = n;
	qsort(sh->e, n, sizeof(*sh->e), cmp_member);
	for (j = 0; j < n; j++)
		s->forest_rank[sh->e[j].host * nf + f] = j;
	for (sh->lead = 0; sh->lead < n && !wants(s, sh->e[sh->lead].host, f);
	    sh->lead++)
		;
	if (sh->lead == n)
		return;
	if (flat_site(s, sh, f))
		return;
	d = site_fanout(s, sh->e + sh->lead, n - sh->lead, turns, f);
	/* A first host that is fed the file from another site and alone
	 * holds the most of other files of the site too heads all their
	 * trees: fed fast enough that the heap's d streams of each would
	 * take more than its egress, it feeds one host of the file, and
	 * the heap hangs under that one. */
	sh->root = sh->lead;
	if (sh->lead == 0 && n > 2 && d > 1 && sh->e[0].serves &&
	    sh->tops[sh->e[0].host] > 1 && (double)sh->tops[sh->e[0].host] *
	    (double)d * fmin(sh->inflow, sh->e[0].out) > sh->e[0].out)
		sh->root = 1;
	/* In the shape SHAPE_SHALLOW the site exports the file from its
	 * shallowest host (exporter()): the heap's first feeds a stream
	 * fewer, so that the export is not a stream more on an egress the
	 * heap fills.  Where the first host feeds only the heap's first, the
	 * export is its second stream of the file, and the heap's first
	 * feeds one fewer all the same: measured, that does more (the first
	 * host heads other files' trees too).  In the shape SHAPE_COUNTED,
	 * where the first host that needs the file starts on time (else
	 * exporter() takes another), the heap's first feeds a stream fewer
	 * for each site below this one in the file's tree, up to d - 1: a
	 * hub's first host of a file feeds the sites below first.  (A site
	 * below whose first host is fed from elsewhere, forest_heads(), is
	 * counted all the same: the sites' tree is all that is known yet.) */
	sh->reserve = sh->nexports > 0 && d > 1 &&
	    (s->shape & SHAPE_SHALLOW);
	if (sh->reserve && counts_ahead(s, sh))
		sh->reserve = sh->nexports < d ? sh->nexports : d - 1;
	if (sh->lead > 0) {
		s->forest_parent[sh->e[sh->lead].host * nf + f] =
		    (long)sh->e[0].host;
		sh->kids[sh->e[0].host]++;
		sh->fkids[sh->e[0].host * nf + f]++;
	}
	for (j = sh->lead; j < n; j++)
		sh->depth[j] = 0;
	for (j = sh->lead + 1, chain = sh->lead; j < n; j++) {
		long p = j <= sh->root ? (long)sh->e[sh->lead].host :
		    heap_parent(sh->e, sh->root, j, d, sh->reserve), i;

		/* Late agents in a row that start together (within the
		 * slack of lateness of the first of them) form a chain,
		 * each fed by the one before it: each forwards what it
		 * receives, and the chain costs those that are not late
		 * one stream.  Agents spread over a splay form short
		 * chains, not one as long as the site. */
		if (sh->e[j].late > 0 && sh->e[j - 1].late > 0 &&
		    sh->e[j - 1].serves && sh->e[chain].late > 0 &&
		    fabs(sh->e[j].late - sh->e[chain].late) <= slack)
			p = (long)sh->e[j - 1].host;
		/* Where what they hold orders the hosts, the heap makes the
		 * same ones interior in every file: a parent that would
		 * feed two streams fewer for its egress, no deeper, is
		 * taken instead. */
		else {
			chain = j;
			if ((i = balanced_parent(s, sh, f, j, d)) >= 0 &&
			    !(p >= 0 && sh->fkids[(size_t)p * nf + f] < d &&
			    host_load(s, sh->kids, (size_t)p, 0) <
			    host_load(s, sh->kids, sh->e[i].host, 2)))
				p = (long)sh->e[i].host;
		}
		if (p >= 0 && s->forest_rank[(size_t)p * nf + f] >= sh->lead)
			sh->depth[j] = sh->depth[s->forest_rank[(size_t)p * nf +
			    f]] + 1;
		s->forest_parent[sh->e[j].host * nf + f] = p;
		if (p >= 0) {
			sh->kids[p]++;
			sh->fkids[(size_t)p * nf + f]++;
		}
	}
	/* In the shape SHAPE_COUNTED the first host that needs the file,
	 * which sends it to the sites below (exporter()), counts those
	 * streams now: as the later files' trees are built, it sorts after
	 * hosts that feed fewer and is given fewer of their hosts to feed
	 * (balanced_parent()), so that its egress is the exports' first.
	 * Counted only until the exports are made (sched_forest()). */
	if (counts_ahead(s, sh)) {
		sh->kids[sh->e[sh->lead].host] += (unsigned)sh->nexports;
		sh->ahead[sh->e[sh->lead].host] += (unsigned)sh->nexports;
	}
}

/* How many parents within its site host h has for file f. */
static size_t
site_depth(const struct sched *s, size_t h, size_t f)
{
	size_t nf = s->m->fileset->nfiles, k = 0;
	long p = s->forest_parent[h * nf + f];

	while (p >= 0 && s->t->hosts[p].site == s->t->hosts[h].site &&
	    k < s->t->nhosts) {
		k++;
		p = s->forest_parent[(size_t)p * nf + f];
	}
	return k;
}

/* Compares the streams hosts a and b would feed with one more, over
 * their egress (the streams alone when either's is unlimited): -1 when
 * a's are fewer, 1 when b's, else 0. */
static int
export_load(const struct sched *s, const unsigned *kids, size_t a,
    size_t b)
{
	double oa = s->t->hosts[a].nic_out, ob = s->t->hosts[b].nic_out;
	double la = kids[a], lb = kids[b];

	if (s->t->hosts[a].nic_out != CAP_UNLIMITED &&
	    s->t->hosts[b].nic_out != CAP_UNLIMITED) {
		la = (la + 1) / oa;
		lb = (lb + 1) / ob;
	}
	return (la > lb) - (la < lb);
}

/*
 * The host of site u to feed another site file f from: of those that may
 * serve and receive the file (or, when none does, hold it), and no more
 * than one level below the shallowest of them in the file's tree (each
 * level is a relay hop the other site waits for; in the shape
 * SHAPE_SHALLOW none below: every site below pays the hops, at the end
 * of a round that may be the last, at the start of any other), one whose
 * agent is not late if any, then the one that feeds the fewest streams of
 * every file for its egress, then the fewest of this one, then the
 * shallowest, then the first in the file's order; -1 when none.  Where
 * that host is late, one on time that holds some of the file and at least
 * as much as it feeds it instead, where there is one: those on time below
 * would wait for the late one's start (the site whose hosts on time are
 * whole, the rest late).
 */
static long
exporter(const struct sched *s, size_t u, size_t f, const unsigned *kids,
    const unsigned *fkids)
{
	const struct site *st = &s->t->sites[u];
	size_t nf = s->m->fileset->nfiles, j, pass, top = SIZE_MAX;
	size_t *depth = xcalloc(st->nhosts ? st->nhosts : 1, sizeof(size_t));
	long best = -1;
	size_t bd = 0, below = s->shape & SHAPE_SHALLOW ? 0 : 1;
	int blate = 0;

	for (pass = 0; pass < 2 && (best < 0 || blate); pass++) {
		/* What a holder must hold: some, and where a late host
		 * was picked, at least what it holds. */
		uint64_t least = best >= 0 ? sched_held(s, (size_t)best, f) :
		    0;

		if (least == 0)
			least = 1;

		for (j = 0; j < st->nhosts; j++) {
			size_t h = st->hosts[j];

			depth[j] = SIZE_MAX;
			if (!s->source_ok[h] || s->silent[h] ||
			    !(pass ? sched_held(s, h, f) >= least :
			    wants(s, h, f)))
				continue;
			depth[j] = site_depth(s, h, f);
			if (depth[j] < top)
				top = depth[j];
		}
		for (j = 0; j < st->nhosts; j++) {
			size_t h = st->hosts[j], b = (size_t)best;
			int late = sched_late(s, h) > 0;

			if (depth[j] == SIZE_MAX || depth[j] > top + below ||
			    (best >= 0 && late && (!blate || pass > 0)))
				continue;
			if (best < 0 || (blate && !late) ||
			    export_load(s, kids, h, b) < 0 ||
			    (export_load(s, kids, h, b) == 0 &&
			    (fkids[h * nf + f] < fkids[b * nf + f] ||
			    (fkids[h * nf + f] == fkids[b * nf + f] &&
			    (depth[j] < bd || (depth[j] == bd &&
			    s->forest_rank[h * nf + f] <
			    s->forest_rank[b * nf + f])))))) {
				best = (long)h;
				bd = depth[j];
				blate = late;
			}
		}
	}
	free(depth);
	return best;
}

/* The host nearest h that may serve and holds more of file f than it;
 * -1 when none. */
static long
nearest_holder(struct sched *s, size_t h, size_t f)
{
	long best = -1;
	double bc = INFINITY;
	size_t i;

	for (i = 0; i < s->t->nhosts; i++) {
		double c;

		if (i == h || !s->source_ok[i] ||
		    sched_held(s, i, f) <= sched_held(s, h, f) ||
		    route_hops(s->t, i, h) < 0)
			continue;
		c = route_hops(s->t, i, h) + 10 * route_latency(s->t, i, h);
		if (c < bc) {
			bc = c;
			best = (long)i;
		}
	}
	return best;
}

/* Whether exporter x may feed head h file f: it holds as much, or it
 * relays (receives the file this round) and is at most blocks blocks
 * behind. */
static int
catches_up(const struct sched *s, size_t x, size_t h, size_t f,
    uint64_t blocks)
{
	uint64_t a = sched_held(s, x, f), b = sched_held(s, h, f);

	if (a >= b)
		return 1;
	return sched_relays(s, x, f) &&
	    b - a <= blocks * sched_block_size(s, f);
}

/* What host h takes of each file it wants: its ingress over them;
 * INFINITY when unlimited, 0 when it wants none. */
static double
host_pace(const struct sched *s, size_t h)
{
	const struct host *hh = &s->t->hosts[h];
	size_t w = wanted(s, h);

	if (w == 0)
		return 0;
	return hh->nic_in == CAP_UNLIMITED ? INFINITY : hh->nic_in /
	    (double)w;
}

/* Whether host y is of neither site u nor head h's site. */
static int
third_site(const struct topology *t, size_t y, size_t u, size_t h)
{
	return t->hosts[y].site != u && t->hosts[y].site != t->hosts[h].site;
}

/*
 * Whether head h, ahead of exporter x of its parent site, gets more of
 * file f in the round from x than from holder y of a third site that has
 * no room for one more stream (spare[] over the exports[] its trees
 * already make: site_spare()).  x relays the file: from it the head gets
 * what x brings in the round, at the pace of the slower of the two (its
 * ingress over the files it wants) and at most what reaches x's site
 * (inflow[], per file and site), less what the head is ahead, which must
 * be at most FOREST_CATCHUP_SHARE of it; from y, what y holds more, at
 * most at y's site's share.  A stream from a site over its room takes
 * that share from every stream its hosts send, the trees below them
 * included.  0 where y's site has room, or a capacity is unlimited.
 */
static int
exporter_pays(const struct sched *s, size_t x, size_t h, size_t f, size_t y,
    const double *spare, const unsigned *exports, const double *inflow)
{
	size_t site = s->t->hosts[y].site;
	double pace, share, lag, more;

	pace = fmin(fmin(host_pace(s, h), host_pace(s, x)),
	    inflow[f * s->t->nsites + s->t->hosts[x].site]);
	if (!isfinite(pace) || !(pace > 0) || !isfinite(spare[site]) ||
	    !sched_relays(s, x, f) || sched_late(s, x) > 0)
		return 0;
	share = spare[site] / (exports[site] + 1);
	if (share >= pace)
		return 0;
	lag = (double)sched_held(s, h, f) - (double)sched_held(s, x, f);
	more = (double)sched_held(s, y, f) - (double)sched_held(s, h, f);
	return lag <= pace * s->T * FOREST_CATCHUP_SHARE &&
	    pace * s->T - lag >= fmin(more, share * s->T);
}

/*
 * The first host of each site (for each file that its parent site up[]
 * feeds it), its parent: an exporter of that site, or the nearest host
 * that holds more than it when the exporter holds more than
 * FOREST_CATCHUP blocks less.  In the shape SHAPE_NEAR, where that
 * nearest holder is in another partition (sched_site_group(): a site
 * that names none is one of its own), an exporter up to
 * FOREST_NEAR_CATCHUP blocks behind still feeds it: the holder's stream
 * would cross into the head's partition beside the trees' own, on links
 * they count on, with bytes the exporter brings anyway.  In a round that
 * cannot be the last, nor is the head fed from a holder of a third site
 * that has no room for one more stream where the exporter, a little
 * behind, brings it more (exporter_pays()); a head fed from a third site
 * counts as one more of that site's exports.
 */
static void
forest_heads(struct sched *s, const long *up, unsigned *kids,
    unsigned *fkids, const double *spare, unsigned *exports,
    const double *inflow)
{
	const struct topology *t = s->t;
	size_t nf = s->m->fileset->nfiles, ns = t->nsites, f, v, j;

	for (f = 0; f < nf; f++)
		for (v = 0; v < ns; v++) {
			long u = up[f * ns + v], x;
			size_t head = 0;
			int found = 0;

			if (u < 0)
				continue;
			/* The site's first in the file's order that needs
			 * it. */
			for (j = 0; j < t->sites[v].nhosts; j++) {
				size_t h = t->sites[v].hosts[j];

				if (wants(s, h, f) && (!found ||
				    s->forest_rank[h * nf + f] <
				    s->forest_rank[head * nf + f])) {
					head = h;
					found = 1;
				}
			}
			if (!found)
				continue;
			/* An exporter a block or two behind the head
			 * relays past it early in the round; feeding the
			 * head from elsewhere (often the generator, the
			 * one host ahead of it) would spend that egress on
			 * bytes the exporter brings anyway, round after
			 * round. */
			x = exporter(s, (size_t)u, f, kids, fkids);
			if (x >= 0 && !catches_up(s, (size_t)x, head, f,
			    FOREST_CATCHUP)) {
				long y = nearest_holder(s, head, f);

				if (y >= 0 && !s->may_end &&
				    third_site(t, (size_t)y, (size_t)u, head) &&
				    exporter_pays(s, (size_t)x, head, f,
				    (size_t)y, spare, exports, inflow))
					y = x;
				if (!(s->shape & SHAPE_NEAR) || y < 0 ||
				    sched_site_group(t, t->hosts[y].site) ==
				    sched_site_group(t, t->hosts[head].site) ||
				    !catches_up(s, (size_t)x, head, f,
				    FOREST_NEAR_CATCHUP))
					x = y;
			}
			if (x < 0 || (size_t)x == head)
				continue;
			if (third_site(t, (size_t)x, (size_t)u, head))
				exports[t->hosts[x].site]++;
			s->forest_parent[head * nf + f] = x;
			kids[x]++;
			fkids[(size_t)x * nf + f]++;
		}
}

/* A host fed by one that needs nothing of the file: (parent, site, host). */
struct held_kid {
	size_t		 x, site, h;
};

static int
cmp_held_kid(const void *a, const void *b)
{
	const struct held_kid *p = a, *q = b;

	if (p->x != q->x)
		return p->x < q->x ? -1 : 1;
	if (p->site != q->site)
		return p->site < q->site ? -1 : 1;
	return (p->h > q->h) - (p->h < q->h);
}

/* Whether entry k of the group [i, j) is the only one of its site. */
static int
head_alone(const struct held_kid *e, size_t i, size_t j, size_t k)
{
	return (k == i || e[k - 1].site != e[k].site) &&
	    (k + 1 == j || e[k + 1].site != e[k].site);
}

/* Whether host a comes before host b in file f's flow, as the demands
 * will order them (the forest's order of sites, then its ranks). */
static int
head_before(const struct sched *s, size_t f, size_t a, size_t b)
{
	return sched_precedes(s, s->forest_site_key, s->forest_rank, a, b,
	    f);
}

/*
 * A host that holds a file and needs none of it (a generator) sends each
 * stream it feeds from its own egress, the one source of bytes no other
 * host holds.  Where it feeds the heads of several sites the same file
 * (one ahead of its site's exporter: its site fell behind the others),
 * every byte past the heads leaves it once per site, round after round
 * (the heads move at one share of its egress each, and its site stays
 * behind).  The head first in the file's flow (holding the most) keeps
 * it; each other that comes after it there is fed by that one, which
 * holds what it lacks and relays the rest as it arrives.  Not in a round
 * that may be the last (s->may_end): there the hop would come at the
 * end.
 */
static void
holders_once(struct sched *s, unsigned *kids, unsigned *fkids)
{
	struct topology *t = s->t;
	size_t nf = s->m->fileset->nfiles, f, h, i, j, k, n;
	struct held_kid *e = xcalloc(t->nhosts ? t->nhosts : 1, sizeof(*e));

	for (f = 0; f < nf; f++) {
		for (h = n = 0; h < t->nhosts; h++) {
			long x = s->forest_parent[h * nf + f];

			if (x < 0 || wants(s, (size_t)x, f) ||
			    fkids[(size_t)x * nf + f] < 2)
				continue;
			e[n].x = (size_t)x;
			e[n].site = t->hosts[h].site;
			e[n++].h = h;
		}
		qsort(e, n, sizeof(*e), cmp_held_kid);
		for (i = 0; i < n; i = j) {
			size_t x = e[i].x;
			long b = -1;

			for (j = i; j < n && e[j].x == x; j++)
				;
			/* One head per site; a site it feeds more than one
			 * host of is flat (flat_site()): left as it is.
			 * Of those holding the most, the first in the file's
			 * order of sites, so that every other comes after it
			 * there and no relay cycle can close through them. */
			for (k = i; k < j; k++)
				if (head_alone(e, i, j, k) &&
				    sched_relays(s, e[k].h, f) &&
				    sched_late(s, e[k].h) == 0 && (b < 0 ||
				    head_before(s, f, e[k].h, (size_t)b)))
					b = (long)e[k].h;
			/* A head that holds more than that one would wait
			 * for it to pass its length: left. */
			for (k = i; b >= 0 && k < j; k++) {
				h = e[k].h;
				if (!head_alone(e, i, j, k) || (long)h == b ||
				    !head_before(s, f, (size_t)b, h) ||
				    route_hops(t, (size_t)b, h) < 0)
					continue;
				s->forest_parent[h * nf + f] = b;
				kids[x]--;
				fkids[x * nf + f]--;
				kids[b]++;
				fkids[(size_t)b * nf + f]++;
			}
		}
	}
	free(e);
}

/* ------------------------------------------------------------------ */
/* Evening the hosts' egress                                          */

/*
 * A site's hosts while their trees are evened, by index in the site: the
 * depth of each in each file's tree; what a stream of its ingress moves
 * in the round (stream_round()); and who feeds whom, as lists of the
 * streams (index * nfiles + file) each host feeds within the site.  Per
 * host of the topology, in the shape SHAPE_BYTES: what a stream of its
 * ingress moves in the round, and the weight of the streams it feeds
 * (stream_weight()), within the site and out of it.
 */
struct evening {
	const struct site *st;
	size_t		*at;		/* per host: its index in the site */
	size_t		*depth;		/* index * nfiles + file */
	double		*round;		/* per index */
	char		*busy;		/* per index: sheds nothing more */
	size_t		*first;		/* per index: its first stream, or
					 * SIZE_MAX */
	size_t		*next;		/* per stream: the next of its
					 * parent's, or SIZE_MAX */
	size_t		*prev;		/* ... the one before */
	size_t		*streams;	/* one host's, sorted */
	double		*cap;		/* per host: stream_round(), whole */
	double		*fed;		/* per host: its streams' weight */
};

/* What one stream of host c's ingress moves in the round: its share of
 * the NIC among the files it needs; INFINITY when unlimited. */
static double
stream_round(const struct sched *s, size_t c)
{
	size_t n = wanted(s, c);
	double in = s->t->hosts[c].nic_in;

	if (in == CAP_UNLIMITED)
		return INFINITY;
	return in * SCHED_PAYLOAD_SHARE / (double)(n ? n : 1) * s->T;
}

/*
 * What host c's stream of file f weighs on its parent's egress: in the
 * shape SHAPE_BYTES, the bytes it moves in the round, c's lack of the
 * file, at most what a stream of c's ingress moves (ev->cap), at least
 * one, so that a stream that moves takes load off its parent; whole
 * bytes, so that the loads summed as streams move are exact.  A stream
 * into another site is weighed by c's ingress, not by its route, which
 * may move less.  In any other shape, 1: streams are counted.
 */
static double
stream_weight(const struct sched *s, const struct evening *ev, size_t c,
    size_t f)
{
	long k = s->demand_of[c * s->m->fileset->nfiles + f];

	if (!(s->shape & SHAPE_BYTES) || k < 0)
		return 1;
	return fmax(fmin((double)(s->demands[k].want - s->demands[k].have),
	    ev->cap[c]), 1);
}

/* How busy host h is, with a stream of weight more (stream_weight(); 0:
 * none) to send: its streams' weight over its egress, 0 when unlimited
 * (outside the shape SHAPE_BYTES, host_load()'s streams over egress). */
static double
fed_load(const struct sched *s, const struct evening *ev, size_t h,
    double more)
{
	double out = s->t->hosts[h].nic_out;

	return out == CAP_UNLIMITED ? 0 : (ev->fed[h] + more) / out;
}

/* Puts stream k (index * nfiles + file) on the list of the host of index
 * p, or takes it off. */
static void
stream_link(struct evening *ev, size_t p, size_t k)
{
	ev->prev[k] = SIZE_MAX;
	ev->next[k] = ev->first[p];
	if (ev->first[p] != SIZE_MAX)
		ev->prev[ev->first[p]] = k;
	ev->first[p] = k;
}

static void
stream_unlink(struct evening *ev, size_t p, size_t k)
{
	if (ev->prev[k] != SIZE_MAX)
		ev->next[ev->prev[k]] = ev->next[k];
	else
		ev->first[p] = ev->next[k];
	if (ev->next[k] != SIZE_MAX)
		ev->prev[ev->next[k]] = ev->prev[k];
}

/* The parent within the site of the host of index j for file f, by
 * index; -1 when it has none there. */
static long
site_parent(const struct sched *s, const struct evening *ev, size_t j,
    size_t f)
{
	size_t nf = s->m->fileset->nfiles;
	long p = s->forest_parent[ev->st->hosts[j] * nf + f];

	return p < 0 || s->t->hosts[p].site != s->t->hosts[ev->st->hosts[j]].
	    site ? -1 : (long)ev->at[p];
}

/* Sets the depths in file f's tree of the host of index j and of every
 * host below it in the site (no deeper than the site has hosts). */
static void
set_depths(const struct sched *s, struct evening *ev, size_t j, size_t f,
    size_t depth)
{
	size_t nf = s->m->fileset->nfiles, k;

	ev->depth[j * nf + f] = depth;
	if (depth >= ev->st->nhosts)
		return;
	for (k = ev->first[j]; k != SIZE_MAX; k = ev->next[k])
		if (k % nf == f)
			set_depths(s, ev, k / nf, f, depth + 1);
}

/*
 * Whether late host x, feeding host c (not late) file f, holds too
 * little ahead of it to cover its wait: what c's share of its ingress
 * (round, stream_round()) would move from c's start to x's.
 */
static int
late_parent_starves(const struct sched *s, size_t x, size_t c, size_t f,
    double round)
{
	if (!(sched_late(s, x) > 0) || sched_late(s, c) > 0)
		return 0;
	return (double)sched_held(s, x, f) < (double)sched_held(s, c, f) +
	    round / s->T * (s->start[x] - s->start[c]);
}

/*
 * Whether the host of index y may take child c (index) of file f from
 * its parent x (index) within their site.  Either y is fed the file by
 * the forest, comes before c in the file's order (so holds as much, and
 * no cycle forms) and is no deeper than x (one level deeper where c
 * needs more of the file than a stream of its ingress moves in the
 * round: there a hop's delay costs less than the share of egress the
 * move frees); or y needs none of the file, holds all c wants, and is
 * not the site's first in the file's order (which feeds the first host
 * that needs it: the generator sends each byte once).  And y may serve
 * and starts late only if c does.
 */
static int
may_adopt(const struct sched *s, const struct evening *ev, size_t y,
    size_t c, size_t x, size_t f)
{
	size_t nf = s->m->fileset->nfiles, hy = ev->st->hosts[y];
	size_t hc = ev->st->hosts[c];
	long k = s->demand_of[hc * nf + f];

	if (y == c || y == x || !s->source_ok[hy] || s->silent[hy] || k < 0 ||
	    (sched_late(s, hy) > 0 && !(sched_late(s, hc) > 0)))
		return 0;
	if (!wants(s, hy, f))
		return s->forest_rank[hy * nf + f] > 0 &&
		    sched_held(s, hy, f) >= s->demands[k].want;
	return s->forest_parent[hy * nf + f] >= 0 &&
	    s->forest_rank[hy * nf + f] < s->forest_rank[hc * nf + f] &&
	    sched_held(s, hy, f) >= sched_held(s, hc, f) &&
	    ev->depth[y * nf + f] <= ev->depth[x * nf + f] +
	    ((double)(s->demands[k].want - s->demands[k].have) >
	    ev->round[c]);
}

/* Moves child c of file f from its parent x to y (indices). */
static void
adopt(struct sched *s, struct evening *ev, unsigned *kids,
    unsigned *fkids, size_t c, size_t x, size_t y, size_t f)
{
	size_t nf = s->m->fileset->nfiles, hx = ev->st->hosts[x];
	size_t hy = ev->st->hosts[y];
	double w = stream_weight(s, ev, ev->st->hosts[c], f);

	ev->fed[hx] -= w;
	ev->fed[hy] += w;
	s->forest_parent[ev->st->hosts[c] * nf + f] = (long)hy;
	kids[hx]--;
	fkids[hx * nf + f]--;
	kids[hy]++;
	fkids[hy * nf + f]++;
	stream_unlink(ev, x, c * nf + f);
	stream_link(ev, y, c * nf + f);
	set_depths(s, ev, c, f, ev->depth[y * nf + f] + 1);
}

/* Of the hosts of the site that may take child c of file f from x (all
 * by index), the least busy with one more stream, and under limit (then
 * the shallowest, then the first); -1 when none. */
static long
adopter(const struct sched *s, const struct evening *ev, size_t c, size_t x,
    size_t f, double limit, double *load)
{
	size_t nf = s->m->fileset->nfiles, y;
	double w = stream_weight(s, ev, ev->st->hosts[c], f);
	long best = -1;

	for (y = 0; y < ev->st->nhosts; y++) {
		double l = fed_load(s, ev, ev->st->hosts[y], w);

		if (!(l < limit) || (best >= 0 && (l > *load || (l == *load &&
		    ev->depth[y * nf + f] >= ev->depth[(size_t)best * nf +
		    f]))) || !may_adopt(s, ev, y, c, x, f))
			continue;
		best = (long)y;
		*load = l;
	}
	return best;
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

/*
 * Evens the streams the hosts of a site feed, over their egress.  The
 * trees are built a file at a time, and where what the hosts hold orders
 * them (as after a round that some missed) the same hosts come first in
 * every file and feed the streams of several: each runs at a share of
 * their egress and holds back the whole subtree below it.
 * First, a host on time that a late one feeds, holding too little ahead
 * of it to cover its wait (late_parent_starves()), moves to the least
 * busy host that may take it (may_adopt()), however busy: a share of a
 * busy host's egress beats the wait, which holds back the whole subtree.
 * Then, busiest first, a host that feeds more than one stream and a
 * child within the site that another may take, and would then be less
 * busy than it, gives it to the least busy of those, then the
 * shallowest; a host that can give none is left as it is, and the next
 * busiest is tried.  Each move takes a stream from a busiest host to one
 * left less busy than it was: the loads, sorted, fall in lexicographic
 * order, so it ends.  How busy a host is: the streams it feeds over its
 * egress, or in the shape SHAPE_BYTES what they move in the round over
 * its egress (fed_load()): where the hosts lack different amounts, as in
 * a last round, one host's three streams may move less than another's
 * one.
 */
static void
site_even(struct sched *s, struct evening *ev, unsigned *kids,
    unsigned *fkids)
{
	const struct site *st = ev->st;
	size_t nf = s->m->fileset->nfiles, n = st->nhosts, j, f, i, m;
	double load;
	long x, y;

	for (j = 0; j < n; j++) {
		ev->at[st->hosts[j]] = j;
		ev->busy[j] = 0;
		ev->first[j] = SIZE_MAX;
		ev->round[j] = stream_round(s, st->hosts[j]);
	}
	for (j = n; j-- > 0;)
		for (f = nf; f-- > 0;)
			if ((x = site_parent(s, ev, j, f)) >= 0)
				stream_link(ev, (size_t)x, j * nf + f);
	for (j = 0; j < n * nf; j++)
		ev->depth[j] = n;
	for (j = 0; j < n; j++)
		for (f = 0; f < nf; f++)
			if (site_parent(s, ev, j, f) < 0)
				set_depths(s, ev, j, f, 0);
	for (j = 0; j < n; j++)
		for (f = 0; f < nf; f++) {
			x = site_parent(s, ev, j, f);
			if (x < 0 || !late_parent_starves(s, st->hosts[x],
			    st->hosts[j], f, ev->round[j]))
				continue;
			y = adopter(s, ev, j, (size_t)x, f, INFINITY, &load);
			if (y >= 0)
				adopt(s, ev, kids, fkids, j, (size_t)x,
				    (size_t)y, f);
		}
	for (;;) {
		size_t bk = 0;
		long by = -1;
		double bl = INFINITY;

		for (j = 0, x = -1; j < n; j++)
			if (!ev->busy[j] && kids[st->hosts[j]] > 1 && (x < 0 ||
			    fed_load(s, ev, st->hosts[j], 0) >
			    fed_load(s, ev, st->hosts[x], 0)))
				x = (long)j;
		if (x < 0 || !(fed_load(s, ev, st->hosts[x], 0) > 0))
			break;
		/* Its streams within the site, in the order of index and
		 * file. */
		for (m = 0, i = ev->first[x]; i != SIZE_MAX; i = ev->next[i])
			ev->streams[m++] = i;
		qsort(ev->streams, m, sizeof(size_t), cmp_size);
		for (i = 0; i < m; i++) {
			size_t k = ev->streams[i];

			if ((y = adopter(s, ev, k / nf, (size_t)x, k % nf,
			    fed_load(s, ev, st->hosts[x], 0), &load)) < 0)
				continue;
			if (by < 0 || load < bl || (load == bl &&
			    ev->depth[(size_t)y * nf + k % nf] <
			    ev->depth[(size_t)by * nf + bk % nf])) {
				bk = k;
				by = y;
				bl = load;
			}
		}
		if (by < 0)
			ev->busy[x] = 1;
		else
			adopt(s, ev, kids, fkids, bk / nf, (size_t)x,
			    (size_t)by, bk % nf);
	}
}

/* Evens every site's trees (site_even()). */
static void
forest_even(struct sched *s, unsigned *kids, unsigned *fkids)
{
	const struct topology *t = s->t;
	size_t nf = s->m->fileset->nfiles, most = 1, v, h, f;
	struct evening ev;
	long p;

	if (nf == 0)
		return;
	for (v = 0; v < t->nsites; v++)
		if (t->sites[v].nhosts > most)
			most = t->sites[v].nhosts;
	ev.at = xcalloc(t->nhosts ? t->nhosts : 1, sizeof(size_t));
	ev.depth = xcalloc(most * nf, sizeof(size_t));
	ev.round = xcalloc(most, sizeof(double));
	ev.busy = xcalloc(most, 1);
	ev.first = xcalloc(most, sizeof(size_t));
	ev.next = xcalloc(most * nf, sizeof(size_t));
	ev.prev = xcalloc(most * nf, sizeof(size_t));
	ev.streams = xcalloc(most * nf, sizeof(size_t));
	ev.cap = xcalloc(t->nhosts ? t->nhosts : 1, sizeof(double));
	ev.fed = xcalloc(t->nhosts ? t->nhosts : 1, sizeof(double));
	/* Outside the shape SHAPE_BYTES a stream weighs 1: the streams
	 * each host feeds, as host_load() counts them. */
	for (h = 0; h < t->nhosts; h++)
		if (s->shape & SHAPE_BYTES)
			ev.cap[h] = floor(stream_round(s, h));
		else
			ev.fed[h] = kids[h];
	for (h = 0; (s->shape & SHAPE_BYTES) && h < t->nhosts; h++)
		for (f = 0; f < nf; f++)
			if ((p = s->forest_parent[h * nf + f]) >= 0)
				ev.fed[p] += stream_weight(s, &ev, h, f);
	for (v = 0; v < t->nsites; v++) {
		ev.st = &t->sites[v];
		site_even(s, &ev, kids, fkids);
	}
	free(ev.at);
	free(ev.depth);
	free(ev.round);
	free(ev.busy);
	free(ev.first);
	free(ev.next);
	free(ev.prev);
	free(ev.streams);
	free(ev.cap);
	free(ev.fed);
}

/* Takes a file's tree of sites off (sign -1) or puts it on (+1) the
 * counts of streams per site and per WAN resource. */
static void
tree_use(const struct site_route *rt, size_t ns, const struct site_tree *st,
    unsigned *use, unsigned *exports, int sign)
{
	size_t k;
	int i;

	for (k = 0; k < st->n; k++) {
		size_t v = st->order[k];
		long u = st->parent[v];

		if (u < 0)
			continue;
		exports[u] += sign;
		for (i = 0; i < rt[(size_t)u * ns + v].n; i++)
			use[rt[(size_t)u * ns + v].res[i]] += sign;
	}
}

/* For each host, the files its site needs of which it alone, of the
 * site's hosts that may serve, holds the most: it heads their trees in
 * the site (tops, per host). */
static void
site_tops(const struct sched *s, const char *need, unsigned *tops)
{
	const struct topology *t = s->t;
	size_t nf = s->m->fileset->nfiles, ns = t->nsites, f, v, j;

	for (f = 0; f < nf; f++)
		for (v = 0; v < ns; v++) {
			const struct site *st = &t->sites[v];
			long top = -1;
			int alone = 0;

			if (!need[f * ns + v])
				continue;
			for (j = 0; j < st->nhosts; j++) {
				size_t h = st->hosts[j];

				if (!s->source_ok[h] || s->silent[h] ||
				    sched_held(s, h, f) == 0)
					continue;
				if (top < 0 || sched_held(s, h, f) >
				    sched_held(s, (size_t)top, f)) {
					top = (long)h;
					alone = 1;
				} else if (sched_held(s, h, f) ==
				    sched_held(s, (size_t)top, f))
					alone = 0;
			}
			if (top >= 0 && alone)
				tops[top]++;
		}
}

/* Sweeps over the files' trees of sites that rebuild each given the
 * others: the first files' trees were grown blind to those after. */
#define FOREST_SWEEPS 3

/*
 * Builds the forest: per file, sched.forest_parent of each host that
 * needs it, forest_rank of each host in its site's order for it, and
 * forest_site_key of each site in the order the sites joined the file's
 * tree (sites outside it after, by index).  The flow order of demand.c
 * follows these, so a forest parent always precedes its child.
 */
void
sched_forest(struct sched *s)
{
	struct topology *t = s->t;
	size_t nf = s->m->fileset->nfiles, ns = t->nsites, H = t->nhosts;
	size_t f, i, k, sweep, nfs = (nf ? nf : 1) * (ns ? ns : 1);
	double earliest;
	unsigned *linkuse = xcalloc(t->nresources ? t->nresources : 1,
	    sizeof(unsigned));
	unsigned *exports = xcalloc(ns ? ns : 1, sizeof(unsigned));
	unsigned *kids = xcalloc(H ? H : 1, sizeof(unsigned));
	unsigned *fkids = xcalloc(H * (nf ? nf : 1), sizeof(unsigned));
	unsigned *tops = xcalloc(H ? H : 1, sizeof(unsigned));
	unsigned *ahead = xcalloc(H ? H : 1, sizeof(unsigned));
	double *inflow = xcalloc(ns ? ns : 1, sizeof(double));
	double *flows = xcalloc(nfs, sizeof(double));
	double *busy = xcalloc(H ? H : 1, sizeof(double));
	size_t *turns = xcalloc(ns ? ns : 1, sizeof(size_t));
	size_t *turn = xcalloc(ns ? ns : 1, sizeof(size_t));
	uint64_t *best = xcalloc(nfs, sizeof(uint64_t));
	char *need = xcalloc(nfs, 1);
	long *up = xcalloc(nfs, sizeof(long));
	struct site_hosts *sh = xcalloc(ns ? ns : 1, sizeof(*sh));
	struct site_tree *st = xcalloc(nf ? nf : 1, sizeof(*st));
	struct site_route *rt = site_routes(s);
	double *spare;

	s->forest_parent = xcalloc(H * (nf ? nf : 1), sizeof(long));
	s->forest_rank = xcalloc(H * (nf ? nf : 1), sizeof(size_t));
	s->forest_site_key = xcalloc(nfs, sizeof(size_t));
	for (i = 0; i < H * nf; i++) {
		s->forest_parent[i] = -1;
		s->forest_rank[i] = H + i / (nf ? nf : 1);
	}
	/* Of the starts said: a host new to the fleet, or whose agent
	 * does not say, must not make every other one late. */
	for (i = 0, earliest = INFINITY; i < H; i++)
		if (s->dest_ok[i] && !s->silent[i] && s->m->states[i] != NULL &&
		    s->m->states[i]->has_start)
			earliest = fmin(earliest, s->start[i]);
	s->earliest = isinf(earliest) ? 0 : earliest;
	/* Fixed here, at the round's length: the allocation's ladder sizes
	 * ops for shorter times (s->T), and who is late must not change
	 * from one of its steps to the next. */
	s->late_after = s->earliest + late_slack(s);
	/* A silent host did not run its last plan: it is planned as one
	 * that starts late, served after the hosts whose agents run (were
	 * it counted on, what it is sent would take their sources' egress,
	 * and every set would be sized and timed for it). */
	for (i = 0; i < H; i++)
		if (s->silent[i])
			s->start[i] = fmax(s->start[i], s->late_after +
			    late_slack(s));
	round_fill(s);
	for (i = 0; i < ns; i++) {
		sh[i].e = xcalloc(t->sites[i].nhosts ? t->sites[i].nhosts : 1,
		    sizeof(struct member));
		sh[i].kids = kids;
		sh[i].fkids = fkids;
		sh[i].depth = xcalloc(t->sites[i].nhosts ? t->sites[i].nhosts :
		    1, sizeof(size_t));
		sh[i].busy = busy;
		sh[i].tops = tops;
		sh[i].ahead = ahead;
	}
	/* Per file and site: whether it needs the file, and the most a
	 * host of it that may serve holds. */
	for (i = 0; i < s->ndemands; i++)
		need[s->demands[i].file * ns +
		    t->hosts[s->demands[i].host].site] = 1;
	for (f = 0; f < nf; f++)
		for (i = 0; i < H; i++) {
			uint64_t *b = &best[f * ns + t->hosts[i].site];

			if (s->source_ok[i] && sched_held(s, i, f) > *b)
				*b = sched_held(s, i, f);
		}
	for (i = 0; i < nfs; i++)
		turns[i % (ns ? ns : 1)] += need[i];
	site_tops(s, need, tops);
	spare = site_spare(s, need, best);
	/* The trees of sites. */
	for (f = 0; f < nf; f++) {
		st[f].order = xcalloc(ns ? ns : 1, sizeof(size_t));
		st[f].parent = xcalloc(ns ? ns : 1, sizeof(long));
		st[f].depth = xcalloc(ns ? ns : 1, sizeof(size_t));
		st[f].lag = xcalloc(ns ? ns : 1, sizeof(double));
	}
	for (sweep = 0; sweep < FOREST_SWEEPS; sweep++)
		for (f = 0; f < nf; f++) {
			if (sweep > 0)
				tree_use(rt, ns, &st[f], linkuse, exports, -1);
			sites_tree(s, f, rt, best + f * ns, need + f * ns,
			    linkuse, spare, exports, &st[f]);
		}
	/* The trees of hosts within each site, in the sites' order. */
	for (f = 0; f < nf; f++) {
		for (i = 0; i < ns; i++) {
			s->forest_site_key[f * ns + i] = ns + i;
			up[f * ns + i] = -1;
		}
		for (k = 0; k < st[f].n; k++) {
			size_t v = st[f].order[k];
			long u = st[f].parent[v];

			/* Parents come first in the order. */
			inflow[v] = u < 0 ? INFINITY : fmin(inflow[u],
			    route_share(t, &rt[(size_t)u * ns + v], linkuse, 0));
			sh[v].inflow = u < 0 ? 0 : inflow[v];
			flows[f * ns + v] = inflow[v];
			s->forest_site_key[f * ns + v] = k;
			for (i = 0, sh[v].nexports = 0; i < ns; i++)
				sh[v].nexports += st[f].parent[i] == (long)v;
			site_hosts(s, v, f, turn[v], turns[v], &sh[v]);
			turn[v] += need[f * ns + v];
			/* Its first host that needs the file is fed from
			 * its parent site, once every file's trees are
			 * built. */
			if (st[f].parent[v] >= 0 && sh[v].lead == 0 &&
			    sh[v].n > 0)
				up[f * ns + v] = st[f].parent[v];
		}
		/* Sites outside the tree that need the file: what they hold
		 * orders them, and the LP feeds them. */
		for (i = 0; i < ns; i++)
			if (need[f * ns + i] &&
			    s->forest_site_key[f * ns + i] >= ns) {
				sh[i].nexports = 0;
				sh[i].inflow = 0;
				site_hosts(s, i, f, turn[i], turns[i], &sh[i]);
				turn[i]++;
			}
	}
	for (i = 0; i < H; i++)
		kids[i] -= ahead[i];
	forest_heads(s, up, kids, fkids, spare, exports, flows);
	if (!s->may_end)
		holders_once(s, kids, fkids);
	forest_even(s, kids, fkids);
	for (i = 0; i < ns; i++) {
		free(sh[i].e);
		free(sh[i].depth);
	}
	for (f = 0; f < nf; f++) {
		free(st[f].order);
		free(st[f].parent);
		free(st[f].depth);
		free(st[f].lag);
	}
	free(st);
	free(sh);
	free(up);
	free(rt);
	free(spare);
	free(exports);
	free(linkuse);
	free(kids);
	free(fkids);
	free(tops);
	free(ahead);
	free(inflow);
	free(flows);
	free(busy);
	free(turns);
	free(turn);
	free(best);
	free(need);
}

/* ------------------------------------------------------------------ */
/* Rates and grants                                                    */

struct edge {
	size_t		 cand;
	long		 up;		/* the edge feeding its source, or -1 */
	long		 dep;		/* ... whatever its source holds */
	size_t		 depth;		/* of dep links above it */
	double		 head;		/* B/s its source holds ahead of it */
	double		 cap;		/* B/s its demand can take at most */
	double		 rate;
	int		 active;
	size_t		 key[3];	/* file, site key, rank: grant order */
};

static int
cmp_edge(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;
	int i;

	for (i = 0; i < 3; i++)
		if (x->key[i] != y->key[i])
			return x->key[i] < y->key[i] ? -1 : 1;
	return (x->cand > y->cand) - (x->cand < y->cand);
}

/* The forest's edges that have a candidate, parents before children. */
static struct edge *
forest_edges(const struct sched *s, size_t *np)
{
	const struct topology *t = s->t;
	size_t nf = s->m->fileset->nfiles, ns = t->nsites, i, j, n = 0;
	struct edge *e = xcalloc(s->ndemands ? s->ndemands : 1, sizeof(*e));
	long *edge_of = xcalloc(s->ndemands ? s->ndemands : 1, sizeof(long));

	for (i = 0; i < s->ndemands; i++) {
		const struct demand *d = &s->demands[i];
		long p = s->forest_parent[d->host * nf + d->file];

		edge_of[i] = -1;
		if (p < 0)
			continue;
		for (j = d->first; j < d->first + d->ncand; j++)
			if (s->cands[j].source == (size_t)p)
				break;
		if (j == d->first + d->ncand)
			continue;
		e[n].cand = j;
		e[n].key[0] = d->file;
		e[n].key[1] = s->forest_site_key[d->file * ns +
		    t->hosts[d->host].site];
		e[n].key[2] = s->forest_rank[d->host * nf + d->file];
		n++;
	}
	qsort(e, n, sizeof(*e), cmp_edge);
	for (i = 0; i < n; i++)
		edge_of[s->cands[e[i].cand].demand] = (long)i;
	for (i = 0; i < n; i++) {
		const struct candidate *c = &s->cands[e[i].cand];
		const struct demand *d = &s->demands[c->demand];
		uint64_t src = sched_held(s, c->source, d->file);

		e[i].cap = (double)(d->want - d->have) / s->T;
		e[i].head = src > d->have ? (double)(src - d->have) / s->T : 0;
		e[i].dep = c->feed < 0 ? -1 : edge_of[c->feed];
		e[i].up = src >= d->want ? -1 : e[i].dep;
		if (e[i].up < 0 && e[i].head < e[i].cap)
			e[i].cap = e[i].head;
		e[i].active = e[i].cap > 0;
	}
	free(edge_of);
	*np = n;
	return e;
}

/*
 * A binary heap of edges, least key first, then least index: the edges a
 * step must test, by index (key 0), and the edges whose feed has frozen,
 * by the rate their feed lets them reach.
 */
struct eheap {
	struct eitem {
		double	 key;
		size_t	 edge;
	}		*v;
	size_t		 n, cap;
};

static int
eitem_less(const struct eitem *a, const struct eitem *b)
{
	return a->key < b->key || (a->key == b->key && a->edge < b->edge);
}

static void
eheap_push(struct eheap *h, double key, size_t edge)
{
	size_t i, up;

	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 64;
		h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
	}
	i = h->n++;
	h->v[i].key = key;
	h->v[i].edge = edge;
	for (; i > 0; i = up) {
		struct eitem x;

		up = (i - 1) / 2;
		if (!eitem_less(&h->v[i], &h->v[up]))
			break;
		x = h->v[i];
		h->v[i] = h->v[up];
		h->v[up] = x;
	}
}

/* Removes the least item; the heap must not be empty. */
static struct eitem
eheap_pop(struct eheap *h)
{
	struct eitem top = h->v[0];
	size_t i = 0, k;

	h->v[0] = h->v[--h->n];
	for (;;) {
		struct eitem x;

		k = 2 * i + 1;
		if (k >= h->n)
			break;
		if (k + 1 < h->n && eitem_less(&h->v[k + 1], &h->v[k]))
			k++;
		if (!eitem_less(&h->v[k], &h->v[i]))
			break;
		x = h->v[i];
		h->v[i] = h->v[k];
		h->v[k] = x;
		i = k;
	}
	return top;
}

/*
 * What the filling knows beside the edges.  Every active edge has risen
 * by the same steps from 0, so they share one rate, R; an edge's own rate
 * is written when it freezes.  The tests that freeze an edge are each a
 * threshold on R, or a resource filling up, so each step looks only at
 * the edges they may freeze: the least demands (bycap), the edges whose
 * feed froze (fed), and the edges of the resources that are full (lists
 * by resource).
 */
struct filling {
	const struct sched *s;
	struct edge	*e;
	size_t		 n;
	double		 R;
	double		*left;		/* per resource */
	size_t		*count;		/* per resource: active edges */
	size_t		*res_first;	/* per resource, into res_edges */
	size_t		*res_edges;
	size_t		*kid_first;	/* per edge, into kids: fed by it */
	size_t		*kids;
	size_t		*bycap;		/* the active edges by cap */
	size_t		 nbycap, capat;
	size_t		 active;	/* how many edges are */
	struct eheap	 fed;		/* key: its feed's rate + head */
	struct eheap	 test;		/* this step's, by index */
};

static const struct edge *cmp_cap_edges;

static int
cmp_cap(const void *a, const void *b)
{
	double x = cmp_cap_edges[*(const size_t *)a].cap;
	double y = cmp_cap_edges[*(const size_t *)b].cap;

	return (x > y) - (x < y);
}

/* Turns counts, each at first[k + 1], into where each list starts. */
static void
csr_close(size_t *first, size_t m)
{
	size_t k;

	for (k = 1; k <= m; k++)
		first[k] += first[k - 1];
}

/* The lists by resource and by feed, the order by cap, the counts. */
static void
filling_init(struct filling *f, const struct sched *s, struct edge *e,
    size_t n)
{
	size_t nr = s->t->nresources, i, r, *at;
	int k;

	memset(f, 0, sizeof(*f));
	f->s = s;
	f->e = e;
	f->n = n;
	f->left = xcalloc(nr ? nr : 1, sizeof(double));
	f->count = xcalloc(nr ? nr : 1, sizeof(size_t));
	f->res_first = xcalloc(nr + 1, sizeof(size_t));
	f->kid_first = xcalloc(n + 1, sizeof(size_t));
	f->bycap = xcalloc(n ? n : 1, sizeof(size_t));
	for (r = 0; r < nr; r++)
		f->left[r] = budget_left(&s->budget, r);
	for (i = 0; i < n; i++) {
		const struct candidate *c = &s->cands[e[i].cand];

		if (e[i].up >= 0)
			f->kid_first[e[i].up + 1]++;
		if (!e[i].active)
			continue;
		f->active++;
		f->bycap[f->nbycap++] = i;
		for (k = 0; k < c->nres; k++) {
			f->count[c->res[k]]++;
			f->res_first[c->res[k] + 1]++;
		}
	}
	csr_close(f->res_first, nr);
	csr_close(f->kid_first, n);
	f->res_edges = xcalloc(f->res_first[nr] ? f->res_first[nr] : 1,
	    sizeof(size_t));
	f->kids = xcalloc(f->kid_first[n] ? f->kid_first[n] : 1,
	    sizeof(size_t));
	at = xcalloc(nr > n ? nr + 1 : n + 1, sizeof(size_t));
	memcpy(at, f->res_first, nr * sizeof(size_t));
	for (i = 0; i < n; i++) {
		const struct candidate *c = &s->cands[e[i].cand];

		for (k = 0; e[i].active && k < c->nres; k++)
			f->res_edges[at[c->res[k]]++] = i;
	}
	memcpy(at, f->kid_first, n * sizeof(size_t));
	for (i = 0; i < n; i++)
		if (e[i].up >= 0)
			f->kids[at[e[i].up]++] = i;
	free(at);
	cmp_cap_edges = e;
	qsort(f->bycap, f->nbycap, sizeof(size_t), cmp_cap);
	for (i = 0; i < n; i++)
		if (e[i].active && e[i].up >= 0 && !e[e[i].up].active)
			eheap_push(&f->fed, e[e[i].up].rate + e[i].head, i);
}

static void
filling_free(struct filling *f)
{
	free(f->left);
	free(f->count);
	free(f->res_first);
	free(f->res_edges);
	free(f->kid_first);
	free(f->kids);
	free(f->bycap);
	free(f->fed.v);
	free(f->test.v);
}

/* How much every active edge may rise in this step: what the first
 * test to bind allows.  INFINITY when nothing bounds it. */
static double
filling_step(struct filling *f)
{
	const struct edge *e = f->e;
	double inc = INFINITY;
	size_t r;

	while (f->capat < f->nbycap && !e[f->bycap[f->capat]].active)
		f->capat++;
	if (f->capat < f->nbycap)
		inc = fmin(inc, e[f->bycap[f->capat]].cap - f->R);
	while (f->fed.n > 0 && !e[f->fed.v[0].edge].active)
		(void)eheap_pop(&f->fed);
	if (f->fed.n > 0)
		inc = fmin(inc, f->fed.v[0].key - f->R);
	for (r = 0; r < f->s->t->nresources; r++)
		if (f->count[r] > 0 && isfinite(f->left[r]))
			inc = fmin(inc, f->left[r] / (double)f->count[r]);
	return inc;
}

/* Whether the active edge i stops rising, after the step, as every edge
 * was tested before the lists: a resource of it full, its demand met,
 * or its feed frozen with it caught up. */
static int
filling_stops(const struct filling *f, size_t i)
{
	const struct topology *t = f->s->t;
	const struct edge *x = &f->e[i];
	const struct candidate *c = &f->s->cands[x->cand];
	int full = 0, k;

	for (k = 0; k < c->nres && !full; k++)
		full = isfinite(f->left[c->res[k]]) &&
		    f->left[c->res[k]] <= 1e-9 *
		    fabs(t->resources[c->res[k]].capacity) + 1e-6;
	return full || f->R >= x->cap * (1 - 1e-12) ||
	    (x->up >= 0 && !f->e[x->up].active &&
	    f->R >= f->e[x->up].rate + x->head - 1e-6);
}

/* Freezes edge i at R: off the counts; what it feeds is fed no faster. */
static void
filling_freeze(struct filling *f, size_t i)
{
	struct edge *e = f->e;
	const struct candidate *c = &f->s->cands[e[i].cand];
	size_t j;
	int k;

	e[i].active = 0;
	e[i].rate = f->R;
	f->active--;
	for (k = 0; k < c->nres; k++)
		f->count[c->res[k]]--;
	for (j = f->kid_first[i]; j < f->kid_first[i + 1]; j++) {
		size_t kid = f->kids[j];

		if (!e[kid].active)
			continue;
		eheap_push(&f->fed, e[i].rate + e[kid].head, kid);
		/* Tested after it in this step, it sees it frozen. */
		if (kid > i)
			eheap_push(&f->test, 0, kid);
	}
}

/* Lists the edges the step may freeze, then tests them in index order
 * (an edge's test reads the flag of its feed, frozen or not before it). */
static void
filling_freeze_step(struct filling *f)
{
	const struct topology *t = f->s->t;
	const struct edge *e = f->e;
	size_t r, j, last = SIZE_MAX;

	for (j = f->capat; j < f->nbycap; j++) {
		size_t i = f->bycap[j];

		if (e[i].active && !(f->R >= e[i].cap * (1 - 1e-12)))
			break;
		if (e[i].active)
			eheap_push(&f->test, 0, i);
	}
	/* Those caught up with their frozen feed all freeze. */
	while (f->fed.n > 0 && (!e[f->fed.v[0].edge].active ||
	    f->R >= f->fed.v[0].key - 1e-6)) {
		struct eitem x = eheap_pop(&f->fed);

		if (e[x.edge].active)
			eheap_push(&f->test, 0, x.edge);
	}
	for (r = 0; r < t->nresources; r++) {
		if (f->count[r] == 0 || !isfinite(f->left[r]) ||
		    !(f->left[r] <= 1e-9 * fabs(t->resources[r].capacity) +
		    1e-6))
			continue;
		for (j = f->res_first[r]; j < f->res_first[r + 1]; j++)
			if (e[f->res_edges[j]].active)
				eheap_push(&f->test, 0, f->res_edges[j]);
	}
	while (f->test.n > 0) {
		size_t i = eheap_pop(&f->test).edge;

		if (i == last || !e[i].active)
			continue;
		last = i;
		if (filling_stops(f, i))
			filling_freeze(f, i);
	}
}

/*
 * Progressive filling: every active edge's rate rises alike until a
 * resource it crosses is full, its demand is met, or what feeds its
 * source stops rising (a relay passes on no faster than it is fed,
 * beyond what it holds ahead).  Each step freezes at least one of them.
 */
static void
fill_rates(const struct sched *s, struct edge *e, size_t n)
{
	struct filling f;
	size_t i, r;

	filling_init(&f, s, e, n);
	while (f.active > 0) {
		double inc = filling_step(&f);

		if (!isfinite(inc))
			break;
		if (inc < 0)
			inc = 0;
		for (r = 0; r < s->t->nresources; r++)
			if (f.count[r] > 0 && isfinite(f.left[r]))
				f.left[r] -= inc * (double)f.count[r];
		f.R += inc;
		filling_freeze_step(&f);
	}
	for (i = 0; i < n; i++)
		if (e[i].active)
			e[i].rate = f.R;
	filling_free(&f);
}

/* The edges in an order where every edge comes after the one that feeds
 * its source: a relay's room counts what its source is given. */
static size_t *
grant_order(struct edge *e, size_t n)
{
	size_t *order = xcalloc(n ? n : 1, sizeof(size_t));
	size_t *first = xcalloc(n + 2, sizeof(size_t)), i, k;
	long u;

	/* A counting sort by depth, stable. */
	for (i = 0; i < n; i++) {
		for (k = 0, u = e[i].dep; u >= 0 && k < n; u = e[u].dep)
			k++;
		e[i].depth = k;
		first[k + 1]++;
	}
	for (k = 1; k <= n; k++)
		first[k] += first[k - 1];
	for (i = 0; i < n; i++)
		order[first[e[i].depth]++] = i;
	free(first);
	return order;
}

/* Grants the edges of one pass (late[] == pass), in order. */
static void
grant_edges(struct sched *s, const struct edge *e, size_t n,
    const size_t *order, const char *late, int pass)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct edge *x = &e[order[i]];
		struct candidate *c = &s->cands[x->cand];
		uint64_t bs = sched_block_size(s, s->demands[c->demand].file);
		/* Whole blocks, with room for the rounding of rates that
		 * were filled to a demand's exact size. */
		uint64_t k = (uint64_t)floor(x->rate * s->T / (double)bs +
		    1e-6), room;

		if (late[order[i]] != pass)
			continue;
		room = sched_room(s, c);
		if (k > room)
			k = room;
		if (k == 0)
			continue;
		s->demands[c->demand].forest = (long)e[order[i]].cand;
		c->blocks += k;
		sched_charge(s, c, (double)k);
	}
}

/*
 * Grants the forest's edges their blocks at their filled rates, parents
 * first so that a relay's room counts what its source is given.  The
 * edges into hosts on time are filled and granted first, then those into
 * hosts whose agents start late (sched_late()) from what they leave: a
 * late agent's op holds its route for the whole plan and moves nothing
 * until it starts, so an equal share of a relay's egress given to it is
 * mostly lost to the hosts on time.  (The trees place a late host below
 * those on time unless it holds more of the file; a host on time fed by
 * one takes, in the first pass, what that host holds ahead of it.)  The
 * rest of the round is the LP's or the greedy fill's.
 */
void
sched_forest_grant(struct sched *s)
{
	struct edge *e;
	size_t n, i, *order, nlate = 0;
	char *late;
	int pass;

	if (s->forest_parent == NULL)
		return;
	e = forest_edges(s, &n);
	order = grant_order(e, n);
	late = xcalloc(n ? n : 1, 1);
	for (i = 0; i < n; i++)
		nlate += late[i] = sched_late(s, s->demands[s->cands[e[i].cand].
		    demand].host) > 0;
	for (pass = 0; pass < (nlate > 0 ? 2 : 1); pass++) {
		for (i = 0; i < n; i++)
			e[i].active = late[i] == pass && e[i].cap > 0;
		fill_rates(s, e, n);
		grant_edges(s, e, n, order, late, pass);
	}
	free(late);
	free(order);
	free(e);
}
