/*
 * test_store_version.c - unit tests of resource versions (the ETag,
 * store/store_version.c and migration 23's triggers) and of keyset
 * paging of VMs (store_vm_page): a change bumps the version, so does a
 * change of a VM's disks; a name deleted and made again never shows an
 * old version; an expected version is checked inside the next write
 * transaction (a stale one refuses it and runs nothing), once; pages by
 * name and by creation are in order and start strictly after the cursor.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/types.h"
#include "store/store.h"
#include "storetest.h"

static int
setup(void **state)
{
	return storetest_setup(state, "version");
}

static int
teardown(void **state)
{
	return storetest_teardown(state);
}

static int64_t
version(struct storetest_fx *f, enum store_kind k, const char *key)
{
	struct store_conn *c = store_read_begin(f->s);
	int64_t v = -1;

	assert_int_equal(store_version_get(c, k, key, NULL, &v), 0);
	store_read_end(c);
	return v;
}

struct vm_tx {
	struct vm_rec vm;
	int64_t created_at;
};

static int
tx_vm(struct store_conn *c, void *arg)
{
	struct vm_tx *t = arg;
	struct disk_rec d;

	memset(&d, 0, sizeof(d));
	snprintf(d.dev, sizeof(d.dev), "vda");
	snprintf(d.volume, sizeof(d.volume), "%s.qcow2", t->vm.uuid);
	d.size_gib = 1;
	return store_vm_insert(c, &t->vm, &d, 1);
}

static void
vm(struct storetest_fx *f, const char *name, struct vm_rec *out)
{
	static unsigned seq;
	struct vm_tx t;

	memset(&t, 0, sizeof(t));
	snprintf(t.vm.uuid, sizeof(t.vm.uuid),
	    "%08x-0000-4000-8000-000000000000", ++seq);
	snprintf(t.vm.name, sizeof(t.vm.name), "%s", name);
	t.vm.vcpus = 1;
	t.vm.memory_mib = 16;
	t.vm.host_id = f->h.id;
	snprintf(t.vm.desired, sizeof(t.vm.desired), "stopped");
	snprintf(t.vm.observed, sizeof(t.vm.observed), "stopped");
	assert_int_equal(store_tx(f->s, tx_vm, &t), 0);
	if (out)
		*out = t.vm;
}

static int
tx_desired(struct store_conn *c, void *arg)
{
	const struct vm_rec *v = arg;

	return store_vm_set_desired(c, v->id, "running");
}

static int
tx_delete(struct store_conn *c, void *arg)
{
	const struct vm_rec *v = arg;

	return store_vm_delete(c, v->id, NULL);
}

static int
tx_disk(struct store_conn *c, void *arg)
{
	const struct vm_rec *v = arg;
	struct disk_rec d;

	memset(&d, 0, sizeof(d));
	snprintf(d.dev, sizeof(d.dev), "vdb");
	snprintf(d.volume, sizeof(d.volume), "%s-vdb.qcow2", v->uuid);
	d.size_gib = 2;
	return store_disk_insert(c, v->id, &d);
}

static void
test_bumped(void **state)
{
	struct storetest_fx *f = *state;
	struct vm_rec v;
	int64_t v0, v1, v2, v3, h0;

	vm(f, "a", &v);
	v0 = version(f, STORE_KIND_VM, "a");
	assert_true(v0 > 0);
	assert_int_equal(version(f, STORE_KIND_VM, v.uuid), v0);
	h0 = version(f, STORE_KIND_HOST, "h1");
	assert_int_equal(store_tx(f->s, tx_desired, &v), 0);
	v1 = version(f, STORE_KIND_VM, "a");
	assert_true(v1 > v0);
	/* a disk is part of its VM */
	assert_int_equal(store_tx(f->s, tx_disk, &v), 0);
	v2 = version(f, STORE_KIND_VM, "a");
	assert_true(v2 > v1);
	/* another row's change leaves it alone */
	assert_int_equal(version(f, STORE_KIND_HOST, "h1"), h0);
	/* deleted and made again: a version it never had */
	assert_int_equal(store_tx(f->s, tx_delete, &v), 0);
	vm(f, "a", &v);
	v3 = version(f, STORE_KIND_VM, "a");
	assert_true(v3 > v2);
}

static void
test_not_found(void **state)
{
	struct storetest_fx *f = *state;
	struct store_conn *c = store_read_begin(f->s);
	int64_t v;

	assert_int_equal(store_version_get(c, STORE_KIND_VM, "nope", NULL,
	    &v), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(store_version_get(c, STORE_KIND_SNAPSHOT, "nope",
	    "s1", &v), -1);
	store_read_end(c);
}

static int ran;

static int
tx_count(struct store_conn *c, void *arg)
{
	(void)c;
	(void)arg;
	ran++;
	return 0;
}

static void
test_expect(void **state)
{
	struct storetest_fx *f = *state;
	struct vm_rec v;
	int64_t now;

	vm(f, "b", &v);
	now = version(f, STORE_KIND_VM, "b");
	/* stale: refused inside the transaction, fn not run */
	ran = 0;
	store_expect_version(STORE_KIND_VM, "b", NULL, now - 1);
	assert_int_equal(store_tx(f->s, tx_count, NULL), -1);
	assert_int_equal(err_last()->code, ERR_PRECONDITION);
	assert_string_equal(err_last()->field, "If-Match");
	assert_int_equal(ran, 0);
	/* taken by that transaction: the next one runs */
	assert_int_equal(store_tx(f->s, tx_count, NULL), 0);
	assert_int_equal(ran, 1);
	/* current: runs, and a change there moves the version on */
	store_expect_version(STORE_KIND_VM, "b", NULL, now);
	assert_int_equal(store_tx(f->s, tx_desired, &v), 0);
	assert_true(version(f, STORE_KIND_VM, "b") > now);
	/* the same version again is stale now */
	store_expect_version(STORE_KIND_VM, "b", NULL, now);
	assert_int_equal(store_tx(f->s, tx_desired, &v), -1);
	assert_int_equal(err_last()->code, ERR_PRECONDITION);
	/* cleared: nothing checked */
	store_expect_version(STORE_KIND_VM, "b", NULL, now);
	store_expect_clear();
	assert_int_equal(store_tx(f->s, tx_count, NULL), 0);
}

struct names {
	char s[16][NAME_MAX_LEN];
	char id[16][UUID_STR_LEN];
	int64_t at[16];
	int n;
};

static int
collect(const struct vm_rec *v, void *arg)
{
	struct names *ns = arg;

	snprintf(ns->s[ns->n], sizeof(ns->s[0]), "%s", v->name);
	snprintf(ns->id[ns->n], sizeof(ns->id[0]), "%s", v->uuid);
	ns->at[ns->n++] = v->created_at;
	return ns->n == 16;
}

static void
page(struct storetest_fx *f, struct store_vm_query *q, struct names *ns)
{
	struct store_conn *c = store_read_begin(f->s);

	memset(ns, 0, sizeof(*ns));
	assert_int_equal(store_vm_page(c, q, collect, ns), 0);
	store_read_end(c);
}

static void
test_vm_page(void **state)
{
	static const char *const made[] = { "d", "b", "e", "a", "c" };
	struct storetest_fx *f = *state;
	struct store_vm_query q;
	struct names ns;
	char id[UUID_STR_LEN];

	for (size_t i = 0; i < 5; i++)
		vm(f, made[i], NULL);
	memset(&q, 0, sizeof(q));
	q.limit = 2;
	page(f, &q, &ns);
	assert_int_equal(ns.n, 2);
	assert_string_equal(ns.s[0], "a");
	assert_string_equal(ns.s[1], "b");
	/* (page() clears ns: the cursor is a copy) */
	snprintf(id, sizeof(id), "%s", ns.id[1]);
	q.after_name = "b";
	q.after_id = id;
	page(f, &q, &ns);
	assert_int_equal(ns.n, 2);
	assert_string_equal(ns.s[0], "c");
	/* the cursor's VM gone: the page still starts after its place */
	q.after_name = "bb";
	q.after_id = "";
	page(f, &q, &ns);
	assert_string_equal(ns.s[0], "c");
	/* by creation: the order they were made in */
	memset(&q, 0, sizeof(q));
	q.by_created = true;
	q.after_created = -1;
	q.limit = 10;
	page(f, &q, &ns);
	assert_int_equal(ns.n, 5);
	for (int i = 0; i < 5; i++)
		assert_string_equal(ns.s[i], made[i]);
	q.after_created = ns.at[2];
	snprintf(id, sizeof(id), "%s", ns.id[2]);
	q.after_id = id;
	page(f, &q, &ns);
	assert_int_equal(ns.n, 2);
	assert_string_equal(ns.s[0], "a");
	/* filters */
	memset(&q, 0, sizeof(q));
	q.limit = 10;
	q.host = "h1";
	q.state = "stopped";
	page(f, &q, &ns);
	assert_int_equal(ns.n, 5);
	q.host = "h2";
	page(f, &q, &ns);
	assert_int_equal(ns.n, 0);
	q.host = NULL;
	q.image = "none";
	page(f, &q, &ns);
	assert_int_equal(ns.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bumped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_expect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_page, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
