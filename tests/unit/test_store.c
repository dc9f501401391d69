/*
 * test_store.c: the agent's crash-safe store at every crash point of a
 * commit (data written, data synced, the new length under its temporary
 * name, renamed) and of putting a version in place, as the disk is left
 * there; a process killed between a block's verification and its
 * commit; a length record that is torn or that claims more than the data
 * holds.  What the store then reports is never more than is durable.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "../../agent/agent.h"

#define CHUNK 4096

static char *
store_root(void)
{
	char *dir = xstrdup("/tmp/sluice-store-XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

static void
remove_root(const char *root)
{
	char *cmd = xasprintf("rm -rf '%s'", root);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

/* Writes and verifies n chunks of version v from offset on, byte i of a
 * chunk (offset + i) & 0xff; does not commit. */
static void
fill(struct store *s, struct version *v, uint64_t offset, size_t n)
{
	unsigned char buf[CHUNK];
	size_t k, i;

	for (k = 0; k < n; k++) {
		unsigned gen = version_generation(v);
		uint64_t at = offset + k * CHUNK;

		for (i = 0; i < CHUNK; i++)
			buf[i] = (unsigned char)((at + i) & 0xff);
		ck_assert_int_eq(version_write(s, v, at, buf, CHUNK, 0), 0);
		version_verified(v, at, CHUNK, gen);
	}
}

/* The durable length of f@1 as the store reads it back: on opening the
 * version and in its listing, which must agree. */
static uint64_t
durable(const char *root)
{
	struct store *s;
	struct version *v;
	struct holding *h;
	size_t n, i;
	uint64_t len, listed = UINT64_MAX;

	ck_assert_int_eq(store_open(root, &s), 0);
	ck_assert_int_eq(store_list(s, &h, &n), 0);
	for (i = 0; i < n; i++) {
		if (strcmp(h[i].name, "f") == 0 && h[i].version == 1)
			listed = h[i].length;
		free(h[i].name);
	}
	free(h);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(store_version(s, "f", 1, &v), 0);
	len = version_verified_length(v, NULL);
	ck_assert_uint_eq(len, listed);
	version_free(v);
	store_close(s);
	return len;
}

/* Writes text as the file at path, whole. */
static void
put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* f@1 with 2 chunks committed and 2 more written and verified only. */
static void
two_committed_two_not(const char *root)
{
	struct store *s;
	struct version *v;

	ck_assert_int_eq(store_open(root, &s), 0);
	ck_assert_int_eq(store_version(s, "f", 1, &v), 0);
	fill(s, v, 0, 2);
	ck_assert_int_eq(version_commit(s, v), 0);
	fill(s, v, 2 * CHUNK, 2);
	version_free(v);	/* a crash: no commit of the rest */
	store_close(s);
}

/*
 * Each crash point of a commit, as the disk is left there: the data
 * written but its length not (1), the new length under its temporary
 * name (2), the new length renamed in place (3).
 */
START_TEST(commit_crash_points)
{
	char *root = store_root();
	char *lenpath, *tmp, *meta;

	two_committed_two_not(root);
	/* 1: data beyond the length is not counted. */
	ck_assert_uint_eq(durable(root), 2 * CHUNK);
	/* 2: a temporary length record is not one. */
	meta = xasprintf("%s/.sluice", root);
	tmp = xasprintf("%s/.f@1.len.tmp.99999", meta);
	put_file(tmp, "length 16384\nsize 0\n");
	ck_assert_uint_eq(durable(root), 2 * CHUNK);
	/* 3: renamed, it is: the data was synced before it was written. */
	lenpath = store_len_path(root, "f", 1);
	ck_assert_int_eq(rename(tmp, lenpath), 0);
	ck_assert_uint_eq(durable(root), 4 * CHUNK);
	free(lenpath);
	free(tmp);
	free(meta);
	remove_root(root);
	free(root);
}
END_TEST

/* The target of the hint at path, or "" where there is none. */
static char *
hint_of(const char *path)
{
	static char buf[64];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/*
 * A commit's length record is followed by its hint, a symbolic link whose
 * target is the record's first line, which readers read in one round
 * trip; a version removed takes its hint with it, and a hint that cannot
 * be replaced (a directory in its place) leaves the record written and
 * says nothing more than it.
 */
START_TEST(length_hint)
{
	char *root = store_root();
	char *hint = store_hint_path(root, "f", 1), *inside, *lenpath;
	struct store *s;
	struct version *v;
	struct stat st;

	ck_assert_int_eq(store_open(root, &s), 0);
	ck_assert_int_eq(store_version(s, "f", 1, &v), 0);
	ck_assert_str_eq(hint_of(hint), "length 0");
	fill(s, v, 0, 2);
	ck_assert_str_eq(hint_of(hint), "length 0");
	ck_assert_int_eq(version_commit(s, v), 0);
	ck_assert_int_eq(lstat(hint, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	ck_assert_str_eq(hint_of(hint), "length 8192");
	fill(s, v, 2 * CHUNK, 1);
	ck_assert_int_eq(version_commit(s, v), 0);
	ck_assert_str_eq(hint_of(hint), "length 12288");
	version_free(v);
	/* A record torn (overwritten in place on a full file system as
	 * the agent died) is trusted for nothing, nor is the hint that
	 * followed it: both say what is trusted once the version is opened
	 * again.  So does a record past what the data file holds. */
	lenpath = store_len_path(root, "f", 1);
	put_file(lenpath, "len");
	ck_assert_int_eq(store_version(s, "f", 1, &v), 0);
	ck_assert_str_eq(hint_of(hint), "length 0");
	fill(s, v, 0, 2);
	ck_assert_int_eq(version_commit(s, v), 0);
	version_free(v);
	put_file(lenpath, "length 65536\nsize 0\n");
	ck_assert_int_eq(store_version(s, "f", 1, &v), 0);
	ck_assert_str_eq(hint_of(hint), "length 12288");
	version_free(v);
	ck_assert_int_eq(store_remove(s, "f", 1), 1);
	ck_assert_int_eq(lstat(hint, &st), -1);
	/* No hint to be had: the record is still written. */
	ck_assert_int_eq(store_version(s, "f", 1, &v), 0);
	ck_assert_int_eq(unlink(hint), 0);
	ck_assert_int_eq(mkdir(hint, 0755), 0);
	inside = xasprintf("%s/x", hint);
	put_file(inside, "");
	fill(s, v, 0, 1);
	ck_assert_int_eq(version_commit(s, v), 0);
	version_free(v);
	store_close(s);
	ck_assert_uint_eq(durable(root), CHUNK);
	ck_assert_int_eq(lstat(hint, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	free(inside);
	free(lenpath);
	free(hint);
	remove_root(root);
	free(root);
}
END_TEST

/*
 * A length record that claims more than the data file holds (data the
 * file system lost) counts only what is there; a torn one (overwritten
 * in place on a full file system, cut short) counts nothing: the bytes
 * are fetched again, never trusted.
 */
START_TEST(length_record_distrusted)
{
	char *root = store_root();
	char *lenpath = store_len_path(root, "f", 1);
	char *datapath = store_data_path(root, "f", 1);

	two_committed_two_not(root);
	put_file(lenpath, "length 16384\nsize 0\n");
	ck_assert_int_eq(truncate(datapath, 3 * CHUNK), 0);
	ck_assert_uint_eq(durable(root), 3 * CHUNK);
	put_file(lenpath, "len");
	ck_assert_uint_eq(durable(root), 0);
	free(lenpath);
	free(datapath);
	remove_root(root);
	free(root);
}
END_TEST

/*
 * A process killed between verifying blocks and committing them: what
 * the last commit made durable is what the store holds, and the store
 * takes new blocks from there.
 */
START_TEST(killed_before_commit)
{
	char *root = store_root();
	struct store *s;
	struct version *v;
	pid_t pid;
	int status;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		if (store_open(root, &s) != 0 ||
		    store_version(s, "f", 1, &v) != 0)
			_exit(1);
		fill(s, v, 0, 3);
		if (version_commit(s, v) != 0)
			_exit(1);
		fill(s, v, 3 * CHUNK, 5);
		_exit(0);	/* no commit, no cleanup */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_uint_eq(durable(root), 3 * CHUNK);
	ck_assert_int_eq(store_open(root, &s), 0);
	ck_assert_int_eq(store_version(s, "f", 1, &v), 0);
	fill(s, v, 3 * CHUNK, 1);
	ck_assert_int_eq(version_commit(s, v), 0);
	version_free(v);
	store_close(s);
	ck_assert_uint_eq(durable(root), 4 * CHUNK);
	remove_root(root);
	free(root);
}
END_TEST

/*
 * Putting a whole version in place: a crash between its hard link under
 * a temporary name and the rename leaves the old file or none at the
 * final name, never a part; exposing it again puts the new one there.
 */
START_TEST(expose_crash_point)
{
	char *root = store_root();
	char *tmp = xasprintf("%s/.f.sluice-tmp.99999", root);
	char *final = xasprintf("%s/f", root);
	char *datapath = store_data_path(root, "f", 1);
	struct store *s;
	struct version *v;
	struct stat st;

	ck_assert_int_eq(store_open(root, &s), 0);
	ck_assert_int_eq(store_version(s, "f", 1, &v), 0);
	ck_assert_int_eq(version_set_size(s, v, 2 * CHUNK), 0);
	fill(s, v, 0, 2);
	ck_assert_int_eq(version_commit(s, v), 0);
	put_file(final, "the old version\n");
	/* The crash: linked under the temporary name, not renamed. */
	ck_assert_int_eq(link(datapath, tmp), 0);
	ck_assert_int_eq(stat(final, &st), 0);
	ck_assert_int_eq(st.st_size, 16);
	ck_assert_uint_eq(durable(root), 2 * CHUNK);
	/* The next run puts it in place. */
	ck_assert_int_eq(version_expose(s, v, 0644), 0);
	ck_assert_int_eq(stat(final, &st), 0);
	ck_assert_int_eq(st.st_size, 2 * CHUNK);
	version_free(v);
	store_close(s);
	free(tmp);
	free(final);
	free(datapath);
	remove_root(root);
	free(root);
}
END_TEST

/* The size of the regular file at path (not followed), -1 when there is
 * none or it is something else. */
static long long
regular_size(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode))
		return -1;
	return (long long)st.st_size;
}

/*
 * The room a run holds for its records: STORE_RESERVE bytes allocated in
 * .sluice/reserve, held again (not grown) by the next run, and never
 * listed as a version; a record written on a disk with room leaves it.
 */
START_TEST(reserve_held)
{
	char *root = store_root();
	char *path = xasprintf("%s/.sluice/reserve", root);
	struct store *s;
	struct holding *h;
	struct stat st;
	size_t n;

	ck_assert_int_eq(store_open(root, &s), 0);
	store_reserve(s);
	ck_assert_int_eq(regular_size(path), STORE_RESERVE);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_ge((long long)st.st_blocks * 512, STORE_RESERVE);
	store_reserve(s);
	ck_assert_int_eq(regular_size(path), STORE_RESERVE);
	ck_assert_int_eq(store_write_record(s, "epoch", "7\n", 2), 0);
	ck_assert_int_eq(regular_size(path), STORE_RESERVE);
	ck_assert_int_eq(store_list(s, &h, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(h);
	store_close(s);
	free(path);
	remove_root(root);
	free(root);
}
END_TEST

/*
 * A plan running is said in ROOT/.sluice/began, "epoch N", where peers
 * read it (store_began_path()), and "epoch N ended" once its ops have
 * stopped; a later plan's replaces it.  Only those two forms parse: a
 * peer's text that says anything else is not taken for either.
 */
START_TEST(began_marked)
{
	char *root = store_root();
	char *path = store_began_path(root), *buf = NULL, *want;
	struct store *s;
	uint64_t e = 0;
	size_t len;
	int ended = -1;

	want = xasprintf("%s/.sluice/began", root);
	ck_assert_str_eq(path, want);
	ck_assert_int_eq(store_open(root, &s), 0);
	ck_assert_int_eq(store_mark_began(s, 41, 0), 0);
	for (ended = 0; ended < 2; ended++) {
		int said = -1;

		ck_assert_int_eq(store_mark_began(s, 42, ended), 0);
		ck_assert_int_eq(store_read_meta(s, "began", &buf, &len), 0);
		ck_assert_str_eq(buf, ended ? "epoch 42 ended\n" :
		    "epoch 42\n");
		ck_assert_int_eq(store_parse_began(buf, &e, &said), 0);
		ck_assert_uint_eq(e, 42);
		ck_assert_int_eq(said, ended);
		free(buf);
	}
	ck_assert_int_eq(store_parse_began("epoch 7", &e, &ended), 0);
	ck_assert_uint_eq(e, 7);
	ck_assert_int_eq(ended, 0);
	ck_assert_int_eq(store_parse_began("epoch 8 ended", &e, &ended), 0);
	ck_assert_uint_eq(e, 8);
	ck_assert_int_eq(ended, 1);
	ck_assert_int_eq(store_parse_began("epoch -7\n", &e, &ended), -1);
	ck_assert_int_eq(store_parse_began("epoch \n", &e, &ended), -1);
	ck_assert_int_eq(store_parse_began("epoch 7 8\n", &e, &ended), -1);
	ck_assert_int_eq(store_parse_began("epoch 7 endedx\n", &e, &ended),
	    -1);
	ck_assert_int_eq(store_parse_began("epoch 7\njunk", &e, &ended), -1);
	ck_assert_int_eq(store_parse_began("length 7\n", &e, &ended), -1);
	ck_assert_int_eq(store_parse_began("epoch 99999999999999999999\n", &e,
	    &ended), -1);
	ck_assert_int_eq(store_parse_began("", &e, &ended), -1);
	/* A length record parses the same way: digits only, its first
	 * line. */
	ck_assert_int_eq(store_parse_len("length 5\nsize 9\n", &e), 0);
	ck_assert_uint_eq(e, 5);
	ck_assert_int_eq(store_parse_len("length -1\n", &e), -1);
	ck_assert_int_eq(store_parse_len("length  5\n", &e), -1);
	ck_assert_int_eq(store_parse_len("length 5x\n", &e), -1);
	store_close(s);
	free(want);
	free(path);
	remove_root(root);
	free(root);
}
END_TEST

/*
 * Whatever else is found at the reserve's name is never followed, written
 * through or waited on: a symbolic link, a FIFO and a second link to
 * another file are removed (the file they name untouched) and the next
 * run holds the reserve; a larger file is cut to the reserve's size.
 */
START_TEST(reserve_hostile)
{
	char *root = store_root();
	char *path = xasprintf("%s/.sluice/reserve", root);
	char *other = xasprintf("%s/other", root);
	struct store *s;
	struct stat st;
	int k;

	ck_assert_int_eq(store_open(root, &s), 0);
	for (k = 0; k < 3; k++) {
		put_file(other, "keep");
		if (k == 0)
			ck_assert_int_eq(symlink(other, path), 0);
		else if (k == 1)
			ck_assert_int_eq(mkfifo(path, 0600), 0);
		else
			ck_assert_int_eq(link(other, path), 0);
		store_reserve(s);
		ck_assert_int_eq(regular_size(other), 4);
		ck_assert_int_eq(stat(other, &st), 0);
		ck_assert_int_eq(st.st_nlink, 1);
		ck_assert_int_eq(lstat(path, &st), -1);
		store_reserve(s);
		ck_assert_int_eq(regular_size(path), STORE_RESERVE);
		ck_assert_int_eq(unlink(path), 0);
	}
	ck_assert_int_eq(truncate(other, 4 * STORE_RESERVE), 0);
	ck_assert_int_eq(rename(other, path), 0);
	store_reserve(s);
	ck_assert_int_eq(regular_size(path), STORE_RESERVE);
	store_close(s);
	free(other);
	free(path);
	remove_root(root);
	free(root);
}
END_TEST

Suite *
suite_store(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_test(tc, commit_crash_points);
	tcase_add_test(tc, length_record_distrusted);
	tcase_add_test(tc, length_hint);
	tcase_add_test(tc, killed_before_commit);
	tcase_add_test(tc, expose_crash_point);
	tcase_add_test(tc, reserve_held);
	tcase_add_test(tc, reserve_hostile);
	tcase_add_test(tc, began_marked);
	suite_add_tcase(s, tc);
	return s;
}
