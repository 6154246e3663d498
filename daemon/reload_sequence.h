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
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/** Longest summary line of a successful reload ("kept a; changed b; ..."). */
#define RELOAD_SUMMARY_MAX 1024
/** Longest error line kept ("file:line:col: error: ..."). */
#define RELOAD_ERROR_LINE_MAX 512

/**
 * How a reload (or a check, reload_sequence_check()) ended: what a control
 * socket client that asked for it is told. Control thread only.
 */
struct reload_outcome {
	uint64_t number;                      /**< reloads ended so far, this one included */
	bool succeeded;
	unsigned generation;                  /**< running after it */
	char summary[RELOAD_SUMMARY_MAX];     /**< on success: kept/changed/replaced/added/removed */
	unsigned error_count;                 /**< on failure: lines in errors, as logged */
	char errors[CONFIG_MAX_ERRORS + 1][RELOAD_ERROR_LINE_MAX];
};

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

/**
 * The outcome of the last reload that ended (number 0: none yet). Control
 * thread; valid until the next reload ends.
 */
const struct reload_outcome *reload_sequence_last_outcome(void);

/**
 * What a reload from these files would do, applying nothing: the files are
 * read and validated (config_load) and the change is planned against
 * @p running (reload_plan), so keys a reload refuses show too. Nothing is
 * logged, counted or notified. Control thread.
 * @param byte_limit bytes of files the check may read in all (each file's
 *             size is taken before it is read; past it, an error names the
 *             limit); 0: no limit but each file's CONFIG_MAX_FILE_SIZE
 * @param[out] outcome succeeded, with "valid: N kernels in M pipeline files"
 *             as its summary, or the error lines.
 */
void reload_sequence_check(const char *settings_path, const char *const *pipeline_paths,
			   unsigned pipeline_count, const struct config *running,
			   size_t byte_limit, struct reload_outcome *outcome);

#endif
