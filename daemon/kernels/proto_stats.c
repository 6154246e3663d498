/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * proto_stats: packets and bytes per L3 and L4 protocol class, an RFC 2819
 * frame-size histogram and the malformed count, per tumbling window or over
 * the whole run. The low-footprint agent's kernel: a few counters per replica,
 * no table, one record per window per replica (the sums over replicas are the
 * figures).
 *
 * Classes, from the metadata the source's parser filled in:
 * - L3: IPv4 or IPv6 when an IP header follows the Ethernet header and its
 *   VLAN tags directly; anything else (ARP, STP, IPX, MPLS, PPPoE, an IP
 *   header too short to parse) is "other".
 * - L4, for IP packets only (the L4 classes sum to the IP packets): the
 *   protocol of the *outer* IP header, after IPv6 extension headers; a
 *   tunnel's inner packet never counts. A non-first fragment has no L4 header
 *   and is "other". A malformed packet counts under the protocol its IP header
 *   names even when the L4 header itself was cut: that is what the header says
 *   and what Wireshark shows (it dissects the cut TCP header as TCP). An IPv6
 *   extension-header chain cut short has no final protocol: "other".
 * - Sizes: RFC 2819's etherStatsPkts buckets, which count octets including the
 *   4-byte FCS; the wire length here (frame.len) excludes it, so the FCS is
 *   added back: a minimum 60-byte frame is in "64", a full 1514-byte frame
 *   in "1024-1518", a full VLAN-tagged one (1518 + FCS) in "1519+".
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>

#include <rte_ether.h>

#include "kernel.h"
#include "kernels/window.h"
#include "packet.h"


struct proto_stats_params {
	uint64_t window_ns;
};

static const struct config_field proto_stats_fields[] = {
	{.key = "window", .type = CONFIG_DURATION,
	 .offset = offsetof(struct proto_stats_params, window_ns), .default_value = "1s",
	 .special_word = "total", .special_value = WINDOW_TOTAL, .minimum = 1000,
	 .description = "tumbling window (e.g. `1s`, `10s`), or `total` for one record at the "
			"end; classes: IPv4/IPv6/other L3 (IP right after Ethernet and VLAN tags), "
			"TCP/UDP/ICMP/ICMPv6/SCTP/other L4 of the outer IP header (after IPv6 "
			"extension headers; non-first fragments are other), counted even when the "
			"L4 header is cut"},
	{.key = NULL},
};

struct proto_stats_state {
	struct proto_stats_record counting; /* the open window */
	bool window_open;                   /* counting.start_ns/end_ns are set */
	uint64_t window_packets;            /* counted in the open window; 0 = nothing to emit */
	uint64_t first_ns, last_ns;         /* packet times in the open window (for `total`) */

	struct proto_stats_record waiting;  /* a closed window the output had no room for */
	bool has_waiting;

	struct held_burst held; /* received, not yet counted (window wait) */

	uint64_t records;
};

/* Upper bounds (inclusive) of every RFC 2819 bucket but the last. */
static const uint32_t size_bucket_limits[PROTO_STATS_SIZE_BUCKETS - 1] = {
	64, 127, 255, 511, 1023, 1518,
};

static unsigned
size_bucket_of(uint32_t wire_length)
{
	unsigned bucket = 0;

	while (bucket < RTE_DIM(size_bucket_limits) && wire_length > size_bucket_limits[bucket])
		bucket++;
	return bucket;
}

static enum proto_stats_class
l3_class_of(const struct packet_meta *meta)
{
	if (meta->ip_version == 4)
		return PROTO_STATS_IPV4;
	if (meta->ip_version == 6)
		return PROTO_STATS_IPV6;
	return PROTO_STATS_OTHER_L3;
}

/* Only for IP packets (ip_version != 0). */
static enum proto_stats_class
l4_class_of(const struct packet_meta *meta)
{
	if (meta->flags & PACKET_FLAG_LATER_FRAGMENT)
		return PROTO_STATS_OTHER_L4; /* the L4 header is in the first fragment */
	switch (meta->protocol) {
	case IPPROTO_TCP:
		return PROTO_STATS_TCP;
	case IPPROTO_UDP:
		return PROTO_STATS_UDP;
	case IPPROTO_ICMP:
		return PROTO_STATS_ICMP;
	case IPPROTO_ICMPV6:
		return PROTO_STATS_ICMPV6;
	case IPPROTO_SCTP:
		return PROTO_STATS_SCTP;
	default:
		return PROTO_STATS_OTHER_L4;
	}
}

static void
count_class(struct proto_stats_record *record, enum proto_stats_class class, uint32_t bytes)
{
	record->packets[class]++;
	record->bytes[class] += bytes;
}

static void
count_packet(struct proto_stats_state *state, const struct packet_meta *meta)
{
	struct proto_stats_record *record = &state->counting;

	count_class(record, l3_class_of(meta), meta->wire_length);
	if (meta->ip_version != 0)
		count_class(record, l4_class_of(meta), meta->wire_length);
	record->size_buckets[size_bucket_of(meta->wire_length + RTE_ETHER_CRC_LEN)]++;
	if (meta->flags & PACKET_FLAG_MALFORMED)
		record->malformed_packets++;
	if (state->window_packets++ == 0)
		state->first_ns = meta->timestamp_ns;
	state->last_ns = meta->timestamp_ns;
}


static void
open_window(const struct proto_stats_params *params, struct proto_stats_state *state,
	    uint64_t now_ns)
{
	state->counting.start_ns = window_start_of(params->window_ns, now_ns);
	state->counting.end_ns = state->counting.start_ns + params->window_ns;
	state->window_open = true;
}

/*
 * Send the waiting record if the output has room.
 * @return true when nothing is waiting any more.
 */
static bool
emit_waiting(struct kernel_instance *instance)
{
	struct proto_stats_state *state = instance->state;

	if (!state->has_waiting)
		return true;
	if (kernel_burst_budget(instance) == 0)
		return false;
	kernel_emit_records(instance, &state->waiting, 1);
	state->records++;
	state->has_waiting = false;
	return true;
}

/*
 * Move the open window's counts to the waiting slot (which must be free) and
 * reset them; an empty window is dropped, as it says nothing.
 */
static void
close_counting(struct kernel_instance *instance, bool total)
{
	struct proto_stats_state *state = instance->state;
	struct proto_stats_record *record = &state->counting;

	if (state->window_packets > 0) {
		state->waiting = *record;
		state->waiting.header = (struct record_header){
			.type = STREAM_PROTO_STATS,
			/* no key: spread replicas' records if a replicated consumer ever reads them */
			.partition_hash = instance->replica * 0x9e3779b9u,
			.kernel = instance->name,
		};
		if (total) {
			state->waiting.start_ns = state->first_ns;
			state->waiting.end_ns = state->last_ns;
		}
		state->has_waiting = true;
	}
	memset(record->packets, 0, sizeof(record->packets));
	memset(record->bytes, 0, sizeof(record->bytes));
	memset(record->size_buckets, 0, sizeof(record->size_buckets));
	record->malformed_packets = 0;
	state->window_packets = 0;
}

/*
 * Count the held packets, closing windows as packet times cross them. Stops
 * (keeping the rest held) when a window must close while the previous one is
 * still waiting for room in the output: backpressure, never loss.
 */
static void
count_held(struct kernel_instance *instance)
{
	const struct proto_stats_params *params = instance->params;
	struct proto_stats_state *state = instance->state;
	bool windowed = params->window_ns != WINDOW_TOTAL;

	for (; state->held.next < state->held.count; state->held.next++) {
		const struct packet_meta *meta = packet_meta(state->held.packets[state->held.next]);

		if (windowed && !state->window_open)
			open_window(params, state, meta->timestamp_ns);
		/* Packets older than the window (reordering) count in the current one. */
		if (windowed && meta->timestamp_ns >= state->counting.end_ns) {
			if (!emit_waiting(instance))
				return;
			close_counting(instance, false);
			open_window(params, state, meta->timestamp_ns);
			emit_waiting(instance);
		}
		count_packet(state, meta);
	}
}

static unsigned
proto_stats_process(struct kernel_instance *instance)
{
	struct proto_stats_state *state = instance->state;
	unsigned received;

	emit_waiting(instance);
	received = held_burst_refill(instance, &state->held);
	if (state->held.count == 0)
		return 0;
	count_held(instance);
	if (state->held.next == state->held.count)
		held_burst_release(&state->held);
	return received;
}

/* Live sources: close a window on wall-clock time even when no packet comes. */
static void
proto_stats_tick(struct kernel_instance *instance, uint64_t now_ns)
{
	const struct proto_stats_params *params = instance->params;
	struct proto_stats_state *state = instance->state;

	if (!instance->live_clock || params->window_ns == WINDOW_TOTAL || !state->window_open)
		return;
	if (now_ns >= state->counting.end_ns && !state->has_waiting && state->held.count == 0) {
		close_counting(instance, false);
		open_window(params, state, now_ns);
	}
}

/* End of input: emit the open window (or the totals), then finish. */
static bool
proto_stats_flush(struct kernel_instance *instance)
{
	const struct proto_stats_params *params = instance->params;
	struct proto_stats_state *state = instance->state;

	if (!emit_waiting(instance))
		return false;
	if (state->held.count > 0) {
		proto_stats_process(instance);
		return false;
	}
	close_counting(instance, params->window_ns == WINDOW_TOTAL);
	return emit_waiting(instance);
}

static int
proto_stats_init(struct kernel_instance *instance)
{
	instance->state = calloc(1, sizeof(struct proto_stats_state));
	return instance->state == NULL ? -ENOMEM : 0;
}

/*
 * After a reload the counts go on in the old state. With a new window length
 * the open window is re-aligned to it and keeps what it has counted; from
 * `total` to a window, the next packet opens the window and the counts so far
 * belong to it.
 */
static void
proto_stats_take_state(struct kernel_instance *instance, struct kernel_instance *old)
{
	const struct proto_stats_params *params = instance->params, *old_params = old->params;
	struct proto_stats_state *taken = old->state;

	kernel_swap_state(instance, old);
	if (params->window_ns == old_params->window_ns || params->window_ns == WINDOW_TOTAL)
		return;
	if (old_params->window_ns == WINDOW_TOTAL)
		taken->window_open = false;
	else if (taken->window_open)
		open_window(params, taken, taken->counting.start_ns);
}

static unsigned
proto_stats_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	const struct proto_stats_state *state = instance->state;

	stats[0] = (struct kernel_stat){"records", state->records};
	return 1;
}

static void
proto_stats_destroy(struct kernel_instance *instance)
{
	struct proto_stats_state *state = instance->state;

	if (state == NULL)
		return;
	held_burst_release(&state->held);
	free(state);
	instance->state = NULL;
}

const struct kernel_ops proto_stats_kernel = {
	.name = "proto_stats",
	.description = "Packets and bytes per L3/L4 protocol, RFC 2819 frame sizes and malformed "
		       "packets, per window or in total",
	.input_type = STREAM_PACKET,
	.output_type = STREAM_PROTO_STATS,
	.replicable = true,
	.params_size = sizeof(struct proto_stats_params),
	.config_map = proto_stats_fields,
	.init = proto_stats_init,
	.process = proto_stats_process,
	.flush = proto_stats_flush,
	.tick = proto_stats_tick,
	.stats = proto_stats_stats,
	.take_state = proto_stats_take_state,
	.destroy = proto_stats_destroy,
};
