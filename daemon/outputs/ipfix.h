/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * IPFIX (RFC 7011) export of flow records to a collector (the `ipfix` sink
 * format): libfixbuf encodes the messages, a socket of our own sends them.
 *
 * The thread that polls the sink (the producer) appends flow records to a
 * bounded buffer; a thread of the exporter's own encodes them and sends them
 * over UDP or TCP, so neither the sink thread nor the workers ever wait on
 * the network. When the buffer is full the sink either stops receiving (the
 * records wait in their rings: backpressure) or drops the newest
 * (ipfix_exporter_count_full()).
 *
 * Delivery: the socket is non-blocking and each message has
 * IPFIX_SEND_DEADLINE_NS to go out. A message that fails (refused, reset,
 * timed out) is kept and sent again, after a new connection and the
 * templates, backing off from 100 ms to 5 s, without limit; meanwhile the
 * buffer fills. What is left when the drain deadline given to
 * ipfix_exporter_flush() passes is counted as dropped for drain_timeout.
 *
 * What "delivered" can mean: a message counts once the kernel took all of
 * it. Over TCP, bytes still in the socket's buffer when a connection is
 * dropped are lost unseen. Over UDP (a connected socket) an ICMP port
 * unreachable for a datagram fails a later send, with ECONNREFUSED: that
 * later message is retried, but the datagram the ICMP was about was
 * already counted, and a datagram lost on the way or at a full collector
 * socket cannot be seen at all.
 *
 * Each direction of a flow is its own IPFIX record: the initiator's, and the
 * responder's when it sent packets; or, with biflow, one RFC 5103 record per
 * flow, the responder's figures in reverse elements. Over UDP the
 * templates are sent again every template_refresh_ns (RFC 7011 section 8.4).
 * Every figure counts IPFIX records, not flow records.
 *
 * Threads: space/append/count_full/flush from the one producer thread;
 * figures and failure from any thread; open and close from the control thread.
 */
#ifndef JETSTREAM_OUTPUTS_IPFIX_H
#define JETSTREAM_OUTPUTS_IPFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outputs/delivery_figures.h"

#include "record.h"

/** Template ids: one record per direction, or (biflow) per flow. */
#define IPFIX_TEMPLATE_ID_IPV4 256
#define IPFIX_TEMPLATE_ID_IPV6 257
#define IPFIX_TEMPLATE_ID_BIFLOW_IPV4 258
#define IPFIX_TEMPLATE_ID_BIFLOW_IPV6 259

/** How long one message (or a TCP connect) may take before the connection is dropped. */
#define IPFIX_SEND_DEADLINE_NS (5ull * 1000000000ull)

struct ipfix_exporter;

/** Where and how an exporter sends. */
struct ipfix_exporter_settings {
	const char *owner;           /**< kernel name, for log lines (copied) */
	const char *host;            /**< collector host (copied) */
	const char *port;            /**< collector port (copied) */
	bool tcp;                    /**< TCP, else UDP */
	bool biflow;                 /**< one RFC 5103 record per flow, else one per direction */
	uint32_t observation_domain; /**< the messages' observation domain id */
	uint64_t capacity;           /**< flow records the buffer holds */
	uint64_t template_refresh_ns; /**< UDP: the templates are sent again this often */
};

/**
 * Start the exporter's thread (it connects on its first message).
 * @return 0, or -errno with a message in @p message.
 */
int ipfix_exporter_open(struct ipfix_exporter **exporter,
			const struct ipfix_exporter_settings *settings, char *message,
			size_t message_size);

/** Producer: flow records ipfix_exporter_append() can take now. */
unsigned ipfix_exporter_space(struct ipfix_exporter *exporter);

/** Producer: add @p count (<= ipfix_exporter_space()) flow records. */
void ipfix_exporter_append(struct ipfix_exporter *exporter, const struct flow_record *records,
			   unsigned count);

/** Producer: count @p count flow records the full buffer could not take (when_full: drop). */
void ipfix_exporter_count_full(struct ipfix_exporter *exporter, const struct flow_record *records,
			       unsigned count);

/**
 * Producer: ask for every appended record to be sent now, giving up at
 * @p deadline_ns (CLOCK_MONOTONIC; the first call's deadline holds).
 * @return true once each is delivered or counted as dropped.
 */
bool ipfix_exporter_flush(struct ipfix_exporter *exporter, uint64_t deadline_ns);

/** Any thread: the figures (each read atomically). */
void ipfix_exporter_figures(struct ipfix_exporter *exporter,
			    struct delivery_figures *figures);

/**
 * Once records were dropped: "<last error>; N records not sent
 * (dropped_records)" into @p text. @return false when none was dropped.
 */
bool ipfix_exporter_failure(struct ipfix_exporter *exporter, char *text, size_t size);

/**
 * Stop the thread, close the connection, free. Records still waiting (no
 * flush ran to its end) are counted as dropped for drain_timeout at once:
 * a close never waits on the network.
 */
void ipfix_exporter_close(struct ipfix_exporter *exporter);

#endif
