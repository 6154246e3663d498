/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * threshold: turns src_count records whose packets or bytes are above a limit
 * into alert records. The limit is `above:` for every key, or per network
 * (`groups:`, kernels/threshold_groups.h: the key's longest matching prefix
 * decides its group), per window or per second.
 *
 * `alerts: per_window` (the default) emits one alert per record above its
 * limit: stateless, so replicas need no coordination.
 *
 * `alerts: lifecycle` follows each key (kernels/threshold_alerts.h): a start
 * when it goes above its limit, an update at most every `update:` while it
 * stays above, and an end once it has been below for `hold:`, so a flapping
 * attack is one alert. "Below for hold" is decided on the key's own records
 * when it keeps sending (a record below whose window ends `hold` after the
 * last one above), and on the stream's time when it falls silent (the latest
 * window end seen, or the clock with live sources), one window later than
 * `hold`: the records of a key come in window order from the counter replica
 * that owns it, but another replica's may run a window ahead. Replicas
 * partition by the key, so each follows its keys alone.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"
#include "kernels/threshold.h"
#include "kernels/threshold_alerts.h"
#include "kernels/threshold_groups.h"
#include "publication.h"

enum threshold_alerts_mode { THRESHOLD_ALERTS_PER_WINDOW = 0, THRESHOLD_ALERTS_LIFECYCLE };

struct threshold_params {
	uint32_t metric;            /* enum threshold_metric, of `above` */
	uint32_t alerts;            /* enum threshold_alerts_mode */
	uint64_t above;             /* NO_LIMIT: not set (then `groups:` give the limits) */
	uint32_t per;               /* enum threshold_per, of `above` */
	uint32_t reserved;
	uint64_t hold_ns;
	uint64_t update_ns;         /* 0: no updates */
	uint64_t max_alerts;
	struct threshold_group_list groups;
};

static const char *const metric_names[] = {"pkts", "bytes", NULL};
static const char *const per_names[] = {"window", "second", NULL};
static const char *const alerts_names[] = {"per_window", "lifecycle", NULL};

#define GROUP_KEY(member) offsetof(struct threshold_group_params, member)
/* No limit: `above` not given, a group's `pkts` or `bytes` left out (stored 0 there). */
#define NO_LIMIT UINT64_MAX
#define NANOSECONDS_PER_SECOND 1000000000ull

static const struct config_field threshold_fields[] = {
	{.key = "metric", .type = CONFIG_CHOICE, .offset = offsetof(struct threshold_params, metric),
	 .choices = metric_names, .default_value = "pkts",
	 .description = "what `above` compares: `pkts` or `bytes` of each src_count record"},
	{.key = "above", .type = CONFIG_UNSIGNED, .offset = offsetof(struct threshold_params, above),
	 .default_value = "none", .special_word = "none", .special_value = NO_LIMIT,
	 .description = "alert when the metric is strictly greater than this (per `per`; 0: "
			"every record), for every key no group holds; required without `groups:`"},
	{.key = "per", .type = CONFIG_CHOICE, .offset = offsetof(struct threshold_params, per),
	 .choices = per_names, .default_value = "window",
	 .description = "`above` counts per `window` (the record's) or per `second` (the window's "
			"packets or bytes divided by its length)"},
	{.key = "alerts", .type = CONFIG_CHOICE, .offset = offsetof(struct threshold_params, alerts),
	 .choices = alerts_names, .default_value = "per_window", .change = CONFIG_CHANGE_REPLACE,
	 .description = "`per_window`: one alert record per window above the limit; `lifecycle`: "
			"one alert per attack, with `state: start`, `update` and `end` records"},
	{.key = "hold", .type = CONFIG_DURATION, .offset = offsetof(struct threshold_params, hold_ns),
	 .default_value = "60s", .minimum = 1,
	 .description = "`alerts: lifecycle`: an alert ends once its key has been below its limit "
			"this long (a key that sends nothing at all: one window later)"},
	{.key = "update", .type = CONFIG_DURATION,
	 .offset = offsetof(struct threshold_params, update_ns), .default_value = "10s",
	 .special_word = "never", .special_value = 0,
	 .description = "`alerts: lifecycle`: while an alert stays above its limit, an `update` "
			"record at most this often (by window time), or `never`"},
	{.key = "max_alerts", .type = CONFIG_UNSIGNED,
	 .offset = offsetof(struct threshold_params, max_alerts), .default_value = "10000",
	 .minimum = 1, .maximum = 1000000, .change = CONFIG_CHANGE_REPLACE,
	 .description = "`alerts: lifecycle`: open alerts each replica follows; a key that would "
			"open one more is counted as `alerts_not_opened`"},
	{.key = "groups", .type = CONFIG_MAPPING_LIST,
	 .offset = offsetof(struct threshold_params, groups),
	 .size = sizeof(struct threshold_group_params), .maximum = THRESHOLD_GROUPS_MAX,
	 .description = "limits per network: a list of `{name, networks, pkts, bytes, per}`; a "
			"key is held to the group of its longest matching prefix, else to the group "
			"without `networks:`, else to `above`, else to none (counted as "
			"`keys_outside_groups`). The key's address is its source for `key: src`, its "
			"destination for `dst` and `src_dst`"},
	{.key = "groups.name", .type = CONFIG_STRING, .offset = GROUP_KEY(name),
	 .size = ALERT_GROUP_SIZE, .required = true,
	 .description = "the group's name, in its alert records: letters, digits, `_ . -`"},
	{.key = "groups.networks", .type = CONFIG_STRING_LIST, .offset = GROUP_KEY(networks),
	 .size = THRESHOLD_NETWORKS_SIZE,
	 .description = "IPv4 and IPv6 networks (`198.51.100.0/24`, `2001:db8::/32`, an address "
			"alone); each family holds its own keys (`::/0` is every IPv6 address, "
			"`0.0.0.0/0` every IPv4 one); none: the default group, for keys in no other "
			"group"},
	{.key = "groups.pkts", .type = CONFIG_UNSIGNED, .offset = GROUP_KEY(packets), .minimum = 1,
	 .description = "alert when the key's packets (per `per`) are strictly greater"},
	{.key = "groups.bytes", .type = CONFIG_UNSIGNED, .offset = GROUP_KEY(bytes), .minimum = 1,
	 .description = "alert when the key's bytes (per `per`) are strictly greater"},
	{.key = "groups.per", .type = CONFIG_CHOICE, .offset = GROUP_KEY(per), .choices = per_names,
	 .default_value = "window", .description = "the group's limits count per `window` or per "
						   "`second`"},
	{.key = NULL},
};

/* The lifecycle's open alerts and the stream's time: what a reload hands over. */
struct threshold_lifecycle {
	struct alert_table *alerts;
	uint64_t stream_ns;       /* the latest window end seen (live: or the clock) */
	uint64_t next_expiry_ns;  /* no silent alert ends before this */
	unsigned scan_slot;       /* where an expiry scan that ran out of budget goes on */
	bool scanning;
	uint64_t scan_next_expiry_ns; /* the least expiry the scan met so far */
};

/* Counters: dp writes them (single aligned stores), stats() reads them on cp. */
struct threshold_counters {
	uint64_t alerts;          /* alert records emitted */
	uint64_t started, updated, ended, open, not_opened;
	uint64_t keys_outside_groups;
};

/* The open alerts for `jetstreamctl alerts` (access rule: kernels/threshold.h). */
struct view_publication {
	bool changed;                   /* dp only: an alert opened, closed or rose since */
	bool building;                  /* dp only: a pass is filling the unpublished buffer */
	unsigned build_slot;            /* dp only: where that pass goes on at the next tick */
	uint64_t published_ns;          /* dp only: the tick's clock at the last publication */
	struct threshold_view buffers[2];
	struct publication publication;
};

struct threshold_state {
	struct threshold_groups *groups;        /* this instance's own; NULL without groups */
	struct threshold_lifecycle *lifecycle;  /* NULL with `alerts: per_window` */
	struct threshold_counters counters;
	struct view_publication view;           /* this instance's own (not handed over) */
};

/* What a record's key is held to, and how it measures against it. */
struct verdict {
	bool above;
	uint32_t metric;         /* the metric that is above, or the first limited one */
	uint32_t per;
	uint64_t value;          /* of that metric, per `per` */
	uint64_t threshold;
	const char *group;       /* "" for `above:` */
};

/* The keys that mean something with `alerts: lifecycle` only, and with `above:` only. */
static const char *const lifecycle_keys[] = {"hold", "update", "max_alerts", NULL};
static const char *const above_keys[] = {"metric", "per", NULL};

static void
threshold_check(const void *params_pointer, struct config_check_context *context)
{
	const struct threshold_params *params = params_pointer;
	char message[256];
	bool has_default = false;

	if (params->above == NO_LIMIT && params->groups.count == 0)
		config_check_error(context, "above", "give `above:` (one limit for every key) or "
				   "`groups:` (limits per network)");
	if (params->groups.count > 0 &&
	    threshold_groups_check(&params->groups, message, sizeof(message)) != 0)
		config_check_error(context, "groups", "%s", message);
	for (uint64_t g = 0; g < params->groups.count; g++)
		has_default = has_default || params->groups.entries[g].networks[0] == '\0';
	if (has_default && params->above != NO_LIMIT)
		config_check_error(context, "above", "`above:` and a group without `networks:` would "
				   "both be the limit of keys in no group: keep one");
	for (unsigned i = 0; params->alerts != THRESHOLD_ALERTS_LIFECYCLE && lifecycle_keys[i]; i++)
		if (config_check_key_set(context, lifecycle_keys[i]))
			config_check_error(context, lifecycle_keys[i], "'%s' applies to `alerts: "
					   "lifecycle` only", lifecycle_keys[i]);
	for (unsigned i = 0; params->above == NO_LIMIT && above_keys[i] != NULL; i++)
		if (config_check_key_set(context, above_keys[i]))
			config_check_error(context, above_keys[i], "'%s' applies to `above:` only (a "
					   "group has its own `pkts:`, `bytes:` and `per:`)",
					   above_keys[i]);
}

static void
threshold_free_state(struct threshold_state *state)
{
	if (state == NULL)
		return;
	threshold_groups_free(state->groups);
	if (state->lifecycle != NULL)
		alert_table_free(state->lifecycle->alerts);
	free(state->lifecycle);
	free(state);
}

static int
threshold_init(struct kernel_instance *instance)
{
	const struct threshold_params *params = instance->params;
	struct threshold_state *state = calloc(1, sizeof(*state));

	if (state == NULL)
		return -ENOMEM;
	instance->state = state;
	if (params->groups.count > 0) {
		state->groups = threshold_groups_create(&params->groups, instance->error,
							sizeof(instance->error));
		if (state->groups == NULL)
			return -ENOMEM;
	}
	if (params->alerts != THRESHOLD_ALERTS_LIFECYCLE)
		return 0;
	state->view.changed = true; /* the first tick publishes: none open is an answer too */
	state->lifecycle = calloc(1, sizeof(*state->lifecycle));
	if (state->lifecycle == NULL)
		return -ENOMEM;
	state->lifecycle->next_expiry_ns = UINT64_MAX;
	state->lifecycle->alerts = alert_table_create((unsigned)params->max_alerts, instance->error,
						      sizeof(instance->error));
	return state->lifecycle->alerts == NULL ? -ENOMEM : 0;
}

/* @p count per second of a window of @p window_ns (per window when the window has no length). */
static uint64_t
per_second(uint64_t count, uint64_t window_ns)
{
	if (window_ns == 0)
		return count;
	return (uint64_t)((unsigned __int128)count * NANOSECONDS_PER_SECOND / window_ns);
}

/* The address a key's group is looked up by: the protected side. */
static const uint8_t *
group_address(const struct src_count_record *count)
{
	return count->key == COUNT_KEY_SOURCE ? count->source_address : count->destination_address;
}

/* Measure @p count against @p packets_limit and @p bytes_limit (NO_LIMIT: none) per @p per. */
static void
measure(const struct src_count_record *count, uint64_t packets_limit, uint64_t bytes_limit,
	uint32_t per, struct verdict *verdict)
{
	uint64_t window_ns = count->end_ns > count->start_ns ? count->end_ns - count->start_ns : 0;
	uint64_t packets = per == THRESHOLD_PER_SECOND ? per_second(count->packets, window_ns)
						       : count->packets;
	uint64_t bytes = per == THRESHOLD_PER_SECOND ? per_second(count->bytes, window_ns)
						     : count->bytes;
	bool packets_above = packets_limit != NO_LIMIT && packets > packets_limit;
	bool bytes_above = bytes_limit != NO_LIMIT && bytes > bytes_limit;
	bool use_packets = packets_above || (packets_limit != NO_LIMIT && !bytes_above);

	verdict->per = per;
	verdict->above = packets_above || bytes_above;
	verdict->metric = use_packets ? THRESHOLD_METRIC_PACKETS : THRESHOLD_METRIC_BYTES;
	verdict->value = use_packets ? packets : bytes;
	verdict->threshold = use_packets ? packets_limit : bytes_limit;
}

/* @return false when no limit holds the key (no group, no `above`). */
static bool
judge(const struct threshold_params *params, struct threshold_state *state,
      const struct src_count_record *count, struct verdict *verdict)
{
	int group = state->groups != NULL ? threshold_groups_find(state->groups, group_address(count))
					  : -1;

	if (group >= 0) {
		const struct threshold_group_params *limits = &params->groups.entries[group];

		measure(count, limits->packets != 0 ? limits->packets : NO_LIMIT,
			limits->bytes != 0 ? limits->bytes : NO_LIMIT, limits->per, verdict);
		verdict->group = limits->name;
		return true;
	}
	if (params->above == NO_LIMIT) {
		state->counters.keys_outside_groups++;
		return false;
	}
	measure(count, params->metric == THRESHOLD_METRIC_PACKETS ? params->above : NO_LIMIT,
		params->metric == THRESHOLD_METRIC_BYTES ? params->above : NO_LIMIT, params->per,
		verdict);
	verdict->group = "";
	return true;
}

static void
alert_header(struct alert_record *alert, uint32_t partition_hash, const char *kernel_name)
{
	memset(alert, 0, sizeof(*alert));
	alert->header.type = STREAM_ALERT;
	alert->header.partition_hash = partition_hash;
	alert->header.kernel = kernel_name;
}

static void
copy_group(char group[ALERT_GROUP_SIZE], const char *name)
{
	size_t length = strnlen(name, ALERT_GROUP_SIZE);

	/* NUL-padded, not NUL-terminated when it fills the array, as the record documents */
	memset(group, 0, ALERT_GROUP_SIZE);
	memcpy(group, name, length);
}

/* A per-window alert: the record's window, above its limit. */
static void
window_alert(const struct src_count_record *count, const struct verdict *verdict,
	     const char *kernel_name, struct alert_record *alert)
{
	alert_header(alert, count->header.partition_hash, kernel_name);
	memcpy(alert->source_address, count->source_address, sizeof(alert->source_address));
	memcpy(alert->destination_address, count->destination_address,
	       sizeof(alert->destination_address));
	alert->key = count->key;
	alert->value = verdict->value;
	alert->threshold = verdict->threshold;
	alert->start_ns = count->start_ns;
	alert->end_ns = count->end_ns;
	alert->metric = verdict->metric;
	alert->per = (uint8_t)verdict->per;
	copy_group(alert->group, verdict->group);
}

/* A lifecycle record of @p open in @p state: the alert as a whole so far. */
static void
lifecycle_alert(const struct open_alert *open, enum alert_state alert_state,
		enum alert_end_reason reason, const char *kernel_name, struct alert_record *alert)
{
	alert_header(alert, open->partition_hash, kernel_name);
	memcpy(alert->source_address, open->key.source_address, sizeof(alert->source_address));
	memcpy(alert->destination_address, open->key.destination_address,
	       sizeof(alert->destination_address));
	alert->key = open->key.kind;
	alert->metric = open->metric;
	alert->per = (uint8_t)open->per;
	alert->value = open->value;
	alert->threshold = open->threshold;
	alert->start_ns = open->start_ns;
	alert->end_ns = open->end_ns;
	memcpy(alert->group, open->group, sizeof(alert->group));
	alert->fields = ALERT_FIELD_LIFECYCLE;
	alert->alert_id = open->alert_id;
	alert->peak = open->peak;
	alert->total_packets = open->total_packets;
	alert->total_bytes = open->total_bytes;
	alert->state = (uint8_t)alert_state;
	alert->end_reason = (uint8_t)reason;
}

/* The key of @p count, its unused address zero so that equal keys compare equal. */
static void
key_of(const struct src_count_record *count, struct alert_key *key)
{
	memset(key, 0, sizeof(*key));
	key->kind = count->key;
	if (count->key != COUNT_KEY_DESTINATION)
		memcpy(key->source_address, count->source_address, sizeof(key->source_address));
	if (count->key != COUNT_KEY_SOURCE)
		memcpy(key->destination_address, count->destination_address,
		       sizeof(key->destination_address));
}

/*
 * A stable id: FNV-1a over the kernel's name, the key and the start time,
 * so the same input gives the same ids run after run (tests compare them)
 * and two alerts of one key differ.
 */
static uint64_t
alert_id_of(const char *kernel_name, const struct alert_key *key, uint64_t start_ns)
{
	const uint64_t prime = 0x100000001b3ull;
	uint64_t hash = 0xcbf29ce484222325ull;
	const uint8_t *bytes = (const uint8_t *)key;

	for (const char *c = kernel_name; *c != '\0'; c++)
		hash = (hash ^ (uint8_t)*c) * prime;
	for (size_t i = 0; i < sizeof(*key); i++)
		hash = (hash ^ bytes[i]) * prime;
	for (unsigned i = 0; i < 8; i++)
		hash = (hash ^ ((start_ns >> (8 * i)) & 0xff)) * prime;
	return hash;
}

/* When a silent @p open ends: `hold` after its last window above, and one window more. */
static uint64_t
silent_expiry_ns(const struct threshold_params *params, const struct open_alert *open)
{
	return open->end_ns + params->hold_ns + open->window_ns;
}

/* Add @p count's window to @p open. @return whether it was above (the alert changed). */
static bool
take_window(struct open_alert *open, const struct src_count_record *count,
	    const struct verdict *verdict)
{
	open->total_packets += count->packets;
	open->total_bytes += count->bytes;
	if (!verdict->above)
		return false;
	/* the alert follows the metric above its limit; a peak in another unit means nothing */
	if (open->metric != verdict->metric)
		open->peak = 0;
	open->metric = verdict->metric;
	open->per = verdict->per;
	open->value = verdict->value;
	open->threshold = verdict->threshold;
	if (open->value > open->peak)
		open->peak = open->value;
	open->end_ns = count->end_ns;
	open->window_ns = count->end_ns > count->start_ns ? count->end_ns - count->start_ns : 0;
	copy_group(open->group, verdict->group);
	return true;
}

static bool
open_alert(struct kernel_instance *instance, const struct src_count_record *count,
	   const struct alert_key *key, const struct verdict *verdict, struct alert_record *alert)
{
	const struct threshold_params *params = instance->params;
	struct threshold_state *state = instance->state;
	struct threshold_lifecycle *lifecycle = state->lifecycle;
	struct open_alert *open = alert_table_add(lifecycle->alerts, key);

	if (open == NULL) {
		state->counters.not_opened++;
		return false;
	}
	open->partition_hash = count->header.partition_hash;
	open->metric = verdict->metric;
	open->per = verdict->per;
	open->start_ns = count->start_ns;
	open->alert_id = alert_id_of(instance->name, key, count->start_ns);
	take_window(open, count, verdict);
	open->reported_ns = open->end_ns;
	if (silent_expiry_ns(params, open) < lifecycle->next_expiry_ns)
		lifecycle->next_expiry_ns = silent_expiry_ns(params, open);
	lifecycle_alert(open, ALERT_STATE_START, ALERT_END_BELOW, instance->name, alert);
	state->view.changed = true;
	state->counters.started++;
	state->counters.open = alert_table_count(lifecycle->alerts);
	return true;
}

static void
close_alert(struct kernel_instance *instance, struct open_alert *open, enum alert_end_reason reason,
	    struct alert_record *alert)
{
	struct threshold_state *state = instance->state;

	lifecycle_alert(open, ALERT_STATE_END, reason, instance->name, alert);
	alert_table_remove(state->lifecycle->alerts, open);
	state->view.changed = true;
	state->counters.ended++;
	state->counters.open = alert_table_count(state->lifecycle->alerts);
}

/*
 * One record of a lifecycle threshold, into @p alerts (room for two: an
 * alert that ended in the key's silence and the one its return starts).
 * @return the records written.
 */
static unsigned
follow_key(struct kernel_instance *instance, const struct src_count_record *count,
	   const struct verdict *verdict, struct alert_record *alerts)
{
	const struct threshold_params *params = instance->params;
	struct threshold_state *state = instance->state;
	struct alert_key key;
	struct open_alert *open;
	unsigned written = 0;

	key_of(count, &key);
	open = alert_table_find(state->lifecycle->alerts, &key);
	/*
	 * The key's own records come in window order: none from the end of its
	 * last window above to this one's start means no packet, below for that
	 * long. Past `hold`, the alert ended then, whatever this window says.
	 */
	if (open != NULL && count->start_ns >= open->end_ns + params->hold_ns) {
		close_alert(instance, open, ALERT_END_BELOW, &alerts[written++]);
		open = NULL;
	}
	if (open == NULL)
		return written + (verdict->above &&
				  open_alert(instance, count, &key, verdict, &alerts[written]));
	if (!verdict->above) {
		uint64_t hold_end_ns = open->end_ns + params->hold_ns;

		take_window(open, count, verdict);
		if (count->end_ns < hold_end_ns)
			return 0;
		close_alert(instance, open, ALERT_END_BELOW, alerts);
		return 1;
	}
	state->view.changed |= take_window(open, count, verdict);
	if (params->update_ns == 0 || open->end_ns - open->reported_ns < params->update_ns)
		return 0;
	open->reported_ns = open->end_ns;
	lifecycle_alert(open, ALERT_STATE_UPDATE, ALERT_END_BELOW, instance->name, alerts);
	state->counters.updated++;
	return 1;
}

/*
 * Slots one poll's scan of the open alerts visits at most (expiry, and the
 * view for the control socket): a table of a million alerts is walked over
 * many polls, never in one stall of milliseconds on the worker.
 */
#define SCAN_SLOTS_PER_POLL 4096

/*
 * End the alerts whose keys fell silent, once the stream's time passed their
 * expiry; at most @p budget records. A scan that runs out of budget or of
 * slots goes on at the next poll. @return the records written into @p alerts.
 */
static unsigned
end_silent_alerts(struct kernel_instance *instance, struct alert_record *alerts, unsigned budget)
{
	const struct threshold_params *params = instance->params;
	struct threshold_lifecycle *lifecycle = ((struct threshold_state *)instance->state)->lifecycle;
	unsigned written = 0, visited = 0;

	if (!lifecycle->scanning) {
		if (lifecycle->stream_ns < lifecycle->next_expiry_ns)
			return 0;
		lifecycle->scanning = true;
		lifecycle->scan_slot = 0;
		/*
		 * An alert opened while the scan goes on may take a slot it has
		 * passed: open_alert() lowers this for it, and the scan's own
		 * least expiry joins it at the end
		 */
		lifecycle->next_expiry_ns = UINT64_MAX;
		lifecycle->scan_next_expiry_ns = UINT64_MAX;
	}
	for (; lifecycle->scan_slot < alert_table_slots(lifecycle->alerts); lifecycle->scan_slot++) {
		struct open_alert *open;

		if (visited++ == SCAN_SLOTS_PER_POLL)
			return written;
		open = alert_table_slot(lifecycle->alerts, lifecycle->scan_slot);
		if (open == NULL)
			continue;
		if (silent_expiry_ns(params, open) > lifecycle->stream_ns) {
			if (silent_expiry_ns(params, open) < lifecycle->scan_next_expiry_ns)
				lifecycle->scan_next_expiry_ns = silent_expiry_ns(params, open);
			continue;
		}
		if (written == budget)
			return written;
		close_alert(instance, open, ALERT_END_BELOW, &alerts[written++]);
	}
	lifecycle->scanning = false;
	if (lifecycle->scan_next_expiry_ns < lifecycle->next_expiry_ns)
		lifecycle->next_expiry_ns = lifecycle->scan_next_expiry_ns;
	return written;
}

static unsigned
threshold_process(struct kernel_instance *instance)
{
	const struct threshold_params *params = instance->params;
	struct threshold_state *state = instance->state;
	struct src_count_record counts[KERNEL_BURST];
	struct alert_record alerts[KERNEL_BURST];
	unsigned budget = kernel_burst_budget(instance);
	unsigned received, alert_count = 0;

	if (budget == 0)
		return 0;
	/*
	 * Per window, at most one alert a record; with the lifecycle two (an
	 * end in the key's silence, then a start): the budget bounds the records read.
	 */
	received = kernel_receive(instance, counts, state->lifecycle != NULL ? budget / 2 : budget,
				  NULL);
	for (unsigned i = 0; i < received; i++) {
		struct verdict verdict;

		/* every record moves the stream's time, a key in no group's too */
		if (state->lifecycle != NULL && counts[i].end_ns > state->lifecycle->stream_ns)
			state->lifecycle->stream_ns = counts[i].end_ns;
		if (!judge(params, state, &counts[i], &verdict))
			continue;
		if (state->lifecycle != NULL)
			alert_count += follow_key(instance, &counts[i], &verdict, &alerts[alert_count]);
		else if (verdict.above)
			window_alert(&counts[i], &verdict, instance->name, &alerts[alert_count++]);
	}
	if (state->lifecycle != NULL)
		alert_count += end_silent_alerts(instance, alerts + alert_count, budget - alert_count);
	state->counters.alerts += alert_count;
	kernel_emit_records(instance, alerts, alert_count);
	return received + alert_count;
}

/* How far @p open is above its limit: the order of `jetstreamctl alerts`. */
static double
severity(const struct open_alert *open)
{
	return (double)open->peak / (double)(open->threshold > 0 ? open->threshold : 1);
}

/* Put @p open into @p view, kept in severity order, if it ranks among the first THRESHOLD_VIEW_MAX. */
static void
view_insert(struct threshold_view *view, const struct open_alert *open)
{
	unsigned at = view->count;

	if (at == THRESHOLD_VIEW_MAX && severity(&view->entries[at - 1]) >= severity(open))
		return;
	if (at == THRESHOLD_VIEW_MAX)
		at--;
	for (; at > 0 && severity(&view->entries[at - 1]) < severity(open); at--)
		view->entries[at] = view->entries[at - 1];
	view->entries[at] = *open;
	if (view->count < THRESHOLD_VIEW_MAX)
		view->count++;
}

/*
 * dp, from the tick: once the alerts changed and the interval passed, a pass
 * over the table (SCAN_SLOTS_PER_POLL slots a tick) fills the unpublished
 * buffer with those furthest above their limits, then publishes it.
 */
static void
build_view(struct threshold_state *state, uint64_t now_ns)
{
	struct view_publication *view = &state->view;
	struct threshold_lifecycle *lifecycle = state->lifecycle;
	struct threshold_view *into = publication_buffer(&view->publication, view->buffers,
							 sizeof(view->buffers[0]));
	unsigned slots = alert_table_slots(lifecycle->alerts), end;

	if (!view->building) {
		if (!view->changed || now_ns - view->published_ns < THRESHOLD_VIEW_INTERVAL_NS)
			return;
		view->building = true;
		view->changed = false;
		view->build_slot = 0;
		into->count = 0;
	}
	end = slots - view->build_slot > SCAN_SLOTS_PER_POLL ? view->build_slot + SCAN_SLOTS_PER_POLL
							     : slots;
	for (; view->build_slot < end; view->build_slot++) {
		const struct open_alert *open = alert_table_slot(lifecycle->alerts, view->build_slot);

		if (open != NULL)
			view_insert(into, open);
	}
	if (view->build_slot < slots)
		return;
	into->open = alert_table_count(lifecycle->alerts);
	into->stream_ns = lifecycle->stream_ns;
	publication_publish(&view->publication);
	view->building = false;
	view->published_ns = now_ns;
}

/*
 * Live sources: the stream's time follows the clock, so silent keys end
 * when no record comes. And the open alerts are published for the control
 * socket when they changed, at most every THRESHOLD_VIEW_INTERVAL_NS.
 */
static void
threshold_tick(struct kernel_instance *instance, uint64_t now_ns)
{
	struct threshold_state *state = instance->state;

	if (state->lifecycle == NULL)
		return;
	if (instance->live_clock && now_ns > state->lifecycle->stream_ns)
		state->lifecycle->stream_ns = now_ns;
	build_view(state, now_ns);
}

int
threshold_read_view(const struct kernel_instance *instance, struct threshold_view *view)
{
	const struct threshold_params *params = instance->params;
	const struct threshold_state *state = instance->state;

	int result;

	/* the params, not state->lifecycle: dp swaps that pointer in take_state */
	if (params->alerts != THRESHOLD_ALERTS_LIFECYCLE)
		return -ENOTSUP;
	result = publication_read(&state->view.publication, state->view.buffers,
				  sizeof(state->view.buffers[0]), view);
	if (result != -ENOENT)
		return result;
	/* before its first publication (a reload's new instance): the count, as the stats read it */
	*view = (struct threshold_view){.open = state->counters.open};
	return 0;
}

/*
 * End of input, a stop, or a reload that removed the kernel: every open
 * alert ends, `shutdown` (`below` for one the silent-key rule has already
 * expired, which the scan had no budget left to end). Not `below` merely
 * because `hold` passed by the stream's time: the last window a stop
 * flushes is a part of one, its count short. @return true once none is left.
 */
static bool
threshold_flush(struct kernel_instance *instance)
{
	const struct threshold_params *params = instance->params;
	struct threshold_state *state = instance->state;
	struct alert_record alerts[KERNEL_BURST];
	unsigned budget = kernel_burst_budget(instance), written = 0;
	struct threshold_lifecycle *lifecycle = state->lifecycle;

	if (lifecycle == NULL)
		return true;
	for (unsigned slot = 0; slot < alert_table_slots(lifecycle->alerts) && written < budget;
	     slot++) {
		struct open_alert *open = alert_table_slot(lifecycle->alerts, slot);

		if (open != NULL)
			close_alert(instance, open,
				    silent_expiry_ns(params, open) <= lifecycle->stream_ns
					    ? ALERT_END_BELOW : ALERT_END_SHUTDOWN,
				    &alerts[written++]);
	}
	state->counters.alerts += written;
	kernel_emit_records(instance, alerts, written);
	return alert_table_count(lifecycle->alerts) == 0;
}

static unsigned
threshold_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	const struct threshold_state *state = instance->state;
	const struct threshold_params *params = instance->params;
	const struct threshold_counters *counters = &state->counters;
	unsigned count = 0;

	stats[count++] = (struct kernel_stat){"alerts", counters->alerts};
	if (params->groups.count > 0)
		stats[count++] = (struct kernel_stat){"keys_outside_groups",
						      counters->keys_outside_groups};
	if (state->lifecycle == NULL)
		return count;
	stats[count++] = (struct kernel_stat){"alerts_started", counters->started};
	stats[count++] = (struct kernel_stat){"alerts_updated", counters->updated};
	stats[count++] = (struct kernel_stat){"alerts_ended", counters->ended};
	stats[count++] = (struct kernel_stat){"alerts_open", counters->open};
	stats[count++] = (struct kernel_stat){"alerts_not_opened", counters->not_opened};
	return count;
}

/*
 * New limits, groups, hold or update apply from the next record on; the open
 * alerts and the counters carry over (the mode and max_alerts replace the
 * instance: their rows say so). The new instance keeps its own groups.
 */
static void
threshold_take_state(struct kernel_instance *instance, struct kernel_instance *old)
{
	struct threshold_state *state = instance->state, *old_state = old->state;
	struct threshold_lifecycle *lifecycle = state->lifecycle;

	state->lifecycle = old_state->lifecycle;
	old_state->lifecycle = lifecycle;
	state->counters = old_state->counters;
	state->view.changed = true;
	if (state->lifecycle != NULL) {
		/* the hold may be shorter now: scan anew, by the new one */
		state->lifecycle->next_expiry_ns = 0;
		state->lifecycle->scanning = false;
	}
}

static void
threshold_destroy(struct kernel_instance *instance)
{
	threshold_free_state(instance->state);
	instance->state = NULL;
}

const struct kernel_ops threshold_kernel = {
	.name = "threshold",
	.description = "Alert records for src_count records above a limit, per key or per network",
	.input_type = STREAM_SRC_COUNT,
	.output_type = STREAM_ALERT,
	.replicable = true,
	.params_size = sizeof(struct threshold_params),
	.config_map = threshold_fields,
	.check = threshold_check,
	.init = threshold_init,
	.process = threshold_process,
	.flush = threshold_flush,
	.tick = threshold_tick,
	.stats = threshold_stats,
	.take_state = threshold_take_state,
	.destroy = threshold_destroy,
};
