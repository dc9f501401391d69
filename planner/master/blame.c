/*
 * blame.c: the failure accounting that keeps the ledger: each new state's
 * failures counted against their components, successes forgiving them,
 * failed components kept out and tried again.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "master.h"

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
 * Notes who saw a failure of a component (the reporter) and whose
 * connection it was (the source), since the component last worked: one
 * name of each and whether there were more.
 */
struct ledger_count *
ledger_note(struct ledger *l, const char *name, const char *witness,
    const char *culprit)
{
	struct ledger_count *lc = ledger_component(l, name, 1);

	if (lc->witness == NULL) {
		lc->witness = xstrdup(witness);
		lc->witnesses = 1;
	} else if (strcmp(lc->witness, witness) != 0)
		lc->witnesses = 2;
	if (lc->culprit == NULL) {
		lc->culprit = xstrdup(culprit);
		lc->culprits = 1;
	} else if (strcmp(lc->culprit, culprit) != 0)
		lc->culprits = 2;
	return lc;
}

/*
 * Counts one failure against a component; marks it failed when its
 * failures reach the threshold.  Hard failures (a block that does not
 * match, data missing, a key refused or changed) are evidence that a
 * later success elsewhere does not undo; transient ones are reset by it.
 * A failed component is tried again after LEDGER_RETRY_EPOCHS rounds, or
 * after LEDGER_RETRY_THIN when the evidence was thin (transient failures
 * seen by one host alone), twice as long each time it fails again before
 * a success through it.
 */
void
ledger_blame(struct ledger *l, const char *name, uint64_t epoch, time_t now,
    unsigned threshold, int hard, const char *reason)
{
	struct ledger_count *lc = ledger_component(l, name, 1);
	uint64_t wait;

	if (hard && lc->hard < 1000000)
		lc->hard++;
	else if (!hard && lc->count < 1000000)
		lc->count++;
	if (lc->count + lc->hard < threshold || lc->failed_epoch != 0)
		return;
	wait = LEDGER_RETRY_EPOCHS;
	if (lc->hard == 0 && lc->witnesses < 2) {
		wait = (uint64_t)LEDGER_RETRY_THIN << (lc->strikes < 8 ?
		    lc->strikes : 8);
		if (wait > LEDGER_RETRY_EPOCHS)
			wait = LEDGER_RETRY_EPOCHS;
	}
	if (lc->strikes < 1000)
		lc->strikes++;
	lc->failed_epoch = epoch;
	lc->failed_time = now;
	lc->retry_epoch = epoch + wait;
	free(lc->reason);
	lc->reason = xstrdup(reason);
	ledger_add_change(l, "%s failed: %s; tried again in %llu rounds", name,
	    reason, (unsigned long long)wait);
}

/* A transfer through the component succeeded: transient failures are
 * forgiven, and a later failure starts from the shortest wait. */
void
ledger_absolve(struct ledger *l, const char *name)
{
	struct ledger_count *lc = ledger_component(l, name, 0);

	if (lc != NULL && lc->failed_epoch == 0) {
		lc->count = 0;
		lc->strikes = 0;
		if (lc->hard == 0) {
			free(lc->witness);
			lc->witness = NULL;
			lc->witnesses = 0;
			free(lc->culprit);
			lc->culprit = NULL;
			lc->culprits = 0;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Failure accounting: the ledger from the reports                     */

/*
 * Blame is earned.  A reported failure counts only when its op is one the
 * reporting host's plan of that epoch held, with the source that plan
 * named; the components it may count against are those of the op's route
 * (taken from the plan and the topology, never from the report) that the
 * report also names (a host leaves out what it found to be its own
 * fault).  Then:
 *  - a block that does not match, data missing, a key refused or changed
 *    (hard failures) count against the source host alone; but while one
 *    host alone reports the only complete holder of the file, that
 *    holder is not failed on its word (it is counted, and fails once a
 *    second host reports it), and the reporter is counted as a suspect;
 *  - a connection that failed or timed out counts against the source host,
 *    unless the reporter failed this way with two or more sources and
 *    finished nothing from any (its own network is the suspect, and its
 *    reports blame no one);
 *  - a site or link counts only when, in one run's reports, such failures
 *    across it come from two or more sources and reach two or more
 *    destinations: one host at either end would explain less.
 * Each component counts once per run and reporter.  Anything else in a
 * report is said once on stderr and dropped: nothing unearned is stored.
 */
struct evidence {
	size_t		 src, dst;	/* host indices */
	long		 file;		/* file set entry; -1 not in it */
	int		 hard;
	char		*reason;
	char		**names;	/* route components the report names */
	size_t		 nnames;
};

struct evidences {
	struct evidence	*e;
	size_t		 n, cap;
	char		*done;		/* per host: finished an op */
	char		*served;	/* per host: a source of a finished op */
	char		**worked;	/* components an op crossed this run */
	size_t		 nworked, capworked;
};

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

struct absolve {
	struct ledger	*l;
	struct evidences *ev;
};

static void
absolve_cb(void *arg, const char *component)
{
	struct absolve *a = arg;
	struct evidences *ev = a->ev;

	ledger_absolve(a->l, component);
	if (ev->nworked == ev->capworked) {
		ev->capworked = ev->capworked ? 2 * ev->capworked : 16;
		ev->worked = xreallocarray(ev->worked, ev->capworked,
		    sizeof(char *));
	}
	ev->worked[ev->nworked++] = xstrdup(component);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 when an op crossed the component this run (worked is sorted). */
static int
worked(const struct evidences *ev, const char *component)
{
	return ev->nworked > 0 && bsearch(&component, ev->worked, ev->nworked,
	    sizeof(char *), cmp_str) != NULL;
}

/* Collects the route's components that a failure report names. */
struct named {
	const struct failure *f;
	struct evidence	*e;
};

static void
named_cb(void *arg, const char *component)
{
	struct named *n = arg;
	size_t i;

	for (i = 0; i < n->f->ncomponents; i++)
		if (strcmp(n->f->components[i], component) == 0) {
			n->e->names = xreallocarray(n->e->names,
			    n->e->nnames + 1, sizeof(char *));
			n->e->names[n->e->nnames++] = xstrdup(component);
			return;
		}
}

/*
 * The plan a state follows: the host's current one when the epochs match,
 * else that epoch's as kept in DIR/epochs/ (and signed, when plans are);
 * NULL when it is gone.  *owned
 * says whether the caller frees it.
 */
static struct plan *
plan_of_epoch(const struct master *m, struct plan *current, size_t h,
    uint64_t epoch, int *owned)
{
	struct plan *p = NULL;

	*owned = 0;
	if (current != NULL && current->epoch == epoch)
		return current;
	if (epoch == 0 || master_read_plan(m, epoch, h, &p) != 0)
		return NULL;
	if (p != NULL && p->epoch != epoch) {
		plan_free(p);
		return NULL;
	}
	*owned = p != NULL;
	return p;
}

static const struct op *
plan_op(const struct plan *p, const char *id)
{
	size_t i;

	for (i = 0; p != NULL && i < p->nops; i++)
		if (strcmp(p->ops[i].id, id) == 0)
			return &p->ops[i];
	return NULL;
}

/*
 * Turns a new report's failures into evidence (each checked against the
 * plan it follows), and forgives the components of every op of that plan
 * the host finished.
 */
static void
gather_report(struct master *m, struct ledger *l, size_t h,
    struct plan *current, struct evidences *ev)
{
	struct topology *t = m->topology;
	const struct state *s = m->states[h];
	struct absolve ab;
	struct plan *p;
	size_t i, j;
	int owned;

	p = plan_of_epoch(m, current, h, s->epoch, &owned);
	for (i = 0; i < s->nfailures; i++) {
		const struct failure *f = &s->failures[i];
		const struct op *o = plan_op(p, f->op);
		struct evidence *e;
		struct named nm;
		long src;

		/* A full disk is the host's own, and no component's: the
		 * free space its state reports bounds what it is sent. */
		if (f->class == FAIL_NOSPACE)
			continue;

		/* An op taken from its fallback fails on the fallback. */
		if (o != NULL && o->fallback != NULL && f->source != NULL &&
		    strcmp(f->source, o->fallback->source.host) == 0)
			src = topology_host(t, o->fallback->source.host);
		else if (o == NULL || (f->source != NULL &&
		    strcmp(f->source, o->source.host) != 0))
			src = -1;
		else
			src = topology_host(t, o->source.host);
		if (src < 0) {
			char *op = text_escape(f->op), *from =
			    text_escape(f->source ? f->source : "");

			warnx_("state of %s: failure of op %s%s%s, which its "
			    "plan of epoch %" PRIu64 " does not hold: ignored",
			    t->hosts[h].name, op, f->source ? " from " : "",
			    from, s->epoch);
			free(op);
			free(from);
			continue;
		}
		if (ev->n == ev->cap) {
			ev->cap = ev->cap ? 2 * ev->cap : 16;
			ev->e = xreallocarray(ev->e, ev->cap, sizeof(*ev->e));
		}
		e = &ev->e[ev->n++];
		memset(e, 0, sizeof(*e));
		e->src = (size_t)src;
		e->dst = h;
		e->file = fileset_find(m->fileset, o->file);
		if (e->file >= 0 && m->fileset->files[e->file].version !=
		    o->version)
			e->file = -1;
		e->hard = f->class == FAIL_CHECKSUM || f->class ==
		    FAIL_MISSING || f->class == FAIL_AUTH || f->class ==
		    FAIL_HOSTKEY;
		e->reason = xasprintf("%s%s%s (op %s, reported by %s)",
		    failure_class_name(f->class), f->detail ? ": " : "",
		    f->detail ? f->detail : "", f->op, t->hosts[h].name);
		nm.f = f;
		nm.e = e;
		op_components(t, e->src, h, named_cb, &nm);
	}
	for (i = 0; p != NULL && i < p->nops; i++) {
		const struct op *o = &p->ops[i];
		long src = topology_host(t, o->source.host);

		if (src < 0 || state_length(s, o->file, o->version) <
		    o->offset + o->length)
			continue;
		for (j = 0; j < s->nfailures; j++)
			if (strcmp(s->failures[j].op, o->id) == 0)
				break;
		if (j < s->nfailures)
			continue;
		ev->done[h] = 1;
		ev->served[src] = 1;
		ab.l = l;
		ab.ev = ev;
		op_components(t, (size_t)src, h, absolve_cb, &ab);
	}
	if (owned)
		plan_free(p);
}

/* One component an evidence may count against. */
struct charge {
	const char	*component;
	size_t		 reporter;	/* a host's; (size_t)-1 for the rest */
	size_t		 index;		/* the evidence */
};

static int
cmp_charge(const void *a, const void *b)
{
	const struct charge *x = a, *y = b;
	int c = strcmp(x->component, y->component);

	if (c != 0)
		return c;
	if (x->reporter != y->reporter)
		return x->reporter < y->reporter ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/* The site at the other end of an evidence's route from site. */
static size_t
other_site(const struct topology *t, const struct evidence *e,
    const char *site)
{
	size_t a = t->hosts[e->src].site, b = t->hosts[e->dst].site;

	return strcmp(t->sites[a].name, site) == 0 ? b : a;
}

/*
 * Whether a group of charges against one site or link counts.  Every
 * failure's ends are noted first (ledger_note()).  Then: nothing crossed
 * it this run, and its failures are not explained by one host at either
 * end: since it last worked they came from two or more sources, or this
 * run from one that served another op; and likewise reached two or more
 * destinations, or one that finished another op.  A site's, besides,
 * reach it this run from two or more other sites (over two or more of its
 * links), else the link between is the one to blame.
 */
static int
path_counts(struct ledger *l, const struct topology *t,
    const struct evidences *ev, const struct charge *ch, size_t n)
{
	const struct evidence *e0 = &ev->e[ch[0].index];
	const char *name = ch[0].component;
	int site = strncmp(name, "site:", 5) == 0, srcs = 0, dsts = 0;
	int others = 0;
	size_t k, o0 = site ? other_site(t, e0, name + 5) : 0;
	struct ledger_count *lc = NULL;

	for (k = 0; k < n; k++) {
		const struct evidence *e = &ev->e[ch[k].index];

		lc = ledger_note(l, name, t->hosts[e->dst].name,
		    t->hosts[e->src].name);
		srcs |= ev->served[e->src];
		dsts |= ev->done[e->dst];
		if (site)
			others |= other_site(t, e, name + 5) != o0;
	}
	if (worked(ev, name))
		return 0;
	srcs |= lc->culprits > 1;
	dsts |= lc->witnesses > 1;
	return srcs && dsts && (!site || others);
}

/*
 * Whether the source of hard evidence is the only host that holds all
 * that is published of the op's file: failing it on one host's word
 * would stop the file for every host.
 */
static int
sole_complete(const struct master *m, const struct evidence *e)
{
	uint64_t want;
	size_t h;

	if (e->file < 0 || m->manifests[e->file] == NULL)
		return 0;
	want = master_target_length(m, (size_t)e->file);
	if (master_length(m, e->src, (size_t)e->file) < want)
		return 0;
	for (h = 0; h < m->topology->nhosts; h++)
		if (h != e->src && master_length(m, h, (size_t)e->file) >= want)
			return 0;
	return 1;
}

/*
 * Counts hard evidence against its witness: a host alone in reporting
 * the only complete holder corrupt may be corrupting what it reads (its
 * memory, its disk), and as a source it would pass that on.
 */
static void
blame_witness(const struct master *m, struct ledger *l,
    const struct evidence *e, uint64_t epoch, time_t now)
{
	const struct topology *t = m->topology;
	char comp[300], *why;

	snprintf(comp, sizeof(comp), "host:%s", t->hosts[e->dst].name);
	why = xasprintf("alone in reporting %s, the only complete holder: "
	    "%s", t->hosts[e->src].name, e->reason);
	ledger_note(l, comp, t->hosts[e->dst].name, t->hosts[e->dst].name);
	ledger_blame(l, comp, epoch, now, t->failure_threshold, 1, why);
	free(why);
}

/*
 * Counts the run's evidence: a host once per reporter, a site or link once
 * per run when path_counts() says so.  Linear in the evidence but for one
 * sort.
 */
static void
attribute(struct master *m, struct ledger *l, struct evidences *ev,
    uint64_t epoch, time_t now)
{
	struct topology *t = m->topology;
	size_t *first = xcalloc(t->nhosts ? t->nhosts : 1, sizeof(size_t));
	char *suspect = xcalloc(t->nhosts ? t->nhosts : 1, 1);
	struct charge *ch = NULL;
	size_t i, j, k, n = 0, cap = 0;
	unsigned limit;

	if (ev->nworked > 0)
		qsort(ev->worked, ev->nworked, sizeof(char *), cmp_str);
	/* A reporter whose transient failures blame two or more sources and
	 * that finished nothing: its own network is the suspect.  (An op
	 * that ran out of time blames nothing.) */
	for (i = 0; i < t->nhosts; i++)
		first[i] = (size_t)-1;
	for (i = 0; i < ev->n; i++) {
		const struct evidence *e = &ev->e[i];

		if (e->hard || e->nnames == 0)
			continue;
		if (first[e->dst] == (size_t)-1)
			first[e->dst] = e->src;
		else if (first[e->dst] != e->src && !ev->done[e->dst])
			suspect[e->dst] = 1;
	}
	for (i = 0; i < ev->n; i++) {
		const struct evidence *e = &ev->e[i];

		if (!e->hard && suspect[e->dst])
			continue;
		for (j = 0; j < e->nnames; j++) {
			int host = strncmp(e->names[j], "host:", 5) == 0;

			/* Hard evidence is the source's alone; a source that
			 * served another op this run is not down. */
			if (host ? !e->hard && ev->served[e->src] : e->hard)
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 16;
				ch = xreallocarray(ch, cap, sizeof(*ch));
			}
			ch[n].component = e->names[j];
			ch[n].reporter = host ? e->dst : (size_t)-1;
			ch[n].index = i;
			n++;
		}
	}
	if (n > 0)
		qsort(ch, n, sizeof(*ch), cmp_charge);
	for (i = 0; i < n; i = j) {
		size_t why = ch[i].index;

		for (j = i + 1; j < n && strcmp(ch[i].component,
		    ch[j].component) == 0 && ch[i].reporter == ch[j].reporter;
		    j++)
			;
		for (k = i + 1; k < j; k++)
			if (ev->e[ch[k].index].hard && !ev->e[why].hard)
				why = ch[k].index;
		limit = t->failure_threshold;
		if (ch[i].reporter == (size_t)-1) {
			if (!path_counts(l, t, ev, &ch[i], j - i))
				continue;
		} else if (ledger_note(l, ch[i].component,
		    t->hosts[ev->e[why].dst].name,
		    t->hosts[ev->e[why].src].name)->witnesses < 2 &&
		    ev->e[why].hard && sole_complete(m, &ev->e[why])) {
			/* One witness of the only complete holder: its word
			 * alone fails no one; it is the suspect too. */
			limit = UINT_MAX;
			blame_witness(m, l, &ev->e[why], epoch, now);
		}
		ledger_blame(l, ch[i].component, epoch, now, limit,
		    ev->e[why].hard, ev->e[why].reason);
	}
	free(ch);
	free(first);
	free(suspect);
}

static void
evidences_free(struct evidences *ev)
{
	size_t i, j;

	for (i = 0; i < ev->n; i++) {
		for (j = 0; j < ev->e[i].nnames; j++)
			free(ev->e[i].names[j]);
		free(ev->e[i].names);
		free(ev->e[i].reason);
	}
	free(ev->e);
	free(ev->done);
	free(ev->served);
	for (i = 0; i < ev->nworked; i++)
		free(ev->worked[i]);
	free(ev->worked);
}

/* Gives a failed component another chance when its time comes. */
static void
retry_failed(struct ledger *l, uint64_t epoch, time_t now, double round)
{
	size_t i;

	for (i = 0; i < l->ncounts; i++) {
		struct ledger_count *c = &l->counts[i];

		if (c->failed_epoch == 0 || epoch < c->retry_epoch)
			continue;
		/* Rounds of time too: sluice-plan run --replan makes sets
		 * faster than the round. */
		if (c->failed_time != 0 && difftime(now, c->failed_time) <
		    ((double)(c->retry_epoch - c->failed_epoch) - 0.5) * round)
			continue;
		ledger_add_change(l, "%s tried again after %llu rounds",
		    c->component, (unsigned long long)(epoch -
		    c->failed_epoch));
		ledger_reset(c, 0);
	}
}

/* Clears a component's failure and the evidence behind it; with
 * strikes_too, also how often it failed (a clean slate). */
void
ledger_reset(struct ledger_count *c, int strikes_too)
{
	c->failed_epoch = 0;
	c->failed_time = 0;
	c->retry_epoch = 0;
	c->count = 0;
	c->hard = 0;
	c->witnesses = 0;
	free(c->witness);
	c->witness = NULL;
	c->culprits = 0;
	free(c->culprit);
	c->culprit = NULL;
	free(c->reason);
	c->reason = NULL;
	free(c->entry);
	c->entry = NULL;
	if (strikes_too)
		c->strikes = 0;
}

/* What the topology says of a component, to notice when the operator
 * changes it; NULL when it has no such component. */
static char *
component_entry(const struct topology *t, const char *name)
{
	size_t i;

	if (strncmp(name, "host:", 5) == 0) {
		long h = topology_host(t, name + 5);
		const struct host *x;

		if (h < 0)
			return NULL;
		x = &t->hosts[h];
		return xasprintf("%s %s %u %s %s %.17g %.17g",
		    t->sites[x->site].name, x->address, x->port,
		    x->user ? x->user : "-", x->root, x->nic_in, x->nic_out);
	}
	if (strncmp(name, "site:", 5) == 0) {
		for (i = 0; i < t->nsites; i++)
			if (strcmp(t->sites[i].name, name + 5) == 0)
				return xasprintf("%.17g %.17g",
				    t->sites[i].uplink, t->sites[i].downlink);
		return NULL;
	}
	if (strncmp(name, "link:", 5) == 0)
		for (i = 0; i < t->nlinks; i++)
			if (strcmp(t->links[i].name, name + 5) == 0)
				return xasprintf("%s %s %.17g %.17g",
				    t->sites[t->links[i].a].name,
				    t->sites[t->links[i].b].name,
				    t->links[i].capacity, t->links[i].reserved);
	return NULL;
}

/* A failed component whose topology entry the operator has changed since
 * (a host's root or address fixed, a link's capacity) is tried again at
 * once; a newly failed one has its entry noted. */
static void
note_entries(struct ledger *l, const struct topology *t, int reset)
{
	size_t i;

	for (i = 0; i < l->ncounts; i++) {
		struct ledger_count *c = &l->counts[i];
		char *now;

		if (c->failed_epoch == 0 || (reset && c->entry == NULL) ||
		    (!reset && c->entry != NULL))
			continue;
		if ((now = component_entry(t, c->component)) == NULL)
			continue;
		if (!reset)
			c->entry = now;
		else {
			if (strcmp(now, c->entry) != 0) {
				ledger_add_change(l, "%s changed in the "
				    "topology: tried again", c->component);
				ledger_reset(c, 1);
			}
			free(now);
		}
	}
}

/* Drops counts of components the topology no longer has. */
static void
prune_components(struct ledger *l, const struct topology *t)
{
	size_t i, k;

	for (i = k = 0; i < l->ncounts; i++) {
		struct ledger_count *c = &l->counts[i];

		char *entry = component_entry(t, c->component);

		free(entry);
		if (entry != NULL) {
			l->counts[k++] = *c;
			continue;
		}
		ledger_add_change(l, "%s forgotten: not in the topology",
		    c->component);
		free(c->component);
		free(c->reason);
		free(c->witness);
		free(c->culprit);
		free(c->entry);
	}
	l->ncounts = k;
}

/* Blocks what failed: sites and links for routes, hosts as sources. */
/* Records the resource picture and what changed in it since last run. */
static void
update_picture(struct ledger *l, const struct topology *t, char *changed)
{
	struct ledger_capacity *pic = xcalloc(t->nresources, sizeof(*pic));
	size_t i, j, k, next = 0;
	char a[32], b[32];

	for (i = 0; i < t->nresources; i++) {
		const struct resource *r = &t->resources[t->resource_order[i]];

		pic[i].resource = xstrdup(r->id);
		pic[i].capacity = r->capacity;
	}
	if (l->npicture > 0)
		for (i = 0; i < t->nresources; i++) {
			/* Both in the topology's order: each resource is
			 * looked for where the last one was found. */
			for (k = 0, j = l->npicture; k < l->npicture; k++)
				if (strcmp(l->picture[(next + k) %
				    l->npicture].resource,
				    pic[i].resource) == 0) {
					j = (next + k) % l->npicture;
					next = j + 1;
					break;
				}
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
/*
 * What the ledger has failed, as the round takes it: source_ok[h] cleared
 * for a failed host, blocked[r] set for the resources of a failed site or
 * link.
 */
void
ledger_apply(const struct ledger *l, const struct topology *t,
    char *source_ok, char *blocked)
{
	char buf[300];
	size_t i;

	for (i = 0; i < t->nhosts; i++) {
		snprintf(buf, sizeof(buf), "host:%s", t->hosts[i].name);
		if (ledger_failed(l, buf))
			source_ok[i] = 0;
	}
	for (i = 0; i < t->nsites; i++) {
		snprintf(buf, sizeof(buf), "site:%s", t->sites[i].name);
		if (ledger_failed(l, buf)) {
			blocked[res_site_up(t, i)] = 1;
			blocked[res_site_down(t, i)] = 1;
		}
	}
	for (i = 0; i < t->nlinks; i++) {
		snprintf(buf, sizeof(buf), "link:%s", t->links[i].name);
		if (ledger_failed(l, buf)) {
			blocked[res_link(t, i, 0)] = 1;
			blocked[res_link(t, i, 1)] = 1;
		}
	}
}

/*
 * Keeps who wrote a host's state, and says so when that changes: another
 * machine, or another store, reporting under the same host name is a
 * moved or reinstalled host, or two hosts configured as one.
 */
static void
note_reporter(struct ledger *l, struct ledger_report *rep,
    const struct state *st)
{
	if (st->machine == NULL || st->store == NULL)
		return;
	if (rep->store != NULL && rep->machine != NULL &&
	    strcmp(rep->store, st->store) != 0) {
		warnx_("host %s: its state now comes from machine %s (store "
		    "%.8s), before from %s (store %.8s): moved, reinstalled, "
		    "or another host's configuration copied?", rep->host,
		    st->machine, st->store, rep->machine, rep->store);
		ledger_add_change(l, "host %s: state now from machine %s "
		    "(store %.8s), before from %s (store %.8s)", rep->host,
		    st->machine, st->store, rep->machine, rep->store);
	}
	free(rep->machine);
	free(rep->store);
	rep->machine = xstrdup(st->machine);
	rep->store = xstrdup(st->store);
}

void
ledger_update(struct ledger *l, struct master *m, struct plan **old,
    uint64_t epoch, time_t now, char *changed)
{
	struct topology *t = m->topology;
	struct evidences ev;
	size_t h, i, next = 0;

	for (i = 0; i < l->nchanges; i++)
		free(l->changes[i]);
	l->nchanges = 0;
	prune_components(l, t);
	note_entries(l, t, 1);
	memset(&ev, 0, sizeof(ev));
	ev.done = xcalloc(t->nhosts ? t->nhosts : 1, 1);
	ev.served = xcalloc(t->nhosts ? t->nhosts : 1, 1);
	for (h = 0; h < t->nhosts; h++) {
		const struct state *st = m->states[h];
		struct ledger_report *rep;

		if (st == NULL)
			continue;
		rep = ledger_report(l, t->hosts[h].name, 1, &next);
		if (rep->epoch == st->epoch && rep->time == st->time &&
		    (rep->epoch != 0 || rep->time != 0))
			continue;
		/* Older than what was counted: an old report put back
		 * counts no failure again (master_load() falls back on the
		 * state counted last; this is where none was kept). */
		if (st->time < rep->time || (st->time == rep->time &&
		    st->epoch < rep->epoch))
			continue;
		gather_report(m, l, h, old[h], &ev);
		rep->epoch = st->epoch;
		rep->time = st->time;
		note_reporter(l, rep, st);
	}
	attribute(m, l, &ev, epoch, now);
	note_entries(l, t, 0);
	evidences_free(&ev);
	retry_failed(l, epoch, now, t->round);
	update_picture(l, t, changed);
}
