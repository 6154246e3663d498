/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What the daemon is doing now, as plain data: the one place that reads the
 * running graph's figures for the control socket, the metrics, DPDK
 * telemetry and systemd's STATUS=. Renderers take a snapshot and never touch
 * the graph themselves.
 *
 * Counters in a snapshot never go back while the daemon runs: a replica's
 * figures include those of the instances a reload retired under the same
 * kernel name, type and replica number (graph_retired), so a kept or changed
 * kernel keeps counting.
 *
 * Threads: status_take(), status_tick() and the status_count_* calls are for
 * the control thread only. status_take_published() may be called from any
 * thread (DPDK's telemetry thread): it copies the snapshot of the last tick
 * under a mutex.
 */
#ifndef JETSTREAM_STATUS_H
#define JETSTREAM_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel_runtime.h"

/** One input ring of an instance. */
struct status_input {
	const char *producer;        /**< interned kernel name */
	unsigned producer_replica;
	unsigned used;               /**< elements queued now */
	unsigned capacity;
};

/** One replica of one kernel (or, removed, the retired figures of one). */
struct status_instance {
	const char *kernel;          /**< interned name */
	const char *type;            /**< interned kernel_ops.name */
	unsigned replica;
	unsigned replica_count;      /**< 0: the kernel was removed by a reload */
	unsigned lcore;              /**< polling lcore; the main lcore's id for the sink thread */
	bool on_sink_thread;
	bool is_source;              /**< its stats hold the received/dropped accounting */
	/** counters and stats, carried across reloads (names interned) */
	struct kernel_totals totals;
	double items_in_per_second;  /**< over the last tick interval; 0 before two ticks */
	double items_out_per_second;
	unsigned input_count;
	struct status_input *inputs;
};

/** One polling thread. */
struct status_lcore {
	unsigned lcore;
	bool sink_thread;
	uint64_t rounds;
	double busy_ratio;           /**< share of the last tick interval spent in busy rounds */
};

struct status_snapshot {
	const char *version;
	double uptime_seconds;
	unsigned generation;
	uint64_t reloads_ok;
	uint64_t reloads_failed;
	unsigned pipeline_count;
	char **pipeline_paths;               /**< the running configuration's pipeline files (owned) */
	unsigned lcore_count;
	struct status_lcore *lcores;
	unsigned instance_count;
	struct status_instance *instances;   /**< live replicas in graph order, then removed kernels */
};

struct config;

/**
 * Start the clock of uptime and remember where the running configuration is
 * (*@p running, replaced by each reload; its pipeline files are named in
 * snapshots). Control thread, once, before the first snapshot.
 */
void status_start(struct config *const *running);

/**
 * The figures of the running generation now, rates from the last ticks.
 * Control thread. @return NULL when out of memory; free with status_free().
 */
struct status_snapshot *status_take(void);

/** Free a snapshot (NULL is fine). */
void status_free(struct status_snapshot *snapshot);

/**
 * Sample the figures for rates and busy shares, and publish a copy for
 * status_take_published(). The control loop calls it about once a second;
 * calls closer than STATUS_TICK_NS apart do nothing.
 * @return the tick's snapshot, owned by status.c and valid until the next
 * tick, or NULL when it did not sample.
 */
const struct status_snapshot *status_tick(void);

/** The least interval between two samples of status_tick(). */
#define STATUS_TICK_NS 1000000000ull

/**
 * A copy of the snapshot of the last tick, from any thread.
 * @return NULL before the first tick or when out of memory.
 */
struct status_snapshot *status_take_published(void);

/** Count a reload's outcome (reload_sequence.c). */
void status_count_reload(bool succeeded);

/** One kernel's figures over its rows (status_kernel_sum()). */
struct status_kernel_sum {
	struct kernel_totals totals;  /**< every replica's, live and retired */
	double items_in_per_second;
	double items_out_per_second;
	unsigned replica_count;       /**< of the live kernel; 0 when a reload removed it */
};

/**
 * Sum the rows of the kernel of row @p index (same name and type) into
 * @p sum. Any thread, on a snapshot of its own.
 * @return false, with @p sum untouched, when an earlier row is of the same
 * kernel: each kernel is summed once, at its first row.
 */
bool status_kernel_sum(const struct status_snapshot *snapshot, unsigned index,
		       struct status_kernel_sum *sum);

/** The rows of running instances (not those of retired ones). Any thread, on its own snapshot. */
unsigned status_running_instances(const struct status_snapshot *snapshot);

/**
 * Sum of one counter over the source instances: packets received by every
 * source (items_out of sources) and the total rate, for STATUS= lines.
 */
void status_source_totals(const struct status_snapshot *snapshot, uint64_t *packets,
			  double *packets_per_second);

#endif
