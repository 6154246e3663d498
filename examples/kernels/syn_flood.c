/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * syn_flood: an example plugin kernel. Per destination address and per
 * tumbling window it counts TCP SYNs (SYN without ACK) against the answers
 * the destination's handshakes got; when a window ends, every destination
 * with at least `min_syns` SYNs and more than `ratio` SYNs per answer gets
 * an alert named "syn_flood":
 *
 *   value     the SYNs sent to the destination in the window
 *   previous  the answers: SYN+ACKs sent by the destination, plus packets
 *             with ACK and without SYN sent to it (the handshake's last step
 *             and all traffic after it), counted as at least 1 in the ratio
 *   start/end the window's bounds; proto is 6
 *
 * Only TCP packets whose header was captured count. A SYN+ACK is counted for
 * its source (the server that answers), everything else for its
 * destination, so one instance must see both directions: the kernel is not
 * replicable.
 *
 * Windows are aligned to multiples of their length since the epoch, like the
 * built-in counters', and a packet older than the open window counts in it.
 * A window closes when a packet of a later window arrives, when the clock
 * passes its end with a live source, and at the end of input; a window
 * without packets has no alerts. While a closing window's alerts wait for
 * room downstream, the kernel holds its input (backpressure).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include <jetstream/kernel.h>
#include <jetstream/packet.h>

#define SYN_FLOOD_ALERT_NAME "syn_flood"
#define SYN_FLOOD_STATE_VERSION 1
#define SYN_FLOOD_MAX_DESTINATIONS (1u << 26)

#define TCP_PROTOCOL 6
#define TCP_SYN 0x02
#define TCP_ACK 0x10

struct syn_flood_params {
	uint64_t window_ns;
	uint64_t min_syns;
	double ratio;
	uint64_t max_destinations;
};

static const struct config_field syn_flood_fields[] = {
	{.key = "window", .type = CONFIG_DURATION,
	 .offset = offsetof(struct syn_flood_params, window_ns), .default_value = "1s",
	 .minimum = 1000000,
	 .description = "tumbling window the SYNs and answers are counted over (e.g. `1s`)",
	 /* an open window's counts cannot be re-cut to another length */
	 .change = CONFIG_CHANGE_REPLACE},
	{.key = "min_syns", .type = CONFIG_UNSIGNED,
	 .offset = offsetof(struct syn_flood_params, min_syns), .default_value = "100",
	 .minimum = 1,
	 .description = "fewest SYNs to a destination in one window for an alert"},
	{.key = "ratio", .type = CONFIG_REAL, .offset = offsetof(struct syn_flood_params, ratio),
	 .default_value = "3",
	 .description = "alert when SYNs / answers (at least 1) is strictly above this"},
	{.key = "max_destinations", .type = CONFIG_UNSIGNED,
	 .offset = offsetof(struct syn_flood_params, max_destinations), .default_value = "64k",
	 .minimum = 1, .maximum = SYN_FLOOD_MAX_DESTINATIONS,
	 .description = "destinations counted per window; packets for further ones are counted "
			"under `overflow_packets`",
	 .change = CONFIG_CHANGE_REPLACE},
	{.key = NULL},
};

/* One destination's counts in the open window; in_use == 0 marks an empty slot. */
struct destination_entry {
	uint8_t address[16];
	uint64_t syns;
	uint64_t answers;
	uint32_t in_use;
	uint32_t padding;
};

struct syn_flood_state {
	struct destination_entry *slots; /* open addressing, linear probing */
	uint32_t *used;                  /* slot indexes in use, in the order they were taken */
	uint64_t slot_mask;
	uint64_t capacity;               /* max_destinations */
	uint64_t used_count;

	bool window_open;
	uint64_t window_start_ns, window_end_ns;
	bool closing;                    /* the open window's alerts are going out */
	uint64_t close_position;         /* next entry of used[] to look at */

	struct rte_mbuf *held[KERNEL_BURST]; /* received, not yet counted (a window closing) */
	unsigned held_count, held_next;

	/* dp: wo, cp: ro (stats) */
	uint64_t syn_packets;
	uint64_t answer_packets;
	uint64_t alerts;
	uint64_t windows;
	uint64_t overflow_packets;
};

static int
syn_flood_init(struct kernel_instance *instance)
{
	const struct syn_flood_params *params = instance->params;
	struct syn_flood_state *state = calloc(1, sizeof(*state));
	uint64_t slots = 2;

	if (state == NULL)
		return -ENOMEM;
	instance->state = state;
	while (slots < params->max_destinations * 2)
		slots <<= 1;
	state->slots = calloc(slots, sizeof(*state->slots));
	state->used = calloc(params->max_destinations, sizeof(*state->used));
	if (state->slots == NULL || state->used == NULL) {
		snprintf(instance->error, sizeof(instance->error),
			 "cannot allocate a table of %lu destinations; lower max_destinations",
			 (unsigned long)params->max_destinations);
		instance->error_key = "max_destinations";
		return -ENOMEM;
	}
	state->slot_mask = slots - 1;
	state->capacity = params->max_destinations;
	return 0;
}

static uint64_t
address_hash(const uint8_t address[16])
{
	uint64_t words[2];

	memcpy(words, address, sizeof(words));
	return (words[0] * 0x9e3779b97f4a7c15ull ^ words[1]) * 0xc2b2ae3d27d4eb4full;
}

/* The destination's counts, added when new and there is room; NULL when there is none. */
static struct destination_entry *
destination_find_or_add(struct syn_flood_state *state, const uint8_t address[16])
{
	uint64_t index = address_hash(address) & state->slot_mask;

	for (;;) {
		struct destination_entry *entry = &state->slots[index];

		if (!entry->in_use)
			break;
		if (memcmp(entry->address, address, 16) == 0)
			return entry;
		index = (index + 1) & state->slot_mask;
	}
	if (state->used_count == state->capacity)
		return NULL;
	state->used[state->used_count++] = (uint32_t)index;
	state->slots[index].in_use = 1;
	memcpy(state->slots[index].address, address, 16);
	return &state->slots[index];
}

/* Count one packet in the open window. */
static void
count_packet(struct syn_flood_state *state, const struct packet_meta *meta)
{
	bool syn = (meta->tcp_flags & TCP_SYN) != 0, ack = (meta->tcp_flags & TCP_ACK) != 0;
	const uint8_t *address = syn && ack ? meta->source_address : meta->destination_address;
	struct destination_entry *entry;

	/* HAS_PORTS: the TCP header was captured, so tcp_flags is the packet's */
	if (meta->protocol != TCP_PROTOCOL || (meta->flags & PACKET_FLAG_HAS_PORTS) == 0)
		return;
	if (!syn && !ack)
		return;
	entry = destination_find_or_add(state, address);
	if (entry == NULL) {
		state->overflow_packets++;
		return;
	}
	if (syn && !ack) {
		entry->syns++;
		state->syn_packets++;
	} else {
		entry->answers++;
		state->answer_packets++;
	}
}

static bool
is_flood(const struct syn_flood_params *params, const struct destination_entry *entry)
{
	uint64_t answers = entry->answers > 0 ? entry->answers : 1;

	return entry->syns >= params->min_syns &&
	       (double)entry->syns / (double)answers > params->ratio;
}

static void
fill_alert(const struct kernel_instance *instance, const struct syn_flood_state *state,
	   const struct destination_entry *entry, struct alert_record *alert)
{
	memset(alert, 0, sizeof(*alert));
	alert->header.type = STREAM_ALERT;
	alert->header.partition_hash = (uint32_t)address_hash(entry->address);
	alert->header.kernel = instance->name;
	memcpy(alert->name, SYN_FLOOD_ALERT_NAME, sizeof(SYN_FLOOD_ALERT_NAME));
	memcpy(alert->destination_address, entry->address, 16);
	alert->key = COUNT_KEY_DESTINATION;
	alert->metric = THRESHOLD_METRIC_NONE;
	alert->value = entry->syns;
	alert->previous = entry->answers;
	alert->start_ns = state->window_start_ns;
	alert->end_ns = state->window_end_ns;
	alert->protocol = TCP_PROTOCOL;
	alert->fields = ALERT_FIELD_PREVIOUS | ALERT_FIELD_PROTOCOL;
}

/* Empty the table for the next window (only the slots in use are touched). */
static void
reset_table(struct syn_flood_state *state)
{
	for (uint64_t i = 0; i < state->used_count; i++)
		memset(&state->slots[state->used[i]], 0, sizeof(state->slots[0]));
	state->used_count = 0;
}

/*
 * Emit the closing window's alerts, as many as the budget allows.
 * @return true when the window is completely out (the table is then empty
 *         and no window is open).
 */
static bool
continue_close(struct kernel_instance *instance)
{
	const struct syn_flood_params *params = instance->params;
	struct syn_flood_state *state = instance->state;
	struct alert_record alerts[KERNEL_BURST];
	unsigned budget = kernel_burst_budget(instance), count = 0;

	if (budget == 0)
		return false;
	while (count < budget && state->close_position < state->used_count) {
		const struct destination_entry *entry =
			&state->slots[state->used[state->close_position++]];

		if (is_flood(params, entry))
			fill_alert(instance, state, entry, &alerts[count++]);
	}
	kernel_emit_records(instance, alerts, count);
	state->alerts += count;
	if (state->close_position < state->used_count)
		return false;
	reset_table(state);
	state->closing = false;
	state->window_open = false;
	state->windows++;
	return true;
}

static void
begin_close(struct syn_flood_state *state)
{
	state->closing = true;
	state->close_position = 0;
}

/*
 * Count the held packets, closing the window when one of a later window
 * comes. @return false when it stopped because the closing window could not
 * go out yet (the rest stays held).
 */
static bool
count_held(struct kernel_instance *instance)
{
	const struct syn_flood_params *params = instance->params;
	struct syn_flood_state *state = instance->state;

	while (state->held_next < state->held_count) {
		const struct packet_meta *meta = packet_meta(state->held[state->held_next]);

		if (!state->window_open) {
			state->window_start_ns = meta->timestamp_ns - meta->timestamp_ns %
									  params->window_ns;
			state->window_end_ns = state->window_start_ns + params->window_ns;
			state->window_open = true;
		}
		if (meta->timestamp_ns >= state->window_end_ns) {
			begin_close(state);
			if (!continue_close(instance))
				return false;
			continue; /* this packet opens the next window */
		}
		count_packet(state, meta);
		state->held_next++;
	}
	return true;
}

static void
release_held(struct syn_flood_state *state)
{
	rte_pktmbuf_free_bulk(state->held, state->held_count);
	state->held_count = 0;
	state->held_next = 0;
}

/* @return packets received or counted: 0 when the call could do nothing (idle or held up). */
static unsigned
syn_flood_process(struct kernel_instance *instance)
{
	struct syn_flood_state *state = instance->state;
	unsigned received = 0, first, counted;
	bool finished;

	if (state->closing && !continue_close(instance))
		return 0;
	if (state->held_count == 0) {
		received = kernel_receive(instance, state->held, KERNEL_BURST, NULL);
		state->held_count = received;
		state->held_next = 0;
	}
	if (state->held_count == 0)
		return 0;
	first = state->held_next;
	finished = count_held(instance);
	counted = state->held_next - first;
	if (finished)
		release_held(state);
	return received > 0 ? received : counted;
}

/* Live sources: a window ends on the wall clock even when no packet comes. */
static void
syn_flood_tick(struct kernel_instance *instance, uint64_t now_ns)
{
	struct syn_flood_state *state = instance->state;

	if (!instance->live_clock || !state->window_open || state->closing ||
	    state->held_count > 0)
		return;
	if (now_ns >= state->window_end_ns)
		begin_close(state); /* process() sends the alerts out */
}

/* End of input: count what is held, then close the last window. */
static bool
syn_flood_flush(struct kernel_instance *instance)
{
	struct syn_flood_state *state = instance->state;

	if (state->held_count > 0 || state->closing) {
		syn_flood_process(instance);
		return false;
	}
	if (!state->window_open)
		return true;
	begin_close(state);
	return continue_close(instance);
}

static unsigned
syn_flood_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	const struct syn_flood_state *state = instance->state;

	stats[0] = (struct kernel_stat){"syn_packets", state->syn_packets};
	stats[1] = (struct kernel_stat){"answer_packets", state->answer_packets};
	stats[2] = (struct kernel_stat){"alerts", state->alerts};
	stats[3] = (struct kernel_stat){"windows", state->windows};
	stats[4] = (struct kernel_stat){"overflow_packets", state->overflow_packets};
	return 5;
}

/*
 * A new min_syns or ratio applies from the next window that closes, to the
 * counts so far: the window and the table size say REPLACE, so the taken
 * state always fits this instance's parameters.
 */
static void
syn_flood_take_state(struct kernel_instance *instance, struct kernel_instance *old)
{
	kernel_swap_state(instance, old);
}

static void
syn_flood_destroy(struct kernel_instance *instance)
{
	struct syn_flood_state *state = instance->state;

	if (state == NULL)
		return;
	release_held(state);
	free(state->used);
	free(state->slots);
	free(state);
	instance->state = NULL;
}

static const struct kernel_ops syn_flood_kernel = {
	.name = "syn_flood",
	.description = "Alerts per destination and window with many SYNs and few answers",
	.input_type = STREAM_PACKET,
	.output_type = STREAM_ALERT,
	.params_size = sizeof(struct syn_flood_params),
	.config_map = syn_flood_fields,
	.init = syn_flood_init,
	.process = syn_flood_process,
	.flush = syn_flood_flush,
	.tick = syn_flood_tick,
	.stats = syn_flood_stats,
	.take_state = syn_flood_take_state,
	.state_version = SYN_FLOOD_STATE_VERSION,
	.destroy = syn_flood_destroy,
};

JETSTREAM_PLUGIN("syn_flood", &syn_flood_kernel);
