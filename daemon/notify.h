/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Every message the daemon sends to systemd, one function each, so that the
 * texts of the notification protocol live in one place. Called on the
 * control thread only (main.c before and after the control loop, control.c,
 * reload_sequence.c, summary.c). Outside systemd (no NOTIFY_SOCKET) each call
 * does nothing.
 */
#ifndef JETSTREAM_NOTIFY_H
#define JETSTREAM_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** `READY=1` with `STATUS=@p status`: the graph runs (at start, after a reload). */
void notify_ready(const char *status);

/** `RELOADING=1` with `MONOTONIC_USEC=` now: a reload begins. */
void notify_reloading(void);

/**
 * `READY=1` with `STATUS=reload failed: @p status`: the reload was refused and
 * the running generation goes on.
 */
void notify_reload_failed(const char *status);

struct status_snapshot;

/**
 * Once a second, from the control loop: `STATUS=` with the generation, the
 * packet rate and the drops (notify_status_text()), followed by `; reload
 * failed: ERROR` while the last reload was refused (until notify_ready()), and
 * `WATCHDOG=1` when systemd's watchdog is on and every polling thread made
 * progress since the previous tick (notify_progress_check()).
 */
void notify_tick(const struct status_snapshot *snapshot);

/** `STOPPING=1`, sent once however often this is called. */
void notify_stopping(void);

/** The most polling threads the watchdog follows (EAL's lcore ids stay below it). */
#define NOTIFY_MAX_THREADS 128

/** The round counts of the previous tick, to tell progress from a stuck thread. */
struct notify_progress {
	bool known;                          /**< false before the first tick */
	unsigned count;
	unsigned lcores[NOTIFY_MAX_THREADS];
	uint64_t rounds[NOTIFY_MAX_THREADS];
};

/**
 * The watchdog's decision: true when every polling thread of @p snapshot
 * (each worker lcore and the sink thread) polled at least one round since the
 * counts kept in @p progress, which then take the snapshot's counts. False on
 * the first call, and when the set of threads changed (the counts are then
 * only remembered).
 */
bool notify_progress_check(struct notify_progress *progress, const struct status_snapshot *snapshot);

/**
 * `generation N: X pps, Y packets, Z dropped` for @p snapshot into @p text,
 * Z the known drops; followed by `; drops unknown at K source(s)` when K
 * source kernels have a drop their device cannot count (as the exit summary
 * says it).
 */
void notify_status_text(const struct status_snapshot *snapshot, char *text, size_t size);

#endif
