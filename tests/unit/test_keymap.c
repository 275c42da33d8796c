/*
 * test_keymap.c - unit tests of common/keymap.c, text into US key
 * strokes: letters (shift for capitals), digits and the shifted digit
 * row, every ASCII punctuation character on the right key, Enter, Tab,
 * Backspace and ESC; every printable ASCII character is typeable; the
 * refusals (a control character, '\r', DEL, a non-ASCII character, a
 * byte that is not UTF-8) with the position of the character at fault;
 * a full output array.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <linux/input-event-codes.h>

#include "common/keymap.h"

/* The strokes of s, which must all be typeable. */
static size_t
strokes(const char *s, struct key_combo *out, size_t max)
{
	size_t count = 99, bad = 99;

	assert_int_equal(keymap_text(s, strlen(s), out, max, &count, &bad), 0);
	assert_int_equal(count, strlen(s));
	return count;
}

static void
expect(const struct key_combo *c, unsigned int key, int shift)
{
	assert_int_equal(c->n, shift ? 2 : 1);
	if (shift)
		assert_int_equal(c->keys[0], KEY_LEFTSHIFT);
	assert_int_equal(c->keys[c->n - 1], key);
}

static void
test_letters_digits(void **state)
{
	struct key_combo c[16];

	(void)state;
	strokes("aZ09!)", c, 16);
	expect(&c[0], KEY_A, 0);
	expect(&c[1], KEY_Z, 1);
	expect(&c[2], KEY_0, 0);
	expect(&c[3], KEY_9, 0);
	expect(&c[4], KEY_1, 1);
	expect(&c[5], KEY_0, 1);
}

static void
test_punctuation(void **state)
{
	static const struct {
		char ch;
		unsigned int key;
		int shift;
	} t[] = {
		{ ' ', KEY_SPACE, 0 }, { '\n', KEY_ENTER, 0 },
		{ '\t', KEY_TAB, 0 }, { '\b', KEY_BACKSPACE, 0 },
		{ 0x1b, KEY_ESC, 0 }, { '-', KEY_MINUS, 0 },
		{ '_', KEY_MINUS, 1 }, { '=', KEY_EQUAL, 0 },
		{ '+', KEY_EQUAL, 1 }, { '[', KEY_LEFTBRACE, 0 },
		{ '}', KEY_RIGHTBRACE, 1 }, { '\\', KEY_BACKSLASH, 0 },
		{ '|', KEY_BACKSLASH, 1 }, { ';', KEY_SEMICOLON, 0 },
		{ ':', KEY_SEMICOLON, 1 }, { '\'', KEY_APOSTROPHE, 0 },
		{ '"', KEY_APOSTROPHE, 1 }, { '`', KEY_GRAVE, 0 },
		{ '~', KEY_GRAVE, 1 }, { ',', KEY_COMMA, 0 },
		{ '<', KEY_COMMA, 1 }, { '.', KEY_DOT, 0 },
		{ '>', KEY_DOT, 1 }, { '/', KEY_SLASH, 0 },
		{ '?', KEY_SLASH, 1 }, { '@', KEY_2, 1 }, { '#', KEY_3, 1 },
		{ '$', KEY_4, 1 }, { '%', KEY_5, 1 }, { '^', KEY_6, 1 },
		{ '&', KEY_7, 1 }, { '*', KEY_8, 1 }, { '(', KEY_9, 1 },
	};
	struct key_combo c[1];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char s[2] = { t[i].ch, 0 };

		strokes(s, c, 1);
		expect(&c[0], t[i].key, t[i].shift);
	}
}

/* Every printable character has a key, and no two share key + shift. */
static void
test_all_printable(void **state)
{
	struct key_combo c[95];
	char s[96];
	int i, j;

	(void)state;
	for (i = 0; i < 95; i++)
		s[i] = (char)(' ' + i);
	s[95] = 0;
	strokes(s, c, 95);
	for (i = 0; i < 95; i++)
		for (j = i + 1; j < 95; j++)
			assert_false(c[i].n == c[j].n &&
			    c[i].keys[c[i].n - 1] == c[j].keys[c[j].n - 1]);
}

static void
refused(const char *s, size_t len, size_t at)
{
	struct key_combo c[16];
	size_t count = 99, bad = 99;

	assert_int_equal(keymap_text(s, len, c, 16, &count, &bad), -1);
	assert_int_equal(bad, at);
}

static void
test_refusals(void **state)
{
	(void)state;
	refused("ab\rc", 4, 2);
	refused("\x01", 1, 0);
	refused("abc\x7f", 4, 3);
	refused("x\xc3\xa9", 3, 1);               /* é */
	refused("ok \xe2\x82\xac", 6, 3);         /* € */
	refused("\xff", 1, 0);
	refused("a\0b", 3, 1);
}

static void
test_full(void **state)
{
	struct key_combo c[2];
	size_t count = 0, bad = 0;

	(void)state;
	assert_int_equal(keymap_text("abc", 3, c, 2, &count, &bad), -1);
	assert_int_equal(bad, 3);
	assert_int_equal(keymap_text("", 0, c, 0, &count, &bad), 0);
	assert_int_equal(count, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_letters_digits),
		cmocka_unit_test(test_punctuation),
		cmocka_unit_test(test_all_printable),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
