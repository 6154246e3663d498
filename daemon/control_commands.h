/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The control socket's commands (status, reload, check, sources): one
 * request line in, one JSON reply out. The transport (control_socket.c)
 * owns the sockets; this file owns the protocol. Control thread only.
 */
#ifndef JETSTREAM_CONTROL_COMMANDS_H
#define JETSTREAM_CONTROL_COMMANDS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "control.h"
#include "reload_sequence.h"

/** See control_socket_attach(). */
void control_commands_attach(const struct control_sources *sources, struct config *const *running);

/**
 * Run the request in @p line (@p length bytes, no newline).
 * @return the reply, or NULL with *@p wait_reload set: the request was a
 *         reload, whose reply is control_commands_reload_reply() once it ended.
 *         NULL without wait_reload: out of memory.
 */
json_t *control_commands_run(const char *line, size_t length, bool *wait_reload);

/** The reply to a reload that ended with @p outcome. */
json_t *control_commands_reload_reply(const struct reload_outcome *outcome);

/** {"ok":false,"error":MESSAGE}. */
json_t *control_commands_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

#endif
