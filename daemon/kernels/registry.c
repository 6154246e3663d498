/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The explicit list of built-in kernel types. A table rather than constructor
 * registration, so that unit tests see exactly the same set as the daemon and
 * the order of the docs is stable.
 */
#include <string.h>

#include "kernels/registry.h"

extern const struct kernel_ops source_kernel;
extern const struct kernel_ops per_src_counter_kernel;
extern const struct kernel_ops threshold_kernel;
extern const struct kernel_ops flow_tracker_kernel;
extern const struct kernel_ops proto_stats_kernel;
extern const struct kernel_ops passthrough_kernel;
extern const struct kernel_ops filter_kernel;
extern const struct kernel_ops history_kernel;
extern const struct kernel_ops sink_kernel;

const struct kernel_ops *const kernel_registry[] = {
	&source_kernel,
	&per_src_counter_kernel,
	&threshold_kernel,
	&flow_tracker_kernel,
	&proto_stats_kernel,
	&passthrough_kernel,
	&filter_kernel,
	&history_kernel,
	&sink_kernel,
	NULL,
};

const struct kernel_ops *
kernel_find(const char *name)
{
	for (const struct kernel_ops *const *ops = kernel_registry; *ops != NULL; ops++)
		if (strcmp((*ops)->name, name) == 0)
			return *ops;
	return NULL;
}
