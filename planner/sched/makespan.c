/*
 * makespan.c: a lower bound on the time any schedule needs to finish what is
 * left, from capacities alone.  Every byte a host lacks must enter it
 * through its NIC; every byte only the generator holds must leave through
 * its NIC; every byte a group of sites lacks (a site or a partition) must
 * cross that group's downlinks and the links into it, and every byte only
 * a group holds must cross its uplinks and the links out of it; every
 * delivered byte leaves some host.  The largest of these times is the
 * bound; no schedule, however it pipelines, can beat any of them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

struct bound {
	double		 seconds;
	char		*why;
	size_t		 whylen;
	const struct master *m;
	size_t		 nf;
	uint64_t	*site_max;	/* site * nf + file: the most a host
					 * of the site holds */
	char		*site_need;	/* ... some host of it needs more */
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
group_bound(struct bound *b, const char *in_group, const char *name)
{
	const struct master *m = b->m;
	const struct topology *t = m->topology;
	size_t f, s, k;
	double enter = 0, leave = 0, down = 0, up = 0, lin = 0, lout = 0;

	for (f = 0; f < b->nf; f++) {
		uint64_t max_in = 0, max_out = 0;
		int need_in = 0, need_out = 0;

		for (s = 0; s < t->nsites; s++) {
			uint64_t l = b->site_max[s * b->nf + f];

			if (in_group[s]) {
				if (l > max_in)
					max_in = l;
				need_in |= b->site_need[s * b->nf + f];
			} else {
				if (l > max_out)
					max_out = l;
				need_out |= b->site_need[s * b->nf + f];
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
 * what limits it.  Linear in hosts times files, plus sites squared times
 * files for the cuts.
 */
double
bound_makespan(struct master *m, char *why, size_t whylen)
{
	return bound_makespan_of(m, NULL, why, whylen);
}

/* The same for the hosts not marked in skip (NULL: every host): what
 * the others lack is not counted. */
double
bound_makespan_of(struct master *m, const char *skip, char *why,
    size_t whylen)
{
	struct topology *t = m->topology;
	size_t nf = m->fileset->nfiles, h, f, s, i;
	struct bound b = { 0, why, whylen, m, nf, NULL, NULL };
	double total = 0, out_sum = 0;
	char *in_group = xcalloc(t->nsites ? t->nsites : 1, 1);
	uint64_t *len = xcalloc(t->nhosts * nf + 1, sizeof(uint64_t));
	uint64_t *first = xcalloc(nf + 1, sizeof(uint64_t));
	uint64_t *second = xcalloc(nf + 1, sizeof(uint64_t));
	size_t *wanting = xcalloc(nf + 1, sizeof(size_t));
	char *need = xcalloc(t->nhosts * nf + 1, 1);

	b.site_max = xcalloc(t->nsites * nf + 1, sizeof(uint64_t));
	b.site_need = xcalloc(t->nsites * nf + 1, 1);
	snprintf(why, whylen, "nothing left to copy");
	for (h = 0; h < t->nhosts; h++) {
		size_t site = t->hosts[h].site;
		double sum = 0;

		for (f = 0; f < nf; f++) {
			uint64_t l = len[h * nf + f] = holds(m, h, f);

			need[h * nf + f] = (skip == NULL || !skip[h]) &&
			    fileset_targets(t, &m->fileset->files[f], h) &&
			    l < target_of(m, f);
			if (need[h * nf + f]) {
				sum += (double)(target_of(m, f) - l);
				wanting[f]++;
				b.site_need[site * nf + f] = 1;
			}
			if (l > b.site_max[site * nf + f])
				b.site_max[site * nf + f] = l;
			/* The two longest holdings, for the generators'. */
			if (l > first[f]) {
				second[f] = first[f];
				first[f] = l;
			} else if (l > second[f])
				second[f] = l;
		}
		total += sum;
		consider(&b, sum, t->hosts[h].nic_in, "ingress of host",
		    t->hosts[h].name);
		add_capacity(&out_sum, t->hosts[h].nic_out);
	}
	consider(&b, total, out_sum, "egress of", "all hosts");
	for (h = 0; h < t->nhosts; h++) {
		double unique = 0;

		for (f = 0; f < nf; f++) {
			/* The longest holding of any other host. */
			uint64_t other = len[h * nf + f] == first[f] ?
			    second[f] : first[f];

			if (m->fileset->files[f].generator != h)
				continue;
			if (wanting[f] > (size_t)need[h * nf + f])
				unique += (double)(target_of(m, f) - other);
		}
		consider(&b, unique, t->hosts[h].nic_out,
		    "egress of generator", t->hosts[h].name);
	}
	for (s = 0; s < t->nsites; s++) {
		memset(in_group, 0, t->nsites);
		in_group[s] = 1;
		group_bound(&b, in_group, t->sites[s].name);
	}
	for (i = 0; i < t->npartitions; i++) {
		for (s = 0; s < t->nsites; s++)
			in_group[s] = t->sites[s].part == (long)i;
		group_bound(&b, in_group, t->partitions[i]);
	}
	free(in_group);
	free(len);
	free(first);
	free(second);
	free(wanting);
	free(need);
	free(b.site_max);
	free(b.site_need);
	return b.seconds;
}
