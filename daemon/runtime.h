/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The runtime: worker lcores polling their schedules, the sink thread
 * polling the instances that do I/O, publication of new generations, stop requests
 * and the clock.
 */
#ifndef JETSTREAM_RUNTIME_H
#define JETSTREAM_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

struct graph;
struct graph_transition;
struct kernel_instance;
struct kernel_wiring;

/** One instance to poll and the wiring it must have while it is polled. */
struct schedule_entry {
	struct kernel_instance *instance;
	const struct kernel_wiring *wiring;
};

/** Kernel instances one lcore polls in turn, one burst each. */
struct schedule {
	uint64_t serial;  /**< unique per publication: a reused address is not a seen schedule */
	unsigned count;
	struct schedule_entry entries[];
};

/**
 * Publish the first generation and launch the worker lcores that have
 * instances, and the sink thread when instances do I/O (those placed on the
 * main lcore: the control thread itself polls nothing).
 * @return 0 or -errno.
 */
int runtime_start(struct graph *graph);

/**
 * Start moving to transition->next: publish schedules in which the next
 * generation runs while retiring instances and retired rings drain, wait
 * until every worker has passed a quiescent state (rte_rcu QSBR), then close
 * the retired rings whose producers moved on. The transition is owned by the
 * runtime until runtime_finish_transition() completes it.
 * @return 0 or -errno (nothing published).
 */
int runtime_begin_transition(struct graph_transition *transition);

/** true while a transition has begun and not yet finished. */
bool runtime_transition_pending(void);

/**
 * When everything retiring has drained: publish the final schedules, wait for
 * the grace period, and release the previous generation.
 * @return true when no transition is pending any more.
 */
bool runtime_finish_transition(void);

/**
 * The reload in progress (its retiring instances still drain), or NULL.
 * Control thread.
 */
const struct graph_transition *runtime_pending_transition(void);

/** The generation running now (the next one as soon as a transition begins). */
struct graph *runtime_graph(void);

/** Ask every source to stop reading; the graph then drains. */
void runtime_request_stop(void);

/** true once runtime_request_stop() was called. Read by sources each burst. */
bool runtime_stop_requested(void);

/** true when every instance, running or retiring, has finished. */
bool runtime_graph_finished(void);

/** Stop the worker loops (after the graph finished, or to abandon it) and wait for them. */
void runtime_join(void);

/** After runtime_join(): release every generation (instances, rings, schedules). */
void runtime_release(void);

/** What one polling thread did so far (cp reads it while the thread runs). */
struct runtime_lcore_figures {
	unsigned lcore;          /**< EAL lcore id; the main lcore's id for the sink thread */
	bool sink_thread;        /**< the sink thread, which polls the instances that do I/O */
	uint64_t rounds;         /**< rounds of its schedule polled: grows while it makes progress */
	uint64_t busy_cycles;    /**< TSC cycles of the rounds that found work */
};

/**
 * The figures of every launched worker lcore and of the sink thread, in lcore
 * order, at most @p capacity. Control thread.
 * @return how many were written.
 */
unsigned runtime_lcore_figures(struct runtime_lcore_figures *figures, unsigned capacity);

#endif
