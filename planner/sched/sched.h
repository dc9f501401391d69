/*
 * sched.h: the schedule (planner/sched/), what the rest of the planner may
 * use of it: the budget of what each resource may carry, the timing of ops
 * block by block, one planning round from a master directory to its plans,
 * and the lower bound on the makespan.  The round's own arithmetic
 * (struct sched, demands, candidates, the LP) is private to sched/, in
 * schedule.h.  Above the master directory: nothing here knows a command.
 */
#ifndef SLUICE_SCHED_H
#define SLUICE_SCHED_H

#include "../master/master.h"

/* ------------------------------------------------------------------ */
/* budget.c: what each resource may carry                              */

/* budget.c: what each resource may carry                              */

/*
 * The share of a capacity given to data: capacities are on the wire, and
 * SSH, TCP, IP and Ethernet headers and SFTP read-ahead add some 6% to the
 * bytes copied (measured on shaped links, tests/wan.sh).
 */
#define SCHED_PAYLOAD_SHARE 0.94

/*
 * What one relay hop adds beyond its block's transfer, in seconds
 * (hop_delay()): the relay's group commit, its reader's learning of it
 * (an ask of the relay's length, one round trip for its hint, begins
 * every sixteenth of a block) and the round trip of its first bytes.
 * Measured by bench/relay-hops.sh (each host's finish against the timing
 * rule's, fitted over its depth), on one sshd and 1 MiB blocks: on
 * loopback a tree of 16 hosts at 2.35-4.7 MB/s, none; a chain of 8 at
 * 1.18 MB/s, 0.02-0.05 s.  A chain of 4 at 4.7 MB/s (8 MiB) through
 * tests/lib/delay.py: 0.11 s a hop at a round trip of 20 ms, 0.14-0.15 s
 * at 40 ms, 0.22-0.28 s at 80 ms, 0.50-0.69 s at 160 ms (six runs, five
 * at most 0.63 s), which SCHED_HOP_TRIPS seconds a second of round trip
 * bound but for that one.  A hop costs that, and SCHED_HOP_DELAY at
 * least: kept from before the round trips were measured, it bounds the
 * depth of a site's chains (demand.c).
 */
#define SCHED_HOP_DELAY 0.15
#define SCHED_HOP_TRIPS 4.0

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

/* ------------------------------------------------------------------ */
/* timing.c: when each op is done, block by block, relays included     */

struct timed_op {
	size_t		 dst, src, file;
	uint64_t	 offset, length, block_size;
	double		 rate;		/* bytes/s */
	uint64_t	 source_have;	/* the source holds from the start */
	uint64_t	 dest_have;	/* the destination holds from it */
	size_t		 tag;		/* the caller's, untouched */
	double		 start;		/* seconds after issue it begins: 0 by
					 * the rule; a late agent's in the
					 * simulator */
	double		 hop;		/* seconds a relayed block of it waits
					 * beyond its source's copy: 0 by the
					 * rule, hop_delay() in the planner
					 * and the simulator */
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

double	 hop_delay(struct topology *, size_t from_site, size_t to_site);
struct timed_op timed_op_from(const struct op *, size_t dst, size_t src,
	    size_t file, uint64_t source_have, uint64_t dest_have);
void	 timing_init(struct timing *, size_t nfiles);
size_t	 timing_add(struct timing *, const struct timed_op *);
void	 timing_run(struct timing *);
void	 timing_free(struct timing *);

/* fallback.c: the rule a fallback keeps (verify applies it) */
int	 fallback_violation(struct topology *, const struct plan *src_plan,
	    const struct op *, size_t dst, char *why, size_t whylen);

/* ------------------------------------------------------------------ */
/* round.c: one planning round                                         */

enum method { METHOD_LP, METHOD_GREEDY };

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
	time_t		 expires;	/* the new plans' expiry */
	size_t		 ended;		/* hosts whose last plan expired */
	size_t		 unheard;	/* ... unreported, taken as heard:
					 * the master's silence */
	int		 probe;		/* 1: they expire early as a probe
					 * (early_expiry() in sched/emit.c) */
	size_t		 shapes;	/* forests planned (round.c) */
	const char	*shape;		/* ... the kept one's name
					 * (shape_name() in sched/round.c) */
};

/* How to plan. */
struct plan_options {
	enum method	 method;
	double		 late;		/* seconds the clock is past 'now' (the
					 * issue time, a whole second) */
	double		 window;	/* seconds from then to the plans'
					 * expiry, which ops fit in; 0: the
					 * round */
	double		 early;		/* > 0: plans whose ops are all done
					 * well before their expiry expire
					 * when they are done, at least this
					 * many seconds after 'now', for a
					 * caller that plans again then */
	double		 started;	/* clock_mono() when the run began, or
					 * < 0: early plans then also live
					 * three times what the run has taken
					 * when they are made */
};

int	 plan_round_with(struct master *, struct ledger *, struct plan **old,
	    const struct plan_options *, time_t now, time_t expires,
	    struct plan ***plans, struct round_stats *);

/* ------------------------------------------------------------------ */
/* makespan.c: a lower bound on the time any schedule needs            */

double	 bound_makespan(struct master *, char *why, size_t whylen);
double	 bound_makespan_of(struct master *, const char *skip, char *why,
	    size_t whylen);

/* space.c: the room hosts report */
uint64_t space_room(const struct master *, size_t host);
uint64_t space_need(const struct master *, size_t host);

#endif
