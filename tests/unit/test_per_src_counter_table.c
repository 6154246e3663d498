/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The per_src_counter's own table (kernels/counter_table.h): finding and
 * adding keys, colliding hashes, a full table, resets between windows, and
 * 32-byte keys. Hashes are passed in by hand where a test needs them to
 * collide. Also the hand-written IPv4 text of packet_address_format(), which
 * the sink prints every counted source with.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "kernels/counter_table.h"
#include "packet.h"
#include "suites.h"

/* A distinct 16-byte key per number (IPv4-mapped 10.x.y.z), written to @p key. */
static void
key_of_number(uint32_t number, uint8_t key[COUNTER_TABLE_KEY_MAX])
{
	memset(key, 0, COUNTER_TABLE_KEY_MAX);
	key[10] = 0xff;
	key[11] = 0xff;
	key[12] = 10;
	key[13] = (uint8_t)(number >> 16);
	key[14] = (uint8_t)(number >> 8);
	key[15] = (uint8_t)number;
}

/* Find or add one key through the bulk call. */
static struct counter_entry *
find_or_add(struct counter_table *table, const uint8_t *key, uint32_t hash)
{
	const uint8_t *keys[1] = {key};
	struct counter_entry *entries[1];

	counter_table_find_or_add_bulk(table, keys, &hash, 1, entries);
	return entries[0];
}

START_TEST(new_keys_start_at_zero_and_are_found_again)
{
	struct counter_table table;
	uint8_t key[COUNTER_TABLE_KEY_MAX];
	struct counter_entry *entry;

	ck_assert_int_eq(counter_table_create(&table, 64, 16), 0);
	key_of_number(1, key);
	entry = find_or_add(&table, key, counter_table_hash(key, 16));
	ck_assert_ptr_nonnull(entry);
	ck_assert_mem_eq(entry->key, key, 16);
	ck_assert_uint_eq(entry->packets, 0);
	ck_assert_uint_eq(entry->bytes, 0);
	entry->packets = 5;
	ck_assert_ptr_eq(find_or_add(&table, key, counter_table_hash(key, 16)), entry);
	ck_assert_uint_eq(table.count, 1);
	ck_assert_uint_eq(entry->packets, 5);
	counter_table_free(&table);
}
END_TEST

/* Keys may repeat in one burst, new or not: each gets the one entry of its key. */
START_TEST(repeated_keys_in_one_burst_share_an_entry)
{
	struct counter_table table;
	uint8_t a[COUNTER_TABLE_KEY_MAX], b[COUNTER_TABLE_KEY_MAX];
	const uint8_t *keys[5] = {a, b, a, a, b};
	uint32_t hashes[5];
	struct counter_entry *entries[5];

	ck_assert_int_eq(counter_table_create(&table, 64, 16), 0);
	key_of_number(1, a);
	key_of_number(2, b);
	for (unsigned i = 0; i < 5; i++)
		hashes[i] = counter_table_hash(keys[i], 16);
	counter_table_find_or_add_bulk(&table, keys, hashes, 5, entries);
	ck_assert_uint_eq(table.count, 2);
	ck_assert_ptr_eq(entries[0], entries[2]);
	ck_assert_ptr_eq(entries[0], entries[3]);
	ck_assert_ptr_eq(entries[1], entries[4]);
	ck_assert_ptr_ne(entries[0], entries[1]);
	/* emitted in the order first seen */
	ck_assert_ptr_eq(&table.entries[0], entries[0]);
	ck_assert_ptr_eq(&table.entries[1], entries[1]);
	counter_table_free(&table);
}
END_TEST

/*
 * Every key with the same hash (one probe chain), and keys whose hashes differ
 * but start at the same slot: all distinct, all found again.
 */
START_TEST(colliding_hashes_keep_keys_apart)
{
	struct counter_table table;
	struct counter_entry *entries[40];
	uint8_t key[COUNTER_TABLE_KEY_MAX];
	uint32_t slot_count;

	ck_assert_int_eq(counter_table_create(&table, 40, 16), 0);
	slot_count = table.slot_mask + 1;
	for (uint32_t i = 0; i < 20; i++) {
		key_of_number(i, key);
		entries[i] = find_or_add(&table, key, 7);
		ck_assert_ptr_nonnull(entries[i]);
	}
	for (uint32_t i = 20; i < 40; i++) { /* same first slot as above, other hash */
		key_of_number(i, key);
		entries[i] = find_or_add(&table, key, 7 + slot_count * (i - 19));
		ck_assert_ptr_nonnull(entries[i]);
	}
	ck_assert_uint_eq(table.count, 40);
	for (uint32_t i = 0; i < 40; i++) {
		key_of_number(i, key);
		ck_assert_ptr_eq(find_or_add(&table, key, i < 20 ? 7 : 7 + slot_count * (i - 19)),
				 entries[i]);
		ck_assert_mem_eq(entries[i]->key, key, 16);
		for (uint32_t j = 0; j < i; j++)
			ck_assert_ptr_ne(entries[i], entries[j]);
	}
	ck_assert_uint_eq(table.count, 40);
	counter_table_free(&table);
}
END_TEST

/* Capacity keys fit; a further new key gets NULL, known keys are still found. */
START_TEST(full_table_refuses_only_new_keys)
{
	struct counter_table table;
	uint8_t key[COUNTER_TABLE_KEY_MAX];

	ck_assert_int_eq(counter_table_create(&table, 16, 16), 0);
	for (uint32_t i = 0; i < 16; i++) {
		key_of_number(i, key);
		ck_assert_ptr_nonnull(find_or_add(&table, key, counter_table_hash(key, 16)));
	}
	for (uint32_t i = 16; i < 100; i++) {
		key_of_number(i, key);
		ck_assert_ptr_null(find_or_add(&table, key, counter_table_hash(key, 16)));
		/* also when the whole probe chain collides */
		ck_assert_ptr_null(find_or_add(&table, key, 3));
	}
	ck_assert_uint_eq(table.count, 16);
	for (uint32_t i = 0; i < 16; i++) {
		key_of_number(i, key);
		ck_assert_ptr_eq(find_or_add(&table, key, counter_table_hash(key, 16)),
				 &table.entries[i]);
	}
	counter_table_free(&table);
}
END_TEST

/*
 * A reset (between windows) forgets every key and frees every slot: the next
 * window holds capacity keys again, none of them seen before, with zero counts.
 */
START_TEST(reset_forgets_everything_between_windows)
{
	struct counter_table table;
	uint8_t key[COUNTER_TABLE_KEY_MAX];

	ck_assert_int_eq(counter_table_create(&table, 100, 16), 0);
	for (uint32_t window = 0; window < 50; window++) {
		/* windows of different sizes, overlapping keys, sometimes a full table */
		uint32_t first = window * 37, count = window % 3 == 0 ? 100 : 10 + window;

		for (uint32_t i = first; i < first + count; i++) {
			struct counter_entry *entry;

			key_of_number(i, key);
			entry = find_or_add(&table, key, counter_table_hash(key, 16));
			ck_assert_ptr_nonnull(entry);
			/* nothing left from earlier windows */
			ck_assert_uint_eq(entry->packets, 0);
			entry->packets = window + 1;
		}
		key_of_number(first + count, key);
		if (count == 100)
			ck_assert_ptr_null(find_or_add(&table, key, counter_table_hash(key, 16)));
		ck_assert_uint_eq(table.count, count);
		counter_table_reset(&table);
		ck_assert_uint_eq(table.count, 0);
		for (uint32_t slot = 0; slot <= table.slot_mask; slot++)
			ck_assert_uint_eq(table.slots[slot], 0);
	}
	counter_table_free(&table);
}
END_TEST

/* A src_dst key: two numbered addresses back to back. */
static void
pair_key(uint32_t source, uint32_t destination, uint8_t key[COUNTER_TABLE_KEY_MAX])
{
	uint8_t second[COUNTER_TABLE_KEY_MAX];

	key_of_number(source, key);
	key_of_number(destination, second);
	memcpy(key + 16, second, 16);
}

/* src_dst keys: pairs that share either address, or are reversed, are different keys. */
START_TEST(pair_keys_compare_all_32_bytes)
{
	static const uint32_t pairs[][2] = {{1, 2}, {1, 3}, {4, 2}, {2, 1}};
	struct counter_entry *entries[4];
	struct counter_table table;
	uint8_t key[COUNTER_TABLE_KEY_MAX];

	ck_assert_int_eq(counter_table_create(&table, 16, 32), 0);
	for (unsigned round = 0; round < 2; round++) {
		for (unsigned i = 0; i < 4; i++) {
			struct counter_entry *entry;

			pair_key(pairs[i][0], pairs[i][1], key);
			/* one hash for all: only the key comparison tells them apart */
			entry = find_or_add(&table, key, 11);
			ck_assert_ptr_nonnull(entry);
			ck_assert_mem_eq(entry->key, key, 32);
			if (round == 0)
				entries[i] = entry;
			else
				ck_assert_ptr_eq(entry, entries[i]);
		}
	}
	ck_assert_uint_eq(table.count, 4);
	counter_table_free(&table);
}
END_TEST

/*
 * The hashes the table expects: what the parser stores as source_hash for a
 * 16-byte key (per_src_counter passes that through), and for a pair the one
 * per_src_counter computes from source_hash and the destination.
 */
START_TEST(hash_matches_the_parser_and_the_pair_rule)
{
	uint8_t key[COUNTER_TABLE_KEY_MAX];
	uint32_t hash;

	for (uint32_t i = 0; i < 1000; i++) {
		pair_key(i, i * 7919u, key);
		ck_assert_uint_eq(counter_table_hash(key, 16), packet_address_hash(key));
		ck_assert_uint_eq(counter_table_hash(key, 32),
				  packet_address_hash(key) ^
					  packet_address_hash(key + 16) * 0x9e3779b1u);
	}
	pair_key(1, 2, key);
	hash = counter_table_hash(key, 32);
	pair_key(2, 1, key);
	ck_assert_uint_ne(counter_table_hash(key, 32), hash); /* a reversed pair hashes apart */
}
END_TEST

START_TEST(create_refuses_bad_parameters)
{
	struct counter_table table;

	ck_assert_int_lt(counter_table_create(&table, 0, 16), 0);
	ck_assert_int_lt(counter_table_create(&table, 16, 20), 0);
	ck_assert_int_eq(counter_table_create(&table, 16, 32), 0);
	ck_assert_uint_eq(table.slot_mask + 1, 32); /* at most half full */
	counter_table_free(&table);
	counter_table_free(&table); /* freeing twice (a zeroed table) is harmless */
}
END_TEST

/* packet_address_format() writes IPv4 by hand: the same text as inet_ntop(). */
START_TEST(ipv4_text_equals_inet_ntop)
{
	uint8_t address[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char expected[INET_ADDRSTRLEN], text[64];

	for (unsigned value = 0; value < 256; value++) {
		for (unsigned position = 0; position < 4; position++) {
			/* every octet value in every position, next to 1-, 2- and 3-digit octets */
			for (unsigned i = 0; i < 4; i++)
				address[12 + i] = (uint8_t)(i == position ? value
									  : (position + i) * 67);
			ck_assert_ptr_nonnull(
				inet_ntop(AF_INET, address + 12, expected, sizeof(expected)));
			ck_assert_int_eq(packet_address_format(address, text, sizeof(text)),
					 (int)strlen(expected));
			ck_assert_str_eq(text, expected);
			/* exactly its length and the NUL fit; one byte less does not */
			ck_assert_int_eq(packet_address_format(address, text, strlen(expected) + 1),
					 (int)strlen(expected));
			ck_assert_int_lt(packet_address_format(address, text, strlen(expected)), 0);
		}
	}
}
END_TEST

Suite *
per_src_counter_table_suite(void)
{
	Suite *suite = suite_create("per_src_counter_table");
	TCase *table = tcase_create("counter_table");
	TCase *format = tcase_create("ipv4_format");

	tcase_add_test(table, new_keys_start_at_zero_and_are_found_again);
	tcase_add_test(table, repeated_keys_in_one_burst_share_an_entry);
	tcase_add_test(table, colliding_hashes_keep_keys_apart);
	tcase_add_test(table, full_table_refuses_only_new_keys);
	tcase_add_test(table, reset_forgets_everything_between_windows);
	tcase_add_test(table, pair_keys_compare_all_32_bytes);
	tcase_add_test(table, hash_matches_the_parser_and_the_pair_rule);
	tcase_add_test(table, create_refuses_bad_parameters);
	suite_add_tcase(suite, table);
	tcase_add_test(format, ipv4_text_equals_inet_ntop);
	suite_add_tcase(suite, format);
	return suite;
}
