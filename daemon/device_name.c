/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdio.h>

#include "device_name.h"

bool
device_name_is_pci(const char *device)
{
	unsigned domain, bus, slot, function;
	char end;

	return sscanf(device, "%x:%x:%x.%x%c", &domain, &bus, &slot, &function, &end) == 4 ||
	       sscanf(device, "%x:%x.%x%c", &bus, &slot, &function, &end) == 3;
}
