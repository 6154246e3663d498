/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPFIX export through libfixbuf: a bounded queue of flow records between
 * the sink thread and an exporter thread, which alone touches libfixbuf.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fixbuf/public.h>

#include "log_journal.h"
#include "outputs/ipfix.h"

/* Flow records the exporter thread takes out of the queue at a time. */
#define EXPORT_BATCH 256
/* How long the exporter thread sleeps when nothing comes: bounds a flush's wait and a refresh's delay. */
#define IDLE_WAIT_NS (100 * 1000 * 1000L)
/* After a failed send, records are dropped without trying for this long: a down collector is not hammered. */
#define RECONNECT_DELAY_NS (1000 * 1000 * 1000L)

/* RFC 7012 / IANA flowEndReason values */
enum ipfix_end_reason {
	IPFIX_END_IDLE_TIMEOUT = 1,
	IPFIX_END_ACTIVE_TIMEOUT = 2,
	IPFIX_END_OF_FLOW = 3,
	IPFIX_END_FORCED = 4,
	IPFIX_END_LACK_OF_RESOURCES = 5,
};

/*
 * One direction of a flow, as the internal templates lay it out (libfixbuf
 * transcodes integers from host order). The fields in common come first so
 * one function fills both families.
 */
struct export_common {
	uint64_t flow_start_milliseconds;
	uint64_t flow_end_milliseconds;
	uint64_t packet_delta_count;
	uint64_t layer2_octet_delta_count;
	uint16_t source_transport_port;
	uint16_t destination_transport_port;
	uint16_t tcp_control_bits;
	uint8_t protocol_identifier;
	uint8_t flow_end_reason;
};

struct export_ipv4 {
	struct export_common common;
	uint32_t source_ipv4_address;
	uint32_t destination_ipv4_address;
};

struct export_ipv6 {
	struct export_common common;
	uint8_t source_ipv6_address[16];
	uint8_t destination_ipv6_address[16];
};

#define COMMON_ELEMENTS                                                                            \
	{"flowStartMilliseconds", 8, 0}, {"flowEndMilliseconds", 8, 0},                            \
	{"packetDeltaCount", 8, 0}, {"layer2OctetDeltaCount", 8, 0},                               \
	{"sourceTransportPort", 2, 0}, {"destinationTransportPort", 2, 0},                         \
	{"tcpControlBits", 2, 0}, {"protocolIdentifier", 1, 0}, {"flowEndReason", 1, 0}

#define IPV4_ELEMENTS {"sourceIPv4Address", 4, 0}, {"destinationIPv4Address", 4, 0}
#define IPV6_ELEMENTS {"sourceIPv6Address", 16, 0}, {"destinationIPv6Address", 16, 0}

/* Elements with this flag are in the internal templates only (padding of the structs). */
#define INTERNAL_ONLY 1u

/* RFC 5103: the reverse direction's figures (libfixbuf's reverse elements, PEN 29305). */
struct export_reverse {
	uint64_t reverse_packet_delta_count;
	uint64_t reverse_layer2_octet_delta_count;
	uint16_t reverse_tcp_control_bits;
	uint8_t padding[6];
};

#define REVERSE_ELEMENTS                                                                           \
	{"reversePacketDeltaCount", 8, 0}, {"reverseLayer2OctetDeltaCount", 8, 0},                 \
	{"reverseTcpControlBits", 2, 0}, {"paddingOctets", 6, INTERNAL_ONLY}

struct export_biflow_ipv4 {
	struct export_ipv4 forward;
	struct export_reverse reverse;
};

struct export_biflow_ipv6 {
	struct export_ipv6 forward;
	struct export_reverse reverse;
};

static fbInfoElementSpec_t ipv4_elements[] = {COMMON_ELEMENTS, IPV4_ELEMENTS, FB_IESPEC_NULL};
static fbInfoElementSpec_t ipv6_elements[] = {COMMON_ELEMENTS, IPV6_ELEMENTS, FB_IESPEC_NULL};
static fbInfoElementSpec_t biflow_ipv4_elements[] = {COMMON_ELEMENTS, IPV4_ELEMENTS,
						     REVERSE_ELEMENTS, FB_IESPEC_NULL};
static fbInfoElementSpec_t biflow_ipv6_elements[] = {COMMON_ELEMENTS, IPV6_ELEMENTS,
						     REVERSE_ELEMENTS, FB_IESPEC_NULL};

_Static_assert(sizeof(struct export_ipv4) == 48, "export_ipv4 must match ipv4_elements");
_Static_assert(sizeof(struct export_ipv6) == 72, "export_ipv6 must match ipv6_elements");
_Static_assert(sizeof(struct export_biflow_ipv4) == 72, "must match biflow_ipv4_elements");
_Static_assert(sizeof(struct export_biflow_ipv6) == 96, "must match biflow_ipv6_elements");

struct ipfix_exporter {
	/* set at open, read-only after */
	char owner[64];
	char host[256];
	char port[16];
	bool tcp;
	bool biflow;
	uint32_t observation_domain;
	uint64_t capacity;
	uint64_t template_refresh_ns;
	pthread_t thread;

	/* the queue: under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct flow_record *queue;  /* capacity entries, a ring */
	uint64_t head, tail;        /* producer: tail, exporter thread: head; both under lock */
	uint64_t in_flight;         /* taken from the queue, not yet sent or dropped */
	bool stop;

	/* exporter thread: wo; any thread: ro */
	_Atomic uint64_t records_sent, records_dropped, messages_sent, send_errors;
	char first_error[256];      /* written once by the exporter thread before records_dropped grows */

	/* exporter thread only: libfixbuf state, NULL while not connected */
	fbInfoModel_t *model;
	fBuf_t *buffer;
	uint64_t records_in_message;
	bool message_pending;       /* templates or records wait in the message being built */
	uint64_t templates_sent_ns; /* CLOCK_MONOTONIC */
	uint64_t reconnect_at_ns;   /* CLOCK_MONOTONIC: no connection attempt before */
	bool logged_failure;
};

static uint64_t
monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

/* The internal template (the struct, padding included) or the external one (the wire). */
static bool
add_template(fbSession_t *session, fbInfoModel_t *model, fbInfoElementSpec_t *elements,
	     uint16_t id, bool internal, GError **error)
{
	fbTemplate_t *template = fbTemplateAlloc(model);

	if (!fbTemplateAppendSpecArray(template, elements, internal ? INTERNAL_ONLY : 0, error)) {
		fbTemplateFreeUnused(template);
		return false;
	}
	return fbSessionAddTemplate(session, internal, id, template, error) != 0;
}

/* The two templates (IPv4, IPv6) of the exporter's kind of record, internal and external. */
static bool
add_templates(struct ipfix_exporter *exporter, fbSession_t *session, GError **error)
{
	fbInfoElementSpec_t *ipv4 = exporter->biflow ? biflow_ipv4_elements : ipv4_elements;
	fbInfoElementSpec_t *ipv6 = exporter->biflow ? biflow_ipv6_elements : ipv6_elements;
	uint16_t ipv4_id = exporter->biflow ? IPFIX_TEMPLATE_ID_BIFLOW_IPV4 : IPFIX_TEMPLATE_ID_IPV4;
	uint16_t ipv6_id = exporter->biflow ? IPFIX_TEMPLATE_ID_BIFLOW_IPV6 : IPFIX_TEMPLATE_ID_IPV6;

	for (int internal = 0; internal < 2; internal++)
		if (!add_template(session, exporter->model, ipv4, ipv4_id, internal, error) ||
		    !add_template(session, exporter->model, ipv6, ipv6_id, internal, error))
			return false;
	return true;
}

/*
 * Exporter thread: add the templates to the message being built. libfixbuf
 * writes templates only in automatic mode; records are appended in manual
 * mode, where a full message is ours to send, so each record is counted in
 * the message it went out in.
 */
static bool
export_templates(struct ipfix_exporter *exporter, GError **error)
{
	bool exported;

	fBufSetAutomaticMode(exporter->buffer, TRUE);
	exported = fbSessionExportTemplates(fBufGetSession(exporter->buffer), error);
	fBufSetAutomaticMode(exporter->buffer, FALSE);
	exporter->message_pending = true;
	exporter->templates_sent_ns = monotonic_ns();
	return exported;
}

/* Exporter thread: a session, its templates and a buffer over a new connection. */
static bool
connect_collector(struct ipfix_exporter *exporter, GError **error)
{
	fbConnSpec_t spec = FB_CONNSPEC_INIT;
	fbSession_t *session = fbSessionAlloc(exporter->model);
	fbExporter_t *fixbuf_exporter;

	spec.transport = exporter->tcp ? FB_TCP : FB_UDP;
	spec.host = exporter->host;
	spec.svc = exporter->port;
	fbSessionSetDomain(session, exporter->observation_domain); /* templates belong to a domain */
	if (!add_templates(exporter, session, error)) {
		fbSessionFree(session);
		return false;
	}
	fixbuf_exporter = fbExporterAllocNet(&spec);
	exporter->buffer = fBufAllocForExport(session, fixbuf_exporter); /* owns both */
	exporter->records_in_message = 0;
	return export_templates(exporter, error);
}

static void
disconnect_collector(struct ipfix_exporter *exporter)
{
	if (exporter->buffer != NULL)
		fBufFree(exporter->buffer); /* frees the session and closes the exporter */
	exporter->buffer = NULL;
}

/*
 * Exporter thread: a send failed; the message's records are dropped, and the
 * next message reconnects (and sends the templates first) after RECONNECT_DELAY_NS.
 */
static void
note_failure(struct ipfix_exporter *exporter, const char *what, GError *error)
{
	const char *reason = error != NULL ? error->message : "unknown error";

	if (atomic_load(&exporter->records_dropped) == 0 && exporter->first_error[0] == '\0')
		snprintf(exporter->first_error, sizeof(exporter->first_error), "%s: %s", what,
			 reason);
	atomic_fetch_add(&exporter->send_errors, 1);
	atomic_fetch_add(&exporter->records_dropped, exporter->records_in_message);
	if (!exporter->logged_failure)
		log_warning("%s: IPFIX %s to %s:%s failed: %s (records are counted as "
			    "dropped_records until it works again)",
			    exporter->owner, what, exporter->host, exporter->port, reason);
	exporter->logged_failure = true;
	exporter->records_in_message = 0;
	exporter->reconnect_at_ns = monotonic_ns() + RECONNECT_DELAY_NS;
	g_clear_error(&error);
	disconnect_collector(exporter);
}

/* Exporter thread: send the message being built. @return false after a failure. */
static bool
emit_message(struct ipfix_exporter *exporter)
{
	GError *error = NULL;

	if (!fBufEmit(exporter->buffer, &error)) {
		note_failure(exporter, "send", error);
		return false;
	}
	if (exporter->logged_failure)
		log_info("%s: IPFIX export to %s:%s works again", exporter->owner, exporter->host,
			 exporter->port);
	exporter->logged_failure = false;
	exporter->message_pending = false;
	atomic_fetch_add(&exporter->messages_sent, 1);
	atomic_fetch_add(&exporter->records_sent, exporter->records_in_message);
	exporter->records_in_message = 0;
	return true;
}

/* Exporter thread: make sure a connection with templates is ready. */
static bool
ensure_connected(struct ipfix_exporter *exporter)
{
	GError *error = NULL;

	if (exporter->buffer != NULL && !exporter->tcp &&
	    monotonic_ns() - exporter->templates_sent_ns >= exporter->template_refresh_ns) {
		if (!emit_message(exporter))
			return false;
		if (!export_templates(exporter, &error)) {
			note_failure(exporter, "template refresh", error);
			return false;
		}
	}
	if (exporter->buffer != NULL)
		return true;
	if (monotonic_ns() < exporter->reconnect_at_ns)
		return false;
	if (!connect_collector(exporter, &error)) {
		note_failure(exporter, "connect", error);
		return false;
	}
	return true;
}

/* Exporter thread: append one record to the message, sending the message first when it is full. */
static void
append_record(struct ipfix_exporter *exporter, uint16_t template_id, const void *record,
	      size_t size)
{
	GError *error = NULL;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (!ensure_connected(exporter)) {
			atomic_fetch_add(&exporter->records_dropped, 1);
			return;
		}
		if (fBufSetInternalTemplate(exporter->buffer, template_id, &error) &&
		    fBufSetExportTemplate(exporter->buffer, template_id, &error) &&
		    fBufAppend(exporter->buffer, (uint8_t *)record, size, &error)) {
			exporter->records_in_message++;
			exporter->message_pending = true;
			return;
		}
		if (!g_error_matches(error, FB_ERROR_DOMAIN, FB_ERROR_EOM)) {
			exporter->records_in_message++; /* dropped with the message */
			note_failure(exporter, "encode", error);
			return;
		}
		/* full (the templates' message is full at once): send it, the record goes in the next */
		g_clear_error(&error);
		emit_message(exporter);
	}
	atomic_fetch_add(&exporter->records_dropped, 1); /* the send failed and no reconnection is due */
}

static uint32_t
ipv4_from_mapped(const uint8_t address[16])
{
	return (uint32_t)address[12] << 24 | (uint32_t)address[13] << 16 |
	       (uint32_t)address[14] << 8 | address[15];
}

static bool
is_ipv4_mapped(const uint8_t address[16])
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return memcmp(address, prefix, sizeof(prefix)) == 0;
}

static uint8_t
ipfix_end_reason(uint8_t reason)
{
	switch ((enum flow_end_reason)reason) {
	case FLOW_END_FIN:
	case FLOW_END_RST:
		return IPFIX_END_OF_FLOW;
	case FLOW_END_IDLE:
		return IPFIX_END_IDLE_TIMEOUT;
	case FLOW_END_ACTIVE:
		return IPFIX_END_ACTIVE_TIMEOUT;
	case FLOW_END_EVICTED:
		return IPFIX_END_LACK_OF_RESOURCES;
	case FLOW_END_EOF:
	default:
		return IPFIX_END_FORCED;
	}
}

/* One direction of a flow, in either family's layout. */
union export_direction {
	struct export_ipv4 ipv4;
	struct export_ipv6 ipv6;
};

/* One direction of @p flow (reverse: responder -> initiator). @return whether it is IPv4. */
static bool
fill_direction(const struct flow_record *flow, bool reverse, union export_direction *record)
{
	const uint8_t *source = reverse ? flow->destination_address : flow->source_address;
	const uint8_t *destination = reverse ? flow->source_address : flow->destination_address;
	struct export_common common = {
		.flow_start_milliseconds = flow->first_ns / 1000000,
		.flow_end_milliseconds = flow->last_ns / 1000000,
		.packet_delta_count = reverse ? flow->reverse_packets : flow->packets,
		.layer2_octet_delta_count = reverse ? flow->reverse_bytes : flow->bytes,
		.source_transport_port = reverse ? flow->destination_port : flow->source_port,
		.destination_transport_port = reverse ? flow->source_port : flow->destination_port,
		.tcp_control_bits = reverse ? flow->reverse_tcp_flags : flow->tcp_flags,
		.protocol_identifier = flow->protocol,
		.flow_end_reason = ipfix_end_reason(flow->end_reason),
	};

	if (is_ipv4_mapped(source)) {
		record->ipv4 = (struct export_ipv4){.common = common,
						    .source_ipv4_address = ipv4_from_mapped(source),
						    .destination_ipv4_address =
							    ipv4_from_mapped(destination)};
		return true;
	}
	record->ipv6 = (struct export_ipv6){.common = common};
	memcpy(record->ipv6.source_ipv6_address, source, 16);
	memcpy(record->ipv6.destination_ipv6_address, destination, 16);
	return false;
}

static void
export_direction(struct ipfix_exporter *exporter, const struct flow_record *flow, bool reverse)
{
	union export_direction record;

	if (fill_direction(flow, reverse, &record))
		append_record(exporter, IPFIX_TEMPLATE_ID_IPV4, &record.ipv4, sizeof(record.ipv4));
	else
		append_record(exporter, IPFIX_TEMPLATE_ID_IPV6, &record.ipv6, sizeof(record.ipv6));
}

/* RFC 5103: the initiator's direction, with the responder's figures as reverse elements. */
static void
export_biflow(struct ipfix_exporter *exporter, const struct flow_record *flow)
{
	struct export_reverse reverse = {
		.reverse_packet_delta_count = flow->reverse_packets,
		.reverse_layer2_octet_delta_count = flow->reverse_bytes,
		.reverse_tcp_control_bits = flow->reverse_tcp_flags,
	};
	union export_direction forward;

	if (fill_direction(flow, false, &forward)) {
		struct export_biflow_ipv4 record = {.forward = forward.ipv4, .reverse = reverse};

		append_record(exporter, IPFIX_TEMPLATE_ID_BIFLOW_IPV4, &record, sizeof(record));
	} else {
		struct export_biflow_ipv6 record = {.forward = forward.ipv6, .reverse = reverse};

		append_record(exporter, IPFIX_TEMPLATE_ID_BIFLOW_IPV6, &record, sizeof(record));
	}
}

static void
export_flow(struct ipfix_exporter *exporter, const struct flow_record *flow)
{
	if (exporter->biflow) {
		export_biflow(exporter, flow);
		return;
	}
	if (flow->packets > 0)
		export_direction(exporter, flow, false);
	if (flow->reverse_packets > 0)
		export_direction(exporter, flow, true);
}

/* Exporter thread: wait up to IDLE_WAIT_NS for records, take up to a batch. @return how many. */
static unsigned
take_batch(struct ipfix_exporter *exporter, struct flow_record *batch, bool *stop)
{
	struct timespec deadline;
	unsigned count = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += IDLE_WAIT_NS;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&exporter->lock);
	if (exporter->head == exporter->tail && !exporter->stop)
		pthread_cond_timedwait(&exporter->wake, &exporter->lock, &deadline);
	while (exporter->head != exporter->tail && count < EXPORT_BATCH)
		batch[count++] = exporter->queue[exporter->head++ % exporter->capacity];
	exporter->in_flight = count;
	*stop = exporter->stop && exporter->head == exporter->tail;
	pthread_mutex_unlock(&exporter->lock);
	return count;
}

static void
batch_done(struct ipfix_exporter *exporter)
{
	pthread_mutex_lock(&exporter->lock);
	exporter->in_flight = 0;
	pthread_mutex_unlock(&exporter->lock);
}

static void *
exporter_thread(void *argument)
{
	struct ipfix_exporter *exporter = argument;
	struct flow_record *batch = malloc(EXPORT_BATCH * sizeof(*batch));
	bool stop = false;

	while (batch != NULL && !stop) {
		unsigned count = take_batch(exporter, batch, &stop);

		for (unsigned i = 0; i < count; i++)
			export_flow(exporter, &batch[i]);
		if (count == 0 && exporter->buffer != NULL && !exporter->tcp)
			ensure_connected(exporter); /* the UDP template refresh goes on while idle */
		/* the queue is empty (or a batch is done): send now rather than hold records back */
		if (exporter->buffer != NULL && exporter->message_pending)
			emit_message(exporter);
		batch_done(exporter);
	}
	free(batch);
	disconnect_collector(exporter);
	return NULL;
}

int
ipfix_exporter_open(struct ipfix_exporter **result, const struct ipfix_exporter_settings *settings,
		    char *message, size_t message_size)
{
	struct ipfix_exporter *exporter = calloc(1, sizeof(*exporter));
	int error;

	if (exporter == NULL || settings->capacity == 0 ||
	    (exporter->queue = calloc(settings->capacity, sizeof(*exporter->queue))) == NULL) {
		free(exporter);
		snprintf(message, message_size, "cannot allocate the IPFIX buffer");
		return -ENOMEM;
	}
	snprintf(exporter->owner, sizeof(exporter->owner), "%s", settings->owner);
	snprintf(exporter->host, sizeof(exporter->host), "%s", settings->host);
	snprintf(exporter->port, sizeof(exporter->port), "%s", settings->port);
	exporter->tcp = settings->tcp;
	exporter->biflow = settings->biflow;
	exporter->observation_domain = settings->observation_domain;
	exporter->capacity = settings->capacity;
	exporter->template_refresh_ns = settings->template_refresh_ns;
	exporter->model = fbInfoModelAlloc();
	pthread_mutex_init(&exporter->lock, NULL);
	pthread_cond_init(&exporter->wake, NULL);
	error = pthread_create(&exporter->thread, NULL, exporter_thread, exporter);
	if (error != 0) {
		snprintf(message, message_size, "cannot start the IPFIX exporter thread: %s",
			 strerror(error));
		fbInfoModelFree(exporter->model);
		free(exporter->queue);
		free(exporter);
		return -error;
	}
	*result = exporter;
	return 0;
}

unsigned
ipfix_exporter_space(struct ipfix_exporter *exporter)
{
	uint64_t used;

	pthread_mutex_lock(&exporter->lock);
	used = exporter->tail - exporter->head;
	pthread_mutex_unlock(&exporter->lock);
	return exporter->capacity - used > UINT32_MAX ? UINT32_MAX
						      : (unsigned)(exporter->capacity - used);
}

void
ipfix_exporter_append(struct ipfix_exporter *exporter, const struct flow_record *records,
		      unsigned count)
{
	pthread_mutex_lock(&exporter->lock);
	for (unsigned i = 0; i < count; i++)
		exporter->queue[exporter->tail++ % exporter->capacity] = records[i];
	pthread_cond_signal(&exporter->wake);
	pthread_mutex_unlock(&exporter->lock);
}

bool
ipfix_exporter_flush(struct ipfix_exporter *exporter)
{
	bool done;

	pthread_mutex_lock(&exporter->lock);
	done = exporter->head == exporter->tail && exporter->in_flight == 0;
	pthread_cond_signal(&exporter->wake);
	pthread_mutex_unlock(&exporter->lock);
	return done;
}

void
ipfix_exporter_figures(struct ipfix_exporter *exporter, struct ipfix_exporter_figures *figures)
{
	figures->records_sent = atomic_load(&exporter->records_sent);
	figures->records_dropped = atomic_load(&exporter->records_dropped);
	figures->messages_sent = atomic_load(&exporter->messages_sent);
	figures->send_errors = atomic_load(&exporter->send_errors);
	pthread_mutex_lock(&exporter->lock);
	figures->buffer_records = exporter->tail - exporter->head + exporter->in_flight;
	pthread_mutex_unlock(&exporter->lock);
}

bool
ipfix_exporter_failure(struct ipfix_exporter *exporter, char *text, size_t size)
{
	uint64_t dropped = atomic_load(&exporter->records_dropped);

	if (dropped == 0)
		return false;
	snprintf(text, size, "%s; %" PRIu64 " records not sent (dropped_records)",
		 exporter->first_error, dropped);
	return true;
}

void
ipfix_exporter_close(struct ipfix_exporter *exporter)
{
	if (exporter == NULL)
		return;
	pthread_mutex_lock(&exporter->lock);
	exporter->stop = true;
	pthread_cond_signal(&exporter->wake);
	pthread_mutex_unlock(&exporter->lock);
	pthread_join(exporter->thread, NULL);
	fbInfoModelFree(exporter->model);
	pthread_mutex_destroy(&exporter->lock);
	pthread_cond_destroy(&exporter->wake);
	free(exporter->queue);
	free(exporter);
}
