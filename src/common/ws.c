/*
 * ws.c - the WebSocket protocol (RFC 6455) as pure functions: frames in
 * (a parser fed bytes in pieces of any size), frames out (headers,
 * masking, close payloads), and the handshake's accept key.  No I/O and
 * no allocation beyond the message being joined; see ws.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "ws.h"

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
static const char ws_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
ws_parser_init(struct ws_parser *p, enum ws_role role, size_t max_msg)
{
	memset(p, 0, sizeof(*p));
	p->role = role;
	p->max_msg = max_msg;
}

void
ws_parser_free(struct ws_parser *p)
{
	free(p->msg);
	p->msg = NULL;
	p->msg_len = p->msg_cap = 0;
}

/* Stop with code and reason; -1. */
static int
ws_fail(struct ws_parser *p, int code, const char *reason)
{
	p->close_code = code;
	snprintf(p->reason, sizeof(p->reason), "%s", reason);
	return -1;
}

bool
ws_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], n, cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		if (len - i <= n)
			return false;
		for (unsigned k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* The header's length so far says how long it is: 2, 4, 10, + 4 mask. */
static size_t
ws_header_need(const struct ws_parser *p)
{
	size_t need = 2;

	if (p->hlen < 2)
		return need;
	if ((p->hdr[1] & 0x7f) == 126)
		need += 2;
	else if ((p->hdr[1] & 0x7f) == 127)
		need += 8;
	if (p->hdr[1] & 0x80)
		need += 4;
	return need;
}

/* The header is in: check it against the state; 0 or -1. */
static int
ws_header_done(struct ws_parser *p)
{
	unsigned char b0 = p->hdr[0], b1 = p->hdr[1], len7 = b1 & 0x7f;
	size_t i = 2;

	p->fin = (b0 & 0x80) != 0;
	p->op = b0 & 0x0f;
	p->masked = (b1 & 0x80) != 0;
	if (b0 & 0x70)
		return ws_fail(p, WS_CLOSE_PROTOCOL, "reserved bits are set");
	if (p->masked != (p->role == WS_ROLE_SERVER))
		return ws_fail(p, WS_CLOSE_PROTOCOL, p->masked ?
		    "a server's frames are not masked" :
		    "a client's frames must be masked");
	if (len7 < 126) {
		p->left = len7;
	} else {
		size_t nb = len7 == 126 ? 2 : 8;

		p->left = 0;
		for (size_t k = 0; k < nb; k++)
			p->left = (p->left << 8) | p->hdr[i++];
		if (nb == 8 && (p->left >> 63))
			return ws_fail(p, WS_CLOSE_PROTOCOL, "the length's "
			    "top bit is set");
	}
	if (p->masked)
		memcpy(p->mask, p->hdr + i, 4);
	p->pos = 0;
	if (p->op >= WS_OP_CLOSE) {
		if (p->op > WS_OP_PONG)
			return ws_fail(p, WS_CLOSE_PROTOCOL, "unknown opcode");
		if (!p->fin || p->left > WS_CONTROL_MAX)
			return ws_fail(p, WS_CLOSE_PROTOCOL, "a control frame "
			    "must be whole and at most 125 bytes");
		p->ctl_len = 0;
		return 0;
	}
	if (p->op > WS_OP_BINARY)
		return ws_fail(p, WS_CLOSE_PROTOCOL, "unknown opcode");
	if (p->op == WS_OP_CONT && p->op_msg == 0)
		return ws_fail(p, WS_CLOSE_PROTOCOL, "a continuation frame "
		    "with no message to continue");
	if (p->op != WS_OP_CONT && p->op_msg != 0)
		return ws_fail(p, WS_CLOSE_PROTOCOL, "a new message before "
		    "the last one ended");
	if (p->op != WS_OP_CONT) {
		p->op_msg = p->op;
		p->msg_len = 0;
	}
	if (p->left > p->max_msg - p->msg_len)
		return ws_fail(p, WS_CLOSE_TOO_BIG, "the message is too big");
	if (p->msg_len + p->left > p->msg_cap) {
		size_t cap = p->msg_len + (size_t)p->left;
		unsigned char *m = realloc(p->msg, cap ? cap : 1);

		if (m == NULL)
			return ws_fail(p, WS_CLOSE_INTERNAL, "out of memory");
		p->msg = m;
		p->msg_cap = cap;
	}
	return 0;
}

/* A close frame's payload: a code of its own kind and UTF-8 reason. */
static int
ws_close_check(struct ws_parser *p)
{
	int code;

	if (p->ctl_len == 0)
		return 0;
	if (p->ctl_len == 1)
		return ws_fail(p, WS_CLOSE_PROTOCOL, "a close frame of one "
		    "byte");
	code = p->ctl[0] << 8 | p->ctl[1];
	if (code < 1000 || (code >= 1004 && code <= 1006) ||
	    (code >= 1015 && code < 3000) || code >= 5000)
		return ws_fail(p, WS_CLOSE_PROTOCOL, "a close code that may "
		    "not be sent");
	if (!ws_utf8_valid(p->ctl + 2, p->ctl_len - 2))
		return ws_fail(p, WS_CLOSE_BAD_DATA, "the close reason is not "
		    "UTF-8");
	return 0;
}

/* The frame's payload is all in: hand over what is complete. */
static int
ws_frame_done(struct ws_parser *p, ws_frame_fn fn, void *arg)
{
	enum ws_opcode op;

	p->in_payload = false;
	p->hlen = 0;
	if (p->op >= WS_OP_CLOSE) {
		if (p->op == WS_OP_CLOSE) {
			if (ws_close_check(p) < 0)
				return -1;
			p->closed = true;
		}
		return fn(arg, (enum ws_opcode)p->op, p->ctl, p->ctl_len);
	}
	if (!p->fin)
		return 0;
	op = (enum ws_opcode)p->op_msg;
	p->op_msg = 0;
	if (op == WS_OP_TEXT && !ws_utf8_valid(p->msg, p->msg_len))
		return ws_fail(p, WS_CLOSE_BAD_DATA, "a text message that is "
		    "not UTF-8");
	/* never NULL, even for an empty message */
	return fn(arg, op, p->msg ? p->msg : p->ctl, p->msg_len);
}

int
ws_parse(struct ws_parser *p, const void *buf, size_t n, ws_frame_fn fn,
    void *arg)
{
	const unsigned char *b = buf;
	int rc;

	while (!p->closed && p->close_code == 0) {
		if (!p->in_payload) {
			if (n == 0)
				return 0;
			while (n > 0 && p->hlen < ws_header_need(p)) {
				p->hdr[p->hlen++] = *b++;
				n--;
			}
			if (p->hlen < ws_header_need(p))
				return 0;
			if (ws_header_done(p) < 0)
				return -1;
			p->in_payload = true;
		}
		if (p->left > 0) {
			size_t take = n < p->left ? n : (size_t)p->left;
			unsigned char *dst = p->op >= WS_OP_CLOSE ?
			    p->ctl + p->ctl_len : p->msg + p->msg_len;

			if (take == 0)
				return 0;
			memcpy(dst, b, take);
			if (p->masked)
				ws_mask(dst, take, p->mask, p->pos);
			if (p->op >= WS_OP_CLOSE)
				p->ctl_len += take;
			else
				p->msg_len += take;
			p->pos += take;
			p->left -= take;
			b += take;
			n -= take;
			if (p->left > 0)
				return 0;
		}
		if ((rc = ws_frame_done(p, fn, arg)) != 0)
			return rc;
	}
	return p->close_code ? -1 : 0;
}

void
ws_close_parse(const unsigned char *data, size_t len, int *code,
    char *reason)
{
	*code = len >= 2 ? data[0] << 8 | data[1] : WS_CLOSE_NO_STATUS;
	len = len >= 2 ? len - 2 : 0;
	if (len > WS_REASON_MAX)
		len = WS_REASON_MAX;
	if (len)
		memcpy(reason, data + 2, len);
	reason[len] = '\0';
}

size_t
ws_frame_header(unsigned char *out, enum ws_opcode op, bool fin,
    uint64_t len, const unsigned char *mask)
{
	size_t i = 2;

	out[0] = (unsigned char)((fin ? 0x80 : 0) | (op & 0x0f));
	if (len < 126) {
		out[1] = (unsigned char)len;
	} else if (len <= 0xffff) {
		out[1] = 126;
		out[i++] = (unsigned char)(len >> 8);
		out[i++] = (unsigned char)len;
	} else {
		out[1] = 127;
		for (int k = 7; k >= 0; k--)
			out[i++] = (unsigned char)(len >> (8 * k));
	}
	if (mask) {
		out[1] |= 0x80;
		memcpy(out + i, mask, 4);
		i += 4;
	}
	return i;
}

void
ws_mask(unsigned char *data, size_t len, const unsigned char *mask,
    uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		data[i] ^= mask[(off + i) & 3];
}

size_t
ws_close_payload(unsigned char *out, int code, const char *reason)
{
	size_t n = reason ? strlen(reason) : 0;

	out[0] = (unsigned char)(code >> 8);
	out[1] = (unsigned char)code;
	if (n > WS_REASON_MAX)
		n = WS_REASON_MAX;
	/* cut at a character's start, never inside one */
	while (n > 0 && n < strlen(reason) &&
	    ((unsigned char)reason[n] & 0xc0) == 0x80)
		n--;
	memcpy(out + 2, reason ? reason : "", n);
	return 2 + n;
}

/* Base64 of in[n] into out (4 * ceil(n / 3) + 1 bytes). */
static void
ws_base64(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = ws_b64[(v >> 18) & 63];
		out[o++] = ws_b64[(v >> 12) & 63];
		out[o++] = i + 1 < n ? ws_b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? ws_b64[v & 63] : '=';
	}
	out[o] = '\0';
}

int
ws_accept_key(const char *key, char out[WS_ACCEPT_LEN])
{
	char buf[64];
	unsigned char md[20];
	size_t n = key ? strlen(key) : 0;

	/* 16 bytes in base64: 22 characters and "==" */
	if (n != 24 || strspn(key, ws_b64) != 22 || strcmp(key + 22, "==")
	    != 0)
		return -1;
	snprintf(buf, sizeof(buf), "%s%s", key, ws_guid);
	if (gnutls_hash_fast(GNUTLS_DIG_SHA1, buf, strlen(buf), md) < 0)
		return -1;
	ws_base64(md, sizeof(md), out);
	return 0;
}
