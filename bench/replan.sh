#!/bin/sh
# replan.sh: what --replan is worth in the cron loop as operators run it
# (tests/loop.sh's cron half: 5 agents and the planner each started by
# its own clock, the agents' first plans up to a quarter round late by
# their splay) where a round is long against its work: 20 s rounds and
# 24 MiB over a 25 Mbit link, about 8 s of it.  The planner runs with
# --replan and without, in turn, three times each; prints each time to
# every host whole and the ratio of the means (with over without).
# Writes bench/out/replan.md.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/bench/out"
mkdir -p "$out"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
for k in 1 2 3; do
	for r in 1 0; do
		LOOP_ROUND=20 LOOP_MIB=24 LOOP_REPLAN=$r sh "$top/tests/loop.sh" \
		    2>"$W/err" >"$W/out" || { cat "$W/out" "$W/err"; exit 1; }
		sed -n 's/^loop: sequenced .*, cron \([0-9.]*\)s.*/\1/p' "$W/err" >> "$W/r$r"
	done
done
{
	echo "| planner | cron loop, 20 s rounds, 24 MiB: seconds to every host whole (3 runs) |"
	echo "|---|---|"
	echo "| run --replan | $(tr '\n' ' ' < "$W/r1")|"
	echo "| run | $(tr '\n' ' ' < "$W/r0")|"
	echo
	echo "with / without: $(awk 'NR == FNR {a += $1; n++; next} {b += $1; m++} END {printf "%.2f", (a / n) / (b / m)}' "$W/r1" "$W/r0")"
} | tee "$out/replan.md"
