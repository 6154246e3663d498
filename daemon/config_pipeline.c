/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pipeline files: their top level, and each kernel instance in them with the
 * keys every kernel shares (`type`, `input`, `replicas`, `cores`) besides its
 * type's own table.
 */
#include <stdlib.h>
#include <string.h>

#include "config_private.h"
#include "plugin.h"
#include "kernel.h"
#include "kernels/registry.h"

/* ---- kernel instances ---- */

const struct config_field kernel_common_fields[] = {
	{.key = "type", .type = CONFIG_STRING, .required = true, .description = "the kernel type"},
	{.key = "input", .type = CONFIG_NAMES,
	 .description = "the kernel(s) it reads from: a name, or a list where the type allows "
			"(required unless the type has no input)"},
	{.key = "replicas", .type = CONFIG_UNSIGNED, .default_value = "1", .minimum = 1,
	 .maximum = KERNEL_MAX_REPLICAS,
	 .description = "copies that share the work, partitioned by source address (where the "
			"type allows)"},
	{.key = "cores", .type = CONFIG_UNSIGNED_LIST, .maximum = RTE_MAX_LCORE - 1,
	 .description = "worker lcore, or list of lcores, the replicas run on (replica i on entry i "
			"modulo the list); default: spread over the workers. Not for sinks that "
			"write (`format: jsonl`), which run on the sink thread"},
	{.key = NULL},
};

/* What the special keys of one kernel instance bind into. */
struct instance {
	struct kernel_spec *spec;
	bool input_seen;
};

static void
add_input(struct file_context *file, struct kernel_spec *spec, const yaml_node_t *node,
	  const char *key)
{
	const char *name = scalar_text(node);

	if (scalar_is_missing(node)) {
		node_error(file, node, "'%s' is empty: name the kernel it reads",
			   key != NULL ? key : "input");
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
	spec->input_keys[spec->input_count] = key;
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
		add_input(file, instance->spec, value, NULL);
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
				add_input(file, instance->spec, entry, NULL);
		}
	}
}

/*
 * A CONFIG_NAMES row of the kernel's own table (a history's `trigger:`): the
 * kernels named are further inputs, whose records the kernel receives
 * beside its `input:`; config_graph.c checks what they give.
 */
static void
bind_input_names(struct file_context *file, const struct config_field *field,
		 const yaml_node_t *value, void *target)
{
	struct instance *instance = target;

	if (value->type == YAML_SCALAR_NODE) {
		add_input(file, instance->spec, value, field->key);
		return;
	}
	if (value->type != YAML_SEQUENCE_NODE || sequence_length(value) == 0) {
		node_error(file, value, "'%s' takes a kernel name or a list of names, not %s",
			   field->key, value->type == YAML_SEQUENCE_NODE ? "an empty list"
									: node_kind(value));
		return;
	}
	for (yaml_node_item_t *item = value->data.sequence.items.start;
	     item < value->data.sequence.items.top; item++) {
		yaml_node_t *entry = node_at(file, *item);

		if (entry->type != YAML_SCALAR_NODE)
			node_error(file, entry, "'%s' lists kernel names, not %s", field->key,
				   node_kind(entry));
		else
			add_input(file, instance->spec, entry, field->key);
	}
}

static void
bind_replicas(struct file_context *file, yaml_node_t *value, void *target)
{
	const struct config_field *replicas_field =
		&kernel_common_fields[find_field(kernel_common_fields, "replicas")];
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
	} else if (config_parse_value(replicas_field, scalar_text(value), &replicas, message,
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
	ops = plugin_set_find(file->loader->config->plugins, scalar_text(type));
	if (ops != NULL)
		return ops;
	known[0] = '\0';
	for (; kernel_registry[count] != NULL && count < CANDIDATES_MAX; count++)
		names[count] = kernel_registry[count]->name;
	for (unsigned i = 0; i < plugin_set_kernel_count(file->loader->config->plugins) &&
			     count < CANDIDATES_MAX; i++)
		names[count++] = plugin_set_kernel(file->loader->config->plugins, i)->name;
	for (unsigned i = 0; i < count && used < sizeof(known); i++)
		used += (size_t)snprintf(known + used, sizeof(known) - used, "%s%s", i > 0 ? ", " : "",
					 names[i]);
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
		.bind_names = bind_input_names,
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

void
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

/* ---- finding kernels ---- */

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
