/*
 * chart.c: charts as plain SVG: panels stacked over one time axis, each
 * with its own y axis (bytes in GiB, MiB or KiB, or percent), a line per
 * series in the series' colour and dash, the bound as a dashed vertical
 * line across every panel, and a legend line per series.  Lines past
 * the axis's end are clipped there.  The file is written atomically.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

/* The page: a left margin for the y axes, the plot, a right margin. */
#define PAGE_W		960.0
#define PLOT_X		96.0
#define PLOT_W		830.0
#define TOP		56.0	/* the first panel's frame */
#define PANEL_GAP	26.0
#define PANEL_PAD	6.0	/* between the y axis's ends and the frame */
#define LEGEND_ROW	20.0

static const char *const colours[CHART_SERIES] = { "#1f77b4", "#d62728",
	"#2ca02c", "#9467bd" };
/* Dashes, so that lines on top of one another still show each. */
static const char *const dashes[CHART_SERIES] = { "none", "9,5", "3,3",
	"12,4,3,4" };

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
		else if (*text == '"')
			fputs("&quot;", f);
		else
			fputc(*text, f);
}

/* A tick step of 1, 2 or 5 times a power of ten giving 4 to 10 ticks. */
static double
tick_step(double span)
{
	double p, m[] = { 1, 2, 5, 10 };
	size_t i;

	if (!(span > 0))
		return 1;
	p = pow(10, floor(log10(span / 5)));
	for (i = 0; i < 4; i++)
		if (span / (m[i] * p) <= 10)
			return m[i] * p;
	return 10 * p;
}

/* A panel's height: the bytes panel is the chart's main one. */
static double
panel_height(const struct chart_panel *p)
{
	return p->scale == CHART_BYTES ? 230 : 150;
}

/* The top of panel i's frame. */
static double
panel_top(const struct chart *c, size_t i)
{
	double y = TOP;
	size_t k;

	for (k = 0; k < i; k++)
		y += panel_height(&c->panels[k]) + PANEL_GAP;
	return y;
}

/* The binary unit bytes up to ymax are shown in, and its name. */
static double
bytes_unit(double ymax, const char **name)
{
	if (ymax >= 1024.0 * 1024 * 1024) {
		*name = "GiB";
		return 1024.0 * 1024 * 1024;
	}
	if (ymax >= 1024.0 * 1024) {
		*name = "MiB";
		return 1024.0 * 1024;
	}
	*name = "KiB";
	return 1024;
}

/* Where a panel's y value is on the page: 0 and the top of the axis a
 * little inside the frame, so that a line there is not hidden by it. */
static double
panel_y(const struct chart_panel *p, double top, double v)
{
	double h = panel_height(p) - 2 * PANEL_PAD;
	double max = p->scale == CHART_PERCENT ? 100 : p->ymax > 0 ?
	    p->ymax : 1;

	return top + PANEL_PAD + h - h * v / max;
}

/* The y axis: ticks, grid lines and its label, turned on its side. */
static void
draw_y_axis(FILE *f, const struct chart_panel *p, double top)
{
	double h = panel_height(p), unit = 1, max, step, v, y;
	const char *uname = "%";

	if (p->scale == CHART_BYTES)
		unit = bytes_unit(p->ymax, &uname);
	max = p->scale == CHART_PERCENT ? 100 : p->ymax / unit;
	step = p->scale == CHART_PERCENT ? 25 : tick_step(max);
	for (v = 0; v <= max * (1 + 1e-9); v += step) {
		y = panel_y(p, top, v * unit);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		    "y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", PLOT_X, y,
		    PLOT_X + PLOT_W, y);
		/* No label that would touch the panel above. */
		if (y - top >= 6 || v == 0 || p->scale == CHART_PERCENT)
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" "
			    "text-anchor=\"end\">%g</text>\n", PLOT_X - 8,
			    y + 4, v);
	}
	fprintf(f, "<text transform=\"translate(%.1f,%.1f) rotate(-90)\" "
	    "text-anchor=\"middle\" font-size=\"13\">", PLOT_X - 52,
	    top + h / 2);
	svg_escape(f, p->label);
	fprintf(f, " (%s)</text>\n", uname);
}

/* The time axis's vertical grid lines in a panel, and under the last
 * panel its tick labels and its label. */
static void
draw_time_axis(FILE *f, const struct chart *c, double top, double h,
    int labels)
{
	double step = tick_step(c->tmax), t, x;

	for (t = 0; t <= c->tmax * (1 + 1e-9); t += step) {
		x = PLOT_X + PLOT_W * t / c->tmax;
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		    "y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", x, top, x, top + h);
		if (labels)
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" "
			    "text-anchor=\"middle\">%g</text>\n", x,
			    top + h + 18, t);
	}
	if (labels) {
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
		    "font-size=\"13\">", PLOT_X + PLOT_W / 2, top + h + 40);
		svg_escape(f, c->xlabel);
		fprintf(f, "</text>\n");
	}
}

/*
 * One line's points, at most one every half pixel: a step line keeps
 * the highest level of the points it merges, so that no peak is lost;
 * the points stop at the first past the axis's end, which the clip
 * cuts at the edge.
 */
static void
draw_points(FILE *f, const struct chart *c, const struct chart_panel *p,
    double top, const struct chart_line *l)
{
	double cx = 0, cy = 0, x = 0;
	size_t i;

	for (i = 0; i < l->n; i++) {
		x = PLOT_X + PLOT_W * l->t[i] / c->tmax;
		if (i == 0) {
			cx = x;
			cy = l->y[0];
			continue;
		}
		if (x - cx < 0.5 && i + 1 < l->n) {
			if (l->steps)
				cy = fmax(cy, l->y[i]);
			continue;
		}
		fprintf(f, "%.1f,%.1f ", cx, panel_y(p, top, cy));
		if (l->steps)
			fprintf(f, "%.1f,%.1f ", x, panel_y(p, top, cy));
		cx = x;
		cy = l->y[i];
		if (x > PLOT_X + PLOT_W)
			break;
	}
	if (l->n > 0)
		fprintf(f, "%.1f,%.1f", cx, panel_y(p, top, cy));
}

/* Series k's line in panel p, and its dots where asked. */
static void
draw_line(FILE *f, const struct chart *c, const struct chart_panel *p,
    double top, size_t k)
{
	const struct chart_line *l = &p->lines[k];
	size_t i;

	if (l->n == 0)
		return;
	fprintf(f, "<polyline class=\"series-%zu\" fill=\"none\" "
	    "stroke=\"%s\" stroke-width=\"2.5\" stroke-dasharray=\"%s\" "
	    "stroke-linejoin=\"round\" points=\"", k, colours[k], dashes[k]);
	draw_points(f, c, p, top, l);
	fprintf(f, "\"/>\n");
	for (i = 0; l->marks && i < l->n; i++)
		fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" "
		    "fill=\"%s\"/>\n", PLOT_X + PLOT_W * l->t[i] / c->tmax,
		    panel_y(p, top, l->y[i]), colours[k]);
}

/* Panel i: its frame (with an id to find it by), axes, lines, level. */
static void
draw_panel(FILE *f, const struct chart *c, size_t i)
{
	const struct chart_panel *p = &c->panels[i];
	double top = panel_top(c, i), h = panel_height(p), y;
	size_t k;

	draw_time_axis(f, c, top, h, i + 1 == c->npanels);
	draw_y_axis(f, p, top);
	if (p->level > 0) {
		y = panel_y(p, top, p->level);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		    "y2=\"%.1f\" stroke=\"#888\" stroke-dasharray=\"2,3\"/>\n"
		    "<text x=\"%.1f\" y=\"%.1f\" fill=\"#555\">", PLOT_X, y,
		    PLOT_X + PLOT_W, y, PLOT_X + 6, y + 15);
		svg_escape(f, p->level_label);
		fprintf(f, "</text>\n");
	}
	fprintf(f, "<clipPath id=\"clip-%zu\"><rect x=\"%.1f\" y=\"%.1f\" "
	    "width=\"%.1f\" height=\"%.1f\"/></clipPath>\n<g clip-path="
	    "\"url(#clip-%zu)\">\n", i, PLOT_X, top - 3, PLOT_W, h + 6, i);
	for (k = 0; k < c->nseries; k++)
		draw_line(f, c, p, top, k);
	fprintf(f, "</g>\n<rect id=\"");
	svg_escape(f, p->id);
	fprintf(f, "\" class=\"panel\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
	    "height=\"%.1f\" fill=\"none\" stroke=\"#666\"/>\n", PLOT_X, top,
	    PLOT_W, h);
}

/* The bound: a dashed line down every panel, labelled above the first. */
static void
draw_bound(FILE *f, const struct chart *c)
{
	double x = PLOT_X + PLOT_W * c->bound / c->tmax, top;
	size_t i;

	if (c->bound < 0 || c->bound > c->tmax)
		return;
	for (i = 0; i < c->npanels; i++) {
		top = panel_top(c, i);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		    "y2=\"%.1f\" stroke=\"#222\" stroke-width=\"1.5\" "
		    "stroke-dasharray=\"6,4\"/>\n", x, top - (i == 0 ? 6 : 0),
		    x, top + panel_height(&c->panels[i]));
	}
	/* Its label leans away from the nearer edge. */
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" "
	    "font-weight=\"bold\">", x, TOP - 10, x > PLOT_X + PLOT_W - 160 ?
	    "end" : x < PLOT_X + 160 ? "start" : "middle");
	svg_escape(f, c->bound_label);
	fprintf(f, "</text>\n");
}

/* The legend: a stretch of each series' line and its text. */
static void
draw_legend(FILE *f, const struct chart *c, double y)
{
	size_t k;

	for (k = 0; k < c->nseries; k++, y += LEGEND_ROW) {
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		    "y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2.5\" "
		    "stroke-dasharray=\"%s\"/>\n<text x=\"%.1f\" y=\"%.1f\">",
		    PLOT_X, y - 4, PLOT_X + 36, y - 4, colours[k], dashes[k],
		    PLOT_X + 46, y);
		svg_escape(f, c->legend[k]);
		fprintf(f, "</text>\n");
	}
}

/* The whole chart into f. */
static void
draw_chart(FILE *f, const struct chart *c)
{
	double bottom = panel_top(c, c->npanels - 1) +
	    panel_height(&c->panels[c->npanels - 1]);
	size_t i;

	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"%.0f\" height=\"%.0f\" font-family=\"DejaVu Sans, "
	    "sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" "
	    "height=\"100%%\" fill=\"white\"/>\n<text x=\"%.1f\" y=\"22\" "
	    "font-size=\"16\" font-weight=\"bold\">", PAGE_W,
	    bottom + 64 + LEGEND_ROW * (double)(c->nseries ? c->nseries : 1),
	    PLOT_X);
	svg_escape(f, c->title);
	fprintf(f, "</text>\n");
	for (i = 0; i < c->npanels; i++)
		draw_panel(f, c, i);
	draw_bound(f, c);
	draw_legend(f, c, bottom + 70);
	fprintf(f, "</svg>\n");
}

/*
 * Draws c into path, replacing it whole (atomic_write()).  Returns 0 or
 * -1 (reported).
 */
int
chart_write(const char *path, const struct chart *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (c->npanels == 0 || c->npanels > CHART_PANELS ||
	    c->nseries > CHART_SERIES || !(c->tmax > 0)) {
		warnx_("%s: nothing to chart", path);
		return -1;
	}
	if ((f = open_memstream(&buf, &len)) == NULL) {
		warnx_("%s: %s", path, strerror(errno));
		return -1;
	}
	draw_chart(f, c);
	if (fclose(f) != 0) {
		warnx_("%s: %s", path, strerror(errno));
		free(buf);
		return -1;
	}
	rc = atomic_write(path, buf, len);
	free(buf);
	return rc;
}
