/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The source kernel against generated inputs: record times of pcap and pcapng
 * files past 2^31 s, --check errors for inputs the start cannot open, start
 * failures positioned at their key, and the live parse of whole frames in one
 * or several mbuf segments.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_mbuf.h>

#include "config.h"
#include "graph.h"
#include "kernels/pcap_mapped.h"
#include "kernels/source.h"
#include "kernels/source_pcap.h"
#include "packet.h"
#include "suites.h"
#include "test_directory.h"
#include "test_rig.h"

extern const struct kernel_ops source_kernel;

/* ---- files ------------------------------------------------------------ */

/* 2^31 - 1, 2^31, 2100-01-01T00:00:00Z and 2106-02-07T06:28:15Z (the last pcap second). */
static const uint32_t test_seconds[] = {2147483647u, 2147483648u, 4102444800u, 4294967295u};
#define TEST_RECORDS (sizeof(test_seconds) / sizeof(test_seconds[0]))
#define FRAME_LENGTH 60

static void
put(FILE *file, const void *bytes, size_t size)
{
	ck_assert_uint_eq(fwrite(bytes, 1, size, file), size);
}

static void
put_32(FILE *file, uint32_t value)
{
	put(file, &value, sizeof(value)); /* host order: the magic tells readers which */
}

static void
put_16(FILE *file, uint16_t value)
{
	put(file, &value, sizeof(value));
}

/* The byte at @p offset of every test frame: ARP (no IP needed here), then a count. */
static uint8_t
frame_byte(size_t offset)
{
	if (offset == 12)
		return 0x08;
	if (offset == 13)
		return 0x06;
	return offset < 12 ? 0 : (uint8_t)offset;
}

/* A classic pcap file of the test seconds in frames of @p frame_length bytes. */
static const char *
write_classic_frames(const char *name, bool nano, uint32_t fraction, uint32_t frame_length)
{
	const char *path = test_path(name);
	uint8_t frame[2048];
	FILE *file = fopen(path, "wb");

	ck_assert_uint_le(frame_length, sizeof(frame));
	for (size_t i = 0; i < frame_length; i++)
		frame[i] = frame_byte(i);
	ck_assert_ptr_nonnull(file);
	put_32(file, nano ? 0xa1b23c4du : 0xa1b2c3d4u);
	put_16(file, 2);
	put_16(file, 4);
	put_32(file, 0);
	put_32(file, 0);
	put_32(file, 65535);
	put_32(file, 1); /* Ethernet */
	for (unsigned i = 0; i < TEST_RECORDS; i++) {
		put_32(file, test_seconds[i]);
		put_32(file, fraction);
		put_32(file, frame_length);
		put_32(file, frame_length);
		put(file, frame, frame_length);
	}
	fclose(file);
	return path;
}

/* A classic pcap file of the test seconds; @p nano: nanosecond magic and fractions. */
static const char *
write_classic(const char *name, bool nano, uint32_t fraction)
{
	return write_classic_frames(name, nano, fraction, FRAME_LENGTH);
}

/* A pcapng file of the test seconds, timestamps in units of 10^-@p resolution s. */
static const char *
write_pcapng(const char *name, uint8_t resolution, uint64_t fraction)
{
	const char *path = test_path(name);
	uint8_t frame[FRAME_LENGTH] = {[12] = 0x08, [13] = 0x06};
	uint64_t units = 1;
	FILE *file = fopen(path, "wb");

	for (unsigned i = 0; i < resolution; i++)
		units *= 10;
	ck_assert_ptr_nonnull(file);
	/* section header block */
	put_32(file, 0x0a0d0d0au);
	put_32(file, 28);
	put_32(file, 0x1a2b3c4du);
	put_16(file, 1);
	put_16(file, 0);
	put_32(file, 0xffffffffu);
	put_32(file, 0xffffffffu);
	put_32(file, 28);
	/* interface description block with if_tsresol */
	put_32(file, 1);
	put_32(file, 32);
	put_16(file, 1); /* Ethernet */
	put_16(file, 0);
	put_32(file, 65535);
	put_16(file, 9); /* if_tsresol */
	put_16(file, 1);
	put_32(file, resolution); /* the byte, then padding */
	put_32(file, 0);          /* opt_endofopt */
	put_32(file, 32);
	for (unsigned i = 0; i < TEST_RECORDS; i++) {
		uint64_t time = test_seconds[i] * units + fraction;

		/* enhanced packet block */
		put_32(file, 6);
		put_32(file, 32 + FRAME_LENGTH);
		put_32(file, 0);
		put_32(file, (uint32_t)(time >> 32));
		put_32(file, (uint32_t)time);
		put_32(file, FRAME_LENGTH);
		put_32(file, FRAME_LENGTH);
		put(file, frame, sizeof(frame));
		put_32(file, 32 + FRAME_LENGTH);
	}
	fclose(file);
	return path;
}

static void
files_setup(void)
{
	test_directory_create("jetstream_source_");
}

static void
files_teardown(void)
{
	test_directory_remove();
}

/* Reads @p path with a source (preloaded or not); every record's time is seconds + @p ns. */
static void
assert_record_times(const char *path, bool preload, uint64_t ns)
{
	char pcap_setting[PATH_MAX + 8];
	const char *settings[] = {pcap_setting, preload ? "preload=true" : "preload=false", NULL};
	struct rte_mbuf *packets[TEST_RECORDS + 1];
	struct test_rig rig;
	unsigned count;

	snprintf(pcap_setting, sizeof(pcap_setting), "pcap=%s", path);
	test_rig_open(&rig, &source_kernel, "rx", STREAM_NONE, settings, 64);
	test_rig_run_to_end(&rig);
	count = rte_ring_dequeue_burst(rig.output.ring, (void **)packets, TEST_RECORDS + 1, NULL);
	ck_assert_uint_eq(count, TEST_RECORDS);
	for (unsigned i = 0; i < count; i++)
		ck_assert_msg(packet_meta(packets[i])->timestamp_ns ==
				      test_seconds[i] * 1000000000ull + ns,
			      "%s (preload %d), record %u: %lu ns, expected %lu", path, preload, i,
			      (unsigned long)packet_meta(packets[i])->timestamp_ns,
			      (unsigned long)(test_seconds[i] * 1000000000ull + ns));
	rte_pktmbuf_free_bulk(packets, count);
	test_rig_close(&rig);
}

/*
 * A read error found while polling is said through kernel_fail(), written by
 * the polling thread: the init error, which only the control thread writes,
 * stays empty (before the fix the reader wrote it from the worker).
 */
START_TEST(read_error_is_a_failure_of_the_polling_thread)
{
	const char *path = write_classic("cut.pcap", false, 0);
	char pcap_setting[PATH_MAX + 8];
	const char *settings[] = {pcap_setting, NULL};
	struct rte_mbuf *packets[TEST_RECORDS];
	struct test_rig rig;
	struct stat status;
	unsigned count;

	ck_assert_int_eq(stat(path, &status), 0);
	ck_assert_int_eq(truncate(path, status.st_size - 10), 0); /* the last frame cut */
	snprintf(pcap_setting, sizeof(pcap_setting), "pcap=%s", path);
	test_rig_open(&rig, &source_kernel, "rx", STREAM_NONE, settings, 64);
	test_rig_run_to_end(&rig);
	count = rte_ring_dequeue_burst(rig.output.ring, (void **)packets, TEST_RECORDS, NULL);
	ck_assert_uint_eq(count, TEST_RECORDS - 1);
	rte_pktmbuf_free_bulk(packets, count);
	ck_assert_str_eq(rig.instance.error, "");
	ck_assert_msg(strncmp(rig.instance.failure, "read error: truncated dump file", 31) == 0,
		      "failure: '%s'", rig.instance.failure);
	ck_assert_str_eq(kernel_instance_error(&rig.instance), rig.instance.failure);
	test_rig_close(&rig);
}
END_TEST

START_TEST(pcap_microsecond_times_past_2038)
{
	const char *path = write_classic("micro.pcap", false, 123456);

	assert_record_times(path, false, 123456000);
	assert_record_times(path, true, 123456000);
}
END_TEST

START_TEST(pcap_nanosecond_times_past_2038)
{
	const char *path = write_classic("nano.pcap", true, 123456789);

	assert_record_times(path, false, 123456789);
	assert_record_times(path, true, 123456789);
}
END_TEST

START_TEST(pcapng_times_past_2038)
{
	const char *nano = write_pcapng("nano.pcapng", 9, 123456789);
	const char *micro = write_pcapng("micro.pcapng", 6, 123456);

	assert_record_times(nano, false, 123456789);
	assert_record_times(nano, true, 123456789);
	assert_record_times(micro, false, 123456000);
	assert_record_times(micro, true, 123456000);
}
END_TEST

/* ---- the mapped reader -------------------------------------------------- */

/* The bytes of @p path, read whole (the walker is tested apart from the mapping). */
static uint8_t *
read_whole(const char *path, size_t *length)
{
	FILE *file = fopen(path, "rb");
	uint8_t *bytes;

	ck_assert_ptr_nonnull(file);
	ck_assert_int_eq(fseek(file, 0, SEEK_END), 0);
	*length = (size_t)ftell(file);
	rewind(file);
	bytes = malloc(*length);
	ck_assert_ptr_nonnull(bytes);
	ck_assert_uint_eq(fread(bytes, 1, *length, file), *length);
	fclose(file);
	return bytes;
}

/* Walks @p length bytes of a test file: @return the records before the end or the error. */
static unsigned
walk(const uint8_t *bytes, size_t length, enum pcap_walk_result *last, char *error)
{
	struct pcap_walker walker;
	struct pcap_record record;
	unsigned records = 0;

	ck_assert(pcap_walker_start(&walker, bytes, length));
	while ((*last = pcap_walker_next(&walker, &record, error, 256)) == PCAP_WALK_RECORD) {
		ck_assert_uint_eq(record.captured_length, FRAME_LENGTH);
		ck_assert_uint_eq(record.time_ns, test_seconds[records] * 1000000000ull + 5000);
		records++;
	}
	return records;
}

/*
 * A file cut anywhere: the whole records before the cut, then libpcap's
 * words for what is missing (a cut header, a cut frame), or the end.
 */
START_TEST(walker_on_a_cut_file)
{
	size_t length;
	uint8_t *bytes = read_whole(write_classic("walk.pcap", false, 5), &length);
	size_t record_size = PCAP_RECORD_HEADER_SIZE + FRAME_LENGTH;
	enum pcap_walk_result last;
	char error[256];

	ck_assert_uint_eq(walk(bytes, length, &last, error), TEST_RECORDS);
	ck_assert_int_eq(last, PCAP_WALK_END);
	ck_assert_uint_eq(walk(bytes, length - 10, &last, error), TEST_RECORDS - 1);
	ck_assert_int_eq(last, PCAP_WALK_ERROR);
	ck_assert_str_eq(error, "truncated dump file; tried to read 60 captured bytes, only got 50");
	ck_assert_uint_eq(walk(bytes, length - record_size + 7, &last, error), TEST_RECORDS - 1);
	ck_assert_int_eq(last, PCAP_WALK_ERROR);
	ck_assert_str_eq(error, "truncated dump file; tried to read 16 header bytes, only got 7");
	ck_assert_uint_eq(walk(bytes, PCAP_FILE_HEADER_SIZE, &last, error), 0);
	ck_assert_int_eq(last, PCAP_WALK_END);
	free(bytes);
}
END_TEST

/* Not taken, so libpcap reads them or says why not: other versions, link types, pcapng. */
START_TEST(walker_leaves_other_files_to_libpcap)
{
	size_t length;
	uint8_t *bytes = read_whole(write_classic("other.pcap", false, 0), &length);
	struct pcap_walker walker;

	ck_assert(pcap_walker_start(&walker, bytes, length));
	ck_assert(!pcap_walker_start(&walker, bytes, PCAP_FILE_HEADER_SIZE - 1));
	bytes[6] = 3; /* version 2.3: caplen and len may be swapped */
	ck_assert(!pcap_walker_start(&walker, bytes, length));
	bytes[6] = 4;
	bytes[20] = 113; /* Linux cooked capture */
	ck_assert(!pcap_walker_start(&walker, bytes, length));
	bytes[20] = 1;
	bytes[23] = 0x10; /* FCS bits in the link type */
	ck_assert(!pcap_walker_start(&walker, bytes, length));
	free(bytes);
	bytes = read_whole(write_pcapng("other.pcapng", 9, 0), &length);
	ck_assert(!pcap_walker_start(&walker, bytes, length));
	free(bytes);
}
END_TEST

/*
 * Reads the mapped file @p path through a source to its end, closes the
 * source and returns its packets in @p packets (TEST_RECORDS of them).
 */
static void
read_mapped_then_close(const char *path, struct rte_mbuf **packets)
{
	char pcap_setting[PATH_MAX + 8];
	const char *settings[] = {pcap_setting, NULL};
	struct kernel_stat stats[KERNEL_MAX_STATS];
	struct test_rig rig;
	unsigned count, stat_count;
	bool mapped = false;

	snprintf(pcap_setting, sizeof(pcap_setting), "pcap=%s", path);
	test_rig_open(&rig, &source_kernel, "rx", STREAM_NONE, settings, 64);
	test_rig_run_to_end(&rig);
	stat_count = source_kernel.stats(&rig.instance, stats);
	for (unsigned i = 0; i < stat_count; i++)
		mapped |= strcmp(stats[i].name, "mapped_files") == 0 && stats[i].value == 1;
	ck_assert_msg(mapped, "the file was not mapped");
	count = rte_ring_dequeue_burst(rig.output.ring, (void **)packets, TEST_RECORDS + 1, NULL);
	ck_assert_uint_eq(count, TEST_RECORDS);
	test_rig_close(&rig); /* the reader lets go first */
}

/* Every byte of @p packet is the test frame's, in one mbuf of @p frame_length. */
static void
assert_test_frame(const struct rte_mbuf *packet, uint32_t frame_length)
{
	const uint8_t *bytes = rte_pktmbuf_mtod(packet, const uint8_t *);

	ck_assert_uint_eq(packet->nb_segs, 1);
	ck_assert_uint_eq(rte_pktmbuf_data_len(packet), frame_length);
	ck_assert_uint_eq(rte_pktmbuf_pkt_len(packet), frame_length);
	for (uint32_t i = 0; i < frame_length; i++)
		ck_assert_uint_eq(bytes[i], frame_byte(i));
}

/*
 * An mbuf attached to the mapping outlives the reader: the file is unmapped
 * when the last one is freed (the sanitized run sees a leak or a use after
 * unmap), and the frame bytes are the file's, in one mbuf.
 */
START_TEST(mapped_packets_outlive_the_reader)
{
	const uint32_t frame_length = 129; /* one byte over the copy limit */
	struct rte_mbuf *packets[TEST_RECORDS + 1];

	read_mapped_then_close(write_classic_frames("held.pcap", false, 0, frame_length), packets);
	for (unsigned i = 0; i < TEST_RECORDS; i++) {
		ck_assert(RTE_MBUF_HAS_EXTBUF(packets[i]));
		assert_test_frame(packets[i], frame_length);
	}
	rte_pktmbuf_free_bulk(packets, TEST_RECORDS);
}
END_TEST

/* Frames of 128 bytes or fewer are copied out of the mapping: the mbuf's own bytes. */
START_TEST(small_mapped_frames_are_copied)
{
	const uint32_t frame_length = 128;
	struct rte_mbuf *packets[TEST_RECORDS + 1];

	read_mapped_then_close(write_classic_frames("small.pcap", false, 0, frame_length), packets);
	for (unsigned i = 0; i < TEST_RECORDS; i++) {
		ck_assert(!RTE_MBUF_HAS_EXTBUF(packets[i]));
		assert_test_frame(packets[i], frame_length);
	}
	rte_pktmbuf_free_bulk(packets, TEST_RECORDS);
}
END_TEST

/* ---- --check and start errors ------------------------------------------ */

static struct config_errors errors; /* static: large */

#define SOURCE_PIPELINE(source_line) \
	"version: 1\n"                   \
	"kernels:\n"                     \
	"  rx:\n"                        \
	"    type: source\n"             \
	"    " source_line "\n"          \
	"  count:\n"                     \
	"    type: per_src_counter\n"    \
	"    input: rx\n"                \
	"    window: total\n"            \
	"  out:\n"                       \
	"    type: sink\n"               \
	"    input: count\n"             \
	"    path: \"-\"\n"

/* pipe.yaml with @p text: its one error must read exactly `pipe.yaml:5:11: error: @p message`. */
static void
assert_check_error(const char *text, const char *message)
{
	char path[PATH_MAX + 64], expected[1024];
	const char *pipelines[1];
	struct config *config;

	snprintf(path, sizeof(path), "%s", test_write_file("pipe.yaml", text));
	pipelines[0] = path;
	memset(&errors, 0, sizeof(errors));
	config = config_load(NULL, pipelines, 1, &errors);
	config_free(config);
	ck_assert_ptr_null(config);
	ck_assert_uint_eq(errors.count, 1);
	snprintf(expected, sizeof(expected), "%s", message);
	ck_assert_str_eq(errors.items[0].message, expected);
	ck_assert_str_eq(errors.items[0].position.file, path);
	ck_assert_uint_eq(errors.items[0].position.line, 5);
	ck_assert_uint_eq(errors.items[0].position.column, 11);
}

/* Runs in the test directory: pipelines name their inputs relatively, as users do. */
static char previous_directory[PATH_MAX];

static void
check_setup(void)
{
	files_setup();
	ck_assert_ptr_nonnull(getcwd(previous_directory, sizeof(previous_directory)));
	ck_assert_int_eq(chdir(test_directory()), 0);
}

static void
check_teardown(void)
{
	ck_assert_int_eq(chdir(previous_directory), 0);
	files_teardown();
}

START_TEST(check_refuses_a_directory)
{
	ck_assert_int_eq(mkdir("captures", 0700), 0);
	assert_check_error(SOURCE_PIPELINE("pcap: captures"),
			   "'captures' is a directory: `pcap:` takes a pcap or pcapng file");
}
END_TEST

START_TEST(check_refuses_a_fifo_without_blocking)
{
	ck_assert_int_eq(mkfifo("live.pcap", 0600), 0);
	/* a blocking open would never return: no writer ever comes */
	assert_check_error(SOURCE_PIPELINE("pcap: live.pcap"),
			   "'live.pcap' is a FIFO (reading one would block): `pcap:` takes a pcap "
			   "or pcapng file");
}
END_TEST

START_TEST(check_refuses_what_is_not_a_capture)
{
	FILE *cut;

	test_write_file("notes.pcap", "hello\n");
	assert_check_error(SOURCE_PIPELINE("pcap: notes.pcap"),
			   "'notes.pcap' is not a pcap or pcapng file: unknown file format");
	test_write_file("empty.pcap", "");
	assert_check_error(SOURCE_PIPELINE("pcap: empty.pcap"),
			   "'empty.pcap' is empty: `pcap:` takes a pcap or pcapng file");
	test_write_file("tiny.pcap", "\xd4\xc3");
	assert_check_error(SOURCE_PIPELINE("pcap: tiny.pcap"),
			   "'tiny.pcap' is too short for a capture file header: `pcap:` takes a "
			   "pcap or pcapng file");
	cut = fopen("cut.pcap", "wb"); /* the magic, the version, half a time zone */
	put_32(cut, 0xa1b2c3d4u);
	put_16(cut, 2);
	put_16(cut, 4);
	put_16(cut, 0);
	fclose(cut);
	assert_check_error(SOURCE_PIPELINE("pcap: cut.pcap"),
			   "'cut.pcap' is not a pcap or pcapng file: truncated dump file; tried to "
			   "read 24 file header bytes, only got 6");
	assert_check_error(SOURCE_PIPELINE("pcap: absent.pcap"),
			   "cannot read 'absent.pcap': No such file or directory");
}
END_TEST

START_TEST(check_refuses_a_link_type_the_reader_does_not_take)
{
	/* linktype 101: raw IP */
	FILE *file = fopen("raw.pcap", "wb");

	put_32(file, 0xa1b2c3d4u);
	put_16(file, 2);
	put_16(file, 4);
	put_32(file, 0);
	put_32(file, 0);
	put_32(file, 65535);
	put_32(file, 101);
	fclose(file);
	assert_check_error(SOURCE_PIPELINE("pcap: raw.pcap"),
			   "'raw.pcap': link type RAW is not supported (Ethernet only)");
}
END_TEST

START_TEST(check_parses_device_strings_as_eal)
{
	assert_check_error(SOURCE_PIPELINE("port: net_nosuchdriver0,iface=eth1"),
			   "DPDK cannot parse device 'net_nosuchdriver0,iface=eth1': write a PCI "
			   "address (0000:3b:00.0) or a vdev string with a known driver "
			   "(net_af_packet0,iface=eth1)");
	assert_check_error(SOURCE_PIPELINE("port: 0000:zz:00.0"),
			   "DPDK cannot parse device '0000:zz:00.0': write a PCI address "
			   "(0000:3b:00.0) or a vdev string with a known driver "
			   "(net_af_packet0,iface=eth1)");
}
END_TEST

START_TEST(check_accepts_what_the_start_opens)
{
	const char *pipelines[1];
	struct config *config;

	write_classic("good.pcap", false, 0);
	write_pcapng("good.pcapng", 9, 0);
	pipelines[0] = test_write_file("pipe.yaml", SOURCE_PIPELINE("pcap: good.pcap"));
	config = config_load(NULL, pipelines, 1, &errors);
	ck_assert_ptr_nonnull(config);
	config_free(config);
	pipelines[0] = test_write_file("pipe.yaml", SOURCE_PIPELINE("pcap: good.pcapng"));
	config = config_load(NULL, pipelines, 1, &errors);
	ck_assert_ptr_nonnull(config);
	config_free(config);
	pipelines[0] = test_write_file("pipe.yaml", SOURCE_PIPELINE("port: net_null0"));
	config = config_load(NULL, pipelines, 1, &errors);
	ck_assert_ptr_nonnull(config);
	config_free(config);
	pipelines[0] = test_write_file("pipe.yaml", SOURCE_PIPELINE("port: \"0000:3b:00.0\""));
	config = config_load(NULL, pipelines, 1, &errors);
	ck_assert_ptr_nonnull(config);
	config_free(config);
}
END_TEST

/* A file gone between the check and the start: the start's error is at `pcap:`. */
START_TEST(start_failure_is_at_the_key)
{
	static struct graph_layout layout;
	char path[PATH_MAX + 64], message[512], expected[1024];
	const char *pipelines[1];
	struct graph *graph = NULL;
	struct config *config;

	write_classic("gone.pcap", false, 0);
	snprintf(path, sizeof(path), "%s", test_write_file("pipe.yaml",
							   SOURCE_PIPELINE("pcap: gone.pcap")));
	pipelines[0] = path;
	config = config_load(NULL, pipelines, 1, &errors);
	ck_assert_ptr_nonnull(config);
	ck_assert_int_eq(unlink("gone.pcap"), 0);
	layout = (struct graph_layout){.mempool = test_mempool(), .main_lcore = rte_get_main_lcore(),
				       .worker_count = 1, .worker_lcores = {1}, .ring_size = 64};
	ck_assert_int_eq(graph_build(config, &layout, &graph, message, sizeof(message)),
			 GRAPH_CONFIG_ERROR);
	ck_assert_ptr_null(graph);
	snprintf(expected, sizeof(expected),
		 "%s:5:11: error: kernel 'rx': cannot read 'gone.pcap': No such file or directory",
		 path);
	ck_assert_str_eq(message, expected);
	config_free(config);
}
END_TEST

/* ---- pcap: lists and globs ---------------------------------------------- */

/* The expanded files of the `pcap:` texts @p texts (NUL-separated, ended by an empty one). */
static void
assert_expands_to(const char *texts, const char *const *expected, unsigned expected_count)
{
	struct source_pcap_files files;
	char error[256] = "";

	ck_assert_msg(source_pcap_files_expand(texts, &files, error, sizeof(error)) == 0, "%s",
		      error);
	ck_assert_uint_eq(files.count, expected_count);
	for (unsigned i = 0; i < expected_count; i++)
		ck_assert_str_eq(files.paths[i], expected[i]);
	source_pcap_files_free(&files);
}

/* Globs in name order, each entry as written, duplicates kept, `[` in a file's own name. */
START_TEST(expansion_of_lists_and_globs)
{
	struct source_pcap_files files;
	char error[256];

	test_write_file("eth1-0002.pcap", "");
	test_write_file("eth1-0010.pcap", "");
	test_write_file("eth1-0001.pcap", "");
	test_write_file("odd[1].pcap", "");
	assert_expands_to("eth1-*.pcap\0",
			  (const char *const[]){"eth1-0001.pcap", "eth1-0002.pcap", "eth1-0010.pcap"},
			  3);
	assert_expands_to("eth1-0002.pcap\0eth1-000?.pcap\0odd[1].pcap\0",
			  (const char *const[]){"eth1-0002.pcap", "eth1-0001.pcap", "eth1-0002.pcap",
						"odd[1].pcap"}, 4);
	assert_expands_to("missing.pcap\0", (const char *const[]){"missing.pcap"}, 1);
	ck_assert_int_eq(source_pcap_files_expand("eth1-0001.pcap\0none-*.pcap\0", &files, error,
						  sizeof(error)), -EINVAL);
	ck_assert_str_eq(error, "'none-*.pcap' matches no file");
	ck_assert_uint_eq(files.count, 0);
}
END_TEST

START_TEST(check_refuses_a_glob_matching_nothing)
{
	assert_check_error(SOURCE_PIPELINE("pcap: [none-*.pcap]"),
			   "'none-*.pcap' matches no file");
	assert_check_error(SOURCE_PIPELINE("pcap: []"), "'pcap' is an empty list");
}
END_TEST

/* An empty entry would have ended the stored list there: the files after it were dropped. */
START_TEST(check_refuses_an_empty_list_entry)
{
	const char *pipelines[] = {test_write_file("pipe.yaml",
						   SOURCE_PIPELINE("pcap: [\"\", a.pcap]"))};
	struct config *config;

	memset(&errors, 0, sizeof(errors));
	config = config_load(NULL, pipelines, 1, &errors);
	config_free(config);
	ck_assert_ptr_null(config);
	ck_assert_uint_eq(errors.count, 1);
	ck_assert_str_eq(errors.items[0].message, "entries of 'pcap' are single texts, not empty");
	ck_assert_uint_eq(errors.items[0].position.line, 5);
	ck_assert_uint_eq(errors.items[0].position.column, 12);
}
END_TEST

Suite *
source_suite(void)
{
	Suite *suite = suite_create("source");
	TCase *times = tcase_create("times");
	TCase *check = tcase_create("check");

	tcase_add_checked_fixture(times, files_setup, files_teardown);
	tcase_add_test(times, pcap_microsecond_times_past_2038);
	tcase_add_test(times, read_error_is_a_failure_of_the_polling_thread);
	tcase_add_test(times, pcap_nanosecond_times_past_2038);
	tcase_add_test(times, pcapng_times_past_2038);
	tcase_add_test(times, walker_on_a_cut_file);
	tcase_add_test(times, walker_leaves_other_files_to_libpcap);
	tcase_add_test(times, mapped_packets_outlive_the_reader);
	tcase_add_test(times, small_mapped_frames_are_copied);
	suite_add_tcase(suite, times);
	tcase_add_checked_fixture(check, check_setup, check_teardown);
	tcase_add_test(check, check_refuses_a_directory);
	tcase_add_test(check, check_refuses_a_fifo_without_blocking);
	tcase_add_test(check, check_refuses_what_is_not_a_capture);
	tcase_add_test(check, check_refuses_a_link_type_the_reader_does_not_take);
	tcase_add_test(check, check_parses_device_strings_as_eal);
	tcase_add_test(check, check_accepts_what_the_start_opens);
	tcase_add_test(check, start_failure_is_at_the_key);
	tcase_add_test(check, expansion_of_lists_and_globs);
	tcase_add_test(check, check_refuses_a_glob_matching_nothing);
	tcase_add_test(check, check_refuses_an_empty_list_entry);
	suite_add_tcase(suite, check);
	return suite;
}
