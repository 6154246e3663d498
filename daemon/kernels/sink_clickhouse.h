/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The sink's `clickhouse` format: its keys' checks, and the hooks sink.c
 * calls for it (outputs/clickhouse.h does the work). Threads as the sink's.
 */
#ifndef JETSTREAM_KERNELS_SINK_CLICKHOUSE_H
#define JETSTREAM_KERNELS_SINK_CLICKHOUSE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "kernel.h"
#include "outputs/clickhouse.h"

/** The keys of format clickhouse, part of the sink's parameters. */
struct sink_clickhouse_params {
	char url[512];
	char table[CLICKHOUSE_NAME_MAX + 1];
	char database[CLICKHOUSE_NAME_MAX + 1];
	uint64_t batch_rows;
	uint64_t batch_delay_ns;
	bool create_table;
};

/** What the sink's own keys say to the delivery. */
struct sink_delivery_params {
	uint64_t buffer_size;
	uint64_t drain_timeout_ns;
	bool drop_when_full;
};

/**
 * Check the keys: with @p selected (format clickhouse), `path` and `retry`
 * are refused and the values checked; otherwise, the clickhouse keys are refused.
 */
void sink_clickhouse_check(const struct sink_clickhouse_params *params, bool selected,
			   struct config_check_context *context);

/** init: start the delivery (no I/O). @return 0 or -errno, the message in instance->error. */
int sink_clickhouse_open(struct kernel_instance *instance,
			 const struct sink_clickhouse_params *params,
			 const struct sink_delivery_params *delivery, struct clickhouse **clickhouse);

/**
 * process: records of a burst the buffer takes now, at the longest a line may
 * be; with when_full: drop, a whole burst (what does not fit is counted).
 */
unsigned sink_clickhouse_room(struct clickhouse *clickhouse, bool drop_when_full);

/**
 * flush, once drained: records the server refused or that the drain timeout
 * left make the output incomplete (kernel_fail: exit status 1). Records
 * dropped by when_full: drop were the configuration's choice, and are not.
 */
void sink_clickhouse_note_failure(struct kernel_instance *instance, struct clickhouse *clickhouse);

/** stats: the networked sink's statistics (delivery.h). @return how many. */
unsigned sink_clickhouse_stats(struct clickhouse *clickhouse, struct kernel_stat *stats);

#endif
