/*
 * retire.c: versions the file set no longer names.  The run that first
 * finds such a version's manifest in manifests/ retires it: says so once,
 * on standard error, and records it in the epoch set it writes
 * (epochs/E/retired/NAME@VERSION.yaml), each set carrying the last one's
 * record forward.  The manifest itself moves there when the planner may
 * write manifests/; where only the agents' user may (sluice(7)), it
 * stays, and is passed over.  A retired manifest that comes back (its
 * generator sends it again) is moved, or passed over, without a word.
 * Nothing in retired/ is ever read back: only its names count.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "planner.h"

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The manifest names (NAME@VERSION.yaml, escaped) of the file set's
 * versions, sorted; *n of them, freed with free_names(). */
static char **
known_names(const struct fileset *fs, size_t *n)
{
	char **known = xcalloc(fs->nfiles ? fs->nfiles : 1, sizeof(*known));
	size_t i;

	for (i = 0; i < fs->nfiles; i++) {
		char *esc = name_escape_file(fs->files[i].name,
		    fs->files[i].version);

		known[i] = xasprintf("%s.yaml", esc);
		free(esc);
	}
	if (fs->nfiles > 1)
		qsort(known, fs->nfiles, sizeof(*known), cmp_str);
	*n = fs->nfiles;
	return known;
}

static void
free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Whether name is a manifest's name (NAME.yaml, no leading dot) that the
 * file set does not name. */
static int
stray(const char *name, char **known, size_t n)
{
	size_t len = strlen(name);

	if (name[0] == '.' || len < 6 || strcmp(name + len - 5, ".yaml") != 0)
		return 0;
	return n == 0 || bsearch(&name, known, n, sizeof(*known),
	    cmp_str) == NULL;
}

/* Opens epochs/EPOCH/retired of dir (made when create); -1 when there is
 * none, with errno set. */
static int
open_retired(const char *dir, uint64_t epoch, int create)
{
	char *sub = xasprintf("epochs/%llu/retired",
	    (unsigned long long)epoch);
	char *path = xasprintf("%s/%s", dir, sub);
	int fd;

	if (create && mkdir(path, 0755) == -1 && errno != EEXIST)
		warnx_("%s: %s", path, strerror(errno));
	fd = master_open_dir(dir, sub);
	free(path);
	free(sub);
	return fd;
}

/* Carries the record of set prev (fd from) into the new one (fd to),
 * but for versions the file set names again; links keep each record's
 * time. */
static void
carry_forward(int from, int to, char **known, size_t n)
{
	DIR *d;
	struct dirent *e;
	int fd;

	if (from == -1 || (fd = dup(from)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (!stray(e->d_name, known, n))
			continue;
		if (linkat(from, e->d_name, to, e->d_name, 0) == -1 &&
		    errno != EEXIST && (fd = openat(to, e->d_name, O_WRONLY |
		    O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) != -1)
			close(fd);
	}
	closedir(d);
}

/*
 * Retires name from manifests/ (fd mfd) into retired/ (fd rfd) at now:
 * moved with its signature when it may be, else recorded by an empty
 * file; the record's modification time is when it was retired, which
 * retire_after counts from.  One already recorded keeps its record (and
 * its time): the copy sent again is removed, where it may be.  Returns 1
 * when manifests/ no longer holds it.
 */
static int
retire_one(int mfd, int rfd, const char *name, int recorded, time_t now)
{
	struct timespec times[2] = { { now, 0 }, { now, 0 } };
	char *sig = xasprintf("%s.sig", name);
	int fd, moved;

	if (recorded) {
		moved = unlinkat(mfd, name, 0) == 0;
		unlinkat(mfd, sig, 0);
		free(sig);
		return moved;
	}
	moved = renameat(mfd, name, rfd, name) == 0;
	if (moved) {
		if (renameat(mfd, sig, rfd, sig) == -1 && errno != ENOENT)
			unlinkat(mfd, sig, 0);
	} else if ((fd = openat(rfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) != -1)
		close(fd);
	if (utimensat(rfd, name, times, AT_SYMLINK_NOFOLLOW) == -1)
		warnx_("retired/%s: cannot date the record: %s", name,
		    strerror(errno));
	free(sig);
	return moved;
}

/*
 * After run has written the set of epoch (dir's current, made from m) at
 * now: retires every manifest in manifests/ of a version the file set
 * does not name, saying so on standard error the first time only.  Errors
 * are said and do not fail the run: the next one tries again.
 */
void
retire_manifests(const char *dir, const struct master *m, uint64_t epoch,
    time_t now)
{
	char **known;
	size_t n;
	int mfd, rfd, pfd = -1, fd;
	DIR *d;
	struct dirent *e;

	if ((mfd = master_open_dir(dir, "manifests")) == -1)
		return;
	if ((rfd = open_retired(dir, epoch, 1)) == -1) {
		close(mfd);
		return;
	}
	if (m->set_epoch != 0 && m->set_epoch != epoch)
		pfd = open_retired(dir, m->set_epoch, 0);
	known = known_names(m->fileset, &n);
	carry_forward(pfd, rfd, known, n);
	if ((fd = dup(mfd)) != -1 && (d = fdopendir(fd)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			struct stat sb;
			int before, moved;

			if (!stray(e->d_name, known, n) ||
			    fstatat(mfd, e->d_name, &sb,
			    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(sb.st_mode))
				continue;
			before = faccessat(rfd, e->d_name, F_OK,
			    AT_SYMLINK_NOFOLLOW) == 0;
			moved = retire_one(mfd, rfd, e->d_name, before, now);
			if (!before)
				warnx_("%s/manifests/%s: no file version of that "
				    "name in the file set: retired%s%llu%s", dir,
				    e->d_name, moved ? " to epochs/" : " in epoch ",
				    (unsigned long long)epoch, moved ?
				    "/retired/" : " (left in place: the planner "
				    "may not write manifests/; passed over from "
				    "now on)");
		}
		closedir(d);
	} else if (fd != -1)
		close(fd);
	fsync(rfd);
	fsync(mfd);
	free_names(known, n);
	if (pfd != -1)
		close(pfd);
	close(rfd);
	close(mfd);
}

/*
 * For check: names on standard error each manifest in manifests/ of a
 * version the file set does not name and the current set has not
 * retired, which the next run retires.  Returns how many.
 */
size_t
retire_pending(const char *dir, const struct master *m)
{
	char **known;
	size_t n, count = 0;
	int mfd, rfd = -1, fd;
	DIR *d;
	struct dirent *e;

	if ((mfd = master_open_dir(dir, "manifests")) == -1)
		return 0;
	if (m->set_epoch != 0)
		rfd = open_retired(dir, m->set_epoch, 0);
	known = known_names(m->fileset, &n);
	if ((fd = dup(mfd)) != -1 && (d = fdopendir(fd)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (!stray(e->d_name, known, n) || (rfd != -1 &&
			    faccessat(rfd, e->d_name, F_OK,
			    AT_SYMLINK_NOFOLLOW) == 0))
				continue;
			fprintf(stderr, "sluice-plan: warning: %s/manifests/%s: "
			    "no file version of that name in the file set: the "
			    "next run retires it\n", dir, e->d_name);
			count++;
		}
		closedir(d);
	} else if (fd != -1)
		close(fd);
	free_names(known, n);
	if (rfd != -1)
		close(rfd);
	close(mfd);
	return count;
}

/*
 * The versions retired retire_after or longer before now (by the record
 * the last set keeps), which every host is to remove: into *out (the
 * caller's, names too), *n of them.  None when retire_after is not set.
 */
void
retire_due(const struct master *m, time_t now, struct fileref **out,
    size_t *n)
{
	const struct topology *t = m->topology;
	char **known;
	size_t nk, cap = 0;
	int rfd, fd;
	DIR *d;
	struct dirent *e;

	*out = NULL;
	*n = 0;
	if (t->retire_after <= 0 || m->set_epoch == 0 || m->dir == NULL ||
	    (rfd = open_retired(m->dir, m->set_epoch, 0)) == -1)
		return;
	known = known_names(m->fileset, &nk);
	if ((fd = dup(rfd)) != -1 && (d = fdopendir(fd)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			struct stat sb;
			struct fileref r;

			memset(&r, 0, sizeof(r));
			if (!stray(e->d_name, known, nk) ||
			    fstatat(rfd, e->d_name, &sb,
			    AT_SYMLINK_NOFOLLOW) == -1 ||
			    difftime(now, sb.st_mtime) < t->retire_after ||
			    name_parse_file(e->d_name, ".yaml", &r.name,
			    &r.version) != 0)
				continue;
			r.mode = MODE_UNKNOWN;
			if (*n == cap) {
				cap = cap ? 2 * cap : 8;
				*out = xreallocarray(*out, cap, sizeof(**out));
			}
			(*out)[(*n)++] = r;
		}
		closedir(d);
	} else if (fd != -1)
		close(fd);
	free_names(known, nk);
	close(rfd);
}

/*
 * Adds the versions due (retire_due()) to every new plan, each once,
 * but for one the plan's fileset names.  Plans still running keep what
 * they say; the next one carries it.
 */
void
retire_plans(struct plan **plans, size_t nhosts, const struct fileref *due,
    size_t ndue)
{
	size_t h, i, j;

	for (h = 0; plans != NULL && h < nhosts; h++) {
		struct plan *p = plans[h];

		if (p == NULL || ndue == 0)
			continue;
		p->retire = xreallocarray(p->retire, p->nretire + ndue,
		    sizeof(*p->retire));
		for (i = 0; i < ndue; i++) {
			for (j = 0; j < p->nfileset; j++)
				if (p->fileset[j].version == due[i].version &&
				    strcmp(p->fileset[j].name,
				    due[i].name) == 0)
					break;
			if (j < p->nfileset)
				continue;
			p->retire[p->nretire] = due[i];
			p->retire[p->nretire++].name = xstrdup(due[i].name);
		}
	}
}
