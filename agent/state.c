/*
 * state.c: this host's state, what it holds as verified contiguous
 * lengths and the failures not yet reported.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "agent.h"

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
