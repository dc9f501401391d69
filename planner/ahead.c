/*
 * ahead.c: the look-ahead.  With --horizon the LP also plans the rounds
 * after this one; their blocks are kept in the ledger, and with
 * --incremental a site whose hosts did exactly what they were asked takes
 * its next round from there instead of a new solve.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "planner.h"

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

/*
 * Resolves the last run's look-ahead once, before the LANs: each entry's
 * candidate (its host's demand for the file, from that source, within the
 * site) and its host's site.
 */
static void
ahead_resolve(struct sched *s)
{
	size_t nf = s->m->fileset->nfiles, i, j;

	s->prior_cand = xcalloc(s->nprior + 1, sizeof(long));
	s->prior_site = xcalloc(s->nprior + 1, sizeof(long));
	for (i = 0; i < s->nprior; i++) {
		const struct ledger_ahead *a = &s->prior[i];
		long h = topology_host(s->t, a->host);
		long src = topology_host(s->t, a->source);
		long f = fileset_find(s->m->fileset, a->file), d;

		s->prior_cand[i] = -1;
		s->prior_site[i] = h < 0 ? -1 : (long)s->t->hosts[h].site;
		if (h < 0 || src < 0 || f < 0 ||
		    s->m->fileset->files[f].version != a->version ||
		    (d = s->demand_of[(size_t)h * nf + (size_t)f]) < 0)
			continue;
		for (j = s->demands[d].first; j < s->demands[d].first +
		    s->demands[d].ncand; j++)
			if (s->cands[j].source == (size_t)src &&
			    !s->cands[j].wan)
				s->prior_cand[i] = (long)j;
	}
}

/*
 * A site on schedule takes the last run's look-ahead: its next round now,
 * as far as ranges and capacities still allow, and the rounds after as
 * this run's look-ahead.
 */
int
ahead_take(struct sched *s, size_t site)
{
	uint64_t asked = 0, granted = 0;
	size_t i;

	for (i = 0; i < s->nprior; i++) {
		const struct ledger_ahead *a = &s->prior[i];
		struct candidate *c;
		uint64_t bs, k, room;

		if (a->round != 2 || s->prior_site[i] != (long)site)
			continue;
		if (s->prior_cand[i] < 0) {
			asked += a->bytes;
			continue;
		}
		c = &s->cands[s->prior_cand[i]];
		bs = sched_block_size(s, s->demands[c->demand].file);
		k = a->bytes / bs;
		asked += k * bs;
		room = sched_room(s, c);
		if (k > room)
			k = room;
		c->blocks += k;
		sched_charge(s, c, k);
		granted += k * bs;
	}
	/* What no longer fits is worth a new solve: give it all back (a
	 * LAN candidate holds nothing but this before its site is done). */
	if (granted < asked - asked / 100) {
		for (i = 0; i < s->nprior; i++) {
			struct candidate *c;

			if (s->prior[i].round != 2 ||
			    s->prior_site[i] != (long)site ||
			    s->prior_cand[i] < 0)
				continue;
			c = &s->cands[s->prior_cand[i]];
			sched_charge(s, c, -(double)c->blocks);
			c->blocks = 0;
		}
		return -1;
	}
	for (i = 0; i < s->nprior; i++) {
		const struct ledger_ahead *a = &s->prior[i];
		struct candidate *c;

		if (a->round <= 2 || s->prior_site[i] != (long)site ||
		    s->prior_cand[i] < 0)
			continue;
		c = &s->cands[s->prior_cand[i]];
		c->ahead[a->round - 3] += (double)(a->bytes /
		    sched_block_size(s, s->demands[c->demand].file));
	}
	return 0;
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
			    changed[res_host_out(h)] ||
			    changed[res_host_in(h)] ||
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
void
ahead_record(struct ledger *l, const struct sched *s)
{
	const struct topology *t = s->t;
	size_t i, k, n = 0;

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
 * Before the allocation: marks the sites on schedule and resolves the
 * last run's look-ahead against this run's candidates.
 */
void
ahead_prepare(struct sched *s, const struct ledger *l, struct plan **old,
    const char *changed)
{
	s->site_kept = sites_on_schedule(s, l, old, changed);
	s->prior = l->ahead;
	s->nprior = l->nahead;
	ahead_resolve(s);
}

/* After it: the sites that took the look-ahead, as changes. */
void
ahead_report(const struct sched *s, struct ledger *l)
{
	size_t i;

	for (i = 0; s->site_kept != NULL && i < s->t->nsites; i++)
		if (s->site_kept[i] == 2)
			ledger_add_change(l, "site %s: LAN on the look-ahead "
			    "of epoch %" PRIu64 ", not solved again",
			    s->t->sites[i].name, l->epoch);
}
