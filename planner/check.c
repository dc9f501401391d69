/*
 * check.c: sluice-plan check, validate a master directory or a topology and
 * file set, and print a summary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "planner.h"

/* Hosts whose states and manifests are taken unsigned: no key pinned.
 * Said on standard error, ten by name at most. */
static void
unsigned_hosts(const struct topology *t)
{
	size_t i, n = 0;

	for (i = 0; i < t->nhosts; i++)
		if (!t->hosts[i].has_key && n++ < 10)
			fprintf(stderr, "sluice-plan: warning: host %s has no "
			    "key: its states and manifests are taken "
			    "unsigned\n", t->hosts[i].name);
	if (n > 10)
		fprintf(stderr, "sluice-plan: warning: and %zu more hosts "
		    "without a key\n", n - 10);
	printf("keys: %zu of %zu hosts pinned\n", t->nhosts - n, t->nhosts);
}

/*
 * Which layout the master is in: signed once any host's key is pinned
 * (its agents pin master_key too, and take only signed plans: run
 * refuses to plan without the master key), else unsigned.  From a master
 * directory, the plans in place that a signed layout's agents refuse, for
 * want of a signature, are counted on standard error.
 */
static void
layout(const struct master *m, int from_dir)
{
	const struct topology *t = m->topology;
	size_t h, plans = 0, bare = 0;

	if (hosts_pinned(t) == 0) {
		printf("layout: unsigned: plans, states and manifests are "
		    "taken unsigned\n");
		return;
	}
	printf("layout: signed: plans are signed with the master key, "
	    "states and manifests checked with the hosts' keys\n");
	for (h = 0; from_dir && h < t->nhosts; h++) {
		char *path = xasprintf("%s/plans/%s.yaml", m->dir,
		    t->hosts[h].name);
		char *sig = xasprintf("%s.sig", path);

		if (access(path, F_OK) == 0) {
			plans++;
			bare += access(sig, F_OK) != 0;
		}
		free(sig);
		free(path);
	}
	if (bare > 0)
		fprintf(stderr, "sluice-plan: warning: %zu of %zu plans in "
		    "%s/plans have no signature: agents that pin master_key "
		    "refuse them (make the master key with sluice-plan "
		    "keygen)\n", bare, plans, m->dir);
}

static void
summary(const struct master *m, int with_states)
{
	const struct topology *t = m->topology;
	size_t i, j, limited = 0, nmanifests = 0, nstates = 0;
	double bytes = 0;
	char buf[64];

	for (i = 0; i < t->nresources; i++)
		if (t->resources[i].capacity != CAP_UNLIMITED)
			limited++;
	if (t->npartitions > 0)
		printf("sites: %zu in %zu partition%s\n", t->nsites,
		    t->npartitions, t->npartitions == 1 ? "" : "s");
	else
		printf("sites: %zu\n", t->nsites);
	printf("hosts: %zu\n", t->nhosts);
	printf("links: %zu\n", t->nlinks);
	printf("resources: %zu, %zu with a capacity\n", t->nresources,
	    limited);
	for (i = 0; i < m->fileset->nfiles; i++) {
		const struct file *f = &m->fileset->files[i];
		size_t targets = 0;

		for (j = 0; j < t->nhosts; j++)
			targets += fileset_targets(t, f, j) && j != f->generator;
		if (f->has_size)
			bytes += (double)f->size * (double)targets;
		if (m->manifests[i] != NULL)
			nmanifests++;
	}
	printf("files: %zu\n", m->fileset->nfiles);
	for (i = 0; i < m->fileset->nfiles; i++)
		if (m->fileset->files[i].has_size)
			break;
	if (i < m->fileset->nfiles) {
		unit_format_size(buf, sizeof(buf), bytes);
		printf("bytes to deliver: %.0f (%s)\n", bytes, buf);
	}
	if (with_states) {
		for (i = 0; i < t->nhosts; i++)
			nstates += m->states[i] != NULL;
		printf("manifests: %zu of %zu\n", nmanifests,
		    m->fileset->nfiles);
		printf("states: %zu of %zu hosts\n", nstates, t->nhosts);
	}
	unsigned_hosts(t);
	layout(m, with_states);
}

/* Warns of what no round can move, with the ledger's failures. */
static int
check_stalls(struct master *m)
{
	struct ledger *l;
	struct stall *s;
	size_t n, i;
	int rc;

	if ((rc = master_ledger(m->dir, &l)) != 0)
		return rc;
	s = stalls_find(m, l, &n);
	for (i = 0; i < n; i++)
		fprintf(stderr, "sluice-plan: warning: stalled: %s\n",
		    s[i].line);
	stalls_free(s, n);
	ledger_free(l);
	return 0;
}

static void
usage_check(void)
{
	fprintf(stderr, "usage: sluice-plan check -d DIR\n"
	    "       sluice-plan check -t TOPOLOGY [-f FILESET]\n");
}

int
cmd_check(int argc, char **argv)
{
	struct master *m = NULL;
	int rc, quiet = 0, from_dir = 0;

	rc = master_from_args(argc, argv, 0, &quiet, &m, &from_dir);
	if (rc == EX_USAGE)
		usage_check();
	if (rc != 0)
		return rc;
	if (m->nerrors > 0) {
		fprintf(stderr, "sluice-plan: check: %zu broken state or "
		    "manifest file%s\n", m->nerrors,
		    m->nerrors == 1 ? "" : "s");
		master_free(m);
		return EX_DATAERR;
	}
	if (!quiet)
		summary(m, from_dir);
	if (from_dir)
		rc = check_stalls(m);
	master_free(m);
	return rc;
}
