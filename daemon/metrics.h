/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Prometheus metrics over HTTP (settings `metrics:`), text exposition
 * format, served by libmicrohttpd from the control thread without blocking it.
 */
#ifndef JETSTREAM_METRICS_H
#define JETSTREAM_METRICS_H

#include <stddef.h>

#include "config.h"

/**
 * Listen on settings->metrics (nothing when it is `off`).
 * @return 0, or -1 with a message in @p error.
 */
int metrics_open(const struct daemon_settings *settings, char *error, size_t error_size);

/** Answer the requests that are ready, without blocking. Control thread. */
void metrics_serve(void);

/** Stop listening. */
void metrics_close(void);

#endif
