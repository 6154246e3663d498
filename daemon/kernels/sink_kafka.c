/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Format kafka of the sink. Each record is one message: the value is its
 * jsonl line without the newline, the key its address as text, so the
 * records of one source stay in one partition (librdkafka's partitioner
 * hashes the key): a src_count or alert record's address as its `key:`
 * says (the source; the destination for key dst), a flow's source address;
 * proto_stats records have no address and no key. With when_full block the
 * sink takes from its rings only what the buffer has room for; records the
 * producer could not take wait here, in the order they came, and go first.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "kernels/sink_kafka.h"
#include "outputs/jsonl.h"
#include "outputs/kafka.h"
#include "packet.h"

/* Room for an IPv6 address as text and its NUL. */
#define KEY_MAX 48

/* Kafka's longest topic name (its Topic.MAX_NAME_LENGTH). */
#define TOPIC_NAME_MAX 249

struct sink_kafka {
	struct kafka_producer *producer;
	bool drop_when_full;
	/* polling thread only: a burst received, sent from held_next on */
	union any_record held[KERNEL_BURST];
	unsigned held_count, held_next;
	char value[JSONL_LINE_MAX];
};

static const char *const kafka_keys[] = {"brokers", "topic", "kafka", NULL};

/* Each of the comma-separated brokers is HOST:PORT. */
static void
check_brokers(const char *brokers, struct config_check_context *context)
{
	char copy[sizeof(((struct sink_kafka_params *)0)->brokers)], host[256], port[8];
	char *saved = NULL;

	snprintf(copy, sizeof(copy), "%s", brokers);
	for (char *broker = strtok_r(copy, ",", &saved); broker != NULL;
	     broker = strtok_r(NULL, ",", &saved))
		if (!config_split_host_port(broker, host, sizeof(host), port, sizeof(port))) {
			config_check_error(context, "brokers",
					   "'%s' is not HOST:PORT (a port from 1 to 65535; an IPv6 "
					   "address in brackets; brokers separated by commas)", broker);
			return;
		}
}

/* Kafka takes letters, digits, `.`, `_` and `-` in a topic name; `{type}` is ours. */
static void
check_topic(const char *topic, struct config_check_context *context)
{
	static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789._-";
	size_t length = strlen(topic), expanded = length;

	for (size_t i = 0; i < length; i++) {
		if (strncmp(topic + i, "{type}", 6) == 0) {
			i += 5;
			expanded += strlen("proto_stats") - 6; /* the longest type name */
		} else if (strchr(allowed, topic[i]) == NULL) {
			config_check_error(context, "topic",
					   "topic '%s' has '%c': Kafka topic names are letters, "
					   "digits, '.', '_' and '-' (and '{type}', the record type)",
					   topic, topic[i]);
			return;
		}
	}
	if (length == 0 || expanded > TOPIC_NAME_MAX)
		config_check_error(context, "topic", "topic '%s' is %s (Kafka takes 1 to %d "
				   "characters)", topic, length == 0 ? "empty" : "too long",
				   TOPIC_NAME_MAX);
}

void
sink_kafka_check(const struct sink_kafka_params *params, struct config_check_context *context)
{
	char message[512];

	if (config_check_key_set(context, "path"))
		config_check_error(context, "path",
				   "'path' does not apply with format kafka (records go to 'brokers')");
	if (config_check_key_set(context, "retry"))
		config_check_error(context, "retry",
				   "'retry' does not apply with format kafka (while the brokers are "
				   "down, messages wait in the buffer and are retried without a limit)");
	if (!config_check_key_set(context, "brokers"))
		config_check_error(context, NULL, "'brokers' is required with format kafka");
	else
		check_brokers(params->brokers, context);
	check_topic(params->topic, context);
	if (kafka_check_properties(params->properties, message, sizeof(message)) != 0)
		config_check_error(context, "kafka", "%s", message);
}

void
sink_kafka_check_unused(struct config_check_context *context)
{
	for (const char *const *key = kafka_keys; *key != NULL; key++)
		if (config_check_key_set(context, *key))
			config_check_error(context, *key, "'%s' applies to format kafka only", *key);
}

int
sink_kafka_open(struct kernel_instance *instance, struct sink_kafka **result,
		const struct sink_kafka_params *params, const struct sink_kafka_delivery *delivery)
{
	struct sink_kafka *sink = calloc(1, sizeof(*sink));
	struct kafka_producer_settings settings = {
		.owner = instance->name, .brokers = params->brokers, .topic = params->topic,
		.properties = params->properties, .capacity = delivery->buffer_bytes,
		.drain_timeout_ns = delivery->drain_timeout_ns,
	};
	int error;

	if (sink == NULL)
		return -ENOMEM;
	sink->drop_when_full = delivery->drop_when_full;
	error = kafka_producer_open(&sink->producer, &settings, instance->error,
				    sizeof(instance->error));
	if (error != 0) {
		if (error == -EINVAL)
			instance->error_key = "kafka";
		free(sink);
		return error;
	}
	*result = sink;
	return 0;
}

/* The record's address as text, its message key, into @p text. @return its length, 0: no key. */
static size_t
record_key(const union any_record *record, char *text, size_t size)
{
	const uint8_t *address = NULL;

	switch (record->header.type) {
	case STREAM_SRC_COUNT:
		address = record->src_count.key == COUNT_KEY_DESTINATION
				  ? record->src_count.destination_address
				  : record->src_count.source_address;
		break;
	case STREAM_ALERT:
		address = record->alert.key == COUNT_KEY_DESTINATION ? record->alert.destination_address
								      : record->alert.source_address;
		break;
	case STREAM_FLOW:
		address = record->flow.source_address;
		break;
	default:
		return 0; /* proto_stats: no address */
	}
	return (size_t)packet_address_format(address, text, size);
}

/* Hand @p record to the producer. @return 0, or -ENOBUFS when the buffer has no room. */
static int
send_record(struct sink_kafka *sink, const union any_record *record)
{
	char key[KEY_MAX];
	size_t key_length = record_key(record, key, sizeof(key));
	size_t length = jsonl_format_record(record, sink->value, sizeof(sink->value));

	if (length == 0 || length >= sizeof(sink->value)) { /* cannot happen with the built-in records */
		kafka_producer_count_dropped(sink->producer, KAFKA_DROP_REFUSED, 1);
		return 0;
	}
	/* the line's newline is the jsonl file's; a message is the object alone */
	return kafka_producer_send(sink->producer, (enum stream_type)record->header.type, key,
				   key_length, sink->value, length - 1);
}

/* Send the held records in order. @return how many were taken; some may remain held. */
static unsigned
send_held(struct kernel_instance *instance, struct sink_kafka *sink)
{
	unsigned sent = 0;

	for (; sink->held_next < sink->held_count; sink->held_next++, sent++) {
		if (send_record(sink, &sink->held[sink->held_next]) == 0)
			continue;
		if (!sink->drop_when_full) {
			instance->counters.backpressure++; /* the rest waits here, then in the rings */
			break;
		}
		kafka_producer_count_dropped(sink->producer, KAFKA_DROP_SINK_FULL, 1);
	}
	return sent;
}

/* Receive a burst into held[], each record unpacked from its ring's element size. */
static unsigned
receive_held(struct kernel_instance *instance, struct sink_kafka *sink, unsigned room)
{
	static _Thread_local union any_record packed[KERNEL_BURST];
	enum stream_type type;
	unsigned received = kernel_receive(instance, packed, room, &type);
	unsigned element_size = stream_element_size(type);

	for (unsigned i = 0; i < received; i++)
		memcpy(&sink->held[i], (const char *)packed + (size_t)i * element_size, element_size);
	sink->held_count = received;
	sink->held_next = 0;
	return received;
}

unsigned
sink_kafka_process(struct kernel_instance *instance, struct sink_kafka *sink)
{
	uint64_t room = KERNEL_BURST;

	if (sink->held_next < sink->held_count)
		return send_held(instance, sink);
	/* block: only what surely fits, at the longest line and key, leaves the rings */
	if (!sink->drop_when_full)
		room = kafka_producer_space(sink->producer) / (JSONL_LINE_MAX + KEY_MAX);
	if (room == 0) {
		instance->counters.backpressure++; /* the records wait in their rings */
		return 0;
	}
	if (receive_held(instance, sink, room < KERNEL_BURST ? (unsigned)room : KERNEL_BURST) == 0)
		return 0;
	send_held(instance, sink);
	return sink->held_count;
}

/* Records still held: counted as dropped_drain_timeout, never sent. */
static void
drop_held(struct sink_kafka *sink)
{
	kafka_producer_count_dropped(sink->producer, KAFKA_DROP_DRAIN_TIMEOUT,
				     sink->held_count - sink->held_next);
	sink->held_count = sink->held_next = 0;
}

/* Once all is delivered or counted: an incomplete output is the instance's failure (exit 1). */
static void
note_undelivered(struct kernel_instance *instance, const struct sink_kafka *sink)
{
	struct delivery_figures figures;

	kafka_producer_figures(sink->producer, &figures);
	if (figures.dropped_records > 0)
		kernel_fail(instance, "%" PRIu64 " records not delivered to Kafka (dropped_records: "
			    "sink_full %" PRIu64 ", refused %" PRIu64 ", drain_timeout %" PRIu64 ")",
			    figures.dropped_records,
			    figures.dropped_sink_full, figures.dropped_refused,
			    figures.dropped_drain_timeout);
}

bool
sink_kafka_flush(struct kernel_instance *instance, struct sink_kafka *sink)
{
	if (sink->held_next < sink->held_count) {
		send_held(instance, sink);
		if (sink->held_next < sink->held_count &&
		    !kafka_producer_drain_expired(sink->producer))
			return false;
		drop_held(sink);
	}
	if (!kafka_producer_flush(sink->producer))
		return false;
	note_undelivered(instance, sink);
	return true;
}

unsigned
sink_kafka_stats(const struct sink_kafka *sink, struct kernel_stat *stats)
{
	struct delivery_figures figures;

	kafka_producer_figures(sink->producer, &figures);
	return delivery_figures_stats(&figures, stats);
}

void
sink_kafka_close(struct sink_kafka *sink)
{
	if (sink == NULL)
		return;
	drop_held(sink);
	kafka_producer_close(sink->producer);
	free(sink);
}
