/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Graph construction. Every edge is single-producer/single-consumer: a
 * producer replica gets one ring per consumer replica and picks the ring by
 * the partition hash, so no ring is ever shared by two lcores on one side.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_ring_elem.h>

#include "graph.h"

/* Rings need unique names across graphs (a reload builds a second one). */
static atomic_uint ring_serial;

struct graph_builder {
	const struct config *config;
	struct graph *graph;
	unsigned *first_instance; /* per spec: index of its replica 0 */
	unsigned ring_size;
	char *error;
	size_t error_size;
};

static int
spec_index(const struct config *config, const char *name)
{
	for (unsigned k = 0; k < config->kernel_count; k++)
		if (strcmp(config->kernels[k].name, name) == 0)
			return (int)k;
	return -1;
}

static bool
spec_is_live(const struct config *config, const struct kernel_spec *spec, unsigned depth)
{
	if (spec->ops->is_live != NULL)
		return spec->ops->is_live(spec->params);
	if (depth > config->kernel_count)
		return false; /* cycles are rejected by the config loader; this only bounds recursion */
	for (unsigned i = 0; i < spec->input_count; i++) {
		int producer = spec_index(config, spec->inputs[i]);

		if (producer >= 0 && spec_is_live(config, &config->kernels[producer], depth + 1))
			return true;
	}
	return false;
}

static unsigned
choose_lcore(const struct graph *graph, const struct kernel_spec *spec, unsigned replica,
	     unsigned *next_worker)
{
	if (spec->ops->runs_on_control_thread)
		return graph->main_lcore;
	if (spec->core_count > 0)
		return spec->cores[replica % spec->core_count];
	return graph->worker_lcores[(*next_worker)++ % graph->worker_count];
}

static int
create_instances(struct graph_builder *builder, struct rte_mempool *mempool)
{
	const struct config *config = builder->config;
	struct graph *graph = builder->graph;
	unsigned next_worker = 0, total = 0;

	for (unsigned k = 0; k < config->kernel_count; k++) {
		builder->first_instance[k] = total;
		total += config->kernels[k].replicas;
	}
	graph->instances = calloc(total, sizeof(*graph->instances));
	if (graph->instances == NULL)
		return -ENOMEM;
	graph->instance_count = total;
	for (unsigned k = 0; k < config->kernel_count; k++) {
		const struct kernel_spec *spec = &config->kernels[k];
		bool live = spec_is_live(config, spec, 0);

		for (unsigned r = 0; r < spec->replicas; r++) {
			struct kernel_instance *instance = &graph->instances[builder->first_instance[k] + r];

			instance->ops = spec->ops;
			instance->spec = spec;
			instance->name = spec->name;
			instance->params = spec->params;
			instance->replica = r;
			instance->replica_count = spec->replicas;
			instance->lcore = choose_lcore(graph, spec, r, &next_worker);
			instance->live_clock = live;
			instance->mempool = mempool;
			instance->output_type = spec->ops->output_type;
			atomic_init(&instance->finished, false);
		}
	}
	return 0;
}

static struct rte_ring *
create_ring(struct graph_builder *builder, enum stream_type type, unsigned socket)
{
	struct graph *graph = builder->graph;
	char name[RTE_RING_NAMESIZE];
	struct rte_ring *ring, **rings;

	snprintf(name, sizeof(name), "edge_%u", atomic_fetch_add(&ring_serial, 1));
	ring = rte_ring_create_elem(name, stream_element_size(type), builder->ring_size, (int)socket,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (ring == NULL)
		return NULL;
	rings = realloc(graph->rings, (graph->ring_count + 1) * sizeof(*rings));
	if (rings == NULL) {
		rte_ring_free(ring);
		return NULL;
	}
	graph->rings = rings;
	graph->rings[graph->ring_count++] = ring;
	return ring;
}

static int
add_input(struct kernel_instance *consumer, struct rte_ring *ring, const struct kernel_instance *producer)
{
	struct kernel_input *inputs = realloc(consumer->inputs,
					      (consumer->input_count + 1) * sizeof(*inputs));

	if (inputs == NULL)
		return -ENOMEM;
	consumer->inputs = inputs;
	consumer->inputs[consumer->input_count++] = (struct kernel_input){
		.ring = ring,
		.type = producer->output_type,
		.element_size = stream_element_size(producer->output_type),
		.producer = producer,
	};
	return 0;
}

static struct kernel_output_edge *
add_output_edge(struct kernel_instance *producer, const struct kernel_instance *consumers,
		unsigned ring_count)
{
	struct kernel_output_edge *edges = realloc(producer->output_edges,
						   (producer->output_edge_count + 1) * sizeof(*edges));

	if (edges == NULL)
		return NULL;
	producer->output_edges = edges;
	edges = &edges[producer->output_edge_count];
	*edges = (struct kernel_output_edge){.ring_count = ring_count, .consumers = consumers};
	edges->rings = calloc(ring_count, sizeof(*edges->rings));
	edges->enqueued = calloc(ring_count, sizeof(*edges->enqueued));
	if (edges->rings == NULL || edges->enqueued == NULL) {
		free(edges->rings);
		free(edges->enqueued);
		return NULL;
	}
	producer->output_edge_count++;
	return edges;
}

/* Wire every replica of @p producer_spec to every replica of @p consumer_spec. */
static int
connect_kernels(struct graph_builder *builder, unsigned producer_spec, unsigned consumer_spec)
{
	struct graph *graph = builder->graph;
	const struct kernel_spec *consumer = &builder->config->kernels[consumer_spec];
	const struct kernel_spec *producer = &builder->config->kernels[producer_spec];

	for (unsigned p = 0; p < producer->replicas; p++) {
		struct kernel_instance *from = &graph->instances[builder->first_instance[producer_spec] + p];
		struct kernel_output_edge *edge = add_output_edge(
			from, &graph->instances[builder->first_instance[consumer_spec]],
			consumer->replicas);

		if (edge == NULL)
			return -ENOMEM;
		for (unsigned c = 0; c < consumer->replicas; c++) {
			struct kernel_instance *to =
				&graph->instances[builder->first_instance[consumer_spec] + c];
			struct rte_ring *ring = create_ring(builder, from->output_type,
							    rte_lcore_to_socket_id(to->lcore));

			if (ring == NULL) {
				snprintf(builder->error, builder->error_size,
					 "cannot create a ring of %u elements from '%s' to '%s': %s",
					 builder->ring_size, producer->name, consumer->name,
					 rte_strerror(rte_errno));
				return -ENOMEM;
			}
			edge->rings[c] = ring;
			if (add_input(to, ring, from) != 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static int
connect_all(struct graph_builder *builder)
{
	const struct config *config = builder->config;

	for (unsigned k = 0; k < config->kernel_count; k++) {
		for (unsigned i = 0; i < config->kernels[k].input_count; i++) {
			int producer = spec_index(config, config->kernels[k].inputs[i]);
			int result;

			if (producer < 0)
				return -EINVAL; /* the config loader rejects unknown inputs */
			result = connect_kernels(builder, (unsigned)producer, k);
			if (result != 0)
				return result;
		}
	}
	return 0;
}

static int
init_instances(struct graph_builder *builder)
{
	struct graph *graph = builder->graph;

	for (unsigned i = 0; i < graph->instance_count; i++) {
		struct kernel_instance *instance = &graph->instances[i];
		int result = instance->ops->init(instance);

		/* destroy() must cope with a half-done init, so count this one too */
		graph->initialised_count = i + 1;
		if (result != 0) {
			snprintf(builder->error, builder->error_size, "kernel '%s' (replica %u): %s",
				 instance->name, instance->replica,
				 instance->error[0] != '\0' ? instance->error : strerror(-result));
			return result;
		}
	}
	return 0;
}

int
graph_build(const struct config *config, struct rte_mempool *mempool, unsigned main_lcore,
	    const unsigned *worker_lcores, unsigned worker_count, unsigned ring_size,
	    struct graph **graph_out, char *error, size_t error_size)
{
	struct graph *graph = calloc(1, sizeof(*graph));
	struct graph_builder builder = {
		.config = config, .graph = graph, .ring_size = ring_size,
		.error = error, .error_size = error_size,
	};
	int result = -ENOMEM;

	snprintf(error, error_size, "out of memory");
	builder.first_instance = calloc(config->kernel_count + 1, sizeof(unsigned));
	if (graph == NULL || builder.first_instance == NULL)
		goto failed;
	if (worker_count == 0 || worker_count > RTE_MAX_LCORE) {
		snprintf(error, error_size, "no worker lcore: `lcores` needs at least two lcores");
		result = -EINVAL;
		goto failed;
	}
	graph->config = config;
	graph->main_lcore = main_lcore;
	graph->worker_count = worker_count;
	memcpy(graph->worker_lcores, worker_lcores, worker_count * sizeof(*worker_lcores));
	result = create_instances(&builder, mempool);
	if (result == 0)
		result = connect_all(&builder);
	if (result == 0)
		result = init_instances(&builder);
	if (result == 0) {
		free(builder.first_instance);
		*graph_out = graph;
		return 0;
	}
failed:
	free(builder.first_instance);
	graph_destroy(graph);
	return result;
}

/* Packets still queued on the inputs of an abandoned graph go back to the pool. */
static void
release_queued_packets(struct kernel_instance *instance)
{
	for (unsigned i = 0; i < instance->input_count; i++) {
		struct rte_mbuf *packet;

		if (instance->inputs[i].type != STREAM_PACKET)
			continue;
		while (rte_ring_sc_dequeue(instance->inputs[i].ring, (void **)&packet) == 0)
			rte_pktmbuf_free(packet);
	}
}

static void
free_instance_edges(struct kernel_instance *instance)
{
	for (unsigned e = 0; e < instance->output_edge_count; e++) {
		free(instance->output_edges[e].rings);
		free(instance->output_edges[e].enqueued);
	}
	free(instance->output_edges);
	free(instance->inputs);
}

void
graph_destroy(struct graph *graph)
{
	if (graph == NULL)
		return;
	for (unsigned i = 0; i < graph->initialised_count; i++)
		graph->instances[i].ops->destroy(&graph->instances[i]);
	for (unsigned i = 0; i < graph->instance_count; i++) {
		release_queued_packets(&graph->instances[i]);
		free_instance_edges(&graph->instances[i]);
	}
	for (unsigned r = 0; r < graph->ring_count; r++)
		rte_ring_free(graph->rings[r]);
	free(graph->rings);
	free(graph->instances);
	free(graph);
}

struct kernel_instance *
graph_find_replicas(struct graph *graph, const struct kernel_spec *spec, unsigned *count)
{
	for (unsigned i = 0; i < graph->instance_count; i++) {
		if (graph->instances[i].spec == spec) {
			*count = spec->replicas;
			return &graph->instances[i];
		}
	}
	*count = 0;
	return NULL;
}
