/*
 * chart.c: a simulated run drawn as SVG: the share of all bytes delivered
 * over time, the busiest resource's use in each round, and the lower
 * bound.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "planner.h"

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

/*
 * Draws the run: the share of all bytes delivered over time (a line from
 * 0 to 100%), the busiest resource's use in each round (steps), and the
 * lower bound (a dashed line).  Returns 0 or -1.
 */
int
chart_write(struct sim *s, const char *method, double makespan, double bound,
    uint64_t total)
{
	const double W = 760, H = 360, X0 = 60, Y0 = 30;
	double tmax = fmax(makespan, bound) * 1.05, x, y;
	char *tmp = xasprintf("%s.tmp", s->svg);
	size_t i;
	FILE *f;

	if (tmax <= 0)
		tmax = 1;
	if ((f = fopen(tmp, "w")) == NULL) {
		warnx_("%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
	    "height=\"%.0f\" font-family=\"sans-serif\" font-size=\"12\">\n",
	    W + 2 * X0, H + 2 * Y0 + 20);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fprintf(f, "<text x=\"%.0f\" y=\"18\" font-size=\"14\">sluice "
	    "simulate, %s: makespan %.1fs, lower bound %.1fs (ratio %.2f)"
	    "</text>\n", X0, method, makespan, bound, bound > 0 ? makespan /
	    bound : 0.0);
	fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
	    "fill=\"none\" stroke=\"#888\"/>\n", X0, Y0, W, H);
	for (i = 0; i <= 4; i++) {
		y = Y0 + H - H * (double)i / 4;
		fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">"
		    "%zu%%</text>\n", X0 - 6, y + 4, i * 25);
		fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">"
		    "%.0fs</text>\n", X0 + W * (double)i / 4, Y0 + H + 16,
		    tmax * (double)i / 4);
	}
	x = X0 + W * bound / tmax;
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" "
	    "stroke=\"#090\" stroke-dasharray=\"5,4\"/>\n", x, Y0, x, Y0 + H);
	fprintf(f, "<polyline fill=\"none\" stroke=\"#c60\" "
	    "stroke-width=\"1.5\" points=\"");
	for (i = 0; i < s->nsamples; i++) {
		double t0 = i == 0 ? 0 : s->samples[i - 1].end;

		y = Y0 + H - H * fmin(1, s->samples[i].busiest);
		fprintf(f, "%.1f,%.1f %.1f,%.1f ", X0 + W * t0 / tmax, y,
		    X0 + W * fmin(s->samples[i].end, tmax) / tmax, y);
	}
	fprintf(f, "\"/>\n<polyline fill=\"none\" stroke=\"#06c\" "
	    "stroke-width=\"2\" points=\"%.1f,%.1f ", X0, Y0 + H);
	for (i = 0; i < s->nsamples; i++)
		fprintf(f, "%.1f,%.1f ", X0 + W * fmin(s->samples[i].end, tmax) /
		    tmax, Y0 + H - H * (total ? (double)s->samples[i].delivered /
		    (double)total : 1));
	fprintf(f, "\"/>\n");
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#06c\">bytes "
	    "delivered</text>\n", X0, Y0 + H + 36);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#c60\">busiest "
	    "resource's use per round", X0 + 150, Y0 + H + 36);
	if (s->nsamples > 0) {
		fputs(" (first: ", f);
		svg_escape(f, s->t->resources[s->samples[0].resource].id);
		fputc(')', f);
	}
	fprintf(f, "</text>\n<text x=\"%.0f\" y=\"%.0f\" fill=\"#090\">lower "
	    "bound</text>\n</svg>\n", X0 + 560, Y0 + H + 36);
	if (fclose(f) != 0 || rename(tmp, s->svg) != 0) {
		warnx_("%s: %s", s->svg, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

