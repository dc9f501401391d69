#!/bin/sh
# agent-throughput.sh: the agent's loopback throughput for one file next to
# OpenSSH scp of the same file, both over one private sshd in this script.
# Each copy runs REPS times (default 3), interleaved, and the table gives
# the median of each: on a shared machine one run can be off by a third.
# The agent's copy is durable (fsynced) when it ends; scp's is not, so a
# row also shows scp followed by an fsync of its copy.
# usage: agent-throughput.sh [SIZE_MIB [REPS]]     (default 1024 3)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
agent="$top/agent/sluice-agent"
. "$top/tests/lib/sshd.sh"
MIB=1048576
size=$(( ${1:-1024} * MIB ))
reps=${2:-3}
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
# One op for the whole file, and four ops of a quarter each, both far
# above what loopback carries, so the rate does not limit them.
"$top/tests/tools/make-plan" "$M" d --expires-in 3600 \
    --op "g,127.0.0.1,$P,$W/g,0,$size,100000000000" > "$W/one.plan"
q=$((size / 4))
"$top/tests/tools/make-plan" "$M" d --epoch 2 --expires-in 3600 \
    --op "g,127.0.0.1,$P,$W/g,0,$q,100000000000" \
    --op "g,127.0.0.1,$P,$W/g,$q,$q,100000000000" \
    --op "g,127.0.0.1,$P,$W/g,$((2 * q)),$q,100000000000" \
    --op "g,127.0.0.1,$P,$W/g,$((3 * q)),$q,100000000000" > "$W/four.plan"
now() { date +%s.%N; }
# timed NAME COMMAND...: appends NAME SECONDS to $W/times
timed() {
	name=$1
	shift
	t0=$(now)
	"$@"
	t1=$(now)
	echo "$name $t0 $t1" >> "$W/times"
}
scp_copy() {
	scp -q -P "$P" -i "$SSHD_KEY" -o UserKnownHostsFile="$SSHD_KNOWN_HOSTS" \
	    -o StrictHostKeyChecking=yes "root@127.0.0.1:$W/g/big.bin" "$W/scp.bin"
}
scp_sync() { scp_copy && sync "$W/scp.bin"; }
agent_run() { "$agent" run -c "$W/d.yaml" "$1"; }
fresh() { rm -rf "$W/d" "$W/scp.bin"; mkdir -p "$W/d"; }
same() { cmp -s "$W/g/big.bin" "$1" || { echo "$1 differs" >&2; exit 1; }; }
: > "$W/times"
i=0
while [ $i -lt "$reps" ]; do
	fresh
	timed scp scp_copy
	same "$W/scp.bin"
	fresh
	timed one agent_run "$W/one.plan"
	same "$W/d/big.bin"
	fresh
	timed scpsync scp_sync
	fresh
	timed four agent_run "$W/four.plan"
	same "$W/d/big.bin"
	i=$((i + 1))
done
awk -v size=$size '
{ t[$1, ++n[$1]] = $3 - $2 }
function median(k,    i, j, x, m) {
	m = n[k]
	for (i = 1; i <= m; i++) a[i] = t[k, i]
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
	return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
END {
	s = size / median("scp") / 1e6
	printf "| copy of %d MiB over loopback, median of %d | MB/s | ratio to scp |\n", size / 1048576, n["scp"]
	printf "|---|---:|---:|\n"
	printf "| scp | %.0f | 1.00 |\n", s
	x = size / median("scpsync") / 1e6
	printf "| scp, then fsync of its copy | %.0f | %.2f |\n", x, x / s
	o = size / median("one") / 1e6
	printf "| sluice-agent, one op | %.0f | %.2f |\n", o, o / s
	f = size / median("four") / 1e6
	printf "| sluice-agent, four ops | %.0f | %.2f |\n", f, f / s
}' "$W/times"
