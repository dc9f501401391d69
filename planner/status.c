/*
 * status.c: sluice-plan status, progress per file and site, the failed
 * components and what changed, and the busiest resources of the plans.
 */
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

static void
print_progress(const struct master *m)
{
	const struct topology *t = m->topology;
	size_t f, s, j;
	char sz[32];

	for (f = 0; f < m->fileset->nfiles; f++) {
		const struct file *fl = &m->fileset->files[f];
		const struct manifest *man = m->manifests[f];
		uint64_t want = man ? man->length : 0;

		unit_format_size(sz, sizeof(sz), (double)want);
		printf("%s@%llu: %s published%s\n", fl->name,
		    (unsigned long long)fl->version, sz, man == NULL ?
		    " (no manifest yet)" : man->final ? "" : ", growing");
		/* Nothing published: no site is any part complete. */
		for (s = 0; s < t->nsites && man != NULL; s++) {
			size_t targets = 0, complete = 0;
			double have = 0, need = 0;

			for (j = 0; j < t->sites[s].nhosts; j++) {
				size_t h = t->sites[s].hosts[j];
				uint64_t l = master_length(m, h, f);

				if (!fileset_targets(t, fl, h))
					continue;
				targets++;
				complete += want > 0 && l >= want;
				have += (double)(l < want ? l : want);
				need += (double)want;
			}
			if (targets == 0)
				continue;
			printf("  %-20s %zu/%zu hosts complete, %5.1f%%\n",
			    t->sites[s].name, complete, targets,
			    need > 0 ? 100 * have / need : 100.0);
		}
	}
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

int
cmd_status(int argc, char **argv)
{
	const char *dir = dir_argument(argc, argv);
	struct master *m;
	struct ledger *l;
	char why[512];
	int rc;

	if (dir == NULL) {
		fprintf(stderr, "usage: sluice-plan status -d DIR\n");
		return EX_USAGE;
	}
	if ((rc = master_load(dir, &m, 0)) != 0)
		return rc;
	if ((rc = master_ledger(dir, &l)) != 0) {
		master_free(m);
		return rc;
	}
	print_ledger(l, m->topology->round);
	print_stalls(m, l);
	print_health(m);
	print_progress(m);
	print_busiest(m);
	printf("lower bound on the time left: %.1fs",
	    bound_makespan(m, why, sizeof(why)));
	printf(" (%s)\n", why);
	ledger_free(l);
	master_free(m);
	return 0;
}
