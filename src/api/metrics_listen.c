/*
 * metrics_listen.c - the metrics_listen address: GET /metrics and nothing
 * else, without credentials, as Incus's core.metrics_address and every
 * Prometheus exporter serve it, so that a Prometheus needs no hangar
 * token.  Plain HTTP: nothing secret travels (no token is asked for),
 * and the text is what a reader token would see.  Anything but GET (or
 * HEAD) /metrics is a problem+json 404 or 405.
 *
 * A daemon of its own (libmicrohttpd, a thread per connection, at most
 * METRICS_LISTEN_CONNS at once): a scrape may wait a second for a slow
 * host, and must not hold up the API's pool, nor the API its scrapes.
 */
#include <string.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/metrics.h"
#include "listen.h"
#include "metrics_int.h"
#include "req.h"

#define METRICS_LISTEN_CONNS 32

static struct MHD_Daemon *metrics_listen_d;

/* err_last() as a problem+json response; *status set. */
static struct MHD_Response *
metrics_listen_problem(const char *url, unsigned *status)
{
	const struct err *e = err_last();
	json_t *p = problem_json(e, url);
	char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
	struct MHD_Response *resp;

	json_decref(p);
	*status = (unsigned)err_code_http(e->code);
	if (text == NULL)
		return NULL;
	resp = MHD_create_response_from_buffer(strlen(text), text,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return NULL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/problem+json");
	if (e->code == ERR_METHOD)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
		    "GET, HEAD");
	return resp;
}

static enum MHD_Result
metrics_listen_access(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct app *app = cls;
	int64_t t0 = metrics_now_ns();
	struct MHD_Response *resp = NULL;
	unsigned status = 200;
	enum MHD_Result ret;

	(void)version;
	(void)upload_data;
	(void)con_cls;
	*upload_data_size = 0;
	err_clear();
	if (strcmp(url, "/metrics") != 0)
		err_set(ERR_NOT_FOUND, "no resource at '%s' (this address "
		    "serves /metrics only)", url);
	else if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		err_set(ERR_METHOD, "%s is not allowed on '/metrics' "
		    "(allowed: GET, HEAD)", method);
	else
		resp = metrics_response(app);
	if (resp == NULL)
		resp = metrics_listen_problem(url, &status);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	metrics_api_request(method, status == 200 || status == 405 ?
	    "/metrics" : NULL, status, t0);
	return ret;
}

static void
metrics_listen_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("metrics http: %s", msg);
}

int
metrics_listen_start(struct app *app)
{
	const char *addr = app->cfg.metrics_listen;
	int fd;

	if (addr[0] == '\0')
		return 0;
	if ((fd = listen_tcp(addr)) < 0)
		return -1;
	metrics_listen_d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    metrics_listen_access, app,
	    MHD_OPTION_EXTERNAL_LOGGER, metrics_listen_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_LISTEN_CONNS,
	    MHD_OPTION_END);
	if (metrics_listen_d == NULL) {
		close(fd);
		return err_set(ERR_UNAVAILABLE, "cannot serve metrics on "
		    "metrics_listen '%s'", addr);
	}
	log_info("api: metrics on %s (GET /metrics, no credentials)", addr);
	return 0;
}

void
metrics_listen_stop(void)
{
	if (metrics_listen_d == NULL)
		return;
	MHD_stop_daemon(metrics_listen_d);
	metrics_listen_d = NULL;
}
