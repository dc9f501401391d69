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

/* One round, for the chart: when it ended, what was delivered by then,
 * and the busiest resource's use. */
struct sample {
	double		 end;
	uint64_t	 delivered;
	double		 busiest;
	size_t		 resource;
};

/* Passes over a round's timing to take fallbacks that depend on others. */
#define SIM_FALLBACK_PASSES 8

struct sim {
	struct master	*m;
	struct topology	*t;
	enum sim_method	 method;
	uint64_t	*len;		/* host * nfiles + file */
	double		*done_at;	/* per host: when it held everything */
	struct fault	 faults[SIM_MAX_FAULTS];
	size_t		 nfaults;
	double		 T;
	double		 step;		/* the baselines' time step, seconds */
	char		*absent;	/* per host: its agent never starts */
	double		*late;		/* per host: seconds its agent starts
					 * after each plan's issue */
	double		*slow;		/* per host: its ops run this many
					 * times slower than their rates */
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
};

/* ------------------------------------------------------------------ */
/* engine.c: the simulated hosts, faults and planned rounds            */

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
void	 sim_sample_round(struct sim *, long round);

/* ------------------------------------------------------------------ */
/* baseline.c: the fluid baselines, origin and swarm                   */

void	 sim_flow_round(struct sim *, long round);
void	 sim_flow_free(struct sim *);

/* ------------------------------------------------------------------ */
/* chart.c: the runs drawn as SVG                                      */

/* One method's run, as the chart draws it. */
struct sim_outcome {
	const char	*method;
	double		 makespan;
	double		 ontime;	/* ... of the hosts that start on time
					 * at their pace; -1: all do */
	uint64_t	 total;		/* bytes delivered in all */
	struct sample	*samples;	/* per round; the caller's */
	size_t		 nsamples;
	char		 busiest[300];	/* the first round's busiest resource */
};

int	 chart_write(const char *path, const struct sim_outcome *, size_t n,
	    double bound);

#endif
