/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The accounting of a kernel's figures, in one place for the exit summary,
 * the metrics and DPDK telemetry: the named places where a frame is dropped,
 * whether a device can report each of them, and what kind of figure each
 * built-in statistic is (a counter or a gauge).
 *
 * Rule: a device that cannot report a drop is said to be so, never shown as
 * 0. Its reader reports the statistic NAME KERNEL_STAT_UNKNOWN_SUFFIX (the
 * mark) instead of NAME.
 *
 * Pure functions on struct kernel_totals; any thread.
 */
#ifndef JETSTREAM_ACCOUNTING_H
#define JETSTREAM_ACCOUNTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel_runtime.h"

/** The named places where a frame is lost, besides being processed. */
enum accounting_drop {
	ACCOUNTING_DROP_NIC_IMISSED = 0, /**< the device's queue was full */
	ACCOUNTING_DROP_NIC_RX_NOMBUF,   /**< no mbuf for a frame */
	ACCOUNTING_DROP_SOCKET_DROPS,    /**< the af_packet (or AF_XDP) socket ring was full */
	ACCOUNTING_DROP_RING_OVERFLOW,   /**< a ring refused items despite the budget (stays 0) */
	ACCOUNTING_DROP_COUNT,
};

/** Whether a kernel can tell one of its drops. */
enum accounting_report {
	ACCOUNTING_NOT_APPLICABLE = 0, /**< no such place (a file source has no NIC) */
	ACCOUNTING_KNOWN,              /**< the value is the count */
	ACCOUNTING_UNKNOWN,            /**< the device cannot count it: never show 0 */
};

/** The drop's name, as the summary, the metrics' `reason` label and the stats use it. */
const char *accounting_drop_name(enum accounting_drop drop);

/**
 * One drop of @p totals: ring_overflow is known for every kernel; the
 * device's drops are known where the stat is reported, unknown where its mark
 * is, not applicable otherwise.
 * @return what is known; @p value is set (0 unless known).
 */
enum accounting_report accounting_drop(const struct kernel_totals *totals, enum accounting_drop drop,
				       uint64_t *value);

/**
 * The named reasons a sink loses a record: the `reason` label of
 * jetstream_dropped_records_total. A networked sink reports each but
 * write_failed as the statistic `dropped_REASON`; a file sink's
 * `dropped_records` (a write that failed after its retries) is write_failed.
 */
enum accounting_record_drop {
	ACCOUNTING_RECORD_DROP_WRITE_FAILED = 0, /**< a file or database write failed for good */
	ACCOUNTING_RECORD_DROP_SINK_FULL,        /**< `when_full: drop` and the buffer was full */
	ACCOUNTING_RECORD_DROP_REFUSED,          /**< the store refused the records outright */
	ACCOUNTING_RECORD_DROP_DRAIN_TIMEOUT,    /**< still buffered when drain_timeout passed */
	ACCOUNTING_RECORD_DROP_COUNT,
};

/** The reason's name, as the `reason` label uses it. */
const char *accounting_record_drop_name(enum accounting_record_drop reason);

/**
 * The records @p totals lost for @p reason.
 * @return false when the kernel has no such figure (not a sink, or a sink
 *         that cannot lose records that way).
 */
bool accounting_record_drop(const struct kernel_totals *totals, enum accounting_record_drop reason,
			    uint64_t *value);

/** The sum of the known drops of @p totals. */
uint64_t accounting_known_drops(const struct kernel_totals *totals);

/** The statistic named @p name, or NULL. */
const struct kernel_stat *accounting_find_stat(const struct kernel_totals *totals, const char *name);

/** The value of the statistic named @p name, 0 when absent. */
uint64_t accounting_stat_value(const struct kernel_totals *totals, const char *name);

/**
 * true when @p name is the mark of an unknown figure; then the figure's name
 * is copied into @p base.
 */
bool accounting_is_unknown_mark(const char *name, char *base, size_t base_size);

/** What a statistic is, by name. */
enum accounting_stat_kind {
	ACCOUNTING_STAT_OTHER = 0, /**< not a built-in name (a plugin's): counter or gauge unknown */
	ACCOUNTING_STAT_COUNTER,   /**< only grows (summed over replicas and reloads) */
	ACCOUNTING_STAT_GAUGE,     /**< a level now (or a high-water mark): may go down */
	ACCOUNTING_STAT_DROP,      /**< one of the named drops (see enum accounting_drop) */
	ACCOUNTING_STAT_MARK,      /**< NAME_unknown: the device cannot tell NAME */
	ACCOUNTING_STAT_RECORD_DROP, /**< a sink's records lost for one named reason (a counter) */
};

/** Classify statistic @p name (built-in kernels' names; others are OTHER). */
enum accounting_stat_kind accounting_stat_kind(const char *name);

/**
 * Add the figures of instances a reload retired (@p retired) into those of
 * the instance that runs now under the same kernel (@p totals): counters add
 * up, so they never go back; gauges stay the running instance's, since a
 * retired instance's level (its table's memory, its flows) is no level now.
 */
void accounting_add_retired(struct kernel_totals *totals, const struct kernel_totals *retired);

/** What the built-in statistic @p name counts, for a metric's HELP; NULL when not built in. */
const char *accounting_stat_help(const char *name);

#endif
