/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A status snapshot in Prometheus' text exposition format 0.0.4: the metric
 * families README.md lists under "Metrics". Pure: writes to a stream, reads
 * nothing but the snapshot, so any thread may call it and unit tests check it.
 */
#ifndef JETSTREAM_METRICS_TEXT_H
#define JETSTREAM_METRICS_TEXT_H

#include <stdio.h>

#include "status.h"

/** The Content-Type of the output. */
#define METRICS_TEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/** Write every family of @p snapshot. @return 0, or -1 when the stream failed. */
int metrics_text_render(const struct status_snapshot *snapshot, FILE *stream);

/** A label value as the format quotes it: `\` `"` and line feed escaped. */
void metrics_text_label_value(const char *value, FILE *stream);

/** A sample value: integers exactly, others shortest, NaN, +Inf and -Inf by name. */
void metrics_text_number(double value, FILE *stream);

#endif
