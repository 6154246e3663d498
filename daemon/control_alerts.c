/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `alerts`: each lifecycle threshold replica publishes its open alerts
 * furthest above their limits (kernels/threshold.h); this merges the
 * replicas' views and answers the first N of them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_alerts.h"
#include "control_commands.h"
#include "graph.h"
#include "kernels/threshold.h"
#include "packet.h"
#include "runtime.h"

/* `alerts` answers this many when the request does not say, and at most this many. */
#define ALERTS_DEFAULT_COUNT 20
#define ALERTS_MAX_COUNT 1000

/* One open alert of the merge, with the kernel and stream time of its replica. */
struct merged_alert {
	const char *kernel;
	uint64_t stream_ns;
	struct open_alert alert;
};

struct alerts_merge {
	const char *kernel;       /* the one asked for, or NULL for every lifecycle threshold */
	unsigned thresholds;      /* replicas read */
	uint64_t open;
	unsigned count, capacity;
	struct merged_alert *entries;
	struct threshold_view view; /* the replica being read */
};

static double
severity(const struct open_alert *alert)
{
	return (double)alert->peak / (double)(alert->threshold > 0 ? alert->threshold : 1);
}

/* Furthest above first, then the older, then by id: the same order every time. */
static int
compare_merged(const void *left_pointer, const void *right_pointer)
{
	const struct open_alert *left = &((const struct merged_alert *)left_pointer)->alert;
	const struct open_alert *right = &((const struct merged_alert *)right_pointer)->alert;

	if (severity(left) != severity(right))
		return severity(left) > severity(right) ? -1 : 1;
	if (left->start_ns != right->start_ns)
		return left->start_ns < right->start_ns ? -1 : 1;
	return left->alert_id < right->alert_id ? -1 : left->alert_id > right->alert_id;
}

/* Add one replica's view. @return NULL, or an error reply. */
static json_t *
merge_replica(struct alerts_merge *merge, const struct kernel_instance *instance)
{
	int result = threshold_read_view(instance, &merge->view);

	if (result == -ENOTSUP)
		return merge->kernel == NULL ? NULL
					     : control_commands_error("kernel '%s' has `alerts: "
								      "per_window`: it keeps no "
								      "open alerts", merge->kernel);
	merge->thresholds++;
	if (result != 0)
		return control_commands_error("kernel '%s': its open alerts changed during every "
					      "read; try again", instance->name);
	merge->open += merge->view.open;
	for (unsigned i = 0; i < merge->view.count && merge->count < merge->capacity; i++)
		merge->entries[merge->count++] = (struct merged_alert){
			.kernel = instance->name, .stream_ns = merge->view.stream_ns,
			.alert = merge->view.entries[i]};
	return NULL;
}

static const char *const metric_names[] = {"pkts", "bytes"};

static json_t *
alert_json(const struct merged_alert *merged)
{
	const struct open_alert *alert = &merged->alert;
	char identifier[17], first[64], second[64], group[ALERT_GROUP_SIZE + 1];
	json_t *object;

	snprintf(identifier, sizeof(identifier), "%016llx", (unsigned long long)alert->alert_id);
	snprintf(group, sizeof(group), "%.*s", (int)sizeof(alert->group), alert->group);
	object = json_pack("{s:s, s:s}", "kernel", merged->kernel, "alert_id", identifier);
	if (alert->key.kind != COUNT_KEY_DESTINATION) {
		packet_address_format(alert->key.source_address, first, sizeof(first));
		json_object_set_new(object, "src", json_string(first));
	}
	if (alert->key.kind != COUNT_KEY_SOURCE) {
		packet_address_format(alert->key.destination_address, second, sizeof(second));
		json_object_set_new(object, "dst", json_string(second));
	}
	if (group[0] != '\0')
		json_object_set_new(object, "group", json_string(group));
	json_object_set_new(object, "metric", json_string(metric_names[alert->metric & 1]));
	if (alert->per == THRESHOLD_PER_SECOND)
		json_object_set_new(object, "per", json_string("second"));
	json_object_update_new(
		object, json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f}", "value",
				  (json_int_t)alert->value, "threshold", (json_int_t)alert->threshold,
				  "peak", (json_int_t)alert->peak, "pkts",
				  (json_int_t)alert->total_packets, "bytes",
				  (json_int_t)alert->total_bytes, "start", (double)alert->start_ns / 1e9,
				  "end", (double)alert->end_ns / 1e9, "age",
				  merged->stream_ns > alert->start_ns
					  ? (double)(merged->stream_ns - alert->start_ns) / 1e9
					  : 0.0));
	return object;
}

static json_t *
merged_reply(struct alerts_merge *merge, unsigned wanted)
{
	json_t *list = json_array();
	unsigned shown = merge->count < wanted ? merge->count : wanted;

	qsort(merge->entries, merge->count, sizeof(merge->entries[0]), compare_merged);
	for (unsigned i = 0; list != NULL && i < shown; i++)
		if (json_array_append_new(list, alert_json(&merge->entries[i])) != 0) {
			json_decref(list);
			list = NULL;
		}
	if (list == NULL)
		return control_commands_error("out of memory");
	return json_pack("{s:b, s:I, s:I, s:o}", "ok", 1, "open", (json_int_t)merge->open, "shown",
			 (json_int_t)shown, "alerts", list);
}

/* Every replica of the thresholds asked for, into @p merge. @return an error reply, or NULL. */
static json_t *
merge_graph(const struct graph *graph, struct alerts_merge *merge)
{
	bool named = false;

	for (unsigned i = 0; i < graph->instance_count; i++) {
		const struct kernel_instance *instance = graph->instances[i];
		json_t *error;

		if (merge->kernel != NULL && strcmp(instance->name, merge->kernel) != 0)
			continue;
		if (merge->kernel != NULL && instance->ops != &threshold_kernel)
			return control_commands_error("kernel '%s' is a %s, not a threshold",
						      merge->kernel, instance->ops->name);
		named = true;
		if (instance->ops != &threshold_kernel)
			continue;
		error = merge_replica(merge, instance);
		if (error != NULL)
			return error;
	}
	if (merge->kernel != NULL && !named)
		return control_commands_error("no kernel named '%s'", merge->kernel);
	if (merge->thresholds == 0)
		return control_commands_error("no threshold with `alerts: lifecycle` runs");
	return NULL;
}

json_t *
control_alerts(const json_t *request)
{
	const struct graph *graph = runtime_graph();
	struct alerts_merge merge = {0};
	json_int_t wanted = ALERTS_DEFAULT_COUNT;
	const char *command;
	json_error_t error;
	json_t *reply;

	if (json_unpack_ex((json_t *)request, &error, JSON_STRICT, "{s:s, s?s, s?I}", "command",
			   &command, "kernel", &merge.kernel, "n", &wanted) != 0)
		return control_commands_error("alerts: %s", error.text);
	if (wanted < 1 || wanted > ALERTS_MAX_COUNT)
		return control_commands_error("n: from 1 to %u", ALERTS_MAX_COUNT);
	if (graph == NULL)
		return control_commands_error("the daemon is still starting");
	merge.capacity = graph->instance_count * THRESHOLD_VIEW_MAX;
	merge.entries = calloc(merge.capacity > 0 ? merge.capacity : 1, sizeof(*merge.entries));
	if (merge.entries == NULL)
		return control_commands_error("out of memory");
	reply = merge_graph(graph, &merge);
	if (reply == NULL)
		reply = merged_reply(&merge, (unsigned)wanted);
	free(merge.entries);
	return reply;
}
