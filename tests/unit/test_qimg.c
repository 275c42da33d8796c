/*
 * test_qimg.c - unit tests of daemon/qimg.c, qemu-img as a bounded child:
 * a clean exit with its stdout, a failure reported with its stderr's
 * first line (422 naming "file"), a tick that stops it (ERR_CONFLICT),
 * the wall-clock timeout, and RLIMIT_AS really set in the child.
 *
 * Needs qemu-img (tests/run's hosts have it); each test skips without.
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
#include "daemon/qimg.h"

static bool
have_qemu_img(void)
{
	return access("/usr/bin/qemu-img", X_OK) == 0 ||
	    access("/usr/local/bin/qemu-img", X_OK) == 0;
}

static void
test_ok_stdout(void **state)
{
	const char *argv[] = { "--version", NULL };
	char out[256];
	struct qimg_run q = { argv, 10, 10, NULL, NULL, out, sizeof(out), 0 };

	(void)state;
	if (!have_qemu_img())
		skip();
	assert_int_equal(qimg_run(&q), 0);
	assert_non_null(strstr(out, "qemu-img version"));
}

static void
test_failure_stderr(void **state)
{
	const char *argv[] = { "info", "-f", "qcow2",
	    "/nonexistent/hangar-test.qcow2", NULL };
	struct qimg_run q = { argv, 10, 10, NULL, NULL, NULL, 0, 0 };

	(void)state;
	if (!have_qemu_img())
		skip();
	assert_int_equal(qimg_run(&q), -1);
	assert_int_equal(err_last()->code, ERR_UNPROCESSABLE);
	assert_string_equal(err_last()->field, "file");
	assert_non_null(strstr(err_last()->msg, "qemu-img failed on this "
	    "image: "));
	assert_non_null(strstr(err_last()->msg, "hangar-test.qcow2"));
	assert_null(strchr(err_last()->msg, '\n'));
}

/* A long-running qemu-img: a benchmark of many requests on a temp file. */
static char bench_file[64];

static int
bench_setup(void **state)
{
	int fd;

	(void)state;
	snprintf(bench_file, sizeof(bench_file), "/tmp/hangar-qimg-XXXXXX");
	if ((fd = mkstemp(bench_file)) < 0 || ftruncate(fd, 512 << 20) < 0)
		return -1;
	close(fd);
	return 0;
}

static int
bench_teardown(void **state)
{
	(void)state;
	unlink(bench_file);
	return 0;
}

static int ticks;

static bool
stop_after_two(void *arg)
{
	(void)arg;
	return ++ticks > 2;
}

static void
test_tick_stops(void **state)
{
	const char *argv[] = { "bench", "-c", "1000000000", "-f", "raw",
	    bench_file, NULL };
	struct qimg_run q = { argv, 60, 60, stop_after_two, NULL, NULL, 0, 0 };

	(void)state;
	if (!have_qemu_img())
		skip();
	ticks = 0;
	assert_int_equal(qimg_run(&q), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_int_equal(ticks, 3);
}

static void
test_timeout(void **state)
{
	const char *argv[] = { "bench", "-c", "1000000000", "-f", "raw",
	    bench_file, NULL };
	struct qimg_run q = { argv, 60, 1, NULL, NULL, NULL, 0, 0 };

	(void)state;
	if (!have_qemu_img())
		skip();
	assert_int_equal(qimg_run(&q), -1);
	assert_int_equal(err_last()->code, ERR_UNPROCESSABLE);
	assert_non_null(strstr(err_last()->msg, "longer than 1 s"));
}

/*
 * RLIMIT_AS is set in the child: a 400 MiB buffer runs under the default
 * limit and fails under one of 256 MiB.
 */
static void
test_memory_limit(void **state)
{
	const char *argv[] = { "bench", "-c", "1", "-s", "400M", "-f", "raw",
	    bench_file, NULL };
	struct qimg_run q = { argv, 10, 10, NULL, NULL, NULL, 0, 0 };

	(void)state;
	if (!have_qemu_img())
		skip();
	assert_int_equal(qimg_run(&q), 0);
	q.as_bytes = 256 << 20;
	assert_int_equal(qimg_run(&q), -1);
	assert_int_equal(err_last()->code, ERR_UNPROCESSABLE);
	/* aborted, or it said so itself, depending on where it ran out */
	if (strstr(err_last()->msg, "killed") == NULL &&
	    strstr(err_last()->msg, "allocate") == NULL)
		fail_msg("not a memory failure: %s", err_last()->msg);
}

static void
test_cpu_for(void **state)
{
	(void)state;
	assert_int_equal(qimg_cpu_for(0), 120);
	assert_int_equal(qimg_cpu_for(1ULL << 30), 180);
	assert_int_equal(qimg_cpu_for(10ULL << 30), 720);
	assert_int_equal(qimg_cpu_for(UINT64_MAX), 86400);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_stdout),
		cmocka_unit_test(test_failure_stderr),
		cmocka_unit_test(test_tick_stops),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_memory_limit),
		cmocka_unit_test(test_cpu_for),
	};

	return cmocka_run_group_tests(tests, bench_setup, bench_teardown);
}
