#!/bin/sh
# load.sh: time and peak memory (/usr/bin/time -v) under load: one planning
# run over 10,000 hosts' states; one agent executing a plan of 1,000 ops;
# 1,000 agents (LOAD_AGENTS) syncing against one sshd in one round, and
# how many hold the file when it ends; then the next round's.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
plan="$top/planner/sluice-plan"
agent="$top/agent/sluice-agent"
gen="$top/tests/tools/gen-case"
. "$top/tests/lib/sshd.sh"
W=$(mktemp -d)
trap 'sshd_stop; rm -rf "$W"' EXIT
MIB=1048576
measure() {	# measure LABEL COMMAND...: prints elapsed and peak memory
	label=$1
	shift
	/usr/bin/time -v "$@" 2>"$W/time.txt" >/dev/null || { cat "$W/time.txt"; return 1; }
	el=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$W/time.txt")
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$W/time.txt")
	printf '| %s | %s | %.1f MiB |\n' "$label" "$el" "$(awk "BEGIN {print $rss / 1024}")"
}
echo "| load | elapsed | peak memory |"
echo "|---|---:|---:|"
"$gen" "$W/big" --regions 4 --sites 25 --hosts 100 --files 10 --partial 0.3
measure "sluice-plan run, 10,000 hosts x 10 files" "$plan" run -d "$W/big"
rm -rf "$W/big"

sshd_start "$W/sshd" >/dev/null
P=$SSHD_PORT
conf() {
	mkdir -p "$W/roots/$1"
	printf 'host: %s\nroot: %s\nmaster: {address: 127.0.0.1, port: %s, dir: %s}\nidentity: %s\nknown_hosts: %s\nparallel: %s\nwait: 0s\nsplay: %s\n' \
	    "$1" "$W/roots/$1" "$P" "$W/master" "$SSHD_KEY" "$SSHD_KNOWN_HOSTS" "${2:-4}" "${3:-0s}" > "$W/$1.yaml"
}
conf g
head -c $((250 * MIB)) /dev/urandom > "$W/f.bin"
"$agent" publish -c "$W/g.yaml" "$W/f.bin" f.bin 1 --block-size 256KiB
rm -f "$W/f.bin"
conf d 8
ops=""
for i in $(seq 0 999); do ops="$ops --op g,127.0.0.1,$P,$W/roots/g,$((i * 262144)),262144,50000000"; done
"$top/tests/tools/make-plan" "$W/roots/g/.sluice/f.bin@1.manifest.yaml" d --expires-in 600 $ops > "$W/d.plan"
measure "sluice-agent run, a plan of 1,000 ops (250 MiB)" "$agent" run -c "$W/d.yaml" "$W/d.plan"
cmp -s "$W/roots/g/f.bin" "$W/roots/d/f.bin" || { echo "1,000 ops: copy differs"; exit 1; }

# N agents (LOAD_AGENTS, 1,000 by default) against one sshd, serving both
# the master and the data, in one 60 s round: each keeps its fixed place
# within a 20 s splay, and a connection the sshd turns away is tried again.
N=${LOAD_AGENTS:-1000}
mkdir -p "$W/master/states" "$W/master/manifests"
{
	echo "round: 60s"
	echo "block_size: 1MiB"
	echo "sites:"
	echo "  - name: s"
	echo "    hosts:"
	echo "      - {name: m, address: 127.0.0.1, port: $P, root: $W/roots/m, nic: 4Gbit}"
	for i in $(seq 1 $N); do
		echo "      - {name: a$i, address: 127.0.0.1, port: $P, root: $W/roots/a$i, nic: 1Gbit}"
	done
} > "$W/master/topology.yaml"
echo 'files: [{name: x.bin, version: 1, generator: m, size: 1MiB}]' > "$W/master/fileset.yaml"
conf m
for i in $(seq 1 $N); do conf a$i 4 20s; done
head -c $MIB /dev/urandom > "$W/x.bin"
"$agent" publish -c "$W/m.yaml" "$W/x.bin" x.bin 1 --block-size 1MiB
"$agent" sync -c "$W/m.yaml"
# Cron starts the planner on the minute, and a run later in a minute
# plans a shorter round (to the next one): each round here starts on one.
on_minute() { sleep $((60 - $(date +%s) % 60)); }
on_minute
"$plan" run -d "$W/master"
# Every agent of the fleet syncs in the round, the generator's too (cron
# runs it on every host): it reports the round's plan run, so the next
# planning run knows it is up.
cat > "$W/all.sh" <<EOS
"$agent" sync -c "$W/m.yaml" 2>>"$W/load.err" &
for i in \$(seq 1 $N); do "$agent" sync -c "$W/a\$i.yaml" 2>>"$W/load.err" & done
wait
EOS
measure "$N agents syncing in one round (20 s splay), one sshd" sh "$W/all.sh"
n=$(grep -l "length: $MIB" "$W"/master/states/a*.yaml 2>/dev/null | wc -l)
reported=$(grep -l "^epoch: 1" "$W"/master/states/a*.yaml 2>/dev/null | wc -l)
echo "$N agents: $reported of $N ran the round's plan and reported it to the master" >&2
refused=$(grep -c "master: connect" "$W/load.err" 2>/dev/null || true)
echo "$N agents: $n of $N hold the whole file after one round; ${refused:-0} gave up on the master" >&2
errors() {
	if [ -s "$W/load.err" ]; then
		echo "the agents' errors, most frequent first (digits as #):" >&2
		sed 's/[0-9][0-9]*/#/g' "$W/load.err" | sort | uniq -c | sort -rn | head -8 >&2
	fi
	: > "$W/load.err"
}
errors

# The next round, as a fleet that has run before: every agent has
# reported when it begins its plans (its place in the splay, as it
# measured it), so the planner places each below hosts that start before
# it.  A new file of 1 MiB, one 60 s round.
head -c $MIB /dev/urandom > "$W/y.bin"
"$agent" publish -c "$W/m.yaml" "$W/y.bin" y.bin 1 --block-size 1MiB
echo 'files: [{name: x.bin, version: 1, generator: m, size: 1MiB}, {name: y.bin, version: 1, generator: m, size: 1MiB}]' > "$W/master/fileset.yaml"
"$agent" sync -c "$W/m.yaml"
on_minute
"$plan" run -d "$W/master"
measure "$N agents syncing in the next round (20 s splay), one sshd" sh "$W/all.sh"
n=$(grep -l "name: y.bin, version: 1, length: $MIB" "$W"/master/states/a*.yaml 2>/dev/null | wc -l)
echo "$N agents: $n of $N hold the new file after the next round" >&2
errors
