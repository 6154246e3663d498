/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sink's `format: ipfix`: the glue between the sink kernel and the
 * IPFIX exporter (outputs/ipfix.h), under the delivery contract.
 */
#include <errno.h>
#include <stdlib.h>

#include "clock.h"
#include "config.h"
#include "kernels/sink_ipfix.h"
#include "outputs/ipfix.h"

struct sink_ipfix {
	struct ipfix_exporter *exporter;
	bool drop_when_full;
	uint64_t drain_timeout_ns;
	uint64_t drain_deadline_ns; /* polling thread only: CLOCK_MONOTONIC, 0 until the first flush */
};

void
sink_ipfix_check(const struct sink_ipfix_config *config, struct config_check_context *context)
{
	char host[272], port[8];

	if (config_check_key_set(context, "path"))
		config_check_error(context, "path",
				   "'path' does not apply with format ipfix (records go to 'collector')");
	if (config_check_key_set(context, "retry"))
		config_check_error(context, "retry",
				   "'retry' does not apply with format ipfix (a failed message waits in "
				   "the buffer and is sent again, backing off up to 5s, without limit)");
	if (config->tcp && config_check_key_set(context, "template_refresh"))
		config_check_error(context, "template_refresh",
				   "'template_refresh' applies over udp only (over tcp the templates go "
				   "once per connection)");
	if (!config_check_key_set(context, "collector"))
		config_check_error(context, NULL, "'collector' is required with format ipfix");
	else if (!config_split_host_port(config->collector, host, sizeof(host), port, sizeof(port)))
		config_check_error(context, "collector",
				   "'%s' is not HOST:PORT (a port from 1 to 65535; an IPv6 address in "
				   "brackets, [2001:db8::1]:4739)", config->collector);
}

int
sink_ipfix_open(struct kernel_instance *instance, const struct sink_ipfix_config *config,
		struct sink_ipfix **result)
{
	char host[272], port[8];
	struct ipfix_exporter_settings settings = {
		.owner = instance->name, .host = host, .port = port, .tcp = config->tcp,
		.biflow = config->biflow, .observation_domain = config->observation_domain,
		.capacity = config->buffer_size / sizeof(struct flow_record),
		.template_refresh_ns = config->template_refresh_ns,
	};
	struct sink_ipfix *sink = calloc(1, sizeof(*sink));
	int error;

	if (sink == NULL)
		return -ENOMEM;
	config_split_host_port(config->collector, host, sizeof(host), port, sizeof(port)); /* checked */
	error = ipfix_exporter_open(&sink->exporter, &settings, instance->error,
				    sizeof(instance->error));
	if (error != 0) {
		free(sink);
		return error;
	}
	sink->drop_when_full = config->drop_when_full;
	sink->drain_timeout_ns = config->drain_timeout_ns;
	*result = sink;
	return 0;
}

unsigned
sink_ipfix_process(struct kernel_instance *instance, struct sink_ipfix *sink)
{
	struct flow_record records[KERNEL_BURST];
	unsigned room = ipfix_exporter_space(sink->exporter), received;
	enum stream_type type;

	if (room == 0 && !sink->drop_when_full) {
		instance->counters.backpressure++; /* the records wait in their rings */
		return 0;
	}
	if (room == 0) { /* when_full: drop: the newest go */
		received = kernel_receive(instance, records, KERNEL_BURST, &type);
		ipfix_exporter_count_full(sink->exporter, records, received);
		return received;
	}
	received = kernel_receive(instance, records, room < KERNEL_BURST ? room : KERNEL_BURST,
				  &type);
	if (received > 0)
		ipfix_exporter_append(sink->exporter, records, received);
	return received;
}

bool
sink_ipfix_flush(struct kernel_instance *instance, struct sink_ipfix *sink)
{
	if (sink->drain_deadline_ns == 0)
		sink->drain_deadline_ns = clock_monotonic_ns() + sink->drain_timeout_ns;
	if (!ipfix_exporter_flush(sink->exporter, sink->drain_deadline_ns))
		return false;
	ipfix_exporter_failure(sink->exporter, instance->failure, sizeof(instance->failure));
	return true;
}

/* The contract's names, in its order; records are IPFIX records (one per direction, or biflow). */
unsigned
sink_ipfix_stats(const struct sink_ipfix *sink, struct kernel_stat *stats)
{
	struct delivery_figures figures;

	ipfix_exporter_figures(sink->exporter, &figures);
	return delivery_figures_stats(&figures, stats);
}

void
sink_ipfix_close(struct sink_ipfix *sink)
{
	if (sink == NULL)
		return;
	ipfix_exporter_close(sink->exporter);
	free(sink);
}
