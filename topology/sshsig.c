/*
 * sshsig.c: Ed25519 keys in OpenSSH's formats and detached signatures in
 * its SSHSIG format (PROTOCOL.sshsig, PROTOCOL.key), through libcrypto,
 * so that `ssh-keygen -Y verify` checks what sluice signs and sluice
 * checks what `ssh-keygen -Y sign` made.  Public keys are one-line
 * ("ssh-ed25519 BASE64 [comment]"); private keys unencrypted
 * "openssh-key-v1" files, as `ssh-keygen -t ed25519 -N ''` writes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "topology.h"

#define KEY_TYPE	"ssh-ed25519"
#define SIG_MAGIC	"SSHSIG"
#define SIG_NAMESPACE	"sluice"
#define KEY_MAGIC	"openssh-key-v1"	/* and its NUL */
#define SIG_BEGIN	"-----BEGIN SSH SIGNATURE-----\n"
#define SIG_END		"-----END SSH SIGNATURE-----"
#define KEY_BEGIN	"-----BEGIN OPENSSH PRIVATE KEY-----\n"
#define KEY_END		"-----END OPENSSH PRIVATE KEY-----"
/* Nothing larger is a signature or a key file of ours. */
#define ARMOR_MAX	16384

/* A growing buffer in SSH wire encoding (RFC 4251). */
struct wire {
	unsigned char	*b;
	size_t		 len, cap;
};

static void
put_bytes(struct wire *w, const void *p, size_t n)
{
	if (w->len + n > w->cap) {
		w->cap = (w->len + n) * 2 + 64;
		w->b = xreallocarray(w->b, w->cap, 1);
	}
	memcpy(w->b + w->len, p, n);
	w->len += n;
}

static void
put_u32(struct wire *w, uint32_t v)
{
	unsigned char b[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff,
	    v & 0xff };

	put_bytes(w, b, 4);
}

static void
put_string(struct wire *w, const void *p, size_t n)
{
	put_u32(w, (uint32_t)n);
	put_bytes(w, p, n);
}

static void
put_cstring(struct wire *w, const char *s)
{
	put_string(w, s, strlen(s));
}

/* A reader over wire bytes; every get fails once the input runs out. */
struct cursor {
	const unsigned char *p;
	size_t		 left;
};

static int
get_u32(struct cursor *c, uint32_t *v)
{
	if (c->left < 4)
		return -1;
	*v = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 |
	    (uint32_t)c->p[2] << 8 | c->p[3];
	c->p += 4;
	c->left -= 4;
	return 0;
}

static int
get_string(struct cursor *c, const unsigned char **p, size_t *n)
{
	uint32_t len;

	if (get_u32(c, &len) != 0 || len > c->left)
		return -1;
	*p = c->p;
	*n = len;
	c->p += len;
	c->left -= len;
	return 0;
}

/* 1 when the next string is exactly s. */
static int
get_is(struct cursor *c, const char *s)
{
	const unsigned char *p;
	size_t n;

	return get_string(c, &p, &n) == 0 && n == strlen(s) &&
	    memcmp(p, s, n) == 0;
}

/* The public key blob: string "ssh-ed25519", string key. */
static void
put_public(struct wire *w, const struct sshkey *k)
{
	struct wire blob = { NULL, 0, 0 };

	put_cstring(&blob, KEY_TYPE);
	put_string(&blob, k->pub, sizeof(k->pub));
	put_string(w, blob.b, blob.len);
	free(blob.b);
}

static int
parse_public_blob(const unsigned char *p, size_t n, struct sshkey *k)
{
	struct cursor c = { p, n };
	const unsigned char *key;
	size_t len;

	if (!get_is(&c, KEY_TYPE) || get_string(&c, &key, &len) != 0 ||
	    len != sizeof(k->pub) || c.left != 0)
		return -1;
	memcpy(k->pub, key, len);
	return 0;
}

/* Base64 of n bytes, lines of width characters (0: one line). */
static char *
base64(const unsigned char *p, size_t n, size_t width)
{
	size_t enc = 4 * ((n + 2) / 3), lines = width ? enc / width + 1 : 0;
	char *raw = xcalloc(enc + 1, 1), *out, *q;
	size_t i;

	EVP_EncodeBlock((unsigned char *)raw, p, (int)n);
	if (width == 0)
		return raw;
	out = q = xcalloc(enc + lines + 1, 1);
	for (i = 0; i < enc; i += width) {
		size_t k = enc - i < width ? enc - i : width;

		memcpy(q, raw + i, k);
		q += k;
		*q++ = '\n';
	}
	free(raw);
	return out;
}

/* Decodes base64 text (newlines allowed); NULL when it is not. */
static unsigned char *
unbase64(const char *s, size_t n, size_t *outlen)
{
	char *clean = xcalloc(n + 1, 1);
	size_t i, k = 0, pad = 0;
	unsigned char *out;
	int got;

	for (i = 0; i < n; i++)
		if (s[i] != '\n' && s[i] != '\r')
			clean[k++] = s[i];
	if (k == 0 || k % 4 != 0) {
		free(clean);
		return NULL;
	}
	pad = (clean[k - 1] == '=') + (clean[k - 2] == '=');
	out = xcalloc(k / 4 * 3 + 1, 1);
	got = EVP_DecodeBlock(out, (unsigned char *)clean, (int)k);
	free(clean);
	if (got < 0 || (size_t)got < pad) {
		free(out);
		return NULL;
	}
	*outlen = (size_t)got - pad;
	return out;
}

/* The bytes between an armor's header and footer, decoded. */
static unsigned char *
unarmor(const char *text, size_t len, const char *begin, const char *end,
    size_t *outlen)
{
	const char *body, *stop;
	size_t i;

	if (len > ARMOR_MAX || len < strlen(begin) || memcmp(text, begin,
	    strlen(begin)) != 0)
		return NULL;
	for (i = 0; i < len; i++)
		if (text[i] == '\0')
			return NULL;
	body = text + strlen(begin);
	for (stop = body; stop + strlen(end) <= text + len; stop++)
		if (memcmp(stop, end, strlen(end)) == 0)
			break;
	if (stop + strlen(end) > text + len || (stop > body &&
	    stop[-1] != '\n'))
		return NULL;
	return unbase64(body, (size_t)(stop - body), outlen);
}

int
sshkey_parse_public(const char *line, struct sshkey *k, const char **why)
{
	const char *b64, *e;
	unsigned char *blob;
	size_t n;

	memset(k, 0, sizeof(*k));
	if (strncmp(line, KEY_TYPE " ", strlen(KEY_TYPE) + 1) != 0) {
		*why = "not an ssh-ed25519 key (only Ed25519 is used)";
		return -1;
	}
	b64 = line + strlen(KEY_TYPE) + 1;
	for (e = b64; *e != '\0' && *e != ' '; e++)
		;
	if ((blob = unbase64(b64, (size_t)(e - b64), &n)) == NULL ||
	    parse_public_blob(blob, n, k) != 0) {
		free(blob);
		*why = "malformed ssh-ed25519 key";
		return -1;
	}
	free(blob);
	return 0;
}

char *
sshkey_format_public(const struct sshkey *k, const char *comment)
{
	struct wire w = { NULL, 0, 0 };
	char *b64, *line;

	put_cstring(&w, KEY_TYPE);
	put_string(&w, k->pub, sizeof(k->pub));
	b64 = base64(w.b, w.len, 0);
	line = xasprintf("%s %s%s%s", KEY_TYPE, b64, comment ? " " : "",
	    comment ? comment : "");
	free(b64);
	free(w.b);
	return line;
}

int
sshkey_generate(struct sshkey *k)
{
	EVP_PKEY *pkey;
	size_t n = sizeof(k->pub);

	memset(k, 0, sizeof(*k));
	if (RAND_bytes(k->seed, sizeof(k->seed)) != 1 ||
	    (pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    k->seed, sizeof(k->seed))) == NULL)
		return -1;
	if (EVP_PKEY_get_raw_public_key(pkey, k->pub, &n) != 1 ||
	    n != sizeof(k->pub)) {
		EVP_PKEY_free(pkey);
		return -1;
	}
	EVP_PKEY_free(pkey);
	k->has_private = 1;
	return 0;
}

char *
sshkey_format_private(const struct sshkey *k, const char *comment,
    size_t *len)
{
	struct wire w = { NULL, 0, 0 }, priv = { NULL, 0, 0 };
	unsigned char both[64], pad;
	uint32_t check;
	char *b64, *text;

	if (RAND_bytes((unsigned char *)&check, sizeof(check)) != 1)
		return NULL;
	put_bytes(&w, KEY_MAGIC, sizeof(KEY_MAGIC));
	put_cstring(&w, "none");
	put_cstring(&w, "none");
	put_cstring(&w, "");
	put_u32(&w, 1);
	put_public(&w, k);
	put_u32(&priv, check);
	put_u32(&priv, check);
	put_cstring(&priv, KEY_TYPE);
	put_string(&priv, k->pub, sizeof(k->pub));
	memcpy(both, k->seed, 32);
	memcpy(both + 32, k->pub, 32);
	put_string(&priv, both, sizeof(both));
	put_cstring(&priv, comment ? comment : "");
	for (pad = 1; priv.len % 8 != 0; pad++)
		put_bytes(&priv, &pad, 1);
	put_string(&w, priv.b, priv.len);
	b64 = base64(w.b, w.len, 70);
	text = xasprintf("%s%s%s\n", KEY_BEGIN, b64, KEY_END);
	*len = strlen(text);
	OPENSSL_cleanse(both, sizeof(both));
	OPENSSL_cleanse(priv.b, priv.len);
	free(priv.b);
	free(w.b);
	free(b64);
	return text;
}

int
sshkey_parse_private(const char *text, size_t len, struct sshkey *k,
    const char **why)
{
	unsigned char *blob;
	const unsigned char *p, *pub, *sk;
	struct cursor c, pc;
	size_t n, npub, nsk;
	uint32_t nkeys, c1, c2;
	int rc = -1;

	memset(k, 0, sizeof(*k));
	if ((blob = unarmor(text, len, KEY_BEGIN, KEY_END, &n)) == NULL) {
		*why = "not an OpenSSH private key";
		return -1;
	}
	c.p = blob;
	c.left = n;
	*why = "malformed OpenSSH private key";
	if (c.left < sizeof(KEY_MAGIC) || memcmp(c.p, KEY_MAGIC,
	    sizeof(KEY_MAGIC)) != 0)
		goto out;
	c.p += sizeof(KEY_MAGIC);
	c.left -= sizeof(KEY_MAGIC);
	if (!get_is(&c, "none") || !get_is(&c, "none")) {
		*why = "an encrypted private key (sluice needs one without "
		    "a passphrase)";
		goto out;
	}
	if (get_string(&c, &p, &n) != 0 || get_u32(&c, &nkeys) != 0 ||
	    nkeys != 1 || get_string(&c, &p, &n) != 0)
		goto out;
	if (parse_public_blob(p, n, k) != 0) {
		*why = "not an Ed25519 private key (only Ed25519 is used)";
		goto out;
	}
	if (get_string(&c, &p, &n) != 0)
		goto out;
	pc.p = p;
	pc.left = n;
	if (get_u32(&pc, &c1) != 0 || get_u32(&pc, &c2) != 0 || c1 != c2 ||
	    !get_is(&pc, KEY_TYPE) || get_string(&pc, &pub, &npub) != 0 ||
	    npub != 32 || memcmp(pub, k->pub, 32) != 0 ||
	    get_string(&pc, &sk, &nsk) != 0 || nsk != 64 ||
	    memcmp(sk + 32, k->pub, 32) != 0)
		goto out;
	memcpy(k->seed, sk, 32);
	k->has_private = 1;
	rc = 0;
out:
	OPENSSL_cleanse(blob, n);
	free(blob);
	if (rc != 0)
		memset(k, 0, sizeof(*k));
	return rc;
}

int
sshkey_load_private(const char *path, struct sshkey *k, char *why,
    size_t whylen)
{
	const char *what;
	char *text;
	size_t len;
	struct stat st;
	int rc;

	if (read_file_max(AT_FDCWD, path, 0, ARMOR_MAX, &text, &len) != 0) {
		snprintf(why, whylen, "%s: %s", path, errno == EFBIG ?
		    "too large for a key" : errno == EINVAL ? "not a regular "
		    "file" : strerror(errno));
		return errno == ENOENT ? 1 : -1;
	}
	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0) {
		snprintf(why, whylen, "%s: mode %04o lets others read it",
		    path, (unsigned)(st.st_mode & 07777));
		OPENSSL_cleanse(text, len);
		free(text);
		return -1;
	}
	rc = sshkey_parse_private(text, len, k, &what);
	OPENSSL_cleanse(text, len);
	free(text);
	if (rc != 0)
		snprintf(why, whylen, "%s: %s", path, what);
	return rc != 0 ? -1 : 0;
}

/* The data SSHSIG signs: preamble, namespace, reserved, hash, H(msg). */
static int
signed_data(struct wire *w, const char *hash, const void *msg, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	const EVP_MD *alg = strcmp(hash, "sha512") == 0 ? EVP_sha512() :
	    strcmp(hash, "sha256") == 0 ? EVP_sha256() : NULL;

	if (alg == NULL || EVP_Digest(msg, len, md, &mdlen, alg, NULL) != 1)
		return -1;
	put_bytes(w, SIG_MAGIC, strlen(SIG_MAGIC));
	put_cstring(w, SIG_NAMESPACE);
	put_cstring(w, "");
	put_cstring(w, hash);
	put_string(w, md, mdlen);
	return 0;
}

/* A private key made ready to sign: OpenSSL's key, made once. */
struct sshsig_signer {
	struct sshkey	 pub;		/* the public half alone */
	EVP_PKEY	*pkey;
};

/*
 * A signer for the private key k, for signing many texts: OpenSSL makes
 * its key (deriving the public half) once, not for each.  Several
 * threads may sign with one signer at once.  Returns NULL when k has no
 * private half or OpenSSL fails; free it with sshsig_signer_free().
 */
struct sshsig_signer *
sshsig_signer_new(const struct sshkey *k)
{
	struct sshsig_signer *sg;

	if (!k->has_private)
		return NULL;
	sg = xcalloc(1, sizeof(*sg));
	memcpy(sg->pub.pub, k->pub, sizeof(k->pub));
	if ((sg->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    k->seed, sizeof(k->seed))) == NULL) {
		free(sg);
		return NULL;
	}
	return sg;
}

/* Frees a signer; NULL is fine. */
void
sshsig_signer_free(struct sshsig_signer *sg)
{
	if (sg == NULL)
		return;
	EVP_PKEY_free(sg->pkey);
	free(sg);
}

/*
 * The armored SSHSIG signature of msg, in the namespace "sluice" over its
 * SHA-512, owned by the caller with its length in *outlen; NULL when
 * OpenSSL fails.
 */
char *
sshsig_signer_sign(struct sshsig_signer *sg, const void *msg, size_t len,
    size_t *outlen)
{
	struct wire data = { NULL, 0, 0 }, sig = { NULL, 0, 0 };
	struct wire blob = { NULL, 0, 0 };
	unsigned char raw[64];
	size_t rawlen = sizeof(raw);
	EVP_MD_CTX *ctx = NULL;
	char *b64 = NULL, *text = NULL;

	if (signed_data(&data, "sha512", msg, len) != 0 ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, sg->pkey) != 1 ||
	    EVP_DigestSign(ctx, raw, &rawlen, data.b, data.len) != 1 ||
	    rawlen != sizeof(raw))
		goto out;
	put_cstring(&sig, KEY_TYPE);
	put_string(&sig, raw, rawlen);
	put_bytes(&blob, SIG_MAGIC, strlen(SIG_MAGIC));
	put_u32(&blob, 1);
	put_public(&blob, &sg->pub);
	put_cstring(&blob, SIG_NAMESPACE);
	put_cstring(&blob, "");
	put_cstring(&blob, "sha512");
	put_string(&blob, sig.b, sig.len);
	b64 = base64(blob.b, blob.len, 70);
	text = xasprintf("%s%s%s\n", SIG_BEGIN, b64, SIG_END);
	*outlen = strlen(text);
out:
	EVP_MD_CTX_free(ctx);
	free(data.b);
	free(sig.b);
	free(blob.b);
	free(b64);
	return text;
}

/* sshsig_signer_sign() with a signer for k made and freed here. */
char *
sshsig_sign(const struct sshkey *k, const void *msg, size_t len,
    size_t *outlen)
{
	struct sshsig_signer *sg = sshsig_signer_new(k);
	char *text = NULL;

	if (sg != NULL)
		text = sshsig_signer_sign(sg, msg, len, outlen);
	sshsig_signer_free(sg);
	return text;
}

/*
 * Whether sigtext is key k's SSHSIG signature of msg in namespace
 * 'sluice': 0 with *why NULL, or -1 with *why saying why not.
 */
int
sshsig_verify(const struct sshkey *k, const void *msg, size_t len,
    const char *sigtext, size_t siglen, const char **why)
{
	struct wire data = { NULL, 0, 0 };
	struct sshkey signer;
	struct cursor c, sc;
	const unsigned char *p, *raw, *hash;
	unsigned char *blob;
	char alg[16];
	size_t n, nraw, nhash;
	uint32_t version;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *ctx = NULL;
	int rc = -1;

	if ((blob = unarmor(sigtext, siglen, SIG_BEGIN, SIG_END, &n)) ==
	    NULL) {
		*why = "not an SSH signature";
		return -1;
	}
	c.p = blob;
	c.left = n;
	*why = "malformed SSH signature";
	if (c.left < 6 || memcmp(c.p, SIG_MAGIC, 6) != 0)
		goto out;
	c.p += 6;
	c.left -= 6;
	if (get_u32(&c, &version) != 0 || version != 1 ||
	    get_string(&c, &p, &n) != 0)
		goto out;
	if (parse_public_blob(p, n, &signer) != 0) {
		*why = "not an Ed25519 signature";
		goto out;
	}
	if (!get_is(&c, SIG_NAMESPACE)) {
		*why = "not a signature in namespace 'sluice'";
		goto out;
	}
	if (get_string(&c, &p, &n) != 0 || get_string(&c, &hash, &nhash) !=
	    0 || nhash >= sizeof(alg) || get_string(&c, &p, &n) != 0 ||
	    c.left != 0)
		goto out;
	memcpy(alg, hash, nhash);
	alg[nhash] = '\0';
	sc.p = p;
	sc.left = n;
	if (!get_is(&sc, KEY_TYPE) || get_string(&sc, &raw, &nraw) != 0 ||
	    nraw != 64 || sc.left != 0)
		goto out;
	if (memcmp(signer.pub, k->pub, sizeof(k->pub)) != 0) {
		*why = "made with another key";
		goto out;
	}
	if (signed_data(&data, alg, msg, len) != 0) {
		*why = "an unknown hash algorithm";
		goto out;
	}
	*why = "does not verify";
	if ((pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
	    k->pub, sizeof(k->pub))) == NULL ||
	    (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pkey) != 1 ||
	    EVP_DigestVerify(ctx, raw, nraw, data.b, data.len) != 1)
		goto out;
	*why = NULL;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	free(data.b);
	free(blob);
	return rc;
}

/*
 * Writes key k to a new file at path (mode 0600, never over an existing
 * one: that would unpin whoever pinned it), synced, its directory made
 * first when it is missing (mode 0700, as /etc/sluice on a new master).
 * Returns 0, or a sysexits.h code with the reason said.
 */
int
sshkey_write_new(const char *path, const struct sshkey *k,
    const char *comment)
{
	char *text, *copy = xstrdup(path);
	const char *dir;
	size_t len;
	int fd, rc = 0;

	if ((text = sshkey_format_private(k, comment, &len)) == NULL) {
		warnx_("%s: cannot format the key", path);
		free(copy);
		return EX_SOFTWARE;
	}
	dir = dirname(copy);
	if (mkdir_p(dir, 0700) == -1) {
		warnx_("%s: %s", dir, strerror(errno));
		rc = EX_CANTCREAT;
	} else if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		warnx_("%s: %s", path, errno == EEXIST ?
		    "exists: not overwritten" : strerror(errno));
		rc = EX_CANTCREAT;
	} else {
		if (write_all(fd, text, len) != 0 || fsync(fd) != 0) {
			warnx_("%s: %s", path, strerror(errno));
			rc = EX_IOERR;
		}
		if (close(fd) != 0 && rc == 0) {
			warnx_("%s: %s", path, strerror(errno));
			rc = EX_IOERR;
		}
		if (rc == 0 && fsync_dir(dir) != 0) {
			warnx_("%s: fsync: %s", dir, strerror(errno));
			rc = EX_IOERR;
		}
	}
	OPENSSL_cleanse(text, len);
	free(text);
	free(copy);
	return rc;
}
