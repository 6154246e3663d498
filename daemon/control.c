/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread's loop: it reads the signals, wakes up to advance a
 * reload that drains, starts the reload sequence (reload_sequence.c) on
 * SIGHUP and the drain on a stop signal.
 */
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "control.h"
#include "control_socket.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "reload_sequence.h"
#include "runtime.h"
#include "status.h"

/*
 * Wake-up of the control loop when no signal comes: bounds how soon a
 * drained reload finishes and a finished graph is noticed. The control
 * thread polls no kernel (sinks have a thread of their own), so this costs
 * nothing on the records' way; agent mode (`idle: sleep`) wakes less often.
 */
#define CONTROL_IDLE_WAIT_MS 1
#define CONTROL_IDLE_SLEEP_WAIT_MS 10

struct control {
	const struct control_sources *sources;
	struct config **config;
	unsigned stop_signals;
	bool reload_requested;   /* a SIGHUP waits while a previous reload drains */
};

int
control_open_signals(void)
{
	sigset_t signals;

	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	/* blocked in every thread (workers inherit the mask), read only by the control thread */
	if (pthread_sigmask(SIG_BLOCK, &signals, NULL) != 0)
		return -1;
	/* a sink whose reader went away (stdout into `head`) counts write errors, not a kill */
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
}

void
control_notify_stopping(void)
{
	notify_stopping();
}

/* Handle pending signals; returns false when the daemon must stop at once. */
static bool
handle_signals(struct control *control, int signal_fd)
{
	struct signalfd_siginfo information;

	while (read(signal_fd, &information, sizeof(information)) == sizeof(information)) {
		if (information.ssi_signo == SIGHUP) {
			control->reload_requested = true;
			continue;
		}
		if (++control->stop_signals > 1) {
			log_warning("second stop signal: leaving without draining");
			return false;
		}
		log_info("%s: stopping sources, draining the graph",
			 strsignal((int)information.ssi_signo));
		notify_stopping();
		runtime_request_stop();
	}
	return true;
}

/* A reload in progress finishes first; a stopping daemon reloads no more. */
static void
advance_reload(struct control *control)
{
	const struct control_sources *sources = control->sources;

	if (reload_sequence_continue())
		return;
	/* a client's reload goes the way of a SIGHUP; its reply waits for the outcome */
	if (control_socket_take_reload_request())
		control->reload_requested = true;
	if (control->reload_requested && !runtime_stop_requested()) {
		control->reload_requested = false;
		reload_sequence_run(sources->settings_path, sources->pipeline_paths,
				    sources->pipeline_count, control->config);
	}
}

int
control_open_endpoints(const struct daemon_settings *settings)
{
	char error[512];

	if (metrics_open(settings, error, sizeof(error)) != 0 ||
	    control_socket_open(settings, error, sizeof(error)) != 0) {
		log_error("%s", error);
		control_close_endpoints();
		return -1;
	}
	return 0;
}

void
control_close_endpoints(void)
{
	control_socket_close();
	metrics_close();
}

/* Once a second: the figures' sample, and systemd's STATUS= and watchdog from it. */
static void
tick(void)
{
	const struct status_snapshot *snapshot = status_tick();

	if (snapshot != NULL)
		notify_tick(snapshot);
}

/* What the endpoints ask for, served between two signal polls; none of it blocks. */
static void
serve_endpoints(void)
{
	control_socket_serve();
	metrics_serve();
}

bool
control_run(int signal_fd, const struct control_sources *sources, struct config **config)
{
	struct control control = {.sources = sources, .config = config};
	struct pollfd poll_signal = {.fd = signal_fd, .events = POLLIN};
	int idle_wait = (*config)->settings.idle == CONFIG_IDLE_SLEEP ? CONTROL_IDLE_SLEEP_WAIT_MS
								      : CONTROL_IDLE_WAIT_MS;

	status_start(sources->pipeline_paths, sources->pipeline_count);
	control_socket_attach(sources, config);
	while (!runtime_graph_finished()) {
		advance_reload(&control);
		tick();
		serve_endpoints();
		if (poll(&poll_signal, 1, idle_wait) > 0 &&
		    !handle_signals(&control, signal_fd))
			return false;
	}
	return true;
}
