/*
 * keymap.h - text into key strokes (keymap.c): what a person would press
 * on a US keyboard to type a text, as Linux input keycodes
 * (<linux/input-event-codes.h>, libvirt's VIR_KEYCODE_SET_LINUX), for
 * typing into a graphical console (virDomainSendKey).  Pure: no I/O.
 */
#ifndef HANGAR_KEYMAP_H
#define HANGAR_KEYMAP_H

#include <stddef.h>

/* Keys pressed together (in order) and then released together. */
#define KEYMAP_COMBO_MAX 2
struct key_combo {
	unsigned int keys[KEYMAP_COMBO_MAX];
	int n;                          /* 1 or 2 (shift + the key) */
};

/*
 * The strokes that type text (n bytes of UTF-8) on a US layout into
 * out[max], their count into *count: one stroke per character, so max
 * n is always enough.  Typed: letters, digits, the ASCII punctuation
 * (with shift where the layout needs it), space, '\n' (Enter), '\t'
 * (Tab), '\b' (Backspace) and ESC.  Anything else (another control
 * character, '\r', any non-ASCII character, bytes that are not UTF-8)
 * returns -1 with *bad the character's position, counted in characters
 * from 0; nothing is typed then.  -1 with *bad == n when out is full.
 */
int keymap_text(const char *text, size_t n, struct key_combo *out,
    size_t max, size_t *count, size_t *bad);

#endif
