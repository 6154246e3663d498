/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The threshold kernel's groups (prefixes, checks, longest-prefix lookup
 * with DPDK's RIBs) and `alerts: lifecycle` (start, update, end after
 * `hold:`, a silent key, the open-alert limit, a reload's take_state, the
 * end of input), driven on the test rig with src_count records the test
 * writes, every record checked field by field.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <rte_ring_elem.h>

#include "kernel_runtime.h"
#include "kernels/threshold.h"
#include "kernels/threshold_groups.h"
#include "outputs/jsonl.h"
#include "suites.h"
#include "test_rig.h"

#define NS_PER_SECOND 1000000000ull
#define MAX_ALERTS 64

extern const struct kernel_ops threshold_kernel;

/* ---- groups: prefixes and checks -------------------------------------------------------- */

static void
assert_prefix(const char *text, const char *address, unsigned length)
{
	struct threshold_prefix prefix;
	uint8_t expected[16];
	char message[256] = "";

	ck_assert_msg(threshold_prefix_parse(text, &prefix, message, sizeof(message)) == 0,
		      "%s: %s", text, message);
	test_address(address, expected);
	ck_assert_msg(memcmp(prefix.address, expected, 16) == 0, "%s: address", text);
	ck_assert_uint_eq(prefix.length, length);
}

static void
assert_prefix_error(const char *text, const char *expected)
{
	struct threshold_prefix prefix;
	char message[256] = "";

	ck_assert_int_ne(threshold_prefix_parse(text, &prefix, message, sizeof(message)), 0);
	ck_assert_str_eq(message, expected);
}

START_TEST(prefixes_parse_both_families)
{
	assert_prefix("198.51.100.0/24", "198.51.100.0", 96 + 24);
	assert_prefix("10.1.2.3", "10.1.2.3", 128);
	assert_prefix("0.0.0.0/0", "0.0.0.0", 96);
	assert_prefix("2001:db8::/32", "2001:db8::", 32);
	assert_prefix("2001:db8::7", "2001:db8::7", 128);
	assert_prefix("::/0", "::", 0);
	assert_prefix_error("198.51.100.7/24", "'198.51.100.7/24' has bits set past its length "
			    "(the network is 198.51.100.0/24)");
	assert_prefix_error("2001:db8::1/32", "'2001:db8::1/32' has bits set past its length "
			    "(the network is 2001:db8::/32)");
	assert_prefix_error("10.0.0.0/33", "'10.0.0.0/33' is not an IPv4 or IPv6 network "
			    "(ADDRESS/LENGTH, or an address)");
	assert_prefix_error("10.0.0.0/", "'10.0.0.0/' is not an IPv4 or IPv6 network "
			    "(ADDRESS/LENGTH, or an address)");
	assert_prefix_error("10.0.0.0/+8", "'10.0.0.0/+8' is not an IPv4 or IPv6 network "
			    "(ADDRESS/LENGTH, or an address)");
	assert_prefix_error("customers", "'customers' is not an IPv4 or IPv6 network "
			    "(ADDRESS/LENGTH, or an address)");
}
END_TEST

/* Where threshold @p params hold the value of @p key. */
static void *
value_of(void *params, const char *key)
{
	for (const struct config_field *field = threshold_kernel.config_map; field->key != NULL;
	     field++)
		if (strcmp(field->key, key) == 0)
			return (char *)params + field->offset;
	ck_abort_msg("threshold has no `%s`", key);
	return NULL;
}

/* The groups value of threshold @p params, as the loader binds `groups:`. */
static struct threshold_group_list *
groups_of(void *params)
{
	return value_of(params, "groups");
}

/* Append a group: @p networks a NULL-ended list (NULL: the default group). */
static void
add_group(struct threshold_group_list *groups, const char *name, const char *const *networks,
	  uint64_t packets, uint64_t bytes, enum threshold_per per)
{
	struct threshold_group_params *group = &groups->entries[groups->count++];
	size_t at = 0;

	memset(group, 0, sizeof(*group));
	snprintf(group->name, sizeof(group->name), "%s", name);
	for (; networks != NULL && *networks != NULL; networks++) {
		size_t length = strlen(*networks) + 1;

		ck_assert_uint_lt(at + length, sizeof(group->networks));
		memcpy(group->networks + at, *networks, length);
		at += length;
	}
	group->packets = packets;
	group->bytes = bytes;
	group->per = per;
}

static void
assert_groups_error(const struct threshold_group_list *groups, const char *expected)
{
	char message[256] = "";

	ck_assert_int_ne(threshold_groups_check(groups, message, sizeof(message)), 0);
	ck_assert_str_eq(message, expected);
}

/* A third group beside a valid two, and the first problem check() finds with it. */
static const struct {
	const char *name;
	const char *const *networks;
	uint64_t packets;
	const char *error;
} third_groups[] = {
	{"other", (const char *const[]){"203.0.113.0/24", "2001:0db8::/32", NULL}, 10,
	 "'2001:db8::/32' is in both groups 'customers' and 'other'"},
	{"other", (const char *const[]){"203.0.113.0/24", "203.0.113.0/24", NULL}, 10,
	 "group 'other' lists '203.0.113.0/24' twice (as '203.0.113.0/24')"},
	{"other", (const char *const[]){"203.0.113.1/24", NULL}, 10,
	 "group 'other': '203.0.113.1/24' has bits set past its length (the network is "
	 "203.0.113.0/24)"},
	{"spare", NULL, 10,
	 "groups 'rest' and 'spare' both have no `networks:`: only one group may be the default"},
	{"customers", NULL, 10, "two groups are named 'customers'"},
	{"no limit", (const char *const[]){"203.0.113.0/24", NULL}, 0,
	 "group name 'no limit' may hold only letters, digits and `_ . -`"},
	{"nolimit", (const char *const[]){"203.0.113.1/24", NULL}, 0,
	 "group 'nolimit' has no limit: give `pkts:` or `bytes:`"},
};

START_TEST(groups_check_refuses_what_is_ambiguous)
{
	static const char *const customers[] = {"198.51.100.0/24", "2001:db8::/32", NULL};
	struct threshold_group_list *groups = calloc(1, sizeof(*groups));
	char message[256];

	ck_assert_ptr_nonnull(groups);
	add_group(groups, "customers", customers, 10, 0, THRESHOLD_PER_WINDOW);
	add_group(groups, "rest", NULL, 0, 5000, THRESHOLD_PER_SECOND);
	ck_assert_int_eq(threshold_groups_check(groups, message, sizeof(message)), 0);
	for (unsigned c = 0; c < sizeof(third_groups) / sizeof(third_groups[0]); c++) {
		groups->count = 2;
		add_group(groups, third_groups[c].name, third_groups[c].networks,
			  third_groups[c].packets, 0, THRESHOLD_PER_WINDOW);
		assert_groups_error(groups, third_groups[c].error);
	}
	free(groups);
}
END_TEST

/* Nested prefixes of both families: the longest match decides, else the default group. */
START_TEST(groups_find_the_longest_prefix)
{
	static const char *const wide[] = {"10.0.0.0/8", "2001:db8::/32", NULL};
	static const char *const narrow[] = {"10.1.0.0/16", "2001:db8:1::/48", NULL};
	static const char *const host[] = {"10.1.2.3", "2001:db8:1::7", NULL};
	static const struct {
		const char *address;
		int group;
	} cases[] = {
		{"10.2.0.1", 0},      {"10.1.9.9", 1},        {"10.1.2.3", 2},
		{"10.1.2.4", 1},      {"11.0.0.1", 3},        {"2001:db8:2::1", 0},
		{"2001:db8:1::1", 1}, {"2001:db8:1::7", 2},   {"2001:db9::1", 3},
		{"::ffff:0:0", 3},    {"0.0.0.0", 3},         {"10.255.255.255", 0},
	};
	struct threshold_group_list *groups = calloc(1, sizeof(*groups));
	struct threshold_groups *tables;
	char message[256] = "";

	ck_assert_ptr_nonnull(groups);
	add_group(groups, "wide", wide, 100, 0, THRESHOLD_PER_WINDOW);
	add_group(groups, "narrow", narrow, 10, 0, THRESHOLD_PER_WINDOW);
	add_group(groups, "host", host, 0, 1000, THRESHOLD_PER_WINDOW);
	add_group(groups, "rest", NULL, 1000, 0, THRESHOLD_PER_SECOND);
	ck_assert_int_eq(threshold_groups_check(groups, message, sizeof(message)), 0);
	tables = threshold_groups_create(groups, message, sizeof(message));
	ck_assert_msg(tables != NULL, "%s", message);
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint8_t address[16];

		test_address(cases[c].address, address);
		ck_assert_msg(threshold_groups_find(tables, address) == cases[c].group,
			      "%s: group %d, expected %d", cases[c].address,
			      threshold_groups_find(tables, address), cases[c].group);
	}
	threshold_groups_free(tables);
	/* without the default group, an address in no network is in none */
	groups->count = 3;
	tables = threshold_groups_create(groups, message, sizeof(message));
	ck_assert_msg(tables != NULL, "%s", message);
	{
		uint8_t address[16];

		test_address("11.0.0.1", address);
		ck_assert_int_eq(threshold_groups_find(tables, address), -1);
		test_address("2001:db9::1", address);
		ck_assert_int_eq(threshold_groups_find(tables, address), -1);
		test_address("10.1.2.3", address);
		ck_assert_int_eq(threshold_groups_find(tables, address), 2);
	}
	threshold_groups_free(tables);
	free(groups);
}
END_TEST

/* ---- the kernel ---------------------------------------------------------------------------- */

/* A src_count record of @p key for @p address, over [@p start_s, @p end_s) seconds. */
static void
send_window(struct test_rig *rig, enum count_key key, const char *address, uint64_t packets,
	    uint64_t bytes, uint64_t start_s, uint64_t end_s)
{
	struct src_count_record record = {
		.header = {.type = STREAM_SRC_COUNT, .kernel = "count",
			   .partition_hash = 7},
		.key = key, .packets = packets, .bytes = bytes, .start_ns = start_s * NS_PER_SECOND,
		.end_ns = end_s * NS_PER_SECOND,
	};

	test_address(address, key == COUNT_KEY_DESTINATION ? record.destination_address
							   : record.source_address);
	ck_assert_int_eq(rte_ring_enqueue_elem(rig->input.ring, &record, sizeof(record)), 0);
}

/* One second of @p packets (100 bytes each) from @p source, starting at @p second. */
static void
send_second(struct test_rig *rig, const char *source, uint64_t packets, uint64_t second)
{
	send_window(rig, COUNT_KEY_SOURCE, source, packets, packets * 100, second, second + 1);
}

/* Poll until the input is taken (no end-of-input flush); @return the alerts emitted. */
static unsigned
take_alerts(struct test_rig *rig, struct alert_record *alerts)
{
	test_rig_consume_input(rig, false);
	return rte_ring_dequeue_burst_elem(rig->output.ring, alerts, sizeof(*alerts), MAX_ALERTS,
					   NULL);
}

static const char *
line_of(const struct alert_record *alert)
{
	static char line[JSONL_LINE_MAX];

	ck_assert_uint_lt(jsonl_format_record((const union any_record *)alert, line, sizeof(line)),
			  sizeof(line));
	return line;
}

/* @p alert says @p text in the jsonl form, from after its "alert_id" to its end. */
static void
assert_line_tail(const struct alert_record *alert, const char *state, const char *tail)
{
	char expected[JSONL_LINE_MAX];
	const char *line = line_of(alert);
	const char *after_id = strstr(line, "\",\"src\"");

	snprintf(expected, sizeof(expected), "{\"type\":\"alert\",\"kernel\":\"%s\",\"state\":\"%s\","
		 "\"alert_id\":\"%016llx", alert->header.kernel, state,
		 (unsigned long long)alert->alert_id);
	ck_assert_msg(strncmp(line, expected, strlen(expected)) == 0, "%s", line);
	ck_assert_ptr_nonnull(after_id);
	ck_assert_str_eq(after_id + 2, tail);
}

static void *
lifecycle_params(const char *above, const char *hold, const char *update, const char *maximum)
{
	char settings[4][48];
	const char *list[6] = {"alerts=lifecycle"};

	snprintf(settings[0], sizeof(settings[0]), "above=%s", above);
	snprintf(settings[1], sizeof(settings[1]), "hold=%s", hold);
	snprintf(settings[2], sizeof(settings[2]), "update=%s", update);
	snprintf(settings[3], sizeof(settings[3]), "max_alerts=%s", maximum);
	for (unsigned i = 0; i < 4; i++)
		list[i + 1] = settings[i];
	return test_params(&threshold_kernel, list);
}

/* Groups per window: each key held to its own group's limit, its group in the record. */
START_TEST(kernel_holds_each_key_to_its_group)
{
	static const char *const wide[] = {"10.0.0.0/8", "2001:db8::/32", NULL};
	static const char *const narrow[] = {"10.1.0.0/16", "2001:db8:1::/48", NULL};
	static const char *const host[] = {"10.1.2.3", NULL};
	void *params = test_params(&threshold_kernel, NULL);
	struct threshold_group_list *groups = groups_of(params);
	struct alert_record alerts[MAX_ALERTS];
	struct test_rig rig;
	unsigned count;

	add_group(groups, "wide", wide, 100, 0, THRESHOLD_PER_WINDOW);
	add_group(groups, "narrow", narrow, 10, 0, THRESHOLD_PER_WINDOW);
	add_group(groups, "host", host, 0, 1000, THRESHOLD_PER_WINDOW);
	add_group(groups, "rest", NULL, 1000, 0, THRESHOLD_PER_SECOND);
	test_rig_open_params(&rig, &threshold_kernel, "guard", STREAM_SRC_COUNT, params, 64);
	send_window(&rig, COUNT_KEY_SOURCE, "10.2.0.1", 101, 1, 0, 1);       /* wide */
	send_window(&rig, COUNT_KEY_SOURCE, "10.2.0.2", 100, 1, 0, 1);       /* wide: equal */
	send_window(&rig, COUNT_KEY_SOURCE, "10.1.9.9", 11, 1, 0, 1);        /* narrow */
	send_window(&rig, COUNT_KEY_SOURCE, "10.1.2.3", 50, 1001, 0, 1);     /* host, bytes */
	send_window(&rig, COUNT_KEY_SOURCE, "2001:db8:1::5", 11, 1, 0, 1);   /* narrow */
	send_window(&rig, COUNT_KEY_SOURCE, "2001:db8:2::5", 11, 1, 0, 1);   /* wide: below */
	send_window(&rig, COUNT_KEY_SOURCE, "192.0.2.1", 2000, 1, 0, 2);     /* rest: 1000/s */
	send_window(&rig, COUNT_KEY_SOURCE, "192.0.2.2", 2002, 1, 0, 2);     /* rest: 1001/s */
	send_window(&rig, COUNT_KEY_DESTINATION, "10.1.7.7", 12, 1, 0, 1);   /* dst: narrow */
	count = take_alerts(&rig, alerts);
	ck_assert_uint_eq(count, 6);
	ck_assert_str_eq(line_of(&alerts[0]),
		"{\"type\":\"alert\",\"kernel\":\"guard\",\"src\":\"10.2.0.1\",\"group\":\"wide\","
		"\"metric\":\"pkts\",\"value\":101,\"threshold\":100,\"start\":0.000000000,"
		"\"end\":1.000000000}\n");
	ck_assert_str_eq(line_of(&alerts[1]),
		"{\"type\":\"alert\",\"kernel\":\"guard\",\"src\":\"10.1.9.9\",\"group\":\"narrow\","
		"\"metric\":\"pkts\",\"value\":11,\"threshold\":10,\"start\":0.000000000,"
		"\"end\":1.000000000}\n");
	ck_assert_str_eq(line_of(&alerts[2]),
		"{\"type\":\"alert\",\"kernel\":\"guard\",\"src\":\"10.1.2.3\",\"group\":\"host\","
		"\"metric\":\"bytes\",\"value\":1001,\"threshold\":1000,\"start\":0.000000000,"
		"\"end\":1.000000000}\n");
	ck_assert_str_eq(line_of(&alerts[3]),
		"{\"type\":\"alert\",\"kernel\":\"guard\",\"src\":\"2001:db8:1::5\","
		"\"group\":\"narrow\",\"metric\":\"pkts\",\"value\":11,\"threshold\":10,"
		"\"start\":0.000000000,\"end\":1.000000000}\n");
	ck_assert_str_eq(line_of(&alerts[4]),
		"{\"type\":\"alert\",\"kernel\":\"guard\",\"src\":\"192.0.2.2\",\"group\":\"rest\","
		"\"metric\":\"pkts\",\"per\":\"second\",\"value\":1001,\"threshold\":1000,"
		"\"start\":0.000000000,\"end\":2.000000000}\n");
	ck_assert_str_eq(line_of(&alerts[5]),
		"{\"type\":\"alert\",\"kernel\":\"guard\",\"dst\":\"10.1.7.7\",\"group\":\"narrow\","
		"\"metric\":\"pkts\",\"value\":12,\"threshold\":10,\"start\":0.000000000,"
		"\"end\":1.000000000}\n");
	ck_assert_uint_eq(test_rig_stat(&rig, "keys_outside_groups"), 0);
	test_rig_close(&rig);
}
END_TEST

/* No default group and no `above`: a key in no network is not alerted, and is counted. */
START_TEST(kernel_counts_keys_outside_every_group)
{
	static const char *const customers[] = {"198.51.100.0/24", NULL};
	void *params = test_params(&threshold_kernel, NULL);
	struct alert_record alerts[MAX_ALERTS];
	struct test_rig rig;

	add_group(groups_of(params), "customers", customers, 10, 0, THRESHOLD_PER_WINDOW);
	test_rig_open_params(&rig, &threshold_kernel, "guard", STREAM_SRC_COUNT, params, 64);
	send_second(&rig, "203.0.113.1", 1000000, 0);
	send_second(&rig, "2001:db8::1", 1000000, 0);
	send_second(&rig, "198.51.100.9", 11, 0);
	ck_assert_uint_eq(take_alerts(&rig, alerts), 1);
	ck_assert_uint_eq(test_rig_stat(&rig, "keys_outside_groups"), 2);
	ck_assert_uint_eq(test_rig_stat(&rig, "alerts"), 1);
	test_rig_close(&rig);
}
END_TEST

/* `above: 0` is a limit (every record with a packet alerts); left out, there is none. */
START_TEST(kernel_above_zero_is_a_limit)
{
	struct alert_record alerts[MAX_ALERTS];
	struct test_rig rig;

	test_rig_open(&rig, &threshold_kernel, "everything", STREAM_SRC_COUNT,
		      (const char *const[]){"above=0", NULL}, 64);
	send_second(&rig, "198.51.100.7", 1, 0);
	ck_assert_uint_eq(take_alerts(&rig, alerts), 1);
	ck_assert_uint_eq(alerts[0].threshold, 0);
	ck_assert_uint_eq(alerts[0].value, 1);
	test_rig_close(&rig);
	test_rig_open(&rig, &threshold_kernel, "nothing", STREAM_SRC_COUNT, NULL, 64);
	send_second(&rig, "198.51.100.7", 1000000, 0);
	ck_assert_uint_eq(take_alerts(&rig, alerts), 0);
	test_rig_close(&rig);
}
END_TEST

static void
assert_alert(const struct alert_record *alert, enum alert_state state, uint64_t value,
	     uint64_t peak, uint64_t packets, uint64_t start_s, uint64_t end_s)
{
	ck_assert_uint_eq(alert->fields, ALERT_FIELD_LIFECYCLE);
	ck_assert_uint_eq(alert->state, state);
	ck_assert_uint_eq(alert->value, value);
	ck_assert_uint_eq(alert->peak, peak);
	ck_assert_uint_eq(alert->total_packets, packets);
	ck_assert_uint_eq(alert->total_bytes, packets * 100);
	ck_assert_uint_eq(alert->start_ns, start_s * NS_PER_SECOND);
	ck_assert_uint_eq(alert->end_ns, end_s * NS_PER_SECOND);
	ck_assert_uint_eq(alert->header.partition_hash, 7);
}

/*
 * A source crosses, stays, dips below for less than `hold`, rises again and
 * then stays below: one start, updates at `update` by window time, and one
 * end once `hold` has passed; the next crossing is a new alert.
 */
START_TEST(lifecycle_one_alert_per_attack)
{
	struct alert_record alerts[MAX_ALERTS];
	struct test_rig rig;
	uint64_t first_id;

	test_rig_open_params(&rig, &threshold_kernel, "episodes", STREAM_SRC_COUNT,
			     lifecycle_params("10", "3s", "2s", "100"), 64);
	send_second(&rig, "198.51.100.7", 5, 0);   /* below: nothing */
	send_second(&rig, "198.51.100.7", 20, 1);  /* start */
	ck_assert_uint_eq(take_alerts(&rig, alerts), 1);
	assert_alert(&alerts[0], ALERT_STATE_START, 20, 20, 20, 1, 2);
	assert_line_tail(&alerts[0], "start",
		"\"src\":\"198.51.100.7\",\"metric\":\"pkts\",\"value\":20,\"threshold\":10,"
		"\"peak\":20,\"pkts\":20,\"bytes\":2000,\"start\":1.000000000,\"end\":2.000000000,"
		"\"duration\":1.000000000}\n");
	first_id = alerts[0].alert_id;
	send_second(&rig, "198.51.100.7", 30, 2);  /* 1 s since the start: no update yet */
	ck_assert_uint_eq(take_alerts(&rig, alerts), 0);
	send_second(&rig, "198.51.100.7", 25, 3);  /* 2 s: an update */
	ck_assert_uint_eq(take_alerts(&rig, alerts), 1);
	assert_alert(&alerts[0], ALERT_STATE_UPDATE, 25, 30, 75, 1, 4);
	ck_assert_uint_eq(alerts[0].alert_id, first_id);
	send_second(&rig, "198.51.100.7", 2, 4);   /* below for 1 s, then 2 s: held */
	send_second(&rig, "198.51.100.7", 3, 5);
	ck_assert_uint_eq(take_alerts(&rig, alerts), 0);
	send_second(&rig, "198.51.100.7", 40, 6);  /* above again: the same alert */
	ck_assert_uint_eq(take_alerts(&rig, alerts), 1);
	assert_alert(&alerts[0], ALERT_STATE_UPDATE, 40, 40, 120, 1, 7);
	ck_assert_uint_eq(alerts[0].alert_id, first_id);
	send_second(&rig, "198.51.100.7", 1, 7);
	send_second(&rig, "198.51.100.7", 1, 8);
	ck_assert_uint_eq(take_alerts(&rig, alerts), 0); /* below since 7 s: 2 s of 3 */
	send_second(&rig, "198.51.100.7", 1, 9);         /* 3 s: the end */
	ck_assert_uint_eq(take_alerts(&rig, alerts), 1);
	assert_alert(&alerts[0], ALERT_STATE_END, 40, 40, 123, 1, 7);
	ck_assert_uint_eq(alerts[0].end_reason, ALERT_END_BELOW);
	assert_line_tail(&alerts[0], "end",
		"\"src\":\"198.51.100.7\",\"metric\":\"pkts\",\"value\":40,\"threshold\":10,"
		"\"peak\":40,\"pkts\":123,\"bytes\":12300,\"start\":1.000000000,"
		"\"end\":7.000000000,\"duration\":6.000000000,\"reason\":\"below\"}\n");
	send_second(&rig, "198.51.100.7", 50, 10);       /* a new attack: a new alert */
	ck_assert_uint_eq(take_alerts(&rig, alerts), 1);
	assert_alert(&alerts[0], ALERT_STATE_START, 50, 50, 50, 10, 11);
	ck_assert_uint_ne(alerts[0].alert_id, first_id);
	first_id = alerts[0].alert_id;
	/* the input ends with the alert open, inside its hold: ended, reason shutdown */
	test_rig_run_to_end(&rig);
	ck_assert_uint_eq(rte_ring_dequeue_burst_elem(rig.output.ring, alerts, sizeof(alerts[0]),
						      MAX_ALERTS, NULL), 1);
	assert_alert(&alerts[0], ALERT_STATE_END, 50, 50, 50, 10, 11);
	ck_assert_uint_eq(alerts[0].end_reason, ALERT_END_SHUTDOWN);
	ck_assert_uint_eq(alerts[0].alert_id, first_id);
	ck_assert_uint_eq(test_rig_stat(&rig, "alerts_started"), 2);
	ck_assert_uint_eq(test_rig_stat(&rig, "alerts_updated"), 2);
	ck_assert_uint_eq(test_rig_stat(&rig, "alerts_ended"), 2);
	ck_assert_uint_eq(test_rig_stat(&rig, "alerts_open"), 0);
	ck_assert_uint_eq(test_rig_stat(&rig, "alerts"), 6);
	test_rig_close(&rig);
}
END_TEST

/*
 * A key that stops sending ends by the stream's time (other keys' windows):
 * `hold` after its last window above, and one window more.
 */
START_TEST(lifecycle_silent_key_ends_by_stream_time)
{
	struct alert_record alerts[MAX_ALERTS];
	struct test_rig rig;

	test_rig_open_params(&rig, &threshold_kernel, "episodes", STREAM_SRC_COUNT,
			     lifecycle_params("10", "3s", "never", "100"), 64);
	send_second(&rig, "198.51.100.7", 20, 1);
	send_second(&rig, "198.51.100.8", 20, 1);
	ck_assert_uint_eq(take_alerts(&rig, alerts), 2);
	send_second(&rig, "198.51.100.8", 20, 2); /* .8 goes on: its alert stays open */
	for (uint64_t second = 2; second < 5; second++)
		send_second(&rig, "192.0.2.1", 1, second);
	ck_assert_uint_eq(take_alerts(&rig, alerts), 0); /* the stream is at 5 s, .7 ends at 6 */
	send_second(&rig, "192.0.2.1", 1, 5);
	ck_assert_uint_eq(take_alerts(&rig, alerts), 1);
	assert_alert(&alerts[0], ALERT_STATE_END, 20, 20, 20, 1, 2);
	ck_assert_uint_eq(alerts[0].end_reason, ALERT_END_BELOW);
	ck_assert_uint_eq(test_rig_stat(&rig, "alerts_open"), 1);
	/* .8, silent since 3 s, would end at 7 s; the input ends at 6 s: shutdown */
	test_rig_run_to_end(&rig);
	ck_assert_uint_eq(rte_ring_dequeue_burst_elem(rig.output.ring, alerts, sizeof(alerts[0]),
						      MAX_ALERTS, NULL), 1);
	assert_alert(&alerts[0], ALERT_STATE_END, 20, 20, 40, 1, 3);
	ck_assert_uint_eq(alerts[0].end_reason, ALERT_END_SHUTDOWN);
	ck_assert_uint_eq(test_rig_stat(&rig, "alerts_updated"), 0);
	test_rig_close(&rig);
}
END_TEST

/* At max_alerts open, a key that would open one more is counted, and opens once room is made. */
START_TEST(lifecycle_counts_alerts_not_opened)
{
	struct alert_record alerts[MAX_ALERTS];
	struct test_rig rig;

	test_rig_open_params(&rig, &threshold_kernel, "episodes", STREAM_SRC_COUNT,
			     lifecycle_params("10", "1s", "never", "2"), 64);
	send_second(&rig, "198.51.100.1", 20, 0);
	send_second(&rig, "198.51.100.2", 20, 0);
	send_second(&rig, "198.51.100.3", 20, 0);
	ck_assert_uint_eq(take_alerts(&rig, alerts), 2);
	ck_assert_uint_eq(test_rig_stat(&rig, "alerts_not_opened"), 1);
	ck_assert_uint_eq(test_rig_stat(&rig, "alerts_open"), 2);
	send_second(&rig, "198.51.100.1", 1, 1);  /* below for 1 s: .1 ends */
	send_second(&rig, "198.51.100.3", 20, 1); /* and .3 opens in its place */
	ck_assert_uint_eq(take_alerts(&rig, alerts), 2);
	ck_assert_uint_eq(alerts[0].state, ALERT_STATE_END);
	ck_assert_uint_eq(alerts[1].state, ALERT_STATE_START);
	ck_assert_str_eq(strstr(line_of(&alerts[1]), "\"src\""),
			 "\"src\":\"198.51.100.3\",\"metric\":\"pkts\",\"value\":20,"
			 "\"threshold\":10,\"peak\":20,\"pkts\":20,\"bytes\":2000,"
			 "\"start\":1.000000000,\"end\":2.000000000,\"duration\":1.000000000}\n");
	test_rig_close(&rig);
}
END_TEST

/* Drain @p rig's output ring; @return the alerts of @p state in it. */
static unsigned
drain_state(struct test_rig *rig, enum alert_state state)
{
	struct alert_record alerts[MAX_ALERTS];
	unsigned taken, matching = 0;

	while ((taken = rte_ring_dequeue_burst_elem(rig->output.ring, alerts, sizeof(alerts[0]),
						    MAX_ALERTS, NULL)) > 0)
		for (unsigned i = 0; i < taken; i++)
			matching += alerts[i].state == state;
	return matching;
}

/*
 * The default max_alerts, 10000, all open at once: every key gets its alert
 * (the hash must hold as many keys as the table has slots), the next one is
 * counted, and the end of input ends them all.
 */
START_TEST(lifecycle_holds_max_alerts_open)
{
	enum { OPEN = 10000, BATCH = 1000 };
	struct test_rig rig;
	unsigned started = 0;
	char address[64];

	test_rig_open_params(&rig, &threshold_kernel, "episodes", STREAM_SRC_COUNT,
			     lifecycle_params("10", "60s", "never", "10000"), 2048);
	for (unsigned key = 0; key <= OPEN; key++) {
		/* IPv4 and IPv6 keys, spread as a real address mix is */
		if (key % 2 == 0)
			snprintf(address, sizeof(address), "10.%u.%u.%u", key >> 16 & 255,
				 key >> 8 & 255, key & 255);
		else
			snprintf(address, sizeof(address), "2001:db8:%x::%x", key * 2654435761u >> 16,
				 key);
		send_second(&rig, address, 20, 0);
		if ((key + 1) % BATCH == 0 || key == OPEN) {
			test_rig_consume_input(&rig, false);
			started += drain_state(&rig, ALERT_STATE_START);
		}
	}
	ck_assert_uint_eq(started, OPEN);
	ck_assert_uint_eq(test_rig_stat(&rig, "alerts_open"), OPEN);
	ck_assert_uint_eq(test_rig_stat(&rig, "alerts_not_opened"), 1);
	rig.drain = NULL;
	test_rig_close_inputs(&rig);
	{
		unsigned ended = 0;

		for (unsigned poll = 0; poll < 100000 && !test_rig_poll(&rig); poll++)
			ended += drain_state(&rig, ALERT_STATE_END);
		ended += drain_state(&rig, ALERT_STATE_END);
		ck_assert_uint_eq(ended, OPEN);
	}
	ck_assert_uint_eq(test_rig_stat(&rig, "alerts_open"), 0);
	test_rig_close(&rig);
}
END_TEST

/* Keys in no group still move the stream's time: a silent alert ends by it. */
START_TEST(lifecycle_keys_outside_groups_move_time)
{
	static const char *const customers[] = {"198.51.100.0/24", NULL};
	void *params = lifecycle_params("10", "1s", "never", "100");
	struct alert_record alerts[MAX_ALERTS];
	struct test_rig rig;

	add_group(groups_of(params), "customers", customers, 10, 0, THRESHOLD_PER_WINDOW);
	*(uint64_t *)value_of(params, "above") = UINT64_MAX; /* `none`: groups only */
	test_rig_open_params(&rig, &threshold_kernel, "episodes", STREAM_SRC_COUNT, params, 64);
	send_second(&rig, "198.51.100.7", 20, 0);
	ck_assert_uint_eq(take_alerts(&rig, alerts), 1);
	send_second(&rig, "203.0.113.1", 1000, 1);
	ck_assert_uint_eq(take_alerts(&rig, alerts), 0); /* the stream at 2 s, the expiry 3 s */
	send_second(&rig, "203.0.113.1", 1000, 2);
	ck_assert_uint_eq(take_alerts(&rig, alerts), 1);
	assert_alert(&alerts[0], ALERT_STATE_END, 20, 20, 20, 0, 1);
	ck_assert_uint_eq(alerts[0].end_reason, ALERT_END_BELOW);
	ck_assert_uint_eq(test_rig_stat(&rig, "keys_outside_groups"), 2);
	test_rig_close(&rig);
}
END_TEST

/*
 * More alerts expire at once than a poll may emit: the scan goes on at the
 * next poll, while a new alert takes a slot it has passed. That alert still
 * ends by silence later (it once never did).
 */
START_TEST(lifecycle_alert_opened_during_a_paused_scan_expires)
{
	struct alert_record alerts[MAX_ALERTS];
	struct test_rig rig;
	char address[32];

	test_rig_open_params(&rig, &threshold_kernel, "episodes", STREAM_SRC_COUNT,
			     lifecycle_params("10", "1s", "never", "100"), 256);
	for (unsigned key = 0; key < 40; key++) {
		snprintf(address, sizeof(address), "198.51.100.%u", key);
		send_second(&rig, address, 20, 0);
	}
	test_rig_consume_input(&rig, false);
	ck_assert_uint_eq(drain_state(&rig, ALERT_STATE_START), 40);
	send_second(&rig, "192.0.2.1", 1, 2);   /* the stream at 3 s: all 40 expire */
	threshold_kernel.process(&rig.instance); /* one poll: its budget ends 32 at most */
	ck_assert_uint_lt(drain_state(&rig, ALERT_STATE_END), 40);
	send_second(&rig, "203.0.113.9", 20, 2); /* opens in a freed slot the scan has passed */
	threshold_kernel.process(&rig.instance); /* and the scan ends the rest */
	ck_assert_uint_eq(test_rig_stat(&rig, "alerts_ended"), 40);
	ck_assert_uint_eq(test_rig_stat(&rig, "alerts_open"), 1);
	drain_state(&rig, ALERT_STATE_END);
	send_second(&rig, "192.0.2.1", 1, 5);   /* 203.0.113.9 expires at 3 + 1 + 1 = 5 s */
	ck_assert_uint_eq(take_alerts(&rig, alerts), 1);
	ck_assert_uint_eq(alerts[0].state, ALERT_STATE_END);
	ck_assert_str_eq(strstr(line_of(&alerts[0]), "\"src\""),
			 "\"src\":\"203.0.113.9\",\"metric\":\"pkts\",\"value\":20,"
			 "\"threshold\":10,\"peak\":20,\"pkts\":20,\"bytes\":2000,"
			 "\"start\":2.000000000,\"end\":3.000000000,\"duration\":1.000000000,"
			 "\"reason\":\"below\"}\n");
	test_rig_close(&rig);
}
END_TEST

/* A key silent for `hold` that comes back above: the old alert ended, a new one starts. */
START_TEST(lifecycle_return_after_hold_is_a_new_alert)
{
	struct alert_record alerts[MAX_ALERTS];
	struct test_rig rig;

	test_rig_open_params(&rig, &threshold_kernel, "episodes", STREAM_SRC_COUNT,
			     lifecycle_params("10", "3s", "never", "100"), 64);
	send_second(&rig, "198.51.100.7", 20, 1);
	ck_assert_uint_eq(take_alerts(&rig, alerts), 1);
	send_second(&rig, "198.51.100.7", 30, 4); /* 2 s of silence: the same alert */
	ck_assert_uint_eq(take_alerts(&rig, alerts), 0);
	send_second(&rig, "198.51.100.7", 40, 8); /* 3 s of silence: a new one */
	ck_assert_uint_eq(take_alerts(&rig, alerts), 2);
	assert_alert(&alerts[0], ALERT_STATE_END, 30, 30, 50, 1, 5);
	ck_assert_uint_eq(alerts[0].end_reason, ALERT_END_BELOW);
	assert_alert(&alerts[1], ALERT_STATE_START, 40, 40, 40, 8, 9);
	ck_assert_uint_ne(alerts[0].alert_id, alerts[1].alert_id);
	test_rig_close(&rig);
}
END_TEST

/* An alert that goes on above on the other metric follows it: value, limit and peak of bytes. */
START_TEST(lifecycle_follows_the_metric_above)
{
	static const char *const customers[] = {"198.51.100.0/24", NULL};
	void *params = lifecycle_params("10", "3s", "1s", "100");
	struct alert_record alerts[MAX_ALERTS];
	struct test_rig rig;

	add_group(groups_of(params), "customers", customers, 10, 1000, THRESHOLD_PER_WINDOW);
	test_rig_open_params(&rig, &threshold_kernel, "episodes", STREAM_SRC_COUNT, params, 64);
	send_window(&rig, COUNT_KEY_SOURCE, "198.51.100.7", 20, 100, 0, 1);
	ck_assert_uint_eq(take_alerts(&rig, alerts), 1);
	ck_assert_str_eq(strstr(line_of(&alerts[0]), "\"group\""),
			 "\"group\":\"customers\",\"metric\":\"pkts\",\"value\":20,"
			 "\"threshold\":10,\"peak\":20,\"pkts\":20,\"bytes\":100,"
			 "\"start\":0.000000000,\"end\":1.000000000,\"duration\":1.000000000}\n");
	send_window(&rig, COUNT_KEY_SOURCE, "198.51.100.7", 5, 90000, 1, 2);
	ck_assert_uint_eq(take_alerts(&rig, alerts), 1);
	ck_assert_str_eq(strstr(line_of(&alerts[0]), "\"group\""),
			 "\"group\":\"customers\",\"metric\":\"bytes\",\"value\":90000,"
			 "\"threshold\":1000,\"peak\":90000,\"pkts\":25,\"bytes\":90100,"
			 "\"start\":0.000000000,\"end\":2.000000000,\"duration\":2.000000000}\n");
	test_rig_close(&rig);
}
END_TEST

/* The view for `jetstreamctl alerts`: the count before the first tick, then the alerts, furthest above first. */
START_TEST(lifecycle_view_lists_open_alerts)
{
	static struct threshold_view view;
	struct test_rig rig;

	test_rig_open_params(&rig, &threshold_kernel, "episodes", STREAM_SRC_COUNT,
			     lifecycle_params("10", "3s", "never", "100"), 64);
	send_second(&rig, "198.51.100.7", 20, 0);
	send_second(&rig, "198.51.100.8", 50, 0);
	send_second(&rig, "198.51.100.9", 30, 0);
	test_rig_consume_input(&rig, false);
	ck_assert_int_eq(threshold_read_view(&rig.instance, &view), 0);
	ck_assert_uint_eq(view.open, 3);
	ck_assert_uint_eq(view.count, 0); /* not published yet */
	threshold_kernel.tick(&rig.instance, NS_PER_SECOND);
	ck_assert_int_eq(threshold_read_view(&rig.instance, &view), 0);
	ck_assert_uint_eq(view.open, 3);
	ck_assert_uint_eq(view.count, 3);
	ck_assert_uint_eq(view.entries[0].peak, 50);
	ck_assert_uint_eq(view.entries[1].peak, 30);
	ck_assert_uint_eq(view.entries[2].peak, 20);
	ck_assert_uint_eq(view.stream_ns, NS_PER_SECOND);
	test_rig_close(&rig);
	/* per window: no view */
	test_rig_open(&rig, &threshold_kernel, "windows", STREAM_SRC_COUNT,
		      (const char *const[]){"above=10", NULL}, 64);
	ck_assert_int_eq(threshold_read_view(&rig.instance, &view), -ENOTSUP);
	test_rig_close(&rig);
}
END_TEST

/* A reload that changes the limit keeps the open alert: the new instance ends it, by its limit. */
START_TEST(lifecycle_take_state_keeps_open_alerts)
{
	struct alert_record alerts[MAX_ALERTS];
	struct test_rig old_rig, new_rig;
	uint64_t alert_id;

	test_rig_open_params(&old_rig, &threshold_kernel, "episodes", STREAM_SRC_COUNT,
			     lifecycle_params("10", "2s", "1s", "100"), 64);
	send_second(&old_rig, "198.51.100.7", 20, 0);
	ck_assert_uint_eq(take_alerts(&old_rig, alerts), 1);
	alert_id = alerts[0].alert_id;
	test_rig_open_params(&new_rig, &threshold_kernel, "episodes", STREAM_SRC_COUNT,
			     lifecycle_params("30", "2s", "1s", "100"), 64);
	threshold_kernel.take_state(&new_rig.instance, &old_rig.instance);
	ck_assert_uint_eq(test_rig_stat(&new_rig, "alerts_open"), 1);
	ck_assert_uint_eq(test_rig_stat(&new_rig, "alerts_started"), 1);
	send_second(&new_rig, "198.51.100.7", 40, 1); /* above 30: an update of the same alert */
	ck_assert_uint_eq(take_alerts(&new_rig, alerts), 1);
	ck_assert_uint_eq(alerts[0].state, ALERT_STATE_UPDATE);
	ck_assert_uint_eq(alerts[0].alert_id, alert_id);
	ck_assert_uint_eq(alerts[0].threshold, 30);
	send_second(&new_rig, "198.51.100.7", 20, 2); /* below 30 now */
	send_second(&new_rig, "198.51.100.7", 20, 3);
	ck_assert_uint_eq(take_alerts(&new_rig, alerts), 1);
	assert_alert(&alerts[0], ALERT_STATE_END, 40, 40, 100, 0, 2);
	ck_assert_uint_eq(alerts[0].alert_id, alert_id);
	/* the old instance kept nothing to end */
	test_rig_run_to_end(&old_rig);
	ck_assert_uint_eq(rte_ring_count(old_rig.output.ring), 0);
	test_rig_close(&old_rig);
	test_rig_close(&new_rig);
}
END_TEST

Suite *
threshold_suite(void)
{
	Suite *suite = suite_create("threshold");
	TCase *groups = tcase_create("groups");
	TCase *lifecycle = tcase_create("lifecycle");

	tcase_add_test(groups, prefixes_parse_both_families);
	tcase_add_test(groups, groups_check_refuses_what_is_ambiguous);
	tcase_add_test(groups, groups_find_the_longest_prefix);
	tcase_add_test(groups, kernel_holds_each_key_to_its_group);
	tcase_add_test(groups, kernel_counts_keys_outside_every_group);
	tcase_add_test(groups, kernel_above_zero_is_a_limit);
	tcase_add_test(lifecycle, lifecycle_one_alert_per_attack);
	tcase_add_test(lifecycle, lifecycle_silent_key_ends_by_stream_time);
	tcase_add_test(lifecycle, lifecycle_counts_alerts_not_opened);
	tcase_add_test(lifecycle, lifecycle_holds_max_alerts_open);
	tcase_add_test(lifecycle, lifecycle_keys_outside_groups_move_time);
	tcase_add_test(lifecycle, lifecycle_alert_opened_during_a_paused_scan_expires);
	tcase_add_test(lifecycle, lifecycle_return_after_hold_is_a_new_alert);
	tcase_add_test(lifecycle, lifecycle_follows_the_metric_above);
	tcase_add_test(lifecycle, lifecycle_view_lists_open_alerts);
	tcase_add_test(lifecycle, lifecycle_take_state_keeps_open_alerts);
	suite_add_tcase(suite, groups);
	suite_add_tcase(suite, lifecycle);
	return suite;
}
