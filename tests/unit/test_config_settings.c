/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config_settings.c on its own: the settings file's code-bound keys (above all
 * `plugins:`), lcore lists, and the one table that drives the docs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>

#include "config.h"
#include "describe.h"
#include "kernel.h"
#include "kernels/registry.h"
#include "suites.h"
#include "test_directory.h"

static struct config_errors errors;
static struct config *loaded;

static void
setup(void)
{
	test_directory_create("jetstream_config_settings_");
	loaded = NULL;
}

static void
teardown(void)
{
	config_free(loaded);
	test_directory_remove();
}

/* @p settings as s.yaml beside a valid pipeline; NULL settings: defaults. */
static struct config *
load_settings_text(const char *settings)
{
	char pipeline[1024];
	const char *pipeline_path, *settings_path = NULL;

	snprintf(pipeline, sizeof(pipeline),
		 "version: 1\nkernels:\n"
		 "  rx: {type: source, synthetic: {packets: 0, rate_pps: 1000}}\n"
		 "  count: {type: per_src_counter, input: rx, window: total}\n"
		 "  out: {type: sink, input: count, path: %s}\n", test_path("out.jsonl"));
	pipeline_path = test_write_file("p.yaml", pipeline);
	if (settings != NULL)
		settings_path = test_write_file("s.yaml", settings);
	config_free(loaded);
	loaded = config_load(settings_path, &pipeline_path, 1, &errors);
	return loaded;
}

static const struct config_position *
plugins_position(void)
{
	for (unsigned i = 0; daemon_settings_fields[i].key != NULL; i++)
		if (strcmp(daemon_settings_fields[i].key, "plugins") == 0)
			return &loaded->setting_positions[i];
	ck_abort_msg("no 'plugins' row in daemon_settings_fields");
	return NULL;
}

START_TEST(test_plugins_default)
{
	ck_assert_ptr_nonnull(load_settings_text(NULL));
	ck_assert_uint_eq(loaded->settings.plugin_count, 1);
	ck_assert_str_eq(loaded->settings.plugins[0], "/usr/lib/jetstream/kernels");
	ck_assert_uint_eq(plugins_position()->line, 0);
	ck_assert_ptr_nonnull(load_settings_text("version: 1\n"));
	ck_assert_uint_eq(loaded->settings.plugin_count, 1);
	ck_assert_uint_eq(plugins_position()->line, 0);
}
END_TEST

/* Relative entries are relative to the settings file, as `pipelines:` entries are. */
START_TEST(test_plugins_list_replaces_default)
{
	char expected[PATH_MAX], text[PATH_MAX + 64];

	/* empty plugin directories: loaded, giving no kernel type */
	ck_assert_int_eq(mkdir(test_path("kernels"), 0755), 0);
	ck_assert_int_eq(mkdir(test_path("more"), 0755), 0);
	snprintf(text, sizeof(text), "version: 1\nplugins:\n  - kernels\n  - %s\n",
		 test_path("more"));
	ck_assert_msg(load_settings_text(text) != NULL, "%s", errors.items[0].message);
	ck_assert_uint_eq(loaded->settings.plugin_count, 2);
	snprintf(expected, sizeof(expected), "%s/kernels", test_directory());
	ck_assert_str_eq(loaded->settings.plugins[0], expected);
	ck_assert_str_eq(loaded->settings.plugins[1], test_path("more"));
	ck_assert_uint_eq(plugins_position()->line, 3);
	ck_assert_uint_eq(plugins_position()->column, 3);
	ck_assert_ptr_nonnull(load_settings_text("version: 1\nplugins: []\n"));
	ck_assert_uint_eq(loaded->settings.plugin_count, 0);
	ck_assert_uint_eq(plugins_position()->line, 2);
}
END_TEST

/* Error @p index of the last load is at @p line:@p column of s.yaml with @p message. */
static void
assert_settings_error(unsigned index, unsigned line, unsigned column, const char *message)
{
	const char *file;

	ck_assert_ptr_null(loaded);
	ck_assert_uint_gt(errors.count, index);
	file = errors.items[index].position.file;
	ck_assert_str_eq(file + strlen(file) - strlen("/s.yaml"), "/s.yaml");
	ck_assert_uint_eq(errors.items[index].position.line, line);
	ck_assert_uint_eq(errors.items[index].position.column, column);
	ck_assert_str_eq(errors.items[index].message, message);
}

/* A path that was written must be there; the refusal points at its entry. */
START_TEST(test_plugins_missing_path_refused)
{
	char message[PATH_MAX + 128];

	load_settings_text("version: 1\nplugins:\n  - kernels\n  - none.so\n");
	ck_assert_uint_eq(errors.count, 2);
	snprintf(message, sizeof(message), "plugin '%s/kernels' refused: No such file or directory",
		 test_directory());
	assert_settings_error(0, 3, 5, message);
	snprintf(message, sizeof(message), "plugin '%s/none.so' refused: No such file or directory",
		 test_directory());
	assert_settings_error(1, 4, 5, message);
}
END_TEST

START_TEST(test_plugins_errors)
{
	char text[8192] = "version: 1\nplugins: [";
	char long_path[PATH_MAX + 16];

	load_settings_text("version: 1\nplugins: {a: b}\n");
	assert_settings_error(0, 2, 10, "'plugins' takes a list, not a mapping");
	load_settings_text("version: 1\nplugins: [a, ~, [b]]\n");
	ck_assert_uint_eq(errors.count, 2);
	assert_settings_error(0, 2, 14, "entries of 'plugins' are strings, not empty");
	assert_settings_error(1, 2, 17, "entries of 'plugins' are strings, not a list");
	for (unsigned i = 0; i <= CONFIG_MAX_PLUGINS; i++)
		strcat(text, i == 0 ? "p" : ", p");
	strcat(text, "]\n");
	load_settings_text(text);
	assert_settings_error(0, 2, 10, "'plugins' has 33 entries (at most 32)");
	memset(long_path, 'x', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	snprintf(text, sizeof(text), "version: 1\nplugins: [/%s]\n", long_path);
	load_settings_text(text);
	assert_settings_error(0, 2, 11, "plugin path is too long");
}
END_TEST

START_TEST(test_worker_lcores_forms)
{
	unsigned workers[4];

	ck_assert_int_eq(config_worker_lcores("2,0-1", workers, 4), 2);
	ck_assert_uint_eq(workers[0], 0);
	ck_assert_uint_eq(workers[1], 1);
	ck_assert_int_eq(config_worker_lcores("0@(1,2),1@3-4", workers, 4), 1);
	ck_assert_uint_eq(workers[0], 1);
	ck_assert_int_eq(config_worker_lcores("0@()", workers, 4), -EINVAL);
	ck_assert_int_eq(config_worker_lcores("0,1-", workers, 4), -EINVAL);
	ck_assert_int_eq(config_worker_lcores(NULL, workers, 4), -EINVAL);
}
END_TEST

/* Without `lcores:`, the default always gives a worker, even on one CPU. */
START_TEST(test_default_lcores_have_a_worker)
{
	unsigned workers[RTE_MAX_LCORE];

	ck_assert_ptr_nonnull(load_settings_text("version: 1\n"));
	ck_assert_int_ge(config_worker_lcores(loaded->settings.lcores, workers, RTE_MAX_LCORE), 1);
}
END_TEST

static void
assert_described(const struct config_field *fields, const char *owner)
{
	for (const struct config_field *field = fields; field->key != NULL; field++)
		ck_assert_msg(field->description != NULL && field->description[0] != '\0',
			      "key '%s' of %s has no description", field->key, owner);
}

/* One table drives the docs: every key has a described row, and the reference prints them. */
START_TEST(test_every_key_has_a_described_row)
{
	static char text[1 << 16];
	FILE *stream = fmemopen(text, sizeof(text), "w");
	char row[96];

	assert_described(kernel_common_fields, "every kernel");
	assert_described(daemon_settings_fields, "the settings");
	for (const struct kernel_ops *const *ops = kernel_registry; *ops != NULL; ops++)
		assert_described((*ops)->config_map, (*ops)->name);
	ck_assert_ptr_nonnull(stream);
	describe_configuration(stream);
	fclose(stream);
	for (const struct config_field *field = daemon_settings_fields; field->key != NULL; field++) {
		snprintf(row, sizeof(row), "\n| `%s` |", field->key);
		ck_assert_msg(strstr(text, row) != NULL, "no row for '%s'", field->key);
	}
	ck_assert_ptr_nonnull(strstr(text, "\n| `plugins` | list of paths | "
					   "/usr/lib/jetstream/kernels | "));
	ck_assert_ptr_nonnull(strstr(text, "\n| `input` | name or list | - | "));
}
END_TEST

START_TEST(test_change_flags_of_code_bound_rows)
{
	static const struct {
		const char *key;
		enum config_change change;
	} expected[] = {
		{"eal_args", CONFIG_CHANGE_RESTART},
		{"pipelines", CONFIG_CHANGE_LIVE},
		{"plugins", CONFIG_CHANGE_LIVE},
	};

	for (unsigned i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		const struct config_field *field = daemon_settings_fields;

		while (field->key != NULL && strcmp(field->key, expected[i].key) != 0)
			field++;
		ck_assert_msg(field->key != NULL, "no row '%s'", expected[i].key);
		ck_assert_int_eq(field->change, expected[i].change);
	}
}
END_TEST

Suite *
config_settings_suite(void)
{
	Suite *suite = suite_create("config_settings");
	TCase *settings = tcase_create("settings");

	tcase_add_checked_fixture(settings, setup, teardown);
	tcase_add_test(settings, test_plugins_default);
	tcase_add_test(settings, test_plugins_list_replaces_default);
	tcase_add_test(settings, test_plugins_errors);
	tcase_add_test(settings, test_plugins_missing_path_refused);
	tcase_add_test(settings, test_worker_lcores_forms);
	tcase_add_test(settings, test_default_lcores_have_a_worker);
	tcase_add_test(settings, test_every_key_has_a_described_row);
	tcase_add_test(settings, test_change_flags_of_code_bound_rows);
	suite_add_tcase(suite, settings);
	return suite;
}
