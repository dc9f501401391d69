/*
 * sim.h: the simulator (planner/sim/): a distribution run to completion
 * against a simulated network, round by round with the planner's own
 * schedule or as the fluid baselines, and the chart of the runs.  Above
 * the schedule; only the simulate command uses it.
 */
#ifndef SLUICE_SIM_H
#define SLUICE_SIM_H

#include "../sched/sched.h"

#define SIM_MAX_FAULTS 32

enum sim_method { SIM_LP, SIM_GREEDY, SIM_ORIGIN, SIM_SWARM };

struct fault {
	int		 corrupt;	/* corrupt:H */
	char		*component;	/* host:H or link:L */
	long		 from, to;	/* rounds, inclusive */
};

/* A stretch of a run, for the chart: from t0 to t1 seconds, what was
 * delivered by t1, and the busiest resource over the stretch: its use,
 * a share of its capacity, and which it was. */
struct sample {
	double		 t0, t1;
	uint64_t	 delivered;
	double		 busiest;
	size_t		 resource;
};

/* Passes over a round's timing to take fallbacks that depend on others. */
#define SIM_FALLBACK_PASSES 8
/* The stretches a planned round is cut into for the chart, from its
 * start to its last block. */
#define SIM_ROUND_STRETCHES 200

struct sim {
	struct master	*m;
	struct topology	*t;
	enum sim_method	 method;
	uint64_t	*len;		/* host * nfiles + file */
	double		*done_at;	/* per host: when it held everything */
	double		 master_trip;	/* --master-delay: seconds of a round
					 * trip to the master, 0 where none */
	double		 report;	/* ... and of an agent's report
					 * (SIM_REPORT_TRIPS of them) */
	double		*began;		/* per host: seconds after its issue
					 * its agent began the last plan it
					 * ran; NAN before the first */
	struct fault	 faults[SIM_MAX_FAULTS];
	size_t		 nfaults;
	double		 T;
	double		 clock;		/* planned rounds: seconds from the
					 * run's start to this round's */
	double		 early;		/* plan_options.early (--replan) */
	long		 planned;	/* --replan: rounds planned so far */
	double		 step;		/* the baselines' time step, seconds */
	char		*absent;	/* per host: its agent never starts */
	double		*late;		/* per host: seconds its agent starts
					 * after the others (planned rounds:
					 * after SIM_AGENT_START; the
					 * baselines: after the run's start) */
	double		*slow;		/* per host: its ops run this many
					 * times slower than their rates */
	uint64_t	 bytes;		/* delivered */
	const char	*trace;
	double		*use;		/* per resource, B/s: scratch */
	struct sample	*samples;	/* the run's stretches, in order */
	size_t		 nsamples;
	const char	*inputs[2];	/* topology and file set paths */
	unsigned	 seed;
	double		*grow;		/* per file: B/s published, 0 whole */
	uint64_t	**pieces;	/* swarm: host * nfiles + file: the
					 * blocks held, a bit each */
};

/*
 * Seconds after a plan's issue that a simulated agent begins it, as real
 * ones do (the start their states report, which counts from the whole
 * second of the issue, and so the planner's own fraction of a second).
 * A cron start (SIM_AGENT_START) reaches the master, fetches the plan,
 * checks its signature and opens its sources' sessions: agents of
 * tests/wan.sh report 0.4-0.8 s when each round starts them (a few
 * 1.7-2 s on a busy machine).  A sync that waits for the plan
 * (SIM_SYNC_START), as agents under cron do for every plan after their
 * first, holds the master's session and its sources' from the plan
 * before: in tests/wan.sh's cron loop (WAN_CRON=1) they report 0.0-0.2 s
 * in every round after the first, those whose cron start the round
 * before waited for the last sync to leave included.  Both are measured
 * with the master on the hosts' own network: the simulator counts no
 * round trips to the master, which a master across a WAN adds to both
 * (tests/wan.sh with WAN_MASTER_DELAY=40: 0.3-0.6 s for a sync).  The
 * baselines, which have no rounds, pay it nowhere.
 */
#define SIM_AGENT_START 0.5
#define SIM_SYNC_START 0.2

/*
 * The round trips to a master across a WAN (--master-delay) that real
 * agents pay beyond those starts and the report's margin, where plans
 * and states are signed (sluice(7)).  A cron start (SIM_CRON_TRIPS): its
 * session (9), the topology's check (1) and the state's (4), current
 * read (1), the plan and its signature (4, read together,
 * ssh_get_pair()); tests/e2e.sh part C at 80 ms a round trip: 1.59 s
 * from the lock to the plan, 1.90 s while each file took 3.  A sync's
 * next plan (SIM_FETCH_TRIPS): current read (1), the plan and its
 * signature (4); tests/wan.sh's cron loop, unsigned (4), begins at 40 ms
 * each way 0.3-0.4 s after issue where it is not behind a full shaped
 * link.  A report (SIM_REPORT_TRIPS): the state and its signature,
 * each replaced in 5, the state's steps sent with the signature's
 * (ssh_replace_pair()): 7 in all; tests/e2e.sh part C at 80 ms a round
 * trip: 0.58 s, 0.82 s one after the other, 1.14 s at 7 each.  The ops
 * stop that much before expiry, a quarter more and 0.05 s
 * (plan_report_stop()), and the state says it (report:).
 */
#define SIM_CRON_TRIPS 20
#define SIM_FETCH_TRIPS 5
#define SIM_REPORT_TRIPS 7

/* When a simulation starts: 2026-11-25T08:00:00Z. */
#define SIM_EPOCH ((time_t)1795593600)

/*
 * With --replan, the least life of plans that expire early: what
 * sluice-plan run --replan gives them where its own run is short (see
 * REPLAN_MIN there).
 */
#define SIM_REPLAN_MIN 2.0

/* ------------------------------------------------------------------ */
/* engine.c: the simulated hosts, faults and planned rounds            */

int	 sim_master_delay(struct sim *, const char *spec);
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
int	 sim_parse_starts(struct sim *, const char *absent, const char *late,
	    const char *slow);
int	 sim_all_done(const struct sim *);
void	 sim_note_done(struct sim *, double when);
int	 sim_planned_round(struct sim *, struct ledger *, struct plan ***old,
	    long round, struct failure **fail, size_t *nfail);
void	 sim_sample(struct sim *, double t0, double t1, uint64_t delivered,
	    const double *use);

/* ------------------------------------------------------------------ */
/* baseline.c: the fluid baselines, origin and swarm                   */

void	 sim_flow_round(struct sim *, long round);
void	 sim_flow_free(struct sim *);

/* ------------------------------------------------------------------ */
/* chart.c: panels of lines over one time axis, drawn as SVG           */

#define CHART_SERIES 4		/* lines a panel holds, one per series */
#define CHART_PANELS 3

enum chart_scale { CHART_BYTES, CHART_PERCENT };

/* One series' line in a panel: n points, t ascending (the caller's). */
struct chart_line {
	const double	*t, *y;		/* seconds; bytes or percent */
	size_t		 n;
	int		 steps;		/* y holds until the next point */
	int		 marks;		/* a dot at each point */
};

struct chart_panel {
	const char	*id;		/* its frame's id in the SVG */
	const char	*label;		/* the y axis's, without its unit */
	enum chart_scale scale;		/* bytes from 0 to ymax, or 0-100% */
	double		 ymax;
	double		 level;		/* a dotted level (bytes) labelled
					 * level_label; <= 0 none */
	const char	*level_label;
	struct chart_line lines[CHART_SERIES];
};

/* What chart_write() draws: panels stacked over one time axis, the
 * bound as a vertical line, a legend line per series. */
struct chart {
	char		 title[400];
	char		 xlabel[200];	/* the time axis's, in seconds */
	double		 tmax;		/* seconds the axis spans */
	double		 bound;		/* seconds where the bound is marked
					 * by a line; < 0 none */
	char		 bound_label[100];	/* its label, "bound ..." */
	size_t		 nseries;
	char		 legend[CHART_SERIES][400];
	size_t		 npanels;
	struct chart_panel panels[CHART_PANELS];
};

int	 chart_write(const char *path, const struct chart *);

/* One method's run, as simulate charts it. */
struct sim_outcome {
	const char	*method;
	double		 makespan;
	double		 ontime;	/* ... of the hosts that start on time
					 * at their pace; -1: all do */
	uint64_t	 total;		/* bytes delivered in all */
	struct sample	*samples;	/* the run's stretches, in order */
	size_t		 nsamples;
	double		*done;		/* per destination host: when it was
					 * whole, ascending; INFINITY never */
	size_t		 ndest;
	char		 busiest[300];	/* the resource busiest the longest */
};

#endif
