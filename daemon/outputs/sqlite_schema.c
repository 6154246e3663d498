/* SPDX-License-Identifier: BSD-3-Clause */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "outputs/sqlite_schema.h"
#include "packet.h"

#define NANOSECONDS_PER_SECOND 1e9

#define INTEGER(name) {name, SQLITE_COLUMN_INTEGER}
#define TEXT(name) {name, SQLITE_COLUMN_TEXT}
/* a time: REAL seconds, as the jsonl line has it, and the exact INTEGER nanoseconds */
#define TIME(name) {name, SQLITE_COLUMN_REAL}, {name "_ns", SQLITE_COLUMN_INTEGER}
#define CLASS(name) INTEGER(name "_pkts"), INTEGER(name "_bytes")

/*
 * Columns in the jsonl line's field order ("type" is the table), but for
 * columns added in a later version: they come last, so that a database an
 * earlier version made is brought up to date by adding them (sqlite_writer.c).
 */
static const struct sqlite_column src_count_columns[] = {
	TEXT("kernel"), TEXT("src"), TEXT("dst"), INTEGER("pkts"), INTEGER("bytes"), TIME("start"),
	TIME("end"),
};

static const struct sqlite_column alert_columns[] = {
	TEXT("kernel"), TEXT("name"), TEXT("src"), TEXT("dst"), INTEGER("sport"), INTEGER("dport"),
	INTEGER("proto"), TEXT("metric"), INTEGER("value"), INTEGER("previous"),
	INTEGER("threshold"), TIME("start"), TIME("end"),
	/* added with threshold groups and `alerts: lifecycle` */
	TEXT("group"), TEXT("per"), TEXT("state"), TEXT("alert_id"), INTEGER("peak"), INTEGER("pkts"),
	INTEGER("bytes"), TIME("duration"), TEXT("reason"),
};

static const struct sqlite_column flow_columns[] = {
	TEXT("kernel"), TEXT("src"), TEXT("dst"), INTEGER("sport"), INTEGER("dport"),
	INTEGER("proto"), INTEGER("pkts"), INTEGER("bytes"), INTEGER("rev_pkts"),
	INTEGER("rev_bytes"), INTEGER("ip_bytes"), INTEGER("rev_ip_bytes"), TIME("first"),
	TIME("last"), TEXT("tcp_flags"),
	TEXT("rev_tcp_flags"), TEXT("end_reason"),
};

/* the nested "l3", "l4" and "sizes" objects flattened: l3.ipv4.pkts is l3_ipv4_pkts */
static const struct sqlite_column proto_stats_columns[] = {
	TEXT("kernel"), TIME("start"), TIME("end"), CLASS("l3_ipv4"), CLASS("l3_ipv6"),
	CLASS("l3_other"), CLASS("l4_tcp"), CLASS("l4_udp"), CLASS("l4_icmp"), CLASS("l4_icmpv6"),
	CLASS("l4_sctp"), CLASS("l4_other"), INTEGER("sizes_64"), INTEGER("sizes_65_127"),
	INTEGER("sizes_128_255"), INTEGER("sizes_256_511"), INTEGER("sizes_512_1023"),
	INTEGER("sizes_1024_1518"), INTEGER("sizes_1519_plus"), INTEGER("malformed"),
};

#define COUNT(array) (unsigned)(sizeof(array) / sizeof((array)[0]))
#define TABLE(type, name, time, address) \
	{type, #name, time, address, COUNT(name##_columns), name##_columns}

static const struct sqlite_table tables[] = {
	TABLE(STREAM_SRC_COUNT, src_count, "end_ns", "src"),
	TABLE(STREAM_ALERT, alert, "end_ns", "src"),
	TABLE(STREAM_FLOW, flow, "last_ns", "src"),
	TABLE(STREAM_PROTO_STATS, proto_stats, "end_ns", NULL),
};

const struct sqlite_table *
sqlite_schema_tables(unsigned *count)
{
	*count = sizeof(tables) / sizeof(tables[0]);
	return tables;
}

const struct sqlite_table *
sqlite_schema_table(enum stream_type type)
{
	for (unsigned t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		if (tables[t].type == type)
			return &tables[t];
	return NULL;
}

const char *
sqlite_column_type_name(enum sqlite_column_type type)
{
	static const char *const names[] = {"INTEGER", "REAL", "TEXT"};

	return names[type];
}

/* snprintf that keeps a running length, past @p size too, as snprintf counts. */
#define APPEND(text, size, length, ...)                                                          \
	((length) += snprintf((size_t)(length) < (size) ? (text) + (length) : NULL,                \
			      (size_t)(length) < (size) ? (size) - (size_t)(length) : 0, __VA_ARGS__))

int
sqlite_schema_create_text(const struct sqlite_table *table, char *text, size_t size)
{
	int length = 0;

	APPEND(text, size, length, "CREATE TABLE %s (", table->name);
	for (unsigned c = 0; c < table->column_count; c++)
		APPEND(text, size, length, "%s\"%s\" %s", c == 0 ? "" : ", ", table->columns[c].name,
		       sqlite_column_type_name(table->columns[c].type));
	APPEND(text, size, length, ");\nCREATE INDEX %s_%s ON %s (\"%s\");\n", table->name,
	       table->time_column, table->name, table->time_column);
	if (table->address_column != NULL)
		APPEND(text, size, length, "CREATE INDEX %s_%s ON %s (\"%s\");\n", table->name,
		       table->address_column, table->name, table->address_column);
	return length;
}

int
sqlite_schema_insert_text(const struct sqlite_table *table, char *text, size_t size)
{
	int length = 0;

	APPEND(text, size, length, "INSERT INTO %s VALUES (", table->name);
	for (unsigned c = 0; c < table->column_count; c++)
		APPEND(text, size, length, "%s", c == 0 ? "?" : ", ?");
	APPEND(text, size, length, ")");
	return length;
}

/* ---- values ------------------------------------------------------------------ */

/* Values are appended in column order; the table's types are checked by a unit test. */
struct row {
	struct sqlite_value *values;
	unsigned count;
};

static struct sqlite_value *
next_value(struct row *row, enum sqlite_column_type type)
{
	struct sqlite_value *value = &row->values[row->count++];

	*value = (struct sqlite_value){.type = type};
	return value;
}

static void
put_null(struct row *row, enum sqlite_column_type type)
{
	next_value(row, type)->is_null = 1;
}

static void
put_integer(struct row *row, uint64_t integer)
{
	next_value(row, SQLITE_COLUMN_INTEGER)->integer = (int64_t)integer;
}

static void
put_text(struct row *row, const char *text)
{
	snprintf(next_value(row, SQLITE_COLUMN_TEXT)->text, SQLITE_TEXT_MAX, "%s", text);
}

static void
put_address(struct row *row, const uint8_t address[16])
{
	packet_address_format(address, next_value(row, SQLITE_COLUMN_TEXT)->text, SQLITE_TEXT_MAX);
}

static void
put_time(struct row *row, uint64_t nanoseconds)
{
	next_value(row, SQLITE_COLUMN_REAL)->real = (double)nanoseconds / NANOSECONDS_PER_SECOND;
	put_integer(row, nanoseconds);
}

/* src and dst, as the jsonl line's key writes them; NULL where it leaves one out. */
static void
put_key(struct row *row, uint32_t key, const uint8_t *source, const uint8_t *destination)
{
	if (key != COUNT_KEY_DESTINATION)
		put_address(row, source);
	else
		put_null(row, SQLITE_COLUMN_TEXT);
	if (key != COUNT_KEY_SOURCE)
		put_address(row, destination);
	else
		put_null(row, SQLITE_COLUMN_TEXT);
}

static void
put_optional_integer(struct row *row, int present, uint64_t integer)
{
	if (present)
		put_integer(row, integer);
	else
		put_null(row, SQLITE_COLUMN_INTEGER);
}

static void
put_optional_text(struct row *row, int present, const char *text)
{
	if (present)
		put_text(row, text);
	else
		put_null(row, SQLITE_COLUMN_TEXT);
}

static void
src_count_values(const struct src_count_record *record, struct row *row)
{
	put_text(row, record->header.kernel);
	put_key(row, record->key, record->source_address, record->destination_address);
	put_integer(row, record->packets);
	put_integer(row, record->bytes);
	put_time(row, record->start_ns);
	put_time(row, record->end_ns);
}

/* The columns a jsonl line has only with groups or `alerts: lifecycle`: NULL without. */
static void
alert_lifecycle_values(const struct alert_record *record, struct row *row)
{
	bool lifecycle = (record->fields & ALERT_FIELD_LIFECYCLE) != 0;
	struct sqlite_value *group = next_value(row, SQLITE_COLUMN_TEXT);
	uint64_t duration_ns = record->end_ns > record->start_ns ? record->end_ns - record->start_ns
								  : 0;

	/* not NUL-terminated when it fills the array */
	snprintf(group->text, SQLITE_TEXT_MAX, "%.*s", (int)sizeof(record->group), record->group);
	group->is_null = record->group[0] == '\0';
	if (record->per == THRESHOLD_PER_SECOND)
		put_text(row, "second");
	else
		put_null(row, SQLITE_COLUMN_TEXT);
	if (!lifecycle) {
		static const enum sqlite_column_type types[] = {
			SQLITE_COLUMN_TEXT,    SQLITE_COLUMN_TEXT,    SQLITE_COLUMN_INTEGER,
			SQLITE_COLUMN_INTEGER, SQLITE_COLUMN_INTEGER, SQLITE_COLUMN_REAL,
			SQLITE_COLUMN_INTEGER, SQLITE_COLUMN_TEXT,
		}; /* state, alert_id, peak, pkts, bytes, duration, duration_ns, reason */

		for (unsigned c = 0; c < sizeof(types) / sizeof(types[0]); c++)
			put_null(row, types[c]);
		return;
	}
	put_text(row, alert_state_name(record->state));
	snprintf(next_value(row, SQLITE_COLUMN_TEXT)->text, SQLITE_TEXT_MAX, "%016" PRIx64,
		 record->alert_id);
	put_integer(row, record->peak);
	put_integer(row, record->total_packets);
	put_integer(row, record->total_bytes);
	put_time(row, duration_ns);
	put_optional_text(row, record->state == ALERT_STATE_END,
			  alert_end_reason_name(record->end_reason));
}

static void
alert_values(const struct alert_record *record, struct row *row)
{
	int ports = (record->fields & ALERT_FIELD_PORTS) != 0;
	int metric = record->metric != THRESHOLD_METRIC_NONE;
	struct sqlite_value *name;

	put_text(row, record->header.kernel);
	name = next_value(row, SQLITE_COLUMN_TEXT);
	/* not NUL-terminated when it fills the array */
	snprintf(name->text, SQLITE_TEXT_MAX, "%.*s", (int)sizeof(record->name), record->name);
	name->is_null = record->name[0] == '\0';
	put_key(row, record->key, record->source_address, record->destination_address);
	put_optional_integer(row, ports, record->source_port);
	put_optional_integer(row, ports, record->destination_port);
	put_optional_integer(row, (record->fields & ALERT_FIELD_PROTOCOL) != 0, record->protocol);
	if (metric)
		put_text(row, record->metric == THRESHOLD_METRIC_BYTES ? "bytes" : "pkts");
	else
		put_null(row, SQLITE_COLUMN_TEXT);
	put_integer(row, record->value);
	put_optional_integer(row, (record->fields & ALERT_FIELD_PREVIOUS) != 0, record->previous);
	put_optional_integer(row, metric, record->threshold);
	put_time(row, record->start_ns);
	put_time(row, record->end_ns);
	alert_lifecycle_values(record, row);
}

/* TCP flags as the jsonl line writes them: letters in bit order, FIN first. */
static void
put_tcp_flags(struct row *row, uint8_t flags)
{
	static const char letters[] = "FSRPAUEC";
	char *text = next_value(row, SQLITE_COLUMN_TEXT)->text;

	for (unsigned bit = 0; bit < 8; bit++)
		if (flags & (1u << bit))
			*text++ = letters[bit];
	*text = '\0';
}

static void
flow_values(const struct flow_record *record, struct row *row)
{
	put_text(row, record->header.kernel);
	put_address(row, record->source_address);
	put_address(row, record->destination_address);
	put_integer(row, record->source_port);
	put_integer(row, record->destination_port);
	put_integer(row, record->protocol);
	put_integer(row, record->packets);
	put_integer(row, record->bytes);
	put_integer(row, record->reverse_packets);
	put_integer(row, record->reverse_bytes);
	put_integer(row, record->ip_bytes);
	put_integer(row, record->reverse_ip_bytes);
	put_time(row, record->first_ns);
	put_time(row, record->last_ns);
	put_tcp_flags(row, record->tcp_flags);
	put_tcp_flags(row, record->reverse_tcp_flags);
	put_text(row, flow_end_reason_name(record->end_reason));
}

static void
proto_stats_values(const struct proto_stats_record *record, struct row *row)
{
	put_text(row, record->header.kernel);
	put_time(row, record->start_ns);
	put_time(row, record->end_ns);
	for (unsigned c = 0; c < PROTO_STATS_CLASSES; c++) {
		put_integer(row, record->packets[c]);
		put_integer(row, record->bytes[c]);
	}
	for (unsigned b = 0; b < PROTO_STATS_SIZE_BUCKETS; b++)
		put_integer(row, record->size_buckets[b]);
	put_integer(row, record->malformed_packets);
}

unsigned
sqlite_record_values(const union any_record *record,
		     struct sqlite_value values[SQLITE_SCHEMA_MAX_COLUMNS])
{
	struct row row = {.values = values};

	switch (record->header.type) {
	case STREAM_SRC_COUNT:
		src_count_values(&record->src_count, &row);
		break;
	case STREAM_ALERT:
		alert_values(&record->alert, &row);
		break;
	case STREAM_FLOW:
		flow_values(&record->flow, &row);
		break;
	case STREAM_PROTO_STATS:
		proto_stats_values(&record->proto_stats, &row);
		break;
	default:
		break;
	}
	return row.count;
}

uint64_t
sqlite_record_time_ns(const union any_record *record)
{
	switch (record->header.type) {
	case STREAM_SRC_COUNT:
		return record->src_count.end_ns;
	case STREAM_ALERT:
		return record->alert.end_ns;
	case STREAM_FLOW:
		return record->flow.last_ns;
	case STREAM_PROTO_STATS:
		return record->proto_stats.end_ns;
	default:
		return 0;
	}
}
