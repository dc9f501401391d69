/*
 * ynode.c: load a YAML document with libyaml into a tree that keeps every
 * node's position, and read typed values from it with FILE:LINE:COLUMN
 * errors.  Aliases, anchors and tags are refused: none of our formats needs
 * them, and aliases make exponential documents possible.  Nesting is bounded
 * by YAML_MAX_DEPTH because libyaml enforces no limit of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <yaml.h>

#include "topology.h"

/*
 * Formats "PATH:LINE:COL: message" into the diag, with control characters
 * from the input written as \xNN so that no message can drive a terminal.
 * Returns EX_DATAERR.
 */
static int
diag_set(struct diag *d, const char *path, unsigned line, unsigned col,
    const char *fmt, va_list ap)
{
	char raw[sizeof(d->msg)];
	size_t i, j;
	int n;

	n = snprintf(raw, sizeof(raw), "%s:%u:%u: ", path, line, col);
	if (n >= 0 && (size_t)n < sizeof(raw))
		vsnprintf(raw + n, sizeof(raw) - (size_t)n, fmt, ap);
	for (i = j = 0; raw[i] != '\0' && j + 5 < sizeof(d->msg); i++) {
		unsigned char ch = (unsigned char)raw[i];

		if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && ch <= 0x9f &&
		    i > 0 && (unsigned char)raw[i - 1] == 0xc2))
			j += (size_t)snprintf(d->msg + j, 5, "\\x%02x", ch);
		else if (ch == 0xc2 && (unsigned char)raw[i + 1] >= 0x80 &&
		    (unsigned char)raw[i + 1] <= 0x9f)
			j += (size_t)snprintf(d->msg + j, 5, "\\x%02x", ch);
		else
			d->msg[j++] = (char)ch;
	}
	d->msg[j] = '\0';
	return EX_DATAERR;
}

static int
diag_at(struct diag *d, const char *path, unsigned line, unsigned col,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_set(d, path, line, col, fmt, ap);
	va_end(ap);
	return EX_DATAERR;
}

int
yerr(struct yctx *c, const struct ynode *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_set(c->diag, c->path, n ? n->line : 1, n ? n->column : 1, fmt,
	    ap);
	va_end(ap);
	return EX_DATAERR;
}

/*
 * A document's tree is allocated in chunks that its top node owns, not
 * one allocation a node: a set's plans hold millions of values, and their
 * mallocs and frees took longer than libyaml's reading of them.  Chunks
 * double from YCHUNK_FIRST to YCHUNK_MAX bytes, never past it (a chunk
 * sized to a request between is doubled from there); a request larger
 * than YCHUNK_MAX gets a chunk of its own, and the current one goes on
 * taking the small.  So the chunks hold at most twice what the tree asks
 * for plus one chunk, whatever the order of large and small values.
 */
#define YCHUNK_FIRST ((size_t)8 << 10)
#define YCHUNK_MAX ((size_t)1 << 20)

struct ychunk {
	struct ychunk	*next;		/* the chunk before */
	size_t		 used;
	size_t		 size;		/* of data */
	max_align_t	 data[];
};

/* Frees the arena's chunks. */
static void
yarena_free(struct ychunk *a)
{
	while (a != NULL) {
		struct ychunk *next = a->next;

		free(a);
		a = next;
	}
}

/* Returns size bytes from *a, zeroed and aligned for a node (a node and
 * an array of pointers to nodes are all it holds). */
static void *
yarena_alloc(struct ychunk **a, size_t size)
{
	struct ychunk *c = *a;
	size_t align = _Alignof(struct ynode), want;

	size = (size + align - 1) / align * align;
	if (c == NULL || c->size - c->used < size) {
		want = c == NULL ? YCHUNK_FIRST : c->size < YCHUNK_MAX / 2 ?
		    2 * c->size : YCHUNK_MAX;
		if (want < size)
			want = size;
		c = xcalloc(1, sizeof(*c) + want);
		c->size = want;
		if (*a != NULL && size > YCHUNK_MAX) {
			c->next = (*a)->next;
			(*a)->next = c;
		} else {
			c->next = *a;
			*a = c;
		}
	}
	c->used += size;
	return (char *)c->data + c->used - size;
}

/* The bytes a document's tree takes: the chunks its top node owns. */
size_t
ynode_bytes(const struct ynode *n)
{
	const struct ychunk *c;
	size_t total = 0;

	for (c = n != NULL ? n->arena : NULL; c != NULL; c = c->next)
		total += sizeof(*c) + c->size;
	return total;
}

/* Frees a document's tree: a top node from ydoc_parse(), ydoc_load()
 * or ydoc_parse_each(), and every node in it. */
void
ynode_free(struct ynode *n)
{
	if (n != NULL)
		yarena_free(n->arena);
}

/* Adds kid to parent's kids.  Their room doubles whenever it is full (at
 * 4, 8, 16... kids, so no capacity is kept): a long sequence is read in
 * linear time.  The room outgrown stays in the arena till the tree goes. */
static void
ynode_append(struct ychunk **a, struct ynode *parent, struct ynode *kid)
{
	size_t n = parent->nkids;

	if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
		struct ynode **kids;

		kids = yarena_alloc(a, (n == 0 ? 4 : 2 * n) * sizeof(*kids));
		if (n > 0)
			memcpy(kids, parent->kids, n * sizeof(*kids));
		parent->kids = kids;
	}
	parent->kids[parent->nkids++] = kid;
}

/* A new node in arena *a; a scalar's text (len bytes and a NUL) is
 * allocated with it. */
static struct ynode *
ynode_new(struct ychunk **a, enum ynode_kind kind, const yaml_mark_t *m,
    size_t len)
{
	struct ynode *n;

	if (kind != YNODE_SCALAR)
		n = yarena_alloc(a, sizeof(*n));
	else {
		n = yarena_alloc(a, sizeof(*n) + len + 1);
		n->text = (char *)(n + 1);
		n->len = len;
	}
	n->kind = kind;
	n->line = (unsigned)m->line + 1;
	n->column = (unsigned)m->column + 1;
	return n;
}

/*
 * Reads the next YAML document from p: on success *root is its top node
 * (NULL for an empty document), owned by the caller, *end is 1 when the
 * stream ended instead (no document), *at the document's start, and 0 is
 * returned; otherwise the diag names the problem and EX_DATAERR is
 * returned.  A document holds at most YAML_MAX_NODES nodes.
 */
static int
ydoc_next(yaml_parser_t *p, const char *path, struct ynode **root, int *end,
    yaml_mark_t *at, struct diag *d)
{
	yaml_event_t	 ev;
	struct ynode	*stack[YAML_MAX_DEPTH + 1];
	struct ynode	*top = NULL, *n;
	struct ychunk	*arena = NULL;
	size_t		 depth = 0, nodes = 0;
	int		 rc = EX_DATAERR, done = 0;

	*root = NULL;
	*end = 0;
	while (!done) {
		if (!yaml_parser_parse(p, &ev)) {
			diag_at(d, path, (unsigned)p->problem_mark.line + 1,
			    (unsigned)p->problem_mark.column + 1, "%s%s%s",
			    p->problem ? p->problem : "YAML syntax error",
			    p->context ? " " : "", p->context ? p->context : "");
			goto out;
		}
		n = NULL;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			*end = 1;
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			*at = ev.start_mark;
			break;
		case YAML_DOCUMENT_END_EVENT:
			done = 1;
			break;
		case YAML_ALIAS_EVENT:
			diag_at(d, path, (unsigned)ev.start_mark.line + 1,
			    (unsigned)ev.start_mark.column + 1,
			    "YAML aliases are not allowed here");
			yaml_event_delete(&ev);
			goto out;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			const yaml_char_t *anchor, *tag;

			if (ev.type == YAML_SCALAR_EVENT) {
				anchor = ev.data.scalar.anchor;
				tag = ev.data.scalar.tag;
			} else if (ev.type == YAML_SEQUENCE_START_EVENT) {
				anchor = ev.data.sequence_start.anchor;
				tag = ev.data.sequence_start.tag;
			} else {
				anchor = ev.data.mapping_start.anchor;
				tag = ev.data.mapping_start.tag;
			}
			if (++nodes > YAML_MAX_NODES) {
				diag_at(d, path,
				    (unsigned)ev.start_mark.line + 1,
				    (unsigned)ev.start_mark.column + 1,
				    "more than %d YAML nodes", YAML_MAX_NODES);
				yaml_event_delete(&ev);
				goto out;
			}
			if (ev.type == YAML_SCALAR_EVENT &&
			    ev.data.scalar.length > YAML_MAX_SCALAR) {
				diag_at(d, path,
				    (unsigned)ev.start_mark.line + 1,
				    (unsigned)ev.start_mark.column + 1,
				    "a value longer than %d bytes",
				    YAML_MAX_SCALAR);
				yaml_event_delete(&ev);
				goto out;
			}
			if (anchor != NULL || tag != NULL) {
				diag_at(d, path,
				    (unsigned)ev.start_mark.line + 1,
				    (unsigned)ev.start_mark.column + 1,
				    "YAML %s are not allowed here",
				    anchor ? "anchors" : "tags");
				yaml_event_delete(&ev);
				goto out;
			}
			if (ev.type == YAML_SCALAR_EVENT) {
				n = ynode_new(&arena, YNODE_SCALAR,
				    &ev.start_mark, ev.data.scalar.length);
				memcpy(n->text, ev.data.scalar.value, n->len);
				n->plain = ev.data.scalar.style ==
				    YAML_PLAIN_SCALAR_STYLE;
			} else
				n = ynode_new(&arena, ev.type ==
				    YAML_SEQUENCE_START_EVENT ?
				    YNODE_SEQUENCE : YNODE_MAPPING,
				    &ev.start_mark, 0);
			if (depth > 0)
				ynode_append(&arena, stack[depth - 1], n);
			else if (top == NULL)
				top = n;
			if (n->kind != YNODE_SCALAR) {
				if (depth >= YAML_MAX_DEPTH) {
					diag_at(d, path, n->line, n->column,
					    "nested deeper than %d levels",
					    YAML_MAX_DEPTH);
					yaml_event_delete(&ev);
					goto out;
				}
				stack[depth++] = n;
			}
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	/* The top node owns the arena; an empty document leaves none. */
	if (top != NULL) {
		top->arena = arena;
		arena = NULL;
	}
	*root = top;
	rc = 0;
out:
	yarena_free(arena);
	return rc;
}

/*
 * Parses one YAML document from buf.  On success *root is the document's
 * top node (NULL for an empty stream), owned by the caller, and 0 is
 * returned; otherwise the diag names the problem and EX_DATAERR is returned.
 */
int
ydoc_parse(const char *path, const unsigned char *buf, size_t len,
    struct ynode **root, struct diag *d)
{
	yaml_parser_t	 p;
	yaml_event_t	 ev;
	yaml_mark_t	 at = { 0, 0, 0 };
	int		 rc, end;

	*root = NULL;
	if (!yaml_parser_initialize(&p)) {
		diag_at(d, path, 1, 1, "cannot start the YAML parser");
		return EX_SOFTWARE;
	}
	yaml_parser_set_input_string(&p, buf, len);
	/* One document, then the stream's end: what comes instead, said
	 * where it begins. */
	if ((rc = ydoc_next(&p, path, root, &end, &at, d)) == 0 && !end) {
		if (!yaml_parser_parse(&p, &ev)) {
			diag_at(d, path, (unsigned)p.problem_mark.line + 1,
			    (unsigned)p.problem_mark.column + 1, "%s%s%s",
			    p.problem ? p.problem : "YAML syntax error",
			    p.context ? " " : "", p.context ? p.context : "");
			rc = EX_DATAERR;
		} else {
			if (ev.type != YAML_STREAM_END_EVENT) {
				diag_at(d, path,
				    (unsigned)ev.start_mark.line + 1,
				    (unsigned)ev.start_mark.column + 1,
				    "more than one YAML document");
				rc = EX_DATAERR;
			}
			yaml_event_delete(&ev);
		}
	}
	if (rc != 0) {
		ynode_free(*root);
		*root = NULL;
	}
	yaml_parser_delete(&p);
	return rc;
}

/*
 * Parses a stream of YAML documents from buf, handing each one's top node
 * (NULL for an empty one) to each(arg, root), which owns it and returns 0
 * to go on.  Returns 0; each's status where it is not 0; or EX_DATAERR or
 * EX_SOFTWARE with the diag naming the problem.  An empty stream holds no
 * document.
 */
int
ydoc_parse_each(const char *path, const unsigned char *buf, size_t len,
    int (*each)(void *, struct ynode *), void *arg, struct diag *d)
{
	yaml_parser_t	 p;
	yaml_mark_t	 at = { 0, 0, 0 };
	struct ynode	*root;
	int		 rc, end = 0;

	if (!yaml_parser_initialize(&p)) {
		diag_at(d, path, 1, 1, "cannot start the YAML parser");
		return EX_SOFTWARE;
	}
	yaml_parser_set_input_string(&p, buf, len);
	while ((rc = ydoc_next(&p, path, &root, &end, &at, d)) == 0 && !end)
		if ((rc = each(arg, root)) != 0)
			break;
	yaml_parser_delete(&p);
	return rc;
}

/*
 * Reads and parses the YAML file at path.  Returns 0, EX_NOINPUT when the
 * file does not exist, EX_IOERR when it cannot be read, or EX_DATAERR.
 */
int
ydoc_load(const char *path, struct ynode **root, struct diag *d)
{
	return ydoc_load_max(path, YAML_MAX_FILE, root, d);
}

/* ydoc_load() of a file no larger than max bytes. */
int
ydoc_load_max(const char *path, size_t max, struct ynode **root,
    struct diag *d)
{
	char *buf;
	size_t len;
	int fd, rc, err;

	*root = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		snprintf(d->msg, sizeof(d->msg), "%s: %s", path,
		    strerror(errno));
		return errno == ENOENT ? EX_NOINPUT : EX_IOERR;
	}
	rc = read_all(fd, max, &buf, &len);
	err = errno;
	close(fd);
	if (rc != 0) {
		if (err == EFBIG)
			snprintf(d->msg, sizeof(d->msg), "%s: larger than %zu "
			    "bytes", path, max);
		else if (err == EINVAL)
			snprintf(d->msg, sizeof(d->msg), "%s: not a regular "
			    "file", path);
		else
			snprintf(d->msg, sizeof(d->msg), "%s: read: %s", path,
			    strerror(err));
		return err == EFBIG || err == EINVAL ? EX_DATAERR :
		    EX_IOERR;
	}
	rc = ydoc_parse(path, (unsigned char *)buf, len, root, d);
	free(buf);
	return rc;
}

/* Returns the value of key in mapping n, or NULL. */
struct ynode *
ymap_get(const struct ynode *n, const char *key)
{
	size_t i;

	if (n == NULL || n->kind != YNODE_MAPPING)
		return NULL;
	/* The first bytes compared apart: most keys differ there, and the
	 * readers look up a few keys in each of millions of mappings. */
	for (i = 0; i + 1 < n->nkids; i += 2)
		if (n->kids[i]->kind == YNODE_SCALAR &&
		    n->kids[i]->text[0] == key[0] &&
		    strcmp(n->kids[i]->text, key) == 0)
			return n->kids[i + 1];
	return NULL;
}

/*
 * Checks that n is a mapping whose keys are scalars from keys (a NULL
 * terminated list), each at most once.
 */
int
ymap_check(struct yctx *c, const struct ynode *n, const char *what,
    const char *const *keys)
{
	size_t i, j;
	const char *const *k;

	if (n == NULL || n->kind != YNODE_MAPPING)
		return yerr(c, n, "%s: expected a mapping", what);
	for (i = 0; i + 1 < n->nkids; i += 2) {
		const struct ynode *key = n->kids[i];

		if (key->kind != YNODE_SCALAR)
			return yerr(c, key, "%s: keys must be plain words",
			    what);
		for (k = keys; *k != NULL; k++)
			if ((*k)[0] == key->text[0] &&
			    strcmp(*k, key->text) == 0)
				break;
		if (*k == NULL)
			return yerr(c, key, "%s: unknown key '%s'", what,
			    key->text);
		for (j = 0; j < i; j += 2)
			if (n->kids[j]->text[0] == key->text[0] &&
			    strcmp(n->kids[j]->text, key->text) == 0)
				return yerr(c, key, "%s: duplicate key '%s'",
				    what, key->text);
	}
	return 0;
}

int
yseq_check(struct yctx *c, const struct ynode *n, const char *what)
{
	if (n == NULL || n->kind != YNODE_SEQUENCE)
		return yerr(c, n, "%s: expected a list", what);
	return 0;
}

int
yscalar_check(struct yctx *c, const struct ynode *n, const char *what)
{
	if (n == NULL || n->kind != YNODE_SCALAR)
		return yerr(c, n, "%s: expected a single value", what);
	if (strlen(n->text) != n->len)
		return yerr(c, n, "%s: contains a NUL character", what);
	if (n->plain && (n->len == 0 || strcmp(n->text, "~") == 0 ||
	    strcmp(n->text, "null") == 0))
		return yerr(c, n, "%s: missing value", what);
	return 0;
}

int
yget_string(struct yctx *c, const struct ynode *n, const char *what,
    char **out)
{
	const unsigned char *s;
	int rc;

	if ((rc = yscalar_check(c, n, what)) != 0)
		return rc;
	for (s = (const unsigned char *)n->text; *s; s++)
		if (*s < 0x20 || *s == 0x7f || (*s == 0xc2 && s[1] >= 0x80 &&
		    s[1] <= 0x9f))
			return yerr(c, n, "%s: control character in '%s'",
			    what, n->text);
	free(*out);
	*out = xstrdup(n->text);
	return 0;
}

/* Reads a decimal unsigned integer that fits in 64 bits. */
int
yget_u64(struct yctx *c, const struct ynode *n, const char *what,
    uint64_t *out)
{
	const char *s;
	uint64_t v = 0;
	int rc;

	if ((rc = yscalar_check(c, n, what)) != 0)
		return rc;
	s = n->text;
	if (*s == '\0')
		return yerr(c, n, "%s: expected a whole number", what);
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return yerr(c, n, "%s: '%s' is not a whole number",
			    what, n->text);
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return yerr(c, n, "%s: '%s' is too large", what,
			    n->text);
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/*
 * Reads permission bits written in octal, as chmod(1) takes them ("0640",
 * "640"; "0o640" too, YAML 1.2's spelling), 0 to 0777.  Set-id and sticky
 * bits are refused: sluice never gives them.
 */
int
yget_mode(struct yctx *c, const struct ynode *n, const char *what,
    unsigned *out)
{
	const char *s;
	unsigned v = 0;
	int rc;

	if ((rc = yscalar_check(c, n, what)) != 0)
		return rc;
	s = n->text;
	if (s[0] == '0' && s[1] == 'o')
		s += 2;
	if (*s == '\0' || strlen(s) > 4)
		return yerr(c, n, "%s: '%s' is not a mode in octal (like 0640)",
		    what, n->text);
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return yerr(c, n, "%s: '%s' is not a mode in octal "
			    "(like 0640)", what, n->text);
		v = v * 8 + (unsigned)(*s - '0');
	}
	if (v > 0777)
		return yerr(c, n, "%s: '%s': only the permission bits (0 to "
		    "0777) are allowed", what, n->text);
	*out = v;
	return 0;
}

/* Reads a TCP port, 1 to 65535. */
int
yget_port(struct yctx *c, const struct ynode *n, unsigned *out)
{
	uint64_t port;
	int rc;

	if ((rc = yget_u64(c, n, "port", &port)) != 0)
		return rc;
	if (port == 0 || port > 65535)
		return yerr(c, n, "port: %llu is not a TCP port",
		    (unsigned long long)port);
	*out = (unsigned)port;
	return 0;
}

/* Reads a finite non-negative decimal number. */
int
yget_number(struct yctx *c, const struct ynode *n, const char *what,
    double *out)
{
	const char *s;
	char *end;
	double v;
	int rc, dot = 0, digits = 0;

	if ((rc = yscalar_check(c, n, what)) != 0)
		return rc;
	for (s = n->text; *s; s++) {
		if (*s >= '0' && *s <= '9')
			digits++;
		else if (*s == '.' && !dot && digits)
			dot = 1;
		else
			return yerr(c, n, "%s: '%s' is not a number", what,
			    n->text);
	}
	if (!digits || s[-1] == '.')
		return yerr(c, n, "%s: '%s' is not a number", what, n->text);
	errno = 0;
	v = strtod(n->text, &end);
	if (errno != 0 || !isfinite(v))
		return yerr(c, n, "%s: '%s' is out of range", what, n->text);
	*out = v;
	return 0;
}

int
yget_bool(struct yctx *c, const struct ynode *n, const char *what, int *out)
{
	int rc;

	if ((rc = yscalar_check(c, n, what)) != 0)
		return rc;
	if (strcmp(n->text, "true") == 0)
		*out = 1;
	else if (strcmp(n->text, "false") == 0)
		*out = 0;
	else
		return yerr(c, n, "%s: expected true or false, not '%s'",
		    what, n->text);
	return 0;
}

int
yget_time(struct yctx *c, const struct ynode *n, const char *what,
    time_t *out)
{
	int rc;

	if ((rc = yscalar_check(c, n, what)) != 0)
		return rc;
	if (time_parse(n->text, out) != 0)
		return yerr(c, n, "%s: '%s' is not a time like "
		    "2026-11-25T08:00:00Z", what, n->text);
	return 0;
}

/* Reads a host, site, link or partition name. */
int
yget_name(struct yctx *c, const struct ynode *n, const char *what,
    char **out)
{
	const char *why;
	int rc;

	if ((rc = yscalar_check(c, n, what)) != 0)
		return rc;
	if (name_valid_label(n->text, &why) != 0)
		return yerr(c, n, "%s: bad name '%s': %s", what, n->text, why);
	return yget_string(c, n, what, out);
}

/* Reads a relative file name. */
int
yget_path(struct yctx *c, const struct ynode *n, const char *what,
    char **out)
{
	const char *why;
	int rc;

	if ((rc = yscalar_check(c, n, what)) != 0)
		return rc;
	if (name_valid_file(n->text, &why) != 0)
		return yerr(c, n, "%s: bad file name '%s': %s", what, n->text,
		    why);
	return yget_string(c, n, what, out);
}

int
yget_bandwidth(struct yctx *c, const struct ynode *n, const char *what,
    double *out)
{
	const char *why;
	int rc;

	if ((rc = yscalar_check(c, n, what)) != 0)
		return rc;
	if (unit_bandwidth(n->text, out, &why) != 0)
		return yerr(c, n, "%s: '%s': %s", what, n->text, why);
	return 0;
}

int
yget_size(struct yctx *c, const struct ynode *n, const char *what,
    uint64_t *out)
{
	const char *why;
	int rc;

	if ((rc = yscalar_check(c, n, what)) != 0)
		return rc;
	if (unit_size(n->text, out, &why) != 0)
		return yerr(c, n, "%s: '%s': %s", what, n->text, why);
	return 0;
}

int
yget_duration(struct yctx *c, const struct ynode *n, const char *what,
    double *out)
{
	const char *why;
	int rc;

	if ((rc = yscalar_check(c, n, what)) != 0)
		return rc;
	if (unit_duration(n->text, out, &why) != 0)
		return yerr(c, n, "%s: '%s': %s", what, n->text, why);
	return 0;
}

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Reads a SHA-256 digest written as 64 hexadecimal digits. */
int
yget_digest(struct yctx *c, const struct ynode *n, const char *what,
    unsigned char out[32])
{
	size_t i;
	int rc, hi, lo;

	if ((rc = yscalar_check(c, n, what)) != 0)
		return rc;
	if (n->len != 64)
		return yerr(c, n, "%s: a SHA-256 digest is 64 hexadecimal "
		    "digits", what);
	for (i = 0; i < 32; i++) {
		hi = hexval((unsigned char)n->text[2 * i]);
		lo = hexval((unsigned char)n->text[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return yerr(c, n, "%s: not a hexadecimal digest",
			    what);
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* A required key's value in mapping map, or the error "OWNER: missing
 * 'KEY'" at the mapping. */
int
yreq(struct yctx *c, const struct ynode *map, const char *owner,
    const char *key, const struct ynode **out)
{
	if ((*out = ymap_get(map, key)) == NULL)
		return yerr(c, map, "%s: missing '%s'", owner, key);
	return 0;
}

/*
 * One pair of readers per kind of key: yreq_KIND() reads a required key
 * of a mapping (an error when it is missing), yopt_KIND() an optional one
 * (out untouched when it is missing); both report a bad value at it, by
 * its key.  So a reader chains them, one line a key:
 *	if ((rc = yreq_u64(c, n, "op", "offset", &o->offset)) != 0 ||
 *	    (rc = yopt_u64(c, n, "block_size", &bs)) != 0)
 *		return rc;
 */
#define YKEY_READERS(kind, type, get)					\
int									\
yreq_##kind(struct yctx *c, const struct ynode *map, const char *owner,	\
    const char *key, type out)						\
{									\
	const struct ynode *v;						\
	int rc;								\
									\
	if ((rc = yreq(c, map, owner, key, &v)) != 0)			\
		return rc;						\
	return get(c, v, key, out);					\
}									\
									\
int									\
yopt_##kind(struct yctx *c, const struct ynode *map, const char *key,	\
    type out)								\
{									\
	const struct ynode *v = ymap_get(map, key);			\
									\
	return v == NULL ? 0 : get(c, v, key, out);			\
}

YKEY_READERS(string, char **, yget_string)
YKEY_READERS(name, char **, yget_name)
YKEY_READERS(path, char **, yget_path)
YKEY_READERS(u64, uint64_t *, yget_u64)
YKEY_READERS(number, double *, yget_number)
YKEY_READERS(bool, int *, yget_bool)
YKEY_READERS(time, time_t *, yget_time)
YKEY_READERS(bandwidth, double *, yget_bandwidth)
YKEY_READERS(size, uint64_t *, yget_size)
YKEY_READERS(duration, double *, yget_duration)
YKEY_READERS(mode, unsigned *, yget_mode)
