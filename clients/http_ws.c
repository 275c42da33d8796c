/*
 * http_ws.c - a WebSocket (RFC 6455) client over the CLI's connection, for
 * `hangar vm console`.  The curl here (7.88) has no WebSocket API, so
 * curl only connects (CURLOPT_CONNECT_ONLY: the unix socket, TCP or TLS
 * with the same options as every other request) and this file writes the
 * handshake and the frames itself through curl_easy_send/recv.
 *
 * The client side of the protocol is small: its frames are masked (with
 * random keys), the server's are not; text and binary messages are the
 * console's bytes; a ping is answered; a close is echoed and ends it.
 * The server's Sec-WebSocket-Accept is checked to be there, not
 * recomputed (that needs SHA-1, which the CLI does not link): the CLI only
 * ever talks to hangard, over a connection it chose.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "hangar.h"
#include "http_int.h"
#include "http_ws.h"

#define WS_FRAME_MAX (sizeof(((struct http_ws *)0)->ws_buf) - 14)

static const char ws_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Wait until the socket can be read (in) or written (!in), ms at most. */
static int
ws_wait(struct http_ws *w, bool in, int ms)
{
	struct pollfd pf = { .fd = (int)w->ws_fd,
	    .events = in ? POLLIN : POLLOUT };

	return poll(&pf, 1, ms);
}

/* Send all of buf; 0, or -1 after reporting. */
static int
ws_send_all(struct http_ws *w, const void *buf, size_t n)
{
	const char *p = buf;
	size_t sent;
	CURLcode cc;

	while (n > 0) {
		cc = curl_easy_send(w->ws_h->h_curl, p, n, &sent);
		if (cc == CURLE_AGAIN) {
			if (ws_wait(w, false, 10000) <= 0)
				return cli_fail(CLI_UNREACHABLE, "hangard "
				    "stopped taking what is typed");
			continue;
		}
		if (cc != CURLE_OK)
			return cli_fail(CLI_UNREACHABLE, "the console's "
			    "connection broke: %s", curl_easy_strerror(cc));
		p += sent;
		n -= sent;
	}
	return 0;
}

/* Read what is there into the buffer: 1 some, 0 none now, -1 reported. */
static int
ws_fill(struct http_ws *w)
{
	size_t got;
	CURLcode cc;

	if (w->ws_len == sizeof(w->ws_buf))
		return cli_fail(CLI_ERROR, "hangard sent a frame too large");
	cc = curl_easy_recv(w->ws_h->h_curl, w->ws_buf + w->ws_len,
	    sizeof(w->ws_buf) - w->ws_len, &got);
	if (cc == CURLE_AGAIN)
		return 0;
	if (cc != CURLE_OK || got == 0) {
		w->ws_eof = true;
		return cc == CURLE_OK ? 0 : cli_fail(CLI_UNREACHABLE,
		    "the console's connection broke: %s",
		    curl_easy_strerror(cc));
	}
	w->ws_len += got;
	return 1;
}

/* The reply's head is in: 101 and the headers, or the problem reported. */
static int
ws_check_reply(struct http_ws *w, size_t head)
{
	char *p = w->ws_buf, *cl, msg[1024];
	long status = strtol(p + strcspn(p, " "), NULL, 10);
	size_t body;
	json_t *j;

	w->ws_buf[head - 2] = '\0';
	if (status == 101) {
		if (strcasestr(p, "\nUpgrade: websocket") == NULL ||
		    strcasestr(p, "\nSec-WebSocket-Accept: ") == NULL)
			return cli_fail(CLI_ERROR, "hangard did not open a "
			    "WebSocket");
		memmove(w->ws_buf, w->ws_buf + head, w->ws_len - head);
		w->ws_len -= head;
		return 0;
	}
	cl = strcasestr(p, "\nContent-Length: ");
	body = cl ? strtoul(cl + 17, NULL, 10) : 0;
	while (w->ws_len - head < body && w->ws_len < sizeof(w->ws_buf) &&
	    !w->ws_eof)
		if (ws_fill(w) < 0 || (ws_wait(w, true, 10000) <= 0 &&
		    ws_fill(w) <= 0))
			break;
	j = json_loadb(w->ws_buf + head, w->ws_len - head, 0, NULL);
	problem_message(j, status, msg, sizeof(msg));
	json_decref(j);
	return cli_fail(CLI_ERROR, "%s", msg);
}

/* The handshake's random key, in base64 (24 characters). */
static void
ws_key(char out[25])
{
	unsigned char k[18];
	size_t o = 0;

	if (getrandom(k, 16, 0) != 16)
		memset(k, 0x5a, 16);
	k[16] = k[17] = 0;
	for (size_t i = 0; i < 18; i += 3) {
		unsigned v = (unsigned)k[i] << 16 | (unsigned)k[i + 1] << 8 |
		    k[i + 2];

		for (int s = 18; s >= 0; s -= 6)
			out[o++] = ws_b64[(v >> s) & 63];
	}
	out[22] = out[23] = '=';
	out[24] = '\0';
}

int
http_ws_open(struct http *h, const char *path, struct http_ws *w)
{
	char url[HTTP_URL_MAX + HANGAR_PATH_MAX], req[HTTP_URL_MAX * 2];
	char key[25], *end;
	const char *host = strstr(h->h_base, "://") + 3;
	CURL *c = h->h_curl;
	CURLcode cc;
	int n;

	memset(w, 0, sizeof(*w));
	w->ws_h = h;
	snprintf(url, sizeof(url), "%s%s", h->h_base, path);
	cc = http_setup(h, url, NULL);
	HTTP_SET(CURLOPT_CONNECT_ONLY, 1L);
	/* over TLS too: the upgrade is HTTP/1.1's (no h2 by ALPN) */
	HTTP_SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	if (cc == CURLE_OK)
		cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		cc = curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &w->ws_fd);
	if (cc != CURLE_OK) {
		http_unreachable(h, "GET", path, cc);
		return -1;
	}
	ws_key(key);
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %.*s\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
	    "User-Agent: hangar/" HANGAR_VERSION "\r\n%s%s\r\n", path,
	    (int)strcspn(host, "/"), host, key, h->h_auth,
	    h->h_auth[0] ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(req))
		return cli_fail(CLI_USAGE, "the request is too long");
	if (ws_send_all(w, req, (size_t)n) < 0)
		return -1;
	explicit_bzero(req, sizeof(req));
	while ((end = memmem(w->ws_buf, w->ws_len, "\r\n\r\n", 4)) == NULL) {
		if (w->ws_eof || w->ws_len == sizeof(w->ws_buf))
			return cli_fail(CLI_ERROR, "hangard's answer to the "
			    "console's handshake is not HTTP");
		if (ws_wait(w, true, 30000) <= 0)
			return cli_fail(CLI_UNREACHABLE, "hangard did not "
			    "answer the console's handshake");
		if (ws_fill(w) < 0)
			return -1;
	}
	return ws_check_reply(w, (size_t)(end - w->ws_buf) + 4);
}

int
http_ws_send(struct http_ws *w, int op, const void *data, size_t n)
{
	unsigned char hdr[14], mask[4], buf[4096];
	size_t hn = 2;

	if (getrandom(mask, sizeof(mask), 0) != (ssize_t)sizeof(mask))
		memset(mask, 0x3c, sizeof(mask));
	hdr[0] = (unsigned char)(0x80 | op);
	if (n < 126) {
		hdr[1] = (unsigned char)(0x80 | n);
	} else if (n <= 0xffff) {
		hdr[1] = 0x80 | 126;
		hdr[hn++] = (unsigned char)(n >> 8);
		hdr[hn++] = (unsigned char)n;
	} else {
		hdr[1] = 0x80 | 127;
		for (int k = 7; k >= 0; k--)
			hdr[hn++] = (unsigned char)((uint64_t)n >> (8 * k));
	}
	memcpy(hdr + hn, mask, 4);
	if (ws_send_all(w, hdr, hn + 4) < 0)
		return -1;
	for (size_t off = 0; off < n; off += sizeof(buf)) {
		size_t k = n - off < sizeof(buf) ? n - off : sizeof(buf);

		for (size_t i = 0; i < k; i++)
			buf[i] = ((const unsigned char *)data)[off + i] ^
			    mask[(off + i) & 3];
		if (ws_send_all(w, buf, k) < 0)
			return -1;
	}
	return 0;
}

int
http_ws_close(struct http_ws *w, int code)
{
	unsigned char pl[2] = { (unsigned char)(code >> 8),
	    (unsigned char)code };

	if (w->ws_close_sent)
		return 0;
	w->ws_close_sent = true;
	return http_ws_send(w, 8, pl, 2);
}

/* One whole frame at the buffer's start: handled; 1, 0 (more needed). */
static int
ws_frame(struct http_ws *w, http_ws_fn *fn, void *arg)
{
	unsigned char *b = (unsigned char *)w->ws_buf;
	uint64_t n = b[1] & 0x7f;
	size_t i = 2;
	int op = b[0] & 0x0f;

	if (n >= 126) {
		size_t nb = n == 126 ? 2 : 8;

		if (w->ws_len < 2 + nb)
			return 0;
		for (n = 0; i < 2 + nb; i++)
			n = n << 8 | b[i];
	}
	if (n > WS_FRAME_MAX || (b[1] & 0x80))
		return cli_fail(CLI_ERROR, "hangard sent a frame this client "
		    "cannot read");
	if (w->ws_len < i + n)
		return 0;
	if (op == 1 || op == 2 || op == 0)
		fn(arg, (const char *)b + i, (size_t)n);
	else if (op == 9 && http_ws_send(w, 10, b + i, (size_t)n) < 0)
		return -1;
	else if (op == 8) {
		w->ws_code = n >= 2 ? b[i] << 8 | b[i + 1] : 1005;
		snprintf(w->ws_reason, sizeof(w->ws_reason), "%.*s",
		    n > 2 ? (int)n - 2 : 0, (const char *)b + i + 2);
		w->ws_closed = true;
		w->ws_peer_first = !w->ws_close_sent;
		if (http_ws_close(w, w->ws_code == 1005 ? 1000 :
		    w->ws_code) < 0)
			return -1;
	}
	memmove(b, b + i + n, w->ws_len - i - (size_t)n);
	w->ws_len -= i + (size_t)n;
	return 1;
}

int
http_ws_read(struct http_ws *w, http_ws_fn *fn, void *arg)
{
	int r;

	do {
		while (w->ws_len >= 2 && !w->ws_closed &&
		    (r = ws_frame(w, fn, arg)) != 0)
			if (r < 0)
				return -1;
		if (w->ws_closed || w->ws_eof)
			return 0;
	} while ((r = ws_fill(w)) > 0);
	return r;
}
