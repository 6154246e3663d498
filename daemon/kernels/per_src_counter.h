/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Daemon-internal view of a per_src_counter: the top keys of its last closed
 * window, for the control socket (`jetstreamctl sources`). Not part of the
 * kernel API: plugins never see it.
 *
 * Access rule: the counter's lcore (dp) ranks the keys while it emits a
 * closed window's records and publishes the ranking; the control thread
 * (cp) copies it, without a lock (publication.h).
 */
#ifndef JETSTREAM_KERNELS_PER_SRC_COUNTER_H
#define JETSTREAM_KERNELS_PER_SRC_COUNTER_H

#include <stdint.h>

#include "kernel.h"
#include "kernels/counter_table.h"

/**
 * Keys ranked per window and replica: the most `jetstreamctl sources -n`
 * may ask for. Ranking costs one comparison per emitted key, plus a heap
 * step (log2 100 < 7) for the few that enter the top.
 */
#define PER_SRC_COUNTER_TOP_MAX 100

/** One ranked key. */
struct per_src_counter_top_entry {
	uint8_t key[COUNTER_TABLE_KEY_MAX]; /**< as counted: one address, or source then destination */
	uint64_t packets;
	uint64_t bytes;
};

/** The top keys of one closed window of one replica, best first. */
struct per_src_counter_top {
	uint64_t start_ns, end_ns;          /**< the window (first and last packet for `window: total`) */
	uint32_t key;                       /**< enum count_key */
	unsigned count;
	struct per_src_counter_top_entry entries[PER_SRC_COUNTER_TOP_MAX];
};

extern const struct kernel_ops per_src_counter_kernel;

/**
 * The ranking order: more packets first, then more bytes, then the lower
 * key (bytewise). @return true when @p a ranks before @p b.
 */
bool per_src_counter_top_before(const struct per_src_counter_top_entry *a,
				const struct per_src_counter_top_entry *b);

/**
 * Copy the top of the last closed window of @p instance (a per_src_counter).
 * cp, while dp runs.
 * @return 0; -ENOENT when no window closed yet; -EBUSY when windows kept
 *         closing during every try (windows of microseconds).
 */
int per_src_counter_read_top(const struct kernel_instance *instance,
			     struct per_src_counter_top *top);

/** true when @p instance counts with `window: total` (its only window closes at the end). */
bool per_src_counter_counts_total(const struct kernel_instance *instance);

#endif
