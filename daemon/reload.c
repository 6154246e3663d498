/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The reload diff. Kernels are matched by instance name; a rename is a
 * removal plus an addition, and a type change under the same name is too.
 * A type whose code changed (a plugin rebuilt) is never kept: its instances
 * are replaced, or take the old state when the code says it can.
 * What a changed value needs is read from the key tables (config_field
 * change and exclusive); no kernel's parameters are opened here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_compare.h"
#include "kernel.h"
#include "reload.h"

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
 * What the parameter changes of one kernel need, from its config_map rows
 * alone: the strongest `change` among the keys whose value differs.
 */
struct parameter_changes {
	bool changed;                             /**< some key differs */
	enum config_change need;                  /**< TAKE_STATE, REPLACE or RESTART */
	const struct config_field *restart_field; /**< the first key that needs a restart */
	const struct config_field *first_written; /**< the first changed key written in the new file */
};

/* A kernel key marked LIVE has no live path of its own: the instance copies its params. */
static enum config_change
kernel_need(enum config_change change)
{
	return change == CONFIG_CHANGE_LIVE ? CONFIG_CHANGE_TAKE_STATE : change;
}

static struct parameter_changes
compare_parameters(const struct kernel_spec *old_spec, const struct kernel_spec *new_spec)
{
	const struct config_field *fields = new_spec->ops->config_map;
	struct parameter_changes changes = {.need = CONFIG_CHANGE_TAKE_STATE};

	for (unsigned i = 0; fields != NULL && fields[i].key != NULL; i++) {
		enum config_change need = kernel_need(fields[i].change);

		/* an entry's key is compared as part of its list, by the list's row */
		if (config_field_list_parent(fields, &fields[i]) != NULL ||
		    !config_field_changed(&fields[i], old_spec->params, new_spec->params))
			continue;
		changes.changed = true;
		if (need > changes.need)
			changes.need = need;
		if (need == CONFIG_CHANGE_RESTART && changes.restart_field == NULL)
			changes.restart_field = &fields[i];
		if (changes.first_written == NULL && new_spec->key_positions[i].line != 0)
			changes.first_written = &fields[i];
	}
	/* bytes no row describes (a kernel's own padding or derived fields) still count */
	changes.changed = changes.changed || memcmp(old_spec->params, new_spec->params,
						    new_spec->ops->params_size) != 0;
	return changes;
}

/*
 * "running: net_null0", or what the old instance reads when the key was not
 * set there ("a pcap file").
 */
static void
running_value(const struct config_field *field, const struct kernel_spec *old_spec, char *text,
	      size_t size)
{
	if (config_field_format(field, old_spec->params, text, size) > 0)
		return;
	if (old_spec->ops->describe == NULL ||
	    old_spec->ops->describe(old_spec->params, text, size) <= 0)
		snprintf(text, size, "not set");
}

/*
 * Refuse a key that changes only at a restart. The error points at that key
 * in the new file, or else at the first changed key written there (the new
 * mode's key when a source turns from a port into a file), or else at the
 * kernel name.
 */
static void
refuse_restart_change(const struct kernel_spec *old_spec, const struct kernel_spec *new_spec,
		      const struct parameter_changes *changes, struct config_errors *errors)
{
	const struct config_field *fields = new_spec->ops->config_map;
	const struct config_field *pointed = changes->restart_field;
	char running[256];

	if (new_spec->key_positions[pointed - fields].line == 0 && changes->first_written != NULL)
		pointed = changes->first_written;
	running_value(changes->restart_field, old_spec, running, sizeof(running));
	config_error(errors,
		     config_key_position(fields, new_spec->key_positions, pointed->key,
					 new_spec->position),
		     "kernel '%s': key '%s' cannot change without a restart (running: %s)",
		     new_spec->name, changes->restart_field->key, running);
}

/*
 * The same type from other code: a plugin whose file changed. Its new code
 * takes the old code's state only when both declare the same non-zero
 * state_version (the layout of the state and the parameters take_state
 * reads); the ABI is the daemon's own for both, the loader refuses others.
 */
static bool
code_can_take_state(const struct kernel_ops *old_ops, const struct kernel_ops *new_ops)
{
	return old_ops == new_ops ||
	       (new_ops->state_version != 0 && new_ops->state_version == old_ops->state_version &&
		new_ops->params_size == old_ops->params_size);
}

/*
 * State moves between instances on the same lcore only, replica by replica,
 * so replicas and cores must stay; the tables say what the parameters need.
 */
static enum reload_action
kernel_action(const struct kernel_spec *old_spec, const struct kernel_spec *new_spec,
	      struct config_errors *errors, bool *refused)
{
	struct parameter_changes changes;

	if (old_spec == NULL || strcmp(old_spec->ops->name, new_spec->ops->name) != 0)
		return RELOAD_ADD;
	if (!code_can_take_state(old_spec->ops, new_spec->ops))
		return RELOAD_REPLACE; /* parameters of another layout cannot be compared */
	changes = compare_parameters(old_spec, new_spec);
	changes.changed = changes.changed || old_spec->ops != new_spec->ops;
	if (!changes.changed && same_placement(old_spec, new_spec))
		return RELOAD_KEEP;
	if (changes.need == CONFIG_CHANGE_RESTART) {
		refuse_restart_change(old_spec, new_spec, &changes, errors);
		*refused = true;
	}
	if (changes.need != CONFIG_CHANGE_TAKE_STATE || !same_placement(old_spec, new_spec) ||
	    new_spec->ops->take_state == NULL)
		return RELOAD_REPLACE;
	return RELOAD_TAKE_STATE;
}

/*
 * A device behind an exclusive key (a port) is opened by one instance and
 * configured once: the instance holding it is never replaced live (the new
 * one would open it while the old one still holds it), and no added kernel
 * takes it over from a running one before a restart.
 */
static void
refuse_exclusive_moves(const struct config *old_config, const struct config *new_config,
		       const struct reload_plan *plan, unsigned k, struct config_errors *errors)
{
	const struct kernel_spec *spec = &new_config->kernels[k];
	const struct config_field *field;
	unsigned index = 0;

	while ((field = config_next_exclusive(spec, &index)) != NULL) {
		const char *device = config_field_string(field, spec->params);
		const struct kernel_spec *holder = config_exclusive_holder(old_config, device);

		if (holder == NULL)
			continue;
		if (plan->actions[k] == RELOAD_REPLACE)
			config_error(errors, spec->position,
				     "kernel '%s': holds device '%s', so it cannot be replaced live "
				     "(its replicas, cores or keys changed); restart to apply",
				     spec->name, device);
		else if (plan->actions[k] == RELOAD_ADD)
			config_error(errors,
				     config_key_position(spec->ops->config_map, spec->key_positions,
							 field->key, spec->position),
				     "kernel '%s': device '%s' is held by kernel '%s'; moving it "
				     "needs a restart",
				     spec->name, device, holder->name);
		return;
	}
}

static void
refuse_setting(struct config_errors *errors, const struct config *new_config,
	       const struct config_field *field)
{
	struct config_position file = {.file = new_config->settings_file[0] != '\0'
						       ? new_config->settings_file
						       : "(command line)"};
	struct config_position position = config_key_position(
		daemon_settings_fields, new_config->setting_positions, field->key, file);

	config_error(errors, position,
		     "setting '%s' cannot change without a restart; the running value stays",
		     field->key);
}

/* Every setting whose row says RESTART and whose value changed is refused. */
static void
refuse_settings_changes(const struct config *old_config, const struct config *new_config,
			struct config_errors *errors)
{
	for (const struct config_field *field = daemon_settings_fields; field->key != NULL; field++)
		if (field->change == CONFIG_CHANGE_RESTART &&
		    config_field_changed(field, &old_config->settings, &new_config->settings))
			refuse_setting(errors, new_config, field);
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
	bool refused[CONFIG_MAX_KERNELS] = {false}; /* a key of the kernel needs a restart */

	memset(plan, 0, sizeof(*plan));
	for (unsigned k = 0; k < old_config->kernel_count; k++)
		plan->retiring[k] = true;
	refuse_settings_changes(old_config, new_config, errors);
	for (unsigned k = 0; k < new_config->kernel_count; k++) {
		const struct kernel_spec *new_spec = &new_config->kernels[k];
		int old_index = config_kernel_index(old_config, new_spec->name);
		const struct kernel_spec *old_spec =
			old_index >= 0 ? &old_config->kernels[old_index] : NULL;

		plan->actions[k] = kernel_action(old_spec, new_spec, errors, &refused[k]);
		plan->predecessors[k] = plan->actions[k] == RELOAD_ADD ? -1 : old_index;
		if (plan->actions[k] == RELOAD_KEEP || plan->actions[k] == RELOAD_TAKE_STATE)
			plan->retiring[old_index] = false;
	}
	for (unsigned k = 0; k < new_config->kernel_count; k++)
		if (!refused[k])
			refuse_exclusive_moves(old_config, new_config, plan, k, errors);
	for (unsigned k = 0; k < old_config->kernel_count; k++)
		plan->removed_count += reload_removed(plan, old_config, new_config, k);
	return errors->count > errors_before ? -EINVAL : 0;
}
