/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The key tables a kernel declares (struct config_field), and what its check()
 * may call. This is all of the configuration a kernel sees: the loader binds
 * the YAML of an instance to the kernel's params struct by its table, and the
 * same table drives defaults, validation, reloads and the key reference.
 */
#ifndef JETSTREAM_CONFIG_MAP_H
#define JETSTREAM_CONFIG_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Value types a config_field can bind. */
enum config_type {
	CONFIG_STRING,   /**< char[size], NUL-terminated */
	CONFIG_UNSIGNED, /**< uint64_t, plain integer with optional k/M/G (x1000) suffix */
	CONFIG_SIZE,     /**< uint64_t bytes, k/M/G suffixes are powers of 1024 */
	CONFIG_DURATION, /**< uint64_t nanoseconds: 250us, 100ms, 1s, 5m, 1h, 1d */
	CONFIG_BOOL,     /**< bool: true/false */
	CONFIG_CHOICE,   /**< uint32_t index into choices[] */
	CONFIG_REAL,     /**< double, a decimal number >= 0 such as 0.25 or 1.2 */
	CONFIG_UNSIGNED_LIST, /**< struct config_unsigned_list: one integer or a list of them */
	/**
	 * bool, set when the key's value, a mapping, is written; the mapping's
	 * keys are the fields named `key.subkey` in the same table.
	 */
	CONFIG_MAPPING,
	/**
	 * char[size]: a mapping of any keys to single values, passed through to
	 * a library (librdkafka's properties), stored as `key=value\0` pairs one
	 * after the other and an empty string after the last; the bytes past it
	 * are zero, so a reload compares the whole buffer.
	 */
	CONFIG_PROPERTIES,
	/**
	 * A list of mappings (`groups: [{name: a, ...}, ...]`): at the offset a
	 * uint64_t count, then up to `maximum` entries of `size` bytes each (a
	 * multiple of 8; read them with config_mapping_list_entry()). The keys
	 * of an entry are the fields named `key.subkey` in the same table, with
	 * offsets into the entry, their defaults and `required` applying to each
	 * entry. Entries past the count are zero, so a reload compares the whole
	 * list; the list's own row says what a change needs.
	 */
	CONFIG_MAPPING_LIST,
	/*
	 * The types below only document a key the loader binds by its own code
	 * (the keys every kernel shares, the settings' lists), and
	 * config_parse_value() refuses them. A row may still give the offset and
	 * size of the bytes that hold the value, for a reload to compare.
	 */
	CONFIG_NAMES,       /**< a kernel name, or a list of names */
	/**
	 * a list of text; a kernel row with a size takes one text or a list,
	 * stored in char[size] as NUL-ended texts and an empty one after the
	 * last (read with config_string_list_next())
	 */
	CONFIG_STRING_LIST,
	CONFIG_PATH_LIST,   /**< a list of paths, relative ones to the settings file */
};

/** Bytes a CONFIG_MAPPING_LIST field takes in the params struct: the count and every entry. */
#define CONFIG_MAPPING_LIST_BYTES(maximum, entry_size) (sizeof(uint64_t) + (maximum) * (entry_size))

/**
 * Entry @p index of the CONFIG_MAPPING_LIST value at @p list (the params
 * struct's member), whose entries are @p entry_size bytes each.
 */
static inline const void *
config_mapping_list_entry(const void *list, size_t entry_size, uint64_t index)
{
	return (const char *)list + sizeof(uint64_t) + index * entry_size;
}

/** Entries of the CONFIG_MAPPING_LIST value at @p list. */
static inline uint64_t
config_mapping_list_count(const void *list)
{
	return *(const uint64_t *)list;
}

/** Most entries of a CONFIG_UNSIGNED_LIST. */
#define CONFIG_LIST_MAX 16

/** Value of a CONFIG_UNSIGNED_LIST field; each entry is checked like a CONFIG_UNSIGNED. */
struct config_unsigned_list {
	/** Entries in values[]. */
	uint64_t count; /* 64 bits: no padding; parameters are compared byte for byte on reload */
	uint64_t values[CONFIG_LIST_MAX]; /**< entries past count are zero */
};

/**
 * What a reload must do when a key's value changes (Knot's CONF_IO_FRLD_*).
 * The reload plan reads these from the tables and takes the strongest need
 * among the keys that changed; it never opens a kernel's parameters.
 */
enum config_change {
	/**
	 * A new instance takes the old one's state (kernel_ops.take_state);
	 * a kernel without take_state is replaced. The default.
	 */
	CONFIG_CHANGE_TAKE_STATE = 0,
	/** Applied by the reload itself, no instance touched (daemon settings). */
	CONFIG_CHANGE_LIVE,
	/** The state cannot follow: the old instance drains and retires, a new one starts empty. */
	CONFIG_CHANGE_REPLACE,
	/** Refused by a reload, with the running value: the key changes only at a restart. */
	CONFIG_CHANGE_RESTART,
};

/**
 * One key of a kernel's (or the daemon's) parameters.
 * Tables end with an entry whose key is NULL.
 */
struct config_field {
	const char *key;                /**< as written in the file; `parent.key` inside a mapping */
	enum config_type type;          /**< how the value is written and stored */
	size_t offset;                  /**< offsetof() into the params struct */
	size_t size;                    /**< CONFIG_STRING: buffer size */
	bool required;                  /**< an error when the key is not written */
	const char *default_value;      /**< text parsed like YAML input; NULL = zero */
	const char *const *choices;     /**< CONFIG_CHOICE: NULL-terminated */
	const char *special_word;       /**< a word accepted besides numbers, e.g. "total" */
	uint64_t special_value;         /**< value stored for special_word */
	uint64_t minimum;               /**< numeric types: inclusive bounds (CONFIG_REAL too) */
	uint64_t maximum;               /**< 0 = no upper bound */
	const char *description;        /**< one line, for docs and --help */
	enum config_change change;      /**< what a reload needs when the value changes */
	/**
	 * The value names a device that one instance holds (a port): an
	 * instance holding one is never replaced live, and no other instance
	 * takes the device over before a restart.
	 */
	bool exclusive;
};

/**
 * What a kernel's check() is given to report errors: the positions of its
 * keys, and where its errors go. Opaque; the loader defines it.
 */
struct config_check_context;

/**
 * Lets a kernel's pure check() point an error at one of its keys (printf-style
 * message). The position resolves to the key's value, or to the kernel name
 * when the key is absent or @p key is NULL.
 */
void config_check_error(struct config_check_context *context, const char *key,
			const char *format, ...) __attribute__((format(printf, 3, 4)));

/**
 * Whether @p key was written in the file.
 * @return true when written, false when defaulted or not a key of the table.
 */
bool config_check_key_set(const struct config_check_context *context, const char *key);

/**
 * Parse a value of @p field from text into @p params (at field->offset).
 * @return 0, or -EINVAL with a message in @p message (also for the list types
 *         bound by the loader's code, which take no single value).
 */
int config_parse_value(const struct config_field *field, const char *text, void *params,
		       char *message, size_t message_size);

/**
 * The pair after @p pair in the properties @p properties (NULL: the first).
 * @return a `key=value` string, or NULL after the last.
 */
const char *config_properties_next(const char *properties, const char *pair);

/**
 * The text after @p text in the CONFIG_STRING_LIST value @p texts (NULL: the first).
 * @return a text, or NULL after the last.
 */
const char *config_string_list_next(const char *texts, const char *text);

#endif
