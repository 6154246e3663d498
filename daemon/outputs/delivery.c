/* SPDX-License-Identifier: BSD-3-Clause */
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
#include "log.h"
#include "outputs/delivery.h"
#include "outputs/output_thread.h"

#define NANOSECONDS_PER_SECOND UINT64_C(1000000000)
#define BACKOFF_FIRST_NS (100 * UINT64_C(1000000))
#define BACKOFF_MAX_NS (5 * NANOSECONDS_PER_SECOND)
/* A failure that goes on is logged again at most this often (and each time its text changes). */
#define REPEAT_LOG_INTERVAL_NS (60 * NANOSECONDS_PER_SECOND)
/* A batch's bytes start at this and double: a few reallocations for a batch of 10000 lines. */
#define BATCH_FIRST_BYTES (64 * 1024)
/* Distinct refusals remembered, so each is logged once (a schema error repeats per batch). */
#define REFUSALS_REMEMBERED 16
#define ERROR_TEXT_SIZE 512

/* Lines for one destination, appended in order; sent as they are, retried identical. */
struct batch {
	struct batch *next;
	unsigned destination;
	unsigned rows;
	size_t length;
	size_t allocated;
	uint64_t opened_ns;   /* CLOCK_MONOTONIC of its first line */
	char *data;
};

/* State of the delivery thread alone: how attempts are failing, and what was logged. */
struct failure_state {
	uint64_t backoff_ns;          /* 0: the last attempt succeeded */
	uint64_t retry_at_ns;         /* CLOCK_MONOTONIC of the next attempt */
	uint64_t failed_attempts;     /* since the last success */
	char logged_text[ERROR_TEXT_SIZE];
	uint64_t logged_ns;
	uint64_t refusals[REFUSALS_REMEMBERED]; /* hashes of the refusal texts logged */
	unsigned refusal_count;       /* of refusals[] in use */
	unsigned refusal_next;        /* the slot the next new text takes: the oldest, once full */
};

struct delivery {
	/* Set by open, then read-only for every thread. */
	char owner[64];
	char names[DELIVERY_MAX_DESTINATIONS][256];
	uint64_t capacity;
	unsigned batch_rows;
	uint64_t batch_delay_ns;
	uint64_t drain_timeout_ns;
	unsigned destination_count;
	delivery_send_fn send;
	void *transport;
	pthread_t thread;

	/*
	 * Batches. The producer appends to the open ones and closes them onto
	 * the ready list; the thread sends from its head. The head's lines are
	 * read by the thread outside the lock while it is sending: only the
	 * thread takes batches off the list, and the producer never touches a
	 * closed batch, so that is safe.
	 */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct batch *open[DELIVERY_MAX_DESTINATIONS]; /* lock */
	struct batch *ready_head;                      /* lock */
	struct batch *ready_tail;                      /* lock */
	bool flushing;                                 /* lock. Close every batch at once */
	bool closing;                                  /* lock. End the thread once all is done */
	_Atomic uint64_t drain_deadline_ns;            /* lock: wo; any thread: ro. 0: none yet */
	_Atomic uint64_t waiting_bytes;                /* lock: rw; producer: ro (relaxed) */
	_Atomic uint64_t buffer_max_bytes;             /* lock: rw; others: ro (relaxed) */

	/* Figures: the thread writes them (sink_full: the producer); others read (relaxed). */
	_Atomic uint64_t records;
	_Atomic uint64_t dropped_sink_full;
	_Atomic uint64_t dropped_refused;
	_Atomic uint64_t dropped_drain_timeout;
	_Atomic uint64_t batches;
	_Atomic uint64_t retries;
	_Atomic uint64_t bytes;
	_Atomic uint64_t last_error_seconds;

	struct failure_state failure; /* thread only */
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

static void
free_batch(struct batch *batch)
{
	if (batch == NULL)
		return;
	free(batch->data);
	free(batch);
}

/* ---- the producer ----------------------------------------------------------- */

size_t
delivery_space(struct delivery *delivery)
{
	uint64_t waiting = load(&delivery->waiting_bytes);

	return waiting < delivery->capacity ? (size_t)(delivery->capacity - waiting) : 0;
}

/* The bytes of the first lines of @p lines, at most @p most of them; their count in @p rows. */
static size_t
first_lines(const char *lines, size_t length, unsigned most, unsigned *rows)
{
	size_t taken = 0;

	*rows = 0;
	while (taken < length && *rows < most) {
		const char *newline = memchr(lines + taken, '\n', length - taken);

		taken = newline == NULL ? length : (size_t)(newline - lines) + 1;
		(*rows)++;
	}
	return taken;
}

/* lock held. Move destination @p destination's open batch to the ready list, and say so. */
static void
close_batch(struct delivery *delivery, unsigned destination)
{
	struct batch *batch = delivery->open[destination];

	if (batch == NULL)
		return;
	delivery->open[destination] = NULL;
	if (delivery->ready_tail != NULL)
		delivery->ready_tail->next = batch;
	else
		delivery->ready_head = batch;
	delivery->ready_tail = batch;
	pthread_cond_signal(&delivery->wake);
}

/* lock held. The open batch of @p destination with room for @p length bytes more, or NULL. */
static struct batch *
batch_with_room(struct delivery *delivery, unsigned destination, size_t length)
{
	struct batch *batch = delivery->open[destination];
	size_t allocated;
	char *data;

	if (batch == NULL) {
		batch = calloc(1, sizeof(*batch));
		if (batch == NULL)
			return NULL;
		batch->destination = destination;
		batch->opened_ns = clock_monotonic_ns();
		delivery->open[destination] = batch;
		pthread_cond_signal(&delivery->wake); /* its delay starts: the thread's wait changes */
	}
	if (batch->length + length <= batch->allocated)
		return batch;
	allocated = batch->allocated > 0 ? batch->allocated : BATCH_FIRST_BYTES;
	while (allocated < batch->length + length)
		allocated *= 2;
	data = realloc(batch->data, allocated);
	if (data == NULL) {
		if (batch->length == 0) { /* a batch opened for these lines: it must not go out empty */
			delivery->open[destination] = NULL;
			free(batch->data);
			free(batch);
		}
		return NULL;
	}
	batch->data = data;
	batch->allocated = allocated;
	return batch;
}

/*
 * lock held. Add lines to open batches of @p destination, closing each at
 * batch_rows lines. @return the bytes added: less than @p length (whole
 * lines) when memory ran out.
 */
static size_t
append_lines(struct delivery *delivery, unsigned destination, const char *lines, size_t length)
{
	size_t added = 0;

	while (added < length) {
		const struct batch *open = delivery->open[destination];
		unsigned room = delivery->batch_rows - (open != NULL ? open->rows : 0), rows;
		size_t piece = first_lines(lines + added, length - added, room, &rows);
		struct batch *batch = batch_with_room(delivery, destination, piece);

		if (batch == NULL)
			break;
		memcpy(batch->data + batch->length, lines + added, piece);
		batch->length += piece;
		batch->rows += rows;
		if (batch->rows >= delivery->batch_rows)
			close_batch(delivery, destination);
		added += piece;
	}
	return added;
}

static unsigned
count_lines(const char *lines, size_t length)
{
	unsigned rows;

	first_lines(lines, length, UINT32_MAX, &rows);
	return rows;
}

void
delivery_append(struct delivery *delivery, unsigned destination, const char *lines,
		size_t length)
{
	uint64_t waiting;
	size_t added = 0;

	if (length == 0)
		return;
	pthread_mutex_lock(&delivery->lock);
	waiting = load(&delivery->waiting_bytes);
	/*
	 * Out of memory is the same as out of room: the lines not added are the
	 * newest, and counted; those added wait like any other.
	 */
	if (waiting + length <= delivery->capacity)
		added = append_lines(delivery, destination, lines, length);
	waiting += added;
	atomic_store_explicit(&delivery->waiting_bytes, waiting, memory_order_relaxed);
	if (waiting > load(&delivery->buffer_max_bytes))
		atomic_store_explicit(&delivery->buffer_max_bytes, waiting, memory_order_relaxed);
	pthread_mutex_unlock(&delivery->lock);
	if (added < length)
		add(&delivery->dropped_sink_full, count_lines(lines + added, length - added));
}

/* lock held. From the first call on, batches close at once and the drain timeout runs. */
static void
start_drain(struct delivery *delivery)
{
	if (delivery->flushing)
		return;
	delivery->flushing = true;
	atomic_store_explicit(&delivery->drain_deadline_ns,
			      clock_monotonic_ns() + delivery->drain_timeout_ns,
			      memory_order_relaxed);
	pthread_cond_signal(&delivery->wake);
}

bool
delivery_flush(struct delivery *delivery)
{
	bool done;

	pthread_mutex_lock(&delivery->lock);
	start_drain(delivery);
	done = load(&delivery->waiting_bytes) == 0;
	pthread_mutex_unlock(&delivery->lock);
	return done;
}

bool
delivery_past_deadline(const struct delivery *delivery)
{
	uint64_t deadline = atomic_load_explicit(&delivery->drain_deadline_ns, memory_order_relaxed);

	return deadline != 0 && clock_monotonic_ns() >= deadline;
}

void
delivery_figures(struct delivery *delivery, struct delivery_figures *figures)
{
	*figures = (struct delivery_figures){
		.records = load(&delivery->records),
		.dropped_sink_full = load(&delivery->dropped_sink_full),
		.dropped_refused = load(&delivery->dropped_refused),
		.dropped_drain_timeout = load(&delivery->dropped_drain_timeout),
		.batches = load(&delivery->batches),
		.retries = load(&delivery->retries),
		.bytes = load(&delivery->bytes),
		.buffer_bytes = load(&delivery->waiting_bytes),
		.buffer_max_bytes = load(&delivery->buffer_max_bytes),
		.last_error_seconds = load(&delivery->last_error_seconds),
	};
	figures->dropped_records = figures->dropped_sink_full + figures->dropped_refused +
				   figures->dropped_drain_timeout;
}

/* ---- the delivery thread ---------------------------------------------------- */

static uint64_t
text_hash(const char *text)
{
	uint64_t hash = UINT64_C(14695981039346656037); /* FNV-1a */

	for (; *text != '\0'; text++)
		hash = (hash ^ (unsigned char)*text) * UINT64_C(1099511628211);
	return hash;
}

/* A refusal is logged the first time its text is seen (the store's message says why). */
static void
log_refusal(struct delivery *delivery, const struct batch *batch, const char *error)
{
	struct failure_state *failure = &delivery->failure;
	uint64_t hash = text_hash(error);

	for (unsigned r = 0; r < failure->refusal_count; r++)
		if (failure->refusals[r] == hash)
			return;
	failure->refusals[failure->refusal_next] = hash;
	failure->refusal_next = (failure->refusal_next + 1) % REFUSALS_REMEMBERED;
	if (failure->refusal_count < REFUSALS_REMEMBERED)
		failure->refusal_count++;
	log_error("%s: %s refused %u records (dropped_refused; each distinct refusal is logged "
		  "once): %s", delivery->owner, delivery->names[batch->destination], batch->rows,
		  error);
}

/* A failed attempt is logged when its text changes, then once a minute while it persists. */
static void
log_retry(struct delivery *delivery, const struct batch *batch, const char *error)
{
	struct failure_state *failure = &delivery->failure;
	uint64_t now = clock_monotonic_ns();

	if (strcmp(failure->logged_text, error) == 0 &&
	    now - failure->logged_ns < REPEAT_LOG_INTERVAL_NS)
		return;
	snprintf(failure->logged_text, sizeof(failure->logged_text), "%s", error);
	failure->logged_ns = now;
	log_warning("%s: sending to %s failed, retried in %" PRIu64 " ms (backing off to 5 s; %" PRIu64
		    " attempts failed so far): %s", delivery->owner,
		    delivery->names[batch->destination], failure->backoff_ns / 1000000,
		    failure->failed_attempts, error);
}

static void
note_failure(struct delivery *delivery)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	atomic_store_explicit(&delivery->last_error_seconds, (uint64_t)now.tv_sec,
			      memory_order_relaxed);
}

/* A retry-later: back off (100 ms doubling to 5 s) before the same batch goes again. */
static void
back_off(struct delivery *delivery, const struct batch *batch, const char *error)
{
	struct failure_state *failure = &delivery->failure;

	failure->failed_attempts++;
	failure->backoff_ns = failure->backoff_ns == 0 ? BACKOFF_FIRST_NS : failure->backoff_ns * 2;
	if (failure->backoff_ns > BACKOFF_MAX_NS)
		failure->backoff_ns = BACKOFF_MAX_NS;
	failure->retry_at_ns = clock_monotonic_ns() + failure->backoff_ns;
	add(&delivery->retries, 1);
	note_failure(delivery);
	log_retry(delivery, batch, error);
}

static void
note_success(struct delivery *delivery, const struct batch *batch)
{
	struct failure_state *failure = &delivery->failure;

	if (failure->failed_attempts > 0)
		log_info("%s: sending to %s works again (after %" PRIu64 " failed attempts)",
			 delivery->owner, delivery->names[batch->destination],
			 failure->failed_attempts);
	failure->failed_attempts = 0;
	failure->backoff_ns = 0;
	failure->logged_text[0] = '\0';
	add(&delivery->records, batch->rows);
	add(&delivery->bytes, batch->length);
	add(&delivery->batches, 1);
}

/* lock held. Take the head batch off the list (it was sent, refused or given up). */
static void
retire_head(struct delivery *delivery)
{
	struct batch *batch = delivery->ready_head;

	delivery->ready_head = batch->next;
	if (delivery->ready_head == NULL)
		delivery->ready_tail = NULL;
	atomic_store_explicit(&delivery->waiting_bytes, load(&delivery->waiting_bytes) - batch->length,
			      memory_order_relaxed);
	free_batch(batch);
}

/* lock held. Close the open batches that are due: all of them when draining. */
static void
close_due_batches(struct delivery *delivery, uint64_t now)
{
	for (unsigned d = 0; d < delivery->destination_count; d++) {
		const struct batch *batch = delivery->open[d];

		if (batch != NULL &&
		    (delivery->flushing || now - batch->opened_ns >= delivery->batch_delay_ns))
			close_batch(delivery, d);
	}
}

/*
 * lock held. When the thread has something to do next: a batch's delay, a
 * retry, or the drain deadline while anything waits (with nothing waiting, a
 * deadline that has passed would be a wait that ends at once, a spin).
 */
static uint64_t
next_event_ns(const struct delivery *delivery)
{
	uint64_t next = UINT64_MAX, deadline = load(&delivery->drain_deadline_ns);

	for (unsigned d = 0; d < delivery->destination_count; d++)
		if (delivery->open[d] != NULL &&
		    delivery->open[d]->opened_ns + delivery->batch_delay_ns < next)
			next = delivery->open[d]->opened_ns + delivery->batch_delay_ns;
	if (delivery->ready_head != NULL && delivery->failure.retry_at_ns < next)
		next = delivery->failure.retry_at_ns;
	if (deadline != 0 && deadline < next && load(&delivery->waiting_bytes) > 0)
		next = deadline;
	return next;
}

/* lock held. Sleep on `wake` until @p until_ns (CLOCK_MONOTONIC; UINT64_MAX: until woken). */
static void
wait_until(struct delivery *delivery, uint64_t until_ns)
{
	struct timespec until = {(time_t)(until_ns / NANOSECONDS_PER_SECOND),
				 (long)(until_ns % NANOSECONDS_PER_SECOND)};

	if (until_ns == UINT64_MAX)
		pthread_cond_wait(&delivery->wake, &delivery->lock);
	else
		pthread_cond_timedwait(&delivery->wake, &delivery->lock, &until);
}

/* lock held. The drain timeout passed: what waits is counted as dropped_drain_timeout. */
static void
abandon_everything(struct delivery *delivery)
{
	uint64_t rows = 0;

	close_due_batches(delivery, clock_monotonic_ns()); /* draining: closes all */
	for (const struct batch *batch = delivery->ready_head; batch != NULL; batch = batch->next)
		rows += batch->rows;
	while (delivery->ready_head != NULL)
		retire_head(delivery);
	if (rows > 0)
		log_error("%s: %" PRIu64 " records not delivered within drain_timeout "
			  "(dropped_drain_timeout)", delivery->owner, rows);
	add(&delivery->dropped_drain_timeout, rows);
}

/* lock held, released during the send. Send the head batch once and settle its outcome. */
static void
attempt_head(struct delivery *delivery)
{
	struct batch *batch = delivery->ready_head;
	char error[ERROR_TEXT_SIZE] = "";
	int result;

	pthread_mutex_unlock(&delivery->lock);
	result = delivery->send(delivery->transport, delivery->names[batch->destination],
				batch->data, batch->length, batch->rows, error, sizeof(error));
	if (result == DELIVERY_SENT)
		note_success(delivery, batch);
	else if (result == DELIVERY_REFUSED)
		log_refusal(delivery, batch, error);
	else if (!delivery_past_deadline(delivery)) /* else abandoned at drain_timeout: no retry */
		back_off(delivery, batch, error);
	if (result == DELIVERY_REFUSED) {
		add(&delivery->dropped_refused, batch->rows);
		note_failure(delivery);
	}
	pthread_mutex_lock(&delivery->lock);
	if (result != DELIVERY_RETRY)
		retire_head(delivery);
}

static void *
delivery_thread(void *argument)
{
	struct delivery *delivery = argument;

	pthread_mutex_lock(&delivery->lock);
	for (;;) {
		uint64_t now = clock_monotonic_ns();

		close_due_batches(delivery, now);
		if (delivery->ready_head == NULL && delivery->closing)
			break; /* closing drains: every open batch was just closed and sent */
		if (delivery->ready_head != NULL && delivery_past_deadline(delivery))
			abandon_everything(delivery);
		else if (delivery->ready_head != NULL && now >= delivery->failure.retry_at_ns)
			attempt_head(delivery);
		else
			wait_until(delivery, next_event_ns(delivery));
	}
	pthread_mutex_unlock(&delivery->lock);
	return NULL;
}

/* ---- open and close --------------------------------------------------------- */

static void
copy_settings(struct delivery *delivery, const struct delivery_settings *settings)
{
	snprintf(delivery->owner, sizeof(delivery->owner), "%s", settings->owner);
	for (unsigned d = 0; d < settings->destination_count; d++)
		snprintf(delivery->names[d], sizeof(delivery->names[d]), "%s",
			 settings->destinations[d]);
	delivery->capacity = settings->capacity;
	delivery->batch_rows = settings->batch_rows > 0 ? settings->batch_rows : 1;
	delivery->batch_delay_ns = settings->batch_delay_ns;
	delivery->drain_timeout_ns = settings->drain_timeout_ns;
	delivery->destination_count = settings->destination_count;
	delivery->send = settings->send;
	delivery->transport = settings->transport;
}

/* A condition variable on CLOCK_MONOTONIC, the clock of every time here. */
static int
init_wake(struct delivery *delivery)
{
	pthread_condattr_t attributes;
	int error = pthread_condattr_init(&attributes);

	if (error != 0)
		return error;
	error = pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
	if (error == 0)
		error = pthread_cond_init(&delivery->wake, &attributes);
	pthread_condattr_destroy(&attributes);
	return error;
}

int
delivery_open(struct delivery **delivery_out, const struct delivery_settings *settings,
	      char *message, size_t message_size)
{
	struct delivery *delivery;
	int error;

	if (settings->destination_count == 0 ||
	    settings->destination_count > DELIVERY_MAX_DESTINATIONS) {
		snprintf(message, message_size, "%u destinations (1 to %d)",
			 settings->destination_count, DELIVERY_MAX_DESTINATIONS);
		return -EINVAL;
	}
	delivery = calloc(1, sizeof(*delivery));
	if (delivery == NULL)
		return -ENOMEM;
	copy_settings(delivery, settings);
	pthread_mutex_init(&delivery->lock, NULL);
	error = init_wake(delivery);
	if (error == 0)
		error = -output_thread_start(&delivery->thread, delivery_thread, delivery,
					     delivery->owner);
	if (error != 0) {
		snprintf(message, message_size, "cannot start the delivery thread: %s",
			 strerror(error));
		pthread_mutex_destroy(&delivery->lock);
		free(delivery);
		return -error;
	}
	*delivery_out = delivery;
	return 0;
}

void
delivery_close(struct delivery *delivery)
{
	if (delivery == NULL)
		return;
	pthread_mutex_lock(&delivery->lock);
	start_drain(delivery);
	/*
	 * The flush, on the polling thread, is where a drain waits; a close (the
	 * control thread) never waits on the store: what is left now, after a
	 * failed start or a graph released unfinished, is drain_timeout's.
	 */
	atomic_store_explicit(&delivery->drain_deadline_ns, clock_monotonic_ns(),
			      memory_order_relaxed);
	delivery->closing = true;
	pthread_cond_signal(&delivery->wake);
	pthread_mutex_unlock(&delivery->lock);
	pthread_join(delivery->thread, NULL);
	pthread_cond_destroy(&delivery->wake);
	pthread_mutex_destroy(&delivery->lock);
	free(delivery);
}
