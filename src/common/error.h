/*
 * error.h - the one error type of hangar.
 *
 * An error is reported once, where it happens, into a thread-local error
 * slot (the libvirt way); the function then returns -1 (or NULL) and its
 * callers just pass that up.  Only src/api turns the slot into an HTTP
 * problem+json reply (api/problem.c), and only the daemon's operation runner
 * copies it into an operation's result.
 *
 * Messages are whole sentences with values quoted: "vm 'web1' is paused".
 */
#ifndef HANGAR_ERROR_H
#define HANGAR_ERROR_H

#include <stdbool.h>

enum err_code {
	ERR_NONE = 0,
	ERR_INVALID,        /* 400: malformed or out-of-range input */
	ERR_NOT_FOUND,      /* 404 */
	ERR_METHOD,         /* 405 */
	ERR_CONFLICT,       /* 409: wrong state, name taken, op in progress */
	ERR_TOO_LARGE,      /* 413 */
	ERR_MEDIA_TYPE,     /* 415 */
	ERR_UNPROCESSABLE,  /* 422: well-formed but cannot be acted on */
	ERR_INTERNAL,       /* 500 */
	ERR_UNSUPPORTED,    /* 501: the backend lacks this operation */
	ERR_BACKEND,        /* 502: the hypervisor said no */
	ERR_UNAVAILABLE,    /* 503: database or host unavailable, retry */
	ERR_NO_CAPACITY,    /* 409: no host can take it */
	ERR_TIMEOUT,        /* 504 */
	ERR_INTERRUPTED,    /* 503: cut short by a daemon restart; retry */
	ERR_UNAUTHORIZED,   /* 401: no credentials, or not valid ones */
	ERR_FORBIDDEN,      /* 403: valid credentials, not enough for this */
	ERR_INSUFFICIENT_STORAGE,  /* 507: a disk of ours is full; retry later */
	ERR_URI_TOO_LONG,   /* 414: the request's path and query */
	ERR_HEADERS_TOO_LARGE,     /* 431: a header field, or all of them */
	ERR_PRECONDITION,   /* 412: If-Match names a version that is gone */
	ERR__COUNT
};

#define ERR_FIELD_MAX 64
#define ERR_MSG_MAX 1024

struct err {
	enum err_code code;
	bool retryable;
	char field[ERR_FIELD_MAX];  /* the request field at fault, or "" */
	char msg[ERR_MSG_MAX];      /* a whole sentence */
};

/* Set this thread's error; returns -1 so callers can `return err_set(...)`. */
int err_set(enum err_code code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same, naming the request field at fault. */
int err_set_field(enum err_code code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Mark the current error as worth retrying (503-style). */
void err_set_retryable(bool retryable);
/* This thread's last error; never NULL.  Code ERR_NONE if none was set. */
const struct err *err_last(void);
void err_clear(void);
/* Copy the current error out (e.g. across threads). */
void err_save(struct err *out);
void err_restore(const struct err *in);

/* Stable names and HTTP statuses for codes (tables in error.c). */
const char *err_code_name(enum err_code code);
int err_code_http(enum err_code code);
enum err_code err_code_from_name(const char *name);

#endif
