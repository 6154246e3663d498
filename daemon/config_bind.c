/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The binder: the keys of a YAML mapping into a params struct by a
 * config_field table, with defaults, required keys, unknown and duplicate
 * keys, and the keys a table cannot express handed to special-key functions.
 * One binder serves kernels, the daemon settings and the top level of a
 * pipeline file, so every file kind behaves the same. Also the check context
 * a kernel's check() reports through.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config_compare.h"
#include "config_private.h"

/* ---- the binder ---- */

unsigned
field_count(const struct config_field *fields)
{
	unsigned count = 0;

	while (fields != NULL && fields[count].key != NULL)
		count++;
	return count;
}

int
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

/*
 * Parse the default_value of every row inside @p parent (NULL: at the top
 * level, the rows of a list's entries left out: they are defaulted entry by
 * entry). A failure is a bug in a key table, reported like a config error.
 */
static void
apply_defaults_inside(struct config_errors *errors, struct config_position owner,
		      const struct config_field *fields, const struct config_field *parent,
		      void *params)
{
	char message[200];

	for (unsigned i = 0; i < field_count(fields); i++)
		if (fields[i].default_value != NULL && !field_is_bound_by_code(&fields[i]) &&
		    config_field_list_parent(fields, &fields[i]) == parent &&
		    config_parse_value(&fields[i], fields[i].default_value, params, message,
				       sizeof(message)) != 0)
			config_error(errors, owner, "bad default in the key table: %s", message);
}

void
apply_defaults(struct loader *loader, struct config_position owner,
	       const struct config_field *fields, void *params)
{
	apply_defaults_inside(loader->errors, owner, fields, NULL, params);
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
static void bind_mapping_list(struct file_context *file, const struct binding *binding,
			      const struct config_field *field, const yaml_node_t *value);

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
		} else if (config_parse_list_entry(field, scalar_text(entry), list, message,
					    sizeof(message)) != 0)
			node_error(file, entry, "%s", message);
	}
}

/*
 * A list value of a CONFIG_STRING_LIST kernel key: the texts stored in
 * char[size] one after the other, each ended by NUL, and an empty text after
 * the last (the bytes past it zero, so a reload compares the whole buffer).
 * A single text is parsed by config_parse_value(), stored the same way.
 */
static void
bind_string_list(struct file_context *file, const struct config_field *field,
		 const yaml_node_t *value, void *params)
{
	char *texts = (char *)params + field->offset;
	size_t used = 0;

	memset(texts, 0, field->size);
	if (sequence_length(value) == 0)
		node_error(file, value, "'%s' is an empty list", field->key);
	for (yaml_node_item_t *item = value->data.sequence.items.start;
	     item < value->data.sequence.items.top; item++) {
		const yaml_node_t *entry = node_at(file, *item);
		size_t length;

		/* an empty text would end the stored list early */
		if (entry->type != YAML_SCALAR_NODE || scalar_is_missing(entry) ||
		    scalar_text(entry)[0] == '\0') {
			node_error(file, entry, "entries of '%s' are single texts, not %s", field->key,
				   entry->type == YAML_SCALAR_NODE ? "empty" : node_kind(entry));
			continue;
		}
		length = strlen(scalar_text(entry)) + 1;
		if (used + length + 1 > field->size) {
			node_error(file, entry, "'%s' is too long (at most %zu bytes in all)",
				   field->key, field->size - 2);
			return;
		}
		memcpy(texts + used, scalar_text(entry), length);
		used += length;
	}
}

const char *
config_string_list_next(const char *texts, const char *text)
{
	const char *next = text == NULL ? texts : text + strlen(text) + 1;

	return next[0] == '\0' ? NULL : next;
}

/* A CONFIG_PROPERTIES value: any keys, each with a single value, kept in file order. */
static void
bind_properties(struct file_context *file, const struct config_field *field,
		const yaml_node_t *mapping, void *params)
{
	char message[256];

	memset((char *)params + field->offset, 0, field->size);
	for (yaml_node_pair_t *pair = mapping->data.mapping.pairs.start;
	     pair < mapping->data.mapping.pairs.top; pair++) {
		const yaml_node_t *key = node_at(file, pair->key);
		const yaml_node_t *value = node_at(file, pair->value);

		if (!key_is_scalar(file, key) || key_is_duplicate(file, mapping, pair))
			continue;
		if (value->type != YAML_SCALAR_NODE || scalar_is_missing(value))
			node_error(file, value, "property '%s' of '%s' takes a single value, not %s",
				   scalar_text(key), field->key,
				   value->type == YAML_SCALAR_NODE ? "empty" : node_kind(value));
		else if (config_properties_add(field, params, scalar_text(key), scalar_text(value),
					       message, sizeof(message)) != 0)
			node_error(file, key, "%s", message);
	}
}

static void
bind_field(struct file_context *file, const struct binding *binding, unsigned index,
	   const yaml_node_t *value)
{
	const struct config_field *field = &binding->fields[index];
	char message[256];

	binding->field_positions[index] = node_position(file, value);
	if (field->type == CONFIG_NAMES && binding->bind_names != NULL) {
		binding->bind_names(file, field, value, binding->target);
		return;
	}
	if (field->type == CONFIG_MAPPING && value->type == YAML_MAPPING_NODE) {
		*(bool *)((char *)binding->params + field->offset) = true;
		bind_fields_of_mapping(file, value, binding, field);
		return;
	}
	if (field->type == CONFIG_PROPERTIES && value->type == YAML_MAPPING_NODE) {
		bind_properties(file, field, value, binding->params);
		return;
	}
	if (field->type == CONFIG_UNSIGNED_LIST && value->type == YAML_SEQUENCE_NODE) {
		bind_list(file, field, value, binding->params);
		return;
	}
	if (field->type == CONFIG_STRING_LIST && field->size != 0 &&
	    value->type == YAML_SEQUENCE_NODE) {
		bind_string_list(file, field, value, binding->params);
		return;
	}
	if (field->type == CONFIG_MAPPING_LIST) {
		bind_mapping_list(file, binding, field, value);
		return;
	}
	if (value->type != YAML_SCALAR_NODE) {
		node_error(file, value, "'%s' takes %s, not %s", field->key,
			   field->type == CONFIG_UNSIGNED_LIST ? "a value or a list of values"
			   : field->type == CONFIG_STRING_LIST ? "a text or a list of texts"
			   : field->type == CONFIG_MAPPING ||
					   field->type == CONFIG_PROPERTIES ? "a mapping of keys"
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

/* The required keys inside @p parent's entry, written or not as @p positions says. */
static void
require_entry_fields(struct file_context *file, const yaml_node_t *entry,
		     const struct binding *binding, const struct config_field *parent,
		     const struct config_position *positions)
{
	for (unsigned i = 0; i < field_count(binding->fields); i++)
		if (binding->fields[i].required && positions[i].line == 0 &&
		    config_field_list_parent(binding->fields, &binding->fields[i]) == parent)
			node_error(file, entry, "missing required key '%s' in this entry of '%s'%s",
				   key_inside(&binding->fields[i], parent), parent->key,
				   binding->owner);
}

/*
 * A CONFIG_MAPPING_LIST value: each entry a mapping of the `field.key` rows,
 * bound into its own slot after the defaults. The positions of the entries'
 * keys are merged into the binding's, the later entry's over the earlier,
 * so that a check() can point at a key that one of them wrote.
 */
static void
bind_mapping_list(struct file_context *file, const struct binding *binding,
		  const struct config_field *field, const yaml_node_t *value)
{
	char *list = (char *)binding->params + field->offset;
	unsigned rows = field_count(binding->fields);
	struct config_position *positions = calloc(rows, sizeof(*positions));
	struct binding entry_binding = *binding;

	memset(list, 0, CONFIG_MAPPING_LIST_BYTES(field->maximum, field->size));
	if (value->type != YAML_SEQUENCE_NODE) {
		node_error(file, value, "'%s' takes a list of mappings, not %s", field->key,
			   node_kind(value));
		free(positions);
		return;
	}
	if (positions == NULL) {
		node_error(file, value, "out of memory binding '%s'", field->key);
		return;
	}
	if (sequence_length(value) == 0)
		node_error(file, value, "'%s' is an empty list", field->key);
	entry_binding.field_positions = positions;
	for (yaml_node_item_t *item = value->data.sequence.items.start;
	     item < value->data.sequence.items.top; item++) {
		const yaml_node_t *entry = node_at(file, *item);
		uint64_t *count = (uint64_t *)list;

		if (entry->type != YAML_MAPPING_NODE) {
			node_error(file, entry, "entries of '%s' are mappings of keys, not %s",
				   field->key, node_kind(entry));
			continue;
		}
		if (*count == field->maximum) {
			node_error(file, entry, "too many entries in '%s' (at most %" PRIu64 ")",
				   field->key, field->maximum);
			break;
		}
		entry_binding.params = list + sizeof(uint64_t) + *count * field->size;
		memset(positions, 0, rows * sizeof(*positions));
		apply_defaults_inside(file->loader->errors, node_position(file, entry),
				      binding->fields, field, entry_binding.params);
		bind_fields_of_mapping(file, entry, &entry_binding, field);
		require_entry_fields(file, entry, binding, field, positions);
		for (unsigned i = 0; i < rows; i++)
			if (positions[i].line != 0)
				binding->field_positions[i] = positions[i];
		(*count)++;
	}
	free(positions);
}

void
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

void
require_fields(struct loader *loader, struct config_position owner, const struct binding *binding)
{
	for (unsigned i = 0; i < field_count(binding->fields); i++)
		if (binding->fields[i].required && binding->field_positions[i].line == 0 &&
		    config_field_list_parent(binding->fields, &binding->fields[i]) == NULL)
			config_error(loader->errors, owner, "missing required key '%s'%s",
				     binding->fields[i].key, binding->owner);
}

/* ---- check context ---- */

void
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

/* ---- version (both file kinds) ---- */

void
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

/* ---- positions of keys ---- */

struct config_position
config_key_position(const struct config_field *fields, const struct config_position *positions,
		    const char *key, struct config_position fallback)
{
	int index = find_field(fields, key);

	return index >= 0 && positions != NULL && positions[index].line != 0 ? positions[index]
									 : fallback;
}
