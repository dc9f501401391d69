#!/bin/sh
# relay-hops.sh: what one relay hop costs real agents beyond its block's
# transfer, the figure behind the planner's SCHED_HOP_DELAY.  One site of
# N hosts (16) and a generator, equal NICs (40 Mbit), an 8 MiB file in
# 1 MiB blocks, a 60 s round: the planner makes one relay chain.  Every
# host's sync starts at once against one private sshd; each host's finish
# is timed.  A hop's cost is the spread of finishes over the chain's
# depth; the timing rule counts one block's transfer for it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
plan="$top/planner/sluice-plan"
agent="$top/agent/sluice-agent"
. "$top/tests/lib/sshd.sh"
N=${RELAY_HOSTS:-16}
W=$(mktemp -d)
trap 'sshd_stop; rm -rf "$W"' EXIT
sshd_start "$W/sshd" >/dev/null
P=$SSHD_PORT
mkdir -p "$W/master/states" "$W/master/manifests"
conf() {
	mkdir -p "$W/roots/$1"
	printf 'host: %s\nroot: %s\nmaster: {address: 127.0.0.1, port: %s, dir: %s}\nidentity: %s\nknown_hosts: %s\nwait: 0s\ntimeout: 20s\n' \
	    "$1" "$W/roots/$1" "$P" "$W/master" "$SSHD_KEY" "$SSHD_KNOWN_HOSTS" > "$W/$1.yaml"
}
{
	echo "round: 60s"
	echo "block_size: 1MiB"
	echo "sites:"
	echo "  - name: s"
	echo "    hosts:"
	for h in g $(seq -f 'h%g' 1 "$N"); do
		echo "      - {name: $h, address: 127.0.0.1, port: $P, root: $W/roots/$h, nic: 40Mbit}"
		conf "$h"
	done
} > "$W/master/topology.yaml"
echo 'files: [{name: f.bin, version: 1, generator: g}]' > "$W/master/fileset.yaml"
head -c $((8 * 1048576)) /dev/urandom > "$W/f.bin"
"$agent" publish -c "$W/g.yaml" "$W/f.bin" f.bin 1 --block-size 1MiB
"$agent" sync -c "$W/g.yaml"
"$plan" run -d "$W/master"
t0=$(date +%s.%N)
for h in $(seq -f 'h%g' 1 "$N"); do
	("$agent" sync -c "$W/$h.yaml" 2>>"$W/err"; echo "$h $(date +%s.%N)" >> "$W/done") &
done
wait
python3 - "$W" "$t0" <<'EOP'
import os, sys, yaml
W, t0 = sys.argv[1], float(sys.argv[2])
done = {l.split()[0]: float(l.split()[1]) - t0 for l in open(W + "/done")}
src, rate = {}, {}
for h in done:
    p = yaml.safe_load(open("%s/master/plans/%s.yaml" % (W, h)))
    o = p["ops"][0]
    src[h], rate[h] = o["source"]["host"], o["rate"]
def depth(h):
    n = 0
    while h != "g" and n < 10000:
        h, n = src[h], n + 1
    return n
whole = [h for h in done if os.path.exists("%s/roots/%s/f.bin" % (W, h))]
by = sorted((depth(h), done[h]) for h in done)
(d0, t_first), (d1, t_last) = by[0], by[-1]
block = 1048576 / min(rate.values())
hop = (t_last - t_first) / (d1 - d0) if d1 > d0 else float("nan")
print("| relay chain | hosts whole | depth | first done | last done | a hop, measured | a hop, timing rule | beyond |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
print("| %d hosts, 8 MiB, 40 Mbit | %d of %d | %d | %.2f s | %.2f s | %.3f s | %.3f s | %.3f s |" % (
    len(done), len(whole), len(done), d1, t_first, t_last, hop, block,
    hop - block))
EOP
if [ -s "$W/err" ]; then
	echo "the agents' errors:" >&2
	head -5 "$W/err" >&2
fi
