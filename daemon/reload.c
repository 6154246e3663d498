/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The reload diff. Kernels are matched by instance name; a rename is a
 * removal plus an addition, and a type change under the same name is too.
 */
#include <errno.h>
#include <string.h>

#include "kernel.h"
#include "kernels/source.h"
#include "reload.h"

extern const struct kernel_ops source_kernel;

const char *
reload_action_name(enum reload_action action)
{
	switch (action) {
	case RELOAD_ADD:
		return "added";
	case RELOAD_KEEP:
		return "kept";
	case RELOAD_TAKE_STATE:
		return "changed";
	case RELOAD_REPLACE:
		return "replaced";
	}
	return "?";
}

static bool
same_placement(const struct kernel_spec *old_spec, const struct kernel_spec *new_spec)
{
	return old_spec->replicas == new_spec->replicas &&
	       old_spec->core_count == new_spec->core_count &&
	       memcmp(old_spec->cores, new_spec->cores,
		      new_spec->core_count * sizeof(new_spec->cores[0])) == 0;
}

/*
 * State moves between instances on the same lcore only, replica by replica,
 * so replicas and cores must stay; the kernel decides about its parameters.
 */
static enum reload_action
changed_action(const struct kernel_spec *old_spec, const struct kernel_spec *new_spec)
{
	const struct kernel_ops *ops = new_spec->ops;

	if (!same_placement(old_spec, new_spec) || ops->take_state == NULL)
		return RELOAD_REPLACE;
	if (ops->can_take_state != NULL && !ops->can_take_state(new_spec->params, old_spec->params))
		return RELOAD_REPLACE;
	return RELOAD_TAKE_STATE;
}

static enum reload_action
kernel_action(const struct kernel_spec *old_spec, const struct kernel_spec *new_spec)
{
	if (old_spec == NULL || old_spec->ops != new_spec->ops)
		return RELOAD_ADD;
	if (same_placement(old_spec, new_spec) &&
	    memcmp(old_spec->params, new_spec->params, new_spec->ops->params_size) == 0)
		return RELOAD_KEEP;
	return changed_action(old_spec, new_spec);
}

static struct config_position
key_position(const struct kernel_spec *spec, const char *key)
{
	return config_key_position(spec->ops->config_map, spec->key_positions, key, spec->position);
}

/*
 * A port's device is configured once, at start: under the same name, a source
 * keeps its device (or stays a file) and its queue count.
 */
static void
refuse_port_changes(const struct kernel_spec *old_spec, const struct kernel_spec *new_spec,
		    struct config_errors *errors)
{
	const struct source_params *old_params = old_spec->params, *new_params = new_spec->params;

	if (old_spec->ops != &source_kernel || new_spec->ops != &source_kernel)
		return;
	if (old_params->port[0] == '\0' && new_params->port[0] == '\0')
		return;
	if (strcmp(old_params->port, new_params->port) != 0)
		config_error(errors, key_position(new_spec, source_mode_key(source_mode_of(new_params))),
			     "kernel '%s': key 'port' cannot change without a restart (running: %s)",
			     new_spec->name, old_params->port[0] ? old_params->port
			     : source_mode_of(old_params) == SOURCE_PCAP ? "a pcap file"
			     : "a synthetic source");
	else if (old_params->queues != new_params->queues)
		config_error(errors, key_position(new_spec, "queues"),
			     "kernel '%s': key 'queues' cannot change without a restart (running: "
			     "%lu)",
			     new_spec->name, (unsigned long)old_params->queues);
}

static const char *
port_of(const struct kernel_spec *spec)
{
	return spec->ops == &source_kernel ? ((const struct source_params *)spec->params)->port : "";
}

/*
 * A port is configured by the instance that opens it; two instances cannot
 * hold one device, even briefly, so a port source is never replaced live.
 */
static void
refuse_port_replacement(const struct config *old_config, const struct config *new_config,
			const struct reload_plan *plan, unsigned k, struct config_errors *errors)
{
	const struct kernel_spec *spec = &new_config->kernels[k];
	const char *port = port_of(spec);

	if (port[0] == '\0')
		return;
	if (plan->actions[k] == RELOAD_REPLACE) {
		/* a changed device or queue count is refused by refuse_port_changes() already */
		if (strcmp(port_of(&old_config->kernels[plan->predecessors[k]]), port) != 0 ||
		    ((const struct source_params *)old_config->kernels[plan->predecessors[k]].params)
				    ->queues != ((const struct source_params *)spec->params)->queues)
			return;
		config_error(errors, spec->position,
			     "kernel '%s': a port source cannot be replaced live (its replicas or "
			     "cores changed); restart to apply",
			     spec->name);
		return;
	}
	for (unsigned old = 0; old < old_config->kernel_count; old++)
		if (plan->actions[k] == RELOAD_ADD && strcmp(port_of(&old_config->kernels[old]), port) == 0)
			config_error(errors, key_position(spec, "port"),
				     "kernel '%s': device '%s' is held by kernel '%s'; moving it "
				     "needs a restart",
				     spec->name, port, old_config->kernels[old].name);
}

static void
refuse_setting(struct config_errors *errors, const struct config *new_config, const char *key,
	       bool changed)
{
	struct config_position file = {.file = new_config->settings_file[0] != '\0'
						       ? new_config->settings_file
						       : "(command line)"};
	struct config_position position = config_key_position(
		daemon_settings_fields, new_config->setting_positions, key, file);

	if (changed)
		config_error(errors, position,
			     "setting '%s' cannot change without a restart; the running value stays",
			     key);
}

static void
refuse_settings_changes(const struct config *old_config, const struct config *new_config,
			struct config_errors *errors)
{
	const struct daemon_settings *old_settings = &old_config->settings;
	const struct daemon_settings *new_settings = &new_config->settings;
	bool eal_args_changed = old_settings->eal_arg_count != new_settings->eal_arg_count;

	for (unsigned i = 0; !eal_args_changed && i < new_settings->eal_arg_count; i++)
		eal_args_changed = strcmp(old_settings->eal_args[i], new_settings->eal_args[i]) != 0;
	refuse_setting(errors, new_config, "lcores",
		       strcmp(old_settings->lcores, new_settings->lcores) != 0);
	refuse_setting(errors, new_config, "mempool_size",
		       old_settings->mempool_size != new_settings->mempool_size);
	refuse_setting(errors, new_config, "memory", old_settings->memory != new_settings->memory);
	refuse_setting(errors, new_config, "hugepages",
		       old_settings->hugepages != new_settings->hugepages);
	refuse_setting(errors, new_config, "eal_args", eal_args_changed);
	/* every ring of a generation has the same size; a mix would make backpressure uneven */
	refuse_setting(errors, new_config, "ring_size",
		       old_settings->ring_size != new_settings->ring_size);
	refuse_setting(errors, new_config, "idle", old_settings->idle != new_settings->idle);
}

bool
reload_removed(const struct reload_plan *plan, const struct config *old_config,
	       const struct config *new_config, unsigned old_index)
{
	int successor = config_kernel_index(new_config, old_config->kernels[old_index].name);

	/* a type change under the same name removes the old kernel and adds another */
	return plan->retiring[old_index] &&
	       (successor < 0 || plan->actions[successor] == RELOAD_ADD);
}

int
reload_plan(const struct config *old_config, const struct config *new_config,
	    struct reload_plan *plan, struct config_errors *errors)
{
	unsigned errors_before = errors->count;

	memset(plan, 0, sizeof(*plan));
	for (unsigned k = 0; k < old_config->kernel_count; k++)
		plan->retiring[k] = true;
	refuse_settings_changes(old_config, new_config, errors);
	for (unsigned k = 0; k < new_config->kernel_count; k++) {
		const struct kernel_spec *new_spec = &new_config->kernels[k];
		int old_index = config_kernel_index(old_config, new_spec->name);
		const struct kernel_spec *old_spec =
			old_index >= 0 ? &old_config->kernels[old_index] : NULL;

		plan->actions[k] = kernel_action(old_spec, new_spec);
		plan->predecessors[k] = plan->actions[k] == RELOAD_ADD ? -1 : old_index;
		if (old_spec != NULL)
			refuse_port_changes(old_spec, new_spec, errors);
		if (plan->actions[k] == RELOAD_KEEP || plan->actions[k] == RELOAD_TAKE_STATE)
			plan->retiring[old_index] = false;
	}
	for (unsigned k = 0; k < new_config->kernel_count; k++)
		refuse_port_replacement(old_config, new_config, plan, k, errors);
	for (unsigned k = 0; k < old_config->kernel_count; k++)
		plan->removed_count += reload_removed(plan, old_config, new_config, k);
	return errors->count > errors_before ? -EINVAL : 0;
}
