/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Threshold groups: prefixes parsed and checked (pure), then loaded into
 * DPDK's RIBs (rte_rib for IPv4, rte_rib6 for IPv6) for the longest-prefix
 * lookup.
 *
 * Why a RIB and not rte_lpm/rte_lpm6: the lookup runs once per count record
 * (a key's window), not per packet, so its speed matters little next to the
 * memory: rte_lpm and rte_lpm6 each allocate a 2^24-entry first level, 64 MB
 * per table, per replica, twice over during a reload; a RIB takes a node per
 * prefix (about 64 bytes). The lookup cost at 10 000 prefixes is measured by
 * build/threshold_groups_bench (BENCHMARKS.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_memory.h>
#include <rte_rib.h>
#include <rte_rib6.h>

#include "config_map.h"
#include "kernels/threshold_groups.h"
#include "packet.h"

/* The IPv4-mapped IPv6 prefix ::ffff:0:0/96, under which IPv4 addresses are kept. */
static const uint8_t ipv4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
#define IPV4_MAPPED_LENGTH 96

struct threshold_groups {
	struct rte_rib *ipv4;   /* NULL: no IPv4 prefix */
	struct rte_rib6 *ipv6;  /* NULL: no IPv6 prefix */
	int default_group;      /* the group without networks, or -1 */
};

/* Whether @p prefix holds IPv4 addresses only (it lies within ::ffff:0:0/96). */
static bool
prefix_is_ipv4(const struct threshold_prefix *prefix)
{
	return prefix->length >= IPV4_MAPPED_LENGTH &&
	       memcmp(prefix->address, ipv4_mapped_prefix, sizeof(ipv4_mapped_prefix)) == 0;
}

/* Clears the bits of @p address past @p length; @return whether any was set. */
static bool
clear_host_bits(uint8_t address[16], unsigned length)
{
	bool was_set = false;

	for (unsigned bit = length; bit < 128; bit++) {
		uint8_t mask = (uint8_t)(0x80u >> (bit % 8));

		was_set = was_set || (address[bit / 8] & mask) != 0;
		address[bit / 8] &= (uint8_t)~mask;
	}
	return was_set;
}

/* The length after the slash: digits only, at most @p maximum. */
static int
parse_length(const char *text, unsigned maximum, unsigned *length)
{
	char *end;
	unsigned long value;

	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	value = strtoul(text, &end, 10);
	if (*end != '\0' || value > maximum)
		return -EINVAL;
	*length = (unsigned)value;
	return 0;
}

/* @p prefix as text, the IPv4 form for an IPv4 prefix. */
static void
format_prefix(const struct threshold_prefix *prefix, char *text, size_t size)
{
	char address[INET6_ADDRSTRLEN];
	bool ipv4 = prefix_is_ipv4(prefix);

	if (ipv4)
		inet_ntop(AF_INET, prefix->address + 12, address, sizeof(address));
	else
		inet_ntop(AF_INET6, prefix->address, address, sizeof(address));
	snprintf(text, size, "%s/%u", address,
		 ipv4 ? prefix->length - IPV4_MAPPED_LENGTH : prefix->length);
}

int
threshold_prefix_parse(const char *text, struct threshold_prefix *prefix, char *message,
		       size_t size)
{
	char address[INET6_ADDRSTRLEN + 1], network[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t address_length = slash != NULL ? (size_t)(slash - text) : strlen(text);
	unsigned length;
	uint8_t ipv4[4];

	memset(prefix, 0, sizeof(*prefix));
	if (address_length >= sizeof(address))
		goto invalid;
	memcpy(address, text, address_length);
	address[address_length] = '\0';
	if (inet_pton(AF_INET, address, ipv4) == 1) {
		if (slash == NULL)
			length = 32;
		else if (parse_length(slash + 1, 32, &length) != 0)
			goto invalid;
		memcpy(prefix->address, ipv4_mapped_prefix, sizeof(ipv4_mapped_prefix));
		memcpy(prefix->address + 12, ipv4, sizeof(ipv4));
		length += IPV4_MAPPED_LENGTH;
	} else if (inet_pton(AF_INET6, address, prefix->address) == 1) {
		if (slash == NULL)
			length = 128;
		else if (parse_length(slash + 1, 128, &length) != 0)
			goto invalid;
	} else {
		goto invalid;
	}
	prefix->length = (uint8_t)length;
	if (clear_host_bits(prefix->address, length)) {
		format_prefix(prefix, network, sizeof(network));
		snprintf(message, size, "'%s' has bits set past its length (the network is %s)",
			 text, network);
		return -EINVAL;
	}
	return 0;
invalid:
	snprintf(message, size, "'%s' is not an IPv4 or IPv6 network (ADDRESS/LENGTH, or an address)",
		 text);
	return -EINVAL;
}

/* Group names go into records, the environment of actions and syslog: a safe alphabet only. */
static bool
group_name_is_valid(const char *name)
{
	if (name[0] == '\0')
		return false;
	for (const char *c = name; *c != '\0'; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' || *c == '-'))
			return false;
	return true;
}

/* One prefix of one group, for the duplicate check. */
struct placed_prefix {
	struct threshold_prefix prefix;
	unsigned group;
	const char *text;
};

static int
compare_placed(const void *left_pointer, const void *right_pointer)
{
	const struct placed_prefix *left = left_pointer, *right = right_pointer;
	int order = memcmp(left->prefix.address, right->prefix.address, 16);

	if (order != 0)
		return order;
	if (left->prefix.length != right->prefix.length)
		return left->prefix.length < right->prefix.length ? -1 : 1;
	return left->group < right->group ? -1 : left->group > right->group;
}

static unsigned
prefix_count(const struct threshold_group_params *group)
{
	unsigned count = 0;

	for (const char *text = NULL; (text = config_string_list_next(group->networks, text)) != NULL;)
		count++;
	return count;
}

/* Each group's own rules: name, limits, at most one default. */
static int
check_each_group(const struct threshold_group_list *groups, char *message, size_t size)
{
	int default_group = -1;

	for (unsigned g = 0; g < groups->count; g++) {
		const struct threshold_group_params *group = &groups->entries[g];

		if (!group_name_is_valid(group->name)) {
			snprintf(message, size, "group name '%s' may hold only letters, digits and "
				 "`_ . -`", group->name);
			return -EINVAL;
		}
		for (unsigned other = 0; other < g; other++)
			if (strcmp(groups->entries[other].name, group->name) == 0) {
				snprintf(message, size, "two groups are named '%s'", group->name);
				return -EINVAL;
			}
		if (group->packets == 0 && group->bytes == 0) {
			snprintf(message, size, "group '%s' has no limit: give `pkts:` or `bytes:`",
				 group->name);
			return -EINVAL;
		}
		if (group->networks[0] != '\0')
			continue;
		if (default_group >= 0) {
			snprintf(message, size, "groups '%s' and '%s' both have no `networks:`: only "
				 "one group may be the default", groups->entries[default_group].name,
				 group->name);
			return -EINVAL;
		}
		default_group = (int)g;
	}
	return 0;
}

/* Every prefix of @p groups parsed into @p placed (count returned), or -EINVAL. */
static int
parse_all_prefixes(const struct threshold_group_list *groups, struct placed_prefix *placed,
		   char *message, size_t size)
{
	char reason[192];
	unsigned count = 0;

	for (unsigned g = 0; g < groups->count; g++) {
		const char *networks = groups->entries[g].networks;

		for (const char *text = NULL; (text = config_string_list_next(networks, text)) != NULL;) {
			if (threshold_prefix_parse(text, &placed[count].prefix, reason,
						   sizeof(reason)) != 0) {
				snprintf(message, size, "group '%s': %s", groups->entries[g].name,
					 reason);
				return -EINVAL;
			}
			placed[count].group = g;
			placed[count].text = text;
			count++;
		}
	}
	return (int)count;
}

/* A prefix in two groups would make the group of its addresses a matter of order. */
static int
check_prefixes(const struct threshold_group_list *groups, char *message, size_t size)
{
	unsigned total = 0;
	struct placed_prefix *placed;
	int count;

	for (unsigned g = 0; g < groups->count; g++)
		total += prefix_count(&groups->entries[g]);
	placed = calloc(total > 0 ? total : 1, sizeof(*placed));
	if (placed == NULL) {
		snprintf(message, size, "out of memory checking %u networks", total);
		return -EINVAL;
	}
	count = parse_all_prefixes(groups, placed, message, size);
	if (count > 1)
		qsort(placed, (size_t)count, sizeof(*placed), compare_placed);
	for (int i = 1; i < count; i++) {
		const struct placed_prefix *first = &placed[i - 1], *second = &placed[i];

		if (memcmp(&first->prefix, &second->prefix, sizeof(first->prefix)) != 0)
			continue;
		if (first->group == second->group)
			snprintf(message, size, "group '%s' lists '%s' twice (as '%s')",
				 groups->entries[first->group].name, first->text, second->text);
		else
			snprintf(message, size, "'%s' is in both groups '%s' and '%s'", first->text,
				 groups->entries[first->group].name,
				 groups->entries[second->group].name);
		count = -EINVAL;
		break;
	}
	free(placed);
	return count < 0 ? -EINVAL : 0;
}

int
threshold_groups_check(const struct threshold_group_list *groups, char *message, size_t size)
{
	if (check_each_group(groups, message, size) != 0)
		return -EINVAL;
	return check_prefixes(groups, message, size);
}

/* RIB names are global in DPDK: each table gets its own. */
static void
rib_name(char *name, size_t size, const char *family)
{
	static atomic_uint tables_made;

	snprintf(name, size, "threshold_%s_%u", family, atomic_fetch_add(&tables_made, 1));
}

/* Count the prefixes of each family, for the RIBs' node pools. */
static void
count_families(const struct threshold_group_list *groups, unsigned *ipv4, unsigned *ipv6)
{
	char message[192];
	struct threshold_prefix prefix;

	*ipv4 = *ipv6 = 0;
	for (unsigned g = 0; g < groups->count; g++)
		for (const char *text = NULL;
		     (text = config_string_list_next(groups->entries[g].networks, text)) != NULL;)
			if (threshold_prefix_parse(text, &prefix, message, sizeof(message)) == 0)
				(*(prefix_is_ipv4(&prefix) ? ipv4 : ipv6))++;
}

static int
make_ribs(struct threshold_groups *tables, unsigned ipv4, unsigned ipv6, char *message,
	  size_t size)
{
	char name[64];

	/* a trie: each prefix is a node, plus at most one branching node above it */
	if (ipv4 > 0) {
		struct rte_rib_conf conf = {.ext_sz = 0, .max_nodes = (int)(2 * ipv4 + 1)};

		rib_name(name, sizeof(name), "ipv4");
		tables->ipv4 = rte_rib_create(name, SOCKET_ID_ANY, &conf);
		if (tables->ipv4 == NULL)
			goto failed;
	}
	if (ipv6 > 0) {
		struct rte_rib6_conf conf = {.ext_sz = 0, .max_nodes = (int)(2 * ipv6 + 1)};

		rib_name(name, sizeof(name), "ipv6");
		tables->ipv6 = rte_rib6_create(name, SOCKET_ID_ANY, &conf);
		if (tables->ipv6 == NULL)
			goto failed;
	}
	return 0;
failed:
	snprintf(message, size, "cannot make the table of %u IPv4 and %u IPv6 networks: %s", ipv4,
		 ipv6, rte_strerror(rte_errno));
	return -ENOMEM;
}

static int
insert_prefix(struct threshold_groups *tables, const struct threshold_prefix *prefix,
	      unsigned group)
{
	if (prefix_is_ipv4(prefix)) {
		uint32_t address;
		struct rte_rib_node *node;

		memcpy(&address, prefix->address + 12, sizeof(address));
		node = rte_rib_insert(tables->ipv4, ntohl(address),
				      (uint8_t)(prefix->length - IPV4_MAPPED_LENGTH));
		return node != NULL ? rte_rib_set_nh(node, group) : -rte_errno;
	}
	struct rte_rib6_node *node = rte_rib6_insert(tables->ipv6, prefix->address, prefix->length);

	return node != NULL ? rte_rib6_set_nh(node, group) : -rte_errno;
}

struct threshold_groups *
threshold_groups_create(const struct threshold_group_list *groups, char *message, size_t size)
{
	struct threshold_groups *tables = calloc(1, sizeof(*tables));
	unsigned ipv4, ipv6;

	if (tables == NULL) {
		snprintf(message, size, "out of memory");
		return NULL;
	}
	tables->default_group = -1;
	count_families(groups, &ipv4, &ipv6);
	if (make_ribs(tables, ipv4, ipv6, message, size) != 0)
		goto failed;
	for (unsigned g = 0; g < groups->count; g++) {
		const struct threshold_group_params *group = &groups->entries[g];

		if (group->networks[0] == '\0')
			tables->default_group = (int)g;
		for (const char *text = NULL; (text = config_string_list_next(group->networks, text)) != NULL;) {
			struct threshold_prefix prefix;

			if (threshold_prefix_parse(text, &prefix, message, size) != 0)
				goto failed;
			if (insert_prefix(tables, &prefix, g) != 0) {
				snprintf(message, size, "group '%s': cannot add '%s': %s", group->name,
					 text, rte_strerror(rte_errno));
				goto failed;
			}
		}
	}
	return tables;
failed:
	threshold_groups_free(tables);
	return NULL;
}

int
threshold_groups_find(const struct threshold_groups *tables, const uint8_t address[16])
{
	uint64_t group;

	if (packet_address_is_ipv4(address) && tables->ipv4 != NULL) {
		uint32_t ipv4;
		struct rte_rib_node *node;

		memcpy(&ipv4, address + 12, sizeof(ipv4));
		node = rte_rib_lookup(tables->ipv4, ntohl(ipv4));
		if (node != NULL && rte_rib_get_nh(node, &group) == 0)
			return (int)group;
	} else if (!packet_address_is_ipv4(address) && tables->ipv6 != NULL) {
		struct rte_rib6_node *node = rte_rib6_lookup(tables->ipv6, address);

		if (node != NULL && rte_rib6_get_nh(node, &group) == 0)
			return (int)group;
	}
	return tables->default_group;
}

void
threshold_groups_free(struct threshold_groups *tables)
{
	if (tables == NULL)
		return;
	rte_rib_free(tables->ipv4);
	rte_rib6_free(tables->ipv6);
	free(tables);
}
