#!/bin/sh
# relay-hops.sh: what one relay hop costs real agents beyond its block's
# transfer, the figure behind the planner's SCHED_HOP_DELAY.  Each run is
# one site of N hosts and a generator, equal NICs, an 8 MiB file in 1 MiB
# blocks (RELAY_SIZE, RELAY_BLOCK), a 60 s round; the planner makes its relay tree (a chain where
# the NICs are slow).  Every host's sync starts at once against one
# private sshd, and each host's finish is timed.  Each host's finish is
# also worked out by the timing rule (every op from the start, a block a
# block's time at the op's rate after the block before it and after its
# source has it, no hop counted); what a host took beyond that, fitted
# over its depth in the tree (least squares), is a start and a cost per
# hop beyond its block.  A run with a delay reaches every host through
# tests/lib/delay.py, which holds each byte that long each way (a round
# trip of twice it: a WAN's latency, without netem), and its rows say
# what a hop costs there.
#   RELAY_RUNS="N:NIC[:DELAY] ..."	the runs (16:40Mbit 8:10Mbit
#				4:40Mbit:40ms); DELAY in ms, one way
#   RELAY_POINTS=1		also print each host's depth and excess
#   RELAY_SIZE=MIB RELAY_BLOCK=MIB	the file's size and block (8, 1)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
plan="$top/planner/sluice-plan"
agent="$top/agent/sluice-agent"
. "$top/tests/lib/sshd.sh"
W=$(mktemp -d)
delayer=
trap 'delay_down; sshd_stop; rm -rf "$W"' EXIT
sshd_start "$W/sshd" >/dev/null
P=$SSHD_PORT
SIZE=${RELAY_SIZE:-8}
BLOCK=${RELAY_BLOCK:-1}
head -c $((SIZE * 1048576)) /dev/urandom > "$W/f.bin"

# delay_up MS: a delaying relay to the sshd, MS each way, its port in $HP
# (known to ssh as the sshd's own host key).
delay_up() {
	rm -f "$W/delay.port"
	python3 "$top/tests/lib/delay.py" "$P" "$(echo "$1" | awk '{print $1 / 1000}')" > "$W/delay.port" &
	delayer=$!
	until [ -s "$W/delay.port" ]; do
		kill -0 "$delayer" 2>/dev/null || { echo "relay-hops: delay.py did not start" >&2; exit 1; }
		sleep 0.05
	done
	HP=$(cat "$W/delay.port")
	sed -n "s/^\[127.0.0.1\]:$P /[127.0.0.1]:$HP /p" "$SSHD_KNOWN_HOSTS" > "$W/known.more"
	cat "$W/known.more" >> "$SSHD_KNOWN_HOSTS"
}

delay_down() {
	if [ -n "$delayer" ]; then
		kill "$delayer" 2>/dev/null || true
		wait "$delayer" 2>/dev/null || true
	fi
	delayer=
}

# run DIR N NIC DELAY: one tree, timed (through delay_up's relay when DELAY
# is not 0); appends a line to $W/rows.
run() {
	R=$1 N=$2 NIC=$3 D=$4 HP=$P pids=
	if [ "$D" != 0 ]; then
		delay_up "$D"
	fi
	mkdir -p "$R/master/states" "$R/master/manifests"
	{
		echo "round: 60s"
		echo "block_size: ${BLOCK}MiB"
		echo "sites:"
		echo "  - name: s"
		echo "    hosts:"
		for h in g $(seq -f 'h%g' 1 "$N"); do
			echo "      - {name: $h, address: 127.0.0.1, port: $HP, root: $R/roots/$h, nic: $NIC}"
			mkdir -p "$R/roots/$h"
			printf 'host: %s\nroot: %s\nmaster: {address: 127.0.0.1, port: %s, dir: %s}\nidentity: %s\nknown_hosts: %s\nwait: 0s\ntimeout: 20s\n' \
			    "$h" "$R/roots/$h" "$P" "$R/master" "$SSHD_KEY" "$SSHD_KNOWN_HOSTS" > "$R/$h.yaml"
		done
	} > "$R/master/topology.yaml"
	echo 'files: [{name: f.bin, version: 1, generator: g}]' > "$R/master/fileset.yaml"
	"$agent" publish -c "$R/g.yaml" "$W/f.bin" f.bin 1 --block-size "${BLOCK}MiB"
	"$agent" sync -c "$R/g.yaml"
	"$plan" run -d "$R/master"
	t0=$(date +%s.%N)
	for h in $(seq -f 'h%g' 1 "$N"); do
		("$agent" sync -c "$R/$h.yaml" 2>>"$R/err"; echo "$h $(date +%s.%N)" >> "$R/done") &
		pids="$pids $!"
	done
	wait $pids
	delay_down
	python3 - "$R" "$t0" "$N" "$NIC" "$D" "$BLOCK" >> "$W/rows" <<'EOP'
import os, sys, yaml
R, t0, n, nic, delay = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
done = {l.split()[0]: float(l.split()[1]) - t0 for l in open(R + "/done")}
BS = int(sys.argv[6]) * 1048576
ops = {h: yaml.safe_load(open("%s/master/plans/%s.yaml" % (R, h))).get("ops")
       or [] for h in done}
done = {h: t for h, t in done.items() if ops[h]}
memo = {}
def blocks(h):
    """Per block, when the timing rule has host h hold it (None: all it
    holds from the start, the generator's or what its state says)."""
    if h not in ops or not ops[h]:
        return None
    if h not in memo:
        t, at = 0.0, {}
        for o in ops[h]:
            up = blocks(o["source"]["host"])
            k0 = o["offset"] // BS
            for k in range(k0, k0 + (o["length"] + BS - 1) // BS):
                ready = up.get(k, 0.0) if up is not None else 0.0
                t = max(t, ready) + BS / o["rate"]
                at[k] = t
        memo[h] = at
    return memo[h]
def depth(h):
    d = 0
    while ops.get(h) and d < 10000:
        h, d = ops[h][0]["source"]["host"], d + 1
    return d
whole = [h for h in done if os.path.exists("%s/roots/%s/f.bin" % (R, h))]
pts = sorted((depth(h), done[h] - max(blocks(h).values())) for h in done)
if os.environ.get("RELAY_POINTS"):
    print(" ".join("%d:%.3f" % p for p in pts), file=sys.stderr)
m = len(pts)
mx, my = sum(d for d, _ in pts) / m, sum(y for _, y in pts) / m
sxx = sum((d - mx) ** 2 for d, _ in pts)
b = sum((d - mx) * (y - my) for d, y in pts) / sxx if sxx > 0 else float("nan")
rates = sorted({round(o["rate"] / 1e6, 2) for h in ops for o in ops[h]})
where = "" if delay == "0" else ", %s ms each way" % delay
print("| %s hosts, %s%s | %d of %d | %d | %s | %.2f s | %.2f s | %.3f s | %.3f s |" % (
    n, nic, where, len(whole), len(done), pts[-1][0], ", ".join("%g" % r for r in rates),
    max(max(blocks(h).values()) for h in done), max(done.values()), my - b * mx, b))
EOP
	if [ -s "$R/err" ]; then
		echo "the agents' errors ($N hosts, $NIC):" >&2
		head -5 "$R/err" >&2
	fi
}

i=0
for spec in ${RELAY_RUNS:-16:40Mbit 8:10Mbit 4:40Mbit:40ms}; do
	i=$((i + 1))
	rest=${spec#*:}
	case $rest in
	*:*)	delay=${rest#*:}; delay=${delay%ms} ;;
	*)	delay=0 ;;
	esac
	run "$W/run$i" "${spec%%:*}" "${rest%%:*}" "$delay"
done
echo "| relay tree, $SIZE MiB in $BLOCK MiB blocks | hosts whole | depth | rates, MB/s | timing rule, last done | measured, last done | start (fit) | a hop beyond its block (fit) |"
echo "|---|---:|---:|---|---:|---:|---:|---:|"
cat "$W/rows"
