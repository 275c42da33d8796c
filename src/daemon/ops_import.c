/*
 * ops_import.c - the vm_import operation: a new VM made from a backup,
 * recorded on the new VM as a create is (api/vms_import.c made its rows,
 * placed by the scheduler).  Params: {"start": bool, "source":
 * "archive"|"backup", "backup": id (a backup's)}.
 *
 * Each of the VM's disks (device "disk") is written from a whole qcow2
 * staged at backup_dir/.staging/<op id>-<dev>.qcow2 into its volume on
 * the VM's host (ops_backup_disk.c): an archive's disks were staged
 * there, checked, by the request (after its SHA-256 and header checks);
 * a backup's are flattened there now.  Its NoCloud seed is made again
 * from its cloud-init settings; then it is finished as a create is
 * (ops_create_finish: addresses, domain, start).
 *
 * Nothing half made: a failure, or a crash (on recovery), removes every
 * staged file and undoes what a create undoes (ops_create_rollback:
 * domain, DHCP hosts, volumes); the closing transaction removes its
 * rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/error.h"
#include "../common/log.h"
#include "ops_int.h"

static const char *
import_param(struct op_ctx *x, const char *k)
{
	const char *s = json_string_value(json_object_get(x->params, k));

	return s ? s : "";
}

/* Disk d's staged file into buf. */
static int
import_staged(struct op_ctx *x, const struct disk_rec *d, char *buf,
    size_t len)
{
	char name[96];

	snprintf(name, sizeof(name), "%s-%s", x->op.id, d->dev);
	return backups_staged(x->app, name, buf, len);
}

/* Remove every staged file (gone is fine). */
static void
import_unstage(struct op_ctx *x)
{
	char staged[CONFIG_STR_MAX + 128];

	for (int i = 0; i < x->ndisks; i++)
		if (import_staged(x, &x->disks[i], staged, sizeof(staged)) == 0)
			(void)unlink(staged);
	err_clear();
}

/* One disk: from its staged file, or the backup flattened. */
static int
import_disk(struct op_ctx *x, const struct backup_rec *b, int i,
    struct ops_disks *out)
{
	const struct disk_rec *d = &x->disks[i];
	char staged[CONFIG_STR_MAX + 128], step[96];

	out->base[i][0] = '\0';
	if (strcmp(d->content, "cidata") == 0)
		return seed_make(x, x->bc, x->pool, d, out->path[i],
		    sizeof(out->path[i]));
	if (strcmp(d->device, "disk") != 0)
		return err_set(ERR_CONFLICT, "vm '%s' has a %s %s, which an "
		    "import cannot make", x->vm.name, d->device, d->dev);
	snprintf(step, sizeof(step), "writing disk %s", d->dev);
	ops_step(x, step);
	if (b != NULL)
		return ops_backup_disk_write(x, x->bc, x->pool, b, d->dev,
		    d->volume, out->path[i], sizeof(out->path[i]));
	if (import_staged(x, d, staged, sizeof(staged)) < 0)
		return -1;
	if (access(staged, R_OK) < 0)
		return err_set(ERR_CONFLICT, "disk %s of the archive is no "
		    "longer staged at '%s'", d->dev, staged);
	return ops_backup_disk_upload(x->bc, x->pool, staged, d->volume,
	    out->path[i], sizeof(out->path[i]));
}

/* Every disk; b is the backup (NULL for an archive's staged disks). */
static int
import_disks(struct op_ctx *x, const struct backup_rec *b,
    struct ops_disks *out)
{
	for (int i = 0; i < x->ndisks; i++) {
		if (ops_cancelled(x))
			return ops_cancel_now(x, "while its disks were written");
		if (import_disk(x, b, i, out) < 0)
			return -1;
	}
	return 0;
}

int
ops_import_run(struct op_ctx *x)
{
	struct ops_disks *d = calloc(1, sizeof(*d));
	bool from_backup = strcmp(import_param(x, "source"), "backup") == 0;
	struct backup_rec b;
	int r = -1;

	memset(&b, 0, sizeof(b));
	if (d == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
	} else if (from_backup) {
		struct store_conn *c = store_read_begin(x->app->store);

		r = store_backup_get(c, import_param(x, "backup"), &b);
		store_read_end(c);
		if (r < 0 && err_last()->code == ERR_NOT_FOUND)
			err_set(ERR_CONFLICT, "backup '%s' is gone",
			    import_param(x, "backup"));
	} else {
		r = 0;
	}
	if (r == 0)
		r = import_disks(x, from_backup ? &b : NULL, d);
	if (r == 0)
		r = ops_create_finish(x, d);
	store_backup_clear(&b);
	free(d);
	if (r < 0) {
		import_unstage(x);
		ops_create_rollback(x);
	}
	return r;
}

int
ops_import_recover(struct op_ctx *x)
{
	import_unstage(x);
	if (ops_create_rollback(x) < 0)
		return -1;
	return err_set(ERR_INTERRUPTED, "the daemon stopped while vm '%s' "
	    "was being imported; the import was rolled back", x->op.vm_name);
}

/* Once closed: a failed or dropped import's staged files go (one that
 * never reached its host never ran); the host's unneeded image copies
 * are pruned as after a create. */
void
ops_import_after(struct op_ctx *x, bool ok)
{
	if (!ok)
		import_unstage(x);
	ops_disks_prune(x, x->vm.host_id, x->pool);
}
