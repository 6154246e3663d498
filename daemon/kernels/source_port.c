/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK port reader of the source kernel. Replica i polls receive queue i;
 * replica 0 configures and starts the device for all of them (the graph
 * initialises replicas in order).
 */
/* rte_devargs_reset(), the only way to free what rte_devargs_parse() allocates */
#define ALLOW_EXPERIMENTAL_API
#define _GNU_SOURCE /* dladdr() */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_kvargs.h>
#include <rte_log.h>

#include "device_name.h"
#include "kernels/source_port.h"
#include "kernels/source_port_sockets.h"
#include "log.h"
#include "packet.h"

#define RECEIVE_DESCRIPTORS 4096

/*
 * How a driver accounts for the frames it drops on receive, as read in its
 * DPDK 22.11 source. A driver not listed here is taken not to report them:
 * its drops print as unknown, never as 0.
 */
enum drop_report {
	DROPS_UNKNOWN = 0,  /* not reported: printed as unknown, said at start */
	DROPS_REPORTED,     /* the driver counts them */
	DROPS_NOT_APPLICABLE, /* no such place on this receive path */
	DROPS_DAEMON_COUNTS, /* the daemon reads them from the kernel itself */
};

struct driver_drops {
	const char *driver_name;      /* rte_eth_dev_info.driver_name */
	enum drop_report imissed;     /* rte_eth_stats.imissed: frames the device could not queue */
	enum drop_report socket_drops; /* frames a kernel socket ring had no room for */
	const char *not_counted;      /* for the start warning: what is not counted */
};

static const struct driver_drops driver_drops[] = {
	/*
	 * The af_packet driver sets no imissed at all; its receive queue is the
	 * kernel's socket ring, whose drops (tp_drops) the daemon reads with
	 * PACKET_STATISTICS (see find_queue_sockets).
	 */
	{"net_af_packet", DROPS_NOT_APPLICABLE, DROPS_DAEMON_COUNTS, NULL},
	/*
	 * af_xdp's imissed is XDP_STATISTICS rx_dropped: frames dropped because the
	 * fill ring was empty or the frame did not fit a umem chunk. The driver asks
	 * for the full struct xdp_statistics, and the kernel then reports frames
	 * dropped for a full rx ring apart, in rx_ring_full, which the driver
	 * never reads: those drops (a stalled reader) are not counted.
	 */
	{"net_af_xdp", DROPS_REPORTED, DROPS_UNKNOWN,
	 "frames dropped because the AF_XDP rx ring was full (XDP_STATISTICS rx_ring_full)"},
	/* it makes its frames when asked: there is no queue to overflow */
	{"net_null", DROPS_NOT_APPLICABLE, DROPS_NOT_APPLICABLE, NULL},
	/* libpcap's ps_drop */
	{"net_pcap", DROPS_REPORTED, DROPS_NOT_APPLICABLE, NULL},
	/* NICs whose imissed is the hardware's count of frames missed for lack of descriptors */
	{"net_ixgbe", DROPS_REPORTED, DROPS_NOT_APPLICABLE, NULL},
	{"net_i40e", DROPS_REPORTED, DROPS_NOT_APPLICABLE, NULL},
	{"net_ice", DROPS_REPORTED, DROPS_NOT_APPLICABLE, NULL},
	{"net_e1000_igb", DROPS_REPORTED, DROPS_NOT_APPLICABLE, NULL},
	{"net_igc", DROPS_REPORTED, DROPS_NOT_APPLICABLE, NULL},
	{"mlx5_pci", DROPS_REPORTED, DROPS_NOT_APPLICABLE, NULL},
	{"net_bnxt", DROPS_REPORTED, DROPS_NOT_APPLICABLE, NULL},
	{"net_ena", DROPS_REPORTED, DROPS_NOT_APPLICABLE, NULL},
	{"net_txgbe", DROPS_REPORTED, DROPS_NOT_APPLICABLE, NULL},
};

static const struct driver_drops unlisted_driver = {
	NULL, DROPS_UNKNOWN, DROPS_NOT_APPLICABLE,
	"frames the device drops on receive (the driver reports no imissed)",
};

/*
 * What the daemon knows of one port across its replicas and reloads, found by
 * device name. cp only: graph building, init, stats and destroy all run on the
 * control thread.
 */
struct port_record {
	char name[RTE_ETH_NAME_MAX_LEN];  /* "" = a free slot */
	/*
	 * How packets are spread over its queues. A graph that feeds replicas
	 * directly settles it before the device starts (source_port_spreads_by);
	 * otherwise the start does. Once settled it never changes: the device's
	 * RSS is configured once.
	 */
	bool spreading_settled;
	bool spreads;                     /* settled, and the queues keep `spreading` together */
	bool relied_on;                   /* a consumer is fed directly: the start checks the RSS */
	enum partition_key spreading;
	char how[160];                    /* what decides the spreading, for the log */
	struct queue_sockets sockets;     /* af_packet: found when replica 0 starts the device */
};

/* Ports a daemon opens at most (each a source with its own device). */
#define MAX_PORT_RECORDS 32

static struct port_record port_records[MAX_PORT_RECORDS];

struct port_reader {
	uint16_t port_id;
	uint16_t queue;
	bool queue_active;     /* false: the device has fewer queues than asked for */
	bool owns_device;      /* replica 0: stops and closes it */
	bool draining;         /* stop requested: empty the queue, then finish */
	unsigned drain_left;   /* packets the queue can still hold from before the stop */
	const struct driver_drops *drops; /* how the driver reports its drops */
	struct port_record *record;       /* cp only: the port's, shared by its replicas */
	struct source_packet_counts counts;
};

void
source_port_device_name(const char *device, char *name, size_t size)
{
	size_t length = strcspn(device, ",");

	snprintf(name, size, "%.*s", (int)length, device);
}

/*
 * Frames in an af_packet socket ring unless the device string says otherwise.
 * The driver's default (512) overflows on ordinary bursts (seen at 150 kpps
 * from tcpreplay), and DPDK 22.11's af_packet driver does not report those
 * socket drops at all, so the ring is sized for bursts instead: 8192 frames
 * of 2 KB, 16 MB per queue.
 */
#define AF_PACKET_DEFAULT_FRAMES 8192

static bool
is_af_packet(const char *device)
{
	return strncmp(device, "net_af_packet", strlen("net_af_packet")) == 0;
}

static bool
is_af_xdp(const char *device)
{
	return strncmp(device, "net_af_xdp", strlen("net_af_xdp")) == 0;
}

/* The value of `key=` in a vdev string, into @p value ("" when absent). */
static void
device_argument(const char *device, const char *key, char *value, size_t size)
{
	const char *arguments = strchr(device, ',');
	struct rte_kvargs *pairs = arguments != NULL ? rte_kvargs_parse(arguments + 1, NULL) : NULL;
	const char *found = pairs != NULL ? rte_kvargs_get(pairs, key) : NULL;

	/* the same key=value parser as the device check and the driver */
	snprintf(value, size, "%s", found != NULL ? found : "");
	rte_kvargs_free(pairs);
}

static bool
has_argument(const char *device, const char *key)
{
	char value[64];

	device_argument(device, key, value, sizeof(value));
	return value[0] != '\0';
}

/* Append `,key=value` to @p probe unless the device string wrote the key. */
static void
add_default_argument(const char *device, const char *key, unsigned value, char *probe, size_t size)
{
	size_t length = strlen(probe);

	if (!has_argument(device, key) && length < size)
		snprintf(probe + length, size - length, ",%s=%u", key, value);
}

/*
 * The vdev string to probe: @p device, with a burst-sized ring for af_packet
 * and, for `queues:` N, N queues of the drivers whose queue count is a probe
 * argument (af_packet's queue pairs in one fanout group, af_xdp's combined
 * channels from start_queue on). What the device string writes wins.
 */
static void
probe_string(const char *device, unsigned queues, char *probe, size_t size)
{
	snprintf(probe, size, "%s", device);
	if (is_af_packet(device))
		add_default_argument(device, "framecnt", AF_PACKET_DEFAULT_FRAMES, probe, size);
	if (queues > 1 && is_af_packet(device))
		add_default_argument(device, "qpairs", queues, probe, size);
	if (queues > 1 && is_af_xdp(device))
		add_default_argument(device, "queue_count", queues, probe, size);
}

/* Whether EAL is a shared library here (librte_eal.so.N) or in the binary. */
static bool
eal_is_shared(void)
{
	Dl_info information;

	return dladdr((void *)rte_eal_init, &information) != 0 && information.dli_fname != NULL &&
	       strstr(information.dli_fname, "librte_eal.so") != NULL;
}

/*
 * rte_devargs_parse() needs the vdev and PCI buses and the drivers registered,
 * which --check, running without EAL, has not. jetstreamd links DPDK
 * statically (see the Makefile), drivers included: they registered themselves
 * before main() and nothing is loaded. Only a build against a shared EAL finds
 * them in EAL's plugin directory, loaded here as EAL itself would load them
 * (measured: 40 ms, once); a static binary must not load them, as they would
 * bring a second EAL.
 */
static void
load_driver_plugins(void)
{
	static bool loaded;
	char path[PATH_MAX];
	struct dirent *entry;
	DIR *directory;

	if (loaded)
		return;
	loaded = true;
	if (!eal_is_shared())
		return;
	directory = opendir(RTE_EAL_PMD_PATH);
	if (directory == NULL)
		return;
	while ((entry = readdir(directory)) != NULL) {
		const char *suffix = strstr(entry->d_name, ".so");

		/* librte_x.so.23.0 and its symlinks are one file: take librte_x.so only */
		if (suffix == NULL || suffix[3] != '\0')
			continue;
		snprintf(path, sizeof(path), "%s/%s", RTE_EAL_PMD_PATH, entry->d_name);
		dlopen(path, RTLD_NOW | RTLD_GLOBAL); /* one that fails is a driver EAL cannot load either */
	}
	closedir(directory);
}

bool
source_port_check_device(const char *device, char *error, size_t error_size)
{
	struct rte_devargs devargs;
	struct rte_kvargs *arguments = NULL;
	int result;
	int eal_log_level = rte_log_get_level(RTE_LOGTYPE_EAL);

	load_driver_plugins();
	/* EAL's own line about the failure would come before the positioned error */
	rte_log_set_level(RTE_LOGTYPE_EAL, RTE_LOG_EMERG);
	result = rte_devargs_parse(&devargs, device);
	rte_log_set_level(RTE_LOGTYPE_EAL, (uint32_t)eal_log_level);
	if (result != 0) {
		snprintf(error, error_size,
			 "DPDK cannot parse device '%s': write a PCI address (0000:3b:00.0) or a "
			 "vdev string with a known driver (net_af_packet0,iface=eth1)",
			 device);
		return false;
	}
	if (devargs.args != NULL && devargs.args[0] != '\0')
		arguments = rte_kvargs_parse(devargs.args, NULL);
	if (devargs.args != NULL && devargs.args[0] != '\0' && arguments == NULL) {
		snprintf(error, error_size,
			 "device '%s': arguments '%s' are not a list of key=value", device,
			 devargs.args);
		result = -EINVAL;
	}
	rte_kvargs_free(arguments);
	rte_devargs_reset(&devargs);
	return result == 0;
}

bool
source_port_check_queues(const struct source_params *params, char *error, size_t error_size)
{
	char value[32];
	unsigned long written;

	/*
	 * The kernel hands every socket of af_packet's fanout group a share of
	 * the traffic, and only `queues:` of them are read: a socket more would
	 * take frames that are never read nor counted.
	 */
	if (!is_af_packet(params->port))
		return true;
	device_argument(params->port, "qpairs", value, sizeof(value));
	written = value[0] != '\0' ? strtoul(value, NULL, 10) : params->queues;
	if (written == params->queues)
		return true;
	snprintf(error, error_size,
		 "device '%s' has qpairs=%s but `queues: %" PRIu64 "`: the kernel spreads frames over "
		 "every queue, so every queue must be read; write `queues: %s` (or leave qpairs out: "
		 "`queues:` sets it)", params->port, value, params->queues, value);
	return false;
}

/* Find the port of @p device, hot-plugging a vdev that EAL has not probed. */
static int
find_port(struct kernel_instance *instance, const char *device, unsigned queues,
	  uint16_t *port_id)
{
	char name[RTE_ETH_NAME_MAX_LEN], probe[512];
	int result;

	source_port_device_name(device, name, sizeof(name));
	if (rte_eth_dev_get_port_by_name(name, port_id) == 0)
		return 0;
	probe_string(device, queues, probe, sizeof(probe));
	result = device_name_is_pci(device) ? -ENODEV : rte_dev_probe(probe);
	if (result == 0)
		result = rte_eth_dev_get_port_by_name(name, port_id);
	if (result != 0) {
		snprintf(instance->error, sizeof(instance->error),
			 "no DPDK port for '%s' (%s)%s", device, strerror(-result),
			 device_name_is_pci(device) ? ": is it bound to vfio-pci?" : "");
		instance->error_key = "port"; /* the device named there cannot be had */
	}
	return result;
}

#define SYMMETRIC_RSS_KEY_SIZE 40

static const uint8_t symmetric_rss_key[SYMMETRIC_RSS_KEY_SIZE] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

static const char *const partition_names[] = {
	[PARTITION_SOURCE] = "source address",
	[PARTITION_DESTINATION] = "destination address",
	[PARTITION_FLOW] = "5-tuple flow (both directions)",
};

/* The record of @p device's port, made on first use. @return NULL when all are taken. */
static struct port_record *
port_record_of(const char *device)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	struct port_record *free_record = NULL;

	source_port_device_name(device, name, sizeof(name));
	for (unsigned r = 0; r < RTE_DIM(port_records); r++) {
		if (strcmp(port_records[r].name, name) == 0)
			return &port_records[r];
		if (free_record == NULL && port_records[r].name[0] == '\0')
			free_record = &port_records[r];
	}
	if (free_record != NULL)
		snprintf(free_record->name, sizeof(free_record->name), "%s", name);
	return free_record;
}

/* Drivers whose queues the Linux kernel fills: every queue receives, RSS or not. */
static bool
kernel_spreads_queues(const char *driver_name)
{
	return driver_name != NULL && (strcmp(driver_name, "net_af_packet") == 0 ||
				       strcmp(driver_name, "net_af_xdp") == 0);
}

#define PARTITION_BIT(partition) (1u << (partition))

/*
 * The partitions the device behind @p params can keep whole per queue, as
 * bits, with what decides it in @p how. Read from the device string and, for
 * a PCI port (probed by EAL at start), from its RSS capabilities.
 */
static unsigned
device_spreadings(const struct source_params *params, char *how, size_t size)
{
	struct rte_eth_dev_info info;
	char name[RTE_ETH_NAME_MAX_LEN];
	uint16_t port_id;
	unsigned spreadings = 0;

	if (is_af_packet(params->port)) {
		/* Linux's fanout hash (__skb_get_hash_symmetric) orders addresses and ports */
		snprintf(how, size, "af_packet's fanout spreads by the kernel's symmetric flow hash");
		return PARTITION_BIT(PARTITION_FLOW);
	}
	if (is_af_xdp(params->port)) {
		snprintf(how, size, "af_xdp's queues are the NIC's channels, spread by the RSS "
				    "that ethtool set, which the daemon cannot know");
		return 0;
	}
	source_port_device_name(params->port, name, sizeof(name));
	if (!device_name_is_pci(params->port) || rte_eth_dev_get_port_by_name(name, &port_id) != 0 ||
	    rte_eth_dev_info_get(port_id, &info) != 0) {
		snprintf(how, size, "the device spreads by no hash the daemon knows");
		return 0;
	}
	if (info.max_rx_queues < params->queues) {
		snprintf(how, size, "the device has at most %u queues", info.max_rx_queues);
		return 0;
	}
	if ((info.flow_type_rss_offloads & RTE_ETH_RSS_IP) != 0 &&
	    info.hash_key_size == SYMMETRIC_RSS_KEY_SIZE)
		spreadings |= PARTITION_BIT(PARTITION_FLOW);
	if ((info.flow_type_rss_offloads & RTE_ETH_RSS_L3_SRC_ONLY) != 0)
		spreadings |= PARTITION_BIT(PARTITION_SOURCE);
	if ((info.flow_type_rss_offloads & RTE_ETH_RSS_L3_DST_ONLY) != 0)
		spreadings |= PARTITION_BIT(PARTITION_DESTINATION);
	snprintf(how, size, "driver %s: RSS on IP%s%s%s", info.driver_name,
		 spreadings & PARTITION_BIT(PARTITION_FLOW) ? ", symmetric key" : ", no symmetric key",
		 spreadings & PARTITION_BIT(PARTITION_SOURCE) ? ", source only" : "",
		 spreadings & PARTITION_BIT(PARTITION_DESTINATION) ? ", destination only" : "");
	return spreadings;
}

bool
source_port_spreads_by(const struct source_params *params, enum partition_key partition,
		       char *reason, size_t size)
{
	struct port_record *record = port_record_of(params->port);
	unsigned spreadings;

	if (record == NULL) {
		snprintf(reason, size, "more than %u ports", MAX_PORT_RECORDS);
		return false;
	}
	if (record->spreading_settled) {
		bool same = record->spreads && record->spreading == partition;

		/* a NIC configured before anything relied on it was never checked (check_rss_taken) */
		if (same && !record->relied_on && !is_af_packet(params->port)) {
			snprintf(reason, size, "the device started before a kernel relied on its "
					       "spreading, which was not checked then: a restart feeds it directly");
			return false;
		}
		if (same)
			snprintf(reason, size, "%s", record->how);
		else
			snprintf(reason, size, "%s, not by %s", record->how[0] != '\0' ? record->how :
				 "the device's queues are spread by no known hash",
				 partition_names[partition]);
		return same;
	}
	spreadings = device_spreadings(params, record->how, sizeof(record->how));
	if ((spreadings & PARTITION_BIT(partition)) == 0) {
		snprintf(reason, size, "%s, not by %s", record->how, partition_names[partition]);
		return false;
	}
	record->spreading_settled = true;
	record->spreads = true;
	record->relied_on = true;
	record->spreading = partition;
	snprintf(reason, size, "%s", record->how);
	return true;
}

/*
 * RSS for a direct mapping that needs an address only: the IP hash types with
 * one address (RTE_ETH_RSS_L3_SRC_ONLY or _DST_ONLY), so that every packet of
 * an address lands in one queue, ports or not.
 */
static void
configure_address_rss(const struct rte_eth_dev_info *info, enum partition_key partition,
		      struct rte_eth_rss_conf *rss)
{
	uint64_t one_address = partition == PARTITION_SOURCE ? RTE_ETH_RSS_L3_SRC_ONLY
							     : RTE_ETH_RSS_L3_DST_ONLY;

	rss->rss_hf = (info->flow_type_rss_offloads & RTE_ETH_RSS_IP) | one_address;
}

/*
 * RSS on the 5-tuple with a key of one repeated 16-bit pattern, which makes
 * Toeplitz symmetric: both directions of a flow land in one queue. @return
 * false when the device cannot take the key.
 */
static bool
configure_flow_rss(const struct rte_eth_dev_info *info, struct rte_eth_rss_conf *rss)
{
	rss->rss_hf =
		info->flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
	if (info->hash_key_size != SYMMETRIC_RSS_KEY_SIZE)
		return false;
	rss->rss_key = (uint8_t *)(uintptr_t)symmetric_rss_key;
	rss->rss_key_len = SYMMETRIC_RSS_KEY_SIZE;
	return true;
}

/* Settle how the device spreads, as a graph chose or else by flow when the key allows. */
static void
configure_rss(const struct rte_eth_dev_info *info, const char *device, uint16_t *queues,
	      struct port_record *record, struct rte_eth_conf *configuration)
{
	struct rte_eth_rss_conf *rss = &configuration->rx_adv_conf.rss_conf;

	if (*queues <= 1)
		return;
	/*
	 * af_packet and af_xdp have no RSS of their own: their queue sockets are
	 * filled by the kernel (a fanout group; the NIC's channels), so every
	 * queue receives and must be read (with one queue configured, the frames
	 * of the others were never read).
	 */
	if (kernel_spreads_queues(info->driver_name) && info->max_rx_queues >= *queues) {
		record->spreads = record->spreads || strcmp(info->driver_name, "net_af_packet") == 0;
		record->spreading = PARTITION_FLOW;
		record->spreading_settled = true;
		return;
	}
	if (info->flow_type_rss_offloads == 0 || info->max_rx_queues < *queues) {
		log_warning("port '%s' cannot spread packets over %u queues (no RSS, or at most %u "
			    "queues): using one queue; the other source replicas stay idle",
			    device, *queues, info->max_rx_queues);
		*queues = 1;
		record->spreading_settled = true;
		return;
	}
	configuration->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	if (record->spreads && record->spreading != PARTITION_FLOW) {
		configure_address_rss(info, record->spreading, rss);
		return;
	}
	record->spreads = configure_flow_rss(info, rss);
	record->spreading = PARTITION_FLOW;
	record->spreading_settled = true;
	if (!record->spreads)
		log_info("port '%s': RSS key of %u bytes cannot be set symmetric; replicas are fed "
			 "by the software flow hash", device, info->hash_key_size);
}

/*
 * A direct mapping trusts the device to spread as configured: a driver that
 * took the configuration but not the hash types or the key (it may drop what
 * it does not support) would feed replicas the wrong packets, so the start
 * fails instead, as it does when the driver cannot show what it took.
 */
static int
check_rss_taken(struct kernel_instance *instance, uint16_t port_id,
		const struct port_record *record, const struct rte_eth_rss_conf *asked)
{
	uint8_t key[SYMMETRIC_RSS_KEY_SIZE] = {0};
	struct rte_eth_rss_conf taken = {.rss_key = key, .rss_key_len = sizeof(key)};
	const struct source_params *params = instance->params;
	uint64_t one_address = asked->rss_hf & (RTE_ETH_RSS_L3_SRC_ONLY | RTE_ETH_RSS_L3_DST_ONLY);
	int result;

	if (!record->relied_on)
		return 0;
	result = rte_eth_dev_rss_hash_conf_get(port_id, &taken);
	if (result == 0 && (taken.rss_hf & one_address) == one_address &&
	    (asked->rss_key == NULL || memcmp(key, asked->rss_key, sizeof(key)) == 0))
		return 0;
	snprintf(instance->error, sizeof(instance->error),
		 "port '%s' cannot be shown to spread its queues by %s (%s): write "
		 "`queue_mapping: software`", params->port, partition_names[record->spreading],
		 result != 0 ? strerror(-result) : "it did not take the hash types or the key");
	instance->error_key = "queue_mapping";
	return -ENOTSUP;
}

static int
start_device(struct kernel_instance *instance, struct port_reader *reader, uint16_t queues)
{
	uint16_t port_id = reader->port_id;
	const struct source_params *params = instance->params;
	struct rte_eth_conf configuration = {0};
	struct rte_eth_dev_info info;
	uint16_t receive_descriptors = RECEIVE_DESCRIPTORS, transmit_descriptors = 512;
	int result = rte_eth_dev_info_get(port_id, &info);

	if (result != 0)
		return result;
	configure_rss(&info, params->port, &queues, reader->record, &configuration);
	/* jumbo frames arrive as mbuf chains rather than being cut */
	if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)
		configuration.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
	result = rte_eth_dev_configure(port_id, queues, queues, &configuration);
	if (result == 0)
		result = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &receive_descriptors,
							  &transmit_descriptors);
	for (uint16_t q = 0; result == 0 && q < queues; q++) {
		result = rte_eth_rx_queue_setup(port_id, q, receive_descriptors,
						rte_eth_dev_socket_id(port_id), NULL, instance->mempool);
		if (result == 0)
			result = rte_eth_tx_queue_setup(port_id, q, transmit_descriptors,
							rte_eth_dev_socket_id(port_id), NULL);
	}
	if (result == 0)
		result = rte_eth_dev_start(port_id);
	if (result == 0 && configuration.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS)
		result = check_rss_taken(instance, port_id, reader->record,
					 &configuration.rx_adv_conf.rss_conf);
	if (result == -ENOTSUP)
		return result;
	if (result != 0) {
		snprintf(instance->error, sizeof(instance->error), "cannot start port '%s': %s",
			 params->port, strerror(-result));
		return result;
	}
	/* a monitoring port sees traffic not addressed to it; some drivers cannot, and say so */
	if (rte_eth_promiscuous_enable(port_id) != 0)
		log_warning("port '%s': promiscuous mode not available", params->port);
	return 0;
}

static const struct driver_drops *
find_driver_drops(const char *driver_name)
{
	for (unsigned d = 0; d < RTE_DIM(driver_drops); d++)
		if (driver_name != NULL && strcmp(driver_drops[d].driver_name, driver_name) == 0)
			return &driver_drops[d];
	return &unlisted_driver;
}

/* What the device can tell about its drops, and a warning at start for what it cannot. */
static void
set_up_drop_counting(struct port_reader *reader, const char *device,
		     const struct rte_eth_dev_info *info)
{
	struct queue_sockets *sockets = &reader->record->sockets;
	char interface[IF_NAMESIZE + 1];

	if (reader->drops->socket_drops == DROPS_DAEMON_COUNTS) {
		device_argument(device, "iface", interface, sizeof(interface));
		queue_sockets_find(device, interface, info->max_rx_queues, sockets);
		for (unsigned q = 0; q < sockets->count; q++)
			queue_socket_read(&sockets->queues[q]);
	}
	if (reader->drops->not_counted != NULL)
		log_warning("port '%s' (driver %s): %s are not counted; the summary shows them as "
			    "unknown", device, info->driver_name, reader->drops->not_counted);
}

/* Receive queues of a network interface, from sysfs (the namespace's own under `ip netns exec`). */
static unsigned
interface_receive_queues(const char *interface)
{
	char path[PATH_MAX];
	struct dirent *entry;
	unsigned queues = 0;
	DIR *directory;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", interface);
	directory = opendir(path);
	if (directory == NULL)
		return 0;
	while ((entry = readdir(directory)) != NULL)
		queues += strncmp(entry->d_name, "rx-", 3) == 0;
	closedir(directory);
	return queues;
}

/*
 * An AF_XDP socket sees only the receive queues it is bound to; the NIC's
 * other queues deliver to the kernel stack, unseen and uncounted here (seen:
 * a veth of two queues read by one af_xdp queue, 3987 of 7451 frames). So
 * the start says so when the interface has more queues than are read.
 */
static void
warn_unread_xdp_queues(const char *device, unsigned queues)
{
	char interface[IF_NAMESIZE + 1], value[32];
	unsigned first = 0, read = queues, present;

	device_argument(device, "iface", interface, sizeof(interface));
	device_argument(device, "start_queue", value, sizeof(value));
	if (value[0] != '\0')
		first = (unsigned)strtoul(value, NULL, 10);
	device_argument(device, "queue_count", value, sizeof(value));
	if (value[0] != '\0')
		read = (unsigned)strtoul(value, NULL, 10);
	present = interface_receive_queues(interface);
	if (present > read)
		log_warning("port '%s': interface '%s' has %u receive queues and af_xdp reads %u "
			    "(from queue %u): frames the NIC puts on the others go to the kernel, "
			    "unseen and not counted; write `queues: %u` (with `ethtool -L %s "
			    "combined %u`), or steer all traffic to the queues read",
			    device, interface, present, read, first, present, interface, present);
}

int
source_port_init(struct kernel_instance *instance)
{
	const struct source_params *params = instance->params;
	struct port_reader *reader = calloc(1, sizeof(*reader));
	struct rte_eth_dev_info info;
	int result;

	if (reader == NULL)
		return -ENOMEM;
	instance->state = reader;
	reader->record = port_record_of(params->port);
	if (reader->record == NULL) {
		snprintf(instance->error, sizeof(instance->error), "more than %u ports",
			 MAX_PORT_RECORDS);
		return -ENOSPC;
	}
	result = find_port(instance, params->port, (unsigned)params->queues, &reader->port_id);
	if (result != 0)
		return result;
	reader->queue = (uint16_t)instance->replica;
	if (instance->replica == 0) {
		result = start_device(instance, reader, (uint16_t)params->queues);
		if (result != 0)
			return result;
		reader->owns_device = true;
	}
	result = rte_eth_dev_info_get(reader->port_id, &info);
	if (result != 0)
		return result;
	reader->queue_active = reader->queue < info.nb_rx_queues;
	reader->drops = find_driver_drops(info.driver_name);
	if (reader->owns_device)
		set_up_drop_counting(reader, params->port, &info);
	if (reader->owns_device && is_af_xdp(params->port))
		warn_unread_xdp_queues(params->port, (unsigned)params->queues);
	return 0;
}

static void
parse_packet(struct rte_mbuf *packet, uint64_t now_ns)
{
	struct packet_meta *meta = packet_meta(packet);

	/* the whole frame, in every segment: the same parse as a file's */
	packet_parse_mbuf(packet, meta);
	meta->timestamp_ns = now_ns;
	meta->wire_length = packet->pkt_len;
}

unsigned
source_port_process(struct kernel_instance *instance)
{
	struct port_reader *reader = instance->state;
	struct rte_mbuf *packets[KERNEL_BURST];
	unsigned budget;
	uint16_t received;
	uint64_t now;

	if (kernel_should_stop(instance) && !reader->draining) {
		/* what arrived before the stop is at most a full queue; traffic never pauses */
		reader->draining = true;
		reader->drain_left = RECEIVE_DESCRIPTORS;
	}
	if (!reader->queue_active) {
		if (reader->draining)
			kernel_mark_finished(instance);
		return 0;
	}
	/* when there is no room, the NIC keeps receiving; what overflows its queue shows as imissed */
	budget = kernel_burst_budget(instance);
	if (budget == 0)
		return 0;
	if (reader->draining)
		budget = RTE_MIN(budget, reader->drain_left);
	received = budget == 0 ? 0 : rte_eth_rx_burst(reader->port_id, reader->queue, packets,
						      (uint16_t)budget);
	if (reader->draining) {
		reader->drain_left -= received;
		if (received == 0) {
			kernel_mark_finished(instance);
			return 0;
		}
	}
	now = kernel_now_ns();
	for (uint16_t i = 0; i < received; i++) {
		parse_packet(packets[i], now);
		source_count_packet(&reader->counts, packet_meta(packets[i]));
	}
	kernel_emit_packets(instance, packets, received);
	return received;
}

/* A drop figure as the driver can give it: the value, or a mark that it is unknown. */
static unsigned
drop_stat(enum drop_report report, const char *name, const char *unknown_name, uint64_t value,
	  struct kernel_stat *stat)
{
	if (report == DROPS_NOT_APPLICABLE)
		return 0;
	*stat = report == DROPS_UNKNOWN ? (struct kernel_stat){unknown_name, 1}
					: (struct kernel_stat){name, value};
	return 1;
}

/*
 * The kernel's counts of this replica's own af_packet queue socket: what it
 * gave the queue, what the ring dropped, what the fanout moved elsewhere.
 * Summed over replicas they are the port's.
 */
static unsigned
queue_socket_stats(const struct port_reader *reader, struct kernel_stat *stats)
{
	struct queue_sockets *sockets = &reader->record->sockets;
	struct queue_socket *socket;

	if (reader->queue >= sockets->count) {
		stats[0] = (struct kernel_stat){"socket_drops" KERNEL_STAT_UNKNOWN_SUFFIX, 1};
		return 1;
	}
	socket = &sockets->queues[reader->queue];
	queue_socket_read(socket);
	stats[0] = (struct kernel_stat){"socket_drops", socket->drops};
	stats[1] = (struct kernel_stat){"kernel_received", socket->frames};
	stats[2] = (struct kernel_stat){"fanout_rollover", socket->rolled_over};
	return 3;
}

/* Device-wide drops belong to the replica that owns the device, counted once. */
static unsigned
device_stats(const struct port_reader *reader, const struct rte_eth_stats *port,
	     struct kernel_stat *stats)
{
	unsigned count = drop_stat(reader->drops->imissed, "nic_imissed",
				   "nic_imissed" KERNEL_STAT_UNKNOWN_SUFFIX, port->imissed, stats);

	stats[count++] = (struct kernel_stat){"nic_ierrors", port->ierrors};
	stats[count++] = (struct kernel_stat){"nic_rx_nombuf", port->rx_nombuf};
	return count + drop_stat(reader->drops->socket_drops == DROPS_DAEMON_COUNTS
					 ? DROPS_NOT_APPLICABLE : reader->drops->socket_drops,
				 "socket_drops", "socket_drops" KERNEL_STAT_UNKNOWN_SUFFIX, 0,
				 &stats[count]);
}

/* Runs on the control thread only: it makes system calls and updates the port's record. */
unsigned
source_port_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	struct port_reader *reader = instance->state;
	struct rte_eth_stats port = {0};
	unsigned count = source_packet_stats(&reader->counts, stats);

	if (reader->drops == NULL || !reader->queue_active ||
	    rte_eth_stats_get(reader->port_id, &port) != 0)
		return count;
	/* per-queue counters exist for the first RTE_ETHDEV_QUEUE_STAT_CNTRS queues */
	if (reader->queue < RTE_ETHDEV_QUEUE_STAT_CNTRS)
		stats[count++] = (struct kernel_stat){"queue_received", port.q_ipackets[reader->queue]};
	if (reader->owns_device)
		count += device_stats(reader, &port, &stats[count]);
	if (reader->drops->socket_drops == DROPS_DAEMON_COUNTS)
		count += queue_socket_stats(reader, &stats[count]);
	return count;
}

void
source_port_destroy(struct kernel_instance *instance)
{
	struct port_reader *reader = instance->state;

	if (reader == NULL)
		return;
	if (reader->owns_device) {
		queue_sockets_release(&reader->record->sockets);
		memset(reader->record, 0, sizeof(*reader->record));
		rte_eth_dev_stop(reader->port_id);
		rte_eth_dev_close(reader->port_id);
	}
	free(reader);
	instance->state = NULL;
}
