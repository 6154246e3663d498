/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Delivery of encoded records to a batch-oriented store (the `clickhouse`
 * sink format; any store that takes a batch of lines in one request).
 *
 * The thread that polls a sink (the producer) appends lines (one record
 * each, jsonl) for one destination (a table). They wait in a bounded number
 * of bytes, grouped per destination into batches: a batch closes at
 * `batch_rows` lines, or `batch_delay` after its first line, whichever comes
 * first. A thread of the delivery's own hands each closed batch, oldest
 * first, to the transport's send callback; a slow or stopped store therefore
 * holds the producer back only once the bytes are all taken.
 *
 * The contract (README "Delivery of networked sinks"):
 *  - a batch whose send says retry-later is resent identical (same lines,
 *    same destination), with a backoff of 100 ms doubling to 5 s and no
 *    limit, until it is sent or refused: exactly once per success;
 *  - a refused batch (the store will never take it: a schema error) is
 *    counted as dropped_refused, its error logged once per distinct text;
 *  - when full, `block` makes delivery_space() small so the sink stops
 *    receiving (backpressure); `drop` makes delivery_append() count the
 *    newest lines as dropped_sink_full;
 *  - delivery_flush() drains within drain_timeout_ns from its first call;
 *    what is left then is counted as dropped_drain_timeout.
 *
 * Threads: space/append/flush from the one producer thread; figures from
 * any thread; open and close from the control thread (neither does I/O;
 * close waits for the thread, which ends within the drain timeout).
 */
#ifndef JETSTREAM_OUTPUTS_DELIVERY_H
#define JETSTREAM_OUTPUTS_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outputs/delivery_figures.h"

/** Destinations a delivery may have (one per record type, with room). */
#define DELIVERY_MAX_DESTINATIONS 8

/** What a transport's send says of one attempt. */
enum delivery_result {
	DELIVERY_SENT = 0, /**< the store took the batch */
	DELIVERY_RETRY,    /**< not now (store down, slow, overloaded): send it again later */
	DELIVERY_REFUSED,  /**< never (a schema error): count its lines as dropped_refused */
};

/**
 * Send @p rows lines (@p length bytes, each ending in a newline) to
 * @p destination, on the delivery's thread. On failure, the store's reason in
 * @p error. @return an enum delivery_result.
 */
typedef int (*delivery_send_fn)(void *transport, const char *destination, const char *data,
				size_t length, unsigned rows, char *error, size_t error_size);

/** How a delivery behaves. */
struct delivery_settings {
	const char *owner;          /**< kernel name, for log lines (copied) */
	uint64_t capacity;          /**< bytes of lines that may wait */
	unsigned batch_rows;        /**< a batch closes at this many lines */
	uint64_t batch_delay_ns;    /**< or this long after its first line */
	uint64_t drain_timeout_ns;  /**< at flush: how long the lines left may take */
	unsigned destination_count; /**< at most DELIVERY_MAX_DESTINATIONS */
	const char *const *destinations; /**< their names, as send receives them (copied) */
	delivery_send_fn send;
	void *transport;            /**< send's first argument */
};

struct delivery;

/**
 * Start the delivery's thread (no I/O here: the first send is the thread's).
 * @return 0, or -errno with a message in @p message.
 */
int delivery_open(struct delivery **delivery, const struct delivery_settings *settings,
		  char *message, size_t message_size);

/**
 * Producer: bytes delivery_append() takes now. With when_full: block, a
 * sink receives only what fits; with drop it appends anyway and
 * delivery_append() counts what does not fit.
 */
size_t delivery_space(struct delivery *delivery);

/**
 * Producer: add whole lines for destination @p destination (an index into
 * the settings' names). Lines that do not fit are counted as
 * dropped_sink_full (all of them: they are the newest).
 */
void delivery_append(struct delivery *delivery, unsigned destination, const char *lines,
		     size_t length);

/**
 * Producer: close every batch and send it; the first call starts the drain
 * timeout. @return true once every line is sent or counted as dropped.
 */
bool delivery_flush(struct delivery *delivery);

/** Transport, on the delivery's thread: whether the drain timeout has passed (abandon a send). */
bool delivery_past_deadline(const struct delivery *delivery);

/** Any thread: the figures (each read atomically; together they may be a moment apart). */
void delivery_figures(struct delivery *delivery, struct delivery_figures *figures);

/** Drain (as delivery_flush, within the drain timeout), stop the thread, free. NULL: nothing. */
void delivery_close(struct delivery *delivery);

#endif
