/*
 * verify.c: sluice-plan verify, the plans of a master directory re-checked
 * against the topology, the manifests, the states and every capacity: the
 * same rules as the shared verify-plans tool, in the planner's own code.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "planner.h"

/* An op of the newest epoch, for the timing rule. */
struct vtimed {
	const struct plan *plan;
	const struct op	*op;
};

struct vctx {
	struct master	*m;
	size_t		 violations;
	int		 quiet;
	const char	*dir;
	struct timing	 timing;	/* the newest epoch's ops */
	struct vtimed	*timed;		/* ... and which they are */
	size_t		 ntimed;
};

static void violation(struct vctx *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The timing rule over the newest epoch's ops: each done by its plan's
 * expiry, none waiting on a relay cycle or on bytes nothing brings.
 */
static void
check_timing(struct vctx *v)
{
	size_t i;

	timing_run(&v->timing);
	for (i = 0; i < v->timing.nops; i++) {
		const struct timed_op *t = &v->timing.ops[i];
		const struct plan *p = v->timed[t->tag].plan;
		const struct op *o = v->timed[t->tag].op;
		double window = (double)(p->expires - p->issued);

		if (t->cycle)
			violation(v, "plan %s op %s: relays from %s form a "
			    "cycle", p->host, o->id, o->source.host);
		else if (isinf(t->finish))
			violation(v, "plan %s op %s: source %s holds %llu "
			    "bytes of %s@%llu and receives no more of it this "
			    "epoch, op needs %llu", p->host, o->id,
			    o->source.host, (unsigned long long)t->source_have,
			    o->file, (unsigned long long)o->version,
			    (unsigned long long)(o->offset + o->length));
		else if (t->finish > window * (1 + 1e-9) + 1e-6)
			violation(v, "plan %s op %s: %llu bytes at %.0f B/s "
			    "from %s are done %.1fs after issue, past the "
			    "plan's %.0fs", p->host, o->id,
			    (unsigned long long)o->length, o->rate,
			    o->source.host, t->finish, window);
	}
}

static void
violation(struct vctx *v, const char *fmt, ...)
{
	va_list ap;

	v->violations++;
	printf("%s: ", v->dir);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 when the op's resources are exactly the route's, in any order. */
static int
same_resources(struct topology *t, const struct op *o, size_t src,
    size_t dst)
{
	size_t res[ROUTE_MAX + 4];
	char **want, **have;
	int n, i, same;

	n = route_resources(t, src, dst, res, ROUTE_MAX + 4);
	if (n < 0 || (size_t)n != o->nresources)
		return 0;
	want = xcalloc((size_t)n, sizeof(char *));
	have = xcalloc((size_t)n, sizeof(char *));
	for (i = 0; i < n; i++) {
		want[i] = t->resources[res[i]].id;
		have[i] = o->resources[i];
	}
	qsort(want, (size_t)n, sizeof(char *), cmp_str);
	qsort(have, (size_t)n, sizeof(char *), cmp_str);
	for (same = 1, i = 0; i < n && same; i++)
		same = strcmp(want[i], have[i]) == 0;
	free(want);
	free(have);
	return same;
}

struct tile {
	uint64_t	 offset;
	uint64_t	 length;
	const char	*id;
	size_t		 file;
};

static int
cmp_tile(const void *a, const void *b)
{
	const struct tile *x = a, *y = b;

	if (x->file != y->file)
		return (x->file > y->file) - (x->file < y->file);
	if (x->offset != y->offset)
		return (x->offset > y->offset) - (x->offset < y->offset);
	return (x->length > y->length) - (x->length < y->length);
}

/* Checks one op of the newest epoch against manifest and states. */
static int
check_current_op(struct vctx *v, const struct plan *p, const struct op *o,
    size_t src, size_t dst, struct tile *tile)
{
	struct master *m = v->m;
	const struct manifest *man;
	const struct file *f;
	long fi = fileset_find(m->fileset, o->file);
	uint64_t bs, end = o->offset + o->length, first;

	if (fi < 0 || m->fileset->files[fi].version != o->version) {
		violation(v, "plan %s op %s: %s@%llu is not in the file set",
		    p->host, o->id, o->file, (unsigned long long)o->version);
		return -1;
	}
	f = &m->fileset->files[fi];
	if (!fileset_targets(m->topology, f, dst))
		violation(v, "plan %s op %s: %s is not a target of %s",
		    p->host, o->id, p->host, o->file);
	if ((man = m->manifests[fi]) == NULL) {
		violation(v, "plan %s op %s: no manifest for %s@%llu", p->host,
		    o->id, o->file, (unsigned long long)o->version);
		return -1;
	}
	bs = man->block_size;
	if (o->length == 0 || o->offset % bs != 0 || end > man->length ||
	    (o->length % bs != 0 && !(end == man->length && man->final)))
		violation(v, "plan %s op %s: range [%llu,%llu) is not whole "
		    "blocks of %s@%llu", p->host, o->id,
		    (unsigned long long)o->offset, (unsigned long long)end,
		    o->file, (unsigned long long)o->version);
	first = o->offset / bs;
	if (first + o->nblocks > man->nblocks ||
	    o->nblocks != (o->length + bs - 1) / bs ||
	    memcmp(o->blocks, man->blocks[first], o->nblocks * 32) != 0)
		violation(v, "plan %s op %s: checksums differ from the "
		    "manifest's blocks %llu..", p->host, o->id,
		    (unsigned long long)first);
	if (o->length > 0 && o->rate > 0) {
		struct timed_op t = timed_op_from(o, dst, src, (size_t)fi,
		    master_length(m, src, (size_t)fi),
		    state_length(m->states[dst], o->file, o->version));

		/* Blocks as the manifest has them, not as the plan says. */
		t.block_size = bs;
		t.tag = v->ntimed;
		v->timed = xreallocarray(v->timed, v->ntimed + 1,
		    sizeof(*v->timed));
		v->timed[v->ntimed].plan = p;
		v->timed[v->ntimed++].op = o;
		timing_add(&v->timing, &t);
	}
	tile->offset = o->offset;
	tile->length = o->length;
	tile->id = o->id;
	tile->file = (size_t)fi;
	return 0;
}

static void
check_tiles(struct vctx *v, const struct plan *p, size_t dst,
    struct tile *tiles, size_t n)
{
	size_t i;
	uint64_t at = 0;

	qsort(tiles, n, sizeof(*tiles), cmp_tile);
	for (i = 0; i < n; i++) {
		if (i == 0 || tiles[i].file != tiles[i - 1].file)
			at = state_length(v->m->states[dst],
			    v->m->fileset->files[tiles[i].file].name,
			    v->m->fileset->files[tiles[i].file].version);
		if (tiles[i].offset != at)
			violation(v, "plan %s op %s: starts at %llu, expected "
			    "%llu for %s", p->host, tiles[i].id,
			    (unsigned long long)tiles[i].offset,
			    (unsigned long long)at,
			    v->m->fileset->files[tiles[i].file].name);
		at = tiles[i].offset + tiles[i].length;
	}
}

/*
 * Reads every plan file of pdir (NAME.yaml, in name order) into *plans,
 * an array the caller frees with its *nplans plans; a plan that names
 * another host than its file is a violation.  Returns 0, or EX_DATAERR
 * when a plan cannot be read (said on stderr).
 */
static int
load_plans(struct vctx *v, const char *pdir, struct plan ***plans,
    size_t *nplans)
{
	char **names = NULL;
	size_t nnames = 0, i;
	struct dirent *e;
	DIR *d;
	int rc = 0;

	if ((d = opendir(pdir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len > 5 && strcmp(e->d_name + len - 5, ".yaml") == 0 &&
		    e->d_name[0] != '.') {
			names = xreallocarray(names, nnames + 1,
			    sizeof(char *));
			names[nnames++] = xstrdup(e->d_name);
		}
	}
	closedir(d);
	qsort(names, nnames, sizeof(char *), cmp_str);
	*plans = xcalloc(nnames ? nnames : 1, sizeof(**plans));
	for (i = 0; i < nnames; i++) {
		struct diag dg = { "" };
		char *path = xasprintf("%s/%s", pdir, names[i]);
		struct plan **p = &(*plans)[*nplans];

		if (plan_load(path, p, &dg) != 0) {
			fprintf(stderr, "%s\n", dg.msg);
			rc = EX_DATAERR;
		} else {
			if (strlen((*p)->host) + 5 != strlen(names[i]) ||
			    strncmp(names[i], (*p)->host,
			    strlen((*p)->host)) != 0)
				violation(v, "plans/%s: names host '%s'",
				    names[i], (*p)->host);
			(*nplans)++;
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return rc;
}

/*
 * Checks one plan still running: every op's source and route, its rate
 * charged on the route's resources (use); a plan of the newest epoch
 * also op by op against the manifests and states (check_current_op())
 * and its ranges tiled.  Returns the ops seen.
 */
static size_t
check_plan(struct vctx *v, const struct plan *p, int current, double *use)
{
	struct topology *t = v->m->topology;
	long dst = topology_host(t, p->host);
	struct tile *tiles;
	size_t ntiles = 0, j;

	if (dst < 0) {
		violation(v, "plan %s: no such host", p->host);
		return 0;
	}
	tiles = xcalloc(p->nops ? p->nops : 1, sizeof(*tiles));
	for (j = 0; j < p->nops; j++) {
		const struct op *o = &p->ops[j];
		long src = topology_host(t, o->source.host);
		size_t res[ROUTE_MAX + 4];
		int n, k;

		if (src < 0) {
			violation(v, "plan %s op %s: unknown source '%s'",
			    p->host, o->id, o->source.host);
			continue;
		}
		if (src == dst)
			violation(v, "plan %s op %s: copies from itself",
			    p->host, o->id);
		n = route_resources(t, (size_t)src, (size_t)dst, res,
		    ROUTE_MAX + 4);
		if (n < 0) {
			violation(v, "plan %s op %s: no route from %s",
			    p->host, o->id, o->source.host);
			continue;
		}
		if (!same_resources(t, o, (size_t)src, (size_t)dst))
			violation(v, "plan %s op %s: resources are not the "
			    "route's", p->host, o->id);
		for (k = 0; k < n; k++)
			use[res[k]] += o->rate;
		if (current && check_current_op(v, p, o, (size_t)src,
		    (size_t)dst, &tiles[ntiles]) == 0)
			ntiles++;
	}
	if (current)
		check_tiles(v, p, (size_t)dst, tiles, ntiles);
	free(tiles);
	return p->nops;
}

/*
 * The fallbacks of the newest epoch's plans, each by the rule of
 * fallback_violation() against the plan of its op's source.
 */
static void
check_fallbacks(struct vctx *v, struct plan **plans, size_t n,
    uint64_t newest)
{
	struct topology *t = v->m->topology;
	char why[512];
	size_t i, j, k;

	for (i = 0; i < n; i++) {
		long dst = topology_host(t, plans[i]->host);

		if (plans[i]->epoch != newest || dst < 0)
			continue;
		for (j = 0; j < plans[i]->nops; j++) {
			const struct op *o = &plans[i]->ops[j];
			const struct plan *src = NULL;

			if (o->fallback == NULL)
				continue;
			for (k = 0; k < n && src == NULL; k++)
				if (plans[k]->epoch == newest &&
				    strcmp(plans[k]->host, o->source.host) == 0)
					src = plans[k];
			if (fallback_violation(t, src, o, (size_t)dst, why,
			    sizeof(why)) != 0)
				violation(v, "plan %s op %s: %s", plans[i]->host,
				    o->id, why);
		}
	}
}

/* Checks every resource's use against its capacity; returns the busiest
 * resource, or -1, with its share of its capacity in *worst. */
static long
check_capacities(struct vctx *v, const double *use, double *worst)
{
	const struct topology *t = v->m->topology;
	long worst_r = -1;
	size_t i;

	*worst = 0;
	for (i = 0; i < t->nresources; i++) {
		double cap = t->resources[i].capacity;

		if (cap == CAP_UNLIMITED)
			continue;
		if (!budget_fits(cap, use[i]))
			violation(v, "resource %s: %.0f B/s allocated, "
			    "capacity %.0f B/s", t->resources[i].id, use[i],
			    cap);
		if (use[i] / cap > *worst) {
			*worst = use[i] / cap;
			worst_r = (long)i;
		}
	}
	return worst_r;
}

/*
 * The set MASTER_DIR/current names, checked whole before its plans are:
 * the link itself, the set's directory, its plans, states and manifests
 * (none a link) and its ledger, which must be of the set's epoch.  *set
 * is 0 when there is no set yet (no current: the plans under DIR/plans,
 * if any, are checked).  Returns 0, or a sysexits.h code, said on stderr: a
 * current that names nothing is a broken master directory, not one with
 * nothing to check.
 */
static int
check_set(const char *dir, uint64_t *set)
{
	static const char *const subs[] = { "", "/plans", "/states",
	    "/manifests" };
	struct ledger *l;
	struct diag d = { "" };
	struct stat st;
	char *path, target[64];
	ssize_t n;
	size_t i;
	int fd, rc;

	path = xasprintf("%s/current", dir);
	if (lstat(path, &st) == -1) {
		int err = errno;

		rc = err == ENOENT ? 0 : EX_NOINPUT;
		if (rc != 0)
			fprintf(stderr, "%s: %s\n", path, strerror(err));
		free(path);
		*set = 0;
		return rc;
	}
	/* The link read once: what it names is what is checked. */
	n = S_ISLNK(st.st_mode) ? readlink(path, target, sizeof(target) -
	    1) : -1;
	if (n >= 0)
		target[n] = '\0';
	if ((*set = n >= 0 ? master_link_epoch(target) : 0) == 0) {
		if (n >= 0) {
			char *esc;

			esc = text_escape(target);
			fprintf(stderr, "%s: names '%s', not a set of "
			    "epochs/\n", path, esc);
			free(esc);
		} else
			fprintf(stderr, "%s: not a link to a set of epochs/\n",
			    path);
		free(path);
		return EX_DATAERR;
	}
	free(path);
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char *sub = xasprintf("epochs/%" PRIu64 "%s", *set, subs[i]);

		if ((fd = master_open_dir(dir, sub)) == -1) {
			int err = errno;

			fprintf(stderr, "%s/%s: %s (in the set current "
			    "names)\n", dir, sub, err == ELOOP ? "a symbolic "
			    "link or not a directory, not followed" :
			    strerror(err));
			free(sub);
			return err == ENOENT ? EX_NOINPUT : EX_DATAERR;
		}
		close(fd);
		free(sub);
	}
	path = xasprintf("%s/epochs/%" PRIu64 "/ledger.yaml", dir, *set);
	rc = lstat(path, &st) == -1 ? errno : S_ISREG(st.st_mode) ? 0 : -1;
	if (rc != 0) {
		fprintf(stderr, "%s: %s (in the set current names)\n", path,
		    rc == -1 ? "not a file (not followed)" : strerror(rc));
		rc = rc == ENOENT ? EX_NOINPUT : EX_DATAERR;
		free(path);
		return rc;
	}
	if ((rc = ledger_load(path, &l, &d)) != 0) {
		fprintf(stderr, "%s\n", d.msg);
		free(path);
		return rc;
	}
	if (l->epoch != *set) {
		fprintf(stderr, "%s: of epoch %llu, in the set of epoch %"
		    PRIu64 "\n", path, (unsigned long long)l->epoch, *set);
		rc = EX_DATAERR;
	}
	ledger_free(l);
	free(path);
	return rc;
}

/*
 * Verifies the plans under dir.  Prints each violation and a summary line
 * (unless quiet).  Returns 0 when all holds, 1 on violations, or a
 * sysexits.h code when the directory cannot be read.  The plans are read
 * with the states and manifests they were made from, kept with the set:
 * verify is right between the agents' reports and the next run.  Plans
 * expired by the newest plan's issue are passed over.
 */
static int
verify_master(const char *dir, int quiet)
{
	struct vctx v = { NULL, 0, quiet, dir, { 0 }, NULL, 0 };
	struct topology *t;
	struct plan **plans = NULL;
	size_t nplans = 0, i, nops = 0;
	uint64_t newest = 0, set;
	time_t now = 0;
	double *use, worst;
	long worst_r;
	char *pdir;
	int rc;

	if ((rc = check_set(dir, &set)) != 0)
		return rc;
	rc = set != 0 ? master_load_set(dir, set, &v.m) : master_load(dir,
	    &v.m, 0);
	if (rc != 0)
		return rc;
	t = v.m->topology;
	timing_init(&v.timing, v.m->fileset->nfiles);
	pdir = set != 0 ? xasprintf("%s/epochs/%" PRIu64 "/plans", dir, set) :
	    xasprintf("%s/plans", dir);
	rc = load_plans(&v, pdir, &plans, &nplans);
	free(pdir);
	if (rc != 0)
		goto out;
	for (i = 0; i < nplans; i++) {
		if (plans[i]->epoch > newest)
			newest = plans[i]->epoch;
		if (plans[i]->issued > now)
			now = plans[i]->issued;
	}
	use = xcalloc(t->nresources, sizeof(double));
	for (i = 0; i < nplans; i++)
		if (plans[i]->expires > now)
			nops += check_plan(&v, plans[i],
			    plans[i]->epoch == newest, use);
	check_timing(&v);
	check_fallbacks(&v, plans, nplans, newest);
	worst_r = check_capacities(&v, use, &worst);
	free(use);
	if (!quiet) {
		printf("sluice-plan verify: %s: epoch %llu, %zu plans, %zu ops",
		    dir, (unsigned long long)newest, nplans, nops);
		if (worst_r >= 0)
			printf(", busiest %s at %.1f%%",
			    t->resources[worst_r].id, 100 * worst);
		if (v.violations == 0)
			printf(": ok\n");
		else
			printf(": %zu violation(s)\n", v.violations);
	}
	rc = v.violations ? 1 : 0;
out:
	for (i = 0; i < nplans; i++)
		plan_free(plans[i]);
	free(plans);
	timing_free(&v.timing);
	free(v.timed);
	master_free(v.m);
	return rc;
}

int
cmd_verify(int argc, char **argv)
{
	const char *dir = NULL;
	int ch, quiet = 1;

	while ((ch = getopt(argc, argv, "d:v")) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'v':
			quiet = 0;
			break;
		default:
			dir = NULL;
			optind = argc + 1;
			break;
		}
	}
	if (dir == NULL || optind != argc) {
		fprintf(stderr, "usage: sluice-plan verify -d DIR [-v]\n");
		return EX_USAGE;
	}
	return verify_master(dir, quiet);
}
