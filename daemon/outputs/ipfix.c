/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPFIX export: a bounded queue of flow records between the sink thread and
 * an exporter thread, which alone touches libfixbuf and the socket.
 * libfixbuf encodes each message into a buffer of ours (an exporter over a
 * buffer, not its own sockets: those block with no deadline); the thread
 * sends it on a non-blocking socket with a deadline, keeps it until it is
 * sent, and on a failure reconnects (templates first) with a backoff.
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <fixbuf/public.h>

#include "clock.h"
#include "log_journal.h"
#include "outputs/ipfix.h"
#include "outputs/output_thread.h"
#include "packet.h"

/* Flow records the exporter thread takes out of the queue at a time. */
#define EXPORT_BATCH 256
/* How long the exporter thread sleeps when nothing comes: bounds a refresh's delay. */
#define IDLE_WAIT_NS (100 * 1000 * 1000ull)
/* The contract's backoff between attempts: 100 ms doubling to 5 s. */
#define BACKOFF_FIRST_NS (100 * 1000 * 1000ull)
#define BACKOFF_MAX_NS (5 * 1000 * 1000 * 1000ull)
/* A failure that goes on with the same text is logged again this often. */
#define ERROR_LOG_INTERVAL_NS (60 * 1000 * 1000 * 1000ull)
/*
 * Message sizes. UDP: a datagram that fits an Ethernet MTU of 1500 less the
 * IPv6 and UDP headers (1452), with room left for a tunnel; a fragmented
 * datagram is lost whole when one fragment is. TCP: the largest message
 * (the header's 16-bit length).
 */
#define UDP_MESSAGE_SIZE 1400
#define TCP_MESSAGE_SIZE 65535
/* Where the sequence number sits in the IPFIX message header (RFC 7011 section 3.1). */
#define HEADER_SEQUENCE_OFFSET 8

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
 * one function fills both families. octetDeltaCount is the IP-level bytes
 * (RFC 7012: the IP header and payload), layer2OctetDeltaCount frame.len.
 */
struct export_common {
	uint64_t flow_start_milliseconds;
	uint64_t flow_end_milliseconds;
	uint64_t packet_delta_count;
	uint64_t octet_delta_count;
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
	{"packetDeltaCount", 8, 0}, {"octetDeltaCount", 8, 0}, {"layer2OctetDeltaCount", 8, 0},    \
	{"sourceTransportPort", 2, 0}, {"destinationTransportPort", 2, 0},                         \
	{"tcpControlBits", 2, 0}, {"protocolIdentifier", 1, 0}, {"flowEndReason", 1, 0}

#define IPV4_ELEMENTS {"sourceIPv4Address", 4, 0}, {"destinationIPv4Address", 4, 0}
#define IPV6_ELEMENTS {"sourceIPv6Address", 16, 0}, {"destinationIPv6Address", 16, 0}

/* Elements with this flag are in the internal templates only (padding of the structs). */
#define INTERNAL_ONLY 1u

/* RFC 5103: the reverse direction's figures (libfixbuf's reverse elements, PEN 29305). */
struct export_reverse {
	uint64_t reverse_packet_delta_count;
	uint64_t reverse_octet_delta_count;
	uint64_t reverse_layer2_octet_delta_count;
	uint16_t reverse_tcp_control_bits;
	uint8_t padding[6];
};

#define REVERSE_ELEMENTS                                                                           \
	{"reversePacketDeltaCount", 8, 0}, {"reverseOctetDeltaCount", 8, 0},                       \
	{"reverseLayer2OctetDeltaCount", 8, 0}, {"reverseTcpControlBits", 2, 0},                   \
	{"paddingOctets", 6, INTERNAL_ONLY}

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

_Static_assert(sizeof(struct export_ipv4) == 56, "export_ipv4 must match ipv4_elements");
_Static_assert(sizeof(struct export_ipv6) == 80, "export_ipv6 must match ipv6_elements");
_Static_assert(sizeof(struct export_biflow_ipv4) == 88, "must match biflow_ipv4_elements");
_Static_assert(sizeof(struct export_biflow_ipv6) == 112, "must match biflow_ipv6_elements");

/* A message encoded and not yet sent: kept whole until it is, or until the drain deadline. */
struct outgoing_message {
	uint8_t *bytes;   /* message_size bytes */
	size_t length;
	uint64_t records; /* IPFIX data records in it */
	bool waiting;
};

struct ipfix_exporter {
	/* set at open, read-only after */
	char owner[64];
	char host[256];
	char port[16];
	bool tcp;
	bool biflow;
	uint64_t capacity;
	uint64_t template_refresh_ns;
	size_t message_size;
	int wake_fd;                /* eventfd: a flush's deadline or a close interrupts a poll() */
	pthread_t thread;

	/* under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake;        /* CLOCK_MONOTONIC */
	struct flow_record *queue;  /* capacity entries, a ring */
	uint64_t head, tail;        /* producer: tail, exporter thread: head */
	uint64_t batch_left;        /* flows the exporter thread took and did not encode yet */
	bool busy;                  /* the exporter thread holds records not delivered yet */
	bool stop;
	uint64_t drain_deadline_ns; /* CLOCK_MONOTONIC; 0: no flush asked yet */
	uint64_t buffer_max_bytes;
	char last_error[256];       /* the text of the last failure */

	/* exporter thread: wo (dropped_sink_full: producer: wo); any thread: ro */
	_Atomic uint64_t records, dropped_sink_full, dropped_refused, dropped_drain_timeout;
	_Atomic uint64_t batches, retries, bytes, last_error_seconds;

	/* exporter thread only (the fBuf is made at open, before the thread starts) */
	fbInfoModel_t *model;
	fBuf_t *buffer;             /* owns the session and the exporter over @scratch */
	fbExporter_t *fixbuf_exporter;
	uint8_t *scratch;           /* message_size bytes: fBufEmit() writes each message here */
	int socket;                 /* -1 while not connected */
	uint64_t records_in_message; /* data records in the message being built */
	bool message_pending;       /* records wait in the message being built */
	struct outgoing_message outgoing;
	uint64_t templates_sent_ns; /* CLOCK_MONOTONIC */
	uint64_t next_attempt_ns;   /* CLOCK_MONOTONIC: no new attempt before */
	uint64_t backoff_ns;
	bool failing;               /* the last attempt failed */
	char logged_error[256];     /* the failure last logged, and when */
	uint64_t logged_error_ns;
	struct flow_record *batch;  /* EXPORT_BATCH entries */
	unsigned batch_count, batch_next; /* taken, and the flow being encoded */
	unsigned part_next;         /* its next IPFIX record (direction) */
};

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
 * Open (control thread): one session for the exporter's life, so sequence
 * numbers go on across reconnections; its messages are written to @scratch.
 */
static bool
create_buffer(struct ipfix_exporter *exporter, uint32_t observation_domain, GError **error)
{
	fbSession_t *session = fbSessionAlloc(exporter->model);

	fbSessionSetDomain(session, observation_domain); /* templates belong to a domain */
	if (!add_templates(exporter, session, error)) {
		fbSessionFree(session);
		return false;
	}
	exporter->fixbuf_exporter = fbExporterAllocBuffer(exporter->scratch,
							  (uint16_t)exporter->message_size);
	exporter->buffer = fBufAllocForExport(session, exporter->fixbuf_exporter); /* owns both */
	fBufSetAutomaticMode(exporter->buffer, FALSE);
	return true;
}

/* ---- the socket ----------------------------------------------------------- */

static uint64_t
drain_deadline(struct ipfix_exporter *exporter)
{
	uint64_t deadline;

	pthread_mutex_lock(&exporter->lock);
	deadline = exporter->drain_deadline_ns;
	pthread_mutex_unlock(&exporter->lock);
	return deadline;
}

static bool
drain_expired(struct ipfix_exporter *exporter)
{
	uint64_t deadline = drain_deadline(exporter);

	return deadline != 0 && clock_monotonic_ns() >= deadline;
}

/*
 * Exporter thread: wait until @p fd can take bytes, at most until
 * @p deadline_ns or the drain deadline. @return 0, or -ETIMEDOUT, or
 * -ECANCELED once the drain deadline passed.
 */
static int
wait_writable(struct ipfix_exporter *exporter, int fd, uint64_t deadline_ns)
{
	for (;;) {
		struct pollfd fds[2] = {{.fd = fd, .events = POLLOUT},
					{.fd = exporter->wake_fd, .events = POLLIN}};
		uint64_t drain = drain_deadline(exporter), now = clock_monotonic_ns(), until;
		uint64_t counter;

		until = drain != 0 && drain < deadline_ns ? drain : deadline_ns;
		if (now >= until)
			return drain != 0 && now >= drain ? -ECANCELED : -ETIMEDOUT;
		if (poll(fds, 2, (int)((until - now + 999999) / 1000000)) < 0 && errno != EINTR)
			return -errno;
		if (fds[1].revents & POLLIN)
			(void)!read(exporter->wake_fd, &counter, sizeof(counter)); /* the deadline is re-read */
		if (fds[0].revents != 0)
			return 0; /* writable, or an error the next send() reports */
	}
}

static void
close_socket(struct ipfix_exporter *exporter)
{
	if (exporter->socket >= 0)
		close(exporter->socket);
	exporter->socket = -1;
}

/* A non-blocking socket connecting to @p address: @return it, or -1 with @p text. */
static int
connect_address(struct ipfix_exporter *exporter, const struct addrinfo *address, char *text,
		size_t size)
{
	int fd = socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			address->ai_protocol);
	int error = 0, waited;
	socklen_t length = sizeof(error);

	if (fd < 0) {
		snprintf(text, size, "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, address->ai_addr, address->ai_addrlen) == 0)
		return fd; /* UDP, or a TCP connection on the loopback */
	if (errno != EINPROGRESS) {
		error = errno;
	} else if ((waited = wait_writable(exporter, fd,
					   clock_monotonic_ns() + IPFIX_SEND_DEADLINE_NS)) != 0) {
		error = -waited;
	} else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
		error = errno;
	}
	if (error == 0)
		return fd;
	snprintf(text, size, "connect: %s", strerror(error));
	close(fd);
	return -1;
}

/* Exporter thread: connect to the collector (any of its addresses). @return false with @p text. */
static bool
connect_collector(struct ipfix_exporter *exporter, char *text, size_t size)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = exporter->tcp ? SOCK_STREAM : SOCK_DGRAM};
	struct addrinfo *addresses;
	int error = getaddrinfo(exporter->host, exporter->port, &hints, &addresses);

	if (error != 0) {
		snprintf(text, size, "cannot resolve %s: %s", exporter->host, gai_strerror(error));
		return false;
	}
	for (const struct addrinfo *address = addresses; address != NULL && exporter->socket < 0;
	     address = address->ai_next)
		exporter->socket = connect_address(exporter, address, text, size);
	freeaddrinfo(addresses);
	return exporter->socket >= 0;
}

/*
 * Exporter thread: send all of one message before IPFIX_SEND_DEADLINE_NS.
 * Over UDP the socket is connected, so an ICMP port unreachable for an
 * earlier datagram fails this send with ECONNREFUSED. @return false with @p text.
 */
static bool
transmit(struct ipfix_exporter *exporter, const uint8_t *bytes, size_t length, char *text,
	 size_t size)
{
	uint64_t deadline = clock_monotonic_ns() + IPFIX_SEND_DEADLINE_NS;
	size_t sent = 0;

	while (sent < length) {
		ssize_t written = send(exporter->socket, bytes + sent, length - sent,
				       MSG_NOSIGNAL | MSG_DONTWAIT);
		int waited;

		if (written >= 0) {
			sent += (size_t)written;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			snprintf(text, size, "send: %s", strerror(errno));
			return false;
		}
		waited = wait_writable(exporter, exporter->socket, deadline);
		if (waited == -ETIMEDOUT) {
			snprintf(text, size, "send: the collector took no data for %llu s",
				 IPFIX_SEND_DEADLINE_NS / 1000000000ull);
			return false;
		}
		if (waited != 0) {
			snprintf(text, size, "send: %s", waited == -ECANCELED ? "drain_timeout passed"
									       : strerror(-waited));
			return false;
		}
	}
	return true;
}

/* ---- failures and the backoff --------------------------------------------- */

/*
 * Exporter thread: an attempt failed with @p text: the connection is
 * dropped, the next attempt waits for the backoff. Logged when the text
 * changes, then once a minute while it persists.
 */
static void
note_failure(struct ipfix_exporter *exporter, const char *text)
{
	uint64_t now = clock_monotonic_ns();

	close_socket(exporter);
	if (drain_expired(exporter))
		return; /* not a failure of the collector's, and nothing is retried */
	atomic_fetch_add(&exporter->retries, 1);
	atomic_store(&exporter->last_error_seconds, (uint64_t)time(NULL));
	pthread_mutex_lock(&exporter->lock);
	snprintf(exporter->last_error, sizeof(exporter->last_error), "%s", text);
	pthread_mutex_unlock(&exporter->lock);
	if (strcmp(text, exporter->logged_error) != 0 ||
	    now - exporter->logged_error_ns >= ERROR_LOG_INTERVAL_NS) {
		log_warning("%s: IPFIX export to %s:%s failed: %s (retried with a backoff; records "
			    "wait in the buffer)", exporter->owner, exporter->host, exporter->port,
			    text);
		snprintf(exporter->logged_error, sizeof(exporter->logged_error), "%s", text);
		exporter->logged_error_ns = now;
	}
	if (!exporter->failing)
		exporter->backoff_ns = BACKOFF_FIRST_NS;
	exporter->failing = true;
	exporter->next_attempt_ns = now + exporter->backoff_ns;
	exporter->backoff_ns = exporter->backoff_ns * 2 < BACKOFF_MAX_NS ? exporter->backoff_ns * 2
									: BACKOFF_MAX_NS;
}

static void
note_success(struct ipfix_exporter *exporter)
{
	if (exporter->failing)
		log_info("%s: IPFIX export to %s:%s works again", exporter->owner, exporter->host,
			 exporter->port);
	exporter->failing = false;
	exporter->logged_error[0] = '\0';
}

/* ---- messages ------------------------------------------------------------- */

/* Exporter thread: encode what the fBuf holds into @scratch. @return its length (0: none). */
static size_t
emit_scratch(struct ipfix_exporter *exporter)
{
	GError *error = NULL;

	if (!fBufEmit(exporter->buffer, &error)) { /* into memory: cannot fail */
		log_error("%s: IPFIX encoding failed: %s", exporter->owner, error->message);
		g_clear_error(&error);
		return 0;
	}
	return fbExporterGetMsgLen(exporter->fixbuf_exporter);
}

static void
count_delivered(struct ipfix_exporter *exporter, size_t length, uint64_t records)
{
	atomic_fetch_add(&exporter->batches, 1);
	atomic_fetch_add(&exporter->bytes, length);
	atomic_fetch_add(&exporter->records, records);
}

/*
 * Exporter thread: the templates alone in a message, sent now. Its header
 * takes @p sequence: after a failure the session's number is already past
 * the message that waits (libfixbuf counted it), which goes next.
 */
static bool
send_templates(struct ipfix_exporter *exporter, const uint8_t *sequence)
{
	char text[256];
	GError *error = NULL;
	size_t length;
	bool exported;

	fBufSetAutomaticMode(exporter->buffer, TRUE); /* libfixbuf writes templates only so */
	exported = fbSessionExportTemplates(fBufGetSession(exporter->buffer), &error);
	fBufSetAutomaticMode(exporter->buffer, FALSE);
	if (!exported) {
		snprintf(text, sizeof(text), "templates: %s", error->message);
		g_clear_error(&error);
		note_failure(exporter, text);
		return false;
	}
	length = emit_scratch(exporter);
	if (sequence != NULL)
		memcpy(exporter->scratch + HEADER_SEQUENCE_OFFSET, sequence, 4);
	if (!transmit(exporter, exporter->scratch, length, text, sizeof(text))) {
		note_failure(exporter, text);
		return false;
	}
	count_delivered(exporter, length, 0);
	exporter->templates_sent_ns = clock_monotonic_ns();
	return true;
}

/* Exporter thread: one attempt at the waiting message (connecting first, templates first). */
static void
send_outgoing(struct ipfix_exporter *exporter)
{
	struct outgoing_message *outgoing = &exporter->outgoing;
	char text[256];

	if (exporter->socket < 0) {
		if (!connect_collector(exporter, text, sizeof(text))) {
			note_failure(exporter, text);
			return;
		}
		if (!send_templates(exporter, outgoing->bytes + HEADER_SEQUENCE_OFFSET))
			return;
	}
	if (!transmit(exporter, outgoing->bytes, outgoing->length, text, sizeof(text))) {
		note_failure(exporter, text);
		return;
	}
	count_delivered(exporter, outgoing->length, outgoing->records);
	outgoing->waiting = false;
	note_success(exporter);
}

/* Exporter thread: encode the message being built and try to send it. @return whether it went. */
static bool
send_message(struct ipfix_exporter *exporter)
{
	struct outgoing_message *outgoing = &exporter->outgoing;

	if (exporter->records_in_message == 0) {
		/*
		 * libfixbuf leaves its buffer ended after templates written in
		 * automatic mode, so the first append after them reports a full
		 * message that holds nothing: an emit starts a new one (what it
		 * writes into @scratch is not a message to send).
		 */
		emit_scratch(exporter);
		exporter->message_pending = false;
		return true;
	}
	outgoing->length = emit_scratch(exporter);
	memcpy(outgoing->bytes, exporter->scratch, outgoing->length); /* @scratch takes the templates */
	outgoing->records = exporter->records_in_message;
	outgoing->waiting = outgoing->length > 0;
	exporter->records_in_message = 0;
	exporter->message_pending = false;
	if (outgoing->waiting)
		send_outgoing(exporter);
	return !outgoing->waiting;
}

/*
 * Exporter thread, over UDP: the templates again once template_refresh
 * passed. @return false when the message before them waits to be sent again.
 */
static bool
refresh_templates(struct ipfix_exporter *exporter)
{
	if (exporter->tcp || exporter->socket < 0 ||
	    clock_monotonic_ns() - exporter->templates_sent_ns < exporter->template_refresh_ns)
		return true;
	if (exporter->message_pending && !send_message(exporter))
		return false;
	if (exporter->socket >= 0)
		send_templates(exporter, NULL); /* on a failure the next message reconnects */
	return true;
}

/* ---- records -------------------------------------------------------------- */

static uint32_t
ipv4_from_mapped(const uint8_t address[16])
{
	return (uint32_t)address[12] << 24 | (uint32_t)address[13] << 16 |
	       (uint32_t)address[14] << 8 | address[15];
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
		.octet_delta_count = reverse ? flow->reverse_ip_bytes : flow->ip_bytes,
		.layer2_octet_delta_count = reverse ? flow->reverse_bytes : flow->bytes,
		.source_transport_port = reverse ? flow->destination_port : flow->source_port,
		.destination_transport_port = reverse ? flow->source_port : flow->destination_port,
		.tcp_control_bits = reverse ? flow->reverse_tcp_flags : flow->tcp_flags,
		.protocol_identifier = flow->protocol,
		.flow_end_reason = ipfix_end_reason(flow->end_reason),
	};

	if (packet_address_is_ipv4(source)) {
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

/* One IPFIX record of a flow, in any of the four layouts, and its template. */
struct export_record {
	union {
		union export_direction direction;
		struct export_biflow_ipv4 biflow_ipv4;
		struct export_biflow_ipv6 biflow_ipv6;
	} layout;
	uint16_t template_id;
	size_t size;
};

/* RFC 5103: the initiator's direction, with the responder's figures as reverse elements. */
static void
fill_biflow(const struct flow_record *flow, struct export_record *record)
{
	struct export_reverse reverse = {
		.reverse_packet_delta_count = flow->reverse_packets,
		.reverse_octet_delta_count = flow->reverse_ip_bytes,
		.reverse_layer2_octet_delta_count = flow->reverse_bytes,
		.reverse_tcp_control_bits = flow->reverse_tcp_flags,
	};
	union export_direction forward;

	if (fill_direction(flow, false, &forward)) {
		record->layout.biflow_ipv4 = (struct export_biflow_ipv4){.forward = forward.ipv4,
									 .reverse = reverse};
		record->template_id = IPFIX_TEMPLATE_ID_BIFLOW_IPV4;
		record->size = sizeof(record->layout.biflow_ipv4);
	} else {
		record->layout.biflow_ipv6 = (struct export_biflow_ipv6){.forward = forward.ipv6,
									 .reverse = reverse};
		record->template_id = IPFIX_TEMPLATE_ID_BIFLOW_IPV6;
		record->size = sizeof(record->layout.biflow_ipv6);
	}
}

/*
 * The IPFIX records @p flow makes: with biflow one, else one per direction
 * that sent packets; @p reverse says which direction each is.
 */
static unsigned
record_parts(bool biflow, const struct flow_record *flow, bool reverse[2])
{
	unsigned parts = 0;

	if (biflow) {
		reverse[0] = false;
		return 1;
	}
	if (flow->packets > 0)
		reverse[parts++] = false;
	if (flow->reverse_packets > 0)
		reverse[parts++] = true;
	return parts;
}

/* IPFIX records of @p count flows. */
static uint64_t
count_parts(bool biflow, const struct flow_record *flows, uint64_t count)
{
	uint64_t parts = 0;
	bool reverse[2];

	for (uint64_t i = 0; i < count; i++)
		parts += record_parts(biflow, &flows[i], reverse);
	return parts;
}

static void
fill_record(bool biflow, const struct flow_record *flow, bool reverse, struct export_record *record)
{
	if (biflow) {
		fill_biflow(flow, record);
	} else if (fill_direction(flow, reverse, &record->layout.direction)) {
		record->template_id = IPFIX_TEMPLATE_ID_IPV4;
		record->size = sizeof(record->layout.direction.ipv4);
	} else {
		record->template_id = IPFIX_TEMPLATE_ID_IPV6;
		record->size = sizeof(record->layout.direction.ipv6);
	}
}

/* The outcome of adding one record to the message being built. */
enum append_result { APPENDED, MESSAGE_FULL, NOT_ENCODED };

/* Exporter thread: one IPFIX record into the message being built. */
static enum append_result
append_record(struct ipfix_exporter *exporter, const struct export_record *record)
{
	GError *error = NULL;

	if (fBufSetInternalTemplate(exporter->buffer, record->template_id, &error) &&
	    fBufSetExportTemplate(exporter->buffer, record->template_id, &error) &&
	    fBufAppend(exporter->buffer, (uint8_t *)&record->layout, record->size, &error)) {
		exporter->records_in_message++;
		exporter->message_pending = true;
		return APPENDED;
	}
	if (g_error_matches(error, FB_ERROR_DOMAIN, FB_ERROR_EOM)) {
		g_clear_error(&error);
		return MESSAGE_FULL;
	}
	/* the templates are ours and fixed: a bug, so said once per record and counted */
	log_error("%s: IPFIX encoding failed: %s", exporter->owner, error->message);
	g_clear_error(&error);
	return NOT_ENCODED;
}

/*
 * Exporter thread: encode the batch from where it stopped, sending each full
 * message. @return false when a message failed: it waits, and the batch
 * goes on after it is sent.
 */
static bool
export_batch(struct ipfix_exporter *exporter)
{
	unsigned empty_restarts = 0; /* full reports on an empty message in a row */

	while (exporter->batch_next < exporter->batch_count) {
		const struct flow_record *flow = &exporter->batch[exporter->batch_next];
		struct export_record record;
		bool reverse[2];

		if (exporter->part_next == record_parts(exporter->biflow, flow, reverse)) {
			exporter->batch_next++;
			exporter->part_next = 0;
			continue;
		}
		if (!refresh_templates(exporter))
			return false;
		fill_record(exporter->biflow, flow, reverse[exporter->part_next], &record);
		switch (append_record(exporter, &record)) {
		case MESSAGE_FULL: /* the record goes into the next message */
			if (exporter->records_in_message == 0 && empty_restarts++ > 0) {
				log_error("%s: an IPFIX record does not fit an empty message",
					  exporter->owner);
				atomic_fetch_add(&exporter->dropped_refused, 1);
				exporter->part_next++;
				break;
			}
			if (!send_message(exporter))
				return false;
			break;
		case NOT_ENCODED:
			atomic_fetch_add(&exporter->dropped_refused, 1);
			/* fall through */
		case APPENDED:
			exporter->part_next++;
			empty_restarts = 0;
			break;
		}
	}
	return true;
}

/* ---- the exporter thread -------------------------------------------------- */

/* Exporter thread: the drain deadline passed: every record not delivered is dropped. */
static void
drop_undelivered(struct ipfix_exporter *exporter)
{
	uint64_t dropped = 0;
	bool reverse[2];

	if (exporter->outgoing.waiting)
		dropped += exporter->outgoing.records;
	exporter->outgoing.waiting = false;
	if (exporter->message_pending)
		emit_scratch(exporter); /* empties the fBuf; the message is not sent */
	dropped += exporter->records_in_message;
	exporter->records_in_message = 0;
	exporter->message_pending = false;
	if (exporter->batch_next < exporter->batch_count) {
		const struct flow_record *flow = &exporter->batch[exporter->batch_next];

		dropped += record_parts(exporter->biflow, flow, reverse) - exporter->part_next;
		dropped += count_parts(exporter->biflow, flow + 1,
				       exporter->batch_count - exporter->batch_next - 1);
	}
	exporter->batch_next = exporter->batch_count;
	exporter->part_next = 0;
	pthread_mutex_lock(&exporter->lock);
	for (; exporter->head != exporter->tail; exporter->head++)
		dropped += count_parts(exporter->biflow,
				       &exporter->queue[exporter->head % exporter->capacity], 1);
	pthread_mutex_unlock(&exporter->lock);
	atomic_fetch_add(&exporter->dropped_drain_timeout, dropped);
	close_socket(exporter); /* a collector that stopped reading must not hold the next records */
}

static bool
holds_records(const struct ipfix_exporter *exporter)
{
	return exporter->batch_next < exporter->batch_count || exporter->message_pending ||
	       exporter->outgoing.waiting;
}

/* Exporter thread: say (under lock) what it holds, for a flush and the gauges. */
static void
publish_state(struct ipfix_exporter *exporter)
{
	pthread_mutex_lock(&exporter->lock);
	exporter->busy = holds_records(exporter);
	exporter->batch_left = exporter->batch_count - exporter->batch_next;
	pthread_mutex_unlock(&exporter->lock);
}

static struct timespec
monotonic_timespec(uint64_t ns)
{
	return (struct timespec){.tv_sec = (time_t)(ns / 1000000000u),
				 .tv_nsec = (long)(ns % 1000000000u)};
}

/* Exporter thread, under lock: sleep until @p until_ns at most (a signal ends it sooner). */
static void
wait_locked(struct ipfix_exporter *exporter, uint64_t until_ns)
{
	struct timespec deadline;

	/*
	 * The drain deadline cuts a wait only while records are held: once it
	 * has passed with nothing held (a finished sink not closed yet), a wait
	 * cut to it would return at once, and the thread would spin.
	 */
	if (exporter->drain_deadline_ns != 0 && exporter->drain_deadline_ns < until_ns &&
	    (holds_records(exporter) || exporter->head != exporter->tail))
		until_ns = exporter->drain_deadline_ns;
	if (until_ns <= clock_monotonic_ns())
		return;
	deadline = monotonic_timespec(until_ns);
	pthread_cond_timedwait(&exporter->wake, &exporter->lock, &deadline);
}

/* Exporter thread: a message waits to be sent again: sleep until the backoff ends. */
static void
wait_for_attempt(struct ipfix_exporter *exporter)
{
	pthread_mutex_lock(&exporter->lock);
	if (!exporter->stop)
		wait_locked(exporter, exporter->next_attempt_ns);
	pthread_mutex_unlock(&exporter->lock);
}

/*
 * Exporter thread: take up to a batch of flows, waiting up to IDLE_WAIT_NS
 * for one when @p wait. @return how many; @p finished once stopped with
 * nothing left.
 */
static unsigned
take_batch(struct ipfix_exporter *exporter, bool wait, bool *finished)
{
	unsigned count = 0;

	pthread_mutex_lock(&exporter->lock);
	if (exporter->head == exporter->tail && !exporter->stop && wait)
		wait_locked(exporter, clock_monotonic_ns() + IDLE_WAIT_NS);
	while (exporter->head != exporter->tail && count < EXPORT_BATCH)
		exporter->batch[count++] = exporter->queue[exporter->head++ % exporter->capacity];
	exporter->batch_count = count;
	exporter->batch_next = 0;
	exporter->part_next = 0;
	exporter->batch_left = count;
	exporter->busy = holds_records(exporter);
	*finished = exporter->stop && exporter->head == exporter->tail && !exporter->busy;
	pthread_mutex_unlock(&exporter->lock);
	return count;
}

/* Exporter thread: what to do next, from the oldest record held. @return false to end. */
static bool
exporter_step(struct ipfix_exporter *exporter)
{
	bool finished = false;

	if (drain_expired(exporter))
		drop_undelivered(exporter);
	if (exporter->outgoing.waiting) {
		if (clock_monotonic_ns() < exporter->next_attempt_ns)
			wait_for_attempt(exporter);
		else
			send_outgoing(exporter);
	} else if (exporter->batch_next < exporter->batch_count) {
		export_batch(exporter);
	} else if (take_batch(exporter, !exporter->message_pending, &finished) == 0) {
		/* the queue is empty: send now rather than hold records back */
		if (exporter->message_pending)
			send_message(exporter);
		else
			refresh_templates(exporter); /* over UDP, the refresh goes on while idle */
	}
	publish_state(exporter);
	return !finished;
}

static void *
exporter_thread(void *argument)
{
	struct ipfix_exporter *exporter = argument;

	while (exporter_step(exporter))
		;
	close_socket(exporter);
	return NULL;
}

/* ---- the producer's side -------------------------------------------------- */

static void
free_exporter(struct ipfix_exporter *exporter)
{
	if (exporter->buffer != NULL)
		fBufFree(exporter->buffer); /* frees the session and libfixbuf's exporter */
	if (exporter->model != NULL)
		fbInfoModelFree(exporter->model);
	if (exporter->wake_fd >= 0)
		close(exporter->wake_fd);
	free(exporter->scratch);
	free(exporter->outgoing.bytes);
	free(exporter->batch);
	free(exporter->queue);
	free(exporter);
}

/* Open: the parts that cannot fail but for memory. @return false when one is missing. */
static bool
allocate_exporter(struct ipfix_exporter *exporter, uint64_t capacity)
{
	exporter->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	exporter->socket = -1;
	exporter->scratch = malloc(exporter->message_size);
	exporter->outgoing.bytes = malloc(exporter->message_size);
	exporter->batch = malloc(EXPORT_BATCH * sizeof(*exporter->batch));
	exporter->queue = capacity > 0 ? calloc(capacity, sizeof(*exporter->queue)) : NULL;
	exporter->model = fbInfoModelAlloc();
	return exporter->wake_fd >= 0 && exporter->scratch != NULL &&
	       exporter->outgoing.bytes != NULL && exporter->batch != NULL &&
	       exporter->queue != NULL;
}

static void
copy_settings(struct ipfix_exporter *exporter, const struct ipfix_exporter_settings *settings)
{
	snprintf(exporter->owner, sizeof(exporter->owner), "%s", settings->owner);
	snprintf(exporter->host, sizeof(exporter->host), "%s", settings->host);
	snprintf(exporter->port, sizeof(exporter->port), "%s", settings->port);
	exporter->tcp = settings->tcp;
	exporter->biflow = settings->biflow;
	exporter->capacity = settings->capacity;
	exporter->template_refresh_ns = settings->template_refresh_ns;
	exporter->message_size = settings->tcp ? TCP_MESSAGE_SIZE : UDP_MESSAGE_SIZE;
}

/* Open: the lock, and a condition variable on CLOCK_MONOTONIC (the clock of every deadline here). */
static void
init_lock(struct ipfix_exporter *exporter)
{
	pthread_condattr_t attributes;

	pthread_mutex_init(&exporter->lock, NULL);
	pthread_condattr_init(&attributes);
	pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
	pthread_cond_init(&exporter->wake, &attributes);
	pthread_condattr_destroy(&attributes);
}

int
ipfix_exporter_open(struct ipfix_exporter **result, const struct ipfix_exporter_settings *settings,
		    char *message, size_t message_size)
{
	struct ipfix_exporter *exporter = calloc(1, sizeof(*exporter));
	GError *fixbuf_error = NULL;
	int error;

	if (exporter == NULL) {
		snprintf(message, message_size, "cannot allocate the IPFIX exporter");
		return -ENOMEM;
	}
	copy_settings(exporter, settings);
	if (!allocate_exporter(exporter, settings->capacity)) {
		free_exporter(exporter);
		snprintf(message, message_size, "cannot allocate the IPFIX buffer");
		return -ENOMEM;
	}
	if (!create_buffer(exporter, settings->observation_domain, &fixbuf_error)) {
		snprintf(message, message_size, "IPFIX templates: %s", fixbuf_error->message);
		g_clear_error(&fixbuf_error);
		free_exporter(exporter);
		return -EINVAL;
	}
	init_lock(exporter);
	error = output_thread_start(&exporter->thread, exporter_thread, exporter, exporter->owner);
	if (error != 0) {
		snprintf(message, message_size, "cannot start the IPFIX exporter thread: %s",
			 strerror(-error));
		pthread_mutex_destroy(&exporter->lock);
		pthread_cond_destroy(&exporter->wake);
		free_exporter(exporter);
		return error;
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
	uint64_t waiting;

	pthread_mutex_lock(&exporter->lock);
	for (unsigned i = 0; i < count; i++)
		exporter->queue[exporter->tail++ % exporter->capacity] = records[i];
	waiting = (exporter->tail - exporter->head + exporter->batch_left) * sizeof(*records);
	if (waiting > exporter->buffer_max_bytes)
		exporter->buffer_max_bytes = waiting;
	pthread_cond_signal(&exporter->wake);
	pthread_mutex_unlock(&exporter->lock);
}

void
ipfix_exporter_count_full(struct ipfix_exporter *exporter, const struct flow_record *records,
			  unsigned count)
{
	atomic_fetch_add(&exporter->dropped_sink_full, count_parts(exporter->biflow, records, count));
}

bool
ipfix_exporter_flush(struct ipfix_exporter *exporter, uint64_t deadline_ns)
{
	uint64_t one = 1;
	bool done, first;

	pthread_mutex_lock(&exporter->lock);
	first = exporter->drain_deadline_ns == 0;
	if (first)
		exporter->drain_deadline_ns = deadline_ns != 0 ? deadline_ns : 1;
	done = exporter->head == exporter->tail && !exporter->busy;
	pthread_cond_signal(&exporter->wake);
	pthread_mutex_unlock(&exporter->lock);
	if (first) /* a send waiting in poll() takes the deadline in */
		(void)!write(exporter->wake_fd, &one, sizeof(one));
	return done;
}

void
ipfix_exporter_figures(struct ipfix_exporter *exporter, struct delivery_figures *figures)
{
	figures->records = atomic_load(&exporter->records);
	figures->dropped_sink_full = atomic_load(&exporter->dropped_sink_full);
	figures->dropped_drain_timeout = atomic_load(&exporter->dropped_drain_timeout);
	figures->dropped_refused = atomic_load(&exporter->dropped_refused);
	figures->batches = atomic_load(&exporter->batches);
	figures->retries = atomic_load(&exporter->retries);
	figures->bytes = atomic_load(&exporter->bytes);
	figures->last_error_seconds = atomic_load(&exporter->last_error_seconds);
	figures->dropped_records = figures->dropped_sink_full + figures->dropped_refused +
				   figures->dropped_drain_timeout;
	pthread_mutex_lock(&exporter->lock);
	figures->buffer_bytes =
		(exporter->tail - exporter->head + exporter->batch_left) * sizeof(struct flow_record);
	figures->buffer_max_bytes = exporter->buffer_max_bytes;
	pthread_mutex_unlock(&exporter->lock);
}

bool
ipfix_exporter_failure(struct ipfix_exporter *exporter, char *text, size_t size)
{
	struct delivery_figures figures;
	uint64_t dropped;

	ipfix_exporter_figures(exporter, &figures);
	dropped = figures.dropped_records;
	if (dropped == 0)
		return false;
	pthread_mutex_lock(&exporter->lock);
	snprintf(text, size, "%s; %" PRIu64 " records not sent (dropped_records)",
		 exporter->last_error[0] != '\0' ? exporter->last_error
						 : "the buffer was full (when_full: drop)",
		 dropped);
	pthread_mutex_unlock(&exporter->lock);
	return true;
}

void
ipfix_exporter_close(struct ipfix_exporter *exporter)
{
	uint64_t one = 1, now = clock_monotonic_ns();

	if (exporter == NULL)
		return;
	pthread_mutex_lock(&exporter->lock);
	exporter->stop = true;
	if (exporter->drain_deadline_ns == 0 || exporter->drain_deadline_ns > now)
		exporter->drain_deadline_ns = now; /* a close never waits on the network */
	pthread_cond_signal(&exporter->wake);
	pthread_mutex_unlock(&exporter->lock);
	(void)!write(exporter->wake_fd, &one, sizeof(one));
	pthread_join(exporter->thread, NULL);
	pthread_mutex_destroy(&exporter->lock);
	pthread_cond_destroy(&exporter->wake);
	free_exporter(exporter);
}
