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

#include "planner.h"

/* How many earlier epochs' sets are kept beside the current one. */
#define KEEP_EPOCHS 3

/* ------------------------------------------------------------------ */
/* Writing the set                                                     */

/* Removes a set directory: its plans, its ledger, itself. */
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
	char *ledger = xasprintf("%s/ledger.yaml", dir);

	remove_files(plans);
	remove_files(states);
	unlink(ledger);
	rmdir(dir);
	free(plans);
	free(states);
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
	const char	 *dir;
	const char	 *setplans;
	const struct topology *t;
	struct plan	**plans;
	char		 *failed;	/* per host */
	const struct sshkey *key;	/* the master's, or NULL: unsigned */
};

/*
 * Writes host h's plan into the new set: its new plan formatted, or its
 * kept plan copied as it was.  The set is unseen until current points at
 * it: its files need to be made durable before that, not renamed.
 */
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

static void
write_plan(void *arg, size_t h)
{
	struct set_writer *w = arg;
	char *path = xasprintf("%s/%s.yaml", w->setplans, w->t->hosts[h].name);
	char *text = NULL, *sig, *sigpath;
	size_t len = 0, siglen;

	if (w->plans[h] != NULL) {
		if ((text = plan_format_bounded(w->plans[h], &len)) == NULL ||
		    write_new_file(path, text, len) != 0)
			w->failed[h] = 1;
	} else {
		char *oldpath = xasprintf("%s/plans/%s.yaml", w->dir,
		    w->t->hosts[h].name);

		if (read_file_at(AT_FDCWD, oldpath, 0, &text, &len) == 0 &&
		    write_new_file(path, text, len) != 0)
			w->failed[h] = 1;
		free(oldpath);
	}
	/* Signed in the same set: PLAN.yaml.sig beside it. */
	if (text != NULL && !w->failed[h] && w->key != NULL) {
		sigpath = xasprintf("%s.sig", path);
		if ((sig = sshsig_sign(w->key, text, len, &siglen)) == NULL) {
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

/*
 * Keeps, with the set, the states it was planned from (and their
 * signatures), so that verify checks plans against them at any later
 * moment: hard links to DIR/states/ (which agents replace by rename, so
 * the link keeps what was read), or copies where links are refused.
 */
static int
keep_states(const char *dir, const char *set, const struct topology *t)
{
	char *states = xasprintf("%s/states", set);
	size_t h;
	int k, rc = 0;

	if (mkdir(states, 0755) == -1 && errno != EEXIST) {
		warnx_("%s: %s", states, strerror(errno));
		free(states);
		return -1;
	}
	for (h = 0; h < t->nhosts && rc == 0; h++)
		for (k = 0; k < 2 && rc == 0; k++) {
			const char *ext = k ? ".yaml.sig" : ".yaml";
			char *from = xasprintf("%s/states/%s%s", dir,
			    t->hosts[h].name, ext);
			char *to = xasprintf("%s/%s%s", states,
			    t->hosts[h].name, ext);
			char *buf;
			size_t len;

			if (link(from, to) != 0 && errno != ENOENT &&
			    read_file_at(AT_FDCWD, from, 0, &buf, &len) == 0) {
				rc = write_new_file(to, buf, len);
				free(buf);
			}
			free(from);
			free(to);
		}
	if (rc == 0 && fsync_dir(states) == -1) {
		warnx_("%s: fsync: %s", states, strerror(errno));
		rc = -1;
	}
	free(states);
	return rc;
}

/*
 * Writes the new set: every new plan, every kept plan as it was, the
 * ledger; then switches MASTER_DIR/current to it.  Returns 0 or
 * EX_CANTCREAT, leaving the previous set in place.
 */
int
epoch_write(const char *dir, const struct topology *t, struct plan **plans,
    const struct ledger *l, const struct sshkey *key)
{
	char *epochs = xasprintf("%s/epochs", dir);
	char *set = xasprintf("%s/epochs/%" PRIu64, dir, l->epoch);
	char *setplans = xasprintf("%s/plans", set);
	char *target = xasprintf("epochs/%" PRIu64, l->epoch);
	char *buf = NULL, *path;
	struct set_writer w = { NULL, NULL, NULL, NULL, NULL, NULL };
	size_t len, h;
	int rc = EX_CANTCREAT;

	remove_set(set);
	if (mkdir_p(setplans, 0755) == -1) {
		warnx_("%s: %s", setplans, strerror(errno));
		goto out;
	}
	w.dir = dir;
	w.setplans = setplans;
	w.t = t;
	w.plans = plans;
	w.key = key;
	w.failed = xcalloc(t->nhosts ? t->nhosts : 1, 1);
	parallel_for(t->nhosts, write_plan, &w, NULL);
	for (h = 0; h < t->nhosts; h++)
		if (w.failed[h])
			goto out;
	if (keep_states(dir, set, t) != 0)
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
	free(w.failed);
	free(buf);
	free(epochs);
	free(set);
	free(setplans);
	free(target);
	return rc;
}

/* Loads every host's current plan (one entry per host, NULL where none;
 * a broken one counts as none and is reported).  The array is the
 * caller's (plans_free()). */
struct plan **
epoch_plans(const char *dir, const struct topology *t)
{
	struct plan **old = xcalloc(t->nhosts, sizeof(*old));
	struct diag d = { "" };
	size_t h;

	for (h = 0; h < t->nhosts; h++) {
		char *path = xasprintf("%s/plans/%s.yaml", dir,
		    t->hosts[h].name);
		int rc = plan_load(path, &old[h], &d);

		if (rc != 0 && rc != EX_NOINPUT)
			warnx_("%s (ignored)", d.msg);
		if (old[h] != NULL && strcmp(old[h]->host,
		    t->hosts[h].name) != 0) {
			plan_free(old[h]);
			old[h] = NULL;
		}
		free(path);
	}
	return old;
}

