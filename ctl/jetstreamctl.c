/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jetstreamctl: talks to a running jetstreamd over its control socket
 * (README, "Control socket and jetstreamctl"). Links jansson and libc only:
 * no DPDK, so it starts at once and runs anywhere the socket is reachable.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control_protocol.h"
#include "ctl_alerts.h"
#include "ctl_client.h"
#include "ctl_status.h"
#include "ctl_top.h"

/*
 * The daemon answers status and sources at once, and a check within its turn's
 * bound; a reload may wait for a drain. Past the daemon's bound plus a margin,
 * it is stuck.
 */
#define QUICK_TIMEOUT_MS ((CONTROL_CLIENT_TIMEOUT_S + CONTROL_CLIENT_MARGIN_S) * 1000)
#define RELOAD_TIMEOUT_MS ((CONTROL_RELOAD_TIMEOUT_S + CONTROL_CLIENT_MARGIN_S) * 1000)
#define SOURCES_MAX 100

static void
usage(FILE *out)
{
	fputs("usage: jetstreamctl [-s SOCKET] COMMAND [ARGS]\n"
	      "  status [--json]              version, uptime, generation, lcores, kernels\n"
	      "  top                          live status sorted by rate (q quits)\n"
	      "  reload                       reload and wait: 0 done, 78 refused (errors on stderr)\n"
	      "  check [-c CONF] [-p FILE]... validate against the running daemon: 0 valid, 78 not\n"
	      "  sources KERNEL [-n N] [--json]  top N keys (default 10, at most 100) of the last\n"
	      "                               closed window of a per_src_counter\n"
	      "  alerts [KERNEL] [-n N] [--json]  open alerts (default 20, at most 100) of the\n"
	      "                               lifecycle thresholds, furthest above their limits first\n"
	      "  dump [--kernel K] [--filter EXPR] [--before 10s] [--after 10s] [--out FILE]\n"
	      "       [--wait] [--json]       write a history kernel's packets matching EXPR from\n"
	      "                               BEFORE ago to AFTER from now to pcapng; prints the\n"
	      "                               file, with --wait once complete, with its packet count\n"
	      "options:\n"
	      "  -s, --socket SOCKET          control socket (default " CTL_DEFAULT_SOCKET ")\n"
	      "  -h, --help                   this help\n"
	      "  -V, --version                jetstreamctl's version\n"
	      "exit: 0 ok, 1 the daemon answered an error, 64 usage, 69 daemon unreachable,\n"
	      "      78 configuration refused\n",
	      out);
}

/* Print the daemon's error reply on stderr. @return CTL_EXIT_FAILED or CTL_EXIT_CONFIG. */
static int
report_refusal(const char *command, const json_t *reply)
{
	const json_t *errors = json_object_get(reply, "errors"), *line;
	const char *error = json_string_value(json_object_get(reply, "error"));
	size_t index;

	json_array_foreach(errors, index, line)
		fprintf(stderr, "%s\n", json_string_value(line));
	if (error != NULL)
		fprintf(stderr, "jetstreamctl: %s: %s\n", command, error);
	return json_is_integer(json_object_get(reply, "exit")) &&
			       json_integer_value(json_object_get(reply, "exit")) == CTL_EXIT_CONFIG
		       ? CTL_EXIT_CONFIG
		       : CTL_EXIT_FAILED;
}

/* Ask once; on an `ok` reply, hand it to @p print. @return the exit status. */
static int
ask_and_print(const char *socket_path, const char *command, json_t *request, int timeout_ms,
	      int (*print)(const json_t *reply, const void *context), const void *context)
{
	int status;
	json_t *reply = request != NULL ? ctl_ask_once(socket_path, request, timeout_ms, &status)
					: NULL;

	if (request == NULL)
		status = CTL_EXIT_FAILED;
	json_decref(request);
	if (reply == NULL)
		return status;
	status = json_is_true(json_object_get(reply, "ok")) ? print(reply, context)
							    : report_refusal(command, reply);
	json_decref(reply);
	return status;
}

/* Options after a command: only --json (and -n / -c / -p where the command says). */
struct command_options {
	bool json;
	long count;
	const char *settings;
	unsigned pipeline_count;
	const char *pipelines[16];
};

static int
parse_command_options(int argc, char **argv, const char *short_options,
		      struct command_options *options)
{
	static const struct option long_options[] = {
		{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	char *end;
	int option;

	optind = 0; /* glibc: 0 also resets the state the global "+" parse left */
	while ((option = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
		switch (option) {
		case 'j':
			options->json = true;
			break;
		case 'n':
			options->count = strtol(optarg, &end, 10);
			if (*end != '\0' || options->count < 1 || options->count > SOURCES_MAX) {
				fprintf(stderr, "jetstreamctl: -n: a count from 1 to %d\n",
					SOURCES_MAX);
				return CTL_EXIT_USAGE;
			}
			break;
		case 'c':
			options->settings = optarg;
			break;
		case 'p':
			if (options->pipeline_count == 16) {
				fputs("jetstreamctl: at most 16 -p files\n", stderr);
				return CTL_EXIT_USAGE;
			}
			options->pipelines[options->pipeline_count++] = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(CTL_EXIT_OK);
		default:
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	return 0;
}

/* ---- status ---- */

static int
print_status(const json_t *reply, const void *context)
{
	const struct command_options *options = context;
	struct ctl_table_options table = {.details = true, .line_end = "\n"};

	if (options->json) {
		json_dumpf(json_object_get(reply, "status"), stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		ctl_print_status(json_object_get(reply, "status"), &table, stdout);
	}
	return CTL_EXIT_OK;
}

static int
command_status(const char *socket_path, int argc, char **argv)
{
	struct command_options options = {0};
	int status = parse_command_options(argc, argv, "h", &options);

	if (status != 0)
		return status;
	return ask_and_print(socket_path, "status", json_pack("{s:s}", "command", "status"),
			     QUICK_TIMEOUT_MS, print_status, &options);
}

/* ---- reload ---- */

static int
print_reload(const json_t *reply, const void *context)
{
	(void)context;
	printf("reloaded: generation %" JSON_INTEGER_FORMAT ": %s\n",
	       json_integer_value(json_object_get(reply, "generation")),
	       json_string_value(json_object_get(reply, "summary")));
	return CTL_EXIT_OK;
}

static int
command_reload(const char *socket_path, int argc, char **argv)
{
	struct command_options options = {0};
	int status = parse_command_options(argc, argv, "h", &options);

	if (status != 0)
		return status;
	return ask_and_print(socket_path, "reload", json_pack("{s:s}", "command", "reload"),
			     RELOAD_TIMEOUT_MS, print_reload, NULL);
}

/* ---- check ---- */

/* The daemon runs elsewhere: it gets absolute paths (missing files keep their name). */
static json_t *
absolute_path(const char *path)
{
	char directory[PATH_MAX], joined[2 * PATH_MAX + 2];

	if (path[0] == '/' || getcwd(directory, sizeof(directory)) == NULL)
		return json_string(path);
	snprintf(joined, sizeof(joined), "%s/%s", directory, path);
	return json_string(joined);
}

static int
print_check(const json_t *reply, const void *context)
{
	(void)context;
	printf("%s\n", json_string_value(json_object_get(reply, "summary")));
	return CTL_EXIT_OK;
}

static int
command_check(const char *socket_path, int argc, char **argv)
{
	struct command_options options = {0};
	int status = parse_command_options(argc, argv, "hc:p:", &options);
	json_t *request, *pipelines;

	if (status != 0)
		return status;
	request = json_pack("{s:s}", "command", "check");
	pipelines = json_array();
	for (unsigned p = 0; p < options.pipeline_count; p++)
		json_array_append_new(pipelines, absolute_path(options.pipelines[p]));
	if (options.settings != NULL)
		json_object_set_new(request, "settings", absolute_path(options.settings));
	json_object_set_new(request, "pipelines", pipelines);
	return ask_and_print(socket_path, "check", request, QUICK_TIMEOUT_MS, print_check, NULL);
}

/* ---- sources ---- */

static void
format_time(double seconds, char *text, size_t size)
{
	time_t whole = (time_t)seconds;
	struct tm utc;

	gmtime_r(&whole, &utc);
	strftime(text, size, "%Y-%m-%d %H:%M:%S", &utc);
	snprintf(text + strlen(text), size - strlen(text), ".%03d UTC",
		 (int)((seconds - (double)whole) * 1000));
}

static int
print_sources(const json_t *reply, const void *context)
{
	const struct command_options *options = context;
	const char *key = json_string_value(json_object_get(reply, "key"));
	bool pair = key != NULL && strcmp(key, "src_dst") == 0;
	/* the field a single-address key is in: as in the records */
	const char *field = key != NULL && strcmp(key, "dst") == 0 ? "dst" : "src";
	char start[64], end[64];
	const json_t *entry;
	size_t index;

	if (options->json) {
		json_dumpf(reply, stdout, JSON_COMPACT);
		putchar('\n');
		return CTL_EXIT_OK;
	}
	format_time(json_number_value(json_object_get(reply, "start")), start, sizeof(start));
	format_time(json_number_value(json_object_get(reply, "end")), end, sizeof(end));
	printf("%s: window %s - %s (%" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT
	       " replicas)\n",
	       json_string_value(json_object_get(reply, "kernel")), start, end,
	       json_integer_value(json_object_get(reply, "replicas_in_window")),
	       json_integer_value(json_object_get(reply, "replicas")));
	if (pair)
		printf("%-39s %-39s %12s %14s\n", "SRC", "DST", "PKTS", "BYTES");
	else
		printf("%-39s %12s %14s\n", strcmp(field, "dst") == 0 ? "DST" : "SRC", "PKTS",
		       "BYTES");
	json_array_foreach(json_object_get(reply, "sources"), index, entry) {
		if (pair)
			printf("%-39s %-39s", json_string_value(json_object_get(entry, "src")),
			       json_string_value(json_object_get(entry, "dst")));
		else
			printf("%-39s", json_string_value(json_object_get(entry, field)));
		printf(" %12" JSON_INTEGER_FORMAT " %14" JSON_INTEGER_FORMAT "\n",
		       json_integer_value(json_object_get(entry, "pkts")),
		       json_integer_value(json_object_get(entry, "bytes")));
	}
	return CTL_EXIT_OK;
}

static int
command_sources(const char *socket_path, int argc, char **argv)
{
	struct command_options options = {.count = 10};
	int status = parse_command_options(argc, argv, "hn:", &options);

	if (status != 0)
		return status;
	if (optind != argc - 1) {
		fputs("jetstreamctl: sources KERNEL [-n N]: name one per_src_counter kernel\n", stderr);
		return CTL_EXIT_USAGE;
	}
	return ask_and_print(socket_path, "sources",
			     json_pack("{s:s, s:s, s:I}", "command", "sources", "kernel",
				       argv[optind], "n", (json_int_t)options.count),
			     QUICK_TIMEOUT_MS, print_sources, &options);
}

/* ---- alerts ---- */

static int
print_alerts(const json_t *reply, const void *context)
{
	const struct command_options *options = context;

	if (options->json) {
		json_dumpf(reply, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		ctl_print_alerts(reply, stdout);
	}
	return CTL_EXIT_OK;
}

static int
command_alerts(const char *socket_path, int argc, char **argv)
{
	struct command_options options = {.count = 20};
	int status = parse_command_options(argc, argv, "hn:", &options);
	json_t *request;

	if (status != 0)
		return status;
	if (optind < argc - 1) {
		fputs("jetstreamctl: alerts [KERNEL] [-n N]: at most one threshold kernel\n", stderr);
		return CTL_EXIT_USAGE;
	}
	request = json_pack("{s:s, s:I}", "command", "alerts", "n", (json_int_t)options.count);
	if (optind == argc - 1)
		json_object_set_new(request, "kernel", json_string(argv[optind]));
	return ask_and_print(socket_path, "alerts", request, QUICK_TIMEOUT_MS, print_alerts,
			     &options);
}

/* ---- dump ---- */

/* Between two questions of `dump --wait`: the dump's packets are written as they arrive. */
#define DUMP_POLL_INTERVAL_MS 100

/* The options of `dump` that the request carries under their own names. */
enum dump_value { DUMP_KERNEL, DUMP_FILTER, DUMP_BEFORE, DUMP_AFTER, DUMP_OUT, DUMP_VALUES };
static const char *const dump_value_names[DUMP_VALUES] = {"kernel", "filter", "before", "after",
							  "out"};
/* getopt values of those options: past every character */
#define DUMP_OPTION_BASE 256

struct dump_options {
	const char *values[DUMP_VALUES]; /**< NULL: not given (the daemon's default) */
	bool wait, json;
};

static int
parse_dump_options(int argc, char **argv, struct dump_options *options)
{
	static const struct option long_options[] = {
		{"kernel", required_argument, NULL, DUMP_OPTION_BASE + DUMP_KERNEL},
		{"filter", required_argument, NULL, DUMP_OPTION_BASE + DUMP_FILTER},
		{"before", required_argument, NULL, DUMP_OPTION_BASE + DUMP_BEFORE},
		{"after", required_argument, NULL, DUMP_OPTION_BASE + DUMP_AFTER},
		{"out", required_argument, NULL, DUMP_OPTION_BASE + DUMP_OUT},
		{"wait", no_argument, NULL, 'w'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	int option;

	optind = 0;
	while ((option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		if (option >= DUMP_OPTION_BASE && option < DUMP_OPTION_BASE + DUMP_VALUES) {
			options->values[option - DUMP_OPTION_BASE] = optarg;
		} else if (option == 'w') {
			options->wait = true;
		} else if (option == 'j') {
			options->json = true;
		} else if (option == 'h') {
			usage(stdout);
			exit(CTL_EXIT_OK);
		} else {
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "jetstreamctl: dump: unexpected '%s' (give the filter with --filter)\n",
			argv[optind]);
		return CTL_EXIT_USAGE;
	}
	return 0;
}

static json_t *
dump_request(const struct dump_options *options)
{
	json_t *request = json_pack("{s:s}", "command", "dump");

	for (unsigned i = 0; request != NULL && i < DUMP_VALUES; i++) {
		const char *value = options->values[i];
		json_t *text;

		if (value == NULL)
			continue;
		text = i == DUMP_OUT ? absolute_path(value) : json_string(value);
		if (text == NULL) { /* jansson takes UTF-8 only: never drop an option silently */
			fprintf(stderr, "jetstreamctl: dump --%s: not valid UTF-8\n",
				dump_value_names[i]);
			json_decref(request);
			return NULL;
		}
		json_object_set_new(request, dump_value_names[i], text);
	}
	return request;
}

/* Ask for the dump's status until it is no longer running. @return the last reply, or NULL. */
static json_t *
wait_for_dump(const char *socket_path, const json_t *started, int *status)
{
	const struct timespec interval = {0, DUMP_POLL_INTERVAL_MS * 1000000L};
	json_t *request = json_pack("{s:s, s:O, s:O}", "command", "dump_status", "kernel",
				    json_object_get(started, "kernel"), "dump",
				    json_object_get(started, "dump"));
	json_t *reply = NULL;

	while (request != NULL) {
		const char *state;

		json_decref(reply);
		reply = ctl_ask_once(socket_path, request, QUICK_TIMEOUT_MS, status);
		state = json_string_value(json_object_get(reply, "state"));
		if (reply == NULL || !json_is_true(json_object_get(reply, "ok")) || state == NULL ||
		    strcmp(state, "running") != 0)
			break;
		nanosleep(&interval, NULL);
	}
	json_decref(request);
	return reply;
}

static int
print_dump(const json_t *reply, const struct dump_options *options)
{
	const char *state = json_string_value(json_object_get(reply, "state"));
	const char *reason = json_string_value(json_object_get(reply, "reason"));

	if (options->json) {
		json_dumpf(reply, stdout, JSON_COMPACT);
		putchar('\n');
	} else if (state == NULL) {
		printf("%s\n", json_string_value(json_object_get(reply, "path")));
	} else {
		printf("%s: %s, %" JSON_INTEGER_FORMAT " packets\n",
		       json_string_value(json_object_get(reply, "path")), state,
		       json_integer_value(json_object_get(reply, "packets")));
		if (reason != NULL)
			fprintf(stderr, "jetstreamctl: dump %s: %s\n", state, reason);
	}
	return state == NULL || strcmp(state, "done") == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILED;
}

static int
command_dump(const char *socket_path, int argc, char **argv)
{
	struct dump_options options = {0};
	int status = parse_dump_options(argc, argv, &options);
	json_t *request, *started, *finished;

	if (status != 0)
		return status;
	request = dump_request(&options);
	if (request == NULL)
		return CTL_EXIT_USAGE;
	started = ctl_ask_once(socket_path, request, QUICK_TIMEOUT_MS, &status);
	json_decref(request);
	if (started == NULL)
		return status;
	if (!json_is_true(json_object_get(started, "ok"))) {
		status = report_refusal("dump", started);
	} else if (!options.wait) {
		status = print_dump(started, &options);
	} else {
		finished = wait_for_dump(socket_path, started, &status);
		if (finished != NULL)
			status = json_is_true(json_object_get(finished, "ok"))
					 ? print_dump(finished, &options)
					 : report_refusal("dump", finished);
		json_decref(finished);
	}
	json_decref(started);
	return status;
}

/* ---- main ---- */

static const struct {
	const char *name;
	int (*run)(const char *socket_path, int argc, char **argv);
} commands[] = {
	{"status", command_status}, {"reload", command_reload}, {"check", command_check},
	{"sources", command_sources}, {"alerts", command_alerts}, {"dump", command_dump},
};

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {{"socket", required_argument, NULL, 's'},
						     {"help", no_argument, NULL, 'h'},
						     {"version", no_argument, NULL, 'V'},
						     {NULL, 0, NULL, 0}};
	const char *socket_path = CTL_DEFAULT_SOCKET;
	int option;

	/* "+": options end at the command, whose own options follow it */
	while ((option = getopt_long(argc, argv, "+s:hV", long_options, NULL)) != -1) {
		switch (option) {
		case 's':
			socket_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("jetstreamctl %s\n", JETSTREAM_VERSION);
			return CTL_EXIT_OK;
		default:
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[optind], "top") == 0 && optind + 1 == argc)
		return ctl_top(socket_path);
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (strcmp(argv[optind], commands[c].name) == 0)
			return commands[c].run(socket_path, argc - optind, argv + optind);
	fprintf(stderr, "jetstreamctl: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return CTL_EXIT_USAGE;
}
