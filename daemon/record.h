/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Stream types and the fixed-size records that flow on record edges.
 *
 * Packets travel as mbuf pointers; everything a kernel derives from them
 * (counts, alerts, flows) is copied by value into element rings, as in the
 * Jetstream paper: intermediate results are small, so copying them is cheaper
 * than managing their lifetime across lcores.
 */
#ifndef JETSTREAM_RECORD_H
#define JETSTREAM_RECORD_H

#include <stdint.h>

/** What an edge carries. */
enum stream_type {
	STREAM_NONE = 0,  /**< no input (sources) or no output (sinks) */
	STREAM_PACKET,    /**< struct rte_mbuf * */
	STREAM_SRC_COUNT, /**< struct src_count_record */
	STREAM_ALERT,     /**< struct alert_record */
	STREAM_ANY_RECORD /**< accepted by sinks: any record type above */
};

/** Name used in error messages and the docs ("pkt", "src_count", ...). */
const char *stream_type_name(enum stream_type type);

/**
 * Size in bytes of one element on an edge of @p type (a multiple of 4, as
 * rte_ring element rings require).
 */
unsigned stream_element_size(enum stream_type type);

/**
 * First member of every record. The producer fills partition_hash so a
 * replicated consumer can be fed without knowing the record's layout.
 */
struct record_header {
	uint16_t type;           /**< enum stream_type of the record */
	uint16_t reserved;
	uint32_t partition_hash; /**< hash of the record's key (the source address) */
	const char *kernel;      /**< emitting instance name; outlives the record (RCU) */
};

/** One source's packet and byte counts over [start_ns, end_ns]. */
struct src_count_record {
	struct record_header header;
	uint8_t source_address[16]; /**< IPv4-mapped or IPv6, see packet_meta */
	uint64_t packets;
	uint64_t bytes;
	uint64_t start_ns;          /**< window start, or the first packet's time for `total` */
	uint64_t end_ns;            /**< window end, or the last packet's time for `total` */
};

/** Metric compared by a threshold. */
enum threshold_metric { THRESHOLD_METRIC_PACKETS = 0, THRESHOLD_METRIC_BYTES = 1 };

/** A source whose metric went above a threshold in one window. */
struct alert_record {
	struct record_header header;
	uint8_t source_address[16];
	uint64_t value;
	uint64_t threshold;
	uint64_t start_ns;
	uint64_t end_ns;
	uint32_t metric;            /**< enum threshold_metric */
	uint32_t reserved;
};

/** Large enough for any record; sinks read into this. */
union any_record {
	struct record_header header;
	struct src_count_record src_count;
	struct alert_record alert;
};

#endif
