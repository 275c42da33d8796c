/*
 * test_page.c - unit tests of paging's cursor and the conditional
 * headers' parser, without HTTP: page_cursor_encode/decode (round trips,
 * and every kind of text that is not a cursor refused), page_compare's
 * order, and precond_match (If-Match / If-None-Match lists, strong and
 * weak comparison, malformed lists).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/req.h"

static void
roundtrip(const char *sort, const char *key, const char *id)
{
	char text[PAGE_CURSOR_TEXT + 1], s[64], k[PAGE_KEY_MAX],
	    i[PAGE_KEY_MAX];

	assert_int_equal(page_cursor_encode(sort, key, id, text,
	    sizeof(text)), 0);
	/* base64url, no padding: safe in a query as it is */
	assert_int_equal(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_"), strlen(text));
	assert_int_equal(page_cursor_decode(text, s, sizeof(s), k, sizeof(k),
	    i, sizeof(i)), 0);
	assert_string_equal(s, sort);
	assert_string_equal(k, key);
	assert_string_equal(i, id);
}

static void
test_cursor_roundtrip(void **state)
{
	char longkey[PAGE_KEY_MAX];

	(void)state;
	roundtrip("name", "vm-001", "6f1c2a4e-0b7d-4c55-9a3e-1f2e3d4c5b6a");
	roundtrip("created", "1796660000123", "x");
	roundtrip("name", "", "a");           /* an empty key (null member) */
	roundtrip("s", "\xc3\xa9t\xc3\xa9", "i d/?&=#");
	/* every length mod 3 */
	roundtrip("n", "a", "b");
	roundtrip("n", "ab", "b");
	roundtrip("n", "abc", "b");
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	roundtrip("name", longkey, longkey);
}

static void
test_cursor_encode_too_long(void **state)
{
	char text[16];

	(void)state;
	assert_int_equal(page_cursor_encode("name", "a-long-enough-key", "id",
	    text, sizeof(text)), -1);
}

static void
test_cursor_refused(void **state)
{
	static const char *const bad[] = {
		"",                 /* nothing */
		"A",                /* one char: not base64 of anything */
		"AAAA",             /* three NULs: version "" */
		"bm9w",             /* "nop": one field */
		"MQBuAGs",          /* "1\0n\0k": three fields */
		"MgBuAGsAaQ",       /* "2\0n\0k\0i": version 2 */
		"MQBuAGsA",         /* "1\0n\0k\0": an empty id */
		"MQBuAGsAaQBq",     /* "1\0n\0k\0i\0j": five fields */
		"MQBuAGsAaQA",      /* "1\0n\0k\0i\0": a NUL after the id (fuzz) */
		"MQBuAGsAaQ==",     /* padding */
		"MQBuAGsAaR",       /* leftover bits not zero */
		"MQBu+GsAaQ",       /* '+': base64, not base64url */
		"MQBuAGs Aa",       /* a space */
	};
	char s[64], k[PAGE_KEY_MAX], i[PAGE_KEY_MAX];
	char big[PAGE_CURSOR_TEXT + 8];

	(void)state;
	for (size_t n = 0; n < sizeof(bad) / sizeof(bad[0]); n++)
		if (page_cursor_decode(bad[n], s, sizeof(s), k, sizeof(k), i,
		    sizeof(i)) != -1)
			fail_msg("'%s' was taken as a cursor", bad[n]);
	/* the good one those are made from */
	assert_int_equal(page_cursor_decode("MQBuAGsAaQ", s, sizeof(s), k,
	    sizeof(k), i, sizeof(i)), 0);
	assert_string_equal(s, "n");
	assert_string_equal(k, "k");
	assert_string_equal(i, "i");
	/* a field longer than the caller's buffer */
	assert_int_equal(page_cursor_decode("MQBuAGsAaQ", s, 1, k, sizeof(k),
	    i, sizeof(i)), -1);
	/* longer than any cursor */
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(page_cursor_decode(big, s, sizeof(s), k, sizeof(k),
	    i, sizeof(i)), -1);
}

static void
test_compare(void **state)
{
	(void)state;
	assert_true(page_compare("a", "z", "b", "a") < 0);
	assert_true(page_compare("b", "a", "b", "b") < 0);
	assert_true(page_compare("b", "b", "b", "b") == 0);
	assert_true(page_compare("", "x", "a", "a") < 0);
	/* byte order, as SQLite's BINARY collation */
	assert_true(page_compare("Z", "", "a", "") < 0);
}

static void
test_precond_match(void **state)
{
	static const struct {
		const char *header;
		bool weak_ok;
		int want;
	} c[] = {
		{ "\"42\"", false, 1 },
		{ "\"41\"", false, 0 },
		{ "*", false, 1 },
		{ "  * ", true, 1 },
		{ "\"1\", \"42\"", false, 1 },
		{ "\"1\",\"2\" ,\t\"42\"", false, 1 },
		{ "W/\"42\"", false, 0 },       /* If-Match: strong only */
		{ "W/\"42\"", true, 1 },        /* If-None-Match: weak */
		{ "42", false, -1 },
		{ "\"42", false, -1 },
		{ "\"4 2\"", false, -1 },
		{ "\"42\" x", false, -1 },
		{ "*, \"42\"", false, -1 },
		{ "", false, -1 },
		{ " , ", false, -1 },
		{ "w/\"42\"", true, -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		if (precond_match(c[i].header, "\"42\"", c[i].weak_ok) !=
		    c[i].want)
			fail_msg("precond_match('%s', %d) != %d", c[i].header,
			    c[i].weak_ok, c[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cursor_roundtrip),
		cmocka_unit_test(test_cursor_encode_too_long),
		cmocka_unit_test(test_cursor_refused),
		cmocka_unit_test(test_compare),
		cmocka_unit_test(test_precond_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
