/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * per_src_counter: packets and bytes per outer source address, per tumbling
 * window or over the whole run.
 *
 * Each replica owns its tables (no sharing between lcores). Windowed mode
 * keeps two tables: when a window closes the full table becomes the
 * "flushing" table and is emitted a budget at a time, while counting goes on
 * in the other one. Only if a second window closes before the first is out
 * does the counter hold its input, which is backpressure, never loss.
 *
 * Tables are counter_table (kernels/counter_table.h), not rte_hash, because
 * rte_hash was measured slower on this hot path. On the stopddos capture
 * (60-byte frames, 37,623 sources, bursts of 32): counting into rte_hash
 * (bulk lookup, then add on a miss; extendable buckets) took 251
 * instructions a packet (callgrind; 185 in rte_hash_lookup_bulk, 46 of
 * them hashing again through rte_hash_crc) and 36 TSC cycles (median of 11);
 * the counter table 97 instructions and 14 cycles, and the whole pipeline
 * went from 25.0 to 28.8 Mpps (medians of 5). A table never refuses a key
 * before it holds max_sources keys.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>

#include "kernel.h"
#include "kernels/counter_table.h"
#include "kernels/per_src_counter.h"
#include "kernels/window.h"
#include "packet.h"
#include "publication.h"


struct per_src_counter_params {
	uint64_t window_ns;
	uint64_t max_sources;
	uint32_t key; /* enum count_key */
};

static const char *const key_names[] = {"src", "dst", "src_dst", NULL};

/*
 * packet_meta keeps the destination right after the source, so every key is
 * one contiguous run of bytes in the metadata: the same table code serves all.
 */
_Static_assert(offsetof(struct packet_meta, destination_address) ==
		       offsetof(struct packet_meta, source_address) + 16,
	       "a src_dst key is the two addresses back to back");

static const uint8_t *
key_of(const struct per_src_counter_params *params, const struct packet_meta *meta)
{
	return params->key == COUNT_KEY_DESTINATION ? meta->destination_address
						    : meta->source_address;
}

static uint32_t
key_length(const struct per_src_counter_params *params)
{
	return params->key == COUNT_KEY_SOURCE_DESTINATION ? 32 : 16;
}

/*
 * counter_table_hash() of the key. The source address is hashed once, by the
 * parser (packet_meta.source_hash is packet_address_hash() of it, which is
 * also what every replica is picked by), so only a destination costs a hash.
 */
static uint32_t
key_hash(const struct per_src_counter_params *params, const struct packet_meta *meta)
{
	switch (params->key) {
	case COUNT_KEY_DESTINATION:
		return packet_address_hash(meta->destination_address);
	case COUNT_KEY_SOURCE_DESTINATION:
		return meta->source_hash ^
		       packet_address_hash(meta->destination_address) * 0x9e3779b1u;
	default:
		return meta->source_hash;
	}
}

static const struct config_field per_src_counter_fields[] = {
	{.key = "window", .type = CONFIG_DURATION,
	 .offset = offsetof(struct per_src_counter_params, window_ns), .default_value = "total",
	 .special_word = "total", .special_value = WINDOW_TOTAL, .minimum = 1000,
	 .description = "tumbling window (e.g. `1s`, `100ms`), or `total` for one record per "
			"source at the end"},
	{.key = "max_sources", .type = CONFIG_UNSIGNED,
	 .offset = offsetof(struct per_src_counter_params, max_sources), .default_value = "256k",
	 .minimum = 16, .maximum = 1ull << 30,
	 .description = "keys each replica can hold per window; packets of further keys "
			"are counted under `overflow_packets`", .change = CONFIG_CHANGE_REPLACE},
	{.key = "key", .type = CONFIG_CHOICE, .offset = offsetof(struct per_src_counter_params, key),
	 .choices = key_names, .default_value = "src",
	 .description = "what is counted: `src` (outer source address), `dst` (outer destination) "
			"or `src_dst` (the pair); records carry `src`, `dst` or both", .change = CONFIG_CHANGE_REPLACE},
	{.key = NULL},
};

/* The counts of one window. */
struct window_table {
	struct counter_table table;   /* entries == NULL: not allocated */
	uint64_t start_ns, end_ns;    /* window bounds */
};

/*
 * dp only: the keys of the window being emitted that rank highest so far, a
 * heap whose root is the lowest-ranked of them, so a key that does not enter
 * costs one comparison with the root.
 */
struct top_ranking {
	unsigned count;
	struct per_src_counter_top_entry heap[PER_SRC_COUNTER_TOP_MAX];
};

/* The last closed window's top keys, for cp (access rule: publication.h). */
struct top_publication {
	struct per_src_counter_top buffers[2];
	struct publication publication;
};

struct per_src_counter_state {
	struct window_table tables[2];
	unsigned active;              /* table counting now */
	bool flushing;                /* tables[!active] is being emitted */
	uint32_t flush_position;      /* next entry to emit */
	bool window_open;             /* a packet has set tables[active] bounds */

	struct held_burst held; /* received, not yet counted (window wait) */

	uint64_t unkeyed_packets;     /* no IP header: counted by the source, not here */
	uint64_t overflow_packets;    /* table full */
	uint64_t overflow_bytes;
	uint64_t records;

	struct top_ranking ranking;
	struct top_publication top;
};

static int
per_src_counter_init(struct kernel_instance *instance)
{
	const struct per_src_counter_params *params = instance->params;
	struct per_src_counter_state *state = calloc(1, sizeof(*state));
	unsigned table_count = params->window_ns == WINDOW_TOTAL ? 1 : 2;

	if (state == NULL)
		return -ENOMEM;
	instance->state = state;
	for (unsigned i = 0; i < table_count; i++) {
		struct counter_table *table = &state->tables[i].table;
		int result = counter_table_create(table, (uint32_t)params->max_sources,
						  key_length(params));

		if (result != 0) {
			snprintf(instance->error, sizeof(instance->error),
				 "cannot allocate a table of %lu sources (%s); lower max_sources",
				 (unsigned long)params->max_sources, strerror(-result));
			return result;
		}
	}
	return 0;
}

static void
count_packet(struct per_src_counter_state *state, const struct packet_meta *meta,
	     struct counter_entry *counts)
{
	if (counts == NULL) {
		state->overflow_packets++;
		state->overflow_bytes += meta->wire_length;
		return;
	}
	if (counts->packets == 0)
		counts->first_ns = meta->timestamp_ns;
	counts->packets++;
	counts->bytes += meta->wire_length;
	counts->last_ns = meta->timestamp_ns;
}

/*
 * Count packets [first, end) of the held burst, all in the active window,
 * with one bulk find-or-add (which prefetches for the whole burst).
 */
static void
count_segment(const struct per_src_counter_params *params, struct per_src_counter_state *state,
	      unsigned first, unsigned end)
{
	struct counter_table *table = &state->tables[state->active].table;
	const uint8_t *keys[KERNEL_BURST];
	uint32_t hashes[KERNEL_BURST];
	const struct packet_meta *metas[KERNEL_BURST];
	struct counter_entry *entries[KERNEL_BURST];
	unsigned keyed = 0;

	for (unsigned i = first; i < end; i++) {
		const struct packet_meta *meta = packet_meta(state->held.packets[i]);

		if (meta->ip_version == 0) {
			state->unkeyed_packets++;
			continue;
		}
		metas[keyed] = meta;
		hashes[keyed] = key_hash(params, meta);
		keys[keyed++] = key_of(params, meta);
	}
	if (keyed == 0)
		return;
	counter_table_find_or_add_bulk(table, keys, hashes, keyed, entries);
	for (unsigned i = 0; i < keyed; i++)
		count_packet(state, metas[i], entries[i]);
}


/*
 * Turn the active table into the flushing one. Every window, the last one
 * included, goes out this way: the flush position belongs to the flushing
 * table alone, so nothing that closes a window can rewind an emission that
 * is under way.
 */
static void
begin_flush(struct per_src_counter_state *state)
{
	state->flushing = true;
	state->flush_position = 0;
	state->active ^= 1;
}

/* Send the active window out and open the window holding @p now_ns. */
static void
close_window(const struct per_src_counter_params *params, struct per_src_counter_state *state,
	     uint64_t now_ns)
{
	struct window_table *next;

	begin_flush(state);
	next = &state->tables[state->active];
	next->start_ns = window_start_of(params->window_ns, now_ns);
	next->end_ns = next->start_ns + params->window_ns;
}

static void
fill_record(const struct kernel_instance *instance, const struct window_table *table,
	    const struct counter_entry *counts, bool total, struct src_count_record *record)
{
	const struct per_src_counter_params *params = instance->params;
	const uint8_t *key = counts->key;

	memset(record, 0, sizeof(*record));
	record->header.type = STREAM_SRC_COUNT;
	/* the first address of the key: how a replicated consumer is fed, as packets are here */
	record->header.partition_hash = packet_address_hash(key);
	record->header.kernel = instance->name;
	record->key = params->key;
	if (params->key == COUNT_KEY_DESTINATION) {
		memcpy(record->destination_address, key, 16);
	} else {
		memcpy(record->source_address, key, 16);
		if (params->key == COUNT_KEY_SOURCE_DESTINATION)
			memcpy(record->destination_address, key + 16, 16);
	}
	record->packets = counts->packets;
	record->bytes = counts->bytes;
	record->start_ns = total ? counts->first_ns : table->start_ns;
	record->end_ns = total ? counts->last_ns : table->end_ns;
}

/* ---- the top keys of each window (per_src_counter.h) ---- */

bool
per_src_counter_top_before(const struct per_src_counter_top_entry *a,
			   const struct per_src_counter_top_entry *b)
{
	if (a->packets != b->packets)
		return a->packets > b->packets;
	if (a->bytes != b->bytes)
		return a->bytes > b->bytes;
	/*
	 * Bytewise key order, eight bytes at a time: windows of few packets per
	 * key tie on the counts often, and this took 6.3 ns a ranked key against
	 * memcmp()'s 9.1 (3,000 keys of 1 or 2 packets, -O2).
	 */
	for (unsigned word = 0; word < sizeof(a->key) / sizeof(uint64_t); word++) {
		uint64_t first, second;

		memcpy(&first, a->key + word * sizeof(uint64_t), sizeof(first));
		memcpy(&second, b->key + word * sizeof(uint64_t), sizeof(second));
		if (first != second)
			return rte_be_to_cpu_64(first) < rte_be_to_cpu_64(second);
	}
	return false;
}

static void
top_swap(struct per_src_counter_top_entry *a, struct per_src_counter_top_entry *b)
{
	struct per_src_counter_top_entry swapped = *a;

	*a = *b;
	*b = swapped;
}

/* Restore the heap below @p index: every parent ranks after its children. */
static void
top_sift_down(struct per_src_counter_top_entry *heap, unsigned count, unsigned index)
{
	for (;;) {
		unsigned child = 2 * index + 1, lowest = index;

		if (child < count && per_src_counter_top_before(&heap[lowest], &heap[child]))
			lowest = child;
		if (child + 1 < count && per_src_counter_top_before(&heap[lowest], &heap[child + 1]))
			lowest = child + 1;
		if (lowest == index)
			return;
		top_swap(&heap[index], &heap[lowest]);
		index = lowest;
	}
}

static void
top_sift_up(struct per_src_counter_top_entry *heap, unsigned index)
{
	while (index > 0) {
		unsigned parent = (index - 1) / 2;

		if (!per_src_counter_top_before(&heap[parent], &heap[index]))
			return;
		top_swap(&heap[parent], &heap[index]);
		index = parent;
	}
}

/* Rank one emitted key. */
static void
top_offer(struct top_ranking *ranking, const struct counter_entry *counts)
{
	struct per_src_counter_top_entry entry = {.packets = counts->packets, .bytes = counts->bytes};

	/* the usual case once the heap is full: fewer packets than the lowest kept */
	if (ranking->count == PER_SRC_COUNTER_TOP_MAX && counts->packets < ranking->heap[0].packets)
		return;
	memcpy(entry.key, counts->key, sizeof(entry.key));
	if (ranking->count < PER_SRC_COUNTER_TOP_MAX) {
		ranking->heap[ranking->count] = entry;
		top_sift_up(ranking->heap, ranking->count++);
	} else if (per_src_counter_top_before(&entry, &ranking->heap[0])) {
		ranking->heap[0] = entry;
		top_sift_down(ranking->heap, ranking->count, 0);
	}
}

/* A window is out: sort its ranking best first into the free buffer, then name that buffer. */
static void
top_publish(struct per_src_counter_state *state, const struct per_src_counter_params *params,
	    const struct window_table *table)
{
	struct per_src_counter_top *into = publication_buffer(&state->top.publication,
							     state->top.buffers,
							     sizeof(state->top.buffers[0]));

	into->start_ns = table->start_ns;
	into->end_ns = table->end_ns;
	into->key = params->key;
	into->count = state->ranking.count;
	memcpy(into->entries, state->ranking.heap, state->ranking.count * sizeof(into->entries[0]));
	/* heapsort: the lowest-ranked root goes to the end, so the best ends first */
	for (unsigned left = into->count; left > 1; left--) {
		top_swap(&into->entries[0], &into->entries[left - 1]);
		top_sift_down(into->entries, left - 1, 0);
	}
	state->ranking.count = 0;
	publication_publish(&state->top.publication);
}

int
per_src_counter_read_top(const struct kernel_instance *instance, struct per_src_counter_top *top)
{
	const struct per_src_counter_state *state = instance->state;

	return publication_read(&state->top.publication, state->top.buffers,
				sizeof(state->top.buffers[0]), top);
}

bool
per_src_counter_counts_total(const struct kernel_instance *instance)
{
	const struct per_src_counter_params *params = instance->params;

	return params->window_ns == WINDOW_TOTAL;
}

/*
 * Emit up to the output budget from @p table.
 * @return true when the table is completely out (and then reset).
 */
static bool
emit_table(struct kernel_instance *instance, struct window_table *table, bool total)
{
	struct per_src_counter_state *state = instance->state;
	struct src_count_record records[KERNEL_BURST];
	unsigned budget = kernel_burst_budget(instance);
	unsigned count = 0;

	if (budget == 0)
		return false;
	while (count < budget && state->flush_position < table->table.count) {
		const struct counter_entry *counts = &table->table.entries[state->flush_position++];

		top_offer(&state->ranking, counts);
		fill_record(instance, table, counts, total, &records[count++]);
	}
	kernel_emit_records(instance, records, count);
	state->records += count;
	if (count == budget)
		return false;
	top_publish(state, instance->params, table);
	counter_table_reset(&table->table);
	state->flush_position = 0;
	return true;
}

static void
continue_flush(struct kernel_instance *instance)
{
	struct per_src_counter_state *state = instance->state;

	if (state->flushing && emit_table(instance, &state->tables[state->active ^ 1], false))
		state->flushing = false;
}

/*
 * Count the held packets in windowed mode, closing windows as packet times
 * cross them. Stops early (keeping the rest held) when a window must close
 * while the previous one is still being emitted.
 */
static void
count_windowed(struct kernel_instance *instance)
{
	const struct per_src_counter_params *params = instance->params;
	struct per_src_counter_state *state = instance->state;

	while (state->held.next < state->held.count) {
		unsigned first = state->held.next, end = first;
		struct window_table *active = &state->tables[state->active];

		if (!state->window_open) {
			uint64_t now = packet_meta(state->held.packets[first])->timestamp_ns;

			active->start_ns = window_start_of(params->window_ns, now);
			active->end_ns = active->start_ns + params->window_ns;
			state->window_open = true;
		}
		/* Packets older than the window (reordering) count in the current one. */
		while (end < state->held.count &&
		       packet_meta(state->held.packets[end])->timestamp_ns < active->end_ns)
			end++;
		count_segment(params, state, first, end);
		state->held.next = end;
		if (end == state->held.count)
			break;
		if (state->flushing)
			continue_flush(instance);
		if (state->flushing)
			return; /* hold the rest: the previous window is not out yet */
		close_window(params, state, packet_meta(state->held.packets[end])->timestamp_ns);
		continue_flush(instance);
	}
}

static unsigned
per_src_counter_process(struct kernel_instance *instance)
{
	const struct per_src_counter_params *params = instance->params;
	struct per_src_counter_state *state = instance->state;
	unsigned received;

	continue_flush(instance);
	received = held_burst_refill(instance, &state->held);
	if (state->held.count == 0)
		return 0;
	if (params->window_ns == WINDOW_TOTAL) {
		count_segment(params, state, 0, state->held.count);
		state->held.next = state->held.count;
	} else {
		count_windowed(instance);
	}
	if (state->held.next == state->held.count)
		held_burst_release(&state->held);
	return received;
}

/* Live sources: close a window on wall-clock time even when no packet comes. */
static void
per_src_counter_tick(struct kernel_instance *instance, uint64_t now_ns)
{
	const struct per_src_counter_params *params = instance->params;
	struct per_src_counter_state *state = instance->state;

	if (!instance->live_clock || params->window_ns == WINDOW_TOTAL || !state->window_open)
		return;
	if (now_ns >= state->tables[state->active].end_ns && !state->flushing &&
	    state->held.count == 0)
		close_window(params, state, now_ns);
}

/*
 * End of input: emit the open window (or the totals), then finish. The last
 * window is flushed like any closed one and no window stays open, so a tick
 * between two polls of this flush finds nothing to close. (Emitting the
 * active table in place let a tick close it half-sent, and the flush then
 * began again from its first entry: records emitted twice.)
 */
static bool
per_src_counter_flush(struct kernel_instance *instance)
{
	const struct per_src_counter_params *params = instance->params;
	struct per_src_counter_state *state = instance->state;

	/* a window closed before a reload switched to `total` may still be going out */
	continue_flush(instance);
	if (state->flushing)
		return false;
	if (state->held.count > 0) {
		per_src_counter_process(instance);
		return false;
	}
	if (params->window_ns == WINDOW_TOTAL)
		return emit_table(instance, &state->tables[state->active], true);
	state->window_open = false;
	if (state->tables[state->active].table.count == 0)
		return true;
	begin_flush(state);
	continue_flush(instance);
	return !state->flushing;
}

/*
 * After a reload: the counts go on in the old tables. With a new window
 * length, the open window is re-aligned to it and keeps what it has counted;
 * from `total` to a window, the first packet opens the window and the counts
 * so far belong to it. A changed capacity or key would not fit the tables:
 * their rows say REPLACE.
 */
static void
per_src_counter_take_state(struct kernel_instance *instance, struct kernel_instance *old)
{
	const struct per_src_counter_params *params = instance->params, *old_params = old->params;
	struct per_src_counter_state *fresh = instance->state, *taken = old->state;
	struct window_table *active;

	kernel_swap_state(instance, old);
	if (params->window_ns != WINDOW_TOTAL && taken->tables[1].table.entries == NULL) {
		/* a windowed counter needs the second table this instance was built with */
		taken->tables[1] = fresh->tables[1];
		fresh->tables[1] = (struct window_table){0};
	}
	if (params->window_ns == old_params->window_ns || params->window_ns == WINDOW_TOTAL)
		return;
	active = &taken->tables[taken->active];
	if (old_params->window_ns == WINDOW_TOTAL) {
		taken->window_open = false;
	} else if (taken->window_open) {
		active->start_ns = window_start_of(params->window_ns, active->start_ns);
		active->end_ns = active->start_ns + params->window_ns;
	}
}

static unsigned
per_src_counter_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	const struct per_src_counter_state *state = instance->state;

	stats[0] = (struct kernel_stat){"records", state->records};
	stats[1] = (struct kernel_stat){"unkeyed_packets", state->unkeyed_packets};
	stats[2] = (struct kernel_stat){"overflow_packets", state->overflow_packets};
	stats[3] = (struct kernel_stat){"overflow_bytes", state->overflow_bytes};
	return 4;
}

static void
per_src_counter_destroy(struct kernel_instance *instance)
{
	struct per_src_counter_state *state = instance->state;

	if (state == NULL)
		return;
	held_burst_release(&state->held);
	for (unsigned i = 0; i < RTE_DIM(state->tables); i++)
		counter_table_free(&state->tables[i].table);
	free(state);
	instance->state = NULL;
}

static void
per_src_counter_properties(const void *params_pointer, struct kernel_properties *properties)
{
	const struct per_src_counter_params *params = params_pointer;

	if (params->key == COUNT_KEY_DESTINATION)
		properties->partition = PARTITION_DESTINATION;
}

const struct kernel_ops per_src_counter_kernel = {
	.name = "per_src_counter",
	.description = "Packets and bytes per outer source address (or destination, or pair: `key`), per window or in total",
	.input_type = STREAM_PACKET,
	.output_type = STREAM_SRC_COUNT,
	.replicable = true,
	.params_size = sizeof(struct per_src_counter_params),
	.config_map = per_src_counter_fields,
	.properties = per_src_counter_properties,
	.init = per_src_counter_init,
	.process = per_src_counter_process,
	.flush = per_src_counter_flush,
	.tick = per_src_counter_tick,
	.stats = per_src_counter_stats,
	.take_state = per_src_counter_take_state,
	.destroy = per_src_counter_destroy,
};
