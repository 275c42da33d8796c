/*
 * console_ws.c - one console WebSocket after its 101: a thread of its own
 * that pumps bytes between the upgraded socket (frames, common/ws.c) and
 * the VM's console (daemon/console.c).  What the guest prints comes in
 * through the console's hooks (on the backend's event thread), waits in
 * a bounded buffer and wakes the thread through a pipe; what the client
 * sends is parsed here and typed when this client is the writer.
 *
 * Close codes the client may see: 1000 (the console ended: the guest
 * stopped or moved), 1001 (hangard stops), 1002/1007/1009 (its frames:
 * ws.c), 1008 (a watcher typed; it reads too slowly), 4000 (another
 * client took the console over), 1011 (the console refused input).
 *
 * Lifetime: a struct wsc is shared by the request (until the request is
 * over: console_ws_done) and the thread (from the 101 until it ends); the
 * last one to let go detaches from the console and frees it.  Every live
 * thread is on a list so that api_stop can end them first
 * (console_ws_stop_all): libmicrohttpd must not stop under them.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/error.h"
#include "../common/log.h"
#include "../common/ws.h"
#include "console_ws.h"

#define WSC_OUT_MAX (256 * 1024)    /* output waiting for a slow client */
#define WSC_MSG_MAX (64 * 1024)     /* a message from the client */
#define WSC_FRAME_OUT (16 * 1024)   /* a frame to the client, at most */
#define WSC_SEND_WAIT_MS 10000      /* a send that makes no progress */
#define WSC_CLOSE_WAIT_MS 2000      /* for the client's close frame */
#define WSC_PING_MS 30000           /* keep idle connections alive */
#define WSC_TAKEN 4000              /* our close code: taken over */

struct wsc {
	pthread_mutex_t mu;          /* everything below */
	int refs;
	bool upgraded;               /* the 101 went out: the thread has cl */
	struct app *app;
	struct console_client *cl;
	bool writer;
	char vm[NAME_MAX_LEN];
	int wake[2];                 /* a byte here: look at out / end */
	unsigned char *out;
	size_t nout;
	int end_code;                /* 0: going on */
	char end_reason[WS_REASON_MAX + 1];
	/* the thread's, no lock needed */
	MHD_socket sock;
	struct MHD_UpgradeResponseHandle *urh;
	struct ws_parser p;
	unsigned char *extra;        /* what came with the request's headers */
	size_t nextra;
	bool close_sent, close_seen;
	struct wsc *next;            /* on wsc_all.list */
};

/* Every thread (one process, one API: a static list). */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t gone;
	struct wsc *list;
	bool stopping;
} wsc_all = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL,
    false };

static void
wsc_poke(struct wsc *w)
{
	char c = 1;

	if (write(w->wake[1], &c, 1) < 0 && errno != EAGAIN)
		log_debug("console: wake-up pipe: %s", strerror(errno));
}

/* End the session with code and reason (w->mu held), once. */
static void
wsc_end_locked(struct wsc *w, int code, const char *why)
{
	if (w->end_code)
		return;
	w->end_code = code;
	snprintf(w->end_reason, sizeof(w->end_reason), "%s", why);
	wsc_poke(w);
}

/* The console's hooks (its lock held; the backend's thread for output) */
static void
wsc_on_output(void *arg, const char *data, size_t n)
{
	struct wsc *w = arg;

	pthread_mutex_lock(&w->mu);
	if (w->end_code == 0 && n > WSC_OUT_MAX - w->nout) {
		wsc_end_locked(w, WS_CLOSE_POLICY, "the client reads the "
		    "console too slowly");
	} else if (w->end_code == 0) {
		memcpy(w->out + w->nout, data, n);
		if (w->nout == 0)
			wsc_poke(w);
		w->nout += n;
	}
	pthread_mutex_unlock(&w->mu);
}

static void
wsc_on_ended(void *arg, int why, const char *msg)
{
	struct wsc *w = arg;

	pthread_mutex_lock(&w->mu);
	wsc_end_locked(w, why == CONSOLE_END_TAKEN ? WSC_TAKEN :
	    WS_CLOSE_NORMAL, msg);
	pthread_mutex_unlock(&w->mu);
}

static const struct console_hooks wsc_hooks = {
	.output = wsc_on_output,
	.ended = wsc_on_ended,
};

static void
wsc_unref(struct wsc *w)
{
	bool last;

	pthread_mutex_lock(&w->mu);
	last = --w->refs == 0;
	pthread_mutex_unlock(&w->mu);
	if (!last)
		return;
	ws_parser_free(&w->p);
	free(w->extra);
	close(w->wake[0]);
	close(w->wake[1]);
	free(w->out);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

struct wsc *
console_ws_new(struct app *app, const struct vm_rec *v, bool write,
    bool takeover)
{
	struct wsc *w = calloc(1, sizeof(*w));

	if (w == NULL || (w->out = malloc(WSC_OUT_MAX)) == NULL) {
		if (w)
			free(w->out);
		free(w);
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	if (pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		err_set(ERR_INTERNAL, "pipe: %s", strerror(errno));
		free(w->out);
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->mu, NULL);
	w->refs = 1;
	w->app = app;
	w->writer = write;
	snprintf(w->vm, sizeof(w->vm), "%s", v->name);
	ws_parser_init(&w->p, WS_ROLE_SERVER, WSC_MSG_MAX);
	if (console_attach(app, v, write, takeover, &wsc_hooks, w,
	    &w->cl) < 0) {
		w->cl = NULL;
		wsc_unref(w);
		return NULL;
	}
	return w;
}

/* Leave the console (never with w->mu held: its hooks take it). */
static void
wsc_leave(struct wsc *w)
{
	struct console_client *cl;

	pthread_mutex_lock(&w->mu);
	cl = w->cl;
	w->cl = NULL;
	pthread_mutex_unlock(&w->mu);
	console_detach(cl);
}

/* The request is over: without a 101 nobody else will leave for it. */
void
console_ws_done(void *arg)
{
	struct wsc *w = arg;
	bool up;

	pthread_mutex_lock(&w->mu);
	up = w->upgraded;
	pthread_mutex_unlock(&w->mu);
	if (!up)
		wsc_leave(w);
	wsc_unref(w);
}

/* Off the list of threads (the thread ends). */
static void
wsc_unlist(struct wsc *w)
{
	pthread_mutex_lock(&wsc_all.mu);
	for (struct wsc **p = &wsc_all.list; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	pthread_cond_broadcast(&wsc_all.gone);
	pthread_mutex_unlock(&wsc_all.mu);
}

/*
 * Send all of buf, waiting (poll) while the socket is full, at most
 * WSC_SEND_WAIT_MS without progress.  0, or -1 when the client is gone.
 */
static int
wsc_send_all(struct wsc *w, const unsigned char *buf, size_t n)
{
	while (n > 0) {
		ssize_t k = send(w->sock, buf, n, MSG_NOSIGNAL);
		struct pollfd pf = { .fd = w->sock, .events = POLLOUT };

		if (k > 0) {
			buf += k;
			n -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) ||
		    poll(&pf, 1, WSC_SEND_WAIT_MS) <= 0)
			return -1;
	}
	return 0;
}

/* One frame (server frames are not masked). */
static int
wsc_send(struct wsc *w, enum ws_opcode op, const void *data, size_t n)
{
	unsigned char h[WS_HEADER_MAX];
	size_t hn = ws_frame_header(h, op, true, n, NULL);

	if (w->close_sent)
		return -1;
	if (op == WS_OP_CLOSE)
		w->close_sent = true;
	return wsc_send_all(w, h, hn) < 0 || wsc_send_all(w, data, n) < 0 ?
	    -1 : 0;
}

static int
wsc_send_close(struct wsc *w, int code, const char *reason)
{
	unsigned char pl[2 + WS_REASON_MAX] = { 0 };

	if (code == WS_CLOSE_NO_STATUS)
		return wsc_send(w, WS_OP_CLOSE, pl, 0);
	return wsc_send(w, WS_OP_CLOSE, pl, ws_close_payload(pl, code,
	    reason));
}

/* Type what the client sent; a console that refuses ends it. */
static int
wsc_type(struct wsc *w, const unsigned char *data, size_t n)
{
	int tries = 0;

	if (!w->writer) {
		wsc_send_close(w, WS_CLOSE_POLICY, "this connection only "
		    "watches the console (mode=read)");
		return 1;
	}
	while (n > 0 && console_write(w->cl, data, n) < 0) {
		/* the console takes input as the guest reads it */
		if (err_last()->code == ERR_UNAVAILABLE && ++tries < 200) {
			usleep(10000);
			continue;
		}
		wsc_send_close(w, err_last()->code == ERR_FORBIDDEN ?
		    WSC_TAKEN : WS_CLOSE_INTERNAL, err_last()->msg);
		return 1;
	}
	return 0;
}

/* ws_parse's callback: a message or control frame from the client. */
static int
wsc_on_frame(void *arg, enum ws_opcode op, const unsigned char *data,
    size_t n)
{
	struct wsc *w = arg;
	int code;
	char reason[WS_REASON_MAX + 1];

	switch (op) {
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		return wsc_type(w, data, n);
	case WS_OP_PING:
		return wsc_send(w, WS_OP_PONG, data, n) < 0 ? 1 : 0;
	case WS_OP_CLOSE:
		/* echo its code (RFC 6455 5.5.1), then we are done */
		w->close_seen = true;
		ws_close_parse(data, n, &code, reason);
		if (!w->close_sent)
			wsc_send_close(w, code, reason);
		return 1;
	default:
		return 0;
	}
}

/* Bytes from the client; 1 when the session is over. */
static int
wsc_input(struct wsc *w, const void *buf, size_t n)
{
	int rc = ws_parse(&w->p, buf, n, wsc_on_frame, w);

	if (rc == -1) {
		log_info("console: vm '%s': client closed with %d: %s", w->vm,
		    w->p.close_code, w->p.reason);
		wsc_send_close(w, w->p.close_code, w->p.reason);
		return 1;
	}
	return rc != 0 || w->close_sent;
}

/* Output waiting, and the end: 1 when the session is over. */
static int
wsc_output(struct wsc *w, unsigned char *buf)
{
	char c[64];
	size_t n;
	int code;
	char reason[WS_REASON_MAX + 1];

	while (read(w->wake[0], c, sizeof(c)) > 0)
		;
	pthread_mutex_lock(&w->mu);
	n = w->nout;
	memcpy(buf, w->out, n);
	w->nout = 0;
	code = w->end_code;
	snprintf(reason, sizeof(reason), "%s", w->end_reason);
	pthread_mutex_unlock(&w->mu);
	/* in frames a small client can hold whole */
	for (size_t off = 0; off < n; off += WSC_FRAME_OUT)
		if (wsc_send(w, WS_OP_BINARY, buf + off,
		    n - off < WSC_FRAME_OUT ? n - off : WSC_FRAME_OUT) < 0)
			return 1;
	if (code == 0)
		return 0;
	wsc_send_close(w, code, reason);
	return 1;
}

/* Give the client a moment to answer our close, then let go. */
static void
wsc_linger(struct wsc *w)
{
	unsigned char buf[4096];
	struct pollfd pf = { .fd = w->sock, .events = POLLIN };
	int waited = 0;

	while (w->close_sent && !w->close_seen && waited < WSC_CLOSE_WAIT_MS &&
	    poll(&pf, 1, 100) >= 0) {
		ssize_t k = recv(w->sock, buf, sizeof(buf), MSG_DONTWAIT);

		waited += 100;
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
			break;
		/* frames after ours: only its close matters */
		if (k > 0 && ws_parse(&w->p, buf, (size_t)k, wsc_on_frame, w))
			break;
	}
}

static void *
wsc_thread(void *arg)
{
	struct wsc *w = arg;
	unsigned char *buf = malloc(WSC_OUT_MAX);
	struct pollfd pf[2] = { { .fd = w->sock, .events = POLLIN },
	    { .fd = w->wake[0], .events = POLLIN } };
	bool over = buf == NULL;

	if (!over && w->nextra > 0)
		over = wsc_input(w, w->extra, w->nextra);
	while (!over) {
		int k = poll(pf, 2, WSC_PING_MS);

		if (k < 0 && errno != EINTR)
			break;
		if (k == 0) {
			over = wsc_send(w, WS_OP_PING, "", 0) < 0;
			continue;
		}
		if (pf[1].revents & POLLIN)
			over = wsc_output(w, buf);
		if (!over && (pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = recv(w->sock, buf, WSC_OUT_MAX,
			    MSG_DONTWAIT);

			if (n > 0)
				over = wsc_input(w, buf, (size_t)n);
			else if (n == 0 || (errno != EAGAIN && errno != EINTR))
				over = true;
		}
	}
	free(buf);
	wsc_leave(w);
	wsc_linger(w);
	MHD_upgrade_action(w->urh, MHD_UPGRADE_ACTION_CLOSE);
	wsc_unlist(w);
	wsc_unref(w);
	return NULL;
}

void
console_ws_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls,
    const char *extra_in, size_t extra_in_size, MHD_socket sock,
    struct MHD_UpgradeResponseHandle *urh)
{
	struct wsc *w = cls;
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	(void)conn;
	(void)con_cls;
	w->sock = sock;
	w->urh = urh;
	/* frames that came with the headers: read by the thread (sending
	 * here could block libmicrohttpd's thread) */
	if (extra_in_size > 0 && (w->extra = malloc(extra_in_size)) != NULL) {
		memcpy(w->extra, extra_in, extra_in_size);
		w->nextra = extra_in_size;
	}
	pthread_mutex_lock(&w->mu);
	w->upgraded = true;
	w->refs++;                  /* the thread's */
	pthread_mutex_unlock(&w->mu);
	pthread_mutex_lock(&wsc_all.mu);
	if (wsc_all.stopping) {
		pthread_mutex_lock(&w->mu);
		wsc_end_locked(w, WS_CLOSE_GOING_AWAY, "hangard is stopping");
		pthread_mutex_unlock(&w->mu);
	}
	w->next = wsc_all.list;
	wsc_all.list = w;
	pthread_mutex_unlock(&wsc_all.mu);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, wsc_thread, w);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		log_warnx("console: vm '%s': no thread for its WebSocket: %s",
		    w->vm, strerror(rc));
		/* as the thread would end */
		wsc_leave(w);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		wsc_unlist(w);
		wsc_unref(w);
	}
}

void
console_ws_stop_all(void)
{
	pthread_mutex_lock(&wsc_all.mu);
	wsc_all.stopping = true;
	for (struct wsc *w = wsc_all.list; w; w = w->next) {
		pthread_mutex_lock(&w->mu);
		wsc_end_locked(w, WS_CLOSE_GOING_AWAY, "hangard is stopping");
		pthread_mutex_unlock(&w->mu);
	}
	/* stopping stays set: a handshake that still completes on a
	 * connection kept alive until the daemons stop ends at once */
	while (wsc_all.list)
		pthread_cond_wait(&wsc_all.gone, &wsc_all.mu);
	pthread_mutex_unlock(&wsc_all.mu);
}
