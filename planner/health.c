/*
 * health.c: what the operator must hear about the fleet beside its
 * progress.  Clocks: a state's time against the time the master's file
 * system gave its upload (the planner's clock, when both run on the
 * master), so that a host, or the master, whose clock is off is named,
 * and plans that expire before they can arrive are said to.  Cadence:
 * planning runs that come less often than the round (from the times the
 * kept epoch sets were planned) leave the network idle in between.
 * Room: hosts that report less free space than they need.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "planner.h"

static void
health_add(struct health **hs, size_t *n, enum health_kind kind,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
health_add(struct health **hs, size_t *n, enum health_kind kind,
    const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*hs = xreallocarray(*hs, *n + 1, sizeof(**hs));
	(*hs)[*n].kind = kind;
	(*hs)[*n].line = xstrdup(buf);
	(*n)++;
}

/*
 * When the kept set of epoch was planned (its ledger's issued: the
 * master's clock), or 0 when that set is not kept.
 */
time_t
health_issued(const struct master *m, uint64_t epoch)
{
	char *lp = xasprintf("%s/epochs/%llu/ledger.yaml", m->dir,
	    (unsigned long long)epoch);
	struct ledger *l = NULL;
	struct diag dg = { "" };
	time_t issued = 0;

	if (ledger_load(lp, &l, &dg) == 0 && l->epoch == epoch)
		issued = l->issued;
	ledger_free(l);
	free(lp);
	return issued;
}

/*
 * When the kept sets were planned, by epoch, as health_issued() reads
 * them: each set's ledger is read once however many states follow it
 * (at 10,000 hosts a ledger read for each state took minutes).
 */
struct issued_memo {
	uint64_t	*epochs;
	time_t		*issued;
	size_t		 n;
};

static time_t
memo_issued(const struct master *m, struct issued_memo *memo, uint64_t epoch)
{
	size_t i;

	for (i = 0; i < memo->n; i++)
		if (memo->epochs[i] == epoch)
			return memo->issued[i];
	memo->epochs = xreallocarray(memo->epochs, memo->n + 1,
	    sizeof(*memo->epochs));
	memo->issued = xreallocarray(memo->issued, memo->n + 1,
	    sizeof(*memo->issued));
	memo->epochs[memo->n] = epoch;
	return memo->issued[memo->n++] = health_issued(m, epoch);
}

/*
 * Host h's clock less the master's, as far as its state shows it: ahead
 * when the state's time is later than the master's clock when the file
 * was written on it (its modification time); behind when the state's
 * time is earlier than the plan it follows was issued (it cannot have
 * been written before).  Returns 0 with *skew set (0 when neither shows),
 * or -1 when there is nothing to measure (no state, an unusable one).
 * The kept sets' issue times are read through memo.
 */
static int
health_skew(const struct master *m, size_t h, double *skew,
    struct issued_memo *memo)
{
	const struct state *st = m->states[h];
	char *name;
	struct stat sb;
	time_t issued;
	int fd, rc;

	*skew = 0;
	if (st == NULL || m->stale[h] || m->dir == NULL ||
	    (fd = master_open_dir(m->dir, "states")) == -1)
		return -1;
	name = xasprintf("%s.yaml", m->topology->hosts[h].name);
	rc = fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW);
	close(fd);
	free(name);
	if (rc == -1 || !S_ISREG(sb.st_mode))
		return -1;
	if (difftime(st->time, sb.st_mtim.tv_sec) > 0)
		*skew = difftime(st->time, sb.st_mtim.tv_sec);
	else if (st->epoch > 0 &&
	    (issued = memo_issued(m, memo, st->epoch)) > 0 &&
	    difftime(st->time, issued) < 0)
		*skew = difftime(st->time, issued);
	return 0;
}

/* Clocks more than a tenth of the round off the master's. */
static void
health_clocks(const struct master *m, struct health **hs, size_t *n)
{
	const struct topology *t = m->topology;
	double round = t->round, skew, first = 0;
	size_t h, off = 0, measured = 0, same = 0;
	struct issued_memo memo = { NULL, NULL, 0 };

	for (h = 0; h < t->nhosts; h++) {
		if (health_skew(m, h, &skew, &memo) != 0)
			continue;
		measured++;
		if (fabs(skew) <= round / 10)
			continue;
		if (off++ == 0)
			first = skew;
		same += (skew > 0) == (first > 0);
		if (skew >= round)
			health_add(hs, n, HEALTH_CLOCK, "clock skew: host %s "
			    "is %.0fs ahead of the master's clock, more than "
			    "the round (%.0fs): its plans expire before they "
			    "can arrive, and nothing moves", t->hosts[h].name,
			    skew, round);
		else if (skew > 0)
			health_add(hs, n, HEALTH_CLOCK, "clock skew: host %s "
			    "is %.0fs ahead of the master's clock: its plans "
			    "lose %.0f%% of the round", t->hosts[h].name, skew,
			    100 * skew / round);
		else
			health_add(hs, n, HEALTH_CLOCK, "clock skew: host %s "
			    "is %.0fs or more behind the master's clock (it "
			    "reported before the plan it ran was issued): its "
			    "ops run past their plan's expiry, on capacity the "
			    "next plans give others", t->hosts[h].name, -skew);
	}
	if (off > 1 && off == measured && same == off)
		health_add(hs, n, HEALTH_CLOCK, "clock skew: every host that "
		    "reported is %s the master by about %.0fs: the master's "
		    "clock is the one to set (NTP)", first > 0 ? "ahead of" :
		    "behind", fabs(first));
	free(memo.epochs);
	free(memo.issued);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/*
 * The epochs whose sets dir's epochs/ keeps, in order, in *out (the
 * caller's, 64 at most).  Returns how many.
 */
size_t
health_epochs(const struct master *m, uint64_t **out)
{
	char *path = xasprintf("%s/epochs", m->dir);
	DIR *d = opendir(path);
	struct dirent *e;
	uint64_t *ep = xcalloc(64, sizeof(*ep));
	size_t n = 0;

	while (d != NULL && (e = readdir(d)) != NULL && n < 64) {
		size_t len = strspn(e->d_name, "0123456789");

		if (len == 0 || len > 19 || e->d_name[len] != '\0')
			continue;
		ep[n++] = strtoull(e->d_name, NULL, 10);
	}
	if (d != NULL)
		closedir(d);
	if (n > 1)
		qsort(ep, n, sizeof(*ep), cmp_u64);
	free(path);
	*out = ep;
	return n;
}

/*
 * How often planning runs come: from the times the kept epoch sets were
 * planned (epochs/N/ledger.yaml), the median gap between consecutive
 * epochs.  Returns it, or 0 when fewer than two consecutive sets are
 * kept.
 */
double
health_cadence(const struct master *m)
{
	uint64_t *ep;
	size_t n = health_epochs(m, &ep), ng = 0, i, j;
	time_t *issued = xcalloc(n ? n : 1, sizeof(*issued));
	double *gaps = xcalloc(n ? n : 1, sizeof(*gaps)), cadence = 0;

	for (i = 0; i < n; i++)
		issued[i] = health_issued(m, ep[i]);
	for (i = 1; i < n; i++)
		if (ep[i] == ep[i - 1] + 1 && issued[i] > 0 &&
		    issued[i - 1] > 0 && issued[i] > issued[i - 1])
			gaps[ng++] = difftime(issued[i], issued[i - 1]);
	/* The median, by insertion: a handful of gaps. */
	for (i = 1; i < ng; i++)
		for (j = i; j > 0 && gaps[j - 1] > gaps[j]; j--) {
			double x = gaps[j];

			gaps[j] = gaps[j - 1];
			gaps[j - 1] = x;
		}
	if (ng > 0)
		cadence = gaps[ng / 2];
	free(gaps);
	free(issued);
	free(ep);
	return cadence;
}

/* Runs that come less often than the round. */
static void
health_runs(const struct master *m, struct health **hs, size_t *n)
{
	double round = m->topology->round, every = health_cadence(m);

	if (every > 0 && every > 1.5 * round)
		health_add(hs, n, HEALTH_CADENCE, "planning runs come every "
		    "%.0fs, but the round is %.0fs: the network idles %.0fs of "
		    "every %.0fs (run sluice-plan run once a round, or make "
		    "round: %.0fs)", every, round, every - round, every, every);
}

/* Hosts that report less room than they still need. */
static void
health_space(const struct master *m, struct health **hs, size_t *n)
{
	const struct topology *t = m->topology;
	char need[32], room[32];
	size_t h;

	for (h = 0; h < t->nhosts; h++) {
		uint64_t r = space_room(m, h), nd = space_need(m, h);

		if (r == UINT64_MAX || nd <= r)
			continue;
		unit_format_size(need, sizeof(need), (double)nd);
		unit_format_size(room, sizeof(room), (double)m->states[h]->free);
		health_add(hs, n, HEALTH_SPACE, "out of space: host %s needs "
		    "%s more and has %s free: it is sent no more than fits "
		    "(a version change needs room for both versions)",
		    t->hosts[h].name, need, room);
	}
}

/*
 * Everything health.c finds in m, in *n lines the caller frees with
 * health_free().
 */
struct health *
health_find(const struct master *m, size_t *n)
{
	struct health *hs = NULL;

	*n = 0;
	if (m->dir != NULL) {
		health_clocks(m, &hs, n);
		health_runs(m, &hs, n);
	}
	health_space(m, &hs, n);
	return hs;
}

void
health_free(struct health *hs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(hs[i].line);
	free(hs);
}
