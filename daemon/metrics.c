/* SPDX-License-Identifier: BSD-3-Clause */
#include "metrics.h"

int
metrics_open(const struct daemon_settings *settings, char *error, size_t error_size)
{
	(void)settings;
	(void)error;
	(void)error_size;
	return 0;
}

void
metrics_serve(void)
{
}

void
metrics_close(void)
{
}
