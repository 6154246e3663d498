/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The delivery core (outputs/delivery.h) with a scripted transport: batches
 * close at batch_rows lines or batch_delay, per destination; a retried batch
 * is resent identical and counted once; refusals, a full buffer and the
 * drain timeout are counted where the contract says. And the ClickHouse
 * format's pure parts: names, the DDL, the flattening of nested lines.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "clock.h"
#include "outputs/clickhouse.h"
#include "outputs/delivery.h"
#include "suites.h"

#define MAX_CALLS 16
/* Drain timeouts: longer than any test takes; and the one test_drain_timeout waits for. */
#define DRAIN_LONG (5 * 1000000000ull)
#define DRAIN_SHORT (300 * 1000000ull)

/* What the delivery thread sent, and what each attempt answers (then DELIVERY_SENT). */
struct fake_transport {
	pthread_mutex_t lock;
	int results[MAX_CALLS];
	unsigned result_count;
	unsigned calls;
	char destinations[MAX_CALLS][32];
	char data[MAX_CALLS][256];
	unsigned rows[MAX_CALLS];
	uint64_t call_ns[MAX_CALLS]; /* CLOCK_MONOTONIC of each call */
	bool always_retry;
};

static int
fake_send(void *transport, const char *destination, const char *data, size_t length,
	  unsigned rows, char *error, size_t error_size)
{
	struct fake_transport *fake = transport;
	int result;

	pthread_mutex_lock(&fake->lock);
	/* no ck_assert here: this is the delivery thread; the test checks calls <= MAX_CALLS */
	if (fake->calls >= MAX_CALLS) {
		fake->calls++;
		pthread_mutex_unlock(&fake->lock);
		return DELIVERY_SENT;
	}
	fake->call_ns[fake->calls] = clock_monotonic_ns();
	snprintf(fake->destinations[fake->calls], sizeof(fake->destinations[0]), "%s", destination);
	snprintf(fake->data[fake->calls], sizeof(fake->data[0]), "%.*s", (int)length, data);
	fake->rows[fake->calls] = rows;
	result = fake->always_retry ? DELIVERY_RETRY
		 : fake->calls < fake->result_count ? fake->results[fake->calls] : DELIVERY_SENT;
	fake->calls++;
	pthread_mutex_unlock(&fake->lock);
	snprintf(error, error_size, "scripted %d", result);
	return result;
}

static const char *const names[] = {"first", "second"};

static struct delivery *
open_delivery(struct fake_transport *fake, unsigned batch_rows, uint64_t batch_delay_ns,
	      uint64_t capacity, uint64_t drain_timeout_ns)
{
	struct delivery_settings settings = {
		.owner = "test", .capacity = capacity, .batch_rows = batch_rows,
		.batch_delay_ns = batch_delay_ns, .drain_timeout_ns = drain_timeout_ns,
		.destination_count = 2, .destinations = names, .send = fake_send, .transport = fake,
	};
	struct delivery *delivery = NULL;
	char message[128];

	pthread_mutex_init(&fake->lock, NULL);
	ck_assert_int_eq(delivery_open(&delivery, &settings, message, sizeof(message)), 0);
	return delivery;
}

static void
sleep_ms(unsigned milliseconds)
{
	struct timespec duration = {0, (long)milliseconds * 1000000};

	nanosleep(&duration, NULL);
}

/* Wait (at most 5 s) until the delivery thread has made @p calls calls. @return the calls made. */
static unsigned
wait_calls(struct fake_transport *fake, unsigned calls)
{
	unsigned made = 0;

	for (unsigned i = 0; i < 500; i++) {
		pthread_mutex_lock(&fake->lock);
		made = fake->calls;
		pthread_mutex_unlock(&fake->lock);
		if (made >= calls)
			break;
		sleep_ms(10);
	}
	return made;
}

/* Flush until done (at most 5 s). */
static void
drain(struct delivery *delivery)
{
	for (unsigned i = 0; i < 500 && !delivery_flush(delivery); i++)
		sleep_ms(10);
	ck_assert(delivery_flush(delivery));
}

START_TEST(test_batches_by_rows_and_destination)
{
	struct fake_transport fake = {0};
	struct delivery *delivery = open_delivery(&fake, 3, 3600 * 1000000000ull, 1 << 20, DRAIN_LONG);
	struct delivery_figures figures;

	delivery_append(delivery, 0, "a\nb\n", 4);
	delivery_append(delivery, 1, "x\n", 2);
	delivery_append(delivery, 0, "c\nd\ne\nf\ng\n", 10);
	/* the two full batches go without a flush; the third has a row of 3 and an hour's delay */
	ck_assert_uint_eq(wait_calls(&fake, 2), 2);
	drain(delivery);
	ck_assert_uint_eq(fake.calls, 4);
	ck_assert_str_eq(fake.destinations[0], "first");
	ck_assert_str_eq(fake.data[0], "a\nb\nc\n");
	ck_assert_uint_eq(fake.rows[0], 3);
	ck_assert_str_eq(fake.data[1], "d\ne\nf\n");
	ck_assert_str_eq(fake.destinations[2], "first"); /* at flush, in destination order */
	ck_assert_str_eq(fake.data[2], "g\n");
	ck_assert_str_eq(fake.destinations[3], "second");
	ck_assert_str_eq(fake.data[3], "x\n");
	delivery_figures(delivery, &figures);
	ck_assert_uint_eq(figures.records, 8);
	ck_assert_uint_eq(figures.batches, 4);
	ck_assert_uint_eq(figures.bytes, 16);
	ck_assert_uint_eq(figures.buffer_bytes, 0);
	ck_assert_uint_eq(figures.buffer_max_bytes, 16);
	ck_assert_uint_eq(figures.dropped_records, 0);
	ck_assert_uint_eq(figures.last_error_seconds, 0);
	delivery_close(delivery);
}
END_TEST

START_TEST(test_batch_delay)
{
	struct fake_transport fake = {0};
	struct delivery *delivery = open_delivery(&fake, 1000, 50 * 1000000ull, 1 << 20, DRAIN_LONG);

	uint64_t appended_ns = clock_monotonic_ns();

	delivery_append(delivery, 1, "late\n", 5);
	ck_assert_uint_eq(wait_calls(&fake, 1), 1); /* without a flush: at its delay */
	pthread_mutex_lock(&fake.lock);
	ck_assert_uint_ge(fake.call_ns[0] - appended_ns, 50 * 1000000ull); /* not before it */
	ck_assert_str_eq(fake.data[0], "late\n");
	pthread_mutex_unlock(&fake.lock);
	delivery_close(delivery);
}
END_TEST

START_TEST(test_retry_resends_identical_once)
{
	struct fake_transport fake = {.results = {DELIVERY_RETRY, DELIVERY_RETRY},
				      .result_count = 2};
	struct delivery *delivery = open_delivery(&fake, 2, 3600 * 1000000000ull, 1 << 20, DRAIN_LONG);
	struct delivery_figures figures;
	uint64_t start = clock_monotonic_ns();

	delivery_append(delivery, 0, "one\ntwo\n", 8);
	delivery_append(delivery, 0, "three\n", 6);
	drain(delivery);
	/* 100 ms then 200 ms of backoff before the third attempt */
	ck_assert_uint_ge(clock_monotonic_ns() - start, 300 * 1000000ull);
	ck_assert_uint_eq(fake.calls, 4);
	for (unsigned c = 0; c < 3; c++)
		ck_assert_str_eq(fake.data[c], "one\ntwo\n");
	ck_assert_str_eq(fake.data[3], "three\n");
	delivery_figures(delivery, &figures);
	ck_assert_uint_eq(figures.records, 3);
	ck_assert_uint_eq(figures.batches, 2);
	ck_assert_uint_eq(figures.retries, 2);
	ck_assert_uint_gt(figures.last_error_seconds, 0);
	delivery_close(delivery);
}
END_TEST

/* Refused lines are counted, not retried. */
START_TEST(test_refused)
{
	struct fake_transport fake = {.results = {DELIVERY_REFUSED}, .result_count = 1};
	struct delivery *delivery = open_delivery(&fake, 2, 3600 * 1000000000ull, 16, DRAIN_LONG);
	struct delivery_figures figures;

	delivery_append(delivery, 0, "r1\nr2\n", 6);
	drain(delivery);
	delivery_figures(delivery, &figures);
	ck_assert_uint_eq(fake.calls, 1);
	ck_assert_uint_eq(figures.dropped_refused, 2);
	ck_assert_uint_eq(figures.dropped_records, 2);
	ck_assert_uint_eq(figures.records, 0);
	ck_assert_uint_eq(figures.retries, 0);
	delivery_close(delivery);
}
END_TEST

/*
 * The newest lines that do not fit are dropped. Before any flush: after
 * one, every batch closes at once (a flush is the drain at a stop), so a
 * line would not wait for its batch.
 */
START_TEST(test_full)
{
	struct fake_transport fake = {0};
	struct delivery *delivery = open_delivery(&fake, 2, 3600 * 1000000000ull, 16, DRAIN_LONG);
	struct delivery_figures figures;

	delivery_append(delivery, 0, "ok\n", 3); /* one row of two: waits for its batch */
	ck_assert_uint_eq(delivery_space(delivery), 13);
	delivery_append(delivery, 1, "0123456789abc\n", 14); /* 3 + 14 > 16: dropped */
	delivery_append(delivery, 1, "fits\n", 5);
	drain(delivery);
	delivery_figures(delivery, &figures);
	ck_assert_uint_eq(figures.dropped_sink_full, 1);
	ck_assert_uint_eq(figures.dropped_records, 1);
	ck_assert_uint_eq(figures.records, 2);
	ck_assert_uint_eq(fake.calls, 2);
	delivery_close(delivery);
}
END_TEST

START_TEST(test_drain_timeout)
{
	struct fake_transport fake = {.always_retry = true};
	struct delivery *delivery = open_delivery(&fake, 10, 3600 * 1000000000ull, 1 << 20, DRAIN_SHORT);
	struct delivery_figures figures;
	uint64_t start = clock_monotonic_ns();

	delivery_append(delivery, 0, "x\ny\n", 4);
	delivery_append(delivery, 1, "z\n", 2);
	ck_assert(!delivery_flush(delivery));
	ck_assert(!delivery_past_deadline(delivery));
	drain(delivery);
	ck_assert_uint_lt(clock_monotonic_ns() - start, 1000 * 1000000ull);
	ck_assert(delivery_past_deadline(delivery));
	delivery_figures(delivery, &figures);
	ck_assert_uint_eq(figures.dropped_drain_timeout, 3);
	ck_assert_uint_eq(figures.records, 0);
	ck_assert_uint_eq(figures.buffer_bytes, 0);
	delivery_close(delivery);
}
END_TEST

START_TEST(test_clickhouse_names)
{
	ck_assert(clickhouse_name_valid("{type}", true));
	ck_assert(clickhouse_name_valid("jetstream_{type}_v1", true));
	ck_assert(!clickhouse_name_valid("{type}", false));
	ck_assert(!clickhouse_name_valid("jet-stream", true));
	ck_assert(!clickhouse_name_valid("1flows", true));
	ck_assert(!clickhouse_name_valid("", true));
	ck_assert(!clickhouse_name_valid("a`b", false));
}
END_TEST

START_TEST(test_clickhouse_create_text)
{
	char text[4096];
	const char *expected =
		"CREATE TABLE IF NOT EXISTS `db`.`src_count` (`kernel` String, `src` String, "
		"`dst` String, `pkts` UInt64, `bytes` UInt64, `start` Decimal128(9), `start_ns` "
		"UInt64 MATERIALIZED toUInt64(`start` * 1000000000), `end` Decimal128(9), `end_ns` "
		"UInt64 MATERIALIZED toUInt64(`end` * 1000000000)) ENGINE = MergeTree PARTITION BY "
		"toYYYYMMDD(toDateTime(toUInt32(`end`))) ORDER BY (`kernel`, `end`)";
	int length = clickhouse_create_text(STREAM_SRC_COUNT, "db", "src_count", text, sizeof(text));

	ck_assert_str_eq(text, expected);
	ck_assert_int_eq(length, (int)strlen(expected));
	clickhouse_create_text(STREAM_FLOW, "db", "flow", text, sizeof(text));
	ck_assert_ptr_nonnull(strstr(text, "`rev_bytes` UInt64, `ip_bytes` UInt64, `rev_ip_bytes` UInt64, `first` Decimal128(9)"));
	ck_assert_ptr_nonnull(strstr(text, "toUInt32(`last`)"));
	clickhouse_create_text(STREAM_PROTO_STATS, "db", "p", text, sizeof(text));
	ck_assert_ptr_nonnull(strstr(text, "`sizes_1519_plus` UInt64"));
	ck_assert_int_eq(clickhouse_create_text(STREAM_PACKET, "db", "x", text, sizeof(text)), 0);
}
END_TEST

START_TEST(test_clickhouse_flatten)
{
	const char *line = "{\"type\":\"proto_stats\",\"kernel\":\"s\",\"start\":1.000000000,"
			   "\"l3\":{\"ipv4\":{\"pkts\":1,\"bytes\":60}},\"sizes\":{\"64\":1,"
			   "\"65-127\":0,\"1519+\":2},\"name\":\"a\\\"},b\",\"malformed\":0}\n";
	const char *expected = "{\"type\":\"proto_stats\",\"kernel\":\"s\",\"start\":1.000000000,"
			       "\"l3_ipv4_pkts\":1,\"l3_ipv4_bytes\":60,\"sizes_64\":1,"
			       "\"sizes_65_127\":0,\"sizes_1519_plus\":2,\"name\":\"a\\\"},b\","
			       "\"malformed\":0}\n";
	char flat[512];
	size_t length = clickhouse_flatten_line(line, strlen(line), flat, sizeof(flat));

	ck_assert_uint_eq(length, strlen(expected));
	flat[length] = '\0';
	ck_assert_str_eq(flat, expected);
	ck_assert_uint_eq(clickhouse_flatten_line(line, strlen(line), flat, 20), 0);
	ck_assert_uint_eq(clickhouse_flatten_line("{\"a\":{", 6, flat, sizeof(flat)), 0);
}
END_TEST

Suite *
delivery_suite(void)
{
	Suite *suite = suite_create("delivery");
	TCase *cases = tcase_create("delivery");

	tcase_set_timeout(cases, 20);
	tcase_add_test(cases, test_batches_by_rows_and_destination);
	tcase_add_test(cases, test_batch_delay);
	tcase_add_test(cases, test_retry_resends_identical_once);
	tcase_add_test(cases, test_refused);
	tcase_add_test(cases, test_full);
	tcase_add_test(cases, test_drain_timeout);
	tcase_add_test(cases, test_clickhouse_names);
	tcase_add_test(cases, test_clickhouse_create_text);
	tcase_add_test(cases, test_clickhouse_flatten);
	suite_add_tcase(suite, cases);
	return suite;
}
