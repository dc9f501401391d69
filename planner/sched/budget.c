/*
 * budget.c: what each resource may carry.  The one owner of capacity in
 * the planner: the scheduler, the LP, rate boosting, the simulator and
 * verify all ask it.  A round's budget starts at the data share of every
 * capacity (floor(capacity x share) bytes per second; the rest is the
 * headers SSH, TCP and IP add), is charged the plans still in flight and
 * every grant, and answers how much room a route has left.  The final
 * check holds plans to the capacities themselves, by the same rule verify
 * applies.  Resources are indices here; names are resolved once, where a
 * plan read from a file enters.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched.h"

/* Starts a budget at share of every limited capacity. */
void
budget_init(struct budget *b, const struct topology *t, double share)
{
	size_t i;

	b->t = t;
	b->room = xcalloc(t->nresources ? t->nresources : 1, sizeof(double));
	for (i = 0; i < t->nresources; i++)
		b->room[i] = t->resources[i].capacity == CAP_UNLIMITED ?
		    INFINITY : floor(t->resources[i].capacity * share);
}

/* Makes to a copy of from, to be freed on its own. */
void
budget_copy(struct budget *to, const struct budget *from)
{
	size_t n = from->t->nresources ? from->t->nresources : 1;

	to->t = from->t;
	to->room = xcalloc(n, sizeof(double));
	memcpy(to->room, from->room, n * sizeof(double));
}

void
budget_free(struct budget *b)
{
	free(b->room);
	b->room = NULL;
}

/* Charges rate bytes per second (a negative rate gives it back) to every
 * limited resource of a route. */
void
budget_charge(struct budget *b, const size_t *res, int n, double rate)
{
	int i;

	for (i = 0; i < n; i++)
		if (!isinf(b->room[res[i]]))
			b->room[res[i]] -= rate;
}

/* The room a resource has left, in bytes per second (INFINITY when it
 * is not limited; negative when over-charged). */
double
budget_left(const struct budget *b, size_t r)
{
	return b->room[r];
}

/* The least room along a route; INFINITY when nothing on it is limited. */
double
budget_room(const struct budget *b, const size_t *res, int n)
{
	double least = INFINITY;
	int i;

	for (i = 0; i < n; i++)
		if (b->room[res[i]] < least)
			least = b->room[res[i]];
	return least;
}

/* Moves part of a resource's room aside (budget_release() gives it back):
 * how one phase keeps capacity for the next. */
double
budget_hold(struct budget *b, size_t r, double part)
{
	double held;

	if (isinf(b->room[r]))
		return 0;
	held = b->room[r] * part;
	b->room[r] -= held;
	return held;
}

void
budget_release(struct budget *b, size_t r, double held)
{
	if (!isinf(b->room[r]))
		b->room[r] += held;
}

/*
 * The resources of op o as indices, resolved from its names once and
 * kept with the op; names that are not the topology's are left out (a
 * plan from an older topology).  Returns how many.
 */
size_t
op_resources(const struct topology *t, struct op *o)
{
	size_t i;

	if (o->res_index == NULL) {
		o->res_index = xcalloc(o->nresources ? o->nresources : 1,
		    sizeof(size_t));
		o->nres_index = 0;
		for (i = 0; i < o->nresources; i++) {
			long r = topology_resource(t, o->resources[i]);

			if (r >= 0)
				o->res_index[o->nres_index++] = (size_t)r;
		}
	}
	return o->nres_index;
}

/* Adds the rates of a plan's ops to use, per resource. */
void
plan_use(const struct topology *t, struct plan *p, double *use)
{
	size_t i, j, n;

	for (i = 0; i < p->nops; i++) {
		n = op_resources(t, &p->ops[i]);
		for (j = 0; j < n; j++)
			use[p->ops[i].res_index[j]] += p->ops[i].rate;
	}
}

/* Charges a plan still in flight to the budget. */
void
budget_charge_plan(struct budget *b, struct plan *p)
{
	size_t i;

	for (i = 0; i < p->nops; i++) {
		struct op *o = &p->ops[i];
		size_t n = op_resources(b->t, o), j;

		for (j = 0; j < n; j++)
			if (!isinf(b->room[o->res_index[j]]))
				b->room[o->res_index[j]] -= o->rate;
	}
}

/*
 * The rule every check applies: a resource carries use bytes per second
 * within capacity, with room for the rounding of decimal rates.
 */
int
budget_fits(double capacity, double use)
{
	return capacity == CAP_UNLIMITED || use <= capacity * (1 + 1e-9) + 1;
}

/*
 * What the plans still active when the newest of them was issued (those
 * expiring after it) allocate on every resource; plans[i] may be NULL.
 * The array is the caller's.
 */
double *
budget_use(const struct topology *t, struct plan **plans, size_t n)
{
	double *use = xcalloc(t->nresources ? t->nresources : 1,
	    sizeof(double));
	time_t now = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (plans[i] != NULL && plans[i]->issued > now)
			now = plans[i]->issued;
	for (i = 0; i < n; i++)
		if (plans[i] != NULL && plans[i]->expires > now)
			plan_use(t, plans[i], use);
	return use;
}
