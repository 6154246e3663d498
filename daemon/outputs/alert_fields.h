/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * An alert record's fields as `NAME=value` texts, and an alert as an RFC 5424
 * syslog message: what the action formats of the sink hand on (outputs/actions.h).
 * Pure functions, no I/O.
 *
 * The names follow FastNetMon's notify-script convention, one variable per
 * field of the jsonl line, the values as the line writes them:
 * ALERT_STATE (start, update, end), ALERT_ID (16 hex digits), ALERT_KEY (the
 * address the alert is about: the source for `key: src`, else the
 * destination, the protected side), ALERT_SRC and ALERT_DST (those the record
 * has), ALERT_GROUP, ALERT_NAME (an alert of a plugin), ALERT_METRIC,
 * ALERT_PER, ALERT_VALUE, ALERT_THRESHOLD, ALERT_PEAK, ALERT_PKTS,
 * ALERT_BYTES, ALERT_START, ALERT_END, ALERT_DURATION (seconds, nine
 * decimals), ALERT_REASON (at the end) and ALERT_KERNEL. A field the record
 * does not have is no variable (a per-window alert has no ALERT_STATE).
 */
#ifndef JETSTREAM_OUTPUTS_ALERT_FIELDS_H
#define JETSTREAM_OUTPUTS_ALERT_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

/** Most variables alert_fields_format() writes. */
#define ALERT_FIELDS_MAX 24

/** Bytes that hold every variable of any alert. */
#define ALERT_FIELDS_TEXT_SIZE 1024

/** The alert's fields: @p count texts `NAME=value`, each NUL-ended, in @p text. */
struct alert_fields {
	unsigned count;
	const char *variables[ALERT_FIELDS_MAX + 1]; /**< NULL after the last */
	char text[ALERT_FIELDS_TEXT_SIZE];
};

/** Fill @p fields from @p record (a value too long to fit is cut; none is near). */
void alert_fields_format(const struct alert_record *record, struct alert_fields *fields);

/**
 * The address the alert is about as text (ALERT_KEY): the source for key
 * src, the destination for dst and src_dst. @return its length.
 */
size_t alert_key_text(const struct alert_record *record, char *text, size_t size);

/** The syslog severity of an alert record: warning (4) at start and update, notice (5) at the end. */
unsigned alert_severity(const struct alert_record *record);

/** What an RFC 5424 header holds besides the record. */
struct alert_syslog_header {
	unsigned facility;      /**< 0 to 23 (3: daemon) */
	uint64_t time_ns;       /**< CLOCK_REALTIME, written to the microsecond, UTC */
	const char *hostname;   /**< "-" when empty */
	unsigned process_id;
};

/**
 * One RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME jetstreamd PROCID ALERT
 * [alert@32473 state="…" …] LINE`, the structured data the alert's fields
 * (their variable names lowercased, ALERT_ cut), MSG the jsonl @p line
 * (@p length bytes; a trailing newline is left out).
 * @return the message's length as snprintf (>= @p size: it did not fit).
 */
size_t alert_syslog_format(const struct alert_record *record, const struct alert_syslog_header *header,
			   const char *line, size_t length, char *message, size_t size);

#endif
