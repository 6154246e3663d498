/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Worker loops and schedule publication.
 *
 * Each lcore reads its schedule through an atomic pointer once per round and
 * installs the wirings of a schedule it has not seen before, between two
 * bursts. After each round it reports a quiescent state (rte_rcu QSBR); once
 * every worker has done so after a publication, no lcore can still be using
 * the previous schedule, so what only that schedule referenced may change or
 * go. No lock is taken on the datapath.
 *
 * Instances that do I/O (sinks that write) are polled the same way by one
 * more thread of their own, the sink thread, never by the control thread: a
 * long reload parse, a client or a scrape on the control thread then never
 * holds records back. It takes the main lcore's place in the schedules and
 * in the QSBR (the control thread itself never reports quiescence), and it
 * always sleeps when a round finds little to do.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "graph.h"
#include "kernel_runtime.h"
#include "runtime.h"

#define TICKS_PER_SECOND 1000
/* Agent mode (`idle: sleep`): a worker's sleeps, while packets trickle in and while none do. */
#define IDLE_SLEEP_MIN_NS 1000u
#define IDLE_SLEEP_LIGHT_MAX_NS 1000000u
#define IDLE_SLEEP_EMPTY_MAX_NS 4000000u

struct worker {
	bool launched;                        /* cp only */
	unsigned thread_id;                   /* QSBR id: the lcore id (the main lcore's: the sink thread) */
	bool sleeps_when_idle;                /* written before launch */
	pthread_t sink_thread;                /* cp only: the main lcore's slot only */
	_Atomic(struct schedule *) schedule;  /* cp: wo (release), dp: ro (acquire, once per round) */
	struct schedule *replaced;            /* cp only: freed after the next grace period */
	/*
	 * dp: wo (relaxed stores, one writer), cp: ro (relaxed loads) at any
	 * time: rounds polled (the progress the watchdog checks) and TSC cycles
	 * spent in rounds that found work (the busy share).
	 */
	uint64_t rounds;
	uint64_t busy_cycles;
};

static struct {
	struct graph *graph;                  /* cp only: the newest generation */
	struct graph_transition *transition;  /* cp only: a reload in progress, or NULL */
	struct worker workers[RTE_MAX_LCORE]; /* indexed by lcore id */
	struct rte_rcu_qsbr *quiescence;
	unsigned sink_lcore;                  /* the main lcore: its slot is the sink thread's */
	atomic_bool quit;                     /* cp: wo, dp: ro: leave the loop */
	uint64_t cycles_per_tick;             /* written once before workers start */
	bool idle_sleep;                      /* written once before workers start */
} runtime;

/* ---- stop ---------------------------------------------------------------- */

/* The flag lives with the kernel API, which sources read it through; the runtime only sets it. */
void
runtime_request_stop(void)
{
	kernel_request_stop();
}

bool
runtime_stop_requested(void)
{
	return kernel_stop_requested();
}

/* ---- polling ------------------------------------------------------------- */

/* Poll one instance; once its inputs have ended and it has flushed, it is finished. */
static unsigned
poll_instance(struct kernel_instance *instance)
{
	uint64_t emitted_before = instance->counters.items_out;
	unsigned handled;

	if (kernel_is_finished(instance))
		return 0;
	handled = instance->ops->process(instance);
	if (handled == 0 && instance->input_count > 0 && kernel_inputs_finished(instance) &&
	    (instance->ops->flush == NULL || instance->ops->flush(instance)))
		kernel_mark_finished(instance);
	/* records emitted count as work too: a window or a flush going out is not an idle round */
	return RTE_MAX(handled, (unsigned)(instance->counters.items_out - emitted_before));
}

/* Poll every instance once. @return the most items one instance handled (a full burst: busy). */
static unsigned
poll_schedule(const struct schedule *schedule)
{
	unsigned busiest = 0;

	for (unsigned i = 0; i < schedule->count; i++)
		busiest = RTE_MAX(busiest, poll_instance(schedule->entries[i].instance));
	return busiest;
}

static void
tick_schedule(const struct schedule *schedule)
{
	uint64_t now = kernel_now_ns();

	for (unsigned i = 0; i < schedule->count; i++) {
		struct kernel_instance *instance = schedule->entries[i].instance;

		if (instance->ops->tick != NULL && !kernel_is_finished(instance))
			instance->ops->tick(instance, now);
	}
}

/*
 * Install a schedule on the lcore that will poll it. A new instance that
 * continues one of the previous generation takes its state here: the
 * predecessor ran on this same lcore and is no longer in the schedule.
 */
static void
install_schedule(const struct schedule *schedule)
{
	for (unsigned i = 0; i < schedule->count; i++) {
		struct kernel_instance *instance = schedule->entries[i].instance;
		struct kernel_instance *predecessor = instance->take_state_from;

		kernel_install_wiring(instance, schedule->entries[i].wiring);
		/* finished before this wiring came: its new output rings get nothing either */
		if (kernel_is_finished(instance))
			kernel_mark_finished(instance);
		if (predecessor == NULL)
			continue;
		instance->counters = predecessor->counters;
		/* dp to dp: the predecessor is never polled again */
		memcpy(instance->failure, predecessor->failure, sizeof(instance->failure));
		instance->ops->take_state(instance, predecessor);
		instance->take_state_from = NULL;
	}
}

/*
 * Agent mode: a round in which no instance had a full burst means the traffic
 * is lighter than this worker can take, so it sleeps, and sleeps longer while
 * rounds stay light (up to 1 ms) or empty (up to 4 ms); a full burst halves
 * the sleep. Waking once per burst-sized batch instead of per handful of
 * packets is what keeps a light load cheap: each wake-up costs a syscall and
 * a context switch (and the kernel's timer slack makes short sleeps about
 * 50 us anyway). Measured over af_packet: 150 kpps took 30 % of a core when
 * any packet reset the sleep to 1 us, 7 % this way; idle, 1 ms wakes took
 * 2 % of a core. So packets wait at most 4 ms in the NIC queue after a quiet
 * spell (8192 frames hold 4 ms of 2 Mpps), and a reload or stop is seen
 * within 4 ms.
 */
static void
idle_wait(unsigned busiest, uint64_t *sleep_ns)
{
	struct timespec pause;

	if (busiest >= KERNEL_BURST) {
		*sleep_ns = RTE_MAX(*sleep_ns / 2, (uint64_t)IDLE_SLEEP_MIN_NS);
		return;
	}
	pause = (struct timespec){.tv_sec = 0, .tv_nsec = (long)*sleep_ns};
	nanosleep(&pause, NULL);
	*sleep_ns = RTE_MIN(*sleep_ns * 2, busiest == 0 ? (uint64_t)IDLE_SLEEP_EMPTY_MAX_NS
						       : (uint64_t)IDLE_SLEEP_LIGHT_MAX_NS);
}

/* dp: a round done, @p busy_cycles of it spent on work. */
static inline void
count_round(struct worker *worker, uint64_t busy_cycles)
{
	__atomic_store_n(&worker->rounds, worker->rounds + 1, __ATOMIC_RELAXED);
	if (busy_cycles > 0)
		__atomic_store_n(&worker->busy_cycles, worker->busy_cycles + busy_cycles,
				 __ATOMIC_RELAXED);
}

static int
worker_loop(void *argument)
{
	struct worker *worker = argument;
	unsigned lcore = worker->thread_id;
	uint64_t installed = 0;
	uint64_t next_tick = rte_get_tsc_cycles() + runtime.cycles_per_tick;
	bool idle_sleep = worker->sleeps_when_idle;
	uint64_t sleep_ns = IDLE_SLEEP_MIN_NS;
	uint64_t round_start = rte_get_tsc_cycles();

	while (!atomic_load_explicit(&runtime.quit, memory_order_relaxed)) {
		const struct schedule *schedule =
			atomic_load_explicit(&worker->schedule, memory_order_acquire);

		if (schedule == NULL) { /* launched just before its first schedule is swapped in */
			rte_rcu_qsbr_quiescent(runtime.quiescence, lcore);
			continue;
		}
		if (schedule->serial != installed) {
			install_schedule(schedule);
			installed = schedule->serial;
		}
		unsigned busiest = poll_schedule(schedule);
		/* the one TSC read a round already took for the tick also times the busy share */
		uint64_t now = rte_get_tsc_cycles();

		count_round(worker, busiest > 0 ? now - round_start : 0);
		if (now >= next_tick) {
			tick_schedule(schedule);
			next_tick = RTE_MAX(next_tick + runtime.cycles_per_tick, rte_get_tsc_cycles());
		}
		rte_rcu_qsbr_quiescent(runtime.quiescence, lcore);
		if (idle_sleep)
			idle_wait(busiest, &sleep_ns);
		round_start = idle_sleep ? rte_get_tsc_cycles() : now;
	}
	rte_rcu_qsbr_thread_offline(runtime.quiescence, lcore);
	return 0;
}

/* ---- publication --------------------------------------------------------- */

static struct schedule *
schedule_create(unsigned capacity)
{
	static uint64_t serial;
	struct schedule *schedule = calloc(1, sizeof(struct schedule) +
						     capacity * sizeof(struct schedule_entry));

	if (schedule != NULL)
		schedule->serial = ++serial;
	return schedule;
}

static void
schedule_add(struct schedule *schedule, struct kernel_instance *instance,
	     const struct kernel_wiring *wiring)
{
	schedule->entries[schedule->count++] = (struct schedule_entry){instance, wiring};
}

/* The schedule of @p lcore: the graph's instances there, then retiring ones (when given). */
static struct schedule *
build_schedule(const struct graph *graph, const struct kernel_wiring *wirings,
	       const struct graph_transition *transition, unsigned lcore)
{
	unsigned capacity = graph->instance_count + (transition ? transition->retiring_count : 0);
	struct schedule *schedule = schedule_create(capacity);

	if (schedule == NULL)
		return NULL;
	for (unsigned i = 0; i < graph->instance_count; i++)
		if (graph->instances[i]->lcore == lcore)
			schedule_add(schedule, graph->instances[i], &wirings[i]);
	for (unsigned i = 0; transition != NULL && i < transition->retiring_count; i++)
		if (transition->retiring[i]->lcore == lcore)
			schedule_add(schedule, transition->retiring[i], &transition->retiring_wirings[i]);
	return schedule;
}

static void *
sink_thread_main(void *argument)
{
	worker_loop(argument);
	return NULL;
}

/* The sink thread: a plain thread (not an EAL lcore), so it may block in syscalls. */
static int
start_sink_thread(struct worker *worker)
{
	if (pthread_create(&worker->sink_thread, NULL, sink_thread_main, worker) != 0)
		return -EAGAIN;
	rte_thread_setname(worker->sink_thread, "jetstream-sink");
	return 0;
}

static int
launch_worker(unsigned lcore)
{
	struct worker *worker = &runtime.workers[lcore];
	bool sink_thread = lcore == runtime.sink_lcore;
	int result;

	worker->thread_id = lcore;
	/* records are not urgent, and a spinning sink thread would take a core from the workers */
	worker->sleeps_when_idle = sink_thread || runtime.idle_sleep;
	/* registered and online before it runs, so no grace period can miss it */
	if (rte_rcu_qsbr_thread_register(runtime.quiescence, lcore) != 0)
		return -EINVAL;
	rte_rcu_qsbr_thread_online(runtime.quiescence, lcore);
	result = sink_thread ? start_sink_thread(worker)
			     : (rte_eal_remote_launch(worker_loop, worker, lcore) != 0 ? -EBUSY : 0);
	if (result != 0) {
		rte_rcu_qsbr_thread_offline(runtime.quiescence, lcore);
		rte_rcu_qsbr_thread_unregister(runtime.quiescence, lcore);
		return result;
	}
	worker->launched = true;
	return 0;
}

static void
free_schedules(struct schedule **schedules, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		free(schedules[i]);
}

/*
 * Give every lcore its part of the generation; workers pick it up at their
 * next round. All or nothing: every schedule is built and every lcore that
 * gets work is running before the first swap, so a failure changes nothing.
 */
static int
publish(const struct graph *graph, const struct kernel_wiring *wirings,
	const struct graph_transition *transition)
{
	const struct graph_layout *layout = graph->layout;
	struct schedule *schedules[RTE_MAX_LCORE + 1] = {NULL};
	unsigned lcores[RTE_MAX_LCORE + 1];
	unsigned count = layout->worker_count + 1; /* the workers, then the sink thread */

	for (unsigned w = 0; w < count; w++) {
		lcores[w] = w < layout->worker_count ? layout->worker_lcores[w] : runtime.sink_lcore;
		schedules[w] = build_schedule(graph, wirings, transition, lcores[w]);
		if (schedules[w] == NULL) {
			free_schedules(schedules, w);
			return -ENOMEM;
		}
	}
	for (unsigned w = 0; w < count; w++) {
		int result;

		if (runtime.workers[lcores[w]].launched || schedules[w]->count == 0)
			continue;
		if ((result = launch_worker(lcores[w])) != 0) {
			free_schedules(schedules, count);
			return result;
		}
	}
	for (unsigned w = 0; w < count; w++) {
		struct worker *worker = &runtime.workers[lcores[w]];

		free(worker->replaced); /* two publications ago: past a grace period since */
		worker->replaced = atomic_exchange_explicit(&worker->schedule, schedules[w],
							    memory_order_acq_rel);
	}
	return 0;
}

/* Wait until every worker has finished the round it was in: the grace period. */
static void
wait_for_quiescence(void)
{
	rte_rcu_qsbr_synchronize(runtime.quiescence, RTE_QSBR_THRID_INVALID);
}

int
runtime_start(struct graph *graph)
{
	size_t size = rte_rcu_qsbr_get_memsize(RTE_MAX_LCORE);

	runtime.quiescence = rte_zmalloc("quiescence", size, RTE_CACHE_LINE_SIZE);
	if (runtime.quiescence == NULL || rte_rcu_qsbr_init(runtime.quiescence, RTE_MAX_LCORE) != 0)
		return -ENOMEM;
	runtime.graph = graph;
	runtime.idle_sleep = graph->layout->idle_sleep;
	runtime.sink_lcore = graph->layout->main_lcore;
	runtime.cycles_per_tick = rte_get_tsc_hz() / TICKS_PER_SECOND;
	atomic_store(&runtime.quit, false);
	return publish(graph, graph->wirings, NULL);
}

/* Set `retiring` on the transition's retiring sources (@p sources) or on the other kernels. */
static void
mark_retiring(struct graph_transition *transition, bool sources)
{
	for (unsigned i = 0; i < transition->retiring_count; i++) {
		struct kernel_instance *instance = transition->retiring[i];

		if ((instance->ops->input_type == STREAM_NONE) == sources)
			atomic_store_explicit(&instance->retiring, true, memory_order_release);
	}
}

int
runtime_begin_transition(struct graph_transition *transition)
{
	int result = publish(transition->next, transition->next_wirings, transition);

	if (result != 0)
		return result;
	graph_transition_commit(transition);
	runtime.graph = transition->next;
	runtime.transition = transition;
	wait_for_quiescence();
	/*
	 * Retiring kernels that take input learn it before their rings close
	 * (release, seen by whoever sees a ring closed: acquire), so one that
	 * acts at the end of its inputs tells a reload from the end of the input
	 * (a history cuts its open dumps; it marked them done when the rings
	 * closed first, seen under load). They stop nothing: they drain.
	 */
	mark_retiring(transition, false);
	/* every producer now writes by the next wiring: rings it left get nothing more */
	graph_transition_close_retired(transition);
	/*
	 * Only now may retiring sources stop: a consumer that continues has the
	 * next wiring installed, so it cannot take the end of a retiring input
	 * for the end of all its input.
	 */
	mark_retiring(transition, true);
	return 0;
}

bool
runtime_transition_pending(void)
{
	return runtime.transition != NULL;
}

bool
runtime_finish_transition(void)
{
	struct graph_transition *transition = runtime.transition;

	if (transition == NULL)
		return true;
	if (!graph_transition_drained(transition) ||
	    publish(transition->next, transition->next->wirings, NULL) != 0)
		return false;
	wait_for_quiescence();
	runtime.transition = NULL;
	graph_transition_keep_figures(transition);
	graph_release(transition->previous);
	graph_transition_free(transition);
	free(transition);
	return true;
}

struct graph *
runtime_graph(void)
{
	return runtime.graph;
}

const struct graph_transition *
runtime_pending_transition(void)
{
	return runtime.transition;
}

bool
runtime_graph_finished(void)
{
	const struct graph *graph = runtime.graph;
	const struct graph_transition *transition = runtime.transition;

	for (unsigned i = 0; i < graph->instance_count; i++)
		if (!kernel_is_finished(graph->instances[i]))
			return false;
	for (unsigned i = 0; transition != NULL && i < transition->retiring_count; i++)
		if (!kernel_is_finished(transition->retiring[i]))
			return false;
	return true;
}

void
runtime_join(void)
{
	atomic_store(&runtime.quit, true);
	for (unsigned lcore = 0; lcore < RTE_MAX_LCORE; lcore++) {
		struct worker *worker = &runtime.workers[lcore];

		if (worker->launched && lcore == runtime.sink_lcore)
			pthread_join(worker->sink_thread, NULL);
		else if (worker->launched)
			rte_eal_wait_lcore(lcore);
		worker->launched = false;
		free(worker->replaced);
		free(atomic_load(&worker->schedule));
		worker->replaced = NULL;
		atomic_store(&worker->schedule, NULL);
	}
	/* a reload still draining at exit: its retiring instances count in the summary too */
	if (runtime.transition != NULL)
		graph_transition_keep_figures(runtime.transition);
}

void
runtime_release(void)
{
	if (runtime.transition != NULL) {
		graph_release(runtime.transition->previous);
		graph_transition_free(runtime.transition);
		free(runtime.transition);
		runtime.transition = NULL;
	}
	graph_release(runtime.graph);
	runtime.graph = NULL;
	rte_free(runtime.quiescence);
	runtime.quiescence = NULL;
}

/* ---- figures ------------------------------------------------------------- */

unsigned
runtime_lcore_figures(struct runtime_lcore_figures *figures, unsigned capacity)
{
	unsigned count = 0;

	for (unsigned lcore = 0; lcore < RTE_MAX_LCORE && count < capacity; lcore++) {
		struct worker *worker = &runtime.workers[lcore];

		if (!worker->launched)
			continue;
		figures[count++] = (struct runtime_lcore_figures){
			.lcore = lcore,
			.sink_thread = lcore == runtime.sink_lcore,
			.rounds = __atomic_load_n(&worker->rounds, __ATOMIC_RELAXED),
			.busy_cycles = __atomic_load_n(&worker->busy_cycles, __ATOMIC_RELAXED),
		};
	}
	return count;
}
