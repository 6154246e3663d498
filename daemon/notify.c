/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The systemd notifications. Nothing else in the daemon includes
 * <systemd/sd-daemon.h>, so the protocol's texts can be read in one file.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "accounting.h"
#include "clock.h"
#include "notify.h"
#include "status.h"

/*
 * The first error of the last refused reload, until a reload succeeds: the
 * STATUS= of each tick repeats it, so that `systemctl status` still shows
 * why after the next second's figures. Control thread only.
 */
static char reload_failure[512];

void
notify_ready(const char *status)
{
	reload_failure[0] = '\0';
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
notify_reloading(void)
{
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
		   /* systemd compares it with its own CLOCK_MONOTONIC reading */
		   (unsigned long long)(clock_monotonic_ns() / 1000u));
}

void
notify_reload_failed(const char *status)
{
	snprintf(reload_failure, sizeof(reload_failure), "%s", status);
	sd_notifyf(0, "READY=1\nSTATUS=reload failed: %s", status);
}

static bool
same_threads(const struct notify_progress *progress, const struct status_snapshot *snapshot)
{
	if (!progress->known || progress->count != snapshot->lcore_count)
		return false;
	for (unsigned l = 0; l < snapshot->lcore_count; l++)
		if (progress->lcores[l] != snapshot->lcores[l].lcore)
			return false;
	return true;
}

bool
notify_progress_check(struct notify_progress *progress, const struct status_snapshot *snapshot)
{
	unsigned count = snapshot->lcore_count < NOTIFY_MAX_THREADS ? snapshot->lcore_count
								    : NOTIFY_MAX_THREADS;
	bool progressed = same_threads(progress, snapshot);

	for (unsigned l = 0; l < count; l++) {
		if (progressed && snapshot->lcores[l].rounds == progress->rounds[l])
			progressed = false;
		progress->lcores[l] = snapshot->lcores[l].lcore;
		progress->rounds[l] = snapshot->lcores[l].rounds;
	}
	progress->count = count;
	progress->known = true;
	return progressed;
}

/* the sum the exit summary prints: every named drop place a device can report */
static uint64_t
dropped_packets(const struct status_snapshot *snapshot)
{
	uint64_t drops = 0;

	for (unsigned i = 0; i < snapshot->instance_count; i++)
		drops += accounting_known_drops(&snapshot->instances[i].totals);
	return drops;
}

/* a source instance with a drop its device cannot count (accounting.h) */
static bool
drops_unknown_at(const struct status_instance *instance)
{
	uint64_t value;

	if (!instance->is_source)
		return false;
	for (unsigned d = 0; d < ACCOUNTING_DROP_COUNT; d++)
		if (accounting_drop(&instance->totals, (enum accounting_drop)d, &value) ==
		    ACCOUNTING_UNKNOWN)
			return true;
	return false;
}

/*
 * The source kernels with a drop their device cannot count, each once
 * whatever its replicas, as the exit summary counts them: their drops are
 * not in the sum.
 */
static unsigned
unknown_drop_sources(const struct status_snapshot *snapshot)
{
	unsigned sources = 0;

	for (unsigned i = 0; i < snapshot->instance_count; i++) {
		bool counted = false;

		if (!drops_unknown_at(&snapshot->instances[i]))
			continue;
		for (unsigned earlier = 0; earlier < i && !counted; earlier++)
			counted = drops_unknown_at(&snapshot->instances[earlier]) &&
				  strcmp(snapshot->instances[earlier].kernel,
					 snapshot->instances[i].kernel) == 0;
		sources += !counted;
	}
	return sources;
}

void
notify_status_text(const struct status_snapshot *snapshot, char *text, size_t size)
{
	uint64_t packets;
	double packets_per_second;
	unsigned unknown_sources = unknown_drop_sources(snapshot);
	int used;

	status_source_totals(snapshot, &packets, &packets_per_second);
	used = snprintf(text, size, "generation %u: %.0f pps, %" PRIu64 " packets, %" PRIu64 " dropped",
			snapshot->generation, packets_per_second, packets, dropped_packets(snapshot));
	/* as the exit summary says it: a device that cannot count its drops is not "0 dropped" */
	if (unknown_sources > 0 && used >= 0 && (size_t)used < size)
		snprintf(text + used, size - (size_t)used, "; drops unknown at %u source%s",
			 unknown_sources, unknown_sources > 1 ? "s" : "");
}

/*
 * A worker that stops polling (a kernel in an endless loop, a lock-up) stops
 * the pings, and systemd kills and restarts the service after WatchdogSec=
 * without one. A process that merely runs (the control thread alive) is not
 * enough: the control thread never waits on the workers, so only their
 * rounds tell.
 */
void
notify_tick(const struct status_snapshot *snapshot)
{
	static struct notify_progress progress; /* control thread only */
	bool progressed = notify_progress_check(&progress, snapshot);
	char status[160];
	const char *separator = reload_failure[0] != '\0' ? "; reload failed: " : "";

	notify_status_text(snapshot, status, sizeof(status));
	/* sd_watchdog_enabled() reads WATCHDOG_USEC (and WATCHDOG_PID) of the environment */
	sd_notifyf(0, "%sSTATUS=%s%s%s",
		   progressed && sd_watchdog_enabled(0, NULL) > 0 ? "WATCHDOG=1\n" : "", status,
		   separator, reload_failure);
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
