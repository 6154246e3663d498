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
 * packet rate and the drops, and `WATCHDOG=1` while every worker makes
 * progress.
 */
void notify_tick(const struct status_snapshot *snapshot);

/** `STOPPING=1`, sent once however often this is called. */
void notify_stopping(void);

#endif
