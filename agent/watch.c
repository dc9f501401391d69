/*
 * watch.c: what sync started with, its AGENT.yaml and its own program
 * file, so that a long sync leaves when either changes and the next cron
 * start takes the new one: an edited configuration or an upgraded binary
 * is never ignored for longer than a poll.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

/* Records path's identity (device and inode, size, modification time) in
 * the fields given; returns 1 when it could be read, else 0. */
static int
watch_stat(const char *path, struct timespec *mtime, unsigned long long *ino,
    long long *size)
{
	struct stat sb;

	if (path == NULL || stat(path, &sb) == -1)
		return 0;
	*mtime = sb.st_mtim;
	*ino = (unsigned long long)sb.st_ino ^
	    ((unsigned long long)sb.st_dev << 32);
	*size = (long long)sb.st_size;
	return 1;
}

/*
 * Starts watching config and this program: the file /proc/self/exe
 * names, resolved now, so that a binary replaced by rename (as package
 * managers and install(1) do) shows as another inode at that path.
 * Where it cannot be resolved, only the configuration is watched.
 * w is cleared with watch_free().
 */
void
watch_start(struct watch *w, const char *config)
{
	char buf[PATH_MAX];
	ssize_t n;

	memset(w, 0, sizeof(*w));
	w->config = xstrdup(config);
	w->has_config = watch_stat(w->config, &w->config_mtime,
	    &w->config_ino, &w->config_size);
	if ((n = readlink("/proc/self/exe", buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		/* A binary already replaced reads "PATH (deleted)". */
		if (n > 10 && strcmp(buf + n - 10, " (deleted)") == 0)
			return;
		w->program = xstrdup(buf);
		w->has_program = watch_stat(w->program, &w->program_mtime,
		    &w->program_ino, &w->program_size);
	}
}

static int
differs(int had, const char *path, const struct timespec *mtime,
    unsigned long long ino, long long size)
{
	struct timespec m;
	unsigned long long i;
	long long s;

	if (!had)
		return 0;
	if (!watch_stat(path, &m, &i, &s))
		return 1;
	return i != ino || s != size || m.tv_sec != mtime->tv_sec ||
	    m.tv_nsec != mtime->tv_nsec;
}

/* The path of what changed since watch_start(), the configuration or
 * the program, or NULL when neither did.  A file removed has changed. */
const char *
watch_changed(const struct watch *w)
{
	if (differs(w->has_config, w->config, &w->config_mtime,
	    w->config_ino, w->config_size))
		return w->config;
	if (differs(w->has_program, w->program, &w->program_mtime,
	    w->program_ino, w->program_size))
		return w->program;
	return NULL;
}

void
watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	free(w->config);
	free(w->program);
	memset(w, 0, sizeof(*w));
}
