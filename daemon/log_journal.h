/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The daemon's side of logging (include/jetstream/log.h is the part plugins
 * share): the journald fields a line may carry, lines written as they are
 * (configuration errors, EAL's own lines), and EAL's log routed through it.
 *
 * When stderr is the journal (systemd's JOURNAL_STREAM names stderr's device
 * and inode), every line is sent with sd_journal_sendv(): MESSAGE= (the text
 * without the `jetstreamd: LEVEL: ` prefix), PRIORITY= (err 3, warning 4,
 * info 6, debug 7), SYSLOG_IDENTIFIER=jetstreamd, GENERATION= once a
 * generation runs, and KERNEL= and MESSAGE_ID= where the call gives them.
 * Otherwise lines go to stderr exactly as log_message() writes them.
 *
 * Threads: any thread that may log (log.h); log_set_generation() from the
 * control thread.
 */
#ifndef JETSTREAM_LOG_JOURNAL_H
#define JETSTREAM_LOG_JOURNAL_H

#include <stdbool.h>

#include "log.h"

/*
 * MESSAGE_IDs of the events an operator filters on (`journalctl
 * MESSAGE_ID=...`). Made once with `systemd-id128 new`; never change them.
 */
#define LOG_MESSAGE_STARTED "a806f5e1941c44faa9575c1397220dfe"       /**< first generation runs */
#define LOG_MESSAGE_RELOADED "514f766f1e094a20a2d4c94591925c94"      /**< a new generation runs */
#define LOG_MESSAGE_RELOAD_FAILED "0f78a901f1dd449e860fcd89bbe9974c" /**< the old one is kept */
#define LOG_MESSAGE_STOPPING "df341bdb49264123a576196828305b29"      /**< a stop signal: draining */
#define LOG_MESSAGE_ALERT "e4a0e28d440d48bd8f0c911fdb048237"         /**< an alert record */
/** An alert record a `format: journal` sink sends (outputs/action_message.c) */
#define LOG_MESSAGE_ALERT_ACTION "ee4f99d7bf01487f853b437e5655017a"

/** What a line is about, besides its text; NULL members are left out. */
struct log_fields {
	const char *message_id;  /**< one of LOG_MESSAGE_* */
	const char *kernel;      /**< the kernel instance's name */
};

/**
 * The generation now running, sent as GENERATION= with every later line
 * (0, the default: none runs yet, no field). Control thread.
 */
void log_set_generation(unsigned generation);

/** Whether lines go to the journal (see above); decided once, at the first call. */
bool log_to_journal(void);

/** log_message() with journal fields. */
void log_message_fields(enum log_level level, const struct log_fields *fields,
			const char *format, ...) __attribute__((format(printf, 3, 4)));

/** An event with its MESSAGE_ID (LOG_MESSAGE_*). */
#define log_event(level, id, ...) \
	log_message_fields(level, &(struct log_fields){.message_id = (id)}, __VA_ARGS__)

/** An error about one kernel instance: KERNEL= is its name. */
#define log_kernel_error(kernel_name, ...) \
	log_message_fields(LOG_LEVEL_ERROR, &(struct log_fields){.kernel = (kernel_name)}, \
			   __VA_ARGS__)

/** A line about one kernel instance, `kernel 'NAME': ...`, with KERNEL=NAME. */
#define log_kernel(level, kernel_name, format, ...) \
	log_message_fields(level, &(struct log_fields){.kernel = (kernel_name)}, \
			   "kernel '%s': " format, (kernel_name), __VA_ARGS__)

/**
 * One line of text as it is, without the `jetstreamd: LEVEL: ` prefix
 * (`file:line:col: error: ...`): to stderr followed by a newline, or to the
 * journal at @p level. Not filtered by log_set_level().
 */
void log_line(enum log_level level, const struct log_fields *fields, const char *line);

/**
 * Route DPDK's log (rte_openlog_stream) through log_line(), each line once,
 * at the level of its message. Call before rte_eal_init(): EAL's default
 * stream writes to stderr and to syslog as well, which the journal would
 * record twice; a stream set here replaces that one, so syslog is never
 * written. Plain stderr keeps EAL's text byte for byte.
 * @return 0, or -1 when the stream could not be made (EAL then logs as it would).
 */
int log_route_eal(void);

#endif
