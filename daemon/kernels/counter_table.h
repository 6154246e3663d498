/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The per_src_counter's table: packet and byte counts keyed by a 16-byte
 * address or a 32-byte address pair, with a fixed capacity.
 *
 * Hand-written instead of rte_hash because rte_hash was measured slower on
 * the counter's hot path (see per_src_counter.c): its bulk lookup touches a
 * bucket, the key store and then the separate counts array (three cache
 * lines a packet) and hashes every key again through a function pointer,
 * although the parser already computed the source hash.
 *
 * Layout: open addressing with linear probing over 8-byte slots (the 32-bit
 * hash and the entry number), at most half full, plus a dense array of
 * 64-byte entries (key and counts together) in insertion order. A lookup
 * touches one slot line and one entry line; emitting and resetting walk the
 * entries in use only. Keys are never removed one by one, only all at once
 * (counter_table_reset), so probing needs no tombstones.
 *
 * One table belongs to one lcore: no locking, no atomics.
 */
#ifndef JETSTREAM_KERNELS_COUNTER_TABLE_H
#define JETSTREAM_KERNELS_COUNTER_TABLE_H

#include <stdbool.h>
#include <stdint.h>

/** Longest key: a source and a destination address. */
#define COUNTER_TABLE_KEY_MAX 32

/** Counts of one key; one cache line with its key. */
struct counter_entry {
	uint8_t key[COUNTER_TABLE_KEY_MAX]; /**< key_length bytes used, the rest zero */
	uint64_t packets;
	uint64_t bytes;
	uint64_t first_ns;                  /**< time of the first packet counted */
	uint64_t last_ns;                   /**< time of the last packet counted */
} __attribute__((aligned(64)));

struct counter_table {
	uint64_t *slots;               /**< hash << 32 | (entry number + 1); 0 = empty */
	uint32_t slot_mask;            /**< slot count - 1 (a power of two) */
	uint32_t key_length;           /**< 16 or 32 */
	uint32_t capacity;             /**< most keys held */
	uint32_t count;                /**< keys held: entries[0 .. count-1] */
	struct counter_entry *entries; /**< capacity entries, in insertion order */
	uint32_t *entry_slots;         /**< slot of each entry, so a reset clears only those */
};

/**
 * Allocate a table for up to @p capacity keys of @p key_length (16 or 32)
 * bytes. Every page is touched here, so the datapath takes no page fault.
 * @return 0 or -ENOMEM / -EINVAL.
 */
int counter_table_create(struct counter_table *table, uint32_t capacity, uint32_t key_length);

/** Free what counter_table_create() allocated (a zeroed table is fine). */
void counter_table_free(struct counter_table *table);

/**
 * The hash a table expects with a key: for 16-byte keys it equals
 * packet_address_hash(), so packet_meta.source_hash can be passed as is.
 */
uint32_t counter_table_hash(const uint8_t *key, uint32_t key_length);

/**
 * Find or add each of @p count keys, with their hashes from
 * counter_table_hash(). Lines are prefetched for the whole burst before any
 * is used. A new key gets an entry with zero counts. Keys may repeat within
 * the burst.
 * @param[out] entries  entry of each key, or NULL when it is new and the
 *                      table already holds capacity keys
 */
void counter_table_find_or_add_bulk(struct counter_table *table, const uint8_t *const keys[],
				    const uint32_t hashes[], unsigned count,
				    struct counter_entry *entries[]);

/** Forget every key (O(keys held), not O(capacity)). */
void counter_table_reset(struct counter_table *table);

#endif
