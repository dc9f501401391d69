/*
 * fuzz.c: one libFuzzer entry point per reader, chosen at build time by
 * FUZZ_TARGET (topology, fileset, manifest, state, plan, agent, units,
 * names).  replay.c drives the same function over a corpus, so every
 * compiler runs the corpus as an ordinary test.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "topology.h"
#include "fuzz.h"

static const char topo_text[] =
    "sites:\n  - name: a\n    hosts:\n"
    "      - {name: h1, address: 192.0.2.1, root: /s}\n"
    "      - {name: h2, address: 192.0.2.2, root: /s}\n"
    "  - name: b\n    hosts: [{name: h3, address: 192.0.2.3, root: /s}]\n"
    "links: [{between: [a, b], capacity: 1Gbit}]\n";

static void
fuzz_units(const char *s)
{
	const char *why;
	double d;
	uint64_t u;
	time_t t;
	char buf[64];

	if (unit_bandwidth(s, &d, &why) == 0)
		unit_format_bandwidth(buf, sizeof(buf), d);
	if (unit_size(s, &u, &why) == 0)
		unit_format_size(buf, sizeof(buf), (double)u);
	(void)unit_duration(s, &d, &why);
	if (time_parse(s, &t) == 0)
		time_format(buf, sizeof(buf), t);
}

static void
fuzz_names(const char *s)
{
	const char *why;
	char *e;

	(void)name_valid_label(s, &why);
	(void)name_valid_op_id(s, &why);
	if (name_valid_path(s, &why) == 0) {
		e = name_escape_file(s, 1);
		free(e);
	}
}

/* Parses data as the chosen format; everything it makes is freed. */
int
fuzz_one(enum fuzz_target target, const uint8_t *data, size_t size)
{
	struct diag d = { "" };
	struct ynode *root = NULL, *troot = NULL;
	struct topology *t = NULL;
	char *text;

	if (target == FUZZ_UNITS || target == FUZZ_NAMES) {
		text = xcalloc(1, size + 1);
		memcpy(text, data, size);
		if (target == FUZZ_UNITS)
			fuzz_units(text);
		else
			fuzz_names(text);
		free(text);
		return 0;
	}
	if (ydoc_parse("fuzz.yaml", data, size, &root, &d) != 0)
		return 0;
	switch (target) {
	case FUZZ_TOPOLOGY:
		if (topology_parse("fuzz.yaml", root, &t, &d) == 0) {
			size_t res[72];

			if (t->nhosts > 1)
				(void)route_resources(t, 0, t->nhosts - 1, res,
				    72);
		}
		break;
	case FUZZ_FILESET: {
		struct fileset *fs = NULL;

		if (ydoc_parse("t.yaml", (const unsigned char *)topo_text,
		    strlen(topo_text), &troot, &d) == 0 &&
		    topology_parse("t.yaml", troot, &t, &d) == 0)
			(void)fileset_parse("fuzz.yaml", root, t, &fs, &d);
		fileset_free(fs);
		break;
	}
	case FUZZ_MANIFEST: {
		struct manifest *m = NULL;
		size_t len;

		if (manifest_parse("fuzz.yaml", root, &m, &d) == 0)
			free(manifest_format(m, &len));
		manifest_free(m);
		break;
	}
	case FUZZ_STATE: {
		struct state *st = NULL;
		size_t len;

		if (state_parse("fuzz.yaml", root, &st, &d) == 0)
			free(state_format(st, &len));
		state_free(st);
		break;
	}
	case FUZZ_PLAN: {
		struct plan *p = NULL;
		size_t len;

		if (plan_parse("fuzz.yaml", root, &p, &d) == 0)
			free(plan_format(p, &len));
		plan_free(p);
		break;
	}
	default:
		fuzz_agent_config(root);
		break;
	}
	topology_free(t);
	ynode_free(troot);
	ynode_free(root);
	return 0;
}

#ifdef FUZZ_TARGET
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_one(FUZZ_TARGET, data, size);
}
#endif
