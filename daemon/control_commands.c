/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket's protocol (control_commands.h). Requests are parsed
 * with jansson and unpacked strictly: a request with a key its command does
 * not take, or a value of the wrong type, is refused with jansson's own
 * description of the mismatch.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_alerts.h"
#include "control_commands.h"
#include "control_dump.h"
#include "control_protocol.h"
#include "graph.h"
#include "kernels/per_src_counter.h"
#include "packet.h"
#include "runtime.h"
#include "status.h"
#include "status_json.h"

/* cp only: set once by control_commands_attach() */
static struct {
	const struct control_sources *sources;
	struct config *const *running;
} attached;

/* `sources` answers this many keys when the request does not say. */
#define SOURCES_DEFAULT_COUNT 10

void
control_commands_attach(const struct control_sources *sources, struct config *const *running)
{
	attached.sources = sources;
	attached.running = running;
}

json_t *
control_commands_error(const char *format, ...)
{
	char message[1024];
	va_list arguments;

	va_start(arguments, format);
	vsnprintf(message, sizeof(message), format, arguments);
	va_end(arguments);
	return json_pack("{s:b, s:s}", "ok", 0, "error", message);
}

/* The error lines of a refusal as a JSON array. */
static json_t *
error_lines(const struct reload_outcome *outcome)
{
	json_t *lines = json_array();

	for (unsigned i = 0; lines != NULL && i < outcome->error_count; i++)
		if (json_array_append_new(lines, json_string(outcome->errors[i])) != 0) {
			json_decref(lines);
			return NULL;
		}
	return lines;
}

/* {"ok":false,"exit":78,"errors":[...]}: a refused reload or check. */
static json_t *
refused_reply(const struct reload_outcome *outcome)
{
	return json_pack("{s:b, s:i, s:o}", "ok", 0, "exit", EXIT_CONFIG_ERROR, "errors",
			 error_lines(outcome));
}

json_t *
control_commands_reload_reply(const struct reload_outcome *outcome)
{
	json_t *reply;

	if (outcome->succeeded)
		return json_pack("{s:b, s:I, s:s}", "ok", 1, "generation",
				 (json_int_t)outcome->generation, "summary", outcome->summary);
	reply = refused_reply(outcome);
	if (reply != NULL && json_object_set_new(reply, "generation",
						 json_integer((json_int_t)outcome->generation)) != 0) {
		json_decref(reply);
		return NULL;
	}
	return reply;
}

/* ---- status ---- */

static json_t *
run_status(void)
{
	struct status_snapshot *snapshot = status_take();
	json_t *reply;

	if (snapshot == NULL)
		return control_commands_error("out of memory");
	reply = json_pack("{s:b, s:o}", "ok", 1, "status", status_json(snapshot));
	status_free(snapshot);
	return reply;
}

/* ---- check ---- */

/* The files a check reads: as a reload would, unless the request names others. */
struct check_files {
	const char *settings_path;
	const char *pipelines[CONFIG_MAX_PIPELINES];
	const char *const *pipeline_paths;
	unsigned pipeline_count;
};

/* NULL when @p path is usable, else the reason. */
static const char *
refuse_path(const json_t *path)
{
	if (!json_is_string(path))
		return "paths must be strings";
	if (json_string_value(path)[0] != '/')
		return "paths must be absolute (jetstreamctl resolves them)";
	if (json_string_length(path) >= PATH_MAX)
		return "path too long";
	return NULL;
}

static json_t *
read_check_files(const json_t *settings, const json_t *pipelines, struct check_files *files)
{
	const char *reason;
	size_t index;
	json_t *path;

	if (attached.sources == NULL)
		return control_commands_error("the daemon is still starting");
	/* no `settings`: the daemon's own files; `settings` given: only what the request names */
	*files = (struct check_files){.settings_path = attached.sources->settings_path,
				      .pipeline_paths = attached.sources->pipeline_paths,
				      .pipeline_count = attached.sources->pipeline_count};
	if (settings != NULL) {
		if (!json_is_null(settings) && (reason = refuse_path(settings)) != NULL)
			return control_commands_error("settings: %s", reason);
		files->settings_path = json_is_null(settings) ? NULL : json_string_value(settings);
		files->pipeline_count = 0;
	}
	if (pipelines == NULL || (json_is_array(pipelines) && json_array_size(pipelines) == 0))
		return NULL;
	if (!json_is_array(pipelines) || json_array_size(pipelines) > CONFIG_MAX_PIPELINES)
		return control_commands_error("pipelines: a list of at most %u paths",
					      CONFIG_MAX_PIPELINES);
	json_array_foreach(pipelines, index, path) {
		if ((reason = refuse_path(path)) != NULL)
			return control_commands_error("pipelines: %s", reason);
		files->pipelines[index] = json_string_value(path);
	}
	files->pipeline_paths = files->pipelines;
	files->pipeline_count = (unsigned)json_array_size(pipelines);
	return NULL;
}

static json_t *
run_check(const json_t *settings, const json_t *pipelines)
{
	struct reload_outcome *outcome;
	struct check_files files;
	json_t *reply = read_check_files(settings, pipelines, &files);

	if (reply != NULL)
		return reply;
	outcome = calloc(1, sizeof(*outcome));
	if (outcome == NULL)
		return control_commands_error("out of memory");
	reload_sequence_check(files.settings_path, files.pipeline_paths, files.pipeline_count,
			      *attached.running, CONTROL_CHECK_BYTES_MAX, outcome);
	if (outcome->succeeded)
		reply = json_pack("{s:b, s:s}", "ok", 1, "summary", outcome->summary);
	else
		reply = refused_reply(outcome);
	free(outcome);
	return reply;
}

/* ---- sources ---- */

/* The replicas' tops and what they hold: replicas partition keys, so the sets are disjoint. */
struct sources_merge {
	const char *kernel;
	unsigned replicas;
	unsigned in_window;                     /* replicas whose last window is the newest */
	struct per_src_counter_top *tops;       /* one per replica */
	int *results;                           /* per_src_counter_read_top() of each */
	uint64_t start_ns, end_ns;              /* the newest window */
	unsigned count;
	struct per_src_counter_top_entry *entries;
};

static int
compare_entries(const void *a, const void *b)
{
	if (per_src_counter_top_before(a, b))
		return -1;
	return per_src_counter_top_before(b, a) ? 1 : 0;
}

/* @return the reason there is no window to show, or NULL. */
static json_t *
no_window_reply(const struct sources_merge *merge, const struct kernel_instance *instance)
{
	for (unsigned r = 0; r < merge->replicas; r++)
		if (merge->results[r] == -EBUSY)
			return control_commands_error("kernel '%s': its windows close faster than "
						      "they can be read; try again",
						      merge->kernel);
	if (per_src_counter_counts_total(instance))
		return control_commands_error("kernel '%s' counts with window: total: its only "
					      "window closes at the end of input", merge->kernel);
	return control_commands_error("kernel '%s' has closed no window yet", merge->kernel);
}

/* Read every replica's top and keep the keys of the newest window. */
static void
merge_tops(struct sources_merge *merge, struct kernel_instance *const *instances)
{
	for (unsigned r = 0; r < merge->replicas; r++) {
		merge->results[r] = per_src_counter_read_top(instances[r], &merge->tops[r]);
		if (merge->results[r] == 0 && merge->tops[r].end_ns >= merge->end_ns) {
			merge->start_ns = merge->tops[r].start_ns;
			merge->end_ns = merge->tops[r].end_ns;
		}
	}
	for (unsigned r = 0; r < merge->replicas; r++) {
		const struct per_src_counter_top *top = &merge->tops[r];

		if (merge->results[r] != 0 || top->end_ns != merge->end_ns)
			continue;
		merge->in_window++;
		memcpy(&merge->entries[merge->count], top->entries,
		       top->count * sizeof(top->entries[0]));
		merge->count += top->count;
	}
	qsort(merge->entries, merge->count, sizeof(merge->entries[0]), compare_entries);
}

static const char *const key_field_names[] = {"src", "dst", "src_dst"};

static json_t *
entry_json(const struct per_src_counter_top_entry *entry, uint32_t key)
{
	char first[64], second[64];

	packet_address_format(entry->key, first, sizeof(first));
	if (key == COUNT_KEY_SOURCE_DESTINATION) {
		packet_address_format(entry->key + 16, second, sizeof(second));
		return json_pack("{s:s, s:s, s:I, s:I}", "src", first, "dst", second, "pkts",
				 (json_int_t)entry->packets, "bytes", (json_int_t)entry->bytes);
	}
	return json_pack("{s:s, s:I, s:I}", key == COUNT_KEY_DESTINATION ? "dst" : "src", first,
			 "pkts", (json_int_t)entry->packets, "bytes", (json_int_t)entry->bytes);
}

static json_t *
merged_reply(const struct sources_merge *merge, unsigned wanted)
{
	uint32_t key = COUNT_KEY_SOURCE;
	json_t *list = json_array();

	for (unsigned r = 0; r < merge->replicas; r++)
		if (merge->results[r] == 0 && merge->tops[r].end_ns == merge->end_ns)
			key = merge->tops[r].key;
	for (unsigned i = 0; list != NULL && i < merge->count && i < wanted; i++)
		if (json_array_append_new(list, entry_json(&merge->entries[i], key)) != 0) {
			json_decref(list);
			list = NULL;
		}
	/* times as the records give them (seconds), and exact in nanoseconds */
	return json_pack("{s:b, s:s, s:s, s:f, s:f, s:I, s:I, s:I, s:I, s:o}", "ok", 1, "kernel",
			 merge->kernel, "key", key_field_names[key < 3 ? key : 0], "start",
			 (double)merge->start_ns / 1e9, "end", (double)merge->end_ns / 1e9,
			 "start_ns", (json_int_t)merge->start_ns, "end_ns", (json_int_t)merge->end_ns,
			 "replicas", (json_int_t)merge->replicas, "replicas_in_window",
			 (json_int_t)merge->in_window, "sources", list);
}

static json_t *
sources_of(struct kernel_instance *const *instances, unsigned replicas, const char *kernel,
	   unsigned wanted)
{
	struct sources_merge merge = {
		.kernel = kernel,
		.replicas = replicas,
		.tops = calloc(replicas, sizeof(*merge.tops)),
		.results = calloc(replicas, sizeof(*merge.results)),
		.entries = calloc((size_t)replicas * PER_SRC_COUNTER_TOP_MAX, sizeof(*merge.entries)),
	};
	json_t *reply;

	if (merge.tops == NULL || merge.results == NULL || merge.entries == NULL)
		reply = control_commands_error("out of memory");
	else {
		merge_tops(&merge, instances);
		reply = merge.in_window == 0 ? no_window_reply(&merge, instances[0])
					     : merged_reply(&merge, wanted);
	}
	free(merge.tops);
	free(merge.results);
	free(merge.entries);
	return reply;
}

static json_t *
run_sources(const char *kernel, json_int_t wanted)
{
	const struct graph *graph = runtime_graph();
	struct kernel_instance **instances;
	unsigned replicas = 0;
	json_t *reply;

	if (wanted < 1 || wanted > PER_SRC_COUNTER_TOP_MAX)
		return control_commands_error("n: from 1 to %u", PER_SRC_COUNTER_TOP_MAX);
	if (graph == NULL)
		return control_commands_error("the daemon is still starting");
	instances = calloc(graph->instance_count + 1, sizeof(*instances));
	if (instances == NULL)
		return control_commands_error("out of memory");
	for (unsigned i = 0; i < graph->instance_count; i++)
		if (strcmp(graph->instances[i]->name, kernel) == 0)
			instances[replicas++] = graph->instances[i];
	if (replicas == 0)
		reply = control_commands_error("no kernel named '%s'", kernel);
	else if (instances[0]->ops != &per_src_counter_kernel)
		reply = control_commands_error("kernel '%s' is a %s, not a per_src_counter", kernel,
					       instances[0]->ops->name);
	else
		reply = sources_of(instances, replicas, kernel, (unsigned)wanted);
	free(instances);
	return reply;
}

/* ---- dispatch ---- */

static json_t *
dispatch(json_t *request, const char *command, bool check_allowed,
	 enum control_command_wait *wait)
{
	json_error_t error;
	json_t *settings = NULL, *pipelines = NULL;
	const char *kernel;
	json_int_t wanted = SOURCES_DEFAULT_COUNT;

	if (strcmp(command, "status") == 0) {
		if (json_unpack_ex(request, &error, JSON_STRICT, "{s:s}", "command", &command) == 0)
			return run_status();
	} else if (strcmp(command, "reload") == 0) {
		if (json_unpack_ex(request, &error, JSON_STRICT, "{s:s}", "command", &command) == 0) {
			*wait = CONTROL_COMMAND_WAIT_RELOAD;
			return NULL;
		}
	} else if (strcmp(command, "check") == 0) {
		if (json_unpack_ex(request, &error, JSON_STRICT, "{s:s, s?o, s?o}", "command",
				   &command, "settings", &settings, "pipelines", &pipelines) == 0) {
			if (check_allowed)
				return run_check(settings, pipelines);
			*wait = CONTROL_COMMAND_WAIT_CHECK;
			return NULL;
		}
	} else if (strcmp(command, "sources") == 0) {
		if (json_unpack_ex(request, &error, JSON_STRICT, "{s:s, s:s, s?I}", "command",
				   &command, "kernel", &kernel, "n", &wanted) == 0)
			return run_sources(kernel, wanted);
	} else if (strcmp(command, "alerts") == 0) {
		return control_alerts(request);
	} else if (strcmp(command, "dump") == 0) {
		return control_dump_start(request);
	} else if (strcmp(command, "dump_status") == 0) {
		return control_dump_status(request);
	} else {
		return control_commands_error("unknown command '%s' (commands: status, reload, "
					      "check, sources, alerts, dump, dump_status)", command);
	}
	return control_commands_error("%s: %s", command, error.text);
}

json_t *
control_commands_run(const char *line, size_t length, bool check_allowed,
		     enum control_command_wait *wait)
{
	json_error_t error;
	json_t *request = json_loadb(line, length, JSON_REJECT_DUPLICATES, &error);
	const char *command;
	json_t *reply;

	*wait = CONTROL_COMMAND_REPLIED;
	if (request == NULL)
		return control_commands_error("not JSON: %s (column %d)", error.text, error.column);
	if (!json_is_object(request))
		reply = control_commands_error("a request is a JSON object: {\"command\": ...}");
	else if (json_unpack_ex(request, &error, 0, "{s:s}", "command", &command) != 0)
		reply = control_commands_error("command: %s", error.text);
	else
		reply = dispatch(request, command, check_allowed, wait);
	json_decref(request);
	return reply;
}
