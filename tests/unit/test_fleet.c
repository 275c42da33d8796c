/*
 * test_fleet.c - unit tests of daemon/fleet.c and fleet_pool.c:
 * connecting the hosts, recording what a look at one finds only when it
 * changed, each host's pool being the one at its directory, moving it,
 * and finding out which hosts share storage.
 *
 * Each test runs a fleet over a fresh store (in its own mkdtemp()
 * directory, removed afterwards) and libvirt's in-memory test:///default
 * driver; a host that cannot be reached is one whose test driver file does
 * not exist.  "Nothing written" is checked on the host row's updated_at
 * and on the newest event id, which every host write moves.
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
#include "common/types.h"
#include "daemon/app.h"
#include "daemon/config.h"
#include "daemon/view.h"
#include "store/store.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define DEAD_URI "test:///nonexistent/hangar-test-fleet.xml"

struct fx {
	char dir[256];
	char path[300];
	char pool[300];
	struct config cfg;
	struct store *s;
	struct view *v;
	struct fleet *fl;
};

static int
group_setup(void **state)
{
	(void)state;
	if (backend_init() < 0) {
		print_error("backend_init: %s\n", err_last()->msg);
		return -1;
	}
	return 0;
}

/* Open the store and the view (a fleet is made by fleet_up). */
static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	*state = f;
	snprintf(f->dir, sizeof(f->dir), "%s/hangar-fleet-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/hangar.db", f->dir);
	snprintf(f->pool, sizeof(f->pool), "%s/images", f->dir);
	if (mkdir(f->pool, 0700) < 0)
		return -1;
	config_defaults(&f->cfg);
	snprintf(f->cfg.host_uri, sizeof(f->cfg.host_uri), "test:///default");
	snprintf(f->cfg.pool_name, sizeof(f->cfg.pool_name), "hangar-fleet");
	snprintf(f->cfg.pool_path, sizeof(f->cfg.pool_path), "%s", f->pool);
	if ((f->s = store_open(f->path)) == NULL) {
		print_error("store_open: %s\n", err_last()->msg);
		return -1;
	}
	return 0;
}

static void
fleet_down_all(struct fx *f)
{
	fleet_close(f->fl);
	f->fl = NULL;
	view_free(f->v);
	f->v = NULL;
}

/* Load the view and start a fleet over the store, as main() does. */
static void
fleet_up(struct fx *f)
{
	if ((f->v = view_load(f->s)) == NULL)
		fail_msg("view_load: %s", err_last()->msg);
	if ((f->fl = fleet_open(f->s, f->v, &f->cfg)) == NULL)
		fail_msg("fleet_open: %s", err_last()->msg);
	if (fleet_start(f->fl) != 0)
		fail_msg("fleet_start: %s", err_last()->msg);
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char p[320];

	if (f == NULL)
		return 0;
	fleet_down_all(f);
	store_close(f->s);
	for (size_t i = 0; i < NELEM(suffix); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->pool);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
get_host(struct fx *f, const char *name, struct host_rec *h)
{
	struct store_conn *c = store_read_begin(f->s);

	if (store_host_get(c, name, h) != 0)
		fail_msg("get host '%s': %s", name, err_last()->msg);
	store_read_end(c);
}

static void
get_host_id(struct fx *f, const char *name, int64_t *id)
{
	struct host_rec h;

	get_host(f, name, &h);
	*id = h.id;
}

static int
tx_host_insert(struct store_conn *c, void *arg)
{
	return store_host_insert(c, arg);
}

static int
tx_host_facts(struct store_conn *c, void *arg)
{
	return store_host_update_facts(c, arg);
}

/* A host row as a previous run would have left it. */
static int64_t
add_host(struct fx *f, const char *name, const char *uri, const char *state)
{
	struct host_rec h;

	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "%s", name);
	snprintf(h.uri, sizeof(h.uri), "%s", uri);
	snprintf(h.state, sizeof(h.state), "%s", state);
	snprintf(h.labels, sizeof(h.labels), "{}");
	h.cpu_ratio = h.ram_ratio = h.disk_ratio = 1.0;
	if (store_tx(f->s, tx_host_insert, &h) != 0)
		fail_msg("insert host '%s': %s", name, err_last()->msg);
	return h.id;
}

/* The view's record of host id. */
static struct sched_host
view_host(struct fx *f, int64_t id)
{
	struct sched_host hs;
	const struct sched_host *all;
	size_t n;
	int i;

	view_lock(f->v);
	all = view_hosts(f->v, &n);
	i = view_host_index(f->v, id);
	if (i < 0) {
		view_unlock(f->v);
		fail_msg("host #%lld is not in the view", (long long)id);
	}
	hs = all[i];
	view_unlock(f->v);
	return hs;
}

/* The first start registers `local`, connects it and records its facts. */
static void
test_start_registers_local(void **state)
{
	struct fx *f = *state;
	struct host_rec h;

	fleet_up(f);
	get_host(f, "local", &h);
	assert_string_equal(h.uri, "test:///default");
	assert_string_equal(h.state, "ready");
	assert_true(h.cpus > 0);
	assert_true(h.memory_mib > 0);
	assert_true(h.arch[0] != '\0');
	assert_int_equal(view_host(f, h.id).state, SCHED_READY);
	assert_int_equal(view_host(f, h.id).cpus, h.cpus);
	assert_non_null(fleet_conn(f->fl, h.id));
}

/* An idle fleet writes nothing: checks find what was recorded. */
static void
test_check_idle_writes_nothing(void **state)
{
	struct fx *f = *state;
	struct host_rec before, after;
	int64_t ev;

	fleet_up(f);
	get_host(f, "local", &before);
	ev = store_event_last(f->s);
	usleep(5000);           /* a write would move updated_at */
	for (int i = 0; i < 3; i++)
		fleet_check(f->fl);
	get_host(f, "local", &after);
	assert_int_equal(after.updated_at, before.updated_at);
	assert_int_equal(store_event_last(f->s), ev);
	assert_string_equal(after.state, "ready");
}

/*
 * A restart compares with what the store holds: the same facts are not
 * written again, other ones are (and reach the view).
 */
static void
test_restart_writes_only_changes(void **state)
{
	struct fx *f = *state;
	struct host_rec h, stale, again;

	fleet_up(f);
	get_host(f, "local", &h);
	fleet_down_all(f);

	usleep(5000);
	fleet_up(f);
	get_host(f, "local", &again);
	assert_int_equal(again.updated_at, h.updated_at);
	fleet_down_all(f);

	stale = h;
	stale.cpus = h.cpus + 7;
	stale.free_memory_mib = h.free_memory_mib + 1;
	if (store_tx(f->s, tx_host_facts, &stale) != 0)
		fail_msg("update facts: %s", err_last()->msg);
	get_host(f, "local", &stale);
	usleep(5000);
	fleet_up(f);
	get_host(f, "local", &again);
	assert_int_equal(again.cpus, h.cpus);
	assert_int_equal(again.free_memory_mib, h.free_memory_mib);
	assert_true(again.updated_at > stale.updated_at);
	assert_int_equal(view_host(f, h.id).cpus, h.cpus);
}

struct ev_find {
	const char *type;
	const char *host;
	int n;
};

static int
ev_count(const struct event_rec *e, void *arg)
{
	struct ev_find *q = arg;

	if (strcmp(e->type, q->type) == 0 && strcmp(e->host, q->host) == 0)
		q->n++;
	return 0;
}

static int
count_events(struct fx *f, const char *type, const char *host)
{
	struct ev_find q = { type, host, 0 };
	struct store_conn *c = store_read_begin(f->s);

	if (store_event_each(c, 0, 100000, ev_count, &q) != 0)
		fail_msg("events: %s", err_last()->msg);
	store_read_end(c);
	return q.n;
}

/*
 * A host stored ready that cannot be reached is recorded unreachable once
 * (one host.unreachable event), shown so to the view, and refused by
 * fleet_conn with the reason; later checks in its backoff write nothing.
 */
static void
test_unreachable_recorded_once(void **state)
{
	struct fx *f = *state;
	int64_t id, ev;
	struct host_rec h;

	add_host(f, "local", "test:///default", "ready");
	id = add_host(f, "dead", DEAD_URI, "ready");
	fleet_up(f);
	get_host(f, "dead", &h);
	assert_string_equal(h.state, "unreachable");
	assert_int_equal(count_events(f, "host.unreachable", "dead"), 1);
	assert_int_equal(view_host(f, id).state, SCHED_UNREACHABLE);
	get_host(f, "local", &h);
	assert_string_equal(h.state, "ready");

	assert_null(fleet_conn(f->fl, id));
	assert_int_equal(err_last()->code, ERR_UNAVAILABLE);
	assert_non_null(strstr(err_last()->msg, "host 'dead' is unreachable"));

	ev = store_event_last(f->s);
	fleet_check(f->fl);
	fleet_check(f->fl);
	assert_int_equal(store_event_last(f->s), ev);
	assert_int_equal(count_events(f, "host.unreachable", "dead"), 1);
}

/* A host stored unreachable and still so is not written at start. */
static void
test_still_unreachable_not_written(void **state)
{
	struct fx *f = *state;
	struct host_rec before, after;

	add_host(f, "local", "test:///default", "ready");
	add_host(f, "dead", DEAD_URI, "unreachable");
	get_host(f, "dead", &before);
	usleep(5000);
	fleet_up(f);
	get_host(f, "dead", &after);
	assert_string_equal(after.state, "unreachable");
	assert_int_equal(after.updated_at, before.updated_at);
	assert_int_equal(count_events(f, "host.unreachable", "dead"), 0);
}

/* A host stored unreachable that answers now is recorded ready. */
static void
test_back_to_ready(void **state)
{
	struct fx *f = *state;
	int64_t id;
	struct host_rec h;

	id = add_host(f, "local", "test:///default", "unreachable");
	fleet_up(f);
	get_host(f, "local", &h);
	assert_string_equal(h.state, "ready");
	assert_true(h.cpus > 0);
	assert_int_equal(count_events(f, "host.ready", "local"), 1);
	assert_int_equal(view_host(f, id).state, SCHED_READY);
}

/* Register host name at test:///default with pool_path path ("": none). */
static int64_t
register_host(struct fx *f, const char *name, const char *path)
{
	struct host_rec h;

	memset(&h, 0, sizeof(h));
	fleet_host_defaults(f->fl, &h);
	snprintf(h.name, sizeof(h.name), "%s", name);
	snprintf(h.uri, sizeof(h.uri), "test:///default");
	snprintf(h.pool_path, sizeof(h.pool_path), "%s", path);
	if (fleet_register(f->fl, &h) != 0)
		fail_msg("register '%s': %s", name, err_last()->msg);
	return h.id;
}

static int
tx_vm_insert(struct store_conn *c, void *arg)
{
	return store_vm_insert(c, arg, NULL, 0);
}

/*
 * The bug: a host registered with a pool_path whose libvirt already had
 * the configured pool elsewhere kept that pool, and its disks went there.
 * Each directory has its own pool now; a host whose directory holds the
 * configured pool (an existing install) keeps it.
 */
static void
test_pool_per_path(void **state)
{
	struct fx *f = *state;
	char p2[320], same[320], pool[FLEET_POOL_MAX];
	char found[FLEET_POOL_MAX], disk[1024];
	struct backend_conn *bc;
	int64_t local, two, three;

	snprintf(p2, sizeof(p2), "%s/p2", f->dir);
	snprintf(same, sizeof(same), "%s//", f->pool);
	fleet_up(f);
	get_host_id(f, "local", &local);
	assert_int_equal(fleet_pool(f->fl, local, pool, sizeof(pool)), 0);
	assert_string_equal(pool, "hangar-fleet");

	/* the same libvirt, another directory: a pool of its own there */
	two = register_host(f, "two", p2);
	assert_int_equal(fleet_pool(f->fl, two, pool, sizeof(pool)), 0);
	assert_int_equal(strncmp(pool, "hangar-fleet-", 13), 0);
	assert_int_equal(strlen(pool), 13 + 8);
	bc = fleet_conn(f->fl, two);
	assert_non_null(bc);
	assert_int_equal(backend_pool_find(bc, p2, found, sizeof(found)), 0);
	assert_string_equal(found, pool);
	assert_int_equal(backend_volume_create(bc, pool, "d.qcow2", 1, disk,
	    sizeof(disk)), 0);
	assert_int_equal(strncmp(disk, p2, strlen(p2)), 0);
	assert_int_equal(backend_volume_delete(bc, pool, "d.qcow2"), 0);

	/* the configured directory, however written: the configured pool */
	three = register_host(f, "three", same);
	assert_int_equal(fleet_pool(f->fl, three, pool, sizeof(pool)), 0);
	assert_string_equal(pool, "hangar-fleet");

	/* sharing is found: local and three see one pool, two does not */
	{
		bool shared = false;
		char why[1200];

		assert_int_equal(fleet_shared(f->fl, local, three, &shared, why,
		    sizeof(why)), 0);
		assert_true(shared);
		assert_non_null(strstr(why, "share storage"));
		assert_int_equal(fleet_shared(f->fl, two, local, &shared, why,
		    sizeof(why)), 0);
		assert_false(shared);
		assert_non_null(strstr(why, "do not share storage"));
		/* no marker is left behind in either pool */
		virConnectPtr raw = virConnectOpen("test:///default");
		virStoragePoolPtr sp;

		assert_non_null(raw);
		sp = virStoragePoolLookupByName(raw, "hangar-fleet");
		assert_non_null(sp);
		virStoragePoolRefresh(sp, 0);
		assert_int_equal(virStoragePoolNumOfVolumes(sp), 0);
		virStoragePoolFree(sp);
		assert_int_equal(fleet_pool(f->fl, two, pool, sizeof(pool)), 0);
		sp = virStoragePoolLookupByName(raw, pool);
		assert_non_null(sp);
		assert_int_equal(virStoragePoolNumOfVolumes(sp), 0);
		virStoragePoolFree(sp);
		virConnectClose(raw);
	}

	/* refused: the name the rule gives is a pool at another directory */
	{
		struct host_rec h;

		snprintf(f->cfg.pool_path, sizeof(f->cfg.pool_path), "%s/moved",
		    f->dir);
		memset(&h, 0, sizeof(h));
		fleet_host_defaults(f->fl, &h);
		snprintf(h.name, sizeof(h.name), "four");
		snprintf(h.uri, sizeof(h.uri), "test:///default");
		assert_int_equal(fleet_register(f->fl, &h), -1);
		assert_int_equal(err_last()->code, ERR_CONFLICT);
		assert_string_equal(err_last()->field, "pool_path");
		assert_non_null(strstr(err_last()->msg, "storage pool "
		    "'hangar-fleet' on host 'test:///default' is at"));
		snprintf(f->cfg.pool_path, sizeof(f->cfg.pool_path), "%s",
		    f->pool);
	}
}

/* pool_path changes while the host holds no VM, and not after. */
static void
test_pool_path_change(void **state)
{
	struct fx *f = *state;
	char p2[320], p3[320], pool[FLEET_POOL_MAX], before[FLEET_POOL_MAX];
	struct host_rec h;
	struct vm_rec v;
	int64_t two;
	bool shared = true;

	snprintf(p2, sizeof(p2), "%s/p2", f->dir);
	snprintf(p3, sizeof(p3), "%s/p3", f->dir);
	fleet_up(f);
	two = register_host(f, "two", p2);
	assert_int_equal(fleet_pool(f->fl, two, before, sizeof(before)), 0);

	/* empty: it moves, and it now shares with local */
	assert_int_equal(fleet_set_pool_path(f->fl, two, p3, &h), 0);
	assert_string_equal(h.pool_path, p3);
	assert_int_equal(fleet_pool(f->fl, two, pool, sizeof(pool)), 0);
	assert_string_not_equal(pool, before);
	get_host(f, "two", &h);
	assert_string_equal(h.pool_path, p3);
	assert_int_equal(fleet_set_pool_path(f->fl, two, "", &h), 0);
	assert_int_equal(fleet_pool(f->fl, two, pool, sizeof(pool)), 0);
	assert_string_equal(pool, "hangar-fleet");
	{
		int64_t local;

		get_host_id(f, "local", &local);
		assert_int_equal(fleet_shared(f->fl, local, two, &shared, NULL,
		    0), 0);
		assert_true(shared);
	}

	/* a VM on it: refused, and nothing changes */
	memset(&v, 0, sizeof(v));
	snprintf(v.uuid, sizeof(v.uuid), "uuid-web1");
	snprintf(v.name, sizeof(v.name), "web1");
	v.vcpus = 1;
	v.memory_mib = 64;
	v.disk_gib = 1;
	v.host_id = two;
	snprintf(v.desired, sizeof(v.desired), "stopped");
	snprintf(v.observed, sizeof(v.observed), "stopped");
	if (store_tx(f->s, tx_vm_insert, &v) != 0)
		fail_msg("insert vm: %s", err_last()->msg);
	assert_int_equal(fleet_set_pool_path(f->fl, two, p2, &h), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_string_equal(err_last()->field, "pool_path");
	assert_non_null(strstr(err_last()->msg, "holds 1 VM(s)"));
	get_host(f, "two", &h);
	assert_string_equal(h.pool_path, "");
	assert_int_equal(fleet_pool(f->fl, two, pool, sizeof(pool)), 0);
	assert_string_equal(pool, "hangar-fleet");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_start_registers_local),
		T(test_check_idle_writes_nothing),
		T(test_restart_writes_only_changes),
		T(test_unreachable_recorded_once),
		T(test_still_unreachable_not_written),
		T(test_back_to_ready),
		T(test_pool_per_path),
		T(test_pool_path_change),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
