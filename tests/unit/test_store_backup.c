/*
 * test_store_backup.c - unit tests of store/store_backup.c: a backup row
 * is inserted creating, made ready with its files and checkpoint XML,
 * found as the VM's latest only once ready, listed oldest first, given
 * a new parent (and made full by an empty one) after a fold, and
 * deleted; the spec and disks JSON come back as they went in.  The rows
 * are keyed by a VM uuid with no VM row behind it: a backup outlives
 * its VM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <string.h>

#include "common/error.h"
#include "storetest.h"

#define VMU "0b0b0b0b-0000-4000-8000-000000000001"

static int
setup(void **state)
{
	return storetest_setup(state, "bk");
}

static int
tx_fold(struct store_conn *c, void *arg)
{
	struct backup_rec *b = arg;

	return store_backup_set_disks(c, b->id, b->parent, b->disks, b->size);
}

static int
tx_delete(struct store_conn *c, void *arg)
{
	return store_backup_delete(c, arg, NULL);
}

static void
mk(struct storetest_fx *f, struct backup_rec *b, const char *id, const char *mode,
    const char *parent)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->id, sizeof(b->id), "%s", id);
	snprintf(b->vm_uuid, sizeof(b->vm_uuid), VMU);
	snprintf(b->vm_name, sizeof(b->vm_name), "web1");
	snprintf(b->mode, sizeof(b->mode), "%s", mode);
	snprintf(b->parent, sizeof(b->parent), "%s", parent);
	snprintf(b->checkpoint, sizeof(b->checkpoint), "hangar-%s", id);
	b->spec = json_pack("{s:s, s:i}", "name", "web1", "vcpus", 2);
	assert_int_equal(store_tx(f->s, storetest_backup_insert_tx, b), 0);
}

static int
collect(const struct backup_rec *b, void *arg)
{
	strcat(arg, b->id);
	strcat(arg, ",");
	return 0;
}

static void
test_lifecycle(void **state)
{
	struct storetest_fx *f = *state;
	struct backup_rec a, b, got;
	struct store_conn *c;
	char ids[256] = "";

	mk(f, &a, "aaaa", "full", "");
	c = store_read_begin(f->s);
	/* creating: not the latest yet */
	assert_int_equal(store_backup_latest(c, VMU, &got), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(store_backup_get(c, "aaaa", &got), 0);
	store_read_end(c);
	assert_string_equal(got.status, "creating");
	assert_string_equal(json_string_value(json_object_get(got.spec,
	    "name")), "web1");
	assert_int_equal(json_array_size(got.disks), 0);
	store_backup_clear(&got);

	a.disks = json_pack("[{s:s, s:s, s:s, s:i}]", "dev", "vda", "file",
	    VMU "/aaaa/vda.qcow2", "sha256", "ab", "bytes", 10);
	a.size = 10;
	snprintf(a.checkpoint_xml, sizeof(a.checkpoint_xml),
	    "<domaincheckpoint><name>hangar-aaaa</name></domaincheckpoint>");
	assert_int_equal(store_tx(f->s, storetest_backup_ready_tx, &a), 0);
	mk(f, &b, "bbbb", "incremental", "aaaa");
	b.disks = json_array();
	assert_int_equal(store_tx(f->s, storetest_backup_ready_tx, &b), 0);

	c = store_read_begin(f->s);
	assert_int_equal(store_backup_latest(c, VMU, &got), 0);
	assert_string_equal(got.id, "bbbb");
	store_backup_clear(&got);
	assert_int_equal(store_backup_get(c, "aaaa", &got), 0);
	assert_string_equal(got.status, "ready");
	assert_int_equal(got.size, 10);
	assert_string_equal(got.checkpoint_xml, a.checkpoint_xml);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    got.disks, 0), "file")), VMU "/aaaa/vda.qcow2");
	store_backup_clear(&got);
	assert_int_equal(store_backup_each(c, VMU, collect, ids), 0);
	store_read_end(c);
	assert_string_equal(ids, "aaaa,bbbb,");

	/* a fold onto nothing makes the child full */
	b.parent[0] = '\0';
	b.size = 99;
	assert_int_equal(store_tx(f->s, tx_fold, &b), 0);
	assert_int_equal(store_tx(f->s, tx_delete, "aaaa"), 0);
	assert_int_equal(store_tx(f->s, tx_delete, "aaaa"), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	c = store_read_begin(f->s);
	assert_int_equal(store_backup_get(c, "bbbb", &got), 0);
	store_read_end(c);
	assert_string_equal(got.mode, "full");
	assert_string_equal(got.parent, "");
	assert_int_equal(got.size, 99);
	store_backup_clear(&got);
	store_backup_clear(&a);
	store_backup_clear(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lifecycle, setup,
		    storetest_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
