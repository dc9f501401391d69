/* test_topology.c: sites, hosts, links, resources and routes. */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "unit.h"

int
topology_from_string(const char *text, struct topology **t, struct diag *d)
{
	struct ynode *root;
	int rc;

	*t = NULL;
	if ((rc = ydoc_parse("t.yaml", (const unsigned char *)text,
	    strlen(text), &root, d)) != 0)
		return rc;
	rc = topology_parse("t.yaml", root, t, d);
	ynode_free(root);
	return rc;
}

/*
 * Hand-worked routes.  A-B-D and A-C-D tie on latency (20ms) and hops, so
 * the names decide: A,B,D.  A to G: A-E-F-G is 15ms over three hops, A-B-G
 * 30ms over two: latency wins.  A to H: A-B-H and A-E-F-H are both 20ms;
 * fewer hops wins.  C to G: the direct link (100ms) beats C-A-E-F-G (25ms).
 */
static const char route_yaml[] =
    "sites:\n"
    "  - {name: A, hosts: [{name: a1, address: 192.0.2.1, root: /s}]}\n"
    "  - {name: B}\n"
    "  - {name: C}\n"
    "  - {name: D, hosts: [{name: d1, address: 192.0.2.4, root: /s}]}\n"
    "  - {name: E}\n"
    "  - {name: F}\n"
    "  - {name: G}\n"
    "  - {name: H}\n"
    "links:\n"
    "  - {between: [A, B], latency: 10ms}\n"
    "  - {between: [B, D], latency: 10ms}\n"
    "  - {between: [C, A], latency: 10ms}\n"
    "  - {between: [C, D], latency: 10ms}\n"
    "  - {between: [A, E], latency: 5ms}\n"
    "  - {between: [E, F], latency: 5ms}\n"
    "  - {between: [F, G], latency: 5ms}\n"
    "  - {between: [B, G], latency: 20ms}\n"
    "  - {between: [B, H], latency: 10ms}\n"
    "  - {between: [F, H], latency: 10ms}\n"
    "  - {name: cg, between: [C, G], latency: 100ms, capacity: 1Gbit}\n";

static char *
route_string(struct topology *t, const char *from, const char *to)
{
	size_t links[16], i;
	char *out = xstrdup("");
	int n;

	n = route_sites(t, (size_t)topology_site(t, from),
	    (size_t)topology_site(t, to), links, 16);
	if (n < 0) {
		free(out);
		return xstrdup("none");
	}
	for (i = 0; i < (size_t)n; i++) {
		char *next = xasprintf("%s%s%s", out, i ? " " : "",
		    t->resources[links[i]].id);

		free(out);
		out = next;
	}
	return out;
}

static void
assert_route(struct topology *t, const char *from, const char *to,
    const char *want)
{
	char *got = route_string(t, from, to);

	ck_assert_msg(strcmp(got, want) == 0, "route %s to %s: got '%s', "
	    "want '%s'", from, to, got, want);
	free(got);
}

START_TEST(routes_hand_worked)
{
	struct topology *t;
	struct diag d = { "" };

	ck_assert_int_eq(topology_from_string(route_yaml, &t, &d), 0);
	assert_route(t, "A", "D", "link:A--B:A>B link:B--D:B>D");
	assert_route(t, "D", "A", "link:B--D:D>B link:A--B:B>A");
	assert_route(t, "A", "G", "link:A--E:A>E link:E--F:E>F link:F--G:F>G");
	assert_route(t, "A", "H", "link:A--B:A>B link:B--H:B>H");
	assert_route(t, "C", "G", "link:cg:C>G");
	assert_route(t, "G", "C", "link:cg:G>C");
	assert_route(t, "A", "C", "link:C--A:A>C");
	assert_route(t, "A", "A", "");
	topology_free(t);
}
END_TEST

START_TEST(routes_unreachable)
{
	struct topology *t;
	struct diag d = { "" };

	ck_assert_int_eq(topology_from_string("sites: [{name: a}, {name: b}, "
	    "{name: c}]\nlinks: [{between: [a, b]}]\n", &t, &d), 0);
	assert_route(t, "a", "c", "none");
	assert_route(t, "b", "a", "link:a--b:b>a");
	topology_free(t);
}
END_TEST

START_TEST(resources_of_a_copy)
{
	struct topology *t;
	struct diag d = { "" };
	size_t res[16];
	long a1, d1;
	int n;

	ck_assert_int_eq(topology_from_string(route_yaml, &t, &d), 0);
	a1 = topology_host(t, "a1");
	d1 = topology_host(t, "d1");
	ck_assert_int_ge(a1, 0);
	ck_assert_int_ge(d1, 0);
	n = route_resources(t, (size_t)a1, (size_t)d1, res, 16);
	ck_assert_int_eq(n, 6);
	ck_assert_str_eq(t->resources[res[0]].id, "host:a1:out");
	ck_assert_str_eq(t->resources[res[1]].id, "site:A:up");
	ck_assert_str_eq(t->resources[res[2]].id, "link:A--B:A>B");
	ck_assert_str_eq(t->resources[res[3]].id, "link:B--D:B>D");
	ck_assert_str_eq(t->resources[res[4]].id, "site:D:down");
	ck_assert_str_eq(t->resources[res[5]].id, "host:d1:in");
	ck_assert_double_eq_tol(route_latency(t, (size_t)a1, (size_t)d1),
	    0.02, 1e-12);
	ck_assert_int_eq(route_hops(t, (size_t)a1, (size_t)d1), 2);
	ck_assert_int_eq(topology_resource(t, "link:cg:G>C"),
	    (long)res_link(t, (size_t)topology_link(t, "cg"), 1));
	ck_assert_double_eq(t->resources[topology_resource(t,
	    "link:cg:G>C")].capacity, 125e6);
	ck_assert_double_eq(t->resources[topology_resource(t,
	    "host:a1:in")].capacity, CAP_UNLIMITED);
	topology_free(t);
}
END_TEST

START_TEST(capacities_and_defaults)
{
	struct topology *t;
	struct diag d = { "" };
	const struct host *h;

	ck_assert_int_eq(topology_from_string(
	    "round: 30s\nblock_size: 1MiB\nfailure_threshold: 5\n"
	    "sites:\n"
	    "  - name: us-east\n"
	    "    partition: americas\n"
	    "    uplink: 10Gbit\n"
	    "    hosts:\n"
	    "      - {name: use-01, address: 192.0.2.10, port: 2222, "
	    "user: sluice, root: /srv/sluice, nic_in: 1Gbit, nic_out: 2Gbit}\n"
	    "      - {name: use-02, address: 192.0.2.11, root: /srv, "
	    "nic: 100MB/s}\n"
	    "  - {name: eu-west}\n"
	    "links:\n"
	    "  - {name: use-euw, between: [us-east, eu-west], capacity: "
	    "2.5Gbit, reserved: 500Mbit, latency: 80ms}\n", &t, &d), 0);
	ck_assert_double_eq(t->round, 30);
	ck_assert_uint_eq(t->block_size, 1048576);
	ck_assert_uint_eq(t->failure_threshold, 5);
	ck_assert_uint_eq(t->nhosts, 2);
	h = &t->hosts[0];
	ck_assert_uint_eq(h->port, 2222);
	ck_assert_str_eq(h->user, "sluice");
	ck_assert_double_eq(h->nic_in, 125e6);
	ck_assert_double_eq(h->nic_out, 250e6);
	ck_assert_uint_eq(t->hosts[1].port, 22);
	ck_assert_ptr_null(t->hosts[1].user);
	ck_assert_double_eq(t->hosts[1].nic_in, 100e6);
	ck_assert_double_eq(t->sites[0].uplink, 1.25e9);
	ck_assert_double_eq(t->sites[0].downlink, CAP_UNLIMITED);
	ck_assert_str_eq(t->sites[0].partition, "americas");
	ck_assert_double_eq(t->resources[topology_resource(t,
	    "link:use-euw:eu-west>us-east")].capacity, 250e6);
	ck_assert_int_eq(topology_resource(t, "link:use-euw:us-east>us-east"),
	    -1);
	ck_assert_uint_eq(t->nresources, 2 * 2 + 2 * 2 + 2);
	topology_free(t);
}
END_TEST

Suite *
suite_topology(void)
{
	Suite *s = suite_create("topology");
	TCase *tc = tcase_create("topology");

	tcase_add_test(tc, routes_hand_worked);
	tcase_add_test(tc, routes_unreachable);
	tcase_add_test(tc, resources_of_a_copy);
	tcase_add_test(tc, capacities_and_defaults);
	suite_add_tcase(s, tc);
	return s;
}
