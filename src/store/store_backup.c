/*
 * store_backup.c - the backups table: every backup hangar made of a VM
 * (full, or incremental on a parent), with the VM's spec as it was, the
 * files that hold each disk under backup_dir and their SHA-256, and the
 * libvirt checkpoint an incremental one after it builds on.  A row is
 * written (status creating) with the backup operation and made ready by
 * its closing transaction, or removed when nothing was made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "store_int.h"

#define BACKUP_COLS \
	"SELECT id, vm_uuid, vm_name, mode, parent, checkpoint," \
	" checkpoint_xml, status, spec, disks, size, op_id, created_at," \
	" scheduled" \
	" FROM backups "

static json_t *
backup_col_json(sqlite3_stmt *st, int i, bool array)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	json_t *j = t ? json_loads(t, 0, NULL) : NULL;

	if (j == NULL)
		j = array ? json_array() : json_object();
	return j;
}

static void
backup_row(sqlite3_stmt *st, struct backup_rec *b)
{
	memset(b, 0, sizeof(*b));
	store_col_text(st, 0, b->id, sizeof(b->id));
	store_col_text(st, 1, b->vm_uuid, sizeof(b->vm_uuid));
	store_col_text(st, 2, b->vm_name, sizeof(b->vm_name));
	store_col_text(st, 3, b->mode, sizeof(b->mode));
	store_col_text(st, 4, b->parent, sizeof(b->parent));
	store_col_text(st, 5, b->checkpoint, sizeof(b->checkpoint));
	store_col_text(st, 6, b->checkpoint_xml, sizeof(b->checkpoint_xml));
	store_col_text(st, 7, b->status, sizeof(b->status));
	b->spec = backup_col_json(st, 8, false);
	b->disks = backup_col_json(st, 9, true);
	b->size = sqlite3_column_int64(st, 10);
	store_col_text(st, 11, b->op_id, sizeof(b->op_id));
	b->created_at = sqlite3_column_int64(st, 12);
	b->scheduled = sqlite3_column_int(st, 13) != 0;
}

void
store_backup_clear(struct backup_rec *b)
{
	if (b == NULL)
		return;
	json_decref(b->spec);
	json_decref(b->disks);
	b->spec = b->disks = NULL;
}

/* json_dumps of j bound at i (SQLITE_TRANSIENT copies it); 0 or -1. */
static int
backup_bind_json(sqlite3_stmt *st, int i, json_t *j, const char *dflt)
{
	char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (j && t == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	sqlite3_bind_text(st, i, t ? t : dflt, -1, SQLITE_TRANSIENT);
	free(t);
	return 0;
}

int
store_backup_insert(struct store_conn *c, struct backup_rec *b)
{
	static const char sql[] = "INSERT INTO backups (id, vm_uuid, vm_name,"
	    " mode, parent, checkpoint, status, spec, op_id, created_at,"
	    " scheduled) VALUES (?1,?2,?3,?4,?5,?6,'creating',?7,?8,?9,?10)";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	b->created_at = time_now_ms();
	snprintf(b->status, sizeof(b->status), "creating");
	sqlite3_bind_text(st, 1, b->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, b->vm_uuid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, b->vm_name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, b->mode, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, b->parent, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, b->checkpoint, -1, SQLITE_TRANSIENT);
	if (backup_bind_json(st, 7, b->spec, "{}") < 0) {
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_bind_text(st, 8, b->op_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 9, b->created_at);
	sqlite3_bind_int(st, 10, b->scheduled ? 1 : 0);
	return store_exec_stmt(c, st, "insert backup");
}

int
store_backup_get(struct store_conn *c, const char *id, struct backup_rec *out)
{
	static const char sql[] = BACKUP_COLS "WHERE id = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		backup_row(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "get backup");
	return err_set(ERR_NOT_FOUND, "backup '%s' not found", id);
}

int
store_backup_latest(struct store_conn *c, const char *vm_uuid,
    struct backup_rec *out)
{
	static const char sql[] = BACKUP_COLS "WHERE vm_uuid = ?1 AND"
	    " status = 'ready' ORDER BY created_at DESC, rowid DESC LIMIT 1";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, vm_uuid, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		backup_row(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "get the latest backup");
	return err_set(ERR_NOT_FOUND, "the vm has no backup");
}

static json_t *
backup_event_data(const struct backup_rec *b)
{
	return json_pack("{s:s, s:s, s:s, s:I}", "backup", b->id, "mode",
	    b->mode, "parent", b->parent, "size", (json_int_t)b->size);
}

/* An event of b's VM, when it still has a row (the backup outlives it). */
static int
backup_event(struct store_conn *c, const struct backup_rec *b,
    const char *type, const char *op_id)
{
	struct vm_rec v;
	json_t *d;
	int r;

	if (store_vm_get(c, b->vm_uuid, &v) < 0) {
		if (err_last()->code != ERR_NOT_FOUND)
			return -1;
		err_clear();
		return 0;
	}
	d = backup_event_data(b);
	r = store_event_vm(c, v.id, type, op_id, d);
	json_decref(d);
	return r;
}

int
store_backup_ready(struct store_conn *c, const struct backup_rec *b,
    const char *op_id)
{
	static const char sql[] = "UPDATE backups SET status='ready',"
	    " disks=?2, size=?3, checkpoint_xml=?4 WHERE id=?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, b->id, -1, SQLITE_TRANSIENT);
	if (backup_bind_json(st, 2, b->disks, "[]") < 0) {
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_bind_int64(st, 3, b->size);
	sqlite3_bind_text(st, 4, b->checkpoint_xml, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "update backup") < 0 ||
	    store_changed(c, "backup") < 0)
		return -1;
	return backup_event(c, b, "backup.created", op_id);
}

int
store_backup_set_disks(struct store_conn *c, const char *id,
    const char *parent, json_t *disks, int64_t size)
{
	static const char sql[] = "UPDATE backups SET parent=?2, disks=?3,"
	    " size=?4, mode=CASE WHEN ?2 = '' THEN 'full' ELSE mode END"
	    " WHERE id=?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, parent, -1, SQLITE_TRANSIENT);
	if (backup_bind_json(st, 3, disks, "[]") < 0) {
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_bind_int64(st, 4, size);
	if (store_exec_stmt(c, st, "update backup") < 0)
		return -1;
	return store_changed(c, "backup");
}

int
store_backup_forget_checkpoints(struct store_conn *c, const char *vm_uuid)
{
	static const char sql[] = "UPDATE backups SET checkpoint_xml = ''"
	    " WHERE vm_uuid = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, vm_uuid, -1, SQLITE_TRANSIENT);
	return store_exec_stmt(c, st, "forget checkpoints");
}

int
store_backup_delete(struct store_conn *c, const char *id, const char *op_id)
{
	static const char sql[] = "DELETE FROM backups WHERE id=?1";
	struct backup_rec b;
	sqlite3_stmt *st;
	int r = 0;

	if (store_backup_get(c, id, &b) < 0)
		return -1;
	if ((st = store_stmt(c, sql)) == NULL) {
		store_backup_clear(&b);
		return -1;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "delete backup") < 0)
		r = -1;
	else if (strcmp(b.status, "ready") == 0)
		r = backup_event(c, &b, "backup.deleted", op_id);
	store_backup_clear(&b);
	return r;
}

int
store_backup_each(struct store_conn *c, const char *vm_uuid,
    store_backup_fn fn, void *arg)
{
	static const char sql[] = BACKUP_COLS "WHERE vm_uuid = ?1"
	    " ORDER BY created_at, rowid";
	sqlite3_stmt *st = store_stmt(c, sql);
	struct backup_rec b;
	int rc, r = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, vm_uuid, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		backup_row(st, &b);
		r = fn(&b, arg);
		store_backup_clear(&b);
		if (r != 0)
			break;
	}
	sqlite3_reset(st);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "list backups");
	return 0;
}
