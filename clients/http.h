/*
 * http.h - the hangar client's libcurl wrapper: one request in, one status
 * and parsed JSON body out.
 *
 * The target is "unix:/path/to.sock" (requests go to http://localhost over
 * that socket) or "http://host:port" (https too).  http_set_auth() adds
 * an API token (Authorization: Bearer) to every request and a CA file
 * for https.  One curl handle is kept
 * for the whole run so polls reuse the connection.  http_stream() is the
 * one long-lived request: GET /v1/events, its body handed over piece by
 * piece, with no total timeout.
 */
#ifndef HANGAR_HTTP_H
#define HANGAR_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define HTTP_BODY_MAX (64UL << 20)	/* replies larger than this fail */
#define HTTP_TIMEOUT 60L		/* default seconds a request may take */

struct http;

/* What came back: the HTTP status and the body parsed, NULL if empty. */
struct http_reply {
	long	 hr_status;
	json_t	*hr_json;
};

/*
 * Called while a request is in flight (about once a second when idle,
 * more often otherwise), so a waiting command can turn its spinner.
 */
typedef void http_tick_fn(void *);

/*
 * Called with each piece of a streamed reply's body as it arrives (pieces
 * split anywhere, even inside a line).  Returns 0, or -1 after reporting
 * to stop the stream.
 */
typedef int http_chunk_fn(void *, const char *, size_t);

/* How http_stream() ended. */
enum http_stream_end {
	HTTP_STREAM_FAILED = -1,	/* reported */
	HTTP_STREAM_REPLY,		/* the server answered and ended it */
	HTTP_STREAM_CUT,		/* unreached, cut off or silent: why */
	HTTP_STREAM_INTERRUPTED		/* SIGINT */
};

struct http	*http_open(const char *);
void		 http_close(struct http *);
int		 http_set_auth(struct http *, const char *, const char *);
const char	*http_target(const struct http *);
void		 http_set_tick(struct http *, http_tick_fn *, void *);
bool		 http_set_quiet(struct http *, bool);
int		 http_request(struct http *, const char *, const char *,
		    const json_t *, long, struct http_reply *);
int		 http_call(struct http *, const char *, const char *,
		    const json_t *, json_t **);
enum http_stream_end http_stream(struct http *, const char *, const char *,
		    const char *, long, http_chunk_fn *, void *,
		    struct http_reply *, char *, size_t);
void		 http_reply_free(struct http_reply *);
int		 http_fail(const struct http_reply *);
int		 http_path(struct http *, char *, size_t, const char *,
		    const char *, const char *);
int		 http_query(struct http *, char *, size_t, const char *,
		    const char *);

#endif
