/*
 * ws.h - the WebSocket protocol (RFC 6455) without any I/O: the opening
 * handshake's Sec-WebSocket-Accept, a frame parser that turns bytes into
 * whole messages and control frames, and the frame writer (ws.c).
 *
 * The parser is fed whatever came off the socket, in pieces of any size,
 * and calls back once per complete message (text or binary, fragments
 * joined) and once per control frame (ping, pong, close).  When the
 * peer breaks the protocol it stops and says which close code to send:
 *   1002 WS_CLOSE_PROTOCOL  an unmasked frame from a client (or a masked
 *                           one from a server), reserved bits or
 *                           opcodes, a fragmented or long control frame,
 *                           a continuation with no message, a new
 *                           message inside one, a bad close payload,
 *                           a 64-bit length with its top bit set
 *   1007 WS_CLOSE_BAD_DATA  a text message (or close reason) that is not
 *                           UTF-8
 *   1009 WS_CLOSE_TOO_BIG   a message longer than max_msg
 *
 * Example (a server reading a client):
 *	struct ws_parser p;
 *	ws_parser_init(&p, WS_ROLE_SERVER, 64 * 1024);
 *	if (ws_parse(&p, buf, n, on_frame, ctx) < 0)
 *		send a close frame with p.close_code and p.reason, then close;
 *	ws_parser_free(&p);
 */
#ifndef HANGAR_WS_H
#define HANGAR_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa,
};

/* The close codes hangar sends (RFC 6455 7.4.1). */
#define WS_CLOSE_NORMAL     1000
#define WS_CLOSE_GOING_AWAY 1001
#define WS_CLOSE_PROTOCOL   1002
#define WS_CLOSE_NO_STATUS  1005     /* never sent: a close without a code */
#define WS_CLOSE_BAD_DATA   1007
#define WS_CLOSE_POLICY     1008
#define WS_CLOSE_TOO_BIG    1009
#define WS_CLOSE_INTERNAL   1011

#define WS_CONTROL_MAX 125           /* a control frame's payload */
#define WS_HEADER_MAX 14             /* 2 + 8 (length) + 4 (mask) */
#define WS_ACCEPT_LEN 29             /* base64 of a SHA-1, and its NUL */
#define WS_REASON_MAX 123            /* a close reason, bytes */

/* Which end this parser is: a server wants masked frames, a client not. */
enum ws_role { WS_ROLE_SERVER, WS_ROLE_CLIENT };

/*
 * Called for each complete message (WS_OP_TEXT, WS_OP_BINARY: data is the
 * whole message, fragments joined; text is valid UTF-8) and each control
 * frame (WS_OP_PING, WS_OP_PONG: the payload; WS_OP_CLOSE: the payload as
 * sent, already checked: use ws_close_parse).  data is the parser's, valid
 * during the call.  Non-zero stops ws_parse, which returns it.
 */
typedef int (*ws_frame_fn)(void *arg, enum ws_opcode op,
    const unsigned char *data, size_t len);

struct ws_parser {
	enum ws_role role;
	size_t max_msg;              /* a message's limit, bytes */
	/* the frame being read */
	unsigned char hdr[WS_HEADER_MAX];
	size_t hlen;                 /* header bytes in hdr */
	bool in_payload;             /* the header is complete */
	unsigned char op;            /* its opcode */
	bool fin, masked;
	unsigned char mask[4];
	uint64_t left;               /* payload bytes still to come */
	uint64_t pos;                /* payload bytes seen (mask index) */
	/* the message being joined (op_msg 0: none), and a control frame */
	unsigned char op_msg;
	unsigned char *msg;
	size_t msg_len, msg_cap;
	unsigned char ctl[WS_CONTROL_MAX];
	size_t ctl_len;
	bool closed;                 /* a close frame came: nothing more */
	/* why it failed: the code to close with, and a reason */
	int close_code;
	char reason[WS_REASON_MAX + 1];
};

void ws_parser_init(struct ws_parser *p, enum ws_role role, size_t max_msg);
void ws_parser_free(struct ws_parser *p);

/*
 * Feed n bytes.  0 when all were taken (a frame may be half read), -1
 * when the peer broke the protocol (p->close_code, p->reason; feed no
 * more), or fn's non-zero.  Bytes after a close frame are ignored.
 */
int ws_parse(struct ws_parser *p, const void *buf, size_t n,
    ws_frame_fn fn, void *arg);

/*
 * A close frame's payload: its code (WS_CLOSE_NO_STATUS when empty) and
 * reason (NUL-terminated into reason[WS_REASON_MAX + 1]).  ws_parse has
 * already refused a bad one.
 */
void ws_close_parse(const unsigned char *data, size_t len, int *code,
    char *reason);

/*
 * A frame's header into out (WS_HEADER_MAX bytes of room): fin set, the
 * shortest length encoding, masked with mask[4] when mask is not NULL.
 * Returns its length.  The payload follows as is, or masked (ws_mask).
 */
size_t ws_frame_header(unsigned char *out, enum ws_opcode op, bool fin,
    uint64_t len, const unsigned char *mask);

/* XOR data with mask, as the byte at offset off of a payload onwards. */
void ws_mask(unsigned char *data, size_t len, const unsigned char *mask,
    uint64_t off);

/*
 * A close frame's payload: code and (cut to fit at a UTF-8 boundary)
 * reason, into out (2 + WS_REASON_MAX bytes of room); its length.
 */
size_t ws_close_payload(unsigned char *out, int code, const char *reason);

/*
 * Sec-WebSocket-Accept for the client's Sec-WebSocket-Key: base64 of
 * SHA-1(key + the RFC's GUID), into out[WS_ACCEPT_LEN].  -1 when key is
 * not 16 bytes in base64 (24 characters) (RFC 6455 4.2.1).
 */
int ws_accept_key(const char *key, char out[WS_ACCEPT_LEN]);

/* Is data[len] valid UTF-8 (RFC 3629)? */
bool ws_utf8_valid(const unsigned char *data, size_t len);

#endif
