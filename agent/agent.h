/*
 * agent.h: sluice-agent, the host side.  Everything the agent's files share.
 */
#ifndef SLUICE_AGENT_H
#define SLUICE_AGENT_H

#include <pthread.h>
#include <stdint.h>

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
};

int	 config_load(const char *path, struct agent_config **, struct diag *);
int	 config_parse(const char *path, const struct ynode *,
	    struct agent_config **, struct diag *);
void	 config_free(struct agent_config *);

/* store.c: the crash-safe store under ROOT/.sluice/ */

/* One file version held, or being filled. */
struct version {
	char		*name;
	uint64_t	 number;
	uint64_t	 length;	/* durable verified contiguous length */
	uint64_t	 size;		/* the whole file's size; 0 unknown */
	int		 data_fd;	/* -1 when closed */
	/* Blocks verified beyond length, not yet contiguous. */
	uint64_t	 block_size;
	unsigned char	*ahead;		/* bitmap from length's block on */
	size_t		 nahead;	/* bits */
	pthread_mutex_t	 lock;
};

struct store {
	char		*root;
	int		 root_fd;
	int		 meta_fd;	/* ROOT/.sluice */
};

int	 store_open(const char *root, struct store **);
void	 store_close(struct store *);
int	 store_version(struct store *, const char *name, uint64_t number,
	    struct version **);
void	 version_free(struct version *);
int	 version_set_size(struct store *, struct version *, uint64_t size);
int	 version_commit_block(struct store *, struct version *,
	    uint64_t offset, const unsigned char *data, size_t len);
int	 version_expose(struct store *, struct version *);
int	 store_list(struct store *, struct holding **, size_t *);
int	 store_retire(struct store *, const char *name, uint64_t keep);
char	*store_data_path(const char *root, const char *name, uint64_t number);
int	 store_write_meta(struct store *, const char *name, const void *,
	    size_t);
int	 store_read_meta(struct store *, const char *name, char **, size_t *);
int	 store_append_failures(struct store *, const struct failure *,
	    size_t n);
int	 store_load_failures(struct store *, struct state **);
int	 store_clear_failures(struct store *);

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
void	*ssh_open_read(struct ssh *, const char *path, uint64_t offset,
	    struct ssh_error *);
long	 ssh_read(struct ssh *, void *handle, void *buf, size_t len,
	    struct ssh_error *);
void	 ssh_close_file(struct ssh *, void *handle);
int	 ssh_get(struct ssh *, const char *path, char **buf, size_t *len,
	    size_t max, struct ssh_error *);
int	 ssh_put(struct ssh *, const char *path, const void *buf, size_t len,
	    struct ssh_error *);
int	 ssh_replace(struct ssh *, const char *dir, const char *name,
	    const void *buf, size_t len, struct ssh_error *);
int	 ssh_library_init(void);
void	 ssh_library_exit(void);

/* transfer.c: executing a plan */
struct run_result {
	uint64_t	 bytes;		/* verified this run */
	size_t		 ops_done;
	size_t		 ops_failed;
	struct failure	*failures;
	size_t		 nfailures;
};

int	 plan_check(const struct plan *, const struct agent_config *,
	    char *why, size_t whylen);
int	 plan_execute(const struct agent_config *, struct store *,
	    const struct plan *, int verbose, struct run_result *);
void	 run_result_clear(struct run_result *);

/* publish.c, state.c, sync.c */
int	 cmd_publish(const struct agent_config *, int argc, char **argv);
int	 agent_state(const struct agent_config *, struct store *,
	    struct state **);
int	 cmd_state(const struct agent_config *, int verbose);
int	 cmd_run_plan(const struct agent_config *, const char *plan_path,
	    int verbose);
int	 cmd_sync(const struct agent_config *, int verbose);

#endif
