/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "kernels/sink_clickhouse.h"
#include "outputs/jsonl.h"

/* The keys only format clickhouse reads. */
/* (`url` is format webhook's too: sink.c checks where it applies) */
static const char *const clickhouse_keys[] = {"table", "database", "batch_rows",
					      "batch_delay", "create_table", NULL};

static void
check_values(const struct sink_clickhouse_params *params, struct config_check_context *context)
{
	if (strncmp(params->url, "http://", 7) != 0 && strncmp(params->url, "https://", 8) != 0)
		config_check_error(context, "url",
				   "'%s' is not an http:// or https:// URL (ClickHouse's HTTP "
				   "interface, http://HOST:8123)", params->url);
	if (!clickhouse_name_valid(params->table, true))
		config_check_error(context, "table",
				   "'%s' is not a table name (letters, digits and '_', not first a "
				   "digit; '{type}' is the record type)", params->table);
	if (!clickhouse_name_valid(params->database, false))
		config_check_error(context, "database",
				   "'%s' is not a database name (letters, digits and '_', not first "
				   "a digit)", params->database);
	if (params->create_table && strstr(params->table, "{type}") == NULL)
		config_check_error(context, "create_table",
				   "'create_table' needs '{type}' in 'table' (each record type has "
				   "columns of its own)");
}

void
sink_clickhouse_check(const struct sink_clickhouse_params *params, bool selected,
		      struct config_check_context *context)
{
	if (!selected) {
		for (const char *const *key = clickhouse_keys; *key != NULL; key++)
			if (config_check_key_set(context, *key))
				config_check_error(context, *key,
						   "'%s' applies to format clickhouse only", *key);
		return;
	}
	if (config_check_key_set(context, "path"))
		config_check_error(context, "path",
				   "'path' does not apply with format clickhouse (records go to 'url')");
	if (config_check_key_set(context, "retry"))
		config_check_error(context, "retry",
				   "'retry' does not apply with format clickhouse (a failed batch "
				   "waits in the buffer and is retried, backing off from 100ms to 5s, "
				   "until the server takes it)");
	check_values(params, context);
}

int
sink_clickhouse_open(struct kernel_instance *instance,
		     const struct sink_clickhouse_params *params,
		     const struct sink_delivery_params *delivery, struct clickhouse **clickhouse)
{
	struct clickhouse_settings settings = {
		.owner = instance->name, .url = params->url, .database = params->database,
		.table = params->table, .create_table = params->create_table,
		.capacity = delivery->buffer_size, .batch_rows = (unsigned)params->batch_rows,
		.batch_delay_ns = params->batch_delay_ns,
		.drain_timeout_ns = delivery->drain_timeout_ns,
	};

	return clickhouse_open(clickhouse, &settings, instance->error, sizeof(instance->error));
}

unsigned
sink_clickhouse_room(struct clickhouse *clickhouse, bool drop_when_full)
{
	size_t room = clickhouse_space(clickhouse) / JSONL_LINE_MAX;

	if (drop_when_full)
		return KERNEL_BURST;
	return room < KERNEL_BURST ? (unsigned)room : KERNEL_BURST;
}

void
sink_clickhouse_note_failure(struct kernel_instance *instance, struct clickhouse *clickhouse)
{
	struct delivery_figures figures;

	clickhouse_figures(clickhouse, &figures);
	/* as with every format: a record lost for any reason makes the output incomplete */
	if (figures.dropped_records > 0)
		kernel_fail(instance,
			    "%" PRIu64 " records not delivered to ClickHouse (dropped_records: "
			    "sink_full %" PRIu64 ", refused %" PRIu64 ", drain_timeout %" PRIu64
			    "; the log says why)",
			    figures.dropped_records, figures.dropped_sink_full,
			    figures.dropped_refused, figures.dropped_drain_timeout);
}

unsigned
sink_clickhouse_stats(struct clickhouse *clickhouse, struct kernel_stat *stats)
{
	struct delivery_figures figures;

	clickhouse_figures(clickhouse, &figures);
	return delivery_figures_stats(&figures, stats);
}
