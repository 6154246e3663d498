/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The actions' core: the queue, the thread that starts each alert's action
 * when a slot is free and no earlier action of the same alert is still
 * queued or running, the figures, and the failures' log lines. What an
 * action is belongs to its format (outputs/actions_private.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log_journal.h"
#include "outputs/actions_private.h"
#include "outputs/alert_fields.h"
#include "outputs/output_thread.h"

#define NANOSECONDS_PER_SECOND UINT64_C(1000000000)
/* While actions run, the thread looks at them this often (a child's exit, a deadline). */
#define PROGRESS_INTERVAL_NS (10 * UINT64_C(1000000))
/* A failing action is logged at most this often; the line counts the others. */
#define FAILURE_LOG_INTERVAL_NS (60 * NANOSECONDS_PER_SECOND)
#define COMMAND_SIZE 4096
#define URL_SIZE 2048

/* The failures' log lines (thread only). */
struct failure_log {
	uint64_t logged_ns;  /* CLOCK_MONOTONIC of the last line; 0: none yet */
	uint64_t unlogged;   /* failures since that line, not logged */
};

struct actions {
	/* Set by open, then read-only. */
	char owner[64];
	char command[COMMAND_SIZE];
	char url[URL_SIZE];
	char server[272];
	struct action_settings settings; /* its texts point at the copies above */
	const struct action_kind *kind;
	void *kind_state;
	pthread_t thread;
	unsigned seen_size;              /* slots of seen_ids: a power of two */

	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct action_job *incoming_head; /* lock. Appended by the poller, taken by the thread */
	struct action_job *incoming_tail; /* lock */
	bool closing;                     /* lock */
	_Atomic uint64_t drain_deadline_ns; /* lock: wo; any thread: ro. 0: not draining */

	/* Figures: the thread writes them (sink_full and outstanding: the poller too). */
	_Atomic uint64_t outstanding;     /* appended, not yet finished */
	_Atomic uint64_t running;
	_Atomic uint64_t succeeded;
	_Atomic uint64_t run;
	_Atomic uint64_t failed;
	_Atomic uint64_t timed_out;
	_Atomic uint64_t dropped_sink_full;
	_Atomic uint64_t dropped_drain_timeout;

	/* Thread only. */
	struct action_job *jobs;          /* in the order they came, running ones included */
	struct failure_log failure_log;
	uint32_t scan;                    /* the start scan's number, for seen_stamps */
	uint64_t *seen_ids;               /* alert ids met in this scan (open addressing) */
	uint32_t *seen_stamps;            /* the scan that filled each slot */
};

static void
add(_Atomic uint64_t *counter, uint64_t amount)
{
	atomic_fetch_add_explicit(counter, amount, memory_order_relaxed);
}

static uint64_t
load(const _Atomic uint64_t *value)
{
	return atomic_load_explicit(value, memory_order_relaxed);
}

static const struct action_kind *
kind_of(enum action_format format)
{
	switch (format) {
	case ACTION_FORMAT_EXEC:
		return &action_exec_kind;
	case ACTION_FORMAT_WEBHOOK:
		return &action_webhook_kind;
	case ACTION_FORMAT_JOURNAL:
		return &action_journal_kind;
	default:
		return &action_syslog_kind;
	}
}

/* ---- the poller --------------------------------------------------------------- */

unsigned
actions_space(struct actions *actions)
{
	uint64_t outstanding = load(&actions->outstanding), running = load(&actions->running);
	/* read apart: a job that ended between the two loads leaves running the larger */
	uint64_t waiting = outstanding > running ? outstanding - running : 0;

	return waiting < actions->settings.queue ? (unsigned)(actions->settings.queue - waiting) : 0;
}

static void
wake_thread(struct actions *actions)
{
	pthread_cond_signal(&actions->wake);
	if (actions->kind->wake != NULL)
		actions->kind->wake(actions->kind_state);
}

void
actions_append(struct actions *actions, const struct alert_record *record, const char *line,
	       size_t length)
{
	struct action_job *job;

	/* the one place an alert is dropped: a full queue (or no memory for its action) */
	if (actions_space(actions) == 0 || length > sizeof(job->line) ||
	    (job = calloc(1, sizeof(*job))) == NULL) {
		add(&actions->dropped_sink_full, 1);
		return;
	}
	job->record = *record;
	job->length = length;
	memcpy(job->line, line, length);
	add(&actions->outstanding, 1);
	pthread_mutex_lock(&actions->lock);
	if (actions->incoming_tail != NULL)
		actions->incoming_tail->next = job;
	else
		actions->incoming_head = job;
	actions->incoming_tail = job;
	wake_thread(actions);
	pthread_mutex_unlock(&actions->lock);
}

bool
actions_flush(struct actions *actions)
{
	pthread_mutex_lock(&actions->lock);
	if (load(&actions->drain_deadline_ns) == 0) {
		atomic_store_explicit(&actions->drain_deadline_ns,
				      clock_monotonic_ns() + actions->settings.drain_timeout_ns,
				      memory_order_relaxed);
		wake_thread(actions);
	}
	pthread_mutex_unlock(&actions->lock);
	return load(&actions->outstanding) == 0;
}

void
actions_figures(struct actions *actions, struct action_figures *figures)
{
	uint64_t outstanding = load(&actions->outstanding), running = load(&actions->running);

	*figures = (struct action_figures){
		.succeeded = load(&actions->succeeded), .run = load(&actions->run),
		.failed = load(&actions->failed), .timed_out = load(&actions->timed_out),
		.retries = actions->kind->retries != NULL ? actions->kind->retries(actions->kind_state)
							  : 0,
		.dropped_sink_full = load(&actions->dropped_sink_full),
		.dropped_drain_timeout = load(&actions->dropped_drain_timeout),
		.queued = outstanding > running ? outstanding - running : 0, .running = running,
	};
}

unsigned
actions_figures_stats(const struct action_figures *figures, struct kernel_stat *stats)
{
	stats[0] = (struct kernel_stat){"records", figures->succeeded};
	stats[1] = (struct kernel_stat){"actions_run", figures->run};
	stats[2] = (struct kernel_stat){"actions_failed", figures->failed};
	stats[3] = (struct kernel_stat){"actions_timed_out", figures->timed_out};
	stats[4] = (struct kernel_stat){"retries", figures->retries};
	stats[5] = (struct kernel_stat){"dropped_records",
					figures->dropped_sink_full + figures->dropped_drain_timeout};
	stats[6] = (struct kernel_stat){"dropped_sink_full", figures->dropped_sink_full};
	stats[7] = (struct kernel_stat){"dropped_drain_timeout", figures->dropped_drain_timeout};
	stats[8] = (struct kernel_stat){"actions_queued", figures->queued};
	stats[9] = (struct kernel_stat){"actions_running", figures->running};
	return 10;
}

/* ---- the thread: finishing ------------------------------------------------------ */

/* The first failure of an interval is logged, with the count of those left out before it. */
static void
log_failure(struct actions *actions, const struct action_job *job)
{
	struct failure_log *log = &actions->failure_log;
	uint64_t now = clock_monotonic_ns();
	char key[64] = "";
	char others[128] = "";

	if (log->logged_ns != 0 && now - log->logged_ns < FAILURE_LOG_INTERVAL_NS) {
		log->unlogged++;
		return;
	}
	if (log->unlogged > 0)
		snprintf(others, sizeof(others), " (and %" PRIu64 " other failures since the last "
			 "line; one is logged a minute)", log->unlogged);
	alert_key_text(&job->record, key, sizeof(key));
	log_message_fields(LOG_LEVEL_WARNING, &(struct log_fields){.kernel = actions->owner},
			   "kernel '%s': the action for the %s alert of %s %s: %s%s", actions->owner,
			   (job->record.fields & ALERT_FIELD_LIFECYCLE)
				   ? alert_state_name((enum alert_state)job->record.state)
				   : "window",
			   key,
			   job->outcome == ACTION_TIMED_OUT   ? "timed out"
			   : job->outcome == ACTION_ABANDONED ? "was stopped"
							      : "failed",
			   job->error,
			   others);
	log->logged_ns = now;
	log->unlogged = 0;
}

/* Failures left out since the last line, said at the end (no later failure will say them). */
static void
log_unlogged(struct actions *actions)
{
	if (actions->failure_log.unlogged == 0)
		return;
	log_message_fields(LOG_LEVEL_WARNING, &(struct log_fields){.kernel = actions->owner},
			   "kernel '%s': %" PRIu64 " more actions failed since the last line",
			   actions->owner, actions->failure_log.unlogged);
	actions->failure_log.unlogged = 0;
	actions->failure_log.logged_ns = 0;
}

static void
count_outcome(struct actions *actions, struct action_job *job)
{
	switch (job->outcome) {
	case ACTION_SUCCEEDED:
		add(&actions->succeeded, 1);
		break;
	case ACTION_FAILED:
		add(&actions->failed, 1);
		log_failure(actions, job);
		break;
	case ACTION_TIMED_OUT:
	case ACTION_ABANDONED:
		add(&actions->timed_out, 1);
		log_failure(actions, job);
		break;
	default:
		break;
	}
}

/* Take the actions that ended off the list. @return how many. */
static unsigned
sweep(struct actions *actions)
{
	struct action_job **link = &actions->jobs;
	unsigned ended = 0;

	while (*link != NULL) {
		struct action_job *job = *link;

		if (job->outcome == ACTION_WAITING || job->outcome == ACTION_RUNNING) {
			link = &job->next;
			continue;
		}
		*link = job->next;
		count_outcome(actions, job);
		add(&actions->running, (uint64_t)-1);
		atomic_fetch_sub_explicit(&actions->outstanding, 1, memory_order_relaxed);
		free(job);
		ended++;
	}
	return ended;
}

/* The drain timeout passed: running actions are stopped, waiting ones dropped. */
static void
abandon_everything(struct actions *actions)
{
	uint64_t dropped = 0;

	while (actions->jobs != NULL) {
		struct action_job *job = actions->jobs;

		actions->jobs = job->next;
		if (job->outcome == ACTION_RUNNING) {
			actions->kind->abandon(actions->kind_state, job);
			snprintf(job->error, sizeof(job->error), "still running at drain_timeout");
			job->outcome = ACTION_ABANDONED;
			count_outcome(actions, job);
			add(&actions->running, (uint64_t)-1);
		} else {
			dropped++;
		}
		atomic_fetch_sub_explicit(&actions->outstanding, 1, memory_order_relaxed);
		free(job);
	}
	if (dropped > 0)
		log_message_fields(LOG_LEVEL_ERROR, &(struct log_fields){.kernel = actions->owner},
				   "kernel '%s': %" PRIu64 " alerts' actions not started within "
				   "drain_timeout (dropped_drain_timeout)", actions->owner, dropped);
	add(&actions->dropped_drain_timeout, dropped);
}

/* ---- the thread: starting ------------------------------------------------------- */

/* Whether @p id was met in this scan; it is from now on. */
static bool
seen_before(struct actions *actions, uint64_t id)
{
	uint64_t mask = actions->seen_size - 1;

	for (uint64_t slot = (id * UINT64_C(0x9e3779b97f4a7c15)) >> 40 & mask;;
	     slot = (slot + 1) & mask) {
		if (actions->seen_stamps[slot] != actions->scan) {
			actions->seen_stamps[slot] = actions->scan;
			actions->seen_ids[slot] = id;
			return false;
		}
		if (actions->seen_ids[slot] == id)
			return true;
	}
}

/*
 * Start what may start: in order, while slots are free, each waiting action
 * no earlier one of the same alert precedes (an alert without a lifecycle
 * has no id: nothing orders it). @return whether one ended at once.
 */
static bool
start_ready(struct actions *actions, uint64_t now)
{
	uint64_t running = load(&actions->running);
	bool ended = false;

	if (++actions->scan == 0) { /* the stamps wrapped: none may look current */
		memset(actions->seen_stamps, 0, actions->seen_size * sizeof(*actions->seen_stamps));
		actions->scan = 1;
	}
	for (struct action_job *job = actions->jobs; job != NULL; job = job->next) {
		bool ordered = (job->record.fields & ALERT_FIELD_LIFECYCLE) != 0;
		bool blocked = ordered && seen_before(actions, job->record.alert_id);

		if (job->outcome != ACTION_WAITING || blocked)
			continue;
		if (running == actions->settings.concurrency)
			break;
		job->started_ns = now;
		actions->kind->start(actions->kind_state, job, now);
		add(&actions->run, 1);
		add(&actions->running, 1);
		running++;
		ended |= job->outcome != ACTION_RUNNING;
	}
	return ended;
}

/* ---- the thread ------------------------------------------------------------------- */

/* lock held. Move the poller's new jobs to the end of the list. */
static void
take_incoming(struct actions *actions)
{
	struct action_job **tail = &actions->jobs;

	if (actions->incoming_head == NULL)
		return;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = actions->incoming_head;
	actions->incoming_head = actions->incoming_tail = NULL;
}

static bool
past_drain_deadline(const struct actions *actions, uint64_t now)
{
	uint64_t deadline = load(&actions->drain_deadline_ns);

	return deadline != 0 && now >= deadline;
}

/* lock held. Sleep until something may have changed. */
static void
wait_for_work(struct actions *actions)
{
	uint64_t until = UINT64_MAX, deadline = load(&actions->drain_deadline_ns);
	struct timespec when;

	if (load(&actions->running) > 0 && actions->kind->wait != NULL) {
		pthread_mutex_unlock(&actions->lock);
		actions->kind->wait(actions->kind_state, PROGRESS_INTERVAL_NS);
		pthread_mutex_lock(&actions->lock);
		return;
	}
	if (load(&actions->running) > 0)
		until = clock_monotonic_ns() + PROGRESS_INTERVAL_NS;
	if (actions->jobs != NULL && deadline != 0 && deadline < until)
		until = deadline;
	if (until == UINT64_MAX) {
		pthread_cond_wait(&actions->wake, &actions->lock);
		return;
	}
	when = (struct timespec){(time_t)(until / NANOSECONDS_PER_SECOND),
				 (long)(until % NANOSECONDS_PER_SECOND)};
	pthread_cond_timedwait(&actions->wake, &actions->lock, &when);
}

static void *
actions_thread(void *argument)
{
	struct actions *actions = argument;
	bool closing = false;

	for (;;) {
		uint64_t now;

		pthread_mutex_lock(&actions->lock);
		take_incoming(actions);
		closing = actions->closing;
		if (actions->jobs == NULL && closing) {
			pthread_mutex_unlock(&actions->lock);
			break;
		}
		pthread_mutex_unlock(&actions->lock);
		now = clock_monotonic_ns();
		if (load(&actions->running) > 0)
			actions->kind->progress(actions->kind_state, actions->jobs, now);
		sweep(actions);
		if (past_drain_deadline(actions, now))
			abandon_everything(actions);
		if (start_ready(actions, now) && sweep(actions) > 0)
			continue; /* one ended at once: what it held back may start now */
		if (actions->jobs == NULL && load(&actions->drain_deadline_ns) != 0)
			log_unlogged(actions);
		pthread_mutex_lock(&actions->lock);
		if (actions->incoming_head == NULL && !actions->closing)
			wait_for_work(actions);
		pthread_mutex_unlock(&actions->lock);
	}
	log_unlogged(actions);
	return NULL;
}

/* ---- open and close ----------------------------------------------------------- */

static size_t
string_list_size(const char *texts)
{
	size_t size = 0;

	if (texts == NULL)
		return 0;
	while (texts[size] != '\0')
		size += strlen(texts + size) + 1;
	return size + 1;
}

static int
copy_settings(struct actions *actions, const struct action_settings *settings, char *message,
	      size_t message_size)
{
	size_t command_size = string_list_size(settings->command);

	if (command_size > sizeof(actions->command)) {
		snprintf(message, message_size, "the command is longer than %zu bytes",
			 sizeof(actions->command));
		return -EINVAL;
	}
	actions->settings = *settings;
	snprintf(actions->owner, sizeof(actions->owner), "%s", settings->owner);
	memcpy(actions->command, settings->command != NULL ? settings->command : "", command_size);
	snprintf(actions->url, sizeof(actions->url), "%s", settings->url != NULL ? settings->url : "");
	snprintf(actions->server, sizeof(actions->server), "%s",
		 settings->server != NULL ? settings->server : "");
	actions->settings.owner = actions->owner;
	actions->settings.command = actions->command;
	actions->settings.url = actions->url;
	actions->settings.server = actions->server;
	if (actions->settings.concurrency == 0)
		actions->settings.concurrency = 1;
	return 0;
}

/* The ids a scan meets: at most every queued and running action's, at most half full. */
static int
allocate_seen(struct actions *actions)
{
	uint64_t most = (uint64_t)actions->settings.queue + actions->settings.concurrency;

	actions->seen_size = 16;
	while (actions->seen_size < 2 * most)
		actions->seen_size *= 2;
	actions->seen_ids = calloc(actions->seen_size, sizeof(*actions->seen_ids));
	actions->seen_stamps = calloc(actions->seen_size, sizeof(*actions->seen_stamps));
	return actions->seen_ids != NULL && actions->seen_stamps != NULL ? 0 : -ENOMEM;
}

static int
init_wake(struct actions *actions)
{
	pthread_condattr_t attributes;
	int error = pthread_condattr_init(&attributes);

	if (error != 0)
		return -error;
	error = pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
	if (error == 0)
		error = pthread_cond_init(&actions->wake, &attributes);
	pthread_condattr_destroy(&attributes);
	return -error;
}

static void
free_actions(struct actions *actions)
{
	free(actions->seen_ids);
	free(actions->seen_stamps);
	free(actions);
}

int
actions_open(struct actions **actions_out, const struct action_settings *settings, char *message,
	     size_t message_size)
{
	struct actions *actions = calloc(1, sizeof(*actions));
	int error;

	if (actions == NULL)
		return -ENOMEM;
	error = copy_settings(actions, settings, message, message_size);
	if (error == 0)
		error = allocate_seen(actions);
	if (error != 0) {
		free_actions(actions);
		return error;
	}
	actions->kind = kind_of(settings->format);
	error = actions->kind->open(&actions->settings, &actions->kind_state, message, message_size);
	if (error != 0) {
		free_actions(actions);
		return error;
	}
	pthread_mutex_init(&actions->lock, NULL);
	error = init_wake(actions);
	if (error == 0)
		error = output_thread_start(&actions->thread, actions_thread, actions, actions->owner);
	if (error != 0) {
		snprintf(message, message_size, "cannot start the actions' thread: %s", strerror(-error));
		actions->kind->close(actions->kind_state);
		pthread_mutex_destroy(&actions->lock);
		free_actions(actions);
		return error;
	}
	*actions_out = actions;
	return 0;
}

void
actions_close(struct actions *actions)
{
	if (actions == NULL)
		return;
	pthread_mutex_lock(&actions->lock);
	/* a close never waits for actions: the flush, on the polling thread, is where a drain waits */
	atomic_store_explicit(&actions->drain_deadline_ns, clock_monotonic_ns(),
			      memory_order_relaxed);
	actions->closing = true;
	wake_thread(actions);
	pthread_mutex_unlock(&actions->lock);
	pthread_join(actions->thread, NULL);
	actions->kind->close(actions->kind_state);
	pthread_cond_destroy(&actions->wake);
	pthread_mutex_destroy(&actions->lock);
	free_actions(actions);
}
