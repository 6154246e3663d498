/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * `jetstreamctl top`: the status table, sorted by rate, redrawn every
 * second with plain ANSI/VT100 escapes (any xterm-like terminal, over ssh
 * too), until `q`, SIGINT or SIGTERM. The terminal's mode is restored
 * whichever way it ends.
 */
#ifndef JETSTREAMCTL_TOP_H
#define JETSTREAMCTL_TOP_H

/** @return an exit status (ctl_client.h). */
int ctl_top(const char *socket_path);

#endif
