/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sink: writes records to a file or stdout, or (format null) discards
 * packets and records, only counting them.
 *
 * A sink that writes does blocking I/O, so it runs on the control thread,
 * never on a worker lcore: a slow disk then delays records (which wait in
 * their rings, applying backpressure to the kernels that aggregate them) but
 * never stalls packet reception. A null sink does no I/O, so it runs on a
 * worker like any other kernel: benchmarks measure the datapath, not the
 * control thread's polling.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel.h"
#include "outputs/jsonl.h"

enum sink_format { SINK_FORMAT_JSONL = 0, SINK_FORMAT_NULL };

struct sink_params {
	uint32_t format; /* enum sink_format */
	char path[PATH_MAX];
};

static const char *const format_names[] = {"jsonl", "null", NULL};

static const struct config_field sink_fields[] = {
	{.key = "format", .type = CONFIG_CHOICE, .offset = offsetof(struct sink_params, format),
	 .choices = format_names, .default_value = "jsonl",
	 .description = "record encoding: `jsonl` (one JSON object per line), or `null`: discard "
			"packets and records, only counting them (no `path`; runs on a worker lcore)"},
	{.key = "path", .type = CONFIG_STRING, .offset = offsetof(struct sink_params, path),
	 .size = sizeof(((struct sink_params *)0)->path),
	 .description = "file to append records to, or `-` for standard output (required with "
			"`jsonl`)"},
	{.key = NULL},
};

/*
 * Lines are gathered in a buffer and written whole, with one write(2) on an
 * O_APPEND descriptor: another writer of the same file (the sink a reload
 * replaces, still draining) can interleave lines but never split one, which
 * stdio's fixed-size flushes would.
 */
#define SINK_BUFFER_SIZE (64 * 1024)

struct sink_state {
	int descriptor;
	bool owns_descriptor; /* false for stdout */
	size_t buffered;
	char buffer[SINK_BUFFER_SIZE];
	uint64_t records;
	uint64_t packets; /* format null only: jsonl sinks take no packets */
	uint64_t write_errors;
	uint64_t records_at_last_flush;
	uint64_t next_flush_ns;
};

/* Live pipelines: records reach the file within this delay, not when a buffer fills. */
#define SINK_FLUSH_INTERVAL_NS 1000000000ull

static void
sink_check(const void *params_pointer, struct config_check_context *context)
{
	const struct sink_params *params = params_pointer;
	char directory[PATH_MAX];

	if (params->format == SINK_FORMAT_NULL) {
		if (config_check_key_set(context, "path"))
			config_check_error(context, "path",
					   "'path' does not apply with format null (nothing is written)");
		return;
	}
	if (!config_check_key_set(context, "path")) {
		config_check_error(context, NULL, "'path' is required with format jsonl");
		return;
	}
	if (strcmp(params->path, "-") == 0)
		return;
	snprintf(directory, sizeof(directory), "%s", params->path);
	if (access(dirname(directory), W_OK) != 0)
		config_check_error(context, "path", "cannot write in the directory of '%s': %s",
				   params->path, strerror(errno));
}

static bool
sink_runs_on_control_thread(const void *params_pointer)
{
	const struct sink_params *params = params_pointer;

	return params->format != SINK_FORMAT_NULL;
}

/* Only what is discarded can be packets: an encoding has nothing to say about an mbuf. */
static enum stream_type
sink_accepted_input_type(const void *params_pointer)
{
	const struct sink_params *params = params_pointer;

	return params->format == SINK_FORMAT_NULL ? STREAM_ANY : STREAM_ANY_RECORD;
}

static int
sink_init(struct kernel_instance *instance)
{
	const struct sink_params *params = instance->params;
	struct sink_state *state = calloc(1, sizeof(*state));

	if (state == NULL)
		return -ENOMEM;
	if (params->format == SINK_FORMAT_NULL) {
		state->descriptor = -1;
		instance->state = state;
		return 0;
	}
	if (strcmp(params->path, "-") == 0) {
		state->descriptor = STDOUT_FILENO;
	} else {
		state->descriptor = open(params->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		state->owns_descriptor = true;
	}
	if (state->descriptor < 0) {
		int error = errno;

		snprintf(instance->error, sizeof(instance->error), "cannot open '%s': %s", params->path,
			 strerror(error));
		free(state);
		return -error;
	}
	instance->state = state;
	return 0;
}

static void
note_write_error(struct kernel_instance *instance, const char *what)
{
	struct sink_state *state = instance->state;

	if (state->write_errors++ == 0)
		snprintf(instance->error, sizeof(instance->error), "write failed: %s", what);
}

/* Write out the buffered lines; on failure they are counted lost, not retried forever. */
static void
write_buffer(struct kernel_instance *instance)
{
	struct sink_state *state = instance->state;
	size_t written = 0;

	while (written < state->buffered) {
		ssize_t result = write(state->descriptor, state->buffer + written,
				       state->buffered - written);

		if (result < 0 && errno == EINTR)
			continue;
		if (result <= 0) {
			note_write_error(instance, result < 0 ? strerror(errno) : "nothing written");
			break;
		}
		written += (size_t)result;
	}
	state->buffered = 0;
}

static void
sink_write(struct kernel_instance *instance, const union any_record *record)
{
	struct sink_state *state = instance->state;
	size_t length;

	if (SINK_BUFFER_SIZE - state->buffered < JSONL_LINE_MAX)
		write_buffer(instance);
	length = jsonl_format_record(record, state->buffer + state->buffered, JSONL_LINE_MAX);
	if (length == 0 || length >= JSONL_LINE_MAX) {
		note_write_error(instance, length == 0 ? "unknown record type"
						       : "record longer than a line may be");
		return;
	}
	state->buffered += length;
	state->records++;
}

/* Format null: a worker lcore runs this, so no syscalls, only counting and freeing. */
static unsigned
sink_discard(struct kernel_instance *instance)
{
	struct sink_state *state = instance->state;
	union {
		struct rte_mbuf *packets[KERNEL_BURST];
		union any_record records[KERNEL_BURST];
	} items;
	enum stream_type type;
	unsigned received = kernel_receive(instance, &items, KERNEL_BURST, &type);

	if (received == 0)
		return 0;
	if (type == STREAM_PACKET) {
		rte_pktmbuf_free_bulk(items.packets, received);
		state->packets += received;
	} else {
		state->records += received;
	}
	instance->counters.items_in += received;
	return received;
}

static unsigned
sink_process(struct kernel_instance *instance)
{
	const struct sink_params *params = instance->params;
	union any_record records[KERNEL_BURST];
	enum stream_type type;
	unsigned received, element_size;

	if (params->format == SINK_FORMAT_NULL)
		return sink_discard(instance);
	received = kernel_receive(instance, records, KERNEL_BURST, &type);
	element_size = stream_element_size(type);

	/* Records arrive packed at their ring's element size, not at sizeof(union any_record). */
	for (unsigned i = 0; i < received; i++) {
		union any_record record;

		memcpy(&record, (const char *)records + (size_t)i * element_size, element_size);
		sink_write(instance, &record);
	}
	instance->counters.items_in += received;
	return received;
}

static bool
sink_flush(struct kernel_instance *instance)
{
	write_buffer(instance); /* nothing is ever buffered with format null: no syscall */
	return true;
}

static void
sink_tick(struct kernel_instance *instance, uint64_t now_ns)
{
	const struct sink_params *params = instance->params;
	struct sink_state *state = instance->state;

	if (params->format == SINK_FORMAT_NULL)
		return; /* nothing buffered, and a worker must not write */
	if (now_ns < state->next_flush_ns || state->records == state->records_at_last_flush)
		return;
	sink_flush(instance);
	state->records_at_last_flush = state->records;
	state->next_flush_ns = now_ns + SINK_FLUSH_INTERVAL_NS;
}

static unsigned
sink_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	const struct sink_params *params = instance->params;
	const struct sink_state *state = instance->state;

	if (params->format == SINK_FORMAT_NULL) {
		stats[0] = (struct kernel_stat){"packets", state->packets};
		stats[1] = (struct kernel_stat){"records", state->records};
		return 2;
	}
	stats[0] = (struct kernel_stat){"records", state->records};
	stats[1] = (struct kernel_stat){"write_errors", state->write_errors};
	return 2;
}

static void
sink_destroy(struct kernel_instance *instance)
{
	struct sink_state *state = instance->state;

	if (state == NULL)
		return;
	write_buffer(instance);
	if (state->owns_descriptor)
		close(state->descriptor);
	free(state);
	instance->state = NULL;
}

const struct kernel_ops sink_kernel = {
	.name = "sink",
	.description = "Writes records to a file or stdout, or (`format: null`) discards packets "
		       "and records",
	.input_type = STREAM_ANY_RECORD,
	.accepted_input_type = sink_accepted_input_type,
	.output_type = STREAM_NONE,
	.multiple_inputs = true,
	.replicable = false,
	.runs_on_control_thread = sink_runs_on_control_thread,
	.params_size = sizeof(struct sink_params),
	.config_map = sink_fields,
	.check = sink_check,
	.init = sink_init,
	.process = sink_process,
	.flush = sink_flush,
	.tick = sink_tick,
	.stats = sink_stats,
	.destroy = sink_destroy,
};
