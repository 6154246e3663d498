/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The history kernel's packet ring; see history_ring.h for the layout and
 * the one-appender, many-readers protocol.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_atomic.h>

#include "kernels/history_ring.h"

/* Largest frame kept with `snaplen: 0`: a 16-bit IP length and link headers fit. */
#define HISTORY_WHOLE_FRAME 65535u

/*
 * About 64 chunks: recycling drops 1/64 of the memory at once (1.6 %), and
 * finding a time walks at most 64 chunk headers. Chunks stay within 4 MiB so
 * a reader's copy of one stays in the last-level cache.
 */
#define HISTORY_CHUNKS_WANTED 64u
#define HISTORY_CHUNK_MAXIMUM (4u << 20)

#define LEVEL_FILL(level) ((uint32_t)(level))
#define LEVEL_PACKETS(level) ((uint32_t)((level) >> 32))
#define LEVEL(packets, fill) (((uint64_t)(packets) << 32) | (fill))

static uint32_t
chunk_size_for(uint64_t memory, uint32_t largest_record)
{
	uint64_t size = memory / HISTORY_CHUNKS_WANTED;

	if (size > HISTORY_CHUNK_MAXIMUM)
		size = HISTORY_CHUNK_MAXIMUM;
	if (size < largest_record)
		size = largest_record;
	return (uint32_t)((size + 63u) & ~(uint64_t)63u);
}

static uint32_t
kept_length(uint32_t snaplen)
{
	return snaplen == 0 || snaplen > HISTORY_WHOLE_FRAME ? HISTORY_WHOLE_FRAME : snaplen;
}

uint64_t
history_ring_minimum_memory(uint32_t snaplen)
{
	return 2u * (uint64_t)chunk_size_for(0, history_record_size(kept_length(snaplen)));
}

int
history_ring_create(struct history_ring *ring, uint64_t memory, uint32_t snaplen, char *error,
		    size_t error_size)
{
	uint32_t kept = kept_length(snaplen);
	uint32_t largest = history_record_size(kept);
	uint32_t chunk_size = chunk_size_for(memory, largest);
	uint64_t chunk_count = memory / chunk_size;

	memset(ring, 0, sizeof(*ring));
	if (chunk_count < 2) {
		snprintf(error, error_size,
			 "%" PRIu64 " bytes cannot hold two chunks of %u bytes (the largest record "
			 "with snaplen %u); give at least %u",
			 memory, chunk_size, kept, 2 * chunk_size);
		return -EINVAL;
	}
	ring->chunk_size = chunk_size;
	ring->chunk_count = (uint32_t)chunk_count;
	ring->snaplen = kept;
	ring->mapped_size = (size_t)chunk_count * chunk_size;
	/* MAP_POPULATE faults every page in now: the worker must never fault on the hot path. */
	ring->memory = mmap(NULL, ring->mapped_size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (ring->memory == MAP_FAILED) {
		ring->memory = NULL;
		snprintf(error, error_size, "cannot map %zu bytes: %s", ring->mapped_size,
			 strerror(errno));
		return -ENOMEM;
	}
	ring->chunks = calloc(chunk_count, sizeof(*ring->chunks));
	if (ring->chunks == NULL) {
		history_ring_free(ring);
		snprintf(error, error_size, "out of memory");
		return -ENOMEM;
	}
	/* Chunk 0 is the first head; the others hold nothing (no serial yet). */
	for (uint32_t i = 1; i < ring->chunk_count; i++)
		atomic_init(&ring->chunks[i].serial, UINT64_MAX);
	return 0;
}

void
history_ring_free(struct history_ring *ring)
{
	if (ring->memory != NULL)
		munmap(ring->memory, ring->mapped_size);
	free(ring->chunks);
	memset(ring, 0, sizeof(*ring));
}

static inline struct history_chunk *
chunk_of(struct history_ring *ring, uint64_t serial)
{
	return &ring->chunks[serial % ring->chunk_count];
}

static inline uint8_t *
chunk_bytes(struct history_ring *ring, uint64_t serial)
{
	return ring->memory + (size_t)(serial % ring->chunk_count) * ring->chunk_size;
}

/* Make the next chunk the head, dropping what it held (appender). */
static void
recycle_next_chunk(struct history_ring *ring)
{
	uint64_t serial = atomic_load_explicit(&ring->head_serial, memory_order_relaxed) + 1;
	struct history_chunk *chunk = chunk_of(ring, serial);
	uint64_t level = atomic_load_explicit(&chunk->level, memory_order_relaxed);

	atomic_fetch_add_explicit(&ring->overwritten, LEVEL_PACKETS(level), memory_order_relaxed);
	atomic_fetch_sub_explicit(&ring->held_packets, LEVEL_PACKETS(level), memory_order_relaxed);
	atomic_fetch_sub_explicit(&ring->held_bytes, LEVEL_FILL(level), memory_order_relaxed);
	/* The serial changes before any byte is reused: a reader's check after its copy sees it. */
	atomic_store_explicit(&chunk->serial, serial, memory_order_relaxed);
	rte_smp_wmb();
	atomic_store_explicit(&chunk->level, 0, memory_order_relaxed);
	atomic_store_explicit(&ring->head_serial, serial, memory_order_release);
}

uint8_t *
history_ring_reserve(struct history_ring *ring, uint64_t timestamp_ns, uint32_t wire_length,
		     uint32_t captured_length)
{
	uint32_t size = history_record_size(captured_length);
	uint64_t head = atomic_load_explicit(&ring->head_serial, memory_order_relaxed);
	uint64_t level = atomic_load_explicit(&chunk_of(ring, head)->level, memory_order_relaxed);
	struct history_record *record;

	if (LEVEL_FILL(level) + size > ring->chunk_size) {
		recycle_next_chunk(ring);
		head++;
		level = 0;
	}
	record = (struct history_record *)(void *)(chunk_bytes(ring, head) + LEVEL_FILL(level));
	record->timestamp_ns = timestamp_ns;
	record->wire_length = wire_length;
	record->captured_length = captured_length;
	ring->reserved_size = size;
	return record->data;
}

void
history_ring_commit(struct history_ring *ring)
{
	uint64_t head = atomic_load_explicit(&ring->head_serial, memory_order_relaxed);
	struct history_chunk *chunk = chunk_of(ring, head);
	uint64_t level = atomic_load_explicit(&chunk->level, memory_order_relaxed);
	const struct history_record *record = (const struct history_record *)(const void *)(
		chunk_bytes(ring, head) + LEVEL_FILL(level));
	uint64_t index = atomic_load_explicit(&ring->appended, memory_order_relaxed);

	if (LEVEL_PACKETS(level) == 0) {
		atomic_store_explicit(&chunk->first_ns, record->timestamp_ns, memory_order_relaxed);
		atomic_store_explicit(&chunk->first_index, index, memory_order_relaxed);
	}
	atomic_store_explicit(&chunk->last_ns, record->timestamp_ns, memory_order_relaxed);
	atomic_store_explicit(&ring->newest_ns, record->timestamp_ns, memory_order_relaxed);
	atomic_store_explicit(&ring->appended, index + 1, memory_order_relaxed);
	atomic_store_explicit(&ring->held_packets,
			      atomic_load_explicit(&ring->held_packets, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&ring->held_bytes,
			      atomic_load_explicit(&ring->held_bytes, memory_order_relaxed) +
				      ring->reserved_size,
			      memory_order_relaxed);
	atomic_store_explicit(&chunk->level,
			      LEVEL(LEVEL_PACKETS(level) + 1, LEVEL_FILL(level) + ring->reserved_size),
			      memory_order_release);
}

void
history_ring_append(struct history_ring *ring, uint64_t timestamp_ns, uint32_t wire_length,
		    const uint8_t *data, uint32_t captured_length)
{
	uint32_t kept = history_ring_captured_length(ring, captured_length);

	memcpy(history_ring_reserve(ring, timestamp_ns, wire_length, kept), data, kept);
	history_ring_commit(ring);
}

static uint64_t
oldest_serial(const struct history_ring *ring, uint64_t head)
{
	return head >= ring->chunk_count - 1 ? head - (ring->chunk_count - 1) : 0;
}

/* A consistent copy of a chunk's header, or false when it was recycled meanwhile. */
struct chunk_view {
	uint64_t level, first_ns, last_ns, first_index;
};

static bool
view_chunk(struct history_ring *ring, uint64_t serial, struct chunk_view *view)
{
	struct history_chunk *chunk = chunk_of(ring, serial);

	if (atomic_load_explicit(&chunk->serial, memory_order_acquire) != serial)
		return false;
	view->level = atomic_load_explicit(&chunk->level, memory_order_acquire);
	view->first_ns = atomic_load_explicit(&chunk->first_ns, memory_order_relaxed);
	view->last_ns = atomic_load_explicit(&chunk->last_ns, memory_order_relaxed);
	view->first_index = atomic_load_explicit(&chunk->first_index, memory_order_relaxed);
	rte_smp_rmb();
	return atomic_load_explicit(&chunk->serial, memory_order_relaxed) == serial;
}

void
history_ring_seek(struct history_ring *ring, uint64_t time_ns, struct history_cursor *cursor,
		  struct history_seek *seek)
{
	uint64_t head = atomic_load_explicit(&ring->head_serial, memory_order_acquire);
	bool first_held = true;
	struct chunk_view view;

	*seek = (struct history_seek){0};
	for (uint64_t serial = oldest_serial(ring, head); serial <= head; serial++) {
		if (!view_chunk(ring, serial, &view) || LEVEL_PACKETS(view.level) == 0)
			continue;
		if (first_held && view.first_ns > time_ns && view.first_index > 0) {
			seek->start_lost = true;
			seek->oldest_ns = view.first_ns;
		}
		first_held = false;
		if (view.last_ns >= time_ns || serial == head) {
			*cursor = (struct history_cursor){serial, 0, view.first_index};
			return;
		}
	}
	/* Nothing held yet (or only the head, empty): read from the head's start. */
	*cursor = (struct history_cursor){head, 0,
					  atomic_load_explicit(&ring->appended, memory_order_acquire)};
	if (view_chunk(ring, head, &view) && LEVEL_PACKETS(view.level) > 0)
		cursor->index = view.first_index;
}

/* The cursor's chunk was recycled: jump to the oldest chunk held, counting what was lost. */
static uint64_t
skip_overwritten(struct history_ring *ring, struct history_cursor *cursor)
{
	uint64_t head = atomic_load_explicit(&ring->head_serial, memory_order_acquire);
	struct chunk_view view;

	for (uint64_t serial = oldest_serial(ring, head); serial <= head; serial++) {
		if (serial <= cursor->serial || !view_chunk(ring, serial, &view))
			continue;
		if (LEVEL_PACKETS(view.level) == 0 && serial != head)
			continue;
		uint64_t first = LEVEL_PACKETS(view.level) > 0
					 ? view.first_index
					 : atomic_load_explicit(&ring->appended, memory_order_acquire);
		uint64_t lost = first > cursor->index ? first - cursor->index : 0;

		*cursor = (struct history_cursor){serial, 0, first};
		return lost;
	}
	/* Everything was recycled again meanwhile: the caller retries. */
	return 0;
}

static uint32_t
count_records(const uint8_t *buffer, uint32_t length)
{
	uint32_t packets = 0;

	for (uint32_t offset = 0; offset < length; packets++)
		offset += history_record_size(history_record_at(buffer, offset)->captured_length);
	return packets;
}

struct history_read
history_ring_read(struct history_ring *ring, struct history_cursor *cursor, uint8_t *buffer,
		  uint32_t size)
{
	struct history_read result = {0};
	struct history_chunk *chunk;
	uint64_t head, level;
	uint32_t length;

	for (;;) {
		chunk = chunk_of(ring, cursor->serial);
		head = atomic_load_explicit(&ring->head_serial, memory_order_acquire);
		if (cursor->serial > head)
			return result;
		if (atomic_load_explicit(&chunk->serial, memory_order_acquire) != cursor->serial) {
			result.lost = skip_overwritten(ring, cursor);
			return result;
		}
		level = atomic_load_explicit(&chunk->level, memory_order_acquire);
		rte_smp_rmb();
		if (atomic_load_explicit(&chunk->serial, memory_order_relaxed) != cursor->serial) {
			/* recycled between the two loads: the level is the new content's */
			result.lost = skip_overwritten(ring, cursor);
			return result;
		}
		if (cursor->offset < LEVEL_FILL(level))
			break;
		if (head == cursor->serial)
			return result; /* at the newest record: nothing new yet */
		/* this chunk is complete (the head moved on after its last record): the next one */
		*cursor = (struct history_cursor){cursor->serial + 1, 0, cursor->index};
	}
	length = LEVEL_FILL(level) - cursor->offset;
	if (length > size)
		return result; /* a buffer smaller than a chunk (see the header): cut no record */
	memcpy(buffer, chunk_bytes(ring, cursor->serial) + cursor->offset, length);
	rte_smp_rmb();
	if (atomic_load_explicit(&chunk->serial, memory_order_relaxed) != cursor->serial) {
		result.lost = skip_overwritten(ring, cursor);
		return result;
	}
	result.length = length;
	result.packets = count_records(buffer, length);
	cursor->offset += length;
	cursor->index += result.packets;
	return result;
}

uint64_t
history_ring_oldest_ns(struct history_ring *ring)
{
	uint64_t head = atomic_load_explicit(&ring->head_serial, memory_order_acquire);
	struct chunk_view view;

	for (uint64_t serial = oldest_serial(ring, head); serial <= head; serial++)
		if (view_chunk(ring, serial, &view) && LEVEL_PACKETS(view.level) > 0)
			return view.first_ns;
	return 0;
}
