/*
 * fuzz_utf8.c - libFuzzer target for utf8_clean, utf8_chars and
 * utf8_control (src/common/utf8.c): utf8_clean is the
 * guard between client bytes quoted in error messages and jansson, which
 * refuses invalid UTF-8 (a NULL problem body).
 *
 * Input: byte 0 picks the buffer size (1..256, or the whole input + 1),
 * the rest is the string (cut at its first NUL, as C strings are).
 * Checks, against an independent decoder (fuzz.h):
 *  - the output is NUL-terminated inside the buffer (ASan sees a write
 *    past it: the buffer is malloc'd at exactly that size);
 *  - it is a prefix of the input, valid UTF-8, accepted by json_string;
 *  - it is the longest such prefix that fits: it stops only at the end of
 *    the input, at an invalid sequence, or where the next character would
 *    not fit;
 *  - on that text, utf8_chars counts its code points and utf8_control
 *    finds its first C0 (but tab and newline), DEL or C1 character.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/utf8.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *u;
	char *in, *buf;
	const char *out;
	size_t len, n, want = 0, k;
	uint32_t cp;
	json_t *j;

	if (size == 0)
		return 0;
	in = fuzz_strndup(data + 1, size - 1);
	n = strlen(in);
	len = data[0] == 0xff ? n + 1 : (size_t)data[0] + 1;
	buf = malloc(len);
	if (buf == NULL)
		abort();
	memset(buf, 'X', len);
	out = utf8_clean(in, buf, len);

	FUZZ_CHECK(out == buf, "utf8_clean did not return its buffer");
	FUZZ_CHECK(memchr(buf, '\0', len) != NULL, "no NUL within %zu bytes",
	    len);
	k = strlen(out);
	FUZZ_CHECK(k < len && k <= n && memcmp(out, in, k) == 0,
	    "output (%zu bytes) is not a prefix of the input (%zu bytes, "
	    "buffer %zu)", k, n, len);
	FUZZ_CHECK(fuzz_utf8_valid(out), "output is not valid UTF-8");
	j = json_string(out);
	FUZZ_CHECK(j != NULL, "json_string refused the output");
	json_decref(j);

	/* the longest valid prefix that fits in len - 1 bytes */
	u = (const unsigned char *)in;
	while (want < n) {
		size_t s = fuzz_utf8_decode(u + want, n - want, &cp);

		if (s == 0 || want + s > len - 1)
			break;
		want += s;
	}
	FUZZ_CHECK(k == want, "output is %zu bytes, the longest valid prefix "
	    "that fits is %zu", k, want);

	/* on that valid text: its characters, and its first control one */
	{
		size_t chars = 0, at = 0, s;
		long ctl = -1;

		for (; at < k && (s = fuzz_utf8_decode((const unsigned char *)
		    out + at, k - at, &cp)) != 0; at += s, chars++)
			if (ctl < 0 && ((cp < 0x20 && cp != '\t' && cp != '\n') ||
			    (cp >= 0x7f && cp <= 0x9f)))
				ctl = (long)cp;
		FUZZ_CHECK(utf8_chars(out, k) == chars, "utf8_chars says %zu, "
		    "the decoder %zu", utf8_chars(out, k), chars);
		FUZZ_CHECK(utf8_control(out, "\t\n") == ctl, "utf8_control "
		    "says %ld, the decoder %ld", utf8_control(out, "\t\n"), ctl);
	}

	free(buf);
	free(in);
	return 0;
}
