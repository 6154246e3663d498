/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Status snapshots as JSON (status_json.h). jansson's json_pack() builds
 * each object from a format; a NULL from any part (out of memory) makes the
 * whole object NULL, so there is one check per object.
 */
#include <string.h>

#include "accounting.h"
#include "status_json.h"

/* A figure a device cannot report (its mark, accounting.h) is null under its name. */
static int
add_stat(json_t *stats, const struct kernel_stat *stat)
{
	char base[64];

	if (accounting_is_unknown_mark(stat->name, base, sizeof(base))) {
		if (stat->value == 0)
			return 0;
		return json_object_set_new(stats, base, json_null());
	}
	/* an unknown mark seen first wins: the figure is not known */
	if (json_object_get(stats, stat->name) != NULL)
		return 0;
	return json_object_set_new(stats, stat->name, json_integer((json_int_t)stat->value));
}

/* Each named drop (accounting.h): its count, null when unknown, absent when not applicable. */
static json_t *
drops_json(const struct kernel_totals *totals)
{
	json_t *drops = json_object();
	uint64_t value;

	for (unsigned d = 0; drops != NULL && d < ACCOUNTING_DROP_COUNT; d++) {
		enum accounting_report report = accounting_drop(totals, (enum accounting_drop)d, &value);

		if (report == ACCOUNTING_NOT_APPLICABLE)
			continue;
		if (json_object_set_new(drops, accounting_drop_name((enum accounting_drop)d),
					report == ACCOUNTING_KNOWN ? json_integer((json_int_t)value)
								   : json_null()) != 0) {
			json_decref(drops);
			return NULL;
		}
	}
	return drops;
}

static json_t *
stats_json(const struct kernel_totals *totals)
{
	json_t *stats = json_object();

	for (unsigned s = 0; stats != NULL && s < totals->stat_count; s++)
		if (add_stat(stats, &totals->stats[s]) != 0) {
			json_decref(stats);
			return NULL;
		}
	return stats;
}

static json_t *
inputs_json(const struct status_instance *row)
{
	json_t *inputs = json_array();

	for (unsigned j = 0; inputs != NULL && j < row->input_count; j++) {
		const struct status_input *input = &row->inputs[j];

		if (json_array_append_new(inputs, json_pack("{s:s, s:I, s:I, s:I}", "producer",
							    input->producer, "producer_replica",
							    (json_int_t)input->producer_replica,
							    "used", (json_int_t)input->used,
							    "capacity", (json_int_t)input->capacity)) != 0) {
			json_decref(inputs);
			return NULL;
		}
	}
	return inputs;
}

static json_t *
instance_json(const struct status_instance *row)
{
	const struct kernel_counters *counters = &row->totals.counters;

	/* "o" steals the reference, and a NULL part fails the whole pack */
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:b, s:b, s:I, s:I, s:f, s:f, s:I, s:I, s:o, s:o, "
			 "s:o}",
			 "kernel", row->kernel, "type", row->type, "replica", (json_int_t)row->replica,
			 "replicas", (json_int_t)row->replica_count, "lcore", (json_int_t)row->lcore,
			 "sink_thread", row->on_sink_thread, "source", row->is_source,
			 "items_in", (json_int_t)counters->items_in,
			 "items_out", (json_int_t)counters->items_out,
			 "items_in_per_second", row->items_in_per_second,
			 "items_out_per_second", row->items_out_per_second,
			 "backpressure", (json_int_t)counters->backpressure,
			 "ring_overflow", (json_int_t)counters->ring_overflow,
			 "drops", drops_json(&row->totals), "stats", stats_json(&row->totals),
			 "inputs", inputs_json(row));
}

static json_t *
lcores_json(const struct status_snapshot *snapshot)
{
	json_t *lcores = json_array();

	for (unsigned l = 0; lcores != NULL && l < snapshot->lcore_count; l++) {
		const struct status_lcore *lcore = &snapshot->lcores[l];

		if (json_array_append_new(lcores, json_pack("{s:I, s:b, s:I, s:f}", "lcore",
							    (json_int_t)lcore->lcore, "sink_thread",
							    lcore->sink_thread, "rounds",
							    (json_int_t)lcore->rounds, "busy_ratio",
							    lcore->busy_ratio)) != 0) {
			json_decref(lcores);
			return NULL;
		}
	}
	return lcores;
}

static json_t *
instances_json(const struct status_snapshot *snapshot)
{
	json_t *instances = json_array();

	for (unsigned i = 0; instances != NULL && i < snapshot->instance_count; i++)
		if (json_array_append_new(instances, instance_json(&snapshot->instances[i])) != 0) {
			json_decref(instances);
			return NULL;
		}
	return instances;
}

static json_t *
pipelines_json(const struct status_snapshot *snapshot)
{
	json_t *pipelines = json_array();

	for (unsigned p = 0; pipelines != NULL && p < snapshot->pipeline_count; p++)
		if (json_array_append_new(pipelines, json_string(snapshot->pipeline_paths[p])) != 0) {
			json_decref(pipelines);
			return NULL;
		}
	return pipelines;
}

json_t *
status_json(const struct status_snapshot *snapshot)
{
	return json_pack("{s:s, s:f, s:I, s:{s:I, s:I}, s:o, s:o, s:o}", "version", snapshot->version,
			 "uptime_seconds", snapshot->uptime_seconds,
			 "generation", (json_int_t)snapshot->generation,
			 "reloads", "ok", (json_int_t)snapshot->reloads_ok,
			 "failed", (json_int_t)snapshot->reloads_failed,
			 "pipelines", pipelines_json(snapshot), "lcores", lcores_json(snapshot),
			 "instances", instances_json(snapshot));
}
