/*
 * names.c: the names that come from files and the network and end up in
 * paths and resource ids.  A file name is a relative path of [A-Za-z0-9._/-]
 * with no empty, "." or ".." component; a host, site, link or partition
 * name is one such component without "/".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology.h"

#define NAME_MAX_LEN 255
#define PATH_MAX_LEN 1024

/*
 * A name ends up in file names with more around it: a host's state is
 * replaced as states/.HOST.yaml.sig.tmp, a version is stored as
 * .sluice/.ESC@VERSION.manifest.yaml.sent or ESC@VERSION.len.tmp.PID,
 * where ESC is the file name with every '/' written "%2F" and VERSION
 * takes up to 20 digits.  So a label, and a file name counted as
 * escaped, are each at most 200 characters: with what is added, every
 * such file name stays within NAME_MAX (255).
 */
#define NAME_STORED_LEN 200

/* Whether ch may stand in a name: letters, digits and . _ - */
int
name_char(int ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
}

/* Returns 0 when s is a valid relative file name, else -1 and *why. */
int
name_valid_path(const char *s, const char **why)
{
	const char *p, *start;
	size_t len = strlen(s);

	if (len == 0) {
		*why = "empty";
		return -1;
	}
	if (len > PATH_MAX_LEN) {
		*why = "longer than 1024 characters";
		return -1;
	}
	if (s[0] == '/') {
		*why = "must not start with '/'";
		return -1;
	}
	for (p = s; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*why = "control character";
			return -1;
		}
		if (*p != '/' && !name_char((unsigned char)*p)) {
			*why = "only letters, digits and . _ - / are allowed";
			return -1;
		}
	}
	for (start = s;; start = p + 1) {
		p = strchr(start, '/');
		len = p ? (size_t)(p - start) : strlen(start);
		if (len == 0) {
			*why = "empty path component";
			return -1;
		}
		if ((len == 1 && start[0] == '.') ||
		    (len == 2 && start[0] == '.' && start[1] == '.')) {
			*why = "'.' and '..' are not allowed";
			return -1;
		}
		if (start[0] == '.' && strncmp(start, ".sluice", 7) == 0 &&
		    (len == 7)) {
			*why = "'.sluice' is reserved";
			return -1;
		}
		if (len > NAME_MAX_LEN) {
			*why = "a path component is longer than 255 characters";
			return -1;
		}
		if (p == NULL)
			break;
	}
	return 0;
}

/*
 * Returns 0 when s is a valid file name: a valid relative path
 * (name_valid_path()) that fits NAME_STORED_LEN once escaped as the store
 * and the master keep it, else -1 and *why.
 */
int
name_valid_file(const char *s, const char **why)
{
	size_t len = 0;
	const char *p;

	if (name_valid_path(s, why) != 0)
		return -1;
	for (p = s; *p; p++)
		len += *p == '/' ? 3 : 1;
	if (len > NAME_STORED_LEN) {
		*why = "longer than 200 characters with each '/' counted as "
		    "three, as it is stored ('%2F')";
		return -1;
	}
	return 0;
}

/* Returns 0 when s is a valid host, site, link or partition name. */
int
name_valid_label(const char *s, const char **why)
{
	const char *p;

	if (*s == '\0') {
		*why = "empty";
		return -1;
	}
	if (strlen(s) > NAME_STORED_LEN) {
		*why = "longer than 200 characters";
		return -1;
	}
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || s[0] == '.') {
		*why = "must not start with '.'";
		return -1;
	}
	for (p = s; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*why = "control character";
			return -1;
		}
		if (!name_char((unsigned char)*p)) {
			*why = "only letters, digits and . _ - are allowed";
			return -1;
		}
	}
	return 0;
}

/* Returns 0 when s is a valid op id: EPOCH/HOST/N. */
int
name_valid_op_id(const char *s, const char **why)
{
	const char *p;

	if (*s == '\0' || strlen(s) > NAME_MAX_LEN + 64) {
		*why = "empty or too long";
		return -1;
	}
	for (p = s; *p; p++)
		if (*p != '/' && !name_char((unsigned char)*p)) {
			*why = "only letters, digits and . _ - / are allowed";
			return -1;
		}
	return 0;
}

/*
 * Returns "NAME@VERSION" with every '/' written as "%2F", the manifest's
 * file name without ".yaml"; the caller frees it.
 */
char *
name_escape_file(const char *name, uint64_t version)
{
	size_t n = 0, i, j = 0;
	char *out;

	for (i = 0; name[i]; i++)
		n += name[i] == '/' ? 3 : 1;
	out = xcalloc(1, n + 32);
	for (i = 0; name[i]; i++) {
		if (name[i] == '/') {
			memcpy(out + j, "%2F", 3);
			j += 3;
		} else
			out[j++] = name[i];
	}
	snprintf(out + j, 32, "@%" PRIu64, version);
	return out;
}

/* Every byte's two hex digits, "000102...ff": a plan's millions of
 * checksums are written a byte, not a digit, at a time. */
#define HEX_ROW(h) h "0" h "1" h "2" h "3" h "4" h "5" h "6" h "7" \
	h "8" h "9" h "a" h "b" h "c" h "d" h "e" h "f"
static const char hex_pairs[] = HEX_ROW("0") HEX_ROW("1") HEX_ROW("2")
    HEX_ROW("3") HEX_ROW("4") HEX_ROW("5") HEX_ROW("6") HEX_ROW("7")
    HEX_ROW("8") HEX_ROW("9") HEX_ROW("a") HEX_ROW("b") HEX_ROW("c")
    HEX_ROW("d") HEX_ROW("e") HEX_ROW("f");

void
digest_hex(const unsigned char d[32], char hex[65])
{
	size_t i;

	for (i = 0; i < 32; i++)
		memcpy(hex + 2 * i, hex_pairs + 2 * d[i], 2);
	hex[64] = '\0';
}

/*
 * The inverse of name_escape_file() for a file name with suffix: turns
 * "a%2Fb@7.len" (suffix ".len") into *name "a/b" (the caller's) and
 * *version 7.  Returns 0, or -1 for a name that is not one, or whose
 * NAME is not valid.
 */
int
name_parse_file(const char *fn, const char *suffix, char **name,
    uint64_t *version)
{
	size_t n = strlen(fn), sl = strlen(suffix), i, j = 0;
	const char *at, *why;
	char *out, *end;
	unsigned long long v;

	if (n < sl + 3 || strcmp(fn + n - sl, suffix) != 0 || fn[0] == '.')
		return -1;
	if ((at = strrchr(fn, '@')) == NULL)
		return -1;
	v = strtoull(at + 1, &end, 10);
	if (end != fn + n - sl || end == at + 1)
		return -1;
	out = xcalloc(1, (size_t)(at - fn) + 1);
	for (i = 0; fn + i < at; i++) {
		if (strncmp(fn + i, "%2F", 3) == 0) {
			out[j++] = '/';
			i += 2;
		} else
			out[j++] = fn[i];
	}
	if (name_valid_file(out, &why) != 0) {
		free(out);
		return -1;
	}
	*name = out;
	*version = v;
	return 0;
}
