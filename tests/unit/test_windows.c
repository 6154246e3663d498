/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Windowed kernels on a live clock: the wall-clock tick may close a window at
 * any moment between two polls, including while the end-of-input flush is
 * emitting the last window a budget at a time. Whatever the interleaving,
 * every packet is in exactly one record.
 */
#include <stdio.h>
#include <string.h>

#include <check.h>
#include <rte_ring_elem.h>

#include "kernel.h"
#include "packet.h"
#include "suites.h"
#include "test_rig.h"

#define NS_PER_SECOND 1000000000ull
#define OUTPUT_RING_SIZE 64 /* holds 63 records: a flush of more takes several polls */

extern const struct kernel_ops per_src_counter_kernel;
extern const struct kernel_ops proto_stats_kernel;

/* @p sources packets, one per source 10.9.x.y, all inside the window [10 s, 11 s). */
static void
send_one_window(struct test_rig *rig, unsigned sources)
{
	for (unsigned i = 0; i < sources; i++) {
		struct rte_mbuf *packet = test_rig_new_packet(rig);
		struct packet_meta *meta = packet_meta(packet);
		char source[32];

		snprintf(source, sizeof(source), "10.9.%u.%u", i / 256, i % 256);
		test_address(source, meta->source_address);
		meta->ip_version = 4;
		meta->source_hash = packet_address_hash(meta->source_address);
		meta->wire_length = 100;
		meta->timestamp_ns = 10 * NS_PER_SECOND + i;
		test_rig_send(rig, packet);
	}
}

/*
 * Count every packet sent (no tick yet: the window stays open), then run to
 * the end as the runtime does on a live clock, with a tick after every poll
 * whose time is past the open window, and the output drained only every few
 * polls (a slow consumer keeps the flush going over several polls). Sums the
 * packets of the src_count records.
 */
static void
run_with_ticks_during_flush(struct test_rig *rig, uint64_t *records, uint64_t *packets)
{
	struct src_count_record out[OUTPUT_RING_SIZE];

	test_rig_consume_input(rig, false);
	rig->instance.live_clock = true;
	test_rig_close_inputs(rig);
	for (unsigned round = 1; !kernel_is_finished(&rig->instance) && round < 10000; round++) {
		test_rig_poll(rig);
		per_src_counter_kernel.tick(&rig->instance, (12 + round) * NS_PER_SECOND);
		if (round % 3 != 0)
			continue;
		unsigned count = rte_ring_dequeue_burst_elem(rig->output.ring, out, sizeof(out[0]),
							     OUTPUT_RING_SIZE, NULL);

		*records += count;
		for (unsigned i = 0; i < count; i++)
			*packets += out[i].packets;
	}
	ck_assert(kernel_is_finished(&rig->instance));
	for (unsigned count; (count = rte_ring_dequeue_burst_elem(rig->output.ring, out,
								   sizeof(out[0]), OUTPUT_RING_SIZE,
								   NULL)) > 0;) {
		*records += count;
		for (unsigned i = 0; i < count; i++)
			*packets += out[i].packets;
	}
}

/*
 * The last window is larger than the output ring, so the flush emits it over
 * several polls; a tick between two of them must not close the window again
 * (that re-emitted the part already sent, in blocks of a burst).
 */
START_TEST(counter_tick_during_final_flush_emits_each_source_once)
{
	const char *const settings[] = {"window=1s", NULL};
	struct test_rig rig;
	uint64_t records = 0, packets = 0;

	test_rig_open(&rig, &per_src_counter_kernel, "count", STREAM_PACKET, settings,
		      OUTPUT_RING_SIZE);
	send_one_window(&rig, 200);
	run_with_ticks_during_flush(&rig, &records, &packets);
	ck_assert_uint_eq(records, 200);
	ck_assert_uint_eq(packets, 200);
	ck_assert_uint_eq(rig.instance.counters.items_out, 200);
	test_rig_close(&rig);
}
END_TEST

/*
 * The last window fills the output budget exactly: the flush has emitted
 * everything but not yet seen that it is done when the tick comes (that
 * re-emitted the whole window).
 */
START_TEST(counter_tick_after_flush_filled_the_budget_emits_window_once)
{
	const char *const settings[] = {"window=1s", NULL};
	struct test_rig rig;
	uint64_t records = 0, packets = 0;

	test_rig_open(&rig, &per_src_counter_kernel, "count", STREAM_PACKET, settings,
		      OUTPUT_RING_SIZE);
	send_one_window(&rig, OUTPUT_RING_SIZE - 1);
	run_with_ticks_during_flush(&rig, &records, &packets);
	ck_assert_uint_eq(records, OUTPUT_RING_SIZE - 1);
	ck_assert_uint_eq(packets, OUTPUT_RING_SIZE - 1);
	test_rig_close(&rig);
}
END_TEST

/* proto_stats holds one record per window: a tick while it waits for room changes nothing. */
START_TEST(proto_stats_tick_during_final_flush_emits_window_once)
{
	const char *const settings[] = {"window=1s", NULL};
	struct proto_stats_record out[4], filler = {0};
	struct test_rig rig;
	uint64_t records = 0, packets = 0;

	test_rig_open(&rig, &proto_stats_kernel, "stats", STREAM_PACKET, settings, 2);
	send_one_window(&rig, 50);
	test_rig_consume_input(&rig, false);
	rig.instance.live_clock = true;
	test_rig_close_inputs(&rig);
	/* fill the one-record output so the flush must wait with its window closed */
	ck_assert_int_eq(rte_ring_enqueue_elem(rig.output.ring, &filler, sizeof(filler)), 0);
	for (unsigned round = 1; round < 20; round++) {
		test_rig_poll(&rig);
		proto_stats_kernel.tick(&rig.instance, (12 + round) * NS_PER_SECOND);
	}
	ck_assert(!kernel_is_finished(&rig.instance));
	for (unsigned round = 1; round < 100; round++) {
		unsigned count = rte_ring_dequeue_burst_elem(rig.output.ring, out, sizeof(out[0]), 4,
							     NULL);

		for (unsigned i = 0; i < count; i++)
			packets += out[i].packets[PROTO_STATS_IPV4];
		records += count;
		if (kernel_is_finished(&rig.instance))
			break;
		test_rig_poll(&rig);
		proto_stats_kernel.tick(&rig.instance, (40 + round) * NS_PER_SECOND);
	}
	ck_assert(kernel_is_finished(&rig.instance));
	ck_assert_uint_eq(records, 2); /* the filler and the window */
	ck_assert_uint_eq(packets, 50);
	test_rig_close(&rig);
}
END_TEST

Suite *
windows_suite(void)
{
	Suite *suite = suite_create("windows");
	TCase *live = tcase_create("tick_during_flush");

	tcase_add_test(live, counter_tick_during_final_flush_emits_each_source_once);
	tcase_add_test(live, counter_tick_after_flush_filled_the_budget_emits_window_once);
	tcase_add_test(live, proto_stats_tick_during_final_flush_emits_window_once);
	suite_add_tcase(suite, live);
	return suite;
}
