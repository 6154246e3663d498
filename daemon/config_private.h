/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What the parts of the configuration loader share, and nothing outside
 * daemon/config*.c includes. The parts call each other in one direction only:
 *
 *   config_load.c -> config_settings.c, config_pipeline.c, config_graph.c, plugin.c
 *   config_settings.c, config_pipeline.c -> plugin.c (which calls none of them)
 *   config_graph.c -> config_pipeline.c (kernel lookup)
 *   config_settings.c, config_pipeline.c -> config_bind.c, config_yaml.c
 *   config_pipeline.c, config_bind.c -> config_value.c
 *   config_bind.c -> config_yaml.c
 *   everything but config_value.c -> config_errors.c
 */
#ifndef JETSTREAM_CONFIG_PRIVATE_H
#define JETSTREAM_CONFIG_PRIVATE_H

#include <stdarg.h>

#include <rte_config.h>
#include <yaml.h>

#include "config.h"

/** Longest key table (fields plus special keys) the did-you-mean search looks at. */
#define CANDIDATES_MAX 64

/** State of one config_load() call. */
struct loader {
	struct config *config;
	struct config_errors *errors;
	bool graph_incomplete;           /**< a kernel was dropped: inputs may dangle */
	int worker_count;                /**< < 0: `lcores` is invalid, cores are not checked */
	unsigned workers[RTE_MAX_LCORE];
	size_t byte_limit;               /**< bytes of all files together, and regular files only; 0: each file's bound only */
	size_t bytes_read;               /**< of every file read so far */
};

/** One YAML file being bound. */
struct file_context {
	struct loader *loader;
	const char *name;                /**< config->files[i] */
	yaml_document_t document;
};

/**
 * A key bound by code rather than by a config_field: lists, keys that need the
 * kernel type. Its description lives in a config_field row all the same
 * (kernel_common_fields, daemon_settings_fields), for the docs and reloads.
 */
struct special_key {
	const char *key;
	/** NULL: read elsewhere (a kernel's `type`), accepted here. */
	void (*bind)(struct file_context *file, yaml_node_t *value, void *target);
};

/** What the keys of one mapping are bound to. */
struct binding {
	const char *owner;                        /**< appended to messages: " for kernel type 'x'" */
	const struct special_key *special_keys;   /**< NULL-key terminated */
	void *target;                             /**< passed to special keys */
	const struct config_field *fields;        /**< NULL-key terminated, or NULL */
	void *params;
	struct config_position *field_positions;  /**< of each field's value; line 0 = not written */
	/** Binds a CONFIG_NAMES row of the table (kernel inputs); NULL: refused like any list. */
	void (*bind_names)(struct file_context *file, const struct config_field *field,
			   const yaml_node_t *value, void *target);
};

/** Defined here, opaque to kernels (config_map.h). */
struct config_check_context {
	struct config_errors *errors;
	struct config_position owner_position;    /**< instance name, or the settings file */
	const struct config_field *fields;
	const struct config_position *field_positions;
};

/** Top level of a file: what the special keys there need. */
struct top_level {
	bool version_seen;
	bool kernels_seen;
	struct daemon_settings *settings;
	/** The settings file's: base of relative pipelines and plugins. */
	char directory[PATH_MAX];
	/** Where each daemon_settings_fields value was written (settings file only). */
	struct config_position *setting_positions;
	/** Where each entry of `plugins:` was written. */
	struct config_position *plugin_positions;
};

/* ---- config_errors.c ---- */

/** Position used for errors that belong to no file. */
extern const struct config_position config_command_line_position;

/** config_error() with a va_list. */
void config_error_va(struct config_errors *errors, struct config_position position,
		     const char *format, va_list arguments);

/**
 * The candidate closest to @p word, when close enough to be a typo.
 * @return one of @p candidates, or NULL.
 */
const char *closest_name(const char *word, const char *const *candidates, unsigned count);

/**
 * " (did you mean 'x'?)" in @p buffer.
 * @return @p buffer, or "" when @p suggestion is NULL.
 */
const char *did_you_mean(const char *suggestion, char *buffer, size_t size);

/** Errors so far, including dropped ones: tells whether a step added any. */
static inline unsigned
error_total(const struct loader *loader)
{
	return loader->errors->count + loader->errors->dropped;
}

/* ---- config_value.c ---- */

/**
 * One more entry of @p list, parsed and bounded like a count of @p field.
 * @return 0, or -EINVAL with a message (not a count, out of bounds, list full).
 */
int config_parse_list_entry(const struct config_field *field, const char *text,
			    struct config_unsigned_list *list, char *message, size_t size);

/**
 * Append `key=value` to the CONFIG_PROPERTIES field @p field of @p params.
 * @return 0, or -EINVAL with a message in @p message (a key with `=`, an
 *         empty key or value, no room left in the field).
 */
int config_properties_add(const struct config_field *field, void *params, const char *key,
			  const char *value, char *message, size_t message_size);

/* ---- config_yaml.c ---- */

/** Where @p node starts. */
struct config_position node_position(const struct file_context *file, const yaml_node_t *node);

/** Record an error at @p node (printf-style message). */
void node_error(struct file_context *file, const yaml_node_t *node, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

/** Node @p index of the file's document. */
yaml_node_t *node_at(struct file_context *file, int index);

/** The text of a scalar node. */
const char *scalar_text(const yaml_node_t *node);

/** "a mapping", "a list" or "a single value", for messages. */
const char *node_kind(const yaml_node_t *node);

/** true for `key:` with nothing after it, and `~`. */
bool scalar_is_missing(const yaml_node_t *node);

/** scalar_is_missing(), or YAML's null written as a word, or "" quoted. */
bool scalar_is_null(const yaml_node_t *node);

/** Entries of a list node. */
unsigned sequence_length(const yaml_node_t *node);

/** The value of the first @p key in @p mapping, or NULL. */
yaml_node_t *mapping_value(struct file_context *file, const yaml_node_t *mapping,
			   const char *key);

/** true when @p key is a scalar; otherwise records an error. */
bool key_is_scalar(struct file_context *file, const yaml_node_t *key);

/** true when @p pair's key was seen earlier in @p mapping; records an error then. */
bool key_is_duplicate(struct file_context *file, const yaml_node_t *mapping,
		      const yaml_node_pair_t *pair);

/**
 * Read and parse @p path into file->document, with the bounds of config.h.
 * @return false with an error recorded (the document is then not allocated).
 */
bool file_load(struct loader *loader, const char *path, const char *file_kind,
	       struct file_context *file);

/* ---- config_bind.c ---- */

/** Rows of @p fields before its NULL key (0 for NULL). */
unsigned field_count(const struct config_field *fields);

/** Index of @p key in @p fields, or -1. */
int find_field(const struct config_field *fields, const char *key);

/** true for the rows that only document a key the loader binds by its own code. */
static inline bool
field_is_bound_by_code(const struct config_field *field)
{
	return field->type == CONFIG_NAMES || field->type == CONFIG_STRING_LIST ||
	       field->type == CONFIG_PATH_LIST;
}

/** Parse every default_value; a failure is a bug in a key table, reported like a config error. */
void apply_defaults(struct loader *loader, struct config_position owner,
		    const struct config_field *fields, void *params);

/** Bind every key of @p mapping: special keys, then table rows; others are errors. */
void bind_mapping(struct file_context *file, const yaml_node_t *mapping,
		  const struct binding *binding);

/** An error at @p owner for each required field that was not written. */
void require_fields(struct loader *loader, struct config_position owner,
		    const struct binding *binding);

/** Run @p check (NULL: none) on the bound params, errors pointing at their keys. */
void run_check(struct loader *loader, struct config_position owner, const struct binding *binding,
	       void (*check)(const void *params, struct config_check_context *context));

/** The special key `version` of both file kinds; @p target is a struct top_level. */
void bind_version(struct file_context *file, yaml_node_t *value, void *target);

/* ---- config_settings.c ---- */

/** Defaults, then the settings file at @p path (NULL: defaults only) into loader->config. */
void load_settings(struct loader *loader, const char *path);

/**
 * Load the plugins the settings list into config->plugins; each refusal is an
 * error at the entry that named the file. The default directory may be
 * absent (nothing installed a plugin); a path that was written may not.
 */
void load_plugins(struct loader *loader);

/* ---- config_pipeline.c ---- */

/** The pipeline file at @p path: its kernels appended to loader->config. */
void load_pipeline(struct loader *loader, const char *path);

/* ---- config_graph.c ---- */

/** Inputs, stream types, cycles and a source, across every pipeline file. */
void validate_graph(struct loader *loader);

#endif
