/*
 * ring.c: the few chunks one stream's reader hands its hasher (fetch.c):
 * RING_SLOTS buffers, filled in turn by the reader and emptied in the
 * same order by the hasher, so that reading never waits for hashing or
 * the disk and neither runs more than the ring ahead of the other.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

/* An empty ring with no buffers yet; to be released by ring_free(). */
void
ring_init(struct ring *g)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
}

/* Gives every slot a buffer of chunk bytes, aligned for the store's
 * direct writes.  Returns 0, or -1 out of memory (ring_free() cleans). */
int
ring_alloc(struct ring *g, size_t chunk)
{
	size_t i;

	for (i = 0; i < RING_SLOTS; i++)
		if (posix_memalign((void **)&g->slot[i].buf, STORE_ALIGN,
		    chunk) != 0)
			return -1;
	return 0;
}

/* Frees the buffers and the lock; the threads must be done with it. */
void
ring_free(struct ring *g)
{
	size_t i;

	for (i = 0; i < RING_SLOTS; i++)
		free(g->slot[i].buf);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->cond);
}

/* The reader: waits for the next free slot, to fill; NULL once *abort is
 * set (the op stopped). */
struct slot *
ring_get(struct ring *g, _Atomic int *abort)
{
	struct slot *sl;

	pthread_mutex_lock(&g->lock);
	while (g->slot[g->head].full && !*abort)
		pthread_cond_wait(&g->cond, &g->lock);
	sl = *abort ? NULL : &g->slot[g->head];
	pthread_mutex_unlock(&g->lock);
	return sl;
}

/* The reader: hands the slot ring_get() gave it, filled, to the hasher. */
void
ring_put(struct ring *g, struct slot *sl)
{
	pthread_mutex_lock(&g->lock);
	sl->full = 1;
	g->head = (g->head + 1) % RING_SLOTS;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/* The reader: nothing more comes; the hasher empties what is there. */
void
ring_close(struct ring *g)
{
	pthread_mutex_lock(&g->lock);
	g->closed = 1;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

/* The hasher: waits for the next full slot, in the order they were put;
 * NULL once the ring is closed and empty. */
struct slot *
ring_take(struct ring *g)
{
	struct slot *sl;

	pthread_mutex_lock(&g->lock);
	while (!g->slot[g->tail].full && !g->closed)
		pthread_cond_wait(&g->cond, &g->lock);
	sl = g->slot[g->tail].full ? &g->slot[g->tail] : NULL;
	pthread_mutex_unlock(&g->lock);
	return sl;
}

/* The hasher: done with the slot ring_take() gave it; the reader may
 * fill it again. */
void
ring_release(struct ring *g)
{
	pthread_mutex_lock(&g->lock);
	g->slot[g->tail].full = 0;
	g->tail = (g->tail + 1) % RING_SLOTS;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}
