/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The graph as a whole, once every pipeline file is bound: inputs that name
 * kernels, stream types that match, no cycle, and a source.
 */
#include <stdio.h>
#include <string.h>

#include "config_private.h"
#include "kernel.h"

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

/* The row of @p spec's table named @p key (a CONFIG_NAMES row that named an input). */
static const struct config_field *
names_row(const struct kernel_spec *spec, const char *key)
{
	for (const struct config_field *field = spec->ops->config_map; field->key != NULL; field++)
		if (field->key == key || strcmp(field->key, key) == 0)
			return field;
	return NULL;
}

/*
 * An input named by a CONFIG_NAMES row (`trigger:`) gives records, of one of
 * the types the row's choices list when it lists any.
 */
static bool
names_row_accepts(const struct config_field *row, enum stream_type output)
{
	if (output == STREAM_NONE || output == STREAM_PACKET)
		return false;
	if (row == NULL || row->choices == NULL)
		return true;
	for (const char *const *choice = row->choices; *choice != NULL; choice++)
		if (strcmp(*choice, stream_type_name(output)) == 0)
			return true;
	return false;
}

static void
check_named_input(struct loader *loader, const struct kernel_spec *spec, unsigned input,
		  const struct kernel_spec *producer)
{
	const struct config_field *row = names_row(spec, spec->input_keys[input]);
	char accepted[96] = "records";
	size_t used = 0;

	if (names_row_accepts(row, producer->ops->output_type))
		return;
	if (row == NULL) /* input_keys come from the rows: never */
		return;
	if (row != NULL && row->choices != NULL)
		for (const char *const *choice = row->choices; *choice != NULL; choice++)
			used += (size_t)snprintf(accepted + used, sizeof(accepted) - used, "%s%s",
						 used > 0 ? " or " : "", *choice);
	config_error(loader->errors, spec->input_positions[input],
		     "'%s' of '%s' names '%s', which gives %s; it takes %s%s", row->key, spec->name,
		     producer->name,
		     producer->ops->output_type == STREAM_NONE
			     ? "nothing"
			     : stream_type_name(producer->ops->output_type),
		     accepted, row->choices != NULL ? " records" : "");
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
	} else if (spec->input_keys[input] != NULL) {
		check_named_input(loader, spec, input, producer);
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

void
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
