/*
 * test_planner.c: planning rounds on small master directories whose best
 * answers are worked out by hand, the ledger's failure counting, in-flight
 * bandwidth, and the lower bound.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "unit.h"
#include "../../planner/planner.h"

#define MIB 1048576ULL

static char tmpl[] = "/tmp/sluice-planner-XXXXXX";

static char *
master_dir(void)
{
	char *dir = xstrdup(tmpl);
	char *sub;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	sub = xasprintf("%s/states", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	free(sub);
	sub = xasprintf("%s/manifests", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	free(sub);
	return dir;
}

static void
put(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);

	ck_assert_int_eq(atomic_write(path, text, strlen(text)), 0);
	free(path);
}

/* A manifest of nblocks blocks of 1 MiB, block i's digest all i. */
static void
put_manifest(const char *dir, const char *file, uint64_t nblocks,
    uint64_t published, int final)
{
	struct manifest m = { 0 };
	char *esc = name_escape_file(file, 1);
	char *path = xasprintf("%s/manifests/%s.yaml", dir, esc);
	uint64_t i;

	(void)nblocks;
	m.file = (char *)file;
	m.version = 1;
	m.block_size = MIB;
	m.length = published * MIB;
	m.final = final;
	m.nblocks = published;
	m.blocks = xcalloc(published ? published : 1, 32);
	for (i = 0; i < published; i++)
		memset(m.blocks[i], (int)(i & 0xff), 32);
	ck_assert_int_eq(manifest_write(path, &m), 0);
	free(m.blocks);
	free(path);
	free(esc);
}

static void
put_state(const char *dir, const char *host, const char *file,
    uint64_t blocks, uint64_t epoch, const char *time_text,
    const char *failures)
{
	char *name = xasprintf("states/%s.yaml", host);
	char *text = xasprintf("host: %s\nepoch: %llu\ntime: %s\nfiles:\n"
	    "  - {name: %s, version: 1, length: %llu}\nfailures:%s\n", host,
	    (unsigned long long)epoch, time_text, file,
	    (unsigned long long)(blocks * MIB), failures ? failures : " []");

	put(dir, name, text);
	free(name);
	free(text);
}

struct round {
	struct master	 *m;
	struct ledger	 *l;
	struct plan	**old;
	struct plan	**plans;
	uint64_t	  was;
	time_t		  now;		/* the issue */
	struct round_stats st;
};

static void
plan_once_with(const char *dir, const struct plan_options *opt,
    const char *now_text, struct round *r)
{
	struct diag d = { "" };
	char *lpath = xasprintf("%s/ledger.yaml", dir);
	time_t now;

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(time_parse(now_text, &now), 0);
	r->now = now;
	ck_assert_msg(master_load(dir, &r->m, 0) == 0, "master");
	ck_assert_msg(ledger_load(lpath, &r->l, &d) == 0, "%s", d.msg);
	r->was = r->l->epoch;
	r->old = epoch_plans(r->m, r->was);
	epoch_plans_running(r->m, r->was, r->old, now);
	ck_assert_int_eq(plan_round_with(r->m, r->l, r->old, opt, now,
	    now + (time_t)r->m->topology->round, &r->plans, &r->st), 0);
	free(lpath);
}

static void
plan_once(const char *dir, enum method method, const char *now_text,
    struct round *r)
{
	struct plan_options opt = { method, 0, 0, 0, -1 };

	plan_once_with(dir, &opt, now_text, r);
}

static void
round_free(struct round *r)
{
	size_t h;

	for (h = 0; h < r->m->topology->nhosts; h++) {
		plan_free(r->old[h]);
		plan_free(r->plans[h]);
	}
	free(r->old);
	free(r->plans);
	ledger_free(r->l);
	master_free(r->m);
}

static const struct plan *
plan_of(const struct round *r, const char *host)
{
	long h = topology_host(r->m->topology, host);

	ck_assert_int_ge(h, 0);
	return r->plans[h];
}

static uint64_t
bytes_to(const struct round *r, const char *host)
{
	const struct plan *p = plan_of(r, host);
	uint64_t total = 0;
	size_t i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < p->nops; i++)
		total += p->ops[i].length;
	return total;
}

/* Bytes host takes from source this round. */
static uint64_t
bytes_from(const struct round *r, const char *host, const char *source)
{
	const struct plan *p = plan_of(r, host);
	uint64_t total = 0;
	size_t i;

	ck_assert_ptr_nonnull(p);
	for (i = 0; i < p->nops; i++)
		if (strcmp(p->ops[i].source.host, source) == 0)
			total += p->ops[i].length;
	return total;
}

static void
remove_tree(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/*
 * Two hosts and a 40 MB/s link, 10 s rounds of which ops are sized to 9 s,
 * 1 MiB blocks, 94% of a capacity for data (the rest is headers): the link
 * carries (37.6e6 - 1) B/s * 9 s (one byte per second is kept aside for the
 * op's rounded rate) = 322.7 MiB, so 322 whole blocks in one op, at first
 * ceil(322 MiB / 9 s) = 37515720 B/s; the 84280 B/s of the link's data
 * share left then go to the op: 37600000 B/s.
 */
START_TEST(two_hosts_and_a_link)
{
	char *dir = master_dir();
	struct round r;
	const struct plan *p;
	int method;

	put(dir, "topology.yaml", "round: 10s\nblock_size: 1MiB\nsites:\n"
	    "  - {name: A, hosts: [{name: a, address: 192.0.2.1, root: /s, "
	    "nic: 100MB/s}]}\n"
	    "  - {name: B, hosts: [{name: b, address: 192.0.2.2, root: /s, "
	    "nic: 100MB/s}]}\n"
	    "links: [{between: [A, B], capacity: 40MB/s}]\n");
	put(dir, "fileset.yaml", "files: [{name: f, version: 1, generator: a}]\n");
	put_manifest(dir, "f", 1000, 1000, 1);
	for (method = METHOD_LP; method <= METHOD_GREEDY; method++) {
		plan_once(dir, (enum method)method, "2026-11-25T08:00:00Z", &r);
		p = plan_of(&r, "b");
		ck_assert_uint_eq(p->nops, 1);
		ck_assert_uint_eq(p->ops[0].offset, 0);
		ck_assert_uint_eq(p->ops[0].length, 322 * MIB);
		ck_assert_double_eq(p->ops[0].rate, 37600000);
		ck_assert_str_eq(p->ops[0].source.host, "a");
		ck_assert_uint_eq(p->ops[0].nresources, 5);
		ck_assert_uint_eq(plan_of(&r, "a")->nops, 0);
		ck_assert_uint_eq(r.st.bytes, 322 * MIB);
		round_free(&r);
	}
	remove_tree(dir);
	free(dir);
}
END_TEST

/*
 * The same two hosts, b reporting 51 MiB free (50 MiB once the store's
 * 1 MiB reserve is kept) for two files of 1000 blocks each, g of the
 * higher priority: b is sent g's first 50 blocks and nothing of f, where
 * the link alone would carry 322.  With 10 MiB more free than f and g
 * need, nothing is held back.
 */
START_TEST(room_bounds_a_host)
{
	char *dir = master_dir();
	struct round r;
	const struct plan *p;
	int method;

	put(dir, "topology.yaml", "round: 10s\nblock_size: 1MiB\nsites:\n"
	    "  - {name: A, hosts: [{name: a, address: 192.0.2.1, root: /s, "
	    "nic: 100MB/s}]}\n"
	    "  - {name: B, hosts: [{name: b, address: 192.0.2.2, root: /s, "
	    "nic: 100MB/s}]}\n"
	    "links: [{between: [A, B], capacity: 40MB/s}]\n");
	put(dir, "fileset.yaml", "files:\n"
	    "  - {name: f, version: 1, generator: a, priority: 1}\n"
	    "  - {name: g, version: 1, generator: a, priority: 2}\n");
	put_manifest(dir, "f", 1000, 1000, 1);
	put_manifest(dir, "g", 1000, 1000, 1);
	put(dir, "states/b.yaml", "host: b\nepoch: 0\ntime: "
	    "2026-11-25T07:59:00Z\nfree: 53477376\nfiles: []\n");
	for (method = METHOD_LP; method <= METHOD_GREEDY; method++) {
		plan_once(dir, (enum method)method, "2026-11-25T08:00:00Z", &r);
		p = plan_of(&r, "b");
		ck_assert_uint_eq(bytes_to(&r, "b"), 50 * MIB);
		ck_assert_uint_ge(p->nops, 1);
		ck_assert_str_eq(p->ops[0].file, "g");
		ck_assert_uint_eq(p->ops[0].offset, 0);
		ck_assert_uint_eq(space_need(r.m, 1), 2000 * MIB);
		ck_assert_uint_eq(space_room(r.m, 1), 50 * MIB);
		ck_assert_uint_eq(space_room(r.m, 0), UINT64_MAX);
		round_free(&r);
	}
	put(dir, "states/b.yaml", "host: b\nepoch: 0\ntime: "
	    "2026-11-25T07:59:00Z\nfree: 2107637760\nfiles: []\n");
	plan_once(dir, METHOD_LP, "2026-11-25T08:00:00Z", &r);
	ck_assert_uint_eq(bytes_to(&r, "b"), 322 * MIB);
	round_free(&r);
	remove_tree(dir);
	free(dir);
}
END_TEST

/*
 * A thin 30 MB/s link from the generator's site G to a hub H, sites X and
 * Y behind it: the file crosses the thin link once, to one of them, at
 * (0.94 * 30e6 - 2) * 9 / 2^20 = 242.04, so 242 blocks, and the other
 * relays it from there in the same round, where before relays the two
 * shared the link and got 242 blocks between them.
 */
START_TEST(thin_link_crossed_once)
{
	char *dir = master_dir();
	struct round r;

	put(dir, "topology.yaml", "round: 10s\nblock_size: 1MiB\nsites:\n"
	    "  - {name: G, hosts: [{name: g, address: 192.0.2.1, root: /s}]}\n"
	    "  - {name: H}\n"
	    "  - {name: X, hosts: [{name: x, address: 192.0.2.2, root: /s}]}\n"
	    "  - {name: Y, hosts: [{name: y, address: 192.0.2.3, root: /s}]}\n"
	    "links:\n  - {between: [G, H], capacity: 30MB/s}\n"
	    "  - {between: [H, X]}\n  - {between: [H, Y]}\n");
	put(dir, "fileset.yaml", "files: [{name: f, version: 1, generator: g}]\n");
	put_manifest(dir, "f", 1000, 1000, 1);
	plan_once(dir, METHOD_LP, "2026-11-25T08:00:00Z", &r);
	ck_assert_uint_eq(bytes_from(&r, "x", "g") + bytes_from(&r, "y", "g"),
	    242 * MIB);
	ck_assert_uint_eq(bytes_to(&r, "x"), 242 * MIB);
	ck_assert_uint_eq(bytes_to(&r, "y"), 242 * MIB);
	round_free(&r);
	remove_tree(dir);
	free(dir);
}
END_TEST

/*
 * Two files enter a site through different hosts: G's generator (no NIC
 * limit) and site B's four hosts of 10 MB/s each.  No host of B takes
 * both files from outside, and in the first round every host of B takes
 * data at its full NIC, where the same hosts for both files would leave
 * the others idle.
 */
START_TEST(files_enter_through_different_hosts)
{
	char *dir = master_dir();
	struct round r;
	int method;
	size_t i;

	put(dir, "topology.yaml", "round: 10s\nblock_size: 1MiB\nsites:\n"
	    "  - {name: G, hosts: [{name: g, address: 192.0.2.1, root: /s}]}\n"
	    "  - name: B\n    hosts:\n"
	    "      - {name: b0, address: 192.0.2.2, root: /s, nic: 10MB/s}\n"
	    "      - {name: b1, address: 192.0.2.3, root: /s, nic: 10MB/s}\n"
	    "      - {name: b2, address: 192.0.2.4, root: /s, nic: 10MB/s}\n"
	    "      - {name: b3, address: 192.0.2.5, root: /s, nic: 10MB/s}\n"
	    "links: [{between: [G, B]}]\n");
	put(dir, "fileset.yaml", "files:\n"
	    "  - {name: f0, version: 1, generator: g}\n"
	    "  - {name: f1, version: 1, generator: g}\n");
	put_manifest(dir, "f0", 1000, 1000, 1);
	put_manifest(dir, "f1", 1000, 1000, 1);
	for (method = METHOD_LP; method <= METHOD_GREEDY; method++) {
		plan_once(dir, (enum method)method, "2026-11-25T08:00:00Z", &r);
		int from_g[2] = { 0, 0 };

		for (i = 0; i < 4; i++) {
			char host[3] = { 'b', (char)('0' + i), 0 };
			const struct plan *p = plan_of(&r, host);
			int mine[2] = { 0, 0 };
			size_t k;

			/* (0.94 * 10e6 - 1) * 9 / 2^20 = 80.68 blocks */
			ck_assert_uint_eq(bytes_to(&r, host), 80 * MIB);
			for (k = 0; k < p->nops; k++)
				if (strcmp(p->ops[k].source.host, "g") == 0)
					mine[p->ops[k].file[1] - '0'] = 1;
			/* No host takes both files from outside. */
			ck_assert(!(mine[0] && mine[1]));
			from_g[0] += mine[0];
			from_g[1] += mine[1];
		}
		ck_assert_int_ge(from_g[0], 1);
		ck_assert_int_ge(from_g[1], 1);
		round_free(&r);
	}
	remove_tree(dir);
	free(dir);
}
END_TEST

/*
 * The generator sends once and the rest relays: g (100 MB/s, 94% for
 * data) cannot feed both g2 beside it and r across the WAN at their full
 * NICs, floor((94e6 - 2) * 9 / 2^20) = 806 blocks each, yet both get
 * them: the file leaves g once, to g2, its site's head, and crosses to r
 * from there as it arrives.
 */
START_TEST(generator_sends_once)
{
	char *dir = master_dir();
	struct round r;

	put(dir, "topology.yaml", "round: 10s\nblock_size: 1MiB\nsites:\n"
	    "  - name: G\n    hosts:\n"
	    "      - {name: g, address: 192.0.2.1, root: /s, nic: 100MB/s}\n"
	    "      - {name: g2, address: 192.0.2.2, root: /s, nic: 100MB/s}\n"
	    "  - {name: R, hosts: [{name: r, address: 192.0.2.3, root: /s, "
	    "nic: 100MB/s}]}\n"
	    "links: [{between: [G, R]}]\n");
	put(dir, "fileset.yaml", "files: [{name: f, version: 1, generator: g}]\n");
	put_manifest(dir, "f", 2000, 2000, 1);
	plan_once(dir, METHOD_LP, "2026-11-25T08:00:00Z", &r);
	ck_assert_uint_eq(bytes_to(&r, "g2"), 806 * MIB);
	ck_assert_uint_eq(bytes_to(&r, "r"), 806 * MIB);
	ck_assert_uint_eq(bytes_from(&r, "g2", "g") + bytes_from(&r, "r", "g"),
	    806 * MIB);
	round_free(&r);
	remove_tree(dir);
	free(dir);
}
END_TEST

/*
 * A copy tree relays within the round: one site of g and h1..h5 (10 MB/s
 * each), f1 to copy (every host holds f0 already).  g can send only one
 * round of egress, 80 blocks, and sends it once, to the tree's first
 * host; every other host gets the same 80 blocks from its parent in the
 * tree as they arrive.
 */
START_TEST(tree_relays_in_the_round)
{
	char *dir = master_dir();
	struct round r;
	uint64_t sent = 0;
	int i;
	char host[3] = "h0";

	put(dir, "topology.yaml", "round: 10s\nblock_size: 1MiB\nsites:\n"
	    "  - name: A\n    hosts:\n"
	    "      - {name: g, address: 192.0.2.1, root: /s, nic: 10MB/s}\n"
	    "      - {name: h1, address: 192.0.2.2, root: /s, nic: 10MB/s}\n"
	    "      - {name: h2, address: 192.0.2.3, root: /s, nic: 10MB/s}\n"
	    "      - {name: h3, address: 192.0.2.4, root: /s, nic: 10MB/s}\n"
	    "      - {name: h4, address: 192.0.2.5, root: /s, nic: 10MB/s}\n"
	    "      - {name: h5, address: 192.0.2.6, root: /s, nic: 10MB/s}\n");
	put(dir, "fileset.yaml", "files:\n"
	    "  - {name: f0, version: 1, generator: g}\n"
	    "  - {name: f1, version: 1, generator: g}\n");
	put_manifest(dir, "f0", 10, 10, 1);
	put_manifest(dir, "f1", 1000, 1000, 1);
	for (i = 1; i <= 5; i++) {
		host[1] = (char)('0' + i);
		put_state(dir, host, "f0", 10, 0, "2026-11-25T07:59:00Z", NULL);
	}
	plan_once(dir, METHOD_LP, "2026-11-25T08:00:00Z", &r);
	for (i = 1; i <= 5; i++) {
		host[1] = (char)('0' + i);
		ck_assert_uint_eq(bytes_to(&r, host), 80 * MIB);
		sent += bytes_from(&r, host, "g");
	}
	ck_assert_uint_eq(sent, 80 * MIB);
	round_free(&r);
	remove_tree(dir);
	free(dir);
}
END_TEST

/*
 * Sites G, X and Y in a triangle; y already holds the file.  With the
 * direct link G--X failed, x must take everything from y over Y--X.
 */
START_TEST(failed_link_routes_around)
{
	char *dir = master_dir();
	struct round r;
	const struct plan *p;
	size_t i, j;

	put(dir, "topology.yaml", "round: 10s\nblock_size: 1MiB\nsites:\n"
	    "  - {name: G, hosts: [{name: g, address: 192.0.2.1, root: /s}]}\n"
	    "  - {name: X, hosts: [{name: x, address: 192.0.2.2, root: /s, "
	    "nic: 10MB/s}]}\n"
	    "  - {name: Y, hosts: [{name: y, address: 192.0.2.3, root: /s}]}\n"
	    "links:\n  - {between: [G, X], latency: 1ms}\n"
	    "  - {between: [Y, X], latency: 50ms}\n"
	    "  - {between: [G, Y], latency: 1ms}\n");
	put(dir, "fileset.yaml", "files: [{name: f, version: 1, generator: g}]\n");
	put_manifest(dir, "f", 200, 200, 1);
	put_state(dir, "y", "f", 200, 0, "2026-11-25T08:00:00Z", NULL);
	/* Unfailed, the cheaper route from g is taken. */
	plan_once(dir, METHOD_LP, "2026-11-25T08:00:00Z", &r);
	p = plan_of(&r, "x");
	ck_assert_uint_ge(p->nops, 1);
	ck_assert_str_eq(p->ops[0].source.host, "g");
	round_free(&r);
	put(dir, "ledger.yaml", "epoch: 4\ncomponents:\n"
	    "  - {name: 'link:G--X', count: 3, failed: 4, "
	    "since: 2026-11-25T07:59:00Z, reason: timeout}\n");
	plan_once(dir, METHOD_LP, "2026-11-25T08:00:00Z", &r);
	p = plan_of(&r, "x");
	ck_assert_uint_ge(p->nops, 1);
	for (i = 0; i < p->nops; i++) {
		ck_assert_str_eq(p->ops[i].source.host, "y");
		for (j = 0; j < p->ops[i].nresources; j++)
			ck_assert_ptr_null(strstr(p->ops[i].resources[j],
			    "G--X"));
	}
	/* 94% of a 10 MB/s NIC less one byte, for 9 s: 80 blocks. */
	ck_assert_uint_eq(bytes_to(&r, "x"), 80 * MIB);
	ck_assert_uint_eq(r.l->epoch, 5);
	round_free(&r);
	remove_tree(dir);
	free(dir);
}
END_TEST

/*
 * A growing file: 8 of its blocks published, x holds 2.  x may get the 6
 * published blocks it lacks and nothing beyond, though its NIC could take
 * more.
 */
START_TEST(growing_file)
{
	char *dir = master_dir();
	struct round r;
	const struct plan *p;

	put(dir, "topology.yaml", "round: 10s\nblock_size: 1MiB\nsites:\n"
	    "  - name: A\n    hosts:\n"
	    "      - {name: g, address: 192.0.2.1, root: /s}\n"
	    "      - {name: x, address: 192.0.2.2, root: /s, nic: 1Gbit}\n");
	put(dir, "fileset.yaml", "files: [{name: f, version: 1, generator: g, "
	    "size: 16MiB}]\n");
	put_manifest(dir, "f", 16, 8, 0);
	put_state(dir, "x", "f", 2, 0, "2026-11-25T08:00:00Z", NULL);
	plan_once(dir, METHOD_LP, "2026-11-25T08:00:00Z", &r);
	p = plan_of(&r, "x");
	ck_assert_uint_eq(p->nops, 1);
	ck_assert_uint_eq(p->ops[0].offset, 2 * MIB);
	ck_assert_uint_eq(p->ops[0].length, 6 * MIB);
	ck_assert_uint_eq(p->ops[0].nblocks, 6);
	ck_assert_int_eq(p->ops[0].blocks[0][0], 2);
	round_free(&r);
	remove_tree(dir);
	free(dir);
}
END_TEST

/*
 * Failures blamed on host y: counted once per report, the component fails
 * at the topology's threshold (2 here) and y serves no more.
 */
/* The failures x reports of its plan's ops from y: checksum ones. */
static char *
checksum_failures(const struct plan *p)
{
	char *text = xstrdup(""), *more;
	size_t i;

	for (i = 0; i < p->nops; i++) {
		if (strcmp(p->ops[i].source.host, "y") != 0)
			continue;
		more = xasprintf("%s\n  - {op: %s, source: y, components: "
		    "[host:y], error: checksum, detail: block 3}", text,
		    p->ops[i].id);
		free(text);
		text = more;
	}
	ck_assert_msg(text[0] != '\0', "no op from y");
	return text;
}

/* Host x's plan in the set of epoch, whole: its epoch; every op's
 * checksums the manifest's (put_manifest()). */
static uint64_t
whole_plan_of_x(const char *dir, uint64_t epoch)
{
	char *path = xasprintf("%s/epochs/%llu/plans/x.yaml", dir,
	    (unsigned long long)epoch);
	struct diag d = { "" };
	struct plan *p;
	uint64_t e;
	size_t i, k;

	ck_assert_msg(plan_load(path, &p, &d) == 0, "%s", d.msg);
	ck_assert_uint_ge(p->nops, 1);
	for (i = 0; i < p->nops; i++) {
		const struct op *o = &p->ops[i];

		ck_assert_uint_eq(o->nblocks, o->length / MIB);
		for (k = 0; k < o->nblocks; k++)
			ck_assert_uint_eq(o->blocks[k][0],
			    (o->offset / MIB + k) & 0xff);
	}
	e = p->epoch;
	plan_free(p);
	free(path);
	return e;
}

/*
 * A run reads the last set back from its brief, the ops without their
 * checksums.  A plan still running (not expired, nothing reported on it)
 * is read whole before the round, which charges it; one carried expired
 * (its host silent too long to plan for) is read whole when the set is
 * written.  Either is written into the new set with every checksum.
 */
START_TEST(kept_plan_whole)
{
	char *dir = master_dir();
	struct round r;
	long x;

	put(dir, "topology.yaml", "round: 10s\nblock_size: 1MiB\nsites:\n"
	    "  - name: A\n    hosts:\n"
	    "      - {name: g, address: 192.0.2.1, root: /s, nic: 1MB/s}\n"
	    "      - {name: x, address: 192.0.2.3, root: /s}\n");
	put(dir, "fileset.yaml", "files: [{name: f, version: 1, generator: g, "
	    "targets: [host:x]}]\n");
	put_manifest(dir, "f", 100, 100, 1);
	put_state(dir, "x", "f", 0, 0, "2026-11-25T08:00:00Z", NULL);
	plan_once(dir, METHOD_LP, "2026-11-25T08:00:00Z", &r);
	ck_assert_uint_ge(plan_of(&r, "x")->nops, 1);
	ck_assert_int_eq(epoch_write(dir, r.m, r.plans, r.old, r.was, r.l,
	    NULL), 0);
	round_free(&r);
	/* Half a round on, x has not reported: its plan runs, whole. */
	plan_once(dir, METHOD_LP, "2026-11-25T08:00:05Z", &r);
	x = topology_host(r.m->topology, "x");
	ck_assert_ptr_null(r.plans[x]);
	ck_assert_ptr_nonnull(r.old[x]);
	ck_assert_int_eq(r.old[x]->brief, 0);
	ck_assert_uint_ge(r.old[x]->ops[0].nblocks, 1);
	ck_assert_int_eq(epoch_write(dir, r.m, r.plans, r.old, r.was, r.l,
	    NULL), 0);
	round_free(&r);
	ck_assert_uint_eq(whole_plan_of_x(dir, 2), 1);
	/* Expired and unreported: x is silent, and still planned.  (g
	 * reports: were no host heard, the silence would be the master's,
	 * and no host silent.) */
	put_state(dir, "g", "f", 100, 1, "2026-11-25T08:00:09Z", NULL);
	plan_once(dir, METHOD_LP, "2026-11-25T08:00:10Z", &r);
	x = topology_host(r.m->topology, "x");
	ck_assert_int_eq(r.old[x]->brief, 1);
	ck_assert_uint_eq(r.old[x]->ops[0].nblocks, 0);
	ck_assert_ptr_nonnull(r.plans[x]);
	ck_assert_int_eq(epoch_write(dir, r.m, r.plans, r.old, r.was, r.l,
	    NULL), 0);
	round_free(&r);
	/* Silent beyond two rounds: not planned; its last plan carried. */
	put_state(dir, "g", "f", 100, 3, "2026-11-25T08:00:39Z", NULL);
	plan_once(dir, METHOD_LP, "2026-11-25T08:00:40Z", &r);
	x = topology_host(r.m->topology, "x");
	ck_assert_ptr_null(r.plans[x]);
	ck_assert_int_eq(r.old[x]->brief, 1);
	ck_assert_int_eq(epoch_write(dir, r.m, r.plans, r.old, r.was, r.l,
	    NULL), 0);
	round_free(&r);
	ck_assert_uint_eq(whole_plan_of_x(dir, 4), 3);
	remove_tree(dir);
	free(dir);
}
END_TEST

START_TEST(failures_to_threshold)
{
	char *dir = master_dir(), *blame;
	struct round r;
	const struct plan *p;
	uint64_t epoch;
	size_t i;

	put(dir, "topology.yaml", "round: 10s\nblock_size: 1MiB\n"
	    "failure_threshold: 2\nsites:\n  - name: A\n    hosts:\n"
	    "      - {name: g, address: 192.0.2.1, root: /s, nic: 1MB/s}\n"
	    "      - {name: y, address: 192.0.2.2, root: /s}\n"
	    "      - {name: x, address: 192.0.2.3, root: /s}\n");
	put(dir, "fileset.yaml", "files: [{name: f, version: 1, generator: g, "
	    "targets: [host:x, host:y]}]\n");
	put_manifest(dir, "f", 100, 100, 1);
	put_state(dir, "y", "f", 100, 0, "2026-11-25T08:00:00Z", NULL);
	put_state(dir, "x", "f", 0, 0, "2026-11-25T08:00:00Z", NULL);
	plan_once(dir, METHOD_LP, "2026-11-25T08:00:00Z", &r);
	/* y, with all of it and no NIC limit, serves x. */
	p = plan_of(&r, "x");
	ck_assert_str_eq(p->ops[p->nops - 1].source.host, "y");
	blame = checksum_failures(p);
	ck_assert_int_eq(epoch_write(dir, r.m, r.plans, r.old, r.was, r.l, NULL), 0);
	round_free(&r);
	/* Checksum failures of ops x's plan held are hard, counted apart
	 * from transient ones, once per reporter. */
	put_state(dir, "x", "f", 0, 1, "2026-11-25T08:00:05Z", blame);
	free(blame);
	plan_once(dir, METHOD_LP, "2026-11-25T08:00:10Z", &r);
	ck_assert_uint_eq(ledger_component(r.l, "host:y", 0)->hard, 1);
	ck_assert_uint_eq(ledger_component(r.l, "host:y", 0)->count, 0);
	ck_assert_int_eq(ledger_failed(r.l, "host:y"), 0);
	ck_assert_int_eq(epoch_write(dir, r.m, r.plans, r.old, r.was, r.l, NULL), 0);
	round_free(&r);
	/* The same report, already counted by the run before, counts no
	 * more. */
	plan_once(dir, METHOD_LP, "2026-11-25T08:00:20Z", &r);
	ck_assert_uint_eq(ledger_component(r.l, "host:y", 0)->hard, 1);
	ck_assert_int_eq(epoch_write(dir, r.m, r.plans, r.old, r.was, r.l, NULL), 0);
	round_free(&r);
	/* A new report of the plan x now holds reaches the threshold. */
	plan_once(dir, METHOD_LP, "2026-11-25T08:00:30Z", &r);
	p = r.old[topology_host(r.m->topology, "x")];
	ck_assert_ptr_nonnull(p);
	epoch = p->epoch;
	blame = checksum_failures(p);
	round_free(&r);
	put_state(dir, "x", "f", 0, epoch, "2026-11-25T08:00:35Z", blame);
	free(blame);
	plan_once(dir, METHOD_LP, "2026-11-25T08:00:40Z", &r);
	ck_assert_int_eq(ledger_failed(r.l, "host:y"), 1);
	ck_assert_ptr_nonnull(strstr(ledger_component(r.l, "host:y",
	    0)->reason, "checksum: block 3"));
	p = plan_of(&r, "x");
	ck_assert_uint_ge(p->nops, 1);
	for (i = 0; i < p->nops; i++)
		ck_assert_str_eq(p->ops[i].source.host, "g");
	/* 94% of g's 1 MB/s NIC less one byte, for 9 s: 8 blocks. */
	ck_assert_uint_eq(bytes_to(&r, "x"), 8 * MIB);
	round_free(&r);
	remove_tree(dir);
	free(dir);
}
END_TEST

/*
 * The lower bound on hand-worked cases: the 40 MB/s link carries 1000 MiB
 * in 26.2144 s; 3 hosts pulling 100 MiB each through a 10 MB/s uplink of
 * the generator's site need 31.4573 s.
 */
START_TEST(bound_hand_worked)
{
	char *dir = master_dir();
	struct master *m;
	char why[256];

	put(dir, "topology.yaml", "round: 10s\nblock_size: 1MiB\nsites:\n"
	    "  - {name: A, hosts: [{name: a, address: 192.0.2.1, root: /s, "
	    "nic: 100MB/s}]}\n"
	    "  - {name: B, hosts: [{name: b, address: 192.0.2.2, root: /s, "
	    "nic: 100MB/s}]}\n"
	    "links: [{between: [A, B], capacity: 40MB/s}]\n");
	put(dir, "fileset.yaml", "files: [{name: f, version: 1, generator: a}]\n");
	put_manifest(dir, "f", 1000, 1000, 1);
	ck_assert_int_eq(master_load(dir, &m, 0), 0);
	ck_assert_double_eq_tol(bound_makespan(m, why, sizeof(why)),
	    1000.0 * MIB / 40e6, 1e-9);
	/* Out of A and into B tie; A is considered first. */
	ck_assert_ptr_nonnull(strstr(why, "links out of A"));
	master_free(m);
	put(dir, "topology.yaml", "round: 10s\nblock_size: 1MiB\nsites:\n"
	    "  - {name: A, uplink: 10MB/s, hosts: [{name: a, address: x, "
	    "root: /s}]}\n"
	    "  - name: B\n    hosts:\n"
	    "      - {name: b1, address: x, root: /s, nic: 100MB/s}\n"
	    "      - {name: b2, address: x, root: /s, nic: 100MB/s}\n"
	    "  - {name: C, hosts: [{name: c1, address: x, root: /s}]}\n"
	    "links: [{between: [A, B]}, {between: [A, C]}]\n");
	put_manifest(dir, "f", 100, 100, 1);
	/*
	 * b1 already holds half.  What must leave A is what only A holds,
	 * the 50 MiB beyond b1: 5.24288 s through A's 10 MB/s uplink.  The
	 * rest is smaller: b2's ingress, 100 MiB at 100 MB/s, is 1.048576 s;
	 * the links, c1's NIC and a's NIC are unlimited.
	 */
	put_state(dir, "b1", "f", 50, 0, "2026-11-25T08:00:00Z", NULL);
	ck_assert_int_eq(master_load(dir, &m, 0), 0);
	ck_assert_double_eq_tol(bound_makespan(m, why, sizeof(why)),
	    50.0 * MIB / 10e6, 1e-9);
	ck_assert_ptr_nonnull(strstr(why, "uplinks of A"));
	master_free(m);
	remove_tree(dir);
	free(dir);
}
END_TEST

/*
 * In flight: a's plan, unexpired and not yet reported on, holds exactly the
 * data share of g's NIC (94% of 10 MB/s).  b must get nothing through it,
 * though a resource with nothing left once looked unlimited.
 */
START_TEST(in_flight_saturated)
{
	char *dir = master_dir();
	char *plans = xasprintf("%s/epochs/1/plans", dir), *lpath, *cur;
	struct round r;
	const struct plan *p;
	size_t i;
	char *text;

	put(dir, "topology.yaml", "round: 10s\nblock_size: 1MiB\nsites:\n"
	    "  - name: A\n    hosts:\n"
	    "      - {name: g, address: 192.0.2.1, root: /s, nic: 10MB/s}\n"
	    "      - {name: a, address: 192.0.2.2, root: /s}\n"
	    "      - {name: b, address: 192.0.2.3, root: /s}\n");
	put(dir, "fileset.yaml", "files: [{name: f, version: 1, generator: g}]\n");
	put_manifest(dir, "f", 100, 100, 1);
	/* The set of epoch 1, as a run leaves it: the plan read back from
	 * there, never through the plans link. */
	ck_assert_int_eq(mkdir_p(plans, 0755), 0);
	put(dir, "epochs/1/ledger.yaml", "epoch: 1\nissued: "
	    "2026-11-25T08:00:00Z\n");
	ck_assert_int_eq(symlinkat("epochs/1/ledger.yaml", AT_FDCWD,
	    lpath = xasprintf("%s/ledger.yaml", dir)), 0);
	ck_assert_int_eq(symlinkat("epochs/1", AT_FDCWD,
	    cur = xasprintf("%s/current", dir)), 0);
	text = xasprintf("host: a\nepoch: 1\nissued: 2026-11-25T08:00:00Z\n"
	    "expires: 2026-11-25T08:00:10Z\nfileset: [{name: f, version: 1}]\n"
	    "ops:\n  - id: 1/a/1\n    file: f\n    version: 1\n    offset: 0\n"
	    "    length: %llu\n    source: {host: g, address: 192.0.2.1, "
	    "root: /s}\n    rate: 9400000\n    resources: ['host:g:out', "
	    "'host:a:in']\n    blocks: [%s]\n", MIB,
	    "0000000000000000000000000000000000000000000000000000000000000000");
	put(dir, "epochs/1/plans/a.yaml", text);
	plan_once(dir, METHOD_LP, "2026-11-25T08:00:05Z", &r);
	ck_assert_ptr_null(plan_of(&r, "a"));
	p = plan_of(&r, "b");
	for (i = 0; i < p->nops; i++)
		ck_assert_str_ne(p->ops[i].source.host, "g");
	ck_assert_uint_eq(p->nops, 0);
	round_free(&r);
	free(text);
	free(plans);
	free(lpath);
	free(cur);
	remove_tree(dir);
	free(dir);
}
END_TEST

/*
 * The ledger remembers that a set was a probe, so that the next run, in
 * another process (cron's), knows it too.  A host on time whose last
 * plan expired before its op was done runs slower than plans say, and a
 * run planning again early (--replan) then plans to the round's end;
 * unless that plan was a probe, cut to its short life whatever the
 * agent's pace.  Here 6 MiB are left at 100 MB/s: done well inside the
 * 20 s round, so the set may end early.
 */
static time_t
replan_after(const char *dir, int probe, struct round *r)
{
	struct plan_options opt = { METHOD_LP, 0, 0, 2, -1 };

	put(dir, "ledger.yaml", probe ?
	    "epoch: 1\nissued: 2026-11-25T07:59:40Z\nmethod: lp\nprobe: true\n" :
	    "epoch: 1\nissued: 2026-11-25T07:59:40Z\nmethod: lp\n");
	plan_once_with(dir, &opt, "2026-11-25T08:00:00Z", r);
	return r->st.expires - r->now;
}

/* A master directory of one site of two hosts, a and b, each of NIC
 * nic, in 20 s rounds, and one file f of nblocks MiB, a's, published
 * whole. */
static void
put_pair(const char *dir, const char *nic, uint64_t nblocks)
{
	char *topo = xasprintf("round: 20s\nblock_size: 1MiB\nsites:\n"
	    "  - {name: A, hosts: [{name: a, address: 192.0.2.1, root: /s, "
	    "nic: %s}, {name: b, address: 192.0.2.2, root: /s, nic: %s}]}\n",
	    nic, nic);

	put(dir, "topology.yaml", topo);
	free(topo);
	put(dir, "fileset.yaml", "files: [{name: f, version: 1, generator: a}]\n");
	put_manifest(dir, "f", nblocks, nblocks, 1);
}

START_TEST(probe_kept_in_the_ledger)
{
	char *dir = master_dir();
	struct diag d = { "" };
	struct round r;
	struct ledger *back;
	char *text, *path;
	size_t len, i, k;

	put_pair(dir, "100MB/s", 8);
	/* Epoch 1's plan for b: 8 MiB from a, done by 08:00:00. */
	text = xstrdup("host: b\nepoch: 1\nissued: 2026-11-25T07:59:40Z\n"
	    "expires: 2026-11-25T08:00:00Z\nfileset: [{name: f, version: 1}]\n"
	    "ops:\n  - id: 1/b/1\n    file: f\n    version: 1\n    offset: 0\n"
	    "    length: 8388608\n    source: {host: a, address: 192.0.2.1, "
	    "root: /s}\n    rate: 1000000\n    resources: ['host:a:out', "
	    "'host:b:in']\n    blocks:\n");
	for (i = 0; i < 8; i++) {
		char *more = xasprintf("%s    - ", text);

		free(text);
		for (k = 0; k < 32; k++) {
			text = xasprintf("%s%02zx", more, i);
			free(more);
			more = text;
		}
		text = xasprintf("%s\n", more);
		free(more);
	}
	path = xasprintf("%s/epochs/1/plans", dir);
	ck_assert_int_eq(mkdir_p(path, 0755), 0);
	free(path);
	put(dir, "epochs/1/plans/b.yaml", text);
	free(text);
	put_state(dir, "a", "f", 8, 1, "2026-11-25T07:59:59Z", NULL);
	put_state(dir, "b", "f", 2, 1, "2026-11-25T07:59:59Z",
	    "\n  - {op: 1/b/1, source: a, components: [], error: deadline, "
	    "detail: plan expired}");
	/* After a set that was no probe, the slow agent's set lasts the
	 * round; the ledger after it says no probe, and has no such key. */
	ck_assert_int_eq(replan_after(dir, 0, &r), 20);
	ck_assert_int_eq(r.l->probe, 0);
	ck_assert_ptr_nonnull(text = ledger_format(r.l, &len));
	ck_assert_ptr_null(strstr(text, "probe"));
	free(text);
	round_free(&r);
	/* After a probe it ends when its work is done. */
	ck_assert_int_lt(replan_after(dir, 1, &r), 20);
	/* That set is no probe (the set after one never is); a ledger
	 * that says probe is read back so. */
	ck_assert_int_eq(r.l->probe, 0);
	r.l->probe = 1;
	ck_assert_ptr_nonnull(text = ledger_format(r.l, &len));
	ck_assert_ptr_nonnull(strstr(text, "\nprobe: true\n"));
	path = xasprintf("%s/ledger.yaml", dir);
	put(dir, "ledger.yaml", text);
	ck_assert_msg(ledger_load(path, &back, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(back->probe, 1);
	ledger_free(back);
	round_free(&r);
	free(text);
	free(path);
	remove_tree(dir);
	free(dir);
}
END_TEST

/*
 * A set that is a probe says so in the ledger, and one that is not says
 * nothing.  The first set of a file version, whose work (100 MiB at 10
 * MB/s, about 10 s) ends well before its 20 s round, expires 2 s after
 * its issue under --replan (opt.early): a probe.
 */
START_TEST(probe_recorded_in_the_ledger)
{
	char *dir = master_dir();
	struct plan_options opt = { METHOD_LP, 0, 0, 2, -1 };
	struct round r;
	char *text;
	size_t len;

	put_pair(dir, "10MB/s", 100);
	put_state(dir, "a", "f", 100, 0, "2026-11-25T07:59:59Z", NULL);
	put_state(dir, "b", "f", 0, 0, "2026-11-25T07:59:59Z", NULL);
	plan_once_with(dir, &opt, "2026-11-25T08:00:00Z", &r);
	ck_assert_int_eq(r.st.probe, 1);
	ck_assert_int_eq(r.st.expires - r.now, 2);
	ck_assert_int_eq(r.l->probe, 1);
	ck_assert_ptr_nonnull(text = ledger_format(r.l, &len));
	ck_assert_ptr_nonnull(strstr(text, "\nprobe: true\n"));
	free(text);
	round_free(&r);
	remove_tree(dir);
	free(dir);
}
END_TEST

/*
 * A round is planned in every shape that changes its forest, and warns
 * once.  Two sites of six hosts of 1 Gbit joined by a 1 Gbit link, a0's
 * file of 2 MiB: its first set, under --replan (opt.early), may be the
 * last, and there a tree within a site wider than three ends so small a
 * file sooner (a hop costs more than a block), so it is planned in more
 * than one shape; b3's state, a length that is no whole number of
 * blocks, is said once, not once a pass.
 */
START_TEST(shapes_warn_once)
{
	char *dir = master_dir(), *out = xasprintf("%s/stderr", dir);
	struct plan_options opt = { METHOD_LP, 0, 0, 2, -1 };
	struct round r;
	char buf[4096], *p;
	const char *site[2] = { "A", "B" };
	char *topo = xstrdup("round: 20s\nblock_size: 1MiB\nsites:\n");
	int fd, saved, i, k, n;
	ssize_t len;

	for (i = 0; i < 2; i++) {
		p = xasprintf("%s  - name: %s\n    hosts:\n", topo, site[i]);
		free(topo);
		topo = p;
		for (k = 0; k < 6; k++) {
			p = xasprintf("%s      - {name: %c%d, address: 192.0.2.%d, "
			    "root: /s, nic: 1000Mbit}\n", topo, "ab"[i], k,
			    i * 6 + k + 1);
			free(topo);
			topo = p;
		}
	}
	p = xasprintf("%slinks:\n  - {between: [A, B], capacity: 1000Mbit}\n",
	    topo);
	free(topo);
	put(dir, "topology.yaml", p);
	free(p);
	put(dir, "fileset.yaml", "files: [{name: f, version: 1, generator: a0}]\n");
	put_manifest(dir, "f", 2, 2, 1);
	for (i = 0; i < 2; i++)
		for (k = 0; k < 6; k++) {
			char host[8];

			snprintf(host, sizeof(host), "%c%d", "ab"[i], k);
			put_state(dir, host, "f", i == 0 && k == 0 ? 2 : 0, 0,
			    "2026-11-25T07:59:59Z", NULL);
		}
	put(dir, "states/b3.yaml", "host: b3\nepoch: 0\ntime: "
	    "2026-11-25T07:59:59Z\nfiles:\n  - {name: f, version: 1, length: "
	    "1000}\nfailures: []\n");
	fflush(stderr);
	ck_assert_int_ge(saved = dup(2), 0);
	ck_assert_int_ge(fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	ck_assert_int_eq(dup2(fd, 2), 2);
	close(fd);
	plan_once_with(dir, &opt, "2026-11-25T08:00:00Z", &r);
	fflush(stderr);
	ck_assert_int_eq(dup2(saved, 2), 2);
	close(saved);
	ck_assert_int_ge(fd = open(out, O_RDONLY), 0);
	ck_assert_int_ge(len = read(fd, buf, sizeof(buf) - 1), 0);
	close(fd);
	buf[len] = '\0';
	ck_assert_msg(r.st.shapes >= 2, "shapes %zu: %s", r.st.shapes, buf);
	for (n = 0, p = buf; (p = strstr(p, "not a whole number")) != NULL;
	    p++)
		n++;
	ck_assert_msg(n == 1, "warned %d times: %s", n, buf);
	round_free(&r);
	remove_tree(dir);
	free(out);
	free(dir);
}
END_TEST

/* What current may name: the planner's own "epochs/N", nothing else. */
START_TEST(current_link_epoch)
{
	ck_assert_uint_eq(master_link_epoch("epochs/1"), 1);
	ck_assert_uint_eq(master_link_epoch("epochs/4021"), 4021);
	ck_assert_uint_eq(master_link_epoch("epochs/18446744073709551615"),
	    UINT64_MAX);
	ck_assert_uint_eq(master_link_epoch("epochs/18446744073709551616"), 0);
	ck_assert_uint_eq(master_link_epoch("epochs/118446744073709551615"), 0);
	ck_assert_uint_eq(master_link_epoch("epochs/0"), 0);
	ck_assert_uint_eq(master_link_epoch("epochs/012"), 0);
	ck_assert_uint_eq(master_link_epoch("epochs/"), 0);
	ck_assert_uint_eq(master_link_epoch("epochs/12/"), 0);
	ck_assert_uint_eq(master_link_epoch("epochs/+12"), 0);
	ck_assert_uint_eq(master_link_epoch("epochs/12 "), 0);
	ck_assert_uint_eq(master_link_epoch("./epochs/12"), 0);
	ck_assert_uint_eq(master_link_epoch("/srv/epochs/12"), 0);
	ck_assert_uint_eq(master_link_epoch("elsewhere"), 0);
}
END_TEST

Suite *
suite_planner(void)
{
	Suite *s = suite_create("planner");
	TCase *tc = tcase_create("planner");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, two_hosts_and_a_link);
	tcase_add_test(tc, room_bounds_a_host);
	tcase_add_test(tc, thin_link_crossed_once);
	tcase_add_test(tc, failed_link_routes_around);
	tcase_add_test(tc, files_enter_through_different_hosts);
	tcase_add_test(tc, generator_sends_once);
	tcase_add_test(tc, tree_relays_in_the_round);
	tcase_add_test(tc, growing_file);
	tcase_add_test(tc, failures_to_threshold);
	tcase_add_test(tc, kept_plan_whole);
	tcase_add_test(tc, bound_hand_worked);
	tcase_add_test(tc, in_flight_saturated);
	tcase_add_test(tc, probe_kept_in_the_ledger);
	tcase_add_test(tc, probe_recorded_in_the_ledger);
	tcase_add_test(tc, shapes_warn_once);
	tcase_add_test(tc, current_link_epoch);
	suite_add_tcase(s, tc);
	return s;
}
