/*
 * store_event.c - the events table: an append-only log of every change,
 * each with a monotonically increasing id (AUTOINCREMENT: an id is never
 * reused, even after pruning).  Events are appended by the store
 * functions that make the change, inside the same transaction, so a
 * reader of the log sees exactly what was committed and in commit order.
 * store_tx() wakes those waiting in store_event_wait() once a commit that
 * appended events is durable; until then (a lazy commit, store_tx_lazy)
 * readers of the log do not see them either.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/metrics.h"
#include "store_int.h"

/* The data object as compact JSON text; "{}" for none.  Caller frees. */
static char *
event_data_text(json_t *data)
{
	char *t = data ? json_dumps(data, JSON_COMPACT) : NULL;

	if (t && strlen(t) >= EVENT_DATA_MAX) {
		/* an event is small by design; never store a cut JSON text */
		free(t);
		t = NULL;
	}
	return t ? t : strdup("{}");
}

/* Step an event insert of type and note its id for the commit's
 * wake-up. */
static int
event_insert(struct store_conn *c, sqlite3_stmt *st, const char *type,
    char *text)
{
	int r = store_exec_stmt(c, st, "append event");

	free(text);
	if (r < 0)
		return -1;
	if (sqlite3_changes(c->db) > 0) {
		c->ev_max = sqlite3_last_insert_rowid(c->db);
		metrics_event(type);
	}
	return 0;
}

int
store_event_vm(struct store_conn *c, int64_t vm_id, const char *type,
    const char *op_id, json_t *data)
{
	static const char sql[] = "INSERT INTO events (ts, type, vm_uuid,"
	    " vm_name, host, op_id, data)"
	    " SELECT ?1, ?2, v.uuid, v.name, h.name, ?3, ?4"
	    " FROM vms v JOIN hosts h ON h.id = v.host_id WHERE v.id = ?5";
	sqlite3_stmt *st = store_stmt(c, sql);
	char *text;

	if (st == NULL)
		return -1;
	text = event_data_text(data);
	sqlite3_bind_int64(st, 1, time_now_ms());
	sqlite3_bind_text(st, 2, type, -1, SQLITE_TRANSIENT);
	store_bind_text(st, 3, op_id);
	sqlite3_bind_text(st, 4, text ? text : "{}", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, vm_id);
	return event_insert(c, st, type, text);
}

int
store_event_op(struct store_conn *c, const char *op_id, const char *type,
    json_t *data)
{
	/* the VM row may be gone (a finished delete): use the names the
	 * operation recorded, and the host only while the VM is there */
	static const char sql[] = "INSERT INTO events (ts, type, vm_uuid,"
	    " vm_name, host, op_id, data)"
	    " SELECT ?1, ?2, o.vm_uuid, o.vm_name,"
	    "  (SELECT h.name FROM vms v JOIN hosts h ON h.id = v.host_id"
	    "   WHERE v.id = o.vm_id), o.id, ?3"
	    " FROM operations o WHERE o.id = ?4";
	sqlite3_stmt *st = store_stmt(c, sql);
	char *text;

	if (st == NULL)
		return -1;
	text = event_data_text(data);
	sqlite3_bind_int64(st, 1, time_now_ms());
	sqlite3_bind_text(st, 2, type, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, text ? text : "{}", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, op_id, -1, SQLITE_TRANSIENT);
	return event_insert(c, st, type, text);
}

int
store_event_host(struct store_conn *c, const char *host, const char *type,
    json_t *data)
{
	static const char sql[] = "INSERT INTO events (ts, type, host, data)"
	    " VALUES (?1, ?2, ?3, ?4)";
	sqlite3_stmt *st = store_stmt(c, sql);
	char *text;

	if (st == NULL)
		return -1;
	text = event_data_text(data);
	sqlite3_bind_int64(st, 1, time_now_ms());
	sqlite3_bind_text(st, 2, type, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, text ? text : "{}", -1, SQLITE_TRANSIENT);
	return event_insert(c, st, type, text);
}

static int
event_scalar(struct store_conn *c, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(c, rc, "read event ids");
	return 0;
}

int
store_event_max(struct store_conn *c, int64_t *out)
{
	static const char sql[] = "SELECT COALESCE(MAX(id), 0) FROM events";

	return event_scalar(c, sql, out);
}

int
store_event_first(struct store_conn *c, int64_t *out)
{
	static const char sql[] = "SELECT COALESCE(MIN(id), 0) FROM events";

	return event_scalar(c, sql, out);
}

int
store_event_each(struct store_conn *c, int64_t after_id, int limit,
    store_event_fn fn, void *arg)
{
	static const char sql[] = "SELECT id, ts, type, vm_uuid, vm_name,"
	    " host, op_id, data FROM events WHERE id > ?1 AND id <= ?3"
	    " ORDER BY id LIMIT ?2";
	sqlite3_stmt *st = store_stmt(c, sql);
	struct event_rec *e;
	int rc, r = 0;

	if (st == NULL)
		return -1;
	if ((e = malloc(sizeof(*e))) == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int(st, 2, limit > 0 ? limit : 100);
	/* a lazy commit's events wait until they are durable */
	sqlite3_bind_int64(st, 3, c->store ? store_event_last(c->store) :
	    INT64_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(e, 0, offsetof(struct event_rec, data));
		e->id = sqlite3_column_int64(st, 0);
		e->ts = sqlite3_column_int64(st, 1);
		store_col_text(st, 2, e->type, sizeof(e->type));
		store_col_text(st, 3, e->vm_uuid, sizeof(e->vm_uuid));
		store_col_text(st, 4, e->vm_name, sizeof(e->vm_name));
		store_col_text(st, 5, e->host, sizeof(e->host));
		store_col_text(st, 6, e->op_id, sizeof(e->op_id));
		store_col_text(st, 7, e->data, sizeof(e->data));
		if ((r = fn(e, arg)) != 0)
			break;
	}
	sqlite3_reset(st);
	free(e);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "list events");
	return 0;
}

int
store_event_prune(struct store_conn *c, int64_t before_ms, int64_t *pruned)
{
	static const char sql[] = "DELETE FROM events WHERE ts < ?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before_ms);
	if (store_exec_stmt(c, st, "prune events") < 0)
		return -1;
	*pruned = sqlite3_changes(c->db);
	return 0;
}
