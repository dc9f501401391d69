/*
 * ledger.c: the planner's durable memory, MASTER_DIR/ledger.yaml: the epoch,
 * failure counts and failed components, the last report counted for each
 * host, and the resource picture the last run planned with; and the
 * failure accounting that keeps it: each new state's failures counted
 * against their components, successes forgiving them.
 */
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "planner.h"

/* "horizon" and "ahead" were an earlier version's look-ahead: read past. */
static const char *const ledger_keys[] = { "epoch", "issued", "method",
	"components", "reports", "picture", "changes", "horizon", "ahead",
	NULL };
static const char *const count_keys[] = { "name", "count", "hard",
	"failed", "since", "reason", NULL };
static const char *const report_keys[] = { "host", "epoch", "time", NULL };
static const char *const picture_keys[] = { "resource", "capacity", NULL };

void
ledger_free(struct ledger *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->ncounts; i++) {
		free(l->counts[i].component);
		free(l->counts[i].reason);
	}
	for (i = 0; i < l->nreports; i++)
		free(l->reports[i].host);
	for (i = 0; i < l->npicture; i++)
		free(l->picture[i].resource);
	for (i = 0; i < l->nchanges; i++)
		free(l->changes[i]);
	free(l->counts);
	free(l->reports);
	free(l->picture);
	free(l->changes);
	free(l->method);
	free(l);
}

static int
parse_counts(struct yctx *c, struct ledger *l, const struct ynode *list)
{
	size_t i;
	int rc;

	if ((rc = yseq_check(c, list, "components")) != 0)
		return rc;
	l->counts = xcalloc(list->nkids, sizeof(*l->counts));
	for (i = 0; i < list->nkids; i++) {
		const struct ynode *n = list->kids[i];
		struct ledger_count *lc = &l->counts[l->ncounts++];

		uint64_t count = 0, hard = 0;

		if ((rc = ymap_check(c, n, "component", count_keys)) != 0 ||
		    (rc = yreq_string(c, n, "component", "name",
		    &lc->component)) != 0 ||
		    (rc = yopt_u64(c, n, "count", &count)) != 0 ||
		    (rc = yopt_u64(c, n, "hard", &hard)) != 0 ||
		    (rc = yopt_u64(c, n, "failed", &lc->failed_epoch)) != 0 ||
		    (rc = yopt_time(c, n, "since", &lc->failed_time)) != 0 ||
		    (rc = yopt_string(c, n, "reason", &lc->reason)) != 0)
			return rc;
		lc->count = count > 1000000 ? 1000000 : (unsigned)count;
		lc->hard = hard > 1000000 ? 1000000 : (unsigned)hard;
	}
	return 0;
}

static int
parse_reports(struct yctx *c, struct ledger *l, const struct ynode *list)
{
	size_t i;
	int rc;

	if ((rc = yseq_check(c, list, "reports")) != 0)
		return rc;
	l->reports = xcalloc(list->nkids, sizeof(*l->reports));
	for (i = 0; i < list->nkids; i++) {
		const struct ynode *n = list->kids[i];
		struct ledger_report *r = &l->reports[l->nreports++];

		if ((rc = ymap_check(c, n, "report", report_keys)) != 0 ||
		    (rc = yreq_name(c, n, "report", "host", &r->host)) != 0 ||
		    (rc = yopt_u64(c, n, "epoch", &r->epoch)) != 0 ||
		    (rc = yopt_time(c, n, "time", &r->time)) != 0)
			return rc;
	}
	return 0;
}

static int
parse_picture(struct yctx *c, struct ledger *l, const struct ynode *list)
{
	size_t i;
	int rc;

	if ((rc = yseq_check(c, list, "picture")) != 0)
		return rc;
	l->picture = xcalloc(list->nkids, sizeof(*l->picture));
	for (i = 0; i < list->nkids; i++) {
		const struct ynode *n = list->kids[i];
		struct ledger_capacity *p = &l->picture[l->npicture++];

		p->capacity = CAP_UNLIMITED;
		if ((rc = ymap_check(c, n, "resource", picture_keys)) != 0 ||
		    (rc = yreq_string(c, n, "resource", "resource",
		    &p->resource)) != 0 ||
		    (rc = yopt_number(c, n, "capacity", &p->capacity)) != 0)
			return rc;
	}
	return 0;
}

/*
 * Loads the ledger at path.  A missing ledger is a fresh one (epoch 0).
 * Returns a sysexits.h code; *out is owned by the caller.
 */
int
ledger_load(const char *path, struct ledger **out, struct diag *d)
{
	struct yctx c = { path, d };
	struct ynode *root = NULL;
	struct ledger *l = xcalloc(1, sizeof(*l));
	const struct ynode *v;
	size_t i;
	int rc;

	*out = NULL;
	rc = ydoc_load(path, &root, d);
	if (rc == EX_NOINPUT) {
		*out = l;
		return 0;
	}
	if (rc != 0)
		goto fail;
	if (root == NULL) {
		rc = yerr(&c, NULL, "empty ledger");
		goto fail;
	}
	if ((rc = ymap_check(&c, root, "ledger", ledger_keys)) != 0 ||
	    (rc = yopt_u64(&c, root, "epoch", &l->epoch)) != 0 ||
	    (rc = yopt_time(&c, root, "issued", &l->issued)) != 0 ||
	    (rc = yopt_name(&c, root, "method", &l->method)) != 0)
		goto fail;
	if ((v = ymap_get(root, "components")) != NULL &&
	    (rc = parse_counts(&c, l, v)) != 0)
		goto fail;
	if ((v = ymap_get(root, "reports")) != NULL &&
	    (rc = parse_reports(&c, l, v)) != 0)
		goto fail;
	if ((v = ymap_get(root, "picture")) != NULL &&
	    (rc = parse_picture(&c, l, v)) != 0)
		goto fail;
	if ((v = ymap_get(root, "changes")) != NULL) {
		if ((rc = yseq_check(&c, v, "changes")) != 0)
			goto fail;
		l->changes = xcalloc(v->nkids, sizeof(char *));
		for (i = 0; i < v->nkids; i++) {
			if ((rc = yget_string(&c, v->kids[i], "change",
			    &l->changes[l->nchanges])) != 0)
				goto fail;
			l->nchanges++;
		}
	}
	ynode_free(root);
	*out = l;
	return 0;
fail:
	ynode_free(root);
	ledger_free(l);
	return rc;
}

/* Returns the ledger as YAML text, owned by the caller, or NULL. */
char *
ledger_format(const struct ledger *l, size_t *len)
{
	struct yout *y = yout_new();
	size_t i;

	yout_map(y, 0);
	yout_key_u64(y, "epoch", l->epoch);
	yout_str(y, "issued");
	yout_time(y, l->issued);
	if (l->method != NULL)
		yout_key_str(y, "method", l->method);
	yout_str(y, "components");
	yout_seq(y, 0);
	for (i = 0; i < l->ncounts; i++) {
		const struct ledger_count *lc = &l->counts[i];

		if (lc->count == 0 && lc->hard == 0 && lc->failed_epoch == 0)
			continue;
		yout_map(y, 1);
		yout_key_str(y, "name", lc->component);
		yout_key_u64(y, "count", lc->count);
		if (lc->hard != 0)
			yout_key_u64(y, "hard", lc->hard);
		if (lc->failed_epoch != 0) {
			yout_key_u64(y, "failed", lc->failed_epoch);
			yout_str(y, "since");
			yout_time(y, lc->failed_time);
			if (lc->reason != NULL) {
				yout_str(y, "reason");
				yout_quoted(y, lc->reason);
			}
		}
		yout_end_map(y);
	}
	yout_end_seq(y);
	yout_str(y, "reports");
	yout_seq(y, 0);
	for (i = 0; i < l->nreports; i++) {
		yout_map(y, 1);
		yout_key_str(y, "host", l->reports[i].host);
		yout_key_u64(y, "epoch", l->reports[i].epoch);
		yout_str(y, "time");
		yout_time(y, l->reports[i].time);
		yout_end_map(y);
	}
	yout_end_seq(y);
	yout_str(y, "picture");
	yout_seq(y, 0);
	for (i = 0; i < l->npicture; i++) {
		yout_map(y, 1);
		yout_key_str(y, "resource", l->picture[i].resource);
		if (l->picture[i].capacity >= 0) {
			yout_str(y, "capacity");
			yout_number(y, l->picture[i].capacity);
		}
		yout_end_map(y);
	}
	yout_end_seq(y);
	yout_str(y, "changes");
	yout_seq(y, 0);
	for (i = 0; i < l->nchanges; i++)
		yout_quoted(y, l->changes[i]);
	yout_end_seq(y);
	yout_end_map(y);
	return yout_finish(y, len);
}

/* The count record of a component; created when asked, else NULL. */
struct ledger_count *
ledger_component(struct ledger *l, const char *name, int create)
{
	size_t i;

	for (i = 0; i < l->ncounts; i++)
		if (strcmp(l->counts[i].component, name) == 0)
			return &l->counts[i];
	if (!create)
		return NULL;
	l->counts = xreallocarray(l->counts, l->ncounts + 1,
	    sizeof(*l->counts));
	memset(&l->counts[l->ncounts], 0, sizeof(*l->counts));
	l->counts[l->ncounts].component = xstrdup(name);
	return &l->counts[l->ncounts++];
}

/* Returns 1 when the component is marked failed. */
int
ledger_failed(const struct ledger *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->ncounts; i++)
		if (strcmp(l->counts[i].component, name) == 0)
			return l->counts[i].failed_epoch != 0;
	return 0;
}

/*
 * Counts one failure against a component; marks it failed when its
 * failures reach the threshold.  Hard failures (a block that does not
 * match, data missing, a key refused or changed) are evidence that a
 * later success elsewhere does not undo; transient ones are reset by it.
 */
void
ledger_blame(struct ledger *l, const char *name, uint64_t epoch, time_t now,
    unsigned threshold, int hard, const char *reason)
{
	struct ledger_count *lc = ledger_component(l, name, 1);

	if (hard && lc->hard < 1000000)
		lc->hard++;
	else if (!hard && lc->count < 1000000)
		lc->count++;
	if (lc->count + lc->hard >= threshold && lc->failed_epoch == 0) {
		lc->failed_epoch = epoch;
		lc->failed_time = now;
		free(lc->reason);
		lc->reason = xstrdup(reason);
		ledger_add_change(l, "%s failed: %s", name, reason);
	}
}

/* A transfer through the component succeeded: transient failures are
 * forgiven. */
void
ledger_absolve(struct ledger *l, const char *name)
{
	struct ledger_count *lc = ledger_component(l, name, 0);

	if (lc != NULL && lc->failed_epoch == 0)
		lc->count = 0;
}

struct ledger_report *
ledger_report(struct ledger *l, const char *host, int create)
{
	size_t i;

	for (i = 0; i < l->nreports; i++)
		if (strcmp(l->reports[i].host, host) == 0)
			return &l->reports[i];
	if (!create)
		return NULL;
	l->reports = xreallocarray(l->reports, l->nreports + 1,
	    sizeof(*l->reports));
	memset(&l->reports[l->nreports], 0, sizeof(*l->reports));
	l->reports[l->nreports].host = xstrdup(host);
	return &l->reports[l->nreports++];
}

void
ledger_add_change(struct ledger *l, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	l->changes = xreallocarray(l->changes, l->nchanges + 1,
	    sizeof(char *));
	l->changes[l->nchanges++] = xstrdup(buf);
}

/* Loads DIR/ledger.yaml, reporting a broken one; returns sysexits. */
int
master_ledger(const char *dir, struct ledger **out)
{
	struct diag d = { "" };
	char *path = xasprintf("%s/ledger.yaml", dir);
	int rc;

	if ((rc = ledger_load(path, out, &d)) != 0)
		fprintf(stderr, "%s\n", d.msg);
	free(path);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Failure accounting: the ledger from the reports                     */

/* Calls fn for every component an op's route may blame. */
static void
op_components(struct topology *t, size_t src, size_t dst,
    void (*fn)(void *, const char *), void *arg)
{
	size_t links[ROUTE_MAX];
	char buf[300];
	int n, i;

	snprintf(buf, sizeof(buf), "host:%s", t->hosts[src].name);
	fn(arg, buf);
	if (t->hosts[src].site == t->hosts[dst].site)
		return;
	snprintf(buf, sizeof(buf), "site:%s", t->sites[t->hosts[src].site].name);
	fn(arg, buf);
	snprintf(buf, sizeof(buf), "site:%s", t->sites[t->hosts[dst].site].name);
	fn(arg, buf);
	n = route_sites(t, t->hosts[src].site, t->hosts[dst].site, links,
	    ROUTE_MAX);
	for (i = 0; i < n; i++) {
		snprintf(buf, sizeof(buf), "link:%s",
		    t->links[t->resources[links[i]].owner].name);
		fn(arg, buf);
	}
}

static void
absolve_cb(void *arg, const char *component)
{
	ledger_absolve(arg, component);
}

/* Counts the failures of a new report, and the successes of its plan. */
static void
count_report(struct master *m, struct ledger *l, size_t h,
    const struct plan *old, uint64_t epoch, time_t now)
{
	struct topology *t = m->topology;
	const struct state *s = m->states[h];
	size_t i, j, k;

	for (i = 0; i < s->nfailures; i++) {
		const struct failure *f = &s->failures[i];
		char reason[512];

		snprintf(reason, sizeof(reason), "%s%s%s (op %s, reported by "
		    "%s)", failure_class_name(f->class), f->detail ? ": " : "",
		    f->detail ? f->detail : "", f->op, t->hosts[h].name);
		for (j = 0; j < f->ncomponents; j++) {
			/* Once per report, however many ops it blames. */
			for (k = 0; k < i; k++) {
				size_t c;

				for (c = 0; c < s->failures[k].ncomponents; c++)
					if (strcmp(s->failures[k].components[c],
					    f->components[j]) == 0)
						break;
				if (c < s->failures[k].ncomponents)
					break;
			}
			if (k < i)
				continue;
			for (k = 0; k < j; k++)
				if (strcmp(f->components[k],
				    f->components[j]) == 0)
					break;
			if (k == j)
				ledger_blame(l, f->components[j], epoch, now,
				    t->failure_threshold, f->class == FAIL_CHECKSUM ||
				    f->class == FAIL_MISSING || f->class ==
				    FAIL_AUTH || f->class == FAIL_HOSTKEY, reason);
		}
	}
	if (old == NULL || s->epoch < old->epoch)
		return;
	for (i = 0; i < old->nops; i++) {
		const struct op *o = &old->ops[i];
		long src = topology_host(t, o->source.host);

		if (src < 0 || state_length(s, o->file, o->version) <
		    o->offset + o->length)
			continue;
		for (j = 0; j < s->nfailures; j++)
			if (strcmp(s->failures[j].op, o->id) == 0)
				break;
		if (j == s->nfailures)
			op_components(t, (size_t)src, h, absolve_cb, l);
	}
}

/* Gives failed components another chance after LEDGER_RETRY_EPOCHS. */
static void
retry_failed(struct ledger *l, uint64_t epoch)
{
	size_t i;

	for (i = 0; i < l->ncounts; i++) {
		struct ledger_count *c = &l->counts[i];

		if (c->failed_epoch == 0 ||
		    epoch - c->failed_epoch < LEDGER_RETRY_EPOCHS)
			continue;
		ledger_add_change(l, "%s tried again after %d rounds",
		    c->component, LEDGER_RETRY_EPOCHS);
		c->failed_epoch = 0;
		c->failed_time = 0;
		c->count = 0;
		c->hard = 0;
		free(c->reason);
		c->reason = NULL;
	}
}

/* Blocks what failed: sites and links for routes, hosts as sources. */
/* Records the resource picture and what changed in it since last run. */
static void
update_picture(struct ledger *l, const struct topology *t, char *changed)
{
	struct ledger_capacity *pic = xcalloc(t->nresources, sizeof(*pic));
	size_t i, j;
	char a[32], b[32];

	for (i = 0; i < t->nresources; i++) {
		const struct resource *r = &t->resources[t->resource_order[i]];

		pic[i].resource = xstrdup(r->id);
		pic[i].capacity = r->capacity;
	}
	if (l->npicture > 0)
		for (i = 0; i < t->nresources; i++) {
			for (j = 0; j < l->npicture; j++)
				if (strcmp(l->picture[j].resource,
				    pic[i].resource) == 0)
					break;
			if (j == l->npicture) {
				ledger_add_change(l, "%s is new",
				    pic[i].resource);
				changed[t->resource_order[i]] = 1;
				continue;
			}
			if (l->picture[j].capacity == pic[i].capacity)
				continue;
			changed[t->resource_order[i]] = 1;
			unit_format_bandwidth(a, sizeof(a),
			    l->picture[j].capacity);
			unit_format_bandwidth(b, sizeof(b), pic[i].capacity);
			ledger_add_change(l, "%s capacity %s -> %s",
			    pic[i].resource, l->picture[j].capacity < 0 ?
			    "unlimited" : a, pic[i].capacity < 0 ? "unlimited" :
			    b);
		}
	for (i = 0; i < l->npicture; i++)
		free(l->picture[i].resource);
	free(l->picture);
	l->picture = pic;
	l->npicture = t->nresources;
}


/*
 * Brings the ledger up to a new run: clears the changes of the last one,
 * counts the failures and successes of every state not counted yet (old
 * holds each host's current plan, or NULL), gives components failed long
 * enough another chance, and records the resource picture.  changed[r]
 * is set for every resource whose capacity differs from the last run's.
 */
void
ledger_update(struct ledger *l, struct master *m, struct plan **old,
    uint64_t epoch, time_t now, char *changed)
{
	struct topology *t = m->topology;
	size_t h, i;

	for (i = 0; i < l->nchanges; i++)
		free(l->changes[i]);
	l->nchanges = 0;
	for (h = 0; h < t->nhosts; h++) {
		const struct state *st = m->states[h];
		struct ledger_report *rep;

		if (st == NULL)
			continue;
		rep = ledger_report(l, t->hosts[h].name, 1);
		if (rep->epoch == st->epoch && rep->time == st->time &&
		    (rep->epoch != 0 || rep->time != 0))
			continue;
		count_report(m, l, h, old[h], epoch, now);
		rep->epoch = st->epoch;
		rep->time = st->time;
	}
	retry_failed(l, epoch);
	update_picture(l, t, changed);
}
