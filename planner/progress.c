/*
 * progress.c: how far the distribution is and how fast it goes, for
 * status.  What each site and host holds of each file comes from the
 * states; the rate from the same sums over the states kept with each
 * epoch set (epochs/N/states/, as planned at the set's issued time) and
 * the states in place (as uploaded: the files' modification times, the
 * master's clock), the oldest against the newest; the ETA is what is
 * left at that rate, set against the lower bound.
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "planner.h"

/* What is published of file f, the bytes each target must come to. */
static double
published(const struct master *m, size_t f)
{
	return m->manifests[f] ? (double)m->manifests[f]->length : 0;
}

/*
 * What src's states hold of what m publishes, each host counted up to
 * it: per file and site added to cells (file * nsites + site) unless
 * NULL, and in all into *held.
 */
static void
held_sums(const struct master *m, const struct master *src, double *cells,
    struct progress_held *held)
{
	const struct topology *t = m->topology;
	size_t f, h;

	memset(held, 0, sizeof(*held));
	for (h = 0; h < t->nhosts; h++) {
		int dest = 0, whole = 1;

		for (f = 0; f < m->fileset->nfiles; f++) {
			double want = published(m, f), l;

			if (!fileset_targets(t, &m->fileset->files[f], h) ||
			    src->states == NULL)
				continue;
			l = fmin((double)master_length(src, h, f), want);
			if (cells != NULL)
				cells[f * t->nsites + t->hosts[h].site] += l;
			held->bytes += l;
			dest |= m->fileset->files[f].generator != h;
			whole &= want > 0 && l >= want;
		}
		held->hosts += dest;
		held->whole += dest && whole;
	}
}

/* The newest modification time of a state in states/ (the master's
 * clock when it came), or 0. */
static time_t
states_uploaded(const struct master *m)
{
	const struct topology *t = m->topology;
	time_t newest = 0;
	struct stat sb;
	size_t h;
	int fd;

	if ((fd = master_open_dir(m->dir, "states")) == -1)
		return 0;
	for (h = 0; h < t->nhosts; h++) {
		char *name = xasprintf("%s.yaml", t->hosts[h].name);

		if (m->states[h] != NULL && fstatat(fd, name, &sb,
		    AT_SYMLINK_NOFOLLOW) == 0 && sb.st_mtime > newest)
			newest = sb.st_mtime;
		free(name);
	}
	close(fd);
	return newest;
}

/*
 * The set kept for epoch, loaded into *old (the caller's, master_free())
 * when it is of m's hosts and files and kept the states it was planned
 * from (a set without states/ would count as holding nothing, and the
 * rate from it as all that is held).  Returns when it was planned, or 0
 * when it is not to be measured (*old NULL).
 */
static time_t
kept_set(const struct master *m, uint64_t epoch, struct master **old)
{
	time_t issued = health_issued(m, epoch);

	*old = NULL;
	if (issued == 0)
		return 0;
	if (master_load_set(m->dir, epoch, old) != 0 || !(*old)->set_states ||
	    (*old)->topology->nhosts != m->topology->nhosts ||
	    (*old)->fileset->nfiles != m->fileset->nfiles) {
		master_free(*old);
		*old = NULL;
		return 0;
	}
	return issued;
}

/* The busiest resource's share of its capacity in the plans of epoch's
 * set, 0 when none carries anything. */
static double
planned_busiest(const struct master *m, uint64_t epoch)
{
	const struct topology *t = m->topology;
	struct plan **plans = epoch_plans(m, epoch);
	double *use = budget_use(t, plans, t->nhosts), top = 0;
	size_t r;

	for (r = 0; r < t->nresources; r++)
		if (t->resources[r].capacity != CAP_UNLIMITED &&
		    t->resources[r].capacity > 0)
			top = fmax(top, use[r] / t->resources[r].capacity);
	plans_free(t, plans);
	free(use);
	return top;
}

/*
 * The fleet's history from what the master keeps, oldest first: each
 * kept epoch set's states at the time the set was planned, with its
 * plans' busiest resource, then the states in place at their upload
 * when that is later (both the master's clock, as measure_rates()
 * takes them), holding the last set's plans.  Returns how many moments
 * are in *out (the caller's, free()).
 */
size_t
progress_history(struct master *m, struct progress_moment **out)
{
	struct progress_moment *mo;
	struct master *old;
	uint64_t *ep;
	size_t n = health_epochs(m, &ep), i, k = 0;
	time_t now = states_uploaded(m);

	mo = xcalloc(n + 2, sizeof(*mo));
	for (i = 0; i < n; i++) {
		if ((mo[k].when = kept_set(m, ep[i], &old)) == 0)
			continue;
		mo[k].epoch = ep[i];
		held_sums(m, old, NULL, &mo[k].held);
		mo[k].busiest = planned_busiest(m, ep[i]);
		master_free(old);
		k++;
	}
	if (now > 0 && (k == 0 || now > mo[k - 1].when)) {
		mo[k].when = now;
		held_sums(m, m, NULL, &mo[k].held);
		mo[k].busiest = k > 0 ? mo[k - 1].busiest : 0;
		k++;
	}
	free(ep);
	*out = mo;
	return k;
}

/*
 * The rate per file and site (bytes/s, into p->sites[].rate) from the
 * oldest kept set to the states in place; p->window is the time between
 * them, 0 when there is not enough to measure.
 */
static void
measure_rates(struct master *m, struct progress *p)
{
	size_t cells = p->nfiles * p->nsites, i, n;
	double *first = xcalloc(cells ? cells : 1, sizeof(double));
	double *last = xcalloc(cells ? cells : 1, sizeof(double));
	struct progress_held held;
	uint64_t *ep;
	time_t t0 = 0, t1 = states_uploaded(m);

	n = health_epochs(m, &ep);
	for (i = 0; i < n && t0 == 0; i++) {
		struct master *old;

		if ((t0 = kept_set(m, ep[i], &old)) == 0)
			continue;
		held_sums(m, old, first, &held);
		master_free(old);
	}
	held_sums(m, m, last, &held);
	if (t0 > 0 && t1 > t0) {
		p->window = difftime(t1, t0);
		for (i = 0; i < cells; i++)
			p->sites[i].rate = fmax(0, (last[i] - first[i]) /
			    p->window);
	}
	free(ep);
	free(first);
	free(last);
}

/*
 * Measures m's progress into p (cleared with progress_free()): per file
 * and site, per host, overall; rates and the ETA where the kept sets
 * allow, the lower bound always.
 */
void
progress_measure(struct master *m, struct progress *p)
{
	const struct topology *t = m->topology;
	size_t f, h, s, c;

	memset(p, 0, sizeof(*p));
	p->nfiles = m->fileset->nfiles;
	p->nsites = t->nsites;
	p->nhosts = t->nhosts;
	p->sites = xcalloc(p->nfiles * p->nsites + 1, sizeof(*p->sites));
	p->files = xcalloc(p->nfiles + 1, sizeof(*p->files));
	p->hosts = xcalloc(p->nhosts + 1, sizeof(*p->hosts));
	p->eta = -1;
	for (c = 0; c < p->nfiles * p->nsites; c++)
		p->sites[c].rate = -1;
	for (f = 0; f < p->nfiles; f++) {
		double want = published(m, f);

		for (h = 0; h < t->nhosts; h++) {
			struct progress_cell *sc =
			    &p->sites[f * p->nsites + t->hosts[h].site];
			double l = (double)master_length(m, h, f);

			if (!fileset_targets(t, &m->fileset->files[f], h))
				continue;
			l = l < want ? l : want;
			sc->targets++;
			sc->complete += want > 0 && l >= want;
			sc->have += l;
			sc->need += want;
			p->hosts[h].files++;
			p->hosts[h].complete += want > 0 && l >= want;
			p->hosts[h].have += l;
			p->hosts[h].need += want;
		}
	}
	for (h = 0; h < t->nhosts; h++)
		p->hosts[h].free = m->states[h] && m->states[h]->has_free ?
		    (double)m->states[h]->free : -1;
	if (m->dir != NULL)
		measure_rates(m, p);
	for (f = 0; f < p->nfiles; f++) {
		struct progress_cell *fc = &p->files[f];

		fc->rate = p->window > 0 ? 0 : -1;
		for (s = 0; s < p->nsites; s++) {
			const struct progress_cell *sc =
			    &p->sites[f * p->nsites + s];

			fc->targets += sc->targets;
			fc->complete += sc->complete;
			fc->have += sc->have;
			fc->need += sc->need;
			if (sc->rate > 0)
				fc->rate += sc->rate;
		}
		p->all.targets += fc->targets;
		p->all.complete += fc->complete;
		p->all.have += fc->have;
		p->all.need += fc->need;
		p->all.rate = p->window > 0 ? p->all.rate + fmax(0, fc->rate) :
		    -1;
	}
	if (p->all.need <= p->all.have)
		p->eta = 0;
	else if (p->all.rate > 0)
		p->eta = (p->all.need - p->all.have) / p->all.rate;
	p->bound = bound_makespan(m, p->bound_why, sizeof(p->bound_why));
}

void
progress_free(struct progress *p)
{
	if (p == NULL)
		return;
	free(p->sites);
	free(p->files);
	free(p->hosts);
	memset(p, 0, sizeof(*p));
}

/* Formats seconds as 1h02m, 3m20s or 45s into buf. */
void
progress_duration(char *buf, size_t size, double s)
{
	long v = lround(s);

	if (s < 0)
		snprintf(buf, size, "unknown");
	else if (v >= 3600)
		snprintf(buf, size, "%ldh%02ldm", v / 3600, v % 3600 / 60);
	else if (v >= 60)
		snprintf(buf, size, "%ldm%02lds", v / 60, v % 60);
	else
		snprintf(buf, size, "%lds", v);
}
