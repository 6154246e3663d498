/* SPDX-License-Identifier: BSD-3-Clause */
#include <inttypes.h>
#include <stdio.h>

#include "outputs/jsonl.h"
#include "packet.h"

#define NANOSECONDS_PER_SECOND UINT64_C(1000000000)

/* Time as exact decimal seconds: integers in, so the same input gives the same text. */
static int
format_seconds(char *text, size_t size, uint64_t nanoseconds)
{
	return snprintf(text, size, "%" PRIu64 ".%09" PRIu64, nanoseconds / NANOSECONDS_PER_SECOND,
			nanoseconds % NANOSECONDS_PER_SECOND);
}

/* `"src":"a"`, `"dst":"b"` or both, as the record's key says. */
static void
format_key(uint32_t key, const uint8_t *source, const uint8_t *destination, char *text,
	   size_t size)
{
	char source_text[64], destination_text[64];

	packet_address_format(source, source_text, sizeof(source_text));
	packet_address_format(destination, destination_text, sizeof(destination_text));
	if (key == COUNT_KEY_DESTINATION)
		snprintf(text, size, "\"dst\":\"%s\"", destination_text);
	else if (key == COUNT_KEY_SOURCE_DESTINATION)
		snprintf(text, size, "\"src\":\"%s\",\"dst\":\"%s\"", source_text, destination_text);
	else
		snprintf(text, size, "\"src\":\"%s\"", source_text);
}

static size_t
format_src_count(const struct src_count_record *record, char *line, size_t size)
{
	char key[160], start[32], end[32];

	format_key(record->key, record->source_address, record->destination_address, key,
		   sizeof(key));
	format_seconds(start, sizeof(start), record->start_ns);
	format_seconds(end, sizeof(end), record->end_ns);
	return (size_t)snprintf(line, size,
				"{\"type\":\"src_count\",\"kernel\":\"%s\",%s,\"pkts\":%" PRIu64
				",\"bytes\":%" PRIu64 ",\"start\":%s,\"end\":%s}\n",
				record->header.kernel, key, record->packets, record->bytes, start, end);
}

static size_t
format_alert(const struct alert_record *record, char *line, size_t size)
{
	char key[160], start[32], end[32];

	format_key(record->key, record->source_address, record->destination_address, key,
		   sizeof(key));
	format_seconds(start, sizeof(start), record->start_ns);
	format_seconds(end, sizeof(end), record->end_ns);
	return (size_t)snprintf(line, size,
				"{\"type\":\"alert\",\"kernel\":\"%s\",%s,\"metric\":\"%s\","
				"\"value\":%" PRIu64 ",\"threshold\":%" PRIu64 ",\"start\":%s,\"end\":%s}\n",
				record->header.kernel, key,
				record->metric == THRESHOLD_METRIC_BYTES ? "bytes" : "pkts", record->value,
				record->threshold, start, end);
}

/* TCP flags as letters in bit order, FIN first: SYN|ACK is "SA". */
static void
format_tcp_flags(uint8_t flags, char *text)
{
	static const char letters[] = "FSRPAUEC";

	for (unsigned bit = 0; bit < 8; bit++)
		if (flags & (1u << bit))
			*text++ = letters[bit];
	*text = '\0';
}

static size_t
format_flow(const struct flow_record *record, char *line, size_t size)
{
	char source[64], destination[64], first[32], last[32], flags[9], reverse_flags[9];

	packet_address_format(record->source_address, source, sizeof(source));
	packet_address_format(record->destination_address, destination, sizeof(destination));
	format_seconds(first, sizeof(first), record->first_ns);
	format_seconds(last, sizeof(last), record->last_ns);
	format_tcp_flags(record->tcp_flags, flags);
	format_tcp_flags(record->reverse_tcp_flags, reverse_flags);
	return (size_t)snprintf(line, size,
				"{\"type\":\"flow\",\"kernel\":\"%s\",\"src\":\"%s\",\"dst\":\"%s\","
				"\"sport\":%u,\"dport\":%u,\"proto\":%u,\"pkts\":%" PRIu64
				",\"bytes\":%" PRIu64 ",\"rev_pkts\":%" PRIu64 ",\"rev_bytes\":%" PRIu64
				",\"first\":%s,\"last\":%s,\"tcp_flags\":\"%s\",\"rev_tcp_flags\":\"%s\","
				"\"end_reason\":\"%s\"}\n",
				record->header.kernel, source, destination, record->source_port,
				record->destination_port, record->protocol, record->packets, record->bytes,
				record->reverse_packets, record->reverse_bytes, first, last, flags,
				reverse_flags, flow_end_reason_name(record->end_reason));
}

static int
format_class_counts(const struct proto_stats_record *record, unsigned first, unsigned end,
		    char *text, size_t size)
{
	static const char *const names[PROTO_STATS_CLASSES] = {
		"ipv4", "ipv6", "other", "tcp", "udp", "icmp", "icmpv6", "sctp", "other",
	};
	int length = 0;

	for (unsigned c = first; c < end; c++)
		length += snprintf(text + length, size - (size_t)length,
				   "%s\"%s\":{\"pkts\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
				   c == first ? "" : ",", names[c], record->packets[c],
				   record->bytes[c]);
	return length;
}

static size_t
format_proto_stats(const struct proto_stats_record *record, char *line, size_t size)
{
	static const char *const buckets[PROTO_STATS_SIZE_BUCKETS] = {
		"64", "65-127", "128-255", "256-511", "512-1023", "1024-1518", "1519+",
	};
	char start[32], end[32], l3[256], l4[512], sizes[256];
	int length = 0;

	format_seconds(start, sizeof(start), record->start_ns);
	format_seconds(end, sizeof(end), record->end_ns);
	format_class_counts(record, PROTO_STATS_IPV4, PROTO_STATS_TCP, l3, sizeof(l3));
	format_class_counts(record, PROTO_STATS_TCP, PROTO_STATS_CLASSES, l4, sizeof(l4));
	for (unsigned b = 0; b < PROTO_STATS_SIZE_BUCKETS; b++)
		length += snprintf(sizes + length, sizeof(sizes) - (size_t)length,
				   "%s\"%s\":%" PRIu64, b == 0 ? "" : ",", buckets[b],
				   record->size_buckets[b]);
	return (size_t)snprintf(line, size,
				"{\"type\":\"proto_stats\",\"kernel\":\"%s\",\"start\":%s,\"end\":%s,"
				"\"l3\":{%s},\"l4\":{%s},\"sizes\":{%s},\"malformed\":%" PRIu64 "}\n",
				record->header.kernel, start, end, l3, l4, sizes,
				record->malformed_packets);
}

size_t
jsonl_format_record(const union any_record *record, char *line, size_t size)
{
	switch (record->header.type) {
	case STREAM_SRC_COUNT:
		return format_src_count(&record->src_count, line, size);
	case STREAM_ALERT:
		return format_alert(&record->alert, line, size);
	case STREAM_FLOW:
		return format_flow(&record->flow, line, size);
	case STREAM_PROTO_STATS:
		return format_proto_stats(&record->proto_stats, line, size);
	default:
		return 0;
	}
}
