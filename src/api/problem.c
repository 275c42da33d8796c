/*
 * problem.c - the one place an error becomes an HTTP reply body:
 * application/problem+json (RFC 9457) with hangar's extension members
 * `retryable` and, when one request field is at fault, `field`.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "req.h"

static const char *
problem_title(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default:  return "Internal Server Error";
	}
}

/*
 * Copy s into buf, stopping before the first byte that is not valid UTF-8
 * (a message may quote client input cut short in the middle of a
 * character), so the reply is always valid JSON.
 */
static const char *
problem_utf8(const char *s, char *buf, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, n;

	while (u[i] && i < len - 1) {
		n = u[i] < 0x80 ? 1 : (u[i] >> 5) == 0x6 ? 2 :
		    (u[i] >> 4) == 0xe ? 3 : (u[i] >> 3) == 0x1e ? 4 : 0;
		if (n == 0 || i + n > len - 1)
			break;
		for (k = 1; k < n; k++)
			if ((u[i + k] >> 6) != 0x2)
				break;
		if (k < n)
			break;
		i += n;
	}
	memcpy(buf, s, i);
	buf[i] = '\0';
	return buf;
}

json_t *
problem_json(const struct err *e, const char *instance)
{
	enum err_code code = e->code == ERR_NONE ? ERR_INTERNAL : e->code;
	int status = err_code_http(code);
	char type[96], detail[ERR_MSG_MAX], field[ERR_FIELD_MAX];
	json_t *j;

	snprintf(type, sizeof(type), "urn:hangar:problem:%s",
	    err_code_name(code));
	j = json_pack("{s:s, s:s, s:i, s:s, s:b}",
	    "type", type,
	    "title", problem_title(status),
	    "status", status,
	    "detail", e->msg[0] ? problem_utf8(e->msg, detail, sizeof(detail)) :
	    problem_title(status),
	    "retryable", e->retryable);
	if (j && e->field[0])
		json_object_set_new(j, "field",
		    json_string(problem_utf8(e->field, field, sizeof(field))));
	if (j && instance)
		json_object_set_new(j, "instance", json_string(instance));
	return j;
}
