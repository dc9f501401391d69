# cases.sh: the sample master directories the tests plan, and the check
# of every plan, all from the project itself.  Source it with top (the
# project's directory) and plan (sluice-plan) set.
#
# CASES: the sample cases' names.  case_dir NAME: where one is: wan3 is
# examples/wan3 (the README's), the others are under tests/data/cases/.
#
# verify_plans [-q] DIR: sluice-plan verify on DIR's plans; then, where
# SLUICE_SHARED names a directory with tools/verify-plans in it, that
# independent verifier as a second check (given -q, which keeps its
# summary to itself).  Prints what either finds and returns 1 when
# either finds anything; warnings go to standard error.
# verify_trace [-q] TRACE: the same for every TRACE/round-*/ that
# sluice-plan simulate --trace wrote.  independent_note: says, once,
# whether the second check is run.

CASES="tiny partial growing wan3"
SLUICE_SHARED=${SLUICE_SHARED:-$top/../shared}
independent=$SLUICE_SHARED/tools/verify-plans
[ -x "$independent" ] || independent=""

case_dir() {
	case $1 in
	wan3) echo "$top/examples/wan3" ;;
	*) echo "$top/tests/data/cases/$1" ;;
	esac
}

independent_note() {	# independent_note SUITE
	if [ -n "$independent" ]; then
		echo "$1: plans checked by sluice-plan verify and by $independent" >&2
	else
		echo "$1: no $SLUICE_SHARED/tools/verify-plans: plans checked by sluice-plan verify alone" >&2
	fi
}

own_verify() {	# own_verify DIR: sluice-plan verify, silent when it passes
	vout=$("$plan" verify -d "$1")	# its warnings go to standard error
	vrc=$?
	[ $vrc -eq 0 ] && [ -z "$vout" ] && return 0
	printf 'sluice-plan verify: exit %s: %s\n' "$vrc" "$vout"
	return 1
}

verify_plans() {
	vq=""
	[ "$1" = -q ] && vq=-q && shift
	own_verify "$1" || return 1
	[ -z "$independent" ] && return 0
	"$independent" $vq "$1"
}

verify_trace() {
	tq=""
	[ "$1" = -q ] && tq=-q && shift
	for vround in "$1"/round-*/; do
		own_verify "$vround" || return 1
	done
	[ -z "$independent" ] && return 0
	"$independent" $tq --trace "$1"
}
