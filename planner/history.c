/*
 * history.c: status --svg, the fleet's history drawn from what the
 * master keeps (progress_history()): bytes held across the fleet, the
 * share of destination hosts complete and the plans' busiest resource,
 * from the oldest kept epoch set to the states in place; ahead of them
 * the lower bound and the ETA at the measured rate.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "planner.h"

/* The moments' points, each array the caller's. */
struct history_points {
	double		*t, *bytes, *whole, *busiest;
	double		 eta_t[2], eta_bytes[2];
};

/* Fills the points of n moments, in seconds since the first, and the
 * lines they make in c. */
static void
history_lines(struct chart *c, const struct progress_moment *mo, size_t n,
    struct history_points *hp)
{
	size_t i;

	hp->t = xcalloc(n + 1, sizeof(double));
	hp->bytes = xcalloc(n + 1, sizeof(double));
	hp->whole = xcalloc(n + 1, sizeof(double));
	hp->busiest = xcalloc(n + 1, sizeof(double));
	for (i = 0; i < n; i++) {
		hp->t[i] = difftime(mo[i].when, mo[0].when);
		hp->bytes[i] = mo[i].held.bytes;
		hp->whole[i] = mo[i].held.hosts > 0 ? 100 *
		    (double)mo[i].held.whole / (double)mo[i].held.hosts : 100;
		hp->busiest[i] = 100 * mo[i].busiest;
	}
	c->panels[0].lines[0] = (struct chart_line){ hp->t, hp->bytes, n, 0,
	    1 };
	c->panels[1].lines[0] = (struct chart_line){ hp->t, hp->whole, n, 1,
	    1 };
	c->panels[2].lines[0] = (struct chart_line){ hp->t, hp->busiest, n,
	    1, 0 };
}

/* The legend's lines and the ETA's line from the last moment. */
static void
history_legend(struct chart *c, const struct progress_moment *last,
    const struct progress *p, double tlast, struct history_points *hp)
{
	char sz[32], eta[32];

	unit_format_size(sz, sizeof(sz), p->all.need);
	snprintf(c->legend[0], sizeof(c->legend[0]), "held across the "
	    "fleet: %.1f%% of %s; %zu of %zu hosts complete",
	    p->all.need > 0 ? 100 * p->all.have / p->all.need : 100.0, sz,
	    last->held.whole, last->held.hosts);
	c->nseries = 1;
	if (p->eta <= 0)
		return;
	progress_duration(eta, sizeof(eta), p->eta);
	hp->eta_t[0] = tlast;
	hp->eta_bytes[0] = last->held.bytes;
	hp->eta_t[1] = tlast + p->eta;
	hp->eta_bytes[1] = p->all.need;
	c->panels[0].lines[1] = (struct chart_line){ hp->eta_t,
	    hp->eta_bytes, 2, 0, 0 };
	snprintf(c->legend[1], sizeof(c->legend[1]), "at the throughput "
	    "measured: ETA %s, %.1f\u00d7 the bound", eta, p->bound > 0 ?
	    p->eta / p->bound : 1.0);
	c->nseries = 2;
}

/*
 * Draws m's history into path (chart_write()), with p (measured) for
 * the bound and the ETA.  Returns 0, EX_DATAERR when nothing is kept to
 * draw, or EX_CANTCREAT (reported).
 */
int
status_svg(const char *path, struct master *m, const struct progress *p)
{
	struct progress_moment *mo;
	struct history_points hp;
	struct chart c;
	size_t n = progress_history(m, &mo);
	double tlast, ahead;
	char when[64];
	struct tm tm;
	int rc;

	memset(&hp, 0, sizeof(hp));
	memset(&c, 0, sizeof(c));
	if (n == 0) {
		warnx_("%s: no kept epoch set or state to draw", m->dir);
		free(mo);
		return EX_DATAERR;
	}
	tlast = difftime(mo[n - 1].when, mo[0].when);
	/* The bound and the ETA ahead, no further than ten times the
	 * bound or the history, whichever is more. */
	ahead = p->eta == 0 ? 0 : fmax(p->bound, 0);
	if (p->eta > 0)
		ahead = fmax(ahead, fmin(p->eta, 10 * fmax(p->bound, tlast)));
	c.tmax = tlast + ahead > 0 ? 1.03 * (tlast + ahead) :
	    m->topology->round;
	c.bound = -1;
	if (p->eta != 0 && isfinite(p->bound) && p->bound >= 0) {
		c.bound = tlast + p->bound;
		snprintf(c.bound_label, sizeof(c.bound_label), "bound: %.3gs "
		    "after the last states", p->bound);
	}
	gmtime_r(&mo[0].when, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	snprintf(c.title, sizeof(c.title), "sluice-plan status: %s", m->dir);
	if (mo[0].epoch > 0)
		snprintf(c.xlabel, sizeof(c.xlabel), "seconds since %s (epoch "
		    "%llu planned)", when, (unsigned long long)mo[0].epoch);
	else
		snprintf(c.xlabel, sizeof(c.xlabel), "seconds since %s (the "
		    "states uploaded)", when);
	c.npanels = 3;
	c.panels[0] = (struct chart_panel){ "bytes", "bytes held",
	    CHART_BYTES, p->all.need, p->all.need, "all published", {
	    { 0 } } };
	c.panels[1] = (struct chart_panel){ "hosts", "hosts complete",
	    CHART_PERCENT, 100, 0, NULL, { { 0 } } };
	c.panels[2] = (struct chart_panel){ "busiest", "busiest resource "
	    "planned", CHART_PERCENT, 100, 0, NULL, { { 0 } } };
	history_lines(&c, mo, n, &hp);
	history_legend(&c, &mo[n - 1], p, tlast, &hp);
	rc = chart_write(path, &c) == 0 ? 0 : EX_CANTCREAT;
	free(hp.t);
	free(hp.bytes);
	free(hp.whole);
	free(hp.busiest);
	free(mo);
	return rc;
}
