/*
 * schedule.h: the round's own arithmetic, private to planner/sched/: one
 * round's schedule (struct sched), its demands and candidates, the blocks
 * each is given, the LP that gives them and the plans built from them.
 * Nothing outside sched/ includes it.
 */
#ifndef SLUICE_SCHEDULE_H
#define SLUICE_SCHEDULE_H

#include <pthread.h>

#include "sched.h"

/* The part of a round that ops are sized to fill at least; more where
 * the agents' starts say how much of it they use (sched_forest()). */
#define SCHED_ROUND_USE 0.9

/* The least time an agent is taken to need to begin a plan after its
 * issue, where its state says less: an agent's start counts its
 * sources' sessions opened (sync.c in the agent), and under cron those
 * of tests/wan.sh report 0.0-0.2 s; this much is kept for the master's
 * own session and the plan's fetch, which a start does not see before
 * its first plan.  At 0.5 s, wan.sh's cron loop sized ops to 4.46 s of
 * its 5 s rounds where its agents began within 0.2 s, and took 52.0 s;
 * at this, 4.80 s and 49.8 s. */
#define SCHED_START_LEAST 0.15

/* Within a site, every host serves up to this many others of a file. */
#define SCHED_FANOUT 4

/* How much more a block is worth to a host with children in its file's
 * copy tree (it serves them next round) than to a leaf. */
#define SCHED_INTERIOR_BONUS 0.5

/* What a block is worth to a host whose agent starts late (sched_late())
 * against one that starts on time: where they compete for a source, the
 * hosts that will be there to take it are served first. */
#define SCHED_LATE_WORTH 0.5

/* The share of a host's outbound capacity the WAN may take first. */
#define SCHED_WAN_SHARE 0.5

/* The share of a source site's head's egress its LAN leaves the WAN. */
#define SCHED_EXPORT_SHARE 0.5

/* When what is left fits in a round: ops are sized to the lower bound
 * times this, room for pipelines to fill (allocate.c). */
#define SCHED_FILL_MARGIN 1.15
/* A host silent on its expired plan whose last report is older than
 * this many rounds is not planned for until it reports. */
#define SILENT_ROUNDS 2
/* A fallback is tried this share of the round (at least
 * FALLBACK_MARGIN_MIN seconds) after its op's first block was to be
 * done; the relay sheds FALLBACK_GUARD earlier. */
#define FALLBACK_MARGIN 0.05
#define FALLBACK_MARGIN_MIN 2.0
/* A relay sheds this long before its hosts may take their fallbacks:
 * how far apart hosts' clocks may be. */
#define FALLBACK_GUARD 0.5
/* In a round that may be the last, the part of a relay op's rate the
 * relay keeps against the one part of each host that may fall back on
 * it (k hosts get its rate over k + FALLBACK_LAST_KEEP each): there the
 * relay is late already when they leave it, and the hosts on time decide
 * when the round ends. */
#define FALLBACK_LAST_KEEP 0.2

/*
 * The shapes a round's forest may take besides its own (struct
 * sched.shape), each a choice the forest makes by rule of thumb where
 * the timing of the plans decides better: a round is planned in each
 * shape that changes its forest, and the plans the timing rule says do
 * the most are kept (round.c).  In a round that may be the last
 * (sched.may_end): SHAPE_WIDE, trees within a site up to
 * FOREST_FANOUT_WIDE wide; SHAPE_LOW, the sites' trees count the hops to
 * a site FOREST_LOW_HOPS times.  In any other: SHAPE_NEAR, a site's head
 * a few blocks ahead of its exporter waits for it rather than take the
 * file from a holder in another partition (forest.c).  In both:
 * SHAPE_SHALLOW, a site exports a file only from its shallowest hosts in
 * the file's tree, the first of which feeds one stream fewer of it within
 * the site for that; SHAPE_INTAKE, a site counts no stream entering it
 * of a file it holds the most of, in what it can export (site_spare());
 * SHAPE_BYTES, a site's trees are evened by what each stream moves in the
 * round, not by how many streams each host feeds (site_even());
 * SHAPE_COUNTED, with SHAPE_SHALLOW, a site's first host of a file
 * counts the streams it sends the sites below as it is given hosts of
 * the other files to feed, and feeds a stream fewer of the file within
 * the site for each (site_hosts()).
 */
#define SHAPE_SHALLOW	1
#define SHAPE_WIDE	2
#define SHAPE_NEAR	4
#define SHAPE_LOW	8
#define SHAPE_INTAKE	16
#define SHAPE_BYTES	32
#define SHAPE_COUNTED	64

/* One destination host that still needs bytes of one file. */
struct demand {
	size_t		 host;
	size_t		 file;
	uint64_t	 have;		/* its verified length */
	uint64_t	 want;		/* what it must reach now */
	size_t		 first;		/* its candidates, in source length */
	size_t		 ncand;		/* order (shortest first) */
	long		 forest;	/* its forest candidate, once granted;
					 * else -1 */
};

/* One possible source for a demand, and what it is given. */
struct candidate {
	size_t		 demand;
	size_t		 source;
	uint64_t	 source_len;	/* what the source holds */
	size_t		*res;		/* the route's resources, in
					 * sched.cand_res */
	size_t		 res_at;	/* ... where, while candidates are
					 * added */
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

/* One round's schedule, from demands to the blocks each candidate got. */
struct sched {
	struct master	*m;
	struct topology	*t;
	enum method	 method;
	unsigned	 shape;		/* SHAPE_* */
	int		 quiet;		/* a round's pass after its first
					 * (round.c): warns of nothing the
					 * first would have */
	double		 T;		/* the round ops fill, seconds */
	double		 window;	/* the round's time left, seconds */
	int		 may_end;	/* the hosts on time may all be whole
					 * within it (round_fill()) */
	double		 late;		/* plan_options.late */
	double		 early;		/* plan_options.early */
	double		 started;	/* plan_options.started */
	int		 after_probe;	/* the last set was a probe (the
					 * ledger's): ops it cut are no sign
					 * of a slow agent */
	uint64_t	 last_epoch;	/* the set before this one */
	struct budget	 budget;	/* what each resource has left */
	char		*blocked;	/* per resource: a failed component */
	char		*source_ok;	/* per host: may serve */
	char		*dest_ok;	/* per host: may be planned for */
	double		*start;		/* per host: seconds after issue its
					 * agent begins its plan, as its state
					 * says (0 when it does not) */
	double		 earliest;	/* the earliest a state says
					 * (forest.c) */
	double		 late_after;	/* an agent starting after this is
					 * late: the earliest and the slack
					 * at the round's length (forest.c) */
	char		*silent;	/* per host: did not report on its last
					 * plan, which has expired: relays
					 * nothing (round.c) */
	size_t		 ended;		/* hosts whose last plan has expired */
	size_t		 unheard;	/* ... unreported, taken as heard: no
					 * host reported since the last set
					 * (round.c) */
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
	size_t		*cand_res;	/* every candidate's route, end to
					 * end: a candidate is a few cache
					 * lines, not ROUTE_MAX resources */
	size_t		 ncand_res;
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
	/* The forest (forest.c); NULL before sched_forest(): */
	long		*forest_parent;	/* host * nfiles + file: the host
					 * that feeds it, or -1 */
	size_t		*forest_rank;	/* ... its place in its site's order */
	size_t		*forest_site_key;	/* file * nsites + site: the
					 * site's place in the file's tree */
	int		 forest_done;	/* its grants made: the rest fills */
};

/* ------------------------------------------------------------------ */
/* demand.c: demands and candidates                                    */

void	 sched_init(struct sched *, struct master *, enum method);
void	 sched_free(struct sched *);
void	 sched_demands(struct sched *);
void	 sched_candidates(struct sched *);
uint64_t sched_held(const struct sched *, size_t host, size_t file);
size_t	 sched_site_group(const struct topology *, size_t site);
int	 sched_relays(const struct sched *, size_t host, size_t file);
int	 sched_precedes(const struct sched *, const size_t *site_key,
	    const size_t *rank, size_t a, size_t b, size_t file);
uint64_t sched_block_size(const struct sched *, size_t file);
uint64_t sched_blocks_of(const struct sched *, size_t file, uint64_t len);
uint64_t sched_block_bytes(const struct sched *, const struct candidate *,
	    uint64_t first_block, uint64_t nblocks);
uint64_t sched_scheduled_bytes(const struct sched *);

/* ------------------------------------------------------------------ */
/* forest.c: the round's structure, then its rates                     */

void	 sched_forest(struct sched *);
void	 sched_forest_grant(struct sched *);
double	 sched_late(const struct sched *, size_t host);

/* ------------------------------------------------------------------ */
/* allocate.c: blocks per candidate                                    */

void	 sched_allocate(struct sched *);
double	 sched_fill_time(const struct sched *, const char *skip);
uint64_t sched_room(const struct sched *, const struct candidate *);
void	 sched_charge(struct sched *, const struct candidate *, double blocks);

/* ------------------------------------------------------------------ */
/* lp.c: a linear program, solved with GLPK; its fields are lp.c's     */

struct lp;

struct lp *lp_new(int time_limit_ms);
void	 lp_quiet(struct lp *);
void	 lp_free(struct lp *);
size_t	 lp_ncols(const struct lp *);
int	 lp_add_col(struct lp *, double obj, int fixed);
int	 lp_add_row(struct lp *, double bound, int fixed);
void	 lp_entry(struct lp *, int row, int col, double v);
int	 lp_solve(struct lp *, double *x, double *seconds);
void	 lp_thread_done(void);

/* ------------------------------------------------------------------ */
/* emit.c: the plans built from the allocation, fitted and checked     */

struct plan **plans_build(struct sched *, uint64_t epoch, time_t now,
	    time_t expires);
void	 plans_time(const struct sched *, struct plan **, struct timing *,
	    int hops, const double *start);
void	 plans_fallback(const struct sched *, struct plan **, double window);
int	 plans_new_version(const struct sched *, struct plan **plans,
	    struct plan **old);
void	 plans_expire_again(const struct sched *, struct plan **plans,
	    struct plan **old, time_t now, time_t grid, time_t *expires,
	    int *probe);
double	 sched_ops_window(const struct sched *, double life);
int	 plans_finish(const struct sched *, struct plan **plans,
	    struct plan **old, time_t now, time_t *expires, int *probe);

/* space.c: every demand bounded by the room its host reports */
void	 space_bound_demands(struct sched *);

#endif
