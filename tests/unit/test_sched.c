/*
 * test_sched.c - unit tests of scheduler/sched.c: the weigher (most free
 * memory, then fewest VMs, then name), each filter with its verdict, the
 * all-rejected case and sched_explain's summary.
 *
 * The scheduler is pure, so every test builds its hosts by hand.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "scheduler/sched.h"

/* A ready host with nothing on it. */
static struct sched_host
host(const char *name, int cpus, int64_t memory_mib)
{
	struct sched_host h;

	memset(&h, 0, sizeof(h));
	h.name = name;
	h.ready = 1;
	h.cpus = cpus;
	h.memory_mib = memory_mib;
	/* garbage that sched_pick must overwrite */
	h.free_memory_mib = -12345;
	snprintf(h.verdict, sizeof(h.verdict), "stale verdict");
	return h;
}

/* Ratios 1.0, nothing reserved: arithmetic in the tests stays obvious. */
static struct sched_policy
plain_policy(void)
{
	struct sched_policy p;

	memset(&p, 0, sizeof(p));
	p.cpu_ratio = 1.0;
	p.ram_ratio = 1.0;
	return p;
}

static void
test_policy_defaults(void **state)
{
	struct sched_policy p;

	(void)state;
	memset(&p, 0xff, sizeof(p));
	sched_policy_defaults(&p);
	assert_true(p.cpu_ratio == 4.0);
	assert_true(p.ram_ratio == 1.0);
	assert_int_equal(p.reserved_vcpus, 1);
	assert_int_equal(p.reserved_memory_mib, 512);
}

static void
test_most_free_memory(void **state)
{
	struct sched_host h[3];
	struct sched_request req = { 1, 256 };
	struct sched_policy pol = plain_policy();

	(void)state;
	h[0] = host("a", 4, 4096);
	h[1] = host("b", 4, 8192);
	h[2] = host("c", 4, 8192);
	h[2].alloc_memory_mib = 2048;       /* c: 6144 free */
	assert_int_equal(sched_pick(h, 3, &req, &pol), 1);
	assert_int_equal(h[0].free_memory_mib, 4096);
	assert_int_equal(h[1].free_memory_mib, 8192);
	assert_int_equal(h[2].free_memory_mib, 6144);
	for (int i = 0; i < 3; i++)
		assert_string_equal(h[i].verdict, "");

	/* the order of the array does not matter */
	h[0] = host("big", 4, 16384);
	h[1] = host("small", 4, 1024);
	h[2] = host("mid", 4, 8192);
	assert_int_equal(sched_pick(h, 3, &req, &pol), 0);
}

static void
test_free_memory_uses_ratio_and_reserved(void **state)
{
	struct sched_host h[2];
	struct sched_request req = { 1, 100 };
	struct sched_policy pol = plain_policy();

	(void)state;
	pol.ram_ratio = 1.5;
	pol.reserved_memory_mib = 1000;
	h[0] = host("a", 4, 4000);          /* 6000 - 1000 - 500 = 4500 */
	h[0].alloc_memory_mib = 500;
	h[1] = host("b", 4, 4000);          /* 6000 - 1000 - 0 = 5000 */
	assert_int_equal(sched_pick(h, 2, &req, &pol), 1);
	assert_int_equal(h[0].free_memory_mib, 4500);
	assert_int_equal(h[1].free_memory_mib, 5000);
}

static void
test_tie_fewer_vms(void **state)
{
	struct sched_host h[3];
	struct sched_request req = { 1, 256 };
	struct sched_policy pol = plain_policy();

	(void)state;
	h[0] = host("a", 8, 8192);
	h[0].vms = 3;
	h[1] = host("b", 8, 8192);
	h[1].vms = 1;
	h[2] = host("c", 8, 8192);
	h[2].vms = 2;
	assert_int_equal(sched_pick(h, 3, &req, &pol), 1);
}

static void
test_tie_by_name(void **state)
{
	struct sched_host h[3];
	struct sched_request req = { 1, 256 };
	struct sched_policy pol = plain_policy();

	(void)state;
	h[0] = host("node-c", 8, 8192);
	h[1] = host("node-a", 8, 8192);
	h[2] = host("node-b", 8, 8192);
	assert_int_equal(sched_pick(h, 3, &req, &pol), 1);
	/* the name tie-break does not depend on the array order */
	h[0] = host("node-a", 8, 8192);
	h[1] = host("node-c", 8, 8192);
	h[2] = host("node-b", 8, 8192);
	assert_int_equal(sched_pick(h, 3, &req, &pol), 0);
}

static void
test_not_ready_rejected(void **state)
{
	struct sched_host h[2];
	struct sched_request req = { 1, 256 };
	struct sched_policy pol = plain_policy();

	(void)state;
	h[0] = host("down", 64, 1 << 20);   /* the best, but unreachable */
	h[0].ready = 0;
	h[1] = host("up", 2, 1024);
	assert_int_equal(sched_pick(h, 2, &req, &pol), 1);
	assert_non_null(strstr(h[0].verdict, "not ready"));
	assert_string_equal(h[1].verdict, "");
}

static void
test_memory_filter(void **state)
{
	struct sched_host h[1];
	struct sched_request req = { 1, 1024 };
	struct sched_policy pol = plain_policy();

	(void)state;
	pol.ram_ratio = 0.5;
	pol.reserved_memory_mib = 512;
	/* 4096 * 0.5 - 512 - 512 = 1024: fits exactly */
	h[0] = host("a", 4, 4096);
	h[0].alloc_memory_mib = 512;
	assert_int_equal(sched_pick(h, 1, &req, &pol), 0);
	assert_int_equal(h[0].free_memory_mib, 1024);
	assert_string_equal(h[0].verdict, "");

	/* one MiB more than what is left */
	req.memory_mib = 1025;
	assert_int_equal(sched_pick(h, 1, &req, &pol), -1);
	assert_non_null(strstr(h[0].verdict, "not enough memory"));
	assert_non_null(strstr(h[0].verdict, "1024 MiB free"));
	assert_non_null(strstr(h[0].verdict, "1025 MiB asked"));

	/* without the ratio the same host would fit */
	pol.ram_ratio = 1.0;
	assert_int_equal(sched_pick(h, 1, &req, &pol), 0);

	/* reserved memory alone can make it not fit */
	pol.reserved_memory_mib = 4096;
	req.memory_mib = 16;
	assert_int_equal(sched_pick(h, 1, &req, &pol), -1);
	assert_int_equal(h[0].free_memory_mib, 0);   /* clamped, not negative */
	assert_non_null(strstr(h[0].verdict, "not enough memory"));
}

static void
test_vcpu_filter(void **state)
{
	struct sched_host h[1];
	struct sched_request req = { 6, 16 };
	struct sched_policy pol = plain_policy();

	(void)state;
	pol.cpu_ratio = 2.0;
	pol.reserved_vcpus = 1;
	/* (4 - 1) * 2 = 6 vCPUs of capacity, none allocated: fits exactly */
	h[0] = host("a", 4, 8192);
	assert_int_equal(sched_pick(h, 1, &req, &pol), 0);
	assert_string_equal(h[0].verdict, "");

	/* 2 allocated: 4 free, 6 asked */
	h[0].alloc_vcpus = 2;
	assert_int_equal(sched_pick(h, 1, &req, &pol), -1);
	assert_non_null(strstr(h[0].verdict, "not enough vCPUs"));
	assert_non_null(strstr(h[0].verdict, "4 free of 6"));
	assert_non_null(strstr(h[0].verdict, "6 asked"));

	/* a bigger ratio lets it in */
	pol.cpu_ratio = 4.0;
	assert_int_equal(sched_pick(h, 1, &req, &pol), 0);

	/* reserving every CPU leaves nothing */
	pol.reserved_vcpus = 4;
	req.vcpus = 1;
	h[0].alloc_vcpus = 0;
	assert_int_equal(sched_pick(h, 1, &req, &pol), -1);
	assert_non_null(strstr(h[0].verdict, "not enough vCPUs"));
}

static void
test_rejected_host_never_picked(void **state)
{
	struct sched_host h[3];
	struct sched_request req = { 2, 2048 };
	struct sched_policy pol = plain_policy();

	(void)state;
	/* a has the most memory but too few vCPUs */
	h[0] = host("a", 1, 65536);
	h[1] = host("b", 4, 4096);
	h[2] = host("c", 4, 8192);
	h[2].ready = 0;
	assert_int_equal(sched_pick(h, 3, &req, &pol), 1);
	assert_non_null(strstr(h[0].verdict, "vCPUs"));
	assert_string_equal(h[1].verdict, "");
	assert_non_null(strstr(h[2].verdict, "not ready"));
}

static void
test_none_fits(void **state)
{
	struct sched_host h[3];
	struct sched_request req = { 4, 4096 };
	struct sched_policy pol = plain_policy();
	char buf[1024];

	(void)state;
	h[0] = host("alpha", 8, 65536);
	h[0].ready = 0;
	h[1] = host("beta", 8, 2048);
	h[2] = host("gamma", 2, 65536);
	assert_int_equal(sched_pick(h, 3, &req, &pol), -1);
	for (int i = 0; i < 3; i++)
		assert_true(h[i].verdict[0] != '\0');
	assert_non_null(strstr(h[0].verdict, "not ready"));
	assert_non_null(strstr(h[1].verdict, "not enough memory"));
	assert_non_null(strstr(h[2].verdict, "not enough vCPUs"));
	/* free memory is filled even for rejected hosts */
	assert_int_equal(h[1].free_memory_mib, 2048);
	assert_int_equal(h[2].free_memory_mib, 65536);

	sched_explain(h, 3, buf, sizeof(buf));
	assert_non_null(strstr(buf, "host 'alpha': host is not ready"));
	assert_non_null(strstr(buf, "host 'beta': not enough memory"));
	assert_non_null(strstr(buf, "host 'gamma': not enough vCPUs"));
	/* in order, separated by "; " */
	assert_true(strstr(buf, "'alpha'") < strstr(buf, "'beta'"));
	assert_true(strstr(buf, "'beta'") < strstr(buf, "'gamma'"));
	assert_non_null(strstr(buf, "; host 'beta'"));
}

static void
test_explain_fits(void **state)
{
	struct sched_host h[2];
	struct sched_request req = { 1, 16 };
	struct sched_policy pol = plain_policy();
	char buf[256];

	(void)state;
	h[0] = host("ok", 4, 4096);
	h[1] = host("off", 4, 4096);
	h[1].ready = 0;
	assert_int_equal(sched_pick(h, 2, &req, &pol), 0);
	sched_explain(h, 2, buf, sizeof(buf));
	assert_string_equal(buf, "host 'ok': fits; host 'off': host is not ready");
}

static void
test_explain_truncates(void **state)
{
	struct sched_host h[4];
	struct sched_request req = { 1, 1 << 30 };
	struct sched_policy pol = plain_policy();
	char buf[40];

	(void)state;
	h[0] = host("aaaaaaaaaaaaaaaa", 4, 4096);
	h[1] = host("bbbbbbbbbbbbbbbb", 4, 4096);
	h[2] = host("cccccccccccccccc", 4, 4096);
	h[3] = host("dddddddddddddddd", 4, 4096);
	assert_int_equal(sched_pick(h, 4, &req, &pol), -1);
	memset(buf, 'X', sizeof(buf));
	sched_explain(h, 4, buf, sizeof(buf));
	/* terminated within the buffer, starts with the first host */
	assert_non_null(memchr(buf, '\0', sizeof(buf)));
	assert_int_equal(strlen(buf), sizeof(buf) - 1);
	assert_int_equal(strncmp(buf, "host 'aaaaaaaaaaaaaaaa'", 23), 0);
}

static void
test_no_hosts(void **state)
{
	struct sched_host h[1];
	struct sched_request req = { 1, 16 };
	struct sched_policy pol;
	char buf[128];

	(void)state;
	sched_policy_defaults(&pol);
	h[0] = host("never-looked-at", 4, 4096);
	assert_int_equal(sched_pick(h, 0, &req, &pol), -1);
	/* n == 0 must not touch the array */
	assert_string_equal(h[0].verdict, "stale verdict");
	assert_int_equal(h[0].free_memory_mib, -12345);
	sched_explain(h, 0, buf, sizeof(buf));
	assert_string_equal(buf, "no hosts are registered");
}

static void
test_defaults_policy_end_to_end(void **state)
{
	struct sched_host h[2];
	struct sched_request req = { 4, 1024 };
	struct sched_policy pol;

	(void)state;
	sched_policy_defaults(&pol);
	/* (2 - 1) * 4 = 4 vCPUs; 2048 - 512 = 1536 MiB */
	h[0] = host("tiny", 2, 2048);
	/* (1 - 1) * 4 = 0 vCPUs */
	h[1] = host("one-cpu", 1, 65536);
	assert_int_equal(sched_pick(h, 2, &req, &pol), 0);
	assert_int_equal(h[0].free_memory_mib, 1536);
	assert_non_null(strstr(h[1].verdict, "not enough vCPUs"));
	req.vcpus = 5;
	assert_int_equal(sched_pick(h, 2, &req, &pol), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_defaults),
		cmocka_unit_test(test_most_free_memory),
		cmocka_unit_test(test_free_memory_uses_ratio_and_reserved),
		cmocka_unit_test(test_tie_fewer_vms),
		cmocka_unit_test(test_tie_by_name),
		cmocka_unit_test(test_not_ready_rejected),
		cmocka_unit_test(test_memory_filter),
		cmocka_unit_test(test_vcpu_filter),
		cmocka_unit_test(test_rejected_host_never_picked),
		cmocka_unit_test(test_none_fits),
		cmocka_unit_test(test_explain_fits),
		cmocka_unit_test(test_explain_truncates),
		cmocka_unit_test(test_no_hosts),
		cmocka_unit_test(test_defaults_policy_end_to_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
