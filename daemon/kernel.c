/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Datapath helpers of the kernel API: receiving from input rings, emitting to
 * output rings with partitioning, and end-of-input detection.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ring_elem.h>

#include "config.h"
#include "kernel_runtime.h"
#include "packet.h"

/* cp: wo (release, once), dp: ro. Sources poll it through kernel_should_stop(). */
static atomic_bool stop_requested;

unsigned
kernel_receive(struct kernel_instance *instance, void *items, unsigned max, enum stream_type *type)
{
	for (unsigned tried = 0; tried < instance->input_count; tried++) {
		const struct kernel_ring *ring = instance->inputs[instance->next_input].ring;
		unsigned received;

		instance->next_input++;
		if (instance->next_input >= instance->input_count)
			instance->next_input = 0;
		received = rte_ring_sc_dequeue_burst_elem(ring->ring, items, ring->element_size, max,
							  NULL);
		if (received > 0) {
			instance->counters.items_in += received;
			if (type != NULL)
				*type = ring->type;
			return received;
		}
	}
	return 0;
}

unsigned
kernel_burst_budget(struct kernel_instance *instance)
{
	unsigned budget = RTE_MIN(kernel_output_budget(instance), (unsigned)KERNEL_BURST);

	if (budget == 0)
		instance->counters.backpressure++;
	return budget;
}

void
kernel_swap_state(struct kernel_instance *instance, struct kernel_instance *old)
{
	void *fresh = instance->state;

	instance->state = old->state;
	old->state = fresh;
}

unsigned
kernel_output_budget(struct kernel_instance *instance)
{
	unsigned budget = UINT32_MAX;

	for (unsigned e = 0; e < instance->output_edge_count; e++) {
		const struct kernel_output_edge *edge = &instance->output_edges[e];

		for (unsigned r = 0; r < edge->ring_count; r++)
			budget = RTE_MIN(budget, rte_ring_free_count(edge->rings[r]->ring));
	}
	return budget;
}

/* Enqueue to one ring; anything refused is counted and released. */
static void
enqueue_packets(struct kernel_instance *instance, struct kernel_ring *ring,
		struct rte_mbuf **packets, unsigned count)
{
	unsigned sent = rte_ring_sp_enqueue_burst(ring->ring, (void **)packets, count, NULL);

	ring->enqueued += sent;
	if (unlikely(sent < count)) {
		instance->counters.ring_overflow += count - sent;
		rte_pktmbuf_free_bulk(packets + sent, count - sent);
	}
}

/* The source hash comes with the packet; the others are computed only for edges that need them. */
static inline uint32_t
partition_hash(const struct packet_meta *meta, enum partition_key key)
{
	switch (key) {
	case PARTITION_DESTINATION:
		return meta->ip_version != 0 ? packet_address_hash(meta->destination_address) : 0;
	case PARTITION_FLOW:
		return packet_flow_hash(meta);
	default:
		return meta->source_hash;
	}
}

static void
emit_packets_to_edge(struct kernel_instance *instance, const struct kernel_output_edge *edge,
		     struct rte_mbuf **packets, unsigned count)
{
	struct rte_mbuf *bins[KERNEL_MAX_REPLICAS][KERNEL_BURST];
	unsigned bin_counts[KERNEL_MAX_REPLICAS] = {0};

	if (edge->ring_count == 1) {
		enqueue_packets(instance, edge->rings[0], packets, count);
		return;
	}
	for (unsigned i = 0; i < count; i++) {
		unsigned replica = kernel_partition(partition_hash(packet_meta(packets[i]),
								   edge->partition),
						    edge->ring_count);

		bins[replica][bin_counts[replica]++] = packets[i];
	}
	for (unsigned r = 0; r < edge->ring_count; r++)
		if (bin_counts[r] > 0)
			enqueue_packets(instance, edge->rings[r], bins[r], bin_counts[r]);
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
		unsigned sent = rte_ring_sp_enqueue_burst_elem(edge->rings[0]->ring, records,
							       element_size, count, NULL);

		edge->rings[0]->enqueued += sent;
		instance->counters.ring_overflow += count - sent;
		return;
	}
	for (unsigned i = 0; i < count; i++) {
		const void *record = (const char *)records + (size_t)i * element_size;
		const struct record_header *header = record;
		unsigned replica = kernel_partition(header->partition_hash, edge->ring_count);

		/* the ring copies the record; DPDK's prototype just lacks the const */
		if (rte_ring_sp_enqueue_elem(edge->rings[replica]->ring, (void *)(uintptr_t)record,
					     element_size) != 0)
			instance->counters.ring_overflow++;
		else
			edge->rings[replica]->enqueued++;
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
	/* Closed first: a closed ring gets nothing more, so once empty it stays empty. */
	for (unsigned i = 0; i < instance->input_count; i++)
		if (!atomic_load_explicit(&instance->inputs[i].ring->closed, memory_order_acquire))
			return false;
	for (unsigned i = 0; i < instance->input_count; i++)
		if (rte_ring_count(instance->inputs[i].ring->ring) > 0)
			return false;
	return true;
}

void
kernel_mark_finished(struct kernel_instance *instance)
{
	for (unsigned e = 0; e < instance->output_edge_count; e++)
		for (unsigned r = 0; r < instance->output_edges[e].ring_count; r++)
			atomic_store_explicit(&instance->output_edges[e].rings[r]->closed, true,
					      memory_order_release);
	atomic_store_explicit(&instance->finished, true, memory_order_release);
}

bool
kernel_is_finished(const struct kernel_instance *instance)
{
	return atomic_load_explicit(&instance->finished, memory_order_acquire);
}

void
kernel_request_stop(void)
{
	atomic_store_explicit(&stop_requested, true, memory_order_release);
}

bool
kernel_stop_requested(void)
{
	return atomic_load_explicit(&stop_requested, memory_order_relaxed);
}

void
kernel_fail(struct kernel_instance *instance, const char *format, ...)
{
	va_list arguments;

	va_start(arguments, format);
	vsnprintf(instance->failure, sizeof(instance->failure), format, arguments);
	va_end(arguments);
}

const char *
kernel_instance_error(const struct kernel_instance *instance)
{
	return instance->error[0] != '\0' ? instance->error : instance->failure;
}

bool
kernel_should_stop(const struct kernel_instance *instance)
{
	return kernel_stop_requested() ||
	       atomic_load_explicit(&instance->retiring, memory_order_relaxed);
}

void
kernel_install_wiring(struct kernel_instance *instance, const struct kernel_wiring *wiring)
{
	instance->input_count = wiring->input_count;
	instance->inputs = wiring->inputs;
	instance->next_input = 0;
	instance->output_edge_count = wiring->output_edge_count;
	instance->output_edges = wiring->output_edges;
}

static void
add_stat(struct kernel_totals *totals, const struct kernel_stat *stat)
{
	unsigned t = 0;

	while (t < totals->stat_count && strcmp(totals->stats[t].name, stat->name) != 0)
		t++;
	if (t == totals->stat_count) {
		/* interned: totals outlive a plugin's code, where the kernel's name string lives */
		const char *name = kernel_intern_name(stat->name);

		if (totals->stat_count == KERNEL_MAX_STATS || name == NULL)
			return;
		totals->stats[totals->stat_count++] = (struct kernel_stat){name, 0};
	}
	totals->stats[t].value += stat->value;
}

static void
add_counters(struct kernel_counters *sum, const struct kernel_counters *more)
{
	sum->items_in += more->items_in;
	sum->items_out += more->items_out;
	sum->backpressure += more->backpressure;
	sum->ring_overflow += more->ring_overflow;
}

void
kernel_totals_add_instance(struct kernel_totals *totals, const struct kernel_instance *instance)
{
	struct kernel_stat stats[KERNEL_MAX_STATS];
	unsigned count = instance->ops->stats != NULL && instance->state != NULL
				 ? instance->ops->stats(instance, stats)
				 : 0;

	add_counters(&totals->counters, &instance->counters);
	for (unsigned s = 0; s < count; s++)
		add_stat(totals, &stats[s]);
}

void
kernel_totals_add(struct kernel_totals *totals, const struct kernel_totals *more)
{
	add_counters(&totals->counters, &more->counters);
	for (unsigned s = 0; s < more->stat_count; s++)
		add_stat(totals, &more->stats[s]);
}

/*
 * Names ever used, never freed: a handful per pipeline edit, so this stays
 * small. The lock: DPDK's telemetry thread sums snapshot figures too
 * (kernel_totals_add), while the control thread interns new names.
 */
static struct interned_name {
	struct interned_name *next;
	char name[CONFIG_NAME_MAX];
} *interned_names;
static pthread_mutex_t interned_names_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *
find_interned(const char *name)
{
	for (const struct interned_name *entry = interned_names; entry != NULL; entry = entry->next)
		if (strcmp(entry->name, name) == 0)
			return entry->name;
	return NULL;
}

const char *
kernel_intern_name(const char *name)
{
	const char *interned;
	struct interned_name *entry;

	pthread_mutex_lock(&interned_names_lock);
	interned = find_interned(name);
	if (interned == NULL && (entry = calloc(1, sizeof(*entry))) != NULL) {
		snprintf(entry->name, sizeof(entry->name), "%s", name);
		entry->next = interned_names;
		interned_names = entry;
		interned = entry->name;
	}
	pthread_mutex_unlock(&interned_names_lock);
	return interned;
}
