/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the configuration loader (daemon/config.c), YAML text in,
 * a configuration or errors out.
 *
 * An input is a pipeline file loaded with the default settings, as
 * `jetstreamd -p FILE --check` does. An input whose first line is
 * `# settings` is a daemon settings file instead, loaded with a fixed valid
 * pipeline. config_load() takes paths, so the text goes into a memfd and the
 * loader opens it as /proc/self/fd/N.
 *
 * Invariants:
 *  - errors: every printed line has the form `file:line:col: error: message`
 *    (line and column within the input) or `file: error: message`, with a
 *    file the loader was given, and a non-empty message;
 *  - success: a spec that passes its own checks: known types, unique valid
 *    names, inputs that exist and carry what their consumer takes, a source,
 *    replicas and cores in range, every parameter within its field's bounds,
 *    positions inside the file;
 *  - the same text loads to the same parameters byte for byte (a reload
 *    compares parameters with memcmp to decide what is kept).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_common.h>

#include "config.h"
#include "config_compare.h"
#include "fuzz.h"
#include "kernel.h"
#include "kernels/registry.h"

#define SETTINGS_MARKER "# settings\n"

/* The pipeline a settings input is loaded with: valid whatever the settings. */
static const char fixed_pipeline[] = "version: 1\n"
				     "kernels:\n"
				     "  rx:\n"
				     "    type: source\n"
				     "    synthetic: {packets: 10}\n"
				     "  out:\n"
				     "    type: sink\n"
				     "    format: null\n"
				     "    input: rx\n";

struct memory_file {
	int descriptor;
	char path[64];
};

static struct memory_file pipeline_file, settings_file, fixed_pipeline_file;

static void
memory_file_open(struct memory_file *file, const char *name)
{
	file->descriptor = memfd_create(name, MFD_CLOEXEC);
	FUZZ_CHECK(file->descriptor >= 0, "memfd_create: %s", strerror(errno));
	snprintf(file->path, sizeof(file->path), "/proc/self/fd/%d", file->descriptor);
}

static void
memory_file_write(struct memory_file *file, const uint8_t *data, size_t size)
{
	FUZZ_CHECK(ftruncate(file->descriptor, 0) == 0, "ftruncate: %s", strerror(errno));
	FUZZ_CHECK(size == 0 || pwrite(file->descriptor, data, size, 0) == (ssize_t)size,
		   "pwrite: %s", strerror(errno));
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memory_file_open(&pipeline_file, "pipeline.yaml");
	memory_file_open(&settings_file, "jetstreamd.yaml");
	memory_file_open(&fixed_pipeline_file, "fixed.yaml");
	memory_file_write(&fixed_pipeline_file, (const uint8_t *)fixed_pipeline,
			  sizeof(fixed_pipeline) - 1);
	return 0;
}

/* What one input is loaded as. */
struct fuzz_input {
	const char *text_path;       /* the file holding the input */
	const char *settings_path;   /* NULL: default settings */
	const char *pipeline_path;
	unsigned text_lines;         /* lines of the input: a bound for error positions */
};

static unsigned
line_count(const uint8_t *data, size_t size)
{
	unsigned lines = 1;

	/* every break libyaml counts: LF, CR, NEL (C2 85), LS and PS (E2 80 A8/A9) */
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n' || data[i] == '\r' ||
			 (data[i] == 0xc2 && i + 1 < size && data[i + 1] == 0x85) ||
			 (data[i] == 0xe2 && i + 2 < size && data[i + 1] == 0x80 &&
			  (data[i + 2] == 0xa8 || data[i + 2] == 0xa9));
	return lines;
}

static bool
is_known_file(const struct fuzz_input *input, const char *file)
{
	return strcmp(file, input->pipeline_path) == 0 || strcmp(file, "jetstreamd") == 0 ||
	       (input->settings_path != NULL && strcmp(file, input->settings_path) == 0);
}

/* `file:line:col: error: message` or `file: error: message`. */
static void
check_error_line(const struct fuzz_input *input, char *line)
{
	char *separator = strstr(line, ": error: ");
	unsigned position_line, column;
	char *colon;

	FUZZ_CHECK(separator != NULL, "error line without ': error: ': '%s'", line);
	FUZZ_CHECK(separator[9] != '\0', "error line with an empty message: '%s'", line);
	*separator = '\0';
	colon = strchr(line, ':');
	if (colon != NULL) {
		char tail;

		*colon = '\0';
		FUZZ_CHECK(sscanf(colon + 1, "%u:%u%c", &position_line, &column, &tail) == 2,
			   "error position '%s' is not line:col", colon + 1);
		FUZZ_CHECK(position_line >= 1 && column >= 1, "error at %u:%u (1-based)",
			   position_line, column);
		FUZZ_CHECK(strcmp(line, input->text_path) != 0 ||
				   position_line <= input->text_lines + 1,
			   "error at line %u of a %u-line input", position_line, input->text_lines);
	}
	FUZZ_CHECK(is_known_file(input, line), "error names the file '%s'", line);
}

/*
 * With FUZZ_CONFIG_KNOWN_NEWLINES set, a newline inside a message (the
 * loader quotes YAML values verbatim, tests/fuzz/findings/config/) is printed
 * as a space, so that a campaign can look for other defects meanwhile.
 */
static void
print_errors(struct config_errors *errors, FILE *stream)
{
	if (getenv("FUZZ_CONFIG_KNOWN_NEWLINES") != NULL)
		for (unsigned i = 0; i < errors->count; i++)
			for (char *c = errors->items[i].message; *c != '\0'; c++)
				if (*c == '\n')
					*c = ' ';
	config_errors_print(errors, stream);
}

static void
check_errors(const struct fuzz_input *input, struct config_errors *errors)
{
	char *text = NULL;
	size_t size = 0;
	FILE *stream = open_memstream(&text, &size);
	unsigned lines = 0;

	FUZZ_CHECK(stream != NULL, "open_memstream: %s", strerror(errno));
	FUZZ_CHECK(errors->count > 0, "config_load() failed without an error");
	print_errors(errors, stream);
	fclose(stream);
	FUZZ_CHECK(size > 0 && text[size - 1] == '\n', "errors do not end with a newline");
	for (char *line = text, *end; *line != '\0'; line = end + 1) {
		end = strchr(line, '\n');
		*end = '\0';
		check_error_line(input, line);
		lines++;
	}
	FUZZ_CHECK(lines == errors->count + (errors->dropped > 0),
		   "%u error lines for %u errors (%u dropped): a message holds a newline", lines,
		   errors->count, errors->dropped);
	free(text);
}

static unsigned
choice_count(const char *const *choices)
{
	unsigned count = 0;

	while (choices[count] != NULL)
		count++;
	return count;
}

static bool
number_in_range(const struct config_field *field, uint64_t value)
{
	if (field->special_word != NULL && value == field->special_value)
		return true;
	return value >= field->minimum && (field->maximum == 0 || value <= field->maximum);
}

/* One bound field, as config_parse_value() may have stored it. */
static void
check_field(const struct config_field *field, const void *params)
{
	const char *value = (const char *)params + field->offset;

	switch (field->type) {
	case CONFIG_STRING:
		FUZZ_CHECK(memchr(value, '\0', field->size) != NULL, "'%s' is not NUL-terminated",
			   field->key);
		break;
	case CONFIG_UNSIGNED:
	case CONFIG_SIZE:
	case CONFIG_DURATION: {
		uint64_t number;

		memcpy(&number, value, sizeof(number));
		FUZZ_CHECK(number_in_range(field, number), "'%s' = %lu is out of its bounds",
			   field->key, (unsigned long)number);
		break;
	}
	case CONFIG_PROPERTIES:
		FUZZ_CHECK(((const char *)value)[field->size - 1] == '\0',
			   "'%s' does not end in NUL", field->key);
		break;
	case CONFIG_BOOL:
	case CONFIG_MAPPING:
		FUZZ_CHECK(*(const uint8_t *)value <= 1, "'%s' is not a bool", field->key);
		break;
	case CONFIG_CHOICE: {
		uint32_t index;

		memcpy(&index, value, sizeof(index));
		FUZZ_CHECK(index < choice_count(field->choices), "'%s' choice %u of %u", field->key,
			   index, choice_count(field->choices));
		break;
	}
	case CONFIG_REAL: {
		double number;

		memcpy(&number, value, sizeof(number));
		FUZZ_CHECK(number >= (double)field->minimum &&
				   (field->maximum == 0 || number <= (double)field->maximum),
			   "'%s' = %g is out of its bounds", field->key, number);
		break;
	}
	case CONFIG_UNSIGNED_LIST: {
		struct config_unsigned_list list;

		memcpy(&list, value, sizeof(list));
		FUZZ_CHECK(list.count <= CONFIG_LIST_MAX, "'%s' has %lu entries", field->key,
			   (unsigned long)list.count);
		for (uint64_t i = 0; i < list.count; i++)
			FUZZ_CHECK(number_in_range(field, list.values[i]),
				   "'%s' entry %lu = %lu is out of its bounds", field->key,
				   (unsigned long)i, (unsigned long)list.values[i]);
		break;
	}
	case CONFIG_MAPPING_LIST: /* the entries: check_fields() */
	case CONFIG_NAMES:
	case CONFIG_STRING_LIST:
	case CONFIG_PATH_LIST:
		break; /* rows of keys bound by code: no value at the row's offset */
	}
}

/* Each entry of the CONFIG_MAPPING_LIST @p list's value: its count, and its keys' values. */
static void
check_entries(const struct config_field *fields, const struct config_field *list,
	      const void *params)
{
	const char *value = (const char *)params + list->offset;
	uint64_t count = config_mapping_list_count(value);

	FUZZ_CHECK(count <= list->maximum, "'%s' has %lu entries, at most %lu", list->key,
		   (unsigned long)count, (unsigned long)list->maximum);
	for (uint64_t e = 0; e < count && e < list->maximum; e++)
		for (unsigned i = 0; fields[i].key != NULL; i++)
			if (config_field_list_parent(fields, &fields[i]) == list)
				check_field(&fields[i],
					    config_mapping_list_entry(value, list->size, e));
}

static void
check_position(const struct fuzz_input *input, struct config_position position, const char *what)
{
	if (position.line == 0)
		return; /* defaulted */
	FUZZ_CHECK(position.file != NULL && is_known_file(input, position.file),
		   "%s points at file '%s'", what, position.file ? position.file : "(null)");
	FUZZ_CHECK(position.column >= 1, "%s at column 0", what);
	FUZZ_CHECK(strcmp(position.file, input->text_path) != 0 ||
			   position.line <= input->text_lines + 1,
		   "%s at line %u of a %u-line input", what, position.line, input->text_lines);
}

static void
check_fields(const struct fuzz_input *input, const struct config_field *fields, const void *params,
	     const struct config_position *positions)
{
	for (unsigned i = 0; fields != NULL && fields[i].key != NULL; i++) {
		if (fields[i].type == CONFIG_MAPPING_LIST)
			check_entries(fields, &fields[i], params);
		else if (config_field_list_parent(fields, &fields[i]) == NULL)
			check_field(&fields[i], params); /* an entry's key is checked per entry */
		if (positions != NULL)
			check_position(input, positions[i], fields[i].key);
	}
}

/* Restated on purpose, not called: an oracle that calls the loader's own rule cannot catch it. */
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
check_inputs(const struct config *config, const struct kernel_spec *spec)
{
	enum stream_type input_type = kernel_input_type(spec->ops, spec->params);

	FUZZ_CHECK((spec->ops->input_type == STREAM_NONE) == (spec->input_count == 0),
		   "kernel '%s' of type '%s' has %u inputs", spec->name, spec->ops->name,
		   spec->input_count);
	FUZZ_CHECK(spec->input_count <= 1 || spec->ops->multiple_inputs,
		   "kernel '%s' has %u inputs, its type takes one", spec->name, spec->input_count);
	for (unsigned i = 0; i < spec->input_count && i < CONFIG_MAX_INPUTS; i++) {
		const struct kernel_spec *producer = config_find_kernel(config, spec->inputs[i]);

		FUZZ_CHECK(producer != NULL, "kernel '%s' reads the unknown '%s'", spec->name,
			   spec->inputs[i]);
		FUZZ_CHECK(producer != spec, "kernel '%s' reads itself", spec->name);
		FUZZ_CHECK(accepts(input_type, producer->ops->output_type),
			   "kernel '%s' takes what '%s' does not produce", spec->name, producer->name);
	}
}

static void
check_cores(const struct config *config, const struct kernel_spec *spec)
{
	unsigned workers[RTE_MAX_LCORE];
	int worker_count = config_worker_lcores(config->settings.lcores, workers, RTE_MAX_LCORE);

	FUZZ_CHECK(spec->core_count <= CONFIG_MAX_CORES, "kernel '%s' has %u cores", spec->name,
		   spec->core_count);
	for (unsigned c = 0; c < spec->core_count; c++) {
		bool found = false;

		for (int w = 0; w < worker_count; w++)
			found = found || workers[w] == spec->cores[c];
		FUZZ_CHECK(found, "kernel '%s' runs on lcore %u, not a worker", spec->name,
			   spec->cores[c]);
	}
	FUZZ_CHECK(spec->core_count == 0 || !kernel_runs_on_sink_thread(spec->ops, spec->params),
		   "kernel '%s' runs on the sink thread and has cores", spec->name);
}

static void
check_kernel(const struct fuzz_input *input, const struct config *config, unsigned index)
{
	const struct kernel_spec *spec = &config->kernels[index];

	FUZZ_CHECK(spec->ops != NULL && kernel_find(spec->ops->name) == spec->ops,
		   "kernel %u has no registered type", index);
	FUZZ_CHECK(spec->name[0] != '\0' && memchr(spec->name, '\0', CONFIG_NAME_MAX) != NULL,
		   "kernel %u has no name", index);
	FUZZ_CHECK(config_kernel_index(config, spec->name) == (int)index,
		   "kernel name '%s' is not unique", spec->name);
	for (const char *c = spec->name; *c != '\0'; c++)
		FUZZ_CHECK(isalnum((unsigned char)*c) || strchr("_.-", *c) != NULL,
			   "kernel name '%s' holds %#x", spec->name, (unsigned char)*c);
	FUZZ_CHECK(spec->replicas >= 1 && spec->replicas <= KERNEL_MAX_REPLICAS,
		   "kernel '%s' has %u replicas", spec->name, spec->replicas);
	FUZZ_CHECK(spec->replicas == 1 || spec->ops->replicable ||
			   kernel_properties_of(spec->ops, spec->params).replicas != 0,
		   "kernel '%s' of type '%s' is replicated", spec->name, spec->ops->name);
	FUZZ_CHECK(spec->params != NULL, "kernel '%s' has no parameters", spec->name);
	check_position(input, spec->position, spec->name);
	FUZZ_CHECK(spec->position.line != 0, "kernel '%s' has no position", spec->name);
	check_inputs(config, spec);
	check_cores(config, spec);
	check_fields(input, spec->ops->config_map, spec->params, spec->key_positions);
}

static void
check_config(const struct fuzz_input *input, const struct config *config)
{
	bool has_source = false;

	FUZZ_CHECK(config->kernel_count >= 1 && config->kernel_count <= CONFIG_MAX_KERNELS,
		   "%u kernels", config->kernel_count);
	check_fields(input, daemon_settings_fields, &config->settings, config->setting_positions);
	FUZZ_CHECK(config->settings.ring_size != 0 &&
			   (config->settings.ring_size & (config->settings.ring_size - 1)) == 0,
		   "ring_size %lu is not a power of two",
		   (unsigned long)config->settings.ring_size);
	FUZZ_CHECK(config_worker_lcores(config->settings.lcores, (unsigned[RTE_MAX_LCORE]){0},
					RTE_MAX_LCORE) >= 1,
		   "lcores '%s' give no worker", config->settings.lcores);
	for (unsigned k = 0; k < config->kernel_count; k++) {
		check_kernel(input, config, k);
		has_source = has_source || config->kernels[k].ops->input_type == STREAM_NONE;
	}
	FUZZ_CHECK(has_source, "a configuration without a source");
}

/* A second load of the same text must bind the same bytes. */
static void
check_same_again(const struct fuzz_input *input, const struct config *first)
{
	struct config_errors *errors = malloc(sizeof(*errors));
	struct config *second;

	FUZZ_CHECK(errors != NULL, "out of memory");
	second = config_load(input->settings_path, &input->pipeline_path, 1, errors);
	FUZZ_CHECK(second != NULL, "the same text failed to load the second time");
	FUZZ_CHECK(second->kernel_count == first->kernel_count, "%u kernels, then %u",
		   first->kernel_count, second->kernel_count);
	FUZZ_CHECK(memcmp(&second->settings, &first->settings, sizeof(first->settings)) == 0,
		   "the settings differ between two loads of the same text");
	for (unsigned k = 0; k < first->kernel_count; k++)
		FUZZ_CHECK(memcmp(second->kernels[k].params, first->kernels[k].params,
				  first->kernels[k].ops->params_size) == 0,
			   "parameters of '%s' differ between two loads of the same text",
			   first->kernels[k].name);
	config_free(second);
	free(errors);
}

static struct fuzz_input
prepare_input(const uint8_t *data, size_t size)
{
	struct fuzz_input input = {.text_lines = line_count(data, size)};
	size_t marker_length = sizeof(SETTINGS_MARKER) - 1;

	if (size >= marker_length && memcmp(data, SETTINGS_MARKER, marker_length) == 0) {
		memory_file_write(&settings_file, data, size);
		input.text_path = settings_file.path;
		input.settings_path = settings_file.path;
		input.pipeline_path = fixed_pipeline_file.path;
	} else {
		memory_file_write(&pipeline_file, data, size);
		input.text_path = pipeline_file.path;
		input.pipeline_path = pipeline_file.path;
	}
	return input;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input input = prepare_input(data, size);
	/* 17 KB: on the heap, where ASan watches it */
	struct config_errors *errors = malloc(sizeof(*errors));
	struct config *config;

	FUZZ_CHECK(errors != NULL, "out of memory");
	config = config_load(input.settings_path, &input.pipeline_path, 1, errors);
	if (config == NULL) {
		check_errors(&input, errors);
	} else {
		FUZZ_CHECK(errors->count == 0 && errors->dropped == 0,
			   "a configuration returned with %u errors", errors->count);
		check_config(&input, config);
		check_same_again(&input, config);
		config_free(config);
	}
	free(errors);
	return 0;
}
