/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The SQLite tables of the `sqlite` sink format: one per record type, named
 * after it, with the jsonl line's fields as columns (nested proto_stats
 * fields joined with `_`; every time both as REAL seconds and as INTEGER
 * nanoseconds, `NAME_ns`). Pure: no database is touched here.
 */
#ifndef JETSTREAM_OUTPUTS_SQLITE_SCHEMA_H
#define JETSTREAM_OUTPUTS_SQLITE_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

/** SQLite storage classes the columns use. */
enum sqlite_column_type { SQLITE_COLUMN_INTEGER, SQLITE_COLUMN_REAL, SQLITE_COLUMN_TEXT };

/** Most columns of one table (proto_stats has 31). */
#define SQLITE_SCHEMA_MAX_COLUMNS 40

/** Longest text value (an IPv6 address, an alert name, a word). */
#define SQLITE_TEXT_MAX 64

struct sqlite_column {
	const char *name;
	enum sqlite_column_type type;
};

/** One record type's table. */
struct sqlite_table {
	enum stream_type type;        /**< the records it holds */
	const char *name;             /**< stream_type_name(type) */
	const char *time_column;      /**< indexed, and what `retain:` compares */
	const char *address_column;   /**< indexed; NULL: none (proto_stats) */
	unsigned column_count;        /**< at most SQLITE_SCHEMA_MAX_COLUMNS */
	const struct sqlite_column *columns;
};

/** One column's value for a record; is_null where the jsonl line leaves the field out. */
struct sqlite_value {
	enum sqlite_column_type type;
	int is_null;
	int64_t integer;
	double real;
	char text[SQLITE_TEXT_MAX];
};

/** The tables, in stream_type order; @p count set to how many. */
const struct sqlite_table *sqlite_schema_tables(unsigned *count);

/** The table of record type @p type, or NULL. */
const struct sqlite_table *sqlite_schema_table(enum stream_type type);

/** "INTEGER", "REAL" or "TEXT". */
const char *sqlite_column_type_name(enum sqlite_column_type type);

/**
 * `CREATE TABLE name ("a" TEXT, ...);` and its `CREATE INDEX` statements,
 * each ending in ";\n". @return the length, as snprintf().
 */
int sqlite_schema_create_text(const struct sqlite_table *table, char *text, size_t size);

/** `INSERT INTO name VALUES (?, ...)`. @return the length, as snprintf(). */
int sqlite_schema_insert_text(const struct sqlite_table *table, char *text, size_t size);

/**
 * The values of @p record in its table's column order.
 * @return the column count, 0 for a record type without a table.
 */
unsigned sqlite_record_values(const union any_record *record,
			      struct sqlite_value values[SQLITE_SCHEMA_MAX_COLUMNS]);

/** The record's time that `retain:` compares (its table's time_column), in nanoseconds. */
uint64_t sqlite_record_time_ns(const union any_record *record);

#endif
