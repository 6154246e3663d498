/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The flow_tracker's table (see flow_table.h for its layout and why it is
 * not rte_hash): what is not on the per-packet path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/flow_table.h"

int
flow_table_create(struct flow_table *table, uint32_t capacity)
{
	uint64_t slots = 16;

	memset(table, 0, sizeof(*table));
	if (capacity == 0 || capacity > FLOW_TABLE_MAX_FLOWS)
		return -EINVAL;
	table->slot_bits = 4;
	while (slots * 3 < (uint64_t)capacity * 4) { /* load factor <= 0.75 */
		slots *= 2;
		table->slot_bits++;
	}
	table->slot_mask = (uint32_t)(slots - 1);
	table->capacity = capacity;
	table->slots = calloc(slots, sizeof(*table->slots));
	table->pools[0].entry_size = sizeof(struct flow_entry4);
	table->pools[1].entry_size = sizeof(struct flow_entry6);
	/* calloc of this size maps fresh zero pages: only entries in use become resident */
	for (unsigned family = 0; family < 2; family++) {
		table->pools[family].free_head = FLOW_NONE;
		table->pools[family].entries = calloc(capacity, table->pools[family].entry_size);
	}
	table->lru_head = table->lru_tail = FLOW_NONE;
	table->closing_head = table->closing_tail = FLOW_NONE;
	if (table->slots == NULL || table->pools[0].entries == NULL ||
	    table->pools[1].entries == NULL) {
		flow_table_free(table);
		return -ENOMEM;
	}
	return 0;
}

void
flow_table_free(struct flow_table *table)
{
	free(table->slots);
	free(table->pools[0].entries);
	free(table->pools[1].entries);
	memset(table, 0, sizeof(*table));
}

/* The stored key of @p handle as a lookup (to find its home slot when shifting). */
static void
lookup_of_entry(const struct flow_table *table, uint32_t handle, struct flow_lookup *lookup)
{
	memset(lookup, 0, sizeof(*lookup));
	lookup->ipv6 = (handle & FLOW_TABLE_FAMILY_IPV6) != 0;
	if (lookup->ipv6) {
		const struct flow_entry6 *entry = (const void *)flow_table_entry(table, handle);

		memcpy(lookup->addresses, entry->addresses, sizeof(entry->addresses));
	} else {
		lookup->addresses[0] =
			((const struct flow_entry4 *)flow_table_entry(table, handle))->addresses;
	}
	lookup->tail.word = flow_table_tail(table, handle)->word & FLOW_TABLE_TAIL_KEY_MASK;
	flow_table_place(table, flow_table_hash(lookup), lookup);
}

static uint32_t
home_slot(const struct flow_table *table, uint32_t handle)
{
	struct flow_lookup lookup;

	lookup_of_entry(table, handle, &lookup);
	return lookup.slot;
}

/* Remove @p handle's slot, shifting later probes back (no tombstones). */
static void
remove_slot(struct flow_table *table, uint32_t handle)
{
	uint32_t mask = table->slot_mask;
	uint32_t hole = home_slot(table, handle);

	while ((table->slots[hole] & FLOW_TABLE_HANDLE_MASK) != handle || table->slots[hole] == 0)
		hole = (hole + 1) & mask;
	for (uint32_t next = (hole + 1) & mask; table->slots[next] != 0; next = (next + 1) & mask) {
		uint32_t home = home_slot(table, table->slots[next] & FLOW_TABLE_HANDLE_MASK);

		/* move it back unless its home lies cyclically in (hole, next] */
		if (((next - home) & mask) >= ((next - hole) & mask)) {
			table->slots[hole] = table->slots[next];
			hole = next;
		}
	}
	table->slots[hole] = 0;
}

static uint32_t
entry_allocate(struct flow_table *table, bool ipv6)
{
	struct flow_entry_pool *pool = &table->pools[ipv6];
	uint32_t family = ipv6 ? FLOW_TABLE_FAMILY_IPV6 : 0;
	uint32_t index = pool->free_head;

	if (index != FLOW_NONE)
		pool->free_head = flow_table_entry(table, index | family)->lru_next;
	else
		index = pool->used++;
	return index | family;
}

static void
entry_release(struct flow_table *table, uint32_t handle)
{
	struct flow_entry_pool *pool = &table->pools[handle >> 24];

	flow_table_entry(table, handle)->lru_next = pool->free_head;
	pool->free_head = handle & FLOW_TABLE_INDEX_MASK;
}

uint32_t
flow_table_insert(struct flow_table *table, const struct flow_lookup *lookup, uint32_t empty_slot)
{
	uint32_t handle;
	struct flow_common *flow;

	if (flow_table_full(table))
		return FLOW_NONE;
	handle = entry_allocate(table, lookup->ipv6);
	flow = flow_table_entry(table, handle);
	memset(flow, 0, sizeof(*flow));
	if (lookup->ipv6)
		memcpy(((struct flow_entry6 *)flow)->addresses, lookup->addresses, 32);
	else
		((struct flow_entry4 *)flow)->addresses = lookup->addresses[0];
	flow_table_tail(table, handle)->word = lookup->tail.word & FLOW_TABLE_TAIL_KEY_MASK;
	table->slots[empty_slot] = lookup->tag << FLOW_TABLE_TAG_SHIFT | handle;
	flow_table_list_append(table, &table->lru_head, &table->lru_tail, handle);
	table->count++;
	return handle;
}

void
flow_table_remove(struct flow_table *table, uint32_t handle)
{
	remove_slot(table, handle);
	if (flow_table_is_closing(table, handle))
		flow_table_list_unlink(table, &table->closing_head, &table->closing_tail, handle);
	else
		flow_table_list_unlink(table, &table->lru_head, &table->lru_tail, handle);
	entry_release(table, handle);
	table->count--;
}

void
flow_table_start_closing(struct flow_table *table, uint32_t handle)
{
	flow_table_tail(table, handle)->fields.state |= FLOW_TABLE_STATE_CLOSING;
	flow_table_list_unlink(table, &table->lru_head, &table->lru_tail, handle);
	flow_table_list_append(table, &table->closing_head, &table->closing_tail, handle);
}

void
flow_table_touch_closing(struct flow_table *table, uint32_t handle)
{
	flow_table_list_unlink(table, &table->closing_head, &table->closing_tail, handle);
	flow_table_list_append(table, &table->closing_head, &table->closing_tail, handle);
}

void
flow_table_addresses(const struct flow_table *table, uint32_t handle, uint8_t low[16],
		     uint8_t high[16])
{
	if (handle & FLOW_TABLE_FAMILY_IPV6) {
		const struct flow_entry6 *entry = (const void *)flow_table_entry(table, handle);

		memcpy(low, entry->addresses, 16);
		memcpy(high, (const uint8_t *)entry->addresses + 16, 16);
		return;
	}
	const struct flow_entry4 *entry = (const void *)flow_table_entry(table, handle);

	memset(low, 0, 16);
	memset(high, 0, 16);
	low[10] = low[11] = high[10] = high[11] = 0xff;
	memcpy(low + 12, &entry->addresses, 4);
	memcpy(high + 12, (const uint8_t *)&entry->addresses + 4, 4);
}

uint64_t
flow_table_bytes(const struct flow_table *table)
{
	return (uint64_t)(table->slot_mask + 1) * sizeof(*table->slots) +
	       (uint64_t)table->pools[0].used * table->pools[0].entry_size +
	       (uint64_t)table->pools[1].used * table->pools[1].entry_size;
}
