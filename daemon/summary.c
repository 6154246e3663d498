/* SPDX-License-Identifier: BSD-3-Clause */
#include <inttypes.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "graph.h"
#include "log.h"
#include "summary.h"

/* One kernel's figures, summed over its replicas. */
struct kernel_totals {
	struct kernel_counters counters;
	unsigned stat_count;
	struct kernel_stat stats[KERNEL_MAX_STATS];
};

static void
add_instance(struct kernel_totals *totals, const struct kernel_instance *instance)
{
	struct kernel_stat stats[KERNEL_MAX_STATS];
	unsigned count = instance->ops->stats != NULL ? instance->ops->stats(instance, stats) : 0;

	totals->counters.items_in += instance->counters.items_in;
	totals->counters.items_out += instance->counters.items_out;
	totals->counters.backpressure += instance->counters.backpressure;
	totals->counters.ring_overflow += instance->counters.ring_overflow;
	for (unsigned s = 0; s < count; s++) {
		unsigned t = 0;

		while (t < totals->stat_count && strcmp(totals->stats[t].name, stats[s].name) != 0)
			t++;
		if (t == totals->stat_count) {
			if (totals->stat_count == KERNEL_MAX_STATS)
				continue;
			totals->stats[totals->stat_count++] = (struct kernel_stat){stats[s].name, 0};
		}
		totals->stats[t].value += stats[s].value;
	}
}

static uint64_t
stat_value(const struct kernel_totals *totals, const char *name)
{
	for (unsigned s = 0; s < totals->stat_count; s++)
		if (strcmp(totals->stats[s].name, name) == 0)
			return totals->stats[s].value;
	return 0;
}

static void
print_kernel(const struct kernel_spec *spec, const struct kernel_totals *totals, FILE *stream)
{
	fprintf(stream, "  %-16s %-16s x%-2u in %-10" PRIu64 " out %-10" PRIu64
			" backpressure %" PRIu64,
		spec->name, spec->ops->name, spec->replicas, totals->counters.items_in,
		totals->counters.items_out, totals->counters.backpressure);
	for (unsigned s = 0; s < totals->stat_count; s++)
		fprintf(stream, " %s=%" PRIu64, totals->stats[s].name, totals->stats[s].value);
	fputc('\n', stream);
}

static bool
report_instance_errors(const struct graph *graph)
{
	bool any = false;

	for (unsigned i = 0; i < graph->instance_count; i++) {
		const struct kernel_instance *instance = &graph->instances[i];

		if (instance->error[0] != '\0') {
			log_error("kernel '%s' (replica %u): %s", instance->name, instance->replica,
				  instance->error);
			any = true;
		}
	}
	return any;
}

/* One line per ring: how the partitioning spread the items. */
static void
print_rings(const struct graph *graph, FILE *stream)
{
	for (unsigned i = 0; i < graph->instance_count; i++) {
		const struct kernel_instance *instance = &graph->instances[i];

		for (unsigned e = 0; e < instance->output_edge_count; e++) {
			const struct kernel_output_edge *edge = &instance->output_edges[e];

			for (unsigned r = 0; r < edge->ring_count; r++)
				fprintf(stream, "  ring %s.%u -> %s.%u enqueued %" PRIu64 "\n",
					instance->name, instance->replica, edge->consumers->name, r,
					edge->enqueued[r]);
		}
	}
}

bool
summary_print(const struct graph *graph, double seconds, FILE *stream)
{
	const struct config *config = graph->config;
	uint64_t packets = 0, drops = 0;
	bool errors = report_instance_errors(graph);

	fprintf(stream, "jetstreamd: summary:\n");
	for (unsigned k = 0; k < config->kernel_count; k++) {
		const struct kernel_spec *spec = &config->kernels[k];
		struct kernel_totals totals = {0};

		for (unsigned i = 0; i < graph->instance_count; i++)
			if (graph->instances[i].spec == spec)
				add_instance(&totals, &graph->instances[i]);
		print_kernel(spec, &totals, stream);
		if (spec->ops->input_type == STREAM_NONE)
			packets += totals.counters.items_out;
		drops += totals.counters.ring_overflow + stat_value(&totals, "nic_imissed") +
			 stat_value(&totals, "nic_rx_nombuf");
	}
	print_rings(graph, stream);
	fprintf(stream, "jetstreamd: %" PRIu64 " packets in %.3f s (%.2f Mpps), %" PRIu64 " dropped\n",
		packets, seconds, seconds > 0 ? (double)packets / seconds / 1e6 : 0.0, drops);
	return !errors;
}

void
summary_notify_ready(const struct graph *graph)
{
	const struct config *config = graph->config;

	sd_notifyf(0, "READY=1\nSTATUS=running %u kernels (%u instances) on %u worker lcores",
		   config->kernel_count, graph->instance_count, graph->worker_count);
	log_info("running %u kernels (%u instances) on %u worker lcores", config->kernel_count,
		 graph->instance_count, graph->worker_count);
}
