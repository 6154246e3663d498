/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A rig that drives one kernel instance by hand on real DPDK objects, shared
 * by the kernel suites: the instance is wired between input rings the test
 * feeds (standing in for the producers) and an output ring the test drains,
 * and polled the way the runtime polls it. Helpers, not a suite.
 */
#ifndef JETSTREAM_TESTS_TEST_RIG_H
#define JETSTREAM_TESTS_TEST_RIG_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mempool.h>

#include "kernel_runtime.h"

#define TEST_RIG_INPUT_RING_SIZE 1024 /* of every input ring test_rig_open() makes */
#define TEST_RIG_MAX_INPUTS 2         /* the first one and test_rig_add_input()'s */

/* One kernel instance under test, the rings the test feeds and the ring it emits into. */
struct test_rig {
	struct kernel_instance instance;
	struct kernel_ring input;  /* the first input, of test_rig_open()'s input_type */
	struct kernel_ring output; /* no ring when the kernel has no output */
	struct kernel_ring extra_inputs[TEST_RIG_MAX_INPUTS - 1];
	struct kernel_ring *output_rings[1];
	struct kernel_input inputs[TEST_RIG_MAX_INPUTS];
	struct kernel_output_edge edge;
	struct rte_mempool *mempool; /* test_mempool(): where the test allocates its packets */
	/*
	 * Optional (set it after test_rig_open()): moves what the kernel emitted
	 * out of the output ring. test_rig_run_to_end() calls it after every
	 * poll, test_rig_consume_input() when asked to drain.
	 */
	void (*drain)(struct test_rig *rig);
};

/*
 * The packet mempool of the kernel tests (4095 mbufs with packet_meta room),
 * made on first use and kept for the whole run.
 */
struct rte_mempool *test_mempool(void);

/* Makes an empty, open single-producer single-consumer ring of @p size - 1 elements of @p type. */
void test_ring_init(struct kernel_ring *ring, enum stream_type type, unsigned size);

/*
 * Parameters of @p ops as the config loader makes them: the defaults, then
 * @p settings, "key=value" strings ending with NULL (or NULL for none).
 * Fails the test on an unknown key or a bad value. The caller frees them.
 */
void *test_params(const struct kernel_ops *ops, const char *const *settings);

/*
 * Wires a new instance of @p ops called @p name, with @p settings (see
 * test_params()), between one input ring of @p input_type and, when the kernel
 * has an output, an output ring of @p output_ring_size; then initializes it.
 */
void test_rig_open(struct test_rig *rig, const struct kernel_ops *ops, const char *name,
		   enum stream_type input_type, const char *const *settings,
		   unsigned output_ring_size);

/*
 * As test_rig_open(), with @p params the test made (test_params() and then
 * what settings cannot say, such as a list of mappings); the rig frees them.
 */
void test_rig_open_params(struct test_rig *rig, const struct kernel_ops *ops, const char *name,
			  enum stream_type input_type, void *params, unsigned output_ring_size);

/* Adds another input ring of @p type and @p size, as `input: [a, b]` gives. */
struct kernel_ring *test_rig_add_input(struct test_rig *rig, enum stream_type type,
				       unsigned size);

/* Destroys the instance and frees its rings (and the packets left in them) and parameters. */
void test_rig_close(struct test_rig *rig);

/* Marks every input ring closed: the producers will not enqueue again. */
void test_rig_close_inputs(struct test_rig *rig);

/*
 * One runtime step, for tests that drive the loop themselves: a poll, and
 * once the inputs are closed and drained and the poll handled nothing, the
 * end-of-input flush. Returns whether the instance has finished.
 */
bool test_rig_poll(struct test_rig *rig);

/* The instance's statistic @p name (the test fails when it reports none). */
uint64_t test_rig_stat(const struct test_rig *rig, const char *name);

/*
 * Polls (without the end-of-input flush) until the input rings are empty;
 * fails the test if the kernel does not consume them. When @p drain, calls
 * rig->drain every few polls and at the end, else the output may fill and
 * hold the input back.
 */
void test_rig_consume_input(struct test_rig *rig, bool drain);

/*
 * Closes the inputs and polls as the runtime would (calling rig->drain after
 * every poll) until the instance has consumed everything and finished; fails
 * the test if it does not finish.
 */
void test_rig_run_to_end(struct test_rig *rig);

/*
 * A packet from rig->mempool, its packet_meta zeroed for the test to fill;
 * fails the test if the pool is empty.
 */
struct rte_mbuf *test_rig_new_packet(struct test_rig *rig);

/* Enqueues @p packet on the first input ring; fails the test if the ring is full. */
void test_rig_send(struct test_rig *rig, struct rte_mbuf *packet);

/* The 16-byte address of IPv4 (as ::ffff:a.b.c.d) or IPv6 @p text; fails the test if neither. */
void test_address(const char *text, uint8_t address[16]);

#endif
