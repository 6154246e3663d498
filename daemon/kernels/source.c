/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * source: the kernel that brings packets into the graph, from a pcap/pcapng
 * file, a DPDK port or a generator. This file holds the parameters and
 * dispatch; the readers are in source_pcap.c, source_port.c and
 * source_synthetic.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "kernels/source.h"

static const char *const queue_mapping_names[] = {
	[SOURCE_QUEUES_DIRECT] = "direct", [SOURCE_QUEUES_SOFTWARE] = "software", NULL,
};
static const char *const source_reader_names[] = {"auto", "libpcap", NULL};

static const struct config_field source_fields[] = {
	{.key = "pcap", .type = CONFIG_STRING_LIST, .offset = offsetof(struct source_params, pcap),
	 .size = sizeof(((struct source_params *)0)->pcap),
	 .description = "pcap or pcapng file to read (finite source); or a glob, or a list of files "
			"and globs, read one after the other as one stream (a glob's files in name "
			"order, a file named twice read twice)", .change = CONFIG_CHANGE_REPLACE},
	{.key = "reader", .type = CONFIG_CHOICE, .offset = offsetof(struct source_params, reader),
	 .choices = source_reader_names, .default_value = "auto",
	 .description = "pcap: `auto` maps classic pcap files and hands out their frames in place, "
			"libpcap reads the rest; `libpcap` reads every file with libpcap (to compare "
			"or debug)", .change = CONFIG_CHANGE_REPLACE},
	{.key = "port", .type = CONFIG_STRING, .offset = offsetof(struct source_params, port),
	 .size = sizeof(((struct source_params *)0)->port),
	 .description = "DPDK device: a PCI address or a vdev string such as "
			"`net_af_packet0,iface=eth1` (live source)", .change = CONFIG_CHANGE_RESTART, .exclusive = true},
	{.key = "loop", .type = CONFIG_UNSIGNED, .offset = offsetof(struct source_params, loop),
	 .default_value = "1", .minimum = 1, .special_word = "forever",
	 .special_value = SOURCE_LOOP_FOREVER,
	 .description = "pcap: read the file this many times (`forever` = until stopped); "
			"timestamps of each pass follow the previous one"},
	{.key = "rate_pps", .type = CONFIG_UNSIGNED, .offset = offsetof(struct source_params, rate_pps),
	 .default_value = "0", .description = "pcap: packets per second to pace at, 0 = as fast as "
					      "possible"},
	{.key = "preload", .type = CONFIG_BOOL, .offset = offsetof(struct source_params, preload),
	 .default_value = "false",
	 .description = "pcap: read the whole file into memory at start and replay it from there "
			"(with `loop:`), to measure processing rather than the disk; needs memory for "
			"the whole file", .change = CONFIG_CHANGE_REPLACE},
	{.key = "queues", .type = CONFIG_UNSIGNED, .offset = offsetof(struct source_params, queues),
	 .default_value = "1", .minimum = 1, .maximum = 64,
	 .description = "port: RSS receive queues, one source replica per queue", .change = CONFIG_CHANGE_RESTART},
	{.key = "queue_mapping", .type = CONFIG_CHOICE,
	 .offset = offsetof(struct source_params, queue_mapping), .choices = queue_mapping_names,
	 .default_value = "direct",
	 .description = "port with `queues:` N feeding a kernel of N replicas: `direct` lets queue i "
			"feed replica i on its lcore, with no software hash, where the device spreads "
			"packets the way that kernel partitions them (else the software partition "
			"stays, and the log says why); `software` always partitions in software",
	 .change = CONFIG_CHANGE_RESTART},
	{.key = "synthetic", .type = CONFIG_MAPPING,
	 .offset = offsetof(struct source_params, synthetic),
	 .description = "generate packets on the worker lcore instead (benchmarks, soak tests): "
			"Ethernet + IPv4/IPv6 + UDP/TCP frames, parsed like received ones, "
			"stamped with the wall clock; the keys below", .change = CONFIG_CHANGE_REPLACE},
#define SYNTHETIC_KEY(name) offsetof(struct source_params, synthetic_params.name)
	{.key = "synthetic.packets", .type = CONFIG_UNSIGNED, .offset = SYNTHETIC_KEY(packets),
	 .default_value = "0",
	 .description = "packets to make, then the source finishes; 0 = endless (until stopped)", .change = CONFIG_CHANGE_REPLACE},
	{.key = "synthetic.sources", .type = CONFIG_UNSIGNED, .offset = SYNTHETIC_KEY(sources),
	 .default_value = "1024", .minimum = 1, .maximum = SYNTHETIC_MAX_SOURCES,
	 .description = "distinct source addresses: IPv4 source i is 10.0.0.0 + i, IPv6 source i "
			"is 2001:db8::i", .change = CONFIG_CHANGE_REPLACE},
	{.key = "synthetic.flows", .type = CONFIG_UNSIGNED, .offset = SYNTHETIC_KEY(flows),
	 .default_value = "0", .maximum = SYNTHETIC_MAX_FLOWS,
	 .description = "distinct 5-tuples (flow i comes from source i modulo `sources`), at "
			"least `sources`; 0 = one per source", .change = CONFIG_CHANGE_REPLACE},
	{.key = "synthetic.zipf", .type = CONFIG_REAL, .offset = SYNTHETIC_KEY(zipf),
	 .default_value = "0", .maximum = 10,
	 .description = "flow popularity: flow i is picked with weight 1/(i+1)^zipf; 0 = uniform", .change = CONFIG_CHANGE_REPLACE},
	{.key = "synthetic.size", .type = CONFIG_UNSIGNED_LIST, .offset = SYNTHETIC_KEY(sizes),
	 .default_value = "64", .minimum = 64, .maximum = 2048,
	 .description = "frame length in bytes as Wireshark's frame.len (no FCS), or a list of "
			"lengths taken in turn", .change = CONFIG_CHANGE_REPLACE},
	{.key = "synthetic.ipv6_share", .type = CONFIG_REAL, .offset = SYNTHETIC_KEY(ipv6_share),
	 .default_value = "0", .maximum = 1,
	 .description = "share of the sources that are IPv6 (0 to 1)", .change = CONFIG_CHANGE_REPLACE},
	{.key = "synthetic.rate_pps", .type = CONFIG_UNSIGNED, .offset = SYNTHETIC_KEY(rate_pps),
	 .default_value = "0", .description = "packets per second to pace at, 0 = as fast as the "
					      "worker can", .change = CONFIG_CHANGE_REPLACE},
	{.key = "synthetic.seed", .type = CONFIG_UNSIGNED, .offset = SYNTHETIC_KEY(seed),
	 .default_value = "1",
	 .description = "the same seed gives the same packet sequence", .change = CONFIG_CHANGE_REPLACE},
#undef SYNTHETIC_KEY
	{.key = NULL},
};

/* Keys that belong to one mode only: written for another, they are an error. */
static const struct {
	const char *key;
	enum source_mode mode;
} mode_keys[] = {
	{"loop", SOURCE_PCAP}, {"rate_pps", SOURCE_PCAP}, {"preload", SOURCE_PCAP},
	{"reader", SOURCE_PCAP},
	{"queues", SOURCE_PORT}, {"queue_mapping", SOURCE_PORT},
};

static const char *const mode_names[] = {
	[SOURCE_PCAP] = "pcap", [SOURCE_PORT] = "port", [SOURCE_SYNTHETIC] = "synthetic",
};

const char *
source_mode_key(enum source_mode mode)
{
	return mode_names[mode];
}

static void
source_check(const void *params_pointer, struct config_check_context *context)
{
	const struct source_params *params = params_pointer;
	enum source_mode mode = source_mode_of(params);
	unsigned modes_written = 0;
	const char *second = NULL;
	char error[512];

	for (unsigned m = 0; m < RTE_DIM(mode_names); m++)
		if (config_check_key_set(context, mode_names[m]) && modes_written++ > 0)
			second = mode_names[m];
	if (modes_written != 1) {
		config_check_error(context, second,
				   "a source needs exactly one of `pcap:`, `port:` or `synthetic:`");
		return;
	}
	for (unsigned k = 0; k < RTE_DIM(mode_keys); k++)
		if (mode_keys[k].mode != mode && config_check_key_set(context, mode_keys[k].key))
			config_check_error(context, mode_keys[k].key,
					   "`%s:` applies to `%s:` sources only", mode_keys[k].key,
					   mode_names[mode_keys[k].mode]);
	/* the input is opened as the start opens it, so what passes here starts */
	if (mode == SOURCE_PCAP && !source_pcap_check_files(params->pcap, error, sizeof(error)))
		config_check_error(context, "pcap", "%s", error);
	if (mode == SOURCE_PORT && !source_port_check_device(params->port, error, sizeof(error)))
		config_check_error(context, "port", "%s", error);
	else if (mode == SOURCE_PORT && !source_port_check_queues(params, error, sizeof(error)))
		config_check_error(context, config_check_key_set(context, "queues") ? "queues" : "port",
				   "%s", error);
	if (mode == SOURCE_SYNTHETIC)
		source_synthetic_check(&params->synthetic_params, context);
}

/*
 * Packets of a file carry their own time; ports and the generator carry the
 * wall clock. A port has one replica per queue.
 */
static void
source_properties(const void *params_pointer, struct kernel_properties *properties)
{
	const struct source_params *params = params_pointer;

	properties->live = source_mode_of(params) != SOURCE_PCAP;
	properties->replicas = source_mode_of(params) == SOURCE_PORT ? (unsigned)params->queues : 1;
}

extern const struct kernel_ops source_kernel;

bool
source_feeds_replicas_directly(const struct kernel_ops *ops, const void *params_pointer,
			       unsigned replicas, enum partition_key partition, char *reason,
			       size_t size)
{
	const struct source_params *params = params_pointer;

	reason[0] = '\0';
	if (ops != &source_kernel || source_mode_of(params) != SOURCE_PORT || params->queues < 2 ||
	    params->queues != replicas)
		return false;
	if (params->queue_mapping == SOURCE_QUEUES_SOFTWARE) {
		snprintf(reason, size, "`queue_mapping: software`");
		return false;
	}
	return source_port_spreads_by(params, partition, reason, size);
}

/* What a reload message says the running instance reads. */
static int
source_describe(const void *params_pointer, char *text, size_t size)
{
	const struct source_params *params = params_pointer;

	switch (source_mode_of(params)) {
	case SOURCE_PORT:
		return snprintf(text, size, "%s", params->port);
	case SOURCE_PCAP:
		return snprintf(text, size, config_string_list_next(params->pcap, params->pcap) != NULL
						    ? "a list of pcap files" : "a pcap file");
	default:
		return snprintf(text, size, "a synthetic source");
	}
}

/*
 * A file source whose file and preload stay goes on from where it is: only
 * `loop` and `rate_pps` take state. Every other key's row says REPLACE
 * (preloading is how it reads; a generator starts its sequence afresh) or
 * RESTART (a port's device and queues).
 */
static void
source_take_state(struct kernel_instance *instance, struct kernel_instance *old)
{
	source_pcap_take_state(instance, old);
}

/* The reader behind each mode, as the parts of kernel_ops it provides. */
static const struct {
	int (*init)(struct kernel_instance *instance);
	unsigned (*process)(struct kernel_instance *instance);
	unsigned (*stats)(const struct kernel_instance *instance, struct kernel_stat *stats);
	void (*destroy)(struct kernel_instance *instance);
} readers[] = {
	[SOURCE_PCAP] = {source_pcap_init, source_pcap_process, source_pcap_stats,
			 source_pcap_destroy},
	[SOURCE_PORT] = {source_port_init, source_port_process, source_port_stats,
			 source_port_destroy},
	[SOURCE_SYNTHETIC] = {source_synthetic_init, source_synthetic_process,
			      source_synthetic_stats, source_synthetic_destroy},
};

static int
source_init(struct kernel_instance *instance)
{
	return readers[source_mode_of(instance->params)].init(instance);
}

static unsigned
source_process(struct kernel_instance *instance)
{
	return readers[source_mode_of(instance->params)].process(instance);
}

static unsigned
source_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	return readers[source_mode_of(instance->params)].stats(instance, stats);
}

static void
source_destroy(struct kernel_instance *instance)
{
	readers[source_mode_of(instance->params)].destroy(instance);
}

const struct kernel_ops source_kernel = {
	.name = "source",
	.description = "Packets from a pcap/pcapng file, a DPDK port or a generator, parsed once",
	.input_type = STREAM_NONE,
	.output_type = STREAM_PACKET,
	.replicable = false, /* replicas come from `queues:` */
	.params_size = sizeof(struct source_params),
	.config_map = source_fields,
	.check = source_check,
	.properties = source_properties,
	.describe = source_describe,
	.replicas_key = "queues",
	.init = source_init,
	.process = source_process,
	.stats = source_stats,
	.take_state = source_take_state,
	.destroy = source_destroy,
};

/*
 * A pcap record is a 16-byte header and its captured bytes, a pcapng packet
 * block 32 bytes at least and its captured bytes: a file of N bytes holds at
 * most N / 16 frames, each in one mbuf plus one per data_room bytes captured.
 */
#define PCAP_RECORD_HEADER_SIZE 16

uint64_t
source_mbuf_bound(const struct kernel_spec *spec, uint32_t data_room)
{
	const struct source_params *params = spec->params;
	struct source_pcap_files files = {0};
	char error[256];
	uint64_t bound = 1;
	struct stat file;

	if (spec->ops != &source_kernel || source_mode_of(params) != SOURCE_PCAP ||
	    params->loop != 1 || data_room == 0 ||
	    source_pcap_files_expand(params->pcap, &files, error, sizeof(error)) != 0)
		return 0;
	/* every file of a list or glob: the pool must hold what all of them can fill */
	for (unsigned f = 0; f < files.count && bound != 0; f++)
		if (stat(files.paths[f], &file) == 0 && S_ISREG(file.st_mode))
			bound += (uint64_t)file.st_size / PCAP_RECORD_HEADER_SIZE +
				 (uint64_t)file.st_size / data_room;
		else
			bound = 0;
	source_pcap_files_free(&files);
	return bound;
}
