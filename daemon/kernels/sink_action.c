/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "kernels/sink_action.h"
#include "outputs/jsonl.h"

const char *const sink_action_facility_names[] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7", NULL};

static const char *const format_names[] = {"exec", "webhook", "journal", "syslog"};

/* The keys only the action formats read. */
static const char *const action_keys[] = {"command", "server", "facility", "timeout",
					  "concurrency", "queue", NULL};

struct sink_action {
	struct actions *actions;
	char line[JSONL_LINE_MAX]; /* polling thread only */
};

void
sink_action_check_unused(struct config_check_context *context)
{
	for (const char *const *key = action_keys; *key != NULL; key++)
		if (config_check_key_set(context, *key))
			config_check_error(context, *key,
					   "'%s' applies to the action formats only (exec, webhook, "
					   "journal, syslog)", *key);
}

/* @p key may be set with @p format only when @p allowed. */
static void
check_applies(enum action_format format, const char *key, bool allowed, const char *why,
	      struct config_check_context *context)
{
	if (!allowed && config_check_key_set(context, key))
		config_check_error(context, key, "'%s' does not apply with format %s (%s)", key,
				   format_names[format], why);
}

/* A program named without a `/` is looked up in PATH, as posix_spawnp() will. */
static bool
executable(const char *program)
{
	const char *path = getenv("PATH");
	char candidate[PATH_MAX];

	if (strchr(program, '/') != NULL)
		return access(program, X_OK) == 0;
	if (path == NULL)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path != '\0') {
		size_t length = strcspn(path, ":");

		snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)length,
			 length > 0 ? path : ".", program);
		if (access(candidate, X_OK) == 0)
			return true;
		path += length + (path[length] == ':');
	}
	return false;
}

static void
check_exec(const struct sink_action_params *params, struct config_check_context *context)
{
	if (!config_check_key_set(context, "command")) {
		config_check_error(context, NULL, "'command' is required with format exec "
				   "([PROGRAM, ARG...], run once per alert, no shell)");
		return;
	}
	if (!executable(params->command))
		config_check_error(context, "command", "'%s' is not an executable file%s",
				   params->command,
				   strchr(params->command, '/') == NULL ? " in PATH" : "");
}

static void
check_format_keys(enum action_format format, const struct sink_action_params *params,
		  const char *url, struct config_check_context *context)
{
	char host[256], port[8];

	if (format == ACTION_FORMAT_EXEC)
		check_exec(params, context);
	check_applies(format, "command", format == ACTION_FORMAT_EXEC, "format exec runs it",
		      context);
	/* `url` elsewhere than webhook and clickhouse: sink.c says so */
	if (format == ACTION_FORMAT_WEBHOOK && !config_check_key_set(context, "url"))
		config_check_error(context, NULL, "'url' is required with format webhook");
	else if (format == ACTION_FORMAT_WEBHOOK && strncmp(url, "http://", 7) != 0 &&
		 strncmp(url, "https://", 8) != 0)
		config_check_error(context, "url", "'%s' is not an http:// or https:// URL", url);
	check_applies(format, "server", format == ACTION_FORMAT_SYSLOG, "format syslog sends to it",
		      context);
	check_applies(format, "facility", format == ACTION_FORMAT_SYSLOG,
		      "a syslog message's facility", context);
	if (format == ACTION_FORMAT_SYSLOG && !config_check_key_set(context, "server"))
		config_check_error(context, NULL, "'server' is required with format syslog "
				   "(HOST:PORT, UDP)");
	else if (format == ACTION_FORMAT_SYSLOG &&
		 !config_split_host_port(params->server, host, sizeof(host), port, sizeof(port)))
		config_check_error(context, "server", "'%s' is not HOST:PORT (a port from 1 to 65535; "
				   "an IPv6 address in brackets)", params->server);
}

void
sink_action_check(enum action_format format, const struct sink_action_params *params,
		  const char *url, struct config_check_context *context)
{
	bool waits = format == ACTION_FORMAT_EXEC || format == ACTION_FORMAT_WEBHOOK;

	check_applies(format, "path", false, "alerts are acted on, not written", context);
	check_applies(format, "buffer", false, "'queue' bounds the alerts waiting", context);
	check_applies(format, "when_full", false,
		      "an action never holds the graph back: past 'queue', alerts are counted "
		      "as dropped_sink_full", context);
	check_applies(format, "retry", format == ACTION_FORMAT_WEBHOOK,
		      "only a webhook's failed POST is tried again", context);
	check_applies(format, "timeout", waits, "a datagram is sent at once", context);
	check_applies(format, "concurrency", waits, "a datagram is sent at once, one at a time",
		      context);
	check_format_keys(format, params, url, context);
}

int
sink_action_open(struct kernel_instance *instance, enum action_format format,
		 const struct sink_action_params *params,
		 const struct sink_action_shared *shared, struct sink_action **result)
{
	struct sink_action *sink = calloc(1, sizeof(*sink));
	bool waits = format == ACTION_FORMAT_EXEC || format == ACTION_FORMAT_WEBHOOK;
	struct action_settings settings = {
		.owner = instance->name, .format = format, .command = params->command,
		.url = shared->url, .server = params->server, .facility = params->facility,
		.timeout_ns = params->timeout_ns, .retry_ns = shared->retry_ns,
		.drain_timeout_ns = shared->drain_timeout_ns,
		.concurrency = waits ? (unsigned)params->concurrency : 1,
		.queue = (unsigned)params->queue,
	};
	int error;

	if (sink == NULL)
		return -ENOMEM;
	error = actions_open(&sink->actions, &settings, instance->error, sizeof(instance->error));
	if (error != 0) {
		if (error == -EINVAL)
			instance->error_key = format == ACTION_FORMAT_SYSLOG ? "server" : "command";
		free(sink);
		return error;
	}
	*result = sink;
	return 0;
}

unsigned
sink_action_process(struct kernel_instance *instance, struct sink_action *sink)
{
	static _Thread_local union any_record packed[KERNEL_BURST];
	enum stream_type type;
	unsigned received = kernel_receive(instance, packed, KERNEL_BURST, &type);
	unsigned element_size = stream_element_size(type);

	/* the inputs give alerts only (sink_properties) */
	for (unsigned i = 0; i < received; i++) {
		union any_record record;
		size_t length;

		/* records arrive packed at their ring's element size */
		memcpy(&record, (const char *)packed + (size_t)i * element_size, element_size);
		length = jsonl_format_record(&record, sink->line, sizeof(sink->line));
		/*
		 * Always fits, for an alert; one that did not would still be
		 * counted, dropped where every lost alert is (too long a line)
		 */
		actions_append(sink->actions, &record.alert, sink->line,
			       length > 0 && length < sizeof(sink->line) ? length : SIZE_MAX);
	}
	return received;
}

bool
sink_action_flush(struct kernel_instance *instance, struct sink_action *sink)
{
	struct action_figures figures;

	if (!actions_flush(sink->actions))
		return false;
	actions_figures(sink->actions, &figures);
	/* as with every format: an alert lost for any reason makes the output incomplete */
	if (figures.dropped_sink_full + figures.dropped_drain_timeout > 0)
		kernel_fail(instance, "%" PRIu64 " alerts not acted on (dropped_records: sink_full %"
			    PRIu64 ", drain_timeout %" PRIu64 ")",
			    figures.dropped_sink_full + figures.dropped_drain_timeout,
			    figures.dropped_sink_full, figures.dropped_drain_timeout);
	return true;
}

unsigned
sink_action_stats(const struct sink_action *sink, struct kernel_stat *stats)
{
	struct action_figures figures;

	actions_figures(sink->actions, &figures);
	return actions_figures_stats(&figures, stats);
}

void
sink_action_close(struct sink_action *sink)
{
	if (sink == NULL)
		return;
	actions_close(sink->actions);
	free(sink);
}
