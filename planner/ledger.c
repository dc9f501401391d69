/*
 * ledger.c: the planner's durable memory, MASTER_DIR/ledger.yaml: the epoch,
 * failure counts and failed components, the last report counted for each
 * host, and the resource picture the last run planned with.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "planner.h"

static const char *const ledger_keys[] = { "epoch", "issued", "method",
	"components", "reports", "picture", "changes", "horizon", "ahead",
	NULL };
static const char *const ahead_keys[] = { "round", "host", "file",
	"version", "source", "bytes", NULL };
static const char *const count_keys[] = { "name", "count", "hard",
	"failed", "since", "reason", NULL };
static const char *const report_keys[] = { "host", "epoch", "time", NULL };
static const char *const picture_keys[] = { "resource", "capacity", NULL };

void
ledger_clear_ahead(struct ledger *l)
{
	size_t i;

	for (i = 0; i < l->nahead; i++) {
		free(l->ahead[i].host);
		free(l->ahead[i].file);
		free(l->ahead[i].source);
	}
	free(l->ahead);
	l->ahead = NULL;
	l->nahead = 0;
}

void
ledger_free(struct ledger *l)
{
	size_t i;

	if (l == NULL)
		return;
	ledger_clear_ahead(l);
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
	const struct ynode *v;
	uint64_t u;
	size_t i;
	int rc;

	if ((rc = yseq_check(c, list, "components")) != 0)
		return rc;
	l->counts = xcalloc(list->nkids, sizeof(*l->counts));
	for (i = 0; i < list->nkids; i++) {
		const struct ynode *n = list->kids[i];
		struct ledger_count *lc = &l->counts[l->ncounts++];

		if ((rc = ymap_check(c, n, "component", count_keys)) != 0)
			return rc;
		if ((v = ymap_get(n, "name")) == NULL)
			return yerr(c, n, "component: missing 'name'");
		if ((rc = yget_string(c, v, "name", &lc->component)) != 0)
			return rc;
		if ((v = ymap_get(n, "count")) != NULL) {
			if ((rc = yget_u64(c, v, "count", &u)) != 0)
				return rc;
			lc->count = u > 1000000 ? 1000000 : (unsigned)u;
		}
		if ((v = ymap_get(n, "hard")) != NULL) {
			if ((rc = yget_u64(c, v, "hard", &u)) != 0)
				return rc;
			lc->hard = u > 1000000 ? 1000000 : (unsigned)u;
		}
		if ((v = ymap_get(n, "failed")) != NULL &&
		    (rc = yget_u64(c, v, "failed", &lc->failed_epoch)) != 0)
			return rc;
		if ((v = ymap_get(n, "since")) != NULL &&
		    (rc = yget_time(c, v, "since", &lc->failed_time)) != 0)
			return rc;
		if ((v = ymap_get(n, "reason")) != NULL &&
		    (rc = yget_string(c, v, "reason", &lc->reason)) != 0)
			return rc;
	}
	return 0;
}

static int
parse_reports(struct yctx *c, struct ledger *l, const struct ynode *list)
{
	const struct ynode *v;
	size_t i;
	int rc;

	if ((rc = yseq_check(c, list, "reports")) != 0)
		return rc;
	l->reports = xcalloc(list->nkids, sizeof(*l->reports));
	for (i = 0; i < list->nkids; i++) {
		const struct ynode *n = list->kids[i];
		struct ledger_report *r = &l->reports[l->nreports++];

		if ((rc = ymap_check(c, n, "report", report_keys)) != 0)
			return rc;
		if ((v = ymap_get(n, "host")) == NULL)
			return yerr(c, n, "report: missing 'host'");
		if ((rc = yget_name(c, v, "host", &r->host)) != 0)
			return rc;
		if ((v = ymap_get(n, "epoch")) != NULL &&
		    (rc = yget_u64(c, v, "epoch", &r->epoch)) != 0)
			return rc;
		if ((v = ymap_get(n, "time")) != NULL &&
		    (rc = yget_time(c, v, "time", &r->time)) != 0)
			return rc;
	}
	return 0;
}

static int
parse_picture(struct yctx *c, struct ledger *l, const struct ynode *list)
{
	const struct ynode *v;
	size_t i;
	int rc;

	if ((rc = yseq_check(c, list, "picture")) != 0)
		return rc;
	l->picture = xcalloc(list->nkids, sizeof(*l->picture));
	for (i = 0; i < list->nkids; i++) {
		const struct ynode *n = list->kids[i];
		struct ledger_capacity *p = &l->picture[l->npicture++];

		p->capacity = CAP_UNLIMITED;
		if ((rc = ymap_check(c, n, "resource", picture_keys)) != 0)
			return rc;
		if ((v = ymap_get(n, "resource")) == NULL)
			return yerr(c, n, "resource: missing 'resource'");
		if ((rc = yget_string(c, v, "resource", &p->resource)) != 0)
			return rc;
		if ((v = ymap_get(n, "capacity")) != NULL &&
		    (rc = yget_number(c, v, "capacity", &p->capacity)) != 0)
			return rc;
	}
	return 0;
}

static int
parse_ahead(struct yctx *c, struct ledger *l, const struct ynode *list)
{
	const struct ynode *v;
	uint64_t u;
	size_t i;
	int rc;

	if ((rc = yseq_check(c, list, "ahead")) != 0)
		return rc;
	l->ahead = xcalloc(list->nkids, sizeof(*l->ahead));
	for (i = 0; i < list->nkids; i++) {
		const struct ynode *n = list->kids[i];
		struct ledger_ahead *a = &l->ahead[l->nahead++];
		size_t k;

		if ((rc = ymap_check(c, n, "ahead", ahead_keys)) != 0)
			return rc;
		/* Every key is needed. */
		for (k = 0; ahead_keys[k] != NULL; k++)
			if (ymap_get(n, ahead_keys[k]) == NULL)
				return yerr(c, n, "ahead: missing '%s'",
				    ahead_keys[k]);
		v = ymap_get(n, "round");
		if ((rc = yget_u64(c, v, "round", &u)) != 0)
			return rc;
		if (u < 2 || u > SCHED_HORIZON_MAX)
			return yerr(c, v, "round: %llu is outside 2..%d",
			    (unsigned long long)u, SCHED_HORIZON_MAX);
		a->round = (unsigned)u;
		if ((rc = yget_name(c, ymap_get(n, "host"), "host",
		    &a->host)) != 0 ||
		    (rc = yget_string(c, ymap_get(n, "file"), "file",
		    &a->file)) != 0 ||
		    (rc = yget_u64(c, ymap_get(n, "version"), "version",
		    &a->version)) != 0 ||
		    (rc = yget_name(c, ymap_get(n, "source"), "source",
		    &a->source)) != 0 ||
		    (rc = yget_u64(c, ymap_get(n, "bytes"), "bytes",
		    &a->bytes)) != 0)
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
	if ((rc = ymap_check(&c, root, "ledger", ledger_keys)) != 0)
		goto fail;
	if ((v = ymap_get(root, "epoch")) != NULL &&
	    (rc = yget_u64(&c, v, "epoch", &l->epoch)) != 0)
		goto fail;
	if ((v = ymap_get(root, "issued")) != NULL &&
	    (rc = yget_time(&c, v, "issued", &l->issued)) != 0)
		goto fail;
	if ((v = ymap_get(root, "method")) != NULL &&
	    (rc = yget_name(&c, v, "method", &l->method)) != 0)
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
	l->horizon = 1;
	if ((v = ymap_get(root, "horizon")) != NULL) {
		uint64_t u;

		if ((rc = yget_u64(&c, v, "horizon", &u)) != 0)
			goto fail;
		if (u < 1 || u > SCHED_HORIZON_MAX) {
			rc = yerr(&c, v, "horizon: %llu is outside 1..%d",
			    (unsigned long long)u, SCHED_HORIZON_MAX);
			goto fail;
		}
		l->horizon = (unsigned)u;
	}
	if ((v = ymap_get(root, "ahead")) != NULL &&
	    (rc = parse_ahead(&c, l, v)) != 0)
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
	char *buf = NULL;
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
	if (l->horizon > 1) {
		yout_key_u64(y, "horizon", l->horizon);
		yout_str(y, "ahead");
		yout_seq(y, 0);
		for (i = 0; i < l->nahead; i++) {
			const struct ledger_ahead *a = &l->ahead[i];

			yout_map(y, 1);
			yout_key_u64(y, "round", a->round);
			yout_key_str(y, "host", a->host);
			yout_key_str(y, "file", a->file);
			yout_key_u64(y, "version", a->version);
			yout_key_str(y, "source", a->source);
			yout_key_u64(y, "bytes", a->bytes);
			yout_end_map(y);
		}
		yout_end_seq(y);
	}
	yout_end_map(y);
	if (yout_finish(y, &buf, len) != 0)
		buf = NULL;
	yout_free(y);
	return buf;
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
