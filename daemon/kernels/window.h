/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What windowed kernels share: tumbling windows aligned to the epoch, and the
 * burst a kernel holds when it must wait in the middle of it (a window closes
 * while the previous one is still going out).
 */
#ifndef JETSTREAM_KERNELS_WINDOW_H
#define JETSTREAM_KERNELS_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel.h"

/** Stored for `window: total`: one window spanning the whole run. */
#define WINDOW_TOTAL UINT64_MAX

/**
 * Start of the window of length @p window_ns that holds @p timestamp_ns.
 * Aligned to multiples of the length since the epoch, so replicas and reruns
 * agree on the bounds.
 */
static inline uint64_t
window_start_of(uint64_t window_ns, uint64_t timestamp_ns)
{
	return timestamp_ns - timestamp_ns % window_ns;
}

/** Packets received and not yet consumed: [next, count) are still to do. */
struct held_burst {
	struct rte_mbuf *packets[KERNEL_BURST];
	unsigned count;
	unsigned next;
};

/**
 * Receive a new burst once the held one is used up (counted as items_in).
 * @return packets received by this call.
 */
static inline unsigned
held_burst_refill(struct kernel_instance *instance, struct held_burst *held)
{
	unsigned received;

	if (held->count > 0)
		return 0;
	received = kernel_receive(instance, held->packets, KERNEL_BURST, NULL);
	held->count = received;
	held->next = 0;
	return received;
}

/** Free the held packets once all are consumed (or when the kernel goes away). */
static inline void
held_burst_release(struct held_burst *held)
{
	rte_pktmbuf_free_bulk(held->packets, held->count);
	held->count = 0;
	held->next = 0;
}

#endif
