/* SPDX-License-Identifier: BSD-3-Clause */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "outputs/alert_fields.h"
#include "packet.h"

#define NANOSECONDS_PER_SECOND UINT64_C(1000000000)

/* RFC 5612's example enterprise number: an SD-ID with `@` needs one, and Jetstream has none. */
#define SYSLOG_SD_ID "alert@32473"

struct builder {
	struct alert_fields *fields;
	size_t used;
};

static void
add(struct builder *builder, const char *name, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

static void
add(struct builder *builder, const char *name, const char *format, ...)
{
	struct alert_fields *fields = builder->fields;
	size_t room = sizeof(fields->text) - builder->used;
	char *text = fields->text + builder->used;
	va_list arguments;
	int length;

	if (fields->count == ALERT_FIELDS_MAX || room < 2)
		return;
	length = snprintf(text, room, "ALERT_%s=", name);
	if (length < 0 || (size_t)length >= room)
		return;
	va_start(arguments, format);
	length += vsnprintf(text + length, room - (size_t)length, format, arguments);
	va_end(arguments);
	if ((size_t)length >= room)
		length = (int)room - 1; /* cut, still NUL-ended */
	fields->variables[fields->count++] = text;
	fields->variables[fields->count] = NULL;
	builder->used += (size_t)length + 1;
}

static void
add_seconds(struct builder *builder, const char *name, uint64_t nanoseconds)
{
	add(builder, name, "%" PRIu64 ".%09" PRIu64, nanoseconds / NANOSECONDS_PER_SECOND,
	    nanoseconds % NANOSECONDS_PER_SECOND);
}

/* A NUL-padded name of @p size bytes, not NUL-ended when full, as printable text. */
static void
add_padded(struct builder *builder, const char *name, const char *padded, size_t size)
{
	char text[64];
	size_t length = 0;

	for (; length < size && length < sizeof(text) - 1 && padded[length] != '\0'; length++)
		text[length] = isprint((unsigned char)padded[length]) ? padded[length] : '?';
	text[length] = '\0';
	if (length > 0)
		add(builder, name, "%s", text);
}

static void
add_address(struct builder *builder, const char *name, const uint8_t address[16])
{
	char text[64];

	packet_address_format(address, text, sizeof(text));
	add(builder, name, "%s", text);
}

size_t
alert_key_text(const struct alert_record *record, char *text, size_t size)
{
	int length = packet_address_format(record->key == COUNT_KEY_SOURCE ? record->source_address
									  : record->destination_address,
					   text, size);

	return length > 0 ? (size_t)length : 0;
}

static void
add_lifecycle(struct builder *builder, const struct alert_record *record)
{
	add(builder, "STATE", "%s", alert_state_name((enum alert_state)record->state));
	add(builder, "ID", "%016" PRIx64, record->alert_id);
}

static void
add_figures(struct builder *builder, const struct alert_record *record, bool lifecycle)
{
	if (record->metric != THRESHOLD_METRIC_NONE)
		add(builder, "METRIC", "%s", record->metric == THRESHOLD_METRIC_BYTES ? "bytes" : "pkts");
	if (record->per == THRESHOLD_PER_SECOND)
		add(builder, "PER", "second");
	add(builder, "VALUE", "%" PRIu64, record->value);
	if (record->metric != THRESHOLD_METRIC_NONE)
		add(builder, "THRESHOLD", "%" PRIu64, record->threshold);
	if (lifecycle) {
		add(builder, "PEAK", "%" PRIu64, record->peak);
		add(builder, "PKTS", "%" PRIu64, record->total_packets);
		add(builder, "BYTES", "%" PRIu64, record->total_bytes);
	}
	add_seconds(builder, "START", record->start_ns);
	add_seconds(builder, "END", record->end_ns);
	if (lifecycle)
		add_seconds(builder, "DURATION",
			    record->end_ns > record->start_ns ? record->end_ns - record->start_ns : 0);
	if (lifecycle && record->state == ALERT_STATE_END)
		add(builder, "REASON", "%s",
		    alert_end_reason_name((enum alert_end_reason)record->end_reason));
}

void
alert_fields_format(const struct alert_record *record, struct alert_fields *fields)
{
	struct builder builder = {.fields = fields};
	bool lifecycle = (record->fields & ALERT_FIELD_LIFECYCLE) != 0;
	char key[64];

	fields->count = 0;
	fields->variables[0] = NULL;
	if (lifecycle)
		add_lifecycle(&builder, record);
	alert_key_text(record, key, sizeof(key));
	add(&builder, "KEY", "%s", key);
	if (record->key != COUNT_KEY_DESTINATION)
		add_address(&builder, "SRC", record->source_address);
	if (record->key != COUNT_KEY_SOURCE)
		add_address(&builder, "DST", record->destination_address);
	add_padded(&builder, "GROUP", record->group, sizeof(record->group));
	add_padded(&builder, "NAME", record->name, sizeof(record->name));
	add_figures(&builder, record, lifecycle);
	add(&builder, "KERNEL", "%s", record->header.kernel != NULL ? record->header.kernel : "");
}

unsigned
alert_severity(const struct alert_record *record)
{
	bool ended = (record->fields & ALERT_FIELD_LIFECYCLE) && record->state == ALERT_STATE_END;

	return ended ? 5 : 4;
}

/* ---- RFC 5424 ---------------------------------------------------------------- */

struct message {
	char *text;
	size_t size;
	size_t length; /* as snprintf: what it would be */
};

static void
put(struct message *message, const char *bytes, size_t count)
{
	if (message->length < message->size) {
		size_t room = message->size - message->length - 1;

		memcpy(message->text + message->length, bytes, count < room ? count : room);
	}
	message->length += count;
	if (message->size > 0)
		message->text[message->length < message->size ? message->length : message->size - 1] =
			'\0';
}

static void
put_text(struct message *message, const char *text)
{
	put(message, text, strlen(text));
}

/* An SD-PARAM: the name lowercased without ALERT_, the value with `"`, `\` and `]` escaped. */
static void
put_parameter(struct message *message, const char *variable)
{
	const char *equals = strchr(variable, '=');
	const char *name = variable + strlen("ALERT_");

	put(message, " ", 1);
	for (const char *c = name; c < equals; c++) {
		char lower = (char)tolower((unsigned char)*c);

		put(message, &lower, 1);
	}
	put(message, "=\"", 2);
	for (const char *c = equals + 1; *c != '\0'; c++) {
		if (*c == '"' || *c == '\\' || *c == ']')
			put(message, "\\", 1);
		put(message, c, 1);
	}
	put(message, "\"", 1);
}

/* `2026-12-04T14:50:04.123456Z` (RFC 3339, UTC, microseconds as RFC 5424 allows). */
static void
put_timestamp(struct message *message, uint64_t time_ns)
{
	time_t seconds = (time_t)(time_ns / NANOSECONDS_PER_SECOND);
	struct tm utc;
	char text[64];

	gmtime_r(&seconds, &utc);
	strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
	put_text(message, text);
	snprintf(text, sizeof(text), ".%06" PRIu64 "Z", (time_ns % NANOSECONDS_PER_SECOND) / 1000);
	put_text(message, text);
}

/* HOSTNAME is 1 to 255 printable characters without a space: the others become `-`. */
static void
put_hostname(struct message *message, const char *hostname)
{
	size_t length = hostname != NULL ? strlen(hostname) : 0;

	if (length == 0) {
		put(message, "-", 1);
		return;
	}
	for (size_t i = 0; i < length && i < 255; i++) {
		char character = hostname[i] > ' ' && hostname[i] < 127 ? hostname[i] : '-';

		put(message, &character, 1);
	}
}

size_t
alert_syslog_format(const struct alert_record *record, const struct alert_syslog_header *header,
		    const char *line, size_t length, char *text, size_t size)
{
	struct message message = {.text = text, .size = size};
	struct alert_fields fields;
	char number[32];

	if (size > 0)
		text[0] = '\0';
	snprintf(number, sizeof(number), "<%u>1 ", header->facility * 8 + alert_severity(record));
	put_text(&message, number);
	put_timestamp(&message, header->time_ns);
	put(&message, " ", 1);
	put_hostname(&message, header->hostname);
	snprintf(number, sizeof(number), " jetstreamd %u ALERT [", header->process_id);
	put_text(&message, number);
	put_text(&message, SYSLOG_SD_ID);
	alert_fields_format(record, &fields);
	for (unsigned f = 0; f < fields.count; f++)
		put_parameter(&message, fields.variables[f]);
	put(&message, "] ", 2);
	if (length > 0 && line[length - 1] == '\n')
		length--;
	put(&message, line, length);
	return message.length;
}
