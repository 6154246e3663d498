/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The control socket's `alerts` command: the open alerts of the threshold
 * kernels with `alerts: lifecycle` (README, "Alerts").
 *
 * Threads: the control thread.
 */
#ifndef JETSTREAM_CONTROL_ALERTS_H
#define JETSTREAM_CONTROL_ALERTS_H

#include <jansson.h>

/**
 * `{"command":"alerts", "kernel"?: NAME, "n"?: N}`: the N open alerts (20 by
 * default) furthest above their limits (peak / threshold), of every lifecycle
 * threshold or of the one named.
 * @return `{"ok":true, "open", "shown", "alerts":[...]}` or an error reply.
 */
json_t *control_alerts(const json_t *request);

#endif
