/* SPDX-License-Identifier: BSD-3-Clause */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "outputs/jsonl.h"
#include "packet.h"

#define NANOSECONDS_PER_SECOND UINT64_C(1000000000)

/*
 * A line being written. Fields are appended by hand rather than with
 * snprintf: measured, formatting took about 6,900 instructions a record with
 * four snprintf calls each, and writing 100,000 records at the end of a run was
 * a fixed cost of several tenths of a second. `length` counts what the
 * record needs, even past `size`: like snprintf, a result >= size means the
 * line did not fit.
 */
struct line {
	char *text;
	size_t size;
	size_t length;  /* what the line needs */
	size_t written; /* what is in text: length until a piece did not fit */
};

static void
put_bytes(struct line *line, const char *bytes, size_t count)
{
	if (line->written == line->length && line->length + count < line->size) {
		memcpy(line->text + line->length, bytes, count);
		line->written += count;
	}
	line->length += count;
}

static void
put_text(struct line *line, const char *text)
{
	put_bytes(line, text, strlen(text));
}

/* Decimal digits of @p value, at least @p width of them (zero-padded). */
static void
put_digits(struct line *line, uint64_t value, unsigned width)
{
	char digits[24];
	unsigned count = 0;

	do {
		digits[sizeof(digits) - ++count] = (char)('0' + value % 10);
		value /= 10;
	} while (value != 0 || count < width);
	put_bytes(line, digits + sizeof(digits) - count, count);
}

static void
put_unsigned(struct line *line, uint64_t value)
{
	put_digits(line, value, 1);
}

/* Time as exact decimal seconds: integers in, so the same input gives the same text. */
static void
put_seconds(struct line *line, uint64_t nanoseconds)
{
	put_digits(line, nanoseconds / NANOSECONDS_PER_SECOND, 1);
	put_bytes(line, ".", 1);
	put_digits(line, nanoseconds % NANOSECONDS_PER_SECOND, 9);
}

static void
put_address(struct line *line, const uint8_t address[16])
{
	char text[64];
	int length = packet_address_format(address, text, sizeof(text));

	put_bytes(line, text, length > 0 ? (size_t)length : 0);
}

/* `,"name":`, which starts every field after the first. */
static void
put_field_name(struct line *line, const char *name)
{
	put_bytes(line, ",\"", 2);
	put_text(line, name);
	put_bytes(line, "\":", 2);
}

static void
put_number_field(struct line *line, const char *name, uint64_t value)
{
	put_field_name(line, name);
	put_unsigned(line, value);
}

static void
put_seconds_field(struct line *line, const char *name, uint64_t nanoseconds)
{
	put_field_name(line, name);
	put_seconds(line, nanoseconds);
}

static void
put_text_field(struct line *line, const char *name, const char *text)
{
	put_field_name(line, name);
	put_bytes(line, "\"", 1);
	put_text(line, text);
	put_bytes(line, "\"", 1);
}

static void
put_address_field(struct line *line, const char *name, const uint8_t address[16])
{
	put_field_name(line, name);
	put_bytes(line, "\"", 1);
	put_address(line, address);
	put_bytes(line, "\"", 1);
}

/* `{"type":"…","kernel":"…"` */
static void
put_start(struct line *line, const char *type, const char *kernel)
{
	put_text(line, "{\"type\":\"");
	put_text(line, type);
	put_text(line, "\",\"kernel\":\"");
	put_text(line, kernel);
	put_bytes(line, "\"", 1);
}

/* `}` and the newline; @return the length as snprintf would. */
static size_t
put_end(struct line *line)
{
	put_bytes(line, "}\n", 2);
	if (line->size > 0)
		line->text[line->written] = '\0'; /* written < size: put_bytes keeps a byte for it */
	return line->length;
}

/* `"src":"a"`, `"dst":"b"` or both, as the record's key says. */
static void
put_key(struct line *line, uint32_t key, const uint8_t *source, const uint8_t *destination)
{
	if (key != COUNT_KEY_DESTINATION)
		put_address_field(line, "src", source);
	if (key != COUNT_KEY_SOURCE)
		put_address_field(line, "dst", destination);
}

static size_t
format_src_count(const struct src_count_record *record, struct line *line)
{
	put_start(line, "src_count", record->header.kernel);
	put_key(line, record->key, record->source_address, record->destination_address);
	put_number_field(line, "pkts", record->packets);
	put_number_field(line, "bytes", record->bytes);
	put_seconds_field(line, "start", record->start_ns);
	put_seconds_field(line, "end", record->end_ns);
	return put_end(line);
}

/*
 * A JSON string of at most @p size bytes of @p text (up to a NUL). Alert names
 * come from plugins, which the loader does not check, so quotes, backslashes
 * and bytes outside printable ASCII are escaped rather than trusted.
 */
static void
put_escaped_text(struct line *line, const char *text, size_t size)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < size && text[i] != '\0'; i++) {
		unsigned char character = (unsigned char)text[i];
		char escape[6] = {'\\', 'u', '0', '0', hex[character >> 4], hex[character & 15]};

		if (character == '"' || character == '\\') {
			escape[1] = (char)character;
			put_bytes(line, escape, 2);
		} else if (character < 0x20 || character >= 0x7f) {
			put_bytes(line, escape, sizeof(escape));
		} else {
			put_bytes(line, text + i, 1);
		}
	}
}

/* Alert ids are 16 hex digits, the width of the 64-bit id, so they sort and compare as text. */
static void
put_alert_id_field(struct line *line, uint64_t alert_id)
{
	static const char hex[] = "0123456789abcdef";
	char text[16];

	for (unsigned i = 0; i < sizeof(text); i++)
		text[i] = hex[(alert_id >> (60 - 4 * i)) & 15];
	put_field_name(line, "alert_id");
	put_bytes(line, "\"", 1);
	put_bytes(line, text, sizeof(text));
	put_bytes(line, "\"", 1);
}

/* `"group":"…"`, escaped as a plugin's name is (the loader restricts group names, but not the record). */
static void
put_group_field(struct line *line, const char *group, size_t size)
{
	put_field_name(line, "group");
	put_bytes(line, "\"", 1);
	put_escaped_text(line, group, size);
	put_bytes(line, "\"", 1);
}

/*
 * A threshold alert of `alerts: per_window` without groups sets none of the
 * optional fields, so its line is the one it always was; a lifecycle alert
 * adds its state, id, peak, totals and duration (and reason at the end), an
 * alert of another kind what it sets.
 */
static size_t
format_alert(const struct alert_record *record, struct line *line)
{
	bool lifecycle = (record->fields & ALERT_FIELD_LIFECYCLE) != 0;

	put_start(line, "alert", record->header.kernel);
	if (lifecycle) {
		put_text_field(line, "state", alert_state_name(record->state));
		put_alert_id_field(line, record->alert_id);
	}
	if (record->name[0] != '\0') {
		put_field_name(line, "name");
		put_bytes(line, "\"", 1);
		put_escaped_text(line, record->name, sizeof(record->name));
		put_bytes(line, "\"", 1);
	}
	put_key(line, record->key, record->source_address, record->destination_address);
	if (record->group[0] != '\0')
		put_group_field(line, record->group, sizeof(record->group));
	if (record->fields & ALERT_FIELD_PORTS) {
		put_number_field(line, "sport", record->source_port);
		put_number_field(line, "dport", record->destination_port);
	}
	if (record->fields & ALERT_FIELD_PROTOCOL)
		put_number_field(line, "proto", record->protocol);
	if (record->metric != THRESHOLD_METRIC_NONE)
		put_text_field(line, "metric",
			       record->metric == THRESHOLD_METRIC_BYTES ? "bytes" : "pkts");
	if (record->per == THRESHOLD_PER_SECOND)
		put_text_field(line, "per", "second");
	put_number_field(line, "value", record->value);
	if (record->fields & ALERT_FIELD_PREVIOUS)
		put_number_field(line, "previous", record->previous);
	if (record->metric != THRESHOLD_METRIC_NONE)
		put_number_field(line, "threshold", record->threshold);
	if (lifecycle) {
		put_number_field(line, "peak", record->peak);
		put_number_field(line, "pkts", record->total_packets);
		put_number_field(line, "bytes", record->total_bytes);
	}
	put_seconds_field(line, "start", record->start_ns);
	put_seconds_field(line, "end", record->end_ns);
	if (lifecycle)
		put_seconds_field(line, "duration",
				  record->end_ns > record->start_ns ? record->end_ns - record->start_ns : 0);
	if (lifecycle && record->state == ALERT_STATE_END)
		put_text_field(line, "reason", alert_end_reason_name(record->end_reason));
	return put_end(line);
}

/* TCP flags as letters in bit order, FIN first: SYN|ACK is "SA". */
static void
format_tcp_flags(uint8_t flags, char *text)
{
	static const char letters[] = "FSRPAUEC";

	for (unsigned bit = 0; bit < 8; bit++)
		if (flags & (1u << bit))
			*text++ = letters[bit];
	*text = '\0';
}

static size_t
format_flow(const struct flow_record *record, struct line *line)
{
	char flags[9], reverse_flags[9];

	format_tcp_flags(record->tcp_flags, flags);
	format_tcp_flags(record->reverse_tcp_flags, reverse_flags);
	put_start(line, "flow", record->header.kernel);
	put_address_field(line, "src", record->source_address);
	put_address_field(line, "dst", record->destination_address);
	put_number_field(line, "sport", record->source_port);
	put_number_field(line, "dport", record->destination_port);
	put_number_field(line, "proto", record->protocol);
	put_number_field(line, "pkts", record->packets);
	put_number_field(line, "bytes", record->bytes);
	put_number_field(line, "rev_pkts", record->reverse_packets);
	put_number_field(line, "rev_bytes", record->reverse_bytes);
	put_number_field(line, "ip_bytes", record->ip_bytes);
	put_number_field(line, "rev_ip_bytes", record->reverse_ip_bytes);
	put_seconds_field(line, "first", record->first_ns);
	put_seconds_field(line, "last", record->last_ns);
	put_text_field(line, "tcp_flags", flags);
	put_text_field(line, "rev_tcp_flags", reverse_flags);
	put_text_field(line, "end_reason", flow_end_reason_name(record->end_reason));
	return put_end(line);
}

/* `"name":{"a":{"pkts":1,"bytes":2},…}` for classes [first, end). */
static void
put_class_counts(struct line *line, const char *name, const struct proto_stats_record *record,
		 unsigned first, unsigned end)
{
	static const char *const names[PROTO_STATS_CLASSES] = {
		"ipv4", "ipv6", "other", "tcp", "udp", "icmp", "icmpv6", "sctp", "other",
	};

	put_field_name(line, name);
	put_bytes(line, "{", 1);
	for (unsigned c = first; c < end; c++) {
		put_text(line, c == first ? "\"" : ",\"");
		put_text(line, names[c]);
		put_bytes(line, "\":{\"pkts\":", 10);
		put_unsigned(line, record->packets[c]);
		put_number_field(line, "bytes", record->bytes[c]);
		put_bytes(line, "}", 1);
	}
	put_bytes(line, "}", 1);
}

static size_t
format_proto_stats(const struct proto_stats_record *record, struct line *line)
{
	static const char *const buckets[PROTO_STATS_SIZE_BUCKETS] = {
		"64", "65-127", "128-255", "256-511", "512-1023", "1024-1518", "1519+",
	};

	put_start(line, "proto_stats", record->header.kernel);
	put_seconds_field(line, "start", record->start_ns);
	put_seconds_field(line, "end", record->end_ns);
	put_class_counts(line, "l3", record, PROTO_STATS_IPV4, PROTO_STATS_TCP);
	put_class_counts(line, "l4", record, PROTO_STATS_TCP, PROTO_STATS_CLASSES);
	put_text(line, ",\"sizes\":{");
	for (unsigned b = 0; b < PROTO_STATS_SIZE_BUCKETS; b++) {
		put_text(line, b == 0 ? "\"" : ",\"");
		put_text(line, buckets[b]);
		put_bytes(line, "\":", 2);
		put_unsigned(line, record->size_buckets[b]);
	}
	put_bytes(line, "}", 1);
	put_number_field(line, "malformed", record->malformed_packets);
	return put_end(line);
}

size_t
jsonl_format_record(const union any_record *record, char *text, size_t size)
{
	struct line line = {.text = text, .size = size};

	switch (record->header.type) {
	case STREAM_SRC_COUNT:
		return format_src_count(&record->src_count, &line);
	case STREAM_ALERT:
		return format_alert(&record->alert, &line);
	case STREAM_FLOW:
		return format_flow(&record->flow, &line);
	case STREAM_PROTO_STATS:
		return format_proto_stats(&record->proto_stats, &line);
	default:
		return 0;
	}
}
