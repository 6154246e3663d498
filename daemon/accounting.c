/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Drop places and statistic kinds (accounting.h). The statistic table lists
 * every name the built-in kernels' stats() report (daemon/kernels/); a test
 * keeps it complete.
 */
#include <stdio.h>
#include <string.h>

#include <rte_common.h>

#include "accounting.h"

static const char *const drop_names[ACCOUNTING_DROP_COUNT] = {
	[ACCOUNTING_DROP_NIC_IMISSED] = "nic_imissed",
	[ACCOUNTING_DROP_NIC_RX_NOMBUF] = "nic_rx_nombuf",
	[ACCOUNTING_DROP_SOCKET_DROPS] = "socket_drops",
	[ACCOUNTING_DROP_RING_OVERFLOW] = "ring_overflow",
};

/* the statistics of the reasons but write_failed, which is a file sink's dropped_records */
static const char *const record_drop_stats[ACCOUNTING_RECORD_DROP_COUNT] = {
	[ACCOUNTING_RECORD_DROP_WRITE_FAILED] = NULL,
	[ACCOUNTING_RECORD_DROP_SINK_FULL] = "dropped_sink_full",
	[ACCOUNTING_RECORD_DROP_REFUSED] = "dropped_refused",
	[ACCOUNTING_RECORD_DROP_DRAIN_TIMEOUT] = "dropped_drain_timeout",
};

static const char *const record_drop_names[ACCOUNTING_RECORD_DROP_COUNT] = {
	[ACCOUNTING_RECORD_DROP_WRITE_FAILED] = "write_failed",
	[ACCOUNTING_RECORD_DROP_SINK_FULL] = "sink_full",
	[ACCOUNTING_RECORD_DROP_REFUSED] = "refused",
	[ACCOUNTING_RECORD_DROP_DRAIN_TIMEOUT] = "drain_timeout",
};

struct stat_row {
	const char *name;
	enum accounting_stat_kind kind;
	const char *help;
};

static const struct stat_row stat_rows[] = {
	/* sources */
	{"packets", ACCOUNTING_STAT_COUNTER, "Packets a source read, or a null sink discarded."},
	{"bytes", ACCOUNTING_STAT_COUNTER,
	 "Wire bytes (frame.len) of the packets a source read, or payload bytes a networked sink "
	 "delivered."},
	{"non_ip_packets", ACCOUNTING_STAT_COUNTER, "Packets without an IP header."},
	{"malformed_packets", ACCOUNTING_STAT_COUNTER,
	 "Packets with a damaged header (processed, not dropped)."},
	{"mempool_waits", ACCOUNTING_STAT_COUNTER, "Polls a source waited for a free mbuf."},
	{"passes", ACCOUNTING_STAT_COUNTER, "Passes of a pcap file read to its end."},
	{"mapped_files", ACCOUNTING_STAT_COUNTER,
	 "pcap files read mapped, their frames handed out in place (the others through libpcap)."},
	{"nic_ierrors", ACCOUNTING_STAT_COUNTER,
	 "Frames the NIC found broken (not part of the accounting equation)."},
	{"kernel_received", ACCOUNTING_STAT_COUNTER,
	 "Frames the kernel gave the af_packet sockets, dropped ones included."},
	{"queue_received", ACCOUNTING_STAT_COUNTER,
	 "Frames the device delivered to this replica's receive queue (the driver's q_ipackets)."},
	{"fanout_rollover", ACCOUNTING_STAT_COUNTER,
	 "Frames the kernel's af_packet fanout meant for this queue but moved to another, its ring "
	 "being (nearly) full: not lost, but their flows are split across replicas."},
	{"nic_imissed", ACCOUNTING_STAT_DROP, NULL},
	{"nic_rx_nombuf", ACCOUNTING_STAT_DROP, NULL},
	{"socket_drops", ACCOUNTING_STAT_DROP, NULL},
	/* per_src_counter, proto_stats, flow_tracker, threshold */
	{"records", ACCOUNTING_STAT_COUNTER, "Records a kernel emitted, or a sink wrote."},
	{"unkeyed_packets", ACCOUNTING_STAT_COUNTER, "Packets without the counter's key (no IP)."},
	{"overflow_packets", ACCOUNTING_STAT_COUNTER,
	 "Packets of keys beyond max_sources in their window (counted, not keyed)."},
	{"overflow_bytes", ACCOUNTING_STAT_COUNTER, "Wire bytes of the overflow packets."},
	{"alerts", ACCOUNTING_STAT_COUNTER, "Alert records emitted."},
	{"keys_outside_groups", ACCOUNTING_STAT_COUNTER,
	 "Records of keys in no threshold group, with no default group or above: (not alerted)."},
	{"alerts_started", ACCOUNTING_STAT_COUNTER, "Lifecycle alerts started (state: start)."},
	{"alerts_updated", ACCOUNTING_STAT_COUNTER, "Lifecycle alert update records emitted."},
	{"alerts_ended", ACCOUNTING_STAT_COUNTER, "Lifecycle alerts ended (state: end)."},
	{"alerts_open", ACCOUNTING_STAT_GAUGE, "Lifecycle alerts open now."},
	{"alerts_not_opened", ACCOUNTING_STAT_COUNTER,
	 "Records of keys above their limit that opened no alert, max_alerts being open (not "
	 "alerted)."},
	{"flows_created", ACCOUNTING_STAT_COUNTER, "Flows the tracker created."},
	{"flows_active", ACCOUNTING_STAT_GAUGE, "Flows in the tracker's table now."},
	{"evicted_flows", ACCOUNTING_STAT_COUNTER, "Flows evicted because the table was full."},
	{"expiry_work_max", ACCOUNTING_STAT_GAUGE, "Most flows expired in one call (high-water mark)."},
	{"table_bytes", ACCOUNTING_STAT_GAUGE, "Memory of the flow table."},
	{"wrap_slices", ACCOUNTING_STAT_COUNTER,
	 "Flow slices cut before a 32-bit counter would wrap."},
	/* history */
	{"held_packets", ACCOUNTING_STAT_GAUGE, "Packets the history ring holds now."},
	{"held_bytes", ACCOUNTING_STAT_GAUGE, "Bytes of the history ring in use now (headers included)."},
	{"held_span_ns", ACCOUNTING_STAT_GAUGE,
	 "Time between the oldest and the newest packet the history ring holds, in ns."},
	{"overwritten", ACCOUNTING_STAT_COUNTER,
	 "Packets the history ring dropped to make room for newer ones."},
	{"triggers", ACCOUNTING_STAT_COUNTER, "Trigger records a history kernel received."},
	{"triggers_dropped", ACCOUNTING_STAT_COUNTER,
	 "Trigger records lost because the history writer thread had 1024 waiting."},
	{"triggers_merged", ACCOUNTING_STAT_COUNTER,
	 "Trigger records for a key whose dump was open (no new file)."},
	{"triggers_refused", ACCOUNTING_STAT_COUNTER,
	 "Trigger records refused by max_dumps or dumps_per_minute."},
	{"dumps", ACCOUNTING_STAT_COUNTER, "History dumps opened."},
	{"dumps_done", ACCOUNTING_STAT_COUNTER, "History dumps whose range passed (or input ended)."},
	{"dumps_cut", ACCOUNTING_STAT_COUNTER, "History dumps cut by a stop or a reload."},
	{"dumps_failed", ACCOUNTING_STAT_COUNTER, "History dumps whose file could not be written."},
	{"dumps_short", ACCOUNTING_STAT_COUNTER,
	 "History dumps missing part of their range (memory, seconds:, or packets overwritten)."},
	{"dump_packets", ACCOUNTING_STAT_COUNTER, "Packets written to history dump files."},
	{"dump_overwritten", ACCOUNTING_STAT_COUNTER,
	 "Ring packets overwritten before a history dump read them."},
	/* sinks */
	{"dropped_records", ACCOUNTING_STAT_COUNTER,
	 "Records a sink could not write or deliver, for every reason (see "
	 "jetstream_dropped_records_total)."},
	{"write_errors", ACCOUNTING_STAT_COUNTER, "Failed write calls of a sink."},
	{"buffer_bytes", ACCOUNTING_STAT_GAUGE,
	 "Bytes of records waiting for the disk or the store now."},
	{"buffer_max_bytes", ACCOUNTING_STAT_GAUGE,
	 "The most bytes that ever waited for the disk or the store (high-water mark)."},
	/* networked sinks (the delivery contract) */
	{"dropped_sink_full", ACCOUNTING_STAT_RECORD_DROP, NULL},
	{"dropped_refused", ACCOUNTING_STAT_RECORD_DROP, NULL},
	{"dropped_drain_timeout", ACCOUNTING_STAT_RECORD_DROP, NULL},
	{"batches", ACCOUNTING_STAT_COUNTER, "Batches (requests, messages) a networked sink delivered."},
	{"retries", ACCOUNTING_STAT_COUNTER,
	 "Failed deliveries of a networked sink that were tried again."},
	{"last_error_seconds", ACCOUNTING_STAT_GAUGE,
	 "Unix time of a networked sink's last failed delivery (0: none); the error is logged."},
	/* action sinks (exec, webhook, journal, syslog) */
	{"actions_run", ACCOUNTING_STAT_COUNTER, "Actions an action sink started, one per alert record."},
	{"actions_failed", ACCOUNTING_STAT_COUNTER,
	 "Actions that failed: a program's non-zero exit or signal, a POST refused or failing past "
	 "retry:, a message not sent."},
	{"actions_timed_out", ACCOUNTING_STAT_COUNTER,
	 "Programs killed at their timeout: (or still running at drain_timeout)."},
	{"actions_queued", ACCOUNTING_STAT_GAUGE, "Alerts waiting for an action slot now."},
	{"actions_running", ACCOUNTING_STAT_GAUGE, "Actions running now."},
};

const char *
accounting_drop_name(enum accounting_drop drop)
{
	return drop < ACCOUNTING_DROP_COUNT ? drop_names[drop] : "";
}

const struct kernel_stat *
accounting_find_stat(const struct kernel_totals *totals, const char *name)
{
	for (unsigned s = 0; s < totals->stat_count; s++)
		if (strcmp(totals->stats[s].name, name) == 0)
			return &totals->stats[s];
	return NULL;
}

uint64_t
accounting_stat_value(const struct kernel_totals *totals, const char *name)
{
	const struct kernel_stat *stat = accounting_find_stat(totals, name);

	return stat != NULL ? stat->value : 0;
}

bool
accounting_is_unknown_mark(const char *name, char *base, size_t base_size)
{
	size_t length = strlen(name), suffix = strlen(KERNEL_STAT_UNKNOWN_SUFFIX);

	if (length <= suffix || strcmp(name + length - suffix, KERNEL_STAT_UNKNOWN_SUFFIX) != 0)
		return false;
	snprintf(base, base_size, "%.*s", (int)(length - suffix), name);
	return true;
}

enum accounting_report
accounting_drop(const struct kernel_totals *totals, enum accounting_drop drop, uint64_t *value)
{
	char mark[64];
	const struct kernel_stat *stat;

	*value = 0;
	if (drop == ACCOUNTING_DROP_RING_OVERFLOW) {
		*value = totals->counters.ring_overflow;
		return ACCOUNTING_KNOWN;
	}
	stat = accounting_find_stat(totals, accounting_drop_name(drop));
	if (stat != NULL) {
		*value = stat->value;
		return ACCOUNTING_KNOWN;
	}
	snprintf(mark, sizeof(mark), "%s%s", accounting_drop_name(drop), KERNEL_STAT_UNKNOWN_SUFFIX);
	return accounting_find_stat(totals, mark) != NULL ? ACCOUNTING_UNKNOWN
							  : ACCOUNTING_NOT_APPLICABLE;
}

const char *
accounting_record_drop_name(enum accounting_record_drop reason)
{
	return reason < ACCOUNTING_RECORD_DROP_COUNT ? record_drop_names[reason] : "";
}

bool
accounting_record_drop(const struct kernel_totals *totals, enum accounting_record_drop reason,
		       uint64_t *value)
{
	const struct kernel_stat *stat;
	uint64_t named = 0;
	bool networked = false;

	*value = 0;
	if (reason >= ACCOUNTING_RECORD_DROP_COUNT)
		return false;
	if (reason != ACCOUNTING_RECORD_DROP_WRITE_FAILED) {
		stat = accounting_find_stat(totals, record_drop_stats[reason]);
		if (stat != NULL)
			*value = stat->value;
		return stat != NULL;
	}
	/* a networked sink's dropped_records is the sum of its named reasons: no write_failed */
	for (unsigned r = 0; r < ACCOUNTING_RECORD_DROP_COUNT; r++) {
		if (record_drop_stats[r] == NULL)
			continue;
		stat = accounting_find_stat(totals, record_drop_stats[r]);
		networked |= stat != NULL;
		named += stat != NULL ? stat->value : 0;
	}
	stat = accounting_find_stat(totals, "dropped_records");
	if (stat == NULL || networked)
		return false;
	*value = stat->value - named;
	return true;
}

uint64_t
accounting_known_drops(const struct kernel_totals *totals)
{
	uint64_t drops = 0, value;

	for (unsigned d = 0; d < ACCOUNTING_DROP_COUNT; d++)
		if (accounting_drop(totals, (enum accounting_drop)d, &value) == ACCOUNTING_KNOWN)
			drops += value;
	return drops;
}

static const struct stat_row *
find_row(const char *name)
{
	for (unsigned r = 0; r < RTE_DIM(stat_rows); r++)
		if (strcmp(stat_rows[r].name, name) == 0)
			return &stat_rows[r];
	return NULL;
}

enum accounting_stat_kind
accounting_stat_kind(const char *name)
{
	const struct stat_row *row = find_row(name);
	char base[64];

	if (row != NULL)
		return row->kind;
	return accounting_is_unknown_mark(name, base, sizeof(base)) ? ACCOUNTING_STAT_MARK
								    : ACCOUNTING_STAT_OTHER;
}

const char *
accounting_stat_help(const char *name)
{
	const struct stat_row *row = find_row(name);

	return row != NULL ? row->help : NULL;
}

void
accounting_add_retired(struct kernel_totals *totals, const struct kernel_totals *retired)
{
	struct kernel_totals running = *totals;
	unsigned kept = 0;

	kernel_totals_add(totals, retired);
	for (unsigned s = 0; s < totals->stat_count; s++) {
		struct kernel_stat stat = totals->stats[s];

		if (accounting_stat_kind(stat.name) == ACCOUNTING_STAT_GAUGE) {
			const struct kernel_stat *now = accounting_find_stat(&running, stat.name);

			if (now == NULL)
				continue; /* only a retired instance had it: no level now */
			stat.value = now->value;
		}
		totals->stats[kept++] = stat;
	}
	totals->stat_count = kept;
}
