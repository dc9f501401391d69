/*
 * planner.h: sluice-plan, the master.  Everything the planner's files share.
 */
#ifndef SLUICE_PLANNER_H
#define SLUICE_PLANNER_H

#include <pthread.h>

#include "topology.h"

/* Bytes read from a file a host signs, as verified: the text and its
 * signature (NULL when the host has no key pinned). */
struct signed_text {
	char		*text;
	size_t		 len;
	char		*sig;
	size_t		 siglen;
};

/* A master directory loaded: inputs for one planning run. */
struct master {
	char		*dir;		/* the master directory */
	struct topology	 *topology;
	struct fileset	 *fileset;
	struct manifest	**manifests;	/* per file; NULL when missing */
	struct state	**states;	/* per host; NULL when none */
	struct signed_text *manifest_texts;	/* per file: the bytes of
					 * manifests[f], to keep */
	struct signed_text *state_texts;	/* per host: of states[h] */
	char		 *stale;	/* per host: its new state was unusable
					 * (broken, unsigned, not a regular
					 * file, older than the last counted):
					 * states[h] is the last verified one,
					 * or NULL */
	char		 *news;		/* per host: its state is new since
					 * the last run (not the one kept) */
	uint64_t	  set_epoch;	/* the set the last verified states
					 * and manifests came from; 0 none */
	const struct sshkey *master_pub;	/* checks the planner's own
					 * plans read back; NULL unsigned */
	size_t		  nerrors;	/* broken states and manifests seen */
};

/* master.c: a master directory loaded */
int	 master_load(const char *dir, struct master **, int verbose);
int	 master_load_files(const char *topology, const char *fileset,
	    struct master **);
void	 master_free(struct master *);
int	 master_load_set(const char *dir, uint64_t epoch, struct master **);
uint64_t master_current(const char *dir);
int	 master_open_dir(const char *dir, const char *sub);
int	 master_read_plan(const struct master *, uint64_t epoch, size_t host,
	    struct plan **);
int	 state_older(const struct state *, const struct state *);
uint64_t master_length(const struct master *, size_t host, size_t file);
uint64_t master_target_length(const struct master *, size_t file);
const char *dir_argument(int argc, char **argv);
int	 master_from_args(int argc, char **argv, int need_fileset,
	    int *quiet, struct master **, int *from_dir);

/* parallel.c: a loop over indices on a few threads */
void	 parallel_for(size_t n, void (*fn)(void *, size_t), void *arg,
	    void (*done)(void));
double	 elapsed(void);

/* ------------------------------------------------------------------ */
/* budget.c: what each resource may carry                              */

/*
 * The share of a capacity given to data: capacities are on the wire, and
 * SSH, TCP, IP and Ethernet headers and SFTP read-ahead add some 6% to the
 * bytes copied (measured on shaped links, tests/wan.sh).
 */
#define SCHED_PAYLOAD_SHARE 0.94

struct budget {
	const struct topology *t;
	double		*room;		/* per resource: bytes/s left;
					 * INFINITY when unlimited */
};

void	 budget_init(struct budget *, const struct topology *, double share);
void	 budget_copy(struct budget *to, const struct budget *from);
void	 budget_free(struct budget *);
void	 budget_charge(struct budget *, const size_t *res, int n, double rate);
void	 budget_charge_plan(struct budget *, struct plan *);
double	 budget_left(const struct budget *, size_t resource);
double	 budget_room(const struct budget *, const size_t *res, int n);
double	 budget_hold(struct budget *, size_t resource, double part);
void	 budget_release(struct budget *, size_t resource, double held);
int	 budget_fits(double capacity, double use);
double	*budget_use(const struct topology *, struct plan **, size_t n);
size_t	 op_resources(const struct topology *, struct op *);
void	 plan_use(const struct topology *, struct plan *, double *use);

/* check.c */
int	 cmd_check(int argc, char **argv);

/* ------------------------------------------------------------------ */
/* ledger.c: the planner's durable memory and its failure accounting  */

struct ledger_count {
	char		*component;	/* host:H, site:S or link:L */
	unsigned	 count;		/* transient failures since a success */
	unsigned	 hard;		/* checksum, missing, auth, hostkey */
	uint64_t	 failed_epoch;	/* 0 when not failed */
	time_t		 failed_time;
	uint64_t	 retry_epoch;	/* when failed: tried again then */
	char		*reason;	/* the failure that reached the limit */
	char		*witness;	/* since it last worked: the first host
					 * that reported it failing */
	unsigned	 witnesses;	/* 1, or 2 for more than one */
	char		*culprit;	/* ... the first source it failed */
	unsigned	 culprits;	/* 1, or 2 for more than one */
	unsigned	 strikes;	/* times failed since a success */
	char		*entry;		/* when failed: its topology entry then */
};

struct ledger_report {
	char		*host;
	uint64_t	 epoch;		/* the state last counted */
	time_t		 time;
	char		*machine;	/* who wrote it; NULL: not said */
	char		*store;
};

struct ledger_capacity {
	char		*resource;
	double		 capacity;	/* bytes/s after reserved; -1 none */
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
	char		**stalled;	/* what no round could move, as said */
	size_t		 nstalled;
	char		*method;	/* what planned the last run */
};

int	 ledger_load(const char *path, struct ledger **, struct diag *);
int	 master_ledger(const char *dir, struct ledger **);
int	 master_lock(const char *dir, int verbose);
char	*ledger_format(const struct ledger *, size_t *len);
void	 ledger_free(struct ledger *);
struct ledger_count *ledger_component(struct ledger *, const char *,
	    int create);
int	 ledger_failed(const struct ledger *, const char *component);
struct ledger_count *ledger_note(struct ledger *, const char *component,
	    const char *witness, const char *culprit);
void	 ledger_blame(struct ledger *, const char *component, uint64_t epoch,
	    time_t now, unsigned threshold, int hard, const char *reason);
void	 ledger_absolve(struct ledger *, const char *component);
void	 ledger_reset(struct ledger_count *, int strikes_too);
struct ledger_report *ledger_report(struct ledger *, const char *host,
	    int create);
void	 ledger_update(struct ledger *, struct master *, struct plan **old,
	    uint64_t epoch, time_t now, char *changed);
void	 ledger_apply(const struct ledger *, const struct topology *,
	    char *source_ok, char *blocked);
void	 ledger_add_change(struct ledger *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* stall.c: what no round can move, and why. */
struct stall {
	char		*key;		/* file and reason: kept by run */
	char		*line;		/* with the hosts it holds up */
};

struct stall *stalls_find(struct master *, struct ledger *, size_t *n);
void	 stalls_free(struct stall *, size_t n);
void	 stalls_note(struct master *, struct ledger *);

/* Rounds a failed component stays out before it is tried again: on thin
 * evidence (transient failures seen by one host) at first, and at most. */
#define LEDGER_RETRY_THIN 3
#define LEDGER_RETRY_EPOCHS 20

/* ------------------------------------------------------------------ */
/* demand.c: demands and candidates; allocate.c: blocks per candidate  */

#define ROUTE_MAX 64

/* The part of a round that ops are sized to fill. */
#define SCHED_ROUND_USE 0.9

/* Within a site, every host serves up to this many others of a file. */
#define SCHED_FANOUT 4

/* What one relay hop adds beyond its block's transfer, in seconds: the
 * relay's group commit and its reader's poll.  Measured: a chain of 16
 * hosts on one sshd, 1 MiB blocks at 4.7 MB/s, took 0.37 s a hop where
 * the timing rule counts 0.22 s. */
#define SCHED_HOP_DELAY 0.15

/* How much more a block is worth to a host with children in its file's
 * copy tree (it serves them next round) than to a leaf. */
#define SCHED_INTERIOR_BONUS 0.5

/* The share of a host's outbound capacity the WAN may take first. */
#define SCHED_WAN_SHARE 0.5

/* The share of a source site's head's egress its LAN leaves the WAN. */
#define SCHED_EXPORT_SHARE 0.5

/* When what is left fits in a round: ops are sized to the lower bound
 * times this, room for pipelines to fill (allocate.c). */
#define SCHED_FILL_MARGIN 1.15

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
	long		 feed;		/* the source's demand for the file
					 * when it receives it this round and
					 * so may relay beyond source_len;
					 * else -1 */
};

enum method { METHOD_LP, METHOD_GREEDY };

/* One round's schedule, from demands to the blocks each candidate got. */
struct sched {
	struct master	*m;
	struct topology	*t;
	enum method	 method;
	double		 T;		/* the round ops fill, seconds */
	double		 late;		/* plan_options.late */
	struct budget	 budget;	/* what each resource has left */
	char		*blocked;	/* per resource: a failed component */
	char		*source_ok;	/* per host: may serve */
	char		*dest_ok;	/* per host: may be planned for */
	char		*source_site;	/* per site: no file of it waits on
					 * the WAN; its LAN is planned first */
	char		*export;	/* per host: a source site's head, that
					 * the WAN relays from */
	uint64_t	*len;		/* host * nfiles + file: held */
	struct demand	*demands;
	size_t		 ndemands;
	long		*demand_of;	/* host * nfiles + file: its demand,
					 * or -1 */
	struct candidate *cands;
	size_t		 ncands;
	unsigned	*children;	/* host * nfiles + file: how many the
					 * file's copy tree has it feed */
	size_t		*greedy_order;	/* candidates, best first */
	uint64_t	*feed_before;	/* per demand, while LANs are solved
					 * in parallel: its grants before */
	int		 lp_fallbacks;	/* LP solves that fell back */
	double		 lp_seconds;
	int		 lp_time_limit;	/* ms per solve */
	size_t		 candidates_per_demand;
	size_t		 wan_seeders;	/* WAN destinations per site, file */
	size_t		 lans_solved;
	pthread_mutex_t	*lock;		/* while LANs are solved in parallel:
					 * guards the counters above */
};

/* demand.c */
void	 sched_init(struct sched *, struct master *, enum method);
void	 sched_free(struct sched *);
void	 sched_demands(struct sched *);
void	 sched_candidates(struct sched *);
uint64_t sched_block_size(const struct sched *, size_t file);
uint64_t sched_blocks_of(const struct sched *, size_t file, uint64_t len);
uint64_t sched_block_bytes(const struct sched *, const struct candidate *,
	    uint64_t first_block, uint64_t nblocks);
uint64_t sched_scheduled_bytes(const struct sched *);

/* space.c: the room hosts report */
uint64_t space_room(const struct master *, size_t host);
uint64_t space_need(const struct master *, size_t host);
void	 space_bound_demands(struct sched *);

/* health.c: clocks, the cadence of runs, room */
enum health_kind { HEALTH_CLOCK, HEALTH_CADENCE, HEALTH_SPACE };

struct health {
	enum health_kind kind;
	char		*line;		/* what to say, one line */
};

struct health *health_find(const struct master *, size_t *n);
void	 health_free(struct health *, size_t n);
int	 health_skew(const struct master *, size_t host, double *skew);
double	 health_cadence(const struct master *);
size_t	 health_epochs(const struct master *, uint64_t **);
time_t	 health_issued(const struct master *, uint64_t epoch);

/* progress.c: how far and how fast, for status */
struct progress_cell {		/* a file at a site, a file, or all */
	size_t		 targets;	/* hosts that must hold it */
	size_t		 complete;	/* ... that hold all published */
	double		 have;		/* bytes held, up to published */
	double		 need;		/* bytes published, per target */
	double		 rate;		/* bytes/s measured; -1 unknown */
};

struct progress_host {
	size_t		 files;		/* versions it must hold */
	size_t		 complete;
	double		 have, need;	/* bytes, as a cell's */
	double		 free;		/* bytes free it reports; -1 none */
};

struct progress {
	size_t		 nfiles, nsites, nhosts;
	struct progress_cell *sites;	/* file * nsites + site */
	struct progress_cell *files;	/* per file */
	struct progress_host *hosts;	/* per host */
	struct progress_cell all;
	double		 window;	/* seconds the rates span; 0 none */
	double		 eta;		/* seconds left at the rate; -1
					 * unknown, 0 complete */
	double		 bound;		/* lower bound on the time left */
	char		 bound_why[256];
};

void	 progress_measure(struct master *, struct progress *);
void	 progress_free(struct progress *);
void	 progress_duration(char *, size_t, double seconds);

/* status.c and export.c: sluice-plan status */
struct status_options {
	const char	*dir;
	int		 verbose;	/* -v: per host too */
	int		 json;		/* --json */
	const char	*prom;		/* --prom FILE; NULL none */
};

int	 status_json(FILE *, struct master *, const struct ledger *,
	    const struct progress *, int verbose);
int	 status_prom(const char *path, struct master *,
	    const struct ledger *, const struct progress *);

/* retire.c: manifests of versions the file set no longer names */
void	 retire_manifests(const char *dir, const struct master *,
	    uint64_t epoch, time_t now);
size_t	 retire_pending(const char *dir, const struct master *);
void	 retire_due(const struct master *, time_t now, struct fileref **,
	    size_t *n);
void	 retire_plans(struct plan **, size_t nhosts,
	    const struct fileref *due, size_t ndue);

/* allocate.c */
void	 sched_allocate(struct sched *);
uint64_t sched_room(const struct sched *, const struct candidate *);
void	 sched_charge(struct sched *, const struct candidate *, double blocks);

/* ------------------------------------------------------------------ */
/* lp.c: a linear program, solved with GLPK                            */

struct lp {
	size_t		 ncols, capcols;
	double		*obj;		/* per column: worth per unit */
	char		*col_fixed;	/* per column: fixed at zero */
	size_t		 nrows, caprows;
	double		*row_bound;	/* per row: at most this */
	char		*row_fixed;	/* per row: exactly zero */
	int		*ia, *ja;	/* entries, from index 1 */
	double		*ar;
	size_t		 ne, cap;
	int		 time_limit_ms;
};

void	 lp_init(struct lp *);
void	 lp_free(struct lp *);
int	 lp_add_col(struct lp *, double obj, int fixed);
int	 lp_add_row(struct lp *, double bound, int fixed);
void	 lp_entry(struct lp *, int row, int col, double v);
int	 lp_solve(struct lp *, double *x, double *seconds);
void	 lp_thread_done(void);

/* ------------------------------------------------------------------ */
/* timing.c: when each op is done, block by block, relays included     */

struct timed_op {
	size_t		 dst, src, file;
	uint64_t	 offset, length, block_size;
	double		 rate;		/* bytes/s */
	uint64_t	 source_have;	/* the source holds from the start */
	uint64_t	 dest_have;	/* the destination holds from it */
	size_t		 tag;		/* the caller's, untouched */
	/* Filled by timing_run(): */
	size_t		 nblocks;
	double		*done;		/* per block: seconds after issue */
	double		 finish;	/* the last block; INFINITY never */
	int		 cycle;		/* never, through a relay cycle */
};

struct timing {
	size_t		 nfiles;
	struct timed_op	*ops;
	size_t		 nops, capops;
};

void	 timing_init(struct timing *, size_t nfiles);
size_t	 timing_add(struct timing *, const struct timed_op *);
void	 timing_run(struct timing *);
void	 timing_free(struct timing *);

/* ------------------------------------------------------------------ */
/* plans.c: plans from the allocation; epoch.c: the set written        */

struct plan **plans_build(struct sched *, uint64_t epoch, time_t now,
	    time_t expires);
int	 plans_finish(const struct sched *, struct plan **plans,
	    struct plan **old, time_t now, time_t expires);
void	 plans_free(const struct topology *, struct plan **);
int	 epoch_write(const char *dir, const struct master *,
	    struct plan **plans, struct plan **old, const struct ledger *,
	    const struct sshkey *);
struct plan **epoch_plans(const struct master *, uint64_t epoch);

/* ------------------------------------------------------------------ */
/* round.c: one planning round; run.c: sluice-plan run                 */

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
	/* Wall-clock seconds per stage of the pipeline: */
	double		 demand_seconds;	/* ledger, demands, candidates */
	double		 allocate_seconds;
	double		 plans_seconds;		/* built, fitted, checked */
};

/* How to plan. */
struct plan_options {
	enum method	 method;
	double		 late;		/* seconds the clock is past 'now' (the
					 * issue time, a whole second) */
	double		 window;	/* seconds from then to the plans'
					 * expiry, which ops fit in; 0: the
					 * round */
};

int	 plan_round_with(struct master *, struct ledger *, struct plan **old,
	    const struct plan_options *, time_t now, time_t expires,
	    struct plan ***plans, struct round_stats *);
int	 cmd_run(int argc, char **argv);

/* ------------------------------------------------------------------ */
/* ------------------------------------------------------------------ */
/* sim.c, baseline.c, chart.c: the simulator, its baselines, its chart */

#define SIM_MAX_FAULTS 32

enum sim_method { SIM_LP, SIM_GREEDY, SIM_ORIGIN, SIM_SWARM };

struct fault {
	int		 corrupt;	/* corrupt:H */
	char		*component;	/* host:H or link:L */
	long		 from, to;	/* rounds, inclusive */
};

/* One round, for the chart: when it ended, what was delivered by then,
 * and the busiest resource's use. */
struct sample {
	double		 end;
	uint64_t	 delivered;
	double		 busiest;
	size_t		 resource;
};

struct sim {
	struct master	*m;
	struct topology	*t;
	enum sim_method	 method;
	uint64_t	*len;		/* host * nfiles + file */
	double		*done_at;	/* per host: when it held everything */
	struct fault	 faults[SIM_MAX_FAULTS];
	size_t		 nfaults;
	double		 T;
	uint64_t	 bytes;		/* delivered */
	const char	*trace;
	double		*use;		/* per resource, B/s this round */
	struct sample	*samples;	/* per round, for the chart */
	size_t		 nsamples;
	const char	*inputs[2];	/* topology and file set paths */
	unsigned	 seed;
	double		*grow;		/* per file: B/s published, 0 whole */
	uint64_t	**pieces;	/* swarm: host * nfiles + file: the
					 * blocks held, a bit each */
	double		*carry;		/* ... bytes carried short of a
					 * whole piece */
};


uint64_t *sim_hold(struct sim *, size_t host, size_t file);
void	 sim_manifests(struct master *);
void	 sim_publish(struct sim *, double when);
uint64_t sim_published(struct sim *, size_t file);
int	 sim_load_start(struct sim *, const char *dir);
int	 sim_parse_growing(struct sim *, const char *spec);
int	 sim_parse_fault(struct sim *, const char *spec);
int	 sim_fault_active(const struct sim *, const char *component,
	    long round);
int	 sim_corrupts(const struct sim *, const char *host);
void	 sim_set_states(struct sim *, uint64_t epoch, time_t now,
	    struct failure **fail, size_t *nfail);
int	 sim_host_whole(const struct sim *, size_t host);
int	 sim_all_done(const struct sim *);
void	 sim_note_done(struct sim *, double when);
int	 sim_planned_round(struct sim *, struct ledger *, struct plan ***old,
	    long round, struct failure **fail, size_t *nfail);
void	 sim_sample_round(struct sim *, long round);
void	 sim_flow_round(struct sim *, long round);
void	 sim_flow_free(struct sim *);
/* One method's run, as the chart draws it. */
struct sim_outcome {
	const char	*method;
	double		 makespan;
	uint64_t	 total;		/* bytes delivered in all */
	struct sample	*samples;	/* per round; the caller's */
	size_t		 nsamples;
	char		 busiest[300];	/* the first round's busiest resource */
};

int	 chart_write(const char *path, const struct sim_outcome *, size_t n,
	    double bound);

/* ------------------------------------------------------------------ */
/* commands: check.c, verify.c, status.c, bound.c, simulate.c, dot.c  */
int	 cmd_verify(int argc, char **argv);
int	 verify_master(const char *dir, int quiet);
int	 cmd_status(int argc, char **argv);
int	 cmd_bound(int argc, char **argv);
int	 cmd_simulate(int argc, char **argv);
int	 cmd_dot(int argc, char **argv);
int	 cmd_forgive(int argc, char **argv);
int	 cmd_keygen(int argc, char **argv);
int	 master_key(const char *path, struct sshkey *);
int	 read_signed(int dirfd, const char *where, const char *name,
	    size_t max, const struct host *, struct signed_text *,
	    struct diag *);
void	 signed_text_free(struct signed_text *);
const char *read_error_text(int err);
int	 master_key_required(const struct topology *, int signing);
size_t	 hosts_pinned(const struct topology *);
double	 bound_makespan(struct master *, char *why, size_t whylen);

#endif
