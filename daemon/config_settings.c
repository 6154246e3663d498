/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The daemon settings: their key table, lcore lists and the default one, and
 * the settings file with the keys bound by code (`eal_args`, `pipelines`,
 * `plugins`).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <sched.h>
#include <string.h>
#include <sys/stat.h>

#include "config_private.h"
#include "plugin.h"

const char *const config_log_level_names[] = {"error", "warning", "info", "debug", NULL};

const char *const config_idle_names[] = {"poll", "sleep", NULL};

const struct config_field daemon_settings_fields[CONFIG_MAX_SETTINGS] = {
	{.key = "lcores", .type = CONFIG_STRING, .offset = offsetof(struct daemon_settings, lcores),
	 .size = sizeof(((struct daemon_settings *)0)->lcores),
	 .description = "EAL lcore list (`0-3`, `0@0,1@0`); the first lcore is the control thread, "
			"the others are workers. Default: every CPU the process may run on", .change = CONFIG_CHANGE_RESTART},
	{.key = "mempool_size", .type = CONFIG_UNSIGNED,
	 .offset = offsetof(struct daemon_settings, mempool_size), .default_value = "16383",
	 .minimum = 1023,
	 .description = "mbufs in the packet pool (2^n - 1 is most efficient). Left out, a run whose "
			"every source is a pcap file read once gets the pool its files can fill (1023 at "
			"least, 16383 at most)", .change = CONFIG_CHANGE_RESTART},
	{.key = "memory", .type = CONFIG_SIZE, .offset = offsetof(struct daemon_settings, memory),
	 .default_value = "512M", .minimum = 64ull << 20,
	 .description = "DPDK memory when running without hugepages (`512M`, `2G`). Left out, with "
			"`ring_size` left out too, a run whose pool `mempool_size` sizes to its pcap files "
			"gets 128M", .change = CONFIG_CHANGE_RESTART},
	{.key = "hugepages", .type = CONFIG_BOOL,
	 .offset = offsetof(struct daemon_settings, hugepages), .default_value = "false",
	 .description = "use hugepages (needs them reserved and root); otherwise `memory` of "
			"ordinary pages", .change = CONFIG_CHANGE_RESTART},
	{.key = "log_level", .type = CONFIG_CHOICE,
	 .offset = offsetof(struct daemon_settings, log_level), .choices = config_log_level_names,
	 .default_value = "info", .description = "error, warning, info or debug", .change = CONFIG_CHANGE_LIVE},
	{.key = "ring_size", .type = CONFIG_UNSIGNED,
	 .offset = offsetof(struct daemon_settings, ring_size), .default_value = "1024",
	 .minimum = 64, .maximum = 1ull << 28,
	 .description = "elements per edge ring, a power of two", .change = CONFIG_CHANGE_RESTART},
	{.key = "idle", .type = CONFIG_CHOICE, .offset = offsetof(struct daemon_settings, idle),
	 .choices = config_idle_names, .default_value = "poll",
	 .description = "`poll`: workers spin, lowest latency; `sleep`: a worker whose round "
			"finds less than a full burst sleeps, from 1us doubling to 1ms while packets "
			"trickle in and to 4ms while none do (agent mode: little CPU when traffic is "
			"light; packets wait up to 4ms)", .change = CONFIG_CHANGE_RESTART},
	{.key = "control_socket", .type = CONFIG_STRING,
	 .offset = offsetof(struct daemon_settings, control_socket),
	 .size = sizeof(((struct daemon_settings *)0)->control_socket),
	 .default_value = "/run/jetstream/control.sock",
	 .description = "unix socket `jetstreamctl` talks to (mode 0660), or `off`. Off when "
			"no settings file is given (`-p` only)",
	 .change = CONFIG_CHANGE_RESTART},
	{.key = "metrics", .type = CONFIG_STRING, .offset = offsetof(struct daemon_settings, metrics),
	 .size = sizeof(((struct daemon_settings *)0)->metrics), .default_value = "127.0.0.1:9470",
	 .description = "Prometheus metrics at `http://HOST:PORT/metrics` (`127.0.0.1:9470`, "
			"`[::1]:9470`), or `off`. Off when no settings file is given (`-p` only)",
	 .change = CONFIG_CHANGE_RESTART},
	/*
	 * Bound by code (settings_keys). eal_args records no position: a reload
	 * refuses its change about the whole file. Its offset and size span the
	 * count and the zero-filled entries, so a reload compares them as bytes.
	 */
	{.key = "eal_args", .type = CONFIG_STRING_LIST, .default_value = "[]",
	 .offset = offsetof(struct daemon_settings, eal_arg_count),
	 .size = offsetof(struct daemon_settings, eal_args) +
		 sizeof(((struct daemon_settings *)0)->eal_args) -
		 offsetof(struct daemon_settings, eal_arg_count),
	 .description = "extra EAL arguments, after the defaults and before those given after `--`",
	 .change = CONFIG_CHANGE_RESTART},
	{.key = "pipelines", .type = CONFIG_PATH_LIST, .default_value = "[]",
	 .description = "pipeline files (relative to the settings file); `-p` replaces this list",
	 .change = CONFIG_CHANGE_LIVE},
	{.key = "plugins", .type = CONFIG_PATH_LIST, .default_value = "/usr/lib/jetstream/kernels",
	 .description = "plugin directories or kernel `.so` files (relative to the settings file), "
			"at most 32; a list replaces the default (which may be absent). Files owned "
			"by root or the daemon's user, not writable by group or others",
	 .change = CONFIG_CHANGE_LIVE},
	{.key = NULL},
};

/* ---- lcore lists ---- */

static int
parse_lcore_id(const char **cursor, unsigned *id)
{
	unsigned value = 0;

	if (**cursor < '0' || **cursor > '9')
		return -EINVAL;
	for (; **cursor >= '0' && **cursor <= '9'; (*cursor)++) {
		value = value * 10 + (unsigned)(**cursor - '0');
		if (value >= RTE_MAX_LCORE)
			return -EINVAL;
	}
	*id = value;
	return 0;
}

/* Skips the CPU set after '@': `3`, `2-3` or `(2,3)`; EAL checks the CPUs themselves. */
static int
skip_cpu_set(const char **cursor)
{
	const char *start = *cursor;

	if (**cursor == '(') {
		const char *close = strchr(*cursor, ')');

		if (close == NULL || close == *cursor + 1)
			return -EINVAL;
		*cursor = close + 1;
		return 0;
	}
	while ((**cursor >= '0' && **cursor <= '9') || **cursor == '-')
		(*cursor)++;
	return *cursor == start ? -EINVAL : 0;
}

/* One `first[-last][@cpus]` entry: the lcore range it names. */
static int
parse_lcore_entry(const char **cursor, unsigned *first, unsigned *last)
{
	if (parse_lcore_id(cursor, first) != 0)
		return -EINVAL;
	*last = *first;
	if (**cursor == '-') {
		(*cursor)++;
		if (parse_lcore_id(cursor, last) != 0 || *last < *first)
			return -EINVAL;
	}
	if (**cursor == '@') {
		(*cursor)++;
		return skip_cpu_set(cursor);
	}
	return 0;
}

int
config_worker_lcores(const char *lcore_list, unsigned *lcores, unsigned max)
{
	bool seen[RTE_MAX_LCORE] = {false};
	const char *cursor = lcore_list;
	unsigned listed = 0, count = 0;

	if (lcore_list == NULL)
		return -EINVAL;
	for (;;) {
		unsigned first, last;

		if (parse_lcore_entry(&cursor, &first, &last) != 0)
			return -EINVAL;
		for (unsigned id = first; id <= last; id++) {
			if (seen[id])
				return -EINVAL;
			seen[id] = true;
			if (listed++ == 0)
				continue; /* the control thread */
			if (count == max)
				return -ENOSPC;
			lcores[count++] = id;
		}
		if (*cursor == '\0')
			return (int)count;
		if (*cursor++ != ',')
			return -EINVAL;
	}
}

/*
 * Every CPU this process may run on, as an lcore list (lcore n on CPU n).
 * With a single CPU, two lcores share it so that there is always a worker.
 */
static void
compute_default_lcores(char *lcores, size_t size)
{
	cpu_set_t allowed;
	int first_cpu = -1, eligible = 0;
	size_t used = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		CPU_ZERO(&allowed);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		if (first_cpu < 0)
			first_cpu = cpu;
		eligible += cpu < RTE_MAX_LCORE;
	}
	if (eligible < 2) {
		snprintf(lcores, size, "0@%d,1@%d", first_cpu < 0 ? 0 : first_cpu,
			 first_cpu < 0 ? 0 : first_cpu);
		return;
	}
	lcores[0] = '\0';
	for (int cpu = 0; cpu < RTE_MAX_LCORE; cpu++) {
		int last = cpu;
		char entry[32];

		if (!CPU_ISSET(cpu, &allowed))
			continue;
		while (last + 1 < RTE_MAX_LCORE && CPU_ISSET(last + 1, &allowed))
			last++;
		if (last == cpu)
			snprintf(entry, sizeof(entry), "%s%d", used ? "," : "", cpu);
		else
			snprintf(entry, sizeof(entry), "%s%d-%d", used ? "," : "", cpu, last);
		if (used + strlen(entry) >= size)
			break; /* keep a valid, shorter list rather than a cut one */
		used += (size_t)snprintf(lcores + used, size - used, "%s", entry);
		cpu = last;
	}
}

/*
 * The CPUs this process may use, read once: DPDK pins the control thread to
 * its lcore's CPU, so reading the affinity again at a reload would give a
 * different default and refuse the reload for a setting nobody changed.
 */
static void
default_lcores(char *lcores, size_t size)
{
	static char cached[sizeof(((struct daemon_settings *)0)->lcores)];

	if (cached[0] == '\0')
		compute_default_lcores(cached, sizeof(cached));
	snprintf(lcores, size, "%s", cached);
}

/* ---- settings file ---- */

/* Checks @p value is a list of at most @p max strings. */
static bool
is_string_list(struct file_context *file, const yaml_node_t *value, const char *key, unsigned max)
{
	bool valid = true;

	if (value->type != YAML_SEQUENCE_NODE) {
		node_error(file, value, "'%s' takes a list, not %s", key, node_kind(value));
		return false;
	}
	if (sequence_length(value) > max) {
		node_error(file, value, "'%s' has %u entries (at most %u)", key,
			   sequence_length(value), max);
		return false;
	}
	for (yaml_node_item_t *item = value->data.sequence.items.start;
	     item < value->data.sequence.items.top; item++) {
		const yaml_node_t *entry = node_at(file, *item);

		if (entry->type != YAML_SCALAR_NODE || scalar_is_missing(entry)) {
			node_error(file, entry, "entries of '%s' are strings, not %s", key,
				   entry->type == YAML_SCALAR_NODE ? "empty" : node_kind(entry));
			valid = false;
		}
	}
	return valid;
}

static void
bind_eal_args(struct file_context *file, yaml_node_t *value, void *target)
{
	struct daemon_settings *settings = ((struct top_level *)target)->settings;

	if (!is_string_list(file, value, "eal_args", CONFIG_MAX_EAL_ARGS))
		return;
	for (yaml_node_item_t *item = value->data.sequence.items.start;
	     item < value->data.sequence.items.top; item++) {
		const yaml_node_t *entry = node_at(file, *item);
		char *argument = settings->eal_args[settings->eal_arg_count];

		if (strlen(scalar_text(entry)) >= sizeof(settings->eal_args[0]))
			node_error(file, entry, "EAL argument is too long (at most %zu characters)",
				   sizeof(settings->eal_args[0]) - 1);
		else
			snprintf(argument, sizeof(settings->eal_args[0]), "%s", scalar_text(entry));
		settings->eal_arg_count++;
	}
}

/*
 * A list of paths into @p paths (@p count of them, at most @p max). Relative
 * paths are relative to the settings file, not to the working directory. The
 * position is recorded, for a reload's errors and to tell the default apart.
 */
static void
bind_paths(struct file_context *file, yaml_node_t *value, struct top_level *top, const char *key,
	   char (*paths)[PATH_MAX], struct config_position *positions, unsigned *count, unsigned max,
	   const char *what)
{
	top->setting_positions[find_field(daemon_settings_fields, key)] =
		node_position(file, value);
	if (!is_string_list(file, value, key, max))
		return;
	for (yaml_node_item_t *item = value->data.sequence.items.start;
	     item < value->data.sequence.items.top; item++) {
		const char *path = scalar_text(node_at(file, *item));
		bool relative = path[0] != '/' && strcmp(top->directory, ".") != 0;

		if (positions != NULL)
			positions[*count] = node_position(file, node_at(file, *item));
		char *destination = paths[(*count)++];
		int length = snprintf(destination, PATH_MAX, "%s%s%s", relative ? top->directory : "",
				      relative ? "/" : "", path);

		if (length >= PATH_MAX)
			node_error(file, node_at(file, *item), "%s path is too long", what);
	}
}

static void
bind_pipelines(struct file_context *file, yaml_node_t *value, void *target)
{
	struct top_level *top = target;

	bind_paths(file, value, top, "pipelines", top->settings->pipelines, NULL,
		   &top->settings->pipeline_count, CONFIG_MAX_PIPELINES, "pipeline");
}

/* Only parsed and stored here: load_plugins() loads them once the file is bound. */
static void
bind_plugins(struct file_context *file, yaml_node_t *value, void *target)
{
	struct top_level *top = target;

	top->settings->plugin_count = 0; /* the default goes: the list replaces it */
	bind_paths(file, value, top, "plugins", top->settings->plugins, top->plugin_positions,
		   &top->settings->plugin_count, CONFIG_MAX_PLUGINS, "plugin");
}

/* The default of `plugins`, from its row: one directory. */
static void
default_plugins(struct daemon_settings *settings)
{
	const struct config_field *field = &daemon_settings_fields[find_field(daemon_settings_fields,
									       "plugins")];

	settings->plugin_count = 1;
	snprintf(settings->plugins[0], sizeof(settings->plugins[0]), "%s", field->default_value);
}

static const struct special_key settings_keys[] = {
	{"version", bind_version},
	{"eal_args", bind_eal_args},
	{"pipelines", bind_pipelines},
	{"plugins", bind_plugins},
	{NULL, NULL},
};

static bool
is_power_of_two(uint64_t value)
{
	return value != 0 && (value & (value - 1)) == 0;
}

/* `metrics:` is `off` or HOST:PORT, the port 1-65535, an IPv6 host in brackets. */
static void
check_listen_address(const char *address, struct config_check_context *context)
{
	char host[sizeof(((struct daemon_settings *)0)->metrics)], port[8];

	if (strcmp(address, "off") != 0 &&
	    !config_split_host_port(address, host, sizeof(host), port, sizeof(port)))
		config_check_error(context, "metrics",
				   "metrics '%s': expected HOST:PORT with a port from 1 to 65535 "
				   "(127.0.0.1:9470, [::1]:9470), or off",
				   address);
}

/* What the settings table cannot say by itself; same contract as a kernel's check(). */
static void
settings_check(const void *params, struct config_check_context *context)
{
	const struct daemon_settings *settings = params;
	unsigned workers[RTE_MAX_LCORE];
	int worker_count;

	if (!is_power_of_two(settings->ring_size))
		config_check_error(context, "ring_size", "ring_size %lu is not a power of two",
				   (unsigned long)settings->ring_size);
	check_listen_address(settings->metrics, context);
	if (!config_check_key_set(context, "lcores"))
		return;
	worker_count = config_worker_lcores(settings->lcores, workers, RTE_MAX_LCORE);
	if (worker_count < 0)
		config_check_error(context, "lcores",
				   "invalid lcore list '%s': expected a list such as 0-3 or 0@0,1@0",
				   settings->lcores);
	else if (worker_count == 0)
		config_check_error(context, "lcores",
				   "lcore list '%s' has no worker: the first lcore is the control "
				   "thread, list at least one more",
				   settings->lcores);
}

static void
directory_of(const char *path, char *directory, size_t size)
{
	char copy[PATH_MAX];

	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(directory, size, "%s", dirname(copy));
}

static void
bind_settings_file(struct loader *loader, struct file_context *file, struct binding *binding)
{
	struct top_level *top = binding->target;
	yaml_node_t *root = yaml_document_get_root_node(&file->document);
	struct config_position whole_file = {file->name, 0, 0};

	directory_of(file->name, top->directory, sizeof(top->directory));
	if (root == NULL)
		return; /* an empty settings file means every default */
	if (root->type != YAML_MAPPING_NODE) {
		node_error(file, root, "a settings file is a mapping of keys, not %s",
			   node_kind(root));
		return;
	}
	bind_mapping(file, root, binding);
	run_check(loader, whole_file, binding, settings_check);
}

void
load_settings(struct loader *loader, const char *path)
{
	struct daemon_settings *settings = &loader->config->settings;
	struct config_position *positions = loader->config->setting_positions;
	struct top_level top = {.settings = settings, .setting_positions = positions,
				.plugin_positions = loader->config->plugin_positions};
	struct binding binding = {
		.owner = " in the daemon settings",
		.special_keys = settings_keys,
		.target = &top,
		.fields = daemon_settings_fields,
		.params = settings,
		.field_positions = positions,
	};
	struct file_context file;

	apply_defaults(loader, config_command_line_position, daemon_settings_fields, settings);
	default_plugins(settings);
	if (path != NULL) {
		if (strlen(path) >= sizeof(loader->config->settings_file))
			config_error(loader->errors, config_command_line_position, "settings path too long");
		snprintf(loader->config->settings_file, sizeof(loader->config->settings_file), "%s",
			 path);
		if (file_load(loader, path, "settings", &file)) {
			bind_settings_file(loader, &file, &binding);
			yaml_document_delete(&file.document);
		}
	}
	if (positions[find_field(daemon_settings_fields, "lcores")].line == 0)
		default_lcores(settings->lcores, sizeof(settings->lcores));
	if (path == NULL) { /* an ad-hoc run (`-p` only), maybe unprivileged, opens no endpoint */
		snprintf(settings->control_socket, sizeof(settings->control_socket), "off");
		snprintf(settings->metrics, sizeof(settings->metrics), "off");
	}
}

/* ---- plugins ---- */

/* A refused plugin, reported at the entry of `plugins:` that named it. */
static void
report_plugin(void *context, unsigned index, const char *path, const char *reason)
{
	struct loader *loader = context;
	struct config_position position = loader->config->plugin_positions[index];

	if (position.line == 0) /* the default directory */
		position = (struct config_position){.file = loader->config->settings_file[0] != '\0'
								    ? loader->config->settings_file
								    : config_command_line_position.file};
	config_error(loader->errors, position, "plugin '%s' refused: %s", path, reason);
}

void
load_plugins(struct loader *loader)
{
	struct config *config = loader->config;
	const struct daemon_settings *settings = &config->settings;
	bool defaulted = config->setting_positions[find_field(daemon_settings_fields, "plugins")]
				 .line == 0;
	struct stat status;

	if (defaulted && stat(settings->plugins[0], &status) != 0 && errno == ENOENT)
		return;
	if (plugin_set_load(settings->plugins, settings->plugin_count, report_plugin, loader,
			    &config->plugins) == -ENOMEM)
		config_error(loader->errors, config_command_line_position,
			     "out of memory while loading plugins");
}
