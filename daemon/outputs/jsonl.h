/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * JSON-lines encoding of records (the `jsonl` sink format).
 */
#ifndef JETSTREAM_OUTPUTS_JSONL_H
#define JETSTREAM_OUTPUTS_JSONL_H

#include <stddef.h>

#include "record.h"

/** Longest line jsonl_format_record() writes, newline included. */
#define JSONL_LINE_MAX 1536

/**
 * Encode one record as a JSON object followed by a newline.
 *
 * Fields are appended as text rather than through a JSON tree: every field is
 * a number, an address or a fixed word, and kernel names are restricted by the
 * config loader to characters that need no escaping.
 *
 * @return bytes of the line (excluding the NUL), >= @p size when it did not
 *         fit (as snprintf), or 0 for an unknown record type.
 */
size_t jsonl_format_record(const union any_record *record, char *text, size_t size);

#endif
