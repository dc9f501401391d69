/*
 * yout.c: write YAML through libyaml's emitter into a memory buffer, so that
 * a whole file can then be written atomically.  Calls after the first
 * emitter error do nothing; yout_finish() reports it.
 */
#include <inttypes.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "topology.h"

struct yout {
	yaml_emitter_t	 em;
	char		*buf;
	size_t		 len;
	size_t		 cap;
	int		 failed;
};

static int
yout_write(void *data, unsigned char *bytes, size_t size)
{
	struct yout *y = data;

	if (y->len + size + 1 > y->cap) {
		size_t cap = y->cap ? y->cap : 4096;

		while (cap < y->len + size + 1)
			cap *= 2;
		y->buf = xreallocarray(y->buf, cap, 1);
		y->cap = cap;
	}
	memcpy(y->buf + y->len, bytes, size);
	y->len += size;
	y->buf[y->len] = '\0';
	return 1;
}

static void
yout_emit(struct yout *y, yaml_event_t *ev)
{
	if (y->failed) {
		yaml_event_delete(ev);
		return;
	}
	if (!yaml_emitter_emit(&y->em, ev))
		y->failed = 1;
}

/* Starts a document; yout_finish() ends it and frees the writer. */
struct yout *
yout_new(void)
{
	struct yout *y;
	yaml_event_t ev;

	y = xcalloc(1, sizeof(*y));
	if (!yaml_emitter_initialize(&y->em)) {
		y->failed = 1;
		return y;
	}
	yaml_emitter_set_output(&y->em, yout_write, y);
	yaml_emitter_set_unicode(&y->em, 1);
	yaml_emitter_set_width(&y->em, -1);
	yaml_emitter_set_indent(&y->em, 2);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	yout_emit(y, &ev);
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	yout_emit(y, &ev);
	return y;
}

static void
yout_free(struct yout *y)
{
	if (y == NULL)
		return;
	yaml_emitter_delete(&y->em);
	free(y->buf);
	free(y);
}

void
yout_map(struct yout *y, int flow)
{
	yaml_event_t ev;

	yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
	    flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE);
	yout_emit(y, &ev);
}

void
yout_seq(struct yout *y, int flow)
{
	yaml_event_t ev;

	yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
	    flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE);
	yout_emit(y, &ev);
}

void
yout_end_map(struct yout *y)
{
	yaml_event_t ev;

	yaml_mapping_end_event_initialize(&ev);
	yout_emit(y, &ev);
}

void
yout_end_seq(struct yout *y)
{
	yaml_event_t ev;

	yaml_sequence_end_event_initialize(&ev);
	yout_emit(y, &ev);
}

static void
yout_scalar(struct yout *y, const char *s, yaml_scalar_style_t style)
{
	yaml_event_t ev;

	yaml_scalar_event_initialize(&ev, NULL, NULL,
	    (yaml_char_t *)(uintptr_t)s, (int)strlen(s), 1, 1, style);
	yout_emit(y, &ev);
}

/* A string; the emitter quotes it when it must. */
void
yout_str(struct yout *y, const char *s)
{
	yout_scalar(y, s, YAML_ANY_SCALAR_STYLE);
}

/* A string always in double quotes. */
void
yout_quoted(struct yout *y, const char *s)
{
	yout_scalar(y, s, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

void
yout_u64(struct yout *y, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	yout_scalar(y, buf, YAML_PLAIN_SCALAR_STYLE);
}

/* A non-negative number, as an integer when it is one. */
void
yout_number(struct yout *y, double v)
{
	char buf[64];

	if (v == floor(v) && v < 1e18)
		snprintf(buf, sizeof(buf), "%.0f", v);
	else
		snprintf(buf, sizeof(buf), "%.6f", v);
	yout_scalar(y, buf, YAML_PLAIN_SCALAR_STYLE);
}

void
yout_bool(struct yout *y, int v)
{
	yout_scalar(y, v ? "true" : "false", YAML_PLAIN_SCALAR_STYLE);
}

void
yout_time(struct yout *y, time_t t)
{
	char buf[32];

	time_format(buf, sizeof(buf), t);
	yout_scalar(y, buf, YAML_PLAIN_SCALAR_STYLE);
}

void
yout_digest(struct yout *y, const unsigned char d[32])
{
	char hex[65];

	digest_hex(d, hex);
	yout_scalar(y, hex, YAML_PLAIN_SCALAR_STYLE);
}

/*
 * The text of the first digest's line, which ends the text so far: its
 * start, in *start, once it is seen to be an item of a block sequence
 * ("\n", spaces, "- ", the digest).  Returns 0, or -1 when it is not.
 */
static int
digest_line(const struct yout *y, const char hex[65], size_t *start)
{
	size_t s = y->len, k;

	while (s > 0 && y->buf[s - 1] != '\n')
		s--;
	if (s == 0 || y->len - s < 64 + 2 ||
	    memcmp(y->buf + y->len - 64, hex, 64) != 0 ||
	    memcmp(y->buf + y->len - 66, "- ", 2) != 0)
		return -1;
	for (k = s; k < y->len - 66; k++)
		if (y->buf[k] != ' ')
			return -1;
	*start = s - 1;
	return 0;
}

/*
 * key, then a block sequence of the n digests d.  The emitter writes the
 * key and the first digest; each other digest's line is that line with
 * its own digest, added to the text here: the same bytes, without the
 * emitter's work per scalar, which a round's millions of checksums make
 * the bulk of formatting its plans.
 */
void
yout_key_digests(struct yout *y, const char *key,
    const unsigned char (*d)[32], size_t n)
{
	char hex[65];
	size_t start, line, i;
	char *at;

	yout_str(y, key);
	yout_seq(y, 0);
	if (n > 0)
		yout_digest(y, d[0]);
	yout_end_seq(y);
	if (n < 2 || y->failed)
		return;
	/* Everything emitted so far, out of the emitter into the text. */
	digest_hex(d[0], hex);
	if (!yaml_emitter_flush(&y->em) || y->buf == NULL ||
	    digest_line(y, hex, &start) != 0) {
		y->failed = 1;
		return;
	}
	line = y->len - start;
	if (n - 1 > (SIZE_MAX - y->len - 1) / line) {
		y->failed = 1;
		return;
	}
	if (y->len + (n - 1) * line + 1 > y->cap) {
		y->cap = y->len + (n - 1) * line + 1;
		y->buf = xreallocarray(y->buf, y->cap, 1);
	}
	at = y->buf + y->len;
	for (i = 1; i < n; i++) {
		memcpy(at, y->buf + start, line - 64);
		digest_hex(d[i], at + line - 64);
		at += line;
	}
	y->len += (n - 1) * line;
	y->buf[y->len] = '\0';
}

/*
 * Where the text so far ends, everything emitted flushed into it: the
 * bytes before it are final.  SIZE_MAX when the emitter failed.
 */
size_t
yout_mark(struct yout *y)
{
	if (y->failed || !yaml_emitter_flush(&y->em)) {
		y->failed = 1;
		return SIZE_MAX;
	}
	return y->len;
}

void
yout_key_str(struct yout *y, const char *key, const char *v)
{
	yout_str(y, key);
	yout_str(y, v);
}

void
yout_key_u64(struct yout *y, const char *key, uint64_t v)
{
	yout_str(y, key);
	yout_u64(y, v);
}

/* Permission bits in octal, as chmod(1) takes them: "mode: 0640". */
void
yout_key_mode(struct yout *y, const char *key, unsigned mode)
{
	char buf[8];

	snprintf(buf, sizeof(buf), "%04o", mode & 0777);
	yout_str(y, key);
	yout_scalar(y, buf, YAML_PLAIN_SCALAR_STYLE);
}

/*
 * Ends the document and frees the writer.  Returns the text, owned by the
 * caller, with its length in *len; NULL when the emitter failed.
 */
char *
yout_finish(struct yout *y, size_t *len)
{
	yaml_event_t ev;
	char *buf = NULL;

	yaml_document_end_event_initialize(&ev, 1);
	yout_emit(y, &ev);
	yaml_stream_end_event_initialize(&ev);
	yout_emit(y, &ev);
	if (!y->failed && y->buf != NULL) {
		buf = y->buf;
		*len = y->len;
		y->buf = NULL;
	}
	yout_free(y);
	return buf;
}
