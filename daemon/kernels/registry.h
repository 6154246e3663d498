/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The registry of built-in kernel types (an explicit table, not constructor
 * magic, so unit tests see exactly what the daemon sees).
 */
#ifndef JETSTREAM_REGISTRY_H
#define JETSTREAM_REGISTRY_H

#include "kernel.h"

/** The registry: every built-in kernel type, NULL-terminated. */
extern const struct kernel_ops *const kernel_registry[];

/** Look a kernel type up by name; NULL when unknown. */
const struct kernel_ops *kernel_find(const char *name);

#endif
