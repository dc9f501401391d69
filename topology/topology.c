/*
 * topology.c: read topology.yaml into sites, hosts and links; number the
 * resources; find routes between sites.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "topology.h"

static const char *const topology_keys[] = { "round", "block_size",
	"failure_threshold", "retire_after", "sites", "links", NULL };
static const char *const site_keys[] = { "name", "partition", "uplink",
	"downlink", "hosts", NULL };
static const char *const host_keys[] = { "name", "address", "port", "user",
	"root", "nic", "nic_in", "nic_out", "key", NULL };
static const char *const link_keys[] = { "name", "between", "capacity",
	"reserved", "latency", NULL };


void
topology_free(struct topology *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nhosts; i++) {
		free(t->hosts[i].name);
		free(t->hosts[i].address);
		free(t->hosts[i].user);
		free(t->hosts[i].root);
	}
	for (i = 0; i < t->nsites; i++) {
		free(t->sites[i].name);
		free(t->sites[i].partition);
		free(t->sites[i].hosts);
		if (t->route_pred != NULL)
			free(t->route_pred[i]);
	}
	for (i = 0; i < t->nlinks; i++)
		free(t->links[i].name);
	for (i = 0; i < t->nresources; i++)
		free(t->resources[i].id);
	free(t->hosts);
	free(t->sites);
	free(t->links);
	free(t->resources);
	free(t->host_order);
	free(t->site_order);
	free(t->resource_order);
	free(t->route_pred);
	free(t->partitions);
	free(t);
}

/* Index of a name in a sorted index array, or -1. */
static long
find_sorted(const size_t *order, size_t n, const char *name,
    const char *(*key)(const struct topology *, size_t),
    const struct topology *t)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, key(t, order[mid]));

		if (c == 0)
			return (long)order[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static const char *
host_key(const struct topology *t, size_t i)
{
	return t->hosts[i].name;
}

static const char *
site_key(const struct topology *t, size_t i)
{
	return t->sites[i].name;
}

static const char *
resource_key(const struct topology *t, size_t i)
{
	return t->resources[i].id;
}

/* A name keyed for sorting; its index breaks ties. */
struct name_key {
	const char	*name;
	size_t		 index;
};

static int
cmp_name_key(const void *a, const void *b)
{
	const struct name_key *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return (x->index > y->index) - (x->index < y->index);
}

/*
 * The indexes 0..n-1 in the order of their names, key(t, i): an array of
 * n, to be freed by the caller (topology_free()).
 */
static size_t *
name_order(size_t n, const char *(*key)(const struct topology *, size_t),
    const struct topology *t)
{
	struct name_key *k = xcalloc(n ? n : 1, sizeof(*k));
	size_t *order = xcalloc(n, sizeof(size_t)), i;

	for (i = 0; i < n; i++) {
		k[i].name = key(t, i);
		k[i].index = i;
	}
	qsort(k, n, sizeof(*k), cmp_name_key);
	for (i = 0; i < n; i++)
		order[i] = k[i].index;
	free(k);
	return order;
}

long
topology_host(const struct topology *t, const char *name)
{
	return find_sorted(t->host_order, t->nhosts, name, host_key, t);
}

long
topology_site(const struct topology *t, const char *name)
{
	return find_sorted(t->site_order, t->nsites, name, site_key, t);
}

long
topology_resource(const struct topology *t, const char *id)
{
	return find_sorted(t->resource_order, t->nresources, id, resource_key,
	    t);
}

long
topology_link(const struct topology *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nlinks; i++)
		if (strcmp(t->links[i].name, name) == 0)
			return (long)i;
	return -1;
}

size_t
res_host_out(size_t host)
{
	return 2 * host;
}

size_t
res_host_in(size_t host)
{
	return 2 * host + 1;
}

size_t
res_site_up(const struct topology *t, size_t site)
{
	return 2 * t->nhosts + 2 * site;
}

size_t
res_site_down(const struct topology *t, size_t site)
{
	return 2 * t->nhosts + 2 * site + 1;
}

/* The link's resource in the direction a>b, or b>a when reverse. */
size_t
res_link(const struct topology *t, size_t link, int reverse)
{
	return 2 * t->nhosts + 2 * t->nsites + 2 * link + (reverse ? 1 : 0);
}

static int
parse_capacity(struct yctx *c, const struct ynode *n, const char *what,
    double *out)
{
	int rc;

	if ((rc = yget_bandwidth(c, n, what, out)) != 0)
		return rc;
	if (*out <= 0)
		return yerr(c, n, "%s: capacity must be above zero", what);
	return 0;
}

static int
parse_host(struct yctx *c, struct topology *t, const struct ynode *n,
    size_t site)
{
	struct host *h = &t->hosts[t->nhosts];
	const struct ynode *v;
	char what[300];
	int rc;

	h->site = site;
	h->nic_in = h->nic_out = CAP_UNLIMITED;
	h->port = 22;
	t->nhosts++;
	if ((rc = ymap_check(c, n, "host", host_keys)) != 0 ||
	    (rc = yreq(c, n, "host", "name", &v)) != 0 ||
	    (rc = yget_name(c, v, "host name", &h->name)) != 0)
		return rc;
	snprintf(what, sizeof(what), "host %s", h->name);
	if ((rc = yreq_string(c, n, what, "address", &h->address)) != 0)
		return rc;
	if (strchr(h->address, ' ') != NULL || h->address[0] == '-')
		return yerr(c, ymap_get(n, "address"), "address: '%s' is not "
		    "a host address", h->address);
	if ((v = ymap_get(n, "port")) != NULL &&
	    (rc = yget_port(c, v, &h->port)) != 0)
		return rc;
	if ((rc = yopt_name(c, n, "user", &h->user)) != 0 ||
	    (rc = yreq_string(c, n, what, "root", &h->root)) != 0)
		return rc;
	v = ymap_get(n, "root");
	if (h->root[0] != '/' || (h->root[1] != '\0' &&
	    name_valid_path(h->root + 1, &(const char *){ NULL }) != 0))
		return yerr(c, v, "root: '%s' must be an absolute path of "
		    "letters, digits and . _ - /", h->root);
	if ((v = ymap_get(n, "nic")) != NULL) {
		if ((rc = parse_capacity(c, v, "nic", &h->nic_in)) != 0)
			return rc;
		h->nic_out = h->nic_in;
	}
	if ((v = ymap_get(n, "nic_in")) != NULL &&
	    (rc = parse_capacity(c, v, "nic_in", &h->nic_in)) != 0)
		return rc;
	if ((v = ymap_get(n, "nic_out")) != NULL &&
	    (rc = parse_capacity(c, v, "nic_out", &h->nic_out)) != 0)
		return rc;
	if ((v = ymap_get(n, "key")) != NULL) {
		char *line = NULL;
		const char *why;

		if ((rc = yget_string(c, v, "key", &line)) != 0)
			return rc;
		if (sshkey_parse_public(line, &h->key, &why) != 0) {
			free(line);
			return yerr(c, v, "key: %s", why);
		}
		free(line);
		h->has_key = 1;
	}
	return 0;
}

static int
parse_site(struct yctx *c, struct topology *t, const struct ynode *n)
{
	struct site *s = &t->sites[t->nsites];
	const struct ynode *v, *hosts;
	size_t i;
	int rc;

	s->uplink = s->downlink = CAP_UNLIMITED;
	t->nsites++;
	if ((rc = ymap_check(c, n, "site", site_keys)) != 0 ||
	    (rc = yreq(c, n, "site", "name", &v)) != 0 ||
	    (rc = yget_name(c, v, "site name", &s->name)) != 0 ||
	    (rc = yopt_name(c, n, "partition", &s->partition)) != 0)
		return rc;
	if ((v = ymap_get(n, "uplink")) != NULL &&
	    (rc = parse_capacity(c, v, "uplink", &s->uplink)) != 0)
		return rc;
	if ((v = ymap_get(n, "downlink")) != NULL &&
	    (rc = parse_capacity(c, v, "downlink", &s->downlink)) != 0)
		return rc;
	if ((hosts = ymap_get(n, "hosts")) == NULL)
		return 0;
	if ((rc = yseq_check(c, hosts, "hosts")) != 0)
		return rc;
	t->hosts = xreallocarray(t->hosts, t->nhosts + hosts->nkids,
	    sizeof(*t->hosts));
	memset(t->hosts + t->nhosts, 0, hosts->nkids * sizeof(*t->hosts));
	s->hosts = xcalloc(hosts->nkids, sizeof(*s->hosts));
	for (i = 0; i < hosts->nkids; i++) {
		s->hosts[s->nhosts++] = t->nhosts;
		if ((rc = parse_host(c, t, hosts->kids[i], t->nsites - 1)) != 0)
			return rc;
	}
	return 0;
}

static int
parse_link(struct yctx *c, struct topology *t, const struct ynode *n)
{
	struct link *l = &t->links[t->nlinks];
	const struct ynode *v, *between;
	double cap;
	long a, b;
	int rc;

	l->capacity = CAP_UNLIMITED;
	t->nlinks++;
	if ((rc = ymap_check(c, n, "link", link_keys)) != 0 ||
	    (rc = yreq(c, n, "link", "between", &between)) != 0 ||
	    (rc = yseq_check(c, between, "between")) != 0)
		return rc;
	if (between->nkids != 2)
		return yerr(c, between, "between: expected two sites");
	if ((rc = yscalar_check(c, between->kids[0], "between")) != 0 ||
	    (rc = yscalar_check(c, between->kids[1], "between")) != 0)
		return rc;
	if ((a = topology_site(t, between->kids[0]->text)) < 0)
		return yerr(c, between->kids[0], "between: no site named '%s'",
		    between->kids[0]->text);
	if ((b = topology_site(t, between->kids[1]->text)) < 0)
		return yerr(c, between->kids[1], "between: no site named '%s'",
		    between->kids[1]->text);
	if (a == b)
		return yerr(c, between, "between: a link joins two "
		    "different sites");
	l->a = (size_t)a;
	l->b = (size_t)b;
	if ((v = ymap_get(n, "name")) != NULL) {
		if ((rc = yget_name(c, v, "link name", &l->name)) != 0)
			return rc;
	} else
		l->name = xasprintf("%s--%s", t->sites[a].name,
		    t->sites[b].name);
	if ((v = ymap_get(n, "capacity")) != NULL &&
	    (rc = parse_capacity(c, v, "capacity", &l->capacity)) != 0)
		return rc;
	if ((v = ymap_get(n, "reserved")) != NULL) {
		if ((rc = yget_bandwidth(c, v, "reserved", &l->reserved)) != 0)
			return rc;
		if (l->capacity == CAP_UNLIMITED)
			return yerr(c, v, "reserved: the link has no capacity "
			    "to reserve from");
		cap = l->capacity - l->reserved;
		if (cap <= 0)
			return yerr(c, v, "reserved: leaves no capacity on "
			    "link %s", l->name);
	}
	if ((v = ymap_get(n, "latency")) != NULL &&
	    (rc = yget_duration(c, v, "latency", &l->latency)) != 0)
		return rc;
	return 0;
}

/* Numbers the distinct partitions in order of first use. */
static void
index_partitions(struct topology *t)
{
	size_t i, j;

	t->partitions = xcalloc(t->nsites ? t->nsites : 1, sizeof(char *));
	for (i = 0; i < t->nsites; i++) {
		struct site *s = &t->sites[i];

		s->part = -1;
		if (s->partition == NULL)
			continue;
		for (j = 0; j < t->npartitions; j++)
			if (strcmp(t->partitions[j], s->partition) == 0)
				break;
		if (j == t->npartitions)
			t->partitions[t->npartitions++] = s->partition;
		s->part = (long)j;
	}
}

static void
add_resource(struct topology *t, char *id, enum resource_kind kind,
    size_t owner, double capacity)
{
	struct resource *r = &t->resources[t->nresources++];

	r->id = id;
	r->kind = kind;
	r->owner = owner;
	r->capacity = capacity;
}

static void
build_resources(struct topology *t)
{
	size_t i;

	t->resources = xcalloc(2 * (t->nhosts + t->nsites + t->nlinks),
	    sizeof(*t->resources));
	for (i = 0; i < t->nhosts; i++) {
		add_resource(t, xasprintf("host:%s:out", t->hosts[i].name),
		    RES_HOST_OUT, i, t->hosts[i].nic_out);
		add_resource(t, xasprintf("host:%s:in", t->hosts[i].name),
		    RES_HOST_IN, i, t->hosts[i].nic_in);
	}
	for (i = 0; i < t->nsites; i++) {
		add_resource(t, xasprintf("site:%s:up", t->sites[i].name),
		    RES_SITE_UP, i, t->sites[i].uplink);
		add_resource(t, xasprintf("site:%s:down", t->sites[i].name),
		    RES_SITE_DOWN, i, t->sites[i].downlink);
	}
	for (i = 0; i < t->nlinks; i++) {
		const struct link *l = &t->links[i];
		double cap = l->capacity == CAP_UNLIMITED ? CAP_UNLIMITED :
		    l->capacity - l->reserved;

		add_resource(t, xasprintf("link:%s:%s>%s", l->name,
		    t->sites[l->a].name, t->sites[l->b].name), RES_LINK, i,
		    cap);
		add_resource(t, xasprintf("link:%s:%s>%s", l->name,
		    t->sites[l->b].name, t->sites[l->a].name), RES_LINK, i,
		    cap);
	}
}

static int
index_names(struct yctx *c, struct topology *t, const struct ynode *sites,
    const struct ynode *links)
{
	size_t i, j;

	t->site_order = name_order(t->nsites, site_key, t);
	for (i = 1; i < t->nsites; i++)
		if (strcmp(t->sites[t->site_order[i - 1]].name,
		    t->sites[t->site_order[i]].name) == 0) {
			j = t->site_order[i] > t->site_order[i - 1] ?
			    t->site_order[i] : t->site_order[i - 1];
			return yerr(c, ymap_get(sites->kids[j], "name"),
			    "duplicate site name '%s'", t->sites[j].name);
		}
	t->host_order = name_order(t->nhosts, host_key, t);
	for (i = 1; i < t->nhosts; i++)
		if (strcmp(t->hosts[t->host_order[i - 1]].name,
		    t->hosts[t->host_order[i]].name) == 0) {
			size_t h = t->host_order[i] > t->host_order[i - 1] ?
			    t->host_order[i] : t->host_order[i - 1];
			const struct ynode *sn = sites->kids[t->hosts[h].site];
			const struct ynode *hn = ymap_get(sn, "hosts");
			size_t k;

			for (k = 0; k < t->sites[t->hosts[h].site].nhosts; k++)
				if (t->sites[t->hosts[h].site].hosts[k] == h)
					break;
			return yerr(c, ymap_get(hn->kids[k], "name"),
			    "duplicate host name '%s'", t->hosts[h].name);
		}
	(void)links;
	return 0;
}

/*
 * Builds a topology from a parsed document.  On success *out is owned by the
 * caller (topology_free()); otherwise the diag is set and EX_DATAERR is
 * returned.
 */
int
topology_parse(const char *path, const struct ynode *root,
    struct topology **out, struct diag *d)
{
	struct yctx c = { path, d };
	struct topology *t;
	const struct ynode *v, *sites, *links;
	uint64_t u;
	size_t i, j;
	int rc;

	*out = NULL;
	t = xcalloc(1, sizeof(*t));
	t->round = 60;
	t->block_size = 4194304;
	t->failure_threshold = 3;
	if (root == NULL) {
		rc = yerr(&c, NULL, "empty topology");
		goto fail;
	}
	if ((rc = ymap_check(&c, root, "topology", topology_keys)) != 0)
		goto fail;
	if ((v = ymap_get(root, "round")) != NULL) {
		if ((rc = yget_duration(&c, v, "round", &t->round)) != 0)
			goto fail;
		if (t->round < 1 || t->round > 86400) {
			rc = yerr(&c, v, "round: must be from 1s to 24h");
			goto fail;
		}
	}
	if ((v = ymap_get(root, "block_size")) != NULL) {
		if ((rc = yget_size(&c, v, "block_size", &t->block_size)) != 0)
			goto fail;
		if (t->block_size < 4096 || t->block_size > ((uint64_t)1 << 30)) {
			rc = yerr(&c, v, "block_size: must be from 4KiB to "
			    "1GiB");
			goto fail;
		}
	}
	if ((v = ymap_get(root, "retire_after")) != NULL) {
		if ((rc = yget_duration(&c, v, "retire_after",
		    &t->retire_after)) != 0)
			goto fail;
		if (t->retire_after < 1 || t->retire_after > 366 * 86400.0) {
			rc = yerr(&c, v, "retire_after: must be from 1s to "
			    "366d");
			goto fail;
		}
	}
	if ((v = ymap_get(root, "failure_threshold")) != NULL) {
		if ((rc = yget_u64(&c, v, "failure_threshold", &u)) != 0)
			goto fail;
		if (u < 1 || u > 1000000) {
			rc = yerr(&c, v, "failure_threshold: must be from 1 "
			    "to 1000000");
			goto fail;
		}
		t->failure_threshold = (unsigned)u;
	}
	if ((rc = yreq(&c, root, "topology", "sites", &sites)) != 0 ||
	    (rc = yseq_check(&c, sites, "sites")) != 0)
		goto fail;
	if (sites->nkids == 0) {
		rc = yerr(&c, sites, "sites: at least one site is needed");
		goto fail;
	}
	t->sites = xcalloc(sites->nkids, sizeof(*t->sites));
	for (i = 0; i < sites->nkids; i++)
		if ((rc = parse_site(&c, t, sites->kids[i])) != 0)
			goto fail;
	links = ymap_get(root, "links");
	if ((rc = index_names(&c, t, sites, links)) != 0)
		goto fail;
	if (links != NULL) {
		if ((rc = yseq_check(&c, links, "links")) != 0)
			goto fail;
		t->links = xcalloc(links->nkids, sizeof(*t->links));
		for (i = 0; i < links->nkids; i++) {
			if ((rc = parse_link(&c, t, links->kids[i])) != 0)
				goto fail;
			for (j = 0; j < i; j++)
				if (strcmp(t->links[j].name,
				    t->links[i].name) == 0) {
					v = ymap_get(links->kids[i], "name");
					rc = yerr(&c, v ? v : links->kids[i],
					    "duplicate link name '%s'",
					    t->links[i].name);
					goto fail;
				}
		}
	}
	index_partitions(t);
	build_resources(t);
	t->resource_order = name_order(t->nresources, resource_key, t);
	t->route_pred = xcalloc(t->nsites, sizeof(*t->route_pred));
	*out = t;
	return 0;
fail:
	topology_free(t);
	return rc;
}

/* Loads and validates a topology file; see topology_parse(). */
int
topology_load(const char *path, struct topology **out, struct diag *d)
{
	struct ynode *root;
	int rc;

	*out = NULL;
	if ((rc = ydoc_load(path, &root, d)) != 0)
		return rc;
	rc = topology_parse(path, root, out, d);
	ynode_free(root);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Routes                                                              */

/* Writes the sites of the best path from the source to v, reversed. */
static size_t
path_back(const int *pred_site, size_t v, size_t *buf)
{
	size_t n = 0;

	buf[n++] = v;
	while (pred_site[v] >= 0) {
		v = (size_t)pred_site[v];
		buf[n++] = v;
	}
	return n;
}

/* Compares the site-name sequences of the best paths to u and v. */
static int
path_cmp(const struct topology *t, const int *pred_site, size_t u, size_t v,
    size_t *bu, size_t *bv)
{
	size_t nu = path_back(pred_site, u, bu);
	size_t nv = path_back(pred_site, v, bv);
	size_t i;
	int c;

	for (i = 0; i < nu && i < nv; i++) {
		c = strcmp(t->sites[bu[nu - 1 - i]].name,
		    t->sites[bv[nv - 1 - i]].name);
		if (c != 0)
			return c;
	}
	return (nu > nv) - (nu < nv);
}

/*
 * Computes, for source site s, each site's predecessor on its best path:
 * least total latency, then fewest hops, then the sequence of site names in
 * byte order.  pred[v] is the link resource into v, pred[S + v] the site.
 */
static int *
route_tree(const struct topology *t, size_t s)
{
	size_t S = t->nsites, i, k, u, v;
	int *pred = xcalloc(2 * S, sizeof(int));
	int *pred_site = pred + S;
	double *dist = xcalloc(S, sizeof(double));
	size_t *hops = xcalloc(S, sizeof(size_t));
	char *done = xcalloc(S, 1);
	size_t *bu = xcalloc(S + 1, sizeof(size_t));
	size_t *bv = xcalloc(S + 1, sizeof(size_t));

	for (i = 0; i < S; i++) {
		dist[i] = INFINITY;
		pred[i] = -1;
		pred_site[i] = -1;
	}
	dist[s] = 0;
	for (;;) {
		long best = -1;

		for (i = 0; i < S; i++) {
			if (done[i] || !isfinite(dist[i]))
				continue;
			if (best < 0 || dist[i] < dist[best] ||
			    (dist[i] == dist[best] && (hops[i] < hops[best] ||
			    (hops[i] == hops[best] && path_cmp(t, pred_site,
			    i, (size_t)best, bu, bv) < 0))))
				best = (long)i;
		}
		if (best < 0)
			break;
		u = (size_t)best;
		done[u] = 1;
		for (k = 0; k < t->nlinks; k++) {
			const struct link *l = &t->links[k];
			int reverse;
			double nd;

			if (l->a == u) {
				v = l->b;
				reverse = 0;
			} else if (l->b == u) {
				v = l->a;
				reverse = 1;
			} else
				continue;
			if (done[v])
				continue;
			nd = dist[u] + l->latency;
			if (nd < dist[v] || (nd == dist[v] &&
			    (hops[u] + 1 < hops[v] || (hops[u] + 1 == hops[v] &&
			    pred_site[v] >= 0 && path_cmp(t, pred_site, u,
			    (size_t)pred_site[v], bu, bv) < 0)))) {
				dist[v] = nd;
				hops[v] = hops[u] + 1;
				pred_site[v] = (int)u;
				pred[v] = (int)res_link(t, k, reverse);
			}
		}
	}
	free(dist);
	free(hops);
	free(done);
	free(bu);
	free(bv);
	return pred;
}

/*
 * Writes the link resources from site `from` to site `to`, in order, into
 * links (at most max).  The direct link is used when there is one (the
 * first in the file).  Returns the count, or -1 when there is no route.
 */
int
route_sites(struct topology *t, size_t from, size_t to, size_t *links,
    size_t max)
{
	size_t k, n = 0, v, i;
	int *pred;

	if (from == to)
		return 0;
	for (k = 0; k < t->nlinks; k++) {
		if (t->links[k].a == from && t->links[k].b == to) {
			if (max < 1)
				return -1;
			links[0] = res_link(t, k, 0);
			return 1;
		}
		if (t->links[k].b == from && t->links[k].a == to) {
			if (max < 1)
				return -1;
			links[0] = res_link(t, k, 1);
			return 1;
		}
	}
	if (t->route_pred[from] == NULL)
		t->route_pred[from] = route_tree(t, from);
	pred = t->route_pred[from];
	for (v = to; v != from; v = (size_t)pred[t->nsites + v]) {
		if (pred[v] < 0 || n >= max)
			return -1;
		links[n++] = (size_t)pred[v];
	}
	for (i = 0; i < n / 2; i++) {
		size_t tmp = links[i];

		links[i] = links[n - 1 - i];
		links[n - 1 - i] = tmp;
	}
	return (int)n;
}

/*
 * Writes every resource a copy from host src to host dst uses into res (at
 * most max): the source NIC out, the site uplink, the links, the site
 * downlink, the destination NIC in.  Returns the count or -1 (no route).
 */
int
route_resources(struct topology *t, size_t src, size_t dst, size_t *res,
    size_t max)
{
	size_t sa = t->hosts[src].site, sb = t->hosts[dst].site;
	int n;

	if (max < 4)
		return -1;
	if (sa == sb) {
		res[0] = res_host_out(src);
		res[1] = res_host_in(dst);
		return 2;
	}
	res[0] = res_host_out(src);
	res[1] = res_site_up(t, sa);
	if ((n = route_sites(t, sa, sb, res + 2, max - 4)) < 0)
		return -1;
	res[2 + n] = res_site_down(t, sb);
	res[3 + n] = res_host_in(dst);
	return n + 4;
}

/* Total latency of the route from site `from` to site `to`, in seconds
 * (one way). */
double
site_latency(struct topology *t, size_t from, size_t to)
{
	size_t links[64];
	double lat = 0;
	int n, i;

	n = route_sites(t, from, to, links, 64);
	for (i = 0; i < n; i++)
		lat += t->links[t->resources[links[i]].owner].latency;
	return lat;
}

/* Total latency of the route between two hosts' sites, in seconds. */
double
route_latency(struct topology *t, size_t src, size_t dst)
{
	return site_latency(t, t->hosts[src].site, t->hosts[dst].site);
}

/* Number of inter-site links on the route, or -1 when there is none. */
int
route_hops(struct topology *t, size_t src, size_t dst)
{
	size_t links[64];

	return route_sites(t, t->hosts[src].site, t->hosts[dst].site, links,
	    64);
}
