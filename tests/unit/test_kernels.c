/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Kernel tests on real DPDK objects: an instance is wired by hand between an
 * input ring (fed by the test, standing in for the producer) and an output
 * ring the test drains, and driven the way the runtime drives it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <rte_mbuf.h>
#include <rte_ring_elem.h>

#include "kernel.h"
#include "outputs/jsonl.h"
#include "packet.h"
#include "suites.h"

#define NS_PER_SECOND 1000000000ull
#define RIG_RING_SIZE 1024

extern const struct kernel_ops per_src_counter_kernel;
extern const struct kernel_ops threshold_kernel;
extern const struct kernel_ops sink_kernel;

/* One kernel under test, the ring the test feeds and the ring it emits into. */
struct rig {
	struct kernel_instance instance;
	struct kernel_ring input, output;
	struct kernel_ring *output_rings[1];
	struct kernel_input inputs[1];
	struct kernel_output_edge edge;
	struct rte_ring *input_ring, *output_ring;
	struct rte_mempool *mempool;
};

static struct rte_mempool *
test_mempool(void)
{
	static struct rte_mempool *pool;

	if (pool == NULL)
		pool = rte_pktmbuf_pool_create("unit_packets", 4095, 0, PACKET_META_PRIVATE_SIZE,
					       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	ck_assert_ptr_nonnull(pool);
	return pool;
}

static void
set_parameter(const struct kernel_ops *ops, void *params, const char *key, const char *value)
{
	char message[256];

	for (const struct config_field *field = ops->config_map; field->key != NULL; field++) {
		if (strcmp(field->key, key) == 0) {
			ck_assert_msg(config_parse_value(field, value, params, message,
							 sizeof(message)) == 0,
				      "%s: %s", key, message);
			return;
		}
	}
	ck_abort_msg("no key %s", key);
}

/* Defaults first, then "key=value" pairs, as the config loader does. */
static void *
make_params(const struct kernel_ops *ops, const char *const *settings)
{
	void *params = calloc(1, ops->params_size);

	for (const struct config_field *field = ops->config_map; field->key != NULL; field++)
		if (field->default_value != NULL)
			set_parameter(ops, params, field->key, field->default_value);
	for (; settings != NULL && *settings != NULL; settings++) {
		char key[64];
		const char *equals = strchr(*settings, '=');

		snprintf(key, sizeof(key), "%.*s", (int)(equals - *settings), *settings);
		set_parameter(ops, params, key, equals + 1);
	}
	return params;
}

static struct rte_ring *
make_ring(enum stream_type type, unsigned size);

static void
kernel_ring_init(struct kernel_ring *ring, enum stream_type type, unsigned size)
{
	memset(ring, 0, sizeof(*ring));
	ring->type = type;
	ring->element_size = stream_element_size(type);
	ring->ring = make_ring(type, size);
	atomic_init(&ring->closed, false);
}

static struct rte_ring *
make_ring(enum stream_type type, unsigned size)
{
	static unsigned serial;
	char name[32];
	struct rte_ring *ring;

	snprintf(name, sizeof(name), "unit_ring_%u", serial++);
	ring = rte_ring_create_elem(name, stream_element_size(type), size, SOCKET_ID_ANY,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
	ck_assert_ptr_nonnull(ring);
	return ring;
}

static void
rig_open(struct rig *rig, const struct kernel_ops *ops, enum stream_type input_type,
	 const char *const *settings, unsigned output_ring_size)
{
	memset(rig, 0, sizeof(*rig));
	rig->mempool = test_mempool();
	rig->instance = (struct kernel_instance){
		.ops = ops, .params = make_params(ops, settings), .replica_count = 1,
		.mempool = rig->mempool, .input_count = 1, .inputs = rig->inputs,
		.output_type = ops->output_type,
	};
	rig->instance.name = kernel_intern_name("under_test");
	kernel_ring_init(&rig->input, input_type, RIG_RING_SIZE);
	rig->input_ring = rig->input.ring;
	rig->inputs[0].ring = &rig->input;
	if (ops->output_type != STREAM_NONE) {
		kernel_ring_init(&rig->output, ops->output_type, output_ring_size);
		rig->output_ring = rig->output.ring;
		rig->output_rings[0] = &rig->output;
		rig->edge = (struct kernel_output_edge){.ring_count = 1, .rings = rig->output_rings};
		rig->instance.output_edge_count = 1;
		rig->instance.output_edges = &rig->edge;
	}
	ck_assert_int_eq(ops->init(&rig->instance), 0);
}

static void
rig_close(struct rig *rig)
{
	rig->instance.ops->destroy(&rig->instance);
	rte_ring_free(rig->input_ring);
	rte_ring_free(rig->output_ring);
	free(rig->instance.params);
}

/* Run the instance as the runtime would until it has consumed everything and finished. */
static void
rig_run_to_end(struct rig *rig)
{
	atomic_store(&rig->input.closed, true);
	for (unsigned round = 0; round < 100000 && !kernel_is_finished(&rig->instance); round++) {
		unsigned handled = rig->instance.ops->process(&rig->instance);

		if (handled == 0 && kernel_inputs_finished(&rig->instance) &&
		    (rig->instance.ops->flush == NULL || rig->instance.ops->flush(&rig->instance)))
			kernel_mark_finished(&rig->instance);
	}
	ck_assert(kernel_is_finished(&rig->instance));
}

static void
address_from_text(const char *text, uint8_t address[16])
{
	memset(address, 0, 16);
	if (inet_pton(AF_INET, text, address + 12) == 1) {
		address[10] = address[11] = 0xff;
		return;
	}
	ck_assert_int_eq(inet_pton(AF_INET6, text, address), 1);
}

static void
send_packet_to(struct rig *rig, const char *source, const char *destination,
	       uint32_t wire_length, uint64_t time_ns);

static void
send_packet(struct rig *rig, const char *source, uint32_t wire_length, uint64_t time_ns)
{
	send_packet_to(rig, source, NULL, wire_length, time_ns);
}

static void
send_packet_to(struct rig *rig, const char *source, const char *destination,
	       uint32_t wire_length, uint64_t time_ns)
{
	struct rte_mbuf *packet = rte_pktmbuf_alloc(rig->mempool);
	struct packet_meta *meta;

	ck_assert_ptr_nonnull(packet);
	meta = packet_meta(packet);
	memset(meta, 0, sizeof(*meta));
	if (source != NULL) {
		address_from_text(source, meta->source_address);
		meta->ip_version = strchr(source, ':') != NULL ? 6 : 4;
		meta->source_hash = packet_address_hash(meta->source_address);
	}
	if (destination != NULL)
		address_from_text(destination, meta->destination_address);
	meta->wire_length = wire_length;
	meta->timestamp_ns = time_ns;
	ck_assert_int_eq(rte_ring_enqueue(rig->input_ring, packet), 0);
}

static void
send_count(struct rig *rig, const char *source, uint64_t packets, uint64_t bytes)
{
	struct src_count_record record = {
		.header = {.type = STREAM_SRC_COUNT, .kernel = "count"},
		.packets = packets, .bytes = bytes, .start_ns = 5 * NS_PER_SECOND,
		.end_ns = 6 * NS_PER_SECOND,
	};

	address_from_text(source, record.source_address);
	ck_assert_int_eq(rte_ring_enqueue_elem(rig->input_ring, &record, sizeof(record)), 0);
}

/* Drain src_count records and look one up by (source, window start). */
static unsigned
collect_counts(struct rig *rig, struct src_count_record *records, unsigned max)
{
	return rte_ring_dequeue_burst_elem(rig->output_ring, records, sizeof(*records), max, NULL);
}

static const struct src_count_record *
find_count(const struct src_count_record *records, unsigned count, const char *source,
	   uint64_t start_ns)
{
	uint8_t address[16];

	address_from_text(source, address);
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
	struct rig rig;
	unsigned count;

	rig_open(&rig, &per_src_counter_kernel, STREAM_PACKET, settings, 64);
	send_packet(&rig, "198.51.100.7", 100, 1 * NS_PER_SECOND);
	send_packet(&rig, "2001:db8::1", 1500, 2 * NS_PER_SECOND);
	send_packet(&rig, "198.51.100.7", 60, 3 * NS_PER_SECOND);
	send_packet(&rig, NULL, 42, 4 * NS_PER_SECOND); /* ARP: not keyed */
	rig_run_to_end(&rig);
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
	rig_close(&rig);
}
END_TEST

START_TEST(counter_windows_split_at_aligned_boundaries)
{
	const char *const settings[] = {"window=1s", NULL};
	struct src_count_record records[16];
	const struct src_count_record *record;
	struct rig rig;
	unsigned count;

	rig_open(&rig, &per_src_counter_kernel, STREAM_PACKET, settings, 64);
	send_packet(&rig, "10.0.0.1", 100, 10 * NS_PER_SECOND + 500000000);
	send_packet(&rig, "10.0.0.1", 100, 10 * NS_PER_SECOND + 999999999);
	send_packet(&rig, "10.0.0.1", 100, 11 * NS_PER_SECOND); /* boundary opens the next window */
	send_packet(&rig, "10.0.0.2", 300, 11 * NS_PER_SECOND + 1);
	send_packet(&rig, "10.0.0.2", 300, 13 * NS_PER_SECOND + 5); /* skips an empty window */
	rig_run_to_end(&rig);
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
	rig_close(&rig);
}
END_TEST

/* More sources than the output ring holds: the counter waits, emits everything once. */
START_TEST(counter_backpressure_loses_nothing)
{
	const char *const settings[] = {"window=1s", NULL};
	struct src_count_record records[64];
	struct rig rig;
	uint64_t packets = 0, record_count = 0;
	char source[32];

	rig_open(&rig, &per_src_counter_kernel, STREAM_PACKET, settings, 64);
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
	atomic_store(&rig.input.closed, true);
	for (unsigned round = 1; !kernel_is_finished(&rig.instance); round++) {
		unsigned handled = rig.instance.ops->process(&rig.instance), count;

		if (handled == 0 && kernel_inputs_finished(&rig.instance) &&
		    rig.instance.ops->flush(&rig.instance))
			kernel_mark_finished(&rig.instance);
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
	rig_close(&rig);
}
END_TEST

START_TEST(counter_full_table_counts_overflow)
{
	const char *const settings[] = {"window=total", "max_sources=16", NULL};
	struct kernel_stat stats[KERNEL_MAX_STATS];
	struct src_count_record records[64];
	struct rig rig;
	unsigned count, stat_count;
	char source[32];

	rig_open(&rig, &per_src_counter_kernel, STREAM_PACKET, settings, 64);
	for (unsigned i = 0; i < 20; i++) {
		snprintf(source, sizeof(source), "10.3.0.%u", i);
		send_packet(&rig, source, 100, NS_PER_SECOND);
	}
	rig_run_to_end(&rig);
	count = collect_counts(&rig, records, 64);
	ck_assert_uint_eq(count, 16);
	stat_count = rig.instance.ops->stats(&rig.instance, stats);
	for (unsigned s = 0; s < stat_count; s++) {
		if (strcmp(stats[s].name, "overflow_packets") == 0)
			ck_assert_uint_eq(stats[s].value, 4);
		if (strcmp(stats[s].name, "overflow_bytes") == 0)
			ck_assert_uint_eq(stats[s].value, 400);
	}
	rig_close(&rig);
}
END_TEST

/* key: dst and src_dst count what the name says, and the records and alerts say it too. */
START_TEST(counter_keys_by_destination_and_pair)
{
	const char *const by_destination[] = {"key=dst", NULL};
	const char *const by_pair[] = {"key=src_dst", NULL};
	struct src_count_record records[16];
	char line[JSONL_LINE_MAX];
	struct rig rig;
	unsigned count;

	rig_open(&rig, &per_src_counter_kernel, STREAM_PACKET, by_destination, 64);
	send_packet_to(&rig, "10.0.0.1", "192.0.2.9", 100, NS_PER_SECOND);
	send_packet_to(&rig, "10.0.0.2", "192.0.2.9", 100, 2 * NS_PER_SECOND);
	send_packet_to(&rig, "10.0.0.2", "2001:db8::9", 60, 3 * NS_PER_SECOND);
	rig_run_to_end(&rig);
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
	rig_close(&rig);

	rig_open(&rig, &per_src_counter_kernel, STREAM_PACKET, by_pair, 64);
	send_packet_to(&rig, "10.0.0.1", "192.0.2.9", 100, NS_PER_SECOND);
	send_packet_to(&rig, "10.0.0.1", "192.0.2.9", 100, 2 * NS_PER_SECOND);
	send_packet_to(&rig, "10.0.0.1", "192.0.2.8", 100, 2 * NS_PER_SECOND);
	send_packet_to(&rig, "10.0.0.2", "192.0.2.9", 100, 3 * NS_PER_SECOND);
	rig_run_to_end(&rig);
	count = collect_counts(&rig, records, 16);
	ck_assert_uint_eq(count, 3);
	for (unsigned i = 0; i < count; i++) {
		jsonl_format_record((const union any_record *)&records[i], line, sizeof(line));
		if (records[i].packets == 2)
			ck_assert_str_eq(line, "{\"type\":\"src_count\",\"kernel\":\"under_test\","
					       "\"src\":\"10.0.0.1\",\"dst\":\"192.0.2.9\",\"pkts\":2,"
					       "\"bytes\":200,\"start\":1.000000000,\"end\":2.000000000}\n");
	}
	rig_close(&rig);
}
END_TEST

START_TEST(threshold_equal_is_not_above)
{
	const char *const settings[] = {"metric=pkts", "above=10", NULL};
	struct alert_record alerts[8];
	struct rig rig;
	unsigned count;

	rig_open(&rig, &threshold_kernel, STREAM_SRC_COUNT, settings, 64);
	send_count(&rig, "10.0.0.9", 9, 100000);
	send_count(&rig, "10.0.0.10", 10, 100000);
	send_count(&rig, "10.0.0.11", 11, 1);
	rig_run_to_end(&rig);
	count = rte_ring_dequeue_burst_elem(rig.output_ring, alerts, sizeof(alerts[0]), 8, NULL);
	ck_assert_uint_eq(count, 1);
	ck_assert_uint_eq(alerts[0].value, 11);
	ck_assert_uint_eq(alerts[0].threshold, 10);
	ck_assert_uint_eq(alerts[0].metric, THRESHOLD_METRIC_PACKETS);
	ck_assert_uint_eq(alerts[0].start_ns, 5 * NS_PER_SECOND);
	ck_assert_str_eq(alerts[0].header.kernel, "under_test");
	rig_close(&rig);
}
END_TEST

START_TEST(threshold_on_bytes)
{
	const char *const settings[] = {"metric=bytes", "above=1500", NULL};
	struct alert_record alerts[8];
	struct rig rig;
	unsigned count;

	rig_open(&rig, &threshold_kernel, STREAM_SRC_COUNT, settings, 64);
	send_count(&rig, "2001:db8::1", 1000, 1500);
	send_count(&rig, "2001:db8::2", 1, 1501);
	rig_run_to_end(&rig);
	count = rte_ring_dequeue_burst_elem(rig.output_ring, alerts, sizeof(alerts[0]), 8, NULL);
	ck_assert_uint_eq(count, 1);
	ck_assert_uint_eq(alerts[0].value, 1501);
	ck_assert_uint_eq(alerts[0].metric, THRESHOLD_METRIC_BYTES);
	rig_close(&rig);
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
	struct rig rig;

	ck_assert_int_ge(descriptor, 0);
	close(descriptor);
	snprintf(setting, sizeof(setting), "path=%s", path);
	rig_open(&rig, &sink_kernel, STREAM_SRC_COUNT, settings, 0);
	send_count(&rig, "198.51.100.7", 12, 1500);
	send_count(&rig, "2001:db8::1", 3, 180);
	address_from_text("198.51.100.7", alert.source_address);
	/* a second input ring of another record type, as `input: [count, alarm]` gives */
	{
		struct kernel_ring alerts;
		struct kernel_input inputs[2] = {{&rig.input}, {&alerts}};

		kernel_ring_init(&alerts, STREAM_ALERT, 64);
		atomic_store(&alerts.closed, true);
		ck_assert_int_eq(rte_ring_enqueue_elem(alerts.ring, &alert, sizeof(alert)), 0);
		rig.instance.inputs = inputs;
		rig.instance.input_count = 2;
		rig_run_to_end(&rig);
		rig.instance.inputs = rig.inputs;
		rig.instance.input_count = 1;
		rte_ring_free(alerts.ring);
	}
	rig_close(&rig);
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

Suite *
kernels_suite(void)
{
	Suite *suite = suite_create("kernels");
	TCase *counter = tcase_create("per_src_counter");
	TCase *threshold = tcase_create("threshold");
	TCase *sink = tcase_create("sink");

	tcase_add_test(counter, counter_total_counts_each_source_once);
	tcase_add_test(counter, counter_windows_split_at_aligned_boundaries);
	tcase_add_test(counter, counter_backpressure_loses_nothing);
	tcase_add_test(counter, counter_full_table_counts_overflow);
	tcase_add_test(counter, counter_keys_by_destination_and_pair);
	tcase_add_test(threshold, threshold_equal_is_not_above);
	tcase_add_test(threshold, threshold_on_bytes);
	tcase_add_test(sink, sink_writes_exact_jsonl);
	suite_add_tcase(suite, counter);
	suite_add_tcase(suite, threshold);
	suite_add_tcase(suite, sink);
	return suite;
}
