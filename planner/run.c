/*
 * run.c: sluice-plan run, one planning run.  States and manifests in;
 * plans and ledger out, written as one set: the new epoch's files go to
 * MASTER_DIR/epochs/EPOCH/, and the symbolic link MASTER_DIR/current is
 * switched to it by one rename.  MASTER_DIR/plans and MASTER_DIR/ledger.yaml
 * are links through current, so readers see the old set or the new one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "planner.h"

/* How many earlier epochs' sets are kept beside the current one. */
#define KEEP_EPOCHS 3

/* ------------------------------------------------------------------ */
/* The ledger from the reports                                         */

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
static void
apply_failures(struct sched *s, const struct ledger *l)
{
	struct topology *t = s->t;
	char buf[300];
	size_t i;

	for (i = 0; i < t->nhosts; i++) {
		snprintf(buf, sizeof(buf), "host:%s", t->hosts[i].name);
		if (ledger_failed(l, buf))
			s->source_ok[i] = 0;
	}
	for (i = 0; i < t->nsites; i++) {
		snprintf(buf, sizeof(buf), "site:%s", t->sites[i].name);
		if (ledger_failed(l, buf)) {
			s->blocked[res_site_up(t, i)] = 1;
			s->blocked[res_site_down(t, i)] = 1;
		}
	}
	for (i = 0; i < t->nlinks; i++) {
		snprintf(buf, sizeof(buf), "link:%s", t->links[i].name);
		if (ledger_failed(l, buf)) {
			s->blocked[res_link(t, i, 0)] = 1;
			s->blocked[res_link(t, i, 1)] = 1;
		}
	}
}

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

/* ------------------------------------------------------------------ */
/* Plans from the schedule                                             */

static void
fill_op(struct sched *s, struct op *o, const struct candidate *c,
    uint64_t first_block, uint64_t epoch, size_t n)
{
	struct topology *t = s->t;
	const struct demand *d = &s->demands[c->demand];
	const struct file *f = &s->m->fileset->files[d->file];
	const struct manifest *man = s->m->manifests[d->file];
	const struct host *src = &t->hosts[c->source];
	int i;

	o->id = xasprintf("%" PRIu64 "/%s/%zu", epoch, t->hosts[d->host].name,
	    n);
	o->file = xstrdup(f->name);
	o->version = f->version;
	o->offset = first_block * man->block_size;
	o->length = sched_block_bytes(s, c, first_block, c->blocks);
	o->block_size = man->block_size;
	o->source.host = xstrdup(src->name);
	o->source.address = xstrdup(src->address);
	o->source.port = src->port;
	o->source.user = src->user ? xstrdup(src->user) : NULL;
	o->source.root = xstrdup(src->root);
	o->rate = ceil((double)o->length / s->T);
	o->resources = xcalloc((size_t)c->nres, sizeof(char *));
	for (i = 0; i < c->nres; i++)
		o->resources[o->nresources++] = xstrdup(
		    t->resources[c->res[i]].id);
	o->nblocks = c->blocks;
	o->blocks = xcalloc(o->nblocks, sizeof(*o->blocks));
	memcpy(o->blocks, man->blocks[first_block], o->nblocks * 32);
}

/* Builds every planned host's plan from the allocated candidates. */
static struct plan **
build_plans(struct sched *s, uint64_t epoch, time_t now, time_t expires)
{
	struct topology *t = s->t;
	const struct fileset *fs = s->m->fileset;
	struct plan **plans = xcalloc(t->nhosts, sizeof(*plans));
	size_t *nops = xcalloc(t->nhosts, sizeof(size_t));
	size_t i, j, h;

	for (i = 0; i < s->ncands; i++)
		if (s->cands[i].blocks > 0)
			nops[s->demands[s->cands[i].demand].host]++;
	for (h = 0; h < t->nhosts; h++) {
		struct plan *p;

		if (!s->dest_ok[h])
			continue;
		p = plans[h] = xcalloc(1, sizeof(*p));
		p->host = xstrdup(t->hosts[h].name);
		p->epoch = epoch;
		p->issued = now;
		p->expires = expires;
		p->fileset = xcalloc(fs->nfiles, sizeof(*p->fileset));
		for (j = 0; j < fs->nfiles; j++)
			if (fileset_targets(t, &fs->files[j], h) ||
			    fs->files[j].generator == h) {
				const struct manifest *man =
				    s->m->manifests[j];

				p->fileset[p->nfileset].name =
				    xstrdup(fs->files[j].name);
				p->fileset[p->nfileset].size = man != NULL &&
				    man->final ? man->length : 0;
				p->fileset[p->nfileset++].version =
				    fs->files[j].version;
			}
		p->ops = xcalloc(nops[h], sizeof(*p->ops));
	}
	for (i = 0; i < s->ndemands; i++) {
		const struct demand *d = &s->demands[i];
		uint64_t block = d->have / s->m->manifests[d->file]->block_size;
		struct plan *p = plans[d->host];

		for (j = d->first; j < d->first + d->ncand; j++) {
			const struct candidate *c = &s->cands[j];

			if (c->blocks == 0)
				continue;
			fill_op(s, &p->ops[p->nops], c, block, epoch,
			    p->nops + 1);
			p->nops++;
			block += c->blocks;
		}
	}
	free(nops);
	return plans;
}

/* Adds a plan's rates to the use of every resource it names. */
static void
charge_plan(const struct topology *t, const struct plan *p, double *use)
{
	size_t i, j;

	for (i = 0; i < p->nops; i++)
		for (j = 0; j < p->ops[i].nresources; j++) {
			long r = topology_resource(t, p->ops[i].resources[j]);

			if (r >= 0)
				use[r] += ceil(p->ops[i].rate);
		}
}

/*
 * Gives the new ops what capacity is left, water-filling: each limited
 * resource splits what remains of it equally among the new ops on it, and
 * each op takes the least of its resources' shares; a few passes.  An op
 * with no limited resource keeps its rate.  Short ops then finish early
 * instead of trickling through the whole round.
 */
static void
boost_rates(const struct topology *t, struct plan **plans,
    struct plan **kept)
{
	double *left = xcalloc(t->nresources, sizeof(double));
	double *use = xcalloc(t->nresources, sizeof(double));
	size_t *count = xcalloc(t->nresources, sizeof(size_t));
	size_t h, i, j, pass;

	for (pass = 0; pass < 4; pass++) {
		memset(use, 0, t->nresources * sizeof(double));
		memset(count, 0, t->nresources * sizeof(size_t));
		for (h = 0; h < t->nhosts; h++) {
			if (plans[h] != NULL)
				charge_plan(t, plans[h], use);
			else if (kept[h] != NULL)
				charge_plan(t, kept[h], use);
			if (plans[h] == NULL)
				continue;
			for (i = 0; i < plans[h]->nops; i++)
				for (j = 0; j < plans[h]->ops[i].nresources;
				    j++) {
					long r = topology_resource(t,
					    plans[h]->ops[i].resources[j]);

					if (r >= 0)
						count[r]++;
				}
		}
		for (i = 0; i < t->nresources; i++)
			left[i] = t->resources[i].capacity == CAP_UNLIMITED ?
			    0 : floor(t->resources[i].capacity *
			    SCHED_PAYLOAD_SHARE) - use[i];
		for (h = 0; h < t->nhosts; h++) {
			if (plans[h] == NULL)
				continue;
			for (i = 0; i < plans[h]->nops; i++) {
				struct op *o = &plans[h]->ops[i];
				double add = -1;

				for (j = 0; j < o->nresources; j++) {
					long r = topology_resource(t,
					    o->resources[j]);
					double share;

					if (r < 0 || t->resources[r].capacity ==
					    CAP_UNLIMITED)
						continue;
					/* A resource already full gives none. */
					share = left[r] > 0 ? left[r] /
					    (double)count[r] : 0;
					if (add < 0 || share < add)
						add = share;
				}
				if (add >= 1)
					o->rate += floor(add);
			}
		}
	}
	free(left);
	free(use);
	free(count);
}

/*
 * Checks the new plans with the kept ones against every capacity; a
 * failure here is a bug, and nothing is written.  Returns 0 or -1.
 */
static int
check_capacity(const struct topology *t, struct plan **plans,
    struct plan **kept)
{
	double *use = xcalloc(t->nresources, sizeof(double));
	size_t i;
	int rc = 0;

	for (i = 0; i < t->nhosts; i++) {
		if (plans[i] != NULL)
			charge_plan(t, plans[i], use);
		else if (kept[i] != NULL)
			charge_plan(t, kept[i], use);
	}
	for (i = 0; i < t->nresources; i++)
		if (t->resources[i].capacity != CAP_UNLIMITED &&
		    use[i] > floor(t->resources[i].capacity)) {
			size_t h;

			warnx_("internal error: %s allocated %.0f B/s of %.0f",
			    t->resources[i].id, use[i],
			    t->resources[i].capacity);
			for (h = 0; h < t->nhosts; h++) {
				const struct plan *p = plans[h] ? plans[h] :
				    kept[h];
				double *one;

				if (p == NULL)
					continue;
				one = xcalloc(t->nresources, sizeof(double));
				charge_plan(t, p, one);
				if (one[i] > 0)
					warnx_("  %s plan of %s, epoch %llu: "
					    "%.0f B/s", plans[h] ? "new" : "kept",
					    p->host, (unsigned long long)p->epoch,
					    one[i]);
				free(one);
			}
			rc = -1;
		}
	free(use);
	return rc;
}

/*
 * Incremental planning: the sites whose LAN may take the last run's
 * look-ahead for this round instead of a new solve.  A site qualifies
 * when the look-ahead has a next round for its hosts, nothing of it
 * changed (no capacity, no failed or failing host, nothing in flight),
 * and every host of it reported on the last epoch's plan having done
 * exactly what that plan asked.
 */
static char *
sites_on_schedule(struct sched *s, const struct ledger *l,
    struct plan **old, const char *changed)
{
	const struct topology *t = s->t;
	const struct master *m = s->m;
	char *keep = xcalloc(t->nsites ? t->nsites : 1, 1);
	size_t i, j, k, site;

	if (l->horizon <= 1 || s->method != METHOD_LP)
		return keep;
	for (i = 0; i < l->nahead; i++) {
		long h = topology_host(t, l->ahead[i].host);

		if (l->ahead[i].round == 2 && h >= 0)
			keep[t->hosts[h].site] = 1;
	}
	for (site = 0; site < t->nsites; site++) {
		const struct site *st = &t->sites[site];

		if (changed[res_site_up(t, site)] ||
		    changed[res_site_down(t, site)])
			keep[site] = 0;
		for (j = 0; j < st->nhosts && keep[site]; j++) {
			size_t h = st->hosts[j];
			const struct state *rep = m->states[h];
			const struct plan *p = old[h];

			if (!s->source_ok[h] || !s->dest_ok[h] ||
			    changed[2 * h] || changed[2 * h + 1] ||
			    rep == NULL || rep->epoch != l->epoch ||
			    rep->nfailures > 0 ||
			    (p != NULL && p->epoch != l->epoch)) {
				keep[site] = 0;
				break;
			}
			/* Every op done: a host's ops on a file tile a
			 * range from its length, so it holds their ends. */
			for (k = 0; p != NULL && k < p->nops; k++) {
				const struct op *o = &p->ops[k];
				long f = fileset_find(m->fileset, o->file);

				if (f < 0 || master_length(m, h, (size_t)f) <
				    o->offset + o->length)
					keep[site] = 0;
			}
		}
	}
	return keep;
}

/* The look-ahead of this run replaces the last one in the ledger. */
static void
record_ahead(struct ledger *l, const struct sched *s)
{
	const struct topology *t = s->t;
	size_t i, k;

	size_t n = 0;

	ledger_clear_ahead(l);
	l->horizon = (unsigned)s->horizon;
	for (k = 0; k + 1 < (size_t)s->horizon; k++)
		for (i = 0; i < s->ncands; i++)
			n += s->cands[i].ahead[k] >= 1;
	l->ahead = xcalloc(n + 1, sizeof(*l->ahead));
	for (k = 0; k + 1 < (size_t)s->horizon; k++)
		for (i = 0; i < s->ncands; i++) {
			const struct candidate *c = &s->cands[i];
			const struct demand *d = &s->demands[c->demand];
			const struct file *f = &s->m->fileset->files[d->file];
			struct ledger_ahead *a;

			if (c->ahead[k] < 1)
				continue;
			a = &l->ahead[l->nahead++];
			a->round = (unsigned)k + 2;
			a->host = xstrdup(t->hosts[d->host].name);
			a->file = xstrdup(f->name);
			a->version = f->version;
			a->source = xstrdup(t->hosts[c->source].name);
			a->bytes = (uint64_t)c->ahead[k] *
			    s->m->manifests[d->file]->block_size;
		}
}

/*
 * Plans one round issued at now, its plans expiring at expires (a round
 * later).  old[h] is host h's current plan or NULL.  Updates the
 * ledger (epoch, failures, reports, picture, changes) and returns in
 * *plansp a new plan per host, NULL where the old plan stays (the host has
 * not reported since and its plan has not expired, or its state was
 * unusable).  Returns 0 or a sysexits.h code.
 */
int
plan_round_with(struct master *m, struct ledger *l, struct plan **old,
    const struct plan_options *opt, time_t now, time_t expires,
    struct plan ***plansp, struct round_stats *st)
{
	enum method method = opt->method;
	struct topology *t = m->topology;
	struct sched s;
	struct plan **plans, **kept;
	char *changed;
	uint64_t epoch = l->epoch + 1;
	size_t h, i;
	int rc;

	*plansp = NULL;
	for (i = 0; i < l->nchanges; i++)
		free(l->changes[i]);
	l->nchanges = 0;
	for (h = 0; h < t->nhosts; h++) {
		const struct state *st_h = m->states[h];
		struct ledger_report *rep;

		if (st_h == NULL)
			continue;
		rep = ledger_report(l, t->hosts[h].name, 1);
		if (rep->epoch == st_h->epoch && rep->time == st_h->time &&
		    (rep->epoch != 0 || rep->time != 0))
			continue;
		count_report(m, l, h, old[h], epoch, now);
		rep->epoch = st_h->epoch;
		rep->time = st_h->time;
	}
	retry_failed(l, epoch);
	changed = xcalloc(t->nresources ? t->nresources : 1, 1);
	update_picture(l, t, changed);
	sched_init(&s, m, method);
	s.horizon = method == METHOD_LP ? opt->horizon : 1;
	apply_failures(&s, l);
	for (h = 0; h < t->nhosts; h++) {
		const struct plan *p = old[h];
		int waiting = p != NULL && p->expires > now &&
		    (m->states[h] == NULL || m->states[h]->epoch < p->epoch);

		if (m->skipped[h] || waiting) {
			s.dest_ok[h] = 0;
			if (p != NULL && p->expires > now) {
				double *use = xcalloc(t->nresources,
				    sizeof(double));

				charge_plan(t, p, use);
				for (i = 0; i < t->nresources; i++)
					if (!isinf(s.residual[i]))
						s.residual[i] -= use[i];
				free(use);
			}
		}
	}
	sched_demands(&s);
	sched_candidates(&s);
	if (s.horizon > 1 && opt->incremental) {
		s.site_kept = sites_on_schedule(&s, l, old, changed);
		s.prior = l->ahead;
		s.nprior = l->nahead;
		sched_resolve_prior(&s);
	}
	sched_allocate(&s);
	free(changed);
	for (i = 0; s.site_kept != NULL && i < t->nsites; i++)
		if (s.site_kept[i] == 2)
			ledger_add_change(l, "site %s: LAN on the look-ahead "
			    "of epoch %" PRIu64 ", not solved again",
			    t->sites[i].name, l->epoch);
	plans = build_plans(&s, epoch, now, expires);
	/* The old plans still running: not replaced and not expired. */
	kept = xcalloc(t->nhosts, sizeof(*kept));
	for (h = 0; h < t->nhosts; h++)
		if (plans[h] == NULL && old[h] != NULL && old[h]->expires > now)
			kept[h] = old[h];
	boost_rates(t, plans, kept);
	rc = check_capacity(t, plans, kept);
	free(kept);
	if (rc != 0) {
		for (h = 0; h < t->nhosts; h++)
			plan_free(plans[h]);
		free(plans);
		sched_free(&s);
		return EX_SOFTWARE;
	}
	if (st != NULL) {
		memset(st, 0, sizeof(*st));
		st->bytes = sched_scheduled_bytes(&s);
		st->demands = s.ndemands;
		st->candidates = s.ncands;
		st->lp_seconds = s.lp_seconds;
		st->lp_fallbacks = s.lp_fallbacks;
		st->lans_solved = s.lans_solved;
		st->lans_kept = s.lans_kept;
		for (h = 0; h < t->nhosts; h++) {
			if (plans[h] != NULL) {
				st->planned++;
				st->ops += plans[h]->nops;
			} else if (old[h] != NULL)
				st->kept++;
		}
	}
	record_ahead(l, &s);
	l->epoch = epoch;
	l->issued = now;
	free(l->method);
	l->method = xstrdup(method == METHOD_LP ? "lp" : "greedy");
	sched_free(&s);
	*plansp = plans;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Writing the set                                                     */

/* Removes a set directory: its plans, its ledger, itself. */
static void
remove_set(const char *dir)
{
	char *plans = xasprintf("%s/plans", dir);
	char *ledger = xasprintf("%s/ledger.yaml", dir);
	DIR *d;
	struct dirent *e;

	if ((d = opendir(plans)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			char *p;

			if (e->d_name[0] == '.')
				continue;
			p = xasprintf("%s/%s", plans, e->d_name);
			unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(plans);
	unlink(ledger);
	rmdir(dir);
	free(plans);
	free(ledger);
}

/* Makes name in dir a symbolic link to target, atomically. */
static int
replace_symlink(const char *dir, const char *name, const char *target)
{
	char *path = xasprintf("%s/%s", dir, name);
	char *tmp = xasprintf("%s/.%s.tmp.%ld", dir, name, (long)getpid());
	int rc = -1;

	unlink(tmp);
	if (symlink(target, tmp) == -1)
		warnx_("%s: symlink: %s", tmp, strerror(errno));
	else if (rename(tmp, path) == -1) {
		warnx_("%s: rename: %s", path, strerror(errno));
		unlink(tmp);
	} else
		rc = 0;
	free(path);
	free(tmp);
	return rc;
}

/*
 * Makes dir/name a link to target; a real file or directory there (from
 * before sets, or an operator's copy) is moved into epochs/ first.
 */
static int
ensure_link(const char *dir, const char *name, const char *target,
    uint64_t epoch)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct stat st;
	int rc = 0;

	if (lstat(path, &st) == 0 && !S_ISLNK(st.st_mode)) {
		char *aside = xasprintf("%s/epochs/before-%" PRIu64 "-%s", dir,
		    epoch, name);

		if (rename(path, aside) == -1) {
			warnx_("%s: cannot move aside: %s", path,
			    strerror(errno));
			rc = -1;
		}
		free(aside);
	}
	if (rc == 0 && (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode)))
		rc = replace_symlink(dir, name, target);
	free(path);
	return rc;
}

/*
 * Writes the new set: every new plan, every kept plan as it was, the
 * ledger; then switches MASTER_DIR/current to it.  Returns 0 or
 * EX_CANTCREAT, leaving the previous set in place.
 */
static int
write_set(const char *dir, const struct topology *t, struct plan **plans,
    const struct ledger *l)
{
	char *epochs = xasprintf("%s/epochs", dir);
	char *set = xasprintf("%s/epochs/%" PRIu64, dir, l->epoch);
	char *setplans = xasprintf("%s/plans", set);
	char *target = xasprintf("epochs/%" PRIu64, l->epoch);
	char *buf = NULL, *path;
	size_t len, h;
	int rc = EX_CANTCREAT;

	remove_set(set);
	if (mkdir_p(setplans, 0755) == -1) {
		warnx_("%s: %s", setplans, strerror(errno));
		goto out;
	}
	for (h = 0; h < t->nhosts; h++) {
		path = xasprintf("%s/%s.yaml", setplans, t->hosts[h].name);
		if (plans[h] != NULL) {
			/* The set is unseen until current points at it:
			 * each file needs an fsync, not a rename. */
			char *text = plan_format(plans[h], &len);

			if (text == NULL || write_new_file(path, text, len) !=
			    0) {
				free(text);
				free(path);
				goto out;
			}
			free(text);
		} else {
			char *oldpath = xasprintf("%s/plans/%s.yaml", dir,
			    t->hosts[h].name);

			if (read_file_at(AT_FDCWD, oldpath, 0, &buf, &len) == 0 &&
			    write_new_file(path, buf, len) != 0) {
				free(oldpath);
				free(path);
				goto out;
			}
			free(buf);
			buf = NULL;
			free(oldpath);
		}
		free(path);
	}
	if ((buf = ledger_format(l, &len)) == NULL) {
		warnx_("cannot format the ledger");
		goto out;
	}
	path = xasprintf("%s/ledger.yaml", set);
	if (write_new_file(path, buf, len) != 0) {
		free(path);
		goto out;
	}
	free(path);
	if (fsync_dir(setplans) == -1 || fsync_dir(set) == -1 ||
	    fsync_dir(epochs) == -1) {
		warnx_("%s: fsync: %s", set, strerror(errno));
		goto out;
	}
	if (replace_symlink(dir, "current", target) != 0)
		goto out;
	if (ensure_link(dir, "plans", "current/plans", l->epoch) != 0 ||
	    ensure_link(dir, "ledger.yaml", "current/ledger.yaml",
	    l->epoch) != 0)
		goto out;
	if (fsync_dir(dir) == -1) {
		warnx_("%s: fsync: %s", dir, strerror(errno));
		goto out;
	}
	if (l->epoch > KEEP_EPOCHS) {
		char *oldset = xasprintf("%s/epochs/%" PRIu64, dir,
		    l->epoch - KEEP_EPOCHS);

		remove_set(oldset);
		free(oldset);
	}
	rc = 0;
out:
	free(buf);
	free(epochs);
	free(set);
	free(setplans);
	free(target);
	return rc;
}

/* Loads every host's current plan; a broken one counts as none. */
struct plan **
load_old_plans(const char *dir, const struct topology *t)
{
	struct plan **old = xcalloc(t->nhosts, sizeof(*old));
	struct diag d = { "" };
	size_t h;

	for (h = 0; h < t->nhosts; h++) {
		char *path = xasprintf("%s/plans/%s.yaml", dir,
		    t->hosts[h].name);
		int rc = plan_load(path, &old[h], &d);

		if (rc != 0 && rc != EX_NOINPUT)
			warnx_("%s (ignored)", d.msg);
		if (old[h] != NULL && strcmp(old[h]->host,
		    t->hosts[h].name) != 0) {
			plan_free(old[h]);
			old[h] = NULL;
		}
		free(path);
	}
	return old;
}

static void
usage_run(void)
{
	fprintf(stderr, "usage: sluice-plan run -d DIR [--method lp|greedy] "
	    "[--horizon N [--incremental]] [--now TIME] [-v]\n");
}

/* --horizon N: 1 to SCHED_HORIZON_MAX rounds; -1 (reported) if not. */
int
horizon_argument(const char *arg)
{
	char *end;
	long h = strtol(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || h < 1 || h > SCHED_HORIZON_MAX) {
		warnx_("--horizon: '%s' is not a number of rounds from 1 to %d",
		    arg, SCHED_HORIZON_MAX);
		return -1;
	}
	return (int)h;
}

int
cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "method", required_argument, NULL, 'm' },
		{ "now", required_argument, NULL, 'n' },
		{ "horizon", required_argument, NULL, 'H' },
		{ "incremental", no_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL;
	struct plan_options opt = { METHOD_LP, 1, 0 };
	struct master *m = NULL;
	struct ledger *l = NULL;
	struct plan **old = NULL, **plans = NULL;
	struct round_stats st;
	struct timespec clock;
	time_t now, expires = 0;
	size_t h;
	int ch, rc, verbose = 0, fixed = 0;

	clock_gettime(CLOCK_REALTIME, &clock);
	now = clock.tv_sec;
	while ((ch = getopt_long(argc, argv, "d:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "lp") == 0)
				opt.method = METHOD_LP;
			else if (strcmp(optarg, "greedy") == 0)
				opt.method = METHOD_GREEDY;
			else {
				warnx_("run: unknown method '%s'", optarg);
				return EX_USAGE;
			}
			break;
		case 'n':
			if (time_parse(optarg, &now) != 0) {
				warnx_("run: --now: '%s' is not a time like "
				    "2026-11-25T08:00:00Z", optarg);
				return EX_USAGE;
			}
			fixed = 1;
			break;
		case 'H':
			if ((opt.horizon = horizon_argument(optarg)) < 0)
				return EX_USAGE;
			break;
		case 'I':
			opt.incremental = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage_run();
			return EX_USAGE;
		}
	}
	if (dir == NULL || optind != argc) {
		usage_run();
		return EX_USAGE;
	}
	if (opt.incremental && opt.horizon < 2) {
		warnx_("run: --incremental needs --horizon 2 or more");
		return EX_USAGE;
	}
	if ((rc = master_load(dir, &m, verbose)) != 0)
		return rc;
	if ((rc = master_ledger(dir, &l)) != 0) {
		master_free(m);
		return rc;
	}
	old = load_old_plans(dir, m->topology);
	/*
	 * Plans expire a round after this moment, rounded up to the second:
	 * rounding the issue time down would steal up to a second of it.
	 */
	expires = fixed ? now + (time_t)ceil(m->topology->round) :
	    (time_t)ceil((double)clock.tv_sec + (double)clock.tv_nsec / 1e9 +
	    m->topology->round);
	rc = plan_round_with(m, l, old, &opt, now, expires, &plans, &st);
	if (rc == 0)
		rc = write_set(dir, m->topology, plans, l);
	if (rc == 0 && verbose) {
		printf("epoch %" PRIu64 ": %zu hosts planned, %zu kept, %zu "
		    "ops, %" PRIu64 " bytes scheduled, method %s (%zu demands, "
		    "%zu candidates, LP %.2fs%s)\n", l->epoch, st.planned,
		    st.kept, st.ops, st.bytes, l->method, st.demands,
		    st.candidates, st.lp_seconds, st.lp_fallbacks ?
		    ", greedy fallback" : "");
		if (opt.incremental)
			printf("site LANs: %zu solved, %zu on the look-ahead "
			    "of epoch %" PRIu64 "\n", st.lans_solved,
			    st.lans_kept, l->epoch - 1);
	}
	for (h = 0; h < m->topology->nhosts; h++) {
		plan_free(old[h]);
		if (plans != NULL)
			plan_free(plans[h]);
	}
	free(old);
	free(plans);
	ledger_free(l);
	master_free(m);
	return rc;
}
