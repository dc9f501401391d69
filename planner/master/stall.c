/*
 * stall.c: what no round can move, and why.  A target that lacks part of
 * a published version is stalled when no usable host (not failed, its
 * state readable) holds more of it than the target does, or when no
 * chain of usable routes, through sites that take the version, reaches
 * the target's site from one that holds some.  A version without a
 * manifest waits on its generator.  check, run and status name each,
 * by file and reason, with the hosts it holds up.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "master.h"

/* Hosts named in a stall's line; the rest are counted. */
#define STALL_NAMED 3

struct group {
	char		*why;
	size_t		 n;
	size_t		 named[STALL_NAMED];
};

struct finder {
	struct master	*m;
	struct ledger	*l;
	char		*usable;	/* per host: may serve */
	char		*blocked;	/* per resource: of a failed component */
	char		*relay;		/* per site: holds or takes the file */
	size_t		*queue;		/* sites that relay, in order reached */
	size_t		 nqueue;
	struct group	*groups;
	size_t		 ngroups;
	struct stall	*out;
	size_t		 nout;
};

/* Host h's name with why it may not serve: failed, or its state
 * unreadable. */
static char *
unusable(const struct finder *fd, size_t h)
{
	const struct topology *t = fd->m->topology;
	char comp[300];
	struct ledger_count *c;

	if (fd->m->stale[h] && fd->m->states[h] == NULL)
		return xasprintf("%s (its state is unreadable)",
		    t->hosts[h].name);
	snprintf(comp, sizeof(comp), "host:%s", t->hosts[h].name);
	c = fd->l != NULL ? ledger_component(fd->l, comp, 0) : NULL;
	if (c != NULL && c->failed_epoch != 0)
		return xasprintf("%s (failed; tried again by the run of epoch "
		    "%" PRIu64 ")", t->hosts[h].name, c->retry_epoch);
	return xstrdup(t->hosts[h].name);
}

/* Why no usable host holds more of file f than have: who does. */
static char *
holders_why(const struct finder *fd, size_t f, uint64_t have)
{
	const struct topology *t = fd->m->topology;
	char *why = xstrdup("no usable host holds more of it; held by "), *s,
	    *one;
	size_t h, n = 0;

	for (h = 0; h < t->nhosts; h++) {
		if (master_length(fd->m, h, f) <= have)
			continue;
		if (n++ >= STALL_NAMED)
			continue;
		one = unusable(fd, h);
		s = xasprintf("%s%s%s", why, n > 1 ? ", " : "", one);
		free(one);
		free(why);
		why = s;
	}
	if (n > STALL_NAMED) {
		s = xasprintf("%s and %zu more", why, n - STALL_NAMED);
		free(why);
		why = s;
	}
	if (n == 0) {
		free(why);
		why = xstrdup("no host holds more of it");
	}
	return why;
}

/* Whether a copy from site x to site y has a route of usable
 * resources; with why, the reason when it has not. */
static int
route_ok(const struct finder *fd, size_t x, size_t y, char **why)
{
	struct topology *t = fd->m->topology;
	size_t res[ROUTE_MAX];
	int n, i;

	n = route_resources(t, t->sites[x].hosts[0], t->sites[y].hosts[0],
	    res, ROUTE_MAX);
	if (n < 0) {
		if (why != NULL)
			*why = xasprintf("no link path joins site %s to site "
			    "%s", t->sites[y].name, t->sites[x].name);
		return 0;
	}
	for (i = 0; i < n; i++)
		if (fd->blocked[res[i]]) {
			const char *id = t->resources[res[i]].id;
			const char *end = strchr(strchr(id, ':') + 1, ':');

			if (why != NULL)
				*why = xasprintf("no usable route reaches site "
				    "%s: from site %s it crosses %.*s, failed",
				    t->sites[y].name, t->sites[x].name,
				    (int)(end ? end - id : (long)strlen(id)),
				    id);
			return 0;
		}
	return 1;
}

/* Whether site y takes file f: a usable host there wants or holds it. */
static int
site_takes(const struct finder *fd, size_t y, size_t f)
{
	const struct topology *t = fd->m->topology;
	const struct file *fl = &fd->m->fileset->files[f];
	size_t j, h;

	for (j = 0; j < t->sites[y].nhosts; j++) {
		h = t->sites[y].hosts[j];
		if (fd->usable[h] && (fileset_targets(t, fl, h) ||
		    master_length(fd->m, h, f) > 0))
			return 1;
	}
	return 0;
}

/* The sites file f can reach: from those that hold some, through those
 * that take it, over usable routes.  reached[y] set for each. */
static void
reach(struct finder *fd, size_t f, char *reached)
{
	const struct topology *t = fd->m->topology;
	size_t h, q, y;

	memset(fd->relay, 0, t->nsites);
	memset(reached, 0, t->nsites);
	fd->nqueue = 0;
	for (h = 0; h < t->nhosts; h++) {
		size_t s = t->hosts[h].site;

		if (fd->usable[h] && !fd->relay[s] &&
		    master_length(fd->m, h, f) > 0) {
			fd->relay[s] = reached[s] = 1;
			fd->queue[fd->nqueue++] = s;
		}
	}
	for (q = 0; q < fd->nqueue; q++)
		for (y = 0; y < t->nsites; y++) {
			if (reached[y] || t->sites[y].nhosts == 0 ||
			    !route_ok(fd, fd->queue[q], y, NULL))
				continue;
			reached[y] = 1;
			if (site_takes(fd, y, f)) {
				fd->relay[y] = 1;
				fd->queue[fd->nqueue++] = y;
			}
		}
}

/* Why no route reaches site y: from the first site that relays. */
static char *
route_why(const struct finder *fd, size_t y)
{
	char *why = NULL;
	size_t q;

	for (q = 0; q < fd->nqueue; q++)
		if (!route_ok(fd, fd->queue[q], y, &why))
			return why;
	return xstrdup("no usable route reaches it");
}

/* Counts host h under reason why (taken). */
static void
group_add(struct finder *fd, char *why, size_t h)
{
	struct group *g;
	size_t i;

	for (i = 0; i < fd->ngroups; i++)
		if (strcmp(fd->groups[i].why, why) == 0)
			break;
	if (i == fd->ngroups) {
		fd->groups = xreallocarray(fd->groups, fd->ngroups + 1,
		    sizeof(*fd->groups));
		g = &fd->groups[fd->ngroups++];
		memset(g, 0, sizeof(*g));
		g->why = why;
	} else {
		g = &fd->groups[i];
		free(why);
	}
	if (g->n < STALL_NAMED)
		g->named[g->n] = h;
	g->n++;
}

static void
stall_add(struct finder *fd, char *key, char *line)
{
	fd->out = xreallocarray(fd->out, fd->nout + 1, sizeof(*fd->out));
	fd->out[fd->nout].key = key;
	fd->out[fd->nout++].line = line;
}

/* The groups of file f become stalls. */
static void
groups_flush(struct finder *fd, size_t f)
{
	const struct topology *t = fd->m->topology;
	const struct file *fl = &fd->m->fileset->files[f];
	char names[STALL_NAMED * 258 + 32];	/* names are 255 at most */
	size_t i, j;
	int at;

	for (i = 0; i < fd->ngroups; i++) {
		struct group *g = &fd->groups[i];

		for (at = 0, j = 0; j < g->n && j < STALL_NAMED; j++)
			at += snprintf(names + at, sizeof(names) - (size_t)at,
			    "%s%s", j ? ", " : "", t->hosts[g->named[j]].name);
		if (g->n > STALL_NAMED)
			snprintf(names + at, sizeof(names) - (size_t)at,
			    " and %zu more", g->n - STALL_NAMED);
		stall_add(fd, xasprintf("%s@%" PRIu64 ": %s", fl->name,
		    fl->version, g->why), xasprintf("%s@%" PRIu64 ": %zu "
		    "host%s cannot get it (%s): %s", fl->name, fl->version,
		    g->n, g->n == 1 ? "" : "s", names, g->why));
		free(g->why);
	}
	fd->ngroups = 0;
}

/*
 * Finds what no round can move with the ledger l (NULL: nothing failed).
 * Returns the stalls, *n of them, owned by the caller (stalls_free()).
 */
struct stall *
stalls_find(struct master *m, struct ledger *l, size_t *n)
{
	struct topology *t = m->topology;
	const struct fileset *fs = m->fileset;
	struct finder fd;
	char *reached, *last_why = NULL, **site_why;
	uint64_t last_have;
	size_t f, h;

	memset(&fd, 0, sizeof(fd));
	fd.m = m;
	fd.l = l;
	fd.usable = xcalloc(t->nhosts ? t->nhosts : 1, 1);
	memset(fd.usable, 1, t->nhosts);
	fd.blocked = xcalloc(t->nresources ? t->nresources : 1, 1);
	if (l != NULL)
		ledger_apply(l, t, fd.usable, fd.blocked);
	for (h = 0; h < t->nhosts; h++)
		if (m->stale[h] && m->states[h] == NULL)
			fd.usable[h] = 0;
	fd.relay = xcalloc(t->nsites ? t->nsites : 1, 1);
	fd.queue = xcalloc(t->nsites ? t->nsites : 1, sizeof(size_t));
	reached = xcalloc(t->nsites ? t->nsites : 1, 1);
	site_why = xcalloc(t->nsites ? t->nsites : 1, sizeof(char *));
	for (f = 0; f < fs->nfiles; f++) {
		const struct file *fl = &fs->files[f];
		const struct manifest *man = m->manifests[f];
		uint64_t best = 0, have;
		size_t waiting = 0;

		for (h = 0; h < t->nhosts; h++)
			if (fd.usable[h] && master_length(m, h, f) > best)
				best = master_length(m, h, f);
		if (man == NULL) {
			for (h = 0; h < t->nhosts; h++)
				waiting += h != fl->generator &&
				    fileset_targets(t, fl, h);
			if (waiting > 0)
				stall_add(&fd, xasprintf("%s@%" PRIu64 ": no "
				    "manifest", fl->name, fl->version),
				    xasprintf("%s@%" PRIu64 ": no manifest "
				    "yet: its generator %s has not published "
				    "it; %zu host%s for it", fl->name,
				    fl->version, t->hosts[fl->generator].name,
				    waiting, waiting == 1 ? " waits" :
				    "s wait"));
			continue;
		}
		reach(&fd, f, reached);
		last_have = UINT64_MAX;
		for (h = 0; h < t->nhosts; h++) {
			if (h == fl->generator || (m->stale[h] &&
			    m->states[h] == NULL) ||
			    !fileset_targets(t, fl, h) ||
			    (have = master_length(m, h, f)) >= man->length)
				continue;
			if (have >= best) {
				/* Hosts that hold as much share the reason:
				 * found once (a scan of every host). */
				if (have != last_have) {
					free(last_why);
					last_why = holders_why(&fd, f, have);
					last_have = have;
				}
				group_add(&fd, xstrdup(last_why), h);
			} else if (!reached[t->hosts[h].site]) {
				size_t y = t->hosts[h].site;

				if (site_why[y] == NULL)
					site_why[y] = route_why(&fd, y);
				group_add(&fd, xstrdup(site_why[y]), h);
			}
		}
		for (h = 0; h < t->nsites; h++) {
			free(site_why[h]);
			site_why[h] = NULL;
		}
		groups_flush(&fd, f);
	}
	free(last_why);
	free(site_why);
	free(reached);
	free(fd.usable);
	free(fd.blocked);
	free(fd.relay);
	free(fd.queue);
	free(fd.groups);
	*n = fd.nout;
	return fd.out;
}

void
stalls_free(struct stall *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(s[i].key);
		free(s[i].line);
	}
	free(s);
}

/*
 * For run: says on standard error each stall that the run before did not
 * (its key not in the ledger), and keeps the keys of these in the ledger,
 * so that cron mails a stall when it begins, not every round.
 */
void
stalls_note(struct master *m, struct ledger *l)
{
	size_t n, i, j;
	struct stall *s = stalls_find(m, l, &n);
	char **keys = xcalloc(n ? n : 1, sizeof(char *));

	for (i = 0; i < n; i++) {
		for (j = 0; j < l->nstalled; j++)
			if (strcmp(l->stalled[j], s[i].key) == 0)
				break;
		if (j == l->nstalled)
			warnx_("stalled: %s", s[i].line);
		keys[i] = s[i].key;
		s[i].key = NULL;
	}
	for (j = 0; j < l->nstalled; j++)
		free(l->stalled[j]);
	free(l->stalled);
	l->stalled = keys;
	l->nstalled = n;
	stalls_free(s, n);
}
