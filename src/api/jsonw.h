/*
 * jsonw.h - writing JSON text straight into a buffer, for the replies
 * that are hot enough that building a jansson tree and dumping it costs
 * more than the rest of the request (GET /v1/vms/{id}).
 *
 * The text is exactly what jansson's json_dumps(..., JSON_COMPACT) makes
 * of the same values (tests/unit/test_api.c compares the two on random
 * input): strings escaped the same way ('"', '\\', control characters;
 * UTF-8 passed through), and a string that is not valid UTF-8 fails the
 * whole text, as json_string() would refuse it.
 *
 * Example:
 *	struct jw w;
 *	jw_init(&w);
 *	jw_begin(&w, '{');
 *	jw_key(&w, "name");
 *	jw_str(&w, v->name);
 *	jw_end(&w, '}');
 *	if (jw_failed(&w)) ... (jw_free(&w): out of memory or not UTF-8)
 *	text = jw_take(&w, &len);      (the caller's: free() it)
 */
#ifndef HANGAR_JSONW_H
#define HANGAR_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JW_DEPTH 16              /* objects and arrays inside another */

struct jw {
	char *buf;               /* malloc'd, NUL-terminated while !failed */
	size_t len, cap;
	bool failed;             /* out of memory, not UTF-8, too deep */
	unsigned depth;
	bool in_array[JW_DEPTH]; /* per open container: an array? */
	bool first[JW_DEPTH];    /* ... with nothing in it yet? */
	bool after_key;          /* a key was written: its value is next */
};

void jw_init(struct jw *w);
void jw_free(struct jw *w);
/* Did anything fail?  Then the text is no good (jw_take gives NULL). */
bool jw_failed(const struct jw *w);
/* The text (the caller's; free() it) and its length, or NULL when it
 * failed.  w is empty afterwards. */
char *jw_take(struct jw *w, size_t *len);

/* '{' or '[', and its closing '}' or ']'. */
void jw_begin(struct jw *w, char open);
void jw_end(struct jw *w, char close);
/* An object member's key (plain ASCII, written as is) and its ':'. */
void jw_key(struct jw *w, const char *key);
/* Values. */
void jw_str(struct jw *w, const char *s);
/* s, or null when s is "". */
void jw_str_or_null(struct jw *w, const char *s);
void jw_int(struct jw *w, int64_t n);
void jw_bool(struct jw *w, bool b);
void jw_null(struct jw *w);
/* ms since the epoch as RFC 3339 UTC ("2026-11-24T21:07:00.123Z", as
 * req_time()), or null for 0. */
void jw_time(struct jw *w, int64_t ms);

#endif
