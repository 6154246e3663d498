/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The key reference (README's "Pipeline reference"), printed from the same
 * config_field tables that parse the files, so the docs cannot drift.
 */
#ifndef JETSTREAM_DESCRIBE_H
#define JETSTREAM_DESCRIBE_H

#include <stdio.h>

struct plugin_set;

/** Print every built-in kernel type and daemon setting with its keys, as Markdown. */
void describe_configuration(FILE *stream);

/** Print the kernel types of @p plugins (a section of its own; nothing when none). */
void describe_plugins(const struct plugin_set *plugins, FILE *stream);

#endif
