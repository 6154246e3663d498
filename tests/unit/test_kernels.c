/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kernel tests on real DPDK objects: an instance is wired by hand between an
 * input ring (fed by the test, standing in for the producer) and an output
 * ring the test drains, and driven the way the runtime drives it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <rte_mbuf.h>
#include <rte_ring_elem.h>

#include "kernel_runtime.h"
#include "outputs/jsonl.h"
#include "packet.h"
#include "suites.h"
#include "test_rig.h"

#define NS_PER_SECOND 1000000000ull

extern const struct kernel_ops per_src_counter_kernel;
extern const struct kernel_ops threshold_kernel;
extern const struct kernel_ops sink_kernel;
extern const struct kernel_ops passthrough_kernel;

static void
send_packet_to(struct test_rig *rig, const char *source, const char *destination,
	       uint32_t wire_length, uint64_t time_ns);

static void
send_packet(struct test_rig *rig, const char *source, uint32_t wire_length, uint64_t time_ns)
{
	send_packet_to(rig, source, NULL, wire_length, time_ns);
}

static void
send_packet_to(struct test_rig *rig, const char *source, const char *destination,
	       uint32_t wire_length, uint64_t time_ns)
{
	struct rte_mbuf *packet = test_rig_new_packet(rig);
	struct packet_meta *meta = packet_meta(packet);

	if (source != NULL) {
		test_address(source, meta->source_address);
		meta->ip_version = strchr(source, ':') != NULL ? 6 : 4;
		meta->source_hash = packet_address_hash(meta->source_address);
	}
	if (destination != NULL)
		test_address(destination, meta->destination_address);
	meta->wire_length = wire_length;
	meta->timestamp_ns = time_ns;
	test_rig_send(rig, packet);
}

static void
send_count(struct test_rig *rig, const char *source, uint64_t packets, uint64_t bytes)
{
	struct src_count_record record = {
		.header = {.type = STREAM_SRC_COUNT, .kernel = "count"},
		.packets = packets, .bytes = bytes, .start_ns = 5 * NS_PER_SECOND,
		.end_ns = 6 * NS_PER_SECOND,
	};

	test_address(source, record.source_address);
	ck_assert_int_eq(rte_ring_enqueue_elem(rig->input.ring, &record, sizeof(record)), 0);
}

/* Drain src_count records and look one up by (source, window start). */
static unsigned
collect_counts(struct test_rig *rig, struct src_count_record *records, unsigned max)
{
	return rte_ring_dequeue_burst_elem(rig->output.ring, records, sizeof(*records), max, NULL);
}

static const struct src_count_record *
find_count(const struct src_count_record *records, unsigned count, const char *source,
	   uint64_t start_ns)
{
	uint8_t address[16];

	test_address(source, address);
	for (unsigned i = 0; i < count; i++)
		if (memcmp(records[i].source_address, address, 16) == 0 &&
		    records[i].start_ns == start_ns)
			return &records[i];
	return NULL;
}

START_TEST(counter_total_counts_each_source_once)
{
	const char *const settings[] = {"window=total", NULL};
	struct src_count_record records[16];
	const struct src_count_record *a, *b;
	struct test_rig rig;
	unsigned count;

	test_rig_open(&rig, &per_src_counter_kernel, "under_test", STREAM_PACKET, settings, 64);
	send_packet(&rig, "198.51.100.7", 100, 1 * NS_PER_SECOND);
	send_packet(&rig, "2001:db8::1", 1500, 2 * NS_PER_SECOND);
	send_packet(&rig, "198.51.100.7", 60, 3 * NS_PER_SECOND);
	send_packet(&rig, NULL, 42, 4 * NS_PER_SECOND); /* ARP: not keyed */
	test_rig_run_to_end(&rig);
	count = collect_counts(&rig, records, 16);
	ck_assert_uint_eq(count, 2);
	a = find_count(records, count, "198.51.100.7", 1 * NS_PER_SECOND);
	b = find_count(records, count, "2001:db8::1", 2 * NS_PER_SECOND);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(a->packets, 2);
	ck_assert_uint_eq(a->bytes, 160);
	ck_assert_uint_eq(a->end_ns, 3 * NS_PER_SECOND); /* total: first and last packet times */
	ck_assert_uint_eq(b->packets, 1);
	ck_assert_uint_eq(b->bytes, 1500);
	ck_assert_str_eq(a->header.kernel, "under_test");
	ck_assert_uint_eq(a->header.partition_hash, packet_address_hash(a->source_address));
	ck_assert_uint_eq(rig.output.enqueued, 2);
	test_rig_close(&rig);
}
END_TEST

START_TEST(counter_windows_split_at_aligned_boundaries)
{
	const char *const settings[] = {"window=1s", NULL};
	struct src_count_record records[16];
	const struct src_count_record *record;
	struct test_rig rig;
	unsigned count;

	test_rig_open(&rig, &per_src_counter_kernel, "under_test", STREAM_PACKET, settings, 64);
	send_packet(&rig, "10.0.0.1", 100, 10 * NS_PER_SECOND + 500000000);
	send_packet(&rig, "10.0.0.1", 100, 10 * NS_PER_SECOND + 999999999);
	send_packet(&rig, "10.0.0.1", 100, 11 * NS_PER_SECOND); /* boundary opens the next window */
	send_packet(&rig, "10.0.0.2", 300, 11 * NS_PER_SECOND + 1);
	send_packet(&rig, "10.0.0.2", 300, 13 * NS_PER_SECOND + 5); /* skips an empty window */
	test_rig_run_to_end(&rig);
	count = collect_counts(&rig, records, 16);
	ck_assert_uint_eq(count, 4);
	record = find_count(records, count, "10.0.0.1", 10 * NS_PER_SECOND);
	ck_assert_ptr_nonnull(record);
	ck_assert_uint_eq(record->packets, 2);
	ck_assert_uint_eq(record->end_ns, 11 * NS_PER_SECOND);
	record = find_count(records, count, "10.0.0.1", 11 * NS_PER_SECOND);
	ck_assert_ptr_nonnull(record);
	ck_assert_uint_eq(record->packets, 1);
	record = find_count(records, count, "10.0.0.2", 11 * NS_PER_SECOND);
	ck_assert_ptr_nonnull(record);
	ck_assert_uint_eq(record->bytes, 300);
	record = find_count(records, count, "10.0.0.2", 13 * NS_PER_SECOND);
	ck_assert_ptr_nonnull(record);
	ck_assert_uint_eq(record->end_ns, 14 * NS_PER_SECOND);
	test_rig_close(&rig);
}
END_TEST

/* More sources than the output ring holds: the counter waits, emits everything once. */
START_TEST(counter_backpressure_loses_nothing)
{
	const char *const settings[] = {"window=1s", NULL};
	struct src_count_record records[64];
	struct test_rig rig;
	uint64_t packets = 0, record_count = 0;
	char source[32];

	test_rig_open(&rig, &per_src_counter_kernel, "under_test", STREAM_PACKET, settings, 64);
	for (unsigned i = 0; i < 300; i++) {
		snprintf(source, sizeof(source), "10.1.%u.%u", i / 256, i % 256);
		send_packet(&rig, source, 64, NS_PER_SECOND + i);
	}
	for (unsigned window = 2; window <= 3; window++) {
		for (unsigned i = 0; i < 300; i++) {
			snprintf(source, sizeof(source), "10.%u.%u.%u", window, i / 256, i % 256);
			send_packet(&rig, source, 64, window * NS_PER_SECOND + i);
		}
	}
	test_rig_close_inputs(&rig);
	for (unsigned round = 1; !kernel_is_finished(&rig.instance); round++) {
		unsigned count;

		test_rig_poll(&rig);
		/* a slow consumer: the ring fills and the counter has to wait */
		if (round % 10 != 0 && !kernel_is_finished(&rig.instance))
			continue;
		count = collect_counts(&rig, records, 64);
		for (unsigned i = 0; i < count; i++)
			packets += records[i].packets;
		record_count += count;
	}
	record_count += collect_counts(&rig, records, 64);
	ck_assert_uint_eq(record_count, 900);
	ck_assert_uint_eq(packets, 900);
	ck_assert_uint_eq(rig.instance.counters.ring_overflow, 0);
	ck_assert_uint_gt(rig.instance.counters.backpressure, 0);
	test_rig_close(&rig);
}
END_TEST

START_TEST(counter_full_table_counts_overflow)
{
	const char *const settings[] = {"window=total", "max_sources=16", NULL};
	struct kernel_stat stats[KERNEL_MAX_STATS];
	struct src_count_record records[64];
	struct test_rig rig;
	unsigned count, stat_count;
	char source[32];

	test_rig_open(&rig, &per_src_counter_kernel, "under_test", STREAM_PACKET, settings, 64);
	for (unsigned i = 0; i < 20; i++) {
		snprintf(source, sizeof(source), "10.3.0.%u", i);
		send_packet(&rig, source, 100, NS_PER_SECOND);
	}
	test_rig_run_to_end(&rig);
	count = collect_counts(&rig, records, 64);
	ck_assert_uint_eq(count, 16);
	stat_count = rig.instance.ops->stats(&rig.instance, stats);
	for (unsigned s = 0; s < stat_count; s++) {
		if (strcmp(stats[s].name, "overflow_packets") == 0)
			ck_assert_uint_eq(stats[s].value, 4);
		if (strcmp(stats[s].name, "overflow_bytes") == 0)
			ck_assert_uint_eq(stats[s].value, 400);
	}
	test_rig_close(&rig);
}
END_TEST

/* key: dst and src_dst count what the name says, and the records and alerts say it too. */
START_TEST(counter_keys_by_destination_and_pair)
{
	const char *const by_destination[] = {"key=dst", NULL};
	const char *const by_pair[] = {"key=src_dst", NULL};
	struct src_count_record records[16];
	char line[JSONL_LINE_MAX];
	struct test_rig rig;
	unsigned count;

	test_rig_open(&rig, &per_src_counter_kernel, "under_test", STREAM_PACKET, by_destination,
		      64);
	send_packet_to(&rig, "10.0.0.1", "192.0.2.9", 100, NS_PER_SECOND);
	send_packet_to(&rig, "10.0.0.2", "192.0.2.9", 100, 2 * NS_PER_SECOND);
	send_packet_to(&rig, "10.0.0.2", "2001:db8::9", 60, 3 * NS_PER_SECOND);
	test_rig_run_to_end(&rig);
	count = collect_counts(&rig, records, 16);
	ck_assert_uint_eq(count, 2);
	for (unsigned i = 0; i < count; i++) {
		jsonl_format_record((const union any_record *)&records[i], line, sizeof(line));
		if (records[i].packets == 2)
			ck_assert_str_eq(line, "{\"type\":\"src_count\",\"kernel\":\"under_test\","
					       "\"dst\":\"192.0.2.9\",\"pkts\":2,\"bytes\":200,"
					       "\"start\":1.000000000,\"end\":2.000000000}\n");
		else
			ck_assert_uint_eq(records[i].bytes, 60);
	}
	test_rig_close(&rig);

	test_rig_open(&rig, &per_src_counter_kernel, "under_test", STREAM_PACKET, by_pair, 64);
	send_packet_to(&rig, "10.0.0.1", "192.0.2.9", 100, NS_PER_SECOND);
	send_packet_to(&rig, "10.0.0.1", "192.0.2.9", 100, 2 * NS_PER_SECOND);
	send_packet_to(&rig, "10.0.0.1", "192.0.2.8", 100, 2 * NS_PER_SECOND);
	send_packet_to(&rig, "10.0.0.2", "192.0.2.9", 100, 3 * NS_PER_SECOND);
	test_rig_run_to_end(&rig);
	count = collect_counts(&rig, records, 16);
	ck_assert_uint_eq(count, 3);
	for (unsigned i = 0; i < count; i++) {
		jsonl_format_record((const union any_record *)&records[i], line, sizeof(line));
		if (records[i].packets == 2)
			ck_assert_str_eq(line, "{\"type\":\"src_count\",\"kernel\":\"under_test\","
					       "\"src\":\"10.0.0.1\",\"dst\":\"192.0.2.9\",\"pkts\":2,"
					       "\"bytes\":200,\"start\":1.000000000,\"end\":2.000000000}\n");
	}
	test_rig_close(&rig);
}
END_TEST

START_TEST(threshold_equal_is_not_above)
{
	const char *const settings[] = {"metric=pkts", "above=10", NULL};
	struct alert_record alerts[8];
	struct test_rig rig;
	unsigned count;

	test_rig_open(&rig, &threshold_kernel, "under_test", STREAM_SRC_COUNT, settings, 64);
	send_count(&rig, "10.0.0.9", 9, 100000);
	send_count(&rig, "10.0.0.10", 10, 100000);
	send_count(&rig, "10.0.0.11", 11, 1);
	test_rig_run_to_end(&rig);
	count = rte_ring_dequeue_burst_elem(rig.output.ring, alerts, sizeof(alerts[0]), 8, NULL);
	ck_assert_uint_eq(count, 1);
	ck_assert_uint_eq(alerts[0].value, 11);
	ck_assert_uint_eq(alerts[0].threshold, 10);
	ck_assert_uint_eq(alerts[0].metric, THRESHOLD_METRIC_PACKETS);
	ck_assert_uint_eq(alerts[0].start_ns, 5 * NS_PER_SECOND);
	ck_assert_str_eq(alerts[0].header.kernel, "under_test");
	test_rig_close(&rig);
}
END_TEST

START_TEST(threshold_on_bytes)
{
	const char *const settings[] = {"metric=bytes", "above=1500", NULL};
	struct alert_record alerts[8];
	struct test_rig rig;
	unsigned count;

	test_rig_open(&rig, &threshold_kernel, "under_test", STREAM_SRC_COUNT, settings, 64);
	send_count(&rig, "2001:db8::1", 1000, 1500);
	send_count(&rig, "2001:db8::2", 1, 1501);
	test_rig_run_to_end(&rig);
	count = rte_ring_dequeue_burst_elem(rig.output.ring, alerts, sizeof(alerts[0]), 8, NULL);
	ck_assert_uint_eq(count, 1);
	ck_assert_uint_eq(alerts[0].value, 1501);
	ck_assert_uint_eq(alerts[0].metric, THRESHOLD_METRIC_BYTES);
	test_rig_close(&rig);
}
END_TEST

static char *
read_file(const char *path)
{
	FILE *stream = fopen(path, "r");
	static char text[4096];
	size_t length;

	ck_assert_ptr_nonnull(stream);
	length = fread(text, 1, sizeof(text) - 1, stream);
	text[length] = '\0';
	fclose(stream);
	return text;
}

START_TEST(sink_writes_exact_jsonl)
{
	char path[] = "/tmp/jetstream_sink_XXXXXX";
	int descriptor = mkstemp(path);
	char setting[64];
	const char *settings[] = {setting, NULL};
	struct alert_record alert = {
		.header = {.type = STREAM_ALERT, .kernel = "alarm"},
		.value = 12000, .threshold = 10000, .start_ns = 1700000000ull * NS_PER_SECOND,
		.end_ns = 1700000001ull * NS_PER_SECOND, .metric = THRESHOLD_METRIC_PACKETS,
	};
	struct kernel_ring *alerts;
	struct test_rig rig;

	ck_assert_int_ge(descriptor, 0);
	close(descriptor);
	snprintf(setting, sizeof(setting), "path=%s", path);
	test_rig_open(&rig, &sink_kernel, "under_test", STREAM_SRC_COUNT, settings, 0);
	send_count(&rig, "198.51.100.7", 12, 1500);
	send_count(&rig, "2001:db8::1", 3, 180);
	test_address("198.51.100.7", alert.source_address);
	/* a second input ring of another record type, as `input: [count, alarm]` gives */
	alerts = test_rig_add_input(&rig, STREAM_ALERT, 64);
	ck_assert_int_eq(rte_ring_enqueue_elem(alerts->ring, &alert, sizeof(alert)), 0);
	test_rig_run_to_end(&rig);
	test_rig_close(&rig);
	ck_assert_str_eq(read_file(path),
		"{\"type\":\"src_count\",\"kernel\":\"count\",\"src\":\"198.51.100.7\",\"pkts\":12,"
		"\"bytes\":1500,\"start\":5.000000000,\"end\":6.000000000}\n"
		"{\"type\":\"src_count\",\"kernel\":\"count\",\"src\":\"2001:db8::1\",\"pkts\":3,"
		"\"bytes\":180,\"start\":5.000000000,\"end\":6.000000000}\n"
		"{\"type\":\"alert\",\"kernel\":\"alarm\",\"src\":\"198.51.100.7\",\"metric\":\"pkts\","
		"\"value\":12000,\"threshold\":10000,\"start\":1700000000.000000000,"
		"\"end\":1700000001.000000000}\n");
	unlink(path);
}
END_TEST

/* Packets the passthrough tests send: their meta and data filled with a pattern of @p serial. */
#define PASSTHROUGH_DATA_LENGTH 60

static void
fill_pattern(uint8_t *bytes, size_t length, unsigned serial)
{
	for (size_t i = 0; i < length; i++)
		bytes[i] = (uint8_t)(serial * 31 + i * 7 + 1);
}

static struct rte_mbuf *
send_pattern_packet(struct test_rig *rig, unsigned serial)
{
	struct rte_mbuf *packet = test_rig_new_packet(rig);
	char *data = rte_pktmbuf_append(packet, PASSTHROUGH_DATA_LENGTH);

	ck_assert_ptr_nonnull(data);
	fill_pattern((uint8_t *)packet_meta(packet), sizeof(struct packet_meta), serial);
	fill_pattern((uint8_t *)data, PASSTHROUGH_DATA_LENGTH, serial + 1000);
	test_rig_send(rig, packet);
	return packet;
}

/* @p packet is the one send_pattern_packet() made with @p serial, untouched. */
static void
assert_pattern_packet(struct rte_mbuf *packet, unsigned serial)
{
	uint8_t meta[sizeof(struct packet_meta)], data[PASSTHROUGH_DATA_LENGTH];

	fill_pattern(meta, sizeof(meta), serial);
	fill_pattern(data, sizeof(data), serial + 1000);
	ck_assert_uint_eq(rte_pktmbuf_pkt_len(packet), PASSTHROUGH_DATA_LENGTH);
	ck_assert_uint_eq(rte_pktmbuf_data_len(packet), PASSTHROUGH_DATA_LENGTH);
	ck_assert_uint_eq(rte_mbuf_refcnt_read(packet), 1);
	ck_assert_mem_eq(packet_meta(packet), meta, sizeof(meta));
	ck_assert_mem_eq(rte_pktmbuf_mtod(packet, const uint8_t *), data, sizeof(data));
}

/* More packets than a burst: all come out, in order, the very mbufs that went in, unchanged. */
START_TEST(passthrough_forwards_in_order_unchanged)
{
	enum { COUNT = 100 };
	struct rte_mbuf *sent[COUNT], *received[COUNT];
	struct test_rig rig;
	unsigned count;

	test_rig_open(&rig, &passthrough_kernel, "under_test", STREAM_PACKET, NULL, 256);
	for (unsigned i = 0; i < COUNT; i++)
		sent[i] = send_pattern_packet(&rig, i);
	test_rig_run_to_end(&rig);
	count = rte_ring_dequeue_burst(rig.output.ring, (void **)received, COUNT, NULL);
	ck_assert_uint_eq(count, COUNT);
	for (unsigned i = 0; i < COUNT; i++) {
		ck_assert_ptr_eq(received[i], sent[i]);
		assert_pattern_packet(received[i], i);
	}
	rte_pktmbuf_free_bulk(received, count);
	ck_assert_uint_eq(rig.instance.counters.items_in, COUNT);
	ck_assert_uint_eq(rig.instance.counters.items_out, COUNT);
	ck_assert_uint_eq(rig.output.enqueued, COUNT);
	ck_assert_uint_eq(rig.instance.counters.backpressure, 0);
	ck_assert_uint_eq(rig.instance.counters.ring_overflow, 0);
	ck_assert(atomic_load(&rig.output.closed)); /* finished: the consumer sees the end */
	test_rig_close(&rig);
}
END_TEST

/* A full output ring: the passthrough waits (counting it), takes nothing it cannot pass on. */
START_TEST(passthrough_backpressure_loses_nothing)
{
	enum { COUNT = 200, RING_SIZE = 64 }; /* the output ring holds RING_SIZE - 1 */
	struct rte_mbuf *sent[COUNT], *received[COUNT];
	struct test_rig rig;
	unsigned count = 0;

	test_rig_open(&rig, &passthrough_kernel, "under_test", STREAM_PACKET, NULL, RING_SIZE);
	for (unsigned i = 0; i < COUNT; i++)
		sent[i] = send_pattern_packet(&rig, i);
	/* no consumer: the ring fills, then every poll is refused */
	for (unsigned poll = 0; poll < 10; poll++)
		rig.instance.ops->process(&rig.instance);
	ck_assert_uint_eq(rte_ring_count(rig.output.ring), RING_SIZE - 1);
	ck_assert_uint_eq(rte_ring_count(rig.input.ring), COUNT - (RING_SIZE - 1));
	ck_assert_uint_eq(rig.instance.counters.items_in, RING_SIZE - 1);
	ck_assert_uint_gt(rig.instance.counters.backpressure, 0);
	ck_assert_uint_eq(rig.instance.ops->process(&rig.instance), 0);
	/* a slow consumer: a few packets at a time */
	test_rig_close_inputs(&rig);
	for (unsigned round = 0; round < 10 * COUNT && !kernel_is_finished(&rig.instance); round++) {
		test_rig_poll(&rig);
		count += rte_ring_dequeue_burst(rig.output.ring, (void **)&received[count],
						RTE_MIN(5u, COUNT - count), NULL);
	}
	ck_assert(kernel_is_finished(&rig.instance));
	count += rte_ring_dequeue_burst(rig.output.ring, (void **)&received[count], COUNT - count,
					NULL);
	ck_assert_uint_eq(count, COUNT);
	for (unsigned i = 0; i < COUNT; i++) {
		ck_assert_ptr_eq(received[i], sent[i]);
		assert_pattern_packet(received[i], i);
	}
	rte_pktmbuf_free_bulk(received, count);
	ck_assert_uint_eq(rig.instance.counters.items_in, COUNT);
	ck_assert_uint_eq(rig.instance.counters.items_out, COUNT);
	ck_assert_uint_eq(rig.instance.counters.ring_overflow, 0);
	test_rig_close(&rig);
}
END_TEST

static uint64_t
stat_named(const struct kernel_instance *instance, const char *name)
{
	struct kernel_stat stats[KERNEL_MAX_STATS];
	unsigned count = instance->ops->stats(instance, stats);

	for (unsigned i = 0; i < count; i++)
		if (strcmp(stats[i].name, name) == 0)
			return stats[i].value;
	ck_abort_msg("no statistic %s", name);
	return 0;
}

/* Every packet goes back to the pool; records are dropped; both are counted. */
START_TEST(sink_null_frees_and_counts)
{
	const char *const settings[] = {"format=null", NULL};
	struct kernel_ring *counts;
	struct test_rig rig;
	unsigned available;

	test_rig_open(&rig, &sink_kernel, "under_test", STREAM_PACKET, settings, 0);
	available = rte_mempool_avail_count(rig.mempool);
	for (unsigned i = 0; i < 300; i++) /* more than a burst, less than the input ring */
		send_packet(&rig, "198.51.100.7", 100, NS_PER_SECOND + i);
	ck_assert_uint_eq(rte_mempool_avail_count(rig.mempool), available - 300);
	/* records too, on a second input, as `input: [rx, count]` gives */
	counts = test_rig_add_input(&rig, STREAM_SRC_COUNT, 64);
	for (unsigned i = 0; i < 5; i++) {
		struct src_count_record record = {.header = {.type = STREAM_SRC_COUNT}, .packets = i};

		ck_assert_int_eq(rte_ring_enqueue_elem(counts->ring, &record, sizeof(record)), 0);
	}
	test_rig_run_to_end(&rig);
	ck_assert_uint_eq(rte_mempool_avail_count(rig.mempool), available);
	ck_assert_uint_eq(stat_named(&rig.instance, "packets"), 300);
	ck_assert_uint_eq(stat_named(&rig.instance, "records"), 5);
	ck_assert_uint_eq(rig.instance.counters.items_in, 305);
	ck_assert_uint_eq(rig.instance.counters.items_out, 0);
	test_rig_close(&rig);
}
END_TEST

/* Only a sink that discards takes packets, and only a sink that writes needs the control thread. */
START_TEST(sink_null_runs_on_a_worker_and_takes_packets)
{
	const char *const null_settings[] = {"format=null", NULL};
	const char *const jsonl_settings[] = {"path=-", NULL};
	void *null_params = test_params(&sink_kernel, null_settings);
	void *jsonl_params = test_params(&sink_kernel, jsonl_settings);

	ck_assert(!kernel_runs_on_sink_thread(&sink_kernel, null_params));
	ck_assert(kernel_runs_on_sink_thread(&sink_kernel, jsonl_params));
	ck_assert_int_eq(kernel_input_type(&sink_kernel, null_params), STREAM_ANY);
	ck_assert_int_eq(kernel_input_type(&sink_kernel, jsonl_params), STREAM_ANY_RECORD);
	ck_assert_int_eq(kernel_input_type(&passthrough_kernel, NULL), STREAM_PACKET);
	free(null_params);
	free(jsonl_params);
}
END_TEST

/* A line that does not fit: the length it needs, and only whole pieces of it, NUL-terminated. */
START_TEST(jsonl_line_that_does_not_fit)
{
	union any_record record = {.src_count = {
		.header = {.type = STREAM_SRC_COUNT, .kernel = "count"},
		.packets = 12, .bytes = 1500, .start_ns = 5 * NS_PER_SECOND, .end_ns = 6 * NS_PER_SECOND,
	}};
	char full[JSONL_LINE_MAX], text[40];
	size_t length;

	test_address("198.51.100.7", record.src_count.source_address);
	length = jsonl_format_record(&record, full, sizeof(full));
	ck_assert_str_eq(full, "{\"type\":\"src_count\",\"kernel\":\"count\",\"src\":\"198.51.100.7\","
			       "\"pkts\":12,\"bytes\":1500,\"start\":5.000000000,\"end\":6.000000000}\n");
	memset(text, 'X', sizeof(text));
	ck_assert_uint_eq(jsonl_format_record(&record, text, sizeof(text)), length);
	ck_assert_ptr_nonnull(memchr(text, '\0', sizeof(text)));
	ck_assert_ptr_null(strchr(text, 'X'));
	ck_assert(strncmp(full, text, strlen(text)) == 0);
}
END_TEST

static const char *
format_alert_line(const struct alert_record *alert)
{
	static char line[JSONL_LINE_MAX];
	size_t length = jsonl_format_record((const union any_record *)alert, line, sizeof(line));

	ck_assert_uint_lt(length, sizeof(line));
	return line;
}

/* What the threshold kernel emits has none of the optional fields: its line is unchanged. */
START_TEST(threshold_alert_line_has_no_optional_fields)
{
	const char *const settings[] = {"above=10", NULL};
	struct alert_record alerts[8];
	struct test_rig rig;

	test_rig_open(&rig, &threshold_kernel, "alarm", STREAM_SRC_COUNT, settings, 64);
	send_count(&rig, "198.51.100.7", 12, 1500);
	test_rig_run_to_end(&rig);
	ck_assert_uint_eq(rte_ring_dequeue_burst_elem(rig.output.ring, alerts, sizeof(alerts[0]),
						      8, NULL), 1);
	ck_assert_uint_eq(alerts[0].fields, 0);
	ck_assert_uint_eq(alerts[0].name[0], '\0');
	ck_assert_str_eq(format_alert_line(&alerts[0]),
		"{\"type\":\"alert\",\"kernel\":\"alarm\",\"src\":\"198.51.100.7\","
		"\"metric\":\"pkts\",\"value\":12,\"threshold\":10,\"start\":5.000000000,"
		"\"end\":6.000000000}\n");
	test_rig_close(&rig);
}
END_TEST

/* A named alert with every optional field: flow names as in the flow record, no metric. */
START_TEST(jsonl_named_alert_writes_every_field_set)
{
	struct alert_record alert = {
		.header = {.type = STREAM_ALERT, .kernel = "ttl"},
		.name = "ttl_change", .key = COUNT_KEY_SOURCE_DESTINATION,
		.metric = THRESHOLD_METRIC_NONE, .value = 57, .previous = 64,
		.start_ns = 1700000000ull * NS_PER_SECOND + 250,
		.end_ns = 1700000000ull * NS_PER_SECOND + 250,
		.source_port = 49152, .destination_port = 443, .protocol = 6,
		.fields = ALERT_FIELD_PREVIOUS | ALERT_FIELD_PORTS | ALERT_FIELD_PROTOCOL,
	};

	test_address("192.0.2.10", alert.source_address);
	test_address("2001:db8::7", alert.destination_address);
	ck_assert_str_eq(format_alert_line(&alert),
		"{\"type\":\"alert\",\"kernel\":\"ttl\",\"name\":\"ttl_change\","
		"\"src\":\"192.0.2.10\",\"dst\":\"2001:db8::7\",\"sport\":49152,\"dport\":443,"
		"\"proto\":6,\"value\":57,"
		"\"previous\":64,\"start\":1700000000.000000250,\"end\":1700000000.000000250}\n");
}
END_TEST

/* Each optional field is written only with its flag; a metric keeps `metric` and `threshold`. */
START_TEST(jsonl_alert_writes_only_the_fields_flagged)
{
	struct alert_record alert = {
		.header = {.type = STREAM_ALERT, .kernel = "syn"},
		.name = "syn_flood", .key = COUNT_KEY_DESTINATION, .metric = THRESHOLD_METRIC_NONE,
		.value = 500, .previous = 3,
		.start_ns = 2 * NS_PER_SECOND, .end_ns = 3 * NS_PER_SECOND,
		.source_port = 1, .destination_port = 2, .protocol = 6,
		.fields = ALERT_FIELD_PROTOCOL | ALERT_FIELD_PREVIOUS,
	};

	test_address("198.51.100.7", alert.destination_address);
	ck_assert_str_eq(format_alert_line(&alert),
		"{\"type\":\"alert\",\"kernel\":\"syn\",\"name\":\"syn_flood\","
		"\"dst\":\"198.51.100.7\",\"proto\":6,\"value\":500,\"previous\":3,"
		"\"start\":2.000000000,\"end\":3.000000000}\n");
	alert.fields = ALERT_FIELD_PORTS;
	alert.metric = THRESHOLD_METRIC_BYTES;
	alert.threshold = 400;
	ck_assert_str_eq(format_alert_line(&alert),
		"{\"type\":\"alert\",\"kernel\":\"syn\",\"name\":\"syn_flood\","
		"\"dst\":\"198.51.100.7\",\"sport\":1,\"dport\":2,\"metric\":\"bytes\","
		"\"value\":500,\"threshold\":400,"
		"\"start\":2.000000000,\"end\":3.000000000}\n");
}
END_TEST

/* A plugin's name is not trusted: escaped for JSON, and read no further than its array. */
START_TEST(jsonl_alert_name_is_escaped_and_bounded)
{
	struct alert_record alert = {
		.header = {.type = STREAM_ALERT, .kernel = "k"},
		.key = COUNT_KEY_SOURCE, .metric = THRESHOLD_METRIC_NONE, .value = 1,
	};

	test_address("192.0.2.1", alert.source_address);
	memcpy(alert.name, "a\"b\\c\n\x7f" "0123456789abcdefXYZ", sizeof(alert.name));
	ck_assert_str_eq(format_alert_line(&alert),
		"{\"type\":\"alert\",\"kernel\":\"k\",\"name\":\"a\\\"b\\\\c\\u000a\\u007f"
		"0123456789abcdefX\",\"src\":\"192.0.2.1\",\"value\":1,\"start\":0.000000000,"
		"\"end\":0.000000000}\n");
}
END_TEST

Suite *
kernels_suite(void)
{
	Suite *suite = suite_create("kernels");
	TCase *counter = tcase_create("per_src_counter");
	TCase *threshold = tcase_create("threshold");
	TCase *sink = tcase_create("sink");
	TCase *passthrough = tcase_create("passthrough");

	tcase_add_test(counter, counter_total_counts_each_source_once);
	tcase_add_test(counter, counter_windows_split_at_aligned_boundaries);
	tcase_add_test(counter, counter_backpressure_loses_nothing);
	tcase_add_test(counter, counter_full_table_counts_overflow);
	tcase_add_test(counter, counter_keys_by_destination_and_pair);
	tcase_add_test(threshold, threshold_equal_is_not_above);
	tcase_add_test(threshold, threshold_on_bytes);
	tcase_add_test(threshold, threshold_alert_line_has_no_optional_fields);
	tcase_add_test(sink, sink_writes_exact_jsonl);
	tcase_add_test(sink, jsonl_line_that_does_not_fit);
	tcase_add_test(sink, jsonl_named_alert_writes_every_field_set);
	tcase_add_test(sink, jsonl_alert_writes_only_the_fields_flagged);
	tcase_add_test(sink, jsonl_alert_name_is_escaped_and_bounded);
	tcase_add_test(sink, sink_null_frees_and_counts);
	tcase_add_test(sink, sink_null_runs_on_a_worker_and_takes_packets);
	tcase_add_test(passthrough, passthrough_forwards_in_order_unchanged);
	tcase_add_test(passthrough, passthrough_backpressure_loses_nothing);
	suite_add_tcase(suite, counter);
	suite_add_tcase(suite, threshold);
	suite_add_tcase(suite, sink);
	suite_add_tcase(suite, passthrough);
	return suite;
}
