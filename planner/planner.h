/*
 * planner.h: sluice-plan, the master.  Everything the planner's files share.
 */
#ifndef SLUICE_PLANNER_H
#define SLUICE_PLANNER_H

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

/* check.c */
int	 cmd_check(int argc, char **argv);

#endif
