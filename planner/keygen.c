/*
 * keygen.c: sluice-plan keygen, the master's signing key made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "planner.h"

/* sluice-plan keygen [-k FILE]: a new master key; prints the line to pin
 * as master_key in every AGENT.yaml. */
int
cmd_keygen(int argc, char **argv)
{
	const char *path = MASTER_KEY_DEFAULT;
	struct sshkey key;
	char *line, host[256] = "master";
	int ch, rc;

	while ((ch = getopt(argc, argv, "k:")) != -1) {
		if (ch != 'k') {
			fprintf(stderr, "usage: sluice-plan keygen [-k FILE]\n");
			return EX_USAGE;
		}
		path = optarg;
	}
	if (optind != argc) {
		fprintf(stderr, "usage: sluice-plan keygen [-k FILE]\n");
		return EX_USAGE;
	}
	gethostname(host, sizeof(host) - 1);
	if (sshkey_generate(&key) != 0) {
		warnx_("keygen: cannot make an Ed25519 key");
		return EX_SOFTWARE;
	}
	line = xasprintf("sluice-master@%s", host);
	rc = sshkey_write_new(path, &key, line);
	free(line);
	if (rc == 0) {
		line = sshkey_format_public(&key, NULL);
		printf("%s\n", line);
		free(line);
	}
	OPENSSL_cleanse(&key, sizeof(key));
	return rc;
}
