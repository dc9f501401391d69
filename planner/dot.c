/*
 * dot.c: sluice-plan dot, the topology in Graphviz's language: every site
 * a cluster of its hosts, every link an edge coloured and labelled by how
 * much of its capacity the active plans use in each direction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "planner.h"

static const char *
colour(double share)
{
	if (share >= 0.9)
		return "red";
	if (share >= 0.5)
		return "orange";
	if (share > 0)
		return "forestgreen";
	return "gray60";
}

static double
share(const struct topology *t, const double *use, size_t r)
{
	double cap = t->resources[r].capacity;

	return cap == CAP_UNLIMITED ? 0 : use[r] / cap;
}

int
cmd_dot(int argc, char **argv)
{
	const char *dir = dir_argument(argc, argv);
	struct master *m;
	struct topology *t;
	struct plan **plans;
	double *use;
	size_t h, i, j;
	int rc;

	if (dir == NULL) {
		fprintf(stderr, "usage: sluice-plan dot -d DIR\n");
		return EX_USAGE;
	}
	if ((rc = master_load(dir, &m, 0)) != 0)
		return rc;
	t = m->topology;
	plans = epoch_plans(m, m->set_epoch);
	use = budget_use(t, plans, t->nhosts);
	printf("graph sluice {\n\trankdir=LR;\n\tnode [shape=box, "
	    "fontsize=10];\n");
	for (i = 0; i < t->nsites; i++) {
		const struct site *s = &t->sites[i];

		printf("\tsubgraph \"cluster_%s\" {\n\t\tlabel=\"%s\\nup %.0f%% "
		    "down %.0f%%\";\n\t\tcolor=%s;\n", s->name, s->name,
		    100 * share(t, use, res_site_up(t, i)),
		    100 * share(t, use, res_site_down(t, i)),
		    colour(share(t, use, res_site_up(t, i)) >
		    share(t, use, res_site_down(t, i)) ?
		    share(t, use, res_site_up(t, i)) :
		    share(t, use, res_site_down(t, i))));
		printf("\t\t\"site:%s\" [shape=point];\n", s->name);
		for (j = 0; j < s->nhosts; j++) {
			size_t hh = s->hosts[j];
			double in = share(t, use, res_host_in(hh));
			double out = share(t, use, res_host_out(hh));

			printf("\t\t\"%s\" [label=\"%s\\nin %.0f%% out %.0f%%\", "
			    "color=%s];\n", t->hosts[hh].name,
			    t->hosts[hh].name, 100 * in, 100 * out,
			    colour(in > out ? in : out));
		}
		printf("\t}\n");
	}
	for (i = 0; i < t->nlinks; i++) {
		const struct link *l = &t->links[i];
		double ab = share(t, use, res_link(t, i, 0));
		double ba = share(t, use, res_link(t, i, 1));

		printf("\t\"site:%s\" -- \"site:%s\" [label=\"%s\\n%s>%s %.0f%%"
		    "\\n%s>%s %.0f%%\", color=%s, penwidth=%.1f];\n",
		    t->sites[l->a].name, t->sites[l->b].name, l->name,
		    t->sites[l->a].name, t->sites[l->b].name, 100 * ab,
		    t->sites[l->b].name, t->sites[l->a].name, 100 * ba,
		    colour(ab > ba ? ab : ba), 1 + 3 * (ab > ba ? ab : ba));
	}
	printf("}\n");
	for (h = 0; h < t->nhosts; h++)
		plan_free(plans[h]);
	free(plans);
	free(use);
	master_free(m);
	return 0;
}
