/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The systemd notifications. Nothing else in the daemon includes
 * <systemd/sd-daemon.h>, so the protocol's texts can be read in one file.
 */
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "notify.h"

/* systemd compares MONOTONIC_USEC with its own CLOCK_MONOTONIC reading */
static uint64_t
monotonic_microseconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
}

void
notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
notify_reloading(void)
{
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   (unsigned long long)monotonic_microseconds());
}

void
notify_reload_failed(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=reload failed: %s", status);
}

void
notify_tick(const struct status_snapshot *snapshot)
{
	(void)snapshot; /* STATUS= and WATCHDOG=1: to come */
}

void
notify_stopping(void)
{
	/* both a stop signal and the end of main() announce the stop; systemd needs it once */
	static bool sent;

	if (!sent)
		sd_notify(0, "STOPPING=1");
	sent = true;
}
