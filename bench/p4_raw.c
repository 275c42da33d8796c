/*
 * p4_raw.c - the peer of issue 7's P4: how many VM creates per second
 * SQLite itself can make durable on this machine, with hangard's schema
 * and settings, and no daemon in between.
 *
 *   p4_raw DB N MODE
 *
 * DB is a new file: hangard's own schema is made in it by store_open()
 * (the migrations of src/store/store.c), then it is reopened with plain
 * SQLite and the same settings hangard's writer uses (journal_mode=WAL,
 * synchronous=FULL, foreign_keys=ON).  One host row is inserted, then N
 * creates are made by a plain C loop, one after another, with statements
 * prepared once.  MODE says what one create writes:
 *
 *   accept   one transaction: the vms row, the operations row (queued)
 *            and its operation.queued event - what hangard commits before
 *            it answers 201 to POST /v1/vms
 *   full     one transaction: the vms row, the operations row as it ends
 *            (succeeded) and the six events a create leaves
 *            (operation.queued, operation.running, two operation.progress,
 *            vm.created, operation.succeeded) - the same rows as a whole
 *            create through hangard, in one commit
 *   split    the rows of `full` in the five transactions hangard commits
 *            them in (accept; running; step "creating disk"; step
 *            "defining domain"; close: vm.created + succeeded)
 *
 * Prints one line: mode=MODE n=N secs=S creates_per_s=R tx_per_create=T
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"

static sqlite3 *db;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
check(int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		fprintf(stderr, "p4_raw: %s: %s\n", what, sqlite3_errmsg(db));
		exit(1);
	}
}

static void
exec(const char *sql)
{
	check(sqlite3_exec(db, sql, NULL, NULL, NULL), sql);
}

static sqlite3_stmt *
prep(const char *sql)
{
	sqlite3_stmt *st;

	check(sqlite3_prepare_v2(db, sql, -1, &st, NULL), sql);
	return st;
}

static void
run(sqlite3_stmt *st, const char *what)
{
	check(sqlite3_step(st), what);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static sqlite3_stmt *s_vm, *s_op, *s_ev_op, *s_ev_vm, *s_running, *s_step,
    *s_finish, *s_op_full;

static void
event_op(const char *op_id, const char *type, const char *data)
{
	sqlite3_bind_int64(s_ev_op, 1, now_ms());
	sqlite3_bind_text(s_ev_op, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(s_ev_op, 3, data, -1, SQLITE_STATIC);
	sqlite3_bind_text(s_ev_op, 4, op_id, -1, SQLITE_STATIC);
	run(s_ev_op, "insert event");
}

static void
event_vm(int64_t vm_id, const char *op_id, const char *type)
{
	sqlite3_bind_int64(s_ev_vm, 1, now_ms());
	sqlite3_bind_text(s_ev_vm, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_text(s_ev_vm, 3, op_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s_ev_vm, 4, "{}", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s_ev_vm, 5, vm_id);
	run(s_ev_vm, "insert vm event");
}

static int64_t
insert_vm(long i)
{
	char uuid[64], name[32];
	int64_t t = now_ms();

	snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012ld", i);
	snprintf(name, sizeof(name), "raw-%ld", i);
	sqlite3_bind_text(s_vm, 1, uuid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s_vm, 2, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s_vm, 3, 1);
	sqlite3_bind_int64(s_vm, 4, 64);
	sqlite3_bind_int64(s_vm, 5, 1);
	sqlite3_bind_int64(s_vm, 6, 1);
	sqlite3_bind_text(s_vm, 7, "stopped", -1, SQLITE_STATIC);
	sqlite3_bind_text(s_vm, 8, "stopped", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s_vm, 9, t);
	sqlite3_bind_text(s_vm, 11, "", -1, SQLITE_STATIC);
	sqlite3_bind_int(s_vm, 12, 0);
	sqlite3_bind_int64(s_vm, 13, 0);
	run(s_vm, "insert vm");
	return sqlite3_last_insert_rowid(db);
}

static void
insert_op(sqlite3_stmt *st, const char *op_id, int64_t vm_id, long i)
{
	char uuid[64], name[32];

	snprintf(uuid, sizeof(uuid), "00000000-0000-4000-8000-%012ld", i);
	snprintf(name, sizeof(name), "raw-%ld", i);
	sqlite3_bind_text(st, 1, op_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, "create", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, vm_id);
	sqlite3_bind_text(st, 4, uuid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, "{\"start\":false}", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, now_ms());
	/* ?10, host_id, stays NULL: only host-level operations name one */
	run(st, "insert operation");
}

static void
set_step(const char *op_id, const char *step, const char *data)
{
	sqlite3_bind_text(s_step, 1, op_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s_step, 2, step, -1, SQLITE_STATIC);
	run(s_step, "set step");
	event_op(op_id, "operation.progress", data);
}

static void
create_accept(long i, const char *op_id)
{
	exec("BEGIN IMMEDIATE");
	insert_op(s_op, op_id, insert_vm(i), i);
	event_op(op_id, "operation.queued", "{\"kind\":\"create\"}");
	exec("COMMIT");
}

static void
create_full(long i, const char *op_id)
{
	int64_t vm;

	exec("BEGIN IMMEDIATE");
	vm = insert_vm(i);
	insert_op(s_op_full, op_id, vm, i);
	event_op(op_id, "operation.queued", "{\"kind\":\"create\"}");
	event_op(op_id, "operation.running", "{\"kind\":\"create\"}");
	event_op(op_id, "operation.progress",
	    "{\"kind\":\"create\",\"step\":\"creating disk\"}");
	event_op(op_id, "operation.progress",
	    "{\"kind\":\"create\",\"step\":\"defining domain\"}");
	event_vm(vm, op_id, "vm.created");
	event_op(op_id, "operation.succeeded", "{\"kind\":\"create\"}");
	exec("COMMIT");
}

static void
create_split(long i, const char *op_id)
{
	int64_t vm;

	exec("BEGIN IMMEDIATE");
	vm = insert_vm(i);
	insert_op(s_op, op_id, vm, i);
	event_op(op_id, "operation.queued", "{\"kind\":\"create\"}");
	exec("COMMIT");

	exec("BEGIN IMMEDIATE");
	sqlite3_bind_text(s_running, 1, op_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s_running, 2, now_ms());
	run(s_running, "set running");
	event_op(op_id, "operation.running", "{\"kind\":\"create\"}");
	exec("COMMIT");

	exec("BEGIN IMMEDIATE");
	set_step(op_id, "creating disk",
	    "{\"kind\":\"create\",\"step\":\"creating disk\"}");
	exec("COMMIT");

	exec("BEGIN IMMEDIATE");
	set_step(op_id, "defining domain",
	    "{\"kind\":\"create\",\"step\":\"defining domain\"}");
	exec("COMMIT");

	exec("BEGIN IMMEDIATE");
	event_vm(vm, op_id, "vm.created");
	sqlite3_bind_text(s_finish, 1, op_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s_finish, 2, now_ms());
	run(s_finish, "finish");
	event_op(op_id, "operation.succeeded", "{\"kind\":\"create\"}");
	exec("COMMIT");
}

int
main(int argc, char **argv)
{
	struct store *s;
	long n;
	const char *mode;
	double t0, t1;
	int tx;

	if (argc != 4) {
		fprintf(stderr, "usage: p4_raw DB N accept|full|split\n");
		return 2;
	}
	n = atol(argv[2]);
	mode = argv[3];
	if (strcmp(mode, "accept") && strcmp(mode, "full") &&
	    strcmp(mode, "split")) {
		fprintf(stderr, "p4_raw: unknown mode '%s'\n", mode);
		return 2;
	}
	for (int i = 0; i < 3; i++) {
		char p[4096];

		snprintf(p, sizeof(p), "%s%s", argv[1],
		    i == 0 ? "" : i == 1 ? "-wal" : "-shm");
		unlink(p);
	}
	/* hangard's schema, made by hangard's own code */
	if ((s = store_open(argv[1])) == NULL) {
		fprintf(stderr, "p4_raw: cannot make the schema in %s\n",
		    argv[1]);
		return 1;
	}
	store_close(s);

	check(sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL), "open");
	exec("PRAGMA journal_mode = WAL;");
	exec("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;");
	exec("INSERT INTO hosts (name, uri, state, created_at, updated_at)"
	    " VALUES ('local', 'test:///default', 'ready', 0, 0)");

	/* the statements hangard's store runs (src/store/store_*.c) */
	s_vm = prep("INSERT INTO vms (uuid, name, vcpus,"
	    " memory_mib, disk_gib, host_id, desired_state, observed_state,"
	    " created_at, updated_at, group_id, snapshot_schedule,"
	    " snapshot_keep, snapshot_max_age_ms, snapshot_last_at)"
	    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?9,?10,?11,?12,?13,?9)");
	s_op = prep("INSERT INTO operations (id, kind, vm_id,"
	    " vm_uuid, vm_name, status, params, created_at, idem_key,"
	    " parent_id, host_id)"
	    " VALUES (?1,?2,?3,?4,?5,'queued',?6,?7,?8,?9,?10)");
	s_op_full = prep("INSERT INTO operations (id, kind, vm_id,"
	    " vm_uuid, vm_name, status, params, created_at, idem_key,"
	    " parent_id, host_id, started_at, finished_at, step)"
	    " VALUES (?1,?2,?3,?4,?5,'succeeded',?6,?7,?8,?9,?10,?7,?7,"
	    " 'defining domain')");
	s_ev_op = prep("INSERT INTO events (ts, type, vm_uuid,"
	    " vm_name, host, op_id, data)"
	    " SELECT ?1, ?2, o.vm_uuid, o.vm_name,"
	    "  (SELECT h.name FROM vms v JOIN hosts h ON h.id = v.host_id"
	    "   WHERE v.id = o.vm_id), o.id, ?3"
	    " FROM operations o WHERE o.id = ?4");
	s_ev_vm = prep("INSERT INTO events (ts, type, vm_uuid,"
	    " vm_name, host, op_id, data)"
	    " SELECT ?1, ?2, v.uuid, v.name, h.name, ?3, ?4"
	    " FROM vms v JOIN hosts h ON h.id = v.host_id WHERE v.id = ?5");
	s_running = prep("UPDATE operations SET status='running',"
	    " started_at=?2 WHERE id=?1 AND status='queued'");
	s_step = prep("UPDATE operations SET step=?2"
	    " WHERE id=?1 AND step<>?2");
	s_finish = prep("UPDATE operations SET status='succeeded',"
	    " finished_at=?2, started_at=COALESCE(started_at, ?2)"
	    " WHERE id=?1 AND status IN ('queued','running')");

	t0 = now_s();
	for (long i = 0; i < n; i++) {
		char op_id[64];

		snprintf(op_id, sizeof(op_id),
		    "00000000-0000-4000-9000-%012ld", i);
		if (mode[0] == 'a')
			create_accept(i, op_id);
		else if (mode[0] == 'f')
			create_full(i, op_id);
		else
			create_split(i, op_id);
	}
	t1 = now_s();
	tx = mode[0] == 's' ? 5 : 1;
	printf("mode=%s n=%ld secs=%.3f creates_per_s=%.1f tx_per_create=%d\n",
	    mode, n, t1 - t0, n / (t1 - t0), tx);
	sqlite3_finalize(s_vm);
	sqlite3_finalize(s_op);
	sqlite3_finalize(s_op_full);
	sqlite3_finalize(s_ev_op);
	sqlite3_finalize(s_ev_vm);
	sqlite3_finalize(s_running);
	sqlite3_finalize(s_step);
	sqlite3_finalize(s_finish);
	sqlite3_close(db);
	return 0;
}
