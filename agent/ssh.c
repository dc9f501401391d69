/*
 * ssh.c: SSH sessions with libssh2.  The peer's host key must match
 * known_hosts exactly (an unknown or changed key is refused, naming the
 * host and the key's SHA256 fingerprint); authentication is by the
 * configured private key, else by ssh-agent.  Connects and I/O time out;
 * keepalives are sent.  One session may be shared by several threads:
 * each libssh2 call is made under the session's lock.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh2.h>
#include <libssh2_sftp.h>
#include <openssl/evp.h>

#include "agent.h"

/* The most an ask (ssh_ask()) reads of a file. */
#define ASK_MAX 4096

/* Where the session's ask channel is. */
enum ask_phase {
	ASK_NONE,			/* no channel asked for yet */
	ASK_INIT,			/* the channel opening */
	ASK_IDLE,			/* open, no ask under way */
	ASK_LINK,			/* an ask's hint being read */
	ASK_OPEN,			/* an ask's file opening */
	ASK_READ,			/* ... being read */
	ASK_DONE,			/* ... read (or failed): its owner's */
	ASK_BROKEN			/* no channel to be had */
};

struct ssh {
	LIBSSH2_SESSION	*session;
	LIBSSH2_SFTP	*sftp;
	int		 sock;
	pthread_mutex_t	 lock;
	char		*where;		/* "user@address:port" for messages */
	double		 timeout;	/* seconds: the configured one */
	int		 timed_out;	/* a call did: the session is ended
					 * (sftp_error_on()) */
	int		 failed;	/* a call failed other than with an
					 * SFTP status: not to be kept */
	/* The ask channel: a second SFTP channel that reads small files a
	 * step at a time (ssh_ask()). */
	LIBSSH2_SFTP	*ask;
	enum ask_phase	 ask_phase;
	const void	*ask_owner;	/* whose ask is under way or done */
	char		*ask_hint;	/* read first, where there is one */
	char		*ask_path;
	LIBSSH2_SFTP_HANDLE *ask_file;	/* the ask's file, open */
	LIBSSH2_SFTP_HANDLE *ask_closing; /* a done ask's, closing */
	char		 ask_buf[ASK_MAX];
	size_t		 ask_have;
	int		 ask_rc;	/* a done ask's: 0, 1 (none) or -1 */
	struct ssh_error ask_err;	/* ... when -1 */
};

static void
set_error(struct ssh_error *e, enum failure_class c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void	 ask_close(struct ssh *);

static void
set_error(struct ssh_error *e, enum failure_class c, const char *fmt, ...)
{
	va_list ap;

	e->class = c;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	text_sanitize(e->detail);
}

int
ssh_library_init(void)
{
	return libssh2_init(0);
}

void
ssh_library_exit(void)
{
	libssh2_exit();
}

void
ssh_lock(struct ssh *s)
{
	pthread_mutex_lock(&s->lock);
}

void
ssh_unlock(struct ssh *s)
{
	pthread_mutex_unlock(&s->lock);
}

/* Connects a TCP socket within timeout seconds; -1 with e set. */
static int
tcp_connect(const char *address, unsigned port, double timeout,
    struct ssh_error *e)
{
	struct addrinfo hints, *res = NULL, *ai;
	char service[16];
	int fd = -1, rc, err = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(service, sizeof(service), "%u", port);
	if ((rc = getaddrinfo(address, service, &hints, &res)) != 0) {
		set_error(e, FAIL_CONNECT, "%s: %s", address,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t len = sizeof(err);
		int flags;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			err = errno;
			continue;
		}
		flags = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 &&
		    errno != EINPROGRESS) {
			err = errno;
			close(fd);
			fd = -1;
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		rc = poll(&pfd, 1, (int)(timeout * 1000));
		if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
		    &len) == 0 && err == 0) {
			int one = 1;

			fcntl(fd, F_SETFL, flags);
			/*
			 * SFTP reads are small requests answered by large
			 * replies: with Nagle's algorithm a request waits
			 * for the peer's delayed ACK, and reads of 64 KiB
			 * ran at 26 MB/s instead of 211 (loopback).
			 */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
			break;
		}
		if (rc == 0)
			err = ETIMEDOUT;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		set_error(e, err == ETIMEDOUT ? FAIL_TIMEOUT : FAIL_CONNECT,
		    "connect %s port %u: %s", address, port,
		    strerror(err ? err : ECONNREFUSED));
	return fd;
}

/* SHA256:base64 of the key, as ssh-keygen -l shows it. */
static void
fingerprint(const char *key, size_t len, char *out, size_t outlen)
{
	unsigned char md[32], b64[64];
	unsigned int mdlen = 0;
	int n;

	if (EVP_Digest(key, len, md, &mdlen, EVP_sha256(), NULL) != 1) {
		snprintf(out, outlen, "SHA256:?");
		return;
	}
	n = EVP_EncodeBlock(b64, md, (int)mdlen);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	b64[n] = '\0';
	snprintf(out, outlen, "SHA256:%s", b64);
}

static int
key_type_bits(int type)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA:
		return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS:
		return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
#ifdef LIBSSH2_HOSTKEY_TYPE_ECDSA_256
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
#endif
#ifdef LIBSSH2_HOSTKEY_TYPE_ED25519
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		return LIBSSH2_KNOWNHOST_KEY_ED25519;
#endif
	default:
		return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
	}
}

/* Accepts only an exact match of host, port, key type and key, as
 * OpenSSH does (no patterns or markers). */
static int
check_host_key(struct ssh *s, const struct agent_config *c,
    const char *address, unsigned port, struct ssh_error *e)
{
	LIBSSH2_KNOWNHOSTS *kh;
	struct libssh2_knownhost *found = NULL;
	const char *key;
	size_t len;
	int type, rc;
	char fp[80], name[300];

	if ((key = libssh2_session_hostkey(s->session, &len, &type)) == NULL) {
		set_error(e, FAIL_HOSTKEY, "%s: no host key", s->where);
		return -1;
	}
	fingerprint(key, len, fp, sizeof(fp));
	if ((kh = libssh2_knownhost_init(s->session)) == NULL) {
		set_error(e, FAIL_HOSTKEY, "%s: cannot check host keys",
		    s->where);
		return -1;
	}
	if (libssh2_knownhost_readfile(kh, c->known_hosts,
	    LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		set_error(e, FAIL_HOSTKEY, "%s: cannot read %s", s->where,
		    c->known_hosts);
		libssh2_knownhost_free(kh);
		return -1;
	}
	/* OpenSSH's names: the address alone on port 22, "[address]:port"
	 * on any other, each matched as written or hashed.  (Given the port,
	 * libssh2 would also take an entry of the address alone for any
	 * port: the name is built here and no port given.) */
	if (port == 22)
		snprintf(name, sizeof(name), "%s", address);
	else
		snprintf(name, sizeof(name), "[%s]:%u", address, port);
	rc = libssh2_knownhost_checkp(kh, name, -1, key, len,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	    key_type_bits(type), &found);
	libssh2_knownhost_free(kh);
	if (rc == LIBSSH2_KNOWNHOST_CHECK_MATCH)
		return 0;
	set_error(e, FAIL_HOSTKEY, "host %s port %u: host key %s %s in %s",
	    address, port, fp, rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH ?
	    "does not match the key" : "is not known", c->known_hosts);
	return -1;
}

static int
authenticate(struct ssh *s, const struct agent_config *c, const char *user,
    struct ssh_error *e)
{
	LIBSSH2_AGENT *agent;
	struct libssh2_agent_publickey *id = NULL, *prev = NULL;
	int rc = -1;

	if (c->identity != NULL) {
		if (libssh2_userauth_publickey_fromfile_ex(s->session, user,
		    (unsigned)strlen(user), NULL, c->identity, NULL) == 0)
			return 0;
		set_error(e, FAIL_AUTH, "%s: key %s refused", s->where,
		    c->identity);
		return -1;
	}
	if ((agent = libssh2_agent_init(s->session)) == NULL ||
	    libssh2_agent_connect(agent) != 0 ||
	    libssh2_agent_list_identities(agent) != 0) {
		set_error(e, FAIL_AUTH, "%s: no identity configured and no "
		    "ssh-agent", s->where);
		if (agent)
			libssh2_agent_free(agent);
		return -1;
	}
	while (libssh2_agent_get_identity(agent, &id, prev) == 0) {
		if (libssh2_agent_userauth(agent, user, id) == 0) {
			rc = 0;
			break;
		}
		prev = id;
	}
	if (rc != 0)
		set_error(e, FAIL_AUTH, "%s: every ssh-agent key refused",
		    s->where);
	libssh2_agent_disconnect(agent);
	libssh2_agent_free(agent);
	return rc;
}

/*
 * Opens an SFTP session to user@address:port (user NULL: this process's
 * user).  Returns 0 with *out owned by the caller (ssh_close()), or -1
 * with e classified.
 */
int
ssh_connect(const struct agent_config *c, const char *address,
    unsigned port, const char *user, struct ssh **out, struct ssh_error *e)
{
	struct ssh *s = xcalloc(1, sizeof(*s));
	struct passwd *pw;

	*out = NULL;
	pthread_mutex_init(&s->lock, NULL);
	if (user == NULL) {
		if ((pw = getpwuid(getuid())) == NULL) {
			set_error(e, FAIL_AUTH, "who am I: %s", strerror(errno));
			goto fail;
		}
		user = pw->pw_name;
	}
	s->where = xasprintf("%s@%s port %u", user, address, port);
	s->timeout = c->timeout;
	if ((s->sock = tcp_connect(address, port, c->timeout, e)) == -1)
		goto fail;
	if ((s->session = libssh2_session_init()) == NULL) {
		set_error(e, FAIL_CONNECT, "%s: cannot start a session",
		    s->where);
		goto fail;
	}
	libssh2_session_set_blocking(s->session, 1);
	libssh2_session_set_timeout(s->session, (long)(c->timeout * 1000));
	if (libssh2_session_handshake(s->session, s->sock) != 0) {
		char *msg = NULL;

		libssh2_session_last_error(s->session, &msg, NULL, 0);
		set_error(e, libssh2_session_last_errno(s->session) ==
		    LIBSSH2_ERROR_TIMEOUT ? FAIL_TIMEOUT : FAIL_CONNECT,
		    "%s: handshake: %s", s->where, msg ? msg : "failed");
		goto fail;
	}
	if (check_host_key(s, c, address, port, e) != 0 ||
	    authenticate(s, c, user, e) != 0)
		goto fail;
	/* Only now: a keepalive during the key exchange breaks it. */
	libssh2_keepalive_config(s->session, 1, 15);
	if ((s->sftp = libssh2_sftp_init(s->session)) == NULL) {
		set_error(e, FAIL_CONNECT, "%s: no SFTP subsystem", s->where);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	ssh_close(s);
	return -1;
}

void
ssh_close(struct ssh *s)
{
	if (s == NULL)
		return;
	ask_close(s);
	if (s->sftp != NULL)
		libssh2_sftp_shutdown(s->sftp);
	if (s->session != NULL) {
		libssh2_session_disconnect(s->session, "done");
		libssh2_session_free(s->session);
	}
	if (s->sock > 0)
		close(s->sock);
	pthread_mutex_destroy(&s->lock);
	free(s->where);
	free(s);
}

/* What an SFTP status code means, as a person would say it. */
static const char *
sftp_status_text(unsigned long fx)
{
	switch (fx) {
	case LIBSSH2_FX_EOF:
		return "end of file";
	case LIBSSH2_FX_NO_SUCH_FILE:
	case LIBSSH2_FX_NO_SUCH_PATH:
		return "no such file";
	case LIBSSH2_FX_PERMISSION_DENIED:
	case LIBSSH2_FX_WRITE_PROTECT:
		return "permission denied";
	case LIBSSH2_FX_FAILURE:
		return "failed (the server says no more)";
	case LIBSSH2_FX_BAD_MESSAGE:
		return "bad message";
	case LIBSSH2_FX_NO_CONNECTION:
	case LIBSSH2_FX_CONNECTION_LOST:
		return "connection lost";
	case LIBSSH2_FX_OP_UNSUPPORTED:
		return "not supported by the server";
	case LIBSSH2_FX_INVALID_HANDLE:
		return "invalid handle";
	case LIBSSH2_FX_FILE_ALREADY_EXISTS:
		return "file exists";
	case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
	case LIBSSH2_FX_QUOTA_EXCEEDED:
		return "no space left";
	case LIBSSH2_FX_NOT_A_DIRECTORY:
		return "not a directory";
	case LIBSSH2_FX_INVALID_FILENAME:
		return "invalid file name";
	case LIBSSH2_FX_LINK_LOOP:
		return "too many levels of links";
	default:
		return NULL;
	}
}

/*
 * Classifies the session's last error, on channel sftp, for the op that
 * met it.  A call that timed out leaves libssh2 1.10 waiting for its
 * answer in the channel's records, and the next call of its kind takes
 * that answer for its own (a readlink or an open of another path): the
 * session is ended there (its socket shut down), and every call on it
 * after fails as timed out too.
 */
static void
sftp_error_on(struct ssh *s, LIBSSH2_SFTP *sftp, struct ssh_error *e,
    const char *what, const char *path)
{
	int err = libssh2_session_last_errno(s->session);
	unsigned long fx = 0;
	const char *text;
	char *msg = NULL;

	libssh2_session_last_error(s->session, &msg, NULL, 0);
	if (err == LIBSSH2_ERROR_SFTP_PROTOCOL)
		fx = libssh2_sftp_last_error(sftp);
	text = sftp_status_text(fx);
	if (err != LIBSSH2_ERROR_SFTP_PROTOCOL)
		s->failed = 1;
	if (err == LIBSSH2_ERROR_TIMEOUT && !s->timed_out) {
		s->timed_out = 1;
		(void)shutdown(s->sock, SHUT_RDWR);
	}
	if (err == LIBSSH2_ERROR_TIMEOUT)
		set_error(e, FAIL_TIMEOUT, "%s: %s %s: timeout", s->where,
		    what, path);
	else if (s->timed_out)
		set_error(e, FAIL_TIMEOUT, "%s: %s %s: the session timed out "
		    "before", s->where, what, path);
	else if (fx == LIBSSH2_FX_NO_SUCH_FILE || fx ==
	    LIBSSH2_FX_NO_SUCH_PATH)
		set_error(e, FAIL_MISSING, "%s: %s %s: no such file", s->where,
		    what, path);
	else if (text != NULL)
		set_error(e, FAIL_IO, "%s: %s %s: %s", s->where, what, path,
		    text);
	else if (fx != 0)
		set_error(e, FAIL_IO, "%s: %s %s: %s (SFTP status %lu)",
		    s->where, what, path, msg ? msg : "error", fx);
	else
		set_error(e, FAIL_IO, "%s: %s %s: %s", s->where, what, path,
		    msg ? msg : "error");
}

/* The same, on the session's own SFTP channel. */
static void
sftp_error(struct ssh *s, struct ssh_error *e, const char *what,
    const char *path)
{
	sftp_error_on(s, s->sftp, e, what, path);
}

/* An open remote file. */
struct ssh_file {
	LIBSSH2_SFTP_HANDLE *handle;
	char		*path;
};

/* Opens path for reading at offset; call under ssh_lock(). */
struct ssh_file *
ssh_open_read(struct ssh *s, const char *path, uint64_t offset,
    struct ssh_error *e)
{
	LIBSSH2_SFTP_HANDLE *h;
	struct ssh_file *f;

	h = libssh2_sftp_open(s->sftp, path, LIBSSH2_FXF_READ, 0);
	if (h == NULL) {
		sftp_error(s, e, "open", path);
		return NULL;
	}
	libssh2_sftp_seek64(h, offset);
	f = xcalloc(1, sizeof(*f));
	f->handle = h;
	f->path = xstrdup(path);
	return f;
}

/* Moves the next read to offset (what was asked ahead is dropped). */
void
ssh_seek(struct ssh_file *f, uint64_t offset)
{
	libssh2_sftp_seek64(f->handle, offset);
}

/*
 * Reads up to len bytes; returns the count, 0 at end, -1 with e set.
 * libssh2 asks the server for more beyond it: see fetch.c.
 */
long
ssh_read(struct ssh *s, struct ssh_file *f, void *buf, size_t len,
    struct ssh_error *e)
{
	ssize_t n;
	int next;

	libssh2_keepalive_send(s->session, &next);
	n = libssh2_sftp_read(f->handle, buf, len);
	if (n < 0) {
		sftp_error(s, e, "read", f->path);
		return -1;
	}
	return (long)n;
}

/* The size of an open file; 0, or -1 with e set. */
int
ssh_file_size(struct ssh *s, struct ssh_file *f, uint64_t *size,
    struct ssh_error *e)
{
	LIBSSH2_SFTP_ATTRIBUTES a;

	if (libssh2_sftp_fstat(f->handle, &a) != 0) {
		sftp_error(s, e, "stat", f->path);
		return -1;
	}
	if (!(a.flags & LIBSSH2_SFTP_ATTR_SIZE)) {
		set_error(e, FAIL_IO, "%s: stat %s: no size", s->where,
		    f->path);
		return -1;
	}
	*size = a.filesize;
	return 0;
}

/*
 * Closes h, and libssh2 lets it go.  A close that fails says what the
 * session is worth (a timeout ends it, sftp_error()), in e where e is
 * not NULL.  libssh2 keeps a handle whose close timed out in blocking
 * mode: closed again on the session so ended, it fails at once and is
 * let go.  Returns 0 or -1.
 */
static int
close_handle(struct ssh *s, LIBSSH2_SFTP_HANDLE *h, const char *path,
    struct ssh_error *e)
{
	struct ssh_error ce;
	int rc;

	if ((rc = libssh2_sftp_close_handle(h)) == 0)
		return 0;
	sftp_error(s, e != NULL ? e : &ce, "close", path);
	if (rc == LIBSSH2_ERROR_TIMEOUT || rc == LIBSSH2_ERROR_EAGAIN)
		(void)libssh2_sftp_close_handle(h);
	return -1;
}

void
ssh_close_file(struct ssh *s, struct ssh_file *f)
{
	if (f == NULL)
		return;
	/* A close that fails says what the session is worth, though the
	 * file is let go all the same. */
	(void)close_handle(s, f->handle, f->path, NULL);
	free(f->path);
	free(f);
}

/* Whether the remote path exists: 1, 0, or -1 when it cannot be told. */
int
ssh_exists(struct ssh *s, const char *path, struct ssh_error *e)
{
	LIBSSH2_SFTP_ATTRIBUTES attrs;

	if (libssh2_sftp_stat(s->sftp, path, &attrs) == 0)
		return 1;
	sftp_error(s, e, "stat", path);
	return e->class == FAIL_MISSING ? 0 : -1;
}

/*
 * Whether a session left idle still answers: a stat of path (whether or
 * not it is there), waited for wait seconds at most rather than the
 * configured timeout: one that does not answer by then is ended
 * (sftp_error_on()).  1 or 0.
 */
int
ssh_answers(struct ssh *s, const char *path, double wait)
{
	struct ssh_error e;
	int rc;

	libssh2_session_set_timeout(s->session, (long)(fmax(0.001,
	    fmin(s->timeout, wait)) * 1000));
	rc = ssh_exists(s, path, &e);
	libssh2_session_set_timeout(s->session, (long)(s->timeout * 1000));
	return rc >= 0;
}

/* Ends a session that has nothing under way at once, without waiting on
 * its peer for the goodbyes: its socket is shut down first. */
void
ssh_abandon(struct ssh *s)
{
	if (s != NULL && s->sock > 0)
		(void)shutdown(s->sock, SHUT_RDWR);
	ssh_close(s);
}

/*
 * Whether a run may leave the session to the next (struct session_pool):
 * nothing on it failed but with an SFTP status, and its ask channel, if
 * any, is idle and nobody's, with no answer still to come.
 */
int
ssh_reusable(struct ssh *s)
{
	return s != NULL && !s->timed_out && !s->failed &&
	    s->ask_owner == NULL && s->ask_closing == NULL &&
	    (s->ask_phase == ASK_NONE || s->ask_phase == ASK_IDLE ||
	    s->ask_phase == ASK_BROKEN);
}

/*
 * Reads the remote symbolic link at path into buf (NUL-terminated).
 * Returns 0, 1 when it does not exist, or -1.  Whether it exists is asked
 * first, by an lstat: libssh2 1.10's readlink of a missing path gives no
 * usable status (a different number from run to run), and a missing link
 * must not read as an unreachable server.
 */
int
ssh_readlink(struct ssh *s, const char *path, char *buf, size_t size,
    struct ssh_error *e)
{
	LIBSSH2_SFTP_ATTRIBUTES attrs;
	int n;

	if (libssh2_sftp_stat_ex(s->sftp, path, (unsigned)strlen(path),
	    LIBSSH2_SFTP_LSTAT, &attrs) != 0) {
		sftp_error(s, e, "lstat", path);
		return e->class == FAIL_MISSING ? 1 : -1;
	}
	if ((attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) == 0 ||
	    !LIBSSH2_SFTP_S_ISLNK(attrs.permissions)) {
		set_error(e, FAIL_IO, "%s: %s: not a symbolic link", s->where,
		    path);
		return -1;
	}
	n = libssh2_sftp_symlink_ex(s->sftp, path, (unsigned)strlen(path),
	    buf, (unsigned)size - 1, LIBSSH2_SFTP_READLINK);
	if (n < 0) {
		sftp_error(s, e, "readlink", path);
		return -1;
	}
	buf[n] = '\0';
	return 0;
}

/*
 * What a readlink's return n (not LIBSSH2_ERROR_EAGAIN) says: 0, a target
 * n bytes long; 1, none to read (no such link, or not a link: the server
 * says so; a target too long for the buffer; or an empty one, which is
 * what libssh2 1.10 gives for a failed readlink numbered 0, taking its
 * request number for its status); -1, the session failed.
 */
static int
readlink_says(int n)
{
	if (n > 0)
		return 0;
	if (n == 0 || n == LIBSSH2_ERROR_SFTP_PROTOCOL ||
	    n == LIBSSH2_ERROR_BUFFER_TOO_SMALL)
		return 1;
	return -1;
}

/*
 * Reads the target of the symbolic link at path in one round trip, with
 * no lstat first (ssh_readlink()): 0 with buf (NUL-terminated), 1 when
 * there is none to read (readlink_says()), -1 with e set when the
 * session failed.
 */
int
ssh_read_hint(struct ssh *s, const char *path, char *buf, size_t size,
    struct ssh_error *e)
{
	int n = libssh2_sftp_symlink_ex(s->sftp, path, (unsigned)strlen(path),
	    buf, (unsigned)size - 1, LIBSSH2_SFTP_READLINK);
	int rc = readlink_says(n);

	if (rc == 0)
		buf[n] = '\0';
	else if (rc < 0)
		sftp_error(s, e, "readlink", path);
	return rc;
}

/*
 * Writes buf to the remote path, creating or truncating it, and syncs it
 * where the server can: its handle, still open, or NULL with e set.
 */
static LIBSSH2_SFTP_HANDLE *
put_synced(struct ssh *s, const char *path, const void *buf, size_t len,
    struct ssh_error *e)
{
	LIBSSH2_SFTP_HANDLE *h;
	const char *p = buf;
	ssize_t n;

	if ((h = libssh2_sftp_open(s->sftp, path, LIBSSH2_FXF_WRITE |
	    LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC, 0644)) == NULL) {
		sftp_error(s, e, "create", path);
		return NULL;
	}
	while (len > 0) {
		if ((n = libssh2_sftp_write(h, p, len)) <= 0) {
			sftp_error(s, e, "write", path);
			(void)close_handle(s, h, path, NULL);
			return NULL;
		}
		p += n;
		len -= (size_t)n;
	}
	if (libssh2_sftp_fsync(h) != 0 &&
	    libssh2_session_last_errno(s->session) !=
	    LIBSSH2_ERROR_SFTP_PROTOCOL) {
		sftp_error(s, e, "fsync", path);
		(void)close_handle(s, h, path, NULL);
		return NULL;
	}
	return h;
}

/* Writes buf to the remote path, creating or truncating it. */
int
ssh_put(struct ssh *s, const char *path, const void *buf, size_t len,
    struct ssh_error *e)
{
	LIBSSH2_SFTP_HANDLE *h;

	if ((h = put_synced(s, path, buf, len, e)) == NULL)
		return -1;
	return close_handle(s, h, path, e);
}

static int
remote_rename(struct ssh *s, const char *from, const char *to)
{
	return libssh2_sftp_rename_ex(s->sftp, from, (unsigned)strlen(from),
	    to, (unsigned)strlen(to), LIBSSH2_SFTP_RENAME_ATOMIC |
	    LIBSSH2_SFTP_RENAME_NATIVE);
}

/* What a read of a whole small file has read (batch_read()). */
struct ssh_got {
	char		*buf;
	size_t		 len, cap, max;
};

/*
 * A batch: requests sent each whole, none waiting for the answer to the
 * one before (batch_run()).  libssh2 keeps a request's state where the
 * call is made again until it is answered: a close's in its handle, the
 * others' (an open, a read, a write, an fsync, a rename, a removal) in
 * the SFTP channel, one of each kind at a time.  So a batch holds
 * requests of different kinds, and closes (batch_fits()).
 */
enum { BK_CLOSE, BK_OPEN, BK_READ, BK_WRITE, BK_FSYNC, BK_RENAME,
    BK_REMOVE };
#define BATCH_MAX 8

struct batch_req {
	/* Makes the request or takes its answer, as libssh2 takes the
	 * call again: 0, LIBSSH2_ERROR_EAGAIN, or a libssh2 error (said in
	 * e by batch_run(), unless the call said it, said). */
	int		(*call)(struct ssh *, struct batch_req *);
	int		 kind;		/* BK_ */
	const char	*what;		/* "close", "rename", ... */
	const char	*on;		/* the path it is said of */
	const char	*from;		/* a rename's old path */
	LIBSSH2_SFTP_HANDLE **h;	/* what it closes, opens, reads or
					 * writes */
	struct ssh_got	*got;		/* what a read reads into */
	const char	*data;		/* what a write writes */
	size_t		 len, done;
	int		 rc;
	int		 said;
	int		 seq;		/* its place in the sending order */
	struct ssh_error e;
};

static int
batch_close(struct ssh *s, struct batch_req *r)
{
	int rc = libssh2_sftp_close_handle(*r->h);

	(void)s;
	if (rc != LIBSSH2_ERROR_EAGAIN)
		*r->h = NULL;	/* closed or failed, libssh2 let it go */
	return rc;
}

static int
batch_rename(struct ssh *s, struct batch_req *r)
{
	return remote_rename(s, r->from, r->on);
}

static int
batch_remove(struct ssh *s, struct batch_req *r)
{
	return libssh2_sftp_unlink(s->sftp, r->on);
}

static int
batch_open(struct ssh *s, struct batch_req *r)
{
	*r->h = libssh2_sftp_open_ex(s->sftp, r->on, (unsigned)strlen(r->on),
	    LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
	return *r->h != NULL ? 0 : libssh2_session_last_errno(s->session);
}

/* Creates r->on for writing, or truncates it, as put_synced() does. */
static int
batch_create(struct ssh *s, struct batch_req *r)
{
	*r->h = libssh2_sftp_open_ex(s->sftp, r->on, (unsigned)strlen(r->on),
	    LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC, 0644,
	    LIBSSH2_SFTP_OPENFILE);
	return *r->h != NULL ? 0 : libssh2_session_last_errno(s->session);
}

/* Writes the rest of r->data, as far as it goes without waiting: libssh2
 * says 0 where a packet went in part (a window full), to be called again
 * once the session can go on. */
static int
batch_write(struct ssh *s, struct batch_req *r)
{
	ssize_t n;

	(void)s;
	while (r->done < r->len) {
		if ((n = libssh2_sftp_write(*r->h, r->data + r->done, r->len -
		    r->done)) < 0)
			return (int)n;
		if (n == 0)
			return LIBSSH2_ERROR_EAGAIN;
		r->done += (size_t)n;
	}
	return 0;
}

/* Syncs where the server can: one that cannot says so by an SFTP status,
 * as put_synced() takes it. */
static int
batch_fsync(struct ssh *s, struct batch_req *r)
{
	int rc = libssh2_sftp_fsync(*r->h);

	(void)s;
	return rc == LIBSSH2_ERROR_SFTP_PROTOCOL ? 0 : rc;
}

/* Reads the rest of the file open at *r->h, at most r->got->max bytes,
 * as far as it goes without waiting. */
static int
batch_read(struct ssh *s, struct batch_req *r)
{
	struct ssh_got *g = r->got;
	ssize_t n;

	for (;;) {
		if (g->len == g->cap) {
			if (g->cap >= g->max) {
				set_error(&r->e, FAIL_IO, "%s: %s: larger than "
				    "%zu bytes", s->where, r->on, g->max);
				r->said = 1;
				return LIBSSH2_ERROR_BUFFER_TOO_SMALL;
			}
			g->cap = g->cap ? 2 * g->cap : 65536;
			g->buf = xreallocarray(g->buf, g->cap + 1, 1);
		}
		n = libssh2_sftp_read(*r->h, g->buf + g->len, g->cap - g->len);
		if (n <= 0)
			return (int)n;
		g->len += (size_t)n;
	}
}

/*
 * Whether the call just made, which would block, has sent its request
 * whole and waits for its answer: libssh2 1.10 then says "would block"
 * (_libssh2_channel_read()), or of an open "Would block waiting for
 * status message", and where the request is not yet sent (a socket that
 * takes no more, a key exchange under way, a window full) "Unable to
 * send channel data", "Would block sending FXP_OPEN..." or nothing.  A
 * version that says otherwise has each request answered before the next
 * is sent: slower, not wrong.
 */
static int
request_sent(struct ssh *s)
{
	char *msg = NULL;

	libssh2_session_last_error(s->session, &msg, NULL, 0);
	return msg != NULL && (strcmp(msg, "would block") == 0 ||
	    strcmp(msg, "Would block waiting for status message") == 0);
}

/* Waits until the session's socket can go on, at most the session's
 * timeout, as libssh2's blocking calls do: 0, or -1 when it does not (the
 * session is lost). */
static int
batch_wait(struct ssh *s)
{
	struct pollfd pfd;
	int n;

	pfd.fd = s->sock;
	pfd.events = 0;
	if (libssh2_session_block_directions(s->session) &
	    LIBSSH2_SESSION_BLOCK_OUTBOUND)
		pfd.events |= POLLOUT;
	if (libssh2_session_block_directions(s->session) &
	    LIBSSH2_SESSION_BLOCK_INBOUND || pfd.events == 0)
		pfd.events |= POLLIN;
	while ((n = poll(&pfd, 1, (int)ceil(s->timeout * 1000))) == -1 &&
	    errno == EINTR)
		;
	return n > 0 ? 0 : -1;
}

/* Whether r moves a file's data: a read or a write, whose request may
 * be sent in many packets (batch_run()). */
static int
batch_streams(const struct batch_req *r)
{
	return r->kind == BK_READ || r->kind == BK_WRITE;
}

/*
 * Makes the n requests r[], each sent whole before the next
 * (request_sent()) but none waiting for the answer to the one before:
 * one round trip where they took n.  A read or a write, whose request
 * takes more than one packet where the file is large, goes last (a
 * batch holds one, batch_fits()): "sent" says only that its first
 * packet is out, and no other request may come between its packets.
 * The server answers them in order, and makes each whether the one
 * before failed or not, so that only requests that may fail apart go
 * together.  A call takes its own answer, keeping others' for theirs;
 * so the answers are taken in the order sent, each call made before
 * the socket is waited on.  r[k].rc is each one's return, 0 or a libssh2
 * error, said in r[k].e.  Returns 0 once every one is answered, or -1
 * when the session went silent for its timeout (s->timed_out; those
 * unanswered say so).  The caller holds the session's lock.
 */
static int
batch_run(struct ssh *s, struct batch_req *r, int n)
{
	int order[BATCH_MAX], i, k, m = 0, rc = 0;

	for (k = 0; k < n; k++) {
		r[k].rc = LIBSSH2_ERROR_EAGAIN;
		r[k].said = 0;
		if (!batch_streams(&r[k]))
			order[m++] = k;
	}
	for (k = 0; k < n; k++)
		if (batch_streams(&r[k]))
			order[m++] = k;
	for (i = 0; i < n; i++)
		r[order[i]].seq = i;
	libssh2_session_set_blocking(s->session, 0);
	/* Sent, each whole; then answered in order. */
	for (i = 0; i < 2 * n && rc == 0; i++) {
		k = order[i % n];
		while (r[k].rc == LIBSSH2_ERROR_EAGAIN) {
			(void)libssh2_session_set_last_error(s->session, 0,
			    NULL);
			if ((r[k].rc = r[k].call(s, &r[k])) !=
			    LIBSSH2_ERROR_EAGAIN) {
				if (r[k].rc != 0 && !r[k].said)
					sftp_error(s, &r[k].e, r[k].what,
					    r[k].on);
				break;
			}
			if (i < n && request_sent(s))
				break;
			if (batch_wait(s) != 0) {
				rc = -1;
				break;
			}
		}
	}
	libssh2_session_set_blocking(s->session, 1);
	if (rc != 0) {
		for (k = 0; k < n; k++)
			if (r[k].rc == LIBSSH2_ERROR_EAGAIN)
				set_error(&r[k].e, FAIL_TIMEOUT, "%s: %s %s: "
				    "timeout", s->where, r[k].what, r[k].on);
		if (!s->timed_out) {
			s->timed_out = 1;
			(void)shutdown(s->sock, SHUT_RDWR);
		}
	}
	return rc;
}

/* The error of a batch that failed: the first request as sent that it
 * left unanswered, else the first as sent that failed. */
static void
batch_error(const struct batch_req *r, int n, struct ssh_error *e)
{
	int k, pick = -1, unanswered, was;

	for (k = 0; k < n; k++) {
		if (r[k].rc == 0)
			continue;
		unanswered = r[k].rc == LIBSSH2_ERROR_EAGAIN;
		was = pick >= 0 && r[pick].rc == LIBSSH2_ERROR_EAGAIN;
		if (pick < 0 || (unanswered && !was) || (unanswered == was &&
		    r[k].seq < r[pick].seq))
			pick = k;
	}
	if (pick >= 0)
		*e = r[pick].e;
}

/* A request of a batch, for call to make. */
static struct batch_req
batch_req(int (*call)(struct ssh *, struct batch_req *), int kind,
    const char *what, const char *on, const char *from,
    LIBSSH2_SFTP_HANDLE **h)
{
	struct batch_req r;

	memset(&r, 0, sizeof(r));
	r.call = call;
	r.kind = kind;
	r.what = what;
	r.on = on;
	r.from = from;
	r.h = h;
	return r;
}

/* Whether the n requests add can join the n0 of r in one batch: no two
 * of a kind but closes (libssh2 keeps one of each kind's state), one
 * read or write at most (batch_run()), BATCH_MAX in all. */
static int
batch_fits(const struct batch_req *r, int n0, const struct batch_req *add,
    int n)
{
	int i, k;

	if (n0 + n > BATCH_MAX)
		return 0;
	for (i = 0; i < n; i++)
		for (k = 0; k < n0; k++)
			if ((add[i].kind == r[k].kind && r[k].kind !=
			    BK_CLOSE) || (batch_streams(&add[i]) &&
			    batch_streams(&r[k])))
				return 0;
	return 1;
}

/*
 * Finishes or drops a .name.new in the way (side), a replacement a crash
 * cut short, and renames tmp to side again, a step at a time: side
 * renamed to path where path is gone (a whole copy, what readers found),
 * else removed.  Returns 0, or -1 with e set.
 */
static int
replace_recover(struct ssh *s, const char *tmp, const char *side,
    const char *path, struct ssh_error *e)
{
	if (remote_rename(s, side, path) != 0) {
		if (libssh2_session_last_errno(s->session) !=
		    LIBSSH2_ERROR_SFTP_PROTOCOL) {
			sftp_error(s, e, "rename", path);
			return -1;
		}
		/* Not over name, which is there, or for another reason:
		 * then .name.new may be the only whole copy, and stays. */
		if (ssh_exists(s, path, e) != 1) {
			if (!s->timed_out && !s->failed)
				set_error(e, FAIL_IO, "%s: rename %s: %s is in "
				    "the way, and %s is not there", s->where,
				    side, side, path);
			return -1;
		}
		if (libssh2_sftp_unlink(s->sftp, side) != 0 &&
		    libssh2_session_last_errno(s->session) !=
		    LIBSSH2_ERROR_SFTP_PROTOCOL) {
			sftp_error(s, e, "remove", side);
			return -1;
		}
	}
	if (remote_rename(s, tmp, side) != 0) {
		sftp_error(s, e, "rename", side);
		return -1;
	}
	return 0;
}

/*
 * A replacement of dir/name on the master (ssh_replace()), a step at a
 * time: each step's requests go in one batch, with another
 * replacement's where they fit (replace_files()).
 */
enum { REP_CREATE, REP_WRITE, REP_SYNC, REP_TO_SIDE, REP_TO_PATH,
    REP_DONE };

struct replacement {
	char		*tmp, *side, *path;
	const char	*buf;
	size_t		 len;
	LIBSSH2_SFTP_HANDLE *h;
	int		 step;		/* REP_ */
	struct batch_req r[2];		/* the step's requests */
	int		 n;
	struct ssh_error e;		/* why it failed */
};

/* The requests of x's step, in x->r: the open, the write and the sync
 * one each, the close and the first rename together (name untouched,
 * whatever they answer), the removal and the last rename together
 * (where the removal fails, so does the rename: name is there). */
static void
replace_requests(struct replacement *x)
{
	struct batch_req *r = x->r;

	x->n = 1;
	switch (x->step) {
	case REP_CREATE:
		r[0] = batch_req(batch_create, BK_OPEN, "create", x->tmp,
		    NULL, &x->h);
		break;
	case REP_WRITE:
		r[0] = batch_req(batch_write, BK_WRITE, "write", x->tmp, NULL,
		    &x->h);
		r[0].data = x->buf;
		r[0].len = x->len;
		break;
	case REP_SYNC:
		r[0] = batch_req(batch_fsync, BK_FSYNC, "fsync", x->tmp, NULL,
		    &x->h);
		break;
	case REP_TO_SIDE:
		r[0] = batch_req(batch_close, BK_CLOSE, "close", x->tmp, NULL,
		    &x->h);
		r[1] = batch_req(batch_rename, BK_RENAME, "rename", x->side,
		    x->tmp, NULL);
		x->n = 2;
		break;
	default:
		r[0] = batch_req(batch_remove, BK_REMOVE, "remove", x->path,
		    NULL, NULL);
		r[1] = batch_req(batch_rename, BK_RENAME, "rename", x->path,
		    x->side, NULL);
		x->n = 2;
	}
}

/* Takes the answers to x's step: 0 with x on its next step, or -1 with
 * x->e set. */
static int
replace_settle(struct ssh *s, struct replacement *x)
{
	struct batch_req *r = x->r;

	switch (x->step) {
	case REP_TO_SIDE:
		/* A close that failed may leave a copy cut short, which
		 * the rename made .name.new all the same: it goes. */
		if (r[0].rc != 0) {
			x->e = r[0].e;
			if (r[1].rc == 0 && !s->timed_out)
				(void)libssh2_sftp_unlink(s->sftp, x->side);
			return -1;
		}
		if (r[1].rc != 0 && (r[1].rc != LIBSSH2_ERROR_SFTP_PROTOCOL ||
		    r[1].e.class == FAIL_TIMEOUT)) {
			x->e = r[1].e;
			return -1;
		}
		if (r[1].rc != 0 && replace_recover(s, x->tmp, x->side,
		    x->path, &x->e) != 0)
			return -1;
		break;
	case REP_TO_PATH:
		if (r[0].rc != 0 && r[0].e.class != FAIL_MISSING) {
			x->e = r[0].e;
			return -1;
		}
		if (r[1].rc != 0) {
			x->e = r[1].e;
			return -1;
		}
		break;
	default:
		if (r[0].rc != 0) {
			x->e = r[0].e;
			return -1;
		}
	}
	x->step++;
	return 0;
}

/*
 * Makes the n replacements x[], each a step at a time, the steps of
 * later ones in the batches of earlier ones where they fit, a step
 * behind at least: each is whole (renamed to its name) before the next.
 * For two, 7 round trips where one after the other took 10.  Where one
 * fails, none goes on (each stops between two steps, which leaves a
 * whole copy at its name or at .name.new, as a crash would) and e says
 * why.  Returns 0 or -1.  The caller holds the session's lock.
 */
static int
replace_files(struct ssh *s, struct replacement *x, int n,
    struct ssh_error *e)
{
	struct batch_req r[BATCH_MAX];
	int i, k, m, took[4], rc = 0;

	for (i = 0; i < n; i++)
		x[i].step = REP_CREATE;
	while (rc == 0 && x[n - 1].step < REP_DONE) {
		m = 0;
		for (i = 0; i < n; i++) {
			took[i] = 0;
			if (x[i].step == REP_DONE || (i > 0 &&
			    x[i].step >= x[i - 1].step &&
			    x[i - 1].step < REP_DONE))
				continue;
			replace_requests(&x[i]);
			if (!batch_fits(r, m, x[i].r, x[i].n))
				continue;
			memcpy(r + m, x[i].r, (size_t)x[i].n * sizeof(*r));
			m += x[i].n;
			took[i] = 1;
		}
		if (batch_run(s, r, m) != 0) {
			batch_error(r, m, e);
			rc = -1;
			break;
		}
		for (i = m = 0; i < n && rc == 0; i++) {
			if (!took[i])
				continue;
			memcpy(x[i].r, r + m, (size_t)x[i].n * sizeof(*r));
			m += x[i].n;
			if (replace_settle(s, &x[i]) != 0) {
				*e = x[i].e;
				rc = -1;
			}
		}
	}
	/* What is left open is closed, and let go (after a timeout the
	 * close fails at once). */
	for (k = 0; k < n; k++)
		if (x[k].h != NULL) {
			(void)close_handle(s, x[k].h, x[k].tmp, NULL);
			x[k].h = NULL;
		}
	return rc;
}

/* x replaces dir/name with buf. */
static void
replacement_init(struct replacement *x, const char *dir, const char *name,
    const void *buf, size_t len)
{
	memset(x, 0, sizeof(*x));
	x->tmp = xasprintf("%s/.%s.tmp", dir, name);
	x->side = xasprintf("%s/.%s.new", dir, name);
	x->path = xasprintf("%s/%s", dir, name);
	x->buf = buf;
	x->len = len;
}

static void
replacement_free(struct replacement *x)
{
	free(x->tmp);
	free(x->side);
	free(x->path);
}

/*
 * Replaces dir/name on the master so that a reader always finds a whole
 * copy: SFTP version 3 cannot rename over a file, so the new text goes to
 * .name.tmp, is renamed to .name.new (a whole copy), the old name is
 * removed and .name.new renamed to it.  Readers that find no name read
 * .name.new (master.c does).  A state is sent in the moment between a
 * plan's ops and its expiry, and round trips to the master are what it
 * takes: the open, the write and the sync one each, the close and the
 * first rename one together, the removal and the last rename one
 * (replace_files()), 5 where they were 7; name is removed only once
 * .name.new is whole.  What a crash left behind is seen to only where
 * it is in the way (the truncating open writes over a .name.tmp; a
 * .name.new stops the first rename, and is then finished or dropped,
 * replace_recover()), not looked for every time.
 */
int
ssh_replace(struct ssh *s, const char *dir, const char *name,
    const void *buf, size_t len, struct ssh_error *e)
{
	struct replacement x;
	int rc;

	replacement_init(&x, dir, name, buf, len);
	rc = replace_files(s, &x, 1, e);
	replacement_free(&x);
	return rc;
}

/*
 * Replaces dir/name[0], then dir/name[1], each as ssh_replace() does,
 * the second's steps sent with the first's: 7 round trips for both,
 * where one after the other took 10.  Where the first fails, the second
 * is not replaced.  Returns 0, or -1 with e set.
 */
int
ssh_replace_pair(struct ssh *s, const char *dir, const char *const name[2],
    const void *const buf[2], const size_t len[2], struct ssh_error *e)
{
	struct replacement x[2];
	int i, rc;

	for (i = 0; i < 2; i++)
		replacement_init(&x[i], dir, name[i], buf[i], len[i]);
	rc = replace_files(s, x, 2, e);
	for (i = 0; i < 2; i++)
		replacement_free(&x[i]);
	return rc;
}

/* What ssh_get() and ssh_get_pair() give of a read that answered rc:
 * the bytes in *buf (the caller's, NUL-terminated) where rc is 0, else
 * nothing. */
static void
got_take(struct ssh_got *g, int rc, char **buf, size_t *len)
{
	if (rc == 0) {
		g->buf[g->len] = '\0';
		*buf = g->buf;
		*len = g->len;
	} else
		free(g->buf);
}

/*
 * Reads the whole remote file at path, at most max bytes (batch_read(),
 * one request).  Returns 0 with *buf owned by the caller, 1 when the file
 * does not exist, -1 otherwise.
 */
int
ssh_get(struct ssh *s, const char *path, char **buf, size_t *len,
    size_t max, struct ssh_error *e)
{
	LIBSSH2_SFTP_HANDLE *h;
	struct ssh_got got;
	struct batch_req r;
	int rc = -1;

	*buf = NULL;
	*len = 0;
	if ((h = libssh2_sftp_open(s->sftp, path, LIBSSH2_FXF_READ, 0)) ==
	    NULL) {
		sftp_error(s, e, "open", path);
		return e->class == FAIL_MISSING ? 1 : -1;
	}
	memset(&got, 0, sizeof(got));
	got.max = max;
	r = batch_req(batch_read, BK_READ, "read", path, NULL, &h);
	r.got = &got;
	if (batch_run(s, &r, 1) == 0 && r.rc == 0)
		rc = 0;
	else
		*e = r.e;
	/* What was read stands; a close that fails says what the session
	 * is worth (a timeout ends it), as ssh_close_file()'s does. */
	(void)close_handle(s, h, path, NULL);
	got_take(&got, rc, buf, len);
	return rc;
}

/*
 * Reads the two whole remote files path[0] and path[1], a file and its
 * signature, at most max[i] bytes each, as ssh_get() reads one: rc[i] 0
 * with buf[i] (the caller's) and len[i], 1 where the file does not
 * exist, -1 with e[i] set.  Where the first cannot be opened the second
 * is not read (rc[1] -1, e[1] what the first's open said).  Where
 * ssh_get() takes three round trips a file (an open, a read, a close),
 * the second's open goes with the first's read and its read with the
 * first's close (batch_run()): four for both.  The caller holds the
 * session's lock.
 */
void
ssh_get_pair(struct ssh *s, const char *const path[2], const size_t max[2],
    char *buf[2], size_t len[2], int rc[2], struct ssh_error e[2])
{
	enum { READ0, OPEN1, CLOSE0, READ1 };
	LIBSSH2_SFTP_HANDLE *h[2] = { NULL, NULL };
	struct ssh_got got[2];
	struct batch_req r[4];
	int i;

	r[READ0] = batch_req(batch_read, BK_READ, "read", path[0], NULL,
	    &h[0]);
	r[READ0].got = &got[0];
	r[OPEN1] = batch_req(batch_open, BK_OPEN, "open", path[1], NULL,
	    &h[1]);
	r[CLOSE0] = batch_req(batch_close, BK_CLOSE, "close", path[0], NULL,
	    &h[0]);
	r[READ1] = batch_req(batch_read, BK_READ, "read", path[1], NULL,
	    &h[1]);
	r[READ1].got = &got[1];
	memset(got, 0, sizeof(got));
	for (i = 0; i < 2; i++) {
		buf[i] = NULL;
		len[i] = 0;
		got[i].max = max[i];
	}
	if ((h[0] = libssh2_sftp_open(s->sftp, path[0], LIBSSH2_FXF_READ,
	    0)) == NULL) {
		sftp_error(s, &e[0], "open", path[0]);
		rc[0] = e[0].class == FAIL_MISSING ? 1 : -1;
		rc[1] = -1;
		e[1] = e[0];
		return;
	}
	rc[0] = rc[1] = -1;
	if (batch_run(s, r, 2) != 0) {
		e[0] = r[READ0].rc != 0 ? r[READ0].e : r[OPEN1].e;
		e[1] = r[OPEN1].rc != 0 ? r[OPEN1].e : r[READ0].e;
		goto out;
	}
	if (r[READ0].rc == 0)
		rc[0] = 0;
	else
		e[0] = r[READ0].e;
	if (r[OPEN1].rc != 0) {
		e[1] = r[OPEN1].e;
		rc[1] = e[1].class == FAIL_MISSING ? 1 : -1;
	}
	/* What was read stands; a close that fails says what the session
	 * is worth, as in ssh_get(). */
	if (batch_run(s, r + CLOSE0, h[1] != NULL ? 2 : 1) != 0) {
		if (h[1] != NULL)
			e[1] = r[READ1].e;
		goto out;
	}
	if (h[1] != NULL) {
		if (r[READ1].rc == 0)
			rc[1] = 0;
		else
			e[1] = r[READ1].e;
		(void)close_handle(s, h[1], path[1], NULL);
		h[1] = NULL;
	}
out:
	for (i = 0; i < 2; i++) {
		/* A handle a timeout left open is let go (its close fails
		 * at once). */
		if (h[i] != NULL)
			(void)close_handle(s, h[i], path[i], NULL);
		got_take(&got[i], rc[i], &buf[i], &len[i]);
	}
}

/*
 * Asks: small files read over a second SFTP channel of the session, a
 * step at a time.  The session's own channel carries reads that threads
 * make in libssh2's blocking mode, under the session's lock; an ask's
 * steps are made in its non-blocking mode under the same lock, so that
 * an ask's round trips (an open, a read, a close) pass while those
 * reads go on: a relay's reader learns how much its source holds
 * without stopping its reads (fetch.c).  libssh2 keeps a call's state,
 * where the call would block, in the ask channel's own records, and a
 * packet sent in part in the session's: a step never ends with a packet
 * sent in part (ask_resend()), which a blocking call of another thread
 * would refuse.  Nothing else opens a channel on a session once it is
 * connected, so the ask channel's opening may wait on the peer too.
 * One ask is under way on a session at a time: its owner's.
 */

/*
 * After a call that would block: 1 when it stopped part way through
 * sending a packet and the socket took more within the timeout, so that
 * the same call must be made again before anything else; 0 when it
 * waits for the peer (or the socket took nothing for the timeout: the
 * session is lost, and its next call says so).
 */
static int
ask_resend(struct ssh *s)
{
	struct pollfd pfd;
	int rc;

	if (!(libssh2_session_block_directions(s->session) &
	    LIBSSH2_SESSION_BLOCK_OUTBOUND))
		return 0;
	pfd.fd = s->sock;
	pfd.events = POLLOUT;
	while ((rc = poll(&pfd, 1, (int)(s->timeout * 1000))) == -1 &&
	    errno == EINTR)
		;
	return rc > 0;
}

/* 1 when the last libssh2 call of the session would have blocked. */
static int
would_block(struct ssh *s)
{
	return libssh2_session_last_errno(s->session) == LIBSSH2_ERROR_EAGAIN;
}

/* The ask, under way or not, is nobody's. */
static void
ask_disown(struct ssh *s)
{
	s->ask_owner = NULL;
	free(s->ask_hint);
	s->ask_hint = NULL;
	free(s->ask_path);
	s->ask_path = NULL;
}

/* The ask is over, and nobody's: the channel takes the next. */
static void
ask_release(struct ssh *s)
{
	ask_disown(s);
	s->ask_phase = ASK_IDLE;
}

/* The ask's file is read (or failed): it closes while its owner takes
 * what was read. */
static void
ask_done(struct ssh *s, int rc)
{
	s->ask_rc = rc;
	s->ask_closing = s->ask_file;
	s->ask_file = NULL;
	s->ask_phase = ASK_DONE;
	if (s->ask_owner == NULL)
		ask_release(s);
}

/* The ask channel's read step: the file's end, a record whole in one
 * read shorter than asked, or ASK_MAX bytes (too many). */
static int
ask_read(struct ssh *s)
{
	size_t room = ASK_MAX - s->ask_have;
	ssize_t n;

	/* A close ended resets the channel's read: it goes first. */
	if (s->ask_closing != NULL)
		return 0;
	while ((n = libssh2_sftp_read(s->ask_file, s->ask_buf + s->ask_have,
	    room)) == LIBSSH2_ERROR_EAGAIN && ask_resend(s))
		;
	if (n == LIBSSH2_ERROR_EAGAIN)
		return 0;
	if (n < 0) {
		sftp_error_on(s, s->ask, &s->ask_err, "read", s->ask_path);
		ask_done(s, -1);
	} else if ((size_t)n == room) {
		set_error(&s->ask_err, FAIL_IO, "%s: %s: larger than %d "
		    "bytes", s->where, s->ask_path, ASK_MAX);
		ask_done(s, -1);
	} else {
		s->ask_have += (size_t)n;
		ask_done(s, 0);
	}
	return 1;
}

/* The ask channel's hint step: the link's target is the answer; where
 * there is none to read (readlink_says()) the file is asked, as where the
 * ask had no hint. */
static int
ask_link(struct ssh *s)
{
	int n;

	/* A close under way goes first, as for a read (ask_read()). */
	if (s->ask_closing != NULL)
		return 0;
	while ((n = libssh2_sftp_symlink_ex(s->ask, s->ask_hint,
	    (unsigned)strlen(s->ask_hint), s->ask_buf, ASK_MAX - 1,
	    LIBSSH2_SFTP_READLINK)) == LIBSSH2_ERROR_EAGAIN && ask_resend(s))
		;
	if (n == LIBSSH2_ERROR_EAGAIN)
		return 0;
	switch (readlink_says(n)) {
	case 0:
		s->ask_have = (size_t)n;
		ask_done(s, 0);
		break;
	case 1:
		/* The record, for an owner; an ask nobody waits for ends
		 * here. */
		if (s->ask_owner != NULL)
			s->ask_phase = ASK_OPEN;
		else
			ask_done(s, 1);
		break;
	default:
		sftp_error_on(s, s->ask, &s->ask_err, "readlink",
		    s->ask_hint);
		ask_done(s, -1);
	}
	return 1;
}

/* Moves the ask channel on as far as it goes without waiting; 1 when
 * it moved. */
static int
ask_move(struct ssh *s)
{
	LIBSSH2_SFTP_HANDLE *h;
	int rc, moved = 0;

	if (s->ask_closing != NULL) {
		while ((rc = libssh2_sftp_close_handle(s->ask_closing)) ==
		    LIBSSH2_ERROR_EAGAIN && ask_resend(s))
			;
		/* Closed or failed, libssh2 has let the handle go. */
		if (rc != LIBSSH2_ERROR_EAGAIN) {
			s->ask_closing = NULL;
			moved = 1;
		}
	}
	switch (s->ask_phase) {
	case ASK_INIT:
		while ((s->ask = libssh2_sftp_init(s->session)) == NULL &&
		    would_block(s) && ask_resend(s))
			;
		if (s->ask != NULL)
			s->ask_phase = s->ask_owner == NULL ? ASK_IDLE :
			    s->ask_hint != NULL ? ASK_LINK : ASK_OPEN;
		else if (!would_block(s))
			s->ask_phase = ASK_BROKEN;
		return moved || s->ask_phase != ASK_INIT;
	case ASK_LINK:
		return ask_link(s) || moved;
	case ASK_OPEN:
		while ((h = libssh2_sftp_open_ex(s->ask, s->ask_path,
		    (unsigned)strlen(s->ask_path), LIBSSH2_FXF_READ, 0,
		    LIBSSH2_SFTP_OPENFILE)) == NULL && would_block(s) &&
		    ask_resend(s))
			;
		if (h != NULL) {
			s->ask_file = h;
			s->ask_have = 0;
			s->ask_phase = ASK_READ;
		} else if (!would_block(s)) {
			sftp_error_on(s, s->ask, &s->ask_err, "open",
			    s->ask_path);
			ask_done(s, s->ask_err.class == FAIL_MISSING ? 1 : -1);
		}
		return moved || s->ask_phase != ASK_OPEN;
	case ASK_READ:
		return ask_read(s) || moved;
	default:
		return moved;
	}
}

/*
 * Reads the whole of the small remote file at path (less than ASK_MAX
 * bytes; a read shorter than asked is taken for its end) over the ask
 * channel, for owner, as far as it goes without waiting; where hint is
 * not NULL, the target of the symbolic link there instead (one round
 * trip, where the file takes two or three), the file only where there
 * is no such link.  Call under
 * ssh_lock(), again and again with the same owner and path until it
 * returns: SSH_ASKING while the ask is under way, SSH_ASK_QUEUED while
 * another owner's holds the channel (it is moved on too); 0 with *buf
 * (NUL-terminated, the caller's) and *len; 1 when there is no such file;
 * -1 with e set; SSH_ASK_NONE when the session has no ask channel to give
 * (the peer refused it): ssh_get() then.
 */
int
ssh_ask(struct ssh *s, const void *owner, const char *hint,
    const char *path, char **buf, size_t *len, struct ssh_error *e)
{
	int rc;

	if (s->ask_phase == ASK_NONE)
		s->ask_phase = ASK_INIT;
	if (s->ask_owner == NULL && (s->ask_phase == ASK_INIT ||
	    s->ask_phase == ASK_IDLE)) {
		s->ask_owner = owner;
		s->ask_hint = hint != NULL ? xstrdup(hint) : NULL;
		s->ask_path = xstrdup(path);
		if (s->ask_phase == ASK_IDLE)
			s->ask_phase = hint != NULL ? ASK_LINK : ASK_OPEN;
	}
	libssh2_session_set_blocking(s->session, 0);
	while (ask_move(s))
		;
	libssh2_session_set_blocking(s->session, 1);
	if (s->ask_phase == ASK_BROKEN) {
		ask_disown(s);
		return SSH_ASK_NONE;
	}
	if (s->ask_owner != owner)
		return SSH_ASK_QUEUED;
	if (s->ask_phase != ASK_DONE)
		return SSH_ASKING;
	if ((rc = s->ask_rc) == 0) {
		*buf = xcalloc(1, s->ask_have + 1);
		memcpy(*buf, s->ask_buf, s->ask_have);
		*len = s->ask_have;
	} else if (rc < 0)
		*e = s->ask_err;
	ask_release(s);
	return rc;
}

/* Owner's ask, if any, is no longer its: it ends unread.  Call under
 * ssh_lock(). */
void
ssh_ask_drop(struct ssh *s, const void *owner)
{
	if (s->ask_owner != owner || owner == NULL)
		return;
	if (s->ask_phase == ASK_DONE)
		ask_release(s);
	else if (s->ask_phase == ASK_INIT || s->ask_phase == ASK_BROKEN)
		ask_disown(s);	/* the channel's opening goes on */
	else
		s->ask_owner = NULL;	/* ask_done() lets it go */
}

/* Ends the ask channel, what is under way waited for (in blocking
 * mode, ASK_CLOSE_WAIT at most a call: a peer that answers takes a round
 * trip, and a dead one holds the run's end no longer), so that libssh2
 * lets every handle go. */
#define ASK_CLOSE_WAIT 2.0

static void
ask_close(struct ssh *s)
{
	if (s->ask_phase == ASK_NONE || s->ask_phase == ASK_BROKEN) {
		free(s->ask_hint);
		free(s->ask_path);
		return;
	}
	libssh2_session_set_timeout(s->session, (long)(fmin(s->timeout,
	    ASK_CLOSE_WAIT) * 1000));
	if (s->ask_phase == ASK_INIT)
		s->ask = libssh2_sftp_init(s->session);
	if (s->ask_closing != NULL)
		libssh2_sftp_close_handle(s->ask_closing);
	if (s->ask_file != NULL)
		libssh2_sftp_close_handle(s->ask_file);
	if (s->ask != NULL)
		libssh2_sftp_shutdown(s->ask);
	libssh2_session_set_timeout(s->session, (long)(s->timeout * 1000));
	free(s->ask_hint);
	free(s->ask_path);
}
