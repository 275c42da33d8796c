/*
 * utf8.h - valid UTF-8 for JSON (utf8.c).
 */
#ifndef HANGAR_UTF8_H
#define HANGAR_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Length in bytes of the valid UTF-8 sequence at u (RFC 3629: no
 * overlongs, surrogates or code points past U+10FFFF): 1 for ASCII, 0
 * when u does not start one (a NUL inside a sequence ends it too).
 */
size_t utf8_seq(const unsigned char *u);

/*
 * Copy s into buf[len], stopping before the first byte that is not valid
 * UTF-8 (RFC 3629: no overlongs, surrogates or code points past
 * U+10FFFF) or that would not fit.  Returns buf, always NUL-terminated.
 */
const char *utf8_clean(const char *s, char *buf, size_t len);

/*
 * The length in characters (Unicode code points) of s[len], valid UTF-8
 * (jansson's strings are): what a limit "at most N characters" counts.
 */
size_t utf8_chars(const char *s, size_t len);

/*
 * The first control character in UTF-8 s, as its code point: C0
 * (U+0000-U+001F) unless in allow ("\t\n": tab and newline pass; "" for
 * none), DEL (U+007F) or C1 (U+0080-U+009F, such as U+0085 NEL and
 * U+009B CSI); -1 when s has none.
 */
long utf8_control(const char *s, const char *allow);

/*
 * Is s valid UTF-8 made only of characters XML 1.0 allows (no control
 * characters but tab, LF and CR; no U+FFFE or U+FFFF)?  Text that goes
 * into libvirt's XML must be, or libvirt refuses the document.
 */
bool utf8_xml_text(const char *s);

#endif
