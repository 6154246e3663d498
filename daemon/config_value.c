/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Values of config_field rows from text: counts, sizes and durations with
 * their units, booleans, choices, strings, decimals and lists of counts. Knows
 * nothing of YAML: the binder hands it scalars, kernels and tests plain text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_private.h"

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
int
config_parse_list_entry(const struct config_field *field, const char *text,
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
		if (config_parse_list_entry(field, text, &list, message, message_size) != 0)
			return -EINVAL;
		memcpy(destination, &list, sizeof(list));
		return 0;
	case CONFIG_MAPPING:
	case CONFIG_PROPERTIES:
		snprintf(message, message_size, "'%s' takes a mapping of keys, not a single value",
			 field->key);
		return -EINVAL;
	case CONFIG_MAPPING_LIST:
		snprintf(message, message_size, "'%s' takes a list of mappings, not a single value",
			 field->key);
		return -EINVAL;
	case CONFIG_STRING_LIST:
		if (field->size != 0) {
			/* one text of a kernel's list: stored as a string, the empty text after it */
			struct config_field entry = *field;

			memset(destination, 0, field->size);
			entry.size = field->size - 1;
			return parse_string(&entry, text, destination, message, message_size);
		}
		/* the settings' lists are bound by the loader's code */
		__attribute__((fallthrough));
	case CONFIG_NAMES:
	case CONFIG_PATH_LIST:
		/* bound by the loader's code; a row of these types only documents its key */
		snprintf(message, message_size, "'%s' takes a list, bound by the loader itself",
			 field->key);
		return -EINVAL;
	}
	snprintf(message, message_size, "'%s' has an unknown type in its key table", field->key);
	return -EINVAL;
}

int
config_properties_add(const struct config_field *field, void *params, const char *key,
		      const char *value, char *message, size_t message_size)
{
	char *properties = (char *)params + field->offset;
	size_t used = 0, pair_length = strlen(key) + 1 + strlen(value) + 1;

	if (key[0] == '\0' || strchr(key, '=') != NULL) {
		snprintf(message, message_size, "'%s' is not a property name (empty, or with '=')",
			 key);
		return -EINVAL;
	}
	if (value[0] == '\0') {
		snprintf(message, message_size, "property '%s' of '%s' is empty", key, field->key);
		return -EINVAL;
	}
	for (const char *pair = NULL; (pair = config_properties_next(properties, pair)) != NULL;)
		used = (size_t)(pair - properties) + strlen(pair) + 1;
	/* the pair, then the empty string that ends the list */
	if (used + pair_length + 1 > field->size) {
		snprintf(message, message_size, "'%s' is too long (at most %zu bytes of "
			 "key=value pairs)", field->key, field->size - 1);
		return -EINVAL;
	}
	snprintf(properties + used, pair_length, "%s=%s", key, value);
	properties[used + pair_length] = '\0';
	return 0;
}

const char *
config_properties_next(const char *properties, const char *pair)
{
	const char *next = pair == NULL ? properties : pair + strlen(pair) + 1;

	return next[0] == '\0' ? NULL : next;
}

bool
config_split_host_port(const char *address, char *host, size_t host_size, char *port,
		       size_t port_size)
{
	const char *colon = strrchr(address, ':');
	const char *host_start = address;
	size_t host_length;
	unsigned long number;

	if (colon == NULL || colon[1] == '\0' || strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return false;
	host_length = (size_t)(colon - address);
	/* `2001:db8::1` would read as host `2001:db8:`, port 1: an IPv6 address needs brackets */
	if (address[0] != '[' && memchr(address, ':', host_length) != NULL)
		return false;
	if (address[0] == '[') {
		if (host_length < 2 || colon[-1] != ']')
			return false;
		host_start++;
		host_length -= 2;
	}
	number = strtoul(colon + 1, NULL, 10);
	if (host_length == 0 || host_length >= host_size || strlen(colon + 1) >= port_size ||
	    number < 1 || number > 65535)
		return false;
	snprintf(host, host_size, "%.*s", (int)host_length, host_start);
	snprintf(port, port_size, "%s", colon + 1);
	return true;
}
