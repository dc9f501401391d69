/*
 * store.c: the crash-safe store under ROOT/.sluice/.  Each file version
 * has ESC@V.data (its bytes, filled in order) and ESC@V.len (its durable
 * verified length and, once known, its size), ESC being the name with '/'
 * written as %2F.  Data is fsynced before the length that covers it is
 * written (temporary name, fsync, rename, fsync the directory; in place
 * when the file system is full, see write_len()), and then its hint,
 * ESC@V.at, a symbolic link a relay's readers read in one round trip
 * (write_hint()).  A whole version appears at ROOT/NAME by a hard link
 * under a temporary name and a rename, so readers see the old version
 * or the new one, whole; the data
 * file stays, so peers always read ESC@V.data.  Everything is opened
 * relative to the root without following symbolic links.  A run holds
 * STORE_RESERVE bytes of room (ROOT/.sluice/reserve) for its own records,
 * given up when one of them finds the file system full.
 */
#define _GNU_SOURCE	/* O_DIRECT */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

#define META ".sluice"
#define BEGAN "began"
#define RESERVE "reserve"

/* Whether err says the file system has no room for this user (ENOSPC,
 * EDQUOT): the host's own full disk, nospace. */
int
store_full(int err)
{
	return err == ENOSPC || err == EDQUOT;
}

/* Opens ROOT and ROOT/.sluice.  Returns 0, or -1 with a message. */
int
store_open(const char *root, struct store **out)
{
	struct store *s = xcalloc(1, sizeof(*s));
	struct stat st;

	*out = NULL;
	s->root = xstrdup(root);
	s->meta_fd = -1;
	if ((s->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		warnx_("%s: %s", root, strerror(errno));
		goto fail;
	}
	/* The store is this user's alone: versions not yet whole, and
	 * private files' data, are kept there. */
	if (mkdirat(s->root_fd, META, 0700) == -1 && errno != EEXIST) {
		warnx_("%s/%s: %s", root, META, strerror(errno));
		goto fail;
	}
	if ((s->meta_fd = openat(s->root_fd, META, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1) {
		warnx_("%s/%s: %s", root, META, strerror(errno));
		goto fail;
	}
	/* What is in it is trusted: it must be this user's, and no one
	 * else's to write. */
	if (fstat(s->meta_fd, &st) == -1) {
		warnx_("%s/%s: %s", root, META, strerror(errno));
		goto fail;
	}
	if (st.st_uid != geteuid()) {
		warnx_("%s/%s: owned by uid %lu, not this user (uid %lu): "
		    "refused", root, META, (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
		goto fail;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		warnx_("%s/%s: mode %04o lets others write: refused", root,
		    META, (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	/* A store made before it was kept private becomes so. */
	if ((st.st_mode & 077) != 0 && fchmod(s->meta_fd, 0700) == -1) {
		warnx_("%s/%s: chmod 0700: %s", root, META, strerror(errno));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	store_close(s);
	return -1;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->root_fd != -1)
		close(s->root_fd);
	if (s->meta_fd != -1)
		close(s->meta_fd);
	free(s->root);
	free(s);
}

/* ROOT/.sluice/ESC@V.SUFFIX: a record of version number of name. */
static char *
version_path(const char *root, const char *name, uint64_t number,
    const char *suffix)
{
	char *esc = name_escape_file(name, number);
	char *p = xasprintf("%s/%s/%s.%s", root, META, esc, suffix);

	free(esc);
	return p;
}

/* ROOT/.sluice/ESC@V.data, where peers read a version from. */
char *
store_data_path(const char *root, const char *name, uint64_t number)
{
	return version_path(root, name, number, "data");
}

/* ROOT/.sluice/ESC@V.len, where a relay's readers learn how far it has
 * verified. */
char *
store_len_path(const char *root, const char *name, uint64_t number)
{
	return version_path(root, name, number, "len");
}

/* ROOT/.sluice/ESC@V.at, the length record's hint (write_hint()): a
 * relay's readers learn its length from it in one round trip. */
char *
store_hint_path(const char *root, const char *name, uint64_t number)
{
	return version_path(root, name, number, "at");
}

/* ROOT/.sluice/began, where a relay's readers learn whether its agent is
 * running a plan: "epoch N" from before the plan's first op until its
 * last has stopped, then "epoch N ended" (store_mark_began()).  A peer
 * leaves a relay for its fallback only when it is not running one of
 * this epoch or later (fetch.c). */
char *
store_began_path(const char *root)
{
	return xasprintf("%s/%s/%s", root, META, BEGAN);
}

/* The number after prefix at the start of text, digits only, into *v,
 * and where it ends; returns 0, or -1 when there is none or it is too
 * large. */
static int
prefixed_number(const char *text, const char *prefix,
    unsigned long long *v, const char **end)
{
	size_t n = strlen(prefix);
	char *e;

	if (strncmp(text, prefix, n) != 0 || !isdigit((unsigned char)text[n]))
		return -1;
	errno = 0;
	*v = strtoull(text + n, &e, 10);
	if (errno != 0)
		return -1;
	*end = e;
	return 0;
}

/* Parses a began file's text, "epoch N" or "epoch N ended", each with an
 * optional newline and nothing after it; returns 0 with the epoch and
 * whether it ended, or -1. */
int
store_parse_began(const char *text, uint64_t *epoch, int *ended)
{
	unsigned long long a;
	const char *end;

	if (prefixed_number(text, "epoch ", &a, &end) != 0)
		return -1;
	*ended = strncmp(end, " ended", 6) == 0;
	if (*ended)
		end += 6;
	if (*end == '\n')
		end++;
	if (*end != '\0')
		return -1;
	*epoch = a;
	return 0;
}

/* Parses a .len file's text (its first line, "length N"); returns 0 with
 * the length, or -1. */
int
store_parse_len(const char *text, uint64_t *length)
{
	unsigned long long a;
	const char *end;

	if (prefixed_number(text, "length ", &a, &end) != 0 ||
	    (*end != '\n' && *end != '\0'))
		return -1;
	*length = a;
	return 0;
}

/* Writes ROOT/.sluice/NAME atomically (temporary name, fsync, rename,
 * fsync the directory); returns 0, or -1 with errno and nothing said. */
static int
replace_meta(struct store *s, const char *name, const void *buf, size_t len)
{
	char *tmp = xasprintf(".%s.tmp.%ld", name, (long)getpid());
	int fd, saved;

	if ((fd = openat(s->meta_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0644)) == -1)
		goto fail;
	if (write_all(fd, buf, len) == -1)
		goto fail;
	if (fsync(fd) == -1 || close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(s->meta_fd, tmp, s->meta_fd, name) == -1 ||
	    fsync(s->meta_fd) == -1)
		goto fail;
	free(tmp);
	return 0;
fail:
	saved = errno ? errno : EIO;
	if (fd != -1)
		close(fd);
	unlinkat(s->meta_fd, tmp, 0);
	free(tmp);
	errno = saved;
	return -1;
}

/*
 * Holds STORE_RESERVE bytes of the file system in ROOT/.sluice/reserve,
 * so that a run whose data fills the disk can still write what it must
 * record after (its epoch, its failures, its state): the failure that
 * says the disk is full must reach the planner.  Kept from run to run;
 * taken again when it was spent and there is the room.  Anything else
 * found under the name (not a regular file of one link) is removed, and
 * where there is not the room nothing is held.  Quiet: the reserve is a
 * margin, not data.  (Where the file system allocates blocks only when
 * they are written, copy on write, nothing is held.)
 */
void
store_reserve(struct store *s)
{
	struct stat st;
	int fd, rc = -1;

	if ((fd = openat(s->meta_fd, RESERVE, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC, 0600)) == -1) {
		(void)unlinkat(s->meta_fd, RESERVE, 0);
		return;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
	    (st.st_size <= STORE_RESERVE || ftruncate(fd, STORE_RESERVE) ==
	    0))
		rc = posix_fallocate(fd, 0, STORE_RESERVE);
	close(fd);
	if (rc != 0)
		(void)unlinkat(s->meta_fd, RESERVE, 0);
}

/* Writes ROOT/.sluice/NAME atomically; returns 0 or -1 with a message.
 * On a full file system, a record of the run (spend) takes the room held
 * for it by store_reserve(). */
static int
write_meta(struct store *s, const char *name, const void *buf, size_t len,
    int spend)
{
	int err;

	if (replace_meta(s, name, buf, len) == 0)
		return 0;
	err = errno;
	if (spend && store_full(err) &&
	    unlinkat(s->meta_fd, RESERVE, 0) == 0) {
		if (replace_meta(s, name, buf, len) == 0)
			return 0;
		err = errno;
	}
	warnx_("%s/%s/%s: %s", s->root, META, name, strerror(err));
	return -1;
}

/* Writes ROOT/.sluice/NAME atomically; returns 0 or -1 with a message. */
int
store_write_meta(struct store *s, const char *name, const void *buf,
    size_t len)
{
	return write_meta(s, name, buf, len, 0);
}

/* The same for what a run records of itself when it ends (its start,
 * epoch, failures and state), for which the run holds room. */
int
store_write_record(struct store *s, const char *name, const void *buf,
    size_t len)
{
	return write_meta(s, name, buf, len, 1);
}

/* Overwrites ROOT/.sluice/NAME, which exists, with buf in place, synced:
 * a few bytes within the file's first block take no new one.  Returns 0,
 * or -1 with errno. */
static int
overwrite_meta(struct store *s, const char *name, const void *buf,
    size_t len)
{
	ssize_t w;
	int fd, saved;

	if ((fd = openat(s->meta_fd, name, O_WRONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	while ((w = pwrite(fd, buf, len, 0)) == -1 && errno == EINTR)
		;
	if (w != (ssize_t)len || ftruncate(fd, (off_t)len) == -1 ||
	    fdatasync(fd) == -1) {
		saved = w >= 0 && w != (ssize_t)len ? EIO : errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return close(fd);
}

/*
 * Takes the lock ROOT/.sluice/NAME, waiting for it (polled every 50 ms)
 * until the monotonic time until (now or earlier: not at all).  Returns
 * the descriptor that holds it (closing it lets go; *waited 1 when
 * another held it first), -1 when another still holds it then (quietly)
 * or it cannot be taken (said), or -2 when the file cannot be opened
 * (said).
 *
 * Two locks: "lock", a sync's for its period (sync.c), and "began.lock",
 * a run's for as long as it runs a plan: only the run that holds it
 * writes ROOT/.sluice/began, so what began says is that run's, and a run
 * that trusts it (its shed entries, transfer.c) is not undone by another
 * run of the same store (sluice-agent run takes no sync lock) writing an
 * ended or other epoch over it.
 */
int
store_lock(struct store *s, const char *name, double until, int *waited)
{
	int fd = openat(s->meta_fd, name, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0644);

	*waited = 0;
	if (fd == -1) {
		warnx_("%s/%s/%s: %s", s->root, META, name, strerror(errno));
		return -2;
	}
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			warnx_("%s/%s/%s: %s", s->root, META, name,
			    strerror(errno));
			break;
		}
		*waited = 1;
		if (clock_mono() + 0.05 > until)
			break;
		sleep_until(clock_mono() + 0.05);
	}
	(void)close(fd);
	return -1;
}

/* Writes ROOT/.sluice/began whole and synced: the plan of epoch has
 * begun, or (ended) its ops have all stopped.  On a full file system it
 * is overwritten in place, as a length record is (write_len()); where
 * even that finds no room it is left as it was, quietly: the run's
 * nospace failure says why, and a peer that reads no begun plan leaves
 * this relay only as the plan's shed entries allow.  Returns 0 or -1. */
int
store_mark_began(struct store *s, uint64_t epoch, int ended)
{
	char buf[48];
	int n = snprintf(buf, sizeof(buf), "epoch %" PRIu64 "%s\n", epoch,
	    ended ? " ended" : "");
	int err;

	if (replace_meta(s, BEGAN, buf, (size_t)n) == 0)
		return 0;
	err = errno;
	if (store_full(err) && overwrite_meta(s, BEGAN, buf, (size_t)n) == 0)
		return 0;
	if (!store_full(err))
		warnx_("%s/%s/%s: %s", s->root, META, BEGAN, strerror(err));
	return -1;
}

/* Reads ROOT/.sluice/NAME; returns 0, or -1 with errno (ENOENT quietly). */
int
store_read_meta(struct store *s, const char *name, char **buf, size_t *len)
{
	return read_file_at(s->meta_fd, name, O_NOFOLLOW, buf, len);
}

/* Reads ROOT/.sluice/NAME as seconds, from 0 to a day (a record such as
 * "start" or "report"): 0 with *v, or -1 where there is no such number. */
int
store_read_seconds(struct store *s, const char *name, double *v)
{
	char *buf, *end;
	size_t len;
	double x;

	if (store_read_meta(s, name, &buf, &len) != 0)
		return -1;
	x = strtod(buf, &end);
	free(buf);
	if (end == buf || !(x >= 0 && x <= 86400))
		return -1;
	*v = x;
	return 0;
}

/*
 * Writes ESC@V.at, the hint of a length record: a symbolic link whose
 * target is the record's first line ("length N"), which a relay's
 * readers read in one round trip (an SFTP readlink) where the record
 * takes three (an open, a read and a close).  Nothing follows it.  It is
 * made under a temporary name and renamed over the last, after the
 * record it repeats is durable, and is not synced itself: it never says
 * more than the record, and a crash may leave it behind the record, or
 * lose it.  Where it cannot be made it is removed, so that readers read
 * the record; where even that fails they read the record once the hint
 * has not moved for a while (fetch.c).
 */
static void
write_hint(struct store *s, struct version *v, uint64_t length)
{
	char *esc = name_escape_file(v->name, v->number);
	char *name = xasprintf("%s.at", esc);
	char *tmp = xasprintf(".%s.tmp.%ld", name, (long)getpid());
	char target[32];

	(void)snprintf(target, sizeof(target), "length %" PRIu64, length);
	(void)unlinkat(s->meta_fd, tmp, 0);
	if (symlinkat(target, s->meta_fd, tmp) == -1 ||
	    renameat(s->meta_fd, tmp, s->meta_fd, name) == -1) {
		(void)unlinkat(s->meta_fd, tmp, 0);
		if (unlinkat(s->meta_fd, name, 0) == -1 && errno != ENOENT &&
		    !v->hint_stuck) {
			warnx_("%s/%s/%s: %s", s->root, META, name,
			    strerror(errno));
			v->hint_stuck = 1;	/* said once a run */
		}
	}
	free(tmp);
	free(name);
	free(esc);
}

/*
 * Writes ESC@V.len: the durable length and the size.  It is replaced whole
 * (replace_meta()), so that a reader always finds one record or the
 * other.  On a full file system, where the temporary copy finds no room,
 * the record is overwritten in place instead: it was made when the
 * version was opened (store_version()), so its block is already the
 * store's, and the progress made is never lost for want of a few bytes.
 * (A peer that reads it at that moment may see a torn record; what it
 * fetches past the truth fails its checksums, nothing worse.)  Returns 0
 * or -1 with a message.
 */
static int
write_len(struct store *s, struct version *v, uint64_t length)
{
	char *esc = name_escape_file(v->name, v->number);
	char *name = xasprintf("%s.len", esc);
	char buf[96];
	int n, rc, err;

	n = snprintf(buf, sizeof(buf), "length %" PRIu64 "\nsize %" PRIu64
	    "\n", length, v->size);
	rc = replace_meta(s, name, buf, (size_t)n);
	err = errno;
	/* A new record has nothing to overwrite: the want of room says it. */
	if (rc != 0 && store_full(err) &&
	    (rc = overwrite_meta(s, name, buf, (size_t)n)) != 0 &&
	    errno != ENOENT)
		err = errno;
	if (rc != 0) {
		warnx_("%s/%s/%s: %s", s->root, META, name, strerror(err));
		errno = err;
	} else
		write_hint(s, v, length);
	free(name);
	free(esc);
	return rc;
}

/* Reads a length record's length and size: 1, or 0 (both 0) where it is
 * no record (torn, unreadable), -1 where there is none. */
static int
read_len(struct store *s, const char *lenname, uint64_t *length,
    uint64_t *size)
{
	char *buf;
	size_t len;
	unsigned long long a = 0, b = 0;
	int rc = 0;

	*length = *size = 0;
	if (store_read_meta(s, lenname, &buf, &len) != 0)
		return errno == ENOENT ? -1 : 0;
	if (sscanf(buf, "length %llu\nsize %llu", &a, &b) >= 1) {
		*length = a;
		*size = b;
		rc = 1;
	}
	free(buf);
	return rc;
}

void
version_free(struct version *v)
{
	if (v == NULL)
		return;
	if (v->data_fd != -1)
		close(v->data_fd);
	if (v->direct_fd != -1)
		close(v->direct_fd);
	pthread_mutex_destroy(&v->lock);
	pthread_mutex_destroy(&v->commit_lock);
	free(v->ahead);
	free(v->name);
	free(v);
}

/*
 * Opens (creating) the record of name@number.  The durable length is
 * trusted only as far as the data file reaches.  Returns 0, or -1
 * (reported) with errno.
 */
int
store_version(struct store *s, const char *name, uint64_t number,
    struct version **out)
{
	struct version *v = xcalloc(1, sizeof(*v));
	char *esc = name_escape_file(name, number);
	char *data = xasprintf("%s.data", esc);
	char *lenname = xasprintf("%s.len", esc);
	struct stat st;
	uint64_t recorded;
	int rc = -1, err = EIO, record;

	*out = NULL;
	v->name = xstrdup(name);
	v->number = number;
	v->data_fd = -1;
	v->direct_fd = -1;
	pthread_mutex_init(&v->lock, NULL);
	pthread_mutex_init(&v->commit_lock, NULL);
	record = read_len(s, lenname, &v->length, &v->size);
	recorded = v->length;
	if ((v->data_fd = openat(s->meta_fd, data, O_RDWR | O_CREAT |
	    O_NOFOLLOW | O_CLOEXEC, 0644)) == -1 || fstat(v->data_fd,
	    &st) == -1) {
		err = errno;
		warnx_("%s/%s/%s: %s", s->root, META, data, strerror(err));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = EINVAL;
		warnx_("%s/%s/%s: not a regular file", s->root, META, data);
		goto out;
	}
	if ((uint64_t)st.st_size < v->length)
		v->length = (uint64_t)st.st_size;
	v->verified = v->length;
	/* The length record is made now, before any byte, so that the
	 * space it needs is held when the file system fills up.  One that
	 * is not trusted whole (torn: overwritten in place on a full file
	 * system as the agent died; or past what the data file holds) is
	 * written again at what is, with its hint, which may say what the
	 * record said: a reader is never told more than is held. */
	if ((record <= 0 || recorded != v->length) &&
	    write_len(s, v, v->length) != 0) {
		char *hint = xasprintf("%s.at", esc);

		err = errno;
		(void)unlinkat(s->meta_fd, hint, 0);
		free(hint);
		if (record < 0)
			goto out;
	}
	/* Where the file system allows it (not tmpfs, for one). */
	v->direct_fd = openat(s->meta_fd, data, O_WRONLY | O_DIRECT |
	    O_NOFOLLOW | O_CLOEXEC);
	*out = v;
	v = NULL;
	rc = 0;
out:
	version_free(v);
	free(esc);
	free(data);
	free(lenname);
	if (rc != 0)
		errno = err;
	return rc;
}

/* Records the version's whole size, once known. */
int
version_set_size(struct store *s, struct version *v, uint64_t size)
{
	int rc = 0;

	pthread_mutex_lock(&v->commit_lock);
	pthread_mutex_lock(&v->lock);
	if (v->size != size) {
		v->size = size;
		rc = write_len(s, v, v->length);
	}
	pthread_mutex_unlock(&v->lock);
	pthread_mutex_unlock(&v->commit_lock);
	return rc;
}

/* The generation a writer starts under; see version_verified(). */
unsigned
version_generation(struct version *v)
{
	unsigned g;

	pthread_mutex_lock(&v->lock);
	g = v->generation;
	pthread_mutex_unlock(&v->lock);
	return g;
}

static int	commit_locked(struct store *, struct version *);

/*
 * Writes bytes at offset (around the page cache when direct and they are
 * aligned), beyond what is verified; they count for nothing until
 * version_verified() says so.  On an error (reported) the verified prefix
 * is made durable and everything beyond it is given back, so that a full
 * disk keeps the progress made and can still take the failure report, and
 * the generation changes: a writer that started before must not mark its
 * bytes verified.  Returns 0 or -1.
 */
int
version_write(struct store *s, struct version *v, uint64_t offset,
    const void *data, size_t len, int direct)
{
	const char *p = data;
	size_t done = 0;
	ssize_t w;
	int fd = v->data_fd;

	/*
	 * With direct, whole aligned chunks go around the page cache: a
	 * copy into it and its write-back under a group commit measured
	 * 2.5 CPU-seconds per GiB here, against 0.1, and the bytes must
	 * reach the disk before they count anyway.  The price: a peer that
	 * reads them soon after reads the disk, not memory.
	 */
	if (direct && v->direct_fd != -1 && offset % STORE_ALIGN == 0 &&
	    len % STORE_ALIGN == 0 && (uintptr_t)data % STORE_ALIGN == 0)
		fd = v->direct_fd;
	while (done < len) {
		w = pwrite(fd, p + done, len - done, (off_t)(offset + done));
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno == EINVAL && fd != v->data_fd) {
			fd = v->data_fd;
			continue;
		}
		if (w <= 0) {
			int err = w ? errno : EIO;

			warnx_("%s: %s@%" PRIu64 ": write: %s", s->root,
			    v->name, v->number, strerror(err));
			/* What is verified is on the disk already: made
			 * durable first, it is kept.  The commit lock keeps
			 * a commit under way from recording a length past
			 * the truncation. */
			pthread_mutex_lock(&v->commit_lock);
			(void)commit_locked(s, v);
			pthread_mutex_lock(&v->lock);
			if (ftruncate(v->data_fd, (off_t)v->length) == 0) {
				v->verified = v->length;
				v->nahead = 0;
			}
			v->generation++;
			pthread_mutex_unlock(&v->lock);
			pthread_mutex_unlock(&v->commit_lock);
			/* The caller tells a full disk from other trouble. */
			errno = err;
			return -1;
		}
		done += (size_t)w;
	}
	return 0;
}

/*
 * Marks [offset, offset + len) verified, written under generation gen.
 * The verified prefix moves over every verified range that now follows
 * it; ranges beyond it wait in a short sorted list (one per run in
 * progress).  Returns 1 when the prefix moved, else 0.
 */
int
version_verified(struct version *v, uint64_t offset, uint64_t len,
    unsigned gen)
{
	uint64_t end = offset + len, before;
	size_t i, j;

	pthread_mutex_lock(&v->lock);
	before = v->verified;
	if (gen != v->generation || end <= v->verified) {
		pthread_mutex_unlock(&v->lock);
		return 0;
	}
	/* Insert, merging with the ranges it touches. */
	for (i = 0; i < v->nahead && v->ahead[i].end < offset; i++)
		;
	for (j = i; j < v->nahead && v->ahead[j].start <= end; j++) {
		if (v->ahead[j].start < offset)
			offset = v->ahead[j].start;
		if (v->ahead[j].end > end)
			end = v->ahead[j].end;
	}
	if (j == i) {
		if (v->nahead == v->capahead) {
			v->capahead = v->capahead ? 2 * v->capahead : 8;
			v->ahead = xreallocarray(v->ahead, v->capahead,
			    sizeof(*v->ahead));
		}
		memmove(&v->ahead[i + 1], &v->ahead[i], (v->nahead - i) *
		    sizeof(*v->ahead));
		v->nahead++;
	} else if (j > i + 1) {
		memmove(&v->ahead[i + 1], &v->ahead[j], (v->nahead - j) *
		    sizeof(*v->ahead));
		v->nahead -= j - i - 1;
	}
	v->ahead[i].start = offset;
	v->ahead[i].end = end;
	if (v->ahead[0].start <= v->verified) {
		if (v->ahead[0].end > v->verified)
			v->verified = v->ahead[0].end;
		memmove(&v->ahead[0], &v->ahead[1], (v->nahead - 1) *
		    sizeof(*v->ahead));
		v->nahead--;
	}
	pthread_mutex_unlock(&v->lock);
	return v->verified > before;
}

/* The version's whole size, as the plan says; 0 unknown. */
uint64_t
version_size(struct version *v)
{
	uint64_t n;

	pthread_mutex_lock(&v->lock);
	n = v->size;
	pthread_mutex_unlock(&v->lock);
	return n;
}

/* The verified prefix, durable or not yet; in *durable (unless NULL)
 * the part of it made durable, what the version's peers read. */
uint64_t
version_verified_length(struct version *v, uint64_t *durable)
{
	uint64_t n;

	pthread_mutex_lock(&v->lock);
	n = v->verified;
	if (durable != NULL)
		*durable = v->length;
	pthread_mutex_unlock(&v->lock);
	return n;
}

/*
 * Makes the verified prefix durable: the data fsynced, then the length
 * that covers it written (temporary name, fsync, rename, fsync the
 * directory), with the version's commit lock held.  Returns 0 or -1
 * (reported).
 */
static int
commit_locked(struct store *s, struct version *v)
{
	uint64_t upto;
	unsigned gen;
	int rc = 0;

	pthread_mutex_lock(&v->lock);
	upto = v->verified;
	gen = v->generation;
	pthread_mutex_unlock(&v->lock);
	if (upto > v->length) {
		if (fdatasync(v->data_fd) == -1) {
			warnx_("%s: %s@%" PRIu64 ": fsync: %s", s->root, v->name,
			    v->number, strerror(errno));
			rc = -1;
		} else if (version_generation(v) == gen &&
		    (rc = write_len(s, v, upto)) == 0) {
			pthread_mutex_lock(&v->lock);
			v->length = upto;
			pthread_mutex_unlock(&v->lock);
		}
	}
	return rc;
}

int
version_commit(struct store *s, struct version *v)
{
	int rc;

	pthread_mutex_lock(&v->commit_lock);
	rc = commit_locked(s, v);
	pthread_mutex_unlock(&v->commit_lock);
	return rc;
}

/* Writes, verifies and commits one block at once, through the page cache
 * (the publisher's way: its peers read what it publishes soon after). */
int
version_commit_block(struct store *s, struct version *v, uint64_t offset,
    const unsigned char *data, size_t len)
{
	unsigned gen = version_generation(v);

	if (version_write(s, v, offset, data, len, 0) != 0)
		return -1;
	version_verified(v, offset, len, gen);
	return version_commit(s, v);
}

/* Opens (creating) the directory of name's final path, no links followed. */
static int
open_parent(struct store *s, const char *name, const char **base)
{
	char *copy = xstrdup(name), *p, *start;
	int fd = dup(s->root_fd), next;

	*base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	for (start = copy; fd != -1 && (p = strchr(start, '/')) != NULL;
	    start = p + 1) {
		*p = '\0';
		if (mkdirat(fd, start, 0755) == -1 && errno != EEXIST) {
			close(fd);
			fd = -1;
			break;
		}
		next = openat(fd, start, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		close(fd);
		fd = next;
	}
	free(copy);
	return fd;
}

/*
 * The permission bits a version is exposed with: what its generator
 * published it with (0644 when that is not known), less umask.
 */
unsigned
version_mode(unsigned published, unsigned umask)
{
	return (published == MODE_UNKNOWN ? 0644 : published) & ~umask & 0777;
}

/*
 * Makes a whole version appear at ROOT/NAME atomically with permission
 * bits mode.  Returns 0, or -1 (reported) leaving what was there before.
 */
int
version_expose(struct store *s, struct version *v, unsigned mode)
{
	char *esc = name_escape_file(v->name, v->number);
	char *data = xasprintf("%s.data", esc);
	const char *base;
	char *tmp;
	int dfd, rc = -1;

	if ((dfd = open_parent(s, v->name, &base)) == -1) {
		warnx_("%s: %s: cannot open its directory (a link or not a "
		    "directory on the way?): %s", s->root, v->name,
		    strerror(errno));
		free(esc);
		free(data);
		return -1;
	}
	tmp = xasprintf(".%s.sluice-tmp.%ld", base, (long)getpid());
	unlinkat(dfd, tmp, 0);
	if (fdatasync(v->data_fd) == -1 || fchmod(v->data_fd, mode) == -1 ||
	    linkat(s->meta_fd, data, dfd, tmp, 0) == -1 ||
	    renameat(dfd, tmp, dfd, base) == -1 || fsync(dfd) == -1) {
		warnx_("%s: %s: cannot put in place: %s", s->root, v->name,
		    strerror(errno));
		unlinkat(dfd, tmp, 0);
	} else
		rc = 0;
	close(dfd);
	free(tmp);
	free(esc);
	free(data);
	return rc;
}

/* Lists every version held with its durable length; sorted by name. */
int
store_list(struct store *s, struct holding **out, size_t *n)
{
	struct holding *h = NULL;
	size_t count = 0;
	DIR *d;
	struct dirent *e;
	int fd;

	*out = NULL;
	*n = 0;
	if ((fd = dup(s->meta_fd)) == -1 || (d = fdopendir(fd)) == NULL) {
		warnx_("%s/%s: %s", s->root, META, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		char *name;
		uint64_t version, length, size;
		struct stat st;
		char *data;

		if (name_parse_file(e->d_name, ".len", &name, &version) != 0)
			continue;
		read_len(s, e->d_name, &length, &size);
		data = xasprintf("%.*s.data", (int)(strlen(e->d_name) - 4),
		    e->d_name);
		if (fstatat(s->meta_fd, data, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode))
			length = 0;
		else if ((uint64_t)st.st_size < length)
			length = (uint64_t)st.st_size;
		free(data);
		h = xreallocarray(h, count + 1, sizeof(*h));
		h[count].name = name;
		h[count].version = version;
		h[count].length = length;
		count++;
	}
	closedir(d);
	*out = h;
	*n = count;
	return 0;
}

/* Removes every version of name except keep (data and length). */
int
store_retire(struct store *s, const char *name, uint64_t keep)
{
	struct holding *h;
	size_t n, i;

	if (store_list(s, &h, &n) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (strcmp(h[i].name, name) == 0 && h[i].version != keep) {
			char *esc = name_escape_file(h[i].name, h[i].version);
			char *len = xasprintf("%s.len", esc);
			char *hint = xasprintf("%s.at", esc);
			char *data = xasprintf("%s.data", esc);

			unlinkat(s->meta_fd, hint, 0);
			unlinkat(s->meta_fd, len, 0);
			unlinkat(s->meta_fd, data, 0);
			free(esc);
			free(len);
			free(hint);
			free(data);
		}
		free(h[i].name);
	}
	free(h);
	return fsync(s->meta_fd);
}

/*
 * Removes version number of name, as a signed plan's retire: says: its
 * data and length, its manifest on a generator (so that it is not sent
 * again), and the file at ROOT/NAME when that is this version (the same
 * inode as its data: what version_expose() put there), never another.
 * Returns 1 when something was removed, 0 when nothing was held, -1
 * with a message.
 */
int
store_remove(struct store *s, const char *name, uint64_t number)
{
	char *esc = name_escape_file(name, number);
	char *data = xasprintf("%s.data", esc);
	char *len = xasprintf("%s.len", esc);
	char *hint = xasprintf("%s.at", esc);
	char *man = xasprintf("%s.manifest.yaml", esc);
	char *sent = xasprintf(".%s.manifest.yaml.sent", esc);
	const char *base;
	struct stat held, shown;
	int dfd, removed = 0, rc = 0;

	if (fstatat(s->meta_fd, data, &held, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (dfd = open_parent(s, name, &base)) != -1) {
		if (fstatat(dfd, base, &shown, AT_SYMLINK_NOFOLLOW) == 0 &&
		    shown.st_dev == held.st_dev &&
		    shown.st_ino == held.st_ino) {
			if (unlinkat(dfd, base, 0) == -1) {
				warnx_("%s/%s: %s", s->root, name,
				    strerror(errno));
				rc = -1;
			} else
				removed = 1;
			fsync(dfd);
		}
		close(dfd);
	}
	(void)unlinkat(s->meta_fd, hint, 0);
	removed |= unlinkat(s->meta_fd, len, 0) == 0;
	removed |= unlinkat(s->meta_fd, data, 0) == 0;
	removed |= unlinkat(s->meta_fd, man, 0) == 0;
	unlinkat(s->meta_fd, sent, 0);
	if (fsync(s->meta_fd) == -1 && rc == 0) {
		warnx_("%s/%s: fsync: %s", s->root, META, strerror(errno));
		rc = -1;
	}
	free(esc);
	free(data);
	free(len);
	free(hint);
	free(man);
	free(sent);
	return rc < 0 ? -1 : removed;
}

/* The failures not yet reported, as a state with no files. */
int
store_load_failures(struct store *s, struct state **out)
{
	struct diag d = { "" };
	struct ynode *root;
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if (store_read_meta(s, "failures.yaml", &buf, &len) != 0) {
		if (errno != ENOENT)
			warnx_("%s/%s/failures.yaml: %s (ignored)", s->root,
			    META, errno == EINVAL ? "not a regular file" :
			    strerror(errno));
		*out = xcalloc(1, sizeof(**out));
		(*out)->host = xstrdup("-");
		return 0;
	}
	rc = ydoc_parse("failures.yaml", (unsigned char *)buf, len, &root, &d);
	free(buf);
	if (rc == 0) {
		rc = state_parse("failures.yaml", root, out, &d);
		ynode_free(root);
	}
	if (rc != 0) {
		warnx_("%s/%s/%s (dropped)", s->root, META, d.msg);
		*out = xcalloc(1, sizeof(**out));
		(*out)->host = xstrdup("-");
	}
	return 0;
}

/* Adds failures to those not yet reported. */
int
store_append_failures(struct store *s, const struct failure *f, size_t n)
{
	struct state *st;
	size_t i, j, len;
	char *buf;
	int rc;

	if (n == 0)
		return 0;
	store_load_failures(s, &st);
	st->failures = xreallocarray(st->failures, st->nfailures + n,
	    sizeof(*st->failures));
	for (i = 0; i < n; i++) {
		struct failure *d = &st->failures[st->nfailures++];

		memset(d, 0, sizeof(*d));
		d->op = xstrdup(f[i].op);
		d->source = f[i].source ? xstrdup(f[i].source) : NULL;
		d->class = f[i].class;
		d->detail = f[i].detail ? xstrdup(f[i].detail) : NULL;
		d->components = xcalloc(f[i].ncomponents ? f[i].ncomponents :
		    1, sizeof(char *));
		for (j = 0; j < f[i].ncomponents; j++)
			d->components[d->ncomponents++] =
			    xstrdup(f[i].components[j]);
	}
	buf = state_format(st, &len);
	rc = buf ? store_write_record(s, "failures.yaml", buf, len) : -1;
	free(buf);
	state_free(st);
	return rc;
}

int
store_clear_failures(struct store *s)
{
	if (unlinkat(s->meta_fd, "failures.yaml", 0) == -1 && errno != ENOENT)
		return -1;
	return fsync(s->meta_fd);
}
