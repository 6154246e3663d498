/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * proto_stats on real DPDK objects: the instance is wired by hand between an
 * input ring the test fills with crafted packet metadata and an output ring
 * the test drains, and driven the way the runtime drives it.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <rte_mbuf.h>
#include <rte_ring_elem.h>

#include "kernel.h"
#include "kernels/registry.h"
#include "outputs/jsonl.h"
#include "packet.h"
#include "suites.h"
#include "test_rig.h"

#define NS_PER_SECOND 1000000000ull

extern const struct kernel_ops proto_stats_kernel;

/* proto_stats called "stats", with `window` @p window, between the test's rings. */
static void
open_stats_rig(struct test_rig *rig, const char *window, unsigned output_ring_size)
{
	char setting[64];
	const char *const settings[] = {setting, NULL};

	snprintf(setting, sizeof(setting), "window=%s", window);
	test_rig_open(rig, &proto_stats_kernel, "stats", STREAM_PACKET, settings, output_ring_size);
}

static unsigned
collect(struct test_rig *rig, struct proto_stats_record *records, unsigned max)
{
	return rte_ring_dequeue_burst_elem(rig->output.ring, records, sizeof(*records), max, NULL);
}

/* A packet as the parser would describe it: IP version (0 = not IP), protocol, flags. */
static void
send_meta(struct test_rig *rig, uint8_t ip_version, uint8_t protocol, uint8_t flags,
	  uint32_t wire_length, uint64_t time_ns)
{
	struct rte_mbuf *packet = test_rig_new_packet(rig);
	struct packet_meta *meta = packet_meta(packet);

	meta->ip_version = ip_version;
	meta->protocol = protocol;
	meta->flags = flags;
	meta->wire_length = wire_length;
	meta->timestamp_ns = time_ns;
	test_rig_send(rig, packet);
}

static void
send_sized(struct test_rig *rig, uint32_t wire_length, uint64_t time_ns)
{
	send_meta(rig, 4, IPPROTO_UDP, 0, wire_length, time_ns);
}

static void
assert_class(const struct proto_stats_record *record, enum proto_stats_class class,
	     uint64_t packets, uint64_t bytes)
{
	ck_assert_msg(record->packets[class] == packets && record->bytes[class] == bytes,
		      "class %d: %lu packets %lu bytes, expected %lu and %lu", class,
		      (unsigned long)record->packets[class], (unsigned long)record->bytes[class],
		      (unsigned long)packets, (unsigned long)bytes);
}

/* Each class once, with a distinct length so a packet in the wrong class shows. */
START_TEST(classes_of_crafted_packets)
{
	struct proto_stats_record record;
	struct test_rig rig;

	open_stats_rig(&rig, "total", 64);
	send_meta(&rig, 4, IPPROTO_TCP, 0, 100, 1);
	send_meta(&rig, 4, IPPROTO_UDP, 0, 200, 2);
	send_meta(&rig, 4, IPPROTO_ICMP, 0, 300, 3);
	send_meta(&rig, 6, IPPROTO_ICMPV6, 0, 400, 4);
	send_meta(&rig, 6, IPPROTO_SCTP, 0, 500, 5);
	send_meta(&rig, 4, IPPROTO_GRE, 0, 600, 6);
	send_meta(&rig, 6, IPPROTO_TCP, 0, 700, 7);
	send_meta(&rig, 0, 0, 0, 42, 8); /* ARP */
	test_rig_run_to_end(&rig);
	ck_assert_uint_eq(collect(&rig, &record, 1), 1);
	assert_class(&record, PROTO_STATS_IPV4, 4, 1200);
	assert_class(&record, PROTO_STATS_IPV6, 3, 1600);
	assert_class(&record, PROTO_STATS_OTHER_L3, 1, 42);
	assert_class(&record, PROTO_STATS_TCP, 2, 800);
	assert_class(&record, PROTO_STATS_UDP, 1, 200);
	assert_class(&record, PROTO_STATS_ICMP, 1, 300);
	assert_class(&record, PROTO_STATS_ICMPV6, 1, 400);
	assert_class(&record, PROTO_STATS_SCTP, 1, 500);
	assert_class(&record, PROTO_STATS_OTHER_L4, 1, 600);
	ck_assert_uint_eq(record.malformed_packets, 0);
	test_rig_close(&rig);
}
END_TEST

/* Later fragments have no L4 header: other L4, whatever protocol the IP header names. */
START_TEST(later_fragments_are_other_l4)
{
	struct proto_stats_record record;
	struct test_rig rig;

	open_stats_rig(&rig, "total", 64);
	send_meta(&rig, 4, IPPROTO_UDP, PACKET_FLAG_FRAGMENT | PACKET_FLAG_HAS_PORTS, 1514, 1);
	send_meta(&rig, 4, IPPROTO_UDP, PACKET_FLAG_FRAGMENT | PACKET_FLAG_LATER_FRAGMENT, 600, 2);
	send_meta(&rig, 6, IPPROTO_TCP, PACKET_FLAG_FRAGMENT | PACKET_FLAG_LATER_FRAGMENT, 700, 3);
	test_rig_run_to_end(&rig);
	ck_assert_uint_eq(collect(&rig, &record, 1), 1);
	assert_class(&record, PROTO_STATS_UDP, 1, 1514); /* the first fragment has the header */
	assert_class(&record, PROTO_STATS_TCP, 0, 0);
	assert_class(&record, PROTO_STATS_OTHER_L4, 2, 1300);
	assert_class(&record, PROTO_STATS_IPV4, 2, 2114);
	assert_class(&record, PROTO_STATS_IPV6, 1, 700);
	test_rig_close(&rig);
}
END_TEST

/*
 * Malformed packets count in malformed_packets and, like Wireshark, under the
 * protocol their IP header names even with the L4 header cut; a frame whose IP
 * header could not be parsed (ip_version 0) is other L3 and has no L4 class.
 */
START_TEST(malformed_packets_keep_their_protocol)
{
	struct proto_stats_record record;
	struct test_rig rig;

	open_stats_rig(&rig, "total", 64);
	send_meta(&rig, 4, IPPROTO_TCP, PACKET_FLAG_MALFORMED, 60, 1);
	send_meta(&rig, 6, IPPROTO_HOPOPTS, PACKET_FLAG_MALFORMED, 70, 2); /* chain cut */
	send_meta(&rig, 0, 0, PACKET_FLAG_MALFORMED, 20, 3);
	send_meta(&rig, 4, IPPROTO_TCP, 0, 80, 4);
	test_rig_run_to_end(&rig);
	ck_assert_uint_eq(collect(&rig, &record, 1), 1);
	ck_assert_uint_eq(record.malformed_packets, 3);
	assert_class(&record, PROTO_STATS_TCP, 2, 140);
	assert_class(&record, PROTO_STATS_OTHER_L4, 1, 70);
	assert_class(&record, PROTO_STATS_OTHER_L3, 1, 20);
	test_rig_close(&rig);
}
END_TEST

/*
 * RFC 2819 buckets: 64 and below, 65-127, 128-255, 256-511, 512-1023,
 * 1024-1518, 1519+, in octets with the FCS: wire lengths 4 bytes shorter.
 */
START_TEST(size_buckets_at_their_boundaries)
{
	static const uint32_t lengths[] = {1,   56,  60,  61,   123,  124,  251,  252,
					   507, 508, 1019, 1020, 1514, 1515, 9000};
	static const uint64_t expected[PROTO_STATS_SIZE_BUCKETS] = {3, 2, 2, 2, 2, 2, 2};
	struct proto_stats_record record;
	struct test_rig rig;

	open_stats_rig(&rig, "total", 64);
	for (unsigned i = 0; i < RTE_DIM(lengths); i++)
		send_sized(&rig, lengths[i], i + 1);
	test_rig_run_to_end(&rig);
	ck_assert_uint_eq(collect(&rig, &record, 1), 1);
	for (unsigned bucket = 0; bucket < PROTO_STATS_SIZE_BUCKETS; bucket++)
		ck_assert_msg(record.size_buckets[bucket] == expected[bucket],
			      "bucket %u: %lu, expected %lu", bucket,
			      (unsigned long)record.size_buckets[bucket],
			      (unsigned long)expected[bucket]);
	test_rig_close(&rig);
}
END_TEST

/* Each length alone, so an off-by-one at any boundary names the length. */
START_TEST(size_bucket_of_each_boundary_length)
{
	static const struct { uint32_t length; unsigned bucket; } cases[] = {
		{60, 0}, {61, 1}, {123, 1}, {124, 2}, {1514, 5}, {1515, 6}, {1518, 6},
	};
	struct proto_stats_record record;
	struct test_rig rig;

	for (unsigned i = 0; i < RTE_DIM(cases); i++) {
		open_stats_rig(&rig, "total", 64);
		send_sized(&rig, cases[i].length, 1);
		test_rig_run_to_end(&rig);
		ck_assert_uint_eq(collect(&rig, &record, 1), 1);
		ck_assert_msg(record.size_buckets[cases[i].bucket] == 1, "length %u not in bucket %u",
			      cases[i].length, cases[i].bucket);
		test_rig_close(&rig);
	}
}
END_TEST

START_TEST(windows_split_at_aligned_boundaries)
{
	struct proto_stats_record records[8];
	struct test_rig rig;

	open_stats_rig(&rig, "1s", 64);
	send_sized(&rig, 100, 10 * NS_PER_SECOND + 500000000);
	send_sized(&rig, 100, 10 * NS_PER_SECOND + 999999999);
	send_sized(&rig, 200, 11 * NS_PER_SECOND); /* the boundary opens the next window */
	send_sized(&rig, 200, 11 * NS_PER_SECOND + 1);
	send_sized(&rig, 300, 13 * NS_PER_SECOND + 5); /* window 12 is empty: no record */
	test_rig_run_to_end(&rig);
	ck_assert_uint_eq(collect(&rig, records, 8), 3);
	ck_assert_uint_eq(records[0].start_ns, 10 * NS_PER_SECOND);
	ck_assert_uint_eq(records[0].end_ns, 11 * NS_PER_SECOND);
	assert_class(&records[0], PROTO_STATS_IPV4, 2, 200);
	ck_assert_uint_eq(records[1].start_ns, 11 * NS_PER_SECOND);
	assert_class(&records[1], PROTO_STATS_UDP, 2, 400);
	ck_assert_uint_eq(records[2].start_ns, 13 * NS_PER_SECOND);
	ck_assert_uint_eq(records[2].end_ns, 14 * NS_PER_SECOND);
	assert_class(&records[2], PROTO_STATS_IPV4, 1, 300);
	test_rig_close(&rig);
}
END_TEST

/* `total`: one record, from the first to the last packet's time; the whole record exact. */
START_TEST(total_record_is_exact)
{
	struct proto_stats_record record, expected = {
		.header = {.type = STREAM_PROTO_STATS, .kernel = NULL},
		.start_ns = 5 * NS_PER_SECOND, .end_ns = 700 * NS_PER_SECOND,
		.packets = {[PROTO_STATS_IPV4] = 1, [PROTO_STATS_IPV6] = 1,
			    [PROTO_STATS_OTHER_L3] = 1, [PROTO_STATS_TCP] = 1,
			    [PROTO_STATS_ICMPV6] = 1},
		.bytes = {[PROTO_STATS_IPV4] = 1500, [PROTO_STATS_IPV6] = 90,
			  [PROTO_STATS_OTHER_L3] = 60, [PROTO_STATS_TCP] = 1500,
			  [PROTO_STATS_ICMPV6] = 90},
		.size_buckets = {1, 1, 0, 0, 0, 1, 0},
		.malformed_packets = 1,
	};
	struct test_rig rig;

	open_stats_rig(&rig, "total", 64);
	expected.header.kernel = rig.instance.name;
	send_meta(&rig, 4, IPPROTO_TCP, 0, 1500, 5 * NS_PER_SECOND);
	send_meta(&rig, 0, 0, PACKET_FLAG_MALFORMED, 60, 300 * NS_PER_SECOND);
	send_meta(&rig, 6, IPPROTO_ICMPV6, 0, 90, 700 * NS_PER_SECOND);
	test_rig_run_to_end(&rig);
	ck_assert_uint_eq(collect(&rig, &record, 1), 1);
	ck_assert_uint_eq(record.header.type, STREAM_PROTO_STATS);
	ck_assert_ptr_eq(record.header.kernel, rig.instance.name);
	expected.header.partition_hash = record.header.partition_hash; /* unkeyed: any value */
	ck_assert(memcmp(&record, &expected, sizeof(record)) == 0);
	ck_assert_uint_eq(rig.output.enqueued, 1);
	test_rig_close(&rig);
}
END_TEST

START_TEST(no_packets_no_record)
{
	struct proto_stats_record record;
	struct test_rig rig;

	open_stats_rig(&rig, "1s", 64);
	test_rig_run_to_end(&rig);
	ck_assert_uint_eq(collect(&rig, &record, 1), 0);
	test_rig_close(&rig);
}
END_TEST

/* 300 windows through an output ring of 3 drained slowly: held input, nothing lost. */
START_TEST(backpressure_loses_nothing)
{
	struct proto_stats_record records[8];
	uint64_t packets = 0, bytes = 0, record_count = 0;
	struct test_rig rig;

	open_stats_rig(&rig, "1s", 4);
	for (unsigned i = 0; i < 600; i++)
		send_sized(&rig, 100 + i, (i / 2) * NS_PER_SECOND + i % 2);
	test_rig_close_inputs(&rig);
	for (unsigned round = 1; !kernel_is_finished(&rig.instance); round++) {
		unsigned count;

		ck_assert_uint_lt(round, 1000000);
		test_rig_poll(&rig);
		if (round % 10 != 0 && !kernel_is_finished(&rig.instance))
			continue; /* a slow consumer: the ring fills and the kernel has to wait */
		count = collect(&rig, records, 8);
		for (unsigned i = 0; i < count; i++) {
			ck_assert_uint_eq(records[i].packets[PROTO_STATS_IPV4], 2);
			packets += records[i].packets[PROTO_STATS_UDP];
			bytes += records[i].bytes[PROTO_STATS_UDP];
		}
		record_count += count;
	}
	ck_assert_uint_eq(record_count, 300);
	ck_assert_uint_eq(packets, 600);
	ck_assert_uint_eq(bytes, 600 * 100 + 599 * 600 / 2);
	ck_assert_uint_eq(rig.instance.counters.ring_overflow, 0);
	ck_assert_uint_gt(rig.instance.counters.backpressure, 0);
	test_rig_close(&rig);
}
END_TEST

/* A live source: the wall clock closes a window even when no further packet comes. */
START_TEST(tick_closes_windows_on_live_clock)
{
	struct proto_stats_record record;
	struct test_rig rig;

	open_stats_rig(&rig, "1s", 64);
	send_sized(&rig, 100, 5 * NS_PER_SECOND + 200);
	test_rig_poll(&rig);
	proto_stats_kernel.tick(&rig.instance, 7 * NS_PER_SECOND); /* not live: ignored */
	test_rig_poll(&rig);
	ck_assert_uint_eq(collect(&rig, &record, 1), 0);
	rig.instance.live_clock = true;
	proto_stats_kernel.tick(&rig.instance, 5 * NS_PER_SECOND + 900); /* window still open */
	test_rig_poll(&rig);
	ck_assert_uint_eq(collect(&rig, &record, 1), 0);
	proto_stats_kernel.tick(&rig.instance, 6 * NS_PER_SECOND);
	test_rig_poll(&rig);
	ck_assert_uint_eq(collect(&rig, &record, 1), 1);
	ck_assert_uint_eq(record.start_ns, 5 * NS_PER_SECOND);
	assert_class(&record, PROTO_STATS_IPV4, 1, 100);
	proto_stats_kernel.tick(&rig.instance, 9 * NS_PER_SECOND); /* empty windows: nothing */
	test_rig_run_to_end(&rig);
	ck_assert_uint_eq(collect(&rig, &record, 1), 0);
	test_rig_close(&rig);
}
END_TEST

/* A reload from 1s to 10s windows keeps the counts and re-aligns the open window. */
START_TEST(take_state_realigns_the_open_window)
{
	struct proto_stats_record record;
	struct test_rig old_rig, rig;

	open_stats_rig(&old_rig, "1s", 64);
	send_sized(&old_rig, 100, 12 * NS_PER_SECOND + 300);
	send_sized(&old_rig, 100, 12 * NS_PER_SECOND + 500);
	while (proto_stats_kernel.process(&old_rig.instance) != 0)
		;
	open_stats_rig(&rig, "10s", 64);
	proto_stats_kernel.take_state(&rig.instance, &old_rig.instance);
	send_sized(&rig, 100, 15 * NS_PER_SECOND);
	test_rig_run_to_end(&rig);
	ck_assert_uint_eq(collect(&rig, &record, 1), 1);
	ck_assert_uint_eq(record.start_ns, 10 * NS_PER_SECOND);
	ck_assert_uint_eq(record.end_ns, 20 * NS_PER_SECOND);
	assert_class(&record, PROTO_STATS_IPV4, 3, 300);
	ck_assert_uint_eq(collect(&old_rig, &record, 1), 0);
	test_rig_close(&old_rig);
	test_rig_close(&rig);
}
END_TEST

START_TEST(jsonl_line_is_exact)
{
	struct proto_stats_record record = {
		.header = {.type = STREAM_PROTO_STATS, .kernel = "stats"},
		.start_ns = 1700000000ull * NS_PER_SECOND,
		.end_ns = 1700000010ull * NS_PER_SECOND + 5,
		.packets = {10, 2, 1, 7, 3, 1, 1, 0, 0},
		.bytes = {9000, 300, 60, 8000, 700, 98, 102, 0, 0},
		.size_buckets = {1, 2, 3, 0, 0, 7, 0},
		.malformed_packets = 4,
	};
	char line[JSONL_LINE_MAX];
	size_t length = jsonl_format_record((const union any_record *)&record, line, sizeof(line));

	ck_assert_str_eq(line,
			 "{\"type\":\"proto_stats\",\"kernel\":\"stats\",\"start\":1700000000.000000000,"
			 "\"end\":1700000010.000000005,\"l3\":{\"ipv4\":{\"pkts\":10,\"bytes\":9000},"
			 "\"ipv6\":{\"pkts\":2,\"bytes\":300},\"other\":{\"pkts\":1,\"bytes\":60}},"
			 "\"l4\":{\"tcp\":{\"pkts\":7,\"bytes\":8000},\"udp\":{\"pkts\":3,\"bytes\":700},"
			 "\"icmp\":{\"pkts\":1,\"bytes\":98},\"icmpv6\":{\"pkts\":1,\"bytes\":102},"
			 "\"sctp\":{\"pkts\":0,\"bytes\":0},\"other\":{\"pkts\":0,\"bytes\":0}},"
			 "\"sizes\":{\"64\":1,\"65-127\":2,\"128-255\":3,\"256-511\":0,\"512-1023\":0,"
			 "\"1024-1518\":7,\"1519+\":0},\"malformed\":4}\n");
	ck_assert_uint_eq(length, strlen(line));
}
END_TEST

START_TEST(stats_count_records)
{
	struct kernel_stat stats[KERNEL_MAX_STATS];
	struct test_rig rig;
	unsigned count;

	open_stats_rig(&rig, "1s", 64);
	send_sized(&rig, 100, 1 * NS_PER_SECOND);
	send_sized(&rig, 100, 2 * NS_PER_SECOND);
	test_rig_run_to_end(&rig);
	count = proto_stats_kernel.stats(&rig.instance, stats);
	ck_assert_uint_eq(count, 1);
	ck_assert_str_eq(stats[0].name, "records");
	ck_assert_uint_eq(stats[0].value, 2);
	ck_assert_uint_eq(rig.instance.counters.items_in, 2);
	ck_assert_ptr_eq(kernel_find("proto_stats"), &proto_stats_kernel);
	test_rig_close(&rig);
}
END_TEST

Suite *
proto_stats_suite(void)
{
	Suite *suite = suite_create("proto_stats");
	TCase *classes = tcase_create("classes");
	TCase *windows = tcase_create("windows");

	tcase_add_test(classes, classes_of_crafted_packets);
	tcase_add_test(classes, later_fragments_are_other_l4);
	tcase_add_test(classes, malformed_packets_keep_their_protocol);
	tcase_add_test(classes, size_buckets_at_their_boundaries);
	tcase_add_test(classes, size_bucket_of_each_boundary_length);
	tcase_add_test(classes, jsonl_line_is_exact);
	tcase_add_test(windows, windows_split_at_aligned_boundaries);
	tcase_add_test(windows, total_record_is_exact);
	tcase_add_test(windows, no_packets_no_record);
	tcase_add_test(windows, backpressure_loses_nothing);
	tcase_add_test(windows, tick_closes_windows_on_live_clock);
	tcase_add_test(windows, take_state_realigns_the_open_window);
	tcase_add_test(windows, stats_count_records);
	suite_add_tcase(suite, classes);
	suite_add_tcase(suite, windows);
	return suite;
}
