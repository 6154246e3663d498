/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The control thread's loop: signals (through signalfd), the wake-up that
 * advances a draining reload, starting the reload sequence on SIGHUP
 * (reload_sequence.h) and the drain on SIGTERM/SIGINT.
 */
#ifndef JETSTREAM_CONTROL_H
#define JETSTREAM_CONTROL_H

#include <stdbool.h>

#include "config.h"

/** Where the configuration comes from: read again on every SIGHUP. */
struct control_sources {
	const char *settings_path;           /**< NULL: defaults */
	const char *const *pipeline_paths;
	unsigned pipeline_count;
};

/**
 * Block the signals the control loop handles (SIGTERM, SIGINT, SIGQUIT and
 * the other stop signals, SIGHUP, SIGUSR1, SIGUSR2, those it ignores) in
 * every thread (call before any thread starts) and return a signalfd that
 * receives them, or -1. SIGPIPE and SIGXFSZ are ignored.
 */
int control_open_signals(void);

/**
 * Open the control socket and the metrics listener the settings name (each
 * may be `off`). Before the first generation starts: a daemon that cannot
 * listen where it was told to does not start. Logs the reason.
 * @return 0 or -1.
 */
int control_open_endpoints(const struct daemon_settings *settings);

/** Close them (also after a failed open). */
void control_close_endpoints(void);

/**
 * Tell systemd the daemon is stopping (once, however often it is called).
 * Only forwards to notify_stopping(); main.c calls it once the run is over.
 */
void control_notify_stopping(void);

/**
 * Run until the graph has drained: sources at end of input, or stopped by
 * SIGTERM/SIGINT. SIGHUP reloads the configuration from @p sources.
 * @p config (the running configuration) is replaced on each successful
 * reload; the caller frees the one left in *config.
 * @return false when a second stop signal cut the drain short.
 */
bool control_run(int signal_fd, const struct control_sources *sources, struct config **config);

#endif
