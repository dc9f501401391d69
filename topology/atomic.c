/*
 * atomic.c: durable writes.  A file is written to a temporary name in its
 * own directory, fsynced, renamed over the old one and the directory
 * fsynced, so readers and crashes see the old file or the new one, whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "topology.h"

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
	const char *p = buf;
	int fd, saved;
	ssize_t w;

	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1) {
		saved = errno;
		warnx_("%s: %s", tmp, strerror(errno));
		free(tmp);
		errno = saved;
		return -1;
	}
	while (len > 0) {
		w = write(fd, p, len);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) == -1)
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
