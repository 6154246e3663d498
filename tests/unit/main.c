/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit test runner. DPDK's EAL is started once, without hugepages or PCI, so
 * kernels can be tested with real mempools, rings and hash tables.
 */
#include <stdio.h>
#include <stdlib.h>

#include <rte_eal.h>

#include "clock.h"
#include "runtime.h"
#include "suites.h"

static int
start_eal(void)
{
	char *arguments[] = {"unit_tests", "--no-huge", "--no-shconf", "--no-pci", "-m", "256",
			     "--lcores", "0", "--log-level", "error", NULL};

	return rte_eal_init((int)(sizeof(arguments) / sizeof(arguments[0])) - 1, arguments);
}

int
main(void)
{
	SRunner *runner;
	int failed;

	if (start_eal() < 0) {
		fprintf(stderr, "unit_tests: cannot start DPDK's EAL\n");
		return EXIT_FAILURE;
	}
	clock_init(); /* live sources stamp packets with the wall clock */
	runner = srunner_create(packet_suite());
	srunner_add_suite(runner, config_suite());
	srunner_add_suite(runner, kernels_suite());
	srunner_add_suite(runner, reload_suite());
	srunner_add_suite(runner, proto_stats_suite());
	srunner_add_suite(runner, flow_tracker_suite());
	srunner_add_suite(runner, flow_table_suite());
	srunner_add_suite(runner, synthetic_suite());
	srunner_add_suite(runner, per_src_counter_table_suite());
	srunner_add_suite(runner, windows_suite());
	srunner_add_suite(runner, source_suite());
	srunner_add_suite(runner, sink_suite());
	srunner_add_suite(runner, config_value_suite());
	srunner_add_suite(runner, config_bind_suite());
	srunner_add_suite(runner, config_settings_suite());
	srunner_add_suite(runner, config_graph_suite());
	srunner_add_suite(runner, plugin_suite());
	srunner_add_suite(runner, config_compare_suite());
	srunner_add_suite(runner, metrics_suite());
	srunner_add_suite(runner, notify_suite());
	srunner_add_suite(runner, control_suite());
	srunner_add_suite(runner, sqlite_schema_suite());
	srunner_add_suite(runner, delivery_suite());
	srunner_add_suite(runner, kafka_suite());
	srunner_add_suite(runner, history_suite());
	srunner_add_suite(runner, packet_filter_suite());
	srunner_add_suite(runner, threshold_suite());
	srunner_add_suite(runner, actions_suite());
	/* one process: EAL state does not survive fork() well, and ASan reports stay readable */
	srunner_set_fork_status(runner, CK_NOFORK);
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	rte_eal_cleanup();
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
