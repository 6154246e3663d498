/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The built-in per_src_counter compiled as a plugin, under the type name
 * per_src_counter_plugin, so that scripts/bench/plugin.sh can measure what
 * being a plugin costs: the same code, once linked into jetstreamd and once
 * reached through dlopen.
 *
 * The kernel's source file is compiled here as it is, not copied, so the two
 * types cannot drift apart. Its table, daemon/kernels/counter_table.c, is
 * linked into the plugin too (the Makefile compiles it as a unit of its own,
 * as the daemon does, so no more is inlined here than there): its functions
 * are daemon-internal, not in daemon/kernel_api.list. Everything else the
 * kernel calls is in that list and resolves to the daemon's own copy at
 * dlopen. The plugin is built with -fvisibility=hidden: its second copies of
 * per_src_counter_kernel and counter_table_* then stay private to it, and
 * never interpose on (or are interposed by) the daemon's.
 */
#include "kernels/per_src_counter.c"

/*
 * The plugin's type: per_src_counter_kernel with another name, so that both
 * types can be loaded at once. Copied at load time (the constructor runs
 * during dlopen, before the daemon asks for the descriptor) rather than
 * spelt out again field by field, so a field added to the built-in type is
 * in the plugin's too.
 */
static struct kernel_ops per_src_counter_plugin_kernel;

static void __attribute__((constructor))
per_src_counter_plugin_setup(void)
{
	per_src_counter_plugin_kernel = per_src_counter_kernel;
	per_src_counter_plugin_kernel.name = "per_src_counter_plugin";
}

/* The one symbol the plugin exports; -fvisibility=hidden hides the rest. */
__attribute__((visibility("default"))) const struct jetstream_plugin *jetstream_plugin(void);

JETSTREAM_PLUGIN("per_src_counter_plugin", &per_src_counter_plugin_kernel);
