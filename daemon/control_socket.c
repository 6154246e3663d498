/* SPDX-License-Identifier: BSD-3-Clause */
#include "control_socket.h"

int
control_socket_open(const struct daemon_settings *settings, char *error, size_t error_size)
{
	(void)settings;
	(void)error;
	(void)error_size;
	return 0;
}

void
control_socket_serve(void)
{
}

void
control_socket_close(void)
{
}
