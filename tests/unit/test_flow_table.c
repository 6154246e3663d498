/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The flow_tracker's own table (kernels/flow_table.h), without the kernel:
 * canonical keys in both directions, IPv4 and IPv6, slot counts, a full
 * table, the LRU and closing lists that expiry and eviction take flows
 * from, removal with backward shifting, and entry reuse.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "kernels/flow_table.h"
#include "packet.h"
#include "suites.h"
#include "test_rig.h"

#define TCP 6
#define UDP 17

/* A packet's metadata as the table reads it: addresses, ports, protocol. */
static struct packet_meta
meta_of(const char *source, uint16_t source_port, const char *destination,
	uint16_t destination_port, uint8_t protocol)
{
	struct packet_meta meta;

	memset(&meta, 0, sizeof(meta));
	test_address(source, meta.source_address);
	test_address(destination, meta.destination_address);
	meta.ip_version = strchr(source, ':') != NULL ? 6 : 4;
	meta.source_port = source_port;
	meta.destination_port = destination_port;
	meta.protocol = protocol;
	meta.flags = PACKET_FLAG_HAS_PORTS;
	return meta;
}

static struct flow_lookup
lookup_of(const struct flow_table *table, const char *source, uint16_t source_port,
	  const char *destination, uint16_t destination_port, uint8_t protocol)
{
	struct packet_meta meta = meta_of(source, source_port, destination, destination_port,
					  protocol);
	struct flow_lookup lookup;

	flow_table_lookup_of_packet(table, &meta, &lookup);
	return lookup;
}

/* The flow of @p lookup, or FLOW_NONE. */
static uint32_t
find(const struct flow_table *table, const struct flow_lookup *lookup)
{
	uint32_t empty_slot;

	return flow_table_find(table, lookup, &empty_slot);
}

/* Insert @p lookup, which must be new. @return its handle. */
static uint32_t
insert(struct flow_table *table, const struct flow_lookup *lookup)
{
	uint32_t empty_slot = UINT32_MAX;

	ck_assert_uint_eq(flow_table_find(table, lookup, &empty_slot), FLOW_NONE);
	ck_assert_uint_le(empty_slot, table->slot_mask);
	return flow_table_insert(table, lookup, empty_slot);
}

/* The IPv4 UDP flow numbered @p number: 10.0.0.number:1000+number -> 192.0.2.1:53. */
static struct flow_lookup
lookup_of_number(const struct flow_table *table, unsigned number)
{
	char source[32];

	snprintf(source, sizeof(source), "10.0.%u.%u", number / 250, number % 250 + 1);
	return lookup_of(table, source, (uint16_t)(1000 + number), "192.0.2.1", 53, UDP);
}

START_TEST(slot_count_rounds_up_to_load_three_quarters)
{
	/* capacity, slots: the smallest power of two, at least 16, with capacity <= 0.75 of it */
	static const uint32_t cases[][2] = {
		{1, 16}, {12, 16}, {13, 32}, {24, 32}, {25, 64}, {1000, 2048}, {1000000, 2097152},
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct flow_table table;

		ck_assert_int_eq(flow_table_create(&table, cases[i][0]), 0);
		ck_assert_uint_eq(table.slot_mask + 1, cases[i][1]);
		ck_assert_uint_eq(1u << table.slot_bits, cases[i][1]);
		ck_assert_uint_eq(table.capacity, cases[i][0]);
		ck_assert_uint_eq(table.count, 0);
		ck_assert_uint_eq(flow_table_bytes(&table), cases[i][1] * sizeof(uint32_t));
		ck_assert_uint_eq(flow_table_oldest(&table), FLOW_NONE);
		ck_assert_uint_eq(flow_table_oldest_closing(&table), FLOW_NONE);
		ck_assert_uint_eq(flow_table_victim(&table), FLOW_NONE);
		flow_table_free(&table);
	}
}
END_TEST

START_TEST(capacity_out_of_range_is_refused)
{
	struct flow_table table;

	ck_assert_int_eq(flow_table_create(&table, 0), -EINVAL);
	ck_assert_ptr_null(table.slots);
	ck_assert_int_eq(flow_table_create(&table, FLOW_TABLE_MAX_FLOWS + 1), -EINVAL);
	ck_assert_ptr_null(table.slots);
	flow_table_free(&table); /* a refused table is zeroed: freeing it is fine */
	flow_table_free(&table);
}
END_TEST

START_TEST(ipv4_both_directions_find_one_flow)
{
	struct flow_table table;
	struct flow_lookup forward, reverse;
	uint8_t low[16], high[16], expected[16];
	union flow_tail *tail;
	uint32_t handle;

	ck_assert_int_eq(flow_table_create(&table, 64), 0);
	forward = lookup_of(&table, "198.51.100.7", 443, "192.0.2.10", 49152, TCP);
	reverse = lookup_of(&table, "192.0.2.10", 49152, "198.51.100.7", 443, TCP);
	ck_assert(!forward.ipv6);
	ck_assert(!forward.sender_is_low); /* 198.51.100.7 is the higher address */
	ck_assert(reverse.sender_is_low);
	ck_assert_uint_eq(forward.slot, reverse.slot);
	ck_assert_uint_eq(forward.tag, reverse.tag);
	ck_assert_uint_ne(forward.tag, 0);

	handle = insert(&table, &forward);
	ck_assert_uint_ne(handle, FLOW_NONE);
	ck_assert_uint_eq(handle & FLOW_TABLE_FAMILY_IPV6, 0);
	ck_assert_uint_eq(table.count, 1);
	ck_assert_uint_eq(find(&table, &forward), handle);
	ck_assert_uint_eq(find(&table, &reverse), handle);

	tail = flow_table_tail(&table, handle);
	ck_assert_uint_eq(tail->fields.low_port, 49152);
	ck_assert_uint_eq(tail->fields.high_port, 443);
	ck_assert_uint_eq(tail->fields.protocol, TCP);
	ck_assert_uint_eq(tail->fields.low_tcp_flags, 0);
	ck_assert_uint_eq(tail->fields.high_tcp_flags, 0);
	ck_assert_uint_eq(tail->fields.state, 0);
	flow_table_addresses(&table, handle, low, high);
	test_address("192.0.2.10", expected);
	ck_assert_mem_eq(low, expected, 16);
	test_address("198.51.100.7", expected);
	ck_assert_mem_eq(high, expected, 16);
	flow_table_free(&table);
}
END_TEST

START_TEST(ipv6_keys_are_exact_and_apart_from_ipv4)
{
	struct flow_table table;
	struct flow_lookup forward, reverse, neighbour, mapped, ipv4;
	uint8_t low[16], high[16], expected[16];
	uint32_t handle, neighbour_handle, mapped_handle, ipv4_handle;

	ck_assert_int_eq(flow_table_create(&table, 64), 0);
	forward = lookup_of(&table, "2001:db8::2", 80, "2001:db8::1", 5000, TCP);
	reverse = lookup_of(&table, "2001:db8::1", 5000, "2001:db8::2", 80, TCP);
	/* differs in the last address byte only */
	neighbour = lookup_of(&table, "2001:db8::3", 80, "2001:db8::1", 5000, TCP);
	/* an IPv6 packet between IPv4-mapped addresses is not the IPv4 flow */
	mapped = lookup_of(&table, "::ffff:10.0.0.1", 80, "::ffff:10.0.0.2", 5000, TCP);
	ipv4 = lookup_of(&table, "10.0.0.1", 80, "10.0.0.2", 5000, TCP);
	ck_assert(forward.ipv6);
	ck_assert(mapped.ipv6);
	ck_assert(!ipv4.ipv6);
	ck_assert(!forward.sender_is_low);
	ck_assert(reverse.sender_is_low);

	handle = insert(&table, &forward);
	ck_assert_uint_eq(handle & FLOW_TABLE_FAMILY_IPV6, FLOW_TABLE_FAMILY_IPV6);
	ck_assert_uint_eq(find(&table, &reverse), handle);
	ck_assert_uint_eq(find(&table, &neighbour), FLOW_NONE);
	neighbour_handle = insert(&table, &neighbour);
	mapped_handle = insert(&table, &mapped);
	ck_assert_uint_eq(find(&table, &ipv4), FLOW_NONE);
	ipv4_handle = insert(&table, &ipv4);
	ck_assert_uint_eq(ipv4_handle & FLOW_TABLE_FAMILY_IPV6, 0);
	ck_assert_uint_eq(table.count, 4);
	ck_assert_uint_eq(find(&table, &forward), handle);
	ck_assert_uint_eq(find(&table, &neighbour), neighbour_handle);
	ck_assert_uint_eq(find(&table, &mapped), mapped_handle);
	ck_assert_uint_eq(find(&table, &ipv4), ipv4_handle);

	flow_table_addresses(&table, handle, low, high);
	test_address("2001:db8::1", expected);
	ck_assert_mem_eq(low, expected, 16);
	test_address("2001:db8::2", expected);
	ck_assert_mem_eq(high, expected, 16);
	ck_assert_uint_eq(flow_table_tail(&table, handle)->fields.low_port, 5000);
	ck_assert_uint_eq(flow_table_tail(&table, handle)->fields.high_port, 80);
	/* slots, then three IPv6 entries (forward, neighbour, mapped) and one IPv4 */
	ck_assert_uint_eq(flow_table_bytes(&table), 128 * 4 + 3 * 88 + 64);
	flow_table_free(&table);
}
END_TEST

START_TEST(ports_and_protocol_are_key)
{
	struct flow_table table;
	struct flow_lookup udp, tcp, other_port, same_address_low, same_address_high, no_ports;
	struct packet_meta meta;
	uint32_t handle;

	ck_assert_int_eq(flow_table_create(&table, 64), 0);
	udp = lookup_of(&table, "10.0.0.1", 1000, "10.0.0.2", 53, UDP);
	tcp = lookup_of(&table, "10.0.0.1", 1000, "10.0.0.2", 53, TCP);
	other_port = lookup_of(&table, "10.0.0.1", 1001, "10.0.0.2", 53, UDP);
	handle = insert(&table, &udp);
	ck_assert_uint_eq(find(&table, &tcp), FLOW_NONE);
	ck_assert_uint_eq(find(&table, &other_port), FLOW_NONE);
	ck_assert_uint_ne(insert(&table, &tcp), handle);

	/* one address on both sides: the lower port is the low endpoint */
	same_address_low = lookup_of(&table, "10.0.0.9", 100, "10.0.0.9", 200, UDP);
	same_address_high = lookup_of(&table, "10.0.0.9", 200, "10.0.0.9", 100, UDP);
	ck_assert(same_address_low.sender_is_low);
	ck_assert(!same_address_high.sender_is_low);
	handle = insert(&table, &same_address_low);
	ck_assert_uint_eq(find(&table, &same_address_high), handle);
	ck_assert_uint_eq(flow_table_tail(&table, handle)->fields.low_port, 100);

	/* without PACKET_FLAG_HAS_PORTS the ports are 0, whatever the fields say */
	meta = meta_of("10.0.0.1", 7, "10.0.0.2", 8, UDP);
	meta.flags = 0;
	flow_table_lookup_of_packet(&table, &meta, &no_ports);
	ck_assert_uint_eq(no_ports.tail.fields.low_port, 0);
	ck_assert_uint_eq(no_ports.tail.fields.high_port, 0);
	handle = insert(&table, &no_ports);
	no_ports = lookup_of(&table, "10.0.0.2", 0, "10.0.0.1", 0, UDP);
	ck_assert_uint_eq(find(&table, &no_ports), handle);
	flow_table_free(&table);
}
END_TEST

START_TEST(full_table_refuses_and_names_the_victim)
{
	struct flow_table table;
	struct flow_lookup lookups[5];
	uint32_t handles[4];

	ck_assert_int_eq(flow_table_create(&table, 4), 0);
	for (unsigned i = 0; i < 5; i++)
		lookups[i] = lookup_of_number(&table, i);
	for (unsigned i = 0; i < 4; i++) {
		ck_assert(!flow_table_full(&table));
		handles[i] = insert(&table, &lookups[i]);
		ck_assert_uint_ne(handles[i], FLOW_NONE);
	}
	ck_assert(flow_table_full(&table));
	ck_assert_uint_eq(insert(&table, &lookups[4]), FLOW_NONE);
	ck_assert_uint_eq(table.count, 4);
	ck_assert_uint_eq(find(&table, &lookups[4]), FLOW_NONE);

	/* least recently used first; a touch moves a flow to the back */
	ck_assert_uint_eq(flow_table_victim(&table), handles[0]);
	flow_table_touch(&table, handles[0]);
	ck_assert_uint_eq(flow_table_victim(&table), handles[1]);
	/* a closing flow goes before any open one */
	flow_table_start_closing(&table, handles[3]);
	ck_assert_uint_eq(flow_table_victim(&table), handles[3]);
	ck_assert_uint_eq(flow_table_oldest(&table), handles[1]);

	flow_table_remove(&table, flow_table_victim(&table));
	ck_assert(!flow_table_full(&table));
	ck_assert_uint_eq(flow_table_victim(&table), handles[1]);
	handles[3] = insert(&table, &lookups[4]);
	ck_assert_uint_ne(handles[3], FLOW_NONE);
	ck_assert_uint_eq(find(&table, &lookups[4]), handles[3]);
	ck_assert_uint_eq(find(&table, &lookups[3]), FLOW_NONE);
	flow_table_free(&table);
}
END_TEST

/* The handles on the list from @p head, in order, into @p handles. @return how many. */
static unsigned
list_of(const struct flow_table *table, uint32_t head, uint32_t handles[], unsigned most)
{
	unsigned count = 0;

	for (uint32_t handle = head; handle != FLOW_NONE && count < most;
	     handle = flow_table_entry(table, handle)->lru_next)
		handles[count++] = handle;
	return count;
}

START_TEST(lists_keep_order_of_last_use)
{
	struct flow_table table;
	struct flow_lookup lookup;
	uint32_t a, b, c, d, order[8];

	ck_assert_int_eq(flow_table_create(&table, 16), 0);
	lookup = lookup_of_number(&table, 1);
	a = insert(&table, &lookup);
	lookup = lookup_of_number(&table, 2);
	b = insert(&table, &lookup);
	lookup = lookup_of_number(&table, 3);
	c = insert(&table, &lookup);
	lookup = lookup_of_number(&table, 4);
	d = insert(&table, &lookup);

	flow_table_touch(&table, a);
	flow_table_touch(&table, d); /* already the most recent: stays */
	ck_assert_uint_eq(list_of(&table, flow_table_oldest(&table), order, 8), 4);
	ck_assert_uint_eq(order[0], b);
	ck_assert_uint_eq(order[1], c);
	ck_assert_uint_eq(order[2], a);
	ck_assert_uint_eq(order[3], d);
	ck_assert_uint_eq(table.lru_tail, d);

	flow_table_start_closing(&table, c);
	flow_table_start_closing(&table, b);
	ck_assert(flow_table_is_closing(&table, c));
	ck_assert(flow_table_is_closing(&table, b));
	ck_assert(!flow_table_is_closing(&table, a));
	ck_assert_uint_eq(flow_table_tail(&table, c)->fields.state, FLOW_TABLE_STATE_CLOSING);
	ck_assert_uint_eq(list_of(&table, flow_table_oldest(&table), order, 8), 2);
	ck_assert_uint_eq(order[0], a);
	ck_assert_uint_eq(order[1], d);
	ck_assert_uint_eq(list_of(&table, flow_table_oldest_closing(&table), order, 8), 2);
	ck_assert_uint_eq(order[0], c);
	ck_assert_uint_eq(order[1], b);

	flow_table_touch_closing(&table, c);
	ck_assert_uint_eq(list_of(&table, flow_table_oldest_closing(&table), order, 8), 2);
	ck_assert_uint_eq(order[0], b);
	ck_assert_uint_eq(order[1], c);
	ck_assert_uint_eq(table.closing_tail, c);

	/* removal takes a flow off whichever list it is on */
	flow_table_remove(&table, c);
	flow_table_remove(&table, a);
	ck_assert_uint_eq(list_of(&table, flow_table_oldest_closing(&table), order, 8), 1);
	ck_assert_uint_eq(order[0], b);
	ck_assert_uint_eq(table.closing_tail, b);
	ck_assert_uint_eq(list_of(&table, flow_table_oldest(&table), order, 8), 1);
	ck_assert_uint_eq(order[0], d);
	ck_assert_uint_eq(table.lru_tail, d);
	flow_table_remove(&table, b);
	flow_table_remove(&table, d);
	ck_assert_uint_eq(table.count, 0);
	ck_assert_uint_eq(flow_table_oldest(&table), FLOW_NONE);
	ck_assert_uint_eq(flow_table_oldest_closing(&table), FLOW_NONE);
	ck_assert_uint_eq(table.lru_tail, FLOW_NONE);
	ck_assert_uint_eq(table.closing_tail, FLOW_NONE);
	flow_table_free(&table);
}
END_TEST

/* Whether some flow of @p lookups sits away from its home slot (so removals must shift). */
static bool
some_flow_is_displaced(const struct flow_table *table, const struct flow_lookup lookups[],
		       const uint32_t handles[], unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		if ((table->slots[lookups[i].slot] & FLOW_TABLE_HANDLE_MASK) != handles[i])
			return true;
	return false;
}

START_TEST(removal_shifts_probes_back)
{
	enum { FLOWS = 12 };                    /* 16 slots at load 0.75: probes collide */
	static const unsigned order[FLOWS] = {5, 0, 11, 3, 7, 1, 9, 2, 10, 4, 8, 6};
	struct flow_table table;
	struct flow_lookup lookups[FLOWS];
	uint32_t handles[FLOWS];
	bool removed[FLOWS] = {false};

	ck_assert_int_eq(flow_table_create(&table, FLOWS), 0);
	ck_assert_uint_eq(table.slot_mask + 1, 16);
	for (unsigned i = 0; i < FLOWS; i++) {
		lookups[i] = lookup_of_number(&table, i);
		handles[i] = insert(&table, &lookups[i]);
	}
	ck_assert(some_flow_is_displaced(&table, lookups, handles, FLOWS));
	for (unsigned step = 0; step < FLOWS; step++) {
		unsigned occupied = 0;

		flow_table_remove(&table, handles[order[step]]);
		removed[order[step]] = true;
		ck_assert_uint_eq(table.count, FLOWS - step - 1);
		for (unsigned i = 0; i < FLOWS; i++)
			ck_assert_uint_eq(find(&table, &lookups[i]),
					  removed[i] ? FLOW_NONE : handles[i]);
		for (unsigned slot = 0; slot <= table.slot_mask; slot++)
			occupied += table.slots[slot] != 0;
		ck_assert_uint_eq(occupied, FLOWS - step - 1);
	}
	flow_table_free(&table);
}
END_TEST

START_TEST(removed_entries_are_reused_zeroed)
{
	struct flow_table table;
	struct flow_lookup first, second, third;
	struct flow_common *flow;
	uint32_t handle, reused;

	ck_assert_int_eq(flow_table_create(&table, 8), 0);
	first = lookup_of_number(&table, 1);
	second = lookup_of_number(&table, 2);
	third = lookup_of_number(&table, 3);
	handle = insert(&table, &first);
	insert(&table, &second);
	ck_assert_uint_eq(flow_table_bytes(&table), 16 * 4 + 2 * 64);
	flow = flow_table_entry(&table, handle);
	flow->low_packets = 7;
	flow->high_bytes = 900;
	flow->first_ns = 5;
	flow->last_ns = 6;
	flow_table_tail(&table, handle)->fields.low_tcp_flags = 0x12;
	flow_table_tail(&table, handle)->fields.state = 0x01;

	flow_table_remove(&table, handle);
	reused = insert(&table, &third);
	ck_assert_uint_eq(reused, handle); /* the freed entry, not a fresh one */
	ck_assert_uint_eq(flow_table_bytes(&table), 16 * 4 + 2 * 64);
	flow = flow_table_entry(&table, reused);
	ck_assert_uint_eq(flow->low_packets, 0);
	ck_assert_uint_eq(flow->high_packets, 0);
	ck_assert_uint_eq(flow->low_bytes, 0);
	ck_assert_uint_eq(flow->high_bytes, 0);
	ck_assert_uint_eq(flow->first_ns, 0);
	ck_assert_uint_eq(flow->last_ns, 0);
	ck_assert_uint_eq(flow_table_tail(&table, reused)->word, third.tail.word);
	ck_assert_uint_eq(find(&table, &third), reused);
	ck_assert_uint_eq(find(&table, &first), FLOW_NONE);
	/* the newest flow is at the tail of the LRU list */
	ck_assert_uint_eq(table.lru_tail, reused);
	flow_table_free(&table);
}
END_TEST

Suite *
flow_table_suite(void)
{
	Suite *suite = suite_create("flow_table");
	TCase *keys = tcase_create("keys");
	TCase *capacity = tcase_create("capacity");
	TCase *lists = tcase_create("lists");

	tcase_add_test(keys, ipv4_both_directions_find_one_flow);
	tcase_add_test(keys, ipv6_keys_are_exact_and_apart_from_ipv4);
	tcase_add_test(keys, ports_and_protocol_are_key);
	tcase_add_test(capacity, slot_count_rounds_up_to_load_three_quarters);
	tcase_add_test(capacity, capacity_out_of_range_is_refused);
	tcase_add_test(capacity, full_table_refuses_and_names_the_victim);
	tcase_add_test(capacity, removal_shifts_probes_back);
	tcase_add_test(capacity, removed_entries_are_reused_zeroed);
	tcase_add_test(lists, lists_keep_order_of_last_use);
	suite_add_tcase(suite, keys);
	suite_add_tcase(suite, capacity);
	suite_add_tcase(suite, lists);
	return suite;
}
