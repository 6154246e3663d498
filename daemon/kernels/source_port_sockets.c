/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Finding and reading the af_packet driver's queue sockets (see the header).
 * Reading the kernel's counters costs one system call per queue, on the
 * control thread only, when figures are reported; the receive path is the
 * driver's unchanged, so its speed is too.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <rte_common.h>

#include "kernels/source_port_sockets.h"
#include "log.h"

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
		claimed_sockets[claimed_socket_count++] = sockets->queues[s].fd;
}

void
queue_sockets_release(struct queue_sockets *sockets)
{
	for (unsigned s = 0; s < sockets->count; s++)
		for (unsigned c = 0; c < claimed_socket_count; c++)
			if (claimed_sockets[c] == sockets->queues[s].fd) {
				claimed_sockets[c] = claimed_sockets[--claimed_socket_count];
				break;
			}
	sockets->count = 0;
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

static int
compare_sockets(const void *a, const void *b)
{
	const struct queue_socket *left = a, *right = b;

	return (left->fd > right->fd) - (left->fd < right->fd);
}

/*
 * The af_packet driver keeps its sockets private, so they are found among the
 * process's descriptors: af_packet queue sockets on the device's interface
 * that no other port reader has claimed. The driver opens them when the
 * device is probed, one per queue pair in queue order, and closes nothing in
 * between, so each takes the lowest free descriptor and their numbers rise
 * with the queue: sorted, socket i is queue i's. This runs right after the
 * probe, so another such device on the same interface (probed earlier, or
 * later) has claimed its own or has none yet. Any other count than one per
 * queue leaves the drops unknown rather than wrong.
 */
void
queue_sockets_find(const char *device, const char *interface, unsigned queues,
		   struct queue_sockets *sockets)
{
	unsigned ifindex = if_nametoindex(interface), found = 0;
	DIR *directory = ifindex != 0 ? opendir("/proc/self/fd") : NULL;
	struct dirent *entry;

	sockets->count = 0;
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
			sockets->queues[found] = (struct queue_socket){.fd = fd};
		found++;
	}
	closedir(directory);
	if (found != queues) {
		log_warning("port '%s': found %u af_packet sockets on '%s', expected one per queue "
			    "(%u): socket ring drops are unknown", device, found, interface, queues);
		return;
	}
	qsort(sockets->queues, found, sizeof(sockets->queues[0]), compare_sockets);
	sockets->count = found;
	claim_sockets(sockets);
}

void
queue_socket_read(struct queue_socket *socket)
{
	struct tpacket_stats kernel = {0};
	struct tpacket_rollover_stats rollover = {0};
	socklen_t length = sizeof(kernel);

	if (getsockopt(socket->fd, SOL_PACKET, PACKET_STATISTICS, &kernel, &length) == 0) {
		/* the kernel adds the drops into tp_packets as it reports them */
		socket->frames += kernel.tp_packets;
		socket->drops += kernel.tp_drops;
	}
	length = sizeof(rollover);
	/* EINVAL when the fanout group has no rollover: then nothing ever rolls over */
	if (getsockopt(socket->fd, SOL_PACKET, PACKET_ROLLOVER_STATS, &rollover, &length) == 0)
		socket->rolled_over = rollover.tp_all;
}
