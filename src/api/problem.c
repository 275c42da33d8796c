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

/* Length of the valid UTF-8 sequence at u (RFC 3629), or 0. */
static size_t
problem_utf8_seq(const unsigned char *u)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, k;

	if (u[0] < 0x80)
		return 1;
	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		n = 2;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		n = 3;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		n = 4;
	else
		return 0;           /* continuation, overlong lead, > U+10FFFF */
	if (u[0] == 0xe0)
		lo = 0xa0;          /* overlong */
	else if (u[0] == 0xed)
		hi = 0x9f;          /* surrogates */
	else if (u[0] == 0xf0)
		lo = 0x90;          /* overlong */
	else if (u[0] == 0xf4)
		hi = 0x8f;          /* > U+10FFFF */
	if (u[1] < lo || u[1] > hi)
		return 0;
	for (k = 2; k < n; k++)
		if ((u[k] & 0xc0) != 0x80)
			return 0;
	return n;
}

/*
 * Copy s into buf, stopping before the first byte that is not valid UTF-8
 * (a message may quote client input cut short in the middle of a
 * character, or a path with any bytes in it), so the reply is always
 * valid JSON.
 */
static const char *
problem_utf8(const char *s, char *buf, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;

	while (u[i] && (n = problem_utf8_seq(u + i)) != 0 && i + n < len)
		i += n;
	memcpy(buf, s, i);
	buf[i] = '\0';
	return buf;
}

json_t *
problem_json(const struct err *e, const char *instance)
{
	enum err_code code = e->code == ERR_NONE ? ERR_INTERNAL : e->code;
	int status = err_code_http(code);
	char type[96], detail[ERR_MSG_MAX], field[ERR_FIELD_MAX], inst[1024];
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
		json_object_set_new(j, "instance",
		    json_string(problem_utf8(instance, inst, sizeof(inst))));
	return j;
}
