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
#include <bpf_def.h>
#include <rte_bpf.h>
#include <rte_branch_prediction.h>
#include <rte_debug.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "log.h"
#include "packet.h"
#include "packet_filter.h"

/* The capture length libpcap compiles for: tcpdump's default, so that
 * `ether[N]` past a short snap length behaves as tcpdump's. */
#define PACKET_FILTER_SNAPLEN 262144

struct packet_filter {
	char *expression;
	struct bpf_program classic;   /* for packet_filter_match_bytes() */
	struct rte_bpf *program;      /* the converted eBPF, loaded; NULL: PACKET_FILTER_BYTES_ONLY */
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

int
packet_filter_check(const char *expression, char *error, size_t error_size)
{
	struct bpf_program classic;
	int result = compile_classic(expression, &classic, error, error_size);

	if (result == 0)
		pcap_freecode(&classic);
	return result;
}

/*
 * Two repairs of what rte_bpf_convert() (DPDK 22.11 lib/bpf/bpf_convert.c,
 * unchanged since) makes of a classic program, without which the eBPF
 * program answers differently from tcpdump:
 *
 * - BPF_LD|BPF_IND (`ld [x + k]`, every read of a TCP or UDP field behind
 *   an IPv4 header of variable length) is copied "as is" with src_reg 0, so
 *   eBPF indexes by R0, which holds A, instead of R7, which holds X. On
 *   libtrace_100_packets.pcap `tcp[20:4] != 0` passed 5 packets for
 *   tcpdump's 56. Pointed at R7 here.
 * - tcpdump's `len` (BPF_LD|BPF_W|BPF_LEN, also behind `greater` and
 *   `less`) is the frame's length on the wire; the conversion loads the
 *   32 bits of mbuf->pkt_len, the captured length, which is shorter for
 *   every frame a snap length cut (all 100 of libtrace_100_packets.pcap).
 *   The converted program loads from the context register (R6, the mbuf)
 *   for nothing else: scratch memory is on the stack (R10), packet reads are
 *   BPF_ABS/BPF_IND. So each such load is pointed at packet_meta.wire_length
 *   in the mbuf's private area, and the verifier is told the context is
 *   that much longer so that it accepts the offset.
 */
static void
repair_conversion(struct rte_bpf_prm *parameters)
{
	struct ebpf_insn *instructions = (struct ebpf_insn *)(uintptr_t)parameters->ins;
	const int16_t wire_length_offset =
		sizeof(struct rte_mbuf) + offsetof(struct packet_meta, wire_length);

	for (uint32_t i = 0; i < parameters->nb_ins; i++) {
		struct ebpf_insn *instruction = &instructions[i];

		if (BPF_CLASS(instruction->code) == BPF_LD &&
		    BPF_MODE(instruction->code) == BPF_IND)
			instruction->src_reg = EBPF_REG_7; /* classic X, see bpf_convert.c */
		else if (instruction->code == (BPF_LDX | BPF_W | BPF_MEM) &&
			 instruction->src_reg == EBPF_REG_6 &&
			 instruction->off == offsetof(struct rte_mbuf, pkt_len))
			instruction->off = wire_length_offset;
	}
	parameters->prog_arg.size = sizeof(struct rte_mbuf) + sizeof(struct packet_meta);
}

/* Jumps in eBPF: every BPF_JMP but call and exit has a pc-relative offset. */
static bool
is_jump(const struct ebpf_insn *instruction)
{
	return BPF_CLASS(instruction->code) == BPF_JMP &&
	       BPF_OP(instruction->code) != EBPF_CALL && BPF_OP(instruction->code) != EBPF_EXIT;
}

static bool
is_jset_immediate(const struct ebpf_insn *instruction)
{
	return instruction->code == (BPF_JMP | BPF_JSET | BPF_K);
}

/*
 * DPDK 22.11's x86 JIT encodes `test reg, imm` with a one-byte immediate
 * when the immediate fits one (x86 has no such form: the next bytes are
 * taken as the immediate's rest), so a JSET with a small mask, as in
 * `tcp[tcpflags] & tcp-syn != 0`, runs garbage and crashes. Each JSET with an
 * immediate becomes `mov32 r8, imm; jset r0, r8`, which the JIT encodes
 * right. R8 is the converter's scratch register (BPF_REG_TMP), live only
 * within the few instructions one classic instruction expands to, never
 * across a jump: so a jump to a widened JSET must land on its mov, or R8
 * holds an earlier mask. (It landed on the jset once: DPDK's validator
 * refused `tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack != 0` as
 * "unreachable code", and `(tcp[13] & 2 != 0 or not tcp[13] & 4 != 0) and
 * tcp[13] & 1 != 0` passed 37841 frames of a SYN flood, tcpdump none.)
 * @p first[i] is the new position of old instruction i's first instruction
 * (the mov where one is inserted), first[count] the new count.
 */
static void
index_widened(const struct ebpf_insn *instructions, uint32_t count, uint32_t *first)
{
	first[0] = 0;
	for (uint32_t i = 0; i < count; i++)
		first[i + 1] = first[i] + (is_jset_immediate(&instructions[i]) ? 2 : 1);
}

/*
 * The offset of the jump that old instruction @p old (of @p count, offset
 * @p old_offset) becomes: it sits at new position first[old + 1] - 1 (after
 * its mov, if any) and goes to the first new instruction of old + 1 +
 * old_offset, first[count] for the end. The same for conditional jumps,
 * `ja` and widened JSETs. @return false when the old target is outside the
 * program or the new offset does not fit 16 bits.
 */
static bool
widened_offset(const uint32_t *first, uint32_t count, uint32_t old, int16_t old_offset,
	       int16_t *offset)
{
	int64_t target = (int64_t)old + 1 + old_offset;
	int64_t position = (int64_t)first[old + 1] - 1;
	int64_t result;

	if (target < 0 || target > count)
		return false;
	result = (int64_t)first[target] - position - 1;
	if (result < INT16_MIN || result > INT16_MAX)
		return false;
	*offset = (int16_t)result;
	return true;
}

/*
 * The program with every JSET immediate widened (see index_widened); the
 * result is validated by rte_bpf_load() like any program.
 * @param[out] error_code  on failure, -ENOMEM, or -ERANGE when a jump cannot
 *                         be renumbered (widened_offset)
 * @return a new program (free()), or NULL on failure
 */
static struct ebpf_insn *
widen_jset_immediates(const struct ebpf_insn *instructions, uint32_t count,
		      uint32_t *new_count, int *error_code)
{
	uint32_t *first = malloc((count + 1) * sizeof(*first));
	struct ebpf_insn *widened = NULL;

	if (first == NULL) {
		*error_code = -ENOMEM;
		return NULL;
	}
	index_widened(instructions, count, first);
	widened = calloc(first[count], sizeof(*widened));
	*error_code = widened == NULL ? -ENOMEM : 0;
	for (uint32_t i = 0; widened != NULL && i < count; i++) {
		struct ebpf_insn instruction = instructions[i];

		if (is_jset_immediate(&instruction)) {
			widened[first[i]] = (struct ebpf_insn){
				.code = BPF_ALU | EBPF_MOV | BPF_K, .dst_reg = EBPF_REG_8,
				.imm = instruction.imm};
			instruction.code = BPF_JMP | BPF_JSET | BPF_X;
			instruction.src_reg = EBPF_REG_8;
			instruction.imm = 0;
		}
		if (is_jump(&instruction) &&
		    !widened_offset(first, count, i, instruction.off, &instruction.off)) {
			free(widened);
			widened = NULL;
			*error_code = -ERANGE;
			break;
		}
		widened[first[i + 1] - 1] = instruction;
	}
	*new_count = first[count];
	free(first);
	return widened;
}

static int
load_extended(struct packet_filter *filter, enum packet_filter_engine engine, char *error,
	      size_t error_size)
{
	struct rte_bpf_prm *parameters = rte_bpf_convert(&filter->classic);
	struct rte_bpf_jit jit = {0};
	struct ebpf_insn *widened;
	uint32_t widened_count;
	int result;

	if (parameters == NULL) {
		snprintf(error, error_size, "DPDK cannot convert the program to eBPF: %s",
			 rte_strerror(rte_errno));
		return -ENOTSUP;
	}
	repair_conversion(parameters);
	widened = widen_jset_immediates(parameters->ins, parameters->nb_ins, &widened_count,
					&result);
	if (widened == NULL) {
		rte_free(parameters);
		if (result == -ENOMEM) {
			snprintf(error, error_size, "out of memory");
			return -ENOMEM;
		}
		snprintf(error, error_size,
			 "a jump of the converted program cannot be renumbered (out of range)");
		return -ENOTSUP;
	}
	parameters->ins = widened;
	parameters->nb_ins = widened_count;
	filter->program = rte_bpf_load(parameters); /* copies the instructions */
	free(widened);
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
	if (result == 0 && engine != PACKET_FILTER_BYTES_ONLY) {
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

/*
 * The JIT is called once per packet in a loop: rte_bpf_exec_burst() runs
 * the interpreter only (DPDK 22.11 has no burst entry into JIT code).
 * Measured by build/filter_bench (scripts/bench/filter.sh, BENCHMARKS.md
 * row 9) on 16384 generated frames, 2-vCPU AMD EPYC VM, medians of 5 runs,
 * ns per packet, JIT in this loop / JIT one packet per call /
 * rte_bpf_exec_burst / pcap_offline_filter: `tcp` 11.2 / 13.9 / 24.1 / 27.3;
 * `tcp port 443 or udp port 53 or icmp6` 16.7 / 20.5 / 50.9 / 36.4; a
 * complex expression 14.9 / 18.1 / 61.0 / 37.9 (machine shared, so +-2 ns).
 * In `synthetic -> filter -> sink(null)` (perf, cpu-clock) the JIT code is
 * 20 % of the cycles, this loop 3 %, filter_process 2 %: about 9.5 + 1.5 + 1
 * ns of the ~14 ns the filter adds to the ~34 ns of a passthrough. The JIT
 * code is what it has to be (per load: a bounds check against data_len and
 * the address from buf_addr + data_off), spread over its instructions.
 * No prefetch here: rte_prefetch0() of packet i+3's first data line before
 * running packet i changed nothing measurable, paired in one run (filter
 * 24.48 / 24.36 Mpps, and 23.28 / 22.15; filter_bench medium 12.34 / 11.14
 * ns, then 12.16 / 14.30): in the pipeline the source has just written the
 * data on the same lcore, and the loads of successive packets are
 * independent, so the core already overlaps their misses.
 */
void
packet_filter_match_burst(const struct packet_filter *filter, struct rte_mbuf **packets,
			  bool *matched, unsigned count)
{
	RTE_ASSERT(filter->program != NULL); /* not PACKET_FILTER_BYTES_ONLY */
	if (unlikely(filter->program == NULL)) {
		memset(matched, 0, count * sizeof(*matched));
		return;
	}

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
	rte_bpf_destroy(filter->program); /* NULL-safe */
	pcap_freecode(&filter->classic);
	free(filter->expression);
	free(filter);
}
