/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The control socket's `dump` and `dump_status` commands: a dump of a
 * history kernel's packets to pcapng (README, "Time travel").
 *
 * Threads: the control thread.
 */
#ifndef JETSTREAM_CONTROL_DUMP_H
#define JETSTREAM_CONTROL_DUMP_H

#include <jansson.h>

/**
 * `{"command":"dump", "kernel"?: NAME, "filter"?: EXPR, "before"?: "10s",
 * "after"?: "10s", "out"?: PATH}`: open a dump.
 * @return `{"ok":true, "kernel", "dump", "path"}` or an error reply.
 */
json_t *control_dump_start(const json_t *request);

/**
 * `{"command":"dump_status", "kernel": NAME, "dump": ID}`.
 * @return `{"ok":true, "state", "packets", "overwritten", "path", "reason"?}`.
 */
json_t *control_dump_status(const json_t *request);

#endif
