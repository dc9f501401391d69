#!/bin/sh
# chroot.sh: the master behind the chrooted sshd of sluice(7).  A private
# sshd for the master carries the manual's Match block word for word
# (ChrootDirectory, ForceCommand internal-sftp -d /master, no forwarding),
# for this test's own user; another serves the data roots as usual.  Three
# agents publish, sync and distribute a file through it (their AGENT.yaml
# names the master's directory as /master, as the manual says), and the
# chroot is seen to hold: the master's SFTP root has the master directory
# and nothing else, and /etc/passwd cannot be read through it.  sshd only
# chroots as root, and every component of the chroot's path must be
# root's and writable by no one else, so the chroot is made under /run;
# elsewhere the test says so and skips.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
agent="${SLUICE_BIN:-$top/agent}/sluice-agent"
plan="${SLUICE_BIN:-$top/planner}/sluice-plan"
. "$top/tests/lib/sshd.sh"
passed=0
failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
skip() {
	echo "chroot: skipped: $*"
	echo "chroot: 0 passed, 0 failed"
	exit 0
}

[ "$(id -u)" = 0 ] || skip "sshd's ChrootDirectory needs root"
[ -d /run ] && [ "$(stat -c %u /run)" = 0 ] || skip "no root-owned /run to make the chroot in"
CH=$(mktemp -d -p /run sluice-chroot.XXXXXX) || skip "cannot make a directory under /run"
chmod 755 "$CH"
W=$(mktemp -d)
trap 'SSHD_DIR=$W/peers sshd_stop; SSHD_DIR=$W/master sshd_stop; rm -rf "$W" "$CH"' EXIT

# The peers' sshd, as every host has.
if ! sshd_start "$W/peers" >"$W/sshd.out" 2>&1; then
	echo "chroot: cannot start the peers' sshd: $(cat "$W/sshd.out")"
	echo "chroot: 0 passed, 1 failed"
	exit 1
fi
PP=$SSHD_PORT
# The master's, with the manual's block and the same user key.
mkdir -p "$W/master"
cp "$W/peers/id_ed25519" "$W/peers/id_ed25519.pub" "$W/master/"
SSHD_PORT=
SSHD_EXTRA="Match User $(id -un)
	ChrootDirectory $CH
	ForceCommand internal-sftp -d /master
	AllowTcpForwarding no
	X11Forwarding no"
if ! sshd_start "$W/master" >"$W/sshd.out" 2>&1; then
	echo "chroot: cannot start the master's chrooted sshd: $(cat "$W/sshd.out")"
	echo "chroot: 0 passed, 1 failed"
	exit 1
fi
unset SSHD_EXTRA
MP=$SSHD_PORT
KEY=$W/peers/id_ed25519
cat "$W/peers/known_hosts" "$W/master/known_hosts" > "$W/known_hosts"

M=$CH/master
mkdir -p "$M/states" "$M/manifests"
cat > "$M/topology.yaml" <<EOT
round: 10s
block_size: 1MiB
sites:
  - name: s
    hosts:
      - {name: g, address: 127.0.0.1, port: $PP, root: $W/roots/g, nic: 400Mbit}
      - {name: a, address: 127.0.0.1, port: $PP, root: $W/roots/a, nic: 400Mbit}
      - {name: b, address: 127.0.0.1, port: $PP, root: $W/roots/b, nic: 400Mbit}
EOT
echo 'files: [{name: f.bin, version: 1, generator: g}]' > "$M/fileset.yaml"
for h in g a b; do
	mkdir -p "$W/roots/$h"
	cat > "$W/$h.yaml" <<EOC
host: $h
root: $W/roots/$h
master: {address: 127.0.0.1, port: $MP, dir: /master}
identity: $KEY
known_hosts: $W/known_hosts
timeout: 5s
wait: 0s
EOC
done
head -c $((8 * 1048576)) /dev/urandom > "$W/f.bin"
want=$(sha256sum < "$W/f.bin" | cut -d' ' -f1)
"$agent" publish -c "$W/g.yaml" "$W/f.bin" f.bin 1 --block-size 1MiB 2>"$W/err" ||
    fail "publish: $(cat "$W/err")"
"$agent" sync -c "$W/g.yaml" 2>"$W/err" && [ -s "$M/manifests/f.bin@1.yaml" ] && ok ||
    fail "generator's sync through the chroot: $(cat "$W/err")"
k=0
while [ $k -lt 5 ] && ! { [ -f "$W/roots/a/f.bin" ] && [ -f "$W/roots/b/f.bin" ]; }; do
	"$plan" run -d "$M" 2>>"$W/plan.err"
	for h in g a b; do "$agent" sync -c "$W/$h.yaml" 2>>"$W/agents.err" || echo "$h: exit $?" >> "$W/agents.err"; done
	k=$((k + 1))
done
[ ! -s "$W/agents.err" ] && ok || fail "syncs through the chroot: $(tail -5 "$W/agents.err")"
bad=""
for h in a b; do
	[ "$(sha256sum < "$W/roots/$h/f.bin" 2>/dev/null | cut -d' ' -f1)" = "$want" ] || bad="$bad $h"
done
[ -z "$bad" ] && ok || fail "not distributed through the chrooted master to$bad after $k rounds"
for h in g a b; do
	grep -q '^epoch: [1-9]' "$M/states/$h.yaml" 2>/dev/null || bad="$bad $h"
done
[ -z "$bad" ] && ok || fail "states not written through the chroot for$bad"

# The chroot holds: its root has the master directory alone, and nothing
# outside it can be read.
sftp_do() {
	printf '%s\n' "$1" | sftp -q -b - -i "$KEY" -o UserKnownHostsFile="$W/known_hosts" \
	    -o StrictHostKeyChecking=yes -o BatchMode=yes -P "$MP" 127.0.0.1 2>&1
}
out=$(sftp_do 'ls -1 /')
[ "$(printf '%s\n' "$out" | grep -v '^sftp>' | sed 's|^/||' | tr -d ' ')" = "master" ] && ok ||
    fail "the chroot's root lists: $out"
sftp_do "get /etc/passwd $W/passwd" >/dev/null
[ ! -e "$W/passwd" ] && ok || fail "/etc/passwd read through the chroot"
echo "chroot: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
