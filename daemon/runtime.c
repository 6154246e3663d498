/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker loops. Each worker lcore reads its schedule through an atomic
 * pointer once per round, so a later change of the graph can publish a new
 * schedule between two bursts without stopping the loop.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include "graph.h"
#include "kernel.h"
#include "runtime.h"

#define TICKS_PER_SECOND 1000

struct worker {
	unsigned lcore;
	bool launched;
	_Atomic(struct schedule *) schedule; /* cp: wo, dp: ro (acquire, once per round) */
};

static struct {
	struct graph *graph;                  /* cp only */
	struct worker workers[RTE_MAX_LCORE];
	struct schedule *control_schedule;    /* cp only */
	uint64_t next_control_tick;           /* cp only */
	atomic_bool stop_requested;           /* cp: wo, dp: ro */
	atomic_bool quit;                     /* cp: wo, dp: ro: leave the loop */
	uint64_t clock_base_ns;               /* written once before workers start */
	uint64_t clock_base_cycles;
	uint64_t cycles_per_second;
	uint64_t cycles_per_tick;
} runtime;

void
runtime_clock_init(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	runtime.cycles_per_second = rte_get_tsc_hz();
	runtime.cycles_per_tick = runtime.cycles_per_second / TICKS_PER_SECOND;
	runtime.clock_base_cycles = rte_get_tsc_cycles();
	runtime.clock_base_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

uint64_t
runtime_now_ns(void)
{
	uint64_t elapsed = rte_get_tsc_cycles() - runtime.clock_base_cycles;

	return runtime.clock_base_ns +
	       (uint64_t)((unsigned __int128)elapsed * 1000000000u / runtime.cycles_per_second);
}

void
runtime_request_stop(void)
{
	atomic_store_explicit(&runtime.stop_requested, true, memory_order_release);
}

bool
runtime_stop_requested(void)
{
	return atomic_load_explicit(&runtime.stop_requested, memory_order_relaxed);
}

/* Poll one instance; once its inputs have ended and it has flushed, it is finished. */
static unsigned
poll_instance(struct kernel_instance *instance)
{
	unsigned handled;

	if (kernel_is_finished(instance))
		return 0;
	handled = instance->ops->process(instance);
	if (handled == 0 && instance->input_count > 0 && kernel_inputs_finished(instance) &&
	    (instance->ops->flush == NULL || instance->ops->flush(instance)))
		kernel_mark_finished(instance);
	return handled;
}

unsigned
runtime_poll_schedule(struct schedule *schedule)
{
	unsigned handled = 0;

	for (unsigned i = 0; i < schedule->count; i++)
		handled += poll_instance(schedule->instances[i]);
	return handled;
}

static void
tick_schedule(struct schedule *schedule)
{
	uint64_t now = runtime_now_ns();

	for (unsigned i = 0; i < schedule->count; i++) {
		struct kernel_instance *instance = schedule->instances[i];

		if (instance->ops->tick != NULL && !kernel_is_finished(instance))
			instance->ops->tick(instance, now);
	}
}

static int
worker_loop(void *argument)
{
	struct worker *worker = argument;
	uint64_t next_tick = rte_get_tsc_cycles() + runtime.cycles_per_tick;

	while (!atomic_load_explicit(&runtime.quit, memory_order_relaxed)) {
		struct schedule *schedule =
			atomic_load_explicit(&worker->schedule, memory_order_acquire);

		runtime_poll_schedule(schedule);
		if (rte_get_tsc_cycles() >= next_tick) {
			tick_schedule(schedule);
			next_tick += runtime.cycles_per_tick;
		}
	}
	return 0;
}

static struct schedule *
build_schedule(struct graph *graph, unsigned lcore)
{
	struct schedule *schedule = calloc(1, sizeof(*schedule) + graph->instance_count *
							   sizeof(schedule->instances[0]));

	if (schedule == NULL)
		return NULL;
	for (unsigned i = 0; i < graph->instance_count; i++)
		if (graph->instances[i].lcore == lcore)
			schedule->instances[schedule->count++] = &graph->instances[i];
	return schedule;
}

int
runtime_start(struct graph *graph)
{
	runtime.graph = graph;
	atomic_store(&runtime.quit, false);
	runtime.control_schedule = build_schedule(graph, graph->main_lcore);
	if (runtime.control_schedule == NULL)
		return -ENOMEM;
	for (unsigned w = 0; w < graph->worker_count; w++) {
		struct worker *worker = &runtime.workers[w];
		struct schedule *schedule = build_schedule(graph, graph->worker_lcores[w]);

		if (schedule == NULL)
			return -ENOMEM;
		worker->lcore = graph->worker_lcores[w];
		atomic_store_explicit(&worker->schedule, schedule, memory_order_release);
		if (schedule->count == 0)
			continue; /* an idle worker would only burn its core */
		if (rte_eal_remote_launch(worker_loop, worker, worker->lcore) != 0)
			return -EBUSY;
		worker->launched = true;
	}
	runtime.next_control_tick = rte_get_tsc_cycles() + runtime.cycles_per_tick;
	return 0;
}

unsigned
runtime_poll_control(void)
{
	unsigned handled = runtime_poll_schedule(runtime.control_schedule);

	if (rte_get_tsc_cycles() >= runtime.next_control_tick) {
		tick_schedule(runtime.control_schedule);
		runtime.next_control_tick = rte_get_tsc_cycles() + runtime.cycles_per_tick;
	}
	return handled;
}

bool
runtime_graph_finished(void)
{
	for (unsigned i = 0; i < runtime.graph->instance_count; i++)
		if (!kernel_is_finished(&runtime.graph->instances[i]))
			return false;
	return true;
}

void
runtime_join(void)
{
	atomic_store(&runtime.quit, true);
	for (unsigned w = 0; w < runtime.graph->worker_count; w++) {
		struct worker *worker = &runtime.workers[w];

		if (worker->launched)
			rte_eal_wait_lcore(worker->lcore);
		worker->launched = false;
		free(atomic_load(&worker->schedule));
		atomic_store(&worker->schedule, NULL);
	}
	free(runtime.control_schedule);
	runtime.control_schedule = NULL;
}
