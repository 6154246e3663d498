/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * What a device string names, read without asking DPDK (before the EAL
 * starts, the daemon decides from it whether to scan the PCI bus).
 */
#ifndef JETSTREAM_DEVICE_NAME_H
#define JETSTREAM_DEVICE_NAME_H

#include <stdbool.h>

/** true when @p device is a PCI address (`0000:01:00.0` or `01:00.0`), not a vdev string. */
bool device_name_is_pci(const char *device);

#endif
