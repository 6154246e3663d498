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
#include <time.h>

#include <rte_errno.h>
#include <rte_ring.h>

#include "kernel.h"
#include "kernels/history.h"
#include "kernels/history_ring.h"
#include "log_journal.h"
#include "outputs/output_thread.h"
#include "outputs/pcapng_writer.h"
#include "packet.h"
#include "packet_filter.h"

#define NS_PER_SECOND UINT64_C(1000000000)
#define NS_PER_MINUTE (60 * NS_PER_SECOND)

/*
 * A rule ends once a packet this much newer than its end was read: packets
 * of one input arrive in time order, but a capture merged from several
 * queues or taps may be out of order by a few milliseconds.
 */
#define HISTORY_REORDER_SLACK_NS (100ull * 1000 * 1000)

/* The writer thread looks for triggers and new packets this often (the worker never wakes it). */
#define HISTORY_WRITER_POLL_NS (10ull * 1000 * 1000)

/*
 * Chunks one dump reads per round of the writer: a dump that cannot keep up
 * (a slow disk) leaves the others, the triggers and a stop their turn.
 */
#define HISTORY_READS_PER_ROUND 8u

/* Finished dumps whose status is kept for the control socket (the newest). */
#define HISTORY_FINISHED_KEPT 64u

/* Triggers waiting for the writer thread; more in one poll are counted as dropped. */
#define HISTORY_TRIGGER_RING_SIZE 1024

/* At most one line a while about refused triggers, with the count since the last one. */
#define HISTORY_REFUSED_LOG_INTERVAL_NS (10ull * NS_PER_SECOND)

enum dump_key {
	DUMP_KEY_AUTO = 0, /* the record's own: an alert's key, a flow's 5-tuple */
	DUMP_KEY_SOURCE,
	DUMP_KEY_DESTINATION,
	DUMP_KEY_SOURCE_DESTINATION,
	DUMP_KEY_FLOW,
};

static const char *const dump_key_names[] = {"auto", "src", "dst", "src_dst", "flow", NULL};

struct history_params {
	uint64_t memory;
	uint64_t snaplen;
	uint64_t seconds_ns;
	uint64_t before_ns;
	uint64_t after_ns;
	uint64_t max_dumps;
	uint64_t dumps_per_minute;
	uint32_t dump_key; /* enum dump_key */
	uint32_t reserved;
	char dump_dir[1024];
};

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

/* What the worker hands the writer thread for one trigger record (by value, in an rte_ring). */
struct history_trigger {
	uint64_t time_ns;
	uint64_t value;                  /* an alert's value, a flow's packets */
	const char *kernel;              /* the record's emitting instance (interned) */
	uint8_t source_address[16];
	uint8_t destination_address[16];
	uint16_t source_port, destination_port;
	uint8_t protocol;
	uint8_t key;                     /* enum dump_key, resolved (never AUTO) */
	uint8_t record_type;             /* enum stream_type */
	uint8_t reserved;
};

_Static_assert(sizeof(struct history_trigger) % 4 == 0, "rte_ring elements are 4-byte multiples");

/* What a rule matches: a tcpdump filter, or a key of the packet's addresses. */
struct dump_rule {
	struct packet_filter *filter;    /* NULL: the key */
	uint8_t key;                     /* enum dump_key, for key rules */
	uint8_t protocol;
	uint16_t source_port, destination_port;
	bool ports;                      /* flow keys: the ports and protocol count */
	uint8_t source_address[16];
	uint8_t destination_address[16];
	uint64_t trigger_ns, start_ns, end_ns;
};

struct dump {
	struct dump *next;               /* set before the dump is listed, never changed */
	uint64_t id;
	struct dump_rule rule;
	char description[2048];          /* what the file's comment says before the outcome */
	/* writer thread only */
	struct pcapng_writer file;
	struct history_cursor cursor;
	bool started;                    /* the cursor was placed */
	bool start_lost;                 /* the ring no longer held the range's start */
	bool start_clipped;              /* `seconds:` kept the range from reaching back further */
	uint64_t oldest_ns;              /* where the held packets began then */
	uint64_t lost;                   /* ring packets overwritten before the writer read them */
	uint64_t merged;                 /* further triggers for this key while it was open */
	uint64_t opened_ns;              /* wall clock when the file was opened, for the log */
	/* lock: the writer thread writes, the control thread reads */
	struct history_dump_status status;
};

enum history_end {
	HISTORY_RUNNING = 0,
	HISTORY_INPUT_ENDED, /* offline end of file: open dumps are done */
	HISTORY_STOPPING,    /* the daemon stops: open dumps are cut */
	HISTORY_RETIRING,    /* a reload removed or replaced the instance: cut */
	HISTORY_DESTROYED,   /* destroyed without a flush (a failed start): cut */
};

struct history_state {
	struct history_ring ring;
	struct rte_ring *triggers;       /* dp: enqueue, writer: dequeue */
	const struct history_params *params;
	const char *name;
	bool live_clock;

	/*
	 * dp: wo (release), writer: ro (acquire). The wall clock when the worker
	 * last found every input empty: every packet stamped before it is in the
	 * ring (live dumps end by it when no later packet comes).
	 */
	_Atomic uint64_t input_empty_ns;

	/* dp: wo, cp: ro. */
	uint64_t triggers_received;
	uint64_t triggers_dropped;       /* the trigger ring was full: the one place they drop */

	/* writer thread: wo, cp: ro (single-word stores). */
	uint64_t triggers_merged;
	uint64_t triggers_refused;       /* the limits (max_dumps, dumps_per_minute) */
	uint64_t dumps_done, dumps_cut, dumps_failed, dumps_short;
	uint64_t dump_packets;           /* packets written to dump files */
	uint64_t dump_lost;              /* ring packets overwritten before a dump read them */

	atomic_int end;                  /* enum history_end; dp or cp: wo (release), writer: ro */
	atomic_bool writer_done;         /* writer: wo (release) once every dump closed after the end */

	pthread_t thread;
	bool thread_started;             /* cp only */
	struct output_wakeup wakeup;
	uint8_t *read_buffer;            /* writer thread only: one chunk */
	uint64_t refused_since_log;      /* writer thread only */
	uint64_t refused_logged_ns;      /* writer thread only */

	pthread_mutex_t lock;            /* the dumps list and the limits below */
	/*
	 * lock: newest first. The writer thread walks it without the lock (only
	 * it unlinks, under the lock, and the control thread only prepends);
	 * finished dumps beyond HISTORY_FINISHED_KEPT are unlinked and freed.
	 */
	struct dump *dumps;
	uint64_t dumps_started;          /* lock (cp reads it without: a single word) */
	unsigned open_dumps;             /* lock */
	uint64_t minute_start_ns;        /* lock: packet time the current minute began */
	uint64_t minute_dumps;           /* lock: dumps opened in it */
};

/*
 * Dump ids are the daemon's, not an instance's: a reload that replaces a
 * history kernel starts a new instance, and a client waiting on a dump of the
 * old one must not be answered about another dump with the same number.
 */
static _Atomic uint64_t history_last_dump_id;

static uint64_t
next_dump_id(void)
{
	return atomic_fetch_add_explicit(&history_last_dump_id, 1, memory_order_relaxed) + 1;
}

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

	if (atomic_load_explicit(&instance->retiring, memory_order_relaxed))
		end = HISTORY_RETIRING;
	else if (kernel_should_stop(instance))
		end = HISTORY_STOPPING;
	if (atomic_load_explicit(&state->end, memory_order_relaxed) == HISTORY_RUNNING)
		atomic_store_explicit(&state->end, end, memory_order_release);
	return atomic_load_explicit(&state->writer_done, memory_order_acquire);
}

/* ---- rules and files (writer and control threads) ------------------------- */

/* "2016-01-01T00:00:03.000000000Z", or the compact file-name form without - and :. */
static void
format_time(uint64_t time_ns, bool compact, char *text, size_t size)
{
	time_t seconds = (time_t)(time_ns / NS_PER_SECOND);
	struct tm utc;
	char date[32];

	gmtime_r(&seconds, &utc);
	strftime(date, sizeof(date), compact ? "%Y%m%dT%H%M%S" : "%Y-%m-%dT%H:%M:%S", &utc);
	snprintf(text, size, "%s.%09" PRIu64 "Z", date, time_ns % NS_PER_SECOND);
}

/* An address for a file name: IPv6's colons become dots' neighbours, '_'. */
static void
format_address_for_name(const uint8_t address[16], char *text, size_t size)
{
	packet_address_format(address, text, size);
	for (char *c = text; *c != '\0'; c++)
		if (*c == ':')
			*c = '_';
}

/* The key part of a file name and comment: "dst-203.0.113.9", "flow-a.1-b.2-6". */
static void
format_key(const struct dump_rule *rule, bool for_name, char *text, size_t size)
{
	char source[64], destination[64];

	if (for_name) {
		format_address_for_name(rule->source_address, source, sizeof(source));
		format_address_for_name(rule->destination_address, destination, sizeof(destination));
	} else {
		packet_address_format(rule->source_address, source, sizeof(source));
		packet_address_format(rule->destination_address, destination, sizeof(destination));
	}
	switch (rule->key) {
	case DUMP_KEY_SOURCE: snprintf(text, size, "src-%s", source); break;
	case DUMP_KEY_DESTINATION: snprintf(text, size, "dst-%s", destination); break;
	case DUMP_KEY_SOURCE_DESTINATION:
		snprintf(text, size, "src_dst-%s-%s", source, destination);
		break;
	default:
		snprintf(text, size, "flow-%s.%u-%s.%u-%u", source, rule->source_port, destination,
			 rule->destination_port, rule->protocol);
		break;
	}
}

static void
rule_range(struct dump_rule *rule, uint64_t trigger_ns, uint64_t before_ns, uint64_t after_ns)
{
	rule->trigger_ns = trigger_ns;
	rule->start_ns = trigger_ns > before_ns ? trigger_ns - before_ns : 0;
	rule->end_ns = trigger_ns + after_ns;
}

static bool
same_key(const struct dump_rule *a, const struct dump_rule *b)
{
	if (a->filter != NULL || b->filter != NULL || a->key != b->key)
		return false;
	return memcmp(a->source_address, b->source_address, 16) == 0 &&
	       memcmp(a->destination_address, b->destination_address, 16) == 0 &&
	       a->source_port == b->source_port && a->destination_port == b->destination_port &&
	       a->protocol == b->protocol;
}

/*
 * Under the lock: may one more dump open at @p trigger_ns? Counts it when it
 * may. @return NULL, or why not.
 */
static const char *
admit_dump(struct history_state *state, uint64_t trigger_ns)
{
	if (state->open_dumps >= state->params->max_dumps)
		return "max_dumps dumps are being written";
	/*
	 * A trigger older than the minute's start (alerts and flows of other
	 * kernels interleave out of order) counts in the current minute: only a
	 * later one starts the next, so the limit holds whatever the order.
	 */
	if (trigger_ns >= state->minute_start_ns + NS_PER_MINUTE) {
		state->minute_start_ns = trigger_ns;
		state->minute_dumps = 0;
	}
	if (state->minute_dumps >= state->params->dumps_per_minute)
		return "dumps_per_minute dumps were opened in the last minute";
	state->minute_dumps++;
	state->open_dumps++;
	return NULL;
}

static void
publish_dump(struct history_state *state, struct dump *dump)
{
	dump->status.state = HISTORY_DUMP_RUNNING;
	dump->opened_ns = kernel_now_ns();
	snprintf(dump->status.path, sizeof(dump->status.path), "%s", dump->file.path);
	dump->next = state->dumps;
	state->dumps = dump;
	state->dumps_started++; /* counted once the file is open: a counter never goes down */
}

/* Give back an admitted slot whose file could not be opened (under the lock). */
static void
release_slot(struct history_state *state)
{
	state->open_dumps--;
	if (state->minute_dumps > 0) /* the minute may have turned since the admission */
		state->minute_dumps--;
}

static void
describe_range(const struct dump_rule *rule, char *text, size_t size)
{
	char trigger[40], start[40], end[40];

	format_time(rule->trigger_ns, false, trigger, sizeof(trigger));
	format_time(rule->start_ns, false, start, sizeof(start));
	format_time(rule->end_ns, false, end, sizeof(end));
	snprintf(text, size,
		 "trigger time: %s (%" PRIu64 " ns)\nrange: %s to %s (%" PRIu64 " to %" PRIu64
		 " ns)\n",
		 trigger, rule->trigger_ns, start, end, rule->start_ns, rule->end_ns);
}

static const char *const outcome_pending = "outcome: still being written (unfinished)\n";

/* Open the file of @p dump at @p path; its comment says what it is and that it is unfinished. */
static int
open_dump_file(struct history_state *state, struct dump *dump, const char *path, char *error,
	       size_t error_size)
{
	char comment[PCAPNG_COMMENT_CAPACITY];

	snprintf(comment, sizeof(comment), "%s%s", dump->description, outcome_pending);
	return pcapng_writer_open(&dump->file, path, state->ring.snaplen, comment, error,
				  error_size);
}

static void
log_refused(struct history_state *state, const struct history_trigger *trigger, const char *why)
{
	uint64_t now = kernel_now_ns();

	state->triggers_refused++;
	state->refused_since_log++;
	if (state->refused_logged_ns != 0 &&
	    now - state->refused_logged_ns < HISTORY_REFUSED_LOG_INTERVAL_NS)
		return;
	log_kernel(LOG_LEVEL_WARNING, state->name,
		   "a trigger from '%s' opened no dump: %s (%" PRIu64
		   " refused since the last such line, %" PRIu64 " in all)",
		   trigger->kernel, why, state->refused_since_log, state->triggers_refused);
	state->refused_logged_ns = now;
	state->refused_since_log = 0;
}

/* Under the lock: the open dump of @p rule's key, if any. */
static struct dump *
open_dump_of(struct history_state *state, const struct dump_rule *rule)
{
	for (struct dump *dump = state->dumps; dump != NULL; dump = dump->next)
		if (dump->status.state == HISTORY_DUMP_RUNNING && same_key(&dump->rule, rule))
			return dump;
	return NULL;
}

static void
rule_of_trigger(const struct history_state *state, const struct history_trigger *trigger,
		struct dump_rule *rule)
{
	memset(rule, 0, sizeof(*rule));
	rule->key = trigger->key;
	if (rule->key == DUMP_KEY_SOURCE || rule->key == DUMP_KEY_SOURCE_DESTINATION ||
	    rule->key == DUMP_KEY_FLOW)
		memcpy(rule->source_address, trigger->source_address, 16);
	if (rule->key != DUMP_KEY_SOURCE)
		memcpy(rule->destination_address, trigger->destination_address, 16);
	if (rule->key == DUMP_KEY_FLOW) {
		rule->ports = true;
		rule->source_port = trigger->source_port;
		rule->destination_port = trigger->destination_port;
		rule->protocol = trigger->protocol;
	}
	rule_range(rule, trigger->time_ns, state->params->before_ns, state->params->after_ns);
}

static void
describe_trigger(const struct history_state *state, const struct history_trigger *trigger,
		 struct dump *dump)
{
	char key[160], range[256];

	format_key(&dump->rule, false, key, sizeof(key));
	describe_range(&dump->rule, range, sizeof(range));
	snprintf(dump->description, sizeof(dump->description),
		 "jetstream history dump by kernel '%s'\ntrigger: %s record from '%s' (value %" PRIu64
		 ")\nkey: %s\n%s",
		 state->name, trigger->record_type == STREAM_FLOW ? "flow" : "alert", trigger->kernel,
		 trigger->value, key, range);
}

static void
open_trigger_dump(struct history_state *state, const struct history_trigger *trigger)
{
	struct dump *dump = calloc(1, sizeof(*dump));
	char key[160], time[40], path[4096], error[512];
	const char *refusal;
	struct dump *open;

	if (dump == NULL) {
		log_refused(state, trigger, "out of memory");
		return;
	}
	rule_of_trigger(state, trigger, &dump->rule);
	pthread_mutex_lock(&state->lock);
	open = open_dump_of(state, &dump->rule);
	if (open != NULL) {
		open->merged++;
		state->triggers_merged++;
		pthread_mutex_unlock(&state->lock);
		free(dump);
		return;
	}
	refusal = admit_dump(state, trigger->time_ns);
	if (refusal != NULL) {
		pthread_mutex_unlock(&state->lock);
		log_refused(state, trigger, refusal);
		free(dump);
		return;
	}
	dump->id = next_dump_id();
	pthread_mutex_unlock(&state->lock);

	describe_trigger(state, trigger, dump);
	format_key(&dump->rule, true, key, sizeof(key));
	format_time(trigger->time_ns, true, time, sizeof(time));
	snprintf(path, sizeof(path), "%s/%s-%s-%s.pcapng", state->params->dump_dir, state->name, time,
		 key);
	if (open_dump_file(state, dump, path, error, sizeof(error)) < 0) {
		log_kernel(LOG_LEVEL_ERROR, state->name, "no dump for a trigger from '%s': %s",
			   trigger->kernel, error);
		pthread_mutex_lock(&state->lock);
		release_slot(state);
		pthread_mutex_unlock(&state->lock);
		state->dumps_failed++;
		free(dump);
		return;
	}
	log_kernel(LOG_LEVEL_INFO, state->name, "dump %" PRIu64 " opened: %s", dump->id, path);
	pthread_mutex_lock(&state->lock);
	publish_dump(state, dump);
	pthread_mutex_unlock(&state->lock);
}

static void
take_triggers(struct history_state *state)
{
	struct history_trigger triggers[KERNEL_BURST];
	unsigned count;

	while ((count = rte_ring_sc_dequeue_burst_elem(state->triggers, triggers,
						       sizeof(triggers[0]), KERNEL_BURST, NULL)) > 0)
		for (unsigned i = 0; i < count; i++)
			open_trigger_dump(state, &triggers[i]);
}

/* Does the held packet match @p rule's key? Parsed again: the one parser, the same addresses. */
static bool
key_matches(const struct dump_rule *rule, const struct history_record *record)
{
	struct packet_meta meta;
	bool forward, reverse;

	packet_parse(record->data, record->captured_length, &meta);
	if (meta.ip_version == 0)
		return false;
	switch (rule->key) {
	case DUMP_KEY_SOURCE: return memcmp(meta.source_address, rule->source_address, 16) == 0;
	case DUMP_KEY_DESTINATION:
		return memcmp(meta.destination_address, rule->destination_address, 16) == 0;
	case DUMP_KEY_SOURCE_DESTINATION:
		return memcmp(meta.source_address, rule->source_address, 16) == 0 &&
		       memcmp(meta.destination_address, rule->destination_address, 16) == 0;
	default:
		break;
	}
	if (meta.protocol != rule->protocol)
		return false;
	forward = memcmp(meta.source_address, rule->source_address, 16) == 0 &&
		  memcmp(meta.destination_address, rule->destination_address, 16) == 0 &&
		  (!(meta.flags & PACKET_FLAG_HAS_PORTS) ||
		   (meta.source_port == rule->source_port &&
		    meta.destination_port == rule->destination_port));
	reverse = memcmp(meta.source_address, rule->destination_address, 16) == 0 &&
		  memcmp(meta.destination_address, rule->source_address, 16) == 0 &&
		  (!(meta.flags & PACKET_FLAG_HAS_PORTS) ||
		   (meta.source_port == rule->destination_port &&
		    meta.destination_port == rule->source_port));
	return forward || reverse;
}

static bool
rule_matches(const struct dump_rule *rule, const struct history_record *record)
{
	if (rule->filter != NULL)
		return packet_filter_match_bytes(rule->filter, record->data, record->captured_length,
						 record->wire_length);
	return key_matches(rule, record);
}

/* Place the dump's cursor at its range's start, noting when the ring no longer holds it. */
static void
start_dump(struct history_state *state, struct dump *dump)
{
	uint64_t start = dump->rule.start_ns;
	uint64_t newest = atomic_load_explicit(&state->ring.newest_ns, memory_order_relaxed);
	struct history_seek seek;

	if (state->params->seconds_ns > 0 && newest > state->params->seconds_ns &&
	    newest - state->params->seconds_ns > start) {
		start = newest - state->params->seconds_ns;
		dump->start_clipped = true;
		dump->oldest_ns = start;
	}
	history_ring_seek(&state->ring, start, &dump->cursor, &seek);
	if (seek.start_lost) {
		dump->start_lost = true;
		dump->oldest_ns = seek.oldest_ns;
	}
	dump->rule.start_ns = start;
	dump->started = true;
}

/* Where a dump stands after a round of writing. */
enum dump_progress {
	DUMP_BEHIND = 0,  /* the round's budget was spent: more is held to read */
	DUMP_CAUGHT_UP,   /* every packet held was read; the range goes on */
	DUMP_PASSED,      /* the range's end has passed: every packet of it was written */
};

/* Write what the ring holds of the dump's range, at most HISTORY_READS_PER_ROUND chunks. */
static enum dump_progress
advance_dump(struct history_state *state, struct dump *dump, int *failure)
{
	const struct dump_rule *rule = &dump->rule;
	/*
	 * Live, packets carry the wall clock: once the worker found its inputs
	 * empty after the range's end (and the slack), every packet of the range
	 * is in the ring and this read reaches it, even when no later packet
	 * comes. (The clock alone would not do: packets may wait in a ring
	 * upstream for longer than the slack.)
	 */
	bool passed_by_clock =
		state->live_clock &&
		atomic_load_explicit(&state->input_empty_ns, memory_order_acquire) >
			rule->end_ns + HISTORY_REORDER_SLACK_NS;
	uint64_t written = 0;
	bool passed = false, drained = false;

	if (!dump->started)
		start_dump(state, dump);
	for (unsigned reads = 0; !passed && *failure == 0 && reads < HISTORY_READS_PER_ROUND;
	     reads++) {
		struct history_read read = history_ring_read(&state->ring, &dump->cursor,
							     state->read_buffer,
							     state->ring.chunk_size);

		dump->lost += read.lost;
		state->dump_lost += read.lost;
		if (read.length == 0 && read.lost == 0) {
			drained = true; /* nothing newer held yet */
			break;
		}
		for (uint32_t offset = 0; offset < read.length && *failure == 0;) {
			const struct history_record *record =
				history_record_at(state->read_buffer, offset);

			offset += history_record_size(record->captured_length);
			if (record->timestamp_ns > rule->end_ns + HISTORY_REORDER_SLACK_NS)
				passed = true;
			if (record->timestamp_ns < rule->start_ns || record->timestamp_ns > rule->end_ns ||
			    !rule_matches(rule, record))
				continue;
			*failure = pcapng_writer_packet(&dump->file, record->timestamp_ns,
							record->wire_length, record->data,
							record->captured_length);
			written += *failure == 0;
		}
	}
	state->dump_packets += written;
	pthread_mutex_lock(&state->lock);
	dump->status.packets = dump->file.packets;
	dump->status.overwritten = dump->lost;
	pthread_mutex_unlock(&state->lock);
	if (passed || (passed_by_clock && drained))
		return DUMP_PASSED;
	return drained ? DUMP_CAUGHT_UP : DUMP_BEHIND;
}

static const char *
end_reason(int end)
{
	switch (end) {
	case HISTORY_STOPPING: return "the daemon stopped before the range's end";
	case HISTORY_RETIRING: return "a reload removed or replaced the history kernel before the range's end";
	case HISTORY_DESTROYED: return "the history kernel was destroyed before the range's end";
	default: return "";
	}
}

/* The outcome lines of the file's comment, and the note of the status and the log. */
static void
describe_outcome(const struct dump *dump, enum history_dump_state outcome, const char *reason,
		 char *note, size_t note_size, char *text, size_t size)
{
	size_t used = 0;
	char oldest[40];

	note[0] = '\0';
	if (dump->start_lost || dump->start_clipped) {
		format_time(dump->oldest_ns, false, oldest, sizeof(oldest));
		used += (size_t)snprintf(
			note + used, note_size - used,
			"%s %s (%" PRIu64
			" ns), after the range's start; the dump holds the newest part of the range; ",
			dump->start_lost ? "cut by memory: the packets held began at"
					 : "cut by the seconds: bound: the dump begins at",
			oldest, dump->oldest_ns);
	}
	if (dump->lost > 0 && used < note_size)
		used += (size_t)snprintf(note + used, note_size - used,
					 "%" PRIu64 " packets of the ring (matching or not) were "
					 "overwritten before they were written; ",
					 dump->lost);
	if (dump->merged > 0 && used < note_size)
		used += (size_t)snprintf(note + used, note_size - used,
					 "%" PRIu64 " further triggers for this key were merged into it; ",
					 dump->merged);
	used = strlen(note);
	if (used >= 2 && strcmp(note + used - 2, "; ") == 0)
		note[used - 2] = '\0'; /* each part ends with "; ": not the last */
	snprintf(text, size, "outcome: %s%s%s\npackets written: %" PRIu64
		 "\npackets overwritten before written: %" PRIu64 "\n%s%s",
		 outcome == HISTORY_DUMP_DONE ? "done" : outcome == HISTORY_DUMP_CUT ? "cut" : "failed",
		 reason[0] != '\0' ? ": " : "", reason, dump->file.packets, dump->lost,
		 note[0] != '\0' ? "note: " : "", note);
}

/* Write the outcome into the file, rename it, and say so. */
static void
close_dump(struct history_state *state, struct dump *dump, enum history_dump_state outcome,
	   const char *reason)
{
	char note[1024], text[1536], comment[PCAPNG_COMMENT_CAPACITY], error[512];

	describe_outcome(dump, outcome, reason, note, sizeof(note), text, sizeof(text));
	snprintf(comment, sizeof(comment), "%s%s", dump->description, text);
	packet_filter_free(dump->rule.filter); /* a finished dump keeps only its status */
	dump->rule.filter = NULL;
	if (outcome == HISTORY_DUMP_FAILED) {
		pcapng_writer_abandon(&dump->file);
	} else if (pcapng_writer_close(&dump->file, comment, error, sizeof(error)) < 0) {
		outcome = HISTORY_DUMP_FAILED;
		reason = error;
	}
	if (outcome == HISTORY_DUMP_FAILED)
		state->dumps_failed++;
	else if (outcome == HISTORY_DUMP_CUT)
		state->dumps_cut++;
	else
		state->dumps_done++;
	bool shorter = dump->start_lost || dump->start_clipped || dump->lost > 0;

	state->dumps_short += shorter;
	log_kernel(outcome == HISTORY_DUMP_DONE && !shorter ? LOG_LEVEL_INFO : LOG_LEVEL_WARNING,
		   state->name, "dump %" PRIu64 " %s%s%s%s: %s, %" PRIu64 " packets in %.3f s%s%s", dump->id,
		   outcome == HISTORY_DUMP_DONE ? "done" : outcome == HISTORY_DUMP_CUT ? "cut" : "failed",
		   reason[0] != '\0' ? " (" : "", reason, reason[0] != '\0' ? ")" : "", dump->file.path,
		   dump->file.packets, (double)(kernel_now_ns() - dump->opened_ns) / 1e9,
		   note[0] != '\0' ? "; " : "", note);
	pthread_mutex_lock(&state->lock);
	dump->status.state = outcome;
	dump->status.packets = dump->file.packets;
	dump->status.overwritten = dump->lost;
	snprintf(dump->status.reason, sizeof(dump->status.reason), "%s%s%s", reason,
		 reason[0] != '\0' && note[0] != '\0' ? "; " : "", note);
	state->open_dumps--;
	pthread_mutex_unlock(&state->lock);
}

static struct dump *
listed_dumps(struct history_state *state)
{
	struct dump *first;

	pthread_mutex_lock(&state->lock);
	first = state->dumps;
	pthread_mutex_unlock(&state->lock);
	return first;
}

/* Unlink and free the finished dumps beyond the newest HISTORY_FINISHED_KEPT (writer thread). */
static void
forget_old_dumps(struct history_state *state)
{
	struct dump **link = &state->dumps, *dump;
	unsigned finished = 0;

	pthread_mutex_lock(&state->lock);
	while ((dump = *link) != NULL) {
		if (dump->status.state != HISTORY_DUMP_RUNNING &&
		    ++finished > HISTORY_FINISHED_KEPT) {
			*link = dump->next;
			free(dump);
			continue;
		}
		link = &dump->next;
	}
	pthread_mutex_unlock(&state->lock);
}

/*
 * One round of the writer: new triggers, then every open dump as far as its
 * budget goes. @return the dumps still open.
 */
static unsigned
write_round(struct history_state *state, int end)
{
	unsigned running = 0;

	take_triggers(state);
	for (struct dump *dump = listed_dumps(state); dump != NULL; dump = dump->next) {
		enum dump_progress progress;
		int failure = 0;
		char reason[256];

		if (dump->status.state != HISTORY_DUMP_RUNNING)
			continue; /* only this thread changes it: read without the lock */
		progress = advance_dump(state, dump, &failure);
		if (failure != 0) {
			snprintf(reason, sizeof(reason), "cannot write %s: %s", dump->file.part_path,
				 strerror(-failure));
			close_dump(state, dump, HISTORY_DUMP_FAILED, reason);
		} else if (progress == DUMP_PASSED) {
			close_dump(state, dump, HISTORY_DUMP_DONE, "");
		} else if (end == HISTORY_INPUT_ENDED && progress == DUMP_CAUGHT_UP) {
			close_dump(state, dump, HISTORY_DUMP_DONE, "the input ended");
		} else if (end != HISTORY_RUNNING && end != HISTORY_INPUT_ENDED) {
			close_dump(state, dump, HISTORY_DUMP_CUT, end_reason(end));
		} else {
			running++;
		}
	}
	forget_old_dumps(state);
	return running;
}

/* The worker never signals (that would be a syscall): the writer polls. */
static bool
never_ready(const void *context)
{
	(void)context;
	return false;
}

static void *
writer_main(void *argument)
{
	struct history_state *state = argument;

	for (;;) {
		struct output_requests requests =
			output_wakeup_wait(&state->wakeup, HISTORY_WRITER_POLL_NS, never_ready, NULL);
		int end = atomic_load_explicit(&state->end, memory_order_acquire);

		unsigned running;

		if (requests.closing && end == HISTORY_RUNNING)
			end = HISTORY_DESTROYED;
		running = write_round(state, end);
		if (end != HISTORY_RUNNING && running == 0)
			atomic_store_explicit(&state->writer_done, true, memory_order_release);
		/* closing stays set: the waits return at once until the last dump closed */
		if (requests.closing && running == 0)
			return NULL;
	}
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
	result = output_thread_start(&state->thread, writer_main, state, instance->name);
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

/* ---- the control thread's dumps (history.h) ------------------------------ */

static uint64_t
control_trigger_time(struct history_state *state)
{
	if (state->live_clock)
		return kernel_now_ns();
	return atomic_load_explicit(&state->ring.newest_ns, memory_order_relaxed);
}

static void
describe_request(const struct history_state *state, const struct history_dump_request *request,
		 struct dump *dump)
{
	char range[256];

	describe_range(&dump->rule, range, sizeof(range));
	snprintf(dump->description, sizeof(dump->description),
		 "jetstream history dump by kernel '%s'\ntrigger: the control socket (dump %" PRIu64
		 ")\nfilter: %s\n%s",
		 state->name, dump->id,
		 request->filter != NULL && request->filter[0] != '\0' ? request->filter
									 : "(every packet)",
		 range);
}

static int
compile_request(const struct history_dump_request *request, struct dump *dump, char *error,
		size_t error_size)
{
	const char *expression = request->filter != NULL ? request->filter : "";

	return packet_filter_compile(expression, PACKET_FILTER_JIT, &dump->rule.filter, error,
				     error_size);
}

int
history_dump_start(struct kernel_instance *instance, const struct history_dump_request *request,
		   uint64_t *dump_id, char *path, size_t path_size, char *error, size_t error_size)
{
	struct history_state *state = instance->state;
	struct dump *dump = calloc(1, sizeof(*dump));
	char time[40], file[4096];
	const char *refusal;
	int result;

	if (dump == NULL)
		return -ENOMEM;
	result = compile_request(request, dump, error, error_size);
	if (result < 0) {
		free(dump);
		return result;
	}
	rule_range(&dump->rule, control_trigger_time(state), request->before_ns, request->after_ns);
	pthread_mutex_lock(&state->lock);
	refusal = admit_dump(state, dump->rule.trigger_ns);
	if (refusal == NULL)
		dump->id = next_dump_id();
	pthread_mutex_unlock(&state->lock);
	if (refusal != NULL) {
		snprintf(error, error_size, "%s", refusal);
		packet_filter_free(dump->rule.filter);
		free(dump);
		return -EBUSY;
	}
	describe_request(state, request, dump);
	format_time(dump->rule.trigger_ns, true, time, sizeof(time));
	if (request->path != NULL)
		snprintf(file, sizeof(file), "%s", request->path);
	else
		snprintf(file, sizeof(file), "%s/%s-%s-dump%" PRIu64 ".pcapng",
			 state->params->dump_dir, state->name, time, dump->id);
	result = open_dump_file(state, dump, file, error, error_size);
	pthread_mutex_lock(&state->lock);
	if (result < 0)
		release_slot(state);
	else
		publish_dump(state, dump);
	pthread_mutex_unlock(&state->lock);
	if (result < 0) {
		packet_filter_free(dump->rule.filter);
		free(dump);
		return result;
	}
	*dump_id = dump->id;
	snprintf(path, path_size, "%s", file);
	log_kernel(LOG_LEVEL_INFO, state->name, "dump %" PRIu64 " opened from the control socket: %s",
		   dump->id, file);
	return 0;
}

int
history_dump_status(struct kernel_instance *instance, uint64_t dump_id,
		    struct history_dump_status *status)
{
	struct history_state *state = instance->state;
	int result = -ENOENT;

	pthread_mutex_lock(&state->lock);
	for (struct dump *dump = state->dumps; dump != NULL; dump = dump->next)
		if (dump->id == dump_id) {
			*status = dump->status;
			result = 0;
			break;
		}
	pthread_mutex_unlock(&state->lock);
	return result;
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
