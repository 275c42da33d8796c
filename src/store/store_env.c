/*
 * store_env.c - the environments table and environment_vms, the links
 * of VMs to the environment they were made for (daemon/envs.c says what
 * an environment is).  A link goes with its VM (ON DELETE CASCADE), so
 * a VM removed by any path leaves no stale link.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "store_int.h"

#define ENV_COLS \
	"SELECT e.id, e.name, e.network_id, e.state, e.ttl_s, e.expires_at," \
	" e.op_id, e.error, e.created_at," \
	" (SELECT COUNT(*) FROM environment_vms l WHERE l.env_id = e.id)" \
	" FROM environments e "

static void
env_row(sqlite3_stmt *st, struct env_rec *e)
{
	memset(e, 0, sizeof(*e));
	e->id = sqlite3_column_int64(st, 0);
	store_col_text(st, 1, e->name, sizeof(e->name));
	e->network_id = sqlite3_column_int64(st, 2);
	store_col_text(st, 3, e->state, sizeof(e->state));
	e->ttl_s = sqlite3_column_int64(st, 4);
	e->expires_at = sqlite3_column_int64(st, 5);
	store_col_text(st, 6, e->op_id, sizeof(e->op_id));
	store_col_text(st, 7, e->error, sizeof(e->error));
	e->created_at = sqlite3_column_int64(st, 8);
	e->nvms = sqlite3_column_int(st, 9);
}

int
store_env_insert(struct store_conn *c, struct env_rec *e)
{
	static const char sql[] = "INSERT INTO environments (name, state,"
	    " ttl_s, expires_at, op_id, created_at)"
	    " VALUES (?1,?2,?3,?4,?5,?6)";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	e->created_at = time_now_ms();
	sqlite3_bind_text(st, 1, e->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, e->state[0] ? e->state : "creating", -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, e->ttl_s);
	sqlite3_bind_int64(st, 4, e->expires_at);
	sqlite3_bind_text(st, 5, e->op_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, e->created_at);
	if (store_exec_stmt(c, st, "insert environment") < 0) {
		if (store_unique_broken(c, "environments.name"))
			err_set_field(ERR_CONFLICT, "name",
			    "environment '%s' already exists", e->name);
		return -1;
	}
	e->id = sqlite3_last_insert_rowid(c->db);
	return 0;
}

int
store_env_get(struct store_conn *c, const char *name, struct env_rec *out)
{
	static const char sql[] = ENV_COLS "WHERE e.name = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		env_row(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "get environment");
	return err_set(ERR_NOT_FOUND, "environment '%s' not found", name);
}

int
store_env_update(struct store_conn *c, const struct env_rec *e)
{
	static const char sql[] = "UPDATE environments SET network_id = ?2,"
	    " state = ?3, ttl_s = ?4, expires_at = ?5, op_id = ?6, error = ?7"
	    " WHERE id = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, e->id);
	if (e->network_id > 0)
		sqlite3_bind_int64(st, 2, e->network_id);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, e->state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, e->ttl_s);
	sqlite3_bind_int64(st, 5, e->expires_at);
	sqlite3_bind_text(st, 6, e->op_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 7, e->error, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "update environment") < 0)
		return -1;
	return store_changed(c, "environment");
}

int
store_env_delete(struct store_conn *c, int64_t id)
{
	static const char sql[] = "DELETE FROM environments WHERE id = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (store_exec_stmt(c, st, "delete environment") < 0)
		return -1;
	return store_changed(c, "environment");
}

/* fn for each row of st (bound); what names the walk in errors. */
static int
env_walk(struct store_conn *c, sqlite3_stmt *st, const char *what,
    store_env_fn fn, void *arg)
{
	struct env_rec e;
	int rc, r = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		env_row(st, &e);
		if ((r = fn(&e, arg)) != 0)
			break;
	}
	sqlite3_reset(st);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, what);
	return 0;
}

int
store_env_each(struct store_conn *c, store_env_fn fn, void *arg)
{
	static const char sql[] = ENV_COLS "ORDER BY e.name";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	return env_walk(c, st, "list environments", fn, arg);
}

int
store_env_each_expired(struct store_conn *c, int64_t now_ms,
    store_env_fn fn, void *arg)
{
	static const char sql[] = ENV_COLS "WHERE e.expires_at > 0"
	    " AND e.expires_at <= ?1 AND e.state IN ('ready','failed')"
	    " ORDER BY e.expires_at";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now_ms);
	return env_walk(c, st, "list expired environments", fn, arg);
}

int
store_env_vm_link(struct store_conn *c, int64_t env_id, int64_t vm_id,
    const char *role)
{
	static const char sql[] = "INSERT INTO environment_vms (env_id, vm_id,"
	    " role) VALUES (?1,?2,?3)";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, env_id);
	sqlite3_bind_int64(st, 2, vm_id);
	sqlite3_bind_text(st, 3, role, -1, SQLITE_TRANSIENT);
	return store_exec_stmt(c, st, "link a VM to its environment");
}

int
store_env_vm_each(struct store_conn *c, int64_t env_id, store_env_vm_fn fn,
    void *arg)
{
	static const char sql[] = "SELECT vm_id, role FROM environment_vms"
	    " WHERE env_id = ?1 ORDER BY rowid";
	sqlite3_stmt *st = store_stmt(c, sql);
	char role[NAME_MAX_LEN];
	int rc, r = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, env_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_col_text(st, 1, role, sizeof(role));
		if ((r = fn(sqlite3_column_int64(st, 0), role, arg)) != 0)
			break;
	}
	sqlite3_reset(st);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "list an environment's VMs");
	return 0;
}

int
store_env_of_vm(struct store_conn *c, int64_t vm_id, char *name, size_t len)
{
	static const char sql[] = "SELECT e.name FROM environment_vms l"
	    " JOIN environments e ON e.id = l.env_id WHERE l.vm_id = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	name[0] = '\0';
	sqlite3_bind_int64(st, 1, vm_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		store_col_text(st, 0, name, len);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(c, rc, "find a VM's environment");
	return 0;
}
