/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Per-packet metadata and the one header parser.
 *
 * A source parses each frame exactly once and stores the result in the mbuf's
 * private area; every kernel downstream reads struct packet_meta and never
 * touches the headers again. The struct is one cache line so a kernel pays a
 * single miss per packet for everything it needs.
 */
#ifndef JETSTREAM_PACKET_H
#define JETSTREAM_PACKET_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

/** Flags in packet_meta.flags. */
enum packet_flag {
	PACKET_FLAG_MALFORMED = 1u << 0,      /**< a header was truncated or invalid */
	PACKET_FLAG_FRAGMENT = 1u << 1,       /**< IPv4/IPv6 fragment (any) */
	PACKET_FLAG_LATER_FRAGMENT = 1u << 2, /**< fragment with offset > 0: no L4 header */
	PACKET_FLAG_HAS_PORTS = 1u << 3,      /**< source_port/destination_port are valid */
	PACKET_FLAG_VLAN = 1u << 4,           /**< at least one 802.1Q/802.1ad tag */
};

/**
 * What the parser learnt about one frame.
 *
 * Addresses are 16 bytes for both families so that keys are fixed width:
 * IPv4 is stored IPv4-mapped (::ffff:a.b.c.d), which never collides with a
 * real IPv6 source on the wire and keeps one comparison for both families.
 */
struct packet_meta {
	uint8_t source_address[16];      /**< outer IP source; zero when ip_version == 0 */
	uint8_t destination_address[16]; /**< outer IP destination */
	uint64_t timestamp_ns;           /**< pcap time, or wall clock at receive */
	uint32_t wire_length;            /**< original frame length (Wireshark frame.len) */
	uint32_t source_hash;            /**< hash of source_address, for partitioning */
	uint16_t source_port;            /**< host order; valid with PACKET_FLAG_HAS_PORTS */
	uint16_t destination_port;       /**< host order */
	uint16_t l3_offset;              /**< offset of the outer IP header */
	uint16_t l4_offset;              /**< offset of the L4 header, 0 when none */
	uint16_t outer_vlan;             /**< VLAN id of the outermost tag */
	uint8_t ip_version;              /**< 4, 6, or 0 for non-IP frames */
	uint8_t protocol;                /**< L4 protocol number (after IPv6 extension headers) */
	uint8_t tcp_flags;               /**< TCP flags byte when protocol == TCP */
	uint8_t flags;                   /**< enum packet_flag */
	/**
	 * The outer IP header's own length field as on the wire: IPv4 total
	 * length, IPv6 payload length (0 when ip_version == 0). From the header,
	 * not the captured length, so a frame the snaplen cut counts what was
	 * sent. 16 bits: the IPv6 header's 40 bytes are added by packet_ip_bytes().
	 */
	uint16_t ip_length_field;
};

_Static_assert(sizeof(struct packet_meta) <= 64, "packet_meta must stay in one cache line");

/**
 * The packet's IP-level bytes, what RFC 7012 octetDeltaCount counts (the IP
 * header and its payload): IPv4 total length, IPv6 40 + payload length (an
 * IPv6 jumbogram's payload length is 0: 40 is counted). 0 for a non-IP frame.
 */
static inline uint32_t
packet_ip_bytes(const struct packet_meta *meta)
{
	return meta->ip_version == 6 ? 40u + meta->ip_length_field : meta->ip_length_field;
}

/** Bytes reserved in every mbuf's private area (a multiple of RTE_MBUF_PRIV_ALIGN). */
#define PACKET_META_PRIVATE_SIZE 64

/** Metadata of a packet; the mempool must have been created with PACKET_META_PRIVATE_SIZE. */
static inline struct packet_meta *
packet_meta(struct rte_mbuf *mbuf)
{
	return (struct packet_meta *)rte_mbuf_to_priv(mbuf);
}

/**
 * Parse one frame starting at its Ethernet header.
 *
 * Never reads beyond @p captured_length. On truncation or an invalid header,
 * sets PACKET_FLAG_MALFORMED and keeps what was parsed up to that point (for
 * example the IP addresses of a frame cut inside its TCP header).
 * Fills every field of @p meta except timestamp_ns and wire_length.
 *
 * @param frame            first byte of the Ethernet header
 * @param captured_length  bytes available at @p frame
 * @param meta             output
 */
void packet_parse(const uint8_t *frame, uint32_t captured_length, struct packet_meta *meta);

/**
 * Parse the whole frame held in @p packet, one segment or a chain, exactly as
 * packet_parse() parses the same bytes in one buffer. Frames whose headers
 * cross a segment are copied (up to PACKET_PARSE_COPY_MAXIMUM bytes) first.
 */
void packet_parse_mbuf(const struct rte_mbuf *packet, struct packet_meta *meta);

/**
 * Most bytes of a chained frame copied to parse it: a 16-bit IP length plus
 * link headers. No port here enables LRO, so no frame received is longer.
 */
#define PACKET_PARSE_COPY_MAXIMUM (UINT16_MAX + 1u + 1024u)

/** true when the 16-byte address holds an IPv4-mapped address. */
bool packet_address_is_ipv4(const uint8_t address[16]);

/**
 * Write an address in canonical text: dotted quad for IPv4-mapped addresses,
 * RFC 5952 compressed form for IPv6 (as inet_ntop prints it).
 * @return length written (without the NUL)
 */
int packet_address_format(const uint8_t address[16], char *text, size_t size);

/**
 * Symmetric hash of the 5-tuple (addresses, ports, protocol): the same for
 * both directions of a conversation, so a flow's packets meet in one replica.
 * Ports count only with PACKET_FLAG_HAS_PORTS.
 */
uint32_t packet_flow_hash(const struct packet_meta *meta);

/** Hash of a 16-byte address used to pick a partition (replica). */
uint32_t packet_address_hash(const uint8_t address[16]);

#endif
