/*
 * problem.c - the client's own reader of RFC 9457 problem+json bodies.
 *
 * hangard answers every error with {"type","title","status","detail",
 * "retryable","field","instance"} (docs/api.md), and a failed operation
 * carries the same object in its "error".  The client shows one line from
 * it: the detail (a whole sentence naming the values), else the title, else
 * just the HTTP status, so a proxy's HTML error page still says something.
 */
#include <stdio.h>
#include <string.h>

#include "hangar.h"

/*
 * Write one line saying what problem p (may be NULL or not an object) means
 * into buf; status is the HTTP status it came with, or 0 if none.
 * Example: {"detail":"vm 'web1' is stopped; pause needs it running"} gives
 * that sentence.
 */
void
problem_message(const json_t *p, long status, char *buf, size_t len)
{
	const char *detail = json_string_value(json_object_get(p, "detail"));
	const char *title = json_string_value(json_object_get(p, "title"));
	const char *field = json_string_value(json_object_get(p, "field"));
	int n;

	if (detail != NULL && *detail != '\0')
		n = snprintf(buf, len, "%s", detail);
	else if (title != NULL && *title != '\0' && field != NULL)
		n = snprintf(buf, len, "%s (field '%s')", title, field);
	else if (title != NULL && *title != '\0')
		n = snprintf(buf, len, "%s", title);
	else if (status > 0)
		n = snprintf(buf, len, "the server answered HTTP %ld", status);
	else
		n = snprintf(buf, len, "the server gave no reason");
	if (n < 0 && len > 0)
		buf[0] = '\0';
	/* A longer message is cut short; that is the bound we want. */
}

/*
 * Whether asking again may help: the problem says "retryable": true, or,
 * without a body that says, the status is 503 (unavailable) or 504.
 */
bool
problem_retryable(const json_t *p, long status)
{
	const json_t *r = json_object_get(p, "retryable");

	if (json_is_boolean(r))
		return json_is_true(r);
	return status == 503 || status == 504;
}
