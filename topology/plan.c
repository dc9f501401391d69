/*
 * plan.c: one host's instructions for one epoch.  The reader checks every
 * op for internal consistency (whole blocks, one checksum per block, ranges
 * that do not overflow, ids unique) so that a hostile or broken plan is
 * refused before any byte moves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "topology.h"

static const char *const plan_keys[] = { "host", "epoch", "issued",
	"expires", "fileset", "ops", "retire", NULL };
static const char *const retire_keys[] = { "name", "version", NULL };
static const char *const fileref_keys[] = { "name", "version", "size",
	"mode", NULL };
static const char *const op_keys[] = { "id", "file", "version", "offset",
	"length", "block_size", "source", "rate", "resources", "blocks",
	"fallback", "shed", NULL };
static const char *const source_keys[] = { "host", "address", "port",
	"user", "root", NULL };
static const char *const fallback_keys[] = { "source", "after", "rate",
	"resources", NULL };
static const char *const shed_keys[] = { "host", "at", "offset", "rate",
	NULL };

#define PLAN_MAX_OPS 1000000
#define OP_MAX_RESOURCES 128

void
source_clear(struct plan_source *s)
{
	free(s->host);
	free(s->address);
	free(s->user);
	free(s->root);
	memset(s, 0, sizeof(*s));
}

void
op_clear(struct op *o)
{
	size_t i;

	free(o->id);
	free(o->file);
	source_clear(&o->source);
	for (i = 0; i < o->nresources; i++)
		free(o->resources[i]);
	free(o->resources);
	if (!o->blocks_borrowed)
		free(o->blocks);
	free(o->res_index);
	if (o->fallback != NULL) {
		source_clear(&o->fallback->source);
		for (i = 0; i < o->fallback->nresources; i++)
			free(o->fallback->resources[i]);
		free(o->fallback->resources);
		free(o->fallback);
	}
	for (i = 0; i < o->nshed; i++)
		free(o->shed[i].host);
	free(o->shed);
	memset(o, 0, sizeof(*o));
}

void
plan_free(struct plan *p)
{
	size_t i;

	if (p == NULL)
		return;
	free(p->host);
	for (i = 0; i < p->nfileset; i++)
		free(p->fileset[i].name);
	free(p->fileset);
	for (i = 0; i < p->nretire; i++)
		free(p->retire[i].name);
	free(p->retire);
	for (i = 0; i < p->nops; i++)
		op_clear(&p->ops[i]);
	free(p->ops);
	free(p);
}

static int
parse_source(struct yctx *c, struct plan_source *s, const struct ynode *n)
{
	const struct ynode *v;
	int rc;

	s->port = 22;
	if ((rc = ymap_check(c, n, "source", source_keys)) != 0 ||
	    (rc = yreq(c, n, "source", "host", &v)) != 0 ||
	    (rc = yget_name(c, v, "source host", &s->host)) != 0 ||
	    (rc = yreq_string(c, n, "source", "address", &s->address)) != 0)
		return rc;
	if ((v = ymap_get(n, "port")) != NULL &&
	    (rc = yget_port(c, v, &s->port)) != 0)
		return rc;
	if ((rc = yopt_name(c, n, "user", &s->user)) != 0 ||
	    (rc = yreq_string(c, n, "source", "root", &s->root)) != 0)
		return rc;
	v = ymap_get(n, "root");
	if (s->root[0] != '/' || (s->root[1] != '\0' &&
	    name_valid_path(s->root + 1, &(const char *){ NULL }) != 0))
		return yerr(c, v, "root: '%s' must be an absolute path",
		    s->root);
	return 0;
}

/* resources: [RESOURCE...], at most OP_MAX_RESOURCES; absent is none. */
static int
parse_resources(struct yctx *c, const struct ynode *list, char ***out,
    size_t *n)
{
	size_t i;
	int rc;

	if (list == NULL)
		return 0;
	if ((rc = yseq_check(c, list, "resources")) != 0)
		return rc;
	if (list->nkids > OP_MAX_RESOURCES)
		return yerr(c, list, "resources: more than %d",
		    OP_MAX_RESOURCES);
	*out = xcalloc(list->nkids ? list->nkids : 1, sizeof(char *));
	for (i = 0; i < list->nkids; i++) {
		if ((rc = yget_string(c, list->kids[i], "resource",
		    &(*out)[*n])) != 0)
			return rc;
		(*n)++;
	}
	return 0;
}

/* A rate in bytes/s: above zero and finite. */
static int
parse_rate(struct yctx *c, const struct ynode *n, const char *what,
    double *out)
{
	int rc;

	if ((rc = yreq_number(c, n, what, "rate", out)) != 0)
		return rc;
	if (!(*out > 0) || *out > 1e15)
		return yerr(c, ymap_get(n, "rate"), "rate: must be above "
		    "zero and at most 1e15");
	return 0;
}

/* A time in seconds past the plan's issue: from 0 to a day. */
static int
parse_offset_time(struct yctx *c, const struct ynode *n, const char *what,
    const char *key, double *out)
{
	int rc;

	if ((rc = yreq_number(c, n, what, key, out)) != 0)
		return rc;
	if (!(*out >= 0) || *out > 86400)
		return yerr(c, ymap_get(n, key), "%s: must be from 0 to "
		    "86400 seconds", key);
	return 0;
}

/* fallback: {source, after, rate, resources}; see struct op_fallback. */
static int
parse_fallback(struct yctx *c, struct op *o, const struct ynode *n)
{
	struct op_fallback *fb;
	const struct ynode *v;
	char what[300];
	int rc;

	snprintf(what, sizeof(what), "op %s fallback", o->id);
	fb = o->fallback = xcalloc(1, sizeof(*fb));
	if ((rc = ymap_check(c, n, "fallback", fallback_keys)) != 0 ||
	    (rc = yreq(c, n, what, "source", &v)) != 0 ||
	    (rc = parse_source(c, &fb->source, v)) != 0 ||
	    (rc = parse_offset_time(c, n, what, "after", &fb->after)) != 0 ||
	    (rc = parse_rate(c, n, what, &fb->rate)) != 0 ||
	    (rc = parse_resources(c, ymap_get(n, "resources"),
	    &fb->resources, &fb->nresources)) != 0)
		return rc;
	if (strcmp(fb->source.host, o->source.host) == 0)
		return yerr(c, v, "op %s: fallback source %s is the op's own",
		    o->id, fb->source.host);
	if (fb->rate > o->rate)
		return yerr(c, ymap_get(n, "rate"), "op %s: fallback rate "
		    "above the op's", o->id);
	return 0;
}

/* shed: [{host, at, offset, rate}]; see struct op_shed.  The rates shed
 * sum to less than the op's. */
static int
parse_shed(struct yctx *c, struct op *o, const struct ynode *list)
{
	double sum = 0;
	char what[300];
	size_t i;
	int rc;

	if ((rc = yseq_check(c, list, "shed")) != 0)
		return rc;
	if (list->nkids > OP_MAX_SHED)
		return yerr(c, list, "shed: more than %d entries",
		    OP_MAX_SHED);
	o->shed = xcalloc(list->nkids ? list->nkids : 1, sizeof(*o->shed));
	snprintf(what, sizeof(what), "op %s shed", o->id);
	for (i = 0; i < list->nkids; i++) {
		const struct ynode *e = list->kids[i];
		struct op_shed *sh = &o->shed[o->nshed++];

		if ((rc = ymap_check(c, e, "shed", shed_keys)) != 0 ||
		    (rc = yreq_name(c, e, what, "host", &sh->host)) != 0 ||
		    (rc = parse_offset_time(c, e, what, "at", &sh->at)) != 0 ||
		    (rc = yreq_u64(c, e, what, "offset", &sh->offset)) != 0 ||
		    (rc = parse_rate(c, e, what, &sh->rate)) != 0)
			return rc;
		sum += sh->rate;
	}
	if (!(sum < o->rate))
		return yerr(c, list, "op %s: shed rates sum to %.0f, not "
		    "below the op's rate %.0f", o->id, sum, o->rate);
	return 0;
}

static int
parse_op(struct yctx *c, struct op *o, const struct ynode *n, int brief)
{
	const struct ynode *v, *list;
	uint64_t block_size = 0, want;
	const char *why;
	char what[300];
	size_t i;
	int rc;

	if ((rc = ymap_check(c, n, "op", op_keys)) != 0 ||
	    (rc = yreq_string(c, n, "op", "id", &o->id)) != 0)
		return rc;
	if (name_valid_op_id(o->id, &why) != 0)
		return yerr(c, ymap_get(n, "id"), "id: bad op id '%s': %s",
		    o->id, why);
	snprintf(what, sizeof(what), "op %s", o->id);
	if ((rc = yreq_path(c, n, what, "file", &o->file)) != 0 ||
	    (rc = yreq_u64(c, n, what, "version", &o->version)) != 0 ||
	    (rc = yreq_u64(c, n, what, "offset", &o->offset)) != 0 ||
	    (rc = yreq_u64(c, n, what, "length", &o->length)) != 0)
		return rc;
	v = ymap_get(n, "length");
	if (o->length == 0 || o->length > ((uint64_t)1 << 50) ||
	    o->offset > ((uint64_t)1 << 50))
		return yerr(c, v, "op %s: length must be from 1 byte to "
		    "1 PiB, within the first PiB", o->id);
	if ((v = ymap_get(n, "block_size")) != NULL) {
		if ((rc = yget_u64(c, v, "block_size", &block_size)) != 0)
			return rc;
		if (block_size < 4096 || block_size > ((uint64_t)1 << 30))
			return yerr(c, v, "block_size: must be from 4096 to "
			    "1073741824");
		if (o->offset % block_size != 0)
			return yerr(c, ymap_get(n, "offset"), "op %s: offset "
			    "%llu is not a multiple of the block size %llu",
			    o->id, (unsigned long long)o->offset,
			    (unsigned long long)block_size);
		o->block_size = block_size;
	}
	if ((rc = yreq(c, n, what, "source", &v)) != 0 ||
	    (rc = parse_source(c, &o->source, v)) != 0 ||
	    (rc = yreq_number(c, n, what, "rate", &o->rate)) != 0)
		return rc;
	if (o->rate <= 0)
		return yerr(c, ymap_get(n, "rate"), "rate: must be above "
		    "zero");
	if ((rc = parse_resources(c, ymap_get(n, "resources"),
	    &o->resources, &o->nresources)) != 0)
		return rc;
	if ((v = ymap_get(n, "fallback")) != NULL &&
	    (rc = parse_fallback(c, o, v)) != 0)
		return rc;
	if ((v = ymap_get(n, "shed")) != NULL &&
	    (rc = parse_shed(c, o, v)) != 0)
		return rc;
	if (brief) {
		if ((v = ymap_get(n, "blocks")) != NULL)
			return yerr(c, v, "op %s: a brief plan carries no "
			    "checksums", o->id);
		return 0;
	}
	if ((rc = yreq(c, n, what, "blocks", &list)) != 0 ||
	    (rc = yseq_check(c, list, "blocks")) != 0)
		return rc;
	if (block_size != 0) {
		want = (o->length + block_size - 1) / block_size;
		if (list->nkids != want)
			return yerr(c, list, "op %s: %zu checksums for %llu "
			    "bytes in blocks of %llu (expected %llu)", o->id,
			    list->nkids, (unsigned long long)o->length,
			    (unsigned long long)block_size,
			    (unsigned long long)want);
	} else if (list->nkids == 0 || list->nkids > o->length)
		return yerr(c, list, "op %s: %zu checksums for %llu bytes",
		    o->id, list->nkids, (unsigned long long)o->length);
	o->blocks = xcalloc(list->nkids, sizeof(*o->blocks));
	for (i = 0; i < list->nkids; i++) {
		if ((rc = yget_digest(c, list->kids[i], "block",
		    o->blocks[i])) != 0)
			return rc;
		o->nblocks++;
	}
	return 0;
}

/*
 * retire: [{name, version}], versions the host is to remove from its
 * store (the file set dropped them, and the operator's grace is over).
 * One the plan's fileset also names is an error: a host is never told
 * to hold and remove the same version.
 */
static int
parse_retire(struct yctx *c, struct plan *p, const struct ynode *list)
{
	size_t i, j;
	int rc;

	if (list == NULL)
		return 0;
	if ((rc = yseq_check(c, list, "retire")) != 0)
		return rc;
	if (list->nkids > PLAN_MAX_OPS)
		return yerr(c, list, "retire: more than %d", PLAN_MAX_OPS);
	p->retire = xcalloc(list->nkids ? list->nkids : 1, sizeof(*p->retire));
	for (i = 0; i < list->nkids; i++) {
		const struct ynode *f = list->kids[i];
		struct fileref *r = &p->retire[p->nretire++];

		r->mode = MODE_UNKNOWN;
		if ((rc = ymap_check(c, f, "retire entry", retire_keys)) != 0 ||
		    (rc = yreq_path(c, f, "retire entry", "name",
		    &r->name)) != 0 ||
		    (rc = yreq_u64(c, f, "retire entry", "version",
		    &r->version)) != 0)
			return rc;
		for (j = 0; j < p->nfileset; j++)
			if (p->fileset[j].version == r->version &&
			    strcmp(p->fileset[j].name, r->name) == 0)
				return yerr(c, f, "retire: %s@%llu is in the "
				    "fileset too", r->name,
				    (unsigned long long)r->version);
	}
	return 0;
}

/* plan_parse(), or with brief plan_parse_brief(). */
static int
plan_parse_as(const char *path, const struct ynode *root, int brief,
    struct plan **out, struct diag *d)
{
	struct yctx c = { path, d };
	struct plan *p;
	const struct ynode *v, *list;
	struct dupkey *keys;
	size_t i;
	long dup;
	int rc;

	*out = NULL;
	p = xcalloc(1, sizeof(*p));
	if (root == NULL) {
		rc = yerr(&c, NULL, "empty plan");
		goto fail;
	}
	if ((rc = ymap_check(&c, root, "plan", plan_keys)) != 0 ||
	    (rc = yreq_name(&c, root, "plan", "host", &p->host)) != 0 ||
	    (rc = yreq_u64(&c, root, "plan", "epoch", &p->epoch)) != 0 ||
	    (rc = yreq_time(&c, root, "plan", "issued", &p->issued)) != 0 ||
	    (rc = yreq_time(&c, root, "plan", "expires", &p->expires)) != 0)
		goto fail;
	v = ymap_get(root, "expires");
	if (p->expires <= p->issued) {
		rc = yerr(&c, v, "expires: must be after 'issued'");
		goto fail;
	}
	if ((list = ymap_get(root, "fileset")) != NULL) {
		if ((rc = yseq_check(&c, list, "fileset")) != 0)
			goto fail;
		p->fileset = xcalloc(list->nkids, sizeof(*p->fileset));
		for (i = 0; i < list->nkids; i++) {
			const struct ynode *f = list->kids[i];
			struct fileref *r = &p->fileset[p->nfileset++];

			r->mode = MODE_UNKNOWN;
			if ((rc = ymap_check(&c, f, "fileset entry",
			    fileref_keys)) != 0 ||
			    (rc = yreq_path(&c, f, "fileset entry", "name",
			    &r->name)) != 0 ||
			    (rc = yreq_u64(&c, f, "fileset entry", "version",
			    &r->version)) != 0 ||
			    (rc = yopt_u64(&c, f, "size", &r->size)) != 0 ||
			    (rc = yopt_mode(&c, f, "mode", &r->mode)) != 0)
				goto fail;
		}
	}
	if ((rc = parse_retire(&c, p, ymap_get(root, "retire"))) != 0)
		goto fail;
	if ((list = ymap_get(root, "ops")) != NULL) {
		if ((rc = yseq_check(&c, list, "ops")) != 0)
			goto fail;
		if (list->nkids > PLAN_MAX_OPS) {
			rc = yerr(&c, list, "ops: more than %d", PLAN_MAX_OPS);
			goto fail;
		}
		p->ops = xcalloc(list->nkids, sizeof(*p->ops));
		for (i = 0; i < list->nkids; i++) {
			if ((rc = parse_op(&c, &p->ops[p->nops++],
			    list->kids[i], brief)) != 0)
				goto fail;
		}
		keys = xcalloc(p->nops ? p->nops : 1, sizeof(*keys));
		for (i = 0; i < p->nops; i++) {
			keys[i].name = p->ops[i].id;
			keys[i].index = i;
		}
		dup = dup_find(keys, p->nops);
		free(keys);
		if (dup >= 0) {
			rc = yerr(&c, list->kids[dup], "duplicate op id '%s'",
			    p->ops[dup].id);
			goto fail;
		}
	}
	p->brief = brief;
	*out = p;
	return 0;
fail:
	plan_free(p);
	return rc;
}

/* Builds a plan from a parsed document; *out is owned by the caller. */
int
plan_parse(const char *path, const struct ynode *root, struct plan **out,
    struct diag *d)
{
	return plan_parse_as(path, root, 0, out, d);
}

/*
 * The same for a brief plan (plan_format_brief()): every op as in a plan
 * but its checksums, which it must not carry; the plan is marked brief.
 */
int
plan_parse_brief(const char *path, const struct ynode *root,
    struct plan **out, struct diag *d)
{
	return plan_parse_as(path, root, 1, out, d);
}

int
plan_load(const char *path, struct plan **out, struct diag *d)
{
	struct ynode *root;
	int rc;

	*out = NULL;
	if ((rc = ydoc_load_max(path, PLAN_MAX_BYTES, &root, d)) != 0)
		return rc;
	rc = plan_parse(path, root, out, d);
	ynode_free(root);
	return rc;
}

static void
format_source(struct yout *y, const struct plan_source *s)
{
	yout_str(y, "source");
	yout_map(y, 1);
	yout_key_str(y, "host", s->host);
	yout_key_str(y, "address", s->address);
	yout_key_u64(y, "port", s->port);
	if (s->user != NULL)
		yout_key_str(y, "user", s->user);
	yout_key_str(y, "root", s->root);
	yout_end_map(y);
}

static void
format_resources(struct yout *y, char *const *res, size_t n)
{
	size_t i;

	yout_str(y, "resources");
	yout_seq(y, 1);
	for (i = 0; i < n; i++)
		yout_str(y, res[i]);
	yout_end_seq(y);
}

/* Where each op's checksums are in a plan's text: [from, to). */
struct cuts {
	size_t		(*at)[2];
	size_t		 n;
};

static void
format_op(struct yout *y, const struct op *o, int brief, struct cuts *cuts)
{
	size_t i;

	yout_map(y, 0);
	yout_key_str(y, "id", o->id);
	yout_key_str(y, "file", o->file);
	yout_key_u64(y, "version", o->version);
	yout_key_u64(y, "offset", o->offset);
	yout_key_u64(y, "length", o->length);
	if (o->block_size != 0)
		yout_key_u64(y, "block_size", o->block_size);
	format_source(y, &o->source);
	yout_str(y, "rate");
	yout_number(y, o->rate);
	format_resources(y, o->resources, o->nresources);
	if (o->fallback != NULL) {
		yout_str(y, "fallback");
		yout_map(y, 0);
		format_source(y, &o->fallback->source);
		yout_str(y, "after");
		yout_number(y, o->fallback->after);
		yout_str(y, "rate");
		yout_number(y, o->fallback->rate);
		format_resources(y, o->fallback->resources,
		    o->fallback->nresources);
		yout_end_map(y);
	}
	if (o->nshed > 0) {
		yout_str(y, "shed");
		yout_seq(y, 0);
		for (i = 0; i < o->nshed; i++) {
			yout_map(y, 1);
			yout_key_str(y, "host", o->shed[i].host);
			yout_str(y, "at");
			yout_number(y, o->shed[i].at);
			yout_key_u64(y, "offset", o->shed[i].offset);
			yout_str(y, "rate");
			yout_number(y, o->shed[i].rate);
			yout_end_map(y);
		}
		yout_end_seq(y);
	}
	if (!brief) {
		size_t from = cuts != NULL ? yout_mark(y) : 0;

		yout_key_digests(y, "blocks",
		    (const unsigned char (*)[32])o->blocks, o->nblocks);
		if (cuts != NULL) {
			cuts->at[cuts->n][0] = from;
			cuts->at[cuts->n++][1] = yout_mark(y);
		}
	}
	yout_end_map(y);
}

/* plan_format(), or with brief plan_format_brief(); cuts, where not
 * NULL, has room for every op. */
static char *
plan_format_as(const struct plan *p, int brief, struct cuts *cuts,
    size_t *len)
{
	struct yout *y = yout_new();
	size_t i;

	yout_map(y, 0);
	yout_key_str(y, "host", p->host);
	yout_key_u64(y, "epoch", p->epoch);
	yout_str(y, "issued");
	yout_time(y, p->issued);
	yout_str(y, "expires");
	yout_time(y, p->expires);
	yout_str(y, "fileset");
	yout_seq(y, 0);
	for (i = 0; i < p->nfileset; i++) {
		yout_map(y, 1);
		yout_key_str(y, "name", p->fileset[i].name);
		yout_key_u64(y, "version", p->fileset[i].version);
		if (p->fileset[i].size != 0)
			yout_key_u64(y, "size", p->fileset[i].size);
		if (p->fileset[i].mode != MODE_UNKNOWN)
			yout_key_mode(y, "mode", p->fileset[i].mode);
		yout_end_map(y);
	}
	yout_end_seq(y);
	yout_str(y, "ops");
	yout_seq(y, 0);
	for (i = 0; i < p->nops; i++) {
		format_op(y, &p->ops[i], brief, cuts);
	}
	yout_end_seq(y);
	if (p->nretire > 0) {
		yout_str(y, "retire");
		yout_seq(y, 0);
		for (i = 0; i < p->nretire; i++) {
			yout_map(y, 1);
			yout_key_str(y, "name", p->retire[i].name);
			yout_key_u64(y, "version", p->retire[i].version);
			yout_end_map(y);
		}
		yout_end_seq(y);
	}
	yout_end_map(y);
	return yout_finish(y, len);
}

/* Returns the plan as YAML text, owned by the caller, or NULL. */
char *
plan_format(const struct plan *p, size_t *len)
{
	return p->brief ? NULL : plan_format_as(p, 0, NULL, len);
}

/*
 * Returns the plan as YAML text without its ops' checksums, owned by the
 * caller, or NULL: what the planner reads back of a set it wrote (every
 * op's range, sources, rates and resources), not a plan an agent runs.
 */
char *
plan_format_brief(const struct plan *p, size_t *len)
{
	return plan_format_as(p, 1, NULL, len);
}

/*
 * Whether text[from, to) is an op's checksums as the emitter wrote them:
 * a line break, the indentation, "blocks:", and no line break after
 * the last digest.
 */
static int
is_cut(const char *text, size_t len, size_t from, size_t to)
{
	size_t k = from + 1;

	if (from >= to || to > len || text[from] != '\n' ||
	    text[to - 1] == '\n')
		return 0;
	while (k < to && text[k] == ' ')
		k++;
	return to - k > 7 && memcmp(text + k, "blocks:", 7) == 0;
}

/*
 * plan_format() and plan_format_brief() at once: the brief is the plan's
 * text without each op's checksums (the "blocks" key and its digests,
 * the last of the op's keys), which leaves every other byte as the
 * emitter writes it brief.  Where that text is not as expected, the brief
 * is formatted apart.  Returns the plan's text, or NULL (no brief).
 */
char *
plan_format_pair(const struct plan *p, size_t *len, char **brief,
    size_t *brieflen)
{
	struct cuts cuts;
	char *text, *b;
	size_t i, at, k = 0;

	*brief = NULL;
	*brieflen = 0;
	if (p->brief)
		return NULL;
	cuts.at = xcalloc(p->nops ? p->nops : 1, sizeof(*cuts.at));
	cuts.n = 0;
	if ((text = plan_format_as(p, 0, &cuts, len)) == NULL) {
		free(cuts.at);
		return NULL;
	}
	for (i = 0; i < cuts.n; i++)
		if (!is_cut(text, *len, cuts.at[i][0], cuts.at[i][1]) ||
		    (i > 0 && cuts.at[i][0] < cuts.at[i - 1][1]))
			break;
	if (i < cuts.n || cuts.n != p->nops) {
		free(cuts.at);
		*brief = plan_format_brief(p, brieflen);
		return text;
	}
	for (i = 0, at = *len; i < cuts.n; i++)
		at -= cuts.at[i][1] - cuts.at[i][0];
	b = xcalloc(at + 1, 1);
	for (i = 0, at = 0; i < cuts.n; i++) {
		memcpy(b + k, text + at, cuts.at[i][0] - at);
		k += cuts.at[i][0] - at;
		at = cuts.at[i][1];
	}
	memcpy(b + k, text + at, *len - at);
	k += *len - at;
	free(cuts.at);
	*brief = b;
	*brieflen = k;
	return text;
}

int
plan_write(const char *path, const struct plan *p)
{
	size_t len = 0;
	char *text = plan_format(p, &len);

	return write_formatted(path, text, len, "plan");
}
