/*
 * run.c: sluice-plan run, one planning run: the master directory loaded,
 * one round planned (round.c), the set written (epoch.c).
 */
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
	    "[--method lp|greedy] [--now TIME] [-v]\n");
}

int
cmd_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "method", required_argument, NULL, 'm' },
		{ "now", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL;
	struct plan_options opt = { METHOD_LP, 0, 0 };
	struct master *m = NULL;
	struct ledger *l = NULL;
	struct plan **old = NULL, **plans = NULL;
	struct round_stats st;
	double t0 = elapsed(), t1, t2;
	struct timespec clock;
	time_t now, expires = 0;
	size_t h;
	int ch, rc, verbose = 0, fixed = 0, lock;
	const char *keypath = NULL;
	struct sshkey key;
	int signing;

	clock_gettime(CLOCK_REALTIME, &clock);
	now = clock.tv_sec;
	while ((ch = getopt_long(argc, argv, "d:k:v", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'k':
			keypath = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "lp") == 0)
				opt.method = METHOD_LP;
			else if (strcmp(optarg, "greedy") == 0)
				opt.method = METHOD_GREEDY;
			else {
				warnx_("run: unknown method '%s'", optarg);
				return EX_USAGE;
			}
			break;
		case 'n':
			if (time_parse(optarg, &now) != 0) {
				warnx_("run: --now: '%s' is not a time like "
				    "2026-11-25T08:00:00Z", optarg);
				return EX_USAGE;
			}
			fixed = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage_run();
			return EX_USAGE;
		}
	}
	if (dir == NULL || optind != argc) {
		usage_run();
		return EX_USAGE;
	}
	if ((signing = master_key(keypath, &key)) < 0)
		return EX_NOINPUT;
	/* One run at a time: a second one, as when cron overlaps a slow
	 * run, leaves at once and the epochs never fork. */
	if ((lock = master_lock(dir, verbose)) < 0)
		return lock == -1 ? 0 : EX_CANTCREAT;
	if ((rc = master_load(dir, &m, verbose)) != 0 ||
	    (rc = master_key_required(m->topology, signing)) != 0) {
		master_free(m);
		close(lock);
		return rc;
	}
	if ((rc = master_ledger(dir, &l)) != 0) {
		master_free(m);
		close(lock);
		return rc;
	}
	/* The plans running: read back from the last set, as signed. */
	m->master_pub = signing ? &key : NULL;
	old = epoch_plans(m, l->epoch);
	/* Plans expire on the round's grid; ops are sized to the time that
	 * leaves, less what the clock is past now. */
	if (!fixed)
		opt.late = (double)clock.tv_nsec / 1e9;
	expires = expiry_on_grid((double)now + opt.late, m->topology->round);
	opt.window = (double)(expires - now) - opt.late;
	t1 = elapsed();
	rc = plan_round_with(m, l, old, &opt, now, expires, &plans, &st);
	t2 = elapsed();
	/* What no round can move, said when it begins; a clock that is
	 * off, every run until it is set. */
	if (rc == 0) {
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
		retire_due(m, now, &due, &ndue);
		retire_plans(plans, m->topology->nhosts, due, ndue);
		for (i = 0; i < ndue; i++)
			free(due[i].name);
		free(due);
		rc = epoch_write(dir, m, plans, old, l, signing ? &key :
		    NULL);
	}
	if (rc == 0)
		retire_manifests(dir, m, l->epoch, now);
	if (rc == 0 && verbose) {
		printf("epoch %" PRIu64 ": %zu hosts planned, %zu kept, %zu "
		    "ops, %" PRIu64 " bytes scheduled, method %s (%zu demands, "
		    "%zu candidates, LP %.2fs%s)\n", l->epoch, st.planned,
		    st.kept, st.ops, st.bytes, l->method, st.demands,
		    st.candidates, st.lp_seconds, st.lp_fallbacks ?
		    ", greedy fallback" : "");
		printf("seconds: load %.2f, demands %.2f, allocation %.2f, "
		    "plans %.2f, write %.2f\n", t1 - t0, st.demand_seconds,
		    st.allocate_seconds, st.plans_seconds, elapsed() - t2);
	}
	for (h = 0; h < m->topology->nhosts; h++) {
		plan_free(old[h]);
		if (plans != NULL)
			plan_free(plans[h]);
	}
	free(old);
	free(plans);
	ledger_free(l);
	master_free(m);
	close(lock);
	OPENSSL_cleanse(&key, sizeof(key));
	return rc;
}

