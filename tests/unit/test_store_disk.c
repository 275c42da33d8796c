/*
 * test_store_disk.c - unit tests of a VM's disks in the store
 * (store/store_disk.c): a VM inserted with its list of disks, the sum
 * kept in vms.disk_gib, adding, resizing and removing one, device names
 * unique per VM, rows gone with their VM; and the upgrade of a database
 * made by schema 5 (one disk per VM, in vms.disk_gib) in place: each
 * VM's disk becomes its vda row, under the volume name it always had.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/error.h"
#include "common/types.h"
#include "store/store.h"
#include "storetest.h"

#define V5_SQL "tests/golden/db/schema-v5.sql"

struct fx {
	char dir[256];
	char path[300];
	struct store *s;
	struct host_rec h;
};

static void
fx_path(struct fx *f)
{
	storetest_path(f->dir, sizeof(f->dir), f->path, sizeof(f->path),
	    "disk");
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	fx_path(f);
	if ((f->s = store_open(f->path)) == NULL ||
	    storetest_host(f->s, &f->h, "h1") < 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	storetest_remove(f->s, f->dir, f->path);
	free(f);
	return 0;
}

static int64_t
sql_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void
disk(struct disk_rec *d, const char *dev, const char *bus, int64_t gib,
    int boot)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->dev, sizeof(d->dev), "%s", dev);
	snprintf(d->bus, sizeof(d->bus), "%s", bus);
	snprintf(d->volume, sizeof(d->volume), "vol-%s.qcow2", dev);
	d->size_gib = gib;
	d->boot_order = boot;
}

struct vm_tx {
	struct vm_rec vm;
	struct disk_rec d[4];
	int n;
};

static int
tx_vm(struct store_conn *c, void *arg)
{
	struct vm_tx *t = arg;

	return store_vm_insert(c, &t->vm, t->d, t->n);
}

static int64_t
make_vm(struct fx *f, const char *name, int n)
{
	struct vm_tx t;
	static const char *const devs[] = { "vda", "vdb", "sda", "hdc" };
	static const char *const bus[] = { "virtio", "virtio", "scsi", "ide" };

	memset(&t, 0, sizeof(t));
	snprintf(t.vm.uuid, sizeof(t.vm.uuid),
	    "%s-0000-4000-8000-000000000000", name);
	snprintf(t.vm.name, sizeof(t.vm.name), "%s", name);
	t.vm.vcpus = 1;
	t.vm.memory_mib = 64;
	t.vm.disk_gib = 999;             /* replaced by the sum */
	t.vm.host_id = f->h.id;
	snprintf(t.vm.desired, sizeof(t.vm.desired), "stopped");
	snprintf(t.vm.observed, sizeof(t.vm.observed), "stopped");
	for (int i = 0; i < n; i++)
		disk(&t.d[i], devs[i], bus[i], 10 * (i + 1), i == 0);
	t.n = n;
	assert_int_equal(store_tx(f->s, tx_vm, &t), 0);
	assert_int_equal(t.vm.disk_gib, n == 0 ? 999 : 10 * n * (n + 1) / 2);
	return t.vm.id;
}

static int
list(struct fx *f, int64_t vm, struct disk_rec *out, int max)
{
	struct store_conn *c = store_read_begin(f->s);
	int n = store_disk_list(c, vm, out, max);

	store_read_end(c);
	return n;
}

static int64_t
vm_disk_gib(struct fx *f, int64_t vm)
{
	struct store_conn *c = store_read_begin(f->s);
	struct vm_rec v;

	assert_int_equal(store_vm_get_id(c, vm, &v), 0);
	store_read_end(c);
	return v.disk_gib;
}

static void
test_insert_with_disks(void **state)
{
	struct fx *f = *state;
	struct disk_rec d[VM_DISKS_MAX];
	int64_t vm = make_vm(f, "three", 3);

	assert_int_equal(list(f, vm, d, VM_DISKS_MAX), 3);
	/* boot devices first, then by name */
	assert_string_equal(d[0].dev, "vda");
	assert_int_equal(d[0].boot_order, 1);
	assert_string_equal(d[1].dev, "sda");
	assert_string_equal(d[1].bus, "scsi");
	assert_string_equal(d[2].dev, "vdb");
	assert_string_equal(d[0].format, "qcow2");
	assert_string_equal(d[0].device, "disk");
	assert_string_equal(d[2].volume, "vol-vdb.qcow2");
	assert_int_equal(vm_disk_gib(f, vm), 60);
	/* a list that does not fit is an error, never a silent cut */
	assert_int_equal(list(f, vm, d, 2), -1);
	assert_int_equal(err_last()->code, ERR_INTERNAL);
}

struct one_tx {
	int64_t vm;
	struct disk_rec d;
	const char *dev;
	int64_t gib;
	int op;                 /* 0 add, 1 resize, 2 delete */
};

static int
tx_one(struct store_conn *c, void *arg)
{
	struct one_tx *t = arg;

	if (t->op == 0)
		return store_disk_insert(c, t->vm, &t->d);
	if (t->op == 1)
		return store_disk_resize(c, t->vm, t->dev, t->gib);
	return store_disk_delete(c, t->vm, t->dev);
}

static void
test_add_resize_remove(void **state)
{
	struct fx *f = *state;
	struct disk_rec d[VM_DISKS_MAX];
	int64_t vm = make_vm(f, "one", 1);
	struct one_tx t = { .vm = vm };

	disk(&t.d, "vdb", "virtio", 5, 0);
	assert_int_equal(store_tx(f->s, tx_one, &t), 0);
	assert_int_equal(vm_disk_gib(f, vm), 15);
	/* the same device twice: 409 naming dev, nothing changed */
	assert_int_equal(store_tx(f->s, tx_one, &t), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_string_equal(err_last()->field, "dev");
	assert_int_equal(vm_disk_gib(f, vm), 15);

	t.op = 1;
	t.dev = "vdb";
	t.gib = 25;
	assert_int_equal(store_tx(f->s, tx_one, &t), 0);
	assert_int_equal(vm_disk_gib(f, vm), 35);
	t.dev = "vdz";
	assert_int_equal(store_tx(f->s, tx_one, &t), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);

	t.op = 2;
	t.dev = "vdb";
	assert_int_equal(store_tx(f->s, tx_one, &t), 0);
	assert_int_equal(vm_disk_gib(f, vm), 10);
	assert_int_equal(list(f, vm, d, VM_DISKS_MAX), 1);
	assert_int_equal(store_tx(f->s, tx_one, &t), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
}

static int
tx_delete_vm(struct store_conn *c, void *arg)
{
	return store_vm_delete(c, *(int64_t *)arg, NULL);
}

static void
test_rows_go_with_vm(void **state)
{
	struct fx *f = *state;
	int64_t vm = make_vm(f, "gone", 2), keep = make_vm(f, "kept", 1);

	assert_int_equal(store_tx(f->s, tx_delete_vm, &vm), 0);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM vm_disks"), 1);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM vm_disks"
	    " WHERE vm_id IN (SELECT id FROM vms WHERE name = 'kept')"), 1);
	(void)keep;
}

static void
test_image_count(void **state)
{
	struct fx *f = *state;
	int64_t vm = make_vm(f, "img", 1), n = -1;
	struct one_tx t = { .vm = vm };
	struct store_conn *c;

	disk(&t.d, "vdb", "virtio", 5, 0);
	snprintf(t.d.image, sizeof(t.d.image), "debian-12");
	snprintf(t.d.base_volume, sizeof(t.d.base_volume), "base-x.qcow2");
	assert_int_equal(store_tx(f->s, tx_one, &t), 0);
	c = store_read_begin(f->s);
	assert_int_equal(store_disk_count_image(c, "debian-12", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_disk_count_image(c, "other", &n), 0);
	assert_int_equal(n, 0);
	store_read_end(c);
}

static int
tx_ci_put(struct store_conn *c, void *arg)
{
	struct one_tx *t = arg;

	if (store_disk_insert(c, t->vm, &t->d) < 0)
		return -1;
	return store_cloudinit_put(c, t->vm, "{\"hostname\":\"ci-one\"}");
}

/* The seed: a CD-ROM row with content cidata, and the settings it is
 * built from, both gone with the VM. */
static void
test_cloud_init(void **state)
{
	struct fx *f = *state;
	int64_t vm = make_vm(f, "ci", 1), other = make_vm(f, "plain", 1);
	struct one_tx t = { .vm = vm };
	struct disk_rec got;
	struct store_conn *c;
	char *spec = NULL;

	disk(&t.d, "hda", "ide", 0, 0);
	snprintf(t.d.device, sizeof(t.d.device), "cdrom");
	snprintf(t.d.format, sizeof(t.d.format), "raw");
	snprintf(t.d.content, sizeof(t.d.content), "cidata");
	assert_int_equal(store_tx(f->s, tx_ci_put, &t), 0);
	c = store_read_begin(f->s);
	assert_int_equal(store_disk_get(c, vm, "hda", &got), 0);
	assert_string_equal(got.content, "cidata");
	assert_string_equal(got.device, "cdrom");
	assert_int_equal(store_disk_get(c, vm, "vda", &got), 0);
	assert_string_equal(got.content, "");
	assert_int_equal(store_cloudinit_get(c, vm, &spec), 0);
	assert_string_equal(spec, "{\"hostname\":\"ci-one\"}");
	free(spec);
	assert_int_equal(store_cloudinit_get(c, other, &spec), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_null(spec);
	err_clear();
	store_read_end(c);
	assert_int_equal(vm_disk_gib(f, vm), 10);    /* the seed takes none */
	/* only 'cidata' is a content */
	snprintf(t.d.dev, sizeof(t.d.dev), "hdb");
	snprintf(t.d.content, sizeof(t.d.content), "other");
	assert_int_equal(store_tx(f->s, tx_one, &t), -1);
	err_clear();
	assert_int_equal(store_tx(f->s, tx_delete_vm, &vm), 0);
	assert_int_equal(sql_int(f->path, "SELECT COUNT(*) FROM"
	    " vm_cloud_init"), 0);
}

/* A database made by schema 5 (tests/golden/db/schema-v5.sql: two VMs,
 * web1 with 10 GiB and db1 with 40 GiB) upgrades in place. */
static void
test_upgrade_from_v5(void **state)
{
	struct fx f;
	struct store *s;
	struct store_conn *c;
	struct vm_rec v;
	struct disk_rec d[VM_DISKS_MAX];
	char *sql = NULL;
	size_t len = 0;
	FILE *in;
	sqlite3 *db;

	(void)state;
	memset(&f, 0, sizeof(f));
	fx_path(&f);
	assert_non_null(in = fopen(V5_SQL, "r"));
	assert_true(getdelim(&sql, &len, '\0', in) > 0);
	fclose(in);
	assert_int_equal(sqlite3_open(f.path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	free(sql);
	assert_int_equal(sql_int(f.path, "PRAGMA user_version"), 5);

	assert_non_null(s = store_open(f.path));
	assert_int_equal(sql_int(f.path, "PRAGMA user_version"),
	    store_schema_version());
	c = store_read_begin(s);
	assert_int_equal(store_vm_get(c, "db1", &v), 0);
	assert_int_equal(v.disk_gib, 40);
	assert_string_equal(v.firmware, "bios");
	assert_string_equal(v.machine, "pc");
	assert_string_equal(v.provisioning, "");   /* migration 11 */
	assert_string_equal(v.clock, "utc");     /* migration 12's defaults */
	assert_false(v.hyperv);
	assert_string_equal(v.graphics, "none"); /* migration 17's default */
	assert_int_equal(v.max_vcpus, 0);        /* migration 19: no ceiling */
	assert_int_equal(v.max_memory_mib, 0);   /* beyond its size */
	assert_int_equal(store_disk_list(c, v.id, d, VM_DISKS_MAX), 1);
	assert_string_equal(d[0].dev, "vda");
	assert_string_equal(d[0].bus, "virtio");
	assert_string_equal(d[0].format, "qcow2");
	assert_int_equal(d[0].size_gib, 40);
	assert_int_equal(d[0].boot_order, 1);
	assert_string_equal(d[0].content, "");       /* migration 10's default */
	assert_string_equal(d[0].volume,
	    "66666666-7777-4888-9999-aaaaaaaaaaaa.qcow2");
	assert_int_equal(store_vm_get(c, "web1", &v), 0);
	assert_int_equal(store_disk_list(c, v.id, d, VM_DISKS_MAX), 1);
	assert_int_equal(d[0].size_gib, 10);
	store_read_end(c);
	store_close(s);
	assert_int_equal(sql_int(f.path, "SELECT COUNT(*) FROM vm_disks"), 2);
	/* migration 9: old snapshots get the consistency they had */
	assert_int_equal(sql_int(f.path, "SELECT COUNT(*) FROM snapshots"
	    " WHERE (name, consistency) IN (VALUES ('ram', 'memory'),"
	    " ('off', 'stopped'), ('live', 'crash'))"), 3);
	assert_int_equal(sql_int(f.path, "SELECT COUNT(*) FROM"
	    " pragma_integrity_check WHERE integrity_check <> 'ok'"), 0);
	f.s = NULL;
	{
		struct fx *fp = malloc(sizeof(*fp));

		*fp = f;
		teardown((void **)&fp);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_insert_with_disks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_add_resize_remove, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rows_go_with_vm, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_image_count, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cloud_init, setup,
		    teardown),
		cmocka_unit_test(test_upgrade_from_v5),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
