/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * From a validated configuration to a runnable graph generation: kernel
 * instances (one per replica), the rings between them, each instance's
 * wiring and lcore.
 *
 * Instances and rings are reference-counted so that a reload can carry them
 * into the next generation: a kept instance keeps its state, a ring whose two
 * ends continue keeps what is queued in it.
 */
#ifndef JETSTREAM_GRAPH_H
#define JETSTREAM_GRAPH_H

#include <stddef.h>

#include <rte_mempool.h>

#include "config.h"
#include "kernel_runtime.h"
#include "reload.h"

/** Where instances run and what rings look like; the same for every generation. */
struct graph_layout {
	struct rte_mempool *mempool;
	unsigned main_lcore;                  /**< the control thread; instances placed here run on the sink thread */
	unsigned worker_count;
	unsigned worker_lcores[RTE_MAX_LCORE];
	unsigned ring_size;                   /**< elements per ring (power of two) */
	bool idle_sleep;                      /**< idle workers sleep (settings `idle: sleep`) */
};

/** One kernel of a generation: its replicas are consecutive instances. */
struct graph_kernel {
	char name[CONFIG_NAME_MAX];
	const struct kernel_ops *ops;
	unsigned first_instance;
	unsigned replicas;
	enum reload_action action;            /**< how this generation got it */
};

/**
 * What retired instances of one kernel did, kept for the exit summary. It
 * names its type rather than pointing at the ops: a plugin's code may be
 * unloaded long before the summary (the totals' statistic names are
 * interned for the same reason).
 */
struct graph_retired {
	char name[CONFIG_NAME_MAX];
	char type[CONFIG_NAME_MAX];           /**< kernel_ops.name */
	unsigned replica;                     /**< one entry per replica, so per-replica counters never go back */
	bool is_source;                       /**< its packets count in the accounting */
	struct kernel_totals totals;
};

struct graph {
	unsigned generation;                  /**< 1 at start, +1 per successful reload */
	unsigned kernel_count;
	struct graph_kernel *kernels;         /**< in configuration order */
	unsigned instance_count;
	struct kernel_instance **instances;   /**< shared with other generations when kept */
	struct kernel_wiring *wirings;        /**< wirings[i] belongs to instances[i] */
	unsigned ring_count;
	struct kernel_ring **rings;           /**< every ring the wirings use */
	const struct graph_layout *layout;
	unsigned retired_count;
	struct graph_retired *retired;        /**< carried from generation to generation */
	unsigned retired_errors;              /**< retired instances that reported an error (carried) */
};

/**
 * What it takes to move from one generation to the next without losing an
 * item: the instances that retire (they keep their old wiring until they
 * have drained), the rings that go away, and for the next generation's
 * instances a transitional wiring that still reads those rings.
 */
struct graph_transition {
	struct graph *previous;
	struct graph *next;
	unsigned retiring_count;
	struct kernel_instance **retiring;      /**< previous instances with no successor */
	struct kernel_wiring *retiring_wirings; /**< their previous wiring, by index */
	struct kernel_wiring *next_wirings;     /**< next wirings plus rings still to drain */
	unsigned retired_ring_count;
	struct kernel_ring **retired_rings;     /**< in previous, not in next */
	bool *close_after_grace;                /**< per retired ring: its producer continues */
};

/**
 * Returned by graph_build() and graph_build_next() when a kernel's init failed
 * because of a configured value (kernel_instance.error_key): the message then
 * reads `file:line:col: error: kernel 'NAME': ...` at that key. Not an errno.
 */
#define GRAPH_CONFIG_ERROR (-4096 - 78)

/**
 * Build the first generation for @p config and initialise every instance.
 * @return 0, or -errno with a message in @p error (nothing is left allocated).
 */
int graph_build(const struct config *config, const struct graph_layout *layout,
		struct graph **graph, char *error, size_t error_size);

/**
 * Build the generation after @p previous, following @p plan: kept instances
 * and rings are shared, new instances are initialised (on the calling
 * control thread), and a state-taking instance is placed on its
 * predecessor's lcore with take_state_from set.
 * @return 0 with @p transition filled, or -errno with a message (previous untouched).
 */
int graph_build_next(struct graph *previous, const struct config *config,
		     const struct reload_plan *plan, struct graph_transition *transition,
		     char *error, size_t error_size);

/**
 * The next generation is published: point the rings it shares with the
 * previous one at their new ends (control-thread bookkeeping for later reloads).
 */
void graph_transition_commit(struct graph_transition *transition);

/** true once every retiring instance has finished and every retired ring is empty. */
bool graph_transition_drained(const struct graph_transition *transition);

/**
 * Close the retired rings whose producers continue: call once no lcore can
 * still be using the previous generation's wiring.
 */
void graph_transition_close_retired(struct graph_transition *transition);

/** Free the transition's own arrays (not the graphs). */
void graph_transition_free(struct graph_transition *transition);

/**
 * Keep the figures of the transition's retiring instances in the next
 * generation. Call once they have finished, before the previous generation
 * is released.
 */
void graph_transition_keep_figures(struct graph_transition *transition);

/**
 * The kernel @p name of type @p type (a kernel_ops.name) in @p graph, or
 * NULL. By type name: a plugin reloaded with new code is the same kernel.
 */
const struct graph_kernel *graph_find_kernel(const struct graph *graph, const char *name,
					     const char *type);

/** The retired figures of replica @p replica of kernel @p name of type @p type, or NULL. */
struct graph_retired *graph_find_retired(const struct graph *graph, const char *name,
					 const char *type, unsigned replica);

/**
 * Add the retired figures of every replica of kernel @p name of type @p type
 * into @p totals. @return whether there were any.
 */
bool graph_add_retired(const struct graph *graph, const char *name, const char *type,
		       struct kernel_totals *totals);

/**
 * Drop this generation's references: instances and rings nobody else holds
 * are destroyed (queued packets go back to the pool).
 */
void graph_release(struct graph *graph);

#endif
