/*
 * main.c: sluice-agent, the host side.  Dispatches the subcommands.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "agent.h"

static const char usage_text[] =
    "usage: sluice-agent sync    -c AGENT.yaml [-v]\n"
    "       sluice-agent run     -c AGENT.yaml [-v] PLAN.yaml\n"
    "       sluice-agent state   -c AGENT.yaml [-v]\n"
    "       sluice-agent publish -c AGENT.yaml [-v] FILE NAME VERSION "
    "[--growing] [--block-size SIZE]\n"
    "       sluice-agent keygen  -c AGENT.yaml\n"
    "       sluice-agent --help | --version\n";

static void
usage(FILE *f)
{
	fputs(usage_text, f);
}

int
main(int argc, char *argv[])
{
	struct agent_config *c = NULL;
	struct diag d = { "" };
	const char *cmd, *cpath = NULL;
	int i, rc, verbose = 0, nargs = 0;
	char *args[64];

	progname = "sluice-agent";
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("sluice-agent %s\n", SLUICE_VERSION);
		return 0;
	}
	/* "sluice-agent CMD --help": that command's usage. */
	if (help_asked(argc - 1, argv + 1) && argv[1][0] != '-' &&
	    usage_of(stdout, usage_text, argv[1]) > 0)
		return 0;
	cmd = argv[1];
	/* -c and -v may stand anywhere; the rest goes to the command. */
	args[nargs++] = argv[1];
	for (i = 2; i < argc && nargs < 63; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			cpath = argv[++i];
		else if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else
			args[nargs++] = argv[i];
	}
	args[nargs] = NULL;
	if (cpath == NULL) {
		usage(stderr);
		return EX_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((rc = config_load(cpath, &c, &d)) != 0) {
		fprintf(stderr, "%s\n", d.msg);
		return rc;
	}
	if (ssh_library_init() != 0) {
		warnx_("cannot start libssh2");
		config_free(c);
		return EX_SOFTWARE;
	}
	optind = 1;
	if (strcmp(cmd, "sync") == 0 && nargs == 1)
		rc = cmd_sync(c, verbose);
	else if (strcmp(cmd, "run") == 0 && nargs == 2)
		rc = cmd_run_plan(c, args[1], verbose);
	else if (strcmp(cmd, "state") == 0 && nargs == 1)
		rc = cmd_state(c, verbose);
	else if (strcmp(cmd, "keygen") == 0 && nargs == 1)
		rc = identity_keygen(c);
	else if (strcmp(cmd, "publish") == 0) {
		if (verbose)
			args[nargs++] = (char *)"-v";
		args[nargs] = NULL;
		rc = cmd_publish(c, nargs, args);
	} else {
		usage(stderr);
		rc = EX_USAGE;
	}
	ssh_library_exit();
	config_free(c);
	return rc;
}
