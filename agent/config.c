/*
 * config.c: AGENT.yaml, what one host's agent needs to know.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "agent.h"

static const char *const config_keys[] = { "host", "root", "master",
	"identity", "known_hosts", "parallel", "timeout", "wait", "splay",
	"period",
	"master_key", "signing_key", "umask", NULL };
static const char *const master_keys[] = { "address", "port", "user", "dir",
	NULL };

void
config_free(struct agent_config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->host);
	free(c->root);
	free(c->master_address);
	free(c->master_user);
	free(c->master_dir);
	free(c->identity);
	free(c->known_hosts);
	free(c->signing_key);
	free(c);
}

static int
absolute(struct yctx *c, const struct ynode *n, const char *what,
    char **out)
{
	int rc;

	if ((rc = yget_string(c, n, what, out)) != 0)
		return rc;
	if ((*out)[0] != '/')
		return yerr(c, n, "%s: '%s' must be an absolute path", what,
		    *out);
	return 0;
}

static int
parse_master(struct yctx *c, struct agent_config *a, const struct ynode *n)
{
	const struct ynode *v;
	int rc;

	if ((rc = ymap_check(c, n, "master", master_keys)) != 0 ||
	    (rc = yreq_string(c, n, "master", "address",
	    &a->master_address)) != 0)
		return rc;
	if ((v = ymap_get(n, "port")) != NULL &&
	    (rc = yget_port(c, v, &a->master_port)) != 0)
		return rc;
	if ((rc = yopt_name(c, n, "user", &a->master_user)) != 0 ||
	    (rc = yreq(c, n, "master", "dir", &v)) != 0)
		return rc;
	return absolute(c, v, "dir", &a->master_dir);
}

/* Reads the optional duration key, from least seconds to an hour, into
 * *out (left as it is when absent). */
static int
duration(struct yctx *c, const struct ynode *root, const char *key,
    double least, double *out)
{
	const struct ynode *v = ymap_get(root, key);
	int rc;

	if (v == NULL)
		return 0;
	if ((rc = yget_duration(c, v, key, out)) != 0)
		return rc;
	if (*out < least || *out > 3600)
		return yerr(c, v, "%s: must be from %.0fs to 1h", key, least);
	return 0;
}

/* Builds a configuration from a parsed AGENT.yaml; *out is the caller's. */
int
config_parse(const char *path, const struct ynode *root,
    struct agent_config **out, struct diag *d)
{
	struct yctx c = { path, d };
	struct agent_config *a = xcalloc(1, sizeof(*a));
	const struct ynode *v;
	uint64_t u;
	int rc;

	*out = NULL;
	a->path = xstrdup(path);
	a->parallel = 4;
	a->timeout = 30;
	a->wait = -1;
	a->period = 60;
	a->master_port = 22;
	a->umask = 022;
	if (root == NULL) {
		rc = yerr(&c, NULL, "empty agent configuration");
		goto fail;
	}
	if ((rc = ymap_check(&c, root, "agent", config_keys)) != 0 ||
	    (rc = yreq_name(&c, root, "agent", "host", &a->host)) != 0 ||
	    (rc = yreq(&c, root, "agent", "root", &v)) != 0 ||
	    (rc = absolute(&c, v, "root", &a->root)) != 0)
		goto fail;
	if ((v = ymap_get(root, "master")) != NULL &&
	    (rc = parse_master(&c, a, v)) != 0)
		goto fail;
	if ((v = ymap_get(root, "identity")) != NULL &&
	    (rc = absolute(&c, v, "identity", &a->identity)) != 0)
		goto fail;
	if ((v = ymap_get(root, "known_hosts")) == NULL) {
		rc = yerr(&c, root, "agent: missing 'known_hosts' (host keys "
		    "are always checked)");
		goto fail;
	}
	if ((rc = absolute(&c, v, "known_hosts", &a->known_hosts)) != 0)
		goto fail;
	if ((v = ymap_get(root, "parallel")) != NULL) {
		if ((rc = yget_u64(&c, v, "parallel", &u)) != 0)
			goto fail;
		if (u < 1 || u > 256) {
			rc = yerr(&c, v, "parallel: must be from 1 to 256");
			goto fail;
		}
		a->parallel = (unsigned)u;
	}
	if ((v = ymap_get(root, "master_key")) != NULL) {
		char *line = NULL;
		const char *why;

		if ((rc = yget_string(&c, v, "master_key", &line)) != 0)
			goto fail;
		if (sshkey_parse_public(line, &a->master_key, &why) != 0) {
			free(line);
			rc = yerr(&c, v, "master_key: %s", why);
			goto fail;
		}
		free(line);
		a->has_master_key = 1;
	}
	if ((v = ymap_get(root, "signing_key")) != NULL) {
		if ((rc = absolute(&c, v, "signing_key", &a->signing_key)) != 0)
			goto fail;
		a->signing_key_given = 1;
	} else
		a->signing_key = xstrdup("/etc/sluice/host.key");
	if ((rc = duration(&c, root, "timeout", 1, &a->timeout)) != 0 ||
	    (rc = duration(&c, root, "wait", 0, &a->wait)) != 0 ||
	    (rc = duration(&c, root, "splay", 0, &a->splay)) != 0 ||
	    (rc = duration(&c, root, "period", 1, &a->period)) != 0 ||
	    (rc = yopt_mode(&c, root, "umask", &a->umask)) != 0)
		goto fail;
	*out = a;
	return 0;
fail:
	config_free(a);
	return rc;
}

/* Loads AGENT.yaml; *out is owned by the caller.  Returns sysexits. */
int
config_load(const char *path, struct agent_config **out, struct diag *d)
{
	struct ynode *root = NULL;
	int rc;

	*out = NULL;
	if ((rc = ydoc_load(path, &root, d)) != 0)
		return rc;
	rc = config_parse(path, root, out, d);
	ynode_free(root);
	return rc;
}
