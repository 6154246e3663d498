/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loading of the daemon settings file and pipeline files.
 *
 * libyaml's document API gives a tree whose every node carries its position,
 * so each error points at the node that caused it. One binder serves kernels,
 * the daemon settings and the top level of a pipeline file: keys found in a
 * struct config_field table are parsed into a params struct, and the few keys
 * a table cannot express (lists, keys that depend on the kernel type) are
 * handed to "special key" functions by the same binder. Unknown keys,
 * duplicate keys and did-you-mean hints therefore behave the same everywhere.
 *
 * Loading never stops at the first error: it collects as many as it can, so
 * that `jetstreamd --check` shows everything wrong with a file in one run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_config.h>
#include <yaml.h>

#include "config.h"
#include "kernel.h"
#include "kernels/registry.h"

/* Longest key table (fields plus special keys) the did-you-mean search looks at. */
#define CANDIDATES_MAX 64

/* Position used for errors that belong to no file. */
static const struct config_position command_line_position = {"jetstreamd", 0, 0};

const char *const config_log_level_names[] = {"error", "warning", "info", "debug", NULL};

const char *const config_idle_names[] = {"poll", "sleep", NULL};

const struct config_field daemon_settings_fields[CONFIG_MAX_SETTINGS] = {
	{.key = "lcores", .type = CONFIG_STRING, .offset = offsetof(struct daemon_settings, lcores),
	 .size = sizeof(((struct daemon_settings *)0)->lcores),
	 .description = "EAL lcore list (`0-3`, `0@0,1@0`); the first lcore is the control thread, "
			"the others are workers. Default: every CPU the process may run on", .change = CONFIG_CHANGE_RESTART},
	{.key = "mempool_size", .type = CONFIG_UNSIGNED,
	 .offset = offsetof(struct daemon_settings, mempool_size), .default_value = "16383",
	 .minimum = 1023, .description = "mbufs in the packet pool (2^n - 1 is most efficient)", .change = CONFIG_CHANGE_RESTART},
	{.key = "memory", .type = CONFIG_SIZE, .offset = offsetof(struct daemon_settings, memory),
	 .default_value = "512M", .minimum = 64ull << 20,
	 .description = "DPDK memory when running without hugepages (`512M`, `2G`)", .change = CONFIG_CHANGE_RESTART},
	{.key = "hugepages", .type = CONFIG_BOOL,
	 .offset = offsetof(struct daemon_settings, hugepages), .default_value = "false",
	 .description = "use hugepages (needs them reserved and root); otherwise `memory` of "
			"ordinary pages", .change = CONFIG_CHANGE_RESTART},
	{.key = "log_level", .type = CONFIG_CHOICE,
	 .offset = offsetof(struct daemon_settings, log_level), .choices = config_log_level_names,
	 .default_value = "info", .description = "error, warning, info or debug", .change = CONFIG_CHANGE_LIVE},
	{.key = "ring_size", .type = CONFIG_UNSIGNED,
	 .offset = offsetof(struct daemon_settings, ring_size), .default_value = "1024",
	 .minimum = 64, .maximum = 1ull << 28,
	 .description = "elements per edge ring, a power of two", .change = CONFIG_CHANGE_RESTART},
	{.key = "idle", .type = CONFIG_CHOICE, .offset = offsetof(struct daemon_settings, idle),
	 .choices = config_idle_names, .default_value = "poll",
	 .description = "`poll`: workers spin, lowest latency; `sleep`: a worker whose round "
			"finds less than a full burst sleeps, from 1us doubling to 1ms while packets "
			"trickle in and to 4ms while none do (agent mode: little CPU when traffic is "
			"light; packets wait up to 4ms)", .change = CONFIG_CHANGE_RESTART},
	{.key = NULL},
};

/* State of one config_load() call. */
struct loader {
	struct config *config;
	struct config_errors *errors;
	bool graph_incomplete;           /* a kernel was dropped: inputs may dangle */
	int worker_count;                /* < 0: `lcores` is invalid, cores are not checked */
	unsigned workers[RTE_MAX_LCORE];
};

/* One YAML file being bound. */
struct file_context {
	struct loader *loader;
	const char *name;                /* config->files[i] */
	yaml_document_t document;
};

/* A key bound by code rather than by a config_field: lists, keys that need the kernel type. */
struct special_key {
	const char *key;
	void (*bind)(struct file_context *file, yaml_node_t *value, void *target);
};

/* What the keys of one mapping are bound to. */
struct binding {
	const char *owner;                        /* appended to messages: " for kernel type 'x'" */
	const struct special_key *special_keys;   /* NULL-key terminated */
	void *target;                             /* passed to special keys */
	const struct config_field *fields;        /* NULL-key terminated, or NULL */
	void *params;
	struct config_position *field_positions;  /* of each field's value; line 0 = not written */
};

struct config_check_context {
	struct config_errors *errors;
	struct config_position owner_position;    /* instance name, or the settings file */
	const struct config_field *fields;
	const struct config_position *field_positions;
};

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

static void
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

void
config_errors_print(const struct config_errors *errors, FILE *stream)
{
	char line[PATH_MAX + 512];

	for (unsigned i = 0; i < errors->count; i++) {
		config_error_format(errors, i, line, sizeof(line));
		fprintf(stream, "%s\n", line);
	}
	if (errors->dropped > 0)
		fprintf(stream, "jetstreamd: error: %u more errors not shown\n", errors->dropped);
}

/* Errors so far, including dropped ones: tells whether a step added any. */
static unsigned
error_total(const struct loader *loader)
{
	return loader->errors->count + loader->errors->dropped;
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
static const char *
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
static const char *
did_you_mean(const char *suggestion, char *buffer, size_t size)
{
	if (suggestion == NULL)
		return "";
	snprintf(buffer, size, " (did you mean '%s'?)", suggestion);
	return buffer;
}

/* ---- value parsing ---- */

struct unit {
	const char *suffix;
	uint64_t multiplier;
};

static const struct unit count_units[] = {
	{"", 1}, {"k", 1000}, {"M", 1000000}, {"G", 1000000000}, {NULL, 0},
};

static const struct unit size_units[] = {
	{"", 1}, {"B", 1}, {"k", 1ull << 10}, {"K", 1ull << 10}, {"kB", 1ull << 10},
	{"KB", 1ull << 10}, {"M", 1ull << 20}, {"MB", 1ull << 20}, {"G", 1ull << 30},
	{"GB", 1ull << 30}, {NULL, 0},
};

/* No "" entry: a duration without a unit is ambiguous, so it is refused. */
static const struct unit duration_units[] = {
	{"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000ull},
	{"m", 60000000000ull}, {"h", 3600000000000ull}, {"d", 86400000000000ull}, {NULL, 0},
};

static const struct unit *
units_of(enum config_type type)
{
	if (type == CONFIG_SIZE)
		return size_units;
	if (type == CONFIG_DURATION)
		return duration_units;
	return count_units;
}

/*
 * Digits followed by one of @p units.
 * @return 0, -EINVAL (not a number with a known unit), -ENOENT (digits but no
 *         unit where one is needed) or -ERANGE (does not fit 64 bits).
 */
static int
parse_with_unit(const char *text, const struct unit *units, uint64_t *value)
{
	uint64_t number = 0;
	const char *cursor = text;

	if (*cursor < '0' || *cursor > '9')
		return -EINVAL;
	for (; *cursor >= '0' && *cursor <= '9'; cursor++)
		if (__builtin_mul_overflow(number, 10, &number) ||
		    __builtin_add_overflow(number, (uint64_t)(*cursor - '0'), &number))
			return -ERANGE;
	for (const struct unit *unit = units; unit->suffix != NULL; unit++) {
		if (strcmp(cursor, unit->suffix) != 0)
			continue;
		if (__builtin_mul_overflow(number, unit->multiplier, value))
			return -ERANGE;
		return 0;
	}
	return *cursor == '\0' ? -ENOENT : -EINVAL;
}

/*
 * @p value as written in a file: sizes and durations in the unit that writes
 * them exactly with the fewest digits (90s -> "90s"), counts in full.
 */
static void
format_value(enum config_type type, uint64_t value, char *buffer, size_t size)
{
	static const struct unit plain[] = {{"", 1}, {NULL, 0}};
	const struct unit *units = type == CONFIG_UNSIGNED ? plain : units_of(type);
	const struct unit *best = NULL;

	for (const struct unit *unit = units; unit->suffix != NULL; unit++)
		if (value != 0 && value % unit->multiplier == 0 &&
		    (best == NULL || unit->multiplier > best->multiplier))
			best = unit;
	if (best == NULL)
		snprintf(buffer, size, "%lu%s", (unsigned long)value, type == CONFIG_DURATION ? "ns" : "");
	else
		snprintf(buffer, size, "%lu%s", (unsigned long)(value / best->multiplier),
			 best->suffix);
}

static const char *
number_hint(enum config_type type)
{
	if (type == CONFIG_SIZE)
		return "a size such as 4096, 64k or 512M";
	if (type == CONFIG_DURATION)
		return "a duration such as 250us, 100ms, 1s, 5m, 1h or 1d";
	return "an integer such as 5000 or 256k";
}

static int
check_range(const struct config_field *field, uint64_t value, char *message, size_t size)
{
	char shown[32], bound[32];

	format_value(field->type, value, shown, sizeof(shown));
	if (value < field->minimum) {
		format_value(field->type, field->minimum, bound, sizeof(bound));
		snprintf(message, size, "value %s for '%s' is below the minimum %s", shown, field->key,
			 bound);
		return -EINVAL;
	}
	if (field->maximum != 0 && value > field->maximum) {
		format_value(field->type, field->maximum, bound, sizeof(bound));
		snprintf(message, size, "value %s for '%s' is above the maximum %s", shown, field->key,
			 bound);
		return -EINVAL;
	}
	return 0;
}

static int
parse_number(const struct config_field *field, const char *text, uint64_t *value, char *message,
	     size_t size)
{
	int result;

	if (field->special_word != NULL && strcmp(text, field->special_word) == 0) {
		*value = field->special_value;
		return 0;
	}
	result = parse_with_unit(text, units_of(field->type), value);
	if (result == -ENOENT) {
		snprintf(message, size, "duration '%s' needs a unit (250us, 100ms, 1s, 5m, 1h, 1d)",
			 text);
		return -EINVAL;
	}
	if (result == -ERANGE) {
		snprintf(message, size, "value '%s' for '%s' is too large", text, field->key);
		return -EINVAL;
	}
	if (result != 0) {
		snprintf(message, size, "invalid value '%s' for '%s': expected %s%s%s%s", text,
			 field->key, number_hint(field->type), field->special_word ? ", or '" : "",
			 field->special_word ? field->special_word : "", field->special_word ? "'" : "");
		return -EINVAL;
	}
	return check_range(field, *value, message, size);
}

static int
parse_bool(const struct config_field *field, const char *text, bool *value, char *message,
	   size_t size)
{
	static const char *const true_words[] = {"true", "yes", "on", NULL};
	static const char *const false_words[] = {"false", "no", "off", NULL};

	for (unsigned i = 0; true_words[i] != NULL; i++) {
		if (strcmp(text, true_words[i]) == 0) {
			*value = true;
			return 0;
		}
		if (strcmp(text, false_words[i]) == 0) {
			*value = false;
			return 0;
		}
	}
	snprintf(message, size, "invalid value '%s' for '%s': expected true or false", text,
		 field->key);
	return -EINVAL;
}

static int
parse_choice(const struct config_field *field, const char *text, uint32_t *value, char *message,
	     size_t size)
{
	size_t used;

	for (uint32_t i = 0; field->choices[i] != NULL; i++) {
		if (strcmp(text, field->choices[i]) == 0) {
			*value = i;
			return 0;
		}
	}
	used = (size_t)snprintf(message, size, "invalid value '%s' for '%s': expected one of ", text,
				field->key);
	for (uint32_t i = 0; field->choices[i] != NULL && used < size; i++)
		used += (size_t)snprintf(message + used, size - used, "%s%s", i > 0 ? ", " : "",
					 field->choices[i]);
	return -EINVAL;
}

static int
parse_string(const struct config_field *field, const char *text, char *value, char *message,
	     size_t size)
{
	size_t length = strlen(text);

	if (length == 0) {
		snprintf(message, size, "'%s' is empty", field->key);
		return -EINVAL;
	}
	if (length >= field->size) {
		snprintf(message, size, "value for '%s' is too long (%zu bytes, at most %zu)",
			 field->key, length, field->size - 1);
		return -EINVAL;
	}
	memcpy(value, text, length + 1);
	return 0;
}

/* A plain decimal (digits, optional fraction), within the field's integer bounds. */
static int
parse_real(const struct config_field *field, const char *text, double *value, char *message,
	   size_t size)
{
	char *end = NULL;
	size_t digits = strspn(text, "0123456789.");

	/* strtod alone would take signs, exponents, hex, inf and nan */
	*value = digits > 0 && text[digits] == '\0' && strchr(text, '.') == strrchr(text, '.')
		? strtod(text, &end) : 0;
	if (end == NULL || *end != '\0' || end == text) {
		snprintf(message, size, "invalid value '%s' for '%s': expected a decimal number "
			 "such as 0.25", text, field->key);
		return -EINVAL;
	}
	if (*value < (double)field->minimum) {
		snprintf(message, size, "value %s for '%s' is below the minimum %lu", text, field->key,
			 (unsigned long)field->minimum);
		return -EINVAL;
	}
	if (field->maximum != 0 && *value > (double)field->maximum) {
		snprintf(message, size, "value %s for '%s' is above the maximum %lu", text, field->key,
			 (unsigned long)field->maximum);
		return -EINVAL;
	}
	return 0;
}

/* One more entry of a list, parsed and bounded like a count. */
static int
parse_list_entry(const struct config_field *field, const char *text,
		 struct config_unsigned_list *list, char *message, size_t size)
{
	struct config_field entry = *field;

	entry.type = CONFIG_UNSIGNED;
	if (list->count == CONFIG_LIST_MAX) {
		snprintf(message, size, "too many values for '%s' (at most %d)", field->key,
			 CONFIG_LIST_MAX);
		return -EINVAL;
	}
	if (parse_number(&entry, text, &list->values[list->count], message, size) != 0)
		return -EINVAL;
	list->count++;
	return 0;
}

int
config_parse_value(const struct config_field *field, const char *text, void *params,
		   char *message, size_t message_size)
{
	char *destination = (char *)params + field->offset;
	uint64_t number;
	bool flag;
	uint32_t choice;
	double real;
	struct config_unsigned_list list;

	switch (field->type) {
	case CONFIG_STRING:
		return parse_string(field, text, destination, message, message_size);
	case CONFIG_UNSIGNED:
	case CONFIG_SIZE:
	case CONFIG_DURATION:
		if (parse_number(field, text, &number, message, message_size) != 0)
			return -EINVAL;
		memcpy(destination, &number, sizeof(number));
		return 0;
	case CONFIG_BOOL:
		if (parse_bool(field, text, &flag, message, message_size) != 0)
			return -EINVAL;
		memcpy(destination, &flag, sizeof(flag));
		return 0;
	case CONFIG_CHOICE:
		if (parse_choice(field, text, &choice, message, message_size) != 0)
			return -EINVAL;
		memcpy(destination, &choice, sizeof(choice));
		return 0;
	case CONFIG_REAL:
		if (parse_real(field, text, &real, message, message_size) != 0)
			return -EINVAL;
		memcpy(destination, &real, sizeof(real));
		return 0;
	case CONFIG_UNSIGNED_LIST:
		/* whole, entries past count zeroed: parameters are compared byte for byte on reload */
		memset(&list, 0, sizeof(list));
		if (parse_list_entry(field, text, &list, message, message_size) != 0)
			return -EINVAL;
		memcpy(destination, &list, sizeof(list));
		return 0;
	case CONFIG_MAPPING:
		snprintf(message, message_size, "'%s' takes a mapping of keys, not a single value",
			 field->key);
		return -EINVAL;
	}
	snprintf(message, message_size, "'%s' has an unknown type in its key table", field->key);
	return -EINVAL;
}

/* ---- lcore lists ---- */

static int
parse_lcore_id(const char **cursor, unsigned *id)
{
	unsigned value = 0;

	if (**cursor < '0' || **cursor > '9')
		return -EINVAL;
	for (; **cursor >= '0' && **cursor <= '9'; (*cursor)++) {
		value = value * 10 + (unsigned)(**cursor - '0');
		if (value >= RTE_MAX_LCORE)
			return -EINVAL;
	}
	*id = value;
	return 0;
}

/* Skips the CPU set after '@': `3`, `2-3` or `(2,3)`; EAL checks the CPUs themselves. */
static int
skip_cpu_set(const char **cursor)
{
	const char *start = *cursor;

	if (**cursor == '(') {
		const char *close = strchr(*cursor, ')');

		if (close == NULL || close == *cursor + 1)
			return -EINVAL;
		*cursor = close + 1;
		return 0;
	}
	while ((**cursor >= '0' && **cursor <= '9') || **cursor == '-')
		(*cursor)++;
	return *cursor == start ? -EINVAL : 0;
}

/* One `first[-last][@cpus]` entry: the lcore range it names. */
static int
parse_lcore_entry(const char **cursor, unsigned *first, unsigned *last)
{
	if (parse_lcore_id(cursor, first) != 0)
		return -EINVAL;
	*last = *first;
	if (**cursor == '-') {
		(*cursor)++;
		if (parse_lcore_id(cursor, last) != 0 || *last < *first)
			return -EINVAL;
	}
	if (**cursor == '@') {
		(*cursor)++;
		return skip_cpu_set(cursor);
	}
	return 0;
}

int
config_worker_lcores(const char *lcore_list, unsigned *lcores, unsigned max)
{
	bool seen[RTE_MAX_LCORE] = {false};
	const char *cursor = lcore_list;
	unsigned listed = 0, count = 0;

	if (lcore_list == NULL)
		return -EINVAL;
	for (;;) {
		unsigned first, last;

		if (parse_lcore_entry(&cursor, &first, &last) != 0)
			return -EINVAL;
		for (unsigned id = first; id <= last; id++) {
			if (seen[id])
				return -EINVAL;
			seen[id] = true;
			if (listed++ == 0)
				continue; /* the control thread */
			if (count == max)
				return -ENOSPC;
			lcores[count++] = id;
		}
		if (*cursor == '\0')
			return (int)count;
		if (*cursor++ != ',')
			return -EINVAL;
	}
}

/*
 * Every CPU this process may run on, as an lcore list (lcore n on CPU n).
 * With a single CPU, two lcores share it so that there is always a worker.
 */
static void
compute_default_lcores(char *lcores, size_t size)
{
	cpu_set_t allowed;
	int first_cpu = -1, eligible = 0;
	size_t used = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		CPU_ZERO(&allowed);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		if (first_cpu < 0)
			first_cpu = cpu;
		eligible += cpu < RTE_MAX_LCORE;
	}
	if (eligible < 2) {
		snprintf(lcores, size, "0@%d,1@%d", first_cpu < 0 ? 0 : first_cpu,
			 first_cpu < 0 ? 0 : first_cpu);
		return;
	}
	lcores[0] = '\0';
	for (int cpu = 0; cpu < RTE_MAX_LCORE; cpu++) {
		int last = cpu;
		char entry[32];

		if (!CPU_ISSET(cpu, &allowed))
			continue;
		while (last + 1 < RTE_MAX_LCORE && CPU_ISSET(last + 1, &allowed))
			last++;
		if (last == cpu)
			snprintf(entry, sizeof(entry), "%s%d", used ? "," : "", cpu);
		else
			snprintf(entry, sizeof(entry), "%s%d-%d", used ? "," : "", cpu, last);
		if (used + strlen(entry) >= size)
			break; /* keep a valid, shorter list rather than a cut one */
		used += (size_t)snprintf(lcores + used, size - used, "%s", entry);
		cpu = last;
	}
}

/*
 * The CPUs this process may use, read once: DPDK pins the control thread to
 * its lcore's CPU, so reading the affinity again at a reload would give a
 * different default and refuse the reload for a setting nobody changed.
 */
static void
default_lcores(char *lcores, size_t size)
{
	static char cached[sizeof(((struct daemon_settings *)0)->lcores)];

	if (cached[0] == '\0')
		compute_default_lcores(cached, sizeof(cached));
	snprintf(lcores, size, "%s", cached);
}

/* ---- YAML helpers ---- */

static struct config_position
node_position(const struct file_context *file, const yaml_node_t *node)
{
	return (struct config_position){
		.file = file->name,
		.line = (unsigned)node->start_mark.line + 1,
		.column = (unsigned)node->start_mark.column + 1,
	};
}

static void __attribute__((format(printf, 3, 4)))
node_error(struct file_context *file, const yaml_node_t *node, const char *format, ...)
{
	va_list arguments;

	va_start(arguments, format);
	config_error_va(file->loader->errors, node_position(file, node), format, arguments);
	va_end(arguments);
}

static yaml_node_t *
node_at(struct file_context *file, int index)
{
	return yaml_document_get_node(&file->document, index);
}

static const char *
scalar_text(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

static const char *
node_kind(const yaml_node_t *node)
{
	if (node->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (node->type == YAML_SEQUENCE_NODE)
		return "a list";
	return "a single value";
}

/*
 * An empty plain scalar is what YAML gives for `key:` with nothing after it,
 * and `~` is YAML's null, not the text "~". The word `null` is a value here
 * (`format: null`), so only scalar_is_null() takes it as null, where no value
 * can be called that.
 */
static bool
scalar_is_missing(const yaml_node_t *node)
{
	if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return node->data.scalar.length == 0 || strcmp(scalar_text(node), "~") == 0;
}

/* scalar_is_missing(), or YAML's null written as a word, or "" quoted. */
static bool
scalar_is_null(const yaml_node_t *node)
{
	static const char *const null_words[] = {"null", "Null", "NULL", NULL};

	if (node->type != YAML_SCALAR_NODE)
		return false;
	if (scalar_is_missing(node) || node->data.scalar.length == 0)
		return true;
	for (unsigned i = 0; null_words[i] != NULL; i++)
		if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    strcmp(scalar_text(node), null_words[i]) == 0)
			return true;
	return false;
}

static unsigned
sequence_length(const yaml_node_t *node)
{
	return (unsigned)(node->data.sequence.items.top - node->data.sequence.items.start);
}

/* The value of the first @p key in @p mapping, or NULL. */
static yaml_node_t *
mapping_value(struct file_context *file, const yaml_node_t *mapping, const char *key)
{
	for (yaml_node_pair_t *pair = mapping->data.mapping.pairs.start;
	     pair < mapping->data.mapping.pairs.top; pair++) {
		const yaml_node_t *key_node = node_at(file, pair->key);

		if (key_node->type == YAML_SCALAR_NODE && strcmp(scalar_text(key_node), key) == 0)
			return node_at(file, pair->value);
	}
	return NULL;
}

/* Keys must be plain names; libyaml accepts lists and mappings as keys too. */
static bool
key_is_scalar(struct file_context *file, const yaml_node_t *key)
{
	if (key->type == YAML_SCALAR_NODE)
		return true;
	node_error(file, key, "keys must be names, not %s", node_kind(key));
	return false;
}

/* libyaml keeps duplicate keys; the second would silently win, so it is refused. */
static bool
key_is_duplicate(struct file_context *file, const yaml_node_t *mapping,
		 const yaml_node_pair_t *pair)
{
	const yaml_node_t *key = node_at(file, pair->key);

	for (const yaml_node_pair_t *earlier = mapping->data.mapping.pairs.start; earlier < pair;
	     earlier++) {
		const yaml_node_t *earlier_key = node_at(file, earlier->key);

		if (earlier_key->type == YAML_SCALAR_NODE &&
		    strcmp(scalar_text(earlier_key), scalar_text(key)) == 0) {
			node_error(file, key, "duplicate key '%s' (first at line %lu, column %lu)",
				   scalar_text(key), (unsigned long)earlier_key->start_mark.line + 1,
				   (unsigned long)earlier_key->start_mark.column + 1);
			return true;
		}
	}
	return false;
}

/* ---- the binder ---- */

static unsigned
field_count(const struct config_field *fields)
{
	unsigned count = 0;

	while (fields != NULL && fields[count].key != NULL)
		count++;
	return count;
}

static int
find_field(const struct config_field *fields, const char *key)
{
	for (unsigned i = 0; i < field_count(fields); i++)
		if (strcmp(fields[i].key, key) == 0)
			return (int)i;
	return -1;
}

/*
 * The field @p key names inside the mapping of field @p parent (NULL: at the
 * top level), or -1. Keys inside a CONFIG_MAPPING are written `parent.key` in
 * the table; a dotted name is not a key of its own at the top level.
 */
static int
find_field_in(const struct config_field *fields, const struct config_field *parent,
	      const char *key)
{
	char full[CONFIG_NAME_MAX * 2];

	if (strchr(key, '.') != NULL)
		return -1;
	if (parent == NULL)
		return find_field(fields, key);
	snprintf(full, sizeof(full), "%s.%s", parent->key, key);
	return find_field(fields, full);
}

/* The part of a table key a file writes: `size` for `synthetic.size`. */
static const char *
key_inside(const struct config_field *field, const struct config_field *parent)
{
	return parent == NULL ? field->key : field->key + strlen(parent->key) + 1;
}

/* true when @p field is written inside @p parent's mapping (NULL: at the top level). */
static bool
field_is_inside(const struct config_field *field, const struct config_field *parent)
{
	size_t length = parent == NULL ? 0 : strlen(parent->key);

	if (parent == NULL)
		return strchr(field->key, '.') == NULL;
	return strncmp(field->key, parent->key, length) == 0 && field->key[length] == '.' &&
	       strchr(field->key + length + 1, '.') == NULL;
}

static const struct special_key *
find_special_key(const struct special_key *special_keys, const char *key)
{
	for (; special_keys != NULL && special_keys->key != NULL; special_keys++)
		if (strcmp(special_keys->key, key) == 0)
			return special_keys;
	return NULL;
}

/* Parse every default_value; a failure is a bug in a key table, reported like a config error. */
static void
apply_defaults(struct loader *loader, struct config_position owner,
	       const struct config_field *fields, void *params)
{
	char message[200];

	for (unsigned i = 0; i < field_count(fields); i++)
		if (fields[i].default_value != NULL &&
		    config_parse_value(&fields[i], fields[i].default_value, params, message,
				       sizeof(message)) != 0)
			config_error(loader->errors, owner, "bad default in the key table: %s", message);
}

static void
unknown_key_error(struct file_context *file, const yaml_node_t *key,
		  const struct binding *binding, const struct config_field *parent)
{
	const char *candidates[CANDIDATES_MAX];
	unsigned count = 0;
	char hint[96], place[CONFIG_NAME_MAX + 8] = "";

	for (const struct special_key *special = binding->special_keys; parent == NULL &&
	     special != NULL && special->key != NULL && count < CANDIDATES_MAX; special++)
		candidates[count++] = special->key;
	for (unsigned i = 0; i < field_count(binding->fields) && count < CANDIDATES_MAX; i++)
		if (field_is_inside(&binding->fields[i], parent))
			candidates[count++] = key_inside(&binding->fields[i], parent);
	if (parent != NULL)
		snprintf(place, sizeof(place), " in '%s'", parent->key);
	if (parent == NULL && strchr(scalar_text(key), '.') != NULL &&
	    find_field(binding->fields, scalar_text(key)) >= 0) {
		node_error(file, key, "unknown key '%s'%s (write '%s' inside the '%.*s:' mapping)",
			   scalar_text(key), binding->owner, strchr(scalar_text(key), '.') + 1,
			   (int)(strchr(scalar_text(key), '.') - scalar_text(key)), scalar_text(key));
		return;
	}
	node_error(file, key, "unknown key '%s'%s%s%s", scalar_text(key), place, binding->owner,
		   did_you_mean(closest_name(scalar_text(key), candidates, count), hint,
				sizeof(hint)));
}

static void bind_fields_of_mapping(struct file_context *file, const yaml_node_t *mapping,
				   const struct binding *binding, const struct config_field *parent);

/* A list value: each entry a single value parsed like the field's scalar form. */
static void
bind_list(struct file_context *file, const struct config_field *field, const yaml_node_t *value,
	  void *params)
{
	struct config_unsigned_list *list = (void *)((char *)params + field->offset);
	char message[256];

	memset(list, 0, sizeof(*list));
	if (sequence_length(value) == 0)
		node_error(file, value, "'%s' is an empty list", field->key);
	for (yaml_node_item_t *item = value->data.sequence.items.start;
	     item < value->data.sequence.items.top; item++) {
		const yaml_node_t *entry = node_at(file, *item);

		if (entry->type != YAML_SCALAR_NODE || scalar_is_missing(entry))
			node_error(file, entry, "entries of '%s' are single values, not %s",
				   field->key, scalar_is_missing(entry) ? "empty" : node_kind(entry));
		else if (list->count == CONFIG_LIST_MAX) {
			node_error(file, entry, "too many values for '%s' (at most %d)", field->key,
				   CONFIG_LIST_MAX);
			return;
		} else if (parse_list_entry(field, scalar_text(entry), list, message,
					    sizeof(message)) != 0)
			node_error(file, entry, "%s", message);
	}
}

static void
bind_field(struct file_context *file, const struct binding *binding, unsigned index,
	   const yaml_node_t *value)
{
	const struct config_field *field = &binding->fields[index];
	char message[256];

	binding->field_positions[index] = node_position(file, value);
	if (field->type == CONFIG_MAPPING && value->type == YAML_MAPPING_NODE) {
		*(bool *)((char *)binding->params + field->offset) = true;
		bind_fields_of_mapping(file, value, binding, field);
		return;
	}
	if (field->type == CONFIG_UNSIGNED_LIST && value->type == YAML_SEQUENCE_NODE) {
		bind_list(file, field, value, binding->params);
		return;
	}
	if (value->type != YAML_SCALAR_NODE) {
		node_error(file, value, "'%s' takes %s, not %s", field->key,
			   field->type == CONFIG_UNSIGNED_LIST ? "a value or a list of values"
			   : field->type == CONFIG_MAPPING     ? "a mapping of keys"
							       : "a single value",
			   node_kind(value));
		return;
	}
	if (scalar_is_missing(value)) {
		node_error(file, value, "'%s' is empty", field->key);
		return;
	}
	if (config_parse_value(field, scalar_text(value), binding->params, message,
			       sizeof(message)) != 0)
		node_error(file, value, "%s", message);
}

/* The keys of @p mapping, the value of the CONFIG_MAPPING field @p parent: its `parent.key` fields. */
static void
bind_fields_of_mapping(struct file_context *file, const yaml_node_t *mapping,
		       const struct binding *binding, const struct config_field *parent)
{
	for (yaml_node_pair_t *pair = mapping->data.mapping.pairs.start;
	     pair < mapping->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = node_at(file, pair->key);
		int index;

		if (!key_is_scalar(file, key) || key_is_duplicate(file, mapping, pair))
			continue;
		index = find_field_in(binding->fields, parent, scalar_text(key));
		if (index >= 0)
			bind_field(file, binding, (unsigned)index, node_at(file, pair->value));
		else
			unknown_key_error(file, key, binding, parent);
	}
}

static void
bind_mapping(struct file_context *file, const yaml_node_t *mapping, const struct binding *binding)
{
	for (yaml_node_pair_t *pair = mapping->data.mapping.pairs.start;
	     pair < mapping->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = node_at(file, pair->key);
		yaml_node_t *value = node_at(file, pair->value);
		const struct special_key *special;
		int index;

		if (!key_is_scalar(file, key) || key_is_duplicate(file, mapping, pair))
			continue;
		special = find_special_key(binding->special_keys, scalar_text(key));
		index = find_field_in(binding->fields, NULL, scalar_text(key));
		if (special != NULL && special->bind != NULL)
			special->bind(file, value, binding->target);
		else if (special == NULL && index >= 0)
			bind_field(file, binding, (unsigned)index, value);
		else if (special == NULL)
			unknown_key_error(file, key, binding, NULL);
	}
}

static void
require_fields(struct loader *loader, struct config_position owner, const struct binding *binding)
{
	for (unsigned i = 0; i < field_count(binding->fields); i++)
		if (binding->fields[i].required && binding->field_positions[i].line == 0)
			config_error(loader->errors, owner, "missing required key '%s'%s",
				     binding->fields[i].key, binding->owner);
}

/* ---- check context ---- */

static void
run_check(struct loader *loader, struct config_position owner, const struct binding *binding,
	  void (*check)(const void *params, struct config_check_context *context))
{
	struct config_check_context context = {
		.errors = loader->errors,
		.owner_position = owner,
		.fields = binding->fields,
		.field_positions = binding->field_positions,
	};

	if (check != NULL)
		check(binding->params, &context);
}

void
config_check_error(struct config_check_context *context, const char *key, const char *format,
		   ...)
{
	struct config_position position = context->owner_position;
	int index = key == NULL ? -1 : find_field(context->fields, key);
	va_list arguments;

	if (index >= 0 && context->field_positions[index].line != 0)
		position = context->field_positions[index];
	va_start(arguments, format);
	config_error_va(context->errors, position, format, arguments);
	va_end(arguments);
}

bool
config_check_key_set(const struct config_check_context *context, const char *key)
{
	int index = find_field(context->fields, key);

	return index >= 0 && context->field_positions[index].line != 0;
}

/* ---- files ---- */

/* A copy of @p path that lives as long as the config; positions point to it. */
static const char *
remember_file(struct loader *loader, const char *path)
{
	struct config *config = loader->config;
	char *copy;

	if (config->file_count == CONFIG_MAX_PIPELINES + 1)
		return NULL;
	copy = strdup(path);
	if (copy != NULL)
		config->files[config->file_count++] = copy;
	return copy;
}

/* The whole of one file, read before it is parsed so that its size is bounded. */
struct file_text {
	unsigned char *bytes;
	size_t length;
};

/* Position of byte @p offset of @p text (libyaml gives only the offset of an encoding error). */
static struct config_position
offset_position(const char *name, const struct file_text *text, size_t offset)
{
	struct config_position position = {name, 1, 1};
	size_t start = text->length >= 3 && memcmp(text->bytes, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;

	for (size_t i = start; i < offset && i < text->length; i++) {
		if (text->bytes[i] == '\n') {
			position.line++;
			position.column = 1;
		} else if ((text->bytes[i] & 0xc0) != 0x80) {
			position.column++; /* columns count characters, as libyaml's do */
		}
	}
	return position;
}

static void
reader_error(struct file_context *file, const yaml_parser_t *parser, const struct file_text *text)
{
	struct config_position position = offset_position(file->name, text, parser->problem_offset);
	const char *problem = parser->problem ? parser->problem : "cannot read";

	if (strcmp(problem, "control characters are not allowed") == 0)
		config_error(file->loader->errors, position,
			     "control character U+%04X is not allowed in YAML: remove it, or write it "
			     "escaped inside double quotes (\"\\x%02x\")",
			     (unsigned)parser->problem_value, (unsigned)parser->problem_value & 0xff);
	else
		config_error(file->loader->errors, position,
			     "%s (byte 0x%02x): a configuration file is UTF-8 text", problem,
			     (unsigned)parser->problem_value & 0xff);
}

/* First byte of line @p line (0-based) of @p text. */
static const unsigned char *
line_start(const struct file_text *text, size_t line)
{
	const unsigned char *cursor = text->bytes, *end = text->bytes + text->length;

	while (line > 0 && cursor < end) {
		const unsigned char *newline = memchr(cursor, '\n', (size_t)(end - cursor));

		if (newline == NULL)
			return end;
		cursor = newline + 1;
		line--;
	}
	return cursor;
}

/*
 * true when the ':' at @p colon ends a key longer than libyaml takes on one
 * line. libyaml then says "could not find expected ':'" when the key was
 * required there, or "mapping values are not allowed in this context", which
 * tells nobody what to fix. Sets @p key_column to the key's (1-based).
 */
static bool
colon_ends_long_key(const struct file_text *text, yaml_mark_t colon, unsigned *key_column)
{
	const unsigned char *cursor = line_start(text, colon.line);
	const unsigned char *end = text->bytes + text->length;
	unsigned column = 0, key_start = 0;

	if (colon.column <= CONFIG_MAX_KEY_LENGTH)
		return false;
	/* the key starts after the indentation and any "- " of list entries */
	while (cursor < end && (*cursor == ' ' || (*cursor == '-' && cursor + 1 < end &&
						  cursor[1] == ' '))) {
		cursor++;
		column++;
	}
	key_start = column;
	*key_column = key_start + 1;
	return colon.column - key_start > CONFIG_MAX_KEY_LENGTH;
}

static void
long_key_error(struct file_context *file, unsigned line, unsigned column)
{
	config_error(file->loader->errors, (struct config_position){file->name, line, column},
		     "a key longer than %d characters (YAML's limit for a key): shorten it; kernel "
		     "names and keys here are at most %d characters",
		     CONFIG_MAX_KEY_LENGTH, CONFIG_NAME_MAX - 1);
}

static void
syntax_error(struct file_context *file, const yaml_parser_t *parser, const struct file_text *text)
{
	struct config_position position = {
		.file = file->name,
		.line = (unsigned)parser->problem_mark.line + 1,
		.column = (unsigned)parser->problem_mark.column + 1,
	};
	const char *problem = parser->problem ? parser->problem : "invalid YAML";
	unsigned key_column;

	if (parser->error == YAML_READER_ERROR)
		reader_error(file, parser, text);
	else if (parser->context != NULL && strcmp(parser->context, "while scanning a simple key") == 0 &&
		 parser->context_mark.line == parser->problem_mark.line)
		/* on one line, a simple key is lost only by being too long */
		long_key_error(file, (unsigned)parser->context_mark.line + 1,
			       (unsigned)parser->context_mark.column + 1);
	else if (strcmp(problem, "mapping values are not allowed in this context") == 0 &&
		 colon_ends_long_key(text, parser->problem_mark, &key_column))
		long_key_error(file, position.line, key_column);
	else if (parser->context != NULL)
		config_error(file->loader->errors, position, "%s %s started at line %lu, column %lu",
			     problem, parser->context, (unsigned long)parser->context_mark.line + 1,
			     (unsigned long)parser->context_mark.column + 1);
	else
		config_error(file->loader->errors, position, "%s", problem);
}

static void
file_too_large_error(struct loader *loader, const char *name, long long size)
{
	struct config_position whole_file = {name, 0, 0};

	if (size > 0)
		config_error(loader->errors, whole_file,
			     "the file is %lld bytes, more than the %u MB a configuration file may have",
			     size, CONFIG_MAX_FILE_SIZE >> 20);
	else
		config_error(loader->errors, whole_file,
			     "the file is more than the %u MB a configuration file may have",
			     CONFIG_MAX_FILE_SIZE >> 20);
}

/*
 * Opened without blocking (a FIFO without a writer would block open() for
 * ever, then reads as empty); a directory or a file over the size limit is
 * refused before a byte is read.
 */
static int
open_configuration_file(struct loader *loader, const char *name, struct stat *status)
{
	struct config_position whole_file = {name, 0, 0};
	int descriptor = open(name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (descriptor < 0) {
		config_error(loader->errors, whole_file, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(descriptor, status) != 0 || S_ISDIR(status->st_mode)) {
		config_error(loader->errors, whole_file, "cannot open: %s",
			     strerror(S_ISDIR(status->st_mode) ? EISDIR : errno));
	} else if (S_ISREG(status->st_mode) && status->st_size > (off_t)CONFIG_MAX_FILE_SIZE) {
		file_too_large_error(loader, name, (long long)status->st_size);
	} else if (fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK) == 0) {
		return descriptor;
	} else {
		config_error(loader->errors, whole_file, "cannot read: %s", strerror(errno));
	}
	close(descriptor);
	return -1;
}

/* Reads all of @p descriptor, at most CONFIG_MAX_FILE_SIZE bytes (a pipe may hold more). */
static bool
read_all(struct loader *loader, const char *name, int descriptor, size_t expected,
	 struct file_text *text)
{
	struct config_position whole_file = {name, 0, 0};
	size_t capacity = expected + 1 > 65536 ? expected + 1 : 65536;

	text->length = 0;
	text->bytes = malloc(capacity);
	for (;;) {
		ssize_t got;

		if (text->bytes == NULL) {
			config_error(loader->errors, whole_file, "out of memory");
			return false;
		}
		if (text->length == capacity) {
			unsigned char *larger = realloc(text->bytes, capacity * 2);

			if (larger == NULL)
				free(text->bytes);
			text->bytes = larger;
			capacity *= 2;
			continue;
		}
		got = read(descriptor, text->bytes + text->length, capacity - text->length);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got == 0)
				return true;
			config_error(loader->errors, whole_file, "cannot read: %s", strerror(errno));
			break;
		}
		text->length += (size_t)got;
		if (text->length > CONFIG_MAX_FILE_SIZE) {
			file_too_large_error(loader, name, 0);
			break;
		}
	}
	free(text->bytes);
	text->bytes = NULL;
	return false;
}

static bool
read_file_text(struct loader *loader, const char *name, struct file_text *text)
{
	struct stat status = {0};
	int descriptor = open_configuration_file(loader, name, &status);
	bool read;

	if (descriptor < 0)
		return false;
	read = read_all(loader, name, descriptor,
			S_ISREG(status.st_mode) ? (size_t)status.st_size : 0, text);
	close(descriptor);
	return read;
}

/* ---- the YAML tree, built from libyaml's events with bounds ---- */

/*
 * libyaml's own loader (yaml_parser_load) has no bound on depth or size, and
 * its scanner checks every open flow level at each token: 80,000 nested
 * brackets took 18 s, a 50 MB list 2.6 GB. Building the same yaml_document_t
 * from events lets the parse stop at the first event past a limit, before the
 * scanner reaches the deep part; the binder reads the tree as before.
 */
struct anchor {
	char *name;
	int node;
};

struct tree_builder {
	struct file_context *file;
	const char *file_kind;                    /* "pipeline" or "settings" */
	yaml_document_t *document;
	unsigned depth;                           /* open lists and mappings */
	int open_nodes[CONFIG_MAX_DEPTH];
	char *open_anchors[CONFIG_MAX_DEPTH];     /* registered when the collection ends */
	int pending_keys[CONFIG_MAX_DEPTH];       /* a mapping's key awaiting its value; 0 = none */
	unsigned node_count;
	unsigned documents;
	bool stream_ended;
	unsigned anchor_count;
	struct anchor anchors[CONFIG_MAX_ANCHORS];
};

static void __attribute__((format(printf, 3, 4)))
builder_error(struct tree_builder *builder, yaml_mark_t mark, const char *format, ...)
{
	struct config_position position = {builder->file->name, (unsigned)mark.line + 1,
					   (unsigned)mark.column + 1};
	va_list arguments;

	va_start(arguments, format);
	config_error_va(builder->file->loader->errors, position, format, arguments);
	va_end(arguments);
}

static bool
builder_out_of_memory(struct tree_builder *builder, yaml_mark_t mark)
{
	builder_error(builder, mark, "out of memory");
	return false;
}

static bool
count_node(struct tree_builder *builder, yaml_mark_t mark)
{
	if (++builder->node_count <= CONFIG_MAX_NODES)
		return true;
	builder_error(builder, mark,
		      "more than %d values in one file (each key, value, list and mapping counts): "
		      "the limit of a configuration file", CONFIG_MAX_NODES);
	return false;
}

/* A later anchor of the same name replaces the earlier one, as YAML says. */
static bool
register_anchor(struct tree_builder *builder, const yaml_char_t *name, int node, yaml_mark_t mark)
{
	if (name == NULL)
		return true;
	for (unsigned i = 0; i < builder->anchor_count; i++) {
		if (strcmp(builder->anchors[i].name, (const char *)name) == 0) {
			builder->anchors[i].node = node;
			return true;
		}
	}
	if (builder->anchor_count == CONFIG_MAX_ANCHORS) {
		builder_error(builder, mark, "more than %d anchors ('&name') in one file",
			      CONFIG_MAX_ANCHORS);
		return false;
	}
	builder->anchors[builder->anchor_count].name = strdup((const char *)name);
	if (builder->anchors[builder->anchor_count].name == NULL)
		return builder_out_of_memory(builder, mark);
	builder->anchors[builder->anchor_count++].node = node;
	return true;
}

/* Makes @p node the next item of the innermost open collection (or the root). */
static bool
attach_node(struct tree_builder *builder, int node, yaml_mark_t mark)
{
	unsigned top = builder->depth - 1;
	yaml_node_t *parent;
	int *pending;

	if (builder->depth == 0)
		return true; /* the root: the document's first node */
	parent = yaml_document_get_node(builder->document, builder->open_nodes[top]);
	if (parent->type == YAML_SEQUENCE_NODE)
		return yaml_document_append_sequence_item(builder->document, builder->open_nodes[top],
							  node) ||
		       builder_out_of_memory(builder, mark);
	pending = &builder->pending_keys[top];
	if (*pending == 0) {
		if (parent->data.mapping.pairs.top - parent->data.mapping.pairs.start >=
		    CONFIG_MAX_MAPPING_KEYS) {
			builder_error(builder, mark, "more than %d keys in one mapping",
				      CONFIG_MAX_MAPPING_KEYS);
			return false;
		}
		*pending = node;
		return true;
	}
	if (!yaml_document_append_mapping_pair(builder->document, builder->open_nodes[top], *pending,
					       node))
		return builder_out_of_memory(builder, mark);
	*pending = 0;
	return true;
}

static bool
add_scalar(struct tree_builder *builder, const yaml_event_t *event)
{
	int node;

	if (!count_node(builder, event->start_mark))
		return false;
	node = yaml_document_add_scalar(builder->document, NULL, event->data.scalar.value,
					(int)event->data.scalar.length, event->data.scalar.style);
	if (node == 0)
		return builder_out_of_memory(builder, event->start_mark);
	yaml_document_get_node(builder->document, node)->start_mark = event->start_mark;
	yaml_document_get_node(builder->document, node)->end_mark = event->end_mark;
	return register_anchor(builder, event->data.scalar.anchor, node, event->start_mark) &&
	       attach_node(builder, node, event->start_mark);
}

static bool
open_collection(struct tree_builder *builder, const yaml_event_t *event)
{
	bool sequence = event->type == YAML_SEQUENCE_START_EVENT;
	const yaml_char_t *anchor = sequence ? event->data.sequence_start.anchor
					     : event->data.mapping_start.anchor;
	int node;

	if (builder->depth == CONFIG_MAX_DEPTH) {
		builder_error(builder, event->start_mark,
			      "lists and mappings nested more than %d deep: the limit of a "
			      "configuration file", CONFIG_MAX_DEPTH);
		return false;
	}
	if (!count_node(builder, event->start_mark))
		return false;
	node = sequence ? yaml_document_add_sequence(builder->document, NULL,
						     event->data.sequence_start.style)
			: yaml_document_add_mapping(builder->document, NULL,
						    event->data.mapping_start.style);
	if (node == 0)
		return builder_out_of_memory(builder, event->start_mark);
	yaml_document_get_node(builder->document, node)->start_mark = event->start_mark;
	if (!attach_node(builder, node, event->start_mark))
		return false;
	builder->open_nodes[builder->depth] = node;
	builder->pending_keys[builder->depth] = 0;
	builder->open_anchors[builder->depth] = anchor ? strdup((const char *)anchor) : NULL;
	builder->depth++;
	return anchor == NULL || builder->open_anchors[builder->depth - 1] != NULL ||
	       builder_out_of_memory(builder, event->start_mark);
}

/* The anchor of a list or mapping is known once it ends: an alias inside it is unknown. */
static bool
close_collection(struct tree_builder *builder, const yaml_event_t *event)
{
	unsigned top = --builder->depth;
	int node = builder->open_nodes[top];
	bool registered;

	yaml_document_get_node(builder->document, node)->end_mark = event->end_mark;
	registered = register_anchor(builder, (const yaml_char_t *)builder->open_anchors[top], node,
				     event->start_mark);
	free(builder->open_anchors[top]);
	builder->open_anchors[top] = NULL;
	return registered;
}

static bool
add_alias(struct tree_builder *builder, const yaml_event_t *event)
{
	const char *name = (const char *)event->data.alias.anchor;

	if (!count_node(builder, event->start_mark))
		return false;
	for (unsigned i = builder->anchor_count; i-- > 0;)
		if (strcmp(builder->anchors[i].name, name) == 0)
			return attach_node(builder, builder->anchors[i].node, event->start_mark);
	builder_error(builder, event->start_mark,
		      "unknown alias '*%s': an alias names an anchor '&%s' written before it, "
		      "outside the alias", name, name);
	return false;
}

static bool
add_event(struct tree_builder *builder, const yaml_event_t *event)
{
	switch (event->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (builder->documents++ == 0)
			return true;
		builder_error(builder, event->start_mark,
			      "a %s file holds one YAML document; a second begins here",
			      builder->file_kind);
		return false;
	case YAML_STREAM_END_EVENT:
		builder->stream_ended = true;
		return true;
	case YAML_SCALAR_EVENT:
		return add_scalar(builder, event);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return open_collection(builder, event);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return close_collection(builder, event);
	case YAML_ALIAS_EVENT:
		return add_alias(builder, event);
	default:
		return true; /* stream start, document end */
	}
}

static void
builder_release(struct tree_builder *builder)
{
	for (unsigned i = 0; i < builder->depth; i++)
		free(builder->open_anchors[i]);
	for (unsigned i = 0; i < builder->anchor_count; i++)
		free(builder->anchors[i].name);
}

/* Events of @p text into file->document; false with an error recorded (the document freed). */
static bool
build_tree(struct file_context *file, const char *file_kind, const struct file_text *text)
{
	struct tree_builder *builder = calloc(1, sizeof(*builder));
	yaml_parser_t parser;
	bool built = false;

	if (builder == NULL || !yaml_parser_initialize(&parser)) {
		free(builder);
		config_error(file->loader->errors, (struct config_position){file->name, 0, 0},
			     "out of memory");
		return false;
	}
	*builder = (struct tree_builder){.file = file, .file_kind = file_kind,
					 .document = &file->document};
	yaml_parser_set_input_string(&parser, text->bytes, text->length);
	if (!yaml_document_initialize(&file->document, NULL, NULL, NULL, 1, 1)) {
		config_error(file->loader->errors, (struct config_position){file->name, 0, 0},
			     "out of memory");
	} else {
		while (!builder->stream_ended) {
			yaml_event_t event;
			bool added;

			if (!yaml_parser_parse(&parser, &event)) {
				/* after `...`, libyaml wants `---`: more text is a second document all the same */
				if (builder->documents > 0 && parser.problem != NULL &&
				    strcmp(parser.problem, "did not find expected <document start>") == 0)
					builder_error(builder, parser.problem_mark,
						      "a %s file holds one YAML document; a second "
						      "begins here", file_kind);
				else
					syntax_error(file, &parser, text);
				break;
			}
			added = add_event(builder, &event);
			yaml_event_delete(&event);
			if (!added)
				break;
		}
		built = builder->stream_ended;
		if (!built)
			yaml_document_delete(&file->document);
	}
	builder_release(builder);
	free(builder);
	yaml_parser_delete(&parser);
	return built;
}

/*
 * Parse @p path into file->document.
 * @return false with an error recorded (the document is then not allocated).
 */
static bool
file_load(struct loader *loader, const char *path, const char *file_kind,
	  struct file_context *file)
{
	struct file_text text;
	bool loaded;

	file->loader = loader;
	file->name = remember_file(loader, path);
	if (file->name == NULL) {
		config_error(loader->errors, (struct config_position){path, 0, 0}, "out of memory");
		return false;
	}
	if (!read_file_text(loader, file->name, &text))
		return false;
	loaded = build_tree(file, file_kind, &text);
	free(text.bytes);
	return loaded;
}

/* ---- version (both file kinds) ---- */

/* Top level of a file: what the special keys there need. */
struct top_level {
	bool version_seen;
	bool kernels_seen;
	struct daemon_settings *settings;
	char directory[PATH_MAX];         /* of the settings file: base of relative pipelines */
};

static void
bind_version(struct file_context *file, yaml_node_t *value, void *target)
{
	struct top_level *top = target;

	top->version_seen = true;
	if (scalar_is_null(value))
		node_error(file, value, "'version' is empty: this jetstreamd reads version 1");
	else if (value->type != YAML_SCALAR_NODE)
		node_error(file, value, "unsupported version: this jetstreamd reads version 1, not %s",
			   node_kind(value));
	else if (strcmp(scalar_text(value), "1") != 0)
		node_error(file, value, "unsupported version '%s': this jetstreamd reads version 1",
			   scalar_text(value));
}

/* ---- kernel instances ---- */

/* What the special keys of one kernel instance bind into. */
struct instance {
	struct kernel_spec *spec;
	bool input_seen;
};

static void
add_input(struct file_context *file, struct kernel_spec *spec, const yaml_node_t *node)
{
	const char *name = scalar_text(node);

	if (scalar_is_missing(node)) {
		node_error(file, node, "'input' is empty: name the kernel it reads");
		return;
	}
	if (strlen(name) >= CONFIG_NAME_MAX) {
		node_error(file, node, "input name '%s' is too long (at most %d characters)", name,
			   CONFIG_NAME_MAX - 1);
		return;
	}
	for (unsigned i = 0; i < spec->input_count; i++) {
		if (strcmp(spec->inputs[i], name) == 0) {
			node_error(file, node, "input '%s' is listed twice", name);
			return;
		}
	}
	if (spec->input_count == CONFIG_MAX_INPUTS) {
		node_error(file, node, "too many inputs (at most %d)", CONFIG_MAX_INPUTS);
		return;
	}
	snprintf(spec->inputs[spec->input_count], CONFIG_NAME_MAX, "%s", name);
	spec->input_positions[spec->input_count++] = node_position(file, node);
}

static void
bind_input(struct file_context *file, yaml_node_t *value, void *target)
{
	struct instance *instance = target;
	const struct kernel_ops *ops = instance->spec->ops;

	instance->input_seen = true;
	if (ops->input_type == STREAM_NONE) {
		node_error(file, value, "kernel type '%s' takes no input", ops->name);
	} else if (value->type == YAML_SCALAR_NODE) {
		add_input(file, instance->spec, value);
	} else if (value->type != YAML_SEQUENCE_NODE) {
		node_error(file, value, "'input' takes a kernel name or a list of names, not %s",
			   node_kind(value));
	} else if (!ops->multiple_inputs) {
		node_error(file, value, "kernel type '%s' takes a single input, not a list", ops->name);
	} else if (sequence_length(value) == 0) {
		node_error(file, value, "'input' is an empty list");
	} else {
		for (yaml_node_item_t *item = value->data.sequence.items.start;
		     item < value->data.sequence.items.top; item++) {
			yaml_node_t *entry = node_at(file, *item);

			if (entry->type != YAML_SCALAR_NODE)
				node_error(file, entry, "inputs are kernel names, not %s",
					   node_kind(entry));
			else
				add_input(file, instance->spec, entry);
		}
	}
}

static void
bind_replicas(struct file_context *file, yaml_node_t *value, void *target)
{
	static const struct config_field replicas_field = {
		.key = "replicas", .type = CONFIG_UNSIGNED, .minimum = 1, .maximum = KERNEL_MAX_REPLICAS,
	};
	struct kernel_spec *spec = ((struct instance *)target)->spec;
	const char *count_key = spec->ops->replicas_key;
	uint64_t replicas;
	char message[256];

	if (count_key != NULL || kernel_properties_of(spec->ops, spec->params).replicas != 0) {
		node_error(file, value, "kernel type '%s' takes no 'replicas': %s%s%s", spec->ops->name,
			   count_key ? "use `" : "its parameters set the replica count",
			   count_key ? count_key : "", count_key ? ":`" : "");
	} else if (value->type != YAML_SCALAR_NODE) {
		node_error(file, value, "'replicas' takes a single value, not %s", node_kind(value));
	} else if (config_parse_value(&replicas_field, scalar_text(value), &replicas, message,
				      sizeof(message)) != 0) {
		node_error(file, value, "%s", message);
	} else if (replicas > 1 && !spec->ops->replicable) {
		node_error(file, value, "kernel type '%s' cannot be replicated", spec->ops->name);
	} else {
		spec->replicas = (unsigned)replicas;
	}
}

static bool
is_worker(const struct loader *loader, unsigned lcore)
{
	for (int i = 0; i < loader->worker_count; i++)
		if (loader->workers[i] == lcore)
			return true;
	return false;
}

static void
not_a_worker_error(struct file_context *file, const yaml_node_t *node, unsigned core)
{
	const struct loader *loader = file->loader;
	char workers[160];
	size_t used = 0;

	workers[0] = '\0';
	for (int i = 0; i < loader->worker_count; i++) {
		if (used + 16 >= sizeof(workers)) {
			snprintf(workers + used, sizeof(workers) - used, ", ...");
			break;
		}
		used += (size_t)snprintf(workers + used, sizeof(workers) - used, "%s%u",
					 i > 0 ? ", " : "", loader->workers[i]);
	}
	node_error(file, node, "core %u is not a worker lcore (workers: %s)", core, workers);
}

static void
add_core(struct file_context *file, struct kernel_spec *spec, const yaml_node_t *node)
{
	static const struct config_field core_field = {
		.key = "cores", .type = CONFIG_UNSIGNED, .maximum = RTE_MAX_LCORE - 1,
	};
	uint64_t core;
	char message[256];

	if (node->type != YAML_SCALAR_NODE) {
		node_error(file, node, "cores are lcore numbers, not %s", node_kind(node));
		return;
	}
	if (config_parse_value(&core_field, scalar_text(node), &core, message, sizeof(message)) != 0) {
		node_error(file, node, "%s", message);
		return;
	}
	if (file->loader->worker_count >= 0 && !is_worker(file->loader, (unsigned)core)) {
		not_a_worker_error(file, node, (unsigned)core);
		return;
	}
	for (unsigned i = 0; i < spec->core_count; i++) {
		if (spec->cores[i] == core) {
			node_error(file, node, "core %u is listed twice", (unsigned)core);
			return;
		}
	}
	if (spec->core_count == CONFIG_MAX_CORES) {
		node_error(file, node, "too many cores (at most %d)", CONFIG_MAX_CORES);
		return;
	}
	spec->cores[spec->core_count++] = (unsigned)core;
}

static void
bind_cores(struct file_context *file, yaml_node_t *value, void *target)
{
	struct kernel_spec *spec = ((struct instance *)target)->spec;

	spec->cores_position = node_position(file, value);
	if (value->type == YAML_SEQUENCE_NODE && sequence_length(value) == 0) {
		node_error(file, value, "'cores' is an empty list");
	} else if (value->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *item = value->data.sequence.items.start;
		     item < value->data.sequence.items.top; item++)
			add_core(file, spec, node_at(file, *item));
	} else {
		add_core(file, spec, value);
	}
}

/* `type` is read before the other keys, since it decides which keys exist. */
static const struct special_key instance_keys[] = {
	{"type", NULL},
	{"input", bind_input},
	{"replicas", bind_replicas},
	{"cores", bind_cores},
	{NULL, NULL},
};

static bool
valid_name(const char *name)
{
	if (!((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z') ||
	      name[0] == '_'))
		return false;
	for (const char *c = name + 1; *c != '\0'; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' || *c == '-'))
			return false;
	return true;
}

/* A new spec for the instance named by @p key, or NULL (name invalid, taken, or no room). */
static struct kernel_spec *
add_kernel(struct file_context *file, const yaml_node_t *key)
{
	struct config *config = file->loader->config;
	const char *name = scalar_text(key);
	unsigned errors_before = error_total(file->loader);
	const struct kernel_spec *first = config_find_kernel(config, name);
	struct kernel_spec *spec;

	if (first != NULL) {
		node_error(file, key, "duplicate kernel name '%s' (first defined at %s:%u:%u)", name,
			   first->position.file, first->position.line, first->position.column);
		return NULL;
	}
	if (strlen(name) >= CONFIG_NAME_MAX)
		node_error(file, key, "kernel name '%s' is too long (at most %d characters)", name,
			   CONFIG_NAME_MAX - 1);
	else if (!valid_name(name))
		node_error(file, key,
			   "invalid kernel name '%s': use letters, digits, '_', '.' and '-', starting "
			   "with a letter or '_' (names are written to JSON without escaping)",
			   name);
	else if (config->kernel_count == CONFIG_MAX_KERNELS)
		node_error(file, key, "too many kernels (at most %d)", CONFIG_MAX_KERNELS);
	if (error_total(file->loader) > errors_before) {
		file->loader->graph_incomplete = true; /* inputs naming it would dangle */
		return NULL;
	}
	spec = &config->kernels[config->kernel_count++];
	snprintf(spec->name, sizeof(spec->name), "%s", name);
	spec->position = node_position(file, key);
	spec->replicas = 1;
	return spec;
}

static const struct kernel_ops *
kernel_type_of(struct file_context *file, const struct kernel_spec *spec, const yaml_node_t *body)
{
	const char *names[CANDIDATES_MAX];
	const yaml_node_t *type = mapping_value(file, body, "type");
	const struct kernel_ops *ops;
	const char *suggestion;
	unsigned count = 0;
	char known[200], hint[96];
	size_t used = 0;

	if (type == NULL) {
		config_error(file->loader->errors, spec->position, "missing required key 'type'");
		return NULL;
	}
	if (type->type != YAML_SCALAR_NODE) {
		node_error(file, type, "'type' takes a single value, not %s", node_kind(type));
		return NULL;
	}
	ops = kernel_find(scalar_text(type));
	if (ops != NULL)
		return ops;
	known[0] = '\0';
	for (; kernel_registry[count] != NULL && count < CANDIDATES_MAX; count++) {
		names[count] = kernel_registry[count]->name;
		if (used < sizeof(known))
			used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s",
						 count > 0 ? ", " : "", names[count]);
	}
	/* `type:`, `type: ~`, `type: null` and `type: ""` */
	if (scalar_is_null(type)) {
		node_error(file, type, "'type' is empty: give a kernel type (known types: %s)", known);
		return NULL;
	}
	suggestion = closest_name(scalar_text(type), names, count);
	if (suggestion != NULL)
		node_error(file, type, "unknown kernel type '%s'%s", scalar_text(type),
			   did_you_mean(suggestion, hint, sizeof(hint)));
	else
		node_error(file, type, "unknown kernel type '%s' (known types: %s)",
			   scalar_text(type), known);
	return NULL;
}

static void
bind_kernel(struct file_context *file, struct kernel_spec *spec, const yaml_node_t *body)
{
	const struct kernel_ops *ops = spec->ops;
	struct loader *loader = file->loader;
	unsigned errors_before = error_total(loader);
	struct instance instance = {.spec = spec};
	char owner[CONFIG_NAME_MAX + 32];
	struct binding binding = {
		.owner = owner,
		.special_keys = instance_keys,
		.target = &instance,
		.fields = ops->config_map,
	};

	snprintf(owner, sizeof(owner), " for kernel type '%s'", ops->name);
	spec->params = calloc(1, ops->params_size > 0 ? ops->params_size : 1);
	binding.params = spec->params;
	binding.field_positions = calloc(field_count(ops->config_map) + 1,
					 sizeof(struct config_position));
	if (binding.params == NULL || binding.field_positions == NULL) {
		config_error(loader->errors, spec->position, "out of memory");
		free(binding.field_positions);
		return;
	}
	apply_defaults(loader, spec->position, ops->config_map, spec->params);
	bind_mapping(file, body, &binding);
	if (ops->input_type != STREAM_NONE && !instance.input_seen)
		config_error(loader->errors, spec->position, "missing required key 'input'%s", owner);
	require_fields(loader, spec->position, &binding);
	if (kernel_properties_of(ops, spec->params).replicas != 0)
		spec->replicas = kernel_properties_of(ops, spec->params).replicas;
	if (spec->core_count > 0 && kernel_runs_on_sink_thread(ops, spec->params))
		config_error(loader->errors, spec->cores_position,
			     "kernel '%s' runs on the sink thread (it does blocking I/O): "
			     "'cores' does not apply", spec->name);
	/* check() may assume well-formed parameters, so it only sees instances without errors. */
	if (error_total(loader) == errors_before)
		run_check(loader, spec->position, &binding, ops->check);
	spec->key_positions = binding.field_positions; /* kept: a reload points errors at keys */
}

static void
load_kernel(struct file_context *file, const yaml_node_t *key, const yaml_node_t *body)
{
	struct kernel_spec *spec = add_kernel(file, key);

	if (spec == NULL)
		return;
	if (scalar_is_missing(body)) {
		node_error(file, body, "kernel '%s' is empty: it needs a mapping of keys (type, input, ...)",
			   spec->name);
		return;
	}
	if (body->type != YAML_MAPPING_NODE) {
		node_error(file, body, "kernel '%s' needs a mapping of keys (type, input, ...), not %s",
			   spec->name, node_kind(body));
		return;
	}
	spec->ops = kernel_type_of(file, spec, body);
	if (spec->ops != NULL)
		bind_kernel(file, spec, body);
}

static void
bind_kernels(struct file_context *file, yaml_node_t *value, void *target)
{
	struct top_level *top = target;

	top->kernels_seen = true;
	if (value->type == YAML_SCALAR_NODE && scalar_is_missing(value)) {
		node_error(file, value, "'kernels' is empty: a pipeline needs at least one kernel");
		return;
	}
	if (value->type != YAML_MAPPING_NODE) {
		node_error(file, value, "'kernels' maps kernel names to their keys, not %s",
			   node_kind(value));
		return;
	}
	if (value->data.mapping.pairs.top == value->data.mapping.pairs.start)
		node_error(file, value, "'kernels' is empty: a pipeline needs at least one kernel");
	for (yaml_node_pair_t *pair = value->data.mapping.pairs.start;
	     pair < value->data.mapping.pairs.top; pair++) {
		yaml_node_t *key = node_at(file, pair->key);

		if (key_is_scalar(file, key))
			load_kernel(file, key, node_at(file, pair->value));
	}
}

/* ---- pipeline files ---- */

static const struct special_key pipeline_keys[] = {
	{"version", bind_version},
	{"kernels", bind_kernels},
	{NULL, NULL},
};

static void
bind_pipeline(struct file_context *file, const yaml_node_t *root)
{
	struct top_level top = {0};
	struct binding binding = {
		.owner = " at the top level of a pipeline file",
		.special_keys = pipeline_keys,
		.target = &top,
	};
	struct config_position start = node_position(file, root);

	if (root->type != YAML_MAPPING_NODE) {
		node_error(file, root, "a pipeline file is a mapping with 'version' and 'kernels', "
				       "not %s", node_kind(root));
		return;
	}
	bind_mapping(file, root, &binding);
	if (!top.version_seen)
		config_error(file->loader->errors, start,
			     "missing required key 'version' (this jetstreamd reads version 1)");
	if (!top.kernels_seen)
		config_error(file->loader->errors, start, "missing required key 'kernels'");
}

static void
load_pipeline(struct loader *loader, const char *path)
{
	struct file_context file;
	yaml_node_t *root;

	if (!file_load(loader, path, "pipeline", &file)) {
		loader->graph_incomplete = true;
		return;
	}
	root = yaml_document_get_root_node(&file.document);
	if (root == NULL)
		config_error(loader->errors, (struct config_position){file.name, 0, 0},
			     "empty pipeline file: expected 'version: 1' and 'kernels:'");
	else
		bind_pipeline(&file, root);
	yaml_document_delete(&file.document);
}

/* ---- settings file ---- */

/* Checks @p value is a list of at most @p max strings. */
static bool
is_string_list(struct file_context *file, const yaml_node_t *value, const char *key, unsigned max)
{
	bool valid = true;

	if (value->type != YAML_SEQUENCE_NODE) {
		node_error(file, value, "'%s' takes a list, not %s", key, node_kind(value));
		return false;
	}
	if (sequence_length(value) > max) {
		node_error(file, value, "'%s' has %u entries (at most %u)", key,
			   sequence_length(value), max);
		return false;
	}
	for (yaml_node_item_t *item = value->data.sequence.items.start;
	     item < value->data.sequence.items.top; item++) {
		const yaml_node_t *entry = node_at(file, *item);

		if (entry->type != YAML_SCALAR_NODE || scalar_is_missing(entry)) {
			node_error(file, entry, "entries of '%s' are strings, not %s", key,
				   entry->type == YAML_SCALAR_NODE ? "empty" : node_kind(entry));
			valid = false;
		}
	}
	return valid;
}

static void
bind_eal_args(struct file_context *file, yaml_node_t *value, void *target)
{
	struct daemon_settings *settings = ((struct top_level *)target)->settings;

	if (!is_string_list(file, value, "eal_args", CONFIG_MAX_EAL_ARGS))
		return;
	for (yaml_node_item_t *item = value->data.sequence.items.start;
	     item < value->data.sequence.items.top; item++) {
		const yaml_node_t *entry = node_at(file, *item);
		char *argument = settings->eal_args[settings->eal_arg_count];

		if (strlen(scalar_text(entry)) >= sizeof(settings->eal_args[0]))
			node_error(file, entry, "EAL argument is too long (at most %zu characters)",
				   sizeof(settings->eal_args[0]) - 1);
		else
			snprintf(argument, sizeof(settings->eal_args[0]), "%s", scalar_text(entry));
		settings->eal_arg_count++;
	}
}

/* Relative pipeline paths are relative to the settings file, not to the working directory. */
static void
bind_pipelines(struct file_context *file, yaml_node_t *value, void *target)
{
	struct top_level *top = target;
	struct daemon_settings *settings = top->settings;

	if (!is_string_list(file, value, "pipelines", CONFIG_MAX_PIPELINES))
		return;
	for (yaml_node_item_t *item = value->data.sequence.items.start;
	     item < value->data.sequence.items.top; item++) {
		const char *path = scalar_text(node_at(file, *item));
		bool relative = path[0] != '/' && strcmp(top->directory, ".") != 0;
		char *destination = settings->pipelines[settings->pipeline_count++];
		int length = snprintf(destination, PATH_MAX, "%s%s%s", relative ? top->directory : "",
				      relative ? "/" : "", path);

		if (length >= PATH_MAX)
			node_error(file, node_at(file, *item), "pipeline path is too long");
	}
}

static const struct special_key settings_keys[] = {
	{"version", bind_version},
	{"eal_args", bind_eal_args},
	{"pipelines", bind_pipelines},
	{NULL, NULL},
};

static bool
is_power_of_two(uint64_t value)
{
	return value != 0 && (value & (value - 1)) == 0;
}

/* What the settings table cannot say by itself; same contract as a kernel's check(). */
static void
settings_check(const void *params, struct config_check_context *context)
{
	const struct daemon_settings *settings = params;
	unsigned workers[RTE_MAX_LCORE];
	int worker_count;

	if (!is_power_of_two(settings->ring_size))
		config_check_error(context, "ring_size", "ring_size %lu is not a power of two",
				   (unsigned long)settings->ring_size);
	if (!config_check_key_set(context, "lcores"))
		return;
	worker_count = config_worker_lcores(settings->lcores, workers, RTE_MAX_LCORE);
	if (worker_count < 0)
		config_check_error(context, "lcores",
				   "invalid lcore list '%s': expected a list such as 0-3 or 0@0,1@0",
				   settings->lcores);
	else if (worker_count == 0)
		config_check_error(context, "lcores",
				   "lcore list '%s' has no worker: the first lcore is the control "
				   "thread, list at least one more",
				   settings->lcores);
}

static void
directory_of(const char *path, char *directory, size_t size)
{
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(directory, size, "%s", dirname(copy));
}

static void
bind_settings_file(struct loader *loader, struct file_context *file, struct binding *binding)
{
	struct top_level *top = binding->target;
	yaml_node_t *root = yaml_document_get_root_node(&file->document);
	struct config_position whole_file = {file->name, 0, 0};

	directory_of(file->name, top->directory, sizeof(top->directory));
	if (root == NULL)
		return; /* an empty settings file means every default */
	if (root->type != YAML_MAPPING_NODE) {
		node_error(file, root, "a settings file is a mapping of keys, not %s",
			   node_kind(root));
		return;
	}
	bind_mapping(file, root, binding);
	run_check(loader, whole_file, binding, settings_check);
}

static void
load_settings(struct loader *loader, const char *path)
{
	struct daemon_settings *settings = &loader->config->settings;
	struct config_position *positions = loader->config->setting_positions;
	struct top_level top = {.settings = settings};
	struct binding binding = {
		.owner = " in the daemon settings",
		.special_keys = settings_keys,
		.target = &top,
		.fields = daemon_settings_fields,
		.params = settings,
		.field_positions = positions,
	};
	struct file_context file;

	apply_defaults(loader, command_line_position, daemon_settings_fields, settings);
	if (path != NULL) {
		if (strlen(path) >= sizeof(loader->config->settings_file))
			config_error(loader->errors, command_line_position, "settings path too long");
		snprintf(loader->config->settings_file, sizeof(loader->config->settings_file), "%s",
			 path);
		if (file_load(loader, path, "settings", &file)) {
			bind_settings_file(loader, &file, &binding);
			yaml_document_delete(&file.document);
		}
	}
	if (positions[find_field(daemon_settings_fields, "lcores")].line == 0)
		default_lcores(settings->lcores, sizeof(settings->lcores));
}

/* ---- the graph as a whole ---- */

static bool
accepts(enum stream_type input, enum stream_type output)
{
	if (input == STREAM_ANY)
		return output != STREAM_NONE;
	if (input == STREAM_ANY_RECORD)
		return output != STREAM_NONE && output != STREAM_PACKET;
	return input == output;
}

static void
unknown_input_error(struct loader *loader, const struct kernel_spec *spec, unsigned input)
{
	const struct config *config = loader->config;
	const char *names[CONFIG_MAX_KERNELS];
	char hint[96];

	for (unsigned i = 0; i < config->kernel_count; i++)
		names[i] = config->kernels[i].name;
	config_error(loader->errors, spec->input_positions[input], "unknown input '%s'%s",
		     spec->inputs[input],
		     did_you_mean(closest_name(spec->inputs[input], names, config->kernel_count), hint,
				  sizeof(hint)));
}

static void
check_input(struct loader *loader, const struct kernel_spec *spec, unsigned input)
{
	const struct kernel_spec *producer = config_find_kernel(loader->config, spec->inputs[input]);
	struct config_position position = spec->input_positions[input];
	enum stream_type input_type = kernel_input_type(spec->ops, spec->params);

	if (producer == NULL) {
		unknown_input_error(loader, spec, input);
	} else if (producer->ops == NULL) {
		return; /* its unknown type was reported */
	} else if (producer->ops->output_type == STREAM_NONE) {
		config_error(loader->errors, position,
			     "input '%s' of '%s' has no output (kernel type '%s' produces nothing)",
			     producer->name, spec->name, producer->ops->name);
	} else if (!accepts(input_type, producer->ops->output_type)) {
		config_error(loader->errors, position, "input '%s' of '%s' gives %s records but %s takes %s",
			     producer->name, spec->name, stream_type_name(producer->ops->output_type),
			     spec->ops->name,
			     input_type == STREAM_ANY_RECORD ? "any record type" : stream_type_name(input_type));
	}
}

enum visit_state { UNVISITED = 0, ON_PATH, VISITED };

/* Depth-first search from consumers to their producers. */
struct cycle_search {
	struct loader *loader;
	unsigned char state[CONFIG_MAX_KERNELS];
	unsigned path[CONFIG_MAX_KERNELS];
	unsigned depth;
};

/*
 * @p consumer (top of the path) takes an input from path[start]: the path
 * from there is a cycle. Printed in the direction data flows.
 */
static void
report_cycle(struct cycle_search *search, unsigned start, const struct kernel_spec *consumer,
	     unsigned input)
{
	const struct config *config = search->loader->config;
	char cycle[200];
	size_t used = (size_t)snprintf(cycle, sizeof(cycle), "%s", config->kernels[search->path[start]].name);

	for (unsigned i = search->depth; i-- > start && used < sizeof(cycle);)
		used += (size_t)snprintf(cycle + used, sizeof(cycle) - used, " -> %s",
					 config->kernels[search->path[i]].name);
	config_error(search->loader->errors, consumer->input_positions[input], "cycle: %s", cycle);
}

static void
visit(struct cycle_search *search, unsigned index)
{
	const struct config *config = search->loader->config;
	const struct kernel_spec *spec = &config->kernels[index];

	search->state[index] = ON_PATH;
	search->path[search->depth++] = index;
	for (unsigned i = 0; i < spec->input_count; i++) {
		const struct kernel_spec *producer = config_find_kernel(config, spec->inputs[i]);
		unsigned producer_index;

		if (producer == NULL)
			continue;
		producer_index = (unsigned)(producer - config->kernels);
		if (search->state[producer_index] == UNVISITED) {
			visit(search, producer_index);
		} else if (search->state[producer_index] == ON_PATH) {
			unsigned start = search->depth;

			while (search->path[--start] != producer_index)
				;
			report_cycle(search, start, spec, i);
		}
	}
	search->depth--;
	search->state[index] = VISITED;
}

static void
find_cycles(struct loader *loader)
{
	struct cycle_search search = {.loader = loader};

	for (unsigned i = 0; i < loader->config->kernel_count; i++)
		if (search.state[i] == UNVISITED)
			visit(&search, i);
}

static void
require_source(struct loader *loader)
{
	const struct config *config = loader->config;

	for (unsigned i = 0; i < config->kernel_count; i++)
		if (config->kernels[i].ops == NULL ||
		    config->kernels[i].ops->input_type == STREAM_NONE)
			return; /* a kernel of unknown type may have been meant as the source */
	config_error(loader->errors, config->kernels[0].position,
		     "no source: a pipeline needs a kernel that takes no input, such as type 'source'");
}

static void
validate_graph(struct loader *loader)
{
	const struct config *config = loader->config;

	if (config->kernel_count == 0)
		return; /* each file has reported why it has no kernel */
	for (unsigned k = 0; k < config->kernel_count; k++)
		for (unsigned i = 0; config->kernels[k].ops != NULL && i < config->kernels[k].input_count;
		     i++)
			check_input(loader, &config->kernels[k], i);
	find_cycles(loader);
	require_source(loader);
}

/* ---- entry points ---- */

static void
remember_workers(struct loader *loader)
{
	loader->worker_count = config_worker_lcores(loader->config->settings.lcores, loader->workers,
						    RTE_MAX_LCORE);
}

static void
load_pipelines(struct loader *loader, const char *const *paths, unsigned count)
{
	const struct daemon_settings *settings = &loader->config->settings;
	struct config_position position = command_line_position;

	if (loader->config->settings_file[0] != '\0')
		position.file = loader->config->settings_file;
	if (count == 0) {
		for (unsigned i = 0; i < settings->pipeline_count; i++)
			load_pipeline(loader, settings->pipelines[i]);
		if (settings->pipeline_count == 0)
			config_error(loader->errors, position,
				     "no pipeline file: give -p PIPELINE.yaml or list them under "
				     "'pipelines:' in the settings file");
		return;
	}
	if (count > CONFIG_MAX_PIPELINES) {
		config_error(loader->errors, command_line_position,
			     "too many pipeline files (at most %d)", CONFIG_MAX_PIPELINES);
		return;
	}
	for (unsigned i = 0; i < count; i++)
		load_pipeline(loader, paths[i]);
}

struct config *
config_load(const char *settings_path, const char *const *pipeline_paths,
	    unsigned pipeline_count, struct config_errors *errors)
{
	struct loader loader = {.errors = errors};

	memset(errors, 0, sizeof(*errors));
	loader.config = calloc(1, sizeof(*loader.config));
	if (loader.config == NULL) {
		config_error(errors, command_line_position, "out of memory");
		return NULL;
	}
	load_settings(&loader, settings_path);
	remember_workers(&loader);
	load_pipelines(&loader, pipeline_paths, pipeline_count);
	/* With a file or kernel missing, dangling inputs would only repeat earlier errors. */
	if (!loader.graph_incomplete)
		validate_graph(&loader);
	if (error_total(&loader) > 0) {
		config_free(loader.config);
		return NULL;
	}
	return loader.config;
}

struct config_position
config_key_position(const struct config_field *fields, const struct config_position *positions,
		    const char *key, struct config_position fallback)
{
	int index = find_field(fields, key);

	return index >= 0 && positions != NULL && positions[index].line != 0 ? positions[index]
									 : fallback;
}

void
config_free(struct config *config)
{
	if (config == NULL)
		return;
	for (unsigned i = 0; i < config->kernel_count; i++)
	{
		free(config->kernels[i].params);
		free(config->kernels[i].key_positions);
	}
	for (unsigned i = 0; i < config->file_count; i++)
		free(config->files[i]);
	free(config);
}

const struct kernel_spec *
config_find_kernel(const struct config *config, const char *name)
{
	int index = config_kernel_index(config, name);

	return index >= 0 ? &config->kernels[index] : NULL;
}

int
config_kernel_index(const struct config *config, const char *name)
{
	for (unsigned i = 0; i < config->kernel_count; i++)
		if (strcmp(config->kernels[i].name, name) == 0)
			return (int)i;
	return -1;
}
