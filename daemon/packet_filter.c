/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tcpdump expressions: pcap_compile() -> rte_bpf_convert() -> rte_bpf_load(),
 * run by the JIT where there is one. See packet_filter.h.
 */
#define ALLOW_EXPERIMENTAL_API /* rte_bpf_convert is experimental in DPDK 22.11 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>
#include <rte_bpf.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "log.h"
#include "packet_filter.h"

/* The capture length libpcap compiles for: tcpdump's default, so that
 * `ether[N]` past a short snap length behaves as tcpdump's. */
#define PACKET_FILTER_SNAPLEN 262144

struct packet_filter {
	char *expression;
	struct bpf_program classic;   /* for packet_filter_match_bytes() */
	struct rte_bpf *program;      /* the converted eBPF, loaded */
	uint64_t (*jit)(void *);      /* NULL: run the interpreter */
};

static int
compile_classic(const char *expression, struct bpf_program *classic, char *error,
		size_t error_size)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, PACKET_FILTER_SNAPLEN);
	int result = 0;

	if (dead == NULL) {
		snprintf(error, error_size, "cannot open a libpcap handle to compile with");
		return -ENOMEM;
	}
	if (pcap_compile(dead, classic, expression, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(error, error_size, "%s", pcap_geterr(dead));
		result = -EINVAL;
	}
	pcap_close(dead);
	return result;
}

static int
load_extended(struct packet_filter *filter, enum packet_filter_engine engine, char *error,
	      size_t error_size)
{
	struct rte_bpf_prm *parameters = rte_bpf_convert(&filter->classic);
	struct rte_bpf_jit jit = {0};

	if (parameters == NULL) {
		snprintf(error, error_size, "DPDK cannot convert the program to eBPF: %s",
			 rte_strerror(rte_errno));
		return -ENOTSUP;
	}
	filter->program = rte_bpf_load(parameters);
	rte_free(parameters);
	if (filter->program == NULL) {
		snprintf(error, error_size, "DPDK refuses the converted program: %s",
			 rte_strerror(rte_errno));
		return -ENOTSUP;
	}
	if (engine == PACKET_FILTER_JIT) {
		if (rte_bpf_get_jit(filter->program, &jit) == 0 && jit.func != NULL)
			filter->jit = jit.func;
		else
			log_info("filter '%s': no eBPF JIT on this target, using the interpreter",
				 filter->expression);
	}
	return 0;
}

int
packet_filter_compile(const char *expression, enum packet_filter_engine engine,
		      struct packet_filter **filter_out, char *error, size_t error_size)
{
	struct packet_filter *filter = calloc(1, sizeof(*filter));
	int result;

	*filter_out = NULL;
	if (filter == NULL || (filter->expression = strdup(expression)) == NULL) {
		free(filter);
		snprintf(error, error_size, "out of memory");
		return -ENOMEM;
	}
	result = compile_classic(expression, &filter->classic, error, error_size);
	if (result == 0) {
		result = load_extended(filter, engine, error, error_size);
		if (result != 0)
			pcap_freecode(&filter->classic);
	}
	if (result != 0) {
		free(filter->expression);
		free(filter);
		return result;
	}
	*filter_out = filter;
	return 0;
}

bool
packet_filter_uses_jit(const struct packet_filter *filter)
{
	return filter->jit != NULL;
}

void
packet_filter_match_burst(const struct packet_filter *filter, struct rte_mbuf **packets,
			  bool *matched, unsigned count)
{
	uint64_t results[count];

	if (filter->jit != NULL)
		for (unsigned i = 0; i < count; i++)
			results[i] = filter->jit(packets[i]);
	else
		rte_bpf_exec_burst(filter->program, (void **)packets, results, count);
	for (unsigned i = 0; i < count; i++)
		matched[i] = results[i] != 0;
}

bool
packet_filter_match_bytes(const struct packet_filter *filter, const uint8_t *frame,
			  uint32_t captured_length, uint32_t wire_length)
{
	struct pcap_pkthdr header = {.caplen = captured_length, .len = wire_length};

	return pcap_offline_filter(&filter->classic, &header, frame) != 0;
}

const char *
packet_filter_expression(const struct packet_filter *filter)
{
	return filter->expression;
}

void
packet_filter_free(struct packet_filter *filter)
{
	if (filter == NULL)
		return;
	rte_bpf_destroy(filter->program);
	pcap_freecode(&filter->classic);
	free(filter->expression);
	free(filter);
}
