/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The history kernel's packet ring: the most recent packets, copied out of
 * their mbufs, packed one after the other in memory allocated and faulted in
 * once (FlowScope's QQ layout).
 *
 * Layout: the memory is cut into chunks of equal size. A record is a 16-byte
 * header (timestamp in ns, wire length, captured length) and the captured
 * bytes, padded to 8; records never span chunks: one that does not fit in
 * what is left of a chunk starts the next one. Each chunk keeps the times of
 * its first and last record, so finding a time is a walk over the chunk
 * headers, not the records. When the newest chunk is full, the oldest is
 * recycled and its records count as overwritten.
 *
 * Threads: one appender (the worker lcore) and any number of readers (the
 * instance's writer thread, which never blocks the appender). Every chunk
 * carries the serial number of what it holds, a counter that only grows
 * (chunk i holds serial i, i + chunk_count, i + 2 * chunk_count, ...).
 * The appender stores the new serial before it writes a recycled chunk's
 * first byte, and release-stores the fill level after each record. A reader
 * copies bytes out, then checks the serial: a changed one means the bytes it
 * copied may be torn, and they are thrown away and counted, never used. This
 * is a sequence lock (DPDK's rte_seqcount) with one twist: a chunk stays open
 * for appends for many bursts, and rte_seqcount's odd "being written" count
 * would keep readers off the one chunk they most often read, so the count
 * changes only when the chunk's bytes are about to be reused.
 */
#ifndef JETSTREAM_KERNELS_HISTORY_RING_H
#define JETSTREAM_KERNELS_HISTORY_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** One held packet, as stored in the ring. */
struct history_record {
	uint64_t timestamp_ns;
	uint32_t wire_length;     /**< the frame's length on the wire (frame.len) */
	uint32_t captured_length; /**< bytes held after this header */
	uint8_t data[];
};

/** Bytes a record of @p captured_length takes in the ring. */
static inline uint32_t
history_record_size(uint32_t captured_length)
{
	return (uint32_t)((sizeof(struct history_record) + captured_length + 7u) & ~7u);
}

/** What the ring knows about one chunk. */
struct history_chunk {
	_Atomic uint64_t serial;       /**< dp: wo (before the bytes are reused), reader: ro */
	/**
	 * dp: wo (release, after each record), reader: ro (acquire). Records
	 * << 32 | bytes used: one word, so a reader never pairs a count with
	 * another record's fill.
	 */
	_Atomic uint64_t level;
	_Atomic uint64_t first_ns;     /**< dp: wo, reader: ro. Time of the first record */
	_Atomic uint64_t last_ns;      /**< dp: wo, reader: ro. Time of the last record */
	_Atomic uint64_t first_index;  /**< dp: wo, reader: ro. Packet number of its first record */
};

struct history_ring {
	uint8_t *memory;               /**< chunk_count * chunk_size bytes, mmap'ed and populated */
	size_t mapped_size;
	uint32_t chunk_size;           /**< bytes, a multiple of 8 */
	uint32_t chunk_count;          /**< >= 2 */
	uint32_t snaplen;              /**< most bytes kept of a frame */
	struct history_chunk *chunks;
	uint32_t reserved_size;        /**< dp only: bytes of the record reserved last */

	/* dp: wo, readers and cp: ro. */
	_Atomic uint64_t head_serial;  /**< serial of the chunk being appended to (release) */
	_Atomic uint64_t appended;     /**< packets appended ever (the next packet's number) */
	_Atomic uint64_t overwritten;  /**< packets dropped by recycling chunks */
	_Atomic uint64_t held_packets;
	_Atomic uint64_t held_bytes;   /**< bytes of the ring in use, headers included */
	_Atomic uint64_t newest_ns;    /**< time of the newest packet appended */
};

/**
 * Allocate a ring of about @p memory bytes keeping @p snaplen bytes of each
 * frame (0 = whole frames, up to 65535 bytes). Every page is faulted in here
 * (MAP_POPULATE), so the appender never takes a page fault.
 * @return 0; -EINVAL (with a message) when @p memory cannot hold two chunks
 *         of the largest record; -ENOMEM.
 */
int history_ring_create(struct history_ring *ring, uint64_t memory, uint32_t snaplen,
			char *error, size_t error_size);

/** The least memory history_ring_create() takes with @p snaplen: two chunks. */
uint64_t history_ring_minimum_memory(uint32_t snaplen);

/** Release the ring (a zeroed ring is fine). */
void history_ring_free(struct history_ring *ring);

/** The captured length of a frame of @p frame_length bytes held: at most the snaplen. */
static inline uint32_t
history_ring_captured_length(const struct history_ring *ring, uint32_t frame_length)
{
	return frame_length < ring->snaplen ? frame_length : ring->snaplen;
}

/**
 * Room for one record of @p captured_length bytes (at most the snaplen),
 * recycling the oldest chunk if needed; fill the returned bytes, then call
 * history_ring_commit(). Appender only.
 */
uint8_t *history_ring_reserve(struct history_ring *ring, uint64_t timestamp_ns,
			      uint32_t wire_length, uint32_t captured_length);

/** Publish the record reserved last. Appender only. */
void history_ring_commit(struct history_ring *ring);

/** Append a record from bytes (tests, and sources other than mbufs). */
void history_ring_append(struct history_ring *ring, uint64_t timestamp_ns, uint32_t wire_length,
			 const uint8_t *data, uint32_t captured_length);

/** A reader's position: a chunk's serial and an offset in it, and the packet number there. */
struct history_cursor {
	uint64_t serial;
	uint32_t offset;
	uint64_t index;                /**< packet number of the record at the position */
};

/** Where history_ring_seek() put the cursor. */
struct history_seek {
	bool start_lost;               /**< the ring no longer holds packets as old as asked */
	uint64_t oldest_ns;            /**< time of the oldest packet held (when start_lost) */
};

/**
 * Place @p cursor on the oldest held chunk that may hold packets at or after
 * @p time_ns (records before it are the reader's to skip). Reader side.
 */
void history_ring_seek(struct history_ring *ring, uint64_t time_ns, struct history_cursor *cursor,
		       struct history_seek *seek);

/** What history_ring_read() found. */
struct history_read {
	uint32_t length;               /**< bytes of whole records copied to the buffer */
	uint32_t packets;              /**< records in them */
	uint64_t lost;                 /**< packets overwritten before they could be read */
};

/**
 * Copy the records after @p cursor (from one chunk, at most @p size bytes)
 * into @p buffer (at least ring->chunk_size bytes, so whole records fit)
 * and move the cursor past them. Records the appender
 * overwrote before or while they were copied are never returned: they are
 * counted in lost, and the cursor jumps to the oldest held chunk.
 * length 0 with lost 0: nothing new yet. Reader side.
 */
struct history_read history_ring_read(struct history_ring *ring, struct history_cursor *cursor,
				      uint8_t *buffer, uint32_t size);

/** The record at @p offset of a buffer history_ring_read() filled. */
static inline const struct history_record *
history_record_at(const uint8_t *buffer, uint32_t offset)
{
	return (const struct history_record *)(const void *)(buffer + offset);
}

/** Time of the oldest packet held, or 0 when none. Any thread. */
uint64_t history_ring_oldest_ns(struct history_ring *ring);

#endif
