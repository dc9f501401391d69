/*
 * planner.h: sluice-plan's commands, one file each, and what they share.
 * Below them, each behind its own header: sim/sim.h (the simulator),
 * sched/sched.h (the round and its schedule), master/master.h (the master
 * directory); an include never points back up.
 */
#ifndef SLUICE_PLANNER_H
#define SLUICE_PLANNER_H

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

#endif
