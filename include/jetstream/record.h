/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Stream types and the fixed-size records that flow on record edges.
 *
 * Packets travel as mbuf pointers; everything a kernel derives from them
 * (counts, alerts, flows) is copied by value into element rings, as in the
 * Jetstream paper: intermediate results are small, so copying them is cheaper
 * than managing their lifetime across lcores.
 */
#ifndef JETSTREAM_RECORD_H
#define JETSTREAM_RECORD_H

#include <stdint.h>

/** What an edge carries. */
enum stream_type {
	STREAM_NONE = 0,  /**< no input (sources) or no output (sinks) */
	STREAM_PACKET,    /**< struct rte_mbuf * */
	STREAM_SRC_COUNT, /**< struct src_count_record */
	STREAM_ALERT,     /**< struct alert_record */
	STREAM_FLOW,      /**< struct flow_record */
	STREAM_PROTO_STATS, /**< struct proto_stats_record */
	STREAM_ANY_RECORD, /**< accepted by sinks: any record type above */
	STREAM_ANY        /**< accepted by a sink that discards: packets or any record */
};

/** Name used in error messages and the docs ("pkt", "src_count", ...). */
const char *stream_type_name(enum stream_type type);

/**
 * Size in bytes of one element on an edge of @p type (a multiple of 4, as
 * rte_ring element rings require).
 */
unsigned stream_element_size(enum stream_type type);

/**
 * First member of every record. The producer fills partition_hash so a
 * replicated consumer can be fed without knowing the record's layout.
 */
struct record_header {
	uint16_t type;           /**< enum stream_type of the record */
	uint16_t reserved;
	uint32_t partition_hash; /**< hash of the record's key (the source address) */
	const char *kernel;      /**< emitting instance name; outlives the record (RCU) */
};

/** What a count is keyed by (the counter's `key:`). */
enum count_key {
	COUNT_KEY_SOURCE = 0,      /**< outer source address */
	COUNT_KEY_DESTINATION,     /**< outer destination address */
	COUNT_KEY_SOURCE_DESTINATION, /**< the pair */
};

/** One key's packet and byte counts over [start_ns, end_ns]. */
struct src_count_record {
	struct record_header header;
	uint8_t source_address[16]; /**< IPv4-mapped or IPv6, see packet_meta; unset for key dst */
	uint8_t destination_address[16]; /**< set for key dst and src_dst */
	uint32_t key;               /**< enum count_key */
	uint32_t reserved;
	uint64_t packets;
	uint64_t bytes;
	uint64_t start_ns;          /**< window start, or the first packet's time for `total` */
	uint64_t end_ns;            /**< window end, or the last packet's time for `total` */
};

/** Metric compared by a threshold. */
enum threshold_metric {
	THRESHOLD_METRIC_PACKETS = 0,
	THRESHOLD_METRIC_BYTES = 1,
	/** No metric compared with a limit (another kind of alert): no `metric`, no `threshold`. */
	THRESHOLD_METRIC_NONE = 2,
};

/** What a threshold's limit is counted over (alert_record.per). */
enum threshold_per {
	THRESHOLD_PER_WINDOW = 0, /**< the window's packets or bytes */
	THRESHOLD_PER_SECOND = 1, /**< the window's packets or bytes divided by its length */
};

/** Which optional fields of an alert_record are set (alert_record.fields). */
enum alert_field {
	ALERT_FIELD_PREVIOUS = 1u << 0, /**< previous: the value before the one that alerted */
	ALERT_FIELD_PORTS = 1u << 1,    /**< source_port and destination_port */
	ALERT_FIELD_PROTOCOL = 1u << 2, /**< protocol */
	/** state, alert_id, peak, total_packets, total_bytes (and end_reason at the end) */
	ALERT_FIELD_LIFECYCLE = 1u << 3,
};

/**
 * Where an alert is in its life (threshold `alerts: lifecycle`): one start
 * when the key goes above its limit, updates at most every `update:` while
 * it stays above, one end after `hold:` below.
 */
enum alert_state {
	ALERT_STATE_START = 0,
	ALERT_STATE_UPDATE,
	ALERT_STATE_END,
};

/** Why an alert ended (the end record's `reason`). */
enum alert_end_reason {
	ALERT_END_BELOW = 0,    /**< `hold:` below the limit */
	ALERT_END_SHUTDOWN,     /**< the daemon stopped, the input ended or a reload removed it */
};

/** Names of enum alert_state and enum alert_end_reason in records ("start", "below", ...). */
const char *alert_state_name(enum alert_state state);
const char *alert_end_reason_name(enum alert_end_reason reason);

/** Bytes of alert_record.name, its NUL included when shorter. */
#define ALERT_NAME_SIZE 24

/** Bytes of alert_record.group, its NUL included when shorter. */
#define ALERT_GROUP_SIZE 32

/**
 * An alert: by default (threshold), a source whose metric went above a limit
 * in one window. Other kernels (plugins) name their alerts and may carry a
 * previous value and the flow; the fields they leave unset are not written.
 */
struct alert_record {
	struct record_header header;
	uint8_t source_address[16];      /**< as in the src_count record */
	uint8_t destination_address[16];
	uint32_t key;                    /**< enum count_key: which addresses the alert is about */
	uint32_t metric;                 /**< enum threshold_metric */
	uint64_t value;
	uint64_t threshold;              /**< not written with THRESHOLD_METRIC_NONE */
	uint64_t start_ns;
	uint64_t end_ns;
	uint64_t previous;               /**< with ALERT_FIELD_PREVIOUS */
	/**
	 * What the alert says ("ttl_change"): letters, digits, `_ . -`; NUL-padded,
	 * not NUL-terminated when it fills the array. Empty for threshold alerts.
	 */
	char name[ALERT_NAME_SIZE];
	uint16_t source_port, destination_port; /**< host order; with ALERT_FIELD_PORTS */
	uint8_t protocol;                /**< L4 protocol number; with ALERT_FIELD_PROTOCOL */
	uint8_t fields;                  /**< enum alert_field: the optional fields set */
	uint8_t per;                     /**< enum threshold_per: of value, threshold and peak */
	uint8_t reserved;
	/**
	 * The threshold group whose limit the key is held to (NUL-padded, not
	 * NUL-terminated when it fills the array); empty without `groups:`.
	 */
	char group[ALERT_GROUP_SIZE];
	/*
	 * With ALERT_FIELD_LIFECYCLE: the alert as a whole so far. start_ns is
	 * the start of its first window above the limit, end_ns the end of its
	 * latest one; value is that latest window's.
	 */
	uint64_t alert_id;               /**< the same in every record of one alert */
	uint64_t peak;                   /**< highest window value of the alert */
	uint64_t total_packets;          /**< the key's packets over the alert's windows */
	uint64_t total_bytes;
	uint8_t state;                   /**< enum alert_state */
	uint8_t end_reason;              /**< enum alert_end_reason, with ALERT_STATE_END */
	uint8_t reserved_lifecycle[6];
};

/** Why a flow record was emitted. */
enum flow_end_reason {
	FLOW_END_FIN = 0,   /**< TCP FIN seen from both sides */
	FLOW_END_RST,       /**< TCP RST */
	FLOW_END_IDLE,      /**< no packet for idle_timeout */
	FLOW_END_ACTIVE,    /**< active_timeout reached: exported, the flow goes on with counters reset */
	FLOW_END_EOF,       /**< end of input or shutdown */
	FLOW_END_EVICTED,   /**< table full: the oldest idle flow made room */
};

/** Name of an end reason in records ("fin", "rst", ...). */
const char *flow_end_reason_name(enum flow_end_reason reason);

/**
 * One bidirectional flow (or one active-timeout slice of it). The initiator,
 * the source of the first packet seen, is `source`; the reverse direction's
 * figures are the `reverse_` ones.
 */
struct flow_record {
	struct record_header header;
	uint8_t source_address[16];      /**< IPv4-mapped or IPv6, see packet_meta */
	uint8_t destination_address[16];
	uint64_t packets, bytes;         /**< initiator -> responder; bytes are wire lengths */
	uint64_t reverse_packets, reverse_bytes;
	/**
	 * IP-level bytes per direction, what RFC 7012 octetDeltaCount means (the
	 * IP header and payload): per packet the IPv4 total length, or 40 + the
	 * IPv6 payload length, read from the header (packet_ip_bytes()). A frame
	 * the capture truncated counts its header's length field, not the
	 * captured length, so these are what was sent, like the wire bytes.
	 */
	uint64_t ip_bytes, reverse_ip_bytes;
	uint64_t first_ns, last_ns;      /**< times of the first and last packet */
	uint16_t source_port, destination_port; /**< 0 where the protocol has none */
	uint8_t protocol;
	uint8_t tcp_flags, reverse_tcp_flags; /**< OR of the flags seen in each direction */
	uint8_t end_reason;              /**< enum flow_end_reason */
};

/** Traffic classes counted by proto_stats, in record order. */
enum proto_stats_class {
	PROTO_STATS_IPV4 = 0,
	PROTO_STATS_IPV6,
	PROTO_STATS_OTHER_L3,  /**< not IP (ARP, LLDP, ...) */
	PROTO_STATS_TCP,
	PROTO_STATS_UDP,
	PROTO_STATS_ICMP,
	PROTO_STATS_ICMPV6,
	PROTO_STATS_SCTP,
	PROTO_STATS_OTHER_L4,  /**< IP with another protocol, or a later fragment */
	PROTO_STATS_CLASSES
};

/** RFC 2819 frame-size buckets: 64 (and below), 65-127, ..., 1024-1518, larger. */
#define PROTO_STATS_SIZE_BUCKETS 7

/** Per-protocol and per-size statistics over [start_ns, end_ns). */
struct proto_stats_record {
	struct record_header header;
	uint64_t start_ns, end_ns;
	uint64_t packets[PROTO_STATS_CLASSES];
	uint64_t bytes[PROTO_STATS_CLASSES];
	uint64_t size_buckets[PROTO_STATS_SIZE_BUCKETS];
	uint64_t malformed_packets;
};

/** Large enough for any record; sinks read into this. */
union any_record {
	struct record_header header;
	struct src_count_record src_count;
	struct alert_record alert;
	struct flow_record flow;
	struct proto_stats_record proto_stats;
};

#endif
