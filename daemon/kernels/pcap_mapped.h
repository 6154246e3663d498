/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Classic pcap files read in place: the file is mapped, its records walked
 * without a copy, and each frame handed out as an mbuf attached to the mapped
 * bytes (an external buffer; the source copies frames of 128 bytes or fewer,
 * which measured cheaper). The walker reports what libpcap 1.10 reports
 * for the same bytes: the same records, the same captured lengths and times,
 * and the same error text for a cut or damaged record.
 *
 * Taken: version 2.4, microsecond (0xa1b2c3d4) or nanosecond (0xa1b23c4d)
 * magic in either byte order, link type 1 (Ethernet) with no extension bits.
 * Everything else (pcapng, other versions, the Kuznetzov/Navtel variants,
 * FCS bits in the link type, other link types) goes to libpcap, which reads it
 * or refuses it with its own message.
 */
#ifndef JETSTREAM_KERNELS_PCAP_MAPPED_H
#define JETSTREAM_KERNELS_PCAP_MAPPED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_mbuf.h>

/** Bytes of the file header and of a record header. */
#define PCAP_FILE_HEADER_SIZE 24u
#define PCAP_RECORD_HEADER_SIZE 16u

/** libpcap's max_snaplen_for_dlt() for Ethernet: larger records are an error. */
#define PCAP_MAXIMUM_SNAPLEN 262144u

/** Where the walker is in a mapped file. */
struct pcap_walker {
	const uint8_t *bytes;
	size_t length;
	size_t position;      /**< next record header */
	uint32_t snapshot;    /**< the file's snap length as libpcap adjusts it */
	bool swapped;         /**< written in the other byte order */
	bool microseconds;    /**< the fraction is in us: scaled to ns as libpcap does */
};

/** One record as libpcap's pcap_next_ex() would give it. */
struct pcap_record {
	const uint8_t *data;
	uint32_t captured_length;
	uint32_t wire_length;
	uint64_t time_ns;
};

enum pcap_walk_result { PCAP_WALK_RECORD, PCAP_WALK_END, PCAP_WALK_ERROR };

/**
 * Start @p walker on the @p length bytes at @p bytes if the mapped reader
 * takes the file (see the file comment).
 * @return true when taken; false: read it with libpcap.
 */
bool pcap_walker_start(struct pcap_walker *walker, const uint8_t *bytes, size_t length);

static inline uint32_t
pcap_walker_field(const struct pcap_walker *walker, const uint8_t *at)
{
	uint32_t value;

	memcpy(&value, at, sizeof(value));
	return walker->swapped ? rte_bswap32(value) : value;
}

/*
 * A record time in ns as the pcap reader computed it from libpcap's header:
 * the seconds are the file's unsigned 32 bits; libpcap keeps the fraction as
 * a signed 32-bit value in a long, scales microseconds by 1000 there, and the
 * reader takes the low 32 bits of that.
 */
static inline uint64_t
pcap_walker_time(const struct pcap_walker *walker, uint32_t seconds, uint32_t fraction)
{
	int64_t scaled = (int64_t)(int32_t)fraction * (walker->microseconds ? 1000 : 1);

	return (uint64_t)seconds * 1000000000ull + (uint64_t)(uint32_t)scaled;
}

/* libpcap's error for a record whose bytes end before @p wanted. */
static inline enum pcap_walk_result
pcap_walker_cut(uint32_t wanted, size_t got, char *error, size_t error_size)
{
	snprintf(error, error_size, "truncated dump file; tried to read %u captured bytes, only got %zu",
		 wanted, got);
	return PCAP_WALK_ERROR;
}

/*
 * The rules of libpcap's pcap_next_packet() (sf-pcap.c) for a 2.4 file: a
 * record larger than 262144 bytes is an error; one larger than the snap
 * length is cut to it (its bytes past it skipped); a record or header cut by
 * the end of the file is an error naming what was missing.
 */
static inline enum pcap_walk_result
pcap_walker_slow(struct pcap_walker *walker, struct pcap_record *record, size_t left,
		 char *error, size_t error_size)
{
	size_t data_left = left - PCAP_RECORD_HEADER_SIZE;
	uint32_t captured = record->captured_length;

	if (captured > PCAP_MAXIMUM_SNAPLEN) {
		if (captured > walker->snapshot)
			snprintf(error, error_size, "invalid packet capture length %u, bigger than "
				 "snaplen of %d", captured, (int)walker->snapshot);
		else
			snprintf(error, error_size, "invalid packet capture length %u, bigger than "
				 "maximum of %u", captured, PCAP_MAXIMUM_SNAPLEN);
		return PCAP_WALK_ERROR;
	}
	if (captured > walker->snapshot) {
		if (data_left < walker->snapshot)
			return pcap_walker_cut(walker->snapshot, data_left, error, error_size);
		if (data_left < captured)
			return pcap_walker_cut(captured, data_left, error, error_size);
		record->captured_length = walker->snapshot;
	} else if (data_left < captured) {
		return pcap_walker_cut(captured, data_left, error, error_size);
	}
	walker->position += PCAP_RECORD_HEADER_SIZE + captured;
	return PCAP_WALK_RECORD;
}

/**
 * The next record, in place. On PCAP_WALK_ERROR @p error holds libpcap's
 * text and the walker stays at the bad record.
 */
static inline enum pcap_walk_result
pcap_walker_next(struct pcap_walker *walker, struct pcap_record *record, char *error,
		 size_t error_size)
{
	const uint8_t *header = walker->bytes + walker->position;
	size_t left = walker->length - walker->position;

	if (unlikely(left < PCAP_RECORD_HEADER_SIZE)) {
		if (left == 0)
			return PCAP_WALK_END;
		snprintf(error, error_size, "truncated dump file; tried to read %u header bytes, "
			 "only got %zu", PCAP_RECORD_HEADER_SIZE, left);
		return PCAP_WALK_ERROR;
	}
	record->captured_length = pcap_walker_field(walker, header + 8);
	record->wire_length = pcap_walker_field(walker, header + 12);
	record->time_ns = pcap_walker_time(walker, pcap_walker_field(walker, header),
					   pcap_walker_field(walker, header + 4));
	record->data = header + PCAP_RECORD_HEADER_SIZE;
	if (likely(record->captured_length <= walker->snapshot &&
		   record->captured_length <= left - PCAP_RECORD_HEADER_SIZE)) {
		walker->position += PCAP_RECORD_HEADER_SIZE + record->captured_length;
		return PCAP_WALK_RECORD;
	}
	return pcap_walker_slow(walker, record, left, error, error_size);
}

/**
 * A mapped file shared by the mbufs attached to it. The reader holds one
 * reference and each attached mbuf one; the last to let go unmaps it (the
 * mbuf's free callback, on whichever lcore frees it last, or the reader).
 */
struct pcap_mapping {
	struct rte_mbuf_ext_shared_info shared; /* refcnt: atomic once mbufs are out */
	uint8_t *bytes;
	size_t length;
};

/**
 * Map @p descriptor (a regular file of @p length bytes, kept open by the
 * caller only as long as it likes).
 * @return the mapping with the reader's reference, or NULL with errno set.
 */
struct pcap_mapping *pcap_mapping_open(int descriptor, size_t length);

/** Drop the reader's reference: unmapped now, or when the last mbuf is freed. */
void pcap_mapping_release(struct pcap_mapping *mapping);

#endif
