/*
 * fileset.c: read fileset.yaml, the files and versions each host must hold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "topology.h"

static const char *const fileset_keys[] = { "files", NULL };
static const char *const file_keys[] = { "name", "version", "generator",
	"priority", "targets", "size", NULL };

void
fileset_free(struct fileset *fs)
{
	size_t i;

	if (fs == NULL)
		return;
	for (i = 0; i < fs->nfiles; i++) {
		free(fs->files[i].name);
		free(fs->files[i].targets);
	}
	free(fs->files);
	free(fs);
}

/* Index of the file called name, or -1. */
long
fileset_find(const struct fileset *fs, const char *name)
{
	size_t i;

	for (i = 0; i < fs->nfiles; i++)
		if (strcmp(fs->files[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* Returns 1 when host must hold file f. */
int
fileset_targets(const struct topology *t, const struct file *f, size_t host)
{
	size_t i;

	if (f->all)
		return 1;
	for (i = 0; i < f->ntargets; i++) {
		if (f->targets[i].is_site &&
		    f->targets[i].index == t->hosts[host].site)
			return 1;
		if (!f->targets[i].is_site && f->targets[i].index == host)
			return 1;
	}
	return 0;
}

static int
parse_targets(struct yctx *c, const struct topology *t, struct file *f,
    const struct ynode *n)
{
	size_t i;
	long idx;
	int rc;

	if (n->kind == YNODE_SCALAR && strcmp(n->text, "all") == 0) {
		f->all = 1;
		return 0;
	}
	if ((rc = yseq_check(c, n, "targets: 'all' or")) != 0)
		return rc;
	f->targets = xcalloc(n->nkids, sizeof(*f->targets));
	for (i = 0; i < n->nkids; i++) {
		const struct ynode *k = n->kids[i];
		struct target *tg = &f->targets[f->ntargets];

		if ((rc = yscalar_check(c, k, "target")) != 0)
			return rc;
		if (strncmp(k->text, "site:", 5) == 0) {
			tg->is_site = 1;
			idx = topology_site(t, k->text + 5);
		} else if (strncmp(k->text, "host:", 5) == 0) {
			tg->is_site = 0;
			idx = topology_host(t, k->text + 5);
		} else
			return yerr(c, k, "target: '%s' is neither site:NAME "
			    "nor host:NAME", k->text);
		if (idx < 0)
			return yerr(c, k, "target: no %s named '%s'",
			    tg->is_site ? "site" : "host", k->text + 5);
		tg->index = (size_t)idx;
		f->ntargets++;
	}
	return 0;
}

static int
parse_file(struct yctx *c, const struct topology *t, struct file *f,
    const struct ynode *n)
{
	const struct ynode *v;
	char what[300];
	uint64_t u;
	long h;
	int rc;

	f->priority = 1;
	f->all = 1;
	if ((rc = ymap_check(c, n, "file", file_keys)) != 0 ||
	    (rc = yreq_path(c, n, "file", "name", &f->name)) != 0)
		return rc;
	snprintf(what, sizeof(what), "file %s", f->name);
	if ((rc = yreq_u64(c, n, what, "version", &f->version)) != 0 ||
	    (rc = yreq(c, n, what, "generator", &v)) != 0 ||
	    (rc = yscalar_check(c, v, "generator")) != 0)
		return rc;
	if ((h = topology_host(t, v->text)) < 0)
		return yerr(c, v, "generator: no host named '%s'", v->text);
	f->generator = (size_t)h;
	if ((v = ymap_get(n, "priority")) != NULL) {
		if ((rc = yget_u64(c, v, "priority", &u)) != 0)
			return rc;
		if (u > 1000000)
			return yerr(c, v, "priority: must be from 0 to "
			    "1000000");
		f->priority = (long)u;
	}
	if ((v = ymap_get(n, "targets")) != NULL) {
		f->all = 0;
		if ((rc = parse_targets(c, t, f, v)) != 0)
			return rc;
	}
	if ((v = ymap_get(n, "size")) != NULL) {
		if ((rc = yget_size(c, v, "size", &f->size)) != 0)
			return rc;
		if (f->size == 0)
			return yerr(c, v, "size: must be above zero");
		f->has_size = 1;
	}
	return 0;
}

/*
 * Builds a file set from a parsed document, checking its references
 * against t.  On success *out is owned by the caller (fileset_free()).
 */
int
fileset_parse(const char *path, const struct ynode *root,
    const struct topology *t, struct fileset **out, struct diag *d)
{
	struct yctx c = { path, d };
	struct fileset *fs;
	const struct ynode *files;
	struct dupkey *keys;
	size_t i;
	long dup;
	int rc;

	*out = NULL;
	fs = xcalloc(1, sizeof(*fs));
	if (root == NULL) {
		rc = yerr(&c, NULL, "empty file set");
		goto out;
	}
	if ((rc = ymap_check(&c, root, "file set", fileset_keys)) != 0 ||
	    (rc = yreq(&c, root, "file set", "files", &files)) != 0 ||
	    (rc = yseq_check(&c, files, "files")) != 0)
		goto out;
	fs->files = xcalloc(files->nkids, sizeof(*fs->files));
	for (i = 0; i < files->nkids; i++) {
		rc = parse_file(&c, t, &fs->files[fs->nfiles++],
		    files->kids[i]);
		if (rc != 0)
			goto out;
	}
	keys = xcalloc(fs->nfiles ? fs->nfiles : 1, sizeof(*keys));
	for (i = 0; i < fs->nfiles; i++) {
		keys[i].name = fs->files[i].name;
		keys[i].index = i;
	}
	dup = dup_find(keys, fs->nfiles);
	free(keys);
	if (dup >= 0) {
		rc = yerr(&c, ymap_get(files->kids[dup], "name"),
		    "duplicate file name '%s'", fs->files[dup].name);
		goto out;
	}
	*out = fs;
	fs = NULL;
out:
	fileset_free(fs);
	return rc;
}

/* Loads fileset.yaml; see fileset_parse().  Returns a sysexits.h code. */
int
fileset_load(const char *path, const struct topology *t,
    struct fileset **out, struct diag *d)
{
	struct ynode *root;
	int rc;

	*out = NULL;
	if ((rc = ydoc_load(path, &root, d)) != 0)
		return rc;
	rc = fileset_parse(path, root, t, out, d);
	ynode_free(root);
	return rc;
}
