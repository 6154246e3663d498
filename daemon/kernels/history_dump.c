/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * history's dumps: the rules (a trigger's key or a tcpdump filter, and a
 * time range), the limits on them, the writer thread that takes the
 * triggers, reads the ring behind the worker, writes the matching packets to
 * pcapng files and closes them with their outcome, and forgets old dumps.
 * What the control thread shares of it (history_control.c) runs under the
 * dumps lock (kernels/history_private.h).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_ring.h>

#include "kernel.h"
#include "kernels/history.h"
#include "kernels/history_private.h"
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

/* At most one line a while about refused triggers, with the count since the last one. */
#define HISTORY_REFUSED_LOG_INTERVAL_NS (10ull * NS_PER_SECOND)

/*
 * Dump ids are the daemon's, not an instance's: a reload that replaces a
 * history kernel starts a new instance, and a client waiting on a dump of the
 * old one must not be answered about another dump with the same number.
 */
static _Atomic uint64_t history_last_dump_id;

uint64_t
history_next_dump_id(void)
{
	return atomic_fetch_add_explicit(&history_last_dump_id, 1, memory_order_relaxed) + 1;
}

/* ---- rules and files (writer and control threads) ------------------------- */

/* "2016-01-01T00:00:03.000000000Z", or the compact file-name form without - and :. */
void
history_format_time(uint64_t time_ns, bool compact, char *text, size_t size)
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

void
history_rule_range(struct dump_rule *rule, uint64_t trigger_ns, uint64_t before_ns, uint64_t after_ns)
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
const char *
history_admit_dump(struct history_state *state, uint64_t trigger_ns)
{
	if (state->open_dumps >= state->params->max_dumps)
		return "max_dumps dumps are being written";
	/*
	 * A trigger older than the minute's start (alerts and flows of other
	 * kernels interleave out of order) counts in the current minute: only a
	 * later one starts the next, so the limit holds whatever the order; one
	 * more than a minute older (a clock stepped back, an odd trace time) starts
	 * a new minute too, so a far-future outlier cannot hold the count.
	 */
	if (trigger_ns >= state->minute_start_ns + NS_PER_MINUTE ||
	    trigger_ns + NS_PER_MINUTE < state->minute_start_ns) {
		state->minute_start_ns = trigger_ns;
		state->minute_dumps = 0;
	}
	if (state->minute_dumps >= state->params->dumps_per_minute)
		return "dumps_per_minute dumps were opened in the last minute";
	state->minute_dumps++;
	state->open_dumps++;
	return NULL;
}

void
history_publish_dump(struct history_state *state, struct dump *dump)
{
	dump->status.state = HISTORY_DUMP_RUNNING;
	dump->opened_ns = kernel_now_ns();
	snprintf(dump->status.path, sizeof(dump->status.path), "%s", dump->file.path);
	dump->next = state->dumps;
	state->dumps = dump;
	state->dumps_started++; /* counted once the file is open: a counter never goes down */
}

/* Give back an admitted slot whose file could not be opened (under the lock). */
void
history_release_slot(struct history_state *state)
{
	state->open_dumps--;
	if (state->minute_dumps > 0) /* the minute may have turned since the admission */
		state->minute_dumps--;
}

void
history_describe_range(const struct dump_rule *rule, char *text, size_t size)
{
	char trigger[40], start[40], end[40];

	history_format_time(rule->trigger_ns, false, trigger, sizeof(trigger));
	history_format_time(rule->start_ns, false, start, sizeof(start));
	history_format_time(rule->end_ns, false, end, sizeof(end));
	snprintf(text, size,
		 "trigger time: %s (%" PRIu64 " ns)\nrange: %s to %s (%" PRIu64 " to %" PRIu64
		 " ns)\n",
		 trigger, rule->trigger_ns, start, end, rule->start_ns, rule->end_ns);
}

static const char *const outcome_pending = "outcome: still being written (unfinished)\n";

/* Open the file of @p dump at @p path; its comment says what it is and that it is unfinished. */
int
history_open_dump_file(struct history_state *state, struct dump *dump, const char *path, char *error,
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
	history_rule_range(rule, trigger->time_ns, state->params->before_ns, state->params->after_ns);
}

static void
describe_trigger(const struct history_state *state, const struct history_trigger *trigger,
		 struct dump *dump)
{
	char key[160], range[256];

	format_key(&dump->rule, false, key, sizeof(key));
	history_describe_range(&dump->rule, range, sizeof(range));
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
	refusal = history_admit_dump(state, trigger->time_ns);
	if (refusal != NULL) {
		pthread_mutex_unlock(&state->lock);
		log_refused(state, trigger, refusal);
		free(dump);
		return;
	}
	dump->id = history_next_dump_id();
	pthread_mutex_unlock(&state->lock);

	describe_trigger(state, trigger, dump);
	format_key(&dump->rule, true, key, sizeof(key));
	history_format_time(trigger->time_ns, true, time, sizeof(time));
	snprintf(path, sizeof(path), "%s/%s-%s-%s.pcapng", state->params->dump_dir, state->name, time,
		 key);
	if (history_open_dump_file(state, dump, path, error, sizeof(error)) < 0) {
		log_kernel(LOG_LEVEL_ERROR, state->name, "no dump for a trigger from '%s': %s",
			   trigger->kernel, error);
		pthread_mutex_lock(&state->lock);
		history_release_slot(state);
		pthread_mutex_unlock(&state->lock);
		state->dumps_failed++;
		free(dump);
		return;
	}
	log_kernel(LOG_LEVEL_INFO, state->name, "dump %" PRIu64 " opened: %s", dump->id, path);
	pthread_mutex_lock(&state->lock);
	history_publish_dump(state, dump);
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

/* The outcome as the file's comment and the log spell it. */
static const char *const outcome_names[] = {
	[HISTORY_DUMP_RUNNING] = "running", /* never an outcome: close_dump ends a dump */
	[HISTORY_DUMP_DONE] = "done",
	[HISTORY_DUMP_CUT] = "cut",
	[HISTORY_DUMP_FAILED] = "failed",
};

/* The outcome lines of the file's comment, and the note of the status and the log. */
static void
describe_outcome(const struct dump *dump, enum history_dump_state outcome, const char *reason,
		 char *note, size_t note_size, char *text, size_t size)
{
	size_t used = 0;
	char oldest[40];

	note[0] = '\0';
	if (dump->start_lost || dump->start_clipped) {
		history_format_time(dump->oldest_ns, false, oldest, sizeof(oldest));
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
		 outcome_names[outcome],
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
		   outcome_names[outcome],
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

/* What a round of the writer leaves. */
struct round_outcome {
	unsigned running; /* dumps still open */
	bool behind;      /* one of them spent its budget: the next round starts at once */
};

/* One round of the writer: new triggers, then every open dump as far as its budget goes. */
static struct round_outcome
write_round(struct history_state *state, int end)
{
	struct round_outcome outcome = {0};

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
			outcome.running++;
			outcome.behind |= progress == DUMP_BEHIND;
		}
	}
	forget_old_dumps(state);
	return outcome;
}

/* The worker never signals (that would be a syscall): the writer polls. */
static bool
never_ready(const void *context)
{
	(void)context;
	return false;
}

void *
history_writer_main(void *argument)
{
	struct history_state *state = argument;
	struct round_outcome last = {0};

	for (;;) {
		struct output_requests requests = output_wakeup_wait(
			&state->wakeup, last.behind ? 0 : HISTORY_WRITER_POLL_NS, never_ready, NULL);
		int end = atomic_load_explicit(&state->end, memory_order_acquire);

		if (requests.closing && end == HISTORY_RUNNING)
			end = HISTORY_DESTROYED;
		last = write_round(state, end);
		if (end != HISTORY_RUNNING && last.running == 0)
			atomic_store_explicit(&state->writer_done, true, memory_order_release);
		/* closing stays set: the waits return at once until the last dump closed */
		if (requests.closing && last.running == 0)
			return NULL;
	}
}
