/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The control socket `jetstreamctl` talks to (settings `control_socket:`):
 * one JSON request and one JSON reply per line (README, "Control socket and
 * jetstreamctl"). Served by the control thread, never blocking it: every
 * socket is non-blocking, each wake-up does a bounded amount of work, and a
 * client that sends too much, too slowly, or reads nothing is dropped.
 *
 * Threads: every function here is for the control thread only.
 */
#ifndef JETSTREAM_CONTROL_SOCKET_H
#define JETSTREAM_CONTROL_SOCKET_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "control.h"

/** Clients served at once; one more is told "too many clients" and closed. */
#define CONTROL_SOCKET_CLIENTS_MAX 16
/** Longest request line, newline included: no valid request comes near it. */
#define CONTROL_SOCKET_REQUEST_MAX 4096

/**
 * Listen on settings->control_socket (nothing when it is `off`). A socket
 * file nobody answers on (left by a daemon that died) is replaced; one a
 * live daemon answers on is an error.
 * @return 0, or -1 with a message naming the path in @p error.
 */
int control_socket_open(const struct daemon_settings *settings, char *error, size_t error_size);

/**
 * What `check` requests validate against: the files the daemon reads on a
 * reload and the running configuration (which control.c replaces on each
 * reload, hence the pointer to it). Both must outlive the serving.
 */
void control_socket_attach(const struct control_sources *sources, struct config *const *running);

/** Accept, read and answer what is ready, without blocking. */
void control_socket_serve(void);

/**
 * true (once) when a client asked for a reload since the last call. control.c
 * then reloads as on SIGHUP; the client's reply waits for that reload's
 * outcome (reload_sequence_last_outcome()).
 */
bool control_socket_take_reload_request(void);

/** Close every client and the listening socket, and remove the socket file. */
void control_socket_close(void);

#endif
