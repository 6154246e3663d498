/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What the files of the history kernel share, and nothing outside
 * daemon/kernels/history*.c includes. Which thread runs what:
 *
 *   history.c          the configuration check (cp); the worker (dp): process
 *                      and flush; init, stats and destroy (cp), which start
 *                      and join the writer thread
 *   history_dump.c     the writer thread (history_writer_main): triggers, rules,
 *                      matching, reading the ring, the files and their
 *                      outcomes, forgetting old dumps; and the helpers the
 *                      control thread shares with it under the lock
 *                      (history_admit_dump, history_publish_dump, history_release_slot)
 *   history_control.c  the control socket's dumps (cp): history_dump_start,
 *                      history_dump_status (kernels/history.h)
 *
 * The calls go one way: history.c -> history_dump.c (history_writer_main) and
 * history_control.c -> history_dump.c; history_dump.c calls neither.
 */
#ifndef JETSTREAM_KERNELS_HISTORY_PRIVATE_H
#define JETSTREAM_KERNELS_HISTORY_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/history.h"
#include "kernels/history_ring.h"
#include "outputs/output_thread.h"
#include "outputs/pcapng_writer.h"

struct packet_filter;
struct rte_ring;

enum dump_key {
	DUMP_KEY_AUTO = 0, /* the record's own: an alert's key, a flow's 5-tuple */
	DUMP_KEY_SOURCE,
	DUMP_KEY_DESTINATION,
	DUMP_KEY_SOURCE_DESTINATION,
	DUMP_KEY_FLOW,
};

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
	struct dump_rule rule;            /* set before the dump is listed; then writer thread only */
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
	 * last found every input empty: every packet stamped before it that had
	 * reached this kernel's input rings is in the ring (live dumps end by it
	 * when no later packet comes; a kernel upstream that holds packets longer
	 * than the slack could still hold some).
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

/** A new dump id, unique in the daemon (any thread). */
uint64_t history_next_dump_id(void);

/** Format @p time_ns as UTC, to the nanosecond; @p compact: the file-name form. */
void history_format_time(uint64_t time_ns, bool compact, char *text, size_t size);

/** Set @p rule's range: [@p trigger_ns - @p before_ns (at least 0), @p trigger_ns + @p after_ns]. */
void history_rule_range(struct dump_rule *rule, uint64_t trigger_ns, uint64_t before_ns, uint64_t after_ns);

/** The trigger time and range lines of a file's comment. */
void history_describe_range(const struct dump_rule *rule, char *text, size_t size);

/** Under the lock: admit one more dump at @p trigger_ns. @return NULL, or why not. */
const char *history_admit_dump(struct history_state *state, uint64_t trigger_ns);

/** Under the lock: list an admitted dump whose file is open. */
void history_publish_dump(struct history_state *state, struct dump *dump);

/** Under the lock: give back an admitted slot whose file could not be opened. */
void history_release_slot(struct history_state *state);

/** Open @p dump's file at @p path. @return 0, or -errno with @p error set. */
int history_open_dump_file(struct history_state *state, struct dump *dump, const char *path, char *error,
		   size_t error_size);

/** The instance's writer thread (started by history_init). */
void *history_writer_main(void *argument);

#endif
