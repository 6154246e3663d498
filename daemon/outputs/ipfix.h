/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * IPFIX (RFC 7011) export of flow records to a collector (the `ipfix` sink
 * format), through libfixbuf.
 *
 * The thread that polls the sink (the producer) appends flow records to a
 * bounded buffer; a thread of the exporter's own encodes them and sends them
 * over UDP or TCP, so neither the sink thread nor the workers ever wait on
 * the network. When the buffer is full the sink stops receiving and the
 * records wait in their rings (backpressure). Records in a message that
 * could not be sent are counted as dropped; the connection is then reopened
 * and the templates sent again before the next message.
 *
 * Each direction of a flow is its own IPFIX record: the initiator's, and the
 * responder's when it sent packets; or, with biflow, one RFC 5103 record per
 * flow, the responder's figures in reverse elements. Over UDP the
 * templates are sent again every template_refresh_ns (RFC 7011 section 8.4).
 *
 * Threads: space/append/flush from the one producer thread; figures and
 * failure from any thread; open and close from the control thread.
 */
#ifndef JETSTREAM_OUTPUTS_IPFIX_H
#define JETSTREAM_OUTPUTS_IPFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

/** Template ids: one record per direction, or (biflow) per flow. */
#define IPFIX_TEMPLATE_ID_IPV4 256
#define IPFIX_TEMPLATE_ID_IPV6 257
#define IPFIX_TEMPLATE_ID_BIFLOW_IPV4 258
#define IPFIX_TEMPLATE_ID_BIFLOW_IPV6 259

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

/** What an exporter did so far. */
struct ipfix_exporter_figures {
	uint64_t records_sent;     /**< IPFIX records (one per direction) in messages sent */
	uint64_t records_dropped;  /**< IPFIX records in messages that could not be sent */
	uint64_t messages_sent;    /**< IPFIX messages sent (templates included) */
	uint64_t send_errors;      /**< failed sends (each drops one message) */
	uint64_t buffer_records;   /**< flow records waiting now */
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

/**
 * Producer: ask for every appended record to be sent now.
 * @return true once each is sent or counted as dropped.
 */
bool ipfix_exporter_flush(struct ipfix_exporter *exporter);

/** Any thread: the figures (each read atomically). */
void ipfix_exporter_figures(struct ipfix_exporter *exporter,
			    struct ipfix_exporter_figures *figures);

/**
 * Once records were dropped: "send failed: <first error>; N records not
 * sent (dropped_records)" into @p text. @return false when none was dropped.
 */
bool ipfix_exporter_failure(struct ipfix_exporter *exporter, char *text, size_t size);

/** Send what waits, stop the thread, close the connection, free. */
void ipfix_exporter_close(struct ipfix_exporter *exporter);

#endif
