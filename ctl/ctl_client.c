/* SPDX-License-Identifier: BSD-3-Clause */
/* The client side of the control socket (ctl_client.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control_protocol.h"
#include "ctl_client.h"

int
ctl_connect(struct ctl_connection *connection)
{
	struct sockaddr_un address = {.sun_family = AF_UNIX};

	connection->fd = -1;
	if (strlen(connection->socket_path) >= sizeof(address.sun_path)) {
		fprintf(stderr, "jetstreamctl: control socket %s: path too long\n",
			connection->socket_path);
		return CTL_EXIT_UNAVAILABLE;
	}
	snprintf(address.sun_path, sizeof(address.sun_path), "%s", connection->socket_path);
	connection->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connection->fd < 0 ||
	    connect(connection->fd, (struct sockaddr *)&address, sizeof(address)) != 0) {
		fprintf(stderr,
			"jetstreamctl: cannot reach jetstreamd on control socket %s: %s\n"
			"  (is it running, with `control_socket:` set to this path? -s SOCKET names another)\n",
			connection->socket_path, strerror(errno));
		ctl_disconnect(connection);
		return CTL_EXIT_UNAVAILABLE;
	}
	return 0;
}

void
ctl_disconnect(struct ctl_connection *connection)
{
	if (connection->fd >= 0)
		close(connection->fd);
	connection->fd = -1;
}

static long long
now_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int
send_all(int fd, const char *text, size_t length)
{
	while (length > 0) {
		ssize_t sent = send(fd, text, length, MSG_NOSIGNAL);

		if (sent < 0 && errno == EINTR)
			continue;
		if (sent <= 0)
			return -1;
		text += sent;
		length -= (size_t)sent;
	}
	return 0;
}

/* Read until a newline; @return the line (malloc'd, NUL instead of the newline) or NULL. */
static char *
read_line(struct ctl_connection *connection, int timeout_ms, const char **why)
{
	long long deadline = now_ms() + timeout_ms;
	size_t length = 0, capacity = 0;
	char *line = NULL;

	for (;;) {
		struct pollfd ready = {.fd = connection->fd, .events = POLLIN};
		long long left = deadline - now_ms();
		ssize_t got;
		char *grown;

		int polled = left > 0 ? poll(&ready, 1, (int)left) : 0;

		if (polled < 0 && errno == EINTR)
			continue; /* a signal (top's Ctrl-C): the caller looks once the reply is in */
		if (polled <= 0) {
			*why = polled == 0 ? "no reply in time" : strerror(errno);
			break;
		}
		/* the daemon refuses longer replies; a longer one is not from it */
		if (capacity - length < 65536) {
			capacity = capacity * 2 + 65536;
			grown = capacity <= CONTROL_REPLY_MAX ? realloc(line, capacity) : NULL;
			if (grown == NULL) {
				*why = "reply too long";
				break;
			}
			line = grown;
		}
		got = read(connection->fd, line + length, capacity - length - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			*why = got == 0 ? "the daemon closed the connection" : strerror(errno);
			break;
		}
		length += (size_t)got;
		if (line[length - 1] == '\n') {
			line[length - 1] = '\0';
			return line;
		}
	}
	free(line);
	return NULL;
}

json_t *
ctl_ask(struct ctl_connection *connection, const json_t *request, int timeout_ms)
{
	char *text = json_dumps(request, JSON_COMPACT);
	const char *why = "out of memory";
	char *line = NULL;
	json_error_t error;
	json_t *reply = NULL;

	if (text != NULL && send_all(connection->fd, text, strlen(text)) == 0 &&
	    send_all(connection->fd, "\n", 1) == 0)
		line = read_line(connection, timeout_ms, &why);
	else if (text != NULL)
		why = strerror(errno);
	free(text);
	if (line != NULL) {
		reply = json_loads(line, 0, &error);
		why = "the reply is not JSON";
	}
	free(line);
	if (reply == NULL || !json_is_object(reply)) {
		fprintf(stderr, "jetstreamctl: control socket %s: %s\n", connection->socket_path,
			why);
		json_decref(reply);
		return NULL;
	}
	return reply;
}

json_t *
ctl_ask_once(const char *socket_path, const json_t *request, int timeout_ms, int *status)
{
	struct ctl_connection connection = {.socket_path = socket_path};
	json_t *reply;

	*status = ctl_connect(&connection);
	if (*status != 0)
		return NULL;
	reply = ctl_ask(&connection, request, timeout_ms);
	ctl_disconnect(&connection);
	*status = reply != NULL ? 0 : CTL_EXIT_UNAVAILABLE;
	return reply;
}
