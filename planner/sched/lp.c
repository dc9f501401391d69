/*
 * lp.c: a linear program solved with GLPK, the one file that knows GLPK.
 * The caller builds the problem (columns with their objective, rows with
 * their bounds, the matrix entry by entry), lp_solve() maximises it and
 * returns every column's value; the caller decides what to grant.  GLPK's
 * presolver reduces the problem, and its primal simplex solves what is
 * left (all-zero is feasible for whatever the planner builds).
 *
 * GLPK ends the process on a problem it cannot take (duplicate or out of
 * range indices, say).  So every problem is checked and its entries
 * merged before it is loaded, and GLPK's error hook jumps back here as a
 * last resort: a bad problem is a failed solve (the caller's greedy
 * fallback), never the end of a planning run.
 */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glpk.h>

#include "schedule.h"

/* A problem as built, before GLPK sees it; only this file knows it. */
struct lp {
	size_t		 ncols, capcols;
	double		*obj;		/* per column: worth per unit */
	char		*col_fixed;	/* per column: fixed at zero */
	size_t		 nrows, caprows;
	double		*row_bound;	/* per row: at most this */
	char		*row_fixed;	/* per row: exactly zero */
	int		*ia, *ja;	/* entries, from index 1 */
	double		*ar;
	size_t		 ne, cap;
	int		 time_limit_ms;
	int		 quiet;		/* says nothing when it fails */
};

/* A new empty problem whose solves stop after time_limit_ms; to be freed
 * with lp_free(). */
struct lp *
lp_new(int time_limit_ms)
{
	struct lp *p = xcalloc(1, sizeof(*p));

	p->time_limit_ms = time_limit_ms;
	return p;
}

/* Its solves say nothing when they fail (the caller's greedy fill takes
 * over all the same). */
void
lp_quiet(struct lp *p)
{
	p->quiet = 1;
}

/* Frees a problem; NULL is fine. */
void
lp_free(struct lp *p)
{
	if (p == NULL)
		return;
	free(p->obj);
	free(p->col_fixed);
	free(p->row_bound);
	free(p->row_fixed);
	free(p->ia);
	free(p->ja);
	free(p->ar);
	free(p);
}

/* The number of columns added so far. */
size_t
lp_ncols(const struct lp *p)
{
	return p->ncols;
}

/* Adds a column (at least zero, or fixed at zero) worth obj per unit;
 * returns its number, from 1. */
int
lp_add_col(struct lp *p, double obj, int fixed)
{
	if (p->ncols == p->capcols) {
		p->capcols = p->capcols ? 2 * p->capcols : 256;
		p->obj = xreallocarray(p->obj, p->capcols, sizeof(double));
		p->col_fixed = xreallocarray(p->col_fixed, p->capcols, 1);
	}
	p->obj[p->ncols] = obj;
	p->col_fixed[p->ncols] = (char)fixed;
	return (int)++p->ncols;
}

/* Adds a row: at most bound, or exactly zero when fixed; returns its
 * number, from 1. */
int
lp_add_row(struct lp *p, double bound, int fixed)
{
	if (p->nrows == p->caprows) {
		p->caprows = p->caprows ? 2 * p->caprows : 256;
		p->row_bound = xreallocarray(p->row_bound, p->caprows,
		    sizeof(double));
		p->row_fixed = xreallocarray(p->row_fixed, p->caprows, 1);
	}
	p->row_bound[p->nrows] = bound;
	p->row_fixed[p->nrows] = (char)fixed;
	return (int)++p->nrows;
}

/* Sets the coefficient of column col in row row. */
void
lp_entry(struct lp *p, int row, int col, double v)
{
	if (p->ne + 1 >= p->cap) {
		p->cap = p->cap ? 2 * p->cap : 1024;
		p->ia = xreallocarray(p->ia, p->cap, sizeof(int));
		p->ja = xreallocarray(p->ja, p->cap, sizeof(int));
		p->ar = xreallocarray(p->ar, p->cap, sizeof(double));
	}
	p->ne++;
	p->ia[p->ne] = row;
	p->ja[p->ne] = col;
	p->ar[p->ne] = v;
}

static int
cmp_entry(const void *a, const void *b)
{
	const long *x = a, *y = b;

	if (x[0] != y[0])
		return (x[0] > y[0]) - (x[0] < y[0]);
	return (x[1] > y[1]) - (x[1] < y[1]);
}

/*
 * Checks the problem and merges its entries: every index in range, every
 * number finite (a row's bound may be +INFINITY: no bound).  Where two
 * entries share a (row, column) they are summed into one and zeros are
 * dropped; otherwise the entries stay in their order (GLPK's path, and
 * so the plans, do not change).  Returns 0, or -1 with the reason.
 */
static int
lp_check(struct lp *p, char *why, size_t whylen)
{
	long *key;
	size_t i, k;

	if (p->ncols > INT_MAX / 2 || p->nrows > INT_MAX / 2 ||
	    p->ne > INT_MAX / 2) {
		snprintf(why, whylen, "%zu columns, %zu rows, %zu entries: too "
		    "large", p->ncols, p->nrows, p->ne);
		return -1;
	}
	for (i = 0; i < p->ncols; i++)
		if (!isfinite(p->obj[i])) {
			snprintf(why, whylen, "column %zu: objective %g", i + 1,
			    p->obj[i]);
			return -1;
		}
	for (i = 0; i < p->nrows; i++)
		if (isnan(p->row_bound[i]) || p->row_bound[i] == -INFINITY) {
			snprintf(why, whylen, "row %zu: bound %g", i + 1,
			    p->row_bound[i]);
			return -1;
		}
	/* Sort (row, column, position) keys; equal pairs end up adjacent. */
	key = xcalloc(p->ne ? p->ne : 1, 2 * sizeof(long));
	for (i = 1; i <= p->ne; i++) {
		if (p->ia[i] < 1 || (size_t)p->ia[i] > p->nrows ||
		    p->ja[i] < 1 || (size_t)p->ja[i] > p->ncols ||
		    !isfinite(p->ar[i])) {
			snprintf(why, whylen, "entry %zu: (%d, %d) = %g outside "
			    "%zu rows and %zu columns", i, p->ia[i], p->ja[i],
			    p->ar[i], p->nrows, p->ncols);
			free(key);
			return -1;
		}
		key[2 * (i - 1)] = (long)p->ia[i] * (long)(p->ncols + 1) +
		    p->ja[i];
		key[2 * (i - 1) + 1] = (long)i;
	}
	if (p->ne > 1)
		qsort(key, p->ne, 2 * sizeof(long), cmp_entry);
	for (i = 1, k = 0; i < p->ne && k == 0; i++)
		k = key[2 * i] == key[2 * (i - 1)];
	if (k == 0) {
		free(key);
		return 0;
	}
	{
		int *ia = xcalloc(p->ne + 1, sizeof(int));
		int *ja = xcalloc(p->ne + 1, sizeof(int));
		double *ar = xcalloc(p->ne + 1, sizeof(double));

		for (i = 0, k = 0; i < p->ne; i++) {
			size_t at = (size_t)key[2 * i + 1];

			if (k > 0 && i > 0 && key[2 * i] == key[2 * (i - 1)]) {
				ar[k] += p->ar[at];
				continue;
			}
			if (k > 0 && ar[k] == 0)
				k--;
			k++;
			ia[k] = p->ia[at];
			ja[k] = p->ja[at];
			ar[k] = p->ar[at];
		}
		if (k > 0 && ar[k] == 0)
			k--;
		free(p->ia);
		free(p->ja);
		free(p->ar);
		p->ia = ia;
		p->ja = ja;
		p->ar = ar;
		p->ne = k;
		p->cap = p->ne + 1;
	}
	free(key);
	return 0;
}

/* GLPK's error hook: back to lp_solve(), whose jump buffer info is. */
static void
lp_error(void *info)
{
	longjmp(*(jmp_buf *)info, 1);
}

/*
 * Maximises the problem.  On success x[col - 1] is every column's value
 * and the result is 0 (optimal) or 1 (feasible, stopped at the time or
 * iteration limit); -1 when GLPK found no usable solution or the problem
 * was refused (x untouched; said on standard error).  *seconds gets the
 * time spent.
 */
int
lp_solve(struct lp *p, double *x, double *seconds)
{
	glp_prob *volatile lp = NULL;
	glp_smcp parm;
	struct timespec t0, t1;
	jmp_buf env;
	char why[256];
	size_t i;
	int rc, status;
	volatile int result = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (lp_check(p, why, sizeof(why)) != 0) {
		if (!p->quiet)
			warnx_("LP refused (%s); greedy used", why);
		goto out;
	}
	if (setjmp(env) != 0) {
		/* GLPK met an error it would end the process for: what it
		 * holds is gone with its environment. */
		glp_free_env();
		if (!p->quiet)
			warnx_("LP failed inside GLPK (its message is above); "
			    "greedy used");
		result = -1;
		goto out;
	}
	glp_error_hook(lp_error, &env);
	glp_term_out(GLP_OFF);
	lp = glp_create_prob();
	glp_set_obj_dir(lp, GLP_MAX);
	if (p->ncols > 0)
		glp_add_cols(lp, (int)p->ncols);
	if (p->nrows > 0)
		glp_add_rows(lp, (int)p->nrows);
	for (i = 0; i < p->ncols; i++) {
		glp_set_col_bnds(lp, (int)i + 1, p->col_fixed[i] ? GLP_FX :
		    GLP_LO, 0, 0);
		if (p->obj[i] != 0)
			glp_set_obj_coef(lp, (int)i + 1, p->obj[i]);
	}
	for (i = 0; i < p->nrows; i++) {
		if (p->row_fixed[i])
			glp_set_row_bnds(lp, (int)i + 1, GLP_FX, 0, 0);
		else if (p->row_bound[i] == INFINITY)
			glp_set_row_bnds(lp, (int)i + 1, GLP_FR, 0, 0);
		else
			glp_set_row_bnds(lp, (int)i + 1, GLP_UP, 0,
			    p->row_bound[i]);
	}
	if (p->ne > 0)
		glp_load_matrix(lp, (int)p->ne, p->ia, p->ja, p->ar);
	/*
	 * The planner's problems are well scaled (coefficients 1 to a block
	 * in MiB); GLPK's presolver and textbook pricing solve them in two
	 * thirds of the time of steepest edge on the whole problem
	 * (measured on the 1,000 per-file LPs of a 10,000-host round).
	 */
	glp_init_smcp(&parm);
	parm.msg_lev = GLP_MSG_OFF;
	parm.meth = GLP_PRIMAL;
	parm.pricing = GLP_PT_STD;
	parm.presolve = GLP_ON;
	parm.tm_lim = p->time_limit_ms;
	rc = glp_simplex(lp, &parm);
	status = glp_get_status(lp);
	if ((rc == 0 || rc == GLP_ETMLIM || rc == GLP_EITLIM) &&
	    (status == GLP_OPT || status == GLP_FEAS)) {
		for (i = 0; i < p->ncols; i++)
			x[i] = glp_get_col_prim(lp, (int)i + 1);
		result = rc == 0 ? 0 : 1;
	} else if (!p->quiet)
		warnx_("LP failed (glp_simplex %d, status %d); greedy used",
		    rc, status);
	glp_delete_prob(lp);
	glp_error_hook(NULL, NULL);
out:
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*seconds = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return result;
}

/* Frees what GLPK keeps for the calling thread. */
void
lp_thread_done(void)
{
	glp_free_env();
}
