/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Config loader tests. Each error test writes a small YAML file into a fresh
 * temporary directory and asserts the exact message and line:column, since
 * operators (and `--check` in CI) rely on both.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "config.h"
#include "kernel.h"
#include "kernels/source.h"
#include "suites.h"
#include "test_directory.h"

#define NS_PER_SECOND 1000000000ull

extern const struct kernel_ops source_kernel;
extern const struct kernel_ops per_src_counter_kernel;
extern const struct kernel_ops threshold_kernel;
extern const struct kernel_ops sink_kernel;

/* Layout of threshold's private params, mirrored to check that binding reached them. */
struct threshold_params_mirror {
	uint32_t metric;
	uint64_t above;
};

static struct config_errors errors; /* static: too large to want on every test's stack */
static struct config *config;

static void
setup(void)
{
	/* the source kernel's check opens the file as the start will: a pcap header, Ethernet */
	static const uint8_t header[24] = {
		0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0, 0, 0, 0,
		0, 0, 0, 0, 0xff, 0xff, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	};
	FILE *file;

	test_directory_create("jetstream_config_");
	file = fopen(test_path("sample.pcap"), "wb");
	ck_assert_ptr_nonnull(file);
	ck_assert_uint_eq(fwrite(header, 1, sizeof(header), file), sizeof(header));
	fclose(file);
	config = NULL;
}

static void
teardown(void)
{
	config_free(config);
	config = NULL;
	test_directory_remove();
}

static struct config *
load_files(const char *settings_path, const char *const *pipelines, unsigned count)
{
	config_free(config);
	config = config_load(settings_path, pipelines, count, &errors);
	return config;
}

/* Loads @p text as p.yaml with default settings. */
static struct config *
load_pipeline(const char *text)
{
	const char *path = test_write_file("p.yaml", text);

	return load_files(NULL, &path, 1);
}

/* Loads @p pipeline as p.yaml with @p settings as s.yaml. */
static struct config *
load_with_settings(const char *settings, const char *pipeline)
{
	const char *settings_path = test_write_file("s.yaml", settings);
	const char *pipeline_path = test_write_file("p.yaml", pipeline);

	return load_files(settings_path, &pipeline_path, 1);
}

/* The errors as config_errors_print() writes them (static: failed asserts do not return). */
static const char *
errors_text(void)
{
	static char text[CONFIG_MAX_ERRORS * 512];
	FILE *stream = fmemopen(text, sizeof(text), "w");

	ck_assert_ptr_nonnull(stream);
	config_errors_print(&errors, stream);
	fclose(stream);
	return text;
}

static bool
ends_with(const char *text, const char *suffix)
{
	size_t text_length = strlen(text), suffix_length = strlen(suffix);

	return text_length >= suffix_length &&
	       strcmp(text + text_length - suffix_length, suffix) == 0;
}

/* There is an error in @p file (base name) at line:column with exactly @p message. */
#define assert_error(file, line, column, message) \
	assert_error_at(__LINE__, file, line, column, message)

static void
assert_error_at(int test_line, const char *file, unsigned line, unsigned column,
		const char *message)
{
	char suffix[PATH_MAX];

	snprintf(suffix, sizeof(suffix), "/%s", file);
	for (unsigned i = 0; i < errors.count; i++) {
		const struct config_position *position = &errors.items[i].position;

		if ((strcmp(position->file, file) == 0 || ends_with(position->file, suffix)) &&
		    position->line == line && position->column == column &&
		    strcmp(errors.items[i].message, message) == 0)
			return;
	}
	ck_abort_msg("line %d: expected %s:%u:%u: error: %s\ngot %u errors:\n%s", test_line, file,
		     line, column, message, errors.count, errors_text());
}

/* Loading failed with exactly @p count errors. */
#define assert_error_count(count) assert_error_count_at(__LINE__, count)

static void
assert_error_count_at(int test_line, unsigned count)
{
	ck_assert_msg(config == NULL, "line %d: the config loaded despite errors", test_line);
	ck_assert_msg(errors.count == count, "line %d: expected %u errors, got %u:\n%s", test_line,
		      count, errors.count, errors_text());
}

#define assert_loaded() assert_loaded_at(__LINE__)

static void
assert_loaded_at(int test_line)
{
	ck_assert_msg(config != NULL, "line %d: load failed:\n%s", test_line, errors_text());
}

/* A valid pipeline: tests append one broken kernel or change one line. */
#define SOURCE_AND_SINK \
	"version: 1\n"                       /* 1 */ \
	"kernels:\n"                         /* 2 */ \
	"  rx:\n"                            /* 3 */ \
	"    type: source\n"                 /* 4 */ \
	"    pcap: @DIR@/sample.pcap\n"      /* 5 */ \
	"  count:\n"                         /* 6 */ \
	"    type: per_src_counter\n"        /* 7 */ \
	"    input: rx\n"                    /* 8 */ \
	"  out:\n"                           /* 9 */ \
	"    type: sink\n"                   /* 10 */ \
	"    input: count\n"                 /* 11 */ \
	"    path: '-'\n"                    /* 12 */

/* ---- valid configurations ---- */

START_TEST(test_design_example)
{
	const struct kernel_spec *rx, *count, *alarm, *out;
	const struct threshold_params_mirror *threshold;
	const struct source_params *source;

	load_pipeline("version: 1\n"
		      "kernels:\n"
		      "  rx:                       # instance name, unique in the file\n"
		      "    type: source\n"
		      "    pcap: @DIR@/sample.pcap\n"
		      "  count:\n"
		      "    type: per_src_counter\n"
		      "    input: rx\n"
		      "    replicas: 2\n"
		      "    window: 1s\n"
		      "  alarm:\n"
		      "    type: threshold\n"
		      "    input: count\n"
		      "    metric: pkts            # pkts | bytes\n"
		      "    above: 10000            # per window\n"
		      "  out:\n"
		      "    type: sink\n"
		      "    input: [count, alarm]\n"
		      "    format: jsonl\n"
		      "    path: @DIR@/out.jsonl\n");
	assert_loaded();
	ck_assert_uint_eq(config->kernel_count, 4);
	ck_assert_uint_eq(config->file_count, 1);
	rx = config_find_kernel(config, "rx");
	count = config_find_kernel(config, "count");
	alarm = config_find_kernel(config, "alarm");
	out = config_find_kernel(config, "out");
	ck_assert_ptr_null(config_find_kernel(config, "nope"));
	ck_assert_ptr_eq(rx->ops, &source_kernel);
	ck_assert_ptr_eq(count->ops, &per_src_counter_kernel);
	ck_assert_ptr_eq(alarm->ops, &threshold_kernel);
	ck_assert_ptr_eq(out->ops, &sink_kernel);
	ck_assert_uint_eq(rx->position.line, 3);
	ck_assert_uint_eq(rx->position.column, 3);
	ck_assert(ends_with(rx->position.file, "/p.yaml"));
	ck_assert_uint_eq(rx->input_count, 0);
	ck_assert_uint_eq(rx->replicas, 1);
	ck_assert_uint_eq(count->replicas, 2);
	ck_assert_uint_eq(count->input_count, 1);
	ck_assert_str_eq(count->inputs[0], "rx");
	ck_assert_uint_eq(out->input_count, 2);
	ck_assert_str_eq(out->inputs[0], "count");
	ck_assert_str_eq(out->inputs[1], "alarm");
	ck_assert_uint_eq(out->input_positions[1].line, 18);
	ck_assert_uint_eq(out->input_positions[1].column, 20);
	source = rx->params;
	ck_assert(ends_with(source->pcap, "/sample.pcap"));
	ck_assert_uint_eq(source->loop, 1);
	threshold = alarm->params;
	ck_assert_uint_eq(threshold->metric, THRESHOLD_METRIC_PACKETS);
	ck_assert_uint_eq(threshold->above, 10000);
}
END_TEST

START_TEST(test_defaults_and_settings)
{
	const struct threshold_params_mirror *threshold;
	unsigned workers[RTE_MAX_LCORE];

	load_pipeline(SOURCE_AND_SINK "  alarm:\n"
				      "    type: threshold\n"
				      "    input: count\n"
				      "    above: 5k\n");
	assert_loaded();
	threshold = config_find_kernel(config, "alarm")->params;
	ck_assert_uint_eq(threshold->metric, THRESHOLD_METRIC_PACKETS); /* default */
	ck_assert_uint_eq(threshold->above, 5000);
	ck_assert_uint_eq(config->settings.mempool_size, 16383);
	ck_assert_uint_eq(config->settings.memory, 512ull << 20);
	ck_assert(!config->settings.hugepages);
	ck_assert_str_eq(config_log_level_names[config->settings.log_level], "info");
	ck_assert_uint_eq(config->settings.ring_size, 1024);
	ck_assert_str_eq(config->settings_file, "");
	/* derived from the CPU affinity, always with at least one worker */
	ck_assert_int_ge(config_worker_lcores(config->settings.lcores, workers, RTE_MAX_LCORE), 1);
}
END_TEST

START_TEST(test_settings_file)
{
	const char *settings = test_write_file("s.yaml", "version: 1\n"
						          "lcores: 0-2\n"
						          "mempool_size: 64k\n"
						          "memory: 1G\n"
						          "hugepages: yes\n"
						          "log_level: debug\n"
						          "ring_size: 4096\n"
						          "eal_args: [--vdev, net_null0]\n"
						          "pipelines: [p.yaml, /absolute/q.yaml]\n");

	test_write_file("p.yaml", SOURCE_AND_SINK);
	load_files(settings, NULL, 0);
	ck_assert_ptr_null(config); /* /absolute/q.yaml does not exist */
	assert_error("q.yaml", 0, 0, "cannot open: No such file or directory");
	assert_error_count(1);

	test_write_file("s.yaml", "lcores: 0-2\n"
			          "mempool_size: 64k\n"
			          "memory: 1G\n"
			          "hugepages: yes\n"
			          "log_level: debug\n"
			          "ring_size: 4096\n"
			          "eal_args: [--vdev, net_null0]\n"
			          "pipelines: [p.yaml]\n");
	load_files(settings, NULL, 0);
	assert_loaded();
	ck_assert_str_eq(config->settings.lcores, "0-2");
	ck_assert_uint_eq(config->settings.mempool_size, 64000);
	ck_assert_uint_eq(config->settings.memory, 1ull << 30);
	ck_assert(config->settings.hugepages);
	ck_assert_str_eq(config_log_level_names[config->settings.log_level], "debug");
	ck_assert_uint_eq(config->settings.ring_size, 4096);
	ck_assert_uint_eq(config->settings.eal_arg_count, 2);
	ck_assert_str_eq(config->settings.eal_args[0], "--vdev");
	ck_assert_str_eq(config->settings.eal_args[1], "net_null0");
	ck_assert_uint_eq(config->settings.pipeline_count, 1);
	ck_assert_str_eq(config->settings.pipelines[0], test_path("p.yaml")); /* next to s.yaml */
	ck_assert_str_eq(config->settings_file, settings);
	ck_assert_uint_eq(config->kernel_count, 3);
}
END_TEST

/* Pipeline files on the command line replace those of the settings file. */
START_TEST(test_command_line_pipelines_replace_settings)
{
	load_with_settings("pipelines: [missing.yaml]\n", SOURCE_AND_SINK);
	assert_loaded();
	ck_assert_uint_eq(config->kernel_count, 3);
}
END_TEST

START_TEST(test_inputs_scalar_and_list)
{
	load_pipeline(SOURCE_AND_SINK "  alarm:\n"
				      "    type: threshold\n"
				      "    input: [count]\n"
				      "    above: 1\n");
	assert_error("p.yaml", 15, 12, "kernel type 'threshold' takes a single input, not a list");
	assert_error_count(1);

	load_pipeline(SOURCE_AND_SINK "  alarm:\n"
				      "    type: threshold\n"
				      "    input: count\n"
				      "    above: 1\n"
				      "  out2:\n"
				      "    type: sink\n"
				      "    input: alarm\n"
				      "    path: '-'\n"
				      "  out3:\n"
				      "    type: sink\n"
				      "    input:\n"
				      "      - count\n"
				      "      - alarm\n"
				      "    path: '-'\n");
	assert_loaded();
	ck_assert_uint_eq(config_find_kernel(config, "out2")->input_count, 1);
	ck_assert_str_eq(config_find_kernel(config, "out2")->inputs[0], "alarm");
	ck_assert_uint_eq(config_find_kernel(config, "out3")->input_count, 2);
	ck_assert_uint_eq(config_find_kernel(config, "out3")->input_positions[1].line, 25);
	ck_assert_uint_eq(config_find_kernel(config, "out3")->input_positions[1].column, 9);
}
END_TEST

START_TEST(test_two_files_share_names)
{
	const char *paths[2];

	paths[0] = test_write_file("a.yaml", "version: 1\n"
					     "kernels:\n"
					     "  rx:\n"
					     "    type: source\n"
					     "    pcap: @DIR@/sample.pcap\n");
	paths[1] = test_write_file("b.yaml", "version: 1\n"
					     "kernels:\n"
					     "  count:\n"
					     "    type: per_src_counter\n"
					     "    input: rx\n"
					     "  out:\n"
					     "    type: sink\n"
					     "    input: count\n"
					     "    path: '-'\n");
	load_files(NULL, paths, 2);
	assert_loaded();
	ck_assert_uint_eq(config->file_count, 2);
	ck_assert(ends_with(config_find_kernel(config, "out")->position.file, "/b.yaml"));
}
END_TEST

START_TEST(test_cores)
{
	const struct kernel_spec *count;

	load_with_settings("lcores: 0-2\n", SOURCE_AND_SINK "  count2:\n"
								 "    type: per_src_counter\n"
								 "    input: rx\n"
								 "    replicas: 2\n"
								 "    cores: [1, 2]\n"
								 "  count3:\n"
								 "    type: per_src_counter\n"
								 "    input: rx\n"
								 "    cores: 2\n");
	assert_loaded();
	count = config_find_kernel(config, "count2");
	ck_assert_uint_eq(count->core_count, 2);
	ck_assert_uint_eq(count->cores[0], 1);
	ck_assert_uint_eq(count->cores[1], 2);
	ck_assert_uint_eq(config_find_kernel(config, "count3")->core_count, 1);
	ck_assert_uint_eq(config_find_kernel(config, "count")->core_count, 0);
}
END_TEST

/* ---- value parsing, through a test-local table ---- */

struct sample_params {
	uint64_t count;
	uint64_t size;
	uint64_t duration;
	uint64_t window;
	bool flag;
	uint32_t choice;
	char text[8];
};

static const char *const sample_choices[] = {"pkts", "bytes", NULL};

static const struct config_field sample_fields[] = {
	{.key = "count", .type = CONFIG_UNSIGNED, .offset = offsetof(struct sample_params, count),
	 .minimum = 1, .maximum = 100000},
	{.key = "size", .type = CONFIG_SIZE, .offset = offsetof(struct sample_params, size),
	 .minimum = 1024},
	{.key = "duration", .type = CONFIG_DURATION,
	 .offset = offsetof(struct sample_params, duration), .minimum = 1000},
	{.key = "window", .type = CONFIG_DURATION, .offset = offsetof(struct sample_params, window),
	 .special_word = "total", .special_value = UINT64_MAX, .minimum = 1000},
	{.key = "flag", .type = CONFIG_BOOL, .offset = offsetof(struct sample_params, flag)},
	{.key = "choice", .type = CONFIG_CHOICE, .offset = offsetof(struct sample_params, choice),
	 .choices = sample_choices},
	{.key = "text", .type = CONFIG_STRING, .offset = offsetof(struct sample_params, text),
	 .size = sizeof(((struct sample_params *)0)->text)},
	{.key = NULL},
};

static const struct config_field *
sample_field(const char *key)
{
	for (const struct config_field *field = sample_fields; field->key != NULL; field++)
		if (strcmp(field->key, key) == 0)
			return field;
	ck_abort_msg("no sample field %s", key);
	return NULL;
}

static uint64_t
parse_number_ok(const char *key, const char *text)
{
	struct sample_params params = {0};
	char message[256] = "";
	const struct config_field *field = sample_field(key);

	ck_assert_msg(config_parse_value(field, text, &params, message, sizeof(message)) == 0,
		      "%s: %s: %s", key, text, message);
	return *(uint64_t *)((char *)&params + field->offset);
}

/* Parsing @p text fails with exactly @p expected. */
static void
assert_parse_error(const char *key, const char *text, const char *expected)
{
	struct sample_params params = {0};
	char message[256] = "";

	ck_assert_int_eq(config_parse_value(sample_field(key), text, &params, message,
					    sizeof(message)),
			 -EINVAL);
	ck_assert_str_eq(message, expected);
}

START_TEST(test_parse_durations)
{
	ck_assert_uint_eq(parse_number_ok("duration", "250us"), 250000);
	ck_assert_uint_eq(parse_number_ok("duration", "100ms"), 100000000);
	ck_assert_uint_eq(parse_number_ok("duration", "1s"), NS_PER_SECOND);
	ck_assert_uint_eq(parse_number_ok("duration", "5m"), 300 * NS_PER_SECOND);
	ck_assert_uint_eq(parse_number_ok("duration", "1h"), 3600 * NS_PER_SECOND);
	ck_assert_uint_eq(parse_number_ok("duration", "1d"), 86400 * NS_PER_SECOND);
	ck_assert_uint_eq(parse_number_ok("duration", "1500ns"), 1500);
	ck_assert_uint_eq(parse_number_ok("window", "total"), UINT64_MAX);
	assert_parse_error("duration", "5", "duration '5' needs a unit (250us, 100ms, 1s, 5m, 1h, 1d)");
	assert_parse_error("duration", "5 parsecs",
			   "invalid value '5 parsecs' for 'duration': expected a duration such as "
			   "250us, 100ms, 1s, 5m, 1h or 1d");
	assert_parse_error("window", "all",
			   "invalid value 'all' for 'window': expected a duration such as 250us, "
			   "100ms, 1s, 5m, 1h or 1d, or 'total'");
	assert_parse_error("duration", "1.5s",
			   "invalid value '1.5s' for 'duration': expected a duration such as 250us, "
			   "100ms, 1s, 5m, 1h or 1d");
	assert_parse_error("duration", "999ns", "value 999ns for 'duration' is below the minimum 1us");
	assert_parse_error("duration", "300000d", "value '300000d' for 'duration' is too large");
}
END_TEST

START_TEST(test_parse_sizes_and_counts)
{
	ck_assert_uint_eq(parse_number_ok("size", "512M"), 512ull << 20);
	ck_assert_uint_eq(parse_number_ok("size", "512MB"), 512ull << 20);
	ck_assert_uint_eq(parse_number_ok("size", "64k"), 64ull << 10);
	ck_assert_uint_eq(parse_number_ok("size", "2G"), 2ull << 30);
	ck_assert_uint_eq(parse_number_ok("size", "4096"), 4096);
	ck_assert_uint_eq(parse_number_ok("count", "12"), 12);
	ck_assert_uint_eq(parse_number_ok("count", "10k"), 10000);
	assert_parse_error("size", "512", "value 512 for 'size' is below the minimum 1k");
	assert_parse_error("size", "5X",
			   "invalid value '5X' for 'size': expected a size such as 4096, 64k or 512M");
	assert_parse_error("count", "0", "value 0 for 'count' is below the minimum 1");
	assert_parse_error("count", "1M", "value 1000000 for 'count' is above the maximum 100000");
	assert_parse_error("count", "-3",
			   "invalid value '-3' for 'count': expected an integer such as 5000 or 256k");
	assert_parse_error("count", "99999999999999999999",
			   "value '99999999999999999999' for 'count' is too large");
	assert_parse_error("count", "20000000000G", "value '20000000000G' for 'count' is too large");
}
END_TEST

START_TEST(test_parse_bool_choice_string)
{
	struct sample_params params = {0};
	char message[256];

	ck_assert_int_eq(config_parse_value(sample_field("flag"), "yes", &params, message,
					    sizeof(message)), 0);
	ck_assert(params.flag);
	ck_assert_int_eq(config_parse_value(sample_field("flag"), "off", &params, message,
					    sizeof(message)), 0);
	ck_assert(!params.flag);
	assert_parse_error("flag", "maybe", "invalid value 'maybe' for 'flag': expected true or false");
	ck_assert_int_eq(config_parse_value(sample_field("choice"), "bytes", &params, message,
					    sizeof(message)), 0);
	ck_assert_uint_eq(params.choice, 1);
	assert_parse_error("choice", "x", "invalid value 'x' for 'choice': expected one of pkts, bytes");
	ck_assert_int_eq(config_parse_value(sample_field("text"), "abcdefg", &params, message,
					    sizeof(message)), 0);
	ck_assert_str_eq(params.text, "abcdefg");
	assert_parse_error("text", "abcdefgh", "value for 'text' is too long (8 bytes, at most 7)");
}
END_TEST

START_TEST(test_worker_lcores)
{
	unsigned workers[8];

	ck_assert_int_eq(config_worker_lcores("0-1", workers, 8), 1);
	ck_assert_uint_eq(workers[0], 1);
	ck_assert_int_eq(config_worker_lcores("0,2-3", workers, 8), 2);
	ck_assert_uint_eq(workers[0], 2);
	ck_assert_uint_eq(workers[1], 3);
	ck_assert_int_eq(config_worker_lcores("0@0,1@0", workers, 8), 1);
	ck_assert_uint_eq(workers[0], 1);
	ck_assert_int_eq(config_worker_lcores("3,1@(2,3),5-6@4", workers, 8), 3);
	ck_assert_uint_eq(workers[0], 1);
	ck_assert_uint_eq(workers[1], 5);
	ck_assert_uint_eq(workers[2], 6);
	ck_assert_int_eq(config_worker_lcores("0", workers, 8), 0);
	ck_assert_int_eq(config_worker_lcores("0-9", workers, 8), -ENOSPC);
	ck_assert_int_eq(config_worker_lcores("", workers, 8), -EINVAL);
	ck_assert_int_eq(config_worker_lcores("0,", workers, 8), -EINVAL);
	ck_assert_int_eq(config_worker_lcores("2-1", workers, 8), -EINVAL);
	ck_assert_int_eq(config_worker_lcores("0,0", workers, 8), -EINVAL);
	ck_assert_int_eq(config_worker_lcores("0@", workers, 8), -EINVAL);
	ck_assert_int_eq(config_worker_lcores("a", workers, 8), -EINVAL);
	ck_assert_int_eq(config_worker_lcores("0,9999", workers, 8), -EINVAL);
}
END_TEST

/* ---- file-level errors ---- */

START_TEST(test_syntax_error)
{
	load_pipeline("version: 1\n"
		      "kernels:\n"
		      "  rx: type: source\n");
	assert_error("p.yaml", 3, 11, "mapping values are not allowed in this context");
	assert_error_count(1);

	load_pipeline("version: 1\n"
		      "kernels:\n"
		      "  rx:\n"
		      "    type: [source\n");
	assert_error("p.yaml", 5, 1,
		     "did not find expected ',' or ']' while parsing a flow sequence started at "
		     "line 4, column 11");
	assert_error_count(1);
}
END_TEST

START_TEST(test_print_format)
{
	char expected[2 * PATH_MAX];
	const char *missing = test_path("missing.yaml");

	load_pipeline("version: 2\n"
		      "kernels:\n"
		      "  rx:\n"
		      "    type: source\n"
		      "    pcap: @DIR@/sample.pcap\n");
	load_files(NULL, &missing, 1);
	assert_error_count(1);
	snprintf(expected, sizeof(expected), "%s: error: cannot open: No such file or directory\n",
		 missing);
	ck_assert_str_eq(errors_text(), expected);

	load_pipeline("version: 2\n"
		      "kernels:\n"
		      "  rx:\n"
		      "    type: source\n"
		      "    pcap: @DIR@/sample.pcap\n");
	snprintf(expected, sizeof(expected),
		 "%s:1:10: error: unsupported version '2': this jetstreamd reads version 1\n",
		 test_path("p.yaml"));
	ck_assert_str_eq(errors_text(), expected);
}
END_TEST

START_TEST(test_errors_outlive_config)
{
	const char *path = test_path("p.yaml");

	load_pipeline("version: 3\n"
		      "kernels:\n"
		      "  rx:\n"
		      "    type: source\n"
		      "    pcap: @DIR@/sample.pcap\n");
	assert_error_count(1);
	/* the config was freed inside config_load(); the file name must be a copy */
	ck_assert_str_eq(errors.items[0].position.file, path);
}
END_TEST

START_TEST(test_no_pipeline)
{
	const char *settings = test_write_file("s.yaml", "log_level: debug\n");

	load_files(NULL, NULL, 0);
	assert_error("jetstreamd", 0, 0,
		     "no pipeline file: give -p PIPELINE.yaml or list them under 'pipelines:' in "
		     "the settings file");
	assert_error_count(1);
	load_files(settings, NULL, 0);
	assert_error("s.yaml", 0, 0,
		     "no pipeline file: give -p PIPELINE.yaml or list them under 'pipelines:' in "
		     "the settings file");
	assert_error_count(1);
}
END_TEST

START_TEST(test_empty_pipelines)
{
	load_pipeline("# nothing yet\n");
	assert_error("p.yaml", 0, 0, "empty pipeline file: expected 'version: 1' and 'kernels:'");
	assert_error_count(1);

	load_pipeline("version: 1\n"
		      "kernels: {}\n");
	assert_error("p.yaml", 2, 10, "'kernels' is empty: a pipeline needs at least one kernel");
	assert_error_count(1);

	load_pipeline("version: 1\n"
		      "kernels:\n");
	assert_error("p.yaml", 2, 9, "'kernels' is empty: a pipeline needs at least one kernel");
	assert_error_count(1);

	load_pipeline("- version: 1\n");
	assert_error("p.yaml", 1, 1,
		     "a pipeline file is a mapping with 'version' and 'kernels', not a list");
	assert_error_count(1);
}
END_TEST

START_TEST(test_unknown_top_level_key)
{
	load_pipeline("version: 1\n"
		      "kernel:\n"
		      "  rx:\n"
		      "    type: source\n");
	assert_error("p.yaml", 2, 1,
		     "unknown key 'kernel' at the top level of a pipeline file (did you mean "
		     "'kernels'?)");
	assert_error("p.yaml", 1, 1, "missing required key 'kernels'");
	assert_error_count(2);

	load_pipeline(SOURCE_AND_SINK "options: 3\n");
	assert_error("p.yaml", 13, 1, "unknown key 'options' at the top level of a pipeline file");
	assert_error_count(1);
}
END_TEST

START_TEST(test_version)
{
	load_pipeline("kernels:\n"
		      "  rx:\n"
		      "    type: source\n"
		      "    pcap: @DIR@/sample.pcap\n");
	assert_error("p.yaml", 1, 1, "missing required key 'version' (this jetstreamd reads version 1)");
	assert_error_count(1);

	load_pipeline("version: 1.0\n"
		      "kernels:\n"
		      "  rx:\n"
		      "    type: source\n"
		      "    pcap: @DIR@/sample.pcap\n");
	assert_error("p.yaml", 1, 10, "unsupported version '1.0': this jetstreamd reads version 1");
	assert_error_count(1);

	load_pipeline("version: 1\n"
		      "version: 1\n"
		      "kernels:\n"
		      "  rx:\n"
		      "    type: source\n"
		      "    pcap: @DIR@/sample.pcap\n");
	assert_error("p.yaml", 2, 1, "duplicate key 'version' (first at line 1, column 1)");
	assert_error_count(1);
}
END_TEST

/* ---- kernel keys ---- */

START_TEST(test_unknown_key)
{
	load_pipeline(SOURCE_AND_SINK "  count2:\n"
				      "    type: per_src_counter\n"
				      "    input: rx\n"
				      "    windw: 1s\n");
	assert_error("p.yaml", 16, 5,
		     "unknown key 'windw' for kernel type 'per_src_counter' (did you mean 'window'?)");
	assert_error_count(1);

	load_pipeline(SOURCE_AND_SINK "  count2:\n"
				      "    type: per_src_counter\n"
				      "    inputs: rx\n"
				      "    colour: blue\n");
	assert_error("p.yaml", 15, 5,
		     "unknown key 'inputs' for kernel type 'per_src_counter' (did you mean 'input'?)");
	assert_error("p.yaml", 16, 5, "unknown key 'colour' for kernel type 'per_src_counter'");
	assert_error("p.yaml", 13, 3, "missing required key 'input' for kernel type 'per_src_counter'");
	assert_error_count(3);
}
END_TEST

START_TEST(test_duplicate_key_in_kernel)
{
	load_pipeline(SOURCE_AND_SINK "  alarm:\n"
				      "    type: threshold\n"
				      "    input: count\n"
				      "    above: 1\n"
				      "    above: 2\n");
	assert_error("p.yaml", 17, 5, "duplicate key 'above' (first at line 16, column 5)");
	assert_error_count(1);
}
END_TEST

START_TEST(test_wrong_types)
{
	load_pipeline(SOURCE_AND_SINK "  alarm:\n"
				      "    type: threshold\n"
				      "    input: count\n"
				      "    above: {a: 1}\n"
				      "  alarm2:\n"
				      "    type: threshold\n"
				      "    input: count\n"
				      "    above: lots\n"
				      "    metric: packets\n"
				      "  count2:\n"
				      "    type: per_src_counter\n"
				      "    input: rx\n"
				      "    window: 5 parsecs\n"
				      "  count3:\n"
				      "    type: per_src_counter\n"
				      "    input: rx\n"
				      "    window: 5\n"
				      "    max_sources:\n");
	assert_error("p.yaml", 16, 12, "'above' takes a single value, not a mapping");
	assert_error("p.yaml", 20, 12,
		     "invalid value 'lots' for 'above': expected an integer such as 5000 or 256k, "
		     "or 'none'");
	assert_error("p.yaml", 21, 13, "invalid value 'packets' for 'metric': expected one of pkts, bytes");
	assert_error("p.yaml", 25, 13,
		     "invalid value '5 parsecs' for 'window': expected a duration such as 250us, "
		     "100ms, 1s, 5m, 1h or 1d, or 'total'");
	assert_error("p.yaml", 29, 13, "duration '5' needs a unit (250us, 100ms, 1s, 5m, 1h, 1d)");
	assert_error("p.yaml", 30, 17, "'max_sources' is empty");
	assert_error_count(6);
}
END_TEST

START_TEST(test_window_total_and_durations_in_yaml)
{
	load_pipeline(SOURCE_AND_SINK "  a:\n"
				      "    type: per_src_counter\n"
				      "    input: rx\n"
				      "    window: total\n"
				      "  b:\n"
				      "    type: per_src_counter\n"
				      "    input: rx\n"
				      "    window: 250us\n"
				      "    max_sources: 1M\n"
				      "  c:\n"
				      "    type: per_src_counter\n"
				      "    input: rx\n"
				      "    window: 500ns\n");
	assert_error("p.yaml", 25, 13, "value 500ns for 'window' is below the minimum 1us");
	assert_error_count(1);
}
END_TEST

START_TEST(test_missing_required_key)
{
	load_pipeline(SOURCE_AND_SINK "  pick:\n"
				      "    type: filter\n"
				      "    input: rx\n");
	assert_error("p.yaml", 13, 3, "missing required key 'expression' for kernel type 'filter'");
	assert_error_count(1);

	/* a threshold needs one of two keys: its check says which */
	load_pipeline(SOURCE_AND_SINK "  alarm:\n"
				      "    type: threshold\n"
				      "    input: count\n");
	assert_error("p.yaml", 13, 3, "give `above:` (one limit for every key) or "
		     "`groups:` (limits per network)");
	assert_error_count(1);

	load_pipeline(SOURCE_AND_SINK "  alarm:\n"
				      "    input: count\n");
	assert_error("p.yaml", 13, 3, "missing required key 'type'");
	assert_error_count(1);
}
END_TEST

START_TEST(test_unknown_kernel_type)
{
	load_pipeline(SOURCE_AND_SINK "  alarm:\n"
				      "    type: treshold\n"
				      "    input: count\n"
				      "  other:\n"
				      "    type: foo\n");
	assert_error("p.yaml", 14, 11, "unknown kernel type 'treshold' (did you mean 'threshold'?)");
	assert_error("p.yaml", 17, 11,
		     "unknown kernel type 'foo' (known types: source, per_src_counter, threshold, flow_tracker, proto_stats, passthrough, filter, history, sink)");
	assert_error_count(2);
}
END_TEST

START_TEST(test_kernel_not_a_mapping)
{
	load_pipeline(SOURCE_AND_SINK "  alarm: threshold\n");
	assert_error("p.yaml", 13, 10,
		     "kernel 'alarm' needs a mapping of keys (type, input, ...), not a single value");
	assert_error_count(1);
}
END_TEST

START_TEST(test_invalid_names)
{
	load_pipeline(SOURCE_AND_SINK "  \"a b\":\n"
				      "    type: sink\n"
				      "    input: count\n"
				      "    path: '-'\n"
				      "  9lives:\n"
				      "    type: sink\n"
				      "    input: count\n"
				      "    path: '-'\n"
				      "  ok_name-2.v1:\n"
				      "    type: sink\n"
				      "    input: count\n"
				      "    path: '-'\n"
				      "  a123456789012345678901234567890123456789012345678901234567890123:\n"
				      "    type: sink\n"
				      "    input: count\n"
				      "    path: '-'\n");
	assert_error("p.yaml", 13, 3,
		     "invalid kernel name 'a b': use letters, digits, '_', '.' and '-', starting with "
		     "a letter or '_' (names are written to JSON without escaping)");
	assert_error("p.yaml", 17, 3,
		     "invalid kernel name '9lives': use letters, digits, '_', '.' and '-', starting "
		     "with a letter or '_' (names are written to JSON without escaping)");
	assert_error("p.yaml", 25, 3,
		     "kernel name 'a123456789012345678901234567890123456789012345678901234567890123' "
		     "is too long (at most 63 characters)");
	assert_error_count(3);
}
END_TEST

START_TEST(test_duplicate_names)
{
	char expected[PATH_MAX + 128];
	const char *paths[2];

	paths[0] = test_write_file("a.yaml", SOURCE_AND_SINK);
	paths[1] = test_write_file("b.yaml", "version: 1\n"
					     "kernels:\n"
					     "  other:\n"
					     "    type: per_src_counter\n"
					     "    input: rx\n"
					     "  count:\n"
					     "    type: per_src_counter\n"
					     "    input: rx\n");
	load_files(NULL, paths, 2);
	snprintf(expected, sizeof(expected), "duplicate kernel name 'count' (first defined at %s:6:3)",
		 paths[0]);
	assert_error("b.yaml", 6, 3, expected);
	assert_error_count(1);

	test_write_file("a.yaml", SOURCE_AND_SINK "  count:\n"
					          "    type: per_src_counter\n"
					          "    input: rx\n");
	load_files(NULL, paths, 1);
	assert_error("a.yaml", 13, 3, expected);
	assert_error_count(1);
}
END_TEST

START_TEST(test_replicas)
{
	load_pipeline(SOURCE_AND_SINK "  out2:\n"
				      "    type: sink\n"
				      "    input: count\n"
				      "    path: '-'\n"
				      "    replicas: 2\n"
				      "  count2:\n"
				      "    type: per_src_counter\n"
				      "    input: rx\n"
				      "    replicas: 0\n"
				      "  rx2:\n"
				      "    type: source\n"
				      "    pcap: @DIR@/sample.pcap\n"
				      "    replicas: 2\n");
	assert_error("p.yaml", 17, 15, "kernel type 'sink' cannot be replicated");
	assert_error("p.yaml", 21, 15, "value 0 for 'replicas' is below the minimum 1");
	assert_error("p.yaml", 25, 15, "kernel type 'source' takes no 'replicas': use `queues:`");
	assert_error_count(3);
}
END_TEST

START_TEST(test_input_rules)
{
	load_pipeline(SOURCE_AND_SINK "  rx2:\n"
				      "    type: source\n"
				      "    pcap: @DIR@/sample.pcap\n"
				      "    input: rx\n"
				      "  out2:\n"
				      "    type: sink\n"
				      "    input: [count, count]\n"
				      "    path: '-'\n"
				      "  out3:\n"
				      "    type: sink\n"
				      "    input: []\n"
				      "    path: '-'\n");
	assert_error("p.yaml", 16, 12, "kernel type 'source' takes no input");
	assert_error("p.yaml", 19, 20, "input 'count' is listed twice");
	assert_error("p.yaml", 23, 12, "'input' is an empty list");
	assert_error_count(3);
}
END_TEST

START_TEST(test_source_pcap_and_port)
{
	load_pipeline("version: 1\n"
		      "kernels:\n"
		      "  rx:\n"
		      "    type: source\n"
		      "    port: net_null0\n"
		      "    pcap: @DIR@/sample.pcap\n");
	assert_error("p.yaml", 5, 11, "a source needs exactly one of `pcap:`, `port:` or `synthetic:`");
	assert_error_count(1);

	load_pipeline("version: 1\n"
		      "kernels:\n"
		      "  rx:\n"
		      "    type: source\n");
	assert_error("p.yaml", 3, 3, "a source needs exactly one of `pcap:`, `port:` or `synthetic:`");
	assert_error_count(1);
}
END_TEST

START_TEST(test_unreadable_pcap)
{
	char expected[PATH_MAX + 64];

	load_pipeline("version: 1\n"
		      "kernels:\n"
		      "  rx:\n"
		      "    type: source\n"
		      "    pcap: @DIR@/absent.pcap\n");
	snprintf(expected, sizeof(expected), "cannot read '%s': No such file or directory",
		 test_path("absent.pcap"));
	assert_error("p.yaml", 5, 11, expected);
	assert_error_count(1);
}
END_TEST

/* ---- the graph ---- */

START_TEST(test_unknown_input)
{
	load_pipeline(SOURCE_AND_SINK "  alarm:\n"
				      "    type: threshold\n"
				      "    input: cnt\n"
				      "    above: 1\n"
				      "  out2:\n"
				      "    type: sink\n"
				      "    input: [alarm, nothing_like_it]\n"
				      "    path: '-'\n");
	assert_error("p.yaml", 15, 12, "unknown input 'cnt' (did you mean 'count'?)");
	assert_error("p.yaml", 19, 20, "unknown input 'nothing_like_it'");
	assert_error_count(2);
}
END_TEST

START_TEST(test_cycles)
{
	load_pipeline(SOURCE_AND_SINK "  a:\n"
				      "    type: threshold\n"
				      "    input: b\n"
				      "    above: 1\n"
				      "  b:\n"
				      "    type: threshold\n"
				      "    input: a\n"
				      "    above: 1\n");
	/* threshold feeding threshold is also a type mismatch, reported separately */
	assert_error("p.yaml", 19, 12, "cycle: a -> b -> a");
	assert_error("p.yaml", 15, 12, "input 'b' of 'a' gives alert records but threshold takes src_count");
	assert_error("p.yaml", 19, 12, "input 'a' of 'b' gives alert records but threshold takes src_count");
	assert_error_count(3);

	load_pipeline(SOURCE_AND_SINK "  self:\n"
				      "    type: sink\n"
				      "    input: [count, self]\n"
				      "    path: '-'\n");
	assert_error("p.yaml", 15, 20, "cycle: self -> self");
	assert_error("p.yaml", 15, 20,
		     "input 'self' of 'self' has no output (kernel type 'sink' produces nothing)");
	assert_error_count(2);
}
END_TEST

START_TEST(test_stream_type_mismatch)
{
	load_pipeline(SOURCE_AND_SINK "  alarm:\n"
				      "    type: threshold\n"
				      "    input: rx\n"
				      "    above: 1\n"
				      "  out2:\n"
				      "    type: sink\n"
				      "    input: rx\n"
				      "    path: '-'\n");
	assert_error("p.yaml", 15, 12, "input 'rx' of 'alarm' gives pkt records but threshold takes src_count");
	assert_error("p.yaml", 19, 12, "input 'rx' of 'out2' gives pkt records but sink takes any record type");
	assert_error_count(2);
}
END_TEST

/* `path` is required by the format that writes, refused by the one that discards. */
START_TEST(test_sink_path_and_format)
{
	load_pipeline(SOURCE_AND_SINK "  out2:\n"
				      "    type: sink\n"
				      "    input: count\n"
				      "  out3:\n"
				      "    type: sink\n"
				      "    input: count\n"
				      "    format: jsonl\n"
				      "  out4:\n"
				      "    type: sink\n"
				      "    input: count\n"
				      "    format: null\n"
				      "    path: '-'\n");
	assert_error("p.yaml", 13, 3, "'path' is required with format jsonl");
	assert_error("p.yaml", 16, 3, "'path' is required with format jsonl");
	assert_error("p.yaml", 24, 11, "'path' does not apply with format null (nothing is written)");
	assert_error_count(3);
}
END_TEST

/* A null sink does no I/O: it runs on a worker, so `cores` applies. */
START_TEST(test_sink_null)
{
	const struct kernel_spec *out2;

	load_with_settings("lcores: 0-2\n", SOURCE_AND_SINK "  out2:\n"
								 "    type: sink\n"
								 "    input: [count, out]\n"
								 "    format: null\n"
								 "    cores: 2\n");
	assert_error("p.yaml", 15, 20,
		     "input 'out' of 'out2' has no output (kernel type 'sink' produces nothing)");
	assert_error_count(1);
	load_with_settings("lcores: 0-2\n", SOURCE_AND_SINK "  out2:\n"
								 "    type: sink\n"
								 "    input: count\n"
								 "    format: null\n"
								 "    cores: 2\n");
	assert_loaded();
	out2 = config_find_kernel(config, "out2");
	ck_assert(!kernel_runs_on_sink_thread(out2->ops, out2->params));
	ck_assert_uint_eq(out2->core_count, 1);
	ck_assert_uint_eq(out2->cores[0], 2);
}
END_TEST

/* A null sink takes packets as well as records; a jsonl sink only records (test_stream_type_mismatch). */
START_TEST(test_sink_null_takes_packets)
{
	load_pipeline(SOURCE_AND_SINK "  pass:\n"
				      "    type: passthrough\n"
				      "    input: rx\n"
				      "  out2:\n"
				      "    type: sink\n"
				      "    input: [rx, pass, count]\n"
				      "    format: null\n");
	assert_loaded();
	ck_assert_uint_eq(config_find_kernel(config, "out2")->input_count, 3);
	load_pipeline(SOURCE_AND_SINK "  out2:\n"
				      "    type: sink\n"
				      "    input: [count, rx]\n"
				      "    format: jsonl\n"
				      "    path: '-'\n");
	assert_error("p.yaml", 15, 20, "input 'rx' of 'out2' gives pkt records but sink takes any record type");
	assert_error_count(1);
}
END_TEST

START_TEST(test_sink_as_input)
{
	load_pipeline(SOURCE_AND_SINK "  out2:\n"
				      "    type: sink\n"
				      "    input: out\n"
				      "    path: '-'\n");
	assert_error("p.yaml", 15, 12,
		     "input 'out' of 'out2' has no output (kernel type 'sink' produces nothing)");
	assert_error_count(1);
}
END_TEST

START_TEST(test_no_source)
{
	load_pipeline("version: 1\n"
		      "kernels:\n"
		      "  out:\n"
		      "    type: sink\n"
		      "    input: out2\n"
		      "    path: '-'\n"
		      "  out2:\n"
		      "    type: per_src_counter\n"
		      "    input: out\n");
	assert_error("p.yaml", 3, 3,
		     "no source: a pipeline needs a kernel that takes no input, such as type 'source'");
	assert_error("p.yaml", 9, 12, "cycle: out -> out2 -> out");
	assert_error("p.yaml", 9, 12,
		     "input 'out' of 'out2' has no output (kernel type 'sink' produces nothing)");
	assert_error_count(3);
}
END_TEST

START_TEST(test_core_not_a_worker)
{
	load_with_settings("lcores: 0-2\n", SOURCE_AND_SINK "  count2:\n"
								 "    type: per_src_counter\n"
								 "    input: rx\n"
								 "    cores: [1, 5]\n"
								 "  count3:\n"
								 "    type: per_src_counter\n"
								 "    input: rx\n"
								 "    cores: 0\n"
								 "  out2:\n"
								 "    type: sink\n"
								 "    input: count\n"
								 "    path: '-'\n"
								 "    cores: 1\n");
	assert_error("p.yaml", 16, 16, "core 5 is not a worker lcore (workers: 1, 2)");
	assert_error("p.yaml", 20, 12, "core 0 is not a worker lcore (workers: 1, 2)");
	assert_error("p.yaml", 25, 12,
		     "kernel 'out2' runs on the sink thread (it does blocking I/O): "
		     "'cores' does not apply");
	assert_error_count(3);
}
END_TEST

/* ---- settings file errors ---- */

START_TEST(test_settings_errors)
{
	load_with_settings("ring_sise: 1024\n"
			   "ring_size: 1000\n"
			   "log_level: loud\n"
			   "memory: 1M\n"
			   "eal_args: --vdev\n"
			   "version: 2\n",
			   SOURCE_AND_SINK);
	assert_error("s.yaml", 1, 1,
		     "unknown key 'ring_sise' in the daemon settings (did you mean 'ring_size'?)");
	assert_error("s.yaml", 2, 12, "ring_size 1000 is not a power of two");
	assert_error("s.yaml", 3, 12,
		     "invalid value 'loud' for 'log_level': expected one of error, warning, info, debug");
	assert_error("s.yaml", 4, 9, "value 1M for 'memory' is below the minimum 64M");
	assert_error("s.yaml", 5, 11, "'eal_args' takes a list, not a single value");
	assert_error("s.yaml", 6, 10, "unsupported version '2': this jetstreamd reads version 1");
	assert_error_count(6);

	load_with_settings("lcores: 0-x\n", SOURCE_AND_SINK);
	assert_error("s.yaml", 1, 9, "invalid lcore list '0-x': expected a list such as 0-3 or 0@0,1@0");
	assert_error_count(1);

	load_with_settings("lcores: \"3\"\n", SOURCE_AND_SINK);
	assert_error("s.yaml", 1, 9,
		     "lcore list '3' has no worker: the first lcore is the control thread, list at "
		     "least one more");
	assert_error_count(1);
}
END_TEST

START_TEST(test_settings_file_missing)
{
	const char *pipeline = test_write_file("p.yaml", SOURCE_AND_SINK);

	load_files(test_path("absent.yaml"), &pipeline, 1);
	assert_error("absent.yaml", 0, 0, "cannot open: No such file or directory");
	assert_error_count(1);
}
END_TEST

/* ---- nested mappings, lists and decimals (the synthetic source) ---- */

#define SYNTHETIC_SOURCE(body) \
	"version: 1\n"                                  /* 1 */ \
	"kernels:\n"                                    /* 2 */ \
	"  rx:\n"                                       /* 3 */ \
	"    type: source\n"                            /* 4 */ \
	body                                            /* 5.. */

START_TEST(test_synthetic_mapping)
{
	const struct synthetic_params *params;

	load_pipeline(SYNTHETIC_SOURCE("    synthetic:\n"
				       "      packets: 5M\n"
				       "      sources: 1000\n"
				       "      flows: 4000\n"
				       "      zipf: 1.25\n"
				       "      size: [64, 512, 1514]\n"
				       "      ipv6_share: 0.1\n"
				       "      rate_pps: 150k\n"
				       "      seed: 7\n"));
	assert_loaded();
	ck_assert(((const struct source_params *)config->kernels[0].params)->synthetic);
	params = &((const struct source_params *)config->kernels[0].params)->synthetic_params;
	ck_assert_uint_eq(params->packets, 5000000);
	ck_assert_uint_eq(params->sources, 1000);
	ck_assert_uint_eq(params->flows, 4000);
	ck_assert_double_eq(params->zipf, 1.25);
	ck_assert_uint_eq(params->sizes.count, 3);
	ck_assert_uint_eq(params->sizes.values[0], 64);
	ck_assert_uint_eq(params->sizes.values[1], 512);
	ck_assert_uint_eq(params->sizes.values[2], 1514);
	ck_assert_double_eq(params->ipv6_share, 0.1);
	ck_assert_uint_eq(params->rate_pps, 150000);
	ck_assert_uint_eq(params->seed, 7);

	/* flow style, one size, the rest defaulted */
	load_pipeline(SYNTHETIC_SOURCE("    synthetic: {packets: 10, size: 128}\n"));
	assert_loaded();
	params = &((const struct source_params *)config->kernels[0].params)->synthetic_params;
	ck_assert_uint_eq(params->packets, 10);
	ck_assert_uint_eq(params->sources, 1024);
	ck_assert_uint_eq(params->flows, 0);
	ck_assert_double_eq(params->zipf, 0);
	ck_assert_uint_eq(params->sizes.count, 1);
	ck_assert_uint_eq(params->sizes.values[0], 128);
	ck_assert_uint_eq(params->seed, 1);

	/* an empty mapping: every default */
	load_pipeline(SYNTHETIC_SOURCE("    synthetic: {}\n"));
	assert_loaded();
	params = &((const struct source_params *)config->kernels[0].params)->synthetic_params;
	ck_assert_uint_eq(params->sizes.count, 1);
	ck_assert_uint_eq(params->sizes.values[0], 64);
}
END_TEST

START_TEST(test_synthetic_errors)
{
	load_pipeline(SYNTHETIC_SOURCE("    synthetic: {pakets: 5, zipf: -1, ipv6_share: 1.5}\n"));
	assert_error("p.yaml", 5, 17,
		     "unknown key 'pakets' in 'synthetic' for kernel type 'source' (did you mean "
		     "'packets'?)");
	assert_error("p.yaml", 5, 34,
		     "invalid value '-1' for 'synthetic.zipf': expected a decimal number such as 0.25");
	assert_error("p.yaml", 5, 50, "value 1.5 for 'synthetic.ipv6_share' is above the maximum 1");
	assert_error_count(3);

	load_pipeline(SYNTHETIC_SOURCE("    synthetic:\n"
				       "      size: [64, 32, x]\n"
				       "      zipf: 1e3\n"
				       "      sources: 0\n"));
	assert_error("p.yaml", 6, 18, "value 32 for 'synthetic.size' is below the minimum 64");
	assert_error("p.yaml", 6, 22,
		     "invalid value 'x' for 'synthetic.size': expected an integer such as 5000 or 256k");
	assert_error("p.yaml", 7, 13,
		     "invalid value '1e3' for 'synthetic.zipf': expected a decimal number such as 0.25");
	assert_error("p.yaml", 8, 16, "value 0 for 'synthetic.sources' is below the minimum 1");
	assert_error_count(4);

	load_pipeline(SYNTHETIC_SOURCE("    synthetic: {size: [], seed: [1]}\n"));
	assert_error("p.yaml", 5, 23, "'synthetic.size' is an empty list");
	assert_error("p.yaml", 5, 33, "'synthetic.seed' takes a single value, not a list");
	assert_error_count(2);

	load_pipeline(SYNTHETIC_SOURCE("    synthetic: 1000\n"));
	assert_error("p.yaml", 5, 16, "'synthetic' takes a mapping of keys, not a single value");
	assert_error_count(1);
	load_pipeline(SYNTHETIC_SOURCE("    synthetic: [1]\n"));
	assert_error("p.yaml", 5, 16, "'synthetic' takes a mapping of keys, not a list");
	assert_error_count(1);

	/* 18 sizes: one error, at the 17th */
	load_pipeline(SYNTHETIC_SOURCE("    synthetic: {size: [64, 64, 64, 64, 64, 64, 64, 64, 64, 64, "
				       "64, 64, 64, 64, 64, 64, 65, 66]}\n"));
	assert_error("p.yaml", 5, 88, "too many values for 'synthetic.size' (at most 16)");
	assert_error_count(1);

	/* a nested key is not a key of its own at the kernel's level */
	load_pipeline(SYNTHETIC_SOURCE("    synthetic.packets: 5\n"));
	assert_error("p.yaml", 5, 5,
		     "unknown key 'synthetic.packets' for kernel type 'source' (write 'packets' "
		     "inside the 'synthetic:' mapping)");
	assert_error_count(1);

	load_pipeline(SYNTHETIC_SOURCE("    synthetic: {sources: 100, flows: 50}\n"));
	assert_error("p.yaml", 5, 38,
		     "'synthetic.flows' (50) must be at least 'synthetic.sources' (100): every "
		     "source sends at least one flow");
	assert_error_count(1);

	load_pipeline(SYNTHETIC_SOURCE("    synthetic: {}\n"
				       "    loop: 2\n"
				       "    pcap: @DIR@/sample.pcap\n"));
	assert_error("p.yaml", 5, 16, "a source needs exactly one of `pcap:`, `port:` or `synthetic:`");
	assert_error_count(1);

	load_pipeline(SYNTHETIC_SOURCE("    synthetic: {}\n"
				       "    loop: 2\n"
				       "    queues: 2\n"));
	assert_error("p.yaml", 6, 11, "`loop:` applies to `pcap:` sources only");
	assert_error("p.yaml", 7, 13, "`queues:` applies to `port:` sources only");
	assert_error_count(2);
}
END_TEST

START_TEST(test_parse_real_and_list)
{
	struct real_and_list {
		double share;
		struct config_unsigned_list sizes;
	} params = {0};
	const struct config_field real = {.key = "share", .type = CONFIG_REAL, .maximum = 1,
					  .offset = offsetof(struct real_and_list, share)};
	const struct config_field sizes = {.key = "size", .type = CONFIG_UNSIGNED_LIST,
					   .minimum = 64, .maximum = 2048,
					   .offset = offsetof(struct real_and_list, sizes)};
	char message[256];

	ck_assert_int_eq(config_parse_value(&real, "0.5", &params, message, sizeof(message)), 0);
	ck_assert_double_eq(params.share, 0.5);
	ck_assert_int_eq(config_parse_value(&real, "1", &params, message, sizeof(message)), 0);
	ck_assert_double_eq(params.share, 1.0);
	ck_assert_int_eq(config_parse_value(&real, ".25", &params, message, sizeof(message)), 0);
	ck_assert_double_eq(params.share, 0.25);
	for (const char *const *bad = (const char *const[]){"", ".", "1.2.3", "+1", "0x1", "nan",
							      "inf", "1e-3", " 1", NULL};
	     *bad != NULL; bad++) {
		ck_assert_int_eq(config_parse_value(&real, *bad, &params, message, sizeof(message)),
				 -EINVAL);
		ck_assert_msg(strstr(message, "expected a decimal number") != NULL, "%s: %s", *bad,
			      message);
	}
	ck_assert_int_eq(config_parse_value(&real, "1.01", &params, message, sizeof(message)),
			 -EINVAL);
	ck_assert_str_eq(message, "value 1.01 for 'share' is above the maximum 1");

	ck_assert_int_eq(config_parse_value(&sizes, "1k", &params, message, sizeof(message)), 0);
	ck_assert_uint_eq(params.sizes.count, 1);
	ck_assert_uint_eq(params.sizes.values[0], 1000);
	ck_assert_int_eq(config_parse_value(&sizes, "4096", &params, message, sizeof(message)),
			 -EINVAL);
	ck_assert_str_eq(message, "value 4096 for 'size' is above the maximum 2048");
}
END_TEST

/* A valid pipeline after @p prefix (a BOM, a comment, ...). */
#define COUNTER_PIPELINE(prefix) \
	prefix "version: 1\n"                           /* 1 */ \
	"kernels:\n"                                    /* 2 */ \
	"  rx:\n"                                       /* 3 */ \
	"    type: source\n"                            /* 4 */ \
	"    synthetic: {packets: 10}\n"                /* 5 */ \
	"  count:\n"                                    /* 6 */ \
	"    type: per_src_counter\n"                   /* 7 */ \
	"    input: rx\n"                               /* 8 */

START_TEST(test_one_document)
{
	ck_assert_ptr_nonnull(load_pipeline(COUNTER_PIPELINE("---\n") "...\n"));
	load_pipeline(COUNTER_PIPELINE("") "---\nversion: 2\n");
	assert_error("p.yaml", 9, 1, "a pipeline file holds one YAML document; a second begins here");
	assert_error_count(1);
	load_pipeline(COUNTER_PIPELINE("") "...\nversion: 2\n");
	assert_error("p.yaml", 10, 1, "a pipeline file holds one YAML document; a second begins here");
	assert_error_count(1);
	load_with_settings("log_level: info\n---\n", COUNTER_PIPELINE(""));
	assert_error("s.yaml", 2, 1, "a settings file holds one YAML document; a second begins here");
	assert_error_count(1);
}
END_TEST

START_TEST(test_bounds)
{
	static char text[CONFIG_MAX_DEPTH * 2 + 4096];
	char *cursor = text + sprintf(text, COUNTER_PIPELINE("") "    max_sources: ");
	const char *path;
	FILE *file;

	for (unsigned i = 0; i <= CONFIG_MAX_DEPTH; i++)
		*cursor++ = '[';
	strcpy(cursor, "\n");
	load_pipeline(text);
	/* levels: the file, kernels, count, then brackets from column 18: the 62nd is the 65th level */
	assert_error("p.yaml", 9, 18 + CONFIG_MAX_DEPTH - 3,
		     "lists and mappings nested more than 64 deep: the limit of a configuration file");
	assert_error_count(1);

	path = test_path("big.yaml");
	file = fopen(path, "w");
	ck_assert_ptr_nonnull(file);
	ck_assert_int_eq(ftruncate(fileno(file), CONFIG_MAX_FILE_SIZE + 1), 0);
	fclose(file);
	load_files(NULL, &path, 1);
	assert_error_count(1);
	ck_assert_uint_eq(errors.items[0].position.line, 0);
	ck_assert_str_eq(errors.items[0].message,
			 "the file is 16777217 bytes, more than the 16 MB a configuration file may have");
	snprintf(text, sizeof(text), "%s: error: the file is 16777217 bytes, more than the 16 MB a "
		 "configuration file may have", path);
	ck_assert_int_eq(config_error_format(&errors, 0, text + 2048, 2048), (int)strlen(text));
	ck_assert_str_eq(text + 2048, text);
}
END_TEST

/* A check's limit on all files together: each file's size is taken before it is read. */
START_TEST(test_byte_limit)
{
	const char *settings_path = test_write_file("s.yaml", "version: 1\n");
	const char *pipeline_path = test_write_file("p.yaml", SOURCE_AND_SINK);
	struct stat settings_file, pipeline_file;
	char expected[256];
	size_t total;

	/* @DIR@ is replaced as the file is written: the sizes are the files' own */
	ck_assert_int_eq(stat(settings_path, &settings_file), 0);
	ck_assert_int_eq(stat(pipeline_path, &pipeline_file), 0);
	total = (size_t)settings_file.st_size + (size_t)pipeline_file.st_size;

	config = config_load_limited(settings_path, &pipeline_path, 1, total, &errors);
	ck_assert_ptr_nonnull(config);
	config_free(config);
	config = config_load_limited(settings_path, &pipeline_path, 1, total - 1, &errors);
	ck_assert_ptr_null(config);
	assert_error_count(1);
	ck_assert_str_eq(errors.items[0].position.file, pipeline_path);
	ck_assert_uint_eq(errors.items[0].position.line, 0);
	snprintf(expected, sizeof(expected), "the files one check reads may have %zu bytes in all; "
		 "with this one they would have more (11 bytes read before it)", total - 1);
	ck_assert_str_eq(errors.items[0].message, expected);
}
END_TEST

START_TEST(test_long_key)
{
	static char text[4096];
	char *cursor = text + sprintf(text, COUNTER_PIPELINE("") "    ");

	memset(cursor, 'w', 1100);
	strcpy(cursor + 1100, ": 1s\n");
	load_pipeline(text);
	assert_error("p.yaml", 9, 5,
		     "a key longer than 1024 characters (YAML's limit for a key): shorten it; kernel "
		     "names and keys here are at most 63 characters");
	assert_error_count(1);
}
END_TEST

START_TEST(test_invisible_and_empty_values)
{
	/* a BOM at the start of a file is YAML's, and fine */
	ck_assert_ptr_nonnull(load_pipeline(COUNTER_PIPELINE("\xef\xbb\xbf")));
	load_pipeline(SYNTHETIC_SOURCE("    synthetic: {packets: 10}\n"
				       "  count:\n"
				       "    type: per_src\xef\xbb\xbf_counter\n"
				       "    input: rx\n"));
	assert_error("p.yaml", 7, 11,
		     "unknown kernel type 'per_src\\u{feff}_counter' (did you mean 'per_src_counter'?); "
		     "it holds an invisible character, U+FEFF, shown as \\u{feff}");
	assert_error_count(1);
	load_pipeline(SYNTHETIC_SOURCE("    synthetic: {packets: 10}\n"
				       "  count:\n"
				       "    type: \"per_src\\t_counter\"\n"
				       "    input: rx\n"));
	assert_error("p.yaml", 7, 11,
		     "unknown kernel type 'per_src\\u{0009}_counter' (did you mean 'per_src_counter'?); "
		     "it holds a control character, U+0009, shown as \\u{0009}");
	assert_error_count(1);
	load_pipeline(SYNTHETIC_SOURCE("    synthetic: {packets: 10}\n"
				       "  count:\n"
				       "    type: per_src\x01_counter\n"));
	assert_error("p.yaml", 7, 18,
		     "control character U+0001 is not allowed in YAML: remove it, or write it escaped "
		     "inside double quotes (\"\\x01\")");
	assert_error_count(1);
	for (const char *const *empty = (const char *const[]){"~", "null", "\"\"", "", NULL};
	     *empty != NULL; empty++) {
		char text[512];

		snprintf(text, sizeof(text), SYNTHETIC_SOURCE("    synthetic: {packets: 10}\n"
							      "  count:\n"
							      "    type: %s\n"
							      "    input: rx\n"), *empty);
		load_pipeline(text);
		assert_error("p.yaml", 7, **empty == '\0' ? 10 : 11,
			     "'type' is empty: give a kernel type (known types: source, per_src_counter, "
			     "threshold, flow_tracker, proto_stats, passthrough, filter, history, sink)");
		assert_error_count(1);
	}
	load_pipeline(COUNTER_PIPELINE("") "    window: ~\n");
	assert_error("p.yaml", 9, 13, "'window' is empty");
	assert_error_count(1);
}
END_TEST

Suite *
config_suite(void)
{
	Suite *suite = suite_create("config");
	TCase *valid = tcase_create("valid");
	TCase *values = tcase_create("values");
	TCase *invalid = tcase_create("invalid");

	tcase_add_checked_fixture(valid, setup, teardown);
	tcase_add_test(valid, test_design_example);
	tcase_add_test(valid, test_defaults_and_settings);
	tcase_add_test(valid, test_settings_file);
	tcase_add_test(valid, test_command_line_pipelines_replace_settings);
	tcase_add_test(valid, test_inputs_scalar_and_list);
	tcase_add_test(valid, test_two_files_share_names);
	tcase_add_test(valid, test_cores);
	tcase_add_test(valid, test_synthetic_mapping);
	suite_add_tcase(suite, valid);

	tcase_add_test(values, test_parse_durations);
	tcase_add_test(values, test_parse_sizes_and_counts);
	tcase_add_test(values, test_parse_bool_choice_string);
	tcase_add_test(values, test_worker_lcores);
	tcase_add_test(values, test_parse_real_and_list);
	suite_add_tcase(suite, values);

	tcase_add_checked_fixture(invalid, setup, teardown);
	tcase_add_test(invalid, test_syntax_error);
	tcase_add_test(invalid, test_print_format);
	tcase_add_test(invalid, test_errors_outlive_config);
	tcase_add_test(invalid, test_no_pipeline);
	tcase_add_test(invalid, test_empty_pipelines);
	tcase_add_test(invalid, test_unknown_top_level_key);
	tcase_add_test(invalid, test_version);
	tcase_add_test(invalid, test_unknown_key);
	tcase_add_test(invalid, test_duplicate_key_in_kernel);
	tcase_add_test(invalid, test_wrong_types);
	tcase_add_test(invalid, test_window_total_and_durations_in_yaml);
	tcase_add_test(invalid, test_missing_required_key);
	tcase_add_test(invalid, test_unknown_kernel_type);
	tcase_add_test(invalid, test_kernel_not_a_mapping);
	tcase_add_test(invalid, test_invalid_names);
	tcase_add_test(invalid, test_duplicate_names);
	tcase_add_test(invalid, test_replicas);
	tcase_add_test(invalid, test_input_rules);
	tcase_add_test(invalid, test_source_pcap_and_port);
	tcase_add_test(invalid, test_unreadable_pcap);
	tcase_add_test(invalid, test_unknown_input);
	tcase_add_test(invalid, test_cycles);
	tcase_add_test(invalid, test_stream_type_mismatch);
	tcase_add_test(invalid, test_sink_as_input);
	tcase_add_test(invalid, test_sink_path_and_format);
	tcase_add_test(invalid, test_sink_null);
	tcase_add_test(invalid, test_sink_null_takes_packets);
	tcase_add_test(invalid, test_no_source);
	tcase_add_test(invalid, test_core_not_a_worker);
	tcase_add_test(invalid, test_settings_errors);
	tcase_add_test(invalid, test_settings_file_missing);
	tcase_add_test(invalid, test_synthetic_errors);
	tcase_add_test(invalid, test_one_document);
	tcase_add_test(invalid, test_bounds);
	tcase_add_test(invalid, test_byte_limit);
	tcase_add_test(invalid, test_long_key);
	tcase_add_test(invalid, test_invisible_and_empty_values);
	suite_add_tcase(suite, invalid);
	return suite;
}
