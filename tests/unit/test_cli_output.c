/*
 * test_cli_output.c - unit tests of the hangar client's printing and
 * problem+json reading (clients/output.c, clients/migration.c,
 * clients/problem.c) and of its column tables (clients/columns.c).
 *
 * The client is its own program, not part of libhangar.a, so its pure
 * files are compiled in here directly and cli_fail() is stubbed.
 *
 * Golden files: tests/golden/cli/NAME.json holds a list reply
 * ({"KEY":[...]}) for vms, hosts, groups, operations and snapshots: it is
 * printed as `-o table` and compared with NAME.table (NAME.wide with
 * `-o wide`, NAME.yaml with `-o yaml`), and each of its
 * elements as `key: value` lines (a blank line between) compared with
 * NAME.show (so operations.show is `hangar op show` of snapshot,
 * migrate, drain and plan_execute operations, printed as output_operation()
 * does, and vms.show `hangar vm show` with a snapshot schedule).
 * place-*.json hold placement replies, printed as `hangar place` does
 * (place-*.table); group-show.json a group with members, printed as
 * `hangar group show` does (group-show.show); migrate-check*.json dry runs
 * of a migration, printed as `hangar vm migrate --check` does
 * (migrate-check*.table: all pass, some fail, no host); drain-result.json
 * and plan-result.json finished drain and plan_execute operations, printed
 * as `hangar host drain` and `hangar plan execute` print them once they
 * have waited (*-result.table); plan*.json plans, printed as `hangar plan
 * show` does (plan*.show: with moves, and with none).  events.sse is an event
 * stream as GET /v1/events sends it (one event of each family, a gap, a
 * keepalive, a frame cut off at the end); it is read by the client's SSE
 * reader (clients/sse.c) whole, in pieces of many sizes, and with CRLF
 * and CR line ends, and printed as `hangar events` prints it
 * (events.table, and events.jsonl for -o json).  Run with
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
#include "../../clients/migration.c"
#include "../../clients/problem.c"
#include "../../clients/sse.c"
#include "../../clients/yaml.c"

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
	assert_int_equal(output_parse_format("yaml", &f), 0);
	assert_int_equal(f, OUTPUT_YAML);
	assert_int_equal(output_parse_format("wide", &f), 0);
	assert_int_equal(f, OUTPUT_WIDE);
	assert_int_equal(output_parse_format("xml", &f), -1);
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

/*
 * One golden case: NAME.json's list under key, with these columns; each
 * element printed by show (NULL: output_object()).
 */
struct test_case {
	const char		*tc_name;
	const char		*tc_key;
	const struct output_col	*tc_cols;
	const size_t		*tc_ncols;
	int			(*tc_show)(FILE *, enum output_format,
				    const json_t *);
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

	/* -o wide and -o yaml of the same reply */
	buf = NULL;
	assert_non_null(fp = open_memstream(&buf, &len));
	assert_int_equal(output_list(fp, OUTPUT_WIDE, reply, tc->tc_key,
	    tc->tc_cols, *tc->tc_ncols), 0);
	assert_int_equal(fclose(fp), 0);
	snprintf(file, sizeof(file), "%s.wide", tc->tc_name);
	test_golden(dir, file, buf);
	free(buf);
	buf = NULL;
	assert_non_null(fp = open_memstream(&buf, &len));
	assert_int_equal(output_list(fp, OUTPUT_YAML, reply, tc->tc_key,
	    tc->tc_cols, *tc->tc_ncols), 0);
	assert_int_equal(fclose(fp), 0);
	snprintf(file, sizeof(file), "%s.yaml", tc->tc_name);
	test_golden(dir, file, buf);
	free(buf);

	buf = NULL;
	assert_non_null(fp = open_memstream(&buf, &len));
	json_array_foreach(json_object_get(reply, tc->tc_key), i, v) {
		if (i > 0)
			fputc('\n', fp);
		assert_int_equal((tc->tc_show != NULL ? tc->tc_show :
		    output_object)(fp, OUTPUT_TABLE, v), 0);
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

/* As `hangar vm migrate --check` prints a dry run. */
static int
test_print_checks(FILE *fp, const json_t *reply)
{
	return output_checks(fp, OUTPUT_TABLE, reply);
}

/* As `hangar host drain` and `hangar plan execute` print what they did. */
static int
test_print_moves(FILE *fp, const json_t *op)
{
	return output_moves(fp, OUTPUT_TABLE, op);
}

/* As `hangar plan show` prints a plan. */
static int
test_print_plan(FILE *fp, const json_t *plan)
{
	return output_plan(fp, OUTPUT_TABLE, plan);
}

static void
test_output_golden(void **state)
{
	const struct test_case cases[] = {
		{ "vms", "vms", columns_vm, &columns_nvm, NULL },
		{ "hosts", "hosts", columns_host, &columns_nhost, NULL },
		{ "groups", "groups", columns_group, &columns_ngroup,
		    NULL },
		{ "operations", "operations", columns_op, &columns_nop,
		    output_operation },
		{ "snapshots", "snapshots", columns_snapshot,
		    &columns_nsnapshot, NULL },
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
	test_golden_object(dir, "migrate-check", "table", test_print_checks);
	test_golden_object(dir, "migrate-check-fail", "table",
	    test_print_checks);
	test_golden_object(dir, "migrate-check-none", "table",
	    test_print_checks);
	test_golden_object(dir, "drain-result", "table", test_print_moves);
	test_golden_object(dir, "plan-result", "table", test_print_moves);
	test_golden_object(dir, "plan", "show", test_print_plan);
	test_golden_object(dir, "plan-empty", "show", test_print_plan);
}

/* output_migrate_line of the operation JSON text js, or NULL if none. */
static const char *
test_migrate_line(const char *js, size_t len)
{
	static char buf[512];
	json_t *op;
	bool drawn;

	assert_true(len <= sizeof(buf));
	assert_non_null(op = json_loads(js, 0, NULL));
	memset(buf, 'x', sizeof(buf));
	drawn = output_migrate_line(op, buf, len);
	json_decref(op);
	return drawn ? buf : NULL;
}

static void
test_migrate_bar(void **state)
{
	(void)state;
	/* 39 of 67 MiB: 58%, 7 of 12 (rounded), the pass once known */
	assert_string_equal(test_migrate_line("{\"kind\":\"migrate\","
	    "\"params\":{\"to\":\"h2\"},\"progress\":{\"data_total\":"
	    "70254592,\"data_processed\":40894464,\"iteration\":2,"
	    "\"downtime_ms\":0}}", 512),
	    "migrating to h2 [#######.....] 58% 39/67 MiB, pass 2");
	/* The start, the end, the downtime, post-copy, no destination */
	assert_string_equal(test_migrate_line("{\"kind\":\"migrate\","
	    "\"progress\":{\"data_total\":1048576,\"data_processed\":0}}",
	    512), "migrating [............] 0% 0/1 MiB");
	assert_string_equal(test_migrate_line("{\"kind\":\"migrate\","
	    "\"params\":{\"to\":\"h\\u001b2\"},\"progress\":{"
	    "\"data_total\":10485760,\"data_processed\":20971520,"
	    "\"iteration\":5,\"downtime_ms\":28,\"postcopy\":true}}", 512),
	    "migrating to h?2 [############] 100% 10/10 MiB, pass 5, "
	    "downtime 28 ms, post-copy");
	/* Nothing counted yet, another kind, no progress: no bar */
	assert_null(test_migrate_line("{\"kind\":\"migrate\",\"progress\":"
	    "{\"data_total\":0,\"data_processed\":0}}", 512));
	assert_null(test_migrate_line("{\"kind\":\"migrate\",\"progress\":"
	    "{}}", 512));
	assert_null(test_migrate_line("{\"kind\":\"drain\",\"progress\":"
	    "{\"data_total\":10,\"data_processed\":5}}", 512));
	assert_null(test_migrate_line("{\"kind\":\"migrate\"}", 512));
	/* A short buffer only shortens the line. */
	assert_string_equal(test_migrate_line("{\"kind\":\"migrate\","
	    "\"progress\":{\"data_total\":1048576,\"data_processed\":"
	    "524288}}", 16), "migrating [####");
}

/* A check's result, and what an operation acts on, in a table. */
static void
test_output_row_units(void **state)
{
	char *got;

	(void)state;
	got = test_table("[{\"name\":\"cpu\",\"pass\":true,\"reason\":\"ok\"},"
	    "{\"name\":\"machine\",\"pass\":false,\"reason\":\"no\"},"
	    "{\"name\":\"x\",\"pass\":\"maybe\"}]", columns_check,
	    columns_ncheck);
	assert_string_equal(got,
	    "CHECK     RESULT   REASON\n"
	    "cpu       pass     ok\n"
	    "machine   FAIL     no\n"
	    "x         maybe    -\n");
	free(got);
	got = test_table("[{\"id\":\"1\",\"kind\":\"stop\",\"vm\":\"web1\","
	    "\"host\":null},{\"id\":\"2\",\"kind\":\"drain\",\"vm\":null,"
	    "\"host\":\"h1\"},{\"id\":\"3\",\"kind\":\"plan_execute\","
	    "\"vm\":null,\"host\":null},{\"id\":\"4\"}]", columns_op,
	    columns_nop);
	assert_string_equal(got,
	    "ID   KIND           VM/HOST   STATUS   CREATED\n"
	    "1    stop           web1      -        -\n"
	    "2    drain          h1        -        -\n"
	    "3    plan_execute   -         -        -\n"
	    "4    -              -         -        -\n");
	free(got);
	/* Empty cells at the end of a line leave no trailing blanks. */
	got = test_table("[{\"vm\":\"a\",\"to\":\"h2\",\"status\":"
	    "\"succeeded\",\"error\":\"\"},{\"vm\":\"b\",\"to\":\"\","
	    "\"status\":\"\",\"error\":\"\"},{\"vm\":\"\",\"to\":\"\","
	    "\"status\":\"\",\"error\":\"\"},{\"vm\":\"c\",\"to\":\"\","
	    "\"status\":\"failed\",\"error\":\"x\"}]", columns_move,
	    columns_nmove);
	assert_string_equal(got,
	    "VM   TO   STATUS      ERROR\n"
	    "a    h2   succeeded\n"
	    "b\n"
	    "\n"
	    "c         failed      x\n");
	free(got);
}

/* output_event_detail of the event JSON text js. */
static const char *
test_detail(const char *js, size_t len)
{
	static char buf[OUTPUT_CELL_MAX];
	json_t *v;

	assert_true(len <= sizeof(buf));
	assert_non_null(v = json_loads(js, 0, NULL));
	output_event_detail(v, buf, len);
	json_decref(v);
	return buf;
}

static void
test_event_detail(void **state)
{
	(void)state;
	assert_string_equal(test_detail("{\"type\":\"vm.paused\",\"data\":"
	    "{\"state\":\"paused\",\"previous\":\"running\"}}", 64),
	    "running -> paused");
	/* No previous state: just the state. */
	assert_string_equal(test_detail("{\"type\":\"vm.state\",\"data\":"
	    "{\"state\":\"running\"}}", 64), "running");
	/* A vm.* event without a state: its data as JSON, or nothing. */
	assert_string_equal(test_detail("{\"type\":\"vm.updated\",\"data\":"
	    "{\"snapshot_keep\":3}}", 64), "{\"snapshot_keep\":3}");
	assert_string_equal(test_detail("{\"type\":\"vm.deleted\",\"data\":"
	    "{}}", 64), "");
	assert_string_equal(test_detail("{\"type\":\"vm.deleted\"}", 64), "");
	assert_string_equal(test_detail("{\"type\":\"vm.deleted\",\"data\":"
	    "null}", 64), "");
	/* operation.*: the kind, the step, or the error (detail or code) */
	assert_string_equal(test_detail("{\"type\":\"operation.running\","
	    "\"data\":{\"kind\":\"stop\"}}", 64), "stop");
	assert_string_equal(test_detail("{\"type\":\"operation.progress\","
	    "\"data\":{\"kind\":\"stop\",\"step\":\"powering off\"}}", 64),
	    "stop (powering off)");
	assert_string_equal(test_detail("{\"type\":\"operation.failed\","
	    "\"data\":{\"kind\":\"stop\",\"step\":\"x\",\"error\":{\"code\":"
	    "\"timeout\",\"detail\":\"\"}}}", 64), "stop: timeout");
	assert_string_equal(test_detail("{\"type\":\"operation.queued\","
	    "\"data\":{}}", 64), "");
	/* snapshot.*: the name, under "snapshot" or "name"; host.*: nothing */
	assert_string_equal(test_detail("{\"type\":\"snapshot.created\","
	    "\"data\":{\"name\":\"s1\"}}", 64), "s1");
	assert_string_equal(test_detail("{\"type\":\"host.ready\","
	    "\"data\":{\"maintenance\":true}}", 64), "");
	/* No type at all, control characters, a short buffer */
	assert_string_equal(test_detail("{\"data\":[1,\"a\"]}", 64),
	    "[1,\"a\"]");
	assert_string_equal(test_detail("{\"type\":\"vm.paused\",\"data\":"
	    "{\"state\":\"p\\u001b]0;x\\u0007\"}}", 64), "p?]0;x?");
	assert_string_equal(test_detail("{\"type\":\"operation.failed\","
	    "\"data\":{\"kind\":\"start\",\"error\":{\"detail\":\"abcdefgh\"}}}",
	    12), "start: a...");
}

/* What reading a stream collects (test_sse_run()). */
struct test_stream {
	FILE			*ts_fp;
	enum output_format	 ts_format;
	bool			 ts_headed;
	int			 ts_gaps;
	int			 ts_events;
};

/* The SSE reader's callback: print the event as `hangar events` does. */
static int
test_on_frame(void *arg, const char *type, const char *id, const char *data)
{
	struct test_stream *ts = arg;
	json_t *ev;

	if (strcmp(type, "gap") == 0) {
		assert_non_null(ev = json_loads(data, 0, NULL));
		assert_int_equal(json_integer_value(json_object_get(ev, "from")),
		    49);
		assert_int_equal(json_integer_value(json_object_get(ev, "to")),
		    59);
		json_decref(ev);
		ts->ts_gaps++;
		return 0;
	}
	if ((ev = json_loads(data, 0, NULL)) == NULL)
		fail_msg("frame %s: not JSON: %s", id != NULL ? id : "-", data);
	/* The frame's id and type are the event's own. */
	assert_non_null(id);
	assert_int_equal(strtoll(id, NULL, 10),
	    json_integer_value(json_object_get(ev, "id")));
	assert_string_equal(type, json_string_value(json_object_get(ev,
	    "type")));
	assert_int_equal(output_event(ts->ts_fp, ts->ts_format, ev,
	    &ts->ts_headed), 0);
	json_decref(ev);
	ts->ts_events++;
	return 0;
}

/*
 * Feed stream (len bytes) to the SSE reader in pieces of step bytes (0:
 * all at once), printing in format; returns what was printed (the caller
 * frees it) and checks what every reading of events.sse must give: one
 * gap, 19 events, and 70 as the last id (the cut-off frame 71 does not
 * count).
 */
static char *
test_sse_run(const char *stream, size_t len, size_t step,
    enum output_format format)
{
	struct test_stream ts;
	struct sse s;
	char *buf = NULL;
	size_t blen = 0, off, n;

	memset(&ts, 0, sizeof(ts));
	ts.ts_format = format;
	assert_non_null(ts.ts_fp = open_memstream(&buf, &blen));
	sse_init(&s, test_on_frame, &ts);
	for (off = 0; off < len; off += n) {
		n = step == 0 || len - off < step ? len - off : step;
		assert_int_equal(sse_feed(&s, stream + off, n), 0);
	}
	assert_string_equal(sse_last_id(&s), "70");
	sse_reset(&s);
	assert_string_equal(sse_last_id(&s), "70");
	sse_free(&s);
	assert_int_equal(fclose(ts.ts_fp), 0);
	assert_int_equal(ts.ts_gaps, 1);
	assert_int_equal(ts.ts_events, 19);
	return buf;
}

/* s with every "\n" replaced by eol ("\r\n" or "\r"); the caller frees it. */
static char *
test_eol(const char *s, const char *eol, size_t *len)
{
	size_t n = 0, el = strlen(eol);
	const char *p;
	char *out, *q;

	for (p = s; *p != '\0'; p++)
		n += *p == '\n' ? el : 1;
	assert_non_null(out = malloc(n + 1));
	for (p = s, q = out; *p != '\0'; p++) {
		if (*p == '\n') {
			memcpy(q, eol, el);
			q += el;
		} else {
			*q++ = *p;
		}
	}
	*q = '\0';
	*len = n;
	return out;
}

static void
test_events_golden(void **state)
{
	static const char *const eols[] = { "\n", "\r\n", "\r" };
	static const size_t steps[] = { 1, 2, 3, 4, 5, 7, 11, 64, 4096 };
	const char *dir = getenv("HANGAR_GOLDEN_DIR");
	char path[1024], *stream, *lf, *got, *again;
	size_t len, e, i;

	(void)state;
	if (dir == NULL)
		dir = "tests/golden/cli";
	snprintf(path, sizeof(path), "%s/events.sse", dir);
	if ((lf = test_slurp(path)) == NULL)
		fail_msg("cannot read %s", path);

	got = test_sse_run(lf, strlen(lf), 0, OUTPUT_TABLE);
	test_golden(dir, "events.table", got);
	/* However the stream is cut and whatever its line ends: the same. */
	for (e = 0; e < sizeof(eols) / sizeof(eols[0]); e++) {
		stream = test_eol(lf, eols[e], &len);
		for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			again = test_sse_run(stream, len, steps[i],
			    OUTPUT_TABLE);
			if (strcmp(again, got) != 0)
				fail_msg("line ends %zu, pieces of %zu: got\n%s",
				    e, steps[i], again);
			free(again);
		}
		free(stream);
	}
	free(got);

	got = test_sse_run(lf, strlen(lf), 1, OUTPUT_JSON);
	test_golden(dir, "events.jsonl", got);
	free(got);
	free(lf);
}

/* Counts the frames handed over. */
static int
test_count_frame(void *arg, const char *type, const char *id,
    const char *data)
{
	int *n = arg;

	(void)type;
	(void)id;
	(void)data;
	(*n)++;
	return 0;
}

/* Stops the reading at the first frame. */
static int
test_stop_frame(void *arg, const char *type, const char *id,
    const char *data)
{
	(void)arg;
	(void)type;
	(void)id;
	(void)data;
	return -1;
}

static void
test_sse_edges(void **state)
{
	static const char cut[] = "id: 5\ndata: {}\n\nid: 6\ndata: {\"a\":";
	struct sse s;
	char *big;
	int n = 0;

	(void)state;
	/* A frame cut off by a dropped connection never counts as seen. */
	sse_init(&s, test_count_frame, &n);
	assert_int_equal(sse_feed(&s, cut, sizeof(cut) - 1), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sse_last_id(&s), "5");
	sse_reset(&s);
	/* The next connection starts clean, after 5. */
	assert_int_equal(sse_feed(&s, "\n\nid: 6\ndata: {}\n\n", 18), 0);
	assert_int_equal(n, 2);
	assert_string_equal(sse_last_id(&s), "6");
	/* An id alone sets the last id; no frame is handed over. */
	assert_int_equal(sse_feed(&s, "id: 9\n\n", 7), 0);
	assert_int_equal(n, 2);
	assert_string_equal(sse_last_id(&s), "9");
	/* "data" without a colon is an empty data line: a frame. */
	assert_int_equal(sse_feed(&s, "data\n\n", 6), 0);
	assert_int_equal(n, 3);
	/* Comments and retry alone hand over nothing. */
	assert_int_equal(sse_feed(&s, ": hi\nretry: 10\n\n\n\n", 18), 0);
	assert_int_equal(n, 3);
	sse_free(&s);

	/* A line longer than SSE_MAX is an error, not endless memory. */
	assert_non_null(big = malloc(SSE_MAX + 1));
	memset(big, 'x', SSE_MAX + 1);
	sse_init(&s, test_count_frame, &n);
	test_msg[0] = '\0';
	assert_int_equal(sse_feed(&s, big, SSE_MAX), 0);
	assert_int_equal(sse_feed(&s, big, 1), -1);
	assert_int_equal(test_code, CLI_ERROR);
	assert_non_null(strstr(test_msg, "longer than"));
	sse_free(&s);
	free(big);

	/* The callback can stop the reading. */
	sse_init(&s, test_stop_frame, NULL);
	assert_int_equal(sse_feed(&s, "data: 1\n\ndata: 2\n\n", 18), -1);
	sse_free(&s);
}

/* The table's heading comes once, before the first event. */
static void
test_event_heading(void **state)
{
	json_t *ev = json_pack("{s:i, s:s, s:s, s:n, s:s, s:o}", "id", 7,
	    "type", "host.ready", "time", "2026-11-24T16:40:00.000Z", "vm",
	    "host", "local", "data", json_object());
	bool headed = false;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	(void)state;
	assert_non_null(ev);
	assert_non_null(fp = open_memstream(&buf, &len));
	assert_int_equal(output_event(fp, OUTPUT_TABLE, ev, &headed), 0);
	assert_true(headed);
	assert_int_equal(output_event(fp, OUTPUT_TABLE, ev, &headed), 0);
	assert_int_equal(fclose(fp), 0);
	assert_string_equal(buf,
	    "ID     TIME                      TYPE                 VM"
	    "            HOST      DETAIL\n"
	    "7      2026-11-24T16:40:00.000Z  host.ready           -"
	    "             local\n"
	    "7      2026-11-24T16:40:00.000Z  host.ready           -"
	    "             local\n");
	free(buf);
	json_decref(ev);
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
	assert_int_equal(output_checks(fp, OUTPUT_JSON, v), 0);
	assert_int_equal(output_moves(fp, OUTPUT_JSON, v), 0);
	assert_int_equal(output_plan(fp, OUTPUT_JSON, v), 0);
	assert_int_equal(output_operation(fp, OUTPUT_JSON, v), 0);
	assert_int_equal(fclose(fp), 0);
	assert_string_equal(buf, "{\n  \"host\": null,\n  \"hosts\": [],\n"
	    "  \"detail\": \"none\"\n}\n{\n  \"host\": null,\n"
	    "  \"hosts\": [],\n  \"detail\": \"none\"\n}\n"
	    "{\n  \"host\": null,\n  \"hosts\": [],\n"
	    "  \"detail\": \"none\"\n}\n{\n  \"host\": null,\n"
	    "  \"hosts\": [],\n  \"detail\": \"none\"\n}\n"
	    "{\n  \"host\": null,\n  \"hosts\": [],\n"
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
		cmocka_unit_test(test_migrate_bar),
		cmocka_unit_test(test_output_row_units),
		cmocka_unit_test(test_output_json_passthrough),
		cmocka_unit_test(test_event_detail),
		cmocka_unit_test(test_event_heading),
		cmocka_unit_test(test_sse_edges),
		cmocka_unit_test(test_events_golden),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
