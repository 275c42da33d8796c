/*
 * keymap.c - text into key strokes on a US keyboard (keymap.h): one
 * table, indexed by the ASCII character, of the key that types it and
 * whether shift is held for it.  A character without an entry cannot be
 * typed.
 */
#include <stdbool.h>
#include <stdint.h>

#include <linux/input-event-codes.h>

#include "keymap.h"

struct keymap_key {
	uint8_t code;                   /* 0: not typeable */
	bool shift;
};

#define K(c) { (c), false }
#define S(c) { (c), true }

static const struct keymap_key keymap_us[128] = {
	['\b'] = K(KEY_BACKSPACE), ['\t'] = K(KEY_TAB), ['\n'] = K(KEY_ENTER),
	[0x1b] = K(KEY_ESC), [' '] = K(KEY_SPACE),
	['a'] = K(KEY_A), ['b'] = K(KEY_B), ['c'] = K(KEY_C), ['d'] = K(KEY_D),
	['e'] = K(KEY_E), ['f'] = K(KEY_F), ['g'] = K(KEY_G), ['h'] = K(KEY_H),
	['i'] = K(KEY_I), ['j'] = K(KEY_J), ['k'] = K(KEY_K), ['l'] = K(KEY_L),
	['m'] = K(KEY_M), ['n'] = K(KEY_N), ['o'] = K(KEY_O), ['p'] = K(KEY_P),
	['q'] = K(KEY_Q), ['r'] = K(KEY_R), ['s'] = K(KEY_S), ['t'] = K(KEY_T),
	['u'] = K(KEY_U), ['v'] = K(KEY_V), ['w'] = K(KEY_W), ['x'] = K(KEY_X),
	['y'] = K(KEY_Y), ['z'] = K(KEY_Z),
	['A'] = S(KEY_A), ['B'] = S(KEY_B), ['C'] = S(KEY_C), ['D'] = S(KEY_D),
	['E'] = S(KEY_E), ['F'] = S(KEY_F), ['G'] = S(KEY_G), ['H'] = S(KEY_H),
	['I'] = S(KEY_I), ['J'] = S(KEY_J), ['K'] = S(KEY_K), ['L'] = S(KEY_L),
	['M'] = S(KEY_M), ['N'] = S(KEY_N), ['O'] = S(KEY_O), ['P'] = S(KEY_P),
	['Q'] = S(KEY_Q), ['R'] = S(KEY_R), ['S'] = S(KEY_S), ['T'] = S(KEY_T),
	['U'] = S(KEY_U), ['V'] = S(KEY_V), ['W'] = S(KEY_W), ['X'] = S(KEY_X),
	['Y'] = S(KEY_Y), ['Z'] = S(KEY_Z),
	['1'] = K(KEY_1), ['2'] = K(KEY_2), ['3'] = K(KEY_3), ['4'] = K(KEY_4),
	['5'] = K(KEY_5), ['6'] = K(KEY_6), ['7'] = K(KEY_7), ['8'] = K(KEY_8),
	['9'] = K(KEY_9), ['0'] = K(KEY_0),
	['!'] = S(KEY_1), ['@'] = S(KEY_2), ['#'] = S(KEY_3), ['$'] = S(KEY_4),
	['%'] = S(KEY_5), ['^'] = S(KEY_6), ['&'] = S(KEY_7), ['*'] = S(KEY_8),
	['('] = S(KEY_9), [')'] = S(KEY_0),
	['-'] = K(KEY_MINUS), ['_'] = S(KEY_MINUS),
	['='] = K(KEY_EQUAL), ['+'] = S(KEY_EQUAL),
	['['] = K(KEY_LEFTBRACE), ['{'] = S(KEY_LEFTBRACE),
	[']'] = K(KEY_RIGHTBRACE), ['}'] = S(KEY_RIGHTBRACE),
	['\\'] = K(KEY_BACKSLASH), ['|'] = S(KEY_BACKSLASH),
	[';'] = K(KEY_SEMICOLON), [':'] = S(KEY_SEMICOLON),
	['\''] = K(KEY_APOSTROPHE), ['"'] = S(KEY_APOSTROPHE),
	['`'] = K(KEY_GRAVE), ['~'] = S(KEY_GRAVE),
	[','] = K(KEY_COMMA), ['<'] = S(KEY_COMMA),
	['.'] = K(KEY_DOT), ['>'] = S(KEY_DOT),
	['/'] = K(KEY_SLASH), ['?'] = S(KEY_SLASH),
};

int
keymap_text(const char *text, size_t n, struct key_combo *out, size_t max,
    size_t *count, size_t *bad)
{
	const unsigned char *u = (const unsigned char *)text;
	size_t i;

	*count = 0;
	*bad = 0;
	/* every character before the first one refused is ASCII: its
	 * position in characters is its offset in bytes */
	for (i = 0; i < n; i++) {
		const struct keymap_key *k = u[i] < 128 ? &keymap_us[u[i]] :
		    NULL;
		struct key_combo *c;

		if (k == NULL || k->code == 0) {
			*bad = i;
			return -1;
		}
		if (*count == max) {
			*bad = n;
			return -1;
		}
		c = &out[(*count)++];
		c->n = 0;
		if (k->shift)
			c->keys[c->n++] = KEY_LEFTSHIFT;
		c->keys[c->n++] = k->code;
	}
	return 0;
}
