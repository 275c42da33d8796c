/*
 * store_group.c - placement groups: named sets of VMs that must (affinity)
 * or must not (anti-affinity) share a host.  Membership is vms.group_id.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "store_int.h"

#define GROUP_COLS \
	"SELECT g.id, g.name, g.policy, g.strict, g.created_at," \
	" (SELECT COUNT(*) FROM vms v WHERE v.group_id = g.id) FROM groups g "

static void
group_row(sqlite3_stmt *st, struct group_rec *g)
{
	memset(g, 0, sizeof(*g));
	g->id = sqlite3_column_int64(st, 0);
	store_col_text(st, 1, g->name, sizeof(g->name));
	store_col_text(st, 2, g->policy, sizeof(g->policy));
	g->strict = sqlite3_column_int(st, 3) != 0;
	g->created_at = sqlite3_column_int64(st, 4);
	g->vms = sqlite3_column_int(st, 5);
}

int
store_group_insert(struct store_conn *c, struct group_rec *g)
{
	static const char sql[] = "INSERT INTO groups (name, policy, strict,"
	    " created_at) VALUES (?1, ?2, ?3, ?4)";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	g->created_at = time_now_ms();
	sqlite3_bind_text(st, 1, g->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, g->policy, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, g->strict);
	sqlite3_bind_int64(st, 4, g->created_at);
	if (store_exec_stmt(c, st, "insert group") < 0) {
		if (store_unique_broken(c, "groups.name"))
			err_set_field(ERR_CONFLICT, "name",
			    "group '%s' already exists", g->name);
		return -1;
	}
	g->id = sqlite3_last_insert_rowid(c->db);
	return 0;
}

int
store_group_get(struct store_conn *c, const char *name, struct group_rec *out)
{
	static const char sql[] = GROUP_COLS "WHERE g.name = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		group_row(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "get group");
	return err_set(ERR_NOT_FOUND, "group '%s' not found", name);
}

int
store_group_delete(struct store_conn *c, int64_t id)
{
	static const char sql[] = "DELETE FROM groups WHERE id=?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (store_exec_stmt(c, st, "delete group") < 0) {
		if (store_fk_broken(c))
			err_set(ERR_CONFLICT, "group #%lld still has VMs", (long long)id);
		return -1;
	}
	return store_changed(c, "group");
}

int
store_group_each(struct store_conn *c, store_group_fn fn, void *arg)
{
	static const char sql[] = GROUP_COLS "ORDER BY g.name";
	sqlite3_stmt *st = store_stmt(c, sql);
	struct group_rec g;
	int rc, r = 0;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		group_row(st, &g);
		if ((r = fn(&g, arg)) != 0)
			break;
	}
	sqlite3_reset(st);
	if (r != 0)             /* fn's -1 (and its error) is ours */
		return r < 0 ? -1 : 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "list groups");
	return 0;
}
