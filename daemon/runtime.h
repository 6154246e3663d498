/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The runtime: worker lcores polling their schedules, the control thread's
 * share of the graph (sinks), stop requests and the clock.
 */
#ifndef JETSTREAM_RUNTIME_H
#define JETSTREAM_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

struct graph;
struct kernel_instance;

/** Kernel instances one lcore polls in turn, one burst each. */
struct schedule {
	unsigned count;
	struct kernel_instance *instances[];
};

/**
 * Start the clock (call once, after rte_eal_init). Packet timestamps of live
 * sources and ticks use it.
 */
void runtime_clock_init(void);

/** Wall-clock time in nanoseconds from the TSC: cheap enough for every burst. */
uint64_t runtime_now_ns(void);

/**
 * Build the schedules of @p graph and launch one loop on every worker lcore
 * that has instances. Instances placed on the control thread are polled by
 * runtime_poll_control().
 * @return 0 or -errno.
 */
int runtime_start(struct graph *graph);

/**
 * Poll the control thread's instances once (and tick them when due).
 * @return items handled; 0 when idle.
 */
unsigned runtime_poll_control(void);

/** Ask every source to stop reading; the graph then drains. Signal-safe. */
void runtime_request_stop(void);

/** true once runtime_request_stop() was called. Read by sources each burst. */
bool runtime_stop_requested(void);

/** true when every instance of the running graph has finished. */
bool runtime_graph_finished(void);

/** Stop the worker loops (after the graph finished, or to abandon it) and wait for them. */
void runtime_join(void);

/** Poll one schedule once: what workers and the control thread both do. */
unsigned runtime_poll_schedule(struct schedule *schedule);

#endif
