/*
 * simulate.c: sluice-plan simulate, a distribution run to completion
 * against a simulated network.  lp and greedy plan every round with the
 * planner's own code; ops then run at their rates (an op of L bytes at R
 * B/s ends L/R seconds into its round) and every host reports.  The
 * baselines run as fluid flows with max-min fair sharing (progressive
 * filling) over the same resources: origin, every host pulling from the
 * generator; swarm, every host pulling from a few random holders, chosen
 * again every five seconds, with no capacity planning, and pieces taken at
 * random (a holder of n of N pieces has n(N - m)/N of those a host with m
 * lacks; overlap between a host's peers is ignored, which flatters swarm).
 * Faults: --fail link:L@A-B, host:H@A-B (down from round A to B) and
 * corrupt:H (H serves blocks that fail their checksums).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sysexits.h>

#include <openssl/evp.h>

#include "planner.h"

#define SIM_MAX_FAULTS 32
#define SWARM_PEERS 4
#define SWARM_REPICK 5.0	/* seconds between choices of peers */

enum sim_method { SIM_LP, SIM_GREEDY, SIM_ORIGIN, SIM_SWARM };

struct fault {
	int		 corrupt;	/* corrupt:H */
	char		*component;	/* host:H or link:L */
	long		 from, to;	/* rounds, inclusive */
};

/* One round, for the chart: when it ended, what was delivered by then,
 * and the busiest resource's use. */
struct sample {
	double		 end;
	uint64_t	 delivered;
	double		 busiest;
	size_t		 resource;
};

struct sim {
	struct master	*m;
	struct topology	*t;
	enum sim_method	 method;
	uint64_t	*len;		/* host * nfiles + file */
	double		*done_at;	/* per host: when it held everything */
	struct fault	 faults[SIM_MAX_FAULTS];
	size_t		 nfaults;
	double		 T;
	uint64_t	 bytes;		/* delivered */
	const char	*trace;
	const char	*svg;
	double		*use;		/* per resource, B/s this round */
	struct sample	*samples;	/* per round, for the chart */
	size_t		 nsamples;
	const char	*inputs[2];	/* topology and file set paths */
	unsigned	 seed;
	double		*grow;		/* per file: B/s published, 0 whole */
	int		 horizon;	/* lp: rounds it looks ahead */
	int		 incremental;
};

/* Copies a small file; returns 0 or -1 (reported). */
static int
copy_file(const char *from, const char *to)
{
	FILE *f;
	char *buf = xcalloc(1, YAML_MAX_FILE / 64 + 1);
	size_t n;
	int rc;

	if ((f = fopen(from, "r")) == NULL) {
		warnx_("%s: %s", from, strerror(errno));
		free(buf);
		return -1;
	}
	n = fread(buf, 1, YAML_MAX_FILE / 64, f);
	fclose(f);
	rc = atomic_write(to, buf, n);
	free(buf);
	return rc;
}

static uint64_t *
hold(struct sim *s, size_t h, size_t f)
{
	return &s->len[h * s->m->fileset->nfiles + f];
}

/* Manifests as a generator would publish them, whole. */
static void
make_manifests(struct master *m)
{
	size_t f, b;

	for (f = 0; f < m->fileset->nfiles; f++) {
		const struct file *fl = &m->fileset->files[f];
		struct manifest *man = xcalloc(1, sizeof(*man));
		char buf[600];

		man->file = xstrdup(fl->name);
		man->version = fl->version;
		man->block_size = m->topology->block_size;
		man->length = fl->size;
		man->final = 1;
		man->nblocks = (fl->size + man->block_size - 1) /
		    man->block_size;
		man->blocks = xcalloc(man->nblocks, 32);
		for (b = 0; b < man->nblocks; b++) {
			unsigned int n;

			snprintf(buf, sizeof(buf), "%s@%" PRIu64 ":%zu", fl->name,
			    fl->version, b);
			EVP_Digest(buf, strlen(buf), man->blocks[b], &n,
			    EVP_sha256(), NULL);
		}
		m->manifests[f] = man;
	}
}

/*
 * What a generator of a growing file has published by when: whole blocks
 * at its rate, then the whole file.  Its manifest and its holding follow.
 */
static void
publish(struct sim *s, double when)
{
	size_t f;

	for (f = 0; f < s->m->fileset->nfiles; f++) {
		const struct file *fl = &s->m->fileset->files[f];
		struct manifest *man = s->m->manifests[f];
		uint64_t bs = man->block_size, len;

		if (s->grow[f] <= 0)
			continue;
		if (s->grow[f] * when >= (double)fl->size)
			len = fl->size;
		else
			len = (uint64_t)(s->grow[f] * when / (double)bs) * bs;
		man->length = len;
		man->final = len == fl->size;
		man->nblocks = (len + bs - 1) / bs;
		*hold(s, fl->generator, f) = len;
	}
}

/* What is published of a file so far. */
static uint64_t
published(struct sim *s, size_t f)
{
	return s->m->manifests[f]->length;
}

/*
 * Starting holdings from the states in DIR (one HOST.yaml per host, as in
 * a master directory): of each file's version, the length reported, in
 * whole blocks.  A host with no state there starts empty.
 */
static int
load_start(struct sim *s, const char *dir)
{
	size_t h, i;

	for (h = 0; h < s->t->nhosts; h++) {
		char *path = xasprintf("%s/%s.yaml", dir, s->t->hosts[h].name);
		struct state *st = NULL;
		struct diag d = { "" };
		struct stat sb;

		if (stat(path, &sb) != 0 && errno == ENOENT) {
			free(path);
			continue;
		}
		if (state_load(path, &st, &d) != 0) {
			warnx_("%s", d.msg);
			free(path);
			return -1;
		}
		free(path);
		for (i = 0; i < st->nfiles; i++) {
			long f = fileset_find(s->m->fileset, st->files[i].name);
			const struct file *fl;
			uint64_t len, bs = s->t->block_size;

			if (f < 0)
				continue;
			fl = &s->m->fileset->files[f];
			if (fl->version != st->files[i].version ||
			    h == fl->generator)
				continue;
			len = st->files[i].length;
			if (len < fl->size)
				len -= len % bs;
			*hold(s, h, (size_t)f) = len < fl->size ? len :
			    fl->size;
		}
		state_free(st);
	}
	return 0;
}

/* --growing NAME=RATE: NAME is published at RATE from the start. */
static int
parse_growing(struct sim *s, const char *spec)
{
	const char *eq = strchr(spec, '='), *why = NULL;
	char *name;
	long f;
	double rate;

	if (eq == NULL) {
		warnx_("simulate: --growing %s: expected NAME=RATE", spec);
		return -1;
	}
	name = xasprintf("%.*s", (int)(eq - spec), spec);
	f = fileset_find(s->m->fileset, name);
	free(name);
	if (f < 0) {
		warnx_("simulate: --growing %s: no such file in the file set",
		    spec);
		return -1;
	}
	if (unit_bandwidth(eq + 1, &rate, &why) != 0) {
		warnx_("simulate: --growing %s: %s", spec, why);
		return -1;
	}
	s->grow[f] = rate;
	return 0;
}

static int
fault_active(const struct sim *s, const char *component, long round)
{
	size_t i;

	for (i = 0; i < s->nfaults; i++)
		if (!s->faults[i].corrupt && round >= s->faults[i].from &&
		    round <= s->faults[i].to &&
		    strcmp(s->faults[i].component, component) == 0)
			return 1;
	return 0;
}

static int
corrupts(const struct sim *s, const char *host)
{
	size_t i;

	for (i = 0; i < s->nfaults; i++)
		if (s->faults[i].corrupt &&
		    strcmp(s->faults[i].component, host) == 0)
			return 1;
	return 0;
}

/* Replaces every host's state with what the simulation holds. */
static void
set_states(struct sim *s, uint64_t epoch, time_t now, struct failure **fail,
    size_t *nfail)
{
	struct master *m = s->m;
	size_t h, f;

	for (h = 0; h < s->t->nhosts; h++) {
		struct state *st = xcalloc(1, sizeof(*st));

		state_free(m->states[h]);
		st->host = xstrdup(s->t->hosts[h].name);
		st->epoch = epoch;
		st->time = now;
		st->files = xcalloc(m->fileset->nfiles + 1, sizeof(*st->files));
		for (f = 0; f < m->fileset->nfiles; f++)
			if (*hold(s, h, f) > 0) {
				st->files[st->nfiles].name =
				    xstrdup(m->fileset->files[f].name);
				st->files[st->nfiles].version =
				    m->fileset->files[f].version;
				st->files[st->nfiles++].length = *hold(s, h, f);
			}
		if (fail != NULL) {
			st->failures = fail[h];
			st->nfailures = nfail[h];
			fail[h] = NULL;
			nfail[h] = 0;
		}
		m->states[h] = st;
	}
}

static int
host_whole(const struct sim *s, size_t h)
{
	size_t f;

	for (f = 0; f < s->m->fileset->nfiles; f++)
		if (fileset_targets(s->t, &s->m->fileset->files[f], h) &&
		    s->len[h * s->m->fileset->nfiles + f] <
		    s->m->fileset->files[f].size)
			return 0;
	return 1;
}

static int
all_done(const struct sim *s)
{
	size_t h;

	for (h = 0; h < s->t->nhosts; h++)
		if (!host_whole(s, h))
			return 0;
	return 1;
}

/* Every host that has just become whole finished at when. */
static void
note_done(struct sim *s, double when)
{
	size_t h;

	for (h = 0; h < s->t->nhosts; h++)
		if (s->done_at[h] < 0 && host_whole(s, h))
			s->done_at[h] = when;
}

static void
add_failure(struct failure **fail, size_t *nfail, size_t h,
    const struct op *o, enum failure_class c, const char *detail)
{
	struct failure *f;
	size_t i;

	fail[h] = xreallocarray(fail[h], nfail[h] + 1, sizeof(**fail));
	f = &fail[h][nfail[h]++];
	memset(f, 0, sizeof(*f));
	f->op = xstrdup(o->id);
	f->source = xstrdup(o->source.host);
	f->class = c;
	f->detail = xstrdup(detail);
	f->components = xcalloc(o->nresources + 1, sizeof(char *));
	f->components[f->ncomponents++] = xasprintf("host:%s",
	    o->source.host);
	if (c != FAIL_CONNECT)
		return;
	for (i = 0; i < o->nresources; i++) {
		const char *r = o->resources[i], *colon;

		if (strncmp(r, "link:", 5) == 0 &&
		    (colon = strchr(r + 5, ':')) != NULL)
			f->components[f->ncomponents++] = xasprintf("link:%.*s",
			    (int)(colon - r - 5), r + 5);
	}
}

/* Writes this round as a master directory under the trace. */
static int
write_trace(struct sim *s, long round, struct plan **plans)
{
	char *dir = xasprintf("%s/round-%04ld", s->trace, round);
	char *sub;
	size_t i;
	int rc = 0;

	sub = xasprintf("%s/plans", dir);
	rc |= mkdir_p(sub, 0755);
	free(sub);
	sub = xasprintf("%s/states", dir);
	rc |= mkdir_p(sub, 0755);
	free(sub);
	sub = xasprintf("%s/manifests", dir);
	rc |= mkdir_p(sub, 0755);
	free(sub);
	if (rc != 0) {
		warnx_("%s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	for (i = 0; i < 2 && rc == 0; i++) {
		sub = xasprintf("%s/%s", dir, i == 0 ? "topology.yaml" :
		    "fileset.yaml");
		rc = copy_file(s->inputs[i], sub);
		free(sub);
	}
	for (i = 0; i < s->m->fileset->nfiles && rc == 0; i++) {
		char *esc = name_escape_file(s->m->fileset->files[i].name,
		    s->m->fileset->files[i].version);

		sub = xasprintf("%s/manifests/%s.yaml", dir, esc);
		rc = manifest_write(sub, s->m->manifests[i]);
		free(sub);
		free(esc);
	}
	for (i = 0; i < s->t->nhosts && rc == 0; i++) {
		sub = xasprintf("%s/states/%s.yaml", dir, s->t->hosts[i].name);
		rc = state_write(sub, s->m->states[i]);
		free(sub);
		if (rc == 0 && plans[i] != NULL) {
			sub = xasprintf("%s/plans/%s.yaml", dir,
			    s->t->hosts[i].name);
			rc = plan_write(sub, plans[i]);
			free(sub);
		}
	}
	free(dir);
	return rc;
}

/* One planned round: plan, run the ops, report.  Returns 0 or a code. */
static int
planned_round(struct sim *s, struct ledger *l, struct plan ***old,
    long round, struct failure **fail, size_t *nfail)
{
	struct topology *t = s->t;
	time_t now = 1795593600 + (time_t)((double)(round - 1) * s->T);
	struct plan_options opt;
	struct plan **plans;
	size_t h, i, j;
	int rc;

	publish(s, (double)(round - 1) * s->T);
	set_states(s, l->epoch, now, fail, nfail);
	opt.method = s->method == SIM_LP ? METHOD_LP : METHOD_GREEDY;
	opt.horizon = s->horizon;
	opt.incremental = s->incremental;
	rc = plan_round_with(s->m, l, *old, &opt, now,
	    now + (time_t)ceil(s->T), &plans, NULL);
	if (rc != 0)
		return rc;
	if (s->trace != NULL && write_trace(s, round, plans) != 0)
		rc = EX_CANTCREAT;
	for (h = 0; h < t->nhosts; h++)
		for (i = 0; plans[h] != NULL && i < plans[h]->nops; i++)
			for (j = 0; j < plans[h]->ops[i].nresources; j++) {
				long r = topology_resource(t,
				    plans[h]->ops[i].resources[j]);

				if (r >= 0)
					s->use[r] += plans[h]->ops[i].rate;
			}
	for (h = 0; h < t->nhosts; h++) {
		const struct plan *p = plans[h];

		if (p == NULL)
			continue;
		for (i = 0; i < p->nops; i++) {
			const struct op *o = &p->ops[i];
			long f = fileset_find(s->m->fileset, o->file);
			long src = topology_host(t, o->source.host);
			char comp[300];
			int down = 0;

			snprintf(comp, sizeof(comp), "host:%s", o->source.host);
			down = fault_active(s, comp, round);
			for (j = 0; j < o->nresources && !down; j++)
				if (strncmp(o->resources[j], "link:", 5) == 0) {
					const char *colon = strchr(
					    o->resources[j] + 5, ':');

					snprintf(comp, sizeof(comp), "link:%.*s",
					    (int)(colon - o->resources[j] - 5),
					    o->resources[j] + 5);
					down = fault_active(s, comp, round);
				}
			if (f < 0 || src < 0)
				continue;
			if (down) {
				add_failure(fail, nfail, h, o, FAIL_CONNECT,
				    "simulated: down");
				continue;
			}
			if (corrupts(s, o->source.host)) {
				add_failure(fail, nfail, h, o, FAIL_CHECKSUM,
				    "simulated: corrupt block");
				continue;
			}
			/* The host's ops tile from its length, in order. */
			if (*hold(s, h, (size_t)f) == o->offset) {
				*hold(s, h, (size_t)f) = o->offset + o->length;
				s->bytes += o->length;
			}
		}
	}
	/* A host that became whole did so when its last op of the round
	 * ended: L bytes at R B/s take L/R seconds. */
	for (h = 0; h < t->nhosts; h++) {
		const struct plan *p = plans[h];
		double last = 0;

		if (p == NULL || s->done_at[h] >= 0 || !host_whole(s, h))
			continue;
		for (i = 0; i < p->nops; i++)
			if ((double)p->ops[i].length / p->ops[i].rate > last)
				last = (double)p->ops[i].length /
				    p->ops[i].rate;
		s->done_at[h] = (double)(round - 1) * s->T + last;
	}
	for (h = 0; h < t->nhosts; h++)
		plan_free((*old)[h]);
	free(*old);
	*old = plans;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Baselines: fluid flows, max-min fair                                */

struct flow {
	size_t		 src, dst, file;
	size_t		 res[ROUTE_MAX + 4];
	int		 nres;
	double		 rate;
	int		 frozen;
};

/* Progressive filling: raise every flow together until a resource is
 * full; freeze the flows through it; repeat. */
static void
max_min(struct sim *s, struct flow *fl, size_t n, const double *cap_left)
{
	struct topology *t = s->t;
	double *left = xcalloc(t->nresources, sizeof(double));
	size_t *count = xcalloc(t->nresources, sizeof(size_t));
	size_t i, r, active = n;
	int k;

	for (i = 0; i < n; i++) {
		fl[i].rate = 0;
		fl[i].frozen = 0;
	}
	memcpy(left, cap_left, t->nresources * sizeof(double));
	while (active > 0) {
		double step = INFINITY;

		memset(count, 0, t->nresources * sizeof(size_t));
		for (i = 0; i < n; i++)
			if (!fl[i].frozen)
				for (k = 0; k < fl[i].nres; k++)
					count[fl[i].res[k]]++;
		for (r = 0; r < t->nresources; r++)
			if (count[r] > 0 && !isinf(left[r]) &&
			    left[r] / (double)count[r] < step)
				step = left[r] / (double)count[r];
		if (isinf(step)) {
			/* Nothing limits the rest: a generous 10 GB/s. */
			for (i = 0; i < n; i++)
				if (!fl[i].frozen)
					fl[i].rate = 1e10;
			break;
		}
		for (i = 0; i < n; i++)
			if (!fl[i].frozen) {
				fl[i].rate += step;
				for (k = 0; k < fl[i].nres; k++)
					left[fl[i].res[k]] -= step;
			}
		for (i = 0; i < n; i++) {
			if (fl[i].frozen)
				continue;
			for (k = 0; k < fl[i].nres; k++)
				if (!isinf(left[fl[i].res[k]]) &&
				    left[fl[i].res[k]] <= 1e-6)
					break;
			if (k < fl[i].nres) {
				fl[i].frozen = 1;
				active--;
			}
		}
	}
	free(left);
	free(count);
}

/* Chooses every lacking host's flows: from the generator (origin) or from
 * a few random hosts that hold more than it (swarm). */
static size_t
choose_flows(struct sim *s, long round, struct flow **flp, size_t *capp)
{
	struct topology *t = s->t;
	size_t nf = s->m->fileset->nfiles, h, f, i, n = 0;
	struct flow *fl = *flp;

	for (h = 0; h < t->nhosts; h++)
		for (f = 0; f < nf; f++) {
			const struct file *file = &s->m->fileset->files[f];
			size_t picks[SWARM_PEERS], np = 0, tries;

			if (!fileset_targets(t, file, h) || h == file->generator ||
			    *hold(s, h, f) >= file->size)
				continue;
			if (s->method == SIM_ORIGIN)
				picks[np++] = file->generator;
			else
				for (tries = 0; tries < 8 * t->nhosts &&
				    np < SWARM_PEERS; tries++) {
					size_t c = (size_t)rand_r(&s->seed) %
					    t->nhosts, k;

					/* Random pieces: any holder has
					 * something this host lacks. */
					if (c == h || *hold(s, c, f) == 0)
						continue;
					for (k = 0; k < np && picks[k] != c; k++)
						;
					if (k == np)
						picks[np++] = c;
				}
			for (i = 0; i < np; i++) {
				struct flow *x;
				char comp[300];

				snprintf(comp, sizeof(comp), "host:%s",
				    t->hosts[picks[i]].name);
				if (fault_active(s, comp, round))
					continue;
				if (n == *capp) {
					*capp *= 2;
					fl = xreallocarray(fl, *capp, sizeof(*fl));
				}
				x = &fl[n];
				memset(x, 0, sizeof(*x));
				x->src = picks[i];
				x->dst = h;
				x->file = f;
				x->nres = route_resources(t, picks[i], h, x->res,
				    ROUTE_MAX + 4);
				if (x->nres > 0)
					n++;
			}
		}
	*flp = fl;
	return n;
}

/*
 * One round of baseline flows in steps of a second at most; swarm chooses
 * its peers again every SWARM_REPICK seconds.  A flow moves what its
 * max-min fair rate allows, and never past what its source holds.
 */
static void
flow_round(struct sim *s, long round)
{
	struct topology *t = s->t;
	size_t i, n = 0, cap = 64;
	struct flow *fl = xcalloc(cap, sizeof(*fl));
	size_t kept;
	double *caps = xcalloc(t->nresources, sizeof(double));
	double start = (double)(round - 1) * s->T, elapsed = 0, picked = -1e9;

	for (i = 0; i < t->nresources; i++)
		caps[i] = t->resources[i].capacity == CAP_UNLIMITED ?
		    INFINITY : t->resources[i].capacity * SCHED_PAYLOAD_SHARE;
	while (elapsed < s->T - 1e-9 && !all_done(s)) {
		double dt = fmin(1.0, s->T - elapsed);

		publish(s, start + elapsed);

		if (picked < 0 || (s->method == SIM_SWARM &&
		    elapsed - picked >= SWARM_REPICK - 1e-9)) {
			n = choose_flows(s, round, &fl, &cap);
			picked = elapsed;
		}
		/* A host that is whole gives its share back. */
		for (i = kept = 0; i < n; i++)
			if (*hold(s, fl[i].dst, fl[i].file) <
			    s->m->fileset->files[fl[i].file].size)
				fl[kept++] = fl[i];
		n = kept;
		max_min(s, fl, n, caps);
		for (i = 0; i < n; i++) {
			int k;

			for (k = 0; k < fl[i].nres; k++)
				s->use[fl[i].res[k]] += fl[i].rate * dt / s->T;
			uint64_t *d = hold(s, fl[i].dst, fl[i].file);
			uint64_t have = *hold(s, fl[i].src, fl[i].file);
			uint64_t size = s->m->fileset->files[fl[i].file].size;
			uint64_t pub = published(s, fl[i].file);
			uint64_t lim = (have < size ? have : size);
			uint64_t got;

			double useful;

			if (corrupts(s, t->hosts[fl[i].src].name))
				continue;
			if (s->method == SIM_SWARM)
				/* Pieces at random: of what the source holds,
				 * the share of what is published that the
				 * destination lacks. */
				useful = *d >= pub || pub == 0 ? 0 :
				    (double)lim * (double)(pub - *d) /
				    (double)pub;
			else
				useful = *d >= lim ? 0 : (double)(lim - *d);
			got = (uint64_t)fmin(fl[i].rate * dt, useful);
			if (*d + got > size)
				got = size - *d;
			*d += got;
			s->bytes += got;
		}
		elapsed += dt;
		note_done(s, start + elapsed);
	}
	free(fl);
	free(caps);
}

/* Records the round for the chart and clears the round's use. */
static void
sample_round(struct sim *s, long round)
{
	struct sample *x;
	size_t r;

	s->samples = xreallocarray(s->samples, s->nsamples + 1,
	    sizeof(*s->samples));
	x = &s->samples[s->nsamples++];
	memset(x, 0, sizeof(*x));
	x->end = (double)round * s->T;
	x->delivered = s->bytes;
	for (r = 0; r < s->t->nresources; r++) {
		double cap = s->t->resources[r].capacity;

		if (cap != CAP_UNLIMITED && s->use[r] / cap > x->busiest) {
			x->busiest = s->use[r] / cap;
			x->resource = r;
		}
	}
	memset(s->use, 0, s->t->nresources * sizeof(double));
}

static void
svg_escape(FILE *f, const char *text)
{
	for (; *text; text++)
		if (*text == '<')
			fputs("&lt;", f);
		else if (*text == '>')
			fputs("&gt;", f);
		else if (*text == '&')
			fputs("&amp;", f);
		else
			fputc(*text, f);
}

/*
 * Draws the run: the share of all bytes delivered over time (a line from
 * 0 to 100%), the busiest resource's use in each round (steps), and the
 * lower bound (a dashed line).  Returns 0 or -1.
 */
static int
write_svg(struct sim *s, const char *method, double makespan, double bound,
    uint64_t total)
{
	const double W = 760, H = 360, X0 = 60, Y0 = 30;
	double tmax = fmax(makespan, bound) * 1.05, x, y;
	char *tmp = xasprintf("%s.tmp", s->svg);
	size_t i;
	FILE *f;

	if (tmax <= 0)
		tmax = 1;
	if ((f = fopen(tmp, "w")) == NULL) {
		warnx_("%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
	    "height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
	    W + 2 * X0, H + 2 * Y0 + 20);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(f, "<text x=\"%.0f\" y=\"18\" font-size=\"14\">sluice "
	    "simulate, %s: makespan %.1fs, lower bound %.1fs (ratio %.2f)"
	    "</text>\n", X0, method, makespan, bound, bound > 0 ? makespan /
	    bound : 0.0);
	fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
	    "fill=\"none\" stroke=\"#888\"/>\n", X0, Y0, W, H);
	for (i = 0; i <= 4; i++) {
		y = Y0 + H - H * (double)i / 4;
		fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">"
		    "%zu%%</text>\n", X0 - 6, y + 4, i * 25);
		fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">"
		    "%.0fs</text>\n", X0 + W * (double)i / 4, Y0 + H + 16,
		    tmax * (double)i / 4);
	}
	x = X0 + W * bound / tmax;
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" "
	    "stroke=\"#090\" stroke-dasharray=\"5,4\"/>\n", x, Y0, x, Y0 + H);
	fprintf(f, "<polyline fill=\"none\" stroke=\"#c60\" "
	    "stroke-width=\"1.5\" points=\"");
	for (i = 0; i < s->nsamples; i++) {
		double t0 = i == 0 ? 0 : s->samples[i - 1].end;

		y = Y0 + H - H * fmin(1, s->samples[i].busiest);
		fprintf(f, "%.1f,%.1f %.1f,%.1f ", X0 + W * t0 / tmax, y,
		    X0 + W * fmin(s->samples[i].end, tmax) / tmax, y);
	}
	fprintf(f, "\"/>\n<polyline fill=\"none\" stroke=\"#06c\" "
	    "stroke-width=\"2\" points=\"%.1f,%.1f ", X0, Y0 + H);
	for (i = 0; i < s->nsamples; i++)
		fprintf(f, "%.1f,%.1f ", X0 + W * fmin(s->samples[i].end, tmax) /
		    tmax, Y0 + H - H * (total ? (double)s->samples[i].delivered /
		    (double)total : 1));
	fprintf(f, "\"/>\n");
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#06c\">bytes "
	    "delivered</text>\n", X0, Y0 + H + 36);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#c60\">busiest "
	    "resource's use per round", X0 + 150, Y0 + H + 36);
	if (s->nsamples > 0) {
		fputs(" (first: ", f);
		svg_escape(f, s->t->resources[s->samples[0].resource].id);
		fputc(')', f);
	}
	fprintf(f, "</text>\n<text x=\"%.0f\" y=\"%.0f\" fill=\"#090\">lower "
	    "bound</text>\n</svg>\n", X0 + 560, Y0 + H + 36);
	if (fclose(f) != 0 || rename(tmp, s->svg) != 0) {
		warnx_("%s: %s", s->svg, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

static int
parse_fault(struct sim *s, const char *spec)
{
	struct fault *f;
	char *copy, *at;

	if (s->nfaults == SIM_MAX_FAULTS) {
		warnx_("simulate: at most %d faults", SIM_MAX_FAULTS);
		return -1;
	}
	f = &s->faults[s->nfaults];
	memset(f, 0, sizeof(*f));
	if (strncmp(spec, "corrupt:", 8) == 0) {
		if (topology_host(s->t, spec + 8) < 0) {
			warnx_("simulate: --fail %s: no such host", spec);
			return -1;
		}
		f->corrupt = 1;
		f->component = xstrdup(spec + 8);
		s->nfaults++;
		return 0;
	}
	copy = xstrdup(spec);
	if ((at = strchr(copy, '@')) == NULL || sscanf(at + 1, "%ld-%ld",
	    &f->from, &f->to) != 2 || f->from < 1 || f->to < f->from ||
	    (strncmp(copy, "host:", 5) != 0 && strncmp(copy, "link:", 5) != 0)) {
		warnx_("simulate: --fail '%s': expected host:H@A-B, link:L@A-B "
		    "or corrupt:H", spec);
		free(copy);
		return -1;
	}
	*at = '\0';
	if ((strncmp(copy, "host:", 5) == 0 && topology_host(s->t, copy + 5) <
	    0) || (strncmp(copy, "link:", 5) == 0 && topology_link(s->t,
	    copy + 5) < 0)) {
		warnx_("simulate: --fail %s: no such component", spec);
		free(copy);
		return -1;
	}
	f->component = copy;
	s->nfaults++;
	return 0;
}

int
cmd_simulate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "method", required_argument, NULL, 'm' },
		{ "fail", required_argument, NULL, 'F' },
		{ "trace", required_argument, NULL, 'T' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "seed", required_argument, NULL, 's' },
		{ "svg", required_argument, NULL, 'S' },
		{ "states", required_argument, NULL, 'D' },
		{ "growing", required_argument, NULL, 'G' },
		{ "horizon", required_argument, NULL, 'H' },
		{ "incremental", no_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 }
	};
	const char *start_dir = NULL, *growspec[SIM_MAX_FAULTS];
	size_t ngrow = 0;
	const char *tpath = NULL, *fpath = NULL, *method = "lp";
	const char *failspec[SIM_MAX_FAULTS];
	size_t nfail_specs = 0, h, f;
	struct sim s;
	struct ledger *l = NULL;
	struct plan **old = NULL;
	struct failure **fail = NULL;
	size_t *nfail = NULL;
	long round, max_rounds = 10000;
	double makespan = 0, bound;
	char why[512];
	int ch, rc = 0;

	memset(&s, 0, sizeof(s));
	s.seed = 1;
	s.horizon = 1;
	while ((ch = getopt_long(argc, argv, "t:f:", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			tpath = optarg;
			break;
		case 'f':
			fpath = optarg;
			break;
		case 'm':
			method = optarg;
			break;
		case 'F':
			if (nfail_specs == SIM_MAX_FAULTS)
				return EX_USAGE;
			failspec[nfail_specs++] = optarg;
			break;
		case 'T':
			s.trace = optarg;
			break;
		case 'r':
			max_rounds = strtol(optarg, NULL, 10);
			if (max_rounds < 1)
				return EX_USAGE;
			break;
		case 's':
			s.seed = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'S':
			s.svg = optarg;
			break;
		case 'D':
			start_dir = optarg;
			break;
		case 'H':
			if ((s.horizon = horizon_argument(optarg)) < 0)
				return EX_USAGE;
			break;
		case 'I':
			s.incremental = 1;
			break;
		case 'G':
			if (ngrow == SIM_MAX_FAULTS)
				return EX_USAGE;
			growspec[ngrow++] = optarg;
			break;
		default:
			tpath = NULL;
			break;
		}
	}
	if (tpath == NULL || fpath == NULL || optind != argc) {
		fprintf(stderr, "usage: sluice-plan simulate -t TOPOLOGY -f "
		    "FILESET [--method lp|greedy|origin|swarm] [--fail SPEC] "
		    "[--horizon N [--incremental]] [--states DIR] "
		    "[--growing NAME=RATE] "
		    "[--trace DIR] [--svg FILE] [--rounds N] [--seed N]\n");
		return EX_USAGE;
	}
	if (s.incremental && s.horizon < 2) {
		warnx_("simulate: --incremental needs --horizon 2 or more");
		return EX_USAGE;
	}
	if (strcmp(method, "lp") == 0)
		s.method = SIM_LP;
	else if (strcmp(method, "greedy") == 0)
		s.method = SIM_GREEDY;
	else if (strcmp(method, "origin") == 0)
		s.method = SIM_ORIGIN;
	else if (strcmp(method, "swarm") == 0)
		s.method = SIM_SWARM;
	else {
		warnx_("simulate: unknown method '%s'", method);
		return EX_USAGE;
	}
	if ((rc = master_load_files(tpath, fpath, &s.m)) != 0)
		return rc;
	s.inputs[0] = tpath;
	s.inputs[1] = fpath;
	s.t = s.m->topology;
	s.T = s.t->round;
	for (f = 0; f < s.m->fileset->nfiles; f++)
		if (!s.m->fileset->files[f].has_size) {
			warnx_("%s: file %s has no size; simulate needs one",
			    fpath, s.m->fileset->files[f].name);
			master_free(s.m);
			return EX_DATAERR;
		}
	s.grow = xcalloc(s.m->fileset->nfiles + 1, sizeof(double));
	s.len = xcalloc(s.t->nhosts * (s.m->fileset->nfiles + 1),
	    sizeof(uint64_t));
	for (f = 0; f < nfail_specs; f++)
		if (parse_fault(&s, failspec[f]) != 0) {
			rc = EX_USAGE;
			goto out;
		}
	for (f = 0; f < ngrow; f++)
		if (parse_growing(&s, growspec[f]) != 0) {
			rc = EX_USAGE;
			goto out;
		}
	if (start_dir != NULL && load_start(&s, start_dir) != 0) {
		rc = EX_DATAERR;
		goto out;
	}
	make_manifests(s.m);
	s.done_at = xcalloc(s.t->nhosts, sizeof(double));
	s.use = xcalloc(s.t->nresources, sizeof(double));
	for (f = 0; f < s.m->fileset->nfiles; f++)
		*hold(&s, s.m->fileset->files[f].generator, f) =
		    s.m->fileset->files[f].size;
	for (h = 0; h < s.t->nhosts; h++)
		s.done_at[h] = -1;
	/*
	 * The bound as if every file were whole from the start (a schedule
	 * for a growing file is one for the whole file too), and no lower
	 * than the time a growing file takes to be published.
	 */
	set_states(&s, 0, 1795593600, NULL, NULL);
	bound = bound_makespan(s.m, why, sizeof(why));
	for (f = 0; f < s.m->fileset->nfiles; f++)
		if (s.grow[f] > 0 && (double)s.m->fileset->files[f].size /
		    s.grow[f] > bound)
			bound = (double)s.m->fileset->files[f].size / s.grow[f];
	publish(&s, 0);
	/* Nobody holds more of a growing file than is published. */
	for (h = 0; h < s.t->nhosts; h++)
		for (f = 0; f < s.m->fileset->nfiles; f++)
			if (s.grow[f] > 0 && *hold(&s, h, f) > published(&s, f))
				*hold(&s, h, f) = published(&s, f);
	note_done(&s, 0);
	set_states(&s, 0, 1795593600, NULL, NULL);
	l = xcalloc(1, sizeof(*l));
	old = xcalloc(s.t->nhosts, sizeof(*old));
	fail = xcalloc(s.t->nhosts, sizeof(*fail));
	nfail = xcalloc(s.t->nhosts, sizeof(*nfail));
	for (round = 1; round <= max_rounds && !all_done(&s); round++) {
		if (s.method == SIM_LP || s.method == SIM_GREEDY) {
			if ((rc = planned_round(&s, l, &old, round, fail,
			    nfail)) != 0)
				goto out;
		} else
			flow_round(&s, round);
		sample_round(&s, round);
	}
	if (!all_done(&s)) {
		warnx_("simulate: not complete after %ld rounds", max_rounds);
		rc = EX_SOFTWARE;
	}
	for (h = 0; h < s.t->nhosts; h++)
		if (s.done_at[h] > makespan)
			makespan = s.done_at[h];
	if (s.svg != NULL && write_svg(&s, method, makespan, bound, s.bytes) !=
	    0 && rc == 0)
		rc = EX_CANTCREAT;
	printf("makespan=%.3f bound=%.3f ratio=%.4f rounds=%ld bytes=%" PRIu64
	    "\n", makespan, bound, bound > 0 ? makespan / bound : 0.0,
	    round - 1, s.bytes);
out:
	for (h = 0; old != NULL && h < s.t->nhosts; h++) {
		plan_free(old[h]);
		for (f = 0; f < nfail[h]; f++)
			failure_clear(&fail[h][f]);
		free(fail[h]);
	}
	free(old);
	free(fail);
	free(nfail);
	free(s.len);
	free(s.grow);
	free(s.done_at);
	free(s.use);
	free(s.samples);
	for (f = 0; f < s.nfaults; f++)
		free(s.faults[f].component);
	ledger_free(l);
	master_free(s.m);
	return rc;
}
