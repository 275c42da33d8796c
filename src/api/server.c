/*
 * server.c - the HTTP front end on libmicrohttpd: listening sockets
 * (HTTPS on TCP when tls_cert is set), access control (auth.c) before a
 * byte of a body is read, reading bodies (bounded), content-type checks,
 * dispatch through the route table, and writing replies.  Errors from
 * anywhere below become a problem+json reply here and only here.
 *
 * A ROUTE_STREAM route's body (an image upload) is not read into memory
 * but handed to its sink (req.h) as it comes; a sink that fails part-way
 * has the rest of the declared body dropped, so that its error reaches
 * the client.
 *
 * Threads: each listener is served by a small pool of libmicrohttpd
 * threads (epoll), each thread serving many connections.  A request runs
 * on its connection's pool thread only when its route says it is quick
 * and never waits (ROUTE_POOL in router.c); anything else, and any
 * request with ?wait=N, runs on a thread of its own (server_spawn) while
 * its connection is suspended, so a request that waits for an operation,
 * libvirt or the database's writer never holds up another connection.
 * Event streams park without a thread (events.c); a console's WebSocket,
 * once upgraded, has a thread of its own (console_ws.c).  api_stop()
 * waits for the own threads, resumes the parked streams and ends the
 * WebSockets before it stops the daemons (libmicrohttpd must not be
 * stopped with a connection suspended or upgraded).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../common/error.h"
#include "../common/log.h"
#include "../common/metrics.h"
#include "api.h"
#include "console_ws.h"
#include "listen.h"
#include "metrics_int.h"
#include "req.h"

#define SERVER_MAX_DAEMONS CONFIG_LISTEN_MAX
#define SERVER_POOL_MIN 2              /* threads per listener */
#define SERVER_POOL_MAX 8
/*
 * A request refused before its body was read (access, size) still has
 * its body read and thrown away, up to this many bytes, before the reply
 * goes out: a client still sending when the connection closes gets a
 * reset and never reads the reply (nginx's lingering close does the
 * same).  A longer body is answered at once and the connection closed.
 */
#define SERVER_DRAIN_MAX (8 * 1024 * 1024)

/*
 * Memory per connection (libmicrohttpd's default is 32 KiB).  A body is
 * read in chunks of up to half of it: a 2 GiB image upload comes in
 * ~33,000 chunks of <= 64 KiB instead of ~133,000 of <= 16 KiB, and
 * hangard's CPU for it fell from 5.5-7.6 s to 5.3-5.7 s (single runs on
 * a loaded machine; fewer reads, wakeups and ACKs).  libmicrohttpd
 * zeroes the whole pool for each request on a kept-alive connection, so
 * every such request costs 2-3 us more (24-30 us of CPU per GET of /v1
 * instead of 22-28 us, 5,000 on one connection); 1 MiB cut the upload's
 * CPU further but cost ~23 us per request.
 */
#define SERVER_CONN_MEMORY (128 * 1024)

/* One listening address: what its requests' access check needs. */
struct server_listener {
	struct api *api;
	bool is_unix;            /* peer credentials give a role */
	bool tls;                /* HTTPS */
	bool client_ca;          /* HTTPS wanting a client certificate */
};

struct api {
	struct app *app;
	struct MHD_Daemon *d[SERVER_MAX_DAEMONS];
	struct server_listener lis[SERVER_MAX_DAEMONS];
	char unix_path[SERVER_MAX_DAEMONS][CONFIG_STR_MAX];
	size_t n;
	struct auth_unix unix_roles;
	/* PEM text of tls_cert, tls_key, tls_client_ca (NULL: not set) */
	char *tls_cert, *tls_key, *tls_ca;
	struct auth_tokens *tokens;
	struct events_hub *hub;
	/* requests on threads of their own (server_spawn) */
	pthread_mutex_t mu;
	pthread_cond_t idle;     /* nthreads fell to 0 */
	unsigned nthreads;
	bool stopping;           /* api_stop: no new threads */
};

/* Where a request is, across libmicrohttpd's calls. */
enum server_state {
	SERVER_READING = 0,      /* headers and body coming in */
	SERVER_RUNNING,          /* on its own thread, connection suspended */
	SERVER_DONE,             /* that thread left the reply in resp */
};

/* Per-request state across libmicrohttpd's calls. */
struct server_conn {
	char *body;
	size_t len, cap;
	bool replied;            /* refused before the body (auth, size) */
	bool refused;            /* refused; the reply waits for the body's
	                          * end, which is read and dropped */
	struct err refusal;      /* ... its error */
	json_t *refusal_ext;     /* ... and extra members (owned), or NULL */
	uint64_t dropped;        /* bytes of the body thrown away */
	uint64_t drop_max;       /* ... at most; then the connection closes */
	const struct req_sink *sink;   /* ROUTE_STREAM: where the body goes */
	void *sink_state;
	struct auth_who who;
	enum server_state state;
	bool pool;               /* its route runs on the pool (router.c) */
	/* for server_thread: the request and, once run, its reply */
	struct server_listener *l;
	struct MHD_Connection *conn;
	const char *url, *method;    /* libmicrohttpd's, live with conn */
	unsigned status;
	struct MHD_Response *resp;   /* owned until queued */
	void (*done)(void *arg);     /* the handler's (struct req), or NULL */
	void *done_arg;
	int64_t t0;                  /* metrics: when its headers were in */
	const char *route;           /* ... its route's pattern, or NULL */
};

/*
 * The reply: text (taken; len bytes of JSON), or NULL when it could not
 * be made (then a 500: *status is set).  challenge: a WWW-Authenticate
 * value (401), or NULL.  The response is the caller's, NULL when out of
 * memory.
 */
static struct MHD_Response *
server_build_text(unsigned *status, char *text, size_t len,
    const char *ctype, const char *location, const char *allow,
    const char *challenge)
{
	struct MHD_Response *resp;
	static const char fallback[] = "{\"type\":\"urn:hangar:problem:"
	    "internal-error\",\"title\":\"Internal Server Error\",\"status\":"
	    "500,\"detail\":\"the reply could not be encoded\","
	    "\"retryable\":false}";

	if (text == NULL) {
		*status = 500;
		ctype = "application/problem+json";
		resp = MHD_create_response_from_buffer(sizeof(fallback) - 1,
		    (void *)(uintptr_t)fallback, MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_buffer(len, text,
		    MHD_RESPMEM_MUST_FREE);
	}
	if (resp == NULL) {
		free(text);
		return NULL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store");
	if (location && location[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION,
		    location);
	if (allow && allow[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	if (challenge)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    challenge);
	return resp;
}

/* The same for reply (borrowed; NULL when it could not be made). */
static struct MHD_Response *
server_build(unsigned *status, json_t *reply, const char *ctype,
    const char *location, const char *allow, const char *challenge)
{
	char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;

	return server_build_text(status, text, text ? strlen(text) : 0, ctype,
	    location, allow, challenge);
}

/* Queue resp (consumed; NULL: out of memory, the connection closes). */
static enum MHD_Result
server_queue(struct MHD_Connection *conn, unsigned status,
    struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (resp == NULL)
		return MHD_NO;
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A remembered reply, sent again (Idempotency-Key); rep->body is taken. */
static struct MHD_Response *
server_replay(struct idem_reply *rep)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(strlen(rep->body), rep->body,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(rep->body);
		return NULL;
	}
	rep->body = NULL;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store");
	MHD_add_response_header(resp, "Idempotent-Replayed", "true");
	if (rep->location[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION,
		    rep->location);
	return resp;
}

/* The problem+json reply for err_last(); *status is set. */
static struct MHD_Response *
server_problem(unsigned *status, const char *path, const char *allow,
    json_t *ext)
{
	const struct err *e = err_last();
	json_t *p = problem_json(e, path);
	struct MHD_Response *resp;
	const char *challenge = NULL;

	*status = (unsigned)err_code_http(e->code == ERR_NONE ? ERR_INTERNAL :
	    e->code);
	if (*status >= 500)
		log_warnx("%u on %s: %s", *status, path, e->msg);
	if (p && ext)
		json_object_update_missing(p, ext);
	/* RFC 6750: a token was sent (the field at fault) but is no good */
	if (e->code == ERR_UNAUTHORIZED)
		challenge = e->field[0] ? "Bearer realm=\"hangar\", "
		    "error=\"invalid_token\"" : "Bearer realm=\"hangar\"";
	resp = server_build(status, p, "application/problem+json", NULL,
	    allow, challenge);
	json_decref(p);
	return resp;
}

/*
 * Refuse the request with err_last() (and ext, borrowed, may be NULL).
 * One with a body of at most SERVER_DRAIN_MAX bytes (or chunked: until
 * it passes that) is answered once the body is in, read and dropped; any
 * other at once.
 */
static enum MHD_Result
server_refuse(struct server_conn *sc, json_t *ext)
{
	const char *cl = MHD_lookup_connection_value(sc->conn,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(sc->conn,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	unsigned long long len = cl ? strtoull(cl, NULL, 10) : 0;
	struct MHD_Response *resp;
	unsigned status;

	if ((te != NULL || len > 0) && len <= SERVER_DRAIN_MAX &&
	    sc->dropped <= SERVER_DRAIN_MAX) {
		sc->refused = true;
		sc->drop_max = SERVER_DRAIN_MAX;
		err_save(&sc->refusal);
		sc->refusal_ext = ext ? json_incref(ext) : NULL;
		return MHD_YES;
	}
	sc->replied = true;
	resp = server_problem(&status, sc->url, NULL, ext);
	return server_queue(sc->conn, status, resp);
}

/* A ROUTE_STREAM request's first call: its sink checks it. */
static enum MHD_Result
server_sink_open(struct server_conn *sc)
{
	struct req r;
	char allow[128];

	memset(&r, 0, sizeof(r));
	r.app = sc->l->api->app;
	r.conn = sc->conn;
	r.method = sc->method;
	r.path = sc->url;
	r.hub = sc->l->api->hub;
	if (router_match(&r, allow, sizeof(allow)) == NULL ||
	    sc->sink->open(&r, &sc->sink_state) < 0)
		return server_refuse(sc, NULL);
	return MHD_YES;
}

/*
 * Bytes of a ROUTE_STREAM request's body to its sink.  When it fails, the
 * rest of the declared body (or SERVER_DRAIN_MAX of a chunked one) is
 * dropped before the error is sent, so that the client reads it.
 */
static enum MHD_Result
server_sink_write(struct server_conn *sc, const char *data, size_t *size)
{
	const char *cl = MHD_lookup_connection_value(sc->conn,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long len = cl ? strtoull(cl, NULL, 10) : 0;
	size_t n = *size;

	*size = 0;
	sc->len += n;
	if (sc->sink->write(sc->sink_state, data, n) == 0)
		return MHD_YES;
	sc->refused = true;
	err_save(&sc->refusal);
	sc->dropped = sc->len;
	sc->drop_max = len > SERVER_DRAIN_MAX ? len : SERVER_DRAIN_MAX;
	return MHD_YES;
}

static bool
server_is_json(const char *ctype)
{
	static const char want[] = "application/json";
	size_t n = sizeof(want) - 1;

	if (ctype == NULL || strncasecmp(ctype, want, n) != 0)
		return false;
	return ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ';
}

/* Parse the body into r->body; 0 or -1 with the error set. */
static int
server_parse_body(struct req *r, struct server_conn *sc)
{
	const char *ctype;
	json_error_t je;

	if (sc->len == 0)
		return 0;
	ctype = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!server_is_json(ctype))
		return err_set(ERR_MEDIA_TYPE, "the request body must be "
		    "application/json, not '%.64s'", ctype ? ctype : "(none)");
	r->body = json_loadb(sc->body, sc->len, JSON_REJECT_DUPLICATES, &je);
	if (r->body == NULL && json_error_code(&je) ==
	    json_error_invalid_utf8) {
		char field[ERR_FIELD_MAX];

		body_where(sc->body, sc->len, (size_t)je.position, field,
		    sizeof(field));
		if (field[0])
			return err_set_field(ERR_INVALID, field, "%s is not "
			    "valid UTF-8 (byte %d of the body)", field,
			    je.position);
	}
	if (r->body == NULL)
		return err_set(ERR_INVALID, "the request body is not valid "
		    "JSON: %s (line %d, column %d)", je.text, je.line,
		    je.column);
	return 0;
}

/* The client, for log lines: "uid 0" / "token 'ci'" and its address. */
static void
server_peer(struct server_listener *l, struct MHD_Connection *conn,
    const struct server_conn *sc, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci;
	char host[NI_MAXHOST] = "?";

	if (!l->is_unix) {
		ci = MHD_get_connection_info(conn,
		    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci && ci->client_addr && getnameinfo(ci->client_addr,
		    ci->client_addr->sa_family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in),
		    host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(host, sizeof(host), "?");
	}
	snprintf(buf, len, "%s%s%s", sc->who.name, l->is_unix ? "" : " at ",
	    l->is_unix ? "" : host);
}

/*
 * Before a byte of the body is read: may the sender call this route?
 * 0 with sc->who filled, or -1 with the error (401, 403; *ext may be set
 * for the problem body).  An unknown path is left to the router (404,
 * 405) once the sender is known to have some role.
 */
static int
server_authorize(struct server_listener *l, struct MHD_Connection *conn,
    const char *method, const char *url, struct server_conn *sc,
    json_t **ext)
{
	struct api *a = l->api;
	const struct route *rt;
	enum auth_role need;
	struct req r;
	char allow[128];

	snprintf(sc->who.name, sizeof(sc->who.name), "nobody");
	if (l->client_ca && auth_client_cert(conn) < 0)
		return -1;
	if (auth_identify(a->tokens, &a->unix_roles, conn, l->is_unix,
	    &sc->who) < 0)
		return -1;
	memset(&r, 0, sizeof(r));
	r.method = method;
	r.path = url;
	rt = router_match(&r, allow, sizeof(allow));
	err_clear();
	/* no route: its 404 or 405 is quick */
	sc->pool = rt == NULL || rt->run == ROUTE_POOL;
	sc->route = rt ? rt->pattern : NULL;
	sc->sink = router_sink(rt);
	need = rt == NULL ? AUTH_READER : rt->role;
	if (need == AUTH_NONE)          /* a row without its role: fail closed */
		need = AUTH_ADMIN;
	return auth_permit(&sc->who, need, ext);
}

/*
 * Run the request whose whole body is in sc: route, body, idempotency,
 * handler.  Leaves the reply in sc->status and sc->resp (NULL when out of
 * memory).  Runs on a pool thread or on the request's own thread.
 */
static void
server_handle(struct server_conn *sc)
{
	struct server_listener *l = sc->l;
	const struct route *rt;
	struct idem_reply rep;
	struct req r;
	char allow[128];
	int iv = IDEM_RUN;
	unsigned status = 0;

	memset(&r, 0, sizeof(r));
	r.app = l->api->app;
	r.conn = sc->conn;
	r.method = sc->method;
	r.path = sc->url;
	r.hub = l->api->hub;
	err_clear();
	allow[0] = '\0';
	r.sink_state = sc->sink_state;
	r.who = &sc->who;
	rt = router_match(&r, allow, sizeof(allow));
	if (rt == NULL || (sc->sink ? (r.body = sc->sink->end(sc->sink_state))
	    == NULL : server_parse_body(&r, sc) < 0) ||
	    (iv = idem_begin(&r, &rep)) < 0) {
		sc->resp = server_problem(&status, sc->url, allow,
		    r.problem_ext);
	} else if (iv == IDEM_REPLAY) {
		status = (unsigned)rep.status;
		sc->resp = server_replay(&rep);
	} else if (rt->handler(&r) < 0) {
		idem_end(&r, err_code_http(err_last()->code), NULL);
		sc->resp = server_problem(&status, sc->url, allow,
		    r.problem_ext);
	} else if (r.raw) {
		status = (unsigned)r.status;
		sc->resp = r.raw;
	} else if (r.text) {
		if (r.idem_key[0]) {
			/* rare: remember it as jansson sees it */
			json_t *j = json_loadb(r.text, r.text_len, 0, NULL);

			idem_end(&r, r.status, j);
			json_decref(j);
		}
		status = (unsigned)r.status;
		sc->resp = server_build_text(&status, r.text, r.text_len,
		    "application/json", r.location, NULL, NULL);
		r.text = NULL;
	} else {
		idem_end(&r, r.status, r.reply);
		status = (unsigned)r.status;
		sc->resp = server_build(&status, r.reply, "application/json",
		    r.location, NULL, NULL);
	}
	sc->status = status;
	sc->done = r.done;
	sc->done_arg = r.done_arg;
	log_debug("%s %s -> %u (%s)", sc->method, sc->url, status,
	    sc->who.name);
	metrics_api_request(sc->method, rt ? rt->pattern : NULL, status,
	    sc->t0);
	json_decref(r.body);
	json_decref(r.reply);
	json_decref(r.problem_ext);
	free(r.text);
}

/* Does this request need a thread of its own (req.h, router.c)? */
static bool
server_own_thread(const struct server_conn *sc)
{
	const char *wait;

	if (!sc->pool)
		return true;
	/* ?wait=N on any route: it may hold the reply for N seconds */
	wait = MHD_lookup_connection_value(sc->conn, MHD_GET_ARGUMENT_KIND,
	    "wait");
	return wait != NULL && wait[strspn(wait, "0")] != '\0';
}

static void *
server_thread(void *arg)
{
	struct server_conn *sc = arg;
	struct api *a = sc->l->api;
	struct MHD_Connection *conn = sc->conn;

	server_handle(sc);
	sc->state = SERVER_DONE;
	/* from here on sc belongs to libmicrohttpd's thread again (it may
	 * be freed as soon as the connection is resumed) */
	MHD_resume_connection(conn);
	pthread_mutex_lock(&a->mu);
	if (--a->nthreads == 0)
		pthread_cond_broadcast(&a->idle);
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/*
 * Run the request on a thread of its own, its connection suspended until
 * the reply is ready (server_access then queues it).  0 when it is under
 * way (or its 503 is ready), -1 when the server stops: run it here.
 */
static int
server_spawn(struct server_conn *sc)
{
	struct api *a = sc->l->api;
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	pthread_mutex_lock(&a->mu);
	if (a->stopping) {
		pthread_mutex_unlock(&a->mu);
		return -1;
	}
	a->nthreads++;
	pthread_mutex_unlock(&a->mu);
	sc->state = SERVER_RUNNING;
	/* suspended before the thread exists: it cannot resume too early */
	MHD_suspend_connection(sc->conn);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, server_thread, sc);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		err_set(ERR_UNAVAILABLE, "cannot start a thread for this "
		    "request: %s", strerror(rc));
		err_set_retryable(true);
		sc->resp = server_problem(&sc->status, sc->url, NULL, NULL);
		sc->state = SERVER_DONE;
		MHD_resume_connection(sc->conn);
		pthread_mutex_lock(&a->mu);
		if (--a->nthreads == 0)
			pthread_cond_broadcast(&a->idle);
		pthread_mutex_unlock(&a->mu);
	}
	return 0;
}

/* Bytes of a JSON body: kept, up to REQ_BODY_MAX (then refused). */
static enum MHD_Result
server_body_chunk(struct server_conn *sc, const char *data, size_t *size)
{
	size_t n = *size;

	*size = 0;
	if (sc->len + n > REQ_BODY_MAX) {
		/* chunked, or longer than it said */
		err_set(ERR_TOO_LARGE, "the request body is larger "
		    "than %d bytes", REQ_BODY_MAX);
		sc->dropped = sc->len + n;
		return server_refuse(sc, NULL);
	}
	if (sc->len + n + 1 > sc->cap) {
		size_t cap = (sc->len + n + 1) * 2;
		char *b = realloc(sc->body, cap > REQ_BODY_MAX + 1 ?
		    REQ_BODY_MAX + 1 : cap);

		if (b == NULL)
			return MHD_NO;
		sc->body = b;
		sc->cap = cap > REQ_BODY_MAX + 1 ? REQ_BODY_MAX + 1 : cap;
	}
	memcpy(sc->body + sc->len, data, n);
	sc->len += n;
	return MHD_YES;
}

/*
 * A request's first call, its headers in: who sends it and may they
 * (auth.c), then what its route does with a body (a sink's own checks,
 * or the size limit).  Refusals go through server_refuse().
 */
static enum MHD_Result
server_begin(struct server_listener *l, struct MHD_Connection *conn,
    const char *url, const char *method, void **con_cls)
{
	const char *cl = MHD_lookup_connection_value(conn,
	    MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	char peer[AUTH_WHO_MAX + NI_MAXHOST + 8];
	struct server_conn *sc;
	json_t *ext = NULL;

	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return MHD_NO;
	*con_cls = sc;
	sc->l = l;
	sc->conn = conn;
	sc->url = url;
	sc->method = method;
	sc->t0 = metrics_now_ns();
	err_clear();
	if (server_authorize(l, conn, method, url, sc, &ext) < 0) {
		enum MHD_Result ret;

		metrics_api_request(method, sc->route ? sc->route :
		    "(unauthenticated)", (unsigned)err_code_http(
		    err_last()->code), sc->t0);
		server_peer(l, conn, sc, peer, sizeof(peer));
		log_info("api: %s %s from %s refused (%d): %s", method,
		    url, peer, err_code_http(err_last()->code),
		    err_last()->msg);
		ret = server_refuse(sc, ext);
		json_decref(ext);
		return ret;
	}
	if (sc->sink)
		return server_sink_open(sc);
	if (cl && strtoull(cl, NULL, 10) > REQ_BODY_MAX) {
		/* nothing of it is kept */
		err_set(ERR_TOO_LARGE, "the request body is larger "
		    "than %d bytes", REQ_BODY_MAX);
		return server_refuse(sc, NULL);
	}
	return MHD_YES;
}

static enum MHD_Result
server_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct server_listener *l = cls;
	struct server_conn *sc = *con_cls;
	struct MHD_Response *resp;
	unsigned status;

	(void)version;
	if (sc == NULL)
		return server_begin(l, conn, url, method, con_cls);
	if (sc->state == SERVER_DONE) {
		/* back from its own thread: send what it left */
		resp = sc->resp;
		sc->resp = NULL;
		return server_queue(conn, sc->status, resp);
	}
	if (sc->replied) {
		/* answered already: drop whatever of the body comes */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (sc->refused && *upload_data_size > 0) {
		sc->dropped += *upload_data_size;
		*upload_data_size = 0;
		/* too much to wait for: close without the reply */
		return sc->dropped > sc->drop_max ? MHD_NO : MHD_YES;
	}
	if (sc->refused) {
		/* the whole body is in: now the reply can be read */
		err_restore(&sc->refusal);
		resp = server_problem(&status, url, NULL, sc->refusal_ext);
		sc->replied = true;
		return server_queue(conn, status, resp);
	}
	if (*upload_data_size > 0 && sc->sink)
		return server_sink_write(sc, upload_data, upload_data_size);
	if (*upload_data_size > 0)
		return server_body_chunk(sc, upload_data, upload_data_size);
	/* the whole request is in */
	if (sc->state == SERVER_RUNNING)
		return MHD_YES;              /* not expected: it is suspended */
	if (server_own_thread(sc) && server_spawn(sc) == 0)
		return MHD_YES;
	server_handle(sc);
	resp = sc->resp;
	sc->resp = NULL;
	return server_queue(conn, sc->status, resp);
}

static void
server_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct server_conn *sc = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (sc) {
		if (sc->resp)
			MHD_destroy_response(sc->resp);
		json_decref(sc->refusal_ext);
		/* whatever ended it (answered, refused, the client gone):
		 * the sink removes what nobody took over */
		if (sc->sink)
			sc->sink->close(sc->sink_state);
		if (sc->done)
			sc->done(sc->done_arg);
		free(sc->body);
		free(sc);
	}
	*con_cls = NULL;
}

static void
server_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("http: %s", msg);
}

/* Read the TLS files of the config (when tls_cert is set). */
static int
server_tls_load(struct api *a, const struct config *cfg)
{
	if (cfg->tls_cert[0] == '\0')
		return 0;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return err_set(ERR_UNAVAILABLE, "tls_cert is set, but this "
		    "libmicrohttpd was built without TLS");
	if ((a->tls_cert = listen_read_pem("tls_cert", cfg->tls_cert,
	    false)) == NULL ||
	    (a->tls_key = listen_read_pem("tls_key", cfg->tls_key,
	    true)) == NULL)
		return -1;
	if (cfg->tls_client_ca[0] != '\0' &&
	    (a->tls_ca = listen_read_pem("tls_client_ca", cfg->tls_client_ca,
	    false)) == NULL)
		return -1;
	return 0;
}

/*
 * Threads per listener: one per CPU, within [SERVER_POOL_MIN, _MAX], and
 * no more than max_connections: libmicrohttpd splits that limit between
 * the threads, and a thread with a share of 0 would refuse everything.
 */
static unsigned
server_pool_size(int max_connections)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < SERVER_POOL_MIN)
		n = SERVER_POOL_MIN;
	if (n > SERVER_POOL_MAX)
		n = SERVER_POOL_MAX;
	if (n > max_connections)
		n = max_connections > 0 ? max_connections : 1;
	return (unsigned)n;
}

/* Serve HTTP (HTTPS if l->tls) on the listening socket fd. */
static struct MHD_Daemon *
server_daemon(struct api *a, struct server_listener *l, int fd)
{
	const struct config *cfg = &a->app->cfg;
	struct MHD_OptionItem tls[4];
	unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD |
	    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG |
	    MHD_ALLOW_UPGRADE;      /* the console's WebSocket */
	size_t nt = 0;

	if (l->tls) {
		flags |= MHD_USE_TLS;
		tls[nt++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT,
		    0, a->tls_cert };
		tls[nt++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY,
		    0, a->tls_key };
		/* asks for a client certificate; auth_client_cert() checks it */
		if (l->client_ca)
			tls[nt++] = (struct MHD_OptionItem){
			    MHD_OPTION_HTTPS_MEM_TRUST, 0, a->tls_ca };
	}
	tls[nt] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	return MHD_start_daemon(flags, 0, NULL, NULL, server_access, l,
	    MHD_OPTION_EXTERNAL_LOGGER, server_mhd_log, a,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_NOTIFY_COMPLETED, server_completed, a,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)330,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SERVER_CONN_MEMORY,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
	    MHD_OPTION_THREAD_POOL_SIZE,
	    server_pool_size(cfg->max_connections),
	    MHD_OPTION_ARRAY, tls,
	    MHD_OPTION_END);
}

struct api *
api_start(struct app *app)
{
	struct api *a = calloc(1, sizeof(*a));
	const struct config *cfg = &app->cfg;

	if (a == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	a->app = app;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->idle, NULL);
	auth_unix_init(&a->unix_roles, cfg);
	if (server_tls_load(a, cfg) < 0 ||
	    (a->tokens = auth_tokens_open(app->store)) == NULL ||
	    (a->hub = events_hub_start(app)) == NULL ||
	    metrics_api_start(app) < 0)
		goto fail;
	for (size_t i = 0; i < cfg->n_listen && i < SERVER_MAX_DAEMONS; i++) {
		const char *addr = cfg->listen[i];
		struct server_listener *l = &a->lis[a->n];
		bool is_unix = strncmp(addr, "unix:", 5) == 0;
		int fd = is_unix ? listen_unix(addr + 5, cfg->socket_mode,
		    &a->unix_roles) : listen_tcp(addr);

		if (fd < 0)
			goto fail;
		l->api = a;
		l->is_unix = is_unix;
		l->tls = !is_unix && a->tls_cert != NULL;
		l->client_ca = l->tls && a->tls_ca != NULL;
		if ((a->d[a->n] = server_daemon(a, l, fd)) == NULL) {
			close(fd);
			err_set(ERR_UNAVAILABLE, "cannot serve %s on '%s'%s",
			    l->tls ? "HTTPS" : "HTTP", addr, l->tls ? ": are "
			    "tls_cert and tls_key a PEM certificate and its key "
			    "(not encrypted)?" : "");
			goto fail;
		}
		if (is_unix)
			snprintf(a->unix_path[a->n], sizeof(a->unix_path[0]),
			    "%s", addr + 5);
		a->n++;
		log_info("api: listening on %s%s%s", addr, l->tls ?
		    " (HTTPS" : "", l->tls ? (l->client_ca ? ", client "
		    "certificates required)" : ")") : "");
	}
	return a;
fail:
	api_stop(a);
	return NULL;
}

void
api_quiesce(struct api *a)
{
	if (a == NULL)
		return;
	/* the daemon stops: event streams end now (a client reconnects to
	 * the next daemon with Last-Event-ID) */
	events_hub_stop(a->hub);
	for (size_t i = 0; i < a->n; i++) {
		MHD_socket fd = MHD_quiesce_daemon(a->d[i]);

		if (fd != MHD_INVALID_SOCKET)
			close(fd);
		if (a->unix_path[i][0])
			unlink(a->unix_path[i]);
		a->unix_path[i][0] = '\0';
	}
}

void
api_stop(struct api *a)
{
	if (a == NULL)
		return;
	/* no connection may stay suspended when a daemon stops: let the
	 * own threads finish (the operations they wait for have stopped)
	 * and end the parked event streams first */
	pthread_mutex_lock(&a->mu);
	a->stopping = true;
	while (a->nthreads > 0)
		pthread_cond_wait(&a->idle, &a->mu);
	pthread_mutex_unlock(&a->mu);
	events_hub_stop(a->hub);
	/* and no upgraded connection may be open either */
	console_ws_stop_all();
	for (size_t i = 0; i < a->n; i++) {
		MHD_stop_daemon(a->d[i]);
		if (a->unix_path[i][0])
			unlink(a->unix_path[i]);
	}
	events_hub_free(a->hub);
	metrics_api_stop();
	auth_tokens_close(a->tokens);
	listen_free_pem(a->tls_cert);
	listen_free_pem(a->tls_key);
	listen_free_pem(a->tls_ca);
	pthread_cond_destroy(&a->idle);
	pthread_mutex_destroy(&a->mu);
	free(a);
}
