/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * source: the kernel that brings packets into the graph, from a pcap/pcapng
 * file or from a DPDK port. This file holds the parameters and dispatch; the
 * readers are in source_pcap.c and source_port.c.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "kernels/source.h"

static const struct config_field source_fields[] = {
	{.key = "pcap", .type = CONFIG_STRING, .offset = offsetof(struct source_params, pcap),
	 .size = sizeof(((struct source_params *)0)->pcap),
	 .description = "pcap or pcapng file to read (finite source)"},
	{.key = "port", .type = CONFIG_STRING, .offset = offsetof(struct source_params, port),
	 .size = sizeof(((struct source_params *)0)->port),
	 .description = "DPDK device: a PCI address or a vdev string such as "
			"`net_af_packet0,iface=eth1` (live source)"},
	{.key = "loop", .type = CONFIG_UNSIGNED, .offset = offsetof(struct source_params, loop),
	 .default_value = "1", .minimum = 1, .special_word = "forever",
	 .special_value = SOURCE_LOOP_FOREVER,
	 .description = "pcap: read the file this many times (`forever` = until stopped); "
			"timestamps of each pass follow the previous one"},
	{.key = "rate_pps", .type = CONFIG_UNSIGNED, .offset = offsetof(struct source_params, rate_pps),
	 .default_value = "0", .description = "pcap: packets per second to pace at, 0 = as fast as "
					      "possible"},
	{.key = "preload", .type = CONFIG_BOOL, .offset = offsetof(struct source_params, preload),
	 .default_value = "false",
	 .description = "pcap: read the whole file into memory at start and replay it from there "
			"(with `loop:`), to measure processing rather than the disk; needs memory for "
			"the whole file"},
	{.key = "queues", .type = CONFIG_UNSIGNED, .offset = offsetof(struct source_params, queues),
	 .default_value = "1", .minimum = 1, .maximum = 64,
	 .description = "port: RSS receive queues, one source replica per queue"},
	{.key = NULL},
};

unsigned
source_packet_stats(const struct source_packet_counts *counts, struct kernel_stat *stats)
{
	stats[0] = (struct kernel_stat){"packets", counts->packets};
	stats[1] = (struct kernel_stat){"bytes", counts->bytes};
	stats[2] = (struct kernel_stat){"non_ip_packets", counts->non_ip_packets};
	stats[3] = (struct kernel_stat){"malformed_packets", counts->malformed_packets};
	return 4;
}

static bool
is_pcap(const struct source_params *params)
{
	return params->pcap[0] != '\0';
}

static void
source_check(const void *params_pointer, struct config_check_context *context)
{
	const struct source_params *params = params_pointer;
	bool has_pcap = config_check_key_set(context, "pcap");
	bool has_port = config_check_key_set(context, "port");

	if (has_pcap == has_port) {
		config_check_error(context, has_pcap ? "port" : NULL,
				   "a source needs exactly one of `pcap:` or `port:`");
		return;
	}
	if (has_pcap) {
		if (config_check_key_set(context, "queues"))
			config_check_error(context, "queues", "`queues:` applies to `port:` sources only");
		if (access(params->pcap, R_OK) != 0)
			config_check_error(context, "pcap", "cannot read '%s': %s", params->pcap,
					   strerror(errno));
		return;
	}
	if (config_check_key_set(context, "loop"))
		config_check_error(context, "loop", "`loop:` applies to `pcap:` sources only");
	if (config_check_key_set(context, "rate_pps"))
		config_check_error(context, "rate_pps", "`rate_pps:` applies to `pcap:` sources only");
	if (config_check_key_set(context, "preload"))
		config_check_error(context, "preload", "`preload:` applies to `pcap:` sources only");
}

static bool
source_is_live(const void *params)
{
	return !is_pcap(params);
}

static unsigned
source_replicas(const void *params_pointer)
{
	const struct source_params *params = params_pointer;

	return is_pcap(params) ? 1 : (unsigned)params->queues;
}

/*
 * A file source whose file stays the same goes on from where it is
 * (loop/rate may change); preloading or not is how it reads, so that stays.
 */
static bool
source_can_take_state(const void *params_pointer, const void *old_params_pointer)
{
	const struct source_params *params = params_pointer, *old = old_params_pointer;

	return is_pcap(params) && is_pcap(old) && strcmp(params->pcap, old->pcap) == 0 &&
	       params->preload == old->preload;
}

static void
source_take_state(struct kernel_instance *instance, struct kernel_instance *old)
{
	source_pcap_take_state(instance, old);
}

static int
source_init(struct kernel_instance *instance)
{
	return is_pcap(instance->params) ? source_pcap_init(instance) : source_port_init(instance);
}

static unsigned
source_process(struct kernel_instance *instance)
{
	return is_pcap(instance->params) ? source_pcap_process(instance)
					 : source_port_process(instance);
}

static unsigned
source_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	return is_pcap(instance->params) ? source_pcap_stats(instance, stats)
					 : source_port_stats(instance, stats);
}

static void
source_destroy(struct kernel_instance *instance)
{
	if (is_pcap(instance->params))
		source_pcap_destroy(instance);
	else
		source_port_destroy(instance);
}

const struct kernel_ops source_kernel = {
	.name = "source",
	.description = "Packets from a pcap/pcapng file or a DPDK port, parsed once",
	.input_type = STREAM_NONE,
	.output_type = STREAM_PACKET,
	.replicable = false, /* replicas come from `queues:` */
	.params_size = sizeof(struct source_params),
	.config_map = source_fields,
	.check = source_check,
	.is_live = source_is_live,
	.replicas = source_replicas,
	.replicas_key = "queues",
	.init = source_init,
	.process = source_process,
	.stats = source_stats,
	.can_take_state = source_can_take_state,
	.take_state = source_take_state,
	.destroy = source_destroy,
};
