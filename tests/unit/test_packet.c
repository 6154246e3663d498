/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tests of the header parser (daemon/packet.c). Frames are built by hand with
 * the small builder below, then copied into a heap buffer of exactly the
 * captured length so that AddressSanitizer catches any read past it.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"
#include "test_rig.h"

Suite *packet_suite(void);

/* Values parse_frame() plants so tests can check that the parser keeps them. */
#define TEST_TIMESTAMP_NS 1234567890123456789ull
#define TEST_WIRE_LENGTH 1514u

/* ---- frame builder ---------------------------------------------------- */

struct frame_builder {
	uint8_t bytes[1024];
	uint32_t length;
};

static void
put_bytes(struct frame_builder *builder, const void *data, size_t count)
{
	ck_assert_uint_le(builder->length + count, sizeof(builder->bytes));
	memcpy(builder->bytes + builder->length, data, count);
	builder->length += (uint32_t)count;
}

static void
put_zeros(struct frame_builder *builder, size_t count)
{
	ck_assert_uint_le(builder->length + count, sizeof(builder->bytes));
	memset(builder->bytes + builder->length, 0, count);
	builder->length += (uint32_t)count;
}

static void
put_u8(struct frame_builder *builder, uint8_t value)
{
	put_bytes(builder, &value, 1);
}

static void
put_big_endian_16(struct frame_builder *builder, uint16_t value)
{
	put_u8(builder, (uint8_t)(value >> 8));
	put_u8(builder, (uint8_t)value);
}

static void
patch_big_endian_16(struct frame_builder *builder, uint32_t offset, uint16_t value)
{
	builder->bytes[offset] = (uint8_t)(value >> 8);
	builder->bytes[offset + 1] = (uint8_t)value;
}

static void
put_ethernet(struct frame_builder *builder, uint16_t ethernet_type)
{
	static const uint8_t mac_addresses[12] = {
		0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* destination */
		0x02, 0x00, 0x00, 0x00, 0x00, 0x02, /* source */
	};

	put_bytes(builder, mac_addresses, sizeof(mac_addresses));
	put_big_endian_16(builder, ethernet_type);
}

/* One tag: the tag control information, then the EtherType it encloses. */
static void
put_vlan_tag(struct frame_builder *builder, uint16_t tag_control, uint16_t next_ethernet_type)
{
	put_big_endian_16(builder, tag_control);
	put_big_endian_16(builder, next_ethernet_type);
}

static void
put_address(struct frame_builder *builder, int family, const char *text)
{
	uint8_t address[16];

	ck_assert_int_eq(inet_pton(family, text, address), 1);
	put_bytes(builder, address, family == AF_INET ? 4 : 16);
}

struct ipv4_header_spec {
	uint8_t protocol;
	const char *source;
	const char *destination;
	unsigned option_words;   /* 32-bit words of options after the fixed header */
	uint16_t fragment_field; /* flags and offset as on the wire */
};

/* Returns the header's offset; finish_ipv4() fills total_length once the frame is complete. */
static uint32_t
put_ipv4(struct frame_builder *builder, const struct ipv4_header_spec *spec)
{
	uint32_t offset = builder->length;

	put_u8(builder, (uint8_t)(0x40 | (5 + spec->option_words)));
	put_u8(builder, 0);                /* DSCP, ECN */
	put_big_endian_16(builder, 0);     /* total length */
	put_big_endian_16(builder, 0x1234); /* identification */
	put_big_endian_16(builder, spec->fragment_field);
	put_u8(builder, 64); /* TTL */
	put_u8(builder, spec->protocol);
	put_big_endian_16(builder, 0); /* checksum: the parser does not verify it */
	put_address(builder, AF_INET, spec->source);
	put_address(builder, AF_INET, spec->destination);
	for (unsigned word = 0; word < spec->option_words; word++) {
		put_u8(builder, 1); /* NOP options */
		put_u8(builder, 1);
		put_u8(builder, 1);
		put_u8(builder, word + 1 == spec->option_words ? 0 : 1); /* end of options */
	}
	return offset;
}

static void
finish_ipv4(struct frame_builder *builder, uint32_t header_offset)
{
	patch_big_endian_16(builder, header_offset + 2, (uint16_t)(builder->length - header_offset));
}

static uint32_t
put_ipv6(struct frame_builder *builder, uint8_t next_header, const char *source,
	 const char *destination)
{
	uint32_t offset = builder->length;

	put_big_endian_16(builder, 0x6000); /* version, traffic class, flow label */
	put_big_endian_16(builder, 0);
	put_big_endian_16(builder, 0); /* payload length */
	put_u8(builder, next_header);
	put_u8(builder, 64); /* hop limit */
	put_address(builder, AF_INET6, source);
	put_address(builder, AF_INET6, destination);
	return offset;
}

static void
finish_ipv6(struct frame_builder *builder, uint32_t header_offset)
{
	patch_big_endian_16(builder, header_offset + 4,
			    (uint16_t)(builder->length - header_offset - 40));
}

/* Hop-by-hop or destination options: @p units of 8 bytes, padded with Pad1 options. */
static void
put_ipv6_options_header(struct frame_builder *builder, uint8_t next_header, unsigned units)
{
	put_u8(builder, next_header);
	put_u8(builder, (uint8_t)(units - 1));
	put_zeros(builder, units * 8 - 2);
}

static void
put_ipv6_fragment_header(struct frame_builder *builder, uint8_t next_header,
			 uint16_t offset_units, bool more_fragments)
{
	put_u8(builder, next_header);
	put_u8(builder, 0);
	put_big_endian_16(builder, (uint16_t)(offset_units << 3 | (more_fragments ? 1 : 0)));
	put_big_endian_16(builder, 0xabcd); /* identification */
	put_big_endian_16(builder, 0x0001);
}

/* Authentication header with @p data_words 32-bit words of ICV (length field = words - 2). */
static void
put_ipv6_authentication_header(struct frame_builder *builder, uint8_t next_header,
			       unsigned data_words)
{
	put_u8(builder, next_header);
	put_u8(builder, (uint8_t)(3 + data_words - 2));
	put_zeros(builder, 2);                 /* reserved */
	put_zeros(builder, 8);                 /* SPI, sequence number */
	put_zeros(builder, data_words * 4);    /* integrity check value */
}

static void
put_tcp(struct frame_builder *builder, uint16_t source_port, uint16_t destination_port,
	uint8_t tcp_flags)
{
	put_big_endian_16(builder, source_port);
	put_big_endian_16(builder, destination_port);
	put_zeros(builder, 8); /* sequence and acknowledgement numbers */
	put_u8(builder, 5 << 4);
	put_u8(builder, tcp_flags);
	put_big_endian_16(builder, 65535); /* window */
	put_zeros(builder, 4);             /* checksum, urgent pointer */
}

static void
put_udp(struct frame_builder *builder, uint16_t source_port, uint16_t destination_port,
	uint16_t payload_length)
{
	put_big_endian_16(builder, source_port);
	put_big_endian_16(builder, destination_port);
	put_big_endian_16(builder, (uint16_t)(8 + payload_length));
	put_big_endian_16(builder, 0);
	put_zeros(builder, payload_length);
}

static void
put_icmp_echo(struct frame_builder *builder, uint8_t type)
{
	put_u8(builder, type);
	put_u8(builder, 0);
	put_zeros(builder, 6); /* checksum, identifier, sequence */
}

/* ---- helpers ------------------------------------------------------------ */

/* Parse @p length bytes of @p frame from an exact-size heap copy at @p misalignment. */
static void
parse_bytes(const uint8_t *frame, uint32_t length, unsigned misalignment, struct packet_meta *meta)
{
	uint8_t *buffer = malloc(length + misalignment + 1);

	ck_assert_ptr_nonnull(buffer);
	/* Stale metadata from an earlier packet: the parser must overwrite all of it. */
	memset(meta, 0xa5, sizeof(*meta));
	meta->timestamp_ns = TEST_TIMESTAMP_NS;
	meta->wire_length = TEST_WIRE_LENGTH;
	/* The frame ends exactly at the end of the allocation, so ASan sees any over-read. */
	memcpy(buffer + 1 + misalignment, frame, length);
	packet_parse(buffer + 1 + misalignment, length, meta);
	free(buffer);

	ck_assert_uint_eq(meta->timestamp_ns, TEST_TIMESTAMP_NS);
	ck_assert_uint_eq(meta->wire_length, TEST_WIRE_LENGTH);
	if (meta->ip_version == 0) /* not left stale */
		ck_assert_uint_eq(meta->ip_length_field, 0);
}

static void
parse_frame(const struct frame_builder *builder, struct packet_meta *meta)
{
	parse_bytes(builder->bytes, builder->length, 0, meta);
}

/* The 16-byte form of @p text: IPv4-mapped for dotted quads, as-is for IPv6. */
static void
address_from_text(const char *text, uint8_t address[16])
{
	memset(address, 0, 16);
	if (inet_pton(AF_INET, text, address + 12) == 1) {
		address[10] = 0xff;
		address[11] = 0xff;
		return;
	}
	ck_assert_int_eq(inet_pton(AF_INET6, text, address), 1);
}

static void
assert_address(const uint8_t actual[16], const char *expected_text)
{
	uint8_t expected[16];

	address_from_text(expected_text, expected);
	ck_assert_mem_eq(actual, expected, 16);
}

static void
assert_ports(const struct packet_meta *meta, uint16_t source_port, uint16_t destination_port)
{
	ck_assert(meta->flags & PACKET_FLAG_HAS_PORTS);
	ck_assert_uint_eq(meta->source_port, source_port);
	ck_assert_uint_eq(meta->destination_port, destination_port);
}

/* Common IPv4 test addresses (RFC 5737). */
#define SOURCE_V4 "198.51.100.7"
#define DESTINATION_V4 "203.0.113.9"
/* Common IPv6 test addresses (RFC 3849). */
#define SOURCE_V6 "2001:db8::1"
#define DESTINATION_V6 "2001:db8:ffff::2"

/* ---- IPv4 --------------------------------------------------------------- */

START_TEST(ipv4_tcp)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x0800);
	ip = put_ipv4(&frame, &(struct ipv4_header_spec){.protocol = IPPROTO_TCP,
							.source = SOURCE_V4,
							.destination = DESTINATION_V4});
	put_tcp(&frame, 43210, 443, 0x12 /* SYN, ACK */);
	finish_ipv4(&frame, ip);
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_HAS_PORTS);
	ck_assert_uint_eq(meta.ip_version, 4);
	ck_assert_uint_eq(meta.protocol, IPPROTO_TCP);
	assert_address(meta.source_address, SOURCE_V4);
	assert_address(meta.destination_address, DESTINATION_V4);
	assert_ports(&meta, 43210, 443);
	ck_assert_uint_eq(meta.tcp_flags, 0x12);
	ck_assert_uint_eq(meta.l3_offset, 14);
	ck_assert_uint_eq(meta.l4_offset, 34);
	ck_assert_uint_eq(meta.outer_vlan, 0);
	ck_assert_uint_eq(meta.source_hash, packet_address_hash(meta.source_address));
	ck_assert_uint_eq(packet_ip_bytes(&meta), 40); /* IPv4 total length: 20 + 20 */
}
END_TEST

START_TEST(ipv4_options)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x0800);
	ip = put_ipv4(&frame, &(struct ipv4_header_spec){.protocol = IPPROTO_UDP,
							.source = SOURCE_V4,
							.destination = DESTINATION_V4,
							.option_words = 3});
	put_udp(&frame, 5353, 53, 10);
	finish_ipv4(&frame, ip);
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_HAS_PORTS);
	ck_assert_uint_eq(meta.protocol, IPPROTO_UDP);
	assert_ports(&meta, 5353, 53);
	ck_assert_uint_eq(meta.l4_offset, 14 + 20 + 12);
}
END_TEST

START_TEST(ipv4_later_fragment)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x0800);
	ip = put_ipv4(&frame, &(struct ipv4_header_spec){.protocol = IPPROTO_UDP,
							.source = SOURCE_V4,
							.destination = DESTINATION_V4,
							.fragment_field = 185 /* x 8 bytes */});
	/* Payload bytes that would look like ports if the parser wrongly read them. */
	put_udp(&frame, 1111, 2222, 100);
	finish_ipv4(&frame, ip);
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_FRAGMENT | PACKET_FLAG_LATER_FRAGMENT);
	ck_assert_uint_eq(meta.ip_version, 4);
	ck_assert_uint_eq(meta.protocol, IPPROTO_UDP);
	assert_address(meta.source_address, SOURCE_V4);
	ck_assert_uint_eq(meta.source_port, 0);
	ck_assert_uint_eq(meta.destination_port, 0);
	ck_assert_uint_eq(meta.l4_offset, 0);
}
END_TEST

START_TEST(ipv4_first_fragment)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x0800);
	ip = put_ipv4(&frame, &(struct ipv4_header_spec){.protocol = IPPROTO_UDP,
							.source = SOURCE_V4,
							.destination = DESTINATION_V4,
							.fragment_field = 0x2000 /* more fragments */});
	put_udp(&frame, 1111, 2222, 100);
	finish_ipv4(&frame, ip);
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_FRAGMENT | PACKET_FLAG_HAS_PORTS);
	assert_ports(&meta, 1111, 2222);
	ck_assert_uint_eq(meta.l4_offset, 34);
}
END_TEST

START_TEST(ipv4_dont_fragment_is_not_a_fragment)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x0800);
	ip = put_ipv4(&frame, &(struct ipv4_header_spec){.protocol = IPPROTO_TCP,
							.source = SOURCE_V4,
							.destination = DESTINATION_V4,
							.fragment_field = 0x4000 /* don't fragment */});
	put_tcp(&frame, 1, 2, 0x10);
	finish_ipv4(&frame, ip);
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_HAS_PORTS);
}
END_TEST

START_TEST(ipv4_header_length_below_five_is_malformed)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x0800);
	ip = put_ipv4(&frame, &(struct ipv4_header_spec){.protocol = IPPROTO_TCP,
							.source = SOURCE_V4,
							.destination = DESTINATION_V4});
	put_tcp(&frame, 1, 2, 0x02);
	finish_ipv4(&frame, ip);
	frame.bytes[ip] = 0x44; /* IHL 4 */
	parse_frame(&frame, &meta);

	/* The header layout is unknown, so none of it is trusted. */
	ck_assert_uint_eq(meta.flags, PACKET_FLAG_MALFORMED);
	ck_assert_uint_eq(meta.ip_version, 0);
	ck_assert_uint_eq(meta.source_hash, 0);
	ck_assert_uint_eq(meta.l3_offset, 0);
	assert_address(meta.source_address, "::");
}
END_TEST

START_TEST(ipv4_wrong_version_is_malformed)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x0800);
	ip = put_ipv4(&frame, &(struct ipv4_header_spec){.protocol = IPPROTO_TCP,
							.source = SOURCE_V4,
							.destination = DESTINATION_V4});
	put_tcp(&frame, 1, 2, 0x02);
	finish_ipv4(&frame, ip);
	frame.bytes[ip] = 0x65;
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_MALFORMED);
	ck_assert_uint_eq(meta.ip_version, 0);
}
END_TEST

START_TEST(ipv4_total_length_below_header_is_malformed)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x0800);
	ip = put_ipv4(&frame, &(struct ipv4_header_spec){.protocol = IPPROTO_TCP,
							.source = SOURCE_V4,
							.destination = DESTINATION_V4});
	put_tcp(&frame, 1, 2, 0x02);
	patch_big_endian_16(&frame, ip + 2, 19);
	parse_frame(&frame, &meta);

	/* The addresses were captured intact, so the packet keeps its source. */
	ck_assert_uint_eq(meta.flags, PACKET_FLAG_MALFORMED);
	ck_assert_uint_eq(meta.ip_version, 4);
	assert_address(meta.source_address, SOURCE_V4);
}
END_TEST

START_TEST(ipv4_total_length_shorter_than_capture_is_accepted)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	/* A 54-byte frame padded to the 60-byte Ethernet minimum. */
	put_ethernet(&frame, 0x0800);
	ip = put_ipv4(&frame, &(struct ipv4_header_spec){.protocol = IPPROTO_TCP,
							.source = SOURCE_V4,
							.destination = DESTINATION_V4});
	put_tcp(&frame, 80, 40000, 0x11 /* FIN, ACK */);
	finish_ipv4(&frame, ip);
	put_zeros(&frame, 6);
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_HAS_PORTS);
	ck_assert_uint_eq(meta.tcp_flags, 0x11);
}
END_TEST

START_TEST(tcp_data_offset_below_five_is_malformed)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x0800);
	ip = put_ipv4(&frame, &(struct ipv4_header_spec){.protocol = IPPROTO_TCP,
							.source = SOURCE_V4,
							.destination = DESTINATION_V4});
	put_tcp(&frame, 1, 2, 0x02);
	finish_ipv4(&frame, ip);
	frame.bytes[34 + 12] = 4 << 4;
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_MALFORMED);
	ck_assert_uint_eq(meta.ip_version, 4);
	ck_assert_uint_eq(meta.protocol, IPPROTO_TCP);
	assert_address(meta.source_address, SOURCE_V4);
	ck_assert_uint_eq(meta.l4_offset, 0);
	ck_assert_uint_eq(meta.tcp_flags, 0);
}
END_TEST

START_TEST(snaplen_truncated_payload_is_not_malformed)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x0800);
	ip = put_ipv4(&frame, &(struct ipv4_header_spec){.protocol = IPPROTO_TCP,
							.source = SOURCE_V4,
							.destination = DESTINATION_V4});
	put_tcp(&frame, 40000, 80, 0x18 /* PSH, ACK */);
	put_zeros(&frame, 900);
	finish_ipv4(&frame, ip);
	/* tcpdump -s 128: the payload is cut, every header we need is whole. */
	parse_bytes(frame.bytes, 128, 0, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_HAS_PORTS);
	assert_ports(&meta, 40000, 80);
	ck_assert_uint_eq(meta.tcp_flags, 0x18);
	/* what was sent (the header's total length), not the 114 bytes captured from the IP header */
	ck_assert_uint_eq(packet_ip_bytes(&meta), 20 + 20 + 900);
}
END_TEST

START_TEST(icmp)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x0800);
	ip = put_ipv4(&frame, &(struct ipv4_header_spec){.protocol = IPPROTO_ICMP,
							.source = SOURCE_V4,
							.destination = DESTINATION_V4});
	put_icmp_echo(&frame, 8);
	finish_ipv4(&frame, ip);
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, 0);
	ck_assert_uint_eq(meta.ip_version, 4);
	ck_assert_uint_eq(meta.protocol, IPPROTO_ICMP);
	ck_assert_uint_eq(meta.l4_offset, 34);
	ck_assert_uint_eq(meta.source_port, 0);
	ck_assert_uint_eq(meta.destination_port, 0);
}
END_TEST

START_TEST(sctp)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x0800);
	ip = put_ipv4(&frame, &(struct ipv4_header_spec){.protocol = IPPROTO_SCTP,
							.source = SOURCE_V4,
							.destination = DESTINATION_V4});
	put_big_endian_16(&frame, 2905);
	put_big_endian_16(&frame, 3868);
	put_zeros(&frame, 8); /* verification tag, checksum */
	finish_ipv4(&frame, ip);
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_HAS_PORTS);
	ck_assert_uint_eq(meta.protocol, IPPROTO_SCTP);
	assert_ports(&meta, 2905, 3868);

	/* The 12-byte common header is required. */
	parse_bytes(frame.bytes, frame.length - 1, 0, &meta);
	ck_assert_uint_eq(meta.flags, PACKET_FLAG_MALFORMED);
	ck_assert_uint_eq(meta.protocol, IPPROTO_SCTP);
}
END_TEST

START_TEST(unknown_transport_has_no_l4)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x0800);
	ip = put_ipv4(&frame, &(struct ipv4_header_spec){.protocol = 47 /* GRE */,
							.source = SOURCE_V4,
							.destination = DESTINATION_V4});
	finish_ipv4(&frame, ip);
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, 0);
	ck_assert_uint_eq(meta.protocol, 47);
	ck_assert_uint_eq(meta.l4_offset, 0);
}
END_TEST

/* ---- link layer ------------------------------------------------------------ */

START_TEST(single_vlan)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x8100);
	put_vlan_tag(&frame, 0xa064 /* priority 5, VLAN 100 */, 0x0800);
	ip = put_ipv4(&frame, &(struct ipv4_header_spec){.protocol = IPPROTO_TCP,
							.source = SOURCE_V4,
							.destination = DESTINATION_V4});
	put_tcp(&frame, 1234, 80, 0x02);
	finish_ipv4(&frame, ip);
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_VLAN | PACKET_FLAG_HAS_PORTS);
	ck_assert_uint_eq(meta.outer_vlan, 100);
	ck_assert_uint_eq(meta.l3_offset, 18);
	ck_assert_uint_eq(meta.l4_offset, 38);
	assert_ports(&meta, 1234, 80);
}
END_TEST

START_TEST(qinq)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x88a8);
	put_vlan_tag(&frame, 200, 0x8100);
	put_vlan_tag(&frame, 300, 0x0800);
	ip = put_ipv4(&frame, &(struct ipv4_header_spec){.protocol = IPPROTO_UDP,
							.source = SOURCE_V4,
							.destination = DESTINATION_V4});
	put_udp(&frame, 68, 67, 0);
	finish_ipv4(&frame, ip);
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_VLAN | PACKET_FLAG_HAS_PORTS);
	ck_assert_uint_eq(meta.outer_vlan, 200);
	ck_assert_uint_eq(meta.l3_offset, 22);
	ck_assert_uint_eq(meta.l4_offset, 42);
	assert_ports(&meta, 68, 67);
}
END_TEST

START_TEST(triple_tags)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x9100);
	put_vlan_tag(&frame, 0x0fff, 0x88a8);
	put_vlan_tag(&frame, 2, 0x8100);
	put_vlan_tag(&frame, 3, 0x86dd);
	ip = put_ipv6(&frame, IPPROTO_UDP, SOURCE_V6, DESTINATION_V6);
	put_udp(&frame, 546, 547, 4);
	finish_ipv6(&frame, ip);
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_VLAN | PACKET_FLAG_HAS_PORTS);
	ck_assert_uint_eq(meta.outer_vlan, 4095);
	ck_assert_uint_eq(meta.ip_version, 6);
	ck_assert_uint_eq(meta.l3_offset, 26);
	ck_assert_uint_eq(meta.l4_offset, 66);
	assert_ports(&meta, 546, 547);
	ck_assert_uint_eq(packet_ip_bytes(&meta), 40 + 8 + 4); /* IPv6: 40 + payload length */
}
END_TEST

START_TEST(arp_is_not_ip_and_not_malformed)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	struct packet_meta expected;

	put_ethernet(&frame, 0x0806);
	put_big_endian_16(&frame, 1);      /* Ethernet */
	put_big_endian_16(&frame, 0x0800); /* IPv4 */
	put_u8(&frame, 6);
	put_u8(&frame, 4);
	put_big_endian_16(&frame, 1); /* request */
	put_zeros(&frame, 6);
	put_address(&frame, AF_INET, SOURCE_V4);
	put_zeros(&frame, 6);
	put_address(&frame, AF_INET, DESTINATION_V4);
	parse_frame(&frame, &meta);

	/* Every field cleared except the two the caller owns. */
	memset(&expected, 0, sizeof(expected));
	expected.timestamp_ns = TEST_TIMESTAMP_NS;
	expected.wire_length = TEST_WIRE_LENGTH;
	ck_assert_mem_eq(&meta, &expected, sizeof(meta));
}
END_TEST

START_TEST(short_ethernet_is_malformed)
{
	static const uint8_t frame[13] = {0};
	struct packet_meta meta;

	parse_bytes(frame, sizeof(frame), 0, &meta);
	ck_assert_uint_eq(meta.flags, PACKET_FLAG_MALFORMED);
	ck_assert_uint_eq(meta.ip_version, 0);

	parse_bytes(frame, 0, 0, &meta);
	ck_assert_uint_eq(meta.flags, PACKET_FLAG_MALFORMED);
}
END_TEST

/* ---- IPv6 --------------------------------------------------------------- */

START_TEST(ipv6_udp)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x86dd);
	ip = put_ipv6(&frame, IPPROTO_UDP, SOURCE_V6, DESTINATION_V6);
	put_udp(&frame, 50000, 53, 30);
	finish_ipv6(&frame, ip);
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_HAS_PORTS);
	ck_assert_uint_eq(meta.ip_version, 6);
	ck_assert_uint_eq(meta.protocol, IPPROTO_UDP);
	assert_address(meta.source_address, SOURCE_V6);
	assert_address(meta.destination_address, DESTINATION_V6);
	assert_ports(&meta, 50000, 53);
	ck_assert_uint_eq(meta.l3_offset, 14);
	ck_assert_uint_eq(meta.l4_offset, 54);
	ck_assert_uint_eq(meta.source_hash, packet_address_hash(meta.source_address));
}
END_TEST

START_TEST(ipv6_extension_header_chain)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x86dd);
	ip = put_ipv6(&frame, IPPROTO_HOPOPTS, SOURCE_V6, DESTINATION_V6);
	put_ipv6_options_header(&frame, IPPROTO_DSTOPTS, 1);
	put_ipv6_options_header(&frame, IPPROTO_FRAGMENT, 2);
	put_ipv6_fragment_header(&frame, IPPROTO_TCP, 0, true);
	put_tcp(&frame, 22, 60000, 0x18);
	finish_ipv6(&frame, ip);
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_FRAGMENT | PACKET_FLAG_HAS_PORTS);
	ck_assert_uint_eq(meta.protocol, IPPROTO_TCP);
	assert_ports(&meta, 22, 60000);
	ck_assert_uint_eq(meta.tcp_flags, 0x18);
	ck_assert_uint_eq(meta.l4_offset, 14 + 40 + 8 + 16 + 8);
}
END_TEST

START_TEST(ipv6_later_fragment)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x86dd);
	ip = put_ipv6(&frame, IPPROTO_FRAGMENT, SOURCE_V6, DESTINATION_V6);
	put_ipv6_fragment_header(&frame, IPPROTO_UDP, 181, true);
	put_udp(&frame, 1111, 2222, 40);
	finish_ipv6(&frame, ip);
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_FRAGMENT | PACKET_FLAG_LATER_FRAGMENT);
	ck_assert_uint_eq(meta.ip_version, 6);
	ck_assert_uint_eq(meta.protocol, IPPROTO_UDP);
	ck_assert_uint_eq(meta.l4_offset, 0);
	ck_assert_uint_eq(meta.source_port, 0);
}
END_TEST

START_TEST(ipv6_authentication_header)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x86dd);
	ip = put_ipv6(&frame, IPPROTO_AH, SOURCE_V6, DESTINATION_V6);
	put_ipv6_authentication_header(&frame, IPPROTO_UDP, 3); /* 24 bytes in all */
	put_udp(&frame, 500, 4500, 8);
	finish_ipv6(&frame, ip);
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_HAS_PORTS);
	assert_ports(&meta, 500, 4500);
	ck_assert_uint_eq(meta.l4_offset, 14 + 40 + 24);
}
END_TEST

START_TEST(ipv6_esp_and_no_next_header_end_the_walk)
{
	static const uint8_t stoppers[] = {IPPROTO_ESP, IPPROTO_NONE};

	for (unsigned index = 0; index < sizeof(stoppers); index++) {
		struct frame_builder frame = {0};
		struct packet_meta meta;
		uint32_t ip;

		put_ethernet(&frame, 0x86dd);
		ip = put_ipv6(&frame, IPPROTO_DSTOPTS, SOURCE_V6, DESTINATION_V6);
		put_ipv6_options_header(&frame, stoppers[index], 1);
		if (stoppers[index] == IPPROTO_ESP)
			put_zeros(&frame, 16);
		finish_ipv6(&frame, ip);
		parse_frame(&frame, &meta);

		ck_assert_uint_eq(meta.flags, 0);
		ck_assert_uint_eq(meta.protocol, stoppers[index]);
		ck_assert_uint_eq(meta.l4_offset, 0);

		/* The destination options header itself is still required. */
		parse_bytes(frame.bytes, 14 + 40 + 7, 0, &meta);
		ck_assert_uint_eq(meta.flags, PACKET_FLAG_MALFORMED);
		ck_assert_uint_eq(meta.ip_version, 6);
	}
}
END_TEST

/* @p header_count destination options headers in a row, then UDP. */
static void
build_long_extension_chain(struct frame_builder *frame, unsigned header_count)
{
	uint32_t ip;

	put_ethernet(frame, 0x86dd);
	ip = put_ipv6(frame, IPPROTO_DSTOPTS, SOURCE_V6, DESTINATION_V6);
	for (unsigned index = 0; index < header_count; index++)
		put_ipv6_options_header(frame, index + 1 < header_count ? IPPROTO_DSTOPTS : IPPROTO_UDP, 1);
	put_udp(frame, 7, 9, 0);
	finish_ipv6(frame, ip);
}

START_TEST(ipv6_extension_chain_is_capped)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;

	build_long_extension_chain(&frame, 32);
	parse_frame(&frame, &meta);
	ck_assert_uint_eq(meta.flags, PACKET_FLAG_HAS_PORTS);
	assert_ports(&meta, 7, 9);

	memset(&frame, 0, sizeof(frame));
	build_long_extension_chain(&frame, 33);
	parse_frame(&frame, &meta);
	ck_assert_uint_eq(meta.flags, PACKET_FLAG_MALFORMED);
	ck_assert_uint_eq(meta.ip_version, 6);
	assert_address(meta.source_address, SOURCE_V6);
}
END_TEST

START_TEST(icmpv6)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x86dd);
	ip = put_ipv6(&frame, IPPROTO_ICMPV6, SOURCE_V6, DESTINATION_V6);
	put_icmp_echo(&frame, 128);
	finish_ipv6(&frame, ip);
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, 0);
	ck_assert_uint_eq(meta.ip_version, 6);
	ck_assert_uint_eq(meta.protocol, IPPROTO_ICMPV6);
	ck_assert_uint_eq(meta.l4_offset, 54);
}
END_TEST

START_TEST(ipv6_wrong_version_is_malformed)
{
	struct frame_builder frame = {0};
	struct packet_meta meta;
	uint32_t ip;

	put_ethernet(&frame, 0x86dd);
	ip = put_ipv6(&frame, IPPROTO_UDP, SOURCE_V6, DESTINATION_V6);
	put_udp(&frame, 1, 2, 0);
	frame.bytes[ip] = 0x40;
	parse_frame(&frame, &meta);

	ck_assert_uint_eq(meta.flags, PACKET_FLAG_MALFORMED);
	ck_assert_uint_eq(meta.ip_version, 0);
}
END_TEST

/* ---- truncation ---------------------------------------------------------- */

/*
 * Parse every prefix of @p frame, at two alignments. @p addresses_end is where
 * the outer IP destination address ends and @p headers_end where the last
 * header the parser needs ends.
 */
static void
check_every_truncation(const struct frame_builder *frame, uint8_t ip_version,
		       uint32_t addresses_end, uint32_t headers_end)
{
	struct packet_meta full;

	parse_frame(frame, &full);
	ck_assert_uint_eq(full.flags & PACKET_FLAG_MALFORMED, 0);
	ck_assert(full.flags & PACKET_FLAG_HAS_PORTS);

	for (uint32_t cut = 0; cut <= frame->length; cut++) {
		for (unsigned misalignment = 0; misalignment < 2; misalignment++) {
			struct packet_meta meta;

			parse_bytes(frame->bytes, cut, misalignment, &meta);
			ck_assert_msg(!(meta.flags & PACKET_FLAG_MALFORMED) == (cut >= headers_end),
				      "cut %u: flags %#x", cut, meta.flags);
			ck_assert_msg((meta.ip_version == ip_version) == (cut >= addresses_end),
				      "cut %u: ip_version %u", cut, meta.ip_version);
			if (cut < addresses_end) {
				ck_assert_uint_eq(meta.ip_version, 0);
				ck_assert_uint_eq(meta.source_hash, 0);
				assert_address(meta.source_address, "::");
			} else {
				ck_assert_mem_eq(meta.source_address, full.source_address, 16);
				ck_assert_mem_eq(meta.destination_address, full.destination_address, 16);
				ck_assert_uint_eq(meta.source_hash, full.source_hash);
				ck_assert_uint_eq(meta.l3_offset, full.l3_offset);
			}
			if (cut >= headers_end) {
				ck_assert_mem_eq(&meta, &full, sizeof(meta));
			} else {
				ck_assert_uint_eq(meta.flags & PACKET_FLAG_HAS_PORTS, 0);
				ck_assert_uint_eq(meta.l4_offset, 0);
			}
		}
	}
}

START_TEST(vlan_ipv6_tcp_truncated_everywhere)
{
	struct frame_builder frame = {0};
	uint32_t ip;

	put_ethernet(&frame, 0x8100);
	put_vlan_tag(&frame, 42, 0x86dd);
	ip = put_ipv6(&frame, IPPROTO_TCP, SOURCE_V6, DESTINATION_V6);
	put_tcp(&frame, 33000, 443, 0x18);
	put_zeros(&frame, 24); /* payload */
	finish_ipv6(&frame, ip);

	check_every_truncation(&frame, 6, 18 + 40, 18 + 40 + 20);
}
END_TEST

START_TEST(ipv6_extension_chain_truncated_everywhere)
{
	struct frame_builder frame = {0};
	uint32_t ip;

	put_ethernet(&frame, 0x86dd);
	ip = put_ipv6(&frame, IPPROTO_HOPOPTS, SOURCE_V6, DESTINATION_V6);
	put_ipv6_options_header(&frame, IPPROTO_ROUTING, 1);
	put_ipv6_options_header(&frame, IPPROTO_AH, 3); /* same layout as a routing header */
	put_ipv6_authentication_header(&frame, IPPROTO_FRAGMENT, 1);
	put_ipv6_fragment_header(&frame, IPPROTO_DSTOPTS, 0, true);
	put_ipv6_options_header(&frame, IPPROTO_UDP, 2);
	put_udp(&frame, 123, 123, 48);
	finish_ipv6(&frame, ip);

	check_every_truncation(&frame, 6, 14 + 40, 14 + 40 + 8 + 24 + 16 + 8 + 16 + 8);
}
END_TEST

START_TEST(ipv4_options_truncated_everywhere)
{
	struct frame_builder frame = {0};
	uint32_t ip;

	put_ethernet(&frame, 0x88a8);
	put_vlan_tag(&frame, 7, 0x0800);
	ip = put_ipv4(&frame, &(struct ipv4_header_spec){.protocol = IPPROTO_TCP,
							.source = SOURCE_V4,
							.destination = DESTINATION_V4,
							.option_words = 2});
	put_tcp(&frame, 1, 2, 0x01);
	put_zeros(&frame, 10);
	finish_ipv4(&frame, ip);

	check_every_truncation(&frame, 4, 18 + 20, 18 + 28 + 20);
}
END_TEST

/* Random damage to valid frames: nothing may crash, and the flags stay coherent. */
START_TEST(random_corruption_keeps_invariants)
{
	struct frame_builder templates[3] = {0};
	uint64_t state = 0x9e3779b97f4a7c15ull;
	uint32_t ip;

	put_ethernet(&templates[0], 0x8100);
	put_vlan_tag(&templates[0], 9, 0x86dd);
	ip = put_ipv6(&templates[0], IPPROTO_HOPOPTS, SOURCE_V6, DESTINATION_V6);
	put_ipv6_options_header(&templates[0], IPPROTO_FRAGMENT, 1);
	put_ipv6_fragment_header(&templates[0], IPPROTO_TCP, 0, true);
	put_tcp(&templates[0], 1, 2, 0x02);
	finish_ipv6(&templates[0], ip);

	put_ethernet(&templates[1], 0x0800);
	ip = put_ipv4(&templates[1], &(struct ipv4_header_spec){.protocol = IPPROTO_UDP,
								.source = SOURCE_V4,
								.destination = DESTINATION_V4,
								.option_words = 1});
	put_udp(&templates[1], 3, 4, 8);
	finish_ipv4(&templates[1], ip);

	put_ethernet(&templates[2], 0x86dd);
	ip = put_ipv6(&templates[2], IPPROTO_AH, SOURCE_V6, DESTINATION_V6);
	put_ipv6_authentication_header(&templates[2], IPPROTO_SCTP, 1);
	put_zeros(&templates[2], 12);
	finish_ipv6(&templates[2], ip);

	for (unsigned round = 0; round < 20000; round++) {
		struct frame_builder frame = templates[round % 3];
		struct packet_meta meta;
		uint32_t cut;

		for (unsigned flip = 0; flip < 1 + round % 4; flip++) {
			/* xorshift64: deterministic, so a failure reproduces. */
			state ^= state << 13;
			state ^= state >> 7;
			state ^= state << 17;
			frame.bytes[state % frame.length] ^= (uint8_t)(state >> 32);
		}
		cut = (uint32_t)((state >> 40) % (frame.length + 1));
		parse_bytes(frame.bytes, cut, round & 1, &meta);

		if (meta.ip_version == 0) {
			ck_assert_uint_eq(meta.source_hash, 0);
			ck_assert_uint_eq(meta.l3_offset, 0);
		} else {
			ck_assert(meta.ip_version == 4 || meta.ip_version == 6);
			ck_assert_uint_eq(meta.source_hash, packet_address_hash(meta.source_address));
		}
		if (meta.flags & PACKET_FLAG_HAS_PORTS)
			ck_assert_uint_le(meta.l4_offset + 8u, cut);
		if (meta.flags & PACKET_FLAG_LATER_FRAGMENT) {
			ck_assert(meta.flags & PACKET_FLAG_FRAGMENT);
			ck_assert_uint_eq(meta.flags & PACKET_FLAG_HAS_PORTS, 0);
		}
		ck_assert(meta.l4_offset == 0 || meta.l4_offset < cut);
	}
}
END_TEST

/* ---- addresses ------------------------------------------------------------ */

static void
assert_formats_as(const char *text, const char *expected)
{
	uint8_t address[16];
	char formatted[64];

	address_from_text(text, address);
	ck_assert_int_eq(packet_address_format(address, formatted, sizeof(formatted)),
			 (int)strlen(expected));
	ck_assert_str_eq(formatted, expected);
}

START_TEST(address_format)
{
	assert_formats_as("198.51.100.7", "198.51.100.7");
	assert_formats_as("0.0.0.0", "0.0.0.0");
	assert_formats_as("255.255.255.255", "255.255.255.255");
	assert_formats_as("2001:db8::1", "2001:db8::1");
	assert_formats_as("2001:0db8:0000:0000:0001:0000:0000:0001", "2001:db8::1:0:0:1");
	assert_formats_as("fe80::1:2:3:4", "fe80::1:2:3:4");
	assert_formats_as("::", "::");
	assert_formats_as("::1", "::1");
	/* Deprecated IPv4-compatible addresses print in hex, as Python's ipaddress does. */
	assert_formats_as("::1.2.3.4", "::102:304");
	assert_formats_as("::1.2.0.0", "::102:0");
	assert_formats_as("::0.0.1.2", "::102");
	assert_formats_as("64:ff9b::1.2.3.4", "64:ff9b::102:304");
}
END_TEST

START_TEST(address_format_too_small)
{
	uint8_t address[16];
	char formatted[64];

	/* Each text needs its length plus the NUL; one byte less must fail. */
	address_from_text("2001:db8::1", address);
	ck_assert_int_lt(packet_address_format(address, formatted, 11), 0);
	ck_assert_int_eq(packet_address_format(address, formatted, 12), 11);
	address_from_text("198.51.100.7", address);
	ck_assert_int_lt(packet_address_format(address, formatted, 12), 0);
	ck_assert_int_eq(packet_address_format(address, formatted, 13), 12);
	address_from_text("::1.2.3.4", address);
	ck_assert_int_lt(packet_address_format(address, formatted, 9), 0);
	ck_assert_int_eq(packet_address_format(address, formatted, 10), 9);
}
END_TEST

START_TEST(address_is_ipv4)
{
	uint8_t address[16];

	address_from_text("198.51.100.7", address);
	ck_assert(packet_address_is_ipv4(address));
	address_from_text("2001:db8::1", address);
	ck_assert(!packet_address_is_ipv4(address));
	address_from_text("::1.2.3.4", address);
	ck_assert(!packet_address_is_ipv4(address));
}
END_TEST

START_TEST(address_hash_differs_across_addresses)
{
	uint8_t first[16];
	uint8_t second[16];
	uint8_t unaligned[17];

	address_from_text("198.51.100.7", first);
	address_from_text("198.51.100.8", second);
	ck_assert_uint_ne(packet_address_hash(first), packet_address_hash(second));
	address_from_text("2001:db8::1", second);
	ck_assert_uint_ne(packet_address_hash(first), packet_address_hash(second));

	/* Deterministic, and independent of where the address sits in memory. */
	memcpy(unaligned + 1, first, 16);
	ck_assert_uint_eq(packet_address_hash(unaligned + 1), packet_address_hash(first));
}
END_TEST

/* The top bits pick the replica: consecutive addresses must spread evenly. */
START_TEST(address_hash_spreads_over_replicas)
{
	static const unsigned replica_counts[] = {2, 3, 4, 7, 8};
	uint8_t address[16];

	address_from_text("10.0.0.0", address);
	for (unsigned index = 0; index < sizeof(replica_counts) / sizeof(replica_counts[0]); index++) {
		const unsigned replicas = replica_counts[index];
		const unsigned addresses = 4096;
		unsigned counts[8] = {0};

		for (unsigned host = 0; host < addresses; host++) {
			uint32_t hash;

			address[14] = (uint8_t)(host >> 8);
			address[15] = (uint8_t)host;
			hash = packet_address_hash(address);
			counts[((uint64_t)hash * replicas) >> 32]++;
		}
		/* Within 15% of a fair share: loose enough never to flake, tight enough to catch a bias. */
		for (unsigned replica = 0; replica < replicas; replica++) {
			ck_assert_uint_gt(counts[replica] * 100, addresses * 85 / replicas);
			ck_assert_uint_lt(counts[replica] * 100, addresses * 115 / replicas);
		}
	}
}
END_TEST

/* ---- whole frames in mbufs, one segment or a chain ----------------------- */

/*
 * Ethernet, IPv6, a hop-by-hop header of @p options_length bytes (a multiple
 * of 8, at most 2048), UDP 1234 -> 5678 and 32 bytes of payload.
 * @return the frame's length
 */
static uint32_t
build_ipv6_hop_by_hop_frame(uint8_t *frame, uint32_t options_length)
{
	uint32_t length = 14 + 40 + options_length + 8 + 32;

	memset(frame, 0, length);
	frame[12] = 0x86, frame[13] = 0xdd;
	frame[14] = 0x60;
	frame[14 + 4] = (uint8_t)((length - 54) >> 8), frame[14 + 5] = (uint8_t)(length - 54);
	frame[14 + 6] = IPPROTO_HOPOPTS;
	frame[14 + 7] = 64;
	frame[14 + 8] = 0x20, frame[14 + 9] = 0x01, frame[14 + 23] = 1;   /* 2001::1 */
	frame[14 + 24] = 0x20, frame[14 + 25] = 0x01, frame[14 + 39] = 2; /* 2001::2 */
	frame[54] = IPPROTO_UDP;
	frame[55] = (uint8_t)(options_length / 8 - 1);
	/* the rest of the header is Pad1 options (zero bytes), already there */
	frame[54 + options_length] = 1234 >> 8, frame[54 + options_length + 1] = 1234 & 0xff;
	frame[54 + options_length + 2] = 5678 >> 8, frame[54 + options_length + 3] = 5678 & 0xff;
	return length;
}

/* @p frame in mbufs whose segments end at the offsets in @p cuts (ascending), then the rest. */
static struct rte_mbuf *
chain_frame(const uint8_t *frame, uint32_t length, const uint32_t *cuts, unsigned cut_count)
{
	struct rte_mempool *mempool = test_mempool();
	struct rte_mbuf *head = NULL;
	uint32_t start = 0;

	for (unsigned i = 0; i <= cut_count; i++) {
		uint32_t end = i < cut_count ? cuts[i] : length;
		struct rte_mbuf *segment = rte_pktmbuf_alloc(mempool);
		char *data;

		ck_assert_ptr_nonnull(segment);
		data = rte_pktmbuf_append(segment, (uint16_t)(end - start));
		ck_assert_ptr_nonnull(data);
		memcpy(data, frame + start, end - start);
		if (head == NULL)
			head = segment;
		else
			ck_assert_int_eq(rte_pktmbuf_chain(head, segment), 0);
		start = end;
	}
	ck_assert_uint_eq(head->pkt_len, length);
	return head;
}

/* The parse of @p packet equals the parse of the same bytes in one buffer, and finds UDP. */
static void
assert_parsed_like_flat(const uint8_t *frame, uint32_t length, struct rte_mbuf *packet)
{
	struct packet_meta flat, chained;

	memset(&flat, 0, sizeof(flat));
	memset(&chained, 0, sizeof(chained));
	packet_parse(frame, length, &flat);
	packet_parse_mbuf(packet, &chained);
	ck_assert_uint_eq(flat.flags & PACKET_FLAG_MALFORMED, 0);
	ck_assert_uint_eq(flat.protocol, IPPROTO_UDP);
	ck_assert_uint_eq(flat.source_port, 1234);
	ck_assert_uint_eq(flat.destination_port, 5678);
	ck_assert_mem_eq(&chained, &flat, sizeof(flat));
}

/* The frames: a 600-byte hop-by-hop header, past the 512 bytes live frames were cut to. */
START_TEST(mbuf_whole_frame_in_one_segment)
{
	uint8_t frame[2200];
	uint32_t length = build_ipv6_hop_by_hop_frame(frame, 600);
	struct rte_mbuf *packet = chain_frame(frame, length, NULL, 0);

	ck_assert_uint_eq(packet->nb_segs, 1);
	assert_parsed_like_flat(frame, length, packet);
	rte_pktmbuf_free(packet);
}
END_TEST

/* Chains cut inside every header and between them parse as the flat frame. */
START_TEST(mbuf_whole_frame_in_a_chain)
{
	static const uint32_t cut_sets[][3] = {
		{10, 0, 0}, {14, 54, 0}, {56, 300, 655}, {100, 654, 658}, {512, 660, 0},
		{600, 0, 0}, {690, 0, 0},
	};
	static const unsigned cut_counts[] = {1, 2, 3, 3, 2, 1, 1};
	uint8_t frame[2200];
	uint32_t length = build_ipv6_hop_by_hop_frame(frame, 600);

	for (unsigned set = 0; set < RTE_DIM(cut_sets); set++) {
		struct rte_mbuf *packet = chain_frame(frame, length, cut_sets[set], cut_counts[set]);

		ck_assert_uint_eq(packet->nb_segs, cut_counts[set] + 1);
		assert_parsed_like_flat(frame, length, packet);
		rte_pktmbuf_free(packet);
	}
	/* larger than one mbuf's data room, as a jumbo frame arrives: the largest hop-by-hop */
	length = build_ipv6_hop_by_hop_frame(frame, 2048);
	{
		const uint32_t cuts[] = {1500};
		struct rte_mbuf *packet = chain_frame(frame, length, cuts, 1);

		assert_parsed_like_flat(frame, length, packet);
		rte_pktmbuf_free(packet);
	}
}
END_TEST

/* A chain whose frame is cut inside its headers is malformed, as the same bytes flat are. */
START_TEST(mbuf_chain_truncated_is_malformed_like_flat)
{
	uint8_t frame[2200];
	uint32_t length = build_ipv6_hop_by_hop_frame(frame, 600) - 32 - 8 - 100;
	const uint32_t cuts[] = {300};
	struct rte_mbuf *packet = chain_frame(frame, length, cuts, 1);
	struct packet_meta flat, chained;

	memset(&flat, 0, sizeof(flat));
	memset(&chained, 0, sizeof(chained));
	packet_parse(frame, length, &flat);
	packet_parse_mbuf(packet, &chained);
	ck_assert_uint_ne(flat.flags & PACKET_FLAG_MALFORMED, 0);
	ck_assert_mem_eq(&chained, &flat, sizeof(flat));
	rte_pktmbuf_free(packet);
}
END_TEST

Suite *
packet_suite(void)
{
	Suite *suite = suite_create("packet");
	TCase *ipv4 = tcase_create("ipv4");
	TCase *link = tcase_create("link");
	TCase *ipv6 = tcase_create("ipv6");
	TCase *truncation = tcase_create("truncation");
	TCase *addresses = tcase_create("addresses");
	TCase *mbufs = tcase_create("mbufs");

	tcase_add_test(ipv4, ipv4_tcp);
	tcase_add_test(ipv4, ipv4_options);
	tcase_add_test(ipv4, ipv4_later_fragment);
	tcase_add_test(ipv4, ipv4_first_fragment);
	tcase_add_test(ipv4, ipv4_dont_fragment_is_not_a_fragment);
	tcase_add_test(ipv4, ipv4_header_length_below_five_is_malformed);
	tcase_add_test(ipv4, ipv4_wrong_version_is_malformed);
	tcase_add_test(ipv4, ipv4_total_length_below_header_is_malformed);
	tcase_add_test(ipv4, ipv4_total_length_shorter_than_capture_is_accepted);
	tcase_add_test(ipv4, tcp_data_offset_below_five_is_malformed);
	tcase_add_test(ipv4, snaplen_truncated_payload_is_not_malformed);
	tcase_add_test(ipv4, icmp);
	tcase_add_test(ipv4, sctp);
	tcase_add_test(ipv4, unknown_transport_has_no_l4);
	suite_add_tcase(suite, ipv4);

	tcase_add_test(link, single_vlan);
	tcase_add_test(link, qinq);
	tcase_add_test(link, triple_tags);
	tcase_add_test(link, arp_is_not_ip_and_not_malformed);
	tcase_add_test(link, short_ethernet_is_malformed);
	suite_add_tcase(suite, link);

	tcase_add_test(ipv6, ipv6_udp);
	tcase_add_test(ipv6, ipv6_extension_header_chain);
	tcase_add_test(ipv6, ipv6_later_fragment);
	tcase_add_test(ipv6, ipv6_authentication_header);
	tcase_add_test(ipv6, ipv6_esp_and_no_next_header_end_the_walk);
	tcase_add_test(ipv6, ipv6_extension_chain_is_capped);
	tcase_add_test(ipv6, icmpv6);
	tcase_add_test(ipv6, ipv6_wrong_version_is_malformed);
	suite_add_tcase(suite, ipv6);

	/* Sanitized builds run these slowly; the default 4 s timeout is too tight there. */
	tcase_set_timeout(truncation, 60);
	tcase_add_test(truncation, vlan_ipv6_tcp_truncated_everywhere);
	tcase_add_test(truncation, ipv6_extension_chain_truncated_everywhere);
	tcase_add_test(truncation, ipv4_options_truncated_everywhere);
	tcase_add_test(truncation, random_corruption_keeps_invariants);
	suite_add_tcase(suite, truncation);

	tcase_add_test(addresses, address_format);
	tcase_add_test(addresses, address_format_too_small);
	tcase_add_test(addresses, address_is_ipv4);
	tcase_add_test(addresses, address_hash_differs_across_addresses);
	tcase_add_test(addresses, address_hash_spreads_over_replicas);
	suite_add_tcase(suite, addresses);

	tcase_add_test(mbufs, mbuf_whole_frame_in_one_segment);
	tcase_add_test(mbufs, mbuf_whole_frame_in_a_chain);
	tcase_add_test(mbufs, mbuf_chain_truncated_is_malformed_like_flat);
	suite_add_tcase(suite, mbufs);

	return suite;
}
