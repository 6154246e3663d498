/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The threshold kernel's group lookup, once per src_count record (not part
 * of `make check`):
 *
 *   build/threshold_groups_bench
 *
 * Builds the groups of 10000 prefixes (8000 IPv4 of /16 to /32, one /16 in
 * 16 holding the next 15, in two groups; 2000 IPv6 /48 and /64 in a third;
 * a default group) with threshold_groups_create(), as the kernel does at
 * init, and times it. Then looks up 2^20 addresses (IPv4 and IPv6 apart,
 * about half and a quarter in some prefix) with threshold_groups_find() (DPDK's RIBs),
 * and the IPv4 ones again with rte_lpm built from the same prefixes, the
 * table the issue names, for the comparison: rte_lpm answers in one or two
 * memory reads but takes a 64 MB tbl24 per table (one per replica and per
 * reload generation); the RIB walks a trie of a few hundred kilobytes. The
 * two must agree on every address, or it exits 1. Prints:
 *   load_ms MS
 *   rib_ipv4_ns NS      (per lookup)
 *   rib_ipv6_ns NS
 *   lpm_ipv4_ns NS
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lpm.h>

#include "kernels/threshold_groups.h"

#define IPV4_PREFIXES 8000u
#define IPV6_PREFIXES 2000u
#define LOOKUPS (1u << 20)
#define REPEATS 8u
#define IPV4_BASE 0x20000000u /* 32.0.0.0: prefix i is 32.0.0.0 + i * 4096 */

static uint64_t
now_ns(void)
{
	struct timespec time;

	clock_gettime(CLOCK_MONOTONIC, &time);
	return (uint64_t)time.tv_sec * 1000000000ull + (uint64_t)time.tv_nsec;
}

/* A fixed pseudo-random sequence (xorshift64), so every run looks up the same addresses. */
static uint64_t
next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static unsigned
ipv4_length(unsigned index, uint64_t *random)
{
	return index % 16 == 0 ? 16 : 20 + (unsigned)(next_random(random) % 13);
}

/* Append @p text and its NUL to a CONFIG_STRING_LIST buffer. */
static void
append_network(char *networks, size_t *at, const char *text)
{
	size_t length = strlen(text) + 1;

	if (*at + length + 1 > THRESHOLD_NETWORKS_SIZE) {
		fprintf(stderr, "threshold_groups_bench: networks do not fit\n");
		exit(1);
	}
	memcpy(networks + *at, text, length);
	*at += length;
}

static void
make_groups(struct threshold_group_list *groups, unsigned lengths[IPV4_PREFIXES])
{
	uint64_t random = 0x9e3779b97f4a7c15ull;
	size_t at[3] = {0, 0, 0};
	char text[64];

	groups->count = 4;
	for (unsigned g = 0; g < 4; g++) {
		snprintf(groups->entries[g].name, ALERT_GROUP_SIZE, "group%u", g);
		groups->entries[g].packets = 1000;
	}
	for (unsigned i = 0; i < IPV4_PREFIXES; i++) {
		uint32_t address = htonl(IPV4_BASE + i * 4096u);

		lengths[i] = ipv4_length(i, &random);
		inet_ntop(AF_INET, &address, text, sizeof(text));
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "/%u", lengths[i]);
		append_network(groups->entries[i < IPV4_PREFIXES / 2 ? 0 : 1].networks,
			       &at[i < IPV4_PREFIXES / 2 ? 0 : 1], text);
	}
	for (unsigned i = 0; i < IPV6_PREFIXES; i++) {
		if (i % 2 == 0)
			snprintf(text, sizeof(text), "2001:db8:%x::/48", i);
		else
			snprintf(text, sizeof(text), "2001:db8:%x:%x::/64", i,
				 (unsigned)(next_random(&random) & 0xffff));
		append_network(groups->entries[2].networks, &at[2], text);
	}
}

static struct rte_lpm *
make_lpm(const unsigned lengths[IPV4_PREFIXES])
{
	struct rte_lpm_config config = {.max_rules = IPV4_PREFIXES, .number_tbl8s = 8192};
	struct rte_lpm *lpm = rte_lpm_create("groups_bench", SOCKET_ID_ANY, &config);

	if (lpm == NULL) {
		fprintf(stderr, "threshold_groups_bench: rte_lpm_create: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	for (unsigned i = 0; i < IPV4_PREFIXES; i++)
		if (rte_lpm_add(lpm, IPV4_BASE + i * 4096u, (uint8_t)lengths[i],
				i < IPV4_PREFIXES / 2 ? 0 : 1) != 0) {
			fprintf(stderr, "threshold_groups_bench: rte_lpm_add failed\n");
			exit(1);
		}
	return lpm;
}

/* IPv4-mapped addresses, about half in a prefix, and IPv6 ones (about a quarter in one). */
static void
make_addresses(uint8_t (*ipv4)[16], uint8_t (*ipv6)[16])
{
	uint64_t random = 0x2545f4914f6cdd1dull;

	for (unsigned i = 0; i < LOOKUPS; i++) {
		/* twice the span the prefixes start in: the upper half is in none */
		uint32_t address = htonl(IPV4_BASE + (uint32_t)(next_random(&random) %
								 (2 * IPV4_PREFIXES * 4096ull)));
		uint64_t bits = next_random(&random);

		memset(ipv4[i], 0, 16);
		ipv4[i][10] = ipv4[i][11] = 0xff;
		memcpy(ipv4[i] + 12, &address, 4);
		memset(ipv6[i], 0, 16);
		ipv6[i][0] = 0x20, ipv6[i][1] = 0x01, ipv6[i][2] = 0x0d, ipv6[i][3] = 0xb8;
		ipv6[i][4] = (uint8_t)((bits % (2 * IPV6_PREFIXES)) >> 8);
		ipv6[i][5] = (uint8_t)(bits % (2 * IPV6_PREFIXES));
		memcpy(ipv6[i] + 6, &bits, 8);
	}
}

static double
time_rib(const struct threshold_groups *tables, uint8_t (*addresses)[16], long *found)
{
	uint64_t started = now_ns();

	*found = 0;
	for (unsigned repeat = 0; repeat < REPEATS; repeat++)
		for (unsigned i = 0; i < LOOKUPS; i++)
			*found += threshold_groups_find(tables, addresses[i]) != 3;
	return (double)(now_ns() - started) / (REPEATS * (double)LOOKUPS);
}

static double
time_lpm(const struct rte_lpm *lpm, uint8_t (*addresses)[16], long *found)
{
	uint64_t started = now_ns();
	uint32_t next_hop;

	*found = 0;
	for (unsigned repeat = 0; repeat < REPEATS; repeat++)
		for (unsigned i = 0; i < LOOKUPS; i++) {
			uint32_t address;

			memcpy(&address, addresses[i] + 12, 4);
			*found += rte_lpm_lookup(lpm, ntohl(address), &next_hop) == 0;
		}
	return (double)(now_ns() - started) / (REPEATS * (double)LOOKUPS);
}

/* Both tables give every IPv4 address the same group (the RIB's default is LPM's miss). */
static int
check_agree(const struct threshold_groups *tables, const struct rte_lpm *lpm,
	    uint8_t (*addresses)[16])
{
	for (unsigned i = 0; i < LOOKUPS; i++) {
		uint32_t address, next_hop = 3;

		memcpy(&address, addresses[i] + 12, 4);
		if (rte_lpm_lookup(lpm, ntohl(address), &next_hop) != 0)
			next_hop = 3;
		if ((int)next_hop != threshold_groups_find(tables, addresses[i])) {
			fprintf(stderr, "threshold_groups_bench: address %u: lpm %u, rib %d\n", i,
				next_hop, threshold_groups_find(tables, addresses[i]));
			return -1;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char *eal_arguments[] = {argv[0], "--no-huge", "--no-pci", "--no-shconf", "-l", "0",
				 "--log-level", "lib.eal:error", "-m", "512", NULL};
	struct threshold_group_list *groups = calloc(1, sizeof(*groups));
	static unsigned lengths[IPV4_PREFIXES];
	uint8_t (*ipv4)[16] = malloc(LOOKUPS * 16ull), (*ipv6)[16] = malloc(LOOKUPS * 16ull);
	struct threshold_groups *tables;
	struct rte_lpm *lpm;
	char message[256];
	uint64_t started;
	long found_rib, found_lpm, found_ipv6;
	double rib_ipv4, rib_ipv6, lpm_ipv4;

	(void)argc;
	if (groups == NULL || ipv4 == NULL || ipv6 == NULL)
		return 1;
	if (rte_eal_init((int)(sizeof(eal_arguments) / sizeof(eal_arguments[0])) - 1,
			 eal_arguments) < 0) {
		fprintf(stderr, "threshold_groups_bench: rte_eal_init failed\n");
		return 1;
	}
	make_groups(groups, lengths);
	if (threshold_groups_check(groups, message, sizeof(message)) != 0) {
		fprintf(stderr, "threshold_groups_bench: %s\n", message);
		return 1;
	}
	started = now_ns();
	tables = threshold_groups_create(groups, message, sizeof(message));
	if (tables == NULL) {
		fprintf(stderr, "threshold_groups_bench: %s\n", message);
		return 1;
	}
	printf("load_ms %.2f\n", (double)(now_ns() - started) / 1e6);
	lpm = make_lpm(lengths);
	make_addresses(ipv4, ipv6);
	if (check_agree(tables, lpm, ipv4) != 0)
		return 1;
	rib_ipv4 = time_rib(tables, ipv4, &found_rib);
	rib_ipv6 = time_rib(tables, ipv6, &found_ipv6);
	lpm_ipv4 = time_lpm(lpm, ipv4, &found_lpm);
	if (found_rib != found_lpm) {
		fprintf(stderr, "threshold_groups_bench: rib found %ld, lpm %ld\n", found_rib,
			found_lpm);
		return 1;
	}
	printf("rib_ipv4_ns %.2f\nrib_ipv6_ns %.2f\nlpm_ipv4_ns %.2f\n", rib_ipv4, rib_ipv6,
	       lpm_ipv4);
	printf("found ipv4 %.1f %% ipv6 %.1f %%\n", 100.0 * (double)found_rib / (REPEATS * LOOKUPS),
	       100.0 * (double)found_ipv6 / (REPEATS * LOOKUPS));
	threshold_groups_free(tables);
	rte_lpm_free(lpm);
	free(groups);
	free(ipv4);
	free(ipv6);
	rte_eal_cleanup();
	return 0;
}
