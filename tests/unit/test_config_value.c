/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config_value.c on its own: text into the fields of a made-up params
 * struct, with units, bounds and messages; no YAML, no file.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <check.h>

#include "config_map.h"
#include "suites.h"

struct value_params {
	uint64_t number;
	struct config_unsigned_list list;
};

static struct value_params params;
static char message[256];

/* @p text parsed as a @p type field bounded by @p minimum and @p maximum. */
static int
parse_as(enum config_type type, uint64_t minimum, uint64_t maximum, const char *text)
{
	const struct config_field field = {
		.key = "x", .type = type, .minimum = minimum, .maximum = maximum,
		.offset = type == CONFIG_UNSIGNED_LIST ? offsetof(struct value_params, list)
						       : offsetof(struct value_params, number),
	};

	memset(&params, 0xa5, sizeof(params));
	message[0] = '\0';
	return config_parse_value(&field, text, &params, message, sizeof(message));
}

START_TEST(test_units_of_each_type)
{
	ck_assert_int_eq(parse_as(CONFIG_UNSIGNED, 0, 0, "256k"), 0);
	ck_assert_uint_eq(params.number, 256000);
	ck_assert_int_eq(parse_as(CONFIG_UNSIGNED, 0, 0, "2G"), 0);
	ck_assert_uint_eq(params.number, 2000000000ull);
	ck_assert_int_eq(parse_as(CONFIG_SIZE, 0, 0, "64KB"), 0);
	ck_assert_uint_eq(params.number, 65536);
	ck_assert_int_eq(parse_as(CONFIG_SIZE, 0, 0, "3M"), 0);
	ck_assert_uint_eq(params.number, 3ull << 20);
	ck_assert_int_eq(parse_as(CONFIG_DURATION, 0, 0, "90s"), 0);
	ck_assert_uint_eq(params.number, 90000000000ull);
	ck_assert_int_eq(parse_as(CONFIG_DURATION, 0, 0, "250us"), 0);
	ck_assert_uint_eq(params.number, 250000);
	ck_assert_int_eq(parse_as(CONFIG_DURATION, 0, 0, "2d"), 0);
	ck_assert_uint_eq(params.number, 2 * 86400000000000ull);
}
END_TEST

START_TEST(test_units_refused)
{
	ck_assert_int_eq(parse_as(CONFIG_DURATION, 0, 0, "5"), -EINVAL);
	ck_assert_str_eq(message, "duration '5' needs a unit (250us, 100ms, 1s, 5m, 1h, 1d)");
	ck_assert_int_eq(parse_as(CONFIG_SIZE, 0, 0, "5ms"), -EINVAL);
	ck_assert_str_eq(message,
			 "invalid value '5ms' for 'x': expected a size such as 4096, 64k or 512M");
	ck_assert_int_eq(parse_as(CONFIG_UNSIGNED, 0, 0, "20000000000G"), -EINVAL);
	ck_assert_str_eq(message, "value '20000000000G' for 'x' is too large");
	ck_assert_int_eq(parse_as(CONFIG_UNSIGNED, 0, 0, "-1"), -EINVAL);
}
END_TEST

/* Bounds are shown in the unit that writes them exactly with the fewest digits. */
START_TEST(test_bounds_shown_in_units)
{
	ck_assert_int_eq(parse_as(CONFIG_SIZE, 2048, 0, "1k"), -EINVAL);
	ck_assert_str_eq(message, "value 1k for 'x' is below the minimum 2k");
	ck_assert_int_eq(parse_as(CONFIG_DURATION, 0, 60000000000ull, "90s"), -EINVAL);
	ck_assert_str_eq(message, "value 90s for 'x' is above the maximum 1m");
	ck_assert_int_eq(parse_as(CONFIG_UNSIGNED, 10, 0, "1k"), 0);
	ck_assert_int_eq(parse_as(CONFIG_UNSIGNED, 0, 999, "1k"), -EINVAL);
	ck_assert_str_eq(message, "value 1000 for 'x' is above the maximum 999");
}
END_TEST

/* A single value of a list field is a list of one, the rest zeroed for byte comparisons. */
START_TEST(test_list_of_one)
{
	ck_assert_int_eq(parse_as(CONFIG_UNSIGNED_LIST, 1, 8, "3"), 0);
	ck_assert_uint_eq(params.list.count, 1);
	ck_assert_uint_eq(params.list.values[0], 3);
	for (unsigned i = 1; i < CONFIG_LIST_MAX; i++)
		ck_assert_uint_eq(params.list.values[i], 0);
	ck_assert_int_eq(parse_as(CONFIG_UNSIGNED_LIST, 1, 8, "9"), -EINVAL);
	ck_assert_str_eq(message, "value 9 for 'x' is above the maximum 8");
}
END_TEST

/* Rows that document keys bound by code never take a value from text. */
START_TEST(test_code_bound_types_refused)
{
	static const enum config_type types[] = {CONFIG_NAMES, CONFIG_STRING_LIST,
						 CONFIG_PATH_LIST, CONFIG_MAPPING};

	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		ck_assert_int_eq(parse_as(types[i], 0, 0, "a"), -EINVAL);
		ck_assert_ptr_nonnull(strstr(message, "'x'"));
	}
	ck_assert_str_eq(message, "'x' takes a mapping of keys, not a single value");
	ck_assert_int_eq(parse_as(CONFIG_PATH_LIST, 0, 0, "a"), -EINVAL);
	ck_assert_str_eq(message, "'x' takes a list, bound by the loader itself");
}
END_TEST

Suite *
config_value_suite(void)
{
	Suite *suite = suite_create("config_value");
	TCase *values = tcase_create("values");

	tcase_add_test(values, test_units_of_each_type);
	tcase_add_test(values, test_units_refused);
	tcase_add_test(values, test_bounds_shown_in_units);
	tcase_add_test(values, test_list_of_one);
	tcase_add_test(values, test_code_bound_types_refused);
	suite_add_tcase(suite, values);
	return suite;
}
