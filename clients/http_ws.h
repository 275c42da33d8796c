/*
 * http_ws.h - a WebSocket client over the CLI's connection (http_ws.c),
 * for `hangar vm console`.
 */
#ifndef HANGAR_HTTP_WS_H
#define HANGAR_HTTP_WS_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "http.h"

struct http_ws {
	struct http	*ws_h;
	curl_socket_t	 ws_fd;		/* to poll(); curl reads and writes */
	char		 ws_buf[64 * 1024];	/* read, not yet handled */
	size_t		 ws_len;
	bool		 ws_eof;	/* the connection ended */
	bool		 ws_closed;	/* hangard's close frame came */
	bool		 ws_close_sent;
	bool		 ws_peer_first;	/* hangard closed first */
	int		 ws_code;	/* its code, and reason */
	char		 ws_reason[128];
};

/* Called with the bytes of each message hangard sends. */
typedef void	 http_ws_fn(void *, const char *, size_t);

/*
 * Open a WebSocket to path (query included, escaped) on h's connection,
 * as h's other requests go (unix socket, TCP, TLS, token).  0, or -1
 * after reporting (a refusal by its problem detail: 409, 403, ...).
 */
int	 http_ws_open(struct http *, const char *, struct http_ws *);
/* Send one frame (op 1 text, 2 binary, 8 close, 9 ping, 10 pong). */
int	 http_ws_send(struct http_ws *, int, const void *, size_t);
/* Send a close frame with code (once). */
int	 http_ws_close(struct http_ws *, int);
/*
 * Read what has come (without waiting): each message to fn, pings
 * answered, a close echoed (ws_closed, ws_code, ws_reason set).  0, or -1
 * after reporting.  ws_eof once the connection has ended.
 */
int	 http_ws_read(struct http_ws *, http_ws_fn *, void *);

#endif
