/*
 * signing.c: the master's signing key (loaded for run -k) and the check of
 * what hosts sign: their states and their manifests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "master.h"

/*
 * Loads the master's private key from path, or from the default when path
 * is NULL.  Returns 1 with *key set, 0 when the default does not exist
 * (plans go unsigned), or -1 with the reason said.
 */
int
master_key(const char *path, struct sshkey *key)
{
	char why[512];
	int rc;

	memset(key, 0, sizeof(*key));
	rc = sshkey_load_private(path ? path : MASTER_KEY_DEFAULT, key, why,
	    sizeof(why));
	if (rc == 0)
		return 1;
	if (rc == 1 && path == NULL)
		return 0;
	warnx_("%s", why);
	return -1;
}

/* How many of the topology's hosts have their key pinned. */
size_t
hosts_pinned(const struct topology *t)
{
	size_t i, n = 0;

	for (i = 0; i < t->nhosts; i++)
		n += t->hosts[i].has_key != 0;
	return n;
}

/*
 * Whether a run may write plans with the master key it found (signing:
 * 1) or without one (0: the default path is missing).  A host's key
 * pinned in the topology is a signed installation, whose agents pin
 * master_key and refuse unsigned plans: planning without the key would
 * stop them all, quietly.  Returns 0, or EX_NOINPUT with the reason said.
 */
int
master_key_required(const struct topology *t, int signing)
{
	size_t pinned = hosts_pinned(t);

	if (signing || pinned == 0)
		return 0;
	warnx_("%s: no such file, and %zu of %zu hosts' keys are pinned: "
	    "plans must be signed (nothing written); make the master key with "
	    "sluice-plan keygen, or name it with -k", MASTER_KEY_DEFAULT,
	    pinned, t->nhosts);
	return EX_NOINPUT;
}

/* Frees what a signed_text holds; NULL is fine. */
void
signed_text_free(struct signed_text *st)
{
	if (st == NULL)
		return;
	free(st->text);
	free(st->sig);
	memset(st, 0, sizeof(*st));
}

/*
 * Reads name in the directory dirfd without following a link, as a
 * regular file of at most max bytes; where an agent is replacing it
 * (ssh_replace()), only its whole new copy .NAME.new may exist, and that
 * is read.  Returns 0, or -1 with errno set (ELOOP: a symbolic link).
 */
static int
read_replaced(int dirfd, const char *name, size_t max, char **buf,
    size_t *len)
{
	char *side;
	int rc;

	if ((rc = read_file_max(dirfd, name, O_NOFOLLOW, max, buf, len)) ==
	    0 || errno != ENOENT)
		return rc;
	side = xasprintf(".%s.new", name);
	rc = read_file_max(dirfd, side, O_NOFOLLOW, max, buf, len);
	free(side);
	if (rc != 0 && errno != ENOENT && errno != ELOOP && errno != EINVAL)
		return rc;
	if (rc != 0)
		errno = ENOENT;
	return rc;
}

/* What a failed read of a file in the master directory means, for a
 * message. */
const char *
read_error_text(int err)
{
	switch (err) {
	case ELOOP:
		return "a symbolic link (not followed)";
	case EINVAL:
		return "not a regular file";
	default:
		return strerror(err);
	}
}

/*
 * Reads a file a host signed, name in the directory dirfd (where names
 * it in messages), and name.sig beside it, never following a link, and
 * checks the signature with the host's pinned key.  Without a pinned key
 * the text is taken as it is.  Returns 0 with *out (the caller's,
 * signed_text_free()), EX_NOINPUT when the file is missing, or EX_DATAERR
 * with the reason in d.  A signature that does not match is read once
 * more after a moment: the host may be replacing the pair.
 */
int
read_signed(int dirfd, const char *where, const char *name, size_t max,
    const struct host *h, struct signed_text *out, struct diag *d)
{
	char *signame = xasprintf("%s.sig", name);
	const char *why = "";
	int tries, rc = EX_DATAERR;

	memset(out, 0, sizeof(*out));
	for (tries = 0; tries < 2; tries++) {
		if (tries > 0)
			usleep(100000);
		signed_text_free(out);
		if (read_replaced(dirfd, name, max, &out->text, &out->len) !=
		    0) {
			int err = errno;

			if (err == EFBIG)
				snprintf(d->msg, sizeof(d->msg), "%s/%s: larger "
				    "than %zu bytes", where, name, max);
			else
				snprintf(d->msg, sizeof(d->msg), "%s/%s: %s",
				    where, name, read_error_text(err));
			rc = err == ENOENT ? EX_NOINPUT : EX_DATAERR;
			break;
		}
		if (!h->has_key) {
			rc = 0;
			break;
		}
		if (read_replaced(dirfd, signame, 16384, &out->sig,
		    &out->siglen) != 0) {
			why = errno == ENOENT ? "no signature" : errno ==
			    EFBIG ? "a signature too large" : errno == ELOOP ?
			    "a symbolic link (not followed)" : "an unreadable "
			    "signature";
			continue;
		}
		if (sshsig_verify(&h->key, out->text, out->len, out->sig,
		    out->siglen, &why) == 0) {
			rc = 0;
			break;
		}
	}
	if (rc == EX_DATAERR && h->has_key && out->text != NULL)
		snprintf(d->msg, sizeof(d->msg), "%s/%s.sig: %s: not signed by "
		    "host %s's key", where, name, why, h->name);
	if (rc != 0)
		signed_text_free(out);
	free(signame);
	return rc;
}
