/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The `kafka` format of the sink kernel: each record a message, its value
 * the record's jsonl line (no newline), its key the record's address, to a
 * topic per record type (outputs/kafka.h does the producing). sink.c calls
 * one function per hook.
 */
#ifndef JETSTREAM_KERNELS_SINK_KAFKA_H
#define JETSTREAM_KERNELS_SINK_KAFKA_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel.h"

/** The keys of format kafka, inside the sink's params. */
struct sink_kafka_params {
	char brokers[512];     /**< HOST:PORT[,HOST:PORT...] */
	char topic[256];       /**< `{type}` becomes the record type */
	char properties[2048]; /**< CONFIG_PROPERTIES: librdkafka producer properties */
};

/** The delivery contract's keys the format reads (the sink's shared keys). */
struct sink_kafka_delivery {
	uint64_t buffer_bytes;
	bool drop_when_full;
	uint64_t drain_timeout_ns;
};

struct sink_kafka;

/** check(): the keys of a kafka sink; librdkafka judges the properties. */
void sink_kafka_check(const struct sink_kafka_params *params,
		      struct config_check_context *context);

/** check() of another format: the kafka keys are errors there. */
void sink_kafka_check_unused(struct config_check_context *context);

/** init(): start the producer (it connects in the background). @return 0 or -errno. */
int sink_kafka_open(struct kernel_instance *instance, struct sink_kafka **sink,
		    const struct sink_kafka_params *params,
		    const struct sink_kafka_delivery *delivery);

/** process(): hand records to the producer, as many as its buffer takes (or drop them). */
unsigned sink_kafka_process(struct kernel_instance *instance, struct sink_kafka *sink);

/** flush(): true once everything is delivered or counted (drain_timeout). Never blocks. */
bool sink_kafka_flush(struct kernel_instance *instance, struct sink_kafka *sink);

/** stats(): the networked sinks' statistics. */
unsigned sink_kafka_stats(const struct sink_kafka *sink, struct kernel_stat *stats);

/** destroy(): what is left is counted as dropped_drain_timeout. NULL is a no-op. */
void sink_kafka_close(struct sink_kafka *sink);

#endif
