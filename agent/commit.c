/*
 * commit.c: the group commit of a plan's run.  Streams verify blocks and
 * say so (commit_dirty()); one thread makes the verified prefixes of every
 * version the plan writes durable, at most every COMMIT_INTERVAL, at once
 * when none has been for that long.  Neither fetch.c nor transfer.c
 * knows how.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "run.h"

/* The group commit's interval, in seconds.  A relay reads only what its
 * source has made durable, so this is the latency a hop of a pipeline
 * adds; at 300 MB/s it is still a few blocks per fsync, which measured no
 * slower than 0.25 s (bench/agent-throughput.sh).  With at most half a
 * second of an op's rate in flight beyond its durable length (the runs of
 * its streams), a crash loses at most one block or a second of the
 * rate. */
#define COMMIT_INTERVAL 0.05

/* Marks that a verified prefix moved: the committer has work. */
void
commit_dirty(struct commit *cm)
{
	pthread_mutex_lock(&cm->lock);
	cm->dirty = 1;
	pthread_cond_signal(&cm->cond);
	pthread_mutex_unlock(&cm->lock);
}

/* Tells the paces that watch version v its durable length. */
static void
commit_tell(struct commit *cm, struct version *v)
{
	uint64_t length;
	size_t i;

	version_verified_length(v, &length);
	for (i = 0; i < cm->nwatches; i++)
		if (cm->watches[i].version == v)
			pace_passed(cm->watches[i].pace, length);
}

/* Commits every version the plan writes; counts errors. */
static void
commit_all(struct commit *cm)
{
	size_t i;

	for (i = 0; i < cm->n; i++) {
		if (cm->vs[i] == NULL)
			continue;
		if (version_commit(cm->store, cm->vs[i]) != 0) {
			pthread_mutex_lock(&cm->lock);
			cm->errors++;
			pthread_mutex_unlock(&cm->lock);
		} else
			commit_tell(cm, cm->vs[i]);
	}
}

/*
 * The committer: waits for a verified prefix to move, then commits, no
 * sooner than COMMIT_INTERVAL after the last commit.  An op slower than
 * that has each block committed as it is verified.
 */
static void *
committer(void *arg)
{
	struct commit *cm = arg;
	double last = 0;

	pthread_mutex_lock(&cm->lock);
	for (;;) {
		while (!cm->dirty && !cm->stop)
			pthread_cond_wait(&cm->cond, &cm->lock);
		if (cm->stop)
			break;
		while (!cm->stop && clock_mono() < last + COMMIT_INTERVAL) {
			struct timespec ts;

			clock_real_in(last + COMMIT_INTERVAL - clock_mono(),
			    &ts);
			pthread_cond_timedwait(&cm->cond, &cm->lock, &ts);
		}
		cm->dirty = 0;
		pthread_mutex_unlock(&cm->lock);
		commit_all(cm);
		last = clock_mono();
		pthread_mutex_lock(&cm->lock);
	}
	pthread_mutex_unlock(&cm->lock);
	return NULL;
}

/*
 * Starts the group commit of the n versions vs (NULL entries are skipped;
 * they stay the caller's) in store s, telling each of the nwatches
 * watches its version's durable length after every commit of it (the
 * watches stay the caller's, and must outlive commit_finish()).  When no
 * thread can be started, commit_finish() alone commits.  Must be ended
 * with commit_finish().
 */
void
commit_start(struct commit *cm, struct store *s, struct version **vs,
    size_t n, const struct commit_watch *watches, size_t nwatches)
{
	memset(cm, 0, sizeof(*cm));
	cm->store = s;
	cm->vs = vs;
	cm->n = n;
	cm->watches = watches;
	cm->nwatches = nwatches;
	pthread_mutex_init(&cm->lock, NULL);
	pthread_cond_init(&cm->cond, NULL);
	cm->running = pthread_create(&cm->thread, NULL, committer, cm) == 0;
}

/*
 * Stops the committer, commits what is left and releases the commit.
 * Returns the number of commits that failed, over the whole run.
 */
int
commit_finish(struct commit *cm)
{
	int errors;

	if (cm->running) {
		pthread_mutex_lock(&cm->lock);
		cm->stop = 1;
		pthread_cond_signal(&cm->cond);
		pthread_mutex_unlock(&cm->lock);
		pthread_join(cm->thread, NULL);
		cm->running = 0;
	}
	commit_all(cm);
	errors = cm->errors;
	pthread_cond_destroy(&cm->cond);
	pthread_mutex_destroy(&cm->lock);
	return errors;
}
