/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * tcpdump-syntax filters: the one place an expression is compiled.
 *
 * libpcap's pcap_compile() turns the expression into classic BPF for
 * Ethernet; DPDK's rte_bpf_convert() makes eBPF of it, rte_bpf_load() checks
 * and loads it, and the JIT (rte_bpf_get_jit) runs it where the target has
 * one, the interpreter elsewhere. The converted program is repaired first
 * where DPDK 22.11 would answer differently from tcpdump (packet_filter.c
 * says how), so the answers are tcpdump's. Held bytes that are not in an
 * mbuf (the history ring) are matched with libpcap's own
 * pcap_offline_filter() on the same classic program.
 *
 * Threads: compile and free on the control thread (they allocate); the
 * match functions on any thread, concurrently (the programs are read only).
 */
#ifndef JETSTREAM_PACKET_FILTER_H
#define JETSTREAM_PACKET_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

struct packet_filter;

/** Room for an error message of packet_filter_check() and packet_filter_compile(). */
#define PACKET_FILTER_ERROR_SIZE 512

/**
 * How packet_filter_match_burst() runs the eBPF program. The order is that
 * of the filter kernel's `engine` choices (kernels/filter.c).
 */
enum packet_filter_engine {
	PACKET_FILTER_JIT = 0,     /**< the JIT where available, else the interpreter (logged once) */
	PACKET_FILTER_INTERPRETER, /**< always rte_bpf's interpreter (tests compare the two) */
	/**
	 * The classic program only, no eBPF (no rte_bpf_convert or load): for
	 * a user of packet_filter_match_bytes() alone, such as the history
	 * kernel's dumps of held bytes. packet_filter_match_burst() must not be
	 * called on such a filter (it asserts where DPDK asserts are on, and
	 * matches nothing otherwise).
	 */
	PACKET_FILTER_BYTES_ONLY,
};

/**
 * Compile @p expression (tcpdump syntax, Ethernet link type).
 * @param[out] filter  the compiled filter, to free with packet_filter_free()
 * @param error        on failure, libpcap's or DPDK's message ("syntax error", ...)
 * @return 0; -EINVAL for an expression libpcap refuses; -ENOTSUP when DPDK
 *         cannot convert or load the program; -ENOMEM.
 */
int packet_filter_compile(const char *expression, enum packet_filter_engine engine,
			  struct packet_filter **filter, char *error, size_t error_size);

/**
 * Check @p expression with libpcap alone (the classic program, no DPDK): for
 * a pure configuration check, which may run before EAL memory exists.
 * @param error  on failure, libpcap's message
 * @return 0; -EINVAL for an expression libpcap refuses; -ENOMEM.
 */
int packet_filter_check(const char *expression, char *error, size_t error_size);

/** true when packet_filter_match_burst() runs JIT-compiled code. */
bool packet_filter_uses_jit(const struct packet_filter *filter);

/**
 * Run the filter over @p count packets: @p matched[i] is true when packet i
 * passes. Not for a filter compiled with PACKET_FILTER_BYTES_ONLY. Packet
 * data is read through the mbuf (chained segments too), up to pkt_len, the
 * captured length: a program that reads past it does not match, as in
 * tcpdump. `len` is packet_meta.wire_length, so every mbuf must carry
 * struct packet_meta in its private area (the daemon's pool does).
 */
void packet_filter_match_burst(const struct packet_filter *filter, struct rte_mbuf **packets,
			       bool *matched, unsigned count);

/**
 * Match bytes held outside an mbuf, with libpcap whatever the engine:
 * @p captured_length bytes at @p frame of a frame of @p wire_length bytes on
 * the wire (tcpdump's `len`, `greater` and `less` see the wire length).
 */
bool packet_filter_match_bytes(const struct packet_filter *filter, const uint8_t *frame,
			       uint32_t captured_length, uint32_t wire_length);

/** The expression as given. */
const char *packet_filter_expression(const struct packet_filter *filter);

void packet_filter_free(struct packet_filter *filter);

#endif
