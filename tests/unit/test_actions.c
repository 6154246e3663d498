/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The action formats' pure parts (outputs/alert_fields.h): an alert record's
 * ALERT_* variables, for a lifecycle start and end, a per-window alert and a
 * plugin's; its RFC 5424 message, exactly, with escaping and the severities.
 */
#include <string.h>

#include <check.h>

#include "outputs/alert_fields.h"
#include "outputs/jsonl.h"
#include "suites.h"

#define SECOND 1000000000ull

/* 198.51.100.7 (key dst), group customers: the start of alerts_trace.py's first alert. */
static struct alert_record
lifecycle_start(void)
{
	struct alert_record record = {
		.header = {.type = STREAM_ALERT, .kernel = "ddos"},
		.destination_address = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7},
		.key = COUNT_KEY_DESTINATION, .metric = THRESHOLD_METRIC_PACKETS, .value = 100,
		.threshold = 50, .start_ns = 1700000001 * SECOND, .end_ns = 1700000002 * SECOND,
		.fields = ALERT_FIELD_LIFECYCLE, .group = "customers", .alert_id = 0x2cc0a1eeff5ea7b7,
		.peak = 100, .total_packets = 100, .total_bytes = 10000, .state = ALERT_STATE_START,
	};

	return record;
}

static void
expect_variables(const struct alert_fields *fields, const char *const *expected)
{
	unsigned count = 0;

	for (; expected[count] != NULL; count++) {
		ck_assert_uint_lt(count, fields->count);
		ck_assert_str_eq(fields->variables[count], expected[count]);
	}
	ck_assert_uint_eq(fields->count, count);
	ck_assert_ptr_null(fields->variables[count]);
}

START_TEST(test_lifecycle_variables)
{
	struct alert_record record = lifecycle_start();
	struct alert_fields fields;
	static const char *const start[] = {
		"ALERT_STATE=start", "ALERT_ID=2cc0a1eeff5ea7b7", "ALERT_KEY=198.51.100.7",
		"ALERT_DST=198.51.100.7", "ALERT_GROUP=customers", "ALERT_METRIC=pkts",
		"ALERT_VALUE=100", "ALERT_THRESHOLD=50", "ALERT_PEAK=100", "ALERT_PKTS=100",
		"ALERT_BYTES=10000", "ALERT_START=1700000001.000000000",
		"ALERT_END=1700000002.000000000", "ALERT_DURATION=1.000000000", "ALERT_KERNEL=ddos",
		NULL};
	static const char *const end[] = {
		"ALERT_STATE=end", "ALERT_ID=2cc0a1eeff5ea7b7", "ALERT_KEY=198.51.100.7",
		"ALERT_DST=198.51.100.7", "ALERT_GROUP=customers", "ALERT_METRIC=pkts",
		"ALERT_VALUE=100", "ALERT_THRESHOLD=50", "ALERT_PEAK=100", "ALERT_PKTS=370",
		"ALERT_BYTES=37000", "ALERT_START=1700000001.000000000",
		"ALERT_END=1700000006.500000000", "ALERT_DURATION=5.500000000",
		"ALERT_REASON=shutdown", "ALERT_KERNEL=ddos", NULL};

	alert_fields_format(&record, &fields);
	expect_variables(&fields, start);
	ck_assert_uint_eq(alert_severity(&record), 4);
	record.state = ALERT_STATE_END;
	record.end_reason = ALERT_END_SHUTDOWN;
	record.end_ns = 1700000006 * SECOND + SECOND / 2;
	record.total_packets = 370;
	record.total_bytes = 37000;
	alert_fields_format(&record, &fields);
	expect_variables(&fields, end);
	ck_assert_uint_eq(alert_severity(&record), 5);
}
END_TEST

/* Key src, no lifecycle, per second, no group: no state, id, totals nor duration. */
START_TEST(test_window_variables)
{
	struct alert_record record = {
		.header = {.type = STREAM_ALERT, .kernel = "alarm"},
		.source_address = {0x20, 0x01, 0x0d, 0xb8, [15] = 1},
		.key = COUNT_KEY_SOURCE, .metric = THRESHOLD_METRIC_BYTES, .per = THRESHOLD_PER_SECOND,
		.value = 60000, .threshold = 50000, .start_ns = 4 * SECOND, .end_ns = 5 * SECOND,
	};
	struct alert_fields fields;
	static const char *const expected[] = {
		"ALERT_KEY=2001:db8::1", "ALERT_SRC=2001:db8::1", "ALERT_METRIC=bytes",
		"ALERT_PER=second", "ALERT_VALUE=60000", "ALERT_THRESHOLD=50000",
		"ALERT_START=4.000000000", "ALERT_END=5.000000000", "ALERT_KERNEL=alarm", NULL};

	alert_fields_format(&record, &fields);
	expect_variables(&fields, expected);
	ck_assert_uint_eq(alert_severity(&record), 4);
}
END_TEST

/* A plugin's alert: its name, no metric (no threshold), key src_dst: both addresses. */
START_TEST(test_plugin_variables)
{
	struct alert_record record = {
		.header = {.type = STREAM_ALERT, .kernel = "ttl"},
		.source_address = {[10] = 0xff, [11] = 0xff, 192, 0, 2, 1},
		.destination_address = {[10] = 0xff, [11] = 0xff, 192, 0, 2, 2},
		.key = COUNT_KEY_SOURCE_DESTINATION, .metric = THRESHOLD_METRIC_NONE, .value = 64,
		.name = "ttl_change\n", .start_ns = 0, .end_ns = 1,
	};
	struct alert_fields fields;
	static const char *const expected[] = {
		"ALERT_KEY=192.0.2.2", "ALERT_SRC=192.0.2.1", "ALERT_DST=192.0.2.2",
		"ALERT_NAME=ttl_change?", "ALERT_VALUE=64", "ALERT_START=0.000000000",
		"ALERT_END=0.000000001", "ALERT_KERNEL=ttl", NULL};

	alert_fields_format(&record, &fields);
	expect_variables(&fields, expected);
}
END_TEST

START_TEST(test_syslog_message)
{
	struct alert_record record = lifecycle_start();
	struct alert_syslog_header header = {.facility = 3, .time_ns = 1700000001 * SECOND + 123456789,
					     .hostname = "monitor-1", .process_id = 4242};
	char line[JSONL_LINE_MAX], message[4096];
	size_t length = jsonl_format_record((const union any_record *)&record, line, sizeof(line));
	size_t written = alert_syslog_format(&record, &header, line, length, message, sizeof(message));
	static const char expected[] =
		"<28>1 2023-11-14T22:13:21.123456Z monitor-1 jetstreamd 4242 ALERT [alert@32473 "
		"state=\"start\" id=\"2cc0a1eeff5ea7b7\" key=\"198.51.100.7\" dst=\"198.51.100.7\" "
		"group=\"customers\" metric=\"pkts\" value=\"100\" threshold=\"50\" peak=\"100\" "
		"pkts=\"100\" bytes=\"10000\" start=\"1700000001.000000000\" "
		"end=\"1700000002.000000000\" duration=\"1.000000000\" kernel=\"ddos\"] "
		"{\"type\":\"alert\",\"kernel\":\"ddos\",\"state\":\"start\",\"alert_id\":"
		"\"2cc0a1eeff5ea7b7\",\"dst\":\"198.51.100.7\",\"group\":\"customers\",\"metric\":"
		"\"pkts\",\"value\":100,\"threshold\":50,\"peak\":100,\"pkts\":100,\"bytes\":10000,"
		"\"start\":1700000001.000000000,\"end\":1700000002.000000000,\"duration\":1.000000000}";

	ck_assert_str_eq(message, expected);
	ck_assert_uint_eq(written, strlen(expected));
	/* local7 (23) at the end: notice */
	record.state = ALERT_STATE_END;
	header.facility = 23;
	alert_syslog_format(&record, &header, line, length, message, sizeof(message));
	ck_assert_int_eq(strncmp(message, "<189>1 ", 7), 0);
}
END_TEST

/* PARAM-VALUE escapes `"`, `\` and `]`; an empty hostname is `-`, spaces in it are `-`. */
START_TEST(test_syslog_escaping)
{
	struct alert_record record = lifecycle_start();
	struct alert_syslog_header header = {.facility = 1, .hostname = ""};
	char message[4096];
	size_t written;

	memcpy(record.group, "a\"b\\c]d", 8);
	alert_syslog_format(&record, &header, "{}\n", 3, message, sizeof(message));
	ck_assert_ptr_nonnull(strstr(message, " group=\"a\\\"b\\\\c\\]d\" "));
	ck_assert_int_eq(strncmp(message, "<12>1 1970-01-01T00:00:00.000000Z - jetstreamd 0 ALERT [", 56), 0);
	ck_assert_str_eq(message + strlen(message) - 4, "] {}");
	header.hostname = "a b";
	alert_syslog_format(&record, &header, "{}\n", 3, message, sizeof(message));
	ck_assert_ptr_nonnull(strstr(message, "Z a-b jetstreamd "));
	/* too small: cut, NUL-ended, the whole length returned as snprintf does */
	written = alert_syslog_format(&record, &header, "{}\n", 3, message, 16);
	ck_assert_uint_eq(strlen(message), 15);
	ck_assert_uint_gt(written, 16);
}
END_TEST

Suite *
actions_suite(void)
{
	Suite *suite = suite_create("actions");
	TCase *cases = tcase_create("alert_fields");

	tcase_add_test(cases, test_lifecycle_variables);
	tcase_add_test(cases, test_window_variables);
	tcase_add_test(cases, test_plugin_variables);
	tcase_add_test(cases, test_syslog_message);
	tcase_add_test(cases, test_syslog_escaping);
	suite_add_tcase(suite, cases);
	return suite;
}
