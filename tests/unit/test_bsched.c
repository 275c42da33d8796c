/*
 * test_bsched.c - unit tests of the decisions of daemon/bsched.c, the
 * backup scheduler, over backup rows in a real store: which mode the
 * next scheduled backup takes (full with nothing to build on, after a
 * restore, after a backup that failed for its lost checkpoint, and when
 * the chain holds backup_full_every; incremental otherwise), and which backup the retention deletes next (the oldest
 * scheduled one past keep or max_age; never one taken by hand, one still
 * being made, or the newest for its age); and the VM's backup schedule
 * fields in the store.  The backup rows are keyed by a VM uuid with no
 * VM row behind them, as a backup may be.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "common/error.h"
#include "daemon/app.h"
#include "storetest.h"

#define VMU "0b0b0b0b-0000-4000-8000-000000000002"
#define HOUR_MS (3600LL * 1000)

static int
setup(void **state)
{
	return storetest_setup(state, "bsched");
}

static int
tx_forget(struct store_conn *c, void *arg)
{
	(void)arg;
	return store_backup_forget_checkpoints(c, VMU);
}

/* Backup id (its parent, scheduled or not), made ready unless creating. */
static void
mk(struct storetest_fx *f, const char *id, const char *parent,
    bool scheduled, bool ready)
{
	struct backup_rec b;

	memset(&b, 0, sizeof(b));
	snprintf(b.id, sizeof(b.id), "%s", id);
	snprintf(b.vm_uuid, sizeof(b.vm_uuid), VMU);
	snprintf(b.vm_name, sizeof(b.vm_name), "web1");
	snprintf(b.mode, sizeof(b.mode), "%s", parent[0] ? "incremental" :
	    "full");
	snprintf(b.parent, sizeof(b.parent), "%s", parent);
	snprintf(b.checkpoint, sizeof(b.checkpoint), "hangar-%s", id);
	snprintf(b.checkpoint_xml, sizeof(b.checkpoint_xml),
	    "<domaincheckpoint><name>hangar-%s</name></domaincheckpoint>", id);
	b.scheduled = scheduled;
	assert_int_equal(store_tx(f->s, storetest_backup_insert_tx, &b), 0);
	b.disks = json_array();
	if (ready)
		assert_int_equal(store_tx(f->s, storetest_backup_ready_tx, &b),
		    0);
	store_backup_clear(&b);
}

static void
vm(struct vm_rec *v, int keep, int64_t max_age_ms, int full_every)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->uuid, sizeof(v->uuid), VMU);
	snprintf(v->name, sizeof(v->name), "web1");
	v->backup_keep = keep;
	v->backup_max_age_ms = max_age_ms;
	v->backup_full_every = full_every;
}

static const char *
mode(struct storetest_fx *f, const struct vm_rec *v)
{
	struct store_conn *c = store_read_begin(f->s);
	const char *m = bsched_mode(c, v);

	store_read_end(c);
	assert_non_null(m);
	return m;
}

/* The backup the retention deletes next at now, "" for none. */
static const char *
expired(struct storetest_fx *f, const struct vm_rec *v, int64_t now)
{
	static char out[UUID_STR_LEN];
	struct store_conn *c = store_read_begin(f->s);
	int r = bsched_expired(c, v, now, out, sizeof(out));

	store_read_end(c);
	assert_int_equal(r, out[0] ? 1 : 0);
	return out;
}

static void
test_mode_chain(void **state)
{
	struct storetest_fx *f = *state;
	struct vm_rec v;

	vm(&v, 0, 0, 3);
	assert_string_equal(mode(f, &v), "full");       /* nothing yet */
	mk(f, "b1", "", true, false);
	assert_string_equal(mode(f, &v), "full");       /* not ready yet */
	mk(f, "b2", "", true, true);
	assert_string_equal(mode(f, &v), "incremental");
	mk(f, "b3", "b2", true, true);
	assert_string_equal(mode(f, &v), "incremental");  /* a chain of 2 */
	mk(f, "b4", "b3", true, true);
	assert_string_equal(mode(f, &v), "full");       /* a chain of 3 */
	v.backup_full_every = 4;
	assert_string_equal(mode(f, &v), "incremental");
	v.backup_full_every = 1;
	assert_string_equal(mode(f, &v), "full");       /* always full */
	v.backup_full_every = 0;                        /* the default: 7 */
	assert_string_equal(mode(f, &v), "incremental");
	mk(f, "b5", "", false, true);                   /* a full one by hand */
	v.backup_full_every = 3;
	assert_string_equal(mode(f, &v), "incremental");
	/* a restore: no checkpoint to build on any more */
	assert_int_equal(store_tx(f->s, tx_forget, NULL), 0);
	assert_string_equal(mode(f, &v), "full");
}

static void
test_expired_keep(void **state)
{
	struct storetest_fx *f = *state;
	int64_t now = time_now_ms();
	struct vm_rec v;

	vm(&v, 0, 0, 7);
	mk(f, "h1", "", false, true);          /* by hand: never pruned */
	mk(f, "s1", "h1", true, true);
	mk(f, "s2", "s1", true, true);
	assert_string_equal(expired(f, &v, now), "");   /* no retention */
	v.backup_keep = 2;
	assert_string_equal(expired(f, &v, now), "");
	mk(f, "s3", "s2", true, true);
	assert_string_equal(expired(f, &v, now), "s1");
	v.backup_keep = 1;
	assert_string_equal(expired(f, &v, now), "s1");  /* the oldest first */
	v.backup_keep = 3;
	mk(f, "s4", "s3", true, false);        /* being made: not counted */
	assert_string_equal(expired(f, &v, now), "");
}

static void
test_expired_age(void **state)
{
	struct storetest_fx *f = *state;
	int64_t now = time_now_ms();
	struct vm_rec v;

	vm(&v, 0, HOUR_MS, 7);
	mk(f, "h1", "", false, true);
	mk(f, "s1", "h1", true, true);
	assert_string_equal(expired(f, &v, now), "");
	/* the newest scheduled one is kept whatever its age */
	assert_string_equal(expired(f, &v, now + 2 * HOUR_MS), "");
	mk(f, "s2", "s1", true, true);
	assert_string_equal(expired(f, &v, now + HOUR_MS / 2), "");
	assert_string_equal(expired(f, &v, now + 2 * HOUR_MS), "s1");
	/* keep and max_age together: whichever says so first */
	v.backup_keep = 5;
	assert_string_equal(expired(f, &v, now + 2 * HOUR_MS), "s1");
	v.backup_max_age_ms = 0;
	assert_string_equal(expired(f, &v, now + 2 * HOUR_MS), "");
}

static int
tx_vm_insert(struct store_conn *c, void *arg)
{
	return store_vm_insert(c, arg, NULL, 0);
}

static int
tx_set(struct store_conn *c, void *arg)
{
	return store_vm_set_backup_schedule(c, arg);
}

static int
tx_ran(struct store_conn *c, void *arg)
{
	const struct vm_rec *v = arg;

	return store_vm_backup_ran(c, v->id, v->backup_last_at);
}

static int
count_vm(const struct vm_rec *v, void *arg)
{
	(void)v;
	(*(int *)arg)++;
	return 0;
}

static int
last_event(const struct event_rec *e, void *arg)
{
	char **out = arg;
	json_t *j = json_loads(e->data, 0, NULL);

	free(*out);
	*out = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	return 0;
}

static void
get(struct storetest_fx *f, struct vm_rec *v)
{
	struct store_conn *c = store_read_begin(f->s);

	assert_int_equal(store_vm_get(c, "web1", v), 0);
	store_read_end(c);
}

static int
scheduled(struct storetest_fx *f)
{
	struct store_conn *c = store_read_begin(f->s);
	int n = 0;

	assert_int_equal(store_vm_each_backup_scheduled(c, count_vm, &n), 0);
	store_read_end(c);
	return n;
}

/* The VM's fields in the store: defaults, set, fired, listed. */
static void
test_store_fields(void **state)
{
	struct storetest_fx *f = *state;
	struct store_conn *c;
	struct vm_rec v, got;
	char *ev = NULL;

	vm(&v, 0, 0, 0);
	v.vcpus = 1;
	v.memory_mib = 64;
	v.disk_gib = 1;
	v.host_id = f->h.id;
	snprintf(v.desired, sizeof(v.desired), "stopped");
	snprintf(v.observed, sizeof(v.observed), "stopped");
	if (store_tx(f->s, tx_vm_insert, &v) != 0)
		fail_msg("insert: %s", err_last()->msg);
	get(f, &got);
	assert_string_equal(got.backup_schedule, "");
	assert_int_equal(got.backup_full_every, BACKUP_FULL_EVERY_DEFAULT);
	assert_int_equal(got.backup_last_at, got.created_at);
	assert_int_equal(scheduled(f), 0);

	snprintf(got.backup_schedule, sizeof(got.backup_schedule), "@daily");
	got.backup_keep = 3;
	got.backup_max_age_ms = HOUR_MS;
	got.backup_full_every = 4;
	assert_int_equal(store_tx(f->s, tx_set, &got), 0);
	get(f, &v);
	assert_string_equal(v.backup_schedule, "@daily");
	assert_int_equal(v.backup_keep, 3);
	assert_int_equal(v.backup_max_age_ms, HOUR_MS);
	assert_int_equal(v.backup_full_every, 4);
	assert_true(v.backup_last_at >= got.created_at);  /* counts from now */
	assert_int_equal(scheduled(f), 1);
	c = store_read_begin(f->s);
	assert_int_equal(store_event_each(c, 0, 100, last_event, &ev), 0);
	store_read_end(c);
	assert_non_null(ev);
	assert_string_equal(ev, "{\"backup_full_every\":4,\"backup_keep\":3,"
	    "\"backup_max_age_ms\":3600000,\"backup_schedule\":\"@daily\"}");
	free(ev);

	/* fired; the same schedule set again keeps when it fired */
	v.backup_last_at = 12345;
	assert_int_equal(store_tx(f->s, tx_ran, &v), 0);
	v.backup_keep = 2;
	assert_int_equal(store_tx(f->s, tx_set, &v), 0);
	get(f, &got);
	assert_int_equal(got.backup_last_at, 12345);
	assert_int_equal(got.backup_keep, 2);
	/* a retention alone still lists it; nothing at all does not */
	got.backup_schedule[0] = '\0';
	assert_int_equal(store_tx(f->s, tx_set, &got), 0);
	assert_int_equal(scheduled(f), 1);
	got.backup_keep = 0;
	got.backup_max_age_ms = 0;
	assert_int_equal(store_tx(f->s, tx_set, &got), 0);
	assert_int_equal(scheduled(f), 0);
}

static int
tx_op_insert(struct store_conn *c, void *arg)
{
	return store_op_insert(c, arg);
}

struct op_end {
	const char *id;
	enum op_status status;
	const struct err *e;
};

static int
tx_op_finish(struct store_conn *c, void *arg)
{
	const struct op_end *a = arg;

	return store_op_finish(c, a->id, a->status, a->e);
}

/* A finished operation of kind on v; e->field "" for a success. */
static void
op(struct storetest_fx *f, const struct vm_rec *v, const char *id,
    enum op_kind kind, const char *field)
{
	struct op_end end = { id, field ? OP_FAILED : OP_SUCCEEDED, NULL };
	struct err e;
	struct op_rec o;

	memset(&o, 0, sizeof(o));
	snprintf(o.id, sizeof(o.id), "%s", id);
	o.kind = kind;
	o.vm_id = v->id;
	snprintf(o.vm_uuid, sizeof(o.vm_uuid), "%s", v->uuid);
	snprintf(o.vm_name, sizeof(o.vm_name), "%s", v->name);
	snprintf(o.params, sizeof(o.params), "{}");
	assert_int_equal(store_tx(f->s, tx_op_insert, &o), 0);
	memset(&e, 0, sizeof(e));
	e.code = ERR_CONFLICT;
	snprintf(e.field, sizeof(e.field), "%s", field ? field : "");
	snprintf(e.msg, sizeof(e.msg), "it failed");
	end.e = field ? &e : NULL;
	assert_int_equal(store_tx(f->s, tx_op_finish, &end), 0);
}

/* The last backup operation failed naming "mode" (its parent's
 * checkpoint lost on the host): the next one is full. */
static void
test_mode_after_lost_checkpoint(void **state)
{
	struct storetest_fx *f = *state;
	struct vm_rec v;

	vm(&v, 0, 0, 0);
	v.vcpus = 1;
	v.memory_mib = 64;
	v.disk_gib = 1;
	v.host_id = f->h.id;
	snprintf(v.desired, sizeof(v.desired), "running");
	snprintf(v.observed, sizeof(v.observed), "running");
	if (store_tx(f->s, tx_vm_insert, &v) != 0)
		fail_msg("insert: %s", err_last()->msg);
	get(f, &v);
	mk(f, "b1", "", true, true);
	op(f, &v, "op1", OP_BACKUP, NULL);
	assert_string_equal(mode(f, &v), "incremental");
	op(f, &v, "op2", OP_BACKUP, "vcpus");       /* failed otherwise */
	assert_string_equal(mode(f, &v), "incremental");
	op(f, &v, "op3", OP_BACKUP, "mode");
	assert_string_equal(mode(f, &v), "full");
	op(f, &v, "op4", OP_START, NULL);           /* not a backup: no matter */
	assert_string_equal(mode(f, &v), "full");
	op(f, &v, "op5", OP_BACKUP, NULL);          /* a full one since */
	assert_string_equal(mode(f, &v), "incremental");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mode_chain, setup,
		    storetest_teardown),
		cmocka_unit_test_setup_teardown(test_expired_keep, setup,
		    storetest_teardown),
		cmocka_unit_test_setup_teardown(test_expired_age, setup,
		    storetest_teardown),
		cmocka_unit_test_setup_teardown(test_store_fields, setup,
		    storetest_teardown),
		cmocka_unit_test_setup_teardown(test_mode_after_lost_checkpoint,
		    setup, storetest_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
