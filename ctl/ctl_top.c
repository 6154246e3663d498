/* SPDX-License-Identifier: BSD-3-Clause */
/* `jetstreamctl top` (ctl_top.h). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl_client.h"
#include "ctl_status.h"
#include "ctl_top.h"

#define REFRESH_MS 1000
#define REPLY_TIMEOUT_MS 5000
/* Alternate screen and hidden cursor on entry; both undone on exit. */
#define SCREEN_ENTER "\033[?1049h\033[?25l"
#define SCREEN_LEAVE "\033[?25h\033[?1049l"
#define SCREEN_HOME "\033[H"
#define SCREEN_CLEAR_BELOW "\033[J"
#define LINE_END "\033[K\n"

static volatile sig_atomic_t stop_signal;

static void
on_stop_signal(int signal_number)
{
	stop_signal = signal_number;
}

struct terminal {
	bool raw;                 /* stdin was a terminal and is in raw mode */
	struct termios saved;
};

/* Keys without Enter, no echo; output processing stays (\n is still a new line). */
static void
terminal_enter(struct terminal *terminal)
{
	struct termios raw;
	struct sigaction action = {.sa_handler = on_stop_signal};

	/* no SA_RESTART: a signal ends the wait at once */
	sigaction(SIGINT, &action, NULL);
	sigaction(SIGTERM, &action, NULL);
	sigaction(SIGHUP, &action, NULL);
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &terminal->saved) == 0) {
		raw = terminal->saved;
		raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		terminal->raw = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
	}
	fputs(SCREEN_ENTER, stdout);
	fflush(stdout);
}

static void
terminal_leave(const struct terminal *terminal)
{
	fputs(SCREEN_LEAVE, stdout);
	fflush(stdout);
	if (terminal->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &terminal->saved);
}

static unsigned
screen_rows(void)
{
	struct winsize size;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_row > 2)
		return size.ws_row;
	return 24;
}

/* Wait up to @p milliseconds for a key; true when it was `q` (or stdin ended). */
static bool
quit_pressed(int milliseconds)
{
	struct pollfd input = {.fd = STDIN_FILENO, .events = POLLIN};
	char key;

	if (poll(&input, 1, milliseconds) <= 0)
		return false;
	if (read(STDIN_FILENO, &key, 1) != 1)
		return !isatty(STDIN_FILENO); /* end of a piped stdin */
	return key == 'q' || key == 'Q';
}

/* One screen: the table, or why there is none. @return false when the daemon is gone. */
static bool
draw(struct ctl_connection *connection, const json_t *request)
{
	struct ctl_table_options options = {.by_rate = true, .line_end = LINE_END};
	json_t *reply = ctl_ask(connection, request, REPLY_TIMEOUT_MS);

	if (reply == NULL)
		return false;
	/* the last line stays for the key help */
	options.max_lines = screen_rows() - 1;
	fputs(SCREEN_HOME, stdout);
	if (json_is_true(json_object_get(reply, "ok")))
		ctl_print_status(json_object_get(reply, "status"), &options, stdout);
	else
		printf("error: %.70s" LINE_END,
		       json_string_value(json_object_get(reply, "error")));
	fputs(SCREEN_CLEAR_BELOW, stdout);
	printf("\033[%u;1Hq: quit  (refresh every %d s, sorted by rate)\033[K", screen_rows(),
	       REFRESH_MS / 1000);
	fflush(stdout);
	json_decref(reply);
	return true;
}

int
ctl_top(const char *socket_path)
{
	struct ctl_connection connection = {.socket_path = socket_path};
	json_t *request = json_pack("{s:s}", "command", "status");
	struct terminal terminal = {0};
	int status = ctl_connect(&connection);
	bool daemon_answers = true;

	if (status != 0) {
		json_decref(request);
		return status;
	}
	terminal_enter(&terminal);
	while (stop_signal == 0 && (daemon_answers = draw(&connection, request)) &&
	       !quit_pressed(REFRESH_MS))
		;
	terminal_leave(&terminal);
	ctl_disconnect(&connection);
	json_decref(request);
	if (!daemon_answers) {
		/* what ctl_ask() said went to the alternate screen, gone with it */
		fprintf(stderr, "jetstreamctl: top: jetstreamd stopped answering on control socket %s\n",
			socket_path);
		return CTL_EXIT_UNAVAILABLE;
	}
	return stop_signal == 0 || stop_signal == SIGINT ? CTL_EXIT_OK : 128 + stop_signal;
}
