/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The packet generator of the source kernel (each function is the kernel_ops one of a synthetic source).
 */
#ifndef JETSTREAM_KERNELS_SOURCE_SYNTHETIC_H
#define JETSTREAM_KERNELS_SOURCE_SYNTHETIC_H

#include "kernels/source_reader.h"

int source_synthetic_init(struct kernel_instance *instance);
unsigned source_synthetic_process(struct kernel_instance *instance);
unsigned source_synthetic_stats(const struct kernel_instance *instance, struct kernel_stat *stats);
void source_synthetic_destroy(struct kernel_instance *instance);
/** The check() of the `synthetic:` keys. */
void source_synthetic_check(const struct synthetic_params *params,
			    struct config_check_context *context);

#endif
