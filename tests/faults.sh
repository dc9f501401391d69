#!/bin/sh
# faults.sh: resource faults.  A data root on a full filesystem and on a
# read-only one; a master directory that cannot be written.  The agent
# fails the op cleanly, keeps its durable length and reports io; the
# planner writes nothing partial.  Needs root to mount small tmpfs file
# systems; skips cleanly, with a message, elsewhere.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
agent="${SLUICE_BIN:-$top/agent}/sluice-agent"
plan="${SLUICE_BIN:-$top/planner}/sluice-plan"
mkplan="$top/tests/tools/make-plan"
. "$top/tests/lib/sshd.sh"
. "$top/tests/lib/cases.sh"
independent_note faults
W=$(mktemp -d)
MOUNTS=""
cleanup() {
	sshd_stop
	for m in $MOUNTS; do umount "$m" 2>/dev/null; done
	rm -rf "$W"
}
trap cleanup EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
MIB=1048576

mkdir -p "$W/probe"
if [ "$(id -u)" != 0 ] || ! mount -t tmpfs -o size=1m tmpfs "$W/probe" 2>/dev/null; then
	echo "faults: skipped: mounting a small file system needs root"
	echo "faults: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
umount "$W/probe"
sshd_start "$W/sshd" >/dev/null || { echo "faults: no sshd"; echo "faults: 0 passed, 1 failed"; exit 1; }
P=$SSHD_PORT
conf() {
	cat > "$W/$1.yaml" <<EOC
host: $1
root: $2
identity: $SSHD_KEY
known_hosts: $SSHD_KNOWN_HOSTS
timeout: 5s
wait: 0s
EOC
}

mkdir -p "$W/g"
conf g "$W/g"
head -c $((24 * MIB)) /dev/urandom > "$W/f.bin"
"$agent" publish -c "$W/g.yaml" "$W/f.bin" f.bin 1 --block-size 1MiB
M="$W/g/.sluice/f.bin@1.manifest.yaml"
head -c $((2 * MIB)) /dev/urandom > "$W/f2.bin"
"$agent" publish -c "$W/g.yaml" "$W/f2.bin" f2.bin 1 --block-size 1MiB
M2="$W/g/.sluice/f2.bin@1.manifest.yaml"

# small NAME OPTIONS: a tmpfs mounted with OPTIONS as host NAME's root.
small() {
	mkdir -p "$W/$1"
	mount -t tmpfs -o "$2" tmpfs "$W/$1" && MOUNTS="$MOUNTS $W/$1"
	conf "$1" "$W/$1"
}
# fetch NAME EPOCH OFFSET LENGTH RATE [MANIFEST]: NAME runs a plan of one
# op that reads f.bin's bytes (or MANIFEST's file's) from g; its
# errors in NAME.err, its exit status.
fetch() {
	"$mkplan" "${6:-$M}" "$1" --epoch "$2" --op "g,127.0.0.1,$P,$W/g,$3,$4,$5" > "$W/$1.plan"
	"$agent" run -c "$W/$1.yaml" "$W/$1.plan" 2>"$W/$1.err"
}
# brim NAME: fills NAME's file system to the last byte.
brim() {
	dd if=/dev/zero of="$W/$1/filler" bs=4k 2>/dev/null
	[ "$(df --output=avail "$W/$1" | tail -1)" -eq 0 ] && ok || fail "$1: the file system was not full"
}

# A full file system: 8 MiB for a 24 MiB file.  One stream (below
# 200 MB/s), so the blocks arrive in order: every block verified before
# the write that found no room is kept, whatever the group commit had
# made durable by then (at least 6 MiB of the 8, where the store's own
# records take a little).
small full size=8m
fetch full 1 0 $((24 * MIB)) 150000000
rc=$?
len=$(sed -n 's/^length //p' "$W/full/.sluice/f.bin@1.len" 2>/dev/null)
if [ $rc -eq 75 ] && grep -q "nospace: local store: cannot write block [0-9]*: no space left on the device" "$W/full.err" &&
    [ "${len:-0}" -ge $((6 * MIB)) ] && [ "${len:-0}" -lt $((8 * MIB)) ]; then ok
else fail "full file system: exit $rc, length ${len:-none}: $(cat "$W/full.err")"; fi
# What the length covers is intact.
if [ -n "$len" ] && cmp -s -n "$len" "$W/f.bin" "$W/full/.sluice/f.bin@1.data"; then ok
else fail "full file system: the durable prefix is not the file's"; fi
[ ! -e "$W/full/f.bin" ] && ok || fail "full file system: a partial file was exposed"
"$agent" state -c "$W/full.yaml" > "$W/full.state" 2>&1
# A full disk is the host's own (nospace, blaming itself alone, never the
# source), and every state says how much room the data root has left.
grep -q "error: nospace" "$W/full.state" && grep -q "components: \['host:full'\]" "$W/full.state" && ok ||
    fail "full file system: not reported as nospace on this host alone: $(cat "$W/full.state")"
free=$(sed -n 's/^free: //p' "$W/full.state")
avail=$(df -B1 --output=avail "$W/full" | tail -1)
[ -n "$free" ] && [ "$free" -eq "$avail" ] && ok ||
    fail "full file system: state reports free '${free:-}', df $avail: $(cat "$W/full.state")"

# The length record on a full file system: the store holds 8 MiB of the
# file's bytes, its record only 4 MiB of them (a kill before the commit),
# and the file system is then filled to the last byte.  A plan for the
# next 4 MiB rewrites bytes whose room is held, and the record that
# covers them is written in place: the progress is kept, and the run's
# own records take the room the store held for them (its epoch: exit 0;
# only the plan's copy, kept for the operator, finds no room).  What it
# tells its peers of the plan it runs is written in place as well:
# "epoch 2 ended", quietly.
small fill size=12m
fetch fill 1 0 $((8 * MIB)) 200000000 || fail "fill: first 8 MiB: $(cat "$W/fill.err")"
printf 'length %d\nsize %d\n' $((4 * MIB)) $((24 * MIB)) > "$W/fill/.sluice/f.bin@1.len"
brim fill
fetch fill 2 $((4 * MIB)) $((4 * MIB)) 200000000
rc=$?
len=$(sed -n 's/^length //p' "$W/fill/.sluice/f.bin@1.len" 2>/dev/null)
if [ $rc -eq 0 ] && [ "${len:-0}" -eq $((8 * MIB)) ] && cmp -s -n "$len" "$W/f.bin" "$W/fill/.sluice/f.bin@1.data" &&
    [ "$(cat "$W/fill/.sluice/epoch")" = 2 ] && ! grep -v 'plan\.yaml: ' "$W/fill.err" | grep -q . &&
    [ "$(cat "$W/fill/.sluice/began")" = "epoch 2 ended" ]; then ok
else fail "length record on a full file system: exit $rc, length ${len:-none}, began $(cat "$W/fill/.sluice/began"): $(cat "$W/fill.err")"; fi

# A file system full to the last byte of what was verified: the next
# block finds no room and nothing past the durable length can be given
# back, yet the run records its epoch and the nospace failure in the
# room it held, and exits 75.  Without that room the failure would
# never reach the planner.
small edge size=8m
fetch edge 1 0 $((2 * MIB)) 200000000 || fail "edge: first 2 MiB: $(cat "$W/edge.err")"
brim edge
fetch edge 2 $((2 * MIB)) $((4 * MIB)) 200000000
rc=$?
len=$(sed -n 's/^length //p' "$W/edge/.sluice/f.bin@1.len" 2>/dev/null)
"$agent" state -c "$W/edge.yaml" > "$W/edge.state" 2>&1
if [ $rc -eq 75 ] && [ "${len:-0}" -eq $((2 * MIB)) ] && [ "$(cat "$W/edge/.sluice/epoch")" = 2 ] &&
    grep -q "error: nospace" "$W/edge.state" && grep -q "components: \['host:edge'\]" "$W/edge.state"; then ok
else fail "full at the verified prefix: exit $rc, length ${len:-none}: $(cat "$W/edge.err" "$W/edge.state")"; fi
[ ! -e "$W/edge/.sluice/reserve" ] && ok || fail "edge: the reserve was not given up"
# With room again, the next run holds the reserve again.
rm -f "$W/edge/filler"
fetch edge 3 $((2 * MIB)) $((2 * MIB)) 200000000 || fail "edge: with room again: $(cat "$W/edge.err")"
[ "$(stat -c %s "$W/edge/.sluice/reserve" 2>/dev/null)" = 262144 ] && ok || fail "edge: the reserve was not taken again"
# A new version on a full disk: not even its length record finds room;
# its op fails as nospace, and that is recorded and reported.
brim edge
fetch edge 4 0 $((2 * MIB)) 200000000 "$M2"
rc=$?
"$agent" state -c "$W/edge.yaml" > "$W/edge.state" 2>&1
if [ $rc -eq 75 ] && grep -q "cannot open f2.bin@1: no space left on the device" "$W/edge.err" &&
    [ "$(cat "$W/edge/.sluice/epoch")" = 4 ] && grep -q "op: 4/edge/1" "$W/edge.state" &&
    grep -q "error: nospace" "$W/edge.state"; then ok
else fail "a new version on a full disk: exit $rc: $(cat "$W/edge.err" "$W/edge.state")"; fi

# A read-only data root: refused before any byte moves.
small ro size=1m,ro
fetch ro 1 0 $((24 * MIB)) 200000000
rc=$?
if [ $rc -eq 74 ] && grep -q "Read-only file system" "$W/ro.err"; then ok
else fail "read-only root: exit $rc: $(cat "$W/ro.err")"; fi

# A master directory that cannot be written: the run fails, the previous
# plans and ledger stay as they were.
mkdir -p "$W/master"
cp -r "$(case_dir tiny)/." "$W/master/"
chmod -R u+w "$W/master"
"$plan" run -d "$W/master" --now 2026-11-25T08:01:00Z || fail "first run"
before=$(cd "$W/master" && find . -type f -o -type l | sort | xargs md5sum 2>/dev/null | md5sum)
mount -o bind "$W/master" "$W/master" && MOUNTS="$W/master $MOUNTS" &&
    mount -o remount,bind,ro "$W/master"
"$plan" run -d "$W/master" --now 2026-11-25T08:02:00Z 2>"$W/master.err"
rc=$?
after=$(cd "$W/master" && find . -type f -o -type l | sort | xargs md5sum 2>/dev/null | md5sum)
if [ $rc -eq 73 ] && [ "$before" = "$after" ]; then ok
else fail "read-only master: exit $rc: $(cat "$W/master.err")"; fi
verify_plans -q "$W/master" && ok || fail "previous set no longer verifies"

echo "faults: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
