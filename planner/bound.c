/*
 * bound.c: sluice-plan bound, the lower bound of sched/makespan.c printed
 * with what limits it.
 */
#include <stdio.h>
#include <sysexits.h>

#include "planner.h"

/* sluice-plan bound -d DIR | -t TOPOLOGY -f FILESET */
int
cmd_bound(int argc, char **argv)
{
	struct master *m = NULL;
	char why[512];
	double secs;
	int rc, from_dir;

	rc = master_from_args(argc, argv, 1, NULL, &m, &from_dir);
	if (rc == EX_USAGE)
		fprintf(stderr, "usage: sluice-plan bound -d DIR | -t TOPOLOGY "
		    "-f FILESET\n");
	if (rc != 0)
		return rc;
	secs = bound_makespan(m, why, sizeof(why));
	/* Plans carry data at SCHED_PAYLOAD_SHARE of every capacity: the
	 * bound of what they can reach. */
	printf("%.3f\t%s; payload bound %.3f s at %.0f%% of capacity\n", secs,
	    why, secs / SCHED_PAYLOAD_SHARE, 100 * SCHED_PAYLOAD_SHARE);
	master_free(m);
	return 0;
}
