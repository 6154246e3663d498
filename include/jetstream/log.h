/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Logging, from the control thread, the sinks' writer threads and a kernel's
 * init()/destroy() (never process(): workers do not log, they set counters
 * and kernel_fail() that the control thread reports), a line at a time.
 *
 * Lines go to stderr as `jetstreamd: LEVEL: text`. When stderr is the
 * journal (systemd's JOURNAL_STREAM names it), each line is sent to journald
 * instead, with its priority and the daemon's fields (README, "Logging and
 * signals").
 */
#ifndef JETSTREAM_LOG_H
#define JETSTREAM_LOG_H

/** Severity of a line; the settings' `log_level` keeps the ones at or below it. */
enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/** Messages above @p level are dropped. */
void log_set_level(enum log_level level);

/**
 * Write one line at @p level (printf-style, no newline needed), or send it
 * to journald at that priority. Not from process().
 */
void log_message(enum log_level level, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

/** log_message() at each level. */
#define log_error(...) log_message(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_message(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_message(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_message(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
