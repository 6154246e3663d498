/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `dump` and `dump_status` on the control socket: find the history kernel,
 * parse the request with the configuration's own parsers, and hand it over
 * (kernels/history.h). The writing happens on the kernel's writer thread.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "config_map.h"
#include "control_commands.h"
#include "control_dump.h"
#include "graph.h"
#include "kernels/history.h"
#include "runtime.h"

/* Used when the request names no range: the defaults of `jetstreamctl dump`. */
#define DUMP_DEFAULT_BEFORE "10s"
#define DUMP_DEFAULT_AFTER "10s"

static const char *const dump_state_names[] = {
	[HISTORY_DUMP_RUNNING] = "running",
	[HISTORY_DUMP_DONE] = "done",
	[HISTORY_DUMP_CUT] = "cut",
	[HISTORY_DUMP_FAILED] = "failed",
};

/*
 * The history instance named @p kernel, or the only one when @p kernel is
 * NULL; @p absent_note follows "no kernel named 'K'" when none has that
 * name. @return it, or NULL with @p reply set to the error.
 */
static struct kernel_instance *
find_history(const char *kernel, const char *absent_note, json_t **reply)
{
	const struct graph *graph = runtime_graph();
	struct kernel_instance *found = NULL;
	unsigned histories = 0;

	if (graph == NULL) {
		*reply = control_commands_error("the daemon is still starting");
		return NULL;
	}
	for (unsigned i = 0; i < graph->instance_count; i++) {
		struct kernel_instance *instance = graph->instances[i];

		if (kernel != NULL && strcmp(instance->name, kernel) == 0) {
			if (instance->ops == &history_kernel)
				return instance;
			*reply = control_commands_error("kernel '%s' is a %s, not a history", kernel,
							instance->ops->name);
			return NULL;
		}
		if (kernel == NULL && instance->ops == &history_kernel) {
			found = instance;
			histories++;
		}
	}
	if (kernel != NULL)
		*reply = control_commands_error("no kernel named '%s'%s", kernel, absent_note);
	else if (histories == 0)
		*reply = control_commands_error("no history kernel runs: a dump needs one");
	else if (histories > 1)
		*reply = control_commands_error("%u history kernels run: name one (--kernel)",
						histories);
	return histories == 1 ? found : NULL;
}

/* Parse a duration as a pipeline file writes it ("30s"). @return 0, or -EINVAL with @p reply set. */
static int
parse_duration(const char *key, const char *text, uint64_t *nanoseconds, json_t **reply)
{
	const struct config_field field = {.key = key, .type = CONFIG_DURATION};
	char message[256];

	if (config_parse_value(&field, text, nanoseconds, message, sizeof(message)) == 0)
		return 0;
	*reply = control_commands_error("%s", message);
	return -EINVAL;
}

json_t *
control_dump_start(const json_t *request)
{
	const char *kernel = NULL, *filter = "", *before = DUMP_DEFAULT_BEFORE,
		   *after = DUMP_DEFAULT_AFTER, *out = NULL, *command;
	struct history_dump_request dump = {0};
	struct kernel_instance *instance;
	char path[PATH_MAX], error[512];
	json_error_t json_error;
	json_t *reply = NULL;
	uint64_t dump_id;
	int result;

	if (json_unpack_ex((json_t *)request, &json_error, JSON_STRICT,
			   "{s:s, s?s, s?s, s?s, s?s, s?s}", "command", &command, "kernel", &kernel,
			   "filter", &filter, "before", &before, "after", &after, "out", &out) != 0)
		return control_commands_error("dump: %s", json_error.text);
	if (out != NULL && out[0] != '/')
		return control_commands_error("dump: 'out' is an absolute path (jetstreamctl "
					      "makes a relative one absolute)");
	instance = find_history(kernel, "", &reply);
	if (instance == NULL)
		return reply;
	if (parse_duration("before", before, &dump.before_ns, &reply) != 0 ||
	    parse_duration("after", after, &dump.after_ns, &reply) != 0)
		return reply;
	dump.filter = filter;
	dump.path = out;
	result = history_dump_start(instance, &dump, &dump_id, path, sizeof(path), error,
				    sizeof(error));
	if (result != 0)
		return control_commands_error("%s", error[0] != '\0' ? error : strerror(-result));
	return json_pack("{s:b, s:s, s:I, s:s}", "ok", 1, "kernel", instance->name, "dump",
			 (json_int_t)dump_id, "path", path);
}

json_t *
control_dump_status(const json_t *request)
{
	struct history_dump_status status;
	struct kernel_instance *instance;
	const char *kernel, *command;
	json_error_t json_error;
	json_t *reply = NULL;
	json_int_t dump_id;
	char absent_note[160];

	if (json_unpack_ex((json_t *)request, &json_error, JSON_STRICT, "{s:s, s:s, s:I}",
			   "command", &command, "kernel", &kernel, "dump", &dump_id) != 0)
		return control_commands_error("dump_status: %s", json_error.text);
	snprintf(absent_note, sizeof(absent_note),
		 " runs (if a reload removed it, dump %" JSON_INTEGER_FORMAT
		 " ended with it: its file's comment says how, once the kernel drained)",
		 dump_id);
	instance = find_history(kernel, absent_note, &reply);
	if (instance == NULL)
		return reply;
	if (dump_id < 0 || history_dump_status(instance, (uint64_t)dump_id, &status) != 0)
		return control_commands_error(
			"kernel '%s' has no dump %" JSON_INTEGER_FORMAT ": it ended with an earlier "
			"instance (a reload replaced the kernel; its file's comment says how, once the "
			"old one drained), or it is older than the 64 finished dumps a kernel remembers",
			kernel, dump_id);
	reply = json_pack("{s:b, s:s, s:I, s:I, s:s}", "ok", 1, "state",
			  dump_state_names[status.state], "packets", (json_int_t)status.packets,
			  "overwritten", (json_int_t)status.overwritten, "path", status.path);
	if (reply != NULL && status.reason[0] != '\0')
		json_object_set_new(reply, "reason", json_string(status.reason));
	return reply;
}
