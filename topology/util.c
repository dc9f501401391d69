/*
 * util.c: allocation that cannot fail quietly, and messages.  Running out
 * of memory is reported and aborts, as OpenSSH's xmalloc does: no caller can
 * do anything better, and half-built state must never be written.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology.h"

const char *progname = "sluice";

static void
out_of_memory(size_t n, size_t size)
{
	fprintf(stderr, "%s: out of memory allocating %zu x %zu bytes\n",
	    progname, n, size);
	abort();
}

/* Zeroed memory for n items of size bytes; never NULL. */
void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if (n == 0 || size == 0)
		n = size = 1;
	if ((p = calloc(n, size)) == NULL)
		out_of_memory(n, size);
	return p;
}

/* realloc with an overflow check; never NULL. */
void *
xreallocarray(void *p, size_t n, size_t size)
{
	void *q;

	if (n == 0 || size == 0)
		n = size = 1;
	if (size != 0 && n > SIZE_MAX / size)
		out_of_memory(n, size);
	if ((q = realloc(p, n * size)) == NULL)
		out_of_memory(n, size);
	return q;
}

char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		out_of_memory(strlen(s) + 1, 1);
	return p;
}

/* A formatted string the caller frees. */
char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		out_of_memory(1, 1);
	p = xcalloc(1, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* Prints "PROG: message" on standard error. */
void
warnx_(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * A copy of s fit for a terminal: printable ASCII as is, a backslash
 * doubled, and every other byte (controls, DEL, and all bytes of 0x80 and
 * above, which include C1 controls in either encoding) as \xNN.
 */
char *
text_escape(const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0, i;
	char *p, *q;

	for (i = 0; s[i] != '\0'; i++)
		n += s[i] == '\\' ? 2 : (unsigned char)s[i] >= 0x20 &&
		    (unsigned char)s[i] < 0x7f ? 1 : 4;
	p = q = xcalloc(n + 1, 1);
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\') {
			*q++ = '\\';
			*q++ = '\\';
		} else if (c >= 0x20 && c < 0x7f)
			*q++ = (char)c;
		else {
			*q++ = '\\';
			*q++ = 'x';
			*q++ = hex[c >> 4];
			*q++ = hex[c & 15];
		}
	}
	return p;
}

/* Replaces in place every control character of s, C0, DEL or C1 (as
 * UTF-8), by '?': for words from a peer that a state will carry. */
void
text_sanitize(char *s)
{
	unsigned char *p;

	for (p = (unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			p[0] = p[1] = '?';
			p++;
		}
}

static int
cmp_dupkey(const void *a, const void *b)
{
	const struct dupkey *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	if (x->version != y->version)
		return x->version < y->version ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/*
 * The index of the first entry that repeats an earlier one's name and
 * version, or -1: sorts k (n log n), so that long lists cost no more
 * than their length.
 */
long
dup_find(struct dupkey *k, size_t n)
{
	size_t i;
	long first = -1;

	qsort(k, n, sizeof(*k), cmp_dupkey);
	for (i = 1; i < n; i++)
		if (k[i].version == k[i - 1].version && strcmp(k[i].name,
		    k[i - 1].name) == 0 && (first < 0 || k[i].index <
		    (size_t)first))
			first = (long)k[i].index;
	return first;
}

/*
 * Whether the words after a command ask for its help: -h or --help
 * before any "--".
 */
int
help_asked(int argc, char *argv[])
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			return 1;
	return 0;
}

/*
 * Prints to f the lines of text, a program's usage ("usage: PROG CMD ..."
 * then "       PROG CMD ..." lines, each maybe continued by lines that
 * begin with blanks and no PROG), that describe command cmd, the first
 * one as "usage: ...".  Returns how many lines were printed: 0 when text
 * has no such command.
 */
int
usage_of(FILE *f, const char *text, const char *cmd)
{
	size_t plen = strlen(progname), clen = strlen(cmd);
	const char *line, *end, *p, *word;
	int in = 0, n = 0;

	for (line = text; *line != '\0'; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (end == NULL)
			end = line + strlen(line);
		p = line + strspn(line, " ");
		if (strncmp(line, "usage: ", 7) == 0)
			p = line + 7;
		if (strncmp(p, progname, plen) == 0 && p[plen] == ' ') {
			word = p + plen + 1;
			in = strncmp(word, cmd, clen) == 0 &&
			    (word[clen] == ' ' || word + clen == end);
			if (!in)
				continue;
			fprintf(f, "%s%.*s\n", n == 0 ? "usage: " : "       ",
			    (int)(end - p), p);
			n++;
		} else if (in) {
			fprintf(f, "%.*s\n", (int)(end - line), line);
			n++;
		}
	}
	return n;
}
