/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config_graph.c on its own: the checks of the graph as a whole, once every
 * pipeline file is bound (inputs, stream types, cycles, a source), across
 * files as well as inside one.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "config.h"
#include "suites.h"
#include "test_directory.h"

static struct config_errors errors;
static struct config *loaded;

#define SOURCE "  rx: {type: source, synthetic: {packets: 0, rate_pps: 1000}}\n"

static void
setup(void)
{
	test_directory_create("jetstream_config_graph_");
	loaded = NULL;
}

static void
teardown(void)
{
	config_free(loaded);
	test_directory_remove();
}

/* Loads a.yaml, then b.yaml when @p second is not NULL; each is "version: 1\nkernels:\n" + its text. */
static void
load_graph(const char *first, const char *second)
{
	char text[2048];
	const char *paths[2];

	snprintf(text, sizeof(text), "version: 1\nkernels:\n%s", first);
	paths[0] = test_write_file("a.yaml", text);
	if (second != NULL) {
		snprintf(text, sizeof(text), "version: 1\nkernels:\n%s", second);
		paths[1] = test_write_file("b.yaml", text);
	}
	config_free(loaded);
	loaded = config_load(NULL, paths, second != NULL ? 2 : 1, &errors);
}

/* The only error is in @p file at @p line:@p column, with @p message. */
static void
assert_only_error(const char *file, unsigned line, unsigned column, const char *message)
{
	const char *name;

	ck_assert_ptr_null(loaded);
	ck_assert_msg(errors.count == 1, "%u errors, first: %s", errors.count,
		      errors.items[0].message);
	name = errors.items[0].position.file;
	ck_assert_str_eq(name + strlen(name) - strlen(file), file);
	ck_assert_uint_eq(errors.items[0].position.line, line);
	ck_assert_uint_eq(errors.items[0].position.column, column);
	ck_assert_str_eq(errors.items[0].message, message);
}

START_TEST(test_cycle_across_files)
{
	load_graph(SOURCE "  a: {type: passthrough, input: b}\n",
		   "  b: {type: passthrough, input: a}\n");
	assert_only_error("b.yaml", 3, 33, "cycle: a -> b -> a");
}
END_TEST

START_TEST(test_inputs_across_files)
{
	load_graph(SOURCE, "  a: {type: passthrough, input: rx}\n");
	ck_assert_msg(loaded != NULL, "%s", errors.items[0].message);
	ck_assert_int_eq(config_kernel_index(loaded, "a"), 1);
	ck_assert_ptr_eq(config_find_kernel(loaded, "rx"), &loaded->kernels[0]);
	ck_assert_ptr_null(config_find_kernel(loaded, "b"));
	load_graph(SOURCE, "  a: {type: passthrough, input: rxx}\n");
	assert_only_error("b.yaml", 3, 33, "unknown input 'rxx' (did you mean 'rx'?)");
}
END_TEST

/* A dropped kernel leaves inputs dangling: the graph is not checked, its error alone shows. */
START_TEST(test_graph_skipped_after_dropped_kernel)
{
	load_graph(SOURCE "  9bad: {type: passthrough, input: rx}\n"
			  "  a: {type: passthrough, input: 9bad}\n", NULL);
	assert_only_error("a.yaml", 4, 3,
			  "invalid kernel name '9bad': use letters, digits, '_', '.' and '-', "
			  "starting with a letter or '_' (names are written to JSON without "
			  "escaping)");
}
END_TEST

START_TEST(test_no_source)
{
	load_graph("  a: {type: passthrough, input: b}\n", "  b: {type: passthrough, input: a}\n");
	ck_assert_ptr_null(loaded);
	ck_assert_uint_eq(errors.count, 2);
	ck_assert_str_eq(errors.items[1].message,
			 "no source: a pipeline needs a kernel that takes no input, such as type "
			 "'source'");
	ck_assert_uint_eq(errors.items[1].position.line, 3);
	ck_assert_uint_eq(errors.items[1].position.column, 3);
}
END_TEST

START_TEST(test_sink_as_input)
{
	char text[512];

	snprintf(text, sizeof(text),
		 SOURCE "  count: {type: per_src_counter, input: rx, window: total}\n"
			"  out: {type: sink, input: count, path: %s}\n"
			"  a: {type: passthrough, input: out}\n",
		 test_path("o.jsonl"));
	load_graph(text, NULL);
	assert_only_error("a.yaml", 6, 33,
			  "input 'out' of 'a' has no output (kernel type 'sink' produces nothing)");
}
END_TEST

Suite *
config_graph_suite(void)
{
	Suite *suite = suite_create("config_graph");
	TCase *graph = tcase_create("graph");

	tcase_add_checked_fixture(graph, setup, teardown);
	tcase_add_test(graph, test_cycle_across_files);
	tcase_add_test(graph, test_inputs_across_files);
	tcase_add_test(graph, test_graph_skipped_after_dropped_kernel);
	tcase_add_test(graph, test_no_source);
	tcase_add_test(graph, test_sink_as_input);
	suite_add_tcase(suite, graph);
	return suite;
}
