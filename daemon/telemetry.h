/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The daemon's commands on DPDK's telemetry socket (`eal_args: [--telemetry]`),
 * for dpdk-telemetry.py:
 *   /jetstream/status          version, uptime, generation, reloads, packets
 *   /jetstream/kernels         the kernel names
 *   /jetstream/kernels,NAME    one kernel's figures, summed over its replicas
 * The callbacks run on DPDK's telemetry thread: they read the copy the control
 * thread publishes each second (status_take_published()), never the graph.
 */
#ifndef JETSTREAM_TELEMETRY_H
#define JETSTREAM_TELEMETRY_H

/**
 * Register the commands (once, after rte_eal_init(); harmless when the
 * telemetry socket is off). Failures are logged, never fatal.
 */
void telemetry_register(void);

#endif
