/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sink: writes records to a file or stdout, or (format null) discards
 * packets and records, only counting them.
 *
 * A sink that writes formats records into a bounded buffer, and a thread of
 * its own (outputs/line_writer.h) writes that buffer to the file, so neither
 * the thread that polls the sink nor the kernels upstream wait on the disk
 * until `buffer:` bytes are waiting. Then the sink stops receiving: records
 * wait in their rings (backpressure); none is dropped for a slow disk. Only
 * whole lines reach the file (outputs/output_file.h); what cannot be written
 * after the retries is counted as dropped_records, never as records.
 * Format sqlite queues the records themselves for a writer thread of its
 * own (outputs/sqlite_writer.h), with the same backpressure. Format
 * clickhouse (kernels/sink_clickhouse.h) formats jsonl lines as jsonl does,
 * into the batches of outputs/delivery.h, whose thread inserts them.
 *
 * Such a sink is polled off the workers (runs_on_sink_thread): its
 * process() makes no syscall while the buffer has room, but its figures and
 * its flush, which waits on the writer thread, stay off the datapath. A null
 * sink does no I/O, so it runs on a worker like any other kernel: benchmarks
 * measure the datapath.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "kernel.h"
#include "kernels/sink_action.h"
#include "kernels/sink_clickhouse.h"
#include "kernels/sink_kafka.h"
#include "log_journal.h"
#include "kernels/sink_ipfix.h"
#include "outputs/jsonl.h"
#include "outputs/line_writer.h"
#include "outputs/sqlite_writer.h"

enum sink_format {
	SINK_FORMAT_JSONL = 0,
	SINK_FORMAT_NULL,
	SINK_FORMAT_SQLITE,
	SINK_FORMAT_IPFIX,
	SINK_FORMAT_CLICKHOUSE,
	SINK_FORMAT_KAFKA,
	SINK_FORMAT_EXEC, /* the actions (kernels/sink_action.h), in enum action_format's order */
	SINK_FORMAT_WEBHOOK,
	SINK_FORMAT_JOURNAL,
	SINK_FORMAT_SYSLOG,
};

enum sink_transport { SINK_TRANSPORT_UDP = 0, SINK_TRANSPORT_TCP };

/* What a networked sink does with records its full buffer cannot take. */
enum sink_when_full { SINK_WHEN_FULL_BLOCK = 0, SINK_WHEN_FULL_DROP };

struct sink_params {
	uint32_t format; /* enum sink_format */
	char path[PATH_MAX];
	uint64_t buffer_size;
	uint64_t retry_ns;
	uint64_t retain_ns; /* sqlite: 0 keeps every row */
	/* format ipfix */
	char collector[272];          /* HOST:PORT */
	uint32_t transport;           /* enum sink_transport */
	uint32_t reserved;
	uint64_t observation_domain;
	uint64_t template_refresh_ns;
	bool biflow;
	/* the delivery contract of the networked formats */
	uint32_t when_full;           /* enum sink_when_full */
	uint64_t drain_timeout_ns;
	struct sink_clickhouse_params clickhouse; /* format clickhouse */
	struct sink_kafka_params kafka; /* format kafka */
	struct sink_action_params action; /* formats exec, webhook, journal, syslog */
};

static const char *const format_names[] = {"jsonl",      "null",  "sqlite",  "ipfix",
					   "clickhouse", "kafka", "exec",    "webhook",
					   "journal",    "syslog", NULL};
static const char *const transport_names[] = {"udp", "tcp", NULL};
static const char *const when_full_names[] = {"block", "drop", NULL};

static const struct config_field sink_fields[] = {
	{.key = "format", .type = CONFIG_CHOICE, .offset = offsetof(struct sink_params, format),
	 .choices = format_names, .default_value = "jsonl",
	 .description = "record encoding: `jsonl` (one JSON object per line), or `null`: discard "
			"packets and records, only counting them (no `path`; runs on a worker lcore), "
			"`sqlite`: rows of a SQLite database, one table per record type, `ipfix`: "
			"flow records to an IPFIX collector, `clickhouse`: rows of ClickHouse "
			"tables over its HTTP interface, `kafka`: one message per record to "
			"Kafka brokers; or an action on each alert record (alerts only): `exec` (a "
			"program), `webhook` (an HTTP POST), `journal` (a journal entry) or "
			"`syslog` (an RFC 5424 message over UDP)"},
	{.key = "path", .type = CONFIG_STRING, .offset = offsetof(struct sink_params, path),
	 .size = sizeof(((struct sink_params *)0)->path),
	 .description = "file to append records to, or `-` for standard output (required with "
			"`jsonl`); with `sqlite`, the database file (created if absent)"},
	/* 16k: room for a burst of the longest lines would be 48k; less only means smaller bursts */
	{.key = "buffer", .type = CONFIG_SIZE, .offset = offsetof(struct sink_params, buffer_size),
	 .default_value = "64M", .minimum = 16 * 1024,
	 .description = "bytes of formatted records (`sqlite`: of queued records, 240 bytes each; "
			"`ipfix`: of flow records, 120 bytes each, for the collector; `clickhouse`: of "
			"jsonl lines for the server; `kafka`: of message values and keys) that may wait "
			"for the disk or the network; when full, the sink stops taking records and they "
			"wait in their rings (backpressure; a networked format does as `when_full` says)"},
	/* at most a day: sqlite's busy timeout takes it as an int of milliseconds */
	{.key = "retry", .type = CONFIG_DURATION, .offset = offsetof(struct sink_params, retry_ns),
	 .default_value = "10s", .maximum = 86400ull * 1000000000ull,
	 .description = "how long a failed write (a full disk) is retried, backing off from 10ms "
			"to 1s, before its records are counted as `dropped_records`; with `sqlite`, the "
			"write is a transaction (a database locked by another writer fails one too) "
			"and what is dropped is its whole window; with `webhook`, how long a failed POST "
			"is tried again (backing off from 100ms to 5s) before the action is counted "
			"as `actions_failed`"},
	{.key = "retain", .type = CONFIG_DURATION, .offset = offsetof(struct sink_params, retain_ns),
	 .description = "`sqlite` only: rows whose time is older than the newest record's by more "
			"are deleted, a bounded number per transaction (default: rows are kept)"},
	{.key = "collector", .type = CONFIG_STRING, .offset = offsetof(struct sink_params, collector),
	 .size = sizeof(((struct sink_params *)0)->collector),
	 .description = "format ipfix: the collector's `HOST:PORT` (`[IPV6]:PORT` for an IPv6 "
			"address; required)"},
	{.key = "transport", .type = CONFIG_CHOICE, .offset = offsetof(struct sink_params, transport),
	 .choices = transport_names, .default_value = "udp",
	 .description = "format ipfix: `udp` (templates sent again every `template_refresh`) or "
			"`tcp` (templates once per connection)"},
	{.key = "observation_domain", .type = CONFIG_UNSIGNED,
	 .offset = offsetof(struct sink_params, observation_domain), .default_value = "1",
	 .maximum = UINT32_MAX,
	 .description = "format ipfix: the observation domain id of the messages"},
	{.key = "biflow", .type = CONFIG_BOOL, .offset = offsetof(struct sink_params, biflow),
	 .default_value = "false",
	 .description = "format ipfix: `true`: one RFC 5103 record per flow, the responder's "
			"figures in reverse elements; `false`: one record per direction"},
	{.key = "template_refresh", .type = CONFIG_DURATION,
	 .offset = offsetof(struct sink_params, template_refresh_ns), .default_value = "30s",
	 .minimum = 100 * 1000 * 1000ull,
	 .description = "format ipfix over udp: how often the templates are sent again, so a "
			"collector that starts later (or restarts) can decode (RFC 7011 section 8.4)"},
	{.key = "when_full", .type = CONFIG_CHOICE, .offset = offsetof(struct sink_params, when_full),
	 .choices = when_full_names, .default_value = "block",
	 .description = "networked formats: what a full `buffer` does while the store is slow or "
			"down: `block` (the sink stops taking records, they wait in their rings and "
			"any loss is counted at the NIC) or `drop` (the newest records are dropped, "
			"counted as `dropped_sink_full`)"},
	{.key = "drain_timeout", .type = CONFIG_DURATION,
	 .offset = offsetof(struct sink_params, drain_timeout_ns), .default_value = "10s",
	 .maximum = 86400ull * 1000000000ull,
	 .description = "networked and action formats: at a stop, or when a reload retires the "
			"sink, how long buffered records may take to be delivered (the queued alerts' "
			"actions to run); those left are counted as `dropped_drain_timeout`"},
	{.key = "url", .type = CONFIG_STRING, .offset = offsetof(struct sink_params, clickhouse.url),
	 .size = sizeof(((struct sink_params *)0)->clickhouse.url),
	 .default_value = "http://127.0.0.1:8123",
	 .description = "format clickhouse: the server's HTTP interface (user and password, if "
			"any, as `http://USER:PASSWORD@HOST:8123`); format webhook: the URL each "
			"alert is POSTed to (required)"},
	{.key = "table", .type = CONFIG_STRING,
	 .offset = offsetof(struct sink_params, clickhouse.table),
	 .size = sizeof(((struct sink_params *)0)->clickhouse.table), .default_value = "{type}",
	 .description = "format clickhouse: the table records go to; `{type}` is the record type "
			"(`flow`, `src_count`, `alert`, `proto_stats`)"},
	{.key = "database", .type = CONFIG_STRING,
	 .offset = offsetof(struct sink_params, clickhouse.database),
	 .size = sizeof(((struct sink_params *)0)->clickhouse.database),
	 .default_value = "default", .description = "format clickhouse: the tables' database"},
	{.key = "batch_rows", .type = CONFIG_UNSIGNED,
	 .offset = offsetof(struct sink_params, clickhouse.batch_rows), .default_value = "10000",
	 .minimum = 1, .maximum = 1000000,
	 .description = "format clickhouse: an INSERT carries at most this many records of one "
			"table (ClickHouse prefers few large inserts)"},
	{.key = "batch_delay", .type = CONFIG_DURATION,
	 .offset = offsetof(struct sink_params, clickhouse.batch_delay_ns), .default_value = "1s",
	 .minimum = 1000 * 1000ull, .maximum = 3600ull * 1000000000ull,
	 .description = "format clickhouse: a batch is sent at most this long after its first "
			"record, full or not"},
	{.key = "create_table", .type = CONFIG_BOOL,
	 .offset = offsetof(struct sink_params, clickhouse.create_table), .default_value = "false",
	 .description = "format clickhouse: `true`: each table is created (MergeTree, README) "
			"before its first insert, if absent"},
	{.key = "brokers", .type = CONFIG_STRING, .offset = offsetof(struct sink_params, kafka.brokers),
	 .size = sizeof(((struct sink_params *)0)->kafka.brokers),
	 .description = "format kafka: the bootstrap brokers, `HOST:PORT[,HOST:PORT...]` "
			"(required)"},
	{.key = "topic", .type = CONFIG_STRING, .offset = offsetof(struct sink_params, kafka.topic),
	 .size = sizeof(((struct sink_params *)0)->kafka.topic), .default_value = "jetstream.{type}",
	 .description = "format kafka: the topic; `{type}` becomes the record type (`src_count`, "
			"`alert`, `flow`, `proto_stats`)"},
	{.key = "kafka", .type = CONFIG_PROPERTIES,
	 .offset = offsetof(struct sink_params, kafka.properties),
	 .size = sizeof(((struct sink_params *)0)->kafka.properties),
	 .description = "format kafka: librdkafka producer properties passed through, such as "
			"`{compression.type: lz4, linger.ms: 20}` (not those the sink sets itself)"},
	{.key = "command", .type = CONFIG_STRING_LIST,
	 .offset = offsetof(struct sink_params, action.command),
	 .size = sizeof(((struct sink_params *)0)->action.command),
	 .description = "format exec: `[PROGRAM, ARG...]`, run once per alert record (no shell), "
			"the record's jsonl line on its stdin, its fields in `ALERT_*` variables "
			"(README, Alert actions; required)"},
	{.key = "server", .type = CONFIG_STRING, .offset = offsetof(struct sink_params, action.server),
	 .size = sizeof(((struct sink_params *)0)->action.server),
	 .description = "format syslog: the server's `HOST:PORT` (UDP; `[IPV6]:PORT`; required)"},
	{.key = "facility", .type = CONFIG_CHOICE,
	 .offset = offsetof(struct sink_params, action.facility),
	 .choices = sink_action_facility_names, .default_value = "daemon",
	 .description = "format syslog: the messages' facility (`kern`, `user`, `daemon`, "
			"`auth`, ..., `local0` to `local7`)"},
	{.key = "timeout", .type = CONFIG_DURATION,
	 .offset = offsetof(struct sink_params, action.timeout_ns), .default_value = "10s",
	 .minimum = 1000 * 1000ull, .maximum = 86400ull * 1000000000ull,
	 .description = "formats exec and webhook: how long one action may take; a program still "
			"running is sent SIGTERM, then SIGKILL a second later (`actions_timed_out`), "
			"a POST is abandoned (and tried again within `retry`)"},
	{.key = "concurrency", .type = CONFIG_UNSIGNED,
	 .offset = offsetof(struct sink_params, action.concurrency), .default_value = "4",
	 .minimum = 1, .maximum = 256,
	 .description = "formats exec and webhook: actions that may run at once; the others wait "
			"in the queue (those of one alert always one after the other, in order)"},
	{.key = "queue", .type = CONFIG_UNSIGNED, .offset = offsetof(struct sink_params, action.queue),
	 .default_value = "1024", .minimum = 1, .maximum = 1000000,
	 .description = "action formats: alerts that may wait for a free slot; an alert that finds "
			"the queue full is counted as `dropped_sink_full` (an action never holds "
			"the graph back)"},
	{.key = NULL},
};

/* The keys only format ipfix reads. */
static const char *const ipfix_keys[] = {"collector", "transport", "observation_domain",
					 "template_refresh", "biflow", NULL};

/* The keys of the delivery contract, which only the networked formats read. */
static const char *const delivery_keys[] = {"when_full", "drain_timeout", NULL};

/* Formats that act on alert records (kernels/sink_action.h). */
static bool
format_is_action(uint32_t format)
{
	return format >= SINK_FORMAT_EXEC && format <= SINK_FORMAT_SYSLOG;
}

static enum action_format
action_format(uint32_t format)
{
	return (enum action_format)(format - SINK_FORMAT_EXEC);
}

/* Formats that deliver to a store over the network, under the delivery contract. */
static bool
format_is_networked(uint32_t format)
{
	return format == SINK_FORMAT_IPFIX || format == SINK_FORMAT_CLICKHOUSE ||
	       format == SINK_FORMAT_KAFKA;
}

/*
 * Alert records a sink writes are logged too (MESSAGE_ID alert, for
 * `journalctl MESSAGE_ID=...`), at most this many a second per sink: a flood
 * of alerts is in the file, and the log says how many lines it left out.
 */
#define ALERT_LOG_PER_SECOND 10

/* Formatted lines of one burst, appended to the writer's buffer with one copy. */
#define SINK_STAGING_SIZE (KERNEL_BURST * JSONL_LINE_MAX)

struct sink_state {
	struct line_writer *writer;     /* format jsonl only */
	struct sqlite_writer *database; /* format sqlite only */
	struct sink_ipfix *ipfix;       /* format ipfix only */
	struct clickhouse *clickhouse;  /* format clickhouse only */
	struct sink_kafka *kafka;       /* format kafka only */
	struct sink_action *action;     /* the action formats only */
	uint64_t packets;               /* format null only: polling thread: wo, cp: ro */
	uint64_t records;               /* format null only: polling thread: wo, cp: ro */
	_Atomic uint64_t format_failures; /* polling thread: wo, cp: ro. Records no line could hold */
	/* polling thread only: the alert lines' rate limit */
	uint64_t alert_second;          /* CLOCK_MONOTONIC second of the lines counted below */
	unsigned alerts_logged;         /* logged in that second */
	uint64_t alerts_not_logged;     /* left out since the last line logged */
	char staging[SINK_STAGING_SIZE]; /* polling thread only */
};

/* The keys format ipfix reads, from the sink's. */
static struct sink_ipfix_config
ipfix_config(const struct sink_params *params)
{
	return (struct sink_ipfix_config){
		.collector = params->collector, .tcp = params->transport == SINK_TRANSPORT_TCP,
		.biflow = params->biflow, .drop_when_full = params->when_full == SINK_WHEN_FULL_DROP,
		.observation_domain = (uint32_t)params->observation_domain,
		.buffer_size = params->buffer_size, .template_refresh_ns = params->template_refresh_ns,
		.drain_timeout_ns = params->drain_timeout_ns,
	};
}

static void
sink_check(const void *params_pointer, struct config_check_context *context)
{
	const struct sink_params *params = params_pointer;
	char directory[PATH_MAX];

	if (params->format != SINK_FORMAT_IPFIX)
		for (const char *const *key = ipfix_keys; *key != NULL; key++)
			if (config_check_key_set(context, *key))
				config_check_error(context, *key, "'%s' applies to format ipfix only",
						   *key);
	if (!format_is_networked(params->format) && !format_is_action(params->format))
		for (const char *const *key = delivery_keys; *key != NULL; key++)
			if (config_check_key_set(context, *key))
				config_check_error(context, *key,
						   "'%s' applies to the networked formats only (ipfix, "
						   "clickhouse, kafka)",
						   *key);
	if (params->format != SINK_FORMAT_SQLITE && config_check_key_set(context, "retain"))
		config_check_error(context, "retain", "'retain' applies with format sqlite only");
	if (params->format != SINK_FORMAT_KAFKA)
		sink_kafka_check_unused(context);
	if (params->format != SINK_FORMAT_CLICKHOUSE && params->format != SINK_FORMAT_WEBHOOK &&
	    config_check_key_set(context, "url"))
		config_check_error(context, "url", "'url' applies to formats clickhouse and webhook only");
	if (!format_is_action(params->format))
		sink_action_check_unused(context);
	else {
		sink_action_check(action_format(params->format), &params->action,
				  params->clickhouse.url, context);
		return;
	}
	sink_clickhouse_check(&params->clickhouse, params->format == SINK_FORMAT_CLICKHOUSE, context);
	if (params->format == SINK_FORMAT_CLICKHOUSE)
		return;
	if (params->format == SINK_FORMAT_IPFIX) {
		struct sink_ipfix_config config = ipfix_config(params);

		sink_ipfix_check(&config, context);
		return;
	}
	if (params->format == SINK_FORMAT_KAFKA) {
		sink_kafka_check(&params->kafka, context);
		return;
	}
	if (params->format == SINK_FORMAT_NULL) {
		if (config_check_key_set(context, "path"))
			config_check_error(context, "path",
					   "'path' does not apply with format null (nothing is written)");
		return;
	}
	if (!config_check_key_set(context, "path")) {
		config_check_error(context, NULL, "'path' is required with format %s",
				   format_names[params->format]);
		return;
	}
	if (strcmp(params->path, "-") == 0) {
		if (params->format == SINK_FORMAT_SQLITE)
			config_check_error(context, "path", "a database cannot be standard output");
		return;
	}
	snprintf(directory, sizeof(directory), "%s", params->path);
	if (access(dirname(directory), W_OK) != 0)
		config_check_error(context, "path", "cannot write in the directory of '%s': %s",
				   params->path, strerror(errno));
}

/*
 * A sink that writes does blocking I/O, so it runs on the sink thread. Only
 * what is discarded can be packets: an encoding has nothing to say about an mbuf.
 */
static void
sink_properties(const void *params_pointer, struct kernel_properties *properties)
{
	const struct sink_params *params = params_pointer;

	properties->runs_on_sink_thread = params->format != SINK_FORMAT_NULL;
	properties->input_type = params->format == SINK_FORMAT_NULL ? STREAM_ANY : STREAM_ANY_RECORD;
	if (params->format == SINK_FORMAT_IPFIX)
		properties->input_type = STREAM_FLOW; /* the templates are for flow records */
	if (format_is_action(params->format))
		properties->input_type = STREAM_ALERT; /* an action is what an alert calls for */
}

static int
open_ipfix(struct kernel_instance *instance, struct sink_state *state)
{
	struct sink_ipfix_config config = ipfix_config(instance->params);

	return sink_ipfix_open(instance, &config, &state->ipfix);
}

/* A table whose columns differ is the configured path's fault: the start exits 78 at `path:`. */
static int
open_database(struct kernel_instance *instance, struct sink_state *state)
{
	const struct sink_params *params = instance->params;
	struct sqlite_writer_settings settings = {
		.owner = instance->name, .capacity = params->buffer_size,
		.retry_ns = params->retry_ns, .retain_ns = params->retain_ns,
	};
	int error = sqlite_writer_open(&state->database, params->path, &settings, instance->error,
				       sizeof(instance->error));

	if (error == -EINVAL)
		instance->error_key = "path";
	return error;
}

static int
sink_init(struct kernel_instance *instance)
{
	const struct sink_params *params = instance->params;
	struct sink_state *state = calloc(1, sizeof(*state));
	struct line_writer_settings settings = {
		.owner = instance->name, .capacity = params->buffer_size, .retry_ns = params->retry_ns,
	};
	struct sink_delivery_params delivery = {
		.buffer_size = params->buffer_size, .drain_timeout_ns = params->drain_timeout_ns,
		.drop_when_full = params->when_full == SINK_WHEN_FULL_DROP,
	};
	int error;

	if (state == NULL)
		return -ENOMEM;
	if (params->format == SINK_FORMAT_JSONL)
		error = line_writer_open(&state->writer, params->path, &settings, instance->error,
					 sizeof(instance->error));
	else if (params->format == SINK_FORMAT_SQLITE)
		error = open_database(instance, state);
	else if (params->format == SINK_FORMAT_IPFIX)
		error = open_ipfix(instance, state);
	else if (params->format == SINK_FORMAT_CLICKHOUSE)
		error = sink_clickhouse_open(instance, &params->clickhouse, &delivery, &state->clickhouse);
	else if (params->format == SINK_FORMAT_KAFKA)
		error = sink_kafka_open(instance, &state->kafka, &params->kafka,
					&(struct sink_kafka_delivery){
						.buffer_bytes = params->buffer_size,
						.drop_when_full = params->when_full == SINK_WHEN_FULL_DROP,
						.drain_timeout_ns = params->drain_timeout_ns});
	else if (format_is_action(params->format))
		error = sink_action_open(instance, action_format(params->format), &params->action,
					 &(struct sink_action_shared){
						 .url = params->clickhouse.url,
						 .retry_ns = params->retry_ns,
						 .drain_timeout_ns = params->drain_timeout_ns},
					 &state->action);
	else
		error = 0;
	if (error != 0) {
		free(state);
		return error;
	}
	instance->state = state;
	return 0;
}

/* Format null: a worker lcore runs this, so no syscalls, only counting and freeing. */
static unsigned
sink_discard(struct kernel_instance *instance)
{
	struct sink_state *state = instance->state;
	union {
		struct rte_mbuf *packets[KERNEL_BURST];
		union any_record records[KERNEL_BURST];
	} items;
	enum stream_type type;
	unsigned received = kernel_receive(instance, &items, KERNEL_BURST, &type);

	if (received == 0)
		return 0;
	if (type == STREAM_PACKET) {
		rte_pktmbuf_free_bulk(items.packets, received);
		state->packets += received;
	} else {
		state->records += received;
	}
	return received;
}

/* Records the buffer has room for now, at the longest a line may be: at most a burst. */
static unsigned
records_with_room(const struct sink_state *state)
{
	size_t room = line_writer_space(state->writer) / JSONL_LINE_MAX;

	return room < KERNEL_BURST ? (unsigned)room : KERNEL_BURST;
}

/* Say how many alerts the rate limit left out since the last one logged (polling thread). */
static void
report_alerts_not_logged(struct sink_state *state)
{
	if (state->alerts_not_logged > 0)
		log_warning("%" PRIu64 " alerts were not logged (at most %d a second per sink; all "
			    "are in the sink's file)", state->alerts_not_logged, ALERT_LOG_PER_SECOND);
	state->alerts_not_logged = 0;
}

/*
 * Log the alert whose jsonl line is @p line (@p length bytes, its newline
 * included), within the rate limit. A sink that writes is polled on the sink
 * thread, not on a worker (sink_properties), so it may log.
 */
static void
log_alert(struct sink_state *state, const union any_record *record, const char *line,
	  size_t length)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((uint64_t)now.tv_sec != state->alert_second) {
		state->alert_second = (uint64_t)now.tv_sec;
		state->alerts_logged = 0;
	}
	if (state->alerts_logged == ALERT_LOG_PER_SECOND) {
		state->alerts_not_logged++;
		return;
	}
	state->alerts_logged++;
	report_alerts_not_logged(state);
	log_message_fields(LOG_LEVEL_WARNING,
			   &(struct log_fields){.message_id = LOG_MESSAGE_ALERT,
						.kernel = record->header.kernel},
			   "alert: %.*s", (int)(length - 1), line);
}

/* Format @p count records packed at @p element_size into the staging area. @return its bytes. */
static size_t
format_records(struct sink_state *state, const void *records, unsigned count,
	       unsigned element_size)
{
	size_t length = 0;

	for (unsigned i = 0; i < count; i++) {
		union any_record record;
		size_t line;

		/* records arrive packed at their ring's element size, not at sizeof(union any_record) */
		memcpy(&record, (const char *)records + (size_t)i * element_size, element_size);
		line = jsonl_format_record(&record, state->staging + length, JSONL_LINE_MAX);
		if (line == 0 || line >= JSONL_LINE_MAX) { /* cannot happen with the built-in records */
			atomic_fetch_add_explicit(&state->format_failures, 1, memory_order_relaxed);
			continue;
		}
		if (record.header.type == STREAM_ALERT)
			log_alert(state, &record, state->staging + length, line);
		length += line;
	}
	return length;
}

/* Log the alerts among @p count records packed at @p element_size, as their jsonl lines. */
static void
log_alerts(struct sink_state *state, const void *records, unsigned count, unsigned element_size)
{
	for (unsigned i = 0; i < count; i++) {
		union any_record record;
		size_t line;

		memcpy(&record, (const char *)records + (size_t)i * element_size, element_size);
		if (record.header.type != STREAM_ALERT)
			continue;
		line = jsonl_format_record(&record, state->staging, JSONL_LINE_MAX);
		if (line > 0 && line < JSONL_LINE_MAX)
			log_alert(state, &record, state->staging, line);
	}
}

/* Format sqlite: queue a burst for the database's writer thread, as far as the queue has room. */
static unsigned
insert_records(struct kernel_instance *instance)
{
	struct sink_state *state = instance->state;
	union any_record records[KERNEL_BURST];
	size_t space = sqlite_writer_space(state->database);
	unsigned room = space < KERNEL_BURST ? (unsigned)space : KERNEL_BURST, received;
	enum stream_type type;
	if (room == 0) {
		instance->counters.backpressure++; /* the records wait in their rings */
		return 0;
	}
	received = kernel_receive(instance, records, room, &type);
	if (received == 0)
		return 0;
	log_alerts(state, records, received, stream_element_size(type));
	sqlite_writer_append(state->database, records, received, stream_element_size(type));
	return received;
}

static unsigned
sink_process(struct kernel_instance *instance)
{
	const struct sink_params *params = instance->params;
	struct sink_state *state = instance->state;
	union any_record records[KERNEL_BURST];
	enum stream_type type;
	unsigned room, received;
	size_t length;

	if (params->format == SINK_FORMAT_NULL)
		return sink_discard(instance);
	if (params->format == SINK_FORMAT_SQLITE)
		return insert_records(instance);
	if (params->format == SINK_FORMAT_IPFIX)
		return sink_ipfix_process(instance, state->ipfix);
	if (params->format == SINK_FORMAT_KAFKA)
		return sink_kafka_process(instance, state->kafka);
	if (state->action != NULL)
		return sink_action_process(instance, state->action);
	room = state->clickhouse != NULL
		       ? sink_clickhouse_room(state->clickhouse,
					      params->when_full == SINK_WHEN_FULL_DROP)
		       : records_with_room(state);
	if (room == 0) {
		instance->counters.backpressure++; /* the records wait in their rings */
		return 0;
	}
	received = kernel_receive(instance, records, room, &type);
	if (received == 0)
		return 0;
	length = format_records(state, records, received, stream_element_size(type));
	if (length > 0 && state->clickhouse != NULL)
		clickhouse_append(state->clickhouse, type, state->staging, length);
	else if (length > 0)
		line_writer_append(state->writer, state->staging, length);
	return received;
}

/*
 * Once everything is written or counted as dropped, an incomplete output is
 * said in instance->failure. That happens here, on the polling thread, before
 * the runtime marks the instance finished (release); the control thread
 * reads the error after seeing it finished (acquire).
 */
static void
note_incomplete_output(struct kernel_instance *instance)
{
	struct sink_state *state = instance->state;
	uint64_t format_failures = atomic_load_explicit(&state->format_failures,
							memory_order_relaxed);

	if (state->writer != NULL &&
	    line_writer_failure(state->writer, instance->failure, sizeof(instance->failure)))
		return;
	if (state->database != NULL &&
	    sqlite_writer_failure(state->database, instance->failure, sizeof(instance->failure)))
		return;
	if (format_failures > 0)
		kernel_fail(instance, "%" PRIu64 " records longer than a line may be (dropped_records)",
			    format_failures);
}

static bool
sink_flush(struct kernel_instance *instance)
{
	struct sink_state *state = instance->state;

	if (state->kafka != NULL)
		return sink_kafka_flush(instance, state->kafka);
	if (state->action != NULL)
		return sink_action_flush(instance, state->action);
	if (state->ipfix != NULL)
		return sink_ipfix_flush(instance, state->ipfix);
	if (state->clickhouse != NULL) {
		if (!clickhouse_flush(state->clickhouse))
			return false;
		sink_clickhouse_note_failure(instance, state->clickhouse);
	}
	if (state->writer == NULL && state->database == NULL && state->clickhouse == NULL)
		return true; /* format null: nothing is ever buffered */
	if (state->writer != NULL && !line_writer_flush(state->writer))
		return false;
	if (state->database != NULL && !sqlite_writer_flush(state->database))
		return false;
	report_alerts_not_logged(state); /* drained: no alert comes to log them with */
	note_incomplete_output(instance);
	return true;
}

/* Format sqlite: the jsonl sink's statistic names, from the database's writer. */
static unsigned
database_stats(const struct sink_state *state, struct kernel_stat *stats)
{
	struct sqlite_writer_figures figures;

	sqlite_writer_figures(state->database, &figures);
	stats[0] = (struct kernel_stat){"records", figures.records_written};
	stats[1] = (struct kernel_stat){"dropped_records", figures.records_dropped};
	stats[2] = (struct kernel_stat){"write_errors", figures.write_errors};
	stats[3] = (struct kernel_stat){"buffer_bytes", figures.buffer_bytes};
	stats[4] = (struct kernel_stat){"buffer_max_bytes", figures.buffer_max_bytes};
	return 5;
}

static unsigned
sink_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	const struct sink_state *state = instance->state;
	struct line_writer_figures figures;

	if (state->database != NULL)
		return database_stats(state, stats);
	if (state->ipfix != NULL)
		return sink_ipfix_stats(state->ipfix, stats);
	if (state->clickhouse != NULL)
		return sink_clickhouse_stats(state->clickhouse, stats);
	if (state->kafka != NULL)
		return sink_kafka_stats(state->kafka, stats);
	if (state->action != NULL)
		return sink_action_stats(state->action, stats);
	if (state->writer == NULL) {
		stats[0] = (struct kernel_stat){"packets", state->packets};
		stats[1] = (struct kernel_stat){"records", state->records};
		return 2;
	}
	line_writer_figures(state->writer, &figures);
	stats[0] = (struct kernel_stat){"records", figures.lines_written};
	stats[1] = (struct kernel_stat){
		"dropped_records",
		figures.lines_dropped +
			atomic_load_explicit(&state->format_failures, memory_order_relaxed)};
	stats[2] = (struct kernel_stat){"write_errors", figures.write_errors};
	stats[3] = (struct kernel_stat){"buffer_bytes", figures.buffer_bytes};
	stats[4] = (struct kernel_stat){"buffer_max_bytes", figures.buffer_max_bytes};
	return 5;
}

static void
sink_destroy(struct kernel_instance *instance)
{
	struct sink_state *state = instance->state;

	if (state == NULL)
		return;
	line_writer_close(state->writer); /* writes out what still waits */
	sqlite_writer_close(state->database); /* commits what still waits */
	sink_ipfix_close(state->ipfix); /* what still waits was sent by the flush, or is counted */
	clickhouse_close(state->clickhouse); /* delivers what still waits, within drain_timeout */
	sink_kafka_close(state->kafka); /* counts what still waits as dropped_drain_timeout */
	sink_action_close(state->action); /* what still waits is dropped_drain_timeout */
	free(state);
	instance->state = NULL;
}

const struct kernel_ops sink_kernel = {
	.name = "sink",
	.description = "Writes records to a file, stdout or (`format: sqlite`) a SQLite database, "
		       "sends flow records (`format: ipfix`, which takes flow records only) to an "
		       "IPFIX collector, inserts records into ClickHouse tables (`format: "
		       "clickhouse`), sends records to Kafka (`format: kafka`), acts on alert records "
		       "(`format: exec`, `webhook`, `journal`, `syslog`), or (`format: null`) "
		       "discards packets and records",
	.input_type = STREAM_ANY_RECORD,
	.output_type = STREAM_NONE,
	.multiple_inputs = true,
	.replicable = false,
	.properties = sink_properties,
	.params_size = sizeof(struct sink_params),
	.config_map = sink_fields,
	.check = sink_check,
	.init = sink_init,
	.process = sink_process,
	.flush = sink_flush,
	.stats = sink_stats,
	.destroy = sink_destroy,
};
