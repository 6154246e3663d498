/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The text exposition format (metrics_text.h). Every family is written
 * whole, HELP and TYPE first, because the format wants a family's samples
 * together; so each family walks the snapshot's rows once.
 *
 * Counters come from the snapshot, which sums a replica's figures over the
 * instances reloads retired under the same kernel name, type and replica:
 * they never go back while the daemon runs.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>

#include "accounting.h"
#include "metrics_text.h"

#define METRIC_NAME_MAX 128

/* One label of a sample; the value is escaped when written. */
struct label {
	const char *name;
	const char *value;
};

/* The labels of an instance row: kernel, type, replica (its text kept here). */
struct row_labels {
	char replica[16];
	struct label labels[3];
};

void
metrics_text_label_value(const char *value, FILE *stream)
{
	for (const char *c = value; *c != '\0'; c++) {
		if (*c == '\\')
			fputs("\\\\", stream);
		else if (*c == '"')
			fputs("\\\"", stream);
		else if (*c == '\n')
			fputs("\\n", stream);
		else
			fputc(*c, stream);
	}
}

void
metrics_text_number(double value, FILE *stream)
{
	if (isnan(value))
		fputs("NaN", stream);
	else if (isinf(value))
		fputs(value > 0 ? "+Inf" : "-Inf", stream);
	else
		fprintf(stream, "%.15g", value);
}

/* HELP's text escapes only `\` and line feed. */
static void
write_family(FILE *stream, const char *name, const char *type, const char *help)
{
	fprintf(stream, "# HELP %s ", name);
	for (const char *c = help; *c != '\0'; c++) {
		if (*c == '\\')
			fputs("\\\\", stream);
		else if (*c == '\n')
			fputs("\\n", stream);
		else
			fputc(*c, stream);
	}
	fprintf(stream, "\n# TYPE %s %s\n", name, type);
}

static void
write_labels(FILE *stream, const char *name, const struct label *labels, unsigned count)
{
	fputs(name, stream);
	if (count == 0)
		return;
	fputc('{', stream);
	for (unsigned l = 0; l < count; l++) {
		fprintf(stream, "%s%s=\"", l > 0 ? "," : "", labels[l].name);
		metrics_text_label_value(labels[l].value, stream);
		fputc('"', stream);
	}
	fputc('}', stream);
}

static void
write_count(FILE *stream, const char *name, const struct label *labels, unsigned count,
	    uint64_t value)
{
	write_labels(stream, name, labels, count);
	fprintf(stream, " %" PRIu64 "\n", value);
}

static void
write_value(FILE *stream, const char *name, const struct label *labels, unsigned count,
	    double value)
{
	write_labels(stream, name, labels, count);
	fputc(' ', stream);
	metrics_text_number(value, stream);
	fputc('\n', stream);
}

static const struct label *
instance_labels(const struct status_instance *row, struct row_labels *into)
{
	snprintf(into->replica, sizeof(into->replica), "%u", row->replica);
	into->labels[0] = (struct label){"kernel", row->kernel};
	into->labels[1] = (struct label){"type", row->type};
	into->labels[2] = (struct label){"replica", into->replica};
	return into->labels;
}

/* ---- the daemon --------------------------------------------------------- */

static void
write_daemon(const struct status_snapshot *snapshot, FILE *stream)
{
	const struct label version = {"version", snapshot->version};
	const struct label ok = {"result", "ok"}, failed = {"result", "failed"};

	write_family(stream, "jetstream_build_info", "gauge",
		     "Always 1; the version of the running jetstreamd is a label.");
	write_value(stream, "jetstream_build_info", &version, 1, 1);
	write_family(stream, "jetstream_uptime_seconds", "gauge", "Seconds since the daemon started.");
	write_value(stream, "jetstream_uptime_seconds", NULL, 0, snapshot->uptime_seconds);
	write_family(stream, "jetstream_generation", "gauge",
		     "Generation of the running graph: 1 at start, one more per successful reload.");
	write_value(stream, "jetstream_generation", NULL, 0, snapshot->generation);
	write_family(stream, "jetstream_reloads_total", "counter",
		     "Reloads (SIGHUP) by outcome; a failed one keeps the running graph.");
	write_count(stream, "jetstream_reloads_total", &ok, 1, snapshot->reloads_ok);
	write_count(stream, "jetstream_reloads_total", &failed, 1, snapshot->reloads_failed);
}

static void
write_lcores(const struct status_snapshot *snapshot, FILE *stream)
{
	write_family(stream, "jetstream_lcore_busy_ratio", "gauge",
		     "Share of the last second a polling thread spent in rounds that found work "
		     "(thread: worker, or sink for the sink thread on the main lcore).");
	for (unsigned l = 0; l < snapshot->lcore_count; l++) {
		const struct status_lcore *lcore = &snapshot->lcores[l];
		char id[16];
		struct label labels[2] = {{"lcore", id},
					  {"thread", lcore->sink_thread ? "sink" : "worker"}};

		snprintf(id, sizeof(id), "%u", lcore->lcore);
		write_value(stream, "jetstream_lcore_busy_ratio", labels, 2, lcore->busy_ratio);
	}
}

/* ---- kernel instances ----------------------------------------------------- */

enum instance_counter { ITEMS_IN, ITEMS_OUT, BACKPRESSURE };

static uint64_t
counter_of(const struct status_instance *row, enum instance_counter counter)
{
	switch (counter) {
	case ITEMS_IN:
		return row->totals.counters.items_in;
	case ITEMS_OUT:
		return row->totals.counters.items_out;
	default:
		return row->totals.counters.backpressure;
	}
}

static void
write_instance_counter(const struct status_snapshot *snapshot, const char *name,
		       enum instance_counter counter, const char *help, FILE *stream)
{
	write_family(stream, name, "counter", help);
	for (unsigned i = 0; i < snapshot->instance_count; i++) {
		struct row_labels labels;

		write_count(stream, name, instance_labels(&snapshot->instances[i], &labels), 3,
			    counter_of(&snapshot->instances[i], counter));
	}
}

static void
write_instance_info(const struct status_snapshot *snapshot, FILE *stream)
{
	write_family(stream, "jetstream_kernel_info", "gauge",
		     "Always 1 for each running replica; the lcore that polls it is a label "
		     "(thread: worker, or sink for the sink thread).");
	for (unsigned i = 0; i < snapshot->instance_count; i++) {
		const struct status_instance *row = &snapshot->instances[i];
		struct row_labels row_labels;
		struct label labels[5];
		char lcore[16];

		if (row->replica_count == 0)
			continue; /* removed by a reload: its counters stay, it runs nowhere */
		memcpy(labels, instance_labels(row, &row_labels), 3 * sizeof(labels[0]));
		snprintf(lcore, sizeof(lcore), "%u", row->lcore);
		labels[3] = (struct label){"lcore", lcore};
		labels[4] = (struct label){"thread", row->on_sink_thread ? "sink" : "worker"};
		write_value(stream, "jetstream_kernel_info", labels, 5, 1);
	}
}

static void
write_ring_fill(const struct status_snapshot *snapshot, FILE *stream)
{
	write_family(stream, "jetstream_ring_fill_ratio", "gauge",
		     "Share of an edge ring's capacity in use now, by producer and consumer "
		     "replica; 1 means the producer is held back (backpressure).");
	for (unsigned i = 0; i < snapshot->instance_count; i++) {
		const struct status_instance *row = &snapshot->instances[i];

		for (unsigned j = 0; j < row->input_count; j++) {
			const struct status_input *input = &row->inputs[j];
			char producer_replica[16], consumer_replica[16];
			struct label labels[4] = {{"producer", input->producer},
						  {"producer_replica", producer_replica},
						  {"consumer", row->kernel},
						  {"consumer_replica", consumer_replica}};

			snprintf(producer_replica, sizeof(producer_replica), "%u",
				 input->producer_replica);
			snprintf(consumer_replica, sizeof(consumer_replica), "%u", row->replica);
			write_value(stream, "jetstream_ring_fill_ratio", labels, 4,
				    input->capacity > 0 ? (double)input->used / input->capacity : 0);
		}
	}
}

/* ---- drops, summed over the replicas of a kernel ------------------------------ */

/* Either family of the drops: the counts where known, or whether each is known. */
static void
write_drops(const struct status_snapshot *snapshot, bool known_family, FILE *stream)
{
	const char *name = known_family ? "jetstream_dropped_packets_known"
					: "jetstream_dropped_packets_total";

	if (known_family)
		write_family(stream, name, "gauge",
			     "1 where the kernel's device reports this drop, 0 where it cannot "
			     "(then jetstream_dropped_packets_total has no sample for it: unknown, "
			     "not 0).");
	else
		write_family(stream, name, "counter",
			     "Packets lost at each named place (reason: nic_imissed, nic_rx_nombuf, "
			     "socket_drops, ring_overflow), summed over replicas; a drop the "
			     "device cannot report has no sample (see jetstream_dropped_packets_known).");
	for (unsigned i = 0; i < snapshot->instance_count; i++) {
		struct status_kernel_sum kernel;
		const struct kernel_totals *sum = &kernel.totals;

		if (!status_kernel_sum(snapshot, i, &kernel))
			continue;
		for (unsigned d = 0; d < ACCOUNTING_DROP_COUNT; d++) {
			struct label labels[3] = {{"kernel", snapshot->instances[i].kernel},
						  {"type", snapshot->instances[i].type},
						  {"reason", accounting_drop_name((enum accounting_drop)d)}};
			uint64_t value;
			enum accounting_report report =
				accounting_drop(sum, (enum accounting_drop)d, &value);

			if (known_family && report != ACCOUNTING_NOT_APPLICABLE)
				write_value(stream, name, labels, 3, report == ACCOUNTING_KNOWN);
			else if (!known_family && report == ACCOUNTING_KNOWN)
				write_count(stream, name, labels, 3, value);
		}
	}
}

/* Records a sink lost, by reason, summed over the replicas of a kernel. */
static void
write_record_drops(const struct status_snapshot *snapshot, FILE *stream)
{
	static const char name[] = "jetstream_dropped_records_total";

	write_family(stream, name, "counter",
		     "Records a sink lost, by reason: write_failed (a file or database write failed "
		     "after its retries), sink_full (when_full: drop), refused (the store refused "
		     "them), drain_timeout (still buffered at the end of drain_timeout).");
	for (unsigned i = 0; i < snapshot->instance_count; i++) {
		struct status_kernel_sum kernel;

		if (!status_kernel_sum(snapshot, i, &kernel))
			continue;
		for (unsigned r = 0; r < ACCOUNTING_RECORD_DROP_COUNT; r++) {
			enum accounting_record_drop reason = (enum accounting_record_drop)r;
			struct label labels[3] = {{"kernel", snapshot->instances[i].kernel},
						  {"type", snapshot->instances[i].type},
						  {"reason", accounting_record_drop_name(reason)}};
			uint64_t value;

			if (accounting_record_drop(&kernel.totals, reason, &value))
				write_count(stream, name, labels, 3, value);
		}
	}
}

/* ---- each kernel's own statistics ------------------------------------------- */

/* The distinct statistic names of the snapshot, in order of first appearance. */
static unsigned
stat_names(const struct status_snapshot *snapshot, const char **names, unsigned max)
{
	unsigned count = 0;

	for (unsigned i = 0; i < snapshot->instance_count; i++) {
		const struct kernel_totals *totals = &snapshot->instances[i].totals;

		for (unsigned s = 0; s < totals->stat_count && count < max; s++) {
			unsigned n = 0;

			while (n < count && strcmp(names[n], totals->stats[s].name) != 0)
				n++;
			if (n == count)
				names[count++] = totals->stats[s].name;
		}
	}
	return count;
}

/* One built-in statistic as a family of its own: jetstream_kernel_NAME[_total]. */
static void
write_stat_family(const struct status_snapshot *snapshot, const char *stat, bool counter,
		  FILE *stream)
{
	char name[METRIC_NAME_MAX];

	snprintf(name, sizeof(name), "jetstream_kernel_%s%s", stat, counter ? "_total" : "");
	write_family(stream, name, counter ? "counter" : "gauge", accounting_stat_help(stat));
	for (unsigned i = 0; i < snapshot->instance_count; i++) {
		const struct kernel_stat *value =
			accounting_find_stat(&snapshot->instances[i].totals, stat);
		struct row_labels labels;

		/* a removed kernel's level is no level now; its counters stay */
		if (value != NULL && (counter || snapshot->instances[i].replica_count > 0))
			write_count(stream, name, instance_labels(&snapshot->instances[i], &labels),
				    3, value->value);
	}
}

/* Statistics of plugin kernels: their kind is not known, so one untyped family, named by label. */
static void
write_other_stats(const struct status_snapshot *snapshot, const char **names, unsigned count,
		  FILE *stream)
{
	static const char family[] = "jetstream_kernel_plugin_stat";
	bool any = false;

	for (unsigned n = 0; n < count && !any; n++)
		any = accounting_stat_kind(names[n]) == ACCOUNTING_STAT_OTHER;
	if (!any)
		return;
	write_family(stream, family, "untyped",
		     "A statistic of a plugin kernel (name), whose kind the daemon cannot tell.");
	for (unsigned i = 0; i < snapshot->instance_count; i++) {
		const struct kernel_totals *totals = &snapshot->instances[i].totals;
		struct row_labels row_labels;
		struct label labels[4];

		memcpy(labels, instance_labels(&snapshot->instances[i], &row_labels),
		       3 * sizeof(labels[0]));
		for (unsigned s = 0; s < totals->stat_count; s++) {
			if (accounting_stat_kind(totals->stats[s].name) != ACCOUNTING_STAT_OTHER)
				continue;
			labels[3] = (struct label){"name", totals->stats[s].name};
			write_count(stream, family, labels, 4, totals->stats[s].value);
		}
	}
}

static int
write_stats(const struct status_snapshot *snapshot, FILE *stream)
{
	unsigned max = snapshot->instance_count * KERNEL_MAX_STATS + 1, count;
	const char **names = calloc(max, sizeof(*names));

	if (names == NULL)
		return -1;
	count = stat_names(snapshot, names, max);
	for (unsigned n = 0; n < count; n++) {
		enum accounting_stat_kind kind = accounting_stat_kind(names[n]);

		/* drops and their marks are in the drop families; plugins' in one of their own */
		if (kind == ACCOUNTING_STAT_COUNTER || kind == ACCOUNTING_STAT_GAUGE)
			write_stat_family(snapshot, names[n], kind == ACCOUNTING_STAT_COUNTER,
					  stream);
	}
	write_other_stats(snapshot, names, count, stream);
	free(names);
	return 0;
}

int
metrics_text_render(const struct status_snapshot *snapshot, FILE *stream)
{
	write_daemon(snapshot, stream);
	write_lcores(snapshot, stream);
	write_instance_info(snapshot, stream);
	write_instance_counter(snapshot, "jetstream_kernel_items_in_total", ITEMS_IN,
			       "Packets or records a kernel replica consumed.", stream);
	write_instance_counter(snapshot, "jetstream_kernel_items_out_total", ITEMS_OUT,
			       "Packets or records a kernel replica emitted.", stream);
	write_instance_counter(snapshot, "jetstream_kernel_backpressure_total", BACKPRESSURE,
			       "Polls of a kernel replica skipped because an output ring was full.",
			       stream);
	write_drops(snapshot, false, stream);
	write_drops(snapshot, true, stream);
	write_record_drops(snapshot, stream);
	write_ring_fill(snapshot, stream);
	if (write_stats(snapshot, stream) != 0)
		return -1;
	return ferror(stream) ? -1 : 0;
}
