/*
 * error.c - the thread-local error slot and the code tables.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static __thread struct err err_tls;

static const struct {
	const char *name;
	int http;
	bool retryable;
} err_table[ERR__COUNT] = {
	[ERR_NONE]          = { "none", 200, false },
	[ERR_INVALID]       = { "invalid-request", 400, false },
	[ERR_NOT_FOUND]     = { "not-found", 404, false },
	[ERR_METHOD]        = { "method-not-allowed", 405, false },
	[ERR_CONFLICT]      = { "conflict", 409, false },
	[ERR_TOO_LARGE]     = { "payload-too-large", 413, false },
	[ERR_MEDIA_TYPE]    = { "unsupported-media-type", 415, false },
	[ERR_UNPROCESSABLE] = { "unprocessable", 422, false },
	[ERR_INTERNAL]      = { "internal-error", 500, false },
	[ERR_UNSUPPORTED]   = { "not-implemented", 501, false },
	[ERR_BACKEND]       = { "backend-error", 502, false },
	[ERR_UNAVAILABLE]   = { "unavailable", 503, true },
	[ERR_NO_CAPACITY]   = { "no-capacity", 409, false },
	[ERR_TIMEOUT]       = { "timeout", 504, true },
	[ERR_INTERRUPTED]   = { "interrupted", 503, true },
	[ERR_UNAUTHORIZED]  = { "unauthorized", 401, false },
	[ERR_FORBIDDEN]     = { "forbidden", 403, false },
	[ERR_INSUFFICIENT_STORAGE] = { "insufficient-storage", 507, true },
	[ERR_URI_TOO_LONG]  = { "uri-too-long", 414, false },
	[ERR_HEADERS_TOO_LARGE] = { "header-fields-too-large", 431, false },
	[ERR_PRECONDITION]  = { "precondition-failed", 412, false },
};

static void
err_vset(enum err_code code, const char *field, const char *fmt, va_list ap)
{
	err_tls.code = code;
	err_tls.retryable = err_table[code].retryable;
	snprintf(err_tls.field, sizeof(err_tls.field), "%s", field ? field : "");
	vsnprintf(err_tls.msg, sizeof(err_tls.msg), fmt, ap);
}

int
err_set(enum err_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(code, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

int
err_set_field(enum err_code code, const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(code, field, fmt, ap);
	va_end(ap);
	return -1;
}

void
err_set_retryable(bool retryable)
{
	err_tls.retryable = retryable;
}

const struct err *
err_last(void)
{
	return &err_tls;
}

void
err_clear(void)
{
	memset(&err_tls, 0, sizeof(err_tls));
}

void
err_save(struct err *out)
{
	*out = err_tls;
}

void
err_restore(const struct err *in)
{
	err_tls = *in;
}

const char *
err_code_name(enum err_code code)
{
	if ((int)code < 0 || code >= ERR__COUNT)
		code = ERR_INTERNAL;
	return err_table[code].name;
}

int
err_code_http(enum err_code code)
{
	if ((int)code < 0 || code >= ERR__COUNT)
		code = ERR_INTERNAL;
	return err_table[code].http;
}

enum err_code
err_code_from_name(const char *name)
{
	for (int i = 0; i < ERR__COUNT; i++)
		if (name && strcmp(err_table[i].name, name) == 0)
			return (enum err_code)i;
	return ERR_INTERNAL;
}
