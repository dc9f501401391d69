/*
 * test_formats.c: every reader on good and bad input (each bad input names
 * its exact line and column), and write-then-read round trips.
 */
#include <sys/stat.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "unit.h"

enum format { F_TOPOLOGY, F_FILESET, F_MANIFEST, F_STATE, F_PLAN };

struct bad {
	enum format	 format;
	const char	*text;
	const char	*want;	/* the message starts with this */
};

#define TOPO_OK "sites:\n  - name: a\n    hosts:\n" \
    "      - {name: h1, address: 192.0.2.1, root: /srv}\n" \
    "      - {name: h2, address: 192.0.2.2, root: /srv}\n" \
    "  - name: b\n"

#define DIGEST "2641a3295c9e7c4407b129ca0b87bd2143afa95761a4ee4fe27b4769d8691867"

/* A plan of one op from h2 at 5 B/s, to which more of the op's keys may
 * be added from line 14. */
#define PLAN_OP "host: h1\nepoch: 2\nissued: 2026-11-25T08:01:00Z\n" \
    "expires: 2026-11-25T08:02:00Z\nops:\n  - id: a\n    file: f\n" \
    "    version: 1\n    offset: 0\n    length: 10\n" \
    "    source: {host: h2, address: x, root: /s}\n    rate: 5\n" \
    "    blocks: [" DIGEST "]\n"

static const struct bad bad_inputs[] = {
	/* topology */
	{ F_TOPOLOGY, "round: 60s\nsits: []\n",
	    "t.yaml:2:1: topology: unknown key 'sits'" },
	{ F_TOPOLOGY, "sites:\n  - name: a\n    uplink: 10Gbps\n",
	    "t.yaml:3:13: uplink: '10Gbps': needs a unit" },
	{ F_TOPOLOGY, "sites:\n  - name: a\n    downlink: 0Mbit\n",
	    "t.yaml:3:15: downlink: capacity must be above zero" },
	{ F_TOPOLOGY, "sites:\n  - name: a\n    hosts:\n"
	    "      - {name: h, address: x, root: /s, nic: -1Gbit}\n",
	    "t.yaml:4:46: nic: '-1Gbit': must not be negative" },
	{ F_TOPOLOGY, "sites:\n  - name: a\n  - name: b\n  - name: a\n",
	    "t.yaml:4:11: duplicate site name 'a'" },
	{ F_TOPOLOGY, "sites:\n  - name: a\n    hosts: [{name: h, address: x, "
	    "root: /s}]\n  - name: b\n    hosts:\n"
	    "      - {name: h, address: y, root: /s}\n",
	    "t.yaml:6:16: duplicate host name 'h'" },
	{ F_TOPOLOGY, TOPO_OK "links:\n  - between: [a, zz]\n",
	    "t.yaml:8:18: between: no site named 'zz'" },
	{ F_TOPOLOGY, "sites:\n  - name: ../x\n",
	    "t.yaml:2:11: site name: bad name '../x'" },
	{ F_TOPOLOGY, "sites:\n  - name: a\n    hosts:\n"
	    "      - {name: h, address: x}\n",
	    "t.yaml:4:9: host h: missing 'root'" },
	{ F_TOPOLOGY, "sites: [{name: a}\n",
	    "t.yaml:2:1: did not find expected ',' or ']'" },
	{ F_TOPOLOGY, "sites:\n  - name: a\n    name: b\n",
	    "t.yaml:3:5: site: duplicate key 'name'" },
	{ F_TOPOLOGY, TOPO_OK "links:\n  - between: [a, b]\n"
	    "    capacity: 1Gbit\n    reserved: 1Gbit\n",
	    "t.yaml:10:15: reserved: leaves no capacity on link a--b" },
	{ F_TOPOLOGY, "sites:\n  - &x {name: a}\n  - *x\n",
	    "t.yaml:2:5: YAML anchors are not allowed here" },
	{ F_TOPOLOGY, "sites:\n  - name: \"a\\tb\"\n",
	    "t.yaml:2:11: site name: bad name" },
	{ F_TOPOLOGY, "sites:\n  - name: a\n    hosts:\n"
	    "      - {name: h, address: x, root: relative/dir}\n",
	    "t.yaml:4:37: root: 'relative/dir' must be an absolute path" },
	{ F_TOPOLOGY, "sites:\n  - name: a\n    hosts:\n"
	    "      - {name: h, address: x, root: /s, port: 70000}\n",
	    "t.yaml:4:47: port: 70000 is not a TCP port" },
	{ F_TOPOLOGY, "round: 0.1s\nsites: [{name: a}]\n",
	    "t.yaml:1:8: round: must be from 1s to 24h" },
	{ F_TOPOLOGY, "block_size: 4.3MiB\nsites: [{name: a}]\n",
	    "t.yaml:1:13: block_size: '4.3MiB': not a whole number of bytes" },
	{ F_TOPOLOGY, "sites: [{name: a}, {name: b}]\n"
	    "links: [{between: [a, a]}]\n",
	    "t.yaml:2:19: between: a link joins two different sites" },
	{ F_TOPOLOGY, "sites: []\n",
	    "t.yaml:1:8: sites: at least one site is needed" },
	{ F_TOPOLOGY, "",
	    "t.yaml:1:1: empty topology" },
	{ F_TOPOLOGY, "- a\n- b\n",
	    "t.yaml:1:1: topology: expected a mapping" },
	{ F_TOPOLOGY, "sites: [{name: a}]\n---\nsites: []\n",
	    "t.yaml:2:1: more than one YAML document" },
	{ F_TOPOLOGY, "sites: [{name: a}]\n--- *x\n",
	    "t.yaml:2:1: more than one YAML document" },
	{ F_TOPOLOGY, "sites: [{name: a, uplink: 1Gbit, partition: [x]}]\n",
	    "t.yaml:1:45: partition: expected a single value" },
	/* file set */
	{ F_FILESET, "files:\n  - {name: f, version: 1, generator: h9}\n",
	    "f.yaml:2:38: generator: no host named 'h9'" },
	{ F_FILESET, "files:\n  - {name: /etc/passwd, version: 1, "
	    "generator: h1}\n",
	    "f.yaml:2:12: name: bad file name '/etc/passwd'" },
	{ F_FILESET, "files:\n  - {name: a/../b, version: 1, generator: h1}\n",
	    "f.yaml:2:12: name: bad file name 'a/../b'" },
	{ F_FILESET, "files:\n  - {name: f, version: 1, generator: h1}\n"
	    "  - {name: f, version: 2, generator: h1}\n",
	    "f.yaml:3:12: duplicate file name 'f'" },
	{ F_FILESET, "files:\n  - {name: f, version: x1, generator: h1}\n",
	    "f.yaml:2:24: version: 'x1' is not a whole number" },
	{ F_FILESET, "files:\n  - name: f\n    version: 1\n    generator: h1\n"
	    "    targets: [site:a, host:nope]\n",
	    "f.yaml:5:23: target: no host named 'nope'" },
	{ F_FILESET, "files:\n  - name: f\n    version: 1\n    generator: h1\n"
	    "    targets: [datacenter:a]\n",
	    "f.yaml:5:15: target: 'datacenter:a' is neither" },
	{ F_FILESET, "files:\n  - {name: f, version: 1, generator: h1, "
	    "size: 12 parsecs}\n",
	    "f.yaml:2:48: size: '12 parsecs': unknown unit" },
	{ F_FILESET, "files:\n  - {name: f, version: 1}\n",
	    "f.yaml:2:5: file f: missing 'generator'" },
	/* manifest */
	{ F_MANIFEST, "file: f\nversion: 1\nblock_size: 4096\nlength: 8192\n"
	    "final: true\nblocks: [" DIGEST "]\n",
	    "m.yaml:6:9: blocks: 1 checksums, but length 8192 in blocks of "
	    "4096 needs 2" },
	{ F_MANIFEST, "file: f\nversion: 1\nblock_size: 4096\nlength: 100\n"
	    "final: true\nblocks: [zz41a3295c9e7c4407b129ca0b87bd2143afa95761"
	    "a4ee4fe27b4769d8691867]\n",
	    "m.yaml:6:10: block: not a hexadecimal digest" },
	{ F_MANIFEST, "file: f\nversion: 1\nblock_size: 4096\nlength: 100\n"
	    "final: false\nblocks: [" DIGEST "]\n",
	    "m.yaml:5:8: final: a growing file publishes whole blocks only" },
	{ F_MANIFEST, "file: f\nversion: 1\nblock_size: 4096\nlength: 100\n"
	    "final: true\nmode: 0648\nblocks: [" DIGEST "]\n",
	    "m.yaml:6:7: mode: '0648' is not a mode in octal (like 0640)" },
	{ F_MANIFEST, "file: f\nversion: 1\nblock_size: 4096\nlength: 100\n"
	    "final: true\nmode: 4755\nblocks: [" DIGEST "]\n",
	    "m.yaml:6:7: mode: '4755': only the permission bits (0 to 0777) "
	    "are allowed" },
	{ F_MANIFEST, "file: f\nversion: 1\nblock_size: 4096\nlength: 100\n"
	    "final: yes\nblocks: [" DIGEST "]\n",
	    "m.yaml:5:8: final: expected true or false, not 'yes'" },
	{ F_MANIFEST, "file: f\nversion: 1\nblock_size: 4096\nlength: 4096\n"
	    "final: true\nblocks: [abc]\n",
	    "m.yaml:6:10: block: a SHA-256 digest is 64 hexadecimal digits" },
	/* state */
	{ F_STATE, "host: h1\nepoch: 3\nfiles:\n  - {name: f, version: 1, "
	    "length: -5}\n",
	    "s.yaml:4:35: length: '-5' is not a whole number" },
	{ F_STATE, "host: h1\nreporter: {machine: m1, store: 0123}\n",
	    "s.yaml:2:32: store: expected 32 lowercase hexadecimal digits" },
	{ F_STATE, "host: h1\nfailures:\n  - op: 1/h1/1\n    error: gremlins\n",
	    "s.yaml:4:12: error: 'gremlins' is not one of" },
	{ F_STATE, "host: h1\ntime: yesterday\n",
	    "s.yaml:2:7: time: 'yesterday' is not a time" },
	{ F_STATE, "host: h1\nfailures:\n  - op: 1/h1/1\n    error: io\n"
	    "    components: [router:x]\n",
	    "s.yaml:5:18: component: 'router:x' is not" },
	/* plan */
	{ F_PLAN, "host: h1\nepoch: 2\nissued: 2026-11-25T08:01:00Z\n"
	    "expires: 2026-11-25T08:02:00Z\nops:\n  - id: 2/h1/1\n"
	    "    file: ../../etc/shadow\n",
	    "p.yaml:7:11: file: bad file name '../../etc/shadow'" },
	{ F_PLAN, "host: h1\nepoch: 2\nissued: 2026-11-25T08:01:00Z\n"
	    "expires: 2026-11-25T08:02:00Z\nops:\n  - id: 2/h1/1\n"
	    "    file: f\n    version: 1\n    offset: 100\n    length: 4096\n"
	    "    block_size: 4096\n",
	    "p.yaml:9:13: op 2/h1/1: offset 100 is not a multiple of the "
	    "block size 4096" },
	{ F_PLAN, "host: h1\nepoch: 2\nissued: 2026-11-25T08:01:00Z\n"
	    "expires: 2026-11-25T08:02:00Z\nops:\n  - id: 2/h1/1\n"
	    "    file: f\n    version: 1\n    offset: 0\n    length: 8192\n"
	    "    block_size: 4096\n    source: {host: h2, address: x, "
	    "root: /s}\n    rate: 1000\n    blocks: [" DIGEST "]\n",
	    "p.yaml:14:13: op 2/h1/1: 1 checksums for 8192 bytes in blocks "
	    "of 4096 (expected 2)" },
	{ F_PLAN, "host: h1\nepoch: 2\nissued: 2026-11-25T08:02:00Z\n"
	    "expires: 2026-11-25T08:01:00Z\n",
	    "p.yaml:4:10: expires: must be after 'issued'" },
	{ F_PLAN, "host: h1\nepoch: 2\nissued: 2026-11-25T08:01:00Z\n"
	    "expires: 2026-11-25T08:02:00Z\nops:\n"
	    "  - {id: a, file: f, version: 1, offset: 0, length: 10, "
	    "source: {host: h2, address: x, root: /s}, rate: 5, blocks: ["
	    DIGEST "]}\n"
	    "  - {id: a, file: f, version: 1, offset: 0, length: 10, "
	    "source: {host: h2, address: x, root: /s}, rate: 5, blocks: ["
	    DIGEST "]}\n",
	    "p.yaml:7:5: duplicate op id 'a'" },
	{ F_PLAN, "host: h1\nepoch: 2\nissued: 2026-11-25T08:01:00Z\n"
	    "expires: 2026-11-25T08:02:00Z\nops:\n"
	    "  - {id: a, file: f, version: 1, offset: 0, length: 10, "
	    "source: {host: h2, address: x, root: /s}, rate: 0, blocks: ["
	    DIGEST "]}\n",
	    "p.yaml:6:105: rate: must be above zero" },
	/* plan: an op's fallback and shed entries */
	{ F_PLAN, PLAN_OP "    fallback: {source: {host: h3, address: y, "
	    "root: /s}, after: 2, rate: 6}\n",
	    "p.yaml:14:74: op a: fallback rate above the op's" },
	{ F_PLAN, PLAN_OP "    fallback: {source: {host: h2, address: y, "
	    "root: /s}, after: 2, rate: 4}\n",
	    "p.yaml:14:24: op a: fallback source h2 is the op's own" },
	{ F_PLAN, PLAN_OP "    fallback: {source: {host: h3, address: y, "
	    "root: /s}, after: -1, rate: 4}\n",
	    "p.yaml:14:65: after: '-1' is not a number" },
	{ F_PLAN, PLAN_OP "    fallback: {source: {host: h3, address: y, "
	    "root: /s}, after: 100000, rate: 4}\n",
	    "p.yaml:14:65: after: must be from 0 to 86400 seconds" },
	{ F_PLAN, PLAN_OP "    fallback: {source: {host: h3, address: y, "
	    "root: /s}, rate: 4}\n",
	    "p.yaml:14:15: op a fallback: missing 'after'" },
	{ F_PLAN, PLAN_OP "    shed: [{host: h3, at: 1, offset: 0, rate: 3}, "
	    "{host: h4, at: 1, offset: 0, rate: 2}]\n",
	    "p.yaml:14:11: op a: shed rates sum to 5, not below the op's rate "
	    "5" },
	{ F_PLAN, PLAN_OP "    shed: [{host: h3, at: -0.5, offset: 0, "
	    "rate: 1}]\n",
	    "p.yaml:14:27: at: '-0.5' is not a number" },
	{ F_PLAN, PLAN_OP "    shed: [{host: h3, at: 86401, offset: 0, "
	    "rate: 1}]\n",
	    "p.yaml:14:27: at: must be from 0 to 86400 seconds" },
	{ F_PLAN, PLAN_OP "    shed: [{host: h3, at: 1, offset: 0, "
	    "rate: 0}]\n",
	    "p.yaml:14:47: rate: must be above zero and at most 1e15" },
};

static int
parse_as(enum format f, const char *text, struct diag *d)
{
	static const char *const names[] = { "t.yaml", "f.yaml", "m.yaml",
	    "s.yaml", "p.yaml" };
	struct topology *t = NULL;
	struct fileset *fs = NULL;
	struct manifest *m = NULL;
	struct state *s = NULL;
	struct plan *p = NULL;
	struct ynode *root = NULL;
	int rc;

	if (f == F_TOPOLOGY)
		return topology_from_string(text, &t, d);
	rc = ydoc_parse(names[f], (const unsigned char *)text, strlen(text),
	    &root, d);
	if (rc != 0)
		return rc;
	switch (f) {
	case F_FILESET:
		ck_assert_int_eq(topology_from_string(TOPO_OK, &t, d), 0);
		rc = fileset_parse("f.yaml", root, t, &fs, d);
		break;
	case F_MANIFEST:
		rc = manifest_parse("m.yaml", root, &m, d);
		break;
	case F_STATE:
		rc = state_parse("s.yaml", root, &s, d);
		break;
	default:
		rc = plan_parse("p.yaml", root, &p, d);
		break;
	}
	topology_free(t);
	fileset_free(fs);
	manifest_free(m);
	state_free(s);
	plan_free(p);
	ynode_free(root);
	return rc;
}

START_TEST(bad_input)
{
	const struct bad *b = &bad_inputs[_i];
	struct diag d = { "" };
	int rc;

	rc = parse_as(b->format, b->text, &d);
	ck_assert_msg(rc == EX_DATAERR, "case %d: exit %d, want 65", _i, rc);
	ck_assert_msg(strncmp(d.msg, b->want, strlen(b->want)) == 0,
	    "case %d: got '%s', want '%s...'", _i, d.msg, b->want);
}
END_TEST

START_TEST(nesting_limit)
{
	char text[400];
	struct diag d = { "" };
	struct ynode *root;
	size_t i, n = 0;

	n += (size_t)snprintf(text, sizeof(text), "sites: ");
	for (i = 0; i < 40; i++)
		text[n++] = '[';
	text[n] = '\0';
	ck_assert_int_eq(ydoc_parse("t.yaml", (unsigned char *)text, n, &root,
	    &d), EX_DATAERR);
	/* The 32nd collection is the sites' list plus 31 of the brackets. */
	ck_assert_str_eq(d.msg, "t.yaml:1:39: nested deeper than 32 levels");
}
END_TEST

/*
 * A tree's memory stays within a small multiple of what it holds,
 * whatever the order of its values: a 20,000-byte scalar first (its
 * chunk, sized to it, is no power of two) and then 20,000 small ones.
 * When a chunk doubled past the largest size was taken for a large
 * request's own, every small value after the first 1.2 MB or so got a
 * new 1.3 MB chunk: gigabytes for this document, and 16 GB for a host's
 * state of 420 KB.
 */
START_TEST(tree_memory_bounded)
{
	size_t n = 0, i, cap = 128 << 10;
	char *text = xcalloc(cap, 1);
	struct diag d = { "" };
	struct ynode *root;
	const struct ynode *b;

	n += (size_t)snprintf(text + n, cap - n, "a: \"");
	for (i = 0; i < 20000; i++)
		text[n++] = 'x';
	n += (size_t)snprintf(text + n, cap - n, "\"\nb: [");
	for (i = 0; i < 20000; i++)
		n += (size_t)snprintf(text + n, cap - n, "%s1", i ? "," : "");
	n += (size_t)snprintf(text + n, cap - n, "]\n");
	ck_assert_int_eq(ydoc_parse("t.yaml", (unsigned char *)text, n, &root,
	    &d), 0);
	ck_assert_ptr_nonnull(b = ymap_get(root, "b"));
	ck_assert_uint_eq(b->nkids, 20000);
	ck_assert_uint_lt(ynode_bytes(root), (size_t)4 << 20);
	ynode_free(root);
	free(text);
}
END_TEST

/*
 * A signature that verifies leaves no reason behind: callers go on to
 * read what was signed and report their own trouble with it (a brief
 * part that did not parse was said not to verify while the reason of the
 * check before stayed set).  One that does not verify says why.
 */
START_TEST(signature_verifies_without_reason)
{
	static const char msg[] = "host: a\nepoch: 1\n";
	struct sshkey k;
	const char *why = "unset";
	char *sig;
	size_t siglen;

	ck_assert_int_eq(sshkey_generate(&k), 0);
	ck_assert_ptr_nonnull(sig = sshsig_sign(&k, msg, sizeof(msg) - 1,
	    &siglen));
	ck_assert_int_eq(sshsig_verify(&k, msg, sizeof(msg) - 1, sig, siglen,
	    &why), 0);
	ck_assert_ptr_null(why);
	ck_assert_int_eq(sshsig_verify(&k, msg, sizeof(msg) - 2, sig, siglen,
	    &why), -1);
	ck_assert_str_eq(why, "does not verify");
	free(sig);
}
END_TEST

/* The sample cases the tests plan (tests/lib/cases.sh), from the
 * project's directory. */
START_TEST(cases_load)
{
	static const char *const cases[] = { "tests/data/cases/tiny",
	    "tests/data/cases/partial", "tests/data/cases/growing",
	    "examples/wan3" };
	size_t i;

	for (i = 0; i < 4; i++) {
		char *tp = xasprintf("%s/topology.yaml", cases[i]);
		char *fp = xasprintf("%s/fileset.yaml", cases[i]);
		struct topology *t;
		struct fileset *fs;
		struct diag d = { "" };

		ck_assert_msg(topology_load(tp, &t, &d) == 0, "%s", d.msg);
		ck_assert_msg(fileset_load(fp, t, &fs, &d) == 0, "%s", d.msg);
		ck_assert_uint_gt(fs->nfiles, 0);
		fileset_free(fs);
		topology_free(t);
		free(tp);
		free(fp);
	}
}
END_TEST

static struct ynode *
reparse(const char *buf, size_t len)
{
	struct ynode *root;
	struct diag d = { "" };

	ck_assert_msg(ydoc_parse("x.yaml", (const unsigned char *)buf, len,
	    &root, &d) == 0, "%s", d.msg);
	return root;
}

START_TEST(manifest_round_trip)
{
	struct manifest m = { 0 }, *back;
	struct diag d = { "" };
	struct ynode *root;
	unsigned char blocks[3][32];
	size_t len, i;
	char *buf;

	for (i = 0; i < 3; i++)
		memset(blocks[i], (int)(0x11 * (i + 1)), 32);
	m.file = (char *)"index/shard-0001";
	m.version = 42;
	m.block_size = 4096;
	m.length = 2 * 4096 + 17;
	m.final = 1;
	m.blocks = blocks;
	m.nblocks = 3;
	m.mode = 0640;
	buf = manifest_format(&m, &len);
	ck_assert_ptr_nonnull(strstr(buf, "mode: 0640\n"));
	ck_assert_ptr_nonnull(buf);
	root = reparse(buf, len);
	ck_assert_int_eq(manifest_parse("x.yaml", root, &back, &d), 0);
	ck_assert_str_eq(back->file, m.file);
	ck_assert_uint_eq(back->version, 42);
	ck_assert_uint_eq(back->length, m.length);
	ck_assert_int_eq(back->final, 1);
	ck_assert_uint_eq(back->mode, 0640);
	ck_assert_uint_eq(back->nblocks, 3);
	ck_assert_mem_eq(back->blocks, blocks, sizeof(blocks));
	manifest_free(back);
	ynode_free(root);
	free(buf);
}
END_TEST

START_TEST(state_round_trip)
{
	struct holding files[2] = { { (char *)"a/b", 1, 4096 },
	    { (char *)"c", 7, 0 } };
	char *components[] = { (char *)"host:euw-02",
	    (char *)"link:use-euw" };
	struct failure failure = { (char *)"17/use-01/3", (char *)"euw-02",
	    components, 2, FAIL_CHECKSUM, (char *)"block 21: sha256 mismatch: "
	    "\"quoted\"" };
	struct state s = { .host = (char *)"use-01", .epoch = 17,
	    .time = 1795593600, .machine = (char *)"use-01.example.net",
	    .store = (char *)"0123456789abcdef0123456789abcdef",
	    .files = files, .nfiles = 2, .failures = &failure,
	    .nfailures = 1, .report = 1.25, .has_report = 1 }, *back;
	struct diag d = { "" };
	struct ynode *root;
	size_t len;
	char *buf;

	buf = state_format(&s, &len);
	ck_assert_ptr_nonnull(buf);
	root = reparse(buf, len);
	ck_assert_int_eq(state_parse("x.yaml", root, &back, &d), 0);
	ck_assert_str_eq(back->host, "use-01");
	ck_assert_uint_eq(back->epoch, 17);
	ck_assert_int_eq((long)back->time, 1795593600L);
	ck_assert_str_eq(back->machine, "use-01.example.net");
	ck_assert_str_eq(back->store, "0123456789abcdef0123456789abcdef");
	ck_assert_uint_eq(back->nfiles, 2);
	ck_assert_uint_eq(state_length(back, "a/b", 1), 4096);
	ck_assert_uint_eq(state_length(back, "a/b", 2), 0);
	ck_assert_uint_eq(back->nfailures, 1);
	ck_assert_str_eq(back->failures[0].op, "17/use-01/3");
	ck_assert_str_eq(back->failures[0].source, "euw-02");
	ck_assert_uint_eq(back->failures[0].ncomponents, 2);
	ck_assert_str_eq(back->failures[0].components[1], "link:use-euw");
	ck_assert_int_eq(back->failures[0].class, FAIL_CHECKSUM);
	ck_assert_str_eq(back->failures[0].detail, failure.detail);
	ck_assert(back->has_report && !back->has_start);
	ck_assert(fabs(back->report - 1.25) < 1e-9);
	state_free(back);
	ynode_free(root);
	free(buf);
	/* Out of range, it is refused at its place. */
	buf = xstrdup("host: a\nreport: -1\n");
	root = reparse(buf, strlen(buf));
	ck_assert_int_ne(state_parse("x.yaml", root, &back, &d), 0);
	ck_assert_ptr_nonnull(strstr(d.msg, "x.yaml:2:"));
	ck_assert_ptr_nonnull(strstr(d.msg, "report"));
	ynode_free(root);
	free(buf);
}
END_TEST

/* How long before expiry a host's ops stop: the margin, or its state's
 * sending and a quarter more and 0.05 s, a quarter of the life at
 * most. */
START_TEST(report_stop)
{
	ck_assert(fabs(plan_report_stop(10, 0) - 0.25) < 1e-9);
	ck_assert(fabs(plan_report_stop(10, 0.1) - 0.25) < 1e-9);
	ck_assert(fabs(plan_report_stop(10, 1.0) - 1.30) < 1e-9);
	ck_assert(fabs(plan_report_stop(10, 5.0) - 2.5) < 1e-9);
	ck_assert(fabs(plan_report_stop(60, 0.5) - 1.0) < 1e-9);
	ck_assert(fabs(plan_report_stop(60, NAN) - 1.0) < 1e-9);
	ck_assert(fabs(plan_report_stop(60, INFINITY) - 1.0) < 1e-9);
}
END_TEST

/*
 * Plan p for host use-01 at epoch 7, issued at 1795593660 for a minute,
 * of the n ops and the one version ref (all the caller's), written and
 * read back; the plan read must be freed with plan_free().
 */
static struct plan *
plan_again(struct op *ops, size_t n, struct fileref *ref)
{
	struct plan p = { 0 }, *back;
	struct diag d = { "" };
	struct ynode *root;
	size_t len, plen, blen, alen;
	char *buf, *pair, *brief, *apart;

	p.host = (char *)"use-01";
	p.epoch = 7;
	p.issued = 1795593660;
	p.expires = 1795593720;
	p.fileset = ref;
	p.nfileset = 1;
	p.ops = ops;
	p.nops = n;
	buf = plan_format(&p, &len);
	ck_assert_ptr_nonnull(buf);
	/* The plan and its brief at once: the same texts as apart. */
	pair = plan_format_pair(&p, &plen, &brief, &blen);
	ck_assert_ptr_nonnull(pair);
	ck_assert_ptr_nonnull(brief);
	ck_assert_uint_eq(plen, len);
	ck_assert_mem_eq(pair, buf, len);
	apart = plan_format_brief(&p, &alen);
	ck_assert_ptr_nonnull(apart);
	ck_assert_uint_eq(blen, alen);
	ck_assert_mem_eq(brief, apart, alen);
	free(apart);
	free(brief);
	free(pair);
	root = reparse(buf, len);
	ck_assert_msg(plan_parse("x.yaml", root, &back, &d) == 0, "%s", d.msg);
	ynode_free(root);
	free(buf);
	return back;
}

START_TEST(plan_round_trip)
{
	unsigned char blocks[2][32];
	char *resources[] = { (char *)"host:euw-02:out",
	    (char *)"link:use-euw:eu-west>us-east", (char *)"host:use-01:in" };
	struct op op = { 0 };
	struct fileref ref = { (char *)"index/shard-0001", 42, 1073741824, 0600 };
	struct plan *back;

	memset(blocks[0], 0xab, 32);
	memset(blocks[1], 0xcd, 32);
	op.id = (char *)"18/use-01/1";
	op.file = (char *)"index/shard-0001";
	op.version = 42;
	op.offset = 83886080;
	op.length = 8388608;
	op.block_size = 4194304;
	op.source.host = (char *)"euw-02";
	op.source.address = (char *)"198.51.100.7";
	op.source.port = 2222;
	op.source.user = (char *)"sluice";
	op.source.root = (char *)"/srv/sluice";
	op.rate = 31250000;
	op.resources = resources;
	op.nresources = 3;
	op.blocks = blocks;
	op.nblocks = 2;
	back = plan_again(&op, 1, &ref);
	ck_assert_str_eq(back->host, "use-01");
	ck_assert_uint_eq(back->epoch, 7);
	ck_assert_int_eq((long)back->expires, 1795593720L);
	ck_assert_uint_eq(back->nfileset, 1);
	ck_assert_str_eq(back->fileset[0].name, "index/shard-0001");
	ck_assert_uint_eq(back->fileset[0].size, 1073741824);
	ck_assert_uint_eq(back->fileset[0].mode, 0600);
	ck_assert_uint_eq(back->nops, 1);
	ck_assert_str_eq(back->ops[0].id, "18/use-01/1");
	ck_assert_uint_eq(back->ops[0].offset, 83886080);
	ck_assert_uint_eq(back->ops[0].length, 8388608);
	ck_assert_uint_eq(back->ops[0].block_size, 4194304);
	ck_assert_uint_eq(back->ops[0].source.port, 2222);
	ck_assert_str_eq(back->ops[0].source.root, "/srv/sluice");
	ck_assert_double_eq(back->ops[0].rate, 31250000);
	ck_assert_uint_eq(back->ops[0].nresources, 3);
	ck_assert_str_eq(back->ops[0].resources[1],
	    "link:use-euw:eu-west>us-east");
	ck_assert_mem_eq(back->ops[0].blocks, blocks, sizeof(blocks));
	plan_free(back);
}
END_TEST

/* An op's fallback and shed entries, written and read back. */
START_TEST(plan_fallback_round_trip)
{
	unsigned char block[32];
	char *route[] = { (char *)"host:gen-01:out", (char *)"host:use-01:in" };
	struct op_fallback fb = { { (char *)"gen-01", (char *)"192.0.2.9", 22,
	    NULL, (char *)"/srv/gen" }, 12.5, 500000, route, 2 };
	struct op_shed shed[2] = { { (char *)"use-02", 11.5, 8388608, 500000 },
	    { (char *)"use-03", 0, 0, 250000.25 } };
	struct op ops[2];
	struct fileref ref = { (char *)"f", 3, 0, 0644 };
	struct plan *back;
	size_t i;

	memset(block, 0x5a, sizeof(block));
	memset(ops, 0, sizeof(ops));
	for (i = 0; i < 2; i++) {
		ops[i].id = (char *)(i == 0 ? "7/use-01/1" : "7/use-01/2");
		ops[i].file = (char *)"f";
		ops[i].version = 3;
		ops[i].offset = i * 4096;
		ops[i].length = 4096;
		ops[i].block_size = 4096;
		ops[i].source.host = (char *)"relay-01";
		ops[i].source.address = (char *)"192.0.2.7";
		ops[i].source.port = 22;
		ops[i].source.root = (char *)"/srv/relay";
		ops[i].rate = 1000000;
		ops[i].blocks = &block;
		ops[i].nblocks = 1;
	}
	ops[0].fallback = &fb;
	ops[1].shed = shed;
	ops[1].nshed = 2;
	back = plan_again(ops, 2, &ref);
	ck_assert_uint_eq(back->nops, 2);
	ck_assert_ptr_nonnull(back->ops[0].fallback);
	ck_assert_str_eq(back->ops[0].fallback->source.host, "gen-01");
	ck_assert_str_eq(back->ops[0].fallback->source.address, "192.0.2.9");
	ck_assert_str_eq(back->ops[0].fallback->source.root, "/srv/gen");
	ck_assert_uint_eq(back->ops[0].fallback->source.port, 22);
	ck_assert_ptr_null(back->ops[0].fallback->source.user);
	ck_assert_double_eq(back->ops[0].fallback->after, 12.5);
	ck_assert_double_eq(back->ops[0].fallback->rate, 500000);
	ck_assert_uint_eq(back->ops[0].fallback->nresources, 2);
	ck_assert_str_eq(back->ops[0].fallback->resources[1], "host:use-01:in");
	ck_assert_uint_eq(back->ops[0].nshed, 0);
	ck_assert_ptr_null(back->ops[1].fallback);
	ck_assert_uint_eq(back->ops[1].nshed, 2);
	ck_assert_str_eq(back->ops[1].shed[0].host, "use-02");
	ck_assert_double_eq(back->ops[1].shed[0].at, 11.5);
	ck_assert_uint_eq(back->ops[1].shed[0].offset, 8388608);
	ck_assert_double_eq(back->ops[1].shed[0].rate, 500000);
	ck_assert_str_eq(back->ops[1].shed[1].host, "use-03");
	ck_assert_double_eq(back->ops[1].shed[1].at, 0);
	ck_assert_double_eq_tol(back->ops[1].shed[1].rate, 250000.25, 1e-6);
	plan_free(back);
}
END_TEST

static int
count_doc(void *arg, struct ynode *root)
{
	size_t *n = arg;

	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(root->kind, YNODE_MAPPING);
	ynode_free(root);
	return ++*n == 3 ? EX_TEMPFAIL : 0;
}

/*
 * A plan brief: its ops as in the plan but without their checksums, read
 * back marked brief (never formatted as a plan again), several of them a
 * stream of documents; a brief op with checksums, or a plan op without,
 * is refused.
 */
START_TEST(plan_brief_round_trip)
{
	unsigned char block[32];
	char *res[] = { (char *)"host:euw-02:out", (char *)"host:use-01:in" };
	struct op op = { 0 };
	struct fileref ref = { (char *)"f", 3, 8192, 0644 };
	struct plan p = { 0 }, *back;
	struct diag d = { "" };
	struct ynode *root;
	size_t len, n = 0;
	char *buf, *two, *full;

	memset(block, 0x5a, sizeof(block));
	op.id = (char *)"7/use-01/1";
	op.file = (char *)"f";
	op.version = 3;
	op.offset = 4096;
	op.length = 4096;
	op.block_size = 4096;
	op.source.host = (char *)"euw-02";
	op.source.address = (char *)"192.0.2.7";
	op.source.port = 22;
	op.source.root = (char *)"/srv/relay";
	op.rate = 1000000;
	op.resources = res;
	op.nresources = 2;
	op.blocks = &block;
	op.nblocks = 1;
	p.host = (char *)"use-01";
	p.epoch = 7;
	p.issued = 1795593660;
	p.expires = 1795593720;
	p.fileset = &ref;
	p.nfileset = 1;
	p.ops = &op;
	p.nops = 1;
	buf = plan_format_brief(&p, &len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_null(strstr(buf, "blocks"));
	root = reparse(buf, len);
	ck_assert_msg(plan_parse_brief("x.yaml", root, &back, &d) == 0, "%s",
	    d.msg);
	ck_assert_int_eq(back->brief, 1);
	ck_assert_uint_eq(back->nops, 1);
	ck_assert_uint_eq(back->ops[0].offset, 4096);
	ck_assert_uint_eq(back->ops[0].nblocks, 0);
	ck_assert_str_eq(back->ops[0].resources[1], "host:use-01:in");
	ck_assert_ptr_null(plan_format(back, &len));
	plan_free(back);
	/* A plan must carry its checksums. */
	ck_assert_int_ne(plan_parse("x.yaml", root, &back, &d), 0);
	ck_assert_ptr_nonnull(strstr(d.msg, "missing 'blocks'"));
	ynode_free(root);
	/* A brief must not. */
	full = plan_format(&p, &len);
	root = reparse(full, len);
	ck_assert_int_ne(plan_parse_brief("x.yaml", root, &back, &d), 0);
	ck_assert_ptr_nonnull(strstr(d.msg, "carries no checksums"));
	ynode_free(root);
	/* Documents one after another: each handed over, and the stream
	 * stops where the callback says. */
	two = xasprintf("---\n%s---\n%s---\n%s---\n%s", buf, full, buf,
	    full);
	ck_assert_int_eq(ydoc_parse_each("s.yaml", (unsigned char *)two,
	    strlen(two), count_doc, &n, &d), EX_TEMPFAIL);
	ck_assert_uint_eq(n, 3);
	n = 0;
	two[strlen(buf) + strlen(full) + 8] = '\0';
	ck_assert_int_eq(ydoc_parse_each("s.yaml", (unsigned char *)two,
	    strlen(two), count_doc, &n, &d), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_ne(ydoc_parse("s.yaml", (unsigned char *)two,
	    strlen(two), &root, &d), 0);
	ck_assert_ptr_null(root);
	ck_assert_ptr_nonnull(strstr(d.msg, "more than one YAML document"));
	free(two);
	free(full);
	free(buf);
}
END_TEST

START_TEST(atomic_write_replaces)
{
	char dir[] = "/tmp/sluice-unit-XXXXXX";
	char *path, buf[16] = { 0 };
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = xasprintf("%s/out.yaml", dir);
	ck_assert_int_eq(atomic_write(path, "first\n", 6), 0);
	ck_assert_int_eq(atomic_write(path, "second\n", 7), 0);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(buf, 1, sizeof(buf) - 1, f), 7);
	fclose(f);
	ck_assert_str_eq(buf, "second\n");
	ck_assert_int_eq(remove(path), 0);
	ck_assert_int_eq(remove(dir), 0);
	free(path);
}
END_TEST

/* Reads path whole into buf (of size n), NUL-terminated; its length. */
static size_t
slurp(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t got;

	ck_assert_ptr_nonnull(f);
	got = fread(buf, 1, n - 1, f);
	buf[got] = '\0';
	fclose(f);
	return got;
}

START_TEST(write_over_file_in_place)
{
	char dir[] = "/tmp/sluice-unit-XXXXXX";
	char *path, *sym, *other, *target, *fresh, buf[64];
	struct stat before, after;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = xasprintf("%s/plan.yaml", dir);
	sym = xasprintf("%s/link.yaml", dir);
	other = xasprintf("%s/other.yaml", dir);
	target = xasprintf("%s/target", dir);
	fresh = xasprintf("%s/fresh.yaml", dir);
	/* A regular file: the same inode, shorter text, no tail left. */
	ck_assert_int_eq(write_new_file(path, "a longer first text\n", 20), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(stat(path, &before), 0);
	ck_assert_int_eq(write_over_file(path, "second\n", 7, 0644), 0);
	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert_uint_eq(before.st_ino, after.st_ino);
	ck_assert_uint_eq(after.st_mode & 07777, 0644);
	ck_assert_uint_eq(slurp(path, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "second\n");
	/* A link: replaced by a file, its target as it was. */
	ck_assert_int_eq(write_new_file(target, "target\n", 7), 0);
	ck_assert_int_eq(symlink(target, sym), 0);
	ck_assert_int_eq(write_over_file(sym, "plan\n", 5, 0644), 0);
	ck_assert_int_eq(lstat(sym, &after), 0);
	ck_assert(S_ISREG(after.st_mode));
	ck_assert_uint_eq(slurp(target, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "target\n");
	/* A file linked twice: made new, the other name's bytes kept. */
	ck_assert_int_eq(link(path, other), 0);
	ck_assert_int_eq(write_over_file(path, "third\n", 6, 0644), 0);
	ck_assert_uint_eq(slurp(other, buf, sizeof(buf)), 7);
	ck_assert_str_eq(buf, "second\n");
	ck_assert_uint_eq(slurp(path, buf, sizeof(buf)), 6);
	ck_assert_str_eq(buf, "third\n");
	/* Nothing there: made. */
	ck_assert_int_eq(write_over_file(fresh, "new\n", 4, 0644), 0);
	ck_assert_uint_eq(slurp(fresh, buf, sizeof(buf)), 4);
	ck_assert_int_eq(remove(path), 0);
	ck_assert_int_eq(remove(sym), 0);
	ck_assert_int_eq(remove(other), 0);
	ck_assert_int_eq(remove(target), 0);
	ck_assert_int_eq(remove(fresh), 0);
	ck_assert_int_eq(remove(dir), 0);
	free(path);
	free(sym);
	free(other);
	free(target);
	free(fresh);
}
END_TEST

Suite *
suite_formats(void)
{
	Suite *s = suite_create("formats");
	TCase *tc = tcase_create("bad input");
	TCase *rt = tcase_create("round trips");

	tcase_add_loop_test(tc, bad_input, 0,
	    (int)(sizeof(bad_inputs) / sizeof(bad_inputs[0])));
	tcase_add_test(tc, nesting_limit);
	tcase_add_test(tc, tree_memory_bounded);
	tcase_add_test(tc, signature_verifies_without_reason);
	tcase_add_test(tc, cases_load);
	suite_add_tcase(s, tc);
	tcase_add_test(rt, manifest_round_trip);
	tcase_add_test(rt, state_round_trip);
	tcase_add_test(rt, report_stop);
	tcase_add_test(rt, plan_round_trip);
	tcase_add_test(rt, plan_fallback_round_trip);
	tcase_add_test(rt, plan_brief_round_trip);
	tcase_add_test(rt, atomic_write_replaces);
	tcase_add_test(rt, write_over_file_in_place);
	suite_add_tcase(s, rt);
	return s;
}
