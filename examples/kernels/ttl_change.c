/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ttl_change: an example plugin kernel (the use case FlowScope describes: a
 * flow whose TTL changes mid-way hints at a route change or at an injected
 * packet). Per bidirectional flow it remembers the IP TTL (IPv6 hop limit)
 * last seen in each direction, and when a packet's TTL differs from the last
 * one of its direction it emits an alert with the old value and the new.
 *
 * Built against the installed API only (pkg-config jetstream-kernel), like
 * any plugin: see docs/writing-kernels.md.
 *
 * `input:` may be a list: a tapped link whose two directions come in on two
 * ports (a flow then meets itself through the software partition, which every
 * kernel with several inputs is fed by).
 *
 * A flow is the 5-tuple, both directions together; ports are 0 where the
 * protocol has none and for non-first fragments (as in flow records), so a
 * fragmented datagram's later fragments are a flow of their own. Flows are
 * never expired: the table holds the first max_flows flows of the run, and
 * packets of further flows are counted under `flows_dropped`, unchecked.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include <jetstream/kernel.h>
#include <jetstream/packet.h>

/* The alert's `name`; a rebuild may change it (-DTTL_CHANGE_ALERT_NAME='"..."'). */
#ifndef TTL_CHANGE_ALERT_NAME
#define TTL_CHANGE_ALERT_NAME "ttl_change"
#endif
_Static_assert(sizeof(TTL_CHANGE_ALERT_NAME) <= ALERT_NAME_SIZE, "the alert name must fit");

/*
 * Bumped whenever struct ttl_change_state or the table's entries change, so
 * that a reload into a rebuild with another layout starts afresh rather than
 * misreading the running flows.
 */
#define TTL_CHANGE_STATE_VERSION 1

/* The largest max_flows: the table (two slots a flow, 48 bytes a slot) stays under 13 GB. */
#define TTL_CHANGE_MAX_FLOWS (1u << 27)

/* Bytes of the IP header read: up to the TTL (IPv4 byte 8) or hop limit (IPv6 byte 7). */
#define IPV4_TTL_OFFSET 8
#define IPV6_HOP_LIMIT_OFFSET 7

struct ttl_change_params {
	uint64_t max_flows;
};

static const struct config_field ttl_change_fields[] = {
	{.key = "max_flows", .type = CONFIG_UNSIGNED,
	 .offset = offsetof(struct ttl_change_params, max_flows), .default_value = "64k",
	 .minimum = 1, .maximum = TTL_CHANGE_MAX_FLOWS,
	 .description = "flows each replica remembers; packets of further flows are counted "
			"under `flows_dropped` and never alert",
	 /* the table is sized by it: a new size cannot take the old table */
	 .change = CONFIG_CHANGE_REPLACE},
	{.key = NULL},
};

/* A flow's endpoints in canonical order ("low" first), so both directions give one key. */
struct flow_key {
	uint8_t low_address[16];
	uint8_t high_address[16];
	uint16_t low_port, high_port;
	uint8_t protocol;
	uint8_t padding[3]; /* zero: keys are compared and hashed as bytes */
};

_Static_assert(sizeof(struct flow_key) == 40, "keys are compared and hashed as five words");

/* One slot of the table; seen == 0 marks an empty slot. */
struct flow_entry {
	struct flow_key key;
	uint8_t ttl[2];  /* last TTL: [0] of low -> high packets, [1] of high -> low */
	uint8_t seen;    /* bit d: ttl[d] holds a value */
	uint8_t padding[5];
};

struct ttl_change_state {
	struct flow_entry *slots; /* open addressing, linear probing; never shrinks */
	uint64_t slot_mask;       /* slots - 1, a power of two minus one */
	uint64_t capacity;        /* max_flows */

	/* dp: wo, cp: ro (stats) */
	uint64_t flows;
	uint64_t alerts;
	uint64_t flows_dropped;
	uint64_t non_ip_packets;
	uint64_t malformed_packets;
};

static int
ttl_change_init(struct kernel_instance *instance)
{
	const struct ttl_change_params *params = instance->params;
	struct ttl_change_state *state = calloc(1, sizeof(*state));
	uint64_t slots = 2;

	if (state == NULL)
		return -ENOMEM;
	instance->state = state;
	/* at most half full, so that probes stay short */
	while (slots < params->max_flows * 2)
		slots <<= 1;
	state->slots = calloc(slots, sizeof(*state->slots));
	if (state->slots == NULL) {
		snprintf(instance->error, sizeof(instance->error),
			 "cannot allocate a table of %lu flows; lower max_flows",
			 (unsigned long)params->max_flows);
		instance->error_key = "max_flows";
		return -ENOMEM;
	}
	state->slot_mask = slots - 1;
	state->capacity = params->max_flows;
	return 0;
}

/* A multiplicative mix of the key's five words: good enough spread for linear probing. */
static uint64_t
flow_key_hash(const struct flow_key *key)
{
	uint64_t words[sizeof(*key) / 8], hash = 0;

	memcpy(words, key, sizeof(words));
	for (unsigned i = 0; i < RTE_DIM(words); i++)
		hash = (hash ^ words[i]) * 0x9e3779b97f4a7c15ull;
	return hash ^ (hash >> 29);
}

/*
 * The canonical key of @p meta's flow.
 * @return the packet's direction: 0 when it goes from the low endpoint.
 */
static unsigned
flow_key_of(const struct packet_meta *meta, struct flow_key *key)
{
	bool has_ports = (meta->flags & PACKET_FLAG_HAS_PORTS) != 0;
	uint16_t source_port = has_ports ? meta->source_port : 0;
	uint16_t destination_port = has_ports ? meta->destination_port : 0;
	int order = memcmp(meta->source_address, meta->destination_address, 16);
	unsigned direction = order > 0 || (order == 0 && source_port > destination_port);

	memset(key, 0, sizeof(*key));
	memcpy(key->low_address, direction == 0 ? meta->source_address : meta->destination_address,
	       16);
	memcpy(key->high_address, direction == 0 ? meta->destination_address : meta->source_address,
	       16);
	key->low_port = direction == 0 ? source_port : destination_port;
	key->high_port = direction == 0 ? destination_port : source_port;
	key->protocol = meta->protocol;
	return direction;
}

/* The flow's slot, added when new and the table has room; NULL when it has none. */
static struct flow_entry *
flow_find_or_add(struct ttl_change_state *state, const struct flow_key *key)
{
	uint64_t index = flow_key_hash(key) & state->slot_mask;

	for (;;) {
		struct flow_entry *entry = &state->slots[index];

		if (entry->seen == 0)
			break;
		if (memcmp(&entry->key, key, sizeof(*key)) == 0)
			return entry;
		index = (index + 1) & state->slot_mask;
	}
	if (state->flows == state->capacity)
		return NULL;
	state->flows++;
	state->slots[index].key = *key;
	return &state->slots[index];
}

/*
 * The TTL (hop limit) of @p packet, read from its IP header where the parser
 * found it. The parser only sets ip_version once the fixed header is captured,
 * but the bytes are checked again: a plugin does not rely on what it need not.
 */
static bool
read_ttl(const struct rte_mbuf *packet, const struct packet_meta *meta, uint8_t *ttl)
{
	unsigned length = (meta->ip_version == 4 ? IPV4_TTL_OFFSET : IPV6_HOP_LIMIT_OFFSET) + 1;
	uint8_t copy[IPV4_TTL_OFFSET + 1];
	const uint8_t *header = rte_pktmbuf_read(packet, meta->l3_offset, length, copy);

	if (header == NULL || header[0] >> 4 != meta->ip_version)
		return false;
	*ttl = header[length - 1];
	return true;
}

static void
fill_alert(const struct kernel_instance *instance, const struct packet_meta *meta,
	   uint8_t previous, uint8_t ttl, struct alert_record *alert)
{
	bool has_ports = (meta->flags & PACKET_FLAG_HAS_PORTS) != 0;

	memset(alert, 0, sizeof(*alert));
	alert->header.type = STREAM_ALERT;
	alert->header.partition_hash = meta->source_hash;
	alert->header.kernel = instance->name;
	memcpy(alert->name, TTL_CHANGE_ALERT_NAME, sizeof(TTL_CHANGE_ALERT_NAME));
	memcpy(alert->source_address, meta->source_address, 16);
	memcpy(alert->destination_address, meta->destination_address, 16);
	alert->key = COUNT_KEY_SOURCE_DESTINATION;
	alert->metric = THRESHOLD_METRIC_NONE;
	alert->value = ttl;
	alert->previous = previous;
	alert->start_ns = meta->timestamp_ns;
	alert->end_ns = meta->timestamp_ns;
	/* ports are always written, 0 where there are none, as in flow records */
	alert->source_port = has_ports ? meta->source_port : 0;
	alert->destination_port = has_ports ? meta->destination_port : 0;
	alert->protocol = meta->protocol;
	alert->fields = ALERT_FIELD_PREVIOUS | ALERT_FIELD_PORTS | ALERT_FIELD_PROTOCOL;
}

/* Remember @p packet's TTL in its flow. @return true when @p alert was filled. */
static bool
observe_packet(const struct kernel_instance *instance, struct ttl_change_state *state,
	       const struct rte_mbuf *packet, struct alert_record *alert)
{
	const struct packet_meta *meta = packet_meta((struct rte_mbuf *)packet);
	struct flow_entry *entry;
	struct flow_key key;
	unsigned direction;
	uint8_t ttl, previous;

	if (meta->ip_version == 0) {
		state->non_ip_packets++;
		return false;
	}
	if (!read_ttl(packet, meta, &ttl)) {
		state->malformed_packets++;
		return false;
	}
	direction = flow_key_of(meta, &key);
	entry = flow_find_or_add(state, &key);
	if (entry == NULL) {
		state->flows_dropped++;
		return false;
	}
	previous = entry->ttl[direction];
	entry->ttl[direction] = ttl;
	if ((entry->seen & (1u << direction)) == 0) {
		entry->seen |= (uint8_t)(1u << direction);
		return false;
	}
	if (previous == ttl)
		return false;
	fill_alert(instance, meta, previous, ttl, alert);
	return true;
}

static unsigned
ttl_change_process(struct kernel_instance *instance)
{
	struct ttl_change_state *state = instance->state;
	struct rte_mbuf *packets[KERNEL_BURST];
	struct alert_record alerts[KERNEL_BURST];
	unsigned budget = kernel_burst_budget(instance);
	unsigned received, alert_count = 0;

	if (budget == 0)
		return 0;
	/* At most one alert a packet, so the budget bounds the packets taken. */
	received = kernel_receive(instance, packets, budget, NULL);
	for (unsigned i = 0; i < received; i++)
		if (observe_packet(instance, state, packets[i], &alerts[alert_count]))
			alert_count++;
	state->alerts += alert_count;
	kernel_emit_records(instance, alerts, alert_count);
	rte_pktmbuf_free_bulk(packets, received);
	return received;
}

static unsigned
ttl_change_stats(const struct kernel_instance *instance, struct kernel_stat *stats)
{
	const struct ttl_change_state *state = instance->state;

	stats[0] = (struct kernel_stat){"flows", state->flows};
	stats[1] = (struct kernel_stat){"alerts", state->alerts};
	stats[2] = (struct kernel_stat){"flows_dropped", state->flows_dropped};
	stats[3] = (struct kernel_stat){"non_ip_packets", state->non_ip_packets};
	stats[4] = (struct kernel_stat){"malformed_packets", state->malformed_packets};
	return 5;
}

/*
 * The flows carry over as they are: max_flows says REPLACE, so a taken table
 * always has the size this instance was configured with. Across a rebuild of
 * the plugin this runs only with an equal state_version.
 */
static void
ttl_change_take_state(struct kernel_instance *instance, struct kernel_instance *old)
{
	kernel_swap_state(instance, old);
}

static void
ttl_change_destroy(struct kernel_instance *instance)
{
	struct ttl_change_state *state = instance->state;

	if (state == NULL)
		return;
	free(state->slots);
	free(state);
	instance->state = NULL;
}

/* Both directions of a flow must meet in one replica. */
static void
ttl_change_properties(const void *params, struct kernel_properties *properties)
{
	(void)params;
	properties->partition = PARTITION_FLOW;
}

static const struct kernel_ops ttl_change_kernel = {
	.name = "ttl_change",
	.description = "Alerts when the IP TTL (IPv6 hop limit) of a flow changes in one direction",
	.input_type = STREAM_PACKET,
	.output_type = STREAM_ALERT,
	.replicable = true,
	.multiple_inputs = true,
	.properties = ttl_change_properties,
	.params_size = sizeof(struct ttl_change_params),
	.config_map = ttl_change_fields,
	.init = ttl_change_init,
	.process = ttl_change_process,
	.stats = ttl_change_stats,
	.take_state = ttl_change_take_state,
	.state_version = TTL_CHANGE_STATE_VERSION,
	.destroy = ttl_change_destroy,
};

JETSTREAM_PLUGIN("ttl_change", &ttl_change_kernel);
