/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Log lines: to stderr as `jetstreamd: LEVEL: text`, or, when stderr is the
 * journal, as native journal entries with fields (log_journal.h). EAL's own
 * log comes through here too.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <rte_log.h>
/* CODE_FILE= and CODE_LINE= would name this file for every line: left out */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"
#include "log_journal.h"

static enum log_level maximum_level = LOG_LEVEL_INFO;

/* Control thread: wo; every thread that logs: ro (relaxed: a line may carry the one before). */
static _Atomic unsigned running_generation;

/* syslog priorities (err, warning, info, debug), as journald files them */
static const int journal_priorities[] = {3, 4, 6, 7};
static const char *const level_names[] = {"error", "warning", "info", "debug"};

/*
 * Bytes of one journal MESSAGE= field: longer lines are cut. Lines of the
 * daemon are far shorter (config errors: PATH_MAX + 512); stderr has no limit.
 */
#define JOURNAL_MESSAGE_MAX 8192
#define JOURNAL_FIELD_MAX 128 /* one of the other fields: a kernel name is < 64 bytes */

void
log_set_level(enum log_level level)
{
	maximum_level = level;
}

void
log_set_generation(unsigned generation)
{
	atomic_store_explicit(&running_generation, generation, memory_order_relaxed);
}

/* ---- where lines go ---------------------------------------------------------- */

static bool journal_destination;
static pthread_once_t destination_once = PTHREAD_ONCE_INIT;

/*
 * systemd's rule (systemd.exec(5), JOURNAL_STREAM): stderr is the journal
 * only while its device and inode are the ones named there; a service whose
 * stderr was redirected elsewhere keeps the variable and writes plain lines.
 */
static void
decide_destination(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	unsigned long long device, inode;
	struct stat status;
	char rest;

	journal_destination = stream != NULL &&
			      sscanf(stream, "%llu:%llu%c", &device, &inode, &rest) == 2 &&
			      fstat(STDERR_FILENO, &status) == 0 &&
			      (unsigned long long)status.st_dev == device &&
			      (unsigned long long)status.st_ino == inode;
}

bool
log_to_journal(void)
{
	pthread_once(&destination_once, decide_destination);
	return journal_destination;
}

/* ---- the journal ----------------------------------------------------------------- */

/* Append "NAME=value" to @p parts, its text kept in @p text. */
static void
add_field(struct iovec *parts, unsigned *count, char *text, const char *name, const char *value)
{
	int length = snprintf(text, JOURNAL_FIELD_MAX, "%s=%s", name, value);

	parts[(*count)++] = (struct iovec){text, (size_t)length < JOURNAL_FIELD_MAX
							 ? (size_t)length
							 : JOURNAL_FIELD_MAX - 1};
}

/*
 * Send one entry whose MESSAGE= field is @p message (starting "MESSAGE=").
 * When journald cannot be reached, the line still goes to stderr (the
 * journal's stream) with its `<N>` priority prefix, as before.
 */
static void
send_to_journal(int priority, const struct log_fields *fields, const char *message)
{
	char texts[5][JOURNAL_FIELD_MAX], number[16];
	struct iovec parts[6] = {{(void *)message, strlen(message)}};
	unsigned count = 1, generation = atomic_load_explicit(&running_generation,
							       memory_order_relaxed);

	snprintf(number, sizeof(number), "%d", priority);
	add_field(parts, &count, texts[0], "PRIORITY", number);
	add_field(parts, &count, texts[1], "SYSLOG_IDENTIFIER", "jetstreamd");
	if (generation > 0) {
		snprintf(number, sizeof(number), "%u", generation);
		add_field(parts, &count, texts[2], "GENERATION", number);
	}
	if (fields != NULL && fields->kernel != NULL)
		add_field(parts, &count, texts[3], "KERNEL", fields->kernel);
	if (fields != NULL && fields->message_id != NULL)
		add_field(parts, &count, texts[4], "MESSAGE_ID", fields->message_id);
	if (sd_journal_sendv(parts, (int)count) < 0)
		fprintf(stderr, "<%d>%s\n", priority, message + strlen("MESSAGE="));
}

/* ---- the three kinds of line ------------------------------------------------------- */

static void
emit_formatted(enum log_level level, const struct log_fields *fields, const char *format,
	       va_list arguments)
{
	char message[JOURNAL_MESSAGE_MAX] = "MESSAGE=";

	if (log_to_journal()) {
		vsnprintf(message + strlen("MESSAGE="), sizeof(message) - strlen("MESSAGE="), format,
			  arguments);
		send_to_journal(journal_priorities[level], fields, message);
		return;
	}
	/* sink writer threads log too: one line is never interleaved with another's */
	flockfile(stderr);
	fprintf(stderr, "jetstreamd: %s: ", level_names[level]);
	vfprintf(stderr, format, arguments);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void
log_message(enum log_level level, const char *format, ...)
{
	va_list arguments;

	if (level > maximum_level)
		return;
	va_start(arguments, format);
	emit_formatted(level, NULL, format, arguments);
	va_end(arguments);
}

void
log_message_fields(enum log_level level, const struct log_fields *fields, const char *format, ...)
{
	va_list arguments;

	if (level > maximum_level)
		return;
	va_start(arguments, format);
	emit_formatted(level, fields, format, arguments);
	va_end(arguments);
}

/* @p length bytes of @p text as one line: to the journal at @p priority, or to stderr as they are. */
static void
emit_text(int priority, const struct log_fields *fields, const char *text, size_t length)
{
	char message[JOURNAL_MESSAGE_MAX];

	if (!log_to_journal()) {
		flockfile(stderr);
		fwrite(text, 1, length, stderr);
		fputc('\n', stderr);
		funlockfile(stderr);
		return;
	}
	snprintf(message, sizeof(message), "MESSAGE=%.*s", (int)length, text);
	send_to_journal(priority, fields, message);
}

void
log_line(enum log_level level, const struct log_fields *fields, const char *line)
{
	emit_text(journal_priorities[level], fields, line, strlen(line));
}

/* ---- EAL's log ------------------------------------------------------------------------ */

/*
 * EAL's levels are syslog's priorities plus one (RTE_LOG_EMERG 1 ...
 * RTE_LOG_DEBUG 8), which is how EAL's own stream converts them too.
 */
static int
eal_priority(void)
{
	int level = rte_log_cur_msg_loglevel();

	return level >= (int)RTE_LOG_EMERG && level <= (int)RTE_LOG_DEBUG ? level - 1 : 6;
}

/*
 * The stream's write: rte_vlog() flushes once per message, so @p buffer
 * holds whole messages (a line each, by EAL's habit). Called under the
 * stream's lock, on the thread that logged: the level read is that message's.
 */
static ssize_t
eal_log_write(void *cookie, const char *buffer, size_t size)
{
	const char *end = buffer + size;

	(void)cookie;
	if (!log_to_journal()) {
		/* what EAL's own stream wrote to stderr, byte for byte; only syslog is left out */
		flockfile(stderr);
		fwrite(buffer, 1, size, stderr);
		funlockfile(stderr);
		return (ssize_t)size;
	}
	for (const char *line = buffer; line < end;) {
		const char *newline = memchr(line, '\n', (size_t)(end - line));
		const char *line_end = newline != NULL ? newline : end;

		if (line_end > line)
			emit_text(eal_priority(), NULL, line, (size_t)(line_end - line));
		line = line_end + (newline != NULL);
	}
	return (ssize_t)size;
}

int
log_route_eal(void)
{
	static const cookie_io_functions_t functions = {.write = eal_log_write};
	/* kept for the process's life: EAL may log until rte_eal_cleanup() and after */
	static FILE *stream;

	stream = fopencookie(NULL, "w", functions);
	if (stream == NULL)
		return -1;
	return rte_openlog_stream(stream);
}
