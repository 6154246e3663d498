/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The kernel API: what a kernel may touch. Built-in kernels (daemon/kernels/)
 * and plugins (a shared object, see JETSTREAM_PLUGIN) are written against
 * this header alone; it is installed for plugin authors. What the graph and
 * the runtime use besides (rings, wiring, totals, the registry) is in the
 * daemon's kernel_runtime.h.
 *
 * A kernel type is one `const struct kernel_ops`. A pipeline names kernel
 * instances; each instance runs as one or more replicas, and each replica is
 * a struct kernel_instance polled by exactly one lcore. Access rules for
 * fields shared between the control thread (cp) and that lcore (dp) head
 * each group of fields.
 */
#ifndef JETSTREAM_KERNEL_H
#define JETSTREAM_KERNEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "config_map.h"
#include "record.h"

/**
 * Version of this API's binary interface: the layout of every struct and the
 * signature of every function declared here and in the headers it includes.
 * A plugin records the version it was built with (struct jetstream_plugin)
 * and the daemon loads only plugins of its own version. Raised on any change
 * a plugin built earlier would misread.
 *
 * 2: flow records carry IP-level bytes (ip_bytes, reverse_ip_bytes), and
 * config types gained CONFIG_PROPERTIES.
 * 3: alert records carry a lifecycle (state, alert_id, peak, totals, reason)
 * and a group, and config types gained CONFIG_MAPPING_LIST.
 */
#define JETSTREAM_KERNEL_ABI_VERSION 3

/** Items moved per poll: a burst, as DPDK drivers use. */
#define KERNEL_BURST 32

/** Most replicas of one kernel instance (bounds per-replica bins on the stack). */
#define KERNEL_MAX_REPLICAS 64

struct kernel_instance;

/** What a replicated consumer's packets are partitioned by (each replica owns its keys). */
enum partition_key {
	PARTITION_SOURCE = 0,    /**< outer source address (packet_meta.source_hash) */
	PARTITION_DESTINATION,   /**< outer destination address */
	PARTITION_FLOW,          /**< 5-tuple, symmetric: both directions to one replica */
};

/** Counters every instance has; the control thread reads them for the summary. */
struct kernel_counters {
	uint64_t items_in;      /**< dp: wo, cp: ro. Packets or records consumed */
	uint64_t items_out;     /**< dp: wo, cp: ro. Packets or records emitted */
	uint64_t backpressure;  /**< dp: wo, cp: ro. Polls skipped because an output ring was full */
	uint64_t ring_overflow; /**< dp: wo, cp: ro. Items a ring refused despite the budget (a bug if > 0) */
};

/** One named statistic a kernel reports besides struct kernel_counters. */
struct kernel_stat {
	const char *name;
	uint64_t value;
};

#define KERNEL_MAX_STATS 16

/**
 * A kernel statistic named NAME KERNEL_STAT_UNKNOWN_SUFFIX with a value
 * above 0 says that NAME cannot be known (a device that does not report its
 * drops): the summary prints `NAME=unknown`, never 0. Being a count, it
 * stays above 0 when summed over replicas and reloads.
 */
#define KERNEL_STAT_UNKNOWN_SUFFIX "_unknown"

/**
 * What an instance is, as decided by its parameters; see kernel_ops.properties.
 * Defaults: input_type = kernel_ops.input_type, on a worker, not live,
 * replicas from `replicas:`, partitioned by source address.
 */
struct kernel_properties {
	enum stream_type input_type;  /**< what it consumes (a sink that discards takes packets too) */
	bool runs_on_sink_thread;     /**< blocking I/O: polled by the sink thread, never a worker */
	bool live;                    /**< sources: packets carry the wall clock, not their own time */
	unsigned replicas;            /**< the replica count (a port: one per queue); 0 = `replicas:` */
	enum partition_key partition; /**< how packets are spread over replicas */
};

/** Everything the runtime needs to know about a kernel type. */
struct kernel_ops {
	const char *name;                 /**< the `type:` in a pipeline file */
	const char *description;          /**< one line, for docs */
	enum stream_type input_type;      /**< STREAM_NONE for sources */
	enum stream_type output_type;     /**< STREAM_NONE for sinks */
	bool multiple_inputs;             /**< `input:` may be a list */
	bool replicable;                  /**< `replicas:` > 1 allowed */
	/**
	 * What an instance with these parameters is, where the parameters decide
	 * it: fill the members of @p properties that differ from the defaults set
	 * by kernel_properties_of(). Pure. NULL = the defaults.
	 */
	void (*properties)(const void *params, struct kernel_properties *properties);
	/** With properties.replicas: the key that sets the count, named when `replicas:` is refused. */
	const char *replicas_key;
	size_t params_size;               /**< size of the struct config_map binds into */
	const struct config_field *config_map;

	/**
	 * Validate parameters beyond what config_map expresses (pure: no side
	 * effects, may read the filesystem). Report with config_check_error().
	 */
	void (*check)(const void *params, struct config_check_context *context);

	/**
	 * One line saying what an instance with these parameters reads or
	 * writes ("a pcap file", "net_null0"), for messages. NULL = none.
	 * @return the length written, as snprintf().
	 */
	int (*describe)(const void *params, char *text, size_t size);

	/**
	 * Allocate instance->state. Runs on the control thread before the
	 * graph starts; may allocate and make syscalls.
	 * @return 0; or a negative errno with a message in instance->error:
	 *         -ENOMEM when out of memory, -EINVAL (with error_key set) when a
	 *         configured value cannot be used, or the errno of a failed call.
	 */
	int (*init)(struct kernel_instance *instance);

	/**
	 * Do one burst of work: receive up to a burst, process it, emit.
	 * Runs on the instance's lcore: no allocation, no syscalls, no logging
	 * (sinks that write, which run on the sink thread, are the exception).
	 * @return number of items handled; 0 means idle.
	 */
	unsigned (*process)(struct kernel_instance *instance);

	/**
	 * Called repeatedly once every input is finished (all producers done
	 * and rings empty). Emit what is still held (last windows).
	 * @return true when nothing is left; the instance is then finished.
	 * NULL = nothing to flush.
	 */
	bool (*flush)(struct kernel_instance *instance);

	/** Called about every millisecond with the wall-clock time. NULL = none. */
	void (*tick)(struct kernel_instance *instance, uint64_t now_ns);

	/**
	 * Fill up to KERNEL_MAX_STATS statistics. Runs on the control thread at
	 * any time, also while dp runs process() on the same instance: read only
	 * counters that dp writes with single aligned stores (a uint64_t is never
	 * torn on the 64-bit targets DPDK supports), never a structure dp may be
	 * changing. @return count. NULL = none.
	 */
	unsigned (*stats)(const struct kernel_instance *instance, struct kernel_stat *stats);

	/**
	 * Adopt the state of @p old (same type, other parameters) after a
	 * reload, when every changed key's row says CONFIG_CHANGE_TAKE_STATE
	 * and the replicas and cores stayed. Runs on the lcore that polled @p old, between two bursts, once
	 * @p old will never be polled again: no allocation, no syscalls. What
	 * @p old keeps is destroyed with it. NULL = unsupported: the old
	 * instance then drains and retires and the new one starts afresh.
	 */
	void (*take_state)(struct kernel_instance *instance, struct kernel_instance *old);

	/**
	 * Layout version of instance->state. When a reload replaces a plugin's
	 * code, the new kernel takes the old one's state only when both declare
	 * the same non-zero state_version (and the same ABI). 0 = never across
	 * code versions: the old instance drains and the new one starts empty.
	 */
	uint32_t state_version;

	/** Free instance->state. Runs on the control thread. */
	void (*destroy)(struct kernel_instance *instance);
};

struct kernel_input;
struct kernel_output_edge;

/**
 * A replica of a kernel instance. The fields are grouped by who may write
 * them; "cp" is the control thread, "dp" the lcore that polls the instance
 * (a worker, or the sink thread for kernels that write).
 */
struct kernel_instance {
	/*
	 * Set by the graph before the instance is published; read-only for
	 * everyone afterwards.
	 */
	const struct kernel_ops *ops;
	const char *name;                       /**< interned: records point at it; outlives the instance */
	void *params;                           /**< owned copy of the spec's parameters */
	unsigned replica;                       /**< 0 .. replica_count-1 */
	unsigned replica_count;
	unsigned lcore;                         /**< lcore that polls it */
	bool live_clock;                        /**< packet times are wall clock (live sources upstream) */
	struct rte_mempool *mempool;            /**< packet pool, for sources */

	/*
	 * The kernel's own. init() sets it on cp before publication; then only
	 * dp touches it (process, flush, tick, take_state), except that stats()
	 * reads it on cp at any time (see kernel_ops.stats); destroy() frees it
	 * on cp once no lcore can poll the instance.
	 */
	void *state;

	/*
	 * dp only: the installed wiring (the polling lcore installs it between
	 * two bursts) and the round-robin position. Kernels use kernel_receive()
	 * and kernel_emit_*() rather than these.
	 */
	unsigned input_count;
	struct kernel_input *inputs;
	unsigned next_input;
	enum stream_type output_type;
	unsigned output_edge_count;
	struct kernel_output_edge *output_edges;
	/**
	 * Predecessor whose state this instance takes when its lcore first
	 * installs it. cp: wo before publication; dp: rw (cleared once taken).
	 */
	struct kernel_instance *take_state_from;

	/* dp: wo, cp: ro. */
	struct kernel_counters counters;        /**< cp reads them while it runs (single-word stores) */
	/**
	 * Why dp gave up (a read error): written with kernel_fail() before the
	 * instance finishes; cp reads it only once kernel_is_finished() (acquire)
	 * or once the lcore stopped.
	 */
	char failure[256];
	atomic_bool finished;                   /**< dp: wo (release), cp: ro (acquire) */

	/* cp: wo, dp: ro. */
	atomic_bool retiring;                   /**< a reload removed it: sources stop, the rest drain */

	/* cp only. */
	unsigned references;                    /**< graphs that hold it */
	char error[256];                        /**< set by init() on failure; logged by cp */
	/**
	 * Set by a failed init() when a configured value is at fault (the
	 * config_map key, e.g. "pcap"): the start exits 78 at that key's position.
	 */
	const char *error_key;
};

/**
 * Say why the instance gives up, from dp (process or flush, printf-style);
 * the kernel then finishes (a source returns, a sink's flush ends). The
 * control thread logs it once the instance is finished.
 */
void kernel_fail(struct kernel_instance *instance, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * The wall-clock time in nanoseconds since the epoch, from the TSC (no
 * syscall: callable on a worker). Live sources stamp packets with it.
 */
uint64_t kernel_now_ns(void);

/**
 * true when a source must stop reading: the daemon is stopping, or a reload
 * retired the instance.
 */
bool kernel_should_stop(const struct kernel_instance *instance);

/**
 * Receive up to @p max items from the instance's input rings, all from one
 * ring (inputs are visited round-robin). @p items is an array of mbuf
 * pointers for packet inputs, or of records of the ring's element size.
 * What is received is counted in counters.items_in.
 * @param[out] type  stream type of the items (may be NULL)
 */
unsigned kernel_receive(struct kernel_instance *instance, void *items, unsigned max,
			enum stream_type *type);

/**
 * How many items kernel_emit_*() can take right now without refusing any,
 * whatever their partition: the free space of the fullest output ring.
 * A kernel never emits more than this; when it is 0 the kernel must hold
 * its input (backpressure).
 */
unsigned kernel_output_budget(struct kernel_instance *instance);

/**
 * The items this poll may emit: kernel_output_budget(), at most KERNEL_BURST.
 * When it is 0 the poll counts as backpressure (counters.backpressure) and
 * the kernel must hold its input: what every process() starts with.
 */
unsigned kernel_burst_budget(struct kernel_instance *instance);

/**
 * The usual take_state(): @p instance takes @p old's state and leaves its own
 * fresh state to @p old, to be destroyed with it. Kernels that keep more than
 * the pointer adjust the taken state after the swap.
 */
void kernel_swap_state(struct kernel_instance *instance, struct kernel_instance *old);

/**
 * Send packets to every consumer (partitioned by packet_meta.source_hash when
 * a consumer is replicated). Packets go to every consumer edge: the refcount
 * is raised for all but the first. With no consumer the packets are freed.
 */
void kernel_emit_packets(struct kernel_instance *instance, struct rte_mbuf **packets,
			 unsigned count);

/**
 * Copy records (each starting with struct record_header, of the instance's
 * output element size) to every consumer, partitioned by partition_hash.
 */
void kernel_emit_records(struct kernel_instance *instance, const void *records, unsigned count);

/** true once every input ring is closed and empty. */
bool kernel_inputs_finished(const struct kernel_instance *instance);

/**
 * Mark the instance finished (sources at end of input; the runtime for
 * others), closing every output ring.
 */
void kernel_mark_finished(struct kernel_instance *instance);

/** true once kernel_mark_finished() was called. */
bool kernel_is_finished(const struct kernel_instance *instance);

/** The properties of an instance of @p ops with @p params (NULL @p params: the defaults). */
static inline struct kernel_properties
kernel_properties_of(const struct kernel_ops *ops, const void *params)
{
	struct kernel_properties properties = {.input_type = ops->input_type,
					       .partition = PARTITION_SOURCE};

	if (ops->properties != NULL && params != NULL)
		ops->properties(params, &properties);
	return properties;
}

/** Whether an instance of @p ops with @p params runs on the sink thread (placed on the main lcore). */
static inline bool
kernel_runs_on_sink_thread(const struct kernel_ops *ops, const void *params)
{
	return kernel_properties_of(ops, params).runs_on_sink_thread;
}

/** The input type an instance of @p ops with @p params takes (NULL @p params: ops->input_type). */
static inline enum stream_type
kernel_input_type(const struct kernel_ops *ops, const void *params)
{
	return kernel_properties_of(ops, params).input_type;
}

/**
 * What a plugin exports: its ABI version and its kernel types. A plugin is a
 * shared object defining the function JETSTREAM_PLUGIN_SYMBOL, which returns
 * its descriptor (write it with JETSTREAM_PLUGIN()).
 */
struct jetstream_plugin {
	uint32_t abi_version;                    /**< JETSTREAM_KERNEL_ABI_VERSION at build time */
	const char *name;                        /**< the plugin's name, for messages */
	const struct kernel_ops *const *kernels; /**< its kernel types, NULL-terminated */
};

/** The name of the function every plugin exports. */
#define JETSTREAM_PLUGIN_SYMBOL "jetstream_plugin"

/** Signature of the exported function. */
typedef const struct jetstream_plugin *(*jetstream_plugin_function)(void);

/**
 * Define a plugin named @p plugin_name holding the kernel types listed after
 * it (pointers to const struct kernel_ops), e.g.
 * `JETSTREAM_PLUGIN("ttl_change", &ttl_change_kernel);`
 */
#define JETSTREAM_PLUGIN(plugin_name, ...)                                                \
	const struct jetstream_plugin *jetstream_plugin(void);                            \
	const struct jetstream_plugin *jetstream_plugin(void)                             \
	{                                                                                  \
		static const struct kernel_ops *const kernels[] = {__VA_ARGS__, NULL};    \
		static const struct jetstream_plugin plugin = {                            \
			.abi_version = JETSTREAM_KERNEL_ABI_VERSION,                        \
			.name = plugin_name,                                                \
			.kernels = kernels,                                                 \
		};                                                                         \
		return &plugin;                                                            \
	}

#endif
