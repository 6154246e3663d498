/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "clock.h"
#include "config_map.h"
#include "log.h"
#include "outputs/kafka.h"
#include "outputs/output_thread.h"

/*
 * The properties the producer sets itself, for the delivery contract: a
 * file may not change them (bootstrap.servers is the sink's `brokers:`).
 */
static const char *const owned_properties[] = {
	"bootstrap.servers", "metadata.broker.list", "message.timeout.ms", "delivery.timeout.ms",
	"queue.buffering.max.kbytes", "queue.buffering.max.messages", "enable.idempotence",
	"message.send.max.retries", "retries", "retry.backoff.ms", "reconnect.backoff.ms",
	"reconnect.backoff.max.ms", NULL,
};

/* What the producer sets, in this order, before the file's properties. */
#define RETRY_BACKOFF_MS "100"     /* the contract's first backoff */
#define RECONNECT_BACKOFF_MAX_MS "5000" /* and its longest */

/* Error codes whose refusal was logged already: one line per distinct error. */
#define REFUSALS_LOGGED_MAX 32

/* An error text that persists is logged again at most this often. */
#define ERROR_LOG_INTERVAL_NS (60ull * 1000000000ull)

/* The topic of each record type (indexed by enum stream_type; packets have none). */
#define TOPIC_TYPES (STREAM_PROTO_STATS + 1)

struct kafka_producer {
	/* set at open, read-only after */
	char owner[64];
	uint64_t capacity;
	uint64_t drain_timeout_ns;
	rd_kafka_t *handle;
	rd_kafka_queue_t *events;         /* the main queue: delivery reports and errors */
	rd_kafka_topic_t *topics[TOPIC_TYPES];
	pthread_t thread;
	atomic_bool stop;                 /* control thread: wo; report thread: ro */

	/* producer thread only */
	uint64_t drain_deadline_ns;       /* CLOCK_MONOTONIC, 0 until the first flush */
	bool purged;

	/* report thread: wo (buffer_bytes: both, buffer_max_bytes/dropped_sink_full: producer) */
	_Atomic uint64_t records, bytes, batches, retries, dropped_refused, dropped_drain_timeout,
		dropped_sink_full, buffer_bytes, buffer_max_bytes, last_error_seconds;

	/* the refusals logged so far: both threads, under refusal_lock */
	pthread_mutex_t refusal_lock;
	rd_kafka_resp_err_t refusals_logged[REFUSALS_LOGGED_MAX];
	unsigned refusal_count;

	/* report thread only: the last error logged, to log a change at once, a repeat rarely */
	char error_text[512];
	uint64_t error_logged_ns;
	bool failing;
};

/*
 * rd_kafka_conf_set, its message written only on a failure: librdkafka
 * 2.0.2 writes "No such configuration property" for a topic property
 * (message.timeout.ms) before it finds it in the topic settings and succeeds.
 */
static bool
conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *message,
	 size_t message_size)
{
	char error[512];

	if (rd_kafka_conf_set(conf, name, value, error, sizeof(error)) == RD_KAFKA_CONF_OK)
		return true;
	snprintf(message, message_size, "%s", error);
	return false;
}

static bool
is_owned(const char *name, size_t length)
{
	for (const char *const *owned = owned_properties; *owned != NULL; owned++)
		if (strlen(*owned) == length && strncmp(*owned, name, length) == 0)
			return true;
	return false;
}

/* Set each of @p properties on @p conf. @return 0, or -EINVAL with the message. */
static int
set_properties(rd_kafka_conf_t *conf, const char *properties, bool refuse_owned, char *message,
	       size_t message_size)
{
	for (const char *pair = NULL; (pair = config_properties_next(properties, pair)) != NULL;) {
		const char *equals = strchr(pair, '=');
		char name[256], error[512];

		snprintf(name, sizeof(name), "%.*s", (int)(equals - pair), pair);
		if (refuse_owned && is_owned(pair, (size_t)(equals - pair))) {
			snprintf(message, message_size, "property '%s' is set by the sink itself%s",
				 name, strcmp(name, "bootstrap.servers") == 0 ||
						 strcmp(name, "metadata.broker.list") == 0
					 ? " (write the brokers in 'brokers:')"
					 : " (see the delivery contract)");
			return -EINVAL;
		}
		/* idempotence needs every replica's acknowledgement: librdkafka refuses others at start */
		if (strcmp(name, "acks") == 0 && strcmp(equals + 1, "all") != 0 &&
		    strcmp(equals + 1, "-1") != 0) {
			snprintf(message, message_size, "property 'acks' must be 'all' (or -1): the "
				 "sink's idempotent producer needs it, not '%s'", equals + 1);
			return -EINVAL;
		}
		if (!conf_set(conf, name, equals + 1, error, sizeof(error))) {
			snprintf(message, message_size, "property '%s': %s", name, error);
			return -EINVAL;
		}
	}
	return 0;
}

int
kafka_check_properties(const char *properties, char *message, size_t message_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	int error = set_properties(conf, properties, true, message, message_size);

	rd_kafka_conf_destroy(conf);
	return error;
}

/* librdkafka's own lines are left out: the error events carry the same failures, rate-limited. */
static void
discard_log(const rd_kafka_t *handle, int level, const char *facility, const char *text)
{
	(void)handle;
	(void)level;
	(void)facility;
	(void)text;
}

/*
 * The producer's settings: the delivery contract's, then the file's. The
 * buffer is bounded by kafka_producer_space(); librdkafka's own bound sits a
 * burst of longest lines above it, so it only catches what that misses.
 */
static rd_kafka_conf_t *
build_conf(const struct kafka_producer_settings *settings, char *message, size_t message_size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char kbytes[32];

	snprintf(kbytes, sizeof(kbytes), "%" PRIu64, settings->capacity / 1024 + 1024);
	if (!conf_set(conf, "bootstrap.servers", settings->brokers, message, message_size) ||
	    /* 0: no timeout, an outage is retried until the buffer fills */
	    !conf_set(conf, "message.timeout.ms", "0", message, message_size) ||
	    !conf_set(conf, "enable.idempotence", "true", message, message_size) ||
	    !conf_set(conf, "retry.backoff.ms", RETRY_BACKOFF_MS, message, message_size) ||
	    !conf_set(conf, "reconnect.backoff.ms", RETRY_BACKOFF_MS, message, message_size) ||
	    !conf_set(conf, "reconnect.backoff.max.ms", RECONNECT_BACKOFF_MAX_MS, message,
		       message_size) ||
	    !conf_set(conf, "queue.buffering.max.kbytes", kbytes, message, message_size) ||
	    /* the most librdkafka 2.0.2 takes: the bytes bound the buffer, not a count */
	    !conf_set(conf, "queue.buffering.max.messages", "2147483647", message, message_size) ||
	    set_properties(conf, settings->properties, false, message, message_size) != 0) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_conf_set_events(conf, RD_KAFKA_EVENT_DR | RD_KAFKA_EVENT_ERROR);
	rd_kafka_conf_set_log_cb(conf, discard_log);
	return conf;
}

static uint64_t
realtime_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (uint64_t)now.tv_sec;
}

/* Log a refusal with error @p error once per distinct error (either thread). */
static void
log_refusal_once(struct kafka_producer *producer, rd_kafka_resp_err_t error, const char *topic)
{
	bool seen = false;

	pthread_mutex_lock(&producer->refusal_lock);
	for (unsigned i = 0; i < producer->refusal_count; i++)
		seen = seen || producer->refusals_logged[i] == error;
	if (!seen && producer->refusal_count < REFUSALS_LOGGED_MAX)
		producer->refusals_logged[producer->refusal_count++] = error;
	pthread_mutex_unlock(&producer->refusal_lock);
	if (!seen)
		log_warning("%s: Kafka refused a message to topic %s: %s (counted as "
			    "dropped_refused; logged once per error)", producer->owner, topic,
			    rd_kafka_err2str(error));
}

static void
count_refused(struct kafka_producer *producer, rd_kafka_resp_err_t error, const char *topic)
{
	atomic_fetch_add_explicit(&producer->dropped_refused, 1, memory_order_relaxed);
	atomic_store_explicit(&producer->last_error_seconds, realtime_seconds(),
			      memory_order_relaxed);
	log_refusal_once(producer, error, topic);
}

/* The length of @p text before librdkafka's " (after ...)" detail. */
static size_t
text_without_detail(const char *text)
{
	const char *detail = strstr(text, " (after ");

	return detail == NULL ? strlen(text) + 1 : (size_t)(detail - text);
}

/* Report thread: a failed attempt librdkafka retries by itself; logged on a change, then rarely. */
static void
note_error(struct kafka_producer *producer, const char *text)
{
	uint64_t now = clock_monotonic_ns();

	atomic_fetch_add_explicit(&producer->retries, 1, memory_order_relaxed);
	atomic_store_explicit(&producer->last_error_seconds, realtime_seconds(),
			      memory_order_relaxed);
	producer->failing = true;
	/* "(after 0ms in state CONNECT, 73 identical error(s) suppressed)" changes, the error not */
	if (strncmp(text, producer->error_text, text_without_detail(text)) == 0 &&
	    now - producer->error_logged_ns < ERROR_LOG_INTERVAL_NS)
		return;
	snprintf(producer->error_text, sizeof(producer->error_text), "%s", text);
	producer->error_logged_ns = now;
	log_warning("%s: Kafka: %s (messages wait in the buffer and are retried)", producer->owner,
		    text);
}

/* Report thread: one message's delivery report. @return true when it was delivered. */
static bool
handle_report(struct kafka_producer *producer, const rd_kafka_message_t *message)
{
	atomic_fetch_sub_explicit(&producer->buffer_bytes, message->len + message->key_len,
				  memory_order_relaxed);
	if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
		atomic_fetch_add_explicit(&producer->records, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&producer->bytes, message->len, memory_order_relaxed);
		return true;
	}
	if (message->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
	    message->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
		atomic_fetch_add_explicit(&producer->dropped_drain_timeout, 1, memory_order_relaxed);
	else
		count_refused(producer, message->err, rd_kafka_topic_name(message->rkt));
	return false;
}

/* Report thread: a delivery report event holds the messages of one acknowledged request. */
static void
handle_delivery_event(struct kafka_producer *producer, rd_kafka_event_t *event)
{
	const rd_kafka_message_t *message;
	bool delivered = false;

	while ((message = rd_kafka_event_message_next(event)) != NULL)
		delivered = handle_report(producer, message) || delivered;
	if (!delivered)
		return;
	atomic_fetch_add_explicit(&producer->batches, 1, memory_order_relaxed);
	if (producer->failing)
		log_info("%s: Kafka delivers again", producer->owner);
	producer->failing = false;
	producer->error_text[0] = '\0';
}

static void
handle_event(struct kafka_producer *producer, rd_kafka_event_t *event)
{
	char text[512];

	switch (rd_kafka_event_type(event)) {
	case RD_KAFKA_EVENT_DR:
		handle_delivery_event(producer, event);
		break;
	case RD_KAFKA_EVENT_ERROR:
		snprintf(text, sizeof(text), "%s%s", rd_kafka_event_error_is_fatal(event) ?
			 "fatal error, nothing more is delivered: " : "",
			 rd_kafka_event_error_string(event));
		note_error(producer, text);
		break;
	default:
		break;
	}
}

static void *
report_thread(void *argument)
{
	struct kafka_producer *producer = argument;

	while (!atomic_load_explicit(&producer->stop, memory_order_acquire)) {
		/* 100 ms: how long a close waits for this thread at most */
		rd_kafka_event_t *event = rd_kafka_queue_poll(producer->events, 100);

		if (event != NULL) {
			handle_event(producer, event);
			rd_kafka_event_destroy(event);
		}
	}
	return NULL;
}

/* @p topic with `{type}` replaced by @p type's name, into @p name. */
static void
topic_name(const char *topic, enum stream_type type, char *name, size_t size)
{
	const char *place = strstr(topic, "{type}");

	if (place == NULL)
		snprintf(name, size, "%s", topic);
	else
		snprintf(name, size, "%.*s%s%s", (int)(place - topic), topic, stream_type_name(type),
			 place + strlen("{type}"));
}

static int
create_topics(struct kafka_producer *producer, const char *topic, char *message,
	      size_t message_size)
{
	for (int type = STREAM_SRC_COUNT; type < TOPIC_TYPES; type++) {
		char name[512];

		topic_name(topic, (enum stream_type)type, name, sizeof(name));
		producer->topics[type] = rd_kafka_topic_new(producer->handle, name, NULL);
		if (producer->topics[type] == NULL) {
			snprintf(message, message_size, "Kafka topic '%s': %s", name,
				 rd_kafka_err2str(rd_kafka_last_error()));
			return -EINVAL;
		}
	}
	return 0;
}

static void
destroy_handle(struct kafka_producer *producer)
{
	for (int type = STREAM_SRC_COUNT; type < TOPIC_TYPES; type++)
		if (producer->topics[type] != NULL)
			rd_kafka_topic_destroy(producer->topics[type]);
	if (producer->events != NULL)
		rd_kafka_queue_destroy(producer->events);
	if (producer->handle != NULL)
		rd_kafka_destroy(producer->handle);
	pthread_mutex_destroy(&producer->refusal_lock);
	free(producer);
}

int
kafka_producer_open(struct kafka_producer **result, const struct kafka_producer_settings *settings,
		    char *message, size_t message_size)
{
	struct kafka_producer *producer = calloc(1, sizeof(*producer));
	rd_kafka_conf_t *conf;
	int error;

	if (producer == NULL)
		return -ENOMEM;
	snprintf(producer->owner, sizeof(producer->owner), "%s", settings->owner);
	producer->capacity = settings->capacity;
	producer->drain_timeout_ns = settings->drain_timeout_ns;
	pthread_mutex_init(&producer->refusal_lock, NULL);
	conf = build_conf(settings, message, message_size);
	if (conf == NULL) {
		destroy_handle(producer);
		return -EINVAL;
	}
	/* rd_kafka_new takes conf on success only; it connects from its own threads */
	producer->handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, message, message_size);
	if (producer->handle == NULL) {
		rd_kafka_conf_destroy(conf);
		destroy_handle(producer);
		return -EINVAL;
	}
	producer->events = rd_kafka_queue_get_main(producer->handle);
	error = create_topics(producer, settings->topic, message, message_size);
	if (error == 0)
		error = output_thread_start(&producer->thread, report_thread, producer,
					    producer->owner);
	if (error != 0) {
		if (message[0] == '\0')
			snprintf(message, message_size, "cannot start the Kafka report thread: %s",
				 strerror(-error));
		destroy_handle(producer);
		return error;
	}
	*result = producer;
	return 0;
}

uint64_t
kafka_producer_space(const struct kafka_producer *producer)
{
	uint64_t waiting = atomic_load_explicit(&producer->buffer_bytes, memory_order_relaxed);

	return waiting < producer->capacity ? producer->capacity - waiting : 0;
}

static void
note_buffered(struct kafka_producer *producer, uint64_t bytes)
{
	uint64_t waiting = atomic_fetch_add_explicit(&producer->buffer_bytes, bytes,
						     memory_order_relaxed) + bytes;

	if (waiting > atomic_load_explicit(&producer->buffer_max_bytes, memory_order_relaxed))
		atomic_store_explicit(&producer->buffer_max_bytes, waiting, memory_order_relaxed);
}

int
kafka_producer_send(struct kafka_producer *producer, enum stream_type type, const char *key,
		    size_t key_length, const char *value, size_t value_length)
{
	rd_kafka_topic_t *topic = producer->topics[type];
	rd_kafka_resp_err_t error;

	if (key_length + value_length > kafka_producer_space(producer))
		return -ENOBUFS;
	/* counted before: the delivery report, on the other thread, may come first */
	note_buffered(producer, key_length + value_length);
	/* F_COPY without F_BLOCK: librdkafka copies the bytes and never waits for room */
	if (rd_kafka_produce(topic, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)value,
			     value_length, key_length > 0 ? key : NULL, key_length, NULL) == 0)
		return 0;
	atomic_fetch_sub_explicit(&producer->buffer_bytes, key_length + value_length,
				  memory_order_relaxed);
	error = rd_kafka_last_error();
	if (error == RD_KAFKA_RESP_ERR__QUEUE_FULL)
		return -ENOBUFS;
	count_refused(producer, error, rd_kafka_topic_name(topic));
	return 0;
}

void
kafka_producer_count_dropped(struct kafka_producer *producer, enum kafka_drop_reason reason,
			     uint64_t count)
{
	_Atomic uint64_t *counter = reason == KAFKA_DROP_SINK_FULL ? &producer->dropped_sink_full
				    : reason == KAFKA_DROP_REFUSED ? &producer->dropped_refused
								   : &producer->dropped_drain_timeout;

	atomic_fetch_add_explicit(counter, count, memory_order_relaxed);
}

bool
kafka_producer_drain_expired(struct kafka_producer *producer)
{
	uint64_t now = clock_monotonic_ns();

	if (producer->drain_deadline_ns == 0)
		producer->drain_deadline_ns = now + producer->drain_timeout_ns;
	return now >= producer->drain_deadline_ns;
}

bool
kafka_producer_flush(struct kafka_producer *producer)
{
	if (rd_kafka_outq_len(producer->handle) == 0)
		return true;
	if (kafka_producer_drain_expired(producer) && !producer->purged) {
		/* their delivery reports, error __PURGE_*, count them as dropped_drain_timeout */
		rd_kafka_purge(producer->handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		producer->purged = true;
		log_warning("%s: Kafka: the drain timeout passed; the %" PRIu64 " bytes of messages "
			    "still queued are purged (dropped_drain_timeout)", producer->owner,
			    atomic_load_explicit(&producer->buffer_bytes, memory_order_relaxed));
	}
	return false;
}

void
kafka_producer_figures(const struct kafka_producer *producer,
		       struct delivery_figures *figures)
{
	*figures = (struct delivery_figures){
		.records = atomic_load_explicit(&producer->records, memory_order_relaxed),
		.dropped_sink_full = atomic_load_explicit(&producer->dropped_sink_full,
							  memory_order_relaxed),
		.dropped_refused = atomic_load_explicit(&producer->dropped_refused,
							memory_order_relaxed),
		.dropped_drain_timeout = atomic_load_explicit(&producer->dropped_drain_timeout,
							      memory_order_relaxed),
		.batches = atomic_load_explicit(&producer->batches, memory_order_relaxed),
		.retries = atomic_load_explicit(&producer->retries, memory_order_relaxed),
		.bytes = atomic_load_explicit(&producer->bytes, memory_order_relaxed),
		.buffer_bytes = atomic_load_explicit(&producer->buffer_bytes, memory_order_relaxed),
		.buffer_max_bytes = atomic_load_explicit(&producer->buffer_max_bytes,
							 memory_order_relaxed),
		.last_error_seconds = atomic_load_explicit(&producer->last_error_seconds,
							   memory_order_relaxed),
	};
	figures->dropped_records = figures->dropped_sink_full + figures->dropped_refused +
				   figures->dropped_drain_timeout;
}

void
kafka_producer_close(struct kafka_producer *producer)
{
	if (producer == NULL)
		return;
	/* a close without a finished flush (a failed start): nothing more is waited for */
	rd_kafka_purge(producer->handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
	/* the purged messages' reports are served before the thread stops; bounded by the purge */
	for (int round = 0; round < 50 && rd_kafka_outq_len(producer->handle) > 0; round++)
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	atomic_store_explicit(&producer->stop, true, memory_order_release);
	pthread_join(producer->thread, NULL);
	destroy_handle(producer);
}
