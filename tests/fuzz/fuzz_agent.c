/* fuzz_agent.c: the agent's configuration reader, for fuzz.c. */
#include "../../agent/agent.h"
#include "fuzz.h"

void
fuzz_agent_config(const struct ynode *root)
{
	struct agent_config *c = NULL;
	struct diag d = { "" };

	if (config_parse("fuzz.yaml", root, &c, &d) == 0)
		config_free(c);
}
