/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A Kafka producer for the `kafka` sink format, through librdkafka.
 *
 * The thread that polls the sink hands each record to librdkafka
 * (rd_kafka_produce with a copy, which never blocks): librdkafka's own
 * threads batch, send and retry, and a thread of the producer's own serves
 * the delivery reports and errors (rd_kafka_queue_poll), so neither the sink
 * thread nor the workers ever wait on the network. Messages waiting for the
 * brokers are bounded by `capacity` bytes (value and key): when full,
 * kafka_producer_send() refuses and the sink applies when_full.
 *
 * An outage is retried without a limit (message.timeout.ms = 0) and
 * idempotence keeps a retried batch from being written twice. A message a
 * broker refuses outright (too large, an unknown topic) is counted as
 * dropped_refused and its error logged once.
 *
 * Threads: space/send/count_full/flush from the one producer thread (the
 * sink thread); figures from any thread; check, open and close from the
 * control thread.
 */
#ifndef JETSTREAM_OUTPUTS_KAFKA_H
#define JETSTREAM_OUTPUTS_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outputs/delivery_figures.h"

#include "record.h"

struct kafka_producer;

/** Where and how a producer sends. */
struct kafka_producer_settings {
	const char *owner;      /**< kernel name, for log lines (copied) */
	const char *brokers;    /**< bootstrap.servers (copied) */
	const char *topic;      /**< topic name; `{type}` becomes the record type (copied) */
	const char *properties; /**< librdkafka properties, config_properties_next() pairs */
	uint64_t capacity;      /**< bytes of messages (value and key) that may wait */
	uint64_t drain_timeout_ns; /**< at flush, how long queued messages are waited for */
};

/**
 * Whether librdkafka takes @p properties (config_properties_next() pairs) as
 * producer settings, and none is one the producer sets itself.
 * @return 0, or -EINVAL with librdkafka's (or the refusal's) message.
 */
int kafka_check_properties(const char *properties, char *message, size_t message_size);

/**
 * Create the librdkafka handle and the thread serving its reports; it
 * connects in the background, so this does not wait on the network.
 * @return 0, or -errno with a message in @p message.
 */
int kafka_producer_open(struct kafka_producer **producer,
			const struct kafka_producer_settings *settings, char *message,
			size_t message_size);

/** Producer thread: bytes of messages (value and key) kafka_producer_send() may take now. */
uint64_t kafka_producer_space(const struct kafka_producer *producer);

/**
 * Producer thread: queue one message of record type @p type (its topic),
 * key @p key (@p key_length 0: none), value @p value.
 * @return 0 when queued or counted as refused; -ENOBUFS when the buffer is
 *         full (nothing counted: the caller keeps the record or counts it).
 */
int kafka_producer_send(struct kafka_producer *producer, enum stream_type type, const char *key,
			size_t key_length, const char *value, size_t value_length);

/** Why records the producer never took are dropped. */
enum kafka_drop_reason {
	KAFKA_DROP_SINK_FULL,     /**< when_full drop */
	KAFKA_DROP_REFUSED,       /**< no message could hold the record */
	KAFKA_DROP_DRAIN_TIMEOUT, /**< still held by the sink when the drain timeout passed */
};

/** Producer thread: count @p count records the producer never took as dropped. */
void kafka_producer_count_dropped(struct kafka_producer *producer, enum kafka_drop_reason reason,
				  uint64_t count);

/**
 * Producer thread, once no more is sent: whether the drain timeout has
 * passed, counted from the first call (of this or kafka_producer_flush()).
 */
bool kafka_producer_drain_expired(struct kafka_producer *producer);

/**
 * Producer thread, once no more is sent: true once every message is
 * acknowledged or counted; after the drain timeout, what is still queued is
 * purged and counted as dropped_drain_timeout. Never blocks.
 */
bool kafka_producer_flush(struct kafka_producer *producer);

/** Any thread: the figures (each read atomically). */
void kafka_producer_figures(const struct kafka_producer *producer,
			    struct delivery_figures *figures);

/** Purge what is still queued (dropped_drain_timeout), stop the thread, free. */
void kafka_producer_close(struct kafka_producer *producer);

#endif
