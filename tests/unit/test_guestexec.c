/*
 * test_guestexec.c - reading guest-exec replies and cloud-init's status
 * (src/common/guestexec.c): real replies of qemu-guest-agent 7.2 and
 * cloud-init 22.4 (Debian 12), and hostile ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/guestexec.h"

static void
test_pid(void **state)
{
	long long pid = 0;

	(void)state;
	assert_int_equal(guestexec_pid("{\"return\": {\"pid\": 1234}}", &pid),
	    0);
	assert_int_equal(pid, 1234);
	assert_int_equal(guestexec_pid("{\"return\": {\"pid\": 0}}", &pid), -1);
	assert_int_equal(guestexec_pid("{\"return\": {\"pid\": \"7\"}}",
	    &pid), -1);
	assert_int_equal(guestexec_pid("{\"return\": 5}", &pid), -1);
	assert_int_equal(guestexec_pid("{\"error\": {}}", &pid), -1);
	assert_int_equal(guestexec_pid("not json", &pid), -1);
	assert_int_equal(guestexec_pid(NULL, &pid), -1);
	/* a guest repeating a key does not get to pick */
	assert_int_equal(guestexec_pid("{\"return\": {\"pid\": 1, \"pid\": 2}}",
	    &pid), -1);
}

static void
test_status(void **state)
{
	struct guestexec_status st;

	(void)state;
	/* "status: done\n" */
	assert_int_equal(guestexec_status_parse("{\"return\": {\"exitcode\": 0,"
	    " \"out-data\": \"c3RhdHVzOiBkb25lCg==\", \"exited\": true}}", &st),
	    0);
	assert_true(st.exited);
	assert_int_equal(st.exitcode, 0);
	assert_string_equal(st.out, "status: done\n");
	assert_int_equal(st.out_len, 13);
	assert_false(st.out_truncated);
	/* still running: no exit code, no output yet */
	assert_int_equal(guestexec_status_parse("{\"return\": {\"exited\": "
	    "false}}", &st), 0);
	assert_false(st.exited);
	assert_int_equal(st.out_len, 0);
	/* killed by a signal */
	assert_int_equal(guestexec_status_parse("{\"return\": {\"exited\": "
	    "true, \"signal\": 9}}", &st), 0);
	assert_int_equal(st.exitcode, -1);
	/* not base64, not a string, no "exited", not an object */
	assert_int_equal(guestexec_status_parse("{\"return\": {\"exited\": "
	    "true, \"out-data\": \"@@@@\"}}", &st), -1);
	assert_int_equal(guestexec_status_parse("{\"return\": {\"exited\": "
	    "true, \"out-data\": 5}}", &st), -1);
	assert_int_equal(guestexec_status_parse("{\"return\": {}}", &st), -1);
	assert_int_equal(guestexec_status_parse("[]", &st), -1);
	/* an exit code out of range is no exit code */
	assert_int_equal(guestexec_status_parse("{\"return\": {\"exited\": "
	    "true, \"exitcode\": 99999}}", &st), 0);
	assert_int_equal(st.exitcode, -1);
}

static void
test_status_long_output(void **state)
{
	static char reply[16384];
	struct guestexec_status st;
	size_t n;

	(void)state;
	/* 6000 'A's base64 = "QUFB" x 2000: cut at GUESTEXEC_OUT_MAX */
	n = (size_t)snprintf(reply, sizeof(reply), "{\"return\": {\"exited\":"
	    " true, \"exitcode\": 0, \"out-data\": \"");
	for (int i = 0; i < 2000; i++, n += 4)
		memcpy(reply + n, "QUFB", 4);
	snprintf(reply + n, sizeof(reply) - n, "\"}}");
	assert_int_equal(guestexec_status_parse(reply, &st), 0);
	assert_int_equal(st.out_len, GUESTEXEC_OUT_MAX);
	assert_true(st.out_truncated);
	assert_int_equal(st.out[GUESTEXEC_OUT_MAX], '\0');
	assert_int_equal(st.out[0], 'A');
}

static void
test_cloudinit_state(void **state)
{
	(void)state;
	assert_string_equal(guestexec_cloudinit_state("status: done\n", 0),
	    "done");
	assert_string_equal(guestexec_cloudinit_state("\nstatus: running\n",
	    0), "running");
	assert_string_equal(guestexec_cloudinit_state("status: not run\n",
	    0), "pending");
	assert_string_equal(guestexec_cloudinit_state("status: error\n", 1),
	    "error");
	/* 23.x: more lines; a done with recoverable errors exits 2 */
	assert_string_equal(guestexec_cloudinit_state("status: done\n"
	    "extended_status: degraded done\nboot_status_code: x\n", 2),
	    "done");
	assert_string_equal(guestexec_cloudinit_state("status: done\n", 1),
	    "error");
	assert_string_equal(guestexec_cloudinit_state("status: disabled\n",
	    0), "error");
	assert_string_equal(guestexec_cloudinit_state("status: done  \r\n",
	    0), "done");
	assert_null(guestexec_cloudinit_state("", 0));
	assert_null(guestexec_cloudinit_state("status: maybe\n", 0));
	assert_null(guestexec_cloudinit_state("xstatus: done\n", 0));
	assert_null(guestexec_cloudinit_state("status: done-ish\n", 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pid),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_status_long_output),
		cmocka_unit_test(test_cloudinit_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
