/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "log_journal.h"
#include "outputs/output_file.h"

/* ---- bytes spread over one or two pieces (a ring buffer's wrap) ------------- */

static char
byte_at(const struct iovec *pieces, unsigned piece_count, size_t offset)
{
	for (unsigned p = 0; p < piece_count; p++) {
		if (offset < pieces[p].iov_len)
			return ((const char *)pieces[p].iov_base)[offset];
		offset -= pieces[p].iov_len;
	}
	return '\0';
}

/* End (exclusive) of the last whole line in [start, end), or start when there is none. */
static size_t
last_line_end(const struct iovec *pieces, unsigned piece_count, size_t start, size_t end)
{
	while (end > start && byte_at(pieces, piece_count, end - 1) != '\n')
		end--;
	return end;
}

/* End (exclusive) of the line that the byte at @p offset belongs to. */
static size_t
line_end_after(const struct iovec *pieces, unsigned piece_count, size_t offset, size_t length)
{
	while (offset < length && byte_at(pieces, piece_count, offset) != '\n')
		offset++;
	return offset < length ? offset + 1 : length;
}

/* The pieces of bytes [start, start + length): at most as many as there are pieces. */
static unsigned
slice(const struct iovec *pieces, unsigned piece_count, size_t start, size_t length,
      struct iovec *slices)
{
	unsigned count = 0;

	for (unsigned p = 0; p < piece_count && length > 0; p++) {
		size_t take;

		if (start >= pieces[p].iov_len) {
			start -= pieces[p].iov_len;
			continue;
		}
		take = pieces[p].iov_len - start < length ? pieces[p].iov_len - start : length;
		slices[count++] = (struct iovec){(char *)pieces[p].iov_base + start, take};
		length -= take;
		start = 0;
	}
	return count;
}

/* ---- opening -------------------------------------------------------------- */

/*
 * The last byte of the open regular file, read through a second descriptor:
 * the output descriptor is write-only (O_RDWR on a FIFO would make the sink
 * its own reader). @return the byte, or -1 when the file is empty or unreadable.
 */
static int
last_byte(const struct output_file *file, off_t size)
{
	int reader = open(file->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat status;
	unsigned char byte;
	int result = -1;

	if (reader < 0)
		return -1;
	if (fstat(reader, &status) == 0 && status.st_ino == file->inode &&
	    status.st_dev == file->device && pread(reader, &byte, 1, size - 1) == 1)
		result = byte;
	close(reader);
	return result;
}

/* Append the newline a cut last line lacks; @return true once the file ends with one. */
static bool
end_cut_line(struct output_file *file)
{
	struct stat status;

	if (fstat(file->descriptor, &status) != 0)
		return false;
	if (write(file->descriptor, "\n", 1) != 1) {
		log_kernel(LOG_LEVEL_WARNING, file->owner,
			   "%s ends in a cut line at offset %jd: cannot end it yet: %s", file->path,
			   (intmax_t)status.st_size, strerror(errno));
		return false;
	}
	log_kernel(LOG_LEVEL_WARNING, file->owner, "ended a cut line at offset %jd of %s",
		   (intmax_t)status.st_size, file->path);
	return true;
}

/* What the descriptor is: how a cut write can be undone, how much one write may carry. */
static void
describe_descriptor(struct output_file *file, const struct stat *status)
{
	int flags = fcntl(file->descriptor, F_GETFL);

	file->truncatable = S_ISREG(status->st_mode);
	file->appends = flags >= 0 && (flags & O_APPEND) != 0;
	file->write_max = S_ISFIFO(status->st_mode) || S_ISSOCK(status->st_mode) ? PIPE_BUF : SIZE_MAX;
	file->device = status->st_dev;
	file->inode = status->st_ino;
	file->newline_owed = false;
	if (!file->is_stdout && file->truncatable && status->st_size > 0 &&
	    last_byte(file, status->st_size) != '\n')
		file->newline_owed = !end_cut_line(file);
}

/* A FIFO's reader may be starting alongside the daemon: wait this long for it, not forever. */
#define FIFO_READER_WAIT_MS 5000

/*
 * O_NONBLOCK only for open(2): a FIFO without a reader then fails with ENXIO
 * instead of blocking the thread that opens it for good; writes block as usual.
 */
static int
open_path(const char *path)
{
	int descriptor, flags;

	for (unsigned waited_ms = 0;; waited_ms += 10) {
		descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK, 0644);
		if (descriptor >= 0 || errno != ENXIO || waited_ms >= FIFO_READER_WAIT_MS)
			break;
		usleep(10000);
	}
	if (descriptor < 0)
		return -errno;
	flags = fcntl(descriptor, F_GETFL);
	if (flags < 0 || fcntl(descriptor, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		int error = errno;

		close(descriptor);
		return -error;
	}
	return descriptor;
}

int
output_file_open(struct output_file *file, const char *path, const char *owner, char *message,
		 size_t message_size)
{
	struct stat status;

	memset(file, 0, sizeof(*file));
	file->is_stdout = strcmp(path, "-") == 0;
	/* only log lines name standard output by its path: it is never reopened or read */
	snprintf(file->path, sizeof(file->path), "%s", file->is_stdout ? "standard output" : path);
	file->owner = owner;
	file->descriptor = file->is_stdout ? STDOUT_FILENO : open_path(path);
	if (file->descriptor < 0 || fstat(file->descriptor, &status) != 0) {
		int error = file->descriptor < 0 ? -file->descriptor : errno;

		snprintf(message, message_size, "cannot open '%s': %s", path, strerror(error));
		output_file_close(file);
		return -error;
	}
	describe_descriptor(file, &status);
	return 0;
}

/* ---- following the path ------------------------------------------------------ */

/* mkdir -p of the directory part of @p path, each made 0755. */
static void
make_directories(const char *path)
{
	char directory[PATH_MAX];

	snprintf(directory, sizeof(directory), "%s", path);
	for (char *slash = strchr(directory + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(directory, 0755) == 0)
			log_info("made the directory %s again", directory);
		*slash = '/';
	}
}

static bool
path_names_open_file(const struct output_file *file)
{
	struct stat status;

	return stat(file->path, &status) == 0 && status.st_ino == file->inode &&
	       status.st_dev == file->device;
}

/* Open the path (its directories made again); @return the descriptor, or -errno. */
static int
open_again(const struct output_file *file, struct stat *status)
{
	int descriptor;

	make_directories(file->path);
	descriptor = open_path(file->path);
	if (descriptor < 0)
		return descriptor;
	if (fstat(descriptor, status) != 0) {
		int error = errno;

		close(descriptor);
		return -error;
	}
	return descriptor;
}

/* The file now written is @p descriptor: the old one is closed (its lines are all in it). */
static void
adopt_descriptor(struct output_file *file, int descriptor, const struct stat *status)
{
	close(file->descriptor);
	file->descriptor = descriptor;
	describe_descriptor(file, status);
}

int
output_file_follow_path(struct output_file *file)
{
	struct stat status;
	int descriptor;

	/* a FIFO or device that went away is not made again as a regular file */
	if (file->is_stdout || !file->truncatable || path_names_open_file(file))
		return 0;
	descriptor = open_again(file, &status);
	if (descriptor < 0)
		return descriptor;
	log_kernel(LOG_LEVEL_WARNING, file->owner,
		   "%s was removed or renamed: records from now on go to a new file at that path",
		   file->path);
	adopt_descriptor(file, descriptor, &status);
	return 0;
}

int
output_file_reopen(struct output_file *file)
{
	struct stat status;
	int descriptor;

	if (file->is_stdout || !file->truncatable)
		return 0;
	descriptor = open_again(file, &status);
	if (descriptor < 0) {
		log_kernel(LOG_LEVEL_ERROR, file->owner, "cannot reopen %s: %s", file->path,
			   strerror(-descriptor));
		return descriptor;
	}
	log_kernel(LOG_LEVEL_INFO, file->owner, "reopened %s", file->path);
	adopt_descriptor(file, descriptor, &status);
	return 0;
}

/* ---- writing ------------------------------------------------------------------- */

/* Where the next write starts: the end of the file for O_APPEND, else the offset. */
static off_t
write_start(const struct output_file *file)
{
	struct stat status;

	if (!file->appends)
		return lseek(file->descriptor, 0, SEEK_CUR);
	return fstat(file->descriptor, &status) == 0 ? status.st_size : -1;
}

/* Undo what a failed write left past @p keep_until: the file ends with a whole line again. */
static void
roll_back(struct output_file *file, off_t keep_until)
{
	struct stat status;

	if (keep_until < 0 || fstat(file->descriptor, &status) != 0 || status.st_size <= keep_until)
		return;
	if (ftruncate(file->descriptor, keep_until) != 0)
		log_kernel(LOG_LEVEL_ERROR, file->owner,
			   "cannot cut %s back to its last whole line at offset %jd: %s", file->path,
			   (intmax_t)keep_until, strerror(errno));
	else if (!file->appends)
		lseek(file->descriptor, keep_until, SEEK_SET);
}

/* One writev(2) of bytes [start, start + length); EINTR is retried. */
static ssize_t
write_once(struct output_file *file, const struct iovec *pieces, unsigned piece_count, size_t start,
	   size_t length)
{
	struct iovec slices[2];
	unsigned slice_count = slice(pieces, piece_count, start, length, slices);
	ssize_t result;

	do
		result = writev(file->descriptor, slices, (int)slice_count);
	while (result < 0 && errno == EINTR);
	return result;
}

/* A cut write to a regular file: keep its whole lines, cut the rest off. */
static struct output_write_result
write_truncatable(struct output_file *file, const struct iovec *pieces, unsigned piece_count,
		  size_t start, size_t length)
{
	off_t before = write_start(file);
	ssize_t result = write_once(file, pieces, piece_count, start, length);
	int error = result < 0 ? errno : 0;
	size_t written = result < 0 ? 0 : (size_t)result, keep;

	if (written == length)
		return (struct output_write_result){.whole_bytes = length};
	keep = last_line_end(pieces, piece_count, start, start + written) - start;
	roll_back(file, before < 0 ? -1 : before + (off_t)keep);
	/* a short write gives no reason: the next write of the rest fails with it (ENOSPC) */
	return (struct output_write_result){.whole_bytes = keep, .error = error};
}

/* A stream: what is out cannot be taken back, so a cut line is completed instead. */
static struct output_write_result
write_stream(struct output_file *file, const struct iovec *pieces, unsigned piece_count,
	     size_t start, size_t length)
{
	size_t written = 0;

	while (written < length) {
		ssize_t result = write_once(file, pieces, piece_count, start + written,
					    length - written);

		if (result <= 0) {
			size_t whole = last_line_end(pieces, piece_count, start, start + written) - start;
			size_t cut_end = written > whole ? line_end_after(pieces, piece_count,
									  start + written,
									  start + length) - start
							 : whole;

			return (struct output_write_result){.whole_bytes = whole,
							    .cut_bytes = cut_end - whole,
							    .error = result < 0 ? errno : EIO};
		}
		written += (size_t)result;
	}
	return (struct output_write_result){.whole_bytes = length};
}

/* The longest run of whole lines from @p start that one write may carry. */
static size_t
next_write_length(const struct output_file *file, const struct iovec *pieces, unsigned piece_count,
		  size_t start, size_t length)
{
	size_t end;

	if (length - start <= file->write_max)
		return length - start;
	end = last_line_end(pieces, piece_count, start, start + file->write_max);
	/* no line is longer than PIPE_BUF (JSONL_LINE_MAX), so end > start; be safe anyway */
	return end > start ? end - start : length - start;
}

struct output_write_result
output_file_write_lines(struct output_file *file, const struct iovec *pieces, unsigned piece_count,
			size_t length)
{
	struct output_write_result total = {0};
	unsigned writes_without_progress = 0;

	if (file->newline_owed) {
		if (write(file->descriptor, "\n", 1) != 1)
			return (struct output_write_result){.error = errno};
		file->newline_owed = false;
		log_kernel(LOG_LEVEL_WARNING, file->owner, "ended the cut line of %s", file->path);
	}
	while (total.whole_bytes < length) {
		size_t start = total.whole_bytes;
		size_t part = next_write_length(file, pieces, piece_count, start, length);
		struct output_write_result result =
			file->truncatable ? write_truncatable(file, pieces, piece_count, start, part)
					  : write_stream(file, pieces, piece_count, start, part);

		total.whole_bytes += result.whole_bytes;
		total.cut_bytes = result.cut_bytes;
		total.error = result.error;
		if (result.error != 0 || result.cut_bytes > 0)
			break;
		/*
		 * Short writes that keep no whole line and give no error: a regular
		 * file takes less than asked when the filesystem or quota is full, and
		 * rolling the fragment back frees that room again, so every retry is
		 * short too. Say what it is rather than a bare EIO.
		 */
		writes_without_progress = result.whole_bytes > 0 ? 0 : writes_without_progress + 1;
		if (writes_without_progress == 2) {
			total.error = ENOSPC;
			break;
		}
	}
	return total;
}

void
output_file_close(struct output_file *file)
{
	if (!file->is_stdout && file->descriptor >= 0)
		close(file->descriptor);
	file->descriptor = -1;
}
