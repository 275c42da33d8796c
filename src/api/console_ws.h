/*
 * console_ws.h - a console WebSocket's life after the handshake
 * (console_ws.c), for the handlers in console.c and for server.c, which
 * ends them all before it stops.
 */
#ifndef HANGAR_CONSOLE_WS_H
#define HANGAR_CONSOLE_WS_H

#include <stdbool.h>

#include <microhttpd.h>

#include "../daemon/app.h"

struct wsc;

/*
 * A session on v's console, attached now (so that a refusal is still an
 * HTTP reply: 409 when another writes and !takeover, or v does not run).
 * NULL with the error.  The request holds it until console_ws_done.
 */
struct wsc *console_ws_new(struct app *app, const struct vm_rec *v,
    bool write, bool takeover);
/* The request is over (struct req's done): its hold on the session. */
void console_ws_done(void *arg);
/* libmicrohttpd's upgrade handler (cls: the session): starts its thread. */
void console_ws_upgraded(void *cls, struct MHD_Connection *conn,
    void *con_cls, const char *extra_in, size_t extra_in_size,
    MHD_socket sock, struct MHD_UpgradeResponseHandle *urh);
/* End every session (close 1001) and wait for their threads. */
void console_ws_stop_all(void);

#endif
