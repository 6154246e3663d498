/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Records into ClickHouse over its HTTP interface (the `clickhouse` sink
 * format), through libcurl, delivered by outputs/delivery.h.
 *
 * Each batch is one `INSERT INTO db.table FORMAT JSONEachRow` request whose
 * body is the records' jsonl lines (proto_stats lines flattened: nested
 * `"l3":{"ipv4":{"pkts":1}}` becomes `"l3_ipv4_pkts":1`, the SQLite
 * columns' names), with input_format_skip_unknown_fields=1 so a table may
 * hold fewer columns than the line has fields. With create_table, each
 * table is created (`CREATE TABLE IF NOT EXISTS`, clickhouse_create_text())
 * on the delivery thread before its first insert.
 *
 * The tables have the SQLite tables' columns (outputs/sqlite_schema.h), in
 * types ClickHouse 18.16 (Debian 12) has: TEXT is String, INTEGER UInt64,
 * and a time Decimal128(9) seconds, exactly the jsonl value, with its
 * `NAME_ns` column UInt64 nanoseconds MATERIALIZED from it.
 *
 * Threads: append/space/flush from the one producer thread; figures from
 * any thread; open and close from the control thread (no I/O in either).
 */
#ifndef JETSTREAM_OUTPUTS_CLICKHOUSE_H
#define JETSTREAM_OUTPUTS_CLICKHOUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outputs/delivery.h"
#include "record.h"

/** Longest table or database name, `{type}` replaced. */
#define CLICKHOUSE_NAME_MAX 128

/** Where and how records go. */
struct clickhouse_settings {
	const char *owner;     /**< kernel name, for log lines (copied) */
	const char *url;       /**< the HTTP interface, `http://HOST:8123` (copied) */
	const char *database;  /**< (copied) */
	const char *table;     /**< may hold `{type}`, replaced by the record type's name (copied) */
	bool create_table;     /**< create each table before its first insert */
	uint64_t capacity;     /**< bytes of lines that may wait */
	unsigned batch_rows;
	uint64_t batch_delay_ns;
	uint64_t drain_timeout_ns;
};

struct clickhouse;

/**
 * Whether @p name (a `table:` or `database:` value) is letters, digits and
 * `_`, with `{type}` allowed where @p allow_type, and not longer than
 * CLICKHOUSE_NAME_MAX once replaced.
 */
bool clickhouse_name_valid(const char *name, bool allow_type);

/**
 * `CREATE TABLE IF NOT EXISTS db.table (...) ENGINE = MergeTree ...` for
 * records of @p type. @return the length as snprintf, 0 for a type without a table.
 */
int clickhouse_create_text(enum stream_type type, const char *database, const char *table,
			   char *text, size_t size);

/**
 * Rewrite one jsonl line with nested objects as a flat one (keys joined
 * with `_`, `-` as `_`, `+` as `_plus`). @return the length, 0 when it did not fit.
 */
size_t clickhouse_flatten_line(const char *line, size_t length, char *flat, size_t size);

/** Start the delivery (the first connection is its thread's). @return 0 or -errno, @p message. */
int clickhouse_open(struct clickhouse **clickhouse, const struct clickhouse_settings *settings,
		    char *message, size_t message_size);

/** Producer: bytes clickhouse_append() takes now (delivery_space()). */
size_t clickhouse_space(struct clickhouse *clickhouse);

/** Producer: add the jsonl lines of records of @p type (what does not fit: dropped_sink_full). */
void clickhouse_append(struct clickhouse *clickhouse, enum stream_type type, const char *lines,
		       size_t length);

/** Producer: send everything now. @return true once all is sent or counted as dropped. */
bool clickhouse_flush(struct clickhouse *clickhouse);

/** Any thread. */
void clickhouse_figures(struct clickhouse *clickhouse, struct delivery_figures *figures);

/** Drain within the drain timeout, stop, free. NULL: nothing. */
void clickhouse_close(struct clickhouse *clickhouse);

#endif
