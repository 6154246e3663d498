/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A small pcapng file writer: one section header block (SHB) with a comment,
 * one interface (LINKTYPE_ETHERNET, if_tsresol 9: nanoseconds) and enhanced
 * packet blocks with exact nanosecond times and original lengths.
 *
 * Written here rather than with DPDK's rte_pcapng because that one takes
 * mbufs and TSC times, while the history ring holds copied bytes stamped in
 * ns; and in DPDK 22.11 it sets its clock base lazily, dating every packet
 * of an offline run in 2251. The format is small (three block types).
 *
 * The file is written as PATH.part and renamed to PATH when closed; an
 * existing PATH is never overwritten (O_EXCL, renameat2 RENAME_NOREPLACE).
 * The SHB's comment is written twice: when the file opens (what the dump is
 * and "outcome: still being written") and when it closes (the outcome), in
 * place, in room reserved for it, so a reader of a file cut by a crash still
 * sees that it is unfinished.
 *
 * Threads: one writer per file; no shared state.
 */
#ifndef JETSTREAM_OUTPUTS_PCAPNG_WRITER_H
#define JETSTREAM_OUTPUTS_PCAPNG_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** Bytes reserved for the SHB's comment: longer comments are cut (with "..."). */
#define PCAPNG_COMMENT_CAPACITY 4096u

struct pcapng_writer {
	FILE *file;
	char path[4096];
	char part_path[4096 + 8];
	long comment_offset;   /**< of the SHB's comment option */
	uint64_t packets;      /**< packets written */
	uint64_t bytes;        /**< file bytes written */
};

/**
 * Create PATH.part (PATH must not exist either) and write the SHB with
 * @p comment and the interface block with @p snaplen (0 = none).
 * @return 0; -EEXIST; -errno of a failed call, with a message in @p error.
 */
int pcapng_writer_open(struct pcapng_writer *writer, const char *path, uint32_t snaplen,
		       const char *comment, char *error, size_t error_size);

/**
 * Append one packet: @p captured_length bytes at @p data of a frame of
 * @p wire_length bytes, at @p timestamp_ns (ns since the epoch).
 * @return 0, or -errno (the disk is full...).
 */
int pcapng_writer_packet(struct pcapng_writer *writer, uint64_t timestamp_ns, uint32_t wire_length,
			 const uint8_t *data, uint32_t captured_length);

/**
 * Write @p comment over the opening one, close, and rename PATH.part to PATH.
 * @return 0, or -errno with a message in @p error (the .part file is left).
 */
int pcapng_writer_close(struct pcapng_writer *writer, const char *comment, char *error,
			size_t error_size);

/** Close without renaming and remove PATH.part (a file that could not be written). */
void pcapng_writer_abandon(struct pcapng_writer *writer);

#endif
