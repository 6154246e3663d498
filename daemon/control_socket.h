/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The control socket `jetstreamctl` talks to (settings `control_socket:`):
 * one JSON request and one JSON reply per line. Served by the control
 * thread, never blocking it.
 */
#ifndef JETSTREAM_CONTROL_SOCKET_H
#define JETSTREAM_CONTROL_SOCKET_H

#include <stddef.h>

#include "config.h"

/**
 * Listen on settings->control_socket (nothing when it is `off`).
 * @return 0, or -1 with a message in @p error.
 */
int control_socket_open(const struct daemon_settings *settings, char *error, size_t error_size);

/** Accept, read and answer what is ready, without blocking. Control thread. */
void control_socket_serve(void);

/** Close every client and the listening socket, and remove the socket file. */
void control_socket_close(void);

#endif
