/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The writing sink (format jsonl) on real files: what reaches the file is
 * whole lines only, what could not be written is counted as dropped_records
 * and never as records, a cut line left by an earlier run is ended before
 * anything is appended, a removed output is recreated, and a full buffer
 * holds records back in their ring instead of losing them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <rte_ring_elem.h>

#include "kernel_runtime.h"
#include "outputs/line_writer.h"
#include "suites.h"
#include "test_directory.h"
#include "test_rig.h"

#define NS_PER_SECOND 1000000000ull
/* Polls of a sink waiting on its I/O thread before a test gives up (about 10 s). */
#define SINK_TEST_WAIT_POLLS 100000u

extern const struct kernel_ops sink_kernel;

static uint64_t
sink_stat(const struct test_rig *rig, const char *name)
{
	struct kernel_stat stats[KERNEL_MAX_STATS];
	unsigned count = rig->instance.ops->stats(&rig->instance, stats);

	for (unsigned i = 0; i < count; i++)
		if (strcmp(stats[i].name, name) == 0)
			return stats[i].value;
	ck_abort_msg("the sink has no statistic %s", name);
	return 0;
}

/* Enqueues records whose pkts are first .. first+count-1 (so each line says which it is). */
static void
send_numbered(struct kernel_ring *ring, unsigned first, unsigned count)
{
	for (unsigned i = first; i < first + count; i++) {
		struct src_count_record record = {
			.header = {.type = STREAM_SRC_COUNT, .kernel = "count"},
			.packets = i, .bytes = 100 * (uint64_t)i, .start_ns = 5 * NS_PER_SECOND,
			.end_ns = 6 * NS_PER_SECOND,
		};

		test_address("198.51.100.7", record.source_address);
		ck_assert_int_eq(rte_ring_enqueue_elem(ring->ring, &record, sizeof(record)), 0);
	}
}

static void
open_sink(struct test_rig *rig, const char *path, const char *more_setting)
{
	char path_setting[PATH_MAX + 8];
	const char *settings[] = {path_setting, more_setting, NULL};

	snprintf(path_setting, sizeof(path_setting), "path=%s", path);
	test_rig_open(rig, &sink_kernel, "out", STREAM_SRC_COUNT, settings, 0);
}

/* Polls until the input ring is empty and the sink says everything is out (flush is true). */
static void
poll_until_written(struct test_rig *rig)
{
	for (unsigned round = 0; round < SINK_TEST_WAIT_POLLS; round++) {
		if (sink_kernel.process(&rig->instance) == 0 && rte_ring_empty(rig->input.ring) &&
		    sink_kernel.flush(&rig->instance))
			return;
		usleep(100);
	}
	ck_abort_msg("the sink did not write its records out");
}

static char *
file_text(const char *path)
{
	FILE *stream = fopen(path, "r");
	char *text;
	long length;

	ck_assert_msg(stream != NULL, "cannot open %s: %s", path, strerror(errno));
	fseek(stream, 0, SEEK_END);
	length = ftell(stream);
	rewind(stream);
	text = calloc(1, (size_t)length + 1);
	ck_assert_uint_eq(fread(text, 1, (size_t)length, stream), (size_t)length);
	fclose(stream);
	return text;
}

/*
 * Checks that @p text is whole record lines only, each of the form
 * send_numbered() sends, with strictly increasing pkts. @return the line count;
 * the pkts of the last line in @p last (when there is one).
 */
static unsigned
check_whole_lines(const char *text, unsigned *last)
{
	static const char start[] = "{\"type\":\"src_count\",\"kernel\":\"count\",\"src\":\"198.51.100.7\","
				    "\"pkts\":";
	unsigned lines = 0;
	long previous = -1;

	while (*text != '\0') {
		const char *end = strchr(text, '\n');
		unsigned packets, bytes;
		int consumed = 0;

		ck_assert_msg(end != NULL, "a cut last line: %.80s", text);
		ck_assert_msg(strncmp(text, start, sizeof(start) - 1) == 0, "not a whole record: %.*s",
			      (int)(end - text), text);
		ck_assert_int_eq(sscanf(text + sizeof(start) - 1,
					"%u,\"bytes\":%u,\"start\":5.000000000,\"end\":6.000000000}%n",
					&packets, &bytes, &consumed), 2);
		ck_assert_msg(text + sizeof(start) - 1 + consumed == end, "glued lines: %.*s",
			      (int)(end - text), text);
		ck_assert_uint_eq(bytes, 100 * packets);
		ck_assert_int_gt((long)packets, previous);
		previous = packets;
		*last = packets;
		lines++;
		text = end + 1;
	}
	return lines;
}

/* ---- a full disk ----------------------------------------------------------- */

/* The small filesystem of the full-disk test; unmounted in teardown even when the test fails. */
static char mounted_directory[PATH_MAX];

static void
unmount_small_filesystem(void)
{
	if (mounted_directory[0] != '\0' && umount(mounted_directory) == 0)
		test_directory_remove();
	mounted_directory[0] = '\0';
}

/* Fills @p path until the filesystem has about @p leave bytes free. */
static void
fill_filesystem(const char *path, size_t leave)
{
	static char block[4096];
	int descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	struct stat status;
	off_t size;

	ck_assert_int_ge(descriptor, 0);
	while (write(descriptor, block, sizeof(block)) == (ssize_t)sizeof(block))
		;
	ck_assert_int_eq(fstat(descriptor, &status), 0);
	size = status.st_size > (off_t)leave ? status.st_size - (off_t)leave : 0;
	ck_assert_int_eq(ftruncate(descriptor, size), 0);
	close(descriptor);
}

/*
 * A 256 KiB tmpfs nearly full: the sink writes what fits as whole lines,
 * counts the rest as dropped_records (records = lines in the file), and once
 * space is freed, writes again on a line of its own.
 */
START_TEST(sink_full_disk_keeps_whole_lines_and_counts_drops)
{
	const char *directory, *path, *filler;
	struct test_rig rig;
	unsigned last = 0, lines;
	char *text, expected_error[128];

	if (geteuid() != 0) {
		printf("skip: sink_full_disk_keeps_whole_lines_and_counts_drops needs root (mount)\n");
		return;
	}
	directory = test_directory_create("jetstream_sink_");
	ck_assert_msg(mount("tmpfs", directory, "tmpfs", 0, "size=256k") == 0, "mount: %s",
		      strerror(errno));
	snprintf(mounted_directory, sizeof(mounted_directory), "%s", directory);
	path = strdup(test_path("out.jsonl"));
	filler = strdup(test_path("filler"));
	fill_filesystem(filler, 20000);
	open_sink(&rig, path, "retry=0s");
	/* about 130 bytes a line: 900 lines need 117 kB, and 20 kB are free */
	send_numbered(&rig.input, 0, 900);
	poll_until_written(&rig);
	text = file_text(path);
	lines = check_whole_lines(text, &last);
	free(text);
	ck_assert_uint_gt(lines, 50);
	ck_assert_uint_lt(lines, 900);
	ck_assert_uint_eq(sink_stat(&rig, "records"), lines);
	ck_assert_uint_eq(sink_stat(&rig, "dropped_records"), 900 - lines);

	/* space returns: the next records land whole, after the last whole line */
	ck_assert_int_eq(unlink(filler), 0);
	send_numbered(&rig.input, 1000, 100);
	test_rig_run_to_end(&rig);
	text = file_text(path);
	ck_assert_uint_eq(check_whole_lines(text, &last), lines + 100);
	ck_assert_uint_eq(last, 1099);
	free(text);
	ck_assert_uint_eq(sink_stat(&rig, "records"), lines + 100);
	ck_assert_uint_eq(sink_stat(&rig, "dropped_records"), 900 - lines);
	snprintf(expected_error, sizeof(expected_error),
		 "write failed: No space left on device; %u records not written (dropped_records)",
		 900 - lines);
	ck_assert_str_eq(kernel_instance_error(&rig.instance), expected_error);
	test_rig_close(&rig);
	unmount_small_filesystem();
	free((void *)path);
	free((void *)filler);
}
END_TEST

/* A descriptor that always says ENOSPC: nothing is counted as written. */
START_TEST(sink_counts_unwritable_records_as_dropped)
{
	struct test_rig rig;

	open_sink(&rig, "/dev/full", "retry=0s");
	send_numbered(&rig.input, 0, 10);
	test_rig_run_to_end(&rig);
	ck_assert_uint_eq(sink_stat(&rig, "records"), 0);
	ck_assert_uint_eq(sink_stat(&rig, "dropped_records"), 10);
	ck_assert_uint_eq(rig.instance.counters.items_in, 10);
	ck_assert_str_eq(kernel_instance_error(&rig.instance), "write failed: No space left on device; 10 records "
					     "not written (dropped_records)");
	test_rig_close(&rig);
}
END_TEST

/* A pipe whose reader is gone (EPIPE): counted as dropped, reported, the process lives. */
START_TEST(sink_counts_records_into_a_closed_pipe_as_dropped)
{
	int ends[2];
	char path[64];
	struct test_rig rig;

	ck_assert_int_eq(pipe(ends), 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", ends[1]);
	open_sink(&rig, path, NULL);
	close(ends[0]);
	close(ends[1]);
	send_numbered(&rig.input, 0, 7);
	test_rig_run_to_end(&rig);
	ck_assert_uint_eq(sink_stat(&rig, "records"), 0);
	ck_assert_uint_eq(sink_stat(&rig, "dropped_records"), 7);
	ck_assert_str_eq(kernel_instance_error(&rig.instance),
			 "write failed: Broken pipe; 7 records not written (dropped_records)");
	test_rig_close(&rig);
}
END_TEST

/* ---- the file at open, and a file that goes away ------------------------------ */

/* A file whose last line was cut (SIGKILL, full disk): the fragment is ended first. */
START_TEST(sink_ends_a_cut_line_at_open)
{
	const char *path;
	struct test_rig rig;
	char *text;

	test_directory_create("jetstream_sink_");
	path = test_write_file("out.jsonl", "{\"type\":\"src_count\",\"kern");
	open_sink(&rig, path, NULL);
	send_numbered(&rig.input, 3, 1);
	test_rig_run_to_end(&rig);
	test_rig_close(&rig);
	text = file_text(path);
	ck_assert_str_eq(text, "{\"type\":\"src_count\",\"kern\n"
			       "{\"type\":\"src_count\",\"kernel\":\"count\",\"src\":\"198.51.100.7\","
			       "\"pkts\":3,\"bytes\":300,\"start\":5.000000000,\"end\":6.000000000}\n");
	free(text);
	test_directory_remove();
}
END_TEST

/* The output's directory is deleted while the sink runs: it is made again, and written. */
START_TEST(sink_reopens_after_its_directory_is_removed)
{
	char directory[PATH_MAX], path[PATH_MAX + 16], command[PATH_MAX + 16];
	struct test_rig rig;
	unsigned last = 0;
	char *text;

	snprintf(directory, sizeof(directory), "%s/output", test_directory_create("jetstream_sink_"));
	ck_assert_int_eq(mkdir(directory, 0755), 0);
	snprintf(path, sizeof(path), "%s/out.jsonl", directory);
	open_sink(&rig, path, NULL);
	send_numbered(&rig.input, 0, 5);
	poll_until_written(&rig);
	snprintf(command, sizeof(command), "rm -rf '%s'", directory);
	ck_assert_int_eq(system(command), 0);
	send_numbered(&rig.input, 10, 5);
	test_rig_run_to_end(&rig);
	text = file_text(path);
	ck_assert_uint_eq(check_whole_lines(text, &last), 5);
	ck_assert_uint_eq(last, 14);
	free(text);
	ck_assert_uint_eq(sink_stat(&rig, "records"), 10);
	ck_assert_uint_eq(sink_stat(&rig, "dropped_records"), 0);
	test_rig_close(&rig);
	test_directory_remove();
}
END_TEST

/* The file is renamed away (as logrotate does): the next records go to a new file at the path. */
START_TEST(sink_reopens_after_its_file_is_renamed)
{
	const char *path;
	char renamed[PATH_MAX];
	struct test_rig rig;
	unsigned last = 0;
	char *text;

	test_directory_create("jetstream_sink_");
	path = strdup(test_path("out.jsonl"));
	snprintf(renamed, sizeof(renamed), "%s", test_path("out.jsonl.1"));
	open_sink(&rig, path, NULL);
	send_numbered(&rig.input, 0, 5);
	poll_until_written(&rig);
	ck_assert_int_eq(rename(path, renamed), 0);
	send_numbered(&rig.input, 10, 3);
	test_rig_run_to_end(&rig);
	text = file_text(renamed);
	ck_assert_uint_eq(check_whole_lines(text, &last), 5);
	free(text);
	text = file_text(path);
	ck_assert_uint_eq(check_whole_lines(text, &last), 3);
	ck_assert_uint_eq(last, 12);
	free(text);
	test_rig_close(&rig);
	test_directory_remove();
	free((void *)path);
}
END_TEST

/* ---- the buffer ------------------------------------------------------------------- */

/*
 * A FIFO nobody reads: the I/O thread blocks once the pipe is full, the
 * 16 KiB buffer fills, and then the sink stops receiving: the records wait
 * in their ring. Once the FIFO is read, every record arrives, in order.
 */
START_TEST(sink_full_buffer_holds_records_in_their_ring)
{
	const char *path;
	struct test_rig rig;
	int reader;
	unsigned waiting_in_ring, lines = 0, next = 0;
	char line[4096];
	FILE *stream;

	test_directory_create("jetstream_sink_");
	path = test_path("fifo");
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	reader = open(path, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(reader, 0);
	open_sink(&rig, path, "buffer=16k");
	send_numbered(&rig.input, 0, 1000); /* 130 kB: more than the pipe (64 kB) and the buffer */
	for (unsigned round = 0; round < 2000; round++) {
		sink_kernel.process(&rig.instance);
		usleep(500);
	}
	waiting_in_ring = rte_ring_count(rig.input.ring);
	ck_assert_uint_gt(waiting_in_ring, 0);
	ck_assert_uint_gt(sink_stat(&rig, "buffer_bytes"), 16384 - 2 * 1536);
	ck_assert_uint_le(sink_stat(&rig, "buffer_bytes"), 16384);
	ck_assert_uint_le(sink_stat(&rig, "buffer_max_bytes"), 16384);
	ck_assert_uint_eq(rig.instance.counters.items_in + waiting_in_ring, 1000);
	ck_assert(!sink_kernel.flush(&rig.instance));

	/* now read it: everything arrives, in order */
	fcntl(reader, F_SETFL, 0);
	stream = fdopen(reader, "r");
	test_rig_close_inputs(&rig);
	while (lines < 1000 && fgets(line, sizeof(line), stream) != NULL) {
		unsigned packets;

		ck_assert_int_eq(sscanf(line, "{\"type\":\"src_count\",\"kernel\":\"count\",\"src\":"
					      "\"198.51.100.7\",\"pkts\":%u,", &packets), 1);
		ck_assert_uint_eq(packets, next++);
		lines++;
		sink_kernel.process(&rig.instance);
	}
	ck_assert_uint_eq(lines, 1000);
	test_rig_run_to_end(&rig);
	ck_assert_uint_eq(sink_stat(&rig, "records"), 1000);
	ck_assert_uint_eq(sink_stat(&rig, "dropped_records"), 0);
	ck_assert_uint_eq(sink_stat(&rig, "buffer_bytes"), 0);
	test_rig_close(&rig);
	fclose(stream);
	test_directory_remove();
}
END_TEST

/* flush() says true only once every record is in the file (before destroy). */
START_TEST(sink_flush_is_true_once_everything_is_written)
{
	const char *path;
	struct test_rig rig;
	unsigned last = 0;
	char *text;

	test_directory_create("jetstream_sink_");
	path = strdup(test_path("out.jsonl"));
	open_sink(&rig, path, NULL);
	for (unsigned batch = 0; batch < 10; batch++) {
		send_numbered(&rig.input, batch * 1000, 1000);
		test_rig_consume_input(&rig, false);
	}
	test_rig_run_to_end(&rig);
	text = file_text(path);
	ck_assert_uint_eq(check_whole_lines(text, &last), 10000);
	ck_assert_uint_eq(last, 9999);
	free(text);
	ck_assert_uint_eq(sink_stat(&rig, "records"), 10000);
	ck_assert_uint_eq(sink_stat(&rig, "buffer_bytes"), 0);
	ck_assert_uint_gt(sink_stat(&rig, "buffer_max_bytes"), 0);
	test_rig_close(&rig);
	test_directory_remove();
	free((void *)path);
}
END_TEST

/* Reads a FIFO slowly into memory, so that the writer thread keeps waiting on it. */
struct slow_reader {
	const char *path;
	char *bytes;
	size_t length, capacity;
};

static void *
slow_reader_run(void *argument)
{
	struct slow_reader *reader = argument;
	int descriptor = open(reader->path, O_RDONLY);
	ssize_t got;

	while (descriptor >= 0 && reader->length < reader->capacity &&
	       (got = read(descriptor, reader->bytes + reader->length,
			   RTE_MIN((size_t)4096, reader->capacity - reader->length))) > 0) {
		reader->length += (size_t)got;
		usleep(200);
	}
	if (descriptor >= 0)
		close(descriptor);
	return NULL;
}

static size_t
numbered_line(char *line, size_t size, unsigned i)
{
	return (size_t)snprintf(line, size, "{\"line\":%u,\"pad\":\"%0*u\"}\n", i, (int)(i % 23), 0);
}

/*
 * A producer that appends the moment there is room keeps a small ring full
 * while a slow reader holds the writer back, and the ring's written pages
 * are handed back to the kernel meanwhile: every byte must come out as it
 * was appended (handing back a page the producer had already refilled put
 * zeros in place of lines not yet written).
 */
START_TEST(line_writer_keeps_every_byte_of_a_full_ring)
{
	const char *directory = test_directory_create("jetstream_ring");
	const struct line_writer_settings settings = {.owner = "out", .capacity = 64 * 1024,
						      .retry_ns = 1000000000ull};
	struct slow_reader reader = {.capacity = 4 * 1024 * 1024};
	struct line_writer *writer;
	char path[512], line[64], message[256];
	const unsigned lines = 60000;
	size_t expected = 0, length, at = 0;
	pthread_t thread;

	snprintf(path, sizeof(path), "%s/ring.fifo", directory);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	reader.path = path;
	reader.bytes = malloc(reader.capacity);
	ck_assert_int_eq(pthread_create(&thread, NULL, slow_reader_run, &reader), 0);
	ck_assert_int_eq(line_writer_open(&writer, path, &settings, message, sizeof(message)), 0);
	for (unsigned i = 0; i < lines; i++) {
		length = numbered_line(line, sizeof(line), i);
		while (line_writer_space(writer) < length)
			; /* the writer thread makes room as the reader takes bytes */
		line_writer_append(writer, line, length);
		expected += length;
	}
	while (!line_writer_flush(writer))
		usleep(1000);
	line_writer_close(writer);
	pthread_join(thread, NULL);
	ck_assert_uint_eq(reader.length, expected);
	for (unsigned i = 0; i < lines; i++) {
		length = numbered_line(line, sizeof(line), i);
		ck_assert_msg(memcmp(reader.bytes + at, line, length) == 0, "line %u differs", i);
		at += length;
	}
	free(reader.bytes);
	test_directory_remove();
}
END_TEST

/* Append lines [first, first + count) of numbered_line() and wait until they are written. */
static void
write_numbered_lines(struct line_writer *writer, unsigned first, unsigned count)
{
	char line[64];

	for (unsigned i = first; i < first + count; i++) {
		size_t length = numbered_line(line, sizeof(line), i);

		while (line_writer_space(writer) < length)
			usleep(100);
		line_writer_append(writer, line, length);
	}
	for (unsigned polls = 0; !line_writer_flush(writer); polls++) {
		ck_assert_msg(polls < SINK_TEST_WAIT_POLLS, "the lines were not written");
		usleep(100);
	}
}

/* Whether @p text is exactly lines [first, first + count) of numbered_line(). */
static bool
holds_numbered_lines(const char *text, unsigned first, unsigned count)
{
	char line[64];

	for (unsigned i = first; i < first + count; i++) {
		size_t length = numbered_line(line, sizeof(line), i);

		if (strncmp(text, line, length) != 0)
			return false;
		text += length;
	}
	return *text == '\0';
}

/*
 * logrotate's way: rename the file, then ask for a reopen (SIGUSR1). Lines
 * written before stay in the renamed file, those after go to a new file at
 * the path, each once; a reopen of a path that still names the file keeps
 * appending to it.
 */
START_TEST(line_writer_reopens_its_file_on_request)
{
	const char *directory = test_directory_create("jetstream_reopen");
	const struct line_writer_settings settings = {.owner = "out", .capacity = 64 * 1024,
						      .retry_ns = 1000000000ull};
	struct line_writer *writer;
	char path[512], rotated[600], message[256];
	char *text;

	snprintf(path, sizeof(path), "%s/out.jsonl", directory);
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	ck_assert_int_eq(line_writer_open(&writer, path, &settings, message, sizeof(message)), 0);
	write_numbered_lines(writer, 0, 1000);
	ck_assert_int_eq(rename(path, rotated), 0);
	line_writer_request_reopen();
	write_numbered_lines(writer, 1000, 1000);
	line_writer_request_reopen(); /* the path names the open file: the same file goes on */
	write_numbered_lines(writer, 2000, 500);
	line_writer_close(writer);
	text = file_text(rotated);
	ck_assert_msg(holds_numbered_lines(text, 0, 1000), "the rotated file: %.200s", text);
	free(text);
	text = file_text(path);
	ck_assert_msg(holds_numbered_lines(text, 1000, 1500), "the new file: %.200s", text);
	free(text);
	test_directory_remove();
}
END_TEST

Suite *
sink_suite(void)
{
	Suite *suite = suite_create("sink");
	TCase *failures = tcase_create("write_failures");
	TCase *files = tcase_create("files");
	TCase *buffer = tcase_create("buffer");

	/* a closed pipe must give EPIPE, not kill the test process */
	signal(SIGPIPE, SIG_IGN);
	tcase_add_unchecked_fixture(failures, NULL, unmount_small_filesystem);
	tcase_set_timeout(failures, 60);
	tcase_set_timeout(buffer, 60);
	tcase_add_test(failures, sink_full_disk_keeps_whole_lines_and_counts_drops);
	tcase_add_test(failures, sink_counts_unwritable_records_as_dropped);
	tcase_add_test(failures, sink_counts_records_into_a_closed_pipe_as_dropped);
	tcase_add_test(files, sink_ends_a_cut_line_at_open);
	tcase_add_test(files, sink_reopens_after_its_directory_is_removed);
	tcase_add_test(files, sink_reopens_after_its_file_is_renamed);
	tcase_add_test(files, line_writer_reopens_its_file_on_request);
	tcase_add_test(buffer, sink_full_buffer_holds_records_in_their_ring);
	tcase_add_test(buffer, sink_flush_is_true_once_everything_is_written);
	tcase_add_test(buffer, line_writer_keeps_every_byte_of_a_full_ring);
	suite_add_tcase(suite, failures);
	suite_add_tcase(suite, files);
	suite_add_tcase(suite, buffer);
	return suite;
}
