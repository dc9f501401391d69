/*
 * report.c: this host's state, what it holds as verified contiguous
 * lengths and the failures not yet reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "agent.h"

/*
 * This system's host name as a state's reporter names it: characters a
 * name may not hold become '-'.
 */
char *
machine_name(void)
{
	char buf[256], *p;

	if (gethostname(buf, sizeof(buf) - 1) == -1 || buf[0] == '\0')
		return xstrdup("unknown");
	buf[sizeof(buf) - 1] = '\0';
	for (p = buf; *p; p++)
		if (!name_char((unsigned char)*p) || (*p == '.' && p == buf))
			*p = '-';
	return xstrdup(buf);
}

/*
 * This system's machine id, the 32 hexadecimal digits of /etc/machine-id
 * (or of the file SLUICE_MACHINE_ID_FILE names), or NULL where there is
 * none: what tells a cloned system, or a container, that shares a host
 * name from the system it was cloned from.  The caller owns it.
 */
char *
machine_id(void)
{
	const char *path = getenv("SLUICE_MACHINE_ID_FILE");
	char *buf = NULL, *id = NULL;
	size_t len = 0, n;

	if (path == NULL || *path == '\0')
		path = "/etc/machine-id";
	if (read_file_max(AT_FDCWD, path, 0, 256, &buf, &len) != 0)
		return NULL;
	n = strspn(buf, "0123456789abcdef");
	if (n >= 16 && n <= 64 && (buf[n] == '\n' || buf[n] == '\0'))
		id = xasprintf("%.*s", (int)n, buf);
	free(buf);
	return id;
}

/*
 * The bytes an unprivileged writer may still use in the file system that
 * holds root (statvfs(3)'s f_bavail): what the planner may send here.
 * Returns 0, or -1 with a message.
 */
int
root_free(const char *root, uint64_t *out)
{
	struct statvfs sv;

	if (statvfs(root, &sv) == -1) {
		warnx_("%s: statvfs: %s", root, strerror(errno));
		return -1;
	}
	*out = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	return 0;
}

/*
 * The store's id, 32 hexadecimal digits made once at random and kept in
 * ROOT/.sluice/id: what tells this agent from another that reports under
 * the same host name.  Returns it (the caller's), or NULL with a message.
 */
char *
store_id(struct store *s)
{
	unsigned char raw[16];
	char *buf, *id;
	size_t len, i;

	if (store_read_meta(s, "id", &buf, &len) == 0) {
		if (len >= 32 && strspn(buf, "0123456789abcdef") >= 32) {
			id = xasprintf("%.32s", buf);
			free(buf);
			return id;
		}
		free(buf);
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		warnx_("%s/.sluice/id: no random bytes to make it", s->root);
		return NULL;
	}
	id = xcalloc(1, 34);
	for (i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	id[32] = '\n';
	if (store_write_meta(s, "id", id, 33) != 0) {
		free(id);
		return NULL;
	}
	id[32] = '\0';
	return id;
}

/*
 * A store serves one host name, the first it ran for (ROOT/.sluice/host):
 * an AGENT.yaml copied from another host is refused before it does
 * anything.  Returns 0, or EX_CONFIG or EX_IOERR with the reason said.
 */
int
store_claim(const struct agent_config *c, struct store *s)
{
	char *buf, *text;
	size_t len;
	int rc = 0;

	if (store_read_meta(s, "host", &buf, &len) != 0) {
		text = xasprintf("%s\n", c->host);
		if (store_write_meta(s, "host", text, strlen(text)) != 0)
			rc = EX_IOERR;
		free(text);
		return rc;
	}
	buf[strcspn(buf, "\n")] = '\0';
	if (strcmp(buf, c->host) != 0) {
		text = text_escape(buf);
		warnx_("%s: host '%s', but %s/.sluice holds host %s's store: a "
		    "configuration copied from another host? (nothing done; "
		    "if the host was renamed, remove %s/.sluice/host)",
		    c->path, c->host, c->root, text, c->root);
		free(text);
		rc = EX_CONFIG;
	}
	free(buf);
	return rc;
}

/* Builds the state to report; *out is owned by the caller. */
int
agent_state(const struct agent_config *c, struct store *s,
    struct state **out)
{
	struct state *st;
	char *buf;
	size_t len;

	if (store_load_failures(s, &st) != 0)
		return -1;
	free(st->host);
	st->host = xstrdup(c->host);
	st->time = time(NULL);
	free(st->machine);
	free(st->store);
	free(st->machine_id);
	st->machine = machine_name();
	st->machine_id = machine_id();
	if (root_free(c->root, &st->free) == 0)
		st->has_free = 1;
	/* When it began its last plan, else its place in the splay. */
	st->has_start = 1;
	st->start = round(splay_of(c) * 10) / 10;
	(void)store_read_seconds(s, "start", &st->start);
	/* How long its last state took to send, where it was timed. */
	st->has_report = store_read_seconds(s, REPORT_RECORD,
	    &st->report) == 0;
	if ((st->store = store_id(s)) == NULL) {
		state_free(st);
		return -1;
	}
	if (store_read_meta(s, "epoch", &buf, &len) == 0) {
		st->epoch = strtoull(buf, NULL, 10);
		free(buf);
	}
	/* The failures file lists no files; ours come from the store. */
	while (st->nfiles > 0)
		free(st->files[--st->nfiles].name);
	free(st->files);
	st->files = NULL;
	if (store_list(s, &st->files, &st->nfiles) != 0) {
		state_free(st);
		return -1;
	}
	*out = st;
	return 0;
}

/* Prints the state; with verbose, also what the last plan still wants. */
int
cmd_state(const struct agent_config *c, int verbose)
{
	struct store *s;
	struct state *st;
	struct plan *p = NULL;
	struct ynode *root;
	struct diag d = { "" };
	size_t len, i;
	char *buf;

	if (store_open(c->root, &s) != 0)
		return EX_IOERR;
	if (agent_state(c, s, &st) != 0) {
		store_close(s);
		return EX_IOERR;
	}
	buf = state_format(st, &len);
	if (buf != NULL)
		fwrite(buf, 1, len, stdout);
	free(buf);
	if (verbose && store_read_meta(s, "plan.yaml", &buf, &len) == 0) {
		if (ydoc_parse("plan.yaml", (unsigned char *)buf, len, &root,
		    &d) == 0) {
			plan_parse("plan.yaml", root, &p, &d);
			ynode_free(root);
		}
		free(buf);
	}
	if (verbose && p != NULL) {
		if (p->epoch == st->epoch)
			printf("# still needed, per the plan of epoch %" PRIu64
			    ":\n", p->epoch);
		else
			printf("# still needed, per the plan last fetched "
			    "(epoch %" PRIu64 "; the last run was epoch %"
			    PRIu64 "):\n", p->epoch, st->epoch);
		for (i = 0; i < p->nfileset; i++) {
			uint64_t have = state_length(st, p->fileset[i].name,
			    p->fileset[i].version);

			if (p->fileset[i].size == 0)
				printf("#   %s@%" PRIu64 ": %" PRIu64 " bytes held, "
				    "size not yet known\n", p->fileset[i].name,
				    p->fileset[i].version, have);
			else if (have < p->fileset[i].size)
				printf("#   %s@%" PRIu64 ": %" PRIu64 " of %"
				    PRIu64 " bytes\n", p->fileset[i].name,
				    p->fileset[i].version, p->fileset[i].size -
				    have, p->fileset[i].size);
			else
				printf("#   %s@%" PRIu64 ": complete\n",
				    p->fileset[i].name, p->fileset[i].version);
		}
	}
	plan_free(p);
	state_free(st);
	store_close(s);
	return 0;
}
