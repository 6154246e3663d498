/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The open alerts of one threshold replica (`alerts: lifecycle`): a table
 * of fixed capacity from a key (the count record's addresses) to its alert.
 * Made and freed on the control thread; used by the replica's lcore only
 * (no allocation there: the slots and the hash are sized at creation).
 */
#ifndef JETSTREAM_KERNELS_THRESHOLD_ALERTS_H
#define JETSTREAM_KERNELS_THRESHOLD_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

/** What an alert is about: the count record's key. */
struct alert_key {
	uint32_t kind;                   /**< enum count_key */
	uint8_t source_address[16];      /**< zero unless the key has a source */
	uint8_t destination_address[16]; /**< zero unless the key has a destination */
};

/** One open alert: what its records say, and when it was last reported. */
struct open_alert {
	struct alert_key key;
	bool in_use;
	uint32_t partition_hash;
	uint32_t metric;                 /**< enum threshold_metric that started it */
	uint32_t per;                    /**< enum threshold_per of its limit */
	char group[ALERT_GROUP_SIZE];    /**< the group of its latest record ("" for `above:`) */
	uint64_t alert_id;
	uint64_t threshold;              /**< the limit, as of its latest record */
	uint64_t value;                  /**< its latest window above the limit */
	uint64_t peak;
	uint64_t start_ns;               /**< start of its first window above the limit */
	uint64_t end_ns;                 /**< end of its latest window above the limit */
	uint64_t window_ns;              /**< length of its latest window */
	uint64_t total_packets, total_bytes; /**< over every window since the start */
	uint64_t reported_ns;            /**< end_ns when its last record was emitted */
};

struct alert_table;

/**
 * A table for up to @p capacity open alerts.
 * @return the table, or NULL with the reason in @p message.
 */
struct alert_table *alert_table_create(unsigned capacity, char *message, size_t size);

/** The open alert of @p key, or NULL. */
struct open_alert *alert_table_find(struct alert_table *table, const struct alert_key *key);

/**
 * A new alert for @p key (not in the table), zeroed but for its key.
 * @return it, or NULL when the table is full.
 */
struct open_alert *alert_table_add(struct alert_table *table, const struct alert_key *key);

/** Forget @p alert (ended). */
void alert_table_remove(struct alert_table *table, struct open_alert *alert);

/** Open alerts now. */
unsigned alert_table_count(const struct alert_table *table);

/**
 * Slots to scan: every open alert is alert_table_slot(table, i) for some
 * i < alert_table_slots(table).
 */
unsigned alert_table_slots(const struct alert_table *table);

/** The alert in slot @p slot, or NULL when the slot is free. */
struct open_alert *alert_table_slot(struct alert_table *table, unsigned slot);

/** Free @p table (NULL: nothing). */
void alert_table_free(struct alert_table *table);

#endif
