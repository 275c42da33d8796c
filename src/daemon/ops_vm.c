/*
 * ops_vm.c - what each kind of VM operation does against the backend, and
 * how each is finished after a crash.  The runners are a table indexed by
 * operation kind; the engine (ops.c) never branches on the kind itself.
 *
 * Every runner only talks to the backend; the engine writes the outcome to
 * the store in one transaction afterwards (observed state, row removal,
 * operation status).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../common/error.h"
#include "../common/log.h"
#include "ops_int.h"

/* a parked graceful stop looks again this often (an event is sooner) */
#define OPS_STOP_POLL_MS 5000

static bool
ops_param_bool(struct op_ctx *x, const char *key)
{
	return json_is_true(json_object_get(x->params, key));
}

/* Undo a create: every step is idempotent, so this is safe to repeat. */
int
ops_create_rollback(struct op_ctx *x)
{
	struct err e;
	int r = 0;

	err_save(&e);
	ops_step(x, "rolling back");
	if (backend_destroy(x->bc, x->op.vm_uuid) < 0 ||
	    backend_undefine(x->bc, x->op.vm_uuid) < 0 ||
	    ops_nics_dhcp_remove(x, x->bc) < 0 ||
	    ops_disks_delete(x, x->bc, x->pool) < 0) {
		log_error("op %s: rollback of vm '%s' failed (retried "
		    "later): %s", x->op.id, x->op.vm_name, err_last()->msg);
		x->unsettled = true;
		r = -1;
	}
	err_restore(&e);
	if (r == 0)
		x->delete_row = true;
	return r;
}

/* A created VM whose disks are made (at disks): its addresses, its
 * domain, and its start when asked; -1 with nothing undone. */
int
ops_create_finish(struct op_ctx *x, struct ops_disks *disks)
{
	struct vm_spec spec;

	if (ops_cancelled(x))
		return ops_cancel_now(x, "after its disks were made");
	if (x->nnics > 0) {
		ops_step(x, "adding its addresses to the networks");
		if (ops_nics_dhcp_add(x, x->bc) < 0)
			return -1;
	}
	ops_step(x, "defining domain");
	ops_vm_spec(x, &x->host, disks, &spec);
	if (backend_define(x->bc, &spec) < 0)
		return -1;
	if (ops_cancelled(x))
		return ops_cancel_now(x, "before its domain was started");
	if (ops_param_bool(x, "start")) {
		ops_step(x, "starting");
		if (backend_start(x->bc, x->vm.uuid) < 0)
			return -1;
	}
	/* it is made: not seeing its state now is no failure (the sweep
	 * will read it) */
	if (ops_observe(x) < 0) {
		x->have_state = false;
		err_clear();
	}
	return 0;
}

static int
ops_run_create(struct op_ctx *x)
{
	struct ops_disks disks;

	if (ops_disks_make(x, x->bc, x->vm.host_id, x->pool, &disks) == 0 &&
	    ops_create_finish(x, &disks) == 0)
		return 0;
	/* a create is all or nothing: no half-made VM, disk or row */
	ops_create_rollback(x);
	return -1;
}

/*
 * After a create or a delete committed: the host's image copies its
 * disks no longer need (a rolled back or deleted VM's, or those a full
 * copy was made from).
 */
static void
ops_after_disks(struct op_ctx *x, bool ok)
{
	(void)ok;
	ops_disks_prune(x, x->vm.host_id, x->pool);
}

/* A made VM is news: vm.created comes before its first state. */
static int
ops_close_create(struct store_conn *c, struct op_ctx *x, bool ok)
{
	if (!ok)
		return 0;
	return store_event_vm(c, x->vm.id, "vm.created", x->op.id, NULL);
}

static int
ops_recover_create(struct op_ctx *x)
{
	if (ops_create_rollback(x) < 0)
		return -1;
	return err_set(ERR_INTERRUPTED, "the daemon stopped while vm '%s' "
	    "was being created; the create was rolled back", x->op.vm_name);
}

static int
ops_run_start(struct op_ctx *x)
{
	if (backend_start(x->bc, x->vm.uuid) < 0)
		return -1;
	return ops_observe(x);
}

/* the phases of a graceful stop (x->phase) */
enum { STOP_ASK, STOP_WAIT_ACPI, STOP_WAIT_AGENT };

/*
 * A graceful stop: ask the guest to shut down, through its agent when it
 * answers, else with the ACPI button (STOP_ASK), then wait for it parked
 * (ops_park), woken by its VM's lifecycle event or every
 * OPS_STOP_POLL_MS, until it is off or x->deadline_ms passes: then power
 * it off.  The wait holds no worker, however long the timeout.  Also its
 * recovery after a restart: a guest not yet off is asked again.
 */
static int
ops_run_stop(struct op_ctx *x)
{
	json_t *t = json_object_get(x->params, "timeout_s");
	int64_t timeout_ms = (t ? json_integer_value(t) :
	    x->app->cfg.stop_timeout_s) * 1000, left;
	const char *how;
	bool by_agent;
	char step[128];

	if (ops_param_bool(x, "force"))
		goto power_off;
	if (ops_observe(x) < 0)
		return -1;
	if (x->observed == VM_STOPPED)
		return 0;
	if (x->phase != STOP_ASK) {
		how = x->phase == STOP_WAIT_AGENT ? "guest agent's" : "ACPI";
		if (ops_cancelled(x))
			return ops_cancel_now(x, "while the guest was asked to "
			    "shut down; it was left as it is");
		if ((left = x->deadline_ms - time_now_ms()) > 0)
			return ops_park(x, x->phase, x->deadline_ms, (int)(left <
			    OPS_STOP_POLL_MS ? left : OPS_STOP_POLL_MS));
		log_info("op %s: vm '%s' ignored the %s shutdown for %lld s; "
		    "powering off", x->op.id, x->vm.name, how,
		    (long long)(timeout_ms / 1000));
		goto power_off;
	}
	if (x->observed == VM_PAUSED) {
		/* a paused guest cannot see the ACPI button */
		ops_step(x, "resuming to shut down");
		if (backend_resume(x->bc, x->vm.uuid) < 0)
			return -1;
	}
	if (backend_shutdown(x->bc, x->vm.uuid, &by_agent) < 0)
		return -1;
	snprintf(step, sizeof(step), "%s shutdown, power-off after %lld s",
	    by_agent ? "guest agent" : "ACPI", (long long)(timeout_ms / 1000));
	ops_step(x, step);
	return ops_park(x, by_agent ? STOP_WAIT_AGENT : STOP_WAIT_ACPI,
	    time_now_ms() + timeout_ms, OPS_STOP_POLL_MS);
power_off:
	ops_step(x, "powering off");
	if (backend_destroy(x->bc, x->vm.uuid) < 0)
		return -1;
	return ops_observe(x);
}

static int
ops_run_reboot(struct op_ctx *x)
{
	bool force = ops_param_bool(x, "force");

	ops_step(x, force ? "resetting" : "ACPI reboot");
	if ((force ? backend_reset(x->bc, x->vm.uuid) :
	    backend_reboot(x->bc, x->vm.uuid)) < 0)
		return -1;
	return ops_observe(x);
}

static int
ops_run_pause(struct op_ctx *x)
{
	if (backend_suspend(x->bc, x->vm.uuid) < 0)
		return -1;
	return ops_observe(x);
}

static int
ops_run_resume(struct op_ctx *x)
{
	if (backend_resume(x->bc, x->vm.uuid) < 0)
		return -1;
	return ops_observe(x);
}

static int
ops_run_delete(struct op_ctx *x)
{
	if (ops_disk_pool(x) < 0)
		return -1;
	ops_step(x, "powering off");
	if (backend_destroy(x->bc, x->vm.uuid) < 0)
		return -1;
	ops_step(x, "removing domain");
	if (backend_undefine(x->bc, x->vm.uuid) < 0 ||
	    ops_nics_dhcp_remove(x, x->bc) < 0)
		return -1;
	ops_step(x, "removing disks");
	if (ops_disks_delete(x, x->bc, x->pool) < 0)
		return -1;
	x->delete_row = true;
	return 0;
}

/*
 * A state change interrupted by a restart: it happened if the domain is
 * now in the state the operation was heading for.
 */
static int
ops_recover_to(struct op_ctx *x, enum vm_state want)
{
	if (ops_observe(x) < 0)
		return -1;
	if (x->observed == want)
		return 0;
	return err_set(ERR_INTERRUPTED, "the daemon stopped during this "
	    "operation; vm '%s' is now %s", x->vm.name,
	    vm_state_name(x->observed));
}

static int
ops_recover_running(struct op_ctx *x)
{
	return ops_recover_to(x, VM_RUNNING);
}

static int
ops_recover_paused(struct op_ctx *x)
{
	return ops_recover_to(x, VM_PAUSED);
}

const struct op_runner ops_runners[OP_KIND__COUNT] = {
	[OP_CREATE] = { .run = ops_run_create, .recover = ops_recover_create,
	    .close = ops_close_create, .drop_if_unreached = true,
	    .cancellable = true, .after = ops_after_disks },
	[OP_START] = { .run = ops_run_start, .recover = ops_recover_running },
	[OP_STOP] = { .run = ops_run_stop, .recover = ops_run_stop,
	    .cancellable = true },
	[OP_REBOOT] = { .run = ops_run_reboot, .recover = ops_recover_running },
	[OP_PAUSE] = { .run = ops_run_pause, .recover = ops_recover_paused },
	[OP_RESUME] = { .run = ops_run_resume, .recover = ops_recover_running },
	/* removal is idempotent: finishing it is running it again */
	[OP_DELETE] = { .run = ops_run_delete, .recover = ops_run_delete,
	    .after = ops_after_disks },
	[OP_SNAPSHOT_CREATE] = { .run = ops_snap_create,
	    .recover = ops_snap_create_recover,
	    .close = ops_snap_create_close },
	/* reverting again ends where the first revert would have */
	[OP_SNAPSHOT_REVERT] = { .run = ops_snap_revert,
	    .recover = ops_snap_revert, .close = ops_snap_revert_close },
	[OP_SNAPSHOT_DELETE] = { .run = ops_snap_delete,
	    .recover = ops_snap_delete, .close = ops_snap_delete_close },
	[OP_MIGRATE] = { .run = ops_migrate_run,
	    .recover = ops_migrate_recover, .close = ops_migrate_close,
	    .cancellable = true, .after = ops_migrate_after,
	    .restart = ops_migrate_restart },
	[OP_DRAIN] = { .run = ops_drain_run, .recover = ops_drain_recover,
	    .cancellable = true, .no_vm = true },
	[OP_PLAN] = { .run = ops_plan_run, .recover = ops_plan_recover,
	    .cancellable = true, .no_vm = true },
	/* an interrupted add is undone; a remove or a grow is finished */
	[OP_DISK_ADD] = { .run = ops_disk_add,
	    .recover = ops_disk_add_recover, .close = ops_disk_close,
	    .after = ops_disk_after },
	[OP_DISK_REMOVE] = { .run = ops_disk_remove,
	    .recover = ops_disk_remove, .close = ops_disk_close,
	    .after = ops_disk_after },
	[OP_DISK_RESIZE] = { .run = ops_disk_resize,
	    .recover = ops_disk_resize, .close = ops_disk_close,
	    .after = ops_disk_after },
	/* the same for a NIC: an add is undone, a remove finished */
	[OP_NIC_ADD] = { .run = ops_nic_add, .recover = ops_nic_add_recover,
	    .close = ops_nic_close },
	[OP_NIC_REMOVE] = { .run = ops_nic_remove, .recover = ops_nic_remove,
	    .close = ops_nic_close },
	/* a clone is made like a create, and undone like one */
	[OP_CLONE] = { .run = ops_clone_run, .recover = ops_clone_recover,
	    .close = ops_close_create, .drop_if_unreached = true,
	    .after = ops_after_disks },
	/* an import is made like a create, and undone like one */
	[OP_VM_IMPORT] = { .run = ops_import_run,
	    .recover = ops_import_recover, .close = ops_close_create,
	    .drop_if_unreached = true, .after = ops_import_after },
	/* an interrupted template is failed and cleaned like an import */
	[OP_TEMPLATE] = { .run = ops_template_run,
	    .recover = ops_template_recover, .close = ops_image_close,
	    .after = ops_image_after, .cancellable = true },
	/* a backup polls its job parked; after a restart, it looks again */
	[OP_BACKUP] = { .run = ops_backup_run, .recover = ops_backup_recover,
	    .close = ops_backup_close, .cancellable = true,
	    .after = ops_backup_after },
	/* a restore swaps volumes only once all are made; an interrupted
	 * one is undone */
	[OP_RESTORE] = { .run = ops_restore_run,
	    .recover = ops_restore_recover, .close = ops_restore_close,
	    .after = ops_restore_after },
	/* setting a size again is harmless: recovery re-runs it (after a
	 * move's own recovery); a move's cancel stops its migration */
	[OP_RESIZE] = { .run = ops_resize_run, .recover = ops_resize_recover,
	    .close = ops_resize_close, .after = ops_resize_after,
	    .cancellable = true, .restart = ops_resize_restart },
	/* a lost host's VMs: the parent's children settle on their own; a
	 * child's half-made VM on its new host is finished or undone */
	[OP_EVACUATE] = { .run = ops_evacuate_run,
	    .recover = ops_evacuate_recover, .no_vm = true },
	[OP_EVACUATE_VM] = { .run = ops_evacuate_vm_run,
	    .recover = ops_evacuate_vm_recover,
	    .close = ops_evacuate_vm_close, .after = ops_evacuate_vm_after },
	[OP_IMAGE_IMPORT] = { .run = ops_image_run,
	    .recover = ops_image_recover, .close = ops_image_close,
	    .after = ops_image_after, .cancellable = true, .no_vm = true,
	    .noun = "image" },
	/* pruning again decides again: a prune is finished by re-running */
	[OP_IMAGE_PRUNE] = { .run = ops_prune_run, .recover = ops_prune_run,
	    .cancellable = true, .no_vm = true, .noun = "image" },
	/* a test environment: its VMs' operations are its children */
	[OP_ENV_CREATE] = { .run = ops_env_create_run,
	    .recover = ops_env_create_recover, .no_vm = true,
	    .noun = "environment" },
	[OP_ENV_DELETE] = { .run = ops_env_delete_run,
	    .recover = ops_env_delete_recover, .no_vm = true,
	    .noun = "environment" },
};
