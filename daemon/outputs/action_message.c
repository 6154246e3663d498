/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Formats journal and syslog: one message per alert, sent at once from the
 * actions' thread (a datagram each: nothing to wait for, so one at a time).
 *
 * journal: sd_journal_sendv() to journald's socket, MESSAGE_ID
 * LOG_MESSAGE_ALERT_ACTION, PRIORITY warning (4) at start and update,
 * notice (5) at the end, MESSAGE the jsonl line, and the ALERT_* fields.
 * syslog: an RFC 5424 message (outputs/alert_fields.h) in one UDP datagram
 * to `server:`, sent without waiting: a full socket buffer or an ICMP
 * refusal of an earlier one is a failed action.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* the entry is the alert's: which line of the daemon sent it is not one of its fields */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "config.h"
#include "log_journal.h"
#include "outputs/actions_private.h"
#include "outputs/alert_fields.h"

#define NANOSECONDS_PER_SECOND UINT64_C(1000000000)
/* RFC 5424 section 6.1: receivers must take 480 bytes, should take 2048; a line is at most 1536. */
#define SYSLOG_MESSAGE_MAX 4096

struct message_state {
	char owner[64];
	unsigned facility;
	int socket;
	char hostname[256];
	char server[272];
};

static void
message_close(void *state_pointer)
{
	struct message_state *state = state_pointer;

	if (state == NULL)
		return;
	if (state->socket >= 0)
		close(state->socket);
	free(state);
}

static struct message_state *
new_state(const struct action_settings *settings)
{
	struct message_state *state = calloc(1, sizeof(*state));

	if (state == NULL)
		return NULL;
	state->socket = -1;
	state->facility = settings->facility;
	snprintf(state->owner, sizeof(state->owner), "%s", settings->owner);
	snprintf(state->server, sizeof(state->server), "%s", settings->server);
	return state;
}

static void
no_progress(void *state, struct action_job *jobs, uint64_t now_ns)
{
	(void)state, (void)jobs, (void)now_ns; /* every action ends in start() */
}

static void
no_abandon(void *state, struct action_job *job)
{
	(void)state, (void)job;
}

/* ---- journal ------------------------------------------------------------------- */

static int
journal_open(const struct action_settings *settings, void **state_out, char *message,
	     size_t message_size)
{
	struct message_state *state = new_state(settings);

	(void)message, (void)message_size;
	if (state == NULL)
		return -ENOMEM;
	*state_out = state;
	return 0;
}

static void
journal_start(void *state_pointer, struct action_job *job, uint64_t now_ns)
{
	struct message_state *state = state_pointer;
	struct iovec parts[ALERT_FIELDS_MAX + 6];
	char message[JSONL_LINE_MAX + 16], priority[16], kernel[96];
	struct alert_fields fields;
	unsigned count = 0;
	int length, error;

	(void)now_ns;
	alert_fields_format(&job->record, &fields);
	length = snprintf(message, sizeof(message), "MESSAGE=%.*s", (int)(job->length - 1), job->line);
	parts[count++] = (struct iovec){message, (size_t)length};
	parts[count++] = (struct iovec){(void *)"MESSAGE_ID=" LOG_MESSAGE_ALERT_ACTION,
					strlen("MESSAGE_ID=" LOG_MESSAGE_ALERT_ACTION)};
	length = snprintf(priority, sizeof(priority), "PRIORITY=%u", alert_severity(&job->record));
	parts[count++] = (struct iovec){priority, (size_t)length};
	parts[count++] = (struct iovec){(void *)"SYSLOG_IDENTIFIER=jetstreamd",
					strlen("SYSLOG_IDENTIFIER=jetstreamd")};
	length = snprintf(kernel, sizeof(kernel), "KERNEL=%s", state->owner);
	parts[count++] = (struct iovec){kernel, (size_t)length};
	for (unsigned f = 0; f < fields.count; f++)
		parts[count++] = (struct iovec){(void *)fields.variables[f], strlen(fields.variables[f])};
	error = sd_journal_sendv(parts, (int)count);
	job->outcome = error < 0 ? ACTION_FAILED : ACTION_SUCCEEDED;
	if (error < 0)
		snprintf(job->error, sizeof(job->error), "cannot send to the journal: %s",
			 strerror(-error));
}

const struct action_kind action_journal_kind = {
	.open = journal_open,
	.start = journal_start,
	.progress = no_progress,
	.abandon = no_abandon,
	.close = message_close,
};

/* ---- syslog -------------------------------------------------------------------- */

/* A UDP socket connected to the server: sends need no address, and refusals come back. */
static int
connect_server(struct message_state *state, char *message, size_t message_size)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *addresses = NULL;
	char host[256], port[8];
	int error;

	if (!config_split_host_port(state->server, host, sizeof(host), port, sizeof(port))) {
		snprintf(message, message_size, "'%s' is not HOST:PORT", state->server);
		return -EINVAL;
	}
	error = getaddrinfo(host, port, &hints, &addresses);
	if (error != 0) {
		snprintf(message, message_size, "cannot resolve %s: %s", host, gai_strerror(error));
		return -EINVAL;
	}
	state->socket = socket(addresses->ai_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (state->socket < 0 ||
	    connect(state->socket, addresses->ai_addr, addresses->ai_addrlen) != 0) {
		error = -errno;
		snprintf(message, message_size, "cannot reach %s: %s", state->server, strerror(errno));
		freeaddrinfo(addresses);
		return error;
	}
	freeaddrinfo(addresses);
	return 0;
}

static int
syslog_open(const struct action_settings *settings, void **state_out, char *message,
	    size_t message_size)
{
	struct message_state *state = new_state(settings);
	int error;

	if (state == NULL)
		return -ENOMEM;
	if (gethostname(state->hostname, sizeof(state->hostname)) != 0)
		state->hostname[0] = '\0';
	state->hostname[sizeof(state->hostname) - 1] = '\0';
	error = connect_server(state, message, message_size);
	if (error != 0) {
		message_close(state);
		return error;
	}
	*state_out = state;
	return 0;
}

static void
syslog_start(void *state_pointer, struct action_job *job, uint64_t now_ns)
{
	struct message_state *state = state_pointer;
	struct timespec now;
	struct alert_syslog_header header = {.facility = state->facility,
					     .hostname = state->hostname,
					     .process_id = (unsigned)getpid()};
	char message[SYSLOG_MESSAGE_MAX];
	size_t length;

	(void)now_ns;
	clock_gettime(CLOCK_REALTIME, &now);
	header.time_ns = (uint64_t)now.tv_sec * NANOSECONDS_PER_SECOND + (uint64_t)now.tv_nsec;
	length = alert_syslog_format(&job->record, &header, job->line, job->length, message,
				     sizeof(message));
	if (length >= sizeof(message))
		length = sizeof(message) - 1; /* cannot happen: a line is at most 1536 bytes */
	if (send(state->socket, message, length, MSG_DONTWAIT) == (ssize_t)length) {
		job->outcome = ACTION_SUCCEEDED;
		return;
	}
	job->outcome = ACTION_FAILED;
	snprintf(job->error, sizeof(job->error), "cannot send to %s: %s", state->server,
		 strerror(errno));
}

const struct action_kind action_syslog_kind = {
	.open = syslog_open,
	.start = syslog_start,
	.progress = no_progress,
	.abandon = no_abandon,
	.close = message_close,
};
