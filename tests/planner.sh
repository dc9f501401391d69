#!/bin/sh
# planner.sh: sluice-plan run, verify, status and bound on real master
# directories: every shared case with both methods checked by the shared
# verifier, determinism, plans kept for hosts that have not reported, a run
# that cannot write, a broken state, a tampered plan.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
shared=${SLUICE_SHARED:-$top/../shared}
plan="${SLUICE_BIN:-$top/planner}/sluice-plan"
verifier="$shared/tools/verify-plans"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
T0=2026-11-25T08:01:00Z

ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
fresh() { rm -rf "$work/$2"; cp -r "$shared/cases/$1" "$work/$2"; chmod -R u+w "$work/$2"; }

for c in "$shared"/cases/*/; do
	name=$(basename "$c")
	for method in lp greedy; do
		fresh "$name" "$name-$method"
		d="$work/$name-$method"
		if ! out=$("$plan" run -d "$d" --method "$method" --now $T0 2>&1); then
			fail "$name $method: run: $out"
			continue
		fi
		[ -z "$out" ] && ok || fail "$name $method: run printed: $out"
		if out=$("$verifier" "$d" 2>&1); then ok; else fail "$name $method: verify-plans: $out"; fi
		if out=$("$plan" verify -d "$d" 2>&1) && [ -z "$out" ]; then ok
		else fail "$name $method: sluice-plan verify: $out"; fi
		n=$(ls "$d/plans" | wc -l)
		[ "$n" -eq "$(ls "$d/states" | wc -l)" ] && ok || fail "$name $method: $n plans"
	done
done

# Determinism: the same inputs give byte-identical plans and ledger.
fresh wan3 det1
fresh wan3 det2
"$plan" run -d "$work/det1" --now $T0 && "$plan" run -d "$work/det2" --now $T0
if diff -r "$work/det1/epochs" "$work/det2/epochs" >/dev/null; then ok; else fail "not deterministic"; fi

# The bound for wan3: each host lacks 3 x 256 MiB behind a 1 Gbit NIC.
out=$("$plan" bound -d "$shared/cases/wan3")
case "$out" in
6.442*"ingress of host"*) ok ;;
*) fail "wan3 bound: $out" ;;
esac

# A second run before the plans expire, with only r1s0h0 reporting again
# (half of one file, the others whole): every other host keeps its plan
# byte for byte, r1s0h0 gets a new one from its new length, and all the
# plans still active together fit every capacity.
d="$work/det1"
cp "$d/plans/r0s1h0.yaml" "$work/kept.yaml"
cp "$d/plans/r1s0h0.yaml" "$work/replaced.yaml"
cat > "$d/states/r1s0h0.yaml" <<EOS
host: r1s0h0
epoch: 1
time: 2026-11-25T08:01:20Z
files:
  - {name: data/file-000.bin, version: 1, length: 134217728}
  - {name: data/file-001.bin, version: 1, length: 268435456}
  - {name: data/file-002.bin, version: 1, length: 268435456}
failures: []
EOS
"$plan" run -d "$d" --now 2026-11-25T08:01:30Z
if cmp -s "$d/plans/r0s1h0.yaml" "$work/kept.yaml"; then ok; else fail "kept plan changed"; fi
if grep -q '^epoch: 2' "$d/plans/r1s0h0.yaml" &&
    grep -q 'offset: 134217728' "$d/plans/r1s0h0.yaml"; then ok
else fail "reporting host not replanned from its new length"; fi
if out=$("$verifier" "$d" 2>&1); then ok; else fail "in-flight: verify-plans: $out"; fi
if "$plan" status -d "$d" | grep -q '^epoch 2, planned 2026-11-25T08:01:30Z by lp'; then ok
else fail "status: $("$plan" status -d "$d" 2>&1 | head -3)"; fi

# A run that cannot write its set leaves the previous one in place.
before=$(readlink "$d/current")
: > "$d/epochs/3"
if "$plan" run -d "$d" --now 2026-11-25T08:03:00Z 2>"$work/err"; then
	fail "run succeeded though epochs/3 is a file"
else
	rc=$?
	[ $rc -eq 73 ] && ok || fail "unwritable set: exit $rc"
	[ "$(readlink "$d/current")" = "$before" ] && ok || fail "current moved"
	if out=$("$verifier" "$d" 2>&1); then ok; else fail "after failed run: $out"; fi
fi
rm -f "$d/epochs/3"

# A broken state: reported with its position, that host skipped, the rest
# planned.
fresh partial broken
printf 'host: r0s0h2\nfiles: [{name: data/file-000.bin, version: 1, length: lots}]\n' \
    > "$work/broken/states/r0s0h2.yaml"
"$plan" run -d "$work/broken" --now $T0 2>"$work/err"
rc=$?
if [ $rc -eq 0 ] && grep -q "states/r0s0h2.yaml:2:55: length: 'lots' is not a whole number (host r0s0h2 skipped)" "$work/err"; then ok
else fail "broken state: exit $rc: $(cat "$work/err")"; fi
[ ! -e "$work/broken/plans/r0s0h2.yaml" ] && ok || fail "skipped host got a plan"
[ -e "$work/broken/plans/r0s0h3.yaml" ] && ok || fail "other hosts not planned"

# A tampered plan: both verifiers object.
fresh tiny tamper
"$plan" run -d "$work/tamper" --now $T0
sed -i 's/^  rate: .*/  rate: 999999999/' "$work/tamper/plans/r0s0h1.yaml"
"$plan" verify -d "$work/tamper" >"$work/out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q 'resource host:r0s0h0:out' "$work/out"; then ok
else fail "tampered plan: exit $rc: $(cat "$work/out")"; fi
"$verifier" -q "$work/tamper" >/dev/null 2>&1 && fail "verify-plans accepted the tampered plan" || ok

# Simulation: every round's trace passes the verifier; a link down for
# good is routed around; the baselines share links fairly, by hand: b1 and
# b2 pull 376 MB each from g over a 40 MB/s link, 94% of it for data, so
# 18.8 MB/s each, 20 s.
for c in tiny partial wan3; do
	rm -rf "$work/trace-$c"
	out=$("$plan" simulate -t "$shared/cases/$c/topology.yaml" -f "$shared/cases/$c/fileset.yaml" \
	    --trace "$work/trace-$c" 2>&1)
	case "$out" in
	makespan=*ratio=*rounds=*bytes=*) ok ;;
	*) fail "simulate $c: $out" ;;
	esac
	if v=$("$verifier" -q --trace "$work/trace-$c" 2>&1); then ok; else fail "simulate $c trace: $v"; fi
done
rm -rf "$work/trace-fail"
out=$("$plan" simulate -t "$shared/cases/wan3/topology.yaml" -f "$shared/cases/wan3/fileset.yaml" \
    --fail 'link:r0s0--r1s0@1-1000' --trace "$work/trace-fail" 2>&1)
case "$out" in
makespan=*) ok ;;
*) fail "simulate with a failed link: $out" ;;
esac
last=$(ls "$work/trace-fail" | tail -1)
grep -q 'r0s0--r1s0' "$work/trace-fail/$last"/plans/*.yaml && fail "failed link still used in $last" || ok
"$verifier" -q --trace "$work/trace-fail" >/dev/null 2>&1 && ok || fail "failed-link trace"
cat > "$work/fair.yaml" <<EOT
round: 60s
sites:
  - {name: G, hosts: [{name: g, address: 192.0.2.1, root: /s, nic: 100MB/s}]}
  - name: B
    hosts:
      - {name: b1, address: 192.0.2.2, root: /s, nic: 100MB/s}
      - {name: b2, address: 192.0.2.3, root: /s, nic: 100MB/s}
links: [{between: [G, B], capacity: 40MB/s}]
EOT
echo 'files: [{name: f, version: 1, generator: g, size: 376000000}]' > "$work/fair-files.yaml"
out=$("$plan" simulate -t "$work/fair.yaml" -f "$work/fair-files.yaml" --method origin)
case "$out" in
makespan=20.000\ *) ok ;;
*) fail "origin fair share: $out" ;;
esac
out=$("$plan" simulate -t "$work/fair.yaml" -f "$work/fair-files.yaml" --method swarm)
case "$out" in
makespan=*) ok ;;
*) fail "swarm: $out" ;;
esac

# Starting states, by hand: b1 holds 44 blocks of 4 MiB (184549376 bytes).
# Origin in steps of a second: b1 and b2 share the link at 18.8 MB/s until
# b1 is whole in the step ending at 11 s; b2 then holds 206.8 MB and takes
# the other 169.2 MB at 37.6 MB/s, whole in the step ending at 16 s.
mkdir -p "$work/start"
printf 'host: b1\nepoch: 0\nfiles: [{name: f, version: 1, length: 184549376}]\n' > "$work/start/b1.yaml"
out=$("$plan" simulate -t "$work/fair.yaml" -f "$work/fair-files.yaml" --method origin --states "$work/start")
case "$out" in
makespan=16.000\ *) ok ;;
*) fail "origin from states: $out" ;;
esac
printf 'host: b1\nepoch: zero\n' > "$work/start/b1.yaml"
"$plan" simulate -t "$work/fair.yaml" -f "$work/fair-files.yaml" --states "$work/start" 2>"$work/err" >/dev/null
rc=$?
[ $rc -eq 65 ] && grep -q 'b1.yaml:2:8: ' "$work/err" && ok || fail "bad start state: exit $rc: $(cat "$work/err")"
# A growing file published at 4 MB/s takes 94 s to publish, which is the
# bound (the link alone would allow 20 s); every round's trace verifies.
sed 's/^round: 60s/round: 10s/' "$work/fair.yaml" > "$work/fair10.yaml"
rm -rf "$work/trace-grow"
out=$("$plan" simulate -t "$work/fair10.yaml" -f "$work/fair-files.yaml" --growing f=4MB/s --trace "$work/trace-grow")
case "$out" in
makespan=*bound=94.000\ *)
	m=${out#makespan=}; m=${m%% *}
	awk "BEGIN {exit !($m >= 94 && $m <= 120)}" && ok || fail "growing: makespan $m" ;;
*) fail "growing: $out" ;;
esac
grep -q '^final: false' "$work/trace-grow/round-0002/manifests/"*.yaml && ok || fail "growing: round 2's manifest is final"
"$verifier" -q --trace "$work/trace-grow" >/dev/null 2>&1 && ok || fail "growing trace"
"$plan" simulate -t "$work/fair10.yaml" -f "$work/fair-files.yaml" --growing nothere=4MB/s >/dev/null 2>&1
[ $? -eq 64 ] && ok || fail "--growing of an unknown file accepted"

# Looking ahead: with --horizon 3 the LP sees that hosts given a little now
# serve others next round.  One LAN of 40 hosts and two files of 1 GiB:
# fewer rounds than planning one round at a time, every round verified.
"$top/tests/tools/gen-case" "$work/ahead" --regions 1 --sites 1 --hosts 40 --files 2 \
    --size 1073741824 --uplink 0 --round 10 --no-states
one=$("$plan" simulate -t "$work/ahead/topology.yaml" -f "$work/ahead/fileset.yaml")
rm -rf "$work/trace-ahead"
three=$("$plan" simulate -t "$work/ahead/topology.yaml" -f "$work/ahead/fileset.yaml" --horizon 3 \
    --trace "$work/trace-ahead")
r1=$(echo "$one" | sed -n 's/.*rounds=\([0-9]*\).*/\1/p')
r3=$(echo "$three" | sed -n 's/.*rounds=\([0-9]*\).*/\1/p')
[ -n "$r1" ] && [ -n "$r3" ] && [ "$r3" -lt "$r1" ] && ok || fail "horizon 3: $three; horizon 1: $one"
"$verifier" -q --trace "$work/trace-ahead" >/dev/null 2>&1 && ok || fail "horizon 3 trace"
# The look-ahead is kept in the ledger and shown by status; nothing in it
# copies more of a file to a host than the file holds.
fresh wan3 ahead3
"$plan" run -d "$work/ahead3" --horizon 3 --now $T0
grep -q '^horizon: 3' "$work/ahead3/ledger.yaml" && grep -q '^- {round: 2, host: ' "$work/ahead3/ledger.yaml" && ok ||
    fail "no look-ahead in the ledger: $(head -c 300 "$work/ahead3/ledger.yaml")"
python3 - "$work/ahead3/ledger.yaml" <<'EOP' && ok || fail "look-ahead copies more than a file"
import sys, yaml, collections
l = yaml.safe_load(open(sys.argv[1]))
per = collections.Counter()
for a in l['ahead']:
    per[(a['host'], a['file'])] += a['bytes']
sys.exit(0 if per and max(per.values()) <= 268435456 else 1)
EOP
"$plan" status -d "$work/ahead3" | grep -q '^looked ahead 3 rounds:' && ok || fail "status: no look-ahead"
"$verifier" -q "$work/ahead3" >/dev/null 2>&1 && ok || fail "horizon 3 plans"
"$plan" run -d "$work/ahead3" --horizon 5 2>/dev/null
[ $? -eq 64 ] && ok || fail "--horizon 5 accepted"

# Incremental planning: every host reports having done exactly what its
# plan asked, so each site's LAN takes the look-ahead's next round instead
# of a new solve, and its ops are the look-ahead's.  Then one host's NIC
# changes: its site is solved again, the others still are not.
follow() {
	python3 - "$1" "$2" <<'EOP'
import sys, os, glob, yaml
d, epoch = sys.argv[1], int(sys.argv[2])
for p in glob.glob(d + '/plans/*.yaml'):
    plan = yaml.safe_load(open(p))
    sp = '%s/states/%s.yaml' % (d, plan['host'])
    st = yaml.safe_load(open(sp)) if os.path.exists(sp) else {}
    have = {(f['name'], f['version']): f['length'] for f in st.get('files') or []}
    for op in plan.get('ops') or []:
        k = (op['file'], op['version'])
        have[k] = max(have.get(k, 0), op['offset'] + op['length'])
    yaml.safe_dump({'host': plan['host'], 'epoch': epoch, 'time': '2026-11-25T08:02:00Z',
                    'files': [{'name': n, 'version': v, 'length': l} for (n, v), l in sorted(have.items())],
                    'failures': []}, open(sp, 'w'))
EOP
}
fresh wan3 inc
"$plan" run -d "$work/inc" --horizon 3 --now $T0
cp "$work/inc/ledger.yaml" "$work/inc-ahead.yaml"
follow "$work/inc" 1
rm -rf "$work/inc2" && cp -a "$work/inc" "$work/inc2"
out=$("$plan" run -d "$work/inc" --horizon 3 --incremental -v --now 2026-11-25T08:02:00Z)
kept=$(echo "$out" | sed -n 's/^site LANs: \([0-9]*\) solved, \([0-9]*\) on the look-ahead of epoch 1$/\2/p')
[ -n "$kept" ] && [ "$kept" -ge 2 ] && ok || fail "incremental: $out"
[ "$(grep -c 'LAN on the look-ahead of epoch 1' "$work/inc/ledger.yaml")" = "${kept:-x}" ] &&
    grep -q 'site r0s0: LAN on the look-ahead' "$work/inc/ledger.yaml" && ok ||
    fail "incremental: the ledger does not say which sites kept the look-ahead"
python3 - "$work/inc" "$work/inc-ahead.yaml" "${kept:-1}" <<'EOP' && ok || fail "incremental: ops are not the look-ahead's"
import sys, glob, yaml, collections
d, ahead, kept = sys.argv[1], yaml.safe_load(open(sys.argv[2])), int(sys.argv[3])
want = collections.Counter()
for a in ahead['ahead']:
    if a['round'] == 2 and a['host'][:4] == a['source'][:4]:
        want[(a['host'][:4], a['host'], a['source'], a['file'])] += a['bytes']
got = collections.Counter()
for p in glob.glob(d + '/plans/*.yaml'):
    plan = yaml.safe_load(open(p))
    for op in plan.get('ops') or []:
        if plan['host'][:4] == op['source']['host'][:4]:
            got[(plan['host'][:4], plan['host'], op['source']['host'], op['file'])] += op['length']
sites = {k[0] for k in want}
followed = [s for s in sites if all(got[k] >= v for k, v in want.items() if k[0] == s)]
sys.exit(0 if len(followed) >= kept else 1)
EOP
"$verifier" -q "$work/inc" >/dev/null 2>&1 && ok || fail "incremental plans"
# The same, but r0s0h0's NIC changed: r0s0 is solved again, not the others.
sed -i '0,/nic: 1000Mbit/s//nic: 900Mbit/' "$work/inc2/topology.yaml"
out=$("$plan" run -d "$work/inc2" --horizon 3 --incremental -v --now 2026-11-25T08:02:00Z)
case "$out" in
*"site LANs: "*" solved, $((kept - 1)) on the look-ahead"*) ok ;;
*) fail "incremental after a change: $out" ;;
esac
grep -q 'site r0s0: LAN on the look-ahead' "$work/inc2/ledger.yaml" && fail "r0s0 changed but kept its look-ahead" || ok
"$plan" status -d "$work/inc2" | grep -q 'host:r0s0h0:in capacity 1Gbit -> 900Mbit' && ok ||
    fail "status: $("$plan" status -d "$work/inc2" | sed -n 1,6p)"
"$plan" run -d "$work/inc2" --incremental 2>/dev/null
[ $? -eq 64 ] && ok || fail "--incremental without --horizon accepted"

# The chart is well-formed SVG with the two curves; the Graphviz view has
# one cluster per site and one edge per link (and renders, where dot is).
"$plan" simulate -t "$shared/cases/wan3/topology.yaml" -f "$shared/cases/wan3/fileset.yaml" \
    --svg "$work/run.svg" >/dev/null
if python3 -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); sys.exit(0 if len([e for e in r.iter() if e.tag.endswith("polyline")]) == 2 else 1)' "$work/run.svg"; then ok
else fail "svg: $(head -c 200 "$work/run.svg")"; fi
"$plan" dot -d "$work/det1" > "$work/view.dot"
[ "$(grep -c '^	subgraph "cluster_' "$work/view.dot")" -eq 6 ] &&
    [ "$(grep -c ' -- ' "$work/view.dot")" -eq 6 ] && ok || fail "dot: $(head -5 "$work/view.dot")"
if command -v dot >/dev/null 2>&1; then
	dot -Tsvg "$work/view.dot" > /dev/null && ok || fail "Graphviz rejects the dot output"
fi

echo "planner: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
