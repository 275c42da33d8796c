/*
 * http.c - the hangar client's only door to hangard: libcurl underneath,
 * JSON in and out.
 *
 * http_request() sends one request and hands back the HTTP status and the
 * body parsed by jansson, whatever the status; http_call() is the common
 * case on top of it: a 2xx reply with a JSON object, or the problem+json
 * detail reported as the error.  Replies are read into a buffer that grows
 * up to HTTP_BODY_MAX and no further.
 *
 * Exit statuses follow where the failure is: curl could not talk to the
 * daemon (connect, send, receive, time out) is CLI_UNREACHABLE; anything
 * the daemon said, or a reply we cannot use, is CLI_ERROR.
 *
 * Example:
 *	json_t *vm;
 *	if (http_call(h, "GET", "/v1/vms/web1", NULL, &vm) == -1)
 *		return -1;	(already reported)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <time.h>

#include <curl/curl.h>

#include "hangar.h"
#include "http.h"
#include "http_int.h"

#define HTTP_CONNECT_TIMEOUT 10L
#define HTTP_MSG_MAX 1024

/* A streamed reply being read: the body goes to the reader if it is one. */
struct http_stream_ctx {
	struct http	*hs_h;
	const char	*hs_path;
	const char	*hs_type;	/* the Content-Type it must have */
	http_chunk_fn	*hs_fn;
	void		*hs_arg;
	int		 hs_mode;	/* 0 not yet known, 1 stream, 2 buffer */
	bool		 hs_failed;	/* reported: the reader, or the type */
	struct http_buf	 hs_buf;	/* an error reply's body */
};

size_t
http_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_buf *b = arg;
	size_t n = size * nmemb;	/* size is always 1 */
	char *p;

	if (n > HTTP_BODY_MAX - b->hb_len) {
		b->hb_over = true;
		return 0;
	}
	if (b->hb_len + n + 1 > b->hb_cap) {
		size_t cap = b->hb_cap != 0 ? b->hb_cap : 4096;

		while (cap < b->hb_len + n + 1)
			cap *= 2;
		if (cap > HTTP_BODY_MAX + 1)
			cap = HTTP_BODY_MAX + 1;
		if ((p = realloc(b->hb_data, cap)) == NULL) {
			b->hb_nomem = true;
			return 0;
		}
		b->hb_data = p;
		b->hb_cap = cap;
	}
	memcpy(b->hb_data + b->hb_len, ptr, n);
	b->hb_len += n;
	b->hb_data[b->hb_len] = '\0';
	return n;
}

static double
http_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * libcurl's progress hook: stop on SIGINT, or when a stream has been
 * silent too long; else let the waiter draw.
 */
static int
http_xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct http *h = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (cli_interrupted)
		return 1;
	if (h->h_idle > 0 && http_now() - h->h_last_rx > (double)h->h_idle) {
		h->h_idled = true;
		return 1;
	}
	if (h->h_tick != NULL)
		h->h_tick(h->h_tick_arg);
	return 0;
}

/*
 * Say in msg why the daemon could not be reached (or the reply was cut),
 * with curl's words and the system's (curl says "localhost port 80" even
 * over a unix socket, where "No such file or directory" or "Permission
 * denied" is what helps).
 */
static void
http_unreachable_msg(struct http *h, const char *method, const char *path,
    CURLcode cc, char *msg, size_t len)
{
	const char *what = h->h_err[0] != '\0' ? h->h_err :
	    curl_easy_strerror(cc);
	long oserr = 0;

	curl_easy_getinfo(h->h_curl, CURLINFO_OS_ERRNO, &oserr);
	if (h->h_sock[0] != '\0' && cc == CURLE_COULDNT_CONNECT && oserr != 0)
		snprintf(msg, len, "cannot reach hangard at %s (%s %s): "
		    "connect: %s", h->h_target, method, path,
		    strerror((int)oserr));
	else if (oserr != 0)
		snprintf(msg, len, "cannot reach hangard at %s (%s %s): "
		    "%s (%s)", h->h_target, method, path, what,
		    strerror((int)oserr));
	else
		snprintf(msg, len, "cannot reach hangard at %s (%s %s): %s",
		    h->h_target, method, path, what);
}

/* Report that the daemon could not be reached (CLI_UNREACHABLE). */
void
http_unreachable(struct http *h, const char *method, const char *path,
    CURLcode cc)
{
	char msg[HTTP_MSG_MAX];

	if (h->h_quiet) {
		h->h_unreached = true;
		return;
	}
	http_unreachable_msg(h, method, path, cc, msg, sizeof(msg));
	cli_fail(CLI_UNREACHABLE, "%s", msg);
}

/*
 * Open a connection description for target ("unix:/path" or
 * "http[s]://host:port").  Returns NULL after reporting a bad target
 * (CLI_USAGE) or no memory.
 */
struct http *
http_open(const char *target)
{
	struct http *h;
	const char *path;
	size_t n;
	int len;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		cli_fail(CLI_ERROR, "out of memory");
		return NULL;
	}
	len = snprintf(h->h_target, sizeof(h->h_target), "%s", target);
	if (len < 0 || (size_t)len >= sizeof(h->h_target)) {
		cli_fail(CLI_USAGE, "the URL is too long");
		goto fail;
	}
	if (strncmp(target, "unix:", 5) == 0) {
		path = target + 5;
		len = snprintf(h->h_sock, sizeof(h->h_sock), "%s", path);
		if (*path == '\0' || len < 0 ||
		    (size_t)len >= sizeof(h->h_sock)) {
			cli_fail(CLI_USAGE, "invalid URL '%s': the socket path "
			    "must be 1 to %zu bytes", target,
			    sizeof(h->h_sock) - 1);
			goto fail;
		}
		snprintf(h->h_base, sizeof(h->h_base), "http://localhost");
	} else if (strncmp(target, "http://", 7) == 0 ||
	    strncmp(target, "https://", 8) == 0) {
		snprintf(h->h_base, sizeof(h->h_base), "%s", target);
		n = strlen(h->h_base);
		while (n > 0 && h->h_base[n - 1] == '/')
			h->h_base[--n] = '\0';
		if (strstr(h->h_base, "://")[3] == '\0') {
			cli_fail(CLI_USAGE, "invalid URL '%s': no host",
			    target);
			goto fail;
		}
	} else {
		cli_fail(CLI_USAGE, "invalid URL '%s': use unix:/path/to.sock "
		    "or http://host:port", target);
		goto fail;
	}
	if ((h->h_curl = curl_easy_init()) == NULL) {
		cli_fail(CLI_ERROR, "cannot start libcurl");
		goto fail;
	}
	return h;
fail:
	http_close(h);
	return NULL;
}

void
http_close(struct http *h)
{
	if (h == NULL)
		return;
	if (h->h_curl != NULL)
		curl_easy_cleanup(h->h_curl);
	explicit_bzero(h->h_auth, sizeof(h->h_auth));
	free(h);
}

/*
 * Send "Authorization: Bearer token" with every request (token NULL or
 * "": none), and trust the CA certificates in the PEM file cacert for
 * https (NULL or "": the system's).  Returns 0, or -1 after reporting a
 * token or path that cannot be used (CLI_USAGE).
 */
int
http_set_auth(struct http *h, const char *token, const char *cacert)
{
	int n;

	h->h_auth[0] = '\0';
	if (token != NULL && *token != '\0') {
		for (const char *p = token; *p != '\0'; p++)
			if (*p <= ' ' || *p > '~')
				return cli_fail(CLI_USAGE, "the API token may "
				    "only hold visible ASCII characters");
		n = snprintf(h->h_auth, sizeof(h->h_auth),
		    "Authorization: Bearer %s", token);
		if (n < 0 || (size_t)n >= sizeof(h->h_auth)) {
			h->h_auth[0] = '\0';
			return cli_fail(CLI_USAGE, "the API token is too long");
		}
	}
	h->h_cacert[0] = '\0';
	if (cacert != NULL && *cacert != '\0') {
		n = snprintf(h->h_cacert, sizeof(h->h_cacert), "%s", cacert);
		if (n < 0 || (size_t)n >= sizeof(h->h_cacert))
			return cli_fail(CLI_USAGE, "the CA file path is too "
			    "long");
	}
	return 0;
}

const char *
http_target(const struct http *h)
{
	return h->h_target;
}

/*
 * Quiet (on): a daemon that cannot be reached is not reported (nor its
 * exit status recorded), only noted; returns whether it was since the
 * last call.  For a caller with a better answer to it (a --watch redraw:
 * wait for the stream to come back).
 */
bool
http_set_quiet(struct http *h, bool on)
{
	bool was = h->h_unreached;

	h->h_quiet = on;
	h->h_unreached = false;
	return was;
}

/* Have fn(arg) called while requests are in flight; fn NULL to stop. */
void
http_set_tick(struct http *h, http_tick_fn *fn, void *arg)
{
	h->h_tick = fn;
	h->h_tick_arg = arg;
}

/*
 * Reset the handle and set what every request shares: the URL, the unix
 * socket if the target is one, http(s) only, the connect timeout, the
 * headers, the error buffer and the progress hook (SIGINT, the spinner,
 * a stream's idle limit).  Returns CURLE_OK or the first failure.
 */
CURLcode
http_setup(struct http *h, const char *url, struct curl_slist *hdrs)
{
	CURL *c = h->h_curl;
	CURLcode cc = CURLE_OK;

	curl_easy_reset(c);
	HTTP_SET(CURLOPT_URL, url);
	if (h->h_sock[0] != '\0')
		HTTP_SET(CURLOPT_UNIX_SOCKET_PATH, h->h_sock);
#if LIBCURL_VERSION_NUM >= 0x075500
	HTTP_SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	HTTP_SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	HTTP_SET(CURLOPT_NOSIGNAL, 1L);
	if (h->h_cacert[0] != '\0')
		HTTP_SET(CURLOPT_CAINFO, h->h_cacert);
	HTTP_SET(CURLOPT_CONNECTTIMEOUT, HTTP_CONNECT_TIMEOUT);
	HTTP_SET(CURLOPT_USERAGENT, "hangar/" HANGAR_VERSION);
	HTTP_SET(CURLOPT_HTTPHEADER, hdrs);
	HTTP_SET(CURLOPT_ERRORBUFFER, h->h_err);
	HTTP_SET(CURLOPT_NOPROGRESS, 0L);
	HTTP_SET(CURLOPT_XFERINFOFUNCTION, http_xferinfo);
	HTTP_SET(CURLOPT_XFERINFODATA, h);
	return cc;
}

/*
 * A header line of a reply: keep a Link to the next page of a list
 * (`Link: </v1/vms?after=...>; rel="next"`) in h->h_next.
 */
static size_t
http_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	static const char name[] = "link:";
	struct http *h = arg;
	size_t n = size * nmemb, i = sizeof(name) - 1, end;

	if (n < i || strncasecmp(ptr, name, i) != 0)
		return n;
	while (i < n && (ptr[i] == ' ' || ptr[i] == '\t'))
		i++;
	if (i == n || ptr[i] != '<')
		return n;
	for (end = ++i; end < n && ptr[end] != '>'; end++)
		;
	/* one link, to a path of this server, naming rel="next" */
	if (end == n || end - i >= sizeof(h->h_next) || ptr[i] != '/' ||
	    memmem(ptr + end, n - end, "rel=\"next\"", 10) == NULL)
		return n;
	memcpy(h->h_next, ptr + i, end - i);
	h->h_next[end - i] = '\0';
	return n;
}

/*
 * Send method path (path starts with "/v1", query included, already
 * escaped) with body as JSON if not NULL; give up after timeout seconds
 * (0: HTTP_TIMEOUT).  Fills *out with the status and the parsed body (NULL
 * if the body was empty, or not JSON on an error status); the caller frees
 * it with http_reply_free().  Returns 0 for any reply, -1 after reporting a
 * failure to get one.
 */
int
http_request(struct http *h, const char *method, const char *path,
    const json_t *body, long timeout, struct http_reply *out)
{
	char url[HTTP_URL_MAX + HANGAR_PATH_MAX];
	struct http_buf buf = { 0 };
	struct curl_slist *hdrs = NULL, *t;
	static const char *const fixed[] = {
		"Accept: application/json, application/problem+json",
		"Expect:",
	};
	CURL *c = h->h_curl;
	CURLcode cc = CURLE_OK;
	json_error_t je;
	char *data = NULL;
	size_t i;
	int n, rc = -1;

	out->hr_status = 0;
	out->hr_json = NULL;
	n = snprintf(url, sizeof(url), "%s%s", h->h_base, path);
	if (n < 0 || (size_t)n >= sizeof(url))
		return cli_fail(CLI_USAGE, "the request URL is too long");
	if (body != NULL && (data = json_dumps(body, JSON_COMPACT)) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]) + 1; i++) {
		const char *hdr = i < sizeof(fixed) / sizeof(fixed[0]) ?
		    fixed[i] : data != NULL ? "Content-Type: application/json" :
		    "Content-Type:";	/* no body: none, not curl's form */

		if ((t = curl_slist_append(hdrs, hdr)) == NULL) {
			cli_fail(CLI_ERROR, "out of memory");
			goto done;
		}
		hdrs = t;
	}
	if (h->h_auth[0] != '\0') {
		if ((t = curl_slist_append(hdrs, h->h_auth)) == NULL) {
			cli_fail(CLI_ERROR, "out of memory");
			goto done;
		}
		hdrs = t;
	}

	cc = http_setup(h, url, hdrs);
	HTTP_SET(CURLOPT_TIMEOUT, timeout > 0 ? timeout : HTTP_TIMEOUT);
	HTTP_SET(CURLOPT_WRITEFUNCTION, http_write);
	HTTP_SET(CURLOPT_WRITEDATA, &buf);
	HTTP_SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_BODY_MAX);
	h->h_next[0] = '\0';
	HTTP_SET(CURLOPT_HEADERFUNCTION, http_header);
	HTTP_SET(CURLOPT_HEADERDATA, h);
	if (strcmp(method, "GET") == 0) {
		HTTP_SET(CURLOPT_HTTPGET, 1L);
	} else {
		if (strcmp(method, "POST") == 0)
			HTTP_SET(CURLOPT_POST, 1L);
		else
			HTTP_SET(CURLOPT_CUSTOMREQUEST, method);
		if (data != NULL || strcmp(method, "POST") == 0) {
			HTTP_SET(CURLOPT_POSTFIELDSIZE,
			    (long)(data != NULL ? strlen(data) : 0));
			HTTP_SET(CURLOPT_POSTFIELDS, data != NULL ? data : "");
		}
	}
	if (cc != CURLE_OK) {
		cli_fail(CLI_ERROR, "cannot set up the request: %s",
		    curl_easy_strerror(cc));
		goto done;
	}

	h->h_err[0] = '\0';
	if ((cc = curl_easy_perform(c)) != CURLE_OK) {
		if (buf.hb_over || cc == CURLE_FILESIZE_EXCEEDED)
			cli_fail(CLI_ERROR, "the reply to %s %s is larger than "
			    "%lu MiB", method, path, HTTP_BODY_MAX >> 20);
		else if (buf.hb_nomem)
			cli_fail(CLI_ERROR, "out of memory");
		else if (cc == CURLE_ABORTED_BY_CALLBACK && cli_interrupted)
			cli_fail(CLI_INTERRUPTED, "interrupted");
		else
			http_unreachable(h, method, path, cc);
		goto done;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->hr_status);
	if (buf.hb_len > 0) {
		out->hr_json = json_loadb(buf.hb_data, buf.hb_len, 0, &je);
		if (out->hr_json == NULL && out->hr_status / 100 == 2) {
			cli_fail(CLI_ERROR, "the reply to %s %s is not JSON: "
			    "%s", method, path, je.text);
			goto done;
		}
	}
	rc = 0;
done:
	/* Do not leave the handle pointing at this frame's buffers. */
	curl_easy_reset(c);
	curl_slist_free_all(hdrs);
	free(buf.hb_data);
	free(data);
	return rc;
}

void
http_reply_free(struct http_reply *r)
{
	if (r == NULL)
		return;
	json_decref(r->hr_json);
	r->hr_json = NULL;
}

/* Report a non-2xx reply by its problem detail.  Always returns -1. */
int
http_fail(const struct http_reply *r)
{
	char msg[HTTP_MSG_MAX];

	problem_message(r->hr_json, r->hr_status, msg, sizeof(msg));
	return cli_fail(CLI_ERROR, "%s", msg);
}

/*
 * One request that must succeed (http_call): *out the reply's object
 * (owned), or -1 after reporting.
 */
static int
http_call_one(struct http *h, const char *method, const char *path,
    const json_t *body, json_t **out)
{
	struct http_reply r;

	*out = NULL;
	if (http_request(h, method, path, body, 0, &r) == -1)
		return -1;
	if (r.hr_status / 100 != 2) {
		http_fail(&r);
		http_reply_free(&r);
		return -1;
	}
	if (!json_is_object(r.hr_json)) {
		http_reply_free(&r);
		return cli_fail(CLI_ERROR, "the reply to %s %s is not a JSON "
		    "object", method, path);
	}
	*out = r.hr_json;
	return 0;
}

/* Does path ask for a number of items itself (?limit=)? */
static bool
http_limited(const char *path)
{
	const char *q = strchr(path, '?');

	return q != NULL && (strstr(q, "?limit=") != NULL ||
	    strstr(q, "&limit=") != NULL);
}

/*
 * Send a request that must succeed: on a 2xx reply with a JSON object,
 * *out is that object (the caller owns it) and 0 is returned; anything else
 * is reported (the problem's detail for an error status) and -1 returned.
 * A list ({"vms": [...]}) comes whole: the pages its Link headers name
 * are fetched in turn and their arrays appended to the first's, unless
 * path asks for ?limit= itself.
 */
int
http_call(struct http *h, const char *method, const char *path,
    const json_t *body, json_t **out)
{
	char next[HTTP_URL_MAX];
	const char *key;
	json_t *page, *arr;

	if (http_call_one(h, method, path, body, out) == -1)
		return -1;
	if (strcmp(method, "GET") != 0 || http_limited(path))
		return 0;
	while (h->h_next[0] != '\0') {
		snprintf(next, sizeof(next), "%s", h->h_next);
		if (http_call_one(h, "GET", next, NULL, &page) == -1) {
			json_decref(*out);
			*out = NULL;
			return -1;
		}
		json_object_foreach(page, key, arr)
			if (json_is_array(arr) &&
			    json_is_array(json_object_get(*out, key)))
				json_array_extend(json_object_get(*out, key),
				    arr);
		json_decref(page);
	}
	return 0;
}

/*
 * Build prefix + seg (URL-escaped) + suffix into buf, e.g.
 * http_path(h, buf, len, "/v1/vms/", "web 1", "/start") gives
 * "/v1/vms/web%201/start".  Returns 0, or -1 after reporting.
 */
int
http_path(struct http *h, char *buf, size_t len, const char *prefix,
    const char *seg, const char *suffix)
{
	char *esc;
	int n;

	if ((esc = curl_easy_escape(h->h_curl, seg, 0)) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	n = snprintf(buf, len, "%s%s%s", prefix, esc,
	    suffix != NULL ? suffix : "");
	curl_free(esc);
	if (n < 0 || (size_t)n >= len)
		return cli_fail(CLI_USAGE, "an argument is too long");
	return 0;
}

/*
 * Append key=value (value URL-escaped) to the path in buf as a query
 * parameter, after '?' or '&'.  A NULL value adds nothing.
 */
int
http_query(struct http *h, char *buf, size_t len, const char *key,
    const char *value)
{
	size_t used = strlen(buf);
	char *esc;
	int n;

	if (value == NULL)
		return 0;
	if ((esc = curl_easy_escape(h->h_curl, value, 0)) == NULL)
		return cli_fail(CLI_ERROR, "out of memory");
	n = snprintf(buf + used, len - used, "%c%s=%s",
	    strchr(buf, '?') != NULL ? '&' : '?', key, esc);
	curl_free(esc);
	if (n < 0 || (size_t)n >= len - used)
		return cli_fail(CLI_USAGE, "an argument is too long");
	return 0;
}

/* The body of a streamed reply: to the reader, or kept if it is an error. */
static size_t
http_stream_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_stream_ctx *s = arg;
	size_t n = size * nmemb;
	size_t tlen = strlen(s->hs_type);
	long status = 0;
	char *ct = NULL;

	s->hs_h->h_last_rx = http_now();
	if (s->hs_mode == 0) {
		curl_easy_getinfo(s->hs_h->h_curl, CURLINFO_RESPONSE_CODE,
		    &status);
		curl_easy_getinfo(s->hs_h->h_curl, CURLINFO_CONTENT_TYPE, &ct);
		if (status / 100 != 2) {
			s->hs_mode = 2;
		} else if (ct == NULL || strncasecmp(ct, s->hs_type,
		    tlen) != 0 || (ct[tlen] != '\0' && ct[tlen] != ';' &&
		    ct[tlen] != ' ')) {
			cli_fail(CLI_ERROR, "the reply to GET %s is %s, not %s",
			    s->hs_path, ct != NULL ? ct : "of no type",
			    s->hs_type);
			s->hs_failed = true;
			return 0;
		} else {
			s->hs_mode = 1;
		}
	}
	if (s->hs_mode == 2)
		return http_write(ptr, size, nmemb, &s->hs_buf);
	if (s->hs_fn(s->hs_arg, ptr, n) == -1) {
		s->hs_failed = true;
		return 0;
	}
	return n;
}

/*
 * GET path as a stream of type (such as "text/event-stream"): each piece
 * of the body goes to fn(arg, data, len) as it arrives, for as long as the
 * server keeps the reply open: no total timeout, only the connect timeout
 * and, if idle > 0, idle seconds without a byte (hangard sends a comment
 * every 15 s, so a silent stream is a dead one).  lastid, if not NULL,
 * goes out as the Last-Event-ID header.
 *
 * Returns HTTP_STREAM_REPLY once the server ended the reply: out->hr_status
 * is its status and, if that is not 2xx, out->hr_json its problem (the
 * caller frees it with http_reply_free()); HTTP_STREAM_CUT when hangard
 * could not be reached, cut the stream off or fell silent, with why saying
 * which (nothing reported: the caller may try again) and out->hr_status 0
 * unless a reply had begun; HTTP_STREAM_INTERRUPTED on SIGINT;
 * HTTP_STREAM_FAILED after reporting anything else (fn failed, the reply
 * was not of type, no memory).
 */
enum http_stream_end
http_stream(struct http *h, const char *path, const char *type,
    const char *lastid, long idle, http_chunk_fn *fn, void *arg,
    struct http_reply *out, char *why, size_t whylen)
{
	char url[HTTP_URL_MAX + HANGAR_PATH_MAX], accept[128], lei[128];
	struct http_stream_ctx s;
	struct curl_slist *hdrs = NULL, *t;
	const char *list[3];
	CURL *c = h->h_curl;
	CURLcode cc = CURLE_OK;
	enum http_stream_end rc = HTTP_STREAM_FAILED;
	json_error_t je;
	size_t i, nhdrs = 0;
	int n;

	out->hr_status = 0;
	out->hr_json = NULL;
	if (whylen > 0)
		why[0] = '\0';
	memset(&s, 0, sizeof(s));
	s.hs_h = h;
	s.hs_path = path;
	s.hs_type = type;
	s.hs_fn = fn;
	s.hs_arg = arg;
	n = snprintf(url, sizeof(url), "%s%s", h->h_base, path);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		cli_fail(CLI_USAGE, "the request URL is too long");
		return HTTP_STREAM_FAILED;
	}
	n = snprintf(accept, sizeof(accept), "Accept: %s, "
	    "application/problem+json", type);
	if (n < 0 || (size_t)n >= sizeof(accept)) {
		cli_fail(CLI_ERROR, "the stream type is too long");
		return HTTP_STREAM_FAILED;
	}
	list[nhdrs++] = accept;
	if (lastid != NULL) {
		n = snprintf(lei, sizeof(lei), "Last-Event-ID: %s", lastid);
		if (n < 0 || (size_t)n >= sizeof(lei)) {
			cli_fail(CLI_ERROR, "the last event id is too long");
			return HTTP_STREAM_FAILED;
		}
		list[nhdrs++] = lei;
	}
	if (h->h_auth[0] != '\0')
		list[nhdrs++] = h->h_auth;
	for (i = 0; i < nhdrs; i++) {
		if ((t = curl_slist_append(hdrs, list[i])) == NULL) {
			cli_fail(CLI_ERROR, "out of memory");
			goto done;
		}
		hdrs = t;
	}

	cc = http_setup(h, url, hdrs);
	HTTP_SET(CURLOPT_HTTPGET, 1L);
	HTTP_SET(CURLOPT_TIMEOUT, 0L);		/* as long as it lasts */
	HTTP_SET(CURLOPT_TCP_KEEPALIVE, 1L);
	HTTP_SET(CURLOPT_WRITEFUNCTION, http_stream_write);
	HTTP_SET(CURLOPT_WRITEDATA, &s);
	if (cc != CURLE_OK) {
		cli_fail(CLI_ERROR, "cannot set up the request: %s",
		    curl_easy_strerror(cc));
		goto done;
	}

	h->h_err[0] = '\0';
	h->h_idle = idle;
	h->h_idled = false;
	h->h_last_rx = http_now();
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->hr_status);
	if (cc != CURLE_OK) {
		if (s.hs_failed) {
			;	/* reported */
		} else if (s.hs_buf.hb_over) {
			cli_fail(CLI_ERROR, "the reply to GET %s is larger than "
			    "%lu MiB", path, HTTP_BODY_MAX >> 20);
		} else if (s.hs_buf.hb_nomem) {
			cli_fail(CLI_ERROR, "out of memory");
		} else if (cc == CURLE_ABORTED_BY_CALLBACK && cli_interrupted) {
			rc = HTTP_STREAM_INTERRUPTED;
		} else if (h->h_idled) {
			snprintf(why, whylen, "the stream from hangard at %s "
			    "(GET %s) was silent for %ld s", h->h_target, path,
			    idle);
			rc = HTTP_STREAM_CUT;
		} else if (out->hr_status != 0) {
			snprintf(why, whylen, "the stream from hangard at %s "
			    "(GET %s) was cut off: %s", h->h_target, path,
			    h->h_err[0] != '\0' ? h->h_err :
			    curl_easy_strerror(cc));
			rc = HTTP_STREAM_CUT;
		} else {
			http_unreachable_msg(h, "GET", path, cc, why, whylen);
			rc = HTTP_STREAM_CUT;
		}
		goto done;
	}
	if (s.hs_buf.hb_len > 0)
		out->hr_json = json_loadb(s.hs_buf.hb_data, s.hs_buf.hb_len, 0,
		    &je);
	rc = HTTP_STREAM_REPLY;
done:
	h->h_idle = 0;
	h->h_idled = false;
	curl_easy_reset(c);
	curl_slist_free_all(hdrs);
	free(s.hs_buf.hb_data);
	return rc;
}
