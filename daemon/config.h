/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * YAML configuration: the daemon settings file and pipeline files.
 *
 * Both are read with libyaml into plain structs. Keys are bound to struct
 * fields by tables (struct config_field), Fluent Bit style: the same table
 * drives parsing, defaults, validation and the key reference in the README,
 * so no kernel writes YAML handling of its own.
 *
 * Every error carries the file, line and column (1-based) of the offending
 * node and prints as `file:line:col: error: message`.
 */
#ifndef JETSTREAM_CONFIG_H
#define JETSTREAM_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config_map.h"

struct kernel_ops;
struct plugin_set;

/** Exit code for an invalid configuration (sysexits.h EX_CONFIG). */
#define EXIT_CONFIG_ERROR 78

#define CONFIG_NAME_MAX 64       /**< instance names, including the NUL */
#define CONFIG_MAX_INPUTS 16     /**< inputs of one kernel */
#define CONFIG_MAX_CORES 64      /**< entries in `cores:` */
#define CONFIG_MAX_KERNELS 256   /**< kernel instances in all pipeline files */
#define CONFIG_MAX_PIPELINES 16  /**< pipeline files */
#define CONFIG_MAX_EAL_ARGS 32   /**< entries of `eal_args:` */
#define CONFIG_MAX_PLUGINS 32    /**< entries of `plugins:` */
#define CONFIG_MAX_ERRORS 32     /**< errors collected before giving up */
#define CONFIG_MAX_SETTINGS 16   /**< entries of daemon_settings_fields */

/*
 * Bounds of one configuration file. No valid file comes near them; they keep
 * the time and memory of a parse small whatever the file holds (measured: a
 * 50 MB list took 2.6 GB, 80,000 nested brackets 18 s, before they existed).
 */
#define CONFIG_MAX_FILE_SIZE (16u << 20) /**< bytes of one file */
#define CONFIG_MAX_DEPTH 64              /**< lists and mappings nested in each other */
#define CONFIG_MAX_NODES 100000          /**< values, lists, mappings and aliases */
#define CONFIG_MAX_MAPPING_KEYS 512      /**< keys of one mapping */
#define CONFIG_MAX_ANCHORS 256           /**< `&name` anchors */
#define CONFIG_MAX_KEY_LENGTH 1024       /**< libyaml's limit for a key written without '?' */

/** A position in a configuration file. */
struct config_position {
	const char *file; /**< owned by struct config_errors / the spec; not freed by users */
	unsigned line;    /**< 1-based */
	unsigned column;  /**< 1-based */
};

/**
 * Errors collected while loading; printed by config_errors_print().
 *
 * Errors outlive the config they came from (config_load() frees it on
 * failure), so config_error() keeps its own copy of each file name in
 * file_names and points items[].position.file there. Do not copy the struct
 * by value: the positions point into it.
 */
struct config_errors {
	unsigned count;
	unsigned dropped; /**< errors beyond CONFIG_MAX_ERRORS */
	struct {
		struct config_position position; /**< line 0: about the whole file */
		char message[256];
	} items[CONFIG_MAX_ERRORS];
	size_t file_names_used;
	char file_names[8192];            /**< NUL-separated copies of position files */
};

/** Record an error at @p position (printf-style message). */
void config_error(struct config_errors *errors, struct config_position position,
		  const char *format, ...) __attribute__((format(printf, 3, 4)));

/**
 * Print every error as `file:line:col: error: message`, one per line
 * (`file: error: message` for errors about a whole file, line 0).
 */
void config_errors_print(const struct config_errors *errors, FILE *stream);

/**
 * Error @p index as one line without its newline, the same text
 * config_errors_print() prints (for systemd's STATUS=, for instance).
 * @return the length of the whole line, as snprintf().
 */
int config_error_format(const struct config_errors *errors, unsigned index, char *buffer,
			size_t size);

/** One kernel instance as written in a pipeline file. */
struct kernel_spec {
	char name[CONFIG_NAME_MAX];
	const struct kernel_ops *ops;
	struct config_position position; /**< of the instance name */
	unsigned input_count;
	char inputs[CONFIG_MAX_INPUTS][CONFIG_NAME_MAX];
	struct config_position input_positions[CONFIG_MAX_INPUTS];
	/**
	 * The key that named input i: NULL for `input:`, else the kernel's own
	 * CONFIG_NAMES row (a history's `trigger:`), whose producers give records.
	 */
	const char *input_keys[CONFIG_MAX_INPUTS];
	unsigned replicas;               /**< >= 1 */
	unsigned core_count;             /**< 0 = placed by the daemon */
	unsigned cores[CONFIG_MAX_CORES];
	struct config_position cores_position; /**< of the `cores:` value; line 0 = absent */
	void *params;                    /**< ops->params_size bytes, bound by ops->config_map */
	struct config_position *key_positions; /**< per config_map field: its value; line 0 = default */
};

/** Daemon settings (conf/jetstreamd.yaml). */
struct daemon_settings {
	char lcores[256];              /**< EAL lcore list; the first lcore is the control thread */
	uint64_t mempool_size;         /**< mbufs in the packet pool */
	uint64_t memory;               /**< bytes of DPDK memory without hugepages (-m) */
	bool hugepages;
	uint32_t log_level;            /**< index into log level names */
	uint64_t ring_size;            /**< elements per edge ring (power of two) */
	uint32_t idle;                 /**< enum config_idle: what an idle worker does */
	char control_socket[108];      /**< unix socket path (sun_path's size), or "off" */
	char metrics[64];              /**< Prometheus listen address HOST:PORT, or "off" */
	unsigned eal_arg_count;
	char eal_args[CONFIG_MAX_EAL_ARGS][256];
	unsigned pipeline_count;       /**< pipelines listed in the settings file */
	char pipelines[CONFIG_MAX_PIPELINES][PATH_MAX];
	unsigned plugin_count;         /**< plugin directories and .so files, in list order */
	char plugins[CONFIG_MAX_PLUGINS][PATH_MAX];
};

/** The whole configuration: settings plus every kernel of every pipeline file. */
struct config {
	struct daemon_settings settings;
	char settings_file[PATH_MAX];      /**< empty when defaults were used */
	/** Where each daemon_settings_fields value was written; line 0 = default. */
	struct config_position setting_positions[CONFIG_MAX_SETTINGS];
	/** Where each entry of settings.plugins was written; line 0 = the default. */
	struct config_position plugin_positions[CONFIG_MAX_PLUGINS];
	/**
	 * The plugins loaded from settings.plugins; their kernel types are the
	 * ops of specs. Released by config_free(): instances running their code
	 * keep it loaded themselves (plugin_instance_acquire).
	 */
	struct plugin_set *plugins;
	unsigned kernel_count;
	struct kernel_spec kernels[CONFIG_MAX_KERNELS]; /**< in file order */
	unsigned file_count;
	char *files[CONFIG_MAX_PIPELINES + 1];          /**< names used in positions */
};

/**
 * Table of daemon settings keys (also used to print docs). The list keys
 * (`eal_args`, `pipelines`, `plugins`) are bound by the loader's code; their
 * rows say what they are and what a reload needs.
 */
extern const struct config_field daemon_settings_fields[CONFIG_MAX_SETTINGS];

/**
 * The keys every kernel instance has besides its type's config_map (`type`,
 * `input`, `replicas`, `cores`), bound by the loader's code; for the docs.
 */
extern const struct config_field kernel_common_fields[];

/** Names of log levels, index = daemon_settings.log_level. */
extern const char *const config_log_level_names[];

/** What a worker does when a round finds no work (daemon_settings.idle). */
enum config_idle { CONFIG_IDLE_POLL = 0, CONFIG_IDLE_SLEEP = 1 };

/** Names of the idle modes, index = daemon_settings.idle. */
extern const char *const config_idle_names[];

/**
 * Load the settings file (NULL = defaults) and pipeline files.
 *
 * Pipeline files named in @p pipeline_paths replace those listed in the
 * settings file. After every file is parsed, the graph is validated as a whole:
 * unknown inputs, cycles, stream type mismatches, duplicate names, cores that
 * are not worker lcores.
 *
 * @return a config to free with config_free(), or NULL with @p errors filled.
 */
struct config *config_load(const char *settings_path, const char *const *pipeline_paths,
			   unsigned pipeline_count, struct config_errors *errors);

/**
 * config_load(), reading at most @p byte_limit bytes of files in all (0: no
 * limit but each file's CONFIG_MAX_FILE_SIZE). Each file's size is taken
 * before it is read: a file that would pass the limit is an error naming it,
 * and is not read. With a limit, only regular files are read (a pipe or a
 * terminal could block the caller). The errors speak of a check: the control
 * socket's `check` is what calls it.
 */
struct config *config_load_limited(const char *settings_path, const char *const *pipeline_paths,
				   unsigned pipeline_count, size_t byte_limit,
				   struct config_errors *errors);

/** The pipeline files @p config read (its files but the settings file). */
unsigned config_pipeline_file_count(const struct config *config);

/**
 * Split a network address `HOST:PORT`, or `[IPV6]:PORT` (an IPv6 address
 * needs the brackets), into @p host (brackets removed) and @p port: the one
 * reading of the `metrics:` setting and a sink's `collector:`.
 * @return false when it is not of that form or the port is not 1-65535.
 */
bool config_split_host_port(const char *address, char *host, size_t host_size, char *port,
			    size_t port_size);

/**
 * Load the settings file (NULL = defaults) and the plugins it lists, but no
 * pipeline: what --describe needs to list plugin kernel types.
 * @return a config with no kernels, to free with config_free(), or NULL
 *         with @p errors filled.
 */
struct config *config_load_settings(const char *settings_path, struct config_errors *errors);

/** Free a config from config_load(). NULL is accepted. */
void config_free(struct config *config);

/**
 * Where the value of @p key was written, per @p positions (parallel to
 * @p fields), or @p fallback when it was not written.
 */
struct config_position config_key_position(const struct config_field *fields,
					   const struct config_position *positions, const char *key,
					   struct config_position fallback);

/** The kernel named @p name, or NULL. */
const struct kernel_spec *config_find_kernel(const struct config *config, const char *name);

/** Index in config->kernels of the kernel named @p name, or -1. */
int config_kernel_index(const struct config *config, const char *name);

/**
 * Worker lcores (all lcores of the list except the first), in list order.
 * Accepts the EAL --lcores forms `0-3`, `0,2-3`, `0@0,1@0`, `1@(2,3)`.
 * @return number written to @p lcores, -EINVAL when the list is malformed
 *         (or names an lcore twice), -ENOSPC when more than @p max workers.
 */
int config_worker_lcores(const char *lcore_list, unsigned *lcores, unsigned max);

#endif
