/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Datapath helpers of the kernel API: receiving from input rings, emitting to
 * output rings with partitioning, and end-of-input detection.
 */
#include <string.h>

#include <rte_ring_elem.h>

#include "kernel.h"
#include "packet.h"

unsigned
kernel_receive(struct kernel_instance *instance, void *items, unsigned max, enum stream_type *type)
{
	for (unsigned tried = 0; tried < instance->input_count; tried++) {
		const struct kernel_input *input = &instance->inputs[instance->next_input];
		unsigned received;

		instance->next_input++;
		if (instance->next_input == instance->input_count)
			instance->next_input = 0;
		received = rte_ring_dequeue_burst_elem(input->ring, items, input->element_size, max,
						       NULL);
		if (received > 0) {
			if (type != NULL)
				*type = input->type;
			return received;
		}
	}
	return 0;
}

unsigned
kernel_output_budget(struct kernel_instance *instance)
{
	unsigned budget = UINT32_MAX;

	for (unsigned e = 0; e < instance->output_edge_count; e++) {
		const struct kernel_output_edge *edge = &instance->output_edges[e];

		for (unsigned r = 0; r < edge->ring_count; r++)
			budget = RTE_MIN(budget, rte_ring_free_count(edge->rings[r]));
	}
	return budget;
}

/* Enqueue to one ring; anything refused is counted and released. */
static void
enqueue_packets(struct kernel_instance *instance, const struct kernel_output_edge *edge,
		unsigned ring, struct rte_mbuf **packets, unsigned count)
{
	unsigned sent = rte_ring_sp_enqueue_burst(edge->rings[ring], (void **)packets, count, NULL);

	edge->enqueued[ring] += sent;
	if (unlikely(sent < count)) {
		instance->counters.ring_overflow += count - sent;
		rte_pktmbuf_free_bulk(packets + sent, count - sent);
	}
}

static void
emit_packets_to_edge(struct kernel_instance *instance, const struct kernel_output_edge *edge,
		     struct rte_mbuf **packets, unsigned count)
{
	struct rte_mbuf *bins[KERNEL_MAX_REPLICAS][KERNEL_BURST];
	unsigned bin_counts[KERNEL_MAX_REPLICAS] = {0};

	if (edge->ring_count == 1) {
		enqueue_packets(instance, edge, 0, packets, count);
		return;
	}
	for (unsigned i = 0; i < count; i++) {
		unsigned replica = kernel_partition(packet_meta(packets[i])->source_hash,
						    edge->ring_count);

		bins[replica][bin_counts[replica]++] = packets[i];
	}
	for (unsigned r = 0; r < edge->ring_count; r++)
		if (bin_counts[r] > 0)
			enqueue_packets(instance, edge, r, bins[r], bin_counts[r]);
}

void
kernel_emit_packets(struct kernel_instance *instance, struct rte_mbuf **packets, unsigned count)
{
	RTE_ASSERT(count <= KERNEL_BURST);
	if (count == 0)
		return;
	instance->counters.items_out += count;
	if (instance->output_edge_count == 0) {
		rte_pktmbuf_free_bulk(packets, count);
		return;
	}
	/* One reference per consumer kernel; each frees its own. */
	if (instance->output_edge_count > 1)
		for (unsigned i = 0; i < count; i++)
			rte_pktmbuf_refcnt_update(packets[i],
						  (int16_t)(instance->output_edge_count - 1));
	for (unsigned e = 0; e < instance->output_edge_count; e++)
		emit_packets_to_edge(instance, &instance->output_edges[e], packets, count);
}

/*
 * Records are few compared with packets, so a replicated consumer is fed one
 * record at a time rather than through per-replica bins.
 */
static void
emit_records_to_edge(struct kernel_instance *instance, const struct kernel_output_edge *edge,
		     const void *records, unsigned count, unsigned element_size)
{
	if (edge->ring_count == 1) {
		unsigned sent = rte_ring_sp_enqueue_burst_elem(edge->rings[0], records, element_size,
							       count, NULL);

		edge->enqueued[0] += sent;
		instance->counters.ring_overflow += count - sent;
		return;
	}
	for (unsigned i = 0; i < count; i++) {
		const void *record = (const char *)records + (size_t)i * element_size;
		const struct record_header *header = record;
		unsigned replica = kernel_partition(header->partition_hash, edge->ring_count);

		/* the ring copies the record; DPDK's prototype just lacks the const */
		if (rte_ring_sp_enqueue_elem(edge->rings[replica], (void *)(uintptr_t)record,
					     element_size) != 0)
			instance->counters.ring_overflow++;
		else
			edge->enqueued[replica]++;
	}
}

void
kernel_emit_records(struct kernel_instance *instance, const void *records, unsigned count)
{
	unsigned element_size = stream_element_size(instance->output_type);

	if (count == 0)
		return;
	instance->counters.items_out += count;
	for (unsigned e = 0; e < instance->output_edge_count; e++)
		emit_records_to_edge(instance, &instance->output_edges[e], records, count,
				     element_size);
}

bool
kernel_inputs_finished(const struct kernel_instance *instance)
{
	/* Producers first: a finished producer enqueues nothing more, so empty rings stay empty. */
	for (unsigned i = 0; i < instance->input_count; i++)
		if (!kernel_is_finished(instance->inputs[i].producer))
			return false;
	for (unsigned i = 0; i < instance->input_count; i++)
		if (rte_ring_count(instance->inputs[i].ring) > 0)
			return false;
	return true;
}

void
kernel_mark_finished(struct kernel_instance *instance)
{
	atomic_store_explicit(&instance->finished, true, memory_order_release);
}

bool
kernel_is_finished(const struct kernel_instance *instance)
{
	return atomic_load_explicit(&instance->finished, memory_order_acquire);
}
