/*
 * store_vm.c - the vms table.  A VM's shown state is derived in SQL: the
 * transitional state of its active operation if it has one, else the
 * state libvirt last reported.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "store_int.h"

/* the transitional names match op_kind_transitional() in common/types.c */
#define VM_COLS \
	"SELECT v.id, v.uuid, v.name, v.vcpus, v.memory_mib, v.disk_gib," \
	" v.host_id, h.name, v.desired_state, v.observed_state," \
	" COALESCE(CASE o.kind WHEN 'create' THEN 'creating'" \
	"  WHEN 'start' THEN 'starting' WHEN 'stop' THEN 'stopping'" \
	"  WHEN 'reboot' THEN 'rebooting' WHEN 'pause' THEN 'pausing'" \
	"  WHEN 'resume' THEN 'resuming' WHEN 'delete' THEN 'deleting'" \
	"  WHEN 'snapshot_create' THEN 'snapshotting'" \
	"  WHEN 'snapshot_revert' THEN 'reverting'" \
	"  WHEN 'snapshot_delete' THEN 'deleting-snapshot'" \
	"  WHEN 'migrate' THEN 'migrating'" \
	"  WHEN 'disk_add' THEN 'adding-disk'" \
	"  WHEN 'disk_remove' THEN 'removing-disk'" \
	"  WHEN 'disk_resize' THEN 'resizing-disk'" \
	"  WHEN 'nic_add' THEN 'adding-nic'" \
	"  WHEN 'nic_remove' THEN 'removing-nic'" \
	"  WHEN 'env_create' THEN 'creating-env'" \
	"  WHEN 'env_delete' THEN 'deleting-env'" \
	"  WHEN 'clone' THEN 'cloning'" \
	"  WHEN 'template' THEN 'templating'" \
	"  WHEN 'backup' THEN 'backing-up'" \
	"  WHEN 'restore' THEN 'restoring'" \
	"  WHEN 'resize' THEN 'resizing'" \
	"  WHEN 'vm_import' THEN 'importing'" \
	"  WHEN 'evacuate_vm' THEN 'evacuating' END," \
	"  v.observed_state) AS vm_state," \
	" o.id, v.created_at, v.updated_at, v.group_id, g.name," \
	" v.snapshot_schedule, v.snapshot_keep, v.snapshot_max_age_ms," \
	" v.snapshot_last_at, v.on_drift, v.firmware, v.machine," \
	" v.domain_type, v.clock, v.hyperv, v.provisioning, v.graphics," \
	" v.max_vcpus, v.max_memory_mib, v.backup_schedule, v.backup_keep," \
	" v.backup_max_age_ms, v.backup_full_every, v.backup_last_at" \
	" FROM vms v JOIN hosts h ON h.id = v.host_id" \
	" LEFT JOIN groups g ON g.id = v.group_id" \
	" LEFT JOIN operations o ON o.vm_id = v.id" \
	"  AND o.status IN ('queued','running') "

static void
vm_row(sqlite3_stmt *st, struct vm_rec *v)
{
	memset(v, 0, sizeof(*v));
	v->id = sqlite3_column_int64(st, 0);
	store_col_text(st, 1, v->uuid, sizeof(v->uuid));
	store_col_text(st, 2, v->name, sizeof(v->name));
	v->vcpus = sqlite3_column_int(st, 3);
	v->memory_mib = sqlite3_column_int64(st, 4);
	v->disk_gib = sqlite3_column_int64(st, 5);
	v->host_id = sqlite3_column_int64(st, 6);
	store_col_text(st, 7, v->host, sizeof(v->host));
	store_col_text(st, 8, v->desired, sizeof(v->desired));
	store_col_text(st, 9, v->observed, sizeof(v->observed));
	store_col_text(st, 10, v->state, sizeof(v->state));
	store_col_text(st, 11, v->op_id, sizeof(v->op_id));
	v->created_at = sqlite3_column_int64(st, 12);
	v->updated_at = sqlite3_column_int64(st, 13);
	v->group_id = sqlite3_column_int64(st, 14);
	store_col_text(st, 15, v->group, sizeof(v->group));
	store_col_text(st, 16, v->snapshot_schedule,
	    sizeof(v->snapshot_schedule));
	v->snapshot_keep = sqlite3_column_int(st, 17);
	v->snapshot_max_age_ms = sqlite3_column_int64(st, 18);
	v->snapshot_last_at = sqlite3_column_int64(st, 19);
	store_col_text(st, 20, v->on_drift, sizeof(v->on_drift));
	store_col_text(st, 21, v->firmware, sizeof(v->firmware));
	store_col_text(st, 22, v->machine, sizeof(v->machine));
	store_col_text(st, 23, v->domain_type, sizeof(v->domain_type));
	store_col_text(st, 24, v->clock, sizeof(v->clock));
	v->hyperv = sqlite3_column_int(st, 25) != 0;
	store_col_text(st, 26, v->provisioning, sizeof(v->provisioning));
	store_col_text(st, 27, v->graphics, sizeof(v->graphics));
	v->max_vcpus = sqlite3_column_int(st, 28);
	v->max_memory_mib = sqlite3_column_int64(st, 29);
	store_col_text(st, 30, v->backup_schedule, sizeof(v->backup_schedule));
	v->backup_keep = sqlite3_column_int(st, 31);
	v->backup_max_age_ms = sqlite3_column_int64(st, 32);
	v->backup_full_every = sqlite3_column_int(st, 33);
	v->backup_last_at = sqlite3_column_int64(st, 34);
}

int
store_vm_insert(struct store_conn *c, struct vm_rec *v,
    struct disk_rec *disks, int ndisks)
{
	static const char sql[] = "INSERT INTO vms (uuid, name, vcpus,"
	    " memory_mib, disk_gib, host_id, desired_state, observed_state,"
	    " created_at, updated_at, group_id, snapshot_schedule,"
	    " snapshot_keep, snapshot_max_age_ms, snapshot_last_at, on_drift,"
	    " firmware, machine, domain_type, clock, hyperv, provisioning,"
	    " graphics, max_vcpus, max_memory_mib, backup_schedule,"
	    " backup_keep, backup_max_age_ms, backup_full_every, backup_last_at)"
	    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?9,?10,?11,?12,?13,?9,?14,"
	    " ?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,?9)";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	v->created_at = v->updated_at = time_now_ms();
	if (ndisks > 0) {
		v->disk_gib = 0;
		for (int i = 0; i < ndisks; i++)
			v->disk_gib += disks[i].size_gib;
		if (v->disk_gib < 1)
			v->disk_gib = 1;   /* a VM claims at least 1 GiB */
	}
	sqlite3_bind_text(st, 1, v->uuid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, v->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, v->vcpus);
	sqlite3_bind_int64(st, 4, v->memory_mib);
	sqlite3_bind_int64(st, 5, v->disk_gib);
	sqlite3_bind_int64(st, 6, v->host_id);
	sqlite3_bind_text(st, 7, v->desired, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 8, v->observed, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 9, v->created_at);
	if (v->group_id)
		sqlite3_bind_int64(st, 10, v->group_id);
	sqlite3_bind_text(st, 11, v->snapshot_schedule, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 12, v->snapshot_keep);
	sqlite3_bind_int64(st, 13, v->snapshot_max_age_ms);
	sqlite3_bind_text(st, 14, v->on_drift[0] ? v->on_drift : "record", -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 15, v->firmware[0] ? v->firmware : "bios", -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 16, v->machine[0] ? v->machine : "pc", -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 17, v->domain_type, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 18, v->clock[0] ? v->clock : "utc", -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 19, v->hyperv ? 1 : 0);
	sqlite3_bind_text(st, 20, v->provisioning, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 21, v->graphics[0] ? v->graphics : "none", -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 22, v->max_vcpus);
	sqlite3_bind_int64(st, 23, v->max_memory_mib);
	sqlite3_bind_text(st, 24, v->backup_schedule, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 25, v->backup_keep);
	sqlite3_bind_int64(st, 26, v->backup_max_age_ms);
	sqlite3_bind_int(st, 27, v->backup_full_every > 0 ?
	    v->backup_full_every : BACKUP_FULL_EVERY_DEFAULT);
	if (store_exec_stmt(c, st, "insert vm") < 0) {
		if (store_unique_broken(c, "vms.name"))
			err_set_field(ERR_CONFLICT, "name",
			    "a vm named '%s' already exists", v->name);
		else if (store_fk_broken(c))
			err_set(ERR_CONFLICT, "the host or group chosen for vm "
			    "'%s' was removed meanwhile; try again", v->name);
		return -1;
	}
	v->id = sqlite3_last_insert_rowid(c->db);
	for (int i = 0; i < ndisks; i++)
		if (store_disk_row(c, v->id, &disks[i]) < 0)
			return -1;
	return 0;
}

static int
vm_get_one(struct store_conn *c, sqlite3_stmt *st, const char *what,
    struct vm_rec *out)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW) {
		vm_row(st, out);
		sqlite3_reset(st);
		return 0;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "get vm");
	return err_set(ERR_NOT_FOUND, "vm '%s' not found", what);
}

int
store_vm_get(struct store_conn *c, const char *id_or_name, struct vm_rec *out)
{
	static const char sql[] = VM_COLS "WHERE v.uuid = ?1 OR v.name = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, id_or_name, -1, SQLITE_TRANSIENT);
	return vm_get_one(c, st, id_or_name, out);
}

int
store_vm_get_id(struct store_conn *c, int64_t id, struct vm_rec *out)
{
	static const char sql[] = VM_COLS "WHERE v.id = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	char what[32];

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	snprintf(what, sizeof(what), "#%lld", (long long)id);
	return vm_get_one(c, st, what, out);
}

/* The event type for a change of observed state. */
static const char *
vm_event_type(const char *from, const char *to)
{
	if (strcmp(from, "unknown") == 0)
		return "vm.state";          /* seen again, whatever it is */
	if (strcmp(to, "running") == 0)
		return strcmp(from, "paused") == 0 ? "vm.resumed" :
		    "vm.started";
	if (strcmp(to, "paused") == 0)
		return "vm.paused";
	if (strcmp(to, "stopped") == 0)
		return "vm.stopped";
	if (strcmp(to, "crashed") == 0)
		return "vm.crashed";
	return "vm.unknown";
}

/* The observed state of row id into out ("" when there is no row). */
static int
vm_observed(struct store_conn *c, int64_t id, char *out, size_t len)
{
	static const char sql[] = "SELECT observed_state FROM vms WHERE id=?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	out[0] = '\0';
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		store_col_text(st, 0, out, len);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(c, rc, "read vm state");
	return 0;
}

/* After an update of the observed state: the event, if it changed. */
static int
vm_state_event(struct store_conn *c, int64_t id, const char *from,
    const char *to, const char *op_id)
{
	json_t *d;
	int r;

	if (sqlite3_changes(c->db) == 0 || from[0] == '\0')
		return 0;
	d = json_pack("{s:s, s:s}", "state", to, "previous", from);
	r = store_event_vm(c, id, vm_event_type(from, to), op_id, d);
	json_decref(d);
	return r;
}

static int
vm_set(struct store_conn *c, const char *sql, int64_t id, const char *state)
{
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, time_now_ms());
	if (store_exec_stmt(c, st, "update vm") < 0)
		return -1;
	return 0;
}

int
store_vm_set_observed(struct store_conn *c, int64_t id, const char *state,
    const char *op_id)
{
	static const char sql[] = "UPDATE vms SET observed_state=?2,"
	    " updated_at=MAX(?3, updated_at + 1)"
	    " WHERE id=?1 AND observed_state<>?2";
	char from[16];

	if (vm_observed(c, id, from, sizeof(from)) < 0 ||
	    vm_set(c, sql, id, state) < 0)
		return -1;
	return vm_state_event(c, id, from, state, op_id);
}

int
store_vm_observe(struct store_conn *c, int64_t id, const char *state,
    int64_t seen_updated_at)
{
	static const char sql[] = "UPDATE vms SET observed_state=?2,"
	    " updated_at=MAX(?3, updated_at + 1) WHERE id=?1"
	    " AND observed_state<>?2 AND updated_at=?4"
	    " AND NOT EXISTS (SELECT 1 FROM operations o"
	    "  WHERE o.vm_id=?1 AND o.status IN ('queued','running'))";
	sqlite3_stmt *st;
	char from[16];

	if (vm_observed(c, id, from, sizeof(from)) < 0)
		return -1;
	if ((st = store_stmt(c, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, time_now_ms());
	sqlite3_bind_int64(st, 4, seen_updated_at);
	if (store_exec_stmt(c, st, "observe vm") < 0)
		return -1;
	return vm_state_event(c, id, from, state, NULL);
}

int
store_vm_set_desired(struct store_conn *c, int64_t id, const char *state)
{
	static const char sql[] = "UPDATE vms SET desired_state=?2,"
	    " updated_at=MAX(?3, updated_at + 1) WHERE id=?1";

	return vm_set(c, sql, id, state);
}

int
store_vm_set_host(struct store_conn *c, int64_t id, int64_t host_id,
    const char *op_id)
{
	static const char from_sql[] = "SELECT h.name FROM vms v"
	    " JOIN hosts h ON h.id = v.host_id WHERE v.id = ?1";
	static const char sql[] = "UPDATE vms SET host_id=?2,"
	    " updated_at=MAX(?3, updated_at + 1) WHERE id=?1";
	sqlite3_stmt *st = store_stmt(c, from_sql);
	char from[NAME_MAX_LEN] = "";
	json_t *d;
	int r;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((r = sqlite3_step(st)) == SQLITE_ROW)
		store_col_text(st, 0, from, sizeof(from));
	sqlite3_reset(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return store_fail(c, r, "get vm host");
	if ((st = store_stmt(c, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, host_id);
	sqlite3_bind_int64(st, 3, time_now_ms());
	if (store_exec_stmt(c, st, "move vm") < 0 || store_changed(c, "vm") < 0)
		return -1;
	d = json_pack("{s:s}", "from", from);
	r = store_event_vm(c, id, "vm.migrated", op_id, d);
	json_decref(d);
	return r;
}

int
store_vm_set_schedule(struct store_conn *c, const struct vm_rec *v)
{
	/* a new schedule counts from now (SET sees the old row) */
	static const char sql[] = "UPDATE vms SET snapshot_schedule=?2,"
	    " snapshot_keep=?3, snapshot_max_age_ms=?4,"
	    " snapshot_last_at=CASE WHEN snapshot_schedule<>?2 THEN ?5"
	    "  ELSE snapshot_last_at END, on_drift=?6,"
	    " updated_at=MAX(?5, updated_at + 1) WHERE id=?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	json_t *d;
	int r;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, v->id);
	sqlite3_bind_text(st, 2, v->snapshot_schedule, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, v->snapshot_keep);
	sqlite3_bind_int64(st, 4, v->snapshot_max_age_ms);
	sqlite3_bind_int64(st, 5, time_now_ms());
	sqlite3_bind_text(st, 6, v->on_drift[0] ? v->on_drift : "record", -1,
	    SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "update vm") < 0 ||
	    store_changed(c, "vm") < 0)
		return -1;
	d = json_pack("{s:s, s:i, s:I, s:s}", "snapshot_schedule",
	    v->snapshot_schedule, "snapshot_keep", v->snapshot_keep,
	    "snapshot_max_age_ms", (json_int_t)v->snapshot_max_age_ms,
	    "on_drift", v->on_drift[0] ? v->on_drift : "record");
	r = store_event_vm(c, v->id, "vm.updated", NULL, d);
	json_decref(d);
	return r;
}

int
store_vm_set_backup_schedule(struct store_conn *c, const struct vm_rec *v)
{
	/* as store_vm_set_schedule: a new schedule counts from now */
	static const char sql[] = "UPDATE vms SET backup_schedule=?2,"
	    " backup_keep=?3, backup_max_age_ms=?4, backup_full_every=?5,"
	    " backup_last_at=CASE WHEN backup_schedule<>?2 THEN ?6"
	    "  ELSE backup_last_at END,"
	    " updated_at=MAX(?6, updated_at + 1) WHERE id=?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	json_t *d;
	int r;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, v->id);
	sqlite3_bind_text(st, 2, v->backup_schedule, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, v->backup_keep);
	sqlite3_bind_int64(st, 4, v->backup_max_age_ms);
	sqlite3_bind_int(st, 5, v->backup_full_every);
	sqlite3_bind_int64(st, 6, time_now_ms());
	if (store_exec_stmt(c, st, "update vm") < 0 ||
	    store_changed(c, "vm") < 0)
		return -1;
	d = json_pack("{s:s, s:i, s:I, s:i}", "backup_schedule",
	    v->backup_schedule, "backup_keep", v->backup_keep,
	    "backup_max_age_ms", (json_int_t)v->backup_max_age_ms,
	    "backup_full_every", v->backup_full_every);
	r = store_event_vm(c, v->id, "vm.updated", NULL, d);
	json_decref(d);
	return r;
}

int
store_vm_set_size(struct store_conn *c, int64_t id, int vcpus,
    int64_t memory_mib)
{
	static const char sql[] = "UPDATE vms SET vcpus=?2, memory_mib=?3,"
	    " updated_at=MAX(?4, updated_at + 1) WHERE id=?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	json_t *d;
	int r;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, vcpus);
	sqlite3_bind_int64(st, 3, memory_mib);
	sqlite3_bind_int64(st, 4, time_now_ms());
	if (store_exec_stmt(c, st, "resize vm") < 0 ||
	    store_changed(c, "vm") < 0)
		return -1;
	d = json_pack("{s:i, s:I}", "vcpus", vcpus, "memory_mib",
	    (json_int_t)memory_mib);
	r = store_event_vm(c, id, "vm.resized", NULL, d);
	json_decref(d);
	return r;
}

int
store_vm_schedule_ran(struct store_conn *c, int64_t id, int64_t at_ms)
{
	static const char sql[] = "UPDATE vms SET snapshot_last_at=?2"
	    " WHERE id=?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, at_ms);
	return store_exec_stmt(c, st, "update vm");
}

int
store_vm_backup_ran(struct store_conn *c, int64_t id, int64_t at_ms)
{
	static const char sql[] = "UPDATE vms SET backup_last_at=?2"
	    " WHERE id=?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, at_ms);
	return store_exec_stmt(c, st, "update vm");
}

int
store_vm_delete(struct store_conn *c, int64_t id, const char *op_id)
{
	static const char sql[] = "DELETE FROM vms WHERE id=?1";
	sqlite3_stmt *st;

	if (store_event_vm(c, id, "vm.deleted", op_id, NULL) < 0 ||
	    (st = store_stmt(c, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (store_exec_stmt(c, st, "delete vm") < 0)
		return -1;
	return store_changed(c, "vm");
}

/* Call fn on each row of st; fn's -1 (with its error) stops and is
 * returned, any other non-zero just stops. */
static int
vm_each(struct store_conn *c, sqlite3_stmt *st, store_vm_fn fn, void *arg,
    const char *what)
{
	struct vm_rec v;
	int rc, r = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		vm_row(st, &v);
		if ((r = fn(&v, arg)) != 0)
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
store_vm_each(struct store_conn *c, const char *host, const char *state,
    store_vm_fn fn, void *arg)
{
	/* SQLite lets WHERE name the derived "vm_state" column. */
	static const char sql[] = VM_COLS
	    "WHERE (?1 IS NULL OR h.name = ?1) AND (?2 IS NULL OR vm_state = ?2)"
	    " ORDER BY v.name";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	store_bind_text(st, 1, host);
	store_bind_text(st, 2, state);
	return vm_each(c, st, fn, arg, "list vms");
}

int
store_vm_each_scheduled(struct store_conn *c, store_vm_fn fn, void *arg)
{
	static const char sql[] = VM_COLS "WHERE v.snapshot_schedule <> ''"
	    " OR v.snapshot_keep > 0 OR v.snapshot_max_age_ms > 0"
	    " ORDER BY v.id";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	return vm_each(c, st, fn, arg, "list scheduled vms");
}

int
store_vm_each_backup_scheduled(struct store_conn *c, store_vm_fn fn,
    void *arg)
{
	static const char sql[] = VM_COLS "WHERE v.backup_schedule <> ''"
	    " OR v.backup_keep > 0 OR v.backup_max_age_ms > 0"
	    " ORDER BY v.id";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	return vm_each(c, st, fn, arg, "list vms with backup schedules");
}

int
store_vm_each_provisioning(struct store_conn *c, store_vm_fn fn, void *arg)
{
	static const char sql[] = VM_COLS "WHERE v.provisioning IN"
	    " ('pending','running') AND v.observed_state = 'running'"
	    " ORDER BY v.id";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	return vm_each(c, st, fn, arg, "list provisioning vms");
}

int
store_vm_set_provisioning(struct store_conn *c, int64_t id,
    const char *state)
{
	static const char sql[] = "UPDATE vms SET provisioning=?2,"
	    " updated_at=MAX(?3, updated_at + 1)"
	    " WHERE id=?1 AND provisioning<>?2";
	sqlite3_stmt *st = store_stmt(c, sql);
	json_t *d;
	int r;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, time_now_ms());
	if (store_exec_stmt(c, st, "set provisioning") < 0)
		return -1;
	if (sqlite3_changes(c->db) == 0 ||
	    (strcmp(state, "done") != 0 && strcmp(state, "error") != 0))
		return 0;
	d = json_pack("{s:s}", "provisioning", state);
	r = store_event_vm(c, id, "vm.provisioned", NULL, d);
	json_decref(d);
	return r;
}

int
store_vm_each_in_group(struct store_conn *c, int64_t group_id,
    store_vm_fn fn, void *arg)
{
	static const char sql[] = VM_COLS "WHERE v.group_id = ?1 ORDER BY v.name";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, group_id);
	return vm_each(c, st, fn, arg, "list group vms");
}
