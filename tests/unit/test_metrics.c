/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The metrics' text format on hand-made snapshots: label values and HELP
 * escaped as the format says, numbers written as Prometheus reads them, a
 * drop the device cannot report left out of the counts and marked unknown,
 * drops summed over replicas, statistics split by kind (counter, gauge, a
 * plugin's untyped), and the accounting that the exit summary shares.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "accounting.h"
#include "metrics_text.h"
#include "suites.h"

/* What a writer put on a stream, as a string the caller frees. */
struct captured {
	char *text;
	size_t length;
	FILE *stream;
};

static void
capture_start(struct captured *captured)
{
	captured->text = NULL;
	captured->stream = open_memstream(&captured->text, &captured->length);
	ck_assert_ptr_nonnull(captured->stream);
}

static char *
capture_end(struct captured *captured)
{
	fclose(captured->stream);
	return captured->text;
}

static char *
label_text(const char *value)
{
	struct captured captured;

	capture_start(&captured);
	metrics_text_label_value(value, captured.stream);
	return capture_end(&captured);
}

static char *
number_text(double value)
{
	struct captured captured;

	capture_start(&captured);
	metrics_text_number(value, captured.stream);
	return capture_end(&captured);
}

#define ck_assert_text(made, expected)                                                            \
	do {                                                                                      \
		char *text_ = (made);                                                             \
		ck_assert_str_eq(text_, expected);                                                \
		free(text_);                                                                      \
	} while (0)

START_TEST(label_values_are_escaped)
{
	ck_assert_text(label_text("count"), "count");
	ck_assert_text(label_text("a\"b"), "a\\\"b");
	ck_assert_text(label_text("back\\slash"), "back\\\\slash");
	ck_assert_text(label_text("two\nlines"), "two\\nlines");
	ck_assert_text(label_text("\\\"\n"), "\\\\\\\"\\n");
	ck_assert_text(label_text(""), "");
	/* UTF-8 passes as it is */
	ck_assert_text(label_text("z\xc3\xa4hler"), "z\xc3\xa4hler");
}
END_TEST

START_TEST(numbers_are_written_as_prometheus_reads_them)
{
	ck_assert_text(number_text(0), "0");
	ck_assert_text(number_text(1), "1");
	ck_assert_text(number_text(0.25), "0.25");
	ck_assert_text(number_text(0.1), "0.1");
	ck_assert_text(number_text(123456.789), "123456.789");
	ck_assert_text(number_text(1e15), "1e+15");
	ck_assert_text(number_text(-2.5), "-2.5");
	ck_assert_text(number_text(NAN), "NaN");
	ck_assert_text(number_text(INFINITY), "+Inf");
	ck_assert_text(number_text(-INFINITY), "-Inf");
}
END_TEST

/* A port source's replica: packets, a reported imissed, socket drops unknown. */
static struct status_instance
port_replica(unsigned replica, uint64_t imissed)
{
	struct status_instance row = {
		.kernel = "rx", .type = "source", .replica = replica, .replica_count = 2,
		.is_source = true,
		.totals = {.counters = {.items_out = 100 + replica, .ring_overflow = replica}},
	};
	unsigned s = 0;

	row.totals.stats[s++] = (struct kernel_stat){"packets", 100 + replica};
	row.totals.stats[s++] = (struct kernel_stat){"nic_imissed", imissed};
	row.totals.stats[s++] = (struct kernel_stat){"socket_drops" KERNEL_STAT_UNKNOWN_SUFFIX, 1};
	row.totals.stat_count = s;
	return row;
}

static char *
render(struct status_instance *instances, unsigned count)
{
	struct status_lcore lcore = {.lcore = 1, .busy_ratio = 0.5};
	struct status_snapshot snapshot = {
		.version = "1.2.3\"x", .uptime_seconds = 2.5, .generation = 3, .reloads_ok = 2,
		.reloads_failed = 1, .lcore_count = 1, .lcores = &lcore,
		.instance_count = count, .instances = instances,
	};
	struct captured captured;

	capture_start(&captured);
	ck_assert_int_eq(metrics_text_render(&snapshot, captured.stream), 0);
	return capture_end(&captured);
}

static void
assert_line(const char *text, const char *line)
{
	char *wanted;

	ck_assert_int_gt(asprintf(&wanted, "\n%s\n", line), 0);
	ck_assert_msg(strstr(text, wanted) != NULL, "no line '%s' in:\n%s", line, text);
	free(wanted);
}

static void
assert_no(const char *text, const char *part)
{
	ck_assert_msg(strstr(text, part) == NULL, "'%s' should not be in:\n%s", part, text);
}

START_TEST(the_daemon_families)
{
	char *text = render(NULL, 0);

	assert_line(text, "jetstream_build_info{version=\"1.2.3\\\"x\"} 1");
	assert_line(text, "jetstream_uptime_seconds 2.5");
	assert_line(text, "jetstream_generation 3");
	assert_line(text, "# TYPE jetstream_reloads_total counter");
	assert_line(text, "jetstream_reloads_total{result=\"ok\"} 2");
	assert_line(text, "jetstream_reloads_total{result=\"failed\"} 1");
	assert_line(text, "jetstream_lcore_busy_ratio{lcore=\"1\",thread=\"worker\"} 0.5");
	free(text);
}
END_TEST

START_TEST(drops_known_unknown_and_summed_over_replicas)
{
	struct status_instance rows[2] = {port_replica(0, 7), port_replica(1, 5)};
	char *text = render(rows, 2);

	assert_line(text, "jetstream_dropped_packets_total{kernel=\"rx\",type=\"source\",reason=\"nic_imissed\"} 12");
	assert_line(text, "jetstream_dropped_packets_total{kernel=\"rx\",type=\"source\",reason=\"ring_overflow\"} 1");
	assert_line(text, "jetstream_dropped_packets_known{kernel=\"rx\",type=\"source\",reason=\"nic_imissed\"} 1");
	assert_line(text, "jetstream_dropped_packets_known{kernel=\"rx\",type=\"source\",reason=\"socket_drops\"} 0");
	/* unknown is never a count; a place the device does not have is not shown at all */
	assert_no(text, "jetstream_dropped_packets_total{kernel=\"rx\",type=\"source\",reason=\"socket_drops\"}");
	assert_no(text, "reason=\"nic_rx_nombuf\"");
	/* drops and their marks are not kernel statistics of their own */
	assert_no(text, "jetstream_kernel_nic_imissed");
	assert_no(text, "jetstream_kernel_socket_drops");
	assert_line(text, "jetstream_kernel_packets_total{kernel=\"rx\",type=\"source\",replica=\"1\"} 101");
	assert_line(text, "jetstream_kernel_items_out_total{kernel=\"rx\",type=\"source\",replica=\"0\"} 100");
	free(text);
}
END_TEST

START_TEST(statistics_by_kind)
{
	struct status_input input = {.producer = "rx", .producer_replica = 0, .used = 256,
				     .capacity = 1024};
	struct status_instance row = {
		.kernel = "flows", .type = "flow_tracker", .replica = 0, .replica_count = 1,
		.lcore = 1, .input_count = 1, .inputs = &input,
		.totals = {.stat_count = 3,
			   .stats = {{"flows_created", 9}, {"flows_active", 4}, {"odd\"name", 2}}},
	};
	char *text = render(&row, 1);

	assert_line(text, "# TYPE jetstream_kernel_flows_created_total counter");
	assert_line(text, "jetstream_kernel_flows_created_total{kernel=\"flows\",type=\"flow_tracker\",replica=\"0\"} 9");
	assert_line(text, "# TYPE jetstream_kernel_flows_active gauge");
	assert_line(text, "jetstream_kernel_flows_active{kernel=\"flows\",type=\"flow_tracker\",replica=\"0\"} 4");
	assert_line(text, "# TYPE jetstream_kernel_plugin_stat untyped");
	assert_line(text, "jetstream_kernel_plugin_stat{kernel=\"flows\",type=\"flow_tracker\",replica=\"0\",name=\"odd\\\"name\"} 2");
	assert_line(text, "jetstream_ring_fill_ratio{producer=\"rx\",producer_replica=\"0\",consumer=\"flows\",consumer_replica=\"0\"} 0.25");
	assert_line(text, "jetstream_kernel_info{kernel=\"flows\",type=\"flow_tracker\",replica=\"0\",lcore=\"1\",thread=\"worker\"} 1");
	free(text);
}
END_TEST

START_TEST(accounting_of_drops)
{
	struct status_instance row = port_replica(1, 5);
	uint64_t value;
	char base[64];

	ck_assert_int_eq(accounting_drop(&row.totals, ACCOUNTING_DROP_NIC_IMISSED, &value),
			 ACCOUNTING_KNOWN);
	ck_assert_uint_eq(value, 5);
	ck_assert_int_eq(accounting_drop(&row.totals, ACCOUNTING_DROP_SOCKET_DROPS, &value),
			 ACCOUNTING_UNKNOWN);
	ck_assert_uint_eq(value, 0);
	ck_assert_int_eq(accounting_drop(&row.totals, ACCOUNTING_DROP_NIC_RX_NOMBUF, &value),
			 ACCOUNTING_NOT_APPLICABLE);
	ck_assert_int_eq(accounting_drop(&row.totals, ACCOUNTING_DROP_RING_OVERFLOW, &value),
			 ACCOUNTING_KNOWN);
	ck_assert_uint_eq(value, 1);
	ck_assert_uint_eq(accounting_known_drops(&row.totals), 6);
	ck_assert(accounting_is_unknown_mark("socket_drops_unknown", base, sizeof(base)));
	ck_assert_str_eq(base, "socket_drops");
	ck_assert(!accounting_is_unknown_mark("_unknown", base, sizeof(base)));
	ck_assert_int_eq(accounting_stat_kind("socket_drops_unknown"), ACCOUNTING_STAT_MARK);
	ck_assert_int_eq(accounting_stat_kind("nic_imissed"), ACCOUNTING_STAT_DROP);
	ck_assert_int_eq(accounting_stat_kind("buffer_bytes"), ACCOUNTING_STAT_GAUGE);
	ck_assert_int_eq(accounting_stat_kind("records"), ACCOUNTING_STAT_COUNTER);
	ck_assert_int_eq(accounting_stat_kind("syn_packets"), ACCOUNTING_STAT_OTHER);
}
END_TEST

static struct status_instance
sink_row(const char *kernel, unsigned replica, unsigned stat_count, const struct kernel_stat *stats)
{
	struct status_instance row = {.kernel = kernel, .type = "sink", .replica = replica,
				      .replica_count = 2, .lcore = 0, .on_sink_thread = true};

	row.totals.stat_count = stat_count;
	memcpy(row.totals.stats, stats, stat_count * sizeof(*stats));
	return row;
}

/* A file sink's dropped_records is write_failed; a networked sink's, the sum of its reasons. */
START_TEST(record_drops_by_reason)
{
	const struct kernel_stat file[] = {{"records", 10}, {"dropped_records", 3}};
	const struct kernel_stat networked[] = {{"records", 10}, {"dropped_records", 6},
						{"dropped_sink_full", 1}, {"dropped_refused", 2},
						{"dropped_drain_timeout", 3}};
	struct status_instance rows[3] = {sink_row("out", 0, 2, file), sink_row("store", 0, 5, networked),
					  sink_row("store", 1, 5, networked)};
	char *text = render(rows, 3);
	uint64_t value;

	assert_line(text, "# TYPE jetstream_dropped_records_total counter");
	assert_line(text, "jetstream_dropped_records_total{kernel=\"out\",type=\"sink\",reason=\"write_failed\"} 3");
	assert_no(text, "kernel=\"out\",type=\"sink\",reason=\"sink_full\"");
	assert_line(text, "jetstream_dropped_records_total{kernel=\"store\",type=\"sink\",reason=\"sink_full\"} 2");
	assert_line(text, "jetstream_dropped_records_total{kernel=\"store\",type=\"sink\",reason=\"refused\"} 4");
	assert_line(text, "jetstream_dropped_records_total{kernel=\"store\",type=\"sink\",reason=\"drain_timeout\"} 6");
	assert_no(text, "kernel=\"store\",type=\"sink\",reason=\"write_failed\"");
	/* the reasons are not kernel statistics of their own; the total is */
	assert_no(text, "jetstream_kernel_dropped_sink_full");
	assert_line(text, "jetstream_kernel_dropped_records_total{kernel=\"store\",type=\"sink\",replica=\"1\"} 6");
	ck_assert(!accounting_record_drop(&rows[0].totals, ACCOUNTING_RECORD_DROP_REFUSED, &value));
	ck_assert(accounting_record_drop(&rows[0].totals, ACCOUNTING_RECORD_DROP_WRITE_FAILED, &value));
	ck_assert_uint_eq(value, 3);
	ck_assert_int_eq(accounting_stat_kind("last_error_seconds"), ACCOUNTING_STAT_GAUGE);
	ck_assert_int_eq(accounting_stat_kind("dropped_refused"), ACCOUNTING_STAT_RECORD_DROP);
	free(text);
}
END_TEST

/* A replaced flow tracker: counters add the old instance's, gauges are the new one's. */
START_TEST(retired_figures_add_counters_not_gauges)
{
	struct kernel_totals running = {
		.counters = {.items_in = 10}, .stat_count = 2,
		.stats = {{"flows_created", 3}, {"table_bytes", 2000}},
	};
	struct kernel_totals retired = {
		.counters = {.items_in = 90}, .stat_count = 3,
		.stats = {{"flows_created", 7}, {"table_bytes", 1000}, {"buffer_bytes", 5}},
	};

	accounting_add_retired(&running, &retired);
	ck_assert_uint_eq(running.counters.items_in, 100);
	ck_assert_uint_eq(accounting_stat_value(&running, "flows_created"), 10);
	ck_assert_uint_eq(accounting_stat_value(&running, "table_bytes"), 2000);
	/* a level only the retired instance had is no level now */
	ck_assert_ptr_null(accounting_find_stat(&running, "buffer_bytes"));
	ck_assert_uint_eq(running.stat_count, 2);
}
END_TEST

Suite *
metrics_suite(void)
{
	Suite *suite = suite_create("metrics");
	TCase *tcase = tcase_create("text");

	tcase_add_test(tcase, label_values_are_escaped);
	tcase_add_test(tcase, numbers_are_written_as_prometheus_reads_them);
	tcase_add_test(tcase, the_daemon_families);
	tcase_add_test(tcase, drops_known_unknown_and_summed_over_replicas);
	tcase_add_test(tcase, statistics_by_kind);
	tcase_add_test(tcase, accounting_of_drops);
	tcase_add_test(tcase, record_drops_by_reason);
	tcase_add_test(tcase, retired_figures_add_counters_not_gauges);
	suite_add_tcase(suite, tcase);
	return suite;
}
