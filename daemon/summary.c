/* SPDX-License-Identifier: BSD-3-Clause */
#include <inttypes.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "graph.h"
#include "log.h"
#include "summary.h"

static uint64_t
stat_value(const struct kernel_totals *totals, const char *name)
{
	for (unsigned s = 0; s < totals->stat_count; s++)
		if (strcmp(totals->stats[s].name, name) == 0)
			return totals->stats[s].value;
	return 0;
}

/* One kernel's line; replicas 0 marks a kernel that a reload removed. */
static void
print_kernel(const char *name, const struct kernel_ops *ops, unsigned replicas,
	     const struct kernel_totals *totals, FILE *stream)
{
	char count[16];

	snprintf(count, sizeof(count), replicas > 0 ? "x%u" : "removed", replicas);
	fprintf(stream, "  %-16s %-16s %-3s in %-10" PRIu64 " out %-10" PRIu64
			" backpressure %" PRIu64,
		name, ops->name, count, totals->counters.items_in, totals->counters.items_out,
		totals->counters.backpressure);
	for (unsigned s = 0; s < totals->stat_count; s++)
		fprintf(stream, " %s=%" PRIu64, totals->stats[s].name, totals->stats[s].value);
	fputc('\n', stream);
}

static bool
report_instance_errors(const struct graph *graph)
{
	bool any = false;

	for (unsigned i = 0; i < graph->instance_count; i++) {
		const struct kernel_instance *instance = graph->instances[i];

		if (instance->error[0] != '\0') {
			log_error("kernel '%s' (replica %u): %s", instance->name, instance->replica,
				  instance->error);
			any = true;
		}
	}
	return any;
}

static void
count_totals(const struct kernel_ops *ops, const struct kernel_totals *totals, uint64_t *packets,
	     uint64_t *drops)
{
	if (ops->input_type == STREAM_NONE)
		*packets += totals->counters.items_out;
	*drops += totals->counters.ring_overflow + stat_value(totals, "nic_imissed") +
		  stat_value(totals, "nic_rx_nombuf");
}

/* One line per ring: how the partitioning spread the items. */
static void
print_rings(const struct graph *graph, FILE *stream)
{
	for (unsigned r = 0; r < graph->ring_count; r++) {
		const struct kernel_ring *ring = graph->rings[r];

		fprintf(stream, "  ring %s.%u -> %s.%u enqueued %" PRIu64 "\n", ring->producer->name,
			ring->producer->replica, ring->consumer->name, ring->consumer->replica,
			ring->enqueued);
	}
}

bool
summary_print(const struct graph *graph, double seconds, FILE *stream)
{
	uint64_t packets = 0, drops = 0;
	bool errors = report_instance_errors(graph) || graph->retired_errors > 0;

	fprintf(stream, "jetstreamd: summary (generation %u):\n", graph->generation);
	for (unsigned k = 0; k < graph->kernel_count; k++) {
		const struct graph_kernel *kernel = &graph->kernels[k];
		struct graph_retired *retired = graph_find_retired(graph, kernel->name, kernel->ops);
		struct kernel_totals totals = {0};

		for (unsigned r = 0; r < kernel->replicas; r++)
			kernel_totals_add_instance(&totals, graph->instances[kernel->first_instance + r]);
		if (retired != NULL)
			kernel_totals_add(&totals, &retired->totals);
		print_kernel(kernel->name, kernel->ops, kernel->replicas, &totals, stream);
		count_totals(kernel->ops, &totals, &packets, &drops);
	}
	/* kernels a reload removed still read and dropped what they did */
	for (unsigned r = 0; r < graph->retired_count; r++) {
		const struct graph_retired *retired = &graph->retired[r];

		if (graph_find_kernel(graph, retired->name, retired->ops) != NULL)
			continue;
		print_kernel(retired->name, retired->ops, 0, &retired->totals, stream);
		count_totals(retired->ops, &retired->totals, &packets, &drops);
	}
	print_rings(graph, stream);
	fprintf(stream, "jetstreamd: %" PRIu64 " packets in %.3f s (%.2f Mpps), %" PRIu64 " dropped\n",
		packets, seconds, seconds > 0 ? (double)packets / seconds / 1e6 : 0.0, drops);
	return !errors;
}

void
summary_notify_ready(const struct graph *graph)
{
	char status[256];

	snprintf(status, sizeof(status), "generation %u: %u kernels (%u instances) on %u worker lcores",
		 graph->generation, graph->kernel_count, graph->instance_count,
		 graph->layout->worker_count);
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
	log_info("%s", status);
}
