/*
 * test_store.c - unit tests of store/: opening and migrating the
 * database (a version-1 database built by hand is migrated), hosts and
 * their settings, placement groups, VMs, operations, the transaction
 * helper, the sweep's guarded update, and the writer/reader pool under
 * concurrent use.
 *
 * Each test gets a fresh database in its own mkdtemp() directory, removed
 * afterwards.  The schema version and a few invariants are checked with
 * sqlite3 directly, behind the store's back.
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
	snprintf(f->dir, sizeof(f->dir), "%s/hangar-store-XXXXXX",
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

static int
teardown(void **state)
{
	struct fx *f = *state;
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char p[320];

	store_close(f->s);
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
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
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
sql_exec(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* --- transactions used by the tests --- */

static int
tx_host_insert(struct store_conn *c, void *arg)
{
	return store_host_insert(c, arg);
}

static int
tx_vm_insert(struct store_conn *c, void *arg)
{
	return store_vm_insert(c, arg, NULL, 0);
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
tx_vm_delete(struct store_conn *c, void *arg)
{
	return store_vm_delete(c, *(int64_t *)arg, NULL);
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

struct observe_arg {
	int64_t id;
	const char *state;
	int64_t seen;
};

static int
tx_observe(struct store_conn *c, void *arg)
{
	struct observe_arg *a = arg;

	return store_vm_observe(c, a->id, a->state, a->seen);
}

static int
tx_set_observed(struct store_conn *c, void *arg)
{
	struct observe_arg *a = arg;

	return store_vm_set_observed(c, a->id, a->state, NULL);
}

/* --- helpers --- */

static int64_t
add_host(struct fx *f, const char *name, const char *state)
{
	struct host_rec h;

	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "%s", name);
	snprintf(h.uri, sizeof(h.uri), "test:///%s", name);
	if (state)
		snprintf(h.state, sizeof(h.state), "%s", state);
	snprintf(h.arch, sizeof(h.arch), "x86_64");
	snprintf(h.domain_type, sizeof(h.domain_type), "kvm");
	h.cpus = 8;
	h.memory_mib = 32768;
	h.free_memory_mib = 30000;
	snprintf(h.cpu_model, sizeof(h.cpu_model), "Skylake");
	if (store_tx(f->s, tx_host_insert, &h) != 0)
		fail_msg("insert host '%s': %s", name, err_last()->msg);
	assert_true(h.id > 0);
	return h.id;
}

static void
vm_init(struct vm_rec *v, const char *name, int64_t host_id, int vcpus,
    int64_t mem, int64_t disk, const char *observed)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->uuid, sizeof(v->uuid), "uuid-%s", name);
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->vcpus = vcpus;
	v->memory_mib = mem;
	v->disk_gib = disk;
	v->host_id = host_id;
	snprintf(v->desired, sizeof(v->desired), "%s", observed);
	snprintf(v->observed, sizeof(v->observed), "%s", observed);
}

static struct vm_rec
add_vm(struct fx *f, const char *name, int64_t host_id, int vcpus,
    int64_t mem, int64_t disk, const char *observed)
{
	struct vm_rec v;

	vm_init(&v, name, host_id, vcpus, mem, disk, observed);
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
get_host(struct fx *f, const char *name, struct host_rec *out)
{
	struct store_conn *c = store_read_begin(f->s);
	int rc = store_host_get(c, name, out);

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

/* Collectors for the *_each calls. */
struct names {
	char v[256][NAME_MAX_LEN];
	int n;
	int stop_after;          /* 0: never */
};

static int
collect_host(const struct host_rec *h, void *arg)
{
	struct names *ns = arg;

	snprintf(ns->v[ns->n++], NAME_MAX_LEN, "%s", h->name);
	return ns->stop_after && ns->n >= ns->stop_after;
}

static int
collect_vm(const struct vm_rec *v, void *arg)
{
	struct names *ns = arg;

	snprintf(ns->v[ns->n++], NAME_MAX_LEN, "%s", v->name);
	return ns->stop_after && ns->n >= ns->stop_after;
}

static int
collect_op(const struct op_rec *o, void *arg)
{
	struct names *ns = arg;

	if (ns->n < 256)
		snprintf(ns->v[ns->n], NAME_MAX_LEN, "%s", o->id);
	ns->n++;
	return ns->stop_after && ns->n >= ns->stop_after;
}

static void
vms_where(struct fx *f, const char *host, const char *state,
    struct names *ns)
{
	struct store_conn *c = store_read_begin(f->s);

	memset(ns, 0, sizeof(*ns));
	if (store_vm_each(c, host, state, collect_vm, ns) != 0)
		fail_msg("store_vm_each: %s", err_last()->msg);
	store_read_end(c);
}

static void
ops_where(struct fx *f, int64_t vm_id, const char *status, int limit,
    struct names *ns)
{
	struct store_conn *c = store_read_begin(f->s);

	memset(ns, 0, sizeof(*ns));
	if (store_op_each(c, vm_id, status, limit, collect_op, ns) != 0)
		fail_msg("store_op_each: %s", err_last()->msg);
	store_read_end(c);
}

/* "a,b,c" from a name list, for compact assertions. */
static const char *
joined(const struct names *ns, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < ns->n && i < 256 && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? "," : "", ns->v[i]);
	return buf;
}

/* --- opening and the schema --- */

static void
test_open_creates_schema(void **state)
{
	struct fx *f = *state;

	assert_true(store_schema_version() >= 1);
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"),
	    store_schema_version());
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM sqlite_master"
	    " WHERE type='table' AND name IN ('hosts','vms','operations')"), 3);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM sqlite_master"
	    " WHERE type='index' AND name='operations_active_vm'"), 1);
	/* WAL, so readers see a snapshot while a write commits */
	{
		sqlite3 *db;
		sqlite3_stmt *st;

		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode",
		    -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 0),
		    "wal");
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
}

static void
test_reopen_idempotent(void **state)
{
	struct fx *f = *state;
	struct host_rec h;
	int64_t id = add_host(f, "keep", NULL);

	store_close(f->s);
	for (int i = 0; i < 3; i++) {
		f->s = store_open(f->path);
		if (f->s == NULL)
			fail_msg("reopen %d: %s", i, err_last()->msg);
		assert_int_equal(sql_int(f->path, "PRAGMA user_version"),
		    store_schema_version());
		assert_int_equal(get_host(f, "keep", &h), 0);
		assert_int_equal(h.id, id);
		if (i < 2)
			store_close(f->s);
	}
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM hosts"), 1);
}

static void
test_newer_schema_refused(void **state)
{
	struct fx *f = *state;
	char sql[64];
	int newer = store_schema_version() + 1;

	store_close(f->s);
	f->s = NULL;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", newer);
	sql_exec(f->path, sql);
	err_clear();
	assert_null(store_open(f->path));
	assert_int_equal(err_last()->code, ERR_UNAVAILABLE);
	assert_non_null(strstr(err_last()->msg, "newer"));
	/* left as it was */
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"), newer);

	/* teardown needs a store: put the version back and reopen */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", newer - 1);
	sql_exec(f->path, sql);
	assert_non_null(f->s = store_open(f->path));
}

static void
test_open_bad_path(void **state)
{
	(void)state;
	err_clear();
	assert_null(store_open("/nonexistent-dir-for-hangar/x/hangar.db"));
	assert_int_equal(err_last()->code, ERR_UNAVAILABLE);
	assert_non_null(strstr(err_last()->msg, "nonexistent-dir-for-hangar"));
}

/* --- hosts --- */

static void
test_host_insert_get_each(void **state)
{
	struct fx *f = *state;
	struct store_conn *c;
	struct host_rec h, dup;
	struct names ns;
	char buf[256];
	int64_t n, id_b;

	add_host(f, "charlie", NULL);
	id_b = add_host(f, "bravo", "unreachable");
	add_host(f, "alpha", NULL);

	assert_int_equal(get_host(f, "bravo", &h), 0);
	assert_int_equal(h.id, id_b);
	assert_string_equal(h.name, "bravo");
	assert_string_equal(h.uri, "test:///bravo");
	assert_string_equal(h.state, "unreachable");
	assert_string_equal(h.arch, "x86_64");
	assert_string_equal(h.domain_type, "kvm");
	assert_int_equal(h.cpus, 8);
	assert_int_equal(h.memory_mib, 32768);
	assert_int_equal(h.free_memory_mib, 30000);
	assert_string_equal(h.cpu_model, "Skylake");
	assert_true(h.created_at > 0 && h.created_at == h.updated_at);
	assert_int_equal(h.vms, 0);
	/* the default state is ready */
	assert_int_equal(get_host(f, "alpha", &h), 0);
	assert_string_equal(h.state, "ready");

	c = store_read_begin(f->s);
	assert_int_equal(store_host_get_id(c, id_b, &h), 0);
	assert_string_equal(h.name, "bravo");
	/* by id and by name: the same record (no VMs, so the same counters) */
	assert_int_equal(store_host_get(c, "bravo", &dup), 0);
	assert_memory_equal(&h, &dup, sizeof(h));
	assert_int_equal(store_host_get_id(c, 999, &h), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(store_host_get(c, "delta", &h), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_non_null(strstr(err_last()->msg, "'delta'"));
	assert_int_equal(store_host_count(c, &n), 0);
	assert_int_equal(n, 3);
	memset(&ns, 0, sizeof(ns));
	assert_int_equal(store_host_each(c, collect_host, &ns), 0);
	assert_string_equal(joined(&ns, buf, sizeof(buf)),
	    "alpha,bravo,charlie");
	/* fn returning non-zero stops the walk */
	memset(&ns, 0, sizeof(ns));
	ns.stop_after = 2;
	assert_int_equal(store_host_each(c, collect_host, &ns), 0);
	assert_int_equal(ns.n, 2);
	store_read_end(c);

	/* duplicate name */
	memset(&dup, 0, sizeof(dup));
	snprintf(dup.name, sizeof(dup.name), "bravo");
	snprintf(dup.uri, sizeof(dup.uri), "test:///other");
	assert_int_equal(store_tx(f->s, tx_host_insert, &dup), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_non_null(strstr(err_last()->msg, "'bravo'"));
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM hosts"), 3);
}

static int
tx_host_facts(struct store_conn *c, void *arg)
{
	struct host_rec *h = arg;

	if (store_host_update_facts(c, h) < 0)
		return -1;
	return store_host_set_state(c, h->id, h->state);
}

static void
test_host_update(void **state)
{
	struct fx *f = *state;
	struct host_rec h, got;

	memset(&h, 0, sizeof(h));
	h.id = add_host(f, "h", NULL);
	sleep_ms(3);
	snprintf(h.arch, sizeof(h.arch), "aarch64");
	snprintf(h.domain_type, sizeof(h.domain_type), "qemu");
	snprintf(h.cpu_model, sizeof(h.cpu_model), "cortex-a72");
	snprintf(h.state, sizeof(h.state), "unreachable");
	h.cpus = 4;
	h.memory_mib = 1024;
	h.free_memory_mib = 512;
	assert_int_equal(store_tx(f->s, tx_host_facts, &h), 0);
	assert_int_equal(get_host(f, "h", &got), 0);
	assert_string_equal(got.arch, "aarch64");
	assert_string_equal(got.domain_type, "qemu");
	assert_string_equal(got.cpu_model, "cortex-a72");
	assert_string_equal(got.state, "unreachable");
	assert_int_equal(got.cpus, 4);
	assert_int_equal(got.memory_mib, 1024);
	assert_int_equal(got.free_memory_mib, 512);
	assert_true(got.updated_at > got.created_at);
	/* facts of an unknown host */
	h.id = 4242;
	assert_int_equal(store_tx(f->s, tx_host_facts, &h), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
}

struct fence_arg {
	int64_t id;
	bool fenced;
};

static int
tx_host_fence(struct store_conn *c, void *arg)
{
	struct fence_arg *a = arg;

	return store_host_set_fenced(c, a->id, a->fenced, NULL);
}

/* Fencing is a fact of its own: the connection state does not undo it. */
static void
test_host_fence(void **state)
{
	struct fx *f = *state;
	struct fence_arg a = { add_host(f, "h", NULL), true };
	struct host_rec h;
	int64_t at;

	assert_int_equal(get_host(f, "h", &h), 0);
	assert_int_equal(h.fenced_at, 0);
	assert_int_equal(store_tx(f->s, tx_host_fence, &a), 0);
	assert_int_equal(get_host(f, "h", &h), 0);
	assert_true(h.fenced_at > 0);
	at = h.fenced_at;
	/* a repeat keeps the first time and writes no second event */
	sleep_ms(3);
	assert_int_equal(store_tx(f->s, tx_host_fence, &a), 0);
	assert_int_equal(get_host(f, "h", &h), 0);
	assert_int_equal(h.fenced_at, at);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM events WHERE"
	    " type = 'host.fenced'"), 1);
	snprintf(h.state, sizeof(h.state), "ready");
	assert_int_equal(store_tx(f->s, tx_host_facts, &h), 0);
	assert_int_equal(get_host(f, "h", &h), 0);
	assert_int_equal(h.fenced_at, at);
	a.fenced = false;
	assert_int_equal(store_tx(f->s, tx_host_fence, &a), 0);
	assert_int_equal(get_host(f, "h", &h), 0);
	assert_int_equal(h.fenced_at, 0);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM events WHERE"
	    " type = 'host.unfenced'"), 1);
}

/* --- VMs --- */

static void
test_vm_insert_get(void **state)
{
	struct fx *f = *state;
	struct store_conn *c;
	struct vm_rec v, got, dup;
	int64_t hid = add_host(f, "h1", NULL);

	v = add_vm(f, "web1", hid, 2, 1024, 20, "stopped");
	assert_int_equal(get_vm(f, "uuid-web1", &got), 0);
	assert_int_equal(got.id, v.id);
	assert_string_equal(got.uuid, "uuid-web1");
	assert_string_equal(got.name, "web1");
	assert_int_equal(got.vcpus, 2);
	assert_int_equal(got.memory_mib, 1024);
	assert_int_equal(got.disk_gib, 20);
	assert_int_equal(got.host_id, hid);
	assert_string_equal(got.host, "h1");
	assert_string_equal(got.desired, "stopped");
	assert_string_equal(got.observed, "stopped");
	assert_string_equal(got.state, "stopped");
	assert_string_equal(got.op_id, "");
	assert_true(got.created_at > 0 && got.created_at == v.created_at);

	memset(&got, 0, sizeof(got));
	assert_int_equal(get_vm(f, "web1", &got), 0);
	assert_int_equal(got.id, v.id);
	c = store_read_begin(f->s);
	assert_int_equal(store_vm_get_id(c, v.id, &got), 0);
	assert_string_equal(got.name, "web1");
	assert_int_equal(store_vm_get_id(c, v.id + 100, &got), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	store_read_end(c);

	assert_int_equal(get_vm(f, "web2", &got), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_non_null(strstr(err_last()->msg, "'web2'"));
	/* a name is not found by a prefix or a LIKE pattern */
	assert_int_equal(get_vm(f, "web%", &got), -1);
	assert_int_equal(get_vm(f, "uuid-web", &got), -1);

	/* duplicate name: conflict, naming the field */
	vm_init(&dup, "web1", hid, 1, 64, 1, "stopped");
	snprintf(dup.uuid, sizeof(dup.uuid), "another-uuid");
	assert_int_equal(store_tx(f->s, tx_vm_insert, &dup), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_string_equal(err_last()->field, "name");
	assert_non_null(strstr(err_last()->msg, "'web1'"));
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM vms"), 1);
}

static void
test_host_allocation(void **state)
{
	struct fx *f = *state;
	struct store_conn *c;
	struct host_rec h;
	struct vm_rec v1;
	int64_t a = add_host(f, "a", NULL), b = add_host(f, "b", NULL);

	v1 = add_vm(f, "v1", a, 1, 512, 10, "stopped");
	add_vm(f, "v2", a, 3, 1024, 20, "running");
	add_vm(f, "v3", b, 2, 256, 5, "running");

	assert_int_equal(get_host(f, "a", &h), 0);
	assert_int_equal(h.vms, 2);
	assert_int_equal(h.alloc_vcpus, 4);
	assert_int_equal(h.alloc_memory_mib, 1536);
	assert_int_equal(h.alloc_disk_gib, 30);
	assert_int_equal(get_host(f, "b", &h), 0);
	assert_int_equal(h.vms, 1);
	assert_int_equal(h.alloc_vcpus, 2);
	assert_int_equal(h.alloc_memory_mib, 256);
	assert_int_equal(h.alloc_disk_gib, 5);
	/* by id: the host's own columns, without the sums over its VMs */
	c = store_read_begin(f->s);
	assert_int_equal(store_host_get_id(c, a, &h), 0);
	assert_string_equal(h.name, "a");
	assert_int_equal(h.vms, 0);
	assert_int_equal(h.alloc_vcpus, 0);
	assert_int_equal(h.alloc_memory_mib, 0);
	assert_int_equal(h.alloc_disk_gib, 0);
	store_read_end(c);

	/* a host with nothing on it, through store_host_each too */
	add_host(f, "c", NULL);
	{
		struct names ns;
		char buf[64];

		c = store_read_begin(f->s);
		memset(&ns, 0, sizeof(ns));
		assert_int_equal(store_host_each(c, collect_host, &ns), 0);
		store_read_end(c);
		/* one row per host, not one per VM */
		assert_string_equal(joined(&ns, buf, sizeof(buf)), "a,b,c");
	}
	assert_int_equal(get_host(f, "c", &h), 0);
	assert_int_equal(h.vms, 0);
	assert_int_equal(h.alloc_vcpus, 0);
	assert_int_equal(h.alloc_memory_mib, 0);
	assert_int_equal(h.alloc_disk_gib, 0);

	/* derived, so a delete is seen at once */
	assert_int_equal(store_tx(f->s, tx_vm_delete, &v1.id), 0);
	assert_int_equal(get_host(f, "a", &h), 0);
	assert_int_equal(h.vms, 1);
	assert_int_equal(h.alloc_vcpus, 3);
	assert_int_equal(h.alloc_memory_mib, 1024);
	assert_int_equal(h.alloc_disk_gib, 20);
}

struct each_sums {
	int64_t vms, vcpus, mem, disk;
};

static int
sum_host_each(const struct host_rec *h, void *arg)
{
	struct each_sums *s = arg;

	s->vms += h->vms;
	s->vcpus += h->alloc_vcpus;
	s->mem += h->alloc_memory_mib;
	s->disk += h->alloc_disk_gib;
	return 0;
}

static void
test_host_each_allocation(void **state)
{
	struct fx *f = *state;
	struct store_conn *c;
	struct each_sums s;
	int64_t a = add_host(f, "a", NULL), b = add_host(f, "b", NULL);

	add_vm(f, "v1", a, 1, 100, 1, "stopped");
	add_vm(f, "v2", b, 2, 200, 2, "stopped");
	add_vm(f, "v3", b, 4, 400, 4, "stopped");
	memset(&s, 0, sizeof(s));
	c = store_read_begin(f->s);
	assert_int_equal(store_host_each(c, sum_host_each, &s), 0);
	store_read_end(c);
	assert_int_equal(s.vms, 3);
	assert_int_equal(s.vcpus, 7);
	assert_int_equal(s.mem, 700);
	assert_int_equal(s.disk, 7);
}

static void
test_vm_each_filters(void **state)
{
	struct fx *f = *state;
	struct names ns;
	struct vm_rec v;
	char buf[512];
	int64_t a = add_host(f, "a", NULL), b = add_host(f, "b", NULL);

	add_vm(f, "zeta", a, 1, 64, 1, "running");
	v = add_vm(f, "alpha", a, 1, 64, 1, "running");
	add_vm(f, "mid", a, 1, 64, 1, "stopped");
	add_vm(f, "beta", b, 1, 64, 1, "running");
	add_vm(f, "gamma", b, 1, 64, 1, "paused");

	vms_where(f, NULL, NULL, &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)),
	    "alpha,beta,gamma,mid,zeta");
	vms_where(f, "a", NULL, &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "alpha,mid,zeta");
	vms_where(f, "b", NULL, &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "beta,gamma");
	vms_where(f, "nowhere", NULL, &ns);
	assert_int_equal(ns.n, 0);
	vms_where(f, NULL, "running", &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "alpha,beta,zeta");
	vms_where(f, "b", "running", &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "beta");
	vms_where(f, NULL, "stopping", &ns);
	assert_int_equal(ns.n, 0);

	/* an active stop makes alpha "stopping", no longer "running" */
	assert_int_equal(add_op(f, "op-stop", OP_STOP, &v), 0);
	assert_int_equal(get_vm(f, "alpha", &v), 0);
	assert_string_equal(v.state, "stopping");
	assert_string_equal(v.observed, "running");
	assert_string_equal(v.op_id, "op-stop");
	vms_where(f, NULL, "stopping", &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "alpha");
	vms_where(f, "a", "stopping", &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "alpha");
	vms_where(f, "b", "stopping", &ns);
	assert_int_equal(ns.n, 0);
	vms_where(f, NULL, "running", &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "beta,zeta");
	/* one row per VM even with an operation joined in */
	vms_where(f, NULL, NULL, &ns);
	assert_int_equal(ns.n, 5);

	/* running, then finished: back to the observed state */
	assert_int_equal(store_tx(f->s, tx_op_running, "op-stop"), 0);
	vms_where(f, NULL, "stopping", &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "alpha");
	assert_int_equal(finish_op(f, "op-stop", OP_SUCCEEDED, NULL), 0);
	vms_where(f, NULL, "stopping", &ns);
	assert_int_equal(ns.n, 0);
	vms_where(f, NULL, "running", &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "alpha,beta,zeta");

	/* early stop */
	{
		struct store_conn *c = store_read_begin(f->s);

		memset(&ns, 0, sizeof(ns));
		ns.stop_after = 1;
		assert_int_equal(store_vm_each(c, NULL, NULL, collect_vm, &ns),
		    0);
		store_read_end(c);
		assert_int_equal(ns.n, 1);
	}
}

static void
test_vm_transitional_states(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h", NULL);
	struct vm_rec v = add_vm(f, "v", h, 1, 64, 1, "stopped"), got;
	char id[32];

	for (int k = 0; k < OP_KIND__COUNT; k++) {
		/* host-, fleet- and library-level kinds have no VM to show
		 * it on */
		if (k == OP_DRAIN || k == OP_PLAN || k == OP_IMAGE_IMPORT ||
		    k == OP_IMAGE_PRUNE || k == OP_EVACUATE)
			continue;
		snprintf(id, sizeof(id), "op-%d", k);
		assert_int_equal(add_op(f, id, (enum op_kind)k, &v), 0);
		assert_int_equal(get_vm(f, "v", &got), 0);
		assert_string_equal(got.state,
		    op_kind_transitional((enum op_kind)k));
		assert_string_equal(got.op_id, id);
		assert_int_equal(finish_op(f, id, OP_SUCCEEDED, NULL), 0);
		assert_int_equal(get_vm(f, "v", &got), 0);
		assert_string_equal(got.state, "stopped");
		assert_string_equal(got.op_id, "");
	}
}

/* --- operations --- */

static void
test_op_insert_queued(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h", NULL);
	struct vm_rec v = add_vm(f, "web1", h, 1, 64, 1, "stopped");
	struct op_rec o, got;
	int64_t before = time_now_ms();

	op_init(&o, "op-1", OP_START, &v);
	o.status = OP_FAILED;           /* ignored: inserts are queued */
	assert_int_equal(store_tx(f->s, tx_op_insert, &o), 0);
	assert_int_equal(o.status, OP_QUEUED);
	assert_int_equal(get_op(f, "op-1", &got), 0);
	assert_string_equal(got.id, "op-1");
	assert_int_equal(got.kind, OP_START);
	assert_int_equal(got.status, OP_QUEUED);
	assert_int_equal(got.vm_id, v.id);
	assert_string_equal(got.vm_uuid, "uuid-web1");
	assert_string_equal(got.vm_name, "web1");
	assert_string_equal(got.params, "{}");
	assert_string_equal(got.step, "");
	assert_string_equal(got.err_code, "");
	assert_true(got.created_at >= before && got.created_at <= time_now_ms());
	assert_int_equal(got.started_at, 0);
	assert_int_equal(got.finished_at, 0);

	assert_int_equal(get_op(f, "op-2", &got), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);

	/* params are kept as given */
	assert_int_equal(finish_op(f, "op-1", OP_SUCCEEDED, NULL), 0);
	op_init(&o, "op-2", OP_STOP, &v);
	snprintf(o.params, sizeof(o.params), "{\"force\":true}");
	assert_int_equal(store_tx(f->s, tx_op_insert, &o), 0);
	assert_int_equal(get_op(f, "op-2", &got), 0);
	assert_string_equal(got.params, "{\"force\":true}");
	assert_int_equal(got.kind, OP_STOP);

	/* running: started_at set, only from queued */
	sleep_ms(2);
	assert_int_equal(store_tx(f->s, tx_op_running, "op-2"), 0);
	assert_int_equal(get_op(f, "op-2", &got), 0);
	assert_int_equal(got.status, OP_RUNNING);
	assert_true(got.started_at >= got.created_at);
	assert_int_equal(store_tx(f->s, tx_op_running, "op-2"), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
}

static int
tx_step(struct store_conn *c, void *arg)
{
	return store_op_set_step(c, arg, "creating the disk");
}

static void
test_op_one_active_per_vm(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h", NULL);
	struct vm_rec v = add_vm(f, "web1", h, 1, 64, 1, "running");
	struct vm_rec w = add_vm(f, "web2", h, 1, 64, 1, "running");
	struct op_rec got;

	assert_int_equal(add_op(f, "op-1", OP_STOP, &v), 0);
	assert_int_equal(add_op(f, "op-2", OP_REBOOT, &v), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_non_null(strstr(err_last()->msg, "'web1'"));
	assert_int_equal(get_op(f, "op-2", &got), -1);
	/* another VM is not held up */
	assert_int_equal(add_op(f, "op-3", OP_STOP, &w), 0);
	/* still held while running */
	assert_int_equal(store_tx(f->s, tx_op_running, "op-1"), 0);
	assert_int_equal(store_tx(f->s, tx_step, "op-1"), 0);
	assert_int_equal(get_op(f, "op-1", &got), 0);
	assert_string_equal(got.step, "creating the disk");
	assert_int_equal(add_op(f, "op-2", OP_REBOOT, &v), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);

	/* finished: the VM takes a new operation */
	assert_int_equal(finish_op(f, "op-1", OP_SUCCEEDED, NULL), 0);
	assert_int_equal(get_op(f, "op-1", &got), 0);
	assert_int_equal(got.status, OP_SUCCEEDED);
	assert_true(got.finished_at >= got.started_at && got.started_at > 0);
	assert_int_equal(add_op(f, "op-2", OP_START, &v), 0);
	/* cancelled counts as finished too */
	assert_int_equal(finish_op(f, "op-2", OP_CANCELLED, NULL), 0);
	assert_int_equal(add_op(f, "op-4", OP_START, &v), 0);

	/* finishing twice: the second finds nothing unfinished */
	assert_int_equal(finish_op(f, "op-1", OP_FAILED, NULL), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(get_op(f, "op-1", &got), 0);
	assert_int_equal(got.status, OP_SUCCEEDED);
	/* the same id twice is refused */
	assert_int_equal(add_op(f, "op-1", OP_START, &w), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
}

static void
test_op_finish_error(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h", NULL);
	struct vm_rec v = add_vm(f, "web1", h, 1, 64, 1, "stopped");
	struct op_rec got;
	struct err e;

	assert_int_equal(add_op(f, "op-1", OP_CREATE, &v), 0);
	err_set_field(ERR_BACKEND, "disk_gib", "libvirt could not create the "
	    "disk volume: 'pool' is full");
	err_save(&e);
	assert_int_equal(finish_op(f, "op-1", OP_FAILED, &e), 0);
	assert_int_equal(get_op(f, "op-1", &got), 0);
	assert_int_equal(got.status, OP_FAILED);
	assert_string_equal(got.err_code, "backend-error");
	assert_string_equal(got.err_field, "disk_gib");
	assert_string_equal(got.err_msg, "libvirt could not create the disk "
	    "volume: 'pool' is full");
	/* never started: started_at is the finish time */
	assert_true(got.finished_at > 0);
	assert_int_equal(got.started_at, got.finished_at);

	/* no field: stored empty */
	assert_int_equal(add_op(f, "op-2", OP_START, &v), 0);
	err_set(ERR_TIMEOUT, "vm 'web1' did not start in time");
	err_save(&e);
	assert_int_equal(finish_op(f, "op-2", OP_FAILED, &e), 0);
	assert_int_equal(get_op(f, "op-2", &got), 0);
	assert_string_equal(got.err_code, "timeout");
	assert_string_equal(got.err_field, "");

	/* success ignores an error passed along */
	assert_int_equal(add_op(f, "op-3", OP_START, &v), 0);
	assert_int_equal(finish_op(f, "op-3", OP_SUCCEEDED, &e), 0);
	assert_int_equal(get_op(f, "op-3", &got), 0);
	assert_string_equal(got.err_code, "");
	assert_string_equal(got.err_msg, "");

	/* unknown id */
	assert_int_equal(finish_op(f, "op-none", OP_SUCCEEDED, NULL), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
}

static void
test_op_each(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h", NULL);
	struct vm_rec a = add_vm(f, "a", h, 1, 64, 1, "stopped");
	struct vm_rec b = add_vm(f, "b", h, 1, 64, 1, "stopped");
	struct names ns;
	char buf[512];

	/* a1 a2 b1 finished; a3, b2 active (b2 running) */
	assert_int_equal(add_op(f, "a1", OP_START, &a), 0);
	assert_int_equal(finish_op(f, "a1", OP_SUCCEEDED, NULL), 0);
	assert_int_equal(add_op(f, "b1", OP_START, &b), 0);
	assert_int_equal(finish_op(f, "b1", OP_FAILED, NULL), 0);
	assert_int_equal(add_op(f, "a2", OP_STOP, &a), 0);
	assert_int_equal(finish_op(f, "a2", OP_SUCCEEDED, NULL), 0);
	assert_int_equal(add_op(f, "b2", OP_START, &b), 0);
	assert_int_equal(store_tx(f->s, tx_op_running, "b2"), 0);
	assert_int_equal(add_op(f, "a3", OP_DELETE, &a), 0);

	ops_where(f, 0, NULL, 0, &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "a3,b2,a2,b1,a1");
	ops_where(f, a.id, NULL, 0, &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "a3,a2,a1");
	ops_where(f, b.id, NULL, 0, &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "b2,b1");
	ops_where(f, 0, "succeeded", 0, &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "a2,a1");
	ops_where(f, 0, "running", 0, &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "b2");
	ops_where(f, 0, "queued", 0, &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "a3");
	ops_where(f, a.id, "failed", 0, &ns);
	assert_int_equal(ns.n, 0);
	ops_where(f, b.id, "failed", 0, &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "b1");
	ops_where(f, 0, NULL, 2, &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "a3,b2");
	ops_where(f, a.id, NULL, 1, &ns);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "a3");
	ops_where(f, 9999, NULL, 0, &ns);
	assert_int_equal(ns.n, 0);

	/* early stop */
	{
		struct store_conn *c = store_read_begin(f->s);

		memset(&ns, 0, sizeof(ns));
		ns.stop_after = 3;
		assert_int_equal(store_op_each(c, 0, NULL, 0, collect_op, &ns),
		    0);
		store_read_end(c);
		assert_int_equal(ns.n, 3);
	}
}

struct many_ops {
	const struct vm_rec *v;
	int n;
};

static int
tx_many_ops(struct store_conn *c, void *arg)
{
	struct many_ops *m = arg;
	struct op_rec o;
	char id[32];

	for (int i = 0; i < m->n; i++) {
		snprintf(id, sizeof(id), "bulk-%03d", i);
		op_init(&o, id, OP_START, m->v);
		if (store_op_insert(c, &o) < 0 ||
		    store_op_finish(c, id, OP_SUCCEEDED, NULL) < 0)
			return -1;
	}
	return 0;
}

static void
test_op_each_default_limit(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h", NULL);
	struct vm_rec v = add_vm(f, "v", h, 1, 64, 1, "stopped");
	struct many_ops m = { &v, 130 };
	struct names ns;

	assert_int_equal(store_tx(f->s, tx_many_ops, &m), 0);
	ops_where(f, 0, NULL, 0, &ns);
	assert_int_equal(ns.n, 100);
	/* newest first even within one millisecond */
	assert_string_equal(ns.v[0], "bulk-129");
	assert_string_equal(ns.v[99], "bulk-030");
	ops_where(f, 0, NULL, -5, &ns);
	assert_int_equal(ns.n, 100);
	ops_where(f, 0, NULL, 1000, &ns);
	assert_int_equal(ns.n, 130);
	ops_where(f, v.id, "succeeded", 120, &ns);
	assert_int_equal(ns.n, 120);
}

static void
test_op_each_unfinished(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h", NULL);
	struct vm_rec a = add_vm(f, "a", h, 1, 64, 1, "stopped");
	struct vm_rec b = add_vm(f, "b", h, 1, 64, 1, "stopped");
	struct vm_rec c = add_vm(f, "c", h, 1, 64, 1, "stopped");
	struct store_conn *rc;
	struct names ns;
	char buf[256];

	assert_int_equal(add_op(f, "done", OP_START, &a), 0);
	assert_int_equal(finish_op(f, "done", OP_SUCCEEDED, NULL), 0);
	assert_int_equal(add_op(f, "first", OP_START, &b), 0);
	assert_int_equal(add_op(f, "second", OP_START, &a), 0);
	assert_int_equal(store_tx(f->s, tx_op_running, "second"), 0);
	assert_int_equal(add_op(f, "third", OP_START, &c), 0);
	assert_int_equal(finish_op(f, "third", OP_FAILED, NULL), 0);
	assert_int_equal(add_op(f, "fourth", OP_START, &c), 0);

	rc = store_read_begin(f->s);
	memset(&ns, 0, sizeof(ns));
	assert_int_equal(store_op_each_unfinished(rc, collect_op, &ns), 0);
	store_read_end(rc);
	/* oldest first, queued and running alike */
	assert_string_equal(joined(&ns, buf, sizeof(buf)),
	    "first,second,fourth");
}

static void
test_vm_delete_keeps_ops(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h", NULL);
	struct vm_rec v = add_vm(f, "gone", h, 1, 64, 1, "stopped");
	struct vm_rec w = add_vm(f, "stays", h, 1, 64, 1, "stopped");
	struct op_rec got;
	struct names ns;
	int64_t missing = v.id;

	assert_int_equal(add_op(f, "op-start", OP_START, &v), 0);
	assert_int_equal(finish_op(f, "op-start", OP_SUCCEEDED, NULL), 0);
	assert_int_equal(add_op(f, "op-del", OP_DELETE, &v), 0);
	assert_int_equal(add_op(f, "op-w", OP_START, &w), 0);
	assert_int_equal(store_tx(f->s, tx_vm_delete, &v.id), 0);
	assert_int_equal(finish_op(f, "op-del", OP_SUCCEEDED, NULL), 0);

	assert_int_equal(get_vm(f, "gone", &v), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(get_op(f, "op-start", &got), 0);
	assert_int_equal(got.vm_id, 0);
	assert_string_equal(got.vm_name, "gone");
	assert_string_equal(got.vm_uuid, "uuid-gone");
	assert_int_equal(get_op(f, "op-del", &got), 0);
	assert_int_equal(got.vm_id, 0);
	assert_int_equal(got.status, OP_SUCCEEDED);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM operations"
	    " WHERE vm_id IS NULL"), 2);
	/* the other VM's operation is untouched */
	assert_int_equal(get_op(f, "op-w", &got), 0);
	assert_int_equal(got.vm_id, w.id);
	ops_where(f, w.id, NULL, 0, &ns);
	assert_int_equal(ns.n, 1);

	/* deleting again: not found */
	assert_int_equal(store_tx(f->s, tx_vm_delete, &missing), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
}

/* --- transactions --- */

struct rollback_arg {
	const char *name;
	int fail;
};

static int
tx_insert_then(struct store_conn *c, void *arg)
{
	struct rollback_arg *a = arg;
	struct host_rec h;

	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "%s", a->name);
	snprintf(h.uri, sizeof(h.uri), "test:///x");
	if (store_host_insert(c, &h) < 0)
		return -1;
	if (a->fail)
		return err_set(ERR_NO_CAPACITY, "changed my mind about '%s'",
		    a->name);
	return 0;
}

static int
tx_two_hosts_second_dup(struct store_conn *c, void *arg)
{
	struct rollback_arg a1 = { "fresh", 0 }, a2 = { arg, 0 };

	if (tx_insert_then(c, &a1) < 0)
		return -1;
	return tx_insert_then(c, &a2);
}

static void
test_tx_rollback_commit(void **state)
{
	struct fx *f = *state;
	struct rollback_arg a = { "ghost", 1 };
	struct host_rec h;

	assert_int_equal(store_tx(f->s, tx_insert_then, &a), -1);
	/* fn's own error survives the rollback */
	assert_int_equal(err_last()->code, ERR_NO_CAPACITY);
	assert_non_null(strstr(err_last()->msg, "'ghost'"));
	assert_int_equal(get_host(f, "ghost", &h), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM hosts"), 0);

	a.fail = 0;
	assert_int_equal(store_tx(f->s, tx_insert_then, &a), 0);
	assert_int_equal(get_host(f, "ghost", &h), 0);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM hosts"), 1);

	/* a failing statement rolls back the earlier ones of the same tx */
	assert_int_equal(store_tx(f->s, tx_two_hosts_second_dup,
	    (void *)"ghost"), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_int_equal(get_host(f, "fresh", &h), -1);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM hosts"), 1);

	/* and the writer is usable afterwards */
	a.name = "after";
	assert_int_equal(store_tx(f->s, tx_insert_then, &a), 0);
	assert_int_equal(get_host(f, "after", &h), 0);
}

/* --- the sweep's guarded update --- */

static void
test_vm_observe(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h", NULL);
	struct vm_rec v = add_vm(f, "v", h, 1, 64, 1, "stopped"), got;
	struct observe_arg oa;

	/* updated_at has millisecond resolution: keep writes apart */
	sleep_ms(3);
	/* the row as the sweep read it: applied */
	oa = (struct observe_arg){ v.id, "running", v.updated_at };
	assert_int_equal(store_tx(f->s, tx_observe, &oa), 0);
	assert_int_equal(get_vm(f, "v", &got), 0);
	assert_string_equal(got.observed, "running");
	assert_true(got.updated_at > v.updated_at);

	/* stale: the row changed since (updated_at differs) */
	sleep_ms(3);
	oa = (struct observe_arg){ v.id, "crashed", v.updated_at };
	assert_int_equal(store_tx(f->s, tx_observe, &oa), 0);
	assert_int_equal(get_vm(f, "v", &v), 0);
	assert_string_equal(v.observed, "running");
	assert_int_equal(v.updated_at, got.updated_at);

	/* an operation under way: left alone even with a fresh updated_at */
	assert_int_equal(add_op(f, "op-1", OP_STOP, &v), 0);
	sleep_ms(3);
	oa = (struct observe_arg){ v.id, "stopped", v.updated_at };
	assert_int_equal(store_tx(f->s, tx_observe, &oa), 0);
	assert_int_equal(get_vm(f, "v", &got), 0);
	assert_string_equal(got.observed, "running");
	assert_string_equal(got.state, "stopping");
	assert_int_equal(store_tx(f->s, tx_op_running, "op-1"), 0);
	assert_int_equal(store_tx(f->s, tx_observe, &oa), 0);
	assert_int_equal(get_vm(f, "v", &got), 0);
	assert_string_equal(got.observed, "running");

	/* the operation writes, then finishes; the sweep's old view loses */
	sleep_ms(3);
	oa = (struct observe_arg){ v.id, "stopped", 0 };
	assert_int_equal(store_tx(f->s, tx_set_observed, &oa), 0);
	assert_int_equal(finish_op(f, "op-1", OP_SUCCEEDED, NULL), 0);
	sleep_ms(3);
	oa = (struct observe_arg){ v.id, "running", v.updated_at };
	assert_int_equal(store_tx(f->s, tx_observe, &oa), 0);
	assert_int_equal(get_vm(f, "v", &got), 0);
	assert_string_equal(got.observed, "stopped");

	/* a fresh view after the operation is applied */
	sleep_ms(3);
	oa = (struct observe_arg){ v.id, "crashed", got.updated_at };
	assert_int_equal(store_tx(f->s, tx_observe, &oa), 0);
	assert_int_equal(get_vm(f, "v", &v), 0);
	assert_string_equal(v.observed, "crashed");

	/* the same state again changes nothing, not even updated_at */
	sleep_ms(3);
	oa = (struct observe_arg){ v.id, "crashed", v.updated_at };
	assert_int_equal(store_tx(f->s, tx_observe, &oa), 0);
	assert_int_equal(get_vm(f, "v", &got), 0);
	assert_int_equal(got.updated_at, v.updated_at);

	/* a row that is gone is no error */
	oa = (struct observe_arg){ v.id + 1000, "running", v.updated_at };
	assert_int_equal(store_tx(f->s, tx_observe, &oa), 0);
}

/* --- concurrency --- */

#define CONC_THREADS 8
#define CONC_TXS 200

struct conc {
	struct fx *f;
	int64_t host_id;
	int t;
	int errors;
	char first_error[ERR_MSG_MAX + NAME_MAX_LEN + 8];
	volatile int *writers_left;
	/* reader results */
	int reads;
	int inconsistent;
	int went_back;
};

struct conc_tx {
	struct vm_rec vm;
	struct op_rec op;
	int runs;
};

/* One VM and its create operation, as POST /v1/vms does. */
static int
tx_vm_and_op(struct store_conn *c, void *arg)
{
	struct conc_tx *t = arg;

	t->runs++;
	if (store_vm_insert(c, &t->vm, NULL, 0) < 0)
		return -1;
	t->op.vm_id = t->vm.id;
	return store_op_insert(c, &t->op);
}

static void *
conc_writer(void *arg)
{
	struct conc *w = arg;
	struct conc_tx t;
	char name[NAME_MAX_LEN], id[UUID_STR_LEN];

	for (int i = 0; i < CONC_TXS; i++) {
		snprintf(name, sizeof(name), "t%d-vm%d", w->t, i);
		vm_init(&t.vm, name, w->host_id, 1, 16, 1, "stopped");
		snprintf(id, sizeof(id), "t%d-op%d", w->t, i);
		op_init(&t.op, id, OP_CREATE, &t.vm);
		t.runs = 0;
		if (store_tx(w->f->s, tx_vm_and_op, &t) != 0) {
			if (w->errors++ == 0)
				snprintf(w->first_error,
				    sizeof(w->first_error), "%s: %s", name,
				    err_last()->msg);
		}
	}
	__atomic_fetch_sub(w->writers_left, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int
count_vm(const struct vm_rec *v, void *arg)
{
	(void)v;
	(*(int64_t *)arg)++;
	return 0;
}

static int
count_op(const struct op_rec *o, void *arg)
{
	(void)o;
	(*(int64_t *)arg)++;
	return 0;
}

/* Reads in one snapshot must agree with one another. */
static void *
conc_reader(void *arg)
{
	struct conc *r = arg;
	int64_t last = 0;

	while (__atomic_load_n(r->writers_left, __ATOMIC_SEQ_CST) > 0 ||
	    r->reads < 5) {
		struct store_conn *c = store_read_begin(r->f->s);
		struct host_rec h;
		int64_t nvm = 0, nop = 0;

		if (store_host_get(c, "h", &h) < 0 ||
		    store_vm_each(c, "h", NULL, count_vm, &nvm) < 0 ||
		    store_op_each_unfinished(c, count_op, &nop) < 0) {
			if (r->errors++ == 0)
				snprintf(r->first_error,
				    sizeof(r->first_error), "%s",
				    err_last()->msg);
		} else {
			if (h.vms != nvm || nvm != nop ||
			    h.alloc_memory_mib != 16 * nvm)
				r->inconsistent++;
			if (nvm < last)
				r->went_back++;
			last = nvm;
		}
		store_read_end(c);
		r->reads++;
		sleep_ms(1);     /* leave the CPUs to the writers too */
	}
	return NULL;
}

static void
run_concurrent(struct fx *f, int nreaders)
{
	pthread_t th[CONC_THREADS + 8];
	struct conc cs[CONC_THREADS + 8];
	volatile int writers_left = CONC_THREADS;
	int64_t hid = add_host(f, "h", NULL);
	struct host_rec h;
	int i, n = CONC_THREADS + nreaders;

	memset(cs, 0, sizeof(cs));
	for (i = 0; i < n; i++) {
		cs[i].f = f;
		cs[i].host_id = hid;
		cs[i].t = i;
		cs[i].writers_left = &writers_left;
	}
	/* readers first, so they overlap the whole write phase */
	for (i = CONC_THREADS; i < n; i++)
		assert_int_equal(pthread_create(&th[i], NULL, conc_reader,
		    &cs[i]), 0);
	for (i = 0; i < CONC_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, conc_writer,
		    &cs[i]), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);

	for (i = 0; i < n; i++) {
		if (cs[i].errors)
			fail_msg("thread %d: %d errors, first: %s", i,
			    cs[i].errors, cs[i].first_error);
		assert_int_equal(cs[i].inconsistent, 0);
		assert_int_equal(cs[i].went_back, 0);
	}
	for (i = CONC_THREADS; i < n; i++)
		assert_true(cs[i].reads >= 5);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM vms"),
	    CONC_THREADS * CONC_TXS);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM operations"
	    " WHERE status='queued'"), CONC_THREADS * CONC_TXS);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM operations o"
	    " JOIN vms v ON v.id = o.vm_id AND v.name = o.vm_name"),
	    CONC_THREADS * CONC_TXS);
	assert_int_equal(get_host(f, "h", &h), 0);
	assert_int_equal(h.vms, CONC_THREADS * CONC_TXS);
	assert_int_equal(h.alloc_memory_mib, 16 * CONC_THREADS * CONC_TXS);
}

static void
test_concurrent_writers(void **state)
{
	run_concurrent(*state, 0);
}

static void
test_concurrent_readers_and_writers(void **state)
{
	/* more readers than the pool has connections */
	run_concurrent(*state, 8);
}

/* A reader's snapshot does not move while a write commits. */
static void
test_read_snapshot(void **state)
{
	struct fx *f = *state;
	struct store_conn *c;
	struct host_rec h;
	int64_t n;

	add_host(f, "one", NULL);
	c = store_read_begin(f->s);
	assert_int_equal(store_host_count(c, &n), 0);
	assert_int_equal(n, 1);
	/* a write commits meanwhile (the writer is not blocked by us) */
	add_host(f, "two", NULL);
	assert_int_equal(store_host_count(c, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_host_get(c, "two", &h), -1);
	store_read_end(c);
	/* a new snapshot sees it */
	assert_int_equal(get_host(f, "two", &h), 0);
}

/* --- group commit: batches, lazy, asynchronous and posted transactions --- */

/* Insert host name, then fail with fail (ERR_NONE: commit); counts runs. */
struct gc_arg {
	const char *name;
	enum err_code fail;
	int runs;
	/* store_tx_async: what then() was told */
	int called, then_r;
	char msg[ERR_MSG_MAX];
};

static int
tx_gc(struct store_conn *c, void *arg)
{
	struct gc_arg *a = arg;
	struct host_rec h;

	a->runs++;
	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "%s", a->name);
	snprintf(h.uri, sizeof(h.uri), "test:///%s", a->name);
	if (store_host_insert(c, &h) < 0)
		return -1;
	if (a->fail != ERR_NONE)
		return err_set(a->fail, "'%s' fails on purpose", a->name);
	return 0;
}

static void
gc_then(void *arg, int r)
{
	struct gc_arg *a = arg;

	a->called++;
	a->then_r = r;
	snprintf(a->msg, sizeof(a->msg), "%s", r < 0 ? err_last()->msg : "");
}

/* 1 when host name is stored (names are unique), else 0. */
static int64_t
count_hosts_named(struct fx *f, const char *name)
{
	struct host_rec h;

	if (get_host(f, name, &h) == 0)
		return 1;
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	return 0;
}

/*
 * Posted transactions run together in one batch once someone waits; a
 * failing one rolls back its own savepoint only, and each waiter gets
 * its own result and error.
 */
static void
test_tx_batch_savepoints(void **state)
{
	struct fx *f = *state;
	struct gc_arg a[4] = {
		{ .name = "g1" }, { .name = "g2", .fail = ERR_CONFLICT },
		{ .name = "g3" }, { .name = "g1" },     /* name taken by a[0] */
	};
	struct store_ticket *t[4];
	int64_t before = store_event_last(f->s);
	int i;

	for (i = 0; i < 4; i++)
		assert_non_null(t[i] = store_tx_post(f->s, tx_gc, &a[i]));
	/* nothing runs until someone commits */
	for (i = 0; i < 4; i++)
		assert_int_equal(a[i].runs, 0);
	err_set(ERR_INVALID, "the caller's own error");
	assert_int_equal(store_tx_wait(t[0]), 0);
	/* one batch ran all four, once each */
	for (i = 0; i < 4; i++)
		assert_int_equal(a[i].runs, 1);
	assert_int_equal(store_tx_wait(t[1]), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_string_equal(err_last()->msg, "'g2' fails on purpose");
	assert_int_equal(store_tx_wait(t[2]), 0);
	assert_int_equal(err_last()->code, ERR_NONE);
	assert_int_equal(store_tx_wait(t[3]), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_non_null(strstr(err_last()->msg, "'g1' already exists"));

	assert_int_equal(count_hosts_named(f, "g1"), 1);
	assert_int_equal(count_hosts_named(f, "g2"), 0);
	assert_int_equal(count_hosts_named(f, "g3"), 1);
	/* only the committed inserts' events, and the newest is announced */
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM events"
	    " WHERE type='host.added'"), 2);
	assert_int_equal(store_event_last(f->s),
	    sql_int(f->path, "SELECT MAX(id) FROM events"));
	assert_true(store_event_last(f->s) > before);
}

/*
 * A database error inside a batch (here a fn reporting one) rolls the
 * whole batch back; every request then runs alone, as without batching.
 */
static void
test_tx_batch_fallback(void **state)
{
	struct fx *f = *state;
	struct gc_arg a[3] = {
		{ .name = "f1" }, { .name = "f2", .fail = ERR_UNAVAILABLE },
		{ .name = "f3" },
	};
	struct store_ticket *t[3];
	int i;

	for (i = 0; i < 3; i++)
		assert_non_null(t[i] = store_tx_post(f->s, tx_gc, &a[i]));
	assert_int_equal(store_tx_wait(t[2]), 0);
	assert_int_equal(store_tx_wait(t[1]), -1);
	assert_int_equal(err_last()->code, ERR_UNAVAILABLE);
	assert_string_equal(err_last()->msg, "'f2' fails on purpose");
	assert_int_equal(store_tx_wait(t[0]), 0);
	/* the batch (up to f2), then each alone */
	assert_int_equal(a[0].runs, 2);
	assert_int_equal(a[1].runs, 2);
	assert_int_equal(a[2].runs, 1);
	assert_int_equal(count_hosts_named(f, "f1"), 1);
	assert_int_equal(count_hosts_named(f, "f2"), 0);
	assert_int_equal(count_hosts_named(f, "f3"), 1);
}

static int
count_event(const struct event_rec *e, void *arg)
{
	int64_t *n = arg;

	(void)e;
	(*n)++;
	return 0;
}

/* Events a reader of the log is shown after id (capped as readers are). */
static int64_t
events_after(struct fx *f, int64_t id)
{
	struct store_conn *c = store_read_begin(f->s);
	int64_t n = 0;

	assert_int_equal(store_event_each(c, id, 1000, count_event, &n), 0);
	store_read_end(c);
	return n;
}

/*
 * A lazy commit is seen by readers at once; its events are shown (and
 * announced) once it is durable: after store_sync, after a durable commit,
 * or soon after anyway.
 */
static void
test_tx_lazy(void **state)
{
	struct fx *f = *state;
	struct gc_arg lz = { .name = "lz" }, lz2 = { .name = "lz2" },
	    dz = { .name = "dz" }, lz3 = { .name = "lz3" },
	    bad = { .name = "bad", .fail = ERR_CONFLICT };
	struct host_rec h;
	int64_t mark = store_event_last(f->s), seen;

	assert_int_equal(store_tx_lazy(f->s, tx_gc, &lz), 0);
	assert_int_equal(get_host(f, "lz", &h), 0);
	/* never more than what is announced (by then: the syncer may have
	 * made it durable meanwhile) */
	seen = events_after(f, mark);
	assert_true(seen <= store_event_last(f->s) - mark);
	assert_int_equal(store_sync(f->s), 0);
	assert_int_equal(store_event_last(f->s),
	    sql_int(f->path, "SELECT MAX(id) FROM events"));
	assert_int_equal(events_after(f, mark), 1);

	/* a durable commit makes the lazy one before it durable too */
	mark = store_event_last(f->s);
	assert_int_equal(store_tx_lazy(f->s, tx_gc, &lz2), 0);
	assert_int_equal(store_tx(f->s, tx_gc, &dz), 0);
	assert_int_equal(store_event_last(f->s), mark + 2);
	assert_int_equal(events_after(f, mark), 2);

	/* nothing else to come: announced within STORE_SYNC_MS all the same */
	mark = store_event_last(f->s);
	assert_int_equal(store_tx_lazy(f->s, tx_gc, &lz3), 0);
	assert_true(store_event_wait(f->s, mark, 5000) == mark + 1);

	/* a failing one is rolled back like any other */
	assert_int_equal(store_tx_lazy(f->s, tx_gc, &bad), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_int_equal(count_hosts_named(f, "bad"), 0);
	assert_int_equal(store_sync(f->s), 0);
	assert_int_equal(store_event_last(f->s), mark + 1);
}

/*
 * store_tx_async returns at once and keeps the caller's error; a later
 * store_tx of the same thread finds it run and then() told, with fn's
 * own result and error.
 */
static void
test_tx_async(void **state)
{
	struct fx *f = *state;
	struct gc_arg a1 = { .name = "a1" },
	    a2 = { .name = "a2", .fail = ERR_CONFLICT }, d = { .name = "d" };

	err_set(ERR_INVALID, "the caller's own error");
	store_tx_async(f->s, tx_gc, &a1, gc_then);
	store_tx_async(f->s, tx_gc, &a2, gc_then);
	assert_int_equal(err_last()->code, ERR_INVALID);
	assert_int_equal(store_tx(f->s, tx_gc, &d), 0);
	assert_int_equal(a1.called, 1);
	assert_int_equal(a1.then_r, 0);
	assert_int_equal(a2.called, 1);
	assert_int_equal(a2.then_r, -1);
	assert_string_equal(a2.msg, "'a2' fails on purpose");
	assert_int_equal(count_hosts_named(f, "a1"), 1);
	assert_int_equal(count_hosts_named(f, "a2"), 0);
	assert_int_equal(count_hosts_named(f, "d"), 1);
}

/* Many threads committing at once each get their own result and error. */
#define GC_THREADS 8
#define GC_TXS 40

struct gc_thread {
	struct fx *f;
	int t;
	int wrong;                 /* results or errors not this thread's */
	char first[ERR_MSG_MAX + 128];
};

static void *
gc_worker(void *arg)
{
	struct gc_thread *w = arg;
	char name[NAME_MAX_LEN], want[ERR_MSG_MAX];
	struct gc_arg a;
	int r;

	for (int i = 0; i < GC_TXS; i++) {
		snprintf(name, sizeof(name), "t%d-%d", w->t, i);
		memset(&a, 0, sizeof(a));
		a.name = name;
		a.fail = i % 2 ? ERR_CONFLICT : ERR_NONE;
		r = i % 3 == 0 ? store_tx_lazy(w->f->s, tx_gc, &a) :
		    store_tx(w->f->s, tx_gc, &a);
		snprintf(want, sizeof(want), "'%s' fails on purpose", name);
		if (i % 2 ? r != -1 || err_last()->code != ERR_CONFLICT ||
		    strcmp(err_last()->msg, want) != 0 :
		    r != 0 || err_last()->code != ERR_NONE) {
			if (w->wrong++ == 0)
				snprintf(w->first, sizeof(w->first), "%s: r %d,"
				    " error '%s'", name, r, err_last()->msg);
		}
	}
	return NULL;
}

static void
test_tx_concurrent_results(void **state)
{
	struct fx *f = *state;
	pthread_t th[GC_THREADS];
	struct gc_thread w[GC_THREADS];
	int i;

	for (i = 0; i < GC_THREADS; i++) {
		w[i] = (struct gc_thread){ .f = f, .t = i };
		assert_int_equal(pthread_create(&th[i], NULL, gc_worker, &w[i]),
		    0);
	}
	for (i = 0; i < GC_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (i = 0; i < GC_THREADS; i++)
		if (w[i].wrong)
			fail_msg("thread %d: %d wrong results, first: %s", i,
			    w[i].wrong, w[i].first);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM hosts"),
	    GC_THREADS * GC_TXS / 2);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM events"
	    " WHERE type='host.added'"), GC_THREADS * GC_TXS / 2);
	assert_int_equal(store_sync(f->s), 0);
	assert_int_equal(store_event_last(f->s),
	    sql_int(f->path, "SELECT MAX(id) FROM events"));
}

/* --- schema 2: host settings, placement groups --- */

/* Migration 1 as it shipped (src/store/store.c), to build an old database. */
static const char v1_schema[] =
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
	"CREATE INDEX operations_created ON operations(created_at);";

/* A version-1 database at f->path holding host 'old', VM 'oldvm' on it
 * and a finished operation; extra SQL (or NULL) runs after. */
static void
make_v1(struct fx *f, const char *extra)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char p[320];

	store_close(f->s);
	f->s = NULL;
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	sql_exec(f->path, v1_schema);
	sql_exec(f->path, "INSERT INTO hosts (name, uri, state, arch,"
	    " domain_type, cpus, memory_mib, free_memory_mib, cpu_model,"
	    " created_at, updated_at) VALUES ('old', 'qemu:///system',"
	    " 'unreachable', 'x86_64', 'kvm', 8, 16384, 12000, 'Haswell',"
	    " 1000, 2000);"
	    "INSERT INTO vms (uuid, name, vcpus, memory_mib, disk_gib, host_id,"
	    " desired_state, observed_state, created_at, updated_at) VALUES"
	    " ('uuid-oldvm', 'oldvm', 2, 1024, 10, 1, 'running', 'running',"
	    " 3000, 4000);"
	    "INSERT INTO operations (id, kind, vm_id, vm_uuid, vm_name, status,"
	    " created_at) VALUES ('op-old', 'create', 1, 'uuid-oldvm', 'oldvm',"
	    " 'succeeded', 3000);"
	    "PRAGMA user_version = 1;");
	if (extra)
		sql_exec(f->path, extra);
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 1);
}

static int
tx_group_insert(struct store_conn *c, void *arg)
{
	return store_group_insert(c, arg);
}

static int
tx_group_delete(struct store_conn *c, void *arg)
{
	return store_group_delete(c, *(int64_t *)arg);
}

static int
tx_host_delete(struct store_conn *c, void *arg)
{
	return store_host_delete(c, *(int64_t *)arg);
}

static int
tx_host_settings(struct store_conn *c, void *arg)
{
	return store_host_update_settings(c, arg);
}

static int
tx_host_facts_only(struct store_conn *c, void *arg)
{
	return store_host_update_facts(c, arg);
}

static int64_t
add_group(struct fx *f, const char *name, const char *policy, bool strict)
{
	struct group_rec g;

	memset(&g, 0, sizeof(g));
	snprintf(g.name, sizeof(g.name), "%s", name);
	snprintf(g.policy, sizeof(g.policy), "%s", policy);
	g.strict = strict;
	if (store_tx(f->s, tx_group_insert, &g) != 0)
		fail_msg("insert group '%s': %s", name, err_last()->msg);
	assert_true(g.id > 0);
	assert_true(g.created_at > 0);
	return g.id;
}

static struct vm_rec
add_vm_in(struct fx *f, const char *name, int64_t host_id, int64_t group_id)
{
	struct vm_rec v;

	vm_init(&v, name, host_id, 1, 64, 1, "running");
	v.group_id = group_id;
	if (store_tx(f->s, tx_vm_insert, &v) != 0)
		fail_msg("insert vm '%s': %s", name, err_last()->msg);
	return v;
}

static int
get_group(struct fx *f, const char *name, struct group_rec *out)
{
	struct store_conn *c = store_read_begin(f->s);
	int rc = store_group_get(c, name, out);

	store_read_end(c);
	return rc;
}

static int
collect_group(const struct group_rec *g, void *arg)
{
	struct names *ns = arg;

	snprintf(ns->v[ns->n++], NAME_MAX_LEN, "%s", g->name);
	return ns->stop_after && ns->n >= ns->stop_after;
}

static void
groups_all(struct fx *f, struct names *ns, int stop_after)
{
	struct store_conn *c = store_read_begin(f->s);

	memset(ns, 0, sizeof(*ns));
	ns->stop_after = stop_after;
	if (store_group_each(c, collect_group, ns) != 0)
		fail_msg("store_group_each: %s", err_last()->msg);
	store_read_end(c);
}

/* "name:group_id:group:host" of each VM in a group, in order. */
struct in_group {
	char v[16][4 * NAME_MAX_LEN + 32];
	int n;
	int stop_after;
};

static int
collect_in_group(const struct vm_rec *v, void *arg)
{
	struct in_group *g = arg;

	snprintf(g->v[g->n++], sizeof(g->v[0]), "%s:%lld:%s:%s", v->name,
	    (long long)v->group_id, v->group, v->host);
	return g->stop_after && g->n >= g->stop_after;
}

static void
vms_in_group(struct fx *f, int64_t group_id, struct in_group *g,
    int stop_after)
{
	struct store_conn *c = store_read_begin(f->s);

	memset(g, 0, sizeof(*g));
	g->stop_after = stop_after;
	if (store_vm_each_in_group(c, group_id, collect_in_group, g) != 0)
		fail_msg("store_vm_each_in_group: %s", err_last()->msg);
	store_read_end(c);
}

static void
test_migrate_v1_to_v2(void **state)
{
	struct fx *f = *state;
	struct host_rec h;
	struct vm_rec v;
	struct op_rec o;
	int64_t g;

	make_v1(f, NULL);
	if ((f->s = store_open(f->path)) == NULL)
		fail_msg("store_open of a v1 database: %s", err_last()->msg);
	assert_true(store_schema_version() >= 2);
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"),
	    store_schema_version());

	/* the host keeps its row and facts, and gets the default settings */
	assert_int_equal(get_host(f, "old", &h), 0);
	assert_int_equal(h.id, 1);
	assert_string_equal(h.uri, "qemu:///system");
	assert_string_equal(h.state, "unreachable");
	assert_string_equal(h.arch, "x86_64");
	assert_string_equal(h.domain_type, "kvm");
	assert_int_equal(h.cpus, 8);
	assert_int_equal(h.memory_mib, 16384);
	assert_int_equal(h.free_memory_mib, 12000);
	assert_string_equal(h.cpu_model, "Haswell");
	assert_int_equal(h.created_at, 1000);
	assert_int_equal(h.updated_at, 2000);
	assert_false(h.maintenance);
	assert_string_equal(h.labels, "{}");
	assert_true(h.cpu_ratio == 4.0);
	assert_true(h.ram_ratio == 1.0);
	assert_true(h.disk_ratio == 1.0);
	assert_int_equal(h.reserved_vcpus, 1);
	assert_int_equal(h.reserved_memory_mib, 512);
	assert_int_equal(h.reserved_disk_gib, 0);
	assert_string_equal(h.domain_types, "");
	assert_int_equal(h.disk_gib, 0);
	assert_int_equal(h.disk_free_gib, 0);
	/* its VM is still counted on it */
	assert_int_equal(h.vms, 1);
	assert_int_equal(h.alloc_vcpus, 2);
	assert_int_equal(h.alloc_memory_mib, 1024);
	assert_int_equal(h.alloc_disk_gib, 10);

	/* the VM and its operation are kept; the VM is in no group */
	assert_int_equal(get_vm(f, "oldvm", &v), 0);
	assert_string_equal(v.uuid, "uuid-oldvm");
	assert_int_equal(v.host_id, 1);
	assert_string_equal(v.host, "old");
	assert_int_equal(v.vcpus, 2);
	assert_int_equal(v.created_at, 3000);
	assert_int_equal(v.updated_at, 4000);
	assert_int_equal(v.group_id, 0);
	assert_string_equal(v.group, "");
	assert_int_equal(get_op(f, "op-old", &o), 0);
	assert_int_equal(o.vm_id, v.id);
	assert_int_equal(o.status, OP_SUCCEEDED);

	/* what version 2 added works on the old rows */
	g = add_group(f, "web", "anti-affinity", true);
	add_vm_in(f, "newvm", h.id, g);
	snprintf(h.labels, sizeof(h.labels), "{\"rack\":\"a\"}");
	h.maintenance = true;
	assert_int_equal(store_tx(f->s, tx_host_settings, &h), 0);
	assert_int_equal(get_host(f, "old", &h), 0);
	assert_true(h.maintenance);
	assert_string_equal(h.labels, "{\"rack\":\"a\"}");
	assert_int_equal(h.vms, 2);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM sqlite_master"
	    " WHERE type='index' AND name='vms_group'"), 1);

	/* and opening it again migrates nothing more */
	store_close(f->s);
	assert_non_null(f->s = store_open(f->path));
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"),
	    store_schema_version());
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM hosts"), 1);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM vms"), 2);
}

/* A migration that fails is rolled back whole: version and columns. */
static void
test_migrate_failure_rolls_back(void **state)
{
	struct fx *f = *state;

	/* a table in the way of migration 2's CREATE TABLE groups */
	make_v1(f, "CREATE TABLE groups (x INTEGER);");
	err_clear();
	assert_null(f->s = store_open(f->path));
	assert_int_not_equal(err_last()->code, ERR_NONE);
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"), 1);
	/* migration 2's earlier ALTERs are undone too */
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM"
	    " pragma_table_info('hosts') WHERE name='maintenance'"), 0);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM hosts"), 1);

	/* once out of the way, the same database migrates */
	sql_exec(f->path, "DROP TABLE groups;");
	if ((f->s = store_open(f->path)) == NULL)
		fail_msg("store_open after the fix: %s", err_last()->msg);
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"),
	    store_schema_version());
}

static void
test_host_settings_roundtrip(void **state)
{
	struct fx *f = *state;
	struct host_rec h, got;
	struct names ns;
	struct store_conn *c;
	int64_t created;

	/* settings given at insert are stored */
	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "s");
	snprintf(h.uri, sizeof(h.uri), "test:///s");
	snprintf(h.labels, sizeof(h.labels), "{\"rack\":\"a\"}");
	h.cpu_ratio = 2.5;
	h.ram_ratio = 1.5;
	h.disk_ratio = 3.0;
	h.reserved_vcpus = 2;
	h.reserved_memory_mib = 1024;
	h.reserved_disk_gib = 10;
	h.maintenance = true;
	snprintf(h.arch, sizeof(h.arch), "x86_64");
	snprintf(h.domain_type, sizeof(h.domain_type), "kvm");
	snprintf(h.domain_types, sizeof(h.domain_types), "kvm qemu");
	h.cpus = 8;
	h.memory_mib = 32768;
	h.disk_gib = 500;
	h.disk_free_gib = 400;
	assert_int_equal(store_tx(f->s, tx_host_insert, &h), 0);
	assert_int_equal(get_host(f, "s", &got), 0);
	assert_string_equal(got.labels, "{\"rack\":\"a\"}");
	assert_true(got.cpu_ratio == 2.5);
	assert_true(got.ram_ratio == 1.5);
	assert_true(got.disk_ratio == 3.0);
	assert_int_equal(got.reserved_vcpus, 2);
	assert_int_equal(got.reserved_memory_mib, 1024);
	assert_int_equal(got.reserved_disk_gib, 10);
	assert_true(got.maintenance);
	assert_string_equal(got.domain_types, "kvm qemu");
	assert_int_equal(got.disk_gib, 500);
	assert_int_equal(got.disk_free_gib, 400);
	created = got.created_at;

	/* new settings; the facts in the record passed are not written */
	sleep_ms(3);
	h = got;
	snprintf(h.labels, sizeof(h.labels), "{\"ssd\":\"yes\",\"zone\":\"n\"}");
	h.cpu_ratio = 8.0;
	h.ram_ratio = 0.75;
	h.disk_ratio = 1.0;
	h.reserved_vcpus = 0;
	h.reserved_memory_mib = 0;
	h.reserved_disk_gib = 0;
	h.maintenance = false;
	h.cpus = 99;
	snprintf(h.arch, sizeof(h.arch), "bogus");
	snprintf(h.state, sizeof(h.state), "unreachable");
	h.disk_gib = 1;
	assert_int_equal(store_tx(f->s, tx_host_settings, &h), 0);
	assert_int_equal(get_host(f, "s", &got), 0);
	assert_string_equal(got.labels, "{\"ssd\":\"yes\",\"zone\":\"n\"}");
	assert_true(got.cpu_ratio == 8.0);
	assert_true(got.ram_ratio == 0.75);
	assert_true(got.disk_ratio == 1.0);
	assert_int_equal(got.reserved_vcpus, 0);
	assert_int_equal(got.reserved_memory_mib, 0);
	assert_int_equal(got.reserved_disk_gib, 0);
	assert_false(got.maintenance);
	assert_int_equal(got.cpus, 8);
	assert_string_equal(got.arch, "x86_64");
	assert_string_equal(got.state, "ready");
	assert_int_equal(got.disk_gib, 500);
	assert_int_equal(got.created_at, created);
	assert_true(got.updated_at > created);

	/* empty labels are stored as an empty object */
	h.labels[0] = '\0';
	assert_int_equal(store_tx(f->s, tx_host_settings, &h), 0);
	assert_int_equal(get_host(f, "s", &got), 0);
	assert_string_equal(got.labels, "{}");

	/* facts leave the settings alone */
	h = got;
	h.cpu_ratio = 16.0;
	h.maintenance = true;
	snprintf(h.labels, sizeof(h.labels), "{\"x\":\"y\"}");
	h.reserved_memory_mib = 7;
	h.cpus = 12;
	snprintf(h.domain_types, sizeof(h.domain_types), "qemu");
	h.disk_gib = 800;
	h.disk_free_gib = 700;
	assert_int_equal(store_tx(f->s, tx_host_facts_only, &h), 0);
	assert_int_equal(get_host(f, "s", &got), 0);
	assert_int_equal(got.cpus, 12);
	assert_string_equal(got.domain_types, "qemu");
	assert_int_equal(got.disk_gib, 800);
	assert_int_equal(got.disk_free_gib, 700);
	assert_true(got.cpu_ratio == 8.0);
	assert_false(got.maintenance);
	assert_string_equal(got.labels, "{}");
	assert_int_equal(got.reserved_memory_mib, 0);

	/* store_host_each carries them too */
	c = store_read_begin(f->s);
	memset(&ns, 0, sizeof(ns));
	assert_int_equal(store_host_each(c, collect_host, &ns), 0);
	store_read_end(c);
	assert_int_equal(ns.n, 1);

	/* an unknown host */
	h.id = 4242;
	assert_int_equal(store_tx(f->s, tx_host_settings, &h), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
}

static void
test_host_delete(void **state)
{
	struct fx *f = *state;
	struct host_rec h;
	int64_t busy = add_host(f, "busy", NULL), idle = add_host(f, "idle",
	    NULL);
	struct vm_rec v = add_vm(f, "v", busy, 1, 64, 1, "running");

	/* refused while a VM is placed there, and nothing changes */
	assert_int_equal(store_tx(f->s, tx_host_delete, &busy), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_int_equal(get_host(f, "busy", &h), 0);
	assert_int_equal(h.vms, 1);
	assert_int_equal(get_vm(f, "v", &v), 0);

	/* a host without VMs goes */
	assert_int_equal(store_tx(f->s, tx_host_delete, &idle), 0);
	assert_int_equal(get_host(f, "idle", &h), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);

	/* and the busy one once its VM is gone */
	assert_int_equal(store_tx(f->s, tx_vm_delete, &v.id), 0);
	assert_int_equal(store_tx(f->s, tx_host_delete, &busy), 0);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM hosts"), 0);
	assert_int_equal(store_tx(f->s, tx_host_delete, &busy), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
}

static void
test_groups(void **state)
{
	struct fx *f = *state;
	struct group_rec g, dup;
	struct names ns;
	char buf[256];
	int64_t h = add_host(f, "h", NULL);
	int64_t web = add_group(f, "web", "anti-affinity", true);
	int64_t db = add_group(f, "db", "affinity", false);
	struct vm_rec v;

	assert_true(web != db);
	assert_int_equal(get_group(f, "web", &g), 0);
	assert_int_equal(g.id, web);
	assert_string_equal(g.name, "web");
	assert_string_equal(g.policy, "anti-affinity");
	assert_true(g.strict);
	assert_true(g.created_at > 0);
	assert_int_equal(g.vms, 0);
	assert_int_equal(get_group(f, "db", &g), 0);
	assert_int_equal(g.id, db);
	assert_string_equal(g.policy, "affinity");
	assert_false(g.strict);

	assert_int_equal(get_group(f, "nope", &g), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_non_null(strstr(err_last()->msg, "'nope'"));

	/* by name; fn returning non-zero stops the walk */
	groups_all(f, &ns, 0);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "db,web");
	groups_all(f, &ns, 1);
	assert_int_equal(ns.n, 1);

	/* a taken name: conflict on the name field */
	memset(&dup, 0, sizeof(dup));
	snprintf(dup.name, sizeof(dup.name), "web");
	snprintf(dup.policy, sizeof(dup.policy), "affinity");
	assert_int_equal(store_tx(f->s, tx_group_insert, &dup), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_string_equal(err_last()->field, "name");
	assert_non_null(strstr(err_last()->msg, "'web'"));
	/* a policy the schema does not know */
	snprintf(dup.name, sizeof(dup.name), "odd");
	snprintf(dup.policy, sizeof(dup.policy), "nearby");
	assert_int_equal(store_tx(f->s, tx_group_insert, &dup), -1);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM groups"), 2);

	/* members are counted; a group with members is not deleted */
	v = add_vm_in(f, "w1", h, web);
	add_vm_in(f, "w2", h, web);
	assert_int_equal(get_group(f, "web", &g), 0);
	assert_int_equal(g.vms, 2);
	assert_int_equal(store_tx(f->s, tx_group_delete, &web), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_int_equal(get_group(f, "web", &g), 0);
	assert_int_equal(store_tx(f->s, tx_vm_delete, &v.id), 0);
	assert_int_equal(get_group(f, "web", &g), 0);
	assert_int_equal(g.vms, 1);
	assert_int_equal(store_tx(f->s, tx_group_delete, &web), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_int_equal(get_vm(f, "w2", &v), 0);
	assert_int_equal(store_tx(f->s, tx_vm_delete, &v.id), 0);
	assert_int_equal(store_tx(f->s, tx_group_delete, &web), 0);
	assert_int_equal(get_group(f, "web", &g), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	groups_all(f, &ns, 0);
	assert_string_equal(joined(&ns, buf, sizeof(buf)), "db");
	assert_int_equal(store_tx(f->s, tx_group_delete, &web), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);

	/* an empty group is deleted at once; its name is free again */
	assert_int_equal(store_tx(f->s, tx_group_delete, &db), 0);
	add_group(f, "db", "anti-affinity", false);
}

static void
test_vm_each_in_group(void **state)
{
	struct fx *f = *state;
	int64_t a = add_host(f, "a", NULL), b = add_host(f, "b", NULL);
	int64_t web = add_group(f, "web", "anti-affinity", true);
	int64_t db = add_group(f, "db", "affinity", true);
	int64_t empty = add_group(f, "empty", "affinity", false);
	struct in_group g;
	char want[4 * NAME_MAX_LEN + 32];

	add_vm_in(f, "w2", b, web);
	add_vm_in(f, "w0", a, web);
	add_vm_in(f, "d1", a, db);
	add_vm_in(f, "solo", a, 0);
	add_vm_in(f, "w1", a, web);

	/* only that group's VMs, by name, with their group and host */
	vms_in_group(f, web, &g, 0);
	assert_int_equal(g.n, 3);
	snprintf(want, sizeof(want), "w0:%lld:web:a", (long long)web);
	assert_string_equal(g.v[0], want);
	snprintf(want, sizeof(want), "w1:%lld:web:a", (long long)web);
	assert_string_equal(g.v[1], want);
	snprintf(want, sizeof(want), "w2:%lld:web:b", (long long)web);
	assert_string_equal(g.v[2], want);
	vms_in_group(f, db, &g, 0);
	assert_int_equal(g.n, 1);
	snprintf(want, sizeof(want), "d1:%lld:db:a", (long long)db);
	assert_string_equal(g.v[0], want);
	vms_in_group(f, empty, &g, 0);
	assert_int_equal(g.n, 0);
	vms_in_group(f, empty + 100, &g, 0);
	assert_int_equal(g.n, 0);
	/* fn returning non-zero stops the walk */
	vms_in_group(f, web, &g, 2);
	assert_int_equal(g.n, 2);
}

static void
test_vm_group_name(void **state)
{
	struct fx *f = *state;
	int64_t h = add_host(f, "h", NULL);
	int64_t web = add_group(f, "web", "affinity", true);
	struct vm_rec v, got;
	struct store_conn *c;
	struct names ns;

	v = add_vm_in(f, "member", h, web);
	add_vm_in(f, "loner", h, 0);
	assert_int_equal(get_vm(f, "member", &got), 0);
	assert_int_equal(got.group_id, web);
	assert_string_equal(got.group, "web");
	c = store_read_begin(f->s);
	assert_int_equal(store_vm_get_id(c, v.id, &got), 0);
	store_read_end(c);
	assert_string_equal(got.group, "web");
	assert_int_equal(get_vm(f, "loner", &got), 0);
	assert_int_equal(got.group_id, 0);
	assert_string_equal(got.group, "");
	/* group membership does not hide a VM from the plain listing */
	vms_where(f, "h", NULL, &ns);
	assert_int_equal(ns.n, 2);

	/* a group that does not exist is refused, nothing stored */
	vm_init(&v, "stray", h, 1, 64, 1, "running");
	v.group_id = web + 100;
	assert_int_equal(store_tx(f->s, tx_vm_insert, &v), -1);
	assert_int_equal(get_vm(f, "stray", &got), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_creates_schema),
		T(test_reopen_idempotent),
		T(test_newer_schema_refused),
		cmocka_unit_test(test_open_bad_path),
		T(test_host_insert_get_each),
		T(test_host_update),
		T(test_host_fence),
		T(test_vm_insert_get),
		T(test_host_allocation),
		T(test_host_each_allocation),
		T(test_vm_each_filters),
		T(test_vm_transitional_states),
		T(test_op_insert_queued),
		T(test_op_one_active_per_vm),
		T(test_op_finish_error),
		T(test_op_each),
		T(test_op_each_default_limit),
		T(test_op_each_unfinished),
		T(test_vm_delete_keeps_ops),
		T(test_tx_rollback_commit),
		T(test_tx_batch_savepoints),
		T(test_tx_batch_fallback),
		T(test_tx_lazy),
		T(test_tx_async),
		T(test_tx_concurrent_results),
		T(test_vm_observe),
		T(test_concurrent_writers),
		T(test_concurrent_readers_and_writers),
		T(test_read_snapshot),
		T(test_migrate_v1_to_v2),
		T(test_migrate_failure_rolls_back),
		T(test_host_settings_roundtrip),
		T(test_host_delete),
		T(test_groups),
		T(test_vm_each_in_group),
		T(test_vm_group_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
