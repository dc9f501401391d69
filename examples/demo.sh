#!/bin/sh
# demo.sh: sluice end to end on this machine.  A private sshd on a loopback
# port serves nine hosts in three sites (each host a data root under
# demo-run/), a generator publishes three files, one of them growing while
# it is distributed, and the planner and every agent run round after round
# until every host holds every file.  As root it lays the master out as
# sluice(7) requires: the planner runs as its own user, which owns the
# master directory and its key, and the agents as another, whose account
# may write states/ and manifests/ and nothing else of the master's (two
# throwaway system users, removed at the end).  Run it with "make demo".
set -eu
umask 022
top=$(cd "$(dirname "$0")/.." && pwd)
plan="$top/planner/sluice-plan"
agent="$top/agent/sluice-agent"
. "$top/tests/lib/sshd.sh"
. "$top/tests/lib/users.sh"
run="$top/demo-run"
rm -rf "$run"
mkdir -p "$run/master/states" "$run/master/manifests" "$run/conf" "$run/keys" "$run/plan"
PU=""
AU=""
publisher=""
# Leaves nothing running; what the demo's users owned is the caller's
# again before they go.
cleanup() {
	[ -z "$publisher" ] || kill "$publisher" 2>/dev/null || :
	sshd_stop
	[ -z "$PU" ] || chown -R "$(id -u):$(id -g)" "$run"
	users_remove
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v runuser >/dev/null; then
	echo "demo: not root: the planner and the agents run as one user here; a deployment gives each its own (sluice(7))"
else
	PU=sluice-plan-demo-$$
	AU=sluice-demo-$$
	if ! user_make "$PU" || ! user_make "$AU" login ||
	    ! as_user "$PU" test -x "$run" || ! as_user "$AU" test -x "$run"; then
		echo "demo: $run is out of reach of new users: the planner and the agents run as one user here"
		users_remove
		PU=""
		AU=""
	fi
fi
sshd_start "$run/sshd" >/dev/null
# sshd reads authorized_keys as the user logging in.
chmod 644 "$run/sshd/authorized_keys"
install -m 0600 "$SSHD_KEY" "$run/keys/id_ed25519"
P=$SSHD_PORT
MIB=1048576
SITES="tokyo frankfurt virginia"
HOSTS=""

ROUND=5
{
	echo "round: ${ROUND}s"
	echo "block_size: 1MiB"
	echo "failure_threshold: 3"
	echo "sites:"
	for s in $SITES; do
		echo "  - name: $s"
		echo "    uplink: 400Mbit"
		echo "    downlink: 400Mbit"
		echo "    hosts:"
		for i in 1 2 3; do
			h="$s-$i"
			HOSTS="$HOSTS $h"
			mkdir -p "$run/roots/$h"
			echo "      - {name: $h, address: 127.0.0.1, port: $P, root: $run/roots/$h, nic: 200Mbit}"
		done
	done
	echo "links:"
	echo "  - {name: pacific, between: [tokyo, virginia], capacity: 100Mbit, latency: 80ms}"
	echo "  - {name: atlantic, between: [frankfurt, virginia], capacity: 100Mbit, latency: 40ms}"
	echo "  - {name: eurasia, between: [tokyo, frankfurt], capacity: 100Mbit, reserved: 20Mbit, latency: 120ms}"
} > "$run/master/topology.yaml"
cp "$top/examples/demo-fileset.yaml" "$run/master/fileset.yaml"
for h in $HOSTS; do
	cat > "$run/conf/$h.yaml" <<EOC
host: $h
root: $run/roots/$h
master: {address: 127.0.0.1, port: $P, dir: $run/master}
identity: $run/keys/id_ed25519
known_hosts: $SSHD_KNOWN_HOSTS
parallel: 8
timeout: 10s
wait: 0s
EOC
done
# Who owns what: the master directory, its operators' files and the
# master key are the planner's; states/, manifests/, the data roots and
# the hosts' keys the agents'.
if [ -n "$PU" ]; then
	chown "$PU:$PU" "$run/master" "$run/master/topology.yaml" "$run/master/fileset.yaml" "$run/plan"
	chown -R "$AU:$AU" "$run/master/states" "$run/master/manifests" "$run/roots" "$run/keys"
fi
chmod 0700 "$run/plan" "$run/keys"
# Keys pinned, as a deployment should: the master signs plans, each host
# its state and manifests, and nobody can forge what another stores.
MKEY=$run/plan/master.key
mline=$(as_user "$PU" "$plan" keygen -k "$MKEY")
for h in $HOSTS; do
	printf 'signing_key: %s\nmaster_key: %s\n' "$run/keys/$h.key" "$mline" >> "$run/conf/$h.yaml"
	hline=$(as_user "$AU" "$agent" keygen -c "$run/conf/$h.yaml")
	sed -i "s|{name: $h, address|{name: $h, key: '$hline', address|" "$run/master/topology.yaml"
done

GEN=tokyo-1
echo "demo: 9 hosts in 3 sites on sshd port $P; generator $GEN"
head -c $((40 * MIB)) /dev/urandom > "$run/index.bin"
head -c $((24 * MIB)) /dev/urandom > "$run/model.bin"
head -c $((32 * MIB)) /dev/urandom > "$run/stream.full"
as_user "$AU" "$agent" publish -c "$run/conf/$GEN.yaml" "$run/index.bin" shards/index.bin 1 --block-size 1MiB
as_user "$AU" "$agent" publish -c "$run/conf/$GEN.yaml" "$run/model.bin" models/weights.bin 1 --block-size 1MiB
# The growing file: a quarter now, more every round (claim 29).
grow=$((8 * MIB))
head -c $grow "$run/stream.full" > "$run/stream.bin"
as_user "$AU" "$agent" publish -c "$run/conf/$GEN.yaml" "$run/stream.bin" logs/stream.bin 1 --growing --block-size 1MiB
as_user "$AU" "$agent" sync -c "$run/conf/$GEN.yaml"
as_user "$PU" "$plan" check -d "$run/master" >/dev/null
# The network's bound from the start, as if the generator held every file
# whole.
bound=$("$plan" bound -t "$run/master/topology.yaml" -f "$run/master/fileset.yaml" | cut -f1)

now() { date +%s.%N; }
# Rounds start on the round's boundaries (multiples of it since the
# epoch), as cron starts them, which is where plans expire.
sleep "$(awk "BEGIN {n = $(now); print $ROUND - (n - int(n / $ROUND) * $ROUND)}")"
start=$(now)
# The growing file gets 8 MiB more every PUBLISH_EVERY seconds, on its
# own clock, whatever the rounds do; the generator's sync takes each new
# manifest to the master (a sync already running is left to finish).
PUBLISH_EVERY=5
(
	while [ $grow -lt $((32 * MIB)) ]; do
		sleep $PUBLISH_EVERY
		grow=$((grow + 8 * MIB))
		head -c $grow "$run/stream.full" > "$run/stream.part"
		mv "$run/stream.part" "$run/stream.bin"
		if [ $grow -lt $((32 * MIB)) ]; then
			as_user "$AU" "$agent" publish -c "$run/conf/$GEN.yaml" "$run/stream.bin" logs/stream.bin 1 --growing --block-size 1MiB
		else
			as_user "$AU" "$agent" publish -c "$run/conf/$GEN.yaml" "$run/stream.bin" logs/stream.bin 1 --block-size 1MiB
			awk "BEGIN {print $(now) - $start}" > "$run/published"
		fi
		as_user "$AU" "$agent" sync -c "$run/conf/$GEN.yaml"
	done
) &
publisher=$!
epoch=0
moved_before=0
while :; do
	epoch=$((epoch + 1))
	# As cron would: a round starts no sooner than a round after the
	# last one did (it starts later when the last one ran long).
	wait_s=$(awk "BEGIN {w = $start + ($epoch - 1) * $ROUND - $(now); print (w > 0) ? w : 0}")
	sleep "$wait_s"
	as_user "$PU" "$plan" run -d "$run/master" -k "$MKEY"
	# The agents start at once, as waiting ones do; the plans are
	# verified meanwhile.  An op that fails is in agents.log, and the
	# next round plans around it.
	pids=""
	for h in $HOSTS; do
		as_user "$AU" "$agent" sync -c "$run/conf/$h.yaml" 2>>"$run/agents.log" &
		pids="$pids $!"
	done
	busiest=$("$plan" verify -v -d "$run/master" | sed -n 's/.*busiest \([^ ]*\) at \([0-9.]*%\).*/\1 \2/p')
	for p in $pids; do wait "$p" || :; done
	moved=$(cat "$run"/master/states/*.yaml | sed -n 's/.*length: \([0-9]*\)}.*/\1/p' | awk '{s += $1} END {print s + 0}')
	moved=$((moved - (40 + 24 + 32) * MIB))
	complete=0
	for h in $HOSTS; do
		[ -f "$run/roots/$h/shards/index.bin" ] && [ -f "$run/roots/$h/models/weights.bin" ] &&
		    [ -f "$run/roots/$h/logs/stream.bin" ] && complete=$((complete + 1))
	done
	printf 'epoch %2d: %6.1f MiB moved, %d/9 hosts complete, busiest %s\n' "$epoch" \
	    "$(awk "BEGIN {print ($moved - $moved_before) / $MIB}")" "$complete" "${busiest:-none}"
	moved_before=$moved
	[ $complete -eq 9 ] && break
	[ $epoch -ge 60 ] && { echo "demo: not complete after 60 rounds; see $run/agents.log"; exit 1; }
done
elapsed=$(awk "BEGIN {print $(now) - $start}")
wait $publisher || { echo "demo: publishing the growing file failed"; exit 1; }
publisher=""
# No schedule ends before the growing file's last bytes are published,
# whatever the network can do.
published=$(cat "$run/published")
honest=$(awk "BEGIN {print ($published > $bound) ? $published : $bound}")
bad=0
for f in shards/index.bin models/weights.bin logs/stream.bin; do
	want=$(sha256sum < "$run/roots/$GEN/$f" | cut -d' ' -f1)
	for h in $HOSTS; do
		got=$(sha256sum < "$run/roots/$h/$f" | cut -d' ' -f1)
		[ "$got" = "$want" ] || { echo "demo: $h: $f differs"; bad=1; }
	done
done
[ "$(sha256sum < "$run/stream.full")" = "$(sha256sum < "$run/roots/$GEN/logs/stream.bin")" ] || bad=1
printf 'demo: %d MiB to 8 hosts in %.1fs over %d rounds; lower bound %.1fs (ratio %.2f): the network %.1fs, the growing file published at %.1fs\n' \
    $((40 + 24 + 32)) "$elapsed" "$epoch" "$honest" "$(awk "BEGIN {print $elapsed / $honest}")" "$bound" "$published"
if [ $bad -eq 0 ]; then
	echo "demo: every file's SHA-256 is identical on all 9 hosts"
else
	exit 1
fi
rm -rf "$run/roots" "$run"/*.bin "$run/stream.full"
echo "demo: the master directory stays for: $plan status -d $run/master"
