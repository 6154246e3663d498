/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * jetstreamctl's side of the control socket: one connection, one JSON
 * request line, one JSON reply line (README, "Control socket and
 * jetstreamctl").
 */
#ifndef JETSTREAMCTL_CLIENT_H
#define JETSTREAMCTL_CLIENT_H

#include <jansson.h>

/* Exit statuses (sysexits.h names). */
#define CTL_EXIT_OK 0
#define CTL_EXIT_FAILED 1        /**< the daemon answered with an error */
#define CTL_EXIT_USAGE 64        /**< EX_USAGE */
#define CTL_EXIT_UNAVAILABLE 69  /**< EX_UNAVAILABLE: no daemon answers on the socket */
#define CTL_EXIT_CONFIG 78       /**< EX_CONFIG: the configuration was refused */

#define CTL_DEFAULT_SOCKET "/run/jetstream/control.sock"

struct ctl_connection {
	const char *socket_path;
	int fd;                  /**< -1: not connected */
};

/**
 * Connect to @p connection->socket_path. On failure prints why, naming the
 * socket. @return 0 or CTL_EXIT_UNAVAILABLE.
 */
int ctl_connect(struct ctl_connection *connection);

/**
 * Send @p request (not consumed) and wait up to @p timeout_ms for the reply.
 * On failure prints why. @return the reply (json_decref() it), or NULL.
 */
json_t *ctl_ask(struct ctl_connection *connection, const json_t *request, int timeout_ms);

void ctl_disconnect(struct ctl_connection *connection);

/**
 * Connect, ask once, disconnect. @return the reply, or NULL with *@p status
 * set to the exit status to leave with.
 */
json_t *ctl_ask_once(const char *socket_path, const json_t *request, int timeout_ms, int *status);

#endif
