#!/bin/sh
# schedule.sh: schedule quality and planning time.  For topologies this
# script generates, the simulated makespan of lp (alone and looking three
# rounds ahead), greedy, origin and swarm,
# each as a ratio to sluice-plan bound; then the time of one planning run
# at 100, 1,000 and 10,000 hosts, as a share of the round.  Writes
# bench/out/schedule.md and bench/out/schedule.json.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
plan="$top/planner/sluice-plan"
gen="$top/tests/tools/gen-case"
out="$top/bench/out"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$out"
GIB=1073741824
now() { date +%s.%N; }

"$gen" "$W/lan" --regions 1 --sites 1 --hosts 100 --files 4 --size $GIB --uplink 0 --round 10 --no-states
"$gen" "$W/wan" --regions 3 --sites 4 --hosts 25 --files 4 --size $((2 * GIB)) --round 10 --no-states
# Skewed: mixed NICs, 30% of hosts starting with part of the files, and
# one file still being published at 8 MB/s (1 GiB in 134 s).
"$gen" "$W/skew" --regions 2 --sites 3 --hosts 20 --files 4 --size $GIB --mixed-nics --round 10 --partial 0.3 --seed 7

echo "| topology | hosts | bound (s) | lp | lp --horizon 3 | greedy | origin | swarm |" > "$out/schedule.md"
echo "|---|---:|---:|---:|---:|---:|---:|---:|" >> "$out/schedule.md"
json="{\"schedule\": ["
sep=""
for t in lan wan skew; do
	hosts=$(grep -c '^  - name: ' "$W/$t/topology.yaml")
	row="| $t | $hosts |"
	jrow="{\"topology\": \"$t\", \"hosts\": $hosts"
	b=""
	extra=
	[ $t = skew ] && extra="--states $W/skew/states --growing data/file-003.bin=8MB/s"
	for m in lp lp3 greedy origin swarm; do
		case $m in
		lp3) line=$("$plan" simulate -t "$W/$t/topology.yaml" -f "$W/$t/fileset.yaml" --method lp --horizon 3 $extra) ;;
		*) line=$("$plan" simulate -t "$W/$t/topology.yaml" -f "$W/$t/fileset.yaml" --method $m $extra) ;;
		esac
		ratio=$(echo "$line" | sed -n 's/.*ratio=\([0-9.]*\).*/\1/p')
		[ -z "$b" ] && b=$(echo "$line" | sed -n 's/.*bound=\([0-9.]*\).*/\1/p') && row="$row $b |"
		row="$row $ratio |"
		jrow="$jrow, \"$m\": $ratio"
	done
	echo "$row" >> "$out/schedule.md"
	json="$json$sep$jrow, \"bound\": $b}"
	sep=", "
done
json="$json], \"planning\": ["
echo >> "$out/schedule.md"
echo "| hosts | files | ops | one planning run (s) | share of a 60 s round |" >> "$out/schedule.md"
echo "|---:|---:|---:|---:|---:|" >> "$out/schedule.md"
sep=""
for spec in "100 1 4 25" "1000 4 5 50" "10000 4 25 100"; do
	set -- $spec
	"$gen" "$W/p$1" --regions $2 --sites $3 --hosts $4 --files 10 --partial 0.3
	t0=$(now)
	"$plan" run -d "$W/p$1" --now 2026-11-25T08:01:00Z
	t1=$(now)
	ops=$(cat "$W/p$1"/plans/*.yaml | grep -c '^- id: ' || true)
	secs=$(awk "BEGIN {printf \"%.2f\", $t1 - $t0}")
	share=$(awk "BEGIN {printf \"%.3f\", ($t1 - $t0) / 60}")
	echo "| $1 | 10 | $ops | $secs | $share |" >> "$out/schedule.md"
	json="$json$sep{\"hosts\": $1, \"ops\": $ops, \"seconds\": $secs}"
	sep=", "
	rm -rf "$W/p$1"
done
echo "$json]}" > "$out/schedule.json"
cat "$out/schedule.md"
