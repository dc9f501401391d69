/*
 * ledger.c: the planner's durable memory, MASTER_DIR/ledger.yaml: the epoch,
 * failure counts and failed components, the last report counted for each
 * host, and the resource picture the last run planned with; read, written
 * and looked up here.  The rules that keep its counts are in blame.c.
 */
#include <stdarg.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "master.h"

/* "horizon" and "ahead" were an earlier version's look-ahead: read past. */
static const char *const ledger_keys[] = { "epoch", "issued", "method",
	"probe", "components", "reports", "picture", "changes", "stalled",
	"horizon", "ahead", NULL };
static const char *const count_keys[] = { "name", "count", "hard",
	"failed", "since", "reason", "retry", "witness", "witnesses",
	"culprit", "culprits", "strikes", "entry", NULL };
static const char *const report_keys[] = { "host", "epoch", "time",
	"machine", "store", NULL };
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
		free(l->counts[i].witness);
		free(l->counts[i].culprit);
		free(l->counts[i].entry);
	}
	for (i = 0; i < l->nreports; i++) {
		free(l->reports[i].host);
		free(l->reports[i].machine);
		free(l->reports[i].store);
	}
	for (i = 0; i < l->npicture; i++)
		free(l->picture[i].resource);
	for (i = 0; i < l->nchanges; i++)
		free(l->changes[i]);
	for (i = 0; i < l->nstalled; i++)
		free(l->stalled[i]);
	free(l->stalled);
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

		uint64_t count = 0, hard = 0, witnesses = 0, culprits = 0;
		uint64_t strikes = 0;

		if ((rc = ymap_check(c, n, "component", count_keys)) != 0 ||
		    (rc = yreq_string(c, n, "component", "name",
		    &lc->component)) != 0 ||
		    (rc = yopt_u64(c, n, "count", &count)) != 0 ||
		    (rc = yopt_u64(c, n, "hard", &hard)) != 0 ||
		    (rc = yopt_u64(c, n, "failed", &lc->failed_epoch)) != 0 ||
		    (rc = yopt_time(c, n, "since", &lc->failed_time)) != 0 ||
		    (rc = yopt_string(c, n, "reason", &lc->reason)) != 0 ||
		    (rc = yopt_u64(c, n, "retry", &lc->retry_epoch)) != 0 ||
		    (rc = yopt_name(c, n, "witness", &lc->witness)) != 0 ||
		    (rc = yopt_u64(c, n, "witnesses", &witnesses)) != 0 ||
		    (rc = yopt_name(c, n, "culprit", &lc->culprit)) != 0 ||
		    (rc = yopt_u64(c, n, "culprits", &culprits)) != 0 ||
		    (rc = yopt_u64(c, n, "strikes", &strikes)) != 0 ||
		    (rc = yopt_string(c, n, "entry", &lc->entry)) != 0)
			return rc;
		lc->count = count > 1000000 ? 1000000 : (unsigned)count;
		lc->hard = hard > 1000000 ? 1000000 : (unsigned)hard;
		lc->witnesses = witnesses > 2 ? 2 : (unsigned)witnesses;
		lc->culprits = culprits > 2 ? 2 : (unsigned)culprits;
		lc->strikes = strikes > 1000 ? 1000 : (unsigned)strikes;
		/* A ledger from before retries were kept: twenty rounds. */
		if (lc->failed_epoch != 0 && lc->retry_epoch == 0)
			lc->retry_epoch = lc->failed_epoch +
			    LEDGER_RETRY_EPOCHS;
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
		    (rc = yopt_time(c, n, "time", &r->time)) != 0 ||
		    (rc = yopt_name(c, n, "machine", &r->machine)) != 0 ||
		    (rc = yopt_name(c, n, "store", &r->store)) != 0)
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

/* A list of texts (changes, stalled); absent is empty. */
static int
parse_texts(struct yctx *c, const struct ynode *v, const char *what,
    char ***out, size_t *n)
{
	size_t i;
	int rc;

	if (v == NULL)
		return 0;
	if ((rc = yseq_check(c, v, what)) != 0)
		return rc;
	*out = xcalloc(v->nkids ? v->nkids : 1, sizeof(char *));
	for (i = 0; i < v->nkids; i++) {
		if ((rc = yget_string(c, v->kids[i], what, &(*out)[*n])) != 0)
			return rc;
		(*n)++;
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
	    (rc = yopt_name(&c, root, "method", &l->method)) != 0 ||
	    (rc = yopt_bool(&c, root, "probe", &l->probe)) != 0)
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
	if ((rc = parse_texts(&c, ymap_get(root, "changes"), "changes",
	    &l->changes, &l->nchanges)) != 0 ||
	    (rc = parse_texts(&c, ymap_get(root, "stalled"), "stalled",
	    &l->stalled, &l->nstalled)) != 0)
		goto fail;
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
	if (l->probe) {
		yout_str(y, "probe");
		yout_bool(y, 1);
	}
	yout_str(y, "components");
	yout_seq(y, 0);
	for (i = 0; i < l->ncounts; i++) {
		const struct ledger_count *lc = &l->counts[i];

		if (lc->count == 0 && lc->hard == 0 && lc->failed_epoch == 0 &&
		    lc->strikes == 0 && lc->witness == NULL)
			continue;
		yout_map(y, 1);
		yout_key_str(y, "name", lc->component);
		yout_key_u64(y, "count", lc->count);
		if (lc->hard != 0)
			yout_key_u64(y, "hard", lc->hard);
		if (lc->witness != NULL) {
			yout_key_str(y, "witness", lc->witness);
			yout_key_u64(y, "witnesses", lc->witnesses);
		}
		if (lc->culprit != NULL) {
			yout_key_str(y, "culprit", lc->culprit);
			yout_key_u64(y, "culprits", lc->culprits);
		}
		if (lc->strikes != 0)
			yout_key_u64(y, "strikes", lc->strikes);
		if (lc->failed_epoch != 0) {
			yout_key_u64(y, "failed", lc->failed_epoch);
			yout_str(y, "since");
			yout_time(y, lc->failed_time);
			yout_key_u64(y, "retry", lc->retry_epoch);
			if (lc->reason != NULL) {
				yout_str(y, "reason");
				yout_quoted(y, lc->reason);
			}
			if (lc->entry != NULL)
				yout_key_str(y, "entry", lc->entry);
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
		if (l->reports[i].machine != NULL &&
		    l->reports[i].store != NULL) {
			yout_key_str(y, "machine", l->reports[i].machine);
			yout_key_str(y, "store", l->reports[i].store);
		}
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
	yout_str(y, "stalled");
	yout_seq(y, 0);
	for (i = 0; i < l->nstalled; i++)
		yout_quoted(y, l->stalled[i]);
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

/*
 * The report of host (made when create), or NULL.  *next (NULL: none) is
 * where to look first, and is left just past the one found: a caller
 * that asks for the hosts in the ledger's order finds each at once
 * instead of walking 10,000 reports for each.
 */
struct ledger_report *
ledger_report(struct ledger *l, const char *host, int create, size_t *next)
{
	size_t i;

	if (next != NULL && *next < l->nreports &&
	    strcmp(l->reports[*next].host, host) == 0)
		return &l->reports[(*next)++];
	for (i = 0; i < l->nreports; i++)
		if (strcmp(l->reports[i].host, host) == 0) {
			if (next != NULL)
				*next = i + 1;
			return &l->reports[i];
		}
	if (!create)
		return NULL;
	if (next != NULL)
		*next = l->nreports + 1;
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
