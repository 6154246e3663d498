/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The kernel API's daemon side: what the graph and the runtime use besides
 * what a kernel may touch (include/jetstream/kernel.h). Kernels never
 * include this header.
 */
#ifndef JETSTREAM_KERNEL_RUNTIME_H
#define JETSTREAM_KERNEL_RUNTIME_H

#include <rte_ring.h>

#include "kernel.h"

/**
 * One single-producer/single-consumer edge ring. It may outlive a graph
 * generation: a reload that keeps both ends keeps the ring, so nothing in it
 * is lost or reordered.
 */
struct kernel_ring {
	struct rte_ring *ring;
	enum stream_type type;                 /**< of the producer's output */
	unsigned element_size;                 /**< stream_element_size(type) */
	/**
	 * The producer will never enqueue again: set by the producer when it
	 * finishes (release), or by cp once a reload took the edge away and
	 * every worker has moved on. Consumers: ro (acquire), then check empty.
	 */
	atomic_bool closed;
	uint64_t enqueued;                     /**< dp (producer): wo, cp: ro */
	struct kernel_instance *producer;      /**< cp only: ends of the edge, for reloads */
	struct kernel_instance *consumer;
	unsigned references;                   /**< cp only: graphs that hold it */
};

/** One input ring of an instance (kernel_instance.inputs). */
struct kernel_input {
	struct kernel_ring *ring;
};

/** All rings that lead to one consumer kernel (one ring per consumer replica). */
struct kernel_output_edge {
	unsigned ring_count;                    /**< consumer replicas */
	enum partition_key partition;           /**< of packets, when ring_count > 1 */
	struct kernel_ring **rings;             /**< ring i feeds consumer replica i */
};

/**
 * What an instance reads and writes in one graph generation. The lcore that
 * polls the instance installs it when it picks up a new schedule, between two
 * bursts, so an instance never sees half of a rewiring.
 */
struct kernel_wiring {
	unsigned input_count;
	struct kernel_input *inputs;
	unsigned output_edge_count;
	struct kernel_output_edge *output_edges;
};

/** Figures of one kernel summed over replicas (and over generations, across reloads). */
struct kernel_totals {
	struct kernel_counters counters;
	unsigned stat_count;
	struct kernel_stat stats[KERNEL_MAX_STATS];
};

/** Add an instance's counters and statistics (cp: read while it runs or after). */
void kernel_totals_add_instance(struct kernel_totals *totals, const struct kernel_instance *instance);

/** Add @p more into @p totals, statistic by statistic name. */
void kernel_totals_add(struct kernel_totals *totals, const struct kernel_totals *more);

/**
 * The process-lifetime copy of @p name. Records carry their kernel's name as a
 * pointer, and a record may still wait in a ring after a reload destroyed the
 * instance that emitted it, so names must outlive instances. Any thread (a
 * lock guards the list). @return NULL when out of memory.
 */
const char *kernel_intern_name(const char *name);

/** Set an instance's wiring (the polling lcore does this; tests may too). */
void kernel_install_wiring(struct kernel_instance *instance, const struct kernel_wiring *wiring);

/**
 * Stop every source: the daemon is stopping (kernel_should_stop() turns
 * true). cp: called once; dp reads it.
 */
void kernel_request_stop(void);

/** true once kernel_request_stop() was called. */
bool kernel_stop_requested(void);

/**
 * What went wrong with an instance, for the log: the init error, or the
 * failure dp reported. cp only, once the instance finished or its lcore
 * stopped. @return "" when nothing did.
 */
const char *kernel_instance_error(const struct kernel_instance *instance);

/** Pick a replica for a 32-bit hash without a division. */
static inline unsigned
kernel_partition(uint32_t hash, unsigned replica_count)
{
	return (unsigned)(((uint64_t)hash * replica_count) >> 32);
}

#endif
