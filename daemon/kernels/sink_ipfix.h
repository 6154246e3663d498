/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The sink's `format: ipfix` (outputs/ipfix.h does the export): one call
 * per sink hook, and the delivery contract (when_full, drain_timeout, the
 * statistic names) as the IPFIX exporter meets it.
 *
 * Threads: check and open on the control thread; process, flush on the
 * thread that polls the sink; stats on the control thread; close on the
 * control thread once the sink is finished or abandoned.
 */
#ifndef JETSTREAM_KERNELS_SINK_IPFIX_H
#define JETSTREAM_KERNELS_SINK_IPFIX_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel.h"

/** The sink's keys format ipfix reads. */
struct sink_ipfix_config {
	const char *collector;        /**< HOST:PORT */
	bool tcp;
	bool biflow;
	bool drop_when_full;          /**< when_full: drop, else block */
	uint32_t observation_domain;
	uint64_t buffer_size;         /**< bytes of flow records */
	uint64_t template_refresh_ns;
	uint64_t drain_timeout_ns;
};

struct sink_ipfix;

/** Check the keys of format ipfix (errors at their keys). */
void sink_ipfix_check(const struct sink_ipfix_config *config, struct config_check_context *context);

/** Start the exporter; no network I/O. @return 0 or -errno with instance->error. */
int sink_ipfix_open(struct kernel_instance *instance, const struct sink_ipfix_config *config,
		    struct sink_ipfix **sink);

/** Hand flow records to the exporter (or, when full, backpressure or drop). @return taken. */
unsigned sink_ipfix_process(struct kernel_instance *instance, struct sink_ipfix *sink);

/** Deliver what waits, for at most drain_timeout from the first call. @return true when done. */
bool sink_ipfix_flush(struct kernel_instance *instance, struct sink_ipfix *sink);

/** The delivery contract's statistics. @return how many. */
unsigned sink_ipfix_stats(const struct sink_ipfix *sink, struct kernel_stat *stats);

/** Stop the exporter (what still waits is counted as dropped for drain_timeout) and free. */
void sink_ipfix_close(struct sink_ipfix *sink);

#endif
