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
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "master.h"

void
master_free(struct master *m)
{
	size_t i;

	if (m == NULL)
		return;
	if (m->fileset != NULL && m->manifests != NULL)
		for (i = 0; i < m->fileset->nfiles; i++) {
			manifest_free(m->manifests[i]);
			signed_text_free(&m->manifest_texts[i]);
		}
	if (m->topology != NULL && m->states != NULL)
		for (i = 0; i < m->topology->nhosts; i++) {
			state_free(m->states[i]);
			signed_text_free(&m->state_texts[i]);
		}
	free(m->manifests);
	free(m->manifest_texts);
	free(m->states);
	free(m->state_texts);
	free(m->stale);
	free(m->news);
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
	size_t nf = m->fileset->nfiles ? m->fileset->nfiles : 1;
	size_t nh = m->topology->nhosts ? m->topology->nhosts : 1;

	m->manifests = xcalloc(nf, sizeof(*m->manifests));
	m->manifest_texts = xcalloc(nf, sizeof(*m->manifest_texts));
	m->states = xcalloc(nh, sizeof(*m->states));
	m->state_texts = xcalloc(nh, sizeof(*m->state_texts));
	m->stale = xcalloc(nh, 1);
	m->news = xcalloc(nh, 1);
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
 * Opens the directory dir/sub for reading, following no link on the way
 * below dir (sub may be "states" or "epochs/7/states").  Returns the
 * descriptor, or -1 with errno set (ELOOP: a link on the way).
 */
int
master_open_dir(const char *dir, const char *sub)
{
	char *copy = xstrdup(sub), *part, *next;
	int fd, nfd, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		free(copy);
		return -1;
	}
	for (part = copy; part != NULL && fd != -1; part = next) {
		if ((next = strchr(part, '/')) != NULL)
			*next++ = '\0';
		nfd = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		saved = errno;
		close(fd);
		errno = saved;
		fd = nfd;
	}
	if (fd == -1 && errno == ENOTDIR)
		errno = ELOOP;
	free(copy);
	return fd;
}

/*
 * The epoch of the set a current link's target names (the planner's own,
 * "epochs/N", N from 1 without leading zeros, 20 digits at most: a
 * longer target, which a buffer may have cut, is not one); 0 when it
 * names anything else.
 */
uint64_t
master_link_epoch(const char *target)
{
	char *end;
	uint64_t epoch;

	if (strncmp(target, "epochs/", 7) != 0 || target[7] < '1' ||
	    target[7] > '9' || strlen(target) > 7 + 20)
		return 0;
	errno = 0;
	epoch = strtoull(target + 7, &end, 10);
	return errno != 0 || *end != '\0' ? 0 : epoch;
}

/*
 * The epoch of the set MASTER_DIR/current names; 0 when there is none
 * yet or it names anything else.
 */
uint64_t
master_current(const char *dir)
{
	char *path = xasprintf("%s/current", dir), target[64];
	ssize_t n;

	n = readlink(path, target, sizeof(target) - 1);
	free(path);
	if (n < 0)
		return 0;
	target[n] = '\0';
	return master_link_epoch(target);
}

/*
 * Reads and parses a file a host signs (read_signed()) in the directory
 * dirfd: with its key pinned, only a text its signature covers is parsed,
 * and that text is kept in *text.
 */
static int
load_signed(int dirfd, const char *where, const char *name, size_t max,
    const struct host *h, struct signed_text *text, struct ynode **root,
    struct diag *d)
{
	char *path;
	int rc;

	*root = NULL;
	memset(text, 0, sizeof(*text));
	/* A directory that could not be opened holds nothing to read: it
	 * is said once, where it was opened (check_entries(), verify), not
	 * once for each host or file, and errno no longer tells why here. */
	if (dirfd == -1) {
		snprintf(d->msg, sizeof(d->msg), "%s: not read", where);
		return EX_NOINPUT;
	}
	if ((rc = read_signed(dirfd, where, name, max, h, text, d)) != 0)
		return rc;
	path = xasprintf("%s/%s", where, name);
	rc = ydoc_parse(path, (unsigned char *)text->text, text->len, root, d);
	free(path);
	if (rc != 0)
		signed_text_free(text);
	return rc;
}

/*
 * One manifest read and checked against the file set entry f: its text
 * and the manifest, or a code with the reason in d.
 */
static int
read_manifest(struct master *m, int dirfd, const char *where, size_t f,
    struct signed_text *text, struct manifest **out, struct diag *d)
{
	const struct file *fl = &m->fileset->files[f];
	char *esc = name_escape_file(fl->name, fl->version);
	char *name = xasprintf("%s.yaml", esc);
	char *path = xasprintf("%s/%s", where, name);
	struct manifest *man = NULL;
	struct ynode *root;
	int rc;

	*out = NULL;
	rc = load_signed(dirfd, where, name, YAML_MAX_FILE,
	    &m->topology->hosts[fl->generator], text, &root, d);
	if (rc == 0) {
		rc = manifest_parse(path, root, &man, d);
		ynode_free(root);
	}
	if (rc != 0)
		;
	else if (strcmp(man->file, fl->name) != 0 ||
	    man->version != fl->version) {
		snprintf(d->msg, sizeof(d->msg), "%s:1:1: describes %s@%llu, "
		    "not %s@%llu", path, man->file,
		    (unsigned long long)man->version, fl->name,
		    (unsigned long long)fl->version);
		rc = EX_DATAERR;
	} else if (fl->has_size && (man->length > fl->size ||
	    (man->final && man->length != fl->size))) {
		snprintf(d->msg, sizeof(d->msg), "%s:1:1: length %llu "
		    "disagrees with the file set's size %llu", path,
		    (unsigned long long)man->length,
		    (unsigned long long)fl->size);
		rc = EX_DATAERR;
	}
	if (rc != 0) {
		manifest_free(man);
		man = NULL;
		signed_text_free(text);
	}
	*out = man;
	free(path);
	free(name);
	free(esc);
	return rc;
}

/*
 * Loads the manifest of every file set version: the one in manifests/
 * when it verifies and continues the one kept with the set (keptfd, or
 * -1), else the kept one.  A version whose generator republished other
 * bytes, or an older copy put back, stays as it was verified.
 */
static void
load_manifests(struct master *m, int newfd, const char *newwhere,
    int keptfd, const char *keptwhere)
{
	size_t f, block;
	int rc;

	for (f = 0; f < m->fileset->nfiles; f++) {
		struct signed_text nt, kt;
		struct manifest *nm = NULL, *km = NULL;
		struct diag d = { "" }, kd = { "" };

		memset(&kt, 0, sizeof(kt));
		rc = read_manifest(m, newfd, newwhere, f, &nt, &nm, &d);
		if (rc != 0 && rc != EX_NOINPUT) {
			fprintf(stderr, "%s\n", d.msg);
			m->nerrors++;
		}
		if (keptfd != -1)
			read_manifest(m, keptfd, keptwhere, f, &kt, &km, &kd);
		if (nm != NULL && km != NULL &&
		    !manifest_continues(km, nm, &block)) {
			char *esc = name_escape_file(km->file, km->version);

			warnx_("%s/%s.yaml: does not continue the manifest "
			    "verified before (block %zu differs, or it is "
			    "shorter): the one verified before is kept", newwhere,
			    esc, block);
			free(esc);
			m->nerrors++;
			manifest_free(nm);
			signed_text_free(&nt);
			nm = NULL;
		}
		if (nm != NULL) {
			m->manifests[f] = nm;
			m->manifest_texts[f] = nt;
			manifest_free(km);
			signed_text_free(&kt);
		} else {
			m->manifests[f] = km;
			m->manifest_texts[f] = kt;
		}
	}
}

struct state_loader {
	struct master	*m;
	int		 newfd, keptfd;	/* -1: none */
	const char	*newwhere, *keptwhere;
	char		*broken;	/* per host */
};

/* One host's state read from dirfd, checked to be that host's. */
static int
read_state(const struct topology *t, size_t h, int dirfd, const char *where,
    struct signed_text *text, struct state **out, struct diag *d)
{
	char *name = xasprintf("%s.yaml", t->hosts[h].name);
	char *path = xasprintf("%s/%s", where, name);
	struct ynode *root;
	int rc;

	*out = NULL;
	rc = load_signed(dirfd, where, name, STATE_MAX_BYTES, &t->hosts[h],
	    text, &root, d);
	if (rc == 0) {
		rc = state_parse(path, root, out, d);
		ynode_free(root);
	}
	if (rc == 0 && strcmp((*out)->host, t->hosts[h].name) != 0) {
		snprintf(d->msg, sizeof(d->msg), "%s:1:1: reports for host "
		    "'%s'", path, (*out)->host);
		state_free(*out);
		*out = NULL;
		rc = EX_DATAERR;
	}
	if (rc != 0)
		signed_text_free(text);
	free(path);
	free(name);
	return rc;
}

/*
 * 1 when state a is older than b: written at an earlier time (as the host
 * signed it), or at the same time for an earlier epoch.  Time first: a
 * host whose store was made anew reports epoch 0, at a later time.
 */
int
state_older(const struct state *a, const struct state *b)
{
	return a->time < b->time || (a->time == b->time &&
	    a->epoch < b->epoch);
}

/*
 * Loads one host's state (for parallel_for()): the new one when it
 * verifies and is not older than the one kept with the set, else the
 * kept one (the host is then planned from its last verified state).
 */
static void
load_state(void *arg, size_t h)
{
	struct state_loader *sl = arg;
	struct master *m = sl->m;
	struct topology *t = m->topology;
	struct diag d = { "" }, kd = { "" };
	struct signed_text nt, kt;
	struct state *ns = NULL, *ks = NULL;
	int rc;

	memset(&kt, 0, sizeof(kt));
	rc = read_state(t, h, sl->newfd, sl->newwhere, &nt, &ns, &d);
	if (sl->keptfd != -1)
		read_state(t, h, sl->keptfd, sl->keptwhere, &kt, &ks, &kd);
	if (ns != NULL && ks != NULL && state_older(ns, ks)) {
		char *esc = text_escape(t->hosts[h].name);

		char when[32], before[32];

		time_format(when, sizeof(when), ns->time);
		time_format(before, sizeof(before), ks->time);
		snprintf(d.msg, sizeof(d.msg), "%s/%s.yaml: written %s (epoch "
		    "%llu), before the state counted last (%s, epoch %llu): "
		    "an old report put back", sl->newwhere, esc, when,
		    (unsigned long long)ns->epoch, before,
		    (unsigned long long)ks->epoch);
		free(esc);
		state_free(ns);
		signed_text_free(&nt);
		ns = NULL;
		rc = EX_DATAERR;
	}
	if (rc != 0 && rc != EX_NOINPUT) {
		fprintf(stderr, "%s (host %s planned from %s)\n", d.msg,
		    t->hosts[h].name, ks != NULL ? "its last verified state" :
		    "nothing: not reported");
		sl->broken[h] = 1;
	}
	if (ns != NULL) {
		m->news[h] = ks == NULL || ns->time != ks->time ||
		    ns->epoch != ks->epoch;
		m->states[h] = ns;
		m->state_texts[h] = nt;
		state_free(ks);
		signed_text_free(&kt);
	} else {
		m->states[h] = ks;
		m->state_texts[h] = kt;
	}
}

/* Loads every host's state, on a few threads (checking signatures
 * costs); reports broken ones, which leave the host stale. */
static void
load_states(struct master *m, struct state_loader *sl)
{
	size_t h;

	sl->m = m;
	sl->broken = xcalloc(m->topology->nhosts ? m->topology->nhosts : 1, 1);
	parallel_for(m->topology->nhosts, load_state, sl, NULL);
	for (h = 0; h < m->topology->nhosts; h++)
		if (sl->broken[h]) {
			m->stale[h] = 1;
			m->nerrors++;
		}
	free(sl->broken);
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
	DIR *d = NULL;
	int fd;

	if ((fd = master_open_dir(m->dir, sub)) == -1 ||
	    (d = fdopendir(fd)) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", path, errno == ELOOP ?
		    "a symbolic link (not followed)" : strerror(errno),
		    strcmp(sub, "states") == 0 ? "agents report there, "
		    "create it" : "generators' agents send manifests there, "
		    "create it");
		if (fd != -1)
			close(fd);
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
		/* A version the file set no longer names is retired by
		 * run, and said by check (retire.c): no error. */
		if (strcmp(sub, "manifests") == 0)
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
 * Loads the master directory dir: its topology and file set, then every
 * state and manifest, those in states/ and manifests/ checked against
 * the last verified ones, kept with the set MASTER_DIR/current names.
 * Returns 0 with *out owned by the caller (master_free()), or the
 * sysexits.h code of a broken topology or file set.  Broken states and
 * manifests are counted in nerrors, not fatal.
 */
int
master_load(const char *dir, struct master **out, int verbose)
{
	struct master *m;
	struct state_loader sl;
	char *set = NULL, *where[2], *kept[2];
	int rc, fd[2], kfd[2], i;

	(void)verbose;
	if ((rc = master_load_set(dir, 0, &m)) != 0) {
		*out = NULL;
		return rc;
	}
	check_entries(m, "manifests");
	check_entries(m, "states");
	m->set_epoch = master_current(dir);
	if (m->set_epoch != 0)
		set = xasprintf("epochs/%llu", (unsigned long long)m->set_epoch);
	for (i = 0; i < 2; i++) {
		const char *sub = i ? "states" : "manifests";

		where[i] = xasprintf("%s/%s", dir, sub);
		fd[i] = master_open_dir(dir, sub);
		kept[i] = set ? xasprintf("%s/%s/%s", dir, set, sub) : NULL;
		kfd[i] = -1;
		if (set != NULL) {
			char *ksub = xasprintf("%s/%s", set, sub);

			kfd[i] = master_open_dir(dir, ksub);
			free(ksub);
		}
	}
	load_manifests(m, fd[0], where[0], kfd[0], kept[0]);
	memset(&sl, 0, sizeof(sl));
	sl.newfd = fd[1];
	sl.newwhere = where[1];
	sl.keptfd = kfd[1];
	sl.keptwhere = kept[1];
	load_states(m, &sl);
	for (i = 0; i < 2; i++) {
		if (fd[i] != -1)
			close(fd[i]);
		if (kfd[i] != -1)
			close(kfd[i]);
		free(where[i]);
		free(kept[i]);
	}
	free(set);
	*out = m;
	return 0;
}

/*
 * Loads the master directory dir with the states and manifests kept with
 * the set of epoch (what its plans were made from: for verify); with
 * epoch 0, with none (the caller loads them).  Only the set's own are
 * read: a set that kept no manifests has none (manifests/, which the
 * generators write, is never taken for them).  Returns as master_load().
 */
int
master_load_set(const char *dir, uint64_t epoch, struct master **out)
{
	struct master *m = master_new();
	struct state_loader sl;
	char *tpath, *fpath, *sub, *where;
	int rc, fd;

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
	if (epoch == 0) {
		*out = m;
		return 0;
	}
	m->set_epoch = epoch;
	sub = xasprintf("epochs/%llu/manifests", (unsigned long long)epoch);
	fd = master_open_dir(dir, sub);
	where = xasprintf("%s/%s", dir, sub);
	load_manifests(m, fd, where, -1, NULL);
	if (fd != -1)
		close(fd);
	free(where);
	free(sub);
	sub = xasprintf("epochs/%llu/states", (unsigned long long)epoch);
	memset(&sl, 0, sizeof(sl));
	sl.newfd = master_open_dir(dir, sub);
	sl.newwhere = where = xasprintf("%s/%s", dir, sub);
	sl.keptfd = -1;
	load_states(m, &sl);
	m->set_states = sl.newfd != -1;
	if (sl.newfd != -1)
		close(sl.newfd);
	free(where);
	free(sub);
	*out = m;
	return 0;
}

/*
 * Reads back host's plan in the set of epoch (of that epoch, or kept from
 * an earlier one), as the planner wrote it, following no link; with the
 * master's key (m->master_pub), only a plan its signature covers.  Returns
 * 0 with *out (the caller's; NULL when there is none), or -1 when one is
 * there but unusable (said).
 */
int
master_read_plan(const struct master *m, uint64_t epoch, size_t host,
    struct plan **out)
{
	const char *name = m->topology->hosts[host].name;
	char *sub = xasprintf("epochs/%llu/plans", (unsigned long long)epoch);
	char *file = xasprintf("%s.yaml", name), *sigfile = NULL;
	char *path = xasprintf("%s/%s/%s", m->dir, sub, file);
	char *buf = NULL, *sig = NULL;
	const char *why = NULL;
	struct diag d = { "" };
	struct ynode *root = NULL;
	size_t len, siglen;
	int fd, rc = 0;

	*out = NULL;
	if ((fd = master_open_dir(m->dir, sub)) == -1) {
		if (errno != ENOENT)
			why = read_error_text(errno);
		goto out;
	}
	if (read_file_max(fd, file, O_NOFOLLOW, PLAN_MAX_BYTES, &buf,
	    &len) != 0) {
		if (errno != ENOENT)
			why = read_error_text(errno);
		goto out;
	}
	if (m->master_pub != NULL) {
		sigfile = xasprintf("%s.sig", file);
		if (read_file_max(fd, sigfile, O_NOFOLLOW, 16384, &sig,
		    &siglen) != 0)
			why = "its signature is missing or unreadable";
		else
			(void)sshsig_verify(m->master_pub, buf, len, sig,
			    siglen, &why);
		if (why != NULL)
			goto out;
	}
	if (ydoc_parse(path, (unsigned char *)buf, len, &root, &d) != 0 ||
	    plan_parse(path, root, out, &d) != 0) {
		ynode_free(root);
		why = d.msg;
		goto out;
	}
	ynode_free(root);
	/* A set holds its own plans and those kept from earlier ones. */
	if (strcmp((*out)->host, name) != 0 || (*out)->epoch > epoch)
		why = "it names another host, or a later epoch";
out:
	if (why != NULL) {
		warnx_("%s: %s: not used", path, why);
		plan_free(*out);
		*out = NULL;
		rc = -1;
	}
	if (fd != -1)
		close(fd);
	free(buf);
	free(sig);
	free(sigfile);
	free(path);
	free(file);
	free(sub);
	return rc;
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

	/* The planner's alone: anyone who could open it could hold it and
	 * stop every run. */
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1 || fchmod(fd, 0600) == -1) {
		warnx_("%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
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
