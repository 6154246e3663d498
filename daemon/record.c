/* SPDX-License-Identifier: BSD-3-Clause */
#include <rte_common.h>
#include <rte_mbuf.h>

#include "record.h"

const char *
stream_type_name(enum stream_type type)
{
	switch (type) {
	case STREAM_NONE:
		return "none";
	case STREAM_PACKET:
		return "pkt";
	case STREAM_SRC_COUNT:
		return "src_count";
	case STREAM_ALERT:
		return "alert";
	case STREAM_FLOW:
		return "flow";
	case STREAM_PROTO_STATS:
		return "proto_stats";
	case STREAM_ANY_RECORD:
		return "record";
	case STREAM_ANY:
		return "pkt or record";
	}
	return "?";
}

unsigned
stream_element_size(enum stream_type type)
{
	switch (type) {
	case STREAM_PACKET:
		return sizeof(struct rte_mbuf *);
	case STREAM_SRC_COUNT:
		return sizeof(struct src_count_record);
	case STREAM_ALERT:
		return sizeof(struct alert_record);
	case STREAM_FLOW:
		return sizeof(struct flow_record);
	case STREAM_PROTO_STATS:
		return sizeof(struct proto_stats_record);
	default:
		return 0;
	}
}

_Static_assert(sizeof(struct src_count_record) % 4 == 0, "ring elements are multiples of 4 bytes");
_Static_assert(sizeof(struct alert_record) % 4 == 0, "ring elements are multiples of 4 bytes");
/* Plugins built against this layout read and write it: a change needs a new ABI version. */
_Static_assert(sizeof(struct alert_record) == 200, "the alert layout is part of the kernel ABI (3)");
_Static_assert(sizeof(struct flow_record) % 4 == 0, "ring elements are multiples of 4 bytes");
_Static_assert(sizeof(struct proto_stats_record) % 4 == 0, "ring elements are multiples of 4 bytes");

const char *
flow_end_reason_name(enum flow_end_reason reason)
{
	static const char *const names[] = {"fin", "rst", "idle", "active", "eof", "evicted"};

	return (unsigned)reason < RTE_DIM(names) ? names[reason] : "?";
}

const char *
alert_state_name(enum alert_state state)
{
	static const char *const names[] = {"start", "update", "end"};

	return (unsigned)state < RTE_DIM(names) ? names[state] : "?";
}

const char *
alert_end_reason_name(enum alert_end_reason reason)
{
	static const char *const names[] = {"below", "shutdown"};

	return (unsigned)reason < RTE_DIM(names) ? names[reason] : "?";
}
