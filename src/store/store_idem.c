/*
 * store_idem.c - Idempotency-Key records: for each key, the request it
 * came with (canonical text) and the reply it got, so that a retried
 * request gets the first reply instead of acting twice.  A key is claimed
 * (pending) before the request runs and completed with its reply; a
 * request that failed releases it.  Operations made under a key also
 * carry it (operations.idem_key), so a key left pending by a crash can be
 * matched to the operation it made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "store_int.h"

int
store_idem_claim(struct store_conn *c, const char *key, const char *request,
    int64_t ttl_ms, struct idem_rec *out)
{
	static const char expire[] = "DELETE FROM idempotency"
	    " WHERE key=?1 AND created_at < ?2";
	static const char get[] = "SELECT request = ?2, status, location,"
	    " body, created_at FROM idempotency WHERE key=?1";
	static const char ins[] = "INSERT INTO idempotency (key, request,"
	    " created_at) VALUES (?1, ?2, ?3)";
	sqlite3_stmt *st;
	const unsigned char *b;
	int64_t now = time_now_ms();
	int rc;

	memset(out, 0, sizeof(*out));
	if ((st = store_stmt(c, expire)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, now - ttl_ms);
	if (store_exec_stmt(c, st, "expire idempotency key") < 0)
		return -1;
	if ((st = store_stmt(c, get)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, request, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->same_request = sqlite3_column_int(st, 0) != 0;
		out->status = sqlite3_column_int(st, 1);
		store_col_text(st, 2, out->location, sizeof(out->location));
		b = sqlite3_column_text(st, 3);
		out->body = strdup(b ? (const char *)b : "");
		out->created_at = sqlite3_column_int64(st, 4);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW) {
		if (out->body == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		return 1;
	}
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "get idempotency key");
	if ((st = store_stmt(c, ins)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, request, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now);
	if (store_exec_stmt(c, st, "claim idempotency key") < 0)
		return -1;
	return 0;
}

int
store_idem_done(struct store_conn *c, const char *key, int status,
    const char *location, const char *body)
{
	static const char sql[] = "UPDATE idempotency SET status=?2,"
	    " location=?3, body=?4 WHERE key=?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, status);
	sqlite3_bind_text(st, 3, location ? location : "", -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, body ? body : "", -1, SQLITE_TRANSIENT);
	return store_exec_stmt(c, st, "record idempotent reply");
}

int
store_idem_take_over(struct store_conn *c, const char *key,
    int64_t created_at)
{
	static const char sql[] = "UPDATE idempotency SET created_at=?3"
	    " WHERE key=?1 AND status=0 AND created_at=?2";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, created_at);
	sqlite3_bind_int64(st, 3, time_now_ms());
	if (store_exec_stmt(c, st, "take over idempotency key") < 0)
		return -1;
	if (sqlite3_changes(c->db) == 0)
		return err_set(ERR_CONFLICT, "a request with Idempotency-Key "
		    "'%s' is already being retried", key);
	return 0;
}

int
store_idem_release(struct store_conn *c, const char *key)
{
	static const char sql[] = "DELETE FROM idempotency WHERE key=?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	return store_exec_stmt(c, st, "release idempotency key");
}

int
store_idem_prune(struct store_conn *c, int64_t before_ms, int64_t *pruned)
{
	static const char sql[] = "DELETE FROM idempotency"
	    " WHERE created_at < ?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before_ms);
	if (store_exec_stmt(c, st, "prune idempotency keys") < 0)
		return -1;
	*pruned = sqlite3_changes(c->db);
	return 0;
}

void
store_idem_free(struct idem_rec *r)
{
	free(r->body);
	r->body = NULL;
}
