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
