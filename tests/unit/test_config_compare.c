/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config_compare.c and the generic reload rules on their own: a made-up
 * kernel type whose table has a key of every need shows that the plan reads
 * the rows (change, exclusive) and nothing of a kernel's own.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <check.h>

#include "config_compare.h"
#include "kernel.h"
#include "reload.h"
#include "suites.h"

struct example_params {
	char device[32];
	uint64_t window_ns;
	uint64_t capacity;
	uint64_t budget;
	uint64_t loops;
	bool verbose;
	uint32_t mode;
	double share;
	struct config_unsigned_list sizes;
};

static const char *const example_modes[] = {"fast", "exact", NULL};

static const struct config_field example_fields[] = {
	{.key = "device", .type = CONFIG_STRING, .offset = offsetof(struct example_params, device),
	 .size = 32, .change = CONFIG_CHANGE_RESTART, .exclusive = true},
	{.key = "window", .type = CONFIG_DURATION,
	 .offset = offsetof(struct example_params, window_ns)},
	{.key = "capacity", .type = CONFIG_SIZE, .offset = offsetof(struct example_params, capacity),
	 .change = CONFIG_CHANGE_REPLACE},
	{.key = "budget", .type = CONFIG_UNSIGNED, .offset = offsetof(struct example_params, budget),
	 .change = CONFIG_CHANGE_LIVE},
	{.key = "loops", .type = CONFIG_UNSIGNED, .offset = offsetof(struct example_params, loops),
	 .special_word = "forever", .special_value = UINT64_MAX},
	{.key = "verbose", .type = CONFIG_BOOL, .offset = offsetof(struct example_params, verbose)},
	{.key = "mode", .type = CONFIG_CHOICE, .offset = offsetof(struct example_params, mode),
	 .choices = example_modes},
	{.key = "share", .type = CONFIG_REAL, .offset = offsetof(struct example_params, share)},
	{.key = "sizes", .type = CONFIG_UNSIGNED_LIST,
	 .offset = offsetof(struct example_params, sizes)},
	{.key = NULL},
};

#define EXAMPLE_FIELD_COUNT (sizeof(example_fields) / sizeof(example_fields[0]) - 1)

static void
example_take_state(struct kernel_instance *instance, struct kernel_instance *old)
{
	kernel_swap_state(instance, old);
}

static int
example_describe(const void *params, char *text, size_t size)
{
	(void)params;
	return snprintf(text, size, "no device");
}

static const struct kernel_ops example_kernel = {
	.name = "example",
	.input_type = STREAM_PACKET,
	.output_type = STREAM_ALERT,
	.params_size = sizeof(struct example_params),
	.config_map = example_fields,
	.describe = example_describe,
	.take_state = example_take_state,
};

/* Same table, no take_state: a change that would take state replaces. */
static const struct kernel_ops stateless_kernel = {
	.name = "stateless",
	.input_type = STREAM_PACKET,
	.output_type = STREAM_ALERT,
	.params_size = sizeof(struct example_params),
	.config_map = example_fields,
};

static struct config old_config, new_config;
static struct example_params old_params[2], new_params[2];
static struct config_position old_positions[2][EXAMPLE_FIELD_COUNT];
static struct config_position new_positions[2][EXAMPLE_FIELD_COUNT];
static struct config_errors errors;
static struct reload_plan plan;

static void
add_kernel(struct config *config, const char *name, const struct kernel_ops *ops, void *params,
	   struct config_position *positions)
{
	struct kernel_spec *spec = &config->kernels[config->kernel_count++];

	snprintf(spec->name, sizeof(spec->name), "%s", name);
	spec->ops = ops;
	spec->params = params;
	spec->key_positions = positions;
	spec->replicas = 1;
	spec->position = (struct config_position){.file = "new.yaml", .line = 3, .column = 3};
}

static void
setup(void)
{
	memset(&old_config, 0, sizeof(old_config));
	memset(&new_config, 0, sizeof(new_config));
	memset(old_params, 0, sizeof(old_params));
	memset(new_params, 0, sizeof(new_params));
	memset(old_positions, 0, sizeof(old_positions));
	memset(new_positions, 0, sizeof(new_positions));
	memset(&errors, 0, sizeof(errors));
	add_kernel(&old_config, "probe", &example_kernel, &old_params[0], old_positions[0]);
	add_kernel(&new_config, "probe", &example_kernel, &new_params[0], new_positions[0]);
}

static int
plan_it(void)
{
	return reload_plan(&old_config, &new_config, &plan, &errors);
}

static void
assert_plan(enum reload_action action)
{
	ck_assert_msg(plan_it() == 0, "%s", errors.count > 0 ? errors.items[0].message : "");
	ck_assert_int_eq(plan.actions[0], action);
}

static const struct config_field *
field(const char *key)
{
	for (const struct config_field *row = example_fields; row->key != NULL; row++)
		if (strcmp(row->key, key) == 0)
			return row;
	ck_abort_msg("no key %s", key);
	return NULL;
}

START_TEST(test_changed_by_type)
{
	struct example_params a = {0}, b = {0};

	for (const struct config_field *row = example_fields; row->key != NULL; row++)
		ck_assert_msg(!config_field_changed(row, &a, &b), "%s", row->key);
	snprintf(b.device, sizeof(b.device), "net_null0");
	b.window_ns = 1;
	b.capacity = 1;
	b.budget = 1;
	b.loops = 1;
	b.verbose = true;
	b.mode = 1;
	b.share = 0.5;
	b.sizes.count = 1;
	for (const struct config_field *row = example_fields; row->key != NULL; row++)
		ck_assert_msg(config_field_changed(row, &a, &b), "%s", row->key);
}
END_TEST

static const char *
format(const char *key, const struct example_params *params)
{
	static char text[128];

	config_field_format(field(key), params, text, sizeof(text));
	return text;
}

/* Values read as they would be written in a file, so a message can quote them. */
START_TEST(test_format_as_written)
{
	struct example_params params = {.window_ns = 100000000, .capacity = 512ull << 20,
					.loops = UINT64_MAX, .mode = 1, .share = 0.25,
					.sizes = {.count = 2, .values = {64, 1500}}};

	ck_assert_str_eq(format("window", &params), "100ms");
	ck_assert_str_eq(format("capacity", &params), "512M");
	ck_assert_str_eq(format("loops", &params), "forever");
	ck_assert_str_eq(format("mode", &params), "exact");
	ck_assert_str_eq(format("share", &params), "0.25");
	ck_assert_str_eq(format("sizes", &params), "[64, 1500]");
	ck_assert_str_eq(format("verbose", &params), "false");
	ck_assert_str_eq(format("device", &params), "");
	params.window_ns = 1500;
	params.capacity = 1000;
	params.loops = 3;
	params.sizes.count = 1;
	ck_assert_str_eq(format("window", &params), "1500ns");
	ck_assert_str_eq(format("capacity", &params), "1000");
	ck_assert_str_eq(format("loops", &params), "3");
	ck_assert_str_eq(format("sizes", &params), "64");
}
END_TEST

/* Each row's need decides the action; unchanged parameters keep the instance. */
START_TEST(test_action_from_rows)
{
	assert_plan(RELOAD_KEEP);
	new_params[0].window_ns = 1000;
	assert_plan(RELOAD_TAKE_STATE);
	new_params[0].budget = 5; /* a LIVE kernel key: the new instance takes the state */
	assert_plan(RELOAD_TAKE_STATE);
	new_params[0].capacity = 1 << 20; /* the strongest need wins */
	assert_plan(RELOAD_REPLACE);
	ck_assert(plan.retiring[0]);
	ck_assert_uint_eq(plan.removed_count, 0);

	/* no take_state: what would take state replaces */
	memset(&new_params[0], 0, sizeof(new_params[0]));
	new_params[0].window_ns = 1000;
	old_config.kernels[0].ops = new_config.kernels[0].ops = &stateless_kernel;
	assert_plan(RELOAD_REPLACE);
	/* other cores: replaced, whatever the keys */
	old_config.kernels[0].ops = new_config.kernels[0].ops = &example_kernel;
	memset(&new_params[0], 0, sizeof(new_params[0]));
	new_config.kernels[0].core_count = 1;
	new_config.kernels[0].cores[0] = 1;
	assert_plan(RELOAD_REPLACE);
}
END_TEST

/* A RESTART key is refused with its running value, at the key in the new file. */
START_TEST(test_restart_key_refused)
{
	snprintf(old_params[0].device, 32, "net_null0");
	snprintf(new_params[0].device, 32, "net_null1");
	new_positions[0][0] = (struct config_position){.file = "new.yaml", .line = 5, .column = 13};
	ck_assert_int_eq(plan_it(), -EINVAL);
	ck_assert_uint_eq(errors.count, 1);
	ck_assert_uint_eq(errors.items[0].position.line, 5);
	ck_assert_uint_eq(errors.items[0].position.column, 13);
	ck_assert_str_eq(errors.items[0].message, "kernel 'probe': key 'device' cannot change "
						  "without a restart (running: net_null0)");
}
END_TEST

/* An unset running value is said by the kernel's describe(); the error falls back to the name. */
START_TEST(test_restart_key_running_described)
{
	snprintf(new_params[0].device, 32, "net_null1");
	ck_assert_int_eq(plan_it(), -EINVAL);
	ck_assert_uint_eq(errors.items[0].position.line, 3);
	ck_assert_str_eq(errors.items[0].message, "kernel 'probe': key 'device' cannot change "
						  "without a restart (running: no device)");
}
END_TEST

/* A device behind an exclusive key is held: not taken by an added kernel, not replaced live. */
START_TEST(test_exclusive_device_held)
{
	snprintf(old_params[0].device, 32, "net_null0");
	snprintf(new_params[0].device, 32, "net_null0");
	new_params[0].capacity = 1 << 20;
	ck_assert_int_eq(plan_it(), -EINVAL);
	ck_assert_str_eq(errors.items[0].message,
			 "kernel 'probe': holds device 'net_null0', so it cannot be replaced live "
			 "(its replicas, cores or keys changed); restart to apply");

	/* renamed, on the same device */
	memset(&errors, 0, sizeof(errors));
	new_params[0].capacity = 0;
	snprintf(new_config.kernels[0].name, CONFIG_NAME_MAX, "probe2");
	ck_assert_int_eq(plan_it(), -EINVAL);
	ck_assert_uint_eq(errors.count, 1);
	ck_assert_str_eq(errors.items[0].message, "kernel 'probe2': device 'net_null0' is held by "
						  "kernel 'probe'; moving it needs a restart");

	/* on another device: a new kernel beside a retiring one */
	memset(&errors, 0, sizeof(errors));
	snprintf(new_params[0].device, 32, "net_null1");
	assert_plan(RELOAD_ADD);
	ck_assert(plan.retiring[0]);
	ck_assert_uint_eq(plan.removed_count, 1);
	ck_assert_ptr_eq(config_exclusive_holder(&old_config, "net_null0"), &old_config.kernels[0]);
	ck_assert_ptr_null(config_exclusive_holder(&old_config, "net_null1"));
}
END_TEST

Suite *
config_compare_suite(void)
{
	Suite *suite = suite_create("config_compare");
	TCase *values = tcase_create("values");
	TCase *rules = tcase_create("rules");

	tcase_add_test(values, test_changed_by_type);
	tcase_add_test(values, test_format_as_written);
	tcase_add_checked_fixture(rules, setup, NULL);
	tcase_add_test(rules, test_action_from_rows);
	tcase_add_test(rules, test_restart_key_refused);
	tcase_add_test(rules, test_restart_key_running_described);
	tcase_add_test(rules, test_exclusive_device_held);
	suite_add_tcase(suite, values);
	suite_add_tcase(suite, rules);
	return suite;
}
