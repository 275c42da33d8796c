/*
 * limits.c - the size of a request's head, checked before anything else
 * is done with it: its target (path and query) and its header fields.
 *
 * libmicrohttpd keeps a request's head in the connection's memory
 * (SERVER_CONN_MEMORY in server.c) and answers one that does not fit
 * itself, with a body of its own that is not problem+json (and no hook
 * to change it).  These limits sit well inside that memory, so that a
 * head too long for hangar reaches it and is answered here: 414 for the
 * target, 431 for the fields, problem+json like every other error.  Only
 * a head past the connection's memory still gets libmicrohttpd's reply.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "req.h"

#define LIMITS_TARGET_MAX 8192   /* the path and the query, in bytes */
#define LIMITS_FIELD_MAX 8192    /* one header field, name and value */
#define LIMITS_HEAD_MAX 32768    /* every header field */

struct limits_sum {
	size_t total;            /* bytes so far */
	size_t longest;          /* the longest one */
	char name[64];           /* ... its name */
};

static enum MHD_Result
limits_add(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct limits_sum *s = cls;
	/* "key: value\r\n", or "key=value&" */
	size_t n = strlen(key) + (value ? strlen(value) : 0) + 2;

	(void)kind;
	s->total += n;
	if (n > s->longest) {
		s->longest = n;
		snprintf(s->name, sizeof(s->name), "%s", key);
	}
	return MHD_YES;
}

int
limits_head(struct MHD_Connection *conn, const char *url)
{
	struct limits_sum q = { 0 }, h = { 0 };

	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, limits_add, &q);
	if (strlen(url) + q.total > LIMITS_TARGET_MAX)
		return err_set(ERR_URI_TOO_LONG, "the request's path and "
		    "query are %zu bytes long, more than %d", strlen(url) +
		    q.total, LIMITS_TARGET_MAX);
	MHD_get_connection_values(conn, MHD_HEADER_KIND, limits_add, &h);
	if (h.longest > LIMITS_FIELD_MAX)
		return err_set(ERR_HEADERS_TOO_LARGE, "the header field "
		    "'%.48s' is %zu bytes long, more than %d", h.name,
		    h.longest, LIMITS_FIELD_MAX);
	if (h.total > LIMITS_HEAD_MAX)
		return err_set(ERR_HEADERS_TOO_LARGE, "the header fields are "
		    "%zu bytes long, more than %d", h.total, LIMITS_HEAD_MAX);
	return 0;
}
