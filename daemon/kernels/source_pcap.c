/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pcap reader of the source kernel.
 *
 * Files are read with libpcap rather than DPDK's net_pcap device: net_pcap
 * reports the captured length as the packet length, while records must carry
 * the original wire length (Wireshark's frame.len). libpcap also reads
 * pcapng.
 *
 * Classic pcap files (pcap_mapped.h says which) are mapped instead and each
 * frame longer than MAPPED_COPY_LIMIT becomes an mbuf attached to the mapped
 * bytes: no read(2), no copy (shorter frames are copied: cheaper, see there).
 * Measured on 5 M 64-byte frames (pcap -> per_src_counter(total) -> sink,
 * perf cpu-clock of the worker, page cache warm): with libpcap the kernel's
 * read(2) copy took 9.5 % of the worker, stdio 15.8 %, the copies into mbufs
 * 10.2 %; mapped, the kernel takes 1.5 % (page faults) and the graph's run
 * went from 0.744 to 0.420 s (medians of 7). libpcap reads the rest (pcapng, other versions
 * and variants), `preload:` (its arena is one copy anyway) and `reader:
 * libpcap`; there frames larger than an mbuf's data room are copied into
 * chained mbufs, never cut. A mapped frame is one mbuf whatever its length.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_memcpy.h>

#include "kernels/pcap_mapped.h"
#include "kernels/source_pcap.h"
#include "packet.h"

/* Time added between two passes of a looped file, so time keeps going forward. */
#define LOOP_GAP_NS 1000u

struct pcap_reader {
	struct source_pcap_files files; /* the `pcap:` value expanded at init */
	unsigned file_index;        /* the file open now */
	bool may_map;               /* classic pcap files are mapped (reader: auto, no preload) */
	struct pcap_mapping *mapping; /* the file open now, when mapped; else pcap */
	struct pcap_walker walker;
	char walk_error[PCAP_ERRBUF_SIZE];

	pcap_t *pcap;
	char *read_buffer;         /* stdio's buffer for the file (PCAP_READ_BUFFER bytes) */
	char error_buffer[PCAP_ERRBUF_SIZE];
	bool classic_format;        /* pcap (not pcapng): seconds are an unsigned 32-bit field */
	uint64_t passes_done;
	uint64_t time_offset_ns;   /* added to file timestamps in the current pass */
	uint64_t pass_first_ns, pass_last_ns;
	bool pass_started;

	/* A record read while the mempool was empty, kept for the next burst. */
	uint8_t *pending_data;
	size_t pending_capacity;
	struct pcap_pkthdr pending_header;
	bool has_pending;

	struct source_pace pace;    /* rate_pps */

	/* preload: every record (pcap_pkthdr, then its bytes) back to back, read at init */
	uint8_t *arena;
	size_t arena_used, arena_capacity;
	size_t arena_position;      /* next record of the current pass */
	bool preload_failed;        /* the file could not be read to its end: one pass only */

	struct source_packet_counts counts;
	uint64_t mempool_waits;     /* bursts delayed because the mempool was empty */
	uint64_t mapped_files;      /* files opened mapped */
	bool failed;                /* read error: stop, reported by stats */
};

/* Arena records start 8-byte aligned so their headers can be read in place. */
static size_t
arena_record_size(uint32_t captured_length)
{
	return RTE_ALIGN_CEIL(sizeof(struct pcap_pkthdr) + captured_length, 8);
}

#define PCAP_READ_BUFFER (1u << 20)

/* Block types or magic numbers of the first four bytes of a capture file. */
#define PCAPNG_SECTION_HEADER 0x0a0d0d0au

static const char *
file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO (reading one would block)";
	if (S_ISCHR(mode) || S_ISBLK(mode))
		return "a device";
	return "not a regular file";
}

/*
 * Open @p path for reading only if it is a regular file holding at least a
 * magic number. O_NONBLOCK: opening a FIFO must not wait for a writer (the
 * start, a reload or --check would hang); on a regular file it changes nothing.
 */
static int
open_regular_descriptor(const char *path, bool *classic_format, size_t *length, char *error,
			size_t error_size)
{
	int descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat status;
	uint32_t magic;
	ssize_t got;

	if (descriptor < 0) {
		snprintf(error, error_size, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(descriptor, &status) != 0 || !S_ISREG(status.st_mode)) {
		snprintf(error, error_size, "'%s' is %s: `pcap:` takes a pcap or pcapng file", path,
			 file_kind(status.st_mode));
		close(descriptor);
		return -1;
	}
	got = pread(descriptor, &magic, sizeof(magic), 0);
	if (got != (ssize_t)sizeof(magic)) {
		snprintf(error, error_size, "'%s' is %s: `pcap:` takes a pcap or pcapng file", path,
			 got == 0 ? "empty" : "too short for a capture file header");
		close(descriptor);
		return -1;
	}
	*classic_format = magic != PCAPNG_SECTION_HEADER;
	*length = (size_t)status.st_size;
	return descriptor;
}

static FILE *
open_regular_file(const char *path, bool *classic_format, char *error, size_t error_size)
{
	size_t length;
	int descriptor = open_regular_descriptor(path, classic_format, &length, error, error_size);
	FILE *file;

	if (descriptor < 0)
		return NULL;
	file = fdopen(descriptor, "rb");
	if (file == NULL) {
		snprintf(error, error_size, "cannot read '%s': %s", path, strerror(errno));
		close(descriptor);
	}
	return file;
}

/*
 * Open a capture as the reader takes it: a regular file, a pcap or pcapng
 * header, Ethernet frames. --check and the start both call this, so a file
 * that passes the check opens at the start. @p read_buffer: stdio buffer of
 * PCAP_READ_BUFFER bytes, NULL for stdio's own.
 */
static pcap_t *
open_capture(const char *path, char *read_buffer, bool *classic_format, char *error,
	     size_t error_size)
{
	char pcap_error[PCAP_ERRBUF_SIZE];
	FILE *file = open_regular_file(path, classic_format, error, error_size);
	pcap_t *pcap;

	if (file == NULL)
		return NULL;
	if (read_buffer != NULL && setvbuf(file, read_buffer, _IOFBF, PCAP_READ_BUFFER) != 0) {
		snprintf(error, error_size, "cannot read '%s': %s", path, strerror(errno));
		fclose(file);
		return NULL;
	}
	/* nanoseconds: libpcap scales microsecond files up, so one unit for every file */
	pcap = pcap_fopen_offline_with_tstamp_precision(file, PCAP_TSTAMP_PRECISION_NANO, pcap_error);
	if (pcap == NULL) {
		snprintf(error, error_size, "'%s' is not a pcap or pcapng file: %s", path, pcap_error);
		fclose(file);
		return NULL;
	}
	if (pcap_datalink(pcap) != DLT_EN10MB) {
		snprintf(error, error_size, "'%s': link type %s is not supported (Ethernet only)", path,
			 pcap_datalink_val_to_name(pcap_datalink(pcap)));
		pcap_close(pcap);
		return NULL;
	}
	return pcap;
}

bool
source_pcap_check_file(const char *path, char *error, size_t error_size)
{
	bool classic_format;
	pcap_t *pcap = open_capture(path, NULL, &classic_format, error, error_size);

	if (pcap == NULL)
		return false;
	pcap_close(pcap);
	return true;
}

/* Whether @p text has a character glob(3) gives a meaning to. */
static bool
is_pattern(const char *text)
{
	return strpbrk(text, "*?[") != NULL;
}

static int
files_append(struct source_pcap_files *files, const char *path)
{
	char **grown = realloc(files->paths, (files->count + 1) * sizeof(*grown));

	if (grown == NULL)
		return -ENOMEM;
	files->paths = grown;
	files->paths[files->count] = strdup(path);
	if (files->paths[files->count] == NULL)
		return -ENOMEM;
	files->count++;
	return 0;
}

/* The matches of @p pattern, sorted by glob(3) (the collation of LC_COLLATE, C here). */
static int
files_append_matches(struct source_pcap_files *files, const char *pattern, char *error,
		     size_t error_size)
{
	glob_t matches;
	int result = glob(pattern, 0, NULL, &matches);

	if (result == GLOB_NOMATCH) {
		snprintf(error, error_size, "'%s' matches no file", pattern);
		return -EINVAL;
	}
	if (result != 0) {
		snprintf(error, error_size, "cannot expand '%s': %s", pattern,
			 result == GLOB_NOSPACE ? "out of memory" : "a directory cannot be read");
		globfree(&matches);
		return -EINVAL;
	}
	for (size_t i = 0; i < matches.gl_pathc && result == 0; i++)
		result = files_append(files, matches.gl_pathv[i]);
	globfree(&matches);
	return result;
}

int
source_pcap_files_expand(const char *texts, struct source_pcap_files *files, char *error,
			 size_t error_size)
{
	int result = 0;

	*files = (struct source_pcap_files){0};
	for (const char *text = texts; text != NULL && result == 0;
	     text = config_string_list_next(texts, text)) {
		struct stat status;

		/* a file whose name has `[` in it is still that file */
		if (is_pattern(text) && stat(text, &status) != 0)
			result = files_append_matches(files, text, error, error_size);
		else
			result = files_append(files, text);
	}
	if (result == -ENOMEM)
		snprintf(error, error_size, "out of memory expanding `pcap:`");
	if (result != 0)
		source_pcap_files_free(files);
	return result;
}

void
source_pcap_files_free(struct source_pcap_files *files)
{
	for (unsigned i = 0; i < files->count; i++)
		free(files->paths[i]);
	free(files->paths);
	*files = (struct source_pcap_files){0};
}

bool
source_pcap_check_files(const char *texts, char *error, size_t error_size)
{
	struct source_pcap_files files;
	bool valid;

	if (source_pcap_files_expand(texts, &files, error, error_size) != 0)
		return false;
	valid = true;
	for (unsigned i = 0; i < files.count && valid; i++)
		valid = source_pcap_check_file(files.paths[i], error, error_size);
	source_pcap_files_free(&files);
	return valid;
}

/*
 * Map @p path when the mapped reader takes it. false: read it with libpcap
 * (which says what is wrong with a file that cannot be read at all).
 */
static bool
open_mapped(struct pcap_reader *reader, const char *path)
{
	char error[PCAP_ERRBUF_SIZE];
	size_t length;
	int descriptor = open_regular_descriptor(path, &reader->classic_format, &length, error,
						 sizeof(error));

	if (descriptor < 0)
		return false;
	reader->mapping = reader->classic_format ? pcap_mapping_open(descriptor, length) : NULL;
	close(descriptor); /* the mapping keeps the file */
	if (reader->mapping == NULL)
		return false;
	if (!pcap_walker_start(&reader->walker, reader->mapping->bytes, length)) {
		pcap_mapping_release(reader->mapping);
		reader->mapping = NULL;
		return false;
	}
	reader->mapped_files++;
	return true;
}

/* Close the file open now, mapped or read by libpcap. */
static void
close_file(struct pcap_reader *reader)
{
	pcap_mapping_release(reader->mapping);
	reader->mapping = NULL;
	if (reader->pcap != NULL)
		pcap_close(reader->pcap);
	reader->pcap = NULL;
}

static int
open_file(struct kernel_instance *instance, struct pcap_reader *reader)
{
	const char *path = reader->files.paths[reader->file_index];

	/*
	 * libpcap reads through stdio, whose default buffer is one 4 KiB block:
	 * measured, 100,000 read(2) calls for a 400 MB file, a fifth of the
	 * worker's time on a 64-byte-frame trace. A 1 MiB buffer makes it 400
	 * (glibc sizes a buffer it allocates itself by the block size, so it is
	 * ours).
	 */
	if (reader->read_buffer == NULL)
		reader->read_buffer = malloc(PCAP_READ_BUFFER);
	if (reader->may_map && open_mapped(reader, path))
		return 0;
	if (reader->read_buffer == NULL)
		return -ENOMEM;
	reader->pcap = open_capture(path, reader->read_buffer, &reader->classic_format,
				    instance->error, sizeof(instance->error));
	if (reader->pcap == NULL) {
		instance->error_key = "pcap"; /* the file named there is at fault */
		return -EINVAL;
	}
	return 0;
}

static int
arena_append(struct pcap_reader *reader, const struct pcap_pkthdr *header, const uint8_t *data)
{
	size_t size = arena_record_size(header->caplen);

	if (reader->arena_used + size > reader->arena_capacity) {
		size_t capacity = RTE_MAX(reader->arena_capacity * 2, (size_t)1 << 20);
		uint8_t *grown;

		while (capacity < reader->arena_used + size)
			capacity *= 2;
		grown = realloc(reader->arena, capacity);
		if (grown == NULL)
			return -ENOMEM;
		reader->arena = grown;
		reader->arena_capacity = capacity;
	}
	memcpy(reader->arena + reader->arena_used, header, sizeof(*header));
	memcpy(reader->arena + reader->arena_used + sizeof(*header), data, header->caplen);
	reader->arena_used += size;
	return 0;
}

/*
 * preload: read every record now, on the control thread. A file that cannot
 * be read to its end keeps what was read, says why, and is replayed once.
 */
static int
preload_file(struct kernel_instance *instance, struct pcap_reader *reader)
{
	const char *path = reader->files.paths[reader->file_index];
	struct pcap_pkthdr *header;
	const uint8_t *data;
	int result;

	while ((result = pcap_next_ex(reader->pcap, &header, &data)) == 1)
		if (arena_append(reader, header, data) != 0) {
			snprintf(instance->error, sizeof(instance->error),
				 "cannot hold '%s' in memory (%zu bytes so far)", path,
				 reader->arena_used);
			return -ENOMEM;
		}
	if (result == PCAP_ERROR) {
		snprintf(instance->error, sizeof(instance->error), "read error: %s",
			 pcap_geterr(reader->pcap));
		reader->preload_failed = true;
	}
	pcap_close(reader->pcap);
	reader->pcap = NULL;
	return 0;
}

/* preload: every file of the list into the arena, up to the first that cannot be read to its end. */
static int
preload_files(struct kernel_instance *instance, struct pcap_reader *reader)
{
	int result = preload_file(instance, reader);

	while (result == 0 && !reader->preload_failed && ++reader->file_index < reader->files.count) {
		result = open_file(instance, reader);
		if (result == 0)
			result = preload_file(instance, reader);
	}
	reader->file_index = 0;
	return result;
}

/*
 * An mbuf's shared-info reference count is 16 bits: the reader's reference
 * and one per mbuf of the pool must fit, or the file is read with libpcap.
 */
static bool
may_map(const struct kernel_instance *instance)
{
	const struct source_params *params = instance->params;

	return params->reader == SOURCE_READER_AUTO && !params->preload &&
	       instance->mempool != NULL && instance->mempool->size < UINT16_MAX;
}

int
source_pcap_init(struct kernel_instance *instance)
{
	const struct source_params *params = instance->params;
	struct pcap_reader *reader = calloc(1, sizeof(*reader));
	int result;

	if (reader == NULL)
		return -ENOMEM;
	instance->state = reader;
	result = source_pcap_files_expand(params->pcap, &reader->files, instance->error,
					  sizeof(instance->error));
	if (result != 0) {
		instance->error_key = "pcap";
		return result;
	}
	reader->may_map = may_map(instance);
	result = open_file(instance, reader);
	if (result == 0 && params->preload)
		result = preload_files(instance, reader);
	return result;
}

/*
 * Copy a frame into @p head (fresh from the pool) and, when it does not fit,
 * into further segments chained to it. false when the mempool cannot supply
 * them: the segments added are freed, @p head is left to the caller.
 */
static bool
copy_to_mbuf_chain(struct rte_mempool *mempool, struct rte_mbuf *head, const uint8_t *data,
		   uint32_t length)
{
	struct rte_mbuf *last = head;
	uint32_t copied = 0;

	for (;;) {
		uint32_t chunk = RTE_MIN(length - copied, (uint32_t)rte_pktmbuf_tailroom(last));

		rte_memcpy(rte_pktmbuf_mtod(last, uint8_t *), data + copied, chunk);
		last->data_len = (uint16_t)chunk;
		copied += chunk;
		if (copied == length)
			break;
		last->next = rte_pktmbuf_alloc(mempool);
		if (last->next == NULL) {
			rte_pktmbuf_free(head->next);
			head->next = NULL;
			head->nb_segs = 1;
			return false;
		}
		last = last->next;
		head->nb_segs++;
	}
	head->pkt_len = length;
	return true;
}

/* Copy a frame into an mbuf chain; NULL when the mempool cannot supply it. */
static struct rte_mbuf *
copy_to_mbufs(struct rte_mempool *mempool, const uint8_t *data, uint32_t length)
{
	struct rte_mbuf *head = rte_pktmbuf_alloc(mempool);

	if (head != NULL && !copy_to_mbuf_chain(mempool, head, data, length)) {
		rte_pktmbuf_free(head);
		return NULL;
	}
	return head;
}

/*
 * A record's time in ns. Opened with nanosecond precision, tv_usec holds
 * nanoseconds. A pcap file stores seconds as an unsigned 32-bit field (good
 * to 2106), which libpcap reads as signed and sign-extends: from 2^31 s (2038)
 * on, tv_sec is negative and only its low 32 bits are the file's. pcapng
 * stores 64-bit timestamps, which libpcap divides into tv_sec unharmed.
 */
static uint64_t
record_time_ns(const struct pcap_reader *reader, const struct pcap_pkthdr *header)
{
	uint64_t seconds = reader->classic_format ? (uint64_t)(uint32_t)header->ts.tv_sec
						  : (uint64_t)header->ts.tv_sec;

	return seconds * 1000000000ull + (uint64_t)(uint32_t)header->ts.tv_usec;
}

/*
 * Parse a frame of @p captured bytes at @p data into @p packet's metadata
 * (a copy in the mbuf is not read back), stamp, count.
 */
static inline void
describe_frame(struct pcap_reader *reader, uint64_t time, uint32_t wire_length,
	       const uint8_t *data, uint32_t captured, struct rte_mbuf *packet)
{
	struct packet_meta *meta = packet_meta(packet);

	packet_parse(data, captured, meta);
	if (!reader->pass_started) {
		reader->pass_first_ns = time;
		reader->pass_started = true;
	}
	reader->pass_last_ns = RTE_MAX(reader->pass_last_ns, time);
	meta->timestamp_ns = time + reader->time_offset_ns;
	meta->wire_length = wire_length;
	source_count_packet(&reader->counts, meta);
}

static inline void
describe_packet(struct pcap_reader *reader, const struct pcap_pkthdr *header, const uint8_t *data,
		struct rte_mbuf *packet)
{
	describe_frame(reader, record_time_ns(reader, header), header->len, data, header->caplen,
		       packet);
}

static struct rte_mbuf *
make_packet(struct kernel_instance *instance, struct pcap_reader *reader,
	    const struct pcap_pkthdr *header, const uint8_t *data)
{
	struct rte_mbuf *packet = copy_to_mbufs(instance->mempool, data, header->caplen);

	if (packet != NULL)
		describe_packet(reader, header, data, packet);
	return packet;
}

/* Keep a record whose mbufs could not be allocated; libpcap reuses its buffer. */
static void
hold_record(struct pcap_reader *reader, const struct pcap_pkthdr *header, const uint8_t *data)
{
	if (header->caplen > reader->pending_capacity) {
		free(reader->pending_data);
		reader->pending_data = malloc(header->caplen);
		reader->pending_capacity = reader->pending_data == NULL ? 0 : header->caplen;
		if (reader->pending_data == NULL) {
			reader->failed = true; /* cannot happen in practice: snaplen-sized */
			return;
		}
	}
	memcpy(reader->pending_data, data, header->caplen);
	reader->pending_header = *header;
	reader->has_pending = true;
}

/* End of one pass: start the next one, or report that the file is done. */
static bool
start_next_pass(struct kernel_instance *instance, struct pcap_reader *reader)
{
	const struct source_params *params = instance->params;

	reader->passes_done++;
	if (reader->passes_done >= params->loop || reader->preload_failed)
		return false;
	if (params->preload) {
		reader->arena_position = 0;
	} else if (reader->mapping != NULL && reader->files.count == 1) {
		reader->walker.position = PCAP_FILE_HEADER_SIZE; /* the same bytes again */
	} else {
		close_file(reader);
		reader->file_index = 0;
		if (open_file(instance, reader) != 0) {
			reader->failed = true;
			return false;
		}
	}
	if (reader->pass_started)
		reader->time_offset_ns += reader->pass_last_ns - reader->pass_first_ns + LOOP_GAP_NS;
	reader->pass_started = false;
	return true;
}

/*
 * End of the file open now: open the next one of the list (its records
 * follow in the same pass: one stream, the files' own times), or start the
 * next pass. false when the source is done or the next file failed.
 */
static bool
next_input(struct kernel_instance *instance, struct pcap_reader *reader)
{
	if (reader->file_index + 1 >= reader->files.count)
		return start_next_pass(instance, reader);
	close_file(reader);
	reader->file_index++;
	if (open_file(instance, reader) != 0) {
		kernel_fail(instance, "%s", instance->error);
		reader->failed = true;
		return false;
	}
	return true;
}

/* The next preloaded record, as pcap_next_ex() would return it. */
static int
next_preloaded(struct pcap_reader *reader, struct pcap_pkthdr **header, const uint8_t **data)
{
	uint8_t *record = reader->arena + reader->arena_position;

	if (reader->arena_position >= reader->arena_used)
		return PCAP_ERROR_BREAK;
	*header = (struct pcap_pkthdr *)(void *)record;
	*data = record + sizeof(**header);
	reader->arena_position += arena_record_size((*header)->caplen);
	return 1;
}

/*
 * Read one record; returns 1, 0 at end of input, -1 on a read error, 2 when
 * the next file is mapped (the burst ends; the next one reads it mapped).
 */
static int
read_record(struct kernel_instance *instance, struct pcap_reader *reader,
	    struct pcap_pkthdr **header, const uint8_t **data)
{
	const struct source_params *params = instance->params;

	for (;;) {
		int result = params->preload ? next_preloaded(reader, header, data)
					     : pcap_next_ex(reader->pcap, header, data);

		if (result == 1)
			return 1;
		if (result == PCAP_ERROR_BREAK && params->preload && start_next_pass(instance, reader))
			continue;
		if (result == PCAP_ERROR_BREAK && !params->preload && next_input(instance, reader)) {
			if (reader->mapping != NULL)
				return 2;
			continue;
		}
		if (result == PCAP_ERROR) {
			kernel_fail(instance, "read error: %s", pcap_geterr(reader->pcap));
			reader->failed = true;
			return -1;
		}
		return 0;
	}
}

/*
 * preload: a burst straight from the arena. The mbufs come from the pool in
 * one bulk get, the arena is walked inline and small frames are copied with
 * rte_memcpy. Measured on 60-byte frames: the source's own instructions (not
 * counting the parser) went from 113 to 55 a packet and the pipeline from
 * 33.6 to 34.6 Mpps; what is left is mostly the mbuf reset and the copy.
 * Same outcome as the record-by-record loop in source_pcap_process(), which
 * takes over when the pool cannot give a whole burst.
 * @return packets emitted, or -1 when the pool cannot give a whole burst.
 */
static int
replay_preloaded(struct kernel_instance *instance, struct pcap_reader *reader, unsigned budget)
{
	struct rte_mbuf *packets[KERNEL_BURST];
	unsigned count = 0;

	if (reader->has_pending || rte_pktmbuf_alloc_bulk(instance->mempool, packets, budget) != 0)
		return -1;
	while (count < budget) {
		const struct pcap_pkthdr *header;
		const uint8_t *data;
		struct rte_mbuf *packet = packets[count];

		while (unlikely(reader->arena_position >= reader->arena_used)) {
			if (!start_next_pass(instance, reader)) {
				rte_pktmbuf_free_bulk(packets + count, budget - count);
				reader->pace.packets += count;
				kernel_emit_packets(instance, packets, count);
				kernel_mark_finished(instance);
				return (int)count;
			}
		}
		header = (const struct pcap_pkthdr *)(const void *)(reader->arena +
								      reader->arena_position);
		data = (const uint8_t *)(header + 1);
		reader->arena_position += arena_record_size(header->caplen);
		if (likely(header->caplen <= rte_pktmbuf_tailroom(packet))) {
			rte_memcpy(rte_pktmbuf_mtod(packet, uint8_t *), data, header->caplen);
			packet->data_len = (uint16_t)header->caplen;
			packet->pkt_len = header->caplen;
		} else if (!copy_to_mbuf_chain(instance->mempool, packet, data, header->caplen)) {
			/* as the record-by-record loop: keep the record for the next burst */
			hold_record(reader, header, data);
			reader->mempool_waits++;
			rte_pktmbuf_free_bulk(packets + count, budget - count);
			break;
		}
		describe_packet(reader, header, data, packet);
		count++;
	}
	reader->pace.packets += count;
	kernel_emit_packets(instance, packets, count);
	return (int)count;
}

/*
 * Frames up to this many captured bytes are copied into the mbuf rather than
 * attached: the attached mbuf's free (rte_pktmbuf_detach: an atomic update of
 * the shared reference count and a reset of the mbuf) cost more than a copy
 * of two cache lines. Measured on the 5 M-frame, 96-byte-snap trace of make
 * bench: median wall 0.376 s copying against 0.401 s attaching every frame
 * (paired, 9 runs; detach was 11.5 % of the worker's samples).
 */
#define MAPPED_COPY_LIMIT 128

/*
 * How far ahead of the record being walked the file's bytes are prefetched:
 * a page fault or a cache miss on the next records then overlaps this one's
 * work. 1024 bytes is about ten records of a 96-byte snap; the paired medians
 * with it were 0.94 and 0.97 of those without.
 */
#define MAPPED_PREFETCH_DISTANCE 1024

/*
 * Fill @p packet (fresh from the pool) with the frame of @p record: a small
 * frame is copied (see MAPPED_COPY_LIMIT), a larger one is attached to the
 * mapped bytes. A frame longer than an mbuf's 16-bit lengths (libpcap
 * allows 262144 bytes) is copied into a chain. false when the chain cannot
 * be had.
 */
static inline bool
attach_record(struct kernel_instance *instance, struct pcap_reader *reader,
	      const struct pcap_record *record, struct rte_mbuf *packet, unsigned *attached)
{
	if (unlikely(record->captured_length > UINT16_MAX))
		return copy_to_mbuf_chain(instance->mempool, packet, record->data,
					  record->captured_length);
	if (record->captured_length <= MAPPED_COPY_LIMIT) {
		rte_memcpy(rte_pktmbuf_mtod(packet, uint8_t *), record->data,
			   record->captured_length);
		packet->data_len = (uint16_t)record->captured_length;
		packet->pkt_len = record->captured_length;
		return true;
	}
	rte_pktmbuf_attach_extbuf(packet, (void *)(uintptr_t)record->data, RTE_BAD_IOVA,
				  (uint16_t)record->captured_length, &reader->mapping->shared);
	packet->data_len = (uint16_t)record->captured_length;
	packet->pkt_len = record->captured_length;
	(*attached)++;
	return true;
}

/*
 * The references of the mbufs attached in this burst, taken in one update
 * before any of them leaves the lcore (from then on another lcore may free
 * one, and the count is atomic).
 */
static inline void
reference_attached(struct pcap_reader *reader, unsigned *attached)
{
	if (*attached > 0)
		rte_mbuf_ext_refcnt_update(&reader->mapping->shared, (int16_t)*attached);
	*attached = 0;
}

/* A mapped file's burst ended by its end: the next input, or the end of the source. */
static bool
mapped_file_ended(struct kernel_instance *instance, struct pcap_reader *reader,
		  unsigned *attached)
{
	reference_attached(reader, attached); /* before the mapping may be let go */
	return next_input(instance, reader);
}

/*
 * A burst from a mapped file: records walked in place, each frame an mbuf
 * attached to the mapping. A record whose mbufs cannot be had stays in the
 * file for the next burst (nothing to hold: the bytes are mapped).
 */
static unsigned
read_mapped(struct kernel_instance *instance, struct pcap_reader *reader, unsigned budget)
{
	struct rte_mbuf *packets[KERNEL_BURST];
	unsigned count = 0, attached = 0;
	bool finished = false;

	if (rte_pktmbuf_alloc_bulk(instance->mempool, packets, budget) != 0) {
		reader->mempool_waits++;
		return 0;
	}
	while (count < budget && reader->mapping != NULL) {
		struct pcap_record record;
		size_t position = reader->walker.position;
		enum pcap_walk_result result;

		rte_prefetch0(reader->walker.bytes + position + MAPPED_PREFETCH_DISTANCE);
		result = pcap_walker_next(&reader->walker, &record, reader->walk_error,
					  sizeof(reader->walk_error));

		if (unlikely(result == PCAP_WALK_END)) {
			if (!mapped_file_ended(instance, reader, &attached)) {
				finished = true;
				break;
			}
			continue; /* the next file, mapped or not (then the burst ends) */
		}
		if (unlikely(result == PCAP_WALK_ERROR)) {
			kernel_fail(instance, "read error: %s", reader->walk_error);
			reader->failed = true;
			finished = true;
			break;
		}
		if (unlikely(!attach_record(instance, reader, &record, packets[count], &attached))) {
			reader->walker.position = position;
			reader->mempool_waits++;
			break;
		}
		describe_frame(reader, record.time_ns, record.wire_length, record.data,
			       record.captured_length, packets[count]);
		count++;
	}
	if (reader->mapping != NULL)
		reference_attached(reader, &attached);
	rte_pktmbuf_free_bulk(packets + count, budget - count);
	reader->pace.packets += count;
	kernel_emit_packets(instance, packets, count);
	if (finished)
		kernel_mark_finished(instance);
	return count;
}

unsigned
source_pcap_process(struct kernel_instance *instance)
{
	const struct source_params *params = instance->params;
	struct pcap_reader *reader = instance->state;
	struct rte_mbuf *packets[KERNEL_BURST];
	unsigned budget, count = 0;

	if (kernel_should_stop(instance) || reader->failed) {
		kernel_mark_finished(instance);
		return 0;
	}
	budget = kernel_burst_budget(instance);
	if (budget == 0)
		return 0;
	budget = source_pace_allowance(&reader->pace, params->rate_pps, budget);
	if (params->preload && budget > 0) {
		int replayed = replay_preloaded(instance, reader, budget);

		if (replayed >= 0)
			return (unsigned)replayed;
	}
	if (reader->mapping != NULL && !reader->has_pending)
		return budget > 0 ? read_mapped(instance, reader, budget) : 0;
	while (count < budget) {
		struct pcap_pkthdr *header = &reader->pending_header;
		const uint8_t *data = reader->pending_data;
		int result = reader->has_pending ? 1 : read_record(instance, reader, &header, &data);

		if (result == 2)
			break;
		if (result <= 0) {
			kernel_emit_packets(instance, packets, count);
			kernel_mark_finished(instance);
			return count;
		}
		packets[count] = make_packet(instance, reader, header, data);
		if (packets[count] == NULL) {
			if (!reader->has_pending)
				hold_record(reader, header, data);
			reader->mempool_waits++;
			break;
		}
		reader->has_pending = false;
		count++;
	}
	reader->pace.packets += count;
	kernel_emit_packets(instance, packets, count);
	return count;
}

void
source_pcap_take_state(struct kernel_instance *instance, struct kernel_instance *old)
{
	struct pcap_reader *taken = old->state;

	kernel_swap_state(instance, old); /* the freshly opened file closes with the old instance */
	taken->pace = (struct source_pace){0};
}

unsigned
source_pcap_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	const struct pcap_reader *reader = instance->state;
	unsigned count = source_packet_stats(&reader->counts, stats);

	stats[count++] = (struct kernel_stat){"mempool_waits", reader->mempool_waits};
	stats[count++] = (struct kernel_stat){"passes", reader->passes_done};
	stats[count++] = (struct kernel_stat){"mapped_files", reader->mapped_files};
	return count;
}

void
source_pcap_destroy(struct kernel_instance *instance)
{
	struct pcap_reader *reader = instance->state;

	if (reader == NULL)
		return;
	close_file(reader); /* the mapping stays until the last mbuf attached to it is freed */
	source_pcap_files_free(&reader->files);
	free(reader->pending_data);
	free(reader->arena);
	free(reader->read_buffer); /* after pcap_close(), which closes the file using it */
	free(reader);
	instance->state = NULL;
}
