/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A bounded buffer of whole lines and the thread that writes it to a file.
 *
 * The thread that polls a sink (the producer) appends formatted lines to a
 * byte ring of a fixed capacity; a thread of the writer's own takes them out
 * and writes them (outputs/output_file.h keeps the file valid). A slow or
 * full disk therefore holds the producer back only once the ring is full:
 * the sink then stops receiving and its records wait in their rings
 * (backpressure), they are not dropped.
 *
 * A failed write is retried with a backoff (10 ms doubling to 1 s) for up to
 * the retry time, and then its lines are counted as dropped; while writes
 * keep failing after that, each is tried once and dropped on failure, so
 * writing resumes as soon as the disk takes lines again. A closed pipe
 * (EPIPE) is not retried. Failures are logged when they happen, at most one
 * line each 10 s per writer, with the counts since the last line, and the
 * recovery is logged too.
 *
 * Threads: append/space/flush from the one producer thread; figures and
 * failure from any thread; open, close and request_reopen from the control
 * thread.
 */
#ifndef JETSTREAM_OUTPUTS_LINE_WRITER_H
#define JETSTREAM_OUTPUTS_LINE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct line_writer;

/** How a writer behaves. */
struct line_writer_settings {
	const char *owner;     /**< kernel name, for log lines (copied) */
	uint64_t capacity;     /**< bytes the buffer holds */
	uint64_t retry_ns;     /**< how long a failing write is retried before its lines are dropped */
};

/** What a writer did so far. */
struct line_writer_figures {
	uint64_t lines_written;    /**< whole lines in the file */
	uint64_t lines_dropped;    /**< lines that could not be written */
	uint64_t write_errors;     /**< write attempts that failed */
	uint64_t buffer_bytes;     /**< bytes waiting in the buffer now */
	uint64_t buffer_max_bytes; /**< the most that ever waited */
};

/**
 * Open @p path ("-": standard output) and start the writer's thread.
 * @return 0, or -errno with a message in @p message.
 */
int line_writer_open(struct line_writer **writer, const char *path,
		     const struct line_writer_settings *settings, char *message, size_t message_size);

/** Producer: bytes that line_writer_append() can take now. */
size_t line_writer_space(const struct line_writer *writer);

/**
 * Producer: add whole lines (@p length <= line_writer_space()). The writer
 * thread writes them within 100 ms, or at once when 64 KiB wait.
 */
void line_writer_append(struct line_writer *writer, const char *lines, size_t length);

/**
 * Producer: ask for everything appended to be written now.
 * @return true once every appended line is written or counted as dropped.
 */
bool line_writer_flush(struct line_writer *writer);

/** Any thread: the figures (each read atomically; together they may be a moment apart). */
void line_writer_figures(const struct line_writer *writer, struct line_writer_figures *figures);

/**
 * Once lines were dropped: "write failed: <first error>; N records not
 * written (dropped_records)" into @p text. @return false (and no text) when
 * nothing was dropped.
 */
bool line_writer_failure(const struct line_writer *writer, char *text, size_t size);

/**
 * Control thread: ask every writer to reopen its file (SIGUSR1, SIGHUP).
 * Each writer thread does it itself, between two writes and within the
 * write delay (100 ms) when idle, so the control thread does no file I/O
 * and every line lands whole in the old file or the new one.
 */
void line_writer_request_reopen(void);

/** Write out what waits (retrying as above), stop the thread, close the file, free. */
void line_writer_close(struct line_writer *writer);

#endif
