/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The status table (ctl_status.h). Columns are sized so that a line is at
 * most CTL_COLUMNS wide; a figure too wide for its column is shortened with
 * an SI suffix (12.3M), and names are cut to their column.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_status.h"

/* One instance row's figures, read from the JSON once. */
struct row {
	const json_t *instance;
	const char *kernel, *type;
	json_int_t replica, replicas, lcore;
	json_int_t items_in, items_out, backpressure;
	json_int_t known_drops;     /* the sum of the drops the daemon knows */
	bool unknown_drops;         /* some drop cannot be told (null): never shown as 0 */
	double rate;
};

/* @p value in at most @p width characters: as is, or with k, M, G, T. */
static void
format_count(double value, int width, char *text, size_t size)
{
	static const char suffixes[] = " kMGTP";
	unsigned power = 0;

	snprintf(text, size, "%.0f", value);
	while ((int)strlen(text) > width && power + 1 < sizeof(suffixes) - 1) {
		value /= 1000;
		power++;
		snprintf(text, size, value < 10 ? "%.1f%c" : "%.0f%c", value, suffixes[power]);
	}
}

/* The daemon's "drops" of an instance: each named drop's count, null when unknown. */
static void
read_drops(const json_t *instance, struct row *row)
{
	const char *name;
	json_t *value;

	json_object_foreach((json_t *)json_object_get(instance, "drops"), name, value) {
		if (json_is_null(value))
			row->unknown_drops = true;
		else
			row->known_drops += json_integer_value(value);
	}
}

static double
number(const json_t *object, const char *key)
{
	return json_number_value(json_object_get(object, key));
}

static void
read_row(const json_t *instance, struct row *row)
{
	double in_rate = number(instance, "items_in_per_second");
	double out_rate = number(instance, "items_out_per_second");

	*row = (struct row){
		.instance = instance,
		.kernel = json_string_value(json_object_get(instance, "kernel")),
		.type = json_string_value(json_object_get(instance, "type")),
		.replica = json_integer_value(json_object_get(instance, "replica")),
		.replicas = json_integer_value(json_object_get(instance, "replicas")),
		.lcore = json_integer_value(json_object_get(instance, "lcore")),
		.items_in = json_integer_value(json_object_get(instance, "items_in")),
		.items_out = json_integer_value(json_object_get(instance, "items_out")),
		.backpressure = json_integer_value(json_object_get(instance, "backpressure")),
		/* a source's rate is what it emits; any other kernel's what it takes in */
		.rate = in_rate > out_rate ? in_rate : out_rate,
	};
	read_drops(instance, row);
	if (row->kernel == NULL)
		row->kernel = "?";
	if (row->type == NULL)
		row->type = "?";
}

static int
compare_rate(const void *a, const void *b)
{
	const struct row *first = a, *second = b;

	if (first->rate != second->rate)
		return first->rate > second->rate ? -1 : 1;
	return strcmp(first->kernel, second->kernel);
}

/* The lines before the table. @return lines printed. */
static unsigned
print_header(const json_t *status, const struct ctl_table_options *options, FILE *out)
{
	double uptime = number(status, "uptime_seconds");
	const json_t *reloads = json_object_get(status, "reloads");
	const json_t *lcores = json_object_get(status, "lcores"), *lcore, *path;
	size_t index;
	int used;

	fprintf(out, "jetstreamd %s  up %" PRIu64 "d %02" PRIu64 ":%02" PRIu64 ":%02" PRIu64
		     "  generation %" JSON_INTEGER_FORMAT "  reloads %" JSON_INTEGER_FORMAT
		     " ok %" JSON_INTEGER_FORMAT " failed%s",
		json_string_value(json_object_get(status, "version")), (uint64_t)uptime / 86400,
		(uint64_t)uptime / 3600 % 24, (uint64_t)uptime / 60 % 60, (uint64_t)uptime % 60,
		json_integer_value(json_object_get(status, "generation")),
		json_integer_value(json_object_get(reloads, "ok")),
		json_integer_value(json_object_get(reloads, "failed")), options->line_end);
	used = fprintf(out, "lcores:");
	json_array_foreach(lcores, index, lcore) {
		char item[32];

		snprintf(item, sizeof(item), " %" JSON_INTEGER_FORMAT "%s %.0f%%",
			 json_integer_value(json_object_get(lcore, "lcore")),
			 json_is_true(json_object_get(lcore, "sink_thread")) ? "(sinks)" : "",
			 100 * number(lcore, "busy_ratio"));
		if (used + (int)strlen(item) > CTL_COLUMNS - 4) {
			fputs(" ...", out);
			break;
		}
		used += fprintf(out, "%s", item);
	}
	fputs(options->line_end, out);
	if (!options->details)
		return 2;
	json_array_foreach(json_object_get(status, "pipelines"), index, path)
		fprintf(out, "pipeline: %.*s%s", CTL_COLUMNS - 10, json_string_value(path),
			options->line_end);
	return 2 + (unsigned)json_array_size(json_object_get(status, "pipelines"));
}

/* 13+1+15+1+3+1+3+1+9+1+9+1+7+1+6+1+6 = 79 columns: the last one stays free */
#define ROW_FORMAT "%-13.13s %-15.15s %3s %3s %9s %9s %7s %6s %6s%s"

/* The DROPS column: N, or ? when a drop is unknown (N+? when others counted). */
static void
format_drops(const struct row *row, char *text, size_t size)
{
	char known[16];

	if (!row->unknown_drops) {
		format_count((double)row->known_drops, 6, text, size);
		return;
	}
	if (row->known_drops == 0) {
		snprintf(text, size, "?");
		return;
	}
	format_count((double)row->known_drops, 4, known, sizeof(known));
	snprintf(text, size, "%s+?", known);
}

static void
print_row(const struct row *row, FILE *out, const char *line_end)
{
	char replica[8], lcore[8], in[16], output[16], rate[16], backpressure[16], drops[16];

	/* a retired replica (replicas 0) keeps its number: after 3 -> 1 two such rows differ by it */
	snprintf(replica, sizeof(replica), "%" JSON_INTEGER_FORMAT, row->replica);
	if (json_is_true(json_object_get(row->instance, "sink_thread")))
		snprintf(lcore, sizeof(lcore), "snk");
	else if (row->replicas == 0)
		snprintf(lcore, sizeof(lcore), "-");
	else
		snprintf(lcore, sizeof(lcore), "%" JSON_INTEGER_FORMAT, row->lcore);
	format_count((double)row->items_in, 9, in, sizeof(in));
	format_count((double)row->items_out, 9, output, sizeof(output));
	format_count(row->rate, 7, rate, sizeof(rate));
	format_count((double)row->backpressure, 6, backpressure, sizeof(backpressure));
	format_drops(row, drops, sizeof(drops));
	fprintf(out, ROW_FORMAT, row->kernel, row->type, replica, lcore, in, output, rate,
		backpressure, drops, line_end);
}

/* Under a row: each input's ring fill, and each drop that counted or is unknown. */
static unsigned
print_details(const struct row *row, FILE *out, const char *line_end)
{
	const json_t *input, *value;
	const char *name;
	unsigned lines = 0;
	size_t index;

	json_array_foreach(json_object_get(row->instance, "inputs"), index, input) {
		json_int_t used = json_integer_value(json_object_get(input, "used"));
		json_int_t capacity = json_integer_value(json_object_get(input, "capacity"));

		fprintf(out, "    ring from %.30s.%" JSON_INTEGER_FORMAT ": %" JSON_INTEGER_FORMAT
			     "/%" JSON_INTEGER_FORMAT " (%.0f%%)%s",
			json_string_value(json_object_get(input, "producer")),
			json_integer_value(json_object_get(input, "producer_replica")), used,
			capacity, capacity > 0 ? 100.0 * (double)used / (double)capacity : 0.0,
			line_end);
		lines++;
	}
	json_object_foreach((json_t *)json_object_get(row->instance, "drops"), name, value) {
		if (json_is_integer(value) && json_integer_value(value) == 0)
			continue;
		if (json_is_null(value))
			fprintf(out, "    %.40s: unknown%s", name, line_end);
		else
			fprintf(out, "    %.40s: %" JSON_INTEGER_FORMAT "%s", name,
				json_integer_value(value), line_end);
		lines++;
	}
	return lines;
}

void
ctl_print_status(const json_t *status, const struct ctl_table_options *options, FILE *out)
{
	const json_t *instances = json_object_get(status, "instances");
	size_t count = json_array_size(instances);
	struct row *rows = calloc(count + 1, sizeof(*rows));
	unsigned lines;

	if (rows == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		read_row(json_array_get(instances, i), &rows[i]);
	if (options->by_rate)
		qsort(rows, count, sizeof(*rows), compare_rate);
	lines = print_header(status, options, out);
	fprintf(out, ROW_FORMAT, "KERNEL", "TYPE", "REP", "LC", "IN", "OUT", "RATE/s", "BPRESS",
		"DROPS", options->line_end);
	lines++;
	for (size_t i = 0; i < count; i++) {
		if (options->max_lines > 0 && lines >= options->max_lines)
			break;
		print_row(&rows[i], out, options->line_end);
		lines++;
		if (options->details)
			lines += print_details(&rows[i], out, options->line_end);
	}
	free(rows);
}
