/*
 * main.c: sluice-plan, the master.  Dispatches the subcommands.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>		/* mallopt() */
#endif

#include "planner.h"

static const char usage_text[] =
    "usage: sluice-plan check    -d DIR | -t TOPOLOGY [-f FILESET]\n"
    "       sluice-plan run      -d DIR [-k KEY] [--method lp|greedy] "
    "[--now TIME | --replan] [-v]\n"
    "       sluice-plan verify   -d DIR [-v]\n"
    "       sluice-plan status   -d DIR\n"
    "       sluice-plan bound    -d DIR | -t TOPOLOGY -f FILESET\n"
    "       sluice-plan simulate -t TOPOLOGY -f FILESET "
    "[--method lp|greedy|origin|swarm]\n"
    "                            [--fail SPEC]\n"
    "                            [--states DIR] "
    "[--growing NAME=RATE]\n"
    "                            [--trace DIR] [--svg FILE] "
    "[--rounds N] [--seed N] [--replan]\n"
    "       sluice-plan dot      -d DIR\n"
    "       sluice-plan forgive  -d DIR [-v] COMPONENT...\n"
    "       sluice-plan keygen   [-k FILE]\n"
    "       sluice-plan --help | --version\n";

static void
usage(FILE *f)
{
	fputs(usage_text, f);
}

int
main(int argc, char *argv[])
{
	progname = "sluice-plan";
#ifdef __GLIBC__
	/*
	 * A run lives for seconds and times its plans more than once over
	 * arrays of every op's blocks (100 MB at 10,000 hosts): memory it
	 * frees is kept for the next use instead of given back and faulted
	 * in again, and the heap grows 64 MiB at a time (16 MiB took 0.2 s
	 * more).  At 10,000 hosts the plans phase takes 1.0 s where it took
	 * 1.6 s, with the same peak; each thread's arena may hold 64 MiB
	 * more than it uses until the run ends.
	 */
	mallopt(M_TRIM_THRESHOLD, INT_MAX);
	mallopt(M_TOP_PAD, 64 << 20);
#endif
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	/* "sluice-plan CMD --help": that command's usage. */
	if (help_asked(argc - 1, argv + 1) && argv[1][0] != '-' &&
	    usage_of(stdout, usage_text, argv[1]) > 0)
		return 0;
	optind = 1;
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	if (strcmp(argv[1], "bound") == 0)
		return cmd_bound(argc - 1, argv + 1);
	if (strcmp(argv[1], "simulate") == 0)
		return cmd_simulate(argc - 1, argv + 1);
	if (strcmp(argv[1], "dot") == 0)
		return cmd_dot(argc - 1, argv + 1);
	if (strcmp(argv[1], "forgive") == 0)
		return cmd_forgive(argc - 1, argv + 1);
	if (strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("sluice-plan %s\n", SLUICE_VERSION);
		return 0;
	}
	fprintf(stderr, "sluice-plan: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EX_USAGE;
}
