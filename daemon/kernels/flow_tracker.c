/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flow_tracker: bidirectional 5-tuple flows (IPv4 and IPv6) with idle and
 * active timeouts, TCP FIN/RST endings, and a bounded table.
 *
 * Why not rte_hash: with the 37-byte key and extendable buckets, rte_hash
 * alone allocated 83.2 B per flow at 10 M entries (measured with
 * rte_malloc_get_socket_stats, DPDK 22.11), before any counter, timestamp
 * or expiry link (another 40 B at least): about twice the 64 B/flow target.
 * This table is instead:
 *   - an open-addressing slot array of uint32_t (load <= 0.75): 7-bit tag,
 *     1 family bit, 24-bit entry index; linear probing, backward-shift delete;
 *   - IPv4 entries of 56 B (8 B addresses + 8 B ports/protocol/flags word,
 *     compared as two 64-bit words) and IPv6 entries of 80 B (32 B addresses
 *     + the same tail word), each pool handing out entries from a bump
 *     pointer so untouched entries cost no resident memory;
 *   - an index-linked LRU list (by last packet) threaded through the entries,
 *     and a FIFO list of closing TCP flows (below) on the same links: a flow
 *     is on exactly one of the two.
 * At 10 M IPv4 flows: 56 B + 2^24 slots * 4 B / 10 M = 62.7 B per flow
 * (IPv6: 86.7 B).
 *
 * Keys are canonical: the smaller endpoint (address, then port) is "low",
 * so both directions hash and compare equal; counters are kept per sending
 * endpoint and the initiator bit says which endpoint is the record's source.
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

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_hash_crc.h>
#include <rte_prefetch.h>

#include "kernel.h"
#include "packet.h"

#define FLOW_NONE UINT32_MAX
#define FLOW_FAMILY_IPV6 (1u << 24)
#define FLOW_INDEX_MASK 0xffffffu
#define FLOW_HANDLE_MASK 0x1ffffffu
#define FLOW_TAG_SHIFT 25
/* Index 0xffffff is never handed out, so FLOW_NONE is never a handle. */
#define FLOW_MAX_FLOWS FLOW_INDEX_MASK

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

/* flow_tail.state bits */
#define STATE_INITIATOR_HIGH 0x01 /* the first packet came from the high endpoint */
#define STATE_FIN_LOW 0x02
#define STATE_FIN_HIGH 0x04
#define STATE_CLOSING 0x08   /* both FINs or a RST seen: on the closing list */
#define STATE_CLOSED_RST 0x10 /* closing because of a RST (else both FINs) */

/* Bytes of flow_tail that are key (ports, protocol); the rest is flow state. */
#define TAIL_KEY_MASK 0x000000ffffffffffull
/* TAIL_KEY_MASK and the key words make_lookup() builds are little-endian. */
_Static_assert(RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN, "flow keys assume a little-endian CPU");

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

/* Ports, protocol (key) and the flow's TCP state, in one 64-bit word. */
union flow_tail {
	struct {
		uint16_t low_port, high_port;
		uint8_t protocol;
		uint8_t low_tcp_flags, high_tcp_flags; /* OR of flags each endpoint sent */
		uint8_t state;                         /* STATE_* */
	} fields;
	uint64_t word;
};

/* Per flow, both families. Counters are per sending endpoint (low, high). */
struct flow_common {
	uint64_t first_ns, last_ns;
	uint32_t low_packets, high_packets;
	uint32_t low_bytes, high_bytes; /* a slice is cut before they would wrap */
	/* handles: the LRU list, or the closing list (STATE_CLOSING); lru_next links the free list too */
	uint32_t lru_previous, lru_next;
};

struct flow_entry4 {
	struct flow_common common;
	uint64_t addresses; /* low, high: network order, as in the packet */
	union flow_tail tail;
};

struct flow_entry6 {
	struct flow_common common;
	uint64_t addresses[4]; /* low[16], high[16] */
	union flow_tail tail;
};

_Static_assert(sizeof(struct flow_entry4) == 56, "IPv4 flow entry size");
_Static_assert(sizeof(struct flow_entry6) == 80, "IPv6 flow entry size");

/* A packet's canonical key, ready to hash and compare. */
struct flow_lookup {
	uint64_t addresses[4]; /* IPv4: addresses[0] only */
	union flow_tail tail;   /* key bytes only */
	bool ipv6;
	bool sender_is_low;
	uint32_t slot;          /* home slot */
	uint32_t tag;
};

struct entry_pool {
	void *entries;
	size_t entry_size;
	uint32_t used;      /* high-water mark of the bump allocator */
	uint32_t free_head; /* index of a freed entry, or FLOW_NONE */
};

struct flow_tracker_state {
	uint32_t *slots;    /* 0 = empty, else tag << 25 | handle */
	uint32_t slot_mask;
	unsigned slot_bits;
	struct entry_pool pools[2]; /* IPv4, IPv6 */
	uint32_t flow_count;
	uint32_t lru_head, lru_tail; /* least and most recently seen */
	uint32_t closing_head, closing_tail; /* closing TCP flows, oldest close first */
	uint64_t clock_ns;           /* newest packet (or tick) time */

	struct flow_record pending[FLOW_PENDING_MAX]; /* records waiting for ring space */
	unsigned pending_count, pending_next;

	uint64_t flows_created;
	uint64_t records;
	uint64_t non_ip_packets;
	uint64_t evicted_flows;
	uint64_t wrap_slices;     /* slices cut before a 32-bit counter would wrap */
	uint64_t expiry_work_max; /* most flows expired in one call */
};

/* ---- table ---- */

static inline struct flow_common *
flow_at(const struct flow_tracker_state *state, uint32_t handle)
{
	const struct entry_pool *pool = &state->pools[handle >> 24];

	return (struct flow_common *)((char *)pool->entries +
				      (size_t)(handle & FLOW_INDEX_MASK) * pool->entry_size);
}

static inline union flow_tail *
tail_of(const struct flow_tracker_state *state, uint32_t handle)
{
	if (handle & FLOW_FAMILY_IPV6)
		return &((struct flow_entry6 *)flow_at(state, handle))->tail;
	return &((struct flow_entry4 *)flow_at(state, handle))->tail;
}

/* Home slot and tag from a symmetric key hash. */
static inline void
place_key(const struct flow_tracker_state *state, uint32_t hash, struct flow_lookup *lookup)
{
	uint64_t mixed = (uint64_t)hash * 0x9e3779b97f4a7c15ull;

	lookup->slot = (uint32_t)(mixed >> (64 - state->slot_bits));
	lookup->tag = (uint32_t)(mixed >> 8) & 0x7f;
	if (lookup->tag == 0)
		lookup->tag = 1; /* slot value 0 means empty */
}

static inline uint32_t
hash_key(const struct flow_lookup *lookup)
{
	uint32_t hash = rte_hash_crc_8byte(lookup->addresses[0], 0x5ca1ab1e);

	if (lookup->ipv6) {
		hash = rte_hash_crc_8byte(lookup->addresses[1], hash);
		hash = rte_hash_crc_8byte(lookup->addresses[2], hash);
		hash = rte_hash_crc_8byte(lookup->addresses[3], hash);
	}
	return rte_hash_crc_8byte(lookup->tail.word & TAIL_KEY_MASK, hash);
}

/* The stored key of @p handle as a lookup (to find its home slot when shifting). */
static void
lookup_of_entry(const struct flow_tracker_state *state, uint32_t handle,
		struct flow_lookup *lookup)
{
	memset(lookup, 0, sizeof(*lookup));
	lookup->ipv6 = (handle & FLOW_FAMILY_IPV6) != 0;
	if (lookup->ipv6) {
		const struct flow_entry6 *entry = (const void *)flow_at(state, handle);

		memcpy(lookup->addresses, entry->addresses, sizeof(entry->addresses));
	} else {
		lookup->addresses[0] = ((const struct flow_entry4 *)flow_at(state, handle))->addresses;
	}
	lookup->tail.word = tail_of(state, handle)->word & TAIL_KEY_MASK;
	place_key(state, hash_key(lookup), lookup);
}

/* Fixed-width compare: two 64-bit words (IPv4) or five (IPv6, vectorised). */
static inline bool
key_equal(const struct flow_tracker_state *state, uint32_t handle,
	  const struct flow_lookup *lookup)
{
	if (handle & FLOW_FAMILY_IPV6) {
		const struct flow_entry6 *entry = (const void *)flow_at(state, handle);
		uint64_t difference = (entry->addresses[0] ^ lookup->addresses[0]) |
				      (entry->addresses[1] ^ lookup->addresses[1]) |
				      (entry->addresses[2] ^ lookup->addresses[2]) |
				      (entry->addresses[3] ^ lookup->addresses[3]);

		return (difference | ((entry->tail.word ^ lookup->tail.word) & TAIL_KEY_MASK)) == 0;
	}
	const struct flow_entry4 *entry = (const void *)flow_at(state, handle);

	return ((entry->addresses ^ lookup->addresses[0]) |
		((entry->tail.word ^ lookup->tail.word) & TAIL_KEY_MASK)) == 0;
}

/*
 * The flow of @p lookup, or FLOW_NONE with *empty_slot set to where it
 * would go.
 */
static inline uint32_t
table_find(const struct flow_tracker_state *state, const struct flow_lookup *lookup,
	   uint32_t *empty_slot)
{
	uint32_t family = lookup->ipv6 ? FLOW_FAMILY_IPV6 : 0;

	for (uint32_t position = lookup->slot;; position = (position + 1) & state->slot_mask) {
		uint32_t slot = state->slots[position];

		if (slot == 0) {
			*empty_slot = position;
			return FLOW_NONE;
		}
		if ((slot >> FLOW_TAG_SHIFT) == lookup->tag && (slot & FLOW_FAMILY_IPV6) == family &&
		    key_equal(state, slot & FLOW_HANDLE_MASK, lookup))
			return slot & FLOW_HANDLE_MASK;
	}
}

static uint32_t
home_slot(const struct flow_tracker_state *state, uint32_t handle)
{
	struct flow_lookup lookup;

	lookup_of_entry(state, handle, &lookup);
	return lookup.slot;
}

/* Remove @p handle's slot, shifting later probes back (no tombstones). */
static void
table_remove_slot(struct flow_tracker_state *state, uint32_t handle)
{
	uint32_t mask = state->slot_mask;
	uint32_t hole = home_slot(state, handle);

	while ((state->slots[hole] & FLOW_HANDLE_MASK) != handle || state->slots[hole] == 0)
		hole = (hole + 1) & mask;
	for (uint32_t next = (hole + 1) & mask; state->slots[next] != 0; next = (next + 1) & mask) {
		uint32_t home = home_slot(state, state->slots[next] & FLOW_HANDLE_MASK);

		/* move it back unless its home lies cyclically in (hole, next] */
		if (((next - home) & mask) >= ((next - hole) & mask)) {
			state->slots[hole] = state->slots[next];
			hole = next;
		}
	}
	state->slots[hole] = 0;
}

/* ---- LRU and closing lists (one set of links: a flow is on exactly one) ---- */

static inline void
list_unlink(struct flow_tracker_state *state, uint32_t *head, uint32_t *tail, uint32_t handle)
{
	struct flow_common *flow = flow_at(state, handle);

	if (flow->lru_previous != FLOW_NONE)
		flow_at(state, flow->lru_previous)->lru_next = flow->lru_next;
	else
		*head = flow->lru_next;
	if (flow->lru_next != FLOW_NONE)
		flow_at(state, flow->lru_next)->lru_previous = flow->lru_previous;
	else
		*tail = flow->lru_previous;
}

static inline void
list_append(struct flow_tracker_state *state, uint32_t *head, uint32_t *tail, uint32_t handle)
{
	struct flow_common *flow = flow_at(state, handle);

	flow->lru_previous = *tail;
	flow->lru_next = FLOW_NONE;
	if (*tail != FLOW_NONE)
		flow_at(state, *tail)->lru_next = handle;
	else
		*head = handle;
	*tail = handle;
}

static inline void
lru_unlink(struct flow_tracker_state *state, uint32_t handle)
{
	list_unlink(state, &state->lru_head, &state->lru_tail, handle);
}

static inline void
lru_append(struct flow_tracker_state *state, uint32_t handle)
{
	list_append(state, &state->lru_head, &state->lru_tail, handle);
}

static inline void
lru_touch(struct flow_tracker_state *state, uint32_t handle)
{
	if (state->lru_tail == handle)
		return;
	lru_unlink(state, handle);
	lru_append(state, handle);
}

/* ---- entries ---- */

static uint32_t
entry_allocate(struct flow_tracker_state *state, bool ipv6)
{
	struct entry_pool *pool = &state->pools[ipv6];
	uint32_t index = pool->free_head;

	if (index != FLOW_NONE)
		pool->free_head = flow_at(state, index | (ipv6 ? FLOW_FAMILY_IPV6 : 0))->lru_next;
	else
		index = pool->used++;
	return index | (ipv6 ? FLOW_FAMILY_IPV6 : 0);
}

static void
entry_release(struct flow_tracker_state *state, uint32_t handle)
{
	struct entry_pool *pool = &state->pools[handle >> 24];

	flow_at(state, handle)->lru_next = pool->free_head;
	pool->free_head = handle & FLOW_INDEX_MASK;
}

/* ---- records ---- */

static void
copy_addresses(const struct flow_tracker_state *state, uint32_t handle, uint8_t low[16],
	       uint8_t high[16])
{
	if (handle & FLOW_FAMILY_IPV6) {
		const struct flow_entry6 *entry = (const void *)flow_at(state, handle);

		memcpy(low, entry->addresses, 16);
		memcpy(high, (const uint8_t *)entry->addresses + 16, 16);
		return;
	}
	const struct flow_entry4 *entry = (const void *)flow_at(state, handle);

	memset(low, 0, 16);
	memset(high, 0, 16);
	low[10] = low[11] = high[10] = high[11] = 0xff;
	memcpy(low + 12, &entry->addresses, 4);
	memcpy(high + 12, (const uint8_t *)&entry->addresses + 4, 4);
}

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
	const struct flow_common *flow = flow_at(state, handle);
	const union flow_tail *tail = tail_of(state, handle);
	struct flow_record *record = &state->pending[state->pending_count++];
	bool high_first = (tail->fields.state & STATE_INITIATOR_HIGH) != 0;
	uint8_t low[16], high[16];

	memset(record, 0, sizeof(*record));
	record->header.type = STREAM_FLOW;
	record->header.kernel = instance->name;
	copy_addresses(state, handle, low, high);
	memcpy(record->source_address, high_first ? high : low, 16);
	memcpy(record->destination_address, high_first ? low : high, 16);
	record->source_port = high_first ? tail->fields.high_port : tail->fields.low_port;
	record->destination_port = high_first ? tail->fields.low_port : tail->fields.high_port;
	record->packets = high_first ? flow->high_packets : flow->low_packets;
	record->bytes = high_first ? flow->high_bytes : flow->low_bytes;
	record->reverse_packets = high_first ? flow->low_packets : flow->high_packets;
	record->reverse_bytes = high_first ? flow->low_bytes : flow->high_bytes;
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
	table_remove_slot(state, handle);
	if (tail_of(state, handle)->fields.state & STATE_CLOSING)
		list_unlink(state, &state->closing_head, &state->closing_tail, handle);
	else
		lru_unlink(state, handle);
	entry_release(state, handle);
	state->flow_count--;
}

/* Export a closing flow with the reason it closed for. */
static void
end_closing_flow(struct kernel_instance *instance, uint32_t handle)
{
	const union flow_tail *tail = tail_of(instance->state, handle);

	end_flow(instance, handle,
		 (tail->fields.state & STATE_CLOSED_RST) ? FLOW_END_RST : FLOW_END_FIN);
}

/* Move an open flow to the closing list: it is exported after the linger. */
static void
start_closing(struct flow_tracker_state *state, uint32_t handle, bool rst)
{
	union flow_tail *tail = tail_of(state, handle);

	tail->fields.state |= STATE_CLOSING | (rst ? STATE_CLOSED_RST : 0);
	lru_unlink(state, handle);
	list_append(state, &state->closing_head, &state->closing_tail, handle);
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
	struct flow_common *flow = flow_at(state, handle);
	union flow_tail *tail = tail_of(state, handle);

	record_flow(instance, handle, FLOW_END_ACTIVE);
	flow->low_packets = flow->high_packets = 0;
	flow->low_bytes = flow->high_bytes = 0;
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

static inline uint64_t
load_big_endian_64(const uint8_t *bytes)
{
	uint64_t word;

	memcpy(&word, bytes, sizeof(word));
	return rte_be_to_cpu_64(word);
}

/*
 * Whether the sender is the low endpoint (address, then port). Branch-free:
 * which side sends is a coin toss per packet, so a branch on it mispredicts
 * half the time.
 */
static inline bool
sender_is_low_endpoint(const struct packet_meta *meta, uint16_t source_port,
		       uint16_t destination_port)
{
	unsigned __int128 source = (unsigned __int128)load_big_endian_64(meta->source_address) << 64 |
				   load_big_endian_64(meta->source_address + 8);
	unsigned __int128 destination =
		(unsigned __int128)load_big_endian_64(meta->destination_address) << 64 |
		load_big_endian_64(meta->destination_address + 8);

	return (source < destination) | ((source == destination) & (source_port <= destination_port));
}

/*
 * The packet's canonical key, and where it lives. Each key word is written
 * with one store: hash_key() reads them right back, and a word written as
 * its fields (ports, protocol) could not be forwarded from the store buffer.
 */
static void
make_lookup(const struct flow_tracker_state *state, const struct packet_meta *meta,
	    struct flow_lookup *lookup)
{
	bool has_ports = (meta->flags & PACKET_FLAG_HAS_PORTS) != 0;
	uint16_t source_port = has_ports ? meta->source_port : 0;
	uint16_t destination_port = has_ports ? meta->destination_port : 0;
	bool low = sender_is_low_endpoint(meta, source_port, destination_port);
	const uint8_t *low_address = low ? meta->source_address : meta->destination_address;
	const uint8_t *high_address = low ? meta->destination_address : meta->source_address;
	/* union flow_tail's key fields as a word (little-endian, as TAIL_KEY_MASK is) */
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
	place_key(state, hash_key(lookup), lookup);
}

/* A new flow for @p lookup, evicting the least recently seen one when full. */
static uint32_t
create_flow(struct kernel_instance *instance, const struct flow_lookup *lookup,
	    uint32_t empty_slot, uint64_t now_ns)
{
	const struct flow_tracker_params *params = instance->params;
	struct flow_tracker_state *state = instance->state;
	uint32_t handle;
	struct flow_common *flow;

	if (state->flow_count >= params->max_flows) {
		if (state->closing_head != FLOW_NONE) {
			/* a closing flow is done: it goes first, with its own reason */
			end_closing_flow(instance, state->closing_head);
		} else {
			struct flow_common *oldest = flow_at(state, state->lru_head);
			bool idle = now_ns > oldest->last_ns &&
				    now_ns - oldest->last_ns >= params->idle_timeout_ns;

			if (!idle)
				state->evicted_flows++;
			end_flow(instance, state->lru_head, idle ? FLOW_END_IDLE : FLOW_END_EVICTED);
		}
		/* the removal may have shifted slots: probe again */
		table_find(state, lookup, &empty_slot);
	}
	handle = entry_allocate(state, lookup->ipv6);
	flow = flow_at(state, handle);
	memset(flow, 0, sizeof(*flow));
	if (lookup->ipv6)
		memcpy(((struct flow_entry6 *)flow)->addresses, lookup->addresses, 32);
	else
		((struct flow_entry4 *)flow)->addresses = lookup->addresses[0];
	tail_of(state, handle)->word = lookup->tail.word;
	if (!lookup->sender_is_low)
		tail_of(state, handle)->fields.state = STATE_INITIATOR_HIGH;
	state->slots[empty_slot] = lookup->tag << FLOW_TAG_SHIFT | handle;
	lru_append(state, handle);
	state->flow_count++;
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
	struct flow_common *flow = flow_at(instance->state, handle);
	uint64_t now_ns = meta->timestamp_ns;

	if (tail_of(instance->state, handle)->fields.state & STATE_CLOSING) {
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
	struct flow_common *flow = flow_at(state, handle);
	union flow_tail *tail = tail_of(state, handle);
	uint32_t *packets = sender_is_low ? &flow->low_packets : &flow->high_packets;
	uint32_t *bytes = sender_is_low ? &flow->low_bytes : &flow->high_bytes;

	/* 32-bit counters: cut a slice rather than let one wrap */
	if (*packets == UINT32_MAX || *bytes > UINT32_MAX - meta->wire_length) {
		cut_slice(instance, handle);
		state->wrap_slices++;
	}
	if (slice_packets(flow) == 0)
		flow->first_ns = meta->timestamp_ns;
	(*packets)++;
	*bytes += meta->wire_length;
	if (meta->timestamp_ns > flow->last_ns)
		flow->last_ns = meta->timestamp_ns;
	if (tail->fields.protocol != TCP_PROTOCOL) {
		lru_touch(state, handle);
		return;
	}
	if (sender_is_low)
		tail->fields.low_tcp_flags |= meta->tcp_flags;
	else
		tail->fields.high_tcp_flags |= meta->tcp_flags;
	if (meta->tcp_flags & TCP_FIN)
		tail->fields.state |= sender_is_low ? STATE_FIN_LOW : STATE_FIN_HIGH;
	if (tail->fields.state & STATE_CLOSING) {
		/* its deadline moved with last_ns: to the tail, so the list stays in deadline order */
		list_unlink(state, &state->closing_head, &state->closing_tail, handle);
		list_append(state, &state->closing_head, &state->closing_tail, handle);
		return;
	}
	if (meta->tcp_flags & TCP_RST)
		start_closing(state, handle, true);
	else if ((tail->fields.state & (STATE_FIN_LOW | STATE_FIN_HIGH)) ==
		 (STATE_FIN_LOW | STATE_FIN_HIGH))
		start_closing(state, handle, false);
	else
		lru_touch(state, handle);
}

static void
track_packet(struct kernel_instance *instance, const struct packet_meta *meta,
	     const struct flow_lookup *lookup)
{
	struct flow_tracker_state *state = instance->state;
	uint32_t empty_slot = 0, handle;

	if (meta->timestamp_ns > state->clock_ns)
		state->clock_ns = meta->timestamp_ns;
	handle = table_find(state, lookup, &empty_slot);
	if (handle != FLOW_NONE) {
		handle = apply_timeouts(instance, handle, meta);
		if (handle == FLOW_NONE)
			table_find(state, lookup, &empty_slot); /* slots may have shifted */
	}
	if (handle == FLOW_NONE)
		handle = create_flow(instance, lookup, empty_slot, meta->timestamp_ns);
	count_packet(instance, handle, meta, lookup->sender_is_low);
}

/*
 * Prefetch both cache lines an entry may straddle: 56 B and 80 B entries are
 * not line-aligned, and the key sits at their end, so with the first line
 * alone the key compare still missed for most entries (measured at 1 M
 * uniform flows: 139 -> 110 ns/packet).
 */
static inline void
prefetch_entry(const struct flow_tracker_state *state, uint32_t handle)
{
	const char *entry = (const char *)flow_at(state, handle);

	rte_prefetch0(entry);
	rte_prefetch0(entry + state->pools[handle >> 24].entry_size - 1);
}

/*
 * The first slot from @p lookup's home slot that carries the key's tag and
 * family, looking no further than the cache line already prefetched (nor
 * past an empty slot): most likely the key's entry, or FLOW_NONE.
 */
static inline uint32_t
find_candidate(const struct flow_tracker_state *state, const struct flow_lookup *lookup)
{
	uint32_t family = lookup->ipv6 ? FLOW_FAMILY_IPV6 : 0;
	uint32_t position = lookup->slot;

	do {
		uint32_t slot = state->slots[position];

		if (slot == 0)
			return FLOW_NONE;
		if ((slot >> FLOW_TAG_SHIFT) == lookup->tag && (slot & FLOW_FAMILY_IPV6) == family)
			return slot & FLOW_HANDLE_MASK;
		position = (position + 1) & state->slot_mask;
	} while (((uintptr_t)&state->slots[position] & (RTE_CACHE_LINE_SIZE - 1)) != 0);
	return FLOW_NONE;
}

/*
 * Track a burst in three passes so that the cache misses of different
 * packets overlap: keys and slot prefetches, then entry prefetches, then
 * the updates. At millions of flows each pass would otherwise stall on
 * memory once per packet. The entry prefetched is the first one with the
 * key's tag, not merely the first in the probe: with linear probing at
 * load 0.48 the home slot holds another flow for a quarter of the flows
 * (prefetching the home slot's entry measured 83 ns/packet at 1 M uniform
 * flows, the tag match 63 ns).
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
		make_lookup(state, meta, &lookups[keyed]);
		rte_prefetch0(&state->slots[lookups[keyed].slot]);
		keyed++;
	}
	for (unsigned i = 0; i < keyed; i++) {
		uint32_t candidate = find_candidate(state, &lookups[i]);

		if (candidate != FLOW_NONE)
			prefetch_entry(state, candidate);
	}
	for (unsigned i = 0; i < keyed; i++)
		track_packet(instance, metas[i], &lookups[i]);
}

/* Pop lingered-out closing flows, then idle flows off the LRU head, at most @p limit in all. */
static void
expire_idle(struct kernel_instance *instance, unsigned limit)
{
	const struct flow_tracker_params *params = instance->params;
	struct flow_tracker_state *state = instance->state;
	unsigned expired = 0;

	while (expired < limit && state->closing_head != FLOW_NONE &&
	       linger_over(params, flow_at(state, state->closing_head), state->clock_ns)) {
		end_closing_flow(instance, state->closing_head);
		expired++;
	}
	while (expired < limit && state->lru_head != FLOW_NONE) {
		const struct flow_common *oldest = flow_at(state, state->lru_head);

		if (state->clock_ns <= oldest->last_ns ||
		    state->clock_ns - oldest->last_ns < params->idle_timeout_ns)
			break;
		end_flow(instance, state->lru_head, FLOW_END_IDLE);
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

	if (!emit_pending(instance))
		return false;
	while (state->closing_head != FLOW_NONE && state->pending_count < FLOW_PENDING_MAX)
		end_closing_flow(instance, state->closing_head);
	while (state->lru_head != FLOW_NONE && state->pending_count < FLOW_PENDING_MAX)
		end_flow(instance, state->lru_head, FLOW_END_EOF);
	return emit_pending(instance) && state->lru_head == FLOW_NONE &&
	       state->closing_head == FLOW_NONE;
}

static int
flow_tracker_init(struct kernel_instance *instance)
{
	const struct flow_tracker_params *params = instance->params;
	struct flow_tracker_state *state = calloc(1, sizeof(*state));
	uint64_t slots = 16;

	if (state == NULL)
		return -ENOMEM;
	instance->state = state;
	state->slot_bits = 4;
	while (slots * 3 < params->max_flows * 4) { /* load factor <= 0.75 */
		slots *= 2;
		state->slot_bits++;
	}
	state->slot_mask = (uint32_t)(slots - 1);
	state->slots = calloc(slots, sizeof(*state->slots));
	state->pools[0].entry_size = sizeof(struct flow_entry4);
	state->pools[1].entry_size = sizeof(struct flow_entry6);
	/* calloc of this size maps fresh zero pages: only entries in use become resident */
	for (unsigned family = 0; family < 2; family++) {
		state->pools[family].free_head = FLOW_NONE;
		state->pools[family].entries = calloc(params->max_flows,
						      state->pools[family].entry_size);
	}
	state->lru_head = state->lru_tail = FLOW_NONE;
	state->closing_head = state->closing_tail = FLOW_NONE;
	if (state->slots == NULL || state->pools[0].entries == NULL ||
	    state->pools[1].entries == NULL) {
		snprintf(instance->error, sizeof(instance->error),
			 "cannot allocate a table of %lu flows; lower max_flows",
			 (unsigned long)params->max_flows);
		return -ENOMEM;
	}
	return 0;
}

/* The table moves as is; a different max_flows would not fit it. */
static bool
flow_tracker_can_take_state(const void *params_pointer, const void *old_params_pointer)
{
	const struct flow_tracker_params *params = params_pointer, *old = old_params_pointer;

	return params->max_flows == old->max_flows;
}

/* Timeouts are read from the instance's params at each use, so swapping is enough. */
static void
flow_tracker_take_state(struct kernel_instance *instance, struct kernel_instance *old)
{
	void *fresh = instance->state;

	instance->state = old->state;
	old->state = fresh; /* destroyed with the old instance */
}

static unsigned
flow_tracker_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	const struct flow_tracker_state *state = instance->state;
	uint64_t table_bytes = (uint64_t)(state->slot_mask + 1) * sizeof(*state->slots) +
			       (uint64_t)state->pools[0].used * state->pools[0].entry_size +
			       (uint64_t)state->pools[1].used * state->pools[1].entry_size;

	stats[0] = (struct kernel_stat){"flows_created", state->flows_created};
	stats[1] = (struct kernel_stat){"flows_active", state->flow_count};
	stats[2] = (struct kernel_stat){"records", state->records};
	stats[3] = (struct kernel_stat){"non_ip_packets", state->non_ip_packets};
	stats[4] = (struct kernel_stat){"evicted_flows", state->evicted_flows};
	stats[5] = (struct kernel_stat){"expiry_work_max", state->expiry_work_max};
	stats[6] = (struct kernel_stat){"table_bytes", table_bytes};
	stats[7] = (struct kernel_stat){"wrap_slices", state->wrap_slices};
	return 8;
}

static void
flow_tracker_destroy(struct kernel_instance *instance)
{
	struct flow_tracker_state *state = instance->state;

	if (state == NULL)
		return;
	free(state->slots);
	free(state->pools[0].entries);
	free(state->pools[1].entries);
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
	.can_take_state = flow_tracker_can_take_state,
	.take_state = flow_tracker_take_state,
	.destroy = flow_tracker_destroy,
};
