# sluice: plain GNU make.  make, make check, make demo, make bench,
# make install (PREFIX, DESTDIR), make deps and make bench-deps (as root),
# make check SANITIZE=1.

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
CC	?= cc
CFLAGS	?= -O2 -g
PKG_CONFIG ?= pkg-config

WARNINGS = -Wall -Wextra -Wpedantic -Wmissing-prototypes -Wstrict-prototypes \
	   -Wwrite-strings -Wshadow -Wno-format-zero-length
ifeq ($(WERROR),1)
WARNINGS += -Werror
endif
ifeq ($(SANITIZE),1)
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=all
export LSAN_OPTIONS = suppressions=$(CURDIR)/tests/lsan.supp
# Inputs sized to test limits (millions of YAML nodes, a plan past 16 MiB)
# take minutes under the sanitizers: run in the plain build only.
export SLUICE_HEAVY = 0
endif

# What each program links, and nothing more: the planner opens no
# connection (no libssh2), the agent solves no LP (no GLPK).
PKGS	 = yaml-0.1 libcrypto libssh2 jansson
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
YAML_LIBS   := $(shell $(PKG_CONFIG) --libs yaml-0.1 2>/dev/null)
CRYPTO_LIBS := $(shell $(PKG_CONFIG) --libs libcrypto 2>/dev/null)
SSH_LIBS    := $(shell $(PKG_CONFIG) --libs libssh2 2>/dev/null)
JSON_LIBS   := $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null)
TOPOLOGY_LIBS = $(YAML_LIBS) $(CRYPTO_LIBS) -lm
PLANNER_LIBS  = $(TOPOLOGY_LIBS) $(JSON_LIBS) -lglpk -lpthread
AGENT_LIBS    = $(TOPOLOGY_LIBS) $(SSH_LIBS) -lpthread
CHECK_CFLAGS := $(shell $(PKG_CONFIG) --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell $(PKG_CONFIG) --libs check 2>/dev/null)

VERSION = 0.9.0
ALL_CFLAGS = -pthread -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	     -DSLUICE_VERSION='"$(VERSION)"' $(WARNINGS) $(SANFLAGS) $(PKG_CFLAGS) -Itopology $(CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

# Debian packages the build, the tests and the demo need.
DEBS = make gcc clang pkg-config libglpk-dev libyaml-dev libssh2-1-dev \
       libssl-dev libjansson-dev check openssh-server openssh-client iproute2 mandoc \
       python3 python3-yaml valgrind librsvg2-bin
# What make bench alone adds: the BitTorrent swarm bench/torrent.sh runs
# against sluice.  make check needs none of them.
BENCH_DEBS = aria2 opentracker mktorrent

TOPOLOGY_OBJ = topology/atomic.o topology/fileset.o topology/manifest.o \
	       topology/names.o topology/plan.o topology/state.o \
	       topology/topology.o topology/units.o topology/util.o \
	       topology/ynode.o topology/yout.o topology/sshsig.o
# The commands; sim/ (the simulator) above sched/ (the round and its
# schedule) above master/ (the master directory): see planner/planner.h.
PLANNER_OBJ  = planner/main.o planner/check.o planner/run.o \
	       planner/verify.o planner/status.o planner/bound.o \
	       planner/simulate.o planner/dot.o planner/forgive.o \
	       planner/keygen.o planner/health.o planner/retire.o \
	       planner/progress.o planner/export.o planner/history.o \
	       planner/sim/engine.o planner/sim/baseline.o planner/sim/chart.o \
	       planner/sched/round.o planner/sched/budget.o \
	       planner/sched/demand.o planner/sched/forest.o planner/sched/allocate.o \
	       planner/sched/lp.o planner/sched/timing.o planner/sched/emit.o \
	       planner/sched/makespan.o planner/sched/space.o planner/sched/fallback.o \
	       planner/master/master.o planner/master/ledger.o \
	       planner/master/blame.o planner/master/stall.o \
	       planner/master/epoch.o planner/master/signing.o \
	       planner/master/parallel.o
AGENT_OBJ    = agent/main.o agent/config.o agent/store.o agent/ssh.o \
	       agent/identity.o \
	       agent/pace.o agent/fetch.o agent/ring.o agent/commit.o \
	       agent/transfer.o agent/publish.o agent/report.o agent/sync.o \
	       agent/watch.o
TEST_OBJ     = tests/unit/main.o tests/unit/test_units.o \
	       tests/unit/test_names.o tests/unit/test_topology.o \
	       tests/unit/test_formats.o tests/unit/test_planner.o \
	       tests/unit/test_sched.o
TEST_AGENT_OBJ = tests/unit/main_agent.o tests/unit/test_store.o \
	       tests/unit/test_run.o

FUZZ_TARGETS = topology fileset manifest state plan agent units names
FUZZ_SECONDS ?= 60
FUZZ_SRC = tests/fuzz/fuzz.c tests/fuzz/fuzz_agent.c agent/config.c \
	   $(TOPOLOGY_OBJ:.o=.c)

LIBTOPOLOGY = topology/libsluice-topology.a
PROGRAMS = planner/sluice-plan agent/sluice-agent
MANPAGES = man/sluice-plan.1 man/sluice-agent.1 man/sluice.yaml.5 man/sluice.7

all: $(PROGRAMS)

%.o: %.c
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<

# Each object depends on the headers it includes, as the compiler lists
# them (-MMD): a change to sched/sched.h rebuilds sched/ and what is above
# it, not master/.
DEPFLAGS = -MMD -MP
-include $(TOPOLOGY_OBJ:.o=.d) $(PLANNER_OBJ:.o=.d) $(AGENT_OBJ:.o=.d) \
	 $(TEST_OBJ:.o=.d) $(TEST_AGENT_OBJ:.o=.d)

agent/sluice-agent: $(AGENT_OBJ) $(LIBTOPOLOGY)
	$(CC) $(ALL_LDFLAGS) -o $@ $(AGENT_OBJ) $(LIBTOPOLOGY) $(AGENT_LIBS)

# The fuzz corpus replayed as an ordinary test, with any compiler.
tests/fuzz/replay: tests/fuzz/replay.c tests/fuzz/fuzz.c tests/fuzz/fuzz_agent.c \
	    tests/fuzz/fuzz.h agent/config.o $(LIBTOPOLOGY)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ tests/fuzz/replay.c \
	    tests/fuzz/fuzz.c tests/fuzz/fuzz_agent.c agent/config.o \
	    $(LIBTOPOLOGY) $(TOPOLOGY_LIBS)

# libFuzzer targets, one per reader, each run FUZZ_SECONDS; a crash is
# kept under tests/fuzz/crashes/ to be added to the corpus.
fuzz: need-deps
	@mkdir -p tests/fuzz/build tests/fuzz/crashes
	@for t in $(FUZZ_TARGETS); do \
		T=$$(echo $$t | tr a-z A-Z); \
		clang -g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
		    -pthread -Itopology -DFUZZ_TARGET=FUZZ_$$T \
		    -fsanitize=fuzzer,address,undefined $(FUZZ_SRC) \
		    -o tests/fuzz/build/fuzz-$$t $(TOPOLOGY_LIBS) || exit 1; \
		mkdir -p tests/fuzz/build/corpus-$$t; \
		echo "== fuzz $$t for $(FUZZ_SECONDS)s"; \
		tests/fuzz/build/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) \
		    -max_len=65536 -artifact_prefix=tests/fuzz/crashes/$$t- \
		    tests/fuzz/build/corpus-$$t tests/fuzz/corpus/$$t 2>&1 | \
		    grep -E '^(#[0-9]+ *DONE|Done|==.*ERROR|SUMMARY)' || true; \
	done

tests/unit/%.o: tests/unit/%.c
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) $(CHECK_CFLAGS) -c -o $@ $<

$(LIBTOPOLOGY): $(TOPOLOGY_OBJ)
	rm -f $@
	$(AR) rcs $@ $(TOPOLOGY_OBJ)

planner/sluice-plan: $(PLANNER_OBJ) $(LIBTOPOLOGY)
	$(CC) $(ALL_LDFLAGS) -o $@ $(PLANNER_OBJ) $(LIBTOPOLOGY) $(PLANNER_LIBS)

PLANNER_LIB_OBJ = $(filter-out planner/main.o,$(PLANNER_OBJ))

tests/unit/unit: $(TEST_OBJ) $(PLANNER_LIB_OBJ) $(LIBTOPOLOGY)
	$(CC) $(ALL_LDFLAGS) -o $@ $(TEST_OBJ) $(PLANNER_LIB_OBJ) $(LIBTOPOLOGY) $(PLANNER_LIBS) $(CHECK_LIBS)

AGENT_LIB_OBJ = $(filter-out agent/main.o,$(AGENT_OBJ))

tests/unit/unit-agent: $(TEST_AGENT_OBJ) $(AGENT_LIB_OBJ) $(LIBTOPOLOGY)
	$(CC) $(ALL_LDFLAGS) -o $@ $(TEST_AGENT_OBJ) $(AGENT_LIB_OBJ) $(LIBTOPOLOGY) $(AGENT_LIBS) $(CHECK_LIBS)

# Run "make deps" first when a library or tool is missing, then build and
# test in a second make, so that pkg-config sees what deps installed.
check: need-deps
	@$(MAKE) --no-print-directory check-run

# The command-line, planner, agent and end-to-end tests (the agent's against
# a private sshd, sync included) with both programs under valgrind's
# memcheck.  Every run logs to tests/valgrind-logs/PID-TIME.log: any error or
# leak, in the foreground or in the agents the tests start in the
# background, fails the target.  The end-to-end rounds are stretched to
# 12 s so that agents under memcheck keep up.
VALGRIND = valgrind -q --error-exitcode=99 --leak-check=full \
	   --errors-for-leak-kinds=definite,indirect
check-valgrind: need-deps
	@$(MAKE) --no-print-directory all
	@rm -rf tests/valgrind-bin tests/valgrind-logs
	@mkdir -p tests/valgrind-bin tests/valgrind-logs
	@for p in planner/sluice-plan agent/sluice-agent; do \
		printf '#!/bin/sh\nVG_RUN=$$(date +%%s%%N); export VG_RUN\nexec $(VALGRIND) --log-file=%s/tests/valgrind-logs/%%p-%%q{VG_RUN}.log %s "$$@"\n' \
		    "$$(pwd)" "$$(pwd)/$$p" > tests/valgrind-bin/$$(basename $$p); \
		chmod +x tests/valgrind-bin/$$(basename $$p); done
	SLUICE_BIN=$$(pwd)/tests/valgrind-bin sh tests/cli.sh
	SLUICE_HEAVY=0 SLUICE_BIN=$$(pwd)/tests/valgrind-bin sh tests/planner.sh
	SLUICE_BIN=$$(pwd)/tests/valgrind-bin sh tests/operator.sh
	AGENT_SLACK=5 SLUICE_BIN=$$(pwd)/tests/valgrind-bin sh tests/agent.sh
	E2E_ROUND=12 E2E_TIMEOUT=15 \
	    SLUICE_BIN=$$(pwd)/tests/valgrind-bin sh tests/e2e.sh
	@n=$$(find tests/valgrind-logs -type f -size +0 | wc -l); \
	echo "valgrind: $$(ls tests/valgrind-logs | wc -l) runs, $$n with errors"; \
	if [ $$n -ne 0 ]; then find tests/valgrind-logs -type f -size +0 \
	    -exec head -20 {} \; ; exit 1; fi

# The demo: nine hosts in three sites on a private sshd, to completion.
demo: need-deps
	@$(MAKE) --no-print-directory all
	sh examples/demo.sh

# Benchmarks print figures as ratios to a baseline run in the same script.
bench: need-deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory need-bench-deps
	sh bench/schedule.sh
	sh bench/plan-time.sh
	sh bench/agent-throughput.sh 1024 | tee bench/out/throughput.md
	sh bench/load.sh | tee bench/out/load.md
	sh bench/relay-hops.sh | tee bench/out/relay-hops.md
	sh bench/replan.sh
	sh bench/wan.sh | tee bench/out/wan.md
	sh bench/torrent.sh | tee bench/out/torrent.md

check-run: all tests/unit/unit tests/unit/unit-agent tests/fuzz/replay
	@echo "== unit tests"
	./tests/unit/unit
	./tests/unit/unit-agent
	@echo "== fuzz corpus replayed"
	./tests/fuzz/replay $(addprefix tests/fuzz/corpus/,$(FUZZ_TARGETS))
	@echo "== command-line tests"
	sh tests/cli.sh
	@echo "== planner tests"
	sh tests/planner.sh
	@echo "== what the operator is told: room, clocks, cadence, check's summary"
	sh tests/operator.sh
	@echo "== agent tests (private sshd)"
	sh tests/agent.sh
	@echo "== end-to-end tests (private sshds)"
	sh tests/e2e.sh
	@echo "== the cron loop, unsequenced (private sshd)"
	sh tests/loop.sh
	@echo "== the chrooted master of sluice(7) (private sshds; needs root)"
	sh tests/chroot.sh
	@echo "== resource faults (small file systems; needs root)"
	sh tests/faults.sh
	@echo "== WAN test (network namespaces and tc; needs root)"
	sh tests/wan.sh
	@echo "== man pages"
	mandoc -Tlint -W warning $(MANPAGES)

need-deps:
	@ok=1; \
	for p in yaml-0.1 libcrypto libssh2 jansson check; do \
		$(PKG_CONFIG) --exists $$p 2>/dev/null || ok=0; done; \
	test -f /usr/include/glpk.h || ok=0; \
	for c in mandoc python3 /usr/sbin/sshd ssh-keygen rsvg-convert; do \
		command -v $$c >/dev/null 2>&1 || ok=0; done; \
	python3 -c 'import yaml' 2>/dev/null || ok=0; \
	if [ $$ok = 0 ]; then $(MAKE) --no-print-directory deps; fi

# The benchmark's own packages, installed when one is missing and make
# runs as root; elsewhere bench/torrent.sh says what it lacks and skips.
need-bench-deps:
	@for c in aria2c opentracker mktorrent; do \
		command -v $$c >/dev/null 2>&1 && continue; \
		[ "$$(id -u)" = 0 ] || break; \
		$(MAKE) --no-print-directory bench-deps || \
		    echo "make bench: bench-deps failed: bench/torrent.sh will skip" >&2; \
		break; \
	done

bench-deps:
	@$(MAKE) --no-print-directory deps DEBS="$(BENCH_DEBS)"

deps:
	@if [ "$$(id -u)" = 0 ]; then \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && \
		apt-get install -y -qq --no-install-recommends $(DEBS); \
	else \
		echo "make deps: run as root, or install: $(DEBS)" >&2; \
		exit 1; \
	fi

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(BINDIR)/
	install -m 0444 man/sluice-plan.1 man/sluice-agent.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0444 man/sluice.yaml.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0444 man/sluice.7 $(DESTDIR)$(MANDIR)/man7/

clean:
	rm -f $(TOPOLOGY_OBJ) $(PLANNER_OBJ) $(AGENT_OBJ) $(TEST_OBJ) $(TEST_AGENT_OBJ) \
	    $(LIBTOPOLOGY) $(TOPOLOGY_OBJ:.o=.d) $(PLANNER_OBJ:.o=.d) $(AGENT_OBJ:.o=.d) \
	    $(TEST_OBJ:.o=.d) $(TEST_AGENT_OBJ:.o=.d) \
	    $(PROGRAMS) tests/unit/unit tests/unit/unit-agent tests/fuzz/replay
	rm -rf tests/fuzz/build tests/valgrind-bin tests/valgrind-logs

.PHONY: all bench bench-deps need-bench-deps check check-run check-valgrind demo fuzz need-deps deps install clean
