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

/* Removes the files of dir, then dir. */
static void
remove_files(const char *dir)
{
	DIR *d;
	struct dirent *e;

	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			char *p;

			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			p = xasprintf("%s/%s", dir, e->d_name);
			unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

static void
remove_set(const char *dir)
{
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

struct set_writer {
	const char	 *setplans;
	const struct topology *t;
	struct plan	**plans;	/* per host: new, or NULL */
	struct plan	**old;		/* per host: kept when no new one */
	char		 *failed;	/* per host */
	struct sshsig_signer *signer;	/* the master key's, or NULL:
					 * unsigned */
};

/*
 * Formats plan p no larger than what an agent reads.  When it is larger,
 * the plan is cut at a number of checksums that fits: the op at the cut
 * keeps its first whole blocks, the ops after it go, and so does every
 * range of a file version after one that went, so that what is kept still
 * tiles from where each version starts; the rest waits for the next
 * round.  Returns the text, or NULL.
 */
static char *
plan_format_bounded(struct plan *p, size_t *len)
{
	size_t was = p->nops, budget = 0, i, k, f;
	uint64_t *cut_from;
	char *text = plan_format(p, len);

	if (text == NULL || *len <= PLAN_MAX_BYTES)
		return text;
	cut_from = xcalloc(p->nfileset ? p->nfileset : 1, sizeof(*cut_from));
	for (i = 0; i < p->nops; i++)
		budget += p->ops[i].nblocks;
	while (text != NULL && *len > PLAN_MAX_BYTES && p->nops > 0) {
		free(text);
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
		text = plan_format(p, len);
	}
	free(cut_from);
	if (text != NULL)
		warnx_("plan for %s: cut to %zu ops (of %zu) and %zu checksums "
		    "to stay within %zu bytes; the rest waits for a later "
		    "round", p->host, p->nops, was, budget, PLAN_MAX_BYTES);
	return text;
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
	char *path, *text, *sig, *sigpath;
	size_t len = 0, siglen;

	if (p == NULL)
		return;
	path = xasprintf("%s/%s.yaml", w->setplans, w->t->hosts[h].name);
	if ((text = plan_format_bounded(p, &len)) == NULL ||
	    write_new_file(path, text, len) != 0)
		w->failed[h] = 1;
	if (text != NULL && !w->failed[h] && w->signer != NULL) {
		sigpath = xasprintf("%s.sig", path);
		if ((sig = sshsig_signer_sign(w->signer, text, len,
		    &siglen)) == NULL) {
			warnx_("%s: cannot sign", path);
			w->failed[h] = 1;
		} else if (write_new_file(sigpath, sig, siglen) != 0)
			w->failed[h] = 1;
		free(sig);
		free(sigpath);
	}
	free(text);
	free(path);
}

/* Writes a signed text as verified into dir: name and name.sig. */
static int
write_signed(const char *dir, const char *name, const struct signed_text *st)
{
	char *path = xasprintf("%s/%s", dir, name);
	char *sigpath = xasprintf("%s/%s.sig", dir, name);
	int rc = 0;

	if (st->text != NULL && write_new_file(path, st->text, st->len) != 0)
		rc = -1;
	if (rc == 0 && st->text != NULL && st->sig != NULL &&
	    write_new_file(sigpath, st->sig, st->siglen) != 0)
		rc = -1;
	free(path);
	free(sigpath);
	return rc;
}

struct state_keeper {
	const char	*dir;
	const struct master *m;
	char		*failed;	/* per host */
};

/* Writes host h's state as verified into the set (for parallel_for()). */
static void
keep_state(void *arg, size_t h)
{
	struct state_keeper *k = arg;
	char *name = xasprintf("%s.yaml", k->m->topology->hosts[h].name);

	k->failed[h] = write_signed(k->dir, name, &k->m->state_texts[h]) != 0;
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
keep_inputs(const char *set, const struct master *m)
{
	const struct topology *t = m->topology;
	const struct fileset *fs = m->fileset;
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
		struct state_keeper keeper = { dirs[0], m, NULL };

		keeper.failed = xcalloc(t->nhosts ? t->nhosts : 1, 1);
		parallel_for(t->nhosts, keep_state, &keeper, NULL);
		for (i = 0; i < t->nhosts && rc == 0; i++)
			rc = keeper.failed[i] ? -1 : 0;
		free(keeper.failed);
	}
	for (i = 0; i < fs->nfiles && rc == 0; i++) {
		char *esc = name_escape_file(fs->files[i].name,
		    fs->files[i].version);
		char *name = xasprintf("%s.yaml", esc);

		rc = write_signed(dirs[1], name, &m->manifest_texts[i]);
		free(name);
		free(esc);
	}
	for (k = 0; k < 2 && rc == 0; k++)
		if (fsync_dir(dirs[k]) == -1) {
			warnx_("%s: fsync: %s", dirs[k], strerror(errno));
			rc = -1;
		}
	free(dirs[0]);
	free(dirs[1]);
	return rc;
}

/*
 * Writes the new set: every new plan, every kept plan (old[h] where
 * plans[h] is NULL), the states and manifests planned from, the ledger;
 * then switches MASTER_DIR/current to it.  Returns 0 or EX_CANTCREAT,
 * leaving the previous set in place.
 */
int
epoch_write(const char *dir, const struct master *m, struct plan **plans,
    struct plan **old, const struct ledger *l, const struct sshkey *key)
{
	const struct topology *t = m->topology;
	char *epochs = xasprintf("%s/epochs", dir);
	char *set = xasprintf("%s/epochs/%" PRIu64, dir, l->epoch);
	char *setplans = xasprintf("%s/plans", set);
	char *target = xasprintf("epochs/%" PRIu64, l->epoch);
	char *buf = NULL, *path;
	struct set_writer w;
	size_t len, h;
	int rc = EX_CANTCREAT;

	memset(&w, 0, sizeof(w));
	remove_set(set);
	if (mkdir_p(setplans, 0755) == -1) {
		warnx_("%s: %s", setplans, strerror(errno));
		goto out;
	}
	w.setplans = setplans;
	w.t = t;
	w.plans = plans;
	w.old = old;
	w.failed = xcalloc(t->nhosts ? t->nhosts : 1, 1);
	if (key != NULL && (w.signer = sshsig_signer_new(key)) == NULL) {
		warnx_("%s: cannot make the signing key", setplans);
		goto out;
	}
	parallel_for(t->nhosts, write_plan, &w, NULL);
	for (h = 0; h < t->nhosts; h++)
		if (w.failed[h])
			goto out;
	if (keep_inputs(set, m) != 0)
		goto out;
	if ((buf = ledger_format(l, &len)) == NULL) {
		warnx_("cannot format the ledger");
		goto out;
	}
	path = xasprintf("%s/ledger.yaml", set);
	if (write_new_file(path, buf, len) != 0) {
		free(path);
		goto out;
	}
	free(path);
	if (sync_new_files(setplans) != 0 || sync_new_files(set) != 0)
		goto out;
	if (fsync_dir(setplans) == -1 || fsync_dir(set) == -1 ||
	    fsync_dir(epochs) == -1) {
		warnx_("%s: fsync: %s", set, strerror(errno));
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

		remove_set(oldset);
		free(oldset);
	}
	rc = 0;
out:
	sshsig_signer_free(w.signer);
	free(w.failed);
	free(buf);
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

/*
 * Loads every host's plan of the set of epoch, as master_read_plan()
 * reads it back (one entry per host, NULL where none or unusable).  The
 * array is the caller's (plans_free()).
 */
struct plan **
epoch_plans(const struct master *m, uint64_t epoch)
{
	const struct topology *t = m->topology;
	struct plan_reader r = { m, epoch, NULL };

	r.plans = xcalloc(t->nhosts ? t->nhosts : 1, sizeof(*r.plans));
	if (epoch != 0)
		parallel_for(t->nhosts, read_plan, &r, NULL);
	return r.plans;
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
