/*
 * test_addrseen.c - the table of addresses seen (src/common/addrseen.c):
 * which addresses are shown, and how a look at one source replaces its
 * part of the table: first-seen times kept, news marked once, other
 * sources and other MACs left alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/addrseen.h"

#define MAC_A "52:54:00:00:00:0a"
#define MAC_B "52:54:00:00:00:0b"

static struct addr_seen
seen(const char *mac, const char *ip)
{
	struct addr_seen a;

	memset(&a, 0, sizeof(a));
	snprintf(a.mac, sizeof(a.mac), "%s", mac);
	snprintf(a.ip, sizeof(a.ip), "%s", ip);
	return a;
}

/* The entry (mac, ip, src) of v[n], or NULL. */
static const struct addr_seen *
find(const struct addr_seen *v, size_t n, const char *mac, const char *ip,
    enum addr_source src)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].mac, mac) == 0 && strcmp(v[i].ip, ip) == 0 &&
		    v[i].source == src)
			return &v[i];
	return NULL;
}

static void
test_shown(void **state)
{
	static const char *const yes[] = { "10.77.0.10", "192.168.1.2",
	    "2001:db8::10", "fd00::1", "::ffff:10.0.0.1", "8.8.8.8" };
	static const char *const no[] = { "127.0.0.1", "127.1.2.3", "::1",
	    "fe80::5054:ff:fe00:a", "febf::1", "169.254.3.4", "0.0.0.0",
	    "::", "224.0.0.1", "ff02::1", "::ffff:127.0.0.1", "", "10.1",
	    "010.0.0.1x", "not an address", "fe80::1%eth0" };

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(addr_shown(yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (addr_shown(no[i]))
			fail_msg("'%s' shown", no[i]);
}

static void
test_source_names(void **state)
{
	(void)state;
	assert_string_equal(addr_source_name(ADDR_LEASE), "lease");
	assert_string_equal(addr_source_name(ADDR_AGENT), "agent");
	assert_string_equal(addr_source_name(ADDR_ARP), "arp");
	assert_string_equal(addr_source_name(ADDR_SOURCE__COUNT), "?");
}

static bool
only_a(const char *mac, void *arg)
{
	(void)arg;
	return strcmp(mac, MAC_A) == 0;
}

static void
test_merge(void **state)
{
	struct addr_seen *t = NULL, *t2 = NULL, *t3 = NULL;
	struct addr_seen nv[3];
	size_t n = 0, n2 = 0, n3 = 0;
	const struct addr_seen *e;

	(void)state;
	/* the first look of a process: nothing is news */
	nv[0] = seen(MAC_A, "10.0.0.5");
	nv[1] = seen(MAC_B, "10.0.0.6");
	assert_int_equal(addr_merge(NULL, 0, ADDR_LEASE, NULL, NULL, nv, 2,
	    1000, false, &t, &n), 0);
	assert_int_equal(n, 2);
	assert_false(t[0].fresh || t[1].fresh);
	assert_int_equal(t[0].seen_at, 1000);
	assert_int_equal(t[0].source, ADDR_LEASE);

	/* the agent of A's VM: the same address by another source is news,
	 * and so is its IPv6 one; a repeat counts once; the leases stay */
	nv[0] = seen(MAC_A, "10.0.0.5");
	nv[1] = seen(MAC_A, "2001:db8::5");
	nv[2] = seen(MAC_A, "10.0.0.5");
	assert_int_equal(addr_merge(t, n, ADDR_AGENT, only_a, NULL, nv, 3,
	    2000, true, &t2, &n2), 0);
	assert_int_equal(n2, 4);
	assert_non_null(e = find(t2, n2, MAC_A, "10.0.0.5", ADDR_AGENT));
	assert_true(e->fresh);
	assert_int_equal(e->seen_at, 2000);
	assert_non_null(e = find(t2, n2, MAC_A, "2001:db8::5", ADDR_AGENT));
	assert_true(e->fresh);
	assert_non_null(e = find(t2, n2, MAC_A, "10.0.0.5", ADDR_LEASE));
	assert_false(e->fresh);
	assert_int_equal(e->seen_at, 1000);
	assert_non_null(find(t2, n2, MAC_B, "10.0.0.6", ADDR_LEASE));

	/* the agent again: the IPv4 address stays (seen at 2000, no news),
	 * the IPv6 one is gone, a changed one is news */
	nv[0] = seen(MAC_A, "10.0.0.5");
	nv[1] = seen(MAC_A, "10.0.0.99");
	assert_int_equal(addr_merge(t2, n2, ADDR_AGENT, only_a, NULL, nv, 2,
	    3000, true, &t3, &n3), 0);
	assert_int_equal(n3, 4);
	assert_non_null(e = find(t3, n3, MAC_A, "10.0.0.5", ADDR_AGENT));
	assert_false(e->fresh);
	assert_int_equal(e->seen_at, 2000);
	assert_null(find(t3, n3, MAC_A, "2001:db8::5", ADDR_AGENT));
	assert_non_null(e = find(t3, n3, MAC_A, "10.0.0.99", ADDR_AGENT));
	assert_true(e->fresh);
	assert_int_equal(e->seen_at, 3000);
	free(t);
	free(t2);

	/* a VM that stopped: its agent part emptied, the leases kept */
	assert_int_equal(addr_merge(t3, n3, ADDR_AGENT, NULL, NULL, NULL, 0,
	    4000, true, &t, &n), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(t[i].source, ADDR_LEASE);
		assert_false(t[i].fresh);
	}
	free(t);
	free(t3);
}

/* A lease renewed (its end moved: the guest asked again, as a booting
 * guest does) is renewed now; one that did not move is not. */
static void
test_renewed(void **state)
{
	struct addr_seen *t = NULL, *t2 = NULL, *t3 = NULL, nv[1];
	size_t n = 0, n2 = 0, n3 = 0;

	(void)state;
	nv[0] = seen(MAC_A, "10.0.0.5");
	nv[0].expiry_ms = 5000;
	assert_int_equal(addr_merge(NULL, 0, ADDR_LEASE, NULL, NULL, nv, 1,
	    1000, true, &t, &n), 0);
	assert_int_equal(t[0].renewed_at, 1000);
	assert_int_equal(addr_merge(t, n, ADDR_LEASE, NULL, NULL, nv, 1,
	    2000, true, &t2, &n2), 0);
	assert_int_equal(t2[0].seen_at, 1000);
	assert_int_equal(t2[0].renewed_at, 1000);
	nv[0].expiry_ms = 9000;
	assert_int_equal(addr_merge(t2, n2, ADDR_LEASE, NULL, NULL, nv, 1,
	    3000, true, &t3, &n3), 0);
	assert_int_equal(t3[0].seen_at, 1000);
	assert_int_equal(t3[0].renewed_at, 3000);
	assert_int_equal(t3[0].expiry_ms, 9000);
	assert_false(t3[0].fresh);
	free(t);
	free(t2);
	free(t3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shown),
		cmocka_unit_test(test_source_names),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_renewed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
