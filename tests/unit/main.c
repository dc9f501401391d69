/* main.c: runs every unit suite; exits non-zero when any check fails. */
#include <stdlib.h>

#include "unit.h"

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(suite_units());
	srunner_add_suite(sr, suite_names());
	srunner_add_suite(sr, suite_topology());
	srunner_add_suite(sr, suite_formats());
	srunner_add_suite(sr, suite_planner());
	srunner_add_suite(sr, suite_sched());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
