/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What the control thread reports about a running or finished graph: the
 * systemd status line and the exit summary.
 */
#ifndef JETSTREAM_SUMMARY_H
#define JETSTREAM_SUMMARY_H

#include <stdbool.h>
#include <stdio.h>

struct graph;

/** Tell systemd the graph runs (READY=1) with a STATUS= line describing it. */
void summary_notify_ready(const struct graph *graph);

/**
 * Print packets in, per-kernel counts (summed over replicas), one accounting
 * line per source (`jetstreamd: source NAME: received R = processed P +
 * DROP N ...`, each drop named, `unknown` where the device cannot tell),
 * drops and the rate over @p seconds, after logging any error an instance
 * reported (a file that could not be read to its end, records that could not
 * be written).
 * @return false when an instance reported an error: the output is incomplete.
 */
bool summary_print(const struct graph *graph, double seconds, FILE *stream);

#endif
