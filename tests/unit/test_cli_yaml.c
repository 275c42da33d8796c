/*
 * test_cli_yaml.c - unit tests of `-o yaml` (clients/yaml.c): tricky
 * values against the exact text expected, then a property test: a few
 * thousand random JSON values built from fragments YAML readers treat
 * specially (yes, no, null, ~, ": ", " #", leading and trailing blanks,
 * numbers and dates as strings, newlines, tabs, control characters,
 * U+0085, U+2028, U+FEFF, long keys...) are written as a YAML stream and
 * read back by python3-yaml (scripts/deps installs it), which must give
 * the very same JSON (compared as canonical JSON text, so true is not 1
 * and 1.0 is not 1).
 *
 * The client is its own program, so yaml.c is compiled in here and
 * cli_fail() stubbed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../clients/yaml.c"

int
cli_fail(enum cli_exit code, const char *fmt, ...)
{
	(void)code;
	(void)fmt;
	return -1;
}

/* yaml_write() of the JSON text js, as a string (static). */
static const char *
test_yaml(const char *js)
{
	static char out[8192];
	json_t *v;
	char *buf = NULL;
	size_t len = 0;
	FILE *fp;

	assert_non_null(v = json_loads(js, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL));
	assert_non_null(fp = open_memstream(&buf, &len));
	assert_int_equal(yaml_write(fp, v), 0);
	assert_int_equal(fclose(fp), 0);
	json_decref(v);
	snprintf(out, sizeof(out), "%s", buf);
	free(buf);
	return out;
}

static void
test_yaml_scalars(void **state)
{
	(void)state;
	assert_string_equal(test_yaml("{\"a\":\"web1\"}"), "a: web1\n");
	/* words a reader resolves, in any case */
	assert_string_equal(test_yaml("[\"yes\",\"No\",\"null\",\"~\","
	    "\"TRUE\",\"off\",\"y\",\"<<\",\"=\",\".inf\",\".NaN\"]"),
	    "- \"yes\"\n- \"No\"\n- \"null\"\n- \"~\"\n- \"TRUE\"\n"
	    "- \"off\"\n- \"y\"\n- \"<<\"\n- \"=\"\n- \".inf\"\n"
	    "- \".NaN\"\n");
	/* numbers, dates and times as strings; "10GiB" is no number */
	assert_string_equal(test_yaml("[\"42\",\"-1.5\",\"1e3\",\"0x1f\","
	    "\"12:30\",\"2026-12-07\",\".5\",\"10GiB\",\"1w\"]"),
	    "- \"42\"\n- \"-1.5\"\n- \"1e3\"\n- \"0x1f\"\n- \"12:30\"\n"
	    "- \"2026-12-07\"\n- \".5\"\n- 10GiB\n- 1w\n");
	/* indicators, blanks, ": " and " #" */
	assert_string_equal(test_yaml("[\"a: b\",\"a #b\",\"a#b\",\"a:b\","
	    "\"a:\",\" lead\",\"trail \",\"-x\",\"@x\",\"*x\",\"\","
	    "\"it's\",\"say \\\"hi\\\"\"]"),
	    "- \"a: b\"\n- \"a #b\"\n- a#b\n- a:b\n- \"a:\"\n- \" lead\"\n"
	    "- \"trail \"\n- \"-x\"\n- \"@x\"\n- \"*x\"\n- \"\"\n- it's\n"
	    "- say \"hi\"\n");
	/* escapes: controls, tab, CR, U+0085, U+2028, U+FEFF, NUL */
	assert_string_equal(test_yaml("[\"a\\tb\",\"a\\rb\",\"\\u001b[31m\","
	    "\"\\u0085\",\"x\\u2028y\",\"\\ufeffz\",\"a\\u0000b\","
	    "\"back\\\\slash\",\"caf\\u00e9\"]"),
	    "- \"a\\tb\"\n- \"a\\rb\"\n- \"\\x1B[31m\"\n- \"\\x85\"\n"
	    "- \"x\\u2028y\"\n- \"\\uFEFFz\"\n- \"a\\0b\"\n"
	    "- back\\slash\n- caf\xc3\xa9\n");
	/* other types; reals always with a '.' */
	assert_string_equal(test_yaml("[1,-7,1.0,0.1,1e20,-0.0,1.5e-07,true,"
	    "false,null,{},[]]"),
	    "- 1\n- -7\n- 1.0\n- 0.1\n- 1.0e+20\n- -0.0\n- 1.5e-07\n"
	    "- true\n- false\n- null\n- {}\n- []\n");
	assert_string_equal(test_yaml("\"yes\""), "\"yes\"\n");
	assert_string_equal(test_yaml("3"), "3\n");
}

static void
test_yaml_blocks(void **state)
{
	(void)state;
	/* nested objects and arrays, objects in arrays start on the dash */
	assert_string_equal(test_yaml("{\"vms\":[{\"name\":\"a\",\"labels\":"
	    "{\"rack\":\"1\"}},{\"name\":\"b\",\"ips\":[\"10.0.0.1\"]}],"
	    "\"x\":[[1,2],[]]}"),
	    "vms:\n"
	    "  - name: a\n"
	    "    labels:\n"
	    "      rack: \"1\"\n"
	    "  - name: b\n"
	    "    ips:\n"
	    "      - \"10.0.0.1\"\n"
	    "x:\n"
	    "  -\n"
	    "    - 1\n"
	    "    - 2\n"
	    "  - []\n");
	/* multi-line strings: literal blocks, chomping by the end */
	assert_string_equal(test_yaml("{\"u\":\"#cloud-config\\nusers: []\\n\","
	    "\"v\":\"a\\n\\n  b\",\"w\":\"x\\n\\n\"}"),
	    "u: |\n  #cloud-config\n  users: []\n"
	    "v: |-\n  a\n\n    b\n"
	    "w: |+\n  x\n\n");
	/* ...unless it starts with a blank or holds a control character */
	assert_string_equal(test_yaml("[\" a\\nb\",\"a\\n\\u0007\"]"),
	    "- \" a\\nb\"\n- \"a\\n\\x07\"\n");
	/* a key too long for a simple key */
	{
		char js[1200], *want;
		const char *got;

		memset(js, 'k', sizeof(js));
		js[0] = '{';
		js[1] = '"';
		memcpy(js + 1003, "\":1}", 5);
		got = test_yaml(js);
		assert_true(strncmp(got, "? \"kkk", 6) == 0);
		want = strstr(got, "\"\n: 1\n");
		assert_non_null(want);
		assert_string_equal(want, "\"\n: 1\n");
	}
}

/* Fragments that random strings are made of. */
static const char *const test_frags[] = {
	"yes", "no", "No", "null", "~", "true", "on", "y", ":", ": ", " ",
	"#", " #", "-", "--- ", "...", "?", "\n", "\t", "\r", "\"", "'",
	"\\", "0", "1", "12", ".", "e", "x", "-1", "1e3", "0x1F", "0o7",
	"12:30", "2026-12-07", "T10:00:00Z", "\xc3\xa9", "\xe2\x80\xa8",
	"\xc2\x85", "\xc2\xa0", "\xef\xbb\xbf", "\x7f", "\x01", "[", "]",
	"{", "}", ",", "&", "*", "!", "|", ">", "%", "@", "`", "<<", "=",
	"web1", "a b", ".inf", "_", "+", "\xf0\x9f\x99\x82",
};
#define TEST_NFRAGS (sizeof(test_frags) / sizeof(test_frags[0]))

static json_t *
test_rand_string(unsigned *seed)
{
	char buf[256] = "";
	int n = rand_r(seed) % 6, i;

	for (i = 0; i < n; i++)
		strncat(buf, test_frags[rand_r(seed) % TEST_NFRAGS],
		    sizeof(buf) - strlen(buf) - 1);
	return json_string(buf);
}

static json_t *
test_rand_value(unsigned *seed, int depth)
{
	static const double reals[] = {
		0.1, -0.0, 1e20, 1.5e-7, 123456789.125, 9007199254740993.0,
		-2.5, 3.0, 1e-300, 1.7976931348623157e308,
	};
	json_t *v, *k;
	int n, i;

	switch (rand_r(seed) % (depth < 3 ? 8 : 5)) {
	case 0:
		return json_integer((json_int_t)rand_r(seed) - RAND_MAX / 2);
	case 1:
		return json_real(reals[rand_r(seed) % 10]);
	case 2:
		return rand_r(seed) % 3 == 0 ? json_null() :
		    json_boolean(rand_r(seed) % 2);
	case 3:
	case 4:
		return test_rand_string(seed);
	case 5:
	case 6:
		v = json_object();
		for (n = rand_r(seed) % 5, i = 0; i < n; i++) {
			k = test_rand_string(seed);
			if (rand_r(seed) % 50 == 0) {
				char big[1100];

				memset(big, 'a' + i, sizeof(big) - 1);
				big[sizeof(big) - 1] = '\0';
				json_decref(k);
				k = json_string(big);
			}
			json_object_set_new(v, json_string_value(k),
			    test_rand_value(seed, depth + 1));
			json_decref(k);
		}
		return v;
	default:
		v = json_array();
		for (n = rand_r(seed) % 5, i = 0; i < n; i++)
			json_array_append_new(v, test_rand_value(seed,
			    depth + 1));
		return v;
	}
}

/* python3: the YAML stream and the JSON array must be the same values. */
static const char test_checker[] =
    "import json, sys, yaml\n"
    "want = json.load(open(sys.argv[1]))\n"
    "got = list(yaml.safe_load_all(open(sys.argv[2], encoding='utf-8')))\n"
    "bad = 0\n"
    "if len(got) != len(want):\n"
    "    print('%d documents, not %d' % (len(got), len(want))); sys.exit(1)\n"
    "for i, (w, g) in enumerate(zip(want, got)):\n"
    "    a = json.dumps(w, sort_keys=True)\n"
    "    b = json.dumps(g, sort_keys=True, default=str)\n"
    "    if a != b:\n"
    "        bad += 1\n"
    "        if bad < 5: print('doc %d:\\n want %s\\n got  %s' % (i, a, b))\n"
    "sys.exit(1 if bad else 0)\n";

static void
test_yaml_roundtrip(void **state)
{
	char jpath[] = "/tmp/test_cli_yaml_XXXXXX";
	char ypath[] = "/tmp/test_cli_yaml_XXXXXX";
	json_t *all = json_array(), *v;
	const char *env = getenv("HANGAR_YAML_SEED");	/* to try others */
	unsigned seed = env != NULL ? (unsigned)strtoul(env, NULL, 10) :
	    20261207;
	FILE *fp;
	int jfd, yfd, i, status;
	pid_t pid;

	(void)state;
	assert_true((jfd = mkstemp(jpath)) >= 0);
	assert_true((yfd = mkstemp(ypath)) >= 0);
	assert_non_null(fp = fdopen(yfd, "w"));
	for (i = 0; i < 3000; i++) {
		v = test_rand_value(&seed, 0);
		fputs("---\n", fp);
		assert_int_equal(yaml_write(fp, v), 0);
		json_array_append_new(all, v);
	}
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(json_dumpfd(all, jfd, JSON_ENCODE_ANY), 0);
	close(jfd);
	json_decref(all);

	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		execlp("python3", "python3", "-c", test_checker, jpath, ypath,
		    (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("python3-yaml read back other values (status %d; "
		    "the files are %s and %s)", status, jpath, ypath);
	unlink(jpath);
	unlink(ypath);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yaml_scalars),
		cmocka_unit_test(test_yaml_blocks),
		cmocka_unit_test(test_yaml_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
