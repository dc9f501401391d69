/*
 * demand.c: what a round must move and who may move it.  Demands are
 * (destination, file) pairs that still need bytes; candidates are the
 * sources that may serve them, the best few by a cost function, from the
 * file's copy tree within a site and through each site's seeders across
 * sites.  Everything is in whole blocks.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schedule.h"

#define DEFAULT_CANDIDATES 4
#define DEFAULT_SEEDERS 2

/* The block size of a file's published version. */
uint64_t
sched_block_size(const struct sched *s, size_t file)
{
	return s->m->manifests[file]->block_size;
}

/* Blocks of a length: whole ones, plus a short last one at a final end. */
uint64_t
sched_blocks_of(const struct sched *s, size_t file, uint64_t len)
{
	const struct manifest *man = s->m->manifests[file];
	uint64_t bs = man->block_size;

	if (man->final && len == man->length)
		return (len + bs - 1) / bs;
	return len / bs;
}

/* Bytes of nblocks blocks of a candidate's file from first_block on. */
uint64_t
sched_block_bytes(const struct sched *s, const struct candidate *c,
    uint64_t first_block, uint64_t nblocks)
{
	size_t file = s->demands[c->demand].file;
	uint64_t bs = sched_block_size(s, file);
	uint64_t end = (first_block + nblocks) * bs;
	uint64_t len = s->m->manifests[file]->length;

	if (end > len)
		end = len;
	return end - first_block * bs;
}

/* Sets up a schedule with every resource at full capacity, nothing failed. */
void
sched_init(struct sched *s, struct master *m, enum method method)
{
	struct topology *t = m->topology;
	size_t i, f, nf = m->fileset->nfiles;

	memset(s, 0, sizeof(*s));
	s->m = m;
	s->t = t;
	s->method = method;
	/* Ops are sized to a tenth less than the round: agents start a
	 * little after the plan is issued and must still finish.  Where
	 * their states say when they start, sched_forest() sizes them to
	 * what the round leaves after that. */
	s->window = t->round;
	s->T = t->round * SCHED_ROUND_USE;
	s->lp_time_limit = 10000;
	s->candidates_per_demand = DEFAULT_CANDIDATES;
	s->wan_seeders = DEFAULT_SEEDERS;
	budget_init(&s->budget, t, SCHED_PAYLOAD_SHARE);
	s->blocked = xcalloc(t->nresources, 1);
	s->source_ok = xcalloc(t->nhosts, 1);
	s->dest_ok = xcalloc(t->nhosts, 1);
	s->silent = xcalloc(t->nhosts ? t->nhosts : 1, 1);
	s->start = xcalloc(t->nhosts ? t->nhosts : 1, sizeof(double));
	for (i = 0; i < t->nhosts; i++)
		if (m->states[i] != NULL && m->states[i]->has_start)
			s->start[i] = m->states[i]->start;
	memset(s->source_ok, 1, t->nhosts);
	memset(s->dest_ok, 1, t->nhosts);
	s->len = xcalloc(t->nhosts * (nf ? nf : 1), sizeof(uint64_t));
	for (i = 0; i < t->nhosts; i++)
		for (f = 0; f < nf; f++)
			s->len[i * nf + f] = master_length(m, i, f);
}

void
sched_free(struct sched *s)
{
	budget_free(&s->budget);
	free(s->blocked);
	free(s->source_ok);
	free(s->dest_ok);
	free(s->silent);
	free(s->start);
	free(s->len);
	free(s->demands);
	free(s->cands);
	free(s->cand_res);
	free(s->children);
	free(s->greedy_order);
	free(s->demand_of);
	free(s->source_site);
	free(s->export);
	free(s->forest_parent);
	free(s->forest_rank);
	free(s->forest_site_key);
	memset(s, 0, sizeof(*s));
}

/* What a host holds of a file, as the round starts. */
uint64_t
sched_held(const struct sched *s, size_t host, size_t file)
{
	return s->len[host * s->m->fileset->nfiles + file];
}

/* Finds every (target host, published file) short of what is published. */
void
sched_demands(struct sched *s)
{
	const struct fileset *fs = s->m->fileset;
	struct topology *t = s->t;
	size_t f, h, cap = 0;

	s->demand_of = xcalloc(t->nhosts * (fs->nfiles ? fs->nfiles : 1),
	    sizeof(long));
	for (h = 0; h < t->nhosts * fs->nfiles; h++)
		s->demand_of[h] = -1;
	for (f = 0; f < fs->nfiles; f++) {
		const struct manifest *man = s->m->manifests[f];

		if (man == NULL || man->length == 0)
			continue;
		for (h = 0; h < t->nhosts; h++) {
			uint64_t have = sched_held(s, h, f);
			struct demand *d;

			if (!s->dest_ok[h] || h == fs->files[f].generator ||
			    !fileset_targets(t, &fs->files[f], h) ||
			    have >= man->length)
				continue;
			if (have % man->block_size != 0) {
				if (!s->quiet)
					warnx_("host %s: %s@%llu: length %llu "
					    "is not a whole number of blocks; "
					    "not planned", t->hosts[h].name,
					    fs->files[f].name,
					    (unsigned long long)
					    fs->files[f].version,
					    (unsigned long long)have);
				continue;
			}
			if (s->ndemands == cap) {
				cap = cap ? cap * 2 : 64;
				s->demands = xreallocarray(s->demands, cap,
				    sizeof(*s->demands));
			}
			s->demand_of[h * fs->nfiles + f] = (long)s->ndemands;
			d = &s->demands[s->ndemands++];
			memset(d, 0, sizeof(*d));
			d->host = h;
			d->file = f;
			d->have = have;
			d->want = man->length;
			d->forest = -1;
		}
	}
}

/*
 * Fills c's route at the end of s->cand_res (cap: what it has room for),
 * at c->res_at; c->res is set when every candidate is in
 * (bind_routes()).  Returns 0, or -1 when there is none or it is blocked
 * (and the route is not kept).
 */
static int
candidate_route(struct sched *s, size_t *cap, struct candidate *c,
    size_t src, size_t dst)
{
	size_t *res;
	int i;

	if (s->ncand_res + ROUTE_MAX > *cap) {
		while (s->ncand_res + ROUTE_MAX > *cap)
			*cap = *cap ? *cap * 2 : 4 * ROUTE_MAX;
		s->cand_res = xreallocarray(s->cand_res, *cap, sizeof(size_t));
	}
	res = s->cand_res + s->ncand_res;
	c->nres = route_resources(s->t, src, dst, res, ROUTE_MAX);
	if (c->nres < 0)
		return -1;
	for (i = 0; i < c->nres; i++)
		if (s->blocked[res[i]])
			return -1;
	c->res_at = s->ncand_res;
	s->ncand_res += (size_t)c->nres;
	return 0;
}

/* Points every candidate at its route, now that s->cand_res moves no
 * more. */
static void
bind_routes(struct sched *s)
{
	size_t i;

	for (i = 0; i < s->ncands; i++)
		s->cands[i].res = s->cand_res + s->cands[i].res_at;
}

/*
 * The cost function: fewer hops and less latency first, then sources that
 * already serve less (load), then sources that hold more of what is needed.
 */
static double
candidate_cost(struct sched *s, const struct demand *d, size_t src,
    uint64_t src_len, const unsigned *load)
{
	int hops = route_hops(s->t, src, d->host);
	double lat = route_latency(s->t, src, d->host);
	double cover = (double)(src_len - d->have) / (double)(d->want -
	    d->have);

	if (cover > 1)
		cover = 1;
	return hops + 10 * lat + 0.02 * load[src] - 0.05 * cover;
}

struct scored {
	size_t		 source;
	double		 cost;
};

static int
cmp_scored(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;

	if (x->cost != y->cost)
		return x->cost < y->cost ? -1 : 1;
	return (x->source > y->source) - (x->source < y->source);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/*
 * Per file, the lengths held by hosts that may serve, sorted: how many
 * hold more than a destination is then a binary search.
 */
static uint64_t *
holder_lengths(const struct sched *s)
{
	size_t nf = s->m->fileset->nfiles, H = s->t->nhosts, f, h;
	uint64_t *lens = xcalloc((nf ? nf : 1) * (H ? H : 1), sizeof(uint64_t));

	for (f = 0; f < nf; f++) {
		for (h = 0; h < H; h++)
			lens[f * H + h] = s->source_ok[h] ? sched_held(s, h, f) : 0;
		qsort(lens + f * H, H, sizeof(uint64_t), cmp_u64);
	}
	return lens;
}

/* 1 when src alone holds the file's last bytes: they leave it once. */
static int
sole_holder(const struct sched *s, const uint64_t *lens, size_t src,
    size_t file)
{
	size_t H = s->t->nhosts;
	uint64_t l = sched_held(s, src, file);

	return l > 0 && l == lens[file * H + H - 1] && (H < 2 ||
	    l > lens[file * H + H - 2]);
}

/* How many usable hosts hold more of the file than have. */
static size_t
holders_beyond(const struct sched *s, const uint64_t *lens, size_t file,
    uint64_t have)
{
	size_t H = s->t->nhosts, lo = 0, hi = H;
	const uint64_t *l = lens + file * H;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l[mid] <= have)
			lo = mid + 1;
		else
			hi = mid;
	}
	return H - lo;
}

/* Candidates of one demand sorted by source length, then source index. */
static int
cmp_by_length(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;

	if (x->source_len != y->source_len)
		return x->source_len < y->source_len ? -1 : 1;
	return (x->source > y->source) - (x->source < y->source);
}

/* A site's group: its partition, or itself when it names none
 * (partitions are numbered after the sites). */
size_t
sched_site_group(const struct topology *t, size_t site)
{
	return t->sites[site].part < 0 ? site :
	    t->nsites + (size_t)t->sites[site].part;
}

/* Each site's group, for seeding. */
static size_t *
site_partitions(const struct topology *t)
{
	size_t *part = xcalloc(t->nsites ? t->nsites : 1, sizeof(size_t));
	size_t i;

	for (i = 0; i < t->nsites; i++)
		part[i] = sched_site_group(t, i);
	return part;
}

struct seed {
	size_t		 demand;
	size_t		 group;		/* group * nfiles + file */
	size_t		 rank;		/* in the file's tree of its site */
};

static int
cmp_seed(const void *a, const void *b)
{
	const struct seed *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return (x->demand > y->demand) - (x->demand < y->demand);
}

/*
 * Marks the WAN seeders of a group of sites (a site, or a partition): per
 * (group, file), the demands that hold at least as much of the file as any
 * host of the group that may serve, up to wan_seeders; the first is the
 * leader (2), the others 1.  Only seeders take data from outside the
 * group: what crosses into it once, its hosts copy among themselves.
 */
static char *
choose_seeders(struct sched *s, const size_t *group, const size_t *rank)
{
	struct topology *t = s->t;
	size_t nf = s->m->fileset->nfiles, i, j, n;
	struct seed *order = xcalloc(s->ndemands ? s->ndemands : 1,
	    sizeof(*order));
	char *seeder = xcalloc(s->ndemands ? s->ndemands : 1, 1);
	/* Group numbers run below twice the number of sites. */
	size_t *count = xcalloc(2 * t->nsites * (nf ? nf : 1), sizeof(size_t));
	uint64_t *best = xcalloc(2 * t->nsites * (nf ? nf : 1),
	    sizeof(uint64_t));

	/* A failed host's data is no use to its neighbours: it must not
	 * stop them from fetching from outside. */
	for (i = 0; i < t->nhosts; i++)
		for (j = 0; j < nf; j++) {
			size_t k = group[t->hosts[i].site] * nf + j;

			if (s->source_ok[i] && sched_held(s, i, j) > best[k])
				best[k] = sched_held(s, i, j);
		}
	/* Among those that hold the most, the first in the file's tree
	 * order: each file enters a site through different hosts. */
	for (n = i = 0; i < s->ndemands; i++) {
		const struct demand *d = &s->demands[i];
		size_t k = group[t->hosts[d->host].site] * nf + d->file;

		if (d->have >= best[k]) {
			order[n].demand = i;
			order[n].group = k;
			order[n].rank = rank[d->host * nf + d->file];
			n++;
		}
	}
	qsort(order, n, sizeof(*order), cmp_seed);
	for (i = 0; i < n; i++) {
		size_t k = order[i].group;
		const struct host *h =
		    &t->hosts[s->demands[order[i].demand].host];
		double down = t->sites[h->site].downlink;
		/* One seeder when its NIC takes all its site's downlink
		 * carries: a second would only split what enters. */
		size_t most = down != CAP_UNLIMITED && h->nic_in !=
		    CAP_UNLIMITED && h->nic_in >= down ? 1 : s->wan_seeders;

		if (count[k] < most) {
			seeder[order[i].demand] = 1 + (count[k] == 0);
			count[k]++;
		}
	}
	free(order);
	free(count);
	free(best);
	return seeder;
}

/*
 * The copy trees.  Within a site, a file's hosts are ordered by what they
 * hold, longest first, then by egress, largest first (a fast host makes a
 * better relay); ties are broken by a rotation that differs per file
 * (rotate_ties()), so that a different host leads each file.  Each host
 * then gets a parent before it in that order, the earliest with a child
 * slot left: rank 0, the longest holder, feeds rank 1 alone (what it sends
 * goes to the file once, and its egress is shared by every file it holds);
 * the others each feed up to their share of children, and when none before
 * a host has a slot left, rank 1 feeds it too (not rank 0, whose egress is
 * the file's first bottleneck).  A host's slots are its egress in streams
 * at its ingress's pace: as many as the site has files in flight (each
 * gets that share of the ingress), times its egress over its ingress, at
 * most SCHED_FANOUT per file; shared by all its files.  So each host
 * relays what it receives to a few others, the trees stay shallow, and no
 * host's egress is promised twice over, where without a structure everyone
 * would pick the same sources.
 */
struct tree_entry {
	size_t		 host;
	uint64_t	 len;		/* what it holds of the file */
	double		 out;		/* its egress */
	size_t		 key;		/* the rotation, for ties */
};

struct trees {
	size_t		*rank;		/* host * nfiles + file: its place */
	long		*parent;	/* ... its parent's host, or -1 */
	unsigned	*children;	/* ... how many it feeds */
};

static int
cmp_tree(const void *a, const void *b)
{
	const struct tree_entry *x = a, *y = b;

	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;
	if (x->out != y->out)
		return x->out > y->out ? -1 : 1;
	return (x->key > y->key) - (x->key < y->key);
}

/* How many child streams host h's egress keeps up with. */
static unsigned
tree_slots(const struct host *h, size_t files)
{
	double r;

	if (h->nic_out == CAP_UNLIMITED)
		return (unsigned)(SCHED_FANOUT * files);
	r = h->nic_in == CAP_UNLIMITED ? 1 : h->nic_out / h->nic_in;
	r *= (double)files;
	return r < 1 ? 1 : r > SCHED_FANOUT * files ? (unsigned)(SCHED_FANOUT *
	    files) : (unsigned)(r + 0.5);
}

/*
 * Bounds a copy tree's depth.  Every hop of a chain adds SCHED_HOP_DELAY
 * to when the last host has the file, which the timing rule does not
 * count: a thousand hosts of equal NICs in one site make a chain a
 * thousand deep, and a small file would take minutes to pass down it.
 * When the hops of file f's tree in site would take more than a quarter
 * of the round, and a binary tree would finish sooner (every host at
 * half the rate, log2 of the hosts deep), the tree becomes binary under
 * its second host.  e is the site's hosts in the file's rank order.
 */
static void
bound_depth(const struct sched *s, const struct site *site, struct trees *tr,
    const struct tree_entry *e, size_t n, size_t f, size_t active)
{
	const struct topology *t = s->t;
	size_t nf = s->m->fileset->nfiles, j, k, depth = 0, wanting = 0;
	double rate = INFINITY, bytes = 0, tb, chain, binary;
	long p;

	for (j = 0; j < n; j++) {
		size_t h = site->hosts[e[j].host];
		long d = s->demand_of[h * nf + f];
		const struct host *hh = &t->hosts[h];

		if (d < 0)
			continue;
		wanting++;
		bytes = fmax(bytes, (double)(s->demands[d].want -
		    s->demands[d].have));
		if (hh->nic_in != CAP_UNLIMITED)
			rate = fmin(rate, hh->nic_in);
		if (hh->nic_out != CAP_UNLIMITED)
			rate = fmin(rate, hh->nic_out);
		for (k = 0, p = tr->parent[h * nf + f]; p >= 0 && k <= n;
		    p = tr->parent[(size_t)p * nf + f])
			k++;
		if (k > depth)
			depth = k;
	}
	if (wanting < 4 || !isfinite(rate) || (double)depth *
	    SCHED_HOP_DELAY <= s->T / 4)
		return;
	rate /= (double)(active ? active : 1);
	tb = (double)sched_block_size(s, f) / rate;
	chain = bytes / rate + (double)depth * (tb + SCHED_HOP_DELAY);
	binary = 2 * bytes / rate + ceil(log2((double)wanting + 1)) * (2 * tb +
	    SCHED_HOP_DELAY);
	if (binary >= chain)
		return;
	for (j = 0; j < n; j++)
		tr->children[site->hosts[e[j].host] * nf + f] = 0;
	/* Rank 0 feeds rank 1 alone, as before; the rest is a heap under
	 * rank 1. */
	for (j = 1; j < n; j++) {
		size_t parent = site->hosts[e[j == 1 ? 0 : 1 + (j - 2) /
		    2].host];

		tr->parent[site->hosts[e[j].host] * nf + f] = (long)parent;
		tr->children[parent * nf + f]++;
	}
}

static void
reverse_entries(struct tree_entry *e, size_t n)
{
	struct tree_entry tmp;
	size_t i;

	for (i = 0; i < n / 2; i++) {
		tmp = e[i];
		e[i] = e[n - 1 - i];
		e[n - 1 - i] = tmp;
	}
}

/*
 * Rotates each run of hosts that hold the same of file f and have the
 * same egress (sorted by host) by f's share of the run, so that each
 * file's run starts at a different host: the first host of a run is the
 * one its file's tree leans on.  (Rotating the whole site instead let the
 * holders take the turns: with a generator and two others, both of its
 * files went first to the same host, whose egress then carried both.)
 */
static void
rotate_ties(struct tree_entry *e, size_t n, size_t f, size_t nf)
{
	size_t i, j, m, shift;

	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && e[j].len == e[i].len &&
		    e[j].out == e[i].out; j++)
			;
		m = j - i;
		shift = m > 1 ? f * m / nf % m : 0;
		if (shift == 0)
			continue;
		/* Left by shift: three reversals. */
		reverse_entries(e + i, shift);
		reverse_entries(e + i + shift, m - shift);
		reverse_entries(e + i, m);
	}
}

/* Builds the trees of one site's files. */
static void
site_trees(const struct sched *s, const struct site *site, struct trees *tr,
    struct tree_entry *e, unsigned *slots)
{
	size_t nf = s->m->fileset->nfiles, n = site->nhosts, f, j, q, active;
	char *wanted = xcalloc(nf ? nf : 1, 1);

	for (active = f = 0; f < nf; f++)
		for (j = 0; j < n && !wanted[f]; j++)
			if (s->demand_of[site->hosts[j] * nf + f] >= 0) {
				wanted[f] = 1;
				active++;
			}
	for (j = 0; j < n; j++)
		slots[j] = tree_slots(&s->t->hosts[site->hosts[j]],
		    active ? active : 1);
	for (f = 0; f < nf; f++) {
		for (j = 0; j < n; j++) {
			e[j].host = j;
			e[j].len = sched_held(s, site->hosts[j], f);
			e[j].out = s->t->hosts[site->hosts[j]].nic_out;
			e[j].key = j;
		}
		qsort(e, n, sizeof(*e), cmp_tree);
		rotate_ties(e, n, f, nf);
		for (j = 0; j < n; j++) {
			size_t h = site->hosts[e[j].host] * nf + f;

			tr->rank[h] = j;
			tr->parent[h] = -1;
		}
		/* A file nobody here needs takes no slot. */
		for (q = 1, j = 1; wanted[f] && j < n; j++) {
			size_t child = site->hosts[e[j].host] * nf + f, p;

			/* The earliest host before it with a slot left;
			 * rank 0 feeds rank 1 only, rank 1 the rest. */
			while (q < j && (slots[e[q].host] == 0 ||
			    tr->children[site->hosts[e[q].host] * nf + f] >=
			    SCHED_FANOUT))
				q++;
			p = j == 1 ? 0 : q == j ? 1 : q;
			tr->parent[child] = (long)site->hosts[e[p].host];
			tr->children[site->hosts[e[p].host] * nf + f]++;
			if (slots[e[p].host] > 0)
				slots[e[p].host]--;
		}
		if (wanted[f])
			bound_depth(s, site, tr, e, n, f, active);
	}
	free(wanted);
}

/* The copy trees of every site and file; freed with trees_free(). */
static void
trees_build(const struct sched *s, struct trees *tr)
{
	const struct topology *t = s->t;
	size_t nf = s->m->fileset->nfiles, i, n = t->nhosts * (nf ? nf : 1);
	struct tree_entry *e = xcalloc(t->nhosts ? t->nhosts : 1, sizeof(*e));
	unsigned *slots = xcalloc(t->nhosts ? t->nhosts : 1,
	    sizeof(unsigned));

	tr->rank = xcalloc(n ? n : 1, sizeof(size_t));
	tr->parent = xcalloc(n ? n : 1, sizeof(long));
	tr->children = xcalloc(n ? n : 1, sizeof(unsigned));
	for (i = 0; i < t->nsites; i++)
		site_trees(s, &t->sites[i], tr, e, slots);
	free(e);
	free(slots);
}

/* The copy trees are the forest's within each site, when there is one
 * (forest.c): a site's first host is fed from outside it. */
static void
trees_from_forest(const struct sched *s, struct trees *tr)
{
	const struct topology *t = s->t;
	size_t nf = s->m->fileset->nfiles, i, n = t->nhosts * (nf ? nf : 1);

	tr->rank = xcalloc(n ? n : 1, sizeof(size_t));
	tr->parent = xcalloc(n ? n : 1, sizeof(long));
	tr->children = xcalloc(n ? n : 1, sizeof(unsigned));
	for (i = 0; i < t->nhosts * nf; i++) {
		long p = s->forest_parent[i];

		tr->rank[i] = s->forest_rank[i];
		tr->parent[i] = p >= 0 && t->hosts[p].site ==
		    t->hosts[i / nf].site ? p : -1;
		if (tr->parent[i] >= 0)
			tr->children[(size_t)p * nf + i % nf]++;
	}
}

/* Frees the trees but for the children counts, which the LAN LPs use
 * and the sched keeps. */
static void
trees_free(struct sched *s, struct trees *tr)
{
	free(tr->rank);
	free(tr->parent);
	free(s->children);
	s->children = tr->children;
}

/* How many generations above host d of file f host a is, or 0 if it is
 * none. */
static int
tree_ancestor(const struct trees *tr, size_t nf, size_t d, size_t a,
    size_t f)
{
	long p = tr->parent[d * nf + f];
	int level = 1;

	for (; p >= 0 && level <= 64; level++) {
		if ((size_t)p == a)
			return level;
		p = tr->parent[(size_t)p * nf + f];
	}
	return 0;
}

/*
 * The order in which a file flows within a round, so that relays form no
 * cycle: a host precedes another when it holds more of the file; when
 * they hold the same, when its site is nearer the generator's (fewer
 * hops, then less latency, then the site listed first), and within a site
 * by the file's copy tree.  site_key[file * nsites + site] is the rank of
 * a site by nearness.
 */
struct flow_order {
	size_t		*site_key;
	const size_t	*rank;		/* host * nfiles + file: tree rank */
};

/* A site keyed for the flow order of one file: sites with no host last,
 * then fewer hops from the generator, less latency, the site listed
 * first. */
struct near_key {
	int		 empty;
	int		 hops;
	double		 latency;
	size_t		 site;
};

static int
cmp_site_near(const void *a, const void *b)
{
	const struct near_key *x = a, *y = b;

	if (x->empty || y->empty) {
		if (x->empty != y->empty)
			return x->empty - y->empty;
	} else {
		if (x->hops != y->hops)
			return x->hops < y->hops ? -1 : 1;
		if (x->latency != y->latency)
			return x->latency < y->latency ? -1 : 1;
	}
	return (x->site > y->site) - (x->site < y->site);
}

static void
flow_order_init(struct flow_order *o, struct sched *s, const size_t *rank)
{
	size_t nf = s->m->fileset->nfiles, ns = s->t->nsites, f, i;
	struct near_key *k = xcalloc(ns ? ns : 1, sizeof(*k));

	o->rank = rank;
	o->site_key = xcalloc((nf ? nf : 1) * (ns ? ns : 1), sizeof(size_t));
	if (s->forest_site_key != NULL) {
		/* The sites in the order they joined the file's forest. */
		memcpy(o->site_key, s->forest_site_key, nf * ns *
		    sizeof(size_t));
		free(k);
		return;
	}
	for (f = 0; f < nf; f++) {
		size_t g = s->m->fileset->files[f].generator;

		for (i = 0; i < ns; i++) {
			const struct site *si = &s->t->sites[i];

			memset(&k[i], 0, sizeof(k[i]));
			k[i].site = i;
			k[i].empty = si->nhosts == 0;
			if (k[i].empty)
				continue;
			k[i].hops = route_hops(s->t, g, si->hosts[0]);
			k[i].latency = route_latency(s->t, g, si->hosts[0]);
		}
		qsort(k, ns, sizeof(*k), cmp_site_near);
		for (i = 0; i < ns; i++)
			o->site_key[f * ns + k[i].site] = i;
	}
	free(k);
}

/*
 * 1 when host a precedes host b in file's flow, with sites ranked by
 * site_key[file * nsites + site] and hosts within a site by
 * rank[host * nfiles + file]: it holds more, or as much in an earlier
 * site, or in the same site ranked before.
 */
int
sched_precedes(const struct sched *s, const size_t *site_key,
    const size_t *rank, size_t a, size_t b, size_t file)
{
	size_t nf = s->m->fileset->nfiles, ns = s->t->nsites;
	uint64_t la = sched_held(s, a, file), lb = sched_held(s, b, file);
	size_t sa = s->t->hosts[a].site, sb = s->t->hosts[b].site;

	if (la != lb)
		return la > lb;
	if (sa != sb)
		return site_key[file * ns + sa] < site_key[file * ns + sb];
	return rank[a * nf + file] < rank[b * nf + file];
}

/* 1 when host a precedes host b in file's flow as o orders it. */
static int
precedes(const struct sched *s, const struct flow_order *o, size_t a,
    size_t b, size_t file)
{
	return sched_precedes(s, o->site_key, o->rank, a, b, file);
}

/* A host that relays file this round: it receives it (a demand) and may
 * serve (not failed). */
int
sched_relays(const struct sched *s, size_t host, size_t file)
{
	return s->source_ok[host] && !s->silent[host] &&
	    s->demand_of[host * s->m->fileset->nfiles + file] >= 0;
}

/*
 * Of the sources of a demand that relay and hold the same, keeps one: the
 * last in the file's flow (the nearest upstream, as a parent is nearer
 * than a grandparent, or the site just before the destination's rather
 * than the generator's).  The range rows order a demand's candidates by
 * what their sources hold, so between relays that hold the same the
 * order would be arbitrary and the second capped by what the first is
 * fed.  Returns how many picks are left, in their order.
 */
static size_t
one_relay_per_length(const struct sched *s, const struct flow_order *o,
    const struct demand *d, struct scored *pick, size_t n)
{
	size_t i, j, k;

	for (i = 0; i < n; i++) {
		uint64_t l;

		if (pick[i].source == (size_t)-1 ||
		    !sched_relays(s, pick[i].source, d->file))
			continue;
		l = sched_held(s, pick[i].source, d->file);
		for (j = i + 1; j < n; j++) {
			if (pick[j].source == (size_t)-1 ||
			    !sched_relays(s, pick[j].source, d->file) ||
			    sched_held(s, pick[j].source, d->file) != l)
				continue;
			if (precedes(s, o, pick[i].source, pick[j].source,
			    d->file))
				pick[i].source = pick[j].source;
			pick[j].source = (size_t)-1;
		}
	}
	for (i = k = 0; i < n; i++)
		if (pick[i].source != (size_t)-1)
			pick[k++] = pick[i];
	return k;
}

/* The demand's parent in the forest, when it has one, becomes its first
 * pick (it may relay: it precedes the destination in the flow), even
 * holding less than the destination when it receives the file this
 * round: it relays past it. */
static void
forest_first(const struct sched *s, const struct demand *d,
    struct scored *pick, size_t *n)
{
	size_t nf = s->m->fileset->nfiles, i;
	long p;

	if (s->forest_parent == NULL ||
	    (p = s->forest_parent[d->host * nf + d->file]) < 0 ||
	    (sched_held(s, (size_t)p, d->file) < d->have &&
	    !sched_relays(s, (size_t)p, d->file)))
		return;
	for (i = 0; i < *n && pick[i].source != (size_t)p; i++)
		;
	if (i == *n)
		(*n)++;
	memmove(pick + 1, pick, i * sizeof(*pick));
	pick[0].source = (size_t)p;
	pick[0].cost = -2;
}

/* What choosing the candidates of a round works from, built once. */
struct chooser {
	struct sched	*s;
	size_t		 nf;
	unsigned	*load;		/* per host: candidates it serves */
	struct scored	*pick;		/* one demand's sources, scored */
	size_t		 cap;		/* s->cands allocated */
	size_t		 res_cap;	/* s->cand_res allocated */
	size_t		*part;		/* per site: its seeding group */
	uint64_t	*lens;		/* holder_lengths() */
	char		*seeder;	/* per demand: seeds its site */
	char		*pseeder;	/* ... its partition */
	struct flow_order order;
	struct trees	 tr;
	size_t		*leader;	/* site * nf + file: its head */
	size_t		*sole;		/* per file: its sole holder, or -1 */
	size_t		*next;		/* ... the host it serves first */
	size_t		*top;		/* 2 * (site * nf + file): the two
					 * longest holders */
};

/* The copy trees, the seeders of every site and partition, the holders'
 * lengths and the flow order: what every later step reads. */
static void
chooser_init(struct chooser *ch, struct sched *s)
{
	struct topology *t = s->t;
	size_t i, *self;

	memset(ch, 0, sizeof(*ch));
	ch->s = s;
	ch->nf = s->m->fileset->nfiles;
	ch->load = xcalloc(t->nhosts, sizeof(unsigned));
	ch->pick = xcalloc(t->nhosts + 3 * t->nsites + 2, sizeof(*ch->pick));
	ch->part = site_partitions(t);
	self = xcalloc(t->nsites ? t->nsites : 1, sizeof(size_t));
	for (i = 0; i < t->nsites; i++)
		self[i] = i;
	if (s->forest_parent != NULL)
		trees_from_forest(s, &ch->tr);
	else
		trees_build(s, &ch->tr);
	ch->seeder = choose_seeders(s, self, ch->tr.rank);
	ch->pseeder = choose_seeders(s, ch->part, ch->tr.rank);
	ch->lens = holder_lengths(s);
	flow_order_init(&ch->order, s, ch->tr.rank);
	free(self);
}

static void
chooser_free(struct chooser *ch)
{
	free(ch->load);
	free(ch->pick);
	free(ch->top);
	free(ch->seeder);
	free(ch->pseeder);
	free(ch->part);
	free(ch->lens);
	trees_free(ch->s, &ch->tr);
	free(ch->leader);
	free(ch->sole);
	free(ch->next);
	free(ch->order.site_key);
}

/*
 * Each site's head for each file, the first host of its tree that
 * receives the file: the WAN relays between them, so a file leaves its
 * generator once and crosses to every site from a site that has it or is
 * getting it.
 */
static void
find_leaders(struct chooser *ch)
{
	struct sched *s = ch->s;
	struct topology *t = s->t;
	size_t nf = ch->nf, i, k;

	ch->leader = xcalloc(t->nsites * (nf ? nf : 1), sizeof(size_t));
	for (k = 0; k < t->nsites * nf; k++)
		ch->leader[k] = (size_t)-1;
	for (i = 0; i < s->ndemands; i++) {
		struct demand *d = &s->demands[i];
		size_t *slot = &ch->leader[t->hosts[d->host].site * nf +
		    d->file];

		if (*slot == (size_t)-1 || ch->tr.rank[d->host * nf +
		    d->file] < ch->tr.rank[*slot * nf + d->file])
			*slot = d->host;
	}
}

/*
 * A source site: none of its files waits on the WAN (the head of each is
 * fed by a holder of its own site).  Its LAN is planned before the WAN,
 * so the WAN can relay from its heads, whose egress it will want.
 */
static void
mark_source_sites(struct chooser *ch)
{
	struct sched *s = ch->s;
	struct topology *t = s->t;
	size_t nf = ch->nf, i, k;

	s->source_site = xcalloc(t->nsites ? t->nsites : 1, 1);
	memset(s->source_site, 1, t->nsites);
	for (i = 0; i < s->ndemands; i++) {
		const struct demand *d = &s->demands[i];

		if (ch->leader[t->hosts[d->host].site * nf + d->file] ==
		    d->host && ch->tr.parent[d->host * nf + d->file] < 0)
			s->source_site[t->hosts[d->host].site] = 0;
	}
	s->export = xcalloc(t->nhosts ? t->nhosts : 1, 1);
	for (k = 0; k < t->nsites * nf; k++)
		if (ch->leader[k] != (size_t)-1 && s->source_site[k / nf] &&
		    t->nsites > 1)
			s->export[ch->leader[k]] = 1;
}

/*
 * Bytes one host alone holds (a generator's) leave it once: to the host
 * first in the file's flow, which relays them to the rest.  Where the
 * generator's egress is the bottleneck, a copy of them to a second host
 * is time the bound does not allow.
 */
static void
find_sole_holders(struct chooser *ch)
{
	struct sched *s = ch->s;
	struct topology *t = s->t;
	size_t nf = ch->nf, i, j, *sole, *next;

	sole = ch->sole = xcalloc(nf ? nf : 1, sizeof(size_t));
	next = ch->next = xcalloc(nf ? nf : 1, sizeof(size_t));
	for (j = 0; j < nf; j++) {
		sole[j] = next[j] = (size_t)-1;
		for (i = 0; i < t->nhosts; i++)
			if (s->source_ok[i] && sole_holder(s, ch->lens, i, j))
				sole[j] = i;
		for (i = 0; sole[j] != (size_t)-1 && i < s->ndemands; i++) {
			size_t h = s->demands[i].host;

			/* Only one that may relay what it gets: a failed
			 * host would keep the bytes to itself. */
			if (s->demands[i].file == j && s->source_ok[h] &&
			    (next[j] == (size_t)-1 || precedes(s, &ch->order,
			    h, next[j], j)))
				next[j] = h;
		}
		/* Only within its own site: the source site's LAN is
		 * planned first, and the WAN relays from its head. */
		if (next[j] == (size_t)-1 || t->hosts[next[j]].site !=
		    t->hosts[sole[j]].site)
			sole[j] = (size_t)-1;
	}
}

/* The two longest holders of each file in each site, for the WAN. */
static void
find_top_holders(struct chooser *ch)
{
	struct sched *s = ch->s;
	struct topology *t = s->t;
	size_t nf = ch->nf, i, j, k;

	ch->top = xcalloc(2 * t->nsites * (nf ? nf : 1), sizeof(size_t));
	for (k = 0; k < 2 * t->nsites * nf; k++)
		ch->top[k] = (size_t)-1;
	for (i = 0; i < t->nhosts; i++) {
		if (!s->source_ok[i])
			continue;
		for (j = 0; j < nf; j++) {
			size_t *slot = &ch->top[2 * (t->hosts[i].site * nf +
			    j)];
			uint64_t l = sched_held(s, i, j);

			if (l == 0)
				continue;
			if (slot[0] == (size_t)-1 || l > sched_held(s, slot[0], j)) {
				slot[1] = slot[0];
				slot[0] = i;
			} else if (slot[1] == (size_t)-1 ||
			    l > sched_held(s, slot[1], j))
				slot[1] = i;
		}
	}
}

/* Scores src as a source of d into the next pick; returns the count. */
static size_t
pick_add(struct chooser *ch, const struct demand *d, size_t n, size_t src)
{
	ch->pick[n].source = src;
	ch->pick[n].cost = candidate_cost(ch->s, d, src, sched_held(ch->s, src,
	    d->file), ch->load);
	return n + 1;
}

/*
 * Sources within d's own site: any host that holds more, or that relays
 * to its children and grandchildren in the file's copy tree; ancestors
 * first.  A sole holder serves its children only.
 */
static size_t
pick_in_site(struct chooser *ch, const struct demand *d)
{
	struct sched *s = ch->s;
	struct topology *t = s->t;
	const struct site *site = &t->sites[t->hosts[d->host].site];
	size_t nf = ch->nf, n = 0, j;
	int level;

	for (j = 0; j < site->nhosts; j++) {
		size_t src = site->hosts[j];

		if (src == d->host || !s->source_ok[src])
			continue;
		if (src == ch->sole[d->file] && ch->tr.parent[d->host * nf +
		    d->file] != (long)src)
			continue;
		level = tree_ancestor(&ch->tr, nf, d->host, src, d->file);
		if (sched_held(s, src, d->file) <= d->have && !(level >= 1 &&
		    level <= 2 && sched_relays(s, src, d->file) &&
		    precedes(s, &ch->order, src, d->host, d->file)))
			continue;
		n = pick_add(ch, d, n, src);
		ch->pick[n - 1].cost += level ? 0.1 * (level - 1) : 1;
	}
	return n;
}

/*
 * Sources across sites, for a site's seeder (demand i): the two longest
 * holders of every other reachable site, and that site's leader relaying
 * what it gets; into a partition only through its own seeders.
 */
static size_t
pick_across_sites(struct chooser *ch, size_t i, const struct demand *d,
    size_t n)
{
	struct sched *s = ch->s;
	struct topology *t = s->t;
	size_t nf = ch->nf, here = t->hosts[d->host].site, j, k;

	for (k = 0; k < t->nsites; k++) {
		size_t *slot = &ch->top[2 * (k * nf + d->file)], lead;
		int added;

		if (k == here)
			continue;
		if (ch->part[k] != ch->part[here] && !ch->pseeder[i])
			continue;
		added = 0;
		for (j = 0; j < 2; j++) {
			size_t src = slot[j];

			if (src == (size_t)-1 || sched_held(s, src, d->file) <=
			    d->have || src == ch->sole[d->file])
				continue;
			n = pick_add(ch, d, n, src);
			added |= src == ch->leader[k * nf + d->file];
		}
		lead = ch->leader[k * nf + d->file];
		if (lead != (size_t)-1 && !added &&
		    sched_relays(s, lead, d->file) &&
		    precedes(s, &ch->order, lead, d->host, d->file))
			n = pick_add(ch, d, n, lead);
	}
	return n;
}

/*
 * The worth of a block of candidate c for demand i: priority; across
 * sites three times as much for a site's leader and more for a site
 * further ahead (it can relay to the others, where an even split keeps
 * every site waiting on the generator alone); within a site the
 * destination's deficit, and more for a host with children in the file's
 * copy tree (it serves them next round).  Scarce bytes first, whatever
 * the priorities: what few hosts hold is the critical path.  Half as
 * much to a host whose agent starts late: other things equal, those on
 * time are served before it.
 */
static double
candidate_weight(const struct chooser *ch, size_t i, const struct demand *d,
    const struct candidate *c)
{
	const struct sched *s = ch->s;
	const struct topology *t = s->t;
	const struct fileset *fs = s->m->fileset;
	double deficit = (double)(d->want - d->have) / (double)d->want;
	double scarce, weight;

	scarce = 1 + 2.0 / (double)(holders_beyond(s, ch->lens, d->file,
	    d->have) + (holders_beyond(s, ch->lens, d->file, d->have) == 0));
	if (c->wan)
		weight = (double)(fs->files[d->file].priority + 1) *
		    (ch->seeder[i] == 2 ? 3 : 1) * (1 + 0.5 * (double)d->have /
		    (double)d->want) * (1 + 1e-3 * (double)(t->nsites -
		    t->hosts[d->host].site) / (double)t->nsites);
	else
		weight = (double)(fs->files[d->file].priority + 1) *
		    (1 + deficit) * (ch->tr.children[d->host * ch->nf +
		    d->file] > 0 ? 1 + SCHED_INTERIOR_BONUS : 1);
	weight *= scarce;
	if (sched_late(s, d->host) > 0)
		weight *= SCHED_LATE_WORTH;
	weight -= 1e-3 * c->cost;
	if (weight < 1e-6)
		weight = 1e-6;
	return weight;
}

/*
 * Makes the first candidates_per_demand of the n sources picked for
 * demand i its candidates, each with its route; a source that receives
 * the file this round relays it (it precedes the destination by
 * construction).  Never a host from itself: the sole holder's child may
 * be that holder, when the generator failed.
 */
static void
add_candidates(struct chooser *ch, size_t i, size_t n)
{
	struct sched *s = ch->s;
	struct topology *t = s->t;
	struct demand *d = &s->demands[i];
	size_t nf = ch->nf, j;

	d->first = s->ncands;
	for (j = 0; j < n && d->ncand < s->candidates_per_demand; j++) {
		struct candidate *c;

		if (ch->pick[j].source == d->host)
			continue;
		if (s->ncands == ch->cap) {
			ch->cap = ch->cap ? ch->cap * 2 : 256;
			s->cands = xreallocarray(s->cands, ch->cap,
			    sizeof(*s->cands));
		}
		c = &s->cands[s->ncands];
		memset(c, 0, sizeof(*c));
		c->demand = i;
		c->source = ch->pick[j].source;
		c->source_len = sched_held(s, c->source, d->file);
		if (c->source_len > d->want)
			c->source_len = d->want;
		if (candidate_route(s, &ch->res_cap, c, c->source,
		    d->host) != 0)
			continue;
		c->feed = sched_relays(s, c->source, d->file) ?
		    s->demand_of[c->source * nf + d->file] : -1;
		c->wan = t->hosts[c->source].site != t->hosts[d->host].site;
		c->cost = ch->pick[j].cost;
		c->weight = candidate_weight(ch, i, d, c);
		ch->load[c->source]++;
		s->ncands++;
		d->ncand++;
	}
	if (d->ncand > 1)
		qsort(s->cands + d->first, d->ncand, sizeof(*s->cands),
		    cmp_by_length);
}

/*
 * Chooses the best candidates_per_demand sources of every demand: any host
 * of its own site that holds more, its ancestors in the file's copy tree
 * first, and for a site's seeders the two longest holders of every other
 * reachable site.  A source that receives the file this round and
 * precedes the destination in the file's flow may relay: serve beyond
 * what it holds, as it arrives.  So the destination's parent and
 * grandparent in the copy tree are sources even when they hold no more
 * than it yet, and so is the leader of every other site that precedes a
 * seeder's.  The steps: the copy trees and flow order, the sites' heads,
 * the source sites, the sole holders, the longest holders; then per
 * demand its sources picked, scored and made candidates.
 */
void
sched_candidates(struct sched *s)
{
	struct chooser ch;
	size_t i, n;

	chooser_init(&ch, s);
	find_leaders(&ch);
	mark_source_sites(&ch);
	find_sole_holders(&ch);
	find_top_holders(&ch);
	for (i = 0; i < s->ndemands; i++) {
		const struct demand *d = &s->demands[i];

		n = pick_in_site(&ch, d);
		if (ch.seeder[i])
			n = pick_across_sites(&ch, i, d, n);
		/* The one host the sole holder serves, first of all. */
		if (ch.sole[d->file] != (size_t)-1 &&
		    d->host == ch.next[d->file]) {
			ch.pick[n].source = ch.sole[d->file];
			ch.pick[n].cost = -1;
			n++;
		}
		qsort(ch.pick, n, sizeof(*ch.pick), cmp_scored);
		n = one_relay_per_length(s, &ch.order, d, ch.pick, n);
		forest_first(s, d, ch.pick, &n);
		add_candidates(&ch, i, n);
	}
	bind_routes(s);
	/*
	 * Each candidate becomes at most one op whose rate is rounded up to a
	 * whole byte per second: keep one byte per second of every resource
	 * aside for each, so the rounded rates still fit.
	 */
	for (i = 0; i < s->ncands; i++)
		budget_charge(&s->budget, s->cands[i].res, s->cands[i].nres, 1);
	chooser_free(&ch);
}

/* Blocks the candidate may still take within its demand's range. */

uint64_t
sched_scheduled_bytes(const struct sched *s)
{
	uint64_t total = 0;
	size_t i, j;

	for (i = 0; i < s->ndemands; i++) {
		const struct demand *d = &s->demands[i];
		uint64_t b = d->have / sched_block_size(s, d->file), n = 0;

		for (j = d->first; j < d->first + d->ncand; j++)
			n += s->cands[j].blocks;
		if (n > 0)
			total += sched_block_bytes(s, &s->cands[d->first], b,
			    n);
	}
	return total;
}
