/*
 * fuzz_yaml.c - libFuzzer target for `hangar -o yaml` (clients/yaml.c):
 * any JSON value jansson reads, written as YAML.
 *
 * Input: a JSON text (any value; \u0000 allowed in strings).
 * Checks:
 *  - yaml_write() succeeds and the document ends in a newline;
 *  - the output is valid UTF-8 (an independent decoder, fuzz.h) with no
 *    character a YAML reader refuses or takes for a line break: no control
 *    character but the newline, no U+007F-U+009F, U+2028, U+2029, U+FEFF,
 *    U+FFFE, U+FFFF (they must have been escaped);
 *  - a string on its own comes back exactly: plain, it is the output's
 *    one line; double-quoted, undoing the escapes (decoded here
 *    independently) gives its bytes, NULs included.
 * test_cli_yaml.c reads random documents back with a real YAML parser.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../clients/yaml.c"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
cli_fail(enum cli_exit code, const char *fmt, ...)
{
	(void)code;
	(void)fmt;
	return -1;
}

/* The value of hex digit c, or -1. */
static int
fuzz_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Append code point cp to b as UTF-8. */
static void
fuzz_put_cp(struct fuzz_sb *b, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	}
	fuzz_sb_putn(b, u, n);
}

/*
 * Undo YAML double-quoting of q (n bytes, quotes included) into b; false
 * if it is not a well-formed double-quoted scalar of the escapes yaml.c
 * may write.
 */
static bool
fuzz_unquote(const char *q, size_t n, struct fuzz_sb *b)
{
	size_t i, k, digits;
	uint32_t cp;
	int h;

	if (n < 2 || q[0] != '"' || q[n - 1] != '"')
		return false;
	for (i = 1; i < n - 1; i++) {
		if (q[i] == '"')
			return false;
		if (q[i] != '\\') {
			fuzz_sb_putn(b, q + i, 1);
			continue;
		}
		if (++i >= n - 1)
			return false;
		switch (q[i]) {
		case '\\': fuzz_sb_putn(b, "\\", 1); break;
		case '"': fuzz_sb_putn(b, "\"", 1); break;
		case 'n': fuzz_sb_putn(b, "\n", 1); break;
		case 't': fuzz_sb_putn(b, "\t", 1); break;
		case 'r': fuzz_sb_putn(b, "\r", 1); break;
		case '0': fuzz_sb_putn(b, "", 1); break;
		case 'x':
		case 'u':
			digits = q[i] == 'x' ? 2 : 4;
			for (cp = 0, k = 1; k <= digits; k++) {
				if (i + k >= n - 1 || (h = fuzz_hex(q[i + k])) < 0)
					return false;
				cp = cp * 16 + (uint32_t)h;
			}
			fuzz_put_cp(b, cp);
			i += digits;
			break;
		default:
			return false;
		}
	}
	return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *u;
	struct fuzz_sb sb = { 0 };
	const char *s;
	char *out = NULL;
	size_t len = 0, i = 0, k, slen;
	uint32_t cp;
	json_t *v;
	FILE *fp;

	v = json_loadb((const char *)data, size, JSON_DECODE_ANY |
	    JSON_ALLOW_NUL, NULL);
	if (v == NULL)
		return 0;
	FUZZ_CHECK((fp = open_memstream(&out, &len)) != NULL, "memstream");
	FUZZ_CHECK(yaml_write(fp, v) == 0, "yaml_write failed");
	FUZZ_CHECK(fclose(fp) == 0, "fclose");
	FUZZ_CHECK(len > 0 && out[len - 1] == '\n', "no final newline");
	FUZZ_CHECK(strlen(out) == len, "a NUL byte in the output");
	u = (const unsigned char *)out;
	while (i < len) {
		k = fuzz_utf8_decode(u + i, len - i, &cp);
		FUZZ_CHECK(k > 0, "invalid UTF-8 at byte %zu", i);
		FUZZ_CHECK(cp == '\n' || !(cp < 0x20 || (cp >= 0x7f &&
		    cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
		    cp == 0xfeff || cp == 0xfffe || cp == 0xffff),
		    "U+%04X unescaped at byte %zu", (unsigned)cp, i);
		i += k;
	}
	if (json_is_string(v)) {
		s = json_string_value(v);
		slen = json_string_length(v);
		if (out[0] != '"') {
			FUZZ_CHECK(len - 1 == slen && memcmp(out, s, slen) == 0,
			    "plain scalar is not the string: %s", out);
		} else {
			FUZZ_CHECK(fuzz_unquote(out, len - 1, &sb),
			    "bad double-quoted scalar: %s", out);
			FUZZ_CHECK(sb.len == slen && (slen == 0 ||
			    memcmp(sb.s, s, slen) == 0), "double-quoted "
			    "scalar reads back otherwise: %s", out);
		}
	}
	free(sb.s);
	free(out);
	json_decref(v);
	return 0;
}
