/*
 * bound.c: a lower bound on the time any schedule needs to finish what is
 * left, from capacities alone.  Every byte a host lacks must enter it
 * through its NIC; every byte only the generator holds must leave through
 * its NIC; every byte a group of sites lacks (a site or a partition) must
 * cross that group's downlinks and the links into it, and every byte only
 * a group holds must cross its uplinks and the links out of it; every
 * delivered byte leaves some host.  The largest of these times is the
 * bound; no schedule, however it pipelines, can beat any of them.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "planner.h"

struct bound {
	double		 seconds;
	char		*why;
	size_t		 whylen;
};

static void
consider(struct bound *b, double bytes, double capacity, const char *what,
    const char *name)
{
	double t;

	if (bytes <= 0 || capacity == CAP_UNLIMITED || capacity <= 0)
		return;
	t = bytes / capacity;
	if (t > b->seconds) {
		b->seconds = t;
		snprintf(b->why, b->whylen, "%s %s: %.0f bytes at %.0f B/s",
		    what, name, bytes, capacity);
	}
}

/* The length every target must reach: published, else the size. */
static uint64_t
target_of(const struct master *m, size_t f)
{
	if (m->manifests[f] != NULL)
		return m->manifests[f]->length;
	return m->fileset->files[f].has_size ? m->fileset->files[f].size : 0;
}

static uint64_t
holds(const struct master *m, size_t h, size_t f)
{
	uint64_t len = master_length(m, h, f), want = target_of(m, f);

	if (m->fileset->files[f].generator == h && len < want)
		len = want;
	return len < want ? len : want;
}

static int
needs(const struct master *m, size_t h, size_t f)
{
	return fileset_targets(m->topology, &m->fileset->files[f], h) &&
	    holds(m, h, f) < target_of(m, f);
}

/* Sums a capacity; unlimited when any part is. */
static void
add_capacity(double *sum, double c)
{
	if (*sum == CAP_UNLIMITED || c == CAP_UNLIMITED)
		*sum = CAP_UNLIMITED;
	else
		*sum += c;
}

/* Cut bounds for the group of sites marked in in_group. */
static void
group_bound(struct bound *b, const struct master *m, const char *in_group,
    const char *name)
{
	const struct topology *t = m->topology;
	size_t f, h, s, k;
	double enter = 0, leave = 0, down = 0, up = 0, lin = 0, lout = 0;

	for (f = 0; f < m->fileset->nfiles; f++) {
		uint64_t max_in = 0, max_out = 0;
		int need_in = 0, need_out = 0;

		for (h = 0; h < t->nhosts; h++) {
			int in = in_group[t->hosts[h].site];
			uint64_t l = holds(m, h, f);

			if (in) {
				if (l > max_in)
					max_in = l;
				need_in |= needs(m, h, f);
			} else {
				if (l > max_out)
					max_out = l;
				need_out |= needs(m, h, f);
			}
		}
		if (need_in && target_of(m, f) > max_in)
			enter += (double)(target_of(m, f) - max_in);
		if (need_out && max_in > max_out)
			leave += (double)(max_in - max_out);
	}
	for (s = 0; s < t->nsites; s++)
		if (in_group[s]) {
			add_capacity(&down, t->sites[s].downlink);
			add_capacity(&up, t->sites[s].uplink);
		}
	for (k = 0; k < t->nlinks; k++) {
		const struct link *l = &t->links[k];
		double cap = t->resources[res_link(t, k, 0)].capacity;

		if (in_group[l->a] == in_group[l->b])
			continue;
		add_capacity(&lin, cap);
		add_capacity(&lout, cap);
	}
	consider(b, enter, down, "downlinks of", name);
	consider(b, leave, up, "uplinks of", name);
	if (t->nlinks > 0) {
		consider(b, enter, lin, "links into", name);
		consider(b, leave, lout, "links out of", name);
	}
}

/*
 * Returns the lower bound in seconds on the remaining makespan, and in why
 * what limits it.
 */
double
bound_makespan(struct master *m, char *why, size_t whylen)
{
	struct topology *t = m->topology;
	struct bound b = { 0, why, whylen };
	size_t h, f, s, i;
	double total = 0, out_sum = 0;
	char *in_group = xcalloc(t->nsites, 1);

	snprintf(why, whylen, "nothing left to copy");
	for (h = 0; h < t->nhosts; h++) {
		double need = 0;

		for (f = 0; f < m->fileset->nfiles; f++)
			if (needs(m, h, f))
				need += (double)(target_of(m, f) -
				    holds(m, h, f));
		total += need;
		consider(&b, need, t->hosts[h].nic_in, "ingress of host",
		    t->hosts[h].name);
		add_capacity(&out_sum, t->hosts[h].nic_out);
	}
	consider(&b, total, out_sum, "egress of", "all hosts");
	for (h = 0; h < t->nhosts; h++) {
		double unique = 0;

		for (f = 0; f < m->fileset->nfiles; f++) {
			uint64_t other = 0;
			int wanted = 0;

			if (m->fileset->files[f].generator != h)
				continue;
			for (i = 0; i < t->nhosts; i++) {
				if (i == h)
					continue;
				if (holds(m, i, f) > other)
					other = holds(m, i, f);
				wanted |= needs(m, i, f);
			}
			if (wanted)
				unique += (double)(target_of(m, f) - other);
		}
		consider(&b, unique, t->hosts[h].nic_out,
		    "egress of generator", t->hosts[h].name);
	}
	for (s = 0; s < t->nsites; s++) {
		memset(in_group, 0, t->nsites);
		in_group[s] = 1;
		group_bound(&b, m, in_group, t->sites[s].name);
	}
	for (i = 0; i < t->npartitions; i++) {
		for (s = 0; s < t->nsites; s++)
			in_group[s] = t->sites[s].part == (long)i;
		group_bound(&b, m, in_group, t->partitions[i]);
	}
	free(in_group);
	return b.seconds;
}

int
cmd_bound(int argc, char **argv)
{
	struct master *m = NULL;
	char why[512];
	double secs;
	int rc, from_dir;

	rc = master_from_args(argc, argv, 1, NULL, &m, &from_dir);
	if (rc == EX_USAGE)
		fprintf(stderr, "usage: sluice-plan bound -d DIR | -t TOPOLOGY "
		    "-f FILESET\n");
	if (rc != 0)
		return rc;
	secs = bound_makespan(m, why, sizeof(why));
	printf("%.3f\t%s\n", secs, why);
	master_free(m);
	return 0;
}
