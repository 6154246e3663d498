/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Snapshots of the running graph's figures (status.h). The control thread
 * builds them from the generation runtime_graph() returns; the previous
 * tick's snapshot gives the rates, and a copy of the last one is kept under
 * a mutex for threads other than the control thread.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_lcore.h>

#include "accounting.h"
#include "clock.h"
#include "config.h"
#include "graph.h"
#include "runtime.h"
#include "status.h"

static struct {
	uint64_t started_ns;
	struct config *const *running;        /* cp only */
	uint64_t reloads_ok;                   /* cp only */
	uint64_t reloads_failed;               /* cp only */
	struct status_snapshot *last_tick;     /* cp only: the rates' base */
	uint64_t last_tick_ns;                 /* cp only */
	uint64_t last_tick_tsc;                /* cp only */
	uint64_t last_busy_cycles[RTE_MAX_LCORE]; /* cp only: by lcore id */
	pthread_mutex_t published_lock;        /* guards published */
	struct status_snapshot *published;
} status = {.published_lock = PTHREAD_MUTEX_INITIALIZER};

void
status_start(struct config *const *running)
{
	status.started_ns = clock_monotonic_ns();
	status.running = running;
}

void
status_count_reload(bool succeeded)
{
	if (succeeded)
		status.reloads_ok++;
	else
		status.reloads_failed++;
}

void
status_free(struct status_snapshot *snapshot)
{
	if (snapshot == NULL)
		return;
	for (unsigned i = 0; i < snapshot->instance_count; i++)
		free(snapshot->instances[i].inputs);
	for (unsigned p = 0; p < snapshot->pipeline_count; p++)
		free(snapshot->pipeline_paths[p]);
	free(snapshot->pipeline_paths);
	free(snapshot->instances);
	free(snapshot->lcores);
	free(snapshot);
}

/* ---- building ------------------------------------------------------------ */

static int
fill_inputs(struct status_instance *row, const struct kernel_wiring *wiring)
{
	row->inputs = calloc(wiring->input_count + 1, sizeof(*row->inputs));
	if (row->inputs == NULL)
		return -1;
	for (unsigned j = 0; j < wiring->input_count; j++) {
		const struct kernel_ring *ring = wiring->inputs[j].ring;

		row->inputs[j] = (struct status_input){
			.producer = ring->producer != NULL ? ring->producer->name : "",
			.producer_replica = ring->producer != NULL ? ring->producer->replica : 0,
			.used = rte_ring_count(ring->ring),
			.capacity = rte_ring_get_capacity(ring->ring),
		};
	}
	row->input_count = wiring->input_count;
	return 0;
}

/* A live instance's own figures; what its predecessors did is added by add_retired_rows(). */
static int
fill_live_instance(const struct graph *graph, unsigned index, struct status_instance *row)
{
	const struct kernel_instance *instance = graph->instances[index];

	*row = (struct status_instance){
		.kernel = instance->name,
		.type = kernel_intern_name(instance->ops->name),
		.replica = instance->replica,
		.replica_count = instance->replica_count,
		.lcore = instance->lcore,
		.on_sink_thread = instance->lcore == graph->layout->main_lcore,
		.is_source = instance->ops->input_type == STREAM_NONE,
	};
	kernel_totals_add_instance(&row->totals, instance);
	return fill_inputs(row, &graph->wirings[index]);
}

/*
 * The row of replica @p replica of kernel @p kernel of type @p type (interned
 * names), appended as a removed row (replica_count 0) when no live instance
 * has it: a kernel a reload removed, or a replica above a lowered count.
 * The array has room for every retired entry and retiring instance.
 */
static struct status_instance *
row_for_retired(struct status_snapshot *snapshot, const char *kernel, const char *type,
		unsigned replica, bool is_source)
{
	for (unsigned i = 0; i < snapshot->instance_count; i++) {
		struct status_instance *row = &snapshot->instances[i];

		if (row->kernel == kernel && row->type == type && row->replica == replica)
			return row;
	}
	snapshot->instances[snapshot->instance_count] = (struct status_instance){
		.kernel = kernel, .type = type, .replica = replica, .is_source = is_source};
	return &snapshot->instances[snapshot->instance_count++];
}

/*
 * Counters never go back: each row takes the counters (not the levels: see
 * accounting_add_retired) of the instances that held its place before, those
 * whose figures a finished reload kept (graph->retired) and those a reload in
 * progress still drains (their figures reach graph->retired only when it ends).
 */
static void
add_retired_rows(struct status_snapshot *snapshot, const struct graph *graph,
		 const struct graph_transition *transition)
{
	for (unsigned r = 0; r < graph->retired_count; r++) {
		const struct graph_retired *retired = &graph->retired[r];
		struct status_instance *row = row_for_retired(
			snapshot, kernel_intern_name(retired->name), kernel_intern_name(retired->type),
			retired->replica, retired->is_source);

		accounting_add_retired(&row->totals, &retired->totals);
	}
	for (unsigned i = 0; transition != NULL && i < transition->retiring_count; i++) {
		const struct kernel_instance *instance = transition->retiring[i];
		struct kernel_totals figures = {0};
		struct status_instance *row = row_for_retired(
			snapshot, instance->name, kernel_intern_name(instance->ops->name),
			instance->replica, instance->ops->input_type == STREAM_NONE);

		kernel_totals_add_instance(&figures, instance);
		accounting_add_retired(&row->totals, &figures);
	}
}

static bool
same_row(const struct status_instance *a, const struct status_instance *b)
{
	/* interned: equal names are equal pointers */
	return a->kernel == b->kernel && a->type == b->type && a->replica == b->replica;
}

static const struct status_instance *
find_row(const struct status_snapshot *snapshot, const struct status_instance *row)
{
	for (unsigned i = 0; snapshot != NULL && i < snapshot->instance_count; i++)
		if (same_row(&snapshot->instances[i], row))
			return &snapshot->instances[i];
	return NULL;
}

static double
per_second(uint64_t now, uint64_t before, double seconds)
{
	return seconds > 0 && now >= before ? (double)(now - before) / seconds : 0.0;
}

/* Rates since the last tick, for rows that existed then. */
static void
fill_rates(struct status_snapshot *snapshot, double seconds)
{
	for (unsigned i = 0; i < snapshot->instance_count; i++) {
		struct status_instance *row = &snapshot->instances[i];
		const struct status_instance *before = find_row(status.last_tick, row);

		if (before == NULL || row->replica_count == 0)
			continue;
		row->items_in_per_second = per_second(row->totals.counters.items_in,
						      before->totals.counters.items_in, seconds);
		row->items_out_per_second = per_second(row->totals.counters.items_out,
						       before->totals.counters.items_out, seconds);
	}
}

static int
fill_instances(struct status_snapshot *snapshot, const struct graph *graph)
{
	const struct graph_transition *transition = runtime_pending_transition();
	unsigned retiring = transition != NULL ? transition->retiring_count : 0;

	snapshot->instances = calloc(graph->instance_count + graph->retired_count + retiring + 1,
				     sizeof(*snapshot->instances));
	if (snapshot->instances == NULL)
		return -1;
	for (unsigned i = 0; i < graph->instance_count; i++) {
		if (fill_live_instance(graph, i, &snapshot->instances[i]) != 0)
			return -1;
		snapshot->instance_count++;
	}
	add_retired_rows(snapshot, graph, transition);
	return 0;
}

static int
fill_lcores(struct status_snapshot *snapshot, uint64_t tsc_now)
{
	struct runtime_lcore_figures figures[RTE_MAX_LCORE];
	unsigned count = runtime_lcore_figures(figures, RTE_DIM(figures));
	uint64_t interval = tsc_now - status.last_tick_tsc;

	snapshot->lcores = calloc(count + 1, sizeof(*snapshot->lcores));
	if (snapshot->lcores == NULL)
		return -1;
	for (unsigned l = 0; l < count; l++) {
		uint64_t busy = figures[l].busy_cycles - status.last_busy_cycles[figures[l].lcore];

		snapshot->lcores[l] = (struct status_lcore){
			.lcore = figures[l].lcore,
			.sink_thread = figures[l].sink_thread,
			.rounds = figures[l].rounds,
			.busy_ratio = status.last_tick_tsc != 0 && interval > 0
					      ? RTE_MIN(1.0, (double)busy / (double)interval)
					      : 0.0,
		};
	}
	snapshot->lcore_count = count;
	return 0;
}

/* Owned copies of @p count names: a published snapshot outlives the configuration. */
static int
copy_names(struct status_snapshot *snapshot, const char *const *names, unsigned count)
{
	snapshot->pipeline_count = 0;
	snapshot->pipeline_paths = calloc(count + 1, sizeof(*snapshot->pipeline_paths));
	if (snapshot->pipeline_paths == NULL)
		return -1;
	for (unsigned p = 0; p < count; p++) {
		snapshot->pipeline_paths[p] = strdup(names[p]);
		if (snapshot->pipeline_paths[p] == NULL)
			return -1;
		snapshot->pipeline_count++;
	}
	return 0;
}

/* The files the running configuration read, but its settings file: its pipelines. */
static int
fill_pipelines(struct status_snapshot *snapshot)
{
	const struct config *config = status.running != NULL ? *status.running : NULL;
	const char *names[CONFIG_MAX_PIPELINES + 1];
	unsigned count = 0;

	for (unsigned f = 0; config != NULL && f < config->file_count; f++)
		if (strcmp(config->files[f], config->settings_file) != 0)
			names[count++] = config->files[f];
	return copy_names(snapshot, names, count);
}

struct status_snapshot *
status_take(void)
{
	const struct graph *graph = runtime_graph();
	struct status_snapshot *snapshot = calloc(1, sizeof(*snapshot));
	uint64_t now = clock_monotonic_ns();

	if (snapshot == NULL)
		return NULL;
	*snapshot = (struct status_snapshot){
		.version = JETSTREAM_VERSION,
		.uptime_seconds = (double)(now - status.started_ns) / 1e9,
		.generation = graph != NULL ? graph->generation : 0,
		.reloads_ok = status.reloads_ok,
		.reloads_failed = status.reloads_failed,
	};
	if (fill_pipelines(snapshot) != 0 || fill_lcores(snapshot, rte_get_tsc_cycles()) != 0 ||
	    (graph != NULL && fill_instances(snapshot, graph) != 0)) {
		status_free(snapshot);
		return NULL;
	}
	fill_rates(snapshot, (double)(now - status.last_tick_ns) / 1e9);
	return snapshot;
}

/* ---- ticks and the published copy ---------------------------------------- */

static struct status_snapshot *
copy_snapshot(const struct status_snapshot *snapshot)
{
	struct status_snapshot *copy = malloc(sizeof(*copy));

	if (copy == NULL)
		return NULL;
	*copy = *snapshot;
	copy->lcores = calloc(snapshot->lcore_count + 1, sizeof(*copy->lcores));
	copy->instances = calloc(snapshot->instance_count + 1, sizeof(*copy->instances));
	copy->instance_count = 0;
	if (copy_names(copy, (const char *const *)snapshot->pipeline_paths,
		       snapshot->pipeline_count) != 0 ||
	    copy->lcores == NULL || copy->instances == NULL) {
		status_free(copy);
		return NULL;
	}
	memcpy(copy->lcores, snapshot->lcores, snapshot->lcore_count * sizeof(*copy->lcores));
	for (unsigned i = 0; i < snapshot->instance_count; i++) {
		const struct status_instance *row = &snapshot->instances[i];
		struct status_instance *into = &copy->instances[i];

		*into = *row;
		into->inputs = calloc(row->input_count + 1, sizeof(*into->inputs));
		if (into->inputs == NULL) {
			status_free(copy);
			return NULL;
		}
		if (row->input_count > 0) /* a removed kernel's row has no inputs (NULL) */
			memcpy(into->inputs, row->inputs, row->input_count * sizeof(*into->inputs));
		copy->instance_count++;
	}
	return copy;
}

static void
publish(struct status_snapshot *snapshot)
{
	struct status_snapshot *copy = copy_snapshot(snapshot);
	struct status_snapshot *old;

	if (copy == NULL)
		return; /* the readers keep the previous one */
	pthread_mutex_lock(&status.published_lock);
	old = status.published;
	status.published = copy;
	pthread_mutex_unlock(&status.published_lock);
	status_free(old);
}

const struct status_snapshot *
status_tick(void)
{
	uint64_t now = clock_monotonic_ns();
	struct runtime_lcore_figures figures[RTE_MAX_LCORE];
	unsigned count;
	struct status_snapshot *snapshot;

	if (status.last_tick_ns != 0 && now - status.last_tick_ns < STATUS_TICK_NS)
		return NULL;
	snapshot = status_take();
	if (snapshot == NULL)
		return NULL;
	/* the next interval's bases: cycles by lcore and the figures of this tick */
	count = runtime_lcore_figures(figures, RTE_DIM(figures));
	for (unsigned l = 0; l < count; l++)
		status.last_busy_cycles[figures[l].lcore] = figures[l].busy_cycles;
	status.last_tick_tsc = rte_get_tsc_cycles();
	status.last_tick_ns = now;
	publish(snapshot);
	status_free(status.last_tick);
	status.last_tick = snapshot;
	return snapshot;
}

struct status_snapshot *
status_take_published(void)
{
	struct status_snapshot *copy = NULL;

	pthread_mutex_lock(&status.published_lock);
	if (status.published != NULL)
		copy = copy_snapshot(status.published);
	pthread_mutex_unlock(&status.published_lock);
	return copy;
}

static bool
same_kernel(const struct status_instance *a, const struct status_instance *b)
{
	return a->kernel == b->kernel && a->type == b->type; /* interned */
}

bool
status_kernel_sum(const struct status_snapshot *snapshot, unsigned index,
		  struct status_kernel_sum *sum)
{
	const struct status_instance *first = &snapshot->instances[index];

	for (unsigned i = 0; i < index; i++)
		if (same_kernel(&snapshot->instances[i], first))
			return false;
	*sum = (struct status_kernel_sum){0};
	for (unsigned i = index; i < snapshot->instance_count; i++) {
		const struct status_instance *row = &snapshot->instances[i];

		if (!same_kernel(row, first))
			continue;
		kernel_totals_add(&sum->totals, &row->totals);
		sum->items_in_per_second += row->items_in_per_second;
		sum->items_out_per_second += row->items_out_per_second;
		sum->replica_count = RTE_MAX(sum->replica_count, row->replica_count);
	}
	return true;
}

unsigned
status_running_instances(const struct status_snapshot *snapshot)
{
	unsigned count = 0;

	for (unsigned i = 0; i < snapshot->instance_count; i++)
		count += snapshot->instances[i].replica_count > 0;
	return count;
}

void
status_source_totals(const struct status_snapshot *snapshot, uint64_t *packets,
		     double *packets_per_second)
{
	*packets = 0;
	*packets_per_second = 0;
	for (unsigned i = 0; i < snapshot->instance_count; i++)
		if (snapshot->instances[i].is_source) {
			*packets += snapshot->instances[i].totals.counters.items_out;
			*packets_per_second += snapshot->instances[i].items_out_per_second;
		}
}
