/*
 * identity.c: this host's signing key (sluice-agent keygen), its signatures
 * on states and manifests, and the check of the master's on plans.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "agent.h"

/*
 * Loads this host's signing key.  Returns 1 with *k set; 0 when there is
 * none at the default place (states and manifests go unsigned); -1 when
 * the key AGENT.yaml names cannot be used (said).
 */
int
agent_signer(const struct agent_config *c, struct sshkey *k)
{
	char why[512];
	int rc = sshkey_load_private(c->signing_key, k, why, sizeof(why));

	if (rc == 0)
		return 1;
	if (rc == 1 && !c->signing_key_given)
		return 0;
	warnx_("signing_key: %s", why);
	return -1;
}

/* sluice-agent keygen: makes signing_key (never over one) and prints the
 * line to pin as this host's key: in the topology. */
int
identity_keygen(const struct agent_config *c)
{
	struct sshkey k;
	char *comment, *line;
	int rc;

	if (sshkey_generate(&k) != 0) {
		warnx_("keygen: cannot make an Ed25519 key");
		return EX_SOFTWARE;
	}
	comment = xasprintf("sluice-%s", c->host);
	if ((rc = sshkey_write_new(c->signing_key, &k, comment)) == 0) {
		line = sshkey_format_public(&k, comment);
		printf("%s\n", line);
		free(line);
	}
	free(comment);
	OPENSSL_cleanse(&k, sizeof(k));
	return rc;
}

/*
 * With master_key pinned, whether sig (NULL: none) is the master's on
 * the plan text; said with what when not.  Returns 0 or EX_DATAERR.
 */
int
plan_signature_check(const struct agent_config *c, const char *what,
    const char *text, size_t len, const char *sig, size_t siglen)
{
	const char *why = "no signature";

	if (!c->has_master_key)
		return 0;
	if (sig != NULL && sshsig_verify(&c->master_key, text, len, sig,
	    siglen, &why) == 0)
		return 0;
	warnx_("%s.sig: %s: not signed by master_key: refused", what, why);
	return EX_DATAERR;
}
