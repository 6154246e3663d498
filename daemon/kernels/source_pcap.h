/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The pcap/pcapng file reader of the source kernel (each function is the kernel_ops one of a file source).
 */
#ifndef JETSTREAM_KERNELS_SOURCE_PCAP_H
#define JETSTREAM_KERNELS_SOURCE_PCAP_H

#include "kernels/source_reader.h"

int source_pcap_init(struct kernel_instance *instance);
unsigned source_pcap_process(struct kernel_instance *instance);
unsigned source_pcap_stats(const struct kernel_instance *instance, struct kernel_stat *stats);
void source_pcap_destroy(struct kernel_instance *instance);
/** Continue @p old's reading position; pacing restarts at the new rate. */
void source_pcap_take_state(struct kernel_instance *instance, struct kernel_instance *old);

/**
 * Open @p path as the pcap reader will at start (regular file, pcap or pcapng
 * header, Ethernet link type) and close it. Never blocks: a FIFO is refused.
 * @return true, or false with what to fix in @p error.
 */
bool source_pcap_check_file(const char *path, char *error, size_t error_size);

#endif
