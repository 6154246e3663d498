/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

static enum log_level maximum_level = LOG_LEVEL_INFO;

/* syslog priorities (err, warning, info, debug) for journald's stream parser */
static const int journal_priorities[] = {3, 4, 6, 7};
static const char *const level_names[] = {"error", "warning", "info", "debug"};

void
log_set_level(enum log_level level)
{
	maximum_level = level;
}

static bool
stderr_is_journal(void)
{
	static int cached = -1;

	if (cached < 0)
		cached = getenv("JOURNAL_STREAM") != NULL;
	return cached;
}

void
log_message(enum log_level level, const char *format, ...)
{
	va_list arguments;

	if (level > maximum_level)
		return;
	/* sink writer threads log too: one line is never interleaved with another's */
	flockfile(stderr);
	if (stderr_is_journal())
		fprintf(stderr, "<%d>", journal_priorities[level]);
	fprintf(stderr, "jetstreamd: %s: ", level_names[level]);
	va_start(arguments, format);
	vfprintf(stderr, format, arguments);
	va_end(arguments);
	fputc('\n', stderr);
	funlockfile(stderr);
}
