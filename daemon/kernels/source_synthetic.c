/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The `synthetic:` reader of the source kernel: a packet generator on the
 * worker lcore, so the datapath can be measured (and soaked) without a NIC or
 * a file limiting it.
 *
 * Every packet is a real frame (Ethernet, IPv4 or IPv6, UDP or TCP) written
 * into an mbuf and parsed by the one parser, exactly as a received frame is,
 * so what downstream kernels see and cost is what a port would give them.
 * Only the headers are written: no kernel reads payload bytes.
 *
 * Flow f belongs to source f % sources and is the (f / sources)-th flow of
 * that source; its addresses and ports are computed from f, so there is no
 * per-flow table. Flows are picked uniformly or, with `zipf:`, through
 * Walker's alias table (two 32-bit words per flow, O(1) per pick).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_prefetch.h>
#include <rte_reciprocal.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "kernels/source_synthetic.h"
#include "packet.h"

#define ETHERNET_HEADER_LENGTH 14
#define IPV4_HEADER_LENGTH 20
#define IPV6_HEADER_LENGTH 40
#define UDP_HEADER_LENGTH 8
#define TCP_HEADER_LENGTH 20
#define FIRST_SOURCE_PORT 1024
#define SOURCE_PORTS (65536 - FIRST_SOURCE_PORT)

struct synthetic_state {
	uint64_t random;          /* splitmix64 state, from the seed */
	uint64_t salt;            /* mixed into addresses, from the seed */
	uint64_t flow_count;
	struct rte_reciprocal_u64 per_source; /* divides by `sources` without a division */
	uint64_t ipv6_below;      /* sources whose hash is below this are IPv6 (of 2^32) */
	bool ipv6_tcp_fits;       /* the smallest size leaves room for IPv6 + TCP headers */
	uint64_t made;            /* packets generated */
	unsigned next_size;       /* index in params->sizes */
	uint32_t *alias_keep;     /* zipf: chance (of 2^32) that a column keeps its own flow */
	uint32_t *alias_other;    /* zipf: the flow a column gives otherwise */
	struct source_pace pace;
	struct source_packet_counts counts;
	uint64_t mempool_waits;   /* bursts put off because every mbuf was in use downstream */
};

/* splitmix64's finaliser: a fast, well-spread 64-bit mix. */
static inline uint64_t
mix(uint64_t value)
{
	value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ull;
	value = (value ^ (value >> 27)) * 0x94d049bb133111ebull;
	return value ^ (value >> 31);
}

static inline uint64_t
next_random(struct synthetic_state *state)
{
	state->random += 0x9e3779b97f4a7c15ull;
	return mix(state->random);
}

/* An index below @p count from the high 32 bits of @p random, without a division. */
static inline uint64_t
scale(uint64_t random, uint64_t count)
{
	return ((random >> 32) * count) >> 32;
}

void
source_synthetic_check(const struct synthetic_params *params, struct config_check_context *context)
{
	if (params->flows != 0 && params->flows < params->sources)
		config_check_error(context, "synthetic.flows",
				   "'synthetic.flows' (%lu) must be at least 'synthetic.sources' "
				   "(%lu): every source sends at least one flow",
				   (unsigned long)params->flows, (unsigned long)params->sources);
}

/*
 * Vose's construction of Walker's alias table for weights 1/(i+1)^skew:
 * column i keeps flow i with alias_keep[i] / 2^32 and gives alias_other[i]
 * otherwise. Runs once, on the control thread.
 */
static int
build_alias_table(struct synthetic_state *state, double skew)
{
	uint64_t count = state->flow_count, small_count = 0, large_start = count;
	double *scaled = malloc(count * sizeof(*scaled)), total = 0;
	uint32_t *work = malloc(count * sizeof(*work)); /* small ones from the front, large from the back */

	state->alias_keep = malloc(count * sizeof(*state->alias_keep));
	state->alias_other = malloc(count * sizeof(*state->alias_other));
	if (scaled == NULL || work == NULL || state->alias_keep == NULL || state->alias_other == NULL) {
		free(scaled);
		free(work);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < count; i++)
		total += scaled[i] = pow((double)(i + 1), -skew);
	for (uint64_t i = 0; i < count; i++) {
		scaled[i] *= (double)count / total;
		if (scaled[i] < 1.0)
			work[small_count++] = (uint32_t)i;
		else
			work[--large_start] = (uint32_t)i;
	}
	while (small_count > 0 && large_start < count) {
		uint32_t small = work[--small_count], large = work[large_start];

		state->alias_keep[small] = (uint32_t)(scaled[small] * 4294967296.0);
		state->alias_other[small] = large;
		scaled[large] -= 1.0 - scaled[small];
		if (scaled[large] < 1.0) {
			large_start++;
			work[small_count++] = large;
		}
	}
	/* what is left has a weight of 1 up to rounding: it always keeps its own flow */
	for (uint64_t i = 0; i < small_count; i++)
		state->alias_keep[work[i]] = UINT32_MAX, state->alias_other[work[i]] = work[i];
	for (uint64_t i = large_start; i < count; i++)
		state->alias_keep[work[i]] = UINT32_MAX, state->alias_other[work[i]] = work[i];
	free(scaled);
	free(work);
	return 0;
}

int
source_synthetic_init(struct kernel_instance *instance)
{
	const struct source_params *source = instance->params;
	const struct synthetic_params *params = &source->synthetic_params;
	struct synthetic_state *state = calloc(1, sizeof(*state));
	uint32_t room = rte_pktmbuf_data_room_size(instance->mempool) - RTE_PKTMBUF_HEADROOM;

	if (state == NULL)
		return -ENOMEM;
	instance->state = state;
	for (unsigned i = 0; i < params->sizes.count; i++) {
		if (params->sizes.values[i] > room) {
			snprintf(instance->error, sizeof(instance->error),
				 "synthetic frame size %lu does not fit an mbuf's %u-byte data room",
				 (unsigned long)params->sizes.values[i], room);
			return -EINVAL;
		}
	}
	state->random = params->seed;
	state->salt = mix(params->seed ^ 0x5bd1e995ull);
	state->per_source = rte_reciprocal_value_u64(params->sources);
	state->flow_count = params->flows != 0 ? params->flows : params->sources;
	state->ipv6_below = (uint64_t)(params->ipv6_share * 4294967296.0);
	state->ipv6_tcp_fits = true;
	for (unsigned i = 0; i < params->sizes.count; i++)
		if (params->sizes.values[i] <
		    ETHERNET_HEADER_LENGTH + IPV6_HEADER_LENGTH + TCP_HEADER_LENGTH)
			state->ipv6_tcp_fits = false;
	if (params->zipf > 0 && build_alias_table(state, params->zipf) != 0) {
		snprintf(instance->error, sizeof(instance->error),
			 "no memory for the alias table of %lu flows",
			 (unsigned long)state->flow_count);
		return -ENOMEM;
	}
	return 0;
}

/* Pick a flow for each packet of the burst; the alias table is prefetched a burst ahead. */
static void
pick_flows(struct synthetic_state *state, uint64_t *flows, uint64_t *randoms, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		randoms[i] = next_random(state);
		flows[i] = scale(randoms[i], state->flow_count);
		if (state->alias_keep != NULL) {
			rte_prefetch0(&state->alias_keep[flows[i]]);
			rte_prefetch0(&state->alias_other[flows[i]]);
		}
	}
	if (state->alias_keep == NULL)
		return;
	for (unsigned i = 0; i < count; i++)
		if ((uint32_t)randoms[i] >= state->alias_keep[flows[i]])
			flows[i] = state->alias_other[flows[i]];
}

/*
 * Writes the L4 header in @p room bytes; @return its length. Odd flows are TCP
 * when @p tcp_fits (in every frame size of the list: a flow keeps its 5-tuple
 * whatever the size of its packets), the others UDP.
 */
static unsigned
write_transport(uint8_t *header, uint64_t flow, uint64_t nth_of_source, uint32_t room,
		bool tcp_fits, uint8_t *protocol)
{
	uint16_t source_port = (uint16_t)(FIRST_SOURCE_PORT + nth_of_source % SOURCE_PORTS);
	uint16_t base_port = (flow & 1) != 0 && tcp_fits ? 80 : 53;
	uint16_t destination_port = (uint16_t)(base_port + nth_of_source / SOURCE_PORTS);

	if (base_port == 80) {
		struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)header;

		memset(tcp, 0, sizeof(*tcp));
		tcp->src_port = rte_cpu_to_be_16(source_port);
		tcp->dst_port = rte_cpu_to_be_16(destination_port);
		tcp->data_off = (TCP_HEADER_LENGTH / 4) << 4;
		tcp->tcp_flags = RTE_TCP_ACK_FLAG;
		tcp->rx_win = rte_cpu_to_be_16(65535);
		*protocol = IPPROTO_TCP;
		return TCP_HEADER_LENGTH;
	}
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)header;

	udp->src_port = rte_cpu_to_be_16(source_port);
	udp->dst_port = rte_cpu_to_be_16(destination_port);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)room);
	udp->dgram_cksum = 0; /* optional over IPv4; a generator's payload is not meant to be read */
	*protocol = IPPROTO_UDP;
	return UDP_HEADER_LENGTH;
}

/*
 * The header checksum from the five fields that vary, in host order. Measured:
 * rte_ipv4_cksum()'s generic 16-bit loop was a third of the generator's time.
 */
static inline uint16_t
ipv4_checksum(uint16_t total_length, uint8_t protocol, uint32_t source, uint32_t destination)
{
	uint32_t sum = (RTE_IPV4_VHL_DEF << 8) + total_length + (64u << 8 | protocol) +
		       (source >> 16) + (source & 0xffff) + (destination >> 16) +
		       (destination & 0xffff);

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void
write_ipv4(uint8_t *frame, uint32_t size, uint64_t source, uint64_t flow,
	   const struct synthetic_state *state, uint64_t nth_of_source)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + ETHERNET_HEADER_LENGTH);
	uint16_t total_length = (uint16_t)(size - ETHERNET_HEADER_LENGTH);
	uint32_t source_address = (10u << 24) | (uint32_t)source; /* 10.0.0.0/8 */
	uint32_t destination_address = 0xc6120000u | (uint32_t)(mix(flow ^ state->salt) & 0x1ffff); /* 198.18.0.0/15 */
	uint8_t protocol;

	/* the smallest frame, 64 bytes, leaves 30 bytes after an IPv4 header: TCP always fits */
	write_transport(frame + ETHERNET_HEADER_LENGTH + IPV4_HEADER_LENGTH, flow, nth_of_source,
			size - ETHERNET_HEADER_LENGTH - IPV4_HEADER_LENGTH, true, &protocol);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(total_length);
	ip->time_to_live = 64;
	ip->next_proto_id = protocol;
	ip->src_addr = rte_cpu_to_be_32(source_address);
	ip->dst_addr = rte_cpu_to_be_32(destination_address);
	ip->hdr_checksum = rte_cpu_to_be_16(
		ipv4_checksum(total_length, protocol, source_address, destination_address));
}

static void
write_ipv6(uint8_t *frame, uint32_t size, uint64_t source, uint64_t flow,
	   const struct synthetic_state *state, uint64_t nth_of_source)
{
	static const uint8_t source_prefix[12] = {0x20, 0x01, 0x0d, 0xb8};           /* 2001:db8::/96 */
	static const uint8_t destination_prefix[12] = {0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff};
	struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(frame + ETHERNET_HEADER_LENGTH);
	uint32_t payload = size - ETHERNET_HEADER_LENGTH - IPV6_HEADER_LENGTH;
	uint32_t source_low = rte_cpu_to_be_32((uint32_t)source);
	uint32_t destination_low = rte_cpu_to_be_32((uint32_t)mix(flow ^ state->salt));
	uint8_t protocol;

	write_transport(frame + ETHERNET_HEADER_LENGTH + IPV6_HEADER_LENGTH, flow, nth_of_source,
			payload, state->ipv6_tcp_fits, &protocol);
	ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
	ip->payload_len = rte_cpu_to_be_16((uint16_t)payload);
	ip->proto = protocol;
	ip->hop_limits = 64;
	memcpy(ip->src_addr, source_prefix, sizeof(source_prefix));
	memcpy(ip->src_addr + 12, &source_low, sizeof(source_low));
	memcpy(ip->dst_addr, destination_prefix, sizeof(destination_prefix));
	memcpy(ip->dst_addr + 12, &destination_low, sizeof(destination_low));
}

/* Write flow @p flow's frame of @p size bytes into @p packet and parse it. */
static void
make_packet(const struct synthetic_params *params, const struct synthetic_state *state,
	    struct rte_mbuf *packet, uint64_t flow, uint32_t size, uint64_t now_ns)
{
	static const struct rte_ether_addr destination = {{0x02, 0, 0, 0, 0, 0x02}};
	static const struct rte_ether_addr source_mac = {{0x02, 0, 0, 0, 0, 0x01}};
	uint8_t *frame = rte_pktmbuf_mtod(packet, uint8_t *);
	struct rte_ether_hdr *ethernet = (struct rte_ether_hdr *)frame;
	uint64_t nth_of_source = rte_reciprocal_divide_u64(flow, &state->per_source);
	uint64_t source = flow - nth_of_source * params->sources;
	bool ipv6 = state->ipv6_below != 0 && (mix(source ^ state->salt) >> 32) < state->ipv6_below;
	struct packet_meta *meta = packet_meta(packet);

	ethernet->dst_addr = destination;
	ethernet->src_addr = source_mac;
	ethernet->ether_type = rte_cpu_to_be_16(ipv6 ? RTE_ETHER_TYPE_IPV6 : RTE_ETHER_TYPE_IPV4);
	if (ipv6)
		write_ipv6(frame, size, source, flow, state, nth_of_source);
	else
		write_ipv4(frame, size, source, flow, state, nth_of_source);
	packet->data_len = (uint16_t)size;
	packet->pkt_len = size;
	packet_parse(frame, size, meta);
	meta->timestamp_ns = now_ns;
	meta->wire_length = size;
}

/* Packets this call may make: the output's room, the pace and what is left to make. */
static unsigned
packets_allowed(struct kernel_instance *instance, struct synthetic_state *state)
{
	const struct synthetic_params *params =
		&((const struct source_params *)instance->params)->synthetic_params;
	unsigned budget = kernel_burst_budget(instance);

	if (budget == 0)
		return 0;
	if (params->packets != 0)
		budget = (unsigned)RTE_MIN((uint64_t)budget, params->packets - state->made);
	return source_pace_allowance(&state->pace, params->rate_pps, budget);
}

unsigned
source_synthetic_process(struct kernel_instance *instance)
{
	const struct synthetic_params *params =
		&((const struct source_params *)instance->params)->synthetic_params;
	struct synthetic_state *state = instance->state;
	struct rte_mbuf *packets[KERNEL_BURST];
	uint64_t flows[KERNEL_BURST], randoms[KERNEL_BURST], now;
	unsigned count;

	if (kernel_should_stop(instance) ||
	    (params->packets != 0 && state->made == params->packets)) {
		kernel_mark_finished(instance);
		return 0;
	}
	count = packets_allowed(instance, state);
	if (count == 0)
		return 0;
	if (rte_pktmbuf_alloc_bulk(instance->mempool, packets, count) != 0) {
		state->mempool_waits++;
		return 0;
	}
	pick_flows(state, flows, randoms, count);
	now = kernel_now_ns();
	for (unsigned i = 0; i < count; i++) {
		uint32_t size = (uint32_t)params->sizes.values[state->next_size];

		state->next_size = state->next_size + 1 == params->sizes.count ? 0 : state->next_size + 1;
		make_packet(params, state, packets[i], flows[i], size, now);
		source_count_packet(&state->counts, packet_meta(packets[i]));
	}
	state->made += count;
	state->pace.packets += count;
	kernel_emit_packets(instance, packets, count);
	return count;
}

unsigned
source_synthetic_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	const struct synthetic_state *state = instance->state;
	unsigned count = source_packet_stats(&state->counts, stats);

	stats[count++] = (struct kernel_stat){"mempool_waits", state->mempool_waits};
	return count;
}

void
source_synthetic_destroy(struct kernel_instance *instance)
{
	struct synthetic_state *state = instance->state;

	if (state == NULL)
		return;
	free(state->alias_keep);
	free(state->alias_other);
	free(state);
	instance->state = NULL;
}
