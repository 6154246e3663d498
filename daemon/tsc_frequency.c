/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The TSC frequency for EAL, without its 100 ms sleep.
 *
 * When CPUID leaf 0x15 gives no crystal clock and /dev/cpu/N/msr is absent
 * (AMD EPYC, most VMs, and any process without the msr module), DPDK 22.11's
 * rte_eal_init() calibrates the TSC with get_tsc_freq(): a nanosleep() of
 * 100 ms between two TSC reads, the result rounded to 10 MHz. Measured on the
 * 10-packet offline run: 100 of its 240 ms wall (perf trace: one
 * clock_nanosleep of 100.16 ms). The link wraps get_tsc_freq (-Wl,--wrap, DPDK
 * being linked statically, see the Makefile) so EAL asks here instead:
 * - the kernel's own calibration, which it publishes in the first page of a
 *   perf event (time_mult, time_shift: ns = cycles * mult >> shift) when the
 *   TSC is its clock (bare metal; a KVM guest's paravirtual sched_clock, or a
 *   seccomp filter such as the unit's, leave it out);
 * - otherwise the same measure as EAL's over 5 ms: the two clock readings
 *   bracket the sleep, so its overshoot does not matter, and a reading's skew
 *   of well under 1 us is 2e-4 of 5 ms, finer than EAL's 10 MHz rounding
 *   (0.4 % at 2.6 GHz), which is left out.
 */
#include <linux/perf_event.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>

uint64_t __real_get_tsc_freq(void);
uint64_t __wrap_get_tsc_freq(void);

/* The kernel's TSC frequency in Hz, or 0 when it does not publish one. */
static uint64_t
kernel_tsc_frequency(void)
{
	struct perf_event_attr attribute = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attribute),
		.config = PERF_COUNT_SW_DUMMY,
		.exclude_kernel = 1, /* allowed at perf_event_paranoid 2, Debian's default */
		.exclude_hv = 1,
	};
	long page_size = sysconf(_SC_PAGESIZE);
	int descriptor = (int)syscall(SYS_perf_event_open, &attribute, 0, -1, -1,
				      PERF_FLAG_FD_CLOEXEC);
	const volatile struct perf_event_mmap_page *page;
	uint64_t frequency = 0;

	if (descriptor < 0)
		return 0;
	page = mmap(NULL, (size_t)page_size, PROT_READ, MAP_SHARED, descriptor, 0);
	close(descriptor);
	if (page == MAP_FAILED)
		return 0;
	if (page->cap_user_time && page->time_mult != 0)
		frequency = (uint64_t)((((unsigned __int128)1000000000u) << page->time_shift) /
				       page->time_mult);
	munmap((void *)(uintptr_t)page, (size_t)page_size);
	return frequency;
}

/* TSC cycles per second over a 5 ms sleep, or 0 when the clock cannot be read. */
static uint64_t
measured_tsc_frequency(void)
{
	const struct timespec sleep_time = {.tv_nsec = 5000000};
	struct timespec start, end;
	uint64_t start_cycles, end_cycles, elapsed_ns;

	if (clock_gettime(CLOCK_MONOTONIC_RAW, &start) != 0)
		return 0;
	start_cycles = rte_rdtsc();
	nanosleep(&sleep_time, NULL);
	clock_gettime(CLOCK_MONOTONIC_RAW, &end);
	end_cycles = rte_rdtsc();
	elapsed_ns = (uint64_t)(end.tv_sec - start.tv_sec) * 1000000000u +
		     (uint64_t)end.tv_nsec - (uint64_t)start.tv_nsec;
	if (elapsed_ns == 0)
		return 0;
	return (uint64_t)((unsigned __int128)(end_cycles - start_cycles) * 1000000000u / elapsed_ns);
}

uint64_t
__wrap_get_tsc_freq(void)
{
	uint64_t frequency = kernel_tsc_frequency();

	if (frequency == 0)
		frequency = measured_tsc_frequency();
	return frequency != 0 ? frequency : __real_get_tsc_freq();
}
