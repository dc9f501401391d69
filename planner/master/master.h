/*
 * master.h: the master directory (planner/master/): its inputs loaded and
 * verified, the ledger read and written and the failure accounting that
 * keeps it, what no round can move, the epoch set written, the master's
 * signing key.  Below the schedule: nothing here knows a round.
 */
#ifndef SLUICE_MASTER_H
#define SLUICE_MASTER_H

#include "topology.h"

/* Where sluice-plan run -k and keygen look for the master's key. */
#define MASTER_KEY_DEFAULT "/etc/sluice/master.key"

/* The most resources one route crosses. */
#define ROUTE_MAX 64

/* Bytes read from a file a host signs, as verified: the text and its
 * signature (NULL when the host has no key pinned). */
struct signed_text {
	char		*text;
	size_t		 len;
	char		*sig;
	size_t		 siglen;
};

/* A master directory loaded: inputs for one planning run. */
struct master {
	char		*dir;		/* the master directory */
	struct topology	 *topology;
	struct fileset	 *fileset;
	struct manifest	**manifests;	/* per file; NULL when missing */
	struct state	**states;	/* per host; NULL when none */
	struct signed_text *manifest_texts;	/* per file: the bytes of
					 * manifests[f], to keep */
	struct signed_text *state_texts;	/* per host: of states[h] */
	char		 *stale;	/* per host: its new state was unusable
					 * (broken, unsigned, not a regular
					 * file, older than the last counted):
					 * states[h] is the last verified one,
					 * or NULL */
	char		 *news;		/* per host: its state is new since
					 * the last run (not the one kept) */
	uint64_t	  set_epoch;	/* the set the last verified states
					 * and manifests came from; 0 none */
	int		  set_states;	/* master_load_set(): the set kept
					 * its states/ */
	const struct sshkey *master_pub;	/* checks the planner's own
					 * plans read back; NULL unsigned */
	size_t		  nerrors;	/* broken states and manifests seen */
};

struct ledger_count {
	char		*component;	/* host:H, site:S or link:L */
	unsigned	 count;		/* transient failures since a success */
	unsigned	 hard;		/* checksum, missing, auth, hostkey */
	uint64_t	 failed_epoch;	/* 0 when not failed */
	time_t		 failed_time;
	uint64_t	 retry_epoch;	/* when failed: tried again then */
	char		*reason;	/* the failure that reached the limit */
	char		*witness;	/* since it last worked: the first host
					 * that reported it failing */
	unsigned	 witnesses;	/* 1, or 2 for more than one */
	char		*culprit;	/* ... the first source it failed */
	unsigned	 culprits;	/* 1, or 2 for more than one */
	unsigned	 strikes;	/* times failed since a success */
	char		*entry;		/* when failed: its topology entry then */
};

struct ledger_report {
	char		*host;
	uint64_t	 epoch;		/* the state last counted */
	time_t		 time;
	char		*machine;	/* who wrote it; NULL: not said */
	char		*store;
};

struct ledger_capacity {
	char		*resource;
	double		 capacity;	/* bytes/s after reserved; -1 none */
};

struct ledger {
	uint64_t	 epoch;		/* the last run's epoch; 0 before */
	time_t		 issued;
	struct ledger_count *counts;
	size_t		 ncounts;
	struct ledger_report *reports;
	size_t		 nreports;
	struct ledger_capacity *picture;	/* the resource picture used */
	size_t		 npicture;
	char		**changes;	/* what changed since the run before */
	size_t		 nchanges;
	char		**stalled;	/* what no round could move, as said */
	size_t		 nstalled;
	char		*method;	/* what planned the last run */
	int		 probe;		/* its set was a probe (emit.c
					 * early_expiry()): the next is none */
};

/* Rounds a failed component stays out before it is tried again: on thin
 * evidence (transient failures seen by one host) at first, and at most. */
#define LEDGER_RETRY_THIN 3
#define LEDGER_RETRY_EPOCHS 20

/* ------------------------------------------------------------------ */
/* master.c: a master directory loaded, and its lock                   */

int	 master_load(const char *dir, struct master **, int verbose);
int	 master_load_files(const char *topology, const char *fileset,
	    struct master **);
void	 master_free(struct master *);
int	 master_load_set(const char *dir, uint64_t epoch, struct master **);
uint64_t master_current(const char *dir);
uint64_t master_link_epoch(const char *target);
int	 master_open_dir(const char *dir, const char *sub);
int	 master_read_plan(const struct master *, uint64_t epoch, size_t host,
	    struct plan **);
int	 state_older(const struct state *, const struct state *);
uint64_t master_length(const struct master *, size_t host, size_t file);
uint64_t master_target_length(const struct master *, size_t file);
const char *dir_argument(int argc, char **argv);
int	 master_from_args(int argc, char **argv, int need_fileset,
	    int *quiet, struct master **, int *from_dir);
int	 master_lock(const char *dir, int verbose);

/* ------------------------------------------------------------------ */
/* ledger.c: the ledger read, written and looked up                    */

int	 ledger_load(const char *path, struct ledger **, struct diag *);
int	 master_ledger(const char *dir, struct ledger **);
char	*ledger_format(const struct ledger *, size_t *len);
void	 ledger_free(struct ledger *);
struct ledger_count *ledger_component(struct ledger *, const char *,
	    int create);
struct ledger_report *ledger_report(struct ledger *, const char *host,
	    int create, size_t *next);
void	 ledger_add_change(struct ledger *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------ */
/* blame.c: the failure accounting, from the reports to the ledger     */

int	 ledger_failed(const struct ledger *, const char *component);
struct ledger_count *ledger_note(struct ledger *, const char *component,
	    const char *witness, const char *culprit);
void	 ledger_blame(struct ledger *, const char *component, uint64_t epoch,
	    time_t now, unsigned threshold, int hard, const char *reason);
void	 ledger_absolve(struct ledger *, const char *component);
void	 ledger_reset(struct ledger_count *, int strikes_too);
void	 ledger_update(struct ledger *, struct master *, struct plan **old,
	    uint64_t epoch, time_t now, char *changed);
void	 ledger_apply(const struct ledger *, const struct topology *,
	    char *source_ok, char *blocked);

/* ------------------------------------------------------------------ */
/* stall.c: what no round can move, and why                          */

struct stall {
	char		*key;		/* file and reason: kept by run */
	char		*line;		/* with the hosts it holds up */
};

struct stall *stalls_find(struct master *, struct ledger *, size_t *n);
void	 stalls_free(struct stall *, size_t n);
void	 stalls_note(struct master *, struct ledger *);


/* ------------------------------------------------------------------ */
/* epoch.c: the epoch set written, and its plans read back             */

int	 epoch_write(const char *dir, const struct master *,
	    struct plan **plans, struct plan **old, uint64_t was,
	    const struct ledger *, const struct sshkey *);
struct plan **epoch_plans(const struct master *, uint64_t epoch);
void	 epoch_plans_running(const struct master *, uint64_t epoch,
	    struct plan **old, time_t now);
void	 plans_free(const struct topology *, struct plan **);

/* ------------------------------------------------------------------ */
/* signing.c: the master's key, and what hosts sign                    */

int	 master_key(const char *path, struct sshkey *);
int	 read_signed(int dirfd, const char *where, const char *name,
	    size_t max, const struct host *, struct signed_text *,
	    struct diag *);
void	 signed_text_free(struct signed_text *);
const char *read_error_text(int err);
int	 master_key_required(const struct topology *, int signing);
size_t	 hosts_pinned(const struct topology *);

/* ------------------------------------------------------------------ */
/* parallel.c: a loop over indices on a few threads                    */

void	 parallel_for(size_t n, void (*fn)(void *, size_t), void *arg,
	    void (*done)(void));

#endif
