/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK port reader of the source kernel. Replica i polls receive queue i;
 * replica 0 configures and starts the device for all of them (the graph
 * initialises replicas in order).
 */
/* rte_devargs_reset(), the only way to free what rte_devargs_parse() allocates */
#define ALLOW_EXPERIMENTAL_API
#define _GNU_SOURCE /* dladdr() */
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
#include "log.h"
#include "packet.h"

#define RECEIVE_DESCRIPTORS 4096

/* Most queues of a port (source `queues:` maximum), hence most af_packet queue sockets. */
#define MAX_QUEUE_SOCKETS 64

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

/* The kernel's counters of one port's af_packet queue sockets, summed over them. */
struct queue_sockets {
	int fds[MAX_QUEUE_SOCKETS];
	unsigned count;           /* 0: not found, socket drops unknown */
	/* cp: rw. Each PACKET_STATISTICS read returns and resets the kernel's counters. */
	uint64_t frames;          /* tp_packets: frames the kernel gave the socket, dropped ones included */
	uint64_t drops;           /* tp_drops: of those, frames the ring had no room for */
};

struct port_reader {
	uint16_t port_id;
	uint16_t queue;
	bool queue_active;     /* false: the device has fewer queues than asked for */
	bool owns_device;      /* replica 0: stops and closes it */
	bool draining;         /* stop requested: empty the queue, then finish */
	unsigned drain_left;   /* packets the queue can still hold from before the stop */
	const struct driver_drops *drops; /* owner only: how the driver reports its drops */
	struct queue_sockets sockets;     /* owner of an af_packet port only */
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

/* The vdev string to probe: @p device, with a burst-sized ring for af_packet. */
static void
probe_string(const char *device, char *probe, size_t size)
{
	if (is_af_packet(device) && strstr(device, "framecnt=") == NULL)
		snprintf(probe, size, "%s,framecnt=%u", device, AF_PACKET_DEFAULT_FRAMES);
	else
		snprintf(probe, size, "%s", device);
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

/* The interface an af_packet device string names (`iface=`), into @p name. */
static void
device_interface(const char *device, char *name, size_t size)
{
	const char *arguments = strchr(device, ',');
	struct rte_kvargs *pairs = arguments != NULL ? rte_kvargs_parse(arguments + 1, NULL) : NULL;
	const char *interface = pairs != NULL ? rte_kvargs_get(pairs, "iface") : NULL;

	/* the same key=value parser as the device check and the driver */
	snprintf(name, size, "%s", interface != NULL ? interface : "");
	rte_kvargs_free(pairs);
}

/* Find the port of @p device, hot-plugging a vdev that EAL has not probed. */
static int
find_port(struct kernel_instance *instance, const char *device, uint16_t *port_id)
{
	char name[RTE_ETH_NAME_MAX_LEN], probe[512];
	int result;

	source_port_device_name(device, name, sizeof(name));
	if (rte_eth_dev_get_port_by_name(name, port_id) == 0)
		return 0;
	probe_string(device, probe, sizeof(probe));
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

static const uint8_t symmetric_rss_key[40] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

static void
configure_rss(const struct rte_eth_dev_info *info, const char *device, uint16_t *queues,
	      struct rte_eth_conf *configuration)
{
	if (*queues <= 1)
		return;
	/*
	 * af_packet has no RSS, but its queue sockets form a PACKET_FANOUT group
	 * that the kernel spreads by flow hash: every socket receives, so every
	 * queue must be read (with one queue configured, the frames of the
	 * others were never read).
	 */
	if (info->driver_name != NULL && strcmp(info->driver_name, "net_af_packet") == 0 &&
	    info->max_rx_queues >= *queues)
		return;
	if (info->flow_type_rss_offloads == 0 || info->max_rx_queues < *queues) {
		log_warning("port '%s' cannot spread packets over %u queues (no RSS, or at most %u "
			    "queues): using one queue; the other source replicas stay idle",
			    device, *queues, info->max_rx_queues);
		*queues = 1;
		return;
	}
	configuration->rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
	configuration->rx_adv_conf.rss_conf.rss_hf =
		info->flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
	/*
	 * A key of one repeated 16-bit pattern makes Toeplitz RSS symmetric: both
	 * directions of a flow land in one queue. Kernels that need that are fed
	 * by a symmetric software hash anyway, so a device that cannot take the
	 * key only costs an extra hop, never correctness.
	 */
	if (info->hash_key_size == sizeof(symmetric_rss_key)) {
		configuration->rx_adv_conf.rss_conf.rss_key = (uint8_t *)(uintptr_t)symmetric_rss_key;
		configuration->rx_adv_conf.rss_conf.rss_key_len = sizeof(symmetric_rss_key);
	} else {
		log_info("port '%s': RSS key of %u bytes cannot be set symmetric; replicas are fed "
			 "by the software flow hash",
			 device, info->hash_key_size);
	}
}

static int
start_device(struct kernel_instance *instance, uint16_t port_id, uint16_t queues)
{
	const struct source_params *params = instance->params;
	struct rte_eth_conf configuration = {0};
	struct rte_eth_dev_info info;
	uint16_t receive_descriptors = RECEIVE_DESCRIPTORS, transmit_descriptors = 512;
	int result = rte_eth_dev_info_get(port_id, &info);

	if (result != 0)
		return result;
	configure_rss(&info, params->port, &queues, &configuration);
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

/* Queue sockets claimed by a port reader. cp: rw (init and destroy run on the control thread). */
static int claimed_sockets[MAX_QUEUE_SOCKETS * 4];
static unsigned claimed_socket_count;

static bool
socket_is_claimed(int fd)
{
	for (unsigned c = 0; c < claimed_socket_count; c++)
		if (claimed_sockets[c] == fd)
			return true;
	return false;
}

static void
claim_sockets(const struct queue_sockets *sockets)
{
	for (unsigned s = 0; s < sockets->count && claimed_socket_count < RTE_DIM(claimed_sockets);
	     s++)
		claimed_sockets[claimed_socket_count++] = sockets->fds[s];
}

static void
release_sockets(const struct queue_sockets *sockets)
{
	for (unsigned s = 0; s < sockets->count; s++)
		for (unsigned c = 0; c < claimed_socket_count; c++)
			if (claimed_sockets[c] == sockets->fds[s]) {
				claimed_sockets[c] = claimed_sockets[--claimed_socket_count];
				break;
			}
}

/*
 * true when @p fd is a queue socket of DPDK's af_packet driver on interface
 * @p ifindex: a packet socket bound to it, with a TPACKET_V2 ring (the
 * driver's; libpcap, for one, uses TPACKET_V3).
 */
static bool
is_queue_socket(int fd, unsigned ifindex)
{
	struct sockaddr_ll address;
	socklen_t length = sizeof(address);
	int domain, version;
	socklen_t option_length = sizeof(domain);
	struct stat status;

	if (fstat(fd, &status) != 0 || !S_ISSOCK(status.st_mode))
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &option_length) != 0 ||
	    domain != AF_PACKET)
		return false;
	if (getsockname(fd, (struct sockaddr *)&address, &length) != 0 ||
	    address.sll_family != AF_PACKET || (unsigned)address.sll_ifindex != ifindex)
		return false;
	option_length = sizeof(version);
	return getsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, &option_length) == 0 &&
	       version == TPACKET_V2;
}

/*
 * The af_packet driver keeps its sockets private, and DPDK 22.11 reports none
 * of their drops; the kernel counts them per socket (PACKET_STATISTICS). So
 * the sockets are found among the process's descriptors: af_packet queue
 * sockets on the device's interface that no other port reader has claimed.
 * The driver opens them when the device is probed, one per queue pair, and
 * this runs right after, so another such device on the same interface
 * (probed earlier, or later) has claimed its own or has none yet. Any other
 * count than one per queue leaves the drops unknown rather than wrong.
 * Reading the kernel's counters costs one system call per queue, on the
 * control thread only, when figures are reported; the receive path is the
 * driver's unchanged, so its speed is too.
 */
static void
find_queue_sockets(const char *device, uint16_t queues, struct queue_sockets *sockets)
{
	char interface[IF_NAMESIZE + 1];
	unsigned ifindex, found = 0;
	DIR *directory;
	struct dirent *entry;

	device_interface(device, interface, sizeof(interface));
	ifindex = if_nametoindex(interface);
	directory = ifindex != 0 ? opendir("/proc/self/fd") : NULL;
	if (directory == NULL) {
		log_warning("port '%s': cannot list the af_packet sockets (%s): socket ring drops "
			    "are unknown", device, ifindex == 0 ? "no such interface" : strerror(errno));
		return;
	}
	while ((entry = readdir(directory)) != NULL) {
		int fd = isdigit((unsigned char)entry->d_name[0]) ? atoi(entry->d_name) : -1;

		if (fd < 0 || fd == dirfd(directory) || socket_is_claimed(fd) ||
		    !is_queue_socket(fd, ifindex))
			continue;
		if (found < MAX_QUEUE_SOCKETS)
			sockets->fds[found] = fd;
		found++;
	}
	closedir(directory);
	if (found != queues) {
		log_warning("port '%s': found %u af_packet sockets on '%s', expected one per queue "
			    "(%u): socket ring drops are unknown", device, found, interface, queues);
		return;
	}
	sockets->count = found;
	claim_sockets(sockets);
}

/* Add what the kernel counted since the last read; each read resets its counters. */
static void
read_queue_sockets(struct queue_sockets *sockets)
{
	for (unsigned s = 0; s < sockets->count; s++) {
		struct tpacket_stats kernel = {0};
		socklen_t length = sizeof(kernel);

		if (getsockopt(sockets->fds[s], SOL_PACKET, PACKET_STATISTICS, &kernel, &length) != 0)
			continue;
		/* the kernel adds the drops into tp_packets as it reports them */
		sockets->frames += kernel.tp_packets;
		sockets->drops += kernel.tp_drops;
	}
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
	reader->drops = find_driver_drops(info->driver_name);
	if (reader->drops->socket_drops == DROPS_DAEMON_COUNTS) {
		find_queue_sockets(device, info->max_rx_queues, &reader->sockets);
		read_queue_sockets(&reader->sockets);
	}
	if (reader->drops->not_counted != NULL)
		log_warning("port '%s' (driver %s): %s are not counted; the summary shows them as "
			    "unknown", device, info->driver_name, reader->drops->not_counted);
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
	result = find_port(instance, params->port, &reader->port_id);
	if (result != 0)
		return result;
	reader->queue = (uint16_t)instance->replica;
	if (instance->replica == 0) {
		result = start_device(instance, reader->port_id, (uint16_t)params->queues);
		if (result != 0)
			return result;
		reader->owns_device = true;
	}
	result = rte_eth_dev_info_get(reader->port_id, &info);
	if (result != 0)
		return result;
	reader->queue_active = reader->queue < info.nb_rx_queues;
	if (reader->owns_device)
		set_up_drop_counting(reader, params->port, &info);
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

/* Runs on the control thread only: it makes system calls and updates reader->sockets. */
unsigned
source_port_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	struct port_reader *reader = instance->state;
	struct rte_eth_stats port = {0};
	unsigned count = source_packet_stats(&reader->counts, stats);
	enum drop_report socket_report;

	/* device-wide drops belong to the replica that owns the device, counted once */
	if (!reader->owns_device || reader->drops == NULL ||
	    rte_eth_stats_get(reader->port_id, &port) != 0)
		return count;
	count += drop_stat(reader->drops->imissed, "nic_imissed",
			   "nic_imissed" KERNEL_STAT_UNKNOWN_SUFFIX, port.imissed, &stats[count]);
	stats[count++] = (struct kernel_stat){"nic_ierrors", port.ierrors};
	stats[count++] = (struct kernel_stat){"nic_rx_nombuf", port.rx_nombuf};
	socket_report = reader->drops->socket_drops;
	if (socket_report == DROPS_DAEMON_COUNTS) {
		read_queue_sockets(&reader->sockets);
		socket_report = reader->sockets.count > 0 ? DROPS_REPORTED : DROPS_UNKNOWN;
	}
	count += drop_stat(socket_report, "socket_drops",
			   "socket_drops" KERNEL_STAT_UNKNOWN_SUFFIX, reader->sockets.drops,
			   &stats[count]);
	if (socket_report == DROPS_REPORTED)
		stats[count++] = (struct kernel_stat){"kernel_received", reader->sockets.frames};
	return count;
}

void
source_port_destroy(struct kernel_instance *instance)
{
	struct port_reader *reader = instance->state;

	if (reader == NULL)
		return;
	if (reader->owns_device) {
		release_sockets(&reader->sockets);
		rte_eth_dev_stop(reader->port_id);
		rte_eth_dev_close(reader->port_id);
	}
	free(reader);
	instance->state = NULL;
}
