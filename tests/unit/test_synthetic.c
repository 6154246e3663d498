/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The synthetic source (kernels/source_synthetic.c): exact packet counts and
 * sizes, valid frames that the one parser reads back, determinism by seed,
 * the flow popularity it promises (uniform and Zipf), the IPv6 share,
 * backpressure and stopping.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <rte_ip.h>

#include "kernels/source.h"
#include "packet.h"
#include "suites.h"
#include "test_rig.h"

extern const struct kernel_ops source_kernel;

#define MAX_SEEN_FLOWS 8192

/* What the drained packets looked like. */
struct seen {
	uint64_t packets;
	uint64_t bytes;
	uint64_t malformed;
	uint64_t ipv6;
	uint64_t bad_checksums;
	uint64_t length_mismatches;   /* pkt_len != meta wire_length */
	uint64_t digest;              /* order-sensitive hash of every packet's headers */
	uint64_t per_source[16];      /* IPv4 10.0.0.i / IPv6 2001:db8::i, i < 16 */
	uint32_t sizes[8];            /* the first eight wire lengths */
	unsigned flow_count;          /* distinct 5-tuples */
	struct packet_meta flows[MAX_SEEN_FLOWS];
};

static struct seen seen; /* static: large */

static uint64_t
source_number(const struct packet_meta *meta)
{
	uint32_t low;

	memcpy(&low, meta->source_address + 12, sizeof(low));
	return rte_be_to_cpu_32(low) & (meta->ip_version == 4 ? 0xffffff : 0xffffffff);
}

static void
remember_flow(const struct packet_meta *meta)
{
	for (unsigned i = 0; i < seen.flow_count; i++)
		if (memcmp(seen.flows[i].source_address, meta->source_address, 32) == 0 &&
		    seen.flows[i].source_port == meta->source_port &&
		    seen.flows[i].destination_port == meta->destination_port &&
		    seen.flows[i].protocol == meta->protocol)
			return;
	if (seen.flow_count < MAX_SEEN_FLOWS)
		seen.flows[seen.flow_count++] = *meta;
}

static void
look_at(struct rte_mbuf *packet, bool track_flows)
{
	const struct packet_meta *meta = packet_meta(packet);
	const uint8_t *frame = rte_pktmbuf_mtod(packet, const uint8_t *);
	uint64_t number = source_number(meta);

	if (seen.packets < RTE_DIM(seen.sizes))
		seen.sizes[seen.packets] = meta->wire_length;
	seen.packets++;
	seen.bytes += meta->wire_length;
	seen.malformed += (meta->flags & PACKET_FLAG_MALFORMED) != 0;
	seen.length_mismatches += packet->pkt_len != meta->wire_length;
	seen.ipv6 += meta->ip_version == 6;
	if (meta->ip_version == 4)
		seen.bad_checksums += rte_raw_cksum(frame + meta->l3_offset, 20) != 0xffff;
	if (number < RTE_DIM(seen.per_source))
		seen.per_source[number]++;
	seen.digest = (seen.digest ^ packet_flow_hash(meta) ^ meta->source_hash ^
		       meta->wire_length) * 0x100000001b3ull;
	if (track_flows)
		remember_flow(meta);
}

static bool track_flows;

static void
drain(struct test_rig *rig)
{
	struct rte_mbuf *packets[64];
	unsigned count;

	while ((count = rte_ring_dequeue_burst(rig->output.ring, (void **)packets, 64, NULL)) > 0)
		for (unsigned i = 0; i < count; i++) {
			look_at(packets[i], track_flows);
			rte_pktmbuf_free(packets[i]);
		}
}

/* Runs a synthetic source with @p settings to its end; what it made is in `seen`. */
static struct kernel_instance
run_synthetic(const char *const *settings, bool flows)
{
	struct test_rig rig;
	struct kernel_instance finished;

	memset(&seen, 0, sizeof(seen));
	track_flows = flows;
	test_rig_open(&rig, &source_kernel, "gen", STREAM_NONE, settings, 256);
	rig.drain = drain;
	test_rig_run_to_end(&rig);
	finished = rig.instance;
	ck_assert(kernel_is_finished(&rig.instance));
	ck_assert_uint_eq(rig.instance.counters.ring_overflow, 0);
	test_rig_close(&rig);
	return finished;
}

START_TEST(test_exact_count_sizes_and_valid_frames)
{
	run_synthetic((const char *const[]){"synthetic=", "synthetic.packets=1000",
					    "synthetic.sources=10", "synthetic.size=64", NULL},
		      true);
	ck_assert_uint_eq(seen.packets, 1000);
	ck_assert_uint_eq(seen.bytes, 64000);
	ck_assert_uint_eq(seen.malformed, 0);
	ck_assert_uint_eq(seen.bad_checksums, 0);
	ck_assert_uint_eq(seen.length_mismatches, 0);
	ck_assert_uint_eq(seen.ipv6, 0);
	/* one flow per source by default: ten 5-tuples, from 10.0.0.0 .. 10.0.0.9 */
	ck_assert_uint_eq(seen.flow_count, 10);
	for (unsigned i = 0; i < 10; i++)
		ck_assert_uint_gt(seen.per_source[i], 0);
	for (unsigned i = 0; i < seen.flow_count; i++) {
		ck_assert(packet_address_is_ipv4(seen.flows[i].source_address));
		ck_assert_uint_eq(seen.flows[i].source_address[12], 10);
		ck_assert(seen.flows[i].flags & PACKET_FLAG_HAS_PORTS);
		ck_assert(seen.flows[i].protocol == 6 || seen.flows[i].protocol == 17);
	}

	/* sizes are taken in turn */
	run_synthetic((const char *const[]){"synthetic=", "synthetic.packets=7",
					    "synthetic.size=1514", NULL},
		      false);
	ck_assert_uint_eq(seen.bytes, 7 * 1514);
	memset(&seen, 0, sizeof(seen));
	{
		struct test_rig rig;
		struct config_unsigned_list *sizes;

		test_rig_open(&rig, &source_kernel, "gen", STREAM_NONE,
			      (const char *const[]){"synthetic=", "synthetic.packets=7", NULL}, 256);
		sizes = &((struct source_params *)rig.instance.params)->synthetic_params.sizes;
		*sizes = (struct config_unsigned_list){.count = 3, .values = {64, 100, 1514}};
		rig.drain = drain;
		test_rig_run_to_end(&rig);
		test_rig_close(&rig);
	}
	ck_assert_uint_eq(seen.packets, 7);
	ck_assert_uint_eq(seen.bytes, 3 * 64 + 2 * 100 + 2 * 1514);
	ck_assert_uint_eq(seen.sizes[0], 64);
	ck_assert_uint_eq(seen.sizes[1], 100);
	ck_assert_uint_eq(seen.sizes[2], 1514);
	ck_assert_uint_eq(seen.sizes[3], 64);
	ck_assert_uint_eq(seen.bad_checksums, 0);
	ck_assert_uint_eq(seen.malformed, 0);
}
END_TEST

START_TEST(test_same_seed_same_sequence)
{
	uint64_t first, again, other;

	run_synthetic((const char *const[]){"synthetic=", "synthetic.packets=5000",
					    "synthetic.sources=300", "synthetic.flows=900",
					    "synthetic.zipf=0.8", "synthetic.ipv6_share=0.3",
					    "synthetic.seed=5", NULL},
		      false);
	first = seen.digest;
	run_synthetic((const char *const[]){"synthetic=", "synthetic.packets=5000",
					    "synthetic.sources=300", "synthetic.flows=900",
					    "synthetic.zipf=0.8", "synthetic.ipv6_share=0.3",
					    "synthetic.seed=5", NULL},
		      false);
	again = seen.digest;
	run_synthetic((const char *const[]){"synthetic=", "synthetic.packets=5000",
					    "synthetic.sources=300", "synthetic.flows=900",
					    "synthetic.zipf=0.8", "synthetic.ipv6_share=0.3",
					    "synthetic.seed=6", NULL},
		      false);
	other = seen.digest;
	ck_assert_uint_eq(first, again);
	ck_assert_uint_ne(first, other);
}
END_TEST

/* Each of ten sources is picked within 5 % of its expected share of 200,000 packets. */
static void
assert_shares(double skew)
{
	const unsigned packets = 200000, sources = 10;
	double total = 0;

	for (unsigned i = 0; i < sources; i++)
		total += pow(i + 1, -skew);
	for (unsigned i = 0; i < sources; i++) {
		double expected = packets * pow(i + 1, -skew) / total;

		ck_assert_msg(fabs((double)seen.per_source[i] - expected) < 0.05 * expected,
			      "zipf %.1f: source %u got %lu packets, expected %.0f", skew, i,
			      (unsigned long)seen.per_source[i], expected);
	}
}

START_TEST(test_uniform_and_zipf_shares)
{
	run_synthetic((const char *const[]){"synthetic=", "synthetic.packets=200000",
					    "synthetic.sources=10", NULL},
		      false);
	assert_shares(0);
	run_synthetic((const char *const[]){"synthetic=", "synthetic.packets=200000",
					    "synthetic.sources=10", "synthetic.zipf=1", NULL},
		      false);
	assert_shares(1);
	run_synthetic((const char *const[]){"synthetic=", "synthetic.packets=200000",
					    "synthetic.sources=10", "synthetic.zipf=2.5", NULL},
		      false);
	assert_shares(2.5);
}
END_TEST

START_TEST(test_flows_and_ipv6_share)
{
	unsigned ipv6_flows = 0;

	/* 4,000 flows over 4 sources, 100,000 uniform picks: every flow appears */
	run_synthetic((const char *const[]){"synthetic=", "synthetic.packets=100000",
					    "synthetic.sources=4", "synthetic.flows=4000", NULL},
		      true);
	ck_assert_uint_eq(seen.flow_count, 4000);
	ck_assert_uint_eq(seen.per_source[0] + seen.per_source[1] + seen.per_source[2] +
				  seen.per_source[3],
			  100000);

	/* a quarter of 1,000 sources IPv6, within what chance allows */
	run_synthetic((const char *const[]){"synthetic=", "synthetic.packets=20000",
					    "synthetic.sources=1000", "synthetic.ipv6_share=0.25",
					    NULL},
		      true);
	ck_assert_uint_eq(seen.flow_count, 1000);
	for (unsigned i = 0; i < seen.flow_count; i++) {
		const struct packet_meta *flow = &seen.flows[i];

		if (flow->ip_version != 6)
			continue;
		ipv6_flows++;
		ck_assert_uint_eq(flow->source_address[0], 0x20);
		ck_assert_uint_eq(flow->source_address[1], 0x01);
		/* 64-byte frames leave no room for a TCP header after IPv6: UDP */
		ck_assert_uint_eq(flow->protocol, 17);
		ck_assert(flow->flags & PACKET_FLAG_HAS_PORTS);
	}
	ck_assert_msg(ipv6_flows > 200 && ipv6_flows < 300, "%u IPv6 sources of 1000", ipv6_flows);
	ck_assert_uint_eq(seen.malformed, 0);

	run_synthetic((const char *const[]){"synthetic=", "synthetic.packets=1000",
					    "synthetic.ipv6_share=1", NULL},
		      false);
	ck_assert_uint_eq(seen.ipv6, 1000);
}
END_TEST

/* A flow keeps its protocol whatever its packets' sizes: IPv6 + TCP needs 74 bytes. */
START_TEST(test_flows_keep_their_protocol_across_sizes)
{
	struct test_rig rig;

	memset(&seen, 0, sizeof(seen));
	track_flows = true;
	test_rig_open(&rig, &source_kernel, "gen", STREAM_NONE,
		      (const char *const[]){"synthetic=", "synthetic.packets=20000",
					    "synthetic.sources=100", "synthetic.flows=1000",
					    "synthetic.ipv6_share=1", NULL},
		      256);
	/* the size list, as `size: [64, 128]` gives it; init reads it, so init again */
	((struct source_params *)rig.instance.params)->synthetic_params.sizes =
		(struct config_unsigned_list){.count = 2, .values = {64, 128}};
	rig.instance.ops->destroy(&rig.instance);
	ck_assert_int_eq(rig.instance.ops->init(&rig.instance), 0);
	rig.drain = drain;
	test_rig_run_to_end(&rig);
	test_rig_close(&rig);
	ck_assert_uint_eq(seen.packets, 20000);
	ck_assert_uint_eq(seen.bytes, 10000 * 64 + 10000 * 128);
	ck_assert_uint_eq(seen.flow_count, 1000);
	for (unsigned i = 0; i < seen.flow_count; i++)
		ck_assert_uint_eq(seen.flows[i].protocol, 17);
}
END_TEST

START_TEST(test_backpressure_and_stop)
{
	struct test_rig rig;
	unsigned made = 0;

	memset(&seen, 0, sizeof(seen));
	track_flows = false;
	/* endless, into a 63-packet ring nobody drains */
	test_rig_open(&rig, &source_kernel, "gen", STREAM_NONE,
		      (const char *const[]){"synthetic=", NULL}, 64);
	for (unsigned i = 0; i < 10; i++)
		made += rig.instance.ops->process(&rig.instance);
	ck_assert_uint_eq(made, 63);
	ck_assert_uint_eq(rte_ring_count(rig.output.ring), 63);
	ck_assert_uint_gt(rig.instance.counters.backpressure, 0);
	ck_assert_uint_eq(rig.instance.counters.ring_overflow, 0);
	drain(&rig);
	ck_assert_uint_eq(seen.packets, 63);
	/* a reload retiring it (or the daemon stopping) ends it */
	atomic_store(&rig.instance.retiring, true);
	ck_assert_uint_eq(rig.instance.ops->process(&rig.instance), 0);
	ck_assert(kernel_is_finished(&rig.instance));
	test_rig_close(&rig);
}
END_TEST

Suite *
synthetic_suite(void)
{
	Suite *suite = suite_create("synthetic");
	TCase *generator = tcase_create("generator");

	tcase_set_timeout(generator, 60);
	tcase_add_test(generator, test_exact_count_sizes_and_valid_frames);
	tcase_add_test(generator, test_same_seed_same_sequence);
	tcase_add_test(generator, test_uniform_and_zipf_shares);
	tcase_add_test(generator, test_flows_and_ipv6_share);
	tcase_add_test(generator, test_flows_keep_their_protocol_across_sizes);
	tcase_add_test(generator, test_backpressure_and_stop);
	suite_add_tcase(suite, generator);
	return suite;
}
