/*
 * store_host.c - the hosts table.  A host's allocation (VMs, vCPUs,
 * memory, disk placed on it) is derived from the vms table, never stored.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "store_int.h"

/* A host's columns around its derived counters (host_row's order). */
#define HOST_COLS_A \
	"SELECT h.id, h.name, h.uri, h.state, h.arch, h.domain_type, h.cpus," \
	" h.memory_mib, h.free_memory_mib, h.cpu_model, h.created_at," \
	" h.updated_at, "
#define HOST_COLS_B \
	" h.maintenance, h.labels, h.cpu_ratio, h.ram_ratio, h.disk_ratio," \
	" h.reserved_vcpus, h.reserved_memory_mib, h.reserved_disk_gib," \
	" h.domain_types, h.disk_gib, h.disk_free_gib, h.pool_path, h.storage," \
	" h.fenced_at, h.fence"
/* With the counters summed over the host's VMs: O(VMs on the host). */
#define HOST_COLS \
	HOST_COLS_A "COUNT(v.id), COALESCE(SUM(v.vcpus),0)," \
	" COALESCE(SUM(v.memory_mib),0), COALESCE(SUM(v.disk_gib),0)," \
	HOST_COLS_B " FROM hosts h LEFT JOIN vms v ON v.host_id = h.id "
/* Without them (left 0): one row lookup. */
#define HOST_COLS_BARE \
	HOST_COLS_A "0, 0, 0, 0," HOST_COLS_B " FROM hosts h "

static void
host_row(sqlite3_stmt *st, struct host_rec *h)
{
	memset(h, 0, sizeof(*h));
	h->id = sqlite3_column_int64(st, 0);
	store_col_text(st, 1, h->name, sizeof(h->name));
	store_col_text(st, 2, h->uri, sizeof(h->uri));
	store_col_text(st, 3, h->state, sizeof(h->state));
	store_col_text(st, 4, h->arch, sizeof(h->arch));
	store_col_text(st, 5, h->domain_type, sizeof(h->domain_type));
	h->cpus = sqlite3_column_int(st, 6);
	h->memory_mib = sqlite3_column_int64(st, 7);
	h->free_memory_mib = sqlite3_column_int64(st, 8);
	store_col_text(st, 9, h->cpu_model, sizeof(h->cpu_model));
	h->created_at = sqlite3_column_int64(st, 10);
	h->updated_at = sqlite3_column_int64(st, 11);
	h->vms = sqlite3_column_int(st, 12);
	h->alloc_vcpus = sqlite3_column_int64(st, 13);
	h->alloc_memory_mib = sqlite3_column_int64(st, 14);
	h->alloc_disk_gib = sqlite3_column_int64(st, 15);
	h->maintenance = sqlite3_column_int(st, 16) != 0;
	store_col_text(st, 17, h->labels, sizeof(h->labels));
	h->cpu_ratio = sqlite3_column_double(st, 18);
	h->ram_ratio = sqlite3_column_double(st, 19);
	h->disk_ratio = sqlite3_column_double(st, 20);
	h->reserved_vcpus = sqlite3_column_int(st, 21);
	h->reserved_memory_mib = sqlite3_column_int64(st, 22);
	h->reserved_disk_gib = sqlite3_column_int64(st, 23);
	store_col_text(st, 24, h->domain_types, sizeof(h->domain_types));
	h->disk_gib = sqlite3_column_int64(st, 25);
	h->disk_free_gib = sqlite3_column_int64(st, 26);
	store_col_text(st, 27, h->pool_path, sizeof(h->pool_path));
	store_col_text(st, 28, h->storage, sizeof(h->storage));
	h->fenced_at = sqlite3_column_int64(st, 29);
	store_col_text(st, 30, h->fence, sizeof(h->fence));
}

/* Bind the settings a client chooses to ?2.. ?9 of sql. */
static void
host_bind_settings(sqlite3_stmt *st, const struct host_rec *h)
{
	sqlite3_bind_int(st, 2, h->maintenance);
	sqlite3_bind_text(st, 3, h->labels[0] ? h->labels : "{}", -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_double(st, 4, h->cpu_ratio);
	sqlite3_bind_double(st, 5, h->ram_ratio);
	sqlite3_bind_double(st, 6, h->disk_ratio);
	sqlite3_bind_int(st, 7, h->reserved_vcpus);
	sqlite3_bind_int64(st, 8, h->reserved_memory_mib);
	sqlite3_bind_int64(st, 9, h->reserved_disk_gib);
}

/* Bind the facts read from the backend to ?10.. ?19 of sql. */
static void
host_bind_facts(sqlite3_stmt *st, const struct host_rec *h, int64_t now)
{
	sqlite3_bind_text(st, 10, h->arch, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 11, h->domain_type, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 12, h->cpus);
	sqlite3_bind_int64(st, 13, h->memory_mib);
	sqlite3_bind_int64(st, 14, h->free_memory_mib);
	sqlite3_bind_text(st, 15, h->cpu_model, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 16, h->domain_types, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 17, h->disk_gib);
	sqlite3_bind_int64(st, 18, h->disk_free_gib);
	sqlite3_bind_int64(st, 19, now);
}

/* An event about host id (data borrowed, may be NULL). */
static int
host_event(struct store_conn *c, int64_t id, const char *type, json_t *data)
{
	static const char sql[] = "SELECT name FROM hosts WHERE id=?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	char name[NAME_MAX_LEN];
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		store_col_text(st, 0, name, sizeof(name));
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : store_fail(c, rc, "get host");
	return store_event_host(c, name, type, data);
}

int
store_host_insert(struct store_conn *c, struct host_rec *h)
{
	static const char sql[] = "INSERT INTO hosts (name, maintenance,"
	    " labels, cpu_ratio, ram_ratio, disk_ratio, reserved_vcpus,"
	    " reserved_memory_mib, reserved_disk_gib, arch, domain_type, cpus,"
	    " memory_mib, free_memory_mib, cpu_model, domain_types, disk_gib,"
	    " disk_free_gib, created_at, updated_at, uri, state, pool_path,"
	    " storage, fence) VALUES"
	    " (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,"
	    "  ?19,?19,?20,?21,?22,?23,?24)";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	h->created_at = h->updated_at = time_now_ms();
	store_bind_text(st, 1, h->name);
	host_bind_settings(st, h);
	host_bind_facts(st, h, h->created_at);
	store_bind_text(st, 20, h->uri);
	sqlite3_bind_text(st, 21, h->state[0] ? h->state : "ready", -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 22, h->pool_path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 23, h->storage, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 24, h->fence, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "insert host") < 0) {
		if (store_unique_broken(c, "hosts.name"))
			err_set_field(ERR_CONFLICT, "name",
			    "host '%s' already exists", h->name);
		return -1;
	}
	h->id = sqlite3_last_insert_rowid(c->db);
	return host_event(c, h->id, "host.added", NULL);
}

int
store_host_update_facts(struct store_conn *c, const struct host_rec *h)
{
	static const char sql[] = "UPDATE hosts SET arch=?10, domain_type=?11,"
	    " cpus=?12, memory_mib=?13, free_memory_mib=?14, cpu_model=?15,"
	    " domain_types=?16, disk_gib=?17, disk_free_gib=?18,"
	    " updated_at=?19 WHERE id=?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, h->id);
	host_bind_facts(st, h, time_now_ms());
	if (store_exec_stmt(c, st, "update host") < 0)
		return -1;
	return store_changed(c, "host");
}

int
store_host_update_settings(struct store_conn *c, const struct host_rec *h)
{
	static const char sql[] = "UPDATE hosts SET maintenance=?2, labels=?3,"
	    " cpu_ratio=?4, ram_ratio=?5, disk_ratio=?6, reserved_vcpus=?7,"
	    " reserved_memory_mib=?8, reserved_disk_gib=?9, updated_at=?10,"
	    " storage=?11, pool_path=?12, fence=?13 WHERE id=?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	json_t *d;
	int r;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, h->id);
	host_bind_settings(st, h);
	sqlite3_bind_int64(st, 10, time_now_ms());
	sqlite3_bind_text(st, 11, h->storage, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 12, h->pool_path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 13, h->fence, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "update host") < 0 ||
	    store_changed(c, "host") < 0)
		return -1;
	d = json_pack("{s:b}", "maintenance", h->maintenance);
	r = host_event(c, h->id, "host.updated", d);
	json_decref(d);
	return r;
}

int
store_host_delete(struct store_conn *c, int64_t id)
{
	static const char sql[] = "DELETE FROM hosts WHERE id=?1";
	sqlite3_stmt *st;

	/* rolled back with the delete if the host still has VMs */
	if (host_event(c, id, "host.removed", NULL) < 0 ||
	    (st = store_stmt(c, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (store_exec_stmt(c, st, "delete host") < 0) {
		if (store_fk_broken(c))
			err_set(ERR_CONFLICT, "host #%lld still has VMs", (long long)id);
		return -1;
	}
	return store_changed(c, "host");
}

int
store_host_set_state(struct store_conn *c, int64_t id, const char *state)
{
	static const char sql[] = "UPDATE hosts SET state=?2, updated_at=?3"
	    " WHERE id=?1 AND state<>?2";
	sqlite3_stmt *st = store_stmt(c, sql);
	char type[48];

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, time_now_ms());
	if (store_exec_stmt(c, st, "set host state") < 0)
		return -1;
	if (sqlite3_changes(c->db) == 0)
		return 0;
	snprintf(type, sizeof(type), "host.%s", state);
	return host_event(c, id, type, NULL);
}

int
store_host_set_fenced(struct store_conn *c, int64_t id, bool fenced,
    json_t *data)
{
	static const char sql[] = "UPDATE hosts SET fenced_at=?2,"
	    " updated_at=?3 WHERE id=?1 AND (fenced_at > 0) <> (?2 > 0)";
	sqlite3_stmt *st = store_stmt(c, sql);
	int64_t now = time_now_ms();

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, fenced ? now : 0);
	sqlite3_bind_int64(st, 3, now);
	if (store_exec_stmt(c, st, "fence host") < 0)
		return -1;
	if (sqlite3_changes(c->db) == 0)
		return 0;
	return host_event(c, id, fenced ? "host.fenced" : "host.unfenced",
	    data);
}

static int
host_get_one(struct store_conn *c, sqlite3_stmt *st, const char *what,
    struct host_rec *out)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) != 0) {
		host_row(st, out);
		sqlite3_reset(st);
		return 0;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(c, rc, "get host");
	return err_set(ERR_NOT_FOUND, "host '%s' not found", what);
}

int
store_host_get(struct store_conn *c, const char *name, struct host_rec *out)
{
	static const char sql[] = HOST_COLS "WHERE h.name = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	return host_get_one(c, st, name, out);
}

int
store_host_get_id(struct store_conn *c, int64_t id, struct host_rec *out)
{
	static const char sql[] = HOST_COLS_BARE "WHERE h.id = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	char what[32];

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	snprintf(what, sizeof(what), "#%lld", (long long)id);
	return host_get_one(c, st, what, out);
}

int
store_host_count(struct store_conn *c, int64_t *out)
{
	static const char sql[] = "SELECT COUNT(*) FROM hosts";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : store_fail(c, rc, "count hosts");
}

int
store_host_each(struct store_conn *c, store_host_fn fn, void *arg)
{
	static const char sql[] = HOST_COLS "GROUP BY h.id ORDER BY h.name";
	sqlite3_stmt *st = store_stmt(c, sql);
	struct host_rec h;
	int rc, r = 0;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		host_row(st, &h);
		if ((r = fn(&h, arg)) != 0)
			break;
	}
	sqlite3_reset(st);
	if (r != 0)             /* fn's -1 (and its error) is ours */
		return r < 0 ? -1 : 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "list hosts");
	return 0;
}
