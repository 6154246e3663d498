/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket's transport (control_socket.h): a non-blocking unix
 * stream listener and up to CONTROL_SOCKET_CLIENTS_MAX clients, each reading
 * one request line, then waiting (a reload) or writing its reply, then
 * reading the next line. Nothing here blocks: the control thread also runs
 * reloads, signals and the metrics, and a client must never hold them up.
 * The protocol itself is control_commands.c.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "control_commands.h"
#include "control_protocol.h"
#include "control_socket.h"
#include "log.h"
#include "reload_sequence.h"
#include "runtime.h"

#define NS_PER_SECOND 1000000000ull
/* An honest client needs milliseconds; an idle or stuck one frees its slot. */
#define CLIENT_TIMEOUT_NS (CONTROL_CLIENT_TIMEOUT_S * NS_PER_SECOND)
#define RELOAD_TIMEOUT_NS (CONTROL_RELOAD_TIMEOUT_S * NS_PER_SECOND)
/* New connections taken per wake-up: bounded work, and the backlog keeps the rest. */
#define ACCEPTS_PER_WAKE 8
#define LISTEN_BACKLOG 128
/* The socket's directory, when missing (production: tmpfiles.d makes /run/jetstream). */
#define DIRECTORY_MODE 0750
#define SOCKET_MODE 0660

enum client_phase {
	CLIENT_FREE = 0,
	CLIENT_READING,        /* until a newline */
	CLIENT_WAITING_RELOAD, /* until reload_sequence_last_outcome() passes reload_after */
	CLIENT_WAITING_CHECK,  /* a check line, kept in the buffer until its turn */
	CLIENT_WRITING,        /* until the reply is out; then reading again, or closed */
};

struct client {
	int fd;
	enum client_phase phase;
	uint64_t deadline_ns;       /* of the current phase */
	uint64_t reload_after;      /* outcome number when the reload was asked for */
	bool close_after_reply;     /* the request broke the protocol: nothing after it is read */
	size_t request_length;
	char request[CONTROL_SOCKET_REQUEST_MAX];
	char *reply;                /* malloc'd, newline-terminated */
	size_t reply_length, reply_sent;
};

/* cp only */
static struct {
	int listen_fd;                  /* -1: off */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool reload_requested;
	unsigned last_check;            /* the client whose check ran last: the turn goes on from it */
	struct client clients[CONTROL_SOCKET_CLIENTS_MAX];
} server = {.listen_fd = -1};


/* ---- opening ---- */

/* Make the socket's directory (and its parents) when missing. */
static int
make_directory(const char *path, char *error, size_t error_size)
{
	char directory[sizeof(server.path)];
	char *slash;

	snprintf(directory, sizeof(directory), "%s", path);
	slash = strrchr(directory, '/');
	if (slash == NULL || slash == directory)
		return 0;
	*slash = '\0';
	for (char *part = strchr(directory + 1, '/');; part = strchr(part + 1, '/')) {
		if (part != NULL)
			*part = '\0';
		if (mkdir(directory, DIRECTORY_MODE) != 0 && errno != EEXIST) {
			snprintf(error, error_size, "control socket %s: cannot create %s: %s", path,
				 directory, strerror(errno));
			return -1;
		}
		if (part == NULL)
			return 0;
		*part = '/';
	}
}

/*
 * A socket file already there: another daemon's (it answers: an error) or a
 * dead one's (connection refused: removed). Anything but a socket is left alone.
 */
static int
clear_stale_socket(const struct sockaddr_un *address, char *error, size_t error_size)
{
	struct stat file;
	int probe, result;

	if (lstat(address->sun_path, &file) != 0)
		return 0;
	if (!S_ISSOCK(file.st_mode)) {
		snprintf(error, error_size, "control socket %s: exists and is not a socket",
			 address->sun_path);
		return -1;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (probe < 0) {
		snprintf(error, error_size, "control socket %s: socket: %s", address->sun_path,
			 strerror(errno));
		return -1;
	}
	result = connect(probe, (const struct sockaddr *)address, sizeof(*address));
	close(probe);
	/* EAGAIN: a live listener with a full backlog */
	if (result == 0 || errno == EAGAIN) {
		snprintf(error, error_size, "control socket %s is in use by another jetstreamd",
			 address->sun_path);
		return -1;
	}
	if (unlink(address->sun_path) != 0 && errno != ENOENT) {
		snprintf(error, error_size, "control socket %s: cannot remove the stale socket: %s",
			 address->sun_path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
bind_and_listen(const struct sockaddr_un *address, char *error, size_t error_size)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t mask;

	if (fd < 0) {
		snprintf(error, error_size, "control socket %s: socket: %s", address->sun_path,
			 strerror(errno));
		return -1;
	}
	/* created with its final mode: no moment where others may connect */
	mask = umask(0777 & ~SOCKET_MODE);
	if (bind(fd, (const struct sockaddr *)address, sizeof(*address)) != 0 ||
	    chmod(address->sun_path, SOCKET_MODE) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
		snprintf(error, error_size, "control socket %s: %s", address->sun_path,
			 strerror(errno));
		umask(mask);
		close(fd);
		return -1;
	}
	umask(mask);
	return fd;
}

int
control_socket_open(const struct daemon_settings *settings, char *error, size_t error_size)
{
	struct sockaddr_un address = {.sun_family = AF_UNIX};

	if (strcmp(settings->control_socket, "off") == 0 || settings->control_socket[0] == '\0')
		return 0;
	if (strlen(settings->control_socket) >= sizeof(address.sun_path)) {
		snprintf(error, error_size, "control socket %s: path too long",
			 settings->control_socket);
		return -1;
	}
	snprintf(address.sun_path, sizeof(address.sun_path), "%s", settings->control_socket);
	if (make_directory(address.sun_path, error, error_size) != 0 ||
	    clear_stale_socket(&address, error, error_size) != 0)
		return -1;
	server.listen_fd = bind_and_listen(&address, error, error_size);
	if (server.listen_fd < 0)
		return -1;
	snprintf(server.path, sizeof(server.path), "%s", address.sun_path);
	for (unsigned c = 0; c < CONTROL_SOCKET_CLIENTS_MAX; c++)
		server.clients[c] = (struct client){.fd = -1};
	log_info("control socket: listening on %s", server.path);
	return 0;
}

void
control_socket_attach(const struct control_sources *sources, struct config *const *running)
{
	control_commands_attach(sources, running);
}

bool
control_socket_take_reload_request(void)
{
	bool requested = server.reload_requested;

	server.reload_requested = false;
	return requested;
}

/* ---- clients ---- */

static void
client_close(struct client *client)
{
	close(client->fd);
	free(client->reply);
	client->fd = -1;
	client->reply = NULL;
	client->phase = CLIENT_FREE;
}

static void
client_read_next(struct client *client)
{
	client->phase = CLIENT_READING;
	client->deadline_ns = clock_monotonic_ns() + CLIENT_TIMEOUT_NS;
}

/* Queue @p reply (consumed) for writing; NULL (out of memory) drops the client. */
static void
client_reply(struct client *client, json_t *reply)
{
	char *text = reply != NULL ? json_dumps(reply, JSON_COMPACT) : NULL;
	size_t length = text != NULL ? strlen(text) : 0;

	json_decref(reply);
	if (text != NULL && length + 1 > CONTROL_REPLY_MAX) {
		free(text);
		client_reply(client, control_commands_error("reply of %zu bytes is over the bound "
							    "of %u", length, CONTROL_REPLY_MAX));
		return;
	}
	if (text == NULL || (client->reply = realloc(text, length + 1)) == NULL) {
		free(text);
		client_close(client);
		return;
	}
	client->reply[length] = '\n';
	client->reply_length = length + 1;
	client->reply_sent = 0;
	client->phase = CLIENT_WRITING;
	client->deadline_ns = clock_monotonic_ns() + CLIENT_TIMEOUT_NS;
}

/* Drop the first @p line_length bytes of the buffer and the newline after them. */
static void
client_consume_line(struct client *client, size_t line_length)
{
	size_t rest = client->request_length - line_length - 1;

	memmove(client->request, client->request + line_length + 1, rest);
	client->request_length = rest;
}

/*
 * The first complete line of the buffer, if any: run it. A check runs only
 * when @p check_allowed (its turn, serve_check_turn()); otherwise its line
 * stays in the buffer and the client waits for the turn.
 */
static void
client_run_line(struct client *client, bool check_allowed)
{
	char *newline = memchr(client->request, '\n', client->request_length);
	enum control_command_wait wait;
	size_t line_length;
	json_t *reply;

	if (newline == NULL) {
		if (client->request_length < sizeof(client->request))
			return;
		client->close_after_reply = true;
		client_reply(client, control_commands_error("request longer than %u bytes",
							    CONTROL_SOCKET_REQUEST_MAX));
		return;
	}
	line_length = (size_t)(newline - client->request);
	reply = control_commands_run(client->request, line_length, check_allowed, &wait);
	if (wait == CONTROL_COMMAND_WAIT_CHECK) {
		client->phase = CLIENT_WAITING_CHECK;
		client->deadline_ns = clock_monotonic_ns() + CLIENT_TIMEOUT_NS;
		return;
	}
	client_consume_line(client, line_length);
	if (wait == CONTROL_COMMAND_REPLIED) {
		client_reply(client, reply);
		return;
	}
	client->phase = CLIENT_WAITING_RELOAD;
	client->reload_after = reload_sequence_last_outcome()->number;
	client->deadline_ns = clock_monotonic_ns() + RELOAD_TIMEOUT_NS;
	server.reload_requested = true;
}

static void
client_read(struct client *client)
{
	ssize_t got = read(client->fd, client->request + client->request_length,
			   sizeof(client->request) - client->request_length);

	if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
		/* gone: with a half line, there is nobody to answer */
		client_close(client);
		return;
	}
	if (got > 0)
		client->request_length += (size_t)got;
	client_run_line(client, false);
}

static void
client_write(struct client *client)
{
	ssize_t sent = send(client->fd, client->reply + client->reply_sent,
			    client->reply_length - client->reply_sent, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (sent < 0) {
		if (errno != EAGAIN && errno != EINTR)
			client_close(client);
		return;
	}
	client->reply_sent += (size_t)sent;
	if (client->reply_sent < client->reply_length)
		return;
	free(client->reply);
	client->reply = NULL;
	if (client->close_after_reply) {
		client_close(client);
		return;
	}
	client_read_next(client);
	/* a pipelined request may already be in the buffer */
	client_run_line(client, false);
}

static void
client_check_reload(struct client *client)
{
	const struct reload_outcome *outcome = reload_sequence_last_outcome();

	if (outcome->number > client->reload_after)
		client_reply(client, control_commands_reload_reply(outcome));
	else if (runtime_stop_requested())
		client_reply(client, control_commands_error("the daemon is stopping: no reload"));
}

/* A check that waited CONTROL_CLIENT_TIMEOUT_S for its turn: its line goes, with an error. */
static void
check_turn_missed(struct client *client)
{
	char *newline = memchr(client->request, '\n', client->request_length);

	client_consume_line(client, (size_t)(newline - client->request));
	client_reply(client, control_commands_error("check: no turn within %u s: other clients' "
						    "checks ran first (one at a time); try again",
						    CONTROL_CLIENT_TIMEOUT_S));
}

static void
client_serve(struct client *client, uint64_t now)
{
	switch (client->phase) {
	case CLIENT_READING:
		client_read(client);
		break;
	case CLIENT_WAITING_RELOAD:
		client_check_reload(client);
		break;
	case CLIENT_WAITING_CHECK:
		break; /* serve_check_turn() runs it */
	case CLIENT_WRITING:
		client_write(client);
		break;
	case CLIENT_FREE:
		return;
	}
	if (now < client->deadline_ns)
		return;
	if (client->phase == CLIENT_WAITING_RELOAD)
		client_reply(client, control_commands_error("no reload outcome within %u s",
							    CONTROL_RELOAD_TIMEOUT_S));
	else if (client->phase == CLIENT_WAITING_CHECK)
		check_turn_missed(client);
	else if (client->phase != CLIENT_FREE)
		client_close(client); /* too slow to send a line or to read its reply */
}

/*
 * The one check of this wake-up: a check reads and parses files (up to
 * CONTROL_CHECK_BYTES_MAX), so checks run one per wake-up, taking turns
 * from the client after the one whose check ran last, and signals, ticks
 * and the other clients are served in between.
 */
static void
serve_check_turn(void)
{
	for (unsigned n = 1; n <= CONTROL_SOCKET_CLIENTS_MAX; n++) {
		unsigned c = (server.last_check + n) % CONTROL_SOCKET_CLIENTS_MAX;

		if (server.clients[c].phase == CLIENT_WAITING_CHECK) {
			server.last_check = c;
			client_run_line(&server.clients[c], true);
			return;
		}
	}
}

/* One try to tell a client why it is let go: it gets the line or nothing. */
static void
tell_client(int fd, const char *message)
{
	char line[128];
	int length = snprintf(line, sizeof(line), "{\"ok\":false,\"error\":\"%s\"}\n", message);

	(void)!send(fd, line, (size_t)length, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/*
 * Tell a client past the bound why, and close. What it already sent is read
 * first (once, bounded): a unix socket closed with unread data resets the
 * peer, which would then lose the reply.
 */
static void
refuse_client(int fd)
{
	char discarded[CONTROL_SOCKET_REQUEST_MAX];

	tell_client(fd, "too many clients");
	shutdown(fd, SHUT_WR);
	(void)!read(fd, discarded, sizeof(discarded));
	close(fd);
}

static struct client *
free_slot(void)
{
	for (unsigned c = 0; c < CONTROL_SOCKET_CLIENTS_MAX; c++)
		if (server.clients[c].phase == CLIENT_FREE)
			return &server.clients[c];
	return NULL;
}

static void
accept_clients(void)
{
	for (unsigned n = 0; n < ACCEPTS_PER_WAKE; n++) {
		int fd = accept4(server.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *client;

		if (fd < 0)
			return; /* EAGAIN: none waiting; anything else: retried on the next wake-up */
		client = free_slot();
		if (client == NULL) {
			refuse_client(fd);
			continue;
		}
		*client = (struct client){.fd = fd};
		client_read_next(client);
	}
}

void
control_socket_serve(void)
{
	uint64_t now;

	if (server.listen_fd < 0)
		return;
	accept_clients();
	now = clock_monotonic_ns();
	for (unsigned c = 0; c < CONTROL_SOCKET_CLIENTS_MAX; c++)
		client_serve(&server.clients[c], now);
	serve_check_turn();
}

void
control_socket_close(void)
{
	if (server.listen_fd < 0)
		return;
	for (unsigned c = 0; c < CONTROL_SOCKET_CLIENTS_MAX; c++) {
		struct client *client = &server.clients[c];

		if (client->phase == CLIENT_WAITING_RELOAD)
			tell_client(client->fd, "the daemon stopped before the reload");
		if (client->phase != CLIENT_FREE)
			client_close(client);
	}
	close(server.listen_fd);
	server.listen_fd = -1;
	unlink(server.path);
}
