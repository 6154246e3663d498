/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread. Reload follows DESIGN.md's contract: RELOADING=1
 * first; the whole new configuration is parsed, validated and diffed before
 * anything changes; any error leaves the running graph untouched and still
 * ends with READY=1 (STATUS= says it failed); on success the new generation
 * is published and READY=1 names it.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "control.h"
#include "graph.h"
#include "log.h"
#include "notify.h"
#include "reload.h"
#include "runtime.h"
#include "summary.h"

/*
 * Wake-up of the control loop when no signal comes: bounds how soon a
 * drained reload finishes and a finished graph is noticed. The control
 * thread polls no kernel (sinks have a thread of their own), so this costs
 * nothing on the records' way; agent mode (`idle: sleep`) wakes less often.
 */
#define CONTROL_IDLE_WAIT_MS 1
#define CONTROL_IDLE_SLEEP_WAIT_MS 10

struct control {
	const struct control_sources *sources;
	struct config **config;
	unsigned stop_signals;
	bool reload_requested;   /* a SIGHUP waits while a previous reload drains */
};

int
control_open_signals(void)
{
	sigset_t signals;

	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	/* blocked in every thread (workers inherit the mask), read only by the control thread */
	if (pthread_sigmask(SIG_BLOCK, &signals, NULL) != 0)
		return -1;
	/* a sink whose reader went away (stdout into `head`) counts write errors, not a kill */
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
}

void
control_notify_stopping(void)
{
	notify_stopping();
}

static void
reload_failed(const struct config_errors *errors, const char *message)
{
	char status[512];

	if (errors != NULL && errors->count > 0) {
		config_errors_print(errors, stderr);
		/* the first line as printed: `file: error: ...` when about a whole file, no 0:0 */
		config_error_format(errors, 0, status, sizeof(status));
	} else {
		snprintf(status, sizeof(status), "%s", message);
		log_error("%s", message);
	}
	log_error("reload failed: keeping generation %u", runtime_graph()->generation);
	notify_reload_failed(status);
}

/* Append "verb name" for the first name of a group, ", name" for the others. */
static void
append_name(char *text, size_t size, const char *verb, const char *name, bool *first)
{
	size_t length = strlen(text);

	if (*first)
		snprintf(text + length, size - length, "%s%s %s", length > 0 ? "; " : "", verb, name);
	else
		snprintf(text + length, size - length, ", %s", name);
	*first = false;
}

static void
describe_action(const struct graph *graph, enum reload_action action, char *text, size_t size)
{
	bool first = true;

	for (unsigned k = 0; k < graph->kernel_count; k++)
		if (graph->kernels[k].action == action)
			append_name(text, size, reload_action_name(action), graph->kernels[k].name,
				    &first);
}

static void
describe_removed(const struct config *old_config, const struct reload_plan *plan,
		 const struct config *new_config, char *text, size_t size)
{
	bool first = true;

	for (unsigned k = 0; k < old_config->kernel_count; k++)
		if (reload_removed(plan, old_config, new_config, k))
			append_name(text, size, "removed", old_config->kernels[k].name, &first);
}

static void
reload_succeeded(const struct config *old_config, const struct reload_plan *plan,
		 const struct config *new_config)
{
	const struct graph *graph = runtime_graph();
	char changes[1024] = "";

	describe_action(graph, RELOAD_KEEP, changes, sizeof(changes));
	describe_action(graph, RELOAD_TAKE_STATE, changes, sizeof(changes));
	describe_action(graph, RELOAD_REPLACE, changes, sizeof(changes));
	describe_action(graph, RELOAD_ADD, changes, sizeof(changes));
	describe_removed(old_config, plan, new_config, changes, sizeof(changes));
	log_info("reload: generation %u running: %s", graph->generation, changes);
	summary_notify_ready(graph);
}

/* Read, validate and diff; publish only when all of it succeeded. */
static void
reload(struct control *control)
{
	const struct control_sources *sources = control->sources;
	struct config_errors *errors = calloc(1, sizeof(*errors));
	struct graph_transition *transition = calloc(1, sizeof(*transition));
	struct reload_plan *plan = calloc(1, sizeof(*plan));
	struct config *next = NULL;
	bool next_refused = false;
	char error[512];

	notify_reloading();
	log_info("reload: reading the configuration (generation %u running)",
		 runtime_graph()->generation);
	if (errors == NULL || transition == NULL || plan == NULL) {
		reload_failed(NULL, "out of memory");
	} else if ((next = config_load(sources->settings_path, sources->pipeline_paths,
				       sources->pipeline_count, errors)) == NULL ||
		   reload_plan(*control->config, next, plan, errors) != 0) {
		reload_failed(errors, NULL);
		next_refused = true;
	} else if (graph_build_next(runtime_graph(), next, plan, transition, error,
				    sizeof(error)) != 0) {
		reload_failed(NULL, error);
	} else if (runtime_begin_transition(transition) != 0) {
		/* nothing was published; the next generation is dropped whole */
		struct graph *unused = transition->next;

		graph_transition_free(transition);
		graph_release(unused);
		reload_failed(NULL, "out of memory while publishing the new graph");
	} else {
		transition = NULL; /* the runtime owns it now */
		log_set_level((enum log_level)next->settings.log_level);
		reload_succeeded(*control->config, plan, next);
		config_free(*control->config);
		*control->config = next;
		next = NULL;
	}
	config_free(next);
	free(transition);
	free(plan);
	free(errors);
	/*
	 * A refused file may have been up to CONFIG_MAX_FILE_SIZE with its tree;
	 * all of it is freed, and this hands the allocator's now free pages back
	 * too, so a refused reload leaves the resident size where it was.
	 */
	if (next_refused)
		malloc_trim(0);
}

/* Handle pending signals; returns false when the daemon must stop at once. */
static bool
handle_signals(struct control *control, int signal_fd)
{
	struct signalfd_siginfo information;

	while (read(signal_fd, &information, sizeof(information)) == sizeof(information)) {
		if (information.ssi_signo == SIGHUP) {
			control->reload_requested = true;
			continue;
		}
		if (++control->stop_signals > 1) {
			log_warning("second stop signal: leaving without draining");
			return false;
		}
		log_info("%s: stopping sources, draining the graph",
			 strsignal((int)information.ssi_signo));
		notify_stopping();
		runtime_request_stop();
	}
	return true;
}

/* A reload in progress finishes first; a stopping daemon reloads no more. */
static void
advance_reload(struct control *control)
{
	if (runtime_transition_pending()) {
		runtime_finish_transition();
		return;
	}
	if (control->reload_requested && !runtime_stop_requested()) {
		control->reload_requested = false;
		reload(control);
	}
}

bool
control_run(int signal_fd, const struct control_sources *sources, struct config **config)
{
	struct control control = {.sources = sources, .config = config};
	struct pollfd poll_signal = {.fd = signal_fd, .events = POLLIN};
	int idle_wait = (*config)->settings.idle == CONFIG_IDLE_SLEEP ? CONTROL_IDLE_SLEEP_WAIT_MS
								      : CONTROL_IDLE_WAIT_MS;

	while (!runtime_graph_finished()) {
		advance_reload(&control);
		if (poll(&poll_signal, 1, idle_wait) > 0 &&
		    !handle_signals(&control, signal_fd))
			return false;
	}
	return true;
}
