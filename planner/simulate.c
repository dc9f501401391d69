/*
 * simulate.c: sluice-plan simulate, a distribution run to completion
 * against a simulated network (sim/engine.c) by lp or greedy, or by a baseline
 * (baseline.c): origin, every host pulling from the generator, or swarm,
 * random holders with fair sharing.  Faults: --fail link:L@A-B, host:H@A-B
 * (down from round A to B) and corrupt:H (H serves blocks that fail their
 * checksums).  Ends with makespan=, bound=, ratio=, rounds= and bytes=.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "planner.h"

/* What a run is asked to do, as the command line says. */
struct sim_options {
	const char	*tpath, *fpath;
	const char	*failspec[SIM_MAX_FAULTS];
	size_t		 nfail;
	const char	*growspec[SIM_MAX_FAULTS];
	size_t		 ngrow;
	const char	*start_dir;
	const char	*absent, *late, *slow;	/* --absent, --late, --slow */
	const char	*trace;
	long		 max_rounds;
	unsigned	 seed;
	int		 replan;	/* --replan */
	const char	*master_delay;	/* --master-delay DURATION */
	const char	*svg;		/* --svg FILE, or NULL */
	enum sim_method	 methods[4];	/* to run, in order */
	const char	*names[4];	/* ... as named, into list */
	size_t		 nmethods;
	char		*list;		/* --method's copy: free() it */
};

static int
method_of(const char *name, enum sim_method *m)
{
	static const char *const names[] = { "lp", "greedy", "origin",
	    "swarm" };
	size_t i;

	for (i = 0; i < 4; i++)
		if (strcmp(name, names[i]) == 0) {
			*m = (enum sim_method)i;
			return 0;
		}
	warnx_("simulate: unknown method '%s'", name);
	return -1;
}

/* Sets up a simulation of the inputs; returns 0 or a sysexits code. */
static int
sim_setup(struct sim *s, const struct sim_options *o, double *bound)
{
	size_t f, h;
	char why[512];
	int rc;

	if ((rc = master_load_files(o->tpath, o->fpath, &s->m)) != 0)
		return rc;
	s->inputs[0] = o->tpath;
	s->inputs[1] = o->fpath;
	s->trace = o->trace;
	s->seed = o->seed;
	s->t = s->m->topology;
	s->T = s->t->round;
	s->early = o->replan ? SIM_REPLAN_MIN : 0;
	if (o->master_delay != NULL && sim_master_delay(s, o->master_delay) !=
	    0)
		return EX_USAGE;
	for (f = 0; f < s->m->fileset->nfiles; f++)
		if (!s->m->fileset->files[f].has_size) {
			warnx_("%s: file %s has no size; simulate needs one",
			    o->fpath, s->m->fileset->files[f].name);
			return EX_DATAERR;
		}
	s->grow = xcalloc(s->m->fileset->nfiles + 1, sizeof(double));
	s->len = xcalloc(s->t->nhosts * (s->m->fileset->nfiles + 1),
	    sizeof(uint64_t));
	s->done_at = xcalloc(s->t->nhosts, sizeof(double));
	s->began = xcalloc(s->t->nhosts ? s->t->nhosts : 1, sizeof(double));
	for (f = 0; f < s->t->nhosts; f++)
		s->began[f] = NAN;
	s->use = xcalloc(s->t->nresources, sizeof(double));
	for (f = 0; f < o->nfail; f++)
		if (sim_parse_fault(s, o->failspec[f]) != 0)
			return EX_USAGE;
	for (f = 0; f < o->ngrow; f++)
		if (sim_parse_growing(s, o->growspec[f]) != 0)
			return EX_USAGE;
	if (o->start_dir != NULL && sim_load_start(s, o->start_dir) != 0)
		return EX_DATAERR;
	if ((o->absent != NULL || o->late != NULL || o->slow != NULL) &&
	    sim_parse_starts(s, o->absent, o->late, o->slow) != 0)
		return EX_USAGE;
	sim_manifests(s->m);
	for (f = 0; f < s->m->fileset->nfiles; f++)
		*sim_hold(s, s->m->fileset->files[f].generator, f) =
		    s->m->fileset->files[f].size;
	for (h = 0; h < s->t->nhosts; h++)
		s->done_at[h] = -1;
	/*
	 * The bound as if every file were whole from the start (a schedule
	 * for a growing file is one for the whole file too), and no lower
	 * than the time a growing file takes to be published.
	 */
	sim_set_states(s, 0, SIM_EPOCH, NULL, NULL);
	*bound = bound_makespan(s->m, why, sizeof(why));
	for (f = 0; f < s->m->fileset->nfiles; f++)
		if (s->grow[f] > 0 && (double)s->m->fileset->files[f].size /
		    s->grow[f] > *bound)
			*bound = (double)s->m->fileset->files[f].size /
			    s->grow[f];
	/* The baselines' flows step by a second, finer for a short run, so
	 * that no makespan is a step's rounding. */
	s->step = fmin(1.0, fmax(1e-3, *bound / 100));
	sim_publish(s, 0);
	/* Nobody holds more of a growing file than is published. */
	for (h = 0; h < s->t->nhosts; h++)
		for (f = 0; f < s->m->fileset->nfiles; f++)
			if (s->grow[f] > 0 && *sim_hold(s, h, f) >
			    sim_published(s, f))
				*sim_hold(s, h, f) = sim_published(s, f);
	sim_note_done(s, 0);
	sim_set_states(s, 0, SIM_EPOCH, NULL, NULL);
	return 0;
}

static void
sim_free(struct sim *s)
{
	size_t f;

	free(s->len);
	free(s->grow);
	free(s->done_at);
	free(s->began);
	free(s->use);
	free(s->samples);
	free(s->absent);
	free(s->late);
	free(s->slow);
	for (f = 0; f < s->nfaults; f++)
		free(s->faults[f].component);
	sim_flow_free(s);
	master_free(s->m);
}

static int
cmp_double(const void *a, const void *b)
{
	const double *x = a, *y = b;

	return (*x > *y) - (*x < *y);
}

/* When each destination host (a target of a file it does not generate)
 * was whole, ascending, INFINITY never, into out. */
static void
destinations_done(const struct sim *s, struct sim_outcome *out)
{
	const struct fileset *fs = s->m->fileset;
	size_t h, f;

	out->done = xcalloc(s->t->nhosts + 1, sizeof(double));
	for (h = 0; h < s->t->nhosts; h++) {
		for (f = 0; f < fs->nfiles; f++)
			if (fs->files[f].generator != h &&
			    fileset_targets(s->t, &fs->files[f], h))
				break;
		if (f < fs->nfiles)
			out->done[out->ndest++] = s->done_at[h] < 0 ?
			    INFINITY : s->done_at[h];
	}
	qsort(out->done, out->ndest, sizeof(double), cmp_double);
}

/* The resource that was the busiest for the longest, into out. */
static void
busiest_longest(const struct sim *s, struct sim_outcome *out)
{
	double *held = xcalloc(s->t->nresources + 1, sizeof(double));
	size_t i, best = 0;

	for (i = 0; i < out->nsamples; i++)
		if (out->samples[i].busiest > 0)
			held[out->samples[i].resource] += out->samples[i].t1 -
			    out->samples[i].t0;
	for (i = 1; i < s->t->nresources; i++)
		if (held[i] > held[best])
			best = i;
	if (s->t->nresources > 0 && held[best] > 0)
		snprintf(out->busiest, sizeof(out->busiest), "%s",
		    s->t->resources[best].id);
	free(held);
}

/*
 * Runs one method to completion (or max_rounds).  Fills out (its samples
 * and done are the caller's) and *rounds.  Returns 0 or a sysexits code.
 */
static int
simulate_one(const struct sim_options *o, enum sim_method method,
    struct sim_outcome *out, double *bound, long *rounds)
{
	struct sim s;
	struct ledger *l = xcalloc(1, sizeof(*l));
	struct plan **old = NULL;
	struct failure **fail = NULL;
	size_t *nfail = NULL, h, f;
	long round;
	int rc;

	memset(&s, 0, sizeof(s));
	s.method = method;
	if ((rc = sim_setup(&s, o, bound)) != 0)
		goto out;
	old = xcalloc(s.t->nhosts, sizeof(*old));
	fail = xcalloc(s.t->nhosts, sizeof(*fail));
	nfail = xcalloc(s.t->nhosts, sizeof(*nfail));
	for (round = 1; round <= o->max_rounds && !sim_all_done(&s);
	    round++) {
		if (method == SIM_LP || method == SIM_GREEDY) {
			if ((rc = sim_planned_round(&s, l, &old, round, fail,
			    nfail)) != 0)
				goto out;
		} else
			sim_flow_round(&s, round);
	}
	*rounds = round - 1;
	if (!sim_all_done(&s)) {
		warnx_("simulate: not complete after %ld rounds",
		    o->max_rounds);
		rc = EX_SOFTWARE;
	}
	for (h = 0; h < s.t->nhosts; h++)
		if (s.done_at[h] > out->makespan)
			out->makespan = s.done_at[h];
	out->ontime = s.absent != NULL ? 0 : -1;
	for (h = 0; s.absent != NULL && h < s.t->nhosts; h++)
		if (!s.absent[h] && s.late[h] == 0 && s.slow[h] == 1 &&
		    s.done_at[h] > out->ontime)
			out->ontime = s.done_at[h];
	out->total = s.bytes;
	out->samples = s.samples;
	out->nsamples = s.nsamples;
	s.samples = NULL;
	destinations_done(&s, out);
	busiest_longest(&s, out);
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
	ledger_free(l);
	sim_free(&s);
	return rc;
}

/* A run's points for the chart, each array the caller's. */
struct run_points {
	double		*t, *bytes, *use;	/* per stretch, and 0 */
	double		*dt, *share;		/* per host done, and 0 */
};

/* Fills a run's three lines (bytes, hosts whole, busiest use) in c. */
static void
chart_run(struct chart *c, size_t k, const struct sim_outcome *o,
    struct run_points *rp)
{
	size_t n = o->nsamples, i, m;

	rp->t = xcalloc(n + 2, sizeof(double));
	rp->bytes = xcalloc(n + 2, sizeof(double));
	rp->use = xcalloc(n + 2, sizeof(double));
	for (i = 0; i < n; i++) {
		rp->t[i + 1] = o->samples[i].t1;
		rp->bytes[i + 1] = (double)o->samples[i].delivered;
		rp->use[i] = 100 * o->samples[i].busiest;
	}
	c->panels[0].lines[k] = (struct chart_line){ rp->t, rp->bytes, n + 1,
	    0, 0 };
	/* Each stretch's use holds from its start: t[i] is where stretch
	 * i starts, and the last ends the line. */
	c->panels[2].lines[k] = (struct chart_line){ rp->t, rp->use, n + 1,
	    1, 0 };
	/* The share of destinations whole, a step at each one's time. */
	rp->dt = xcalloc(o->ndest + 2, sizeof(double));
	rp->share = xcalloc(o->ndest + 2, sizeof(double));
	for (i = m = 0; i < o->ndest && isfinite(o->done[i]); i++) {
		rp->dt[m + 1] = o->done[i];
		rp->share[m + 1] = 100 * (double)(i + 1) / (double)o->ndest;
		m++;
	}
	/* ... held to the end of the run. */
	rp->dt[m + 1] = n > 0 ? o->samples[n - 1].t1 : o->makespan;
	rp->share[m + 1] = rp->share[m];
	c->panels[1].lines[k] = (struct chart_line){ rp->dt, rp->share, m + 2,
	    1, 0 };
}

/*
 * The chart of n runs on topology: bytes delivered, destinations whole
 * and the busiest resource's use over time, with the bound.  The time
 * axis ends at the latest makespan, but for a method over four times
 * the quickest's, which runs off the edge rather than flatten the others.
 * Returns 0 or EX_CANTCREAT (reported).
 */
static int
write_chart(const char *path, const char *topology,
    const struct sim_outcome *o, size_t n, double bound)
{
	struct chart c;
	struct run_points rp[4];
	double tmax = bound, ymax = 0, quickest = INFINITY;
	size_t k;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(rp, 0, sizeof(rp));
	for (k = 0; k < n; k++)
		quickest = fmin(quickest, o[k].makespan);
	for (k = 0; k < n; k++) {
		if (o[k].makespan <= 4 * quickest)
			tmax = fmax(tmax, o[k].makespan);
		ymax = fmax(ymax, (double)o[k].total);
	}
	c.tmax = tmax > 0 ? tmax * 1.02 : 1;
	c.bound = bound;
	snprintf(c.bound_label, sizeof(c.bound_label), "bound %.3gs", bound);
	c.nseries = n;
	c.npanels = 3;
	snprintf(c.title, sizeof(c.title), "sluice-plan simulate: %s",
	    topology);
	snprintf(c.xlabel, sizeof(c.xlabel), "time since the start "
	    "(seconds)");
	c.panels[0] = (struct chart_panel){ "bytes", "bytes delivered",
	    CHART_BYTES, ymax, ymax, "all", { { 0 } } };
	c.panels[1] = (struct chart_panel){ "hosts", "hosts complete",
	    CHART_PERCENT, 100, 0, NULL, { { 0 } } };
	c.panels[2] = (struct chart_panel){ "busiest", "busiest resource",
	    CHART_PERCENT, 100, 0, NULL, { { 0 } } };
	for (k = 0; k < n && k < 4; k++) {
		chart_run(&c, k, &o[k], &rp[k]);
		snprintf(c.legend[k], sizeof(c.legend[k]), "%s: makespan %.1fs, "
		    "%.2f\u00d7 the bound%s%s%s", o[k].method, o[k].makespan,
		    bound > 0 ? o[k].makespan / bound : 0.0,
		    o[k].makespan > c.tmax ? " (off the chart)" : "",
		    o[k].busiest[0] ? "; busiest longest: " : "", o[k].busiest);
	}
	rc = chart_write(path, &c) == 0 ? 0 : EX_CANTCREAT;
	for (k = 0; k < 4; k++) {
		free(rp[k].t);
		free(rp[k].bytes);
		free(rp[k].use);
		free(rp[k].dt);
		free(rp[k].share);
	}
	return rc;
}

static void
usage_simulate(void)
{
	fprintf(stderr, "usage: sluice-plan simulate -t TOPOLOGY -f FILESET "
	    "[--method METHOD[,METHOD...]] [--fail SPEC] [--states DIR] "
	    "[--growing NAME=RATE] [--absent FRAC] [--late FRAC:SECONDS] "
	    "[--slow FRAC:FACTOR] [--trace DIR] [--svg FILE] [--rounds N] "
	    "[--seed N] [--replan] [--master-delay DURATION]\n"
	    "    METHOD: lp, greedy, origin or swarm\n");
}

/*
 * Parses sluice-plan simulate's options into o, whose list the caller
 * frees, also on failure.  Returns 0 or EX_USAGE.
 */
static int
parse_simulate_args(int argc, char **argv, struct sim_options *o)
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
		{ "absent", required_argument, NULL, 'A' },
		{ "late", required_argument, NULL, 'L' },
		{ "slow", required_argument, NULL, 'W' },
		{ "replan", no_argument, NULL, 'P' },
		{ "master-delay", required_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 }
	};
	const char *methodspec = "lp";
	char *name, *save = NULL;
	int ch;

	memset(o, 0, sizeof(*o));
	o->seed = 1;
	o->max_rounds = 10000;
	while ((ch = getopt_long(argc, argv, "t:f:", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			o->tpath = optarg;
			break;
		case 'f':
			o->fpath = optarg;
			break;
		case 'm':
			methodspec = optarg;
			break;
		case 'F':
			if (o->nfail == SIM_MAX_FAULTS)
				return EX_USAGE;
			o->failspec[o->nfail++] = optarg;
			break;
		case 'T':
			o->trace = optarg;
			break;
		case 'r':
			o->max_rounds = strtol(optarg, NULL, 10);
			if (o->max_rounds < 1)
				return EX_USAGE;
			break;
		case 's':
			o->seed = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'S':
			o->svg = optarg;
			break;
		case 'D':
			o->start_dir = optarg;
			break;
		case 'G':
			if (o->ngrow == SIM_MAX_FAULTS)
				return EX_USAGE;
			o->growspec[o->ngrow++] = optarg;
			break;
		case 'A':
			o->absent = optarg;
			break;
		case 'L':
			o->late = optarg;
			break;
		case 'W':
			o->slow = optarg;
			break;
		case 'P':
			o->replan = 1;
			break;
		case 'M':
			o->master_delay = optarg;
			break;
		default:
			o->tpath = NULL;
			break;
		}
	}
	if (o->tpath == NULL || o->fpath == NULL || optind != argc) {
		usage_simulate();
		return EX_USAGE;
	}
	o->list = xstrdup(methodspec);
	for (name = strtok_r(o->list, ",", &save); name != NULL;
	    name = strtok_r(NULL, ",", &save)) {
		if (o->nmethods == 4 || method_of(name,
		    &o->methods[o->nmethods]) != 0)
			return EX_USAGE;
		o->names[o->nmethods++] = name;
	}
	if (o->nmethods == 0 || (o->nmethods > 1 && o->trace != NULL)) {
		usage_simulate();
		return EX_USAGE;
	}
	return 0;
}

/*
 * sluice-plan simulate: each method run in turn from the same start, one
 * line of figures each (named when there are several), then the chart.
 */
int
cmd_simulate(int argc, char **argv)
{
	struct sim_options o;
	struct sim_outcome out[4];
	size_t n, k;
	double bound = 0;
	long rounds = 0;
	int rc;

	memset(out, 0, sizeof(out));
	if ((rc = parse_simulate_args(argc, argv, &o)) != 0)
		goto out;
	n = o.nmethods;
	for (k = 0; k < n; k++)
		out[k].method = o.names[k];
	for (k = 0; k < n && rc == 0; k++) {
		rc = simulate_one(&o, o.methods[k], &out[k], &bound, &rounds);
		if (rc != 0 && rc != EX_SOFTWARE)
			continue;
		printf("%s%s%smakespan=%.3f bound=%.3f ratio=%.4f "
		    "rounds=%ld bytes=%" PRIu64, n > 1 ? "method=" : "",
		    n > 1 ? out[k].method : "", n > 1 ? " " : "",
		    out[k].makespan, bound, bound > 0 ? out[k].makespan /
		    bound : 0.0, rounds, out[k].total);
		/* With --absent, --late or --slow: when the hosts that start
		 * on time at their pace were whole. */
		if (out[k].ontime >= 0)
			printf(" ontime=%.3f", out[k].ontime);
		printf("\n");
	}
	if (o.svg != NULL && (rc == 0 || rc == EX_SOFTWARE) &&
	    write_chart(o.svg, o.tpath, out, n, bound) != 0 && rc == 0)
		rc = EX_CANTCREAT;
out:
	for (k = 0; k < 4; k++) {
		free(out[k].samples);
		free(out[k].done);
	}
	free(o.list);
	return rc;
}
