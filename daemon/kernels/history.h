/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Daemon-internal view of a history kernel, for the control socket
 * (`jetstreamctl dump`). Not part of the kernel API: plugins never see it.
 *
 * A history instance keeps its most recent packets in a packed ring; a dump
 * writes the held packets that match a rule, and then the live ones until the
 * rule's time range has passed, to one pcapng file, on the instance's own
 * writer thread (never a worker). Dumps requested here and dumps opened by
 * trigger records share the same limits.
 *
 * Threads: every function here runs on the control thread (cp), while the
 * instance's lcore (dp) and its writer thread run; they take the writer
 * thread's lock, never wait for dp.
 */
#ifndef JETSTREAM_KERNELS_HISTORY_H
#define JETSTREAM_KERNELS_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel.h"

extern const struct kernel_ops history_kernel;

/** A dump asked for on the control socket. */
struct history_dump_request {
	const char *filter;   /**< tcpdump expression; "" = every packet */
	uint64_t before_ns;   /**< the range starts this long before now */
	uint64_t after_ns;    /**< and ends this long after */
	/**
	 * The file to write, absolute; NULL = a name of the instance's choosing
	 * under its dump_dir. An existing file is never overwritten.
	 */
	const char *path;
};

/** Where a dump stands. */
enum history_dump_state {
	HISTORY_DUMP_RUNNING = 0, /**< writing (held packets, then live ones) */
	HISTORY_DUMP_DONE,        /**< its range passed; the file is complete */
	HISTORY_DUMP_CUT,         /**< ended early: the daemon stopped or a reload removed the kernel */
	HISTORY_DUMP_FAILED,      /**< the file could not be written (the reason says why) */
};

/** What history_dump_status() reports. */
struct history_dump_status {
	enum history_dump_state state;
	uint64_t packets;         /**< packets written so far */
	uint64_t overwritten;     /**< packets of the range the ring overwrote before they were written */
	char path[4096];          /**< the file (complete once state is DONE) */
	char reason[256];         /**< for CUT and FAILED, and a note when overwritten > 0 */
};

/**
 * Open a dump on @p instance (a history kernel), its range [now - before,
 * now + after], where now is the wall clock for live sources and the newest
 * held packet's time otherwise.
 * @param[out] dump_id   names the dump for history_dump_status()
 * @param[out] path      the file it writes (@p path_size bytes)
 * @return 0; -EINVAL (bad filter: libpcap's message in @p error); -EBUSY
 *         (the limit on concurrent dumps or on files per minute); -EEXIST
 *         (the file exists); -errno of a failed open.
 */
int history_dump_start(struct kernel_instance *instance, const struct history_dump_request *request,
		       uint64_t *dump_id, char *path, size_t path_size, char *error,
		       size_t error_size);

/**
 * Copy where dump @p dump_id of @p instance stands.
 * @return 0; -ENOENT when the instance has no such dump (they are
 *         remembered until the instance is destroyed).
 */
int history_dump_status(struct kernel_instance *instance, uint64_t dump_id,
			struct history_dump_status *status);

#endif
