/*
 * test_store_network.c - unit tests of networks and NICs in the store
 * (store/store_network.c, store/store_nic.c) and of the address parsers
 * they rely on (common/netaddr.c): a network's range and gateway, names
 * and ranges unique across hangar's networks (an overlap is a conflict),
 * NIC addresses handed out lowest-free (never the network, gateway or
 * broadcast address) and released with their VM, exhaustion, MACs under
 * a prefix and unique across the fleet, a network in use that cannot be
 * deleted, and the leftovers of a deleted network: one per host, each
 * forgotten on its own, gone with their host.
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
#include "common/netaddr.h"
#include "common/types.h"
#include "store/store.h"
#include "storetest.h"

static int
setup(void **state)
{
	return storetest_setup(state, "net");
}

static int
teardown(void **state)
{
	return storetest_teardown(state);
}

static int
tx_net(struct store_conn *c, void *arg)
{
	return store_network_insert(c, arg);
}

/* Insert a network; its result (0/-1), the row into *out. */
static int
net(struct storetest_fx *f, const char *name, const char *mode, const char *cidr,
    const char *gw, struct network_rec *out)
{
	static unsigned seq;
	struct network_rec n;

	memset(&n, 0, sizeof(n));
	snprintf(n.uuid, sizeof(n.uuid), "%08x-0000-4000-8000-000000000000",
	    ++seq);
	snprintf(n.name, sizeof(n.name), "%s", name);
	snprintf(n.mode, sizeof(n.mode), "%s", mode);
	snprintf(n.cidr, sizeof(n.cidr), "%s", cidr);
	snprintf(n.gateway, sizeof(n.gateway), "%s", gw);
	n.dhcp = true;
	err_clear();
	if (store_tx(f->s, tx_net, &n) < 0)
		return -1;
	if (out)
		*out = n;
	return 0;
}

struct vm_tx {
	struct vm_rec vm;
	struct nic_rec nic[4];
	int n;
	const char *prefix;
};

static int
tx_vm(struct store_conn *c, void *arg)
{
	struct vm_tx *t = arg;
	char field[32];

	if (store_vm_insert(c, &t->vm, NULL, 0) < 0)
		return -1;
	for (int i = 0; i < t->n; i++) {
		snprintf(field, sizeof(field), "nics[%d]", i);
		if (store_nic_insert(c, t->vm.id, &t->nic[i], t->prefix,
		    field) < 0)
			return -1;
	}
	return 0;
}

static void
vm_init(struct storetest_fx *f, struct vm_tx *t, const char *name)
{
	static unsigned seq;

	memset(t, 0, sizeof(*t));
	snprintf(t->vm.uuid, sizeof(t->vm.uuid),
	    "%08x-0000-4000-8000-000000000000", ++seq);
	snprintf(t->vm.name, sizeof(t->vm.name), "%s", name);
	t->vm.vcpus = 1;
	t->vm.memory_mib = 64;
	t->vm.disk_gib = 1;
	t->vm.host_id = f->h.id;
	snprintf(t->vm.desired, sizeof(t->vm.desired), "stopped");
	snprintf(t->vm.observed, sizeof(t->vm.observed), "stopped");
}

/* A NIC on network id with mac/ipv4 asked for ("" = allocate). */
static void
nic(struct vm_tx *t, int64_t network_id, const char *mac, const char *ipv4)
{
	struct nic_rec *n = &t->nic[t->n++];

	memset(n, 0, sizeof(*n));
	n->network_id = network_id;
	snprintf(n->mac, sizeof(n->mac), "%s", mac);
	snprintf(n->ipv4, sizeof(n->ipv4), "%s", ipv4);
}

/* A VM with one NIC on network id; the insert's result. */
static int
vm1(struct storetest_fx *f, const char *name, int64_t id, const char *mac,
    const char *ipv4, struct nic_rec *out)
{
	struct vm_tx t;

	vm_init(f, &t, name);
	nic(&t, id, mac, ipv4);
	err_clear();
	if (store_tx(f->s, tx_vm, &t) < 0)
		return -1;
	if (out)
		*out = t.nic[0];
	return 0;
}

static int
tx_del(struct store_conn *c, void *arg)
{
	struct vm_rec v;

	if (store_vm_get(c, arg, &v) < 0)
		return -1;
	return store_vm_delete(c, v.id, NULL);
}

static void
del_vm(struct storetest_fx *f, const char *name)
{
	assert_int_equal(store_tx(f->s, tx_del, (void *)(uintptr_t)name), 0);
}

static void
expect_err(enum err_code code, const char *field)
{
	assert_int_equal(err_last()->code, code);
	assert_string_equal(err_last()->field, field);
}

static void
test_parsers(void **state)
{
	uint32_t a, n;
	int p;
	char buf[MAC_STR_LEN];

	(void)state;
	assert_int_equal(ipv4_parse("10.77.0.1", &a), 0);
	assert_int_equal(a, 0x0a4d0001);
	for (const char *const *s = (const char *const[]){ "10.1", "1.2.3.4.5",
	    "010.0.0.1", "256.0.0.1", "1.2.3.4 ", "", "a.b.c.d", "1..2.3",
	    NULL }; *s; s++)
		assert_int_equal(ipv4_parse(*s, &a), -1);
	assert_int_equal(ipv4_cidr_parse("10.77.0.0/24", &n, &p), 0);
	assert_int_equal(p, 24);
	assert_int_equal(ipv4_cidr_parse("10.77.0.1/24", &n, &p), -1);
	assert_int_equal(ipv4_cidr_parse("10.77.0.0/33", &n, &p), -1);
	assert_int_equal(ipv4_cidr_parse("10.77.0.0/024", &n, &p), -1);
	assert_int_equal(ipv4_cidr_parse("10.77.0.0", &n, &p), -1);
	assert_true(ipv4_cidr_overlap(0x0a000000, 8, 0x0a4d0000, 24));
	assert_false(ipv4_cidr_overlap(0x0a4d0000, 24, 0x0a4d0100, 24));
	assert_int_equal(mac_parse("52:54:00:AB:cd:0F", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "52:54:00:ab:cd:0f");
	assert_int_equal(mac_parse("01:00:5e:00:00:01", buf, sizeof(buf)), -1);
	assert_int_equal(mac_parse("52:54:00:ab:cd", buf, sizeof(buf)), -1);
	assert_int_equal(mac_parse("52-54-00-ab-cd-ef", buf, sizeof(buf)), -1);
	assert_int_equal(mac_prefix_parse("02:AA", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "02:aa");
	assert_int_equal(mac_prefix_parse("03:aa", buf, sizeof(buf)), -1);
	assert_int_equal(mac_prefix_parse("52:54:0", buf, sizeof(buf)), -1);
}

static void
test_network_rows(void **state)
{
	struct storetest_fx *f = *state;
	struct network_rec n, got;
	struct store_conn *c;

	assert_int_equal(net(f, "lan", "nat", "10.77.0.0/24", "", &n), 0);
	assert_string_equal(n.gateway, "10.77.0.1");      /* the default */
	assert_int_equal(net(f, "lan", "isolated", "10.78.0.0/24", "", NULL),
	    -1);
	expect_err(ERR_CONFLICT, "name");
	/* overlaps, both ways round, whatever the mode */
	assert_int_equal(net(f, "big", "isolated", "10.0.0.0/8", "", NULL), -1);
	expect_err(ERR_CONFLICT, "ipv4.cidr");
	assert_non_null(strstr(err_last()->msg, "'lan'"));
	assert_int_equal(net(f, "small", "bridge", "10.77.0.128/25", "", NULL),
	    -1);
	expect_err(ERR_CONFLICT, "ipv4.cidr");
	assert_int_equal(net(f, "next", "isolated", "10.77.1.0/24",
	    "10.77.1.254", NULL), 0);
	/* malformed ranges and gateways */
	assert_int_equal(net(f, "b1", "nat", "10.9.0.1/24", "", NULL), -1);
	expect_err(ERR_INVALID, "ipv4.cidr");
	assert_int_equal(net(f, "b2", "nat", "10.9.0.0/31", "", NULL), -1);
	expect_err(ERR_INVALID, "ipv4.cidr");
	assert_int_equal(net(f, "b3", "nat", "10.9.0.0/24", "10.9.1.1", NULL),
	    -1);
	expect_err(ERR_INVALID, "ipv4.gateway");
	assert_int_equal(net(f, "b4", "nat", "10.9.0.0/24", "10.9.0.255",
	    NULL), -1);
	expect_err(ERR_INVALID, "ipv4.gateway");
	/* a bridge network without a range */
	assert_int_equal(net(f, "br", "bridge", "", "", NULL), 0);
	c = store_read_begin(f->s);
	assert_int_equal(store_network_get(c, "next", &got), 0);
	assert_string_equal(got.gateway, "10.77.1.254");
	assert_string_equal(got.cidr, "10.77.1.0/24");
	assert_int_equal(store_network_get(c, "br", &got), 0);
	assert_string_equal(got.gateway, "");
	assert_int_equal(store_network_get(c, "b1", &got), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);
	store_read_end(c);
}

static void
test_address_allocation(void **state)
{
	struct storetest_fx *f = *state;
	struct network_rec n, m;
	struct nic_rec a;
	struct vm_tx t;

	/* gateway in the middle: .1 .2 are handed out, .3 skipped */
	assert_int_equal(net(f, "lan", "nat", "10.77.0.0/29", "10.77.0.3", &n),
	    0);
	assert_int_equal(vm1(f, "v1", n.id, "", "", &a), 0);
	assert_string_equal(a.ipv4, "10.77.0.1");
	assert_string_equal(a.dev, "net0");
	assert_string_equal(a.model, "");
	assert_int_equal(vm1(f, "v2", n.id, "", "", &a), 0);
	assert_string_equal(a.ipv4, "10.77.0.2");
	assert_int_equal(vm1(f, "v3", n.id, "", "10.77.0.6", &a), 0);
	assert_int_equal(vm1(f, "v4", n.id, "", "", &a), 0);
	assert_string_equal(a.ipv4, "10.77.0.4");
	/* asked-for addresses: taken, outside, special, malformed */
	assert_int_equal(vm1(f, "v5", n.id, "", "10.77.0.6", NULL), -1);
	expect_err(ERR_CONFLICT, "nics[0].ipv4");
	for (const char *const *s = (const char *const[]){ "10.77.0.0",
	    "10.77.0.3", "10.77.0.7", "10.77.1.1", "10.77.0", NULL }; *s; s++) {
		assert_int_equal(vm1(f, "v5", n.id, "", *s, NULL), -1);
		expect_err(ERR_INVALID, "nics[0].ipv4");
	}
	/* the last one, then exhaustion; nothing of the failure is left */
	assert_int_equal(vm1(f, "v5", n.id, "", "", &a), 0);
	assert_string_equal(a.ipv4, "10.77.0.5");
	assert_int_equal(vm1(f, "v6", n.id, "", "", NULL), -1);
	expect_err(ERR_CONFLICT, "nics[0].network");
	/* a deleted VM gives its address back */
	del_vm(f, "v2");
	assert_int_equal(vm1(f, "v6", n.id, "", "", &a), 0);
	assert_string_equal(a.ipv4, "10.77.0.2");
	/* two NICs on two networks; device names follow */
	assert_int_equal(net(f, "other", "isolated", "10.78.0.0/24", "", &m),
	    0);
	vm_init(f, &t, "two");
	nic(&t, m.id, "", "");
	nic(&t, m.id, "", "");
	assert_int_equal(store_tx(f->s, tx_vm, &t), 0);
	assert_string_equal(t.nic[0].ipv4, "10.78.0.2");
	assert_string_equal(t.nic[1].ipv4, "10.78.0.3");
	assert_string_equal(t.nic[1].dev, "net1");
	/* addresses given back are not handed out again at once (dnsmasq
	 * keeps the old MAC's lease on them): the next one goes on */
	del_vm(f, "two");
	assert_int_equal(net(f, "more", "isolated", "10.79.0.0/24", "", &m),
	    0);
	assert_int_equal(vm1(f, "w1", m.id, "", "", &a), 0);
	assert_string_equal(a.ipv4, "10.79.0.2");
	del_vm(f, "w1");
	assert_int_equal(vm1(f, "w2", m.id, "", "", &a), 0);
	assert_string_equal(a.ipv4, "10.79.0.3");
}

static int
tx_net_del(struct store_conn *c, void *arg)
{
	struct network_rec n;

	if (store_network_get(c, arg, &n) < 0)
		return -1;
	return store_network_delete(c, n.id);
}

static void
test_macs_and_delete(void **state)
{
	struct storetest_fx *f = *state;
	struct network_rec n, br;
	struct nic_rec a, b, list[VM_NICS_MAX];
	struct store_conn *c;
	struct vm_tx t;

	assert_int_equal(net(f, "lan", "nat", "192.168.77.0/24", "", &n), 0);
	assert_int_equal(vm1(f, "v1", n.id, "", "", &a), 0);
	assert_int_equal(strncmp(a.mac, "52:54:00:", 9), 0);
	assert_int_equal(strlen(a.mac), 17);
	assert_int_equal(vm1(f, "v2", n.id, "", "", &b), 0);
	assert_string_not_equal(a.mac, b.mac);
	/* asked for: normalised, unique across the fleet, well-formed */
	assert_int_equal(vm1(f, "v3", n.id, "52:54:00:AA:BB:CC", "", &b), 0);
	assert_string_equal(b.mac, "52:54:00:aa:bb:cc");
	assert_int_equal(vm1(f, "v4", n.id, "52:54:00:aa:bb:cc", "", NULL), -1);
	expect_err(ERR_CONFLICT, "nics[0].mac");
	assert_int_equal(vm1(f, "v4", n.id, "52:54:00:aa:bb", "", NULL), -1);
	expect_err(ERR_INVALID, "nics[0].mac");
	assert_int_equal(vm1(f, "v4", n.id, "01:54:00:aa:bb:cc", "", NULL), -1);
	expect_err(ERR_INVALID, "nics[0].mac");
	/* a configured prefix; a network with no range has no addresses */
	assert_int_equal(net(f, "br", "bridge", "", "", &br), 0);
	vm_init(f, &t, "v4");
	t.prefix = "02:aa:bb:cc";
	nic(&t, br.id, "", "");
	assert_int_equal(store_tx(f->s, tx_vm, &t), 0);
	assert_int_equal(strncmp(t.nic[0].mac, "02:aa:bb:cc:", 12), 0);
	assert_string_equal(t.nic[0].ipv4, "");
	assert_int_equal(vm1(f, "v5", br.id, "", "10.0.0.1", NULL), -1);
	expect_err(ERR_INVALID, "nics[0].ipv4");
	/* a failed VM insert left no NIC: v4's MAC and address still free */
	c = store_read_begin(f->s);
	assert_int_equal(store_network_get(c, "lan", &n), 0);
	assert_int_equal(n.nics, 3);
	assert_int_equal(store_nic_list(c, t.vm.id, list, VM_NICS_MAX), 1);
	assert_string_equal(list[0].network, "br");
	store_read_end(c);
	/* a network in use cannot go; once its NICs are gone it can */
	err_clear();
	assert_int_equal(store_tx(f->s, tx_net_del, "br"), -1);
	expect_err(ERR_CONFLICT, "name");
	del_vm(f, "v4");
	assert_int_equal(store_tx(f->s, tx_net_del, "br"), 0);
	/* ids are not reused (libvirt's names derive from them) */
	assert_int_equal(net(f, "br2", "bridge", "", "", &br), 0);
	assert_true(br.id > n.id + 1);
}

struct leftover {
	const char *name, *uuid;
	struct storetest_fx *f;
};

static int
tx_leftovers(struct store_conn *c, void *arg)
{
	struct leftover *l = arg;

	return store_network_leftovers_add(c, l->name, l->uuid);
}

static int
tx_leftover_drop(struct store_conn *c, void *arg)
{
	struct leftover *l = arg;

	return store_network_leftover_drop(c, l->name, l->uuid);
}

static int
tx_host_del(struct store_conn *c, void *arg)
{
	return store_host_delete(c, ((struct host_rec *)arg)->id);
}

/* Collect "name uuid;" of each leftover into the buffer arg. */
static int
leftover_cat(const char *name, const char *uuid, void *arg)
{
	char *buf = arg;
	size_t n = strlen(buf);

	snprintf(buf + n, 512 - n, "%s %s;", name, uuid);
	return 0;
}

static const char *
leftovers(struct storetest_fx *f, const char *host, char buf[512])
{
	struct store_conn *c = store_read_begin(f->s);

	buf[0] = '\0';
	assert_int_equal(store_network_leftover_each(c, host, leftover_cat,
	    buf), 0);
	store_read_end(c);
	return buf;
}

/* A wished MAC or address (an import's) is kept when free, replaced
 * when taken or not of the network. */
static void
test_wishes(void **state)
{
	struct storetest_fx *f = *state;
	struct network_rec n, br;
	struct nic_rec a;
	struct vm_tx t;

	assert_int_equal(net(f, "lan", "nat", "192.168.77.0/24", "", &n), 0);
	assert_int_equal(net(f, "br", "bridge", "", "", &br), 0);
	assert_int_equal(vm1(f, "v1", n.id, "52:54:00:aa:bb:cc", "192.168.77.9",
	    &a), 0);
	/* free: kept */
	vm_init(f, &t, "v2");
	nic(&t, n.id, "52:54:00:aa:bb:dd", "192.168.77.10");
	t.nic[0].wish = true;
	assert_int_equal(store_tx(f->s, tx_vm, &t), 0);
	assert_string_equal(t.nic[0].mac, "52:54:00:aa:bb:dd");
	assert_string_equal(t.nic[0].ipv4, "192.168.77.10");
	/* both taken: both new */
	vm_init(f, &t, "v3");
	nic(&t, n.id, "52:54:00:aa:bb:cc", "192.168.77.9");
	t.nic[0].wish = true;
	assert_int_equal(store_tx(f->s, tx_vm, &t), 0);
	assert_string_not_equal(t.nic[0].mac, "52:54:00:aa:bb:cc");
	assert_string_not_equal(t.nic[0].ipv4, "192.168.77.9");
	assert_string_not_equal(t.nic[0].ipv4, "192.168.77.10");
	assert_int_equal(strncmp(t.nic[0].ipv4, "192.168.77.", 11), 0);
	/* not of the network (another range, a bridge with none) */
	vm_init(f, &t, "v4");
	nic(&t, n.id, "", "10.1.2.3");
	nic(&t, br.id, "", "10.1.2.4");
	t.nic[0].wish = t.nic[1].wish = true;
	assert_int_equal(store_tx(f->s, tx_vm, &t), 0);
	assert_int_equal(strncmp(t.nic[0].ipv4, "192.168.77.", 11), 0);
	assert_string_equal(t.nic[1].ipv4, "");
	/* without the wish, a taken MAC is still a conflict */
	assert_int_equal(vm1(f, "v5", n.id, "52:54:00:aa:bb:cc", "", NULL), -1);
	expect_err(ERR_CONFLICT, "nics[0].mac");
}

static void
test_leftovers(void **state)
{
	struct storetest_fx *f = *state;
	struct host_rec h2;
	char buf[512];
	struct leftover a = { "hangar-a", "aaaaaaaa-0000-4000-8000-000000000000",
	    f }, b = { "hangar-b", "bbbbbbbb-0000-4000-8000-000000000000", f };

	assert_int_equal(storetest_host(f->s, &h2, "h2"), 0);
	assert_int_equal(store_tx(f->s, tx_leftovers, &a), 0);
	assert_int_equal(store_tx(f->s, tx_leftovers, &a), 0);  /* a repeat */
	assert_int_equal(store_tx(f->s, tx_leftovers, &b), 0);
	assert_string_equal(leftovers(f, "h1", buf), "hangar-a "
	    "aaaaaaaa-0000-4000-8000-000000000000;hangar-b "
	    "bbbbbbbb-0000-4000-8000-000000000000;");
	assert_string_equal(leftovers(f, "h2", buf), "hangar-a "
	    "aaaaaaaa-0000-4000-8000-000000000000;hangar-b "
	    "bbbbbbbb-0000-4000-8000-000000000000;");
	assert_string_equal(leftovers(f, "nohost", buf), "");
	/* one host forgets one: the others stay */
	assert_int_equal(store_tx(f->s, tx_leftover_drop,
	    &(struct leftover){ "h1", a.uuid, f }), 0);
	assert_string_equal(leftovers(f, "h1", buf), "hangar-b "
	    "bbbbbbbb-0000-4000-8000-000000000000;");
	assert_int_equal(strlen(leftovers(f, "h2", buf)), 2 * (9 + 37));
	/* a host deleted takes its leftovers with it */
	assert_int_equal(store_tx(f->s, tx_host_del, &h2), 0);
	assert_string_equal(leftovers(f, "h2", buf), "");
	assert_string_equal(leftovers(f, "h1", buf), "hangar-b "
	    "bbbbbbbb-0000-4000-8000-000000000000;");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parsers),
		cmocka_unit_test_setup_teardown(test_network_rows, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_address_allocation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_macs_and_delete, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wishes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_leftovers, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
