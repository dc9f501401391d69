/*
 * epoch.c: the epoch set.  A run's plans and ledger are written to
 * MASTER_DIR/epochs/EPOCH/, and the symbolic link MASTER_DIR/current is
 * switched to it by one rename; MASTER_DIR/plans and MASTER_DIR/ledger.yaml
 * are links through current, so readers see the old set or the new one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "master.h"

/* How many earlier epochs' sets are kept beside the current one. */
#define KEEP_EPOCHS 3

/* ------------------------------------------------------------------ */
/* Writing the set                                                     */

/* Opens dir to read, or NULL: never through a link. */
static DIR *
open_dir(const char *dir)
{
	DIR *d;
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return NULL;
	if ((d = fdopendir(fd)) == NULL)
		close(fd);
	return d;
}

/* Removes the files of dir, then dir. */
static void
remove_files(const char *dir)
{
	DIR *d;
	struct dirent *e;

	if ((d = open_dir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") != 0 &&
			    strcmp(e->d_name, "..") != 0)
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	}
	rmdir(dir);
}

/* Removes a set: its directories, its ledger and its brief. */
static void
remove_set(const char *dir)
{
	DIR *d;
	struct dirent *e;
	char *plans = xasprintf("%s/plans", dir);
	char *states = xasprintf("%s/states", dir);
	char *manifests = xasprintf("%s/manifests", dir);
	char *retired = xasprintf("%s/retired", dir);
	char *ledger = xasprintf("%s/ledger.yaml", dir);

	remove_files(plans);
	remove_files(states);
	remove_files(manifests);
	remove_files(retired);
	unlink(ledger);
	if ((d = open_dir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL)
			if (strncmp(e->d_name, "brief-", 6) == 0)
				unlinkat(dirfd(d), e->d_name, 0);
		closedir(d);
	}
	rmdir(dir);
	free(plans);
	free(states);
	free(manifests);
	free(retired);
	free(ledger);
}

/* Makes name in dir a symbolic link to target, atomically. */
static int
replace_symlink(const char *dir, const char *name, const char *target)
{
	char *path = xasprintf("%s/%s", dir, name);
	char *tmp = xasprintf("%s/.%s.tmp.%ld", dir, name, (long)getpid());
	int rc = -1;

	unlink(tmp);
	if (symlink(target, tmp) == -1)
		warnx_("%s: symlink: %s", tmp, strerror(errno));
	else if (rename(tmp, path) == -1) {
		warnx_("%s: rename: %s", path, strerror(errno));
		unlink(tmp);
	} else
		rc = 0;
	free(path);
	free(tmp);
	return rc;
}

/*
 * Makes dir/name a link to target; a real file or directory there (from
 * before sets, or an operator's copy) is moved into epochs/ first.
 */
static int
ensure_link(const char *dir, const char *name, const char *target,
    uint64_t epoch)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct stat st;
	int rc = 0;

	if (lstat(path, &st) == 0 && !S_ISLNK(st.st_mode)) {
		char *aside = xasprintf("%s/epochs/before-%" PRIu64 "-%s", dir,
		    epoch, name);

		if (rename(path, aside) == -1) {
			warnx_("%s: cannot move aside: %s", path,
			    strerror(errno));
			rc = -1;
		}
		free(aside);
	}
	if (rc == 0 && (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode)))
		rc = replace_symlink(dir, name, target);
	free(path);
	return rc;
}

/*
 * Writes a file of a new set: where the set's directory was taken back
 * (over: the mode a new file gets), over the file of that name; else
 * (over 0) as a new file.
 */
static int
put_file(mode_t over, const char *path, const void *buf, size_t len)
{
	return over != 0 ? write_over_file(path, buf, len, over) :
	    write_new_file(path, buf, len);
}

struct set_writer {
	const char	 *setplans;
	const struct master *m;
	const struct topology *t;
	uint64_t	  epoch;	/* the new set's */
	uint64_t	  was;		/* the epoch of the set old is from */
	struct plan	**plans;	/* per host: new, or NULL */
	struct plan	**old;		/* per host: kept when no new one */
	char		 *failed;	/* per host */
	char		**brief;	/* per host: the plan's brief text */
	size_t		 *brieflen;
	struct sshsig_signer *signer;	/* the master key's, or NULL:
					 * unsigned */
	char		 *wrote;	/* per host: its plan is in the set */
	mode_t		  over;		/* the set's directory was taken back
					 * (put_file()) */
};

/*
 * Formats plan p no larger than what an agent reads.  When it is larger,
 * the plan is cut at a number of checksums that fits: the op at the cut
 * keeps its first whole blocks, the ops after it go, and so does every
 * range of a file version after one that went, so that what is kept still
 * tiles from where each version starts; the rest waits for the next
 * round.  Returns the text, its brief (plan_format_pair()) in *brief,
 * or NULL.
 */
static char *
plan_format_bounded(struct plan *p, size_t *len, char **brief,
    size_t *brieflen)
{
	size_t was = p->nops, budget = 0, i, k, f;
	uint64_t *cut_from;
	char *text = plan_format_pair(p, len, brief, brieflen);

	if (text == NULL || *len <= PLAN_MAX_BYTES)
		return text;
	cut_from = xcalloc(p->nfileset ? p->nfileset : 1, sizeof(*cut_from));
	for (i = 0; i < p->nops; i++)
		budget += p->ops[i].nblocks;
	while (text != NULL && *len > PLAN_MAX_BYTES && p->nops > 0) {
		free(text);
		free(*brief);
		budget = (size_t)((double)budget * 0.9 *
		    (double)PLAN_MAX_BYTES / (double)*len);
		for (f = 0; f < p->nfileset; f++)
			cut_from[f] = UINT64_MAX;
		/* The cut: ops beyond the budget go, the one at it shrinks. */
		for (i = k = 0; i < p->nops; i++) {
			struct op *o = &p->ops[i];
			uint64_t at = UINT64_MAX;

			if (k >= budget)
				at = o->offset;
			else if (k + o->nblocks > budget) {
				o->nblocks = budget - k;
				o->length = o->nblocks * o->block_size;
				at = o->offset + o->length;
			}
			k += o->nblocks;
			for (f = 0; f < p->nfileset && at != UINT64_MAX; f++)
				if (p->fileset[f].version == o->version &&
				    strcmp(p->fileset[f].name, o->file) == 0 &&
				    at < cut_from[f])
					cut_from[f] = at;
		}
		for (i = k = 0; i < p->nops; i++) {
			struct op *o = &p->ops[i];

			for (f = 0; f < p->nfileset; f++)
				if (p->fileset[f].version == o->version &&
				    strcmp(p->fileset[f].name, o->file) == 0)
					break;
			if (o->nblocks == 0 || (f < p->nfileset &&
			    o->offset >= cut_from[f]))
				op_clear(o);
			else
				p->ops[k++] = *o;
		}
		p->nops = k;
		text = plan_format_pair(p, len, brief, brieflen);
	}
	free(cut_from);
	if (text != NULL)
		warnx_("plan for %s: cut to %zu ops (of %zu) and %zu checksums "
		    "to stay within %zu bytes; the rest waits for a later "
		    "round", p->host, p->nops, was, budget, PLAN_MAX_BYTES);
	return text;
}

/*
 * Writes text to path as a new file and, with a signer (NULL: unsigned),
 * its signature to path.sig.  Returns 0 or -1 (said).
 */
static int
write_text_signed(const char *path, const char *text, size_t len,
    struct sshsig_signer *signer, mode_t over)
{
	char *sig, *sigpath;
	size_t siglen;
	int rc = 0;

	if (put_file(over, path, text, len) != 0)
		return -1;
	if (signer == NULL)
		return 0;
	if ((sig = sshsig_signer_sign(signer, text, len, &siglen)) == NULL) {
		warnx_("%s: cannot sign", path);
		return -1;
	}
	sigpath = xasprintf("%s.sig", path);
	if (put_file(over, sigpath, sig, siglen) != 0)
		rc = -1;
	free(sig);
	free(sigpath);
	return rc;
}

/*
 * Writes host h's plan into the new set, signed beside it: its new plan,
 * or the plan it keeps (read back and verified, old[h]), each formatted
 * here from memory.  Nothing a host could have written is copied.
 */
static void
write_plan(void *arg, size_t h)
{
	struct set_writer *w = arg;
	struct plan *p = w->plans[h] != NULL ? w->plans[h] : w->old[h];
	struct plan *whole = NULL;
	char *path, *text;
	size_t len = 0;

	/* A plan carried (an expired one of a host not planned: those still
	 * running were read whole before the round), read back brief: read
	 * whole from the set it is in, and left out when it cannot be. */
	if (p != NULL && p->brief) {
		master_read_plan(w->m, w->was, h, &whole);
		if (whole == NULL)
			warnx_("%s/epochs/%" PRIu64 "/plans/%s.yaml: cannot "
			    "be read whole: the plan it carried is left out "
			    "of the new set", w->m->dir, w->was,
			    w->t->hosts[h].name);
		p = whole;
	}
	if (p == NULL)
		return;
	path = xasprintf("%s/%s.yaml", w->setplans, w->t->hosts[h].name);
	/* The plan, and its brief as written (cut, if it was). */
	if ((text = plan_format_bounded(p, &len, &w->brief[h],
	    &w->brieflen[h])) == NULL || w->brief[h] == NULL ||
	    write_text_signed(path, text, len, w->signer, w->over) != 0)
		w->failed[h] = 1;
	else
		w->wrote[h] = 1;
	free(text);
	free(path);
	plan_free(whole);
}

/*
 * A set's brief is written in BRIEF_SHARDS parts, each host's plan in one
 * (by its place in the topology), so that they are read back on every
 * processor.
 */
#define BRIEF_SHARDS 16

/* The most of a part read back: one larger is not used (the plans are). */
#define BRIEF_MAX_BYTES ((size_t)1 << 30)

struct brief_writer {
	const char	*set;
	const struct set_writer *w;
	char		 failed[BRIEF_SHARDS];
};

/*
 * Writes part k of the set's brief, SET/brief-K.yaml: a document naming
 * the set and the part, then the plans of its hosts (in host order) as
 * YAML documents without their ops' checksums, signed as one text beside
 * it (for parallel_for()).  The first document makes a part no plan.
 */
static void
write_brief_part(void *arg, size_t k)
{
	static const char start[] = "---\n";
	struct brief_writer *bw = arg;
	const struct set_writer *w = bw->w;
	size_t n = w->t->nhosts, from = k * n / BRIEF_SHARDS,
	    to = (k + 1) * n / BRIEF_SHARDS, len = 0, at = 0, h;
	char *path = xasprintf("%s/brief-%zu.yaml", bw->set, k), *text;

	char *head = xasprintf("---\nset: %" PRIu64 "\npart: %zu\n",
	    w->epoch, k);

	len = strlen(head);
	for (h = from; h < to; h++)
		if (w->brief[h] != NULL)
			len += sizeof(start) - 1 + w->brieflen[h];
	text = xcalloc(len + 1, 1);
	memcpy(text, head, strlen(head));
	at = strlen(head);
	free(head);
	for (h = from; h < to; h++)
		if (w->brief[h] != NULL) {
			memcpy(text + at, start, sizeof(start) - 1);
			at += sizeof(start) - 1;
			memcpy(text + at, w->brief[h], w->brieflen[h]);
			at += w->brieflen[h];
		}
	if (write_text_signed(path, text, len, w->signer, w->over) != 0)
		bw->failed[k] = 1;
	free(text);
	free(path);
}

/*
 * Writes the set's brief, so that the next run reads what runs back in a
 * tenth of the bytes (epoch_plans()).  Returns 0 or -1 (said).
 */
static int
write_brief(const char *set, const struct set_writer *w)
{
	struct brief_writer bw;
	size_t k;

	memset(&bw, 0, sizeof(bw));
	bw.set = set;
	bw.w = w;
	parallel_for(BRIEF_SHARDS, write_brief_part, &bw, NULL);
	for (k = 0; k < BRIEF_SHARDS; k++)
		if (bw.failed[k])
			return -1;
	return 0;
}

/* Writes a signed text as verified into dir: name and name.sig. */
static int
write_signed(const char *dir, const char *name, const struct signed_text *st,
    mode_t over)
{
	char *path = xasprintf("%s/%s", dir, name);
	char *sigpath = xasprintf("%s/%s.sig", dir, name);
	int rc = 0;

	if (st->text != NULL && put_file(over, path, st->text, st->len) != 0)
		rc = -1;
	if (rc == 0 && st->text != NULL && st->sig != NULL &&
	    put_file(over, sigpath, st->sig, st->siglen) != 0)
		rc = -1;
	free(path);
	free(sigpath);
	return rc;
}

/*
 * Unlinks from dir, of a set taken back, every file that kept() does not
 * name: those of the set it was that the new one has not written.
 * Returns 0, or -1 (said) when one cannot go (a directory no set has
 * among them): then the set is written afresh.
 */
static int
prune(const char *dir, int (*kept)(const void *, const char *),
    const void *arg)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if ((d = open_dir(dir)) == NULL) {
		warnx_("%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0 || kept(arg, e->d_name))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == -1 &&
		    errno != ENOENT) {
			warnx_("%s/%s: cannot remove: %s", dir, e->d_name,
			    strerror(errno));
			rc = -1;
		}
	}
	closedir(d);
	return rc;
}

/*
 * The host whose file name is in a set's plans/ or states/ (HOST.yaml,
 * or HOST.yaml.sig: *sig set), or -1.
 */
static long
host_file(const struct topology *t, const char *name, int *sig)
{
	size_t n = strlen(name), base;
	char *host;
	long h;

	if (n > 9 && strcmp(name + n - 9, ".yaml.sig") == 0) {
		base = n - 9;
		*sig = 1;
	} else if (n > 5 && strcmp(name + n - 5, ".yaml") == 0) {
		base = n - 5;
		*sig = 0;
	} else
		return -1;
	host = xasprintf("%.*s", (int)base, name);
	h = topology_host(t, host);
	free(host);
	return h;
}

/* Whether name is a plan, or its signature, that w wrote (for prune()). */
static int
plan_kept(const void *arg, const char *name)
{
	const struct set_writer *w = arg;
	int sig;
	long h = host_file(w->t, name, &sig);

	return h >= 0 && w->wrote[h] && (!sig || w->signer != NULL);
}

/*
 * Whether name, in a set's directory, is what the set has: its ledger,
 * plans, states and manifests, or a part of its brief that w wrote, or
 * its signature (for prune()).
 */
static int
set_kept(const void *arg, const char *name)
{
	static const char *const has[] = { "ledger.yaml", "plans", "states",
	    "manifests" };
	const struct set_writer *w = arg;
	char part[64];
	size_t k;

	for (k = 0; k < sizeof(has) / sizeof(has[0]); k++)
		if (strcmp(name, has[k]) == 0)
			return 1;
	for (k = 0; k < BRIEF_SHARDS; k++) {
		snprintf(part, sizeof(part), "brief-%zu.yaml", k);
		if (strcmp(name, part) == 0)
			return 1;
		snprintf(part, sizeof(part), "brief-%zu.yaml.sig", k);
		if (w->signer != NULL && strcmp(name, part) == 0)
			return 1;
	}
	return 0;
}

/* Whether name is a kept state, or its signature (for prune()). */
static int
state_kept(const void *arg, const char *name)
{
	const struct master *m = arg;
	int sig;
	long h = host_file(m->topology, name, &sig);

	return h >= 0 && m->state_texts[h].text != NULL &&
	    (!sig || m->state_texts[h].sig != NULL);
}

/* Names, sorted (names_sort()). */
struct names {
	char	**v;
	size_t	  n;
};

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
names_sort(struct names *ns)
{
	if (ns->n > 1)
		qsort(ns->v, ns->n, sizeof(*ns->v), cmp_name);
}

/* Whether name is one of ns, sorted (for prune()). */
static int
named(const void *arg, const char *name)
{
	const struct names *ns = arg;

	return ns->n > 0 && bsearch(&name, ns->v, ns->n, sizeof(*ns->v),
	    cmp_name) != NULL;
}

static void
names_free(struct names *ns)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

struct state_keeper {
	const char	*dir;
	const struct master *m;
	char		*failed;	/* per host */
	mode_t		 over;		/* put_file() */
};

/* Writes host h's state as verified into the set (for parallel_for()). */
static void
keep_state(void *arg, size_t h)
{
	struct state_keeper *k = arg;
	char *name = xasprintf("%s.yaml", k->m->topology->hosts[h].name);

	k->failed[h] = write_signed(k->dir, name, &k->m->state_texts[h],
	    k->over) != 0;
	free(name);
}

/*
 * Keeps, with the set, the states and manifests it was planned from
 * (their bytes as verified, and signatures), so that verify checks plans
 * against them at any later moment and the next run falls back on them:
 * a host's new state that does not verify, or is older, or a manifest
 * rewritten, is measured against these.  Written from memory: nothing
 * under states/ or manifests/ is linked, copied or followed.
 */
static int
keep_inputs(const char *set, const struct master *m, mode_t over)
{
	const struct topology *t = m->topology;
	const struct fileset *fs = m->fileset;
	struct names kept;
	char *dirs[2];
	size_t i;
	int k, rc = 0;

	dirs[0] = xasprintf("%s/states", set);
	dirs[1] = xasprintf("%s/manifests", set);
	for (k = 0; k < 2 && rc == 0; k++)
		if (mkdir(dirs[k], 0755) == -1 && errno != EEXIST) {
			warnx_("%s: %s", dirs[k], strerror(errno));
			rc = -1;
		}
	if (rc == 0) {
		struct state_keeper keeper = { dirs[0], m, NULL, over };

		keeper.failed = xcalloc(t->nhosts ? t->nhosts : 1, 1);
		parallel_for(t->nhosts, keep_state, &keeper, NULL);
		for (i = 0; i < t->nhosts && rc == 0; i++)
			rc = keeper.failed[i] ? -1 : 0;
		free(keeper.failed);
	}
	/* The manifests, their names kept to prune the rest by. */
	kept.v = xcalloc(2 * fs->nfiles + 1, sizeof(*kept.v));
	kept.n = 0;
	for (i = 0; i < fs->nfiles && rc == 0; i++) {
		const struct signed_text *st = &m->manifest_texts[i];
		char *esc = name_escape_file(fs->files[i].name,
		    fs->files[i].version);
		char *name = xasprintf("%s.yaml", esc);

		rc = write_signed(dirs[1], name, st, over);
		if (st->text != NULL && st->sig != NULL)
			kept.v[kept.n++] = xasprintf("%s.sig", name);
		if (st->text != NULL)
			kept.v[kept.n++] = name;
		else
			free(name);
		free(esc);
	}
	names_sort(&kept);
	if (rc == 0 && over != 0 && (prune(dirs[0], state_kept, m) != 0 ||
	    prune(dirs[1], named, &kept) != 0))
		rc = -1;
	names_free(&kept);
	for (k = 0; k < 2 && rc == 0; k++)
		if (fsync_dir(dirs[k]) == -1) {
			warnx_("%s: fsync: %s", dirs[k], strerror(errno));
			rc = -1;
		}
	free(dirs[0]);
	free(dirs[1]);
	return rc;
}

/* Whether path is a directory of this user's, not a link to one. */
static int
own_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	    st.st_uid == geteuid();
}

/*
 * Makes path, a directory of this user's and not a link, of mode mode.
 * Returns 0, or -1 when it is not one or cannot be made so.
 */
static int
own_dir_mode(const char *path, mode_t mode)
{
	struct stat st;
	int fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
	    ((st.st_mode & 07777) == mode || fchmod(fd, mode) == 0))
		rc = 0;
	close(fd);
	return rc;
}

/*
 * Takes a directory back for the new set at set: the one a run that
 * failed left there, or else the set this run would remove once written
 * (epoch - KEEP_EPOCHS), renamed to set.  Its files are written over,
 * the inodes and blocks of thousands of files serving again, and those
 * not written again are pruned before the set is switched to; its
 * directories and files get the modes a new set's would.  Returns the
 * mode of its files (put_file()) when it took one back, 0 when the set
 * is to be made new.  Called with no other thread running (the umask is
 * read by setting it).
 */
static mode_t
take_set(const char *dir, uint64_t epoch, const char *set)
{
	static const char *const subs[] = { "plans", "states", "manifests" };
	struct stat st;
	mode_t mask = umask(022), dirmode = 0755 & ~mask;
	char *path;
	size_t i;
	int ok = 1;

	umask(mask);
	if (!own_dir(set)) {
		if (epoch <= KEEP_EPOCHS)
			return 0;
		path = xasprintf("%s/epochs/%" PRIu64, dir,
		    epoch - KEEP_EPOCHS);
		ok = master_current(dir) != epoch - KEEP_EPOCHS &&
		    own_dir(path) && rename(path, set) == 0;
		free(path);
		if (!ok)
			return 0;
	}
	/* What it retired is the old set's: this run retires anew. */
	path = xasprintf("%s/retired", set);
	if (own_dir(path))
		remove_files(path);
	ok = lstat(path, &st) == -1 && errno == ENOENT &&
	    own_dir_mode(set, dirmode) == 0;
	free(path);
	for (i = 0; ok && i < sizeof(subs) / sizeof(subs[0]); i++) {
		path = xasprintf("%s/%s", set, subs[i]);
		ok = own_dir_mode(path, dirmode) == 0 || (lstat(path, &st) ==
		    -1 && errno == ENOENT);
		free(path);
	}
	return ok ? 0644 & ~mask : 0;
}

/*
 * Clears the way for a new set at set: a directory of this user's there
 * is removed, or, where it holds what cannot be (a directory no set
 * has), set aside as epochs/.aside-EPOCH-PID with what can be removed
 * gone.  Anything else there (a link, a file, another user's directory)
 * is left as it is, never followed.  Returns 0, or -1 (said) when
 * something stays at set.
 */
static int
clear_set(const char *dir, uint64_t epoch, const char *set)
{
	struct stat st;
	char *aside;
	int rc = 0;

	if (lstat(set, &st) == -1 && errno == ENOENT)
		return 0;
	if (!own_dir(set)) {
		warnx_("%s: is not a directory of the planner's: the set "
		    "cannot be written", set);
		return -1;
	}
	remove_set(set);
	if (lstat(set, &st) == -1 && errno == ENOENT)
		return 0;
	aside = xasprintf("%s/epochs/.aside-%" PRIu64 "-%ld", dir, epoch,
	    (long)getpid());
	if (rename(set, aside) == -1) {
		warnx_("%s: cannot be removed or set aside as %s: %s", set,
		    aside, strerror(errno));
		rc = -1;
	} else {
		warnx_("%s: holds what no set has: set aside as %s", set,
		    aside);
		remove_set(aside);
	}
	free(aside);
	return rc;
}

/*
 * Writes w's set at set (its plans at w->setplans) with ledger l, and
 * makes it durable.  Returns 0 or -1 (said).
 */
static int
write_set(struct set_writer *w, const char *epochs, const char *set,
    const struct ledger *l)
{
	const struct topology *t = w->t;
	char *buf, *path;
	size_t len, h;
	int rc;

	if (mkdir_p(w->setplans, 0755) == -1) {
		warnx_("%s: %s", w->setplans, strerror(errno));
		return -1;
	}
	parallel_for(t->nhosts, write_plan, w, NULL);
	for (h = 0; h < t->nhosts; h++)
		if (w->failed[h])
			return -1;
	if (write_brief(set, w) != 0 || keep_inputs(set, w->m, w->over) != 0)
		return -1;
	if ((buf = ledger_format(l, &len)) == NULL) {
		warnx_("cannot format the ledger");
		return -1;
	}
	path = xasprintf("%s/ledger.yaml", set);
	rc = put_file(w->over, path, buf, len);
	free(path);
	free(buf);
	if (rc != 0)
		return -1;
	if (w->over != 0 && (prune(w->setplans, plan_kept, w) != 0 ||
	    prune(set, set_kept, w) != 0))
		return -1;
	path = xasprintf("%s/states", set);
	buf = xasprintf("%s/manifests", set);
	rc = sync_new_files(w->setplans) != 0 || sync_new_files(set) != 0 ||
	    sync_new_files(path) != 0 || sync_new_files(buf) != 0 ? -1 : 0;
	free(path);
	free(buf);
	if (rc != 0)
		return -1;
	if (fsync_dir(w->setplans) == -1 || fsync_dir(set) == -1 ||
	    fsync_dir(epochs) == -1) {
		warnx_("%s: fsync: %s", set, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Writes the new set: every new plan, every kept plan (old[h] where
 * plans[h] is NULL), the states and manifests planned from, the ledger;
 * then switches MASTER_DIR/current to it.  Returns 0 or EX_CANTCREAT,
 * leaving the previous set in place.
 */
int
epoch_write(const char *dir, const struct master *m, struct plan **plans,
    struct plan **old, uint64_t was, const struct ledger *l,
    const struct sshkey *key)
{
	const struct topology *t = m->topology;
	char *epochs = xasprintf("%s/epochs", dir);
	char *set = xasprintf("%s/epochs/%" PRIu64, dir, l->epoch);
	char *setplans = xasprintf("%s/plans", set);
	char *target = xasprintf("epochs/%" PRIu64, l->epoch);
	struct set_writer w;
	size_t h;
	int rc = EX_CANTCREAT;

	memset(&w, 0, sizeof(w));
	if (master_current(dir) == l->epoch) {
		warnx_("%s: is the set %s/current names: not written over",
		    set, dir);
		goto out;
	}
	w.setplans = setplans;
	w.m = m;
	w.t = t;
	w.epoch = l->epoch;
	w.was = was;
	w.plans = plans;
	w.old = old;
	w.failed = xcalloc(t->nhosts ? t->nhosts : 1, 1);
	w.wrote = xcalloc(t->nhosts ? t->nhosts : 1, 1);
	w.brief = xcalloc(t->nhosts ? t->nhosts : 1, sizeof(*w.brief));
	w.brieflen = xcalloc(t->nhosts ? t->nhosts : 1, sizeof(*w.brieflen));
	if (key != NULL && (w.signer = sshsig_signer_new(key)) == NULL) {
		warnx_("%s: cannot make the signing key", setplans);
		goto out;
	}
	/* A set taken back that cannot be written over is written
	 * afresh. */
	if ((w.over = take_set(dir, l->epoch, set)) == 0 ||
	    write_set(&w, epochs, set, l) != 0) {
		for (h = 0; h < t->nhosts; h++) {
			free(w.brief[h]);
			w.brief[h] = NULL;
		}
		memset(w.failed, 0, t->nhosts);
		memset(w.wrote, 0, t->nhosts);
		w.over = 0;
		if (clear_set(dir, l->epoch, set) != 0 ||
		    write_set(&w, epochs, set, l) != 0)
			goto out;
	}
	if (replace_symlink(dir, "current", target) != 0)
		goto out;
	if (ensure_link(dir, "plans", "current/plans", l->epoch) != 0 ||
	    ensure_link(dir, "ledger.yaml", "current/ledger.yaml",
	    l->epoch) != 0)
		goto out;
	if (fsync_dir(dir) == -1) {
		warnx_("%s: fsync: %s", dir, strerror(errno));
		goto out;
	}
	if (l->epoch > KEEP_EPOCHS) {
		char *oldset = xasprintf("%s/epochs/%" PRIu64, dir,
		    l->epoch - KEEP_EPOCHS);

		if (own_dir(oldset))
			remove_set(oldset);
		free(oldset);
	}
	rc = 0;
out:
	sshsig_signer_free(w.signer);
	for (h = 0; w.brief != NULL && h < t->nhosts; h++)
		free(w.brief[h]);
	free(w.brief);
	free(w.brieflen);
	free(w.failed);
	free(w.wrote);
	free(epochs);
	free(set);
	free(setplans);
	free(target);
	return rc;
}

struct plan_reader {
	const struct master *m;
	uint64_t	 epoch;
	struct plan	**plans;	/* per host */
};

/* Reads host h's plan back (for parallel_for()). */
static void
read_plan(void *arg, size_t h)
{
	struct plan_reader *r = arg;

	master_read_plan(r->m, r->epoch, h, &r->plans[h]);
}

struct brief_part {
	struct plan	**plans;	/* as read, in order */
	size_t		 nplans;
	int		 rc;		/* 0, 1 (no such part) or -1 */
	char		 why[sizeof(((struct diag *)0)->msg)];
};

struct brief_reader {
	const struct master *m;
	uint64_t	 epoch;
	int		 dirfd;		/* the set's directory */
	struct brief_part parts[BRIEF_SHARDS];
};

struct brief_doc {
	struct brief_part *part;
	const char	*path;
	struct diag	*d;
	uint64_t	 epoch;
	size_t		 k;
	int		 headed;	/* its first document read */
};

static const char *const brief_head_keys[] = { "set", "part", NULL };

/* The first document of part k of the set of epoch: names them. */
static int
brief_head(struct brief_doc *bd, const struct ynode *root)
{
	struct yctx c = { bd->path, bd->d };
	uint64_t set, part;
	int rc;

	if (root == NULL)
		return yerr(&c, NULL, "no set and part named");
	if ((rc = ymap_check(&c, root, "brief", brief_head_keys)) != 0 ||
	    (rc = yreq_u64(&c, root, "brief", "set", &set)) != 0 ||
	    (rc = yreq_u64(&c, root, "brief", "part", &part)) != 0)
		return rc;
	if (set != bd->epoch || part != bd->k)
		return yerr(&c, root, "part %" PRIu64 " of set %" PRIu64
		    ", not part %zu of set %" PRIu64, part, set, bd->k,
		    bd->epoch);
	return 0;
}

/* Takes one plan of a part of a set's brief (for ydoc_parse_each()). */
static int
brief_plan(void *arg, struct ynode *root)
{
	struct brief_doc *bd = arg;
	struct brief_part *part = bd->part;
	struct plan *p;
	int rc;

	if (!bd->headed) {
		bd->headed = 1;
		rc = brief_head(bd, root);
		ynode_free(root);
		return rc;
	}
	rc = plan_parse_brief(bd->path, root, &p, bd->d);
	ynode_free(root);
	if (rc != 0)
		return rc;
	if ((part->nplans & (part->nplans - 1)) == 0)
		part->plans = xreallocarray(part->plans,
		    part->nplans ? 2 * part->nplans : 1,
		    sizeof(*part->plans));
	part->plans[part->nplans++] = p;
	return 0;
}

/* Reads part k of a set's brief (for parallel_for()). */
static void
read_brief_part(void *arg, size_t k)
{
	struct brief_reader *r = arg;
	struct brief_part *part = &r->parts[k];
	char *name = xasprintf("brief-%zu.yaml", k);
	char *signame = xasprintf("%s.sig", name);
	char *path = xasprintf("%s/epochs/%" PRIu64 "/%s", r->m->dir,
	    r->epoch, name);
	char *buf = NULL, *sig = NULL;
	const char *why = NULL;
	struct diag d = { "" };
	struct brief_doc bd = { part, path, &d, r->epoch, k, 0 };
	size_t len, siglen, max = r->m->topology->nhosts / BRIEF_SHARDS + 1;

	/* A part is no larger than its plans may be, and read whole. */
	max = max > BRIEF_MAX_BYTES / PLAN_MAX_BYTES ? BRIEF_MAX_BYTES :
	    max * PLAN_MAX_BYTES;
	part->rc = -1;
	if (read_file_max(r->dirfd, name, O_NOFOLLOW, max, &buf, &len) !=
	    0) {
		if (errno == ENOENT)
			part->rc = 1;
		why = read_error_text(errno);
	} else if (r->m->master_pub != NULL && read_file_max(r->dirfd,
	    signame, O_NOFOLLOW, 16384, &sig, &siglen) != 0)
		why = "its signature is missing or unreadable";
	else if (r->m->master_pub != NULL && sshsig_verify(r->m->master_pub,
	    buf, len, sig, siglen, &why) != 0)
		;
	else if (ydoc_parse_each(path, (unsigned char *)buf, len,
	    brief_plan, &bd, &d) != 0)
		snprintf(part->why, sizeof(part->why), "%s", d.msg);
	else if (!bd.headed)
		snprintf(part->why, sizeof(part->why), "%s: empty", path);
	else
		part->rc = 0;
	if (why != NULL)
		snprintf(part->why, sizeof(part->why), "%s: %s", path, why);
	free(buf);
	free(sig);
	free(path);
	free(signame);
	free(name);
}

/*
 * Reads the brief of the set of epoch into plans (all NULL before):
 * every plan of the set as written, without its checksums, each part
 * verified with the master's key where it has one.  Returns 0; 1 when
 * the set has no brief (written before briefs were); or -1, said, when
 * it is unusable, plans left all NULL.
 */
static int
read_brief(const struct master *m, uint64_t epoch, struct plan **plans)
{
	const struct topology *t = m->topology;
	char *sub = xasprintf("epochs/%" PRIu64, epoch);
	struct brief_reader r;
	size_t k, i, h, absent = 0;
	int rc = 0;

	memset(&r, 0, sizeof(r));
	r.m = m;
	r.epoch = epoch;
	if ((r.dirfd = master_open_dir(m->dir, sub)) == -1) {
		free(sub);
		return 1;
	}
	parallel_for(BRIEF_SHARDS, read_brief_part, &r, NULL);
	close(r.dirfd);
	for (k = 0; k < BRIEF_SHARDS; k++)
		if (r.parts[k].rc == 1)
			absent++;
	if (absent == BRIEF_SHARDS)
		rc = 1;
	for (k = 0; k < BRIEF_SHARDS && rc == 0; k++) {
		struct brief_part *part = &r.parts[k];

		if (part->rc != 0) {
			warnx_("%s: not used; the set's plans are read "
			    "instead", part->why);
			rc = -1;
		}
		for (i = 0; i < part->nplans && rc == 0; i++) {
			struct plan *p = part->plans[i];
			long hi = topology_host(t, p->host);

			if (p->epoch > epoch || (hi >= 0 &&
			    plans[hi] != NULL)) {
				warnx_("%s/%s/brief-%zu.yaml: the plan for %s "
				    "%s: not used; the set's plans are read "
				    "instead", m->dir, sub, k, p->host,
				    p->epoch > epoch ? "names a later epoch" :
				    "is there twice");
				rc = -1;
				break;
			}
			/* A host no longer in the topology keeps no plan. */
			if (hi < 0)
				continue;
			plans[hi] = p;
			part->plans[i] = NULL;
		}
	}
	for (k = 0; k < BRIEF_SHARDS; k++) {
		for (i = 0; i < r.parts[k].nplans; i++)
			plan_free(r.parts[k].plans[i]);
		free(r.parts[k].plans);
	}
	if (rc != 0)
		for (h = 0; h < t->nhosts; h++) {
			plan_free(plans[h]);
			plans[h] = NULL;
		}
	free(sub);
	return rc;
}

/*
 * Loads every host's plan of the set of epoch (one entry per host, NULL
 * where none or unusable): from the set's brief, so that plans come back
 * brief (their ops without checksums: epoch_plans_running() reads whole
 * those still running, epoch_write() those it carries), or, where the set has no usable brief, each as
 * master_read_plan() reads it.  The array is the caller's (plans_free()).
 */
struct plan **
epoch_plans(const struct master *m, uint64_t epoch)
{
	const struct topology *t = m->topology;
	struct plan_reader r = { m, epoch, NULL };

	r.plans = xcalloc(t->nhosts ? t->nhosts : 1, sizeof(*r.plans));
	if (epoch != 0 && read_brief(m, epoch, r.plans) != 0)
		parallel_for(t->nhosts, read_plan, &r, NULL);
	return r.plans;
}

struct running_reader {
	struct plan_reader r;
	size_t		*hosts;
};

static void
read_running(void *arg, size_t i)
{
	struct running_reader *rr = arg;

	read_plan(&rr->r, rr->hosts[i]);
}

/*
 * Reads whole, from the set of epoch, every brief plan of old still
 * running at now (not expired, and no state reported on it), as
 * master_read_plan() reads it: the round charges what those plans
 * allocate, and the new set carries them.  One that cannot be read is
 * dropped (said), as when it was not read back: its host is planned
 * afresh.
 */
void
epoch_plans_running(const struct master *m, uint64_t epoch,
    struct plan **old, time_t now)
{
	const struct topology *t = m->topology;
	struct running_reader rr = { { m, epoch, old }, NULL };
	size_t h, n = 0;

	rr.hosts = xcalloc(t->nhosts ? t->nhosts : 1, sizeof(*rr.hosts));
	for (h = 0; h < t->nhosts; h++) {
		struct plan *p = old[h];

		if (p == NULL || !p->brief || p->expires <= now ||
		    (m->states[h] != NULL && m->states[h]->epoch >= p->epoch))
			continue;
		plan_free(p);
		old[h] = NULL;
		rr.hosts[n++] = h;
	}
	parallel_for(n, read_running, &rr, NULL);
	free(rr.hosts);
}

/* Frees an array of one plan per host. */
void
plans_free(const struct topology *t, struct plan **plans)
{
	size_t h;

	if (plans == NULL)
		return;
	for (h = 0; h < t->nhosts; h++)
		plan_free(plans[h]);
	free(plans);
}
