/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The kernel's counters of an af_packet port's queue sockets, one per queue:
 * DPDK 22.11's af_packet driver reports none of the frames its socket rings
 * drop, nor the frames the kernel's fanout moved to another queue, so the
 * daemon finds the driver's sockets and asks the kernel. Control thread only.
 */
#ifndef JETSTREAM_KERNELS_SOURCE_PORT_SOCKETS_H
#define JETSTREAM_KERNELS_SOURCE_PORT_SOCKETS_H

#include <stdint.h>

/** Most queues of a port (source `queues:` maximum), hence most af_packet queue sockets. */
#define MAX_QUEUE_SOCKETS 64

/** One queue's socket and what the kernel counted on it. */
struct queue_socket {
	int fd;
	/* Each PACKET_STATISTICS read returns and resets the kernel's counters: summed here. */
	uint64_t frames;   /**< tp_packets: frames the kernel gave the socket, dropped ones included */
	uint64_t drops;    /**< tp_drops: of those, frames the ring had no room for */
	/**
	 * PACKET_ROLLOVER_STATS tp_all (the kernel keeps the total): frames the
	 * fanout hash chose this queue for but that went to another, because
	 * this ring was full or nearly full (the driver sets
	 * PACKET_FANOUT_FLAG_ROLLOVER). Not a loss, but a flow whose frames
	 * rolled over is split across queues.
	 */
	uint64_t rolled_over;
};

/** The queue sockets of one port, in queue order. */
struct queue_sockets {
	struct queue_socket queues[MAX_QUEUE_SOCKETS];
	unsigned count; /**< 0: not found; socket drops are unknown */
};

/**
 * Find the queue sockets of the af_packet device @p device on @p interface
 * (@p queues of them) and claim them; logs a warning and leaves count 0 when
 * the count is not one per queue.
 */
void queue_sockets_find(const char *device, const char *interface, unsigned queues,
			struct queue_sockets *sockets);

/** Add what the kernel counted on @p socket since the last read. */
void queue_socket_read(struct queue_socket *socket);

/** Give the sockets back (the device closes them). */
void queue_sockets_release(struct queue_sockets *sockets);

#endif
