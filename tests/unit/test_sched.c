/*
 * test_sched.c - unit tests of scheduler/sched.c: the free-room arithmetic
 * (ratios, reserved resources, claims), each filter in pipeline order with
 * the verdict it gives, explicit hosts and force, the weighers (spread,
 * pack, tie-breaks, soft groups), sched_explain, and the sampling of large
 * fleets.
 *
 * The scheduler is pure, so every test builds its hosts by hand.  A
 * verdict's `why` is checked for the numbers it must name, not for its
 * wording: numbers are pulled out of the text and compared as values.
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

#include "scheduler/sched.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A ready x86_64 host offering qemu and kvm; ratios 1, nothing reserved
 * or claimed, so the arithmetic in a test stays obvious. */
static void
mkhost(struct sched_host *h, const char *name, int cpus, int64_t memory_mib,
    int64_t disk_gib)
{
	memset(h, 0, sizeof(*h));
	h->id = 1;
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->state = SCHED_READY;
	snprintf(h->arch, sizeof(h->arch), "x86_64");
	h->domain_types = SCHED_DT_QEMU | SCHED_DT_KVM;
	h->cpus = cpus;
	h->memory_mib = memory_mib;
	h->disk_gib = disk_gib;
	h->cpu_ratio = h->ram_ratio = h->disk_ratio = 1.0;
}

/* Any host, spread, no group. */
static void
mkreq(struct sched_request *r, int vcpus, int64_t memory_mib,
    int64_t disk_gib)
{
	memset(r, 0, sizeof(*r));
	r->vcpus = vcpus;
	r->memory_mib = memory_mib;
	r->disk_gib = disk_gib;
	r->policy = SCHED_SPREAD;
}

/* Verdicts full of garbage that sched_pick must overwrite. */
static void
stale(struct sched_verdict *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		memset(&v[i], 0, sizeof(v[i]));
		v[i].fits = (i % 2) == 0;
		v[i].filter = "stale";
		snprintf(v[i].why, sizeof(v[i].why), "stale verdict");
		v[i].score = -4242.5;
		v[i].nparts = SCHED_MAX_WEIGHERS;
		for (size_t k = 0; k < SCHED_MAX_WEIGHERS; k++) {
			v[i].parts[k].name = "stale";
			v[i].parts[k].value = 1e9;
		}
	}
}

static bool
near(double a, double b)
{
	double d = a - b;

	return d < 1e-9 && d > -1e-9;
}

/*
 * Does text name the number want?  Every run of digits (with an optional
 * fraction) in text is read as a number and compared by value, so "1.50"
 * names 1.5 and "12" does not name 2.
 */
static bool
names_number(const char *text, double want)
{
	const char *p = text;

	while (*p) {
		char buf[64];
		size_t k = 0;

		if (*p < '0' || *p > '9') {
			p++;
			continue;
		}
		while (((*p >= '0' && *p <= '9') || *p == '.') &&
		    k + 1 < sizeof(buf))
			buf[k++] = *p++;
		buf[k] = '\0';
		if (near(strtod(buf, NULL), want))
			return true;
	}
	return false;
}

/* Does text name a negative number ("-3"; "x - 3" is a subtraction)? */
static bool
names_negative(const char *text)
{
	for (const char *p = text; *p; p++)
		if (p[0] == '-' && p[1] >= '0' && p[1] <= '9')
			return true;
	return false;
}

/* The first number text names, or -1. */
static double
first_number(const char *text)
{
	for (const char *p = text; *p; p++)
		if (*p >= '0' && *p <= '9')
			return strtod(p, NULL);
	return -1;
}

#define assert_names(why, num) do {					\
	if (!names_number((why), (num)))				\
		fail_msg("why '%s' does not name %g", (why), (double)(num)); \
} while (0)

#define assert_has(text, sub) do {					\
	if (strstr((text), (sub)) == NULL)				\
		fail_msg("'%s' does not contain '%s'", (text), (sub));	\
} while (0)

static void
assert_refused(const struct sched_verdict *v, const char *filter)
{
	if (v->fits)
		fail_msg("fits, expected refusal by '%s'", filter);
	if (v->filter == NULL)
		fail_msg("refused without a filter, expected '%s' (why '%s')",
		    filter, v->why);
	if (strcmp(v->filter, filter) != 0)
		fail_msg("refused by '%s' (%s), expected '%s'", v->filter,
		    v->why, filter);
	if (v->why[0] == '\0')
		fail_msg("refused by '%s' with an empty why", filter);
}

static void
assert_fits(const struct sched_verdict *v)
{
	if (!v->fits)
		fail_msg("refused by '%s': %s", v->filter ? v->filter : "(null)",
		    v->why);
}

/* The value of the weigher called name in v; fails if v has none. */
static double
part(const struct sched_verdict *v, const char *name)
{
	for (size_t k = 0; k < v->nparts; k++)
		if (v->parts[k].name && strcmp(v->parts[k].name, name) == 0)
			return v->parts[k].value;
	fail_msg("verdict has no weigher part '%s'", name);
	return 0;
}

/* A fitting verdict's score is the sum of its parts, each named once. */
static void
assert_score_is_sum(const struct sched_verdict *v)
{
	double sum = 0;

	assert_true(v->fits);
	assert_true(v->nparts >= 1 && v->nparts <= SCHED_MAX_WEIGHERS);
	for (size_t k = 0; k < v->nparts; k++) {
		assert_non_null(v->parts[k].name);
		for (size_t j = 0; j < k; j++)
			assert_string_not_equal(v->parts[j].name,
			    v->parts[k].name);
		sum += v->parts[k].value;
	}
	if (!near(sum, v->score))
		fail_msg("score %.9f is not the sum of its parts %.9f",
		    v->score, sum);
}

/* Judge one host alone. */
static struct sched_verdict
judge(const struct sched_host *h, const struct sched_request *r)
{
	struct sched_verdict v;

	stale(&v, 1);
	sched_pick(h, 1, r, &v);
	return v;
}

/* --- sched_host_free --- */

static void
test_free_arithmetic(void **state)
{
	struct sched_host h;
	struct sched_free f;

	(void)state;
	/* the example of docs/api.md: 2 CPUs x 4, 1 reserved, 3 claimed */
	mkhost(&h, "a", 2, 24000, 100);
	h.cpu_ratio = 4.0;
	h.reserved_vcpus = 1;
	h.alloc_vcpus = 3;
	/* capacity is (physical - reserved) x ratio for every resource:
	 * (24000 - 512) x 1.5 = 35232 MiB, 1000 claimed */
	h.ram_ratio = 1.5;
	h.reserved_memory_mib = 512;
	h.alloc_memory_mib = 1000;
	/* (100 - 10) x 2 = 180 GiB, 50 claimed */
	h.disk_ratio = 2.0;
	h.reserved_disk_gib = 10;
	h.alloc_disk_gib = 50;
	memset(&f, 0xa5, sizeof(f));
	sched_host_free(&h, &f);
	assert_true(near(f.vcpus_cap, 4));
	assert_true(near(f.vcpus, 1));
	assert_int_equal(f.memory_cap, 35232);
	assert_int_equal(f.memory_mib, 34232);
	assert_int_equal(f.disk_cap, 180);
	assert_int_equal(f.disk_gib, 130);

	/* nothing claimed: free is the capacity */
	h.alloc_vcpus = h.alloc_memory_mib = h.alloc_disk_gib = 0;
	sched_host_free(&h, &f);
	assert_true(near(f.vcpus, f.vcpus_cap));
	assert_int_equal(f.memory_mib, f.memory_cap);
	assert_int_equal(f.disk_gib, f.disk_cap);

	/* a fractional ratio keeps its fraction of a vCPU */
	mkhost(&h, "b", 3, 1024, 1);
	h.cpu_ratio = 1.5;
	sched_host_free(&h, &f);
	assert_true(near(f.vcpus_cap, 4.5));
}

static void
test_free_caps_never_negative(void **state)
{
	struct sched_host h;
	struct sched_free f;

	(void)state;
	/* more reserved than the host has */
	mkhost(&h, "a", 2, 1024, 10);
	h.reserved_vcpus = 4;
	h.reserved_memory_mib = 4096;
	h.disk_ratio = 0.5;
	h.reserved_disk_gib = 100;
	sched_host_free(&h, &f);
	assert_true(f.vcpus_cap >= 0 && near(f.vcpus_cap, 0));
	assert_int_equal(f.memory_cap, 0);
	assert_int_equal(f.disk_cap, 0);
	assert_true(near(f.vcpus, 0));
	assert_int_equal(f.memory_mib, 0);
	assert_int_equal(f.disk_gib, 0);

	/* claims beyond capacity (ratios lowered after placing): the caps
	 * stay, free goes below zero so nothing more fits */
	mkhost(&h, "b", 4, 4096, 40);
	h.alloc_vcpus = 6;
	h.alloc_memory_mib = 5000;
	h.alloc_disk_gib = 50;
	sched_host_free(&h, &f);
	assert_true(near(f.vcpus_cap, 4));
	assert_int_equal(f.memory_cap, 4096);
	assert_int_equal(f.disk_cap, 40);
	assert_true(f.vcpus < 0);
	assert_true(f.memory_mib < 0);
	assert_true(f.disk_gib < 0);
}

/* --- the filters --- */

/*
 * One host that fails every filter; mend it one cause at a time and the
 * refusing filter moves down the pipeline in its documented order.
 */
static void
test_filter_order(void **state)
{
	static const struct sched_label want[] = { { "rack", "a" } };
	struct sched_label have[] = { { "rack", "a" } };
	static const char *const order[] = { "state", "arch", "domain_type",
	    "vcpus", "memory", "disk", "labels", "group" };
	struct sched_host h;
	struct sched_request r;
	struct sched_verdict v;
	int counts[1] = { 1 };

	(void)state;
	mkhost(&h, "a", 1, 512, 1);
	h.state = SCHED_MAINTENANCE;
	snprintf(h.arch, sizeof(h.arch), "aarch64");
	h.domain_types = SCHED_DT_QEMU;
	mkreq(&r, 2, 1024, 10);
	r.arch = "x86_64";
	r.domain_type = SCHED_DT_KVM;
	r.labels = want;
	r.nlabels = 1;
	r.group = SCHED_ANTI_AFFINITY;
	r.group_strict = true;
	r.group_name = "web";
	r.group_counts = counts;
	r.group_total = 1;

	for (size_t step = 0; step <= NELEM(order); step++) {
		v = judge(&h, &r);
		if (step == NELEM(order)) {
			assert_fits(&v);
			break;
		}
		assert_refused(&v, order[step]);
		switch (step) {
		case 0: h.state = SCHED_READY; break;
		case 1: snprintf(h.arch, sizeof(h.arch), "x86_64"); break;
		case 2: h.domain_types |= SCHED_DT_KVM; break;
		case 3: h.cpus = 4; break;
		case 4: h.memory_mib = 4096; break;
		case 5: h.disk_gib = 100; break;
		case 6: h.labels = have; h.nlabels = 1; break;
		case 7: counts[0] = 0; r.group_total = 0; break;
		}
	}
}

/* A resize gives back the VM's own claim before it is judged. */
static void
test_judge_resize(void **state)
{
	struct sched_host h;
	struct sched_request r;
	struct sched_verdict v;

	(void)state;
	mkhost(&h, "h", 4, 4096, 100);
	/* the VM holds 2 vCPUs and 2048 MiB of what is claimed */
	h.alloc_vcpus = 3;
	h.alloc_memory_mib = 3072;
	mkreq(&r, 2, 3072, 0);
	r.host = "h";
	/* 1024 free + its own 2048: 3072 fits, exactly */
	assert_int_equal(sched_judge_resize(&h, &r, 2, 2048, &v), 0);
	assert_fits(&v);
	/* a MiB more does not, and says which filter */
	r.memory_mib = 3073;
	assert_int_equal(sched_judge_resize(&h, &r, 2, 2048, &v), -1);
	assert_refused(&v, "memory");
	/* nor do vCPUs beyond what is free plus its own */
	mkreq(&r, 4, 2048, 0);
	r.host = "h";
	assert_int_equal(sched_judge_resize(&h, &r, 2, 2048, &v), -1);
	assert_refused(&v, "vcpus");
	mkreq(&r, 3, 2048, 0);
	r.host = "h";
	assert_int_equal(sched_judge_resize(&h, &r, 2, 2048, &v), 0);
	/* the host itself is not changed */
	assert_int_equal(h.alloc_vcpus, 3);
	assert_int_equal(h.alloc_memory_mib, 3072);
	/* a host in maintenance takes no growth */
	h.state = SCHED_MAINTENANCE;
	assert_int_equal(sched_judge_resize(&h, &r, 2, 2048, &v), -1);
	assert_refused(&v, "state");
}

static void
test_filter_state(void **state)
{
	struct sched_host h[4];
	struct sched_request r;
	struct sched_verdict v[4];

	(void)state;
	mkhost(&h[0], "maint", 64, 1 << 20, 1000);   /* the best, but... */
	h[0].state = SCHED_MAINTENANCE;
	mkhost(&h[1], "down", 64, 1 << 20, 1000);
	h[1].state = SCHED_UNREACHABLE;
	mkhost(&h[2], "up", 2, 2048, 10);
	mkhost(&h[3], "lost", 64, 1 << 20, 1000);
	h[3].state = SCHED_FENCED;
	mkreq(&r, 1, 256, 1);
	stale(v, 4);
	assert_int_equal(sched_pick(h, 4, &r, v), 2);
	assert_refused(&v[0], "state");
	assert_has(v[0].why, "maintenance");
	assert_refused(&v[1], "state");
	assert_has(v[1].why, "unreachable");
	assert_fits(&v[2]);
	assert_refused(&v[3], "state");
	assert_has(v[3].why, "fenced");
}

static void
test_filter_arch(void **state)
{
	struct sched_host h;
	struct sched_request r;
	struct sched_verdict v;

	(void)state;
	mkhost(&h, "arm", 4, 4096, 10);
	snprintf(h.arch, sizeof(h.arch), "aarch64");
	mkreq(&r, 1, 256, 1);
	r.arch = "x86_64";
	v = judge(&h, &r);
	assert_refused(&v, "arch");
	assert_has(v.why, "aarch64");
	assert_has(v.why, "x86_64");
	r.arch = "aarch64";
	v = judge(&h, &r);
	assert_fits(&v);
	r.arch = NULL;                      /* any */
	v = judge(&h, &r);
	assert_fits(&v);
}

static void
test_filter_domain_type(void **state)
{
	struct sched_host h;
	struct sched_request r;
	struct sched_verdict v;

	(void)state;
	mkhost(&h, "tcg", 4, 4096, 10);
	h.domain_types = SCHED_DT_QEMU;
	mkreq(&r, 1, 256, 1);
	r.domain_type = SCHED_DT_KVM;
	v = judge(&h, &r);
	assert_refused(&v, "domain_type");
	assert_has(v.why, "kvm");
	r.domain_type = SCHED_DT_QEMU;
	v = judge(&h, &r);
	assert_fits(&v);
	r.domain_type = 0;                  /* any */
	v = judge(&h, &r);
	assert_fits(&v);

	/* a kvm-only host refuses qemu, naming it */
	h.domain_types = SCHED_DT_KVM;
	r.domain_type = SCHED_DT_QEMU;
	v = judge(&h, &r);
	assert_refused(&v, "domain_type");
	assert_has(v.why, "qemu");
	/* a host offering nothing (facts not read yet) takes "any" only */
	h.domain_types = 0;
	r.domain_type = SCHED_DT_KVM;
	v = judge(&h, &r);
	assert_refused(&v, "domain_type");
	r.domain_type = 0;
	v = judge(&h, &r);
	assert_fits(&v);
}

static void
test_filter_vcpus(void **state)
{
	struct sched_host h;
	struct sched_request r;
	struct sched_verdict v;

	(void)state;
	/* (10 - 2) x 1.5 = 12 vCPUs, 9 claimed: 3 free */
	mkhost(&h, "a", 10, 65536, 100);
	h.cpu_ratio = 1.5;
	h.reserved_vcpus = 2;
	h.alloc_vcpus = 9;
	mkreq(&r, 3, 256, 1);
	v = judge(&h, &r);                  /* exactly what is left */
	assert_fits(&v);
	r.vcpus = 5;
	v = judge(&h, &r);
	assert_refused(&v, "vcpus");
	assert_names(v.why, 3);             /* free */
	assert_names(v.why, 12);            /* capacity */
	assert_names(v.why, 10);            /* CPUs */
	assert_names(v.why, 1.5);           /* ratio */
	assert_names(v.why, 2);             /* reserved */
	assert_names(v.why, 9);             /* claimed */
	assert_names(v.why, 5);             /* asked */

	/* over-claimed: the free room is said as 0, never negative */
	h.alloc_vcpus = 20;
	r.vcpus = 1;
	v = judge(&h, &r);
	assert_refused(&v, "vcpus");
	assert_false(names_negative(v.why));
	assert_true(near(first_number(v.why), 0));
	assert_names(v.why, 20);
}

/*
 * A fraction of a vCPU free must not be said as the whole number asked:
 * 3 CPUs x 0.6 = 1.8 vCPUs, 2 asked, is refused, and the why must not
 * claim 2 are free.
 */
static void
test_filter_vcpus_fraction_why(void **state)
{
	struct sched_host h;
	struct sched_request r;
	struct sched_verdict v;

	(void)state;
	mkhost(&h, "a", 3, 65536, 100);
	h.cpu_ratio = 0.6;
	mkreq(&r, 2, 256, 1);
	v = judge(&h, &r);
	assert_refused(&v, "vcpus");
	if (!(first_number(v.why) < 2))
		fail_msg("refused 2 vCPUs but the why says %g are free: %s",
		    first_number(v.why), v.why);
}

static void
test_filter_memory(void **state)
{
	struct sched_host h;
	struct sched_request r;
	struct sched_verdict v;

	(void)state;
	/* (5700 - 300) x 0.5 = 2700 MiB, 700 claimed: 2000 free */
	mkhost(&h, "a", 8, 5700, 100);
	h.ram_ratio = 0.5;
	h.reserved_memory_mib = 300;
	h.alloc_memory_mib = 700;
	mkreq(&r, 1, 2000, 1);
	v = judge(&h, &r);
	assert_fits(&v);
	r.memory_mib = 2001;                /* one MiB too many */
	v = judge(&h, &r);
	assert_refused(&v, "memory");
	assert_names(v.why, 2000);
	assert_names(v.why, 2700);
	assert_names(v.why, 5700);
	assert_names(v.why, 0.5);
	assert_names(v.why, 300);
	assert_names(v.why, 700);
	assert_names(v.why, 2001);

	/* reserved beyond the host: 0 free, not negative */
	h.reserved_memory_mib = 100000;
	r.memory_mib = 16;
	v = judge(&h, &r);
	assert_refused(&v, "memory");
	assert_false(names_negative(v.why));
	assert_true(near(first_number(v.why), 0));
}

static void
test_filter_disk(void **state)
{
	struct sched_host h;
	struct sched_request r;
	struct sched_verdict v;

	(void)state;
	/* (80 - 15) x 3 = 195 GiB, 45 claimed: 150 free */
	mkhost(&h, "a", 8, 65536, 80);
	h.disk_ratio = 3.0;
	h.reserved_disk_gib = 15;
	h.alloc_disk_gib = 45;
	mkreq(&r, 1, 256, 150);
	v = judge(&h, &r);
	assert_fits(&v);
	r.disk_gib = 151;
	v = judge(&h, &r);
	assert_refused(&v, "disk");
	assert_names(v.why, 150);
	assert_names(v.why, 195);
	assert_names(v.why, 80);
	assert_names(v.why, 3);
	assert_names(v.why, 15);
	assert_names(v.why, 45);
	assert_names(v.why, 151);

	/* a host whose pool size is unknown (0) takes no disk */
	h.disk_gib = 0;
	h.reserved_disk_gib = 0;
	h.alloc_disk_gib = 0;
	r.disk_gib = 1;
	v = judge(&h, &r);
	assert_refused(&v, "disk");
}

static void
test_filter_labels(void **state)
{
	struct sched_label have[] = { { "rack", "a" }, { "ssd", "yes" } };
	struct sched_label want[2];
	struct sched_host h;
	struct sched_request r;
	struct sched_verdict v;

	(void)state;
	mkhost(&h, "a", 4, 4096, 10);
	h.labels = have;
	h.nlabels = 2;
	mkreq(&r, 1, 256, 1);
	r.labels = want;

	/* missing */
	want[0] = (struct sched_label){ "zone", "north" };
	r.nlabels = 1;
	v = judge(&h, &r);
	assert_refused(&v, "labels");
	assert_has(v.why, "zone");
	assert_has(v.why, "north");

	/* present with another value: both values are named */
	want[0] = (struct sched_label){ "rack", "b" };
	v = judge(&h, &r);
	assert_refused(&v, "labels");
	assert_has(v.why, "rack");
	assert_has(v.why, "'a'");
	assert_has(v.why, "'b'");
	/* the two cases read differently */
	{
		char differ[SCHED_WHY_MAX];
		struct sched_verdict m;

		snprintf(differ, sizeof(differ), "%s", v.why);
		want[0] = (struct sched_label){ "rack", "zzz" };
		h.nlabels = 1;
		have[0] = (struct sched_label){ "other", "a" };
		m = judge(&h, &r);
		assert_refused(&m, "labels");
		want[0] = (struct sched_label){ "rack", "b" };
		have[0] = (struct sched_label){ "rack", "a" };
		h.nlabels = 2;
		assert_string_not_equal(m.why, differ);
	}

	/* all are required: one of two matching is not enough */
	want[0] = (struct sched_label){ "rack", "a" };
	want[1] = (struct sched_label){ "ssd", "no" };
	r.nlabels = 2;
	v = judge(&h, &r);
	assert_refused(&v, "labels");
	assert_has(v.why, "ssd");
	want[1] = (struct sched_label){ "ssd", "yes" };
	v = judge(&h, &r);
	assert_fits(&v);

	/* none asked: a host without labels fits */
	h.labels = NULL;
	h.nlabels = 0;
	r.nlabels = 0;
	v = judge(&h, &r);
	assert_fits(&v);
}

static void
test_filter_strict_anti_affinity(void **state)
{
	struct sched_host h[3];
	struct sched_request r;
	struct sched_verdict v[3];
	int counts[3] = { 2, 0, 0 };

	(void)state;
	mkhost(&h[0], "a", 64, 1 << 20, 1000);      /* the best but taken */
	mkhost(&h[1], "b", 4, 4096, 10);
	mkhost(&h[2], "c", 4, 8192, 10);
	mkreq(&r, 1, 256, 1);
	r.group = SCHED_ANTI_AFFINITY;
	r.group_strict = true;
	r.group_name = "web";
	r.group_counts = counts;
	r.group_total = 2;
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), 2);
	assert_refused(&v[0], "group");
	assert_has(v[0].why, "'web'");
	assert_names(v[0].why, 2);
	assert_fits(&v[1]);
	assert_fits(&v[2]);
	/* strict is a filter, not a weight */
	assert_true(near(part(&v[1], "group"), 0));

	/* every host has a member: none fits */
	counts[1] = counts[2] = 1;
	r.group_total = 4;
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), -1);
	for (int i = 0; i < 3; i++)
		assert_refused(&v[i], "group");
}

static void
test_filter_strict_affinity(void **state)
{
	struct sched_host h[3];
	struct sched_request r;
	struct sched_verdict v[3];
	int counts[3] = { 0, 0, 0 };

	(void)state;
	mkhost(&h[0], "a", 64, 1 << 20, 1000);
	mkhost(&h[1], "b", 4, 4096, 10);
	mkhost(&h[2], "c", 4, 8192, 10);
	mkreq(&r, 1, 256, 1);
	r.group = SCHED_AFFINITY;
	r.group_strict = true;
	r.group_name = "db";
	r.group_counts = counts;

	/* an empty group goes anywhere: the usual weighing decides */
	r.group_total = 0;
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), 0);
	for (int i = 0; i < 3; i++)
		assert_fits(&v[i]);

	/* once it has members, only their host will do */
	counts[1] = 2;
	r.group_total = 2;
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), 1);
	assert_refused(&v[0], "group");
	assert_has(v[0].why, "'db'");
	assert_fits(&v[1]);
	assert_refused(&v[2], "group");

	/* members on two hosts (e.g. placed with force): either will do */
	counts[2] = 1;
	r.group_total = 3;
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), 2);
	assert_refused(&v[0], "group");
	assert_fits(&v[1]);
	assert_fits(&v[2]);

	/* the members' host is full: nothing else is taken instead */
	counts[2] = 0;
	r.group_total = 2;
	h[1].alloc_memory_mib = 4096;
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), -1);
	assert_refused(&v[1], "memory");
	assert_refused(&v[0], "group");
	assert_refused(&v[2], "group");
}

/* --- an explicit host, force --- */

static void
test_explicit_host(void **state)
{
	struct sched_host h[3];
	struct sched_request r;
	struct sched_verdict v[3];

	(void)state;
	mkhost(&h[0], "a", 64, 1 << 20, 1000);
	mkhost(&h[1], "b", 2, 2048, 10);
	mkhost(&h[2], "c", 64, 1 << 20, 1000);
	mkreq(&r, 1, 256, 1);
	r.host = "b";
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), 1);
	assert_refused(&v[0], "host");
	assert_has(v[0].why, "'b'");
	assert_fits(&v[1]);
	assert_score_is_sum(&v[1]);
	assert_refused(&v[2], "host");

	/* the asked host still goes through the filters */
	r.memory_mib = 4096;
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), -1);
	assert_refused(&v[0], "host");
	assert_refused(&v[1], "memory");
	assert_refused(&v[2], "host");

	/* and without verdicts too */
	assert_int_equal(sched_pick(h, 3, &r, NULL), -1);
	r.memory_mib = 256;
	assert_int_equal(sched_pick(h, 3, &r, NULL), 1);

	/* an unknown host: nothing fits */
	r.host = "nope";
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), -1);
	for (int i = 0; i < 3; i++) {
		assert_refused(&v[i], "host");
		assert_has(v[i].why, "'nope'");
	}
}

static void
test_force(void **state)
{
	struct sched_host h[3];
	struct sched_request r;
	struct sched_verdict v[3];
	int counts[3] = { 0, 1, 0 };

	(void)state;
	mkhost(&h[0], "a", 64, 1 << 20, 1000);
	mkhost(&h[1], "b", 1, 1024, 1);
	h[1].state = SCHED_MAINTENANCE;
	h[1].alloc_vcpus = 1;
	h[1].alloc_memory_mib = 1024;
	h[1].alloc_disk_gib = 1;
	snprintf(h[1].arch, sizeof(h[1].arch), "ppc64le");
	mkhost(&h[2], "c", 64, 1 << 20, 1000);
	mkreq(&r, 4, 8192, 50);
	r.arch = "x86_64";
	r.group = SCHED_ANTI_AFFINITY;
	r.group_strict = true;
	r.group_name = "g";
	r.group_counts = counts;
	r.group_total = 1;
	r.host = "b";

	/* b fails nearly every filter */
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), -1);
	assert_refused(&v[1], "state");

	/* forced: b is taken as it is; the others are still not asked */
	r.force = true;
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), 1);
	assert_refused(&v[0], "host");
	assert_fits(&v[1]);
	assert_score_is_sum(&v[1]);
	assert_refused(&v[2], "host");
	assert_int_equal(sched_pick(h, 3, &r, NULL), 1);

	/* force without a host forces nothing */
	r.host = NULL;
	h[0].state = SCHED_MAINTENANCE;
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), 2);
	assert_refused(&v[0], "state");
	assert_refused(&v[1], "state");
	assert_fits(&v[2]);
}

/* --- the weighers --- */

static void
test_spread_most_free_memory(void **state)
{
	struct sched_host h[5];
	struct sched_request r;
	struct sched_verdict v[5];

	(void)state;
	mkhost(&h[0], "a", 8, 8192, 10);        /* 4096 free after claims */
	h[0].alloc_memory_mib = 4096;
	mkhost(&h[1], "b", 8, 6144, 10);        /* 6144 free */
	mkhost(&h[2], "c", 8, 4096, 10);        /* x 2: 8192 free */
	h[2].ram_ratio = 2.0;
	mkhost(&h[3], "d", 8, 10240, 10);       /* - 4096 reserved: 6144 */
	h[3].reserved_memory_mib = 4096;
	mkhost(&h[4], "e", 8, 1 << 20, 10);     /* the most, but no vCPUs */
	h[4].alloc_vcpus = 8;
	mkreq(&r, 1, 1024, 1);
	stale(v, 5);
	assert_int_equal(sched_pick(h, 5, &r, v), 2);
	/* the free_memory part is the GiB left after this placement */
	assert_true(near(part(&v[0], "free_memory"), 3.0));
	assert_true(near(part(&v[1], "free_memory"), 5.0));
	assert_true(near(part(&v[2], "free_memory"), 7.0));
	assert_true(near(part(&v[3], "free_memory"), 5.0));
	assert_refused(&v[4], "vcpus");
	for (int i = 0; i < 4; i++) {
		assert_score_is_sum(&v[i]);
		assert_true(v[i].score <= v[2].score);
	}
	/* the same pick without verdicts */
	assert_int_equal(sched_pick(h, 5, &r, NULL), 2);

	/* the array's order does not matter */
	{
		struct sched_host t = h[0];

		h[0] = h[2];
		h[2] = t;
		assert_int_equal(sched_pick(h, 5, &r, NULL), 0);
	}
}

static void
test_pack_tightest_fit(void **state)
{
	struct sched_host h[4];
	struct sched_request r;
	struct sched_verdict v[4];

	(void)state;
	mkhost(&h[0], "a", 8, 8192, 10);
	mkhost(&h[1], "b", 8, 2048, 10);
	mkhost(&h[2], "c", 8, 512, 10);         /* too small */
	mkhost(&h[3], "d", 8, 4096, 10);        /* 1536 free after claims */
	h[3].alloc_memory_mib = 2560;
	mkreq(&r, 1, 1024, 1);
	r.policy = SCHED_PACK;
	stale(v, 4);
	assert_int_equal(sched_pick(h, 4, &r, v), 3);
	assert_refused(&v[2], "memory");
	/* pack scores minus the GiB left */
	assert_true(near(part(&v[0], "free_memory"), -7.0));
	assert_true(near(part(&v[3], "free_memory"), -0.5));
	assert_score_is_sum(&v[0]);
	assert_score_is_sum(&v[1]);
	assert_score_is_sum(&v[3]);
	assert_int_equal(sched_pick(h, 4, &r, NULL), 3);

	/* the same hosts spread: the emptiest */
	r.policy = SCHED_SPREAD;
	assert_int_equal(sched_pick(h, 4, &r, NULL), 0);
}

static void
test_tie_fewer_vms_then_name(void **state)
{
	static const enum sched_policy pol[] = { SCHED_SPREAD, SCHED_PACK };
	struct sched_host h[3];
	struct sched_request r;
	struct sched_verdict v[3];

	(void)state;
	for (size_t p = 0; p < NELEM(pol); p++) {
		mkreq(&r, 1, 256, 1);
		r.policy = pol[p];

		/* equal room: the host with fewer VMs */
		mkhost(&h[0], "a", 8, 8192, 10);
		h[0].vms = 3;
		mkhost(&h[1], "b", 8, 8192, 10);
		h[1].vms = 1;
		mkhost(&h[2], "c", 8, 8192, 10);
		h[2].vms = 2;
		stale(v, 3);
		if (sched_pick(h, 3, &r, v) != 1)
			fail_msg("%s: equal room, 3/1/2 VMs: picked not the "
			    "host with fewest VMs", pol[p] == SCHED_PACK ?
			    "pack" : "spread");
		for (int i = 0; i < 3; i++)
			assert_score_is_sum(&v[i]);
		assert_int_equal(sched_pick(h, 3, &r, NULL), 1);

		/* the tie-break never beats a MiB of memory */
		h[1].memory_mib = 8191;
		h[0].vms = h[2].vms = 50;
		if (pol[p] == SCHED_SPREAD)
			assert_int_equal(sched_pick(h, 3, &r, NULL), 0);
		else
			assert_int_equal(sched_pick(h, 3, &r, NULL), 1);

		/* equal room and VMs: by name, whatever the array order */
		mkhost(&h[0], "node-c", 8, 8192, 10);
		mkhost(&h[1], "node-a", 8, 8192, 10);
		mkhost(&h[2], "node-b", 8, 8192, 10);
		assert_int_equal(sched_pick(h, 3, &r, NULL), 1);
		stale(v, 3);
		assert_int_equal(sched_pick(h, 3, &r, v), 1);
		mkhost(&h[0], "node-a", 8, 8192, 10);
		mkhost(&h[1], "node-c", 8, 8192, 10);
		assert_int_equal(sched_pick(h, 3, &r, NULL), 0);
	}
}

static void
test_soft_affinity(void **state)
{
	struct sched_host h[3];
	struct sched_request r;
	struct sched_verdict v[3];
	int counts[3] = { 0, 1, 0 };

	(void)state;
	mkhost(&h[0], "a", 8, 16384, 10);
	mkhost(&h[1], "b", 8, 8192, 10);        /* the member's host */
	mkhost(&h[2], "c", 8, 32768, 10);
	mkreq(&r, 1, 1024, 1);
	r.group = SCHED_AFFINITY;
	r.group_strict = false;
	r.group_name = "db";
	r.group_counts = counts;
	r.group_total = 1;
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), 1);
	/* a bonus on the member's host only, bigger than the memory gap */
	assert_true(part(&v[1], "group") > 0);
	assert_true(near(part(&v[0], "group"), 0));
	assert_true(near(part(&v[2], "group"), 0));
	assert_true(part(&v[1], "group") > part(&v[2], "free_memory") -
	    part(&v[1], "free_memory"));
	for (int i = 0; i < 3; i++)
		assert_score_is_sum(&v[i]);

	/* a weight never refuses: the member's host full, another is used */
	h[1].alloc_memory_mib = 8192;
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), 2);
	assert_refused(&v[1], "memory");
	assert_fits(&v[0]);

	/* with pack too */
	h[1].alloc_memory_mib = 0;
	r.policy = SCHED_PACK;
	mkhost(&h[0], "a", 8, 2048, 10);        /* the tighter fit */
	assert_int_equal(sched_pick(h, 3, &r, NULL), 1);
}

static void
test_soft_anti_affinity(void **state)
{
	struct sched_host h[3];
	struct sched_request r;
	struct sched_verdict v[3];
	int counts[3] = { 2, 0, 1 };

	(void)state;
	mkhost(&h[0], "a", 8, 65536, 10);       /* 2 members */
	mkhost(&h[1], "b", 8, 4096, 10);        /* none */
	mkhost(&h[2], "c", 8, 32768, 10);       /* 1 member */
	mkreq(&r, 1, 1024, 1);
	r.group = SCHED_ANTI_AFFINITY;
	r.group_strict = false;
	r.group_name = "web";
	r.group_counts = counts;
	r.group_total = 3;
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), 1);
	/* a penalty per member: none for none, twice for two */
	assert_true(part(&v[2], "group") < 0);
	assert_true(near(part(&v[0], "group"), 2 * part(&v[2], "group")));
	assert_true(near(part(&v[1], "group"), 0));
	for (int i = 0; i < 3; i++)
		assert_score_is_sum(&v[i]);

	/* every host has members: never refused, the fewest win */
	counts[1] = 3;
	r.group_total = 6;
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), 2);
	for (int i = 0; i < 3; i++)
		assert_fits(&v[i]);
}

/*
 * The image weigher: a host holding the VM's image wins between hosts
 * of about the same room (a few GiB of memory), not against much more
 * room, and never against a soft group.
 */
static void
test_image_preference(void **state)
{
	struct sched_host h[3];
	struct sched_request r;
	struct sched_verdict v[3];
	bool has[3] = { false, true, false };
	int counts[3] = { 1, 0, 0 };

	(void)state;
	mkhost(&h[0], "a", 8, 10240, 100);
	mkhost(&h[1], "b", 8, 8192, 100);      /* 2 GiB less, has it */
	mkhost(&h[2], "c", 8, 65536, 100);     /* far more room */
	mkreq(&r, 1, 1024, 1);
	r.has_image = has;
	stale(v, 3);
	assert_int_equal(sched_pick(h, 2, &r, v), 1);
	assert_true(part(&v[1], "image") > 0);
	assert_true(near(part(&v[0], "image"), 0));
	assert_score_is_sum(&v[1]);
	/* 54 GiB more free memory beats a copy of the image */
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), 2);
	/* no image: no part, the roomier host */
	r.has_image = NULL;
	stale(v, 3);
	assert_int_equal(sched_pick(h, 2, &r, v), 0);
	assert_true(near(part(&v[1], "image"), 0));
	/* a soft affinity group outweighs it */
	r.has_image = has;
	r.group = SCHED_AFFINITY;
	r.group_name = "g";
	r.group_counts = counts;
	r.group_total = 1;
	stale(v, 3);
	assert_int_equal(sched_pick(h, 2, &r, v), 0);
}

/*
 * docs/api.md: a soft group's weight "outweighs any difference in free
 * memory" (scores are in GiB).  Hosts of 1 TiB next to 64 GiB ones are
 * ordinary.
 */
static void
test_soft_group_outweighs_big_memory_difference(void **state)
{
	struct sched_host h[2];
	struct sched_request r;
	int counts[2] = { 1, 0 };

	(void)state;
	mkhost(&h[0], "big", 128, 1024 * 1024, 1000);   /* 1 TiB, a member */
	mkhost(&h[1], "small", 16, 64 * 1024, 1000);    /* 64 GiB, none */
	mkreq(&r, 1, 1024, 1);
	r.group_name = "g";
	r.group_counts = counts;
	r.group_total = 1;
	r.group_strict = false;

	r.group = SCHED_ANTI_AFFINITY;
	if (sched_pick(h, 2, &r, NULL) != 1)
		fail_msg("soft anti-affinity put a second member on the 1 TiB "
		    "host instead of the empty 64 GiB one");
	r.group = SCHED_AFFINITY;
	counts[0] = 0;
	counts[1] = 1;
	if (sched_pick(h, 2, &r, NULL) != 1)
		fail_msg("soft affinity left the member's 64 GiB host for an "
		    "empty 1 TiB one");
}

/* --- nothing fits, explain --- */

static void
test_none_fits_every_verdict(void **state)
{
	struct sched_label want[] = { { "rack", "x" } };
	struct sched_host h[4];
	struct sched_request r;
	struct sched_verdict v[4];

	(void)state;
	mkhost(&h[0], "a", 8, 512, 10);
	mkhost(&h[1], "b", 8, 8192, 10);
	h[1].state = SCHED_UNREACHABLE;
	mkhost(&h[2], "c", 1, 8192, 10);
	mkhost(&h[3], "d", 8, 8192, 10);
	mkreq(&r, 2, 1024, 1);
	r.labels = want;
	r.nlabels = 1;
	stale(v, 4);
	assert_int_equal(sched_pick(h, 4, &r, v), -1);
	assert_refused(&v[0], "memory");
	assert_refused(&v[1], "state");
	assert_refused(&v[2], "vcpus");
	assert_refused(&v[3], "labels");
	assert_int_equal(sched_pick(h, 4, &r, NULL), -1);
}

static void
test_explain(void **state)
{
	struct sched_host h[3];
	struct sched_request r;
	struct sched_verdict v[3];
	char buf[1024], want[1024], small[24];

	(void)state;
	mkhost(&h[0], "a", 8, 512, 10);
	mkhost(&h[1], "b", 8, 8192, 10);
	h[1].state = SCHED_MAINTENANCE;
	mkreq(&r, 1, 1024, 1);
	stale(v, 2);
	assert_int_equal(sched_pick(h, 2, &r, v), -1);
	sched_explain(h, v, 2, buf, sizeof(buf));
	snprintf(want, sizeof(want), "host 'a': memory: %s; host 'b': "
	    "state: %s", v[0].why, v[1].why);
	assert_string_equal(buf, want);

	/* a fitting host says so */
	mkhost(&h[2], "c", 8, 8192, 10);
	stale(v, 3);
	assert_int_equal(sched_pick(h, 3, &r, v), 2);
	sched_explain(h, v, 3, buf, sizeof(buf));
	assert_has(buf, "host 'c': fits");

	/* truncated to the buffer, still a string, a prefix of the whole */
	memset(small, 'X', sizeof(small));
	sched_explain(h, v, 3, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, buf, sizeof(small) - 1);

	/* no hosts at all */
	sched_explain(h, v, 0, buf, sizeof(buf));
	assert_true(strlen(buf) > 0);
	assert_has(buf, "host");
}

/* --- no hosts, large fleets --- */

static void
test_no_hosts(void **state)
{
	struct sched_host h[1];
	struct sched_request r;
	struct sched_verdict v[1];

	(void)state;
	memset(h, 0, sizeof(h));
	stale(v, 1);
	mkreq(&r, 1, 256, 1);
	assert_int_equal(sched_pick(NULL, 0, &r, NULL), -1);
	assert_int_equal(sched_pick(h, 0, &r, v), -1);
	r.host = "a";
	assert_int_equal(sched_pick(NULL, 0, &r, NULL), -1);
}

#define FLEET 10000

static struct sched_host *
fleet(int64_t memory_mib)
{
	struct sched_host *h = calloc(FLEET, sizeof(*h));

	assert_non_null(h);
	for (size_t i = 0; i < FLEET; i++) {
		char name[SCHED_NAME_MAX];

		snprintf(name, sizeof(name), "h%05zu", i);
		mkhost(&h[i], name, 16, memory_mib, 100);
		h[i].id = (int64_t)i + 1;
	}
	return h;
}

static void
test_sample_all_fit(void **state)
{
	struct sched_host *h = fleet(16384);
	struct sched_request r;

	(void)state;
	mkreq(&r, 1, 1024, 1);
	/* the rotating start moves between picks: try several */
	for (int k = 0; k < 7; k++) {
		int i = sched_pick(h, FLEET, &r, NULL);
		struct sched_verdict v;

		assert_true(i >= 0 && i < FLEET);
		v = judge(&h[i], &r);
		assert_fits(&v);
	}
	/* half the fleet is in maintenance: a pick is always from the rest */
	for (size_t i = 0; i < FLEET; i += 2)
		h[i].state = SCHED_MAINTENANCE;
	for (int k = 0; k < 7; k++) {
		int i = sched_pick(h, FLEET, &r, NULL);

		assert_true(i >= 0 && i < FLEET);
		assert_int_equal(i % 2, 1);
	}
	free(h);
}

static void
test_sample_finds_the_only_fit(void **state)
{
	static const size_t where[] = { 0, 7777, FLEET - 1 };
	struct sched_host *h = fleet(512);
	struct sched_request r;

	(void)state;
	mkreq(&r, 1, 1024, 1);
	assert_int_equal(sched_pick(h, FLEET, &r, NULL), -1);
	for (size_t w = 0; w < NELEM(where); w++) {
		h[where[w]].memory_mib = 8192;
		/* wherever the scan starts, it goes on to the end */
		for (int k = 0; k < 5; k++)
			assert_int_equal(sched_pick(h, FLEET, &r, NULL),
			    (int)where[w]);
		h[where[w]].memory_mib = 512;
	}
	/* fewer fits than the sample wants: still found, still the best */
	for (size_t i = 100; i < 110; i++)
		h[i].memory_mib = 2048 + (int64_t)i;
	for (int k = 0; k < 5; k++)
		assert_int_equal(sched_pick(h, FLEET, &r, NULL), 109);
	free(h);
}

static void
test_sample_explicit_host(void **state)
{
	struct sched_host *h = fleet(16384);
	struct sched_request r;

	(void)state;
	mkreq(&r, 1, 1024, 1);
	r.host = "h09998";
	assert_int_equal(sched_pick(h, FLEET, &r, NULL), 9998);
	free(h);
}

static void
test_sample_with_verdicts_judges_all(void **state)
{
	struct sched_host *h = fleet(16384);
	struct sched_verdict *v = calloc(FLEET, sizeof(*v));
	struct sched_request r;
	size_t fit = 0;

	(void)state;
	assert_non_null(v);
	mkreq(&r, 1, 1024, 1);
	for (size_t i = 0; i < FLEET; i += 3)
		h[i].state = SCHED_UNREACHABLE;
	h[4243].memory_mib = 32768;            /* the one best host */
	stale(v, FLEET);
	assert_int_equal(sched_pick(h, FLEET, &r, v), 4243);
	for (size_t i = 0; i < FLEET; i++) {
		if (i % 3 == 0) {
			assert_refused(&v[i], "state");
			continue;
		}
		assert_score_is_sum(&v[i]);
		fit++;
	}
	assert_int_equal(fit, FLEET - (FLEET + 2) / 3);
	free(v);
	free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_arithmetic),
		cmocka_unit_test(test_free_caps_never_negative),
		cmocka_unit_test(test_filter_order),
		cmocka_unit_test(test_judge_resize),
		cmocka_unit_test(test_filter_state),
		cmocka_unit_test(test_filter_arch),
		cmocka_unit_test(test_filter_domain_type),
		cmocka_unit_test(test_filter_vcpus),
		cmocka_unit_test(test_filter_vcpus_fraction_why),
		cmocka_unit_test(test_filter_memory),
		cmocka_unit_test(test_filter_disk),
		cmocka_unit_test(test_filter_labels),
		cmocka_unit_test(test_filter_strict_anti_affinity),
		cmocka_unit_test(test_filter_strict_affinity),
		cmocka_unit_test(test_explicit_host),
		cmocka_unit_test(test_force),
		cmocka_unit_test(test_spread_most_free_memory),
		cmocka_unit_test(test_pack_tightest_fit),
		cmocka_unit_test(test_tie_fewer_vms_then_name),
		cmocka_unit_test(test_soft_affinity),
		cmocka_unit_test(test_soft_anti_affinity),
		cmocka_unit_test(test_image_preference),
		cmocka_unit_test(test_soft_group_outweighs_big_memory_difference),
		cmocka_unit_test(test_none_fits_every_verdict),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_no_hosts),
		cmocka_unit_test(test_sample_all_fit),
		cmocka_unit_test(test_sample_finds_the_only_fit),
		cmocka_unit_test(test_sample_explicit_host),
		cmocka_unit_test(test_sample_with_verdicts_judges_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
