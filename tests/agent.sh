#!/bin/sh
# agent.sh: sluice-agent against a real OpenSSH server started here on a
# free loopback port with its own keys, config and known_hosts.  Publish
# and fetch; two sources into one file; a corrupt source; kill -9 and
# resume; an unknown host key; a rate held; hostile plans; relays, a
# relay's fallback and what a relay sheds; sync with a master directory
# served by the same sshd.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
agent="${SLUICE_BIN:-$top/agent}/sluice-agent"
plan="${SLUICE_BIN:-$top/planner}/sluice-plan"
mkplan="$top/tests/tools/make-plan"
. "$top/tests/lib/sshd.sh"
. "$top/tests/lib/cases.sh"
. "$top/tests/lib/corrupt.sh"
independent_note agent
W=$(mktemp -d)
trap 'sshd_stop; SSHD_DIR=$W/sshd2 sshd_stop; SSHD_DIR=$W/sshd3 sshd_stop; rm -rf "$W"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
# until_true COMMAND...: waits for COMMAND to succeed, polling every
# 50 ms, 60 s at most; returns 1 if it never does.
until_true() {
	ut=0
	while ! "$@"; do
		ut=$((ut + 1))
		[ $ut -ge 1200 ] && return 1
		sleep 0.05
	done
}

if ! sshd_start "$W/sshd" >"$W/sshd.out" 2>&1; then
	echo "agent: cannot start a private sshd: $(cat "$W/sshd.out")"
	echo "agent: 0 passed, 1 failed"
	exit 1
fi
P=$SSHD_PORT
MIB=1048576
SIZE=$((24 * MIB))

conf() {	# conf HOST [KNOWN_HOSTS]
	mkdir -p "$W/roots/$1"
	cat > "$W/$1.yaml" <<EOC
host: $1
root: $W/roots/$1
master: {address: 127.0.0.1, port: $P, dir: $W/master}
identity: $SSHD_KEY
known_hosts: ${2:-$SSHD_KNOWN_HOSTS}
parallel: 4
timeout: 10s
wait: 0s
EOC
}
src() { echo "$1,127.0.0.1,$P,$W/roots/$1"; }
len_of() { sed -n 's/^length //p' "$W/roots/$1/.sluice/data%2Ff.bin@1.len" 2>/dev/null || echo 0; }
# holds HOST: HOST's copy of the file holds something durable.
holds() { [ "$(len_of "$1")" -gt 0 ] 2>/dev/null; }

for h in g p d e c k u r h m a b; do conf $h; done
mkdir -p "$W/roots/a/.sluice"
head -c $SIZE /dev/urandom > "$W/f.bin"

# Publish: the file is stored, exposed and described block by block.
if "$agent" publish -c "$W/g.yaml" "$W/f.bin" data/f.bin 1 --block-size 1MiB; then ok; else fail "publish"; fi
M="$W/roots/g/.sluice/data%2Ff.bin@1.manifest.yaml"
cmp -s "$W/f.bin" "$W/roots/g/data/f.bin" && ok || fail "publish: exposed copy differs"
[ "$(grep -c '^- ' "$M")" -eq 24 ] && grep -q '^final: true' "$M" && ok || fail "publish: manifest"
python3 - "$W/f.bin" "$M" <<'EOP' && ok || fail "publish: checksums are not the file's"
import hashlib, sys, yaml
data, m = open(sys.argv[1], "rb").read(), yaml.safe_load(open(sys.argv[2]))
bs = m["block_size"]
want = [hashlib.sha256(data[i:i + bs]).hexdigest() for i in range(0, len(data), bs)]
sys.exit(0 if want == m["blocks"] and m["length"] == len(data) else 1)
EOP
"$agent" state -c "$W/g.yaml" | grep -q "length: $SIZE" && ok || fail "publish: state"

# What publish adds continues what it published.  A growing file
# rewritten (its first 3 MiB kept) is refused, naming the first block
# that differs, and nothing of it is published: never the old blocks
# with a new tail.  Appended to, it is extended.  New content under a
# version published whole, at the same size, is refused too; the same
# content published again is nothing to do.
conf pub
head -c $((8 * MIB)) /dev/urandom > "$W/grow.bin"
"$agent" publish -c "$W/pub.yaml" "$W/grow.bin" grow.bin 1 --block-size 1MiB --growing || fail "publish --growing"
GM="$W/roots/pub/.sluice/grow.bin@1.manifest.yaml"
cp "$GM" "$W/grow.manifest"
{ head -c $((3 * MIB)) "$W/grow.bin"; head -c $((13 * MIB)) /dev/urandom; } > "$W/regrow.bin"
for g in --growing ""; do
	"$agent" publish -c "$W/pub.yaml" "$W/regrow.bin" grow.bin 1 --block-size 1MiB $g 2>"$W/pub.err"
	rc=$?
	if [ $rc -eq 65 ] && grep -qx "sluice-agent: $W/regrow.bin: block 3, at byte 3145728, is not what grow.bin@1 published: the file was rewritten; publish its new content as a new version" "$W/pub.err" &&
	    cmp -s "$GM" "$W/grow.manifest"; then ok
	else fail "a rewritten growing file published ${g:-whole}: exit $rc: $(cat "$W/pub.err")"; fi
done
head -c $((8 * MIB)) /dev/urandom >> "$W/grow.bin"
"$agent" publish -c "$W/pub.yaml" "$W/grow.bin" grow.bin 1 --block-size 1MiB --growing &&
    grep -q "^length: $((16 * MIB))" "$GM" && ok || fail "a growing file appended to: $(cat "$GM" | head -5)"
cp "$W/f.bin" "$W/f-new.bin"
corrupt_byte "$W/f-new.bin" $((5 * MIB + 9))
"$agent" publish -c "$W/g.yaml" "$W/f-new.bin" data/f.bin 1 --block-size 1MiB 2>"$W/pub.err"
rc=$?
if [ $rc -eq 65 ] && grep -q "f-new.bin: block 5, at byte 5242880, is not what data/f.bin@1 published: .*publish its new content as a new version" "$W/pub.err" &&
    cmp -s "$W/f.bin" "$W/roots/g/data/f.bin"; then ok
else fail "new content under a version published whole: exit $rc: $(cat "$W/pub.err")"; fi
out=$("$agent" publish -v -c "$W/g.yaml" "$W/f.bin" data/f.bin 1 --block-size 1MiB 2>&1)
rc=$?
[ $rc -eq 0 ] && [ "$out" = "data/f.bin@1: already published whole, unchanged" ] && ok ||
    fail "the same version published again: exit $rc: $out"

# Fetch from one root to another.
"$mkplan" "$M" d --op "$(src g),0,$SIZE,200000000" > "$W/d.plan"
if "$agent" run -c "$W/d.yaml" "$W/d.plan"; then ok; else fail "fetch: exit $?"; fi
cmp -s "$W/f.bin" "$W/roots/d/data/f.bin" && ok || fail "fetch: bytes differ"

# Retiring: a plan's retire: removes that version, its file in place,
# data and length, and nothing else: not a file of that name that is not
# the version's (an operator's own copy), not another file.  A plan that
# both holds and retires a version is refused.
conf x
"$mkplan" "$M" x --op "$(src g),0,$SIZE,200000000" > "$W/x.plan"
"$agent" run -c "$W/x.yaml" "$W/x.plan" || fail "retire: fetch"
echo mine > "$W/roots/x/data/other.bin"
"$mkplan" "$M" x --epoch 2 --name data/other.bin > "$W/x2.plan"
printf 'retire:\n- {name: data/f.bin, version: 1}\n- {name: data/other.bin, version: 3}\n' >> "$W/x2.plan"
"$agent" run -v -c "$W/x.yaml" "$W/x2.plan" > "$W/x2.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ ! -e "$W/roots/x/data/f.bin" ] && [ ! -e "$W/roots/x/.sluice/data%2Ff.bin@1.data" ] &&
    [ ! -e "$W/roots/x/.sluice/data%2Ff.bin@1.len" ] && [ "$(cat "$W/roots/x/data/other.bin")" = mine ] &&
    grep -q "^data/f.bin@1: retired, removed$" "$W/x2.out" &&
    ! "$agent" state -c "$W/x.yaml" | grep -q "data/f.bin"; then ok
else fail "retire: exit $rc: $(cat "$W/x2.out"; ls -R "$W/roots/x")"; fi
"$mkplan" "$M" x --epoch 3 > "$W/x3.plan"
printf 'retire:\n- {name: data/f.bin, version: 1}\n' >> "$W/x3.plan"
"$agent" run -c "$W/x.yaml" "$W/x3.plan" 2>"$W/x3.err"
rc=$?
[ $rc -eq 65 ] && grep -q "retire: data/f.bin@1 is in the fileset too" "$W/x3.err" && ok ||
    fail "retire of a version held: exit $rc: $(cat "$W/x3.err")"

# A source whose sshd turns connections away for a moment (restarting,
# or at MaxStartups): the connection is tried again and the op completes.
conf k2
"$mkplan" "$M" k2 --op "$(src g),0,$SIZE,200000000" > "$W/k2.plan"
sshd_stop
( sleep 1; sshd_start_again ) &
k2t=$(date +%s.%N)
"$agent" run -c "$W/k2.yaml" "$W/k2.plan" 2>"$W/k2.err"
rc=$?
wait
if [ $rc -eq 0 ] && cmp -s "$W/f.bin" "$W/roots/k2/data/f.bin"; then ok
else fail "a source refusing for a moment: exit $rc: $(cat "$W/k2.err")"; fi
# Its start counts the wait for the session (the sshd came back a second
# later), up to half a second: its op moved nothing before, and the
# planner sizes the round after the latest start.  Without it, the start
# is when the run began after the plan's issue (a whole second).
k2start=$(cat "$W/roots/k2/.sluice/start" 2>/dev/null)
k2issued=$(sed -n "s/^issued: '*\([^']*\)'*$/\1/p" "$W/k2.plan")
k2issued=$(date -d "$k2issued" +%s)
awk "BEGIN {exit !(\"$k2start\" + 0 - ($k2t - $k2issued) >= 0.4)}" && ok ||
    fail "a start that waited for its source's session: '$k2start'," \
	"run at $k2t, issued $k2issued"

# Two sources in parallel into one file: p holds the first 8 MiB.
"$mkplan" "$M" p --op "$(src g),0,$((8 * MIB)),200000000" > "$W/p.plan"
"$agent" run -c "$W/p.yaml" "$W/p.plan" || fail "prefix for p"
[ "$(len_of p)" -eq $((8 * MIB)) ] && ok || fail "p holds $(len_of p)"
[ ! -e "$W/roots/p/data/f.bin" ] && ok || fail "a partial file was exposed"
"$mkplan" "$M" e --op "$(src p),0,$((8 * MIB)),20000000" \
    --op "$(src g),$((8 * MIB)),$((16 * MIB)),40000000" > "$W/e.plan"
"$agent" run -c "$W/e.yaml" -v "$W/e.plan" > "$W/e.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "from p in" "$W/e.out" && grep -q "from g in" "$W/e.out" &&
    cmp -s "$W/f.bin" "$W/roots/e/data/f.bin"; then ok; else fail "two sources: exit $rc: $(cat "$W/e.out")"; fi

# A source that serves a corrupt block 3: blocks 0-2 are kept, block 3 is
# refused, the failure blames the source alone.
cp -r "$W/roots/g" "$W/roots/bad"
corrupt_byte "$W/roots/bad/.sluice/data%2Ff.bin@1.data" $((3 * MIB + 77))
"$mkplan" "$M" c --op "$(src bad),0,$SIZE,200000000" > "$W/c.plan"
"$agent" run -c "$W/c.yaml" "$W/c.plan" 2>"$W/c.err"
rc=$?
[ $rc -eq 75 ] && ok || fail "corrupt source: exit $rc"
[ "$(len_of c)" -eq $((3 * MIB)) ] && ok || fail "corrupt source: length $(len_of c)"
[ ! -e "$W/roots/c/data/f.bin" ] && ok || fail "corrupt source: file exposed"
"$agent" state -c "$W/c.yaml" > "$W/c.state"
if grep -q 'error: checksum' "$W/c.state" && grep -q "components: \['host:bad'\]" "$W/c.state" &&
    grep -q 'block 3: sha256 mismatch' "$W/c.state"; then ok; else fail "corrupt source: $(cat "$W/c.state")"; fi

# kill -9 in the middle, then the same range again: it resumes from the
# durable length, fetches no verified byte again, and ends identical.
# What the kill throws away (received, not yet durable) is at most one
# block or one second of the op's rate: the data file holds what was
# received and written, and at most a tenth of a second more of the rate
# was in flight (asked ahead, or in the hand-off ring).
for k_rate in 6000000 16000000; do
	rm -rf "$W/roots/k/.sluice" "$W/roots/k/data"
	"$mkplan" "$M" k --op "$(src g),0,$SIZE,$k_rate" > "$W/k.plan"
	"$agent" run -c "$W/k.yaml" "$W/k.plan" & pid=$!
	# Killed once something is durable, and the rest still to come.
	until_true sh -c "kill -0 $pid 2>/dev/null || exit 0; [ \$(sed -n 's/^length //p' '$W/roots/k/.sluice/data%2Ff.bin@1.len' 2>/dev/null || echo 0) -gt 0 ]"
	kill -9 $pid
	wait $pid 2>/dev/null
	L1=$(len_of k)
	got=$(stat -c %s "$W/roots/k/.sluice/data%2Ff.bin@1.data")
	lost=$((got - L1 + k_rate / 10))
	most=$((MIB > k_rate ? MIB : k_rate))
	echo "agent: kill -9 at $k_rate B/s: $got bytes received, $L1 durable, at most $lost fetched again" >&2
	if [ "$L1" -gt 0 ] && [ "$L1" -lt $SIZE ] && [ "$lost" -le "$most" ]; then ok
	else fail "kill -9 at $k_rate B/s: durable length $L1 of $got received"; fi
done
[ ! -e "$W/roots/k/data/f.bin" ] && ok || fail "kill -9: partial file exposed"
"$mkplan" "$M" k --epoch 2 --op "$(src g),0,$SIZE,200000000" > "$W/k2.plan"
"$agent" run -c "$W/k.yaml" -v "$W/k2.plan" > "$W/k.out" 2>&1
got=$(sed -n 's/.* \([0-9]*\) bytes verified$/\1/p' "$W/k.out")
if [ "${got:-0}" -eq $((SIZE - L1)) ]; then ok; else fail "resume: verified $got, want $((SIZE - L1))"; fi
cmp -s "$W/f.bin" "$W/roots/k/data/f.bin" && ok || fail "resume: bytes differ"

# Without an identity the keys come from ssh-agent.
if command -v ssh-agent >/dev/null 2>&1; then
	eval "$(ssh-agent -s)" >/dev/null
	ssh-add -q "$SSHD_KEY" 2>/dev/null
	conf s
	sed -i '/^identity:/d' "$W/s.yaml"
	"$mkplan" "$M" s --op "$(src g),0,$((2 * MIB)),200000000" > "$W/s.plan"
	"$agent" run -c "$W/s.yaml" "$W/s.plan" 2>"$W/s.err" && [ "$(len_of s)" -eq $((2 * MIB)) ] &&
	    ok || fail "ssh-agent auth: $(cat "$W/s.err")"
	ssh-agent -k >/dev/null
	unset SSH_AUTH_SOCK
	rm -rf "$W/roots/s/.sluice"
	"$agent" run -c "$W/s.yaml" "$W/s.plan" 2>"$W/s.err"
	grep -q "auth: .*no identity configured and no ssh-agent" "$W/s.err" && ok || fail "no agent: $(cat "$W/s.err")"
fi

# A source that refuses our key: an auth failure, blamed on it alone.
ssh-keygen -q -t ed25519 -N '' -f "$W/stranger" >/dev/null
conf sk
sed -i "s|^identity: .*|identity: $W/stranger|" "$W/sk.yaml"
"$mkplan" "$M" sk --op "$(src g),0,$((2 * MIB)),200000000" > "$W/sk.plan"
"$agent" run -c "$W/sk.yaml" "$W/sk.plan" 2>"$W/sk.err"
rc=$?
"$agent" state -c "$W/sk.yaml" > "$W/sk.state"
if [ $rc -eq 75 ] && grep -q "auth: .*key $W/stranger refused" "$W/sk.err" &&
    grep -q "error: auth" "$W/sk.state" && grep -q "components: \['host:g'\]" "$W/sk.state" &&
    [ "$(len_of sk)" -eq 0 ]; then ok; else fail "refused key: exit $rc: $(cat "$W/sk.err")"; fi

# An unknown host key and a changed one are refused, naming the key.
ssh-keygen -q -t ed25519 -N '' -f "$W/other" >/dev/null
printf '[127.0.0.1]:%s %s\n' "$P" "$(cut -d' ' -f1,2 "$W/other.pub")" > "$W/changed_hosts"
: > "$W/empty_hosts"
conf u "$W/changed_hosts"
"$mkplan" "$M" u --op "$(src g),0,$SIZE,200000000" > "$W/u.plan"
"$agent" run -c "$W/u.yaml" "$W/u.plan" 2>"$W/u.err"
rc=$?
if [ $rc -eq 75 ] && grep -q "hostkey: host 127.0.0.1 port $P: host key SHA256:.* does not match" "$W/u.err"; then ok
else fail "changed host key: exit $rc: $(cat "$W/u.err")"; fi
conf u "$W/empty_hosts"
"$agent" run -c "$W/u.yaml" "$W/u.plan" 2>"$W/u.err"
grep -q "host key SHA256:.* is not known" "$W/u.err" && ok || fail "unknown host key: $(cat "$W/u.err")"
[ "$(len_of u)" -eq 0 ] && ok || fail "bytes kept without a trusted key"

# known_hosts as OpenSSH reads it: "[address]:port" for a port other than
# 22, as written, hashed, or in a list; the address alone, or another
# port, is not a match.
hk=$(cut -d' ' -f1,2 "$SSHD_DIR/host_ed25519.pub")
printf '127.0.0.1 %s\n' "$hk" > "$W/kh_noport"
printf '[127.0.0.1]:%s %s\n' $((P + 1)) "$hk" > "$W/kh_otherport"
printf '[127.0.0.1]:%s %s\n' "$P" "$hk" > "$W/kh_hashed"
ssh-keygen -q -H -f "$W/kh_hashed" >/dev/null 2>&1
printf 'example.net,[127.0.0.1]:%s %s\n' "$P" "$hk" > "$W/kh_list"
for form in noport otherport hashed list; do
	rm -rf "$W/roots/u"
	conf u "$W/kh_$form"
	"$agent" run -c "$W/u.yaml" "$W/u.plan" 2>"$W/u.err"
	rc=$?
	case $form in
	noport|otherport) [ $rc -eq 75 ] && grep -q "host key SHA256:.* is not known" "$W/u.err" ;;
	*) [ $rc -eq 0 ] && [ "$(len_of u)" -eq $SIZE ] ;;
	esac && ok || fail "known_hosts $form: exit $rc: $(cat "$W/u.err")"
done
grep -q '^|1|' "$W/kh_hashed" && ok || fail "ssh-keygen -H did not hash"

# A rate held: 24 MiB at 4 MB/s, measured over the op within 5%.
"$mkplan" "$M" r --op "$(src g),0,$SIZE,4000000" > "$W/r.plan"
"$agent" run -c "$W/r.yaml" -v "$W/r.plan" > "$W/r.out" 2>&1
measured=$(sed -n 's/.*, \([0-9]*\) B\/s (allocated 4000000).*/\1/p' "$W/r.out")
if [ -n "$measured" ] && [ "$measured" -ge 3800000 ] && [ "$measured" -le 4200000 ]; then ok
else fail "rate: measured '${measured:-none}' B/s for 4000000: $(cat "$W/r.out")"; fi
echo "agent: rate held at $measured B/s for 4000000 allocated" >&2

# On a terminal, a progress line per op: bytes, rate, time left.  Under
# cron (no terminal, no -v) nothing at all.
"$mkplan" "$M" r --epoch 2 --op "$(src g),0,$SIZE,8000000" > "$W/r2.plan"
rm -rf "$W/roots/r/.sluice" "$W/roots/r/data"
if command -v script >/dev/null 2>&1; then
	script -qec "'$agent' run -c '$W/r.yaml' '$W/r2.plan'" /dev/null > "$W/tty.out" 2>&1
	grep -q "2/r/1 .*MiB .*MB/s ETA" "$W/tty.out" && ok || fail "no progress on a terminal: $(cat "$W/tty.out")"
fi
rm -rf "$W/roots/r/.sluice" "$W/roots/r/data"
"$agent" run -c "$W/r.yaml" "$W/r2.plan" > "$W/quiet.out" 2>&1
[ ! -s "$W/quiet.out" ] && ok || fail "not silent without a terminal: $(cat "$W/quiet.out")"

# Hostile plans are refused before any byte moves.
"$mkplan" "$M" h --name ../../etc/x --op "$(src g),0,$SIZE,200000000" > "$W/h1.plan"
"$mkplan" "$M" h --size $((8 * MIB)) --op "$(src g),0,$SIZE,200000000" > "$W/h2.plan"
"$mkplan" "$M" h --blocks 2 --op "$(src g),0,$SIZE,200000000" > "$W/h3.plan"
"$mkplan" "$M" h --op "$(src g),0,$((8 * MIB)),200000000" --op "$(src g),$((4 * MIB)),$((8 * MIB)),200000000" > "$W/h4.plan"
"$mkplan" "$M" h --op "$(src g),$MIB,4097,200000000" --op "$(src g),0,$MIB,200000000" > "$W/h5.plan"
"$mkplan" "$M" h --op "$(src g),0,$((4 * MIB)),200000000" --op "$(src g),$((8 * MIB)),$((4 * MIB)),200000000" > "$W/h6.plan"
"$mkplan" "$M" h --op "$(src g),0,$MIB,0.001" > "$W/h7.plan"
"$mkplan" "$M" h --op "$(src g),0,$SIZE,1000" > "$W/h8.plan"
"$mkplan" "$M" h --expires-in 100000000 --op "$(src g),0,$SIZE,200000000" > "$W/h9.plan"
"$mkplan" "$M" h --op "$(src g),0,$SIZE,200000000" --fallback "1=$(src h),2,1000000" > "$W/h10.plan"
for n in 1 2 3 4 5 6 7 8 9 10; do
	"$agent" run -c "$W/h.yaml" "$W/h$n.plan" 2>"$W/h.err"
	rc=$?
	case $n in
	1) want="bad file name '../../etc/x'" ;;
	2) want="past the file's size" ;;
	3) want="2 checksums for" ;;
	4) want="overlap" ;;
	5) want="is not whole blocks of $MIB" ;;
	6) want="leave a gap" ;;
	7) want="rate 0.001 B/s is outside" ;;
	8) want="past the plan's life of 60s" ;;
	9) want="the plan expires 100000000s after it was issued" ;;
	10) want="op 1/h/1: its fallback copies from this host" ;;
	esac
	if [ $rc -eq 65 ] && grep -q "$want" "$W/h.err"; then ok; else fail "hostile plan $n: exit $rc: $(cat "$W/h.err")"; fi
done
# A source whose root holds no such file (a wrong root:): given the
# timeout to appear, as a relay that has not begun would be, then missing,
# the source's fault.
conf wr
sed -i 's/^timeout: .*/timeout: 2s/' "$W/wr.yaml"
"$mkplan" "$M" wr --op "g,127.0.0.1,$P,$W/roots/nowhere,0,$SIZE,200000000" > "$W/wr.plan"
"$agent" run -c "$W/wr.yaml" "$W/wr.plan" 2>"$W/wr.err"
rc=$?
if [ $rc -eq 75 ] && grep -q "missing: .*roots/nowhere/.sluice/data%2Ff.bin@1.data: no such file after [23]s" "$W/wr.err"; then ok
else fail "wrong root: exit $rc: $(cat "$W/wr.err")"; fi

# The plan check as a property: 200 plans mutated at random from valid
# ones, refused exactly when the rules call them invalid.
: > "$W/pc.known_hosts"
conf pc "$W/pc.known_hosts"
if out=$(python3 "$top/tests/plancheck.py" "$agent" "$W/pc.yaml" "$M" "$W" 200 "$P" 2>&1); then ok
else fail "plan check property: $out"; fi
echo "$out" | grep '^plancheck:' >&2

# A plan larger than an agent reads is refused whole, never cut short.
{ cat "$W/h6.plan"; printf '# '; head -c $((17 * MIB)) /dev/zero | tr '\0' 'x'; echo; } > "$W/big.plan"
"$agent" run -c "$W/h.yaml" "$W/big.plan" 2>"$W/h.err"
rc=$?
if [ $rc -eq 65 ] && grep -q "big.plan: larger than 16777216 bytes: refused" "$W/h.err"; then ok
else fail "oversized plan: exit $rc: $(cat "$W/h.err")"; fi
# FIFOs where a plan or the failures are read: refused at once, no hang.
mkfifo "$W/fifo.plan"
timeout 10 "$agent" run -c "$W/h.yaml" "$W/fifo.plan" 2>"$W/h.err"
rc=$?
if [ $rc -eq 66 ] && grep -q "fifo.plan: not a regular file" "$W/h.err"; then ok
else fail "FIFO plan: exit $rc: $(cat "$W/h.err")"; fi
mkdir -p "$W/roots/h/.sluice" && mkfifo "$W/roots/h/.sluice/failures.yaml"
timeout 10 "$agent" state -c "$W/h.yaml" >/dev/null 2>"$W/h.err"
rc=$?
if [ $rc -eq 0 ] && grep -q "failures.yaml: not a regular file (ignored)" "$W/h.err"; then ok
else fail "FIFO failures.yaml: exit $rc: $(cat "$W/h.err")"; fi
rm -f "$W/roots/h/.sluice/failures.yaml"
ls "$W/roots/h/.sluice/"*.data >/dev/null 2>&1 && fail "hostile plans stored data" || ok
[ ! -e "$W/etc" ] && ok || fail "wrote outside the root"

# A .sluice/ that others may write, or that another user owns, is not
# trusted: refused before anything is read from it.
conf ws
mkdir -p "$W/roots/ws/.sluice" && chmod 0777 "$W/roots/ws/.sluice"
"$mkplan" "$M" ws --op "$(src g),0,$SIZE,200000000" > "$W/ws.plan"
"$agent" run -c "$W/ws.yaml" "$W/ws.plan" 2>"$W/ws.err"
rc=$?
if [ $rc -ne 0 ] && grep -q "roots/ws/.sluice: mode 0777 lets others write: refused" "$W/ws.err"; then ok
else fail "writable .sluice: exit $rc: $(cat "$W/ws.err")"; fi
if [ "$(id -u)" -eq 0 ]; then
	chmod 0755 "$W/roots/ws/.sluice" && chown 65534 "$W/roots/ws/.sluice"
	"$agent" run -c "$W/ws.yaml" "$W/ws.plan" 2>"$W/ws.err"
	rc=$?
	if [ $rc -ne 0 ] && grep -q "owned by uid 65534, not this user" "$W/ws.err"; then ok
	else fail "foreign .sluice: exit $rc: $(cat "$W/ws.err")"; fi
fi
[ ! -e "$W/roots/ws/data/f.bin" ] && ok || fail "untrusted .sluice: file exposed"

# Symbolic links planted in the data root: a directory on the way out of
# the root is refused, a link at the final path is replaced, not followed.
mkdir -p "$W/outside"
echo "precious" > "$W/outside/victim"
conf y
ln -s "$W/outside" "$W/roots/y/data"
"$mkplan" "$M" y --op "$(src g),0,$SIZE,200000000" > "$W/y.plan"
"$agent" run -c "$W/y.yaml" "$W/y.plan" 2>"$W/y.err"
[ ! -e "$W/outside/f.bin" ] && ok || fail "wrote through a link out of the root"
grep -q "cannot open its directory" "$W/y.err" && ok || fail "link on the way not reported: $(cat "$W/y.err")"
conf z
mkdir -p "$W/roots/z/data"
ln -s "$W/outside/victim" "$W/roots/z/data/f.bin"
"$mkplan" "$M" z --op "$(src g),0,$SIZE,200000000" > "$W/z.plan"
"$agent" run -c "$W/z.yaml" "$W/z.plan" 2>"$W/z.err"
[ "$(cat "$W/outside/victim")" = "precious" ] && [ ! -L "$W/roots/z/data/f.bin" ] &&
    cmp -s "$W/f.bin" "$W/roots/z/data/f.bin" && ok || fail "final-path link: $(cat "$W/z.err")"

# A source whose file is shorter than promised: what it has is kept, the
# rest is a 'missing' failure blamed on it.
cp -r "$W/roots/g" "$W/roots/short"
truncate -s $((10 * MIB)) "$W/roots/short/.sluice/data%2Ff.bin@1.data"
conf q
"$mkplan" "$M" q --op "$(src short),0,$SIZE,200000000" > "$W/q.plan"
"$agent" run -c "$W/q.yaml" "$W/q.plan" 2>"$W/q.err"
rc=$?
if [ $rc -eq 75 ] && grep -q "missing: source ended at byte $((10 * MIB))" "$W/q.err" &&
    [ "$(len_of q)" -eq $((10 * MIB)) ]; then ok; else fail "short source: exit $rc: $(cat "$W/q.err")"; fi

# A peer that accepts connections and never speaks: a timeout, no hang.
sp=$(free_port)
python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $sp)); s.listen(8)
open('$W/mute.ready', 'w').close()
conns = []
end = time.time() + 30
while time.time() < end:
    s.settimeout(1)
    try: conns.append(s.accept()[0])
    except OSError: pass
" & mute=$!
until_true test -e "$W/mute.ready" || fail "silent peer: it did not listen"
conf n
sed -i 's/^timeout: .*/timeout: 3s/' "$W/n.yaml"
"$mkplan" "$M" n --op "mute,127.0.0.1,$sp,$W/roots/g,0,$SIZE,200000000" > "$W/n.plan"
t0=$(date +%s)
"$agent" run -c "$W/n.yaml" "$W/n.plan" 2>"$W/n.err"
rc=$?
t1=$(date +%s)
kill $mute 2>/dev/null
wait $mute 2>/dev/null
# The timeout is 3 s; whole seconds on the clock and a slow machine
# (AGENT_SLACK seconds more for slow runs, such as under valgrind) add some.
if [ $rc -eq 75 ] && grep -q "from mute: timeout" "$W/n.err" &&
    [ $((t1 - t0)) -le $((6 + ${AGENT_SLACK:-0})) ]; then ok
else fail "silent peer: exit $rc after $((t1 - t0))s: $(cat "$W/n.err")"; fi

# A source that stalls in the middle of a read: its sshd is stopped; the
# read times out, what was verified stays.
conf o
sed -i 's/^timeout: .*/timeout: 2s/' "$W/o.yaml"
"$mkplan" "$M" o --op "$(src g),0,$SIZE,4000000" > "$W/o.plan"
"$agent" run -c "$W/o.yaml" "$W/o.plan" 2>"$W/o.err" & runner=$!
until_true holds o
# Every process our sshd started for its connections, not sshd itself.
kids=$(ps -eo pid=,ppid= | awk -v root="$(cat "$SSHD_DIR/sshd.pid")" '
	{ parent[$1] = $2 }
	END { for (p in parent) { q = parent[p]; while (q != "" && q != root && q != 1 && q != 0) q = parent[q];
	      if (q == root) print p } }')
[ -n "$kids" ] && kill -STOP $kids
sleep 4
[ -n "$kids" ] && kill -CONT $kids
wait $runner
rc=$?
held=$(len_of o)
if [ $rc -eq 75 ] && grep -q "timeout" "$W/o.err" && [ "$held" -gt 0 ] && [ "$held" -lt $SIZE ]; then ok
else fail "stalled source: exit $rc, held $held: $(cat "$W/o.err")"; fi

# Relay: rb takes the file from g at 4 MB/s while rc takes it from rb at
# 40 MB/s, as rb verifies it.  rc never holds more than rb has made
# durable (sampled every 0.1 s), ends no sooner than rb, and ends identical.
for h in rb rc rd re rf; do conf $h; done
"$mkplan" "$M" rb --op "$(src g),0,$SIZE,4000000" > "$W/rb.plan"
"$mkplan" "$M" rc --op "$(src rb),0,$SIZE,40000000" > "$W/rc.plan"
"$agent" run -c "$W/rb.yaml" "$W/rb.plan" 2>"$W/rb.err" & rbp=$!
until_true grep -qx "epoch 1" "$W/roots/rb/.sluice/began" || fail "relay: rb did not begin"
"$agent" run -c "$W/rc.yaml" -v "$W/rc.plan" > "$W/rc.out" 2>&1 & rcp=$!
ahead=0
while kill -0 $rcp 2>/dev/null; do
	b=$(len_of rb)
	cl=$(len_of rc)
	[ "${cl:-0}" -gt "${b:-0}" ] && ahead=$((ahead + 1))
	sleep 0.1
done
wait $rbp
rb_rc=$?
wait $rcp
rc_rc=$?
if [ $rb_rc -eq 0 ] && [ $rc_rc -eq 0 ] && [ $ahead -eq 0 ] && cmp -s "$W/f.bin" "$W/roots/rc/data/f.bin"; then ok
else fail "relay: exit $rb_rc/$rc_rc, ahead of its source $ahead times: $(cat "$W/rc.out" "$W/rb.err")"; fi
took=$(sed -n 's/.* in \([0-9.]*\)s, .*/\1/p' "$W/rc.out")
awk "BEGIN {exit !(${took:-0} >= 5)}" && ok || fail "relay: done in ${took:-?}s, before its source could have it"

# kill -9 of a relay mid-round: its reader stops at what the relay made
# durable, fails without blaming anyone once the relay stops growing, and
# both resume to identical copies.
rm -rf "$W/roots/rb/.sluice" "$W/roots/rb/data"
sed -i 's/^timeout: .*/timeout: 2s/' "$W/rc.yaml" "$W/rd.yaml"
"$mkplan" "$M" rd --op "$(src rb),0,$SIZE,40000000" > "$W/rd.plan"
"$agent" run -c "$W/rb.yaml" "$W/rb.plan" 2>/dev/null & rbp=$!
until_true grep -qx "epoch 1" "$W/roots/rb/.sluice/began" || fail "killed relay: rb did not begin"
"$agent" run -c "$W/rd.yaml" "$W/rd.plan" 2>"$W/rd.err" & rdp=$!
# rb is killed once rd has taken something from it.
until_true holds rd
kill -9 $rbp
wait $rbp 2>/dev/null
wait $rdp
rc=$?
held_b=$(len_of rb)
held_d=$(len_of rd)
"$agent" state -c "$W/rd.yaml" > "$W/rd.state"
if [ $rc -eq 75 ] && [ "$held_d" -le "$held_b" ] && [ "$held_b" -lt $SIZE ] &&
    grep -q "relay source rb made no progress" "$W/rd.err" && grep -q "error: timeout" "$W/rd.state" &&
    grep -q "components: \[\]" "$W/rd.state"; then ok
else fail "killed relay: exit $rc, rd $held_d of rb's $held_b: $(cat "$W/rd.err") $(cat "$W/rd.state")"; fi
"$mkplan" "$M" rb --epoch 2 --op "$(src g),0,$SIZE,200000000" > "$W/rb2.plan"
"$mkplan" "$M" rd --epoch 2 --op "$(src rb),0,$SIZE,200000000" > "$W/rd2.plan"
"$agent" run -c "$W/rb.yaml" "$W/rb2.plan" && "$agent" run -c "$W/rd.yaml" "$W/rd2.plan" &&
    cmp -s "$W/f.bin" "$W/roots/rb/data/f.bin" && cmp -s "$W/f.bin" "$W/roots/rd/data/f.bin" && ok ||
    fail "killed relay: no resume"

# A relay whose upstream stalls: rf's sshd processes for re are stopped;
# re times out and blames its source, while rf, left waiting on re, blames
# nobody.
rm -rf "$W/roots/re/.sluice" "$W/roots/rf/.sluice"
sed -i 's/^timeout: .*/timeout: 2s/' "$W/re.yaml" "$W/rf.yaml"
"$mkplan" "$M" re --op "$(src g),0,$SIZE,4000000" > "$W/re.plan"
"$mkplan" "$M" rf --op "$(src re),0,$SIZE,40000000" > "$W/rf.plan"
"$agent" run -c "$W/re.yaml" "$W/re.plan" 2>"$W/re.err" & rep=$!
# rf starts once re reads from g, and the stall comes once rf reads
# from re: so re's is the older connection, and each has one.
until_true holds re ||
    fail "stalled upstream: re took nothing from g"
"$agent" run -c "$W/rf.yaml" "$W/rf.plan" 2>"$W/rf.err" & rfp=$!
until_true holds rf ||
    fail "stalled upstream: rf took nothing from re"
# The sshd children serving re's reads from g (not rf's from re): the
# oldest connection's.
kid=$(ps -eo pid=,ppid= --sort=start_time | awk -v root="$(cat "$SSHD_DIR/sshd.pid")" '$2 == root {print $1; exit}')
[ -n "$kid" ] && kill -STOP $kid $(ps -eo pid=,ppid= | awk -v p=$kid '$2 == p {print $1}')
wait $rep
wait $rfp
rc=$?
[ -n "$kid" ] && kill -CONT $kid $(ps -eo pid=,ppid= | awk -v p=$kid '$2 == p {print $1}') 2>/dev/null
"$agent" state -c "$W/re.yaml" > "$W/re.state"
"$agent" state -c "$W/rf.yaml" > "$W/rf.state"
if grep -q "components: \['host:g'\]" "$W/re.state" && [ $rc -eq 75 ] &&
    grep -q "components: \[\]" "$W/rf.state" && [ "$(len_of rf)" -le "$(len_of re)" ]; then ok
else fail "stalled upstream: $(cat "$W/re.err" "$W/rf.err" "$W/re.state" "$W/rf.state")"; fi

# A reader that begins far behind its relay.  rh holds the file's first
# half; ri takes the whole file from rh at 3 MB/s with a 2 s timeout,
# reading that half for 4 s without asking rh's length.  Once ri has
# begun, rh takes the rest from g, at once.  ri's reaching the length
# it read at its start is no sign that rh stopped: rh grew meanwhile.
conf rh; conf ri
sed -i 's/^timeout: .*/timeout: 2s/' "$W/ri.yaml"
"$mkplan" "$M" rh --op "$(src g),0,$((SIZE / 2)),200000000" > "$W/rh.plan"
"$agent" run -c "$W/rh.yaml" "$W/rh.plan" || fail "a relay's first half"
"$mkplan" "$M" rh --epoch 2 --op "$(src g),$((SIZE / 2)),$((SIZE / 2)),200000000" > "$W/rh2.plan"
"$mkplan" "$M" ri --epoch 2 --op "$(src rh),0,$SIZE,3000000" > "$W/ri.plan"
"$agent" run -c "$W/ri.yaml" "$W/ri.plan" 2>"$W/ri.err" & rip=$!
until_true holds ri
"$agent" run -c "$W/rh.yaml" "$W/rh2.plan" 2>"$W/rh.err"
rh_rc=$?
wait $rip
rc=$?
if [ $rh_rc -eq 0 ] && [ $rc -eq 0 ] && cmp -s "$W/f.bin" "$W/roots/ri/data/f.bin" &&
    ! grep -q "made no progress" "$W/ri.err"; then ok
else fail "a reader far behind its relay: exit $rh_rc/$rc: $(cat "$W/ri.err" "$W/rh.err")"; fi

# A second source for a relay's op.  fc's op (4 MiB at 400 MB/s: two
# streams) names a relay as its source and g as its fallback, 2 s after
# the plan's issue; its plans expire in 8 s.  A relay that never began
# (fn: an empty root) or ran and ended its plan holding nothing (fz: its
# own source missing) has nothing at that time and runs no plan: fc
# takes the whole op from g at the fallback's rate (g holds the file),
# says so, and ends it with no failure.  The same plans
# without the fallback leave fc with nothing: missing (fn never had the
# file) or deadline (fz had 0).
for h in fn fz fc fk fs fp fq fr; do conf $h; done
sed -i 's/^timeout: .*/timeout: 1s/' "$W/fz.yaml"
"$mkplan" "$M" fz --op "g,127.0.0.1,$P,$W/roots/nowhere,0,$SIZE,40000000" > "$W/fz.plan"
"$agent" run -c "$W/fz.yaml" "$W/fz.plan" 2>/dev/null
[ -e "$W/roots/fz/.sluice/data%2Ff.bin@1.data" ] && [ "$(len_of fz)" -eq 0 ] &&
    [ "$(cat "$W/roots/fz/.sluice/began")" = "epoch 1 ended" ] && ok ||
    fail "a relay holding nothing: fz holds $(len_of fz), began $(cat "$W/roots/fz/.sluice/began")"
e=0
fb_life=$((8 + ${AGENT_SLACK:-0}))
for relay in fn fz; do
	e=$((e + 1))
	rm -rf "$W/roots/fc/.sluice" "$W/roots/fc/data"
	"$mkplan" "$M" fc --epoch $e --expires-in $fb_life --op "$(src $relay),0,$((4 * MIB)),400000000" \
	    --fallback "1=$(src g),2,20000000" > "$W/fc.plan"
	"$agent" run -c "$W/fc.yaml" -v "$W/fc.plan" > "$W/fc.out" 2>&1
	rc=$?
	at=$(sed -n "s/^op $e\/fc\/1: relay source $relay has 0 at +\([0-9.]*\)s; taking it from g at 160Mbit\/s$/\1/p" "$W/fc.out")
	"$agent" state -c "$W/fc.yaml" > "$W/fc.state"
	if [ $rc -eq 0 ] && [ "$(len_of fc)" -eq $((4 * MIB)) ] && [ -n "$at" ] &&
	    awk "BEGIN {exit !($at >= 2 && $at < 5)}" &&
	    grep -q "^op $e/fc/1: $((4 * MIB)) bytes from g in .*(allocated 20000000).*; from its fallback, relay source $relay having 0 at" "$W/fc.out" &&
	    grep -q "^failures: \[\]" "$W/fc.state"; then ok
	else fail "fallback for relay $relay: exit $rc: $(cat "$W/fc.out" "$W/fc.state")"; fi
	e=$((e + 1))
	rm -rf "$W/roots/fc/.sluice" "$W/roots/fc/data"
	"$mkplan" "$M" fc --epoch $e --expires-in $fb_life --op "$(src $relay),0,$((4 * MIB)),400000000" > "$W/fc.plan"
	"$agent" run -c "$W/fc.yaml" "$W/fc.plan" 2>"$W/fc.err"
	rc=$?
	case $relay in
	fn) want="from fn: missing: .*roots/fn/.sluice/data%2Ff.bin@1.data: no such file" ;;
	*) want="from fz: deadline: plan expired at 0 waiting for relay source fz, which has 0" ;;
	esac
	if [ $rc -eq 75 ] && grep -q "$want" "$W/fc.err" && [ "$(len_of fc)" -eq 0 ]; then ok
	else fail "no fallback for relay $relay: exit $rc: $(cat "$W/fc.err")"; fi
done
# A fallback host that holds nothing is no way out: fc stays on its relay
# (fz, which has 0) and its plan expires waiting for it, never taking the
# op from fn.
rm -rf "$W/roots/fc/.sluice" "$W/roots/fc/data"
"$mkplan" "$M" fc --epoch 7 --expires-in $fb_life --op "$(src fz),0,$((4 * MIB)),400000000" \
    --fallback "1=$(src fn),2,20000000" > "$W/fc.plan"
"$agent" run -c "$W/fc.yaml" -v "$W/fc.plan" > "$W/fc.out" 2>&1
rc=$?
if [ $rc -eq 75 ] && grep -q "deadline: plan expired at 0 waiting for relay source fz, which has 0" "$W/fc.out" &&
    ! grep -q "taking it from fn" "$W/fc.out" && [ "$(len_of fc)" -eq 0 ]; then ok
else fail "a fallback holding nothing was taken: exit $rc: $(cat "$W/fc.out")"; fi
# A relay that runs a plan of fc's epoch or a later one is not left,
# though it holds nothing at the fallback's time: it is waiting on its
# own source, and fc waits with it; once its plan has ended, its began
# says so and fc takes the op from g.  fz runs epoch 11 (fc's is 10) for
# 6 s, waiting on fy, which holds nothing (its own fallback, from 5 s,
# fn, holds nothing either); fc switches only after that, 4 s or more
# after its issue.  (Left at once, each level of a tree would leave the
# one above as soon as one host above them was late.)
# fz is made again: the 1 s timeout it was given above, on a busy
# machine, could end its run on a slow handshake with fy, before fc's
# switch was due.
conf fy
conf fz
rm -rf "$W/roots/fc/.sluice" "$W/roots/fc/data"
"$mkplan" "$M" fz --epoch 11 --expires-in $((6 + ${AGENT_SLACK:-0})) \
    --op "$(src fy),0,$SIZE,40000000" --fallback "1=$(src fn),5,20000000" > "$W/fz.plan"
"$agent" run -c "$W/fz.yaml" -v "$W/fz.plan" > "$W/fz.out" 2>&1 & fzp=$!
until_true grep -qx "epoch 11" "$W/roots/fz/.sluice/began" ||
    fail "fz did not say it began: $(cat "$W/roots/fz/.sluice/began" "$W/fz.out")"
"$mkplan" "$M" fc --epoch 10 --expires-in $((14 + ${AGENT_SLACK:-0})) \
    --op "$(src fz),0,$((4 * MIB)),400000000" --fallback "1=$(src g),2,20000000" > "$W/fc.plan"
"$agent" run -c "$W/fc.yaml" -v "$W/fc.plan" > "$W/fc.out" 2>&1
rc=$?
wait $fzp
at=$(sed -n "s/^op 10\/fc\/1: relay source fz has 0 at +\([0-9.]*\)s; taking it from g at 160Mbit\/s$/\1/p" "$W/fc.out")
if [ $rc -eq 0 ] && [ "$(len_of fc)" -eq $((4 * MIB)) ] && [ -n "$at" ] &&
    awk "BEGIN {exit !($at >= 4)}" &&
    [ "$(cat "$W/roots/fz/.sluice/began")" = "epoch 11 ended" ]; then ok
else fail "a relay running its plan was left, or one that ended was not: exit $rc, at ${at:-never}: $(cat "$W/fc.out" "$W/roots/fz/.sluice/began" "$W/fz.out")"; fi
# A relay that holds the op's first block at the fallback's time keeps
# the op: fc waits for more (it holds less than a read ahead), and once
# fk has the rest fc takes the file from fk, never from g.
rm -rf "$W/roots/fc/.sluice" "$W/roots/fc/data"
"$mkplan" "$M" fk --op "$(src g),0,$MIB,200000000" > "$W/fk.plan"
"$agent" run -c "$W/fk.yaml" "$W/fk.plan" || fail "fk: its first block"
"$mkplan" "$M" fc --epoch 9 --op "$(src fk),0,$SIZE,40000000" \
    --fallback "1=$(src g),2,20000000" > "$W/fc.plan"
"$agent" run -c "$W/fc.yaml" -v "$W/fc.plan" > "$W/fc.out" 2>&1 & fcp=$!
until_true grep -q "^op 9/fc/1: relay source fk has" "$W/fc.out" || fail "fc did not decide"
"$mkplan" "$M" fk --epoch 2 --op "$(src g),$MIB,$((SIZE - MIB)),200000000" > "$W/fk2.plan"
"$agent" run -c "$W/fk.yaml" "$W/fk2.plan" || fail "fk: the rest"
wait $fcp
rc=$?
if [ $rc -eq 0 ] && cmp -s "$W/f.bin" "$W/roots/fc/data/f.bin" &&
    grep -q "^op 9/fc/1: relay source fk has $MIB at +[0-9.]*s; taking it from there, not from g$" "$W/fc.out" &&
    grep -q "^op 9/fc/1: $SIZE bytes from fk in" "$W/fc.out" && ! grep -q "from its fallback" "$W/fc.out"; then ok
else fail "a relay holding the first block: exit $rc: $(cat "$W/fc.out")"; fi

# What a relay's op sheds.  fs starts 5 s after its plan's issue with
# nothing, past the time (1 s) of two shed entries of 3 MB/s each on its
# 8 MB/s op: it runs at 2 MB/s from its first byte, its 8 MiB taking at
# least 0.9 x 8 MiB / 2 MB/s (1 s at the full rate).  fp begins its plan
# before the time of its entry (1 MiB, at 3 s), so no host below leaves
# it from then on: it sheds nothing, holding three quarters of its
# 4 MB/s at least (its 24 MiB shedding 3 MB/s from 3 s would average
# under 1.5 MB/s).  fq cannot say that it runs (its ROOT/.sluice/began
# is a directory), so its entry holds until it passes the offset, which
# it does before that time: it sheds nothing either.
"$mkplan" "$M" fs --issued-ago 5 --op "$(src g),0,$((8 * MIB)),8000000" \
    --shed "1=fc,1,0,3000000" --shed "1=fd,1,0,3000000" > "$W/fs.plan"
"$agent" run -c "$W/fs.yaml" -v "$W/fs.plan" > "$W/fs.out" 2>&1
rc=$?
took=$(sed -n 's/^op 1\/fs\/1: .* in \([0-9.]*\)s, .*/\1/p' "$W/fs.out")
if [ $rc -eq 0 ] && [ -n "$took" ] && awk "BEGIN {exit !($took >= 0.9 * 8 * $MIB / 2000000)}" &&
    grep -q "; 3000000 B/s shed for fc from +1.00s; 3000000 B/s shed for fd from +1.00s$" "$W/fs.out" &&
    [ "$(len_of fs)" -eq $((8 * MIB)) ]; then ok
else fail "shed from the first byte: exit $rc, ${took:-?}s: $(cat "$W/fs.out")"; fi
echo "agent: 8 MiB at 8 MB/s shedding 6 MB/s took ${took:-?}s" >&2
"$mkplan" "$M" fp --op "$(src g),0,$SIZE,4000000" --shed "1=fc,3,$MIB,3000000" > "$W/fp.plan"
"$agent" run -c "$W/fp.yaml" -v "$W/fp.plan" > "$W/fp.out" 2>&1
rc=$?
measured=$(sed -n 's/^op 1\/fp\/1: .*, \([0-9]*\) B\/s (allocated 4000000).*/\1/p' "$W/fp.out")
if [ $rc -eq 0 ] && [ -n "$measured" ] && [ "$measured" -ge 3000000 ] && [ "$measured" -le 4200000 ] &&
    grep -q "; nothing shed for fc, running from +[0-9.]*s$" "$W/fp.out"; then ok
else fail "nothing shed by a relay running before the entry's time: exit $rc: $(cat "$W/fp.out")"; fi
mkdir -p "$W/roots/fq/.sluice/began/x"
"$mkplan" "$M" fq --op "$(src g),0,$SIZE,4000000" --shed "1=fc,3,$MIB,3000000" > "$W/fq.plan"
"$agent" run -c "$W/fq.yaml" -v "$W/fq.plan" > "$W/fq.out" 2>&1
rc=$?
measured=$(sed -n 's/^op 1\/fq\/1: .*, \([0-9]*\) B\/s (allocated 4000000).*/\1/p' "$W/fq.out")
if [ $rc -eq 0 ] && [ -n "$measured" ] && [ "$measured" -ge 3000000 ] && [ "$measured" -le 4200000 ] &&
    grep -q "; nothing shed for fc, byte $MIB passed at +[0-9.]*s$" "$W/fq.out" &&
    grep -q "began: " "$W/fq.out"; then ok
else fail "nothing shed once the offset is passed in time: exit $rc: $(cat "$W/fq.out")"; fi
# A run of a store whose began.lock another run holds writes no began
# (its peers go on reading the other's) and trusts none: its entry holds
# until it passes the offset, as fq's does.
if command -v flock >/dev/null 2>&1; then
	mkdir -p "$W/roots/fr/.sluice"
	printf 'epoch 3\n' > "$W/roots/fr/.sluice/began"
	flock -o "$W/roots/fr/.sluice/began.lock" sh -c "until [ -e '$W/fr.unlock' ]; do sleep 0.05; done" &
	holder=$!
	until_true sh -c "! flock -n '$W/roots/fr/.sluice/began.lock' true"
	"$mkplan" "$M" fr --op "$(src g),0,$SIZE,4000000" --shed "1=fc,3,$MIB,3000000" > "$W/fr.plan"
	"$agent" run -c "$W/fr.yaml" -v "$W/fr.plan" > "$W/fr.out" 2>&1
	rc=$?
	touch "$W/fr.unlock"
	wait $holder
	if [ $rc -eq 0 ] && [ "$(cat "$W/roots/fr/.sluice/began")" = "epoch 3" ] &&
	    grep -q "; nothing shed for fc, byte $MIB passed at +[0-9.]*s$" "$W/fr.out"; then ok
	else fail "a run beside another: exit $rc, began $(cat "$W/roots/fr/.sluice/began"): $(cat "$W/fr.out")"; fi
fi

# A new version: while it is partial the old one stays in place; once it
# is whole it replaces the old one atomically and the old one is removed.
head -c $((4 * MIB)) /dev/urandom > "$W/f2.bin"
"$agent" publish -c "$W/g.yaml" "$W/f2.bin" data/f.bin 2 --block-size 1MiB
M2="$W/roots/g/.sluice/data%2Ff.bin@2.manifest.yaml"
"$mkplan" "$M2" d --epoch 5 --op "$(src g),0,$((2 * MIB)),200000000" > "$W/v2a.plan"
"$agent" run -c "$W/d.yaml" "$W/v2a.plan"
cmp -s "$W/f.bin" "$W/roots/d/data/f.bin" && ok || fail "old version replaced before the new one was whole"
[ -e "$W/roots/d/.sluice/data%2Ff.bin@1.data" ] && ok || fail "old version removed too early"
"$mkplan" "$M2" d --epoch 6 --op "$(src g),$((2 * MIB)),$((2 * MIB)),200000000" > "$W/v2b.plan"
"$agent" run -c "$W/d.yaml" "$W/v2b.plan"
cmp -s "$W/f2.bin" "$W/roots/d/data/f.bin" && ok || fail "new version not in place"
[ ! -e "$W/roots/d/.sluice/data%2Ff.bin@1.data" ] && [ ! -e "$W/roots/d/.sluice/data%2Ff.bin@1.len" ] &&
    ok || fail "old version not removed"

# Two syncs never overlap: with the lock held, sync waits for it through
# its period (2 s here), then leaves quietly; one that gets the lock
# within its period, when the last sync leaves, goes on in its place.
if command -v flock >/dev/null 2>&1; then
	sed 's/^wait: .*/wait: 0s/' "$W/a.yaml" > "$W/alock.yaml"
	printf 'period: 2s\n' >> "$W/alock.yaml"
	flock -o "$W/roots/a/.sluice/lock" sh -c "until [ -e '$W/unlock' ]; do sleep 0.05; done" &
	holder=$!
	until_true sh -c "! flock -n '$W/roots/a/.sluice/lock' true"
	out=$("$agent" sync -c "$W/alock.yaml" -v 2>&1)
	rc=$?
	[ $rc -eq 0 ] && [ "$out" = "another sync is running" ] && ok || fail "lock: exit $rc: $out"
	sed -i 's/^period: .*/period: 30s/' "$W/alock.yaml"
	"$agent" sync -c "$W/alock.yaml" -v > "$W/alock.out" 2>&1 &
	waiter=$!
	until_true sh -c "pgrep -P $$ -f 'alock.yaml' >/dev/null"
	touch "$W/unlock"
	wait $holder
	wait $waiter
	grep -q "another sync is running" "$W/alock.out" && fail "lock: not taken over: $(cat "$W/alock.out")" || ok
fi

# Sync with a master directory served by the same sshd.
mkdir -p "$W/master/states" "$W/master/manifests"
cat > "$W/master/topology.yaml" <<EOT
round: 10s
block_size: 1MiB
sites:
  - name: s1
    hosts:
      - {name: m, address: 127.0.0.1, port: $P, root: $W/roots/m, nic: 800Mbit}
      - {name: a, address: 127.0.0.1, port: $P, root: $W/roots/a, nic: 800Mbit}
  - name: s2
    hosts:
      - {name: b, address: 127.0.0.1, port: $P, root: $W/roots/b, nic: 800Mbit}
links:
  - {between: [s1, s2], capacity: 400Mbit}
EOT
echo 'files: [{name: data/f.bin, version: 1, generator: m, size: 24MiB}]' > "$W/master/fileset.yaml"
"$agent" publish -c "$W/m.yaml" "$W/f.bin" data/f.bin 1 --block-size 1MiB
# The generator syncs before the planner has ever run, waiting for a plan
# as a cron sync does: no plan yet is no error (and no current is not an
# unreachable master); its manifest and its state are sent.
sed -i 's/^wait: .*/wait: 1s/' "$W/m.yaml"
"$agent" sync -v -c "$W/m.yaml" >"$W/first.out" 2>"$W/first.err"
rc=$?
if [ $rc -eq 0 ] && grep -qx "no plan yet: the master has not planned" "$W/first.out" &&
    [ ! -s "$W/first.err" ]; then ok
else fail "sync before the first plan: exit $rc: $(cat "$W/first.out" "$W/first.err")"; fi
[ -f "$W/master/manifests/data%2Ff.bin@1.yaml" ] && ok || fail "manifest not sent"
[ -f "$W/master/states/m.yaml" ] && ok || fail "state not sent before the first plan"
# The agents start before the planner, as cron may start them: each waits
# for the round's plan (wait: 10s) and runs it in the same round.
for h in m a b; do sed -i 's/^wait: .*/wait: 10s/' "$W/$h.yaml"; done
for round in 1 2 3 4; do
	before=$(cat "$W"/sync-*.out 2>/dev/null | grep -c '^waiting up to')
	for h in m a b; do "$agent" sync -v -c "$W/$h.yaml" >>"$W/sync-$h.out" 2>>"$W/sync.err" & done
	# The planner runs once the three are waiting for its plan.
	until_true sh -c "[ \$(cat '$W'/sync-*.out | grep -c '^waiting up to') -ge $((before + 3)) ]" ||
	    fail "round $round: the agents did not wait for a plan"
	"$plan" run -d "$W/master" || fail "plan run $round"
	# The set as planned: the agents may have run its plans and sent
	# new states already, which the plans need not start from.
	rm -rf "$W/set" && mkdir -p "$W/set" &&
	    cp "$W/master/topology.yaml" "$W/master/fileset.yaml" "$W/set/" &&
	    cp -r "$W/master/current/states" "$W/master/current/plans" "$W/set/" &&
	    cp -r "$W/master/manifests" "$W/set/"
	verify_plans -q "$W/set" || fail "round $round: verify-plans"
	wait
	cmp -s "$W/f.bin" "$W/roots/a/data/f.bin" && cmp -s "$W/f.bin" "$W/roots/b/data/f.bin" && break
done
grep -q "^waiting up to [0-9]*s for a plan after epoch 0" "$W/sync-b.out" && ok ||
    fail "sync did not wait for its plan: $(cat "$W/sync-b.out")"
if cmp -s "$W/f.bin" "$W/roots/a/data/f.bin" && cmp -s "$W/f.bin" "$W/roots/b/data/f.bin"; then ok
else fail "sync: not complete after $round rounds: $(cat "$W/sync.err")"; fi
grep -q "length: $SIZE" "$W/master/states/b.yaml" && ok || fail "sync: state not sent"
ls -a "$W/master/states" | grep -q '\.new$\|\.tmp$' && fail "sync left side files" || ok
echo "agent: sync completed in $round round(s)" >&2
# A replacement a crash cut short: .b.yaml.new, a whole older copy, in
# the way of the next state, whose first rename fails: the older copy is
# dropped (the state is there) and the replacement made again, a step at
# a time: the state sent is in place, no side file left.
epoch=$(sed -n 's/^epoch: //p' "$W/master/states/b.yaml")
sed 's/^epoch: .*/epoch: 0/' "$W/master/states/b.yaml" > "$W/master/states/.b.yaml.new"
sed 's/^wait: .*/wait: 0s/' "$W/b.yaml" > "$W/b0.yaml"
"$agent" sync -c "$W/b0.yaml" 2>"$W/err"
rc=$?
[ $rc -eq 0 ] && [ "$(sed -n 's/^epoch: //p' "$W/master/states/b.yaml")" = "$epoch" ] &&
    ! ls -a "$W/master/states" | grep -q '\.new$\|\.tmp$' && ok ||
    fail "a state replaced over a cut-short one: exit $rc, epoch $(sed -n 's/^epoch: //p' "$W/master/states/b.yaml") for $epoch, $(ls -a "$W/master/states" | tr '\n' ' '): $(cat "$W/err")"
# A first rename that fails for another reason (here a directory in
# .b.yaml.new's place, which no rename moves or removal removes): the
# state is not sent, and the one before stays in place, whole.
cp "$W/master/states/b.yaml" "$W/b.before"
mkdir -p "$W/master/states/.b.yaml.new/in-the-way"
"$agent" sync -c "$W/b0.yaml" 2>"$W/err"
rc=$?
[ $rc -ne 0 ] && cmp -s "$W/b.before" "$W/master/states/b.yaml" && ok ||
    fail "a state whose first rename fails: exit $rc, $(ls -a "$W/master/states" | tr '\n' ' '): $(cat "$W/err")"
rm -rf "$W/master/states/.b.yaml.new" "$W/master/states/.b.yaml.tmp"
# A host the master's topology does not know: a clear error, exit 78, and
# no state written under its name.
conf zz
"$agent" sync -c "$W/zz.yaml" 2>"$W/zz.err"
rc=$?
if [ $rc -eq 78 ] && grep -q "host 'zz' is not in the master's $W/master/topology.yaml" "$W/zz.err" &&
    [ ! -e "$W/master/states/zz.yaml" ]; then ok
else fail "unknown host: exit $rc: $(cat "$W/zz.err")"; fi
[ -n "${AGENT_DEBUG:-}" ] && for h in m a b; do echo "== $h"; cat "$W/sync-$h.out"; done && cat "$W/sync.err"
# An SFTP error reads as text, with the path: the master's states/ made
# unwritable (immutable for root, read-only for anyone else).
deny() { if [ "$(id -u)" -eq 0 ]; then chattr +i "$1" 2>/dev/null; else chmod 0555 "$1"; fi; }
allow() { chattr -i "$1" 2>/dev/null; chmod 0755 "$1"; }
if deny "$W/master/states" && ! touch "$W/master/states/probe" 2>/dev/null; then
	"$agent" sync -c "$W/b.yaml" 2>"$W/deny.err"
	rc=$?
	allow "$W/master/states"
	if [ $rc -eq 69 ] && grep -q "^sluice-agent: master: state: .*$W/master/states/\.b\.yaml\.[a-z]*: permission denied$" "$W/deny.err" &&
	    ! grep -q "sftp status\|SFTP status" "$W/deny.err"; then ok
	else fail "SFTP error as text: exit $rc: $(cat "$W/deny.err")"; fi
else
	allow "$W/master/states"
	rm -f "$W/master/states/probe"
	echo "agent: skipping the SFTP error text test: cannot make a directory unwritable here" >&2
fi
# A bounded sync.  b has run the current epoch's plan; with wait: 60s and
# no new plan coming, a sync whose period is 2s waits no longer than that
# and exits 0.  One with the default period of a minute leaves at once
# when its AGENT.yaml is edited, and when its program is replaced (as a
# package upgrade does, by rename): the next cron start takes the new one.
"$agent" sync -c "$W/b.yaml" 2>"$W/bw.err" || fail "sync b before the bounded sync: $(cat "$W/bw.err")"
sed -e 's/^wait: .*/wait: 60s/' "$W/b.yaml" > "$W/bw.yaml"
printf 'period: 2s\n' >> "$W/bw.yaml"
t0=$(date +%s)
"$agent" sync -v -c "$W/bw.yaml" > "$W/bw.out" 2>"$W/bw.err"
rc=$?
took=$(($(date +%s) - t0))
if [ $rc -eq 0 ] && [ $took -lt 20 ] && grep -q "^waiting up to 2s for a plan" "$W/bw.out"; then ok
else fail "sync with period: 2s: exit $rc after ${took}s: $(cat "$W/bw.out" "$W/bw.err")"; fi
# With no wait: in AGENT.yaml, a sync waits the period when that is
# longer than the life of the last plan (here 10 s or less): a plan that
# ended early (sluice-plan run --replan) is followed by the next within
# the period, not within that life (it waited 10 s before).
sed -e '/^wait: /d' "$W/b.yaml" > "$W/bp.yaml"
printf 'period: 45s\n' >> "$W/bp.yaml"
"$agent" sync -v -c "$W/bp.yaml" > "$W/bp.out" 2>"$W/bp.err" &
pid=$!
until_true grep -q "^waiting up to" "$W/bp.out"
kill $pid 2>/dev/null
wait $pid 2>/dev/null
grep -Eq "^waiting up to (3[0-9]|4[0-5])s for a plan" "$W/bp.out" && ok ||
    fail "sync with no wait, period 45s: $(cat "$W/bp.out" "$W/bp.err")"
# The plan due as a sync's period ends is still that sync's.  With a
# 20 s round, b runs a plan that expires at E (25-30 s on: it is made
# 10-15 s into a round), with a period that ends just after E, and the
# next plan is issued a second after E: the sync waits for it (past E
# by a quarter of its period, 6 s or more) and runs it, then leaves.
# (It left when its period ended, and the next cron start began that
# plan late, after the lock and a splay.)
sed -i 's/^round: 10s$/round: 20s/' "$W/master/topology.yaml"
until_true sh -c "[ \$((\$(date +%s) % 20 / 5)) -eq 2 ]"
"$plan" run -d "$W/master" 2>"$W/due.err" || fail "plan run before E: $(cat "$W/due.err")"
k=$(readlink "$W/master/current" | sed 's|.*/||')
E=$(date -d "$(sed -n 's/^expires: //p' "$W/master/plans/b.yaml")" +%s)
sed -e 's/^wait: .*/wait: 40s/' "$W/b.yaml" > "$W/bd.yaml"
printf 'period: %ss\n' "$(awk "BEGIN {printf \"%.2f\", $E + 0.3 - $(date +%s.%N)}")" >> "$W/bd.yaml"
"$agent" sync -v -c "$W/bd.yaml" > "$W/bd.out" 2>"$W/bd.err" &
pid=$!
until_true sh -c "[ \$(date +%s) -ge $((E + 1)) ]"
"$plan" run -d "$W/master" 2>>"$W/due.err" || fail "plan run after E: $(cat "$W/due.err")"
wait $pid
rc=$?
left=$(date +%s)
sed -i 's/^round: 20s$/round: 10s/' "$W/master/topology.yaml"
if [ $rc -eq 0 ] && grep -q "^epoch $k: " "$W/bd.out" && grep -q "^epoch $((k + 1)): " "$W/bd.out" &&
    grep -q "^period of .* over" "$W/bd.out" && [ "$left" -lt $((E + 20)) ]; then ok
else fail "sync did not take the plan due as its period ended, or stayed (left at E + $((left - E))s): exit $rc: $(cat "$W/bd.out" "$W/bd.err")"; fi
mkdir -p "$W/bin"
cp "$agent" "$W/bin/sluice-agent"
for what in config program; do
	sed -e 's/^wait: .*/wait: 60s/' "$W/b.yaml" > "$W/bc.yaml"
	# The last pass's output goes first: its "waiting" must not be
	# taken for this sync's before this one has begun (and the program
	# replaced before it is run).
	rm -f "$W/bc.out"
	t0=$(date +%s)
	"$W/bin/sluice-agent" sync -v -c "$W/bc.yaml" > "$W/bc.out" 2>"$W/bc.err" &
	pid=$!
	until_true grep -q "^waiting up to" "$W/bc.out" || fail "sync did not wait: $(cat "$W/bc.out" "$W/bc.err")"
	if [ $what = config ]; then
		echo "# edited" >> "$W/bc.yaml"
		changed="$W/bc.yaml"
	else
		cp "$W/bin/sluice-agent" "$W/bin/.new" && mv "$W/bin/.new" "$W/bin/sluice-agent"
		changed="$W/bin/sluice-agent"
	fi
	wait $pid
	rc=$?
	took=$(($(date +%s) - t0))
	if [ $rc -eq 0 ] && [ $took -lt 20 ] && grep -q "^$changed changed: leaving for the next start to take it" "$W/bc.out"; then ok
	else fail "sync with its $what changed: exit $rc after ${took}s: $(cat "$W/bc.out" "$W/bc.err")"; fi
done
# A configuration copied from a onto b (host: a, b's root): the store
# is b's, so nothing is done and a's state is left alone.
sed -e 's/^host: b$/host: a/' "$W/b.yaml" > "$W/ab.yaml"
sum=$(cksum < "$W/master/states/a.yaml")
"$agent" sync -c "$W/ab.yaml" 2>"$W/ab.err"
rc=$?
if [ $rc -eq 78 ] && grep -q "host 'a', but $W/roots/b/.sluice holds host b's store: a configuration copied from another host?" "$W/ab.err" &&
    [ "$(cksum < "$W/master/states/a.yaml")" = "$sum" ]; then ok
else fail "copied configuration: exit $rc: $(cat "$W/ab.err")"; fi
# Authenticity: the master signs plans, hosts sign states and manifests
# (SSHSIG, checked by ssh-keygen both ways); with keys pinned, a host that
# can write the master directory forges nothing.
mkdir -p "$W/keys"
mline=$("$plan" keygen -k "$W/keys/master.key") && ok || fail "sluice-plan keygen"
for h in m a b; do
	sed -i "s/^wait: .*/wait: 0s/" "$W/$h.yaml"
	printf 'signing_key: %s\nmaster_key: %s\n' "$W/keys/$h.key" "$mline" >> "$W/$h.yaml"
	line=$("$agent" keygen -c "$W/$h.yaml") || fail "sluice-agent keygen $h"
	echo "$line" > "$W/keys/$h.pub"
	sed -i "s|{name: $h, address|{name: $h, key: '$line', address|" "$W/master/topology.yaml"
done
"$agent" keygen -c "$W/m.yaml" 2>"$W/kg.err" && fail "keygen overwrote a key" ||
    { grep -q "exists: not overwritten" "$W/kg.err" && ok || fail "keygen: $(cat "$W/kg.err")"; }
ssh-keygen -q -t ed25519 -N '' -C master -f "$W/keys/ossh" >/dev/null
"$plan" run -d "$W/master" -k "$W/keys/ossh" 2>"$W/auth.err" && ok || fail "run -k: $(cat "$W/auth.err")"
for h in m a b; do "$agent" sync -c "$W/$h.yaml" 2>>"$W/auth.err"; done
# A plan signed with a key ssh-keygen made is refused where another is
# pinned; one signed by the pinned master key is taken.
grep -q "plans/m.yaml.sig: made with another key: not signed by master_key: refused" "$W/auth.err" && ok ||
    fail "plan signed by another key: $(cat "$W/auth.err")"
"$plan" run -d "$W/master" -k "$W/keys/master.key" 2>"$W/auth.err" && ok || fail "run: $(cat "$W/auth.err")"
: > "$W/sync-auth.err"
for h in m a b; do "$agent" sync -c "$W/$h.yaml" 2>>"$W/sync-auth.err" || fail "signed sync $h: $(cat "$W/sync-auth.err")"; done
# A signed state and its signature are replaced together
# (ssh_replace_pair()): over a cut-short .b.yaml.new, both are in place
# and match, no side file left; a first rename of the signature that
# fails (a directory in .b.yaml.sig.new's place) leaves both as they
# were; one of the state's, after the signature's went, leaves the
# state before whole.
S=$W/master/states
signed_ok() { ssh-keygen -Y check-novalidate -n sluice -s "$S/b.yaml.sig" < "$S/b.yaml" >/dev/null 2>&1; }
sed 's/^epoch: .*/epoch: 0/' "$S/b.yaml" > "$S/.b.yaml.new"
"$agent" sync -c "$W/b.yaml" 2>"$W/pair.err"
rc=$?
[ $rc -eq 0 ] && signed_ok && ! grep -q '^epoch: 0$' "$S/b.yaml" &&
    ! ls -a "$S" | grep -q '\.new$\|\.tmp$' && ok ||
    fail "a signed state replaced over a cut-short one: exit $rc, $(ls -a "$S" | tr '\n' ' '): $(cat "$W/pair.err")"
cp "$S/b.yaml" "$W/b.before"
cp "$S/b.yaml.sig" "$W/b.sig.before"
mkdir -p "$S/.b.yaml.sig.new/in-the-way"
"$agent" sync -c "$W/b.yaml" 2>"$W/pair.err"
rc=$?
[ $rc -ne 0 ] && cmp -s "$W/b.before" "$S/b.yaml" && cmp -s "$W/b.sig.before" "$S/b.yaml.sig" && ok ||
    fail "a signature whose first rename fails: exit $rc, $(ls -a "$S" | tr '\n' ' '): $(cat "$W/pair.err")"
rm -rf "$S/.b.yaml.sig.new" "$S/.b.yaml.sig.tmp"
mkdir -p "$S/.b.yaml.new/in-the-way"
"$agent" sync -c "$W/b.yaml" 2>"$W/pair.err"
rc=$?
[ $rc -ne 0 ] && cmp -s "$W/b.before" "$S/b.yaml" && ok ||
    fail "a state whose first rename fails after its signature's: exit $rc, $(ls -a "$S" | tr '\n' ' '): $(cat "$W/pair.err")"
rm -rf "$S/.b.yaml.new" "$S/.b.yaml.tmp"
# Sent again, through an sshd whose SFTP server logs each request: the
# state's file is opened before the signature's is renamed, so the two
# went together, and both are in place.
# b_through DIR YAML: an sshd of its own in DIR serving the master (as
# SSHD_SFTP and SSHD_EXTRA say), and in YAML b's configuration reaching
# the master through it; 1 where it does not start (DIR.out says why).
b_through() {
	bt_port=$(SSHD_PORT=; sshd_start "$1" >"$1.out" 2>&1 && echo "$SSHD_PORT")
	[ -n "$bt_port" ] || return 1
	cp "$W/sshd/id_ed25519.pub" "$1/authorized_keys"
	cat "$SSHD_KNOWN_HOSTS" "$1/known_hosts" > "$1.known"
	sed -e "s|port: $P, dir:|port: $bt_port, dir:|" -e "s|^known_hosts: .*|known_hosts: $1.known|" "$W/b.yaml" > "$2"
}
if SSHD_SFTP="/usr/lib/openssh/sftp-server -e -l VERBOSE 2>>$W/sftp5.log" b_through "$W/sshd-pair" "$W/b5.yaml"; then
	"$agent" sync -c "$W/b5.yaml" 2>"$W/pair.err"
	rc=$?
	SSHD_DIR=$W/sshd-pair sshd_stop
	opened=$(grep -n "open \"$S/.b.yaml.tmp\"" "$W/sftp5.log" | head -1 | cut -d: -f1)
	renamed=$(grep -n "rename old \"$S/.b.yaml.sig.tmp\"" "$W/sftp5.log" | head -1 | cut -d: -f1)
	[ $rc -eq 0 ] && signed_ok && [ -n "$opened" ] && [ -n "$renamed" ] && [ "$opened" -lt "$renamed" ] && ok ||
	    fail "a signed state sent again: exit $rc, the state opened at line ${opened:-none} of the SFTP log, the signature renamed at ${renamed:-none}: $(cat "$W/pair.err")"
else
	fail "an sshd that logs SFTP: $(cat "$W/sshd-pair.out")"
fi
# The same copy on another machine with a new store (a UTS namespace with
# another host name): a's state is recent, signed by a's key and from
# another machine, so it is refused; once that report is old, the new
# machine takes over, and the planner says whose state it now is.  A
# state is aged as a would have written it: signed again with a's key.
age_a() {
	sed -i "s/^time: .*/time: $1/" "$W/master/states/a.yaml"
	rm -f "$W/master/states/a.yaml.sig"
	ssh-keygen -Y sign -n sluice -f "$W/keys/a.key" "$W/master/states/a.yaml" >/dev/null 2>&1
}
# (a's plan is made anew from its last state, which holds the file
# whole: the new machine's agent is given nothing to fetch, and has no
# deadline to miss.)
"$plan" run -d "$W/master" -k "$W/keys/master.key" 2>/dev/null || fail "plan run before the moved-machine test"
# A clone of a's system (the same host name, but its own machine id, and
# a store of its own) with a's configuration: refused though the host
# names agree, and a's state is left alone.
sed -e "s|^root: .*|root: $W/roots/a-clone|" "$W/a.yaml" > "$W/aclone.yaml"
mkdir -p "$W/roots/a-clone"
echo 0123456789abcdef0123456789abcdef > "$W/clone-machine-id"
sum=$(cksum < "$W/master/states/a.yaml")
SLUICE_MACHINE_ID_FILE="$W/clone-machine-id" "$agent" sync -c "$W/aclone.yaml" 2>"$W/aclone.err"
rc=$?
if [ $rc -eq 78 ] && grep -q "host 'a' reported from machine $(hostname) [0-9]*s ago, and this is $(hostname) with another machine id and another store (a cloned system?): a configuration copied from another host?" "$W/aclone.err" &&
    [ "$(cksum < "$W/master/states/a.yaml")" = "$sum" ]; then ok
else fail "a cloned system with a copied configuration: exit $rc: $(cat "$W/aclone.err")"; fi
uts=""
if unshare -u true 2>/dev/null; then uts="unshare -u"
elif unshare -r -u true 2>/dev/null; then uts="unshare -r -u"; fi
if [ -n "$uts" ]; then
	sed -e "s|^root: .*|root: $W/roots/a-moved|" "$W/a.yaml" > "$W/am.yaml"
	mkdir -p "$W/roots/a-moved"
	here=$(hostname)
	sum=$(cksum < "$W/master/states/a.yaml")
	elsewhere() { $uts sh -c 'hostname sluice-elsewhere && exec "$@"' sh "$@"; }
	elsewhere "$agent" sync -c "$W/am.yaml" 2>"$W/am.err"
	rc=$?
	if [ $rc -eq 78 ] && grep -q "host 'a' reported from machine $here [0-9]*s ago, and this is sluice-elsewhere: a configuration copied from another host?" "$W/am.err" &&
	    [ "$(cksum < "$W/master/states/a.yaml")" = "$sum" ]; then ok
	else fail "copied configuration on another machine: exit $rc: $(cat "$W/am.err")"; fi
	age_a 2020-01-01T00:00:00Z
	elsewhere "$agent" sync -v -c "$W/am.yaml" >"$W/am.out" 2>"$W/am.err"
	rc=$?
	if [ $rc -eq 0 ] && grep -q "last written from machine $here, [0-9]*s ago: taken over" "$W/am.out" &&
	    grep -q "machine: sluice-elsewhere" "$W/master/states/a.yaml"; then ok
	else fail "a moved host taking over: exit $rc: $(cat "$W/am.out" "$W/am.err")"; fi
	"$plan" run -d "$W/master" -k "$W/keys/master.key" 2>"$W/am.err"
	grep -q "host a: its state now comes from machine sluice-elsewhere (store [0-9a-f]*), before from $here" "$W/am.err" &&
	    ok || fail "the planner did not flag a's new reporter: $(cat "$W/am.err")"
	"$plan" status -d "$W/master" | grep -q "host a: state now from machine sluice-elsewhere" && ok ||
	    fail "status does not show a's new reporter"
	# a itself takes its name back the same way.
	age_a 2020-01-01T00:00:00Z
	"$agent" sync -c "$W/a.yaml" 2>"$W/am.err" && "$plan" run -d "$W/master" -k "$W/keys/master.key" 2>/dev/null && ok ||
	    fail "a taking its name back: $(cat "$W/am.err")"
	# A state anyone can write stops no host: one naming another
	# machine but not signed by a's key, or signed but written in the
	# future, is not believed.
	sed -i "s/^time: .*/time: 2099-01-01T00:00:00Z/; s/machine: [^,}]*/machine: sluice-elsewhere/; s/store: [0-9a-f]*/store: 0123456789abcdef0123456789abcdef/" "$W/master/states/a.yaml"
	grep -q "machine: sluice-elsewhere" "$W/master/states/a.yaml" || fail "test: no machine to change"
	"$agent" sync -c "$W/a.yaml" 2>"$W/am.err" && ok || fail "an unsigned state stopped a: $(cat "$W/am.err")"
	sed -i "s/^time: .*/time: 2099-01-01T00:00:00Z/; s/machine: [^,}]*/machine: sluice-elsewhere/; s/store: [0-9a-f]*/store: 0123456789abcdef0123456789abcdef/" "$W/master/states/a.yaml"
	age_a 2099-01-01T00:00:00Z
	"$agent" sync -v -c "$W/a.yaml" >"$W/am.out" 2>"$W/am.err" && grep -q "in the future: not believed" "$W/am.out" && ok ||
	    fail "a state from the future stopped a: $(cat "$W/am.out" "$W/am.err")"
else
	echo "agent: skipping the moved-machine test: no UTS namespace (unshare -u)" >&2
fi
printf 'master %s\n' "$(echo "$mline" | cut -d' ' -f1,2)" > "$W/keys/allowed"
for h in m a b; do printf '%s %s\n' "$h" "$(cut -d' ' -f1,2 "$W/keys/$h.pub")" >> "$W/keys/allowed"; done
ssh-keygen -Y verify -f "$W/keys/allowed" -I master -n sluice -s "$W/master/plans/b.yaml.sig" \
    < "$W/master/plans/b.yaml" >/dev/null 2>&1 && ok || fail "ssh-keygen does not verify the plan's signature"
ssh-keygen -Y verify -f "$W/keys/allowed" -I b -n sluice -s "$W/master/states/b.yaml.sig" \
    < "$W/master/states/b.yaml" >/dev/null 2>&1 && ok || fail "ssh-keygen does not verify b's state"
ssh-keygen -Y verify -f "$W/keys/allowed" -I m -n sluice -s "$W/master/manifests/data%2Ff.bin@1.yaml.sig" \
    < "$W/master/manifests/data%2Ff.bin@1.yaml" >/dev/null 2>&1 && ok || fail "ssh-keygen does not verify m's manifest"
"$plan" check -d "$W/master" >/dev/null 2>"$W/auth.err" && ok || fail "signed master: check: $(cat "$W/auth.err")"
# A run that moves current between b's reads of its plan and of the
# plan's signature pairs nothing across epochs: both come from the set
# current named.  A second sshd serves the master through
# tests/lib/sftpswap.py, which moves current to the next epoch just
# before b opens the signature.  (Read through MASTER_DIR/plans, the
# plan of one epoch met the signature of the next: refused as forged.)
"$plan" run -d "$W/master" -k "$W/keys/master.key" 2>>"$W/auth.err"
first=$(readlink "$W/master/current")
then=$(sed -n 's/^expires: //p' "$W/master/plans/b.yaml")
"$plan" run -d "$W/master" -k "$W/keys/master.key" --now "$then" 2>>"$W/auth.err"
second=$(readlink "$W/master/current")
ln -sfn "$first" "$W/master/current"
if SSHD_EXTRA="ForceCommand python3 $top/tests/lib/sftpswap.py $W/master/current $second b.yaml.sig" \
    b_through "$W/sshd2" "$W/b2.yaml"; then
	"$agent" sync -c "$W/b2.yaml" 2>"$W/swap.err"
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$W/swap.err" ] && [ "$(readlink "$W/master/current")" = "$second" ] &&
	    [ "$(cat "$W/roots/b/.sluice/epoch")" = "${second#epochs/}" ]; then ok
	else fail "current moved between a plan and its signature: exit $rc, current $(readlink "$W/master/current"): $(cat "$W/swap.err")"; fi
	SSHD_DIR=$W/sshd2 sshd_stop
else
	fail "a second sshd: $(cat "$W/sshd2.out")"
fi
# current naming anything but an epoch's set is refused.
ln -sfn ../elsewhere "$W/master/current"
"$agent" sync -c "$W/b.yaml" 2>"$W/swap.err"
rc=$?
[ $rc -eq 65 ] && grep -q "current names '../elsewhere', not epochs/NUMBER: refused" "$W/swap.err" && ok ||
    fail "current naming ../elsewhere: exit $rc: $(cat "$W/swap.err")"
ln -sfn "$second" "$W/master/current"
# ssh-keygen -Y sign makes a state sluice takes.
cp "$W/master/states/a.yaml" "$W/a.state"
ssh-keygen -q -t ed25519 -N '' -C a2 -f "$W/keys/a2" >/dev/null
sed -i "s|key: '[^']*', address: 127.0.0.1, port: $P, root: $W/roots/a,|key: '$(cut -d' ' -f1,2 "$W/keys/a2.pub")', address: 127.0.0.1, port: $P, root: $W/roots/a,|" "$W/master/topology.yaml"
rm -f "$W/master/states/a.yaml.sig"
ssh-keygen -Y sign -n sluice -f "$W/keys/a2" "$W/master/states/a.yaml" >/dev/null 2>&1
"$plan" check -d "$W/master" >/dev/null 2>"$W/auth.err" && ok || fail "state signed by ssh-keygen: $(cat "$W/auth.err")"
# Forgeries by a host that can write the master directory (a, with its own
# key): another host's plan, a manifest, another host's state.
sed -i 's/^epoch: .*/epoch: 999/' "$W/master/plans/b.yaml"
"$agent" sync -c "$W/b.yaml" 2>"$W/forge.err"
rc=$?
if [ $rc -eq 65 ] && grep -q "plans/b.yaml.sig: does not verify: not signed by master_key: refused" "$W/forge.err"; then ok
else fail "forged plan: exit $rc: $(cat "$W/forge.err")"; fi
# A plan whose signature is not there is refused; so is one larger than
# an agent reads, never cut short (the plan and its signature are read
# together, ssh_get_pair()).
rm -f "$W/master/plans/b.yaml.sig"
"$agent" sync -c "$W/b.yaml" 2>"$W/forge.err"
rc=$?
if [ $rc -eq 65 ] && grep -q "plans/b.yaml.sig: no signature: not signed by master_key: refused" "$W/forge.err"; then ok
else fail "plan without its signature: exit $rc: $(cat "$W/forge.err")"; fi
{ cat "$W/master/plans/b.yaml"; printf '# '; head -c $((17 * MIB)) /dev/zero | tr '\0' 'x'; echo; } > "$W/big.plan"
cp "$W/big.plan" "$W/master/plans/b.yaml"
"$agent" sync -c "$W/b.yaml" 2>"$W/forge.err"
rc=$?
if [ $rc -eq 69 ] && grep -q "master: plan: .*plans/b.yaml: larger than 16777216 bytes" "$W/forge.err"; then ok
else fail "oversized plan over SFTP: exit $rc: $(head -c 600 "$W/forge.err")"; fi
M1="$W/master/manifests/data%2Ff.bin@1.yaml"
sed -i '0,/^- /s/^- .*/- 0000000000000000000000000000000000000000000000000000000000000000/' "$M1"
rm -f "$M1.sig" && ssh-keygen -Y sign -n sluice -f "$W/keys/a2" "$M1" >/dev/null 2>&1
printf 'host: b\nepoch: 9\ntime: 2026-11-30T00:00:00Z\nfiles: [{name: data/f.bin, version: 1, length: 0}]\nfailures: []\n' > "$W/master/states/b.yaml"
rm -f "$W/master/states/b.yaml.sig" && ssh-keygen -Y sign -n sluice -f "$W/keys/a2" "$W/master/states/b.yaml" >/dev/null 2>&1
"$plan" run -d "$W/master" -k "$W/keys/master.key" 2>"$W/forge.err"
if grep -q "manifests/data%2Ff.bin@1.yaml.sig: made with another key: not signed by host m's key" "$W/forge.err" &&
    grep -q "states/b.yaml.sig: made with another key: not signed by host b's key (host b planned from its last verified state)" "$W/forge.err"; then ok
else fail "forged manifest and state: $(cat "$W/forge.err")"; fi
if ! grep -q "0000000000000000000000000000000000000000000000000000000000000000" "$W/master"/plans/*.yaml; then ok
else fail "a forged checksum reached a plan"; fi

# The generator puts its own manifest back: m's next sync finds the
# master's copy (the forgery above) is not the one it sent.
"$agent" sync -c "$W/m.yaml" 2>"$W/resend.err"
if cmp -s "$M1" "$W/roots/m/.sluice/data%2Ff.bin@1.manifest.yaml" &&
    grep -q "the master's copy is not the one sent: sent again" "$W/resend.err"; then ok
else fail "the generator did not send its manifest again: $(cat "$W/resend.err")"; fi

# A plan that reads from the master's own sshd (the generator's host is
# the master's, say) reads through the session the sync opened, and
# that session carries the report: one login there for the whole sync,
# where there were three (the master's, the source's, the master's again
# to report).  A second sshd that logs each login counts them.
(
	SSHD_PORT=
	SSHD_LOGLEVEL=INFO sshd_start "$W/sshd3" >"$W/sshd3.out" 2>&1 || {
		echo "FAIL: a second sshd: $(cat "$W/sshd3.out")"; exit 1; }
	Q=$SSHD_PORT
	O=$W/one
	mkdir -p "$O/master/states" "$O/master/manifests" "$O/roots/m" "$O/roots/a"
	printf 'round: 60s\nblock_size: 1MiB\nsites:\n  - name: s\n    hosts:\n' > "$O/master/topology.yaml"
	for h in m a; do
		echo "      - {name: $h, address: 127.0.0.1, port: $Q, root: $O/roots/$h, nic: 1Gbit}" >> "$O/master/topology.yaml"
		printf 'host: %s\nroot: %s\nmaster: {address: 127.0.0.1, port: %s, dir: %s}\nidentity: %s\nknown_hosts: %s\nwait: 0s\n' \
		    "$h" "$O/roots/$h" "$Q" "$O/master" "$SSHD_KEY" "$SSHD_KNOWN_HOSTS" > "$O/$h.yaml"
	done
	echo 'files: [{name: x.bin, version: 1, generator: m, size: 1MiB}]' > "$O/master/fileset.yaml"
	head -c $MIB /dev/urandom > "$O/x.bin"
	"$agent" publish -c "$O/m.yaml" "$O/x.bin" x.bin 1 --block-size 1MiB &&
	    "$agent" sync -c "$O/m.yaml" && "$plan" run -d "$O/master" || {
		echo "FAIL: one session: setup"; exit 1; }
	grep -q "source: {host: m," "$O/master/plans/a.yaml" || {
		echo "FAIL: one session: a does not read from m"; exit 1; }
	before=$(grep -c "Accepted publickey" "$W/sshd3/sshd.log")
	"$agent" sync -c "$O/a.yaml" 2>"$O/a.err" || {
		echo "FAIL: one session: sync: $(cat "$O/a.err")"; exit 1; }
	after=$(grep -c "Accepted publickey" "$W/sshd3/sshd.log")
	cmp -s "$O/x.bin" "$O/roots/a/x.bin" || { echo "FAIL: one session: a's copy differs"; exit 1; }
	grep -q "length: $MIB" "$O/master/states/a.yaml" || {
		echo "FAIL: one session: a's report: $(cat "$O/master/states/a.yaml")"; exit 1; }
	[ $((after - before)) -eq 1 ] || {
		echo "FAIL: one session: the sync logged in $((after - before)) times"; exit 1; }
) && ok || failed=$((failed + 1))
SSHD_DIR=$W/sshd3 sshd_stop
SSHD_DIR=$W/sshd

# A relay's reader asks its source's length over a second SFTP channel
# of its session, a step at a time, so that its reads never stop for an
# ask (three round trips, on a WAN): the source's sshd, which logs each
# channel (LogLevel VERBOSE), starts two for that session.  An sshd that
# allows one session a connection refuses the second, and the reader
# asks over its only one, as it did before.  tb reads 8 MiB from ta as
# ta takes them from tg, which publishes the file afresh.  Either way tb
# learns ta's length from its hint, a symbolic link read in one round
# trip (the sshd's SFTP server logs each readlink and open), not from the
# length record, which takes three: tb opens the record only where ta's
# hint has not moved for a second (ta waiting on tg), a quarter as often
# as it reads the hint at most.
conf tg
"$agent" publish -c "$W/tg.yaml" "$W/f.bin" data/f.bin 1 --block-size 1MiB ||
    fail "ask channel: publish"
MG="$W/roots/tg/.sluice/data%2Ff.bin@1.manifest.yaml"
for most in 10 1; do
	(
		SSHD_PORT=
		SSHD_LOGLEVEL=VERBOSE SSHD_SFTP="/usr/lib/openssh/sftp-server -e -l VERBOSE 2>>$W/sftp4-$most.log" SSHD_EXTRA="Match all
	MaxSessions $most" sshd_start "$W/sshd4-$most" >"$W/sshd4.out" 2>&1 || {
			echo "FAIL: ask channel ($most): an sshd: $(cat "$W/sshd4.out")"; exit 1; }
		Q=$SSHD_PORT
		log=$W/sshd4-$most/sshd.log
		rm -rf "$W/roots/ta" "$W/roots/tb"
		conf ta; conf tb
		"$mkplan" "$MG" ta --op "tg,127.0.0.1,$Q,$W/roots/tg,0,$((8 * MIB)),8000000" > "$W/ta.plan"
		"$mkplan" "$MG" tb --op "ta,127.0.0.1,$Q,$W/roots/ta,0,$((8 * MIB)),8000000" > "$W/tb.plan"
		"$agent" run -c "$W/ta.yaml" "$W/ta.plan" 2>"$W/ta.err" & tap=$!
		until_true grep -qx "epoch 1" "$W/roots/ta/.sluice/began" || {
			echo "FAIL: ask channel ($most): ta did not begin"; exit 1; }
		"$agent" run -c "$W/tb.yaml" "$W/tb.plan" 2>"$W/tb.err"
		tb_rc=$?
		wait $tap
		ta_rc=$?
		sshd_stop
		sftp=$(grep -c "Starting session: subsystem 'sftp'" "$log")
		want=$((most > 1 ? 3 : 2))
		[ $ta_rc -eq 0 ] && [ $tb_rc -eq 0 ] && [ "$(len_of tb)" -eq $((8 * MIB)) ] &&
		    cmp -s -n $((8 * MIB)) "$W/f.bin" "$W/roots/tb/.sluice/data%2Ff.bin@1.data" || {
			echo "FAIL: ask channel ($most): exit $ta_rc/$tb_rc, tb holds $(len_of tb): $(cat "$W/ta.err" "$W/tb.err")"; exit 1; }
		[ "$sftp" -eq $want ] && { [ $most -gt 1 ] || grep -q "no more sessions" "$log"; } || {
			echo "FAIL: ask channel ($most): $sftp SFTP channels, not $want ($(grep -c "no more sessions" "$log") refused): $(cat "$log")"; exit 1; }
		hints=$(grep -c "readlink \"$W/roots/ta/.sluice/data%2Ff.bin@1.at\"" "$W/sftp4-$most.log")
		records=$(grep -c "open \"$W/roots/ta/.sluice/data%2Ff.bin@1.len\"" "$W/sftp4-$most.log")
		[ "$hints" -ge 3 ] && [ $((records * 4)) -le "$hints" ] || {
			echo "FAIL: ask channel ($most): tb read ta's hint $hints times, its record $records: $(grep "roots/ta/.sluice" "$W/sftp4-$most.log")"; exit 1; }
	) && ok || failed=$((failed + 1))
done

# A relay whose hint lags its length record (an older agent, which
# writes the record alone, or one that could neither replace nor remove
# its hint) slows its readers and never stops them: tb trusts the hint
# only while it moves, and while it does not reads the record itself
# once a second.  The relay here is the test: it lays ta's data down a
# block at a time, each followed by its record, under a hint left at 0.
rm -rf "$W/roots/ta" "$W/roots/tb"
conf ta; conf tb
TA="$W/roots/ta/.sluice"
mkdir -p "$TA"
ln -s "length 0" "$TA/data%2Ff.bin@1.at"
echo "epoch 1" > "$TA/began"
: > "$TA/data%2Ff.bin@1.data"
"$mkplan" "$MG" tb --expires-in 60 --op "$(src ta),0,$((8 * MIB)),40000000" > "$W/tb.plan"
"$agent" run -c "$W/tb.yaml" "$W/tb.plan" 2>"$W/tb.err" & tbp=$!
for i in 1 2 3 4 5 6 7 8; do
	dd if="$W/f.bin" bs=$MIB skip=$((i - 1)) count=1 2>/dev/null >> "$TA/data%2Ff.bin@1.data"
	printf 'length %d\nsize %d\n' $((i * MIB)) $((8 * MIB)) > "$TA/.len.tmp"
	mv "$TA/.len.tmp" "$TA/data%2Ff.bin@1.len"
	sleep 0.2
done
wait $tbp && [ "$(len_of tb)" -eq $((8 * MIB)) ] &&
    cmp -s -n $((8 * MIB)) "$W/f.bin" "$W/roots/tb/.sluice/data%2Ff.bin@1.data" && ok ||
    fail "a hint left behind: tb holds $(len_of tb): $(cat "$W/tb.err")"

# An ask that the source's SSH server never answers fails the op once the
# timeout has passed, and blames the source, as a read of it that timed
# out would.  The sshd tb reads ta through serves the first SFTP channel
# of a session and answers nothing on the second (the ask channel); tb's
# timeout is 1 s.  ta takes the file from tg at 2 MB/s, so tb, allowed
# 8 MB/s, catches up with it and asks.
rm -rf "$W/roots/ta" "$W/roots/tb"
conf ta
mkdir -p "$W/sess"
cat > "$W/mute-sftp" <<EOS
#!/bin/sh
# The first SFTP channel of a session (its sshd process) is served; later
# ones are answered by nothing.
if [ -e "$W/sess/\$PPID" ]; then echo \$\$ >> "$W/sess/mute"; exec sleep 600; fi
: > "$W/sess/\$PPID"
exec /usr/lib/openssh/sftp-server
EOS
chmod +x "$W/mute-sftp"
(
	SSHD_PORT=
	SSHD_SFTP="$W/mute-sftp" sshd_start "$W/sshd5" >"$W/sshd5.out" 2>&1 || {
		echo "FAIL: an unanswered ask: an sshd: $(cat "$W/sshd5.out")"; exit 1; }
	Q=$SSHD_PORT
	conf tb "$SSHD_KNOWN_HOSTS"
	sed -i 's/^timeout: .*/timeout: 1s/' "$W/tb.yaml"
	"$mkplan" "$MG" ta --op "$(src tg),0,$((8 * MIB)),2000000" > "$W/ta.plan"
	"$mkplan" "$MG" tb --expires-in 60 --op "ta,127.0.0.1,$Q,$W/roots/ta,0,$((8 * MIB)),8000000" > "$W/tb.plan"
	"$agent" run -c "$W/ta.yaml" "$W/ta.plan" 2>"$W/ta.err" & tap=$!
	until_true grep -qx "epoch 1" "$W/roots/ta/.sluice/began" || {
		echo "FAIL: an unanswered ask: ta did not begin"; exit 1; }
	"$agent" run -c "$W/tb.yaml" "$W/tb.plan" 2>"$W/tb.err"
	tb_rc=$?
	"$agent" state -c "$W/tb.yaml" > "$W/tb.state"
	kill $tap 2>/dev/null; wait $tap 2>/dev/null
	xargs kill < "$W/sess/mute" 2>/dev/null
	sshd_stop
	[ $tb_rc -eq 75 ] && grep -q "relay source ta: .*@1.at: no answer for [0-9]*s" "$W/tb.err" &&
	    grep -q "components: \['host:ta'\]" "$W/tb.state" &&
	    grep -q "error: timeout" "$W/tb.state" || {
		echo "FAIL: an unanswered ask: exit $tb_rc: $(cat "$W/tb.err" "$W/tb.state")"; exit 1; }
) && ok || failed=$((failed + 1))

echo "agent: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
