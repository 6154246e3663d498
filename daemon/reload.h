/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The reload diff: what happens to each kernel when a new configuration
 * replaces the running one. Pure: it compares two configurations and touches
 * nothing, so every case is unit-tested without DPDK.
 */
#ifndef JETSTREAM_RELOAD_H
#define JETSTREAM_RELOAD_H

#include "config.h"

/** Fate of one kernel of the new configuration. */
enum reload_action {
	RELOAD_ADD,        /**< no kernel of that name and type ran: created */
	RELOAD_KEEP,       /**< same code, parameters, replicas and cores: kept by pointer */
	RELOAD_TAKE_STATE, /**< parameters changed: a new instance takes the old one's state */
	RELOAD_REPLACE,    /**< changed in a way state cannot follow: the old drains, the new starts empty */
};

/** Printable name of an action ("added", "kept", "changed", "replaced"). */
const char *reload_action_name(enum reload_action action);

struct reload_plan {
	/** Per kernel of the new configuration. */
	enum reload_action actions[CONFIG_MAX_KERNELS];
	/** Per kernel of the new configuration: index of its predecessor in the old one, or -1. */
	int predecessors[CONFIG_MAX_KERNELS];
	/** Per kernel of the old configuration: true when its instances retire (removed or replaced). */
	bool retiring[CONFIG_MAX_KERNELS];
	unsigned removed_count;          /**< old kernels with no successor (see reload_removed) */
};

/**
 * true when old kernel @p old_index is removed: gone from @p new_config, or
 * replaced by a kernel of another type under its name (not merely replaced).
 */
bool reload_removed(const struct reload_plan *plan, const struct config *old_config,
		    const struct config *new_config, unsigned old_index);

/**
 * Compare @p old_config (running) with @p new_config.
 *
 * Refuses, with an error naming the key, changes that need a restart: the
 * device or queue count of a port source, and the daemon settings lcores,
 * mempool_size, memory, hugepages, eal_args and ring_size.
 *
 * @return 0 with @p plan filled, or -EINVAL with @p errors filled.
 */
int reload_plan(const struct config *old_config, const struct config *new_config,
		struct reload_plan *plan, struct config_errors *errors);

#endif
