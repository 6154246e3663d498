# Jetstream build. `make` builds build/jetstreamd; `make check` installs the
# dependencies, builds, and runs every test (unit tests twice: plain and under
# ASan+UBSan); `make demo` runs the demo pipeline on a generated trace.

PKGS := libdpdk yaml-0.1 libsystemd check libpcap libmicrohttpd jansson sqlite3 libfixbuf libcurl rdkafka
CC ?= cc
# Error messages are cut to their buffers on purpose, hence -Wno-format-truncation.
WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-address-of-packed-member -Wno-format-truncation
# DPDK headers use GNU extensions; -march=native gives the CRC32 and SSE paths rte_hash expects.
# The release, from VERSION: `jetstreamd --version`, jetstream_build_info, the package.
VERSION := $(shell cat VERSION)
BASE_CFLAGS := -DJETSTREAM_VERSION='"$(VERSION)"' -std=gnu11 -O2 -g -march=native $(WARNINGS) -MMD -MP -Idaemon -Iinclude/jetstream
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# DPDK is linked statically, its drivers whole (what `pkg-config --static` lists):
# a shared EAL dlopen()s every library of its plugin directory at rte_eal_init()
# (eal_plugins_init), 128 of them on Debian 12, 32 ms of the 10-packet run's
# start; a static EAL loads none and has every driver in the binary already. The
# link also wraps get_tsc_freq, EAL's 100 ms TSC calibration (daemon/tsc_frequency.c),
# and eal_cpu_socket_id and eal_cpu_detected, its 5,000 access() calls (daemon/eal_cpu_probe.c).
# --export-dynamic is left out: the binaries export the kernel API and DPDK's own
# functions only (daemon/kernel_api.list, daemon/dpdk_api.list), for plugins.
OTHER_PKGS := $(filter-out libdpdk,$(PKGS))
DPDK_LIBS = $(filter-out -Wl$(comma)--export-dynamic,$(shell pkg-config --static --libs libdpdk 2>/dev/null)) \
	-Wl,--wrap=get_tsc_freq -Wl,--wrap=eal_cpu_socket_id -Wl,--wrap=eal_cpu_detected
comma := ,
PKG_LIBS = $(DPDK_LIBS) $(shell pkg-config --libs $(OTHER_PKGS) 2>/dev/null) -lm
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# The kernel API functions plugins call, exported from the binaries that load plugins.
KERNEL_API_EXPORTS := -Wl,--dynamic-list=daemon/kernel_api.list -Wl,--dynamic-list=daemon/dpdk_api.list

DAEMON_SOURCES := $(wildcard daemon/*.c daemon/kernels/*.c daemon/outputs/*.c)
LIBRARY_SOURCES := $(filter-out daemon/main.c,$(DAEMON_SOURCES))
UNIT_TEST_SOURCES := tests/unit/main.c $(wildcard tests/unit/test_*.c)

define objects
$(patsubst %.c,$(1)/%.o,$(2))
endef

all: build/jetstreamd build/jetstreamctl build/kafka_mock

build/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(PKG_CFLAGS) $(BASE_CFLAGS) -c $< -o $@

build-asan/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC asan $<"
	@$(CC) $(PKG_CFLAGS) $(BASE_CFLAGS) -O1 $(SANITIZE) -c $< -o $@

build/jetstreamd: $(call objects,build,$(DAEMON_SOURCES)) daemon/kernel_api.list daemon/dpdk_api.list
	$(CC) $(KERNEL_API_EXPORTS) -o $@ $(filter %.o,$^) $(PKG_LIBS)

build/unit_tests: $(call objects,build,$(LIBRARY_SOURCES) $(UNIT_TEST_SOURCES)) daemon/kernel_api.list daemon/dpdk_api.list
	$(CC) $(KERNEL_API_EXPORTS) -o $@ $(filter %.o,$^) $(PKG_LIBS)

build-asan/unit_tests: $(call objects,build-asan,$(LIBRARY_SOURCES) $(UNIT_TEST_SOURCES)) daemon/kernel_api.list daemon/dpdk_api.list
	$(CC) $(SANITIZE) $(KERNEL_API_EXPORTS) -o $@ $(filter %.o,$^) $(PKG_LIBS)

# flow_tracker on one core (not part of `make check`): Mpps, bytes per flow, stalls.
build/flow_tracker_bench: $(call objects,build,$(LIBRARY_SOURCES) bench/flow_tracker_bench.c)
	$(CC) -o $@ $^ $(PKG_LIBS)

# The cost of a tcpdump filter per packet: JIT, interpreter, libpcap (not part of `make check`).
build/filter_bench: $(call objects,build,$(LIBRARY_SOURCES) bench/filter_bench.c)
	$(CC) -o $@ $^ $(PKG_LIBS)

# The threshold kernel's group lookup at 10k prefixes: RIB against rte_lpm (not part of `make check`).
build/threshold_groups_bench: $(call objects,build,$(LIBRARY_SOURCES) bench/threshold_groups_bench.c)
	$(CC) -o $@ $^ $(PKG_LIBS)

# jetstreamctl: libc and jansson only (no DPDK), so it is small and starts at once.
CTL_SOURCES := $(wildcard ctl/*.c)
CTL_CFLAGS = $(shell pkg-config --cflags jansson 2>/dev/null)
CTL_LIBS = $(shell pkg-config --libs jansson 2>/dev/null)

build/ctl/%.o: ctl/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CTL_CFLAGS) $(BASE_CFLAGS) -c $< -o $@

build/jetstreamctl: $(call objects,build,$(CTL_SOURCES))
	$(CC) -o $@ $^ $(CTL_LIBS)

# tests: librdkafka's mock cluster in a process of its own (no Kafka broker is packaged for Debian 12)
build/kafka_mock: tests/tools/kafka_mock.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -o $@ $< $(shell pkg-config --cflags --libs rdkafka 2>/dev/null)

deps:
	./scripts/deps.sh

# The daemon paths a sanitizer most needs to see: reloads, draining, stopping,
# window edges, the sink and writer threads, full disks, stalls, bad configs.
ASAN_INTEGRATION_TESTS := reload reload_live reload_finished reload_figures signals incomplete_output synthetic \
	window_edge control_stall sink_full_disk sink_sigkill accounting_af_packet_stall bad_configs start_errors \
	reload_plugin metrics ctl ctl_hostile filter_reload
# the sinks' reopen on SIGUSR1 and SIGHUP, across the writer threads
ASAN_INTEGRATION_TESTS += logrotate
# the sqlite sink's writer thread, its kill -9 and SIGTERM
ASAN_INTEGRATION_TESTS += sqlite sqlite_full_disk
# the IPFIX exporter thread and libfixbuf, with a collector down
ASAN_INTEGRATION_TESTS += ipfix
# the delivery thread, libcurl, a ClickHouse server stopped and resumed
ASAN_INTEGRATION_TESTS += clickhouse
# the Kafka producer, librdkafka's threads and its delivery reports, with the brokers down
ASAN_INTEGRATION_TESTS += kafka
# the history kernel's writer thread and its dumps: written whole, cut by memory, by a reload and by a stop
ASAN_INTEGRATION_TESTS += history history_reload history_live
# direct queue-to-replica wiring and per-queue socket counters
ASAN_INTEGRATION_TESTS += af_packet_direct
# the mapped pcap reader: mbufs attached to a mapping, unmapped by the last one freed; cut files
ASAN_INTEGRATION_TESTS += pcap_reader

# Unit tests, plain then sanitized; the reload and shutdown tests on a sanitized
# daemon; then every integration test on the real binary.
check: deps
	$(MAKE) build/jetstreamd build/jetstreamctl build/kafka_mock build/unit_tests build-asan/unit_tests build-asan/jetstreamd
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

-include $(shell find build build-asan -name '*.d' -type f 2>/dev/null)

# `make install`: PREFIX (default /usr/local) and DESTDIR apply to every path, the
# unit's included; the settings live in /etc/jetstream whatever PREFIX is (the
# daemon's default -c path). A file under /etc/jetstream that is already there and
# differs is kept, and the new version lands beside it as FILE.dist.
PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin
DOCDIR = $(PREFIX)/share/doc/jetstream
MANDIR = $(PREFIX)/share/man
UNITDIR = $(PREFIX)/lib/systemd/system
SYSUSERSDIR = $(PREFIX)/lib/sysusers.d
TMPFILESDIR = $(PREFIX)/lib/tmpfiles.d
CONFDIR = /etc/jetstream
MAN_PAGES := docs/man/jetstreamd.8 docs/man/jetstreamctl.8 docs/man/jetstream-pipeline.5
ABI_VERSION = $(shell sed -n 's/^\#define JETSTREAM_KERNEL_ABI_VERSION \([0-9]*\)$$/\1/p' \
	include/jetstream/kernel.h)

# install_config SOURCE DESTINATION: install, or keep a changed DESTINATION and write DESTINATION.dist
define install_config
	@if [ -e "$(2)" ] && ! cmp -s "$(1)" "$(2)"; then \
		install -m 0644 "$(1)" "$(2).dist"; \
		echo "kept $(2); the new version is $(2).dist"; \
	else \
		install -D -m 0644 "$(1)" "$(2)"; \
	fi
endef

install: build/jetstreamd build/jetstreamctl
	install -D -m 0755 build/jetstreamd $(DESTDIR)$(BINDIR)/jetstreamd
	install -m 0755 build/jetstreamctl $(DESTDIR)$(BINDIR)/jetstreamctl
	install -d $(DESTDIR)$(CONFDIR)/pipelines
	$(call install_config,conf/jetstreamd.yaml,$(DESTDIR)$(CONFDIR)/jetstreamd.yaml)
	$(call install_config,pipelines/main.yaml,$(DESTDIR)$(CONFDIR)/pipelines/main.yaml)
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' systemd/jetstreamd.service.in \
		>$(DESTDIR)$(UNITDIR)/jetstreamd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/jetstreamd.service
	install -m 0644 systemd/jetstream.sysusers $(DESTDIR)$(SYSUSERSDIR)/jetstream.conf
	install -m 0644 systemd/jetstream.tmpfiles $(DESTDIR)$(TMPFILESDIR)/jetstream.conf
	@# the README where the unit's Documentation= points, the PCI drop-in, the example pipelines
	install -d $(DESTDIR)$(DOCDIR)/examples/pipelines
	install -m 0644 README.md systemd/jetstreamd-pci.conf $(DESTDIR)$(DOCDIR)/
	install -m 0644 $(filter-out pipelines/main.yaml,$(wildcard pipelines/*.yaml)) \
		$(DESTDIR)$(DOCDIR)/examples/pipelines/
	@# the alert actions' examples (README, Alert actions), run by an exec sink
	install -d $(DESTDIR)$(DOCDIR)/examples/actions
	install -m 0755 $(wildcard examples/actions/*.sh) $(DESTDIR)$(DOCDIR)/examples/actions/
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(filter %.8,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(filter %.5,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man5/
	@# the kernel API, for plugins (docs/writing-kernels.md)
	install -d $(DESTDIR)$(PREFIX)/include/jetstream $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0644 include/jetstream/*.h $(DESTDIR)$(PREFIX)/include/jetstream/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@ABI_VERSION@|$(ABI_VERSION)|' \
		include/jetstream-kernel.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/jetstream-kernel.pc
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/pkgconfig/jetstream-kernel.pc

# Removes what `make install` put outside /etc/jetstream (the settings stay, as
# edited by the operator).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/jetstreamd $(DESTDIR)$(BINDIR)/jetstreamctl \
		$(DESTDIR)$(UNITDIR)/jetstreamd.service $(DESTDIR)$(SYSUSERSDIR)/jetstream.conf \
		$(DESTDIR)$(TMPFILESDIR)/jetstream.conf $(DESTDIR)$(PREFIX)/lib/pkgconfig/jetstream-kernel.pc \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(filter %.8,$(MAN_PAGES)))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(filter %.5,$(MAN_PAGES))))
	rm -rf $(DESTDIR)$(DOCDIR) $(DESTDIR)$(PREFIX)/include/jetstream

# `make deb`: build/jetstream_VERSION_ARCH.deb, from a `make install` with
# PREFIX=/usr staged in build/deb/root, with dpkg-deb (no debhelper). The
# dependencies are the libraries the binaries link (dpkg-shlibdeps) and dpdk, for its
# tools (dpdk-devbind.py); its drivers are linked into jetstreamd (see DPDK_LIBS).
DEB_ARCH = $(shell dpkg --print-architecture)
DEB_STAGE := build/deb/root
DEB_FILE = build/jetstream_$(VERSION)_$(DEB_ARCH).deb

deb: deps
	$(MAKE) --no-print-directory build/jetstreamd build/jetstreamctl
	rm -rf build/deb
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(DEB_STAGE) PREFIX=/usr
	gzip -9n $(DEB_STAGE)/usr/share/man/man*/*
	install -d -m 0755 $(DEB_STAGE)/DEBIAN build/deb/source/debian
	install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm \
		$(DEB_STAGE)/DEBIAN/
	cd $(DEB_STAGE) && find etc -type f | sed 's|^|/|' | sort >DEBIAN/conffiles
	@# dpkg-shlibdeps reads the source package's debian/control: a minimal one
	printf 'Source: jetstream\n\nPackage: jetstream\nArchitecture: any\n' \
		>build/deb/source/debian/control
	cd build/deb/source && dpkg-shlibdeps -O $(CURDIR)/$(DEB_STAGE)/usr/bin/* >../shlibs.out \
		2>../shlibs.log || { cat ../shlibs.log; exit 1; }
	sed -n 's/^shlibs:Depends=//p' build/deb/shlibs.out >build/deb/shlibs
	sed -e 's|@VERSION@|$(VERSION)|' -e 's|@ARCH@|$(DEB_ARCH)|' \
		-e "s|@SHLIBS@|$$(cat build/deb/shlibs)|" \
		-e "s|@INSTALLED_SIZE@|$$(du -sk --exclude=DEBIAN $(DEB_STAGE) | cut -f1)|" \
		packaging/debian/control.in >$(DEB_STAGE)/DEBIAN/control
	dpkg-deb --root-owner-group -Zxz --build $(DEB_STAGE) $(DEB_FILE)

.PHONY: install uninstall deb

# The example plugins (examples/kernels/*.c -> build/examples/NAME.so), built
# as a plugin author builds them: against a staged `make install`, through
# pkg-config, so that only the installed headers are on the include path and
# an example that reached into daemon/ would not build. The symbols a plugin
# takes from the daemon (kernel_receive, ...) stay undefined in the .so.
# The staged .pc gets the stage as its prefix, which is what
# PKG_CONFIG_SYSROOT_DIR would do if it did not move libdpdk's paths too (it
# prefixes every package's). ttl_change_v2.so, for
# the tests, is ttl_change with another alert name. Mode 0644: the loader
# refuses plugins that group or others may write.
EXAMPLE_STAGE := build/stage
EXAMPLE_NAMES := $(basename $(notdir $(wildcard examples/kernels/*.c)))
EXAMPLE_PKG_CONFIG := PKG_CONFIG_PATH=$(CURDIR)/$(EXAMPLE_STAGE)/usr/lib/pkgconfig pkg-config
EXAMPLE_CC = $(CC) -shared -fPIC -O2 -g -Wall -Wextra -Werror \
	$$($(EXAMPLE_PKG_CONFIG) --cflags jetstream-kernel)

examples: build/jetstreamd
	rm -rf $(EXAMPLE_STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(CURDIR)/$(EXAMPLE_STAGE) PREFIX=/usr >/dev/null
	sed -i 's|^prefix=.*|prefix=$(CURDIR)/$(EXAMPLE_STAGE)/usr|' \
		$(EXAMPLE_STAGE)/usr/lib/pkgconfig/jetstream-kernel.pc
	install -d -m 0755 build/examples
	@for name in $(EXAMPLE_NAMES); do \
		echo "  CC      build/examples/$$name.so"; \
		$(EXAMPLE_CC) -o build/examples/$$name.so examples/kernels/$$name.c || exit 1; \
	done
	@echo "  CC      build/examples/ttl_change_v2.so"
	@$(EXAMPLE_CC) '-DTTL_CHANGE_ALERT_NAME="ttl_change_v2"' -o build/examples/ttl_change_v2.so \
		examples/kernels/ttl_change.c
	chmod 0644 build/examples/*.so

.PHONY: examples

build-asan/jetstreamd: $(call objects,build-asan,$(DAEMON_SOURCES)) daemon/kernel_api.list daemon/dpdk_api.list
	$(CC) $(SANITIZE) $(KERNEL_API_EXPORTS) -o $@ $(filter %.o,$^) $(PKG_LIBS)

# Benchmarks (not part of `make check`): `make bench` installs nfdump (and the
# usual dependencies, dpdk-testpmd among them) when missing, builds the binaries, runs scripts/bench/run.sh (about 6 minutes
# on 2 cores), prints the table and writes BENCHMARKS.md.
bench-deps:
	./scripts/deps.sh nfdump

# The single-threaded ceiling for offline per-source counting: plain C and libc.
build/reference_counter: bench/reference_counter.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g -march=native $(WARNINGS) -o $@ $<

# The built-in per_src_counter as a plugin of another type name (scripts/bench/plugin.sh).
# It compiles daemon sources, hence the daemon's include directories; hidden visibility
# keeps its copies of daemon-internal functions from clashing with the daemon's.
# counter_table.c stays a unit of its own, as in the daemon, so the compiler inlines no more
# into the plugin's kernel than into the built-in one.
PLUGIN_BENCH_SOURCES := bench/plugin_per_src_counter.c daemon/kernels/counter_table.c

build/bench/plugin/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC pic  $<"
	@$(CC) $(PKG_CFLAGS) $(BASE_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

build/bench/per_src_counter_plugin.so: $(call objects,build/bench/plugin,$(PLUGIN_BENCH_SOURCES))
	$(CC) -shared -o $@ $^

bench: bench-deps
	$(MAKE) build/jetstreamd build/jetstreamctl build/flow_tracker_bench build/filter_bench \
		build/threshold_groups_bench build/reference_counter build/bench/per_src_counter_plugin.so
	./scripts/bench/run.sh

.PHONY: bench bench-deps

# Fuzzing. `make fuzz` builds the libFuzzer targets of tests/fuzz/ with clang
# (ASan+UBSan) and runs each for FUZZ_SECONDS on its committed corpus; new
# corpus entries go to build-fuzz/corpus/TARGET (never committed by this) and
# crashes to build-fuzz/artifacts/. FUZZ_ARGS adds libFuzzer flags (e.g.
# -runs=10000000). `make check` replays each committed corpus with a gcc
# ASan+UBSan driver (tests/fuzz/replay.c), so it needs no clang.
FUZZ_TARGETS := packet config
FUZZ_SECONDS ?= 60
FUZZ_ARGS ?=
FUZZ_CC ?= clang
# clang lacks gcc's -Wformat-truncation; the rest of WARNINGS applies as is.
FUZZ_CFLAGS := -DJETSTREAM_VERSION='"$(VERSION)"' -std=gnu11 -O1 -g -march=native $(filter-out -Wno-format-truncation,$(WARNINGS)) \
	-MMD -MP -Idaemon -Iinclude/jetstream -fno-omit-frame-pointer -fno-sanitize-recover=all
FUZZ_SANITIZE := -fsanitize=fuzzer-no-link,address,undefined
# 64 KB inputs at most; a config input that takes over 10 s is reported as a
# finding (its parse is quadratic in the nesting depth).
FUZZ_MAX_LEN_packet := 65535
FUZZ_MAX_LEN_config := 65536
# the functions the link wraps in DPDK (DPDK_LIBS) come with every binary that links it
FUZZ_OBJECTS_packet := daemon/packet.c daemon/tsc_frequency.c daemon/eal_cpu_probe.c
FUZZ_OBJECTS_config := $(LIBRARY_SOURCES)

-include $(shell find build-fuzz -name '*.d' 2>/dev/null)
.SECONDEXPANSION:

build-fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC fuzz $<"
	@$(FUZZ_CC) $(PKG_CFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SANITIZE) -c $< -o $@

build-fuzz/fuzz_%: build-fuzz/tests/fuzz/fuzz_%.o $$(call objects,build-fuzz,$$(FUZZ_OBJECTS_$$*))
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)

build-asan/fuzz_replay_%: build-asan/tests/fuzz/replay.o build-asan/tests/fuzz/fuzz_%.o \
		$$(call objects,build-asan,$$(FUZZ_OBJECTS_$$*))
	$(CC) $(SANITIZE) -o $@ $^ $(PKG_LIBS)

# One target at a time, niced: the fuzzers share the machine.
fuzz: deps
	$(MAKE) $(addprefix build-fuzz/fuzz_,$(FUZZ_TARGETS))
	@for target in $(FUZZ_TARGETS); do $(MAKE) --no-print-directory fuzz-run-$$target || exit 1; done

fuzz-run-%: build-fuzz/fuzz_%
	@mkdir -p build-fuzz/corpus/$* build-fuzz/artifacts/$*
	@echo "fuzz $*: $(FUZZ_SECONDS) s, new corpus entries in build-fuzz/corpus/$*"
	nice -n 10 ./build-fuzz/fuzz_$* -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN_$*) \
		-timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
		$(if $(wildcard tests/fuzz/$*.dict),-dict=tests/fuzz/$*.dict) \
		-artifact_prefix=build-fuzz/artifacts/$*/ $(FUZZ_ARGS) \
		build-fuzz/corpus/$* tests/fuzz/corpus/$*

fuzz-replay: deps
	$(MAKE) $(addprefix build-asan/fuzz_replay_,$(FUZZ_TARGETS))
	@for target in $(FUZZ_TARGETS); do \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
			./build-asan/fuzz_replay_$$target $$target tests/fuzz/corpus/$$target || exit 1; \
	done

check: fuzz-replay

.PHONY: fuzz fuzz-replay

# Keep the objects a pattern chain builds, so a rebuild does not redo them.
.SECONDARY: $(call objects,build-fuzz,$(LIBRARY_SOURCES) $(wildcard tests/fuzz/*.c)) \
	$(call objects,build-asan,$(wildcard tests/fuzz/*.c))

fuzz-clean:
	rm -rf build-fuzz

clean: fuzz-clean

.PHONY: fuzz-clean

# Inputs that found a defect not fixed yet: this fails until the fix lands,
# then they move to tests/fuzz/corpus/TARGET.
fuzz-findings:
	$(MAKE) $(addprefix build-asan/fuzz_replay_,$(FUZZ_TARGETS))
	@for target in $(FUZZ_TARGETS); do \
		[ -d tests/fuzz/findings/$$target ] || continue; \
		for input in tests/fuzz/findings/$$target/*; do \
			ASAN_OPTIONS=detect_leaks=1 ./build-asan/fuzz_replay_$$target $$target $$input \
				|| echo "fuzz finding still open: $$input"; \
		done; \
	done

.PHONY: fuzz-findings
