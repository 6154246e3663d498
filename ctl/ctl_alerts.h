/* SPDX-License-Identifier: BSD-3-Clause */
/** @file `jetstreamctl alerts`: the daemon's `alerts` reply as a table. */
#ifndef JETSTREAM_CTL_ALERTS_H
#define JETSTREAM_CTL_ALERTS_H

#include <stdio.h>

#include <jansson.h>

/** Print the open alerts of an `alerts` reply to @p out, one line each, under a header. */
void ctl_print_alerts(const json_t *reply, FILE *out);

#endif
