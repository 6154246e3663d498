/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * From a validated configuration to a runnable graph: kernel instances (one
 * per replica), the rings between them, and the lcore of each instance.
 */
#ifndef JETSTREAM_GRAPH_H
#define JETSTREAM_GRAPH_H

#include <stddef.h>

#include <rte_mempool.h>

#include "config.h"
#include "kernel.h"

struct graph {
	const struct config *config;          /**< specs the instances point into */
	unsigned instance_count;
	struct kernel_instance *instances;    /**< replicas of each kernel, in config order */
	unsigned initialised_count;           /**< instances[0..n) went through init */
	unsigned ring_count;
	struct rte_ring **rings;
	unsigned main_lcore;                  /**< the control thread */
	unsigned worker_count;
	unsigned worker_lcores[RTE_MAX_LCORE];
};

/**
 * Create instances and rings for @p config and initialise every instance
 * (opening files and devices). Instances get their lcore: the control thread
 * for kernels that do blocking I/O, `cores:` when given, otherwise the worker
 * lcores in turn.
 *
 * @param ring_size  elements per ring (power of two)
 * @return 0, or -errno with a message in @p error (nothing is left allocated).
 */
int graph_build(const struct config *config, struct rte_mempool *mempool, unsigned main_lcore,
		const unsigned *worker_lcores, unsigned worker_count, unsigned ring_size,
		struct graph **graph, char *error, size_t error_size);

/** Destroy every instance and free the rings. The config is not freed. */
void graph_destroy(struct graph *graph);

/** Number of instances of the kernel named by @p spec, and the first one. */
struct kernel_instance *graph_find_replicas(struct graph *graph, const struct kernel_spec *spec,
					    unsigned *count);

#endif
