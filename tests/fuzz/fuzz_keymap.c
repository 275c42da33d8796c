/*
 * fuzz_keymap.c - libFuzzer target for keymap_text (src/common/keymap.c),
 * which turns the text of POST /v1/vms/{vm}/console/type into key strokes.
 *
 * Input: byte 0 picks the output's room (0..255, or the input's length
 * when 0xff), the rest is the text.  Checks:
 *  - nothing is written past the output (ASan: it is malloc'd at exactly
 *    that size);
 *  - on success: one stroke per byte, each only printable ASCII or
 *    \n \t \b ESC in the input, each stroke one key or shift + a key,
 *    every key a real keycode (1..KEY_MAX), shift exactly for the
 *    characters that need it (upper case and the shifted symbols);
 *  - it refuses exactly when a byte cannot be typed or the room is too
 *    small, and the position is the first byte that cannot be typed, or
 *    the input's length when the room ran out first.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/input-event-codes.h>

#include "common/keymap.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
typeable(uint8_t b)
{
	return (b >= 0x20 && b < 0x7f) || b == '\n' || b == '\t' ||
	    b == '\b' || b == 0x1b;
}

static bool
needs_shift(uint8_t b)
{
	return (b >= 'A' && b <= 'Z') || (b != 0 &&
	    strchr("~!@#$%^&*()_+{}|:\"<>?", b) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *text;
	struct key_combo *out;
	size_t n, max, count = 0, bad = 0, first = 0;
	int r;

	if (size == 0)
		return 0;
	text = data + 1;
	n = size - 1;
	max = data[0] == 0xff ? n : data[0];
	if ((out = malloc(max ? max * sizeof(*out) : 1)) == NULL)
		abort();
	r = keymap_text((const char *)text, n, out, max, &count, &bad);
	while (first < n && typeable(text[first]))
		first++;
	if (r == 0) {
		FUZZ_CHECK(first == n && count == n, "typed %zu of %zu bytes, "
		    "first untypeable at %zu", count, n, first);
		for (size_t i = 0; i < n; i++) {
			const struct key_combo *c = &out[i];
			bool shift = c->n == 2;

			FUZZ_CHECK(c->n == 1 || (c->n == 2 &&
			    c->keys[0] == KEY_LEFTSHIFT), "stroke %zu: %d keys",
			    i, c->n);
			FUZZ_CHECK(c->keys[c->n - 1] > 0 &&
			    c->keys[c->n - 1] < KEY_MAX &&
			    c->keys[c->n - 1] != KEY_LEFTSHIFT, "stroke %zu: "
			    "key %u", i, c->keys[c->n - 1]);
			FUZZ_CHECK(shift == needs_shift(text[i]), "byte 0x%02x: "
			    "shift %d", text[i], shift);
		}
	} else {
		FUZZ_CHECK(r == -1 && (first < n || n > max), "returned %d "
		    "(first untypeable %zu of %zu, room %zu)", r, first, n,
		    max);
		/* a character is looked at before the room for it */
		FUZZ_CHECK(bad == (first <= max ? first : n), "refused at "
		    "%zu, first untypeable %zu, room %zu", bad, first, max);
	}
	free(out);
	return 0;
}
