/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The wall clock of live packets: one CLOCK_REALTIME reading taken at start,
 * advanced by the TSC, so a worker stamps packets without a syscall.
 */
#include <time.h>

#include <rte_cycles.h>

#include "clock.h"
#include "kernel.h"

/* Written once by clock_init() before any worker starts; read-only afterwards. */
static struct {
	uint64_t base_ns;
	uint64_t base_cycles;
	uint64_t cycles_per_second;
} clock_base;

void
clock_init(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	clock_base.cycles_per_second = rte_get_tsc_hz();
	clock_base.base_cycles = rte_get_tsc_cycles();
	clock_base.base_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

uint64_t
kernel_now_ns(void)
{
	uint64_t elapsed = rte_get_tsc_cycles() - clock_base.base_cycles;

	return clock_base.base_ns +
	       (uint64_t)((unsigned __int128)elapsed * 1000000000u / clock_base.cycles_per_second);
}

uint64_t
clock_monotonic_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}
