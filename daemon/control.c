/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread's loop: it reads the signals, wakes up to advance a
 * reload that drains, starts the reload sequence (reload_sequence.c) on
 * SIGHUP and the drain on a stop signal.
 */
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "control.h"
#include "control_socket.h"
#include "log.h"
#include "log_journal.h"
#include "metrics.h"
#include "notify.h"
#include "outputs/line_writer.h"
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
/*
 * Signals read per wake-up: real-time signals queue (up to RLIMIT_SIGPENDING
 * of them), and a flood must not hold the loop; the rest are read next time.
 */
#define CONTROL_SIGNALS_PER_WAKE 64

struct control {
	const struct control_sources *sources;
	struct config **config;
	unsigned stop_signals;
	bool reload_requested;   /* a SIGHUP waits while a previous reload drains */
};

/*
 * What a signal an operator (or the kernel, on a limit) may send does: none
 * of them ends the daemon without draining. The fault signals (SIGSEGV,
 * SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP) keep their default, a
 * core dump; SIGKILL and SIGSTOP cannot be caught; SIGTSTP, SIGTTIN and
 * SIGTTOU stop, they do not end.
 */
enum signal_action { SIGNAL_STOP, SIGNAL_RELOAD, SIGNAL_REOPEN, SIGNAL_STATUS, SIGNAL_IGNORE };

static const struct {
	int number;
	enum signal_action action;
} signal_actions[] = {
	{SIGTERM, SIGNAL_STOP},    {SIGINT, SIGNAL_STOP},     {SIGQUIT, SIGNAL_STOP},
	/* RLIMIT_CPU's soft limit (SIGKILL follows at the hard one); init on a power failure */
	{SIGXCPU, SIGNAL_STOP},    {SIGPWR, SIGNAL_STOP},     {SIGHUP, SIGNAL_RELOAD},
	{SIGUSR1, SIGNAL_REOPEN},  {SIGUSR2, SIGNAL_STATUS},  {SIGALRM, SIGNAL_IGNORE},
	{SIGVTALRM, SIGNAL_IGNORE}, {SIGPROF, SIGNAL_IGNORE}, {SIGIO, SIGNAL_IGNORE},
	{SIGSTKFLT, SIGNAL_IGNORE},
};

/* The action of @p number; the real-time signals (default: terminate) are ignored too. */
static enum signal_action
signal_action(int number)
{
	for (unsigned i = 0; i < sizeof(signal_actions) / sizeof(signal_actions[0]); i++)
		if (signal_actions[i].number == number)
			return signal_actions[i].action;
	return SIGNAL_IGNORE;
}

int
control_open_signals(void)
{
	sigset_t signals;

	sigemptyset(&signals);
	for (unsigned i = 0; i < sizeof(signal_actions) / sizeof(signal_actions[0]); i++)
		sigaddset(&signals, signal_actions[i].number);
	for (int number = SIGRTMIN; number <= SIGRTMAX; number++)
		sigaddset(&signals, number);
	/* blocked in every thread (workers inherit the mask), read only by the control thread */
	if (pthread_sigmask(SIG_BLOCK, &signals, NULL) != 0)
		return -1;
	/* a sink whose reader went away (stdout into `head`) counts write errors, not a kill */
	signal(SIGPIPE, SIG_IGN);
	/* a write past RLIMIT_FSIZE fails with EFBIG, counted and retried like a full disk */
	signal(SIGXFSZ, SIG_IGN);
	return signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC);
}

void
control_notify_stopping(void)
{
	notify_stopping();
}

/* SIGUSR2: one line of what runs now, from the figures the control thread reads anyway. */
static void
log_status_line(void)
{
	struct status_snapshot *snapshot = status_take();
	uint64_t packets;
	double packets_per_second;

	if (snapshot == NULL) {
		log_warning("status: out of memory");
		return;
	}
	status_source_totals(snapshot, &packets, &packets_per_second);
	log_info("status: generation %u, up %.0f s, %" PRIu64 " packets received (%.0f per second), "
		 "%u kernel instances, reloads %" PRIu64 " ok and %" PRIu64 " failed",
		 snapshot->generation, snapshot->uptime_seconds, packets, packets_per_second,
		 status_running_instances(snapshot), snapshot->reloads_ok, snapshot->reloads_failed);
	status_free(snapshot);
}

/* A stop signal: drain, or leave at once on the second. @return false to leave now. */
static bool
begin_stop(struct control *control, int number)
{
	if (++control->stop_signals > 1) {
		log_warning("second stop signal: leaving without draining");
		return false;
	}
	log_event(LOG_LEVEL_INFO, LOG_MESSAGE_STOPPING, "%s: stopping sources, draining the graph",
		  strsignal(number));
	notify_stopping();
	runtime_request_stop();
	return true;
}

/* Handle pending signals (signal_actions); returns false when the daemon must stop at once. */
static bool
handle_signals(struct control *control, int signal_fd)
{
	struct signalfd_siginfo information;

	for (unsigned count = 0; count < CONTROL_SIGNALS_PER_WAKE &&
				 read(signal_fd, &information, sizeof(information)) == sizeof(information);
	     count++) {
		int number = (int)information.ssi_signo;

		switch (signal_action(number)) {
		case SIGNAL_STOP:
			if (!begin_stop(control, number))
				return false;
			break;
		case SIGNAL_RELOAD:
			control->reload_requested = true;
			line_writer_request_reopen(); /* a reload reopens the sinks' files too */
			break;
		case SIGNAL_REOPEN:
			log_info("%s: reopening every file a sink writes", strsignal(number));
			line_writer_request_reopen();
			break;
		case SIGNAL_STATUS:
			log_status_line();
			break;
		case SIGNAL_IGNORE:
			log_info("%s (signal %d): ignored", strsignal(number), number);
			break;
		}
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
	/* a client's reload goes the way of a SIGHUP, sinks' files reopened too; its reply waits */
	if (control_socket_take_reload_request()) {
		control->reload_requested = true;
		line_writer_request_reopen();
	}
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

	status_start(config);
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
