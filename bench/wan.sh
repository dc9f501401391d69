#!/bin/sh
# wan.sh: the shaped WAN of tests/wan.sh (three sites in network
# namespaces, tc at twice the declared capacities) held to the target:
# the distribution ends within 1.3 times the planner's lower bound, as
# it does on an idle machine of two cores or more.  The test itself
# asserts only what holds on a busy one.  Run twice: with the rounds
# sequenced (the planner, then every agent's sync), as the test runs,
# and as cron runs them (WAN_CRON=1: the planner on the round's grid,
# each sync on its own clock waiting for the next plan), which is what
# an operator's fleet pays.  Needs root; skips elsewhere.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
echo "wan: rounds sequenced"
WAN_MAX_RATIO=${WAN_MAX_RATIO:-1.3} sh "$top/tests/wan.sh" 2>&1
echo "wan: rounds started as cron starts them"
WAN_CRON=1 WAN_MAX_RATIO=${WAN_MAX_RATIO:-1.3} sh "$top/tests/wan.sh" 2>&1
