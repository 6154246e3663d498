/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flow_tracker: bidirectional 5-tuple flows (IPv4 and IPv6) with idle and
 * active timeouts, TCP FIN/RST endings, and a bounded table (flow_table.h:
 * its layout, its canonical keys, and why it is not rte_hash).
 *
 * Counters are kept per sending endpoint (low, high) and the initiator bit
 * says which endpoint is the record's source.
 *
 * Expiry: the LRU head is the least recently seen flow, so idle expiry pops
 * heads while they are due, at most FLOW_EXPIRY_WORK per call: a table of
 * millions never stalls a burst. Active timeouts are checked when a flow's
 * packet arrives (the slice is cut before that packet); a flow that stops
 * sending goes out with its idle expiry. The clock is packet time, or the
 * wall clock from tick() for live sources.
 *
 * TCP endings: a RST or the second side's FIN does not export the flow at
 * once. The flow is marked closing (with its reason, fin or rst), leaves the
 * LRU list and joins the tail of the closing list; packets of the 5-tuple
 * that follow (the last ACK, retransmitted FINs, more RSTs) are counted into
 * it, rather than opening a 1-packet flow whose initiator would be whoever
 * sent them. It is exported with its reason once it has had no packet for
 * the linger, min(FLOW_CLOSE_LINGER_NS, idle_timeout); every closing flow
 * has the same linger and a packet while it lingers moves it to the tail,
 * so the list is in deadline order and expiry pops its head like the LRU's. A SYN without ACK on a closing
 * flow is a new connection on the same ports: the closing flow is exported
 * and the SYN starts a new one. A full table evicts closing flows (they are
 * done) before the least recently seen open one.
 *
 * Counters are 32 bits per direction: a slice is cut (exported as `active`)
 * before one would wrap, counted in wrap_slices.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "kernel.h"
#include "kernels/flow_table.h"
#include "packet.h"

/* The bound of max_flows: what one table can hold. */
#define FLOW_MAX_FLOWS FLOW_TABLE_MAX_FLOWS

/* Flows expired per call: bounds the time one call can spend on expiry. */
#define FLOW_EXPIRY_WORK 64
/*
 * How long a closed TCP flow (both FINs, or a RST) stays in the table after
 * its last packet, capped by idle_timeout: the last ACK, a retransmission of
 * the close (FIN or RST) or a late RST still belong to the connection, and
 * would otherwise open a new flow initiated by whoever sent them.
 */
#define FLOW_CLOSE_LINGER_NS 2000000000ull
/*
 * A packet ends at most two records: an idle, linger or SYN-reuse end of its
 * flow, then an eviction for the new one; or one slice (active or wrap, never
 * both: after a slice the counters are zero). FIN/RST export nothing at once.
 */
#define FLOW_PENDING_MAX (2 * KERNEL_BURST + FLOW_EXPIRY_WORK)

#define TCP_PROTOCOL 6
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* flow_tail.state bits, beside the table's FLOW_TABLE_STATE_CLOSING (both FINs or a RST seen) */
#define STATE_INITIATOR_HIGH 0x01 /* the first packet came from the high endpoint */
#define STATE_FIN_LOW 0x02
#define STATE_FIN_HIGH 0x04
#define STATE_CLOSED_RST 0x10 /* closing because of a RST (else both FINs) */
_Static_assert(((STATE_INITIATOR_HIGH | STATE_FIN_LOW | STATE_FIN_HIGH | STATE_CLOSED_RST) &
		FLOW_TABLE_STATE_CLOSING) == 0, "state bits are the table's or the kernel's");

struct flow_tracker_params {
	uint64_t idle_timeout_ns;
	uint64_t active_timeout_ns;
	uint64_t max_flows;
};

static const struct config_field flow_tracker_fields[] = {
	{.key = "idle_timeout", .type = CONFIG_DURATION,
	 .offset = offsetof(struct flow_tracker_params, idle_timeout_ns), .default_value = "60s",
	 .minimum = 1000000,
	 .description = "a flow with no packet for this long ends (`end_reason: idle`); a closed "
			"TCP flow (FIN from both sides, or RST) ends after min(2s, this) without "
			"a packet, so the last ACK and retransmissions stay in it"},
	{.key = "active_timeout", .type = CONFIG_DURATION,
	 .offset = offsetof(struct flow_tracker_params, active_timeout_ns), .default_value = "300s",
	 .minimum = 1000000,
	 .description = "a longer flow is exported (`end_reason: active`) at its first packet past "
			"this age, and goes on with counters reset; also cut before a 32-bit "
			"counter would wrap, counted in `wrap_slices`"},
	{.key = "max_flows", .type = CONFIG_UNSIGNED,
	 .offset = offsetof(struct flow_tracker_params, max_flows), .default_value = "1M",
	 .minimum = 2, .maximum = FLOW_MAX_FLOWS,
	 .description = "flows each replica holds; when full, a new flow evicts the least recently "
			"seen one, exported as `end_reason: evicted` and counted in `evicted_flows`", .change = CONFIG_CHANGE_REPLACE},
	{.key = NULL},
};

struct flow_tracker_state {
	struct flow_table table;
	uint64_t clock_ns; /* newest packet (or tick) time */

	struct flow_record pending[FLOW_PENDING_MAX]; /* records waiting for ring space */
	unsigned pending_count, pending_next;

	uint64_t flows_created;
	uint64_t records;
	uint64_t non_ip_packets;
	uint64_t evicted_flows;
	uint64_t wrap_slices;     /* slices cut before a 32-bit counter would wrap */
	uint64_t expiry_work_max; /* most flows expired in one call */
};

/* ---- records ---- */

/* Same value as packet_flow_hash() of the flow's packets: replicas downstream agree. */
static uint32_t
record_partition_hash(const struct flow_record *record)
{
	struct packet_meta meta = {
		.source_port = record->source_port, .destination_port = record->destination_port,
		.protocol = record->protocol, .flags = PACKET_FLAG_HAS_PORTS,
	};

	memcpy(meta.source_address, record->source_address, 16);
	memcpy(meta.destination_address, record->destination_address, 16);
	return packet_flow_hash(&meta);
}

/* Queue the record of @p handle's current slice. */
static void
record_flow(struct kernel_instance *instance, uint32_t handle, enum flow_end_reason reason)
{
	struct flow_tracker_state *state = instance->state;
	const struct flow_common *flow = flow_table_entry(&state->table, handle);
	const union flow_tail *tail = flow_table_tail(&state->table, handle);
	struct flow_record *record = &state->pending[state->pending_count++];
	bool high_first = (tail->fields.state & STATE_INITIATOR_HIGH) != 0;
	uint8_t low[16], high[16];

	memset(record, 0, sizeof(*record));
	record->header.type = STREAM_FLOW;
	record->header.kernel = instance->name;
	flow_table_addresses(&state->table, handle, low, high);
	memcpy(record->source_address, high_first ? high : low, 16);
	memcpy(record->destination_address, high_first ? low : high, 16);
	record->source_port = high_first ? tail->fields.high_port : tail->fields.low_port;
	record->destination_port = high_first ? tail->fields.low_port : tail->fields.high_port;
	record->packets = high_first ? flow->high_packets : flow->low_packets;
	record->bytes = high_first ? flow->high_bytes : flow->low_bytes;
	record->reverse_packets = high_first ? flow->low_packets : flow->high_packets;
	record->reverse_bytes = high_first ? flow->low_bytes : flow->high_bytes;
	record->ip_bytes = high_first ? flow->high_ip_bytes : flow->low_ip_bytes;
	record->reverse_ip_bytes = high_first ? flow->low_ip_bytes : flow->high_ip_bytes;
	record->tcp_flags = high_first ? tail->fields.high_tcp_flags : tail->fields.low_tcp_flags;
	record->reverse_tcp_flags = high_first ? tail->fields.low_tcp_flags
					       : tail->fields.high_tcp_flags;
	record->protocol = tail->fields.protocol;
	record->first_ns = flow->first_ns;
	record->last_ns = flow->last_ns;
	record->end_reason = (uint8_t)reason;
	record->header.partition_hash = record_partition_hash(record);
}

/* Export the flow and forget it. */
static void
end_flow(struct kernel_instance *instance, uint32_t handle, enum flow_end_reason reason)
{
	struct flow_tracker_state *state = instance->state;

	record_flow(instance, handle, reason);
	flow_table_remove(&state->table, handle);
}

/* Export a closing flow with the reason it closed for. */
static void
end_closing_flow(struct kernel_instance *instance, uint32_t handle)
{
	struct flow_tracker_state *state = instance->state;
	const union flow_tail *tail = flow_table_tail(&state->table, handle);

	end_flow(instance, handle,
		 (tail->fields.state & STATE_CLOSED_RST) ? FLOW_END_RST : FLOW_END_FIN);
}

/* Move an open flow to the closing list: it is exported after the linger. */
static void
start_closing(struct flow_tracker_state *state, uint32_t handle, bool rst)
{
	if (rst)
		flow_table_tail(&state->table, handle)->fields.state |= STATE_CLOSED_RST;
	flow_table_start_closing(&state->table, handle);
}

static inline uint64_t
close_linger_ns(const struct flow_tracker_params *params)
{
	return RTE_MIN(FLOW_CLOSE_LINGER_NS, params->idle_timeout_ns);
}

/* Whether the closing flow @p flow has lingered long enough at @p now_ns. */
static inline bool
linger_over(const struct flow_tracker_params *params, const struct flow_common *flow,
	    uint64_t now_ns)
{
	return now_ns > flow->last_ns && now_ns - flow->last_ns >= close_linger_ns(params);
}

/* Packets of this slice so far, in 64 bits: two 32-bit counters may sum to 2^32. */
static inline uint64_t
slice_packets(const struct flow_common *flow)
{
	return (uint64_t)flow->low_packets + flow->high_packets;
}

/* Export the slice so far; the flow goes on from the next packet. */
static void
cut_slice(struct kernel_instance *instance, uint32_t handle)
{
	struct flow_tracker_state *state = instance->state;
	struct flow_common *flow = flow_table_entry(&state->table, handle);
	union flow_tail *tail = flow_table_tail(&state->table, handle);

	record_flow(instance, handle, FLOW_END_ACTIVE);
	flow->low_packets = flow->high_packets = 0;
	flow->low_bytes = flow->high_bytes = 0;
	flow->low_ip_bytes = flow->high_ip_bytes = 0;
	flow->first_ns = 0; /* set by the next packet */
	tail->fields.low_tcp_flags = tail->fields.high_tcp_flags = 0;
}

/* Emit queued records as far as the output rings allow. @return true when none is left. */
static bool
emit_pending(struct kernel_instance *instance)
{
	struct flow_tracker_state *state = instance->state;
	unsigned waiting = state->pending_count - state->pending_next;
	unsigned count = RTE_MIN(waiting, kernel_output_budget(instance));

	if (waiting == 0)
		return true;
	kernel_emit_records(instance, &state->pending[state->pending_next], count);
	state->records += count;
	state->pending_next += count;
	if (count < waiting) {
		instance->counters.backpressure++;
		return false;
	}
	state->pending_count = state->pending_next = 0;
	return true;
}

/* ---- packets ---- */

/* A new flow for @p lookup, evicting the least recently seen one when full. */
static uint32_t
create_flow(struct kernel_instance *instance, const struct flow_lookup *lookup,
	    uint32_t empty_slot, uint64_t now_ns)
{
	const struct flow_tracker_params *params = instance->params;
	struct flow_tracker_state *state = instance->state;
	uint32_t handle;

	if (flow_table_full(&state->table)) {
		uint32_t victim = flow_table_victim(&state->table);

		if (flow_table_is_closing(&state->table, victim)) {
			/* a closing flow is done: it goes first, with its own reason */
			end_closing_flow(instance, victim);
		} else {
			struct flow_common *oldest = flow_table_entry(&state->table, victim);
			bool idle = now_ns > oldest->last_ns &&
				    now_ns - oldest->last_ns >= params->idle_timeout_ns;

			if (!idle)
				state->evicted_flows++;
			end_flow(instance, victim, idle ? FLOW_END_IDLE : FLOW_END_EVICTED);
		}
		/* the removal may have shifted slots: probe again */
		flow_table_find(&state->table, lookup, &empty_slot);
	}
	handle = flow_table_insert(&state->table, lookup, empty_slot);
	if (!lookup->sender_is_low)
		flow_table_tail(&state->table, handle)->fields.state = STATE_INITIATOR_HIGH;
	state->flows_created++;
	return handle;
}

/*
 * Whether the flow's time is up before this packet: idle or lingered out
 * (ended), or active (sliced); a SYN on a closing flow ends it too (a new
 * connection on the same ports). @return the flow to count the packet in,
 * or FLOW_NONE for a new one.
 */
static uint32_t
apply_timeouts(struct kernel_instance *instance, uint32_t handle,
	       const struct packet_meta *meta)
{
	const struct flow_tracker_params *params = instance->params;
	struct flow_tracker_state *state = instance->state;
	struct flow_common *flow = flow_table_entry(&state->table, handle);
	uint64_t now_ns = meta->timestamp_ns;

	if (flow_table_is_closing(&state->table, handle)) {
		if (linger_over(params, flow, now_ns) ||
		    (meta->protocol == TCP_PROTOCOL &&
		     (meta->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)) {
			end_closing_flow(instance, handle);
			return FLOW_NONE;
		}
		return handle; /* not sliced: it is about to go out */
	}
	if (now_ns > flow->last_ns && now_ns - flow->last_ns >= params->idle_timeout_ns) {
		end_flow(instance, handle, FLOW_END_IDLE);
		return FLOW_NONE;
	}
	if (slice_packets(flow) > 0 && now_ns > flow->first_ns &&
	    now_ns - flow->first_ns >= params->active_timeout_ns)
		cut_slice(instance, handle);
	return handle;
}

/*
 * Count one packet; on RST or on the second side's FIN the flow starts
 * closing. A closing flow's packet moves it to the tail of the closing list.
 */
static void
count_packet(struct kernel_instance *instance, uint32_t handle, const struct packet_meta *meta,
	     bool sender_is_low)
{
	struct flow_tracker_state *state = instance->state;
	struct flow_common *flow = flow_table_entry(&state->table, handle);
	union flow_tail *tail = flow_table_tail(&state->table, handle);
	uint32_t *packets = sender_is_low ? &flow->low_packets : &flow->high_packets;
	uint32_t *bytes = sender_is_low ? &flow->low_bytes : &flow->high_bytes;
	uint32_t *ip_bytes = sender_is_low ? &flow->low_ip_bytes : &flow->high_ip_bytes;
	uint32_t packet_ip = packet_ip_bytes(meta);

	/* 32-bit counters: cut a slice rather than let one wrap (an IP length may exceed the frame's) */
	if (*packets == UINT32_MAX || *bytes > UINT32_MAX - meta->wire_length ||
	    *ip_bytes > UINT32_MAX - packet_ip) {
		cut_slice(instance, handle);
		state->wrap_slices++;
	}
	if (slice_packets(flow) == 0)
		flow->first_ns = meta->timestamp_ns;
	(*packets)++;
	*bytes += meta->wire_length;
	*ip_bytes += packet_ip;
	if (meta->timestamp_ns > flow->last_ns)
		flow->last_ns = meta->timestamp_ns;
	if (tail->fields.protocol != TCP_PROTOCOL) {
		flow_table_touch(&state->table, handle);
		return;
	}
	if (sender_is_low)
		tail->fields.low_tcp_flags |= meta->tcp_flags;
	else
		tail->fields.high_tcp_flags |= meta->tcp_flags;
	if (meta->tcp_flags & TCP_FIN)
		tail->fields.state |= sender_is_low ? STATE_FIN_LOW : STATE_FIN_HIGH;
	if (tail->fields.state & FLOW_TABLE_STATE_CLOSING) {
		/* its deadline moved with last_ns: to the tail, so the list stays in deadline order */
		flow_table_touch_closing(&state->table, handle);
		return;
	}
	if (meta->tcp_flags & TCP_RST)
		start_closing(state, handle, true);
	else if ((tail->fields.state & (STATE_FIN_LOW | STATE_FIN_HIGH)) ==
		 (STATE_FIN_LOW | STATE_FIN_HIGH))
		start_closing(state, handle, false);
	else
		flow_table_touch(&state->table, handle);
}

static void
track_packet(struct kernel_instance *instance, const struct packet_meta *meta,
	     const struct flow_lookup *lookup)
{
	struct flow_tracker_state *state = instance->state;
	uint32_t empty_slot = 0, handle;

	if (meta->timestamp_ns > state->clock_ns)
		state->clock_ns = meta->timestamp_ns;
	handle = flow_table_find(&state->table, lookup, &empty_slot);
	if (handle != FLOW_NONE) {
		handle = apply_timeouts(instance, handle, meta);
		if (handle == FLOW_NONE)
			flow_table_find(&state->table, lookup, &empty_slot); /* slots may have shifted */
	}
	if (handle == FLOW_NONE)
		handle = create_flow(instance, lookup, empty_slot, meta->timestamp_ns);
	count_packet(instance, handle, meta, lookup->sender_is_low);
}

/*
 * Track a burst in three passes so that the cache misses of different
 * packets overlap: keys and slot prefetches, then entry prefetches, then
 * the updates. At millions of flows each pass would otherwise stall on
 * memory once per packet (flow_table_prefetch_entry() says which entry).
 */
static void
track_burst(struct kernel_instance *instance, struct rte_mbuf **packets, unsigned count)
{
	struct flow_tracker_state *state = instance->state;
	const struct packet_meta *metas[KERNEL_BURST];
	struct flow_lookup lookups[KERNEL_BURST];
	unsigned keyed = 0;

	for (unsigned i = 0; i < count; i++) {
		const struct packet_meta *meta = packet_meta(packets[i]);

		if (meta->ip_version == 0) {
			state->non_ip_packets++;
			continue;
		}
		metas[keyed] = meta;
		flow_table_lookup_of_packet(&state->table, meta, &lookups[keyed]);
		flow_table_prefetch_slot(&state->table, &lookups[keyed]);
		keyed++;
	}
	for (unsigned i = 0; i < keyed; i++)
		flow_table_prefetch_entry(&state->table, &lookups[i]);
	for (unsigned i = 0; i < keyed; i++)
		track_packet(instance, metas[i], &lookups[i]);
}

/* Pop lingered-out closing flows, then idle flows off the LRU head, at most @p limit in all. */
static void
expire_idle(struct kernel_instance *instance, unsigned limit)
{
	const struct flow_tracker_params *params = instance->params;
	struct flow_tracker_state *state = instance->state;
	struct flow_table *table = &state->table;
	unsigned expired = 0;

	while (expired < limit && flow_table_oldest_closing(table) != FLOW_NONE &&
	       linger_over(params, flow_table_entry(table, flow_table_oldest_closing(table)),
			   state->clock_ns)) {
		end_closing_flow(instance, flow_table_oldest_closing(table));
		expired++;
	}
	while (expired < limit && flow_table_oldest(table) != FLOW_NONE) {
		const struct flow_common *oldest = flow_table_entry(table, flow_table_oldest(table));

		if (state->clock_ns <= oldest->last_ns ||
		    state->clock_ns - oldest->last_ns < params->idle_timeout_ns)
			break;
		end_flow(instance, flow_table_oldest(table), FLOW_END_IDLE);
		expired++;
	}
	if (expired > state->expiry_work_max)
		state->expiry_work_max = expired;
}

static unsigned
flow_tracker_process(struct kernel_instance *instance)
{
	struct flow_tracker_state *state = instance->state;
	struct rte_mbuf *packets[KERNEL_BURST];
	unsigned received;

	/* records of the last call must be out before more are made: hold the input */
	if (!emit_pending(instance))
		return 0;
	received = kernel_receive(instance, packets, KERNEL_BURST, NULL);
	track_burst(instance, packets, received);
	rte_pktmbuf_free_bulk(packets, received);
	expire_idle(instance, RTE_MIN((unsigned)FLOW_EXPIRY_WORK,
				      FLOW_PENDING_MAX - state->pending_count));
	emit_pending(instance);
	return received;
}

/* Live sources: idle flows expire on wall-clock time even when no packet comes. */
static void
flow_tracker_tick(struct kernel_instance *instance, uint64_t now_ns)
{
	struct flow_tracker_state *state = instance->state;

	if (instance->live_clock && now_ns > state->clock_ns)
		state->clock_ns = now_ns;
}

/*
 * End of input: closing flows go out with their reason (fin, rst), every
 * other flow as `eof`, a budget at a time.
 */
static bool
flow_tracker_flush(struct kernel_instance *instance)
{
	struct flow_tracker_state *state = instance->state;
	struct flow_table *table = &state->table;

	if (!emit_pending(instance))
		return false;
	while (flow_table_oldest_closing(table) != FLOW_NONE &&
	       state->pending_count < FLOW_PENDING_MAX)
		end_closing_flow(instance, flow_table_oldest_closing(table));
	while (flow_table_oldest(table) != FLOW_NONE && state->pending_count < FLOW_PENDING_MAX)
		end_flow(instance, flow_table_oldest(table), FLOW_END_EOF);
	return emit_pending(instance) && table->count == 0;
}

static int
flow_tracker_init(struct kernel_instance *instance)
{
	const struct flow_tracker_params *params = instance->params;
	struct flow_tracker_state *state = calloc(1, sizeof(*state));
	int result;

	if (state == NULL)
		return -ENOMEM;
	instance->state = state;
	result = flow_table_create(&state->table, (uint32_t)params->max_flows);
	if (result != 0) {
		snprintf(instance->error, sizeof(instance->error),
			 "cannot allocate a table of %lu flows; lower max_flows",
			 (unsigned long)params->max_flows);
		return result;
	}
	return 0;
}

/*
 * Timeouts are read from the instance's params at each use, so swapping is
 * enough. The table moves as is: `max_flows` says REPLACE, another size
 * would not fit it.
 */
static void
flow_tracker_take_state(struct kernel_instance *instance, struct kernel_instance *old)
{
	kernel_swap_state(instance, old);
}

static unsigned
flow_tracker_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	const struct flow_tracker_state *state = instance->state;

	stats[0] = (struct kernel_stat){"flows_created", state->flows_created};
	stats[1] = (struct kernel_stat){"flows_active", state->table.count};
	stats[2] = (struct kernel_stat){"records", state->records};
	stats[3] = (struct kernel_stat){"non_ip_packets", state->non_ip_packets};
	stats[4] = (struct kernel_stat){"evicted_flows", state->evicted_flows};
	stats[5] = (struct kernel_stat){"expiry_work_max", state->expiry_work_max};
	stats[6] = (struct kernel_stat){"table_bytes", flow_table_bytes(&state->table)};
	stats[7] = (struct kernel_stat){"wrap_slices", state->wrap_slices};
	return 8;
}

static void
flow_tracker_destroy(struct kernel_instance *instance)
{
	struct flow_tracker_state *state = instance->state;

	if (state == NULL)
		return;
	flow_table_free(&state->table);
	free(state);
	instance->state = NULL;
}

static void
flow_tracker_properties(const void *params, struct kernel_properties *properties)
{
	(void)params;
	properties->partition = PARTITION_FLOW;
}

const struct kernel_ops flow_tracker_kernel = {
	.name = "flow_tracker",
	.description = "Bidirectional 5-tuple flows (IPv4/IPv6) with idle/active timeouts and "
		       "TCP FIN/RST endings",
	.input_type = STREAM_PACKET,
	.output_type = STREAM_FLOW,
	.replicable = true,
	.params_size = sizeof(struct flow_tracker_params),
	.config_map = flow_tracker_fields,
	.properties = flow_tracker_properties,
	.init = flow_tracker_init,
	.process = flow_tracker_process,
	.flush = flow_tracker_flush,
	.tick = flow_tracker_tick,
	.stats = flow_tracker_stats,
	.take_state = flow_tracker_take_state,
	.destroy = flow_tracker_destroy,
};
