/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The reload sequence. It follows DESIGN.md's contract: RELOADING=1 first;
 * the whole new configuration is parsed, validated and diffed before
 * anything changes; any error leaves the running graph untouched and still
 * ends with READY=1 (STATUS= says it failed); on success the new generation
 * is published and READY=1 names it.
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "log.h"
#include "log_journal.h"
#include "notify.h"
#include "reload.h"
#include "reload_sequence.h"
#include "runtime.h"
#include "status.h"
#include "summary.h"

/* What one reload holds until it ends, whichever way it ends. */
struct reload_attempt {
	const char *settings_path;
	const char *const *pipeline_paths;
	unsigned pipeline_count;
	struct config **running;
	struct config_errors *errors;
	struct graph_transition *transition;
	struct reload_plan *plan;
	struct config *next;
	bool next_refused;   /* the files were refused: hand their memory back */
};

/* cp only: what the last reload ended with, for the control socket's clients */
static struct reload_outcome last_outcome;

const struct reload_outcome *
reload_sequence_last_outcome(void)
{
	return &last_outcome;
}

/* The error lines of a refusal, as config_errors_print() prints them, or @p message. */
static void
outcome_refused(struct reload_outcome *outcome, const struct config_errors *errors,
		const char *message)
{
	outcome->succeeded = false;
	outcome->summary[0] = '\0';
	outcome->error_count = 0;
	outcome->generation = runtime_graph() != NULL ? runtime_graph()->generation : 0;
	if (errors == NULL || errors->count == 0) {
		snprintf(outcome->errors[outcome->error_count++], RELOAD_ERROR_LINE_MAX, "%s",
			 message != NULL ? message : "refused");
		return;
	}
	for (unsigned i = 0; i < errors->count; i++)
		config_error_format(errors, i, outcome->errors[outcome->error_count++],
				    RELOAD_ERROR_LINE_MAX);
	if (errors->dropped > 0)
		snprintf(outcome->errors[outcome->error_count++], RELOAD_ERROR_LINE_MAX,
			 "jetstreamd: error: %u more errors not shown", errors->dropped);
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
	log_event(LOG_LEVEL_ERROR, LOG_MESSAGE_RELOAD_FAILED, "reload failed: keeping generation %u",
		  runtime_graph()->generation);
	outcome_refused(&last_outcome, errors, message);
	last_outcome.number++;
	status_count_reload(false);
	notify_reload_failed(status);
}

/* Append "verb name" for the first name of a group, ", name" for the others. */
static void
append_name(char *text, size_t size, const char *verb, const char *name, bool *first)
{
	size_t length = strlen(text);

	if (*first)
		snprintf(text + length, size - length, "%s%s %s", length > 0 ? "; " : "", verb,
			 name);
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
	log_set_generation(graph->generation);
	log_event(LOG_LEVEL_INFO, LOG_MESSAGE_RELOADED, "reload: generation %u running: %s",
		  graph->generation, changes);
	last_outcome.succeeded = true;
	last_outcome.generation = graph->generation;
	last_outcome.error_count = 0;
	snprintf(last_outcome.summary, sizeof(last_outcome.summary), "%s", changes);
	last_outcome.number++;
	status_count_reload(true);
	summary_notify_ready(graph);
}

/* Read the files again and plan the change; false (reported) when they are refused. */
static bool
read_and_plan(struct reload_attempt *attempt)
{
	attempt->next = config_load(attempt->settings_path, attempt->pipeline_paths,
				    attempt->pipeline_count, attempt->errors);
	if (attempt->next != NULL &&
	    reload_plan(*attempt->running, attempt->next, attempt->plan, attempt->errors) == 0)
		return true;
	reload_failed(attempt->errors, NULL);
	attempt->next_refused = true;
	return false;
}

/* Build the next generation beside the running one; false (reported) when it cannot. */
static bool
build_next(struct reload_attempt *attempt)
{
	char error[512];

	if (graph_build_next(runtime_graph(), attempt->next, attempt->plan, attempt->transition,
			     error, sizeof(error)) == 0)
		return true;
	reload_failed(NULL, error);
	return false;
}

/* Hand the next generation to the runtime; false (reported) when it cannot take it. */
static bool
publish(struct reload_attempt *attempt)
{
	struct graph *unused;

	if (runtime_begin_transition(attempt->transition) == 0) {
		attempt->transition = NULL; /* the runtime owns it now */
		return true;
	}
	/* nothing was published; the next generation is dropped whole */
	unused = attempt->transition->next;
	graph_transition_free(attempt->transition);
	graph_release(unused);
	reload_failed(NULL, "out of memory while publishing the new graph");
	return false;
}

/* The published configuration becomes the running one. */
static void
adopt(struct reload_attempt *attempt)
{
	log_set_level((enum log_level)attempt->next->settings.log_level);
	reload_succeeded(*attempt->running, attempt->plan, attempt->next);
	config_free(*attempt->running);
	*attempt->running = attempt->next;
	attempt->next = NULL;
}

static void
release(struct reload_attempt *attempt)
{
	config_free(attempt->next);
	free(attempt->transition);
	free(attempt->plan);
	free(attempt->errors);
	/*
	 * A refused file may have been up to CONFIG_MAX_FILE_SIZE with its tree;
	 * all of it is freed, and this hands the allocator's now free pages back
	 * too, so a refused reload leaves the resident size where it was.
	 */
	if (attempt->next_refused)
		malloc_trim(0);
}

void
reload_sequence_run(const char *settings_path, const char *const *pipeline_paths,
		    unsigned pipeline_count, struct config **running)
{
	struct reload_attempt attempt = {
		.settings_path = settings_path,
		.pipeline_paths = pipeline_paths,
		.pipeline_count = pipeline_count,
		.running = running,
		.errors = calloc(1, sizeof(struct config_errors)),
		.transition = calloc(1, sizeof(struct graph_transition)),
		.plan = calloc(1, sizeof(struct reload_plan)),
	};

	notify_reloading();
	log_info("reload: reading the configuration (generation %u running)",
		 runtime_graph()->generation);
	if (attempt.errors == NULL || attempt.transition == NULL || attempt.plan == NULL)
		reload_failed(NULL, "out of memory");
	else if (read_and_plan(&attempt) && build_next(&attempt) && publish(&attempt))
		adopt(&attempt);
	release(&attempt);
}

void
reload_sequence_check(const char *settings_path, const char *const *pipeline_paths,
		      unsigned pipeline_count, const struct config *running,
		      size_t byte_limit, struct reload_outcome *outcome)
{
	struct config_errors *errors = calloc(1, sizeof(*errors));
	struct reload_plan *plan = calloc(1, sizeof(*plan));
	struct config *checked = NULL;

	if (errors == NULL || plan == NULL) {
		outcome_refused(outcome, NULL, "out of memory");
	} else if ((checked = config_load_limited(settings_path, pipeline_paths, pipeline_count,
						  byte_limit, errors)) == NULL ||
		   reload_plan(running, checked, plan, errors) != 0) {
		outcome_refused(outcome, errors, NULL);
	} else {
		*outcome = (struct reload_outcome){
			.succeeded = true,
			.generation = runtime_graph() != NULL ? runtime_graph()->generation : 0};
		snprintf(outcome->summary, sizeof(outcome->summary),
			 "configuration valid: %u kernels in %u pipeline files", checked->kernel_count,
			 config_pipeline_file_count(checked));
	}
	config_free(checked);
	free(plan);
	free(errors);
	/*
	 * No malloc_trim() here, unlike after a refused reload: it walks the
	 * whole heap, and checks may come one per wake-up. What a check holds
	 * is bounded by @p byte_limit and all freed; the allocator keeps at
	 * most one check's worth, which the next check reuses.
	 */
}

bool
reload_sequence_continue(void)
{
	if (!runtime_transition_pending())
		return false;
	runtime_finish_transition();
	return true;
}
