#!/bin/sh
# cli.sh: sluice-plan as an operator runs it: summaries for the sample
# cases (tests/lib/cases.sh), one exact FILE:LINE:COLUMN error and exit 65 for every broken
# input under tests/data, exit codes for missing files and bad usage.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
plan="${SLUICE_BIN:-$top/planner}/sluice-plan"
agent="${SLUICE_BIN:-$top/agent}/sluice-agent"
. "$top/tests/lib/cases.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }

# expect_error FILE CODE COMMAND...: the command exits CODE and its first
# line of standard error is FILE:EXPECT, EXPECT read from FILE's first line.
expect_error() {
	file=$1 code=$2
	shift 2
	want="$file:$(sed -n '1s/^# expect: //p' "$file")"
	"$@" >"$work/out" 2>"$work/err"
	rc=$?
	got=$(head -n 1 "$work/err")
	if [ "$rc" -ne "$code" ]; then
		fail "$file: exit $rc, want $code ($got)"
	elif [ "$got" != "$want" ]; then
		fail "$file: got '$got', want '$want'"
	elif [ -s "$work/out" ]; then
		fail "$file: printed a summary on error"
	else
		ok
	fi
}

for name in $CASES; do
	c=$(case_dir "$name")
	if out=$("$plan" check -d "$c" 2>&1) &&
	    printf '%s\n' "$out" | grep -q '^hosts: [1-9]' &&
	    printf '%s\n' "$out" | grep -q '^states: '; then
		ok
	else
		fail "check -d $name: $out"
	fi
	if out=$("$plan" check -t "$c/topology.yaml" -f "$c/fileset.yaml" 2>&1) &&
	    printf '%s\n' "$out" | grep -q '^files: [1-9]'; then
		ok
	else
		fail "check -t -f $name: $out"
	fi
done

# The wan3 summary, worked out from its files: 6 sites, 30 hosts, 6 links,
# 60 host + 12 site + 12 link resources, 3 files of 256 MiB to 29 hosts.
out=$("$plan" check -d "$(case_dir wan3)" 2>"$work/err")
want="sites: 6 in 3 partitions
hosts: 30
links: 6
resources: 84, 84 with a capacity
files: 3
bytes to deliver: 23353884672 (21.8 GiB)
manifests: 3 of 3
states: 30 of 30 hosts
keys: 0 of 30 hosts pinned
layout: unsigned: plans, states and manifests are taken unsigned
check: ok: 0 warnings"
if [ "$out" = "$want" ]; then ok; else fail "wan3 summary: $out"; fi
# No key pinned: each such host named, ten at most.
if [ "$(grep -c 'has no key: its states and manifests are taken unsigned' "$work/err")" -eq 10 ] &&
    grep -q "and 20 more hosts without a key" "$work/err"; then ok
else fail "unsigned hosts: $(cat "$work/err")"; fi

cd "$top"
# The examples an operator starts from are valid.
if "$plan" check -t examples/two-continents.yaml -f examples/two-continents-fileset.yaml >/dev/null &&
    "$plan" check -t examples/two-continents.yaml >/dev/null; then ok; else fail "examples do not check"; fi
for f in tests/data/broken/*.yaml; do
	expect_error "$f" 65 "$plan" check -t "$f"
done
for f in tests/data/broken-fileset/*.yaml; do
	expect_error "$f" 65 "$plan" check -t "$(case_dir tiny)/topology.yaml" -f "$f"
done

# A broken state in a master directory: reported with its position, exit 65.
cp -r "$(case_dir tiny)" "$work/m"
chmod -R u+w "$work/m"
printf 'host: r0s0h1\nepoch: [\n' > "$work/m/states/r0s0h1.yaml"
"$plan" check -d "$work/m" >/dev/null 2>"$work/err"
rc=$?
if [ $rc -eq 65 ] && grep -q "^$work/m/states/r0s0h1.yaml:3:1: " "$work/err"; then
	ok
else
	fail "broken state: exit $rc: $(cat "$work/err")"
fi
# A state that reports for another host.
cp "$(case_dir tiny)/states/r0s0h2.yaml" "$work/m/states/r0s0h1.yaml"
"$plan" check -d "$work/m" >/dev/null 2>"$work/err"
rc=$?
if [ $rc -eq 65 ] && grep -q "reports for host 'r0s0h2'" "$work/err"; then ok
else fail "misnamed state: exit $rc: $(cat "$work/err")"; fi

# Missing input: 66.  Bad usage: 64.
"$plan" check -t "$work/none.yaml" >/dev/null 2>&1
rc=$?
if [ $rc -eq 66 ]; then ok; else fail "missing topology: exit $rc"; fi
"$plan" check -d "$work/nowhere" >/dev/null 2>&1
rc=$?
if [ $rc -eq 66 ]; then ok; else fail "missing directory: exit $rc"; fi
"$plan" check >/dev/null 2>&1
rc=$?
if [ $rc -eq 64 ]; then ok; else fail "no arguments: exit $rc"; fi
"$plan" frobnicate >/dev/null 2>&1
rc=$?
if [ $rc -eq 64 ]; then ok; else fail "unknown command: exit $rc"; fi
"$plan" check -d x -t y >/dev/null 2>&1
rc=$?
if [ $rc -eq 64 ]; then ok; else fail "both -d and -t: exit $rc"; fi

# What nothing would read is named: a state of a host the topology does
# not have, a manifest of a file the file set does not name, a missing
# states/ or manifests/.
rm -rf "$work/stray" && cp -r "$(case_dir tiny)" "$work/stray" && chmod -R u+w "$work/stray"
cp "$work/stray/states/r0s0h1.yaml" "$work/stray/states/ghost.yaml"
cp "$work/stray/manifests/data%2Ffile-000.bin@1.yaml" "$work/stray/manifests/data%2Ffile-00O.bin@1.yaml"
"$plan" check -d "$work/stray" >/dev/null 2>"$work/err"
rc=$?
if [ $rc -eq 65 ] && grep -q "states/ghost.yaml: no host of that name in the topology" "$work/err" &&
    grep -q "file-00O.bin@1.yaml: no file version of that name in the file set" "$work/err"; then ok
else fail "stray files: exit $rc: $(cat "$work/err")"; fi
"$plan" run -d "$work/stray" --now 2026-11-25T08:01:00Z 2>"$work/err"
rc=$?
if [ $rc -eq 0 ] && grep -q "ghost.yaml" "$work/err"; then ok; else fail "run with stray files: exit $rc: $(cat "$work/err")"; fi
rm -rf "$work/stray/states"
"$plan" check -d "$work/stray" >/dev/null 2>"$work/err"
rc=$?
if [ $rc -eq 65 ] && grep -q "stray/states: No such file or directory: agents report there, create it" "$work/err"; then ok
else fail "missing states/: exit $rc: $(cat "$work/err")"; fi

# A signed layout (a host's key pinned) whose master key is missing: run
# writes no plans (they would be refused by every agent that pins
# master_key), exit 66, naming the key and how to make it; check says
# which layout the master is in and counts the plans in place that lack
# a signature.  keygen makes the key's missing directory, mode 0700.
rm -rf "$work/signed" && cp -r "$(case_dir tiny)" "$work/signed" && chmod -R u+w "$work/signed"
"$plan" run -d "$work/signed" --now 2026-11-25T08:01:00Z || fail "signed layout: first run"
"$plan" keygen -k "$work/keys/sub/master.key" >/dev/null &&
    [ "$(stat -c %a "$work/keys" "$work/keys/sub" | tr '\n' ' ')" = "700 700 " ] &&
    ok || fail "keygen into a missing directory: $(ls -ld "$work/keys" "$work/keys/sub" 2>&1)"
hline=$("$plan" keygen -k "$work/r0s0h3.key")
rm "$work/signed/states/r0s0h3.yaml"
sed -i "s|^  - name: r0s0h3\$|  - name: r0s0h3\n    key: '$hline'|" "$work/signed/topology.yaml"
out=$("$plan" check -d "$work/signed" 2>"$work/err")
if printf '%s\n' "$out" | grep -qx "layout: signed: plans are signed with the master key, states and manifests checked with the hosts' keys" &&
    grep -qx "sluice-plan: warning: 4 of 4 plans in $work/signed/plans have no signature: agents that pin master_key refuse them (make the master key with sluice-plan keygen)" "$work/err"; then ok
else fail "check of a signed layout with unsigned plans: $out $(cat "$work/err")"; fi
if [ -e /etc/sluice/master.key ]; then
	echo "cli: /etc/sluice/master.key exists here: a run without the master key not tested" >&2
else
	"$plan" run -d "$work/signed" --now 2026-11-25T08:02:00Z 2>"$work/err"
	rc=$?
	if [ $rc -eq 66 ] && grep -qx "sluice-plan: /etc/sluice/master.key: no such file, and 1 of 4 hosts' keys are pinned: plans must be signed (nothing written); make the master key with sluice-plan keygen, or name it with -k" "$work/err" &&
	    [ "$(readlink "$work/signed/current")" = epochs/1 ]; then ok
	else fail "signed layout without the master key: exit $rc: $(cat "$work/err")"; fi
fi
mkdir -p "$work/keys/sub" &&
    { [ -e "$work/keys/sub/master.key" ] || "$plan" keygen -k "$work/keys/sub/master.key" >/dev/null; } &&
    "$plan" run -d "$work/signed" -k "$work/keys/sub/master.key" --now 2026-11-25T08:02:00Z &&
    "$plan" check -d "$work/signed" >/dev/null 2>"$work/err" && ! grep -q signature "$work/err" && ok ||
    fail "signed layout with the master key: $(cat "$work/err")"

# The layout sluice(7) requires, warned of by check (still exit 0): the
# planner and the agents one user (states/ and manifests/ writable by the
# owner of epochs/ alone); what the planner writes writable by others; as
# root, owned by another user than the master directory's.  With states/
# and manifests/ writable by others than the planner (here everyone, as
# an agents' group would) and the rest the planner's alone, not a word.
rm -rf "$work/own" && cp -r "$(case_dir tiny)" "$work/own" && chmod -R u+w,go-w "$work/own"
"$plan" run -d "$work/own" --now 2026-11-25T08:01:00Z || fail "layout warnings: run"
me=$(id -un)
"$plan" check -d "$work/own" >/dev/null 2>"$work/err"
rc=$?
if [ $rc -eq 0 ] && grep -qx "sluice-plan: warning: $work/own/states is writable by $me alone, who owns $work/own/epochs too: the agents and the planner are one user, and any host can rewrite the ledger and plans; give the planner a user of its own (sluice(7))" "$work/err" &&
    grep -q "^sluice-plan: warning: $work/own/manifests is writable by $me alone, who owns" "$work/err"; then ok
else fail "check of a one-user master: exit $rc: $(cat "$work/err")"; fi
chmod g+w "$work/own/epochs"
chmod o+w "$work/own/current/ledger.yaml"
"$plan" check -d "$work/own" >/dev/null 2>"$work/err"
rc=$?
if [ $rc -eq 0 ] && grep -qx "sluice-plan: warning: $work/own/epochs is writable by its group: only the planner's user may write it" "$work/err" &&
    grep -qx "sluice-plan: warning: $work/own/ledger.yaml is writable by others: only the planner's user may write it" "$work/err"; then ok
else fail "check of a master others may write: exit $rc: $(cat "$work/err")"; fi
chmod go-w "$work/own/epochs" "$work/own/current/ledger.yaml"
chmod 1777 "$work/own/states" "$work/own/manifests"
"$plan" check -d "$work/own" >/dev/null 2>"$work/err"
rc=$?
if [ $rc -eq 0 ] && ! grep -q "writable by\|owned by" "$work/err"; then ok
else fail "check of a master laid out as required: exit $rc: $(cat "$work/err")"; fi
if [ "$(id -u)" = 0 ]; then
	chown 4242 "$work/own/current"
	"$plan" check -d "$work/own" >/dev/null 2>"$work/err"
	rc=$?
	if [ $rc -eq 0 ] && grep -q "^sluice-plan: warning: $work/own/current is owned by [^ ]* *[^ ]*, not by root, who owns the master directory: the planner's user should own it\$" "$work/err"; then ok
	else fail "check of a set owned by another user: exit $rc: $(cat "$work/err")"; fi
fi

# The README's example master directory: check accepts it, simulate
# completes it.
cd "$top"
if "$plan" check -d examples/wan3 >/dev/null 2>&1 &&
    out=$("$plan" simulate -t examples/wan3/topology.yaml -f examples/wan3/fileset.yaml --method lp,swarm 2>&1) &&
    [ "$(printf '%s\n' "$out" | grep -c 'makespan=')" -eq 2 ]; then ok
else fail "examples/wan3: $out"; fi

# simulate of a topology that is not there: said, exit 66 (it once
# freed what it never loaded, and died of a segmentation fault).
"$plan" simulate -t "$work/none/topology.yaml" -f "$work/none/fileset.yaml" \
    >/dev/null 2>"$work/err"
rc=$?
if [ $rc -eq 66 ] && grep -q "none/topology.yaml" "$work/err"; then ok
else fail "simulate of a missing topology: exit $rc: $(cat "$work/err")"; fi

# --help: the usage on standard output, exit 0; --version: one line.
for p in "$plan" "$agent"; do
	name=$(basename "$p")
	out=$("$p" --help 2>/dev/null)
	rc=$?
	case "$out" in
	"usage: $name "*) [ $rc -eq 0 ] && ok || fail "$name --help: exit $rc" ;;
	*) fail "$name --help: '$out'" ;;
	esac
	out=$("$p" --version 2>&1)
	case "$out" in
	"$name "[0-9]*.[0-9]*.[0-9]*) ok ;;
	*) fail "$name --version: '$out'" ;;
	esac
	"$p" 2>/dev/null
	[ $? -eq 64 ] && ok || fail "$name without arguments: not 64"
done

# CMD --help (or -h, anywhere among its words): that command's usage
# alone, on standard output, exit 0, nothing on standard error; an
# unknown command with --help is still a usage error.
help_of() {	# help_of PROGRAM CMD ARGS...
	hp=$1
	hc=$2
	shift 2
	out=$("$hp" "$hc" "$@" 2>"$work/help.err")
	rc=$?
	first=$(printf '%s\n' "$out" | head -1)
	others=$(printf '%s\n' "$out" | grep -c "$(basename "$hp") " || true)
	case "$first" in
	"usage: $(basename "$hp") $hc "*)
		[ $rc -eq 0 ] && [ ! -s "$work/help.err" ] && [ "$others" -eq 1 ] && ok ||
		    fail "$(basename "$hp") $hc $*: exit $rc, $others usage lines, '$(cat "$work/help.err")'" ;;
	*) fail "$(basename "$hp") $hc $*: '$out'" ;;
	esac
}
for c in check run verify status bound simulate dot forgive keygen; do
	help_of "$plan" $c --help
done
help_of "$plan" run -d /nonexistent -h
for c in sync run state publish keygen; do
	help_of "$agent" $c --help
done
help_of "$agent" sync -c /nonexistent -v -h
"$plan" frob --help >/dev/null 2>&1
[ $? -eq 64 ] && ok || fail "sluice-plan frob --help: not 64"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
