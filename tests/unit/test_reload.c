/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reload tests. The first half checks reload_plan() (pure): old and new
 * configurations are loaded from YAML files in a fresh temporary directory,
 * and the fate of every kernel, and the exact text and position of every
 * refusal, are asserted. The second half builds real graph generations (real
 * rings and a real mempool; no worker is launched and nothing is published)
 * and checks what graph_build_next() shares, creates and retires.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "config.h"
#include "graph.h"
#include "kernel_runtime.h"
#include "packet.h"
#include "reload.h"
#include "suites.h"
#include "test_directory.h"

extern const struct kernel_ops source_kernel;
extern const struct kernel_ops per_src_counter_kernel;
extern const struct kernel_ops threshold_kernel;
extern const struct kernel_ops sink_kernel;

static struct config_errors errors; /* static: too large to want on every test's stack */
static struct config *old_config, *new_config;
static struct reload_plan plan;

/* Graph tests: the running generation, the next one, and the move between them. */
static struct graph_layout layout;
static struct graph *previous, *next;
static struct graph_transition transition;
static char message[512];

/* ---- fixture and files ---------------------------------------------------- */

/* A pcap file with only its global header (Ethernet): empty, but libpcap opens it. */
static void
write_empty_pcap(const char *name)
{
	static const uint8_t header[24] = {
		0xd4, 0xc3, 0xb2, 0xa1, /* magic, little-endian, microseconds */
		0x02, 0x00, 0x04, 0x00, /* version 2.4 */
		0x00, 0x00, 0x00, 0x00, /* thiszone */
		0x00, 0x00, 0x00, 0x00, /* sigfigs */
		0xff, 0xff, 0x00, 0x00, /* snaplen 65535 */
		0x01, 0x00, 0x00, 0x00, /* linktype 1: Ethernet */
	};
	FILE *file = fopen(test_path(name), "wb");

	ck_assert_ptr_nonnull(file);
	ck_assert_uint_eq(fwrite(header, 1, sizeof(header), file), sizeof(header));
	fclose(file);
}

static void
setup(void)
{
	test_directory_create("jetstream_reload_");
	write_empty_pcap("sample.pcap");
	write_empty_pcap("other.pcap");
	memset(&errors, 0, sizeof(errors));
	memset(&plan, 0, sizeof(plan));
	old_config = new_config = NULL;
}

/* Idempotent: tests call it to check the release, teardown after a failed assertion. */
static void
release_graphs(void)
{
	if (transition.next != NULL)
		graph_transition_free(&transition);
	memset(&transition, 0, sizeof(transition));
	graph_release(previous);
	graph_release(next);
	previous = next = NULL;
}

static void
teardown(void)
{
	release_graphs();
	config_free(old_config);
	config_free(new_config);
	old_config = new_config = NULL;
	test_directory_remove();
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

/* Loads @p pipeline written as @p name, with the settings file @p settings_path (NULL = defaults). */
#define load(settings_path, name, pipeline) load_at(__LINE__, settings_path, name, pipeline)

static struct config *
load_at(int test_line, const char *settings_path, const char *name, const char *pipeline)
{
	const char *path = test_write_file(name, pipeline);
	struct config *config;

	memset(&errors, 0, sizeof(errors));
	config = config_load(settings_path, &path, 1, &errors);
	ck_assert_msg(config != NULL, "line %d: %s does not load:\n%s", test_line, name,
		      errors_text());
	return config;
}

/* Loads both configurations (old.yaml, new.yaml) and plans the reload between them. */
#define plan_reload(old_settings, old_text, new_settings, new_text) \
	plan_reload_at(__LINE__, old_settings, old_text, new_settings, new_text)

static int
plan_reload_at(int test_line, const char *old_settings, const char *old_text,
	       const char *new_settings, const char *new_text)
{
	config_free(old_config);
	config_free(new_config);
	old_config = new_config = NULL;
	old_config = load_at(test_line, old_settings, "old.yaml", old_text);
	new_config = load_at(test_line, new_settings, "new.yaml", new_text);
	memset(&errors, 0, sizeof(errors));
	return reload_plan(old_config, new_config, &plan, &errors);
}

/* The reload is accepted. */
#define assert_planned(old_text, new_text) assert_planned_at(__LINE__, old_text, new_text)

static void
assert_planned_at(int test_line, const char *old_text, const char *new_text)
{
	int result = plan_reload_at(test_line, NULL, old_text, NULL, new_text);

	ck_assert_msg(result == 0 && errors.count == 0,
		      "line %d: reload_plan refused (%d) with %u errors:\n%s", test_line, result,
		      errors.count, errors_text());
}

static int
kernel_index(const struct config *config, const char *name)
{
	for (unsigned k = 0; k < config->kernel_count; k++)
		if (strcmp(config->kernels[k].name, name) == 0)
			return (int)k;
	return -1;
}

/*
 * Kernel @p name of the new configuration gets @p action, continuing the old
 * kernel @p predecessor (NULL: none, predecessors[] is -1).
 */
#define assert_action(name, action, predecessor) \
	assert_action_at(__LINE__, name, action, predecessor)

static void
assert_action_at(int test_line, const char *name, enum reload_action action,
		 const char *predecessor)
{
	int k = kernel_index(new_config, name);
	int expected_predecessor = predecessor != NULL ? kernel_index(old_config, predecessor) : -1;

	ck_assert_msg(k >= 0, "line %d: no kernel '%s' in the new configuration", test_line, name);
	ck_assert_msg(predecessor == NULL || expected_predecessor >= 0,
		      "line %d: no kernel '%s' in the old configuration", test_line, predecessor);
	ck_assert_msg(plan.actions[k] == action, "line %d: kernel '%s': expected %s, got %s",
		      test_line, name, reload_action_name(action),
		      reload_action_name(plan.actions[k]));
	ck_assert_msg(plan.predecessors[k] == expected_predecessor,
		      "line %d: kernel '%s' (%s): expected predecessor %d, got %d", test_line, name,
		      reload_action_name(plan.actions[k]), expected_predecessor,
		      plan.predecessors[k]);
}

/* Exactly the old kernels named in @p names (NULL-terminated) retire; @p removed have no successor. */
#define assert_retiring(removed, ...) \
	assert_retiring_at(__LINE__, removed, (const char *const[]){__VA_ARGS__, NULL})

static void
assert_retiring_at(int test_line, unsigned removed, const char *const *names)
{
	for (unsigned k = 0; k < old_config->kernel_count; k++) {
		bool expected = false;

		for (const char *const *name = names; *name != NULL; name++)
			expected |= strcmp(*name, old_config->kernels[k].name) == 0;
		ck_assert_msg(plan.retiring[k] == expected, "line %d: old kernel '%s': retiring %s",
			      test_line, old_config->kernels[k].name,
			      plan.retiring[k] ? "true, expected false" : "false, expected true");
	}
	ck_assert_msg(plan.removed_count == removed, "line %d: removed_count %u, expected %u",
		      test_line, plan.removed_count, removed);
}

#define assert_nothing_retires() assert_retiring_at(__LINE__, 0, (const char *const[]){NULL})

static bool
ends_with(const char *text, const char *suffix)
{
	size_t text_length = strlen(text), suffix_length = strlen(suffix);

	return text_length >= suffix_length &&
	       strcmp(text + text_length - suffix_length, suffix) == 0;
}

/* reload_plan refused with exactly one error, in @p file (base name) at line:column. */
#define assert_refused(result, file, line, column, text) \
	assert_refused_at(__LINE__, result, file, line, column, text)

static void
assert_refused_at(int test_line, int result, const char *file, unsigned line, unsigned column,
		  const char *text)
{
	char suffix[PATH_MAX];
	const struct config_position *position = &errors.items[0].position;

	snprintf(suffix, sizeof(suffix), "/%s", file);
	ck_assert_msg(result == -EINVAL, "line %d: reload_plan returned %d, expected -EINVAL",
		      test_line, result);
	ck_assert_msg(errors.count == 1, "line %d: expected 1 error, got %u:\n%s", test_line,
		      errors.count, errors_text());
	ck_assert_msg(ends_with(position->file, suffix) && position->line == line &&
			      position->column == column && strcmp(errors.items[0].message, text) == 0,
		      "line %d: expected %s:%u:%u: error: %s\ngot:\n%s", test_line, file, line, column,
		      text, errors_text());
}

/* ---- pipelines ------------------------------------------------------------ */

#define HEAD "version: 1\n" \
	     "kernels:\n"
#define RX_PCAP(extra) \
	"  rx:\n"                            \
	"    type: source\n"                 \
	"    pcap: @DIR@/sample.pcap\n" extra
#define COUNT(extra) \
	"  count:\n"                         \
	"    type: per_src_counter\n"        \
	"    input: rx\n"                    \
	"    max_sources: 1k\n" extra
#define ALARM(extra) \
	"  alarm:\n"                         \
	"    type: threshold\n"              \
	"    input: count\n" extra
#define OUT(inputs, path) \
	"  out:\n"                           \
	"    type: sink\n"                   \
	"    input: " inputs "\n"            \
	"    path: " path "\n"

/* rx -> count -> alarm -> out, and count -> out */
#define BASE \
	HEAD RX_PCAP("") COUNT("    window: 1s\n") ALARM("    above: 100\n") \
		OUT("[count, alarm]", "@DIR@/out.jsonl")

/* ---- A. reload_plan --------------------------------------------------------- */

START_TEST(test_action_names)
{
	ck_assert_str_eq(reload_action_name(RELOAD_ADD), "added");
	ck_assert_str_eq(reload_action_name(RELOAD_KEEP), "kept");
	ck_assert_str_eq(reload_action_name(RELOAD_TAKE_STATE), "changed");
	ck_assert_str_eq(reload_action_name(RELOAD_REPLACE), "replaced");
	ck_assert_str_eq(reload_action_name((enum reload_action)42), "?");
}
END_TEST

START_TEST(test_identical_config_keeps_everything)
{
	assert_planned(BASE, BASE);
	ck_assert_uint_eq(new_config->kernel_count, 4);
	assert_action("rx", RELOAD_KEEP, "rx");
	assert_action("count", RELOAD_KEEP, "count");
	assert_action("alarm", RELOAD_KEEP, "alarm");
	assert_action("out", RELOAD_KEEP, "out");
	assert_nothing_retires();

	/* kernel order does not matter: matching is by name */
	assert_planned(BASE, HEAD OUT("[count, alarm]", "@DIR@/out.jsonl")
				     ALARM("    above: 100\n") RX_PCAP("") COUNT("    window: 1s\n"));
	assert_action("out", RELOAD_KEEP, "out");
	assert_action("alarm", RELOAD_KEEP, "alarm");
	assert_action("rx", RELOAD_KEEP, "rx");
	assert_action("count", RELOAD_KEEP, "count");
	ck_assert_int_eq(plan.predecessors[0], 3);
	ck_assert_int_eq(plan.predecessors[3], 1);
	assert_nothing_retires();

	/* inputs are wiring, not parameters: a kept kernel may be rewired */
	assert_planned(BASE, HEAD RX_PCAP("") COUNT("    window: 1s\n") ALARM("    above: 100\n")
				     OUT("alarm", "@DIR@/out.jsonl"));
	assert_action("out", RELOAD_KEEP, "out");
	assert_nothing_retires();
}
END_TEST

START_TEST(test_threshold_above_takes_state)
{
	assert_planned(BASE, HEAD RX_PCAP("") COUNT("    window: 1s\n") ALARM("    above: 200\n")
				     OUT("[count, alarm]", "@DIR@/out.jsonl"));
	assert_action("rx", RELOAD_KEEP, "rx");
	assert_action("count", RELOAD_KEEP, "count");
	assert_action("alarm", RELOAD_TAKE_STATE, "alarm");
	assert_action("out", RELOAD_KEEP, "out");
	assert_nothing_retires();

	/* metric too */
	assert_planned(BASE, HEAD RX_PCAP("") COUNT("    window: 1s\n")
				     ALARM("    above: 100\n    metric: bytes\n")
					     OUT("[count, alarm]", "@DIR@/out.jsonl"));
	assert_action("alarm", RELOAD_TAKE_STATE, "alarm");
	assert_nothing_retires();
}
END_TEST

START_TEST(test_counter_window_takes_state)
{
	/* 1s -> 2s */
	assert_planned(BASE, HEAD RX_PCAP("") COUNT("    window: 2s\n") ALARM("    above: 100\n")
				     OUT("[count, alarm]", "@DIR@/out.jsonl"));
	assert_action("count", RELOAD_TAKE_STATE, "count");
	assert_action("rx", RELOAD_KEEP, "rx");
	assert_action("alarm", RELOAD_KEEP, "alarm");
	assert_action("out", RELOAD_KEEP, "out");
	assert_nothing_retires();

	/* total (the default) -> 1s */
	assert_planned(HEAD RX_PCAP("") COUNT("") OUT("count", "@DIR@/out.jsonl"),
		       HEAD RX_PCAP("") COUNT("    window: 1s\n") OUT("count", "@DIR@/out.jsonl"));
	assert_action("count", RELOAD_TAKE_STATE, "count");
	assert_nothing_retires();

	/* 1s -> total */
	assert_planned(HEAD RX_PCAP("") COUNT("    window: 1s\n") OUT("count", "@DIR@/out.jsonl"),
		       HEAD RX_PCAP("") COUNT("    window: total\n")
			       OUT("count", "@DIR@/out.jsonl"));
	assert_action("count", RELOAD_TAKE_STATE, "count");
	assert_nothing_retires();

	/* the default written out is no change */
	assert_planned(HEAD RX_PCAP("") COUNT("") OUT("count", "@DIR@/out.jsonl"),
		       HEAD RX_PCAP("") COUNT("    window: total\n")
			       OUT("count", "@DIR@/out.jsonl"));
	assert_action("count", RELOAD_KEEP, "count");
	assert_nothing_retires();
}
END_TEST

START_TEST(test_counter_capacity_replaces)
{
	/* COUNT() has max_sources: 1k; tables of another capacity cannot be taken over */
	assert_planned(BASE, HEAD RX_PCAP("")
				     "  count:\n"
				     "    type: per_src_counter\n"
				     "    input: rx\n"
				     "    max_sources: 2k\n"
				     "    window: 1s\n" ALARM("    above: 100\n")
					     OUT("[count, alarm]", "@DIR@/out.jsonl"));
	assert_action("count", RELOAD_REPLACE, "count");
	assert_action("rx", RELOAD_KEEP, "rx");
	assert_action("alarm", RELOAD_KEEP, "alarm");
	assert_action("out", RELOAD_KEEP, "out");
	assert_retiring(0, "count"); /* replaced, not removed */

	/* capacity and window together: still replaced */
	assert_planned(BASE, HEAD RX_PCAP("")
				     "  count:\n"
				     "    type: per_src_counter\n"
				     "    input: rx\n"
				     "    max_sources: 2k\n"
				     "    window: 5s\n" ALARM("    above: 100\n")
					     OUT("[count, alarm]", "@DIR@/out.jsonl"));
	assert_action("count", RELOAD_REPLACE, "count");
	assert_retiring(0, "count");
}
END_TEST

START_TEST(test_replicas_replace)
{
	assert_planned(BASE, HEAD RX_PCAP("") COUNT("    window: 1s\n    replicas: 2\n")
				     ALARM("    above: 100\n") OUT("[count, alarm]", "@DIR@/out.jsonl"));
	assert_action("count", RELOAD_REPLACE, "count");
	assert_action("alarm", RELOAD_KEEP, "alarm");
	assert_retiring(0, "count");

	/* replicas and a state-taking parameter: replaced, state follows no replica */
	assert_planned(BASE, HEAD RX_PCAP("") COUNT("    window: 2s\n    replicas: 2\n")
				     ALARM("    above: 100\n") OUT("[count, alarm]", "@DIR@/out.jsonl"));
	assert_action("count", RELOAD_REPLACE, "count");
	assert_retiring(0, "count");

	/* `replicas: 1` written out is the default */
	assert_planned(BASE, HEAD RX_PCAP("") COUNT("    window: 1s\n    replicas: 1\n")
				     ALARM("    above: 100\n") OUT("[count, alarm]", "@DIR@/out.jsonl"));
	assert_action("count", RELOAD_KEEP, "count");
	assert_nothing_retires();
}
END_TEST

START_TEST(test_cores_replace)
{
	char settings[PATH_MAX + 64];
	int result;

	snprintf(settings, sizeof(settings), "%s", test_write_file("s.yaml", "lcores: 0-2\n"));

	result = plan_reload(settings, BASE, settings,
			     HEAD RX_PCAP("") COUNT("    window: 1s\n    cores: 2\n")
				     ALARM("    above: 100\n") OUT("[count, alarm]", "@DIR@/out.jsonl"));
	ck_assert_msg(result == 0, "%s", errors_text());
	assert_action("count", RELOAD_REPLACE, "count");
	assert_action("alarm", RELOAD_KEEP, "alarm");
	assert_retiring(0, "count");

	/* 1 -> 2 */
	result = plan_reload(settings,
			     HEAD RX_PCAP("") COUNT("    window: 1s\n    cores: 1\n")
				     ALARM("    above: 100\n") OUT("[count, alarm]", "@DIR@/out.jsonl"),
			     settings,
			     HEAD RX_PCAP("") COUNT("    window: 1s\n    cores: 2\n")
				     ALARM("    above: 100\n") OUT("[count, alarm]", "@DIR@/out.jsonl"));
	ck_assert_msg(result == 0, "%s", errors_text());
	assert_action("count", RELOAD_REPLACE, "count");
	assert_retiring(0, "count");

	/* [1, 2] -> [2, 1] with two replicas, and a window change: state stays per lcore, so replaced */
	result = plan_reload(
		settings,
		HEAD RX_PCAP("") COUNT("    window: 1s\n    replicas: 2\n    cores: [1, 2]\n")
			ALARM("    above: 100\n") OUT("[count, alarm]", "@DIR@/out.jsonl"),
		settings,
		HEAD RX_PCAP("") COUNT("    window: 2s\n    replicas: 2\n    cores: [2, 1]\n")
			ALARM("    above: 100\n") OUT("[count, alarm]", "@DIR@/out.jsonl"));
	ck_assert_msg(result == 0, "%s", errors_text());
	assert_action("count", RELOAD_REPLACE, "count");
	assert_retiring(0, "count");

	/* same cores, written as a list: kept */
	result = plan_reload(settings,
			     HEAD RX_PCAP("") COUNT("    window: 1s\n    cores: 1\n")
				     ALARM("    above: 100\n") OUT("[count, alarm]", "@DIR@/out.jsonl"),
			     settings,
			     HEAD RX_PCAP("") COUNT("    window: 1s\n    cores: [1]\n")
				     ALARM("    above: 100\n") OUT("[count, alarm]", "@DIR@/out.jsonl"));
	ck_assert_msg(result == 0, "%s", errors_text());
	assert_action("count", RELOAD_KEEP, "count");
	assert_nothing_retires();
}
END_TEST

START_TEST(test_sink_path_replaces)
{
	assert_planned(BASE, HEAD RX_PCAP("") COUNT("    window: 1s\n") ALARM("    above: 100\n")
				     OUT("[count, alarm]", "@DIR@/other.jsonl"));
	assert_action("out", RELOAD_REPLACE, "out"); /* a sink has no take_state */
	assert_action("rx", RELOAD_KEEP, "rx");
	assert_action("count", RELOAD_KEEP, "count");
	assert_action("alarm", RELOAD_KEEP, "alarm");
	assert_retiring(0, "out");
}
END_TEST

START_TEST(test_rename_is_removal_and_addition)
{
	assert_planned(BASE, HEAD RX_PCAP("")
				     "  counter2:\n"
				     "    type: per_src_counter\n"
				     "    input: rx\n"
				     "    max_sources: 1k\n"
				     "    window: 1s\n"
				     "  alarm:\n"
				     "    type: threshold\n"
				     "    input: counter2\n"
				     "    above: 100\n" OUT("[counter2, alarm]", "@DIR@/out.jsonl"));
	assert_action("counter2", RELOAD_ADD, NULL);
	assert_action("rx", RELOAD_KEEP, "rx");
	assert_action("alarm", RELOAD_KEEP, "alarm"); /* rewired only */
	assert_action("out", RELOAD_KEEP, "out");
	assert_retiring(1, "count");
}
END_TEST

START_TEST(test_type_change_is_removal_and_addition)
{
	/* alarm: threshold -> sink */
	assert_planned(BASE, HEAD RX_PCAP("") COUNT("    window: 1s\n")
				     "  alarm:\n"
				     "    type: sink\n"
				     "    input: count\n"
				     "    path: @DIR@/alarm.jsonl\n" OUT("count", "@DIR@/out.jsonl"));
	assert_action("alarm", RELOAD_ADD, NULL);
	assert_action("rx", RELOAD_KEEP, "rx");
	assert_action("count", RELOAD_KEEP, "count");
	assert_action("out", RELOAD_KEEP, "out");
	/* the old alarm retires with no successor: removed, and a new alarm is added */
	assert_retiring(1, "alarm");
	ck_assert(reload_removed(&plan, old_config, new_config, 2));
}
END_TEST

START_TEST(test_kernel_removed)
{
	assert_planned(BASE, HEAD RX_PCAP("") COUNT("    window: 1s\n")
				     OUT("count", "@DIR@/out.jsonl"));
	ck_assert_uint_eq(new_config->kernel_count, 3);
	assert_action("rx", RELOAD_KEEP, "rx");
	assert_action("count", RELOAD_KEEP, "count");
	assert_action("out", RELOAD_KEEP, "out");
	assert_retiring(1, "alarm");

	/* two at once */
	assert_planned(BASE "  out2:\n"
			    "    type: sink\n"
			    "    input: alarm\n"
			    "    path: @DIR@/out2.jsonl\n",
		       HEAD RX_PCAP("") COUNT("    window: 1s\n") OUT("count", "@DIR@/out.jsonl"));
	assert_action("rx", RELOAD_KEEP, "rx");
	assert_action("count", RELOAD_KEEP, "count");
	assert_action("out", RELOAD_KEEP, "out");
	assert_retiring(2, "alarm", "out2");
}
END_TEST

START_TEST(test_kernel_added)
{
	assert_planned(BASE, BASE "  alarm2:\n"
				  "    type: threshold\n"
				  "    input: count\n"
				  "    above: 5\n"
				  "  out2:\n"
				  "    type: sink\n"
				  "    input: alarm2\n"
				  "    path: @DIR@/out2.jsonl\n");
	ck_assert_uint_eq(new_config->kernel_count, 6);
	assert_action("alarm2", RELOAD_ADD, NULL);
	assert_action("out2", RELOAD_ADD, NULL);
	assert_action("rx", RELOAD_KEEP, "rx");
	assert_action("count", RELOAD_KEEP, "count");
	assert_action("alarm", RELOAD_KEEP, "alarm");
	assert_action("out", RELOAD_KEEP, "out");
	assert_nothing_retires();
}
END_TEST

START_TEST(test_pcap_source_changes)
{
	/* loop: the same file goes on from where it is */
	assert_planned(BASE, HEAD RX_PCAP("    loop: forever\n") COUNT("    window: 1s\n")
				     ALARM("    above: 100\n") OUT("[count, alarm]", "@DIR@/out.jsonl"));
	assert_action("rx", RELOAD_TAKE_STATE, "rx");
	assert_action("count", RELOAD_KEEP, "count");
	assert_nothing_retires();

	/* rate_pps too */
	assert_planned(BASE, HEAD RX_PCAP("    rate_pps: 1000\n") COUNT("    window: 1s\n")
				     ALARM("    above: 100\n") OUT("[count, alarm]", "@DIR@/out.jsonl"));
	assert_action("rx", RELOAD_TAKE_STATE, "rx");
	assert_nothing_retires();

	/* another file starts afresh */
	assert_planned(BASE, HEAD "  rx:\n"
				  "    type: source\n"
				  "    pcap: @DIR@/other.pcap\n" COUNT("    window: 1s\n")
					  ALARM("    above: 100\n")
						  OUT("[count, alarm]", "@DIR@/out.jsonl"));
	assert_action("rx", RELOAD_REPLACE, "rx");
	assert_action("count", RELOAD_KEEP, "count");
	assert_retiring(0, "rx");
}
END_TEST

/* rx on a port; lines are numbered for the error positions. */
#define PORT_PIPELINE(port_line, extra) \
	"version: 1\n"                 /* 1 */ \
	"kernels:\n"                   /* 2 */ \
	"  rx:\n"                      /* 3 */ \
	"    type: source\n"           /* 4 */ \
	port_line                      /* 5 */ \
	extra                          /* 6: optional */ \
	"  count:\n"                                 \
	"    type: per_src_counter\n"                \
	"    input: rx\n"                            \
	"    max_sources: 1k\n"                      \
	"  out:\n"                                   \
	"    type: sink\n"                           \
	"    input: count\n"                         \
	"    path: @DIR@/out.jsonl\n"

START_TEST(test_port_source_refused_changes)
{
	int result;

	/* the same port: kept */
	assert_planned(PORT_PIPELINE("    port: net_null0\n", ""),
		       PORT_PIPELINE("    port: \"net_null0\"\n", ""));
	assert_action("rx", RELOAD_KEEP, "rx");
	assert_nothing_retires();

	/* another device */
	result = plan_reload(NULL, PORT_PIPELINE("    port: net_null0\n", ""), NULL,
			     PORT_PIPELINE("    port: net_null1\n", ""));
	assert_refused(result, "new.yaml", 5, 11,
		       "kernel 'rx': key 'port' cannot change without a restart (running: "
		       "net_null0)");

	/* another queue count (also written from the default) */
	result = plan_reload(NULL, PORT_PIPELINE("    port: net_null0\n", ""), NULL,
			     PORT_PIPELINE("    port: net_null0\n", "    queues: 2\n"));
	assert_refused(result, "new.yaml", 6, 13,
		       "kernel 'rx': key 'queues' cannot change without a restart (running: 1)");
	result = plan_reload(NULL, PORT_PIPELINE("    port: net_null0\n", "    queues: 4\n"), NULL,
			     PORT_PIPELINE("    port: net_null0\n", "    queues: 2\n"));
	assert_refused(result, "new.yaml", 6, 13,
		       "kernel 'rx': key 'queues' cannot change without a restart (running: 4)");
	/* back to the default: no `queues:` to point at, so the kernel name */
	result = plan_reload(NULL, PORT_PIPELINE("    port: net_null0\n", "    queues: 4\n"), NULL,
			     PORT_PIPELINE("    port: net_null0\n", ""));
	assert_refused(result, "new.yaml", 3, 3,
		       "kernel 'rx': key 'queues' cannot change without a restart (running: 4)");

	/* a file source turned into a port */
	result = plan_reload(NULL, PORT_PIPELINE("    pcap: @DIR@/sample.pcap\n", ""), NULL,
			     PORT_PIPELINE("    port: net_null0\n", ""));
	assert_refused(result, "new.yaml", 5, 11,
		       "kernel 'rx': key 'port' cannot change without a restart (running: a pcap "
		       "file)");

	/* and a port turned into a file */
	result = plan_reload(NULL, PORT_PIPELINE("    port: net_null0\n", ""), NULL,
			     PORT_PIPELINE("    pcap: @DIR@/sample.pcap\n", ""));
	assert_refused(result, "new.yaml", 5, 11,
		       "kernel 'rx': key 'port' cannot change without a restart (running: "
		       "net_null0)");

	/* a port turned into a generator, and back: the error points at the new mode's key */
	result = plan_reload(NULL, PORT_PIPELINE("    port: net_null0\n", ""), NULL,
			     PORT_PIPELINE("    synthetic: {sources: 10}\n", ""));
	assert_refused(result, "new.yaml", 5, 16,
		       "kernel 'rx': key 'port' cannot change without a restart (running: "
		       "net_null0)");
	result = plan_reload(NULL, PORT_PIPELINE("    synthetic: {sources: 10}\n", ""), NULL,
			     PORT_PIPELINE("    port: net_null0\n", ""));
	assert_refused(result, "new.yaml", 5, 11,
		       "kernel 'rx': key 'port' cannot change without a restart (running: a "
		       "synthetic source)");
	/* a generator changed, or turned into a file: replaced (it restarts its sequence) */
	assert_planned(PORT_PIPELINE("    synthetic: {sources: 10}\n", ""),
		       PORT_PIPELINE("    synthetic: {sources: 20}\n", ""));
	assert_action("rx", RELOAD_REPLACE, "rx");
	assert_planned(PORT_PIPELINE("    synthetic: {sources: 10}\n", ""),
		       PORT_PIPELINE("    pcap: @DIR@/sample.pcap\n", ""));
	assert_action("rx", RELOAD_REPLACE, "rx");

	/* a renamed port source is a new source, not a change */
	assert_planned(PORT_PIPELINE("    port: net_null0\n", ""),
		       "version: 1\n"
		       "kernels:\n"
		       "  rx2:\n"
		       "    type: source\n"
		       "    port: net_null1\n"
		       "  count:\n"
		       "    type: per_src_counter\n"
		       "    input: rx2\n"
		       "    max_sources: 1k\n"
		       "  out:\n"
		       "    type: sink\n"
		       "    input: count\n"
		       "    path: @DIR@/out.jsonl\n");
	assert_action("rx2", RELOAD_ADD, NULL);
	assert_retiring(1, "rx");

	/* renamed but on the same device: two instances cannot hold one port */
	result = plan_reload(NULL, PORT_PIPELINE("    port: net_null0\n", ""), NULL,
			     "version: 1\n"
			     "kernels:\n"
			     "  rx2:\n"
			     "    type: source\n"
			     "    port: net_null0\n"
			     "  count:\n"
			     "    type: per_src_counter\n"
			     "    input: rx2\n"
			     "    max_sources: 1k\n"
			     "  out:\n"
			     "    type: sink\n"
			     "    input: count\n"
			     "    path: @DIR@/out.jsonl\n");
	assert_refused(result, "new.yaml", 5, 11,
		       "kernel 'rx2': device 'net_null0' is held by kernel 'rx'; moving it needs a "
		       "restart");

	/* same device, other cores: it would be replaced, which a port cannot be */
	result = plan_reload(NULL, PORT_PIPELINE("    port: net_null0\n", ""), NULL,
			     PORT_PIPELINE("    port: net_null0\n    cores: 1\n", ""));
	assert_refused(result, "new.yaml", 3, 3,
		       "kernel 'rx': holds device 'net_null0', so it cannot be replaced live (its "
		       "replicas, cores or keys changed); restart to apply");
}
END_TEST

/* Settings the tests start from; each line's value starts at column 15 or so. */
#define SETTINGS(lcores, mempool, memory, hugepages, eal_args) \
	"version: 1\n"                        /* 1 */ \
	"lcores: " lcores "\n"                /* 2, value at column 9 */ \
	"mempool_size: " mempool "\n"         /* 3, column 15 */ \
	"memory: " memory "\n"                /* 4, column 9 */ \
	"hugepages: " hugepages "\n"          /* 5, column 12 */ \
	"log_level: info\n"                   /* 6 */ \
	"eal_args: " eal_args "\n"            /* 7, column 11 */

#define SETTINGS_OLD SETTINGS("0-2", "16383", "512M", "false", "[--vdev, net_null0]")

/* Plans from @p old_text (old_s.yaml) to @p new_text (new_s.yaml), the pipeline unchanged. */
static int
plan_settings_between(const char *old_text, const char *new_text)
{
	char old_settings[PATH_MAX + 64], new_settings[PATH_MAX + 64];

	snprintf(old_settings, sizeof(old_settings), "%s", test_write_file("old_s.yaml", old_text));
	snprintf(new_settings, sizeof(new_settings), "%s", test_write_file("new_s.yaml", new_text));
	return plan_reload(old_settings, BASE, new_settings, BASE);
}

/* Plans from SETTINGS_OLD to @p settings. */
static int
plan_settings_change(const char *settings)
{
	return plan_settings_between(SETTINGS_OLD, settings);
}

START_TEST(test_settings_refused_changes)
{
	int result;

	/* the same settings in another file, and a live setting (log_level): accepted */
	result = plan_settings_change(SETTINGS_OLD);
	ck_assert_msg(result == 0 && errors.count == 0, "%s", errors_text());
	assert_action("count", RELOAD_KEEP, "count");
	result = plan_settings_change("version: 1\n"
				      "lcores: 0-2\n"
				      "mempool_size: 16383\n"
				      "memory: 512M\n"
				      "hugepages: false\n"
				      "log_level: debug\n"
				      "eal_args: [--vdev, net_null0]\n");
	ck_assert_msg(result == 0 && errors.count == 0, "%s", errors_text());

	result = plan_settings_change(
		SETTINGS("0-1", "16383", "512M", "false", "[--vdev, net_null0]"));
	assert_refused(result, "new_s.yaml", 2, 9,
		       "setting 'lcores' cannot change without a restart; the running value stays");

	result = plan_settings_change(
		SETTINGS("0-2", "32767", "512M", "false", "[--vdev, net_null0]"));
	assert_refused(result, "new_s.yaml", 3, 15,
		       "setting 'mempool_size' cannot change without a restart; the running value "
		       "stays");

	result = plan_settings_change(
		SETTINGS("0-2", "16383", "1G", "false", "[--vdev, net_null0]"));
	assert_refused(result, "new_s.yaml", 4, 9,
		       "setting 'memory' cannot change without a restart; the running value stays");

	result = plan_settings_change(
		SETTINGS("0-2", "16383", "512M", "true", "[--vdev, net_null0]"));
	assert_refused(result, "new_s.yaml", 5, 12,
		       "setting 'hugepages' cannot change without a restart; the running value "
		       "stays");

	/* ring_size: every ring of a generation has one size */
	result = plan_settings_change("version: 1\n"
				      "lcores: 0-2\n"
				      "mempool_size: 16383\n"
				      "memory: 512M\n"
				      "hugepages: false\n"
				      "ring_size: 2048\n"
				      "eal_args: [--vdev, net_null0]\n");
	assert_refused(result, "new_s.yaml", 6, 12,
		       "setting 'ring_size' cannot change without a restart; the running value "
		       "stays");

	/* idle: the worker loops read it once, at start */
	result = plan_settings_change("version: 1\n"
				      "lcores: 0-2\n"
				      "mempool_size: 16383\n"
				      "memory: 512M\n"
				      "hugepages: false\n"
				      "idle: sleep\n"
				      "eal_args: [--vdev, net_null0]\n");
	assert_refused(result, "new_s.yaml", 6, 7,
		       "setting 'idle' cannot change without a restart; the running value stays");

	/*
	 * eal_args is bound outside daemon_settings_fields, so no position is
	 * recorded for it: the error is about the whole file (line 0).
	 */
	result = plan_settings_change(
		SETTINGS("0-2", "16383", "512M", "false", "[--vdev, net_null1]"));
	assert_refused(result, "new_s.yaml", 0, 0,
		       "setting 'eal_args' cannot change without a restart; the running value "
		       "stays");
	result = plan_settings_change(SETTINGS("0-2", "16383", "512M", "false", "[--vdev]"));
	assert_refused(result, "new_s.yaml", 0, 0,
		       "setting 'eal_args' cannot change without a restart; the running value "
		       "stays");

	/* a key dropped from the file goes back to its default: a change, at the whole file */
	result = plan_settings_between(SETTINGS("0-2", "32767", "512M", "false",
						"[--vdev, net_null0]"),
				       "version: 1\n"
				       "lcores: 0-2\n"
				       "memory: 512M\n"
				       "hugepages: false\n"
				       "eal_args: [--vdev, net_null0]\n");
	assert_refused(result, "new_s.yaml", 0, 0,
		       "setting 'mempool_size' cannot change without a restart; the running value "
		       "stays");

	/* every refusal is reported, not only the first */
	result = plan_settings_change(SETTINGS("0-1", "32767", "1G", "true", "[]"));
	ck_assert_int_eq(result, -EINVAL);
	ck_assert_msg(errors.count == 5, "%s", errors_text());
}
END_TEST

/* A refused setting and a refused port change are reported together, and nothing else is. */
START_TEST(test_refusals_accumulate)
{
	char old_settings[PATH_MAX + 64], new_settings[PATH_MAX + 64];
	int result;

	snprintf(old_settings, sizeof(old_settings), "%s", test_write_file("old_s.yaml", SETTINGS_OLD));
	snprintf(new_settings, sizeof(new_settings), "%s",
		 test_write_file("new_s.yaml",
			         SETTINGS("0-2", "32767", "512M", "false", "[--vdev, net_null0]")));
	result = plan_reload(old_settings, PORT_PIPELINE("    port: net_null0\n", ""), new_settings,
			     PORT_PIPELINE("    port: net_null1\n", ""));

	ck_assert_int_eq(result, -EINVAL);
	ck_assert_msg(errors.count == 2, "%s", errors_text());
	ck_assert_str_eq(errors.items[0].message, "setting 'mempool_size' cannot change without a "
						  "restart; the running value stays");
	ck_assert_str_eq(errors.items[1].message, "kernel 'rx': key 'port' cannot change without "
						  "a restart (running: net_null0)");
}
END_TEST

/* ---- B. graph_build_next ---------------------------------------------------- */

static struct rte_mempool *
test_mempool(void)
{
	static struct rte_mempool *pool;

	if (pool == NULL)
		pool = rte_pktmbuf_pool_create("reload_packets", 1023, 0, PACKET_META_PRIVATE_SIZE,
					       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	ck_assert_ptr_nonnull(pool);
	return pool;
}

static void
graph_setup(void)
{
	setup();
	memset(&layout, 0, sizeof(layout));
	layout.mempool = test_mempool();
	layout.main_lcore = rte_get_main_lcore();
	layout.worker_count = 1;
	layout.worker_lcores[0] = 1; /* only recorded: no worker is launched */
	layout.ring_size = 64;
	previous = next = NULL;
	memset(&transition, 0, sizeof(transition));
}

/* The first generation, from @p text (old.yaml). */
#define start_graph(text) start_graph_at(__LINE__, text)

static void
start_graph_at(int test_line, const char *text)
{
	int result;

	old_config = load_at(test_line, NULL, "old.yaml", text);
	result = graph_build(old_config, &layout, &previous, message, sizeof(message));
	ck_assert_msg(result == 0, "line %d: graph_build: %d: %s", test_line, result, message);
	ck_assert_uint_eq(previous->generation, 1);
}

/* The plan from the running config to @p text (new.yaml). */
static void
plan_next(int test_line, const char *text)
{
	int result;

	new_config = load_at(test_line, NULL, "new.yaml", text);
	memset(&errors, 0, sizeof(errors));
	result = reload_plan(old_config, new_config, &plan, &errors);
	ck_assert_msg(result == 0, "line %d: reload_plan: %s", test_line, errors_text());
}

/*
 * The next generation, from @p text; builds the transition from `previous`.
 * Note: from a first generation (previous->retired == NULL), graph_build_next()
 * calls memcpy(..., NULL, 0) (graph.c), which UBSan reports and the ASan+UBSan
 * build aborts on, until graph.c guards it.
 */
#define reload_graph(text) reload_graph_at(__LINE__, text)

static void
reload_graph_at(int test_line, const char *text)
{
	int result;

	plan_next(test_line, text);
	result = graph_build_next(previous, new_config, &plan, &transition, message,
				  sizeof(message));
	ck_assert_msg(result == 0, "line %d: graph_build_next: %d: %s", test_line, result, message);
	/* what runtime_begin_transition() does once the schedules are published */
	graph_transition_commit(&transition);
	next = transition.next;
	ck_assert_ptr_eq(transition.previous, previous);
	ck_assert_ptr_nonnull(next);
	ck_assert_uint_eq(next->generation, previous->generation + 1);
}

/*
 * What the daemon does once the transition is over: the next generation
 * becomes the running one, and its config the running config.
 */
static void
finish_transition(void)
{
	/* what each lcore does when it installs the new schedule (runtime.c install_schedule) */
	for (unsigned i = 0; i < next->instance_count; i++) {
		struct kernel_instance *instance = next->instances[i];

		if (instance->take_state_from == NULL)
			continue;
		instance->counters = instance->take_state_from->counters;
		instance->ops->take_state(instance, instance->take_state_from);
		instance->take_state_from = NULL;
	}
	graph_transition_keep_figures(&transition);
	graph_transition_free(&transition);
	memset(&transition, 0, sizeof(transition));
	graph_release(previous);
	previous = next;
	next = NULL;
	config_free(old_config);
	old_config = new_config;
	new_config = NULL;
}

static unsigned
instance_index(const struct graph *graph, const char *name, const struct kernel_ops *ops,
	       unsigned replica)
{
	const struct graph_kernel *kernel = graph_find_kernel(graph, name, ops->name);

	ck_assert_msg(kernel != NULL, "generation %u has no %s '%s'", graph->generation, ops->name,
		      name);
	ck_assert_uint_lt(replica, kernel->replicas);
	return kernel->first_instance + replica;
}

static struct kernel_instance *
instance_of(const struct graph *graph, const char *name, const struct kernel_ops *ops,
	    unsigned replica)
{
	return graph->instances[instance_index(graph, name, ops, replica)];
}

/* The final wiring of an instance in @p graph. */
static const struct kernel_wiring *
wiring_of(const struct graph *graph, const char *name, const struct kernel_ops *ops,
	  unsigned replica)
{
	return &graph->wirings[instance_index(graph, name, ops, replica)];
}

/* The transitional wiring of an instance of the next generation. */
static const struct kernel_wiring *
next_wiring_of(const char *name, const struct kernel_ops *ops, unsigned replica)
{
	return &transition.next_wirings[instance_index(next, name, ops, replica)];
}

static bool
has_input(const struct kernel_wiring *wiring, const struct kernel_ring *ring)
{
	for (unsigned i = 0; i < wiring->input_count; i++)
		if (wiring->inputs[i].ring == ring)
			return true;
	return false;
}

static bool
has_output(const struct kernel_wiring *wiring, const struct kernel_ring *ring)
{
	for (unsigned e = 0; e < wiring->output_edge_count; e++)
		for (unsigned r = 0; r < wiring->output_edges[e].ring_count; r++)
			if (wiring->output_edges[e].rings[r] == ring)
				return true;
	return false;
}

static bool
graph_has_ring(const struct graph *graph, const struct kernel_ring *ring)
{
	for (unsigned r = 0; r < graph->ring_count; r++)
		if (graph->rings[r] == ring)
			return true;
	return false;
}

/* The ring feeding input @p input of an instance, in @p graph's final wiring. */
static struct kernel_ring *
input_ring(const struct graph *graph, const char *name, const struct kernel_ops *ops,
	   unsigned replica, unsigned input)
{
	const struct kernel_wiring *wiring = wiring_of(graph, name, ops, replica);

	ck_assert_uint_lt(input, wiring->input_count);
	return wiring->inputs[input].ring;
}

/* Index of @p ring among the transition's retired rings; fails when absent. */
static unsigned
retired_index(const struct kernel_ring *ring)
{
	for (unsigned r = 0; r < transition.retired_ring_count; r++)
		if (transition.retired_rings[r] == ring)
			return r;
	ck_abort_msg("ring %s is not retired", ring->ring->name);
	return 0;
}

static bool
is_retiring(const struct kernel_instance *instance)
{
	for (unsigned i = 0; i < transition.retiring_count; i++)
		if (transition.retiring[i] == instance)
			return true;
	return false;
}

/* @p name continues by pointer: the same instance, held by both generations. */
static void
assert_kept(const char *name, const struct kernel_ops *ops)
{
	const struct graph_kernel *kernel = graph_find_kernel(next, name, ops->name);
	struct kernel_instance *instance = instance_of(next, name, ops, 0);

	ck_assert_msg(kernel->action == RELOAD_KEEP, "'%s' is %s, expected kept", name,
		      reload_action_name(kernel->action));
	ck_assert_ptr_eq(instance, instance_of(previous, name, ops, 0));
	ck_assert_uint_eq(instance->references, 2);
	ck_assert_ptr_null(instance->take_state_from);
	ck_assert(!is_retiring(instance));
}

/* Checks every ring's ends and that the transitional wirings extend the final ones. */
static void
assert_next_consistent(void)
{
	for (unsigned i = 0; i < next->instance_count; i++) {
		const struct kernel_wiring *wiring = &next->wirings[i];
		const struct kernel_wiring *transitional = &transition.next_wirings[i];

		ck_assert_uint_eq(transitional->output_edge_count, wiring->output_edge_count);
		ck_assert_uint_ge(transitional->input_count, wiring->input_count);
		for (unsigned input = 0; input < wiring->input_count; input++) {
			ck_assert_ptr_eq(wiring->inputs[input].ring->consumer, next->instances[i]);
			ck_assert(has_input(transitional, wiring->inputs[input].ring));
		}
		/* the extra inputs are retired rings */
		for (unsigned input = 0; input < transitional->input_count; input++)
			if (!has_input(wiring, transitional->inputs[input].ring))
				(void)retired_index(transitional->inputs[input].ring);
		for (unsigned e = 0; e < wiring->output_edge_count; e++)
			for (unsigned r = 0; r < wiring->output_edges[e].ring_count; r++)
				ck_assert_ptr_eq(wiring->output_edges[e].rings[r]->producer,
						 next->instances[i]);
	}
	for (unsigned r = 0; r < transition.retired_ring_count; r++)
		ck_assert(!graph_has_ring(next, transition.retired_rings[r]));
}

/* rx -> count -> out */
#define GRAPH_PLAIN \
	HEAD RX_PCAP("") COUNT("    window: 1s\n") OUT("count", "@DIR@/out.jsonl")
/* rx -> count -> alarm -> out */
#define GRAPH_ALARM \
	HEAD RX_PCAP("") COUNT("    window: 1s\n") ALARM("    above: 100\n") \
		OUT("alarm", "@DIR@/out.jsonl")

START_TEST(test_graph_first_generation)
{
	struct kernel_instance *rx, *count, *alarm, *out;
	struct kernel_ring *rx_count, *count_alarm, *alarm_out;

	start_graph(GRAPH_ALARM);
	ck_assert_uint_eq(previous->kernel_count, 4);
	ck_assert_uint_eq(previous->instance_count, 4);
	ck_assert_uint_eq(previous->ring_count, 3);
	rx = instance_of(previous, "rx", &source_kernel, 0);
	count = instance_of(previous, "count", &per_src_counter_kernel, 0);
	alarm = instance_of(previous, "alarm", &threshold_kernel, 0);
	out = instance_of(previous, "out", &sink_kernel, 0);
	for (unsigned i = 0; i < previous->instance_count; i++) {
		ck_assert_uint_eq(previous->instances[i]->references, 1);
		ck_assert_ptr_nonnull(previous->instances[i]->state);
		ck_assert_ptr_null(previous->instances[i]->take_state_from);
	}
	for (unsigned k = 0; k < previous->kernel_count; k++)
		ck_assert_int_eq(previous->kernels[k].action, RELOAD_ADD);
	ck_assert_uint_eq(rx->lcore, 1);
	ck_assert_uint_eq(count->lcore, 1);
	ck_assert_uint_eq(alarm->lcore, 1);
	ck_assert_uint_eq(out->lcore, rte_get_main_lcore()); /* a sink does blocking I/O */
	rx_count = input_ring(previous, "count", &per_src_counter_kernel, 0, 0);
	count_alarm = input_ring(previous, "alarm", &threshold_kernel, 0, 0);
	alarm_out = input_ring(previous, "out", &sink_kernel, 0, 0);
	ck_assert_ptr_eq(rx_count->producer, rx);
	ck_assert_ptr_eq(rx_count->consumer, count);
	ck_assert_int_eq(rx_count->type, STREAM_PACKET);
	ck_assert_ptr_eq(count_alarm->producer, count);
	ck_assert_ptr_eq(alarm_out->producer, alarm);
	ck_assert_ptr_eq(alarm_out->consumer, out);
	for (unsigned r = 0; r < previous->ring_count; r++) {
		ck_assert_uint_eq(previous->rings[r]->references, 1);
		ck_assert(!atomic_load(&previous->rings[r]->closed));
		ck_assert_uint_eq(rte_ring_get_size(previous->rings[r]->ring), 64);
	}
	/* the first generation installs its wirings */
	ck_assert_uint_eq(out->input_count, 1);
	ck_assert_ptr_eq(out->inputs[0].ring, alarm_out);
	release_graphs();
}
END_TEST

/* Insert a threshold between counter and sink, then remove it again (generations 1, 2, 3). */
START_TEST(test_graph_insert_then_remove_threshold)
{
	struct kernel_instance *alarm;
	struct kernel_ring *rx_count, *count_out, *count_alarm, *alarm_out;
	unsigned index;

	start_graph(GRAPH_PLAIN);
	rx_count = input_ring(previous, "count", &per_src_counter_kernel, 0, 0);
	count_out = input_ring(previous, "out", &sink_kernel, 0, 0);

	reload_graph(GRAPH_ALARM);
	ck_assert_uint_eq(previous->generation, 1);
	ck_assert_uint_eq(next->generation, 2);
	assert_kept("rx", &source_kernel);
	assert_kept("count", &per_src_counter_kernel);
	assert_kept("out", &sink_kernel);
	alarm = instance_of(next, "alarm", &threshold_kernel, 0);
	ck_assert_int_eq(graph_find_kernel(next, "alarm", "threshold")->action, RELOAD_ADD);
	ck_assert_uint_eq(alarm->references, 1);
	ck_assert_ptr_null(alarm->take_state_from);
	ck_assert_ptr_nonnull(alarm->state); /* initialised on the control thread */
	ck_assert_uint_eq(alarm->lcore, 1);
	/* the edge between two kept kernels keeps its ring */
	ck_assert_ptr_eq(input_ring(next, "count", &per_src_counter_kernel, 0, 0), rx_count);
	ck_assert_uint_eq(rx_count->references, 2);
	ck_assert_uint_eq(next->ring_count, 3);
	count_alarm = input_ring(next, "alarm", &threshold_kernel, 0, 0);
	alarm_out = input_ring(next, "out", &sink_kernel, 0, 0);
	ck_assert_ptr_ne(count_alarm, count_out);
	ck_assert_ptr_ne(alarm_out, count_out);
	ck_assert_uint_eq(count_alarm->references, 1);
	/* count -> out leaves: count continues, so the ring is closed after the grace period */
	ck_assert_uint_eq(transition.retired_ring_count, 1);
	index = retired_index(count_out);
	ck_assert(transition.close_after_grace[index]);
	ck_assert_uint_eq(transition.retiring_count, 0);
	/* out still drains count -> out during the transition, then reads alarm only */
	ck_assert(has_input(next_wiring_of("out", &sink_kernel, 0), count_out));
	ck_assert(has_input(next_wiring_of("out", &sink_kernel, 0), alarm_out));
	ck_assert_uint_eq(next_wiring_of("out", &sink_kernel, 0)->input_count, 2);
	ck_assert_uint_eq(wiring_of(next, "out", &sink_kernel, 0)->input_count, 1);
	ck_assert(!has_input(wiring_of(next, "out", &sink_kernel, 0), count_out));
	/* count writes to alarm now, in both of its next wirings */
	ck_assert(has_output(wiring_of(next, "count", &per_src_counter_kernel, 0), count_alarm));
	ck_assert(!has_output(wiring_of(next, "count", &per_src_counter_kernel, 0), count_out));
	ck_assert(!has_output(next_wiring_of("count", &per_src_counter_kernel, 0), count_out));
	ck_assert(has_output(wiring_of(previous, "count", &per_src_counter_kernel, 0), count_out));
	assert_next_consistent();
	/* the retired ring stays open until graph_transition_close_retired() */
	ck_assert(!atomic_load(&count_out->closed));
	ck_assert(!graph_transition_drained(&transition));
	graph_transition_close_retired(&transition);
	ck_assert(atomic_load(&count_out->closed));
	ck_assert(graph_transition_drained(&transition)); /* nothing retiring, ring empty */
	finish_transition();

	/* generation 3: the threshold goes again */
	ck_assert_uint_eq(alarm->references, 1);
	ck_assert_uint_eq(rx_count->references, 1);
	reload_graph(GRAPH_PLAIN);
	ck_assert_uint_eq(next->generation, 3);
	assert_kept("rx", &source_kernel);
	assert_kept("count", &per_src_counter_kernel);
	assert_kept("out", &sink_kernel);
	ck_assert_ptr_null(graph_find_kernel(next, "alarm", "threshold"));
	ck_assert_uint_eq(transition.retiring_count, 1);
	ck_assert_ptr_eq(transition.retiring[0], alarm);
	/* the retiring alarm keeps its previous wiring to drain */
	ck_assert_uint_eq(transition.retiring_wirings[0].input_count, 1);
	ck_assert_ptr_eq(transition.retiring_wirings[0].inputs[0].ring, count_alarm);
	ck_assert(has_output(&transition.retiring_wirings[0], alarm_out));
	ck_assert_ptr_eq(input_ring(next, "count", &per_src_counter_kernel, 0, 0), rx_count);
	count_out = input_ring(next, "out", &sink_kernel, 0, 0);
	ck_assert_ptr_ne(count_out, alarm_out);
	ck_assert_uint_eq(next->ring_count, 2);
	ck_assert_uint_eq(transition.retired_ring_count, 2);
	/* count continues: closed after grace; alarm retires: it closes its ring when finished */
	ck_assert(transition.close_after_grace[retired_index(count_alarm)]);
	ck_assert(!transition.close_after_grace[retired_index(alarm_out)]);
	/* out drains alarm -> out; nobody in the next generation reads count -> alarm */
	ck_assert(has_input(next_wiring_of("out", &sink_kernel, 0), alarm_out));
	ck_assert(!has_input(wiring_of(next, "out", &sink_kernel, 0), alarm_out));
	ck_assert_uint_eq(next_wiring_of("out", &sink_kernel, 0)->input_count, 2);
	for (unsigned i = 0; i < next->instance_count; i++)
		ck_assert(!has_input(&transition.next_wirings[i], count_alarm));
	assert_next_consistent();
	/* the alarm has not finished */
	graph_transition_close_retired(&transition);
	ck_assert(!graph_transition_drained(&transition));
	/* as the runtime does: the retiring alarm runs on its previous wiring, drains, finishes */
	kernel_install_wiring(alarm, &transition.retiring_wirings[0]);
	kernel_mark_finished(alarm);
	ck_assert(atomic_load(&alarm_out->closed));
	ck_assert(graph_transition_drained(&transition));
	finish_transition();
	ck_assert_ptr_nonnull(graph_find_retired(previous, "alarm", "threshold", 0));
	ck_assert_uint_eq(previous->retired_count, 1);
	release_graphs();
}
END_TEST

START_TEST(test_graph_add_second_sink)
{
	struct kernel_ring *rx_count, *count_alarm, *alarm_out, *count_out2;
	struct kernel_instance *out2;

	start_graph(GRAPH_ALARM);
	rx_count = input_ring(previous, "count", &per_src_counter_kernel, 0, 0);
	count_alarm = input_ring(previous, "alarm", &threshold_kernel, 0, 0);
	alarm_out = input_ring(previous, "out", &sink_kernel, 0, 0);

	reload_graph(GRAPH_ALARM "  out2:\n"
				 "    type: sink\n"
				 "    input: count\n"
				 "    path: @DIR@/out2.jsonl\n");
	ck_assert_uint_eq(next->generation, 2);
	assert_kept("rx", &source_kernel);
	assert_kept("count", &per_src_counter_kernel);
	assert_kept("alarm", &threshold_kernel);
	assert_kept("out", &sink_kernel);
	out2 = instance_of(next, "out2", &sink_kernel, 0);
	ck_assert_int_eq(graph_find_kernel(next, "out2", "sink")->action, RELOAD_ADD);
	ck_assert_uint_eq(out2->references, 1);
	ck_assert_uint_eq(out2->lcore, rte_get_main_lcore());
	ck_assert_ptr_nonnull(out2->state);
	ck_assert_uint_eq(next->ring_count, 4);
	ck_assert_ptr_eq(input_ring(next, "count", &per_src_counter_kernel, 0, 0), rx_count);
	ck_assert_ptr_eq(input_ring(next, "alarm", &threshold_kernel, 0, 0), count_alarm);
	ck_assert_ptr_eq(input_ring(next, "out", &sink_kernel, 0, 0), alarm_out);
	ck_assert_uint_eq(rx_count->references, 2);
	ck_assert_uint_eq(count_alarm->references, 2);
	ck_assert_uint_eq(alarm_out->references, 2);
	count_out2 = input_ring(next, "out2", &sink_kernel, 0, 0);
	ck_assert_uint_eq(count_out2->references, 1);
	ck_assert_ptr_eq(count_out2->producer, instance_of(next, "count", &per_src_counter_kernel, 0));
	/* count now fans out to two edges; its previous wiring had one */
	ck_assert_uint_eq(wiring_of(next, "count", &per_src_counter_kernel, 0)->output_edge_count, 2);
	ck_assert_uint_eq(wiring_of(previous, "count", &per_src_counter_kernel, 0)->output_edge_count,
			  1);
	ck_assert(has_output(next_wiring_of("count", &per_src_counter_kernel, 0), count_out2));
	ck_assert_uint_eq(transition.retired_ring_count, 0);
	ck_assert_uint_eq(transition.retiring_count, 0);
	assert_next_consistent();
	ck_assert(graph_transition_drained(&transition));
	/* release the next generation first: the references still count right */
	graph_transition_free(&transition);
	memset(&transition, 0, sizeof(transition));
	graph_release(next);
	next = NULL;
	ck_assert_uint_eq(rx_count->references, 1);
	ck_assert_uint_eq(instance_of(previous, "count", &per_src_counter_kernel, 0)->references, 1);
	release_graphs();
}
END_TEST

/* replicas 1 -> 2: the old counter retires with its rings, two new ones start empty. */
START_TEST(test_graph_replace_counter)
{
	struct kernel_instance *rx, *old_count, *alarm, *new_count[2];
	struct kernel_ring *rx_count, *count_alarm;
	const struct kernel_wiring *rx_wiring;

	start_graph(GRAPH_ALARM);
	rx = instance_of(previous, "rx", &source_kernel, 0);
	old_count = instance_of(previous, "count", &per_src_counter_kernel, 0);
	alarm = instance_of(previous, "alarm", &threshold_kernel, 0);
	rx_count = input_ring(previous, "count", &per_src_counter_kernel, 0, 0);
	count_alarm = input_ring(previous, "alarm", &threshold_kernel, 0, 0);

	reload_graph(HEAD RX_PCAP("") COUNT("    window: 1s\n    replicas: 2\n")
			     ALARM("    above: 100\n") OUT("alarm", "@DIR@/out.jsonl"));
	ck_assert_uint_eq(next->generation, 2);
	assert_kept("rx", &source_kernel);
	assert_kept("alarm", &threshold_kernel);
	assert_kept("out", &sink_kernel);
	ck_assert_int_eq(graph_find_kernel(next, "count", "per_src_counter")->action,
			 RELOAD_REPLACE);
	ck_assert_uint_eq(graph_find_kernel(next, "count", "per_src_counter")->replicas, 2);
	ck_assert_uint_eq(next->instance_count, 5);
	for (unsigned r = 0; r < 2; r++) {
		new_count[r] = instance_of(next, "count", &per_src_counter_kernel, r);
		ck_assert_ptr_ne(new_count[r], old_count);
		ck_assert_ptr_null(new_count[r]->take_state_from); /* starts empty */
		ck_assert_uint_eq(new_count[r]->references, 1);
		ck_assert_uint_eq(new_count[r]->replica, r);
		ck_assert_uint_eq(new_count[r]->replica_count, 2);
		ck_assert_ptr_nonnull(new_count[r]->state);
		/* each new replica reads its own new ring from rx, and writes one to alarm */
		ck_assert_uint_eq(wiring_of(next, "count", &per_src_counter_kernel, r)->input_count, 1);
		ck_assert_ptr_ne(input_ring(next, "count", &per_src_counter_kernel, r, 0), rx_count);
		ck_assert(!has_input(next_wiring_of("count", &per_src_counter_kernel, r), rx_count));
	}
	ck_assert_uint_eq(old_count->references, 1);
	ck_assert_uint_eq(transition.retiring_count, 1);
	ck_assert_ptr_eq(transition.retiring[0], old_count);
	ck_assert_ptr_eq(transition.retiring_wirings[0].inputs[0].ring, rx_count);
	ck_assert(has_output(&transition.retiring_wirings[0], count_alarm));
	/* rx partitions over two rings now */
	rx_wiring = wiring_of(next, "rx", &source_kernel, 0);
	ck_assert_uint_eq(rx_wiring->output_edge_count, 1);
	ck_assert_uint_eq(rx_wiring->output_edges[0].ring_count, 2);
	ck_assert(!has_output(rx_wiring, rx_count));
	/* both of the old counter's rings retire */
	ck_assert_uint_eq(transition.retired_ring_count, 2);
	ck_assert(transition.close_after_grace[retired_index(rx_count)]);     /* rx continues */
	ck_assert(!transition.close_after_grace[retired_index(count_alarm)]); /* count retires */
	/* the old counter drains rx -> count itself; alarm drains count -> alarm */
	for (unsigned i = 0; i < next->instance_count; i++)
		ck_assert(!has_input(&transition.next_wirings[i], rx_count));
	ck_assert(has_input(next_wiring_of("alarm", &threshold_kernel, 0), count_alarm));
	ck_assert_uint_eq(next_wiring_of("alarm", &threshold_kernel, 0)->input_count, 3);
	ck_assert_uint_eq(wiring_of(next, "alarm", &threshold_kernel, 0)->input_count, 2);
	ck_assert(!has_input(wiring_of(next, "alarm", &threshold_kernel, 0), count_alarm));
	ck_assert_uint_eq(next->ring_count, 5); /* 2 from rx, 2 to alarm, alarm -> out */
	assert_next_consistent();
	(void)rx, (void)alarm;
	/* previous first, as the daemon does once the transition drained */
	graph_transition_free(&transition);
	memset(&transition, 0, sizeof(transition));
	graph_release(previous);
	previous = NULL;
	ck_assert_uint_eq(instance_of(next, "rx", &source_kernel, 0)->references, 1);
	release_graphs();
}
END_TEST

/* Changed parameters: new instances on the same lcore take the old ones' state; rings stay. */
START_TEST(test_graph_take_state)
{
	struct kernel_instance *old_count, *old_alarm, *count, *alarm;
	struct kernel_ring *rx_count, *count_alarm, *alarm_out;

	start_graph(GRAPH_ALARM);
	old_count = instance_of(previous, "count", &per_src_counter_kernel, 0);
	old_alarm = instance_of(previous, "alarm", &threshold_kernel, 0);
	rx_count = input_ring(previous, "count", &per_src_counter_kernel, 0, 0);
	count_alarm = input_ring(previous, "alarm", &threshold_kernel, 0, 0);
	alarm_out = input_ring(previous, "out", &sink_kernel, 0, 0);

	reload_graph(HEAD RX_PCAP("") COUNT("    window: 2s\n") ALARM("    above: 200\n")
			     OUT("alarm", "@DIR@/out.jsonl"));
	assert_kept("rx", &source_kernel);
	assert_kept("out", &sink_kernel);
	count = instance_of(next, "count", &per_src_counter_kernel, 0);
	alarm = instance_of(next, "alarm", &threshold_kernel, 0);
	ck_assert_int_eq(graph_find_kernel(next, "count", "per_src_counter")->action,
			 RELOAD_TAKE_STATE);
	ck_assert_int_eq(graph_find_kernel(next, "alarm", "threshold")->action,
			 RELOAD_TAKE_STATE);
	ck_assert_ptr_ne(count, old_count);
	ck_assert_ptr_ne(alarm, old_alarm);
	ck_assert_ptr_eq(count->take_state_from, old_count);
	ck_assert_ptr_eq(alarm->take_state_from, old_alarm);
	ck_assert_uint_eq(count->lcore, old_count->lcore);
	ck_assert_uint_eq(alarm->lcore, old_alarm->lcore);
	ck_assert_uint_eq(count->references, 1);
	ck_assert_uint_eq(old_count->references, 1);
	/* a state-taking instance does not retire its predecessor: state moves instead */
	ck_assert_uint_eq(transition.retiring_count, 0);
	/* every ring continues, now leading to the new instances */
	ck_assert_uint_eq(transition.retired_ring_count, 0);
	ck_assert_ptr_eq(input_ring(next, "count", &per_src_counter_kernel, 0, 0), rx_count);
	ck_assert_ptr_eq(input_ring(next, "alarm", &threshold_kernel, 0, 0), count_alarm);
	ck_assert_ptr_eq(input_ring(next, "out", &sink_kernel, 0, 0), alarm_out);
	ck_assert_ptr_eq(rx_count->consumer, count);
	ck_assert_ptr_eq(count_alarm->producer, count);
	ck_assert_ptr_eq(count_alarm->consumer, alarm);
	ck_assert_ptr_eq(alarm_out->producer, alarm);
	ck_assert_uint_eq(count_alarm->references, 2);
	assert_next_consistent();

	/* a pcap source given another loop count continues its file */
	finish_transition();
	reload_graph(HEAD RX_PCAP("    loop: 3\n") COUNT("    window: 2s\n")
			     ALARM("    above: 200\n") OUT("alarm", "@DIR@/out.jsonl"));
	ck_assert_uint_eq(next->generation, 3);
	ck_assert_ptr_eq(instance_of(next, "rx", &source_kernel, 0)->take_state_from,
			 instance_of(previous, "rx", &source_kernel, 0));
	ck_assert_uint_eq(instance_of(next, "rx", &source_kernel, 0)->lcore,
			  instance_of(previous, "rx", &source_kernel, 0)->lcore);
	assert_kept("count", &per_src_counter_kernel);
	ck_assert_ptr_eq(input_ring(next, "count", &per_src_counter_kernel, 0, 0), rx_count);
	ck_assert_ptr_eq(rx_count->producer, instance_of(next, "rx", &source_kernel, 0));
	assert_next_consistent();

	/* another file (replaced) and another window (state taken) in one reload */
	finish_transition();
	old_count = instance_of(previous, "count", &per_src_counter_kernel, 0);
	reload_graph(HEAD "  rx:\n"
			  "    type: source\n"
			  "    pcap: @DIR@/other.pcap\n" COUNT("    window: 1s\n")
				  ALARM("    above: 200\n") OUT("alarm", "@DIR@/out.jsonl"));
	ck_assert_uint_eq(next->generation, 4);
	ck_assert_int_eq(graph_find_kernel(next, "rx", "source")->action, RELOAD_REPLACE);
	ck_assert_ptr_null(instance_of(next, "rx", &source_kernel, 0)->take_state_from);
	count = instance_of(next, "count", &per_src_counter_kernel, 0);
	ck_assert_ptr_eq(count->take_state_from, old_count);
	ck_assert_uint_eq(transition.retiring_count, 1);
	ck_assert_ptr_eq(transition.retiring[0], instance_of(previous, "rx", &source_kernel, 0));
	/* the old file's ring: its producer retires, the counter's successor drains it */
	ck_assert_uint_eq(transition.retired_ring_count, 1);
	ck_assert(!transition.close_after_grace[retired_index(rx_count)]);
	ck_assert(has_input(next_wiring_of("count", &per_src_counter_kernel, 0), rx_count));
	ck_assert(!has_input(wiring_of(next, "count", &per_src_counter_kernel, 0), rx_count));
	ck_assert_ptr_ne(input_ring(next, "count", &per_src_counter_kernel, 0, 0), rx_count);
	ck_assert_ptr_eq(input_ring(next, "alarm", &threshold_kernel, 0, 0), count_alarm);
	assert_next_consistent();
	release_graphs();
}
END_TEST

/* A failed build leaves the running generation as it was, and a later reload still works. */
START_TEST(test_graph_build_next_failure)
{
	struct kernel_instance *instances[4];
	struct kernel_ring *rings[3];
	struct kernel_instance *ends[3][2];
	struct kernel_ring *alarm_out;
	char expected[PATH_MAX + 128];
	int result;

	ck_assert_int_eq(mkdir(test_path("sub"), 0700), 0);
	start_graph(HEAD RX_PCAP("") COUNT("    window: 1s\n") ALARM("    above: 100\n")
			    OUT("alarm", "@DIR@/sub/out.jsonl"));
	ck_assert_uint_eq(previous->instance_count, 4);
	ck_assert_uint_eq(previous->ring_count, 3);
	for (unsigned i = 0; i < 4; i++)
		instances[i] = previous->instances[i];
	for (unsigned r = 0; r < 3; r++) {
		rings[r] = previous->rings[r];
		ends[r][0] = rings[r]->producer;
		ends[r][1] = rings[r]->consumer;
	}
	alarm_out = input_ring(previous, "out", &sink_kernel, 0, 0);

	/* config_load checks the directory is writable; it is gone by the time of the build */
	ck_assert_int_eq(mkdir(test_path("gone"), 0700), 0);
	plan_next(__LINE__, HEAD RX_PCAP("") COUNT("    window: 1s\n") ALARM("    above: 200\n")
				    OUT("alarm", "@DIR@/gone/out.jsonl"));
	ck_assert_int_eq(rmdir(test_path("gone")), 0);
	ck_assert_int_eq(plan.actions[kernel_index(new_config, "alarm")], RELOAD_TAKE_STATE);
	ck_assert_int_eq(plan.actions[kernel_index(new_config, "out")], RELOAD_REPLACE);
	result = graph_build_next(previous, new_config, &plan, &transition, message,
				  sizeof(message));
	ck_assert_int_eq(result, -ENOENT);
	snprintf(expected, sizeof(expected),
		 "kernel 'out' (replica 0): cannot open '%s': No such file or directory",
		 test_path("gone/out.jsonl"));
	ck_assert_str_eq(message, expected);
	ck_assert_ptr_null(transition.next);
	ck_assert_ptr_null(transition.previous);
	ck_assert_ptr_null(transition.retiring);
	ck_assert_ptr_null(transition.next_wirings);
	ck_assert_uint_eq(transition.retired_ring_count, 0);
	/* previous untouched */
	ck_assert_uint_eq(previous->generation, 1);
	ck_assert_uint_eq(previous->instance_count, 4);
	ck_assert_uint_eq(previous->ring_count, 3);
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_ptr_eq(previous->instances[i], instances[i]);
		ck_assert_uint_eq(instances[i]->references, 1);
		ck_assert_ptr_nonnull(instances[i]->state);
		ck_assert_str_eq(instances[i]->error, "");
	}
	for (unsigned r = 0; r < 3; r++) {
		ck_assert_ptr_eq(previous->rings[r], rings[r]);
		ck_assert_uint_eq(rings[r]->references, 1);
		ck_assert_ptr_eq(rings[r]->producer, ends[r][0]);
		ck_assert_ptr_eq(rings[r]->consumer, ends[r][1]);
		ck_assert(!atomic_load(&rings[r]->closed));
	}
	config_free(new_config);
	new_config = NULL;

	/* the same reload once the directory is back */
	ck_assert_int_eq(mkdir(test_path("gone"), 0700), 0);
	reload_graph(HEAD RX_PCAP("") COUNT("    window: 1s\n") ALARM("    above: 200\n")
			     OUT("alarm", "@DIR@/gone/out.jsonl"));
	ck_assert_uint_eq(next->generation, 2);
	assert_kept("rx", &source_kernel);
	assert_kept("count", &per_src_counter_kernel);
	ck_assert_ptr_eq(instance_of(next, "alarm", &threshold_kernel, 0)->take_state_from,
			 instances[2]);
	ck_assert_uint_eq(transition.retiring_count, 1);
	ck_assert_ptr_eq(transition.retiring[0], instances[3]);
	/* the ring to the replaced sink retires; the alarm continues, so it closes after grace */
	ck_assert_uint_eq(transition.retired_ring_count, 1);
	ck_assert(transition.close_after_grace[retired_index(alarm_out)]);
	ck_assert_ptr_ne(input_ring(next, "out", &sink_kernel, 0, 0), alarm_out);
	ck_assert(!has_input(next_wiring_of("out", &sink_kernel, 0), alarm_out));
	ck_assert_ptr_eq(transition.retiring_wirings[0].inputs[0].ring, alarm_out);
	assert_next_consistent();
	release_graphs();
}
END_TEST

Suite *
reload_suite(void)
{
	Suite *suite = suite_create("reload");
	TCase *plans = tcase_create("plan");
	TCase *graphs = tcase_create("graph");

	tcase_add_checked_fixture(plans, setup, teardown);
	tcase_add_test(plans, test_action_names);
	tcase_add_test(plans, test_identical_config_keeps_everything);
	tcase_add_test(plans, test_threshold_above_takes_state);
	tcase_add_test(plans, test_counter_window_takes_state);
	tcase_add_test(plans, test_counter_capacity_replaces);
	tcase_add_test(plans, test_replicas_replace);
	tcase_add_test(plans, test_cores_replace);
	tcase_add_test(plans, test_sink_path_replaces);
	tcase_add_test(plans, test_rename_is_removal_and_addition);
	tcase_add_test(plans, test_type_change_is_removal_and_addition);
	tcase_add_test(plans, test_kernel_removed);
	tcase_add_test(plans, test_kernel_added);
	tcase_add_test(plans, test_pcap_source_changes);
	tcase_add_test(plans, test_port_source_refused_changes);
	tcase_add_test(plans, test_settings_refused_changes);
	tcase_add_test(plans, test_refusals_accumulate);
	suite_add_tcase(suite, plans);

	tcase_add_checked_fixture(graphs, graph_setup, teardown);
	tcase_add_test(graphs, test_graph_first_generation);
	tcase_add_test(graphs, test_graph_insert_then_remove_threshold);
	tcase_add_test(graphs, test_graph_add_second_sink);
	tcase_add_test(graphs, test_graph_replace_counter);
	tcase_add_test(graphs, test_graph_take_state);
	tcase_add_test(graphs, test_graph_build_next_failure);
	suite_add_tcase(suite, graphs);
	return suite;
}
