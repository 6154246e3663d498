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

static size_t
format_src_count(const struct src_count_record *record, char *line, size_t size)
{
	char address[64], start[32], end[32];

	packet_address_format(record->source_address, address, sizeof(address));
	format_seconds(start, sizeof(start), record->start_ns);
	format_seconds(end, sizeof(end), record->end_ns);
	return (size_t)snprintf(line, size,
				"{\"type\":\"src_count\",\"kernel\":\"%s\",\"src\":\"%s\",\"pkts\":%" PRIu64
				",\"bytes\":%" PRIu64 ",\"start\":%s,\"end\":%s}\n",
				record->header.kernel, address, record->packets, record->bytes, start, end);
}

static size_t
format_alert(const struct alert_record *record, char *line, size_t size)
{
	char address[64], start[32], end[32];

	packet_address_format(record->source_address, address, sizeof(address));
	format_seconds(start, sizeof(start), record->start_ns);
	format_seconds(end, sizeof(end), record->end_ns);
	return (size_t)snprintf(line, size,
				"{\"type\":\"alert\",\"kernel\":\"%s\",\"src\":\"%s\",\"metric\":\"%s\","
				"\"value\":%" PRIu64 ",\"threshold\":%" PRIu64 ",\"start\":%s,\"end\":%s}\n",
				record->header.kernel, address,
				record->metric == THRESHOLD_METRIC_BYTES ? "bytes" : "pkts", record->value,
				record->threshold, start, end);
}

size_t
jsonl_format_record(const union any_record *record, char *line, size_t size)
{
	switch (record->header.type) {
	case STREAM_SRC_COUNT:
		return format_src_count(&record->src_count, line, size);
	case STREAM_ALERT:
		return format_alert(&record->alert, line, size);
	default:
		return 0;
	}
}
