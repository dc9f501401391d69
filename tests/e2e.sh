#!/bin/sh
# e2e.sh: sluice as an operator runs it, round after round, with faults.
# Distribution A: convergence with every epoch's plans verified, an agent
# killed with SIGKILL mid-round, malformed master files, a new version
# published mid-distribution.  Distribution B: a source serving corrupt
# data, a host that vanishes (its own sshd stopped) and comes back.
# E2E_ROUND (seconds, 3) and E2E_TIMEOUT (the agents' I/O timeout, 3)
# stretch it for slow runs, such as under valgrind; E2E_KILL_WITHIN
# (seconds, 60) is the most the kill waits for the victim to verify a
# block.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
agent="${SLUICE_BIN:-$top/agent}/sluice-agent"
plan="${SLUICE_BIN:-$top/planner}/sluice-plan"
. "$top/tests/lib/sshd.sh"
. "$top/tests/lib/cases.sh"
. "$top/tests/lib/corrupt.sh"
independent_note e2e
W=$(mktemp -d)
SSHD2=""
delayer=""
gdelayer=""
cleanup() {
	[ -n "$delayer" ] && kill "$delayer" 2>/dev/null
	[ -n "$gdelayer" ] && kill "$gdelayer" 2>/dev/null
	SSHD_DIR=$W/sshd sshd_stop
	[ -n "$SSHD2" ] && SSHD_DIR=$W/sshd2 sshd_stop
	SSHD_DIR=$W/sshd3 sshd_stop
	rm -rf "$W"
}
trap cleanup EXIT
[ -n "${E2E_KEEP:-}" ] && trap "SSHD_DIR=$W/sshd sshd_stop; SSHD_DIR=$W/sshd2 sshd_stop; SSHD_DIR=$W/sshd3 sshd_stop" EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
MIB=1048576

if ! sshd_start "$W/sshd" >"$W/sshd.out" 2>&1; then
	echo "e2e: cannot start a private sshd: $(cat "$W/sshd.out")"
	echo "e2e: 0 passed, 1 failed"
	exit 1
fi
P=$SSHD_PORT
KEY=$SSHD_KEY
KH=$SSHD_KNOWN_HOSTS

# setup DIR HOSTSPEC...: a master directory and agent configurations;
# HOSTSPEC is SITE:HOST[:PORT].
setup() {
	d=$1
	shift
	mkdir -p "$d/master/states" "$d/master/manifests" "$d/conf"
	{
		echo "round: ${E2E_ROUND:-3}s"
		echo "block_size: 1MiB"
		echo "failure_threshold: 3"
		echo "sites:"
		last=""
		for spec in "$@"; do
			site=${spec%%:*}
			rest=${spec#*:}
			host=${rest%%:*}
			port=$P
			[ "$rest" != "$host" ] && port=${rest#*:}
			if [ "$site" != "$last" ]; then
				echo "  - name: $site"
				echo "    hosts:"
				last=$site
			fi
			mkdir -p "$d/roots/$host"
			echo "      - {name: $host, address: 127.0.0.1, port: $port, root: $d/roots/$host, nic: 80Mbit}"
			cat > "$d/conf/$host.yaml" <<EOC
host: $host
root: $d/roots/$host
master: {address: 127.0.0.1, port: $P, dir: $d/master}
identity: $KEY
known_hosts: $KH
parallel: 8
timeout: ${E2E_TIMEOUT:-3}s
wait: 0s
EOC
		done
		echo "links: [{between: [east, west], capacity: ${LINK:-60Mbit}, latency: 30ms}]"
	} > "$d/master/topology.yaml"
}

# round DIR HOSTS...: plan, verify the new epoch, sync every host given.
round() {
	d=$1
	shift
	"$plan" run -d "$d/master" 2>>"$d/plan.err" || fail "$d: plan run"
	verify_plans -q "$d/master" >>"$d/verify.out" 2>&1 || fail "$d: verify-plans: $(tail -3 "$d/verify.out")"
	for h in "$@"; do
		"$agent" sync -v -c "$d/conf/$h.yaml" >>"$d/$h.log" 2>&1 &
	done
	wait
}

# final_paths_ok DIR FILE SHA...: every exposed copy is one of the SHAs.
final_paths_ok() {
	d=$1
	f=$2
	shift 2
	for copy in "$d"/roots/*/"$f"; do
		[ -e "$copy" ] || continue
		got=$(sha256sum < "$copy" | cut -d' ' -f1)
		good=0
		for s in "$@"; do [ "$got" = "$s" ] && good=1; done
		[ $good -eq 1 ] || { echo "$copy: $got"; return 1; }
	done
	return 0
}

complete() {	# complete DIR FILE SHA HOSTS...
	d=$1
	f=$2
	s=$3
	shift 3
	for h in "$@"; do
		[ -e "$d/roots/$h/$f" ] || return 1
		[ "$(sha256sum < "$d/roots/$h/$f" | cut -d' ' -f1)" = "$s" ] || return 1
	done
	return 0
}

# ------------------------------------------------------------------ A
A=$W/a
HOSTS="g e1 e2 w1 w2 w3"
setup "$A" east:g east:e1 east:e2 west:w1 west:w2 west:w3
cat > "$A/master/fileset.yaml" <<EOF
files:
  - {name: pkg/app.bin, version: 1, generator: g, size: 12MiB}
  - {name: pkg/data.bin, version: 1, generator: g, size: 16MiB, priority: 2}
EOF
head -c $((12 * MIB)) /dev/urandom > "$A/app1"
head -c $((12 * MIB)) /dev/urandom > "$A/app2"
head -c $((16 * MIB)) /dev/urandom > "$A/data"
# Modes: app.bin is published group-writable, data.bin private; w3 has
# umask 027, the others the default 022.
chmod 0664 "$A/app1" "$A/app2"
chmod 0600 "$A/data"
echo "umask: 027" >> "$A/conf/w3.yaml"
S1=$(sha256sum < "$A/app1" | cut -d' ' -f1)
S2=$(sha256sum < "$A/app2" | cut -d' ' -f1)
SD=$(sha256sum < "$A/data" | cut -d' ' -f1)
"$agent" publish -c "$A/conf/g.yaml" "$A/app1" pkg/app.bin 1 --block-size 1MiB
"$agent" publish -c "$A/conf/g.yaml" "$A/data" pkg/data.bin 1 --block-size 1MiB
"$agent" sync -c "$A/conf/g.yaml" || fail "A: generator sync"

# Round 1, with the agent of a west host given pkg/data.bin (V) killed
# with SIGKILL in the middle of it, once it has verified something (it
# may be a relay a few hops down a pipeline): that is waited for, for as
# long as V runs (E2E_KILL_WITHIN seconds at most).  A round whose plan
# ends before V verifies anything (a busy machine) is followed by another,
# five rounds at most, until V is killed holding something.
"$plan" run -d "$A/master" || fail "A: plan 1"
verify_plans -q "$A/master" || fail "A: verify 1"
V=
for h in w1 w2 w3; do
	grep -q 'file: pkg/data.bin' "$A/master/plans/$h.yaml" && V=$h && break
done
[ -n "$V" ] && ok || fail "A: no west host given pkg/data.bin in round 1"
V=${V:-w1}
held_by() {	# what V holds of pkg/data.bin, durably
	hb=$(sed -n 's/^length //p' "$A/roots/$V/.sluice/pkg%2Fdata.bin@1.len" 2>/dev/null)
	echo $((${hb:-0} + 0))
}
killed=0
for attempt in 1 2 3 4 5; do
	[ $attempt -eq 1 ] || "$plan" run -d "$A/master" 2>>"$A/plan.err" || fail "A: plan $attempt"
	others=""
	for h in $HOSTS; do
		[ $h = $V ] && continue
		"$agent" sync -v -c "$A/conf/$h.yaml" >>"$A/$h.log" 2>&1 &
		others="$others $!"
	done
	"$agent" sync -v -c "$A/conf/$V.yaml" >>"$A/$V.log" 2>&1 &
	victim=$!
	n=0
	while kill -0 $victim 2>/dev/null && [ "$(held_by)" -eq 0 ] &&
	    [ $n -lt $((${E2E_KILL_WITHIN:-60} * 20)) ]; do
		sleep 0.05
		n=$((n + 1))
	done
	kill -9 $victim 2>/dev/null
	wait $victim 2>/dev/null
	[ $? -eq 137 ] && [ "$(held_by)" -gt 0 ] && killed=1
	wait $others
	[ $killed -eq 1 ] && break
done
held=$(held_by)
[ $killed -eq 1 ] && ok || fail "A: $V was not killed holding part of pkg/data.bin in $attempt rounds (it held $held bytes)"
echo "e2e: $V killed holding $held bytes of pkg/data.bin in round $attempt" >&2

# Malformed master files: a state and a manifest.  Reported with file,
# line and column; that host planned from its last verified state (here
# none: as one that has not reported), never frozen; the rest planned.
# (The run must find e2's plan expired, as cron's next run does: one
# still running is kept, not made anew.  Agents that end their ops just
# before the expiry finish a round early.)
exp=$(date -u -d "$(sed -n 's/^expires: //p' "$A/master/plans/e2.yaml")" +%s)
until [ "$(date -u +%s)" -ge "$exp" ]; do sleep 0.05; done
cp "$A/master/states/e2.yaml" "$A/e2.state"
printf 'host: e2\nepoch: 1\nfiles: [{name: pkg/app.bin, version: one, length: 0}]\n' > "$A/master/states/e2.yaml"
"$plan" run -d "$A/master" 2>"$A/malformed.err"
rc=$?
if [ $rc -eq 0 ] && grep -q "states/e2.yaml:3:38: version: 'one' is not a whole number (host e2 planned from " "$A/malformed.err"; then ok
else fail "A: malformed state: exit $rc: $(cat "$A/malformed.err")"; fi
e=$(readlink "$A/master/current")
grep -q "^epoch: ${e#epochs/}\$" "$A/master/plans/e2.yaml" && ok || fail "A: e2 not planned ($e)"
for h in w1 w2 w3; do [ $h = $V ] || break; done
grep -q "^epoch: ${e#epochs/}\$" "$A/master/plans/$h.yaml" && ok || fail "A: other hosts not planned ($h, $e)"
# (states/ holds the junk: the set's own verified states are the ones.)
own_verify "$A/master" 2>/dev/null || fail "A: verify after malformed state"
mv "$A/e2.state" "$A/master/states/e2.yaml"
# A malformed plan on an agent: refused with its position, nothing moves.
sed 's/^epoch: .*/epoch: minus four/' "$A/master/plans/w3.yaml" > "$A/w3-bad.yaml"
before=$(cat "$A/roots/w3/.sluice/"*.len 2>/dev/null | md5sum)
"$agent" run -c "$A/conf/w3.yaml" "$A/w3-bad.yaml" 2>"$A/w3.err"
rc=$?
if [ $rc -eq 65 ] && grep -q "w3-bad.yaml:2:8: epoch: 'minus four' is not a whole number" "$A/w3.err"; then ok
else fail "A: malformed plan: exit $rc: $(cat "$A/w3.err")"; fi
[ "$(cat "$A/roots/w3/.sluice/"*.len 2>/dev/null | md5sum)" = "$before" ] && ok || fail "A: refused plan moved data"

# Rounds until complete; halfway, version 2 of pkg/app.bin is published.
switched=0
for r in $(seq 3 25); do
	if [ $r -eq 4 ]; then
		"$agent" publish -c "$A/conf/g.yaml" "$A/app2" pkg/app.bin 2 --block-size 1MiB
		sed -i 's/{name: pkg\/app.bin, version: 1,/{name: pkg\/app.bin, version: 2,/' "$A/master/fileset.yaml"
		"$agent" sync -c "$A/conf/g.yaml" || fail "A: generator sync v2"
		switched=1
	fi
	round "$A" $HOSTS
	final_paths_ok "$A" pkg/app.bin "$S1" "$S2" || fail "A: round $r: a corrupt pkg/app.bin in place"
	final_paths_ok "$A" pkg/data.bin "$SD" || fail "A: round $r: a corrupt pkg/data.bin in place"
	complete "$A" pkg/app.bin "$S2" $HOSTS && complete "$A" pkg/data.bin "$SD" $HOSTS && break
done
if complete "$A" pkg/app.bin "$S2" $HOSTS && complete "$A" pkg/data.bin "$SD" $HOSTS; then ok
else fail "A: not complete after $r rounds: $(cat "$A"/plan.err | tail -3)"; fi
echo "e2e: distribution A complete after $r rounds" >&2
[ $switched -eq 1 ] && ok || fail "A: never switched versions"
# Each copy has its generator's mode less its host's umask, and every
# store is its user's alone.
modes=""
for h in $HOSTS; do
	want_app=0644
	[ $h = w3 ] && want_app=0640
	got=$(stat -c %a "$A/roots/$h/pkg/app.bin" "$A/roots/$h/pkg/data.bin" "$A/roots/$h/.sluice" | tr '\n' ' ')
	[ "$got" = "${want_app#0} 600 700 " ] || modes="$modes $h:[$got]"
done
[ -z "$modes" ] && ok || fail "A: modes (app.bin data.bin .sluice):$modes"
ls "$A"/roots/*/.sluice/pkg%2Fapp.bin@1.data >/dev/null 2>&1 &&
    fail "A: version 1 left behind: $(ls "$A"/roots/*/.sluice/pkg%2Fapp.bin@1.*)" || ok
# No verified byte fetched twice beyond one block: what V verified over
# all its runs, plus what it lost to the kill, is its files' size at most
# one block over.
v=$(sed -n 's/.* \([0-9]*\) bytes verified$/\1/p' "$A/$V.log" | awk '{s += $1} END {print s + 0}')
# Bytes of version 1 of pkg/app.bin fetched before the switch count too.
limit=$(( (12 + 16 + 12) * MIB + MIB ))
[ "$v" -le $limit ] && ok || fail "A: $V verified $v bytes, more than $limit"
echo "e2e: $V verified $v bytes over its runs (limit $limit)" >&2
[ "$(grep -c 'violation' "$A/verify.out")" -eq 0 ] && ok || fail "A: a plan violated capacities"

# ------------------------------------------------------------------ B
B=$W/b
SSHD2=1
SSHD_PORT=""
if ! sshd_start "$W/sshd2" >"$W/sshd2.out" 2>&1; then
	fail "B: second sshd: $(cat "$W/sshd2.out")"
fi
P2=$SSHD_PORT
cat "$W/sshd2/known_hosts" >> "$KH"
SSHD_DIR=$W/sshd
SSHD_PORT=$P
# x, a host that is no target, holds a copy whose block 5 is corrupt, in
# the same site as e1 and v, so the planner prefers it to the generator
# across the WAN; v has its own sshd, which stops for a while.  The WAN
# carries 20 Mbit: the east hosts cannot finish from the west within the
# rounds x needs to be found out (three, one report each), so that x is
# marked failed however fast or slow this machine runs the rounds.
LINK=20Mbit setup "$B" east:x east:v:$P2 east:e1 west:g west:w1 west:w2
cp "$W/sshd/id_ed25519.pub" "$W/sshd2/authorized_keys"
cat > "$B/master/fileset.yaml" <<EOF
files:
  - {name: big.bin, version: 1, generator: g, size: 24MiB, targets: [host:v, host:e1, host:w1, host:w2]}
EOF
head -c $((24 * MIB)) /dev/urandom > "$B/big"
SB=$(sha256sum < "$B/big" | cut -d' ' -f1)
"$agent" publish -c "$B/conf/g.yaml" "$B/big" big.bin 1 --block-size 1MiB
mkdir -p "$B/roots/x/.sluice"
cp "$B/big" "$B/roots/x/.sluice/big.bin@1.data"
corrupt_byte "$B/roots/x/.sluice/big.bin@1.data" $((5 * MIB + 9))
printf 'length %s\nsize 0\n' $((24 * MIB)) > "$B/roots/x/.sluice/big.bin@1.len"
for h in g x; do "$agent" sync -c "$B/conf/$h.yaml" || fail "B: sync $h"; done
BH="g x v e1 w1 w2"
round "$B" $BH
# v vanishes: its sshd stops and its agent does not run.
SSHD_DIR=$W/sshd2 sshd_stop
gone=0
x_failed_at=""
x_used_after=0
for r in $(seq 2 30); do
	if [ $r -le 6 ]; then
		round "$B" g x e1 w1 w2
		gone=$((gone + 1))
	else
		if [ $r -eq 7 ]; then
			SSHD_DIR=$W/sshd2 SSHD_PORT=$P2 sshd_start_again || fail "B: sshd back"
		fi
		round "$B" $BH
	fi
	final_paths_ok "$B" big.bin "$SB" || fail "B: round $r: a corrupt big.bin in place"
	# Plans issued this round; a host away keeps its earlier plan.
	e=$(sed -n 's/^epoch: //p' "$B/master/ledger.yaml")
	if [ -n "$x_failed_at" ] &&
	    grep -l "^epoch: $e\$" "$B"/master/plans/*.yaml | xargs grep -q "source: {host: x,"; then
		x_used_after=$((x_used_after + 1))
	fi
	if [ -z "$x_failed_at" ] && grep -q "name: 'host:x'.* failed: " "$B/master/ledger.yaml"; then
		x_failed_at=$r
	fi
	[ $r -gt 7 ] && complete "$B" big.bin "$SB" v e1 w1 w2 && break
done
if complete "$B" big.bin "$SB" v e1 w1 w2; then ok; else fail "B: not complete after $r rounds"; fi
echo "e2e: distribution B complete after $r rounds, v away for $gone" >&2
"$plan" status -d "$B/master" > "$B/status"
grep -q "host:x failed in epoch" "$B/status" && ok || fail "B: x not marked failed: $(head -12 "$B/status")"
grep -q "checksum: block 5: sha256 mismatch" "$B/status" && ok || fail "B: why x failed"
# Once x was marked failed, no plan issued later used it.
[ -n "$x_failed_at" ] && [ $x_used_after -eq 0 ] && ok ||
    fail "B: x failed in round '${x_failed_at}', used after: $x_used_after"
echo "e2e: x marked failed in round ${x_failed_at:-never}" >&2
[ "$(grep -c 'violation' "$B/verify.out")" -eq 0 ] && ok || fail "B: a plan violated capacities"

# ------------------------------------------------------------------ C
# A master across a WAN (tests/lib/delay.py, 40 ms each way): a host's
# state is in before its plan expires, from its second round on, though
# sending it takes about 1.3 s there (a session and, for the state and
# its signature, 7 round trips) where a 10 s round leaves it 0.25 s:
# the agent makes the master's session again while its ops run, and
# stops them as long before the expiry as its last report took (at most
# 1.6 s then: without the session made early it takes 1.8-2 s).  Its
# ops run to the end of the round (its NIC takes 1 MB/s of 40 MiB).
# The state and its signature went in 1.14 s while each of their
# replacements took 7 round trips; 0.82 s once they took 5 (the close
# and the first rename together, the removal and the last rename
# together); 0.58 s now that the state's steps go with the signature's.
# Sent after the plan expires, the state would be read by the next run,
# cron's at the expiry, as not sent.
C=$W/c
mkdir -p "$C/master/states" "$C/master/manifests" "$C/roots/g" "$C/roots/h"
# delay_start NAME [LOG]: tests/lib/delay.py to the sshd, 40 ms each way,
# counting its connections in LOG where given; its pid in $delay_pid,
# once its port is in $C/NAME.port.
delay_start() {
	env ${2:+DELAY_LOG=$2} python3 "$top/tests/lib/delay.py" "$P" 0.04 \
	    > "$C/$1.port" &
	delay_pid=$!
	until [ -s "$C/$1.port" ] || ! kill -0 $delay_pid 2>/dev/null; do
		sleep 0.05
	done
}
delay_start delay
delayer=$delay_pid
HP=$(cat "$C/delay.port")
# The generator reaches the master through a relay of its own, which
# counts its connections.
delay_start gdelay "$C/g.connections"
gdelayer=$delay_pid
GP=$(cat "$C/gdelay.port")
sed -n "s/^\[127.0.0.1\]:$P /[127.0.0.1]:$HP /p" "$KH" > "$C/known"
sed -n "s/^\[127.0.0.1\]:$P /[127.0.0.1]:$GP /p" "$KH" >> "$C/known"
cat "$KH" >> "$C/known"
"$plan" keygen -k "$C/master.key" > "$C/master.pub"
for h in g h; do
	mp=$HP
	[ $h = g ] && mp=$GP
	cat > "$C/$h.yaml" <<EOC
host: $h
root: $C/roots/$h
master: {address: 127.0.0.1, port: $mp, dir: $C/master}
identity: $KEY
known_hosts: $C/known
timeout: 10s
wait: 0s
master_key: $(cat "$C/master.pub")
signing_key: $C/$h.key
EOC
	"$agent" keygen -c "$C/$h.yaml" > "$C/$h.pub"
done
{
	echo "round: 10s"
	echo "block_size: 1MiB"
	echo "sites:"
	echo "  - name: s"
	echo "    hosts:"
	for h in g h; do
		echo "      - {name: $h, address: 127.0.0.1, port: $P, root: $C/roots/$h, nic: 8Mbit, key: '$(cat "$C/$h.pub")'}"
	done
} > "$C/master/topology.yaml"
echo 'files: [{name: f.bin, version: 1, generator: g}]' > "$C/master/fileset.yaml"
head -c $((40 * MIB)) /dev/urandom > "$C/f.bin"
"$agent" publish -c "$C/g.yaml" "$C/f.bin" f.bin 1 --block-size 1MiB &&
    "$agent" sync -c "$C/g.yaml" || fail "C: the generator's publish"
# expires_of PLAN: when PLAN expires, in seconds since 1970.
expires_of() {
	date -d "$(sed -n 's/^expires: //p' "$1")" +%s
}
# after_expiry PLAN: waits until PLAN has expired, as cron's next run.
after_expiry() {
	e=$(expires_of "$1")
	while [ "$(date +%s)" -lt "$e" ]; do sleep 0.05; done
}
# landed: when the master's states/h.yaml was last replaced, against the
# expiry of h's plan (seconds, negative before it).
landed() {
	echo "$(stat -c %.3Z "$C/master/states/h.yaml") $(expires_of \
	    "$C/master/plans/h.yaml")" | awk '{ printf "%.3f\n", $1 - $2 }'
}
for r in 1 2; do
	"$plan" run -d "$C/master" -k "$C/master.key" 2>>"$C/plan.err" ||
	    fail "C: round $r: plan run: $(cat "$C/plan.err")"
	: > "$C/g.connections"
	"$agent" sync -c "$C/g.yaml" 2>>"$C/g.err" &
	gsync=$!
	"$agent" sync -c "$C/h.yaml" 2>>"$C/h.err"
	wait $gsync || echo "round $r: g's sync: exit $?" >> "$C/g.err"
	late=$(landed)
	after_expiry "$C/master/plans/h.yaml"
done
kill $delayer $gdelayer 2>/dev/null
wait $delayer $gdelayer 2>/dev/null
took=$(cat "$C/roots/h/.sluice/report" 2>/dev/null)
grep -q "^epoch: 2$" "$C/master/states/h.yaml" &&
    awk -v l="$late" -v t="${took:-9}" 'BEGIN { exit !(l < 0 && t < 1.6) }' &&
    ok || fail "C: a state across a WAN, round 2: in $late s after its plan expired, sent in ${took:-?} s: $(cat "$C/h.err")"
echo "e2e: across a WAN, the second state in $late s after expiry (sent in $took s)" >&2
# The generator's plans have no ops: it keeps the master's session it
# fetched the plan on and sends its state at once, one connection in a
# round (two where it made the session again, 9 round trips more), and
# what it records is that sending alone (7 round trips, 0.57 s; about
# 1.3 s with a session made again).
gtook=$(cat "$C/roots/g/.sluice/report" 2>/dev/null)
gconn=$(wc -l < "$C/g.connections")
grep -q "^epoch: 2$" "$C/master/states/g.yaml" && [ "$gconn" -eq 1 ] &&
    awk -v t="${gtook:-9}" 'BEGIN { exit !(t < 1.6) }' && ok ||
    fail "C: a plan with no ops: $gconn connections to the master, its report took ${gtook:-?} s: $(cat "$C/g.err")"

# ------------------------------------------------------------------ D
# A sync that runs two plans keeps its sources' sessions from the one to
# the next: the second plan's op from g reads through the session the
# first opened, seen to answer in one round trip where a new one takes
# several (across a WAN, about nine of the source's round trips before
# the op's first byte).  g's own sshd logs each login: one, not one a
# plan.
D=$W/d
SSHD_PORT=""
SSHD_LOGLEVEL=INFO sshd_start "$W/sshd3" >"$W/sshd3.out" 2>&1 ||
    fail "D: a third sshd: $(cat "$W/sshd3.out")"
P3=$SSHD_PORT
cat "$W/sshd3/known_hosts" >> "$KH"
cp "$W/sshd/id_ed25519.pub" "$W/sshd3/authorized_keys"
SSHD_DIR=$W/sshd
SSHD_PORT=$P
setup "$D" west:g:$P3 east:h
sed -i 's/^wait: .*/wait: 30s/' "$D/conf/h.yaml"
echo 'files: [{name: d.bin, version: 1, generator: g}]' > "$D/master/fileset.yaml"
head -c $((64 * MIB)) /dev/urandom > "$D/d.bin"
"$agent" publish -c "$D/conf/g.yaml" "$D/d.bin" d.bin 1 --block-size 1MiB &&
    "$agent" sync -c "$D/conf/g.yaml" || fail "D: the generator's publish"
"$plan" run -d "$D/master" 2>>"$D/plan.err" || fail "D: plan run"
"$agent" sync -c "$D/conf/h.yaml" 2>"$D/h.err" & hsync=$!
# The second plan once the first expires, as cron makes it; the sync
# leaves once it has reported on it (its configuration changed).  What
# h held after the first, to see the second move more through the
# session kept, with no failure but the ops' deadline.
after_expiry "$D/master/plans/h.yaml"
held1=$(sed -n 's/.*length: \([0-9]*\)}.*/\1/p' "$D/master/states/h.yaml" 2>/dev/null)
"$plan" run -d "$D/master" 2>>"$D/plan.err" || fail "D: plan run"
i=0
until grep -q "^epoch: 2$" "$D/master/states/h.yaml" 2>/dev/null ||
    ! kill -0 $hsync 2>/dev/null || [ $i -gt 1200 ]; do
	i=$((i + 1))
	sleep 0.05
done
touch "$D/conf/h.yaml"
wait $hsync
logins=$(grep -c "Accepted publickey" "$W/sshd3/sshd.log")
held2=$(sed -n 's/.*length: \([0-9]*\)}.*/\1/p' "$D/master/states/h.yaml")
grep -q "^epoch: 2$" "$D/master/states/h.yaml" &&
    grep -q "source: {host: g" "$D/master/plans/h.yaml" &&
    [ "${held2:-0}" -gt "${held1:-0}" ] && [ "$logins" -eq 1 ] &&
    ! grep "error:" "$D/master/states/h.yaml" | grep -vq "error: deadline" &&
    ok || fail "D: two plans from g in one sync: $logins logins to g's sshd, held ${held1:-?} then ${held2:-?}: $(cat "$D/h.err")"
SSHD_DIR=$W/sshd3 sshd_stop

echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
