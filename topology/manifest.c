/*
 * manifest.c: a generator's record of one file version, block by block.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "topology.h"

static const char *const manifest_keys[] = { "file", "version",
	"block_size", "length", "final", "mode", "blocks", NULL };

void
manifest_free(struct manifest *m)
{
	if (m == NULL)
		return;
	free(m->file);
	free(m->blocks);
	free(m);
}

/*
 * Whether manifest b continues manifest a: the same version and block
 * size, at least as long, every block of a the same in b, and when a is
 * final, b the same as a.  Returns 1, or 0 with *block the first block
 * that differs (or a's block count when b is shorter, or changes a
 * final end).
 */
int
manifest_continues(const struct manifest *a, const struct manifest *b,
    size_t *block)
{
	size_t i;

	*block = 0;
	if (strcmp(a->file, b->file) != 0 || a->version != b->version ||
	    a->block_size != b->block_size)
		return 0;
	for (i = 0; i < a->nblocks; i++) {
		if (i >= b->nblocks || memcmp(a->blocks[i], b->blocks[i],
		    32) != 0) {
			*block = i;
			return 0;
		}
	}
	*block = a->nblocks;
	if (b->length < a->length || (a->final && (b->length != a->length ||
	    !b->final)))
		return 0;
	/* A short last block of a (final only) was compared above. */
	return 1;
}

/*
 * Builds a manifest from a parsed document and checks that its blocks
 * cover exactly its length.  *out is owned by the caller.
 */
int
manifest_parse(const char *path, const struct ynode *root,
    struct manifest **out, struct diag *d)
{
	struct yctx c = { path, d };
	struct manifest *m;
	const struct ynode *blocks;
	uint64_t want;
	size_t i;
	int rc;

	*out = NULL;
	m = xcalloc(1, sizeof(*m));
	m->mode = MODE_UNKNOWN;
	if (root == NULL) {
		rc = yerr(&c, NULL, "empty manifest");
		goto fail;
	}
	if ((rc = ymap_check(&c, root, "manifest", manifest_keys)) != 0 ||
	    (rc = yreq_path(&c, root, "manifest", "file", &m->file)) != 0 ||
	    (rc = yreq_u64(&c, root, "manifest", "version",
	    &m->version)) != 0 ||
	    (rc = yreq_u64(&c, root, "manifest", "block_size",
	    &m->block_size)) != 0)
		goto fail;
	if (m->block_size < 4096 || m->block_size > ((uint64_t)1 << 30)) {
		rc = yerr(&c, ymap_get(root, "block_size"), "block_size: must "
		    "be from 4096 to 1073741824");
		goto fail;
	}
	if ((rc = yreq_u64(&c, root, "manifest", "length", &m->length)) != 0 ||
	    (rc = yopt_mode(&c, root, "mode", &m->mode)) != 0)
		goto fail;
	if (m->length > ((uint64_t)1 << 50)) {
		rc = yerr(&c, ymap_get(root, "length"), "length: larger than "
		    "1 PiB");
		goto fail;
	}
	if ((rc = yreq_bool(&c, root, "manifest", "final", &m->final)) != 0)
		goto fail;
	if (!m->final && m->length % m->block_size != 0) {
		rc = yerr(&c, ymap_get(root, "final"), "final: a growing file "
		    "publishes whole blocks only, but length %llu is not a "
		    "multiple of %llu", (unsigned long long)m->length,
		    (unsigned long long)m->block_size);
		goto fail;
	}
	if ((rc = yreq(&c, root, "manifest", "blocks", &blocks)) != 0 ||
	    (rc = yseq_check(&c, blocks, "blocks")) != 0)
		goto fail;
	want = (m->length + m->block_size - 1) / m->block_size;
	if (blocks->nkids != want) {
		rc = yerr(&c, blocks, "blocks: %zu checksums, but length %llu "
		    "in blocks of %llu needs %llu", blocks->nkids,
		    (unsigned long long)m->length,
		    (unsigned long long)m->block_size,
		    (unsigned long long)want);
		goto fail;
	}
	m->blocks = xcalloc(blocks->nkids, sizeof(*m->blocks));
	for (i = 0; i < blocks->nkids; i++) {
		if ((rc = yget_digest(&c, blocks->kids[i], "block",
		    m->blocks[i])) != 0)
			goto fail;
		m->nblocks++;
	}
	*out = m;
	return 0;
fail:
	manifest_free(m);
	return rc;
}

int
manifest_load(const char *path, struct manifest **out, struct diag *d)
{
	struct ynode *root;
	int rc;

	*out = NULL;
	if ((rc = ydoc_load(path, &root, d)) != 0)
		return rc;
	rc = manifest_parse(path, root, out, d);
	ynode_free(root);
	return rc;
}

/* Returns the manifest as YAML text, owned by the caller, or NULL. */
char *
manifest_format(const struct manifest *m, size_t *len)
{
	struct yout *y = yout_new();

	yout_map(y, 0);
	yout_key_str(y, "file", m->file);
	yout_key_u64(y, "version", m->version);
	yout_key_u64(y, "block_size", m->block_size);
	yout_key_u64(y, "length", m->length);
	yout_str(y, "final");
	yout_bool(y, m->final);
	if (m->mode != MODE_UNKNOWN)
		yout_key_mode(y, "mode", m->mode);
	yout_key_digests(y, "blocks", (const unsigned char (*)[32])m->blocks,
	    m->nblocks);
	yout_end_map(y);
	return yout_finish(y, len);
}

/* Writes the manifest to path atomically; returns 0 or -1. */
int
manifest_write(const char *path, const struct manifest *m)
{
	size_t len = 0;
	char *text = manifest_format(m, &len);

	return write_formatted(path, text, len, "manifest");
}
