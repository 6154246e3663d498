/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Reading the value of one config_field generically: whether it changed
 * between two parameter structs, and how it reads in a message. The reload
 * plan and the EAL arguments use these, so neither opens a kernel's params.
 */
#ifndef JETSTREAM_CONFIG_COMPARE_H
#define JETSTREAM_CONFIG_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/**
 * Whether the value of @p field differs between @p old_params and
 * @p new_params. A list row bound by code compares the @p field->size bytes
 * at its offset; with size 0 it holds no value there and never differs.
 */
bool config_field_changed(const struct config_field *field, const void *old_params,
			  const void *new_params);

/**
 * The value of @p field in @p params as it would be written in a file
 * (`100ms`, `4`, `[64, 1500]`, `net_null0`); empty for an empty string, a
 * mapping or a list bound by code.
 * @return the length of the whole text, as snprintf().
 */
int config_field_format(const struct config_field *field, const void *params, char *text,
			size_t size);

/**
 * The CONFIG_MAPPING_LIST row of @p fields whose entries hold @p field (a
 * `list.key` row), or NULL for a row of the params struct itself. A row
 * inside a list has its offset into an entry: only the list's row is
 * compared, formatted or defaulted at the params struct's level.
 */
const struct config_field *config_field_list_parent(const struct config_field *fields,
						    const struct config_field *field);

/** The text of a CONFIG_STRING @p field in @p params, or NULL for other types. */
const char *config_field_string(const struct config_field *field, const void *params);

/**
 * The next exclusive field of @p spec, from table index @p *index on, whose
 * value is set (a device it holds); @p *index is left past it.
 * @return the field, or NULL when there is no further one.
 */
const struct config_field *config_next_exclusive(const struct kernel_spec *spec, unsigned *index);

/** The kernel of @p config holding the device @p value through an exclusive field, or NULL. */
const struct kernel_spec *config_exclusive_holder(const struct config *config, const char *value);

#endif
