/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The file a line-writing sink appends to, kept valid: only whole lines
 * reach it.
 *
 * - At open, a file whose last line was cut (SIGKILL, full disk) gets a
 *   newline first, so the next line is not glued onto the fragment.
 * - A write that fails or is cut short on a regular file is rolled back to
 *   the last whole line (ftruncate to where the write started, plus the
 *   whole lines it did write).
 * - On a FIFO or socket, writes are at most PIPE_BUF bytes of whole lines,
 *   which POSIX makes atomic: a reader never sees half a line, even with
 *   other writers. Other files that cannot be truncated (a terminal, a
 *   character device) get the rest of a cut write completed instead; only an
 *   error in the middle of that leaves a cut line (counted as not written).
 * - An output removed or renamed (or whose directory was removed) is noticed
 *   before each write and reopened, its directory made again if need be.
 *
 * Not thread-safe: one thread (the sink's I/O thread, or the control thread
 * before that thread starts) uses a struct output_file at a time.
 */
#ifndef JETSTREAM_OUTPUTS_OUTPUT_FILE_H
#define JETSTREAM_OUTPUTS_OUTPUT_FILE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

/** An open output: a path, or standard output for "-". */
struct output_file {
	char path[PATH_MAX];      /**< as given; "standard output" for "-" (log lines) */
	const char *owner;        /**< kernel name, for log lines */
	int descriptor;
	bool is_stdout;           /**< not owned, never reopened */
	bool truncatable;         /**< a regular file: a cut write can be rolled back */
	bool appends;             /**< O_APPEND: a write starts at the end of the file */
	size_t write_max;         /**< bytes per write(2): PIPE_BUF for FIFOs and sockets */
	bool newline_owed;        /**< a cut line at open could not be ended yet */
	dev_t device;             /**< what was opened, to notice a replaced path */
	ino_t inode;
};

/** What one output_file_write_lines() did. */
struct output_write_result {
	size_t whole_bytes;  /**< bytes of whole lines now in the file (from the start) */
	size_t cut_bytes;    /**< after them: bytes of one line cut beyond repair (not written) */
	int error;           /**< 0 when everything was written, else an errno (EIO for a short write) */
};

/**
 * Open @p path for appending (created 0644), or standard output for "-",
 * and end a cut last line (logged: "ended a cut line at offset N of PATH").
 * @return 0, or -errno with a message in @p message.
 */
int output_file_open(struct output_file *file, const char *path, const char *owner, char *message,
		     size_t message_size);

/**
 * When the path no longer names the open file (removed, renamed, its
 * directory removed), log it and reopen, making missing directories (0755).
 * @return 0 when the file at the path is open, -errno when it could not be
 *         reopened (the message logged once by the caller's rate limit).
 */
int output_file_follow_path(struct output_file *file);

/**
 * Write the first whole lines of @p length bytes (one iovec or two; the
 * bytes end with a newline) with as few write(2) calls as whole lines and
 * write_max allow. Never leaves a cut line in a file that can be truncated.
 */
struct output_write_result output_file_write_lines(struct output_file *file,
						   const struct iovec *pieces, unsigned piece_count,
						   size_t length);

/**
 * Open the path again whether or not it still names the open file (SIGUSR1,
 * SIGHUP: logrotate's postrotate), making missing directories, and log it.
 * Only regular files: standard output, FIFOs, terminals and devices are not
 * reopened (a FIFO's open would wait for a reader).
 * @return 0, or -errno with the old file still open.
 */
int output_file_reopen(struct output_file *file);

/** Close (standard output stays open). */
void output_file_close(struct output_file *file);

#endif
