/*
 * parallel.c: a loop over indices run on a few threads, and the clock
 * that times it.  Each thread takes
 * the next index until none is left, so the work is shared however
 * unevenly it is sized; what each index does must not depend on which
 * thread does it or when.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "master.h"

/* At most this many threads, however many processors there are. */
#define PARALLEL_MAX 8

struct parallel {
	size_t		  n;
	size_t		  next;
	void		(*fn)(void *, size_t);
	void		 *arg;
	void		(*done)(void);
	pthread_mutex_t	  lock;
};

static void *
parallel_worker(void *arg)
{
	struct parallel *p = arg;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->n)
			break;
		p->fn(p->arg, i);
	}
	if (p->done != NULL)
		p->done();
	return NULL;
}

/*
 * Calls fn(arg, i) for every i below n, on as many threads as there are
 * processors (at most PARALLEL_MAX, at most n), and done() on each of
 * them before it ends.  With one processor, or no thread to be had, the
 * calling thread does it all (and done() is not called).
 */
void
parallel_for(size_t n, void (*fn)(void *, size_t), void *arg,
    void (*done)(void))
{
	struct parallel p;
	pthread_t tid[PARALLEL_MAX];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t k, nthreads = 1;

	p.n = n;
	p.next = 0;
	p.fn = fn;
	p.arg = arg;
	p.done = done;
	if (cpus > 1)
		nthreads = (size_t)cpus < PARALLEL_MAX ? (size_t)cpus :
		    PARALLEL_MAX;
	if (nthreads > n)
		nthreads = n;
	k = 0;
	if (nthreads > 1) {
		pthread_mutex_init(&p.lock, NULL);
		for (; k < nthreads; k++)
			if (pthread_create(&tid[k], NULL, parallel_worker,
			    &p) != 0)
				break;
		while (k > 0)
			pthread_join(tid[--k], NULL);
		pthread_mutex_destroy(&p.lock);
	}
	/* Whatever no thread took (none was made, or one alone). */
	for (; p.next < n; p.next++)
		fn(arg, p.next);
}
