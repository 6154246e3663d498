/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * EAL's sysfs probes of CPUs, asked only of CPUs the kernel may have.
 *
 * DPDK 22.11's start asks eal_cpu_socket_id() of each of its RTE_MAX_LCORE
 * (128) lcores, which tries access() on /sys/devices/system/node/nodeN/cpuM
 * for every N up to RTE_MAX_NUMA_NODES (32) until one exists, and
 * eal_cpu_detected() (an access() of cpuM/topology/core_id) of each CPU id up
 * to CPU_SETSIZE (1024) while it parses --lcores: 5,068 access() calls on a
 * 2-CPU machine (perf trace), the failing path walks 18.6 % of the 10-packet
 * offline run's CPU time, then 6.7 % with the first wrapper alone (perf
 * record). A CPU id above the highest the kernel can ever have
 * (/sys/devices/system/cpu/possible) gets EAL's own answer for a CPU that is
 * not there (node 0, not detected) without a system call; the others are
 * probed by EAL as before. The link wraps both functions (-Wl,--wrap, see the
 * Makefile).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned __real_eal_cpu_socket_id(unsigned lcore_id);
unsigned __wrap_eal_cpu_socket_id(unsigned lcore_id);
int __real_eal_cpu_detected(unsigned lcore_id);
int __wrap_eal_cpu_detected(unsigned lcore_id);

/* The highest CPU id the kernel may bring up ("0-1" -> 1), or -1 when unknown. */
static long
highest_possible_cpu(void)
{
	static long highest = -2; /* -2: not read yet; EAL probes from the main thread */
	char text[256] = "";
	FILE *file;
	const char *last;

	if (highest != -2)
		return highest;
	highest = -1;
	file = fopen("/sys/devices/system/cpu/possible", "re");
	if (file == NULL)
		return highest;
	if (fgets(text, sizeof(text), file) != NULL) {
		/* a list such as "0-3,8-11": the highest id ends it */
		last = strrchr(text, '-');
		if (last == NULL || strrchr(text, ',') > last)
			last = strrchr(text, ',');
		last = last != NULL ? last + 1 : text;
		highest = strtol(last, NULL, 10);
	}
	fclose(file);
	return highest;
}

static bool
cpu_may_exist(unsigned lcore_id)
{
	long highest = highest_possible_cpu();

	return highest < 0 || (long)lcore_id <= highest;
}

unsigned
__wrap_eal_cpu_socket_id(unsigned lcore_id)
{
	return cpu_may_exist(lcore_id) ? __real_eal_cpu_socket_id(lcore_id) : 0;
}

int
__wrap_eal_cpu_detected(unsigned lcore_id)
{
	return cpu_may_exist(lcore_id) ? __real_eal_cpu_detected(lcore_id) : 0;
}
