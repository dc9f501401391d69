/*
 * run.h: one plan's run, private to the files that carry it out:
 * transfer.c (the plan's jobs and threads), fetch.c (a job's streams),
 * ring.c (a stream's chunks between its threads) and commit.c (the group
 * commit).  The rest of the agent sees plan_execute()
 * in agent.h.
 */
#ifndef SLUICE_RUN_H
#define SLUICE_RUN_H

#include "agent.h"

/* commit.c: verified prefixes made durable by one thread, grouped */

/* A pace told each durable length of a version (its shed entries wait
 * for the length to pass their offsets). */
struct commit_watch {
	struct version	*version;
	struct pace	*pace;
};

struct commit {
	struct store	*store;
	struct version	**vs;		/* the plan's versions; the caller's */
	size_t		 n;
	const struct commit_watch *watches;	/* the caller's */
	size_t		 nwatches;
	pthread_t	 thread;
	int		 running;	/* the thread was started */
	pthread_mutex_t	 lock;		/* guards the fields below */
	pthread_cond_t	 cond;
	int		 dirty;		/* a verified prefix moved */
	int		 stop;
	int		 errors;	/* commits that failed */
};

void	 commit_start(struct commit *, struct store *, struct version **vs,
	    size_t n, const struct commit_watch *, size_t nwatches);
void	 commit_dirty(struct commit *);
int	 commit_finish(struct commit *);

/* ring.c: chunks from a stream's reader to its hasher */

#define RING_SLOTS 4

/* One chunk on its way from the reader to the hasher. */
struct slot {
	unsigned char	*buf;
	uint64_t	 offset;	/* in the file */
	size_t		 len;
	uint64_t	 block;		/* the op's block it belongs to */
	int		 first;		/* the block's first chunk */
	int		 last;		/* ... its last */
	unsigned	 generation;	/* the store's, when the block began */
	int		 full;		/* put, not yet released */
};

struct ring {
	struct slot	 slot[RING_SLOTS];
	unsigned	 head;		/* the reader's next slot */
	unsigned	 tail;		/* the hasher's next slot */
	int		 closed;	/* the reader is done */
	pthread_mutex_t	 lock;		/* guards the fields above */
	pthread_cond_t	 cond;
};

void	 ring_init(struct ring *);
int	 ring_alloc(struct ring *, size_t chunk);
void	 ring_free(struct ring *);
struct slot *ring_get(struct ring *, _Atomic int *abort);
void	 ring_put(struct ring *, struct slot *);
void	 ring_close(struct ring *);
struct slot *ring_take(struct ring *);
void	 ring_release(struct ring *);

/* transfer.c and fetch.c: a plan's jobs and streams */

/* The most SSH sessions one source gets, and so the most streams of one
 * op (separate sessions are separate cipher streams, on separate cores). */
#define STREAMS_MAX 4

/* One peer the plan reads from: its sessions, connected when first used. */
struct source {
	const struct plan_source *src;
	struct ssh	*ssh[STREAMS_MAX];
	int		 tried[STREAMS_MAX];
	struct ssh_error err[STREAMS_MAX];
	int		 broken;	/* a connection failed: why */
	struct ssh_error why;
	int		 borrowed;	/* ssh[0] is the caller's */
	int		 pooled;	/* ssh[0] is a run's before, not
					 * yet seen to answer */
	double		 connect;	/* how long its first session took
					 * to open, refusals waited out,
					 * where the run waited for it;
					 * 0: none such */
	pthread_mutex_t	 lock;
};

/* One op being carried out by its streams. */
struct job {
	const struct op	*op;
	struct version	*version;
	struct source	*source;
	struct source	*fallback;	/* the op's fallback's; NULL: none */
	double		 fallback_at;	/* when it may be taken (monotonic) */
	_Atomic int	 switched;	/* it is: every stream reads from it */
	struct pace	 pace;		/* the op's rate, shared by its streams */
	unsigned	 streams;	/* how many read it at once */
	uint64_t	 run;		/* blocks a stream takes at a time */
	size_t		 chunk;		/* bytes per read and per hand-off */
	pthread_mutex_t	 lock;		/* guards the fields below */
	int		 decided;	/* source or fallback, for good */
	uint64_t	 switch_seen;	/* the source's length that made it
					 * switch ... */
	double		 switch_when;	/* ... read then (monotonic) */
	uint64_t	 next;		/* the op's next block no stream has */
	int		 failed;
	uint64_t	 fail_at;	/* where in the file it failed */
	struct ssh_error err;		/* the earliest failure */
	int		 blame_route;	/* it may be the network's */
	int		 local;		/* it is this host's own */
	int		 blameless;	/* no component is to blame (a relay
					 * source waiting on its own) */
	double		 first, last;	/* when the first read went out and
					 * the last block was verified */
	_Atomic uint64_t done;		/* bytes verified by this op */
	_Atomic int	 stop;		/* it failed: no stream takes more */
	_Atomic int	 abort;		/* ... and the runs in progress stop */
	_Atomic int	 phase;		/* 0 waiting, 1 running, 2 ended */
	_Atomic unsigned running;	/* streams still at work */
};

/* What every stream of a plan shares. */
struct runner {
	const struct agent_config *config;
	struct store	*store;
	const struct plan *plan;
	double		 deadline;	/* when ops stop: the plan's expiry
					 * less PLAN_REPORT_MARGIN,
					 * monotonic */
	double		 issued;	/* the plan's issue, monotonic */
	double		 started;	/* when this run began, monotonic */
	double		 began;		/* when ROOT/.sluice/began said it
					 * runs, monotonic; INFINITY when
					 * it could not */
	struct job	*jobs;
	size_t		 njobs;
	size_t		*tasks;		/* job of each stream to run */
	size_t		 ntasks;
	size_t		 next;		/* the next task to take */
	pthread_mutex_t	 lock;		/* guards next */
	struct commit	 commit;	/* the group commit */
	_Atomic int	 finished;
	int		 verbose;
};

/* fetch.c: one stream of a job, and a job's failure */
/*
 * The longest a relay's reader waits from one ask of its source's durable
 * length to the next (counted from the end of the last ask, which on a
 * WAN takes round trips): an op whose block takes four seconds and more
 * at its rate asks four times a second (relay_ask_after()).
 */
#define RELAY_POLL_MOST 0.25

/* Bytes per read and hand-off: 10 ms of the op's rate, within bounds
 * (job_shape()); and the share of a round trip to its source at the op's
 * rate that a stream reads at least (stream_chunk()): about five reads
 * are in flight (fetch.c), so two round trips' worth.  What a read asks
 * ahead grows by at most one chunk (read_size()), so a burst is at most
 * one chunk beyond the rate. */
#define CHUNK_SECONDS 0.01
#define CHUNK_MIN (16 * 1024)
#define CHUNK_MAX (1024 * 1024)
#define CHUNK_TRIPS 0.4
#define CHUNK_TRIPS_MOST 16	/* times 10 ms of the rate: 0.4 s trips */

void	 fetch_stream(struct runner *, struct job *, unsigned stream);
double	 relay_ask_after(double block, double took);
size_t	 stream_chunk(size_t chunk, double rate, double trip);
size_t	 read_size(uint64_t pos, uint64_t asked, size_t want, size_t chunk,
	    uint64_t end, uint64_t *grow);
const struct plan_source *job_source(const struct job *);

/* Whose a failure is. */
enum fault { FAULT_PEER, FAULT_LOCAL, FAULT_NONE };

void	 job_fail(struct job *, enum failure_class, int route, int who,
	    uint64_t at, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));

#endif
