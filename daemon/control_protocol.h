/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The control socket's bounds, in one place for the daemon
 * (control_socket.c, control_commands.c) and jetstreamctl (ctl/): what one
 * side enforces, the other side expects. libc only: jetstreamctl is built
 * without DPDK.
 */
#ifndef JETSTREAM_CONTROL_PROTOCOL_H
#define JETSTREAM_CONTROL_PROTOCOL_H

/**
 * Largest reply line, newline included: a status of CONFIG_MAX_KERNELS
 * kernels of many replicas stays below it. The daemon sends an error
 * instead of a longer reply; a client takes nothing longer.
 */
#define CONTROL_REPLY_MAX (16u << 20)

/**
 * Seconds a reload's reply may wait for the reload (which waits while the
 * previous one drains: milliseconds; seconds with a sink stalled on a full
 * disk). Past it the daemon replies with an error.
 */
#define CONTROL_RELOAD_TIMEOUT_S 60u

/**
 * Seconds a client may take to send a request line or to read its reply,
 * and a `check` may wait for its turn (checks run one per wake-up of the
 * control thread, in turn across clients).
 */
#define CONTROL_CLIENT_TIMEOUT_S 5u

/**
 * Bytes of files one `check` may read in all (settings and pipeline files;
 * each file's size is taken before it is read): a check runs on the control
 * thread, so its cost is bounded.
 */
#define CONTROL_CHECK_BYTES_MAX (16u << 20)

/**
 * Seconds a client waits for a reply beyond the daemon's own bound, for the
 * daemon's error reply to arrive rather than a bare timeout.
 */
#define CONTROL_CLIENT_MARGIN_S 10u

#endif
