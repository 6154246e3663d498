/* SPDX-License-Identifier: BSD-3-Clause */
/* The unit test suites; tests/unit/main.c runs them all. */
#ifndef JETSTREAM_TESTS_SUITES_H
#define JETSTREAM_TESTS_SUITES_H

#include <check.h>

Suite *packet_suite(void);
Suite *config_suite(void);
Suite *kernels_suite(void);
Suite *reload_suite(void);
Suite *proto_stats_suite(void);
Suite *flow_tracker_suite(void);
Suite *flow_table_suite(void);
Suite *synthetic_suite(void);
Suite *per_src_counter_table_suite(void);
Suite *windows_suite(void);
Suite *source_suite(void);
Suite *sink_suite(void);
Suite *config_value_suite(void);
Suite *config_bind_suite(void);
Suite *config_settings_suite(void);
Suite *config_graph_suite(void);
Suite *plugin_suite(void);
Suite *config_compare_suite(void);
Suite *metrics_suite(void);
Suite *notify_suite(void);
Suite *control_suite(void);
Suite *sqlite_schema_suite(void);
Suite *delivery_suite(void);
Suite *kafka_suite(void);
Suite *history_suite(void);
Suite *packet_filter_suite(void);
Suite *threshold_suite(void);
Suite *actions_suite(void);

#endif
