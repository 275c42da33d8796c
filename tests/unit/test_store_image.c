/*
 * test_store_image.c - unit tests of store/store_image.c: the image
 * library's rows (insert, the unique name, get, set ready, list, delete,
 * the rows of one import of several disks set ready or removed together)
 * and the migration that makes their table.
 *
 * Each test gets a fresh database in its own mkdtemp() directory, removed
 * afterwards (as in test_store.c).
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
	snprintf(f->dir, sizeof(f->dir), "%s/hangar-img-XXXXXX",
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

static int
tx_insert(struct store_conn *c, void *arg)
{
	return store_image_insert(c, arg);
}

static int
tx_ready(struct store_conn *c, void *arg)
{
	return store_image_set_ready(c, arg);
}

static int
tx_delete(struct store_conn *c, void *arg)
{
	return store_image_delete(c, arg);
}

static void
image_new(struct image_rec *im, const char *name)
{
	memset(im, 0, sizeof(*im));
	snprintf(im->name, sizeof(im->name), "%s", name);
	snprintf(im->source_format, sizeof(im->source_format), "raw");
	snprintf(im->sha256_upload, sizeof(im->sha256_upload), "%064d", 1);
	snprintf(im->op_id, sizeof(im->op_id), "op-%s", name);
}

static int
get(struct store *s, const char *name, struct image_rec *out)
{
	struct store_conn *c = store_read_begin(s);
	int r = store_image_get(c, name, out);

	store_read_end(c);
	return r;
}

static void
test_insert_get(void **state)
{
	struct fx *f = *state;
	struct image_rec im, got;

	image_new(&im, "debian-12.5");
	snprintf(im.os, sizeof(im.os), "linux");
	assert_int_equal(store_tx(f->s, tx_insert, &im), 0);
	assert_true(im.id > 0);
	assert_int_equal(get(f->s, "debian-12.5", &got), 0);
	assert_int_equal(got.id, im.id);
	assert_string_equal(got.state, "importing");
	assert_string_equal(got.source_format, "raw");
	assert_string_equal(got.os, "linux");
	assert_string_equal(got.sha256_upload, im.sha256_upload);
	assert_string_equal(got.sha256, "");
	assert_string_equal(got.path, "");
	assert_string_equal(got.op_id, "op-debian-12.5");
	assert_true(got.created_at > 0);
	/* os defaults to other */
	image_new(&im, "plain");
	assert_int_equal(store_tx(f->s, tx_insert, &im), 0);
	assert_int_equal(get(f->s, "plain", &got), 0);
	assert_string_equal(got.os, "other");
}

static void
test_name_unique(void **state)
{
	struct fx *f = *state;
	struct image_rec im;

	image_new(&im, "a");
	assert_int_equal(store_tx(f->s, tx_insert, &im), 0);
	image_new(&im, "a");
	assert_int_equal(store_tx(f->s, tx_insert, &im), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_string_equal(err_last()->field, "name");
	assert_int_equal(get(f->s, "nope", &im), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
}

static void
test_set_ready(void **state)
{
	struct fx *f = *state;
	struct image_rec im, got;

	image_new(&im, "img");
	assert_int_equal(store_tx(f->s, tx_insert, &im), 0);
	snprintf(im.sha256, sizeof(im.sha256), "%064d", 2);
	im.virtual_size = 1 << 30;
	im.actual_size = 196608;
	snprintf(im.path, sizeof(im.path), "/lib/img.qcow2");
	snprintf(im.ova_spec, sizeof(im.ova_spec), "{\"vcpus\":2}");
	assert_int_equal(store_tx(f->s, tx_ready, &im), 0);
	assert_int_equal(get(f->s, "img", &got), 0);
	assert_string_equal(got.state, "ready");
	assert_string_equal(got.sha256, im.sha256);
	assert_int_equal(got.virtual_size, 1 << 30);
	assert_int_equal(got.actual_size, 196608);
	assert_string_equal(got.path, "/lib/img.qcow2");
	assert_string_equal(got.ova_spec, "{\"vcpus\":2}");
	/* only an importing image becomes ready */
	assert_int_equal(store_tx(f->s, tx_ready, &im), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
}

static int
count_each(const struct image_rec *im, void *arg)
{
	char *names = arg;

	strcat(names, im->name);
	strcat(names, " ");
	return 0;
}

static int
stop_each(const struct image_rec *im, void *arg)
{
	(void)im;
	(*(int *)arg)++;
	return 1;
}

static void
test_each_delete(void **state)
{
	struct fx *f = *state;
	struct image_rec im;
	struct store_conn *c;
	char names[256] = "";
	int n = 0;

	image_new(&im, "zeta");
	assert_int_equal(store_tx(f->s, tx_insert, &im), 0);
	image_new(&im, "alpha");
	assert_int_equal(store_tx(f->s, tx_insert, &im), 0);
	c = store_read_begin(f->s);
	assert_int_equal(store_image_each(c, count_each, names), 0);
	assert_int_equal(store_image_each(c, stop_each, &n), 0);
	store_read_end(c);
	assert_string_equal(names, "alpha zeta ");
	assert_int_equal(n, 1);
	assert_int_equal(store_tx(f->s, tx_delete, (void *)"alpha"), 0);
	assert_int_equal(store_tx(f->s, tx_delete, (void *)"alpha"), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(get(f->s, "alpha", &im), -1);
	assert_int_equal(get(f->s, "zeta", &im), 0);
}

static int
tx_stored(struct store_conn *c, void *arg)
{
	return store_image_set_stored(c, arg);
}

static int
tx_ready_op(struct store_conn *c, void *arg)
{
	return store_image_ready_op(c, arg);
}

static int
tx_delete_import(struct store_conn *c, void *arg)
{
	return store_image_delete_import(c, arg);
}

/* ova, ova-disk2 and ova-disk3 of import "op-ova"; "other" of another. */
static void
import_three(struct store *s, struct image_rec im[3])
{
	struct image_rec other;
	static const char *const name[] = { "ova", "ova-disk2", "ova-disk3" };

	for (int k = 0; k < 3; k++) {
		image_new(&im[k], name[k]);
		snprintf(im[k].op_id, sizeof(im[k].op_id), "op-ova");
		assert_int_equal(store_tx(s, tx_insert, &im[k]), 0);
	}
	image_new(&other, "other");
	assert_int_equal(store_tx(s, tx_insert, &other), 0);
}

static void
test_import_ready_together(void **state)
{
	struct fx *f = *state;
	struct image_rec im[3], got;

	import_three(f->s, im);
	for (int k = 1; k < 3; k++) {
		snprintf(im[k].sha256, sizeof(im[k].sha256), "%064d", 3 + k);
		im[k].virtual_size = (int64_t)k << 20;
		im[k].actual_size = 4096;
		snprintf(im[k].path, sizeof(im[k].path), "/lib/d%d.qcow2", k);
		assert_int_equal(store_tx(f->s, tx_stored, &im[k]), 0);
	}
	/* results recorded, but still importing until the import ends */
	assert_int_equal(get(f->s, "ova-disk2", &got), 0);
	assert_string_equal(got.state, "importing");
	assert_string_equal(got.path, "/lib/d1.qcow2");
	snprintf(im[0].sha256, sizeof(im[0].sha256), "%064d", 3);
	assert_int_equal(store_tx(f->s, tx_ready, &im[0]), 0);
	assert_int_equal(store_tx(f->s, tx_ready_op, (void *)"op-ova"), 0);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(get(f->s, im[k].name, &got), 0);
		assert_string_equal(got.state, "ready");
		assert_string_equal(got.sha256, im[k].sha256);
	}
	assert_int_equal(get(f->s, "ova-disk3", &got), 0);
	assert_int_equal(got.virtual_size, 2 << 20);
	/* another import's row is not touched */
	assert_int_equal(get(f->s, "other", &got), 0);
	assert_string_equal(got.state, "importing");
	/* a ready row is not removed as a failed import's */
	assert_int_equal(store_tx(f->s, tx_delete_import, (void *)"op-ova"), 0);
	assert_int_equal(get(f->s, "ova-disk2", &got), 0);
}

static void
test_import_removed_together(void **state)
{
	struct fx *f = *state;
	struct image_rec im[3], got;

	import_three(f->s, im);
	snprintf(im[1].sha256, sizeof(im[1].sha256), "%064d", 4);
	assert_int_equal(store_tx(f->s, tx_stored, &im[1]), 0);
	assert_int_equal(store_tx(f->s, tx_delete_import, (void *)"op-ova"), 0);
	for (int k = 0; k < 3; k++) {
		assert_int_equal(get(f->s, im[k].name, &got), -1);
		assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	}
	assert_int_equal(get(f->s, "other", &got), 0);
	/* results of a row that is no more: not found */
	assert_int_equal(store_tx(f->s, tx_stored, &im[1]), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_insert_get),
		T(test_name_unique),
		T(test_set_ready),
		T(test_each_delete),
		T(test_import_ready_together),
		T(test_import_removed_together),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
