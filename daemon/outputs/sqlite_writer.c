/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>

#include <sqlite3.h>

#include "clock.h"
#include "log.h"
#include "log_journal.h"
#include "outputs/output_thread.h"
#include "outputs/sqlite_schema.h"
#include "outputs/sqlite_writer.h"

#define NANOSECONDS_PER_SECOND UINT64_C(1000000000)
#define NANOSECONDS_PER_MILLISECOND UINT64_C(1000000)
/* Idle, the thread still wakes this often: a transaction open this long is committed. */
#define WAKE_INTERVAL_NS (100 * NANOSECONDS_PER_MILLISECOND)
/* "per window or per second, whichever comes first" */
#define TRANSACTION_MAX_NS NANOSECONDS_PER_SECOND
/*
 * The producer wakes the thread when this many records wait, rather than at
 * its interval; half the queue when that is smaller (a small `buffer:` would
 * otherwise fill before the count is reached and wait for the interval).
 */
#define WAKE_RECORDS 4096
/*
 * Rows `retain:` deletes per table and transaction, besides as many as the
 * transaction inserts: the work a batch adds stays bounded, and the deletes
 * keep up with any rate of inserts.
 */
#define RETAIN_ROWS_PER_BATCH 1000
/* A failed transaction is tried again after this, doubling up to the most (as line_writer). */
#define RETRY_FIRST_NS (10 * NANOSECONDS_PER_MILLISECOND)
#define RETRY_MOST_NS NANOSECONDS_PER_SECOND
/*
 * SQLite's own wait for a lock, per statement, at most: a longer `retry:` is
 * spent in the writer's retries of the whole transaction, and an open
 * (on the control thread) waits no longer than this for a locked database.
 */
#define BUSY_TIMEOUT_MOST_MS 1000
/* Failures are logged at most once per this interval per writer (with the count since). */
#define REPORT_INTERVAL_NS (10 * NANOSECONDS_PER_SECOND)
#define TABLES 4

/* The writer thread's statements for one table. */
struct table_statements {
	const struct sqlite_table *table;
	sqlite3_stmt *insert;
	sqlite3_stmt *retain; /* NULL without `retain:` */
};

/*
 * The open transaction (writer thread only). Its records stay in the queue,
 * from `consumed` on, until it commits: a failed transaction is rolled back
 * and inserted again from the queue, until `retry:` has passed since its
 * first failure; then its records are dropped.
 */
struct transaction {
	bool open;
	uint64_t opened_ns;
	bool has_window;
	uint64_t window_end_ns; /* the windowed records' end: another end commits first */
	uint64_t records;       /* inserted in it, not committed yet */
};

/*
 * The retries of the records at `consumed` (writer thread only). Once
 * records were dropped, later transactions are tried once each until one
 * commits, as line_writer does: a database that stays broken is drained at
 * once, not at `retry:` per transaction, and writing resumes when it works.
 */
struct retries {
	uint64_t deadline_ns; /* 0: none failed; else when they are dropped */
	uint64_t wait_ns;     /* the next wait before trying again */
	bool given_up;        /* records were dropped and none committed since */
	/*
	 * The window whose records were dropped: its records still to come are
	 * dropped too, so no window is in the database in part.
	 */
	bool dropped_window;
	uint64_t dropped_window_end_ns;
};

struct sqlite_writer {
	/* Set by open, then read-only for every thread. */
	char owner[64];
	char path[PATH_MAX];
	union any_record *queue;
	uint64_t capacity;      /* records */
	uint64_t retain_ns;
	uint64_t retry_ns;
	pthread_t thread;

	/*
	 * Record positions since open, never wrapping, as in line_writer:
	 * [consumed, appended) waits in queue[position % capacity]; those before
	 * `consumed` are committed or dropped.
	 */
	_Atomic uint64_t appended;         /* producer: wo (release); writer thread: ro (acquire) */
	_Atomic uint64_t consumed;         /* writer thread: wo (release); producer: ro (acquire) */
	_Atomic uint64_t buffer_max;       /* producer: wo; others: ro (relaxed). Records */

	/* Figures: writer thread: wo; others: ro (relaxed). */
	_Atomic uint64_t records_written;
	_Atomic uint64_t records_dropped;
	_Atomic uint64_t write_errors;
	_Atomic bool has_first_error;      /* writer thread: wo (release) once first_error is set */
	char first_error[256];

	/* Wake-ups of the writer thread: the producer (a batch), flush (a commit now) and close */
	struct output_wakeup wakeup;

	/* Writer thread only (open uses them before the thread starts). */
	sqlite3 *database;
	struct table_statements statements[TABLES];
	struct transaction transaction;
	struct retries retries;
	uint64_t newest_ns;                /* the newest record time: what `retain:` counts back from */
	uint64_t last_report_ns;
	uint64_t unreported_failures;
};

/* ---- the producer ------------------------------------------------------------ */

static uint64_t
wake_records(const struct sqlite_writer *writer)
{
	return writer->capacity / 2 < WAKE_RECORDS ? writer->capacity / 2 : WAKE_RECORDS;
}

static uint64_t
queued(const struct sqlite_writer *writer)
{
	return atomic_load_explicit(&writer->appended, memory_order_relaxed) -
	       atomic_load_explicit(&writer->consumed, memory_order_acquire);
}

size_t
sqlite_writer_space(const struct sqlite_writer *writer)
{
	return (size_t)(writer->capacity - queued(writer));
}

void
sqlite_writer_append(struct sqlite_writer *writer, const void *records, unsigned count,
		     unsigned element_size)
{
	uint64_t appended = atomic_load_explicit(&writer->appended, memory_order_relaxed);
	uint64_t waiting = queued(writer) + count;

	for (unsigned i = 0; i < count; i++)
		/* records arrive packed at their ring's element size, not at sizeof(union any_record) */
		memcpy(&writer->queue[(appended + i) % writer->capacity],
		       (const char *)records + (size_t)i * element_size, element_size);
	atomic_store_explicit(&writer->appended, appended + count, memory_order_release);
	if (waiting > atomic_load_explicit(&writer->buffer_max, memory_order_relaxed))
		atomic_store_explicit(&writer->buffer_max, waiting, memory_order_relaxed);
	if (waiting >= wake_records(writer) && waiting - count < wake_records(writer))
		output_wakeup_signal(&writer->wakeup, false, false);
}

bool
sqlite_writer_flush(struct sqlite_writer *writer)
{
	uint64_t appended = atomic_load_explicit(&writer->appended, memory_order_relaxed);

	if (atomic_load_explicit(&writer->consumed, memory_order_acquire) == appended)
		return true;
	output_wakeup_signal(&writer->wakeup, true, false);
	return false;
}

/* ---- figures ------------------------------------------------------------------ */

void
sqlite_writer_figures(const struct sqlite_writer *writer, struct sqlite_writer_figures *figures)
{
	uint64_t consumed = atomic_load_explicit(&writer->consumed, memory_order_acquire);
	uint64_t appended = atomic_load_explicit(&writer->appended, memory_order_acquire);

	*figures = (struct sqlite_writer_figures){
		.records_written = atomic_load_explicit(&writer->records_written, memory_order_relaxed),
		.records_dropped = atomic_load_explicit(&writer->records_dropped, memory_order_relaxed),
		.write_errors = atomic_load_explicit(&writer->write_errors, memory_order_relaxed),
		.buffer_bytes = (appended > consumed ? appended - consumed : 0) *
				sizeof(union any_record),
		.buffer_max_bytes = atomic_load_explicit(&writer->buffer_max, memory_order_relaxed) *
				    sizeof(union any_record),
	};
}

bool
sqlite_writer_failure(const struct sqlite_writer *writer, char *text, size_t size)
{
	uint64_t dropped = atomic_load_explicit(&writer->records_dropped, memory_order_relaxed);

	if (dropped == 0 || !atomic_load_explicit(&writer->has_first_error, memory_order_acquire))
		return false;
	snprintf(text, size, "writing to %s failed: %s; %" PRIu64 " record%s not written "
		 "(dropped_records)", writer->path, writer->first_error, dropped,
		 dropped == 1 ? "" : "s");
	return true;
}

/* ---- the writer thread: transactions ---------------------------------------------- */

static void
note_failure(struct sqlite_writer *writer, const char *what)
{
	uint64_t now = clock_monotonic_ns();

	atomic_fetch_add_explicit(&writer->write_errors, 1, memory_order_relaxed);
	if (!atomic_load_explicit(&writer->has_first_error, memory_order_relaxed)) {
		snprintf(writer->first_error, sizeof(writer->first_error), "%s: %s", what,
			 sqlite3_errmsg(writer->database));
		atomic_store_explicit(&writer->has_first_error, true, memory_order_release);
	}
	writer->unreported_failures++;
	if (writer->last_report_ns != 0 && now - writer->last_report_ns < REPORT_INTERVAL_NS)
		return;
	log_kernel(LOG_LEVEL_ERROR, writer->owner,
		   "writing to %s: %s: %s (%" PRIu64 " failed statements since the last report); "
		   "a failed transaction is tried again for %" PRIu64 " ms, then its records are "
		   "counted as dropped_records", writer->path, what, sqlite3_errmsg(writer->database),
		   writer->unreported_failures, writer->retry_ns / NANOSECONDS_PER_MILLISECOND);
	writer->unreported_failures = 0;
	writer->last_report_ns = now;
}

/* Settle @p records at the queue's head into @p figure: their slots are free. */
static void
settle(struct sqlite_writer *writer, uint64_t records, _Atomic uint64_t *figure)
{
	atomic_fetch_add_explicit(figure, records, memory_order_relaxed);
	atomic_fetch_add_explicit(&writer->consumed, records, memory_order_release);
}

/*
 * Roll the open transaction back. Its records (and the one that failed)
 * stay queued to be tried again, or, once `retry:` has passed since the
 * first failure, are dropped.
 */
static void
fail_transaction(struct sqlite_writer *writer, const char *what, bool record_failed)
{
	uint64_t records = writer->transaction.records + (record_failed ? 1 : 0);
	uint64_t now = clock_monotonic_ns();

	struct transaction failed = writer->transaction;

	note_failure(writer, what);
	sqlite3_exec(writer->database, "ROLLBACK", NULL, NULL, NULL); /* fails if none is open */
	writer->transaction = (struct transaction){0};
	if (writer->retries.deadline_ns == 0 && !writer->retries.given_up)
		writer->retries = (struct retries){.deadline_ns = now + writer->retry_ns,
						   .wait_ns = RETRY_FIRST_NS};
	if (!writer->retries.given_up && now < writer->retries.deadline_ns)
		return;
	settle(writer, records, &writer->records_dropped);
	writer->retries = (struct retries){.given_up = true, .dropped_window = failed.has_window,
					   .dropped_window_end_ns = failed.window_end_ns};
}

/* Whether records at the queue's head failed and wait to be tried again. */
static bool
retrying(const struct sqlite_writer *writer)
{
	return writer->retries.deadline_ns != 0;
}

/* Delete at most RETAIN_ROWS_PER_BATCH rows per table older than `retain:`. @return success. */
static bool
delete_old_rows(struct sqlite_writer *writer)
{
	if (writer->retain_ns == 0 || writer->newest_ns <= writer->retain_ns)
		return true;
	for (unsigned t = 0; t < TABLES; t++) {
		sqlite3_stmt *statement = writer->statements[t].retain;

		sqlite3_bind_int64(statement, 1, (sqlite3_int64)(writer->newest_ns - writer->retain_ns));
		sqlite3_bind_int64(statement, 2,
				   (sqlite3_int64)(writer->transaction.records + RETAIN_ROWS_PER_BATCH));
		if (sqlite3_step(statement) != SQLITE_DONE) {
			sqlite3_reset(statement);
			return false;
		}
		sqlite3_reset(statement);
	}
	return true;
}

/* @return false when the transaction failed (see fail_transaction()). */
static bool
commit(struct sqlite_writer *writer)
{
	if (!writer->transaction.open)
		return true;
	if (!delete_old_rows(writer)) {
		fail_transaction(writer, "deleting rows older than retain", false);
		return false;
	}
	if (sqlite3_exec(writer->database, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		fail_transaction(writer, "commit", false);
		return false;
	}
	settle(writer, writer->transaction.records, &writer->records_written);
	writer->transaction = (struct transaction){0};
	if (retrying(writer) || writer->retries.given_up)
		log_kernel(LOG_LEVEL_INFO, writer->owner,
			   "writing to %s again (%" PRIu64 " records dropped so far)", writer->path,
			   atomic_load_explicit(&writer->records_dropped, memory_order_relaxed));
	writer->retries = (struct retries){0};
	return true;
}

static bool
begin(struct sqlite_writer *writer)
{
	if (sqlite3_exec(writer->database, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return false;
	/* the window is the first record's, taken before: a failed begin drops that window */
	writer->transaction.open = true;
	writer->transaction.opened_ns = clock_monotonic_ns();
	return true;
}

static void
bind_values(sqlite3_stmt *statement, const struct sqlite_value *values, unsigned count)
{
	for (unsigned v = 0; v < count; v++) {
		int parameter = (int)v + 1;

		if (values[v].is_null)
			sqlite3_bind_null(statement, parameter);
		else if (values[v].type == SQLITE_COLUMN_INTEGER)
			sqlite3_bind_int64(statement, parameter, values[v].integer);
		else if (values[v].type == SQLITE_COLUMN_REAL)
			sqlite3_bind_double(statement, parameter, values[v].real);
		else
			sqlite3_bind_text(statement, parameter, values[v].text, -1, SQLITE_TRANSIENT);
	}
}

static sqlite3_stmt *
insert_statement(const struct sqlite_writer *writer, enum stream_type type)
{
	for (unsigned t = 0; t < TABLES; t++)
		if (writer->statements[t].table->type == type)
			return writer->statements[t].insert;
	return NULL;
}

static bool
is_windowed(const union any_record *record)
{
	return record->header.type != STREAM_FLOW; /* flows have no window: they join any batch */
}

/* A windowed record of another window than the open transaction's commits that one first. */
static bool
commit_at_window_change(struct sqlite_writer *writer, const union any_record *record)
{
	if (is_windowed(record) && writer->transaction.open && writer->transaction.has_window &&
	    writer->transaction.window_end_ns != sqlite_record_time_ns(record))
		return commit(writer);
	return true;
}

/* The first windowed record of a transaction sets its window. */
static void
take_window(struct sqlite_writer *writer, const union any_record *record)
{
	if (is_windowed(record) && !writer->transaction.has_window) {
		writer->transaction.has_window = true;
		writer->transaction.window_end_ns = sqlite_record_time_ns(record);
	}
}

/* Whether @p record is of the window whose records were dropped. */
static bool
of_dropped_window(const struct sqlite_writer *writer, const union any_record *record)
{
	return writer->retries.dropped_window && is_windowed(record) &&
	       sqlite_record_time_ns(record) == writer->retries.dropped_window_end_ns;
}

/* Insert @p record into the open transaction (opened if none). @return false when it failed. */
static bool
insert_record(struct sqlite_writer *writer, const union any_record *record)
{
	struct sqlite_value values[SQLITE_SCHEMA_MAX_COLUMNS];
	unsigned count = sqlite_record_values(record, values);
	sqlite3_stmt *statement = insert_statement(writer, (enum stream_type)record->header.type);
	int result;

	if (!commit_at_window_change(writer, record))
		return false;
	if (of_dropped_window(writer, record)) {
		if (!commit(writer)) /* the open transaction holds no record of that window */
			return false;
		settle(writer, 1, &writer->records_dropped);
		return true;
	}
	take_window(writer, record); /* a failure of this record drops its window */
	if (!writer->transaction.open && !begin(writer)) {
		fail_transaction(writer, "begin", true);
		return false;
	}
	if (statement == NULL) { /* cannot happen: the sink takes only the record types above */
		fail_transaction(writer, "a record of no table", true);
		return false;
	}
	bind_values(statement, values, count);
	result = sqlite3_step(statement);
	sqlite3_reset(statement);
	if (result != SQLITE_DONE) {
		fail_transaction(writer, "insert", true);
		return false;
	}
	writer->transaction.records++;
	if (sqlite_record_time_ns(record) > writer->newest_ns)
		writer->newest_ns = sqlite_record_time_ns(record);
	return true;
}

/* ---- the writer thread: the loop ----------------------------------------------------- */

/* Whether the writer thread has work before its interval is up: records, or a retry. */
static bool
work_waits(const void *context)
{
	const struct sqlite_writer *writer = context;

	return retrying(writer) ||
	       atomic_load_explicit(&writer->appended, memory_order_acquire) -
			       atomic_load_explicit(&writer->consumed, memory_order_relaxed) >=
		       wake_records(writer);
}

/* Sleep before the failed records are tried again (the writer thread; close waits, bounded by retry:). */
static void
wait_to_retry(struct sqlite_writer *writer)
{
	uint64_t now = clock_monotonic_ns(), wait = writer->retries.wait_ns;
	struct timespec pause;

	if (now + wait > writer->retries.deadline_ns)
		wait = writer->retries.deadline_ns > now ? writer->retries.deadline_ns - now : 0;
	pause = (struct timespec){(time_t)(wait / NANOSECONDS_PER_SECOND),
				  (long)(wait % NANOSECONDS_PER_SECOND)};
	nanosleep(&pause, NULL);
	writer->retries.wait_ns = writer->retries.wait_ns * 2 < RETRY_MOST_NS
					  ? writer->retries.wait_ns * 2
					  : RETRY_MOST_NS;
}

/*
 * Insert the queued records after the open transaction's, up to @p until.
 * @return false when a statement failed (the transaction is rolled back).
 */
static bool
insert_queued(struct sqlite_writer *writer, uint64_t until)
{
	uint64_t next;

	while ((next = atomic_load_explicit(&writer->consumed, memory_order_relaxed) +
		       writer->transaction.records) < until)
		if (!insert_record(writer, &writer->queue[next % writer->capacity]))
			return false;
	return true;
}

static void *
writer_thread(void *argument)
{
	struct sqlite_writer *writer = argument;

	for (;;) {
		struct output_requests requests;
		bool inserted;

		if (retrying(writer))
			wait_to_retry(writer);
		requests = output_wakeup_wait(&writer->wakeup, WAKE_INTERVAL_NS, work_waits, writer);
		inserted = insert_queued(writer,
					 atomic_load_explicit(&writer->appended, memory_order_acquire));
		if (inserted && (requests.write_now || requests.closing || retrying(writer) ||
				 clock_monotonic_ns() - writer->transaction.opened_ns >=
					 TRANSACTION_MAX_NS))
			commit(writer);
		if (requests.closing && atomic_load_explicit(&writer->appended, memory_order_acquire) ==
				       atomic_load_explicit(&writer->consumed, memory_order_relaxed))
			break;
	}
	return NULL;
}

/* ---- open: the schema ------------------------------------------------------------------ */

/* check_table()'s answers, but for errors. */
enum table_check { TABLE_MATCHES = 0, TABLE_ABSENT = 1, TABLE_OLDER = 2 };

/*
 * Compare the columns of an existing table with the sink's, in order. A
 * table whose columns are the sink's first ones is one an earlier version
 * made (columns are only ever added at the end): its count is in
 * @p existing_columns.
 * @return enum table_check, or -EINVAL (message set) when the table differs.
 */
static int
check_table(sqlite3 *database, const struct sqlite_table *table, unsigned *existing_columns,
	    char *message, size_t message_size)
{
	char query[128];
	sqlite3_stmt *statement;
	unsigned column = 0;
	int error = 0;

	snprintf(query, sizeof(query), "PRAGMA table_info(%s)", table->name);
	if (sqlite3_prepare_v2(database, query, -1, &statement, NULL) != SQLITE_OK) {
		snprintf(message, message_size, "%s", sqlite3_errmsg(database));
		return -EIO;
	}
	for (; error == 0 && sqlite3_step(statement) == SQLITE_ROW; column++) {
		const char *name = (const char *)sqlite3_column_text(statement, 1);
		const char *type = (const char *)sqlite3_column_text(statement, 2);
		const struct sqlite_column *expected = &table->columns[column];

		if (column >= table->column_count) {
			snprintf(message, message_size, "table %s: column \"%s\" is not one of the "
				 "sink's columns", table->name, name);
			error = -EINVAL;
		} else if (strcmp(name, expected->name) != 0) {
			snprintf(message, message_size, "table %s: column %u is \"%s\", expected "
				 "\"%s\"", table->name, column + 1, name, expected->name);
			error = -EINVAL;
		} else if (strcasecmp(type, sqlite_column_type_name(expected->type)) != 0) {
			snprintf(message, message_size, "table %s: column \"%s\" has type %s, "
				 "expected %s", table->name, name, type,
				 sqlite_column_type_name(expected->type));
			error = -EINVAL;
		}
	}
	sqlite3_finalize(statement);
	*existing_columns = column;
	if (error != 0)
		return error;
	if (column == 0)
		return TABLE_ABSENT;
	return column < table->column_count ? TABLE_OLDER : TABLE_MATCHES;
}

/* Add the columns a table of an earlier version lacks, from @p first on. */
static int
add_columns(sqlite3 *database, const struct sqlite_table *table, unsigned first)
{
	char text[256];

	for (unsigned c = first; c < table->column_count; c++) {
		snprintf(text, sizeof(text), "ALTER TABLE %s ADD COLUMN \"%s\" %s", table->name,
			 table->columns[c].name, sqlite_column_type_name(table->columns[c].type));
		if (sqlite3_exec(database, text, NULL, NULL, NULL) != SQLITE_OK)
			return -EIO;
	}
	return 0;
}

static int
prepare_table(struct sqlite_writer *writer, const struct sqlite_table *table,
	      struct table_statements *statements, char *message, size_t message_size)
{
	char text[4096];
	unsigned existing_columns;
	int check = check_table(writer->database, table, &existing_columns, message, message_size);

	if (check < 0)
		return check;
	sqlite_schema_create_text(table, text, sizeof(text));
	if (check == TABLE_ABSENT && sqlite3_exec(writer->database, text, NULL, NULL, NULL) != SQLITE_OK)
		goto failed;
	if (check == TABLE_OLDER && add_columns(writer->database, table, existing_columns) != 0)
		goto failed;
	statements->table = table;
	sqlite_schema_insert_text(table, text, sizeof(text));
	if (sqlite3_prepare_v3(writer->database, text, -1, SQLITE_PREPARE_PERSISTENT,
			       &statements->insert, NULL) != SQLITE_OK)
		goto failed;
	if (writer->retain_ns == 0)
		return 0;
	snprintf(text, sizeof(text), "DELETE FROM %s WHERE rowid IN (SELECT rowid FROM %s WHERE "
		 "\"%s\" < ?1 LIMIT ?2)", table->name, table->name, table->time_column);
	if (sqlite3_prepare_v3(writer->database, text, -1, SQLITE_PREPARE_PERSISTENT,
			       &statements->retain, NULL) != SQLITE_OK)
		goto failed;
	return 0;
failed:
	snprintf(message, message_size, "table %s: %s", table->name,
		 sqlite3_errmsg(writer->database));
	return -EIO;
}

/* Whether every table is there with the sink's columns (read only: takes no write lock). */
static bool
all_tables_match(sqlite3 *database)
{
	unsigned count;
	const struct sqlite_table *tables = sqlite_schema_tables(&count);
	unsigned existing_columns;
	char message[256];

	for (unsigned t = 0; t < count; t++)
		if (check_table(database, &tables[t], &existing_columns, message, sizeof(message)) !=
		    TABLE_MATCHES)
			return false;
	return true;
}

/*
 * Check the tables, create the missing ones and prepare the statements. A
 * database whose tables all match takes no write lock here, so a reload that
 * opens it again while the old sink still writes does not wait on it; else
 * the tables are checked and created in one transaction, so another start
 * sees all of them or none.
 */
static int
prepare_tables(struct sqlite_writer *writer, char *message, size_t message_size)
{
	unsigned count;
	const struct sqlite_table *tables = sqlite_schema_tables(&count);
	bool locked = !all_tables_match(writer->database);
	int error;

	if (locked && sqlite3_exec(writer->database, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(message, message_size, "%s: %s", writer->path, sqlite3_errmsg(writer->database));
		return -EIO;
	}
	for (unsigned t = 0; t < count && t < TABLES; t++)
		if ((error = prepare_table(writer, &tables[t], &writer->statements[t], message,
					   message_size)) != 0) {
			if (locked)
				sqlite3_exec(writer->database, "ROLLBACK", NULL, NULL, NULL);
			return error;
		}
	if (locked && sqlite3_exec(writer->database, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(message, message_size, "%s: %s", writer->path, sqlite3_errmsg(writer->database));
		return -EIO;
	}
	return 0;
}

static int
busy_timeout_ms(uint64_t retry_ns)
{
	uint64_t milliseconds = retry_ns / NANOSECONDS_PER_MILLISECOND;

	return milliseconds < BUSY_TIMEOUT_MOST_MS ? (int)milliseconds : BUSY_TIMEOUT_MOST_MS;
}

/*
 * WAL: readers query while the writer writes, and a kill leaves the last
 * commit whole. synchronous NORMAL: a commit is not fsynced (the WAL is at
 * checkpoints), so a power loss may lose the last commits, never corrupt;
 * a killed process loses none.
 */
static int
open_database(struct sqlite_writer *writer, uint64_t retry_ns, char *message, size_t message_size)
{
	if (sqlite3_open_v2(writer->path, &writer->database,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(writer->database, busy_timeout_ms(retry_ns)) ||
	    sqlite3_exec(writer->database, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
			 NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(message, message_size, "cannot open the database %s: %s", writer->path,
			 writer->database != NULL ? sqlite3_errmsg(writer->database)
						  : "out of memory");
		return -EIO;
	}
	return prepare_tables(writer, message, message_size);
}

static void
close_database(struct sqlite_writer *writer)
{
	for (unsigned t = 0; t < TABLES; t++) {
		sqlite3_finalize(writer->statements[t].insert);
		sqlite3_finalize(writer->statements[t].retain);
	}
	sqlite3_close(writer->database); /* the last connection: checkpoints the WAL */
}

/* ---- open and close --------------------------------------------------------------------- */

static void
free_writer(struct sqlite_writer *writer)
{
	close_database(writer);
	munmap(writer->queue, writer->capacity * sizeof(union any_record));
	free(writer);
}

int
sqlite_writer_open(struct sqlite_writer **result, const char *path,
		   const struct sqlite_writer_settings *settings, char *message,
		   size_t message_size)
{
	struct sqlite_writer *writer = calloc(1, sizeof(*writer));
	uint64_t capacity = settings->capacity / sizeof(union any_record);
	int error;

	/* mapped, not malloc'd: only the pages records reach become resident */
	if (writer == NULL ||
	    (writer->queue = mmap(NULL, capacity * sizeof(union any_record), PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED) {
		snprintf(message, message_size, "cannot allocate a queue of %" PRIu64 " bytes",
			 settings->capacity);
		free(writer);
		return -ENOMEM;
	}
	snprintf(writer->owner, sizeof(writer->owner), "%s", settings->owner);
	snprintf(writer->path, sizeof(writer->path), "%s", path);
	writer->capacity = capacity;
	writer->retain_ns = settings->retain_ns;
	writer->retry_ns = settings->retry_ns;
	error = open_database(writer, settings->retry_ns, message, message_size);
	if (error == 0 && (error = output_wakeup_init(&writer->wakeup)) == 0 &&
	    (error = output_thread_start(&writer->thread, writer_thread, writer, writer->owner)) != 0) {
		output_wakeup_destroy(&writer->wakeup);
		snprintf(message, message_size, "cannot start the writer thread: %s", strerror(-error));
	}
	if (error != 0) {
		free_writer(writer);
		return error;
	}
	*result = writer;
	return 0;
}

void
sqlite_writer_close(struct sqlite_writer *writer)
{
	if (writer == NULL)
		return;
	output_wakeup_signal(&writer->wakeup, true, true);
	pthread_join(writer->thread, NULL);
	output_wakeup_destroy(&writer->wakeup);
	free_writer(writer);
}
