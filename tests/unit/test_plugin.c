/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The plugin loader: tiny plugins are compiled here with the system compiler
 * (the unit tests run from the repository root, so include/jetstream is at
 * hand). Most of their kernels call no daemon function; the configured one
 * calls kernel_swap_state(), exported by the unit test binary as by the
 * daemon (daemon/kernel_api.list).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>
#include <dlfcn.h>

#include "config.h"
#include "describe.h"
#include "kernels/registry.h"
#include "plugin.h"
#include "reload.h"
#include "suites.h"
#include "test_directory.h"

/* A plugin named PLUGIN giving the kernel type TYPE (printf arguments: PLUGIN, TYPE, TYPE). */
static const char plugin_source[] =
	"#include \"kernel.h\"\n"
	"static unsigned process(struct kernel_instance *instance)\n"
	"{ (void)instance; return 0; }\n"
	"static const struct kernel_ops kernel = {\n"
	"	.name = \"%2$s\", .description = \"%2$s, for tests\",\n"
	"	.input_type = STREAM_PACKET, .output_type = STREAM_PACKET,\n"
	"	.process = process,\n"
	"};\n"
	"JETSTREAM_PLUGIN(\"%1$s\", &kernel);\n";

/* The export written by hand, with version 1: built before flow records carried IP bytes. */
static const char wrong_abi_source[] =
	"#include \"kernel.h\"\n"
	"static const struct kernel_ops *const kernels[] = {NULL};\n"
	"static const struct jetstream_plugin plugin = {\n"
	"	.abi_version = 1, .name = \"old\", .kernels = kernels,\n"
	"};\n"
	"const struct jetstream_plugin *jetstream_plugin(void);\n"
	"const struct jetstream_plugin *jetstream_plugin(void) { return &plugin; }\n";

static const char no_export_source[] =
	"int not_a_plugin(void);\n"
	"int not_a_plugin(void) { return 1; }\n";

/* The refusals of the last load (static: failed asserts do not return). */
static struct {
	unsigned count;
	unsigned index;
	char path[PATH_MAX];
	char reason[PATH_MAX];
} refusals;

static char paths[2][PATH_MAX];

static void
record_refusal(void *context, unsigned index, const char *path, const char *reason)
{
	(void)context;
	refusals.count++;
	refusals.index = index;
	snprintf(refusals.path, sizeof(refusals.path), "%s", path);
	snprintf(refusals.reason, sizeof(refusals.reason), "%s", reason);
}

static void
setup(void)
{
	test_directory_create("jetstream_plugin_");
	ck_assert_int_eq(mkdir(test_path("plugins"), 0755), 0);
	memset(&refusals, 0, sizeof(refusals));
}

static void
teardown(void)
{
	test_directory_remove();
}

/* Compile @p source into @p name (under the test directory), mode 0755. */
static const char *
build(const char *name, const char *source)
{
	char command[3 * PATH_MAX];
	char source_name[PATH_MAX];
	char output[PATH_MAX];

	snprintf(source_name, sizeof(source_name), "%s.c", name);
	snprintf(output, sizeof(output), "%s", test_path(name));
	snprintf(command, sizeof(command),
		 "cc -shared -fPIC -Iinclude/jetstream $(pkg-config --cflags libdpdk) -o '%s' '%s'",
		 output, test_write_file(source_name, source));
	ck_assert_int_eq(system(command), 0);
	ck_assert_int_eq(chmod(output, 0755), 0);
	return test_path(name);
}

static const char *
build_plugin(const char *name, const char *plugin_name, const char *type)
{
	char source[sizeof(plugin_source) + 256];

	snprintf(source, sizeof(source), plugin_source, plugin_name, type);
	return build(name, source);
}

/* Load the set of the single path @p path. @return plugin_set_load()'s. */
static int
load(const char *path, struct plugin_set **set)
{
	snprintf(paths[0], sizeof(paths[0]), "%s", path);
	return plugin_set_load((const char (*)[PATH_MAX])paths, 1, record_refusal, NULL, set);
}

/* Loading @p path is refused, once, with @p reason; nothing stays open. */
static void
assert_refused(const char *path, const char *reason)
{
	struct plugin_set *set = NULL;

	ck_assert_int_eq(load(path, &set), -EINVAL);
	ck_assert_ptr_null(set);
	ck_assert_uint_eq(refusals.count, 1);
	ck_assert_uint_eq(refusals.index, 0);
	ck_assert_str_eq(refusals.reason, reason);
	ck_assert_uint_eq(plugin_open_handles(), 0);
}

START_TEST(test_good_plugin_loads)
{
	struct plugin_set *set = NULL;
	const struct kernel_ops *ops;

	build_plugin("plugins/good.so", "good", "test_good");
	test_write_file("plugins/README", "not a plugin: skipped");
	ck_assert_int_eq(load(test_path("plugins"), &set), 0);
	ck_assert_uint_eq(refusals.count, 0);
	ck_assert_uint_eq(plugin_open_handles(), 1);
	ops = plugin_set_find(set, "test_good");
	ck_assert_ptr_nonnull(ops);
	ck_assert_str_eq(ops->name, "test_good");
	ck_assert_uint_eq(ops->process(NULL), 0);
	ck_assert_uint_eq(plugin_set_kernel_count(set), 1);
	ck_assert_ptr_eq(plugin_set_kernel(set, 0), ops);
	ck_assert_ptr_eq(plugin_set_find(set, "sink"), kernel_find("sink"));
	ck_assert_ptr_null(plugin_set_find(set, "test_absent"));
	plugin_set_release(set);
	ck_assert_uint_eq(plugin_open_handles(), 0);
}
END_TEST

START_TEST(test_group_writable_refused)
{
	const char *path = build_plugin("plugins/shared.so", "shared", "test_shared");

	ck_assert_int_eq(chmod(path, 0664), 0);
	assert_refused(path, "writable by group or others (mode 0664)");
	ck_assert_str_eq(refusals.path, test_path("plugins/shared.so"));
}
END_TEST

START_TEST(test_group_writable_directory_refused)
{
	const char *path = build_plugin("plugins/good.so", "good", "test_good");

	ck_assert_int_eq(chmod(test_path("plugins"), 0775), 0);
	assert_refused(path, "writable by group or others (mode 0775)");
	ck_assert_str_eq(refusals.path, test_path("plugins"));
}
END_TEST

START_TEST(test_not_regular_refused)
{
	assert_refused("/dev/null", "not a regular file");
}
END_TEST

START_TEST(test_missing_path_refused)
{
	assert_refused(test_path("absent"), strerror(ENOENT));
}
END_TEST

START_TEST(test_wrong_abi_refused)
{
	assert_refused(build("plugins/old.so", wrong_abi_source),
		       "built for kernel API version 1, this daemon has 3");
}
END_TEST

START_TEST(test_missing_symbol_refused)
{
	assert_refused(build("plugins/none.so", no_export_source),
		       "does not export jetstream_plugin()");
}
END_TEST

START_TEST(test_not_shared_object_refused)
{
	struct plugin_set *set = NULL;
	const char *path = test_write_file("plugins/text.so", "not ELF");

	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(load(path, &set), -EINVAL);
	ck_assert_uint_eq(refusals.count, 1);
	ck_assert_ptr_nonnull(strstr(refusals.reason, "/proc/self/fd/")); /* dlerror() */
	ck_assert_uint_eq(plugin_open_handles(), 0);
}
END_TEST

START_TEST(test_built_in_type_refused)
{
	assert_refused(build_plugin("plugins/sink.so", "fake_sink", "sink"),
		       "kernel type 'sink' is a built-in");
}
END_TEST

START_TEST(test_type_given_twice_refused)
{
	build_plugin("plugins/a.so", "alpha", "test_same");
	build_plugin("plugins/b.so", "beta", "test_same");
	assert_refused(test_path("plugins"),
		       "kernel type 'test_same' is already given by plugin 'alpha'");
	ck_assert_str_eq(refusals.path, test_path("plugins/b.so"));
}
END_TEST

START_TEST(test_unchanged_file_reused)
{
	struct plugin_set *first = NULL, *second = NULL;
	const char *path = build_plugin("plugins/good.so", "good", "test_good");

	ck_assert_int_eq(load(path, &first), 0);
	ck_assert_int_eq(load(path, &second), 0);
	ck_assert_uint_eq(plugin_open_handles(), 1);
	ck_assert_ptr_eq(plugin_set_find(first, "test_good"), plugin_set_find(second, "test_good"));
	plugin_set_release(first);
	ck_assert_uint_eq(plugin_open_handles(), 1);
	plugin_set_release(second);
	ck_assert_uint_eq(plugin_open_handles(), 0);
}
END_TEST

START_TEST(test_changed_file_loads_beside)
{
	struct plugin_set *old_set = NULL, *new_set = NULL;
	const char *path = build_plugin("plugins/good.so", "good", "test_good");
	const struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = 1000000000}};
	const struct kernel_ops *old_ops;

	ck_assert_int_eq(load(path, &old_set), 0);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
	ck_assert_int_eq(load(path, &new_set), 0);
	ck_assert_uint_eq(plugin_open_handles(), 2);
	old_ops = plugin_set_find(old_set, "test_good");
	ck_assert_ptr_ne(old_ops, plugin_set_find(new_set, "test_good"));
	plugin_set_release(old_set);
	ck_assert_uint_eq(plugin_open_handles(), 1);
	plugin_set_release(new_set);
	ck_assert_uint_eq(plugin_open_handles(), 0);
}
END_TEST

START_TEST(test_instance_keeps_plugin)
{
	struct plugin_set *set = NULL;
	const struct kernel_ops *ops;

	build_plugin("plugins/good.so", "good", "test_good");
	ck_assert_int_eq(load(test_path("plugins"), &set), 0);
	ops = plugin_set_find(set, "test_good");
	plugin_instance_acquire(ops);
	plugin_instance_acquire(kernel_find("sink")); /* built-ins: no-op */
	plugin_set_release(set);
	ck_assert_uint_eq(plugin_open_handles(), 1);
	ck_assert_uint_eq(ops->process(NULL), 0); /* the code is still mapped */
	plugin_instance_release(kernel_find("sink"));
	plugin_instance_release(ops);
	ck_assert_uint_eq(plugin_open_handles(), 0);
}
END_TEST

/*
 * A plugin with parameters, as a pipeline uses one: `limit` takes state,
 * `slots` replaces; STATE_VERSION and the description are printf arguments
 * (STATE_VERSION, DESCRIPTION) so a test can rebuild another version.
 */
static const char configured_source[] =
	"#include <stddef.h>\n"
	"#include \"kernel.h\"\n"
	"struct params { uint64_t limit; uint64_t slots; };\n"
	"static const struct config_field fields[] = {\n"
	"	{.key = \"limit\", .type = CONFIG_UNSIGNED, .offset = offsetof(struct params, limit),\n"
	"	 .default_value = \"10\", .description = \"a limit\"},\n"
	"	{.key = \"slots\", .type = CONFIG_UNSIGNED, .offset = offsetof(struct params, slots),\n"
	"	 .default_value = \"4\", .description = \"table size\",\n"
	"	 .change = CONFIG_CHANGE_REPLACE},\n"
	"	{.key = NULL},\n"
	"};\n"
	"static unsigned process(struct kernel_instance *instance)\n"
	"{ (void)instance; return 0; }\n"
	"static void take_state(struct kernel_instance *instance, struct kernel_instance *old)\n"
	"{ kernel_swap_state(instance, old); }\n"
	"static const struct kernel_ops kernel = {\n"
	"	.name = \"test_limit\", .description = \"%2$s\",\n"
	"	.input_type = STREAM_PACKET, .output_type = STREAM_ALERT,\n"
	"	.params_size = sizeof(struct params), .config_map = fields,\n"
	"	.process = process, .take_state = take_state, .state_version = %1$u,\n"
	"};\n"
	"JETSTREAM_PLUGIN(\"limit\", &kernel);\n";

static const char no_process_source[] =
	"#include \"kernel.h\"\n"
	"static const struct kernel_ops kernel = {\n"
	"	.name = \"test_idle\", .input_type = STREAM_PACKET, .output_type = STREAM_PACKET,\n"
	"};\n"
	"JETSTREAM_PLUGIN(\"idle\", &kernel);\n";

static void
build_configured(unsigned state_version, const char *description)
{
	char source[sizeof(configured_source) + 256];

	snprintf(source, sizeof(source), configured_source, state_version, description);
	build("plugins/limit.so", source);
}

static struct config_errors config_errors;

/* Settings loading plugins/ and a pipeline source -> test_limit (with @p keys) -> sink. */
static struct config *
load_pipeline_with(const char *keys)
{
	char pipeline[2048];
	const char *pipeline_path, *settings_path;

	settings_path = test_write_file("s.yaml", "version: 1\nplugins: [plugins]\n");
	snprintf(pipeline, sizeof(pipeline),
		 "version: 1\n"
		 "kernels:\n"
		 "  rx: {type: source, synthetic: {packets: 10}}\n"
		 "  limit:\n"
		 "    type: test_limit\n"
		 "    input: rx\n"
		 "%s"
		 "  out: {type: sink, input: limit, path: %s}\n",
		 keys, test_path("out.jsonl"));
	pipeline_path = test_write_file("p.yaml", pipeline);
	return config_load(settings_path, &pipeline_path, 1, &config_errors);
}

/* --describe lists a plugin's types with their keys, in a section of their own. */
static void
assert_described(const struct plugin_set *plugins)
{
	static char text[8192];
	FILE *stream = fmemopen(text, sizeof(text), "w");

	ck_assert_ptr_nonnull(stream);
	describe_plugins(plugins, stream);
	fclose(stream);
	ck_assert_msg(strstr(text, "## Plugin kernels\n\n### `test_limit`\n\nv1. Input: pkt.") != NULL,
		      "%s", text);
	ck_assert_ptr_nonnull(strstr(text, "\n| `slots` | count | 4 | table size |\n"));
}

/* Its type names are usable in a pipeline, and its table validates its section. */
START_TEST(test_plugin_type_in_pipeline)
{
	struct config *config;
	const struct kernel_spec *spec;

	build_configured(1, "v1");
	config = load_pipeline_with("    limit: 20\n");
	ck_assert_msg(config != NULL, "%s", config_errors.items[0].message);
	spec = config_find_kernel(config, "limit");
	ck_assert_str_eq(spec->ops->name, "test_limit");
	ck_assert_uint_eq(((const uint64_t *)spec->params)[0], 20);
	ck_assert_uint_eq(((const uint64_t *)spec->params)[1], 4);
	assert_described(config->plugins);
	config_free(config);
	ck_assert_uint_eq(plugin_open_handles(), 0);

	ck_assert_ptr_null(load_pipeline_with("    limt: 20\n"));
	ck_assert_uint_eq(config_errors.count, 1);
	ck_assert_uint_eq(config_errors.items[0].position.line, 7);
	ck_assert_uint_eq(config_errors.items[0].position.column, 5);
	ck_assert_str_eq(config_errors.items[0].message,
			 "unknown key 'limt' for kernel type 'test_limit' (did you mean 'limit'?)");
	/* the type is suggested like a built-in */
	ck_assert_ptr_null(load_pipeline_with("    limit: 20\n  extra: {type: test_limt, input: rx}\n"));
	ck_assert_str_eq(config_errors.items[0].message,
			 "unknown kernel type 'test_limt' (did you mean 'test_limit'?)");
	ck_assert_uint_eq(plugin_open_handles(), 0);
}
END_TEST

/* A plugin refused at load is an error at its entry of `plugins:`, and the pipeline's type unknown. */
START_TEST(test_refused_plugin_is_a_config_error)
{
	build_configured(1, "v1");
	ck_assert_int_eq(chmod(test_path("plugins/limit.so"), 0666), 0);
	ck_assert_ptr_null(load_pipeline_with(""));
	ck_assert_uint_ge(config_errors.count, 1);
	ck_assert_uint_eq(config_errors.items[0].position.line, 2);
	ck_assert_uint_eq(config_errors.items[0].position.column, 11);
	ck_assert_str_eq(config_errors.items[0].message + strlen(config_errors.items[0].message) -
				 strlen("limit.so' refused: writable by group or others (mode 0666)"),
			 "limit.so' refused: writable by group or others (mode 0666)");
}
END_TEST

START_TEST(test_kernel_without_process_refused)
{
	assert_refused(build("plugins/idle.so", no_process_source),
		       "kernel type 'test_idle' has no process()");
}
END_TEST

/* The action a reload takes for kernel 'limit' from the @p old_version build to a rebuilt one. */
static enum reload_action
action_after_rebuild(unsigned old_version, unsigned new_version, const char *new_keys)
{
	const struct timespec later[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = 2000000000}};
	struct config *old_config, *new_config;
	struct reload_plan plan;
	enum reload_action action;

	build_configured(old_version, "v1");
	old_config = load_pipeline_with("");
	ck_assert_ptr_nonnull(old_config);
	build_configured(new_version, "v2");
	ck_assert_int_eq(utimensat(AT_FDCWD, test_path("plugins/limit.so"), later, 0), 0);
	new_config = load_pipeline_with(new_keys);
	ck_assert_ptr_nonnull(new_config);
	ck_assert_uint_eq(plugin_open_handles(), 2); /* the new code beside the old */
	ck_assert_int_eq(reload_plan(old_config, new_config, &plan, &config_errors), 0);
	action = plan.actions[config_kernel_index(new_config, "limit")];
	ck_assert_int_eq(plan.actions[config_kernel_index(new_config, "rx")], RELOAD_KEEP);
	config_free(old_config);
	ck_assert_uint_eq(plugin_open_handles(), 1);
	config_free(new_config);
	return action;
}

/* New code takes the old state only when both declare the same non-zero state_version. */
START_TEST(test_rebuilt_plugin_replaced_or_takes_state)
{
	struct config *first, *second;
	struct reload_plan plan;

	ck_assert_int_eq(action_after_rebuild(1, 1, ""), RELOAD_TAKE_STATE);
	ck_assert_int_eq(action_after_rebuild(1, 2, ""), RELOAD_REPLACE);
	ck_assert_int_eq(action_after_rebuild(0, 0, ""), RELOAD_REPLACE);
	/* compatible code, but a key whose row says REPLACE changed */
	ck_assert_int_eq(action_after_rebuild(1, 1, "    slots: 8\n"), RELOAD_REPLACE);
	/* the same file: the same code, kept */
	build_configured(1, "v1");
	first = load_pipeline_with("");
	second = load_pipeline_with("");
	ck_assert_ptr_nonnull(first);
	ck_assert_ptr_nonnull(second);
	ck_assert_uint_eq(plugin_open_handles(), 1);
	ck_assert_int_eq(reload_plan(first, second, &plan, &config_errors), 0);
	ck_assert_int_eq(plan.actions[config_kernel_index(second, "limit")], RELOAD_KEEP);
	config_free(first);
	config_free(second);
	ck_assert_uint_eq(plugin_open_handles(), 0);
}
END_TEST

/* Every function the public headers declare is exported to plugins. */
START_TEST(test_public_functions_exported)
{
	static const char *const headers[] = {"config_map.h", "kernel.h", "log.h", "packet.h",
					      "record.h"};
	unsigned checked = 0;

	for (unsigned h = 0; h < sizeof(headers) / sizeof(headers[0]); h++) {
		char path[PATH_MAX], line[512], name[128];
		FILE *header;

		snprintf(path, sizeof(path), "include/jetstream/%s", headers[h]);
		header = fopen(path, "r");
		ck_assert_ptr_nonnull(header);
		/* a declaration starts at column 0 with its type: `unsigned kernel_receive(...` */
		while (fgets(line, sizeof(line), header) != NULL) {
			char *open = strchr(line, '(');
			char *start = open;

			if (open == NULL || line[0] < 'a' || line[0] > 'z' ||
			    strncmp(line, "static", 6) == 0 || strncmp(line, "typedef", 7) == 0 ||
			    strchr(line, ' ') == NULL || strchr(line, ' ') > open)
				continue;
			while (start > line && (start[-1] == '_' || (start[-1] >= 'a' && start[-1] <= 'z') ||
						(start[-1] >= '0' && start[-1] <= '9')))
				start--;
			snprintf(name, sizeof(name), "%.*s", (int)(open - start), start);
			ck_assert_msg(dlsym(RTLD_DEFAULT, name) != NULL,
				      "%s declares %s, which daemon/kernel_api.list does not export",
				      headers[h], name);
			checked++;
		}
		fclose(header);
	}
	ck_assert_uint_ge(checked, 20);
}
END_TEST

Suite *
plugin_suite(void)
{
	Suite *suite = suite_create("plugin");
	TCase *loader = tcase_create("loader");

	/* each test compiles plugins: more than the default 4 s on a busy machine */
	tcase_set_timeout(loader, 60);
	tcase_add_checked_fixture(loader, setup, teardown);
	tcase_add_test(loader, test_good_plugin_loads);
	tcase_add_test(loader, test_group_writable_refused);
	tcase_add_test(loader, test_group_writable_directory_refused);
	tcase_add_test(loader, test_not_regular_refused);
	tcase_add_test(loader, test_missing_path_refused);
	tcase_add_test(loader, test_wrong_abi_refused);
	tcase_add_test(loader, test_missing_symbol_refused);
	tcase_add_test(loader, test_not_shared_object_refused);
	tcase_add_test(loader, test_built_in_type_refused);
	tcase_add_test(loader, test_type_given_twice_refused);
	tcase_add_test(loader, test_unchanged_file_reused);
	tcase_add_test(loader, test_changed_file_loads_beside);
	tcase_add_test(loader, test_instance_keeps_plugin);
	tcase_add_test(loader, test_plugin_type_in_pipeline);
	tcase_add_test(loader, test_refused_plugin_is_a_config_error);
	tcase_add_test(loader, test_kernel_without_process_refused);
	tcase_add_test(loader, test_rebuilt_plugin_replaced_or_takes_state);
	tcase_add_test(loader, test_public_functions_exported);
	suite_add_tcase(suite, loader);
	return suite;
}
