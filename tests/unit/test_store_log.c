/*
 * test_store_log.c - unit tests of what schema version 3 added to store/:
 * the events log (appended by the store functions in the transaction that
 * makes the change, the commit wake-up, pruning, ids that are never
 * reused), Idempotency-Key records, snapshots and their tree, snapshot
 * schedules on VMs, pruning finished operations, the snapshot operations'
 * transitional state names, and migration 3 itself.
 *
 * Each test gets a fresh database in its own mkdtemp() directory, removed
 * afterwards.  Rows are aged, and the schema is checked, with sqlite3
 * directly, behind the store's back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "common/error.h"
#include "common/types.h"
#include "store/store.h"

struct fx {
	char dir[256];
	char path[300];
	struct store *s;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/hangar-store-log-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/hangar.db", f->dir);
	if ((f->s = store_open(f->path)) == NULL) {
		print_error("store_open: %s\n", err_last()->msg);
		rmdir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static void
remove_db(const char *path)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char p[320];

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	remove_db(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- sqlite3 behind the store's back --- */

static int64_t
sql_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("prepare '%s': %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The first column of the first row as text ("" for none or NULL). */
static const char *
sql_text(const char *path, const char *sql, char *buf, size_t len)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	buf[0] = '\0';
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("prepare '%s': %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st,
		    0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return buf;
}

static void
sql_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("exec '%s': %s", sql, msg ? msg : "?");
	sqlite3_close(db);
}

/* "a,b,c": a table's columns, in order. */
static const char *
sql_columns(const char *path, const char *table, char *buf, size_t len)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT group_concat(name, ',') FROM"
	    " (SELECT name FROM pragma_table_info('%s') ORDER BY cid)", table);
	return sql_text(path, sql, buf, len);
}

/* --- JSON --- */

/* text is exactly the JSON value want (key order does not matter). */
static void
assert_json(const char *text, const char *want)
{
	json_error_t je;
	json_t *a = json_loads(text, 0, &je), *b;

	if (a == NULL)
		fail_msg("not JSON: '%s': %s", text, je.text);
	b = json_loads(want, 0, &je);
	if (b == NULL)
		fail_msg("expected value is not JSON: '%s'", want);
	if (!json_equal(a, b)) {
		json_decref(a);
		json_decref(b);
		fail_msg("JSON '%s' is not '%s'", text, want);
	}
	json_decref(a);
	json_decref(b);
}

/* --- transactions used by the tests --- */

static int
tx_host_insert(struct store_conn *c, void *arg)
{
	return store_host_insert(c, arg);
}

static int
tx_host_settings(struct store_conn *c, void *arg)
{
	return store_host_update_settings(c, arg);
}

static int
tx_host_delete(struct store_conn *c, void *arg)
{
	return store_host_delete(c, *(int64_t *)arg);
}

struct host_state_arg {
	int64_t id;
	char state[16];
};

static int
tx_host_state(struct store_conn *c, void *arg)
{
	struct host_state_arg *a = arg;

	return store_host_set_state(c, a->id, a->state);
}

static int
tx_vm_insert(struct store_conn *c, void *arg)
{
	return store_vm_insert(c, arg, NULL, 0);
}

struct vm_delete_arg {
	int64_t id;
	char op_id[UUID_STR_LEN];
};

static int
tx_vm_delete(struct store_conn *c, void *arg)
{
	struct vm_delete_arg *a = arg;

	return store_vm_delete(c, a->id, a->op_id[0] ? a->op_id : NULL);
}

static int
tx_op_insert(struct store_conn *c, void *arg)
{
	return store_op_insert(c, arg);
}

static int
tx_op_running(struct store_conn *c, void *arg)
{
	return store_op_set_running(c, arg);
}

static int
tx_op_cancel(struct store_conn *c, void *arg)
{
	return store_op_cancel_queued(c, arg);
}

struct step_arg {
	char id[UUID_STR_LEN];
	char step[128];
};

static int
tx_op_step(struct store_conn *c, void *arg)
{
	struct step_arg *a = arg;

	return store_op_set_step(c, a->id, a->step);
}

struct finish_arg {
	const char *id;
	enum op_status status;
	const struct err *e;
};

static int
tx_op_finish(struct store_conn *c, void *arg)
{
	struct finish_arg *a = arg;

	return store_op_finish(c, a->id, a->status, a->e);
}

struct prune_arg {
	int64_t before;
	int64_t pruned;
};

static int
tx_op_prune(struct store_conn *c, void *arg)
{
	struct prune_arg *a = arg;

	return store_op_prune(c, a->before, &a->pruned);
}

static int
tx_event_prune(struct store_conn *c, void *arg)
{
	struct prune_arg *a = arg;

	return store_event_prune(c, a->before, &a->pruned);
}

static int
tx_idem_prune(struct store_conn *c, void *arg)
{
	struct prune_arg *a = arg;

	return store_idem_prune(c, a->before, &a->pruned);
}

struct observed_arg {
	int64_t id;
	const char *state;
	const char *op_id;       /* set_observed */
	int64_t seen;            /* observe */
};

static int
tx_set_observed(struct store_conn *c, void *arg)
{
	struct observed_arg *a = arg;

	return store_vm_set_observed(c, a->id, a->state, a->op_id);
}

static int
tx_observe(struct store_conn *c, void *arg)
{
	struct observed_arg *a = arg;

	return store_vm_observe(c, a->id, a->state, a->seen);
}

static int
tx_vm_schedule(struct store_conn *c, void *arg)
{
	return store_vm_set_schedule(c, arg);
}

struct ran_arg {
	int64_t id;
	int64_t at;
};

static int
tx_vm_schedule_ran(struct store_conn *c, void *arg)
{
	struct ran_arg *a = arg;

	return store_vm_schedule_ran(c, a->id, a->at);
}

/* --- helpers --- */

static int64_t
add_host(struct fx *f, const char *name)
{
	struct host_rec h;

	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "%s", name);
	snprintf(h.uri, sizeof(h.uri), "test:///%s", name);
	snprintf(h.arch, sizeof(h.arch), "x86_64");
	snprintf(h.domain_type, sizeof(h.domain_type), "kvm");
	h.cpus = 8;
	h.memory_mib = 32768;
	if (store_tx(f->s, tx_host_insert, &h) != 0)
		fail_msg("insert host '%s': %s", name, err_last()->msg);
	assert_true(h.id > 0);
	return h.id;
}

static void
vm_init(struct vm_rec *v, const char *name, int64_t host_id,
    const char *observed)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->uuid, sizeof(v->uuid), "uuid-%s", name);
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->vcpus = 1;
	v->memory_mib = 64;
	v->disk_gib = 1;
	v->host_id = host_id;
	snprintf(v->desired, sizeof(v->desired), "%s", observed);
	snprintf(v->observed, sizeof(v->observed), "%s", observed);
}

static struct vm_rec
add_vm(struct fx *f, const char *name, int64_t host_id, const char *observed)
{
	struct vm_rec v;

	vm_init(&v, name, host_id, observed);
	if (store_tx(f->s, tx_vm_insert, &v) != 0)
		fail_msg("insert vm '%s': %s", name, err_last()->msg);
	assert_true(v.id > 0);
	return v;
}

static void
op_init(struct op_rec *o, const char *id, enum op_kind kind,
    const struct vm_rec *v)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->id, sizeof(o->id), "%s", id);
	o->kind = kind;
	o->vm_id = v->id;
	snprintf(o->vm_uuid, sizeof(o->vm_uuid), "%s", v->uuid);
	snprintf(o->vm_name, sizeof(o->vm_name), "%s", v->name);
}

static int
add_op(struct fx *f, const char *id, enum op_kind kind,
    const struct vm_rec *v)
{
	struct op_rec o;

	op_init(&o, id, kind, v);
	return store_tx(f->s, tx_op_insert, &o);
}

static int
op_running(struct fx *f, const char *id)
{
	char buf[UUID_STR_LEN];

	snprintf(buf, sizeof(buf), "%s", id);
	return store_tx(f->s, tx_op_running, buf);
}

static int
op_cancel(struct fx *f, const char *id)
{
	char buf[UUID_STR_LEN];

	snprintf(buf, sizeof(buf), "%s", id);
	return store_tx(f->s, tx_op_cancel, buf);
}

static int
op_step(struct fx *f, const char *id, const char *step)
{
	struct step_arg a;

	snprintf(a.id, sizeof(a.id), "%s", id);
	snprintf(a.step, sizeof(a.step), "%s", step);
	return store_tx(f->s, tx_op_step, &a);
}

static int
finish_op(struct fx *f, const char *id, enum op_status status,
    const struct err *e)
{
	struct finish_arg a = { id, status, e };

	return store_tx(f->s, tx_op_finish, &a);
}

static int
get_vm(struct fx *f, const char *id_or_name, struct vm_rec *out)
{
	struct store_conn *c = store_read_begin(f->s);
	int rc = store_vm_get(c, id_or_name, out);

	store_read_end(c);
	return rc;
}

static int
get_op(struct fx *f, const char *id, struct op_rec *out)
{
	struct store_conn *c = store_read_begin(f->s);
	int rc = store_op_get(c, id, out);

	store_read_end(c);
	return rc;
}

static int
set_observed(struct fx *f, int64_t id, const char *state, const char *op_id)
{
	struct observed_arg a = { id, state, op_id, 0 };

	return store_tx(f->s, tx_set_observed, &a);
}

static int
observe(struct fx *f, int64_t id, const char *state, int64_t seen)
{
	struct observed_arg a = { id, state, NULL, seen };

	return store_tx(f->s, tx_observe, &a);
}

/* --- reading the log --- */

#define EVS_CAP 160

struct evs {
	struct event_rec e[EVS_CAP];
	int n;                   /* all seen, even past EVS_CAP */
	int stop_after;          /* 0: never */
};

static int
collect_event(const struct event_rec *e, void *arg)
{
	struct evs *ev = arg;

	if (ev->n < EVS_CAP)
		ev->e[ev->n] = *e;
	ev->n++;
	return ev->stop_after && ev->n >= ev->stop_after;
}

/* store_event_each(after, limit) into a new list (free it). */
static struct evs *
events_after(struct fx *f, int64_t after, int limit)
{
	struct evs *ev = calloc(1, sizeof(*ev));
	struct store_conn *c;

	assert_non_null(ev);
	c = store_read_begin(f->s);
	if (store_event_each(c, after, limit, collect_event, ev) != 0)
		fail_msg("store_event_each: %s", err_last()->msg);
	store_read_end(c);
	return ev;
}

/* "a,b,c": the types of the events after id after. */
static const char *
types_after(struct fx *f, int64_t after, char *buf, size_t len)
{
	struct evs *ev = events_after(f, after, 1000);
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < ev->n && i < EVS_CAP && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? "," : "", ev->e[i].type);
	free(ev);
	return buf;
}

/*
 * Exactly one event was committed after mark, of type type: copy it out.
 * It is the newest, and store_event_last() says so.
 */
static void
expect_one(struct fx *f, int64_t mark, const char *type,
    struct event_rec *out)
{
	struct evs *ev = events_after(f, mark, 1000);

	if (ev->n != 1) {
		char buf[1024];

		free(ev);
		fail_msg("expected one event '%s' after #%lld, got: '%s'",
		    type, (long long)mark, types_after(f, mark, buf,
		    sizeof(buf)));
	}
	*out = ev->e[0];
	free(ev);
	assert_string_equal(out->type, type);
	assert_true(out->id > mark);
	assert_int_equal(store_event_last(f->s), out->id);
	assert_int_equal(sql_int(f->path, "SELECT MAX(id) FROM events"),
	    out->id);
}

/* Nothing was appended after mark. */
static void
expect_none(struct fx *f, int64_t mark)
{
	char buf[1024];

	assert_string_equal(types_after(f, mark, buf, sizeof(buf)), "");
	assert_int_equal(store_event_last(f->s), mark);
	assert_int_equal(sql_int(f->path, "SELECT COALESCE(MAX(id), 0) FROM"
	    " events"), mark);
}

/* The fields that name what an event is about. */
static void
expect_about(const struct event_rec *e, const char *vm_uuid,
    const char *vm_name, const char *host, const char *op_id)
{
	assert_string_equal(e->vm_uuid, vm_uuid);
	assert_string_equal(e->vm_name, vm_name);
	assert_string_equal(e->host, host);
	assert_string_equal(e->op_id, op_id);
}

/* --- events: hosts --- */

static void
test_host_events(void **state)
{
	struct fx *f = *state;
	struct event_rec e;
	struct host_state_arg sa;
	struct host_rec h;
	int64_t before, mark, busy, idle, missing = 4242;

	/* a fresh database has no events */
	assert_int_equal(store_event_last(f->s), 0);
	expect_none(f, 0);

	before = time_now_ms();
	busy = add_host(f, "busy");
	expect_one(f, 0, "host.added", &e);
	expect_about(&e, "", "", "busy", "");
	assert_json(e.data, "{}");
	assert_true(e.ts >= before && e.ts <= time_now_ms());

	/* a change of state, and none when it does not change */
	mark = e.id;
	sa.id = busy;
	snprintf(sa.state, sizeof(sa.state), "unreachable");
	assert_int_equal(store_tx(f->s, tx_host_state, &sa), 0);
	expect_one(f, mark, "host.unreachable", &e);
	expect_about(&e, "", "", "busy", "");
	assert_json(e.data, "{}");
	mark = e.id;
	assert_int_equal(store_tx(f->s, tx_host_state, &sa), 0);
	expect_none(f, mark);
	snprintf(sa.state, sizeof(sa.state), "ready");
	assert_int_equal(store_tx(f->s, tx_host_state, &sa), 0);
	expect_one(f, mark, "host.ready", &e);
	mark = e.id;

	/* settings: host.updated with the maintenance flag */
	memset(&h, 0, sizeof(h));
	h.id = busy;
	h.cpu_ratio = 4.0;
	h.ram_ratio = 1.0;
	h.disk_ratio = 1.0;
	h.maintenance = true;
	assert_int_equal(store_tx(f->s, tx_host_settings, &h), 0);
	expect_one(f, mark, "host.updated", &e);
	expect_about(&e, "", "", "busy", "");
	assert_json(e.data, "{\"maintenance\":true}");
	mark = e.id;
	h.maintenance = false;
	assert_int_equal(store_tx(f->s, tx_host_settings, &h), 0);
	expect_one(f, mark, "host.updated", &e);
	assert_json(e.data, "{\"maintenance\":false}");
	mark = e.id;
	/* an unknown host: not found, no event */
	h.id = missing;
	assert_int_equal(store_tx(f->s, tx_host_settings, &h), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	expect_none(f, mark);

	/* a refused delete rolls back its host.removed */
	add_vm(f, "v", busy, "running");          /* no event of its own */
	expect_none(f, mark);
	assert_int_equal(store_tx(f->s, tx_host_delete, &busy), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_non_null(strstr(err_last()->msg, "still has VMs"));
	expect_none(f, mark);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM events"
	    " WHERE type='host.removed'"), 0);

	/* a host without VMs goes, with its event */
	idle = add_host(f, "idle");
	expect_one(f, mark, "host.added", &e);
	mark = e.id;
	assert_int_equal(store_tx(f->s, tx_host_delete, &idle), 0);
	expect_one(f, mark, "host.removed", &e);
	expect_about(&e, "", "", "idle", "");
	assert_json(e.data, "{}");
	mark = e.id;

	/* an unknown host: not found, no event */
	assert_int_equal(store_tx(f->s, tx_host_delete, &missing), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	sa.id = missing;
	assert_int_equal(store_tx(f->s, tx_host_state, &sa), 0);
	expect_none(f, mark);
}

/* --- events: operations --- */

static void
test_op_events(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h");
	struct vm_rec v = add_vm(f, "v", h, "stopped");
	struct event_rec e;
	struct op_rec o;
	struct err err;
	int64_t mark = store_event_last(f->s);

	/* queued, with the kind */
	assert_int_equal(add_op(f, "op-1", OP_START, &v), 0);
	expect_one(f, mark, "operation.queued", &e);
	expect_about(&e, "uuid-v", "v", "h", "op-1");
	assert_json(e.data, "{\"kind\":\"start\"}");
	mark = e.id;

	assert_int_equal(op_running(f, "op-1"), 0);
	expect_one(f, mark, "operation.running", &e);
	expect_about(&e, "uuid-v", "v", "h", "op-1");
	assert_json(e.data, "{\"kind\":\"start\"}");
	mark = e.id;

	/* progress, only when the step changes */
	assert_int_equal(op_step(f, "op-1", "booting"), 0);
	expect_one(f, mark, "operation.progress", &e);
	expect_about(&e, "uuid-v", "v", "h", "op-1");
	assert_json(e.data, "{\"kind\":\"start\",\"step\":\"booting\"}");
	mark = e.id;
	assert_int_equal(op_step(f, "op-1", "booting"), 0);
	expect_none(f, mark);
	assert_int_equal(op_step(f, "op-1", "waiting for the guest"), 0);
	expect_one(f, mark, "operation.progress", &e);
	assert_json(e.data, "{\"kind\":\"start\","
	    "\"step\":\"waiting for the guest\"}");
	mark = e.id;
	assert_int_equal(get_op(f, "op-1", &o), 0);
	assert_string_equal(o.step, "waiting for the guest");

	/* failed, with the error */
	err_set_field(ERR_BACKEND, "disk_gib", "libvirt said 'no space'");
	err_save(&err);
	assert_int_equal(finish_op(f, "op-1", OP_FAILED, &err), 0);
	expect_one(f, mark, "operation.failed", &e);
	expect_about(&e, "uuid-v", "v", "h", "op-1");
	assert_json(e.data, "{\"kind\":\"start\",\"error\":{\"code\":"
	    "\"backend-error\",\"field\":\"disk_gib\",\"detail\":"
	    "\"libvirt said 'no space'\"}}");
	mark = e.id;
	/* finishing again: not found, no event */
	assert_int_equal(finish_op(f, "op-1", OP_SUCCEEDED, NULL), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	expect_none(f, mark);

	/* failed without a field */
	assert_int_equal(add_op(f, "op-2", OP_REBOOT, &v), 0);
	expect_one(f, mark, "operation.queued", &e);
	assert_json(e.data, "{\"kind\":\"reboot\"}");
	mark = e.id;
	err_set(ERR_TIMEOUT, "took too long");
	err_save(&err);
	assert_int_equal(finish_op(f, "op-2", OP_FAILED, &err), 0);
	expect_one(f, mark, "operation.failed", &e);
	assert_json(e.data, "{\"kind\":\"reboot\",\"error\":{\"code\":"
	    "\"timeout\",\"field\":\"\",\"detail\":\"took too long\"}}");
	mark = e.id;

	/* a message that is not valid UTF-8 (a Latin-1 path, or one cut in
	 * the middle of a character) keeps its error, cut before the bad
	 * byte */
	assert_int_equal(add_op(f, "op-8", OP_START, &v), 0);
	expect_one(f, mark, "operation.queued", &e);
	mark = e.id;
	err_set(ERR_BACKEND, "cannot open '/var/lib/\xe9t\xe9.img'");
	err_save(&err);
	assert_int_equal(finish_op(f, "op-8", OP_FAILED, &err), 0);
	expect_one(f, mark, "operation.failed", &e);
	assert_json(e.data, "{\"kind\":\"start\",\"error\":{\"code\":"
	    "\"backend-error\",\"field\":\"\",\"detail\":"
	    "\"cannot open '/var/lib/\"}}");
	mark = e.id;

	/* cancelled while queued */
	assert_int_equal(add_op(f, "op-3", OP_STOP, &v), 0);
	expect_one(f, mark, "operation.queued", &e);
	mark = e.id;
	assert_int_equal(op_cancel(f, "op-3"), 0);
	expect_one(f, mark, "operation.cancelled", &e);
	expect_about(&e, "uuid-v", "v", "h", "op-3");
	assert_json(e.data, "{\"kind\":\"stop\"}");
	mark = e.id;
	assert_int_equal(get_op(f, "op-3", &o), 0);
	assert_int_equal(o.status, OP_CANCELLED);
	assert_true(o.finished_at > 0);
	assert_string_equal(o.err_msg, "cancelled before it started");
	/* twice: no longer queued */
	assert_int_equal(op_cancel(f, "op-3"), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	expect_none(f, mark);

	/* a running operation is not cancelled this way */
	assert_int_equal(add_op(f, "op-4", OP_PAUSE, &v), 0);
	assert_int_equal(op_running(f, "op-4"), 0);
	mark = store_event_last(f->s);
	assert_int_equal(op_cancel(f, "op-4"), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	expect_none(f, mark);
	assert_int_equal(get_op(f, "op-4", &o), 0);
	assert_int_equal(o.status, OP_RUNNING);
	assert_int_equal(o.finished_at, 0);
	/* an unknown one neither */
	assert_int_equal(op_cancel(f, "op-none"), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	expect_none(f, mark);

	/* succeeded: no error even if one is passed */
	assert_int_equal(finish_op(f, "op-4", OP_SUCCEEDED, &err), 0);
	expect_one(f, mark, "operation.succeeded", &e);
	expect_about(&e, "uuid-v", "v", "h", "op-4");
	assert_json(e.data, "{\"kind\":\"pause\"}");
}

/* --- events: VM states --- */

static void
test_vm_state_events(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *to, *type, *from;
	} steps[] = {
		{ "paused", "vm.paused", "running" },
		{ "running", "vm.resumed", "paused" },
		{ "stopped", "vm.stopped", "running" },
		{ "running", "vm.started", "stopped" },
		{ "crashed", "vm.crashed", "running" },
		{ "running", "vm.started", "crashed" },
		{ "unknown", "vm.unknown", "running" },
		{ "running", "vm.state", "unknown" },
		{ "unknown", "vm.unknown", "running" },
		{ "stopped", "vm.state", "unknown" },
		{ "paused", "vm.paused", "stopped" },
		{ "stopped", "vm.stopped", "paused" },
	};
	int64_t h = add_host(f, "h");
	struct vm_rec v = add_vm(f, "v", h, "running"), got;
	struct event_rec e;
	char want[128];
	int64_t mark = store_event_last(f->s);

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		assert_int_equal(set_observed(f, v.id, steps[i].to, "op-x"),
		    0);
		expect_one(f, mark, steps[i].type, &e);
		expect_about(&e, "uuid-v", "v", "h", "op-x");
		snprintf(want, sizeof(want), "{\"state\":\"%s\","
		    "\"previous\":\"%s\"}", steps[i].to, steps[i].from);
		assert_json(e.data, want);
		assert_int_equal(get_vm(f, "v", &got), 0);
		assert_string_equal(got.observed, steps[i].to);
		mark = e.id;
	}

	/* the same state again: nothing */
	assert_int_equal(set_observed(f, v.id, "stopped", "op-x"), 0);
	expect_none(f, mark);
	/* no operation: op_id empty */
	assert_int_equal(set_observed(f, v.id, "running", NULL), 0);
	expect_one(f, mark, "vm.started", &e);
	expect_about(&e, "uuid-v", "v", "h", "");
	mark = e.id;
	/* a VM that is not there: no error, no event */
	assert_int_equal(set_observed(f, v.id + 100, "stopped", "op-x"), 0);
	expect_none(f, mark);
}

static void
test_vm_observe_events(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h");
	struct vm_rec v = add_vm(f, "v", h, "stopped"), got;
	struct event_rec e;
	int64_t mark = store_event_last(f->s);

	/* applied: an event with no operation */
	sleep_ms(3);
	assert_int_equal(observe(f, v.id, "running", v.updated_at), 0);
	expect_one(f, mark, "vm.started", &e);
	expect_about(&e, "uuid-v", "v", "h", "");
	assert_json(e.data, "{\"state\":\"running\",\"previous\":\"stopped\"}");
	mark = e.id;
	assert_int_equal(get_vm(f, "v", &got), 0);
	assert_string_equal(got.observed, "running");

	/* stale view (updated_at differs): refused, no event */
	sleep_ms(3);
	assert_int_equal(observe(f, v.id, "crashed", v.updated_at), 0);
	expect_none(f, mark);
	assert_int_equal(get_vm(f, "v", &v), 0);
	assert_string_equal(v.observed, "running");

	/* the same state: nothing */
	assert_int_equal(observe(f, v.id, "running", v.updated_at), 0);
	expect_none(f, mark);

	/* an operation under way: refused, no event */
	assert_int_equal(add_op(f, "op-1", OP_STOP, &v), 0);
	mark = store_event_last(f->s);
	assert_int_equal(observe(f, v.id, "paused", v.updated_at), 0);
	expect_none(f, mark);
	assert_int_equal(get_vm(f, "v", &got), 0);
	assert_string_equal(got.observed, "running");
	assert_int_equal(finish_op(f, "op-1", OP_CANCELLED, NULL), 0);
	mark = store_event_last(f->s);

	/* and once it is over, the same view is applied */
	assert_int_equal(observe(f, v.id, "paused", v.updated_at), 0);
	expect_one(f, mark, "vm.paused", &e);
	expect_about(&e, "uuid-v", "v", "h", "");
	assert_json(e.data, "{\"state\":\"paused\",\"previous\":\"running\"}");
	mark = e.id;

	/* a row that is gone: no error, no event */
	assert_int_equal(observe(f, v.id + 100, "running", 0), 0);
	expect_none(f, mark);
}

static void
test_vm_delete_event(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h");
	struct vm_rec v = add_vm(f, "gone", h, "stopped");
	struct vm_rec w = add_vm(f, "stays", h, "stopped");
	struct vm_delete_arg da;
	struct event_rec e;
	int64_t mark;

	assert_int_equal(add_op(f, "op-del", OP_DELETE, &v), 0);
	assert_int_equal(op_running(f, "op-del"), 0);
	mark = store_event_last(f->s);
	memset(&da, 0, sizeof(da));
	da.id = v.id;
	snprintf(da.op_id, sizeof(da.op_id), "op-del");
	assert_int_equal(store_tx(f->s, tx_vm_delete, &da), 0);
	expect_one(f, mark, "vm.deleted", &e);
	expect_about(&e, "uuid-gone", "gone", "h", "op-del");
	assert_json(e.data, "{}");
	mark = e.id;

	/* the operation's own event once the row is gone: its names, no host */
	assert_int_equal(finish_op(f, "op-del", OP_SUCCEEDED, NULL), 0);
	expect_one(f, mark, "operation.succeeded", &e);
	expect_about(&e, "uuid-gone", "gone", "", "op-del");
	assert_json(e.data, "{\"kind\":\"delete\"}");
	mark = e.id;

	/* again: not found, and no event */
	assert_int_equal(store_tx(f->s, tx_vm_delete, &da), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	expect_none(f, mark);

	/* without an operation */
	memset(&da, 0, sizeof(da));
	da.id = w.id;
	assert_int_equal(store_tx(f->s, tx_vm_delete, &da), 0);
	expect_one(f, mark, "vm.deleted", &e);
	expect_about(&e, "uuid-stays", "stays", "h", "");
}

/* --- events: the log itself --- */

struct append_arg {
	int n;
	const char *type;
	int fail;
	json_t *data;
};

/* n host events of type (data borrowed); then fail if asked. */
static int
tx_append(struct store_conn *c, void *arg)
{
	struct append_arg *a = arg;
	char host[32];

	for (int i = 0; i < a->n; i++) {
		snprintf(host, sizeof(host), "h%d", i);
		if (store_event_host(c, host, a->type, a->data) < 0)
			return -1;
	}
	if (a->fail)
		return err_set(ERR_NO_CAPACITY, "changed my mind");
	return 0;
}

struct append_vm_arg {
	int64_t vm_id;
	json_t *data;
};

static int
tx_append_vm(struct store_conn *c, void *arg)
{
	struct append_vm_arg *a = arg;

	return store_event_vm(c, a->vm_id, "test.vm", NULL, a->data);
}

static void
test_event_each(void **state)
{
	struct fx *f = *state;
	struct append_arg a = { 10, "test.one", 0, NULL };
	struct evs *ev;
	int64_t ids[10], mark;

	assert_int_equal(store_tx(f->s, tx_append, &a), 0);
	ev = events_after(f, 0, 0);
	assert_int_equal(ev->n, 10);
	for (int i = 0; i < 10; i++) {
		char host[32];

		ids[i] = ev->e[i].id;
		if (i > 0)
			assert_true(ids[i] > ids[i - 1]);
		snprintf(host, sizeof(host), "h%d", i);
		assert_string_equal(ev->e[i].type, "test.one");
		assert_string_equal(ev->e[i].host, host);
		assert_string_equal(ev->e[i].vm_uuid, "");
		assert_string_equal(ev->e[i].op_id, "");
		/* no data: an empty object */
		assert_string_equal(ev->e[i].data, "{}");
	}
	free(ev);
	assert_int_equal(store_event_last(f->s), ids[9]);

	/* after an id, at most limit, ascending */
	ev = events_after(f, ids[3], 4);
	assert_int_equal(ev->n, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(ev->e[i].id, ids[4 + i]);
	free(ev);
	ev = events_after(f, ids[7], 100);
	assert_int_equal(ev->n, 2);
	assert_int_equal(ev->e[0].id, ids[8]);
	assert_int_equal(ev->e[1].id, ids[9]);
	free(ev);
	ev = events_after(f, ids[9], 100);
	assert_int_equal(ev->n, 0);
	free(ev);
	ev = events_after(f, ids[0] - 1, 1);
	assert_int_equal(ev->n, 1);
	assert_int_equal(ev->e[0].id, ids[0]);
	free(ev);
	/* fn returning non-zero stops the walk (no error) */
	{
		struct store_conn *c = store_read_begin(f->s);

		ev = calloc(1, sizeof(*ev));
		assert_non_null(ev);
		ev->stop_after = 3;
		assert_int_equal(store_event_each(c, 0, 100, collect_event,
		    ev), 0);
		store_read_end(c);
		assert_int_equal(ev->n, 3);
		free(ev);
	}

	/* a limit of 0 (or less) means 100 */
	a.n = 130;
	a.type = "test.many";
	assert_int_equal(store_tx(f->s, tx_append, &a), 0);
	ev = events_after(f, ids[9], 0);
	assert_int_equal(ev->n, 100);
	assert_int_equal(ev->e[0].id, ids[9] + 1);
	assert_int_equal(ev->e[99].id, ids[9] + 100);
	free(ev);
	ev = events_after(f, ids[9], -1);
	assert_int_equal(ev->n, 100);
	free(ev);
	ev = events_after(f, ids[9], 1000);
	assert_int_equal(ev->n, 130);
	free(ev);

	/* a failed transaction leaves no event and does not move the id */
	mark = store_event_last(f->s);
	assert_int_equal(mark, ids[9] + 130);
	a.n = 3;
	a.type = "test.ghost";
	a.fail = 1;
	assert_int_equal(store_tx(f->s, tx_append, &a), -1);
	assert_int_equal(err_last()->code, ERR_NO_CAPACITY);
	assert_string_equal(err_last()->msg, "changed my mind");
	expect_none(f, mark);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM events WHERE"
	    " type='test.ghost'"), 0);
	/* and the next one comes after the last committed */
	a.n = 1;
	a.type = "test.after";
	a.fail = 0;
	assert_int_equal(store_tx(f->s, tx_append, &a), 0);
	ev = events_after(f, mark, 100);
	assert_int_equal(ev->n, 1);
	assert_string_equal(ev->e[0].type, "test.after");
	assert_true(ev->e[0].id > mark);
	assert_int_equal(store_event_last(f->s), ev->e[0].id);
	free(ev);
}

static void
test_event_data(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h");
	struct vm_rec v = add_vm(f, "v", h, "running");
	struct append_vm_arg a = { v.id, NULL };
	struct append_arg ha = { 1, "test.big", 0, NULL };
	struct event_rec e;
	char *big;
	int64_t mark = store_event_last(f->s);

	/* a VM event names the VM and its host; data is kept as JSON */
	a.data = json_pack("{s:s, s:i, s:b}", "x", "quote \" and \\", "n", 7,
	    "t", 1);
	assert_int_equal(store_tx(f->s, tx_append_vm, &a), 0);
	json_decref(a.data);
	expect_one(f, mark, "test.vm", &e);
	expect_about(&e, "uuid-v", "v", "h", "");
	assert_json(e.data, "{\"x\":\"quote \\\" and \\\\\",\"n\":7,"
	    "\"t\":true}");
	mark = e.id;

	/* a VM that is not there: nothing appended, no error */
	a.vm_id = v.id + 100;
	a.data = NULL;
	assert_int_equal(store_tx(f->s, tx_append_vm, &a), 0);
	expect_none(f, mark);

	/* data too big for an event is dropped whole, never cut */
	big = malloc(EVENT_DATA_MAX + 16);
	assert_non_null(big);
	memset(big, 'a', EVENT_DATA_MAX + 15);
	big[EVENT_DATA_MAX + 15] = '\0';
	ha.data = json_pack("{s:s}", "big", big);
	free(big);
	assert_int_equal(store_tx(f->s, tx_append, &ha), 0);
	json_decref(ha.data);
	expect_one(f, mark, "test.big", &e);
	assert_string_equal(e.data, "{}");
}

/* --- events: last, wait --- */

struct later {
	struct store *s;
	long delay_ms;
	int rc;
	int64_t host_id;
};

static void *
commit_later(void *arg)
{
	struct later *l = arg;
	struct host_rec h;

	sleep_ms(l->delay_ms);
	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "late");
	snprintf(h.uri, sizeof(h.uri), "test:///late");
	l->rc = store_tx(l->s, tx_host_insert, &h);
	l->host_id = h.id;
	return NULL;
}

static void
test_event_last_wait(void **state)
{
	struct fx *f = *state;
	struct later l;
	pthread_t th;
	int64_t last, t0, dt, got;

	assert_int_equal(store_event_last(f->s), 0);
	add_host(f, "a");
	add_host(f, "b");
	last = store_event_last(f->s);
	assert_int_equal(last, sql_int(f->path, "SELECT MAX(id) FROM events"));
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM events"), 2);

	/* a newer one exists: at once */
	t0 = mono_ms();
	got = store_event_wait(f->s, last - 1, 5000);
	dt = mono_ms() - t0;
	assert_int_equal(got, last);
	assert_true(dt < 100);
	t0 = mono_ms();
	assert_int_equal(store_event_wait(f->s, 0, 5000), last);
	assert_true(mono_ms() - t0 < 100);

	/* none comes: the timeout, and an id not newer */
	t0 = mono_ms();
	got = store_event_wait(f->s, last, 300);
	dt = mono_ms() - t0;
	assert_true(got <= last);
	assert_int_equal(got, last);
	if (dt < 280 || dt > 800)
		fail_msg("waited %lld ms for a 300 ms timeout", (long long)dt);
	/* a timeout of a second and more */
	t0 = mono_ms();
	got = store_event_wait(f->s, last, 1100);
	dt = mono_ms() - t0;
	assert_int_equal(got, last);
	if (dt < 1080 || dt > 1600)
		fail_msg("waited %lld ms for a 1100 ms timeout", (long long)dt);

	/* another thread commits: woken at once, with the new id */
	memset(&l, 0, sizeof(l));
	l.s = f->s;
	l.delay_ms = 100;
	l.rc = -2;
	assert_int_equal(pthread_create(&th, NULL, commit_later, &l), 0);
	t0 = mono_ms();
	got = store_event_wait(f->s, last, 5000);
	dt = mono_ms() - t0;
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(l.rc, 0);
	if (dt >= 2000)
		fail_msg("woken after %lld ms", (long long)dt);
	assert_true(dt >= 50);
	assert_true(got > last);
	assert_int_equal(got, sql_int(f->path, "SELECT MAX(id) FROM events"));
	assert_int_equal(got, store_event_last(f->s));
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM events WHERE"
	    " type='host.added' AND host='late'"), 1);

	/* a transaction that appends nothing does not wake anyone */
	last = got;
	{
		struct append_arg a = { 0, "none", 0, NULL };

		assert_int_equal(store_tx(f->s, tx_append, &a), 0);
	}
	assert_int_equal(store_event_last(f->s), last);

	/* reopened, it knows the newest id from the table */
	store_close(f->s);
	assert_non_null(f->s = store_open(f->path));
	assert_int_equal(store_event_last(f->s), last);
}

/* --- events: pruning --- */

static void
test_event_prune(void **state)
{
	struct fx *f = *state;
	struct append_arg a = { 5, "test.p", 0, NULL };
	struct prune_arg p;
	struct evs *ev;
	struct store_conn *c;
	int64_t ids[5], first, max, now;
	char sql[256];

	assert_int_equal(store_tx(f->s, tx_append, &a), 0);
	ev = events_after(f, 0, 100);
	assert_int_equal(ev->n, 5);
	for (int i = 0; i < 5; i++)
		ids[i] = ev->e[i].id;
	free(ev);
	c = store_read_begin(f->s);
	assert_int_equal(store_event_first(c, &first), 0);
	store_read_end(c);
	assert_int_equal(first, ids[0]);

	/* the first three made old */
	snprintf(sql, sizeof(sql), "UPDATE events SET ts = 1000"
	    " WHERE id <= %lld", (long long)ids[2]);
	sql_exec(f->path, sql);
	now = time_now_ms();
	p = (struct prune_arg){ now - 3600 * 1000, -1 };
	assert_int_equal(store_tx(f->s, tx_event_prune, &p), 0);
	assert_int_equal(p.pruned, 3);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM events"), 2);
	c = store_read_begin(f->s);
	assert_int_equal(store_event_first(c, &first), 0);
	store_read_end(c);
	assert_int_equal(first, ids[3]);
	ev = events_after(f, 0, 100);
	assert_int_equal(ev->n, 2);
	assert_int_equal(ev->e[0].id, ids[3]);
	assert_int_equal(ev->e[1].id, ids[4]);
	free(ev);
	/* nothing more to prune; pruning appends nothing and keeps last */
	p = (struct prune_arg){ now - 3600 * 1000, -1 };
	assert_int_equal(store_tx(f->s, tx_event_prune, &p), 0);
	assert_int_equal(p.pruned, 0);
	assert_int_equal(store_event_last(f->s), ids[4]);
	/* the boundary: ts < before only */
	snprintf(sql, sizeof(sql), "UPDATE events SET ts = 5000"
	    " WHERE id = %lld", (long long)ids[3]);
	sql_exec(f->path, sql);
	p = (struct prune_arg){ 5000, -1 };
	assert_int_equal(store_tx(f->s, tx_event_prune, &p), 0);
	assert_int_equal(p.pruned, 0);
	p = (struct prune_arg){ 5001, -1 };
	assert_int_equal(store_tx(f->s, tx_event_prune, &p), 0);
	assert_int_equal(p.pruned, 1);

	/* all gone: first is 0, and ids are never reused */
	max = ids[4];
	p = (struct prune_arg){ time_now_ms() + 60000, -1 };
	assert_int_equal(store_tx(f->s, tx_event_prune, &p), 0);
	assert_int_equal(p.pruned, 1);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM events"), 0);
	c = store_read_begin(f->s);
	assert_int_equal(store_event_first(c, &first), 0);
	store_read_end(c);
	assert_int_equal(first, 0);
	a.n = 1;
	a.type = "test.new";
	assert_int_equal(store_tx(f->s, tx_append, &a), 0);
	ev = events_after(f, 0, 100);
	assert_int_equal(ev->n, 1);
	assert_true(ev->e[0].id > max);
	assert_int_equal(store_event_last(f->s), ev->e[0].id);
	max = ev->e[0].id;
	free(ev);

	/* the same across a reopen with an empty table */
	sql_exec(f->path, "DELETE FROM events");
	store_close(f->s);
	assert_non_null(f->s = store_open(f->path));
	a.type = "test.reopened";
	assert_int_equal(store_tx(f->s, tx_append, &a), 0);
	ev = events_after(f, 0, 100);
	assert_int_equal(ev->n, 1);
	assert_true(ev->e[0].id > max);
	assert_int_equal(store_event_last(f->s), ev->e[0].id);
	free(ev);
}

/* --- idempotency keys --- */

struct claim_arg {
	const char *key;
	const char *request;
	int64_t ttl_ms;
	struct idem_rec rec;
	int rc;
};

static int
tx_claim(struct store_conn *c, void *arg)
{
	struct claim_arg *a = arg;

	store_idem_free(&a->rec);
	a->rc = store_idem_claim(c, a->key, a->request, a->ttl_ms, &a->rec);
	return a->rc < 0 ? -1 : 0;
}

static int
tx_claim_then_fail(struct store_conn *c, void *arg)
{
	if (tx_claim(c, arg) < 0)
		return -1;
	return err_set(ERR_CONFLICT, "the request failed");
}

/* store_idem_claim in a transaction: 0, 1 or -1; *out filled. */
static int
claim(struct fx *f, const char *key, const char *request, int64_t ttl_ms,
    struct idem_rec *out)
{
	struct claim_arg a;

	memset(&a, 0, sizeof(a));
	a.key = key;
	a.request = request;
	a.ttl_ms = ttl_ms;
	if (store_tx(f->s, tx_claim, &a) != 0) {
		store_idem_free(&a.rec);
		return -1;
	}
	*out = a.rec;
	return a.rc;
}

struct done_arg {
	const char *key;
	int status;
	const char *location, *body;
};

static int
tx_idem_done(struct store_conn *c, void *arg)
{
	struct done_arg *a = arg;

	return store_idem_done(c, a->key, a->status, a->location, a->body);
}

static int
tx_idem_release(struct store_conn *c, void *arg)
{
	return store_idem_release(c, arg);
}

#define DAY_MS (86400LL * 1000)

static void
test_idem(void **state)
{
	struct fx *f = *state;
	struct idem_rec r;
	struct done_arg d;
	struct prune_arg p;
	char buf[256], sql[256], key[32];
	int64_t before = time_now_ms(), created;

	/* a new key: pending for this request */
	assert_int_equal(claim(f, "k1", "POST /v1/vms {\"name\":\"a\"}",
	    DAY_MS, &r), 0);
	assert_null(r.body);
	store_idem_free(&r);
	assert_int_equal(sql_int(f->path, "SELECT status FROM idempotency"
	    " WHERE key='k1'"), 0);
	assert_string_equal(sql_text(f->path, "SELECT request FROM idempotency"
	    " WHERE key='k1'", buf, sizeof(buf)),
	    "POST /v1/vms {\"name\":\"a\"}");
	created = sql_int(f->path, "SELECT created_at FROM idempotency"
	    " WHERE key='k1'");
	assert_true(created >= before && created <= time_now_ms());

	/* the same request again: known, pending */
	assert_int_equal(claim(f, "k1", "POST /v1/vms {\"name\":\"a\"}",
	    DAY_MS, &r), 1);
	assert_true(r.same_request);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.location, "");
	assert_non_null(r.body);
	assert_string_equal(r.body, "");
	assert_int_equal(r.created_at, created);
	store_idem_free(&r);
	assert_null(r.body);
	store_idem_free(&r);            /* twice is harmless */

	/* another request with the key: known, not the same */
	assert_int_equal(claim(f, "k1", "POST /v1/vms {\"name\":\"b\"}",
	    DAY_MS, &r), 1);
	assert_false(r.same_request);
	assert_int_equal(r.status, 0);
	store_idem_free(&r);
	/* and the stored request is still the first one */
	assert_string_equal(sql_text(f->path, "SELECT request FROM idempotency"
	    " WHERE key='k1'", buf, sizeof(buf)),
	    "POST /v1/vms {\"name\":\"a\"}");

	/* the reply recorded: replayed as stored */
	d = (struct done_arg){ "k1", 202, "/v1/operations/op-1",
	    "{\"id\":\"op-1\",\"status\":\"queued\"}" };
	assert_int_equal(store_tx(f->s, tx_idem_done, &d), 0);
	assert_int_equal(claim(f, "k1", "POST /v1/vms {\"name\":\"a\"}",
	    DAY_MS, &r), 1);
	assert_true(r.same_request);
	assert_int_equal(r.status, 202);
	assert_string_equal(r.location, "/v1/operations/op-1");
	assert_string_equal(r.body, "{\"id\":\"op-1\",\"status\":\"queued\"}");
	assert_int_equal(r.created_at, created);
	store_idem_free(&r);
	assert_int_equal(claim(f, "k1", "DELETE /v1/vms/a", DAY_MS, &r), 1);
	assert_false(r.same_request);
	assert_int_equal(r.status, 202);
	store_idem_free(&r);
	/* no location, no body: empty strings */
	d = (struct done_arg){ "k1", 204, NULL, NULL };
	assert_int_equal(store_tx(f->s, tx_idem_done, &d), 0);
	assert_int_equal(claim(f, "k1", "POST /v1/vms {\"name\":\"a\"}",
	    DAY_MS, &r), 1);
	assert_int_equal(r.status, 204);
	assert_string_equal(r.location, "");
	assert_string_equal(r.body, "");
	store_idem_free(&r);

	/* released: free again, for any request */
	assert_int_equal(store_tx(f->s, tx_idem_release, "k1"), 0);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM idempotency"),
	    0);
	assert_int_equal(claim(f, "k1", "POST /v1/vms {\"name\":\"c\"}",
	    DAY_MS, &r), 0);
	store_idem_free(&r);
	assert_int_equal(claim(f, "k1", "POST /v1/vms {\"name\":\"c\"}",
	    DAY_MS, &r), 1);
	assert_true(r.same_request);
	store_idem_free(&r);

	/* expired (older than the ttl): replaced by the new request */
	d = (struct done_arg){ "k1", 201, "/v1/vms/c", "{}" };
	assert_int_equal(store_tx(f->s, tx_idem_done, &d), 0);
	snprintf(sql, sizeof(sql), "UPDATE idempotency SET created_at = %lld"
	    " WHERE key='k1'", (long long)(time_now_ms() - 10000));
	sql_exec(f->path, sql);
	/* not yet for a longer ttl */
	assert_int_equal(claim(f, "k1", "POST /v1/vms {\"name\":\"c\"}",
	    60000, &r), 1);
	assert_int_equal(r.status, 201);
	store_idem_free(&r);
	before = time_now_ms();
	assert_int_equal(claim(f, "k1", "POST /v1/vms {\"name\":\"d\"}",
	    5000, &r), 0);
	store_idem_free(&r);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM idempotency"),
	    1);
	assert_string_equal(sql_text(f->path, "SELECT request FROM idempotency"
	    " WHERE key='k1'", buf, sizeof(buf)),
	    "POST /v1/vms {\"name\":\"d\"}");
	assert_int_equal(sql_int(f->path, "SELECT status FROM idempotency"
	    " WHERE key='k1'"), 0);
	assert_string_equal(sql_text(f->path, "SELECT body || location FROM"
	    " idempotency WHERE key='k1'", buf, sizeof(buf)), "");
	assert_true(sql_int(f->path, "SELECT created_at FROM idempotency"
	    " WHERE key='k1'") >= before);
	assert_int_equal(claim(f, "k1", "POST /v1/vms {\"name\":\"d\"}",
	    5000, &r), 1);
	assert_true(r.same_request);
	assert_int_equal(r.status, 0);
	store_idem_free(&r);

	/* a claim in a transaction that fails claims nothing */
	{
		struct claim_arg a;

		memset(&a, 0, sizeof(a));
		a.key = "k-rolled-back";
		a.request = "x";
		a.ttl_ms = DAY_MS;
		assert_int_equal(store_tx(f->s, tx_claim_then_fail, &a), -1);
		assert_int_equal(a.rc, 0);
		store_idem_free(&a.rec);
		assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM"
		    " idempotency WHERE key='k-rolled-back'"), 0);
		assert_int_equal(claim(f, "k-rolled-back", "y", DAY_MS, &r), 0);
		store_idem_free(&r);
		assert_int_equal(store_tx(f->s, tx_idem_release,
		    "k-rolled-back"), 0);
	}

	/* pruning counts what it removes */
	for (int i = 2; i <= 5; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(claim(f, key, "r", DAY_MS, &r), 0);
		store_idem_free(&r);
	}
	sql_exec(f->path, "UPDATE idempotency SET created_at = 1000"
	    " WHERE key IN ('k2','k3')");
	sql_exec(f->path, "UPDATE idempotency SET created_at = 2000"
	    " WHERE key = 'k4'");
	p = (struct prune_arg){ 2000, -1 };
	assert_int_equal(store_tx(f->s, tx_idem_prune, &p), 0);
	assert_int_equal(p.pruned, 2);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM idempotency"
	    " WHERE key IN ('k2','k3')"), 0);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM idempotency"),
	    3);
	p = (struct prune_arg){ 2000, -1 };
	assert_int_equal(store_tx(f->s, tx_idem_prune, &p), 0);
	assert_int_equal(p.pruned, 0);
	p = (struct prune_arg){ 2001, -1 };
	assert_int_equal(store_tx(f->s, tx_idem_prune, &p), 0);
	assert_int_equal(p.pruned, 1);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM idempotency"
	    " WHERE key IN ('k1','k5')"), 2);
	/* idempotency keys append no events */
	assert_int_equal(store_event_last(f->s), 0);
}

static void
test_op_get_by_idem(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h");
	struct vm_rec v = add_vm(f, "v", h, "stopped");
	struct vm_rec w = add_vm(f, "w", h, "stopped");
	struct store_conn *c;
	struct op_rec o, got;

	op_init(&o, "op-1", OP_START, &v);
	snprintf(o.idem_key, sizeof(o.idem_key), "key-A");
	assert_int_equal(store_tx(f->s, tx_op_insert, &o), 0);
	op_init(&o, "op-2", OP_START, &w);          /* no key */
	assert_int_equal(store_tx(f->s, tx_op_insert, &o), 0);

	c = store_read_begin(f->s);
	assert_int_equal(store_op_get_by_idem(c, "key-A", &got), 0);
	assert_string_equal(got.id, "op-1");
	assert_string_equal(got.idem_key, "key-A");
	assert_int_equal(got.kind, OP_START);
	assert_int_equal(got.vm_id, v.id);
	assert_int_equal(store_op_get_by_idem(c, "key-B", &got), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	/* an operation without a key is not found by the empty key */
	assert_int_equal(store_op_get_by_idem(c, "", &got), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(store_op_get(c, "op-2", &got), 0);
	assert_string_equal(got.idem_key, "");
	store_read_end(c);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM operations"
	    " WHERE idem_key IS NULL"), 1);

	/* the newest of those made under the key */
	assert_int_equal(finish_op(f, "op-1", OP_SUCCEEDED, NULL), 0);
	sleep_ms(3);
	op_init(&o, "op-3", OP_STOP, &v);
	snprintf(o.idem_key, sizeof(o.idem_key), "key-A");
	assert_int_equal(store_tx(f->s, tx_op_insert, &o), 0);
	c = store_read_begin(f->s);
	assert_int_equal(store_op_get_by_idem(c, "key-A", &got), 0);
	assert_string_equal(got.id, "op-3");
	assert_int_equal(got.kind, OP_STOP);
	store_read_end(c);
}

/* --- snapshots --- */

struct snap_ins_arg {
	struct snap_rec s;
	const char *vm_name;
};

static int
tx_snap_insert(struct store_conn *c, void *arg)
{
	struct snap_ins_arg *a = arg;

	return store_snap_insert(c, &a->s, a->vm_name);
}

struct snap_ready_arg {
	struct snap_rec s;
	const char *op_id;
};

static int
tx_snap_ready(struct store_conn *c, void *arg)
{
	struct snap_ready_arg *a = arg;

	return store_snap_ready(c, &a->s, a->op_id);
}

struct snap_del_arg {
	int64_t vm_id;
	const char *name;
	const char *op_id;
};

static int
tx_snap_delete(struct store_conn *c, void *arg)
{
	struct snap_del_arg *a = arg;

	return store_snap_delete(c, a->vm_id, a->name, a->op_id);
}

/* Insert snapshot name of v (status creating). */
static int
snap_insert(struct fx *f, const struct vm_rec *v, const char *name,
    const char *description, bool memory, bool scheduled, int64_t *id)
{
	struct snap_ins_arg a;
	int rc;

	memset(&a, 0, sizeof(a));
	a.s.vm_id = v->id;
	snprintf(a.s.name, sizeof(a.s.name), "%s", name);
	snprintf(a.s.description, sizeof(a.s.description), "%s",
	    description);
	a.s.memory = memory;
	snprintf(a.s.vm_state, sizeof(a.s.vm_state), "%s", v->observed);
	snprintf(a.s.status, sizeof(a.s.status), "ready");  /* ignored */
	a.s.scheduled = scheduled;
	a.vm_name = v->name;
	rc = store_tx(f->s, tx_snap_insert, &a);
	if (rc == 0) {
		assert_true(a.s.id > 0);
		assert_string_equal(a.s.status, "creating");
		assert_true(a.s.created_at > 0);
	}
	if (id)
		*id = a.s.id;
	return rc;
}

static int
snap_get(struct fx *f, int64_t vm_id, const char *name, struct snap_rec *out)
{
	struct store_conn *c = store_read_begin(f->s);
	int rc = store_snap_get(c, vm_id, name, out);

	store_read_end(c);
	return rc;
}

/* Make it ready, as taken with parent and vm_state. */
static int
snap_ready(struct fx *f, int64_t vm_id, const char *name, const char *parent,
    const char *vm_state, bool memory, const char *op_id)
{
	struct snap_ready_arg a;

	memset(&a, 0, sizeof(a));
	a.s.vm_id = vm_id;
	snprintf(a.s.name, sizeof(a.s.name), "%s", name);
	snprintf(a.s.parent, sizeof(a.s.parent), "%s", parent);
	snprintf(a.s.vm_state, sizeof(a.s.vm_state), "%s", vm_state);
	a.s.memory = memory;
	/* as ops_snap_create decides it (no agent: never quiesced) */
	snprintf(a.s.consistency, sizeof(a.s.consistency), "%s", memory ?
	    "memory" : strcmp(vm_state, "stopped") == 0 ? "stopped" : "crash");
	a.op_id = op_id;
	return store_tx(f->s, tx_snap_ready, &a);
}

static int
snap_delete(struct fx *f, int64_t vm_id, const char *name, const char *op_id)
{
	struct snap_del_arg a = { vm_id, name, op_id };

	return store_tx(f->s, tx_snap_delete, &a);
}

struct snap_names {
	char v[32][NAME_MAX_LEN + 32];
	int n;
	int stop_after;
};

static int
collect_snap(const struct snap_rec *s, void *arg)
{
	struct snap_names *ns = arg;

	if (ns->n < 32)
		snprintf(ns->v[ns->n], sizeof(ns->v[0]), "%s", s->name);
	ns->n++;
	return ns->stop_after && ns->n >= ns->stop_after;
}

/* "a,b": the names of vm_id's snapshots, oldest first. */
static const char *
snaps_of(struct fx *f, int64_t vm_id, bool scheduled_only, char *buf,
    size_t len)
{
	struct store_conn *c = store_read_begin(f->s);
	struct snap_names ns;
	size_t off = 0;

	memset(&ns, 0, sizeof(ns));
	if (store_snap_each(c, vm_id, scheduled_only, collect_snap, &ns) != 0)
		fail_msg("store_snap_each: %s", err_last()->msg);
	store_read_end(c);
	buf[0] = '\0';
	for (int i = 0; i < ns.n && i < 32 && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? "," : "", ns.v[i]);
	return buf;
}

static void
test_snapshots(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h");
	struct vm_rec v1 = add_vm(f, "v1", h, "running");
	struct vm_rec v2 = add_vm(f, "v2", h, "stopped");
	struct snap_rec s;
	struct event_rec e;
	struct vm_delete_arg da;
	char buf[512];
	int64_t id, before = time_now_ms(), mark = store_event_last(f->s);

	/* inserted as creating; no event yet */
	assert_int_equal(snap_insert(f, &v1, "s1", "first one", true, false,
	    &id), 0);
	expect_none(f, mark);
	assert_int_equal(snap_get(f, v1.id, "s1", &s), 0);
	assert_int_equal(s.id, id);
	assert_int_equal(s.vm_id, v1.id);
	assert_string_equal(s.name, "s1");
	assert_string_equal(s.description, "first one");
	assert_true(s.memory);
	assert_string_equal(s.vm_state, "running");
	assert_string_equal(s.parent, "");
	assert_string_equal(s.status, "creating");
	assert_false(s.scheduled);
	assert_true(s.created_at >= before && s.created_at <= time_now_ms());

	/* the same name on the same VM: conflict on the name */
	err_clear();
	assert_int_equal(snap_insert(f, &v1, "s1", "again", false, false,
	    NULL), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_string_equal(err_last()->field, "name");
	assert_string_equal(err_last()->msg,
	    "vm 'v1' already has a snapshot named 's1'");
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM snapshots"), 1);
	/* on another VM it is fine */
	assert_int_equal(snap_insert(f, &v2, "s1", "", false, false, NULL), 0);
	assert_int_equal(snap_get(f, v2.id, "s1", &s), 0);
	assert_string_equal(s.vm_state, "stopped");
	assert_false(s.memory);
	/* a VM that does not exist */
	{
		struct vm_rec ghost = v1;

		ghost.id = v2.id + 100;
		assert_int_equal(snap_insert(f, &ghost, "x", "", false, false,
		    NULL), -1);
		assert_int_not_equal(err_last()->code, ERR_NONE);
	}
	assert_int_equal(snap_get(f, v1.id, "nope", &s), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_non_null(strstr(err_last()->msg, "'nope'"));

	/* ready: parent, state, and snapshot.created */
	assert_int_equal(snap_ready(f, v1.id, "s1", "", "paused", true,
	    "op-s1"), 0);
	expect_one(f, mark, "snapshot.created", &e);
	expect_about(&e, "uuid-v1", "v1", "h", "op-s1");
	assert_json(e.data, "{\"snapshot\":\"s1\",\"memory\":true,"
	    "\"vm_state\":\"paused\",\"parent\":\"\","
	    "\"consistency\":\"memory\"}");
	mark = e.id;
	assert_int_equal(snap_get(f, v1.id, "s1", &s), 0);
	assert_string_equal(s.status, "ready");
	assert_string_equal(s.vm_state, "paused");
	assert_string_equal(s.consistency, "memory");
	assert_string_equal(s.parent, "");
	assert_string_equal(s.description, "first one");
	/* v2's s1 is untouched */
	assert_int_equal(snap_get(f, v2.id, "s1", &s), 0);
	assert_string_equal(s.status, "creating");
	/* ready for a missing one: not found, no event */
	assert_int_equal(snap_ready(f, v1.id, "nope", "", "running", false,
	    NULL), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	expect_none(f, mark);

	/* a tree: s1 <- s2 <- {s3, s4}; s2 and s4 scheduled */
	assert_int_equal(snap_insert(f, &v1, "s2", "", false, true, NULL), 0);
	assert_int_equal(snap_ready(f, v1.id, "s2", "s1", "running", false,
	    NULL), 0);
	assert_int_equal(snap_insert(f, &v1, "s3", "", false, false, NULL), 0);
	assert_int_equal(snap_ready(f, v1.id, "s3", "s2", "running", false,
	    NULL), 0);
	assert_int_equal(snap_insert(f, &v1, "s4", "", true, true, NULL), 0);
	assert_int_equal(snap_ready(f, v1.id, "s4", "s2", "running", true,
	    NULL), 0);
	/* on v2, a snapshot whose parent is also called s2 */
	assert_int_equal(snap_insert(f, &v2, "s2", "", false, false, NULL), 0);
	assert_int_equal(snap_insert(f, &v2, "c", "", false, false, NULL), 0);
	assert_int_equal(snap_ready(f, v2.id, "c", "s2", "stopped", false,
	    NULL), 0);
	assert_string_equal(types_after(f, mark, buf, sizeof(buf)),
	    "snapshot.created,snapshot.created,snapshot.created,"
	    "snapshot.created");
	mark = store_event_last(f->s);

	/* oldest first; the schedule's own */
	assert_string_equal(snaps_of(f, v1.id, false, buf, sizeof(buf)),
	    "s1,s2,s3,s4");
	assert_string_equal(snaps_of(f, v1.id, true, buf, sizeof(buf)),
	    "s2,s4");
	assert_string_equal(snaps_of(f, v2.id, false, buf, sizeof(buf)),
	    "s1,s2,c");
	assert_string_equal(snaps_of(f, v2.id, true, buf, sizeof(buf)), "");
	assert_string_equal(snaps_of(f, v2.id + 100, false, buf, sizeof(buf)),
	    "");
	/* oldest by created_at, not by id */
	sql_exec(f->path, "UPDATE snapshots SET created_at = created_at - 60000"
	    " WHERE name = 's3'");
	assert_string_equal(snaps_of(f, v1.id, false, buf, sizeof(buf)),
	    "s3,s1,s2,s4");
	/* fn returning non-zero stops */
	{
		struct store_conn *c = store_read_begin(f->s);
		struct snap_names ns;

		memset(&ns, 0, sizeof(ns));
		ns.stop_after = 2;
		assert_int_equal(store_snap_each(c, v1.id, false, collect_snap,
		    &ns), 0);
		store_read_end(c);
		assert_int_equal(ns.n, 2);
	}

	/* deleting the middle one: its children take its parent */
	assert_int_equal(snap_delete(f, v1.id, "s2", "op-d"), 0);
	expect_one(f, mark, "snapshot.deleted", &e);
	expect_about(&e, "uuid-v1", "v1", "h", "op-d");
	assert_json(e.data, "{\"snapshot\":\"s2\",\"memory\":false,"
	    "\"vm_state\":\"running\",\"parent\":\"s1\","
	    "\"consistency\":\"crash\"}");
	mark = e.id;
	assert_int_equal(snap_get(f, v1.id, "s2", &s), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(snap_get(f, v1.id, "s3", &s), 0);
	assert_string_equal(s.parent, "s1");
	assert_int_equal(snap_get(f, v1.id, "s4", &s), 0);
	assert_string_equal(s.parent, "s1");
	assert_int_equal(snap_get(f, v1.id, "s1", &s), 0);
	assert_string_equal(s.parent, "");
	/* another VM's tree is not touched */
	assert_int_equal(snap_get(f, v2.id, "c", &s), 0);
	assert_string_equal(s.parent, "s2");
	assert_int_equal(snap_get(f, v2.id, "s2", &s), 0);
	assert_string_equal(snaps_of(f, v1.id, false, buf, sizeof(buf)),
	    "s3,s1,s4");

	/* deleting a root: its children become roots */
	assert_int_equal(snap_delete(f, v1.id, "s1", NULL), 0);
	expect_one(f, mark, "snapshot.deleted", &e);
	expect_about(&e, "uuid-v1", "v1", "h", "");
	assert_json(e.data, "{\"snapshot\":\"s1\",\"memory\":true,"
	    "\"vm_state\":\"paused\",\"parent\":\"\","
	    "\"consistency\":\"memory\"}");
	mark = e.id;
	assert_int_equal(snap_get(f, v1.id, "s3", &s), 0);
	assert_string_equal(s.parent, "");
	assert_int_equal(snap_get(f, v1.id, "s4", &s), 0);
	assert_string_equal(s.parent, "");

	/* one still being created goes without an event */
	assert_int_equal(snap_insert(f, &v1, "s5", "", false, false, NULL), 0);
	assert_int_equal(snap_delete(f, v1.id, "s5", "op-x"), 0);
	expect_none(f, mark);
	assert_int_equal(snap_get(f, v1.id, "s5", &s), -1);
	/* a missing one: not found */
	assert_int_equal(snap_delete(f, v1.id, "s5", NULL), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_non_null(strstr(err_last()->msg, "'s5'"));
	expect_none(f, mark);
	/* the name is free again */
	assert_int_equal(snap_insert(f, &v1, "s5", "", false, false, NULL), 0);

	/* the VM's row goes: its snapshots' rows with it (and only its) */
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM snapshots"
	    " WHERE vm_id = (SELECT id FROM vms WHERE name='v1')"), 3);
	memset(&da, 0, sizeof(da));
	da.id = v1.id;
	assert_int_equal(store_tx(f->s, tx_vm_delete, &da), 0);
	snprintf(buf, sizeof(buf), "SELECT COUNT(*) FROM snapshots WHERE"
	    " vm_id = %lld", (long long)v1.id);
	assert_int_equal(sql_int(f->path, buf), 0);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM snapshots"), 3);
	assert_string_equal(snaps_of(f, v2.id, false, buf, sizeof(buf)),
	    "s1,s2,c");
}

/* --- snapshot schedules --- */

static int
collect_vm(const struct vm_rec *v, void *arg)
{
	struct snap_names *ns = arg;

	if (ns->n < 32)
		snprintf(ns->v[ns->n], sizeof(ns->v[0]), "%s", v->name);
	ns->n++;
	return 0;
}

static const char *
scheduled_vms(struct fx *f, char *buf, size_t len)
{
	struct store_conn *c = store_read_begin(f->s);
	struct snap_names ns;
	size_t off = 0;

	memset(&ns, 0, sizeof(ns));
	if (store_vm_each_scheduled(c, collect_vm, &ns) != 0)
		fail_msg("store_vm_each_scheduled: %s", err_last()->msg);
	store_read_end(c);
	buf[0] = '\0';
	for (int i = 0; i < ns.n && i < 32 && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? "," : "", ns.v[i]);
	return buf;
}

static struct vm_rec
add_vm_sched(struct fx *f, const char *name, int64_t host_id,
    const char *schedule, int keep, int64_t max_age_ms)
{
	struct vm_rec v;

	vm_init(&v, name, host_id, "running");
	snprintf(v.snapshot_schedule, sizeof(v.snapshot_schedule), "%s",
	    schedule);
	v.snapshot_keep = keep;
	v.snapshot_max_age_ms = max_age_ms;
	if (store_tx(f->s, tx_vm_insert, &v) != 0)
		fail_msg("insert vm '%s': %s", name, err_last()->msg);
	return v;
}

static void
test_vm_schedules(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h");
	struct vm_rec a, got, upd;
	struct event_rec e;
	struct ran_arg ra;
	char buf[256];
	int64_t mark, before, created;

	/* stored at insert; the schedule counts from the creation */
	a = add_vm_sched(f, "a", h, "@every 6h", 5, 7 * DAY_MS);
	assert_int_equal(get_vm(f, "a", &got), 0);
	assert_string_equal(got.snapshot_schedule, "@every 6h");
	assert_int_equal(got.snapshot_keep, 5);
	assert_int_equal(got.snapshot_max_age_ms, 7 * DAY_MS);
	assert_int_equal(got.snapshot_last_at, got.created_at);
	assert_int_equal(got.created_at, a.created_at);
	created = got.created_at;
	add_vm_sched(f, "b", h, "", 0, 0);
	add_vm_sched(f, "c", h, "", 3, 0);
	add_vm_sched(f, "d", h, "", 0, DAY_MS);
	add_vm_sched(f, "e", h, "", 0, 0);
	assert_int_equal(get_vm(f, "b", &got), 0);
	assert_string_equal(got.snapshot_schedule, "");
	assert_int_equal(got.snapshot_keep, 0);
	assert_int_equal(got.snapshot_max_age_ms, 0);
	assert_int_equal(got.snapshot_last_at, got.created_at);
	/* a schedule or a retention */
	assert_string_equal(scheduled_vms(f, buf, sizeof(buf)), "a,c,d");

	/* the same schedule text: retention changes, last_at kept */
	mark = store_event_last(f->s);
	sleep_ms(3);
	assert_int_equal(get_vm(f, "a", &upd), 0);
	upd.snapshot_keep = 3;
	upd.snapshot_max_age_ms = 0;
	assert_int_equal(store_tx(f->s, tx_vm_schedule, &upd), 0);
	expect_one(f, mark, "vm.updated", &e);
	expect_about(&e, "uuid-a", "a", "h", "");
	assert_json(e.data, "{\"snapshot_schedule\":\"@every 6h\","
	    "\"snapshot_keep\":3,\"snapshot_max_age_ms\":0,"
	    "\"on_drift\":\"record\"}");
	mark = e.id;
	assert_int_equal(get_vm(f, "a", &got), 0);
	assert_string_equal(got.snapshot_schedule, "@every 6h");
	assert_int_equal(got.snapshot_keep, 3);
	assert_int_equal(got.snapshot_max_age_ms, 0);
	assert_int_equal(got.snapshot_last_at, created);
	assert_true(got.updated_at > upd.updated_at);

	/* it fired */
	ra = (struct ran_arg){ a.id, created + 123456 };
	assert_int_equal(store_tx(f->s, tx_vm_schedule_ran, &ra), 0);
	assert_int_equal(get_vm(f, "a", &got), 0);
	assert_int_equal(got.snapshot_last_at, created + 123456);
	expect_none(f, mark);

	/* the same text again keeps the last run */
	assert_int_equal(get_vm(f, "a", &upd), 0);
	upd.snapshot_keep = 4;
	assert_int_equal(store_tx(f->s, tx_vm_schedule, &upd), 0);
	expect_one(f, mark, "vm.updated", &e);
	mark = e.id;
	assert_int_equal(get_vm(f, "a", &got), 0);
	assert_int_equal(got.snapshot_last_at, created + 123456);
	assert_int_equal(got.snapshot_keep, 4);

	/* a new schedule counts from now */
	sleep_ms(3);
	before = time_now_ms();
	snprintf(upd.snapshot_schedule, sizeof(upd.snapshot_schedule),
	    "0 3 * * *");
	assert_int_equal(store_tx(f->s, tx_vm_schedule, &upd), 0);
	expect_one(f, mark, "vm.updated", &e);
	assert_json(e.data, "{\"snapshot_schedule\":\"0 3 * * *\","
	    "\"snapshot_keep\":4,\"snapshot_max_age_ms\":0,"
	    "\"on_drift\":\"record\"}");
	mark = e.id;
	assert_int_equal(get_vm(f, "a", &got), 0);
	assert_string_equal(got.snapshot_schedule, "0 3 * * *");
	assert_true(got.snapshot_last_at >= before &&
	    got.snapshot_last_at <= time_now_ms());

	/* schedule and retention removed: no longer listed */
	memset(upd.snapshot_schedule, 0, sizeof(upd.snapshot_schedule));
	upd.snapshot_keep = 0;
	upd.snapshot_max_age_ms = 0;
	assert_int_equal(store_tx(f->s, tx_vm_schedule, &upd), 0);
	expect_one(f, mark, "vm.updated", &e);
	mark = e.id;
	assert_string_equal(scheduled_vms(f, buf, sizeof(buf)), "c,d");
	/* and a schedule on e lists it, in id order */
	assert_int_equal(get_vm(f, "e", &upd), 0);
	snprintf(upd.snapshot_schedule, sizeof(upd.snapshot_schedule),
	    "@daily");
	assert_int_equal(store_tx(f->s, tx_vm_schedule, &upd), 0);
	expect_one(f, mark, "vm.updated", &e);
	expect_about(&e, "uuid-e", "e", "h", "");
	mark = e.id;
	assert_string_equal(scheduled_vms(f, buf, sizeof(buf)), "c,d,e");

	/* an unknown VM: not found, no event */
	upd.id += 100;
	assert_int_equal(store_tx(f->s, tx_vm_schedule, &upd), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	expect_none(f, mark);
}

/* --- pruning operations --- */

static void
test_op_prune(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h");
	struct vm_rec a = add_vm(f, "a", h, "stopped");
	struct vm_rec b = add_vm(f, "b", h, "stopped");
	struct vm_rec c = add_vm(f, "c", h, "stopped");
	struct prune_arg p;
	struct op_rec o;
	char buf[256];
	int64_t now;

	/* finished: old-ok, old-failed, old-cancelled, new-ok */
	assert_int_equal(add_op(f, "old-ok", OP_START, &a), 0);
	assert_int_equal(finish_op(f, "old-ok", OP_SUCCEEDED, NULL), 0);
	assert_int_equal(add_op(f, "old-failed", OP_START, &a), 0);
	assert_int_equal(finish_op(f, "old-failed", OP_FAILED, NULL), 0);
	assert_int_equal(add_op(f, "old-cancelled", OP_START, &a), 0);
	assert_int_equal(op_cancel(f, "old-cancelled"), 0);
	assert_int_equal(add_op(f, "new-ok", OP_STOP, &a), 0);
	assert_int_equal(finish_op(f, "new-ok", OP_SUCCEEDED, NULL), 0);
	/* unfinished, made to look old */
	assert_int_equal(add_op(f, "queued", OP_START, &b), 0);
	assert_int_equal(add_op(f, "running", OP_START, &c), 0);
	assert_int_equal(op_running(f, "running"), 0);
	sql_exec(f->path, "UPDATE operations SET created_at = 1000,"
	    " started_at = 1000, finished_at = 2000 WHERE id IN ('old-ok',"
	    " 'old-failed','old-cancelled')");
	sql_exec(f->path, "UPDATE operations SET created_at = 1000"
	    " WHERE id = 'queued'");
	sql_exec(f->path, "UPDATE operations SET created_at = 1000,"
	    " started_at = 1000, finished_at = 2000 WHERE id = 'running'");

	now = time_now_ms();
	p = (struct prune_arg){ now - 3600 * 1000, -1 };
	assert_int_equal(store_tx(f->s, tx_op_prune, &p), 0);
	assert_int_equal(p.pruned, 3);
	assert_string_equal(sql_text(f->path, "SELECT group_concat(id, ',')"
	    " FROM (SELECT id FROM operations ORDER BY id)", buf, sizeof(buf)),
	    "new-ok,queued,running");
	assert_int_equal(get_op(f, "old-ok", &o), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(get_op(f, "queued", &o), 0);
	assert_int_equal(o.status, OP_QUEUED);
	assert_int_equal(get_op(f, "running", &o), 0);
	assert_int_equal(o.status, OP_RUNNING);
	/* again: nothing */
	p = (struct prune_arg){ now - 3600 * 1000, -1 };
	assert_int_equal(store_tx(f->s, tx_op_prune, &p), 0);
	assert_int_equal(p.pruned, 0);
	/* the boundary: finished_at < before only */
	assert_int_equal(get_op(f, "new-ok", &o), 0);
	p = (struct prune_arg){ o.finished_at, -1 };
	assert_int_equal(store_tx(f->s, tx_op_prune, &p), 0);
	assert_int_equal(p.pruned, 0);
	p = (struct prune_arg){ o.finished_at + 1, -1 };
	assert_int_equal(store_tx(f->s, tx_op_prune, &p), 0);
	assert_int_equal(p.pruned, 1);
	/* unfinished ones never, whatever the cut */
	p = (struct prune_arg){ now + 3600 * 1000, -1 };
	assert_int_equal(store_tx(f->s, tx_op_prune, &p), 0);
	assert_int_equal(p.pruned, 0);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM operations"),
	    2);
}

/* --- transitional states of the snapshot operations --- */

static int
collect_vm_state(const struct vm_rec *v, void *arg)
{
	struct snap_names *ns = arg;

	if (ns->n < 32)
		snprintf(ns->v[ns->n], sizeof(ns->v[0]), "%s=%s", v->name,
		    v->state);
	ns->n++;
	return 0;
}

static void
test_snapshot_op_states(void **state)
{
	struct fx *f = *state;
	static const struct {
		enum op_kind kind;
		const char *state;
	} want[] = {
		{ OP_SNAPSHOT_CREATE, "snapshotting" },
		{ OP_SNAPSHOT_REVERT, "reverting" },
		{ OP_SNAPSHOT_DELETE, "deleting-snapshot" },
	};
	int64_t h = add_host(f, "h");
	struct vm_rec v = add_vm(f, "v", h, "paused"), got;
	struct store_conn *c;
	struct snap_names ns;
	char id[32], entry[NAME_MAX_LEN + 32];

	assert_int_equal(sizeof(got.state), 24);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(id, sizeof(id), "op-snap-%zu", i);
		assert_int_equal(add_op(f, id, want[i].kind, &v), 0);
		assert_int_equal(get_vm(f, "v", &got), 0);
		assert_string_equal(got.state, want[i].state);
		assert_string_equal(got.observed, "paused");
		assert_string_equal(got.op_id, id);
		assert_string_equal(op_kind_transitional(want[i].kind),
		    want[i].state);
		/* the state filter sees the transitional name too */
		c = store_read_begin(f->s);
		memset(&ns, 0, sizeof(ns));
		assert_int_equal(store_vm_each(c, NULL, want[i].state,
		    collect_vm_state, &ns), 0);
		assert_int_equal(ns.n, 1);
		snprintf(entry, sizeof(entry), "v=%s", want[i].state);
		assert_string_equal(ns.v[0], entry);
		memset(&ns, 0, sizeof(ns));
		assert_int_equal(store_vm_each(c, NULL, "paused",
		    collect_vm_state, &ns), 0);
		assert_int_equal(ns.n, 0);
		store_read_end(c);
		/* running: still shown */
		assert_int_equal(op_running(f, id), 0);
		assert_int_equal(get_vm(f, "v", &got), 0);
		assert_string_equal(got.state, want[i].state);
		assert_int_equal(finish_op(f, id, OP_SUCCEEDED, NULL), 0);
		assert_int_equal(get_vm(f, "v", &got), 0);
		assert_string_equal(got.state, "paused");
		assert_string_equal(got.op_id, "");
	}
	/* and the operations carry their kind back */
	{
		struct op_rec o;

		assert_int_equal(get_op(f, "op-snap-2", &o), 0);
		assert_int_equal(o.kind, OP_SNAPSHOT_DELETE);
	}
}

/* --- schema 3 --- */

static void
expect_schema_v3(struct fx *f)
{
	char buf[1024];

	/* migration 4 (storage, progress, plans) comes after 3 */
	/* later migrations (4: storage, progress, plans; 5: drift policy,
	 * tokens; 6: disks as rows, firmware, machine; 7: images; 8: host
	 * images; 9: snapshot consistency; 10: cloud-init settings, a disk's
	 * content; 11: provisioning; 12: clock, hyperv; 13: networks, NICs;
	 * 14: a network's address cursor; 15: environments; 16: network
	 * leftovers; 17: graphics; 18: backups; 19: max_vcpus,
	 * max_memory_mib; 20: backup schedules; 21: fenced_at) come
	 * after 3 */
	assert_int_equal(store_schema_version(), 21);
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 21);
	assert_string_equal(sql_columns(f->path, "backups", buf, sizeof(buf)),
	    "id,vm_uuid,vm_name,mode,parent,checkpoint,checkpoint_xml,status,"
	    "spec,disks,size,op_id,created_at,scheduled");
	assert_string_equal(sql_columns(f->path, "vm_cloud_init", buf,
	    sizeof(buf)), "vm_id,spec,created_at");
	assert_string_equal(sql_columns(f->path, "vm_disks", buf,
	    sizeof(buf)), "vm_id,dev,device,bus,format,size_gib,volume,"
	    "boot_order,image,base_volume,created_at,content");
	assert_string_equal(sql_columns(f->path, "network_leftovers", buf,
	    sizeof(buf)), "host_id,name,uuid");
	assert_string_equal(sql_columns(f->path, "tokens", buf, sizeof(buf)),
	    "id,name,role,hash,created_at,revoked_at");
	assert_string_equal(sql_columns(f->path, "plans", buf, sizeof(buf)),
	    "id,kind,body,op_id,created_at");
	assert_string_equal(sql_columns(f->path, "events", buf, sizeof(buf)),
	    "id,ts,type,vm_uuid,vm_name,host,op_id,data");
	assert_string_equal(sql_columns(f->path, "snapshots", buf,
	    sizeof(buf)), "id,vm_id,name,description,memory,vm_state,parent,"
	    "status,scheduled,created_at,consistency");
	assert_string_equal(sql_columns(f->path, "idempotency", buf,
	    sizeof(buf)), "key,request,status,location,body,created_at");
	assert_string_equal(sql_columns(f->path, "vms", buf, sizeof(buf)),
	    "id,uuid,name,vcpus,memory_mib,disk_gib,host_id,desired_state,"
	    "observed_state,created_at,updated_at,group_id,snapshot_schedule,"
	    "snapshot_keep,snapshot_max_age_ms,snapshot_last_at,on_drift,"
	    "firmware,machine,domain_type,provisioning,clock,hyperv,"
	    "graphics,max_vcpus,max_memory_mib,backup_schedule,backup_keep,"
	    "backup_max_age_ms,backup_full_every,backup_last_at");
	assert_string_equal(sql_columns(f->path, "operations", buf,
	    sizeof(buf)), "id,kind,vm_id,vm_uuid,vm_name,status,step,params,"
	    "err_code,err_field,err_msg,created_at,started_at,finished_at,"
	    "idem_key,progress,parent_id,host_id");
	/* NOT NULL where the store relies on it */
	assert_string_equal(sql_text(f->path, "SELECT group_concat(name, ',')"
	    " FROM (SELECT name FROM pragma_table_info('events') WHERE"
	    " \"notnull\" ORDER BY cid)", buf, sizeof(buf)), "ts,type,data");
	assert_string_equal(sql_text(f->path, "SELECT dflt_value FROM"
	    " pragma_table_info('snapshots') WHERE name='status'", buf,
	    sizeof(buf)), "'creating'");
	/* events ids: AUTOINCREMENT */
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM sqlite_master"
	    " WHERE name='events' AND sql LIKE '%AUTOINCREMENT%'"), 1);
	/* snapshots go with their VM; names are unique per VM */
	assert_string_equal(sql_text(f->path, "SELECT \"table\" || ':' ||"
	    " \"from\" || ':' || on_delete FROM"
	    " pragma_foreign_key_list('snapshots')", buf, sizeof(buf)),
	    "vms:vm_id:CASCADE");
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM"
	    " pragma_index_list('snapshots') WHERE \"unique\" AND"
	    " origin='u'"), 1);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM sqlite_master"
	    " WHERE type='index' AND name IN ('events_ts',"
	    " 'idempotency_created','operations_idem','operations_finished')"),
	    4);
}

static void
test_schema_v3(void **state)
{
	struct fx *f = *state;

	expect_schema_v3(f);
}

/* Migrations 1 and 2 as they shipped (src/store/store.c). */
static const char v2_schema[] =
	"CREATE TABLE hosts ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  uri TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'ready',"
	"  arch TEXT NOT NULL DEFAULT '',"
	"  domain_type TEXT NOT NULL DEFAULT '',"
	"  cpus INTEGER NOT NULL DEFAULT 0,"
	"  memory_mib INTEGER NOT NULL DEFAULT 0,"
	"  free_memory_mib INTEGER NOT NULL DEFAULT 0,"
	"  cpu_model TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE TABLE vms ("
	"  id INTEGER PRIMARY KEY,"
	"  uuid TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL UNIQUE,"
	"  vcpus INTEGER NOT NULL CHECK (vcpus > 0),"
	"  memory_mib INTEGER NOT NULL CHECK (memory_mib > 0),"
	"  disk_gib INTEGER NOT NULL CHECK (disk_gib > 0),"
	"  host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE RESTRICT,"
	"  desired_state TEXT NOT NULL,"
	"  observed_state TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE INDEX vms_host ON vms(host_id);"
	"CREATE TABLE operations ("
	"  id TEXT PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  vm_id INTEGER REFERENCES vms(id) ON DELETE SET NULL,"
	"  vm_uuid TEXT NOT NULL,"
	"  vm_name TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  step TEXT NOT NULL DEFAULT '',"
	"  params TEXT NOT NULL DEFAULT '{}',"
	"  err_code TEXT, err_field TEXT, err_msg TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  started_at INTEGER, finished_at INTEGER);"
	"CREATE UNIQUE INDEX operations_active_vm ON operations(vm_id)"
	"  WHERE status IN ('queued','running');"
	"CREATE INDEX operations_created ON operations(created_at);"
	"ALTER TABLE hosts ADD COLUMN maintenance INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';"
	"ALTER TABLE hosts ADD COLUMN cpu_ratio REAL NOT NULL DEFAULT 4.0;"
	"ALTER TABLE hosts ADD COLUMN ram_ratio REAL NOT NULL DEFAULT 1.0;"
	"ALTER TABLE hosts ADD COLUMN disk_ratio REAL NOT NULL DEFAULT 1.0;"
	"ALTER TABLE hosts ADD COLUMN reserved_vcpus INTEGER NOT NULL DEFAULT 1;"
	"ALTER TABLE hosts ADD COLUMN reserved_memory_mib INTEGER NOT NULL"
	"  DEFAULT 512;"
	"ALTER TABLE hosts ADD COLUMN reserved_disk_gib INTEGER NOT NULL"
	"  DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN domain_types TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE hosts ADD COLUMN disk_gib INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE hosts ADD COLUMN disk_free_gib INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE groups ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  policy TEXT NOT NULL CHECK (policy IN ('affinity','anti-affinity')),"
	"  strict INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL);"
	"ALTER TABLE vms ADD COLUMN group_id INTEGER"
	"  REFERENCES groups(id) ON DELETE RESTRICT;"
	"CREATE INDEX vms_group ON vms(group_id);";

/* A version-2 database at f->path: host 'old', VM 'oldvm', a finished
 * operation; extra SQL (or NULL) runs after. */
static void
make_v2(struct fx *f, const char *extra)
{
	store_close(f->s);
	f->s = NULL;
	remove_db(f->path);
	sql_exec(f->path, v2_schema);
	sql_exec(f->path, "INSERT INTO hosts (name, uri, created_at,"
	    " updated_at) VALUES ('old', 'qemu:///system', 1000, 2000);"
	    "INSERT INTO vms (uuid, name, vcpus, memory_mib, disk_gib, host_id,"
	    " desired_state, observed_state, created_at, updated_at) VALUES"
	    " ('uuid-oldvm', 'oldvm', 2, 1024, 10, 1, 'running', 'running',"
	    " 3000, 4000);"
	    "INSERT INTO operations (id, kind, vm_id, vm_uuid, vm_name, status,"
	    " created_at, started_at, finished_at) VALUES ('op-old', 'create',"
	    " 1, 'uuid-oldvm', 'oldvm', 'succeeded', 3000, 3000, 3500);"
	    "PRAGMA user_version = 2;");
	if (extra)
		sql_exec(f->path, extra);
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 2);
}

static void
test_migrate_v2_to_v3(void **state)
{
	struct fx *f = *state;
	struct vm_rec v;
	struct op_rec o;
	struct store_conn *c;
	struct event_rec e;
	struct prune_arg p;
	char buf[256];
	int64_t first = -1;

	make_v2(f, NULL);
	if ((f->s = store_open(f->path)) == NULL)
		fail_msg("store_open of a v2 database: %s", err_last()->msg);
	expect_schema_v3(f);

	/* the old rows, with what version 3 added at its defaults */
	assert_int_equal(get_vm(f, "oldvm", &v), 0);
	assert_string_equal(v.host, "old");
	assert_int_equal(v.created_at, 3000);
	assert_int_equal(v.updated_at, 4000);
	assert_string_equal(v.snapshot_schedule, "");
	assert_int_equal(v.snapshot_keep, 0);
	assert_int_equal(v.snapshot_max_age_ms, 0);
	assert_int_equal(v.snapshot_last_at, 0);
	/* and what version 20 added */
	assert_string_equal(v.backup_schedule, "");
	assert_int_equal(v.backup_keep, 0);
	assert_int_equal(v.backup_max_age_ms, 0);
	assert_int_equal(v.backup_full_every, 7);
	assert_int_equal(v.backup_last_at, 0);
	assert_int_equal(get_op(f, "op-old", &o), 0);
	assert_string_equal(o.idem_key, "");
	assert_int_equal(o.status, OP_SUCCEEDED);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM operations"
	    " WHERE idem_key IS NULL"), 1);
	/* an empty log */
	assert_int_equal(store_event_last(f->s), 0);
	c = store_read_begin(f->s);
	assert_int_equal(store_event_first(c, &first), 0);
	store_read_end(c);
	assert_int_equal(first, 0);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM snapshots"), 0);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM idempotency"),
	    0);
	assert_string_equal(scheduled_vms(f, buf, sizeof(buf)), "");

	/* what version 3 added works on the old rows */
	assert_int_equal(snap_insert(f, &v, "s", "", false, false, NULL), 0);
	assert_int_equal(snap_ready(f, v.id, "s", "", "running", false,
	    NULL), 0);
	expect_one(f, 0, "snapshot.created", &e);
	expect_about(&e, "uuid-oldvm", "oldvm", "old", "");
	p = (struct prune_arg){ 3000, -1 };
	assert_int_equal(store_tx(f->s, tx_op_prune, &p), 0);
	assert_int_equal(p.pruned, 0);
	p = (struct prune_arg){ 3501, -1 };
	assert_int_equal(store_tx(f->s, tx_op_prune, &p), 0);
	assert_int_equal(p.pruned, 1);

	/* and opening it again migrates nothing more */
	store_close(f->s);
	assert_non_null(f->s = store_open(f->path));
	expect_schema_v3(f);
	assert_int_equal(store_event_last(f->s), e.id);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM snapshots"), 1);
}

/* Migration 3 that fails is rolled back whole. */
static void
test_migrate_v3_failure_rolls_back(void **state)
{
	struct fx *f = *state;

	/* a table in the way of CREATE TABLE idempotency */
	make_v2(f, "CREATE TABLE idempotency (x INTEGER);");
	err_clear();
	assert_null(f->s = store_open(f->path));
	assert_int_not_equal(err_last()->code, ERR_NONE);
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 2);
	/* the earlier statements of migration 3 are undone too */
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM sqlite_master"
	    " WHERE name IN ('events','snapshots','events_ts')"), 0);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM"
	    " pragma_table_info('vms') WHERE name LIKE 'snapshot_%'"), 0);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM"
	    " pragma_table_info('operations') WHERE name='idem_key'"), 0);

	/* once out of the way, it migrates */
	sql_exec(f->path, "DROP TABLE idempotency;");
	if ((f->s = store_open(f->path)) == NULL)
		fail_msg("store_open after the fix: %s", err_last()->msg);
	expect_schema_v3(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_host_events),
		T(test_op_events),
		T(test_vm_state_events),
		T(test_vm_observe_events),
		T(test_vm_delete_event),
		T(test_event_each),
		T(test_event_data),
		T(test_event_last_wait),
		T(test_event_prune),
		T(test_idem),
		T(test_op_get_by_idem),
		T(test_snapshots),
		T(test_vm_schedules),
		T(test_op_prune),
		T(test_snapshot_op_states),
		T(test_schema_v3),
		T(test_migrate_v2_to_v3),
		T(test_migrate_v3_failure_rolls_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
