/*
 * fuzz_ws.c - libFuzzer target for the WebSocket frame parser
 * (src/common/ws.c), which reads bytes from any client of
 * GET /v1/vms/{vm}/console before it has been checked for anything.
 *
 * Input: byte 0 picks the role (bit 0: client) and the size of the
 * pieces the rest is fed in (bits 1-7: 1..127 bytes, 0: all at once);
 * the rest is the byte stream.  The message limit is 4096.
 * Checks:
 *  - a failure names a close code of the three kinds it may send (1002,
 *    1007, 1009; 1011 only when out of memory) and a reason;
 *  - every message is at most the limit, every text message is valid
 *    UTF-8 (an independent decoder, fuzz.h), every control frame at most
 *    125 bytes, nothing comes after a close;
 *  - splitting the input differently changes nothing: the same events
 *    and the same verdict whole and in pieces;
 *  - what came out, written again with ws_frame_header (and masked for a
 *    server), parses back to the same events.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/ws.h"
#include "fuzz.h"

#define FUZZ_WS_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The events, as a byte string: op, length (4 bytes), payload. */
struct events {
	unsigned char *b;
	size_t n, cap;
	bool closed;
};

static void
ev_put(struct events *e, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (e->n + n > e->cap) {
		e->cap = (e->n + n) * 2;
		if ((e->b = realloc(e->b, e->cap)) == NULL)
			abort();
	}
	memcpy(e->b + e->n, p, n);
	e->n += n;
}

static int
on_frame(void *arg, enum ws_opcode op, const unsigned char *d, size_t len)
{
	struct events *e = arg;
	unsigned char h[5] = { (unsigned char)op, (unsigned char)(len >> 24),
	    (unsigned char)(len >> 16), (unsigned char)(len >> 8),
	    (unsigned char)len };
	char *s;

	FUZZ_CHECK(!e->closed, "a frame after the close");
	FUZZ_CHECK(op == WS_OP_TEXT || op == WS_OP_BINARY ||
	    op == WS_OP_CLOSE || op == WS_OP_PING || op == WS_OP_PONG,
	    "opcode %d handed over", op);
	if (op >= WS_OP_CLOSE)
		FUZZ_CHECK(len <= WS_CONTROL_MAX, "control frame of %zu", len);
	else
		FUZZ_CHECK(len <= FUZZ_WS_MAX, "message of %zu", len);
	if (op == WS_OP_TEXT) {
		s = malloc(len + 1);
		if (s == NULL)
			abort();
		memcpy(s, d, len);
		s[len] = '\0';
		/* the fuzz.h decoder stops at a NUL: check each piece */
		for (size_t i = 0; i <= len; i += strlen(s + i) + 1)
			FUZZ_CHECK(fuzz_utf8_valid(s + i), "text message is "
			    "not UTF-8");
		free(s);
	}
	if (op == WS_OP_CLOSE)
		e->closed = true;
	ev_put(e, h, sizeof(h));
	ev_put(e, d, len);
	return 0;
}

/* Parse data[size] in pieces of step (0: whole); the verdict. */
static int
run(enum ws_role role, const uint8_t *data, size_t size, size_t step,
    struct events *e)
{
	struct ws_parser p;
	int rc = 0;

	ws_parser_init(&p, role, FUZZ_WS_MAX);
	for (size_t i = 0; rc == 0 && i < size; i += step ? step : size) {
		size_t n = step && size - i > step ? step : size - i;

		rc = ws_parse(&p, data + i, n, on_frame, e);
	}
	if (rc != 0) {
		FUZZ_CHECK(rc == -1, "ws_parse returned %d", rc);
		FUZZ_CHECK(p.close_code == WS_CLOSE_PROTOCOL ||
		    p.close_code == WS_CLOSE_BAD_DATA ||
		    p.close_code == WS_CLOSE_TOO_BIG ||
		    p.close_code == WS_CLOSE_INTERNAL,
		    "close code %d", p.close_code);
		FUZZ_CHECK(p.reason[0] != '\0', "no reason");
		rc = p.close_code;
	}
	ws_parser_free(&p);
	return rc;
}

/* The events written again as frames, masked when to a server. */
static void
rewrite(const struct events *e, enum ws_role role, struct events *out)
{
	static const unsigned char mask[4] = { 1, 2, 3, 4 };
	unsigned char h[WS_HEADER_MAX], *pl;

	for (size_t i = 0; i < e->n;) {
		enum ws_opcode op = (enum ws_opcode)e->b[i];
		size_t len = (size_t)e->b[i + 1] << 24 |
		    (size_t)e->b[i + 2] << 16 | (size_t)e->b[i + 3] << 8 |
		    e->b[i + 4];
		const unsigned char *m = role == WS_ROLE_SERVER ? mask : NULL;
		size_t hn = ws_frame_header(h, op, true, len, m);

		ev_put(out, h, hn);
		if ((pl = malloc(len + 1)) == NULL)
			abort();
		memcpy(pl, e->b + i + 5, len);
		if (m)
			ws_mask(pl, len, m, 0);
		ev_put(out, pl, len);
		free(pl);
		i += 5 + len;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct events whole = { 0 }, pieces = { 0 }, frames = { 0 },
	    again = { 0 };
	enum ws_role role;
	size_t step;
	int v1, v2, v3;

	if (size == 0)
		return 0;
	role = data[0] & 1 ? WS_ROLE_CLIENT : WS_ROLE_SERVER;
	step = data[0] >> 1;
	v1 = run(role, data + 1, size - 1, 0, &whole);
	v2 = run(role, data + 1, size - 1, step ? step : 1, &pieces);
	FUZZ_CHECK(v1 == v2, "verdict %d whole, %d in pieces of %zu", v1, v2,
	    step);
	FUZZ_CHECK(whole.n == pieces.n && (whole.n == 0 ||
	    memcmp(whole.b, pieces.b, whole.n) == 0),
	    "other events in pieces of %zu", step);
	rewrite(&whole, role, &frames);
	v3 = run(role, frames.b, frames.n, 0, &again);
	FUZZ_CHECK(v3 == 0, "its own frames refused with %d", v3);
	FUZZ_CHECK(again.n == whole.n && (whole.n == 0 ||
	    memcmp(whole.b, again.b, whole.n) == 0),
	    "its own frames read back differently");
	free(whole.b);
	free(pieces.b);
	free(frames.b);
	free(again.b);
	return 0;
}
