/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPDK telemetry commands (telemetry.h). Telemetry's values are integers
 * and strings only: rates are rounded to whole items per second. A drop the
 * device cannot report is the string "unknown", never 0.
 *
 * Threads: the callbacks run on DPDK's telemetry thread and read nothing but
 * their own copy of the published snapshot (summing it looks names up in the
 * interned list, which has a lock of its own: kernel_intern_name()).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "accounting.h"
#include "log.h"
#include "status.h"
#include "telemetry.h"

static int
answer_status(const char *command, const char *parameters, struct rte_tel_data *data)
{
	struct status_snapshot *snapshot = status_take_published();
	uint64_t packets;
	double packets_per_second;

	(void)command;
	(void)parameters;
	if (snapshot == NULL)
		return -EAGAIN; /* before the first second's sample */
	status_source_totals(snapshot, &packets, &packets_per_second);
	rte_tel_data_start_dict(data);
	rte_tel_data_add_dict_string(data, "version", snapshot->version);
	rte_tel_data_add_dict_u64(data, "uptime_seconds", (uint64_t)snapshot->uptime_seconds);
	rte_tel_data_add_dict_u64(data, "generation", snapshot->generation);
	rte_tel_data_add_dict_u64(data, "reloads_ok", snapshot->reloads_ok);
	rte_tel_data_add_dict_u64(data, "reloads_failed", snapshot->reloads_failed);
	rte_tel_data_add_dict_u64(data, "lcores", snapshot->lcore_count);
	rte_tel_data_add_dict_u64(data, "instances", status_running_instances(snapshot));
	rte_tel_data_add_dict_u64(data, "packets", packets);
	rte_tel_data_add_dict_u64(data, "packets_per_second", (uint64_t)llround(packets_per_second));
	status_free(snapshot);
	return 0;
}

static bool
named_before(const struct status_snapshot *snapshot, unsigned index)
{
	for (unsigned i = 0; i < index; i++)
		if (strcmp(snapshot->instances[i].kernel, snapshot->instances[index].kernel) == 0)
			return true;
	return false;
}

/* The names, each once (a kernel has a row per replica). */
static void
list_kernels(const struct status_snapshot *snapshot, struct rte_tel_data *data)
{
	rte_tel_data_start_array(data, RTE_TEL_STRING_VAL);
	for (unsigned i = 0; i < snapshot->instance_count; i++)
		if (!named_before(snapshot, i))
			rte_tel_data_add_array_string(data, snapshot->instances[i].kernel);
}

/* Each statistic: its count, or "unknown" for the mark of one a device cannot tell. */
static void
add_stats(const struct kernel_totals *totals, struct rte_tel_data *data)
{
	for (unsigned s = 0; s < totals->stat_count; s++) {
		char base[64];

		if (accounting_is_unknown_mark(totals->stats[s].name, base, sizeof(base)))
			rte_tel_data_add_dict_string(data, base, "unknown");
		else /* a name telemetry refuses (a plugin's) is left out */
			rte_tel_data_add_dict_u64(data, totals->stats[s].name, totals->stats[s].value);
	}
}

/* One kernel's figures over its rows (replicas, live and retired); the live type first. */
static int
describe_kernel(const struct status_snapshot *snapshot, const char *name, struct rte_tel_data *data)
{
	struct status_kernel_sum sum;
	unsigned first = 0;

	while (first < snapshot->instance_count && strcmp(snapshot->instances[first].kernel, name) != 0)
		first++;
	if (first == snapshot->instance_count || !status_kernel_sum(snapshot, first, &sum))
		return -EINVAL;
	rte_tel_data_start_dict(data);
	rte_tel_data_add_dict_string(data, "type", snapshot->instances[first].type);
	rte_tel_data_add_dict_u64(data, "replicas", sum.replica_count);
	rte_tel_data_add_dict_u64(data, "items_in", sum.totals.counters.items_in);
	rte_tel_data_add_dict_u64(data, "items_out", sum.totals.counters.items_out);
	rte_tel_data_add_dict_u64(data, "backpressure", sum.totals.counters.backpressure);
	rte_tel_data_add_dict_u64(data, "ring_overflow", sum.totals.counters.ring_overflow);
	rte_tel_data_add_dict_u64(data, "items_in_per_second",
				  (uint64_t)llround(sum.items_in_per_second));
	rte_tel_data_add_dict_u64(data, "items_out_per_second",
				  (uint64_t)llround(sum.items_out_per_second));
	add_stats(&sum.totals, data);
	return 0;
}

static int
answer_kernels(const char *command, const char *parameters, struct rte_tel_data *data)
{
	struct status_snapshot *snapshot = status_take_published();
	int result = 0;

	(void)command;
	if (snapshot == NULL)
		return -EAGAIN;
	if (parameters == NULL || parameters[0] == '\0')
		list_kernels(snapshot, data);
	else
		result = describe_kernel(snapshot, parameters, data);
	status_free(snapshot);
	return result;
}

void
telemetry_register(void)
{
	if (rte_telemetry_register_cmd("/jetstream/status", answer_status,
				       "Version, uptime, generation, reloads and packets. No parameters.") != 0 ||
	    rte_telemetry_register_cmd("/jetstream/kernels", answer_kernels,
				       "Kernel names; with a name as parameter, that kernel's figures "
				       "summed over its replicas.") != 0)
		log_warning("cannot register the /jetstream telemetry commands");
}
