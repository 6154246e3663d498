/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * history's dumps asked for on the control socket (kernels/history.h): a
 * tcpdump filter and a range around now, admitted under the same limits as
 * the triggers' dumps, opened here and then written by the instance's writer
 * thread (history_dump.c); and their status, read under the dumps lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernel.h"
#include "kernels/history.h"
#include "kernels/history_private.h"
#include "log_journal.h"
#include "packet_filter.h"

/* ---- the control thread's dumps (history.h) ------------------------------ */

static uint64_t
control_trigger_time(struct history_state *state)
{
	if (state->live_clock)
		return kernel_now_ns();
	return atomic_load_explicit(&state->ring.newest_ns, memory_order_relaxed);
}

static void
describe_request(const struct history_state *state, const struct history_dump_request *request,
		 struct dump *dump)
{
	char range[256];

	history_describe_range(&dump->rule, range, sizeof(range));
	snprintf(dump->description, sizeof(dump->description),
		 "jetstream history dump by kernel '%s'\ntrigger: the control socket (dump %" PRIu64
		 ")\nfilter: %s\n%s",
		 state->name, dump->id,
		 request->filter != NULL && request->filter[0] != '\0' ? request->filter
									 : "(every packet)",
		 range);
}

static int
compile_request(const struct history_dump_request *request, struct dump *dump, char *error,
		size_t error_size)
{
	const char *expression = request->filter != NULL ? request->filter : "";

	/* held packets are bytes, not mbufs: libpcap's own filter matches them, no eBPF to load */
	return packet_filter_compile(expression, PACKET_FILTER_BYTES_ONLY, &dump->rule.filter, error,
				     error_size);
}

int
history_dump_start(struct kernel_instance *instance, const struct history_dump_request *request,
		   uint64_t *dump_id, char *path, size_t path_size, char *error, size_t error_size)
{
	struct history_state *state = instance->state;
	struct dump *dump = calloc(1, sizeof(*dump));
	char time[40], file[4096];
	const char *refusal;
	uint64_t id;
	int result;

	if (dump == NULL)
		return -ENOMEM;
	result = compile_request(request, dump, error, error_size);
	if (result < 0) {
		free(dump);
		return result;
	}
	history_rule_range(&dump->rule, control_trigger_time(state), request->before_ns, request->after_ns);
	pthread_mutex_lock(&state->lock);
	refusal = history_admit_dump(state, dump->rule.trigger_ns);
	if (refusal == NULL)
		dump->id = history_next_dump_id();
	pthread_mutex_unlock(&state->lock);
	if (refusal != NULL) {
		snprintf(error, error_size, "%s", refusal);
		packet_filter_free(dump->rule.filter);
		free(dump);
		return -EBUSY;
	}
	describe_request(state, request, dump);
	history_format_time(dump->rule.trigger_ns, true, time, sizeof(time));
	if (request->path != NULL)
		snprintf(file, sizeof(file), "%s", request->path);
	else
		snprintf(file, sizeof(file), "%s/%s-%s-dump%" PRIu64 ".pcapng",
			 state->params->dump_dir, state->name, time, dump->id);
	result = history_open_dump_file(state, dump, file, error, error_size);
	id = dump->id; /* once published, the writer thread owns the dump (and may free it) */
	pthread_mutex_lock(&state->lock);
	if (result < 0)
		history_release_slot(state);
	else
		history_publish_dump(state, dump);
	pthread_mutex_unlock(&state->lock);
	if (result < 0) {
		packet_filter_free(dump->rule.filter);
		free(dump);
		return result;
	}
	*dump_id = id;
	snprintf(path, path_size, "%s", file);
	log_kernel(LOG_LEVEL_INFO, state->name, "dump %" PRIu64 " opened from the control socket: %s",
		   id, file);
	return 0;
}

int
history_dump_status(struct kernel_instance *instance, uint64_t dump_id,
		    struct history_dump_status *status)
{
	struct history_state *state = instance->state;
	int result = -ENOENT;

	pthread_mutex_lock(&state->lock);
	for (struct dump *dump = state->dumps; dump != NULL; dump = dump->next)
		if (dump->id == dump_id) {
			*status = dump->status;
			result = 0;
			break;
		}
	pthread_mutex_unlock(&state->lock);
	return result;
}
