/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The threshold kernel's groups: each a name, a list of IPv4 and IPv6
 * networks and its own limits. A key is held to the group of the longest
 * prefix that holds it, or to the group without networks (the default), or
 * to none. The parsing and checks here are pure (the config check runs them
 * without DPDK); the lookup tables are DPDK's RIBs, built on the control
 * thread and read by one replica's lcore.
 */
#ifndef JETSTREAM_KERNELS_THRESHOLD_GROUPS_H
#define JETSTREAM_KERNELS_THRESHOLD_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

/** Most groups of one threshold. */
#define THRESHOLD_GROUPS_MAX 16

/**
 * Bytes of one group's `networks:` text: room for about 6500 IPv4 prefixes
 * of the longest form (`255.255.255.255/32`) or 3000 IPv6 ones of 40 bytes.
 */
#define THRESHOLD_NETWORKS_SIZE (128 * 1024)

/** One entry of `groups:`, as the config loader binds it. */
struct threshold_group_params {
	char name[ALERT_GROUP_SIZE];
	char networks[THRESHOLD_NETWORKS_SIZE]; /**< CONFIG_STRING_LIST; empty: the default group */
	uint64_t packets;                       /**< limit of packets; 0: none */
	uint64_t bytes;                         /**< limit of bytes; 0: none */
	uint32_t per;                           /**< enum threshold_per */
	uint32_t reserved;
};

/** The `groups:` value: a CONFIG_MAPPING_LIST. */
struct threshold_group_list {
	uint64_t count;
	struct threshold_group_params entries[THRESHOLD_GROUPS_MAX];
};

/** An address prefix: IPv4-mapped (::ffff:a.b.c.d, length 96 + the IPv4 length) or IPv6. */
struct threshold_prefix {
	uint8_t address[16];
	uint8_t length;
};

/**
 * Parse @p text, `ADDRESS/LENGTH` or an address alone (a /32 or /128), into
 * @p prefix. Refuses bits set past the length (`198.51.100.7/24`), with the
 * network it likely means in the message.
 * @return 0, or -EINVAL with a message in @p message.
 */
int threshold_prefix_parse(const char *text, struct threshold_prefix *prefix, char *message,
			   size_t size);

/**
 * Check @p groups as a whole: names unique and not empty, at most one group
 * without networks, each group with a limit, every prefix valid, and none in
 * two groups (or twice in one). Pure.
 * @return 0, or -EINVAL with the first problem in @p message.
 */
int threshold_groups_check(const struct threshold_group_list *groups, char *message, size_t size);

/** Lookup tables built from a checked group list. */
struct threshold_groups;

/**
 * Build the tables of @p groups (already checked). Control thread; DPDK
 * memory.
 * @return the tables, or NULL with the reason in @p message.
 */
struct threshold_groups *threshold_groups_create(const struct threshold_group_list *groups,
						 char *message, size_t size);

/**
 * The index in the group list of the group @p address (IPv4-mapped or IPv6)
 * is held to: its longest matching prefix's, else the default group's.
 * @return the index, or -1 when no group holds it.
 */
int threshold_groups_find(const struct threshold_groups *tables, const uint8_t address[16]);

/** Free what threshold_groups_create() made (NULL: nothing). Control thread. */
void threshold_groups_free(struct threshold_groups *tables);

#endif
