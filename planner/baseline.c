/*
 * baseline.c: the baselines the planner is measured against, run as
 * fluid flows with max-min fair sharing (progressive filling) over the
 * same resources: origin, every host pulling from the generator; swarm,
 * every host pulling from a few random holders, chosen again every five
 * seconds, with no capacity planning, and pieces taken at random (a holder
 * of n of N pieces has n(N - m)/N of those a host with m lacks; overlap
 * between a host's peers is ignored, which flatters swarm).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "planner.h"

#define SWARM_PEERS 4
#define SWARM_REPICK 5.0	/* seconds between choices of peers */

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
			    *sim_hold(s, h, f) >= file->size)
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
					if (c == h || *sim_hold(s, c, f) == 0)
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
				if (sim_fault_active(s, comp, round))
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
void
sim_flow_round(struct sim *s, long round)
{
	struct topology *t = s->t;
	size_t i, n = 0, cap = 64;
	struct flow *fl = xcalloc(cap, sizeof(*fl));
	size_t kept;
	struct budget b;
	double start = (double)(round - 1) * s->T, elapsed = 0, picked = -1e9;

	budget_init(&b, t, SCHED_PAYLOAD_SHARE);
	while (elapsed < s->T - 1e-9 && !sim_all_done(s)) {
		double dt = fmin(1.0, s->T - elapsed);

		sim_publish(s, start + elapsed);

		if (picked < 0 || (s->method == SIM_SWARM &&
		    elapsed - picked >= SWARM_REPICK - 1e-9)) {
			n = choose_flows(s, round, &fl, &cap);
			picked = elapsed;
		}
		/* A host that is whole gives its share back. */
		for (i = kept = 0; i < n; i++)
			if (*sim_hold(s, fl[i].dst, fl[i].file) <
			    s->m->fileset->files[fl[i].file].size)
				fl[kept++] = fl[i];
		n = kept;
		max_min(s, fl, n, b.room);
		for (i = 0; i < n; i++) {
			int k;

			for (k = 0; k < fl[i].nres; k++)
				s->use[fl[i].res[k]] += fl[i].rate * dt / s->T;
			uint64_t *d = sim_hold(s, fl[i].dst, fl[i].file);
			uint64_t have = *sim_hold(s, fl[i].src, fl[i].file);
			uint64_t size = s->m->fileset->files[fl[i].file].size;
			uint64_t pub = sim_published(s, fl[i].file);
			uint64_t lim = (have < size ? have : size);
			uint64_t got;

			double useful;

			if (sim_corrupts(s, t->hosts[fl[i].src].name))
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
		sim_note_done(s, start + elapsed);
	}
	free(fl);
	budget_free(&b);
}

/* Records the round for the chart and clears the round's use. */
