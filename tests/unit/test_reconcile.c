/*
 * test_reconcile.c - unit tests of daemon/reconcile.c: the sweep over
 * every VM, a page at a time, against libvirt's in-memory test:///default
 * driver (its one domain, "test", runs; every other VM's domain is
 * missing, so it is unknown).
 *
 * The inventory is bigger than one page of the sweep, so the walk has to
 * resume where the last page ended; what each VM shows afterwards, and
 * that a second sweep writes nothing, are checked in the store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvirt/libvirt.h>

#include "backends/backend.h"
#include "common/error.h"
#include "common/log.h"
#include "common/types.h"
#include "daemon/app.h"
#include "daemon/config.h"
#include "daemon/reconcile.h"
#include "daemon/view.h"
#include "store/store.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define NVMS 9000               /* more than a page (8,192) */

struct fx {
	char dir[256];
	char path[300];
	char pool[300];
	struct app app;
	char test_uuid[VIR_UUID_STRING_BUFLEN];  /* test:///default's "test" */
};

static int
group_setup(void **state)
{
	(void)state;
	log_set_level(LOG_ERROR);       /* a warning for each unknown VM */
	if (backend_init() < 0) {
		print_error("backend_init: %s\n", err_last()->msg);
		return -1;
	}
	return 0;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	virConnectPtr c;
	virDomainPtr d;

	if (f == NULL)
		return -1;
	*state = f;
	snprintf(f->dir, sizeof(f->dir), "%s/hangar-reconcile-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/hangar.db", f->dir);
	snprintf(f->pool, sizeof(f->pool), "%s/images", f->dir);
	if (mkdir(f->pool, 0700) < 0)
		return -1;
	config_defaults(&f->app.cfg);
	snprintf(f->app.cfg.host_uri, sizeof(f->app.cfg.host_uri),
	    "test:///default");
	snprintf(f->app.cfg.pool_name, sizeof(f->app.cfg.pool_name),
	    "hangar-reconcile");
	snprintf(f->app.cfg.pool_path, sizeof(f->app.cfg.pool_path), "%s",
	    f->pool);
	if ((f->app.store = store_open(f->path)) == NULL ||
	    (f->app.view = view_load(f->app.store)) == NULL ||
	    (f->app.fleet = fleet_open(f->app.store, f->app.view,
	    &f->app.cfg)) == NULL || fleet_start(f->app.fleet) != 0) {
		print_error("setup: %s\n", err_last()->msg);
		return -1;
	}
	/* the fleet's connection keeps the driver's state alive */
	if ((c = virConnectOpen("test:///default")) == NULL ||
	    (d = virDomainLookupByName(c, "test")) == NULL ||
	    virDomainGetUUIDString(d, f->test_uuid) < 0) {
		print_error("no domain 'test' on test:///default\n");
		return -1;
	}
	virDomainFree(d);
	virConnectClose(c);
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char p[320];

	if (f == NULL)
		return 0;
	fleet_close(f->app.fleet);
	view_free(f->app.view);
	store_close(f->app.store);
	for (size_t i = 0; i < NELEM(suffix); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->pool);
	rmdir(f->dir);
	free(f);
	return 0;
}

struct fill {
	struct fx *f;
	int64_t host_id;
};

/* NVMS VMs on `local`, all stored running; "zz-test" is the driver's
 * running domain, stored stopped; it sorts last, in the second page. */
static int
tx_fill(struct store_conn *c, void *arg)
{
	struct fill *fl = arg;
	struct vm_rec v;

	for (int i = 0; i <= NVMS; i++) {
		memset(&v, 0, sizeof(v));
		if (i == NVMS) {
			snprintf(v.uuid, sizeof(v.uuid), "%s",
			    fl->f->test_uuid);
			snprintf(v.name, sizeof(v.name), "zz-test");
			snprintf(v.observed, sizeof(v.observed), "stopped");
		} else {
			snprintf(v.uuid, sizeof(v.uuid),
			    "5e000000-0000-4000-8000-%012d", i);
			snprintf(v.name, sizeof(v.name), "vm-%05d", i);
			snprintf(v.observed, sizeof(v.observed), "running");
		}
		v.vcpus = 1;
		v.memory_mib = 64;
		v.disk_gib = 1;
		v.host_id = fl->host_id;
		snprintf(v.desired, sizeof(v.desired), "%s", v.observed);
		snprintf(v.on_drift, sizeof(v.on_drift), "record");
		if (store_vm_insert(c, &v, NULL, 0) != 0)
			return -1;
	}
	return 0;
}

static int
count_vm(const struct vm_rec *v, void *arg)
{
	(void)v;
	(*(int *)arg)++;
	return 0;
}

static int
count_state(struct fx *f, const char *state)
{
	struct store_conn *c = store_read_begin(f->app.store);
	int n = 0;

	if (store_vm_each(c, NULL, state, count_vm, &n) != 0)
		fail_msg("list vms: %s", err_last()->msg);
	store_read_end(c);
	return n;
}

/*
 * One sweep sees every VM across the pages: the missing domains become
 * unknown, the running one running; a second sweep writes nothing.
 */
static void
test_sweep_pages(void **state)
{
	struct fx *f = *state;
	struct fill fl = { f, 0 };
	struct store_conn *c = store_read_begin(f->app.store);
	struct host_rec h;
	struct vm_rec v;
	int64_t ev;

	assert_int_equal(store_host_get(c, "local", &h), 0);
	store_read_end(c);
	fl.host_id = h.id;
	if (store_tx(f->app.store, tx_fill, &fl) != 0)
		fail_msg("fill: %s", err_last()->msg);
	assert_int_equal(count_state(f, "running"), NVMS);

	reconcile_sweep(&f->app);
	assert_int_equal(count_state(f, "unknown"), NVMS);
	assert_int_equal(count_state(f, "running"), 1);
	c = store_read_begin(f->app.store);
	assert_int_equal(store_vm_get(c, "zz-test", &v), 0);
	store_read_end(c);
	assert_string_equal(v.observed, "running");

	ev = store_event_last(f->app.store);
	reconcile_sweep(&f->app);
	assert_int_equal(store_event_last(f->app.store), ev);
	assert_int_equal(count_state(f, "unknown"), NVMS);
}

/* A look at one VM records its state. */
static void
test_reconcile_vm(void **state)
{
	struct fx *f = *state;
	struct fill fl = { f, 0 };
	struct store_conn *c = store_read_begin(f->app.store);
	struct host_rec h;
	struct vm_rec v;

	assert_int_equal(store_host_get(c, "local", &h), 0);
	store_read_end(c);
	fl.host_id = h.id;
	if (store_tx(f->app.store, tx_fill, &fl) != 0)
		fail_msg("fill: %s", err_last()->msg);
	reconcile_vm(&f->app, f->test_uuid);
	reconcile_vm(&f->app, "5e000000-0000-4000-8000-000000000007");
	c = store_read_begin(f->app.store);
	assert_int_equal(store_vm_get(c, "zz-test", &v), 0);
	assert_string_equal(v.observed, "running");
	assert_int_equal(store_vm_get(c, "vm-00007", &v), 0);
	assert_string_equal(v.observed, "unknown");
	assert_int_equal(store_vm_get(c, "vm-00008", &v), 0);
	assert_string_equal(v.observed, "running");
	store_read_end(c);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_sweep_pages),
		T(test_reconcile_vm),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
