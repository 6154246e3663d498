/* SPDX-License-Identifier: BSD-3-Clause */
/* The kernel rig of test_rig.h (helpers, not a suite). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <rte_mbuf.h>
#include <rte_ring_elem.h>

#include "config_compare.h"
#include "packet.h"
#include "test_rig.h"

/* Bound on the polls of test_rig_run_to_end() and test_rig_consume_input(). */
#define TEST_RIG_MAX_POLLS 10000000u

struct rte_mempool *
test_mempool(void)
{
	static struct rte_mempool *pool;

	if (pool == NULL)
		pool = rte_pktmbuf_pool_create("test_packets", 4095, 0, PACKET_META_PRIVATE_SIZE,
					       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	ck_assert_ptr_nonnull(pool);
	return pool;
}

void
test_ring_init(struct kernel_ring *ring, enum stream_type type, unsigned size)
{
	static unsigned serial;
	char name[32];

	memset(ring, 0, sizeof(*ring));
	snprintf(name, sizeof(name), "test_ring_%u", serial++);
	ring->type = type;
	ring->element_size = stream_element_size(type);
	ring->ring = rte_ring_create_elem(name, ring->element_size, size, SOCKET_ID_ANY,
					  RING_F_SP_ENQ | RING_F_SC_DEQ);
	ck_assert_ptr_nonnull(ring->ring);
	atomic_init(&ring->closed, false);
}

/* Frees @p ring, and the packets still in it (they would be lost to the shared pool). */
static void
ring_free(struct kernel_ring *ring)
{
	struct rte_mbuf *packet;

	if (ring->ring == NULL)
		return;
	if (ring->type == STREAM_PACKET)
		while (rte_ring_dequeue(ring->ring, (void **)&packet) == 0)
			rte_pktmbuf_free(packet);
	rte_ring_free(ring->ring);
	ring->ring = NULL;
}

static void
set_parameter(const struct kernel_ops *ops, void *params, const char *key, const char *value)
{
	char message[256];

	for (const struct config_field *field = ops->config_map; field->key != NULL; field++) {
		if (strcmp(field->key, key) == 0 && field->type == CONFIG_MAPPING) {
			/* "key=" says the mapping was written; its keys are set as "key.subkey=" */
			*(bool *)((char *)params + field->offset) = true;
			return;
		}
		if (strcmp(field->key, key) == 0) {
			ck_assert_msg(config_parse_value(field, value, params, message,
							 sizeof(message)) == 0,
				      "%s: %s", key, message);
			return;
		}
	}
	ck_abort_msg("no key %s", key);
}

void *
test_params(const struct kernel_ops *ops, const char *const *settings)
{
	void *params = calloc(1, ops->params_size > 0 ? ops->params_size : 1);

	ck_assert_ptr_nonnull(params);
	/* an entry's keys of a list are defaulted entry by entry, where the list is written */
	for (const struct config_field *field = ops->config_map; field->key != NULL; field++)
		if (field->default_value != NULL &&
		    config_field_list_parent(ops->config_map, field) == NULL)
			set_parameter(ops, params, field->key, field->default_value);
	for (; settings != NULL && *settings != NULL; settings++) {
		char key[64];
		const char *equals = strchr(*settings, '=');

		ck_assert_msg(equals != NULL, "not key=value: %s", *settings);
		snprintf(key, sizeof(key), "%.*s", (int)(equals - *settings), *settings);
		set_parameter(ops, params, key, equals + 1);
	}
	return params;
}

void
test_rig_open(struct test_rig *rig, const struct kernel_ops *ops, const char *name,
	      enum stream_type input_type, const char *const *settings, unsigned output_ring_size)
{
	test_rig_open_params(rig, ops, name, input_type, test_params(ops, settings),
			     output_ring_size);
}

void
test_rig_open_params(struct test_rig *rig, const struct kernel_ops *ops, const char *name,
		     enum stream_type input_type, void *params, unsigned output_ring_size)
{
	memset(rig, 0, sizeof(*rig));
	rig->mempool = test_mempool();
	rig->instance = (struct kernel_instance){
		.ops = ops, .params = params, .replica_count = 1,
		.mempool = rig->mempool, .input_count = 1, .inputs = rig->inputs,
		.output_type = ops->output_type,
	};
	rig->instance.name = kernel_intern_name(name);
	test_ring_init(&rig->input, input_type, TEST_RIG_INPUT_RING_SIZE);
	rig->inputs[0].ring = &rig->input;
	if (ops->output_type != STREAM_NONE) {
		test_ring_init(&rig->output, ops->output_type, output_ring_size);
		rig->output_rings[0] = &rig->output;
		rig->edge = (struct kernel_output_edge){.ring_count = 1, .rings = rig->output_rings};
		rig->instance.output_edge_count = 1;
		rig->instance.output_edges = &rig->edge;
	}
	ck_assert_int_eq(ops->init(&rig->instance), 0);
}

struct kernel_ring *
test_rig_add_input(struct test_rig *rig, enum stream_type type, unsigned size)
{
	struct kernel_ring *ring;

	ck_assert_uint_lt(rig->instance.input_count, TEST_RIG_MAX_INPUTS);
	ring = &rig->extra_inputs[rig->instance.input_count - 1];
	test_ring_init(ring, type, size);
	rig->inputs[rig->instance.input_count++].ring = ring;
	return ring;
}

void
test_rig_close(struct test_rig *rig)
{
	rig->instance.ops->destroy(&rig->instance);
	ring_free(&rig->input);
	for (unsigned i = 0; i < TEST_RIG_MAX_INPUTS - 1; i++)
		ring_free(&rig->extra_inputs[i]);
	ring_free(&rig->output);
	free(rig->instance.params);
	rig->instance.params = NULL;
}

void
test_rig_close_inputs(struct test_rig *rig)
{
	for (unsigned i = 0; i < rig->instance.input_count; i++)
		atomic_store(&rig->inputs[i].ring->closed, true);
}

bool
test_rig_poll(struct test_rig *rig)
{
	const struct kernel_ops *ops = rig->instance.ops;
	unsigned handled = ops->process(&rig->instance);

	if (handled == 0 && kernel_inputs_finished(&rig->instance) &&
	    (ops->flush == NULL || ops->flush(&rig->instance)))
		kernel_mark_finished(&rig->instance);
	return kernel_is_finished(&rig->instance);
}

static bool
inputs_empty(const struct test_rig *rig)
{
	for (unsigned i = 0; i < rig->instance.input_count; i++)
		if (!rte_ring_empty(rig->inputs[i].ring->ring))
			return false;
	return true;
}

void
test_rig_consume_input(struct test_rig *rig, bool drain)
{
	drain = drain && rig->drain != NULL;
	for (unsigned round = 0; round < TEST_RIG_MAX_POLLS / 10; round++) {
		unsigned handled = rig->instance.ops->process(&rig->instance);

		if (drain && round % 3 == 2)
			rig->drain(rig);
		if (handled == 0 && inputs_empty(rig))
			break;
	}
	if (drain)
		rig->drain(rig);
	if (!inputs_empty(rig))
		ck_abort_msg("the kernel does not consume its input");
}

void
test_rig_run_to_end(struct test_rig *rig)
{
	test_rig_close_inputs(rig);
	for (unsigned round = 0; round < TEST_RIG_MAX_POLLS && !kernel_is_finished(&rig->instance);
	     round++) {
		test_rig_poll(rig);
		if (rig->drain != NULL)
			rig->drain(rig);
	}
	ck_assert(kernel_is_finished(&rig->instance));
}

struct rte_mbuf *
test_rig_new_packet(struct test_rig *rig)
{
	struct rte_mbuf *packet = rte_pktmbuf_alloc(rig->mempool);

	ck_assert_ptr_nonnull(packet);
	memset(packet_meta(packet), 0, sizeof(struct packet_meta));
	return packet;
}

void
test_rig_send(struct test_rig *rig, struct rte_mbuf *packet)
{
	ck_assert_int_eq(rte_ring_enqueue(rig->input.ring, packet), 0);
}

void
test_address(const char *text, uint8_t address[16])
{
	memset(address, 0, 16);
	if (inet_pton(AF_INET, text, address + 12) == 1) {
		address[10] = address[11] = 0xff;
		return;
	}
	ck_assert_int_eq(inet_pton(AF_INET6, text, address), 1);
}

uint64_t
test_rig_stat(const struct test_rig *rig, const char *name)
{
	struct kernel_stat stats[KERNEL_MAX_STATS];
	unsigned count = rig->instance.ops->stats(&rig->instance, stats);

	for (unsigned i = 0; i < count; i++)
		if (strcmp(stats[i].name, name) == 0)
			return stats[i].value;
	ck_abort_msg("no statistic %s", name);
	return 0;
}
