/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Daemon-internal view of a threshold with `alerts: lifecycle`: its open
 * alerts, for the control socket (`jetstreamctl alerts`). Not part of the
 * kernel API.
 *
 * Access rule: the replica's lcore (dp) publishes the open alerts that are
 * furthest above their limits, at most every THRESHOLD_VIEW_INTERVAL_NS and
 * only when they changed, from its tick (a pass over the table may take
 * several ticks); the control thread (cp) copies them without a lock
 * (publication.h).
 */
#ifndef JETSTREAM_KERNELS_THRESHOLD_H
#define JETSTREAM_KERNELS_THRESHOLD_H

#include <stdint.h>

#include "kernel.h"
#include "kernels/threshold_alerts.h"

/** Open alerts one replica publishes: the most `jetstreamctl alerts -n` shows per replica. */
#define THRESHOLD_VIEW_MAX 100

/** How often, at most, a replica publishes its open alerts (250 ms). */
#define THRESHOLD_VIEW_INTERVAL_NS 250000000ull

/** One replica's open alerts, the furthest above their limit (peak / threshold) first. */
struct threshold_view {
	uint64_t open;             /**< open alerts of the replica, shown or not */
	uint64_t stream_ns;        /**< the replica's stream time when published */
	unsigned count;            /**< entries filled */
	struct open_alert entries[THRESHOLD_VIEW_MAX];
};

extern const struct kernel_ops threshold_kernel;

/**
 * Copy the open alerts @p instance (a threshold) last published. cp.
 * Before the instance's first publication (it started, or a reload's new
 * instance took the alerts over, less than a tick ago) @p view holds the
 * count of open alerts only.
 * @return 0; -ENOTSUP without `alerts: lifecycle`; -EBUSY when it kept
 *         publishing during every try.
 */
int threshold_read_view(const struct kernel_instance *instance, struct threshold_view *view);

#endif
