/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What a networked sink (ipfix, clickhouse, kafka) reports under the
 * delivery contract: one set of figures, and the statistics they become, in
 * the contract's names and order, for every such format.
 */
#ifndef JETSTREAM_OUTPUTS_DELIVERY_FIGURES_H
#define JETSTREAM_OUTPUTS_DELIVERY_FIGURES_H

#include <stdint.h>

#include "kernel.h"

struct delivery_figures {
	uint64_t records;               /**< records the store took */
	uint64_t dropped_records;       /**< the three below together */
	uint64_t dropped_sink_full;     /**< when_full: drop, the buffer full */
	uint64_t dropped_refused;       /**< refused by the store outright */
	uint64_t dropped_drain_timeout; /**< left when the drain deadline passed */
	uint64_t batches;               /**< batches (requests, messages) the store took */
	uint64_t retries;               /**< failed attempts, each retried */
	uint64_t bytes;                 /**< payload bytes the store took */
	uint64_t buffer_bytes;          /**< bytes waiting now */
	uint64_t buffer_max_bytes;      /**< the most that ever waited */
	uint64_t last_error_seconds;    /**< CLOCK_REALTIME of the last failed attempt; 0: none */
};

/** Number of statistics delivery_figures_stats() writes. */
#define DELIVERY_FIGURES_STATS 11

/** @p figures as a kernel's statistics. @return DELIVERY_FIGURES_STATS. */
static inline unsigned
delivery_figures_stats(const struct delivery_figures *figures, struct kernel_stat *stats)
{
	stats[0] = (struct kernel_stat){"records", figures->records};
	stats[1] = (struct kernel_stat){"dropped_records", figures->dropped_records};
	stats[2] = (struct kernel_stat){"dropped_sink_full", figures->dropped_sink_full};
	stats[3] = (struct kernel_stat){"dropped_refused", figures->dropped_refused};
	stats[4] = (struct kernel_stat){"dropped_drain_timeout", figures->dropped_drain_timeout};
	stats[5] = (struct kernel_stat){"batches", figures->batches};
	stats[6] = (struct kernel_stat){"retries", figures->retries};
	stats[7] = (struct kernel_stat){"bytes", figures->bytes};
	stats[8] = (struct kernel_stat){"buffer_bytes", figures->buffer_bytes};
	stats[9] = (struct kernel_stat){"buffer_max_bytes", figures->buffer_max_bytes};
	stats[10] = (struct kernel_stat){"last_error_seconds", figures->last_error_seconds};
	return DELIVERY_FIGURES_STATS;
}

#endif
