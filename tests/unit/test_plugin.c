/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The plugin loader: tiny plugins are compiled here with the system compiler
 * (the unit tests run from the repository root, so include/jetstream is at
 * hand). Their kernels call no daemon function, so nothing need be exported
 * to them.
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

#include "kernels/registry.h"
#include "plugin.h"
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

/* The export written by hand, with an ABI version no daemon has. */
static const char wrong_abi_source[] =
	"#include \"kernel.h\"\n"
	"static const struct kernel_ops *const kernels[] = {NULL};\n"
	"static const struct jetstream_plugin plugin = {\n"
	"	.abi_version = 999, .name = \"future\", .kernels = kernels,\n"
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
	assert_refused(build("plugins/future.so", wrong_abi_source),
		       "built for kernel API version 999, this daemon has 1");
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
	suite_add_tcase(suite, loader);
	return suite;
}
