/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Actions on alert records (the sink formats exec, webhook, journal and
 * syslog): each alert, as its jsonl line and its fields
 * (outputs/alert_fields.h), is handed to a program, an HTTP endpoint, the
 * journal or a syslog server, on a thread of the actions' own, never on the
 * thread that polls the sink nor on a worker.
 *
 * The contract:
 *  - at most `concurrency` actions run at once; the alerts waiting for one
 *    are a queue of at most `queue`; an alert that finds it full is counted
 *    as dropped_sink_full, there and only there (an action never holds the
 *    graph back: alerts do not wait in the rings for a slow script);
 *  - the actions of one alert (one alert_id) run one after the other, in the
 *    order their records came (a start's action ends before its end's begins);
 *  - an exec action that runs past `timeout` is sent SIGTERM, then SIGKILL a
 *    second later, and counted as actions_timed_out; one that exits non-zero
 *    or by a signal is actions_failed; a webhook POST that fails (no answer
 *    within `timeout`, a connection error, HTTP 5xx or 429) is tried again,
 *    backing off from 100 ms to 5 s, for `retry` after its first attempt,
 *    then counted as actions_failed; any other status than 2xx is failed at
 *    once; a failure is logged once per minute, with the count of the others;
 *  - actions_flush() waits for every queued action within drain_timeout;
 *    those not started by then are dropped_drain_timeout, and a program still
 *    running is killed (actions_timed_out);
 *  - so alerts received = records (actions that succeeded) + actions_failed
 *    + actions_timed_out + dropped_records, once drained.
 *
 * Threads: space/append/flush from the one polling thread; figures from
 * any thread; open and close from the control thread.
 */
#ifndef JETSTREAM_OUTPUTS_ACTIONS_H
#define JETSTREAM_OUTPUTS_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernel.h"
#include "record.h"

/** What is done with an alert. */
enum action_format {
	ACTION_FORMAT_EXEC = 0,  /**< run a program, the line on its stdin, fields in its environment */
	ACTION_FORMAT_WEBHOOK,   /**< POST the line to a URL (libcurl) */
	ACTION_FORMAT_JOURNAL,   /**< one journal entry (sd_journal_send) */
	ACTION_FORMAT_SYSLOG,    /**< one RFC 5424 datagram to a UDP server */
};

/** How the actions behave (every text is copied). */
struct action_settings {
	const char *owner;          /**< kernel name, for log lines and the thread's name */
	enum action_format format;
	const char *command;        /**< exec: PROGRAM, ARG... as NUL-ended texts, an empty one last */
	const char *url;            /**< webhook */
	const char *server;         /**< syslog: HOST:PORT */
	unsigned facility;          /**< syslog: 0 to 23 */
	uint64_t timeout_ns;        /**< exec and webhook: one action's time */
	uint64_t retry_ns;          /**< webhook: how long a failing POST is tried again */
	uint64_t drain_timeout_ns;
	unsigned concurrency;       /**< actions at once (journal and syslog: 1) */
	unsigned queue;             /**< alerts that may wait */
};

/** What the actions did (each figure read atomically). */
struct action_figures {
	uint64_t succeeded;             /**< records: actions that succeeded */
	uint64_t run;                   /**< actions started (a webhook's retries not again) */
	uint64_t failed;
	uint64_t timed_out;
	uint64_t retries;               /**< webhook: failed attempts tried again */
	uint64_t dropped_sink_full;     /**< the queue was full */
	uint64_t dropped_drain_timeout; /**< never started within drain_timeout */
	uint64_t queued;                /**< waiting now */
	uint64_t running;               /**< running now */
};

struct actions;

/** Start the thread (no action yet). @return 0, or -errno with a message. */
int actions_open(struct actions **actions, const struct action_settings *settings, char *message,
		 size_t message_size);

/** Poller: alerts actions_append() queues now. */
unsigned actions_space(struct actions *actions);

/**
 * Poller: queue the action of @p record, whose jsonl line is @p line
 * (@p length bytes, its newline included); counted as dropped_sink_full when
 * the queue is full.
 */
void actions_append(struct actions *actions, const struct alert_record *record, const char *line,
		    size_t length);

/** Poller: the first call starts the drain timeout. @return true once every action is done. */
bool actions_flush(struct actions *actions);

/** Any thread. */
void actions_figures(struct actions *actions, struct action_figures *figures);

/** @p figures as a sink's statistics. @return how many (at most 11). */
unsigned actions_figures_stats(const struct action_figures *figures, struct kernel_stat *stats);

/** Stop at once (what still waits is dropped_drain_timeout), free. NULL: nothing. */
void actions_close(struct actions *actions);

#endif
