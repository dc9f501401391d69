/*
 * forgive.c: sluice-plan forgive, which clears failed components by name
 * once the operator has fixed their cause, so that the next run routes
 * through them again instead of waiting for their retry.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "planner.h"

static void
usage_forgive(void)
{
	fprintf(stderr, "usage: sluice-plan forgive -d DIR [-v] "
	    "COMPONENT...\n");
}

/*
 * Clears each named component's failure and evidence in the current
 * ledger, noting it among the changes, and writes the ledger back in
 * place (under DIR/lock, like a run).  A name that is neither failed nor
 * counted is an error, and then nothing is written.
 */
int
cmd_forgive(int argc, char **argv)
{
	struct ledger *l = NULL;
	struct diag d = { "" };
	const char *dir = NULL;
	char *path, *text;
	size_t len;
	int ch, i, rc = 0, verbose = 0, lock;

	while ((ch = getopt(argc, argv, "d:v")) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage_forgive();
			return EX_USAGE;
		}
	}
	if (dir == NULL || optind == argc) {
		usage_forgive();
		return EX_USAGE;
	}
	if ((lock = master_lock(dir, 0)) < 0) {
		if (lock == -1)
			warnx_("%s/lock is held by a run: try again", dir);
		return EX_TEMPFAIL;
	}
	path = xasprintf("%s/current/ledger.yaml", dir);
	if ((rc = ledger_load(path, &l, &d)) != 0 || l->epoch == 0) {
		if (rc == 0) {
			warnx_("%s: no run yet: nothing to forgive", dir);
			rc = EX_DATAERR;
		} else
			fprintf(stderr, "%s\n", d.msg);
		goto out;
	}
	for (i = optind; i < argc; i++) {
		struct ledger_count *c = ledger_component(l, argv[i], 0);

		if (c == NULL || (c->failed_epoch == 0 && c->count == 0 &&
		    c->hard == 0)) {
			warnx_("%s: neither failed nor counted in epoch %llu",
			    argv[i], (unsigned long long)l->epoch);
			rc = EX_DATAERR;
		}
	}
	if (rc != 0)
		goto out;
	for (i = optind; i < argc; i++) {
		struct ledger_count *c = ledger_component(l, argv[i], 0);

		if (verbose)
			printf("%s forgiven; the next run routes through it\n",
			    argv[i]);
		ledger_reset(c, 1);
		ledger_add_change(l, "%s forgiven by the operator", argv[i]);
	}
	if ((text = ledger_format(l, &len)) == NULL) {
		warnx_("cannot format the ledger");
		rc = EX_SOFTWARE;
		goto out;
	}
	if (atomic_write(path, text, len) != 0)
		rc = EX_CANTCREAT;
	free(text);
out:
	ledger_free(l);
	free(path);
	close(lock);
	return rc;
}
