/*
 * problem.c - the one place an error becomes an HTTP reply body:
 * application/problem+json (RFC 9457) with hangar's extension members
 * `retryable` and, when one request field is at fault, `field`.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "../common/utf8.h"
#include "req.h"

static const char *
problem_title(int status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 507: return "Insufficient Storage";
	default:  return "Internal Server Error";
	}
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
	    "detail", e->msg[0] ? utf8_clean(e->msg, detail, sizeof(detail)) :
	    problem_title(status),
	    "retryable", e->retryable);
	if (j && e->field[0])
		json_object_set_new(j, "field",
		    json_string(utf8_clean(e->field, field, sizeof(field))));
	if (j && instance)
		json_object_set_new(j, "instance",
		    json_string(utf8_clean(instance, inst, sizeof(inst))));
	return j;
}
