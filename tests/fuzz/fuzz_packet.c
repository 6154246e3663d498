/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the header parser (daemon/packet.c).
 *
 * One input is one captured frame. It is parsed three ways and every result
 * must satisfy the invariants below, which restate what packet.h promises and
 * what the kernels downstream rely on (offsets inside the captured bytes,
 * ports and flags consistent with the bytes they came from):
 *  - contiguous, as the pcap and synthetic sources hand it over;
 *  - with Ethernet padding appended: a frame that parsed cleanly must parse
 *    the same, since the parser may not look past the headers it needs;
 *  - as a chain of two mbufs split at a position taken from the first byte,
 *    parsed with packet_parse_mbuf() as the port source does, because live
 *    drivers deliver chained mbufs; the result must equal the contiguous one.
 *
 * libFuzzer hands over a heap buffer of exactly the input size, and each
 * segment below gets one of its own, so AddressSanitizer reports any read
 * past the captured bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <rte_mbuf.h>

#include "fuzz.h"
#include "packet.h"

/* Values planted in the metadata: packet_parse() must keep them. */
#define PLANTED_TIMESTAMP_NS 0x0123456789abcdefull
#define PLANTED_WIRE_LENGTH 0x89abcdefu

/* Bytes appended as Ethernet padding; any value, not zero, to differ from a fresh buffer. */
#define PADDING_LENGTH 64
#define PADDING_BYTE 0xa5

enum {
	ETHERNET_HEADER_LENGTH = 14,
	ETHERNET_TYPE_OFFSET = 12,
	VLAN_TAG_LENGTH = 4,
	IPV4_MINIMUM_HEADER_LENGTH = 20,
	IPV6_HEADER_LENGTH = 40,
	KNOWN_FLAGS = PACKET_FLAG_MALFORMED | PACKET_FLAG_FRAGMENT | PACKET_FLAG_LATER_FRAGMENT |
		      PACKET_FLAG_HAS_PORTS | PACKET_FLAG_VLAN,
};

static uint16_t
big_endian_16(const uint8_t *bytes)
{
	return (uint16_t)(bytes[0] << 8 | bytes[1]);
}

static bool
is_vlan_ethernet_type(uint16_t ethernet_type)
{
	return ethernet_type == 0x8100 || ethernet_type == 0x88a8 || ethernet_type == 0x9100;
}

/* Bytes of the L4 header the parser needs before it may set l4_offset; 0 = not an L4 it parses. */
static uint32_t
transport_header_length(uint8_t protocol)
{
	switch (protocol) {
	case IPPROTO_TCP:
		return 20;
	case IPPROTO_UDP:
		return 8;
	case IPPROTO_SCTP:
		return 12;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 4;
	default:
		return 0;
	}
}

static void
check_ethernet(const uint8_t *frame, uint32_t length, const struct packet_meta *meta)
{
	/* The flag is set once the first whole tag has been read. */
	bool tagged = length >= ETHERNET_HEADER_LENGTH + VLAN_TAG_LENGTH &&
		      is_vlan_ethernet_type(big_endian_16(frame + ETHERNET_TYPE_OFFSET));

	FUZZ_CHECK(length >= ETHERNET_HEADER_LENGTH || (meta->flags & PACKET_FLAG_MALFORMED),
		   "a frame of %u bytes (no whole Ethernet header) is not malformed", length);
	FUZZ_CHECK(tagged == ((meta->flags & PACKET_FLAG_VLAN) != 0),
		   "VLAN flag %d but the first EtherType says %d", !!(meta->flags & PACKET_FLAG_VLAN),
		   tagged);
	if (tagged)
		FUZZ_CHECK(meta->outer_vlan == (big_endian_16(frame + ETHERNET_HEADER_LENGTH) & 0x0fff),
			   "outer_vlan %u is not the first tag's id", meta->outer_vlan);
	else
		FUZZ_CHECK(meta->outer_vlan == 0, "outer_vlan %u without a whole tag", meta->outer_vlan);
}

static void
check_no_ip(const struct packet_meta *meta)
{
	static const uint8_t zeros[16];

	FUZZ_CHECK(memcmp(meta->source_address, zeros, 16) == 0 &&
			   memcmp(meta->destination_address, zeros, 16) == 0,
		   "addresses set on a frame without IP");
	FUZZ_CHECK(meta->source_hash == 0, "source_hash %#x without IP", meta->source_hash);
	FUZZ_CHECK(meta->l3_offset == 0 && meta->l4_offset == 0, "offsets %u/%u without IP",
		   meta->l3_offset, meta->l4_offset);
	FUZZ_CHECK(meta->protocol == 0, "protocol %u without IP", meta->protocol);
	FUZZ_CHECK(meta->ip_length_field == 0, "IP length %u without IP", meta->ip_length_field);
	FUZZ_CHECK(!(meta->flags & (PACKET_FLAG_FRAGMENT | PACKET_FLAG_LATER_FRAGMENT |
				    PACKET_FLAG_HAS_PORTS)),
		   "flags %#x without IP", meta->flags);
}

static void
check_ipv4(const uint8_t *frame, uint32_t length, const struct packet_meta *meta)
{
	const uint8_t *header = frame + meta->l3_offset;
	static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	FUZZ_CHECK(meta->l3_offset + (uint32_t)IPV4_MINIMUM_HEADER_LENGTH <= length,
		   "IPv4 header at %u does not fit in %u bytes", meta->l3_offset, length);
	FUZZ_CHECK(header[0] >> 4 == 4 && (header[0] & 0x0f) >= 5, "IPv4 with version/IHL byte %#x",
		   header[0]);
	FUZZ_CHECK(memcmp(meta->source_address, mapped_prefix, 12) == 0 &&
			   memcmp(meta->source_address + 12, header + 12, 4) == 0,
		   "IPv4 source is not the header's, IPv4-mapped");
	FUZZ_CHECK(memcmp(meta->destination_address, mapped_prefix, 12) == 0 &&
			   memcmp(meta->destination_address + 12, header + 16, 4) == 0,
		   "IPv4 destination is not the header's, IPv4-mapped");
	FUZZ_CHECK(meta->protocol == header[9], "protocol %u, header says %u", meta->protocol,
		   header[9]);
	FUZZ_CHECK(meta->ip_length_field == (header[2] << 8 | header[3]),
		   "IPv4 length %u is not the header's total length", meta->ip_length_field);
	FUZZ_CHECK(meta->l4_offset == 0 ||
			   meta->l4_offset == meta->l3_offset + (header[0] & 0x0f) * 4u,
		   "IPv4 L4 offset %u is not after the IHL", meta->l4_offset);
}

static void
check_ipv6(const uint8_t *frame, uint32_t length, const struct packet_meta *meta)
{
	const uint8_t *header = frame + meta->l3_offset;

	FUZZ_CHECK(meta->l3_offset + (uint32_t)IPV6_HEADER_LENGTH <= length,
		   "IPv6 header at %u does not fit in %u bytes", meta->l3_offset, length);
	FUZZ_CHECK(header[0] >> 4 == 6, "IPv6 with version byte %#x", header[0]);
	FUZZ_CHECK(memcmp(meta->source_address, header + 8, 16) == 0 &&
			   memcmp(meta->destination_address, header + 24, 16) == 0,
		   "IPv6 addresses are not the header's");
	FUZZ_CHECK(meta->ip_length_field == (header[4] << 8 | header[5]),
		   "IPv6 length %u is not the header's payload length", meta->ip_length_field);
	FUZZ_CHECK(meta->l4_offset == 0 || meta->l4_offset >= meta->l3_offset + IPV6_HEADER_LENGTH,
		   "IPv6 L4 offset %u inside the fixed header", meta->l4_offset);
}

static void
check_transport(const uint8_t *frame, uint32_t length, const struct packet_meta *meta)
{
	uint32_t needed = transport_header_length(meta->protocol);
	bool has_ports = (meta->flags & PACKET_FLAG_HAS_PORTS) != 0;

	if (meta->l4_offset != 0) {
		FUZZ_CHECK(needed != 0, "l4_offset %u for protocol %u", meta->l4_offset,
			   meta->protocol);
		FUZZ_CHECK(meta->l4_offset + needed <= length,
			   "L4 header of %u bytes at %u does not fit in %u bytes", needed,
			   meta->l4_offset, length);
	}
	FUZZ_CHECK(!has_ports || (meta->l4_offset != 0 && meta->protocol != IPPROTO_ICMP &&
				  meta->protocol != IPPROTO_ICMPV6),
		   "ports without a TCP/UDP/SCTP header (protocol %u)", meta->protocol);
	if (has_ports) {
		FUZZ_CHECK(meta->source_port == big_endian_16(frame + meta->l4_offset) &&
				   meta->destination_port == big_endian_16(frame + meta->l4_offset + 2),
			   "ports %u/%u are not the header's", meta->source_port,
			   meta->destination_port);
	} else {
		FUZZ_CHECK(meta->source_port == 0 && meta->destination_port == 0,
			   "ports %u/%u without PACKET_FLAG_HAS_PORTS", meta->source_port,
			   meta->destination_port);
	}
	if (meta->protocol == IPPROTO_TCP && has_ports)
		FUZZ_CHECK(meta->tcp_flags == frame[meta->l4_offset + 13] &&
				   frame[meta->l4_offset + 12] >> 4 >= 5,
			   "TCP flags %#x or data offset wrong", meta->tcp_flags);
	else
		FUZZ_CHECK(meta->tcp_flags == 0, "tcp_flags %#x without a TCP header",
			   meta->tcp_flags);
	if (meta->flags & PACKET_FLAG_LATER_FRAGMENT)
		FUZZ_CHECK((meta->flags & PACKET_FLAG_FRAGMENT) && meta->l4_offset == 0 && !has_ports,
			   "a non-first fragment with flags %#x, l4_offset %u", meta->flags,
			   meta->l4_offset);
	/* A clean parse of TCP/UDP/SCTP that is not a later fragment found its ports. */
	if (!(meta->flags & (PACKET_FLAG_MALFORMED | PACKET_FLAG_LATER_FRAGMENT)) && needed != 0)
		FUZZ_CHECK(meta->l4_offset != 0 &&
				   (has_ports || meta->protocol == IPPROTO_ICMP ||
				    meta->protocol == IPPROTO_ICMPV6),
			   "protocol %u parsed cleanly without its header located", meta->protocol);
}

static void
check_meta(const uint8_t *frame, uint32_t length, const struct packet_meta *meta)
{
	FUZZ_CHECK(meta->timestamp_ns == PLANTED_TIMESTAMP_NS &&
			   meta->wire_length == PLANTED_WIRE_LENGTH,
		   "timestamp_ns or wire_length not kept");
	FUZZ_CHECK((meta->flags & ~KNOWN_FLAGS) == 0, "unknown flags %#x", meta->flags);
	check_ethernet(frame, length, meta);
	if (meta->ip_version == 0) {
		check_no_ip(meta);
		return;
	}
	FUZZ_CHECK(meta->ip_version == 4 || meta->ip_version == 6, "ip_version %u",
		   meta->ip_version);
	FUZZ_CHECK(meta->l3_offset >= ETHERNET_HEADER_LENGTH &&
			   (meta->l3_offset - ETHERNET_HEADER_LENGTH) % 4 == 0,
		   "l3_offset %u is not after Ethernet and whole tags", meta->l3_offset);
	FUZZ_CHECK(meta->source_hash == packet_address_hash(meta->source_address),
		   "source_hash is not the hash of source_address");
	if (meta->ip_version == 4)
		check_ipv4(frame, length, meta);
	else
		check_ipv6(frame, length, meta);
	check_transport(frame, length, meta);
}

/* Parse into metadata full of @p stale, as a reused mbuf's private area is. */
static void
parse_over(const uint8_t *frame, uint32_t length, uint8_t stale, struct packet_meta *meta)
{
	memset(meta, stale, sizeof(*meta));
	meta->timestamp_ns = PLANTED_TIMESTAMP_NS;
	meta->wire_length = PLANTED_WIRE_LENGTH;
	packet_parse(frame, length, meta);
}

static void
check_padding_changes_nothing(const uint8_t *frame, uint32_t length,
			      const struct packet_meta *expected)
{
	uint8_t *padded = malloc(length + PADDING_LENGTH);
	struct packet_meta meta;

	FUZZ_CHECK(padded != NULL, "out of memory");
	memcpy(padded, frame, length);
	memset(padded + length, PADDING_BYTE, PADDING_LENGTH);
	parse_over(padded, length + PADDING_LENGTH, 0x00, &meta);
	FUZZ_CHECK(memcmp(&meta, expected, sizeof(meta)) == 0,
		   "a cleanly parsed frame parses differently with %d bytes of padding",
		   PADDING_LENGTH);
	free(padded);
}

/* An mbuf and its private area, where packet_meta() finds the metadata. */
struct segment {
	struct rte_mbuf mbuf;
	uint8_t private_area[PACKET_META_PRIVATE_SIZE];
} __rte_cache_aligned;

/* Point @p segment at @p buffer, holding @p length bytes of data. */
static void
segment_init(struct segment *segment, uint8_t *buffer, uint32_t length)
{
	memset(segment, 0, sizeof(*segment));
	segment->mbuf.buf_addr = buffer;
	segment->mbuf.buf_len = (uint16_t)length;
	segment->mbuf.data_off = 0;
	segment->mbuf.data_len = (uint16_t)length;
	segment->mbuf.pkt_len = length;
	segment->mbuf.nb_segs = 1;
	segment->mbuf.priv_size = PACKET_META_PRIVATE_SIZE;
}

/* Heap copy of exactly @p length bytes (at least one byte is allocated). */
static uint8_t *
copy_of(const uint8_t *bytes, uint32_t length)
{
	uint8_t *copy = malloc(length == 0 ? 1 : length);

	FUZZ_CHECK(copy != NULL, "out of memory");
	if (length != 0)
		memcpy(copy, bytes, length);
	return copy;
}

/*
 * The frame as two chained segments, parsed as the port source parses what
 * a driver delivers (packet_parse_mbuf): the same metadata as the flat parse.
 */
static void
check_chained(const uint8_t *frame, uint32_t length, const struct packet_meta *expected)
{
	uint32_t split = length == 0 ? 0 : (uint32_t)frame[0] * length / 255;
	uint8_t *first_bytes = copy_of(frame, split);
	uint8_t *second_bytes = copy_of(frame + split, length - split);
	struct packet_meta *meta;
	struct segment head, tail;

	segment_init(&head, first_bytes, split);
	segment_init(&tail, second_bytes, length - split);
	head.mbuf.next = &tail.mbuf;
	head.mbuf.nb_segs = 2;
	head.mbuf.pkt_len = length;
	meta = packet_meta(&head.mbuf);
	memset(meta, 0xff, sizeof(*meta));
	meta->timestamp_ns = PLANTED_TIMESTAMP_NS;
	meta->wire_length = PLANTED_WIRE_LENGTH;
	packet_parse_mbuf(&head.mbuf, meta);
	FUZZ_CHECK(memcmp(meta, expected, sizeof(*expected)) == 0,
		   "split at %u of %u bytes parses differently", split, length);
	free(second_bytes);
	free(first_bytes);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t length = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
	struct packet_meta clean, stale;

	parse_over(data, length, 0x00, &clean);
	check_meta(data, length, &clean);
	/* Nothing of a previous packet may survive into this one's metadata. */
	parse_over(data, length, 0xff, &stale);
	FUZZ_CHECK(memcmp(&clean, &stale, sizeof(clean)) == 0,
		   "the result depends on the metadata's previous contents");
	if (!(clean.flags & PACKET_FLAG_MALFORMED))
		check_padding_changes_nothing(data, length, &clean);
	check_chained(data, length, &clean);
	return 0;
}
