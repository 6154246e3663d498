/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "log_journal.h"
#include "outputs/line_writer.h"
#include "outputs/output_thread.h"
#include "outputs/output_file.h"

#define NANOSECONDS_PER_SECOND UINT64_C(1000000000)
/* Lines wait at most this long before they are written: records of a live pipeline show up. */
#define WRITE_DELAY_NS (100 * UINT64_C(1000000))
/* A write carries at least this much when it can (unless the delay is up, or a flush asks). */
#define WRITE_BATCH_BYTES (64 * 1024)
/*
 * Written ring pages are handed back to the kernel once this many bytes of
 * whole pages are behind the writer, so the resident size follows what is
 * waiting, not the `buffer:` bound: the ring's positions never wrap back,
 * and without this a 64M buffer became resident by the time its positions
 * had gone round once (a 30 s soak: +40 MB of RSS for 4 MB ever waiting).
 * A page handed back costs one fault when the producer reaches it again.
 * The producer does it, on free bytes only: it alone writes them, and the
 * writer thread never reads them again.
 */
#define RELEASE_BATCH_BYTES (1024 * 1024)
/* At most this much per write: bounds what one failure retries, and the work a rollback undoes. */
#define WRITE_MAX_BYTES (1024 * 1024)
/* Idle, the thread still checks the path this often: a removed output is recreated (and said). */
#define FOLLOW_PATH_INTERVAL_NS NANOSECONDS_PER_SECOND
#define BACKOFF_FIRST_NS (10 * UINT64_C(1000000))
#define BACKOFF_MAX_NS NANOSECONDS_PER_SECOND
/* Failures are logged at most once per this interval per writer (with the counts since). */
#define REPORT_INTERVAL_NS (10 * NANOSECONDS_PER_SECOND)

/* State of the writer thread alone: how the output is failing, and what was said about it. */
struct failure_state {
	uint64_t failing_since_ns;   /* 0: the last write succeeded */
	uint64_t backoff_ns;
	bool giving_up;              /* retried for the retry time: now one try, then dropped */
	int last_error;
	uint64_t last_report_ns;     /* 0: nothing reported yet */
	bool reported;               /* this failure was logged: its end will be too */
	uint64_t unreported_failures;
	uint64_t unreported_drops;
	uint64_t episode_failures;   /* since the failure began */
	uint64_t episode_drops;
};

/*
 * Reopen requests so far (line_writer_request_reopen). Control thread: wo;
 * writer threads: ro, each comparing it with the count it has carried out.
 */
static _Atomic uint64_t reopen_requests;

struct line_writer {
	/* Set by open, then read-only for every thread. */
	char owner[64];
	char *ring;
	uint64_t capacity;
	uint64_t batch_bytes;   /* WRITE_BATCH_BYTES, or half a smaller ring */
	uint64_t retry_ns;
	pthread_t thread;

	/*
	 * Byte positions since open, never wrapping: [consumed, appended) waits
	 * in the ring at position % capacity. The ring bytes in that range
	 * belong to the writer thread, the rest to the producer; each position
	 * is published with release and read with acquire, which hands the
	 * bytes over (single producer, single consumer).
	 */
	_Atomic uint64_t appended;         /* producer: wo (release); writer thread: ro (acquire) */
	_Atomic uint64_t consumed;         /* writer thread: wo (release); producer: ro (acquire) */
	_Atomic uint64_t buffer_max_bytes; /* producer: wo; others: ro (relaxed) */

	/* Figures: writer thread: wo; others: ro (relaxed). */
	_Atomic uint64_t lines_written;
	_Atomic uint64_t lines_dropped;
	_Atomic uint64_t write_errors;
	_Atomic int first_error;           /* the errno of the first failed write; 0: none */

	/* Wake-ups of the writer thread: the producer (a batch), flush and close */
	struct output_wakeup wakeup;

	/* Producer only: ring pages of positions before this one have been handed back. */
	uint64_t released;

	/* Writer thread only (open uses them before the thread starts). */
	struct output_file file;
	struct failure_state failure;
	uint64_t reopens_done;             /* the value of reopen_requests last carried out */
};

static uint64_t
smaller(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static void
sleep_ns(uint64_t nanoseconds)
{
	struct timespec duration = {(time_t)(nanoseconds / NANOSECONDS_PER_SECOND),
				    (long)(nanoseconds % NANOSECONDS_PER_SECOND)};

	while (nanosleep(&duration, &duration) != 0 && errno == EINTR)
		;
}

/* The ring bytes [from, from + length) as one piece, or two where they wrap. */
static unsigned
ring_pieces(const struct line_writer *writer, uint64_t from, size_t length, struct iovec *pieces)
{
	size_t position = (size_t)(from % writer->capacity);
	size_t first = length < writer->capacity - position ? length : writer->capacity - position;

	pieces[0] = (struct iovec){writer->ring + position, first};
	pieces[1] = (struct iovec){writer->ring, length - first};
	return length > first ? 2 : 1;
}

/* ---- the producer ----------------------------------------------------------- */

size_t
line_writer_space(const struct line_writer *writer)
{
	uint64_t appended = atomic_load_explicit(&writer->appended, memory_order_relaxed);
	uint64_t consumed = atomic_load_explicit(&writer->consumed, memory_order_acquire);

	return (size_t)(writer->capacity - (appended - consumed));
}

/*
 * Hand back the whole pages of free ring bytes: those of positions
 * [appended - capacity, consumed), written out and not yet written again
 * (position p + capacity goes where p was, and only from `appended` on).
 */
static void
release_free_pages(struct line_writer *writer, uint64_t appended, uint64_t consumed)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t oldest = appended > writer->capacity ? appended - writer->capacity : 0;
	uint64_t from = writer->released > oldest ? writer->released : oldest;
	uint64_t batch = smaller(RELEASE_BATCH_BYTES, writer->capacity / 2);
	struct iovec pieces[2];
	unsigned piece_count;

	if (consumed < from + batch)
		return;
	piece_count = ring_pieces(writer, from, (size_t)(consumed - from), pieces);
	for (unsigned p = 0; p < piece_count; p++) {
		uint64_t offset = (uint64_t)((char *)pieces[p].iov_base - writer->ring);
		uint64_t first = (offset + page - 1) / page * page;
		uint64_t last = (offset + pieces[p].iov_len) / page * page;

		if (last > first)
			madvise(writer->ring + first, (size_t)(last - first), MADV_DONTNEED);
	}
	writer->released = consumed;
}

void
line_writer_append(struct line_writer *writer, const char *lines, size_t length)
{
	uint64_t appended = atomic_load_explicit(&writer->appended, memory_order_relaxed);
	uint64_t consumed = atomic_load_explicit(&writer->consumed, memory_order_acquire);
	size_t position = (size_t)(appended % writer->capacity);
	size_t first = length < writer->capacity - position ? length : writer->capacity - position;
	uint64_t waiting = appended + length - consumed;

	release_free_pages(writer, appended, consumed);
	memcpy(writer->ring + position, lines, first);
	memcpy(writer->ring, lines + first, length - first);
	atomic_store_explicit(&writer->appended, appended + length, memory_order_release);
	if (waiting > atomic_load_explicit(&writer->buffer_max_bytes, memory_order_relaxed))
		atomic_store_explicit(&writer->buffer_max_bytes, waiting, memory_order_relaxed);
	/* a batch is ready: wake the writer now rather than at its delay (once per batch) */
	if (waiting >= writer->batch_bytes && waiting - length < writer->batch_bytes)
		output_wakeup_signal(&writer->wakeup, false, false);
}

bool
line_writer_flush(struct line_writer *writer)
{
	uint64_t appended = atomic_load_explicit(&writer->appended, memory_order_relaxed);

	if (atomic_load_explicit(&writer->consumed, memory_order_acquire) == appended)
		return true;
	output_wakeup_signal(&writer->wakeup, true, false);
	return false;
}

/* ---- reading the figures ----------------------------------------------------- */

void
line_writer_figures(const struct line_writer *writer, struct line_writer_figures *figures)
{
	uint64_t consumed = atomic_load_explicit(&writer->consumed, memory_order_acquire);
	uint64_t appended = atomic_load_explicit(&writer->appended, memory_order_acquire);

	*figures = (struct line_writer_figures){
		.lines_written = atomic_load_explicit(&writer->lines_written, memory_order_relaxed),
		.lines_dropped = atomic_load_explicit(&writer->lines_dropped, memory_order_relaxed),
		.write_errors = atomic_load_explicit(&writer->write_errors, memory_order_relaxed),
		/* read apart, the two may cross by a moment: never report a negative wait */
		.buffer_bytes = appended > consumed ? appended - consumed : 0,
		.buffer_max_bytes = atomic_load_explicit(&writer->buffer_max_bytes,
							 memory_order_relaxed),
	};
}

bool
line_writer_failure(const struct line_writer *writer, char *text, size_t size)
{
	uint64_t dropped = atomic_load_explicit(&writer->lines_dropped, memory_order_relaxed);
	int error = atomic_load_explicit(&writer->first_error, memory_order_relaxed);

	if (dropped == 0)
		return false;
	snprintf(text, size, "write failed: %s; %" PRIu64 " record%s not written (dropped_records)",
		 error != 0 ? strerror(error) : "unknown error", dropped, dropped == 1 ? "" : "s");
	return true;
}

/* ---- the writer thread: ring bytes ---------------------------------------------- */

static uint64_t
count_lines(const struct line_writer *writer, uint64_t from, size_t length)
{
	struct iovec pieces[2];
	unsigned piece_count = ring_pieces(writer, from, length, pieces);
	uint64_t lines = 0;

	for (unsigned p = 0; p < piece_count; p++) {
		const char *at = pieces[p].iov_base, *end = at + pieces[p].iov_len;

		while ((at = memchr(at, '\n', (size_t)(end - at))) != NULL) {
			lines++;
			at++;
		}
	}
	return lines;
}

/* Whole lines from @p from, at most WRITE_MAX_BYTES of them (the producer appends whole lines). */
static size_t
next_write_length(const struct line_writer *writer, uint64_t from, uint64_t waiting)
{
	size_t length = waiting < WRITE_MAX_BYTES ? (size_t)waiting : WRITE_MAX_BYTES;

	while (length < waiting && length > 0 &&
	       writer->ring[(from + length - 1) % writer->capacity] != '\n')
		length--;
	return length > 0 ? length : (size_t)waiting;
}

static void
consume(struct line_writer *writer, uint64_t from, size_t length, _Atomic uint64_t *figure,
	uint64_t lines)
{
	atomic_fetch_add_explicit(figure, lines, memory_order_relaxed);
	atomic_store_explicit(&writer->consumed, from + length, memory_order_release);
}

/* ---- the writer thread: failures --------------------------------------------------- */

static bool
report_allowed(const struct failure_state *failure, uint64_t now)
{
	return failure->last_report_ns == 0 || now - failure->last_report_ns >= REPORT_INTERVAL_NS;
}

/* The counts since the last log line; @p now 0: say them whatever the interval (at close). */
static void
report_counts(struct line_writer *writer, uint64_t now)
{
	struct failure_state *failure = &writer->failure;

	if (failure->unreported_failures == 0 && failure->unreported_drops == 0)
		return;
	if (now != 0 && !report_allowed(failure, now))
		return;
	log_kernel(LOG_LEVEL_ERROR, writer->owner,
		   "writing to %s: %s: %" PRIu64 " more failed writes, %" PRIu64
		   " records dropped since the last report",
		   writer->file.path, strerror(failure->last_error),
		   failure->unreported_failures, failure->unreported_drops);
	failure->unreported_failures = failure->unreported_drops = 0;
	failure->last_report_ns = now != 0 ? now : clock_monotonic_ns();
}

static void
report_first_failure(struct line_writer *writer, int error, uint64_t now, bool retried)
{
	struct failure_state *failure = &writer->failure;

	if (!report_allowed(failure, now))
		return;
	if (retried)
		log_kernel(LOG_LEVEL_ERROR, writer->owner,
			   "cannot write to %s: %s; retrying for up to %.3f s, then its records are "
			   "counted as dropped_records", writer->file.path,
			   strerror(error), (double)writer->retry_ns / NANOSECONDS_PER_SECOND);
	else
		log_kernel(LOG_LEVEL_ERROR, writer->owner,
			   "cannot write to %s: %s; its records are counted as dropped_records",
			   writer->file.path, strerror(error));
	failure->unreported_failures = failure->unreported_drops = 0;
	failure->last_report_ns = now;
	failure->reported = true;
}

static void
note_recovery(struct line_writer *writer)
{
	struct failure_state *failure = &writer->failure;

	if (failure->failing_since_ns == 0)
		return;
	if (failure->reported) {
		log_kernel(LOG_LEVEL_INFO, writer->owner,
			   "writing to %s again, after %" PRIu64 " failed writes and %" PRIu64
			   " records dropped", writer->file.path,
			   failure->episode_failures, failure->episode_drops);
		failure->unreported_failures = failure->unreported_drops = 0;
	}
	failure->failing_since_ns = 0;
	failure->giving_up = false;
	failure->reported = false;
	failure->episode_failures = failure->episode_drops = 0;
}

static bool
is_permanent(int error)
{
	return error == EPIPE || error == EBADF;
}

/* A write of [from, from + length) failed with @p error: back off and retry, or drop it. */
static void
handle_failure(struct line_writer *writer, int error, uint64_t from, size_t length)
{
	struct failure_state *failure = &writer->failure;
	uint64_t now = clock_monotonic_ns(), lines;
	int expected = 0;
	bool drop;

	atomic_fetch_add_explicit(&writer->write_errors, 1, memory_order_relaxed);
	atomic_compare_exchange_strong(&writer->first_error, &expected, error);
	failure->last_error = error;
	failure->unreported_failures++;
	failure->episode_failures++;
	if (failure->failing_since_ns == 0) {
		failure->failing_since_ns = now;
		failure->backoff_ns = BACKOFF_FIRST_NS;
		report_first_failure(writer, error, now, !is_permanent(error) && writer->retry_ns > 0);
	}
	drop = is_permanent(error) || failure->giving_up ||
	       now - failure->failing_since_ns >= writer->retry_ns;
	if (!drop) {
		sleep_ns(failure->backoff_ns);
		failure->backoff_ns = smaller(failure->backoff_ns * 2, BACKOFF_MAX_NS);
		return;
	}
	failure->giving_up = true;
	lines = count_lines(writer, from, length);

	failure->unreported_drops += lines;
	failure->episode_drops += lines;
	consume(writer, from, length, &writer->lines_dropped, lines);
	report_counts(writer, now);
}

/* ---- the writer thread: the loop --------------------------------------------------- */

void
line_writer_request_reopen(void)
{
	atomic_fetch_add_explicit(&reopen_requests, 1, memory_order_relaxed);
}

static bool
reopen_requested(const struct line_writer *writer)
{
	return atomic_load_explicit(&reopen_requests, memory_order_relaxed) != writer->reopens_done;
}

/*
 * Before a write: reopen when asked, else follow a renamed or removed path.
 * A reopen that fails is not asked again: the path no longer names the open
 * file, so following it tries again before the next write.
 * @return 0, or -errno when no file at the path could be opened.
 */
static int
keep_file_current(struct line_writer *writer)
{
	if (reopen_requested(writer)) {
		writer->reopens_done = atomic_load_explicit(&reopen_requests, memory_order_relaxed);
		return output_file_reopen(&writer->file);
	}
	return output_file_follow_path(&writer->file);
}

/* Write (or fail to write) the next run of whole lines waiting in the ring. */
static void
write_waiting(struct line_writer *writer, uint64_t waiting)
{
	uint64_t from = atomic_load_explicit(&writer->consumed, memory_order_relaxed);
	size_t length = next_write_length(writer, from, waiting);
	struct iovec pieces[2];
	unsigned piece_count = ring_pieces(writer, from, length, pieces);
	struct output_write_result result = {0};
	int error = -keep_file_current(writer);

	if (error == 0)
		result = output_file_write_lines(&writer->file, pieces, piece_count, length);
	else
		result.error = error;
	if (result.whole_bytes > 0) {
		consume(writer, from, result.whole_bytes, &writer->lines_written,
			count_lines(writer, from, result.whole_bytes));
		from += result.whole_bytes;
	}
	if (result.cut_bytes > 0) { /* a stream took part of a line: it is lost, say so */
		consume(writer, from, result.cut_bytes, &writer->lines_dropped, 1);
		writer->failure.unreported_drops++;
		writer->failure.episode_drops++;
		from += result.cut_bytes;
	}
	if (result.error != 0)
		handle_failure(writer, result.error, from,
			       length - result.whole_bytes - result.cut_bytes);
	else
		note_recovery(writer);
}

static uint64_t
waiting_bytes(const struct line_writer *writer)
{
	return atomic_load_explicit(&writer->appended, memory_order_acquire) -
	       atomic_load_explicit(&writer->consumed, memory_order_relaxed);
}

/* Whether a batch waits: the writer thread need not sleep out its write delay. */
static bool
batch_waits(const void *context)
{
	const struct line_writer *writer = context;

	return waiting_bytes(writer) >= writer->batch_bytes;
}

static void *
writer_thread(void *argument)
{
	struct line_writer *writer = argument;
	uint64_t next_follow_ns = clock_monotonic_ns() + FOLLOW_PATH_INTERVAL_NS;

	for (;;) {
		bool closing =
			output_wakeup_wait(&writer->wakeup, WRITE_DELAY_NS, batch_waits, writer).closing;
		uint64_t until = atomic_load_explicit(&writer->appended, memory_order_acquire);
		uint64_t consumed;

		/* what waits now goes out (or is dropped) before the next wait: retries do not wait */
		while ((consumed = atomic_load_explicit(&writer->consumed, memory_order_relaxed)) < until)
			write_waiting(writer, until - consumed);
		if (closing && waiting_bytes(writer) == 0)
			break;
		if (reopen_requested(writer) || clock_monotonic_ns() >= next_follow_ns) {
			keep_file_current(writer); /* a failure shows at the next write */
			next_follow_ns = clock_monotonic_ns() + FOLLOW_PATH_INTERVAL_NS;
		}
	}
	report_counts(writer, 0);
	return NULL;
}

/* ---- open and close ------------------------------------------------------------------- */

int
line_writer_open(struct line_writer **result, const char *path,
		 const struct line_writer_settings *settings, char *message, size_t message_size)
{
	struct line_writer *writer = calloc(1, sizeof(*writer));
	int error;

	/* mapped, not malloc'd: page-aligned, so written pages can be handed back */
	if (writer == NULL ||
	    (writer->ring = mmap(NULL, settings->capacity, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED) {
		snprintf(message, message_size, "cannot allocate a buffer of %" PRIu64 " bytes",
			 settings->capacity);
		free(writer);
		return -ENOMEM;
	}
	snprintf(writer->owner, sizeof(writer->owner), "%s", settings->owner);
	writer->capacity = settings->capacity;
	writer->batch_bytes = smaller(WRITE_BATCH_BYTES, settings->capacity / 2);
	writer->retry_ns = settings->retry_ns;
	/* a file opened now is as new as a reopen would make it */
	writer->reopens_done = atomic_load_explicit(&reopen_requests, memory_order_relaxed);
	error = output_file_open(&writer->file, path, writer->owner, message, message_size);
	if (error == 0 && (error = output_wakeup_init(&writer->wakeup)) == 0 &&
	    (error = output_thread_start(&writer->thread, writer_thread, writer, writer->owner)) != 0) {
		output_wakeup_destroy(&writer->wakeup);
		snprintf(message, message_size, "cannot start the writer thread: %s", strerror(-error));
	}
	if (error != 0) {
		output_file_close(&writer->file);
		munmap(writer->ring, writer->capacity);
		free(writer);
		return error;
	}
	*result = writer;
	return 0;
}

void
line_writer_close(struct line_writer *writer)
{
	if (writer == NULL)
		return;
	output_wakeup_signal(&writer->wakeup, true, true);
	pthread_join(writer->thread, NULL);
	output_file_close(&writer->file);
	output_wakeup_destroy(&writer->wakeup);
	munmap(writer->ring, writer->capacity);
	free(writer);
}
