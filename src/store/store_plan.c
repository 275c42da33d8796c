/*
 * store_plan.c - migration plans (consolidation, rebalance): what the
 * planner proposed, kept so that it can be shown and executed later
 * exactly as it was shown.  The body is the plan's JSON text, written by
 * the daemon; the store only keeps it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "store_int.h"

int
store_plan_insert(struct store_conn *c, const char *id, const char *kind,
    const char *body)
{
	static const char sql[] = "INSERT INTO plans (id, kind, body,"
	    " created_at) VALUES (?1, ?2, ?3, ?4)";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, body, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, time_now_ms());
	return store_exec_stmt(c, st, "insert plan");
}

int
store_plan_get(struct store_conn *c, const char *id, struct plan_rec *out)
{
	static const char sql[] = "SELECT id, kind, body, op_id, created_at"
	    " FROM plans WHERE id = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	const unsigned char *b;
	int rc;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		store_col_text(st, 0, out->id, sizeof(out->id));
		store_col_text(st, 1, out->kind, sizeof(out->kind));
		b = sqlite3_column_text(st, 2);
		out->body = strdup(b ? (const char *)b : "{}");
		store_col_text(st, 3, out->op_id, sizeof(out->op_id));
		out->created_at = sqlite3_column_int64(st, 4);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return out->body ? 0 : err_set(ERR_INTERNAL, "out of memory");
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "get plan");
	return err_set(ERR_NOT_FOUND, "plan '%s' not found", id);
}

int
store_plan_set_op(struct store_conn *c, const char *id, const char *op_id)
{
	static const char sql[] = "UPDATE plans SET op_id=?2 WHERE id=?1"
	    " AND op_id IS NULL";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, op_id, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "execute plan") < 0)
		return -1;
	if (sqlite3_changes(c->db) == 0)
		return err_set(ERR_CONFLICT, "plan '%s' was already executed; "
		    "make a new plan", id);
	return 0;
}

void
store_plan_free(struct plan_rec *p)
{
	free(p->body);
	p->body = NULL;
}
