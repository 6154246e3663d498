/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inside outputs/actions.c: the queued action of one alert, and what each
 * format (action_exec.c, action_webhook.c, action_message.c) gives the
 * actions' thread. Every function here runs on that thread, but wake().
 */
#ifndef JETSTREAM_OUTPUTS_ACTIONS_PRIVATE_H
#define JETSTREAM_OUTPUTS_ACTIONS_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "outputs/actions.h"
#include "outputs/jsonl.h"

/** Where an action is. */
enum action_outcome {
	ACTION_WAITING = 0, /**< queued, not started */
	ACTION_RUNNING,     /**< started (a webhook backing off before a retry too) */
	ACTION_SUCCEEDED,
	ACTION_FAILED,
	ACTION_TIMED_OUT,
	ACTION_ABANDONED,   /**< running when the drain timeout passed: stopped, not judged */
};

#define ACTION_ERROR_SIZE 256

/** One alert's action. The poller fills record and line; then only the thread touches it. */
struct action_job {
	struct action_job *next;
	struct alert_record record;
	size_t length;                  /**< of line, its newline included */
	char line[JSONL_LINE_MAX];
	enum action_outcome outcome;
	char error[ACTION_ERROR_SIZE];  /**< why it failed */
	uint64_t started_ns;            /**< CLOCK_MONOTONIC of the first attempt */
	uint64_t deadline_ns;           /**< exec: SIGTERM, then SIGKILL, at; webhook: next attempt at */
	uint64_t backoff_ns;            /**< webhook: the last wait before a retry */
	bool terminated;                /**< exec: SIGTERM sent */
	bool in_transfer;               /**< webhook: the handle is in the multi handle */
	pid_t pid;                      /**< exec */
	void *transfer;                 /**< webhook: its CURL easy handle */
};

/** One format's part. */
struct action_kind {
	/** Set up from settings into *state. @return 0 or -errno, with a message. */
	int (*open)(const struct action_settings *settings, void **state, char *message,
		    size_t message_size);
	/** Start @p job: its outcome set to running or final, error set when failed. */
	void (*start)(void *state, struct action_job *job, uint64_t now_ns);
	/** Advance the running jobs of the list from @p jobs: set the outcome of those that ended. */
	void (*progress)(void *state, struct action_job *jobs, uint64_t now_ns);
	/** Wait at most @p timeout_ns for progress or wake(); NULL: the core's own wait. */
	void (*wait)(void *state, uint64_t timeout_ns);
	/** Any thread: end a wait() early; NULL with wait NULL. */
	void (*wake)(void *state);
	/** Stop a running @p job now and release what it holds. */
	void (*abandon)(void *state, struct action_job *job);
	void (*close)(void *state);
	/** Failed attempts tried again (webhook), read by the core for its figures; NULL: none. */
	uint64_t (*retries)(void *state);
};

extern const struct action_kind action_exec_kind;
extern const struct action_kind action_webhook_kind;
extern const struct action_kind action_journal_kind;
extern const struct action_kind action_syslog_kind;

#endif
