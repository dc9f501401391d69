/*
 * replay.c: runs every file of a fuzz corpus through its reader, so that
 * the corpus (seeds and every crash ever found) is an ordinary test.
 * usage: replay CORPUS_DIR...   (each directory named after its target)
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static const char *const names[] = { "topology", "fileset", "manifest",
	"state", "plan", "agent", "units", "names" };

int
main(int argc, char *argv[])
{
	size_t total = 0, t;
	int i, failed = 0;

	progname = "replay";
	for (i = 1; i < argc; i++) {
		const char *base = strrchr(argv[i], '/') ? strrchr(argv[i],
		    '/') + 1 : argv[i];
		DIR *d;
		struct dirent *e;

		for (t = 0; t < sizeof(names) / sizeof(names[0]); t++)
			if (strcmp(base, names[t]) == 0)
				break;
		if (t == sizeof(names) / sizeof(names[0]) ||
		    (d = opendir(argv[i])) == NULL) {
			fprintf(stderr, "replay: %s: not a corpus\n", argv[i]);
			failed = 1;
			continue;
		}
		while ((e = readdir(d)) != NULL) {
			char *path, *buf;
			size_t len;
			int fd;

			if (e->d_name[0] == '.')
				continue;
			path = xasprintf("%s/%s", argv[i], e->d_name);
			if ((fd = open(path, O_RDONLY)) == -1 ||
			    read_all(fd, 1 << 24, &buf, &len) != 0) {
				fprintf(stderr, "replay: %s: unreadable\n",
				    path);
				failed = 1;
			} else {
				fuzz_one((enum fuzz_target)t,
				    (const uint8_t *)buf, len);
				free(buf);
				total++;
			}
			if (fd != -1)
				close(fd);
			free(path);
		}
		closedir(d);
	}
	printf("replay: %zu passed, %d failed\n", total, failed);
	return failed;
}
