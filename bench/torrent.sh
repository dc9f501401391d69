#!/bin/sh
# torrent.sh: sluice against a real BitTorrent swarm on one shaped WAN.
# sluice's figure is tests/wan.sh's own run (its namespaces, topology,
# 5 s rounds and file; planner, then every agent's sync, round after
# round, to completion).  The swarm runs on a fresh set of the same
# namespaces (tests/lib/netns.sh: the same sites, hosts, shaping, file
# size and generator): mktorrent makes a .torrent of a file of the same
# size, opentracker runs in the generator's site on its address, and
# aria2c runs for every host in its site's namespace, the generator
# seeding, every other host leeching, then seeding, until the last one
# is done.  Each leecher's --on-bt-download-complete hook stamps the
# time it was done; the swarm's makespan runs from the leechers' start
# (the seed known to the tracker, as sluice's clock starts with the
# generator's manifest at the master) to the last stamp; every copy's
# SHA-256 is then checked.
#
# tests/wan.sh shapes every site's links at twice what the topology
# declares, so that only sluice's planning keeps them within it; the
# swarm, which plans nothing, takes all that tc lets through.  So it
# runs twice: on tc at that rate, and on tc at the declared capacity,
# the network the bound is computed for.  The table gives each
# makespan over sluice-plan bound, sluice's over each swarm's, and each
# run's busiest shaped link over 1 s against the declared capacity.
#   TORRENT_RUNS=N	runs of everything (default 1), interleaved; with
#			more than one, the min, median and max of each row
#   TORRENT_PIECE_MIB	the swarm's piece sizes in MiB (default 1: of 1 and
#			4, the faster for the swarm here; a list runs each)
#   TORRENT_SHAPES	the tc rates in Mbit the swarm runs on (default
#			"SHAPE_MBIT CAP_MBIT" of netns.sh)
#   TORRENT_SLUICE=0	the swarm alone (no bound is printed then)
#   TORRENT_TIMEOUT	the ceiling on one swarm, in seconds (default 600)
#   TORRENT_KEEP=DIR	keep each swarm's logs, stamps and samples there
#   WAN_CRON=1		sluice's run as cron starts it (see tests/wan.sh)
# Needs root, network namespaces, aria2c, opentracker and mktorrent
# (make bench-deps installs them); skips cleanly, saying why, elsewhere.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib/netns.sh"
RUNS=${TORRENT_RUNS:-1}
PIECES=${TORRENT_PIECE_MIB:-1}
SHAPES=${TORRENT_SHAPES:-$SHAPE_MBIT $CAP_MBIT}
TIMEOUT=${TORRENT_TIMEOUT:-600}
MIB=1048576
PORT=6969		# the tracker's, on the generator's site address
id=$$

skip() {
	echo "torrent: skipped: $*"
	exit 0
}
why=$(netns_usable "slt$id") || skip "$why"
for c in aria2c opentracker mktorrent; do
	command -v $c >/dev/null 2>&1 ||
	    skip "no $c (make bench-deps, as root, installs aria2, opentracker and mktorrent)"
done

W=$(mktemp -d)
aria=""
tracker=""
stop_swarm() {
	[ -n "$aria" ] && kill $aria 2>/dev/null
	for p in $aria; do wait "$p" 2>/dev/null; done
	aria=""
	[ -n "$tracker" ] && kill "$tracker" 2>/dev/null && wait "$tracker" 2>/dev/null
	tracker=""
	netns_down
}
cleanup() {
	stop_swarm
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
now() { date +%s.%N; }

# The file, a torrent of it per piece size and its info hash, the one
# name in the tracker's whitelist.
mkdir -p "$W/file"
head -c $((SIZE_MIB * MIB)) /dev/urandom > "$W/file/wan.bin"
SUM=$(sha256sum < "$W/file/wan.bin" | cut -d' ' -f1)
for piece in $PIECES; do
	log2=$(awk -v p="$piece" 'BEGIN {print 20 + log(p) / log(2)}')
	mktorrent -l "$log2" -a "http://$NET.10:$PORT/announce" \
	    -o "$W/wan-$piece.torrent" "$W/file/wan.bin" > /dev/null ||
	    skip "mktorrent failed"
	aria2c -S "$W/wan-$piece.torrent" | sed -n 's/^Info Hash: //p' > "$W/hash-$piece"
done

# Options every aria2c takes: no DHT, no local peer discovery (nothing
# but the namespaces' addresses is ever contacted), peer exchange on,
# the tracker asked every 2 s rather than at its 30-minute interval,
# seeding with no end (stop_swarm ends it), no preallocation (sluice
# writes as it goes too), and gone with this script.
aria_common() {
	echo --no-conf=true --enable-dht=false --enable-dht6=false \
	    --bt-enable-lpd=false --enable-peer-exchange=true \
	    --bt-tracker-interval=2 --bt-tracker-connect-timeout=5 \
	    --bt-tracker-timeout=10 --bt-max-peers=0 \
	    --seed-ratio=0 --seed-time=100000 \
	    --file-allocation=none --allow-overwrite=true \
	    --auto-file-renaming=false --disable-ipv6=true \
	    --summary-interval=0 --console-log-level=error \
	    --log-level=notice --stop-with-process=$id
}

# seeded PIECE: whether the tracker counts a seed of the torrent yet.
seeded() {
	ip netns exec "slt${id}s1" python3 - "$NET.10" "$PORT" "$(cat "$W/hash-$1")" <<'EOP' 2>/dev/null
import binascii, re, sys, urllib.parse, urllib.request
host, port, h = sys.argv[1:]
q = urllib.parse.quote_from_bytes(binascii.unhexlify(h))
r = urllib.request.urlopen("http://%s:%s/scrape?info_hash=%s" % (host, port, q), timeout=2).read()
m = re.search(rb"8:completei(\d+)e", r)
sys.exit(0 if m and int(m.group(1)) > 0 else 1)
EOP
}

# swarm SHAPE PIECE: one swarm on fresh namespaces shaped at SHAPE Mbit;
# appends "makespan worst" to $W/swarm, or "- -" when it did not end.
swarm() {
	shape=$1
	piece=$2
	B=$W/swarm-$shape-$piece
	rm -rf "$B"
	mkdir -p "$B/tracker"
	netns_up "slt$id" "$shape" || skip "cannot create network namespaces"
	cp "$W/hash-$piece" "$B/tracker/whitelist"
	# opentracker chroots to -d, so its whitelist is named from there.
	ip netns exec "slt${id}s0" opentracker -i "$NET.10" -p $PORT -P $PORT \
	    -d "$B/tracker" -u nobody -w /whitelist > "$B/tracker.log" 2>&1 &
	tracker=$!
	printf '#!/bin/sh\necho "$3 $(date +%%s.%%N)" >> %s/done\n' "$B" > "$B/done.sh"
	chmod +x "$B/done.sh"
	: > "$B/done"
	port=6881
	leechers=""
	for h in $WAN_HOSTS; do
		mkdir -p "$B/$h"
		eval "port_$h=$port"
		port=$((port + 1))
		[ "$h" = "$WAN_GENERATOR" ] || leechers="$leechers $h"
	done
	ln "$W/file/wan.bin" "$B/$WAN_GENERATOR/wan.bin"
	s=$(echo "$WAN_GENERATOR" | cut -c2)
	eval "lport=\$port_$WAN_GENERATOR"
	ip netns exec "slt${id}s$s" aria2c $(aria_common) \
	    --listen-port="$lport" --dir="$B/$WAN_GENERATOR" \
	    --log="$B/$WAN_GENERATOR.log" --check-integrity=false \
	    --bt-seed-unverified=true "$W/wan-$piece.torrent" \
	    > "$B/$WAN_GENERATOR.out" 2>&1 &
	aria=$!
	t=$(now)
	until seeded "$piece"; do
		awk "BEGIN {exit !($(now) - $t > 30)}" && {
			echo "torrent: the tracker never saw the seed: $(tail -2 "$B/tracker.log" "$B/$WAN_GENERATOR.log")" >&2
			echo "- -" >> "$W/swarm"
			stop_swarm
			return
		}
		sleep 0.1
	done
	netns_sample_start "$B/samples"
	t0=$(now)
	for h in $leechers; do
		s=$(echo "$h" | cut -c2)
		eval "lport=\$port_$h"
		ip netns exec "slt${id}s$s" aria2c $(aria_common) \
		    --listen-port="$lport" --dir="$B/$h" --log="$B/$h.log" \
		    --on-bt-download-complete="$B/done.sh" \
		    --bt-stop-timeout="$TIMEOUT" "$W/wan-$piece.torrent" \
		    > "$B/$h.out" 2>&1 &
		aria="$aria $!"
	done
	nleech=$(echo $leechers | wc -w)
	# Wait for every leecher's stamp, as long as every aria2c lives and
	# at most TIMEOUT seconds.
	while [ "$(wc -l < "$B/done")" -lt "$nleech" ]; do
		for p in $aria; do
			kill -0 "$p" 2>/dev/null || break 2
		done
		awk "BEGIN {exit !($(now) - $t0 > $TIMEOUT)}" && break
		sleep 0.1
	done
	netns_sample_stop
	stop_swarm
	if [ -n "${TORRENT_KEEP:-}" ]; then
		mkdir -p "$TORRENT_KEEP/${B##*/}"
		echo "$t0" > "$B/start"
		cp "$B/start" "$B/done" "$B/samples" "$B"/*.log "$TORRENT_KEEP/${B##*/}/"
	fi
	if [ "$(wc -l < "$B/done")" -lt "$nleech" ]; then
		echo "torrent: the swarm on $shape Mbit with $piece MiB pieces did not end: $(wc -l < "$B/done") of $nleech leechers done" >&2
		echo "- -" >> "$W/swarm"
		return
	fi
	for h in $leechers; do
		[ "$(sha256sum < "$B/$h/wan.bin" | cut -d' ' -f1)" = "$SUM" ] || {
			echo "torrent: $h: wan.bin differs after the swarm" >&2
			echo "- -" >> "$W/swarm"
			return
		}
	done
	netns_peaks "$B/samples" "$B/peaks"
	worst=$(sed -n 's/^worst 1 //p' "$B/peaks")
	awk -v t0="$t0" -v w="$worst" '$2 > last {last = $2}
	    END {printf "%.2f %s\n", last - t0, w}' "$B/done" >> "$W/swarm"
	rm -rf "$B"
}

# sluice: tests/wan.sh as it is, its figures through WAN_RESULT; its
# ratio is measured here, not asserted (bench/wan.sh asserts it).
# Appends "elapsed bound worst" to $W/sluice, elapsed "-" when some host
# did not complete.
sluice() {
	r=$W/wan-result
	rm -f "$r"
	WAN_RESULT=$r WAN_MAX_RATIO=1000 sh "$top/tests/wan.sh" > "$W/wan.out" 2>&1
	grep -E '^(FAIL|wan: skipped)' "$W/wan.out" >&2
	[ -s "$r" ] || { echo "- - -" >> "$W/sluice"; return; }
	set -- $(sed 's/[a-z]*=//g' "$r")
	[ "$4" = "$(echo $WAN_HOSTS | wc -w)" ] || set -- - "$2" "$3" "$4" "$5"
	echo "$1 $2 $5" >> "$W/sluice"
}

: > "$W/sluice"
: > "$W/swarm"
: > "$W/rows"
run=1
while [ $run -le "$RUNS" ]; do
	bound=-
	elapsed=-
	worst=-
	if [ "${TORRENT_SLUICE:-1}" != 0 ]; then
		echo "torrent: run $run: sluice (tests/wan.sh)" >&2
		sluice
		set -- $(tail -1 "$W/sluice")
		elapsed=$1 bound=$2 worst=$3
		echo "$run sluice $SHAPE_MBIT 0 $elapsed $worst" >> "$W/rows"
		echo "torrent: run $run: sluice ${elapsed}s, bound ${bound}s" >&2
		[ "$bound" != - ] && echo "$bound" > "$W/bound"
	fi
	for shape in $SHAPES; do
		for piece in $PIECES; do
			echo "torrent: run $run: BitTorrent on tc at $shape Mbit, $piece MiB pieces" >&2
			swarm "$shape" "$piece"
			set -- $(tail -1 "$W/swarm")
			t=$1 w=$2
			echo "torrent: run $run: BitTorrent ${t}s" >&2
			echo "$run bittorrent $shape $piece $t $w" >> "$W/rows"
		done
	done
	run=$((run + 1))
done

bound=$(cat "$W/bound" 2>/dev/null || echo -)
awk -v bound="$bound" -v runs="$RUNS" -v size="$SIZE_MIB" -v gen="$WAN_GENERATOR" \
    -v hosts="$(echo $WAN_HOSTS | wc -w)" -v cap="$CAP_MBIT" '
function ratio(a, b) {
	return (a == "" || a == "-" || b == "" || b == "-" || b == 0) ? "-" : sprintf("%.2f", a / b)
}
function secs(t) {
	return (t == "" || t == "-") ? "-" : sprintf("%.2f s", t)
}
function name(who, piece) {
	return who == "sluice" ? "sluice, 5 s rounds" : sprintf("BitTorrent, %s MiB pieces", piece)
}
function median(k,    i, j, x, m, a) {
	m = n[k]
	for (i = 1; i <= m; i++) a[i] = v[k, i]
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
	lo[k] = a[1]; hi[k] = a[m]
	return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
{ row[NR] = $0 }
$2 == "sluice" { s[$1] = $5; sk = $2 " " $3 " " $4 }
$5 != "-" {
	k = $2 " " $3 " " $4
	if (!(k in n)) order[++keys] = k
	v[k, ++n[k]] = $5
}
END {
	printf "Shaped WAN of tests/wan.sh: %s MiB from %s to %d hosts in 3 sites, %s Mbit declared up and down a site; bound (sluice-plan bound) %s s.\n\n", size, gen, hosts - 1, cap, bound
	print "| run | system | tc | makespan | over the bound | sluice over it | busiest link, 1 s, of declared |"
	print "|---:|---|---:|---:|---:|---:|---:|"
	for (i = 1; i <= NR; i++) {
		split(row[i], f, " ")
		printf "| %s | %s | %s Mbit | %s | %s | %s | %s |\n", f[1], name(f[2], f[4]), f[3], secs(f[5]),
		    ratio(f[5], bound), f[2] == "sluice" ? "-" : ratio(s[f[1]], f[5]), f[6] == "" ? "-" : f[6]
	}
	if (runs < 2)
		exit
	for (i = 1; i <= keys; i++) med[order[i]] = median(order[i])
	printf "\nOver %d runs (sluice over BitTorrent: the medians'"'"' ratio):\n\n", runs
	print "| system | tc | makespan min | median | max | median over the bound | sluice over it |"
	print "|---|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= keys; i++) {
		k = order[i]
		split(k, f, " ")
		printf "| %s | %s Mbit | %s | %s | %s | %s | %s |\n", name(f[1], f[3]), f[2],
		    secs(lo[k]), secs(med[k]), secs(hi[k]), ratio(med[k], bound),
		    f[1] == "sluice" || !(sk in med) ? "-" : ratio(med[sk], med[k])
	}
}' "$W/rows"
