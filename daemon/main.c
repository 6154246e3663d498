/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * jetstreamd: command line, EAL start-up, the first graph generation, and the
 * exit summary. The control thread's loop (signals, reload) is in control.c.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>

#include "config.h"
#include "config_compare.h"
#include "control.h"
#include "describe.h"
#include "device_name.h"
#include "graph.h"
#include "kernels/registry.h"
#include "kernels/source.h"
#include "log.h"
#include "log_journal.h"
#include "packet.h"
#include "clock.h"
#include "runtime.h"
#include "summary.h"
#include "telemetry.h"

#define EXIT_RUNTIME_ERROR 1
#define EXIT_USAGE 64 /* sysexits.h EX_USAGE */
#define MEMPOOL_CACHE 256
/* rte_mempool refuses a pool smaller than 1.5 caches; 2^10 - 1 is the next efficient size */
#define MEMPOOL_SMALLEST 1023
/* EAL memory of a run sized to its pcap files (see eal_memory_megabytes) */
#define EAL_MEMORY_FINITE_RUN (128ull << 20)
#define MBUF_DATA_ROOM (RTE_MBUF_DEFAULT_BUF_SIZE - RTE_PKTMBUF_HEADROOM)
#define DEFAULT_SETTINGS_PATH "/etc/jetstream/jetstreamd.yaml"

struct options {
	const char *settings_path;
	const char *pipelines[CONFIG_MAX_PIPELINES];
	unsigned pipeline_count;
	bool check_only;
	bool describe;
	bool settings_given;             /* -c was given: the default path is not guessed */
	int eal_argument_count;
	char **eal_arguments;
};

static void
usage(FILE *stream)
{
	fprintf(stream,
		"usage: jetstreamd [-c CONF] [-p PIPELINE.yaml]... [--check] [-- EAL args]\n"
		"  -c, --config CONF      daemon settings (default " DEFAULT_SETTINGS_PATH
		" when no -p is given)\n"
		"  -p, --pipeline FILE    pipeline file; repeatable; replaces the settings' "
		"`pipelines:`\n"
		"      --check            validate the configuration and exit (0 valid, 78 invalid)\n"
		"      --describe         print every kernel type and setting with its keys (and\n"
		"                         the plugin types the settings' `plugins:` give)\n"
		"  -V, --version          print `jetstreamd VERSION` and exit\n"
		"  -h, --help             this help\n");
}

static int
parse_options(int argc, char **argv, struct options *options)
{
	static const struct option long_options[] = {
		{"config", required_argument, NULL, 'c'}, {"pipeline", required_argument, NULL, 'p'},
		{"check", no_argument, NULL, 'k'},         {"help", no_argument, NULL, 'h'},
		{"describe", no_argument, NULL, 'd'},      {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int option;

	while ((option = getopt_long(argc, argv, "c:p:hV", long_options, NULL)) != -1) {
		switch (option) {
		case 'c':
			options->settings_path = optarg;
			options->settings_given = true;
			break;
		case 'p':
			if (options->pipeline_count == CONFIG_MAX_PIPELINES) {
				fprintf(stderr, "jetstreamd: at most %d pipeline files\n",
					CONFIG_MAX_PIPELINES);
				return -1;
			}
			options->pipelines[options->pipeline_count++] = optarg;
			break;
		case 'k':
			options->check_only = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'd':
			options->describe = true;
			break;
		case 'V':
			printf("jetstreamd %s\n", JETSTREAM_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	/* getopt stops at "--": the rest goes to EAL untouched */
	options->eal_argument_count = argc - optind;
	options->eal_arguments = argv + optind;
	if (options->settings_path == NULL && options->pipeline_count == 0)
		options->settings_path = DEFAULT_SETTINGS_PATH;
	return 0;
}

/* Whether a kernel holds a PCI device (through an exclusive key): then EAL scans the bus. */
static bool
config_names_pci_port(const struct config *config)
{
	for (unsigned k = 0; k < config->kernel_count; k++) {
		const struct kernel_spec *spec = &config->kernels[k];
		const struct config_field *field;
		unsigned index = 0;

		while ((field = config_next_exclusive(spec, &index)) != NULL)
			if (device_name_is_pci(config_field_string(field, spec->params)))
				return true;
	}
	return false;
}

/*
 * Whether `--telemetry` is among the settings' eal_args or the arguments
 * after `--`. EAL's --telemetry only keeps its default (on), and its
 * --no-telemetry wins wherever it stands, so the daemon leaves its own out.
 */
static bool
telemetry_asked(const struct daemon_settings *settings, const struct options *options)
{
	for (unsigned i = 0; i < settings->eal_arg_count; i++)
		if (strcmp(settings->eal_args[i], "--telemetry") == 0)
			return true;
	for (int i = 0; i < options->eal_argument_count; i++)
		if (strcmp(options->eal_arguments[i], "--telemetry") == 0)
			return true;
	return false;
}

/* Whether the settings file wrote @p key (line 0: the default applies). */
static bool
setting_written(const struct config *config, const char *key)
{
	return config_key_position(daemon_settings_fields, config->setting_positions, key,
				   (struct config_position){0})
		       .line != 0;
}

/*
 * The mbufs of the pool. mempool_size as written; left at its default, the
 * pool of a run whose every source is a pcap file read once holds what those
 * files can take (source_mbuf_bound), no fewer than MEMPOOL_SMALLEST, no more
 * than the default. The pool's objects are written (and their pages faulted
 * in) at start: measured on the 10-packet run, the default 16383 mbufs took
 * 100 ms of its 240 ms wall, 1023 take 3 ms. A source never waits for mbufs
 * that do not come back: it takes at most the bound over the run, and
 * rte_mempool takes from the common pool what a cache cannot give. A plugin
 * kernel might take mbufs too: the default stays then.
 */
static unsigned
mempool_size(const struct config *config)
{
	const struct daemon_settings *settings = &config->settings;
	uint64_t needed = 0, size = MEMPOOL_SMALLEST;

	if (setting_written(config, "mempool_size"))
		return (unsigned)settings->mempool_size;
	for (unsigned k = 0; k < config->kernel_count; k++) {
		const struct kernel_spec *spec = &config->kernels[k];
		uint64_t bound = source_mbuf_bound(spec, MBUF_DATA_ROOM);

		if (kernel_find(spec->ops->name) != spec->ops ||
		    (spec->ops->input_type == STREAM_NONE && bound == 0))
			return (unsigned)settings->mempool_size;
		needed += bound;
	}
	while (size < needed && size < settings->mempool_size)
		size = size * 2 + 1; /* 2^n - 1, the most efficient size */
	return (unsigned)RTE_MIN(size, settings->mempool_size);
}

/*
 * EAL's memory without hugepages (-m), in MB. memory as written; left at its
 * default, with ring_size at its own, a run whose pool mempool_size() cut to
 * its pcap files gets EAL_MEMORY_FINITE_RUN: EAL writes a descriptor for each
 * 4 KiB page of its memory at start and unmaps it all at exit, measured at
 * 12 % and 6 % of the 10-packet run's CPU time with 512M (perf record). 128M
 * still holds the largest such pool (8191 mbufs, 20 MB) and hundreds of rings.
 */
static uint64_t
eal_memory_megabytes(const struct config *config)
{
	const struct daemon_settings *settings = &config->settings;

	if (!setting_written(config, "memory") && !setting_written(config, "ring_size") &&
	    mempool_size(config) < settings->mempool_size)
		return RTE_MIN(settings->memory, EAL_MEMORY_FINITE_RUN) >> 20;
	return settings->memory >> 20;
}

/* EAL arguments: defaults that run anywhere, then the settings' and the command line's. */
static int
build_eal_arguments(const struct config *config, const struct options *options, char **arguments,
		    int max, char *memory_text, size_t memory_size)
{
	const struct daemon_settings *settings = &config->settings;
	int count = 0;

	arguments[count++] = "jetstreamd";
	arguments[count++] = "--lcores";
	arguments[count++] = (char *)settings->lcores;
	if (settings->hugepages) {
		arguments[count++] = "--in-memory";
	} else {
		/* DPDK 22.11 refuses --in-memory with --no-huge; --no-shconf gives the same isolation */
		snprintf(memory_text, memory_size, "%lu", (unsigned long)eal_memory_megabytes(config));
		arguments[count++] = "--no-huge";
		arguments[count++] = "--no-shconf";
		arguments[count++] = "-m";
		arguments[count++] = memory_text;
	}
	if (!config_names_pci_port(config))
		arguments[count++] = "--no-pci";
	/*
	 * DPDK's telemetry socket is off unless asked for: its start-up probe
	 * blocks in connect() while another DPDK process holds the socket without
	 * answering (seen: 10-35 s stalls beside a DPDK process under valgrind).
	 */
	if (!telemetry_asked(settings, options))
		arguments[count++] = "--no-telemetry";
	arguments[count++] = "--log-level";
	arguments[count++] = settings->log_level >= LOG_LEVEL_DEBUG ? "info" : "error";
	for (unsigned i = 0; i < settings->eal_arg_count && count < max - 1; i++)
		arguments[count++] = (char *)settings->eal_args[i];
	for (int i = 0; i < options->eal_argument_count && count < max - 1; i++)
		arguments[count++] = options->eal_arguments[i];
	arguments[count] = NULL;
	return count;
}

static int
start_eal(const struct config *config, const struct options *options)
{
	char *arguments[16 + CONFIG_MAX_EAL_ARGS * 2];
	char memory_text[32];
	int count = build_eal_arguments(config, options, arguments, (int)RTE_DIM(arguments),
					memory_text, sizeof(memory_text));

	if (!config->settings.hugepages)
		log_debug("EAL memory: %s MB", memory_text);
	if (log_route_eal() != 0)
		log_warning("EAL's log stays on its own stream (stderr and syslog): %s",
			    strerror(errno));
	if (rte_eal_init(count, arguments) < 0) {
		log_error("cannot initialise DPDK: %s", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

/*
 * Without hugepages, DPDK keeps every object of a pool inside one 4 KiB page
 * so that its IOVA is contiguous: one 2.4 KB mbuf per page, every mbuf header
 * and packet_meta at the same page offset, all competing for one L1 cache set
 * (measured: 32 mbufs of a burst all at offset 0x040; a bare alloc/free cost
 * about 47 cycles per mbuf). Packed objects do not need that contiguity as long
 * as no device DMAs into them: the pcap, af_packet, null and ring drivers and
 * the generator all copy with the CPU. Measured: 31.7 -> 34.8 Mpps median on
 * the per-source count of a preloaded capture.
 */
static struct rte_mempool *
create_packed_mempool(unsigned size)
{
	struct rte_pktmbuf_pool_private private = {
		.mbuf_data_room_size = RTE_MBUF_DEFAULT_BUF_SIZE,
		.mbuf_priv_size = PACKET_META_PRIVATE_SIZE,
	};
	unsigned element_size = (unsigned)sizeof(struct rte_mbuf) + PACKET_META_PRIVATE_SIZE +
				RTE_MBUF_DEFAULT_BUF_SIZE;
	struct rte_mempool *pool = rte_mempool_create_empty(
		"packets", size, element_size, MEMPOOL_CACHE, sizeof(private), (int)rte_socket_id(),
		RTE_MEMPOOL_F_NO_IOVA_CONTIG);

	int result;

	if (pool == NULL)
		return NULL;
	result = rte_mempool_set_ops_byname(pool, rte_mbuf_best_mempool_ops(), NULL);
	if (result == 0) {
		rte_pktmbuf_pool_init(pool, &private);
		result = rte_mempool_populate_default(pool);
	}
	if (result < 0) {
		rte_mempool_free(pool);
		rte_errno = -result; /* the caller logs rte_strerror(rte_errno), as for DPDK's own */
		return NULL;
	}
	rte_mempool_obj_iter(pool, rte_pktmbuf_init, NULL);
	return pool;
}

/* Packed (see above) unless a device may DMA into the pool: hugepages or a PCI port. */
static struct rte_mempool *
create_mempool(const struct config *config)
{
	const struct daemon_settings *settings = &config->settings;
	bool packed = !settings->hugepages && !config_names_pci_port(config);
	unsigned size = mempool_size(config);
	struct rte_mempool *pool = packed
		? create_packed_mempool(size)
		: rte_pktmbuf_pool_create("packets", size, MEMPOOL_CACHE, PACKET_META_PRIVATE_SIZE,
					  RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());

	if (pool == NULL)
		log_error("cannot create a pool of %u mbufs: %s (lower mempool_size or raise memory)",
			  size, rte_strerror(rte_errno));
	else
		log_debug("packet pool: %u mbufs%s", size,
			  size != settings->mempool_size
				  ? " (mempool_size left out: what the pcap files can fill)"
				  : "");
	return pool;
}

static int
prepare_layout(const struct config *config, struct graph_layout *layout)
{
	int worker_count = config_worker_lcores(config->settings.lcores, layout->worker_lcores,
						RTE_MAX_LCORE);

	layout->main_lcore = rte_get_main_lcore();
	layout->worker_count = worker_count < 0 ? 0 : (unsigned)worker_count;
	layout->ring_size = (unsigned)config->settings.ring_size;
	layout->idle_sleep = config->settings.idle == CONFIG_IDLE_SLEEP;
	layout->mempool = create_mempool(config);
	return layout->mempool == NULL ? -ENOMEM : 0;
}

/*
 * While the configuration is read (a start, or --check), SIGTERM and SIGINT
 * end the process at once: no graph runs yet, so nothing needs draining, and
 * a stop must not wait for a parse. The process dies of the signal itself
 * (exit status 143 or 130 in a shell), which systemd counts as a clean stop.
 * Only async-signal-safe calls here.
 */
static void
stop_while_parsing(int signal_number)
{
	static const char term_message[] =
		"jetstreamd: SIGTERM while reading the configuration: stopping\n";
	static const char int_message[] =
		"jetstreamd: SIGINT while reading the configuration: stopping\n";
	const char *message = signal_number == SIGTERM ? term_message : int_message;
	size_t length = signal_number == SIGTERM ? sizeof(term_message) - 1 : sizeof(int_message) - 1;

	if (write(STDERR_FILENO, message, length) < 0) {
		/* nothing more to tell: the process is ending */
	}
	signal(signal_number, SIG_DFL);
	raise(signal_number); /* delivered when this handler returns */
}

/* SIGTERM and SIGINT end the parse (see stop_while_parsing); SIGHUP stays for the signalfd. */
static void
stop_signals_during_parse(bool stop)
{
	struct sigaction action = {.sa_handler = stop ? stop_while_parsing : SIG_DFL};
	sigset_t stop_signals;

	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	if (!stop) /* blocked first: one arriving now waits in the signalfd */
		pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	sigaction(SIGTERM, &action, NULL);
	sigaction(SIGINT, &action, NULL);
	if (stop) /* one that came since control_open_signals() is delivered here */
		pthread_sigmask(SIG_UNBLOCK, &stop_signals, NULL);
}

/*
 * --describe: the built-in reference, then the types of the plugins the
 * settings load (-c, or the default settings file when there is one).
 */
static int
describe(const struct options *options)
{
	struct config_errors errors;
	const char *settings_path = options->settings_given ? options->settings_path : NULL;
	struct config *config;

	if (settings_path == NULL && access(DEFAULT_SETTINGS_PATH, F_OK) == 0)
		settings_path = DEFAULT_SETTINGS_PATH;
	config = config_load_settings(settings_path, &errors);
	if (config == NULL) {
		config_errors_print(&errors, stderr);
		return EXIT_CONFIG_ERROR;
	}
	describe_configuration(stdout);
	describe_plugins(config->plugins, stdout);
	config_free(config);
	return 0;
}

/* Build and start the first generation, run the control loop, report. */
static int
run(struct config **config, const struct control_sources *sources, int signal_fd)
{
	static struct graph_layout layout;
	struct graph *graph = NULL;
	char error[512];
	uint64_t start_cycles;
	bool drained, complete;
	int result;

	if (prepare_layout(*config, &layout) != 0)
		return EXIT_RUNTIME_ERROR;
	if (control_open_endpoints(&(*config)->settings) != 0) {
		rte_mempool_free(layout.mempool);
		return EXIT_RUNTIME_ERROR;
	}
	result = graph_build(*config, &layout, &graph, error, sizeof(error));
	if (result != 0) {
		control_close_endpoints();
		rte_mempool_free(layout.mempool);
		/* a configured value the start refused: reported as --check reports one */
		if (result == GRAPH_CONFIG_ERROR) {
			log_line(LOG_LEVEL_ERROR, NULL, error);
			return EXIT_CONFIG_ERROR;
		}
		log_error("%s", error);
		return EXIT_RUNTIME_ERROR;
	}
	start_cycles = rte_get_tsc_cycles();
	if (runtime_start(graph) != 0) {
		log_error("cannot start the worker lcores");
		control_close_endpoints();
		runtime_join();
		runtime_release();
		rte_mempool_free(layout.mempool);
		return EXIT_RUNTIME_ERROR;
	}
	summary_notify_ready(graph);
	drained = control_run(signal_fd, sources, config);
	control_close_endpoints();
	runtime_join();
	complete = summary_print(runtime_graph(),
				 (double)(rte_get_tsc_cycles() - start_cycles) / rte_get_tsc_hz(), stderr);
	runtime_release();
	rte_mempool_free(layout.mempool);
	return drained && complete ? 0 : EXIT_RUNTIME_ERROR;
}

int
main(int argc, char **argv)
{
	struct options options = {0};
	struct config_errors errors = {0};
	struct config *config;
	int signal_fd, status;
	struct control_sources sources;

	if (parse_options(argc, argv, &options) != 0)
		return EXIT_USAGE;
	/* --check and --describe print their answer and the errors, not progress (plugins loaded) */
	if (options.check_only || options.describe)
		log_set_level(LOG_LEVEL_WARNING);
	if (options.describe)
		return describe(&options);
	/* before anything slow: a SIGHUP or SIGTERM during start-up must not kill the daemon */
	signal_fd = control_open_signals();
	sources = (struct control_sources){options.settings_path, options.pipelines,
					   options.pipeline_count};
	stop_signals_during_parse(true);
	config = config_load(options.settings_path, options.pipelines, options.pipeline_count, &errors);
	stop_signals_during_parse(false);
	if (config == NULL) {
		config_errors_print(&errors, stderr);
		return EXIT_CONFIG_ERROR;
	}
	if (options.check_only) {
		printf("configuration valid: %u kernels in %u pipeline files\n", config->kernel_count,
		       config_pipeline_file_count(config));
		config_free(config);
		return 0;
	}
	log_set_level((enum log_level)config->settings.log_level);
	if (signal_fd < 0 || start_eal(config, &options) != 0) {
		config_free(config);
		return EXIT_RUNTIME_ERROR;
	}
	telemetry_register(); /* answered only when EAL runs its telemetry socket */
	clock_init();
	status = run(&config, &sources, signal_fd);
	control_notify_stopping();
	close(signal_fd);
	/* the exit summary stays the last output: what follows is cleanup (plugins unloaded) */
	log_set_level(LOG_LEVEL_WARNING);
	config_free(config);
	rte_eal_cleanup();
	return status;
}
