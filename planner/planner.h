/*
 * planner.h: sluice-plan, the master.  Everything the planner's files share.
 */
#ifndef SLUICE_PLANNER_H
#define SLUICE_PLANNER_H

#include <pthread.h>

#include "topology.h"

/* A master directory loaded: inputs for one planning run. */
struct master {
	char		 *dir;		/* the master directory */
	struct topology	 *topology;
	struct fileset	 *fileset;
	struct manifest	**manifests;	/* per file; NULL when missing */
	struct state	**states;	/* per host; NULL when none/skipped */
	int		 *skipped;	/* per host: its state was unusable */
	size_t		  nerrors;	/* broken states and manifests seen */
};

/* master.c */
int	 master_load(const char *dir, struct master **, int verbose);
int	 master_load_files(const char *topology, const char *fileset,
	    struct master **);
void	 master_free(struct master *);
uint64_t master_length(const struct master *, size_t host, size_t file);
uint64_t master_target_length(const struct master *, size_t file);
const char *dir_argument(int argc, char **argv);
int	 master_from_args(int argc, char **argv, int need_fileset,
	    int *quiet, struct master **, int *from_dir);
double	*master_plan_use(const struct topology *, struct plan **);

/* check.c */
int	 cmd_check(int argc, char **argv);

/* ------------------------------------------------------------------ */
/* ledger.c: the planner's durable memory, MASTER_DIR/ledger.yaml      */

struct ledger_count {
	char		*component;	/* host:H, site:S or link:L */
	unsigned	 count;		/* transient failures since a success */
	unsigned	 hard;		/* checksum, missing, auth, hostkey */
	uint64_t	 failed_epoch;	/* 0 when not failed */
	time_t		 failed_time;
	char		*reason;	/* the failure that reached the limit */
};

struct ledger_report {
	char		*host;
	uint64_t	 epoch;		/* the state last counted */
	time_t		 time;
};

struct ledger_capacity {
	char		*resource;
	double		 capacity;	/* bytes/s after reserved; -1 none */
};

/* The look-ahead of the last run: what a later round of the horizon
 * would copy to a host from a source. */
struct ledger_ahead {
	unsigned	 round;		/* 2 .. horizon: the epoch + round - 1 */
	char		*host;
	char		*file;
	uint64_t	 version;
	char		*source;
	uint64_t	 bytes;
};

struct ledger {
	uint64_t	 epoch;		/* the last run's epoch; 0 before */
	time_t		 issued;
	struct ledger_count *counts;
	size_t		 ncounts;
	struct ledger_report *reports;
	size_t		 nreports;
	struct ledger_capacity *picture;	/* the resource picture used */
	size_t		 npicture;
	char		**changes;	/* what changed since the run before */
	size_t		 nchanges;
	char		*method;	/* what planned the last run */
	unsigned	 horizon;	/* rounds it looked ahead; 1 none */
	struct ledger_ahead *ahead;	/* rounds 2 .. horizon */
	size_t		 nahead;
};

int	 ledger_load(const char *path, struct ledger **, struct diag *);
int	 master_ledger(const char *dir, struct ledger **);
char	*ledger_format(const struct ledger *, size_t *len);
void	 ledger_free(struct ledger *);
struct ledger_count *ledger_component(struct ledger *, const char *,
	    int create);
int	 ledger_failed(const struct ledger *, const char *component);
void	 ledger_blame(struct ledger *, const char *component, uint64_t epoch,
	    time_t now, unsigned threshold, int hard, const char *reason);
void	 ledger_absolve(struct ledger *, const char *component);
struct ledger_report *ledger_report(struct ledger *, const char *host,
	    int create);
void	 ledger_clear_ahead(struct ledger *);
void	 ledger_add_change(struct ledger *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Rounds a failed component stays out before it is tried again. */
#define LEDGER_RETRY_EPOCHS 20

/* ------------------------------------------------------------------ */
/* sched.c: demands, candidates, LP and greedy allocation, rounding    */

#define ROUTE_MAX 64

/* The part of a round that ops are sized to fill. */
#define SCHED_ROUND_USE 0.9

/*
 * The share of a capacity given to data: capacities are on the wire, and
 * SSH, TCP, IP and Ethernet headers and SFTP read-ahead add some 6% to the
 * bytes copied (measured on shaped links, tests/wan.sh).
 */
#define SCHED_PAYLOAD_SHARE 0.94

/* The most rounds the LP may look ahead (sluice-plan run --horizon). */
#define SCHED_HORIZON_MAX 4

/* Within a site, every host serves up to this many others of a file. */
#define SCHED_FANOUT 4

/* How much more a block is worth to a host with children in its file's
 * copy tree (it serves them next round) than to a leaf. */
#define SCHED_INTERIOR_BONUS 0.5

/* The share of a host's outbound capacity the WAN may take first. */
#define SCHED_WAN_SHARE 0.5

/* One destination host that still needs bytes of one file. */
struct demand {
	size_t		 host;
	size_t		 file;
	uint64_t	 have;		/* its verified length */
	uint64_t	 want;		/* what it must reach now */
	size_t		 first;		/* its candidates, in source length */
	size_t		 ncand;		/* order (shortest first) */
};

/* One possible source for a demand, and what it is given. */
struct candidate {
	size_t		 demand;
	size_t		 source;
	uint64_t	 source_len;	/* what the source holds */
	size_t		 res[ROUTE_MAX];
	int		 nres;
	int		 wan;		/* crosses sites */
	double		 cost;		/* lower is better */
	double		 weight;	/* value of a block, for LP and greedy */
	uint64_t	 blocks;	/* allocated this round */
	int		 future;	/* holds no more than the destination
					 * yet: a source for later rounds of
					 * the horizon only */
	double		 ahead[SCHED_HORIZON_MAX - 1];	/* blocks the LP
					 * gave rounds 2 .. horizon */
};

enum method { METHOD_LP, METHOD_GREEDY };

struct sched {
	struct master	*m;
	struct topology	*t;
	enum method	 method;
	double		 T;		/* the round, seconds */
	double		*residual;	/* per resource: bytes/s left; INFINITY
					 * when unlimited */
	char		*blocked;	/* per resource: a failed component */
	char		*source_ok;	/* per host: may serve */
	char		*dest_ok;	/* per host: may be planned for */
	uint64_t	*len;		/* host * nfiles + file: held */
	struct demand	*demands;
	size_t		 ndemands;
	long		*demand_of;	/* host * nfiles + file: its demand,
					 * or -1 */
	struct candidate *cands;
	size_t		 ncands;
	int		 lp_fallbacks;	/* LP solves that fell back */
	double		 lp_seconds;
	int		 lp_time_limit;	/* ms per solve */
	size_t		 candidates_per_demand;
	size_t		 wan_seeders;	/* WAN destinations per site, file */
	int		 horizon;	/* rounds the LP looks ahead */
	char		*site_kept;	/* per site: its LAN may take the prior
					 * look-ahead instead of a solve (1),
					 * and did (2) */
	const struct ledger_ahead *prior;	/* the last run's */
	size_t		 nprior;
	long		*prior_cand;	/* per prior entry: its candidate, or
					 * -1 */
	long		*prior_site;	/* ... its host's site, or -1 */
	size_t		 lans_solved;
	size_t		 lans_kept;
	pthread_mutex_t	*lock;		/* while LANs are solved in parallel:
					 * guards the counters above */
};

void	 sched_init(struct sched *, struct master *, enum method);
void	 sched_free(struct sched *);
void	 sched_demands(struct sched *);
void	 sched_candidates(struct sched *);
void	 sched_allocate(struct sched *);
uint64_t sched_block_bytes(const struct sched *, const struct candidate *,
	    uint64_t first_block, uint64_t nblocks);
uint64_t sched_scheduled_bytes(const struct sched *);
uint64_t sched_room(const struct sched *, const struct candidate *);
void	 sched_charge(struct sched *, const struct candidate *, uint64_t);
void	 sched_resolve_prior(struct sched *);

/* lp.c */
int	 lp_solve(struct sched *, const size_t *cands, size_t n);

/* run.c */
struct round_stats {
	size_t		 planned;	/* hosts given a new plan */
	size_t		 kept;		/* hosts whose plan stays */
	size_t		 ops;
	size_t		 demands;
	size_t		 candidates;
	uint64_t	 bytes;		/* scheduled this round */
	double		 lp_seconds;
	int		 lp_fallbacks;
	size_t		 lans_solved;	/* site LAN LPs solved */
	size_t		 lans_kept;	/* ... taken from the look-ahead */
};

int	 cmd_run(int argc, char **argv);
int	 horizon_argument(const char *);
/* How to plan: the method, the rounds the LP looks ahead, and whether
 * sites that followed the last run's look-ahead take it (--incremental). */
struct plan_options {
	enum method	 method;
	int		 horizon;
	int		 incremental;
};

int	 plan_round_with(struct master *, struct ledger *, struct plan **old,
	    const struct plan_options *, time_t now, time_t expires,
	    struct plan ***plans, struct round_stats *);
struct plan **load_old_plans(const char *dir, const struct topology *);

/* verify.c, status.c, bound.c */
int	 cmd_verify(int argc, char **argv);
int	 verify_master(const char *dir, int quiet);
int	 cmd_status(int argc, char **argv);
int	 cmd_bound(int argc, char **argv);
int	 cmd_simulate(int argc, char **argv);
int	 cmd_dot(int argc, char **argv);
double	 bound_makespan(struct master *, char *why, size_t whylen);

#endif
