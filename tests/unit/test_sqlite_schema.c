/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sqlite sink's schema (pure): the CREATE and INSERT statements, and that
 * every record's values come in its table's column order with its column types,
 * NULL exactly where the jsonl line leaves a field out.
 */
#include <string.h>

#include <check.h>

#include "outputs/sqlite_schema.h"
#include "suites.h"

/* 198.51.100.7 as the records hold it (IPv4-mapped) */
static const uint8_t source_address[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7};

START_TEST(test_create_text)
{
	char text[1024];
	const char *expected =
		"CREATE TABLE src_count (\"kernel\" TEXT, \"src\" TEXT, \"dst\" TEXT, \"pkts\" INTEGER, "
		"\"bytes\" INTEGER, \"start\" REAL, \"start_ns\" INTEGER, \"end\" REAL, \"end_ns\" "
		"INTEGER);\nCREATE INDEX src_count_end_ns ON src_count (\"end_ns\");\n"
		"CREATE INDEX src_count_src ON src_count (\"src\");\n";
	int length = sqlite_schema_create_text(sqlite_schema_table(STREAM_SRC_COUNT), text,
					       sizeof(text));

	ck_assert_str_eq(text, expected);
	ck_assert_int_eq(length, (int)strlen(expected));
	/* too small: cut, and the length says what it needs, as snprintf */
	ck_assert_int_eq(sqlite_schema_create_text(sqlite_schema_table(STREAM_SRC_COUNT), text, 10),
			 (int)strlen(expected));
	ck_assert_uint_eq(strlen(text), 9);
	sqlite_schema_create_text(sqlite_schema_table(STREAM_PROTO_STATS), text, sizeof(text));
	ck_assert_ptr_null(strstr(text, "proto_stats_src")); /* no address: no address index */
	sqlite_schema_insert_text(sqlite_schema_table(STREAM_SRC_COUNT), text, sizeof(text));
	ck_assert_str_eq(text, "INSERT INTO src_count VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
}
END_TEST

START_TEST(test_tables)
{
	static const char *const names[] = {"src_count", "alert", "flow", "proto_stats"};
	unsigned count;
	const struct sqlite_table *tables = sqlite_schema_tables(&count);

	ck_assert_uint_eq(count, 4);
	for (unsigned t = 0; t < count; t++) {
		ck_assert_str_eq(tables[t].name, names[t]);
		ck_assert_str_eq(tables[t].name, stream_type_name(tables[t].type));
		ck_assert_uint_le(tables[t].column_count, SQLITE_SCHEMA_MAX_COLUMNS);
		ck_assert_ptr_eq(sqlite_schema_table(tables[t].type), &tables[t]);
	}
	ck_assert_uint_eq(sqlite_schema_table(STREAM_PROTO_STATS)->column_count, 31);
	ck_assert_ptr_null(sqlite_schema_table(STREAM_PACKET));
	ck_assert_str_eq(sqlite_column_type_name(SQLITE_COLUMN_REAL), "REAL");
}
END_TEST

/* The values of @p record match its table's column count and types. */
static void
check_types(const union any_record *record, struct sqlite_value *values)
{
	const struct sqlite_table *table = sqlite_schema_table((enum stream_type)record->header.type);
	unsigned count = sqlite_record_values(record, values);

	ck_assert_uint_eq(count, table->column_count);
	for (unsigned c = 0; c < count; c++)
		ck_assert_msg(values[c].type == table->columns[c].type, "%s.%s: type %d, column %d",
			      table->name, table->columns[c].name, values[c].type,
			      table->columns[c].type);
}

START_TEST(test_src_count_values)
{
	union any_record record = {.src_count = {
		.header = {.type = STREAM_SRC_COUNT, .kernel = "count"},
		.key = COUNT_KEY_SOURCE, .packets = 12, .bytes = 1500,
		.start_ns = 1700000000000000000ull, .end_ns = 1700000000500000001ull}};
	struct sqlite_value values[SQLITE_SCHEMA_MAX_COLUMNS];

	memcpy(record.src_count.source_address, source_address, 16);
	check_types(&record, values);
	ck_assert_str_eq(values[0].text, "count");
	ck_assert_str_eq(values[1].text, "198.51.100.7");
	ck_assert(values[2].is_null); /* no dst with key src */
	ck_assert_int_eq(values[3].integer, 12);
	ck_assert_int_eq(values[4].integer, 1500);
	ck_assert_int_eq(values[8].integer, 1700000000500000001ll);
	ck_assert_double_eq_tol(values[7].real, 1700000000.5, 1e-6);
	ck_assert_uint_eq(sqlite_record_time_ns(&record), 1700000000500000001ull);
}
END_TEST

START_TEST(test_alert_values)
{
	union any_record record = {.alert = {
		.header = {.type = STREAM_ALERT, .kernel = "alarm"},
		.key = COUNT_KEY_SOURCE, .metric = THRESHOLD_METRIC_BYTES, .value = 9, .threshold = 5,
		.name = "ttl_change", .fields = ALERT_FIELD_PORTS, .source_port = 53}};
	struct sqlite_value values[SQLITE_SCHEMA_MAX_COLUMNS];

	check_types(&record, values);
	ck_assert_str_eq(values[1].text, "ttl_change");
	ck_assert_int_eq(values[4].integer, 53);
	ck_assert(values[6].is_null);           /* proto: not set */
	ck_assert_str_eq(values[7].text, "bytes");
	ck_assert(values[9].is_null);           /* previous: not set */
	ck_assert_int_eq(values[10].integer, 5);
	record.alert.metric = THRESHOLD_METRIC_NONE;
	record.alert.name[0] = '\0';
	check_types(&record, values);
	ck_assert(values[1].is_null && values[7].is_null && values[10].is_null);
	for (unsigned c = 15; c < 25; c++) /* group ... reason: a per-window alert has none */
		ck_assert_msg(values[c].is_null, "column %u", c);
}
END_TEST

START_TEST(test_lifecycle_alert_values)
{
	union any_record record = {.alert = {
		.header = {.type = STREAM_ALERT, .kernel = "episodes"},
		.key = COUNT_KEY_DESTINATION, .metric = THRESHOLD_METRIC_PACKETS, .value = 900,
		.threshold = 500, .per = THRESHOLD_PER_SECOND, .group = "customers",
		.fields = ALERT_FIELD_LIFECYCLE, .alert_id = 0x00ab00000000cd01ull, .peak = 1200,
		.total_packets = 5000, .total_bytes = 320000, .state = ALERT_STATE_END,
		.end_reason = ALERT_END_SHUTDOWN, .start_ns = 1000000000ull,
		.end_ns = 3500000000ull}};
	struct sqlite_value values[SQLITE_SCHEMA_MAX_COLUMNS];

	check_types(&record, values);
	ck_assert(values[2].is_null);                  /* src: key dst */
	ck_assert_str_eq(values[15].text, "customers");
	ck_assert_str_eq(values[16].text, "second");
	ck_assert_str_eq(values[17].text, "end");
	ck_assert_str_eq(values[18].text, "00ab00000000cd01");
	ck_assert_int_eq(values[19].integer, 1200);
	ck_assert_int_eq(values[20].integer, 5000);
	ck_assert_int_eq(values[21].integer, 320000);
	ck_assert_double_eq_tol(values[22].real, 2.5, 1e-9);
	ck_assert_int_eq(values[23].integer, 2500000000ll);
	ck_assert_str_eq(values[24].text, "shutdown");
	record.alert.state = ALERT_STATE_UPDATE;
	check_types(&record, values);
	ck_assert_str_eq(values[17].text, "update");
	ck_assert(values[24].is_null);                 /* reason: at the end only */
	/* a group name filling the array has no NUL: all 32 bytes, no more */
	memset(record.alert.group, 'g', sizeof(record.alert.group));
	check_types(&record, values);
	ck_assert_uint_eq(strlen(values[15].text), sizeof(record.alert.group));
}
END_TEST

START_TEST(test_flow_and_proto_stats_values)
{
	union any_record flow = {.flow = {
		.header = {.type = STREAM_FLOW, .kernel = "flows"}, .protocol = 6,
		.tcp_flags = 0x12, .end_reason = FLOW_END_RST, .last_ns = 7, .ip_bytes = 40,
		.reverse_ip_bytes = 52}};
	union any_record stats = {.proto_stats = {
		.header = {.type = STREAM_PROTO_STATS, .kernel = "stats"}, .malformed_packets = 3}};
	struct sqlite_value values[SQLITE_SCHEMA_MAX_COLUMNS];

	check_types(&flow, values);
	ck_assert_int_eq(values[10].integer, 40); /* ip_bytes */
	ck_assert_int_eq(values[11].integer, 52); /* rev_ip_bytes */
	ck_assert_str_eq(values[16].text, "SA");
	ck_assert_str_eq(values[17].text, "");
	ck_assert_str_eq(values[18].text, "rst");
	ck_assert_uint_eq(sqlite_record_time_ns(&flow), 7);
	stats.proto_stats.packets[PROTO_STATS_TCP] = 4;
	stats.proto_stats.size_buckets[PROTO_STATS_SIZE_BUCKETS - 1] = 2;
	check_types(&stats, values);
	ck_assert_int_eq(values[11].integer, 4); /* l4_tcp_pkts */
	ck_assert_int_eq(values[29].integer, 2); /* sizes_1519_plus */
	ck_assert_int_eq(values[30].integer, 3);
}
END_TEST

Suite *
sqlite_schema_suite(void)
{
	Suite *suite = suite_create("sqlite_schema");
	TCase *cases = tcase_create("schema");

	tcase_add_test(cases, test_create_text);
	tcase_add_test(cases, test_tables);
	tcase_add_test(cases, test_src_count_values);
	tcase_add_test(cases, test_alert_values);
	tcase_add_test(cases, test_lifecycle_alert_values);
	tcase_add_test(cases, test_flow_and_proto_stats_values);
	suite_add_tcase(suite, cases);
	return suite;
}
