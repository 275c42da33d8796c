/*
 * store_token.c - the tokens table: API tokens by name, with their role
 * and the SHA-256 of the token (never the token itself).  Revoking keeps
 * the row, so `token list` shows what was revoked and when; creating a
 * token with the name of a revoked one replaces that row.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "store_int.h"

#define TOKEN_COLS "id, name, role, hash, created_at, revoked_at"

static void
token_row(sqlite3_stmt *st, struct token_rec *t)
{
	memset(t, 0, sizeof(*t));
	store_col_text(st, 0, t->id, sizeof(t->id));
	store_col_text(st, 1, t->name, sizeof(t->name));
	store_col_text(st, 2, t->role, sizeof(t->role));
	store_col_text(st, 3, t->hash, sizeof(t->hash));
	t->created_at = sqlite3_column_int64(st, 4);
	t->revoked_at = sqlite3_column_int64(st, 5);   /* NULL reads 0 */
}

int
store_token_insert(struct store_conn *c, struct token_rec *t)
{
	/* a revoked row of that name gives way; a token in force does not
	 * (the upsert's WHERE is false: no change) */
	static const char sql[] = "INSERT INTO tokens (id, name, role, hash,"
	    " created_at) VALUES (?1, ?2, ?3, ?4, ?5)"
	    " ON CONFLICT (name) DO UPDATE SET id = excluded.id,"
	    " role = excluded.role, hash = excluded.hash,"
	    " created_at = excluded.created_at, revoked_at = NULL"
	    " WHERE tokens.revoked_at IS NOT NULL";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	t->created_at = time_now_ms();
	t->revoked_at = 0;
	sqlite3_bind_text(st, 1, t->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, t->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, t->role, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, t->hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, t->created_at);
	if (store_exec_stmt(c, st, "insert token") < 0)
		return -1;
	if (sqlite3_changes(c->db) == 0)
		return err_set_field(ERR_CONFLICT, "name", "token '%s' already "
		    "exists; revoke it first to reuse its name", t->name);
	return 0;
}

int
store_token_revoke(struct store_conn *c, const char *name,
    struct token_rec *out)
{
	static const char sql[] = "UPDATE tokens SET revoked_at ="
	    " COALESCE(revoked_at, ?2) WHERE name = ?1 RETURNING " TOKEN_COLS;
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, time_now_ms());
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		token_row(st, out);
	else if (rc != SQLITE_DONE) {
		rc = sqlite3_extended_errcode(c->db);
		sqlite3_reset(st);
		return store_fail(c, rc, "revoke token");
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return err_set(ERR_NOT_FOUND, "token '%s' not found", name);
	return 0;
}

int
store_token_each(struct store_conn *c, store_token_fn fn, void *arg)
{
	static const char sql[] = "SELECT " TOKEN_COLS " FROM tokens"
	    " ORDER BY name";
	sqlite3_stmt *st = store_stmt(c, sql);
	struct token_rec t;
	int rc, r = 0;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		token_row(st, &t);
		if ((r = fn(&t, arg)) != 0)
			break;
	}
	sqlite3_reset(st);
	if (r != 0)             /* fn's -1 (and its error) is ours */
		return r < 0 ? -1 : 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "list tokens");
	return 0;
}
