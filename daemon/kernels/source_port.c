/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The DPDK port reader of the source kernel. Replica i polls receive queue i;
 * replica 0 configures and starts the device for all of them (the graph
 * initialises replicas in order).
 */
/* rte_devargs_reset(), the only way to free what rte_devargs_parse() allocates */
#define ALLOW_EXPERIMENTAL_API
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>
#include <rte_kvargs.h>
#include <rte_log.h>

#include "kernels/source.h"
#include "log.h"
#include "packet.h"
#include "runtime.h"

#define RECEIVE_DESCRIPTORS 4096

struct port_reader {
	uint16_t port_id;
	uint16_t queue;
	bool queue_active;     /* false: the device has fewer queues than asked for */
	bool owns_device;      /* replica 0: stops and closes it */
	bool draining;         /* stop requested: empty the queue, then finish */
	unsigned drain_left;   /* packets the queue can still hold from before the stop */
	struct source_packet_counts counts;
};

bool
source_port_is_pci(const char *device)
{
	unsigned domain, bus, slot, function;
	char end;

	return sscanf(device, "%x:%x:%x.%x%c", &domain, &bus, &slot, &function, &end) == 4 ||
	       sscanf(device, "%x:%x.%x%c", &bus, &slot, &function, &end) == 3;
}

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

/* The vdev string to probe: @p device, with a burst-sized ring for af_packet. */
static void
probe_string(const char *device, char *probe, size_t size)
{
	if (strncmp(device, "net_af_packet", strlen("net_af_packet")) == 0 &&
	    strstr(device, "framecnt=") == NULL)
		snprintf(probe, size, "%s,framecnt=%u", device, AF_PACKET_DEFAULT_FRAMES);
	else
		snprintf(probe, size, "%s", device);
}

/*
 * DPDK's drivers (and the vdev and PCI buses) are plugins that EAL loads in
 * rte_eal_init(); before that rte_devargs_parse() knows no bus and refuses
 * every device. --check runs without EAL, so the plugins are loaded here, from
 * the directory EAL itself loads them from; EAL's own dlopen() of the same
 * files later finds them loaded. Measured: 40 ms, once.
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
	result = source_port_is_pci(device) ? -ENODEV : rte_dev_probe(probe);
	if (result == 0)
		result = rte_eth_dev_get_port_by_name(name, port_id);
	if (result != 0) {
		snprintf(instance->error, sizeof(instance->error),
			 "no DPDK port for '%s' (%s)%s", device, strerror(-result),
			 source_port_is_pci(device) ? ": is it bound to vfio-pci?" : "");
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
	unsigned budget = RTE_MIN(kernel_output_budget(instance), (unsigned)KERNEL_BURST);
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
	if (budget == 0) {
		/* the NIC keeps receiving; what overflows its queue shows as imissed */
		instance->counters.backpressure++;
		return 0;
	}
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
	now = runtime_now_ns();
	for (uint16_t i = 0; i < received; i++) {
		parse_packet(packets[i], now);
		source_count_packet(&reader->counts, packet_meta(packets[i]));
	}
	kernel_emit_packets(instance, packets, received);
	return received;
}

unsigned
source_port_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	const struct port_reader *reader = instance->state;
	struct rte_eth_stats port = {0};
	unsigned count = source_packet_stats(&reader->counts, stats);

	/* device-wide drops belong to the replica that owns the device, counted once */
	if (reader->owns_device && rte_eth_stats_get(reader->port_id, &port) == 0) {
		stats[count++] = (struct kernel_stat){"nic_imissed", port.imissed};
		stats[count++] = (struct kernel_stat){"nic_ierrors", port.ierrors};
		stats[count++] = (struct kernel_stat){"nic_rx_nombuf", port.rx_nombuf};
	}
	return count;
}

void
source_port_destroy(struct kernel_instance *instance)
{
	struct port_reader *reader = instance->state;

	if (reader == NULL)
		return;
	if (reader->owns_device) {
		rte_eth_dev_stop(reader->port_id);
		rte_eth_dev_close(reader->port_id);
	}
	free(reader);
	instance->state = NULL;
}
