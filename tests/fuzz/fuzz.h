/* fuzz.h: the readers the fuzz targets and the replay driver exercise. */
#ifndef SLUICE_FUZZ_H
#define SLUICE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "topology.h"

enum fuzz_target {
	FUZZ_TOPOLOGY, FUZZ_FILESET, FUZZ_MANIFEST, FUZZ_STATE, FUZZ_PLAN,
	FUZZ_AGENT, FUZZ_UNITS, FUZZ_NAMES
};

int	 fuzz_one(enum fuzz_target, const uint8_t *, size_t);
void	 fuzz_agent_config(const struct ynode *);

#endif
