/*
 * export.c: status for programs.  --json writes one JSON document
 * (jansson: every string escaped by the library, none built by hand);
 * --prom FILE writes the same figures as a Prometheus textfile for
 * node_exporter's textfile collector, atomically (temporary file, fsync,
 * rename, the directory fsynced), so that the collector never reads half
 * of one.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <jansson.h>

#include "planner.h"

static const char *const health_kinds[] = { "clock", "cadence", "space" };

/* A rate or time that may be unknown (< 0): null then. */
static json_t *
maybe(double v)
{
	return v < 0 ? json_null() : json_real(v);
}

static json_t *
cell_json(const struct progress_cell *c)
{
	json_t *o = json_object();

	json_object_set_new(o, "hosts", json_integer((json_int_t)c->targets));
	json_object_set_new(o, "complete",
	    json_integer((json_int_t)c->complete));
	json_object_set_new(o, "held_bytes", json_real(c->have));
	json_object_set_new(o, "needed_bytes", json_real(c->need));
	json_object_set_new(o, "percent", json_real(c->need > 0 ? 100 *
	    c->have / c->need : 100.0));
	json_object_set_new(o, "bytes_per_second", maybe(c->rate));
	return o;
}

static json_t *
ledger_json(const struct ledger *l)
{
	json_t *o = json_object(), *failed = json_array();
	char when[32];
	size_t i;

	json_object_set_new(o, "epoch", json_integer((json_int_t)l->epoch));
	if (l->epoch > 0) {
		time_format(when, sizeof(when), l->issued);
		json_object_set_new(o, "planned", json_string(when));
		json_object_set_new(o, "method", json_string(l->method ?
		    l->method : "?"));
	}
	for (i = 0; i < l->ncounts; i++) {
		const struct ledger_count *c = &l->counts[i];
		json_t *f;

		if (c->failed_epoch == 0)
			continue;
		f = json_object();
		json_object_set_new(f, "component", json_string(c->component));
		json_object_set_new(f, "epoch",
		    json_integer((json_int_t)c->failed_epoch));
		json_object_set_new(f, "retry_epoch",
		    json_integer((json_int_t)c->retry_epoch));
		/* A peer's words, escaped by jansson. */
		json_object_set_new(f, "reason", json_string(c->reason ?
		    c->reason : ""));
		json_array_append_new(failed, f);
	}
	json_object_set_new(o, "failed_components", failed);
	return o;
}

static json_t *
files_json(const struct master *m, const struct progress *p)
{
	const struct topology *t = m->topology;
	json_t *files = json_array();
	size_t f, s;

	for (f = 0; f < p->nfiles; f++) {
		const struct file *fl = &m->fileset->files[f];
		const struct manifest *man = m->manifests[f];
		json_t *o = json_object(), *sites = json_array();

		json_object_set_new(o, "name", json_string(fl->name));
		json_object_set_new(o, "version",
		    json_integer((json_int_t)fl->version));
		json_object_set_new(o, "published_bytes", man ?
		    json_integer((json_int_t)man->length) : json_null());
		json_object_set_new(o, "final", json_boolean(man &&
		    man->final));
		json_object_update_new(o, cell_json(&p->files[f]));
		for (s = 0; s < p->nsites; s++) {
			const struct progress_cell *c =
			    &p->sites[f * p->nsites + s];
			json_t *so;

			if (c->targets == 0)
				continue;
			so = json_object();
			json_object_set_new(so, "site",
			    json_string(t->sites[s].name));
			json_object_update_new(so, cell_json(c));
			json_array_append_new(sites, so);
		}
		json_object_set_new(o, "sites", sites);
		json_array_append_new(files, o);
	}
	return files;
}

static json_t *
hosts_json(const struct master *m, const struct progress *p)
{
	const struct topology *t = m->topology;
	json_t *hosts = json_array();
	size_t h;

	for (h = 0; h < p->nhosts; h++) {
		const struct progress_host *ph = &p->hosts[h];
		json_t *o;

		if (ph->files == 0)
			continue;
		o = json_object();
		json_object_set_new(o, "host", json_string(t->hosts[h].name));
		json_object_set_new(o, "site",
		    json_string(t->sites[t->hosts[h].site].name));
		json_object_set_new(o, "files",
		    json_integer((json_int_t)ph->files));
		json_object_set_new(o, "complete",
		    json_integer((json_int_t)ph->complete));
		json_object_set_new(o, "held_bytes", json_real(ph->have));
		json_object_set_new(o, "needed_bytes", json_real(ph->need));
		json_object_set_new(o, "free_bytes", maybe(ph->free));
		json_object_set_new(o, "reported", json_boolean(
		    m->states[h] != NULL && !m->stale[h]));
		json_array_append_new(hosts, o);
	}
	return hosts;
}

/*
 * Writes status as one JSON document to out; hosts are listed always
 * (verbose is for symmetry with the text).  Returns 0, or EX_SOFTWARE
 * (out of memory) or EX_IOERR with the reason said.
 */
int
status_json(FILE *out, struct master *m, const struct ledger *l,
    const struct progress *p, int verbose)
{
	json_t *root = ledger_json(l), *a;
	struct stall *st;
	struct health *hs;
	size_t n, i;
	int rc = 0;

	(void)verbose;
	st = stalls_find(m, (struct ledger *)l, &n);
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(st[i].line));
	json_object_set_new(root, "stalled", a);
	stalls_free(st, n);
	hs = health_find(m, &n);
	a = json_array();
	for (i = 0; i < n; i++) {
		json_t *w = json_object();

		json_object_set_new(w, "kind",
		    json_string(health_kinds[hs[i].kind]));
		json_object_set_new(w, "message", json_string(hs[i].line));
		json_array_append_new(a, w);
	}
	json_object_set_new(root, "warnings", a);
	health_free(hs, n);
	json_object_set_new(root, "files", files_json(m, p));
	json_object_set_new(root, "hosts", hosts_json(m, p));
	json_object_set_new(root, "total", cell_json(&p->all));
	json_object_set_new(root, "complete", json_boolean(p->eta == 0));
	json_object_set_new(root, "window_seconds", json_real(p->window));
	json_object_set_new(root, "eta_seconds", maybe(p->eta));
	json_object_set_new(root, "bound_seconds", json_real(p->bound));
	json_object_set_new(root, "bound_reason", json_string(p->bound_why));
	if (json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
	    fputc('\n', out) == EOF || fflush(out) == EOF) {
		warnx_("status: --json: cannot write");
		rc = EX_IOERR;
	}
	json_decref(root);
	return rc;
}

/* A label value as the text format wants it: \, " and newline escaped. */
static void
prom_label(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

static void
prom_head(FILE *f, const char *name, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* One file-and-site series of every figure a cell has. */
static void
prom_cells(FILE *f, const struct master *m, const struct progress *p,
    const char *name, const char *help, int what)
{
	size_t i, s;

	prom_head(f, name, help);
	for (i = 0; i < p->nfiles; i++)
		for (s = 0; s < p->nsites; s++) {
			const struct progress_cell *c =
			    &p->sites[i * p->nsites + s];
			double v = what == 0 ? c->have : what == 1 ? c->need :
			    what == 2 ? (double)c->targets : what == 3 ?
			    (double)c->complete : c->rate;

			if (c->targets == 0 || v < 0)
				continue;
			fprintf(f, "%s{file=\"", name);
			prom_label(f, m->fileset->files[i].name);
			fprintf(f, "\",version=\"%" PRIu64 "\",site=\"",
			    m->fileset->files[i].version);
			prom_label(f, m->topology->sites[s].name);
			fprintf(f, "\"} %.17g\n", v);
		}
}

/* One series per host of held (what 0), needed (1) or free (2) bytes,
 * for hosts that must hold something; free where reported. */
static void
prom_hosts(FILE *f, const struct master *m, const struct progress *p,
    const char *name, const char *help, int what)
{
	size_t i;

	prom_head(f, name, help);
	for (i = 0; i < p->nhosts; i++) {
		const struct progress_host *h = &p->hosts[i];
		double v = what == 0 ? h->have : what == 1 ? h->need : h->free;

		if (h->files == 0 || v < 0)
			continue;
		fprintf(f, "%s{host=\"", name);
		prom_label(f, m->topology->hosts[i].name);
		fprintf(f, "\"} %.17g\n", v);
	}
}

/*
 * Writes the status figures to path as a Prometheus textfile,
 * atomically.  Returns 0, or EX_CANTCREAT with the reason said.
 */
int
status_prom(const char *path, struct master *m, const struct ledger *l,
    const struct progress *p)
{
	struct health *hs;
	struct stall *st;
	char *buf = NULL;
	size_t len = 0, n, nstall, i, kinds[3] = { 0, 0, 0 }, failed = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc = 0;

	if (f == NULL) {
		warnx_("%s: %s", path, strerror(errno));
		return EX_CANTCREAT;
	}
	for (i = 0; i < l->ncounts; i++)
		failed += l->counts[i].failed_epoch != 0;
	hs = health_find(m, &n);
	for (i = 0; i < n; i++)
		kinds[hs[i].kind]++;
	health_free(hs, n);
	st = stalls_find(m, (struct ledger *)l, &nstall);
	stalls_free(st, nstall);
	prom_head(f, "sluice_epoch", "The last planning run's epoch.");
	fprintf(f, "sluice_epoch %" PRIu64 "\n", l->epoch);
	prom_head(f, "sluice_planned_timestamp_seconds", "When the last run "
	    "planned, by the master's clock.");
	fprintf(f, "sluice_planned_timestamp_seconds %lld\n",
	    (long long)l->issued);
	prom_head(f, "sluice_failed_components", "Components failed and "
	    "routed around.");
	fprintf(f, "sluice_failed_components %zu\n", failed);
	prom_head(f, "sluice_stalled", "What no round can move.");
	fprintf(f, "sluice_stalled %zu\n", nstall);
	prom_head(f, "sluice_warnings", "Warnings by kind (sluice-plan(1) "
	    "WARNINGS).");
	for (i = 0; i < 3; i++)
		fprintf(f, "sluice_warnings{kind=\"%s\"} %zu\n",
		    health_kinds[i], kinds[i]);
	prom_cells(f, m, p, "sluice_site_held_bytes", "Bytes the site's "
	    "target hosts hold of the file, up to what is published.", 0);
	prom_cells(f, m, p, "sluice_site_needed_bytes", "Bytes published "
	    "times the site's target hosts.", 1);
	prom_cells(f, m, p, "sluice_site_hosts", "Hosts of the site that "
	    "must hold the file.", 2);
	prom_cells(f, m, p, "sluice_site_hosts_complete", "... that hold "
	    "all of it that is published.", 3);
	prom_cells(f, m, p, "sluice_site_throughput_bytes_per_second",
	    "Measured over the kept epoch sets.", 4);
	prom_hosts(f, m, p, "sluice_host_held_bytes", "Bytes the host holds "
	    "of its files.", 0);
	prom_hosts(f, m, p, "sluice_host_needed_bytes", "Bytes published of "
	    "the host's files.", 1);
	prom_hosts(f, m, p, "sluice_host_free_bytes", "Free space the host "
	    "reports in its data root.", 2);
	prom_head(f, "sluice_complete", "1 when every host holds all that "
	    "is published.");
	fprintf(f, "sluice_complete %d\n", p->eta == 0);
	if (p->all.rate >= 0) {
		prom_head(f, "sluice_throughput_bytes_per_second", "Measured "
		    "over the kept epoch sets.");
		fprintf(f, "sluice_throughput_bytes_per_second %.17g\n",
		    p->all.rate);
	}
	if (p->eta >= 0) {
		prom_head(f, "sluice_eta_seconds", "Time left at the measured "
		    "throughput.");
		fprintf(f, "sluice_eta_seconds %.17g\n", p->eta);
	}
	prom_head(f, "sluice_bound_seconds", "Lower bound on the time left.");
	fprintf(f, "sluice_bound_seconds %.17g\n", p->bound);
	if (fclose(f) != 0 || buf == NULL) {
		warnx_("%s: cannot format", path);
		free(buf);
		return EX_SOFTWARE;
	}
	if (atomic_write(path, buf, len) != 0) {
		warnx_("%s: %s", path, strerror(errno));
		rc = EX_CANTCREAT;
	}
	free(buf);
	return rc;
}
