/*
 * ops_snap.c - the snapshot operations: take, revert to and delete a VM's
 * internal (qcow2) snapshot, and how each is finished after a crash.
 *
 * The snapshot's row is written (status creating) with the operation, so
 * a taken name is refused before libvirt is touched; the closing
 * transaction makes it ready, or removes it when nothing was made.
 * Parameters (operation params): {"name", "memory", "description",
 * "scheduled"}.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
#include "ops_int.h"

static const char *
ops_snap_name(struct op_ctx *x)
{
	const char *n = json_string_value(json_object_get(x->params, "name"));

	return n ? n : "";
}

/* The snapshot's row into x->snap. */
static int
ops_snap_load(struct op_ctx *x)
{
	struct store_conn *c = store_read_begin(x->app->store);
	int r = store_snap_get(c, x->vm.id, ops_snap_name(x), &x->snap);

	store_read_end(c);
	return r;
}

/* What the hypervisor recorded, into x->snap. */
static void
ops_snap_fill(struct op_ctx *x, const struct snap_info *info)
{
	snprintf(x->snap.parent, sizeof(x->snap.parent), "%s", info->parent);
	snprintf(x->snap.vm_state, sizeof(x->snap.vm_state), "%s",
	    info->state);
}

/*
 * Thaw what ops_freeze froze.  A guest left frozen cannot write; tried
 * three times, then said loudly (what was taken meanwhile stands).
 */
void
ops_thaw(struct op_ctx *x, struct backend_conn *bc, const struct vm_rec *v)
{
	struct err e;

	err_save(&e);
	for (int i = 0; i < 3; i++) {
		if (backend_fs_thaw(bc, v->uuid) == 0) {
			err_restore(&e);
			return;
		}
		log_warnx("op %s: cannot thaw vm '%s''s filesystems (try %d): "
		    "%s", x->op.id, v->name, i + 1, err_last()->msg);
		ops_sleep_ms(500);
	}
	log_error("op %s: vm '%s''s filesystems may still be frozen: thaw "
	    "them from inside, or with virsh domfsthaw", x->op.id, v->name);
	err_restore(&e);
}

static void
ops_snap_thaw(struct op_ctx *x)
{
	ops_thaw(x, x->bc, &x->vm);
}

bool
ops_freeze(struct op_ctx *x, struct backend_conn *bc, const struct vm_rec *v)
{
	int n = 0;

	ops_step(x, "freezing the guest's filesystems");
	if (backend_fs_freeze(bc, v->uuid, &n) < 0) {
		log_warnx("op %s: cannot freeze vm '%s''s filesystems, the "
		    "copy is crash-consistent: %s", x->op.id, v->name,
		    err_last()->msg);
		err_clear();
		ops_thaw(x, bc, v);   /* whatever a failed freeze left */
		return false;
	}
	if (n > 0)
		log_info("op %s: froze %d filesystem(s) of vm '%s'", x->op.id,
		    n, v->name);
	return n > 0;
}

/*
 * A snapshot of a running VM without its RAM is of disks alone: with the
 * guest's agent, its filesystems are frozen around it (quiesced), else
 * it is as after a power cut.  With the RAM it is the whole machine and
 * is not frozen: a frozen guest would be saved frozen, and come back so
 * on a revert.  Returns whether it froze anything.
 */
static bool
ops_snap_freeze(struct op_ctx *x)
{
	if (x->snap.memory || ops_observe(x) < 0 || x->observed != VM_RUNNING) {
		err_clear();
		return false;
	}
	return ops_freeze(x, x->bc, &x->vm);
}

int
ops_snap_create(struct op_ctx *x)
{
	struct snap_info info;
	struct snap_spec spec;
	bool frozen;
	int r;

	if (ops_snap_load(x) < 0)
		return -1;
	spec.name = x->snap.name;
	spec.description = x->snap.description;
	spec.memory = x->snap.memory;
	frozen = ops_snap_freeze(x);
	ops_step(x, spec.memory ? "saving disks and memory" : "saving disks");
	r = backend_snapshot_create(x->bc, x->vm.uuid, &spec, &info);
	if (frozen)
		ops_snap_thaw(x);
	if (r < 0)
		return -1;
	ops_snap_fill(x, &info);
	snprintf(x->snap.consistency, sizeof(x->snap.consistency), "%s",
	    strcmp(info.state, "stopped") == 0 ? "stopped" :
	    x->snap.memory ? "memory" : frozen ? "quiesced" : "crash");
	return ops_observe(x);
}

int
ops_snap_create_recover(struct op_ctx *x)
{
	struct snap_info info;

	if (ops_snap_load(x) < 0)
		return -1;
	/* a crash between freeze and thaw must not leave the guest frozen */
	if (ops_observe(x) == 0 && x->observed == VM_RUNNING)
		ops_snap_thaw(x);
	err_clear();
	if (backend_snapshot_get(x->bc, x->vm.uuid, x->snap.name, &info) < 0) {
		if (err_last()->code != ERR_NOT_FOUND)
			return -1;
		return err_set(ERR_INTERRUPTED, "the daemon stopped while "
		    "snapshot '%s' of vm '%s' was being taken; it was not "
		    "made", x->snap.name, x->vm.name);
	}
	/* libvirt finished it: it is as good as one we saw made (but
	 * whether the guest was frozen is not known: crash-consistent) */
	ops_snap_fill(x, &info);
	snprintf(x->snap.consistency, sizeof(x->snap.consistency), "%s",
	    strcmp(info.state, "stopped") == 0 ? "stopped" :
	    x->snap.memory ? "memory" : "crash");
	return ops_observe(x);
}

int
ops_snap_create_close(struct store_conn *c, struct op_ctx *x, bool ok)
{
	if (ok)
		return store_snap_ready(c, &x->snap, x->op.id);
	/* nothing was made: the name is free again */
	if (store_snap_delete(c, x->vm.id, ops_snap_name(x), x->op.id) < 0 &&
	    err_last()->code != ERR_NOT_FOUND)
		return -1;
	return 0;
}

int
ops_snap_revert(struct op_ctx *x)
{
	bool disk_only;

	if (ops_snap_load(x) < 0)
		return -1;
	/*
	 * A snapshot of a running VM taken without memory still holds the
	 * RAM (libvirt 9 requires it); it is reverted as a disk snapshot:
	 * the disks come back, the VM stays stopped.
	 */
	disk_only = !x->snap.memory;
	ops_step(x, disk_only ? "restoring disks" : "restoring disks and "
	    "memory");
	if (backend_snapshot_revert(x->bc, x->vm.uuid, x->snap.name,
	    disk_only) < 0)
		return -1;
	return ops_observe(x);
}

int
ops_snap_revert_close(struct store_conn *c, struct op_ctx *x, bool ok)
{
	json_t *d;
	int r;

	if (!ok)
		return 0;
	d = json_pack("{s:s, s:b}", "snapshot", x->snap.name, "memory",
	    x->snap.memory);
	r = store_event_vm(c, x->vm.id, "snapshot.reverted", x->op.id, d);
	json_decref(d);
	return r;
}

int
ops_snap_delete(struct op_ctx *x)
{
	ops_step(x, "deleting snapshot");
	/* idempotent: a snapshot already gone is deleted */
	return backend_snapshot_delete(x->bc, x->vm.uuid, ops_snap_name(x));
}

int
ops_snap_delete_close(struct store_conn *c, struct op_ctx *x, bool ok)
{
	if (!ok)
		return 0;
	if (store_snap_delete(c, x->vm.id, ops_snap_name(x), x->op.id) < 0 &&
	    err_last()->code != ERR_NOT_FOUND)
		return -1;
	return 0;
}
