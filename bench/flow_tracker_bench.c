/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flow_tracker on one core: Mpps, bytes per flow and the longest process()
 * call, at 1 K .. 10 M concurrent flows, uniform and Zipf(1.0) popularity.
 *
 * Packets reach the kernel as in the daemon: mbufs whose packet_meta is
 * filled in (here synthetically), enqueued on the kernel's input ring and
 * taken by process() in bursts of KERNEL_BURST. Filling them is outside the
 * timed region; only process() calls are timed, and each row's generator
 * line says what the filling costs and what the same bursts cost through a
 * process() that only receives and frees them (the floor the kernel's rate
 * includes). It also gives the median full burst's ns/packet: on a shared
 * machine a preempted call inflates the mean Mpps, not the median. The
 * kernel has no output edge, so records are counted and dropped (emission
 * is not the subject).
 *
 *   build/flow_tracker_bench [MAX_FLOWS]
 *       rows at 1 K, 100 K, 1 M, 10 M flows up to MAX_FLOWS (default
 *       10000000), uniform and Zipf, then the mass expiry of min(MAX_FLOWS, 1 M)
 *   build/flow_tracker_bench --row FLOWS uniform|zipf [RUNS]
 *       that row only, RUNS times (default 1), each on a fresh table
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_ring_elem.h>

#include "kernel_runtime.h"
#include "packet.h"

#define BATCH 1024
#define POOL_SIZE 4095
#define MEASURED_PACKETS 10000000u

extern const struct kernel_ops flow_tracker_kernel;

struct bench {
	struct kernel_instance instance;
	struct kernel_ring input;
	struct kernel_input inputs[1];
	struct rte_mempool *pool;
	uint64_t time_ns;
	uint64_t busy_cycles, packets, max_call_cycles;
	uint64_t generator_cycles;   /* timed feeds: allocating and filling mbufs, enqueueing */
	uint32_t *call_cycles;       /* timed full-burst calls, for the median (robust to preemption) */
	uint64_t call_count, call_capacity;
	bool no_op;                  /* process() only receives and frees (generator baseline) */
};

static uint64_t random_state = 88172645463325252ull;

static uint64_t
next_random(void)
{
	random_state ^= random_state << 13;
	random_state ^= random_state >> 7;
	random_state ^= random_state << 17;
	return random_state;
}

static double
random_unit(void)
{
	return (double)(next_random() >> 11) / 9007199254740992.0;
}

/* Zipf(1.0) rank in [0, flows): continuous inverse of P(rank <= k) = ln(k+1)/ln(n+1). */
static uint32_t
zipf_rank(uint32_t flows)
{
	double rank = pow((double)flows + 1.0, random_unit()) - 1.0;

	return rank >= flows ? flows - 1 : (uint32_t)rank;
}

static long
resident_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *stream = fopen("/proc/self/statm", "r");

	if (stream == NULL)
		return 0;
	if (fscanf(stream, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	fclose(stream);
	return resident * sysconf(_SC_PAGESIZE);
}

static void
fill_meta(struct packet_meta *meta, uint32_t flow, bool reverse, uint64_t time_ns)
{
	uint8_t client[16] = {[10] = 0xff, [11] = 0xff}, server[16] = {[10] = 0xff, [11] = 0xff};
	uint32_t client_address = 0x0b000000u + flow;
	uint16_t client_port = (uint16_t)(1024 + (flow & 0x3fff));

	memset(meta, 0, sizeof(*meta));
	client[12] = (uint8_t)(client_address >> 24);
	client[13] = (uint8_t)(client_address >> 16);
	client[14] = (uint8_t)(client_address >> 8);
	client[15] = (uint8_t)client_address;
	server[12] = 10;
	server[15] = (uint8_t)(1 + flow % 200);
	memcpy(reverse ? meta->destination_address : meta->source_address, client, 16);
	memcpy(reverse ? meta->source_address : meta->destination_address, server, 16);
	meta->source_port = reverse ? 443 : client_port;
	meta->destination_port = reverse ? client_port : 443;
	meta->ip_version = 4;
	meta->protocol = 6;
	meta->tcp_flags = 0x10;
	meta->flags = PACKET_FLAG_HAS_PORTS;
	meta->wire_length = 64 + (flow & 1023);
	meta->timestamp_ns = time_ns;
}

/* What every process() call pays before the kernel's own work: the ring and the mbuf frees. */
static unsigned
no_op_process(struct kernel_instance *instance)
{
	struct rte_mbuf *packets[KERNEL_BURST];
	unsigned received = kernel_receive(instance, packets, KERNEL_BURST, NULL);

	rte_pktmbuf_free_bulk(packets, received);
	return received;
}

/* Run process() until the input ring is empty, timing each call. */
static void
drain_input(struct bench *bench, bool timed)
{
	while (!rte_ring_empty(bench->input.ring)) {
		uint64_t start = rte_rdtsc();
		unsigned handled = bench->no_op ? no_op_process(&bench->instance)
						: flow_tracker_kernel.process(&bench->instance);
		uint64_t cycles = rte_rdtsc() - start;

		if (!timed)
			continue;
		bench->busy_cycles += cycles;
		bench->packets += handled;
		if (handled == KERNEL_BURST && bench->call_count < bench->call_capacity)
			bench->call_cycles[bench->call_count++] = (uint32_t)RTE_MIN(cycles, UINT32_MAX);
		if (cycles > bench->max_call_cycles)
			bench->max_call_cycles = cycles;
	}
}

/*
 * Feed @p count packets: flow i for i < flows in order when @p sequential,
 * else drawn uniformly or by Zipf rank. Time advances 100 ns per packet.
 */
static void
feed(struct bench *bench, uint32_t flows, uint64_t count, int pattern, bool timed)
{
	struct rte_mbuf *mbufs[BATCH];

	for (uint64_t sent = 0; sent < count; sent += BATCH) {
		unsigned batch = (unsigned)RTE_MIN((uint64_t)BATCH, count - sent);
		uint64_t start = rte_rdtsc();

		if (rte_pktmbuf_alloc_bulk(bench->pool, mbufs, batch) != 0) {
			fprintf(stderr, "mempool exhausted\n");
			exit(1);
		}
		for (unsigned i = 0; i < batch; i++) {
			uint32_t flow = pattern == 0 ? (uint32_t)((sent + i) % flows)
				      : pattern == 1 ? (uint32_t)(next_random() % flows)
						     : zipf_rank(flows);

			bench->time_ns += 100;
			fill_meta(packet_meta(mbufs[i]), flow, (next_random() & 1) != 0,
				  bench->time_ns);
		}
		rte_ring_enqueue_bulk(bench->input.ring, (void **)mbufs, batch, NULL);
		if (timed)
			bench->generator_cycles += rte_rdtsc() - start;
		drain_input(bench, timed);
	}
}

static void
bench_open(struct bench *bench, uint32_t max_flows, const char *idle_timeout)
{
	static unsigned serial;
	char name[32], message[256];
	void *params = calloc(1, flow_tracker_kernel.params_size);
	const char *values[] = {idle_timeout, "1d", NULL};

	memset(bench, 0, sizeof(*bench));
	for (const struct config_field *field = flow_tracker_kernel.config_map; field->key != NULL;
	     field++) {
		char text[32];
		const char *value = field->default_value;

		if (strcmp(field->key, "idle_timeout") == 0)
			value = values[0];
		else if (strcmp(field->key, "active_timeout") == 0)
			value = values[1];
		else if (strcmp(field->key, "max_flows") == 0) {
			snprintf(text, sizeof(text), "%u", max_flows);
			value = text;
		}
		if (config_parse_value(field, value, params, message, sizeof(message)) != 0) {
			fprintf(stderr, "%s: %s\n", field->key, message);
			exit(1);
		}
	}
	snprintf(name, sizeof(name), "bench_input_%u", serial++);
	bench->input.ring = rte_ring_create_elem(name, sizeof(void *), BATCH * 2, SOCKET_ID_ANY,
						 RING_F_SP_ENQ | RING_F_SC_DEQ);
	bench->input.type = STREAM_PACKET;
	bench->input.element_size = sizeof(void *);
	bench->inputs[0].ring = &bench->input;
	bench->instance = (struct kernel_instance){
		.ops = &flow_tracker_kernel, .name = "bench", .params = params, .replica_count = 1,
		.input_count = 1, .inputs = bench->inputs, .output_type = STREAM_FLOW,
	};
	if (bench->input.ring == NULL || flow_tracker_kernel.init(&bench->instance) != 0) {
		fprintf(stderr, "cannot set up: %s\n", bench->instance.error);
		exit(1);
	}
}

static double
microseconds(uint64_t cycles)
{
	return (double)cycles * 1e6 / (double)rte_get_tsc_hz();
}

static int
compare_cycles(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* ns per packet of the median full-burst call: a call preempted by another process does not move it. */
static double
median_ns_per_packet(struct bench *bench)
{
	if (bench->call_count == 0)
		return 0;
	qsort(bench->call_cycles, bench->call_count, sizeof(*bench->call_cycles), compare_cycles);
	return microseconds(bench->call_cycles[bench->call_count / 2]) * 1e3 / KERNEL_BURST;
}

static void
bench_close(struct bench *bench)
{
	free(bench->call_cycles);
	flow_tracker_kernel.destroy(&bench->instance);
	rte_ring_free(bench->input.ring);
	free(bench->instance.params);
}

static uint64_t
stat_value(const struct bench *bench, const char *name)
{
	struct kernel_stat stats[KERNEL_MAX_STATS];
	unsigned count = flow_tracker_kernel.stats(&bench->instance, stats);

	for (unsigned i = 0; i < count; i++)
		if (strcmp(stats[i].name, name) == 0)
			return stats[i].value;
	return 0;
}

/* Keep each timed full-burst call's cycles from now on. */
static void
bench_track_calls(struct bench *bench)
{
	bench->call_capacity = MEASURED_PACKETS / KERNEL_BURST + 1;
	bench->call_cycles = malloc(bench->call_capacity * sizeof(*bench->call_cycles));
	if (bench->call_cycles == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
}

static const char *const pattern_names[] = {"sequential", "uniform", "zipf"};

/*
 * One row: populate @p flows flows, then time MEASURED_PACKETS packets over
 * them; then the same packets through no_op_process() on a fresh random
 * sequence, for the generator line.
 */
static void
run_row(struct rte_mempool *pool, uint32_t flows, int pattern)
{
	struct bench bench, no_op;
	long resident_before = resident_bytes();
	uint64_t saved_random = random_state;

	bench_open(&bench, flows, "1d");
	bench.pool = pool;
	feed(&bench, flows, flows, 0, false); /* every flow exists before timing */
	long resident_delta = resident_bytes() - resident_before;
	bench_track_calls(&bench);
	feed(&bench, flows, MEASURED_PACKETS, pattern, true);
	if (stat_value(&bench, "flows_created") != flows || stat_value(&bench, "records") != 0) {
		/* every measured packet belongs to a flow made before: anything else is a bug */
		fprintf(stderr, "flows_created %lu, records %lu: expected %u and 0\n",
			(unsigned long)stat_value(&bench, "flows_created"),
			(unsigned long)stat_value(&bench, "records"), flows);
		exit(1);
	}
	printf("%10u  %-7s  %7.2f  %10.1f  %10.1f  %9.1f\n", flows, pattern_names[pattern],
	       (double)bench.packets / microseconds(bench.busy_cycles),
	       (double)stat_value(&bench, "table_bytes") / flows, (double)resident_delta / flows,
	       microseconds(bench.max_call_cycles));
	fflush(stdout);

	bench_open(&no_op, flows, "1d");
	no_op.pool = pool;
	no_op.no_op = true;
	bench_track_calls(&no_op);
	random_state = saved_random;
	feed(&no_op, flows, MEASURED_PACKETS, pattern, true);
	printf("generator: filling %.1f ns/packet (untimed); receive+free only %.1f ns/packet "
	       "(%.1f Mpps), kernel %.1f ns/packet; median burst: kernel %.1f, receive+free %.1f "
	       "ns/packet\n",
	       microseconds(no_op.generator_cycles) * 1e3 / (double)MEASURED_PACKETS,
	       microseconds(no_op.busy_cycles) * 1e3 / (double)no_op.packets,
	       (double)no_op.packets / microseconds(no_op.busy_cycles),
	       microseconds(bench.busy_cycles) * 1e3 / (double)bench.packets,
	       median_ns_per_packet(&bench), median_ns_per_packet(&no_op));
	fflush(stdout);
	bench_close(&no_op);
	bench_close(&bench);
}

/*
 * Worst case for expiry: a full table whose flows all go idle at once.
 * Reports the longest process() call while they drain.
 */
static void
run_mass_expiry(struct rte_mempool *pool, uint32_t flows)
{
	struct bench bench;

	bench_open(&bench, flows, "1s");
	bench.pool = pool;
	feed(&bench, flows, flows, 0, false);
	bench.time_ns += 2000000000ull; /* everything is now idle */
	feed(&bench, flows, 4 * (uint64_t)flows, 1, true);
	printf("mass expiry of %u flows: longest process() %.1f us, expiry_work_max %lu, "
	       "%.2f Mpps while expiring\n", flows, microseconds(bench.max_call_cycles),
	       (unsigned long)stat_value(&bench, "expiry_work_max"),
	       (double)bench.packets / microseconds(bench.busy_cycles));
	bench_close(&bench);
}

static void
usage(void)
{
	fprintf(stderr, "usage: flow_tracker_bench [MAX_FLOWS]\n"
			"       flow_tracker_bench --row FLOWS uniform|zipf [RUNS]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	char *arguments[] = {"flow_tracker_bench", "--no-huge", "--no-shconf", "--no-pci", "-m",
			     "256", "--lcores", "0", "--log-level", "error", NULL};
	uint32_t largest = 10000000u, row_flows = 0;
	const uint32_t sizes[] = {1000, 100000, 1000000, 10000000};
	int row_pattern = 0;
	unsigned runs = 1;
	struct rte_mempool *pool;

	if (argc > 1 && strcmp(argv[1], "--row") == 0) {
		if (argc < 4 || argc > 5)
			usage();
		row_flows = (uint32_t)strtoul(argv[2], NULL, 10);
		row_pattern = strcmp(argv[3], "uniform") == 0 ? 1 : strcmp(argv[3], "zipf") == 0 ? 2 : 0;
		runs = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 1;
		if (row_flows == 0 || row_pattern == 0 || runs == 0)
			usage();
	} else if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		usage();
	} else if (argc == 2) {
		largest = (uint32_t)strtoul(argv[1], NULL, 10);
	}
	if (rte_eal_init((int)RTE_DIM(arguments) - 1, arguments) < 0) {
		fprintf(stderr, "cannot start EAL\n");
		return 1;
	}
	pool = rte_pktmbuf_pool_create("bench_packets", POOL_SIZE, 256, PACKET_META_PRIVATE_SIZE,
				       RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL) {
		fprintf(stderr, "cannot create the mempool\n");
		return 1;
	}
	printf("%10s  %-7s  %7s  %10s  %10s  %9s\n", "flows", "pattern", "Mpps", "table B/fl",
	       "RSS B/fl", "max us");
	if (row_flows != 0) {
		for (unsigned run = 0; run < runs; run++)
			run_row(pool, row_flows, row_pattern);
		rte_eal_cleanup();
		return 0;
	}
	for (unsigned s = 0; s < RTE_DIM(sizes) && sizes[s] <= largest; s++)
		for (int pattern = 1; pattern <= 2; pattern++)
			run_row(pool, sizes[s], pattern);
	run_mass_expiry(pool, RTE_MIN(largest, 1000000u));
	rte_eal_cleanup();
	return 0;
}
