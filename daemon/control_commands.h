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

/** What the transport does with a request once control_commands_run() returned. */
enum control_command_wait {
	CONTROL_COMMAND_REPLIED = 0, /**< send the reply returned (NULL: out of memory) */
	CONTROL_COMMAND_WAIT_RELOAD, /**< a reload: reply control_commands_reload_reply() once it ended */
	CONTROL_COMMAND_WAIT_CHECK,  /**< a check, not allowed now: run the line again in its turn */
};

/**
 * Run the request in @p line (@p length bytes, no newline). A well-formed
 * check runs only when @p check_allowed (a check reads and parses files: the
 * transport runs one per wake-up of the control thread).
 * @return the reply when *@p wait is CONTROL_COMMAND_REPLIED, else NULL.
 */
json_t *control_commands_run(const char *line, size_t length, bool check_allowed,
			     enum control_command_wait *wait);

/** The reply to a reload that ended with @p outcome. */
json_t *control_commands_reload_reply(const struct reload_outcome *outcome);

/** {"ok":false,"error":MESSAGE}. */
json_t *control_commands_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

#endif
