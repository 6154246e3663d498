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

#endif
