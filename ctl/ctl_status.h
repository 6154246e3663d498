/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The status reply (daemon/status_json.h) as an 80-column table: the body of
 * `jetstreamctl status` and of each `top` screen.
 */
#ifndef JETSTREAMCTL_STATUS_H
#define JETSTREAMCTL_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/** Columns every line fits in (an 80-column terminal, over ssh too). */
#define CTL_COLUMNS 80

struct ctl_table_options {
	bool by_rate;        /**< instances sorted by rate, highest first (top) */
	bool details;        /**< ring fill and drops by reason under each instance (status) */
	unsigned max_lines;  /**< 0: no limit; else lines printed at most (a screen) */
	const char *line_end; /**< "\n", or "\033[K\n" to clear the rest of a screen line */
};

/** Print @p status (the "status" object of a reply). */
void ctl_print_status(const json_t *status, const struct ctl_table_options *options, FILE *out);

#endif
