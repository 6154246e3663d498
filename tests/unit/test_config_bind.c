/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config_bind.c on its own: a made-up key table bound from a small YAML file
 * through the loader's private API, without kernels, settings or a graph.
 */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "config_compare.h"
#include "config_private.h"
#include "suites.h"
#include "test_directory.h"

struct bind_entry {
	char label[8];
	uint64_t weight;
};

struct bind_params {
	uint64_t size;
	bool nested;
	uint64_t nested_count;
	char name[8];
	uint64_t needed;
	char props[40];
	struct {
		uint64_t count;
		struct bind_entry entries[2];
	} items;
};

static const struct config_field bind_fields[] = {
	{.key = "size", .type = CONFIG_SIZE, .offset = offsetof(struct bind_params, size),
	 .default_value = "4k"},
	{.key = "nested", .type = CONFIG_MAPPING, .offset = offsetof(struct bind_params, nested)},
	{.key = "nested.count", .type = CONFIG_UNSIGNED,
	 .offset = offsetof(struct bind_params, nested_count), .default_value = "7"},
	{.key = "name", .type = CONFIG_STRING, .offset = offsetof(struct bind_params, name),
	 .size = sizeof(((struct bind_params *)0)->name)},
	{.key = "needed", .type = CONFIG_UNSIGNED, .offset = offsetof(struct bind_params, needed),
	 .required = true},
	{.key = "props", .type = CONFIG_PROPERTIES, .offset = offsetof(struct bind_params, props),
	 .size = sizeof(((struct bind_params *)0)->props)},
	{.key = "items", .type = CONFIG_MAPPING_LIST, .offset = offsetof(struct bind_params, items),
	 .size = sizeof(struct bind_entry), .maximum = 2},
	{.key = "items.label", .type = CONFIG_STRING, .offset = offsetof(struct bind_entry, label),
	 .size = sizeof(((struct bind_entry *)0)->label), .required = true},
	{.key = "items.weight", .type = CONFIG_UNSIGNED, .offset = offsetof(struct bind_entry, weight),
	 .default_value = "5"},
	{.key = NULL},
};

static struct config_errors errors;
static struct loader loader;
static struct bind_params params;
static struct config_position positions[sizeof(bind_fields) / sizeof(bind_fields[0])];
static unsigned special_calls;

static void
bind_special(struct file_context *file, yaml_node_t *value, void *target)
{
	(void)file;
	(void)value;
	ck_assert_ptr_eq(target, &special_calls);
	special_calls++;
}

static const struct special_key bind_special_keys[] = {{"special", bind_special}, {NULL, NULL}};

static void
setup(void)
{
	test_directory_create("jetstream_config_bind_");
	memset(&errors, 0, sizeof(errors));
	memset(&params, 0, sizeof(params));
	memset(positions, 0, sizeof(positions));
	special_calls = 0;
	loader = (struct loader){.config = calloc(1, sizeof(struct config)), .errors = &errors};
	ck_assert_ptr_nonnull(loader.config);
}

static void
teardown(void)
{
	config_free(loader.config);
	test_directory_remove();
}

/* Defaults, then @p text bound by bind_fields, then the required keys. */
static void
bind_text(const char *text)
{
	struct binding binding = {
		.owner = " in the test table", .special_keys = bind_special_keys,
		.target = &special_calls, .fields = bind_fields, .params = &params,
		.field_positions = positions,
	};
	struct config_position owner = {"owner", 1, 1};
	struct file_context file;

	apply_defaults(&loader, owner, bind_fields, &params);
	ck_assert(file_load(&loader, test_write_file("b.yaml", text), "test", &file));
	bind_mapping(&file, yaml_document_get_root_node(&file.document), &binding);
	require_fields(&loader, owner, &binding);
	yaml_document_delete(&file.document);
}

/* Error @p index is at @p line:@p column with @p message. */
static void
assert_error_is(unsigned index, unsigned line, unsigned column, const char *message)
{
	ck_assert_uint_gt(errors.count, index);
	ck_assert_uint_eq(errors.items[index].position.line, line);
	ck_assert_uint_eq(errors.items[index].position.column, column);
	ck_assert_str_eq(errors.items[index].message, message);
}

START_TEST(test_rows_defaults_and_positions)
{
	bind_text("needed: 3\nnested:\n  count: 9\nspecial: [anything]\n");
	ck_assert_uint_eq(errors.count, 0);
	ck_assert_uint_eq(params.size, 4096);
	ck_assert(params.nested);
	ck_assert_uint_eq(params.nested_count, 9);
	ck_assert_uint_eq(params.needed, 3);
	ck_assert_uint_eq(special_calls, 1);
	ck_assert_uint_eq(positions[find_field(bind_fields, "size")].line, 0);
	ck_assert_uint_eq(positions[find_field(bind_fields, "needed")].line, 1);
	ck_assert_uint_eq(positions[find_field(bind_fields, "needed")].column, 9);
	ck_assert_uint_eq(positions[find_field(bind_fields, "nested.count")].line, 3);
}
END_TEST

START_TEST(test_unknown_duplicate_and_required)
{
	bind_text("siez: 1k\nname: 12345678\nname: a\nnested.count: 1\nnested: {cuont: 1}\n");
	ck_assert_uint_eq(errors.count, 6);
	assert_error_is(0, 1, 1, "unknown key 'siez' in the test table (did you mean 'size'?)");
	assert_error_is(1, 2, 7, "value for 'name' is too long (8 bytes, at most 7)");
	assert_error_is(2, 3, 1, "duplicate key 'name' (first at line 2, column 1)");
	assert_error_is(3, 4, 1, "unknown key 'nested.count' in the test table (write 'count' "
				 "inside the 'nested:' mapping)");
	assert_error_is(4, 5, 10, "unknown key 'cuont' in 'nested' in the test table (did you "
				  "mean 'count'?)");
	assert_error_is(5, 1, 1, "missing required key 'needed' in the test table");
	ck_assert_str_eq(errors.items[5].position.file, "owner");
}
END_TEST

static void
check_needed(const void *checked, struct config_check_context *context)
{
	const struct bind_params *bound = checked;

	ck_assert(config_check_key_set(context, "needed"));
	ck_assert(!config_check_key_set(context, "size"));
	ck_assert(!config_check_key_set(context, "no such key"));
	config_check_error(context, "needed", "needed is %lu", (unsigned long)bound->needed);
	config_check_error(context, "size", "size is defaulted");
}

/* A check's errors point at the key's value, or at the owner when the key was not written. */
START_TEST(test_check_context)
{
	struct binding binding = {.fields = bind_fields, .params = &params,
				  .field_positions = positions};

	bind_text("needed: 5\n");
	run_check(&loader, (struct config_position){"owner", 2, 3}, &binding, check_needed);
	ck_assert_uint_eq(errors.count, 2);
	assert_error_is(0, 1, 9, "needed is 5");
	assert_error_is(1, 2, 3, "size is defaulted");
}
END_TEST

START_TEST(test_key_positions_and_code_bound_rows)
{
	struct config_position fallback = {"fallback", 9, 9};

	bind_text("needed: 1\n");
	ck_assert_uint_eq(config_key_position(bind_fields, positions, "needed", fallback).line, 1);
	ck_assert_str_eq(config_key_position(bind_fields, positions, "size", fallback).file,
			 "fallback");
	ck_assert_str_eq(config_key_position(bind_fields, NULL, "needed", fallback).file,
			 "fallback");
	ck_assert_uint_eq(field_count(bind_fields), 9);
	ck_assert_int_eq(find_field(bind_fields, "nested.count"), 2);
	ck_assert_int_eq(find_field(bind_fields, "count"), -1);
	ck_assert(field_is_bound_by_code(&(struct config_field){.type = CONFIG_NAMES}));
	ck_assert(!field_is_bound_by_code(&(struct config_field){.type = CONFIG_UNSIGNED_LIST}));
}
END_TEST

/* A list of mappings: each entry defaulted and bound into its slot, the rest zero. */
START_TEST(test_mapping_list_entries)
{
	const struct config_field *list = &bind_fields[find_field(bind_fields, "items")];
	const struct bind_entry *entry;
	struct bind_params other;
	char text[64];

	bind_text("needed: 1\nitems:\n  - {label: a}\n  - label: b\n    weight: 9\n");
	ck_assert_uint_eq(errors.count, 0);
	ck_assert_uint_eq(config_mapping_list_count(&params.items), 2);
	entry = config_mapping_list_entry(&params.items, sizeof(struct bind_entry), 0);
	ck_assert_str_eq(entry->label, "a");
	ck_assert_uint_eq(entry->weight, 5);
	entry = config_mapping_list_entry(&params.items, sizeof(struct bind_entry), 1);
	ck_assert_str_eq(entry->label, "b");
	ck_assert_uint_eq(entry->weight, 9);
	/* the later entry's key positions win, for a check to point at */
	ck_assert_uint_eq(positions[find_field(bind_fields, "items.weight")].line, 5);
	ck_assert_uint_eq(positions[find_field(bind_fields, "items")].line, 3);
	/* the entry rows are not the params struct's: no default lands at their offsets */
	ck_assert_uint_eq(params.size, 4096);
	ck_assert_ptr_eq(config_field_list_parent(bind_fields,
						  &bind_fields[find_field(bind_fields, "items.label")]),
			 list);
	ck_assert_ptr_null(config_field_list_parent(
		bind_fields, &bind_fields[find_field(bind_fields, "nested.count")]));
	ck_assert_ptr_null(config_field_list_parent(bind_fields, list));
	config_field_format(list, &params, text, sizeof(text));
	ck_assert_str_eq(text, "a list of 2 entries");
	other = params;
	ck_assert(!config_field_changed(list, &params, &other));
	other.items.entries[1].weight = 8;
	ck_assert(config_field_changed(list, &params, &other));
}
END_TEST

START_TEST(test_mapping_list_errors)
{
	bind_text("needed: 1\nitems:\n  - {weight: 1}\n  - 3\n  - {label: c, wieght: 2}\n"
		  "  - {label: d}\n");
	ck_assert_uint_eq(errors.count, 4);
	assert_error_is(0, 3, 5, "missing required key 'label' in this entry of 'items' in the "
				 "test table");
	assert_error_is(1, 4, 5, "entries of 'items' are mappings of keys, not a single value");
	assert_error_is(2, 5, 16, "unknown key 'wieght' in 'items' in the test table (did you "
				  "mean 'weight'?)");
	assert_error_is(3, 6, 5, "too many entries in 'items' (at most 2)");
	ck_assert_uint_eq(config_mapping_list_count(&params.items), 2);
	memset(&errors, 0, sizeof(errors));
	bind_text("needed: 1\nitems: 3\n");
	assert_error_is(0, 2, 8, "'items' takes a list of mappings, not a single value");
	memset(&errors, 0, sizeof(errors));
	bind_text("needed: 1\nitems: []\n");
	assert_error_is(0, 2, 8, "'items' is an empty list");
}
END_TEST

/* Properties: any keys, in file order, packed as key=value pairs, read back and compared whole. */
START_TEST(test_properties_bound_in_order)
{
	static const char expected[] = "acks=all\0linger.ms=5\0";
	struct bind_params other;
	const struct config_field *field = &bind_fields[find_field(bind_fields, "props")];
	const char *pair;
	char text[64];

	bind_text("needed: 1\nprops: {acks: all, linger.ms: 5}\n");
	ck_assert_uint_eq(errors.count, 0);
	ck_assert_mem_eq(params.props, expected, sizeof(expected));
	ck_assert_uint_eq(params.props[sizeof(expected)], 0);
	pair = config_properties_next(params.props, NULL);
	ck_assert_str_eq(pair, "acks=all");
	pair = config_properties_next(params.props, pair);
	ck_assert_str_eq(pair, "linger.ms=5");
	ck_assert_ptr_null(config_properties_next(params.props, pair));
	config_field_format(field, &params, text, sizeof(text));
	ck_assert_str_eq(text, "{acks: all, linger.ms: 5}");
	other = params;
	ck_assert(!config_field_changed(field, &params, &other));
	other.props[5] = 'b'; /* acks=bll */
	ck_assert(config_field_changed(field, &params, &other));
}
END_TEST

START_TEST(test_properties_errors)
{
	bind_text("needed: 1\nprops: {a: [1], b: '', \"=c\": 1, a: 2, "
		  "long.property.name: 0123456789abcdefghij}\n");
	ck_assert_uint_eq(errors.count, 5);
	assert_error_is(0, 2, 12, "property 'a' of 'props' takes a single value, not a list");
	assert_error_is(1, 2, 17, "property 'b' of 'props' is empty");
	assert_error_is(2, 2, 24, "'=c' is not a property name (empty, or with '=')");
	assert_error_is(3, 2, 33, "duplicate key 'a' (first at line 2, column 9)");
	assert_error_is(4, 2, 39, "'props' is too long (at most 39 bytes of key=value pairs)");
	memset(&errors, 0, sizeof(errors));
	bind_text("needed: 1\nprops: 5\n");
	assert_error_is(0, 2, 8, "'props' takes a mapping of keys, not a single value");
}
END_TEST

Suite *
config_bind_suite(void)
{
	Suite *suite = suite_create("config_bind");
	TCase *binder = tcase_create("binder");

	tcase_add_checked_fixture(binder, setup, teardown);
	tcase_add_test(binder, test_rows_defaults_and_positions);
	tcase_add_test(binder, test_unknown_duplicate_and_required);
	tcase_add_test(binder, test_check_context);
	tcase_add_test(binder, test_key_positions_and_code_bound_rows);
	tcase_add_test(binder, test_properties_bound_in_order);
	tcase_add_test(binder, test_mapping_list_entries);
	tcase_add_test(binder, test_mapping_list_errors);
	tcase_add_test(binder, test_properties_errors);
	suite_add_tcase(suite, binder);
	return suite;
}
