#!/bin/sh
# agent-throughput.sh: the agent's loopback throughput for one file next to
# OpenSSH scp of the same file, both over one private sshd in this script.
# usage: agent-throughput.sh [SIZE_MIB]     (default 1024)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
agent="$top/agent/sluice-agent"
. "$top/tests/lib/sshd.sh"
MIB=1048576
size=$(( ${1:-1024} * MIB ))
W=$(mktemp -d)
trap 'sshd_stop; rm -rf "$W"' EXIT
sshd_start "$W/sshd" >/dev/null
P=$SSHD_PORT
for h in g d; do
	mkdir -p "$W/$h"
	printf 'host: %s\nroot: %s\nidentity: %s\nknown_hosts: %s\nparallel: 4\n' \
	    "$h" "$W/$h" "$SSHD_KEY" "$SSHD_KNOWN_HOSTS" > "$W/$h.yaml"
done
head -c $size /dev/urandom > "$W/file"
"$agent" publish -c "$W/g.yaml" "$W/file" big.bin 1
rm -f "$W/file"
M="$W/g/.sluice/big.bin@1.manifest.yaml"
now() { date +%s.%N; }
t0=$(now)
scp -q -P "$P" -i "$SSHD_KEY" -o UserKnownHostsFile="$SSHD_KNOWN_HOSTS" \
    -o StrictHostKeyChecking=yes "root@127.0.0.1:$W/g/big.bin" "$W/scp.bin"
t1=$(now)
rm -f "$W/scp.bin"
# One op for the whole file, and four ops of a quarter each, both far
# above what loopback carries, so the rate does not limit them.
"$top/tests/tools/make-plan" "$M" d --expires-in 600 \
    --op "g,127.0.0.1,$P,$W/g,0,$size,100000000000" > "$W/one.plan"
q=$((size / 4))
"$top/tests/tools/make-plan" "$M" d --epoch 2 --expires-in 600 \
    --op "g,127.0.0.1,$P,$W/g,0,$q,100000000000" \
    --op "g,127.0.0.1,$P,$W/g,$q,$q,100000000000" \
    --op "g,127.0.0.1,$P,$W/g,$((2 * q)),$q,100000000000" \
    --op "g,127.0.0.1,$P,$W/g,$((3 * q)),$q,100000000000" > "$W/four.plan"
t2=$(now)
"$agent" run -c "$W/d.yaml" "$W/one.plan"
t3=$(now)
cmp -s "$W/g/big.bin" "$W/d/big.bin" || { echo "agent copy differs" >&2; exit 1; }
rm -rf "$W/d"
mkdir -p "$W/d"
t4=$(now)
"$agent" run -c "$W/d.yaml" "$W/four.plan"
t5=$(now)
cmp -s "$W/g/big.bin" "$W/d/big.bin" || { echo "agent copy differs" >&2; exit 1; }
awk -v size=$size -v scp="$t0 $t1" -v one="$t2 $t3" -v four="$t4 $t5" 'BEGIN {
	split(scp, a, " "); split(one, b, " "); split(four, c, " ")
	s = size / (a[2] - a[1]) / 1e6; o = size / (b[2] - b[1]) / 1e6
	f = size / (c[2] - c[1]) / 1e6
	printf "| copy of %d MiB over loopback | MB/s | ratio to scp |\n", size / 1048576
	printf "|---|---:|---:|\n"
	printf "| scp | %.0f | 1.00 |\n", s
	printf "| sluice-agent, one op | %.0f | %.2f |\n", o, o / s
	printf "| sluice-agent, four ops on one session | %.0f | %.2f |\n", f, f / s
}'
