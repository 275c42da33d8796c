/*
 * server.c - the HTTP front end on libmicrohttpd: listening sockets,
 * reading bodies (bounded), content-type checks, dispatch through the
 * route table, and writing replies.  Errors from anywhere below become a
 * problem+json reply here and only here.
 *
 * Threads: one libmicrohttpd thread per connection, so a request that
 * waits for an operation (?wait=N) never holds up another connection.
 */
#include <errno.h>
#include <netdb.h>
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
#include "api.h"
#include "req.h"

#define SERVER_MAX_DAEMONS CONFIG_LISTEN_MAX

struct api {
	struct app *app;
	struct MHD_Daemon *d[SERVER_MAX_DAEMONS];
	char unix_path[SERVER_MAX_DAEMONS][CONFIG_STR_MAX];
	size_t n;
};

/* Per-request state across libmicrohttpd's calls. */
struct server_conn {
	char *body;
	size_t len, cap;
	bool too_large;
};

static enum MHD_Result
server_send(struct MHD_Connection *conn, int status, json_t *reply,
    const char *ctype, const char *location, const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	static const char fallback[] = "{\"type\":\"urn:hangar:problem:"
	    "internal-error\",\"title\":\"Internal Server Error\",\"status\":"
	    "500,\"detail\":\"the reply could not be encoded\","
	    "\"retryable\":false}";

	if (text == NULL) {
		status = 500;
		ctype = "application/problem+json";
		resp = MHD_create_response_from_buffer(sizeof(fallback) - 1,
		    (void *)(uintptr_t)fallback, MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_buffer(strlen(text), text,
		    MHD_RESPMEM_MUST_FREE);
	}
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store");
	if (location && location[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION,
		    location);
	if (allow && allow[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A remembered reply, sent again (Idempotency-Key). */
static enum MHD_Result
server_replay(struct MHD_Connection *conn, struct idem_reply *rep)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(rep->body), rep->body,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(rep->body);
		return MHD_NO;
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
	ret = MHD_queue_response(conn, (unsigned)rep->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
server_problem(struct MHD_Connection *conn, const char *path,
    const char *allow, json_t *ext)
{
	const struct err *e = err_last();
	json_t *p = problem_json(e, path);
	enum MHD_Result ret;
	int status = err_code_http(e->code == ERR_NONE ? ERR_INTERNAL :
	    e->code);

	if (status >= 500)
		log_warnx("%d on %s: %s", status, path, e->msg);
	if (p && ext)
		json_object_update_missing(p, ext);
	ret = server_send(conn, status, p, "application/problem+json", NULL,
	    allow);
	json_decref(p);
	return ret;
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

	if (sc->too_large)
		return err_set(ERR_TOO_LARGE, "the request body is larger than "
		    "%d bytes", REQ_BODY_MAX);
	if (sc->len == 0)
		return 0;
	ctype = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!server_is_json(ctype))
		return err_set(ERR_MEDIA_TYPE, "the request body must be "
		    "application/json, not '%.64s'", ctype ? ctype : "(none)");
	r->body = json_loadb(sc->body, sc->len, JSON_REJECT_DUPLICATES, &je);
	if (r->body == NULL)
		return err_set(ERR_INVALID, "the request body is not valid "
		    "JSON: %s (line %d, column %d)", je.text, je.line,
		    je.column);
	return 0;
}

static enum MHD_Result
server_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct api *a = cls;
	struct server_conn *sc = *con_cls;
	const struct route *rt;
	struct idem_reply rep;
	struct req r;
	char allow[128];
	enum MHD_Result ret;
	int iv = IDEM_RUN;

	(void)version;
	if (sc == NULL) {
		const char *cl = MHD_lookup_connection_value(conn,
		    MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);

		if ((sc = calloc(1, sizeof(*sc))) == NULL)
			return MHD_NO;
		*con_cls = sc;
		if (cl && strtoull(cl, NULL, 10) > REQ_BODY_MAX) {
			/* refuse before reading a byte of it */
			err_set(ERR_TOO_LARGE, "the request body is larger "
			    "than %d bytes", REQ_BODY_MAX);
			return server_problem(conn, url, NULL, NULL);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (sc->too_large || sc->len + n > REQ_BODY_MAX) {
			sc->too_large = true;
			return MHD_YES;
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
		memcpy(sc->body + sc->len, upload_data, n);
		sc->len += n;
		return MHD_YES;
	}

	memset(&r, 0, sizeof(r));
	r.app = a->app;
	r.conn = conn;
	r.method = method;
	r.path = url;
	err_clear();
	allow[0] = '\0';
	rt = router_match(&r, allow, sizeof(allow));
	if (rt == NULL || server_parse_body(&r, sc) < 0 ||
	    (iv = idem_begin(&r, &rep)) < 0) {
		r.status = err_code_http(err_last()->code);
		ret = server_problem(conn, url, allow, r.problem_ext);
	} else if (iv == IDEM_REPLAY) {
		r.status = rep.status;
		ret = server_replay(conn, &rep);
	} else if (rt->handler(&r) < 0) {
		r.status = err_code_http(err_last()->code);
		idem_end(&r, r.status, NULL);
		ret = server_problem(conn, url, allow, r.problem_ext);
	} else if (r.raw) {
		ret = MHD_queue_response(conn, (unsigned)r.status, r.raw);
		MHD_destroy_response(r.raw);
	} else {
		idem_end(&r, r.status, r.reply);
		ret = server_send(conn, r.status, r.reply, "application/json",
		    r.location, NULL);
	}
	log_debug("%s %s -> %d", method, url, r.status);
	json_decref(r.body);
	json_decref(r.reply);
	json_decref(r.problem_ext);
	return ret;
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

/* A listening unix socket at path, or -1 with an error. */
static int
server_listen_unix(const char *path, int mode)
{
	struct sockaddr_un sun;
	char dir[sizeof(sun.sun_path)];
	char *slash;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
	    (int)sizeof(sun.sun_path))
		return err_set(ERR_INVALID, "socket path '%s' is too long",
		    path);
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return err_set(ERR_UNAVAILABLE, "cannot create '%s': %s",
			    dir, strerror(errno));
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return err_set(ERR_UNAVAILABLE, "socket: %s", strerror(errno));
	/* a socket file nobody answers on is a leftover: replace it */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		return err_set(ERR_UNAVAILABLE, "another daemon is listening on "
		    "'%s'", path);
	}
	close(fd);
	unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return err_set(ERR_UNAVAILABLE, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(path, (mode_t)mode) < 0 || listen(fd, 128) < 0) {
		err_set(ERR_UNAVAILABLE, "cannot listen on '%s': %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* A listening TCP socket for "HOST:PORT" or "[V6]:PORT". */
static int
server_listen_tcp(const char *addr)
{
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *port, *colon = strrchr(addr, ':');
	int fd = -1, one = 1, rc;

	if (colon == NULL)
		return err_set(ERR_INVALID, "'%s' is not HOST:PORT", addr);
	port = colon + 1;
	if (addr[0] == '[')
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr - 2),
		    addr + 1);
	else
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return err_set(ERR_INVALID, "cannot resolve '%s': %s", addr,
		    gai_strerror(rc));
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC,
	    res->ai_protocol);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
	    listen(fd, 128) < 0) {
		err_set(ERR_UNAVAILABLE, "cannot listen on '%s': %s", addr,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
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
	for (size_t i = 0; i < cfg->n_listen && i < SERVER_MAX_DAEMONS; i++) {
		const char *addr = cfg->listen[i];
		bool is_unix = strncmp(addr, "unix:", 5) == 0;
		int fd = is_unix ? server_listen_unix(addr + 5, cfg->socket_mode) :
		    server_listen_tcp(addr);

		if (fd < 0)
			goto fail;
		a->d[a->n] = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
		    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC |
		    MHD_USE_ERROR_LOG, 0, NULL, NULL, server_access, a,
		    MHD_OPTION_EXTERNAL_LOGGER, server_mhd_log, a,
		    MHD_OPTION_LISTEN_SOCKET, fd,
		    MHD_OPTION_NOTIFY_COMPLETED, server_completed, a,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)330,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
		    MHD_OPTION_END);
		if (a->d[a->n] == NULL) {
			close(fd);
			err_set(ERR_UNAVAILABLE, "cannot serve HTTP on '%s'", addr);
			goto fail;
		}
		if (is_unix)
			snprintf(a->unix_path[a->n], sizeof(a->unix_path[0]),
			    "%s", addr + 5);
		a->n++;
		log_info("api: listening on %s", addr);
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
	for (size_t i = 0; i < a->n; i++) {
		MHD_stop_daemon(a->d[i]);
		if (a->unix_path[i][0])
			unlink(a->unix_path[i]);
	}
	free(a);
}
