/*
 * test_sched.c: the schedule (planner/sched/) on inputs made by hand, in
 * memory: a master with no directory behind it, its holdings set host by
 * host, and the round's steps called one by one: a budget that refuses,
 * a demand with no candidate, a relay fed late, a relay that nothing
 * feeds, the LP that never lets GLPK end the process, the forest that
 * evens its hosts' egress, and a site's first host fed within the room
 * of the site that sends to it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "../../planner/sim/sim.h"
#include "../../planner/sched/schedule.h"

#define MIB 1048576ULL

/* Two sites of one host each, a 40 MB/s link between them. */
static const char two_sites[] = "round: 10s\nblock_size: 1MiB\nsites:\n"
    "  - {name: A, hosts: [{name: a, address: 192.0.2.1, root: /s, "
    "nic: 100MB/s}]}\n"
    "  - {name: B, hosts: [{name: b, address: 192.0.2.2, root: /s, "
    "nic: 100MB/s}]}\n"
    "links: [{between: [A, B], capacity: 40MB/s}]\n";

/* One site of three hosts. */
static const char one_site[] = "round: 10s\nblock_size: 1MiB\nsites:\n"
    "  - {name: A, hosts: [{name: a, address: 192.0.2.1, root: /s, "
    "nic: 100MB/s}, {name: b, address: 192.0.2.2, root: /s, "
    "nic: 100MB/s}, {name: c, address: 192.0.2.3, root: /s, "
    "nic: 100MB/s}]}\nlinks: []\n";

static const char one_file[] = "files: [{name: f, version: 1, generator: a, "
    "size: 64MiB}]\n";

static void
put(const char *path, const char *text)
{
	ck_assert_int_eq(atomic_write(path, text, strlen(text)), 0);
}

/*
 * A master from YAML text, loaded from files that are gone when it
 * returns; every file's manifest made as its generator would publish it.
 * Must be freed with master_free().
 */
static struct master *
hand_master(const char *topology, const char *fileset)
{
	char dir[] = "/tmp/sluice-sched-XXXXXX";
	struct master *m;
	char *tpath, *fpath;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	tpath = xasprintf("%s/topology.yaml", dir);
	fpath = xasprintf("%s/fileset.yaml", dir);
	put(tpath, topology);
	put(fpath, fileset);
	ck_assert_int_eq(master_load_files(tpath, fpath, &m), 0);
	unlink(tpath);
	unlink(fpath);
	rmdir(dir);
	free(tpath);
	free(fpath);
	sim_manifests(m);
	return m;
}

/* Host h of m holds len bytes of file f, as its state says. */
static void
hold(struct master *m, const char *host, size_t f, uint64_t len)
{
	long h = topology_host(m->topology, host);
	struct state *st;

	ck_assert_int_ge(h, 0);
	state_free(m->states[h]);
	st = xcalloc(1, sizeof(*st));
	st->host = xstrdup(host);
	st->files = xcalloc(1, sizeof(*st->files));
	st->files[0].name = xstrdup(m->fileset->files[f].name);
	st->files[0].version = m->fileset->files[f].version;
	st->files[0].length = len;
	st->nfiles = 1;
	m->states[h] = st;
}

/* The demand of host for file 0, or NULL. */
static const struct demand *
demand_of(const struct sched *s, const char *host)
{
	long h = topology_host(s->t, host);
	long d;

	ck_assert_int_ge(h, 0);
	d = s->demand_of[(size_t)h * s->m->fileset->nfiles];
	return d < 0 ? NULL : &s->demands[d];
}

/*
 * What a resource may carry is the budget's word: 94% of the link's
 * 40 MB/s.  Once a route has taken it all, a rate over it is refused
 * (budget_fits()), and the allocation gives the candidate across it
 * nothing, with either method.
 */
START_TEST(budget_refused)
{
	struct master *m = hand_master(two_sites, one_file);
	struct topology *t = m->topology;
	size_t res[ROUTE_MAX];
	int n, method;

	for (method = METHOD_LP; method <= METHOD_GREEDY; method++) {
		struct sched s;
		const struct demand *d;
		double room;

		sched_init(&s, m, (enum method)method);
		n = route_resources(t, 0, 1, res, ROUTE_MAX);
		ck_assert_int_gt(n, 0);
		room = budget_room(&s.budget, res, n);
		ck_assert_double_eq_tol(room, 0.94 * 40e6, 1e-3);
		ck_assert(budget_fits(40e6, 40e6));
		ck_assert(!budget_fits(40e6, 40e6 + 2));
		/* The link taken whole by what already runs. */
		budget_charge(&s.budget, res, n, room);
		ck_assert_double_le(budget_room(&s.budget, res, n), 0);
		sched_demands(&s);
		ck_assert_uint_eq(s.ndemands, 1);
		sched_candidates(&s);
		d = demand_of(&s, "b");
		ck_assert_ptr_nonnull(d);
		ck_assert_uint_eq(d->ncand, 1);
		ck_assert_uint_eq(sched_room(&s, &s.cands[d->first]), 0);
		sched_allocate(&s);
		ck_assert_uint_eq(s.cands[d->first].blocks, 0);
		ck_assert_uint_eq(sched_scheduled_bytes(&s), 0);
		sched_free(&s);
	}
	lp_thread_done();
	master_free(m);
}
END_TEST

/*
 * With the generator failed (not a source) and nobody else holding the
 * file, b has a demand and no candidate, and c at most b relaying what
 * nothing brings it: nothing is allocated, and nothing breaks.  Once b
 * holds half, c is given it from b, and b still has no candidate.
 */
START_TEST(demand_without_candidate)
{
	struct master *m = hand_master(one_site, one_file);
	struct sched s;
	const struct demand *d;

	sched_init(&s, m, METHOD_LP);
	s.source_ok[0] = 0;
	sched_demands(&s);
	ck_assert_uint_eq(s.ndemands, 2);
	sched_candidates(&s);
	ck_assert_uint_eq(demand_of(&s, "b")->ncand, 0);
	/* c may only be relayed to, by b, which nothing feeds. */
	d = demand_of(&s, "c");
	ck_assert_uint_le(d->ncand, 1);
	if (d->ncand == 1) {
		ck_assert_str_eq(s.t->hosts[s.cands[d->first].source].name,
		    "b");
		ck_assert_int_eq(s.cands[d->first].feed, s.demand_of[1]);
		ck_assert_uint_eq(s.cands[d->first].source_len, 0);
	}
	sched_allocate(&s);
	ck_assert_uint_eq(sched_scheduled_bytes(&s), 0);
	sched_free(&s);

	hold(m, "b", 0, 32 * MIB);
	sched_init(&s, m, METHOD_GREEDY);
	s.source_ok[0] = 0;
	sched_demands(&s);
	sched_candidates(&s);
	ck_assert_uint_eq(demand_of(&s, "b")->ncand, 0);
	d = demand_of(&s, "c");
	ck_assert_uint_eq(d->ncand, 1);
	ck_assert_str_eq(s.t->hosts[s.cands[d->first].source].name, "b");
	ck_assert_uint_eq(s.cands[d->first].source_len, 32 * MIB);
	sched_allocate(&s);
	ck_assert_uint_eq(s.cands[d->first].blocks, 32);
	ck_assert_uint_eq(sched_scheduled_bytes(&s), 32 * MIB);
	sched_free(&s);
	master_free(m);
}
END_TEST

/* A timed op from src to dst of file 0, its range [0, len). */
static struct timed_op
timed(size_t src, size_t dst, uint64_t len, double rate,
    uint64_t source_have)
{
	struct op o;

	memset(&o, 0, sizeof(o));
	o.length = len;
	o.block_size = MIB;
	o.rate = rate;
	return timed_op_from(&o, dst, src, 0, source_have, 0);
}

/*
 * A relay fed late: b gets 4 blocks from a at 1 MiB/s and relays them to
 * c at 4 MiB/s.  c's every block is done no sooner than b's, so c ends
 * after b, but it pipelines: a block after b, not the whole op after.
 */
START_TEST(relay_fed_late)
{
	struct timing tm;
	struct timed_op x;
	const struct timed_op *ab, *bc;
	size_t k;

	timing_init(&tm, 1);
	x = timed(0, 1, 4 * MIB, MIB, 4 * MIB);
	timing_add(&tm, &x);
	x = timed(1, 2, 4 * MIB, 4.0 * MIB,
	    0);
	timing_add(&tm, &x);
	timing_run(&tm);
	ab = &tm.ops[0];
	bc = &tm.ops[1];
	ck_assert_uint_eq(ab->nblocks, 4);
	ck_assert_uint_eq(bc->nblocks, 4);
	ck_assert_double_eq_tol(ab->finish, 4.0, 1e-9);
	for (k = 0; k < 4; k++)
		ck_assert_double_ge(bc->done[k], ab->done[k]);
	ck_assert_double_gt(bc->finish, ab->finish);
	ck_assert_double_le(bc->finish, ab->finish + 1.0);
	ck_assert(!bc->cycle);
	timing_free(&tm);
}
END_TEST

/*
 * Levels wide enough to be timed on every processor: host 0 sends 3
 * blocks to each of hosts 1..N at 1 MiB/s, each of which relays them on
 * to a host of its own, with a hop of half a second; one more host is
 * fed by the last relay of the second level.  Every op's blocks are done
 * as one group after another would do them: the first level's block k
 * at k + 1 s, the second's at k + 2.5 s, the third's at k + 4 s.
 */
START_TEST(timing_wide_levels)
{
	enum { N = 5000 };
	struct timing tm;
	struct timed_op x;
	size_t i, k;

	timing_init(&tm, 1);
	for (i = 1; i <= N; i++) {
		x = timed(0, i, 3 * MIB, MIB, 3 * MIB);
		x.hop = 0.5;
		timing_add(&tm, &x);
		x = timed(i, N + i, 3 * MIB, MIB, 0);
		x.hop = 0.5;
		timing_add(&tm, &x);
	}
	x = timed(2 * N, 2 * N + 1, 3 * MIB, MIB, 0);
	x.hop = 0.5;
	timing_add(&tm, &x);
	timing_run(&tm);
	for (i = 0; i < 2 * N; i++)
		for (k = 0; k < 3; k++)
			ck_assert_double_eq_tol(tm.ops[i].done[k], (double)k +
			    (i % 2 == 0 ? 1.0 : 2.5), 1e-9);
	for (k = 0; k < 3; k++)
		ck_assert_double_eq_tol(tm.ops[2 * N].done[k], (double)k + 4.0,
		    1e-9);
	for (i = 0; i <= 2 * N; i++)
		ck_assert(!tm.ops[i].cycle);
	timing_free(&tm);
}
END_TEST

/*
 * What a relay hop costs beyond its block: SCHED_HOP_DELAY within a site,
 * and between sites SCHED_HOP_TRIPS of the round trip (twice the route's
 * one-way latency, over each link on the way), where that is more.
 */
START_TEST(hop_by_route)
{
	static const char yaml[] =
	    "sites:\n"
	    "  - {name: A, hosts: [{name: a1, address: 192.0.2.1, root: /s}]}\n"
	    "  - {name: B, hosts: [{name: b1, address: 192.0.2.2, root: /s}]}\n"
	    "  - {name: C, hosts: [{name: c1, address: 192.0.2.3, root: /s}]}\n"
	    "links:\n"
	    "  - {between: [A, B], latency: 40ms}\n"
	    "  - {between: [B, C], latency: 10ms}\n";
	struct topology *t;
	struct diag d = { "" };

	ck_assert_int_eq(topology_from_string(yaml, &t, &d), 0);
	ck_assert_double_eq_tol(hop_delay(t, 0, 0), SCHED_HOP_DELAY, 1e-12);
	ck_assert_double_eq_tol(hop_delay(t, 1, 2), SCHED_HOP_DELAY, 1e-12);
	ck_assert_double_eq_tol(hop_delay(t, 0, 1), SCHED_HOP_TRIPS * 0.08,
	    1e-12);
	ck_assert_double_eq_tol(hop_delay(t, 2, 0), SCHED_HOP_TRIPS * 0.1,
	    1e-12);
	/* At a round trip of 80 ms, what bench/relay-hops.sh measured
	 * (0.22-0.28 s, a relay's readers reading its length's hint), and
	 * no less. */
	ck_assert(hop_delay(t, 0, 1) >= 0.28 && hop_delay(t, 0, 1) < 0.4);
	topology_free(t);
}
END_TEST

/*
 * A relay that nothing feeds never finishes; two hosts relaying to each
 * other what neither holds are a cycle.
 */
START_TEST(relay_never_fed)
{
	struct timing tm;
	struct timed_op x;

	timing_init(&tm, 1);
	x = timed(1, 2, 2 * MIB, MIB, 0);
	timing_add(&tm, &x);
	timing_run(&tm);
	ck_assert(isinf(tm.ops[0].finish));
	timing_free(&tm);

	timing_init(&tm, 1);
	x = timed(1, 2, 2 * MIB, MIB, 0);
	timing_add(&tm, &x);
	x = timed(2, 1, 2 * MIB, MIB, 0);
	timing_add(&tm, &x);
	timing_run(&tm);
	ck_assert(isinf(tm.ops[0].finish));
	ck_assert(isinf(tm.ops[1].finish));
	ck_assert(tm.ops[0].cycle && tm.ops[1].cycle);
	timing_free(&tm);
}
END_TEST

/*
 * The forest evens its hosts' egress.  One site of the generator and
 * EVEN_HOSTS - 1 hosts of equal NICs, EVEN_FILES files of 1 GiB; after
 * rounds the hosts missed in turn, h1 holds the most of every file, then
 * h2, and so on.  Ordered by what they hold, every file's tree (two wide)
 * made h1 to h7 interior, each feeding two streams of every file, and
 * h16 to h23 leaves of every tree.  Evened, at most three hosts feed
 * two streams of every file and at most one host feeds none (the top of
 * the trees stays: only hosts holding as much may feed a host, and
 * those are the busiest); every parent holds at least as much of the
 * file as its child and comes before it in the file's order; and the
 * generator still feeds one host of each file.
 */
#define EVEN_HOSTS 24
#define EVEN_FILES 4

START_TEST(forest_evens_egress)
{
	char *topo = xstrdup("round: 10s\nblock_size: 1MiB\nsites:\n"
	    "  - {name: A, hosts: ["), *files = xstrdup("files: ["), *x;
	struct master *m;
	struct sched s;
	size_t nf, i, f, kids[EVEN_HOSTS] = { 0 }, full = 0, idle = 0;
	long a;

	for (i = 0; i < EVEN_HOSTS; i++) {
		x = xasprintf("%s%s{name: h%zu, address: 192.0.2.%zu, "
		    "root: /s, nic: 100MB/s}", topo, i ? ", " : "", i, i + 1);
		free(topo);
		topo = x;
	}
	x = xasprintf("%s]}\nlinks: []\n", topo);
	free(topo);
	topo = x;
	for (f = 0; f < EVEN_FILES; f++) {
		x = xasprintf("%s%s{name: f%zu, version: 1, generator: h0, "
		    "size: 1GiB}", files, f ? ", " : "", f);
		free(files);
		files = x;
	}
	x = xasprintf("%s]\n", files);
	free(files);
	files = x;
	m = hand_master(topo, files);
	free(topo);
	free(files);
	for (i = 1; i < EVEN_HOSTS; i++) {
		struct state *st = xcalloc(1, sizeof(*st));

		st->host = xasprintf("h%zu", i);
		st->files = xcalloc(EVEN_FILES, sizeof(*st->files));
		for (f = 0; f < EVEN_FILES; f++) {
			st->files[f].name = xstrdup(m->fileset->files[f].name);
			st->files[f].version = 1;
			st->files[f].length = (EVEN_HOSTS - i) * 16 * MIB;
		}
		st->nfiles = EVEN_FILES;
		state_free(m->states[i]);
		m->states[i] = st;
	}
	sched_init(&s, m, METHOD_LP);
	sched_demands(&s);
	sched_forest(&s);
	nf = m->fileset->nfiles;
	a = topology_host(m->topology, "h0");
	ck_assert_int_eq(a, 0);
	for (i = 1; i < EVEN_HOSTS; i++)
		for (f = 0; f < nf; f++) {
			long p = s.forest_parent[i * nf + f];

			ck_assert_int_ge(p, 0);
			kids[p]++;
			ck_assert_uint_ge(sched_held(&s, (size_t)p, f),
			    sched_held(&s, i, f));
			ck_assert_uint_lt(s.forest_rank[(size_t)p * nf + f],
			    s.forest_rank[i * nf + f]);
		}
	ck_assert_uint_eq(kids[0], EVEN_FILES);
	for (i = 1; i < EVEN_HOSTS; i++) {
		full += kids[i] >= 2 * EVEN_FILES;
		idle += kids[i] == 0;
	}
	ck_assert_uint_le(full, 3);
	ck_assert_uint_le(idle, 1);
	sched_free(&s);
	master_free(m);
}
END_TEST

/*
 * Three sites of two hosts, the generator's site A chained to B and B to
 * C.  Planned in the intake shape, A has room to send one stream out: its
 * hosts' egress less what a1 needs, no more.  C's first host c0 is 4 MiB
 * (four blocks) ahead of B's exporters, which relay the file.  Fed from
 * the generator, c0 would take a second stream out of A, from the egress
 * that feeds B and a1; B's exporter, which passes c0 within a tenth of the
 * round, feeds it instead.  Where A has room for it (a host that needs
 * nothing), the nearest holder still feeds it.
 */
static char
head_of_c(int roomy)
{
	char *topo = xasprintf("round: 10s\nblock_size: 1MiB\nsites:\n"
	    "  - {name: A, hosts: [{name: a0, address: 192.0.2.1, root: /s, "
	    "nic: 100MB/s}, {name: a1, address: 192.0.2.2, root: /s, "
	    "nic: 100MB/s}%s]}\n"
	    "  - {name: B, hosts: [{name: b0, address: 192.0.2.3, root: /s, "
	    "nic: 100MB/s}, {name: b1, address: 192.0.2.4, root: /s, "
	    "nic: 100MB/s}]}\n"
	    "  - {name: C, hosts: [{name: c0, address: 192.0.2.5, root: /s, "
	    "nic: 100MB/s}, {name: c1, address: 192.0.2.6, root: /s, "
	    "nic: 100MB/s}]}\n"
	    "links: [{between: [A, B], capacity: 1000MB/s}, "
	    "{between: [A, C], capacity: 1000MB/s}, "
	    "{between: [B, C], capacity: 1000MB/s}]\n", roomy ?
	    ", {name: a2, address: 192.0.2.7, root: /s, nic: 100MB/s}" : "");
	struct master *m = hand_master(topo, "files: [{name: f, version: 1, "
	    "generator: a0, size: 4GiB}]\n");
	struct sched s;
	long c0, parent;
	char site;

	free(topo);
	hold(m, "a1", 0, 200 * MIB);
	if (roomy)
		hold(m, "a2", 0, 4096 * MIB);
	hold(m, "b0", 0, 96 * MIB);
	hold(m, "b1", 0, 96 * MIB);
	hold(m, "c0", 0, 100 * MIB);
	hold(m, "c1", 0, 96 * MIB);
	sched_init(&s, m, METHOD_LP);
	s.shape = SHAPE_INTAKE;
	sched_demands(&s);
	sched_forest(&s);
	ck_assert(!s.may_end);
	c0 = topology_host(m->topology, "c0");
	ck_assert_int_ge(c0, 0);
	parent = s.forest_parent[c0];
	ck_assert_int_ge(parent, 0);
	site = m->topology->sites[m->topology->hosts[parent].site].name[0];
	sched_free(&s);
	master_free(m);
	return site;
}

START_TEST(head_fed_within_room)
{
	ck_assert_int_eq(head_of_c(0), 'B');
	ck_assert_int_eq(head_of_c(1), 'A');
}
END_TEST

/* topo (freed) with a site more: letter 'A' + site, n hosts of 100 MB/s
 * named by its lower case and their number, at 192.0.2.addr on. */
static char *
add_site(char *topo, size_t site, size_t n, size_t addr)
{
	char *x = xasprintf("%s  - {name: %c, hosts: [", topo,
	    'A' + (int)site);
	size_t i;

	free(topo);
	for (i = 0; i < n; i++) {
		topo = x;
		x = xasprintf("%s%s{name: %c%zu, address: 192.0.2.%zu, "
		    "root: /s, nic: 100MB/s}", topo, i ? ", " : "",
		    'a' + (int)site, i, addr + i);
		free(topo);
	}
	topo = x;
	x = xasprintf("%s]}\n", topo);
	free(topo);
	return x;
}

/* The master of topo (freed) with links, and three files of 1 GiB from
 * host a0. */
static struct master *
three_files(char *topo, const char *links)
{
	char *x = xasprintf("%slinks: [%s]\n", topo, links);
	struct master *m;

	free(topo);
	m = hand_master(x, "files: [{name: f0, version: 1, generator: a0, "
	    "size: 1GiB}, {name: f1, version: 1, generator: a0, size: 1GiB}, "
	    "{name: f2, version: 1, generator: a0, size: 1GiB}]\n");
	free(x);
	return m;
}

/*
 * A chain of three sites, A (the generator alone), B and C of five hosts
 * each, three files of 1 GiB in one round that may be the last.  In the
 * shape SHAPE_SHALLOW each file leaves B from its first host there, which
 * then feeds a stream fewer of it within B, so that with the export it
 * feeds no more than the widest tree (FOREST_FANOUT_MAX, three) lets a
 * host: the export is not one stream more on an egress the tree fills.
 * No host of B feeds more than three streams of every file.
 */
START_TEST(shallow_export_reserved)
{
	char *topo = xstrdup("round: 60s\nblock_size: 4MiB\nsites:\n"
	    "  - {name: A, hosts: [{name: a0, address: 192.0.2.1, root: /s, "
	    "nic: 100MB/s}]}\n");
	struct master *m;
	struct sched s;
	size_t nf, f, i, k, site;
	unsigned total[16] = { 0 };

	for (site = 1; site < 3; site++)
		topo = add_site(topo, site, 5, 10 * site);
	m = three_files(topo, "{between: [A, B], capacity: 1000MB/s}, "
	    "{between: [B, C], capacity: 1000MB/s}");
	sched_init(&s, m, METHOD_LP);
	s.shape = SHAPE_SHALLOW;
	sched_demands(&s);
	sched_forest(&s);
	ck_assert(s.may_end);
	nf = m->fileset->nfiles;
	for (f = 0; f < nf; f++) {
		unsigned in_b[16] = { 0 };
		long exporter = -1;

		for (i = 0; i < m->topology->nhosts; i++) {
			long p = s.forest_parent[i * nf + f];

			if (p < 0)
				continue;
			if (m->topology->hosts[p].site == 1 &&
			    m->topology->hosts[i].site == 1)
				in_b[p]++;
			if (m->topology->hosts[p].site == 1 &&
			    m->topology->hosts[i].site == 2)
				exporter = p;
			if (m->topology->hosts[p].site == 1)
				total[p]++;
		}
		ck_assert_int_ge(exporter, 0);
		ck_assert_uint_le(in_b[exporter] + 1, 3);
	}
	for (k = 0; k < m->topology->nhosts; k++)
		ck_assert_uint_le(total[k], 3);
	sched_free(&s);
	master_free(m);
}
END_TEST

/*
 * Four regions of three sites of six hosts of 1 Gbit, each region's first
 * site linked to its others and to the next region's (a ring), and two
 * files from one generator: each host's egress carries two streams at
 * the pace its ingress takes each file in.  A site's first host of a file
 * sends it to the sites below; in the shape SHAPE_COUNTED those streams
 * are counted as the site's trees of the other file are built, and no
 * host of the forest feeds more than two streams (without, ten fed three
 * and twelve fed one: intake+shallow, the kept shape of a push there).
 */
START_TEST(counted_exports_first)
{
	char *topo = xstrdup("round: 30s\nblock_size: 4MiB\nsites:\n"), *x;
	struct master *m;
	struct sched s;
	size_t nf, f, i, r, k, h, pass, most[2];

	for (r = 0; r < 4; r++)
		for (k = 0; k < 3; k++) {
			x = xasprintf("%s  - {name: r%zus%zu, hosts: [", topo,
			    r, k);
			free(topo);
			topo = x;
			for (h = 0; h < 6; h++) {
				x = xasprintf("%s%s{name: r%zus%zuh%zu, "
				    "address: 192.0.2.%zu, root: /s, "
				    "nic: 1000Mbit}", topo, h ? ", " : "", r, k,
				    h, 18 * r + 6 * k + h + 1);
				free(topo);
				topo = x;
			}
			x = xasprintf("%s]}\n", topo);
			free(topo);
			topo = x;
		}
	x = xasprintf("%slinks:\n", topo);
	free(topo);
	topo = x;
	for (r = 0; r < 4; r++) {
		x = xasprintf("%s  - {between: [r%zus0, r%zus1], capacity: "
		    "10000Mbit}\n  - {between: [r%zus0, r%zus2], capacity: "
		    "10000Mbit}\n  - {between: [r%zus0, r%zus0], capacity: "
		    "1000Mbit}\n", topo, r, r, r, r, r, (r + 1) % 4);
		free(topo);
		topo = x;
	}
	m = hand_master(topo, "files: [{name: f0, version: 1, generator: "
	    "r0s0h0, size: 512MiB}, {name: f1, version: 1, generator: "
	    "r0s0h0, size: 512MiB}]\n");
	free(topo);
	nf = m->fileset->nfiles;
	ck_assert_uint_eq(m->topology->nhosts, 72);
	for (pass = 0; pass < 2; pass++) {
		unsigned streams[72] = { 0 };

		sched_init(&s, m, METHOD_LP);
		s.shape = SHAPE_INTAKE | SHAPE_SHALLOW |
		    (pass ? SHAPE_COUNTED : 0);
		sched_demands(&s);
		sched_forest(&s);
		for (f = 0; f < nf; f++)
			for (i = 0; i < m->topology->nhosts; i++)
				if (s.forest_parent[i * nf + f] >= 0)
					streams[s.forest_parent[i * nf + f]]++;
		most[pass] = 0;
		for (i = 0; i < m->topology->nhosts; i++)
			if (streams[i] > most[pass])
				most[pass] = streams[i];
		sched_free(&s);
	}
	ck_assert_uint_eq(most[1], 2);
	ck_assert_uint_gt(most[0], 2);
	master_free(m);
}
END_TEST

/*
 * A hub A (the generator a0 and seven hosts of 100 MB/s) linked to B and
 * to C (three hosts each), three files: the sites' trees hang B and C on
 * A, and A's first host of each file sends it to both.  In the shallow
 * shape that host feeds a stream fewer of f0 within A for one of them
 * (two within A, four in all, where the others feed three); with the
 * exports counted (SHAPE_COUNTED), one fewer for each (one, three).
 */
START_TEST(counted_reserve_per_export)
{
	char *topo = xstrdup("round: 60s\nblock_size: 4MiB\nsites:\n");
	struct master *m;
	struct sched s;
	size_t nf, i, site, pass, inside[2], total[2];
	static const size_t nhosts[] = { 8, 3, 3 };

	for (site = 0; site < 3; site++)
		topo = add_site(topo, site, nhosts[site], 10 * site + 1);
	m = three_files(topo, "{between: [A, B], capacity: 1000MB/s}, "
	    "{between: [A, C], capacity: 1000MB/s}");
	nf = m->fileset->nfiles;
	for (pass = 0; pass < 2; pass++) {
		long ex = -1, eb = -1;

		sched_init(&s, m, METHOD_LP);
		s.shape = SHAPE_SHALLOW | (pass ? SHAPE_COUNTED : 0);
		sched_demands(&s);
		sched_forest(&s);
		/* The host of A that sends f0 to B and to C. */
		for (i = 8; i < m->topology->nhosts; i++) {
			long p = s.forest_parent[i * nf];

			if (p >= 0 && m->topology->hosts[p].site == 0)
				*(m->topology->hosts[i].site == 1 ? &eb :
				    &ex) = p;
		}
		ck_assert_int_ge(ex, 0);
		ck_assert_int_eq(ex, eb);
		inside[pass] = total[pass] = 0;
		for (i = 0; i < m->topology->nhosts * nf; i++)
			if (s.forest_parent[i] == ex) {
				total[pass]++;
				inside[pass] += i % nf == 0 && i / nf < 8;
			}
		sched_free(&s);
	}
	ck_assert_uint_eq(inside[0], 2);
	ck_assert_uint_eq(total[0], 4);
	ck_assert_uint_eq(inside[1], 1);
	ck_assert_uint_eq(total[1], 3);
	master_free(m);
}
END_TEST

/*
 * GLPK ends the process on a problem it cannot load; lp_solve() never
 * lets it: entries of one (row, column) are summed into one, and a
 * problem out of range is a failed solve.
 */
START_TEST(lp_never_aborts)
{
	struct lp *b;
	double x[2], secs;
	int c1, c2, r;

	/* max 3 x1 + x2, 2 x1 + x2 <= 4 given in three entries, x1 <= 1. */
	b = lp_new(10000);
	c1 = lp_add_col(b, 3, 0);
	c2 = lp_add_col(b, 1, 0);
	r = lp_add_row(b, 4, 0);
	lp_entry(b, r, c1, 1);
	lp_entry(b, r, c2, 1);
	lp_entry(b, r, c1, 1);
	r = lp_add_row(b, 1, 0);
	lp_entry(b, r, c1, 1);
	ck_assert_int_eq(lp_solve(b, x, &secs), 0);
	ck_assert_double_eq_tol(x[0], 1, 1e-9);
	ck_assert_double_eq_tol(x[1], 2, 1e-9);
	/* An entry outside the problem: refused, not loaded. */
	lp_entry(b, 7, c1, 1);
	ck_assert_int_eq(lp_solve(b, x, &secs), -1);
	lp_free(b);
	/* Entries that cancel are dropped. */
	b = lp_new(10000);
	c1 = lp_add_col(b, 1, 0);
	r = lp_add_row(b, 3, 0);
	lp_entry(b, r, c1, 1);
	lp_entry(b, r, c1, 1);
	lp_entry(b, r, c1, -1);
	ck_assert_int_eq(lp_solve(b, x, &secs), 0);
	ck_assert_double_eq_tol(x[0], 3, 1e-9);
	lp_free(b);
	lp_thread_done();
}
END_TEST

Suite *
suite_sched(void)
{
	Suite *s = suite_create("sched");
	TCase *tc = tcase_create("sched");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, budget_refused);
	tcase_add_test(tc, demand_without_candidate);
	tcase_add_test(tc, relay_fed_late);
	tcase_add_test(tc, relay_never_fed);
	tcase_add_test(tc, timing_wide_levels);
	tcase_add_test(tc, hop_by_route);
	tcase_add_test(tc, lp_never_aborts);
	tcase_add_test(tc, forest_evens_egress);
	tcase_add_test(tc, head_fed_within_room);
	tcase_add_test(tc, shallow_export_reserved);
	tcase_add_test(tc, counted_exports_first);
	tcase_add_test(tc, counted_reserve_per_export);
	suite_add_tcase(s, tc);
	return s;
}
