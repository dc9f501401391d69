#!/bin/sh
# loop.sh: the cron loop as operators deploy it (examples/crontab.*), with
# nothing ordering its parts.  A stand-in for cron starts the planner and
# every agent on its own clock, once a round, at offsets that put agents
# before, during and after planning; each agent config is the example's
# (sync waits for the round's plan, a splay).  Then the same case with the
# loop sequenced by hand (plan, then every sync with wait: 0s).  The
# unsequenced distribution must complete within the sequenced one's
# makespan plus a round and a second, and no sync lives longer than its
# period (five rounds) and a round.  The round is what the first
# round's splay may cost: agents started by cron up to a quarter round
# late lose that much of the bottleneck link once, and a distribution
# that then misses the end of a round by a fraction of a second takes
# the next one.  The second is for the clocks' phase.  A loop that lost
# time every round (agents missing plans, plans made from states a
# round old) would need a round more for every few; the case takes five
# rounds or so, so that one round is a fifth of it.  Its rates are those
# that five agents and an sshd sustain on 2 busy cores, sanitized or
# not: agents that fall behind their plans' rates lose rounds however
# they are started, and the comparison would then be of the machine's
# load, not of the loop.  LOOP_ROUND (seconds, 4), LOOP_MBIT (the NICs'
# Mbit/s, 50; the link between the sites is half) and LOOP_MIB (the
# file, 48) change it; LOOP_LATE (seconds, 0) starts every planning run
# that far into its round, as a busy master does.  The cron half's
# planner runs as examples/crontab.master has it, with --replan (a round
# done early is planned again then); LOOP_REPLAN=0 runs it without.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
agent="${SLUICE_BIN:-$top/agent}/sluice-agent"
plan="${SLUICE_BIN:-$top/planner}/sluice-plan"
. "$top/tests/lib/sshd.sh"
W=$(mktemp -d)
trap 'SSHD_DIR=$W/sshd sshd_stop; rm -rf "$W"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
MIB=1048576
ROUND=${LOOP_ROUND:-4}
MBIT=${LOOP_MBIT:-50}
HOSTS="g a b c d"

if ! sshd_start "$W/sshd" >"$W/sshd.out" 2>&1; then
	echo "loop: cannot start a private sshd: $(cat "$W/sshd.out")"
	echo "loop: 0 passed, 1 failed"
	exit 1
fi
P=$SSHD_PORT
head -c $((${LOOP_MIB:-48} * MIB)) /dev/urandom > "$W/f.bin"
want=$(sha256sum < "$W/f.bin" | cut -d' ' -f1)

# setup DIR WAIT SPLAY: master directory, configs, the file published.
setup() {
	d=$1
	mkdir -p "$d/master/states" "$d/master/manifests" "$d/conf"
	cat > "$d/master/topology.yaml" <<EOT
round: ${ROUND}s
block_size: 1MiB
sites:
  - name: east
    hosts:
      - {name: g, address: 127.0.0.1, port: $P, root: $d/roots/g, nic: ${MBIT}Mbit}
      - {name: a, address: 127.0.0.1, port: $P, root: $d/roots/a, nic: ${MBIT}Mbit}
  - name: west
    hosts:
      - {name: b, address: 127.0.0.1, port: $P, root: $d/roots/b, nic: ${MBIT}Mbit}
      - {name: c, address: 127.0.0.1, port: $P, root: $d/roots/c, nic: ${MBIT}Mbit}
      - {name: d, address: 127.0.0.1, port: $P, root: $d/roots/d, nic: ${MBIT}Mbit}
links: [{between: [east, west], capacity: $((MBIT / 2))Mbit, latency: 20ms}]
EOT
	echo 'files: [{name: f.bin, version: 1, generator: g}]' > "$d/master/fileset.yaml"
	for h in $HOSTS; do
		mkdir -p "$d/roots/$h"
		cat > "$d/conf/$h.yaml" <<EOC
host: $h
root: $d/roots/$h
master: {address: 127.0.0.1, port: $P, dir: $d/master}
identity: $SSHD_KEY
known_hosts: $SSHD_KNOWN_HOSTS
parallel: 8
timeout: 5s
splay: $3
wait: 0s
period: $((5 * ROUND))s
EOC
	done
	"$agent" publish -c "$d/conf/g.yaml" "$W/f.bin" f.bin 1 --block-size 1MiB || fail "$d: publish"
	"$agent" sync -c "$d/conf/g.yaml" 2>/dev/null
	for h in $HOSTS; do sed -i "s/^wait: .*/wait: $2/" "$d/conf/$h.yaml"; done
}

done_all() {	# done_all DIR: every host holds the file whole
	for h in $HOSTS; do
		[ -f "$1/roots/$h/f.bin" ] || return 1
	done
}

now() { date +%s.%N; }
# Waits for the round's next boundary (a multiple of it since the epoch),
# where cron starts runs and where the planner ends its plans.
on_grid() { sleep "$(awk "BEGIN {n = $(now); print $ROUND - (n - int(n / $ROUND) * $ROUND)}")"; }

# The sequenced loop: rounds paced by the clock, plan then every sync.
S=$W/seq
setup "$S" 0s 0s
on_grid; start=$(now)
k=0
while ! done_all "$S" && [ $k -lt 30 ]; do
	w=$(awk "BEGIN {w = $start + $k * $ROUND - $(now); print (w > 0) ? w : 0}")
	sleep "$w"
	"$plan" run -d "$S/master" 2>>"$S/plan.err"
	for h in $HOSTS; do "$agent" sync -c "$S/conf/$h.yaml" 2>>"$S/agents.err" & done
	wait
	k=$((k + 1))
done
seq_span=$(awk "BEGIN {print $(now) - $start}")
done_all "$S" && ok || fail "sequenced loop: not complete after $k rounds: $(tail -5 "$S/agents.err")"

# The cron loop: each part started by its own clock, as cron starts it,
# in the background, every round; nothing waits on anything else.
U=$W/cron
setup "$U" "${ROUND}s" "$(awk "BEGIN {print $ROUND / 4}")s"
: > "$U/agents.err"
tick() {	# tick OFFSET COMMAND...: run COMMAND every round at OFFSET
	off=$1
	shift
	k=0
	while [ ! -e "$U/stop" ]; do
		w=$(awk "BEGIN {w = $start + $k * $ROUND + $off - $(now); print (w > 0) ? w : 0}")
		sleep "$w"
		[ -e "$U/stop" ] && break
		"$@" &
		k=$((k + 1))
	done
	wait
}
on_grid; start=$(now)
replan=--replan
[ "${LOOP_REPLAN:-1}" = 0 ] && replan=
tick "${LOOP_LATE:-0}" "$plan" run -d "$U/master" $replan 2>>"$U/plan.err" &
clocks=$!
# Agents before (-0.5 s: started in the last round), with (0), during
# (0.05 s) and after (1 s, 2.5 s) the planner.
i=0
for h in $HOSTS; do
	case $i in 0) off=-0.5 ;; 1) off=0 ;; 2) off=0.05 ;; 3) off=1 ;; *) off=2.5 ;; esac
	if [ -n "${LOOP_DEBUG:-}" ]; then
		tick "$off" sh -c "echo start \$(date +%s.%N); \"$agent\" sync -v -c \"$U/conf/$h.yaml\" 2>&1 | while read -r l; do echo \"\$(date +%s.%N) \$l\"; done; echo end \$(date +%s.%N)" >>"$U/$h.log" &
	else
		tick "$off" sh -c 't0=$(date +%s.%N); "$0" sync -c "$1" 2>>"$2"; echo "$t0 $(date +%s.%N)" >>"$3"' \
		    "$agent" "$U/conf/$h.yaml" "$U/agents.err" "$U/lives" &
	fi
	clocks="$clocks $!"
	i=$((i + 1))
done
limit=$(awk "BEGIN {print 30 * $ROUND}")
while ! done_all "$U" && awk "BEGIN {exit !($(now) - $start < $limit)}"; do
	sleep 0.1
done
cron_span=$(awk "BEGIN {print $(now) - $start}")
touch "$U/stop"
if [ -n "${LOOP_DEBUG:-}" ]; then
	echo "start $start"
	for h in $HOSTS; do echo "== $h"; cat "$U/$h.log"; done
	ls -la "$U/master/epochs"
fi
wait $clocks 2>/dev/null
if done_all "$U"; then ok; else fail "cron loop: not complete in ${limit}s: $(tail -5 "$U/agents.err")"; fi
bad=""
for h in $HOSTS; do
	[ "$(sha256sum < "$U/roots/$h/f.bin" 2>/dev/null | cut -d' ' -f1)" = "$want" ] || bad="$bad $h"
done
[ -z "$bad" ] && ok || fail "cron loop: copies differ on$bad"
ratio=$(awk "BEGIN {printf \"%.2f\", $cron_span / $seq_span}")
echo "loop: sequenced ${seq_span}s, cron ${cron_span}s, ratio $ratio (round ${ROUND}s)" >&2
if awk "BEGIN {exit !($cron_span <= $seq_span + $ROUND + 1)}"; then ok
else fail "cron loop took ${cron_span}s against ${seq_span}s sequenced: $(tail -5 "$U/agents.err")"; fi
# Each sync takes plans for its period (five rounds here), counted
# from when it has the lock, and leaves after the plan it runs then: none
# lives longer than twice its period (the lock waited for at most one), a
# round and a second for its connections, and the start that waited for
# the lock takes over without a round lost between them (the makespan
# above).
if [ -z "${LOOP_DEBUG:-}" ]; then
	longest=$(awk '{l = $2 - $1; if (l > m) m = l} END {printf "%.1f", m}' "$U/lives")
	awk "BEGIN {exit !($longest <= 11 * $ROUND + 1)}" && ok ||
	    fail "a sync lived ${longest}s with period: $((5 * ROUND))s"
fi
# Cron mails whatever the planner prints: nothing, though runs overlap.
[ ! -s "$U/plan.err" ] && ok || fail "planner printed: $(cat "$U/plan.err")"

echo "loop: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
