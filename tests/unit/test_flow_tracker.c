/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flow_tracker tests on real DPDK rings and mbufs: the kernel is wired by
 * hand between an input ring the test feeds and an output ring it drains.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <rte_mbuf.h>
#include <rte_ring_elem.h>

#include "kernel.h"
#include "packet.h"
#include "suites.h"
#include "test_rig.h"

#define NS_PER_SECOND 1000000000ull
#define TCP 6
#define UDP 17
#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define ACK 0x10

extern const struct kernel_ops flow_tracker_kernel;

/* The shared rig, and every record the flow tracker emitted so far. */
struct flow_rig {
	struct test_rig base;
	struct flow_record *records; /* everything drained so far */
	unsigned record_count, record_capacity;
	bool drain_while_feeding; /* send_synthetic() drains the output when it must wait */
};

/* One packet as the test describes it. */
struct test_packet {
	const char *source, *destination;
	uint16_t source_port, destination_port;
	uint8_t protocol, tcp_flags, flags;
	uint32_t wire_length;
	uint64_t time_ns;
};

/* Move what the kernel emitted into rig->records. */
static void
flow_rig_drain(struct flow_rig *rig)
{
	for (;;) {
		if (rig->record_count + 64 > rig->record_capacity) {
			rig->record_capacity = rig->record_capacity * 2 + 64;
			rig->records = realloc(rig->records,
					       rig->record_capacity * sizeof(*rig->records));
			ck_assert_ptr_nonnull(rig->records);
		}
		unsigned count = rte_ring_dequeue_burst_elem(rig->base.output.ring,
							     &rig->records[rig->record_count],
							     sizeof(struct flow_record), 64, NULL);
		if (count == 0)
			return;
		rig->record_count += count;
	}
}

static void
drain_hook(struct test_rig *base)
{
	flow_rig_drain(container_of(base, struct flow_rig, base));
}

/* @p settings: "key=value" strings after the defaults, NULL-terminated. */
static void
flow_rig_open(struct flow_rig *rig, const char *const *settings, unsigned output_ring_size)
{
	memset(rig, 0, sizeof(*rig));
	test_rig_open(&rig->base, &flow_tracker_kernel, "flows", STREAM_PACKET, settings,
		      output_ring_size);
	rig->base.drain = drain_hook;
}

static void
flow_rig_close(struct flow_rig *rig)
{
	test_rig_close(&rig->base);
	free(rig->records);
}

static void
flow_rig_run_to_end(struct flow_rig *rig)
{
	test_rig_run_to_end(&rig->base);
	ck_assert_uint_eq(rig->base.instance.counters.ring_overflow, 0);
}

/* Ethernet header of the frames the tests describe (no VLAN tag) */
#define TEST_ETHERNET_LENGTH 14u

/* The IP header's length field of an untagged frame of @p wire_length bytes, as the parser reads it. */
static uint16_t
ip_length_field(uint8_t ip_version, uint32_t wire_length)
{
	uint32_t before = TEST_ETHERNET_LENGTH + (ip_version == 6 ? 40u : 0u); /* IPv6: the payload's */
	uint32_t length = wire_length > before ? wire_length - before : 0;

	return length > UINT16_MAX ? UINT16_MAX : (uint16_t)length;
}

static void
fill_meta(struct packet_meta *meta, const struct test_packet *packet)
{
	memset(meta, 0, sizeof(*meta));
	if (packet->source == NULL)
		return; /* not IP */
	test_address(packet->source, meta->source_address);
	test_address(packet->destination, meta->destination_address);
	meta->ip_version = strchr(packet->source, ':') != NULL ? 6 : 4;
	meta->source_hash = packet_address_hash(meta->source_address);
	meta->protocol = packet->protocol;
	meta->tcp_flags = packet->tcp_flags;
	meta->flags = packet->flags;
	if (packet->protocol == TCP || packet->protocol == UDP) {
		meta->source_port = packet->source_port;
		meta->destination_port = packet->destination_port;
		if ((packet->flags & PACKET_FLAG_LATER_FRAGMENT) == 0)
			meta->flags |= PACKET_FLAG_HAS_PORTS;
	}
	meta->wire_length = packet->wire_length;
	if (packet->source != NULL)
		meta->ip_length_field = ip_length_field(meta->ip_version, packet->wire_length);
	meta->timestamp_ns = packet->time_ns;
}

static void
send_packet(struct flow_rig *rig, struct test_packet packet)
{
	struct rte_mbuf *mbuf = test_rig_new_packet(&rig->base);

	fill_meta(packet_meta(mbuf), &packet);
	test_rig_send(&rig->base, mbuf);
}

/* A TCP packet a -> b at second @p second. */
static struct test_packet
tcp(const char *source, uint16_t source_port, const char *destination, uint16_t destination_port,
    uint8_t flags, uint64_t second)
{
	return (struct test_packet){.source = source, .destination = destination,
		.source_port = source_port, .destination_port = destination_port, .protocol = TCP,
		.tcp_flags = flags, .wire_length = 100, .time_ns = second * NS_PER_SECOND};
}

static struct test_packet
udp(const char *source, uint16_t source_port, const char *destination, uint16_t destination_port,
    uint32_t wire_length, uint64_t time_ns)
{
	return (struct test_packet){.source = source, .destination = destination,
		.source_port = source_port, .destination_port = destination_port, .protocol = UDP,
		.wire_length = wire_length, .time_ns = time_ns};
}

static bool
record_is(const struct flow_record *record, const char *source, uint16_t source_port,
	  const char *destination, uint16_t destination_port)
{
	uint8_t a[16], b[16];

	test_address(source, a);
	test_address(destination, b);
	return memcmp(record->source_address, a, 16) == 0 &&
	       memcmp(record->destination_address, b, 16) == 0 &&
	       record->source_port == source_port && record->destination_port == destination_port;
}

static uint64_t
stat_value(const struct flow_rig *rig, const char *name)
{
	struct kernel_stat stats[KERNEL_MAX_STATS];
	unsigned count = flow_tracker_kernel.stats(&rig->base.instance, stats);

	for (unsigned i = 0; i < count; i++)
		if (strcmp(stats[i].name, name) == 0)
			return stats[i].value;
	ck_abort_msg("no stat %s", name);
	return 0;
}

START_TEST(bidirectional_keeps_initiator_as_source)
{
	struct flow_rig rig;
	const struct flow_record *record;

	flow_rig_open(&rig, NULL, 64);
	send_packet(&rig, tcp("10.0.0.9", 40000, "10.0.0.1", 80, SYN, 1));
	send_packet(&rig, tcp("10.0.0.1", 80, "10.0.0.9", 40000, SYN | ACK, 2));
	send_packet(&rig, tcp("10.0.0.9", 40000, "10.0.0.1", 80, ACK, 3));
	send_packet(&rig, (struct test_packet){.source = NULL, .wire_length = 60}); /* ARP */
	flow_rig_run_to_end(&rig);
	ck_assert_uint_eq(rig.record_count, 1);
	record = &rig.records[0];
	/* the initiator is the higher address: the record must not reorder it */
	ck_assert(record_is(record, "10.0.0.9", 40000, "10.0.0.1", 80));
	ck_assert_uint_eq(record->packets, 2);
	ck_assert_uint_eq(record->bytes, 200);
	ck_assert_uint_eq(record->reverse_packets, 1);
	ck_assert_uint_eq(record->reverse_bytes, 100);
	/* IP-level: each 100-byte frame less its 14-byte Ethernet header */
	ck_assert_uint_eq(record->ip_bytes, 2 * 86);
	ck_assert_uint_eq(record->reverse_ip_bytes, 86);
	ck_assert_uint_eq(record->tcp_flags, SYN | ACK);
	ck_assert_uint_eq(record->reverse_tcp_flags, SYN | ACK);
	ck_assert_uint_eq(record->first_ns, 1 * NS_PER_SECOND);
	ck_assert_uint_eq(record->last_ns, 3 * NS_PER_SECOND);
	ck_assert_uint_eq(record->protocol, TCP);
	ck_assert_uint_eq(record->end_reason, FLOW_END_EOF);
	ck_assert_uint_eq(record->header.type, STREAM_FLOW);
	ck_assert_str_eq(record->header.kernel, "flows");
	ck_assert_uint_eq(stat_value(&rig, "non_ip_packets"), 1);
	ck_assert_uint_eq(stat_value(&rig, "flows_created"), 1);
	ck_assert_uint_eq(stat_value(&rig, "records"), 1);
	flow_rig_close(&rig);
}
END_TEST

START_TEST(symmetric_flow_hash)
{
	struct packet_meta forward, reverse;
	const struct test_packet pairs[][2] = {
		{udp("192.0.2.1", 5353, "198.51.100.2", 53, 80, 0),
		 udp("198.51.100.2", 53, "192.0.2.1", 5353, 80, 0)},
		{udp("2001:db8::1", 443, "2001:db8::2", 50000, 80, 0),
		 udp("2001:db8::2", 50000, "2001:db8::1", 443, 80, 0)},
		{udp("10.0.0.1", 7, "10.0.0.1", 9, 80, 0), udp("10.0.0.1", 9, "10.0.0.1", 7, 80, 0)},
	};

	for (unsigned i = 0; i < 3; i++) {
		fill_meta(&forward, &pairs[i][0]);
		fill_meta(&reverse, &pairs[i][1]);
		ck_assert_uint_eq(packet_flow_hash(&forward), packet_flow_hash(&reverse));
	}
	fill_meta(&reverse, &pairs[1][0]);
	ck_assert_uint_ne(packet_flow_hash(&forward), packet_flow_hash(&reverse));
}
END_TEST

/* Records carry the hash the packets were partitioned by. */
START_TEST(record_partition_hash_matches_packets)
{
	struct test_packet packet = udp("2001:db8::7", 1000, "2001:db8::3", 2000, 90, 1);
	struct packet_meta meta;
	struct flow_rig rig;

	flow_rig_open(&rig, NULL, 64);
	send_packet(&rig, packet);
	flow_rig_run_to_end(&rig);
	fill_meta(&meta, &packet);
	ck_assert_uint_eq(rig.record_count, 1);
	ck_assert_uint_eq(rig.records[0].header.partition_hash, packet_flow_hash(&meta));
	flow_rig_close(&rig);
}
END_TEST

START_TEST(idle_expiry_in_order)
{
	const char *const settings[] = {"idle_timeout=10s", NULL};
	struct flow_rig rig;

	flow_rig_open(&rig, settings, 64);
	send_packet(&rig, udp("10.0.0.2", 1, "10.0.0.100", 53, 80, 2 * NS_PER_SECOND));
	send_packet(&rig, udp("10.0.0.1", 1, "10.0.0.100", 53, 80, 1 * NS_PER_SECOND));
	send_packet(&rig, udp("10.0.0.3", 1, "10.0.0.100", 53, 80, 3 * NS_PER_SECOND));
	send_packet(&rig, udp("10.0.0.2", 1, "10.0.0.100", 53, 80, 4 * NS_PER_SECOND)); /* refreshed */
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 0);
	/* at 13.5 s: 10.0.0.1 (last 1 s) and 10.0.0.3 (last 3 s) are idle, 10.0.0.2 (4 s) is not */
	send_packet(&rig, udp("10.0.0.50", 1, "10.0.0.100", 53, 80, 13500000000ull));
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 2);
	ck_assert(record_is(&rig.records[0], "10.0.0.1", 1, "10.0.0.100", 53));
	ck_assert(record_is(&rig.records[1], "10.0.0.3", 1, "10.0.0.100", 53));
	ck_assert_uint_eq(rig.records[0].end_reason, FLOW_END_IDLE);
	ck_assert_uint_eq(rig.records[1].end_reason, FLOW_END_IDLE);
	/* the same 5-tuple after its idle expiry is a new flow */
	send_packet(&rig, udp("10.0.0.100", 53, "10.0.0.2", 1, 80, 14 * NS_PER_SECOND));
	flow_rig_run_to_end(&rig);
	ck_assert_uint_eq(rig.record_count, 5);
	ck_assert(record_is(&rig.records[2], "10.0.0.2", 1, "10.0.0.100", 53));
	ck_assert_uint_eq(rig.records[2].end_reason, FLOW_END_IDLE);
	ck_assert_uint_eq(rig.records[2].packets, 2);
	ck_assert(record_is(&rig.records[4], "10.0.0.100", 53, "10.0.0.2", 1));
	ck_assert_uint_eq(rig.records[4].end_reason, FLOW_END_EOF);
	ck_assert_uint_eq(rig.records[3].end_reason, FLOW_END_EOF);
	flow_rig_close(&rig);
}
END_TEST

START_TEST(active_timeout_splits_and_continues)
{
	const char *const settings[] = {"active_timeout=10s", "idle_timeout=1h", NULL};
	struct flow_rig rig;
	uint64_t packets = 0, reverse_packets = 0, bytes = 0;

	flow_rig_open(&rig, settings, 64);
	for (unsigned second = 0; second < 25; second++) {
		send_packet(&rig, udp("192.0.2.1", 4000, "192.0.2.2", 5000, 100, second * NS_PER_SECOND));
		send_packet(&rig, udp("192.0.2.2", 5000, "192.0.2.1", 4000, 50,
			       second * NS_PER_SECOND + 1000));
	}
	flow_rig_run_to_end(&rig);
	ck_assert_uint_eq(rig.record_count, 3);
	ck_assert_uint_eq(rig.records[0].end_reason, FLOW_END_ACTIVE);
	ck_assert_uint_eq(rig.records[0].first_ns, 0);
	ck_assert_uint_eq(rig.records[0].last_ns, 9 * NS_PER_SECOND + 1000);
	ck_assert_uint_eq(rig.records[0].packets, 10);
	ck_assert_uint_eq(rig.records[0].reverse_packets, 10);
	ck_assert_uint_eq(rig.records[1].end_reason, FLOW_END_ACTIVE);
	ck_assert_uint_eq(rig.records[1].first_ns, 10 * NS_PER_SECOND);
	ck_assert_uint_eq(rig.records[1].packets, 10);
	ck_assert_uint_eq(rig.records[2].end_reason, FLOW_END_EOF);
	ck_assert_uint_eq(rig.records[2].first_ns, 20 * NS_PER_SECOND);
	ck_assert_uint_eq(rig.records[2].packets, 5);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert(record_is(&rig.records[i], "192.0.2.1", 4000, "192.0.2.2", 5000));
		packets += rig.records[i].packets;
		reverse_packets += rig.records[i].reverse_packets;
		bytes += rig.records[i].bytes + rig.records[i].reverse_bytes;
	}
	ck_assert_uint_eq(packets, 25);
	ck_assert_uint_eq(reverse_packets, 25);
	ck_assert_uint_eq(bytes, 25 * 150);
	ck_assert_uint_eq(stat_value(&rig, "flows_created"), 1);
	flow_rig_close(&rig);
}
END_TEST

START_TEST(fin_from_both_sides_ends_flow)
{
	struct flow_rig rig;

	flow_rig_open(&rig, NULL, 64);
	send_packet(&rig, tcp("10.1.0.1", 1234, "10.1.0.2", 80, SYN, 1));
	send_packet(&rig, tcp("10.1.0.2", 80, "10.1.0.1", 1234, SYN | ACK, 1));
	send_packet(&rig, tcp("10.1.0.1", 1234, "10.1.0.2", 80, FIN | ACK, 2));
	send_packet(&rig, tcp("10.1.0.1", 1234, "10.1.0.2", 80, FIN | ACK, 3)); /* retransmitted FIN */
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 0); /* one side's FIN does not end it */
	send_packet(&rig, tcp("10.1.0.2", 80, "10.1.0.1", 1234, FIN | ACK, 4));
	send_packet(&rig, tcp("10.1.0.1", 1234, "10.1.0.2", 80, ACK, 4)); /* the last ACK */
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 0); /* closed, lingering for late packets */
	ck_assert_uint_eq(stat_value(&rig, "flows_active"), 1);
	/* another flow's packet 1 s later: the linger (2 s) is not over yet */
	send_packet(&rig, udp("10.9.0.1", 1, "10.9.0.2", 2, 80, 5 * NS_PER_SECOND));
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 0);
	/* 2 s after the last ACK it goes out, with its FIN reason */
	send_packet(&rig, udp("10.9.0.1", 1, "10.9.0.2", 2, 80, 6 * NS_PER_SECOND));
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 1);
	ck_assert(record_is(&rig.records[0], "10.1.0.1", 1234, "10.1.0.2", 80));
	ck_assert_uint_eq(rig.records[0].end_reason, FLOW_END_FIN);
	ck_assert_uint_eq(rig.records[0].packets, 4); /* includes the last ACK */
	ck_assert_uint_eq(rig.records[0].bytes, 400);
	ck_assert_uint_eq(rig.records[0].reverse_packets, 2); /* includes the closing FIN */
	ck_assert_uint_eq(rig.records[0].tcp_flags, SYN | FIN | ACK);
	ck_assert_uint_eq(rig.records[0].reverse_tcp_flags, SYN | FIN | ACK);
	ck_assert_uint_eq(rig.records[0].first_ns, 1 * NS_PER_SECOND);
	ck_assert_uint_eq(rig.records[0].last_ns, 4 * NS_PER_SECOND);
	ck_assert_uint_eq(stat_value(&rig, "flows_created"), 2);
	flow_rig_run_to_end(&rig);
	ck_assert_uint_eq(rig.record_count, 2);
	ck_assert(record_is(&rig.records[1], "10.9.0.1", 1, "10.9.0.2", 2));
	ck_assert_uint_eq(rig.records[1].end_reason, FLOW_END_EOF);
	ck_assert_uint_eq(stat_value(&rig, "flows_active"), 0);
	flow_rig_close(&rig);
}
END_TEST

/* A flow still lingering at the end of input goes out with its reason, not `eof`. */
START_TEST(closing_flow_at_eof_keeps_reason)
{
	struct flow_rig rig;

	flow_rig_open(&rig, NULL, 64);
	send_packet(&rig, tcp("10.1.1.9", 50071, "10.1.1.1", 443, SYN, 1));
	send_packet(&rig, tcp("10.1.1.1", 443, "10.1.1.9", 50071, SYN | ACK, 1));
	send_packet(&rig, tcp("10.1.1.9", 50071, "10.1.1.9", 443, ACK, 1)); /* another flow */
	send_packet(&rig, tcp("10.1.1.9", 50071, "10.1.1.1", 443, FIN | ACK, 2));
	send_packet(&rig, tcp("10.1.1.1", 443, "10.1.1.9", 50071, FIN | ACK, 2));
	send_packet(&rig, tcp("10.1.1.9", 50071, "10.1.1.1", 443, ACK, 2));
	flow_rig_run_to_end(&rig);
	ck_assert_uint_eq(rig.record_count, 2);
	/* closing flows go out first */
	ck_assert(record_is(&rig.records[0], "10.1.1.9", 50071, "10.1.1.1", 443));
	ck_assert_uint_eq(rig.records[0].end_reason, FLOW_END_FIN);
	ck_assert_uint_eq(rig.records[0].packets, 3);
	ck_assert_uint_eq(rig.records[0].reverse_packets, 2);
	ck_assert_uint_eq(rig.records[1].end_reason, FLOW_END_EOF);
	ck_assert_uint_eq(stat_value(&rig, "flows_active"), 0);
	flow_rig_close(&rig);
}
END_TEST

/* Retransmissions of the close and a late RST stay in the closed flow. */
START_TEST(close_retransmissions_are_absorbed)
{
	struct flow_rig rig;

	flow_rig_open(&rig, NULL, 64);
	send_packet(&rig, tcp("10.1.2.9", 40000, "10.1.2.1", 80, SYN, 10));
	send_packet(&rig, tcp("10.1.2.1", 80, "10.1.2.9", 40000, SYN | ACK, 10));
	send_packet(&rig, tcp("10.1.2.1", 80, "10.1.2.9", 40000, FIN | ACK, 11));
	send_packet(&rig, tcp("10.1.2.9", 40000, "10.1.2.1", 80, FIN | ACK, 11));
	send_packet(&rig, tcp("10.1.2.1", 80, "10.1.2.9", 40000, FIN | ACK, 12)); /* again */
	send_packet(&rig, tcp("10.1.2.9", 40000, "10.1.2.1", 80, RST, 13));       /* extra RST */
	send_packet(&rig, tcp("10.1.2.1", 80, "10.1.2.9", 40000, RST, 14));       /* and another */
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 0);
	ck_assert_uint_eq(stat_value(&rig, "flows_created"), 1);
	/* each late packet pushed the linger back: 14 s + 2 s */
	send_packet(&rig, udp("10.9.0.1", 1, "10.9.0.2", 2, 80, 15 * NS_PER_SECOND + 999999999));
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 0);
	send_packet(&rig, udp("10.9.0.1", 1, "10.9.0.2", 2, 80, 16 * NS_PER_SECOND));
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 1);
	ck_assert(record_is(&rig.records[0], "10.1.2.9", 40000, "10.1.2.1", 80));
	ck_assert_uint_eq(rig.records[0].end_reason, FLOW_END_FIN); /* closed by FINs first */
	ck_assert_uint_eq(rig.records[0].packets, 3);
	ck_assert_uint_eq(rig.records[0].reverse_packets, 4);
	ck_assert_uint_eq(rig.records[0].tcp_flags, SYN | FIN | ACK | RST);
	ck_assert_uint_eq(rig.records[0].reverse_tcp_flags, SYN | FIN | ACK | RST);
	ck_assert_uint_eq(rig.records[0].last_ns, 14 * NS_PER_SECOND);
	flow_rig_run_to_end(&rig);
	ck_assert_uint_eq(rig.record_count, 2);
	flow_rig_close(&rig);
}
END_TEST

/* A SYN on the ports of a lingering flow is a new connection. */
START_TEST(syn_during_linger_starts_new_flow)
{
	struct flow_rig rig;

	flow_rig_open(&rig, NULL, 64);
	/* the initiator is the high endpoint, the new connection's the low one */
	send_packet(&rig, tcp("10.1.3.9", 40000, "10.1.3.1", 80, SYN, 1));
	send_packet(&rig, tcp("10.1.3.1", 80, "10.1.3.9", 40000, SYN | ACK, 1));
	send_packet(&rig, tcp("10.1.3.9", 40000, "10.1.3.1", 80, FIN | ACK, 2));
	send_packet(&rig, tcp("10.1.3.1", 80, "10.1.3.9", 40000, FIN | ACK, 2));
	send_packet(&rig, tcp("10.1.3.9", 40000, "10.1.3.1", 80, ACK, 2));
	send_packet(&rig, tcp("10.1.3.1", 80, "10.1.3.9", 40000, SYN | ACK, 3)); /* SYN+ACK: absorbed */
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 0);
	send_packet(&rig, tcp("10.1.3.1", 80, "10.1.3.9", 40000, SYN, 3));
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 1);
	ck_assert(record_is(&rig.records[0], "10.1.3.9", 40000, "10.1.3.1", 80));
	ck_assert_uint_eq(rig.records[0].end_reason, FLOW_END_FIN);
	ck_assert_uint_eq(rig.records[0].packets, 3);
	ck_assert_uint_eq(rig.records[0].reverse_packets, 3);
	send_packet(&rig, tcp("10.1.3.9", 40000, "10.1.3.1", 80, SYN | ACK, 4));
	flow_rig_run_to_end(&rig);
	ck_assert_uint_eq(rig.record_count, 2);
	ck_assert(record_is(&rig.records[1], "10.1.3.1", 80, "10.1.3.9", 40000));
	ck_assert_uint_eq(rig.records[1].end_reason, FLOW_END_EOF);
	ck_assert_uint_eq(rig.records[1].packets, 1);
	ck_assert_uint_eq(rig.records[1].tcp_flags, SYN);
	ck_assert_uint_eq(rig.records[1].reverse_packets, 1);
	ck_assert_uint_eq(rig.records[1].first_ns, 3 * NS_PER_SECOND);
	ck_assert_uint_eq(stat_value(&rig, "flows_created"), 2);
	flow_rig_close(&rig);
}
END_TEST

START_TEST(rst_ends_flow)
{
	struct flow_rig rig;

	flow_rig_open(&rig, NULL, 64);
	send_packet(&rig, tcp("2001:db8::a", 5555, "2001:db8::b", 443, SYN, 2));
	send_packet(&rig, tcp("2001:db8::b", 443, "2001:db8::a", 5555, RST | ACK, 2));
	send_packet(&rig, tcp("2001:db8::a", 5555, "2001:db8::b", 443, ACK, 2)); /* late */
	send_packet(&rig, tcp("2001:db8::b", 443, "2001:db8::a", 5555, RST, 2));  /* late */
	send_packet(&rig, tcp("2001:db8::c", 5555, "2001:db8::b", 443, SYN, 2));
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 0);
	send_packet(&rig, tcp("2001:db8::c", 5555, "2001:db8::b", 443, ACK, 4)); /* 2 s later */
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 1);
	ck_assert(record_is(&rig.records[0], "2001:db8::a", 5555, "2001:db8::b", 443));
	ck_assert_uint_eq(rig.records[0].end_reason, FLOW_END_RST);
	ck_assert_uint_eq(rig.records[0].packets, 2);
	ck_assert_uint_eq(rig.records[0].tcp_flags, SYN | ACK);
	ck_assert_uint_eq(rig.records[0].reverse_packets, 2);
	ck_assert_uint_eq(rig.records[0].reverse_tcp_flags, RST | ACK);
	flow_rig_run_to_end(&rig);
	ck_assert_uint_eq(rig.record_count, 2);
	ck_assert_uint_eq(rig.records[1].end_reason, FLOW_END_EOF);
	flow_rig_close(&rig);
}
END_TEST

/* The linger is min(2 s, idle_timeout). */
START_TEST(linger_capped_by_idle_timeout)
{
	const char *const settings[] = {"idle_timeout=500ms", NULL};
	struct flow_rig rig;
	struct test_packet other = udp("10.9.0.1", 1, "10.9.0.2", 2, 80, 1499999999);

	flow_rig_open(&rig, settings, 64);
	send_packet(&rig, tcp("10.1.4.1", 1000, "10.1.4.2", 80, FIN | ACK, 1));
	send_packet(&rig, tcp("10.1.4.2", 80, "10.1.4.1", 1000, FIN | ACK, 1));
	send_packet(&rig, other);
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 0);
	other.time_ns = 1500000000;
	send_packet(&rig, other);
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 1);
	ck_assert_uint_eq(rig.records[0].end_reason, FLOW_END_FIN);
	ck_assert_uint_eq(rig.records[0].packets + rig.records[0].reverse_packets, 2);
	flow_rig_run_to_end(&rig);
	ck_assert_uint_eq(rig.record_count, 2);
	flow_rig_close(&rig);
}
END_TEST

/* A full table ends a closing flow (with its reason) before evicting an open one. */
START_TEST(full_table_takes_closing_flows_first)
{
	const char *const settings[] = {"max_flows=2", NULL};
	struct flow_rig rig;

	flow_rig_open(&rig, settings, 64);
	send_packet(&rig, tcp("10.5.0.1", 1000, "10.5.0.9", 80, SYN, 1));
	send_packet(&rig, udp("10.5.0.2", 1, "10.5.0.9", 9, 64, 2 * NS_PER_SECOND)); /* older */
	send_packet(&rig, tcp("10.5.0.9", 80, "10.5.0.1", 1000, RST, 3));         /* closing */
	send_packet(&rig, udp("10.5.0.3", 1, "10.5.0.9", 9, 64, 3 * NS_PER_SECOND)); /* full */
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 1);
	ck_assert(record_is(&rig.records[0], "10.5.0.1", 1000, "10.5.0.9", 80));
	ck_assert_uint_eq(rig.records[0].end_reason, FLOW_END_RST);
	ck_assert_uint_eq(stat_value(&rig, "evicted_flows"), 0);
	send_packet(&rig, udp("10.5.0.4", 1, "10.5.0.9", 9, 64, 4 * NS_PER_SECOND));
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 2);
	ck_assert(record_is(&rig.records[1], "10.5.0.2", 1, "10.5.0.9", 9));
	ck_assert_uint_eq(rig.records[1].end_reason, FLOW_END_EVICTED);
	ck_assert_uint_eq(stat_value(&rig, "evicted_flows"), 1);
	flow_rig_run_to_end(&rig);
	ck_assert_uint_eq(rig.record_count, 4);
	flow_rig_close(&rig);
}
END_TEST

/* A 32-bit byte counter about to wrap cuts a slice, counted in wrap_slices. */
START_TEST(counter_wrap_cuts_slice)
{
	struct flow_rig rig;

	flow_rig_open(&rig, NULL, 64);
	send_packet(&rig, udp("10.6.0.1", 1, "10.6.0.2", 2, UINT32_MAX, 1));
	send_packet(&rig, udp("10.6.0.2", 2, "10.6.0.1", 1, 100, 2));
	send_packet(&rig, udp("10.6.0.1", 1, "10.6.0.2", 2, 1, 3)); /* would wrap */
	send_packet(&rig, udp("10.6.0.1", 1, "10.6.0.2", 2, 10, 4));
	flow_rig_run_to_end(&rig);
	ck_assert_uint_eq(rig.record_count, 2);
	ck_assert_uint_eq(rig.records[0].end_reason, FLOW_END_ACTIVE);
	ck_assert_uint_eq(rig.records[0].packets, 1);
	ck_assert_uint_eq(rig.records[0].bytes, UINT32_MAX);
	ck_assert_uint_eq(rig.records[0].reverse_packets, 1);
	ck_assert_uint_eq(rig.records[0].last_ns, 2);
	ck_assert_uint_eq(rig.records[1].end_reason, FLOW_END_EOF);
	ck_assert(record_is(&rig.records[1], "10.6.0.1", 1, "10.6.0.2", 2));
	ck_assert_uint_eq(rig.records[1].packets, 2);
	ck_assert_uint_eq(rig.records[1].bytes, 11);
	ck_assert_uint_eq(rig.records[1].reverse_packets, 0);
	ck_assert_uint_eq(rig.records[1].first_ns, 3);
	ck_assert_uint_eq(stat_value(&rig, "wrap_slices"), 1);
	ck_assert_uint_eq(stat_value(&rig, "flows_created"), 1);
	flow_rig_close(&rig);
}
END_TEST

START_TEST(full_table_evicts_least_recently_seen)
{
	const char *const settings[] = {"max_flows=3", NULL};
	struct flow_rig rig;

	flow_rig_open(&rig, settings, 64);
	send_packet(&rig, udp("10.2.0.1", 1, "10.2.0.9", 9, 64, 1 * NS_PER_SECOND));
	send_packet(&rig, udp("10.2.0.2", 1, "10.2.0.9", 9, 64, 2 * NS_PER_SECOND));
	send_packet(&rig, udp("10.2.0.3", 1, "10.2.0.9", 9, 64, 3 * NS_PER_SECOND));
	send_packet(&rig, udp("10.2.0.9", 9, "10.2.0.1", 1, 64, 4 * NS_PER_SECOND)); /* .1 seen again */
	send_packet(&rig, udp("10.2.0.4", 1, "10.2.0.9", 9, 64, 5 * NS_PER_SECOND)); /* evicts .2 */
	send_packet(&rig, udp("10.2.0.5", 1, "10.2.0.9", 9, 64, 6 * NS_PER_SECOND)); /* evicts .3 */
	test_rig_consume_input(&rig.base, true);
	ck_assert_uint_eq(rig.record_count, 2);
	ck_assert(record_is(&rig.records[0], "10.2.0.2", 1, "10.2.0.9", 9));
	ck_assert(record_is(&rig.records[1], "10.2.0.3", 1, "10.2.0.9", 9));
	ck_assert_uint_eq(rig.records[0].end_reason, FLOW_END_EVICTED);
	ck_assert_uint_eq(rig.records[1].end_reason, FLOW_END_EVICTED);
	ck_assert_uint_eq(stat_value(&rig, "evicted_flows"), 2);
	ck_assert_uint_eq(stat_value(&rig, "flows_active"), 3);
	flow_rig_run_to_end(&rig);
	ck_assert_uint_eq(rig.record_count, 5);
	ck_assert(record_is(&rig.records[2], "10.2.0.1", 1, "10.2.0.9", 9));
	ck_assert_uint_eq(rig.records[2].reverse_packets, 1);
	flow_rig_close(&rig);
}
END_TEST

START_TEST(ipv6_keys_are_exact)
{
	struct flow_rig rig;
	unsigned found = 0;

	flow_rig_open(&rig, NULL, 64);
	/* differ only in the last address byte, in the port, in the protocol, and by family */
	send_packet(&rig, udp("2001:db8::1", 10, "2001:db8::2", 20, 100, 1));
	send_packet(&rig, udp("2001:db8::1", 10, "2001:db8::3", 20, 100, 2));
	send_packet(&rig, udp("2001:db8::1", 11, "2001:db8::2", 20, 100, 3));
	send_packet(&rig, tcp("2001:db8::1", 10, "2001:db8::2", 20, ACK, 4));
	send_packet(&rig, udp("::ffff:10.0.0.1", 10, "::ffff:10.0.0.2", 20, 100, 5));
	send_packet(&rig, udp("10.0.0.1", 10, "10.0.0.2", 20, 100, 6));
	send_packet(&rig, udp("2001:db8::2", 20, "2001:db8::1", 10, 100, 7)); /* reverse of the first */
	flow_rig_run_to_end(&rig);
	ck_assert_uint_eq(rig.record_count, 6);
	for (unsigned i = 0; i < rig.record_count; i++) {
		if (record_is(&rig.records[i], "2001:db8::1", 10, "2001:db8::2", 20) &&
		    rig.records[i].protocol == UDP) {
			ck_assert_uint_eq(rig.records[i].packets, 1);
			ck_assert_uint_eq(rig.records[i].reverse_packets, 1);
			found++;
		}
	}
	ck_assert_uint_eq(found, 1);
	flow_rig_close(&rig);
}
END_TEST

/*
 * Both directions of a conversation meet in one flow whichever part of the
 * endpoints tells them apart: the first or the second half of the address
 * (pulling opposite ways), only the port, or nothing (a host talking to
 * itself on one port).
 */
START_TEST(directions_meet_whatever_differs)
{
	static const struct {
		const char *a, *b;
		uint16_t a_port, b_port;
	} pairs[] = {
		{"2001:db8:0:1::9", "2001:db8::ffff:ffff", 1000, 80},
		{"2001:db8::1:0", "2001:db8::ff", 1000, 80},
		{"10.0.1.0", "10.0.0.255", 1000, 80},
		{"10.0.0.7", "10.0.0.7", 5000, 4000},
		{"2001:db8::7", "2001:db8::7", 4000, 4000},
	};
	struct flow_rig rig;

	flow_rig_open(&rig, NULL, 64);
	for (unsigned i = 0; i < RTE_DIM(pairs); i++) {
		send_packet(&rig, udp(pairs[i].a, pairs[i].a_port, pairs[i].b, pairs[i].b_port, 100, i));
		send_packet(&rig, udp(pairs[i].b, pairs[i].b_port, pairs[i].a, pairs[i].a_port, 60, i));
	}
	flow_rig_run_to_end(&rig);
	ck_assert_uint_eq(rig.record_count, RTE_DIM(pairs));
	for (unsigned i = 0; i < RTE_DIM(pairs); i++) {
		const struct flow_record *record = &rig.records[i];
		bool same_endpoint = strcmp(pairs[i].a, pairs[i].b) == 0 &&
				     pairs[i].a_port == pairs[i].b_port;

		ck_assert(record_is(record, pairs[i].a, pairs[i].a_port, pairs[i].b, pairs[i].b_port));
		/* one endpoint sending to itself: every packet is the initiator's */
		ck_assert_uint_eq(record->packets, same_endpoint ? 2 : 1);
		ck_assert_uint_eq(record->bytes, same_endpoint ? 160 : 100);
		ck_assert_uint_eq(record->reverse_packets, same_endpoint ? 0 : 1);
		ck_assert_uint_eq(record->reverse_bytes, same_endpoint ? 0 : 60);
	}
	ck_assert_uint_eq(stat_value(&rig, "flows_created"), RTE_DIM(pairs));
	flow_rig_close(&rig);
}
END_TEST

/* Later fragments carry no ports: they form the ports-0 flow of their 3-tuple. */
START_TEST(later_fragments_have_ports_zero)
{
	struct test_packet first = udp("10.3.0.1", 5000, "10.3.0.2", 6000, 1514, 1);
	struct test_packet later = first;
	struct flow_rig rig;

	first.flags = PACKET_FLAG_FRAGMENT;
	later.flags = PACKET_FLAG_FRAGMENT | PACKET_FLAG_LATER_FRAGMENT;
	later.wire_length = 600;
	flow_rig_open(&rig, NULL, 64);
	send_packet(&rig, first);
	send_packet(&rig, later);
	later.source_port = 7777; /* whatever the field holds, without HAS_PORTS it is 0 */
	send_packet(&rig, later);
	flow_rig_run_to_end(&rig);
	ck_assert_uint_eq(rig.record_count, 2);
	ck_assert(record_is(&rig.records[0], "10.3.0.1", 5000, "10.3.0.2", 6000));
	ck_assert(record_is(&rig.records[1], "10.3.0.1", 0, "10.3.0.2", 0));
	ck_assert_uint_eq(rig.records[1].packets, 2);
	ck_assert_uint_eq(rig.records[1].bytes, 1200);
	ck_assert_uint_eq(rig.records[1].protocol, UDP);
	flow_rig_close(&rig);
}
END_TEST

/*
 * Whether @p record is the only one of its flow, with the expected counts
 * (plain checks: a ck_assert per record of a million would log a million
 * checkpoints).
 */
static bool
flow_record_is_right(const struct flow_record *record, uint8_t *seen, unsigned flow_count,
		     unsigned packets_per_direction)
{
	unsigned flow = (unsigned)record->source_address[13] << 16 |
			(unsigned)record->source_address[14] << 8 | record->source_address[15];

	if (flow >= flow_count || seen[flow] != 0)
		return false;
	seen[flow] = 1;
	return record->packets == packets_per_direction &&
	       record->reverse_packets == packets_per_direction &&
	       record->bytes == 100ull * packets_per_direction &&
	       record->reverse_bytes == 60ull * packets_per_direction &&
	       record->end_reason == FLOW_END_EOF && record->source_address[12] == 11;
}

static void
send_synthetic(struct flow_rig *rig, unsigned flow, bool reverse, uint64_t time_ns)
{
	struct rte_mbuf *mbuf;
	struct packet_meta *meta;

	while ((mbuf = rte_pktmbuf_alloc(rig->base.mempool)) == NULL ||
	       rte_ring_full(rig->base.input.ring)) {
		if (mbuf != NULL)
			rte_pktmbuf_free(mbuf);
		/* the kernel frees packets once counted */
		test_rig_consume_input(&rig->base, rig->drain_while_feeding);
	}
	meta = packet_meta(mbuf);
	memset(meta, 0, sizeof(*meta));
	meta->ip_version = 4;
	meta->protocol = UDP;
	meta->flags = PACKET_FLAG_HAS_PORTS;
	/* client 11.x.y.z (x.y.z = flow) port 1000+flow%50000 <-> server 10.0.0.1:53 */
	meta->source_address[10] = meta->source_address[11] = 0xff;
	meta->destination_address[10] = meta->destination_address[11] = 0xff;
	uint8_t *client = reverse ? meta->destination_address : meta->source_address;
	uint8_t *server = reverse ? meta->source_address : meta->destination_address;

	client[12] = 11;
	client[13] = (uint8_t)(flow >> 16);
	client[14] = (uint8_t)(flow >> 8);
	client[15] = (uint8_t)flow;
	server[12] = 10;
	server[15] = 1;
	meta->source_port = reverse ? 53 : (uint16_t)(1000 + flow % 50000);
	meta->destination_port = reverse ? (uint16_t)(1000 + flow % 50000) : 53;
	meta->wire_length = reverse ? 60 : 100;
	meta->timestamp_ns = time_ns;
	/* not ck_assert: millions of checkpoints would dominate the run time */
	if (rte_ring_enqueue(rig->base.input.ring, mbuf) != 0)
		ck_abort_msg("input ring refused a packet");
}

/* >= 1 M concurrent flows: every flow comes out exactly once, with its counts. */
START_TEST(million_concurrent_flows_exactly_once)
{
	const char *const settings[] = {"max_flows=1100000", "idle_timeout=1h", NULL};
	const unsigned flow_count = 1000000, rounds = 2;
	uint8_t *seen = calloc(flow_count, 1);
	unsigned wrong = 0;
	struct flow_rig rig;

	ck_assert_ptr_nonnull(seen);
	flow_rig_open(&rig, settings, 4096);
	for (unsigned round = 0; round < rounds; round++)
		for (unsigned flow = 0; flow < flow_count; flow++) {
			send_synthetic(&rig, flow, false, round * NS_PER_SECOND + flow);
			send_synthetic(&rig, flow, true, round * NS_PER_SECOND + flow + 1);
		}
	test_rig_consume_input(&rig.base, false);
	ck_assert_uint_eq(stat_value(&rig, "flows_active"), flow_count);
	ck_assert_uint_eq(rte_ring_count(rig.base.output.ring), 0);
	flow_rig_run_to_end(&rig);
	ck_assert_uint_eq(rig.record_count, flow_count);
	for (unsigned i = 0; i < rig.record_count; i++)
		wrong += !flow_record_is_right(&rig.records[i], seen, flow_count, rounds);
	ck_assert_uint_eq(wrong, 0);
	ck_assert_uint_eq(stat_value(&rig, "flows_active"), 0);
	ck_assert_uint_eq(stat_value(&rig, "records"), flow_count);
	flow_rig_close(&rig);
	free(seen);
}
END_TEST

/* A small output ring drained slowly: records wait, none is lost or repeated. */
START_TEST(backpressure_loses_nothing)
{
	const char *const settings[] = {"idle_timeout=1s", NULL};
	const unsigned flow_count = 3000;
	uint8_t *seen = calloc(flow_count, 1);
	struct flow_rig rig;

	flow_rig_open(&rig, settings, 16);
	rig.drain_while_feeding = true;
	test_rig_close_inputs(&rig.base);
	for (unsigned flow = 0; flow < flow_count; flow++) {
		/* every flow idles out while later ones arrive */
		send_synthetic(&rig, flow, false, (uint64_t)flow * NS_PER_SECOND / 100);
		send_synthetic(&rig, flow, true, (uint64_t)flow * NS_PER_SECOND / 100 + 1);
	}
	for (unsigned round = 1; !kernel_is_finished(&rig.base.instance); round++) {
		test_rig_poll(&rig.base);
		if (round % 7 == 0 || kernel_is_finished(&rig.base.instance))
			flow_rig_drain(&rig);
	}
	flow_rig_drain(&rig);
	ck_assert_uint_eq(rig.record_count, flow_count);
	for (unsigned i = 0; i < rig.record_count; i++) {
		unsigned flow = (unsigned)rig.records[i].source_address[14] << 8 |
				rig.records[i].source_address[15];

		ck_assert_uint_eq(seen[flow], 0);
		seen[flow] = 1;
		ck_assert_uint_eq(rig.records[i].packets, 1);
		ck_assert_uint_eq(rig.records[i].reverse_packets, 1);
	}
	ck_assert_uint_eq(rig.base.instance.counters.ring_overflow, 0);
	ck_assert_uint_gt(rig.base.instance.counters.backpressure, 0);
	flow_rig_close(&rig);
	free(seen);
}
END_TEST

/* A reload with new timeouts keeps the flows. */
START_TEST(take_state_keeps_flows)
{
	const char *const settings[] = {"idle_timeout=1h", NULL};
	struct flow_rig rig, old;

	flow_rig_open(&old, NULL, 64);
	send_packet(&old, udp("10.4.0.1", 1, "10.4.0.2", 2, 100, 1));
	test_rig_consume_input(&old.base, true);
	flow_rig_open(&rig, settings, 64);
	flow_tracker_kernel.take_state(&rig.base.instance, &old.base.instance);
	send_packet(&rig, udp("10.4.0.2", 2, "10.4.0.1", 1, 100, 2));
	flow_rig_run_to_end(&rig);
	ck_assert_uint_eq(rig.record_count, 1);
	ck_assert_uint_eq(rig.records[0].packets, 1);
	ck_assert_uint_eq(rig.records[0].reverse_packets, 1);
	flow_rig_close(&old);
	flow_rig_close(&rig);
}
END_TEST

Suite *
flow_tracker_suite(void)
{
	Suite *suite = suite_create("flow_tracker");
	TCase *keys = tcase_create("keys");
	TCase *endings = tcase_create("endings");
	TCase *scale = tcase_create("scale");

	tcase_add_test(keys, bidirectional_keeps_initiator_as_source);
	tcase_add_test(keys, symmetric_flow_hash);
	tcase_add_test(keys, record_partition_hash_matches_packets);
	tcase_add_test(keys, ipv6_keys_are_exact);
	tcase_add_test(keys, directions_meet_whatever_differs);
	tcase_add_test(keys, later_fragments_have_ports_zero);
	tcase_add_test(endings, idle_expiry_in_order);
	tcase_add_test(endings, active_timeout_splits_and_continues);
	tcase_add_test(endings, fin_from_both_sides_ends_flow);
	tcase_add_test(endings, closing_flow_at_eof_keeps_reason);
	tcase_add_test(endings, close_retransmissions_are_absorbed);
	tcase_add_test(endings, syn_during_linger_starts_new_flow);
	tcase_add_test(endings, rst_ends_flow);
	tcase_add_test(endings, linger_capped_by_idle_timeout);
	tcase_add_test(endings, full_table_takes_closing_flows_first);
	tcase_add_test(endings, counter_wrap_cuts_slice);
	tcase_add_test(endings, full_table_evicts_least_recently_seen);
	tcase_add_test(endings, take_state_keeps_flows);
	tcase_add_test(scale, million_concurrent_flows_exactly_once);
	tcase_add_test(scale, backpressure_loses_nothing);
	tcase_set_timeout(scale, 120);
	suite_add_tcase(suite, keys);
	suite_add_tcase(suite, endings);
	suite_add_tcase(suite, scale);
	return suite;
}
