/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * outputs/kafka.c without a broker: the properties check, the buffer bound
 * and the drain timeout's purge, against a port where nothing listens.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <check.h>

#include "outputs/kafka.h"
#include "suites.h"

START_TEST(kafka_properties_checked_by_librdkafka)
{
	char message[512];

	ck_assert_int_eq(kafka_check_properties("compression.type=lz4\0linger.ms=5\0", message,
						sizeof(message)), 0);
	ck_assert_int_eq(kafka_check_properties("", message, sizeof(message)), 0);
	ck_assert_int_eq(kafka_check_properties("linger.mss=5\0", message, sizeof(message)),
			 -EINVAL);
	ck_assert_str_eq(message, "property 'linger.mss': No such configuration property: "
				  "\"linger.mss\"");
	ck_assert_int_eq(kafka_check_properties("enable.idempotence=false\0", message,
						sizeof(message)), -EINVAL);
	ck_assert_str_eq(message, "property 'enable.idempotence' is set by the sink itself (see "
				  "the delivery contract)");
	ck_assert_int_eq(kafka_check_properties("acks=1\0", message, sizeof(message)), -EINVAL);
	ck_assert_int_eq(kafka_check_properties("acks=-1\0", message, sizeof(message)), 0);
}
END_TEST

/* Nothing listens on port 1: messages wait, the bound holds, the drain timeout purges them. */
START_TEST(kafka_buffer_bound_and_drain_timeout)
{
	struct kafka_producer_settings settings = {
		.owner = "out", .brokers = "127.0.0.1:1", .topic = "t.{type}", .properties = "",
		.capacity = 1000, .drain_timeout_ns = 0,
	};
	struct kafka_producer *producer;
	struct delivery_figures figures;
	char message[512] = "", value[450];

	memset(value, 'x', sizeof(value));
	ck_assert_int_eq(kafka_producer_open(&producer, &settings, message, sizeof(message)), 0);
	ck_assert_uint_eq(kafka_producer_space(producer), 1000);
	ck_assert_int_eq(kafka_producer_send(producer, STREAM_FLOW, "10.0.0.1", 8, value, 450), 0);
	ck_assert_int_eq(kafka_producer_send(producer, STREAM_FLOW, "10.0.0.2", 8, value, 450), 0);
	ck_assert_uint_eq(kafka_producer_space(producer), 1000 - 2 * 458);
	ck_assert_int_eq(kafka_producer_send(producer, STREAM_FLOW, "10.0.0.3", 8, value, 450),
			 -ENOBUFS);
	kafka_producer_count_dropped(producer, KAFKA_DROP_SINK_FULL, 1);
	for (int round = 0; round < 500 && !kafka_producer_flush(producer); round++)
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	kafka_producer_figures(producer, &figures);
	ck_assert_uint_eq(figures.records, 0);
	ck_assert_uint_eq(figures.dropped_sink_full, 1);
	ck_assert_uint_eq(figures.dropped_drain_timeout, 2);
	ck_assert_uint_eq(figures.buffer_bytes, 0);
	ck_assert_uint_eq(figures.buffer_max_bytes, 916);
	kafka_producer_close(producer);
}
END_TEST

Suite *
kafka_suite(void)
{
	Suite *suite = suite_create("kafka");
	TCase *producer = tcase_create("producer");

	tcase_set_timeout(producer, 20);
	tcase_add_test(producer, kafka_properties_checked_by_librdkafka);
	tcase_add_test(producer, kafka_buffer_bound_and_drain_timeout);
	suite_add_tcase(suite, producer);
	return suite;
}
