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

# A full file system: 8 MiB for a 24 MiB file.  One stream (below
# 200 MB/s), so the blocks arrive in order: every block verified before
# the write that found no room is kept, whatever the group commit had
# made durable by then (at least 6 MiB of the 8, where the store's own
# records take a little).
mkdir -p "$W/full"
mount -t tmpfs -o size=8m tmpfs "$W/full" && MOUNTS="$MOUNTS $W/full"
conf full "$W/full"
"$mkplan" "$M" full --op "g,127.0.0.1,$P,$W/g,0,$((24 * MIB)),150000000" > "$W/full.plan"
"$agent" run -c "$W/full.yaml" "$W/full.plan" 2>"$W/full.err"
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
# covers them is written in place: the progress is kept, though the
# agent cannot record anything else (no room for its epoch: exit 74).
mkdir -p "$W/fill"
mount -t tmpfs -o size=12m tmpfs "$W/fill" && MOUNTS="$MOUNTS $W/fill"
conf fill "$W/fill"
"$mkplan" "$M" fill --op "g,127.0.0.1,$P,$W/g,0,$((8 * MIB)),200000000" > "$W/fill.plan"
"$agent" run -c "$W/fill.yaml" "$W/fill.plan" 2>"$W/fill.err" || fail "fill: first 8 MiB: $(cat "$W/fill.err")"
printf 'length %d\nsize %d\n' $((4 * MIB)) $((24 * MIB)) > "$W/fill/.sluice/f.bin@1.len"
dd if=/dev/zero of="$W/fill/filler" bs=4k 2>/dev/null
"$mkplan" "$M" fill --epoch 2 --op "g,127.0.0.1,$P,$W/g,$((4 * MIB)),$((4 * MIB)),200000000" > "$W/fill.plan"
"$agent" run -c "$W/fill.yaml" "$W/fill.plan" 2>"$W/fill.err"
rc=$?
len=$(sed -n 's/^length //p' "$W/fill/.sluice/f.bin@1.len" 2>/dev/null)
if [ "${len:-0}" -eq $((8 * MIB)) ] && cmp -s -n "$len" "$W/f.bin" "$W/fill/.sluice/f.bin@1.data" &&
    ! grep -q '\.len: ' "$W/fill.err"; then ok
else fail "length record on a full file system: exit $rc, length ${len:-none}: $(cat "$W/fill.err")"; fi
[ "$(df --output=avail "$W/fill" | tail -1)" -eq 0 ] && ok || fail "fill: the file system was not full"

# A read-only data root: refused before any byte moves.
mkdir -p "$W/ro"
mount -t tmpfs -o size=1m,ro tmpfs "$W/ro" && MOUNTS="$MOUNTS $W/ro"
conf ro "$W/ro"
"$mkplan" "$M" ro --op "g,127.0.0.1,$P,$W/g,0,$((24 * MIB)),200000000" > "$W/ro.plan"
"$agent" run -c "$W/ro.yaml" "$W/ro.plan" 2>"$W/ro.err"
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
