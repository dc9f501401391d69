/*
 * baseline.c: the baselines the planner is measured against, run as
 * fluid flows with max-min fair sharing (progressive filling) over the
 * same resources, every flow charged on every resource of its route:
 * origin, every host pulling from the generator; swarm, every host
 * pulling from a few random peers that have a piece it lacks, chosen
 * again every five seconds, with no capacity planning.  Swarm keeps each
 * host's pieces (whole blocks) and a flow moves random pieces its source
 * has and its destination lacks, no other: a piece counts once, and only
 * after it has crossed every link between where it was and where it goes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define SWARM_PEERS 4
#define SWARM_REPICK 5.0	/* seconds between choices of peers */

struct flow {
	size_t		 src, dst, file;
	size_t		 res[ROUTE_MAX + 4];
	int		 nres;
	double		 rate;
	int		 frozen;
	double		 carry;		/* swarm: bytes carried short of a
					 * whole piece, by this flow alone */
};

/*
 * The swarm's pieces: 256 KiB, BitTorrent's usual size, finer than the
 * blocks sluice verifies (a swarm verifies its own pieces), so that it
 * is not held back by a coarse grain.
 */
#define SWARM_PIECE ((uint64_t)256 * 1024)

/* Pieces of a file, and the bytes of piece b. */
static uint64_t
file_blocks(const struct sim *s, size_t f)
{
	return (s->m->fileset->files[f].size + SWARM_PIECE - 1) / SWARM_PIECE;
}

static uint64_t
block_bytes(const struct sim *s, size_t f, uint64_t b)
{
	uint64_t size = s->m->fileset->files[f].size;

	return (b + 1) * SWARM_PIECE > size ? size - b * SWARM_PIECE :
	    SWARM_PIECE;
}

/* The pieces host h holds of file f, made from its length when first
 * asked (a prefix; the generator's is what it has published). */
static uint64_t *
pieces_of(struct sim *s, size_t h, size_t f)
{
	size_t nf = s->m->fileset->nfiles, k = h * nf + f;
	uint64_t n = file_blocks(s, f), b, have;

	if (s->pieces == NULL)
		s->pieces = xcalloc(s->t->nhosts * (nf ? nf : 1),
		    sizeof(*s->pieces));
	if (s->pieces[k] == NULL) {
		s->pieces[k] = xcalloc((n + 63) / 64 + 1, sizeof(uint64_t));
		have = *sim_hold(s, h, f) / SWARM_PIECE;
		for (b = 0; b < have && b < n; b++)
			s->pieces[k][b / 64] |= (uint64_t)1 << (b % 64);
	}
	if (h == s->m->fileset->files[f].generator) {
		uint64_t pub = sim_published(s, f) ==
		    s->m->fileset->files[f].size ? n : sim_published(s, f) /
		    SWARM_PIECE;

		for (b = 0; b < pub && b < n; b++)
			s->pieces[k][b / 64] |= (uint64_t)1 << (b % 64);
	}
	return s->pieces[k];
}

/* 1 when src has a piece of f that dst lacks. */
static int
has_for(struct sim *s, size_t src, size_t dst, size_t f)
{
	const uint64_t *a = pieces_of(s, src, f), *d = pieces_of(s, dst, f);
	uint64_t w, n = (file_blocks(s, f) + 63) / 64;

	for (w = 0; w < n; w++)
		if (a[w] & ~d[w])
			return 1;
	return 0;
}

/* Moves one random piece of f that src has and dst lacks; returns its
 * bytes, 0 when there is none. */
static uint64_t
move_piece(struct sim *s, struct flow *x)
{
	uint64_t *a = pieces_of(s, x->src, x->file);
	uint64_t *d = pieces_of(s, x->dst, x->file);
	uint64_t n = (file_blocks(s, x->file) + 63) / 64, start, i;

	if (n == 0)
		return 0;
	start = (uint64_t)rand_r(&s->seed) % n;
	for (i = 0; i < n; i++) {
		uint64_t w = (start + i) % n, can = a[w] & ~d[w], bit;
		unsigned k, skip;

		if (can == 0)
			continue;
		/* A random one of the word's candidates. */
		skip = (unsigned)rand_r(&s->seed) %
		    (unsigned)__builtin_popcountll(can);
		for (k = 0; k < 64; k++)
			if ((can >> k & 1) && skip-- == 0)
				break;
		bit = (uint64_t)1 << k;
		d[w] |= bit;
		return block_bytes(s, x->file, w * 64 + k);
	}
	return 0;
}

/* Frees the swarm's pieces. */
void
sim_flow_free(struct sim *s)
{
	size_t i, n;

	if (s->pieces == NULL)
		return;
	n = s->t->nhosts * s->m->fileset->nfiles;
	for (i = 0; i < n; i++)
		free(s->pieces[i]);
	free(s->pieces);
	s->pieces = NULL;
}

/* ------------------------------------------------------------------ */
/* Baselines: fluid flows, max-min fair                                */


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

					/* A peer with a piece it lacks. */
					if (c == h || *sim_hold(s, c, f) == 0 ||
					    !has_for(s, c, h, f))
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

/* 1 when host h's client runs at elapsed seconds into a round. */
static int
starts_by(const struct sim *s, size_t h, double elapsed)
{
	if (s->absent != NULL && s->absent[h])
		return 0;
	return s->late == NULL || elapsed + 1e-9 >= s->late[h];
}

/*
 * One round of baseline flows in steps of a second at most; swarm chooses
 * its peers again every SWARM_REPICK seconds.  A flow moves what its
 * max-min fair rate allows, and never past what its source holds.  Each
 * step is a sample for the chart.
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
		double dt = fmin(s->step > 0 ? s->step : 1.0, s->T - elapsed);

		sim_publish(s, start + elapsed);

		if (picked < 0 || (s->method == SIM_SWARM &&
		    elapsed - picked >= SWARM_REPICK - 1e-9)) {
			n = choose_flows(s, round, &fl, &cap);
			picked = elapsed;
		}
		/* A host that is whole gives its share back; one whose
		 * client has not started (or never does) takes none, nor
		 * serves. */
		for (i = kept = 0; i < n; i++)
			if (*sim_hold(s, fl[i].dst, fl[i].file) <
			    s->m->fileset->files[fl[i].file].size &&
			    starts_by(s, fl[i].dst, elapsed) &&
			    starts_by(s, fl[i].src, elapsed))
				fl[kept++] = fl[i];
		n = kept;
		max_min(s, fl, n, b.room);
		for (i = 0; i < n; i++) {
			int k;

			for (k = 0; k < fl[i].nres; k++)
				s->use[fl[i].res[k]] += fl[i].rate;
			uint64_t *d = sim_hold(s, fl[i].dst, fl[i].file);
			uint64_t have = *sim_hold(s, fl[i].src, fl[i].file);
			uint64_t size = s->m->fileset->files[fl[i].file].size;
			uint64_t lim = (have < size ? have : size);
			uint64_t got;

			if (sim_corrupts(s, t->hosts[fl[i].src].name))
				continue;
			if (s->method == SIM_SWARM) {
				/* Whole pieces the destination lacks, once the
				 * bytes this flow carried add up to one: what
				 * one flow carried is never spent by another
				 * (a WAN flow by a LAN flow's bytes), and what
				 * a source had no piece for is lost but for
				 * a piece's worth. */
				double *pool = &fl[i].carry;

				*pool += fl[i].rate * dt;
				while (*pool >= (double)SWARM_PIECE &&
				    *d < size) {
					uint64_t piece = move_piece(s, &fl[i]);

					if (piece == 0)
						break;
					*pool -= (double)piece;
					*d += piece;
					s->bytes += piece;
				}
				*pool = fmin(*pool, (double)SWARM_PIECE);
				continue;
			}
			got = *d >= lim ? 0 : (uint64_t)fmin(fl[i].rate * dt,
			    (double)(lim - *d));
			*d += got;
			s->bytes += got;
		}
		sim_sample(s, start + elapsed, start + elapsed + dt, s->bytes,
		    s->use);
		memset(s->use, 0, s->t->nresources * sizeof(double));
		elapsed += dt;
		sim_note_done(s, start + elapsed);
	}
	free(fl);
	budget_free(&b);
}
