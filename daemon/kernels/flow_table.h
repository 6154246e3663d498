/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The flow_tracker's table: bidirectional 5-tuple flows (IPv4 and IPv6) by
 * canonical key, a fixed capacity, and two lists through the flows, each
 * in order of last use: the open flows (LRU) and the closing ones.
 *
 * Why not rte_hash: with the 37-byte key and extendable buckets, rte_hash
 * alone allocated 83.2 B per flow at 10 M entries (measured with
 * rte_malloc_get_socket_stats, DPDK 22.11), before any counter, timestamp
 * or expiry link (another 40 B at least): about twice the 64 B/flow target.
 * This table is instead:
 *   - an open-addressing slot array of uint32_t (load <= 0.75): 7-bit tag,
 *     1 family bit, 24-bit entry index; linear probing, backward-shift delete;
 *   - IPv4 entries of 64 B (8 B addresses + 8 B ports/protocol/flags word,
 *     compared as two 64-bit words) and IPv6 entries of 88 B (32 B addresses
 *     + the same tail word), each pool handing out entries from a bump
 *     pointer so untouched entries cost no resident memory;
 *   - an index-linked LRU list (by last use) threaded through the entries,
 *     and a FIFO list of closing flows on the same links: a flow is on
 *     exactly one of the two.
 * At 10 M IPv4 flows: 64 B + 2^24 slots * 4 B / 10 M = 70.7 B per flow
 * (IPv6: 94.7 B). The IP-level byte counts (RFC 7012 octetDeltaCount) cost
 * the last 8 B of an entry: 56 B and 80 B before.
 *
 * Keys are canonical: the smaller endpoint (address, then port) is "low",
 * so both directions of a flow hash and compare equal.
 *
 * A flow is named by a handle (family bit and entry index), valid from
 * flow_table_insert() until flow_table_remove(). What the hot loop calls
 * per packet is inline here; the rest is in flow_table.c.
 *
 * One table belongs to one lcore: no locking, no atomics.
 */
#ifndef JETSTREAM_KERNELS_FLOW_TABLE_H
#define JETSTREAM_KERNELS_FLOW_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_prefetch.h>

#include "packet.h"

/** No flow: what a lookup that finds nothing returns, and the end of a list. */
#define FLOW_NONE UINT32_MAX
/** Handle bit of IPv6 flows; below it, the entry index. */
#define FLOW_TABLE_FAMILY_IPV6 (1u << 24)
#define FLOW_TABLE_INDEX_MASK 0xffffffu
#define FLOW_TABLE_HANDLE_MASK 0x1ffffffu
#define FLOW_TABLE_TAG_SHIFT 25
/** Most flows a table holds: index 0xffffff is never handed out, so FLOW_NONE is never a handle. */
#define FLOW_TABLE_MAX_FLOWS FLOW_TABLE_INDEX_MASK

/**
 * The bit of flow_tail.fields.state the table owns: set while the flow is
 * on the closing list. The other bits are the table user's.
 */
#define FLOW_TABLE_STATE_CLOSING 0x08

/** Bytes of flow_tail that are key (ports, protocol); the rest is flow state. */
#define FLOW_TABLE_TAIL_KEY_MASK 0x000000ffffffffffull
/* FLOW_TABLE_TAIL_KEY_MASK and the key words of a lookup are little-endian. */
_Static_assert(RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN, "flow keys assume a little-endian CPU");

/** Ports, protocol (key) and the flow's TCP state, in one 64-bit word. */
union flow_tail {
	struct {
		uint16_t low_port, high_port;
		uint8_t protocol;
		uint8_t low_tcp_flags, high_tcp_flags; /**< OR of flags each endpoint sent */
		uint8_t state;                         /**< FLOW_TABLE_STATE_CLOSING, and the user's bits */
	} fields;
	uint64_t word;
};

/** Per flow, both families: what the table user counts, and the list links. */
struct flow_common {
	uint64_t first_ns, last_ns;
	uint32_t low_packets, high_packets;
	uint32_t low_bytes, high_bytes;       /**< wire bytes (frame.len) */
	uint32_t low_ip_bytes, high_ip_bytes; /**< IP-level bytes (packet_ip_bytes()) */
	/** handles: the LRU list, or the closing list; lru_next links the free list too (table only) */
	uint32_t lru_previous, lru_next;
};

struct flow_entry4 {
	struct flow_common common;
	uint64_t addresses; /**< low, high: network order, as in the packet */
	union flow_tail tail;
};

struct flow_entry6 {
	struct flow_common common;
	uint64_t addresses[4]; /**< low[16], high[16] */
	union flow_tail tail;
};

_Static_assert(sizeof(struct flow_entry4) == 64, "IPv4 flow entry size");
_Static_assert(sizeof(struct flow_entry6) == 88, "IPv6 flow entry size");

/** A packet's canonical key, ready to hash and compare (flow_table_lookup_of_packet()). */
struct flow_lookup {
	uint64_t addresses[4]; /**< IPv4: addresses[0] only */
	union flow_tail tail;  /**< key bytes only */
	bool ipv6;
	bool sender_is_low;    /**< the packet came from the low endpoint */
	uint32_t slot;         /**< home slot */
	uint32_t tag;
};

/** The entries of one family. */
struct flow_entry_pool {
	void *entries;
	size_t entry_size;
	uint32_t used;      /**< high-water mark of the bump allocator */
	uint32_t free_head; /**< index of a freed entry, or FLOW_NONE */
};

/** One table (flow_table_create()); one lcore reads and writes it. */
struct flow_table {
	uint32_t *slots;                  /**< 0 = empty, else tag << 25 | handle */
	uint32_t slot_mask;               /**< slot count - 1 (a power of two) */
	unsigned slot_bits;               /**< log2 of the slot count */
	uint32_t capacity;                /**< most flows held */
	uint32_t count;                   /**< flows held */
	struct flow_entry_pool pools[2];  /**< IPv4, IPv6 */
	uint32_t lru_head, lru_tail;      /**< least and most recently used open flows */
	uint32_t closing_head, closing_tail; /**< least and most recently used closing flows */
};

/**
 * Allocate a table for up to @p capacity flows: at least 16 slots, and a
 * power of two with the load at most 0.75. The entries are not touched
 * here: only those handed out become resident.
 * @return 0, or -EINVAL when @p capacity is 0 or above FLOW_TABLE_MAX_FLOWS,
 *         or -ENOMEM (the table is then empty and may be freed).
 */
int flow_table_create(struct flow_table *table, uint32_t capacity);

/** Free what flow_table_create() allocated (a zeroed table is fine). */
void flow_table_free(struct flow_table *table);

/**
 * Add the flow of @p lookup, which flow_table_find() did not find: its key,
 * zero counts and state, at the tail of the LRU list.
 * @param empty_slot  what that flow_table_find() returned in *empty_slot;
 *                    a removal since moves slots, so find again after one
 * @return the new flow's handle, or FLOW_NONE when the table is full.
 */
uint32_t flow_table_insert(struct flow_table *table, const struct flow_lookup *lookup,
			   uint32_t empty_slot);

/** Forget @p handle: its slot (later probes shift back), its list, its entry. */
void flow_table_remove(struct flow_table *table, uint32_t handle);

/**
 * Move the open flow @p handle from the LRU list to the tail of the closing
 * list, and set FLOW_TABLE_STATE_CLOSING.
 */
void flow_table_start_closing(struct flow_table *table, uint32_t handle);

/**
 * The closing flow @p handle was just used: to the tail of the closing
 * list, so the list stays in order of last use.
 */
void flow_table_touch_closing(struct flow_table *table, uint32_t handle);

/**
 * The low and high addresses of @p handle as 16 bytes each (IPv4 as
 * IPv4-mapped IPv6, as in packet_meta).
 */
void flow_table_addresses(const struct flow_table *table, uint32_t handle, uint8_t low[16],
			  uint8_t high[16]);

/** Bytes the table uses: its slots and the entries handed out so far. */
uint64_t flow_table_bytes(const struct flow_table *table);

/** The counters and links of @p handle. */
static inline struct flow_common *
flow_table_entry(const struct flow_table *table, uint32_t handle)
{
	const struct flow_entry_pool *pool = &table->pools[handle >> 24];

	return (struct flow_common *)((char *)pool->entries +
				      (size_t)(handle & FLOW_TABLE_INDEX_MASK) * pool->entry_size);
}

/** The ports, protocol and state word of @p handle. */
static inline union flow_tail *
flow_table_tail(const struct flow_table *table, uint32_t handle)
{
	if (handle & FLOW_TABLE_FAMILY_IPV6)
		return &((struct flow_entry6 *)flow_table_entry(table, handle))->tail;
	return &((struct flow_entry4 *)flow_table_entry(table, handle))->tail;
}

/** Whether @p handle is on the closing list. */
static inline bool
flow_table_is_closing(const struct flow_table *table, uint32_t handle)
{
	return (flow_table_tail(table, handle)->fields.state & FLOW_TABLE_STATE_CLOSING) != 0;
}

/** Whether the table holds capacity flows: flow_table_insert() would fail. */
static inline bool
flow_table_full(const struct flow_table *table)
{
	return table->count >= table->capacity;
}

/** The least recently used open flow, or FLOW_NONE. */
static inline uint32_t
flow_table_oldest(const struct flow_table *table)
{
	return table->lru_head;
}

/** The least recently used closing flow, or FLOW_NONE. */
static inline uint32_t
flow_table_oldest_closing(const struct flow_table *table)
{
	return table->closing_head;
}

/**
 * The flow a full table gives up first: the oldest closing flow (it is
 * done), else the least recently used open one; FLOW_NONE when empty.
 */
static inline uint32_t
flow_table_victim(const struct flow_table *table)
{
	return table->closing_head != FLOW_NONE ? table->closing_head : table->lru_head;
}

/* Internal to the inline functions below: home slot and tag from a key hash. */
static inline void
flow_table_place(const struct flow_table *table, uint32_t hash, struct flow_lookup *lookup)
{
	uint64_t mixed = (uint64_t)hash * 0x9e3779b97f4a7c15ull;

	lookup->slot = (uint32_t)(mixed >> (64 - table->slot_bits));
	lookup->tag = (uint32_t)(mixed >> 8) & 0x7f;
	if (lookup->tag == 0)
		lookup->tag = 1; /* slot value 0 means empty */
}

/* Internal: the hash of a canonical key (the same for both directions). */
static inline uint32_t
flow_table_hash(const struct flow_lookup *lookup)
{
	uint32_t hash = rte_hash_crc_8byte(lookup->addresses[0], 0x5ca1ab1e);

	if (lookup->ipv6) {
		hash = rte_hash_crc_8byte(lookup->addresses[1], hash);
		hash = rte_hash_crc_8byte(lookup->addresses[2], hash);
		hash = rte_hash_crc_8byte(lookup->addresses[3], hash);
	}
	return rte_hash_crc_8byte(lookup->tail.word & FLOW_TABLE_TAIL_KEY_MASK, hash);
}

static inline uint64_t
flow_table_load_big_endian_64(const uint8_t *bytes)
{
	uint64_t word;

	memcpy(&word, bytes, sizeof(word));
	return rte_be_to_cpu_64(word);
}

/*
 * Internal: whether the sender is the low endpoint (address, then port).
 * Branch-free: which side sends is a coin toss per packet, so a branch on
 * it mispredicts half the time.
 */
static inline bool
flow_table_sender_is_low(const struct packet_meta *meta, uint16_t source_port,
			 uint16_t destination_port)
{
	unsigned __int128 source =
		(unsigned __int128)flow_table_load_big_endian_64(meta->source_address) << 64 |
		flow_table_load_big_endian_64(meta->source_address + 8);
	unsigned __int128 destination =
		(unsigned __int128)flow_table_load_big_endian_64(meta->destination_address) << 64 |
		flow_table_load_big_endian_64(meta->destination_address + 8);

	return (source < destination) | ((source == destination) & (source_port <= destination_port));
}

/**
 * The canonical key of an IP packet (ip_version 4 or 6), and where it lives
 * in @p table. Ports count only with PACKET_FLAG_HAS_PORTS (else 0). Each
 * key word is written with one store: the hash reads them right back, and
 * a word written as its fields (ports, protocol) could not be forwarded
 * from the store buffer.
 */
static inline void
flow_table_lookup_of_packet(const struct flow_table *table, const struct packet_meta *meta,
			    struct flow_lookup *lookup)
{
	bool has_ports = (meta->flags & PACKET_FLAG_HAS_PORTS) != 0;
	uint16_t source_port = has_ports ? meta->source_port : 0;
	uint16_t destination_port = has_ports ? meta->destination_port : 0;
	bool low = flow_table_sender_is_low(meta, source_port, destination_port);
	const uint8_t *low_address = low ? meta->source_address : meta->destination_address;
	const uint8_t *high_address = low ? meta->destination_address : meta->source_address;
	/* union flow_tail's key fields as a word (little-endian, as the key mask is) */
	uint64_t tail = (uint64_t)(low ? source_port : destination_port) |
			(uint64_t)(low ? destination_port : source_port) << 16 |
			(uint64_t)meta->protocol << 32;

	lookup->ipv6 = meta->ip_version == 6;
	lookup->sender_is_low = low;
	lookup->tail.word = tail;
	if (lookup->ipv6) {
		memcpy(lookup->addresses, low_address, 16);
		memcpy(&lookup->addresses[2], high_address, 16);
	} else {
		uint32_t low4, high4;

		memcpy(&low4, low_address + 12, 4);
		memcpy(&high4, high_address + 12, 4);
		/* the 4 bytes of low, then of high (little-endian) */
		lookup->addresses[0] = (uint64_t)low4 | (uint64_t)high4 << 32;
	}
	flow_table_place(table, flow_table_hash(lookup), lookup);
}

/* Internal: fixed-width compare, two 64-bit words (IPv4) or five (IPv6, vectorised). */
static inline bool
flow_table_key_equal(const struct flow_table *table, uint32_t handle,
		     const struct flow_lookup *lookup)
{
	if (handle & FLOW_TABLE_FAMILY_IPV6) {
		const struct flow_entry6 *entry = (const void *)flow_table_entry(table, handle);
		uint64_t difference = (entry->addresses[0] ^ lookup->addresses[0]) |
				      (entry->addresses[1] ^ lookup->addresses[1]) |
				      (entry->addresses[2] ^ lookup->addresses[2]) |
				      (entry->addresses[3] ^ lookup->addresses[3]);

		return (difference |
			((entry->tail.word ^ lookup->tail.word) & FLOW_TABLE_TAIL_KEY_MASK)) == 0;
	}
	const struct flow_entry4 *entry = (const void *)flow_table_entry(table, handle);

	return ((entry->addresses ^ lookup->addresses[0]) |
		((entry->tail.word ^ lookup->tail.word) & FLOW_TABLE_TAIL_KEY_MASK)) == 0;
}

/**
 * The flow of @p lookup.
 * @param[out] empty_slot  when not found: where flow_table_insert() puts it
 * @return its handle, or FLOW_NONE.
 */
static inline uint32_t
flow_table_find(const struct flow_table *table, const struct flow_lookup *lookup,
		uint32_t *empty_slot)
{
	uint32_t family = lookup->ipv6 ? FLOW_TABLE_FAMILY_IPV6 : 0;

	for (uint32_t position = lookup->slot;; position = (position + 1) & table->slot_mask) {
		uint32_t slot = table->slots[position];

		if (slot == 0) {
			*empty_slot = position;
			return FLOW_NONE;
		}
		if ((slot >> FLOW_TABLE_TAG_SHIFT) == lookup->tag &&
		    (slot & FLOW_TABLE_FAMILY_IPV6) == family &&
		    flow_table_key_equal(table, slot & FLOW_TABLE_HANDLE_MASK, lookup))
			return slot & FLOW_TABLE_HANDLE_MASK;
	}
}

/** Start loading the home slot of @p lookup (first pass over a burst). */
static inline void
flow_table_prefetch_slot(const struct flow_table *table, const struct flow_lookup *lookup)
{
	rte_prefetch0(&table->slots[lookup->slot]);
}

/*
 * Internal: the first slot from @p lookup's home slot that carries the
 * key's tag and family, looking no further than the cache line already
 * prefetched (nor past an empty slot): most likely the key's entry, or
 * FLOW_NONE.
 */
static inline uint32_t
flow_table_candidate(const struct flow_table *table, const struct flow_lookup *lookup)
{
	uint32_t family = lookup->ipv6 ? FLOW_TABLE_FAMILY_IPV6 : 0;
	uint32_t position = lookup->slot;

	do {
		uint32_t slot = table->slots[position];

		if (slot == 0)
			return FLOW_NONE;
		if ((slot >> FLOW_TABLE_TAG_SHIFT) == lookup->tag &&
		    (slot & FLOW_TABLE_FAMILY_IPV6) == family)
			return slot & FLOW_TABLE_HANDLE_MASK;
		position = (position + 1) & table->slot_mask;
	} while (((uintptr_t)&table->slots[position] & (RTE_CACHE_LINE_SIZE - 1)) != 0);
	return FLOW_NONE;
}

/**
 * Start loading the entry @p lookup most likely finds (second pass over a
 * burst, once its slot line is in): the first one with the key's tag, not
 * merely the first in the probe, since with linear probing at load 0.48 the
 * home slot holds another flow for a quarter of the flows (prefetching the
 * home slot's entry measured 83 ns/packet at 1 M uniform flows, the tag
 * match 63 ns). Both cache lines an entry may straddle: 88 B (IPv6)
 * entries are not line-aligned (64 B IPv4 ones are, in a pool calloc maps
 * page-aligned, and then both prefetches hit one line), and the key sits at
 * their end, so with the first line alone the key compare still missed for most entries (139 ->
 * 110 ns/packet).
 */
static inline void
flow_table_prefetch_entry(const struct flow_table *table, const struct flow_lookup *lookup)
{
	uint32_t candidate = flow_table_candidate(table, lookup);
	const char *entry;

	if (candidate == FLOW_NONE)
		return;
	entry = (const char *)flow_table_entry(table, candidate);
	rte_prefetch0(entry);
	rte_prefetch0(entry + table->pools[candidate >> 24].entry_size - 1);
}

/* Internal: take @p handle off the list from *head to *tail. */
static inline void
flow_table_list_unlink(struct flow_table *table, uint32_t *head, uint32_t *tail, uint32_t handle)
{
	struct flow_common *flow = flow_table_entry(table, handle);

	if (flow->lru_previous != FLOW_NONE)
		flow_table_entry(table, flow->lru_previous)->lru_next = flow->lru_next;
	else
		*head = flow->lru_next;
	if (flow->lru_next != FLOW_NONE)
		flow_table_entry(table, flow->lru_next)->lru_previous = flow->lru_previous;
	else
		*tail = flow->lru_previous;
}

/* Internal: put @p handle at the tail of the list from *head to *tail. */
static inline void
flow_table_list_append(struct flow_table *table, uint32_t *head, uint32_t *tail, uint32_t handle)
{
	struct flow_common *flow = flow_table_entry(table, handle);

	flow->lru_previous = *tail;
	flow->lru_next = FLOW_NONE;
	if (*tail != FLOW_NONE)
		flow_table_entry(table, *tail)->lru_next = handle;
	else
		*head = handle;
	*tail = handle;
}

/**
 * The open flow @p handle was just used: to the tail of the LRU list (a
 * closing flow goes through flow_table_touch_closing() instead).
 */
static inline void
flow_table_touch(struct flow_table *table, uint32_t handle)
{
	if (table->lru_tail == handle)
		return;
	flow_table_list_unlink(table, &table->lru_head, &table->lru_tail, handle);
	flow_table_list_append(table, &table->lru_head, &table->lru_tail, handle);
}

#endif
