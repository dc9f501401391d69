/*
 * publish.c: sluice-agent publish, the generator's side.  FILE is copied
 * into the store as NAME@VERSION block by block, each block hashed with
 * SHA-256, and the manifest written to ROOT/.sluice/ESC@V.manifest.yaml
 * (sync sends it to the master).  With --growing only the whole blocks
 * that exist now are published, final: false; a later call extends them;
 * a call without --growing publishes the rest and says final: true.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "agent.h"

/* The manifest published so far, or a new empty one. */
static struct manifest *
load_published(struct store *s, const char *metaname, const char *name,
    uint64_t version, uint64_t block_size)
{
	struct manifest *m = NULL;
	struct ynode *root;
	struct diag d = { "" };
	char *buf;
	size_t len;

	if (store_read_meta(s, metaname, &buf, &len) == 0) {
		if (ydoc_parse(metaname, (unsigned char *)buf, len, &root,
		    &d) == 0) {
			if (manifest_parse(metaname, root, &m, &d) != 0)
				m = NULL;
			ynode_free(root);
		}
		if (m == NULL)
			warnx_("%s (starting again)", d.msg);
		free(buf);
	}
	if (m == NULL) {
		m = xcalloc(1, sizeof(*m));
		m->file = xstrdup(name);
		m->version = version;
		m->block_size = block_size;
	}
	return m;
}

static ssize_t
read_full(int fd, unsigned char *buf, size_t len, off_t off)
{
	size_t got = 0;
	ssize_t r;

	while (got < len) {
		r = pread(fd, buf + got, len - got, off + (off_t)got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* What the threads of check_published() share. */
struct recheck {
	int		 fd;
	const struct manifest *m;
	_Atomic size_t	 next;		/* the next block no thread has taken */
	_Atomic size_t	 first_bad;	/* the first block seen to differ;
					 * m->nblocks while none has */
	_Atomic int	 error;		/* errno of a failed read; 0 none */
	_Atomic uint64_t error_at;	/* ... and where */
};

/* One thread of check_published(): blocks taken in order, each hashed
 * and compared, until one past a block that differs. */
static void *
recheck_blocks(void *arg)
{
	struct recheck *r = arg;
	const struct manifest *m = r->m;
	unsigned char *buf = xcalloc(1, (size_t)m->block_size);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;

	for (;;) {
		size_t i = atomic_fetch_add(&r->next, 1), bad;
		uint64_t off = (uint64_t)i * m->block_size;
		size_t want;

		if (i >= m->nblocks || i > atomic_load(&r->first_bad) ||
		    atomic_load(&r->error) != 0)
			break;
		want = (size_t)(m->length - off < m->block_size ? m->length -
		    off : m->block_size);
		if (read_full(r->fd, buf, want, (off_t)off) != (ssize_t)want ||
		    EVP_Digest(buf, want, md, &mdlen, EVP_sha256(), NULL) !=
		    1) {
			atomic_store(&r->error_at, off);
			atomic_store(&r->error, errno ? errno : EIO);
			break;
		}
		if (memcmp(md, m->blocks[i], 32) == 0)
			continue;
		bad = atomic_load(&r->first_bad);
		while (i < bad && !atomic_compare_exchange_weak(&r->first_bad,
		    &bad, i))
			;
	}
	free(buf);
	return NULL;
}

/*
 * Whether file (open as fd, no shorter than what m publishes) still holds
 * what m publishes: every published block read and hashed again and its
 * checksum compared with the manifest's, so that what is added continues
 * what was published and a rewritten file is never shipped as a mix of
 * old and new blocks.  The blocks are shared among a thread per
 * processor (eight at most): this costs a read of the published part,
 * at the rate the processors hash (see sluice-agent(1)).  Returns 0;
 * EX_DATAERR naming the first block that differs; or EX_IOERR.
 */
static int
check_published(int fd, const char *file, const struct manifest *m)
{
	struct recheck r;
	pthread_t tids[8];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n, started = 0, i;

	r.fd = fd;
	r.m = m;
	atomic_init(&r.next, 0);
	atomic_init(&r.first_bad, m->nblocks);
	atomic_init(&r.error, 0);
	atomic_init(&r.error_at, 0);
	(void)posix_fadvise(fd, 0, (off_t)m->length, POSIX_FADV_SEQUENTIAL);
	n = cpus < 1 ? 1 : cpus > 8 ? 8 : (size_t)cpus;
	if (n > m->nblocks)
		n = m->nblocks;
	for (i = 1; i < n; i++)
		if (pthread_create(&tids[started], NULL, recheck_blocks,
		    &r) == 0)
			started++;
	recheck_blocks(&r);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (atomic_load(&r.error) != 0) {
		warnx_("%s: read at %" PRIu64 ": %s", file,
		    atomic_load(&r.error_at), strerror(atomic_load(&r.error)));
		return EX_IOERR;
	}
	if ((i = atomic_load(&r.first_bad)) == m->nblocks)
		return 0;
	warnx_("%s: block %zu, at byte %" PRIu64 ", is not what %s@%" PRIu64
	    " published: the file was rewritten; publish its new content as a "
	    "new version", file, i, (uint64_t)i * m->block_size, m->file,
	    m->version);
	return EX_DATAERR;
}

static int
publish(const struct agent_config *c, const char *file, const char *name,
    uint64_t version, int growing, uint64_t block_size, int verbose)
{
	struct store *s = NULL;
	struct version *v = NULL;
	struct manifest *m = NULL;
	struct stat st;
	unsigned char *buf = NULL;
	char *esc = name_escape_file(name, version);
	char *metaname = xasprintf("%s.manifest.yaml", esc);
	char *text = NULL;
	uint64_t upto, off;
	size_t len;
	int fd = -1, rc = EX_IOERR;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		warnx_("%s: %s", file, strerror(errno));
		rc = EX_NOINPUT;
		goto out;
	}
	if (store_open(c->root, &s) != 0 || store_version(s, name, version,
	    &v) != 0)
		goto out;
	m = load_published(s, metaname, name, version, block_size);
	if (m->block_size != block_size) {
		warnx_("%s@%" PRIu64 ": published in blocks of %" PRIu64 ", not "
		    "%" PRIu64, name, version, m->block_size, block_size);
		rc = EX_DATAERR;
		goto out;
	}
	if (m->final && ((uint64_t)st.st_size != m->length || growing)) {
		warnx_("%s@%" PRIu64 ": already published whole (%" PRIu64
		    " bytes): publish new content as a new version", name,
		    version, m->length);
		rc = EX_DATAERR;
		goto out;
	}
	if ((uint64_t)st.st_size < m->length) {
		warnx_("%s: shorter (%lld bytes) than what is published of "
		    "%s@%" PRIu64 " (%" PRIu64 "): publish new content as a new "
		    "version", file, (long long)st.st_size, name, version,
		    m->length);
		rc = EX_DATAERR;
		goto out;
	}
	buf = xcalloc(1, (size_t)block_size);
	if ((rc = check_published(fd, file, m)) != 0)
		goto out;
	rc = EX_IOERR;
	if (m->final) {
		if (verbose)
			printf("%s@%" PRIu64 ": already published whole, "
			    "unchanged\n", name, version);
		rc = 0;
		goto out;
	}
	upto = (uint64_t)st.st_size;
	if (growing)
		upto -= upto % block_size;
	v->block_size = block_size;
	for (off = m->length; off < upto; off += block_size) {
		size_t want = (size_t)(upto - off < block_size ? upto - off :
		    block_size);
		unsigned int mdlen;

		if (read_full(fd, buf, want, (off_t)off) != (ssize_t)want) {
			warnx_("%s: read at %" PRIu64 ": %s", file, off,
			    strerror(errno ? errno : EIO));
			goto out;
		}
		m->blocks = xreallocarray(m->blocks, m->nblocks + 1, 32);
		if (EVP_Digest(buf, want, m->blocks[m->nblocks], &mdlen,
		    EVP_sha256(), NULL) != 1)
			goto out;
		if (version_commit_block(s, v, off, buf, want) != 0)
			goto out;
		m->nblocks++;
		m->length = off + want;
	}
	m->final = !growing;
	/* Every host exposes it with the mode it is published with. */
	m->mode = (unsigned)st.st_mode & 0777;
	if (m->final && version_set_size(s, v, m->length) != 0)
		goto out;
	if ((text = manifest_format(m, &len)) == NULL ||
	    store_write_meta(s, metaname, text, len) != 0)
		goto out;
	if (m->final && (version_expose(s, v, version_mode(m->mode,
	    c->umask)) != 0 ||
	    store_retire(s, name, version) != 0))
		goto out;
	if (verbose)
		printf("%s@%" PRIu64 ": %" PRIu64 " bytes in %zu blocks "
		    "published%s\n", name, version, m->length, m->nblocks,
		    m->final ? ", final" : ", growing");
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	free(buf);
	free(text);
	free(esc);
	free(metaname);
	manifest_free(m);
	version_free(v);
	store_close(s);
	return rc;
}

int
cmd_publish(const struct agent_config *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "growing", no_argument, NULL, 'g' },
		{ "block-size", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t version, block_size = 4194304;
	const char *why;
	char *end;
	int ch, growing = 0, verbose = 0;

	while ((ch = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'g':
			growing = 1;
			break;
		case 'b':
			if (unit_size(optarg, &block_size, &why) != 0 ||
			    block_size < 4096 || block_size > ((uint64_t)1 << 30)) {
				warnx_("publish: --block-size '%s': from 4KiB "
				    "to 1GiB", optarg);
				return EX_USAGE;
			}
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			return EX_USAGE;
		}
	}
	if (argc - optind != 3) {
		fprintf(stderr, "usage: sluice-agent publish -c AGENT.yaml FILE "
		    "NAME VERSION [--growing] [--block-size SIZE]\n");
		return EX_USAGE;
	}
	if (name_valid_file(argv[optind + 1], &why) != 0) {
		warnx_("publish: bad file name '%s': %s", argv[optind + 1],
		    why);
		return EX_DATAERR;
	}
	errno = 0;
	version = strtoull(argv[optind + 2], &end, 10);
	if (errno != 0 || *end != '\0' || end == argv[optind + 2] ||
	    argv[optind + 2][0] == '-') {
		warnx_("publish: '%s' is not a version number",
		    argv[optind + 2]);
		return EX_USAGE;
	}
	return publish(c, argv[optind], argv[optind + 1], version, growing,
	    block_size, verbose);
}
