/*
 * check.c: sluice-plan check, validate a master directory or a topology and
 * file set, and print a summary.
 */
#include <sys/stat.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
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

/* Warns of what no round can move, with the ledger's failures, and of
 * clocks, the cadence of runs and room (health.c); counts the warnings
 * in *warnings. */
static int
check_stalls(struct master *m, size_t *warnings)
{
	struct ledger *l;
	struct stall *s;
	struct health *hs;
	size_t n, i;
	int rc;

	if ((rc = master_ledger(m->dir, &l)) != 0)
		return rc;
	s = stalls_find(m, l, &n);
	for (i = 0; i < n; i++)
		fprintf(stderr, "sluice-plan: warning: stalled: %s\n",
		    s[i].line);
	*warnings += n;
	stalls_free(s, n);
	ledger_free(l);
	hs = health_find(m, &n);
	for (i = 0; i < n; i++)
		fprintf(stderr, "sluice-plan: warning: %s\n", hs[i].line);
	*warnings += n;
	health_free(hs, n);
	return 0;
}

/* The name of uid, into buf: its login name, else "uid N". */
static const char *
user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "uid %lu", (unsigned long)uid);
	return buf;
}

/* Warns when path (st) is writable by anyone but its owner, or is not
 * owned by planner; who says how planner was chosen. */
static void
planner_owns(const char *path, const struct stat *st, uid_t planner,
    const char *who)
{
	char a[64], b[64];
	mode_t w = st->st_mode & (S_IWGRP | S_IWOTH);

	if (w != 0)
		fprintf(stderr, "sluice-plan: warning: %s is writable by %s: "
		    "only the planner's user may write it\n", path,
		    w == S_IWGRP ? "its group" : w == S_IWOTH ? "others" :
		    "its group and others");
	if (st->st_uid != planner)
		fprintf(stderr, "sluice-plan: warning: %s is owned by %s, not "
		    "by %s, %s: the planner's user should own it\n", path,
		    user_name(st->st_uid, a, sizeof(a)),
		    user_name(planner, b, sizeof(b)), who);
}

/*
 * The owners and modes sluice(7) requires of a master directory, warned
 * of on standard error.  The directory itself, and what the planner
 * writes (epochs/, the set current names and its plans/, the ledger,
 * the lock), are the planner's user's and writable by no one else; that
 * user is whoever runs check, or for root the directory's owner.  Once
 * the planner has run, states/ and manifests/ writable by the owner of
 * epochs/ alone mean the agents write as the planner: any host could
 * rewrite the ledger and repoint current.
 */
static void
check_owners(const char *dir)
{
	static const char *const planners[] = { "epochs", "current",
	    "current/plans", "ledger.yaml", "lock" };
	static const char *const agents[] = { "states", "manifests" };
	const char *who = "who runs check";
	struct stat top, st, epochs;
	uid_t planner = getuid();
	char *ep = xasprintf("%s/epochs", dir), name[64];
	size_t i;

	if (stat(dir, &top) == -1)
		goto out;
	if (planner == 0) {
		planner = top.st_uid;
		who = "who owns the master directory";
	}
	planner_owns(dir, &top, planner, who);
	for (i = 0; i < sizeof(planners) / sizeof(planners[0]); i++) {
		char *path = xasprintf("%s/%s", dir, planners[i]);

		if (stat(path, &st) == 0)
			planner_owns(path, &st, planner, who);
		free(path);
	}
	for (i = 0; i < sizeof(agents) / sizeof(agents[0]); i++) {
		char *path = xasprintf("%s/%s", dir, agents[i]);

		if (stat(ep, &epochs) == 0 && stat(path, &st) == 0 &&
		    st.st_uid == epochs.st_uid &&
		    (st.st_mode & (S_IWGRP | S_IWOTH)) == 0)
			fprintf(stderr, "sluice-plan: warning: %s is writable "
			    "by %s alone, who owns %s too: the agents and the "
			    "planner are one user, and any host can rewrite "
			    "the ledger and plans; give the planner a user of "
			    "its own (sluice(7))\n", path,
			    user_name(st.st_uid, name, sizeof(name)), ep);
		free(path);
	}
out:
	free(ep);
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
	size_t warnings = 0;
	int rc, quiet = 0, from_dir = 0;

	rc = master_from_args(argc, argv, 0, &quiet, &m, &from_dir);
	if (rc == EX_USAGE)
		usage_check();
	if (rc != 0)
		goto out;
	if (!quiet)
		summary(m, from_dir);
	if (from_dir) {
		check_owners(m->dir);
		rc = check_stalls(m, &warnings);
		warnings += retire_pending(m->dir, m);
	}
	/* Always one line at the end, what a reader of cron's mail or a
	 * script looks for first. */
	if (m->nerrors > 0) {
		fprintf(stderr, "sluice-plan: check: %zu broken state or "
		    "manifest file%s\n", m->nerrors,
		    m->nerrors == 1 ? "" : "s");
		printf("check: failed: %zu error%s, %zu warning%s\n",
		    m->nerrors, m->nerrors == 1 ? "" : "s", warnings,
		    warnings == 1 ? "" : "s");
		rc = EX_DATAERR;
	} else if (rc == 0 && (!quiet || warnings > 0))
		printf("check: ok: %zu warning%s\n", warnings,
		    warnings == 1 ? "" : "s");
out:
	master_free(m);
	return rc;
}
