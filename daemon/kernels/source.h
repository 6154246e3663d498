/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Parameters of the `source` kernel, shared by its two readers: pcap files
 * (kernels/source_pcap.c) and DPDK ports (kernels/source_port.c).
 */
#ifndef JETSTREAM_KERNELS_SOURCE_H
#define JETSTREAM_KERNELS_SOURCE_H

#include <limits.h>
#include <stdint.h>

#include "kernel.h"
#include "packet.h"

/** Stored for `loop: forever`. */
#define SOURCE_LOOP_FOREVER UINT64_MAX

struct source_params {
	char pcap[PATH_MAX]; /**< file to read (pcap or pcapng); empty for a port */
	char port[256];      /**< PCI address or DPDK vdev string; empty for a file */
	uint64_t loop;       /**< pcap: times the file is read */
	uint64_t rate_pps;   /**< pcap: pace to this many packets per second, 0 = unpaced */
	uint64_t queues;     /**< port: RSS queues, one replica each */
	bool preload;        /**< pcap: read the whole file into memory at start, replay from there */
};

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
unsigned source_packet_stats(const struct source_packet_counts *counts, struct kernel_stat *stats);

/** Readers behind the source kernel; each is a subset of kernel_ops. */
int source_pcap_init(struct kernel_instance *instance);
unsigned source_pcap_process(struct kernel_instance *instance);
unsigned source_pcap_stats(const struct kernel_instance *instance, struct kernel_stat *stats);
void source_pcap_destroy(struct kernel_instance *instance);
/** Continue @p old's reading position; pacing restarts at the new rate. */
void source_pcap_take_state(struct kernel_instance *instance, struct kernel_instance *old);

int source_port_init(struct kernel_instance *instance);
unsigned source_port_process(struct kernel_instance *instance);
unsigned source_port_stats(const struct kernel_instance *instance, struct kernel_stat *stats);
void source_port_destroy(struct kernel_instance *instance);

/**
 * Port name that DPDK registers for a device string: the PCI address itself,
 * or the vdev name before the first comma (`net_af_packet0,iface=x` ->
 * `net_af_packet0`).
 */
void source_port_device_name(const char *device, char *name, size_t size);

/** true when @p device looks like a PCI address (DDDD:BB:DD.F or BB:DD.F). */
bool source_port_is_pci(const char *device);

#endif
