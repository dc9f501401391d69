/*
 * status.c: sluice-plan status, progress per file and site, the failed
 * components and what changed, and the busiest resources of the plans.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "planner.h"

struct busy {
	size_t		 resource;
	double		 share;
};

static int
cmp_busy(const void *a, const void *b)
{
	const struct busy *x = a, *y = b;

	if (x->share != y->share)
		return x->share > y->share ? -1 : 1;
	return (x->resource > y->resource) - (x->resource < y->resource);
}

/* ", 12.5 MB/s" when the rate is known, else "". */
static const char *
rate_text(char *buf, size_t size, double rate)
{
	char bw[32];

	if (rate < 0)
		return "";
	unit_format_bandwidth(bw, sizeof(bw), rate);
	snprintf(buf, size, ", %s", bw);
	return buf;
}

static void
print_progress(const struct master *m, const struct progress *p)
{
	const struct topology *t = m->topology;
	size_t f, s;
	char sz[32], rt[48];

	for (f = 0; f < m->fileset->nfiles; f++) {
		const struct file *fl = &m->fileset->files[f];
		const struct manifest *man = m->manifests[f];
		uint64_t want = man ? man->length : 0;

		unit_format_size(sz, sizeof(sz), (double)want);
		printf("%s@%llu: %s published%s%s\n", fl->name,
		    (unsigned long long)fl->version, sz, man == NULL ?
		    " (no manifest yet)" : man->final ? "" : ", growing",
		    man == NULL ? "" : rate_text(rt, sizeof(rt),
		    p->files[f].rate));
		/* Nothing published: no site is any part complete. */
		for (s = 0; s < t->nsites && man != NULL; s++) {
			const struct progress_cell *c =
			    &p->sites[f * p->nsites + s];

			if (c->targets == 0)
				continue;
			printf("  %-20s %zu/%zu hosts complete, %5.1f%%%s\n",
			    t->sites[s].name, c->complete, c->targets,
			    c->need > 0 ? 100 * c->have / c->need : 100.0,
			    rate_text(rt, sizeof(rt), c->rate));
		}
	}
}

/* Per host, with -v: files complete, bytes, room. */
static void
print_hosts(const struct master *m, const struct progress *p)
{
	const struct topology *t = m->topology;
	char have[32], need[32], room[40];
	size_t h;

	printf("hosts:\n");
	for (h = 0; h < t->nhosts; h++) {
		const struct progress_host *ph = &p->hosts[h];

		if (ph->files == 0)
			continue;
		unit_format_size(have, sizeof(have), ph->have);
		unit_format_size(need, sizeof(need), ph->need);
		room[0] = '\0';
		if (ph->free >= 0) {
			char fr[32];

			unit_format_size(fr, sizeof(fr), ph->free);
			snprintf(room, sizeof(room), ", %s free", fr);
		}
		printf("  %-20s %-12s %zu/%zu files, %5.1f%%, %s of %s%s%s\n",
		    t->hosts[h].name, t->sites[t->hosts[h].site].name,
		    ph->complete, ph->files, ph->need > 0 ? 100 * ph->have /
		    ph->need : 100.0, have, need, room, m->states[h] == NULL ?
		    " (no state)" : m->stale[h] ? " (state unusable)" : "");
	}
}

/* The whole: how much, how fast, when, against the bound. */
static void
print_eta(const struct progress *p)
{
	char sz[32], rt[32], win[32], eta[32], bound[32];

	unit_format_size(sz, sizeof(sz), p->all.need);
	if (p->eta == 0) {
		printf("complete: %zu of %zu host files, %s\n",
		    p->all.complete, p->all.targets, sz);
		return;
	}
	printf("progress: %.1f%% of %s, %zu of %zu host files complete\n",
	    p->all.need > 0 ? 100 * p->all.have / p->all.need : 100.0, sz,
	    p->all.complete, p->all.targets);
	progress_duration(bound, sizeof(bound), p->bound);
	if (p->all.rate < 0) {
		printf("throughput: not yet measured (two epoch sets needed); "
		    "lower bound %s\n", bound);
		return;
	}
	unit_format_bandwidth(rt, sizeof(rt), p->all.rate);
	progress_duration(win, sizeof(win), p->window);
	progress_duration(eta, sizeof(eta), p->eta);
	if (p->eta < 0)
		printf("throughput: %s over the last %s: nothing moves, no "
		    "ETA; lower bound %s\n", rt, win, bound);
	else
		printf("throughput: %s over the last %s; ETA %s, lower bound "
		    "%s (%.1fx)\n", rt, win, eta, bound, p->bound > 0 ?
		    p->eta / p->bound : 1.0);
}

static void
print_ledger(const struct ledger *l, double round)
{
	size_t i, n = 0;
	uint64_t left;
	char when[32], *text;

	printf("epoch %llu", (unsigned long long)l->epoch);
	if (l->epoch > 0) {
		time_format(when, sizeof(when), l->issued);
		printf(", planned %s by %s", when, l->method ? l->method :
		    "?");
	}
	putchar('\n');
	for (i = 0; i < l->ncounts; i++) {
		const struct ledger_count *c = &l->counts[i];

		if (c->failed_epoch == 0)
			continue;
		time_format(when, sizeof(when), c->failed_time);
		/* A reason carries a peer's words: escaped. */
		text = text_escape(c->reason ? c->reason : "");
		printf("%s %s failed in epoch %llu (%s): %s\n",
		    n++ ? "" : "failed components:\n ", c->component,
		    (unsigned long long)c->failed_epoch, when, text);
		free(text);
		left = c->retry_epoch > l->epoch ? c->retry_epoch - l->epoch -
		    1 : 0;
		printf("    %s; tried again by the run of epoch %llu, in about "
		    "%.0fs\n", c->hard > 0 ? "hard evidence" :
		    c->witnesses > 1 ? "seen by more than one host" :
		    "seen by one host", (unsigned long long)c->retry_epoch,
		    (double)left * round);
	}
	if (n == 0)
		printf("failed components: none\n");
	for (i = 0; i < l->ncounts; i++)
		if (l->counts[i].failed_epoch == 0 && (l->counts[i].count > 0 ||
		    l->counts[i].hard > 0))
			printf("  %s: %u failure(s) counted\n",
			    l->counts[i].component, l->counts[i].count +
			    l->counts[i].hard);
	printf("changes since the run before: %s\n", l->nchanges ? "" :
	    "none");
	for (i = 0; i < l->nchanges; i++) {
		text = text_escape(l->changes[i]);
		printf("  %s\n", text);
		free(text);
	}
}

/* Clocks, the cadence of runs and room (health.c). */
static void
print_health(const struct master *m)
{
	size_t n, i;
	struct health *hs = health_find(m, &n);

	printf("warnings:%s\n", n ? "" : " none");
	for (i = 0; i < n; i++)
		printf("  %s\n", hs[i].line);
	health_free(hs, n);
}

/* What no round can move, with the ledger's failures, and why. */
static void
print_stalls(struct master *m, struct ledger *l)
{
	size_t n, i;
	struct stall *s = stalls_find(m, l, &n);
	char *text;

	printf("stalled:%s\n", n ? "" : " none");
	for (i = 0; i < n; i++) {
		text = text_escape(s[i].line);
		printf("  %s\n", text);
		free(text);
	}
	stalls_free(s, n);
}

static void
print_busiest(const struct master *m)
{
	const struct topology *t = m->topology;
	struct plan **plans = epoch_plans(m, m->set_epoch);
	double *use = budget_use(t, plans, t->nhosts);
	struct busy *b = xcalloc(t->nresources, sizeof(*b));
	size_t h, i, k, n = 0;
	char used[32], cap[32];

	for (i = 0; i < t->nresources; i++)
		if (t->resources[i].capacity != CAP_UNLIMITED && use[i] > 0) {
			b[n].resource = i;
			b[n++].share = use[i] / t->resources[i].capacity;
		}
	qsort(b, n, sizeof(*b), cmp_busy);
	printf("busiest resources:%s\n", n ? "" : " none in use");
	for (k = 0; k < n && k < 8; k++) {
		i = b[k].resource;
		unit_format_bandwidth(used, sizeof(used), use[i]);
		unit_format_bandwidth(cap, sizeof(cap),
		    t->resources[i].capacity);
		printf("  %-40s %5.1f%%  %s of %s\n", t->resources[i].id,
		    100 * b[k].share, used, cap);
	}
	for (h = 0; h < t->nhosts; h++)
		plan_free(plans[h]);
	free(plans);
	free(use);
	free(b);
}

static void
usage_status(void)
{
	fprintf(stderr, "usage: sluice-plan status -d DIR [-v] [--json] "
	    "[--prom FILE] [--svg FILE]\n");
}

/* Parses status's options into o; returns 0 or EX_USAGE. */
static int
status_options(int argc, char **argv, struct status_options *o)
{
	static const struct option longs[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "prom", required_argument, NULL, 'p' },
		{ "svg", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "d:v", longs, NULL)) != -1) {
		switch (ch) {
		case 'd':
			o->dir = optarg;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'j':
			o->json = 1;
			break;
		case 'p':
			o->prom = optarg;
			break;
		case 's':
			o->svg = optarg;
			break;
		default:
			return EX_USAGE;
		}
	}
	return o->dir == NULL || optind != argc ? EX_USAGE : 0;
}

static void
print_text(struct master *m, struct ledger *l, const struct progress *p,
    int verbose)
{
	print_ledger(l, m->topology->round);
	print_stalls(m, l);
	print_health(m);
	print_progress(m, p);
	if (verbose)
		print_hosts(m, p);
	/* Plans of a distribution that is over carry nothing. */
	if (p->eta == 0)
		printf("busiest resources: none in use (complete)\n");
	else
		print_busiest(m);
	print_eta(p);
	printf("lower bound on the time left: %.1fs (%s)\n", p->bound,
	    p->bound_why);
}

/*
 * sluice-plan status: text, or with --json one JSON document; with
 * --prom FILE the same figures as a Prometheus textfile and with --svg
 * FILE the history as a chart, each written atomically, and then
 * nothing on standard output unless --json or -v.
 */
int
cmd_status(int argc, char **argv)
{
	struct status_options o;
	struct master *m = NULL;
	struct ledger *l = NULL;
	struct progress p;
	int rc;

	if (status_options(argc, argv, &o) != 0) {
		usage_status();
		return EX_USAGE;
	}
	memset(&p, 0, sizeof(p));
	if ((rc = master_load(o.dir, &m, 0)) != 0 ||
	    (rc = master_ledger(o.dir, &l)) != 0)
		goto out;
	progress_measure(m, &p);
	if (o.prom != NULL && (rc = status_prom(o.prom, m, l, &p)) != 0)
		goto out;
	if (o.svg != NULL && (rc = status_svg(o.svg, m, &p)) != 0)
		goto out;
	if (o.json)
		rc = status_json(stdout, m, l, &p, o.verbose);
	else if ((o.prom == NULL && o.svg == NULL) || o.verbose)
		print_text(m, l, &p, o.verbose);
out:
	progress_free(&p);
	ledger_free(l);
	master_free(m);
	return rc;
}
