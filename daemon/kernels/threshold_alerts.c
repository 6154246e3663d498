/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The open-alert table: DPDK's rte_hash from the key to a slot of a fixed
 * array, free slots on a stack. One lcore reads and writes it (the
 * replica's), so the hash is made without the multi-writer flags.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_memory.h>

#include "kernels/threshold_alerts.h"

struct alert_table {
	struct rte_hash *hash;  /* key -> slot index, as the data pointer */
	struct open_alert *slots;
	unsigned *free_slots;   /* a stack of the free slot indices */
	unsigned free_count;
	unsigned capacity;
	unsigned high_water;    /* slots above it were never used: scans stop there */
};

struct alert_table *
alert_table_create(unsigned capacity, char *message, size_t size)
{
	static atomic_uint tables_made;
	struct alert_table *table = calloc(1, sizeof(*table));
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters parameters = {
		.name = name,
		/*
		 * rte_hash needs at least 8 entries; with the extendable bucket
		 * table it takes every one of them, however the keys collide, so
		 * an alert is never refused while a slot is free
		 */
		.entries = capacity < 8 ? 8 : capacity,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
		.key_len = sizeof(struct alert_key),
		.hash_func = rte_hash_crc,
		.socket_id = SOCKET_ID_ANY,
	};

	if (table == NULL)
		goto out_of_memory;
	snprintf(name, sizeof(name), "threshold_alerts_%u", atomic_fetch_add(&tables_made, 1));
	table->slots = calloc(capacity, sizeof(*table->slots));
	table->free_slots = calloc(capacity, sizeof(*table->free_slots));
	if (table->slots == NULL || table->free_slots == NULL)
		goto out_of_memory;
	table->hash = rte_hash_create(&parameters);
	if (table->hash == NULL) {
		snprintf(message, size, "cannot make a table of %u open alerts: %s", capacity,
			 rte_strerror(rte_errno));
		alert_table_free(table);
		return NULL;
	}
	table->capacity = capacity;
	/* popped from the top: slot 0 first, then upwards, and a freed slot before an unused one */
	for (unsigned i = 0; i < capacity; i++)
		table->free_slots[i] = capacity - 1 - i;
	table->free_count = capacity;
	return table;
out_of_memory:
	snprintf(message, size, "out of memory for %u open alerts", capacity);
	alert_table_free(table);
	return NULL;
}

struct open_alert *
alert_table_find(struct alert_table *table, const struct alert_key *key)
{
	void *data;

	if (rte_hash_lookup_data(table->hash, key, &data) < 0)
		return NULL;
	return &table->slots[(uintptr_t)data];
}

struct open_alert *
alert_table_add(struct alert_table *table, const struct alert_key *key)
{
	unsigned slot;

	if (table->free_count == 0)
		return NULL;
	slot = table->free_slots[table->free_count - 1];
	if (rte_hash_add_key_data(table->hash, key, (void *)(uintptr_t)slot) != 0)
		return NULL; /* not expected (see the ext table): counted by the caller as full */
	table->free_count--;
	if (slot + 1 > table->high_water)
		table->high_water = slot + 1;
	memset(&table->slots[slot], 0, sizeof(table->slots[slot]));
	table->slots[slot].key = *key;
	table->slots[slot].in_use = true;
	return &table->slots[slot];
}

void
alert_table_remove(struct alert_table *table, struct open_alert *alert)
{
	rte_hash_del_key(table->hash, &alert->key);
	alert->in_use = false;
	table->free_slots[table->free_count++] = (unsigned)(alert - table->slots);
}

unsigned
alert_table_count(const struct alert_table *table)
{
	return table->capacity - table->free_count;
}

unsigned
alert_table_slots(const struct alert_table *table)
{
	return table->high_water;
}

struct open_alert *
alert_table_slot(struct alert_table *table, unsigned slot)
{
	return table->slots[slot].in_use ? &table->slots[slot] : NULL;
}

void
alert_table_free(struct alert_table *table)
{
	if (table == NULL)
		return;
	rte_hash_free(table->hash);
	free(table->slots);
	free(table->free_slots);
	free(table);
}
