/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cost of a tcpdump filter per packet (not part of `make check`):
 *
 *   build/filter_bench TRACE.pcap
 *
 * Every frame of TRACE is loaded into an mbuf (with its packet_meta wire
 * length) and kept as bytes for libpcap. For three expressions (simple,
 * medium, complex) it times, on the same packets in the same run:
 *   jit_burst       packet_filter_match_burst(), JIT engine, bursts of 32
 *   jit_single      the same, one packet per call
 *   interpreter     packet_filter_match_burst(), interpreter engine
 *                   (rte_bpf_exec_burst), bursts of 32
 *   libpcap         pcap_offline_filter() on the bytes (packet_filter_match_bytes)
 * and prints "expression LABEL TEXT" for each expression, then one line per
 * pair: "EXPRESSION_LABEL ENGINE NS_PER_PACKET MATCHED".
 * The matched counts must agree, or it exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pcap/pcap.h>
#include <rte_eal.h>
#include <rte_mbuf.h>

#include "kernel.h"
#include "packet.h"
#include "packet_filter.h"

#define BENCH_MAX_PACKETS 16384
#define BENCH_MIN_PACKETS_TIMED 20000000ull

struct frames {
	struct rte_mbuf *packets[BENCH_MAX_PACKETS];
	const uint8_t *bytes[BENCH_MAX_PACKETS];
	uint32_t captured[BENCH_MAX_PACKETS], wire[BENCH_MAX_PACKETS];
	unsigned count;
};

static const struct {
	const char *label, *expression;
} expressions[] = {
	{"simple", "tcp"},
	{"medium", "tcp port 443 or udp port 53 or icmp6"},
	{"complex", "(tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn and not net 10.0.0.0/8) or "
		    "(ip6 and udp portrange 1000-2000) or (vlan and ip[6:2] & 0x3fff != 0) or "
		    "greater 1200"},
};

static uint64_t
now_ns(void)
{
	struct timespec time;

	clock_gettime(CLOCK_MONOTONIC, &time);
	return (uint64_t)time.tv_sec * 1000000000ull + (uint64_t)time.tv_nsec;
}

static int
load_frames(const char *path, struct rte_mempool *pool, struct frames *frames)
{
	char error[PCAP_ERRBUF_SIZE];
	pcap_t *capture = pcap_open_offline(path, error);
	struct pcap_pkthdr *header;
	const uint8_t *data;

	if (capture == NULL) {
		fprintf(stderr, "filter_bench: %s\n", error);
		return -1;
	}
	while (frames->count < BENCH_MAX_PACKETS && pcap_next_ex(capture, &header, &data) == 1) {
		unsigned i = frames->count;
		uint16_t length = (uint16_t)RTE_MIN(header->caplen, 2000u);
		uint8_t *copy = malloc(length);
		struct rte_mbuf *packet = rte_pktmbuf_alloc(pool);

		if (copy == NULL || packet == NULL || rte_pktmbuf_append(packet, length) == NULL)
			return -1;
		memcpy(copy, data, length);
		memcpy(rte_pktmbuf_mtod(packet, uint8_t *), data, length);
		packet_meta(packet)->wire_length = header->len;
		frames->packets[i] = packet;
		frames->bytes[i] = copy;
		frames->captured[i] = length;
		frames->wire[i] = header->len;
		frames->count++;
	}
	pcap_close(capture);
	return frames->count > 0 ? 0 : -1;
}

enum way { JIT_BURST, JIT_SINGLE, INTERPRETER, LIBPCAP, WAY_COUNT };
static const char *const way_names[] = {"jit_burst", "jit_single", "interpreter", "libpcap"};

/* One pass over every frame; @return the frames that matched. */
static uint64_t
one_pass(enum way way, const struct packet_filter *filter, const struct frames *frames)
{
	bool matched[KERNEL_BURST];
	uint64_t count = 0;

	for (unsigned first = 0; first < frames->count; first += KERNEL_BURST) {
		unsigned burst = RTE_MIN((unsigned)KERNEL_BURST, frames->count - first);
		struct rte_mbuf **packets = (struct rte_mbuf **)&frames->packets[first];

		if (way == LIBPCAP)
			for (unsigned i = 0; i < burst; i++)
				matched[i] = packet_filter_match_bytes(filter, frames->bytes[first + i],
								       frames->captured[first + i],
								       frames->wire[first + i]);
		else if (way == JIT_SINGLE)
			for (unsigned i = 0; i < burst; i++)
				packet_filter_match_burst(filter, &packets[i], &matched[i], 1);
		else
			packet_filter_match_burst(filter, packets, matched, burst);
		for (unsigned i = 0; i < burst; i++)
			count += matched[i];
	}
	return count;
}

static int
bench_expression(const char *label, const char *expression, const struct frames *frames)
{
	struct packet_filter *jit, *interpreter;
	char error[PACKET_FILTER_ERROR_SIZE];
	uint64_t first_matched = 0;

	if (packet_filter_compile(expression, PACKET_FILTER_JIT, &jit, error, sizeof(error)) != 0 ||
	    packet_filter_compile(expression, PACKET_FILTER_INTERPRETER, &interpreter, error,
				  sizeof(error)) != 0) {
		fprintf(stderr, "filter_bench: %s: %s\n", expression, error);
		return -1;
	}
	printf("expression %s %s\n", label, expression);
	for (enum way way = 0; way < WAY_COUNT; way++) {
		const struct packet_filter *filter = way == INTERPRETER ? interpreter : jit;
		uint64_t passes = BENCH_MIN_PACKETS_TIMED / frames->count + 1, matched = 0;
		uint64_t start, elapsed;

		one_pass(way, filter, frames); /* warm the caches */
		start = now_ns();
		for (uint64_t pass = 0; pass < passes; pass++)
			matched = one_pass(way, filter, frames);
		elapsed = now_ns() - start;
		if (way == 0)
			first_matched = matched;
		else if (matched != first_matched) {
			fprintf(stderr, "filter_bench: %s: %s matched %lu, jit_burst %lu\n", label,
				way_names[way], (unsigned long)matched, (unsigned long)first_matched);
			return -1;
		}
		printf("%s %s %.2f %lu\n", label, way_names[way],
		       (double)elapsed / (double)(passes * frames->count), (unsigned long)matched);
	}
	if (!packet_filter_uses_jit(jit))
		fprintf(stderr, "filter_bench: no JIT on this target: jit rows are the interpreter\n");
	packet_filter_free(jit);
	packet_filter_free(interpreter);
	return 0;
}

int
main(int argc, char **argv)
{
	char *eal_arguments[] = {argv[0], "--no-huge", "--no-pci", "--no-shconf", "-l", "0",
				 "--log-level", "lib.eal:error", "-m", "256", NULL};
	static struct frames frames;
	struct rte_mempool *pool;

	if (argc != 2) {
		fprintf(stderr, "usage: %s TRACE.pcap\n", argv[0]);
		return 64;
	}
	if (rte_eal_init((int)RTE_DIM(eal_arguments) - 1, eal_arguments) < 0) {
		fprintf(stderr, "filter_bench: cannot start DPDK's EAL\n");
		return 1;
	}
	pool = rte_pktmbuf_pool_create("filter_bench", BENCH_MAX_PACKETS * 2 - 1, 256,
				       PACKET_META_PRIVATE_SIZE, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (pool == NULL || load_frames(argv[1], pool, &frames) != 0) {
		fprintf(stderr, "filter_bench: cannot load %s into mbufs\n", argv[1]);
		return 1;
	}
	fprintf(stderr, "filter_bench: %u frames of %s\n", frames.count, argv[1]);
	for (unsigned e = 0; e < RTE_DIM(expressions); e++)
		if (bench_expression(expressions[e].label, expressions[e].expression, &frames) != 0)
			return 1;
	return 0;
}
