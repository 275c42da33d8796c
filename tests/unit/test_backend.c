/*
 * test_backend.c - unit tests of backends/: the wrappers in backend.c
 * (a missing table or operation becomes ERR_UNSUPPORTED) and the libvirt
 * backend in lv_*.c, driven against libvirt's own test:///default driver:
 * real libvirt code, in memory, no hand-written mock.
 *
 * libvirt's test driver keeps one in-memory state for test:///default
 * while at least one connection to it is open; it starts afresh once the
 * last one closes.  Each test opens the backend connection in its setup
 * (and a raw virConnectPtr beside it, to check from libvirt's side what
 * the backend did) and closes both in its teardown, so tests do not see
 * one another's domains and pools.
 *
 * Lifecycle events are dispatched by libvirt's event loop, in the thread
 * backend_init() starts; the test driver delivers an event to every open
 * connection to test:///default, whichever one caused it, so the tests
 * cause them through f->raw as well as through the backend.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <uuid/uuid.h>

#include "backends/backend.h"
#include "common/error.h"
#include "common/log.h"

#define TEST_URI "test:///default"

struct fx {
	struct backend_conn *bc;
	virConnectPtr raw;       /* the same in-memory host, seen directly */
	char pool_dir[256];
	int64_t cap, avail;      /* the pool's capacity, from pool_ensure */
};

static void
new_uuid(char out[UUID_STR_LEN])
{
	uuid_t u;

	uuid_generate(u);
	uuid_unparse_lower(u, out);
}

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

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->bc = backend_open(TEST_URI);
	if (f->bc == NULL) {
		print_error("backend_open: %s\n", err_last()->msg);
		free(f);
		return -1;
	}
	f->raw = virConnectOpen(TEST_URI);
	if (f->raw == NULL) {
		backend_close(f->bc);
		free(f);
		return -1;
	}
	snprintf(f->pool_dir, sizeof(f->pool_dir), "%s/hangar-backend-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(f->pool_dir) == NULL) {
		virConnectClose(f->raw);
		backend_close(f->bc);
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

	backend_close(f->bc);
	virConnectClose(f->raw);
	rmdir(f->pool_dir);
	free(f);
	return 0;
}

/* A spec for a small VM with a fresh UUID, typed as the host says. */
static void
spec_init(struct fx *f, struct vm_spec *spec, char *uuid, const char *name,
    struct host_facts *hf, const char *disk)
{
	if (backend_host_facts(f->bc, hf) != 0)
		fail_msg("host_facts: %s", err_last()->msg);
	new_uuid(uuid);
	memset(spec, 0, sizeof(*spec));
	spec->uuid = uuid;
	spec->name = name;
	spec->vcpus = 1;
	spec->memory_mib = 64;
	spec->domain_type = hf->domain_type;
	spec->arch = hf->arch;
	if (disk) {
		/* the spec borrows its disk list: a few live at once */
		static struct vm_disk_spec ds[8];
		static unsigned next;
		struct vm_disk_spec *d = &ds[next++ % 8];

		memset(d, 0, sizeof(*d));
		d->dev = "vda";
		d->path = disk;
		spec->disks = d;
		spec->ndisks = 1;
	}
}

static enum vm_state
state_of(struct fx *f, const char *uuid)
{
	enum vm_state st = VM_UNKNOWN;

	if (backend_state(f->bc, uuid, &st) != 0)
		fail_msg("state of %s: %s", uuid, err_last()->msg);
	return st;
}

/* libvirt's own view of the domain's state. */
static int
raw_state(struct fx *f, const char *uuid)
{
	virDomainPtr d = virDomainLookupByUUIDString(f->raw, uuid);
	int st = -1, reason;

	if (d == NULL)
		return -1;
	if (virDomainGetState(d, &st, &reason, 0) < 0)
		st = -1;
	virDomainFree(d);
	return st;
}

/* --- the wrappers, with a backend that can do nothing --- */

/* A backend with no tables, and one whose tables have no slots filled. */
static const struct backend_driver empty_driver = { .name = "empty" };
static const struct backend_conn_ops empty_conn;
static const struct backend_domain_ops empty_domain;
static const struct backend_storage_ops empty_storage;
static const struct backend_network_ops empty_network;
static const struct backend_driver empty_tables_driver = {
	.name = "empty",
	.conn = &empty_conn,
	.domain = &empty_domain,
	.storage = &empty_storage,
	.network = &empty_network,
};

static void
assert_unsupported(int rc, const char *what)
{
	assert_int_equal(rc, -1);
	assert_int_equal(err_last()->code, ERR_UNSUPPORTED);
	assert_non_null(strstr(err_last()->msg, "the empty backend cannot"));
	assert_non_null(strstr(err_last()->msg, what));
}

/* The network table's wrappers on bc, which can do nothing. */
static void
assert_all_network_unsupported(struct backend_conn *bc)
{
	struct net_spec ns = { .name = "n" };
	struct net_dhcp_host h = { "52:54:00:00:00:01", "10.0.0.2", NULL };
	struct net_lease l;
	bool b;
	int n;

	assert_unsupported(backend_network_define(bc, &ns), "define networks");
	assert_unsupported(backend_network_start(bc, "n"), "start networks");
	assert_unsupported(backend_network_undefine(bc, "n", "u"),
	    "undefine networks");
	assert_unsupported(backend_network_host_add(bc, "n", &h),
	    "add DHCP hosts");
	assert_unsupported(backend_network_host_remove(bc, "n", h.mac),
	    "remove DHCP hosts");
	assert_unsupported(backend_network_leases(bc, "n", NULL, &l, 1, &n),
	    "list DHCP leases");
	assert_unsupported(backend_bridge_exists(bc, "br0", &b),
	    "look up host bridges");
	assert_unsupported(backend_nic_attach(bc, "u", NULL, false),
	    "plug NICs in");
	assert_unsupported(backend_nic_detach(bc, "u", h.mac, false),
	    "unplug NICs");
}

/* Every wrapper on a connection of drv, which can do nothing. */
static void
assert_all_unsupported(const struct backend_driver *drv)
{
	struct backend_conn bc = { .driver = drv, .uri = "empty://" };
	struct host_facts hf;
	struct vm_spec spec = { .uuid = "u", .name = "n" };
	struct guest_info gi;
	static const char *const exec_argv[] = { "true", NULL };
	struct guestexec_status gx;
	struct if_addr ia[IF_ADDR_MAX];
	int nia;
	bool by_agent;
	int frozen;
	int64_t dl_bytes;
	enum vm_state st;
	char path[64];
	struct snap_spec ss = { .name = "s" };
	struct snap_info si;
	struct migrate_spec ms = { .dest_uri = "empty://" };
	struct migrate_stats mst;
	struct migrate_checks mc = { .n = 0 };
	char **xmls = NULL;
	size_t n = 0;

	assert_unsupported(backend_host_facts(&bc, &hf), "describe the host");
	assert_unsupported(backend_pool_ensure(&bc, "p", "/x", NULL, NULL),
	    "storage pools");
	assert_unsupported(backend_pool_find(&bc, "/x", path, sizeof(path)),
	    "storage pools");
	assert_unsupported(backend_volume_create(&bc, "p", "v", 1, path,
	    sizeof(path)), "create volumes");
	assert_unsupported(backend_volume_delete(&bc, "p", "v"),
	    "delete volumes");
	assert_unsupported(backend_define(&bc, &spec), "define domains");
	assert_unsupported(backend_undefine(&bc, "u"), "undefine domains");
	assert_unsupported(backend_start(&bc, "u"), "start domains");
	assert_unsupported(backend_start_paused(&bc, "u"),
	    "start domains paused");
	assert_unsupported(backend_shutdown(&bc, "u", &by_agent), "shut domains down");
	assert_unsupported(backend_destroy(&bc, "u"), "power domains off");
	assert_unsupported(backend_guest_info(&bc, "u", &gi),
	    "talk to guest agents");
	assert_unsupported(backend_fs_freeze(&bc, "u", &frozen),
	    "freeze guests' filesystems");
	assert_unsupported(backend_fs_thaw(&bc, "u"),
	    "thaw guests' filesystems");
	assert_unsupported(backend_guest_exec(&bc, "u", exec_argv, 1000, &gx),
	    "run programs in guests");
	assert_unsupported(backend_vm_addresses(&bc, "u", IF_ADDR_AGENT, ia,
	    IF_ADDR_MAX, &nia), "list the addresses of guests");
	assert_unsupported(backend_suspend(&bc, "u"), "pause domains");
	assert_unsupported(backend_resume(&bc, "u"), "resume domains");
	assert_unsupported(backend_reboot(&bc, "u"), "reboot domains");
	assert_unsupported(backend_reset(&bc, "u"), "reset domains");
	assert_unsupported(backend_set_size(&bc, "u", 2, 128, true),
	    "resize domains");
	assert_unsupported(backend_guest_vcpus(&bc, "u", 2),
	    "online guest vCPUs");
	assert_unsupported(backend_state(&bc, "u", &st), "domain states");
	assert_unsupported(backend_snapshot_create(&bc, "u", &ss, &si),
	    "take snapshots");
	assert_unsupported(backend_snapshot_get(&bc, "u", "s", &si),
	    "read snapshots");
	assert_unsupported(backend_snapshot_revert(&bc, "u", "s", false),
	    "revert to snapshots");
	assert_unsupported(backend_snapshot_delete(&bc, "u", "s"),
	    "delete snapshots");
	assert_unsupported(backend_watch(&bc, NULL, NULL),
	    "watch domain events");
	assert_unsupported(backend_migrate(&bc, "u", &ms), "migrate domains");
	assert_unsupported(backend_job_stats(&bc, "u", false, &mst),
	    "read migration progress");
	assert_unsupported(backend_job_abort(&bc, "u"), "abort migrations");
	assert_unsupported(backend_migrate_postcopy(&bc, "u"),
	    "switch migrations to post-copy");
	assert_unsupported(backend_migrate_check(&bc, "u", &bc, "p", false,
	    &mc), "check migrations");
	assert_unsupported(backend_snapshot_export(&bc, "u", &xmls, &n, path,
	    sizeof(path)), "export snapshots");
	assert_unsupported(backend_snapshot_forget(&bc, "u"),
	    "forget snapshots");
	assert_unsupported(backend_snapshot_redefine(&bc, "u", xmls, 0, ""),
	    "redefine snapshots");
	assert_unsupported(backend_volume_copy(&bc, "p", "v", &bc, "q", NULL,
	    NULL, path, sizeof(path)), "copy volumes");
	assert_unsupported(backend_volume_download(&bc, "p", "v", -1, &dl_bytes),
	    "download volumes");
	assert_unsupported(backend_volume_path(&bc, "p", "v", path,
	    sizeof(path)), "find volumes");
	assert_unsupported(backend_list_domains(&bc, NULL, NULL, NULL),
	    "list its domains");
	assert_unsupported(backend_domain_stats(&bc, NULL, NULL),
	    "report domain statistics");
	assert_unsupported(backend_volume_put(&bc, "p", "v", "x", 1, path,
	    sizeof(path)), "put files into volumes");
	{
		struct backend_console *con = (struct backend_console *)&bc;
		char buf[8];
		size_t bn = sizeof(buf);

		assert_unsupported(backend_console_open(&bc, "u", NULL, NULL,
		    &con), "open consoles");
		assert_null(con);
		assert_unsupported(backend_console_write(&bc,
		    (struct backend_console *)&bc, "x", 1), "write to consoles");
		backend_console_close(&bc, NULL);
		assert_unsupported(backend_send_keys(&bc, "u",
		    &(struct key_combo){ { 30 }, 1 }, 1, 10), "send keys");
		assert_unsupported(backend_file_tail(&bc, "/x/y", buf, &bn),
		    "read files on hosts");
	}
	{
		struct backup_spec bs = { .ndisks = 0 };
		struct backup_job bj;
		char buf[8];
		bool seen = true;

		assert_unsupported(backend_backup_begin(&bc, "u", &bs),
		    "back up domains");
		assert_unsupported(backend_backup_poll(&bc, "u", &bj),
		    "back up domains");
		assert_unsupported(backend_checkpoint_xml(&bc, "u", "c", buf,
		    sizeof(buf)), "keep checkpoints");
		assert_unsupported(backend_checkpoint_define(&bc, "u", "<x/>"),
		    "keep checkpoints");
		assert_unsupported(backend_checkpoint_delete(&bc, "u", "c",
		    false),
		    "keep checkpoints");
		assert_unsupported(backend_file_fetch(&bc, "/x/y", NULL, NULL,
		    false), "read files on hosts");
		assert_unsupported(backend_file_remove(&bc, "/x/y"),
		    "read files on hosts");
		assert_unsupported(backend_file_seen(&bc, "/x/y", "z", 1,
		    &seen), "read files on hosts");
		assert_false(seen);
	}
	assert_all_network_unsupported(&bc);
}

static void
test_wrappers_unsupported(void **state)
{
	char **xmls;

	(void)state;
	assert_all_unsupported(&empty_driver);
	assert_all_unsupported(&empty_tables_driver);
	/* freeing nothing is fine; so is an array of strings */
	backend_free_strings(NULL, 0);
	xmls = calloc(3, sizeof(*xmls));
	assert_non_null(xmls);
	xmls[0] = strdup("a");
	xmls[1] = strdup("b");
	backend_free_strings(xmls, 3);
	assert_int_equal(err_code_http(err_last()->code), 501);
	/* closing nothing is fine */
	backend_close(NULL);
	assert_ptr_equal(backend_for_uri(TEST_URI), &backend_libvirt);
	assert_string_equal(backend_libvirt.name, "libvirt");
}

/* --- libvirt's test driver --- */

static void
test_open(void **state)
{
	struct fx *f = *state;

	assert_ptr_equal(f->bc->driver, &backend_libvirt);
	assert_string_equal(f->bc->uri, TEST_URI);
}

static void
test_host_facts(void **state)
{
	struct fx *f = *state;
	struct host_facts hf;
	virNodeInfo ni;

	memset(&hf, 0xa5, sizeof(hf));
	assert_int_equal(backend_host_facts(f->bc, &hf), 0);
	assert_true(hf.cpus > 0);
	assert_true(hf.memory_mib > 0);
	assert_true(hf.free_memory_mib >= 0);
	assert_true(hf.free_memory_mib <= hf.memory_mib);
	assert_true(hf.arch[0] != '\0');
	assert_non_null(memchr(hf.arch, '\0', sizeof(hf.arch)));
	assert_true(hf.cpu_model[0] != '\0');
	assert_non_null(memchr(hf.cpu_model, '\0', sizeof(hf.cpu_model)));
	/* the test driver offers only its own "test" domains: no kvm, no
	 * qemu, so the backend says what it does offer */
	assert_string_equal(hf.domain_type, "test");
	assert_string_equal(hf.domain_types, "test");

	/* the same numbers libvirt gives, in MiB */
	assert_int_equal(virNodeGetInfo(f->raw, &ni), 0);
	assert_int_equal(hf.cpus, (int)ni.cpus);
	assert_int_equal(hf.memory_mib, (int64_t)(ni.memory / 1024));
}

static void
test_pool_ensure(void **state)
{
	struct fx *f = *state;
	virStoragePoolPtr p;
	char *xml;
	int autostart = 0;

	assert_null(virStoragePoolLookupByName(f->raw, "hangar"));
	virResetLastError();
	assert_int_equal(backend_pool_ensure(f->bc, "hangar", f->pool_dir, &f->cap, &f->avail), 0);
	p = virStoragePoolLookupByName(f->raw, "hangar");
	assert_non_null(p);
	assert_int_equal(virStoragePoolIsActive(p), 1);
	assert_int_equal(virStoragePoolIsPersistent(p), 1);
	assert_int_equal(virStoragePoolGetAutostart(p, &autostart), 0);
	assert_int_equal(autostart, 1);
	xml = virStoragePoolGetXMLDesc(p, 0);
	assert_non_null(xml);
	assert_non_null(strstr(xml, f->pool_dir));
	free(xml);

	/* again: nothing to do */
	assert_int_equal(backend_pool_ensure(f->bc, "hangar", f->pool_dir, &f->cap, &f->avail), 0);
	/* stopped behind our back: started again */
	assert_int_equal(virStoragePoolDestroy(p), 0);
	assert_int_equal(virStoragePoolIsActive(p), 0);
	assert_int_equal(backend_pool_ensure(f->bc, "hangar", f->pool_dir, &f->cap, &f->avail), 0);
	assert_int_equal(virStoragePoolIsActive(p), 1);
	assert_int_equal(virConnectNumOfStoragePools(f->raw), 2); /* + default */
	virStoragePoolFree(p);
}

/*
 * A pool stands for its directory: pool_find names whatever pool is at a
 * directory, and pool_ensure never uses a pool of the asked name that is
 * at another one (the bug: a host asked for /srv/p2 kept an old `hangar`
 * at /var/lib/hangar/images, and every disk went there).
 */
static void
test_pool_per_path(void **state)
{
	struct fx *f = *state;
	char dir2[300], slashed[300], name[256], want[700];
	virStoragePoolPtr p;

	snprintf(dir2, sizeof(dir2), "%s/p2", f->pool_dir);
	/* nothing at either directory yet */
	assert_int_equal(backend_pool_find(f->bc, f->pool_dir, name,
	    sizeof(name)), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(backend_pool_ensure(f->bc, "hangar", f->pool_dir,
	    &f->cap, &f->avail), 0);

	/* found by its directory, written any way */
	snprintf(slashed, sizeof(slashed), "/%s//", f->pool_dir);
	assert_int_equal(backend_pool_find(f->bc, slashed, name,
	    sizeof(name)), 0);
	assert_string_equal(name, "hangar");
	assert_int_equal(backend_pool_find(f->bc, dir2, name, sizeof(name)),
	    -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	/* test:///default's own pool is found by its directory too */
	assert_int_equal(backend_pool_find(f->bc, "/default-pool", name,
	    sizeof(name)), 0);
	assert_string_equal(name, "default-pool");

	/* `hangar` elsewhere is refused, naming it and where it is */
	assert_int_equal(backend_pool_ensure(f->bc, "hangar", dir2, &f->cap,
	    &f->avail), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	snprintf(want, sizeof(want), "storage pool 'hangar' on host '%s' is "
	    "at '%s', not at '%s'", TEST_URI, f->pool_dir, dir2);
	assert_string_equal(err_last()->msg, want);
	/* ... and nothing was made at dir2 */
	assert_int_equal(backend_pool_find(f->bc, dir2, name, sizeof(name)),
	    -1);

	/* a pool of its own there: then each directory has its pool */
	assert_int_equal(backend_pool_ensure(f->bc, "hangar-p2", dir2,
	    &f->cap, &f->avail), 0);
	assert_int_equal(backend_pool_find(f->bc, dir2, name, sizeof(name)),
	    0);
	assert_string_equal(name, "hangar-p2");
	assert_int_equal(backend_pool_find(f->bc, f->pool_dir, name,
	    sizeof(name)), 0);
	assert_string_equal(name, "hangar");
	/* the same name at the same directory, written differently: fine */
	assert_int_equal(backend_pool_ensure(f->bc, "hangar", slashed,
	    &f->cap, &f->avail), 0);

	p = virStoragePoolLookupByName(f->raw, "hangar-p2");
	assert_non_null(p);
	virStoragePoolDestroy(p);
	virStoragePoolUndefine(p);
	virStoragePoolFree(p);
	rmdir(dir2);
}

static void
test_volumes(void **state)
{
	struct fx *f = *state;
	virStoragePoolPtr p;
	virStorageVolPtr v;
	virStorageVolInfo vi;
	char path[1024], want[1100];

	assert_int_equal(backend_pool_ensure(f->bc, "hangar", f->pool_dir, &f->cap, &f->avail), 0);
	memset(path, 0, sizeof(path));
	assert_int_equal(backend_volume_create(f->bc, "hangar", "web1.qcow2",
	    3, path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/web1.qcow2", f->pool_dir);
	assert_string_equal(path, want);

	p = virStoragePoolLookupByName(f->raw, "hangar");
	assert_non_null(p);
	v = virStorageVolLookupByName(p, "web1.qcow2");
	assert_non_null(v);
	assert_int_equal(virStorageVolGetInfo(v, &vi), 0);
	assert_true(vi.capacity == 3ULL << 30);
	virStorageVolFree(v);

	/* the same volume twice is refused */
	assert_int_equal(backend_volume_create(f->bc, "hangar", "web1.qcow2",
	    3, path, sizeof(path)), -1);
	assert_int_equal(err_last()->code, ERR_BACKEND);
	/* a pool that does not exist */
	assert_int_equal(backend_volume_create(f->bc, "nopool", "x", 1, path,
	    sizeof(path)), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);

	/* a short path buffer is cut, still terminated */
	{
		char small[8];

		memset(small, 'X', sizeof(small));
		assert_int_equal(backend_volume_create(f->bc, "hangar",
		    "second", 1, small, sizeof(small)), 0);
		assert_int_equal(strlen(small), sizeof(small) - 1);
		assert_int_equal(backend_volume_delete(f->bc, "hangar",
		    "second"), 0);
	}

	/* delete, and delete again: both fine */
	assert_int_equal(backend_volume_delete(f->bc, "hangar", "web1.qcow2"),
	    0);
	assert_int_equal(virStoragePoolRefresh(p, 0), 0);
	assert_null(virStorageVolLookupByName(p, "web1.qcow2"));
	virResetLastError();
	assert_int_equal(backend_volume_delete(f->bc, "hangar", "web1.qcow2"),
	    0);
	assert_int_equal(backend_volume_delete(f->bc, "hangar", "never"), 0);
	assert_int_equal(virStoragePoolNumOfVolumes(p), 0);
	virStoragePoolFree(p);
}

/*
 * A domain's addresses by agent and ARP: whatever the test driver makes
 * up for its interfaces, each with a MAC and an address; a stopped
 * domain has none to see (ERR_CONFLICT).
 */
static void
lifecycle_addresses(struct fx *f, const char *uuid, bool running)
{
	static const enum if_addr_source src[] = { IF_ADDR_AGENT,
	    IF_ADDR_ARP };
	struct if_addr a[IF_ADDR_MAX];
	int n = -1;

	for (size_t s = 0; s < 2; s++) {
		if (!running) {
			assert_int_equal(backend_vm_addresses(f->bc, uuid,
			    src[s], a, IF_ADDR_MAX, &n), -1);
			assert_int_equal(err_last()->code, ERR_CONFLICT);
			assert_int_equal(n, 0);
			continue;
		}
		assert_int_equal(backend_vm_addresses(f->bc, uuid, src[s], a,
		    IF_ADDR_MAX, &n), 0);
		assert_true(n >= 0 && n <= IF_ADDR_MAX);
		for (int i = 0; i < n; i++) {
			assert_int_equal(strlen(a[i].mac), 17);
			assert_true(a[i].addr[0] != '\0');
		}
	}
}

static void
test_lifecycle(void **state)
{
	struct fx *f = *state;
	struct guest_info gi;
	bool by_agent = true;
	int frozen = -1;
	struct host_facts hf;
	struct vm_spec spec;
	char uuid[UUID_STR_LEN], path[1024], *xml;
	virDomainPtr d;

	assert_int_equal(backend_pool_ensure(f->bc, "hangar", f->pool_dir, &f->cap, &f->avail), 0);
	assert_int_equal(backend_volume_create(f->bc, "hangar", "web1.qcow2",
	    1, path, sizeof(path)), 0);
	spec_init(f, &spec, uuid, "web1", &hf, path);
	assert_int_equal(backend_define(f->bc, &spec), 0);

	/* libvirt has it as we described it */
	d = virDomainLookupByUUIDString(f->raw, uuid);
	assert_non_null(d);
	assert_string_equal(virDomainGetName(d), "web1");
	assert_int_equal(virDomainIsPersistent(d), 1);
	xml = virDomainGetXMLDesc(d, 0);
	assert_non_null(xml);
	assert_non_null(strstr(xml, "type='test'"));
	assert_non_null(strstr(xml, path));
	assert_non_null(strstr(xml, "urn:hangar:vm:1"));
	assert_true(virDomainGetMaxMemory(d) == 64 * 1024);
	free(xml);
	virDomainFree(d);

	assert_int_equal(state_of(f, uuid), VM_STOPPED);
	assert_int_equal(backend_start(f->bc, uuid), 0);
	assert_int_equal(state_of(f, uuid), VM_RUNNING);
	assert_int_equal(raw_state(f, uuid), VIR_DOMAIN_RUNNING);
	/*
	 * Starting a running domain fails and changes nothing.  (The test
	 * driver reports it as an internal error where QEMU's says
	 * "operation invalid", so the code is not checked here.)
	 */
	assert_int_equal(backend_start(f->bc, uuid), -1);
	assert_non_null(strstr(err_last()->msg, "start the domain"));
	assert_int_equal(state_of(f, uuid), VM_RUNNING);

	assert_int_equal(backend_suspend(f->bc, uuid), 0);
	assert_int_equal(state_of(f, uuid), VM_PAUSED);
	assert_int_equal(raw_state(f, uuid), VIR_DOMAIN_PAUSED);
	assert_int_equal(backend_resume(f->bc, uuid), 0);
	assert_int_equal(state_of(f, uuid), VM_RUNNING);

	assert_int_equal(backend_reboot(f->bc, uuid), 0);
	assert_int_equal(state_of(f, uuid), VM_RUNNING);
	assert_int_equal(backend_reset(f->bc, uuid), 0);
	assert_int_equal(state_of(f, uuid), VM_RUNNING);
	/* the test driver has no guest agent: no agent is an answer */
	assert_int_equal(backend_guest_info(f->bc, uuid, &gi), 0);
	assert_false(gi.agent);
	assert_true(gi.agent_why[0] != '\0');
	lifecycle_addresses(f, uuid, true);
	/* the test driver's freeze and thaw answer (it has no agent to
	 * refuse them); either way they succeed and say how many froze */
	assert_int_equal(backend_fs_freeze(f->bc, uuid, &frozen), 0);
	assert_true(frozen >= 0);
	assert_int_equal(backend_fs_thaw(f->bc, uuid), 0);
	/* ... and the shutdown is not through one */
	assert_int_equal(backend_shutdown(f->bc, uuid, &by_agent), 0);
	assert_false(by_agent);
	assert_int_equal(state_of(f, uuid), VM_STOPPED);
	/* started paused (a stopped VM's backup): the test driver takes no
	 * flag there, so it refuses, naming the step, and nothing runs */
	assert_int_equal(backend_start_paused(f->bc, uuid), -1);
	assert_non_null(strstr(err_last()->msg, "start the domain paused"));
	assert_int_equal(state_of(f, uuid), VM_STOPPED);
	/* a stopped domain's agent cannot answer: a conflict */
	assert_int_equal(backend_guest_info(f->bc, uuid, &gi), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	lifecycle_addresses(f, uuid, false);

	assert_int_equal(backend_start(f->bc, uuid), 0);
	assert_int_equal(backend_destroy(f->bc, uuid), 0);
	assert_int_equal(state_of(f, uuid), VM_STOPPED);
	assert_int_equal(raw_state(f, uuid), VIR_DOMAIN_SHUTOFF);
	/* powering off what is off is fine */
	assert_int_equal(backend_destroy(f->bc, uuid), 0);
	assert_int_equal(state_of(f, uuid), VM_STOPPED);
	/*
	 * Rebooting what is off is the wrong state: libvirt's "operation
	 * invalid" becomes ERR_CONFLICT (HTTP 409).
	 */
	assert_int_equal(backend_reboot(f->bc, uuid), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_non_null(strstr(err_last()->msg, "reboot the domain"));
	assert_int_equal(backend_reset(f->bc, uuid), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	/* pausing it fails too (the test driver calls it internal) */
	assert_int_equal(backend_suspend(f->bc, uuid), -1);
	assert_non_null(strstr(err_last()->msg, "pause the domain"));
	assert_int_equal(state_of(f, uuid), VM_STOPPED);

	assert_int_equal(backend_undefine(f->bc, uuid), 0);
	assert_int_equal(raw_state(f, uuid), -1);
	virResetLastError();
	assert_int_equal(backend_undefine(f->bc, uuid), 0);
	assert_int_equal(backend_destroy(f->bc, uuid), 0);
	{
		enum vm_state st;

		assert_int_equal(backend_state(f->bc, uuid, &st), -1);
		assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	}
	assert_int_equal(backend_start(f->bc, uuid), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(backend_volume_delete(f->bc, "hangar", "web1.qcow2"),
	    0);
}

/* A domain defined with room to grow, grown live and for the next boot. */
static void
test_set_size(void **state)
{
	struct fx *f = *state;
	struct host_facts hf;
	struct vm_spec spec;
	char uuid[UUID_STR_LEN];
	virDomainPtr d;
	virDomainInfo di;

	spec_init(f, &spec, uuid, "grow1", &hf, NULL);
	spec.max_vcpus = 4;
	spec.max_memory_mib = 256;
	assert_int_equal(backend_define(f->bc, &spec), 0);
	d = virDomainLookupByUUIDString(f->raw, uuid);
	assert_non_null(d);
	assert_int_equal(virDomainGetVcpusFlags(d, VIR_DOMAIN_AFFECT_CONFIG |
	    VIR_DOMAIN_VCPU_MAXIMUM), 4);
	assert_int_equal(virDomainGetVcpusFlags(d, VIR_DOMAIN_AFFECT_CONFIG), 1);
	assert_true(virDomainGetMaxMemory(d) == 256 * 1024);
	/* stopped: the definition only */
	assert_int_equal(backend_set_size(f->bc, uuid, 2, 128, false), 0);
	assert_int_equal(virDomainGetVcpusFlags(d, VIR_DOMAIN_AFFECT_CONFIG), 2);
	assert_int_equal(virDomainGetInfo(d, &di), 0);
	assert_true(di.memory == 128 * 1024);
	/* again: harmless */
	assert_int_equal(backend_set_size(f->bc, uuid, 2, 128, false), 0);
	/* running: live and in the definition */
	assert_int_equal(backend_start(f->bc, uuid), 0);
	if (backend_set_size(f->bc, uuid, 3, 192, true) != 0)
		fail_msg("set_size live: %s", err_last()->msg);
	assert_int_equal(virDomainGetVcpusFlags(d, VIR_DOMAIN_AFFECT_LIVE), 3);
	assert_int_equal(virDomainGetVcpusFlags(d, VIR_DOMAIN_AFFECT_CONFIG), 3);
	assert_int_equal(virDomainGetInfo(d, &di), 0);
	assert_true(di.memory == 192 * 1024);
	/* beyond the ceiling: libvirt's refusal, reported */
	assert_int_equal(backend_set_size(f->bc, uuid, 8, 192, true), -1);
	assert_non_null(strstr(err_last()->msg, "resize the domain"));
	/* an unknown domain */
	assert_int_equal(backend_set_size(f->bc,
	    "00000000-0000-4000-8000-000000000000", 1, 64, false), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	virDomainFree(d);
	assert_int_equal(backend_destroy(f->bc, uuid), 0);
	assert_int_equal(backend_undefine(f->bc, uuid), 0);
}

static void
test_undefine_running(void **state)
{
	struct fx *f = *state;
	struct host_facts hf;
	struct vm_spec spec;
	char uuid[UUID_STR_LEN];

	spec_init(f, &spec, uuid, "nodisk", &hf, NULL);
	assert_int_equal(backend_define(f->bc, &spec), 0);
	assert_int_equal(backend_start(f->bc, uuid), 0);
	/* a running domain is made transient, then gone once off */
	assert_int_equal(backend_undefine(f->bc, uuid), 0);
	assert_int_equal(state_of(f, uuid), VM_RUNNING);
	assert_int_equal(backend_destroy(f->bc, uuid), 0);
	assert_int_equal(raw_state(f, uuid), -1);
	virResetLastError();
}

static void
test_state_unknown(void **state)
{
	struct fx *f = *state;
	bool by_agent;
	char uuid[UUID_STR_LEN];
	enum vm_state st = VM_RUNNING;

	new_uuid(uuid);
	assert_int_equal(backend_state(f->bc, uuid, &st), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_non_null(strstr(err_last()->msg, uuid));
	assert_int_equal(st, VM_RUNNING);     /* untouched */
	assert_int_equal(backend_suspend(f->bc, uuid), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(backend_shutdown(f->bc, uuid, &by_agent), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	/* idempotent removals of what never was */
	assert_int_equal(backend_destroy(f->bc, uuid), 0);
	assert_int_equal(backend_undefine(f->bc, uuid), 0);
}

static void
test_foreign_domain_untouched(void **state)
{
	struct fx *f = *state;
	struct host_facts hf;
	struct vm_spec spec;
	char uuid[UUID_STR_LEN];
	virDomainPtr d;

	/* the test driver's own domain, "test", runs already */
	d = virDomainLookupByName(f->raw, "test");
	assert_non_null(d);
	assert_int_equal(virDomainIsActive(d), 1);

	/* a VM of ours with the same name: refused, and "test" untouched */
	spec_init(f, &spec, uuid, "test", &hf, NULL);
	assert_int_equal(backend_define(f->bc, &spec), -1);
	assert_int_equal(err_last()->code, ERR_BACKEND);
	assert_non_null(strstr(err_last()->msg, "define"));
	assert_int_equal(virDomainIsActive(d), 1);
	/* the names are never used to find a domain: our UUID is unknown */
	assert_int_equal(backend_destroy(f->bc, uuid), 0);
	assert_int_equal(backend_undefine(f->bc, uuid), 0);
	assert_int_equal(virDomainIsActive(d), 1);
	assert_int_equal(virDomainIsPersistent(d), 1);
	virDomainFree(d);
}

/* list_domains: the test driver's "test", in full and briefly. */
static bool
brief_all(const char *uuid, void *arg)
{
	(void)uuid;
	(void)arg;
	return true;
}

static int
keep_test(const struct domain_info *d, void *arg)
{
	if (strcmp(d->name, "test") == 0)
		*(struct domain_info *)arg = *d;
	return 0;
}

static void
test_list_domains_brief(void **state)
{
	struct fx *f = *state;
	struct domain_info d;

	memset(&d, 0, sizeof(d));
	assert_int_equal(backend_list_domains(f->bc, NULL, keep_test, &d), 0);
	assert_string_equal(d.name, "test");
	assert_int_equal(d.state, VM_RUNNING);
	assert_true(d.persistent);
	assert_true(d.vcpus > 0 && d.memory_mib > 0);
	/* briefly: uuid, name and state, nothing that costs more calls */
	memset(&d, 0, sizeof(d));
	assert_int_equal(backend_list_domains(f->bc, brief_all, keep_test,
	    &d), 0);
	assert_string_equal(d.name, "test");
	assert_int_equal(strlen(d.uuid), UUID_STR_LEN - 1);
	assert_int_equal(d.state, VM_RUNNING);
	assert_false(d.persistent);
	assert_int_equal(d.vcpus, 0);
	assert_int_equal(d.memory_mib, 0);
}

static void
test_define_escapes(void **state)
{
	struct fx *f = *state;
	struct host_facts hf;
	struct vm_spec spec;
	char uuid[UUID_STR_LEN], path[512];
	virDomainPtr d;
	char *xml;
	/*
	 * Markup in the name and the disk path reaches libvirt as text.
	 * (libvirt refuses '/' in names, so no closing tags in this one.)
	 */
	const char *name = "x<name>y<x>&amp;'\"]]><!--";

	snprintf(path, sizeof(path), "%s/a'b\"c<d>&e.qcow2", f->pool_dir);
	spec_init(f, &spec, uuid, name, &hf, path);
	if (backend_define(f->bc, &spec) != 0)
		fail_msg("define: %s", err_last()->msg);
	d = virDomainLookupByUUIDString(f->raw, uuid);
	assert_non_null(d);
	assert_string_equal(virDomainGetName(d), name);
	xml = virDomainGetXMLDesc(d, 0);
	assert_non_null(xml);
	/* one disk, and no element called x */
	assert_non_null(strstr(xml, "&lt;d&gt;&amp;e.qcow2"));
	assert_null(strstr(xml, "<x>"));
	assert_null(strstr(xml, "<x/>"));
	free(xml);
	virDomainFree(d);
	assert_int_equal(backend_undefine(f->bc, uuid), 0);
}

static void
test_two_connections_one_host(void **state)
{
	struct fx *f = *state;
	struct backend_conn *bc2;
	struct host_facts hf;
	struct vm_spec spec;
	char uuid[UUID_STR_LEN];

	/* a second backend connection to the same URI sees the same host */
	bc2 = backend_open(TEST_URI);
	assert_non_null(bc2);
	assert_ptr_not_equal(bc2, f->bc);
	spec_init(f, &spec, uuid, "shared", &hf, NULL);
	assert_int_equal(backend_define(f->bc, &spec), 0);
	assert_int_equal(backend_start(bc2, uuid), 0);
	assert_int_equal(state_of(f, uuid), VM_RUNNING);
	backend_close(bc2);
	/* closing one leaves the other working */
	assert_int_equal(backend_destroy(f->bc, uuid), 0);
	assert_int_equal(backend_undefine(f->bc, uuid), 0);
}

/* --- snapshots --- */

/* A stopped VM without a disk, defined through the backend. */
static void
define_vm(struct fx *f, char *uuid, const char *name)
{
	struct host_facts hf;
	struct vm_spec spec;

	spec_init(f, &spec, uuid, name, &hf, NULL);
	if (backend_define(f->bc, &spec) != 0)
		fail_msg("define %s: %s", name, err_last()->msg);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Take a snapshot that must succeed; its info into *out. */
static void
snap(struct fx *f, const char *uuid, const char *name, bool memory,
    struct snap_info *out)
{
	struct snap_spec spec = { .name = name, .memory = memory };

	memset(out, 0xa5, sizeof(*out));
	if (backend_snapshot_create(f->bc, uuid, &spec, out) != 0)
		fail_msg("snapshot %s: %s", name, err_last()->msg);
	assert_string_equal(out->name, name);
}

/* libvirt's current snapshot of the domain (the last taken or reverted
 * to), into buf; "" when none. */
static void
raw_current(struct fx *f, const char *uuid, char *buf, size_t len)
{
	virDomainPtr d = virDomainLookupByUUIDString(f->raw, uuid);
	virDomainSnapshotPtr s;

	assert_non_null(d);
	buf[0] = '\0';
	if ((s = virDomainSnapshotCurrent(d, 0)) != NULL) {
		snprintf(buf, len, "%s", virDomainSnapshotGetName(s));
		virDomainSnapshotFree(s);
	}
	virResetLastError();
	virDomainFree(d);
}

/* libvirt's description of the snapshot, malloc'd. */
static char *
raw_snap_xml(struct fx *f, const char *uuid, const char *name)
{
	virDomainPtr d = virDomainLookupByUUIDString(f->raw, uuid);
	virDomainSnapshotPtr s;
	char *xml;

	assert_non_null(d);
	s = virDomainSnapshotLookupByName(d, name, 0);
	assert_non_null(s);
	xml = virDomainSnapshotGetXMLDesc(s, 0);
	assert_non_null(xml);
	virDomainSnapshotFree(s);
	virDomainFree(d);
	return xml;
}

static void
test_snapshot_stopped(void **state)
{
	struct fx *f = *state;
	char uuid[UUID_STR_LEN], want[256], *xml;
	struct snap_spec spec = { .name = "s1", .description = "a <b> & 'c'",
	    .memory = true };
	struct snap_info si, got;
	int64_t before = now_ms();

	define_vm(f, uuid, "snapstop");
	/* a stopped VM has no RAM to keep: the field at fault is memory */
	assert_int_equal(backend_snapshot_create(f->bc, uuid, &spec, &si),
	    -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_string_equal(err_last()->field, "memory");
	assert_non_null(strstr(err_last()->msg, uuid));
	assert_non_null(strstr(err_last()->msg,
	    "is stopped: it has no memory state to snapshot"));
	assert_int_equal(backend_snapshot_get(f->bc, uuid, "s1", &si), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);

	/* disks only */
	spec.memory = false;
	memset(&si, 0xa5, sizeof(si));
	assert_int_equal(backend_snapshot_create(f->bc, uuid, &spec, &si), 0);
	assert_string_equal(si.name, "s1");
	assert_string_equal(si.parent, "");
	assert_string_equal(si.state, "stopped");
	assert_false(si.has_memory);
	/* libvirt keeps whole seconds */
	assert_true(si.created_at % 1000 == 0);
	assert_true(si.created_at >= before - 1000);
	assert_true(si.created_at <= now_ms() + 1000);
	assert_int_equal(state_of(f, uuid), VM_STOPPED);

	/* libvirt has what we asked for, the description as text */
	xml = raw_snap_xml(f, uuid, "s1");
	assert_non_null(strstr(xml, "<memory snapshot='no'/>"));
	assert_non_null(strstr(xml,
	    "<description>a &lt;b&gt; &amp; &apos;c&apos;</description>"));
	free(xml);

	/* get says the same */
	memset(&got, 0, sizeof(got));
	assert_int_equal(backend_snapshot_get(f->bc, uuid, "s1", &got), 0);
	assert_memory_equal(&got, &si, sizeof(got));

	/* the same name again: a conflict, and the first one untouched */
	assert_int_equal(backend_snapshot_create(f->bc, uuid, &spec, &si),
	    -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	snprintf(want, sizeof(want), "snapshot 's1' of domain %s already "
	    "exists", uuid);
	assert_string_equal(err_last()->msg, want);
	assert_int_equal(backend_snapshot_get(f->bc, uuid, "s1", &si), 0);
	assert_memory_equal(&got, &si, sizeof(got));

	/* a missing one */
	assert_int_equal(backend_snapshot_get(f->bc, uuid, "nope", &si), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	snprintf(want, sizeof(want), "snapshot 'nope' of domain %s does not "
	    "exist", uuid);
	assert_string_equal(err_last()->msg, want);

	/* the next one is the first one's child */
	snap(f, uuid, "s2", false, &si);
	assert_string_equal(si.parent, "s1");
	assert_int_equal(backend_snapshot_get(f->bc, uuid, "s1", &si), 0);
	assert_string_equal(si.parent, "");

	assert_int_equal(backend_undefine(f->bc, uuid), 0);
}

static void
test_snapshot_unknown_domain(void **state)
{
	struct fx *f = *state;
	char uuid[UUID_STR_LEN];
	struct snap_spec spec = { .name = "s1" };
	struct snap_info si;

	new_uuid(uuid);
	assert_int_equal(backend_snapshot_create(f->bc, uuid, &spec, &si),
	    -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_non_null(strstr(err_last()->msg, uuid));
	assert_int_equal(backend_snapshot_get(f->bc, uuid, "s1", &si), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(backend_snapshot_revert(f->bc, uuid, "s1", false),
	    -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	/* a domain that is gone has no snapshot left to delete */
	assert_int_equal(backend_snapshot_delete(f->bc, uuid, "s1"), 0);
}

static void
test_snapshot_running(void **state)
{
	struct fx *f = *state;
	char uuid[UUID_STR_LEN], *xml;
	struct snap_info si;

	define_vm(f, uuid, "snaprun");
	assert_int_equal(backend_start(f->bc, uuid), 0);
	/* disks only asked for, but a running VM's RAM is always saved */
	snap(f, uuid, "run", false, &si);
	assert_string_equal(si.state, "running");
	assert_true(si.has_memory);
	assert_string_equal(si.parent, "");
	xml = raw_snap_xml(f, uuid, "run");
	assert_non_null(strstr(xml, "<memory snapshot='internal'/>"));
	free(xml);
	assert_int_equal(state_of(f, uuid), VM_RUNNING);

	/* RAM asked for */
	snap(f, uuid, "run2", true, &si);
	assert_string_equal(si.state, "running");
	assert_true(si.has_memory);
	assert_string_equal(si.parent, "run");

	/* paused counts as active too */
	assert_int_equal(backend_suspend(f->bc, uuid), 0);
	snap(f, uuid, "paused", false, &si);
	assert_string_equal(si.state, "paused");
	assert_true(si.has_memory);
	assert_string_equal(si.parent, "run2");
	assert_int_equal(state_of(f, uuid), VM_PAUSED);

	assert_int_equal(backend_destroy(f->bc, uuid), 0);
	assert_int_equal(backend_undefine(f->bc, uuid), 0);
}

static void
test_snapshot_revert(void **state)
{
	struct fx *f = *state;
	char uuid[UUID_STR_LEN], cur[SNAP_NAME_MAX];
	struct snap_info si;

	define_vm(f, uuid, "snaprev");
	snap(f, uuid, "off", false, &si);
	assert_int_equal(backend_start(f->bc, uuid), 0);
	snap(f, uuid, "live", false, &si);
	assert_int_equal(backend_suspend(f->bc, uuid), 0);
	snap(f, uuid, "paused", true, &si);
	assert_int_equal(backend_destroy(f->bc, uuid), 0);

	/* whole reverts come back in the state the snapshot recorded */
	assert_int_equal(backend_snapshot_revert(f->bc, uuid, "live", false),
	    0);
	assert_int_equal(state_of(f, uuid), VM_RUNNING);
	raw_current(f, uuid, cur, sizeof(cur));
	assert_string_equal(cur, "live");
	assert_int_equal(backend_snapshot_revert(f->bc, uuid, "off", false),
	    0);
	assert_int_equal(state_of(f, uuid), VM_STOPPED);
	raw_current(f, uuid, cur, sizeof(cur));
	assert_string_equal(cur, "off");
	assert_int_equal(backend_snapshot_revert(f->bc, uuid, "paused",
	    false), 0);
	assert_int_equal(state_of(f, uuid), VM_PAUSED);
	/* from paused to running */
	assert_int_equal(backend_snapshot_revert(f->bc, uuid, "live", false),
	    0);
	assert_int_equal(state_of(f, uuid), VM_RUNNING);

	/* disks only: stopped, whatever the snapshot and the VM were */
	assert_int_equal(backend_snapshot_revert(f->bc, uuid, "paused", true),
	    0);
	assert_int_equal(state_of(f, uuid), VM_STOPPED);
	assert_int_equal(raw_state(f, uuid), VIR_DOMAIN_SHUTOFF);
	raw_current(f, uuid, cur, sizeof(cur));
	assert_string_equal(cur, "paused");
	assert_int_equal(backend_snapshot_revert(f->bc, uuid, "live", true),
	    0);
	assert_int_equal(state_of(f, uuid), VM_STOPPED);
	raw_current(f, uuid, cur, sizeof(cur));
	assert_string_equal(cur, "live");
	/* from running, to a snapshot without RAM */
	assert_int_equal(backend_start(f->bc, uuid), 0);
	assert_int_equal(backend_snapshot_revert(f->bc, uuid, "off", true),
	    0);
	assert_int_equal(state_of(f, uuid), VM_STOPPED);
	raw_current(f, uuid, cur, sizeof(cur));
	assert_string_equal(cur, "off");

	/* a missing one: nothing changes */
	assert_int_equal(backend_snapshot_revert(f->bc, uuid, "nope", false),
	    -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_non_null(strstr(err_last()->msg, "'nope'"));
	assert_int_equal(state_of(f, uuid), VM_STOPPED);

	/* undefine takes the snapshots' metadata with it */
	assert_int_equal(backend_undefine(f->bc, uuid), 0);
	assert_int_equal(raw_state(f, uuid), -1);
	virResetLastError();
}

static void
test_snapshot_delete(void **state)
{
	struct fx *f = *state;
	char uuid[UUID_STR_LEN];
	struct snap_info si;

	define_vm(f, uuid, "snapdel");
	snap(f, uuid, "a", false, &si);
	snap(f, uuid, "b", false, &si);
	snap(f, uuid, "c", false, &si);
	assert_string_equal(si.parent, "b");

	/* deleting the middle one hands its child to its parent */
	assert_int_equal(backend_snapshot_delete(f->bc, uuid, "b"), 0);
	assert_int_equal(backend_snapshot_get(f->bc, uuid, "b", &si), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(backend_snapshot_get(f->bc, uuid, "c", &si), 0);
	assert_string_equal(si.parent, "a");
	/* again, and one that never was: both fine */
	assert_int_equal(backend_snapshot_delete(f->bc, uuid, "b"), 0);
	assert_int_equal(backend_snapshot_delete(f->bc, uuid, "never"), 0);

	/* the root: its child becomes a root */
	assert_int_equal(backend_snapshot_delete(f->bc, uuid, "a"), 0);
	assert_int_equal(backend_snapshot_get(f->bc, uuid, "c", &si), 0);
	assert_string_equal(si.parent, "");
	assert_int_equal(backend_snapshot_delete(f->bc, uuid, "c"), 0);
	{
		virDomainPtr d = virDomainLookupByUUIDString(f->raw, uuid);

		assert_non_null(d);
		assert_int_equal(virDomainSnapshotNum(d, 0), 0);
		virDomainFree(d);
	}
	assert_int_equal(backend_undefine(f->bc, uuid), 0);
}

/* --- moving a domain: migration, its checks, snapshot metadata --- */

/*
 * Run backend_migrate with stderr (the log) caught in a file; the log
 * into buf.  The test driver cannot migrate, but the migration URI the
 * backend chose is in its debug line.
 */
static int
migrate_logged(struct fx *f, const char *uuid, struct migrate_spec *ms,
    char *buf, size_t len)
{
	FILE *tmp = tmpfile();
	int saved, rc;
	size_t n;
	enum log_level lvl = log_get_level();

	assert_non_null(tmp);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fileno(tmp), 2), 2);
	log_set_level(LOG_DEBUG);
	rc = backend_migrate(f->bc, uuid, ms);
	log_set_level(lvl);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	rewind(tmp);
	n = fread(buf, 1, len - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	return rc;
}

static void
test_migrate_uri(void **state)
{
	static const char *const hostless[] = {
		"test:///default", "qemu:///system", "qemu+ssh://root@/system",
		"qemu+tcp://:16509/system", "qemu+tcp://[]/system",
		"qemu+tcp://[::1/system", "no uri at all", "://host/system",
	};
	static const struct { const char *dest, *muri; } hosts[] = {
		{ "qemu+tcp://10.0.0.2/system", "'tcp://10.0.0.2'" },
		{ "qemu+tcp://10.0.0.2:16509/system", "'tcp://10.0.0.2'" },
		{ "qemu+ssh://root@rack2.example/system?keyfile=/k",
		    "'tcp://rack2.example'" },
		{ "qemu+tcp://a@b@c:1/system", "'tcp://c'" },
		{ "qemu+tcp://[::1]:16509/system", "'tcp://[::1]'" },
		{ "qemu+tls://[fe80::1]/system", "'tcp://[fe80::1]'" },
		{ "qemu+tcp://host", "'tcp://host'" },
	};
	struct fx *f = *state;
	struct migrate_spec ms = { .live = true };
	char uuid[UUID_STR_LEN], want[256], log[8192];
	virDomainPtr d;

	d = virDomainLookupByName(f->raw, "test");
	assert_non_null(d);
	assert_int_equal(virDomainGetUUIDString(d, uuid), 0);
	virDomainFree(d);

	/* no host to send the memory to: refused before libvirt is asked */
	for (size_t i = 0; i < sizeof(hostless) / sizeof(*hostless); i++) {
		ms.dest_uri = hostless[i];
		assert_int_equal(backend_migrate(f->bc, uuid, &ms), -1);
		assert_int_equal(err_last()->code, ERR_UNPROCESSABLE);
		snprintf(want, sizeof(want), "the destination URI '%s' names "
		    "no host to migrate to", hostless[i]);
		assert_string_equal(err_last()->msg, want);
	}
	/* with a migration URI of its own the host is not needed */
	ms.dest_uri = "qemu:///system";
	ms.migrate_uri = "tcp://127.0.0.1:49152";
	assert_int_equal(migrate_logged(f, uuid, &ms, log, sizeof(log)), -1);
	assert_int_equal(err_last()->code, ERR_BACKEND);
	assert_non_null(strstr(log, "through 'tcp://127.0.0.1:49152'"));
	ms.migrate_uri = NULL;

	/* a host: libvirt is asked (the test driver cannot migrate) */
	for (size_t i = 0; i < sizeof(hosts) / sizeof(*hosts); i++) {
		ms.dest_uri = hosts[i].dest;
		assert_int_equal(migrate_logged(f, uuid, &ms, log,
		    sizeof(log)), -1);
		assert_int_equal(err_last()->code, ERR_BACKEND);
		assert_non_null(strstr(err_last()->msg,
		    "libvirt could not migrate the domain: "));
		snprintf(want, sizeof(want), "through %s", hosts[i].muri);
		if (strstr(log, want) == NULL)
			fail_msg("%s: want %s in the log:\n%s", hosts[i].dest,
			    want, log);
	}
	/* an unknown domain, with a good URI */
	new_uuid(uuid);
	assert_int_equal(backend_migrate(f->bc, uuid, &ms), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
}

/* The test driver has no migration jobs: each says so, as a 501. */
static void
test_migrate_jobs_unsupported(void **state)
{
	struct fx *f = *state;
	struct migrate_stats st;
	char uuid[UUID_STR_LEN];
	virDomainPtr d;

	d = virDomainLookupByName(f->raw, "test");
	assert_non_null(d);
	assert_int_equal(virDomainGetUUIDString(d, uuid), 0);
	virDomainFree(d);
	assert_int_equal(backend_job_stats(f->bc, uuid, false, &st), -1);
	assert_int_equal(err_last()->code, ERR_UNSUPPORTED);
	assert_non_null(strstr(err_last()->msg, "read the domain's job"));
	assert_int_equal(backend_job_abort(f->bc, uuid), -1);
	assert_int_equal(err_last()->code, ERR_UNSUPPORTED);
	assert_int_equal(backend_migrate_postcopy(f->bc, uuid), -1);
	assert_int_equal(err_last()->code, ERR_UNSUPPORTED);
	new_uuid(uuid);
	assert_int_equal(backend_job_stats(f->bc, uuid, true, &st), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(backend_job_abort(f->bc, uuid), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
}

/* The check called name in c; fails the test when there is none. */
static const struct migrate_check *
check_of(const struct migrate_checks *c, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (strcmp(c->c[i].name, name) == 0)
			return &c->c[i];
	fail_msg("no check '%s'", name);
	return NULL;
}

static void
assert_check(const struct migrate_checks *c, const char *name, bool pass,
    const char *reason)
{
	const struct migrate_check *k = check_of(c, name);

	if (k->pass != pass || strcmp(k->reason, reason) != 0)
		fail_msg("check %s: got %s '%s', want %s '%s'", name,
		    k->pass ? "pass" : "fail", k->reason,
		    pass ? "pass" : "fail", reason);
}

/* Define a domain from raw XML on the test driver; its UUID into uuid. */
static void
define_raw(struct fx *f, const char *xml, char *uuid)
{
	virDomainPtr d = virDomainDefineXML(f->raw, xml);

	if (d == NULL)
		fail_msg("define: %s", virGetLastErrorMessage());
	assert_int_equal(virDomainGetUUIDString(d, uuid), 0);
	virDomainFree(d);
}

static void
test_migrate_check(void **state)
{
	struct fx *f = *state;
	struct backend_conn *dst;
	struct migrate_checks mc;
	struct host_facts hf;
	struct vm_spec spec;
	char uuid[UUID_STR_LEN], path[1024], want[1300], xml[2048];
	virNetworkPtr net;
	virDomainPtr d;

	/* the destination: the same in-memory host, another connection */
	dst = backend_open(TEST_URI);
	assert_non_null(dst);
	assert_int_equal(backend_pool_ensure(f->bc, "hangar", f->pool_dir,
	    &f->cap, &f->avail), 0);
	assert_int_equal(backend_volume_create(f->bc, "hangar", "m.qcow2", 3,
	    path, sizeof(path)), 0);
	spec_init(f, &spec, uuid, "mig", &hf, path);
	assert_int_equal(backend_define(f->bc, &spec), 0);

	/* shared: the disk is in a pool the destination sees */
	memset(&mc, 0, sizeof(mc));
	assert_int_equal(backend_migrate_check(f->bc, uuid, dst, "hangar",
	    false, &mc), 0);
	assert_int_equal(mc.n, 5);
	assert_string_equal(mc.c[0].name, "cpu");
	assert_string_equal(mc.c[1].name, "machine");
	assert_string_equal(mc.c[2].name, "emulator");
	assert_string_equal(mc.c[3].name, "network");
	assert_string_equal(mc.c[4].name, "storage");
	/* the test driver cannot compare CPUs: libvirt's words */
	assert_false(check_of(&mc, "cpu")->pass);
	assert_non_null(strstr(check_of(&mc, "cpu")->reason,
	    "libvirt could not compare the CPUs: this function is not "
	    "supported"));
	assert_check(&mc, "machine", true, "the domain names no machine "
	    "type; the destination picks its own");
	assert_check(&mc, "emulator", true, "the domain names no emulator; "
	    "the destination picks its own");
	assert_check(&mc, "network", true, "the domain has no network "
	    "interfaces");
	snprintf(want, sizeof(want), "the disk '%s' is visible on the "
	    "destination (shared storage)", path);
	assert_check(&mc, "storage", true, want);

	/* copy: room for its 3 GiB in the pool (the test driver's pools
	 * are as big as it says) */
	memset(&mc, 0, sizeof(mc));
	assert_int_equal(backend_migrate_check(f->bc, uuid, dst, "hangar",
	    true, &mc), 0);
	assert_int_equal(mc.n, 5);
	assert_true(check_of(&mc, "storage")->pass);
	assert_non_null(strstr(check_of(&mc, "storage")->reason,
	    "storage pool 'hangar' on the destination has "));
	assert_non_null(strstr(check_of(&mc, "storage")->reason,
	    " GiB free for the disk's 3.0 GiB"));
	/* ... but not into a pool that is not there; appended after */
	assert_int_equal(backend_migrate_check(f->bc, uuid, dst, "nopool",
	    true, &mc), 0);
	assert_int_equal(mc.n, 10);
	assert_string_equal(mc.c[9].name, "storage");
	assert_false(mc.c[9].pass);
	assert_string_equal(mc.c[9].reason, "storage pool 'nopool' does not "
	    "exist on the destination");
	/* the checks that do not fit are dropped, not overrun */
	assert_int_equal(backend_migrate_check(f->bc, uuid, dst, "hangar",
	    true, &mc), 0);
	assert_int_equal(mc.n, MIGRATE_CHECKS_MAX);
	assert_int_equal(backend_undefine(f->bc, uuid), 0);

	/*
	 * The test driver's own domain: a network interface, and a disk in
	 * no pool, which the destination cannot be said to see.
	 */
	d = virDomainLookupByName(f->raw, "test");
	assert_non_null(d);
	assert_int_equal(virDomainGetUUIDString(d, uuid), 0);
	virDomainFree(d);
	memset(&mc, 0, sizeof(mc));
	assert_int_equal(backend_migrate_check(f->bc, uuid, dst, "hangar",
	    false, &mc), 0);
	assert_check(&mc, "network", true, "network 'default' is active on "
	    "the destination");
	assert_check(&mc, "storage", false, "the disk '/guest/diskimage1' is "
	    "not on the destination; copy the storage");
	net = virNetworkLookupByName(f->raw, "default");
	assert_non_null(net);
	assert_int_equal(virNetworkDestroy(net), 0);
	memset(&mc, 0, sizeof(mc));
	assert_int_equal(backend_migrate_check(f->bc, uuid, dst, NULL, false,
	    &mc), 0);
	assert_check(&mc, "network", false, "network 'default' is not active "
	    "on the destination");
	assert_int_equal(virNetworkUndefine(net), 0);
	virNetworkFree(net);
	memset(&mc, 0, sizeof(mc));
	assert_int_equal(backend_migrate_check(f->bc, uuid, dst, NULL, false,
	    &mc), 0);
	assert_check(&mc, "network", false, "network 'default' does not "
	    "exist on the destination");

	/* machine type and emulator, as a QEMU domain would name them */
	snprintf(xml, sizeof(xml),
	    "<domain type='test'><name>m2</name><memory>65536</memory>"
	    "<os><type arch='i686' machine='pc-nope'>hvm</type></os>"
	    "<devices><emulator>/usr/bin/test-hv</emulator>"
	    "<interface type='bridge'><source bridge='br0'/></interface>"
	    "<interface type='user'/></devices></domain>");
	define_raw(f, xml, uuid);
	memset(&mc, 0, sizeof(mc));
	assert_int_equal(backend_migrate_check(f->bc, uuid, dst, NULL, false,
	    &mc), 0);
	assert_check(&mc, "machine", false, "the destination does not offer "
	    "machine type 'pc-nope' for 'i686' ('test' domains)");
	assert_check(&mc, "emulator", true, "the destination offers the same "
	    "emulator ('/usr/bin/test-hv')");
	/* a bridge is looked up in the destination's interfaces (the test
	 * driver has eth1 and lo) */
	assert_check(&mc, "network", false, "bridge 'br0' is not on the "
	    "destination");
	assert_check(&mc, "storage", true, "the domain has no disk");
	d = virDomainLookupByUUIDString(f->raw, uuid);
	assert_non_null(d);
	assert_int_equal(virDomainUndefine(d), 0);
	virDomainFree(d);
	snprintf(xml, sizeof(xml),
	    "<domain type='test'><name>m3</name><memory>65536</memory>"
	    "<os><type arch='i686'>hvm</type></os>"
	    "<devices><emulator>/usr/bin/qemu-x</emulator>"
	    "<interface type='bridge'><source bridge='eth1'/></interface>"
	    "<interface type='user'/></devices></domain>");
	define_raw(f, xml, uuid);
	memset(&mc, 0, sizeof(mc));
	assert_int_equal(backend_migrate_check(f->bc, uuid, dst, NULL, false,
	    &mc), 0);
	assert_check(&mc, "emulator", false, "the destination's emulator is "
	    "'/usr/bin/test-hv', not the domain's '/usr/bin/qemu-x'");
	assert_check(&mc, "network", true, "bridge 'eth1' is on the "
	    "destination; an interface of type 'user' is not checked");

	/* an unknown domain: the checks cannot be made at all */
	new_uuid(uuid);
	memset(&mc, 0, sizeof(mc));
	assert_int_equal(backend_migrate_check(f->bc, uuid, dst, NULL, false,
	    &mc), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(mc.n, 0);
	backend_close(dst);
	assert_int_equal(backend_volume_delete(f->bc, "hangar", "m.qcow2"), 0);
}

/* dest_disks rewrites each named disk's file; an unknown or non-file
 * disk is refused before libvirt is asked. */
static void
test_migrate_disk_path(void **state)
{
	struct fx *f = *state;
	static const struct migrate_disk one[] = {
		{ "vda", "/there/a'b&c.qcow2", NULL },
	};
	static const struct migrate_disk two[] = {
		{ "vda", "/there/a.qcow2", NULL }, { "vdb", "/there/b.qcow2", NULL },
	};
	struct migrate_spec ms = { .dest_uri = "qemu+tcp://10.0.0.2/system",
	    .live = true, .copy_storage = true, .dest_disks = one,
	    .ndest_disks = 1 };
	struct host_facts hf;
	struct vm_spec spec;
	char uuid[UUID_STR_LEN], path[1024], want[512];
	virDomainPtr d;

	/* no disk */
	define_vm(f, uuid, "nodisk");
	assert_int_equal(backend_migrate(f->bc, uuid, &ms), -1);
	assert_int_equal(err_last()->code, ERR_UNPROCESSABLE);
	snprintf(want, sizeof(want), "domain %s has no disk 'vda': it cannot "
	    "be moved to '/there/a'b&c.qcow2'", uuid);
	assert_string_equal(err_last()->msg, want);
	assert_int_equal(backend_undefine(f->bc, uuid), 0);

	/* one file disk: the descriptions are made, libvirt is asked */
	assert_int_equal(backend_pool_ensure(f->bc, "hangar", f->pool_dir,
	    &f->cap, &f->avail), 0);
	assert_int_equal(backend_volume_create(f->bc, "hangar", "d.qcow2", 1,
	    path, sizeof(path)), 0);
	spec_init(f, &spec, uuid, "onedisk", &hf, path);
	assert_int_equal(backend_define(f->bc, &spec), 0);
	assert_int_equal(backend_migrate(f->bc, uuid, &ms), -1);
	assert_int_equal(err_last()->code, ERR_BACKEND);
	assert_non_null(strstr(err_last()->msg,
	    "libvirt could not migrate the domain: "));
	assert_int_equal(backend_undefine(f->bc, uuid), 0);
	assert_int_equal(backend_volume_delete(f->bc, "hangar", "d.qcow2"), 0);

	/* two disks, both moved: libvirt is asked */
	define_raw(f, "<domain type='test'><name>two</name>"
	    "<memory>65536</memory><os><type arch='i686'>hvm</type></os>"
	    "<devices><disk type='file' device='disk'><source file='/a'/>"
	    "<target dev='vda'/></disk><disk type='file' device='disk'>"
	    "<source file='/b'/><target dev='vdb'/></disk></devices>"
	    "</domain>", uuid);
	ms.dest_disks = two;
	ms.ndest_disks = 2;
	assert_int_equal(backend_migrate(f->bc, uuid, &ms), -1);
	assert_int_equal(err_last()->code, ERR_BACKEND);
	assert_non_null(strstr(err_last()->msg,
	    "libvirt could not migrate the domain: "));
	d = virDomainLookupByUUIDString(f->raw, uuid);
	assert_non_null(d);
	assert_int_equal(virDomainUndefine(d), 0);
	virDomainFree(d);

	/* a disk that is not a file */
	define_raw(f, "<domain type='test'><name>blk</name>"
	    "<memory>65536</memory><os><type arch='i686'>hvm</type></os>"
	    "<devices><disk type='block' device='disk'>"
	    "<source dev='/dev/sdz'/><target dev='vda'/></disk></devices>"
	    "</domain>", uuid);
	ms.dest_disks = one;
	ms.ndest_disks = 1;
	assert_int_equal(backend_migrate(f->bc, uuid, &ms), -1);
	assert_int_equal(err_last()->code, ERR_UNPROCESSABLE);
	snprintf(want, sizeof(want), "disk 'vda' of domain %s is not a file: "
	    "it cannot be moved to '/there/a'b&c.qcow2'", uuid);
	assert_string_equal(err_last()->msg, want);
	d = virDomainLookupByUUIDString(f->raw, uuid);
	assert_non_null(d);
	assert_int_equal(virDomainUndefine(d), 0);
	virDomainFree(d);
}

/* libvirt's view of a snapshot's parent ("" for a root). */
static void
raw_parent(struct fx *f, const char *uuid, const char *name, char *buf,
    size_t len)
{
	virDomainPtr d = virDomainLookupByUUIDString(f->raw, uuid);
	virDomainSnapshotPtr s, p;

	assert_non_null(d);
	s = virDomainSnapshotLookupByName(d, name, 0);
	if (s == NULL)
		fail_msg("no snapshot '%s'", name);
	buf[0] = '\0';
	if ((p = virDomainSnapshotGetParent(s, 0)) != NULL) {
		snprintf(buf, len, "%s", virDomainSnapshotGetName(p));
		virDomainSnapshotFree(p);
	}
	virResetLastError();
	virDomainSnapshotFree(s);
	virDomainFree(d);
}

/* The first <name> after marker in a snapshot's XML; "" when none. */
static void
xml_name(const char *xml, const char *marker, char *buf, size_t len)
{
	const char *p = strstr(xml, marker), *e;

	buf[0] = '\0';
	if (p == NULL || (p = strstr(p, "<name>")) == NULL)
		return;
	p += 6;
	if ((e = strchr(p, '<')) != NULL)
		snprintf(buf, len, "%.*s", (int)(e - p), p);
}

static int
raw_snap_count(struct fx *f, const char *uuid)
{
	virDomainPtr d = virDomainLookupByUUIDString(f->raw, uuid);
	int n;

	assert_non_null(d);
	n = virDomainSnapshotNum(d, 0);
	virDomainFree(d);
	return n;
}

static void
test_snapshot_move(void **state)
{
	struct fx *f = *state;
	char uuid[UUID_STR_LEN], cur[SNAP_NAME_MAX], par[SNAP_NAME_MAX];
	char **xmls = NULL, **again = NULL, tiny[2];
	size_t n = 99, n2 = 0;
	struct snap_info si, before;
	struct host_facts hf;
	struct vm_spec spec;

	spec_init(f, &spec, uuid, "snapmove", &hf, NULL);
	assert_int_equal(backend_define(f->bc, &spec), 0);
	/* none yet */
	memset(cur, 'x', sizeof(cur));
	assert_int_equal(backend_snapshot_export(f->bc, uuid, &xmls, &n, cur,
	    sizeof(cur)), 0);
	assert_int_equal(n, 0);
	assert_string_equal(cur, "");
	backend_free_strings(xmls, n);
	/* nothing to forget: nothing asked of libvirt */
	assert_int_equal(backend_snapshot_forget(f->bc, uuid), 0);

	/*
	 * A tree: a - b - c, and a - d; current b (reverted to).  The
	 * names sort against the tree, so libvirt's order is really the
	 * topological one.
	 */
	snap(f, uuid, "z-a", false, &si);
	snap(f, uuid, "y-b", false, &si);
	snap(f, uuid, "x-c", false, &si);
	assert_int_equal(backend_snapshot_revert(f->bc, uuid, "z-a", false),
	    0);
	snap(f, uuid, "w-d", false, &si);
	assert_int_equal(backend_snapshot_revert(f->bc, uuid, "y-b", false),
	    0);
	assert_int_equal(backend_snapshot_get(f->bc, uuid, "x-c", &before), 0);

	assert_int_equal(backend_snapshot_export(f->bc, uuid, &xmls, &n, cur,
	    sizeof(cur)), 0);
	assert_int_equal(n, 4);
	assert_string_equal(cur, "y-b");
	/* every parent comes before its child */
	for (size_t i = 0; i < n; i++) {
		char own[SNAP_NAME_MAX], parent[SNAP_NAME_MAX];
		char other[SNAP_NAME_MAX];
		size_t j;

		xml_name(xmls[i], "<domainsnapshot", own, sizeof(own));
		xml_name(xmls[i], "<parent>", parent, sizeof(parent));
		if (i == 0) {
			assert_string_equal(own, "z-a");
			assert_string_equal(parent, "");
			continue;
		}
		for (j = 0; j < i; j++) {
			xml_name(xmls[j], "<domainsnapshot", other,
			    sizeof(other));
			if (strcmp(other, parent) == 0)
				break;
		}
		if (j == i)
			fail_msg("snapshot %s comes before its parent %s", own,
			    parent);
	}
	/* too small for the current one's name: an error, nothing out */
	assert_int_equal(backend_snapshot_export(f->bc, uuid, &again, &n2,
	    tiny, sizeof(tiny)), -1);
	assert_null(again);
	assert_int_equal(n2, 0);

	/*
	 * forget: libvirt's test driver refuses METADATA_ONLY, and nothing
	 * is deleted for real instead.  (On QEMU it works: see the report
	 * of the two-host runs.)
	 */
	assert_int_equal(backend_snapshot_forget(f->bc, uuid), -1);
	assert_int_equal(err_last()->code, ERR_BACKEND);
	assert_non_null(strstr(err_last()->msg, "libvirt could not forget "
	    "the domain's snapshots: "));
	assert_int_equal(raw_snap_count(f, uuid), 4);

	/* the domain as it would arrive on another host: no snapshots */
	assert_int_equal(backend_undefine(f->bc, uuid), 0);
	assert_int_equal(backend_define(f->bc, &spec), 0);
	assert_int_equal(raw_snap_count(f, uuid), 0);
	assert_int_equal(backend_snapshot_get(f->bc, uuid, "y-b", &si), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);

	/* a current one that is not among them: refused, nothing defined */
	assert_int_equal(backend_snapshot_redefine(f->bc, uuid, xmls, n,
	    "nope"), -1);
	assert_int_equal(err_last()->code, ERR_INVALID);
	assert_string_equal(err_last()->msg, "the current snapshot 'nope' is "
	    "not among those to redefine");
	assert_int_equal(raw_snap_count(f, uuid), 0);

	/* redefine: the same tree, the same current one */
	assert_int_equal(backend_snapshot_redefine(f->bc, uuid, xmls, n,
	    cur), 0);
	assert_int_equal(raw_snap_count(f, uuid), 4);
	raw_current(f, uuid, cur, sizeof(cur));
	assert_string_equal(cur, "y-b");
	raw_parent(f, uuid, "z-a", par, sizeof(par));
	assert_string_equal(par, "");
	raw_parent(f, uuid, "y-b", par, sizeof(par));
	assert_string_equal(par, "z-a");
	raw_parent(f, uuid, "x-c", par, sizeof(par));
	assert_string_equal(par, "y-b");
	raw_parent(f, uuid, "w-d", par, sizeof(par));
	assert_string_equal(par, "z-a");
	assert_int_equal(backend_snapshot_get(f->bc, uuid, "x-c", &si), 0);
	assert_memory_equal(&si, &before, sizeof(si));
	/* again (a retry): the same, harmless */
	assert_int_equal(backend_snapshot_redefine(f->bc, uuid, xmls, n,
	    "y-b"), 0);
	assert_int_equal(raw_snap_count(f, uuid), 4);
	raw_current(f, uuid, cur, sizeof(cur));
	assert_string_equal(cur, "y-b");
	/* a redefined snapshot can be reverted to */
	assert_int_equal(backend_snapshot_revert(f->bc, uuid, "x-c", false),
	    0);
	raw_current(f, uuid, cur, sizeof(cur));
	assert_string_equal(cur, "x-c");

	/* no current one */
	assert_int_equal(backend_undefine(f->bc, uuid), 0);
	assert_int_equal(backend_define(f->bc, &spec), 0);
	assert_int_equal(backend_snapshot_redefine(f->bc, uuid, xmls, n, ""),
	    0);
	assert_int_equal(raw_snap_count(f, uuid), 4);
	raw_current(f, uuid, cur, sizeof(cur));
	assert_string_equal(cur, "");
	backend_free_strings(xmls, n);

	/* a description that is not one */
	{
		char *bad[] = { (char *)"<domainsnapshot/>" };

		assert_int_equal(backend_snapshot_redefine(f->bc, uuid, bad, 1,
		    NULL), -1);
		assert_int_equal(err_last()->code, ERR_INVALID);
	}
	assert_int_equal(backend_undefine(f->bc, uuid), 0);

	/* a domain that is not there */
	assert_int_equal(backend_snapshot_export(f->bc, uuid, &xmls, &n, cur,
	    sizeof(cur)), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_null(xmls);
	assert_int_equal(backend_snapshot_forget(f->bc, uuid), 0);
	assert_int_equal(backend_snapshot_redefine(f->bc, uuid, NULL, 0,
	    NULL), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
}

static void
test_volume_path_copy(void **state)
{
	struct fx *f = *state;
	struct backend_conn *dst;
	char path[1024], got[1024], dir2[300];
	virStoragePoolPtr p;
	int64_t cap, avail;

	assert_int_equal(backend_pool_ensure(f->bc, "hangar", f->pool_dir,
	    &f->cap, &f->avail), 0);
	assert_int_equal(backend_volume_create(f->bc, "hangar", "v.qcow2", 2,
	    path, sizeof(path)), 0);
	assert_int_equal(backend_volume_path(f->bc, "hangar", "v.qcow2", got,
	    sizeof(got)), 0);
	assert_string_equal(got, path);
	assert_int_equal(backend_volume_path(f->bc, "hangar", "nope", got,
	    sizeof(got)), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_string_equal(err_last()->msg, "volume 'nope' does not exist in "
	    "storage pool 'hangar' on host 'test:///default'");
	assert_int_equal(backend_volume_path(f->bc, "nopool", "v.qcow2", got,
	    sizeof(got)), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_string_equal(err_last()->msg, "storage pool 'nopool' does not "
	    "exist on host 'test:///default'");

	/*
	 * Another pool, through a second connection.  The test driver has
	 * no volume streams: the copy fails as a 501 and leaves nothing.
	 */
	snprintf(dir2, sizeof(dir2), "%s/other", f->pool_dir);
	dst = backend_open(TEST_URI);
	assert_non_null(dst);
	assert_int_equal(backend_pool_ensure(dst, "other", dir2, &cap,
	    &avail), 0);
	assert_int_equal(backend_volume_copy(f->bc, "hangar", "v.qcow2", dst,
	    "other", NULL, NULL, got, sizeof(got)), -1);
	assert_int_equal(err_last()->code, ERR_UNSUPPORTED);
	assert_non_null(strstr(err_last()->msg, "read the volume"));
	p = virStoragePoolLookupByName(f->raw, "other");
	assert_non_null(p);
	assert_int_equal(virStoragePoolRefresh(p, 0), 0);
	assert_int_equal(virStoragePoolNumOfVolumes(p), 0);
	/* with a new backing file name: the same, nothing left either */
	assert_int_equal(backend_volume_copy(f->bc, "hangar", "v.qcow2", dst,
	    "other", NULL, "/elsewhere/base-0.qcow2", got, sizeof(got)), -1);
	assert_int_equal(err_last()->code, ERR_UNSUPPORTED);
	assert_int_equal(virStoragePoolRefresh(p, 0), 0);
	assert_int_equal(virStoragePoolNumOfVolumes(p), 0);
	/* a volume of that name there already: left alone */
	assert_int_equal(backend_volume_create(dst, "other", "v.qcow2", 1,
	    got, sizeof(got)), 0);
	assert_int_equal(backend_volume_copy(f->bc, "hangar", "v.qcow2", dst,
	    "other", NULL, NULL, got, sizeof(got)), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_string_equal(err_last()->msg, "volume 'v.qcow2' already exists "
	    "in storage pool 'other' on host 'test:///default'");
	assert_int_equal(virStoragePoolNumOfVolumes(p), 1);
	/* from nothing, and into nothing */
	assert_int_equal(backend_volume_copy(f->bc, "hangar", "nope", dst,
	    "other", NULL, NULL, got, sizeof(got)), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(backend_volume_copy(f->bc, "hangar", "v.qcow2", dst,
	    "nopool", NULL, NULL, got, sizeof(got)), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_string_equal(err_last()->msg, "storage pool 'nopool' does not "
	    "exist on host 'test:///default'");
	assert_int_equal(backend_volume_delete(dst, "other", "v.qcow2"), 0);
	virStoragePoolFree(p);
	backend_close(dst);
	assert_int_equal(backend_volume_delete(f->bc, "hangar", "v.qcow2"), 0);
	rmdir(dir2);
}

/* --- watching --- */

#define REC_MAX 256

/* What a watcher was told, filled on libvirt's event thread. */
struct rec {
	pthread_mutex_t mu;
	int n;
	char uuid[REC_MAX][UUID_STR_LEN];   /* "" for the connection */
	char event[REC_MAX][16];
	int late;           /* calls after the watcher was let go */
	int gone;           /* set once the watcher was let go */
};

static void
rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
}

static void
rec_fn(void *opaque, const char *uuid, const char *event)
{
	struct rec *r = opaque;

	pthread_mutex_lock(&r->mu);
	if (r->gone)
		r->late++;
	if (r->n < REC_MAX) {
		snprintf(r->uuid[r->n], sizeof(r->uuid[r->n]), "%s",
		    uuid ? uuid : "");
		snprintf(r->event[r->n], sizeof(r->event[r->n]), "%s", event);
		r->n++;
	}
	pthread_mutex_unlock(&r->mu);
}

static int
rec_count(struct rec *r)
{
	int n;

	pthread_mutex_lock(&r->mu);
	n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

/* Index of the first (uuid, event) at or after from, or -1. */
static int
rec_find(struct rec *r, int from, const char *uuid, const char *event)
{
	int i, at = -1;

	pthread_mutex_lock(&r->mu);
	for (i = from; i < r->n && at < 0; i++)
		if (strcmp(r->uuid[i], uuid) == 0 &&
		    strcmp(r->event[i], event) == 0)
			at = i;
	pthread_mutex_unlock(&r->mu);
	return at;
}

/* Wait up to 2 s for (uuid, event) at or after from; its index. */
static int
rec_wait(struct rec *r, int from, const char *uuid, const char *event)
{
	int at;

	for (int tries = 0; tries < 200; tries++) {
		if ((at = rec_find(r, from, uuid, event)) >= 0)
			return at;
		usleep(10 * 1000);
	}
	fail_msg("no '%s' event for %s after 2 s (%d recorded)", event, uuid,
	    rec_count(r));
	return -1;
}

static void
raw_do(struct fx *f, const char *uuid, int (*op)(virDomainPtr))
{
	virDomainPtr d = virDomainLookupByUUIDString(f->raw, uuid);

	assert_non_null(d);
	assert_int_equal(op(d), 0);
	virDomainFree(d);
}

static void
test_watch(void **state)
{
	struct fx *f = *state;
	struct rec r, r2;
	char uuid[UUID_STR_LEN];
	int at, n;

	rec_init(&r);
	rec_init(&r2);
	assert_int_equal(backend_watch(f->bc, rec_fn, &r), 0);

	/* through the backend's own connection, and through another one */
	define_vm(f, uuid, "watched");
	at = rec_wait(&r, 0, uuid, "defined");
	assert_int_equal(backend_start(f->bc, uuid), 0);
	at = rec_wait(&r, at + 1, uuid, "started");
	raw_do(f, uuid, virDomainSuspend);
	at = rec_wait(&r, at + 1, uuid, "suspended");
	raw_do(f, uuid, virDomainResume);
	at = rec_wait(&r, at + 1, uuid, "resumed");
	raw_do(f, uuid, virDomainDestroy);
	at = rec_wait(&r, at + 1, uuid, "stopped");
	/* the test driver never loses its connection */
	assert_int_equal(rec_find(&r, 0, "", "closed"), -1);

	/* watching again with another function only swaps the function */
	assert_int_equal(backend_watch(f->bc, rec_fn, &r2), 0);
	n = rec_count(&r);
	assert_int_equal(backend_start(f->bc, uuid), 0);
	rec_wait(&r2, 0, uuid, "started");
	assert_int_equal(rec_count(&r), n);

	/* stopped: nothing more arrives */
	assert_int_equal(backend_watch(f->bc, NULL, NULL), 0);
	assert_int_equal(backend_watch(f->bc, NULL, NULL), 0);
	n = rec_count(&r2);
	assert_int_equal(backend_destroy(f->bc, uuid), 0);
	raw_do(f, uuid, virDomainCreate);
	usleep(300 * 1000);
	assert_int_equal(rec_count(&r2), n);
	assert_int_equal(rec_count(&r), rec_find(&r, 0, uuid, "resumed") + 2);

	/* and again: delivered as before */
	assert_int_equal(backend_watch(f->bc, rec_fn, &r), 0);
	n = rec_count(&r);
	assert_int_equal(backend_destroy(f->bc, uuid), 0);
	at = rec_wait(&r, n, uuid, "stopped");
	assert_int_equal(backend_undefine(f->bc, uuid), 0);
	rec_wait(&r, at + 1, uuid, "undefined");

	/* teardown closes the connection while it is watched */
	pthread_mutex_destroy(&r2.mu);
}

/* Each event's short name. */
static void
test_watch_names(void **state)
{
	struct fx *f = *state;
	bool by_agent;
	struct rec r;
	char uuid[UUID_STR_LEN];
	int at;

	rec_init(&r);
	assert_int_equal(backend_watch(f->bc, rec_fn, &r), 0);
	define_vm(f, uuid, "names");
	at = rec_wait(&r, 0, uuid, "defined");
	assert_int_equal(backend_start(f->bc, uuid), 0);
	at = rec_wait(&r, at + 1, uuid, "started");
	assert_int_equal(backend_shutdown(f->bc, uuid, &by_agent), 0);
	at = rec_wait(&r, at + 1, uuid, "stopped");
	assert_int_equal(backend_undefine(f->bc, uuid), 0);
	rec_wait(&r, at + 1, uuid, "undefined");
	/* the test driver's own domain, by its UUID */
	{
		virDomainPtr d = virDomainLookupByName(f->raw, "test");
		char tu[VIR_UUID_STRING_BUFLEN];

		assert_non_null(d);
		assert_int_equal(virDomainGetUUIDString(d, tu), 0);
		assert_int_equal(virDomainSuspend(d), 0);
		rec_wait(&r, 0, tu, "suspended");
		assert_int_equal(virDomainResume(d), 0);
		rec_wait(&r, 0, tu, "resumed");
		virDomainFree(d);
	}
	assert_int_equal(backend_watch(f->bc, NULL, NULL), 0);
	pthread_mutex_destroy(&r.mu);
}

/*
 * Closing the backend while events pour in: once backend_close returns
 * the watcher is never called again (ASan catches a callback on freed
 * memory).
 */
struct storm {
	virConnectPtr raw;
	const char *uuid;
	atomic_int stop;
};

static void *
storm_run(void *arg)
{
	struct storm *s = arg;
	virDomainPtr d = virDomainLookupByUUIDString(s->raw, s->uuid);

	if (d == NULL)
		return NULL;
	while (!atomic_load(&s->stop)) {
		virDomainSuspend(d);
		virDomainResume(d);
	}
	virDomainFree(d);
	return NULL;
}

static void
test_watch_close_under_events(void **state)
{
	struct fx *f = *state;
	struct rec r;
	struct storm st;
	pthread_t t;
	char uuid[UUID_STR_LEN];

	rec_init(&r);
	define_vm(f, uuid, "storm");
	assert_int_equal(backend_start(f->bc, uuid), 0);
	st.raw = f->raw;
	st.uuid = uuid;
	atomic_init(&st.stop, 0);
	assert_int_equal(pthread_create(&t, NULL, storm_run, &st), 0);
	for (int i = 0; i < 20; i++) {
		struct backend_conn *bc = backend_open(TEST_URI);

		assert_non_null(bc);
		assert_int_equal(backend_watch(bc, rec_fn, &r), 0);
		usleep(5 * 1000);
		if (i % 2)
			assert_int_equal(backend_watch(bc, NULL, NULL), 0);
		backend_close(bc);
		pthread_mutex_lock(&r.mu);
		r.gone = 1;
		pthread_mutex_unlock(&r.mu);
		usleep(2 * 1000);
		pthread_mutex_lock(&r.mu);
		assert_int_equal(r.late, 0);
		r.gone = 0;
		pthread_mutex_unlock(&r.mu);
	}
	atomic_store(&st.stop, 1);
	pthread_join(t, NULL);
	assert_true(rec_count(&r) > 0);
	assert_int_equal(backend_destroy(f->bc, uuid), 0);
	assert_int_equal(backend_undefine(f->bc, uuid), 0);
	pthread_mutex_destroy(&r.mu);
}

static void
test_unreachable(void **state)
{
	static const char uri[] = "qemu+tcp://127.0.0.1:1/system";
	static const char prefix[] =
	    "cannot connect to host 'qemu+tcp://127.0.0.1:1/system': ";
	const char *msg;

	(void)state;
	err_clear();
	assert_null(backend_open(uri));
	assert_int_equal(err_last()->code, ERR_UNAVAILABLE);
	assert_true(err_last()->retryable);
	msg = err_last()->msg;
	assert_int_equal(strncmp(msg, prefix, sizeof(prefix) - 1), 0);
	/* one whole sentence: the URI is said once, libvirt's reason follows */
	assert_null(strstr(msg + 1, "cannot connect to host"));
	assert_null(strstr(msg + sizeof(prefix) - 1, uri));
	assert_true(strlen(msg) > sizeof(prefix) - 1);
}

/*
 * The console on the test driver: a missing domain is 404; the test
 * driver has no consoles (a 501 that names libvirt's reason), and the
 * caller is left with no console to close.  Keys: 404 for a missing
 * domain, and the test driver takes them.  The tail of a file that no
 * volume is: 404, and the log directory's pool is transient (gone with
 * the connection's daemon, never defined).
 */
static void
test_console_test_driver(void **state)
{
	struct fx *f = *state;
	struct backend_console *con = NULL;
	const struct key_combo keys[] = { { { 42, 30 }, 2 }, { { 48 }, 1 } };
	virStoragePoolPtr p;
	virDomainPtr d = virDomainLookupByName(f->raw, "test");
	char buf[64], path[4200], uuid[VIR_UUID_STRING_BUFLEN];
	size_t n = sizeof(buf);

	assert_non_null(d);
	assert_int_equal(virDomainGetUUIDString(d, uuid), 0);
	virDomainFree(d);

	assert_int_equal(backend_console_open(f->bc,
	    "11111111-2222-3333-4444-555555555555", NULL, NULL, &con), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_null(con);
	assert_int_equal(backend_console_open(f->bc, uuid, NULL, NULL,
	    &con), -1);
	assert_int_equal(err_last()->code, ERR_UNSUPPORTED);
	assert_null(con);
	backend_console_close(f->bc, con);
	/* keys: a missing domain is 404; the test driver's running "test"
	 * takes them (shift + a, then b) */
	assert_int_equal(backend_send_keys(f->bc,
	    "11111111-2222-3333-4444-555555555555", keys, 2, 1), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(backend_send_keys(f->bc, uuid, keys, 2, 1), 0);
	snprintf(path, sizeof(path), "%s/none-serial.log", f->pool_dir);
	assert_int_equal(backend_file_tail(f->bc, path, buf, &n), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	p = virStoragePoolLookupByName(f->raw, "hangar-console-logs");
	assert_non_null(p);
	assert_int_equal(virStoragePoolIsPersistent(p), 0);
	virStoragePoolDestroy(p);
	virStoragePoolFree(p);
	/* the test driver's pools hold no files: a probe hangard wrote is
	 * not seen there, which is an answer, not an error */
	{
		bool seen = true;

		snprintf(path, sizeof(path), "%s/probe", f->pool_dir);
		assert_int_equal(backend_file_seen(f->bc, path, "x", 1, &seen),
		    0);
		assert_false(seen);
		snprintf(path, sizeof(path), "/nonexistent-%d/probe", 1);
		assert_int_equal(backend_file_seen(f->bc, path, "x", 1, &seen),
		    0);
		assert_false(seen);
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrappers_unsupported),
		T(test_open),
		T(test_host_facts),
		T(test_pool_ensure),
		T(test_pool_per_path),
		T(test_volumes),
		T(test_lifecycle),
		T(test_set_size),
		T(test_undefine_running),
		T(test_state_unknown),
		T(test_foreign_domain_untouched),
		T(test_list_domains_brief),
		T(test_define_escapes),
		T(test_two_connections_one_host),
		T(test_snapshot_stopped),
		T(test_snapshot_unknown_domain),
		T(test_snapshot_running),
		T(test_snapshot_revert),
		T(test_snapshot_delete),
		T(test_migrate_uri),
		T(test_migrate_jobs_unsupported),
		T(test_migrate_check),
		T(test_migrate_disk_path),
		T(test_snapshot_move),
		T(test_volume_path_copy),
		T(test_watch),
		T(test_watch_names),
		T(test_watch_close_under_events),
		T(test_console_test_driver),
		cmocka_unit_test(test_unreachable),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
