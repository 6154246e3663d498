/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What every sink's I/O thread shares (line_writer, sqlite_writer): its
 * start with every signal blocked, and its wake-ups.
 *
 * A thread of a sink's own does the blocking I/O, so the thread that polls
 * the sink never waits on a disk or a store. It sleeps until the producer
 * signals a batch, a flush or a close asks, or its delay is up.
 *
 * Threads: signal from any thread; wait from the I/O thread only; init and
 * destroy from the thread that opens and closes the sink.
 */
#ifndef JETSTREAM_OUTPUTS_OUTPUT_THREAD_H
#define JETSTREAM_OUTPUTS_OUTPUT_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct output_wakeup {
	pthread_mutex_t lock;
	pthread_cond_t wake; /**< waited on with CLOCK_MONOTONIC deadlines */
	bool write_now;      /**< lock. A flush asks for everything waiting, now */
	bool closing;        /**< lock. Write everything out, then end the thread */
};

/** What a wait returns: the requests since the last wait. */
struct output_requests {
	bool write_now;
	bool closing;
};

/** @return 0, or -errno. */
int output_wakeup_init(struct output_wakeup *wakeup);

void output_wakeup_destroy(struct output_wakeup *wakeup);

/** Wake the thread, asking (when set) for a write now or for the close. */
void output_wakeup_signal(struct output_wakeup *wakeup, bool write_now, bool closing);

/**
 * Sleep until a flush or close asks, @p ready(@p context) is true (checked
 * under the lock, after each wake-up), or @p delay_ns has passed.
 * @return the requests; write_now is cleared for the next wait.
 */
struct output_requests output_wakeup_wait(struct output_wakeup *wakeup, uint64_t delay_ns,
					  bool (*ready)(const void *context), const void *context);

/**
 * Start @p main(@p argument) on a thread named "sink-OWNER" with every
 * signal blocked: signals are the control thread's (signalfd), and SIGPIPE
 * never hits an I/O thread either.
 * @return 0, or -errno.
 */
int output_thread_start(pthread_t *thread, void *(*main)(void *), void *argument,
			const char *owner);

#endif
