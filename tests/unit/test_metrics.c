/*
 * test_metrics.c - unit tests of common/promtext.c (the Prometheus text
 * format: escaping, histograms, sorted and stable output, values) and
 * common/metrics.c (series found by label values, counts exact under
 * many threads, histograms' buckets, the hooks' labels).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metrics.h"
#include "common/promtext.h"

/* The text of pt (freed), which must equal want. */
static void
assert_text(struct promtext *pt, const char *want)
{
	size_t len;
	char *text = promtext_finish(pt, &len);

	assert_non_null(text);
	assert_int_equal(len, strlen(text));
	if (strcmp(text, want) != 0)
		fprintf(stderr, "got:\n%s\nwant:\n%s\n", text, want);
	assert_string_equal(text, want);
	free(text);
}

static void
test_escaping(void **state)
{
	struct promtext *pt = promtext_new();

	(void)state;
	promtext_family(pt, "hangar_vm_info", PT_GAUGE,
	    "A help with a \\ backslash\nand a newline \"quoted\".");
	promtext_sample(pt, "hangar_vm_info", (const char *[]){ "vm",
	    "we\"ird\\na\nme", "host", "", NULL }, 1);
	assert_text(pt,
	    "# HELP hangar_vm_info A help with a \\\\ backslash\\nand a "
	    "newline \"quoted\".\n"
	    "# TYPE hangar_vm_info gauge\n"
	    "hangar_vm_info{vm=\"we\\\"ird\\\\na\\nme\",host=\"\"} 1\n");
}

static void
test_histogram(void **state)
{
	static const double bounds[] = { 0.1, 1, 10 };
	const uint64_t counts[] = { 2, 0, 3 };   /* 1 more above 10 */
	struct promtext *pt = promtext_new();

	(void)state;
	promtext_family(pt, "x_seconds", PT_HISTOGRAM, "h");
	promtext_histogram(pt, "x_seconds", (const char *[]){ "k", "a",
	    NULL }, bounds, counts, 3, 41.5, 6);
	promtext_histogram(pt, "x_seconds", NULL, bounds, counts, 3, 0.25, 5);
	assert_text(pt,
	    "# HELP x_seconds h\n"
	    "# TYPE x_seconds histogram\n"
	    "x_seconds_bucket{le=\"0.1\"} 2\n"
	    "x_seconds_bucket{le=\"1\"} 2\n"
	    "x_seconds_bucket{le=\"10\"} 5\n"
	    "x_seconds_bucket{le=\"+Inf\"} 5\n"
	    "x_seconds_sum 0.25\n"
	    "x_seconds_count 5\n"
	    "x_seconds_bucket{k=\"a\",le=\"0.1\"} 2\n"
	    "x_seconds_bucket{k=\"a\",le=\"1\"} 2\n"
	    "x_seconds_bucket{k=\"a\",le=\"10\"} 5\n"
	    "x_seconds_bucket{k=\"a\",le=\"+Inf\"} 6\n"
	    "x_seconds_sum{k=\"a\"} 41.5\n"
	    "x_seconds_count{k=\"a\"} 6\n");
}

/* The same samples in two orders give the same bytes, sorted. */
static void
test_sorted_stable(void **state)
{
	static const char *const vms[] = { "web2", "db", "web10", "a\"b" };
	char *text[2];
	size_t len[2];

	(void)state;
	for (int round = 0; round < 2; round++) {
		struct promtext *pt = promtext_new();

		promtext_family(pt, "z_total", PT_COUNTER, "z");
		promtext_family(pt, "a_bytes", PT_GAUGE, "a");
		for (int i = 0; i < 4; i++) {
			int k = round ? 3 - i : i;

			promtext_sample(pt, "z_total", (const char *[]){ "vm",
			    vms[k], NULL }, k);
			promtext_sample(pt, "a_bytes", (const char *[]){ "vm",
			    vms[k], NULL }, 1e12 + k);
		}
		/* a sample of an undeclared family is dropped */
		promtext_sample(pt, "nope", NULL, 1);
		text[round] = promtext_finish(pt, &len[round]);
		assert_non_null(text[round]);
	}
	assert_int_equal(len[0], len[1]);
	assert_string_equal(text[0], text[1]);
	assert_string_equal(text[0],
	    "# HELP a_bytes a\n# TYPE a_bytes gauge\n"
	    "a_bytes{vm=\"a\\\"b\"} 1000000000003\n"
	    "a_bytes{vm=\"db\"} 1000000000001\n"
	    "a_bytes{vm=\"web10\"} 1000000000002\n"
	    "a_bytes{vm=\"web2\"} 1000000000000\n"
	    "# HELP z_total z\n# TYPE z_total counter\n"
	    "z_total{vm=\"a\\\"b\"} 3\n"
	    "z_total{vm=\"db\"} 1\n"
	    "z_total{vm=\"web10\"} 2\n"
	    "z_total{vm=\"web2\"} 0\n");
	free(text[0]);
	free(text[1]);
}

/* Far more than the arena's first 64 KiB: it grows under the lines. */
static void
test_big(void **state)
{
	struct promtext *pt = promtext_new();
	char vm[32], *text, *p;
	size_t len, lines = 0;

	(void)state;
	promtext_family(pt, "hangar_vm_cpu_seconds_total", PT_COUNTER, "c");
	promtext_family(pt, "hangar_vm_vcpus", PT_GAUGE, "v");
	for (int i = 0; i < 20000; i++) {
		snprintf(vm, sizeof(vm), "vm-%05d", i);
		promtext_sample(pt, "hangar_vm_cpu_seconds_total",
		    (const char *[]){ "vm", vm, NULL }, i + 0.5);
		promtext_sample(pt, "hangar_vm_vcpus",
		    (const char *[]){ "vm", vm, NULL }, 2);
	}
	text = promtext_finish(pt, &len);
	assert_non_null(text);
	for (p = text; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	assert_int_equal(lines, 40000 + 4);
	/* sorted: the last counter comes right before the gauges */
	assert_non_null(strstr(text, "hangar_vm_cpu_seconds_total{vm="
	    "\"vm-19999\"} 19999.5\n# HELP hangar_vm_vcpus v\n"));
	assert_non_null(strstr(text, "hangar_vm_vcpus{vm=\"vm-12345\"} 2\n"));
	assert_non_null(strstr(text, "# TYPE hangar_vm_vcpus gauge\n"
	    "hangar_vm_vcpus{vm=\"vm-00000\"} 2\n"));
	free(text);
}

static void
test_values(void **state)
{
	char b[32];

	(void)state;
	promtext_value(0, b);
	assert_string_equal(b, "0");
	promtext_value(-3, b);
	assert_string_equal(b, "-3");
	promtext_value(0.1, b);
	assert_string_equal(b, "0.1");
	promtext_value(1.0 / 3, b);
	assert_true(strtod(b, NULL) == 1.0 / 3);
	promtext_value(1e300, b);
	assert_true(strtod(b, NULL) == 1e300);
	promtext_value(18446744073709551615.0, b);
	assert_true(strtod(b, NULL) == 18446744073709551615.0);
	promtext_value(INFINITY, b);
	assert_string_equal(b, "+Inf");
	promtext_value(-INFINITY, b);
	assert_string_equal(b, "-Inf");
	promtext_value(NAN, b);
	assert_string_equal(b, "NaN");
}

static const double test_bounds[] = { 1, 2 };
static struct metrics_family test_hist = {
	.name = "t_seconds", .help = "t", .type = PT_HISTOGRAM,
	.labels = { "k", NULL }, .bounds = test_bounds, .nbounds = 2,
	.mu = PTHREAD_MUTEX_INITIALIZER,
};
static struct metrics_family test_count = {
	.name = "t_total", .help = "t", .type = PT_COUNTER,
	.labels = { "a", "b", NULL }, .mu = PTHREAD_MUTEX_INITIALIZER,
};

#define THREADS 8
#define ADDS 20000

static void *
adder(void *arg)
{
	char v[8];

	snprintf(v, sizeof(v), "%d", (int)(intptr_t)arg % 3);
	for (int i = 0; i < ADDS; i++) {
		metrics_add(&test_count, (const char *[]){ "x", v }, 1);
		metrics_add(&test_hist, (const char *[]){ "all" }, i % 3);
	}
	return NULL;
}

/* Counts are exact with many threads adding to the same series. */
static void
test_threads(void **state)
{
	pthread_t t[THREADS];
	struct promtext *pt = promtext_new();
	char *text, want[256];
	size_t len;

	(void)state;
	for (intptr_t i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, adder,
		    (void *)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	metrics_write(&test_count, pt);
	metrics_write(&test_hist, pt);
	text = promtext_finish(pt, &len);
	assert_non_null(text);
	/* threads 0,3,6 -> "0"; 1,4,7 -> "1"; 2,5 -> "2" */
	assert_non_null(strstr(text, "t_total{a=\"x\",b=\"0\"} 60000\n"));
	assert_non_null(strstr(text, "t_total{a=\"x\",b=\"1\"} 60000\n"));
	assert_non_null(strstr(text, "t_total{a=\"x\",b=\"2\"} 40000\n"));
	/* i % 3: 0 and 1 are <= 1, 2 is <= 2 */
	snprintf(want, sizeof(want),
	    "t_seconds_bucket{k=\"all\",le=\"1\"} %d\n"
	    "t_seconds_bucket{k=\"all\",le=\"2\"} %d\n"
	    "t_seconds_bucket{k=\"all\",le=\"+Inf\"} %d\n",
	    THREADS * (ADDS / 3 * 2 + 2), THREADS * ADDS, THREADS * ADDS);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "t_seconds_count{k=\"all\"} %d\n",
	    THREADS * ADDS);
	assert_non_null(strstr(text, want));
	free(text);
}

/* The hooks: a client's odd method is not a label; routes are. */
static void
test_hooks(void **state)
{
	struct promtext *pt = promtext_new();
	int64_t t0 = metrics_now_ns();
	char *text;
	size_t len;

	(void)state;
	metrics_reset_all();
	metrics_api_request("GET", "/v1/vms/*", 200, t0);
	metrics_api_request("GET", "/v1/vms/*", 200, t0);
	metrics_api_request("BREW", NULL, 404, t0);
	metrics_op_done("create", "succeeded", 1.5);
	metrics_op_done("create", "failed", -1);
	metrics_event("vm.started");
	metrics_store_commit(true, t0);
	metrics_write_all(pt);
	text = promtext_finish(pt, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "hangar_api_requests_total{method=\"GET\","
	    "route=\"/v1/vms/*\",code=\"200\"} 2\n"));
	assert_non_null(strstr(text, "hangar_api_requests_total{method="
	    "\"OTHER\",route=\"(none)\",code=\"404\"} 1\n"));
	assert_null(strstr(text, "BREW"));
	assert_non_null(strstr(text, "hangar_api_request_duration_seconds_"
	    "count{method=\"GET\",route=\"/v1/vms/*\"} 2\n"));
	assert_non_null(strstr(text, "hangar_operations_total{kind=\"create\","
	    "outcome=\"failed\"} 1\n"));
	assert_non_null(strstr(text, "hangar_operation_duration_seconds_sum"
	    "{kind=\"create\"} 1.5\n"));
	assert_non_null(strstr(text, "hangar_operation_duration_seconds_count"
	    "{kind=\"create\"} 1\n"));
	assert_non_null(strstr(text, "hangar_events_total{type=\"vm.started\"}"
	    " 1\n"));
	assert_non_null(strstr(text, "hangar_store_commit_duration_seconds_"
	    "count{durability=\"durable\"} 1\n"));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_sorted_stable),
		cmocka_unit_test(test_big),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
