# Jetstream build. `make` builds build/jetstreamd; `make check` installs the
# dependencies, builds, and runs every test (unit tests twice: plain and under
# ASan+UBSan); `make demo` runs the demo pipeline on a generated trace.

PKGS := libdpdk yaml-0.1 libsystemd check libpcap
CC ?= cc
# Error messages are cut to their buffers on purpose, hence -Wno-format-truncation.
WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-address-of-packed-member -Wno-format-truncation
# DPDK headers use GNU extensions; -march=native gives the CRC32 and SSE paths rte_hash expects.
BASE_CFLAGS := -std=gnu11 -O2 -g -march=native $(WARNINGS) -MMD -MP -Idaemon
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

DAEMON_SOURCES := $(wildcard daemon/*.c daemon/kernels/*.c daemon/outputs/*.c)
LIBRARY_SOURCES := $(filter-out daemon/main.c,$(DAEMON_SOURCES))
UNIT_TEST_SOURCES := tests/unit/main.c $(wildcard tests/unit/test_*.c)

define objects
$(patsubst %.c,$(1)/%.o,$(2))
endef

all: build/jetstreamd

build/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(PKG_CFLAGS) $(BASE_CFLAGS) -c $< -o $@

build-asan/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	@$(CC) $(PKG_CFLAGS) $(BASE_CFLAGS) -O1 $(SANITIZE) -c $< -o $@

build/jetstreamd: $(call objects,build,$(DAEMON_SOURCES))
	$(CC) -o $@ $^ $(PKG_LIBS)

build/unit_tests: $(call objects,build,$(LIBRARY_SOURCES) $(UNIT_TEST_SOURCES))
	$(CC) -o $@ $^ $(PKG_LIBS)

build-asan/unit_tests: $(call objects,build-asan,$(LIBRARY_SOURCES) $(UNIT_TEST_SOURCES))
	$(CC) $(SANITIZE) -o $@ $^ $(PKG_LIBS)

# flow_tracker on one core (not part of `make check`): Mpps, bytes per flow, stalls.
build/flow_tracker_bench: $(call objects,build,$(LIBRARY_SOURCES) bench/flow_tracker_bench.c)
	$(CC) -o $@ $^ $(PKG_LIBS)

deps:
	./scripts/deps.sh

# The daemon paths a sanitizer most needs to see: reloads, draining, stopping.
ASAN_INTEGRATION_TESTS := reload reload_live reload_finished reload_figures signals incomplete_output synthetic

# Unit tests, plain then sanitized; the reload and shutdown tests on a sanitized
# daemon; then every integration test on the real binary.
check: deps
	$(MAKE) build/jetstreamd build/unit_tests build-asan/unit_tests build-asan/jetstreamd
	./build/unit_tests
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ./build-asan/unit_tests
	JETSTREAMD=$(CURDIR)/build-asan/jetstreamd ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		./tests/integration/run.sh $(ASAN_INTEGRATION_TESTS)
	./tests/integration/run.sh

demo: deps
	$(MAKE) build/jetstreamd
	./scripts/demo.sh

clean:
	rm -rf build build-asan demo

.PHONY: all deps check demo clean

-include $(shell find build build-asan -name '*.d' 2>/dev/null)

PREFIX ?= /usr/local
install: build/jetstreamd
	install -D -m 0755 build/jetstreamd $(DESTDIR)$(PREFIX)/bin/jetstreamd
	install -D -m 0644 conf/jetstreamd.yaml $(DESTDIR)/etc/jetstream/jetstreamd.yaml
	install -D -m 0644 systemd/jetstreamd.service $(DESTDIR)/lib/systemd/system/jetstreamd.service
	install -d $(DESTDIR)/etc/jetstream/pipelines
	install -m 0644 pipelines/*.yaml $(DESTDIR)/etc/jetstream/pipelines/

.PHONY: install

build-asan/jetstreamd: $(call objects,build-asan,$(DAEMON_SOURCES))
	$(CC) $(SANITIZE) -o $@ $^ $(PKG_LIBS)

# Benchmarks (not part of `make check`): `make bench` installs nfdump (and the
# usual dependencies, dpdk-testpmd among them) when missing, builds the binaries, runs scripts/bench/run.sh (about 6 minutes
# on 2 cores), prints the table and writes BENCHMARKS.md.
bench-deps:
	./scripts/deps.sh nfdump

# The single-threaded ceiling for offline per-source counting: plain C and libc.
build/reference_counter: bench/reference_counter.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -march=native $(WARNINGS) -o $@ $<

bench: bench-deps
	$(MAKE) build/jetstreamd build/flow_tracker_bench build/reference_counter
	./scripts/bench/run.sh

.PHONY: bench bench-deps
