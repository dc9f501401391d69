#!/bin/sh
# chroot.sh: the master laid out as sluice(7) requires, behind the
# chrooted sshd of its Match block.  The planner runs as its own user,
# which owns the master directory and its key (mode 0600, outside the
# chroot); the agents run as another, whose account owns states/ and
# manifests/ and nothing else of the master's.  Both are throwaway system
# users made here and removed at the end.  A private sshd for the master
# carries the manual's Match block word for word (ChrootDirectory,
# ForceCommand internal-sftp -d /master, no forwarding) for the agents'
# account; another serves the data roots as usual.  Three agents
# publish, sync and distribute a signed file through it (their
# AGENT.yaml names the master's directory as /master, as the manual
# says).  Then the agents' account, by SFTP through the chroot and
# through the unchrooted sshd, tries to write, rename or remove the
# ledger, current, plans and epochs/ and to read the master key, and is
# refused each time; the chroot holds: its root has the master directory
# and nothing else, and /etc/passwd cannot be read through it.  sshd
# only chroots as root, and every component of the chroot's path must be
# root's and writable by no one else, so the chroot is made under /run;
# elsewhere the test says so and skips.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
agent="${SLUICE_BIN:-$top/agent}/sluice-agent"
plan="${SLUICE_BIN:-$top/planner}/sluice-plan"
. "$top/tests/lib/sshd.sh"
. "$top/tests/lib/users.sh"
passed=0
failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
skip() {
	echo "chroot: skipped: $*"
	echo "chroot: 0 passed, 0 failed"
	exit 0
}
broken() {
	echo "chroot: $*"
	echo "chroot: $passed passed, $((failed + 1)) failed"
	exit 1
}

[ "$(id -u)" = 0 ] || skip "sshd's ChrootDirectory and the test's users need root"
command -v useradd >/dev/null && command -v runuser >/dev/null ||
    skip "no useradd or runuser to make the planner's and the agents' users"
[ -d /run ] && [ "$(stat -c %u /run)" = 0 ] || skip "no root-owned /run to make the chroot in"
CH=$(mktemp -d -p /run sluice-chroot.XXXXXX) || skip "cannot make a directory under /run"
chmod 755 "$CH"
W=$(mktemp -d)
# The users reach what is theirs below it, and the sshds' authorized_keys,
# which sshd reads as the user logging in.
chmod 755 "$W"
trap 'SSHD_DIR=$W/peers sshd_stop; SSHD_DIR=$W/master sshd_stop; users_remove; rm -rf "$W" "$CH"' EXIT
PU=sluice-plan-test-$$
AU=sluice-agents-test-$$
user_make "$PU" && user_make "$AU" login || broken "cannot make the users $PU and $AU"
# A checkout the new users cannot reach (under /root, say): they run
# copies of the programs.
if ! as_user "$PU" test -x "$plan" || ! as_user "$AU" test -x "$agent"; then
	mkdir "$W/bin"
	cp "$plan" "$agent" "$W/bin/"
	plan=$W/bin/sluice-plan
	agent=$W/bin/sluice-agent
fi

# The peers' sshd, as every host has.
sshd_start "$W/peers" >"$W/sshd.out" 2>&1 || broken "cannot start the peers' sshd: $(cat "$W/sshd.out")"
PP=$SSHD_PORT
# The master's, with the manual's block for the agents' account and the
# same user key.
mkdir -p "$W/master"
cp "$W/peers/id_ed25519" "$W/peers/id_ed25519.pub" "$W/master/"
SSHD_PORT=
SSHD_EXTRA="Match User $AU
	ChrootDirectory $CH
	ForceCommand internal-sftp -d /master
	AllowTcpForwarding no
	X11Forwarding no"
sshd_start "$W/master" >"$W/sshd.out" 2>&1 ||
    broken "cannot start the master's chrooted sshd: $(cat "$W/sshd.out")"
unset SSHD_EXTRA
MP=$SSHD_PORT
chmod 644 "$W/peers/authorized_keys" "$W/master/authorized_keys"

# What is the agents' and what is the planner's.
install -d -o "$AU" -g "$AU" -m 0700 "$W/agent"
install -d -o "$AU" -g "$AU" -m 0755 "$W/roots" "$W/roots/g" "$W/roots/a" "$W/roots/b"
install -o "$AU" -g "$AU" -m 0600 "$W/peers/id_ed25519" "$W/agent/id_ed25519"
cat "$W/peers/known_hosts" "$W/master/known_hosts" > "$W/known_hosts"
install -o "$AU" -g "$AU" -m 0644 "$W/known_hosts" "$W/agent/known_hosts"
KEY=$W/agent/id_ed25519
install -d -o "$PU" -g "$PU" -m 0700 "$W/plan"
MKEY=$W/plan/master.key
mline=$(as_user "$PU" "$plan" keygen -k "$MKEY" 2>"$W/err") || broken "keygen as $PU: $(cat "$W/err")"
[ "$(stat -c '%U %a' "$MKEY")" = "$PU 600" ] && ok ||
    fail "the master key is $(stat -c '%U %a' "$MKEY"), want $PU 600"

M=$CH/master
install -d -o "$PU" -g "$PU" -m 0755 "$M"
install -d -o "$AU" -g "$AU" -m 0755 "$M/states" "$M/manifests"
{
	echo "round: 10s"
	echo "block_size: 1MiB"
	echo "sites:"
	echo "  - name: s"
	echo "    hosts:"
} > "$M/topology.yaml"
for h in g a b; do
	cat > "$W/agent/$h.yaml" <<EOC
host: $h
root: $W/roots/$h
master: {address: 127.0.0.1, port: $MP, dir: /master}
identity: $KEY
known_hosts: $W/agent/known_hosts
timeout: 5s
wait: 0s
master_key: $mline
signing_key: $W/agent/$h.key
EOC
	chown "$AU:$AU" "$W/agent/$h.yaml"
	hline=$(as_user "$AU" "$agent" keygen -c "$W/agent/$h.yaml" 2>"$W/err") ||
	    broken "keygen for $h as $AU: $(cat "$W/err")"
	echo "      - {name: $h, key: '$hline', address: 127.0.0.1, port: $PP, root: $W/roots/$h, nic: 400Mbit}" >> "$M/topology.yaml"
done
echo 'files: [{name: f.bin, version: 1, generator: g}]' > "$M/fileset.yaml"
chown "$PU:$PU" "$M/topology.yaml" "$M/fileset.yaml"

head -c $((8 * 1048576)) /dev/urandom > "$W/f.bin"
want=$(sha256sum < "$W/f.bin" | cut -d' ' -f1)
as_user "$AU" "$agent" publish -c "$W/agent/g.yaml" "$W/f.bin" f.bin 1 --block-size 1MiB 2>"$W/err" ||
    fail "publish: $(cat "$W/err")"
as_user "$AU" "$agent" sync -c "$W/agent/g.yaml" 2>"$W/err" && [ -s "$M/manifests/f.bin@1.yaml" ] && ok ||
    fail "generator's sync through the chroot: $(cat "$W/err")"
k=0
while [ $k -lt 5 ] && ! { [ -f "$W/roots/a/f.bin" ] && [ -f "$W/roots/b/f.bin" ]; }; do
	as_user "$PU" "$plan" run -d "$M" -k "$MKEY" 2>>"$W/plan.err"
	for h in g a b; do
		as_user "$AU" "$agent" sync -c "$W/agent/$h.yaml" 2>>"$W/agents.err" ||
		    echo "$h: exit $?" >> "$W/agents.err"
	done
	k=$((k + 1))
done
[ ! -s "$W/plan.err" ] && ok || fail "planning runs as $PU: $(tail -5 "$W/plan.err")"
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
as_user "$PU" "$plan" check -d "$M" >/dev/null 2>"$W/err" && [ ! -s "$W/err" ] && ok ||
    fail "check as $PU: $(cat "$W/err")"

# Everything of the master's but states/ and manifests/ is the planner's
# user's, and writable by no one else (links aside: their mode means
# nothing).
out=$(find "$M" \( -path "$M/states" -o -path "$M/manifests" \) -prune -o \
    \( ! -user "$PU" -o \( ! -type l -perm /022 \) \) -printf '%u %M %p\n')
[ -z "$out" ] && [ -L "$M/current" ] && [ -e "$M/lock" ] && ok ||
    fail "the planner's files, not the planner's alone: $out"

# sftp_as PORT COMMANDS: one SFTP session of the agents' account running
# COMMANDS, one a line; its output, and its exit status.
sftp_as() {
	printf '%s\n' "$2" | sftp -q -b - -i "$KEY" -o UserKnownHostsFile="$W/known_hosts" \
	    -o StrictHostKeyChecking=yes -o BatchMode=yes -P "$1" "$AU@127.0.0.1" 2>&1
}
# What the planner alone may change, as a listing and checksums.
snapshot() {
	find "$M" \( -path "$M/states" -o -path "$M/manifests" \) -prune -o \
	    -printf '%p %y %U %m %s %l\n' | sort
	find "$M" \( -path "$M/states" -o -path "$M/manifests" \) -prune -o -type f -print0 |
	    sort -z | xargs -0 sha256sum
}
set_=$(readlink "$M/current")
snapshot > "$W/before"
echo junk > "$W/junk"
# The same attempts through the chroot (/master) and through the plain
# sshd (the real path): permissions, not the chroot, refuse them.  Each
# is made in one session ("-" goes on past a refusal), and each must be
# refused by the file system: sftp echoes a command, then its error.
for at in "$MP /master" "$PP $M"; do
	port=${at%% *}
	D=${at#* }
	# The account works: it writes states/ (and removes what it wrote).
	out=$(sftp_as "$port" "put $W/junk $D/states/.probe.tmp
rm $D/states/.probe.tmp")
	[ $? -eq 0 ] && ok || fail "port $port: the agents' account cannot write $D/states: $out"
	tries=""
	for c in "put $W/junk $D/ledger.yaml" "put $W/junk $D/$set_/ledger.yaml" \
	    "put $W/junk $D/plans/b.yaml" "put $W/junk $D/$set_/plans/b.yaml.sig" \
	    "put $W/junk $D/$set_/plans/x.yaml" "put $W/junk $D/$set_/states/b.yaml" \
	    "put $W/junk $D/lock" "put $W/junk $D/topology.yaml" \
	    "rm $D/ledger.yaml" "rm $D/current" "rm $D/plans" "rm $D/$set_/plans/b.yaml" \
	    "rm $D/$set_/ledger.yaml" "rename $D/current $D/old" \
	    "rename $D/states/a.yaml $D/current" "ln -s epochs/1 $D/next" \
	    "rename $D/$set_ $D/epochs/0" "mkdir $D/epochs/999999" \
	    "chmod 777 $D/$set_" "chmod 666 $D/ledger.yaml"; do
		tries="$tries-$c
"
	done
	out=$(sftp_as "$port" "$tries")
	n=$(printf '%s' "$tries" | grep -c .)
	allowed=$(printf '%s\n' "$out" | awk '
	    /^sftp> -/ { if (cmd != "" && !denied) print cmd; cmd = substr($0, 8); denied = 0; seen++; next }
	    /Permission denied/ { denied = 1 }
	    END { if (cmd != "" && !denied) print cmd; if (seen != '"$n"') print "(" seen " of '"$n"' commands reached)" }')
	[ -z "$allowed" ] && ok || fail "port $port: the agents' account was not refused: $allowed"
done
# The key: outside the chroot, and unreadable to the agents' account
# where the account sees it.
out=$(sftp_as "$PP" "get $MKEY $W/stolen")
[ $? -ne 0 ] && [ ! -e "$W/stolen" ] && ok || fail "the agents' account read the master key: $out"
snapshot > "$W/after"
cmp -s "$W/before" "$W/after" && ok ||
    fail "the agents' account changed the planner's files: $(diff "$W/before" "$W/after" | head -5)"

# The chroot holds: its root has the master directory alone, and nothing
# outside it can be read.
out=$(sftp_as "$MP" 'ls -1 /')
[ "$(printf '%s\n' "$out" | grep -v '^sftp>' | sed 's|^/||' | tr -d ' ')" = "master" ] && ok ||
    fail "the chroot's root lists: $out"
sftp_as "$MP" "get /etc/passwd $W/passwd" >/dev/null
[ ! -e "$W/passwd" ] && ok || fail "/etc/passwd read through the chroot"
echo "chroot: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
