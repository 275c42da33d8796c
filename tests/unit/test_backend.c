/*
 * test_backend.c - unit tests of backends/: the wrappers in backend.c
 * (a missing operation becomes ERR_UNSUPPORTED) and the libvirt backend
 * in libvirt.c, driven against libvirt's own test:///default driver: real
 * libvirt code, in memory, no hand-written mock.
 *
 * libvirt's test driver keeps one in-memory state for test:///default
 * while at least one connection to it is open; it starts afresh once the
 * last one closes.  Each test opens the backend connection in its setup
 * (and a raw virConnectPtr beside it, to check from libvirt's side what
 * the backend did) and closes both in its teardown, so tests do not see
 * one another's domains and pools.
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

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <uuid/uuid.h>

#include "backends/backend.h"
#include "common/error.h"

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
	spec->disk_path = disk;
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

static const struct backend_ops empty_ops = { .name = "empty" };

static void
assert_unsupported(int rc, const char *what)
{
	assert_int_equal(rc, -1);
	assert_int_equal(err_last()->code, ERR_UNSUPPORTED);
	assert_non_null(strstr(err_last()->msg, "the empty backend cannot"));
	assert_non_null(strstr(err_last()->msg, what));
}

static void
test_wrappers_unsupported(void **state)
{
	struct backend_conn bc = { .ops = &empty_ops, .uri = "empty://" };
	struct host_facts hf;
	struct vm_spec spec = { .uuid = "u", .name = "n" };
	enum vm_state st;
	char path[64];

	(void)state;
	assert_unsupported(backend_host_facts(&bc, &hf), "describe the host");
	assert_unsupported(backend_pool_ensure(&bc, "p", "/x", NULL, NULL),
	    "storage pools");
	assert_unsupported(backend_volume_create(&bc, "p", "v", 1, path,
	    sizeof(path)), "create volumes");
	assert_unsupported(backend_volume_delete(&bc, "p", "v"),
	    "delete volumes");
	assert_unsupported(backend_define(&bc, &spec), "define domains");
	assert_unsupported(backend_undefine(&bc, "u"), "undefine domains");
	assert_unsupported(backend_start(&bc, "u"), "start domains");
	assert_unsupported(backend_shutdown(&bc, "u"), "shut domains down");
	assert_unsupported(backend_destroy(&bc, "u"), "power domains off");
	assert_unsupported(backend_suspend(&bc, "u"), "pause domains");
	assert_unsupported(backend_resume(&bc, "u"), "resume domains");
	assert_unsupported(backend_reboot(&bc, "u"), "reboot domains");
	assert_unsupported(backend_reset(&bc, "u"), "reset domains");
	assert_unsupported(backend_state(&bc, "u", &st), "domain states");
	assert_int_equal(err_code_http(err_last()->code), 501);
	/* closing nothing is fine */
	backend_close(NULL);
	assert_ptr_equal(backend_for_uri(TEST_URI), &backend_libvirt_ops);
	assert_string_equal(backend_libvirt_ops.name, "libvirt");
}

/* --- libvirt's test driver --- */

static void
test_open(void **state)
{
	struct fx *f = *state;

	assert_ptr_equal(f->bc->ops, &backend_libvirt_ops);
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

static void
test_lifecycle(void **state)
{
	struct fx *f = *state;
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
	assert_int_equal(backend_shutdown(f->bc, uuid), 0);
	assert_int_equal(state_of(f, uuid), VM_STOPPED);

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
	char uuid[UUID_STR_LEN];
	enum vm_state st = VM_RUNNING;

	new_uuid(uuid);
	assert_int_equal(backend_state(f->bc, uuid, &st), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_non_null(strstr(err_last()->msg, uuid));
	assert_int_equal(st, VM_RUNNING);     /* untouched */
	assert_int_equal(backend_suspend(f->bc, uuid), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	assert_int_equal(backend_shutdown(f->bc, uuid), -1);
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

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrappers_unsupported),
		T(test_open),
		T(test_host_facts),
		T(test_pool_ensure),
		T(test_volumes),
		T(test_lifecycle),
		T(test_undefine_running),
		T(test_state_unknown),
		T(test_foreign_domain_untouched),
		T(test_define_escapes),
		T(test_two_connections_one_host),
		cmocka_unit_test(test_unreachable),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
