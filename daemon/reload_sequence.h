/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The reload sequence of DESIGN.md's contract, from `RELOADING=1` to the
 * `READY=1` that ends it: read the configuration again, plan the change
 * (reload.c), build the next generation (graph.c), publish it (runtime.c) and
 * report the outcome. The drain and the retirement of the previous
 * generation follow, one step on each wake-up of the control loop
 * (reload_sequence_continue()).
 */
#ifndef JETSTREAM_RELOAD_SEQUENCE_H
#define JETSTREAM_RELOAD_SEQUENCE_H

#include <stdbool.h>

#include "config.h"

/**
 * Reload from the files named: @p settings_path (NULL: defaults) and the
 * @p pipeline_count files of @p pipeline_paths. Everything is read,
 * validated and planned before anything changes: any error leaves the
 * running graph and *@p running untouched, is logged, and still ends with
 * `READY=1` (`STATUS=reload failed: ...`). On success the next generation is
 * published, *@p running is freed and replaced by the new configuration, and
 * `READY=1` names the generation.
 *
 * Called by control.c's loop, on the control thread, only when no earlier
 * transition is still pending and no stop was requested.
 */
void reload_sequence_run(const char *settings_path, const char *const *pipeline_paths,
			 unsigned pipeline_count, struct config **running);

/**
 * The sequence's last step: once everything the published reload retires has
 * drained, the previous generation is released. Called by control.c's loop on
 * each wake-up, on the control thread.
 * @return true when a published reload was still draining on entry, whether
 * or not it finished now: no new reload may start before the next wake-up.
 */
bool reload_sequence_continue(void);

#endif
