/*
 * test_cli_output.c - unit tests of the hangar client's printing and
 * problem+json reading (clients/output.c, clients/problem.c) and of its
 * column tables (clients/columns.c).
 *
 * The client is its own program, not part of libhangar.a, so its pure
 * files are compiled in here directly and cli_fail() is stubbed.
 *
 * Golden files: tests/golden/cli/NAME.json holds a list reply
 * ({"KEY":[...]}) for vms, hosts, groups and operations: it is printed as
 * `-o table` and compared with NAME.table, and each of its elements as
 * `key: value` lines (a blank line between) compared with NAME.show.
 * place-*.json hold placement replies, printed as `hangar place` does
 * (place-*.table); group-show.json a group with members, printed as
 * `hangar group show` does (group-show.show).  Run with
 * HANGAR_GOLDEN_UPDATE=1 to rewrite the expected files, then review them
 * as a diff.  The directory is
 * tests/golden/cli from the current directory, or $HANGAR_GOLDEN_DIR.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../clients/columns.c"
#include "../../clients/output.c"
#include "../../clients/problem.c"

static char test_msg[1024];
static enum cli_exit test_code;

/* The client's error slot, stubbed: remember what was reported. */
int
cli_fail(enum cli_exit code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(test_msg, sizeof(test_msg), fmt, ap);
	va_end(ap);
	test_code = code;
	return -1;
}

/* output_cell of the JSON text js (NULL: a missing member). */
static const char *
test_cell(const char *js, enum output_unit unit, size_t len)
{
	static char buf[OUTPUT_CELL_MAX];
	json_t *v = NULL;

	assert_true(len <= sizeof(buf));
	if (js != NULL)
		assert_non_null(v = json_loads(js, JSON_DECODE_ANY, NULL));
	output_cell(v, unit, buf, len);
	json_decref(v);
	return buf;
}

static void
test_output_cell(void **state)
{
	(void)state;
	assert_string_equal(test_cell(NULL, OUTPUT_TEXT, 64), "-");
	assert_string_equal(test_cell("null", OUTPUT_TEXT, 64), "-");
	assert_string_equal(test_cell("\"web1\"", OUTPUT_TEXT, 64), "web1");
	assert_string_equal(test_cell("64", OUTPUT_MIB, 64), "64MiB");
	assert_string_equal(test_cell("10", OUTPUT_GIB, 64), "10GiB");
	assert_string_equal(test_cell("3", OUTPUT_TEXT, 64), "3");
	assert_string_equal(test_cell("true", OUTPUT_TEXT, 64), "true");
	assert_string_equal(test_cell("false", OUTPUT_TEXT, 64), "false");
	assert_string_equal(test_cell("1.5", OUTPUT_TEXT, 64), "1.5");
	/* Reals read like numbers, not like %g. */
	assert_string_equal(test_cell("4.0", OUTPUT_TEXT, 64), "4");
	assert_string_equal(test_cell("1048576.0", OUTPUT_TEXT, 64),
	    "1048576");
	assert_string_equal(test_cell("-0.0", OUTPUT_TEXT, 64), "0");
	assert_string_equal(test_cell("0.1", OUTPUT_TEXT, 64), "0.1");
	assert_string_equal(test_cell("4300.799999999999", OUTPUT_TEXT, 64),
	    "4300.8");
	assert_string_equal(test_cell("{\"a\":[1,2]}", OUTPUT_TEXT, 64),
	    "{\"a\":[1,2]}");
	/* Control characters cannot reach the terminal. */
	assert_string_equal(test_cell("\"a\\u001b[31mb\\r\\n\\u007f\"",
	    OUTPUT_TEXT, 64), "a?[31mb???");
	/* A value that fits exactly is kept; a longer one ends in "...". */
	assert_string_equal(test_cell("\"abcdefg\"", OUTPUT_TEXT, 8),
	    "abcdefg");
	assert_string_equal(test_cell("\"abcdefgh\"", OUTPUT_TEXT, 8),
	    "abcd...");
	assert_string_equal(test_cell("\"abcdefgh\"", OUTPUT_TEXT, 3), "..");
	assert_string_equal(test_cell("\"abcdefgh\"", OUTPUT_TEXT, 1), "");
}

static void
test_output_units(void **state)
{
	(void)state;
	/* free/capacity of a HOST's resources member */
	assert_string_equal(test_cell("{\"physical\":2.0,\"capacity\":7.0,"
	    "\"free\":4.0}", OUTPUT_FREE_CAP, 64), "4/7");
	assert_string_equal(test_cell("{\"capacity\":3.5,\"free\":2}",
	    OUTPUT_FREE_CAP, 64), "2/3.5");
	assert_string_equal(test_cell(NULL, OUTPUT_FREE_CAP, 64), "-");
	assert_string_equal(test_cell("{\"free\":1}", OUTPUT_FREE_CAP, 64),
	    "{\"free\":1}");
	/* labels */
	assert_string_equal(test_cell("{}", OUTPUT_LABELS, 64), "-");
	assert_string_equal(test_cell("{\"rack\":\"a\",\"zone\":\"eu-1\"}",
	    OUTPUT_LABELS, 64), "rack=a,zone=eu-1");
	assert_string_equal(test_cell("{\"n\":1,\"k\\u001b\":\"v\\r\"}",
	    OUTPUT_LABELS, 64), "n=1,k?=v?");
	assert_string_equal(test_cell("{\"rack\":\"abcdefgh\"}",
	    OUTPUT_LABELS, 8), "rack...");
	assert_string_equal(test_cell(NULL, OUTPUT_LABELS, 64), "-");
}

/* One row of rows (JSON text) under cols, as output_table prints it. */
static char *
test_table(const char *rows, const struct output_col *cols, size_t ncols)
{
	json_t *v;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	assert_non_null(v = json_loads(rows, 0, NULL));
	assert_non_null(fp = open_memstream(&buf, &len));
	assert_int_equal(output_table(fp, v, cols, ncols), 0);
	assert_int_equal(fclose(fp), 0);
	json_decref(v);
	return buf;
}

static void
test_output_paths(void **state)
{
	static const struct output_col cols[] = {
		{ "A", "a.b.c", OUTPUT_MIB },
		{ "B", "a.x", OUTPUT_TEXT },
		{ "HOST", NULL, OUTPUT_CHOSEN },
		{ "V", NULL, OUTPUT_VERDICT },
		{ "T", NULL, OUTPUT_TEXT },
	};
	char *got;

	(void)state;
	/* Dotted paths reach in; a missing step, or a non-object, is "-". */
	got = test_table("[{\"a\":{\"b\":{\"c\":64}},\"name\":\"h1\","
	    "\"chosen\":true,\"fits\":true},"
	    "{\"a\":{\"b\":1,\"x\":\"y\"},\"name\":\"h2\",\"fits\":false,"
	    "\"filter\":\"memory\"},"
	    "{\"fits\":false},7]", cols, sizeof(cols) / sizeof(cols[0]));
	assert_string_equal(got,
	    "A       B   HOST   V           T\n"
	    "64MiB   -   * h1   fits        -\n"
	    "-       y     h2   no:memory   -\n"
	    "-       -     -    no:?        -\n"
	    "-       -   -      -           -\n");
	free(got);
}

static void
test_output_sanitize(void **state)
{
	char s[] = "ok\033]0;title\007 end\t";

	(void)state;
	output_sanitize(s);
	assert_string_equal(s, "ok?]0;title? end?");
}

static void
test_output_parse_format(void **state)
{
	enum output_format f = OUTPUT_TABLE;

	(void)state;
	assert_int_equal(output_parse_format("json", &f), 0);
	assert_int_equal(f, OUTPUT_JSON);
	assert_int_equal(output_parse_format("table", &f), 0);
	assert_int_equal(f, OUTPUT_TABLE);
	assert_int_equal(output_parse_format("yaml", &f), -1);
	assert_int_equal(output_parse_format("", &f), -1);
}

/* problem_message of the JSON text js (NULL: no body) with status. */
static const char *
test_problem(const char *js, long status)
{
	static char buf[256];
	json_t *p = NULL;

	if (js != NULL)
		assert_non_null(p = json_loads(js, 0, NULL));
	problem_message(p, status, buf, sizeof(buf));
	json_decref(p);
	return buf;
}

static void
test_problem_message(void **state)
{
	(void)state;
	assert_string_equal(test_problem("{\"type\":\"urn:hangar:problem:"
	    "conflict\",\"title\":\"Conflict\",\"status\":409,\"detail\":"
	    "\"vm 'web1' is stopped; pause needs it running\"}", 409),
	    "vm 'web1' is stopped; pause needs it running");
	assert_string_equal(test_problem("{\"title\":\"Bad Request\","
	    "\"field\":\"vcpus\"}", 400), "Bad Request (field 'vcpus')");
	assert_string_equal(test_problem("{\"title\":\"Conflict\","
	    "\"detail\":\"\"}", 409), "Conflict");
	assert_string_equal(test_problem("{\"detail\":42}", 500),
	    "the server answered HTTP 500");
	assert_string_equal(test_problem(NULL, 502),
	    "the server answered HTTP 502");
	assert_string_equal(test_problem("[1]", 0),
	    "the server gave no reason");
}

static void
test_problem_retryable(void **state)
{
	json_t *yes = json_pack("{s:b}", "retryable", 1);
	json_t *no = json_pack("{s:b}", "retryable", 0);

	(void)state;
	assert_true(problem_retryable(yes, 409));
	assert_false(problem_retryable(no, 503));
	assert_true(problem_retryable(NULL, 503));
	assert_true(problem_retryable(NULL, 504));
	assert_false(problem_retryable(NULL, 500));
	assert_false(problem_retryable(NULL, 404));
	json_decref(yes);
	json_decref(no);
}

static void
test_output_errors(void **state)
{
	json_t *v = json_pack("{s:i}", "vms", 1);
	FILE *fp = fopen("/dev/null", "w");

	(void)state;
	assert_non_null(v);
	assert_non_null(fp);
	test_msg[0] = '\0';
	assert_int_equal(output_list(fp, OUTPUT_TABLE, v, "vms", columns_vm,
	    columns_nvm), -1);
	assert_int_equal(test_code, CLI_ERROR);
	assert_string_equal(test_msg, "the reply has no \"vms\" list");
	assert_int_equal(output_show(fp, json_array_get(v, 0)), -1);
	assert_int_equal(output_list(fp, OUTPUT_JSON, v, "vms", columns_vm,
	    columns_nvm), 0);
	fclose(fp);
	json_decref(v);
}

/* The whole of a small file, or NULL if it cannot be read. */
static char *
test_slurp(const char *path)
{
	FILE *fp;
	char *buf;
	long n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == -1 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) == -1 ||
	    (buf = malloc((size_t)n + 1)) == NULL) {
		fclose(fp);
		return NULL;
	}
	if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		free(buf);
		fclose(fp);
		return NULL;
	}
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* Compare got with the golden file dir/name, or rewrite it if asked. */
static void
test_golden(const char *dir, const char *name, const char *got)
{
	const char *update = getenv("HANGAR_GOLDEN_UPDATE");
	char path[1024];
	char *want;
	FILE *fp;
	int n;

	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	if (update != NULL && strcmp(update, "1") == 0) {
		assert_non_null(fp = fopen(path, "w"));
		assert_int_equal(fputs(got, fp) == EOF, 0);
		assert_int_equal(fclose(fp), 0);
		return;
	}
	if ((want = test_slurp(path)) == NULL)
		fail_msg("cannot read %s (HANGAR_GOLDEN_UPDATE=1 writes it)",
		    path);
	if (strcmp(want, got) != 0) {
		print_error("%s differs; got:\n%s", path, got);
		free(want);
		fail();
	}
	free(want);
}

/* One golden case: NAME.json's list under key, with these columns. */
struct test_case {
	const char		*tc_name;
	const char		*tc_key;
	const struct output_col	*tc_cols;
	const size_t		*tc_ncols;
};

static void
test_golden_case(const char *dir, const struct test_case *tc)
{
	char path[1024], file[256];
	json_error_t je;
	json_t *reply, *v;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s.json", dir, tc->tc_name);
	if ((reply = json_load_file(path, 0, &je)) == NULL)
		fail_msg("%s: %s", path, je.text);

	assert_non_null(fp = open_memstream(&buf, &len));
	assert_int_equal(output_list(fp, OUTPUT_TABLE, reply, tc->tc_key,
	    tc->tc_cols, *tc->tc_ncols), 0);
	assert_int_equal(fclose(fp), 0);
	snprintf(file, sizeof(file), "%s.table", tc->tc_name);
	test_golden(dir, file, buf);
	free(buf);

	buf = NULL;
	assert_non_null(fp = open_memstream(&buf, &len));
	json_array_foreach(json_object_get(reply, tc->tc_key), i, v) {
		if (i > 0)
			fputc('\n', fp);
		assert_int_equal(output_object(fp, OUTPUT_TABLE, v), 0);
	}
	assert_int_equal(fclose(fp), 0);
	snprintf(file, sizeof(file), "%s.show", tc->tc_name);
	test_golden(dir, file, buf);
	free(buf);
	json_decref(reply);
}

/* Print NAME.json with fn and compare it with NAME.SUFFIX. */
static void
test_golden_object(const char *dir, const char *name, const char *suffix,
    int (*fn)(FILE *, const json_t *))
{
	char path[1024], file[256];
	json_error_t je;
	json_t *reply;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	if ((reply = json_load_file(path, 0, &je)) == NULL)
		fail_msg("%s: %s", path, je.text);
	assert_non_null(fp = open_memstream(&buf, &len));
	assert_int_equal(fn(fp, reply), 0);
	assert_int_equal(fclose(fp), 0);
	snprintf(file, sizeof(file), "%s.%s", name, suffix);
	test_golden(dir, file, buf);
	free(buf);
	json_decref(reply);
}

/* As `hangar place` prints a placement reply. */
static int
test_print_place(FILE *fp, const json_t *reply)
{
	return output_placement(fp, OUTPUT_TABLE, reply, columns_place,
	    columns_nplace);
}

/* As `hangar group show` prints a group. */
static int
test_print_group(FILE *fp, const json_t *reply)
{
	return output_detail(fp, OUTPUT_TABLE, reply, "members",
	    columns_member, columns_nmember);
}

static void
test_output_golden(void **state)
{
	const struct test_case cases[] = {
		{ "vms", "vms", columns_vm, &columns_nvm },
		{ "hosts", "hosts", columns_host, &columns_nhost },
		{ "groups", "groups", columns_group, &columns_ngroup },
		{ "operations", "operations", columns_op, &columns_nop },
	};
	const char *dir = getenv("HANGAR_GOLDEN_DIR");
	size_t i;

	(void)state;
	if (dir == NULL)
		dir = "tests/golden/cli";
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		test_golden_case(dir, &cases[i]);
	test_golden_object(dir, "place-fits", "table", test_print_place);
	test_golden_object(dir, "place-none", "table", test_print_place);
	test_golden_object(dir, "group-show", "show", test_print_group);
}

/* JSON output is the server's reply, whatever the printer. */
static void
test_output_json_passthrough(void **state)
{
	json_t *v = json_pack("{s:n, s:[], s:s}", "host", "hosts", "detail",
	    "none");
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	(void)state;
	assert_non_null(v);
	assert_non_null(fp = open_memstream(&buf, &len));
	assert_int_equal(output_placement(fp, OUTPUT_JSON, v, columns_place,
	    columns_nplace), 0);
	assert_int_equal(output_detail(fp, OUTPUT_JSON, v, "hosts",
	    columns_member, columns_nmember), 0);
	assert_int_equal(fclose(fp), 0);
	assert_string_equal(buf, "{\n  \"host\": null,\n  \"hosts\": [],\n"
	    "  \"detail\": \"none\"\n}\n{\n  \"host\": null,\n"
	    "  \"hosts\": [],\n  \"detail\": \"none\"\n}\n");
	free(buf);
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_cell),
		cmocka_unit_test(test_output_units),
		cmocka_unit_test(test_output_paths),
		cmocka_unit_test(test_output_sanitize),
		cmocka_unit_test(test_output_parse_format),
		cmocka_unit_test(test_problem_message),
		cmocka_unit_test(test_problem_retryable),
		cmocka_unit_test(test_output_errors),
		cmocka_unit_test(test_output_golden),
		cmocka_unit_test(test_output_json_passthrough),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
