/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * threshold: turns src_count records whose packets or bytes are above a limit
 * into alert records. Stateless per record, so replicas need no coordination
 * and a changed limit can be taken over by simply starting anew.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

struct threshold_params {
	uint32_t metric; /* enum threshold_metric */
	uint64_t above;
};

static const char *const metric_names[] = {"pkts", "bytes", NULL};

static const struct config_field threshold_fields[] = {
	{.key = "metric", .type = CONFIG_CHOICE, .offset = offsetof(struct threshold_params, metric),
	 .choices = metric_names, .default_value = "pkts",
	 .description = "what is compared: `pkts` or `bytes` of each src_count record"},
	{.key = "above", .type = CONFIG_UNSIGNED, .offset = offsetof(struct threshold_params, above),
	 .required = true,
	 .description = "alert when the metric is strictly greater than this, per window"},
	{.key = NULL},
};

struct threshold_state {
	uint64_t alerts;
};

static int
threshold_init(struct kernel_instance *instance)
{
	instance->state = calloc(1, sizeof(struct threshold_state));
	return instance->state == NULL ? -ENOMEM : 0;
}

/* Build the alert for @p count, or return false when it stays within the limit. */
static bool
threshold_evaluate(const struct threshold_params *params, const struct src_count_record *count,
		   const char *kernel_name, struct alert_record *alert)
{
	uint64_t value = params->metric == THRESHOLD_METRIC_BYTES ? count->bytes : count->packets;

	if (value <= params->above)
		return false;
	memset(alert, 0, sizeof(*alert));
	alert->header.type = STREAM_ALERT;
	alert->header.partition_hash = count->header.partition_hash;
	alert->header.kernel = kernel_name;
	memcpy(alert->source_address, count->source_address, sizeof(alert->source_address));
	memcpy(alert->destination_address, count->destination_address,
	       sizeof(alert->destination_address));
	alert->key = count->key;
	alert->value = value;
	alert->threshold = params->above;
	alert->start_ns = count->start_ns;
	alert->end_ns = count->end_ns;
	alert->metric = params->metric;
	return true;
}

static unsigned
threshold_process(struct kernel_instance *instance)
{
	const struct threshold_params *params = instance->params;
	struct threshold_state *state = instance->state;
	struct src_count_record counts[KERNEL_BURST];
	struct alert_record alerts[KERNEL_BURST];
	unsigned budget = kernel_burst_budget(instance);
	unsigned received, alert_count = 0;

	if (budget == 0)
		return 0;
	/* At most one alert per record, so the budget bounds the records read. */
	received = kernel_receive(instance, counts, budget, NULL);
	for (unsigned i = 0; i < received; i++)
		if (threshold_evaluate(params, &counts[i], instance->name, &alerts[alert_count]))
			alert_count++;
	state->alerts += alert_count;
	kernel_emit_records(instance, alerts, alert_count);
	return received;
}

static unsigned
threshold_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	const struct threshold_state *state = instance->state;

	stats[0] = (struct kernel_stat){"alerts", state->alerts};
	return 1;
}

/* A new limit applies from the next record on; only the alert count carries over. */
static void
threshold_take_state(struct kernel_instance *instance, struct kernel_instance *old)
{
	kernel_swap_state(instance, old);
}

static void
threshold_destroy(struct kernel_instance *instance)
{
	free(instance->state);
	instance->state = NULL;
}

const struct kernel_ops threshold_kernel = {
	.name = "threshold",
	.description = "Alert records for src_count records above a limit",
	.input_type = STREAM_SRC_COUNT,
	.output_type = STREAM_ALERT,
	.replicable = true,
	.params_size = sizeof(struct threshold_params),
	.config_map = threshold_fields,
	.init = threshold_init,
	.process = threshold_process,
	.stats = threshold_stats,
	.take_state = threshold_take_state,
	.destroy = threshold_destroy,
};
