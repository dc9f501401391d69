#!/bin/sh
# operator.sh: what an operator must be told about a running fleet, on
# master directories made from the sample cases: a host with too little
# room (free: in its state) is sent no more than fits and named in status;
# a clock that is off (a state's time against its upload's) is named in
# run, status and check, with plans that expire before they arrive;
# planning runs that come less often than the round are warned of; check
# ends with a one-line summary; manifests of versions the file set no
# longer names are retired into the epoch set, said once; status --svg
# draws the history the master keeps.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
plan="${SLUICE_BIN:-$top/planner}/sluice-plan"
. "$top/tests/lib/cases.sh"
. "$top/tests/lib/chart.sh"
independent_note operator
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
T0=2026-11-25T08:01:00Z
MIB=1048576

ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
fresh() { rm -rf "$work/$2"; cp -r "$(case_dir "$1")" "$work/$2"; chmod -R u+w "$work/$2"; }
# The sum of the op lengths in a plan file.
planned_bytes() { awk '/^  length: /{s += $2} END {print s + 0}' "$1"; }
# A time n seconds from now, as states write it.
at() { date -u -d "@$(($(date +%s) + $1))" +%Y-%m-%dT%H:%M:%SZ; }

# A full disk.  r1s0h0 lacks 3 x 256 MiB and reports 100 MiB free: it is
# planned no more than fits (less the store's 1 MiB reserve) where
# without the bound one round at 1 Gbit would bring all 768 MiB; status
# names it as out of space; the plans still verify.
fresh wan3 space
d="$work/space"
sed -i "s/^files: \[\]/free: $((100 * MIB))\nfiles: []/" "$d/states/r1s0h0.yaml"
grep -q "^free: " "$d/states/r1s0h0.yaml" || fail "test: no free: written"
fresh wan3 nospace
"$plan" run -d "$work/nospace" --now $T0 || fail "run without a bound"
unbounded=$(planned_bytes "$work/nospace/plans/r1s0h0.yaml")
[ "$unbounded" -gt $((100 * MIB)) ] && ok || fail "test: r1s0h0 planned only $unbounded bytes unbounded"
if "$plan" run -d "$d" --now $T0 2>"$work/space.err"; then
	n=$(planned_bytes "$d/plans/r1s0h0.yaml")
	[ "$n" -le $((99 * MIB)) ] && [ "$n" -gt 0 ] && ok ||
	    fail "full disk: r1s0h0 planned $n bytes with 100 MiB free"
else fail "full disk: run: $(cat "$work/space.err")"; fi
out=$(verify_plans -q "$d" 2>&1) && ok || fail "full disk: plans do not verify: $out"
"$plan" status -d "$d" > "$work/space.status" 2>&1
grep -q "^  out of space: host r1s0h0 needs 768.0 MiB more and has 100.0 MiB free" "$work/space.status" && ok ||
    fail "full disk: status does not name r1s0h0: $(cat "$work/space.status")"
grep -q "out of space: host r1s0h1" "$work/space.status" && fail "status names r1s0h1, which did not say" || ok
# A malformed free: is the state's error, with its line and column.
sed -i "s/^free: .*/free: lots/" "$d/states/r1s0h0.yaml"
"$plan" check -d "$d" >/dev/null 2>"$work/space.err"
grep -q "states/r1s0h0.yaml:4:7: " "$work/space.err" && ok || fail "bad free: $(cat "$work/space.err")"

# A clock that is off.  Every host's state is written 300 s ahead of the
# master's clock (the master's clock behind, as in the field): run warns
# of each, says plans expire before they can arrive and that the
# master's clock is the one to set; status and check say so too.
fresh wan3 clock
d="$work/clock"
ahead=$(at 300)
for f in "$d"/states/*.yaml; do sed -i "s/^time: .*/time: '$ahead'/" "$f"; done
"$plan" run -d "$d" 2>"$work/clock.err" || fail "clock: run: $(cat "$work/clock.err")"
grep -q "clock skew: host r1s0h0 is \(29\|30\)[0-9]s ahead of the master's clock, more than the round (60s): its plans expire before they can arrive" "$work/clock.err" &&
    grep -q "clock skew: every host that reported is ahead of the master by about \(29\|30\)[0-9]s: the master's clock is the one to set" "$work/clock.err" &&
    ok || fail "clock: run did not warn: $(cat "$work/clock.err")"
"$plan" status -d "$d" > "$work/clock.status" 2>&1
grep -q "^  clock skew: host r0s0h1 is \(29\|30\)[0-9]s ahead" "$work/clock.status" && ok ||
    fail "clock: status: $(cat "$work/clock.status")"
"$plan" check -d "$d" > "$work/clock.out" 2>"$work/clock.err"
grep -q "warning: clock skew: host r0s0h1 is \(29\|30\)[0-9]s ahead" "$work/clock.err" &&
    grep -q "^check: ok: 3[0-9] warnings$" "$work/clock.out" && ok ||
    fail "clock: check: $(cat "$work/clock.out" "$work/clock.err")"
# One host 20 s behind (a third of the round): its report of epoch 1 is
# dated before epoch 1 was planned.  Named alone.
fresh wan3 behind
d="$work/behind"
"$plan" run -d "$d" 2>/dev/null || fail "behind: first run"
for f in "$d"/states/*.yaml; do sed -i "s/^time: .*/time: '$(at 1)'/; s/^epoch: .*/epoch: 1/" "$f"; done
sed -i "s/^time: .*/time: '$(at -20)'/" "$d/states/r0s1h2.yaml"
"$plan" run -d "$d" 2>"$work/behind.err" || fail "behind: run"
if grep -q "clock skew: host r0s1h2 is [12][0-9]s or more behind the master's clock" "$work/behind.err" &&
    [ "$(grep -c "clock skew" "$work/behind.err")" -eq 1 ]; then ok
else fail "behind: $(cat "$work/behind.err")"; fi
# Clocks within a tenth of the round say nothing.
fresh wan3 inclock
d="$work/inclock"
for f in "$d"/states/*.yaml; do sed -i "s/^time: .*/time: '$(at 3)'/" "$f"; done
out=$("$plan" run -d "$d" 2>&1) && [ -z "$out" ] && ok || fail "clocks within a tenth of the round: $out"

# Runs every 2 minutes for a 60 s round: status and check say the network
# idles half the time; runs once a round say nothing.
fresh wan3 cadence
d="$work/cadence"
for t in 08:01:00 08:03:00 08:05:00 08:07:00; do
	"$plan" run -d "$d" --now 2026-11-25T${t}Z 2>/dev/null || fail "cadence: run at $t"
done
"$plan" status -d "$d" > "$work/cadence.status" 2>&1
grep -q "planning runs come every 120s, but the round is 60s: the network idles 60s of every 120s" "$work/cadence.status" && ok ||
    fail "cadence: status: $(cat "$work/cadence.status")"
"$plan" check -d "$d" > "$work/cadence.out" 2>"$work/cadence.err"
grep -q "warning: planning runs come every 120s" "$work/cadence.err" && ok ||
    fail "cadence: check: $(cat "$work/cadence.err")"
fresh wan3 oncadence
for t in 08:01:00 08:02:00 08:03:00; do
	"$plan" run -d "$work/oncadence" --now 2026-11-25T${t}Z 2>/dev/null || fail "cadence: run at $t"
done
"$plan" status -d "$work/oncadence" | grep -q "^warnings: none$" && ok ||
    fail "runs once a round: $("$plan" status -d "$work/oncadence")"

# check always ends with one line: with a broken state it still prints
# its summary, then says how many errors and warnings.
fresh wan3 broken
echo "host: [" > "$work/broken/states/r0s0h0.yaml"
"$plan" check -d "$work/broken" > "$work/broken.out" 2>"$work/broken.err"
rc=$?
if [ $rc -eq 65 ] && grep -q "^hosts: 30$" "$work/broken.out" &&
    tail -1 "$work/broken.out" | grep -q "^check: failed: 1 error, [0-9]* warnings$"; then ok
else fail "check with a broken state: exit $rc: $(cat "$work/broken.out" "$work/broken.err")"; fi

# Retiring versions.  The manifest of a version the file set no longer
# names (data/file-000.bin@0, superseded): check warns that the next run
# retires it and exits 0; that run moves it into its epoch set and says so
# once; sent again by its generator, it is moved again without a word,
# and the record goes forward from set to set as old sets are removed.
fresh tiny retire
d="$work/retire"
old="data%2Ffile-000.bin@0.yaml"
sed 's/^version: 1$/version: 0/' "$d/manifests/data%2Ffile-000.bin@1.yaml" > "$d/manifests/$old"
"$plan" check -d "$d" > "$work/retire.out" 2>"$work/retire.err"
rc=$?
if [ $rc -eq 0 ] && grep -q "manifests/$old: no file version of that name in the file set: the next run retires it" "$work/retire.err" &&
    tail -1 "$work/retire.out" | grep -q "^check: ok: [1-9][0-9]* warnings*$"; then ok
else fail "check with a superseded manifest: exit $rc: $(cat "$work/retire.out" "$work/retire.err")"; fi
: > "$work/retire.err"
for t in 08:01:00 08:02:00 08:03:00 08:04:00 08:05:00 08:06:00; do
	[ -e "$d/manifests/$old" ] || cp "$d/manifests/data%2Ffile-000.bin@1.yaml" "$d/manifests/$old"
	"$plan" run -d "$d" --now 2026-11-25T${t}Z 2>>"$work/retire.err" || fail "retire: run at $t"
done
n=$(grep -c "$old" "$work/retire.err")
if [ "$n" -eq 1 ] && grep -q "manifests/$old: no file version of that name in the file set: retired to epochs/1/retired/" "$work/retire.err"; then ok
else fail "retire: said $n times: $(cat "$work/retire.err")"; fi
[ ! -e "$d/manifests/$old" ] && [ -e "$d/epochs/6/retired/$old" ] && ok ||
    fail "retire: not moved into the set: $(ls "$d/manifests" "$d/epochs/6/retired" 2>&1)"
[ "$(ls "$d/epochs" | wc -l)" -le 4 ] && ok || fail "retire: old sets not removed: $(ls "$d/epochs")"
"$plan" check -d "$d" >/dev/null 2>"$work/retire.err"
grep -q "$old" "$work/retire.err" && fail "check names a retired version: $(cat "$work/retire.err")" || ok
out=$(verify_plans -q "$d" 2>&1) && ok || fail "retire: plans do not verify: $out"

# With retire_after: 2m in the topology, the plans made 2 minutes after a
# version was retired, and not before, tell every host to remove it.
fresh tiny grace
d="$work/grace"
sed -i '1i retire_after: 2m' "$d/topology.yaml"
sed 's/^version: 1$/version: 0/' "$d/manifests/data%2Ffile-000.bin@1.yaml" > "$d/manifests/$old"
reported() {	# reported EPOCH TIME: every host reports on its plan of EPOCH
	for f in "$d"/states/*.yaml; do
		sed -i "s/^epoch: .*/epoch: $1/; s/^time: .*/time: '2026-11-25T$2Z'/" "$f"
	done
}
e=0
for t in 08:01:00 08:02:00; do
	reported $e $t
	"$plan" run -d "$d" --now 2026-11-25T${t}Z 2>/dev/null || fail "grace: run at $t"
	e=$((e + 1))
done
grep -q "^retire:" "$d"/plans/*.yaml && fail "grace: retired before the grace is over" || ok
reported $e 08:03:00
"$plan" run -d "$d" --now 2026-11-25T08:03:00Z || fail "grace: run at 08:03"
n=$(ls "$d"/plans/*.yaml | wc -l)
if [ "$(grep -l -A1 "^retire:" "$d"/plans/*.yaml | wc -l)" -eq "$n" ] &&
    grep -q "^- {name: data/file-000.bin, version: 0}$" "$d/plans/$(ls "$d/plans" | grep -v sig | head -1)"; then ok
else fail "grace: plans do not retire data/file-000.bin@0: $(cat "$d"/plans/*.yaml | grep -A2 retire)"; fi
out=$(verify_plans -q "$d" 2>&1) && ok || fail "grace: plans do not verify: $out"

# "When will it be done?"  Two runs 2 s apart, between which site r1s0's
# and r1s1's hosts report 128 MiB of data/file-000.bin each: status
# measures the throughput per file and site from the kept states, gives
# an ETA against the lower bound, each host's progress with -v, the same
# as one JSON document with --json, and as a Prometheus textfile with
# --prom (written whole, nothing else printed).
fresh wan3 eta
d="$work/eta"
for f in "$d"/states/*.yaml; do sed -i "s/^time: .*/time: '$(at 0)'/" "$f"; done
"$plan" run -d "$d" || fail "eta: first run"
until [ "$(date +%s)" -ge $(($(date -u -d "$(sed -n "s/^issued: //p" "$d/ledger.yaml")" +%s) + 2)) ]; do sleep 0.1; done
for f in "$d"/states/r1s*.yaml; do
	h=$(basename "$f" .yaml)
	printf "host: %s\nepoch: 1\ntime: '%s'\nfree: 2000000000\nfiles:\n  - {name: data/file-000.bin, version: 1, length: %d}\nfailures: []\n" \
	    "$h" "$(at 0)" $((128 * MIB)) > "$f"
done
"$plan" run -d "$d" || fail "eta: second run"
"$plan" status -v -d "$d" > "$work/eta.status" 2>&1 || fail "eta: status: $(cat "$work/eta.status")"
if grep -q "^data/file-000.bin@1: 256.0 MiB published, [0-9.]*[GM]bit$" "$work/eta.status" &&
    grep -q "^  r1s0 .* 0/5 hosts complete,  50.0%, [0-9.]*[GM]bit$" "$work/eta.status" &&
    grep -q "^  r0s1 .* 0/5 hosts complete,   0.0%, 0bit$" "$work/eta.status" &&
    grep -q "^progress: 8.9% of 22.5 GiB, 3 of 90 host files complete$" "$work/eta.status" &&
    grep -q "^throughput: [0-9.]*[GM]bit over the last [0-9]*s; ETA [0-9ms]*, lower bound [0-9ms]* ([0-9.]*x)$" "$work/eta.status" &&
    grep -q "^  r1s0h2 *r1s0 *0/3 files,  16.7%, 128.0 MiB of 768.0 MiB, 1.9 GiB free$" "$work/eta.status"; then ok
else fail "eta: status: $(cat "$work/eta.status")"; fi
"$plan" status --json -d "$d" > "$work/eta.json" || fail "eta: status --json"
python3 - "$work/eta.json" <<'EOP' && ok || fail "eta: --json: $(head -40 "$work/eta.json")"
import json, sys
j = json.load(open(sys.argv[1]))
f = j["files"][0]
site = {s["site"]: s for s in f["sites"]}
assert j["epoch"] == 2 and j["complete"] is False, j
assert f["name"] == "data/file-000.bin" and f["published_bytes"] == 256 << 20
assert site["r1s0"]["percent"] == 50.0 and site["r1s0"]["bytes_per_second"] > 0
assert site["r0s1"]["bytes_per_second"] == 0
assert j["eta_seconds"] > 0 and j["bound_seconds"] > 0 and j["window_seconds"] >= 2
h = {x["host"]: x for x in j["hosts"]}
assert h["r1s0h2"]["free_bytes"] == 2000000000 and h["r0s0h1"]["free_bytes"] is None
assert j["warnings"] == [] and j["stalled"] == [] and j["failed_components"] == []
EOP
mkdir -p "$work/textfile"
out=$("$plan" status --prom "$work/textfile/sluice.prom" -d "$d" 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ] && [ "$(ls -A "$work/textfile")" = sluice.prom ] &&
    grep -q '^sluice_site_held_bytes{file="data/file-000.bin",version="1",site="r1s0"} 671088640$' "$work/textfile/sluice.prom" &&
    grep -q '^sluice_eta_seconds [0-9.e+]*$' "$work/textfile/sluice.prom" &&
    grep -q '^sluice_host_free_bytes{host="r1s1h4"} 2000000000$' "$work/textfile/sluice.prom" &&
    grep -q '^sluice_complete 0$' "$work/textfile/sluice.prom" &&
    ! grep -qv '^\(# \(HELP\|TYPE\) \|sluice_[a-z_]*\({[^}]*}\)* [0-9.e+-]*$\)' "$work/textfile/sluice.prom"; then ok
else fail "eta: --prom: exit $rc: $out: $(ls -A "$work/textfile"; cat "$work/textfile/sluice.prom")"; fi
"$plan" status --prom "$work/nodir/sluice.prom" -d "$d" 2>"$work/prom.err"
rc=$?
[ $rc -eq 73 ] && grep -q "nodir/sluice.prom" "$work/prom.err" && ok || fail "--prom into no directory: exit $rc: $(cat "$work/prom.err")"
# A kept set whose states/ is gone says nothing of what was held then:
# the throughput is measured from the oldest set that kept them (here
# the second, planned from what the hosts hold now: nothing since), not
# from nothing at the first set's time.
rm -r "$d/epochs/1/states"
"$plan" status --json -d "$d" > "$work/eta2.json" || fail "eta without a set's states: status --json"
python3 - "$work/eta2.json" <<'EOP' && ok || fail "eta without a set's states: $(head -40 "$work/eta2.json")"
import json, sys
j = json.load(open(sys.argv[1]))
site = {s["site"]: s for s in j["files"][0]["sites"]}
assert site["r1s0"]["percent"] == 50.0, site["r1s0"]
assert not (site["r1s0"]["bytes_per_second"] or 0) > 0, site["r1s0"]
EOP
# The history as a chart: four runs a minute apart (times given with
# --now), the hosts reporting more before each (their uploads dated with
# touch): host number i (in name order) holds (k * (i % 5 + 2) * 24) MiB
# of each file after k minutes, at most all, so that after four all but
# the six with i % 5 = 0 are complete.  status --svg draws, from the
# three sets kept and the states in place, the bytes held rising at four
# points, 23 of the 29 destinations complete, the plans' busiest
# resource, the bound ahead and the ETA; tests/chart.py looks at it
# rendered; nothing is printed, and no directory to write in is exit 73.
fresh wan3 history
d="$work/history"
report() {	# report K: every host's state after K minutes
	i=0
	for f in "$d"/states/*.yaml; do
		h=$(basename "$f" .yaml)
		i=$((i + 1))
		if [ "$h" != r0s0h0 ]; then
			l=$(($1 * (i % 5 + 2) * 24 * MIB))
			[ $l -gt $((256 * MIB)) ] && l=$((256 * MIB))
			{ printf "host: %s\nepoch: %d\ntime: '2026-11-25T08:0%d:50Z'\nfiles:\n" "$h" "$1" "$1"
			  for j in 0 1 2; do printf "  - {name: data/file-00%d.bin, version: 1, length: %d}\n" $j $l; done
			  printf "failures: []\n"; } > "$f"
		fi
		touch -d "2026-11-25T08:0$1:55Z" "$f"
	done
}
for k in 1 2 3 4; do
	"$plan" run -d "$d" --now "2026-11-25T08:0$k:00Z" || fail "history: run $k"
	report $k
done
out=$("$plan" status -d "$d" --svg "$work/history.svg" 2>&1)
rc=$?
[ $rc -eq 0 ] && [ -z "$out" ] && ok || fail "history: status --svg: exit $rc: $out"
python3 - "$work/history.svg" <<'EOP' && ok || fail "history: $(grep 'series-\|held' "$work/history.svg")"
import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
lines = [e for e in r.iter() if e.tag.endswith("polyline") and e.get("class") == "series-0"]
text = ["".join(e.itertext()) for e in r.iter() if e.tag.endswith("text")]
held = [float(p.split(",")[1]) for p in lines[0].get("points").split()]
assert len(held) == 4 and all(a > b for a, b in zip(held, held[1:])), held
assert any(t.endswith("; 23 of 29 hosts complete") for t in text), text
assert any(t.startswith("bound: 1.61s after the last states") for t in text), text
assert any(t.startswith("at the throughput measured: ETA ") for t in text), text
assert any(t.startswith("seconds since 2026-11-25 08:02:00 UTC (epoch 2") for t in text), text
EOP
look_at_chart "$work/history.svg" --name "held across the fleet" --series 1 --min-points 4
case $? in 0) ok ;; 1) fail "history: the chart: $chart_wrong" ;; esac
"$plan" status -d "$d" --svg "$work/nodir/history.svg" 2>"$work/svg.err"
rc=$?
[ $rc -eq 73 ] && grep -q "nodir/history.svg" "$work/svg.err" && ok || fail "--svg into no directory: exit $rc: $(cat "$work/svg.err")"
# Everything delivered: status says so, and no plan's resources are
# called busy.
fresh wan3 done
d="$work/done"
"$plan" run -d "$d" --now $T0 || fail "done: run"
for f in "$d"/states/*.yaml; do
	h=$(basename "$f" .yaml)
	printf "host: %s\nepoch: 1\ntime: '2026-11-25T08:01:50Z'\nfiles:\n" "$h" > "$f"
	for i in 0 1 2; do printf "  - {name: data/file-00%d.bin, version: 1, length: %d}\n" $i $((256 * MIB)) >> "$f"; done
done
"$plan" status -d "$d" > "$work/done.status" 2>&1
grep -q "^busiest resources: none in use (complete)$" "$work/done.status" &&
    grep -q "^complete: 90 of 90 host files, 22.5 GiB$" "$work/done.status" && ok ||
    fail "done: status: $(cat "$work/done.status")"

echo "operator: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
