/*
 * simulate.c: sluice-plan simulate, a distribution run to completion
 * against a simulated network (sim.c) by lp or greedy, or by a baseline
 * (baseline.c): origin, every host pulling from the generator, or swarm,
 * random holders with fair sharing.  Faults: --fail link:L@A-B, host:H@A-B
 * (down from round A to B) and corrupt:H (H serves blocks that fail their
 * checksums).  Ends with makespan=, bound=, ratio=, rounds= and bytes=.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "planner.h"

int
cmd_simulate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "method", required_argument, NULL, 'm' },
		{ "fail", required_argument, NULL, 'F' },
		{ "trace", required_argument, NULL, 'T' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "svg", required_argument, NULL, 'S' },
		{ "states", required_argument, NULL, 'D' },
		{ "growing", required_argument, NULL, 'G' },
		{ NULL, 0, NULL, 0 }
	};
	const char *start_dir = NULL, *growspec[SIM_MAX_FAULTS];
	size_t ngrow = 0;
	const char *tpath = NULL, *fpath = NULL, *method = "lp";
	const char *failspec[SIM_MAX_FAULTS];
	size_t nfail_specs = 0, h, f;
	struct sim s;
	struct ledger *l = NULL;
	struct plan **old = NULL;
	struct failure **fail = NULL;
	size_t *nfail = NULL;
	long round, max_rounds = 10000;
	double makespan = 0, bound;
	char why[512];
	int ch, rc = 0;

	memset(&s, 0, sizeof(s));
	s.seed = 1;
	while ((ch = getopt_long(argc, argv, "t:f:", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			tpath = optarg;
			break;
		case 'f':
			fpath = optarg;
			break;
		case 'm':
			method = optarg;
			break;
		case 'F':
			if (nfail_specs == SIM_MAX_FAULTS)
				return EX_USAGE;
			failspec[nfail_specs++] = optarg;
			break;
		case 'T':
			s.trace = optarg;
			break;
		case 'r':
			max_rounds = strtol(optarg, NULL, 10);
			if (max_rounds < 1)
				return EX_USAGE;
			break;
		case 's':
			s.seed = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'S':
			s.svg = optarg;
			break;
		case 'D':
			start_dir = optarg;
			break;
		case 'G':
			if (ngrow == SIM_MAX_FAULTS)
				return EX_USAGE;
			growspec[ngrow++] = optarg;
			break;
		default:
			tpath = NULL;
			break;
		}
	}
	if (tpath == NULL || fpath == NULL || optind != argc) {
		fprintf(stderr, "usage: sluice-plan simulate -t TOPOLOGY -f "
		    "FILESET [--method lp|greedy|origin|swarm] [--fail SPEC] "
		    "[--states DIR] "
		    "[--growing NAME=RATE] "
		    "[--trace DIR] [--svg FILE] [--rounds N] [--seed N]\n");
		return EX_USAGE;
	}
	if (strcmp(method, "lp") == 0)
		s.method = SIM_LP;
	else if (strcmp(method, "greedy") == 0)
		s.method = SIM_GREEDY;
	else if (strcmp(method, "origin") == 0)
		s.method = SIM_ORIGIN;
	else if (strcmp(method, "swarm") == 0)
		s.method = SIM_SWARM;
	else {
		warnx_("simulate: unknown method '%s'", method);
		return EX_USAGE;
	}
	if ((rc = master_load_files(tpath, fpath, &s.m)) != 0)
		return rc;
	s.inputs[0] = tpath;
	s.inputs[1] = fpath;
	s.t = s.m->topology;
	s.T = s.t->round;
	for (f = 0; f < s.m->fileset->nfiles; f++)
		if (!s.m->fileset->files[f].has_size) {
			warnx_("%s: file %s has no size; simulate needs one",
			    fpath, s.m->fileset->files[f].name);
			master_free(s.m);
			return EX_DATAERR;
		}
	s.grow = xcalloc(s.m->fileset->nfiles + 1, sizeof(double));
	s.len = xcalloc(s.t->nhosts * (s.m->fileset->nfiles + 1),
	    sizeof(uint64_t));
	for (f = 0; f < nfail_specs; f++)
		if (sim_parse_fault(&s, failspec[f]) != 0) {
			rc = EX_USAGE;
			goto out;
		}
	for (f = 0; f < ngrow; f++)
		if (sim_parse_growing(&s, growspec[f]) != 0) {
			rc = EX_USAGE;
			goto out;
		}
	if (start_dir != NULL && sim_load_start(&s, start_dir) != 0) {
		rc = EX_DATAERR;
		goto out;
	}
	sim_manifests(s.m);
	s.done_at = xcalloc(s.t->nhosts, sizeof(double));
	s.use = xcalloc(s.t->nresources, sizeof(double));
	for (f = 0; f < s.m->fileset->nfiles; f++)
		*sim_hold(&s, s.m->fileset->files[f].generator, f) =
		    s.m->fileset->files[f].size;
	for (h = 0; h < s.t->nhosts; h++)
		s.done_at[h] = -1;
	/*
	 * The bound as if every file were whole from the start (a schedule
	 * for a growing file is one for the whole file too), and no lower
	 * than the time a growing file takes to be published.
	 */
	sim_set_states(&s, 0, 1795593600, NULL, NULL);
	bound = bound_makespan(s.m, why, sizeof(why));
	for (f = 0; f < s.m->fileset->nfiles; f++)
		if (s.grow[f] > 0 && (double)s.m->fileset->files[f].size /
		    s.grow[f] > bound)
			bound = (double)s.m->fileset->files[f].size / s.grow[f];
	sim_publish(&s, 0);
	/* Nobody holds more of a growing file than is published. */
	for (h = 0; h < s.t->nhosts; h++)
		for (f = 0; f < s.m->fileset->nfiles; f++)
			if (s.grow[f] > 0 && *sim_hold(&s, h, f) > sim_published(&s, f))
				*sim_hold(&s, h, f) = sim_published(&s, f);
	sim_note_done(&s, 0);
	sim_set_states(&s, 0, 1795593600, NULL, NULL);
	l = xcalloc(1, sizeof(*l));
	old = xcalloc(s.t->nhosts, sizeof(*old));
	fail = xcalloc(s.t->nhosts, sizeof(*fail));
	nfail = xcalloc(s.t->nhosts, sizeof(*nfail));
	for (round = 1; round <= max_rounds && !sim_all_done(&s); round++) {
		if (s.method == SIM_LP || s.method == SIM_GREEDY) {
			if ((rc = sim_planned_round(&s, l, &old, round, fail,
			    nfail)) != 0)
				goto out;
		} else
			sim_flow_round(&s, round);
		sim_sample_round(&s, round);
	}
	if (!sim_all_done(&s)) {
		warnx_("simulate: not complete after %ld rounds", max_rounds);
		rc = EX_SOFTWARE;
	}
	for (h = 0; h < s.t->nhosts; h++)
		if (s.done_at[h] > makespan)
			makespan = s.done_at[h];
	if (s.svg != NULL && chart_write(&s, method, makespan, bound, s.bytes) !=
	    0 && rc == 0)
		rc = EX_CANTCREAT;
	printf("makespan=%.3f bound=%.3f ratio=%.4f rounds=%ld bytes=%" PRIu64
	    "\n", makespan, bound, bound > 0 ? makespan / bound : 0.0,
	    round - 1, s.bytes);
out:
	for (h = 0; old != NULL && h < s.t->nhosts; h++) {
		plan_free(old[h]);
		for (f = 0; f < nfail[h]; f++)
			failure_clear(&fail[h][f]);
		free(fail[h]);
	}
	free(old);
	free(fail);
	free(nfail);
	free(s.len);
	free(s.grow);
	free(s.done_at);
	free(s.use);
	free(s.samples);
	for (f = 0; f < s.nfaults; f++)
		free(s.faults[f].component);
	ledger_free(l);
	master_free(s.m);
	return rc;
}

