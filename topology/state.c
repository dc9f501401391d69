/*
 * state.c: a host's report of what it holds (verified contiguous lengths)
 * and the failures it saw.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "topology.h"

static const char *const state_keys[] = { "host", "epoch", "time",
	"reporter", "free", "start", "report", "files", "failures", NULL };
static const char *const reporter_keys[] = { "machine", "store",
	"machine_id", NULL };
static const char *const holding_keys[] = { "name", "version", "length",
	NULL };
static const char *const failure_keys[] = { "op", "source", "components",
	"error", "detail", NULL };
static const char *const class_names[FAIL_NCLASSES] = { "connect", "auth",
	"hostkey", "timeout", "io", "checksum", "missing", "deadline",
	"nospace" };

/* Most items a state may list, a bound on memory for hostile input. */
#define STATE_MAX_ITEMS 1000000

/*
 * How long before a plan of life seconds expires its host's ops stop:
 * PLAN_REPORT_MARGIN, or where the host's last state took report
 * seconds to send from its ops' stop (a master across a WAN), that and
 * a quarter more and 0.05 s, so that its next state is in before the
 * next planning run, at most PLAN_REPORT_SHARE of the life.  The agent
 * stops them then, and the planner sizes them to it.
 */
double
plan_report_stop(double life, double report)
{
	double margin = PLAN_REPORT_MARGIN(life);

	if (!(report > 0) || !isfinite(report))
		return margin;
	return fmax(margin, fmin(PLAN_REPORT_SHARE * life,
	    1.25 * report + 0.05));
}

const char *
failure_class_name(enum failure_class c)
{
	return (unsigned)c < FAIL_NCLASSES ? class_names[c] : "io";
}

int
failure_class_parse(const char *s, enum failure_class *out)
{
	unsigned i;

	for (i = 0; i < FAIL_NCLASSES; i++)
		if (strcmp(s, class_names[i]) == 0) {
			*out = (enum failure_class)i;
			return 0;
		}
	return -1;
}

/* Frees what a failure holds (not the failure itself). */
void
failure_clear(struct failure *f)
{
	size_t i;

	free(f->op);
	free(f->source);
	for (i = 0; i < f->ncomponents; i++)
		free(f->components[i]);
	free(f->components);
	free(f->detail);
}

void
state_free(struct state *s)
{
	size_t i;

	if (s == NULL)
		return;
	free(s->host);
	free(s->machine);
	free(s->store);
	free(s->machine_id);
	for (i = 0; i < s->nfiles; i++)
		free(s->files[i].name);
	free(s->files);
	for (i = 0; i < s->nfailures; i++)
		failure_clear(&s->failures[i]);
	free(s->failures);
	free(s);
}

/* The verified length the host holds of name@version, 0 when none. */
uint64_t
state_length(const struct state *s, const char *name, uint64_t version)
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < s->nfiles; i++)
		if (s->files[i].version == version &&
		    strcmp(s->files[i].name, name) == 0)
			return s->files[i].length;
	return 0;
}

static int
component_valid(const char *s)
{
	const char *why, *rest;

	if (strncmp(s, "host:", 5) == 0 || strncmp(s, "site:", 5) == 0 ||
	    strncmp(s, "link:", 5) == 0)
		rest = s + 5;
	else
		return 0;
	return name_valid_label(rest, &why) == 0;
}

static int
parse_failure(struct yctx *c, struct failure *f, const struct ynode *n)
{
	const struct ynode *v;
	const char *why;
	size_t i;
	int rc;

	if ((rc = ymap_check(c, n, "failure", failure_keys)) != 0 ||
	    (rc = yreq_string(c, n, "failure", "op", &f->op)) != 0)
		return rc;
	if (name_valid_op_id(f->op, &why) != 0)
		return yerr(c, ymap_get(n, "op"), "op: bad id '%s': %s", f->op,
		    why);
	if ((rc = yopt_name(c, n, "source", &f->source)) != 0)
		return rc;
	if ((v = ymap_get(n, "components")) != NULL) {
		if ((rc = yseq_check(c, v, "components")) != 0)
			return rc;
		if (v->nkids > 64)
			return yerr(c, v, "components: more than 64");
		f->components = xcalloc(v->nkids, sizeof(char *));
		for (i = 0; i < v->nkids; i++) {
			if ((rc = yget_string(c, v->kids[i], "component",
			    &f->components[f->ncomponents])) != 0)
				return rc;
			f->ncomponents++;
			if (!component_valid(f->components[i]))
				return yerr(c, v->kids[i], "component: '%s' is "
				    "not host:NAME, site:NAME or link:NAME",
				    f->components[i]);
		}
	}
	if ((rc = yreq(c, n, "failure", "error", &v)) != 0 ||
	    (rc = yscalar_check(c, v, "error")) != 0)
		return rc;
	if (failure_class_parse(v->text, &f->class) != 0)
		return yerr(c, v, "error: '%s' is not one of connect, auth, "
		    "hostkey, timeout, io, checksum, missing, deadline, nospace",
		    v->text);
	return yopt_string(c, n, "detail", &f->detail);
}

/* Optional key of root, seconds from 0 to a day: *v and *has set. */
static int
opt_seconds(struct yctx *c, const struct ynode *root, const char *key,
    double *v, int *has)
{
	int rc;

	*has = ymap_get(root, key) != NULL;
	if ((rc = yopt_number(c, root, key, v)) != 0)
		return rc;
	if (*has && !(*v >= 0 && *v <= 86400))
		return yerr(c, ymap_get(root, key), "%s: must be from 0 to "
		    "86400 seconds", key);
	return 0;
}

/*
 * reporter: {machine: NAME, store: ID, machine_id: HEX}, who wrote the
 * state: the system's host name, the random id of the agent's store and,
 * where the system has one, its /etc/machine-id, so that two agents that
 * report under one host name can be told apart (cloned systems share a
 * host name, rarely a machine id, never a store).
 */
static int
parse_reporter(struct yctx *c, struct state *s, const struct ynode *n)
{
	const char *p;
	int rc;

	if (n == NULL)
		return 0;
	if ((rc = ymap_check(c, n, "reporter", reporter_keys)) != 0 ||
	    (rc = yreq_name(c, n, "reporter", "machine", &s->machine)) != 0 ||
	    (rc = yreq_name(c, n, "reporter", "store", &s->store)) != 0)
		return rc;
	for (p = s->store; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			break;
	if (*p != '\0' || p - s->store != 32)
		return yerr(c, ymap_get(n, "store"), "store: expected 32 "
		    "lowercase hexadecimal digits");
	if ((rc = yopt_name(c, n, "machine_id", &s->machine_id)) != 0)
		return rc;
	if (s->machine_id != NULL) {
		for (p = s->machine_id; *p; p++)
			if (!((*p >= '0' && *p <= '9') ||
			    (*p >= 'a' && *p <= 'f')))
				break;
		if (*p != '\0' || p - s->machine_id < 16 ||
		    p - s->machine_id > 64)
			return yerr(c, ymap_get(n, "machine_id"), "machine_id: "
			    "expected 16 to 64 lowercase hexadecimal digits");
	}
	return 0;
}

/* Builds a state from a parsed document; *out is owned by the caller. */
int
state_parse(const char *path, const struct ynode *root, struct state **out,
    struct diag *d)
{
	struct yctx c = { path, d };
	struct state *s;
	const struct ynode *files, *failures;
	struct dupkey *keys;
	size_t i;
	long dup;
	int rc;

	*out = NULL;
	s = xcalloc(1, sizeof(*s));
	if (root == NULL) {
		rc = yerr(&c, NULL, "empty state");
		goto fail;
	}
	if ((rc = ymap_check(&c, root, "state", state_keys)) != 0 ||
	    (rc = yreq_name(&c, root, "state", "host", &s->host)) != 0 ||
	    (rc = yopt_u64(&c, root, "epoch", &s->epoch)) != 0 ||
	    (rc = yopt_time(&c, root, "time", &s->time)) != 0 ||
	    (rc = parse_reporter(&c, s, ymap_get(root, "reporter"))) != 0)
		goto fail;
	s->has_free = ymap_get(root, "free") != NULL;
	if ((rc = yopt_u64(&c, root, "free", &s->free)) != 0)
		goto fail;
	if ((rc = opt_seconds(&c, root, "start", &s->start,
	    &s->has_start)) != 0 ||
	    (rc = opt_seconds(&c, root, "report", &s->report,
	    &s->has_report)) != 0)
		goto fail;
	if ((files = ymap_get(root, "files")) != NULL) {
		if ((rc = yseq_check(&c, files, "files")) != 0)
			goto fail;
		if (files->nkids > STATE_MAX_ITEMS) {
			rc = yerr(&c, files, "files: too many");
			goto fail;
		}
		s->files = xcalloc(files->nkids, sizeof(*s->files));
		for (i = 0; i < files->nkids; i++) {
			const struct ynode *f = files->kids[i];
			struct holding *h = &s->files[s->nfiles++];

			if ((rc = ymap_check(&c, f, "file", holding_keys)) != 0 ||
			    (rc = yreq_path(&c, f, "file", "name",
			    &h->name)) != 0 ||
			    (rc = yreq_u64(&c, f, "file", "version",
			    &h->version)) != 0 ||
			    (rc = yreq_u64(&c, f, "file", "length",
			    &h->length)) != 0)
				goto fail;
		}
		keys = xcalloc(s->nfiles ? s->nfiles : 1, sizeof(*keys));
		for (i = 0; i < s->nfiles; i++) {
			keys[i].name = s->files[i].name;
			keys[i].version = s->files[i].version;
			keys[i].index = i;
		}
		dup = dup_find(keys, s->nfiles);
		free(keys);
		if (dup >= 0) {
			rc = yerr(&c, files->kids[dup], "file: %s version %llu "
			    "listed twice", s->files[dup].name,
			    (unsigned long long)s->files[dup].version);
			goto fail;
		}
	}
	if ((failures = ymap_get(root, "failures")) != NULL) {
		if ((rc = yseq_check(&c, failures, "failures")) != 0)
			goto fail;
		if (failures->nkids > STATE_MAX_ITEMS) {
			rc = yerr(&c, failures, "failures: too many");
			goto fail;
		}
		s->failures = xcalloc(failures->nkids, sizeof(*s->failures));
		for (i = 0; i < failures->nkids; i++)
			if ((rc = parse_failure(&c,
			    &s->failures[s->nfailures++],
			    failures->kids[i])) != 0)
				goto fail;
	}
	*out = s;
	return 0;
fail:
	state_free(s);
	return rc;
}

int
state_load(const char *path, struct state **out, struct diag *d)
{
	struct ynode *root;
	int rc;

	*out = NULL;
	if ((rc = ydoc_load_max(path, STATE_MAX_BYTES, &root, d)) != 0)
		return rc;
	rc = state_parse(path, root, out, d);
	ynode_free(root);
	return rc;
}

/* Returns the state as YAML text, owned by the caller, or NULL. */
char *
state_format(const struct state *s, size_t *len)
{
	struct yout *y = yout_new();
	size_t i, j;

	yout_map(y, 0);
	yout_key_str(y, "host", s->host);
	yout_key_u64(y, "epoch", s->epoch);
	yout_str(y, "time");
	yout_time(y, s->time);
	if (s->machine != NULL && s->store != NULL) {
		yout_str(y, "reporter");
		yout_map(y, 1);
		yout_key_str(y, "machine", s->machine);
		yout_key_str(y, "store", s->store);
		if (s->machine_id != NULL)
			yout_key_str(y, "machine_id", s->machine_id);
		yout_end_map(y);
	}
	if (s->has_free)
		yout_key_u64(y, "free", s->free);
	if (s->has_start) {
		yout_str(y, "start");
		yout_number(y, s->start);
	}
	if (s->has_report) {
		yout_str(y, "report");
		yout_number(y, s->report);
	}
	yout_str(y, "files");
	yout_seq(y, 0);
	for (i = 0; i < s->nfiles; i++) {
		yout_map(y, 1);
		yout_key_str(y, "name", s->files[i].name);
		yout_key_u64(y, "version", s->files[i].version);
		yout_key_u64(y, "length", s->files[i].length);
		yout_end_map(y);
	}
	yout_end_seq(y);
	yout_str(y, "failures");
	yout_seq(y, 0);
	for (i = 0; i < s->nfailures; i++) {
		const struct failure *f = &s->failures[i];

		yout_map(y, 0);
		yout_key_str(y, "op", f->op);
		if (f->source != NULL)
			yout_key_str(y, "source", f->source);
		yout_str(y, "components");
		yout_seq(y, 1);
		for (j = 0; j < f->ncomponents; j++)
			yout_str(y, f->components[j]);
		yout_end_seq(y);
		yout_key_str(y, "error", failure_class_name(f->class));
		if (f->detail != NULL) {
			yout_str(y, "detail");
			yout_quoted(y, f->detail);
		}
		yout_end_map(y);
	}
	yout_end_seq(y);
	yout_end_map(y);
	return yout_finish(y, len);
}

int
state_write(const char *path, const struct state *s)
{
	size_t len = 0;
	char *text = state_format(s, &len);

	return write_formatted(path, text, len, "state");
}
