/*
 * store_disk.c - the vm_disks table: a VM's disks as a list of rows, each
 * named by its stable device name (vda, vdb, sda, ...).  The VM's
 * vms.disk_gib is the sum of its disks' sizes, kept here in the same
 * transaction as each change, because placement reads it as the VM's
 * claim on its host's pool.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "store_int.h"

#define DISK_COLS \
	"SELECT dev, device, bus, format, size_gib, volume, boot_order," \
	" image, base_volume, created_at, content FROM vm_disks "

static void
disk_row(sqlite3_stmt *st, struct disk_rec *d)
{
	memset(d, 0, sizeof(*d));
	store_col_text(st, 0, d->dev, sizeof(d->dev));
	store_col_text(st, 1, d->device, sizeof(d->device));
	store_col_text(st, 2, d->bus, sizeof(d->bus));
	store_col_text(st, 3, d->format, sizeof(d->format));
	d->size_gib = sqlite3_column_int64(st, 4);
	store_col_text(st, 5, d->volume, sizeof(d->volume));
	d->boot_order = sqlite3_column_int(st, 6);
	store_col_text(st, 7, d->image, sizeof(d->image));
	store_col_text(st, 8, d->base_volume, sizeof(d->base_volume));
	d->created_at = sqlite3_column_int64(st, 9);
	store_col_text(st, 10, d->content, sizeof(d->content));
}

static const char *
disk_or(const char *s, const char *def)
{
	return s[0] ? s : def;
}

int
store_disk_row(struct store_conn *c, int64_t vm_id, struct disk_rec *d)
{
	static const char sql[] = "INSERT INTO vm_disks (vm_id, dev, device,"
	    " bus, format, size_gib, volume, boot_order, image, base_volume,"
	    " created_at, content)"
	    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	d->created_at = time_now_ms();
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_text(st, 2, d->dev, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, disk_or(d->device, "disk"), -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, disk_or(d->bus, "virtio"), -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, disk_or(d->format, "qcow2"), -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, d->size_gib);
	sqlite3_bind_text(st, 7, d->volume, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 8, d->boot_order);
	sqlite3_bind_text(st, 9, d->image, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 10, d->base_volume, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 11, d->created_at);
	sqlite3_bind_text(st, 12, d->content, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "insert disk") < 0) {
		if (c->last_rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			err_set_field(ERR_CONFLICT, "dev", "the vm already has "
			    "a disk '%s'", d->dev);
		return -1;
	}
	return 0;
}

/* vms.disk_gib = the sum of the VM's disks (at least 1: a VM's claim). */
static int
disk_sum(struct store_conn *c, int64_t vm_id)
{
	static const char sql[] = "UPDATE vms SET disk_gib = MAX(1,"
	    " (SELECT COALESCE(SUM(size_gib), 0) FROM vm_disks"
	    "  WHERE vm_id = ?1)), updated_at = ?2 WHERE id = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_int64(st, 2, time_now_ms());
	if (store_exec_stmt(c, st, "update vm disk size") < 0)
		return -1;
	return store_changed(c, "vm");
}

int
store_disk_insert(struct store_conn *c, int64_t vm_id, struct disk_rec *d)
{
	if (store_disk_row(c, vm_id, d) < 0)
		return -1;
	return disk_sum(c, vm_id);
}

int
store_disk_delete(struct store_conn *c, int64_t vm_id, const char *dev)
{
	static const char sql[] = "DELETE FROM vm_disks WHERE vm_id = ?1"
	    " AND dev = ?2";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_text(st, 2, dev, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "delete disk") < 0 ||
	    store_changed(c, "disk") < 0)
		return -1;
	return disk_sum(c, vm_id);
}

int
store_disk_resize(struct store_conn *c, int64_t vm_id, const char *dev,
    int64_t size_gib)
{
	static const char sql[] = "UPDATE vm_disks SET size_gib = ?3"
	    " WHERE vm_id = ?1 AND dev = ?2";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_text(st, 2, dev, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, size_gib);
	if (store_exec_stmt(c, st, "resize disk") < 0 ||
	    store_changed(c, "disk") < 0)
		return -1;
	return disk_sum(c, vm_id);
}

int
store_disk_set_volume(struct store_conn *c, int64_t vm_id, const char *dev,
    const char *volume)
{
	static const char sql[] = "UPDATE vm_disks SET volume = ?3,"
	    " base_volume = '' WHERE vm_id = ?1 AND dev = ?2";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_text(st, 2, dev, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, volume, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "set a disk's volume") < 0)
		return -1;
	return store_changed(c, "disk");
}

int
store_disk_list(struct store_conn *c, int64_t vm_id, struct disk_rec *out,
    int max)
{
	/* boot devices first, in their order; then the rest by name */
	static const char sql[] = DISK_COLS "WHERE vm_id = ?1"
	    " ORDER BY boot_order = 0, boot_order, length(dev), dev";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc, n = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == max) {
			sqlite3_reset(st);
			return err_set(ERR_INTERNAL, "vm %lld has more than %d "
			    "disks", (long long)vm_id, max);
		}
		disk_row(st, &out[n++]);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "list disks");
	return n;
}

int
store_disk_get(struct store_conn *c, int64_t vm_id, const char *dev,
    struct disk_rec *out)
{
	static const char sql[] = DISK_COLS "WHERE vm_id = ?1 AND dev = ?2";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_text(st, 2, dev, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		disk_row(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return err_set_field(ERR_NOT_FOUND, "dev", "the vm has no disk "
		    "'%s'", dev);
	return store_fail(c, rc, "get disk");
}

int
store_disk_each_image(struct store_conn *c, store_vm_image_fn fn, void *arg)
{
	/* SQLite: the bare column comes from the row of MIN(dev) */
	static const char sql[] = "SELECT vm_id, image, MIN(dev) FROM vm_disks"
	    " WHERE image <> '' GROUP BY vm_id ORDER BY vm_id";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc, stop = 0;

	if (st == NULL)
		return -1;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = fn(sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 1), arg);
	sqlite3_reset(st);
	if (!stop && rc != SQLITE_DONE)
		return store_fail(c, rc, "list the VMs' images");
	return stop ? -1 : 0;
}

int
store_disk_count_image(struct store_conn *c, const char *image, int64_t *out)
{
	/* full clones are copies: only linked clones hang on the image */
	static const char sql[] = "SELECT COUNT(*) FROM vm_disks"
	    " WHERE image = ?1 AND image <> '' AND base_volume <> ''";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, image, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return store_fail(c, rc, "count image disks");
	return 0;
}

int
store_disk_image_op(struct store_conn *c, const char *image, char *out)
{
	static const char sql[] = "SELECT o.id FROM operations o"
	    " JOIN vm_disks d ON d.vm_id = o.vm_id"
	    " WHERE o.status IN ('queued','running')"
	    " AND o.kind IN ('create','disk_add','clone') AND d.image = ?1"
	    " LIMIT 1";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, image, -1, SQLITE_TRANSIENT);
	out[0] = '\0';
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		store_col_text(st, 0, out, UUID_STR_LEN);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(c, rc, "find operations copying an image");
	return 0;
}
