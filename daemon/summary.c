/* SPDX-License-Identifier: BSD-3-Clause */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "accounting.h"
#include "graph.h"
#include "log.h"
#include "log_journal.h"
#include "notify.h"
#include "summary.h"

static void
print_stat(const struct kernel_stat *stat, FILE *stream)
{
	char base[64];

	if (accounting_is_unknown_mark(stat->name, base, sizeof(base)))
		fprintf(stream, " %s=unknown", base);
	else
		fprintf(stream, " %s=%" PRIu64, stat->name, stat->value);
}

/* One kernel's line; replicas 0 marks a kernel that a reload removed. */
static void
print_kernel(const char *name, const char *type, unsigned replicas,
	     const struct kernel_totals *totals, FILE *stream)
{
	char count[16];

	snprintf(count, sizeof(count), replicas > 0 ? "x%u" : "removed", replicas);
	fprintf(stream, "  %-16s %-16s %-3s in %-10" PRIu64 " out %-10" PRIu64
			" backpressure %" PRIu64,
		name, type, count, totals->counters.items_in, totals->counters.items_out,
		totals->counters.backpressure);
	for (unsigned s = 0; s < totals->stat_count; s++)
		print_stat(&totals->stats[s], stream);
	fputc('\n', stream);
}

static bool
report_instance_errors(const struct graph *graph)
{
	bool any = false;

	for (unsigned i = 0; i < graph->instance_count; i++) {
		const struct kernel_instance *instance = graph->instances[i];

		if (kernel_instance_error(instance)[0] != '\0') {
			log_kernel_error(instance->name, "kernel '%s' (replica %u): %s", instance->name,
					 instance->replica, kernel_instance_error(instance));
			any = true;
		}
	}
	return any;
}

static void
count_totals(bool is_source, const struct kernel_totals *totals, uint64_t *packets,
	     uint64_t *drops)
{
	if (is_source)
		*packets += totals->counters.items_out;
	*drops += accounting_known_drops(totals);
}

/* Append " + NAME VALUE" (or "unknown") for each drop of the source; @return false if one is unknown. */
static bool
append_drop_terms(const struct kernel_totals *totals, char *terms, size_t size)
{
	bool known = true;
	size_t used = strlen(terms);

	for (unsigned d = 0; d < ACCOUNTING_DROP_COUNT; d++) {
		const char *name = accounting_drop_name((enum accounting_drop)d);
		uint64_t value;
		enum accounting_report report = accounting_drop(totals, (enum accounting_drop)d, &value);

		if (report == ACCOUNTING_KNOWN)
			used += (size_t)snprintf(terms + used, size - RTE_MIN(used, size),
						 " + %s %" PRIu64, name, value);
		else if (report == ACCOUNTING_UNKNOWN) {
			used += (size_t)snprintf(terms + used, size - RTE_MIN(used, size),
						 " + %s unknown", name);
			known = false;
		}
		used = RTE_MIN(used, size);
	}
	return known;
}

/*
 * A source's accounting equation on one line. `received` is the device's own
 * count where it has one (kernel_received: what the kernel gave the af_packet
 * sockets, dropped frames included), and then the frames still unread when
 * the source stopped (they came after its stop) are named too; elsewhere it
 * is the frames the reader took plus those the device says it dropped. A
 * malformed packet is processed: it is counted, not dropped.
 */
static bool
print_accounting(const char *name, const struct kernel_totals *totals, FILE *stream)
{
	char terms[512] = "";
	bool known = append_drop_terms(totals, terms, sizeof(terms));
	const struct kernel_stat *kernel_received = accounting_find_stat(totals, "kernel_received");
	uint64_t taken = accounting_stat_value(totals, "packets") + accounting_known_drops(totals);
	char received[32] = "unknown";

	if (kernel_received != NULL) {
		/* never negative: a reader that took more than the kernel gave shows as a mismatch */
		uint64_t unread = kernel_received->value > taken ? kernel_received->value - taken : 0;
		size_t used = strlen(terms);

		snprintf(terms + used, sizeof(terms) - used, " + unread_at_exit %" PRIu64, unread);
		snprintf(received, sizeof(received), "%" PRIu64, kernel_received->value);
	} else if (known) {
		snprintf(received, sizeof(received), "%" PRIu64, taken);
	}
	fprintf(stream, "jetstreamd: source %s: received %s = processed %" PRIu64 "%s; processed "
			"includes malformed_packets %" PRIu64 "\n",
		name, received, totals->counters.items_out, terms,
		accounting_stat_value(totals, "malformed_packets"));
	return known;
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

/* Figures of the sources, kept from their kernel line for their accounting line. */
struct source_figures {
	const char *name;
	struct kernel_totals totals;
};

/* One kernel line of the summary: by type name, as retired kernels' code may be gone. */
struct summary_kernel {
	const char *name;
	const char *type;
	bool is_source;
	unsigned replicas;                  /**< 0: removed by a reload */
};

/* Print a kernel's line, count it into the totals, and keep a source's figures. */
static void
report_kernel(const struct summary_kernel *kernel, const struct kernel_totals *totals,
	      struct source_figures *sources, unsigned *source_count, uint64_t *packets,
	      uint64_t *drops, FILE *stream)
{
	const char *name = kernel->name;

	print_kernel(name, kernel->type, kernel->replicas, totals, stream);
	count_totals(kernel->is_source, totals, packets, drops);
	if (kernel->is_source && sources != NULL)
		sources[(*source_count)++] = (struct source_figures){name, *totals};
}

/* true when no retired entry before @p index is of the same kernel (another replica of it) */
static bool
first_retired_entry(const struct graph *graph, unsigned index)
{
	const struct graph_retired *entry = &graph->retired[index];

	for (unsigned r = 0; r < index; r++)
		if (strcmp(graph->retired[r].name, entry->name) == 0 &&
		    strcmp(graph->retired[r].type, entry->type) == 0)
			return false;
	return true;
}

bool
summary_print(const struct graph *graph, double seconds, FILE *stream)
{
	uint64_t packets = 0, drops = 0;
	bool errors = report_instance_errors(graph) || graph->retired_errors > 0;
	/*
	 * Figures are read once: a live device's counters go on changing, and
	 * the accounting lines must add up with the kernel lines above them.
	 */
	struct source_figures *sources =
		calloc(graph->kernel_count + graph->retired_count + 1, sizeof(*sources));
	unsigned source_count = 0, unknown_sources = 0;

	fprintf(stream, "jetstreamd: summary (generation %u):\n", graph->generation);
	for (unsigned k = 0; k < graph->kernel_count; k++) {
		const struct graph_kernel *kernel = &graph->kernels[k];
		struct summary_kernel line = {kernel->name, kernel->ops->name,
					      kernel->ops->input_type == STREAM_NONE, kernel->replicas};
		struct kernel_totals totals = {0}, retired = {0};

		for (unsigned r = 0; r < kernel->replicas; r++)
			kernel_totals_add_instance(&totals, graph->instances[kernel->first_instance + r]);
		graph_add_retired(graph, kernel->name, kernel->ops->name, &retired);
		accounting_add_retired(&totals, &retired);
		report_kernel(&line, &totals, sources, &source_count, &packets, &drops, stream);
	}
	/* kernels a reload removed still read and dropped what they did: one line, all replicas */
	for (unsigned r = 0; r < graph->retired_count; r++) {
		const struct graph_retired *retired = &graph->retired[r];
		struct summary_kernel line = {retired->name, retired->type, retired->is_source, 0};
		struct kernel_totals totals = {0};

		if (graph_find_kernel(graph, retired->name, retired->type) != NULL ||
		    !first_retired_entry(graph, r))
			continue;
		graph_add_retired(graph, retired->name, retired->type, &totals);
		report_kernel(&line, &totals, sources, &source_count, &packets, &drops, stream);
	}
	print_rings(graph, stream);
	if (sources == NULL)
		log_error("out of memory: no accounting lines in the summary");
	for (unsigned s = 0; s < source_count; s++)
		unknown_sources += !print_accounting(sources[s].name, &sources[s].totals, stream);
	free(sources);
	fprintf(stream, "jetstreamd: %" PRIu64 " packets in %.3f s (%.2f Mpps), %" PRIu64 " dropped",
		packets, seconds, seconds > 0 ? (double)packets / seconds / 1e6 : 0.0, drops);
	/* a device that cannot count its drops must not read as "0 dropped" */
	if (unknown_sources > 0)
		fprintf(stream, "; drops unknown at %u source%s", unknown_sources,
			unknown_sources > 1 ? "s" : "");
	fputc('\n', stream);
	return !errors;
}

void
summary_notify_ready(const struct graph *graph)
{
	char status[256];

	snprintf(status, sizeof(status), "generation %u: %u kernels (%u instances) on %u worker lcores",
		 graph->generation, graph->kernel_count, graph->instance_count,
		 graph->layout->worker_count);
	notify_ready(status);
	log_set_generation(graph->generation);
	/* generation 1 is the start (graph_build); later ones follow the "reloaded" line */
	log_event(LOG_LEVEL_INFO, graph->generation == 1 ? LOG_MESSAGE_STARTED : NULL, "%s", status);
}
