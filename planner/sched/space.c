/*
 * space.c: the room each host has.  An agent reports the bytes free in
 * its data root (a state's free:); the planner sends no host more than
 * that, less a reserve for the store's own records, and status names the
 * hosts that cannot take all they need.  A host that does not report its
 * free space is planned as before, without a bound.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

/* What a host keeps free for its store's records (lengths, states, the
 * plan): never planned into. */
#define SPACE_RESERVE (1024 * 1024)

/* The bytes host h may still be sent, or UINT64_MAX when it did not say. */
uint64_t
space_room(const struct master *m, size_t h)
{
	const struct state *st = m->states[h];

	if (st == NULL || !st->has_free)
		return UINT64_MAX;
	return st->free > SPACE_RESERVE ? st->free - SPACE_RESERVE : 0;
}

/*
 * The bytes host h still needs of every version the file set gives it,
 * as far as published (one of each version it does not hold whole).
 */
uint64_t
space_need(const struct master *m, size_t h)
{
	const struct fileset *fs = m->fileset;
	uint64_t need = 0;
	size_t f;

	for (f = 0; f < fs->nfiles; f++) {
		const struct manifest *man = m->manifests[f];
		uint64_t have = master_length(m, h, f);

		if (man == NULL || h == fs->files[f].generator ||
		    !fileset_targets(m->topology, &fs->files[f], h) ||
		    have >= man->length)
			continue;
		need += man->length - have;
	}
	return need;
}

/* A demand's place in the order its host's room is given out in. */
struct space_key {
	long		 priority;
	size_t		 file;
	size_t		 demand;
};

/* By priority, highest first, then in the file set's order. */
static int
cmp_key(const void *a, const void *b)
{
	const struct space_key *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return (x->demand > y->demand) - (x->demand < y->demand);
}

/*
 * Bounds every demand by the room its host reports: a host's demands,
 * by priority, get whole blocks while its room lasts, and a demand left
 * without a block's room is dropped.  Runs after sched_demands() and
 * before the candidates are found.
 */
void
space_bound_demands(struct sched *s)
{
	const struct fileset *fs = s->m->fileset;
	struct space_key *order;
	size_t i, n = 0, h;
	uint64_t *room;

	if (s->ndemands == 0)
		return;
	room = xcalloc(s->t->nhosts, sizeof(*room));
	for (h = 0; h < s->t->nhosts; h++)
		room[h] = space_room(s->m, h);
	order = xcalloc(s->ndemands, sizeof(*order));
	for (i = 0; i < s->ndemands; i++) {
		order[i].priority = fs->files[s->demands[i].file].priority;
		order[i].file = s->demands[i].file;
		order[i].demand = i;
	}
	qsort(order, s->ndemands, sizeof(*order), cmp_key);
	for (i = 0; i < s->ndemands; i++) {
		struct demand *d = &s->demands[order[i].demand];
		uint64_t bs = s->m->manifests[d->file]->block_size;
		uint64_t left = d->want - d->have, r = room[d->host];

		if (r == UINT64_MAX)
			continue;
		if (left > r) {
			left = bs > 0 ? r / bs * bs : r;
			d->want = d->have + left;
		}
		room[d->host] = r - left;
	}
	/* Demands left with nothing to fetch are removed. */
	for (i = 0; i < s->ndemands; i++) {
		struct demand *d = &s->demands[i];
		size_t slot = d->host * fs->nfiles + d->file;

		if (d->want <= d->have) {
			s->demand_of[slot] = -1;
			continue;
		}
		s->demand_of[slot] = (long)n;
		s->demands[n++] = *d;
	}
	s->ndemands = n;
	free(order);
	free(room);
}
