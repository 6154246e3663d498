/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The plugin loader (see plugin.h). Control thread only: the list of loaded
 * plugins and every reference count are unsynchronised.
 *
 * Files are checked on the open descriptor (fstat), never on the path, so
 * what was checked is what is loaded: the descriptor's content is copied into
 * a memfd and dlopen'd through /proc/self/fd. The memfd being a new inode,
 * the dynamic loader never confuses a rewritten file with the code it
 * already holds for the same path.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "kernels/registry.h"
#include "log.h"
#include "plugin.h"

/* One loaded shared object. */
struct plugin {
	struct plugin *next;       /* in loaded_plugins */
	unsigned references;       /* sets and running instances that hold it */
	void *handle;
	int memfd;                 /* the copy dlopen'd; open while the handle lives */
	struct stat file;          /* of the file copied: reused while these match */
	const struct jetstream_plugin *descriptor;
	bool announced;            /* accepted and logged as loaded: its unload is logged too */
	char path[PATH_MAX];
};

struct plugin_set {
	unsigned plugin_count;
	struct plugin **plugins;
	unsigned kernel_count;
	const struct kernel_ops **kernels;
	struct plugin **kernel_owners; /* the plugin of each of kernels */
};

/* What one plugin_set_load() reports to. */
struct load {
	struct plugin_set *set;
	plugin_error_function report;
	void *context;
	unsigned index;
	bool refused;
	int error; /* -ENOMEM, which stops the load */
};

static struct plugin *loaded_plugins;
static unsigned open_handles;

static void __attribute__((format(printf, 3, 4)))
refuse(struct load *load, const char *path, const char *format, ...)
{
	char reason[PATH_MAX + 256];
	va_list arguments;

	va_start(arguments, format);
	vsnprintf(reason, sizeof(reason), format, arguments);
	va_end(arguments);
	load->refused = true;
	if (load->report != NULL)
		load->report(load->context, load->index, path, reason);
}

/* The owner and mode rule files and their directories both follow. */
static bool
check_owner_and_mode(struct load *load, const char *path, const struct stat *status)
{
	if (status->st_uid != 0 && status->st_uid != geteuid()) {
		refuse(load, path, "owned by uid %u, neither root nor the daemon's user (uid %u)",
		       (unsigned)status->st_uid, (unsigned)geteuid());
		return false;
	}
	if ((status->st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		refuse(load, path, "writable by group or others (mode %04o)",
		       (unsigned)(status->st_mode & 07777));
		return false;
	}
	return true;
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void
plugin_unload(struct plugin *plugin)
{
	for (struct plugin **link = &loaded_plugins; *link != NULL; link = &(*link)->next)
		if (*link == plugin) {
			*link = plugin->next;
			break;
		}
	if (plugin->announced) /* before dlclose: the name lives in the plugin */
		log_info("plugin '%s' unloaded (%s)", plugin->descriptor->name, plugin->path);
	dlclose(plugin->handle);
	close(plugin->memfd);
	open_handles--;
	free(plugin);
}

static void
plugin_release(struct plugin *plugin)
{
	if (--plugin->references == 0)
		plugin_unload(plugin);
}

/* Copy all of @p fd (at offset 0) into a new memfd. @return the memfd or -errno. */
static int
copy_to_memfd(int fd, const char *path, off_t size)
{
	char name[250]; /* memfd names: 249 bytes at most */
	char base[PATH_MAX];
	int memfd;

	snprintf(base, sizeof(base), "%s", path);
	snprintf(name, sizeof(name), "jetstream-plugin:%s", basename(base));
	memfd = memfd_create(name, MFD_CLOEXEC);
	if (memfd < 0)
		return -errno;
	for (off_t copied = 0; copied < size;) {
		ssize_t sent = sendfile(memfd, fd, &copied, (size_t)(size - copied));

		if (sent <= 0) {
			int error = sent < 0 ? -errno : -EIO; /* 0: the file shrank under us */

			close(memfd);
			return error;
		}
	}
	return memfd;
}

/* dlopen a copy of @p fd and read its descriptor; NULL when refused (reported) or -ENOMEM. */
static struct plugin *
plugin_open(struct load *load, int fd, const char *path, const struct stat *status)
{
	char memfd_path[64];
	jetstream_plugin_function function;
	struct plugin *plugin = calloc(1, sizeof(*plugin));

	if (plugin == NULL) {
		load->error = -ENOMEM;
		return NULL;
	}
	plugin->memfd = copy_to_memfd(fd, path, status->st_size);
	if (plugin->memfd < 0) {
		refuse(load, path, "cannot copy: %s", strerror(-plugin->memfd));
		free(plugin);
		return NULL;
	}
	snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", plugin->memfd);
	plugin->handle = dlopen(memfd_path, RTLD_NOW | RTLD_LOCAL);
	if (plugin->handle == NULL) {
		refuse(load, path, "%s", dlerror());
		close(plugin->memfd);
		free(plugin);
		return NULL;
	}
	open_handles++;
	plugin->references = 1;
	plugin->file = *status;
	snprintf(plugin->path, sizeof(plugin->path), "%s", path);
	plugin->next = loaded_plugins;
	loaded_plugins = plugin;

	*(void **)&function = dlsym(plugin->handle, JETSTREAM_PLUGIN_SYMBOL);
	if (function == NULL) {
		refuse(load, path, "does not export " JETSTREAM_PLUGIN_SYMBOL "()");
		goto refused;
	}
	plugin->descriptor = function();
	if (plugin->descriptor == NULL || plugin->descriptor->kernels == NULL) {
		refuse(load, path, JETSTREAM_PLUGIN_SYMBOL "() gives no kernel types");
		goto refused;
	}
	if (plugin->descriptor->abi_version != JETSTREAM_KERNEL_ABI_VERSION) {
		refuse(load, path, "built for kernel API version %u, this daemon has %u",
		       (unsigned)plugin->descriptor->abi_version, JETSTREAM_KERNEL_ABI_VERSION);
		goto refused;
	}
	return plugin;

refused:
	plugin_release(plugin);
	return NULL;
}

static struct plugin *
plugin_find_loaded(const struct stat *status)
{
	for (struct plugin *plugin = loaded_plugins; plugin != NULL; plugin = plugin->next)
		if (same_file(&plugin->file, status))
			return plugin;
	return NULL;
}

static bool
set_has_plugin(const struct plugin_set *set, const struct plugin *plugin)
{
	for (unsigned i = 0; i < set->plugin_count; i++)
		if (set->plugins[i] == plugin)
			return true;
	return false;
}

static const struct plugin *
set_kernel_owner(const struct plugin_set *set, const char *name)
{
	for (unsigned i = 0; i < set->kernel_count; i++)
		if (strcmp(set->kernels[i]->name, name) == 0)
			return set->kernel_owners[i];
	return NULL;
}

/*
 * What the daemon relies on in every kernel_ops, checked once at load so a
 * broken plugin is refused with a reason rather than crashing a worker.
 * @return NULL, or what is wrong.
 */
static const char *
ops_fault(const struct kernel_ops *ops)
{
	size_t length = ops->name != NULL ? strlen(ops->name) : 0;

	if (length == 0 || length >= CONFIG_NAME_MAX || strspn(ops->name,
		"abcdefghijklmnopqrstuvwxyz0123456789_") != length)
		return "has a name that is not 1 to 63 of [a-z0-9_]";
	if (ops->process == NULL)
		return "has no process()";
	if (ops->init != NULL && ops->destroy == NULL)
		return "has init() but no destroy()";
	if (ops->input_type > STREAM_ANY || ops->output_type > STREAM_ANY_RECORD)
		return "has a stream type this daemon does not know";
	if (ops->params_size > 0 && ops->config_map == NULL)
		return "has parameters but no config_map";
	return NULL;
}

static bool
kernels_acceptable(struct load *load, const struct plugin *plugin)
{
	bool acceptable = true;

	for (const struct kernel_ops *const *ops = plugin->descriptor->kernels; *ops; ops++) {
		const char *name = (*ops)->name;
		const char *fault = ops_fault(*ops);
		const struct plugin *owner;

		if (fault != NULL) {
			refuse(load, plugin->path, "kernel type '%s' %s", name != NULL ? name : "?",
			       fault);
			acceptable = false;
		} else if (kernel_find(name) != NULL) {
			refuse(load, plugin->path, "kernel type '%s' is a built-in", name);
			acceptable = false;
		} else if ((owner = set_kernel_owner(load->set, name)) != NULL) {
			refuse(load, plugin->path, "kernel type '%s' is already given by plugin '%s'",
			       name, owner->descriptor->name);
			acceptable = false;
		}
	}
	return acceptable;
}

/* Add @p plugin, whose reference passes to the set, with its kernel types. */
static int
set_add(struct plugin_set *set, struct plugin *plugin)
{
	unsigned count = 0;
	struct plugin **plugins;
	const struct kernel_ops **kernels;
	struct plugin **owners;

	while (plugin->descriptor->kernels[count] != NULL)
		count++;
	plugins = realloc(set->plugins, (set->plugin_count + 1) * sizeof(*plugins));
	if (plugins == NULL)
		return -ENOMEM;
	set->plugins = plugins;
	kernels = realloc(set->kernels, (set->kernel_count + count + 1) * sizeof(*kernels));
	if (kernels == NULL)
		return -ENOMEM;
	set->kernels = kernels;
	owners = realloc(set->kernel_owners, (set->kernel_count + count + 1) * sizeof(*owners));
	if (owners == NULL)
		return -ENOMEM;
	set->kernel_owners = owners;
	set->plugins[set->plugin_count++] = plugin;
	for (unsigned i = 0; i < count; i++) {
		set->kernels[set->kernel_count] = plugin->descriptor->kernels[i];
		set->kernel_owners[set->kernel_count++] = plugin;
	}
	return 0;
}

/* Check, load (or reuse) and add the open regular file @p fd. */
static void
load_file(struct load *load, int fd, const char *path, const struct stat *status)
{
	struct plugin *plugin;

	if (!check_owner_and_mode(load, path, status))
		return;
	plugin = plugin_find_loaded(status);
	if (plugin != NULL && set_has_plugin(load->set, plugin))
		return; /* listed twice (a file and its directory): once is enough */
	if (plugin != NULL)
		plugin->references++;
	else if ((plugin = plugin_open(load, fd, path, status)) == NULL)
		return;
	if (!kernels_acceptable(load, plugin)) {
		plugin_release(plugin);
		return;
	}
	if (set_add(load->set, plugin) < 0) {
		plugin_release(plugin);
		load->error = -ENOMEM;
		return;
	}
	if (!plugin->announced)
		log_info("plugin '%s' loaded from %s", plugin->descriptor->name, path);
	plugin->announced = true;
}

static int
select_shared_object(const struct dirent *entry)
{
	size_t length = strlen(entry->d_name);

	return length > 3 && strcmp(entry->d_name + length - 3, ".so") == 0;
}

static int
compare_names(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every regular *.so of the open directory @p fd, by name; other entries are skipped. */
static void
load_directory(struct load *load, int fd, const char *path, const struct stat *status)
{
	struct dirent **entries;
	int count;

	if (!check_owner_and_mode(load, path, status))
		return;
	count = scandirat(fd, ".", &entries, select_shared_object, compare_names);
	if (count < 0) {
		refuse(load, path, "%s", strerror(errno));
		return;
	}
	for (int i = 0; i < count; i++) {
		char file_path[PATH_MAX];
		struct stat file_status;
		/* O_NONBLOCK: a FIFO named *.so must not hang the load */
		int file = openat(fd, entries[i]->d_name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

		snprintf(file_path, sizeof(file_path), "%s/%s", path, entries[i]->d_name);
		if (file < 0)
			refuse(load, file_path, "%s", strerror(errno));
		else if (fstat(file, &file_status) == 0 && S_ISREG(file_status.st_mode))
			load_file(load, file, file_path, &file_status);
		if (file >= 0)
			close(file);
		free(entries[i]);
	}
	free(entries);
}

/* The file @p fd was named by @p path: its directory must pass the owner and mode rule too. */
static bool
check_parent_directory(struct load *load, const char *path)
{
	char copy[PATH_MAX];
	const char *directory;
	struct stat status;
	bool acceptable;
	int fd;

	snprintf(copy, sizeof(copy), "%s", path);
	directory = dirname(copy);
	fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &status) < 0) {
		refuse(load, directory, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	acceptable = check_owner_and_mode(load, directory, &status);
	close(fd);
	return acceptable;
}

/* One entry of the path list; a missing path is refused like any other. */
static void
load_path(struct load *load, const char *path)
{
	struct stat status;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		refuse(load, path, "%s", strerror(errno));
		return;
	}
	if (fstat(fd, &status) < 0)
		refuse(load, path, "%s", strerror(errno));
	else if (S_ISDIR(status.st_mode))
		load_directory(load, fd, path, &status);
	else if (!S_ISREG(status.st_mode))
		refuse(load, path, "not a regular file");
	else if (check_parent_directory(load, path))
		load_file(load, fd, path, &status);
	close(fd);
}

int
plugin_set_load(const char (*paths)[PATH_MAX], unsigned path_count,
		plugin_error_function report, void *context, struct plugin_set **set)
{
	struct load load = {.report = report, .context = context};

	load.set = calloc(1, sizeof(*load.set));
	if (load.set == NULL)
		return -ENOMEM;
	for (load.index = 0; load.index < path_count && load.error == 0; load.index++)
		load_path(&load, paths[load.index]);
	if (load.error != 0 || load.refused) {
		plugin_set_release(load.set);
		return load.error != 0 ? load.error : -EINVAL;
	}
	*set = load.set;
	return 0;
}

void
plugin_set_release(struct plugin_set *set)
{
	if (set == NULL)
		return;
	for (unsigned i = 0; i < set->plugin_count; i++)
		plugin_release(set->plugins[i]);
	free(set->plugins);
	free(set->kernels);
	free(set->kernel_owners);
	free(set);
}

const struct kernel_ops *
plugin_set_find(const struct plugin_set *set, const char *name)
{
	const struct kernel_ops *ops = kernel_find(name);

	if (ops != NULL || set == NULL)
		return ops;
	for (unsigned i = 0; i < set->kernel_count; i++)
		if (strcmp(set->kernels[i]->name, name) == 0)
			return set->kernels[i];
	return NULL;
}

unsigned
plugin_set_kernel_count(const struct plugin_set *set)
{
	return set == NULL ? 0 : set->kernel_count;
}

const struct kernel_ops *
plugin_set_kernel(const struct plugin_set *set, unsigned index)
{
	return set != NULL && index < set->kernel_count ? set->kernels[index] : NULL;
}

/* The loaded plugin that gives @p ops; NULL for a built-in. */
static struct plugin *
plugin_of(const struct kernel_ops *ops)
{
	for (struct plugin *plugin = loaded_plugins; plugin != NULL; plugin = plugin->next)
		for (const struct kernel_ops *const *kernel = plugin->descriptor->kernels;
		     *kernel != NULL; kernel++)
			if (*kernel == ops)
				return plugin;
	return NULL;
}

void
plugin_instance_acquire(const struct kernel_ops *ops)
{
	struct plugin *plugin = plugin_of(ops);

	if (plugin != NULL)
		plugin->references++;
}

void
plugin_instance_release(const struct kernel_ops *ops)
{
	struct plugin *plugin = plugin_of(ops);

	if (plugin != NULL)
		plugin_release(plugin);
}

unsigned
plugin_open_handles(void)
{
	return open_handles;
}
