/*
 * planner.h: sluice-plan's commands, one file each, and what they share.
 * Below them, each behind its own header: sim/sim.h (the simulator),
 * sched/sched.h (the round and its schedule), master/master.h (the master
 * directory); an include never points back up.
 */
#ifndef SLUICE_PLANNER_H
#define SLUICE_PLANNER_H

#include <stdio.h>

#include "sim/sim.h"

int	 cmd_check(int argc, char **argv);	/* check.c */
int	 cmd_run(int argc, char **argv);	/* run.c */
int	 cmd_verify(int argc, char **argv);	/* verify.c */
int	 cmd_status(int argc, char **argv);	/* status.c */
int	 cmd_bound(int argc, char **argv);	/* bound.c */
int	 cmd_simulate(int argc, char **argv);	/* simulate.c */
int	 cmd_dot(int argc, char **argv);	/* dot.c */
int	 cmd_forgive(int argc, char **argv);	/* forgive.c */
int	 cmd_keygen(int argc, char **argv);	/* keygen.c */

/* health.c, beside the commands (it reads sched/ and master/) */
enum health_kind { HEALTH_CLOCK, HEALTH_CADENCE, HEALTH_SPACE };

struct health {
	enum health_kind kind;
	char		*line;		/* what to say, one line */
};

struct health *health_find(const struct master *, size_t *n);
void	 health_free(struct health *, size_t n);
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

/* What states hold of what is published: bytes, and the destination
 * hosts (those that must hold a file they do not generate) whole. */
struct progress_held {
	double		 bytes;
	size_t		 hosts, whole;
};

/* A point of the fleet's history, as status --svg draws it. */
struct progress_moment {
	time_t		 when;		/* the master's clock */
	uint64_t	 epoch;		/* the kept set's; 0 the states in
					 * place */
	struct progress_held held;
	double		 busiest;	/* the plans' busiest resource, a
					 * share of its capacity */
};

void	 progress_measure(struct master *, struct progress *);
size_t	 progress_history(struct master *, struct progress_moment **);
void	 progress_free(struct progress *);
void	 progress_duration(char *, size_t, double seconds);

/* status.c and export.c: sluice-plan status */
struct status_options {
	const char	*dir;
	int		 verbose;	/* -v: per host too */
	int		 json;		/* --json */
	const char	*prom;		/* --prom FILE; NULL none */
	const char	*svg;		/* --svg FILE; NULL none */
};

int	 status_svg(const char *path, struct master *,
	    const struct progress *);		/* history.c */
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


#endif
