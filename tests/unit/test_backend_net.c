/*
 * test_backend_net.c - unit tests of the libvirt backend's networks
 * (backends/lv_network.c) against libvirt's test:///default driver:
 * defining (a repeat is harmless; a network of the same name that is not
 * hangar's is refused), starting with autostart, undefining (gone is
 * fine), static DHCP hosts added (an entry for the same MAC or address
 * replaced) and removed, leases, and bridges that do or do not exist.
 * test_backend.c checks that every wrapper is a 501 on a backend
 * without the table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "backends/backend.h"
#include "common/error.h"

#define TEST_URI "test:///default"

struct fx {
	struct backend_conn *bc;
	virConnectPtr raw;       /* the same in-memory host, seen directly */
};

static void
quiet(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e;
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	virSetErrorFunc(NULL, quiet);
	if (f == NULL || backend_init() < 0 ||
	    (f->bc = backend_open(TEST_URI)) == NULL ||
	    (f->raw = virConnectOpen(TEST_URI)) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	backend_close(f->bc);
	virConnectClose(f->raw);
	free(f);
	return 0;
}

static const struct net_spec lan = {
	.name = "hangar-lan", .uuid = "6f1c3c2e-8b0a-4c57-9d61-0a4f7e2b9c10",
	.mode = "nat", .bridge = "hgn1", .address = "10.77.0.1",
	.prefix = 24, .dhcp = true,
};

/* The definition of network name as libvirt has it (malloc'd). */
static char *
raw_xml(struct fx *f, const char *name, unsigned flags)
{
	virNetworkPtr n = virNetworkLookupByName(f->raw, name);
	char *xml;

	assert_non_null(n);
	xml = virNetworkGetXMLDesc(n, flags);
	virNetworkFree(n);
	assert_non_null(xml);
	return xml;
}

static void
ok(int rc)
{
	if (rc != 0)
		fail_msg("%s", err_last()->msg);
}

static void
test_define_start_undefine(void **state)
{
	struct fx *f = *state;
	struct net_spec other = lan;
	virNetworkPtr n;
	int autostart = 0;
	char *xml;

	assert_int_equal(backend_network_start(f->bc, "hangar-lan"), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	ok(backend_network_define(f->bc, &lan));
	ok(backend_network_define(f->bc, &lan));           /* a repeat */
	ok(backend_network_start(f->bc, "hangar-lan"));
	ok(backend_network_start(f->bc, "hangar-lan"));
	n = virNetworkLookupByName(f->raw, "hangar-lan");
	assert_non_null(n);
	assert_int_equal(virNetworkIsActive(n), 1);
	assert_int_equal(virNetworkGetAutostart(n, &autostart), 0);
	assert_int_equal(autostart, 1);
	virNetworkFree(n);
	xml = raw_xml(f, "hangar-lan", 0);
	assert_non_null(strstr(xml, "<forward mode='nat'"));
	assert_non_null(strstr(xml, "name='hgn1'"));
	free(xml);
	/* the same name with another uuid is not ours: refused */
	other.uuid = "00000000-8b0a-4c57-9d61-0a4f7e2b9c10";
	assert_int_equal(backend_network_define(f->bc, &other), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	/* libvirt's own default network is left alone */
	n = virNetworkLookupByName(f->raw, "default");
	assert_non_null(n);
	virNetworkFree(n);
	/* undefine with another uuid: not ours, left alone */
	ok(backend_network_undefine(f->bc, "hangar-lan", other.uuid));
	n = virNetworkLookupByName(f->raw, "hangar-lan");
	assert_non_null(n);
	virNetworkFree(n);
	ok(backend_network_undefine(f->bc, "hangar-lan", lan.uuid));
	ok(backend_network_undefine(f->bc, "hangar-lan", lan.uuid)); /* gone */
	assert_null(virNetworkLookupByName(f->raw, "hangar-lan"));
}

/* How many times s occurs in xml. */
static int
count(const char *xml, const char *s)
{
	int n = 0;

	for (const char *p = xml; (p = strstr(p, s)) != NULL; p++)
		n++;
	return n;
}

static void
test_dhcp_hosts(void **state)
{
	struct fx *f = *state;
	struct net_dhcp_host a = { "52:54:00:00:00:01", "10.77.0.2", "web1" };
	struct net_dhcp_host b = { "52:54:00:00:00:02", "10.77.0.3", "web2" };
	struct net_dhcp_host a2 = { "52:54:00:00:00:01", "10.77.0.9", "web1" };
	struct net_lease l[4];
	char *xml;
	int n = -1;

	ok(backend_network_define(f->bc, &lan));
	ok(backend_network_start(f->bc, "hangar-lan"));
	ok(backend_network_host_add(f->bc, "hangar-lan", &a));
	ok(backend_network_host_add(f->bc, "hangar-lan", &a));     /* repeat */
	ok(backend_network_host_add(f->bc, "hangar-lan", &b));
	ok(backend_network_host_add(f->bc, "hangar-lan", &a2));    /* moved */
	xml = raw_xml(f, "hangar-lan", 0);
	assert_int_equal(count(xml, "<host "), 2);
	assert_int_equal(count(xml, "10.77.0.2'"), 0);
	assert_int_equal(count(xml, "ip='10.77.0.9'"), 1);
	assert_int_equal(count(xml, "name='web2'"), 1);
	free(xml);
	ok(backend_network_host_remove(f->bc, "hangar-lan", a.mac));
	ok(backend_network_host_remove(f->bc, "hangar-lan", a.mac));
	xml = raw_xml(f, "hangar-lan", 0);
	assert_int_equal(count(xml, "<host "), 1);
	free(xml);
	/* a network that is gone has no hosts to remove */
	ok(backend_network_host_remove(f->bc, "hangar-none", a.mac));
	assert_int_equal(backend_network_host_add(f->bc, "hangar-none", &a),
	    -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	/* the test driver hands out no leases: an empty list, or a 501 */
	if (backend_network_leases(f->bc, "hangar-lan", NULL, l, 4, &n) == 0)
		assert_int_equal(n, 0);
	else
		assert_int_equal(err_last()->code, ERR_UNSUPPORTED);
	ok(backend_network_undefine(f->bc, "hangar-lan", lan.uuid));
}

static void
test_bridges(void **state)
{
	struct fx *f = *state;
	bool b = true;

	/* the test driver's host has one interface, eth1 */
	ok(backend_bridge_exists(f->bc, "eth1", &b));
	assert_true(b);
	ok(backend_bridge_exists(f->bc, "br-nope", &b));
	assert_false(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_define_start_undefine,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_dhcp_hosts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bridges, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
