/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the control socket builds on: the per_src_counter's published top of
 * each closed window (exactly the best 100 keys in rank order, ties broken
 * by bytes then key) and the protocol's answers to malformed requests
 * (exact error texts; none of them touches the running graph).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "control_commands.h"
#include "kernels/per_src_counter.h"
#include "packet.h"
#include "suites.h"
#include "test_rig.h"

#define NS_PER_SECOND 1000000000ull
#define SOURCES 300
#define OUTPUT_RING_SIZE 512 /* holds a whole window's records */

/* Source i sends (i % 50) + 1 packets of 100 + i % 3 bytes at @p second (many ties). */
static void
send_window(struct test_rig *rig, unsigned second)
{
	for (unsigned i = 0; i < SOURCES; i++) {
		for (unsigned p = 0; p < i % 50 + 1; p++) {
			struct rte_mbuf *packet = test_rig_new_packet(rig);
			struct packet_meta *meta = packet_meta(packet);
			char source[32];

			snprintf(source, sizeof(source), "10.9.%u.%u", i / 256, i % 256);
			test_address(source, meta->source_address);
			meta->ip_version = 4;
			meta->source_hash = packet_address_hash(meta->source_address);
			meta->wire_length = 100 + i % 3;
			meta->timestamp_ns = second * NS_PER_SECOND + i;
			test_rig_send(rig, packet);
		}
		/* at most 50 packets queued at once: the input ring holds 1023 */
		test_rig_consume_input(rig, true);
	}
}

static void
discard_output(struct test_rig *rig)
{
	struct src_count_record out[64];

	while (rte_ring_dequeue_burst_elem(rig->output.ring, out, sizeof(out[0]), 64, NULL) > 0)
		;
}

static int
compare_rank(const void *a, const void *b)
{
	if (per_src_counter_top_before(a, b))
		return -1;
	return per_src_counter_top_before(b, a) ? 1 : 0;
}

/* The best PER_SRC_COUNTER_TOP_MAX of the keys send_window() sends, in rank order. */
static void
expected_top(struct per_src_counter_top_entry *expected)
{
	struct per_src_counter_top_entry all[SOURCES];

	memset(all, 0, sizeof(all));
	for (unsigned i = 0; i < SOURCES; i++) {
		char source[32];

		snprintf(source, sizeof(source), "10.9.%u.%u", i / 256, i % 256);
		test_address(source, all[i].key);
		all[i].packets = i % 50 + 1;
		all[i].bytes = all[i].packets * (100 + i % 3);
	}
	qsort(all, SOURCES, sizeof(all[0]), compare_rank);
	memcpy(expected, all, PER_SRC_COUNTER_TOP_MAX * sizeof(all[0]));
}

START_TEST(counter_publishes_the_top_of_each_closed_window)
{
	const char *const settings[] = {"window=1s", NULL};
	struct per_src_counter_top_entry expected[PER_SRC_COUNTER_TOP_MAX];
	struct per_src_counter_top *top = calloc(1, sizeof(*top));
	struct test_rig rig;

	test_rig_open(&rig, &per_src_counter_kernel, "count", STREAM_PACKET, settings,
		      OUTPUT_RING_SIZE);
	rig.drain = discard_output;
	send_window(&rig, 10);
	test_rig_consume_input(&rig, true);
	/* the window is open: nothing closed yet */
	ck_assert_int_eq(per_src_counter_read_top(&rig.instance, top), -ENOENT);
	send_window(&rig, 11); /* its first packet closes [10 s, 11 s) */
	test_rig_consume_input(&rig, true);
	ck_assert_int_eq(per_src_counter_read_top(&rig.instance, top), 0);
	ck_assert_uint_eq(top->start_ns, 10 * NS_PER_SECOND);
	ck_assert_uint_eq(top->end_ns, 11 * NS_PER_SECOND);
	ck_assert_uint_eq(top->key, COUNT_KEY_SOURCE);
	ck_assert_uint_eq(top->count, PER_SRC_COUNTER_TOP_MAX);
	expected_top(expected);
	for (unsigned i = 0; i < PER_SRC_COUNTER_TOP_MAX; i++) {
		ck_assert_uint_eq(top->entries[i].packets, expected[i].packets);
		ck_assert_uint_eq(top->entries[i].bytes, expected[i].bytes);
		ck_assert_mem_eq(top->entries[i].key, expected[i].key, sizeof(expected[i].key));
	}
	/* the order itself, checked apart from the comparator: ties go to the lower key bytes */
	for (unsigned i = 1; i < PER_SRC_COUNTER_TOP_MAX; i++) {
		const struct per_src_counter_top_entry *before = &top->entries[i - 1];
		const struct per_src_counter_top_entry *after = &top->entries[i];

		ck_assert(before->packets > after->packets ||
			  (before->packets == after->packets &&
			   (before->bytes > after->bytes ||
			    (before->bytes == after->bytes &&
			     memcmp(before->key, after->key, sizeof(before->key)) < 0))));
	}
	/* the best: 50 packets of 102 bytes (i % 50 == 49 and i % 3 == 2: i = 149), key order next */
	ck_assert_uint_eq(top->entries[0].packets, 50);
	ck_assert_uint_eq(top->entries[0].bytes, 5100);
	test_rig_run_to_end(&rig);
	/* the last window goes out at the end of input and is published too */
	ck_assert_int_eq(per_src_counter_read_top(&rig.instance, top), 0);
	ck_assert_uint_eq(top->start_ns, 11 * NS_PER_SECOND);
	test_rig_close(&rig);
	free(top);
}
END_TEST

/* The reply's "error" text, or "" when it is not an error reply. */
static void
check_error(const char *request, const char *expected)
{
	enum control_command_wait wait = CONTROL_COMMAND_WAIT_RELOAD;
	json_t *reply = control_commands_run(request, strlen(request), true, &wait);

	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(wait, CONTROL_COMMAND_REPLIED);
	ck_assert(json_is_false(json_object_get(reply, "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(reply, "error")), expected);
	json_decref(reply);
}

START_TEST(malformed_requests_get_exact_errors)
{
	/* what a check would read: refused before anything is read */
	static const struct control_sources sources = {.settings_path = NULL};
	static struct config *const running = NULL;

	control_commands_attach(&sources, &running);
	check_error("", "not JSON: '[' or '{' expected near end of file (column 0)");
	check_error("garbage", "not JSON: '[' or '{' expected near 'garbage' (column 7)");
	check_error("[1]", "a request is a JSON object: {\"command\": ...}");
	check_error("{}", "command: Object item not found: command");
	check_error("{\"command\":1}", "command: Expected string, got integer");
	check_error("{\"command\":\"stats\"}",
		    "unknown command 'stats' (commands: status, reload, check, sources, alerts, dump, "
		    "dump_status)");
	check_error("{\"command\":\"status\",\"extra\":true}",
		    "status: 1 object item(s) left unpacked: extra");
	check_error("{\"command\":\"reload\",\"command\":\"reload\"}",
		    "not JSON: duplicate object key near '\"command\"' (column 29)");
	check_error("{\"command\":\"sources\",\"kernel\":3}", "sources: Expected string, got integer");
	check_error("{\"command\":\"sources\"}", "sources: Object item not found: kernel");
	check_error("{\"command\":\"sources\",\"kernel\":\"count\",\"n\":0}", "n: from 1 to 100");
	check_error("{\"command\":\"sources\",\"kernel\":\"count\",\"n\":101}", "n: from 1 to 100");
	check_error("{\"command\":\"check\",\"settings\":\"relative.yaml\"}",
		    "settings: paths must be absolute (jetstreamctl resolves them)");
}
END_TEST

START_TEST(reload_request_waits_for_its_outcome)
{
	enum control_command_wait wait = CONTROL_COMMAND_REPLIED;
	json_t *reply = control_commands_run("{\"command\":\"reload\"}", 20, false, &wait);

	ck_assert_ptr_null(reply);
	ck_assert_int_eq(wait, CONTROL_COMMAND_WAIT_RELOAD);
}
END_TEST

/* A check runs only in its turn; a malformed one is answered at once all the same. */
START_TEST(check_request_waits_for_its_turn)
{
	static const char check[] = "{\"command\":\"check\",\"settings\":\"relative.yaml\"}";
	static const char malformed[] = "{\"command\":\"check\",\"extra\":1}";
	static const struct control_sources sources = {.settings_path = NULL};
	static struct config *const running = NULL;
	enum control_command_wait wait = CONTROL_COMMAND_REPLIED;
	json_t *reply;

	control_commands_attach(&sources, &running);
	reply = control_commands_run(check, strlen(check), false, &wait);
	ck_assert_ptr_null(reply);
	ck_assert_int_eq(wait, CONTROL_COMMAND_WAIT_CHECK);
	reply = control_commands_run(malformed, strlen(malformed), false, &wait);
	ck_assert_int_eq(wait, CONTROL_COMMAND_REPLIED);
	ck_assert_str_eq(json_string_value(json_object_get(reply, "error")),
			 "check: 1 object item(s) left unpacked: extra");
	json_decref(reply);
	/* in its turn, the same line runs */
	check_error(check, "settings: paths must be absolute (jetstreamctl resolves them)");
}
END_TEST

Suite *
control_suite(void)
{
	Suite *suite = suite_create("control");
	TCase *cases = tcase_create("control");

	tcase_add_test(cases, counter_publishes_the_top_of_each_closed_window);
	tcase_add_test(cases, malformed_requests_get_exact_errors);
	tcase_add_test(cases, reload_request_waits_for_its_outcome);
	tcase_add_test(cases, check_request_waits_for_its_turn);
	suite_add_tcase(suite, cases);
	return suite;
}
