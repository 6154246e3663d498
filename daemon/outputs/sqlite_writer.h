/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The `sqlite` sink format: a bounded queue of records and the thread that
 * inserts them into a SQLite database (outputs/sqlite_schema.h).
 *
 * The thread that polls the sink (the producer) copies records into the
 * queue; a thread of the writer's own inserts them, so neither the sink's
 * thread nor the kernels upstream wait on the database until the queue is
 * full: then the sink stops receiving and records wait in their rings
 * (backpressure), as with jsonl.
 *
 * Transactions: the writer commits when a record of another window arrives
 * (a windowed record whose end differs from the open transaction's), when a
 * transaction has been open for a second, and on flush and close. A window
 * of one producer is therefore committed whole, or not at all. The database
 * is in WAL mode, so readers query while the writer writes.
 *
 * A statement that fails (a locked database, a full disk) rolls its
 * transaction back; its records stay queued and the transaction is tried
 * again, backing off, until `retry:` has passed since the first failure.
 * Then its records, and the rest of their window, are counted as dropped,
 * never as records: a window is in the database whole or not at all. Until
 * a transaction commits again, each later one is tried once.
 *
 * Threads: append/space/flush from the producer; figures and failure from
 * any thread; open and close from the control thread.
 */
#ifndef JETSTREAM_OUTPUTS_SQLITE_WRITER_H
#define JETSTREAM_OUTPUTS_SQLITE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct sqlite_writer;

struct sqlite_writer_settings {
	const char *owner;    /**< kernel name, for log lines (copied) */
	uint64_t capacity;    /**< bytes of queued records (each sizeof(union any_record)) */
	uint64_t retry_ns;    /**< how long a failed transaction is tried again */
	uint64_t retain_ns;   /**< rows older than the newest record by more are deleted; 0: kept */
};

struct sqlite_writer_figures {
	uint64_t records_written;  /**< committed rows */
	uint64_t records_dropped;  /**< rows rolled back by a failure */
	uint64_t write_errors;     /**< failed statements */
	uint64_t buffer_bytes;     /**< bytes of records queued now */
	uint64_t buffer_max_bytes; /**< the most ever queued */
};

/**
 * Open (or create) the database at @p path, create missing tables, check
 * existing ones, and start the thread.
 * @return 0; -EINVAL when a table's columns differ ("table T: ..." in
 *         @p message); another -errno when the database cannot be used.
 */
int sqlite_writer_open(struct sqlite_writer **writer, const char *path,
		       const struct sqlite_writer_settings *settings, char *message,
		       size_t message_size);

/** Producer: records sqlite_writer_append() can take now. */
size_t sqlite_writer_space(const struct sqlite_writer *writer);

/** Producer: queue @p count records (<= space), each packed at @p element_size bytes. */
void sqlite_writer_append(struct sqlite_writer *writer, const void *records, unsigned count,
			  unsigned element_size);

/** Producer: ask for a commit now. @return true once every record is committed or dropped. */
bool sqlite_writer_flush(struct sqlite_writer *writer);

/** Any thread. */
void sqlite_writer_figures(const struct sqlite_writer *writer,
			   struct sqlite_writer_figures *figures);

/** Once records were dropped: the first error and the count. @return false when none was. */
bool sqlite_writer_failure(const struct sqlite_writer *writer, char *text, size_t size);

/** Commit what waits, stop the thread, close the database, free. */
void sqlite_writer_close(struct sqlite_writer *writer);

#endif
