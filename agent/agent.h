/*
 * agent.h: sluice-agent, the host side: what the agent's files share.  One
 * plan's run keeps its own structs in run.h.
 */
#ifndef SLUICE_AGENT_H
#define SLUICE_AGENT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "topology.h"

/* config.c: AGENT.yaml */
struct agent_config {
	char		*path;		/* where it was read from */
	char		*host;		/* this host's name */
	char		*root;		/* the data root */
	char		*master_address;
	unsigned	 master_port;
	char		*master_user;	/* NULL: the agent's own user */
	char		*master_dir;
	char		*identity;	/* private key; NULL: ssh-agent */
	char		*known_hosts;
	unsigned	 parallel;	/* ops at once */
	double		 timeout;	/* seconds: connect and I/O */
	double		 wait;		/* seconds sync waits for a new plan;
					 * < 0: the last plan's round */
	double		 splay;		/* seconds: bound of this host's fixed
					 * delay before sync connects */
	double		 period;	/* seconds: sync takes plans for this
					 * long from its start (cron's) */
	struct sshkey	 master_key;	/* what must sign plans, when pinned */
	int		 has_master_key;
	char		*signing_key;	/* this host's private key file */
	int		 signing_key_given;	/* named in AGENT.yaml */
	unsigned	 umask;		/* taken from a published file's mode
					 * when it is exposed */
};

int	 config_load(const char *path, struct agent_config **, struct diag *);
int	 config_parse(const char *path, const struct ynode *,
	    struct agent_config **, struct diag *);
void	 config_free(struct agent_config *);

/* watch.c: what sync started with, to leave when it changes */
struct watch {
	char		*config;	/* AGENT.yaml's path */
	char		*program;	/* this program's file; NULL unknown */
	struct timespec	 config_mtime, program_mtime;
	unsigned long long config_ino, program_ino;
	long long	 config_size, program_size;
	int		 has_config, has_program;
};

void	 watch_start(struct watch *, const char *config);
const char *watch_changed(const struct watch *);
void	 watch_free(struct watch *);

/* identity.c: this host's signing key, and the master's on plans */
int	 agent_signer(const struct agent_config *, struct sshkey *);
int	 identity_keygen(const struct agent_config *);
int	 plan_signature_check(const struct agent_config *, const char *what,
	    const char *text, size_t len, const char *sig, size_t siglen);

/* store.c: the crash-safe store under ROOT/.sluice/ */

/* A range of bytes, [start, end). */
struct span {
	uint64_t	 start;
	uint64_t	 end;
};

/* One file version held, or being filled. */
struct version {
	char		*name;
	uint64_t	 number;
	uint64_t	 length;	/* durable verified contiguous length */
	uint64_t	 verified;	/* verified contiguous length, durable
					 * or not yet (>= length) */
	uint64_t	 size;		/* the whole file's size; 0 unknown */
	int		 data_fd;	/* -1 when closed */
	int		 direct_fd;	/* the same, O_DIRECT; -1 none */
	uint64_t	 block_size;
	struct span	*ahead;		/* verified ranges beyond verified,
					 * sorted and apart */
	size_t		 nahead;
	size_t		 capahead;
	unsigned	 generation;	/* changes when unverified bytes are
					 * given back after a write error */
	pthread_mutex_t	 lock;		/* guards the fields above */
	pthread_mutex_t	 commit_lock;	/* one commit at a time */
	int		 hint_stuck;	/* its length's hint could be neither
					 * made nor removed (said once) */
};

/* What version_write() needs to bypass the page cache: offsets, lengths
 * and buffers aligned to it. */
#define STORE_ALIGN 4096

struct store {
	char		*root;
	int		 root_fd;
	int		 meta_fd;	/* ROOT/.sluice */
};

/* Room a run holds for its own records (store_reserve()). */
#define STORE_RESERVE	(256 * 1024)

int	 store_full(int err);
int	 store_open(const char *root, struct store **);
void	 store_close(struct store *);
void	 store_reserve(struct store *);
int	 store_version(struct store *, const char *name, uint64_t number,
	    struct version **);
void	 version_free(struct version *);
int	 version_set_size(struct store *, struct version *, uint64_t size);
int	 version_commit_block(struct store *, struct version *,
	    uint64_t offset, const unsigned char *data, size_t len);
unsigned version_generation(struct version *);
int	 version_write(struct store *, struct version *, uint64_t offset,
	    const void *data, size_t len, int direct);
int	 version_verified(struct version *, uint64_t offset, uint64_t len,
	    unsigned generation);
uint64_t version_verified_length(struct version *, uint64_t *durable);
uint64_t version_size(struct version *);
int	 version_commit(struct store *, struct version *);
unsigned version_mode(unsigned published, unsigned umask);
int	 version_expose(struct store *, struct version *, unsigned mode);
int	 store_list(struct store *, struct holding **, size_t *);
int	 store_retire(struct store *, const char *name, uint64_t keep);
int	 store_remove(struct store *, const char *name, uint64_t number);
char	*store_data_path(const char *root, const char *name, uint64_t number);
char	*store_len_path(const char *root, const char *name, uint64_t number);
char	*store_hint_path(const char *root, const char *name, uint64_t number);
int	 store_parse_len(const char *text, uint64_t *length);
char	*store_began_path(const char *root);
int	 store_lock(struct store *, const char *name, double until,
	    int *waited);
int	 store_mark_began(struct store *, uint64_t epoch, int ended);
int	 store_parse_began(const char *text, uint64_t *epoch, int *ended);
int	 store_write_meta(struct store *, const char *name, const void *,
	    size_t);
int	 store_write_record(struct store *, const char *name, const void *,
	    size_t);
int	 store_read_meta(struct store *, const char *name, char **, size_t *);
int	 store_read_seconds(struct store *, const char *name, double *);
/* ROOT/.sluice/report: how long the last state took to send (sync.c). */
#define REPORT_RECORD	"report"
int	 store_append_failures(struct store *, const struct failure *,
	    size_t n);
int	 store_load_failures(struct store *, struct state **);
int	 store_clear_failures(struct store *);

/* pace.c: holding a transfer to its rate */

/* What a relay's op gives up from a time on, unless its durable length
 * passed an offset before then (a plan's shed entry, on the monotonic
 * clock). */
struct pace_shed {
	double		 at;		/* from when it applies */
	double		 rate;		/* bytes/s given up */
	uint64_t	 offset;	/* ... unless the length passed it */
	double		 passed;	/* when it did, or no later; INFINITY:
					 * not yet */
};

struct pace {
	double		 rate;		/* bytes/s allocated */
	double		 cap;		/* at most this (a fallback's rate);
					 * INFINITY: none */
	struct pace_shed *shed;		/* owned; NULL: none */
	size_t		 nshed;
	double		 next;		/* when the next slot begins */
	double		 deadline;	/* no slot begins at or after it */
	double		 credit;	/* seconds the next slots may make
					 * up: time lost waiting on a relay
					 * source */
	double		 early;		/* slots may begin from then on, back
					 * to back, until they reach early_end
					 * (when the credit was taken);
					 * -INFINITY: none */
	double		 early_end;
	pthread_mutex_t	 lock;		/* guards the fields above */
};

void	 pace_credit(struct pace *, double seconds);
void	 pace_init(struct pace *, double rate, double deadline);
void	 pace_destroy(struct pace *);
int	 pace_take(struct pace *, size_t n);
void	 pace_shed(struct pace *, double at, double rate, uint64_t offset);
void	 pace_passed(struct pace *, uint64_t length);
void	 pace_running(struct pace *, double since);
void	 pace_cap(struct pace *, double rate);
double	 pace_rate(struct pace *, double when);

/* ssh.c: libssh2 sessions, strict host keys, SFTP */
struct ssh;

struct ssh_error {
	enum failure_class class;
	char		 detail[256];
};

int	 ssh_connect(const struct agent_config *, const char *address,
	    unsigned port, const char *user, struct ssh **,
	    struct ssh_error *);
void	 ssh_close(struct ssh *);
void	 ssh_lock(struct ssh *);
void	 ssh_unlock(struct ssh *);
struct ssh_file;

struct ssh_file *ssh_open_read(struct ssh *, const char *path,
	    uint64_t offset, struct ssh_error *);
void	 ssh_seek(struct ssh_file *, uint64_t offset);
long	 ssh_read(struct ssh *, struct ssh_file *, void *buf, size_t len,
	    struct ssh_error *);
int	 ssh_file_size(struct ssh *, struct ssh_file *, uint64_t *size,
	    struct ssh_error *);
void	 ssh_close_file(struct ssh *, struct ssh_file *);
int	 ssh_get(struct ssh *, const char *path, char **buf, size_t *len,
	    size_t max, struct ssh_error *);
int	 ssh_replace_pair(struct ssh *, const char *dir,
	    const char *const name[2], const void *const buf[2],
	    const size_t len[2], struct ssh_error *);
void	 ssh_get_pair(struct ssh *, const char *const path[2],
	    const size_t max[2], char *buf[2], size_t len[2], int rc[2],
	    struct ssh_error e[2]);
/* What ssh_ask() returns beside 0, 1 and -1. */
#define SSH_ASKING	2
#define SSH_ASK_NONE	3
#define SSH_ASK_QUEUED	4
int	 ssh_ask(struct ssh *, const void *owner, const char *hint,
	    const char *path, char **buf, size_t *len, struct ssh_error *);
void	 ssh_ask_drop(struct ssh *, const void *owner);
int	 ssh_exists(struct ssh *, const char *path, struct ssh_error *);
int	 ssh_reusable(struct ssh *);
int	 ssh_answers(struct ssh *, const char *path, double wait);
void	 ssh_abandon(struct ssh *);
int	 ssh_readlink(struct ssh *, const char *path, char *buf, size_t size,
	    struct ssh_error *);
int	 ssh_read_hint(struct ssh *, const char *path, char *buf, size_t size,
	    struct ssh_error *);
int	 ssh_put(struct ssh *, const char *path, const void *buf, size_t len,
	    struct ssh_error *);
int	 ssh_replace(struct ssh *, const char *dir, const char *name,
	    const void *buf, size_t len, struct ssh_error *);
int	 ssh_library_init(void);
void	 ssh_library_exit(void);

/* transfer.c: executing a plan (its private structs: run.h) */

struct run_result {
	uint64_t	 bytes;		/* verified this run */
	size_t		 ops_done;
	size_t		 ops_failed;
	struct failure	*failures;
	size_t		 nfailures;
	double		 connect;	/* the longest an op's own source
					 * took to reach where the run
					 * waited for it (struct source) */
};

int	 plan_check(const struct plan *, const struct agent_config *,
	    char *why, size_t whylen);
int	 plan_expired(const struct plan *, time_t now, char *why,
	    size_t whylen);
/* A session the caller holds to one endpoint (user NULL: this process's
 * user): the plan's sources there read through it, rather than open
 * another to the same sshd. */
struct shared_ssh {
	const char	*address;
	unsigned	 port;
	const char	*user;
	struct ssh	*ssh;
	struct session_pool *pool;	/* NULL: none */
};

/*
 * The sources' sessions one run leaves to the next of the same sync
 * (plan_execute()): one per endpoint, each still sound when its run
 * ended.  The next run takes those of its own sources and closes the
 * rest.
 */
struct pooled_ssh {
	char		*address;
	unsigned	 port;
	char		*user;		/* NULL: this process's user */
	struct ssh	*ssh;
};

struct session_pool {
	struct pooled_ssh *v;
	size_t		 n;
};

void	 session_pool_clear(struct session_pool *);

int	 at_endpoint(const struct plan_source *, const struct shared_ssh *);
int	 plan_execute(const struct agent_config *, struct store *,
	    const struct plan *, int verbose, const struct shared_ssh *,
	    double lead, struct run_result *);
void	 run_result_clear(struct run_result *);

/* publish.c: the generator's publishing */
int	 cmd_publish(const struct agent_config *, int argc, char **argv);

/* report.c: this host's state, and who makes it */
char	*store_id(struct store *);
int	 store_claim(const struct agent_config *, struct store *);
char	*machine_name(void);
char	*machine_id(void);
int	 root_free(const char *root, uint64_t *);
int	 agent_state(const struct agent_config *, struct store *,
	    struct state **);
int	 cmd_state(const struct agent_config *, int verbose);

/* sync.c: running one plan, and the cron sync */
int	 cmd_run_plan(const struct agent_config *, const char *plan_path,
	    int verbose);
int	 cmd_sync(const struct agent_config *, int verbose);
double	 splay_of(const struct agent_config *);
#define POLL_MIN 0.05		/* seconds: the least a wait for a plan polls */
double	 poll_delay(double now, double due, double poll, double u);
double	 sync_until(double end, double due, double grace);
double	 report_took(double over, double sent, double head, double took,
	    double ready);

#endif
