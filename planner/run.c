/*
 * run.c: sluice-plan run, one planning run: the master directory loaded,
 * one round planned (sched/round.c), the set written (master/epoch.c).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <time.h>

#include <openssl/crypto.h>

#include "planner.h"

/*
 * With --replan, the least life of plans that expire before the grid: a
 * round shorter would be mostly the agents' start and the planner's own
 * run (which also bounds it: three times what the run has taken when
 * its plans are made).
 */
#define REPLAN_MIN 2.0

/*
 * When the plans of a run that starts at now (seconds, with its fraction)
 * expire: at the first boundary of the round's grid, the multiples of the
 * round since 1970-01-01T00:00:00Z where cron starts the next run, that
 * is half a round or more away, down to a whole second.  A run on time
 * makes plans a round long; a run that starts late (a busy master, or one
 * that waited on the lock) makes shorter plans that end where a run on
 * time would have ended them, so that the next run finds every host done
 * and plans it afresh; a run later than half a round makes plans that
 * last past the next boundary, and the run there leaves them be.
 */
static time_t
expiry_on_grid(double now, double round)
{
	double boundary = ceil((now + round / 2) / round) * round;
	time_t expires = (time_t)floor(boundary + 1e-6);

	return expires > (time_t)now ? expires : (time_t)now + 1;
}

static void
usage_run(void)
{
	fprintf(stderr, "usage: sluice-plan run -d DIR [-k KEY] "
	    "[--method lp|greedy] [--now TIME | --replan] [-v]\n");
}

/* sluice-plan run's options. */
struct run_args {
	const char	*dir;
	const char	*keypath;	/* NULL: the default key, if any */
	struct plan_options opt;
	struct timespec	 clock;		/* the run's start, or --now */
	time_t		 now;
	int		 fixed;		/* --now given */
	int		 replan;	/* --replan */
	time_t		 grid;		/* the first round's expiry on the
					 * grid, once planned */
	unsigned	 rounds;	/* rounds this run has planned */
	double		 took;		/* seconds the last one took, all
					 * told */
	uint64_t	 epoch;		/* the set it wrote last */
	int		 verbose;
};

/* Parses sluice-plan run's options into a; returns 0 or EX_USAGE, said. */
static int
parse_run_args(int argc, char **argv, struct run_args *a)
{
	static const struct option longopts[] = {
		{ "method", required_argument, NULL, 'm' },
		{ "now", required_argument, NULL, 'n' },
		{ "replan", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(a, 0, sizeof(*a));
	a->opt.method = METHOD_LP;
	clock_gettime(CLOCK_REALTIME, &a->clock);
	a->now = a->clock.tv_sec;
	while ((ch = getopt_long(argc, argv, "d:k:v", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'd':
			a->dir = optarg;
			break;
		case 'k':
			a->keypath = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "lp") == 0)
				a->opt.method = METHOD_LP;
			else if (strcmp(optarg, "greedy") == 0)
				a->opt.method = METHOD_GREEDY;
			else {
				warnx_("run: unknown method '%s'", optarg);
				return EX_USAGE;
			}
			break;
		case 'n':
			if (time_parse(optarg, &a->now) != 0) {
				warnx_("run: --now: '%s' is not a time like "
				    "2026-11-25T08:00:00Z", optarg);
				return EX_USAGE;
			}
			a->fixed = 1;
			break;
		case 'r':
			a->replan = 1;
			break;
		case 'v':
			a->verbose = 1;
			break;
		default:
			usage_run();
			return EX_USAGE;
		}
	}
	if (a->dir == NULL || optind != argc || (a->replan && a->fixed)) {
		usage_run();
		return EX_USAGE;
	}
	return 0;
}

/* Prints what a run did and how long each stage took (-v). */
static void
print_run(const struct ledger *l, const struct round_stats *st,
    double load_seconds, double write_seconds, time_t expires)
{
	char when[32];

	printf("epoch %" PRIu64 ": %zu hosts planned, %zu kept, %zu "
	    "ops, %" PRIu64 " bytes scheduled, method %s (%zu demands, "
	    "%zu candidates, LP %.2fs%s)\n", l->epoch, st->planned,
	    st->kept, st->ops, st->bytes, l->method, st->demands,
	    st->candidates, st->lp_seconds, st->lp_fallbacks ?
	    ", greedy fallback" : "");
	printf("seconds: load %.2f, demands %.2f, allocation %.2f, "
	    "plans %.2f, write %.2f\n", load_seconds, st->demand_seconds,
	    st->allocate_seconds, st->plans_seconds, write_seconds);
	if (st->shapes > 1)
		printf("shapes: %zu forests planned, the %s kept\n",
		    st->shapes, st->shape);
	time_format(when, sizeof(when), expires);
	printf("expires: %s\n", when);
	if (st->probe)
		printf("probe: the first set of a file version, planned "
		    "again when it expires\n");
	if (st->unheard > 0)
		printf("unheard: no host has reported since the last set: "
		    "the master's silence; %zu of the %zu hosts whose plans "
		    "expired are planned as heard\n", st->unheard, st->ended);
}

/*
 * One round: the directory and its ledger loaded, the running plans read
 * back, the round planned, what no round can move noted and the set
 * written.  *expires is when its plans expire: the round's grid, never
 * past a->grid once that is set, or sooner (--replan).
 */
static int
run_round(struct run_args *a, struct sshkey *key, time_t *expires)
{
	struct master *m = NULL;
	struct ledger *l = NULL;
	struct plan **old = NULL, **plans = NULL;
	struct round_stats st;
	double t0 = clock_mono(), t1, t2;
	uint64_t was;
	size_t h;
	int rc;

	if ((rc = master_load(a->dir, &m, a->verbose)) != 0 ||
	    (rc = master_key_required(m->topology, key != NULL)) != 0 ||
	    (rc = master_ledger(a->dir, &l)) != 0)
		goto out;
	/* The plans running: read back from the last set, as signed. */
	m->master_pub = key;
	was = l->epoch;
	old = epoch_plans(m, was);
	epoch_plans_running(m, was, old, a->now);
	/* Plans expire on the round's grid; ops are sized to the time that
	 * leaves, less what the clock is past now. */
	if (!a->fixed)
		a->opt.late = (double)a->clock.tv_nsec / 1e9;
	*expires = expiry_on_grid((double)a->now + a->opt.late,
	    m->topology->round);
	if (a->grid == 0)
		a->grid = *expires;
	else if (*expires > a->grid)
		*expires = a->grid;
	a->opt.window = (double)(*expires - a->now) - a->opt.late;
	if (a->replan) {
		a->opt.early = fmax(REPLAN_MIN, 2 * a->took);
		a->opt.started = t0;
	}
	t1 = clock_mono();
	rc = plan_round_with(m, l, old, &a->opt, a->now, *expires, &plans,
	    &st);
	t2 = clock_mono();
	if (rc == 0)
		*expires = st.expires;
	/* What no round can move, said when it begins; a clock that is
	 * off, every run until it is set (once, not every round of it). */
	if (rc == 0 && a->rounds == 0) {
		struct health *hs;
		size_t nh, i;

		stalls_note(m, l);
		hs = health_find(m, &nh);
		for (i = 0; i < nh; i++)
			if (hs[i].kind == HEALTH_CLOCK)
				warnx_("%s", hs[i].line);
		health_free(hs, nh);
	}
	if (rc == 0) {
		struct fileref *due;
		size_t ndue, i;

		/* Versions retired long enough: every host removes them. */
		retire_due(m, a->now, &due, &ndue);
		retire_plans(plans, m->topology->nhosts, due, ndue);
		for (i = 0; i < ndue; i++)
			free(due[i].name);
		free(due);
		rc = epoch_write(a->dir, m, plans, old, was, l, key);
	}
	if (rc == 0) {
		retire_manifests(a->dir, m, l->epoch, a->now);
		a->epoch = l->epoch;
		a->rounds++;
	}
	if (rc == 0 && a->verbose)
		print_run(l, &st, t1 - t0, clock_mono() - t2, *expires);
out:
	for (h = 0; m != NULL && h < m->topology->nhosts; h++) {
		if (old != NULL)
			plan_free(old[h]);
		if (plans != NULL)
			plan_free(plans[h]);
	}
	free(old);
	free(plans);
	ledger_free(l);
	master_free(m);
	return rc;
}

/*
 * Takes the lock again after a sleep of --replan, waiting a little for a
 * short holder (sluice-plan forgive); -1 when another holds it longer or
 * has written a set since this run's last (another run plans now).
 */
static int
relock(const struct run_args *a)
{
	int lock, tries;

	for (tries = 0; tries < 40; tries++) {
		if ((lock = master_lock(a->dir, 0)) >= 0)
			break;
		if (lock != -1)
			return -1;
		nanosleep(&(struct timespec){ 0, 50000000L }, NULL);
	}
	if (lock >= 0 && master_current(a->dir) != a->epoch) {
		close(lock);
		return -1;
	}
	return lock;
}

/*
 * sluice-plan run: under the master directory's lock, one round planned
 * (run_round()).  With --replan, a round whose plans expire before the
 * round's grid, their work done, is planned again when they expire, and
 * so on until a round's plans last to the grid, where cron starts the
 * next run.
 */
int
cmd_run(int argc, char **argv)
{
	struct run_args a;
	struct sshkey key;
	time_t expires = 0;
	int rc, lock = -1, signing;

	memset(&key, 0, sizeof(key));
	if ((rc = parse_run_args(argc, argv, &a)) != 0)
		return rc;
	if ((signing = master_key(a.keypath, &key)) < 0) {
		rc = EX_NOINPUT;
		goto out;
	}
	/* One run at a time: a second one, as when cron overlaps a slow
	 * run, leaves at once and the epochs never fork. */
	if ((lock = master_lock(a.dir, a.verbose)) < 0) {
		rc = lock == -1 ? 0 : EX_CANTCREAT;
		goto out;
	}
	for (;;) {
		double r0 = clock_mono();

		if ((rc = run_round(&a, signing ? &key : NULL, &expires)) !=
		    0 || !a.replan)
			break;
		a.took = clock_mono() - r0;
		/* The first round's grid bounds every later round. */
		if (expires >= a.grid)
			break;
		/* The lock is let go while the run sleeps: sluice-plan
		 * forgive, say, may take it meanwhile. */
		close(lock);
		lock = -1;
		sleep_until(clock_mono_of((double)expires));
		/* Another round only with room for it before the grid, where
		 * cron starts the next run (the plans just made left it, as
		 * long as the run wakes within a second): a run that was
		 * stopped, or a clock that was stepped, leaves it to that
		 * run. */
		if (clock_mono_of((double)a.grid) - clock_mono() + 1 <
		    fmax(REPLAN_MIN, 2 * a.took) || (lock = relock(&a)) < 0)
			break;
		clock_gettime(CLOCK_REALTIME, &a.clock);
		a.now = a.clock.tv_sec;
	}
out:
	if (lock >= 0)
		close(lock);
	OPENSSL_cleanse(&key, sizeof(key));
	return rc;
}
