/*
 * utf8.c - keeping text that goes into JSON valid UTF-8.  jansson refuses
 * (returns NULL for) a string that is not, and a message may quote client
 * input cut short in the middle of a character (err_set truncates at
 * ERR_MSG_MAX bytes) or a path with any bytes in it.  And the one place
 * a client's text is measured and screened: its length in characters
 * (code points, not bytes) and its control characters (C0, DEL, C1).
 */
#include <stdint.h>
#include <string.h>

#include "utf8.h"

size_t
utf8_seq(const unsigned char *u)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, k;

	if (u[0] < 0x80)
		return 1;
	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		n = 2;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		n = 3;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		n = 4;
	else
		return 0;           /* continuation, overlong lead, > U+10FFFF */
	if (u[0] == 0xe0)
		lo = 0xa0;          /* overlong */
	else if (u[0] == 0xed)
		hi = 0x9f;          /* surrogates */
	else if (u[0] == 0xf0)
		lo = 0x90;          /* overlong */
	else if (u[0] == 0xf4)
		hi = 0x8f;          /* > U+10FFFF */
	if (u[1] < lo || u[1] > hi)
		return 0;
	for (k = 2; k < n; k++)
		if ((u[k] & 0xc0) != 0x80)
			return 0;
	return n;
}

const char *
utf8_clean(const char *s, char *buf, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;

	while (u[i] && (n = utf8_seq(u + i)) != 0 && i + n < len)
		i += n;
	memcpy(buf, s, i);
	buf[i] = '\0';
	return buf;
}

size_t
utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

long
utf8_control(const char *s, const char *allow)
{
	for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
		if ((*u < 0x20 && strchr(allow, *u) == NULL) || *u == 0x7f)
			return *u;
		/* U+0080-U+009F: 0xc2 0x80-0x9f */
		if (u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f)
			return u[1];
	}
	return -1;
}

bool
utf8_xml_text(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n;
	uint32_t cp;

	while (*u) {
		if ((n = utf8_seq(u)) == 0)
			return false;
		cp = n == 1 ? u[0] : n == 2 ? (uint32_t)(u[0] & 0x1f) << 6 |
		    (u[1] & 0x3f) : n == 3 ? (uint32_t)(u[0] & 0x0f) << 12 |
		    (uint32_t)(u[1] & 0x3f) << 6 | (u[2] & 0x3f) :
		    (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3f) << 12 |
		    (uint32_t)(u[2] & 0x3f) << 6 | (u[3] & 0x3f);
		/* XML 1.0 Char: tab, LF, CR, U+0020-U+D7FF, U+E000-U+FFFD,
		 * U+10000 up (utf8_seq already refuses surrogates) */
		if ((cp < 0x20 && cp != 0x9 && cp != 0xa && cp != 0xd) ||
		    cp == 0xfffe || cp == 0xffff)
			return false;
		u += n;
	}
	return true;
}
