/* main_agent.c: runs the agent's unit suites (the store, the pace and the
 * ring); exits non-zero when any check fails. */
#include <stdlib.h>

#include "unit.h"

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(suite_store());
	srunner_add_suite(sr, suite_run());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
