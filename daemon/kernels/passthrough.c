/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * passthrough: forwards packets unchanged. It reads neither packet data nor
 * packet_meta, so a pipeline through it measures what the framework itself
 * costs per packet: one ring in, one ring out.
 */
#include <stddef.h>

#include "kernel.h"

static const struct config_field passthrough_fields[] = {
	{.key = NULL},
};

static int
passthrough_init(struct kernel_instance *instance)
{
	(void)instance;
	return 0;
}

static unsigned
passthrough_process(struct kernel_instance *instance)
{
	struct rte_mbuf *packets[KERNEL_BURST];
	unsigned budget = kernel_burst_budget(instance);
	unsigned received;

	if (budget == 0)
		return 0;
	received = kernel_receive(instance, packets, budget, NULL);
	kernel_emit_packets(instance, packets, received);
	return received;
}

static void
passthrough_destroy(struct kernel_instance *instance)
{
	(void)instance;
}

const struct kernel_ops passthrough_kernel = {
	.name = "passthrough",
	.description = "Forwards packets unchanged (measures the framework's own cost per packet)",
	.input_type = STREAM_PACKET,
	.output_type = STREAM_PACKET,
	.replicable = true,
	.params_size = 0,
	.config_map = passthrough_fields,
	.init = passthrough_init,
	.process = passthrough_process,
	.destroy = passthrough_destroy,
};
