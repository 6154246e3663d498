/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NUMA node of a CPU for EAL, asked only of CPUs that exist.
 *
 * DPDK 22.11's rte_eal_cpu_init() asks eal_cpu_socket_id() for each of its
 * RTE_MAX_LCORE (128) lcores, and that tries access() on
 * /sys/devices/system/node/nodeN/cpuM for every N up to RTE_MAX_NUMA_NODES
 * (32) until one exists: about 4,000 failing path walks on a 2-CPU machine,
 * 18.6 % of the 10-packet offline run's CPU time (perf record; 5,068 access()
 * calls in perf trace). A CPU that is not there has no node: EAL's answer for it
 * is 0 after the whole scan, and one access() of its cpuM directory gives the
 * same 0. The link wraps the function (-Wl,--wrap, see the Makefile).
 */
#include <stdio.h>
#include <unistd.h>

unsigned __real_eal_cpu_socket_id(unsigned lcore_id);
unsigned __wrap_eal_cpu_socket_id(unsigned lcore_id);

unsigned
__wrap_eal_cpu_socket_id(unsigned lcore_id)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%u", lcore_id);
	if (access(path, F_OK) != 0)
		return 0;
	return __real_eal_cpu_socket_id(lcore_id);
}
