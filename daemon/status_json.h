/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A status snapshot (status.h) as JSON: the one JSON rendering of the
 * daemon's figures, sent by the control socket (`jetstreamctl status`) and
 * read back by `jetstreamctl status` and `top`. Built with jansson.
 *
 * Shape (README, "Control socket and jetstreamctl"): version,
 * uptime_seconds, generation, reloads {ok, failed}, pipelines [paths],
 * lcores [{lcore, sink_thread, rounds, busy_ratio}], instances [{kernel,
 * type, replica, replicas (0: removed by a reload), lcore, sink_thread,
 * source, items_in, items_out, items_in_per_second, items_out_per_second,
 * backpressure, ring_overflow, stats {name: value or null when unknown},
 * inputs [{producer, producer_replica, used, capacity}]}].
 */
#ifndef JETSTREAM_STATUS_JSON_H
#define JETSTREAM_STATUS_JSON_H

#include <jansson.h>

#include "status.h"

/** @return a new JSON object (json_decref() it), or NULL when out of memory. */
json_t *status_json(const struct status_snapshot *snapshot);

#endif
