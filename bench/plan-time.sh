#!/bin/sh
# plan-time.sh [HOSTS]: how long one signed planning run takes for a
# fleet of 10,000 hosts (4 regions of 25 sites of HOSTS hosts, default
# 100; 10 files of 256 MiB, 30% of the hosts holding part of them), per
# phase as sluice-plan run -v says, against the same run for 1,000 hosts
# (4 regions of 5 sites of 50 hosts): the ratio holds on a busy machine
# where the seconds do not.  The base and fleet runs start from a fresh
# copy of their directory at the same fixed time.  The "next round" line
# is the run cron makes a round later on the fleet's directory, after
# every host has reported the first run's epoch (holding what it held):
# it reads the first run's plans and signatures back, as every run of
# the loop does.  The "steady round" line is the fifth run, every host
# having reported each one before: from the fourth on a run takes back
# the set three runs old, which it would otherwise remove once written,
# as every run of a loop that has gone on does.  SLUICE_PLAN names another
# sluice-plan to time (an older build, say).  Writes
# bench/out/plan-time.md.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
plan=${SLUICE_PLAN:-$top/planner/sluice-plan}
gen="$top/tests/tools/gen-case"
out="$top/bench/out"
hosts=${1:-100}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$out"
NOW=2026-11-25T08:01:00Z
NEXT=2026-11-25T08:02:00Z

"$plan" keygen -k "$W/master.key" >/dev/null
"$gen" "$W/big" --regions 4 --sites 25 --hosts "$hosts" --files 10 \
    --partial 0.3 >/dev/null
"$gen" "$W/base" --regions 4 --sites 5 --hosts 50 --files 10 \
    --partial 0.3 >/dev/null

# timed WHEN: one signed run on $W/run at WHEN; prints the wall, user
# and system seconds, then run -v's phases.
timed() {
	sync
	/usr/bin/time -f "%e %U %S" -o "$W/time" "$plan" run -v -d "$W/run" \
	    -k "$W/master.key" --now "$1" > "$W/v"
	echo "$(cat "$W/time") $(sed -n 's/^seconds: //p' "$W/v")"
}

# run NAME: the same on a fresh copy of NAME.
run() {
	rm -rf "$W/run"
	cp -a "$W/$1" "$W/run"
	timed $NOW
}

# report EPOCH MINUTE: every host reports the run's epoch before the next
# run (holding what it held), each state a new file as an agent's is.
report() {
	sed -i -e "s/^epoch: .*/epoch: $1/" \
	    -e "s/^time: .*/time: '2026-11-25T08:0$2:50Z'/" "$W"/run/states/*.yaml
}

base=$(run base)
big=$(run big)
report 1 1
next=$(timed $NEXT)
# Two rounds more, untimed; the fifth is timed: every run from the
# fourth on takes back the set it would remove (three runs back).
report 2 2
timed 2026-11-25T08:03:00Z >/dev/null
report 3 3
timed 2026-11-25T08:04:00Z >/dev/null
report 4 4
steady=$(timed 2026-11-25T08:05:00Z)
b=${base%% *}
s=${big%% *}
{
	echo "| case | hosts | wall (s) | user (s) | system (s) | phases (s) |"
	echo "|---|---:|---:|---:|---:|---|"
	echo "| base | 1000 | $(echo "$base" | awk '{print $1 " | " $2 " | " $3}') | ${base#* * * } |"
	echo "| fleet | $((100 * hosts)) | $(echo "$big" | awk '{print $1 " | " $2 " | " $3}') | ${big#* * * } |"
	echo "| fleet, next round | $((100 * hosts)) | $(echo "$next" | awk '{print $1 " | " $2 " | " $3}') | ${next#* * * } |"
	echo "| fleet, steady round | $((100 * hosts)) | $(echo "$steady" | awk '{print $1 " | " $2 " | " $3}') | ${steady#* * * } |"
	echo
	echo "fleet / base: $(awk "BEGIN {printf \"%.2f\", $s / $b}")"
	echo "fleet, next round / base: $(awk "BEGIN {printf \"%.2f\", ${next%% *} / $b}")"
	echo "fleet, steady round / base: $(awk "BEGIN {printf \"%.2f\", ${steady%% *} / $b}")"
} | tee "$out/plan-time.md"
