/*
 * chart.c: simulated runs drawn as SVG: for each method the share of all
 * bytes delivered over time, the lower bound (a dashed line), and with a
 * single method the busiest resource's use in each round.  The time axis
 * ends at the latest makespan (or the bound), with ticks at round numbers;
 * a method over ten times the bound runs off its right edge.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"

static void
svg_escape(FILE *f, const char *text)
{
	for (; *text; text++)
		if (*text == '<')
			fputs("&lt;", f);
		else if (*text == '>')
			fputs("&gt;", f);
		else if (*text == '&')
			fputs("&amp;", f);
		else
			fputc(*text, f);
}

/* A tick step of 1, 2 or 5 times a power of ten giving 4 to 10 ticks. */
static double
tick_step(double span)
{
	double p = pow(10, floor(log10(span / 5))), m[] = { 1, 2, 5, 10 };
	size_t i;

	for (i = 0; i < 4; i++)
		if (span / (m[i] * p) <= 10)
			return m[i] * p;
	return 10 * p;
}

static const char *const colours[] = { "#06c", "#c33", "#a60", "#777",
	"#609" };

/*
 * Draws the outcomes of n methods with the lower bound.  Returns 0 or -1
 * (reported); the file is replaced whole.
 */
int
chart_write(const char *path, const struct sim_outcome *o, size_t n,
    double bound)
{
	const double W = 760, H = 360, X0 = 60, Y0 = 30;
	double tmax = bound, step, t, x, y;
	char *tmp = xasprintf("%s.tmp", path);
	size_t i, k;
	FILE *f;

	/* A method ten times the bound runs off the chart rather than
	 * flatten the others (its legend gives its makespan). */
	for (k = 0; k < n; k++)
		if (o[k].makespan <= 10 * bound || n == 1)
			tmax = fmax(tmax, o[k].makespan);
	if (!(tmax > 0))
		tmax = 1;
	if ((f = fopen(tmp, "w")) == NULL) {
		warnx_("%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
	    "height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
	    W + 2 * X0, H + 2 * Y0 + 20 + 16 * (double)n);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(f, "<text x=\"%.0f\" y=\"18\" font-size=\"14\">sluice "
	    "simulate: bytes delivered over time; lower bound %.1fs</text>\n",
	    X0, bound);
	fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
	    "fill=\"none\" stroke=\"#888\"/>\n", X0, Y0, W, H);
	for (i = 0; i <= 4; i++) {
		y = Y0 + H - H * (double)i / 4;
		fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">"
		    "%zu%%</text>\n", X0 - 6, y + 4, i * 25);
	}
	step = tick_step(tmax);
	for (t = 0; t <= tmax * (1 + 1e-9); t += step)
		fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">"
		    "%gs</text>\n", X0 + W * t / tmax, Y0 + H + 16, t);
	x = X0 + W * bound / tmax;
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" "
	    "stroke=\"#090\" stroke-dasharray=\"5,4\"/>\n", x, Y0, x, Y0 + H);
	if (n == 1 && o[0].nsamples > 0) {
		fprintf(f, "<polyline fill=\"none\" stroke=\"#c60\" "
		    "stroke-width=\"1\" points=\"");
		for (i = 0; i < o[0].nsamples; i++) {
			double t0 = i == 0 ? 0 : o[0].samples[i - 1].end;
			double t1 = fmin(o[0].samples[i].end, tmax);

			y = Y0 + H - H * fmin(1, o[0].samples[i].busiest);
			fprintf(f, "%.1f,%.1f %.1f,%.1f ", X0 + W * fmin(t0,
			    tmax) / tmax, y, X0 + W * t1 / tmax, y);
		}
		fprintf(f, "\"/>\n");
	}
	for (k = 0; k < n; k++) {
		fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" "
		    "stroke-width=\"2\" points=\"%.1f,%.1f ", colours[k % 5],
		    X0, Y0 + H);
		for (i = 0; i < o[k].nsamples; i++) {
			double share = o[k].total ?
			    (double)o[k].samples[i].delivered /
			    (double)o[k].total : 1;

			/* The last round ends at the makespan. */
			t = i + 1 == o[k].nsamples ? o[k].makespan :
			    o[k].samples[i].end;
			fprintf(f, "%.1f,%.1f ", X0 + W * fmin(t, tmax) / tmax,
			    Y0 + H - H * share);
		}
		fprintf(f, "\"/>\n<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">",
		    X0, Y0 + H + 36 + 16 * (double)k, colours[k % 5]);
		svg_escape(f, o[k].method);
		fprintf(f, ": makespan %.1fs (%.2f of the bound)", o[k].makespan,
		    bound > 0 ? o[k].makespan / bound : 0.0);
		if (n == 1) {
			fprintf(f, "</text>\n<text x=\"%.0f\" y=\"%.0f\" "
			    "fill=\"#c60\">busiest resource's use per round "
			    "(first: ", X0 + 330, Y0 + H + 36);
			svg_escape(f, o[k].busiest);
			fputc(')', f);
		}
		fprintf(f, "</text>\n");
	}
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#090\" "
	    "text-anchor=\"end\">lower bound</text>\n</svg>\n", X0 + W,
	    Y0 + H + 36);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		warnx_("%s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}
