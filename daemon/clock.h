/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The wall clock read from the TSC: kernel_now_ns() (kernel.h) on any
 * thread without a syscall, once clock_init() has run; and the monotonic
 * clock of the control plane's timeouts.
 */
#ifndef JETSTREAM_CLOCK_H
#define JETSTREAM_CLOCK_H

#include <stdint.h>

/**
 * CLOCK_MONOTONIC in nanoseconds: the clock of timeouts, rates and uptime
 * (a syscall-free vDSO read). Any thread.
 */
uint64_t clock_monotonic_ns(void);

/** Take the base (CLOCK_REALTIME and the TSC at the same moment). cp, once, after EAL init. */
void clock_init(void);

#endif
