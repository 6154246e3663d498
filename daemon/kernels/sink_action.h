/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * The action formats of the sink kernel (exec, webhook, journal, syslog):
 * alert records only, each handed to outputs/actions.h, which acts on its
 * own thread. sink.c calls one function per hook.
 */
#ifndef JETSTREAM_KERNELS_SINK_ACTION_H
#define JETSTREAM_KERNELS_SINK_ACTION_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel.h"
#include "outputs/actions.h"

/** The keys of the action formats, inside the sink's params. */
struct sink_action_params {
	char command[2048];   /**< exec: CONFIG_STRING_LIST, PROGRAM then its arguments */
	char server[272];     /**< syslog: HOST:PORT */
	uint32_t facility;    /**< syslog: the RFC 5424 facility code (a CONFIG_CHOICE index) */
	uint32_t reserved;
	uint64_t timeout_ns;  /**< exec, webhook */
	uint64_t concurrency; /**< exec, webhook */
	uint64_t queue;       /**< alerts that may wait for a slot */
};

/** The facility names of `facility:`, in code order (0 kern ... 23 local7). */
extern const char *const sink_action_facility_names[];

/** The sink's keys an action reads besides its own. */
struct sink_action_shared {
	const char *url;           /**< webhook */
	uint64_t retry_ns;         /**< webhook */
	uint64_t drain_timeout_ns;
};

struct sink_action;

/** check(): the keys of an action sink of @p format (and the sink's keys that do not apply). */
void sink_action_check(enum action_format format, const struct sink_action_params *params,
		       const char *url, struct config_check_context *context);

/** check() of another format: the action keys are errors there. */
void sink_action_check_unused(struct config_check_context *context);

/** init(): start the actions' thread. @return 0 or -errno, the message in the instance. */
int sink_action_open(struct kernel_instance *instance, enum action_format format,
		     const struct sink_action_params *params,
		     const struct sink_action_shared *shared, struct sink_action **sink);

/** process(): queue a burst of alerts (never waits: a full queue drops, counted). */
unsigned sink_action_process(struct kernel_instance *instance, struct sink_action *sink);

/** flush(): true once every action is done or counted (drain_timeout). Never blocks. */
bool sink_action_flush(struct kernel_instance *instance, struct sink_action *sink);

/** stats(). */
unsigned sink_action_stats(const struct sink_action *sink, struct kernel_stat *stats);

/** destroy(). NULL is a no-op. */
void sink_action_close(struct sink_action *sink);

#endif
