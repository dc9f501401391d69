/*
 * atomic.c: durable writes.  A file is written to a temporary name in its
 * own directory, fsynced, renamed over the old one and the directory
 * fsynced, so readers and crashes see the old file or the new one, whole.
 */
#ifdef __linux__
#define _GNU_SOURCE		/* syncfs(2) */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "topology.h"

/* Writes all of buf to fd; returns 0 or -1 with errno set. */
int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t w;

	while (len > 0) {
		w = write(fd, p, len);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * Reads a whole regular file of at most max bytes from fd (which stays
 * open).  On success *buf, NUL-terminated, is the caller's; returns 0, or
 * -1 with errno set (EFBIG when larger than max).
 */
int
read_all(int fd, size_t max, char **buf, size_t *len)
{
	struct stat st;
	size_t have = 0;
	ssize_t r;

	*buf = NULL;
	*len = 0;
	if (fstat(fd, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	if ((uint64_t)st.st_size > max) {
		errno = EFBIG;
		return -1;
	}
	*buf = xcalloc(1, (size_t)st.st_size + 1);
	while (have < (size_t)st.st_size) {
		r = read(fd, *buf + have, (size_t)st.st_size - have);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			free(*buf);
			*buf = NULL;
			if (r == 0)
				errno = EIO;
			return -1;
		}
		have += (size_t)r;
	}
	*len = have;
	return 0;
}

/*
 * Reads the whole file at path, relative to dirfd (or AT_FDCWD), opened
 * with flags as well (O_NOFOLLOW, say), up to max bytes (EFBIG beyond).
 * Only a regular file is read (EINVAL otherwise), and opening never
 * waits (a FIFO does not hang it).  On success *buf, NUL-terminated, is
 * the caller's; returns 0, or -1 with errno set.
 */
int
read_file_max(int dirfd, const char *path, int flags, size_t max,
    char **buf, size_t *len)
{
	int fd, rc, saved;

	*buf = NULL;
	*len = 0;
	if ((fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    flags)) == -1)
		return -1;
	rc = read_all(fd, max, buf, len);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* read_file_max() up to YAML_MAX_FILE bytes. */
int
read_file_at(int dirfd, const char *path, int flags, char **buf,
    size_t *len)
{
	return read_file_max(dirfd, path, flags, YAML_MAX_FILE, buf, len);
}

/* fsyncs a directory; returns 0 or -1 with errno set. */
int
fsync_dir(const char *dir)
{
	int fd, rc, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/*
 * Replaces path with len bytes of buf atomically.  Returns 0, or -1 with
 * errno set and the old file untouched; a message is printed on failure.
 */
int
atomic_write(const char *path, const void *buf, size_t len)
{
	char *tmp, *dircopy;
	int fd, saved;

	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		saved = errno;
		warnx_("%s: %s", tmp, strerror(errno));
		free(tmp);
		errno = saved;
		return -1;
	}
	if (write_all(fd, buf, len) == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	dircopy = xstrdup(path);
	if (fsync_dir(dirname(dircopy)) == -1) {
		saved = errno;
		warnx_("%s: fsync directory: %s", path, strerror(errno));
		free(dircopy);
		free(tmp);
		errno = saved;
		return -1;
	}
	free(dircopy);
	free(tmp);
	return 0;
fail:
	saved = errno ? errno : EIO;
	warnx_("%s: %s", tmp, strerror(saved));
	if (fd != -1)
		close(fd);
	unlink(tmp);
	free(tmp);
	errno = saved;
	return -1;
}

/*
 * Writes buf to fd, open on path, which held was bytes: what is past len
 * is cut off; then closes it.  Returns 0, or -1 with a message.
 */
static int
fill_file(int fd, const char *path, const void *buf, size_t len, off_t was)
{
	int saved;

	if (write_all(fd, buf, len) == -1 || ((off_t)len < was &&
	    ftruncate(fd, (off_t)len) == -1)) {
		saved = errno;
		warnx_("%s: %s", path, strerror(errno));
		close(fd);
		errno = saved;
		return -1;
	}
	if (close(fd) == -1) {
		warnx_("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Writes a new file, for a directory nobody reads until it is complete:
 * the caller makes the files durable at the end with sync_new_files()
 * and fsyncs the directory.  Returns 0, or -1 with a message.
 */
int
write_new_file(const char *path, const void *buf, size_t len)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644)) == -1) {
		warnx_("%s: %s", path, strerror(errno));
		return -1;
	}
	return fill_file(fd, path, buf, len, 0);
}

/*
 * Writes a file as write_new_file() does, over the one at path when that
 * is a regular file of this user's with one link (of a directory taken
 * back for a new set, which nobody reads until it is complete): its
 * inode and blocks serve again, where unlinking and creating thousands
 * of files costs seconds.  Its mode is made mode, what write_new_file()
 * gives under the caller's umask.  Anything else at path (a link, a
 * directory, a file of another user's or linked twice) is unlinked,
 * never followed or written through, and the file made new.  Returns 0,
 * or -1 with a message.
 */
int
write_over_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	struct stat st;
	int fd;

	fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd != -1 && (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1 || st.st_uid != geteuid())) {
		close(fd);
		fd = -1;
		errno = EEXIST;
	}
	if (fd != -1 && (st.st_mode & 07777) != mode && fchmod(fd, mode) == -1) {
		warnx_("%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (fd == -1) {
		if (errno != ENOENT && unlink(path) == -1 && errno != ENOENT) {
			warnx_("%s: cannot replace: %s", path, strerror(errno));
			return -1;
		}
		return write_new_file(path, buf, len);
	}
	return fill_file(fd, path, buf, len, st.st_size);
}

/*
 * Makes every file written in dir durable.  On Linux, syncfs(2) of dir's
 * file system: one flush of the disk's cache for thousands of files,
 * where an fsync each costs a flush each (ten times as long for a
 * planner's set of 10,000 plans).  Elsewhere, an fsync of each regular
 * file in dir.  Returns 0, or -1 with a message.
 */
int
sync_new_files(const char *dir)
{
	int fd, rc = 0;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		warnx_("%s: %s", dir, strerror(errno));
		return -1;
	}
#ifdef __linux__
	if (syncfs(fd) == -1) {
		warnx_("%s: syncfs: %s", dir, strerror(errno));
		rc = -1;
	}
#else
	{
		DIR *d = fdopendir(fd);
		struct dirent *e;

		if (d == NULL) {
			warnx_("%s: %s", dir, strerror(errno));
			close(fd);
			return -1;
		}
		while (rc == 0 && (e = readdir(d)) != NULL) {
			struct stat st;
			int f;

			if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
			    -1 || !S_ISREG(st.st_mode))
				continue;
			if ((f = openat(fd, e->d_name, O_RDONLY |
			    O_CLOEXEC)) == -1 || fsync(f) == -1) {
				warnx_("%s/%s: %s", dir, e->d_name,
				    strerror(errno));
				rc = -1;
			}
			if (f != -1)
				close(f);
		}
		closedir(d);
		return rc;
	}
#endif
	close(fd);
	return rc;
}

/* mkdir -p; returns 0 or -1 with errno set. */
int
mkdir_p(const char *path, unsigned mode)
{
	char *copy, *p;
	int rc = 0;

	copy = xstrdup(path);
	for (p = copy + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			if (mkdir(copy, mode) == -1 && errno != EEXIST) {
				rc = -1;
				break;
			}
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
	free(copy);
	return rc;
}

/* Writes text (what's, freed here) atomically to path; NULL text means
 * formatting failed.  Returns 0 or -1 (reported). */
int
write_formatted(const char *path, char *text, size_t len, const char *what)
{
	int rc;

	if (text == NULL) {
		warnx_("%s: cannot format the %s", path, what);
		return -1;
	}
	rc = atomic_write(path, text, len);
	free(text);
	return rc;
}
