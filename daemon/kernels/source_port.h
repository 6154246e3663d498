/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The DPDK port reader of the source kernel (each function is the kernel_ops one of a port source).
 */
#ifndef JETSTREAM_KERNELS_SOURCE_PORT_H
#define JETSTREAM_KERNELS_SOURCE_PORT_H

#include "kernels/source_reader.h"

int source_port_init(struct kernel_instance *instance);
unsigned source_port_process(struct kernel_instance *instance);
unsigned source_port_stats(const struct kernel_instance *instance, struct kernel_stat *stats);
void source_port_destroy(struct kernel_instance *instance);

/**
 * Parse a `port:` device string as EAL will (rte_devargs_parse, after the
 * driver plugins are loaded, so a vdev name is matched against its drivers).
 * @return true, or false with what to fix in @p error.
 */
bool source_port_check_device(const char *device, char *error, size_t error_size);

/**
 * Port name that DPDK registers for a device string: the PCI address itself,
 * or the vdev name before the first comma (`net_af_packet0,iface=x` ->
 * `net_af_packet0`).
 */
/**
 * Whether the port of @p params keeps every packet of one @p partition key in
 * one queue, so that queue i can feed replica i of a consumer partitioned that
 * way. The first consumer that asks settles the device's spreading (its RSS
 * configuration) before the device starts; later ones get what it settled.
 * @p reason says why, for the log. cp only.
 */
bool source_port_spreads_by(const struct source_params *params, enum partition_key partition,
			    char *reason, size_t size);

/**
 * Whether the queue count of the device string agrees with `queues:` where
 * both are written (af_packet's qpairs). Pure. @return true, or false with
 * what to fix in @p error.
 */
bool source_port_check_queues(const struct source_params *params, char *error,
			      size_t error_size);

void source_port_device_name(const char *device, char *name, size_t size);

#endif
