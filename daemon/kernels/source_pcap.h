/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The pcap/pcapng file reader of the source kernel (each function is the kernel_ops one of a file source).
 */
#ifndef JETSTREAM_KERNELS_SOURCE_PCAP_H
#define JETSTREAM_KERNELS_SOURCE_PCAP_H

#include "kernels/source_reader.h"

int source_pcap_init(struct kernel_instance *instance);
unsigned source_pcap_process(struct kernel_instance *instance);
unsigned source_pcap_stats(const struct kernel_instance *instance, struct kernel_stat *stats);
void source_pcap_destroy(struct kernel_instance *instance);
/** Continue @p old's reading position; pacing restarts at the new rate. */
void source_pcap_take_state(struct kernel_instance *instance, struct kernel_instance *old);

/**
 * Open @p path as the pcap reader will at start (regular file, pcap or pcapng
 * header, Ethernet link type) and close it. Never blocks: a FIFO is refused.
 * @return true, or false with what to fix in @p error.
 */
bool source_pcap_check_file(const char *path, char *error, size_t error_size);

/** The files of a `pcap:` value, globs expanded. */
struct source_pcap_files {
	char **paths;
	unsigned count;
};

/**
 * Expand @p texts (the `pcap:` value: paths and globs) into @p files: a path
 * that names a file is taken as written (even with glob characters in it), a
 * glob gives its matches in name order, and an entry named twice is there
 * twice. @return 0, or -EINVAL (a glob matches nothing) / -ENOMEM with what
 * to fix in @p error.
 */
int source_pcap_files_expand(const char *texts, struct source_pcap_files *files, char *error,
			     size_t error_size);
void source_pcap_files_free(struct source_pcap_files *files);

/** Expand @p texts and check every file as source_pcap_check_file(). */
bool source_pcap_check_files(const char *texts, char *error, size_t error_size);

#endif
