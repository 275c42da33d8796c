/*
 * store_snap.c - the snapshots table: what hangar knows of each VM's
 * snapshots (name, description, whether RAM was kept, the VM's state when
 * taken, the parent).  libvirt keeps the same tree; a row is written
 * (status creating) in the transaction that records the snapshot
 * operation, so a taken name is refused before libvirt is touched, and
 * made ready when the snapshot exists.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "store_int.h"

#define SNAP_COLS \
	"SELECT id, vm_id, name, description, memory, vm_state, parent," \
	" status, scheduled, created_at, consistency FROM snapshots "

static void
snap_row(sqlite3_stmt *st, struct snap_rec *s)
{
	memset(s, 0, sizeof(*s));
	s->id = sqlite3_column_int64(st, 0);
	s->vm_id = sqlite3_column_int64(st, 1);
	store_col_text(st, 2, s->name, sizeof(s->name));
	store_col_text(st, 3, s->description, sizeof(s->description));
	s->memory = sqlite3_column_int(st, 4) != 0;
	store_col_text(st, 5, s->vm_state, sizeof(s->vm_state));
	store_col_text(st, 6, s->parent, sizeof(s->parent));
	store_col_text(st, 7, s->status, sizeof(s->status));
	s->scheduled = sqlite3_column_int(st, 8) != 0;
	s->created_at = sqlite3_column_int64(st, 9);
	store_col_text(st, 10, s->consistency, sizeof(s->consistency));
}

int
store_snap_insert(struct store_conn *c, struct snap_rec *s,
    const char *vm_name)
{
	static const char sql[] = "INSERT INTO snapshots (vm_id, name,"
	    " description, memory, vm_state, status, scheduled, created_at)"
	    " VALUES (?1,?2,?3,?4,?5,'creating',?6,?7)";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	s->created_at = time_now_ms();
	snprintf(s->status, sizeof(s->status), "creating");
	sqlite3_bind_int64(st, 1, s->vm_id);
	sqlite3_bind_text(st, 2, s->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, s->description, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 4, s->memory);
	sqlite3_bind_text(st, 5, s->vm_state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 6, s->scheduled);
	sqlite3_bind_int64(st, 7, s->created_at);
	if (store_exec_stmt(c, st, "insert snapshot") < 0) {
		if (c->last_rc == SQLITE_CONSTRAINT_UNIQUE)
			err_set_field(ERR_CONFLICT, "name", "vm '%s' already has "
			    "a snapshot named '%s'", vm_name, s->name);
		return -1;
	}
	s->id = sqlite3_last_insert_rowid(c->db);
	return 0;
}

int
store_snap_get(struct store_conn *c, int64_t vm_id, const char *name,
    struct snap_rec *out)
{
	static const char sql[] = SNAP_COLS "WHERE vm_id = ?1 AND name = ?2";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snap_row(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "get snapshot");
	return err_set(ERR_NOT_FOUND, "snapshot '%s' not found", name);
}

static json_t *
snap_event_data(const struct snap_rec *s)
{
	return json_pack("{s:s, s:b, s:s, s:s, s:s}", "snapshot", s->name,
	    "memory", s->memory, "vm_state", s->vm_state, "parent", s->parent,
	    "consistency", s->consistency[0] ? s->consistency : "crash");
}

int
store_snap_ready(struct store_conn *c, const struct snap_rec *s,
    const char *op_id)
{
	static const char sql[] = "UPDATE snapshots SET status='ready',"
	    " parent=?3, vm_state=?4, consistency=?5"
	    " WHERE vm_id=?1 AND name=?2";
	sqlite3_stmt *st = store_stmt(c, sql);
	json_t *d;
	int r;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, s->vm_id);
	sqlite3_bind_text(st, 2, s->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, s->parent, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, s->vm_state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, s->consistency[0] ? s->consistency : "crash",
	    -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "update snapshot") < 0 ||
	    store_changed(c, "snapshot") < 0)
		return -1;
	d = snap_event_data(s);
	r = store_event_vm(c, s->vm_id, "snapshot.created", op_id, d);
	json_decref(d);
	return r;
}

int
store_snap_delete(struct store_conn *c, int64_t vm_id, const char *name,
    const char *op_id)
{
	static const char reparent[] = "UPDATE snapshots SET parent=?3"
	    " WHERE vm_id=?1 AND parent=?2";
	static const char sql[] = "DELETE FROM snapshots"
	    " WHERE vm_id=?1 AND name=?2";
	struct snap_rec s;
	sqlite3_stmt *st;
	json_t *d;
	int r = 0;

	if (store_snap_get(c, vm_id, name, &s) < 0)
		return -1;
	if ((st = store_stmt(c, reparent)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, s.parent, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "reparent snapshots") < 0)
		return -1;
	if ((st = store_stmt(c, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "delete snapshot") < 0)
		return -1;
	if (strcmp(s.status, "ready") == 0) {
		d = snap_event_data(&s);
		r = store_event_vm(c, vm_id, "snapshot.deleted", op_id, d);
		json_decref(d);
	}
	return r;
}

int
store_snap_each(struct store_conn *c, int64_t vm_id, bool scheduled_only,
    store_snap_fn fn, void *arg)
{
	static const char sql[] = SNAP_COLS "WHERE vm_id = ?1"
	    " AND (?2 = 0 OR scheduled = 1) ORDER BY created_at, id";
	sqlite3_stmt *st = store_stmt(c, sql);
	struct snap_rec s;
	int rc, r = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_int(st, 2, scheduled_only);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snap_row(st, &s);
		if ((r = fn(&s, arg)) != 0)
			break;
	}
	sqlite3_reset(st);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "list snapshots");
	return 0;
}
