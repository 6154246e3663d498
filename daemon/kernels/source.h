/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The `source` kernel: packets from a pcap/pcapng file, a DPDK port or the
 * generator, through the reader its parameters choose.
 */
#ifndef JETSTREAM_KERNELS_SOURCE_H
#define JETSTREAM_KERNELS_SOURCE_H

#include "kernels/source_pcap.h"
#include "kernels/source_port.h"
#include "kernels/source_reader.h"
#include "kernels/source_synthetic.h"

/** The key that selects @p mode: `pcap`, `port` or `synthetic`. */
const char *source_mode_key(enum source_mode mode);

/**
 * Whether kernel @p ops with parameters @p params is a port source whose
 * queues feed a consumer of @p replicas replicas partitioned by @p partition
 * directly: queue i to replica i, no software hash (`queue_mapping: direct`,
 * `queues:` equal to @p replicas, and a device that spreads that way).
 * @p reason says why or why not, for the log ("" when the question does not
 * arise: not a port, or other counts). cp only.
 */
bool source_feeds_replicas_directly(const struct kernel_ops *ops, const void *params,
				    unsigned replicas, enum partition_key partition, char *reason,
				    size_t size);
struct kernel_spec;

/**
 * The most mbufs the source @p spec takes from the pool over its whole run,
 * when the configuration bounds it: a pcap file read once (`loop: 1`), from its
 * size, for mbufs of @p data_room bytes.
 * @return the bound, or 0 when there is none (a port, a generator, a file read
 *         more than once or that cannot be stat()ed, a kernel of another type)
 */
uint64_t source_mbuf_bound(const struct kernel_spec *spec, uint32_t data_room);

#endif
