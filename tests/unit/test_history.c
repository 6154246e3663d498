/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The history kernel's ring (kernels/history_ring.h): wrap-around, records
 * that do not fit at a chunk's end, finding a time, overwrites counted, and a
 * reader racing the appender (recycles detected, never a torn record). And
 * the pcapng writer (outputs/pcapng_writer.h), read back with libpcap at
 * nanosecond precision.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <pcap/pcap.h>

#include "kernels/history.h"
#include "kernels/history_ring.h"
#include "outputs/pcapng_writer.h"
#include "packet.h"
#include "suites.h"
#include "test_rig.h"

/* The bytes of packet @p number: a pattern a torn copy would break. */
static void
fill_pattern(uint64_t number, uint8_t *data, uint32_t length)
{
	for (uint32_t i = 0; i < length; i++)
		data[i] = (uint8_t)(number * 31 + i);
}

static bool
pattern_holds(uint64_t number, const uint8_t *data, uint32_t length)
{
	for (uint32_t i = 0; i < length; i++)
		if (data[i] != (uint8_t)(number * 31 + i))
			return false;
	return true;
}

/* Append packet @p number: time 1000 * number, wire length 1000 + number, @p length bytes. */
static void
append_numbered(struct history_ring *ring, uint64_t number, uint32_t length)
{
	uint8_t data[256];

	fill_pattern(number, data, length);
	history_ring_append(ring, 1000 * number, 1000 + (uint32_t)number, data, length);
}

/* A ring of 8 chunks of 128 bytes (snaplen 64: its largest record is 80 bytes). */
static void
small_ring(struct history_ring *ring)
{
	char error[256];

	ck_assert_int_eq(history_ring_create(ring, 1024, 64, error, sizeof(error)), 0);
	ck_assert_uint_eq(ring->chunk_size, 128);
	ck_assert_uint_eq(ring->chunk_count, 8);
}

/*
 * Read everything after @p cursor; check each record is whole and numbered
 * one after the other. @return records read; *first: the first one's number.
 */
static uint64_t
read_all(struct history_ring *ring, struct history_cursor *cursor, uint64_t *first, uint64_t *lost)
{
	uint8_t buffer[128];
	uint64_t count = 0, expected = 0;

	*lost = 0;
	for (;;) {
		struct history_read read = history_ring_read(ring, cursor, buffer, sizeof(buffer));

		*lost += read.lost;
		if (read.length == 0 && read.lost == 0)
			return count;
		for (uint32_t offset = 0; offset < read.length;) {
			const struct history_record *record = history_record_at(buffer, offset);
			uint64_t number = record->timestamp_ns / 1000;

			if (count == 0)
				*first = expected = number;
			ck_assert_uint_eq(number, expected);
			ck_assert_uint_eq(record->wire_length, 1000 + number);
			ck_assert(pattern_holds(number, record->data, record->captured_length));
			offset += history_record_size(record->captured_length);
			expected++;
			count++;
		}
	}
}

START_TEST(wrap_around_keeps_the_newest_and_counts_the_overwritten)
{
	struct history_ring ring;
	struct history_cursor cursor;
	struct history_seek seek;
	uint64_t first = 0, lost = 0, read;

	small_ring(&ring);
	/* 20 captured bytes: 40-byte records, 3 a chunk */
	for (uint64_t number = 0; number < 100; number++)
		append_numbered(&ring, number, 20);
	ck_assert_uint_eq(atomic_load(&ring.appended), 100);
	ck_assert_uint_eq(atomic_load(&ring.held_packets) + atomic_load(&ring.overwritten), 100);
	/* 100 records fill 34 chunks; the 8 newest are held: 7 whole (21) and 1 record */
	ck_assert_uint_eq(atomic_load(&ring.held_packets), 22);
	ck_assert_uint_eq(atomic_load(&ring.overwritten), 78);
	ck_assert_uint_eq(atomic_load(&ring.held_bytes), 22 * 40);
	history_ring_seek(&ring, 0, &cursor, &seek);
	ck_assert(seek.start_lost);
	ck_assert_uint_eq(seek.oldest_ns, 78 * 1000);
	ck_assert_uint_eq(history_ring_oldest_ns(&ring), 78 * 1000);
	read = read_all(&ring, &cursor, &first, &lost);
	ck_assert_uint_eq(first, 78);
	ck_assert_uint_eq(read, 22);
	ck_assert_uint_eq(lost, 0);
	history_ring_free(&ring);
}
END_TEST

START_TEST(records_that_do_not_fit_start_the_next_chunk)
{
	struct history_ring ring;
	struct history_cursor cursor;
	struct history_seek seek;
	uint64_t first = 0, lost = 0;
	/* 56-, 80- and 24-byte records: most chunks end with a gap (10 records in 6 chunks) */
	static const uint32_t lengths[] = {40, 64, 8, 64, 64, 1, 33};

	small_ring(&ring);
	for (uint64_t number = 0; number < 10; number++)
		append_numbered(&ring, number, lengths[number % 7]);
	ck_assert_uint_eq(atomic_load(&ring.overwritten), 0);
	for (uint32_t chunk = 0; chunk < ring.chunk_count; chunk++)
		ck_assert_uint_le((uint32_t)atomic_load(&ring.chunks[chunk].level), ring.chunk_size);
	history_ring_seek(&ring, 0, &cursor, &seek);
	ck_assert(!seek.start_lost);
	ck_assert_uint_eq(read_all(&ring, &cursor, &first, &lost), 10);
	ck_assert_uint_eq(first, 0);
	/* a frame longer than the snaplen keeps snaplen bytes and its wire length */
	ck_assert_uint_eq(history_ring_captured_length(&ring, 1500), 64);
	history_ring_free(&ring);
}
END_TEST

START_TEST(seek_finds_the_chunk_of_a_time)
{
	struct history_ring ring;
	struct history_cursor cursor;
	struct history_seek seek;
	uint64_t first = 0, lost = 0;

	small_ring(&ring);
	for (uint64_t number = 0; number < 20; number++)
		append_numbered(&ring, number, 20);
	/* packet 10 (time 10000) is the second of chunk 3 (packets 9, 10, 11) */
	history_ring_seek(&ring, 10000, &cursor, &seek);
	ck_assert(!seek.start_lost);
	ck_assert_uint_eq(cursor.serial, 3);
	ck_assert_uint_eq(cursor.index, 9);
	ck_assert_uint_eq(read_all(&ring, &cursor, &first, &lost), 11);
	ck_assert_uint_eq(first, 9);
	/* after the newest: the head, nothing to read yet; then the next packet */
	history_ring_seek(&ring, 50000, &cursor, &seek);
	ck_assert_uint_eq(cursor.serial, 6);
	ck_assert_uint_eq(read_all(&ring, &cursor, &first, &lost), 2);
	ck_assert_uint_eq(first, 18);
	append_numbered(&ring, 20, 20);
	ck_assert_uint_eq(read_all(&ring, &cursor, &first, &lost), 1);
	ck_assert_uint_eq(first, 20);
	history_ring_free(&ring);
}
END_TEST

START_TEST(a_recycled_chunk_is_skipped_and_its_packets_counted)
{
	struct history_ring ring;
	struct history_cursor cursor;
	struct history_seek seek;
	uint64_t first = 0, lost = 0;

	small_ring(&ring);
	for (uint64_t number = 0; number < 6; number++)
		append_numbered(&ring, number, 20);
	history_ring_seek(&ring, 0, &cursor, &seek);
	ck_assert_uint_eq(cursor.serial, 0);
	/* the reader waits at chunk 0 while 8 more chunks are filled: 0 and 1 are recycled */
	for (uint64_t number = 6; number < 30; number++)
		append_numbered(&ring, number, 20);
	ck_assert_uint_eq(atomic_load(&ring.overwritten), 6);
	ck_assert_uint_eq(read_all(&ring, &cursor, &first, &lost), 24);
	ck_assert_uint_eq(lost, 6);
	ck_assert_uint_eq(first, 6);
	history_ring_free(&ring);
}
END_TEST

struct race {
	struct history_ring ring;
	atomic_bool done;
	uint64_t packets;
};

static void *
append_fast(void *argument)
{
	struct race *race = argument;

	for (uint64_t number = 0; number < race->packets; number++)
		append_numbered(&race->ring, number, (uint32_t)(number % 64) + 1);
	atomic_store(&race->done, true);
	return NULL;
}

/*
 * The appender runs flat out while the reader copies: every record the reader
 * gets is whole (its pattern holds), numbers run on, and what it missed is
 * exactly what it was told was lost.
 */
START_TEST(a_reader_racing_the_appender_never_gets_a_torn_record)
{
	struct race race = {.packets = 4000000};
	struct history_cursor cursor;
	struct history_seek seek;
	uint8_t *buffer;
	uint64_t expected = 0, got = 0, lost = 0;
	pthread_t appender;
	char error[256];

	/*
	 * Two chunks of 64 KiB (snaplen 0): the appender recycles the chunk the
	 * reader copies every few tens of microseconds, while a copy takes a few.
	 */
	ck_assert_int_eq(history_ring_create(&race.ring, 131200, 0, error, sizeof(error)), 0);
	ck_assert_uint_eq(race.ring.chunk_count, 2);
	buffer = malloc(race.ring.chunk_size);
	history_ring_seek(&race.ring, 0, &cursor, &seek);
	ck_assert_int_eq(pthread_create(&appender, NULL, append_fast, &race), 0);
	for (;;) {
		bool finished = atomic_load(&race.done);
		struct history_read read =
			history_ring_read(&race.ring, &cursor, buffer, race.ring.chunk_size);

		lost += read.lost;
		expected += read.lost;
		for (uint32_t offset = 0; offset < read.length;) {
			const struct history_record *record = history_record_at(buffer, offset);
			uint64_t number = record->timestamp_ns / 1000;

			ck_assert_uint_eq(number, expected);
			ck_assert_uint_eq(record->captured_length, number % 64 + 1);
			ck_assert(pattern_holds(number, record->data, record->captured_length));
			offset += history_record_size(record->captured_length);
			expected++;
			got++;
		}
		if (finished && read.length == 0 && read.lost == 0)
			break;
		/* fall behind, so the next copy is of a whole older chunk, often while recycled */
		if (!finished)
			usleep(20);
	}
	pthread_join(appender, NULL);
	ck_assert_uint_eq(got + lost, race.packets);
	ck_assert_uint_gt(got, 0);
	free(buffer);
	history_ring_free(&race.ring);
}
END_TEST

START_TEST(create_refuses_memory_below_two_chunks)
{
	struct history_ring ring;
	char error[256];

	ck_assert_int_eq(history_ring_create(&ring, 100000, 0, error, sizeof(error)), -EINVAL);
	ck_assert_str_eq(error, "100000 bytes cannot hold two chunks of 65600 bytes (the largest "
				"record with snaplen 65535); give at least 131200");
	ck_assert_uint_eq(history_ring_minimum_memory(0), 131200);
	ck_assert_uint_eq(history_ring_minimum_memory(64), 256);
}
END_TEST

START_TEST(pcapng_files_read_back_with_nanosecond_times)
{
	char directory[] = "/tmp/jetstream-pcapng.XXXXXX";
	char path[256], part[300], error[512];
	struct pcapng_writer writer;
	uint8_t frame[60];
	struct pcap_pkthdr *header;
	const u_char *data;
	char pcap_error[PCAP_ERRBUF_SIZE];
	pcap_t *pcap;

	ck_assert_ptr_nonnull(mkdtemp(directory));
	snprintf(path, sizeof(path), "%s/dump.pcapng", directory);
	snprintf(part, sizeof(part), "%s.part", path);
	ck_assert_int_eq(pcapng_writer_open(&writer, path, 128, "opening", error, sizeof(error)), 0);
	ck_assert_int_eq(access(part, F_OK), 0);
	for (uint32_t i = 0; i < 3; i++) {
		fill_pattern(i, frame, sizeof(frame));
		ck_assert_int_eq(pcapng_writer_packet(&writer, 1451606403000000000ull + 123456789 * i,
						      1500 + i, frame, sizeof(frame) - i),
				 0);
	}
	ck_assert_int_eq(pcapng_writer_close(&writer, "outcome: done", error, sizeof(error)), 0);
	ck_assert_int_eq(access(part, F_OK), -1);

	pcap = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, pcap_error);
	ck_assert_msg(pcap != NULL, "%s", pcap_error);
	ck_assert_int_eq(pcap_datalink(pcap), DLT_EN10MB);
	ck_assert_int_eq(pcap_snapshot(pcap), 128);
	for (uint32_t i = 0; i < 3; i++) {
		uint64_t time = 1451606403000000000ull + 123456789 * i;

		ck_assert_int_eq(pcap_next_ex(pcap, &header, &data), 1);
		ck_assert_uint_eq((uint64_t)header->ts.tv_sec, time / 1000000000);
		ck_assert_uint_eq((uint64_t)header->ts.tv_usec, time % 1000000000); /* ns here */
		ck_assert_uint_eq(header->len, 1500 + i);
		ck_assert_uint_eq(header->caplen, sizeof(frame) - i);
		ck_assert(pattern_holds(i, data, header->caplen));
	}
	ck_assert_int_eq(pcap_next_ex(pcap, &header, &data), PCAP_ERROR_BREAK);
	pcap_close(pcap);

	/* an existing file is never overwritten */
	ck_assert_int_eq(pcapng_writer_open(&writer, path, 0, "again", error, sizeof(error)), -EEXIST);
	ck_assert_int_eq(access(part, F_OK), -1);
	unlink(path);
	rmdir(directory);
}
END_TEST

/* The closing comment replaces the opening one in place: read the SHB's comment option. */
START_TEST(pcapng_comment_is_rewritten_at_close)
{
	char directory[] = "/tmp/jetstream-pcapng.XXXXXX";
	char path[256], error[512], comment[64] = {0};
	struct pcapng_writer writer;
	uint16_t option[2];
	FILE *file;

	ck_assert_ptr_nonnull(mkdtemp(directory));
	snprintf(path, sizeof(path), "%s/dump.pcapng", directory);
	ck_assert_int_eq(pcapng_writer_open(&writer, path, 0, "outcome: still being written",
					    error, sizeof(error)),
			 0);
	ck_assert_int_eq(pcapng_writer_close(&writer, "outcome: cut", error, sizeof(error)), 0);
	file = fopen(path, "rb");
	ck_assert_ptr_nonnull(file);
	ck_assert_int_eq(fseek(file, 24, SEEK_SET), 0);
	ck_assert_uint_eq(fread(option, sizeof(option), 1, file), 1);
	ck_assert_uint_eq(option[0], 1); /* opt_comment */
	ck_assert_uint_eq(option[1], strlen("outcome: cut"));
	ck_assert_uint_eq(fread(comment, 1, option[1], file), option[1]);
	ck_assert_str_eq(comment, "outcome: cut");
	fclose(file);
	unlink(path);
	rmdir(directory);
}
END_TEST

/* ---- the kernel, through the test rig ------------------------------------ */

/* An Ethernet + IPv4 + UDP frame of @p length bytes from @p source to @p destination. */
static void
make_frame(uint8_t *frame, uint32_t length, const char *source, const char *destination,
	   uint8_t tag)
{
	uint8_t address[16];

	memset(frame, tag, length);
	frame[12] = 0x08, frame[13] = 0x00;                       /* IPv4 */
	frame[14] = 0x45, frame[15] = 0;                          /* version 4, IHL 5 */
	frame[16] = (uint8_t)((length - 14) >> 8), frame[17] = (uint8_t)(length - 14);
	frame[20] = frame[21] = 0;                                /* not a fragment */
	frame[22] = 64, frame[23] = 17;                           /* TTL, UDP */
	test_address(source, address);
	memcpy(frame + 26, address + 12, 4);
	test_address(destination, address);
	memcpy(frame + 30, address + 12, 4);
	frame[34] = 0x30, frame[35] = 0x39, frame[36] = 0, frame[37] = 53; /* ports 12345 -> 53 */
	frame[38] = (uint8_t)((length - 34) >> 8), frame[39] = (uint8_t)(length - 34);
}

/*
 * Send one frame at @p time_ns, in two chained segments when @p chained (the
 * history copies both), with its metadata parsed as a source would.
 */
static void
send_frame(struct test_rig *rig, const uint8_t *frame, uint32_t length, uint64_t time_ns,
	   bool chained)
{
	struct rte_mbuf *packet = test_rig_new_packet(rig);
	uint32_t first = chained ? length / 2 : length;

	memcpy(rte_pktmbuf_append(packet, (uint16_t)first), frame, first);
	if (chained) {
		struct rte_mbuf *tail = test_rig_new_packet(rig);

		memcpy(rte_pktmbuf_append(tail, (uint16_t)(length - first)), frame + first,
		       length - first);
		ck_assert_int_eq(rte_pktmbuf_chain(packet, tail), 0);
	}
	packet_parse(frame, length, packet_meta(packet));
	packet_meta(packet)->timestamp_ns = time_ns;
	packet_meta(packet)->wire_length = length;
	test_rig_send(rig, packet);
}

/* What history emitted: packets, freed here (counted in rig_output_packets). */
static unsigned rig_output_packets;

static void
free_output(struct test_rig *rig)
{
	struct rte_mbuf *packets[32];
	unsigned count;

	while ((count = rte_ring_dequeue_burst(rig->output.ring, (void **)packets, 32, NULL)) > 0) {
		rig_output_packets += count;
		rte_pktmbuf_free_bulk(packets, count);
	}
}

/* Close the inputs and poll until the instance (and its writer thread) finished. */
static void
run_until_finished(struct test_rig *rig)
{
	test_rig_close_inputs(rig);
	for (unsigned round = 0; round < 5000 && !test_rig_poll(rig); round++) {
		free_output(rig);
		usleep(1000);
	}
	free_output(rig);
	ck_assert(kernel_is_finished(&rig->instance));
}

/* The frames of a pcapng file, in order: their times, lengths and first bytes. */
static unsigned
read_dump(const char *path, uint64_t *times, uint32_t *lengths, uint8_t (*bytes)[128],
	  unsigned most)
{
	char error[PCAP_ERRBUF_SIZE];
	pcap_t *pcap = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO,
								error);
	struct pcap_pkthdr *header;
	const u_char *data;
	unsigned count = 0;

	ck_assert_msg(pcap != NULL, "%s", error);
	while (count < most && pcap_next_ex(pcap, &header, &data) == 1) {
		times[count] = (uint64_t)header->ts.tv_sec * 1000000000 + (uint64_t)header->ts.tv_usec;
		lengths[count] = header->len;
		ck_assert_uint_eq(header->caplen, header->len);
		memcpy(bytes[count], data, header->caplen < 128 ? header->caplen : 128);
		count++;
	}
	pcap_close(pcap);
	return count;
}

/*
 * Packets pass through unchanged and are held (chained ones whole); a dump
 * asked by the control thread holds the held packets its filter takes, with
 * their times and lengths, and is DONE once the input ended.
 */
START_TEST(a_control_dump_writes_the_held_packets_its_filter_takes)
{
	char directory[] = "/tmp/jetstream-history.XXXXXX";
	char setting[128], path[4096], error[256], file[4200];
	const char *settings[] = {setting, "memory=1M", NULL};
	struct history_dump_request request = {.filter = "udp and dst host 192.0.2.9",
					       .before_ns = 5000, .after_ns = 0};
	struct history_dump_status status;
	uint64_t times[8], dump_id = 0;
	uint32_t lengths[8];
	uint8_t bytes[8][128], frame[120];
	struct test_rig rig;

	ck_assert_ptr_nonnull(mkdtemp(directory));
	snprintf(setting, sizeof(setting), "dump_dir=%s", directory);
	test_rig_open(&rig, &history_kernel, "cap", STREAM_PACKET, settings, 64);
	rig_output_packets = 0;
	for (unsigned i = 0; i < 6; i++) {
		make_frame(frame, 100 + i, "198.51.100.1", i % 2 ? "192.0.2.9" : "192.0.2.7",
			   (uint8_t)i);
		send_frame(&rig, frame, 100 + i, 10000 + 1000 * i, i == 3);
	}
	test_rig_consume_input(&rig, true);
	free_output(&rig);
	ck_assert_uint_eq(rig_output_packets, 6);
	ck_assert_uint_eq(test_rig_stat(&rig, "held_packets"), 6);
	ck_assert_uint_eq(test_rig_stat(&rig, "held_span_ns"), 5000);

	/* T = the newest held packet (15000): [10000, 15000]; the odd ones go to 192.0.2.9 */
	ck_assert_int_eq(history_dump_start(&rig.instance, &request, &dump_id, path, sizeof(path),
					    error, sizeof(error)),
			 0);
	ck_assert_uint_gt(dump_id, 0);
	snprintf(file, sizeof(file), "%s/cap-19700101T000000.000015000Z-dump%" PRIu64 ".pcapng",
		 directory, dump_id);
	ck_assert_str_eq(path, file);
	ck_assert_int_eq(history_dump_status(&rig.instance, dump_id, &status), 0);
	ck_assert_int_eq(history_dump_status(&rig.instance, dump_id + 1, &status), -ENOENT);

	/* a bad filter, a path that exists */
	request.filter = "udp and and";
	ck_assert_int_eq(history_dump_start(&rig.instance, &request, &dump_id, path, sizeof(path),
					    error, sizeof(error)),
			 -EINVAL);
	request.filter = "";
	request.path = file;
	ck_assert_int_eq(history_dump_start(&rig.instance, &request, &dump_id, path, sizeof(path),
					    error, sizeof(error)),
			 -EEXIST);

	run_until_finished(&rig);
	ck_assert_int_eq(history_dump_status(&rig.instance, dump_id, &status), 0);
	ck_assert_int_eq(status.state, HISTORY_DUMP_DONE);
	ck_assert_uint_eq(status.packets, 3);
	ck_assert_uint_eq(status.overwritten, 0);
	ck_assert_str_eq(status.reason, "the input ended");
	ck_assert_uint_eq(read_dump(file, times, lengths, bytes, 8), 3);
	for (unsigned i = 0; i < 3; i++) {
		unsigned sent = 2 * i + 1;

		make_frame(frame, 100 + sent, "198.51.100.1", "192.0.2.9", (uint8_t)sent);
		ck_assert_uint_eq(times[i], 10000 + 1000 * sent);
		ck_assert_uint_eq(lengths[i], 100 + sent);
		ck_assert_mem_eq(bytes[i], frame, 100 + sent); /* packet 3 came in two segments */
	}
	test_rig_close(&rig);
	unlink(file);
	rmdir(directory);
}
END_TEST

static void
send_alert(struct kernel_ring *ring, const char *destination, uint64_t end_ns)
{
	struct alert_record alert = {.header = {.type = STREAM_ALERT, .kernel = "alarm"},
				     .key = COUNT_KEY_DESTINATION, .value = 99, .end_ns = end_ns};

	test_address(destination, alert.destination_address);
	ck_assert_uint_eq(rte_ring_sp_enqueue_bulk_elem(ring->ring, &alert, ring->element_size, 1,
							NULL),
			  1);
}

/*
 * Alert records open a dump of their key (the destination): the packets to it
 * in [T - before, T + after]; a second alert for that key while the dump is
 * open is merged; max_dumps refuses a third key.
 */
START_TEST(alerts_open_one_dump_per_key_within_the_limits)
{
	char directory[] = "/tmp/jetstream-history.XXXXXX";
	char setting[128], file[4200];
	const char *settings[] = {setting, "memory=1M", "before=2us", "after=2us",
				  "max_dumps=1", NULL};
	uint64_t times[16];
	uint32_t lengths[16];
	uint8_t bytes[16][128], frame[100];
	struct kernel_ring *alerts;
	struct test_rig rig;

	ck_assert_ptr_nonnull(mkdtemp(directory));
	snprintf(setting, sizeof(setting), "dump_dir=%s", directory);
	test_rig_open(&rig, &history_kernel, "cap", STREAM_PACKET, settings, 64);
	alerts = test_rig_add_input(&rig, STREAM_ALERT, 64);
	rig_output_packets = 0;
	/* one packet a microsecond, 0..9 us, alternately to .9 and .7 */
	for (unsigned i = 0; i < 10; i++) {
		make_frame(frame, 80, "198.51.100.1", i % 2 ? "192.0.2.9" : "192.0.2.7", (uint8_t)i);
		send_frame(&rig, frame, 80, 1000 * i, false);
	}
	test_rig_consume_input(&rig, true);
	send_alert(alerts, "192.0.2.9", 5000); /* [3000, 7000]: packets 3, 5, 7 */
	send_alert(alerts, "192.0.2.9", 6000); /* merged */
	send_alert(alerts, "192.0.2.7", 6000); /* refused: max_dumps 1 */
	test_rig_consume_input(&rig, true);
	run_until_finished(&rig);
	ck_assert_uint_eq(test_rig_stat(&rig, "triggers"), 3);
	ck_assert_uint_eq(test_rig_stat(&rig, "triggers_merged"), 1);
	ck_assert_uint_eq(test_rig_stat(&rig, "triggers_refused"), 1);
	ck_assert_uint_eq(test_rig_stat(&rig, "dumps_done"), 1);
	ck_assert_uint_eq(test_rig_stat(&rig, "dump_packets"), 3);
	snprintf(file, sizeof(file), "%s/cap-19700101T000000.000005000Z-dst-192.0.2.9.pcapng",
		 directory);
	ck_assert_uint_eq(read_dump(file, times, lengths, bytes, 16), 3);
	ck_assert_uint_eq(times[0], 3000);
	ck_assert_uint_eq(times[1], 5000);
	ck_assert_uint_eq(times[2], 7000);
	test_rig_close(&rig);
	unlink(file);
	rmdir(directory);
}
END_TEST

/* `seconds:` keeps a dump from reaching back further; its status says so. */
START_TEST(the_seconds_bound_clips_a_dump_and_says_so)
{
	char directory[] = "/tmp/jetstream-history.XXXXXX";
	char setting[128], path[4096], error[256];
	const char *settings[] = {setting, "memory=1M", "seconds=3us", NULL};
	struct history_dump_request request = {.filter = "", .before_ns = 10000, .after_ns = 0};
	struct history_dump_status status;
	uint64_t times[16], dump_id;
	uint32_t lengths[16];
	uint8_t bytes[16][128], frame[80];
	struct test_rig rig;

	ck_assert_ptr_nonnull(mkdtemp(directory));
	snprintf(setting, sizeof(setting), "dump_dir=%s", directory);
	test_rig_open(&rig, &history_kernel, "cap", STREAM_PACKET, settings, 64);
	rig_output_packets = 0;
	for (unsigned i = 0; i < 10; i++) {
		make_frame(frame, 80, "198.51.100.1", "192.0.2.9", (uint8_t)i);
		send_frame(&rig, frame, 80, 1000 * i, false);
	}
	test_rig_consume_input(&rig, true);
	/* T = 9000: [0, 9000] asked, [6000, 9000] allowed */
	ck_assert_int_eq(history_dump_start(&rig.instance, &request, &dump_id, path, sizeof(path),
					    error, sizeof(error)),
			 0);
	run_until_finished(&rig);
	ck_assert_int_eq(history_dump_status(&rig.instance, dump_id, &status), 0);
	ck_assert_int_eq(status.state, HISTORY_DUMP_DONE);
	ck_assert_uint_eq(status.packets, 4);
	ck_assert_str_eq(status.reason,
			 "the input ended; cut by the seconds: bound: the dump begins at "
			 "1970-01-01T00:00:00.000006000Z (6000 ns), after the range's start; the "
			 "dump holds the newest part of the range");
	ck_assert_uint_eq(read_dump(path, times, lengths, bytes, 16), 4);
	ck_assert_uint_eq(times[0], 6000);
	ck_assert_uint_eq(test_rig_stat(&rig, "dumps_short"), 1);
	test_rig_close(&rig);
	unlink(path);
	rmdir(directory);
}
END_TEST

/* Remove @p directory and the dump files in it. */
static void
remove_dumps(const char *directory)
{
	DIR *listing = opendir(directory);
	struct dirent *entry;
	char path[4200];

	ck_assert_ptr_nonnull(listing);
	while ((entry = readdir(listing)) != NULL) {
		if (entry->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", directory, entry->d_name);
		ck_assert_int_eq(unlink(path), 0);
	}
	closedir(listing);
	ck_assert_int_eq(rmdir(directory), 0);
}

/* Poll @p rig until dump @p dump_id is no longer running (at most 5 s). */
static void
wait_dump_finished(struct test_rig *rig, uint64_t dump_id)
{
	struct history_dump_status status = {.state = HISTORY_DUMP_RUNNING};

	for (unsigned round = 0; round < 5000 && status.state == HISTORY_DUMP_RUNNING; round++) {
		test_rig_poll(rig);
		free_output(rig);
		ck_assert_int_eq(history_dump_status(&rig->instance, dump_id, &status), 0);
		if (status.state == HISTORY_DUMP_RUNNING)
			usleep(1000);
	}
	ck_assert_int_eq(status.state, HISTORY_DUMP_DONE);
}

/*
 * Dump ids are the daemon's (a second instance, as a reload makes, never
 * reuses one), and an instance keeps the status of its newest 64 finished
 * dumps only: the older ones are forgotten, so a long-running kernel does
 * not grow.
 */
START_TEST(dump_ids_are_unique_and_old_dumps_are_forgotten)
{
	char directory[] = "/tmp/jetstream-history.XXXXXX";
	char setting[128], path[4096], error[256];
	const char *settings[] = {setting, "memory=1M", "max_dumps=1", "dumps_per_minute=1000",
				  NULL};
	struct history_dump_request request = {.filter = "udp", .before_ns = 1, .after_ns = 0};
	struct history_dump_status status;
	uint64_t ids[70], other_id;
	struct test_rig rig, other;
	uint8_t frame[80];

	ck_assert_ptr_nonnull(mkdtemp(directory));
	snprintf(setting, sizeof(setting), "dump_dir=%s", directory);
	test_rig_open(&rig, &history_kernel, "cap", STREAM_PACKET, settings, 64);
	test_rig_open(&other, &history_kernel, "again", STREAM_PACKET, settings, 64);
	make_frame(frame, 80, "198.51.100.1", "192.0.2.9", 0);
	for (unsigned i = 0; i < 70; i++) {
		/* each dump ends when a packet past its end and the slack (100 ms) is read */
		send_frame(&rig, frame, 80, (uint64_t)i * 1000000000, false);
		test_rig_consume_input(&rig, true);
		ck_assert_int_eq(history_dump_start(&rig.instance, &request, &ids[i], path,
						    sizeof(path), error, sizeof(error)),
				 0);
		ck_assert(i == 0 || ids[i] > ids[i - 1]);
		send_frame(&rig, frame, 80, (uint64_t)i * 1000000000 + 500000000, false);
		test_rig_consume_input(&rig, true);
		wait_dump_finished(&rig, ids[i]);
	}
	ck_assert_int_eq(history_dump_start(&other.instance, &request, &other_id, path,
					    sizeof(path), error, sizeof(error)),
			 0);
	ck_assert_uint_gt(other_id, ids[69]);
	ck_assert_int_eq(history_dump_status(&other.instance, ids[69], &status), -ENOENT);
	for (unsigned i = 0; i < 70; i++)
		ck_assert_int_eq(history_dump_status(&rig.instance, ids[i], &status),
				 i < 70 - 64 ? -ENOENT : 0);
	ck_assert_uint_eq(test_rig_stat(&rig, "dumps"), 70);
	ck_assert_uint_eq(test_rig_stat(&rig, "dumps_done"), 70);
	run_until_finished(&other);
	test_rig_close(&other);
	run_until_finished(&rig);
	test_rig_close(&rig);
	remove_dumps(directory);
}
END_TEST

/* A flow record opens a dump of its 5-tuple, both directions (dump_key auto). */
START_TEST(a_flow_record_dumps_both_directions_of_its_flow)
{
	char directory[] = "/tmp/jetstream-history.XXXXXX";
	char setting[128], file[4200];
	const char *settings[] = {setting, "memory=1M", "before=10us", "after=0s", NULL};
	struct flow_record flow = {.header = {.type = STREAM_FLOW, .kernel = "flows"},
				   .source_port = 12345, .destination_port = 53, .protocol = 17,
				   .packets = 2, .reverse_packets = 1, .last_ns = 4000};
	uint64_t times[8];
	uint32_t lengths[8];
	uint8_t bytes[8][128], frame[80];
	struct kernel_ring *flows;
	struct test_rig rig;

	ck_assert_ptr_nonnull(mkdtemp(directory));
	snprintf(setting, sizeof(setting), "dump_dir=%s", directory);
	test_rig_open(&rig, &history_kernel, "cap", STREAM_PACKET, settings, 64);
	flows = test_rig_add_input(&rig, STREAM_FLOW, 64);
	rig_output_packets = 0;
	make_frame(frame, 80, "198.51.100.1", "192.0.2.9", 0); /* the flow */
	send_frame(&rig, frame, 80, 1000, false);
	make_frame(frame, 80, "192.0.2.9", "198.51.100.1", 1); /* its reverse: ports swapped */
	frame[34] = 0, frame[35] = 53, frame[36] = 0x30, frame[37] = 0x39;
	send_frame(&rig, frame, 80, 2000, false);
	make_frame(frame, 80, "198.51.100.1", "192.0.2.8", 2); /* another flow */
	send_frame(&rig, frame, 80, 3000, false);
	make_frame(frame, 80, "198.51.100.1", "192.0.2.9", 3);
	send_frame(&rig, frame, 80, 4000, false);
	test_rig_consume_input(&rig, true);
	test_address("198.51.100.1", flow.source_address);
	test_address("192.0.2.9", flow.destination_address);
	ck_assert_uint_eq(rte_ring_sp_enqueue_bulk_elem(flows->ring, &flow, flows->element_size, 1,
							NULL),
			  1);
	test_rig_consume_input(&rig, true);
	run_until_finished(&rig);
	snprintf(file, sizeof(file),
		 "%s/cap-19700101T000000.000004000Z-flow-198.51.100.1.12345-192.0.2.9.53-17.pcapng",
		 directory);
	ck_assert_uint_eq(read_dump(file, times, lengths, bytes, 8), 3);
	ck_assert_uint_eq(times[0], 1000);
	ck_assert_uint_eq(times[1], 2000);
	ck_assert_uint_eq(times[2], 4000);
	test_rig_close(&rig);
	unlink(file);
	rmdir(directory);
}
END_TEST

Suite *
history_suite(void)
{
	Suite *suite = suite_create("history");
	TCase *ring = tcase_create("ring");
	TCase *pcapng = tcase_create("pcapng");
	TCase *kernel = tcase_create("kernel");

	tcase_add_test(ring, wrap_around_keeps_the_newest_and_counts_the_overwritten);
	tcase_add_test(ring, records_that_do_not_fit_start_the_next_chunk);
	tcase_add_test(ring, seek_finds_the_chunk_of_a_time);
	tcase_add_test(ring, a_recycled_chunk_is_skipped_and_its_packets_counted);
	tcase_add_test(ring, a_reader_racing_the_appender_never_gets_a_torn_record);
	tcase_add_test(ring, create_refuses_memory_below_two_chunks);
	tcase_set_timeout(ring, 60);
	tcase_add_test(pcapng, pcapng_files_read_back_with_nanosecond_times);
	tcase_add_test(pcapng, pcapng_comment_is_rewritten_at_close);
	tcase_add_test(kernel, a_control_dump_writes_the_held_packets_its_filter_takes);
	tcase_add_test(kernel, alerts_open_one_dump_per_key_within_the_limits);
	tcase_add_test(kernel, a_flow_record_dumps_both_directions_of_its_flow);
	tcase_add_test(kernel, the_seconds_bound_clips_a_dump_and_says_so);
	tcase_add_test(kernel, dump_ids_are_unique_and_old_dumps_are_forgotten);
	tcase_set_timeout(kernel, 30);
	suite_add_tcase(suite, ring);
	suite_add_tcase(suite, pcapng);
	suite_add_tcase(suite, kernel);
	return suite;
}
