/*
 * store_op.c - the operations journal.  An operation row is the intent,
 * written before libvirt is touched; its status then moves
 * queued -> running -> succeeded | failed | cancelled.  A unique partial
 * index keeps at most one queued or running operation per VM, so two
 * conflicting requests can never both be accepted.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "../common/utf8.h"
#include "store_int.h"

#define OP_COLS \
	"SELECT id, kind, vm_id, vm_uuid, vm_name, status, step, params," \
	" err_code, err_field, err_msg, created_at, started_at, finished_at," \
	" idem_key, progress, parent_id, host_id," \
	" (SELECT name FROM hosts WHERE hosts.id = operations.host_id)" \
	" FROM operations "

static void
op_row(sqlite3_stmt *st, struct op_rec *o)
{
	char buf[32];

	memset(o, 0, sizeof(*o));
	store_col_text(st, 0, o->id, sizeof(o->id));
	store_col_text(st, 1, buf, sizeof(buf));
	if (op_kind_parse(buf, &o->kind) < 0)
		o->kind = OP_KIND__COUNT;
	o->vm_id = sqlite3_column_int64(st, 2);
	store_col_text(st, 3, o->vm_uuid, sizeof(o->vm_uuid));
	store_col_text(st, 4, o->vm_name, sizeof(o->vm_name));
	store_col_text(st, 5, buf, sizeof(buf));
	if (op_status_parse(buf, &o->status) < 0)
		o->status = OP_FAILED;
	store_col_text(st, 6, o->step, sizeof(o->step));
	store_col_text(st, 7, o->params, sizeof(o->params));
	store_col_text(st, 8, o->err_code, sizeof(o->err_code));
	store_col_text(st, 9, o->err_field, sizeof(o->err_field));
	store_col_text(st, 10, o->err_msg, sizeof(o->err_msg));
	o->created_at = sqlite3_column_int64(st, 11);
	o->started_at = sqlite3_column_int64(st, 12);
	o->finished_at = sqlite3_column_int64(st, 13);
	store_col_text(st, 14, o->idem_key, sizeof(o->idem_key));
	store_col_text(st, 15, o->progress, sizeof(o->progress));
	store_col_text(st, 16, o->parent_id, sizeof(o->parent_id));
	o->host_id = sqlite3_column_int64(st, 17);
	store_col_text(st, 18, o->host, sizeof(o->host));
}

/* operation.<status> (or .progress) with the kind and what is given */
static int
op_event(struct store_conn *c, const char *id, const char *type,
    enum op_kind kind, const char *step, const struct err *e)
{
	json_t *d = json_pack("{s:s}", "kind", op_kind_name(kind));
	char buf[ERR_MSG_MAX], fbuf[ERR_FIELD_MAX];
	int r;

	/* messages may hold any bytes: cut them to valid UTF-8, or jansson
	 * would refuse them and the event lose its error */
	if (d && step)
		json_object_set_new(d, "step",
		    json_string(utf8_clean(step, buf, sizeof(buf))));
	if (d && e)
		json_object_set_new(d, "error", json_pack("{s:s, s:s, s:s}",
		    "code", err_code_name(e->code),
		    "field", utf8_clean(e->field, fbuf, sizeof(fbuf)),
		    "detail", utf8_clean(e->msg, buf, sizeof(buf))));
	r = store_event_op(c, id, type, d);
	json_decref(d);
	return r;
}

/* The kind of operation id (OP_KIND__COUNT when unknown). */
static enum op_kind
op_kind_of(struct store_conn *c, const char *id)
{
	static const char sql[] = "SELECT kind FROM operations WHERE id=?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	enum op_kind k = OP_KIND__COUNT;
	char buf[32];

	if (st == NULL)
		return k;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		store_col_text(st, 0, buf, sizeof(buf));
		if (op_kind_parse(buf, &k) < 0)
			k = OP_KIND__COUNT;
	}
	sqlite3_reset(st);
	return k;
}

int
store_op_insert(struct store_conn *c, struct op_rec *o)
{
	static const char sql[] = "INSERT INTO operations (id, kind, vm_id,"
	    " vm_uuid, vm_name, status, params, created_at, idem_key,"
	    " parent_id, host_id)"
	    " VALUES (?1,?2,?3,?4,?5,'queued',?6,?7,?8,?9,?10)";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	o->status = OP_QUEUED;
	o->created_at = time_now_ms();
	sqlite3_bind_text(st, 1, o->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, op_kind_name(o->kind), -1, SQLITE_STATIC);
	if (o->vm_id)
		sqlite3_bind_int64(st, 3, o->vm_id);
	sqlite3_bind_text(st, 4, o->vm_uuid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, o->vm_name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, o->params[0] ? o->params : "{}", -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, o->created_at);
	store_bind_text(st, 8, o->idem_key);
	store_bind_text(st, 9, o->parent_id);
	if (o->host_id)
		sqlite3_bind_int64(st, 10, o->host_id);
	if (store_exec_stmt(c, st, "insert operation") < 0) {
		if (store_unique_broken(c, "operations.vm_id"))
			err_set(ERR_CONFLICT, "vm '%s' already has an operation "
			    "in progress; wait for it to finish", o->vm_name);
		else if (store_unique_broken(c, "operations.host_id"))
			err_set(ERR_CONFLICT, "the host already has an operation "
			    "in progress; wait for it to finish");
		return -1;
	}
	return op_event(c, o->id, "operation.queued", o->kind, NULL, NULL);
}

/*
 * The one operation sql (bound to key) finds into out; ERR_NOT_FOUND
 * with the message "<what> not found" otherwise.
 */
static int
op_get_one(struct store_conn *c, const char *sql, const char *key,
    const char *what, struct op_rec *out)
{
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		op_row(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "get operation");
	return err_set(ERR_NOT_FOUND, "%s not found", what);
}

int
store_op_get_by_idem(struct store_conn *c, const char *key,
    struct op_rec *out)
{
	static const char sql[] = OP_COLS "WHERE idem_key = ?1"
	    " ORDER BY created_at DESC LIMIT 1";

	return op_get_one(c, sql, key, "an operation with that idempotency "
	    "key", out);
}

int
store_op_get(struct store_conn *c, const char *id, struct op_rec *out)
{
	static const char sql[] = OP_COLS "WHERE id = ?1";
	char what[64];

	snprintf(what, sizeof(what), "operation '%.40s'", id);
	return op_get_one(c, sql, id, what, out);
}

int
store_op_set_running(struct store_conn *c, const char *id)
{
	static const char sql[] = "UPDATE operations SET status='running',"
	    " started_at=?2 WHERE id=?1 AND status='queued'";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, time_now_ms());
	if (store_exec_stmt(c, st, "start operation") < 0 ||
	    store_changed(c, "queued operation") < 0)
		return -1;
	return op_event(c, id, "operation.running", op_kind_of(c, id), NULL,
	    NULL);
}

int
store_op_set_step(struct store_conn *c, const char *id, const char *step)
{
	static const char sql[] = "UPDATE operations SET step=?2"
	    " WHERE id=?1 AND step<>?2";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, step, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "set operation step") < 0)
		return -1;
	if (sqlite3_changes(c->db) == 0)
		return 0;
	return op_event(c, id, "operation.progress", op_kind_of(c, id), step,
	    NULL);
}

int
store_op_set_progress(struct store_conn *c, const char *id,
    const char *progress)
{
	static const char sql[] = "UPDATE operations SET progress=?2"
	    " WHERE id=?1 AND progress<>?2";
	sqlite3_stmt *st = store_stmt(c, sql);
	json_error_t je;
	json_t *d;
	int r;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, progress, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "set operation progress") < 0)
		return -1;
	if (sqlite3_changes(c->db) == 0)
		return 0;
	d = json_pack("{s:s, s:o}", "kind", op_kind_name(op_kind_of(c, id)),
	    "progress", json_loads(progress, 0, &je));
	r = store_event_op(c, id, "operation.progress", d);
	json_decref(d);
	return r;
}

int
store_op_set_params(struct store_conn *c, const char *id, const char *params)
{
	static const char sql[] = "UPDATE operations SET params=?2 WHERE id=?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, params, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "set operation params") < 0)
		return -1;
	return store_changed(c, "operation");
}

int
store_op_finish(struct store_conn *c, const char *id, enum op_status status,
    const struct err *e)
{
	static const char sql[] = "UPDATE operations SET status=?2,"
	    " err_code=?3, err_field=?4, err_msg=?5, finished_at=?6,"
	    " started_at=COALESCE(started_at, ?6)"
	    " WHERE id=?1 AND status IN ('queued','running')";
	sqlite3_stmt *st = store_stmt(c, sql);
	char type[48];

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, op_status_name(status), -1, SQLITE_STATIC);
	if (status == OP_FAILED && e) {
		sqlite3_bind_text(st, 3, err_code_name(e->code), -1,
		    SQLITE_STATIC);
		store_bind_text(st, 4, e->field);
		store_bind_text(st, 5, e->msg);
	}
	sqlite3_bind_int64(st, 6, time_now_ms());
	if (store_exec_stmt(c, st, "finish operation") < 0 ||
	    store_changed(c, "unfinished operation") < 0)
		return -1;
	snprintf(type, sizeof(type), "operation.%s", op_status_name(status));
	return op_event(c, id, type, op_kind_of(c, id), NULL,
	    status == OP_FAILED ? e : NULL);
}

int
store_op_cancel_queued(struct store_conn *c, const char *id)
{
	static const char sql[] = "UPDATE operations SET status='cancelled',"
	    " finished_at=?2, err_msg='cancelled before it started'"
	    " WHERE id=?1 AND status='queued'";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, time_now_ms());
	if (store_exec_stmt(c, st, "cancel operation") < 0 ||
	    store_changed(c, "queued operation") < 0)
		return -1;
	return op_event(c, id, "operation.cancelled", op_kind_of(c, id),
	    NULL, NULL);
}

int
store_op_prune(struct store_conn *c, int64_t before_ms, int64_t *pruned)
{
	static const char sql[] = "DELETE FROM operations"
	    " WHERE finished_at IS NOT NULL AND finished_at < ?1"
	    " AND status NOT IN ('queued','running')";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before_ms);
	if (store_exec_stmt(c, st, "prune operations") < 0)
		return -1;
	*pruned = sqlite3_changes(c->db);
	return 0;
}

static int
op_each(struct store_conn *c, sqlite3_stmt *st, store_op_fn fn, void *arg)
{
	struct op_rec o;
	int rc, r = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		op_row(st, &o);
		if ((r = fn(&o, arg)) != 0)
			break;
	}
	sqlite3_reset(st);
	if (r != 0)             /* fn's -1 (and its error) is ours */
		return r < 0 ? -1 : 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "list operations");
	return 0;
}

int
store_op_each(struct store_conn *c, int64_t vm_id, const char *status,
    int limit, store_op_fn fn, void *arg)
{
	static const char sql[] = OP_COLS
	    "WHERE (?1 IS NULL OR vm_id = ?1) AND (?2 IS NULL OR status = ?2)"
	    " ORDER BY created_at DESC, rowid DESC LIMIT ?3";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	if (vm_id)
		sqlite3_bind_int64(st, 1, vm_id);
	store_bind_text(st, 2, status);
	sqlite3_bind_int(st, 3, limit > 0 ? limit : 100);
	return op_each(c, st, fn, arg);
}

int
store_op_page(struct store_conn *c, int64_t vm_id, const char *status,
    const struct store_op_after *after, int64_t limit, store_op_fn fn,
    void *arg)
{
	/* newest first; keyset: strictly older than the last one shown */
	static const char sql[] = OP_COLS
	    "WHERE (?1 IS NULL OR vm_id = ?1) AND (?2 IS NULL OR status = ?2)"
	    " AND (?3 IS NULL OR (created_at, id) < (?3, ?4))"
	    " ORDER BY created_at DESC, id DESC LIMIT ?5";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	if (vm_id)
		sqlite3_bind_int64(st, 1, vm_id);
	store_bind_text(st, 2, status);
	if (after != NULL) {
		sqlite3_bind_int64(st, 3, after->created_at);
		sqlite3_bind_text(st, 4, after->id, -1, SQLITE_TRANSIENT);
	}
	sqlite3_bind_int64(st, 5, limit);
	return op_each(c, st, fn, arg);
}

int
store_op_each_child(struct store_conn *c, const char *parent_id,
    store_op_fn fn, void *arg)
{
	static const char sql[] = OP_COLS
	    "WHERE parent_id = ?1 ORDER BY created_at, rowid";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, parent_id, -1, SQLITE_TRANSIENT);
	return op_each(c, st, fn, arg);
}

int
store_op_each_unfinished(struct store_conn *c, store_op_fn fn, void *arg)
{
	static const char sql[] = OP_COLS
	    "WHERE status IN ('queued','running') ORDER BY created_at, rowid";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	return op_each(c, st, fn, arg);
}
