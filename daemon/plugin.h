/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Plugin kernels: shared objects loaded from the `plugins:` setting, each
 * exporting JETSTREAM_PLUGIN_SYMBOL (see struct jetstream_plugin).
 *
 * Everything here runs on the control thread only.
 *
 * A plugin set is what one configuration uses. Loading a list of paths gives
 * a set that references its plugins; a plugin whose file is unchanged (same
 * device, inode, size and mtime) since it was last loaded is shared with the
 * sets that already hold it, a changed or new file is loaded beside (a
 * distinct handle: the file is copied into a memfd and dlopen'd from there).
 * Running instances reference the plugin of their kernel_ops as well, and a
 * plugin's code is unloaded only once nothing references it.
 *
 * A file is accepted only when, checked on its open descriptor, it is a
 * regular file owned by root or the daemon's user and writable by neither
 * group nor others; the directory it was found in must pass the same owner
 * and mode rule.
 */
#ifndef JETSTREAM_PLUGIN_H
#define JETSTREAM_PLUGIN_H

#include <limits.h>

#include "kernel.h"

struct plugin_set;

/**
 * Receives one refusal: @p index is the entry of the path list at fault (for
 * the caller's file:line:col), @p path the file refused, @p reason the text.
 */
typedef void (*plugin_error_function)(void *context, unsigned index, const char *path,
				      const char *reason);

/**
 * Load every entry of @p paths (a directory: each regular *.so in it, sorted
 * by name; or a file), calling @p report for each refusal. A missing path is
 * a refusal: a caller whose default directory may be absent leaves it out.
 * @return 0 with *@p set filled; -EINVAL when a file was refused (reported,
 *         nothing loaded kept); -ENOMEM.
 */
int plugin_set_load(const char (*paths)[PATH_MAX], unsigned path_count,
		    plugin_error_function report, void *context, struct plugin_set **set);

/** Drop a set's references; plugins nothing else references are unloaded. */
void plugin_set_release(struct plugin_set *set);

/**
 * The kernel type called @p name: a built-in first (kernel_find), else the
 * set's (@p set may be NULL: built-ins only); NULL if none.
 */
const struct kernel_ops *plugin_set_find(const struct plugin_set *set, const char *name);

/** Number of kernel types the set's plugins give (for --describe). */
unsigned plugin_set_kernel_count(const struct plugin_set *set);

/** The set's kernel type number @p index, in load order. */
const struct kernel_ops *plugin_set_kernel(const struct plugin_set *set, unsigned index);

/** An instance of @p ops starts: keep its plugin loaded. No-op for built-ins. */
void plugin_instance_acquire(const struct kernel_ops *ops);

/** An instance of @p ops retired: may unload its plugin. No-op for built-ins. */
void plugin_instance_release(const struct kernel_ops *ops);

/** Plugin handles open now (for tests). */
unsigned plugin_open_handles(void);

#endif
