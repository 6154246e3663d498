/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The wall clock read from the TSC: kernel_now_ns() (kernel.h) on any
 * thread without a syscall, once clock_init() has run.
 */
#ifndef JETSTREAM_CLOCK_H
#define JETSTREAM_CLOCK_H

/** Take the base (CLOCK_REALTIME and the TSC at the same moment). cp, once, after EAL init. */
void clock_init(void);

#endif
