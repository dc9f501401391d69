# chart.sh: look_at_chart SVG [ARGS...]: renders SVG to SVG.png with
# rsvg-convert and looks at both with tests/chart.py ARGS.  Returns 0
# when the chart shows what it must, 1 when not (what is wrong in
# chart_wrong), 2 when there is no rsvg-convert (said on standard error;
# make deps installs librsvg2-bin).  Source it with top set.

look_at_chart() {
	svg=$1
	shift
	chart_wrong=""
	if ! command -v rsvg-convert >/dev/null 2>&1; then
		echo "no rsvg-convert (make deps installs librsvg2-bin): ${svg##*/} is not looked at" >&2
		return 2
	fi
	if ! chart_wrong=$(rsvg-convert "$svg" -o "$svg.png" 2>&1); then
		chart_wrong="rsvg-convert: $chart_wrong"
		return 1
	fi
	chart_wrong=$(python3 "$top/tests/chart.py" "$svg" "$svg.png" "$@" 2>&1)
}
