/*
 * test_store_host_image.c - unit tests of what keeps a host's cached
 * copy of an image (store_host_image_use(), store/store_host_image.c):
 * overlays of it on the host, and operations queued or running that put
 * a disk made from the image there -- a migration to the host of a VM
 * whose rows still say the source (the race an explicit prune on the
 * destination would otherwise lose), a full-copy create -- and nothing
 * once those have finished; the walk over a host's rows; and the create
 * that keeps an image's delete waiting (store_disk_image_op()).
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

#include "common/error.h"
#include "common/types.h"
#include "store/store.h"
#include "storetest.h"

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define BASE "base-" SHA ".qcow2"

struct fx {
	char dir[256];
	char path[300];
	struct store *s;
	struct host_rec h[2];
};

static int
tx_image(struct store_conn *c, void *arg)
{
	struct image_rec *im = arg;

	if (store_image_insert(c, im) < 0)
		return -1;
	snprintf(im->sha256, sizeof(im->sha256), "%s", SHA);
	snprintf(im->path, sizeof(im->path), "/x.qcow2");
	return store_image_set_ready(c, im);
}

static int
tx_copy(struct store_conn *c, void *arg)
{
	return store_host_image_put(c, arg);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct image_rec im;
	struct host_image_rec hi;

	storetest_path(f->dir, sizeof(f->dir), f->path, sizeof(f->path),
	    "hi");
	if ((f->s = store_open(f->path)) == NULL ||
	    storetest_host(f->s, &f->h[0], "h1") < 0 ||
	    storetest_host(f->s, &f->h[1], "h2") < 0)
		return -1;
	memset(&im, 0, sizeof(im));
	snprintf(im.name, sizeof(im.name), "tiny");
	snprintf(im.source_format, sizeof(im.source_format), "qcow2");
	if (store_tx(f->s, tx_image, &im) < 0)
		return -1;
	memset(&hi, 0, sizeof(hi));
	snprintf(hi.sha256, sizeof(hi.sha256), "%s", SHA);
	snprintf(hi.volume, sizeof(hi.volume), "%s", BASE);
	snprintf(hi.state, sizeof(hi.state), "ready");
	for (int i = 0; i < 2; i++) {
		hi.host_id = f->h[i].id;
		if (store_tx(f->s, tx_copy, &hi) < 0)
			return -1;
	}
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

struct vm_tx {
	struct vm_rec vm;
	struct disk_rec d;
};

static int
tx_vm(struct store_conn *c, void *arg)
{
	struct vm_tx *t = arg;

	return store_vm_insert(c, &t->vm, &t->d, 1);
}

/* A VM on host h whose disk is made from image tiny: an overlay of the
 * host's copy (linked) or a full copy. */
static struct vm_rec
make_vm(struct fx *f, const char *name, int h, bool linked)
{
	struct vm_tx t;

	memset(&t, 0, sizeof(t));
	snprintf(t.vm.uuid, sizeof(t.vm.uuid),
	    "%s-0000-4000-8000-000000000000", name);
	snprintf(t.vm.name, sizeof(t.vm.name), "%s", name);
	t.vm.vcpus = 1;
	t.vm.memory_mib = 64;
	t.vm.host_id = f->h[h].id;
	snprintf(t.vm.desired, sizeof(t.vm.desired), "stopped");
	snprintf(t.vm.observed, sizeof(t.vm.observed), "stopped");
	snprintf(t.d.dev, sizeof(t.d.dev), "vda");
	snprintf(t.d.bus, sizeof(t.d.bus), "virtio");
	snprintf(t.d.volume, sizeof(t.d.volume), "%s.qcow2", name);
	snprintf(t.d.image, sizeof(t.d.image), "tiny");
	if (linked)
		snprintf(t.d.base_volume, sizeof(t.d.base_volume), BASE);
	t.d.size_gib = 1;
	t.d.boot_order = 1;
	assert_int_equal(store_tx(f->s, tx_vm, &t), 0);
	return t.vm;
}

static int
tx_op(struct store_conn *c, void *arg)
{
	return store_op_insert(c, arg);
}

/* A queued operation of kind k on vm, with params. */
static void
make_op(struct fx *f, const struct vm_rec *vm, enum op_kind k,
    const char *params, struct op_rec *op)
{
	memset(op, 0, sizeof(*op));
	snprintf(op->id, sizeof(op->id), "%.8s-1111-4000-8000-000000000000",
	    vm->name);
	op->kind = k;
	op->vm_id = vm->id;
	snprintf(op->vm_uuid, sizeof(op->vm_uuid), "%s", vm->uuid);
	snprintf(op->vm_name, sizeof(op->vm_name), "%s", vm->name);
	snprintf(op->params, sizeof(op->params), "%s", params);
	assert_int_equal(store_tx(f->s, tx_op, op), 0);
}

struct finish_tx {
	const char *id;
	enum op_status st;
};

static int
tx_finish(struct store_conn *c, void *arg)
{
	struct finish_tx *t = arg;

	if (t->st == OP_RUNNING)
		return store_op_set_running(c, t->id);
	return store_op_finish(c, t->id, t->st, NULL);
}

static void
set_status(struct fx *f, const char *id, enum op_status st)
{
	struct finish_tx t = { id, st };

	assert_int_equal(store_tx(f->s, tx_finish, &t), 0);
}

static struct host_image_use
use(struct fx *f, int h)
{
	struct store_conn *c = store_read_begin(f->s);
	struct host_image_use u;

	assert_int_equal(store_host_image_use(c, f->h[h].id, SHA, 0, &u), 0);
	store_read_end(c);
	return u;
}

/* Overlays on the host keep it; on another host they do not. */
static void
test_overlays(void **state)
{
	struct fx *f = *state;

	assert_int_equal(use(f, 0).disks, 0);
	make_vm(f, "a", 0, true);
	make_vm(f, "b", 0, true);
	make_vm(f, "full", 0, false);          /* no base: not a user */
	assert_int_equal(use(f, 0).disks, 2);
	assert_string_equal(use(f, 0).op_id, "");
	assert_int_equal(use(f, 1).disks, 0);
	assert_string_equal(use(f, 1).op_id, "");
}

/*
 * A live migration of a linked clone from h1 to h2 is under way: its
 * rows still say h1, so no disk on h2 uses h2's copy, yet the copy must
 * stay until the migration has ended (either way).
 */
static void
test_migration_in_flight(void **state)
{
	struct fx *f = *state;
	struct vm_rec a = make_vm(f, "a", 0, true);
	struct op_rec op;
	char params[128];

	snprintf(params, sizeof(params), "{\"mode\":\"live\",\"to_id\":%lld}",
	    (long long)f->h[1].id);
	make_op(f, &a, OP_MIGRATE, params, &op);
	assert_int_equal(use(f, 1).disks, 0);
	assert_string_equal(use(f, 1).op_id, op.id);        /* queued */
	set_status(f, op.id, OP_RUNNING);
	assert_string_equal(use(f, 1).op_id, op.id);        /* running */
	assert_int_equal(use(f, 0).disks, 1);               /* the source */
	set_status(f, op.id, OP_SUCCEEDED);
	assert_string_equal(use(f, 1).op_id, "");           /* ended */
}

/* A migration of a VM with no disk from the image keeps nothing; a
 * migration elsewhere keeps nothing on h2. */
static void
test_migration_unrelated(void **state)
{
	struct fx *f = *state;
	struct vm_rec b = make_vm(f, "b", 0, true);
	struct op_rec op;

	make_op(f, &b, OP_MIGRATE, "{\"to_id\":999}", &op);
	assert_string_equal(use(f, 1).op_id, "");
}

/* A full-copy create on h2 reads the copy while it runs: kept until it
 * ends, then not (a full copy needs no base afterwards). */
static void
test_full_copy_create(void **state)
{
	struct fx *f = *state;
	struct vm_rec v = make_vm(f, "full", 1, false);
	struct op_rec op;

	make_op(f, &v, OP_CREATE, "{}", &op);
	assert_string_equal(use(f, 1).op_id, op.id);
	assert_int_equal(use(f, 1).disks, 0);
	set_status(f, op.id, OP_RUNNING);
	set_status(f, op.id, OP_FAILED);
	assert_string_equal(use(f, 1).op_id, "");
	assert_string_equal(use(f, 0).op_id, "");
}

/* A create copying the image into a VM's disk holds off its delete; a
 * start of a VM with a disk from it does not. */
static void
test_image_op(void **state)
{
	struct fx *f = *state;
	struct vm_rec v = make_vm(f, "full", 0, false);
	struct vm_rec w = make_vm(f, "other", 1, false);
	struct store_conn *c;
	struct op_rec op, st;
	char id[UUID_STR_LEN];

	make_op(f, &w, OP_START, "{}", &st);
	c = store_read_begin(f->s);
	assert_int_equal(store_disk_image_op(c, "tiny", id), 0);
	store_read_end(c);
	assert_string_equal(id, "");
	make_op(f, &v, OP_CREATE, "{}", &op);
	c = store_read_begin(f->s);
	assert_int_equal(store_disk_image_op(c, "tiny", id), 0);
	assert_string_equal(id, op.id);
	assert_int_equal(store_disk_image_op(c, "other-image", id), 0);
	assert_string_equal(id, "");
	store_read_end(c);
	set_status(f, op.id, OP_RUNNING);
	set_status(f, op.id, OP_SUCCEEDED);
	c = store_read_begin(f->s);
	assert_int_equal(store_disk_image_op(c, "tiny", id), 0);
	store_read_end(c);
	assert_string_equal(id, "");
}

static int
count_row(const struct host_image_rec *h, void *arg)
{
	assert_string_equal(h->volume, BASE);
	(*(int *)arg)++;
	return 0;
}

static void
test_each(void **state)
{
	struct fx *f = *state;
	struct store_conn *c = store_read_begin(f->s);
	int n = 0;
	int64_t copies = 0;

	assert_int_equal(store_host_image_each(c, f->h[0].id, NULL,
	    count_row, &n), 0);
	assert_int_equal(store_host_image_each(c, f->h[1].id, SHA, count_row,
	    &n), 0);
	assert_int_equal(store_host_image_each(c, f->h[1].id, "beef",
	    count_row, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_host_image_count(c, SHA, &copies), 0);
	assert_int_equal(copies, 2);
	assert_int_equal(store_host_image_count(c, "beef", &copies), 0);
	assert_int_equal(copies, 0);
	store_read_end(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_overlays, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_in_flight, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migration_unrelated, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_full_copy_create, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_each, setup, teardown),
		cmocka_unit_test_setup_teardown(test_image_op, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
