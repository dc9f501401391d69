/*
 * sync.c: sluice-agent run and sync.  run executes one plan file; sync is
 * the cron entry: with a lock held, send new manifests (a generator), fetch
 * this host's plan from the master over SFTP, run it if it is new, and send
 * the new state back.  Writes on the master replace files so that a reader
 * always finds a whole copy (ssh_replace()).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "agent.h"

/* Parses and checks a plan's text; returns 0 or EX_DATAERR. */
static int
plan_from_text(const struct agent_config *c, const char *what,
    const char *buf, size_t len, struct plan **out)
{
	struct diag d = { "" };
	struct ynode *root;
	char why[512];
	int rc;

	*out = NULL;
	if ((rc = ydoc_parse(what, (const unsigned char *)buf, len, &root,
	    &d)) == 0) {
		rc = plan_parse(what, root, out, &d);
		ynode_free(root);
	}
	if (rc != 0) {
		fprintf(stderr, "%s\n", d.msg);
		return EX_DATAERR;
	}
	if (plan_check(*out, c, why, sizeof(why)) != 0) {
		warnx_("%s: refused: %s", what, why);
		plan_free(*out);
		*out = NULL;
		return EX_DATAERR;
	}
	return 0;
}

/*
 * Removes what the plan retires (versions the file set dropped, the
 * operator's grace over): only what a checked, and where a master key is
 * pinned signed, plan names.  Returns 0 or -1.
 */
static int
retire(struct store *s, const struct plan *p, int verbose)
{
	size_t i;
	int rc = 0, r;

	for (i = 0; i < p->nretire; i++) {
		if ((r = store_remove(s, p->retire[i].name,
		    p->retire[i].version)) < 0)
			rc = -1;
		else if (r > 0 && verbose)
			printf("%s@%" PRIu64 ": retired, removed\n",
			    p->retire[i].name, p->retire[i].version);
	}
	return rc;
}

/*
 * The most of a source's opening that a start counts: a handshake of a
 * few round trips on a WAN.  A source whose sshd keeps turning
 * connections away, or stalls its handshake, is that source's trouble:
 * counted whole, any peer could have the planner take this host for late
 * (over a second after the earliest start) and size every host's round
 * by it.  So a peer's sshd adds half a second at most to a host's
 * start (which may still take one that starts near that line past it).
 */
#define START_CONNECT_MOST 0.5

/* Runs a checked plan, its sources at shared's endpoint through that
 * session (NULL: none), its ops stopped lead seconds before it expires
 * where that is more than the plan's own margin (plan_execute()), and
 * records its epoch and failures. */
static int
execute(const struct agent_config *c, struct store *s, const struct plan *p,
    int verbose, const struct shared_ssh *shared, double lead)
{
	struct run_result res;
	char buf[32];
	int rc, n;

	struct timespec now;

	if (retire(s, p, verbose) != 0)
		return EX_IOERR;
	store_reserve(s);
	/* When this agent begins its plans, for the planner to place it
	 * in the relay trees and size the round (its state's start): when
	 * it began this one, and the longest one of its ops' sources took
	 * to reach, before which that op moved nothing, up to
	 * START_CONNECT_MOST.  Recorded after the run, as the epoch and
	 * the failures are, in the room the run held for them
	 * (store_reserve()); its failure is not the run's, for it is
	 * advice, not data. */
	clock_gettime(CLOCK_REALTIME, &now);
	rc = plan_execute(c, s, p, verbose, shared, lead, &res);
	n = snprintf(buf, sizeof(buf), "%.1f\n", fmin(86400, fmax(0,
	    difftime(now.tv_sec, p->issued) + (double)now.tv_nsec / 1e9 +
	    fmin(res.connect, START_CONNECT_MOST))));
	(void)store_write_record(s, "start", buf, (size_t)n);
	if (rc >= 0) {
		n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", p->epoch);
		if (store_write_record(s, "epoch", buf, (size_t)n) != 0)
			rc = -1;
	}
	if (store_append_failures(s, res.failures, res.nfailures) != 0)
		rc = -1;
	if (verbose)
		printf("epoch %" PRIu64 ": %zu ops done, %zu failed, %" PRIu64
		    " bytes verified\n", p->epoch, res.ops_done,
		    res.ops_failed, res.bytes);
	run_result_clear(&res);
	return rc < 0 ? EX_IOERR : rc > 0 ? EX_TEMPFAIL : 0;
}

/* sluice-agent run: execute one plan file and write the state locally. */
int
cmd_run_plan(const struct agent_config *c, const char *path, int verbose)
{
	struct store *s;
	struct plan *p;
	struct state *st;
	char *buf, *text, why[512];
	size_t len;
	int rc;

	if (read_file_max(AT_FDCWD, path, 0, PLAN_MAX_BYTES, &buf, &len) !=
	    0) {
		int err = errno;

		if (err == EFBIG)
			warnx_("%s: larger than %zu bytes: refused", path,
			    PLAN_MAX_BYTES);
		else
			warnx_("%s: %s", path, err == EINVAL ?
			    "not a regular file" : strerror(err));
		return err == EFBIG ? EX_DATAERR : EX_NOINPUT;
	}
	if (c->has_master_key) {
		char *sigpath = xasprintf("%s.sig", path), *sig = NULL;
		size_t siglen = 0;

		if (read_file_max(AT_FDCWD, sigpath, 0, 16384, &sig, &siglen) !=
		    0)
			sig = NULL;
		rc = plan_signature_check(c, path, buf, len, sig, siglen);
		free(sig);
		free(sigpath);
		if (rc != 0) {
			free(buf);
			return rc;
		}
	}
	rc = plan_from_text(c, path, buf, len, &p);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	if (plan_expired(p, time(NULL), why, sizeof(why)) != 0) {
		warnx_("%s: refused: %s", path, why);
		free(buf);
		plan_free(p);
		return EX_DATAERR;
	}
	if (store_open(c->root, &s) != 0) {
		free(buf);
		plan_free(p);
		return EX_IOERR;
	}
	if ((rc = store_claim(c, s)) != 0) {
		free(buf);
		plan_free(p);
		store_close(s);
		return rc;
	}
	store_write_meta(s, "plan.yaml", buf, len);
	free(buf);
	rc = execute(c, s, p, verbose, NULL, 0);
	if (agent_state(c, s, &st) == 0) {
		if ((text = state_format(st, &len)) == NULL ||
		    store_write_record(s, "state.yaml", text, len) != 0)
			rc = EX_IOERR;
		free(text);
		state_free(st);
	}
	plan_free(p);
	store_close(s);
	return rc;
}

/*
 * Replaces dir/name on the master, signed by key when there is one: the
 * signature (name.sig) first, then the text, each whole, the text's
 * requests sent with the signature's (ssh_replace_pair()).  The caller
 * holds the session's lock.
 */
static int
replace_signed(struct ssh *ssh, const char *dir, const char *name,
    const char *text, size_t len, const struct sshkey *key,
    struct ssh_error *e)
{
	const char *names[2];
	const void *bufs[2];
	size_t lens[2];
	char *sig, *signame;
	int rc;

	if (key == NULL)
		return ssh_replace(ssh, dir, name, text, len, e);
	if ((sig = sshsig_sign(key, text, len, &lens[0])) == NULL) {
		e->class = FAIL_IO;
		snprintf(e->detail, sizeof(e->detail), "%s: cannot sign",
		    name);
		return -1;
	}
	signame = xasprintf("%s.sig", name);
	names[0] = signame;
	names[1] = name;
	bufs[0] = sig;
	bufs[1] = text;
	lens[1] = len;
	rc = ssh_replace_pair(ssh, dir, names, bufs, lens, e);
	free(signame);
	free(sig);
	return rc;
}

/*
 * Whether the master's copy of manifest dir/name differs from the text
 * this generator sent, signed by key when there is one: the signature is
 * compared (Ed25519 signs the same text the same way), else the text.
 * A copy that cannot be read differs.  The caller holds the lock.
 */
static int
master_copy_differs(struct ssh *ssh, const char *dir, const char *name,
    const char *text, size_t len, const struct sshkey *key)
{
	struct ssh_error e;
	char *path, *want = NULL, *have = NULL;
	size_t wantlen = len, havelen = 0;
	int differs = 1;

	if (key != NULL) {
		path = xasprintf("%s/%s.sig", dir, name);
		if ((want = sshsig_sign(key, text, len, &wantlen)) == NULL) {
			free(path);
			return 1;
		}
		if (ssh_get(ssh, path, &have, &havelen, 16384, &e) == 0)
			differs = havelen != wantlen || memcmp(have, want,
			    wantlen) != 0;
		free(want);
	} else {
		path = xasprintf("%s/%s", dir, name);
		if (ssh_get(ssh, path, &have, &havelen, YAML_MAX_FILE, &e) == 0)
			differs = havelen != len || memcmp(have, text, len) != 0;
	}
	free(have);
	free(path);
	return differs;
}

/*
 * Sends every manifest that changed since it was last sent; with
 * check_master, also every one whose copy on the master is not what was
 * sent (replaced or removed there: the planner keeps what it verified
 * before, and this puts the generator's own back).
 */
static int
send_manifests(const struct agent_config *c, struct store *s,
    struct ssh *ssh, const struct sshkey *key, int check_master)
{
	DIR *d;
	struct dirent *e;
	int fd, rc = 0;
	char *dir = xasprintf("%s/manifests", c->master_dir);

	if ((fd = dup(s->meta_fd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		free(dir);
		return -1;
	}
	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name), len, sentlen, markedlen = 0;
		char *buf, *sent, *sentbuf = NULL, *remote, *mark, *marked;
		struct ssh_error err;

		if (n < 15 || e->d_name[0] == '.' ||
		    strcmp(e->d_name + n - 14, ".manifest.yaml") != 0)
			continue;
		if (store_read_meta(s, e->d_name, &buf, &len) != 0)
			continue;
		/* What was sent: the text, and the key that signed it (a
		 * manifest sent unsigned goes again once there is a key). */
		sent = xasprintf(".%s.sent", e->d_name);
		mark = key ? sshkey_format_public(key, NULL) : xstrdup("");
		marked = xasprintf("%.*s#%s", (int)len, buf, mark);
		markedlen = strlen(marked);
		free(mark);
		if (strlen(buf) != len) {
			free(marked);
			marked = NULL;
		}
		remote = xstrdup(e->d_name);
		strcpy(remote + n - 14, ".yaml");
		ssh_lock(ssh);
		if (marked != NULL &&
		    store_read_meta(s, sent, &sentbuf, &sentlen) == 0 &&
		    sentlen == markedlen && memcmp(marked, sentbuf,
		    markedlen) == 0) {
			if (!check_master || !master_copy_differs(ssh, dir,
			    remote, buf, len, key)) {
				ssh_unlock(ssh);
				free(marked);
				free(remote);
				free(buf);
				free(sentbuf);
				free(sent);
				continue;
			}
			warnx_("manifest %s: the master's copy is not the one "
			    "sent: sent again", remote);
		}
		free(sentbuf);
		if (replace_signed(ssh, dir, remote, buf, len, key, &err) !=
		    0) {
			warnx_("manifest %s: %s", remote, err.detail);
			rc = -1;
		} else if (marked != NULL)
			store_write_meta(s, sent, marked, markedlen);
		ssh_unlock(ssh);
		free(marked);
		free(remote);
		free(sent);
		free(buf);
	}
	closedir(d);
	free(dir);
	return rc;
}

/*
 * Connects to the master.  A refused or timed-out connection (a master
 * whose sshd is busy: MaxStartups) is tried again after 0.25 s, doubling
 * to 4 s, each with up to half as much again at random, until the
 * monotonic time until; authentication and host-key failures are not.
 */
static int
connect_master(const struct agent_config *c, struct ssh **ssh, double until,
    double *took)
{
	struct ssh_error e;
	double backoff = 0.25, t0;

	for (;;) {
		t0 = clock_mono();
		if (ssh_connect(c, c->master_address, c->master_port,
		    c->master_user, ssh, &e) == 0) {
			if (took != NULL)
				*took = clock_mono() - t0;
			return 0;
		}
		if ((e.class != FAIL_CONNECT && e.class != FAIL_TIMEOUT) ||
		    clock_mono() + backoff > until)
			break;
		sleep_until(clock_mono() + backoff * (1 + 0.5 * drand48()));
		if (backoff < 4)
			backoff *= 2;
	}
	warnx_("master: %s: %s", failure_class_name(e.class), e.detail);
	return -1;
}

/* This host's fixed share of the splay: its name hashed (FNV-1a) to a
 * fraction of it, so that a fleet spreads evenly and each host keeps its
 * place from round to round. */
double
splay_of(const struct agent_config *c)
{
	uint32_t h = 2166136261u;
	const unsigned char *p;

	for (p = (const unsigned char *)c->host; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return c->splay * ((double)h / 4294967296.0);
}

/* The last plan this host fetched, whose life (expires less issued) is
 * positive and at most an hour, or NULL. */
static struct plan *
last_plan(struct store *s)
{
	struct diag d = { "" };
	struct ynode *root;
	struct plan *p = NULL;
	char *buf;
	size_t len;

	if (store_read_meta(s, "plan.yaml", &buf, &len) != 0)
		return NULL;
	if (ydoc_parse("plan.yaml", (unsigned char *)buf, len, &root, &d) ==
	    0) {
		if (plan_parse("plan.yaml", root, &p, &d) == 0 &&
		    !(p->expires > p->issued && difftime(p->expires, p->issued)
		    <= 3600)) {
			plan_free(p);
			p = NULL;
		}
		ynode_free(root);
	}
	free(buf);
	return p;
}

/* The round of the last plan this host fetched, else a minute. */
static double
round_of(struct store *s)
{
	struct plan *p = last_plan(s);
	double round = p != NULL ? difftime(p->expires, p->issued) : 60;

	plan_free(p);
	return round;
}

/* When the next plan is due, on the monotonic clock: when the last plan
 * this host fetched expires; INFINITY when it has none. */
static double
next_due(struct store *s)
{
	struct plan *p = last_plan(s);
	double due = p != NULL ? clock_mono_of((double)p->expires) : INFINITY;

	plan_free(p);
	return due;
}

/* How long sync waits for a new plan: wait from AGENT.yaml, else the
 * round of the last plan it fetched (a minute when none) or the period,
 * whichever is longer: a plan that expired early (run --replan) is
 * followed by another within the period, not a round of its life. */
static double
wait_of(const struct agent_config *c, struct store *s)
{
	return c->wait >= 0 ? c->wait : fmax(round_of(s), c->period);
}

/*
 * What MASTER_DIR/current names, into target (size bytes): 0 when it names
 * an epoch's set, epochs/NUMBER; 1 when there is no current (the master
 * has never planned: target is ""); or a code with the reason said:
 * EX_UNAVAILABLE when the master cannot be read, EX_DATAERR when current
 * names anything else.
 */
static int
read_current(const struct agent_config *c, struct ssh *ssh, char *target,
    size_t size)
{
	struct ssh_error e;
	char *path = xasprintf("%s/current", c->master_dir);
	size_t n;
	int rc;

	/* One round trip where it is there; where it seems not to be,
	 * an lstat says whether it is missing or no link at all. */
	ssh_lock(ssh);
	if ((rc = ssh_read_hint(ssh, path, target, size, &e)) == 1)
		rc = ssh_readlink(ssh, path, target, size, &e);
	ssh_unlock(ssh);
	if (rc != 0) {
		target[0] = '\0';
		if (rc < 0)
			warnx_("master: %s", e.detail);
		free(path);
		return rc < 0 ? EX_UNAVAILABLE : 1;
	}
	n = strspn(target + 7, "0123456789");
	if (strncmp(target, "epochs/", 7) != 0 || n == 0 || n > 20 ||
	    target[7 + n] != '\0') {
		warnx_("master: %s names '%s', not epochs/NUMBER: refused", path,
		    target);
		target[0] = '\0';
		rc = EX_DATAERR;
	}
	free(path);
	return rc;
}

/*
 * Fetches this host's plan, and with master_key its signature, both from
 * the one epoch's set that current named (target, from read_current()),
 * never through links that a run may move between the two reads.
 * Returns 0 with *p (NULL when that set has none for this host), or a
 * code.
 */
static int
fetch_plan(const struct agent_config *c, struct store *s, struct ssh *ssh,
    const char *target, struct plan **p)
{
	struct ssh_error e[2];
	char *path = xasprintf("%s/%s/plans/%s.yaml", c->master_dir, target,
	    c->host);
	char *sigpath = xasprintf("%s.sig", path);
	const char *const paths[2] = { path, sigpath };
	const size_t max[2] = { PLAN_MAX_BYTES, 16384 };
	char *buf[2] = { NULL, NULL };
	size_t len[2] = { 0, 0 };
	int rc, grc[2] = { -1, -1 };

	*p = NULL;
	/* The plan and its signature together (ssh_get_pair()): a round
	 * trip of the master's is what a round waits for. */
	ssh_lock(ssh);
	if (c->has_master_key)
		ssh_get_pair(ssh, paths, max, buf, len, grc, e);
	else
		grc[0] = ssh_get(ssh, path, &buf[0], &len[0], max[0], &e[0]);
	ssh_unlock(ssh);
	if (grc[0] == 1) {
		rc = 0;
		goto out;
	}
	if (grc[0] != 0) {
		warnx_("master: plan: %s", e[0].detail);
		rc = EX_UNAVAILABLE;
		goto out;
	}
	if (c->has_master_key && (rc = plan_signature_check(c, path, buf[0],
	    len[0], grc[1] == 0 ? buf[1] : NULL, grc[1] == 0 ? len[1] : 0)) !=
	    0)
		goto out;
	rc = plan_from_text(c, path, buf[0], len[0], p);
	if (rc == 0)
		store_write_meta(s, "plan.yaml", buf[0], len[0]);
out:
	free(buf[0]);
	free(buf[1]);
	free(sigpath);
	free(path);
	return rc;
}

/* Sends the state; forgets the failures it carried once it is sent. */
static int
send_state(const struct agent_config *c, struct store *s, struct ssh *ssh,
    const struct sshkey *key)
{
	struct state *st;
	struct ssh_error e;
	char *text, *dir, *name;
	size_t len;
	int rc = 0;

	if (agent_state(c, s, &st) != 0)
		return EX_IOERR;
	text = state_format(st, &len);
	state_free(st);
	if (text == NULL)
		return EX_SOFTWARE;
	dir = xasprintf("%s/states", c->master_dir);
	name = xasprintf("%s.yaml", c->host);
	ssh_lock(ssh);
	if (replace_signed(ssh, dir, name, text, len, key, &e) != 0) {
		warnx_("master: state: %s", e.detail);
		rc = EX_UNAVAILABLE;
	}
	ssh_unlock(ssh);
	if (rc == 0 && store_clear_failures(s) != 0)
		rc = EX_IOERR;
	free(text);
	free(dir);
	free(name);
	return rc;
}

/*
 * How long a wait for a plan sleeps before it looks again, at monotonic
 * time now: poll seconds, a quarter more or less by u (from 0 to 1).  A
 * plan due at due (monotonic; NAN when not known) is looked for just
 * after that time, then ever less often (half the time since it was due,
 * 50 ms at least) until that is the poll: a plan issued a fraction of a
 * second after its time is begun within half that fraction more, and a
 * master that is late or down is asked no more often than before.
 */
double
poll_delay(double now, double due, double poll, double u)
{
	double jitter = 0.75 + 0.5 * u;

	if (isnan(due))
		return poll * jitter;
	if (now < due)
		return fmin(poll * jitter, due - now + POLL_MIN * jitter);
	return fmin(poll, fmax(POLL_MIN, (now - due) / 2)) * jitter;
}

/*
 * Fetches this host's plan and waits, on the open session, for one newer
 * than epoch done: polls what MASTER_DIR/current names every poll seconds
 * (a quarter more or less at random), from just after the plan in hand
 * expires more often (poll_delay()), and fetches the plan from the set
 * it names when it moves, until the monotonic time until or until what w
 * watches changes.  *planned is
 * set once current has been seen (the master has planned).
 * Returns 0 with *p the newest plan fetched (maybe still old), or a code.
 */
static int
wait_for_plan(const struct agent_config *c, struct store *s, struct ssh *ssh,
    const struct sshkey *key, const struct watch *w, uint64_t done,
    double until, double poll, struct plan **p, int *planned, int verbose)
{
	char seen[256], now[256];
	double now_mono, due, sent = clock_mono();
	int rc, waited = 0;

	plan_free(*p);
	*p = NULL;
	if ((rc = read_current(c, ssh, seen, sizeof(seen))) > 1)
		return rc;
	if (rc == 0) {
		*planned = 1;
		if ((rc = fetch_plan(c, s, ssh, seen, p)) != 0)
			return rc;
	}
	rc = 0;
	while ((*p == NULL || (*p)->epoch <= done) && clock_mono() < until) {
		int crc;

		if (!waited && verbose) {
			printf("waiting up to %.0fs for a plan after epoch "
			    "%" PRIu64 "\n", until - clock_mono(), done);
			fflush(stdout);
		}
		waited = 1;
		/* The plan in hand ends when the next is issued. */
		now_mono = clock_mono();
		due = *p != NULL ? clock_mono_of((double)(*p)->expires) : NAN;
		sleep_until(fmin(until, now_mono + poll_delay(now_mono, due,
		    poll, drand48())));
		if ((crc = read_current(c, ssh, now, sizeof(now))) > 1) {
			rc = crc;
			break;
		}
		/* What was published meanwhile goes to the master at once
		 * (within a poll: not at every look just after the due
		 * time, for each reads every manifest this host keeps). */
		if (clock_mono() - sent >= 0.75 * poll) {
			sent = clock_mono();
			if (send_manifests(c, s, ssh, key, 0) != 0) {
				rc = EX_UNAVAILABLE;
				break;
			}
		}
		/* A new configuration or program is taken by the next
		 * cron start: this one stops waiting. */
		if (watch_changed(w) != NULL)
			break;
		if (crc == 1 || strcmp(now, seen) == 0)
			continue;
		*planned = 1;
		strcpy(seen, now);
		plan_free(*p);
		*p = NULL;
		if ((rc = fetch_plan(c, s, ssh, seen, p)) != 0)
			break;
	}
	return rc;
}

/*
 * When the master has no plan for this host, whether its topology knows
 * the host at all: a config copied from another host, or a typo, must not
 * go on quietly.  Returns 0, or EX_CONFIG with the reason said.
 */
static int
check_known(const struct agent_config *c, struct ssh *ssh)
{
	struct ssh_error e;
	struct diag d = { "" };
	struct topology *t = NULL;
	struct ynode *root;
	char *plan = xasprintf("%s/plans/%s.yaml", c->master_dir, c->host);
	char *path = xasprintf("%s/topology.yaml", c->master_dir);
	char *buf = NULL;
	size_t len;
	int rc = 0, known = 1;

	ssh_lock(ssh);
	if (ssh_exists(ssh, plan, &e) == 0 &&
	    ssh_get(ssh, path, &buf, &len, YAML_MAX_FILE, &e) == 0 &&
	    ydoc_parse(path, (unsigned char *)buf, len, &root, &d) == 0) {
		if (topology_parse(path, root, &t, &d) == 0)
			known = topology_host(t, c->host) >= 0;
		ynode_free(root);
	}
	ssh_unlock(ssh);
	if (!known) {
		warnx_("%s: host '%s' is not in the master's %s: check 'host:' "
		    "(nothing sent)", c->path, c->host, path);
		rc = EX_CONFIG;
	}
	topology_free(t);
	free(buf);
	free(plan);
	free(path);
	return rc;
}

/*
 * Whether state st, written from another store, came from this machine
 * (its store made anew): by the machine ids when both sides have one,
 * else by the host names.  A cloned system keeps its host name and
 * often its machine id; a container that shares the host name has its
 * own; the store's id tells them apart from their original either way.
 */
static int
same_machine(const struct state *st, const char *machine, const char *mid)
{
	if (st->machine_id != NULL && mid != NULL)
		return strcmp(st->machine_id, mid) == 0 &&
		    strcmp(st->machine, machine) == 0;
	return strcmp(st->machine, machine) == 0 && st->machine_id == NULL &&
	    mid == NULL;
}

/*
 * Before anything is run or sent: whether the master's state for this
 * host name was written by another agent on another machine lately (three
 * rounds, a minute at least).  That is two hosts configured as one (a
 * copied AGENT.yaml): refused with EX_CONFIG, before either doubles the
 * other's traffic or overwrites its state.  A report that old, or one
 * from this machine (its store made anew), is taken over.  Only a state
 * this host's own key signed is believed (key: without one, none is), and
 * never one written in the future: anyone who can write states/ could
 * otherwise stop this host for good.
 */
static int
check_reporter(const struct agent_config *c, struct store *s,
    struct ssh *ssh, const struct sshkey *key, int verbose)
{
	struct ssh_error e[2];
	struct diag d = { "" };
	struct ynode *root;
	struct state *st = NULL;
	char *path = xasprintf("%s/states/%s.yaml", c->master_dir, c->host);
	char *sigpath = xasprintf("%s.sig", path);
	const char *const paths[2] = { path, sigpath };
	const size_t max[2] = { STATE_MAX_BYTES, 16384 };
	char *buf = NULL, *sig = NULL, *me = NULL, *machine = machine_name();
	char *mid = machine_id(), *got[2];
	const char *why = "";
	double age, fresh = fmax(60, 3 * round_of(s));
	size_t len, siglen, gotlen[2];
	int rc = 0, grc[2];

	if (key == NULL)
		goto out;
	ssh_lock(ssh);
	ssh_get_pair(ssh, paths, max, got, gotlen, grc, e);
	ssh_unlock(ssh);
	buf = got[0];
	sig = got[1];
	len = gotlen[0];
	siglen = gotlen[1];
	if (grc[0] == 0 && grc[1] == 0 &&
	    sshsig_verify(key, buf, len, sig, siglen, &why) == 0 &&
	    ydoc_parse(path, (unsigned char *)buf, len, &root, &d) == 0) {
		if (state_parse(path, root, &st, &d) != 0)
			st = NULL;
		ynode_free(root);
	}
	if (st == NULL || st->store == NULL || st->machine == NULL ||
	    (me = store_id(s)) == NULL || strcmp(st->store, me) == 0 ||
	    same_machine(st, machine, mid))
		goto out;
	age = difftime(time(NULL), st->time);
	if (age < 0) {
		if (verbose)
			printf("%s: written from machine %s %.0fs in the "
			    "future: not believed\n", path, st->machine, -age);
	} else if (age < fresh) {
		warnx_("%s: host '%s' reported from machine %s %.0fs ago, and "
		    "this is %s%s: a configuration copied from another host? "
		    "Check 'host:' (nothing done; if %s has moved here, this "
		    "agent takes over once that report is %.0fs old)", path,
		    c->host, st->machine, age, machine,
		    strcmp(st->machine, machine) == 0 ? " with another machine "
		    "id and another store (a cloned system?)" : "", c->host,
		    fresh);
		rc = EX_CONFIG;
	} else if (verbose)
		printf("%s: last written from machine %s, %.0fs ago: taken "
		    "over\n", path, st->machine, age);
out:
	state_free(st);
	free(buf);
	free(sig);
	free(me);
	free(machine);
	free(mid);
	free(sigpath);
	free(path);
	return rc;
}

/* What one sync holds while it runs. */
struct sync_run {
	const struct agent_config *c;
	struct store	*s;
	struct ssh	*ssh;		/* to the master; NULL between */
	struct plan	*p;		/* the last plan fetched */
	const struct sshkey *key;	/* signs what is sent; NULL none */
	uint64_t	 done;		/* the last epoch run or passed */
	double		 wait;		/* seconds a wait for a plan lasts */
	double		 until;		/* when the current wait ends */
	double		 poll;
	int		 ran;		/* a plan was run */
	int		 planned;	/* the master has planned */
	int		 verbose;
	double		 start;		/* when the lock was taken */
	double		 connect;	/* seconds the master took to reach,
					 * its last attempt */
	struct session_pool pool;	/* the sources' sessions the last
					 * plan's run left */
	struct watch	 w;		/* AGENT.yaml and the program */
};

/*
 * A state is sent between a plan's ops and its expiry, when the next
 * plan is made from it: sent later, that plan is made from the state
 * before, and gives this host again what it took in this round, or
 * takes it for silent and relays nothing through it.  Across a WAN the
 * sending takes round trips of the master's (a session made, then for
 * the state and its signature each an open, a write, an fsync, the close,
 * a rename and a removal together, and a rename, ssh_replace()): 0.7 s
 * at 20 ms a round trip and 2.3 s at 160 ms before they went together,
 * where a round of 10 s leaves it 0.25 s (PLAN_REPORT_MARGIN).
 * So the session is made again while the ops run, before they stop by
 * twice what the sync's first took and a tenth of a second, at most
 * PLAN_REPORT_SHARE of the plan's life; and the ops stop before the
 * expiry by what the last report took (REPORT_RECORD, from the ops' stop
 * to the state's rename, report_took(), which the state tells the
 * planner), as plan_report_stop() says.
 */
/* How long before p expires its ops stop for the state to be in by then
 * (plan_report_stop()). */
static double
report_lead(struct store *s, const struct plan *p)
{
	double took = 0;

	(void)store_read_seconds(s, REPORT_RECORD, &took);
	return plan_report_stop(difftime(p->expires, p->issued), took);
}

/*
 * What a report sent at the monotonic time sent took, as the next plan's
 * ops must leave it (report_lead()): from over, the ops' stop or their
 * end before it.  Where the master's session was made during the run
 * (head, the head start it was given before the stop, not NAN), what its
 * making took counts only beyond that head start, and the sending from
 * when it was ready (ready) or the ops were over, the later: ops that
 * ended early had it made at once, and the wait for it would otherwise
 * count, though the next plan's ops, running to their stop, leave it its
 * head start.  Where it was made late, or the ops ran to their stop, the
 * two agree.
 */
double
report_took(double over, double sent, double head, double took,
    double ready)
{
	if (isnan(head))
		return sent - over;
	return fmax(0, took - head) + sent - fmax(over, ready);
}

/* The master's session made again while a plan runs. */
struct reconnect {
	const struct agent_config *c;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	double		 at;		/* when to begin, monotonic */
	int		 now;		/* the run is over: at once */
	struct ssh	*ssh;		/* made, or NULL */
	double		 began, took;	/* when the connect began, and how
					 * long it took */
};

static void *
reconnect_thread(void *arg)
{
	struct reconnect *x = arg;
	struct timespec ts;

	pthread_mutex_lock(&x->lock);
	while (!x->now && clock_mono() < x->at) {
		clock_real_in(x->at - clock_mono(), &ts);
		pthread_cond_timedwait(&x->cond, &x->lock, &ts);
	}
	pthread_mutex_unlock(&x->lock);
	x->began = clock_mono();
	if (connect_master(x->c, &x->ssh, x->began + x->c->timeout,
	    NULL) != 0)
		x->ssh = NULL;
	x->took = clock_mono() - x->began;
	return NULL;
}

/* Begins making the master's session at the monotonic time at; 0, or -1
 * (it is made after the run, as it would be without). */
static int
reconnect_start(struct reconnect *x, pthread_t *thread,
    const struct agent_config *c, double at)
{
	memset(x, 0, sizeof(*x));
	x->c = c;
	x->at = at;
	pthread_cond_init(&x->cond, NULL);
	pthread_mutex_init(&x->lock, NULL);
	if (pthread_create(thread, NULL, reconnect_thread, x) != 0) {
		pthread_cond_destroy(&x->cond);
		pthread_mutex_destroy(&x->lock);
		return -1;
	}
	return 0;
}

/* The run is over: the session, made now if it was not begun. */
static struct ssh *
reconnect_finish(struct reconnect *x, pthread_t thread)
{
	pthread_mutex_lock(&x->lock);
	x->now = 1;
	pthread_cond_signal(&x->cond);
	pthread_mutex_unlock(&x->lock);
	pthread_join(thread, NULL);
	pthread_cond_destroy(&x->cond);
	pthread_mutex_destroy(&x->lock);
	return x->ssh;
}

/*
 * Takes ROOT/.sluice/lock, waiting for it until the monotonic time until
 * (store_lock()): a sync that cron starts while the last one runs the
 * last plan of its period takes over when that one leaves, and no
 * round's plan falls between them.  Returns 0 with *lock held (*waited 1
 * when another sync held it first), 1 when another sync still holds it
 * then (it is stuck: this one leaves, saying so with -v), or EX_IOERR,
 * said.
 */
static int
sync_lock(struct store *s, int verbose, double until, int *lock,
    int *waited)
{
	if ((*lock = store_lock(s, "lock", until, waited)) == -2)
		return EX_IOERR;
	if (*lock < 0) {
		if (verbose)
			printf("another sync is running\n");
		return 1;
	}
	return 0;
}

/* Whether an op of p reads from e's endpoint (a fallback, seldom taken,
 * does not count). */
static int
reads_from(const struct plan *p, const struct shared_ssh *e)
{
	size_t i;

	for (i = 0; i < p->nops; i++)
		if (at_endpoint(&p->ops[i].source, e))
			return 1;
	return 0;
}

/* Whether the master's session still answers, after a run held it. */
static int
master_alive(const struct agent_config *c, struct ssh *ssh)
{
	struct ssh_error e;
	int rc;

	ssh_lock(ssh);
	rc = ssh_exists(ssh, c->master_dir, &e);
	ssh_unlock(ssh);
	return rc > 0;
}

/*
 * Until when a sync whose period ends at end waits for a plan after one
 * that expires at due (monotonic seconds): to its period's end, and for
 * the plan issued at due when that comes within the period, grace
 * seconds past due (the planner's own time).  Without it a period ending
 * with a round would leave that round's plan to the next cron start,
 * which waits for this sync to leave, then connects, and begins the plan
 * that much late.
 */
double
sync_until(double end, double due, double grace)
{
	return due <= end ? fmax(end, due + grace) : end;
}

/*
 * Runs every new plan that comes while r waits: a plan that comes
 * expired is passed over, one that runs has its state sent back at once
 * and the next waited for, a round at most.  Returns rc, or the first
 * failure when rc is 0; a failure to reach the master ends it.
 */
static int
sync_plans(struct sync_run *r, int rc)
{
	const struct agent_config *c = r->c;
	struct shared_ssh shared;
	struct reconnect rec;
	pthread_t rec_thread;
	char why[512], buf[32];
	double lead, stop, over, head;
	int prc, n, reconnecting, fresh;

	const char *changed;

	for (;;) {
		prc = wait_for_plan(c, r->s, r->ssh, r->key, &r->w, r->done,
		    r->until, r->poll, &r->p, &r->planned, r->verbose);
		if (prc != 0 && rc == 0)
			rc = prc;
		if (prc != 0 || r->p == NULL || r->p->epoch <= r->done) {
			if (r->verbose && (changed = watch_changed(&r->w)) !=
			    NULL)
				printf("%s changed: leaving for the next "
				    "start to take it\n", changed);
			return rc;
		}
		/* Long expired, it is a clock that is off. */
		if (plan_expired(r->p, time(NULL), why, sizeof(why)) != 0) {
			if (r->verbose || difftime(time(NULL), r->p->expires) >
			    difftime(r->p->expires, r->p->issued))
				warnx_("%s", why);
			r->done = r->p->epoch;
			continue;
		}
		/* The master's session is not held through a run (a fleet's
		 * would pile up on its sshd), unless the plan reads from
		 * the master's own endpoint: then the run reads through it
		 * and it carries the report, one session where there would
		 * be two more. */
		shared.address = c->master_address;
		shared.port = c->master_port;
		shared.user = c->master_user;
		shared.ssh = reads_from(r->p, &shared) ? r->ssh : NULL;
		shared.pool = &r->pool;
		lead = report_lead(r->s, r->p);
		stop = clock_mono_of((double)r->p->expires) - lead;
		reconnecting = 0;
		head = NAN;
		/* A plan with no ops has nothing to hold the session
		 * through: its state goes at once on the one it has. */
		if (shared.ssh == NULL && r->p->nops > 0) {
			ssh_close(r->ssh);
			r->ssh = NULL;
			head = fmin(2 * r->connect + 0.1, PLAN_REPORT_SHARE *
			    difftime(r->p->expires, r->p->issued));
			reconnecting = reconnect_start(&rec, &rec_thread, c,
			    stop - head) == 0;
			if (!reconnecting)
				head = NAN;
		}
		prc = execute(c, r->s, r->p, r->verbose, &shared, lead);
		/* The ops stopped then, or ended before: the state waits
		 * from then on, for what the run writes after too. */
		over = fmin(clock_mono(), stop);
		if (prc != 0 && rc == 0)
			rc = prc;
		r->done = r->p->epoch;
		r->ran = 1;
		if (reconnecting) {
			r->ssh = reconnect_finish(&rec, rec_thread);
			if (r->ssh == NULL)
				head = NAN;
		/* After an op on it failed other than by an SFTP status (a
		 * timeout, say: it may hold a request still to be
		 * answered), or where it does not answer, a fresh one
		 * reports.  An op cut at the plan's expiry leaves it
		 * sound; a plan with no ops has just used it. */
		} else if (r->ssh != NULL && r->p->nops > 0 &&
		    (!ssh_reusable(r->ssh) || !master_alive(c, r->ssh))) {
			ssh_close(r->ssh);
			r->ssh = NULL;
		}
		fresh = r->ssh == NULL;
		if (fresh && connect_master(c, &r->ssh, clock_mono() +
		    c->timeout, NULL) != 0)
			return EX_UNAVAILABLE;
		if (send_manifests(c, r->s, r->ssh, r->key, 0) != 0 && rc == 0)
			rc = EX_UNAVAILABLE;
		prc = send_state(c, r->s, r->ssh, r->key);
		/* A session made during the run may have gone idle too
		 * long for a firewall on the way, and one kept from
		 * before may have died: once more, on a new one. */
		if (prc == EX_UNAVAILABLE && !fresh) {
			ssh_close(r->ssh);
			r->ssh = NULL;
			if (connect_master(c, &r->ssh, clock_mono() +
			    c->timeout, NULL) != 0)
				return EX_UNAVAILABLE;
			prc = send_state(c, r->s, r->ssh, r->key);
		}
		if (prc != 0)
			return rc == 0 ? prc : rc;
		/* What the next plan's ops leave it (report_lead()). */
		n = snprintf(buf, sizeof(buf), "%.3f\n", report_took(over,
		    clock_mono(), head, reconnecting ? rec.took : 0,
		    reconnecting ? rec.began + rec.took : 0));
		(void)store_write_meta(r->s, REPORT_RECORD, buf, (size_t)n);
		if ((changed = watch_changed(&r->w)) != NULL) {
			if (r->verbose)
				printf("%s changed: leaving for the next "
				    "start to take it\n", changed);
			return rc;
		}
		/* The grace is a quarter of the wait, the period and the
		 * plan's life: the plan it waits for expires a round after
		 * it is due, so a sync lives two periods and a round. */
		r->until = fmin(clock_mono() + r->wait, sync_until(r->start +
		    c->period, clock_mono_of((double)r->p->expires),
		    fmin(fmin(r->wait, c->period), difftime(r->p->expires,
		    r->p->issued)) / 4));
		if (clock_mono() >= r->until) {
			if (r->verbose)
				printf("period of %.0fs over: leaving the next "
				    "plan to the next start\n", c->period);
			return rc;
		}
	}
}

/*
 * When no plan ran: the manifests and state sent all the same.  Before
 * the master's first run there is nothing to wait for: not an error, and
 * cron mails nothing.  Returns rc, or the first failure when rc is 0.
 */
static int
sync_report(struct sync_run *r, int rc)
{
	int prc;

	if (r->verbose)
		printf(r->planned ? "no new plan\n" : "no plan yet: the "
		    "master has not planned\n");
	if (r->ssh == NULL && connect_master(r->c, &r->ssh, clock_mono() +
	    r->c->timeout, NULL) != 0)
		return EX_UNAVAILABLE;
	if (send_manifests(r->c, r->s, r->ssh, r->key, 0) != 0 && rc == 0)
		rc = EX_UNAVAILABLE;
	prc = send_state(r->c, r->s, r->ssh, r->key);
	if (prc != 0 && rc == 0)
		rc = prc;
	return rc;
}


/*
 * sluice-agent sync: the cron entry.  Runs every new plan that comes
 * while it waits, and ends when a wait sees none (with wait: 0s, after
 * one), so that a cron start that finds it running loses nothing.  It
 * takes plans for one period (cron's, period: in AGENT.yaml) from its
 * start and no longer, so that its errors reach cron's mail within about
 * two periods; and it leaves at once, after the plan it runs, when its
 * AGENT.yaml or its program changes, for the next start to take them.
 */
int
cmd_sync(const struct agent_config *c, int verbose)
{
	struct sync_run r;
	double start = clock_mono(), cron_start;
	struct sshkey signer;
	char *buf;
	size_t len;
	int lock = -1, rc = 0, signing, waited = 0;

	memset(&r, 0, sizeof(r));
	memset(&signer, 0, sizeof(signer));
	r.c = c;
	r.verbose = verbose;
	if (c->master_address == NULL) {
		warnx_("%s: no 'master' to sync with", c->path);
		rc = EX_CONFIG;
		goto out;
	}
	watch_start(&r.w, c->path);
	if (store_open(c->root, &r.s) != 0) {
		r.s = NULL;
		rc = EX_IOERR;
		goto out;
	}
	if ((rc = sync_lock(r.s, verbose, start + c->period, &lock,
	    &waited)) != 0) {
		if (rc == 1)
			rc = 0;
		goto out;
	}
	/* The period counts from the lock: a start that waited for the
	 * last sync to leave takes the plans of its own period. */
	cron_start = start;
	start = r.start = clock_mono();
	if ((rc = store_claim(c, r.s)) != 0 ||
	    (signing = agent_signer(c, &signer)) < 0) {
		rc = rc ? rc : EX_CONFIG;
		goto out;
	}
	r.key = signing ? &signer : NULL;
	srand48((long)getpid() ^ (long)time(NULL));
	if (store_read_meta(r.s, "epoch", &buf, &len) == 0) {
		r.done = strtoull(buf, NULL, 10);
		free(buf);
	}
	r.wait = wait_of(c, r.s);
	/* No wait outlives the period: the next cron start waits on. */
	r.until = start + fmin(r.wait, c->period);
	/* A new plan is seen within a sixtieth of the round (a second at
	 * most, 50 ms at least): what the round loses to waiting. */
	r.poll = fmin(1.0, fmax(POLL_MIN, r.wait / 60));
	/*
	 * The splay spreads a fleet's cron starts, so it counts from this
	 * one; and a start that waited for the last sync to leave, which
	 * ran the plans until then, connects at its place in the splay
	 * before the next plan is due, so that it does not begin that plan
	 * a splay late.
	 */
	if (c->splay > 0) {
		double at = cron_start + splay_of(c);

		sleep_until(waited ? fmin(at, next_due(r.s) - c->splay +
		    splay_of(c)) : at);
	}
	/* A busy master is tried again for the wait, the round or the
	 * timeout, whichever is longest: a fleet's sync may find its sshd
	 * saturated for a while. */
	if (connect_master(c, &r.ssh, start + fmax(fmax(r.wait, c->timeout),
	    round_of(r.s)), &r.connect) != 0) {
		rc = EX_UNAVAILABLE;
		goto out;
	}
	if ((rc = check_known(c, r.ssh)) != 0 ||
	    (rc = check_reporter(c, r.s, r.ssh, r.key, verbose)) != 0)
		goto out;
	if (send_manifests(c, r.s, r.ssh, r.key, 1) != 0)
		rc = EX_UNAVAILABLE;
	rc = sync_plans(&r, rc);
	if (!r.ran)
		rc = sync_report(&r, rc);
out:
	session_pool_clear(&r.pool);
	watch_free(&r.w);
	OPENSSL_cleanse(&signer, sizeof(signer));
	ssh_close(r.ssh);
	plan_free(r.p);
	if (lock >= 0)
		close(lock);
	store_close(r.s);
	return rc;
}
