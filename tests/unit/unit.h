/* unit.h: the Check suites of the unit test runner. */
#ifndef SLUICE_UNIT_H
#define SLUICE_UNIT_H

#include <check.h>

#include "topology.h"

Suite	*suite_units(void);
Suite	*suite_names(void);
Suite	*suite_topology(void);
Suite	*suite_formats(void);
Suite	*suite_planner(void);
Suite	*suite_sched(void);

/* The agent's, run by main_agent.c (tests/unit/unit-agent). */
Suite	*suite_store(void);
Suite	*suite_run(void);

/* Parses YAML text as a topology named "t.yaml"; returns the exit code. */
int	 topology_from_string(const char *, struct topology **, struct diag *);

#endif
