/*
 * master.c: load a master directory: topology, file set, the manifests of
 * the file set's versions and every host's last state.  A broken state or
 * manifest is reported and left out (the host is skipped this run); a
 * broken topology or file set stops everything.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sysexits.h>
#include <unistd.h>

#include "planner.h"

void
master_free(struct master *m)
{
	size_t i;

	if (m == NULL)
		return;
	if (m->fileset != NULL && m->manifests != NULL)
		for (i = 0; i < m->fileset->nfiles; i++)
			manifest_free(m->manifests[i]);
	if (m->topology != NULL && m->states != NULL)
		for (i = 0; i < m->topology->nhosts; i++)
			state_free(m->states[i]);
	free(m->manifests);
	free(m->states);
	free(m->skipped);
	topology_free(m->topology);
	fileset_free(m->fileset);
	free(m->dir);
	free(m);
}

static struct master *
master_new(void)
{
	return xcalloc(1, sizeof(struct master));
}

static void
master_alloc(struct master *m)
{
	m->manifests = xcalloc(m->fileset->nfiles, sizeof(*m->manifests));
	m->states = xcalloc(m->topology->nhosts, sizeof(*m->states));
	m->skipped = xcalloc(m->topology->nhosts, sizeof(*m->skipped));
}

/* Loads topology and file set; returns a sysexits.h code. */
static int
load_inputs(struct master *m, const char *tpath, const char *fpath)
{
	struct diag d = { "" };
	int rc;

	if ((rc = topology_load(tpath, &m->topology, &d)) != 0) {
		fprintf(stderr, "%s\n", d.msg);
		return rc;
	}
	if ((rc = fileset_load(fpath, m->topology, &m->fileset, &d)) != 0) {
		fprintf(stderr, "%s\n", d.msg);
		return rc;
	}
	master_alloc(m);
	return 0;
}

/*
 * Agents replace files on the master in steps (ssh_replace()): for a
 * moment only the whole new copy .NAME.new exists.  Returns the path to
 * read: dir/NAME, or dir/.NAME.new when only that exists.
 */
static char *
master_path(const char *dir, const char *sub, const char *name)
{
	char *path = xasprintf("%s/%s/%s", dir, sub, name);
	char *side;

	if (access(path, F_OK) == 0 || errno != ENOENT)
		return path;
	side = xasprintf("%s/%s/.%s.new", dir, sub, name);
	if (access(side, F_OK) == 0) {
		free(path);
		return side;
	}
	free(side);
	return path;
}

/*
 * Reads and parses a file a host signs (read_signed()): with its key
 * pinned, only a text its signature covers is parsed.
 */
static int
load_signed(const char *path, size_t max, const struct host *h,
    struct ynode **root, struct diag *d)
{
	char *buf = NULL;
	size_t len;
	int rc;

	*root = NULL;
	if ((rc = read_signed(path, max, h, &buf, &len, d)) != 0)
		return rc;
	rc = ydoc_parse(path, (unsigned char *)buf, len, root, d);
	free(buf);
	return rc;
}

/* Loads the manifest of every file set version that has one. */
static void
load_manifests(struct master *m)
{
	struct diag d = { "" };
	size_t i;
	int rc;

	for (i = 0; i < m->fileset->nfiles; i++) {
		const struct file *f = &m->fileset->files[i];
		char *esc = name_escape_file(f->name, f->version);
		char *file = xasprintf("%s.yaml", esc);
		char *path = master_path(m->dir, "manifests", file);
		struct manifest *man = NULL;
		struct ynode *root;

		rc = load_signed(path, YAML_MAX_FILE,
		    &m->topology->hosts[f->generator], &root, &d);
		if (rc == 0) {
			rc = manifest_parse(path, root, &man, &d);
			ynode_free(root);
		}
		if (rc == EX_NOINPUT) {
			/* Not published yet: nothing to copy. */
		} else if (rc != 0) {
			fprintf(stderr, "%s\n", d.msg);
			m->nerrors++;
		} else if (strcmp(man->file, f->name) != 0 ||
		    man->version != f->version) {
			fprintf(stderr, "%s:1:1: describes %s@%llu, not "
			    "%s@%llu\n", path, man->file,
			    (unsigned long long)man->version, f->name,
			    (unsigned long long)f->version);
			m->nerrors++;
			manifest_free(man);
		} else if (f->has_size && (man->length > f->size ||
		    (man->final && man->length != f->size))) {
			fprintf(stderr, "%s:1:1: length %llu disagrees with "
			    "the file set's size %llu\n", path,
			    (unsigned long long)man->length,
			    (unsigned long long)f->size);
			m->nerrors++;
			manifest_free(man);
		} else
			m->manifests[i] = man;
		free(path);
		free(file);
		free(esc);
	}
}

struct state_loader {
	struct master	*m;
	const char	*sub;
	char		*broken;	/* per host */
};

/* Loads one host's state (for parallel_for()). */
static void
load_state(void *arg, size_t h)
{
	struct state_loader *sl = arg;
	struct master *m = sl->m;
	struct topology *t = m->topology;
	struct diag d = { "" };
	char *file = xasprintf("%s.yaml", t->hosts[h].name);
	char *path = master_path(m->dir, sl->sub, file);
	struct state *s = NULL;
	struct ynode *root;
	int rc;

	rc = load_signed(path, STATE_MAX_BYTES, &t->hosts[h], &root, &d);
	if (rc == 0) {
		rc = state_parse(path, root, &s, &d);
		ynode_free(root);
	}
	if (rc == EX_NOINPUT) {
		/* Never reported: holds nothing yet. */
	} else if (rc != 0) {
		fprintf(stderr, "%s (host %s skipped)\n", d.msg,
		    t->hosts[h].name);
		sl->broken[h] = 1;
	} else if (strcmp(s->host, t->hosts[h].name) != 0) {
		fprintf(stderr, "%s:1:1: reports for host '%s' (host %s "
		    "skipped)\n", path, s->host, t->hosts[h].name);
		sl->broken[h] = 1;
		state_free(s);
	} else
		m->states[h] = s;
	free(path);
	free(file);
}

/* Loads SUB/HOST.yaml (SUB: states, or a set's kept ones) for every
 * host, on a few threads (checking signatures costs); reports and skips
 * broken ones. */
static void
load_states(struct master *m, const char *sub)
{
	struct state_loader sl;
	size_t h;

	sl.m = m;
	sl.sub = sub;
	sl.broken = xcalloc(m->topology->nhosts ? m->topology->nhosts : 1, 1);
	parallel_for(m->topology->nhosts, load_state, &sl, NULL);
	for (h = 0; h < m->topology->nhosts; h++)
		if (sl.broken[h]) {
			m->skipped[h] = 1;
			m->nerrors++;
		}
	free(sl.broken);
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Names what the directory holds that nothing will read: states/ or
 * manifests/ missing, a state of a host the topology does not have, a
 * manifest of a file version the file set does not name.  Each counts as
 * an error (check fails; run plans the rest).  Names that begin with a
 * dot (a replacement in progress) and other suffixes are passed over.
 */
static void
check_entries(struct master *m, const char *sub)
{
	const struct topology *t = m->topology;
	const struct fileset *fs = m->fileset;
	char *path = xasprintf("%s/%s", m->dir, sub), **known;
	struct dirent *e;
	size_t n, i;
	DIR *d;

	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", path, strerror(errno),
		    strcmp(sub, "states") == 0 ? "agents report there, "
		    "create it" : "generators' agents send manifests there, "
		    "create it");
		m->nerrors++;
		free(path);
		return;
	}
	if (strcmp(sub, "states") == 0) {
		n = t->nhosts;
		known = xcalloc(n ? n : 1, sizeof(*known));
		for (i = 0; i < n; i++)
			known[i] = xasprintf("%s.yaml", t->hosts[i].name);
	} else {
		n = fs->nfiles;
		known = xcalloc(n ? n : 1, sizeof(*known));
		for (i = 0; i < n; i++) {
			char *esc = name_escape_file(fs->files[i].name,
			    fs->files[i].version);

			known[i] = xasprintf("%s.yaml", esc);
			free(esc);
		}
	}
	if (n > 0)
		qsort(known, n, sizeof(*known), cmp_name);
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		const char *name = e->d_name;

		if (name[0] == '.' || len < 6 ||
		    strcmp(name + len - 5, ".yaml") != 0)
			continue;
		if (n > 0 && bsearch(&name, known, n, sizeof(*known),
		    cmp_name) != NULL)
			continue;
		fprintf(stderr, "%s/%s: %s (ignored)\n", path, name,
		    strcmp(sub, "states") == 0 ? "no host of that name in "
		    "the topology" : "no file version of that name in the "
		    "file set");
		m->nerrors++;
	}
	closedir(d);
	for (i = 0; i < n; i++)
		free(known[i]);
	free(known);
	free(path);
}

/*
 * Loads the master directory dir.  Returns 0 with *out owned by the caller
 * (master_free()), or the sysexits.h code of a broken topology or file set.
 * Broken states and manifests are counted in nerrors, not fatal.
 */
int
master_load(const char *dir, struct master **out, int verbose)
{
	(void)verbose;
	return master_load_at(dir, "states", out);
}

/* master_load(), with the states read from dir/STATES (for verify, a
 * set's kept ones: what its plans were made from). */
int
master_load_at(const char *dir, const char *states, struct master **out)
{
	struct master *m = master_new();
	char *tpath, *fpath;
	int rc;

	*out = NULL;
	m->dir = xstrdup(dir);
	tpath = xasprintf("%s/topology.yaml", dir);
	fpath = xasprintf("%s/fileset.yaml", dir);
	rc = load_inputs(m, tpath, fpath);
	free(tpath);
	free(fpath);
	if (rc != 0) {
		master_free(m);
		return rc;
	}
	check_entries(m, "manifests");
	check_entries(m, "states");
	load_manifests(m);
	load_states(m, states);
	*out = m;
	return 0;
}

/* Loads a topology and file set alone, with no states or manifests. */
int
master_load_files(const char *tpath, const char *fpath, struct master **out)
{
	struct master *m = master_new();
	int rc;

	*out = NULL;
	m->dir = xstrdup(".");
	if (fpath == NULL) {
		struct diag d = { "" };

		if ((rc = topology_load(tpath, &m->topology, &d)) != 0) {
			fprintf(stderr, "%s\n", d.msg);
			master_free(m);
			return rc;
		}
		m->fileset = xcalloc(1, sizeof(*m->fileset));
		master_alloc(m);
	} else if ((rc = load_inputs(m, tpath, fpath)) != 0) {
		master_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

/*
 * The verified length host holds of file set entry file: its state's, or
 * for the generator at least what the manifest publishes.
 */
uint64_t
master_length(const struct master *m, size_t host, size_t file)
{
	const struct file *f = &m->fileset->files[file];
	uint64_t len = state_length(m->states[host], f->name, f->version);

	if (f->generator == host && m->manifests[file] != NULL &&
	    m->manifests[file]->length > len)
		len = m->manifests[file]->length;
	return len;
}

/* The length every target must reach now: what is published. */
uint64_t
master_target_length(const struct master *m, size_t file)
{
	return m->manifests[file] ? m->manifests[file]->length : 0;
}

/* Parses a command line of just -d DIR; returns DIR, or NULL. */
const char *
dir_argument(int argc, char **argv)
{
	const char *dir = NULL;
	int ch;

	while ((ch = getopt(argc, argv, "d:")) != -1) {
		if (ch != 'd')
			return NULL;
		dir = optarg;
	}
	return optind == argc ? dir : NULL;
}

/*
 * Parses -d DIR | -t TOPOLOGY [-f FILESET] (with -q when quiet is not
 * NULL) and loads those inputs into *out.  -f is required with -t when
 * need_fileset.  Returns 0, EX_USAGE (nothing printed), or the loader's
 * sysexits.h code; *from_dir says which form was given.
 */
int
master_from_args(int argc, char **argv, int need_fileset, int *quiet,
    struct master **out, int *from_dir)
{
	const char *dir = NULL, *tpath = NULL, *fpath = NULL;
	int ch;

	*out = NULL;
	while ((ch = getopt(argc, argv, quiet ? "d:t:f:q" : "d:t:f:")) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 't':
			tpath = optarg;
			break;
		case 'f':
			fpath = optarg;
			break;
		case 'q':
			*quiet = 1;
			break;
		default:
			return EX_USAGE;
		}
	}
	if (optind != argc || (dir == NULL) == (tpath == NULL) ||
	    (dir != NULL && fpath != NULL) ||
	    (tpath != NULL && need_fileset && fpath == NULL))
		return EX_USAGE;
	*from_dir = dir != NULL;
	return dir ? master_load(dir, out, 0) : master_load_files(tpath,
	    fpath, out);
}

/*
 * Takes DIR/lock for a command that writes the master directory.  Returns
 * the descriptor to close when done; -1 when another holds it (said on
 * standard output with verbose: cron's overlapping run leaves quietly);
 * -2 when the lock cannot be taken (said on standard error).
 */
int
master_lock(const char *dir, int verbose)
{
	char *path = xasprintf("%s/lock", dir);
	int fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0644)) == -1) {
		warnx_("%s: %s", path, strerror(errno));
		free(path);
		return -2;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		int busy = errno == EWOULDBLOCK;

		if (!busy)
			warnx_("%s: %s", path, strerror(errno));
		else if (verbose)
			printf("%s is held by another run: nothing done\n",
			    path);
		close(fd);
		free(path);
		return busy ? -1 : -2;
	}
	free(path);
	return fd;
}
