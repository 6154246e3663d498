/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Loading of the daemon settings file and pipeline files: the entry points.
 *
 * libyaml gives a tree whose every node carries its position, so each error
 * points at the node that caused it (config_yaml.c). One binder serves
 * kernels, the daemon settings and the top level of a pipeline file
 * (config_bind.c), with values parsed by config_value.c; the settings
 * (config_settings.c) and pipeline files (config_pipeline.c) are bound by it,
 * then the graph is checked as a whole (config_graph.c).
 *
 * Loading never stops at the first error: it collects as many as it can, so
 * that `jetstreamd --check` shows everything wrong with a file in one run.
 */
#include <stdlib.h>
#include <string.h>

#include "config_private.h"
#include "plugin.h"

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
	struct config_position position = config_command_line_position;

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
		config_error(loader->errors, config_command_line_position,
			     "too many pipeline files (at most %d)", CONFIG_MAX_PIPELINES);
		return;
	}
	for (unsigned i = 0; i < count; i++)
		load_pipeline(loader, paths[i]);
}

/* The settings file and its plugins, what every load starts with. @return false: no memory. */
static bool
load_settings_and_plugins(struct loader *loader, const char *settings_path, size_t byte_limit,
			  struct config_errors *errors)
{
	*loader = (struct loader){.errors = errors, .byte_limit = byte_limit};
	memset(errors, 0, sizeof(*errors));
	loader->config = calloc(1, sizeof(*loader->config));
	if (loader->config == NULL) {
		config_error(errors, config_command_line_position, "out of memory");
		return false;
	}
	load_settings(loader, settings_path);
	load_plugins(loader);
	return true;
}

/* The loaded config, or NULL (freed) when any error was found. */
static struct config *
loaded_or_null(struct loader *loader)
{
	if (error_total(loader) > 0) {
		config_free(loader->config);
		return NULL;
	}
	return loader->config;
}

struct config *
config_load(const char *settings_path, const char *const *pipeline_paths,
	    unsigned pipeline_count, struct config_errors *errors)
{
	return config_load_limited(settings_path, pipeline_paths, pipeline_count, 0, errors);
}

struct config *
config_load_limited(const char *settings_path, const char *const *pipeline_paths,
		    unsigned pipeline_count, size_t byte_limit, struct config_errors *errors)
{
	struct loader loader;

	if (!load_settings_and_plugins(&loader, settings_path, byte_limit, errors))
		return NULL;
	remember_workers(&loader);
	load_pipelines(&loader, pipeline_paths, pipeline_count);
	/* With a file or kernel missing, dangling inputs would only repeat earlier errors. */
	if (!loader.graph_incomplete)
		validate_graph(&loader);
	return loaded_or_null(&loader);
}

struct config *
config_load_settings(const char *settings_path, struct config_errors *errors)
{
	struct loader loader;

	if (!load_settings_and_plugins(&loader, settings_path, 0, errors))
		return NULL;
	return loaded_or_null(&loader);
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
	plugin_set_release(config->plugins);
	free(config);
}

unsigned
config_pipeline_file_count(const struct config *config)
{
	unsigned count = 0;

	for (unsigned f = 0; f < config->file_count; f++)
		count += strcmp(config->files[f], config->settings_file) != 0;
	return count;
}
