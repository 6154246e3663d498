/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading one config_field's value generically, by its type and offset.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config_compare.h"
#include "kernel.h"

static const void *
field_value(const struct config_field *field, const void *params)
{
	return (const char *)params + field->offset;
}

bool
config_field_changed(const struct config_field *field, const void *old_params,
		     const void *new_params)
{
	const void *old_value = field_value(field, old_params);
	const void *new_value = field_value(field, new_params);

	switch (field->type) {
	case CONFIG_STRING:
		return strncmp(old_value, new_value, field->size) != 0;
	case CONFIG_PROPERTIES:
		return memcmp(old_value, new_value, field->size) != 0;
	case CONFIG_UNSIGNED:
	case CONFIG_SIZE:
	case CONFIG_DURATION:
		return *(const uint64_t *)old_value != *(const uint64_t *)new_value;
	case CONFIG_BOOL:
	case CONFIG_MAPPING:
		return *(const bool *)old_value != *(const bool *)new_value;
	case CONFIG_CHOICE:
		return *(const uint32_t *)old_value != *(const uint32_t *)new_value;
	case CONFIG_REAL:
		return *(const double *)old_value != *(const double *)new_value;
	case CONFIG_UNSIGNED_LIST:
		return memcmp(old_value, new_value, sizeof(struct config_unsigned_list)) != 0;
	case CONFIG_MAPPING_LIST:
		return memcmp(old_value, new_value,
			      CONFIG_MAPPING_LIST_BYTES(field->maximum, field->size)) != 0;
	case CONFIG_NAMES:
	case CONFIG_STRING_LIST:
	case CONFIG_PATH_LIST:
		return field->size != 0 && memcmp(old_value, new_value, field->size) != 0;
	}
	return false;
}

/* A number with the largest unit that divides it exactly, as the parser reads it back. */
static int
format_with_unit(uint64_t value, const char *const *units, const uint64_t *scales,
		 unsigned unit_count, char *text, size_t size)
{
	for (unsigned i = unit_count; i-- > 0;)
		if (value != 0 && value % scales[i] == 0)
			return snprintf(text, size, "%" PRIu64 "%s", value / scales[i], units[i]);
	return snprintf(text, size, "%" PRIu64 "%s", value, units[0]);
}

static int
format_duration(uint64_t nanoseconds, char *text, size_t size)
{
	static const char *const units[] = {"ns", "us", "ms", "s", "m", "h", "d"};
	static const uint64_t scales[] = {1, 1000, 1000000, 1000000000ull, 60000000000ull,
					  3600000000000ull, 86400000000000ull};

	return format_with_unit(nanoseconds, units, scales, 7, text, size);
}

static int
format_size(uint64_t bytes, char *text, size_t size)
{
	static const char *const units[] = {"", "k", "M", "G"};
	static const uint64_t scales[] = {1, 1ull << 10, 1ull << 20, 1ull << 30};

	return format_with_unit(bytes, units, scales, 4, text, size);
}

/* Append to @p text at @p used (printf-style), as far as it fits; returns the new length. */
static size_t __attribute__((format(printf, 4, 5)))
append(char *text, size_t size, size_t used, const char *format, ...)
{
	va_list arguments;
	int length;

	va_start(arguments, format);
	length = vsnprintf(text + (used < size ? used : size), used < size ? size - used : 0, format,
			   arguments);
	va_end(arguments);
	return used + (length > 0 ? (size_t)length : 0);
}

static int
format_unsigned_list(const struct config_unsigned_list *list, char *text, size_t size)
{
	size_t used = 0;

	if (list->count == 1)
		return snprintf(text, size, "%" PRIu64, list->values[0]);
	used = append(text, size, used, "[");
	for (uint64_t i = 0; i < list->count && i < CONFIG_LIST_MAX; i++)
		used = append(text, size, used, "%s%" PRIu64, i > 0 ? ", " : "", list->values[i]);
	return (int)append(text, size, used, "]");
}

/* `{key: value, ...}`, as a YAML flow mapping. */
static int
format_properties(const char *properties, char *text, size_t size)
{
	size_t used = append(text, size, 0, "{");

	for (const char *pair = NULL; (pair = config_properties_next(properties, pair)) != NULL;)
		used = append(text, size, used, "%s%.*s: %s", used > 1 ? ", " : "",
			      (int)(strchr(pair, '=') - pair), pair, strchr(pair, '=') + 1);
	return (int)append(text, size, used, "}");
}

int
config_field_format(const struct config_field *field, const void *params, char *text,
		    size_t size)
{
	const void *value = field_value(field, params);
	uint64_t number = 0;

	switch (field->type) {
	case CONFIG_STRING:
		return snprintf(text, size, "%.*s", (int)field->size, (const char *)value);
	case CONFIG_UNSIGNED:
		number = *(const uint64_t *)value;
		if (field->special_word != NULL && number == field->special_value)
			return snprintf(text, size, "%s", field->special_word);
		return snprintf(text, size, "%" PRIu64, number);
	case CONFIG_SIZE:
		return format_size(*(const uint64_t *)value, text, size);
	case CONFIG_DURATION:
		number = *(const uint64_t *)value;
		if (field->special_word != NULL && number == field->special_value)
			return snprintf(text, size, "%s", field->special_word);
		return format_duration(number, text, size);
	case CONFIG_BOOL:
		return snprintf(text, size, "%s", *(const bool *)value ? "true" : "false");
	case CONFIG_CHOICE:
		return snprintf(text, size, "%s", field->choices[*(const uint32_t *)value]);
	case CONFIG_REAL:
		return snprintf(text, size, "%g", *(const double *)value);
	case CONFIG_UNSIGNED_LIST:
		return format_unsigned_list(value, text, size);
	case CONFIG_PROPERTIES:
		return format_properties(value, text, size);
	case CONFIG_MAPPING_LIST:
		number = config_mapping_list_count(value);
		return snprintf(text, size, "a list of %" PRIu64 " %s", number,
				number == 1 ? "entry" : "entries");
	case CONFIG_MAPPING:
	case CONFIG_NAMES:
	case CONFIG_STRING_LIST:
	case CONFIG_PATH_LIST:
		break;
	}
	return snprintf(text, size, "%s", "");
}

const struct config_field *
config_field_list_parent(const struct config_field *fields, const struct config_field *field)
{
	const char *dot = strchr(field->key, '.');

	if (dot == NULL)
		return NULL;
	for (; fields != NULL && fields->key != NULL; fields++)
		if (fields->type == CONFIG_MAPPING_LIST &&
		    strncmp(fields->key, field->key, (size_t)(dot - field->key)) == 0 &&
		    fields->key[dot - field->key] == '\0')
			return fields;
	return NULL;
}

const char *
config_field_string(const struct config_field *field, const void *params)
{
	return field->type == CONFIG_STRING ? field_value(field, params) : NULL;
}

const struct config_field *
config_next_exclusive(const struct kernel_spec *spec, unsigned *index)
{
	const struct config_field *fields = spec->ops->config_map;

	for (; fields != NULL && fields[*index].key != NULL; (*index)++) {
		const struct config_field *field = &fields[*index];
		const char *value = config_field_string(field, spec->params);

		if (field->exclusive && value != NULL && value[0] != '\0') {
			(*index)++;
			return field;
		}
	}
	return NULL;
}

const struct kernel_spec *
config_exclusive_holder(const struct config *config, const char *value)
{
	for (unsigned k = 0; k < config->kernel_count; k++) {
		const struct kernel_spec *spec = &config->kernels[k];
		const struct config_field *field;
		unsigned index = 0;

		while ((field = config_next_exclusive(spec, &index)) != NULL)
			if (strcmp(config_field_string(field, spec->params), value) == 0)
				return spec;
	}
	return NULL;
}
