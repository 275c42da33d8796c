/*
 * test_ws.c - unit tests of common/ws.c, the WebSocket protocol: the
 * RFC 6455 accept key (the RFC's own example), frames written and read
 * back with every length encoding (7-bit, 16-bit, 64-bit), fed whole and
 * a byte at a time, fragmented messages with control frames between the
 * fragments, ping/pong and close payloads, and every way a peer breaks
 * the protocol with the close code it earns: unmasked client frames and
 * masked server frames (1002), reserved bits and opcodes (1002), long or
 * fragmented control frames (1002), stray continuations (1002), messages
 * over the limit (1009, also when only the fragments add up to it), text
 * that is not UTF-8 (1007), bad close codes (1002).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ws.h"

/* What the parser handed over, one line per frame. */
struct seen {
	char log[4096];
	size_t n;
	int stop;                /* return this from the callback */
};

static int
on_frame(void *arg, enum ws_opcode op, const unsigned char *data, size_t len)
{
	struct seen *s = arg;
	int w = snprintf(s->log + s->n, sizeof(s->log) - s->n, "%d:%zu:", op,
	    len);

	s->n += (size_t)w;
	for (size_t i = 0; i < len && i < 32 && s->n + 2 < sizeof(s->log); i++)
		s->log[s->n++] = (char)(data[i] >= 32 && data[i] < 127 ?
		    data[i] : '.');
	s->log[s->n++] = ';';
	s->log[s->n] = '\0';
	return s->stop;
}

static const unsigned char mask_key[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* A frame into out: header + payload, masked when mask; its length. */
static size_t
frame(unsigned char *out, int b0, const void *data, size_t len,
    const unsigned char *mask)
{
	size_t h = ws_frame_header(out, (enum ws_opcode)(b0 & 0x0f),
	    (b0 & 0x80) != 0, len, mask);

	out[0] = (unsigned char)b0;      /* reserved bits as given */
	memcpy(out + h, data, len);
	if (mask)
		ws_mask(out + h, len, mask, 0);
	return h + len;
}

/* Feed buf whole, or (bytewise) one byte at a time. */
static int
feed(struct ws_parser *p, const unsigned char *buf, size_t n, bool bytewise,
    struct seen *s)
{
	if (!bytewise)
		return ws_parse(p, buf, n, on_frame, s);
	for (size_t i = 0; i < n; i++) {
		int rc = ws_parse(p, buf + i, 1, on_frame, s);

		if (rc != 0)
			return rc;
	}
	return 0;
}

static void
test_accept_key(void **state)
{
	char out[WS_ACCEPT_LEN];

	(void)state;
	/* RFC 6455 section 1.3 */
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_int_equal(ws_accept_key("short", out), -1);
	assert_int_equal(ws_accept_key(NULL, out), -1);
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=x", out), -1);
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25j\r\n==", out), -1);
}

static void
test_lengths_roundtrip(void **state)
{
	static const size_t lens[] = { 0, 1, 125, 126, 127, 65535, 65536,
	    70000 };
	unsigned char *buf = malloc(80000), *data = malloc(70000);

	(void)state;
	for (size_t i = 0; i < 70000; i++)
		data[i] = (unsigned char)('a' + i % 26);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		for (int bytewise = 0; bytewise < 2; bytewise++) {
			struct ws_parser p;
			struct seen s = { .n = 0 };
			size_t n = frame(buf, 0x82, data, lens[k], mask_key);
			char want[64];

			/* the length encoding: 2, 4 or 10 bytes + the mask */
			assert_int_equal(n - lens[k], lens[k] < 126 ? 6 :
			    lens[k] < 65536 ? 8 : 14);
			ws_parser_init(&p, WS_ROLE_SERVER, 100000);
			assert_int_equal(feed(&p, buf, n, bytewise, &s), 0);
			snprintf(want, sizeof(want), "2:%zu:%.*s;", lens[k],
			    (int)(lens[k] < 32 ? lens[k] : 32), data);
			assert_string_equal(s.log, want);
			ws_parser_free(&p);
		}
	}
	free(buf);
	free(data);
}

static void
test_client_side_unmasked(void **state)
{
	unsigned char buf[64];
	struct ws_parser p;
	struct seen s = { .n = 0 };
	size_t n = frame(buf, 0x81, "hi", 2, NULL);

	(void)state;
	ws_parser_init(&p, WS_ROLE_CLIENT, 1024);
	assert_int_equal(ws_parse(&p, buf, n, on_frame, &s), 0);
	assert_string_equal(s.log, "1:2:hi;");
	/* a masked frame from a server is an error */
	n = frame(buf, 0x81, "hi", 2, mask_key);
	assert_int_equal(ws_parse(&p, buf, n, on_frame, &s), -1);
	assert_int_equal(p.close_code, WS_CLOSE_PROTOCOL);
	ws_parser_free(&p);
}

static void
test_fragments_and_control(void **state)
{
	unsigned char buf[256];
	size_t n = 0;

	(void)state;
	n += frame(buf + n, 0x01, "hel", 3, mask_key);      /* text, !fin */
	n += frame(buf + n, 0x89, "p1", 2, mask_key);       /* ping between */
	n += frame(buf + n, 0x00, "lo ", 3, mask_key);      /* continuation */
	n += frame(buf + n, 0x80, "w\xc3\xb6rld", 6, mask_key);
	n += frame(buf + n, 0x8a, "", 0, mask_key);         /* pong */
	n += frame(buf + n, 0x88, "\x03\xe8" "bye", 5, mask_key);
	n += frame(buf + n, 0x82, "after", 5, mask_key);    /* ignored */
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		struct ws_parser p;
		struct seen s = { .n = 0 };
		int code;
		char reason[WS_REASON_MAX + 1];

		ws_parser_init(&p, WS_ROLE_SERVER, 1024);
		assert_int_equal(feed(&p, buf, n, bytewise, &s), 0);
		assert_string_equal(s.log, "9:2:p1;1:12:hello w..rld;10:0:;"
		    "8:5:..bye;");
		assert_true(p.closed);
		ws_close_parse((const unsigned char *)"\x03\xe8" "bye", 5,
		    &code, reason);
		assert_int_equal(code, 1000);
		assert_string_equal(reason, "bye");
		ws_parser_free(&p);
	}
}

/* One frame fed to a server parser: its close code (0: accepted). */
static int
close_code_of(const unsigned char *buf, size_t n, size_t max)
{
	struct ws_parser p;
	struct seen s = { .n = 0 };
	int rc, code;

	ws_parser_init(&p, WS_ROLE_SERVER, max);
	rc = ws_parse(&p, buf, n, on_frame, &s);
	code = p.close_code;
	assert_int_equal(rc, code ? -1 : 0);
	ws_parser_free(&p);
	return code;
}

static void
test_protocol_errors(void **state)
{
	unsigned char buf[512], big[200];
	size_t n;

	(void)state;
	memset(big, 'x', sizeof(big));
	n = frame(buf, 0x82, "x", 1, NULL);                 /* unmasked */
	assert_int_equal(close_code_of(buf, n, 1024), WS_CLOSE_PROTOCOL);
	n = frame(buf, 0xc2, "x", 1, mask_key);             /* RSV1 */
	assert_int_equal(close_code_of(buf, n, 1024), WS_CLOSE_PROTOCOL);
	n = frame(buf, 0x83, "x", 1, mask_key);             /* opcode 3 */
	assert_int_equal(close_code_of(buf, n, 1024), WS_CLOSE_PROTOCOL);
	n = frame(buf, 0x8b, "x", 1, mask_key);             /* opcode 11 */
	assert_int_equal(close_code_of(buf, n, 1024), WS_CLOSE_PROTOCOL);
	n = frame(buf, 0x09, "x", 1, mask_key);             /* ping, !fin */
	assert_int_equal(close_code_of(buf, n, 1024), WS_CLOSE_PROTOCOL);
	n = frame(buf, 0x89, big, 126, mask_key);           /* long ping */
	assert_int_equal(close_code_of(buf, n, 1024), WS_CLOSE_PROTOCOL);
	n = frame(buf, 0x80, "x", 1, mask_key);             /* stray cont */
	assert_int_equal(close_code_of(buf, n, 1024), WS_CLOSE_PROTOCOL);
	n = frame(buf, 0x01, "x", 1, mask_key);             /* new msg in one */
	n += frame(buf + n, 0x81, "y", 1, mask_key);
	assert_int_equal(close_code_of(buf, n, 1024), WS_CLOSE_PROTOCOL);
	n = frame(buf, 0x82, big, 200, mask_key);           /* too big */
	assert_int_equal(close_code_of(buf, n, 100), WS_CLOSE_TOO_BIG);
	n = frame(buf, 0x02, big, 60, mask_key);            /* fragments */
	n += frame(buf + n, 0x80, big, 60, mask_key);       /* add up to it */
	assert_int_equal(close_code_of(buf, n, 100), WS_CLOSE_TOO_BIG);
	n = frame(buf, 0x81, "\xc3\x28", 2, mask_key);      /* bad UTF-8 */
	assert_int_equal(close_code_of(buf, n, 1024), WS_CLOSE_BAD_DATA);
	n = frame(buf, 0x81, "\xed\xa0\x80", 3, mask_key);  /* surrogate */
	assert_int_equal(close_code_of(buf, n, 1024), WS_CLOSE_BAD_DATA);
	n = frame(buf, 0x82, "\xc3\x28", 2, mask_key);      /* binary: fine */
	assert_int_equal(close_code_of(buf, n, 1024), 0);
	n = frame(buf, 0x88, "\x03", 1, mask_key);          /* close, 1 byte */
	assert_int_equal(close_code_of(buf, n, 1024), WS_CLOSE_PROTOCOL);
	n = frame(buf, 0x88, "\x03\xed", 2, mask_key);      /* 1005 sent */
	assert_int_equal(close_code_of(buf, n, 1024), WS_CLOSE_PROTOCOL);
	n = frame(buf, 0x88, "\x03\xe8\xff", 3, mask_key);  /* reason */
	assert_int_equal(close_code_of(buf, n, 1024), WS_CLOSE_BAD_DATA);
	n = frame(buf, 0x88, "\x0f\xa0", 2, mask_key);      /* 4000: fine */
	assert_int_equal(close_code_of(buf, n, 1024), 0);
	/* a 64-bit length with the top bit set */
	memcpy(buf, "\x82\xff\x80\0\0\0\0\0\0\x01", 10);
	memcpy(buf + 10, mask_key, 4);
	assert_int_equal(close_code_of(buf, 14, 1024), WS_CLOSE_PROTOCOL);
	/* a 64-bit length far over the limit: refused on its header */
	memcpy(buf, "\x82\xff\0\0\0\x01\0\0\0\0", 10);
	assert_int_equal(close_code_of(buf, 14, 1 << 20), WS_CLOSE_TOO_BIG);
}

static void
test_callback_stops(void **state)
{
	unsigned char buf[64];
	struct ws_parser p;
	struct seen s = { .n = 0, .stop = 7 };
	size_t n = frame(buf, 0x82, "a", 1, mask_key);

	(void)state;
	n += frame(buf + n, 0x82, "b", 1, mask_key);
	ws_parser_init(&p, WS_ROLE_SERVER, 1024);
	assert_int_equal(ws_parse(&p, buf, n, on_frame, &s), 7);
	assert_string_equal(s.log, "2:1:a;");
	ws_parser_free(&p);
}

static void
test_close_payload(void **state)
{
	unsigned char out[2 + WS_REASON_MAX];
	char reason[200], back[WS_REASON_MAX + 1];
	size_t n;
	int code;

	(void)state;
	n = ws_close_payload(out, 1009, "too big");
	assert_int_equal(n, 9);
	assert_memory_equal(out, "\x03\xf1too big", 9);
	/* cut to fit, never inside a character: 'x' then 2-byte letters */
	reason[0] = 'x';
	for (int i = 0; i < 60; i++)
		memcpy(reason + 1 + 2 * i, "\xc3\xb6", 2);
	reason[121] = '\0';
	strcat(reason, "\xc3\xb6\xc3\xb6");
	n = ws_close_payload(out, 1000, reason);
	assert_true(n - 2 <= WS_REASON_MAX);
	assert_true(ws_utf8_valid(out + 2, n - 2));
	ws_close_parse(out, n, &code, back);
	assert_int_equal(code, 1000);
	ws_close_parse(out, 0, &code, back);
	assert_int_equal(code, WS_CLOSE_NO_STATUS);
	assert_string_equal(back, "");
}

static void
test_utf8(void **state)
{
	(void)state;
	assert_true(ws_utf8_valid((const unsigned char *)"", 0));
	assert_true(ws_utf8_valid((const unsigned char *)"a\0b", 3));
	assert_true(ws_utf8_valid((const unsigned char *)"\xf0\x9f\x98\x80",
	    4));
	assert_false(ws_utf8_valid((const unsigned char *)"\xf0\x9f\x98",
	    3));
	assert_false(ws_utf8_valid((const unsigned char *)"\xc0\x80", 2));
	assert_false(ws_utf8_valid((const unsigned char *)"\xf4\x90\x80\x80",
	    4));
	assert_false(ws_utf8_valid((const unsigned char *)"\xe0\x80\xaf", 3));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_key),
		cmocka_unit_test(test_lengths_roundtrip),
		cmocka_unit_test(test_client_side_unmasked),
		cmocka_unit_test(test_fragments_and_control),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_close_payload),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
