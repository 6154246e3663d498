/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * history: keeps the most recent packets in memory (kernels/history_ring.h)
 * and dumps the ones that match a rule, before and after a trigger, to
 * pcapng files (FlowScope's time travel). Packets pass through unchanged.
 *
 * Three threads touch an instance:
 * - the worker (dp) copies every packet into the ring and forwards it, and
 *   hands trigger records (alerts, flows from `trigger:`) to the writer
 *   thread through an rte_ring: no allocation, no syscall, no wait;
 * - the instance's writer thread opens a rule per trigger, reads the ring
 *   behind the worker and writes the files; it never makes the worker wait,
 *   so packets the worker overwrote before the writer read them are lost to
 *   the dump, and counted and said so in its file;
 * - the control thread starts dumps from the control socket
 *   (history_dump_start) and reads their status, under the dumps lock.
 *
 * Not replicable: one ring holds one time line, and a dump reads one ring.
 *
 * This file: the configuration, the worker, init, stats and destroy. The
 * writer thread and its dumps are in history_dump.c, the control socket's
 * dumps in history_control.c; kernels/history_private.h is what they share.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rte_errno.h>
#include <rte_ring.h>

#include "kernel.h"
#include "kernels/history.h"
#include "kernels/history_private.h"
#include "kernels/history_ring.h"
#include "outputs/output_thread.h"
#include "packet.h"
#include "packet_filter.h"

/* Triggers waiting for the writer thread; more in one poll are counted as dropped. */
#define HISTORY_TRIGGER_RING_SIZE 1024

static const char *const dump_key_names[] = {"auto", "src", "dst", "src_dst", "flow", NULL};

static const struct config_field history_fields[] = {
	{.key = "memory", .type = CONFIG_SIZE, .offset = offsetof(struct history_params, memory),
	 .default_value = "256M", .change = CONFIG_CHANGE_REPLACE,
	 .description = "memory holding the most recent packets (allocated and faulted in at start)"},
	{.key = "snaplen", .type = CONFIG_UNSIGNED, .offset = offsetof(struct history_params, snaplen),
	 .default_value = "0", .maximum = 65535, .change = CONFIG_CHANGE_REPLACE,
	 .description = "bytes kept of each frame; 0 = whole frames"},
	{.key = "seconds", .type = CONFIG_DURATION,
	 .offset = offsetof(struct history_params, seconds_ns), .default_value = NULL,
	 .change = CONFIG_CHANGE_REPLACE,
	 .description = "dumps reach back at most this far before the newest packet; unset = as "
			"far as the memory holds"},
	{.key = "trigger", .type = CONFIG_NAMES,
	 .choices = (const char *const[]){"alert", "flow", NULL},
	 .description = "kernels whose alert or flow records open a dump of their key"},
	{.key = "dump_key", .type = CONFIG_CHOICE, .offset = offsetof(struct history_params, dump_key),
	 .choices = dump_key_names, .default_value = "auto", .change = CONFIG_CHANGE_REPLACE,
	 .description = "which packets a trigger's dump holds: `src`, `dst` or `src_dst` addresses "
			"of the record, or its `flow` (both directions); `auto`: an alert's own key, "
			"a flow's 5-tuple"},
	{.key = "before", .type = CONFIG_DURATION,
	 .offset = offsetof(struct history_params, before_ns), .default_value = "10s",
	 .change = CONFIG_CHANGE_REPLACE,
	 .description = "a trigger's dump starts this long before the trigger's time"},
	{.key = "after", .type = CONFIG_DURATION, .offset = offsetof(struct history_params, after_ns),
	 .default_value = "30s", .change = CONFIG_CHANGE_REPLACE,
	 .description = "and ends this long after it (packet time)"},
	{.key = "dump_dir", .type = CONFIG_STRING, .offset = offsetof(struct history_params, dump_dir),
	 .size = sizeof(((struct history_params *)0)->dump_dir),
	 .default_value = "/var/lib/jetstream/dumps", .change = CONFIG_CHANGE_REPLACE,
	 .description = "directory of the pcapng files, one per dump"},
	{.key = "max_dumps", .type = CONFIG_UNSIGNED,
	 .offset = offsetof(struct history_params, max_dumps), .default_value = "8", .minimum = 1,
	 .change = CONFIG_CHANGE_REPLACE, .description = "dumps written at the same time, at most"},
	{.key = "dumps_per_minute", .type = CONFIG_UNSIGNED,
	 .offset = offsetof(struct history_params, dumps_per_minute), .default_value = "10",
	 .minimum = 1, .change = CONFIG_CHANGE_REPLACE,
	 .description = "dumps opened per minute of packet time, at most"},
	{.key = NULL},
};

/* ---- configuration ------------------------------------------------------- */

static void
history_check(const void *params_data, struct config_check_context *context)
{
	const struct history_params *params = params_data;
	uint64_t minimum = history_ring_minimum_memory((uint32_t)params->snaplen);
	struct stat directory;

	if (params->memory < minimum)
		config_check_error(context, "memory",
				   "'memory' must hold two chunks of the largest record: at least "
				   "%" PRIu64 " bytes with snaplen %" PRIu64,
				   minimum, params->snaplen);
	if (config_check_key_set(context, "dump_dir") &&
	    (stat(params->dump_dir, &directory) != 0 || !S_ISDIR(directory.st_mode)))
		config_check_error(context, "dump_dir", "'dump_dir' %s is not a directory",
				   params->dump_dir);
}

/* ---- the worker ---------------------------------------------------------- */

/* Copy one packet into the ring, its segments one after the other. */
static inline void
hold_packet(struct history_ring *ring, struct rte_mbuf *packet)
{
	const struct packet_meta *meta = packet_meta(packet);
	uint32_t captured = history_ring_captured_length(ring, rte_pktmbuf_pkt_len(packet));
	uint8_t *bytes = history_ring_reserve(ring, meta->timestamp_ns, meta->wire_length, captured);
	uint32_t copied = 0;

	for (const struct rte_mbuf *segment = packet; segment != NULL && copied < captured;
	     segment = segment->next) {
		uint32_t length = RTE_MIN((uint32_t)segment->data_len, captured - copied);

		memcpy(bytes + copied, rte_pktmbuf_mtod(segment, const uint8_t *), length);
		copied += length;
	}
	history_ring_commit(ring);
}

static enum dump_key
alert_key(const struct alert_record *alert, enum dump_key configured)
{
	bool flow = (alert->fields & ALERT_FIELD_PORTS) && (alert->fields & ALERT_FIELD_PROTOCOL);

	if (configured == DUMP_KEY_FLOW && !flow)
		return DUMP_KEY_SOURCE_DESTINATION; /* documented: an alert without ports */
	if (configured != DUMP_KEY_AUTO)
		return configured;
	switch (alert->key) {
	case COUNT_KEY_DESTINATION: return DUMP_KEY_DESTINATION;
	case COUNT_KEY_SOURCE_DESTINATION: return DUMP_KEY_SOURCE_DESTINATION;
	default: return DUMP_KEY_SOURCE;
	}
}

static bool
trigger_of(const union any_record *record, enum dump_key configured,
	   struct history_trigger *trigger)
{
	memset(trigger, 0, sizeof(*trigger));
	trigger->kernel = record->header.kernel;
	trigger->record_type = (uint8_t)record->header.type;
	if (record->header.type == STREAM_ALERT) {
		const struct alert_record *alert = &record->alert;

		trigger->time_ns = alert->end_ns;
		trigger->value = alert->value;
		memcpy(trigger->source_address, alert->source_address, 16);
		memcpy(trigger->destination_address, alert->destination_address, 16);
		trigger->source_port = alert->source_port;
		trigger->destination_port = alert->destination_port;
		trigger->protocol = alert->protocol;
		trigger->key = (uint8_t)alert_key(alert, configured);
		return true;
	}
	if (record->header.type == STREAM_FLOW) {
		const struct flow_record *flow = &record->flow;

		trigger->time_ns = flow->last_ns;
		trigger->value = flow->packets + flow->reverse_packets;
		memcpy(trigger->source_address, flow->source_address, 16);
		memcpy(trigger->destination_address, flow->destination_address, 16);
		trigger->source_port = flow->source_port;
		trigger->destination_port = flow->destination_port;
		trigger->protocol = flow->protocol;
		trigger->key = (uint8_t)(configured == DUMP_KEY_AUTO ? DUMP_KEY_FLOW : configured);
		return true;
	}
	return false; /* the graph lets only alert and flow records in: never reached */
}

/* @p records: @p count records of @p type, packed at the ring's element size. */
static void
hand_over_triggers(struct kernel_instance *instance, const void *records, enum stream_type type,
		   unsigned count)
{
	struct history_state *state = instance->state;
	const struct history_params *params = instance->params;
	struct history_trigger triggers[KERNEL_BURST];
	unsigned element_size = stream_element_size(type), made = 0, enqueued;

	for (unsigned i = 0; i < count; i++) {
		union any_record record;

		memcpy(&record, (const uint8_t *)records + (size_t)i * element_size, element_size);
		if (trigger_of(&record, (enum dump_key)params->dump_key, &triggers[made]))
			made++;
	}
	enqueued = rte_ring_sp_enqueue_burst_elem(state->triggers, triggers, sizeof(triggers[0]),
						  made, NULL);
	state->triggers_received += made;
	state->triggers_dropped += made - enqueued;
}

static unsigned
history_process(struct kernel_instance *instance)
{
	struct history_state *state = instance->state;
	union {
		struct rte_mbuf *packets[KERNEL_BURST];
		union any_record records[KERNEL_BURST];
	} items;
	enum stream_type type = STREAM_NONE;
	unsigned budget = kernel_burst_budget(instance);
	unsigned received;

	if (budget == 0)
		return 0;
	received = kernel_receive(instance, &items, budget, &type);
	if (received == 0) {
		if (state->live_clock) /* a TSC read, on idle polls only */
			atomic_store_explicit(&state->input_empty_ns, kernel_now_ns(),
					      memory_order_release);
		return 0;
	}
	if (type != STREAM_PACKET) {
		hand_over_triggers(instance, items.records, type, received);
		return received;
	}
	for (unsigned i = 0; i < received; i++)
		hold_packet(&state->ring, items.packets[i]);
	kernel_emit_packets(instance, items.packets, received);
	return received;
}

/*
 * The inputs ended: tell the writer thread how (end of file, a stop, a
 * reload), and finish once it has closed every dump.
 */
static bool
history_flush(struct kernel_instance *instance)
{
	struct history_state *state = instance->state;
	int end = HISTORY_INPUT_ENDED;

	/* acquire: stored before the retired rings closed (runtime_begin_transition) */
	if (atomic_load_explicit(&instance->retiring, memory_order_acquire))
		end = HISTORY_RETIRING;
	else if (kernel_should_stop(instance))
		end = HISTORY_STOPPING;
	if (atomic_load_explicit(&state->end, memory_order_relaxed) == HISTORY_RUNNING)
		atomic_store_explicit(&state->end, end, memory_order_release);
	return atomic_load_explicit(&state->writer_done, memory_order_acquire);
}

/* ---- init, stats, destroy ------------------------------------------------ */

static void
free_state(struct history_state *state)
{
	struct dump *dump = state->dumps;

	while (dump != NULL) {
		struct dump *next = dump->next;

		packet_filter_free(dump->rule.filter);
		free(dump);
		dump = next;
	}
	rte_ring_free(state->triggers);
	history_ring_free(&state->ring);
	free(state->read_buffer);
	output_wakeup_destroy(&state->wakeup);
	pthread_mutex_destroy(&state->lock);
	free(state);
}

static int
start_writer(struct kernel_instance *instance, struct history_state *state)
{
	char name[RTE_RING_NAMESIZE];
	int result;

	snprintf(name, sizeof(name), "history_%p", (void *)state);
	state->triggers = rte_ring_create_elem(name, sizeof(struct history_trigger),
					       HISTORY_TRIGGER_RING_SIZE, SOCKET_ID_ANY,
					       RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
	if (state->triggers == NULL) {
		snprintf(instance->error, sizeof(instance->error),
			 "cannot create the trigger ring: %s", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	state->read_buffer = malloc(state->ring.chunk_size);
	if (state->read_buffer == NULL)
		return -ENOMEM;
	result = output_thread_start(&state->thread, history_writer_main, state, instance->name);
	if (result < 0) {
		snprintf(instance->error, sizeof(instance->error),
			 "cannot start the writer thread: %s", strerror(-result));
		return result;
	}
	state->thread_started = true;
	return 0;
}

static int
history_init(struct kernel_instance *instance)
{
	const struct history_params *params = instance->params;
	struct history_state *state = calloc(1, sizeof(*state));
	int result;

	if (state == NULL)
		return -ENOMEM;
	state->params = params;
	state->name = instance->name;
	state->live_clock = instance->live_clock;
	pthread_mutex_init(&state->lock, NULL);
	result = output_wakeup_init(&state->wakeup);
	if (result == 0)
		result = history_ring_create(&state->ring, params->memory, (uint32_t)params->snaplen,
					     instance->error, sizeof(instance->error));
	if (result == -EINVAL)
		instance->error_key = "memory";
	if (result == 0)
		result = start_writer(instance, state);
	if (result < 0) {
		free_state(state);
		return result;
	}
	instance->state = state;
	return 0;
}

static unsigned
history_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	struct history_state *state = instance->state;
	struct history_ring *ring = &state->ring;
	uint64_t oldest = history_ring_oldest_ns(ring);
	uint64_t newest = atomic_load_explicit(&ring->newest_ns, memory_order_relaxed);
	unsigned count = 0;

	stats[count++] = (struct kernel_stat){"held_packets", atomic_load(&ring->held_packets)};
	stats[count++] = (struct kernel_stat){"held_bytes", atomic_load(&ring->held_bytes)};
	stats[count++] = (struct kernel_stat){"held_span_ns", oldest > 0 && newest > oldest ? newest - oldest : 0};
	stats[count++] = (struct kernel_stat){"overwritten", atomic_load(&ring->overwritten)};
	stats[count++] = (struct kernel_stat){"triggers", state->triggers_received};
	stats[count++] = (struct kernel_stat){"triggers_dropped", state->triggers_dropped};
	stats[count++] = (struct kernel_stat){"triggers_merged", state->triggers_merged};
	stats[count++] = (struct kernel_stat){"triggers_refused", state->triggers_refused};
	stats[count++] = (struct kernel_stat){"dumps", state->dumps_started};
	stats[count++] = (struct kernel_stat){"dumps_done", state->dumps_done};
	stats[count++] = (struct kernel_stat){"dumps_cut", state->dumps_cut};
	stats[count++] = (struct kernel_stat){"dumps_failed", state->dumps_failed};
	stats[count++] = (struct kernel_stat){"dumps_short", state->dumps_short};
	stats[count++] = (struct kernel_stat){"dump_packets", state->dump_packets};
	stats[count++] = (struct kernel_stat){"dump_overwritten", state->dump_lost};
	return count;
}

static void
history_destroy(struct kernel_instance *instance)
{
	struct history_state *state = instance->state;

	if (state == NULL)
		return;
	if (state->thread_started) {
		output_wakeup_signal(&state->wakeup, true, true);
		pthread_join(state->thread, NULL);
	}
	free_state(state);
	instance->state = NULL;
}

const struct kernel_ops history_kernel = {
	.name = "history",
	.description = "Keeps the most recent packets in memory and dumps those of a trigger's key, "
		       "before and after it, to pcapng files; packets pass through unchanged",
	.input_type = STREAM_PACKET,
	.output_type = STREAM_PACKET,
	.params_size = sizeof(struct history_params),
	.config_map = history_fields,
	.check = history_check,
	.init = history_init,
	.process = history_process,
	.flush = history_flush,
	.stats = history_stats,
	.destroy = history_destroy,
};
