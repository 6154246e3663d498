/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"
#include "describe.h"
#include "kernels/registry.h"
#include "plugin.h"

static const char *const type_names[] = {
	[CONFIG_STRING] = "text", [CONFIG_UNSIGNED] = "count", [CONFIG_SIZE] = "size",
	[CONFIG_DURATION] = "duration", [CONFIG_BOOL] = "true/false", [CONFIG_CHOICE] = "choice",
	[CONFIG_REAL] = "number", [CONFIG_UNSIGNED_LIST] = "count or list", [CONFIG_MAPPING] = "mapping",
	[CONFIG_PROPERTIES] = "mapping of properties", [CONFIG_MAPPING_LIST] = "list of mappings",
	[CONFIG_NAMES] = "name or list", [CONFIG_STRING_LIST] = "list of text",
	[CONFIG_PATH_LIST] = "list of paths",
};

static void
describe_fields(const struct config_field *fields, FILE *stream)
{
	fprintf(stream, "| key | type | default | meaning |\n|---|---|---|---|\n");
	for (const struct config_field *field = fields; field->key != NULL; field++)
		fprintf(stream, "| `%s` | %s | %s | %s |\n", field->key, type_names[field->type],
			field->required ? "required"
					: (field->default_value != NULL ? field->default_value : "-"),
			field->description);
}

static void
describe_kernel(const struct kernel_ops *ops, FILE *stream)
{
	fprintf(stream, "### `%s`\n\n%s. Input: %s. Output: %s.%s%s\n\n", ops->name,
		ops->description, stream_type_name(ops->input_type),
		stream_type_name(ops->output_type),
		ops->multiple_inputs ? " `input:` may be a list." : "",
		ops->replicable ? " Takes `replicas:`." : "");
	if (ops->config_map == NULL || ops->config_map[0].key == NULL)
		fprintf(stream, "No parameters.\n");
	else
		describe_fields(ops->config_map, stream);
	fputc('\n', stream);
}

void
describe_configuration(FILE *stream)
{
	fprintf(stream, "Keys every kernel shares:\n\n");
	describe_fields(kernel_common_fields, stream);
	fputc('\n', stream);
	for (const struct kernel_ops *const *ops = kernel_registry; *ops != NULL; ops++)
		describe_kernel(*ops, stream);
	fprintf(stream, "### Daemon settings (`-c CONF`)\n\n");
	describe_fields(daemon_settings_fields, stream);
}

void
describe_plugins(const struct plugin_set *plugins, FILE *stream)
{
	unsigned count = plugin_set_kernel_count(plugins);

	if (count == 0)
		return;
	fprintf(stream, "\n## Plugin kernels\n\n");
	for (unsigned i = 0; i < count; i++)
		describe_kernel(plugin_set_kernel(plugins, i), stream);
}
