/*
 * topology.h: the model shared by sluice-plan and sluice-agent.
 *
 * Units, names, the topology (sites, hosts, links, resources, routes),
 * the file set, manifests, states and plans, with their YAML readers and
 * writers.  Every reader reports its first error as FILE:LINE:COLUMN in a
 * struct diag and returns a sysexits.h code; every writer writes a whole
 * file atomically.
 */
#ifndef SLUICE_TOPOLOGY_H
#define SLUICE_TOPOLOGY_H

#include <sys/types.h>

#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A capacity that is not limited. */
#define CAP_UNLIMITED (-1.0)

/* Readers refuse files larger than this many bytes. */
#define YAML_MAX_FILE ((size_t)256 << 20)
/* The largest plan: the planner writes none larger, the agent reads none
 * larger. */
#define PLAN_MAX_BYTES ((size_t)16 << 20)
/* The largest state (100,000 file versions take 4 MiB). */
#define STATE_MAX_BYTES ((size_t)32 << 20)
/* Readers refuse documents of more nodes (a state of 100,000 files has
 * 700,000; a manifest of 1 TiB in 4 MiB blocks 262,000), and values
 * longer than this. */
#define YAML_MAX_NODES 4000000
#define YAML_MAX_SCALAR 65536
/* Readers refuse collections nested deeper than this. */
#define YAML_MAX_DEPTH 32

/* Where a reader's first error goes, already formatted. */
struct diag {
	char msg[1024];		/* "FILE:LINE:COLUMN: message", or "" */
};

/* ------------------------------------------------------------------ */
/* ynode.c: a YAML document as a tree, with positions                  */

enum ynode_kind { YNODE_SCALAR, YNODE_SEQUENCE, YNODE_MAPPING };

struct ychunk;

struct ynode {
	enum ynode_kind	  kind;
	unsigned	  line;	  /* 1-based position of the node's start */
	unsigned	  column; /* 1-based */
	int		  plain;  /* scalar: written without quotes */
	char		 *text;	  /* scalar: NUL-terminated value */
	size_t		  len;	  /* scalar: length of text (may hold NULs) */
	struct ynode	**kids;	  /* sequence: items; mapping: key, value, ... */
	size_t		  nkids;
	struct ychunk	 *arena;  /* a document's top node: the memory its
				   * whole tree is in (ynode_free()) */
};

/* One reader's context: the file name for messages and the error. */
struct yctx {
	const char	*path;
	struct diag	*diag;
};

int	 ydoc_parse(const char *path, const unsigned char *buf, size_t len,
	    struct ynode **root, struct diag *);
int	 ydoc_parse_each(const char *path, const unsigned char *buf,
	    size_t len, int (*each)(void *, struct ynode *), void *arg,
	    struct diag *);
int	 ydoc_load(const char *path, struct ynode **root, struct diag *);
int	 ydoc_load_max(const char *path, size_t max, struct ynode **root,
	    struct diag *);
void	 ynode_free(struct ynode *);
size_t	 ynode_bytes(const struct ynode *);
int	 yerr(struct yctx *, const struct ynode *, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	 ymap_check(struct yctx *, const struct ynode *, const char *what,
	    const char *const *keys);
struct ynode *ymap_get(const struct ynode *, const char *key);
int	 yseq_check(struct yctx *, const struct ynode *, const char *what);
int	 yscalar_check(struct yctx *, const struct ynode *, const char *what);
int	 yget_string(struct yctx *, const struct ynode *, const char *what,
	    char **out);
int	 yget_u64(struct yctx *, const struct ynode *, const char *what,
	    uint64_t *out);
int	 yget_number(struct yctx *, const struct ynode *, const char *what,
	    double *out);
int	 yget_bool(struct yctx *, const struct ynode *, const char *what,
	    int *out);
int	 yget_time(struct yctx *, const struct ynode *, const char *what,
	    time_t *out);
int	 yget_name(struct yctx *, const struct ynode *, const char *what,
	    char **out);
int	 yget_path(struct yctx *, const struct ynode *, const char *what,
	    char **out);
int	 yget_port(struct yctx *, const struct ynode *, unsigned *out);
int	 yget_mode(struct yctx *, const struct ynode *, const char *what,
	    unsigned *out);
int	 yget_bandwidth(struct yctx *, const struct ynode *, const char *what,
	    double *out);
int	 yget_size(struct yctx *, const struct ynode *, const char *what,
	    uint64_t *out);
int	 yget_duration(struct yctx *, const struct ynode *, const char *what,
	    double *out);
int	 yget_digest(struct yctx *, const struct ynode *, const char *what,
	    unsigned char out[32]);
int	 yreq(struct yctx *, const struct ynode *map, const char *owner,
	    const char *key, const struct ynode **out);
#define YKEY_PROTOTYPES(kind, type)					\
int	 yreq_##kind(struct yctx *, const struct ynode *map,		\
	    const char *owner, const char *key, type out);		\
int	 yopt_##kind(struct yctx *, const struct ynode *map,		\
	    const char *key, type out);
YKEY_PROTOTYPES(string, char **)
YKEY_PROTOTYPES(name, char **)
YKEY_PROTOTYPES(path, char **)
YKEY_PROTOTYPES(u64, uint64_t *)
YKEY_PROTOTYPES(number, double *)
YKEY_PROTOTYPES(bool, int *)
YKEY_PROTOTYPES(time, time_t *)
YKEY_PROTOTYPES(bandwidth, double *)
YKEY_PROTOTYPES(size, uint64_t *)
YKEY_PROTOTYPES(duration, double *)
YKEY_PROTOTYPES(mode, unsigned *)

/* ------------------------------------------------------------------ */
/* yout.c: writing YAML with libyaml's emitter into memory             */

struct yout;

struct yout *yout_new(void);
void	 yout_map(struct yout *, int flow);
void	 yout_seq(struct yout *, int flow);
void	 yout_end_map(struct yout *);
void	 yout_end_seq(struct yout *);
void	 yout_str(struct yout *, const char *);
void	 yout_quoted(struct yout *, const char *);
void	 yout_u64(struct yout *, uint64_t);
void	 yout_number(struct yout *, double);
void	 yout_bool(struct yout *, int);
void	 yout_time(struct yout *, time_t);
void	 yout_digest(struct yout *, const unsigned char[32]);
void	 yout_key_digests(struct yout *, const char *key,
	    const unsigned char (*)[32], size_t);
size_t	 yout_mark(struct yout *);
void	 yout_key_str(struct yout *, const char *key, const char *);
void	 yout_key_u64(struct yout *, const char *key, uint64_t);
void	 yout_key_mode(struct yout *, const char *key, unsigned mode);
char	*yout_finish(struct yout *, size_t *len);

/* ------------------------------------------------------------------ */
/* units.c                                                             */

int	 unit_bandwidth(const char *, double *bytes_per_second,
	    const char **why);
int	 unit_size(const char *, uint64_t *bytes, const char **why);
int	 unit_duration(const char *, double *seconds, const char **why);
void	 unit_format_size(char *, size_t, double bytes);
void	 unit_format_bandwidth(char *, size_t, double bytes_per_second);
int	 time_parse(const char *, time_t *);
void	 time_format(char *, size_t, time_t);
double	 clock_mono(void);
double	 clock_mono_of(double wall);
void	 clock_real_in(double seconds, struct timespec *);
void	 sleep_until(double when);

/* ------------------------------------------------------------------ */
/* names.c                                                             */

int	 name_valid_path(const char *, const char **why);
int	 name_valid_file(const char *, const char **why);
int	 name_char(int ch);
int	 name_valid_label(const char *, const char **why);
int	 name_valid_op_id(const char *, const char **why);
char	*name_escape_file(const char *name, uint64_t version);
int	 name_parse_file(const char *fn, const char *suffix, char **name,
	    uint64_t *version);
void	 digest_hex(const unsigned char[32], char[65]);

/* ------------------------------------------------------------------ */
/* topology.c: sites, hosts, links, resources and routes               */

struct sshkey {
	unsigned char	 pub[32];
	unsigned char	 seed[32];	/* the private half, when has_private */
	int		 has_private;
};

struct host {
	char		*name;
	size_t		 site;		/* index into topology.sites */
	char		*address;
	unsigned	 port;
	char		*user;		/* NULL: the agent's own user */
	char		*root;
	double		 nic_in;	/* bytes/s, or CAP_UNLIMITED */
	double		 nic_out;
	struct sshkey	 key;		/* what signs its state and manifests */
	int		 has_key;	/* 0: none pinned, files unsigned */
};

struct site {
	char		*name;
	char		*partition;	/* NULL when none given */
	long		 part;		/* index into topology.partitions, or
					 * -1 when none given */
	double		 uplink;	/* bytes/s, or CAP_UNLIMITED */
	double		 downlink;
	size_t		*hosts;		/* indexes into topology.hosts */
	size_t		 nhosts;
};

struct link {
	char		*name;
	size_t		 a, b;		/* site indexes, as written */
	double		 capacity;	/* per direction, or CAP_UNLIMITED */
	double		 reserved;	/* bytes/s used by other traffic */
	double		 latency;	/* seconds */
};

enum resource_kind {
	RES_HOST_OUT, RES_HOST_IN, RES_SITE_UP, RES_SITE_DOWN, RES_LINK
};

/* Resource indexes: host h out 2h, in 2h+1; then sites; then links. */
struct resource {
	char		*id;		/* "host:H:out", "link:L:A>B", ... */
	enum resource_kind kind;
	size_t		 owner;		/* host, site or link index */
	double		 capacity;	/* minus reserved; or CAP_UNLIMITED */
};

struct topology {
	double		 round;		/* seconds */
	uint64_t	 block_size;
	unsigned	 failure_threshold;
	double		 retire_after;	/* seconds after a version leaves
					 * the file set that hosts remove it;
					 * 0: never */
	struct site	*sites;
	size_t		 nsites;
	struct host	*hosts;
	size_t		 nhosts;
	struct link	*links;
	size_t		 nlinks;
	struct resource	*resources;
	size_t		 nresources;
	const char	**partitions;	/* distinct partition names, in order
					 * of first use (the sites own them) */
	size_t		 npartitions;
	size_t		*host_order;	/* host indexes sorted by name */
	size_t		*site_order;
	size_t		*resource_order;
	int		**route_pred;	/* per source site, lazily: link res */
};

int	 topology_load(const char *path, struct topology **, struct diag *);
int	 topology_parse(const char *path, const struct ynode *,
	    struct topology **, struct diag *);
void	 topology_free(struct topology *);
long	 topology_host(const struct topology *, const char *name);
long	 topology_site(const struct topology *, const char *name);
long	 topology_link(const struct topology *, const char *name);
long	 topology_resource(const struct topology *, const char *id);
size_t	 res_host_out(size_t host);
size_t	 res_host_in(size_t host);
size_t	 res_site_up(const struct topology *, size_t site);
size_t	 res_site_down(const struct topology *, size_t site);
size_t	 res_link(const struct topology *, size_t link, int reverse);
int	 route_sites(struct topology *, size_t from, size_t to,
	    size_t *links, size_t max);
int	 route_resources(struct topology *, size_t src, size_t dst,
	    size_t *res, size_t max);
double	 route_latency(struct topology *, size_t src, size_t dst);
double	 site_latency(struct topology *, size_t from, size_t to);
int	 route_hops(struct topology *, size_t src, size_t dst);

/* ------------------------------------------------------------------ */
/* fileset.c                                                           */

struct target {
	int		 is_site;	/* 1: site:S, 0: host:H */
	size_t		 index;
};

struct file {
	char		*name;
	uint64_t	 version;
	size_t		 generator;	/* host index */
	long		 priority;
	int		 all;		/* targets: all */
	struct target	*targets;
	size_t		 ntargets;
	uint64_t	 size;		/* 0 when not given */
	int		 has_size;
};

struct fileset {
	struct file	*files;
	size_t		 nfiles;
};

int	 fileset_load(const char *path, const struct topology *,
	    struct fileset **, struct diag *);
int	 fileset_parse(const char *path, const struct ynode *,
	    const struct topology *, struct fileset **, struct diag *);
void	 fileset_free(struct fileset *);
long	 fileset_find(const struct fileset *, const char *name);
int	 fileset_targets(const struct topology *, const struct file *,
	    size_t host);

/* ------------------------------------------------------------------ */
/* manifest.c                                                          */

/* A file's permission bits not said (files published before modes were). */
#define MODE_UNKNOWN	010000u

struct manifest {
	char		*file;
	uint64_t	 version;
	unsigned	 mode;		/* as published; MODE_UNKNOWN */
	uint64_t	 block_size;
	uint64_t	 length;
	int		 final;
	unsigned char	(*blocks)[32];
	size_t		 nblocks;
};

int	 manifest_load(const char *path, struct manifest **, struct diag *);
int	 manifest_parse(const char *path, const struct ynode *,
	    struct manifest **, struct diag *);
int	 manifest_write(const char *path, const struct manifest *);
char	*manifest_format(const struct manifest *, size_t *len);
void	 manifest_free(struct manifest *);
int	 manifest_continues(const struct manifest *,
	    const struct manifest *, size_t *block);

/* ------------------------------------------------------------------ */
/* state.c                                                             */

enum failure_class {
	FAIL_CONNECT, FAIL_AUTH, FAIL_HOSTKEY, FAIL_TIMEOUT, FAIL_IO,
	FAIL_CHECKSUM, FAIL_MISSING, FAIL_DEADLINE, FAIL_NOSPACE,
	FAIL_NCLASSES
};

struct holding {
	char		*name;
	uint64_t	 version;
	uint64_t	 length;
};

struct failure {
	char		*op;
	char		*source;
	char		**components;
	size_t		 ncomponents;
	enum failure_class class;
	char		*detail;
};

struct state {
	char		*host;
	uint64_t	 epoch;
	time_t		 time;
	char		*machine;	/* reporter: the system's host name */
	char		*store;		/* reporter: its store's id; NULL */
	char		*machine_id;	/* reporter: /etc/machine-id; NULL */
	uint64_t	 free;		/* bytes free to the agent in its root */
	int		 has_free;	/* free was reported */
	double		 start;		/* seconds after a plan's issue its
					 * agent begins it: as it began its
					 * last, or its place in the splay */
	int		 has_start;	/* start was reported */
	double		 report;	/* seconds its last state took to
					 * send, from its ops' stop */
	int		 has_report;	/* report was reported */
	struct holding	*files;
	size_t		 nfiles;
	struct failure	*failures;
	size_t		 nfailures;
};

const char *failure_class_name(enum failure_class);
void	 failure_clear(struct failure *);
int	 failure_class_parse(const char *, enum failure_class *);
int	 state_load(const char *path, struct state **, struct diag *);
int	 state_parse(const char *path, const struct ynode *, struct state **,
	    struct diag *);
int	 state_write(const char *path, const struct state *);
char	*state_format(const struct state *, size_t *len);
void	 state_free(struct state *);
uint64_t state_length(const struct state *, const char *name,
	    uint64_t version);

/* ------------------------------------------------------------------ */
/* plan.c                                                              */

struct plan_source {
	char		*host;
	char		*address;
	unsigned	 port;
	char		*user;		/* may be NULL */
	char		*root;
};

/*
 * A second source for an op whose source relays the range (receives it
 * in the same epoch): taken, for the whole op, only when at after seconds
 * past the plan's issue or later the op has received nothing and the
 * source's verified length, read then, does not pass the op's offset.
 * Its capacity is what that frees: the op's own route, and what the
 * source's own op from the fallback host gives up (its shed entry).
 */
struct op_fallback {
	struct plan_source source;
	double		 after;		/* seconds past the plan's issue */
	double		 rate;		/* bytes/s, at most the op's */
	char		**resources;	/* the route from source.host */
	size_t		 nresources;
};

/* The most shed entries an op may carry. */
#define OP_MAX_SHED 128

/*
 * What a relay's op gives up for one fallback of a host it feeds: unless
 * this host's verified length of the file passed offset, or its agent
 * said that it runs this plan (ROOT/.sluice/began), before at seconds
 * past the plan's issue, the op runs rate bytes/s slower from then on.
 */
struct op_shed {
	char		*host;		/* the host that may fall back */
	double		 at;		/* seconds past the plan's issue */
	uint64_t	 offset;
	double		 rate;
};

struct op {
	char		*id;
	char		*file;
	uint64_t	 version;
	uint64_t	 offset;
	uint64_t	 length;
	uint64_t	 block_size;	/* 0 when the plan does not say */
	struct plan_source source;
	double		 rate;		/* bytes/s */
	char		**resources;
	size_t		 nresources;
	unsigned char	(*blocks)[32];
	size_t		 nblocks;
	int		 blocks_borrowed; /* blocks point into a manifest
					 * that outlives the op: not freed */
	size_t		*res_index;	/* the planner's: resources as the
					 * topology's indices; NULL until
					 * resolved (op_resources()) */
	size_t		 nres_index;
	struct op_fallback *fallback;	/* NULL: none */
	struct op_shed	*shed;
	size_t		 nshed;
};

struct fileref {
	char		*name;
	uint64_t	 version;
	uint64_t	 size;		/* the whole file's size; 0 unknown */
	unsigned	 mode;		/* as published; MODE_UNKNOWN */
};

/*
 * Ops end this much before their plan expires (a fortieth of the plan's
 * life, expires less issued, a second at most), so that the state they
 * leave reaches the master before the next planning run, which cron
 * starts at expiry: the agent stops them then, the planner sizes a
 * round's ops within it, and the simulator keeps what they move by then.
 * Needs <math.h>.
 */
#define PLAN_REPORT_MARGIN(life) fmin(1.0, (life) / 40)

/* At most this share of a plan's life is kept for the state's sending
 * (plan_report_stop()). */
#define PLAN_REPORT_SHARE 0.25

double	 plan_report_stop(double life, double report);

struct plan {
	char		*host;
	uint64_t	 epoch;
	time_t		 issued;
	time_t		 expires;
	struct fileref	*fileset;
	size_t		 nfileset;
	struct op	*ops;
	size_t		 nops;
	struct fileref	*retire;	/* versions to remove from the
					 * store (name and version only) */
	size_t		 nretire;
	int		 brief;		/* read from a brief plan: its ops
					 * carry no checksums, and it is
					 * never formatted as a plan */
};

int	 plan_load(const char *path, struct plan **, struct diag *);
int	 plan_parse(const char *path, const struct ynode *, struct plan **,
	    struct diag *);
int	 plan_parse_brief(const char *path, const struct ynode *,
	    struct plan **, struct diag *);
char	*plan_format(const struct plan *, size_t *len);
char	*plan_format_brief(const struct plan *, size_t *len);
char	*plan_format_pair(const struct plan *, size_t *len, char **brief,
	    size_t *brieflen);
int	 plan_write(const char *path, const struct plan *);
void	 plan_free(struct plan *);
void	 op_clear(struct op *);
void	 source_clear(struct plan_source *);

/* ------------------------------------------------------------------ */
/* sshsig.c: Ed25519 keys and SSHSIG signatures, OpenSSH's formats      */


int	 sshkey_parse_public(const char *line, struct sshkey *,
	    const char **why);
char	*sshkey_format_public(const struct sshkey *, const char *comment);
int	 sshkey_generate(struct sshkey *);
char	*sshkey_format_private(const struct sshkey *, const char *comment,
	    size_t *len);
int	 sshkey_parse_private(const char *text, size_t len, struct sshkey *,
	    const char **why);
int	 sshkey_load_private(const char *path, struct sshkey *, char *why,
	    size_t whylen);
int	 sshkey_write_new(const char *path, const struct sshkey *,
	    const char *comment);
struct sshsig_signer;
struct sshsig_signer *sshsig_signer_new(const struct sshkey *);
char	*sshsig_signer_sign(struct sshsig_signer *, const void *msg,
	    size_t len, size_t *outlen);
void	 sshsig_signer_free(struct sshsig_signer *);
char	*sshsig_sign(const struct sshkey *, const void *msg, size_t len,
	    size_t *outlen);
int	 sshsig_verify(const struct sshkey *, const void *msg, size_t len,
	    const char *sig, size_t siglen, const char **why);

/* ------------------------------------------------------------------ */
/* atomic.c                                                            */

int	 atomic_write(const char *path, const void *buf, size_t len);
int	 write_formatted(const char *path, char *text, size_t len,
	    const char *what);
int	 write_all(int fd, const void *buf, size_t len);
int	 write_new_file(const char *path, const void *buf, size_t len);
int	 write_over_file(const char *path, const void *buf, size_t len,
	    mode_t mode);
int	 sync_new_files(const char *dir);
int	 read_all(int fd, size_t max, char **buf, size_t *len);
int	 read_file_max(int dirfd, const char *path, int flags, size_t max,
	    char **buf, size_t *len);
int	 read_file_at(int dirfd, const char *path, int flags, char **buf,
	    size_t *len);
int	 fsync_dir(const char *dir);
int	 mkdir_p(const char *path, unsigned mode);

/* ------------------------------------------------------------------ */
/* util.c                                                              */

void	*xcalloc(size_t n, size_t size);
void	*xreallocarray(void *, size_t n, size_t size);
char	*xstrdup(const char *);
char	*xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char	*text_escape(const char *);
void	 text_sanitize(char *);
/* An entry of a list checked for repeats (dup_find()). */
struct dupkey {
	const char	*name;
	uint64_t	 version;
	size_t		 index;
};
long	 dup_find(struct dupkey *, size_t);
int	 help_asked(int argc, char *argv[]);
int	 usage_of(FILE *, const char *text, const char *cmd);
extern const char *progname;

#endif
