#!/bin/sh
# schedule.sh: schedule quality and planning time.  For topologies this
# script generates, the simulated makespan of lp, greedy, origin and swarm,
# each as a ratio to sluice-plan bound, with one chart of all four per
# topology (bench/out/TOPOLOGY.svg); then one planning run at 100, 1,000
# and 10,000 hosts: its time as a share of a 60 s round and its peak
# memory.  Writes bench/out/schedule.md and bench/out/schedule.json.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
plan="$top/planner/sluice-plan"
gen="$top/tests/tools/gen-case"
out="$top/bench/out"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$out"
GIB=1073741824

"$gen" "$W/lan" --regions 1 --sites 1 --hosts 100 --files 4 --size $GIB --uplink 0 --round 10 --no-states
"$gen" "$W/wan" --regions 3 --sites 4 --hosts 25 --files 4 --size $((2 * GIB)) --round 10 --no-states
# Skewed: mixed NICs, 30% of hosts starting with part of the files, and
# one file still being published at 8 MB/s (1 GiB in 134 s).
"$gen" "$W/skew" --regions 2 --sites 3 --hosts 20 --files 4 --size $GIB --mixed-nics --round 10 --partial 0.3 --seed 7

echo "| topology | hosts | bound (s) | lp | greedy | origin | swarm | swarm / lp |" > "$out/schedule.md"
echo "|---|---:|---:|---:|---:|---:|---:|---:|" >> "$out/schedule.md"
json="{\"schedule\": ["
sep=""
for t in lan wan skew; do
	hosts=$(grep -c '^  - name: ' "$W/$t/topology.yaml")
	extra=
	[ $t = skew ] && extra="--states $W/skew/states --growing data/file-003.bin=8MB/s"
	"$plan" simulate -t "$W/$t/topology.yaml" -f "$W/$t/fileset.yaml" \
	    --method lp,greedy,origin,swarm --svg "$out/$t.svg" $extra > "$W/$t.out"
	b=$(sed -n 's/.*bound=\([0-9.]*\).*/\1/p' "$W/$t.out" | head -1)
	row="| $t | $hosts | $b |"
	jrow="{\"topology\": \"$t\", \"hosts\": $hosts, \"bound\": $b"
	for m in lp greedy origin swarm; do
		ratio=$(sed -n "s/^method=$m .*ratio=\([0-9.]*\).*/\1/p" "$W/$t.out")
		row="$row $ratio |"
		jrow="$jrow, \"$m\": $ratio"
		eval "r_$m=$ratio"
	done
	row="$row $(awk "BEGIN {printf \"%.2f\", $r_swarm / $r_lp}") |"
	echo "$row" >> "$out/schedule.md"
	json="$json$sep$jrow}"
	sep=", "
done
json="$json], \"planning\": ["
echo >> "$out/schedule.md"
echo "| hosts | files | ops | one planning run (s) | share of a 60 s round | peak memory |" >> "$out/schedule.md"
echo "|---:|---:|---:|---:|---:|---:|" >> "$out/schedule.md"
sep=""
for spec in "100 1 4 25" "1000 4 5 50" "10000 4 25 100"; do
	set -- $spec
	"$gen" "$W/p$1" --regions $2 --sites $3 --hosts $4 --files 10 --partial 0.3
	/usr/bin/time -f "%e %M" -o "$W/time" "$plan" run -d "$W/p$1" --now 2026-11-25T08:01:00Z
	secs=$(cut -d' ' -f1 "$W/time")
	mib=$(awk '{printf "%.0f", $2 / 1024}' "$W/time")
	ops=$(cat "$W/p$1"/plans/*.yaml | grep -c '^- id: ' || true)
	share=$(awk "BEGIN {printf \"%.3f\", $secs / 60}")
	echo "| $1 | 10 | $ops | $secs | $share | $mib MiB |" >> "$out/schedule.md"
	json="$json$sep{\"hosts\": $1, \"ops\": $ops, \"seconds\": $secs, \"peak_mib\": $mib}"
	sep=", "
	rm -rf "$W/p$1"
done
echo "$json]}" > "$out/schedule.json"
cat "$out/schedule.md"
