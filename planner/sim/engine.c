/*
 * engine.c: the simulator.  A distribution runs against a simulated network:
 * holdings per host and file, manifests as a generator would publish them
 * (a growing file at its rate), faults (a host or link down for rounds, a
 * host serving corrupt blocks), states reported each round, and each
 * planned round's ops run at their rates (an op of L bytes at R B/s ends
 * L/R seconds into its round).  Rounds can be written as master
 * directories (a trace) to be verified like real ones.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "sim.h"

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

uint64_t *
sim_hold(struct sim *s, size_t h, size_t f)
{
	return &s->len[h * s->m->fileset->nfiles + f];
}

/* Manifests as a generator would publish them, whole. */
void
sim_manifests(struct master *m)
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
		man->mode = MODE_UNKNOWN;	/* none recorded, as an older one */
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
void
sim_publish(struct sim *s, double when)
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
		*sim_hold(s, fl->generator, f) = len;
	}
}

/* What is published of a file so far. */
uint64_t
sim_published(struct sim *s, size_t f)
{
	return s->m->manifests[f]->length;
}

/*
 * Starting holdings from the states in DIR (one HOST.yaml per host, as in
 * a master directory): of each file's version, the length reported, in
 * whole blocks.  A host with no state there starts empty.
 */
int
sim_load_start(struct sim *s, const char *dir)
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
			*sim_hold(s, h, (size_t)f) = len < fl->size ? len :
			    fl->size;
		}
		state_free(st);
	}
	return 0;
}

/* --growing NAME=RATE: NAME is published at RATE from the start. */
int
sim_parse_growing(struct sim *s, const char *spec)
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

int
sim_fault_active(const struct sim *s, const char *component, long round)
{
	size_t i;

	for (i = 0; i < s->nfaults; i++)
		if (!s->faults[i].corrupt && round >= s->faults[i].from &&
		    round <= s->faults[i].to &&
		    strcmp(s->faults[i].component, component) == 0)
			return 1;
	return 0;
}

int
sim_corrupts(const struct sim *s, const char *host)
{
	size_t i;

	for (i = 0; i < s->nfaults; i++)
		if (s->faults[i].corrupt &&
		    strcmp(s->faults[i].component, host) == 0)
			return 1;
	return 0;
}

/*
 * When host h's agent begins the plan of this round, seconds after its
 * issue.  The run's first plan, and every plan a late agent's cron start
 * takes, is begun by a cron start (SIM_AGENT_START); the others by a
 * sync already waiting for them (SIM_SYNC_START), as under the crontab
 * of examples/: a sync takes the plans of its period, and the next
 * start, waiting for it to leave, connects before the next is due.
 */
static double
agent_start(const struct sim *s, size_t h)
{
	double round, wait = 0;

	if (s->late != NULL && !(s->early > 0))
		wait = s->late[h];
	/* --replan: cron starts a late agent late in its period, a round;
	 * its sync then takes each plan as it comes. */
	else if (s->late != NULL) {
		round = floor(s->clock / s->T + 1e-9) * s->T;
		wait = fmax(0, round + s->late[h] - s->clock);
	}
	return (s->clock > 0 && wait == 0 ? SIM_SYNC_START + SIM_FETCH_TRIPS *
	    s->master_trip : SIM_AGENT_START + SIM_CRON_TRIPS *
	    s->master_trip) + wait;
}

/*
 * --master-delay DURATION: every agent reaches the master that far each
 * way.  Refused where a report would not be in before its plan expires
 * (more than PLAN_REPORT_SHARE of the round), which the simulation does
 * not model, and with --replan, whose short plans would be so.
 * Returns 0, or -1 said.
 */
int
sim_master_delay(struct sim *s, const char *spec)
{
	const char *why = NULL;
	double d;

	if (unit_duration(spec, &d, &why) != 0 || !(d >= 0 && d < 60)) {
		warnx_("simulate: --master-delay %s: %s", spec, why != NULL ?
		    why : "not a delay under a minute");
		return -1;
	}
	if (s->early > 0 && d > 0) {
		warnx_("simulate: --master-delay and --replan: a replanned "
		    "round's report across a WAN is not simulated");
		return -1;
	}
	s->master_trip = 2 * d;
	s->report = SIM_REPORT_TRIPS * s->master_trip;
	if (s->report > PLAN_REPORT_SHARE * s->T) {
		warnx_("simulate: --master-delay %s: a state takes %.2fs to "
		    "send, more than a quarter of the %gs round: it would "
		    "come after its plan expired", spec, s->report, s->T);
		return -1;
	}
	return 0;
}

/* When host h's agent says it runs its plan (ROOT/.sluice/began),
 * seconds after its issue, until the plan expires: never when it does not
 * start. */
static double
sim_began(const struct sim *s, size_t h)
{
	return s->absent != NULL && s->absent[h] ? INFINITY :
	    agent_start(s, h);
}

/* Replaces every host's state with what the simulation holds. */
void
sim_set_states(struct sim *s, uint64_t epoch, time_t now, struct failure **fail,
    size_t *nfail)
{
	struct master *m = s->m;
	size_t h, f;

	for (h = 0; h < s->t->nhosts; h++) {
		struct state *st;

		/* An agent that never starts never reports. */
		if (s->absent != NULL && s->absent[h] && m->states[h] != NULL &&
		    epoch > 0)
			continue;
		st = xcalloc(1, sizeof(*st));
		state_free(m->states[h]);
		st->host = xstrdup(s->t->hosts[h].name);
		st->epoch = epoch;
		/* Agents report before their plans expire, where the next
		 * run starts (a second at most; the clock has seconds). */
		st->time = now - 1;
		/* As an agent reports when it began its last plan; before
		 * the first, what the first will take. */
		st->has_start = 1;
		st->start = isnan(s->began[h]) ? agent_start(s, h) :
		    s->began[h];
		/* And, across a WAN, how long its last state took to send. */
		if (s->report > 0 && !isnan(s->began[h])) {
			st->has_report = 1;
			st->report = s->report;
		}
		st->files = xcalloc(m->fileset->nfiles + 1, sizeof(*st->files));
		for (f = 0; f < m->fileset->nfiles; f++)
			if (*sim_hold(s, h, f) > 0) {
				st->files[st->nfiles].name =
				    xstrdup(m->fileset->files[f].name);
				st->files[st->nfiles].version =
				    m->fileset->files[f].version;
				st->files[st->nfiles++].length = *sim_hold(s, h, f);
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

int
sim_host_whole(const struct sim *s, size_t h)
{
	size_t f;

	for (f = 0; f < s->m->fileset->nfiles; f++)
		if (fileset_targets(s->t, &s->m->fileset->files[f], h) &&
		    s->len[h * s->m->fileset->nfiles + f] <
		    s->m->fileset->files[f].size)
			return 0;
	return 1;
}

/* 1 when every host whose agent runs is whole (those that never start
 * never will be). */
int
sim_all_done(const struct sim *s)
{
	size_t h;

	for (h = 0; h < s->t->nhosts; h++)
		if ((s->absent == NULL || !s->absent[h]) &&
		    !sim_host_whole(s, h))
			return 0;
	return 1;
}

/* A host's place in [0, 1), from its name and the seed (FNV-1a). */
static double
host_draw(const struct sim *s, size_t h)
{
	const unsigned char *p = (const unsigned char *)s->t->hosts[h].name;
	uint32_t x = 2166136261u ^ s->seed;

	for (; *p != 0; p++)
		x = (x ^ *p) * 16777619u;
	x ^= x >> 15;
	x *= 2246822519u;
	x ^= x >> 13;
	return (double)x / 4294967296.0;
}

/* FRAC, a share of the hosts: 0 to 1.  Returns 0 or -1 (said). */
static int
parse_frac(const char *what, const char *spec, char **end, double *frac)
{
	*frac = strtod(spec, end);
	if (*end == spec || !(*frac >= 0 && *frac <= 1)) {
		warnx_("simulate: %s '%s': the share of hosts must be from 0 "
		    "to 1", what, spec);
		return -1;
	}
	return 0;
}

/*
 * --absent FRAC, --late FRAC:SECONDS and --slow FRAC:FACTOR: which hosts
 * (never a generator) never start their agent, start it SECONDS after
 * each plan's issue, or run their ops FACTOR times slower than their
 * rates.  Each host draws a place from its name and the seed: the first
 * FRAC of places are absent, the next late, the next slow, so the same
 * seed picks the same hosts whatever the method.  Returns 0 or -1.
 */
int
sim_parse_starts(struct sim *s, const char *absent, const char *late,
    const char *slow)
{
	double fa = 0, fl = 0, fs = 0, secs = 0, factor = 1;
	const char *why;
	char *end;
	size_t h, f;

	if (absent != NULL && (parse_frac("--absent", absent, &end, &fa) !=
	    0 || *end != 0))
		return -1;
	if (late != NULL && (parse_frac("--late", late, &end, &fl) != 0 ||
	    *end != ':' || unit_duration(end + 1, &secs, &why) != 0)) {
		warnx_("simulate: --late '%s': want FRAC:SECONDS", late);
		return -1;
	}
	if (slow != NULL && (parse_frac("--slow", slow, &end, &fs) != 0 ||
	    *end != ':' || (factor = strtod(end + 1, &end)) < 1 ||
	    *end != 0)) {
		warnx_("simulate: --slow '%s': want FRAC:FACTOR, FACTOR 1 or "
		    "more", slow);
		return -1;
	}
	if (fa + fl + fs > 1) {
		warnx_("simulate: --absent, --late and --slow share more than "
		    "every host");
		return -1;
	}
	s->absent = xcalloc(s->t->nhosts ? s->t->nhosts : 1, 1);
	s->late = xcalloc(s->t->nhosts ? s->t->nhosts : 1, sizeof(double));
	s->slow = xcalloc(s->t->nhosts ? s->t->nhosts : 1, sizeof(double));
	for (h = 0; h < s->t->nhosts; h++) {
		double u = host_draw(s, h);
		int gen = 0;

		for (f = 0; f < s->m->fileset->nfiles; f++)
			gen |= s->m->fileset->files[f].generator == h;
		s->slow[h] = 1;
		if (gen)
			continue;
		if (u < fa)
			s->absent[h] = 1;
		else if (u < fa + fl)
			s->late[h] = secs;
		else if (u < fa + fl + fs)
			s->slow[h] = factor;
	}
	return 0;
}

/* Every host that has just become whole finished at when. */
void
sim_note_done(struct sim *s, double when)
{
	size_t h;

	for (h = 0; h < s->t->nhosts; h++)
		if (s->done_at[h] < 0 && sim_host_whole(s, h))
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
	if (c == FAIL_DEADLINE)		/* blames nothing, as an agent */
		return;
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
sim_write_trace(struct sim *s, long round, struct plan **plans)
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

/* 1 when the op's source, or a link on its route, is down this round. */
static int
op_down(const struct sim *s, const struct op *o, long round)
{
	char comp[300];
	size_t j;

	snprintf(comp, sizeof(comp), "host:%s", o->source.host);
	if (sim_fault_active(s, comp, round))
		return 1;
	for (j = 0; j < o->nresources; j++)
		if (strncmp(o->resources[j], "link:", 5) == 0) {
			const char *colon = strchr(o->resources[j] + 5, ':');

			snprintf(comp, sizeof(comp), "link:%.*s",
			    (int)(colon - o->resources[j] - 5),
			    o->resources[j] + 5);
			if (sim_fault_active(s, comp, round))
				return 1;
		}
	return 0;
}

/* How an op of the round runs: from which source, at what rate, from
 * when; src -1 when it does not run at all. */
struct sim_op {
	long		 src;
	double		 rate, start;
	double		 shed_rate;	/* what its shed entries take off */
	int		 fell;		/* taken from its fallback */
	char		*shed;		/* per shed entry: applies */
};

/* When host h's verified prefix of file f passes off, by the timing of
 * the round so far: 0 when it has, INFINITY when nothing brings it. */
static double
sim_pass_time(struct sim *s, struct plan **plans, size_t **slot,
    const struct timing *tm, size_t h, size_t f, uint64_t off)
{
	const struct plan *p = plans[h];
	size_t i;

	if (*sim_hold(s, h, f) > off)
		return 0;
	for (i = 0; p != NULL && slot[h] != NULL && i < p->nops; i++) {
		const struct timed_op *x;

		if (slot[h][i] == (size_t)-1)
			continue;
		x = &tm->ops[slot[h][i]];
		if (x->file == f && x->offset <= off && off < x->offset +
		    x->length)
			return x->done[(off - x->offset) / x->block_size];
	}
	return INFINITY;
}

/*
 * The fallbacks and sheds of the round, as agents take them: an op is
 * taken from its fallback from the first moment, from the fallback's
 * time and its agent's start on, when its fallback's prefix has passed
 * its offset and its source's has not, and its source is running no plan
 * (its agent has not started: a plan runs until the set's expiry), at the
 * fallback's rate or less; a relay's op whose prefix had not passed a
 * shed entry's offset at the entry's time, and whose agent had not begun
 * by then, runs that much slower (for the whole op, which is what an
 * agent starting late does).  Both stick once taken.  Returns how many
 * were taken now.
 */
static size_t
sim_fallbacks(struct sim *s, struct plan **plans, size_t **slot,
    struct sim_op **run, const struct timing *tm)
{
	struct topology *t = s->t;
	size_t h, i, k, taken = 0;

	for (h = 0; h < t->nhosts; h++) {
		const struct plan *p = plans[h];
		long src;

		for (i = 0; p != NULL && i < p->nops; i++) {
			const struct op *o = &p->ops[i];
			struct sim_op *r = &run[h][i];
			long f = fileset_find(s->m->fileset, o->file), fb;
			double when;

			if (r->src < 0 || f < 0)
				continue;
			/* Sheds apply whichever source the op is taken
			 * from: the fallbacks they make room for may share
			 * its fallback's route. */
			for (k = 0; k < o->nshed; k++)
				if (!r->shed[k] && sim_pass_time(s, plans, slot,
				    tm, h, (size_t)f, o->shed[k].offset) >
				    o->shed[k].at && sim_began(s, h) >=
				    o->shed[k].at) {
					r->shed[k] = 1;
					r->shed_rate += o->shed[k].rate;
					r->rate = fmin(r->fell ?
					    o->fallback->rate : INFINITY,
					    o->rate - r->shed_rate) /
					    (s->slow != NULL ? s->slow[h] : 1);
					taken++;
				}
			if (o->fallback == NULL || r->fell || (fb =
			    topology_host(t, o->fallback->source.host)) < 0)
				continue;
			/* From its time on, once the fallback has the first
			 * block, if the source still has none and is not
			 * running its plan. */
			when = fmax(fmax(o->fallback->after, r->start),
			    sim_pass_time(s, plans, slot, tm, (size_t)fb,
			    (size_t)f, o->offset));
			src = topology_host(t, o->source.host);
			if (isinf(when) || src < 0 || sim_pass_time(s, plans,
			    slot, tm, (size_t)src, (size_t)f, o->offset) <=
			    when || sim_began(s, (size_t)src) <= when)
				continue;
			r->fell = 1;
			r->src = fb;
			r->rate = fmin(o->fallback->rate, o->rate -
			    r->shed_rate) / (s->slow != NULL ? s->slow[h] : 1);
			r->start = when;
			taken++;
		}
	}
	return taken;
}

/* Times the round's ops as they run (run), into tm; slot[h][i] is op i
 * of host h's place in it, or -1. */
static void
sim_time_ops(struct sim *s, struct plan **plans, struct sim_op **run,
    size_t **slot, struct timing *tm)
{
	struct topology *t = s->t;
	size_t nf = s->m->fileset->nfiles, h, i;

	timing_init(tm, nf);
	for (h = 0; h < t->nhosts; h++) {
		const struct plan *p = plans[h];

		for (i = 0; p != NULL && i < p->nops; i++) {
			const struct op *o = &p->ops[i];
			const struct sim_op *r = &run[h][i];
			long f = fileset_find(s->m->fileset, o->file);
			struct timed_op x;

			slot[h][i] = (size_t)-1;
			if (r->src < 0)
				continue;
			x = timed_op_from(o, h, (size_t)r->src, (size_t)f,
			    *sim_hold(s, (size_t)r->src, (size_t)f),
			    *sim_hold(s, h, (size_t)f));
			x.start = r->start;
			x.rate = r->rate;
			/* What a real relay costs beyond its blocks
			 * (bench/relay-hops.sh), which the planner's
			 * timing rule does not count. */
			x.hop = hop_delay(t, t->hosts[r->src].site,
			    t->hosts[h].site);
			slot[h][i] = timing_add(tm, &x);
		}
	}
	timing_run(tm);
}

/* A planned round cut into stretches for the chart: what the kept
 * blocks brought in each and what each resource carried (B/s). */
struct stretches {
	size_t		 n;
	double		 width;		/* seconds */
	uint64_t	*got;		/* per stretch */
	double		*use;		/* resource * n + stretch */
};

/* The latest block of tm done within the window: where the round's
 * stretches end; 0 when none is. */
static double
last_block(const struct timing *tm, double window)
{
	double span = 0;
	size_t i, k;

	for (i = 0; i < tm->nops; i++)
		for (k = 0; k < tm->ops[i].nblocks; k++)
			if (tm->ops[i].done[k] <= window * (1 + 1e-9) &&
			    tm->ops[i].done[k] > span)
				span = tm->ops[i].done[k];
	return span;
}

/* The stretch that holds time t (seconds into the round). */
static size_t
stretch_of(const struct stretches *st, double t)
{
	double i = floor(t / st->width);

	return i < 0 ? 0 : i >= (double)st->n ? st->n - 1 : (size_t)i;
}

/* Charges a block that crossed the op's resources at rate from a to b
 * seconds into the round to the stretches it overlaps. */
static void
charge_block(struct stretches *st, const struct op *o, double rate,
    double a, double b)
{
	size_t i, j;

	for (i = stretch_of(st, a); i <= stretch_of(st, b); i++) {
		double lo = fmax(a, (double)i * st->width);
		double hi = fmin(b, (double)(i + 1) * st->width);

		if (hi <= lo)
			continue;
		for (j = 0; j < o->nres_index; j++)
			st->use[o->res_index[j] * st->n + i] += rate *
			    (hi - lo) / st->width;
	}
}

/* Block k of x on its op's resources: from when x's rate lets it start
 * (no sooner than the block before it was done) until it was done. */
static void
charge_op_block(struct stretches *st, const struct timed_op *x, size_t k,
    const struct op *o)
{
	uint64_t end = x->offset + (k + 1) * x->block_size, bytes;
	double a;

	if (end > x->offset + x->length)
		end = x->offset + x->length;
	bytes = end - (x->offset + k * x->block_size);
	a = fmax(x->start, x->done[k] - (double)bytes / x->rate);
	if (k > 0)
		a = fmax(a, x->done[k - 1]);
	charge_block(st, o, x->rate, a, x->done[k]);
}

/*
 * The round's stretches into the run's samples, from start (the round's
 * start, seconds into the run) with before bytes delivered until it;
 * then, unless the run is over, the rest of the round (length seconds)
 * idle.
 */
static void
sample_stretches(struct sim *s, const struct stretches *st, double start,
    double length, uint64_t before)
{
	size_t nr = s->t->nresources, i, r;
	double *use = xcalloc(nr + 1, sizeof(double));

	for (i = 0; i < st->n; i++) {
		before += st->got[i];
		for (r = 0; r < nr; r++)
			use[r] = st->use[r * st->n + i];
		sim_sample(s, start + (double)i * st->width,
		    start + (double)(i + 1) * st->width, before, use);
	}
	memset(use, 0, (nr + 1) * sizeof(double));
	if (!sim_all_done(s) && (double)st->n * st->width < length)
		sim_sample(s, start + (double)st->n * st->width, start +
		    length, before, use);
	free(use);
}

/*
 * Runs a round's ops the way agents would, by the timing rule: an op
 * whose source is down or corrupt fails at once; the others move their
 * blocks in order at their rates, a relay's no sooner than its source
 * has them, until the agent stops them PLAN_REPORT_MARGIN before the
 * plan expires; an op whose relay source is late takes its fallback
 * (sim_fallbacks()).  Each host keeps the blocks that extend its prefix;
 * an op cut off at the stop reports a deadline, as an agent does.  A
 * host that became whole did so when the last block it needed was done.
 * The round is sampled for the chart from when its blocks were done.
 */
static void
sim_run_ops(struct sim *s, struct plan **plans, long round,
    struct failure **fail, size_t *nfail)
{
	struct topology *t = s->t;
	size_t h, i, k, pass;
	double *last = xcalloc(t->nhosts, sizeof(double)), window = s->T, stop;
	double at = s->clock;
	size_t **slot = xcalloc(t->nhosts, sizeof(size_t *));
	struct sim_op **run = xcalloc(t->nhosts, sizeof(*run));
	uint64_t before = s->bytes;
	struct stretches st;
	struct timing tm;

	for (h = 0; h < t->nhosts; h++) {
		const struct plan *p = plans[h];

		if (p == NULL)
			continue;
		window = (double)(p->expires - p->issued);
		if (s->absent == NULL || !s->absent[h])
			s->began[h] = agent_start(s, h);
		slot[h] = xcalloc(p->nops + 1, sizeof(size_t));
		run[h] = xcalloc(p->nops + 1, sizeof(**run));
		for (i = 0; i < p->nops; i++) {
			const struct op *o = &p->ops[i];
			long f = fileset_find(s->m->fileset, o->file);
			long src = topology_host(t, o->source.host);
			struct sim_op *r = &run[h][i];

			r->src = -1;
			r->shed = xcalloc(o->nshed + 1, 1);
			if (f < 0 || src < 0)
				continue;
			if (op_down(s, o, round)) {
				add_failure(fail, nfail, h, o, FAIL_CONNECT,
				    "simulated: down");
				continue;
			}
			if (sim_corrupts(s, o->source.host)) {
				add_failure(fail, nfail, h, o, FAIL_CHECKSUM,
				    "simulated: corrupt block");
				continue;
			}
			/* An agent that never starts runs nothing; its
			 * sshd still serves what it holds. */
			if (s->absent != NULL && s->absent[h])
				continue;
			r->src = src;
			r->rate = o->rate / (s->slow != NULL ? s->slow[h] : 1);
			r->start = agent_start(s, h);
		}
	}
	/* Each pass may take fallbacks that slow or free others. */
	for (pass = 0;; pass++) {
		sim_time_ops(s, plans, run, slot, &tm);
		if (pass == SIM_FALLBACK_PASSES || sim_fallbacks(s, plans,
		    slot, run, &tm) == 0)
			break;
		timing_free(&tm);
	}
	/* Agents stop their ops a margin before the plans expire; across
	 * a WAN, as long before as their reports take. */
	stop = window - plan_report_stop(window, s->report);
	/* A round where nothing moves is one idle stretch. */
	st.width = last_block(&tm, stop);
	st.n = st.width > 0 ? SIM_ROUND_STRETCHES : 1;
	st.width = st.width > 0 ? st.width / (double)st.n : s->T;
	st.got = xcalloc(st.n, sizeof(*st.got));
	st.use = xcalloc(t->nresources * st.n + 1, sizeof(*st.use));
	for (h = 0; h < t->nhosts; h++) {
		struct plan *p = plans[h];

		for (i = 0; p != NULL && i < p->nops; i++) {
			const struct timed_op *x;
			uint64_t *hold, end;

			if (slot[h][i] == (size_t)-1)
				continue;
			x = &tm.ops[slot[h][i]];
			op_resources(t, &p->ops[i]);
			/* What crossed the network, kept or not, until the
			 * agent stops its ops. */
			for (k = 0; k < x->nblocks && x->done[k] <= stop *
			    (1 + 1e-9); k++)
				charge_op_block(&st, x, k, &p->ops[i]);
			hold = sim_hold(s, h, x->file);
			/* The host's ops tile from its length, in order. */
			for (k = 0; k < x->nblocks && *hold == x->offset +
			    k * x->block_size && x->done[k] <= stop *
			    (1 + 1e-9); k++) {
				end = x->offset + (k + 1) * x->block_size;
				if (end > x->offset + x->length)
					end = x->offset + x->length;
				st.got[stretch_of(&st, x->done[k])] += end -
				    *hold;
				s->bytes += end - *hold;
				*hold = end;
				if (x->done[k] > last[h])
					last[h] = x->done[k];
			}
			if (k < x->nblocks)
				add_failure(fail, nfail, h, &p->ops[i],
				    FAIL_DEADLINE, "simulated: plan expired");
		}
		if (p != NULL && s->done_at[h] < 0 && sim_host_whole(s, h))
			s->done_at[h] = at + last[h];
		for (i = 0; p != NULL && i < p->nops; i++)
			free(run[h][i].shed);
		free(run[h]);
		free(slot[h]);
	}
	sample_stretches(s, &st, at, window, before);
	free(st.got);
	free(st.use);
	timing_free(&tm);
	free(run);
	free(slot);
	free(last);
}

/* One planned round: plan, run the ops, report.  Returns 0 or a code. */
int
sim_planned_round(struct sim *s, struct ledger *l, struct plan ***old,
    long round, struct failure **fail, size_t *nfail)
{
	struct topology *t = s->t;
	time_t now = SIM_EPOCH + (time_t)s->clock, expires;
	struct plan_options opt = { METHOD_LP, 0, 0, 0, -1 };
	struct round_stats st;
	struct plan **plans;
	double k = floor(s->clock / s->T + 1e-9);
	size_t h;
	int rc;

	sim_publish(s, s->clock);
	sim_set_states(s, l->epoch, now, fail, nfail);
	opt.method = s->method == SIM_LP ? METHOD_LP : METHOD_GREEDY;
	expires = now + (time_t)ceil(s->T);
	if (s->early > 0) {
		/* As run --replan: within the topology's round, which
		 * faults count by, and no later than its end. */
		opt.early = s->early;
		expires = SIM_EPOCH + (time_t)ceil((k + 1) * s->T - 1e-9);
		opt.window = (double)(expires - now);
		round = (long)k + 1;
	}
	rc = plan_round_with(s->m, l, *old, &opt, now, expires, &plans, &st);
	if (rc != 0)
		return rc;
	if (s->trace != NULL && sim_write_trace(s, s->early > 0 ? ++s->planned :
	    round, plans) != 0)
		rc = EX_CANTCREAT;
	sim_run_ops(s, plans, round, fail, nfail);
	/* The next round starts when these plans expire: a round on, or,
	 * with --replan, when they expire. */
	s->clock = s->early > 0 ? (double)(st.expires - SIM_EPOCH) :
	    s->clock + s->T;
	/* As the set does: a host not planned for keeps its old plan, so
	 * the next round still sees it silent on it. */
	for (h = 0; h < t->nhosts; h++)
		if (plans[h] == NULL) {
			plans[h] = (*old)[h];
			(*old)[h] = NULL;
		}
	for (h = 0; h < t->nhosts; h++)
		plan_free((*old)[h]);
	free(*old);
	*old = plans;
	return rc;
}


/*
 * Records the stretch t0-t1 of the run for the chart: delivered bytes by
 * t1, and of use (B/s per resource over the stretch) the resource with
 * the largest share of its capacity.
 */
void
sim_sample(struct sim *s, double t0, double t1, uint64_t delivered,
    const double *use)
{
	struct sample *x;
	size_t r;

	s->samples = xreallocarray(s->samples, s->nsamples + 1,
	    sizeof(*s->samples));
	x = &s->samples[s->nsamples++];
	memset(x, 0, sizeof(*x));
	x->t0 = t0;
	x->t1 = t1;
	x->delivered = delivered;
	for (r = 0; r < s->t->nresources; r++) {
		double cap = s->t->resources[r].capacity;

		if (cap != CAP_UNLIMITED && cap > 0 && use[r] / cap >
		    x->busiest) {
			x->busiest = use[r] / cap;
			x->resource = r;
		}
	}
}

int
sim_parse_fault(struct sim *s, const char *spec)
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

