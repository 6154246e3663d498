/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pcapng files for the history kernel's dumps; see pcapng_writer.h for why
 * this is not rte_pcapng. Blocks follow draft-ietf-opsawg-pcapng, in host
 * byte order (the SHB's byte-order magic tells readers which).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outputs/pcapng_writer.h"

#define BLOCK_SECTION_HEADER 0x0A0D0D0Au
#define BLOCK_INTERFACE_DESCRIPTION 0x00000001u
#define BLOCK_ENHANCED_PACKET 0x00000006u
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define OPTION_END 0
#define OPTION_COMMENT 1
#define OPTION_IF_TSRESOL 9
#define LINKTYPE_ETHERNET 1
/* SHB: type, length, magic, versions, section length; options; length again. */
#define SECTION_HEADER_FIXED 24u
/* The comment option's header, its reserved text, and opt_endofopt. */
#define SECTION_OPTIONS (4u + PCAPNG_COMMENT_CAPACITY + 4u)

static inline uint32_t
padded(uint32_t length)
{
	return (length + 3u) & ~3u;
}

static int
put(struct pcapng_writer *writer, const void *data, size_t length)
{
	if (length > 0 && fwrite(data, 1, length, writer->file) != length)
		return errno != 0 ? -errno : -EIO;
	writer->bytes += length;
	return 0;
}

static int
put32(struct pcapng_writer *writer, uint32_t value)
{
	return put(writer, &value, sizeof(value));
}

/*
 * The comment option in its reserved room: the text, then opt_endofopt, then
 * zeros to the end of the room. Readers (libpcap, Wireshark) stop at
 * opt_endofopt and skip to the block's end by its length.
 */
static void
comment_option(const char *comment, uint8_t room[SECTION_OPTIONS])
{
	size_t length = strlen(comment);
	uint16_t header[2] = {OPTION_COMMENT, 0};

	memset(room, 0, SECTION_OPTIONS);
	if (length > PCAPNG_COMMENT_CAPACITY - 4) {
		length = PCAPNG_COMMENT_CAPACITY - 4;
		memcpy(room + 4, comment, length - 3);
		memcpy(room + 4 + length - 3, "...", 3);
	} else {
		memcpy(room + 4, comment, length);
	}
	header[1] = (uint16_t)length;
	memcpy(room, header, sizeof(header));
	/* opt_endofopt (OPTION_END, length 0): the zero bytes right after the padded text */
}

static int
write_section_header(struct pcapng_writer *writer, const char *comment)
{
	uint32_t total = SECTION_HEADER_FIXED + SECTION_OPTIONS + 4u;
	uint16_t versions[2] = {1, 0};
	int64_t section_length = -1; /* not given: the file grows while it is written */
	uint8_t room[SECTION_OPTIONS];
	int result;

	comment_option(comment, room);
	if ((result = put32(writer, BLOCK_SECTION_HEADER)) < 0 ||
	    (result = put32(writer, total)) < 0 || (result = put32(writer, BYTE_ORDER_MAGIC)) < 0 ||
	    (result = put(writer, versions, sizeof(versions))) < 0 ||
	    (result = put(writer, &section_length, sizeof(section_length))) < 0)
		return result;
	writer->comment_offset = (long)writer->bytes;
	if ((result = put(writer, room, sizeof(room))) < 0)
		return result;
	return put32(writer, total);
}

static int
write_interface(struct pcapng_writer *writer, uint32_t snaplen)
{
	/* type, length, link type + reserved, snaplen; if_tsresol (4 + 4); end (4); length */
	uint32_t total = 16u + 8u + 4u + 4u;
	uint16_t link[2] = {LINKTYPE_ETHERNET, 0};
	uint16_t tsresol_header[2] = {OPTION_IF_TSRESOL, 1};
	uint8_t tsresol[4] = {9, 0, 0, 0}; /* 10^-9: nanoseconds */
	int result;

	if ((result = put32(writer, BLOCK_INTERFACE_DESCRIPTION)) < 0 ||
	    (result = put32(writer, total)) < 0 || (result = put(writer, link, sizeof(link))) < 0 ||
	    (result = put32(writer, snaplen)) < 0 ||
	    (result = put(writer, tsresol_header, sizeof(tsresol_header))) < 0 ||
	    (result = put(writer, tsresol, sizeof(tsresol))) < 0 || (result = put32(writer, 0)) < 0)
		return result;
	return put32(writer, total);
}

static int
open_part_file(struct pcapng_writer *writer, char *error, size_t error_size)
{
	struct stat existing;
	int descriptor;

	if (stat(writer->path, &existing) == 0) {
		snprintf(error, error_size, "%s exists: a dump never overwrites a file", writer->path);
		return -EEXIST;
	}
	descriptor = open(writer->part_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (descriptor < 0) {
		int failure = errno;

		snprintf(error, error_size, "cannot create %s: %s", writer->part_path,
			 strerror(failure));
		return -failure;
	}
	writer->file = fdopen(descriptor, "wb");
	if (writer->file == NULL) {
		int failure = errno;

		close(descriptor);
		unlink(writer->part_path);
		snprintf(error, error_size, "cannot open %s: %s", writer->part_path,
			 strerror(failure));
		return -failure;
	}
	return 0;
}

int
pcapng_writer_open(struct pcapng_writer *writer, const char *path, uint32_t snaplen,
		   const char *comment, char *error, size_t error_size)
{
	int result;

	memset(writer, 0, sizeof(*writer));
	if (strlen(path) >= sizeof(writer->path)) {
		snprintf(error, error_size, "the path is too long: %s", path);
		return -ENAMETOOLONG;
	}
	snprintf(writer->path, sizeof(writer->path), "%s", path);
	snprintf(writer->part_path, sizeof(writer->part_path), "%s.part", path);
	if ((result = open_part_file(writer, error, error_size)) < 0)
		return result;
	if ((result = write_section_header(writer, comment)) < 0 ||
	    (result = write_interface(writer, snaplen)) < 0) {
		snprintf(error, error_size, "cannot write %s: %s", writer->part_path,
			 strerror(-result));
		pcapng_writer_abandon(writer);
		return result;
	}
	return 0;
}

int
pcapng_writer_packet(struct pcapng_writer *writer, uint64_t timestamp_ns, uint32_t wire_length,
		     const uint8_t *data, uint32_t captured_length)
{
	uint32_t total = 28u + padded(captured_length) + 4u;
	uint32_t fields[7] = {BLOCK_ENHANCED_PACKET, total, 0, (uint32_t)(timestamp_ns >> 32),
			      (uint32_t)timestamp_ns, captured_length, wire_length};
	static const uint8_t zeros[4];
	int result;

	if ((result = put(writer, fields, sizeof(fields))) < 0 ||
	    (result = put(writer, data, captured_length)) < 0 ||
	    (result = put(writer, zeros, padded(captured_length) - captured_length)) < 0 ||
	    (result = put32(writer, total)) < 0)
		return result;
	writer->packets++;
	return 0;
}

static int
rewrite_comment(struct pcapng_writer *writer, const char *comment)
{
	uint8_t room[SECTION_OPTIONS];

	comment_option(comment, room);
	if (fflush(writer->file) != 0)
		return -errno;
	if (pwrite(fileno(writer->file), room, sizeof(room), writer->comment_offset) !=
	    (ssize_t)sizeof(room))
		return errno != 0 ? -errno : -EIO;
	return 0;
}

int
pcapng_writer_close(struct pcapng_writer *writer, const char *comment, char *error,
		    size_t error_size)
{
	int result = rewrite_comment(writer, comment);

	if (fclose(writer->file) != 0 && result == 0)
		result = -errno;
	writer->file = NULL;
	if (result < 0) {
		snprintf(error, error_size, "cannot write %s: %s", writer->part_path,
			 strerror(-result));
		return result;
	}
	if (renameat2(AT_FDCWD, writer->part_path, AT_FDCWD, writer->path, RENAME_NOREPLACE) != 0) {
		result = -errno;
		snprintf(error, error_size, "cannot rename %s to %s: %s", writer->part_path,
			 writer->path, strerror(-result));
		return result;
	}
	return 0;
}

void
pcapng_writer_abandon(struct pcapng_writer *writer)
{
	if (writer->file != NULL)
		fclose(writer->file);
	writer->file = NULL;
	unlink(writer->part_path);
}
