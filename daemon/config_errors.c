/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration errors: the list config_load() fills, their printing, the
 * escaping of characters an operator cannot see, and did-you-mean hints.
 */
#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "config_private.h"
#include "log_journal.h"

const struct config_position config_command_line_position = {"jetstreamd", 0, 0};

/* ---- errors ---- */

/* A copy of @p file inside @p errors, shared by every error in that file. */
static const char *
errors_keep_file_name(struct config_errors *errors, const char *file)
{
	const char *kept = errors->file_names;
	const char *end = errors->file_names + errors->file_names_used;
	size_t length;

	if (file == NULL)
		return "(unknown)";
	for (; kept < end; kept += strlen(kept) + 1)
		if (strcmp(kept, file) == 0)
			return kept;
	length = strlen(file) + 1;
	if (length > sizeof(errors->file_names) - errors->file_names_used)
		return "(file name not kept)";
	memcpy(errors->file_names + errors->file_names_used, file, length);
	errors->file_names_used += length;
	return kept;
}

/* ---- invisible characters in messages ---- */

enum character_kind { CHARACTER_VISIBLE, CHARACTER_INVISIBLE, CHARACTER_CONTROL, CHARACTER_NOT_UTF8 };

/* The code point at @p text and its length in bytes; a byte that starts no valid sequence is 1 byte. */
static uint32_t
decode_utf8(const unsigned char *text, unsigned *length, bool *valid)
{
	static const unsigned char lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	unsigned bytes = text[0] < 0x80 ? 1 : (text[0] & 0xe0) == 0xc0 ? 2
		       : (text[0] & 0xf0) == 0xe0 ? 3 : (text[0] & 0xf8) == 0xf0 ? 4 : 0;
	uint32_t point;

	*valid = bytes > 0;
	*length = 1;
	if (bytes == 0)
		return text[0];
	point = text[0] & lead_mask[bytes];
	for (unsigned i = 1; i < bytes; i++) {
		if ((text[i] & 0xc0) != 0x80) { /* also stops at the NUL */
			*valid = false;
			return text[0];
		}
		point = (point << 6) | (text[i] & 0x3f);
	}
	*length = bytes;
	return point;
}

/*
 * Characters an operator cannot see in a terminal: a name that holds one
 * looks right and is still refused ("unknown kernel type 'per_src_counter'
 * (did you mean 'per_src_counter'?)" with a U+FEFF inside).
 */
static enum character_kind
character_kind(uint32_t point)
{
	static const uint32_t invisible_ranges[][2] = {
		{0xa0, 0xa0},       {0xad, 0xad},       {0x34f, 0x34f},     {0x61c, 0x61c},
		{0x115f, 0x1160},   {0x17b4, 0x17b5},   {0x180b, 0x180e},   {0x2000, 0x200f},
		{0x2028, 0x202f},   {0x205f, 0x206f},   {0x3000, 0x3000},   {0x3164, 0x3164},
		{0xfe00, 0xfe0f},   {0xfeff, 0xfeff},   {0xffa0, 0xffa0},   {0xfff9, 0xfffb},
		{0x1d173, 0x1d17a}, {0xe0000, 0xe0fff},
	};

	if (point < 0x20 || point == 0x7f || (point >= 0x80 && point < 0xa0))
		return CHARACTER_CONTROL;
	for (size_t i = 0; i < sizeof(invisible_ranges) / sizeof(invisible_ranges[0]); i++)
		if (point >= invisible_ranges[i][0] && point <= invisible_ranges[i][1])
			return CHARACTER_INVISIBLE;
	return CHARACTER_VISIBLE;
}

/* The note that says what an escape in a message stands for. */
static void
escape_note(enum character_kind kind, uint32_t point, char *note, size_t size)
{
	static const char *const kinds[] = {
		[CHARACTER_INVISIBLE] = "an invisible character",
		[CHARACTER_CONTROL] = "a control character",
		[CHARACTER_NOT_UTF8] = "a byte that is not UTF-8",
	};

	if (kind == CHARACTER_NOT_UTF8)
		snprintf(note, size, "; it holds %s, shown as \\x%02x", kinds[kind], (unsigned)point);
	else
		snprintf(note, size, "; it holds %s, U+%04X, shown as \\u{%04x}", kinds[kind],
			 (unsigned)point, (unsigned)point);
}

/*
 * @p raw into @p message with invisible and control characters escaped
 * (`per_src\u{feff}_counter`), and a note naming the first one; the note is
 * kept whole when the message must be cut.
 */
static void
escape_message(const char *raw, char *message, size_t size)
{
	char body[1024], note[96] = "";
	size_t used = 0, keep;
	enum character_kind first = CHARACTER_VISIBLE;
	uint32_t first_point = 0;

	for (const unsigned char *cursor = (const unsigned char *)raw;
	     *cursor != '\0' && used + 16 < sizeof(body);) {
		unsigned length;
		bool valid;
		uint32_t point = decode_utf8(cursor, &length, &valid);
		enum character_kind kind = valid ? character_kind(point) : CHARACTER_NOT_UTF8;

		if (kind == CHARACTER_VISIBLE) {
			memcpy(body + used, cursor, length);
			used += length;
		} else {
			used += (size_t)snprintf(body + used, sizeof(body) - used,
						 kind == CHARACTER_NOT_UTF8 ? "\\x%02x" : "\\u{%04x}",
						 (unsigned)point);
			if (first == CHARACTER_VISIBLE) {
				first = kind;
				first_point = point;
			}
		}
		cursor += length;
	}
	if (first != CHARACTER_VISIBLE)
		escape_note(first, first_point, note, sizeof(note));
	keep = size - 1 - strlen(note);
	if (used > keep) {
		used = keep;
		while (used > 0 && ((unsigned char)body[used] & 0xc0) == 0x80)
			used--; /* not inside a UTF-8 sequence */
	}
	snprintf(message, size, "%.*s%s", (int)used, body, note);
}

void
config_error_va(struct config_errors *errors, struct config_position position, const char *format,
		va_list arguments)
{
	char raw[1024];

	if (errors->count >= CONFIG_MAX_ERRORS) {
		errors->dropped++;
		return;
	}
	errors->items[errors->count].position = position;
	errors->items[errors->count].position.file = errors_keep_file_name(errors, position.file);
	vsnprintf(raw, sizeof(raw), format, arguments);
	escape_message(raw, errors->items[errors->count].message,
		       sizeof(errors->items[0].message));
	errors->count++;
}

void
config_error(struct config_errors *errors, struct config_position position, const char *format,
	     ...)
{
	va_list arguments;

	va_start(arguments, format);
	config_error_va(errors, position, format, arguments);
	va_end(arguments);
}

int
config_error_format(const struct config_errors *errors, unsigned index, char *buffer, size_t size)
{
	const struct config_position *position = &errors->items[index].position;

	/* line 0: about the whole file (missing, too large, unreadable); no made-up position */
	if (position->line == 0)
		return snprintf(buffer, size, "%s: error: %s", position->file,
				errors->items[index].message);
	return snprintf(buffer, size, "%s:%u:%u: error: %s", position->file, position->line,
			position->column, errors->items[index].message);
}

/*
 * One line of the list. Under journald, stderr's lines go through the log
 * at err priority (a stream line would be filed at info, and `journalctl -p
 * err` would show "reload failed" without its reason); elsewhere the text
 * is the same byte for byte.
 */
static void
print_error_line(FILE *stream, const char *line)
{
	if (stream == stderr && log_to_journal())
		log_line(LOG_LEVEL_ERROR, NULL, line);
	else
		fprintf(stream, "%s\n", line);
}

void
config_errors_print(const struct config_errors *errors, FILE *stream)
{
	char line[PATH_MAX + 512];

	for (unsigned i = 0; i < errors->count; i++) {
		config_error_format(errors, i, line, sizeof(line));
		print_error_line(stream, line);
	}
	if (errors->dropped > 0) {
		snprintf(line, sizeof(line), "jetstreamd: error: %u more errors not shown",
			 errors->dropped);
		print_error_line(stream, line);
	}
}

/* ---- did you mean ---- */

/* Edit distance, or a large number for names too long to be typos of keys. */
static unsigned
levenshtein(const char *a, const char *b)
{
	size_t length_a = strlen(a), length_b = strlen(b);
	unsigned row[CONFIG_NAME_MAX + 1];

	if (length_a > CONFIG_NAME_MAX || length_b > CONFIG_NAME_MAX)
		return UINT32_MAX;
	for (size_t j = 0; j <= length_b; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= length_a; i++) {
		unsigned diagonal = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= length_b; j++) {
			unsigned above = row[j];
			unsigned best = diagonal + (a[i - 1] != b[j - 1]);

			if (above + 1 < best)
				best = above + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diagonal = above;
		}
	}
	return row[length_b];
}

/*
 * The candidate closest to @p word, when close enough to be a typo: within
 * 2 edits (a third of the word for long words), and not a whole rewrite.
 */
const char *
closest_name(const char *word, const char *const *candidates, unsigned count)
{
	unsigned length = (unsigned)strlen(word);
	unsigned limit = length / 3 > 2 ? length / 3 : 2;
	const char *best = NULL;
	unsigned best_distance = UINT32_MAX;

	for (unsigned i = 0; i < count; i++) {
		unsigned distance = levenshtein(word, candidates[i]);

		if (distance < best_distance) {
			best_distance = distance;
			best = candidates[i];
		}
	}
	if (best == NULL || best_distance > limit || best_distance >= length)
		return NULL;
	return best;
}

/* " (did you mean 'x'?)", or "" without a suggestion. */
const char *
did_you_mean(const char *suggestion, char *buffer, size_t size)
{
	if (suggestion == NULL)
		return "";
	snprintf(buffer, size, " (did you mean '%s'?)", suggestion);
	return buffer;
}
