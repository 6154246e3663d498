/* SPDX-License-Identifier: BSD-3-Clause */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "clock.h"
#include "outputs/output_thread.h"

#define NANOSECONDS_PER_SECOND UINT64_C(1000000000)

int
output_wakeup_init(struct output_wakeup *wakeup)
{
	pthread_condattr_t attributes;
	int error;

	*wakeup = (struct output_wakeup){.write_now = false};
	pthread_mutex_init(&wakeup->lock, NULL);
	pthread_condattr_init(&attributes);
	pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC); /* the deadlines' clock */
	error = pthread_cond_init(&wakeup->wake, &attributes);
	pthread_condattr_destroy(&attributes);
	if (error != 0)
		pthread_mutex_destroy(&wakeup->lock);
	return -error;
}

void
output_wakeup_destroy(struct output_wakeup *wakeup)
{
	pthread_cond_destroy(&wakeup->wake);
	pthread_mutex_destroy(&wakeup->lock);
}

void
output_wakeup_signal(struct output_wakeup *wakeup, bool write_now, bool closing)
{
	pthread_mutex_lock(&wakeup->lock);
	wakeup->write_now |= write_now;
	wakeup->closing |= closing;
	pthread_cond_signal(&wakeup->wake);
	pthread_mutex_unlock(&wakeup->lock);
}

struct output_requests
output_wakeup_wait(struct output_wakeup *wakeup, uint64_t delay_ns,
		   bool (*ready)(const void *context), const void *context)
{
	uint64_t deadline_ns = clock_monotonic_ns() + delay_ns;
	struct timespec deadline = {(time_t)(deadline_ns / NANOSECONDS_PER_SECOND),
				    (long)(deadline_ns % NANOSECONDS_PER_SECOND)};
	struct output_requests requests;

	pthread_mutex_lock(&wakeup->lock);
	while (!wakeup->closing && !wakeup->write_now && !ready(context))
		if (pthread_cond_timedwait(&wakeup->wake, &wakeup->lock, &deadline) == ETIMEDOUT)
			break;
	requests = (struct output_requests){.write_now = wakeup->write_now,
					    .closing = wakeup->closing};
	wakeup->write_now = false;
	pthread_mutex_unlock(&wakeup->lock);
	return requests;
}

int
output_thread_start(pthread_t *thread, void *(*main)(void *), void *argument, const char *owner)
{
	sigset_t all, previous;
	char name[16];
	int error;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &previous);
	error = pthread_create(thread, NULL, main, argument);
	pthread_sigmask(SIG_SETMASK, &previous, NULL);
	if (error == 0) {
		snprintf(name, sizeof(name), "sink-%s", owner); /* cut to the 15 bytes a name holds */
		pthread_setname_np(*thread, name);
	}
	return -error;
}
