/*
 * ops_restore.c - restoring a stopped VM's disks from one of its backups,
 * in place, losing nothing if it fails.
 *
 * Each of the VM's disks (not its NoCloud seed) is flattened out of the
 * backup's chain into backup_dir/.staging, then uploaded through a
 * libvirt stream (ops_backup_disk.c) as a new volume beside the old one
 * (<vm uuid>-<dev>-r<op id prefix>.qcow2, a whole image: no base).  Only
 * when every new volume is there is the domain defined again on them;
 * the closing transaction points the disk rows at them, and only after
 * it committed are the old volumes removed.  A failure before that
 * removes the new volumes and leaves the VM as it was.  The VM's
 * checkpoints describe disks it no longer has: they are dropped, and the
 * next backup after a restore must be a full one.  Params:
 * {"backup": id}; the run adds {"replaced": [old volume, ...]}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
#include "ops_int.h"

static bool
ops_restore_disk(const struct disk_rec *d)
{
	return strcmp(d->content, "cidata") != 0 &&
	    strcmp(d->device, "disk") == 0;
}

/* The new volume's name for disk d. */
static void
ops_restore_vol(const struct op_ctx *x, const struct disk_rec *d, char *out)
{
	snprintf(out, DISK_VOLUME_LEN, "%.36s-%.8s-r%.8s.qcow2", x->vm.uuid,
	    d->dev, x->op.id);
}

/* Disk d out of backup b into its new volume on the host. */
static int
ops_restore_one(struct op_ctx *x, const struct backup_rec *b,
    const struct disk_rec *d, const char *vol)
{
	char path[1024], step[64];

	snprintf(step, sizeof(step), "restoring disk %s", d->dev);
	ops_step(x, step);
	return ops_backup_disk_write(x, x->bc, x->pool, b, d->dev, vol, path,
	    sizeof(path));
}

/* Remove the new volumes (best effort; keeps the error). */
static void
ops_restore_undo(struct op_ctx *x)
{
	char vol[DISK_VOLUME_LEN];
	struct err e;

	err_save(&e);
	for (int i = 0; i < x->ndisks; i++) {
		if (!ops_restore_disk(&x->disks[i]))
			continue;
		ops_restore_vol(x, &x->disks[i], vol);
		if (backend_volume_delete(x->bc, x->pool, vol) < 0)
			log_warnx("op %s: cannot remove volume '%s': %s",
			    x->op.id, vol, err_last()->msg);
	}
	err_restore(&e);
}

static int
ops_restore_forget_one(const struct backup_rec *b, void *arg)
{
	struct op_ctx *x = arg;

	if (backend_checkpoint_delete(x->bc, x->vm.uuid, b->checkpoint,
	    true) < 0) {
		log_warnx("op %s: cannot drop checkpoint '%s': %s", x->op.id,
		    b->checkpoint, err_last()->msg);
		err_clear();
	}
	return 0;
}

/*
 * The checkpoints of the VM's backups describe disks it no longer has:
 * libvirt's records of them go (the next incremental backup then finds
 * nothing to build on, and asks for a full one).
 */
static void
ops_restore_forget(struct op_ctx *x)
{
	struct store_conn *c = store_read_begin(x->app->store);

	if (store_backup_each(c, x->vm.uuid, ops_restore_forget_one, x) < 0)
		err_clear();
	store_read_end(c);
}

/* The domain defined on x->disks as they are (volumes, bases). */
static int
ops_restore_define(struct op_ctx *x)
{
	struct ops_disks *d = calloc(1, sizeof(*d));
	struct vm_spec spec;
	int r = -1;

	if (d == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	if (ops_disks_paths(x, x->bc, x->pool, d) == 0) {
		ops_vm_spec(x, &x->host, d, &spec);
		r = backend_define(x->bc, &spec);
	}
	free(d);
	return r;
}

int
ops_restore_run(struct op_ctx *x)
{
	const char *id = json_string_value(json_object_get(x->params,
	    "backup"));
	json_t *old = json_array();
	struct store_conn *c = store_read_begin(x->app->store);
	struct backup_rec b;
	int r = store_backup_get(c, id ? id : "", &b);

	store_read_end(c);
	if (r == 0)
		r = ops_disk_pool(x);
	for (int i = 0; r == 0 && i < x->ndisks; i++) {
		struct disk_rec *d = &x->disks[i];
		char vol[DISK_VOLUME_LEN];

		if (!ops_restore_disk(d))
			continue;
		ops_restore_vol(x, d, vol);
		if ((r = ops_restore_one(x, &b, d, vol)) == 0) {
			json_array_append_new(old, json_string(d->volume));
			snprintf(d->volume, sizeof(d->volume), "%s", vol);
			d->base_volume[0] = '\0';
		}
	}
	store_backup_clear(&b);
	if (r == 0) {
		ops_step(x, "defining the domain on the restored disks");
		r = ops_restore_define(x);
	}
	if (r < 0) {
		json_decref(old);
		ops_restore_undo(x);
		return -1;
	}
	json_object_set_new(x->params, "replaced", old);
	ops_restore_forget(x);
	return ops_observe(x);
}

/*
 * After a restart: the store still names the old volumes, which are all
 * there (they go only after the commit); the domain may be on the new
 * ones.  Define it on the old ones again and remove the new ones.
 */
int
ops_restore_recover(struct op_ctx *x)
{
	if (ops_disk_pool(x) < 0 || ops_restore_define(x) < 0)
		return -1;
	ops_restore_undo(x);
	return err_set(ERR_INTERRUPTED, "the daemon stopped while vm '%s' "
	    "was being restored; its disks are as they were", x->vm.name);
}

int
ops_restore_close(struct store_conn *c, struct op_ctx *x, bool ok)
{
	json_t *d;
	int r;

	if (!ok)
		return 0;
	if (store_backup_forget_checkpoints(c, x->vm.uuid) < 0)
		return -1;
	for (int i = 0; i < x->ndisks; i++)
		if (ops_restore_disk(&x->disks[i]) &&
		    store_disk_set_volume(c, x->vm.id, x->disks[i].dev,
		    x->disks[i].volume) < 0)
			return -1;
	d = json_pack("{s:O}", "backup", json_object_get(x->params,
	    "backup"));
	r = store_event_vm(c, x->vm.id, "vm.restored", x->op.id, d);
	json_decref(d);
	return r;
}

/* Once the rows name the new volumes: the old ones go. */
void
ops_restore_after(struct op_ctx *x, bool ok)
{
	size_t i;
	json_t *v;

	if (!ok || x->bc == NULL)
		return;
	json_array_foreach(json_object_get(x->params, "replaced"), i, v)
		if (backend_volume_delete(x->bc, x->pool,
		    json_string_value(v)) < 0)
			log_warnx("op %s: cannot remove the replaced volume "
			    "'%s': %s", x->op.id, json_string_value(v),
			    err_last()->msg);
}
