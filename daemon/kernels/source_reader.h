/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What the `source` kernel's three readers share: its parameters, pacing and
 * the packet counts. The readers (pcap files in source_pcap.c, DPDK ports in
 * source_port.c, the generator in source_synthetic.c) include this header
 * and their own, never source.h, so the kernel calls its readers and no
 * reader calls back.
 */
#ifndef JETSTREAM_KERNELS_SOURCE_READER_H
#define JETSTREAM_KERNELS_SOURCE_READER_H

#include <limits.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_cycles.h>

#include "kernel.h"
#include "packet.h"

/** Stored for `loop: forever`. */
#define SOURCE_LOOP_FOREVER UINT64_MAX

/** Most concurrent flows a synthetic source generates (its alias table: 8 bytes each). */
#define SYNTHETIC_MAX_FLOWS (1ull << 26)
/** Most sources: IPv4 sources are numbered inside 10.0.0.0/8. */
#define SYNTHETIC_MAX_SOURCES (1ull << 24)

/** The `synthetic:` mapping: packets made on the worker lcore, for benchmarks and soak tests. */
struct synthetic_params {
	uint64_t packets;                  /**< then the source finishes; 0 = endless */
	uint64_t sources;                  /**< distinct source addresses */
	uint64_t flows;                    /**< distinct 5-tuples, >= sources; 0 = one per source */
	double zipf;                       /**< skew of flow popularity; 0 = uniform */
	struct config_unsigned_list sizes; /**< frame lengths, taken in turn */
	double ipv6_share;                 /**< share of the sources that are IPv6 */
	uint64_t rate_pps;                 /**< pace; 0 = as fast as the worker can */
	uint64_t seed;                     /**< same seed, same packet sequence */
};

/** Bytes of the `pcap:` value: several paths or globs. */
#define SOURCE_PCAP_TEXT_MAX (4 * PATH_MAX)

/** `reader:` of a pcap source. */
enum source_pcap_reader { SOURCE_READER_AUTO, SOURCE_READER_LIBPCAP };

struct source_params {
	/**
	 * Files to read (pcap or pcapng) as one stream: paths or globs, each
	 * NUL-ended, an empty text after the last (CONFIG_STRING_LIST); empty
	 * for a port. A single file is stored as a plain string.
	 */
	char pcap[SOURCE_PCAP_TEXT_MAX];
	uint32_t reader;     /**< pcap: enum source_pcap_reader */
	char port[256];      /**< PCI address or DPDK vdev string; empty for a file */
	uint64_t loop;       /**< pcap: times the file is read */
	uint64_t rate_pps;   /**< pcap: pace to this many packets per second, 0 = unpaced */
	uint64_t queues;     /**< port: RSS queues, one replica each */
	uint32_t queue_mapping; /**< port: enum source_queue_mapping */
	bool preload;        /**< pcap: read the whole file into memory at start, replay from there */
	bool synthetic;      /**< `synthetic:` was written: packets are generated */
	struct synthetic_params synthetic_params;
};

/** How a port's queues feed a consumer with as many replicas (`queue_mapping:`). */
enum source_queue_mapping {
	SOURCE_QUEUES_DIRECT = 0, /**< queue i feeds replica i where the device spreads as it needs */
	SOURCE_QUEUES_SOFTWARE,   /**< always the software partition (to compare) */
};

/** Where a source's packets come from; exactly one of `pcap:`, `port:`, `synthetic:`. */
enum source_mode { SOURCE_PCAP, SOURCE_PORT, SOURCE_SYNTHETIC };

static inline enum source_mode
source_mode_of(const struct source_params *params)
{
	if (params->synthetic)
		return SOURCE_SYNTHETIC;
	return params->pcap[0] != '\0' ? SOURCE_PCAP : SOURCE_PORT;
}


/** Pacing to a packet rate on the TSC (rate_pps of pcap and synthetic sources). */
struct source_pace {
	uint64_t start_cycles; /**< 0 = not started: the first call starts the clock */
	uint64_t packets;      /**< sent since start_cycles */
};

/**
 * How many of @p wanted packets @p rate_pps allows now; the caller adds what
 * it sent to pace->packets. @p rate_pps 0 allows everything.
 */
static inline unsigned
source_pace_allowance(struct source_pace *pace, uint64_t rate_pps, unsigned wanted)
{
	uint64_t now = rte_get_tsc_cycles(), due;

	if (rate_pps == 0)
		return wanted;
	if (pace->start_cycles == 0)
		pace->start_cycles = now;
	due = (uint64_t)((unsigned __int128)(now - pace->start_cycles) * rate_pps /
			 rte_get_tsc_hz()) + 1;
	return due > pace->packets ? (unsigned)RTE_MIN(due - pace->packets, wanted) : 0;
}

/** What every reader counts about the packets it brings in. */
struct source_packet_counts {
	uint64_t packets;
	uint64_t bytes;             /**< wire length */
	uint64_t non_ip_packets;    /**< not keyed by a source address downstream */
	uint64_t malformed_packets; /**< a header was cut or invalid */
};

/** Account one parsed packet. */
static inline void
source_count_packet(struct source_packet_counts *counts, const struct packet_meta *meta)
{
	counts->packets++;
	counts->bytes += meta->wire_length;
	counts->non_ip_packets += meta->ip_version == 0;
	counts->malformed_packets += (meta->flags & PACKET_FLAG_MALFORMED) != 0;
}

/** Write the counts as statistics. @return number written (4). */
static inline unsigned
source_packet_stats(const struct source_packet_counts *counts, struct kernel_stat *stats)
{
	stats[0] = (struct kernel_stat){"packets", counts->packets};
	stats[1] = (struct kernel_stat){"bytes", counts->bytes};
	stats[2] = (struct kernel_stat){"non_ip_packets", counts->non_ip_packets};
	stats[3] = (struct kernel_stat){"malformed_packets", counts->malformed_packets};
	return 4;
}

#endif
