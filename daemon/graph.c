/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Graph construction. Every edge is single-producer/single-consumer: a
 * producer replica gets one ring per consumer replica and picks the ring by
 * the partition hash, so no ring is ever shared by two lcores on one side.
 *
 * All of this runs on the control thread; workers only ever see the result
 * through a published schedule.
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
#include "kernels/source.h"
#include "log.h"
#include "log_journal.h"
#include "plugin.h"

/* Rings need unique names across generations. */
static atomic_uint ring_serial;

struct graph_builder {
	const struct config *config;
	const struct reload_plan *plan;       /* NULL for the first generation */
	enum reload_action *actions;          /* the plan's, adjusted to what is running */
	struct graph *previous;               /* NULL for the first generation */
	struct graph *graph;
	unsigned next_worker;                 /* round-robin placement */
	char *error;
	size_t error_size;
};

/* ---- instances ----------------------------------------------------------- */

static bool
spec_is_live(const struct config *config, const struct kernel_spec *spec, unsigned depth)
{
	if (spec->ops->input_type == STREAM_NONE)
		return kernel_properties_of(spec->ops, spec->params).live;
	if (depth > config->kernel_count)
		return false; /* cycles are rejected by the config loader; this only bounds recursion */
	for (unsigned i = 0; i < spec->input_count; i++) {
		int producer = config_kernel_index(config, spec->inputs[i]);

		if (producer >= 0 && spec_is_live(config, &config->kernels[producer], depth + 1))
			return true;
	}
	return false;
}

static unsigned
choose_lcore(struct graph_builder *builder, const struct kernel_spec *spec, unsigned replica)
{
	const struct graph_layout *layout = builder->graph->layout;

	if (kernel_runs_on_sink_thread(spec->ops, spec->params))
		return layout->main_lcore;
	if (spec->core_count > 0)
		return spec->cores[replica % spec->core_count];
	return layout->worker_lcores[builder->next_worker++ % layout->worker_count];
}

/* The instance of the previous generation that replica @p replica of kernel @p k continues. */
static struct kernel_instance *
predecessor(const struct graph_builder *builder, unsigned k, unsigned replica)
{
	const struct graph *previous = builder->previous;
	enum reload_action action;
	const struct graph_kernel *old_kernel;

	if (builder->plan == NULL)
		return NULL;
	action = builder->actions[k];
	if (action != RELOAD_KEEP && action != RELOAD_TAKE_STATE)
		return NULL;
	old_kernel = &previous->kernels[builder->plan->predecessors[k]];
	return previous->instances[old_kernel->first_instance + replica];
}

static struct kernel_instance *
create_instance(struct graph_builder *builder, const struct kernel_spec *spec, unsigned replica)
{
	struct kernel_instance *instance = calloc(1, sizeof(*instance));

	if (instance == NULL)
		return NULL;
	/* at least a byte: a kernel without parameters still gets a non-NULL copy */
	instance->params = malloc(spec->ops->params_size > 0 ? spec->ops->params_size : 1);
	instance->name = kernel_intern_name(spec->name);
	if (instance->params == NULL || instance->name == NULL) {
		free(instance->params);
		free(instance);
		return NULL;
	}
	memcpy(instance->params, spec->params, spec->ops->params_size);
	instance->ops = spec->ops;
	plugin_instance_acquire(spec->ops); /* a plugin's code stays while an instance runs it */
	instance->replica = replica;
	instance->replica_count = spec->replicas;
	instance->live_clock = spec_is_live(builder->config, spec, 0);
	instance->mempool = builder->graph->layout->mempool;
	instance->output_type = spec->ops->output_type;
	atomic_init(&instance->finished, false);
	atomic_init(&instance->retiring, false);
	return instance;
}

/* Kept instances are shared; all others are new, on their predecessor's lcore when they take its state. */
static int
place_instance(struct graph_builder *builder, unsigned k, unsigned replica, unsigned index)
{
	const struct kernel_spec *spec = &builder->config->kernels[k];
	struct kernel_instance *before = predecessor(builder, k, replica);
	struct kernel_instance *instance;

	if (before != NULL && builder->actions[k] == RELOAD_KEEP) {
		builder->graph->instances[index] = before;
		before->references++;
		return 0;
	}
	instance = create_instance(builder, spec, replica);
	if (instance == NULL)
		return -ENOMEM;
	instance->references = 1;
	instance->lcore = before != NULL ? before->lcore : choose_lcore(builder, spec, replica);
	instance->take_state_from = before;
	builder->graph->instances[index] = instance;
	return 0;
}

static int
create_instances(struct graph_builder *builder)
{
	const struct config *config = builder->config;
	struct graph *graph = builder->graph;
	unsigned total = 0;

	graph->kernels = calloc(config->kernel_count, sizeof(*graph->kernels));
	if (graph->kernels == NULL)
		return -ENOMEM;
	for (unsigned k = 0; k < config->kernel_count; k++)
		total += config->kernels[k].replicas;
	graph->instances = calloc(total, sizeof(*graph->instances));
	graph->wirings = calloc(total, sizeof(*graph->wirings));
	if (graph->instances == NULL || graph->wirings == NULL)
		return -ENOMEM;
	for (unsigned k = 0; k < config->kernel_count; k++) {
		const struct kernel_spec *spec = &config->kernels[k];
		struct graph_kernel *kernel = &graph->kernels[graph->kernel_count++];

		snprintf(kernel->name, sizeof(kernel->name), "%s", spec->name);
		kernel->ops = spec->ops;
		kernel->first_instance = graph->instance_count;
		kernel->replicas = spec->replicas;
		kernel->action = builder->plan != NULL ? builder->actions[k] : RELOAD_ADD;
		for (unsigned r = 0; r < spec->replicas; r++) {
			int result = place_instance(builder, k, r, graph->instance_count);

			if (result != 0)
				return result;
			graph->instance_count++;
		}
	}
	return 0;
}

/* ---- rings and wiring ---------------------------------------------------- */

static int
remember_ring(struct graph *graph, struct kernel_ring *ring)
{
	struct kernel_ring **rings = realloc(graph->rings, (graph->ring_count + 1) * sizeof(*rings));

	if (rings == NULL)
		return -ENOMEM;
	graph->rings = rings;
	graph->rings[graph->ring_count++] = ring;
	ring->references++;
	return 0;
}

static struct kernel_ring *
create_ring(struct graph_builder *builder, struct kernel_instance *producer,
	    struct kernel_instance *consumer)
{
	struct kernel_ring *ring = calloc(1, sizeof(*ring));
	char name[RTE_RING_NAMESIZE];

	if (ring == NULL)
		return NULL;
	snprintf(name, sizeof(name), "edge_%u", atomic_fetch_add(&ring_serial, 1));
	ring->type = producer->output_type;
	ring->element_size = stream_element_size(ring->type);
	ring->ring = rte_ring_create_elem(name, ring->element_size,
					  builder->graph->layout->ring_size,
					  (int)rte_lcore_to_socket_id(consumer->lcore),
					  RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (ring->ring == NULL) {
		snprintf(builder->error, builder->error_size,
			 "cannot create a ring of %u elements from '%s' to '%s': %s",
			 builder->graph->layout->ring_size, producer->name, consumer->name,
			 rte_strerror(rte_errno));
		free(ring);
		return NULL;
	}
	/* a producer that already finished will never close it: it is closed from birth */
	atomic_init(&ring->closed, kernel_is_finished(producer));
	ring->producer = producer;
	ring->consumer = consumer;
	return ring;
}

/* The previous generation's ring between the two predecessors, when both ends continue. */
static struct kernel_ring *
find_continuing_ring(const struct graph_builder *builder, const struct kernel_instance *producer,
		     const struct kernel_instance *consumer)
{
	if (producer == NULL || consumer == NULL)
		return NULL;
	for (unsigned r = 0; r < builder->previous->ring_count; r++) {
		struct kernel_ring *ring = builder->previous->rings[r];

		if (ring->producer == producer && ring->consumer == consumer)
			return ring;
	}
	return NULL;
}

static int
add_input(struct kernel_wiring *wiring, struct kernel_ring *ring)
{
	struct kernel_input *inputs = realloc(wiring->inputs,
					      (wiring->input_count + 1) * sizeof(*inputs));

	if (inputs == NULL)
		return -ENOMEM;
	wiring->inputs = inputs;
	wiring->inputs[wiring->input_count++].ring = ring;
	return 0;
}

static struct kernel_output_edge *
add_output_edge(struct kernel_wiring *wiring, unsigned ring_count, enum partition_key partition)
{
	struct kernel_output_edge *edges = realloc(wiring->output_edges,
						   (wiring->output_edge_count + 1) * sizeof(*edges));

	if (edges == NULL)
		return NULL;
	wiring->output_edges = edges;
	edges[wiring->output_edge_count].ring_count = ring_count;
	edges[wiring->output_edge_count].partition = partition;
	edges[wiring->output_edge_count].rings = calloc(ring_count, sizeof(struct kernel_ring *));
	if (edges[wiring->output_edge_count].rings == NULL)
		return NULL;
	return &edges[wiring->output_edge_count++];
}

/* The ring from replica @p p of kernel @p from to replica @p c of kernel @p to: reused or new. */
static struct kernel_ring *
edge_ring(struct graph_builder *builder, unsigned from, unsigned p, unsigned to, unsigned c)
{
	struct graph *graph = builder->graph;
	struct kernel_instance *producer = graph->instances[graph->kernels[from].first_instance + p];
	struct kernel_instance *consumer = graph->instances[graph->kernels[to].first_instance + c];
	struct kernel_ring *ring = find_continuing_ring(builder, predecessor(builder, from, p),
							predecessor(builder, to, c));

	/* a reused ring's ends are moved to the new instances by commit_ring_ends() */
	if (ring == NULL)
		ring = create_ring(builder, producer, consumer);
	if (ring == NULL || remember_ring(graph, ring) != 0)
		return NULL;
	return ring;
}

/*
 * Whether replica i of kernel @p from feeds only replica i of kernel @p to: a
 * port whose queues the device spreads as the consumer partitions (see
 * source_feeds_replicas_directly). Says so in the log, or why not, when the
 * consumer is new.
 */
static bool
feeds_directly(struct graph_builder *builder, unsigned from, unsigned to,
	       enum partition_key partition)
{
	const struct kernel_spec *producer = &builder->config->kernels[from];
	const struct kernel_spec *consumer = &builder->config->kernels[to];
	bool kept = builder->plan != NULL && builder->actions[to] == RELOAD_KEEP;
	char reason[256];
	bool direct = source_feeds_replicas_directly(producer->ops, producer->params,
						     consumer->replicas, partition, reason,
						     sizeof(reason));

	/*
	 * Each input would otherwise bring a flow's packets to the replica its
	 * own spreading picks, and two spreadings disagree: one partition for all.
	 */
	if (direct && consumer->input_count > 1) {
		direct = false;
		snprintf(reason, sizeof(reason), "the kernel reads %u inputs, which must all be "
			 "partitioned by the one software hash", consumer->input_count);
	}

	if (reason[0] != '\0' && !kept && direct)
		log_info("kernel '%s': queue i of '%s' feeds replica i directly, with no software "
			 "hash (%s)", consumer->name, producer->name, reason);
	else if (reason[0] != '\0' && !kept)
		log_info("kernel '%s': '%s' feeds its replicas through the software partition: %s",
			 consumer->name, producer->name, reason);
	return direct;
}

/*
 * A directly fed replica runs on its queue's lcore, so that packets stay in
 * that core's cache from the receive to the consumer: unless `cores:` pins it,
 * or it continues a predecessor (take_state runs on the old one's lcore).
 */
static void
place_with_producer(struct graph_builder *builder, unsigned from, unsigned to, unsigned replica)
{
	const struct graph *graph = builder->graph;
	struct kernel_instance *producer = graph->instances[graph->kernels[from].first_instance + replica];
	struct kernel_instance *consumer = graph->instances[graph->kernels[to].first_instance + replica];

	if (builder->config->kernels[to].core_count == 0 && consumer->references == 1 &&
	    consumer->state == NULL && consumer->take_state_from == NULL &&
	    !kernel_runs_on_sink_thread(consumer->ops, consumer->params))
		consumer->lcore = producer->lcore;
}

/*
 * Wire every replica of kernel @p from to every replica of kernel @p to, or,
 * fed directly, replica i to replica i only (one ring, no partition hash).
 */
static int
connect_kernels(struct graph_builder *builder, unsigned from, unsigned to)
{
	struct graph *graph = builder->graph;
	const struct graph_kernel *producer = &graph->kernels[from], *consumer = &graph->kernels[to];
	const struct kernel_spec *consumer_spec = &builder->config->kernels[to];
	enum partition_key partition =
		kernel_properties_of(consumer_spec->ops, consumer_spec->params).partition;
	bool direct = feeds_directly(builder, from, to, partition);

	for (unsigned p = 0; p < producer->replicas; p++) {
		struct kernel_wiring *producer_wiring = &graph->wirings[producer->first_instance + p];
		struct kernel_output_edge *edge = add_output_edge(
			producer_wiring, direct ? 1 : consumer->replicas, partition);

		if (edge == NULL)
			return -ENOMEM;
		if (direct)
			place_with_producer(builder, from, to, p);
		for (unsigned c = direct ? p : 0; c < (direct ? p + 1 : consumer->replicas); c++) {
			struct kernel_ring *ring = edge_ring(builder, from, p, to, c);

			if (ring == NULL ||
			    add_input(&graph->wirings[consumer->first_instance + c], ring) != 0)
				return -ENOMEM;
			edge->rings[direct ? 0 : c] = ring;
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
			int producer = config_kernel_index(config, config->kernels[k].inputs[i]);
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

/* ---- initialisation and release ------------------------------------------ */

static void
destroy_instance(struct kernel_instance *instance)
{
	if (instance->state != NULL || instance->error[0] != '\0')
		instance->ops->destroy(instance);
	plugin_instance_release(instance->ops);
	free(instance->params);
	free(instance);
}

/*
 * A failed init: the message, and when a configured value was at fault
 * (instance->error_key), that key's position, as a --check error is written.
 */
static int
report_init_failure(struct graph_builder *builder, const struct kernel_instance *instance,
		    int result)
{
	const struct kernel_spec *spec = config_find_kernel(builder->config, instance->name);
	const char *message = instance->error[0] != '\0' ? instance->error : strerror(-result);
	struct config_position position;

	if (instance->error_key == NULL || spec == NULL) {
		snprintf(builder->error, builder->error_size, "kernel '%s' (replica %u): %s",
			 instance->name, instance->replica, message);
		return result;
	}
	position = config_key_position(spec->ops->config_map, spec->key_positions,
				       instance->error_key, spec->position);
	snprintf(builder->error, builder->error_size, "%s:%u:%u: error: kernel '%s': %s",
		 position.file, position.line, position.column, instance->name, message);
	return GRAPH_CONFIG_ERROR;
}

static int
init_new_instances(struct graph_builder *builder)
{
	struct graph *graph = builder->graph;

	for (unsigned i = 0; i < graph->instance_count; i++) {
		struct kernel_instance *instance = graph->instances[i];
		int result;

		if (instance->references > 1 || instance->state != NULL)
			continue; /* kept: already running */
		/* the first generation installs wirings here; later ones at publication */
		if (builder->previous == NULL)
			kernel_install_wiring(instance, &graph->wirings[i]);
		result = instance->ops->init(instance);
		if (result != 0)
			return report_init_failure(builder, instance, result);
	}
	return 0;
}

static void
free_wiring(struct kernel_wiring *wiring)
{
	for (unsigned e = 0; e < wiring->output_edge_count; e++)
		free(wiring->output_edges[e].rings);
	free(wiring->output_edges);
	free(wiring->inputs);
}

/* Packets still queued in a ring nobody will read go back to the pool. */
static void
destroy_ring(struct kernel_ring *ring)
{
	if (ring->type == STREAM_PACKET) {
		struct rte_mbuf *packet;

		while (rte_ring_sc_dequeue(ring->ring, (void **)&packet) == 0)
			rte_pktmbuf_free(packet);
	}
	rte_ring_free(ring->ring);
	free(ring);
}

void
graph_release(struct graph *graph)
{
	if (graph == NULL)
		return;
	for (unsigned i = 0; i < graph->instance_count; i++) {
		struct kernel_instance *instance = graph->instances[i];

		if (instance != NULL && --instance->references == 0)
			destroy_instance(instance);
	}
	for (unsigned r = 0; r < graph->ring_count; r++)
		if (--graph->rings[r]->references == 0)
			destroy_ring(graph->rings[r]);
	for (unsigned i = 0; i < graph->instance_count; i++)
		free_wiring(&graph->wirings[i]);
	free(graph->wirings);
	free(graph->retired);
	free(graph->rings);
	free(graph->instances);
	free(graph->kernels);
	free(graph);
}

static int
build(struct graph_builder *builder)
{
	int result = create_instances(builder);

	if (result == 0)
		result = connect_all(builder);
	if (result == 0)
		result = init_new_instances(builder);
	if (result == -ENOMEM && builder->error[0] == '\0')
		snprintf(builder->error, builder->error_size, "out of memory");
	return result;
}

int
graph_build(const struct config *config, const struct graph_layout *layout, struct graph **out,
	    char *error, size_t error_size)
{
	struct graph *graph = calloc(1, sizeof(*graph));
	struct graph_builder builder = {
		.config = config, .graph = graph, .error = error, .error_size = error_size,
	};
	int result;

	error[0] = '\0';
	if (graph == NULL)
		return -ENOMEM;
	graph->layout = layout;
	graph->generation = 1;
	if (layout->worker_count == 0) {
		snprintf(error, error_size, "no worker lcore: `lcores` needs at least two lcores");
		free(graph);
		return -EINVAL;
	}
	result = build(&builder);
	if (result != 0) {
		graph_release(graph);
		return result;
	}
	*out = graph;
	return 0;
}

/* ---- transitions --------------------------------------------------------- */

static bool
graph_holds_ring(const struct graph *graph, const struct kernel_ring *ring)
{
	for (unsigned r = 0; r < graph->ring_count; r++)
		if (graph->rings[r] == ring)
			return true;
	return false;
}

/* The instance of @p graph that continues @p old (itself when kept), or NULL. */
static struct kernel_instance *
successor(const struct graph *graph, const struct kernel_instance *old)
{
	for (unsigned i = 0; i < graph->instance_count; i++)
		if (graph->instances[i] == old || graph->instances[i]->take_state_from == old)
			return graph->instances[i];
	return NULL;
}

static unsigned
index_in(const struct graph *graph, const struct kernel_instance *instance)
{
	unsigned i = 0;

	while (graph->instances[i] != instance)
		i++;
	return i;
}

static int
copy_wiring(struct kernel_wiring *copy, const struct kernel_wiring *wiring)
{
	*copy = (struct kernel_wiring){0};
	for (unsigned i = 0; i < wiring->input_count; i++)
		if (add_input(copy, wiring->inputs[i].ring) != 0)
			return -ENOMEM;
	for (unsigned e = 0; e < wiring->output_edge_count; e++) {
		struct kernel_output_edge *edge = add_output_edge(copy, wiring->output_edges[e].ring_count,
								  wiring->output_edges[e].partition);

		if (edge == NULL)
			return -ENOMEM;
		memcpy(edge->rings, wiring->output_edges[e].rings,
		       edge->ring_count * sizeof(edge->rings[0]));
	}
	return 0;
}

/*
 * A ring leaving the graph is still read until it is closed and empty: by its
 * consumer if that retires too, otherwise by the consumer's successor.
 */
static int
keep_reading_retired_ring(struct graph_transition *transition, struct kernel_ring *ring)
{
	struct kernel_instance *reader = successor(transition->next, ring->consumer);

	if (reader == NULL)
		return 0; /* the consumer retires and drains it with its previous wiring */
	return add_input(&transition->next_wirings[index_in(transition->next, reader)], ring);
}

static int
collect_retired_rings(struct graph_transition *transition)
{
	const struct graph *previous = transition->previous;

	transition->retired_rings = calloc(previous->ring_count + 1, sizeof(struct kernel_ring *));
	transition->close_after_grace = calloc(previous->ring_count + 1, sizeof(bool));
	if (transition->retired_rings == NULL || transition->close_after_grace == NULL)
		return -ENOMEM;
	for (unsigned r = 0; r < previous->ring_count; r++) {
		struct kernel_ring *ring = previous->rings[r];
		unsigned index = transition->retired_ring_count;

		if (graph_holds_ring(transition->next, ring))
			continue;
		transition->retired_rings[index] = ring;
		transition->close_after_grace[index] =
			successor(transition->next, ring->producer) != NULL;
		transition->retired_ring_count++;
		if (keep_reading_retired_ring(transition, ring) != 0)
			return -ENOMEM;
	}
	return 0;
}

static int
collect_retiring_instances(struct graph_transition *transition)
{
	const struct graph *previous = transition->previous;

	transition->retiring = calloc(previous->instance_count + 1, sizeof(struct kernel_instance *));
	transition->retiring_wirings = calloc(previous->instance_count + 1,
					      sizeof(struct kernel_wiring));
	if (transition->retiring == NULL || transition->retiring_wirings == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < previous->instance_count; i++) {
		struct kernel_instance *instance = previous->instances[i];

		if (successor(transition->next, instance) != NULL)
			continue;
		transition->retiring_wirings[transition->retiring_count] = previous->wirings[i];
		transition->retiring[transition->retiring_count++] = instance;
	}
	return 0;
}

static int
prepare_transition(struct graph_transition *transition)
{
	struct graph *next = transition->next;
	int result = 0;

	transition->next_wirings = calloc(next->instance_count, sizeof(struct kernel_wiring));
	if (transition->next_wirings == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < next->instance_count && result == 0; i++)
		result = copy_wiring(&transition->next_wirings[i], &next->wirings[i]);
	if (result == 0)
		result = collect_retired_rings(transition);
	if (result == 0)
		result = collect_retiring_instances(transition);
	return result;
}

void
graph_transition_commit(struct graph_transition *transition)
{
	struct graph *graph = transition->next;

	for (unsigned i = 0; i < graph->instance_count; i++) {
		const struct kernel_wiring *wiring = &graph->wirings[i];

		for (unsigned e = 0; e < wiring->output_edge_count; e++)
			for (unsigned r = 0; r < wiring->output_edges[e].ring_count; r++)
				wiring->output_edges[e].rings[r]->producer = graph->instances[i];
		for (unsigned input = 0; input < wiring->input_count; input++)
			wiring->inputs[input].ring->consumer = graph->instances[i];
	}
}

/*
 * A kernel that has finished, or whose every input has ended, has flushed or
 * is flushing what it held: it cannot take new input, so it is not carried
 * over. Sources are the exception: one at end of file simply stays there.
 */
static bool
winding_down(const struct graph *previous, const struct graph_kernel *kernel)
{
	for (unsigned r = 0; r < kernel->replicas; r++) {
		unsigned index = kernel->first_instance + r;
		const struct kernel_wiring *wiring = &previous->wirings[index];
		bool inputs_closed = wiring->input_count > 0;

		for (unsigned i = 0; i < wiring->input_count; i++)
			inputs_closed &= atomic_load_explicit(&wiring->inputs[i].ring->closed,
							      memory_order_acquire);
		if (kernel_is_finished(previous->instances[index]) || inputs_closed)
			return kernel->ops->input_type != STREAM_NONE;
	}
	return false;
}

static enum reload_action *
adjust_actions(const struct graph *previous, const struct config *config,
	       const struct reload_plan *plan)
{
	enum reload_action *actions = calloc(config->kernel_count + 1, sizeof(*actions));

	for (unsigned k = 0; actions != NULL && k < config->kernel_count; k++) {
		actions[k] = plan->actions[k];
		if ((actions[k] == RELOAD_KEEP || actions[k] == RELOAD_TAKE_STATE) &&
		    winding_down(previous, &previous->kernels[plan->predecessors[k]]))
			actions[k] = RELOAD_REPLACE;
	}
	return actions;
}

int
graph_build_next(struct graph *previous, const struct config *config,
		 const struct reload_plan *plan, struct graph_transition *transition, char *error,
		 size_t error_size)
{
	struct graph *graph = calloc(1, sizeof(*graph));
	struct graph_builder builder = {
		.config = config, .plan = plan, .previous = previous, .graph = graph,
		.error = error, .error_size = error_size,
	};
	int result;

	error[0] = '\0';
	memset(transition, 0, sizeof(*transition));
	if (graph == NULL)
		return -ENOMEM;
	graph->layout = previous->layout;
	graph->generation = previous->generation + 1;
	graph->retired = calloc(previous->retired_count + 1, sizeof(*graph->retired));
	if (graph->retired == NULL) {
		free(graph);
		return -ENOMEM;
	}
	if (previous->retired_count > 0)
		memcpy(graph->retired, previous->retired,
		       previous->retired_count * sizeof(*graph->retired));
	graph->retired_count = previous->retired_count;
	graph->retired_errors = previous->retired_errors;
	builder.actions = adjust_actions(previous, config, plan);
	result = builder.actions != NULL ? build(&builder) : -ENOMEM;
	free(builder.actions);
	transition->previous = previous;
	transition->next = graph;
	if (result == 0)
		result = prepare_transition(transition);
	if (result != 0) {
		if (error[0] == '\0')
			snprintf(error, error_size, "out of memory");
		graph_transition_free(transition);
		graph_release(graph);
		memset(transition, 0, sizeof(*transition));
		return result;
	}
	return 0;
}

bool
graph_transition_drained(const struct graph_transition *transition)
{
	for (unsigned i = 0; i < transition->retiring_count; i++)
		if (!kernel_is_finished(transition->retiring[i]))
			return false;
	for (unsigned r = 0; r < transition->retired_ring_count; r++) {
		const struct kernel_ring *ring = transition->retired_rings[r];

		if (!atomic_load_explicit(&ring->closed, memory_order_acquire) ||
		    rte_ring_count(ring->ring) > 0)
			return false;
	}
	return true;
}

void
graph_transition_close_retired(struct graph_transition *transition)
{
	for (unsigned r = 0; r < transition->retired_ring_count; r++)
		if (transition->close_after_grace[r])
			atomic_store_explicit(&transition->retired_rings[r]->closed, true,
					      memory_order_release);
}

void
graph_transition_free(struct graph_transition *transition)
{
	if (transition->next_wirings != NULL && transition->next != NULL)
		for (unsigned i = 0; i < transition->next->instance_count; i++)
			free_wiring(&transition->next_wirings[i]);
	free(transition->next_wirings);
	free(transition->retiring);
	free(transition->retiring_wirings); /* copies of previous->wirings: not owned */
	free(transition->retired_rings);
	free(transition->close_after_grace);
	transition->next_wirings = NULL;
	transition->retiring = NULL;
	transition->retiring_wirings = NULL;
	transition->retired_rings = NULL;
	transition->close_after_grace = NULL;
}

const struct graph_kernel *
graph_find_kernel(const struct graph *graph, const char *name, const char *type)
{
	for (unsigned k = 0; k < graph->kernel_count; k++)
		if (strcmp(graph->kernels[k].ops->name, type) == 0 &&
		    strcmp(graph->kernels[k].name, name) == 0)
			return &graph->kernels[k];
	return NULL;
}

struct graph_retired *
graph_find_retired(const struct graph *graph, const char *name, const char *type,
		   unsigned replica)
{
	for (unsigned r = 0; r < graph->retired_count; r++)
		if (graph->retired[r].replica == replica && strcmp(graph->retired[r].type, type) == 0 &&
		    strcmp(graph->retired[r].name, name) == 0)
			return &graph->retired[r];
	return NULL;
}

bool
graph_add_retired(const struct graph *graph, const char *name, const char *type,
		  struct kernel_totals *totals)
{
	bool any = false;

	for (unsigned r = 0; r < graph->retired_count; r++)
		if (strcmp(graph->retired[r].type, type) == 0 &&
		    strcmp(graph->retired[r].name, name) == 0) {
			kernel_totals_add(totals, &graph->retired[r].totals);
			any = true;
		}
	return any;
}

static struct graph_retired *
retired_entry(struct graph *graph, const struct kernel_instance *instance)
{
	struct graph_retired *entry =
		graph_find_retired(graph, instance->name, instance->ops->name, instance->replica);
	struct graph_retired *grown;

	if (entry != NULL)
		return entry;
	grown = realloc(graph->retired, (graph->retired_count + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	graph->retired = grown;
	entry = &grown[graph->retired_count++];
	memset(entry, 0, sizeof(*entry));
	snprintf(entry->name, sizeof(entry->name), "%s", instance->name);
	snprintf(entry->type, sizeof(entry->type), "%s", instance->ops->name);
	entry->replica = instance->replica;
	entry->is_source = instance->ops->input_type == STREAM_NONE;
	return entry;
}

void
graph_transition_keep_figures(struct graph_transition *transition)
{
	for (unsigned i = 0; i < transition->retiring_count; i++) {
		struct graph_retired *entry = retired_entry(transition->next, transition->retiring[i]);

		if (entry != NULL) /* out of memory only loses a summary line */
			kernel_totals_add_instance(&entry->totals, transition->retiring[i]);
		if (kernel_instance_error(transition->retiring[i])[0] != '\0') {
			/* its output is incomplete: said now, and in the exit status */
			log_kernel_error(transition->retiring[i]->name,
					 "kernel '%s' (replica %u, retired): %s",
					 transition->retiring[i]->name, transition->retiring[i]->replica,
					 kernel_instance_error(transition->retiring[i]));
			transition->next->retired_errors++;
		}
	}
}
