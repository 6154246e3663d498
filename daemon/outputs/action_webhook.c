/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Format webhook: each alert's jsonl line (without its newline) is the body
 * of one POST (Content-Type: application/json), up to `concurrency` of them
 * at once on one libcurl multi handle. An attempt that may work later (no
 * connection, no answer within `timeout`, HTTP 5xx or 429) is tried again,
 * backing off from 100 ms doubling to 5 s as the networked sinks do, for
 * `retry` after the first; the body is the same each time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "log_journal.h"
#include "outputs/actions_private.h"

#define BACKOFF_FIRST_NS (100 * UINT64_C(1000000))
#define BACKOFF_MAX_NS (5 * UINT64_C(1000000000))
/* A failing endpoint is logged at most this often while its POSTs are tried again. */
#define RETRY_LOG_INTERVAL_NS (60 * UINT64_C(1000000000))

struct webhook_state {
	char owner[64];
	char url[2048];
	uint64_t timeout_ns;
	uint64_t retry_ns;
	CURLM *multi;
	struct curl_slist *headers;
	_Atomic uint64_t retries; /* thread: wo; any thread: ro */
	uint64_t retry_logged_ns; /* thread only: CLOCK_MONOTONIC of the last retry's line */
};

static pthread_once_t curl_initialized = PTHREAD_ONCE_INIT;

static void
initialize_curl(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT); /* counted: the clickhouse format may call it too */
}

static void
webhook_close(void *state_pointer)
{
	struct webhook_state *state = state_pointer;

	if (state == NULL)
		return;
	curl_multi_cleanup(state->multi);
	curl_slist_free_all(state->headers);
	free(state);
}

static int
webhook_open(const struct action_settings *settings, void **state_out, char *message,
	     size_t message_size)
{
	struct webhook_state *state = calloc(1, sizeof(*state));

	if (state == NULL)
		return -ENOMEM;
	pthread_once(&curl_initialized, initialize_curl);
	snprintf(state->url, sizeof(state->url), "%s", settings->url);
	snprintf(state->owner, sizeof(state->owner), "%s", settings->owner);
	state->timeout_ns = settings->timeout_ns;
	state->retry_ns = settings->retry_ns;
	state->multi = curl_multi_init();
	state->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (state->headers != NULL) /* no 100-continue round trip for a small body */
		state->headers = curl_slist_append(state->headers, "Expect:");
	if (state->multi == NULL || state->headers == NULL) {
		snprintf(message, message_size, "cannot set up libcurl");
		webhook_close(state);
		return -ENOMEM;
	}
	curl_multi_setopt(state->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
			  (long)settings->concurrency);
	*state_out = state;
	return 0;
}

/* The answer's body is not kept: the status says what happened. */
static size_t
discard(char *data, size_t size, size_t count, void *user)
{
	(void)data, (void)user;
	return size * count;
}

static CURL *
new_transfer(const struct webhook_state *state, struct action_job *job)
{
	CURL *handle = curl_easy_init();
	long timeout_ms = (long)(state->timeout_ns / 1000000);

	if (handle == NULL)
		return NULL;
	curl_easy_setopt(handle, CURLOPT_URL, state->url);
	curl_easy_setopt(handle, CURLOPT_HTTPHEADER, state->headers);
	curl_easy_setopt(handle, CURLOPT_POSTFIELDS, job->line);
	curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(job->length - 1));
	curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L); /* a thread of its own: no SIGALRM */
	curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
	curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
	curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(handle, CURLOPT_PRIVATE, job);
	curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, NULL);
	return handle;
}

static void
attempt(struct webhook_state *state, struct action_job *job)
{
	if (curl_multi_add_handle(state->multi, job->transfer) != CURLM_OK) {
		snprintf(job->error, sizeof(job->error), "cannot start a transfer to %s", state->url);
		curl_easy_cleanup(job->transfer);
		job->transfer = NULL;
		job->outcome = ACTION_FAILED;
		return;
	}
	job->in_transfer = true;
}

static void
webhook_start(void *state_pointer, struct action_job *job, uint64_t now_ns)
{
	struct webhook_state *state = state_pointer;

	(void)now_ns;
	job->transfer = new_transfer(state, job);
	if (job->transfer == NULL) {
		snprintf(job->error, sizeof(job->error), "cannot set up a transfer");
		job->outcome = ACTION_FAILED;
		return;
	}
	job->outcome = ACTION_RUNNING;
	attempt(state, job);
}

/* Whether the endpoint may take it later: no answer, a server error, too many requests. */
static bool
may_work_later(CURLcode result, long status)
{
	return result != CURLE_OK || status >= 500 || status == 429;
}

static void
end_transfer(struct action_job *job, enum action_outcome outcome)
{
	curl_easy_cleanup(job->transfer);
	job->transfer = NULL;
	job->outcome = outcome;
}

/* One attempt ended: done, failed, or tried again after the backoff. */
static void
settle(struct webhook_state *state, struct action_job *job, CURLcode result, uint64_t now_ns)
{
	long status = 0;

	curl_multi_remove_handle(state->multi, job->transfer);
	job->in_transfer = false;
	curl_easy_getinfo(job->transfer, CURLINFO_RESPONSE_CODE, &status);
	if (result == CURLE_OK && status >= 200 && status < 300) {
		end_transfer(job, ACTION_SUCCEEDED);
		return;
	}
	if (result != CURLE_OK)
		snprintf(job->error, sizeof(job->error), "POST %s: %s", state->url,
			 curl_easy_strerror(result));
	else
		snprintf(job->error, sizeof(job->error), "POST %s: HTTP %ld", state->url, status);
	if (!may_work_later(result, status) || now_ns - job->started_ns >= state->retry_ns) {
		if (may_work_later(result, status))
			snprintf(job->error + strlen(job->error), sizeof(job->error) - strlen(job->error),
				 " (tried for %.3f s)", (double)(now_ns - job->started_ns) / 1e9);
		end_transfer(job, ACTION_FAILED);
		return;
	}
	job->backoff_ns = job->backoff_ns == 0 ? BACKOFF_FIRST_NS : job->backoff_ns * 2;
	if (job->backoff_ns > BACKOFF_MAX_NS)
		job->backoff_ns = BACKOFF_MAX_NS;
	job->deadline_ns = now_ns + job->backoff_ns;
	atomic_fetch_add_explicit(&state->retries, 1, memory_order_relaxed);
	if (state->retry_logged_ns != 0 && now_ns - state->retry_logged_ns < RETRY_LOG_INTERVAL_NS)
		return;
	state->retry_logged_ns = now_ns;
	log_message_fields(LOG_LEVEL_WARNING, &(struct log_fields){.kernel = state->owner},
			   "kernel '%s': %s, tried again in %" PRIu64 " ms (for retry: after the "
			   "first attempt; logged once a minute, the attempts counted as retries)",
			   state->owner, job->error, job->backoff_ns / 1000000);
}

static void
webhook_progress(void *state_pointer, struct action_job *jobs, uint64_t now_ns)
{
	struct webhook_state *state = state_pointer;
	int running, left;
	CURLMsg *message;

	curl_multi_perform(state->multi, &running);
	while ((message = curl_multi_info_read(state->multi, &left)) != NULL) {
		struct action_job *job = NULL;

		if (message->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, (char **)&job);
		settle(state, job, message->data.result, now_ns);
	}
	for (struct action_job *job = jobs; job != NULL; job = job->next)
		if (job->outcome == ACTION_RUNNING && !job->in_transfer && now_ns >= job->deadline_ns)
			attempt(state, job); /* its backoff is over */
}

static void
webhook_wait(void *state_pointer, uint64_t timeout_ns)
{
	struct webhook_state *state = state_pointer;

	curl_multi_poll(state->multi, NULL, 0, (int)(timeout_ns / 1000000), NULL);
}

static void
webhook_wake(void *state_pointer)
{
	struct webhook_state *state = state_pointer;

	curl_multi_wakeup(state->multi);
}

static void
webhook_abandon(void *state_pointer, struct action_job *job)
{
	struct webhook_state *state = state_pointer;

	if (job->in_transfer)
		curl_multi_remove_handle(state->multi, job->transfer);
	job->in_transfer = false;
	curl_easy_cleanup(job->transfer);
	job->transfer = NULL;
}

static uint64_t
webhook_retries(void *state_pointer)
{
	struct webhook_state *state = state_pointer;

	return atomic_load_explicit(&state->retries, memory_order_relaxed);
}

const struct action_kind action_webhook_kind = {
	.open = webhook_open,
	.start = webhook_start,
	.progress = webhook_progress,
	.wait = webhook_wait,
	.wake = webhook_wake,
	.abandon = webhook_abandon,
	.close = webhook_close,
	.retries = webhook_retries,
};
