/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Format exec: one program per alert, started with posix_spawn (no shell),
 * its stdin a pipe holding the alert's jsonl line, its environment the
 * daemon's (but systemd's notify and socket variables, which are the
 * daemon's own) and the alert's ALERT_* variables, its stdout and stderr the
 * daemon's stderr (the journal under systemd), no other descriptor. It runs
 * in a process group of its own, so a timeout ends what it started too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "outputs/actions_private.h"
#include "outputs/alert_fields.h"

extern char **environ;

#define NANOSECONDS_PER_SECOND UINT64_C(1000000000)
/* After SIGTERM, a program has this long before SIGKILL. */
#define KILL_GRACE_NS NANOSECONDS_PER_SECOND
#define ARGUMENTS_MAX 64
/* The daemon's variables a program must not inherit: it would speak to systemd as the daemon. */
static const char *const withheld_prefixes[] = {"NOTIFY_SOCKET=", "WATCHDOG_", "LISTEN_",
						 "ALERT_", NULL};

struct exec_state {
	char *arguments[ARGUMENTS_MAX + 1];
	uint64_t timeout_ns;
	char **inherited;       /* the daemon's environment, filtered, at open */
	unsigned inherited_count;
};

static bool
withheld(const char *variable)
{
	for (const char *const *prefix = withheld_prefixes; *prefix != NULL; prefix++)
		if (strncmp(variable, *prefix, strlen(*prefix)) == 0)
			return true;
	return false;
}

static int
keep_environment(struct exec_state *state)
{
	unsigned count = 0;

	for (char **variable = environ; *variable != NULL; variable++)
		count++;
	state->inherited = calloc(count + 1, sizeof(*state->inherited));
	if (state->inherited == NULL)
		return -ENOMEM;
	for (char **variable = environ; *variable != NULL; variable++) {
		if (withheld(*variable))
			continue;
		state->inherited[state->inherited_count] = strdup(*variable);
		if (state->inherited[state->inherited_count] == NULL)
			return -ENOMEM;
		state->inherited_count++;
	}
	return 0;
}

static void
exec_close(void *state_pointer)
{
	struct exec_state *state = state_pointer;

	if (state == NULL)
		return;
	for (unsigned v = 0; v < state->inherited_count; v++)
		free(state->inherited[v]);
	free(state->inherited);
	for (unsigned a = 0; state->arguments[a] != NULL; a++)
		free(state->arguments[a]);
	free(state);
}

static int
exec_open(const struct action_settings *settings, void **state_out, char *message,
	  size_t message_size)
{
	struct exec_state *state = calloc(1, sizeof(*state));
	unsigned count = 0;
	int error;

	if (state == NULL)
		return -ENOMEM;
	state->timeout_ns = settings->timeout_ns;
	for (const char *text = settings->command; *text != '\0'; text += strlen(text) + 1) {
		if (count == ARGUMENTS_MAX) {
			snprintf(message, message_size, "more than %d arguments", ARGUMENTS_MAX);
			exec_close(state);
			return -EINVAL;
		}
		state->arguments[count] = strdup(text);
		if (state->arguments[count++] == NULL) {
			exec_close(state);
			return -ENOMEM;
		}
	}
	if (count == 0) {
		snprintf(message, message_size, "no command");
		exec_close(state);
		return -EINVAL;
	}
	error = keep_environment(state);
	if (error != 0) {
		exec_close(state);
		return error;
	}
	*state_out = state;
	return 0;
}

/* The inherited variables, then the alert's. */
static char **
environment(const struct exec_state *state, const struct alert_fields *fields)
{
	char **variables = calloc(state->inherited_count + fields->count + 1, sizeof(*variables));

	if (variables == NULL)
		return NULL;
	memcpy(variables, state->inherited, state->inherited_count * sizeof(*variables));
	memcpy(variables + state->inherited_count, fields->variables,
	       fields->count * sizeof(*variables));
	return variables;
}

/*
 * The child's set-up, done by posix_spawn between fork and exec: stdin the
 * pipe, stdout the daemon's stderr, nothing else open; every signal back to
 * its default (the daemon ignores SIGPIPE) and unblocked (the thread blocks
 * all); a process group of its own.
 */
static int
spawn_setup(posix_spawn_file_actions_t *files, posix_spawnattr_t *attributes, int input)
{
	sigset_t signals;
	int error = posix_spawn_file_actions_init(files);

	if (error != 0)
		return error;
	error = posix_spawnattr_init(attributes);
	if (error != 0) {
		posix_spawn_file_actions_destroy(files);
		return error;
	}
	posix_spawn_file_actions_adddup2(files, input, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(files, STDERR_FILENO, STDOUT_FILENO);
	posix_spawn_file_actions_addclosefrom_np(files, STDERR_FILENO + 1);
	sigfillset(&signals);
	posix_spawnattr_setsigdefault(attributes, &signals);
	sigemptyset(&signals);
	posix_spawnattr_setsigmask(attributes, &signals);
	posix_spawnattr_setpgroup(attributes, 0);
	return posix_spawnattr_setflags(attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
							POSIX_SPAWN_SETPGROUP);
}

/* The line into the pipe: it holds 64 KiB, a line at most 1.5 KiB, so this never waits. */
static void
write_line(int output, const struct action_job *job)
{
	ssize_t written = write(output, job->line, job->length);

	(void)written; /* a program that exited without reading is judged by its exit status */
	close(output);
}

static void
exec_start(void *state_pointer, struct action_job *job, uint64_t now_ns)
{
	struct exec_state *state = state_pointer;
	posix_spawn_file_actions_t files;
	posix_spawnattr_t attributes;
	struct alert_fields fields;
	char **variables;
	int pipe_ends[2], error;

	job->outcome = ACTION_FAILED;
	alert_fields_format(&job->record, &fields);
	variables = environment(state, &fields);
	if (variables == NULL || pipe2(pipe_ends, O_CLOEXEC) != 0) {
		snprintf(job->error, sizeof(job->error), "cannot start %s: %s", state->arguments[0],
			 strerror(errno));
		free(variables);
		return;
	}
	error = spawn_setup(&files, &attributes, pipe_ends[0]);
	if (error == 0) {
		error = posix_spawnp(&job->pid, state->arguments[0], &files, &attributes,
				     state->arguments, variables);
		posix_spawn_file_actions_destroy(&files);
		posix_spawnattr_destroy(&attributes);
	}
	free(variables);
	close(pipe_ends[0]);
	if (error != 0) {
		close(pipe_ends[1]);
		snprintf(job->error, sizeof(job->error), "cannot run %s: %s", state->arguments[0],
			 strerror(error));
		return;
	}
	write_line(pipe_ends[1], job);
	job->deadline_ns = now_ns + state->timeout_ns;
	job->outcome = ACTION_RUNNING;
}

/* A program that ended: its exit status says how. */
static void
judge(const struct exec_state *state, struct action_job *job, int status)
{
	if (job->terminated) {
		job->outcome = ACTION_TIMED_OUT;
		snprintf(job->error, sizeof(job->error), "%s ran longer than its timeout (%.3f s): "
			 "killed", state->arguments[0], (double)state->timeout_ns / 1e9);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		job->outcome = ACTION_SUCCEEDED;
	} else if (WIFEXITED(status)) {
		job->outcome = ACTION_FAILED;
		snprintf(job->error, sizeof(job->error), "%s exited with status %d",
			 state->arguments[0], WEXITSTATUS(status));
	} else {
		job->outcome = ACTION_FAILED;
		snprintf(job->error, sizeof(job->error), "%s was killed by signal %d (%s)",
			 state->arguments[0], WTERMSIG(status), strsignal(WTERMSIG(status)));
	}
}

static void
exec_progress(void *state_pointer, struct action_job *jobs, uint64_t now_ns)
{
	struct exec_state *state = state_pointer;

	for (struct action_job *job = jobs; job != NULL; job = job->next) {
		int status;

		if (job->outcome != ACTION_RUNNING)
			continue;
		if (waitpid(job->pid, &status, WNOHANG) == job->pid) {
			/*
			 * A program timed out and sent SIGTERM may exit while a child
			 * of its group ignores it: the group gets SIGKILL too. (Its
			 * id is not reused while a member lives, so this reaches no
			 * other process.)
			 */
			if (job->terminated)
				kill(-job->pid, SIGKILL);
			judge(state, job, status);
			continue;
		}
		if (now_ns < job->deadline_ns)
			continue;
		/* the whole group: a script's own children end with it */
		kill(-job->pid, job->terminated ? SIGKILL : SIGTERM);
		job->deadline_ns = job->terminated ? UINT64_MAX : now_ns + KILL_GRACE_NS;
		job->terminated = true;
	}
}

static void
exec_abandon(void *state_pointer, struct action_job *job)
{
	(void)state_pointer;
	kill(-job->pid, SIGKILL);
	waitpid(job->pid, NULL, 0); /* at once: nothing survives SIGKILL */
}

const struct action_kind action_exec_kind = {
	.open = exec_open,
	.start = exec_start,
	.progress = exec_progress,
	.abandon = exec_abandon,
	.close = exec_close,
};
