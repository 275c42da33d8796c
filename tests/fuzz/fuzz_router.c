/*
 * fuzz_router.c - libFuzzer target for the URL router (src/api/router.c)
 * and what server.c does with its answer: router_match, then for a miss
 * problem_json of the error; plus the parsers of the other request-line
 * and header values: GET /v1/events's (events_parse_types,
 * events_parse_id) and the Idempotency-Key check (idem_key_valid).
 * Those are static, so src/api/events.c and idem.c are compiled into
 * this file.
 *
 * Input: "METHOD PATH" up to the first '\n' (the method is what comes
 * before the first ' '), then the value of ?type= up to the next '\n',
 * then the value of ?since= / Last-Event-ID up to the next '\n', then an
 * Idempotency-Key (each cut at a NUL, as libmicrohttpd hands over C
 * strings).
 * Checks:
 *  - a match is a route whose method is METHOD and whose pattern, with
 *    each '*' replaced by the next captured parameter, is PATH exactly;
 *    every parameter is non-empty, holds no '/', fits r->params and the
 *    unused ones stay empty;
 *  - a miss is ERR_METHOD (with a non-empty Allow list of known methods)
 *    or ERR_NOT_FOUND, with a message, and its problem+json body exists
 *    (whatever bytes the method and path hold) with the right status
 *    and a detail string;
 *  - the Allow list fits its buffer;
 *  - events_parse_types accepts only lists of [a-z._] names with at
 *    most a trailing '*', at most 16 of them, each under 48 bytes, and
 *    copies each one out intact; events_parse_id only [0-9]+ in range;
 *  - idem_key_valid only 1 to IDEM_KEY_MAX - 1 visible ASCII bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/events.c"
#include "api/idem.c"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_methods[] = {
	"GET", "POST", "PATCH", "DELETE",
};

static bool
known_method(const char *m, size_t n)
{
	for (size_t i = 0; i < sizeof(fuzz_methods) / sizeof(fuzz_methods[0]);
	    i++)
		if (strlen(fuzz_methods[i]) == n &&
		    strncmp(fuzz_methods[i], m, n) == 0)
			return true;
	return false;
}

static void
check_route(struct req *r, const struct route *rt)
{
	struct fuzz_sb b = { NULL, 0, 0 };
	int np = 0;

	FUZZ_CHECK(strcmp(rt->method, r->method) == 0, "matched %s %s for "
	    "method %s", rt->method, rt->pattern, r->method);
	fuzz_sb_put(&b, "");
	for (const char *p = rt->pattern; *p; p++) {
		if (*p != '*') {
			fuzz_sb_putn(&b, p, 1);
			continue;
		}
		FUZZ_CHECK(np < REQ_MAX_PARAMS, "pattern %s has too many '*'",
		    rt->pattern);
		FUZZ_CHECK(memchr(r->params[np], '\0',
		    sizeof(r->params[np])) != NULL, "param %d unterminated",
		    np);
		FUZZ_CHECK(r->params[np][0] != '\0' &&
		    strchr(r->params[np], '/') == NULL, "param %d is '%s'", np,
		    r->params[np]);
		fuzz_sb_put(&b, r->params[np]);
		np++;
	}
	FUZZ_CHECK(strcmp(b.s, r->path) == 0, "%s %s matched '%s' (rebuilt "
	    "as '%s')", rt->method, rt->pattern, r->path, b.s);
	for (int i = np; i < REQ_MAX_PARAMS; i++)
		FUZZ_CHECK(r->params[i][0] == '\0', "unused param %d set", i);
	free(b.s);
}

static void
check_miss(struct req *r, const char *allow, size_t allow_len)
{
	const struct err *e = err_last();
	json_t *p;

	FUZZ_CHECK(memchr(allow, '\0', allow_len) != NULL, "Allow unterminated");
	FUZZ_CHECK(e->code == ERR_METHOD || e->code == ERR_NOT_FOUND,
	    "a miss gave code %d", (int)e->code);
	FUZZ_CHECK(e->msg[0] != '\0', "a miss gave no message");
	if (e->code == ERR_METHOD) {
		/* "GET, POST, ..." */
		const char *a = allow;

		FUZZ_CHECK(allow[0] != '\0', "405 with an empty Allow");
		for (;;) {
			size_t n = strcspn(a, ",");

			FUZZ_CHECK(known_method(a, n), "Allow is '%s'", allow);
			if (a[n] == '\0')
				break;
			FUZZ_CHECK(a[n + 1] == ' ', "Allow is '%s'", allow);
			a += n + 2;
		}
	} else {
		FUZZ_CHECK(allow[0] == '\0', "404 with Allow '%s'", allow);
	}
	p = problem_json(e, r->path);
	FUZZ_CHECK(p != NULL, "no problem body for path '%s'", r->path);
	FUZZ_CHECK(json_integer_value(json_object_get(p, "status")) ==
	    (e->code == ERR_METHOD ? 405 : 404), "problem status");
	/* present; it may be cut short, even to "" (utf8_clean stops at
	 * the first invalid byte: a method of 0xf5 gives "detail": "") */
	FUZZ_CHECK(json_is_string(json_object_get(p, "detail")),
	    "problem without detail");
	json_decref(p);
}

static void
check_types(const char *list)
{
	struct events_stream s;
	int rc;

	memset(&s, 0, sizeof(s));
	err_clear();
	rc = events_parse_types(&s, list);
	fuzz_check_rc(rc, "events_parse_types");
	if (rc < 0) {
		FUZZ_CHECK(strcmp(err_last()->field, "type") == 0, "field '%s'",
		    err_last()->field);
		return;
	}
	FUZZ_CHECK(s.ntypes >= 0 && s.ntypes <= EVENTS_TYPES_MAX, "ntypes %d",
	    s.ntypes);
	{
		/* the list, rejoined, is the input (bar one trailing ',') */
		struct fuzz_sb b = { NULL, 0, 0 };
		size_t n = strlen(list);

		fuzz_sb_put(&b, "");
		for (int i = 0; i < s.ntypes; i++) {
			size_t k = strlen(s.types[i]);

			FUZZ_CHECK(k >= 1 && k < sizeof(s.types[i]),
			    "type %d is %zu bytes", i, k);
			FUZZ_CHECK(strspn(s.types[i],
			    "abcdefghijklmnopqrstuvwxyz._*") == k,
			    "type '%s' accepted", s.types[i]);
			FUZZ_CHECK(strchr(s.types[i], '*') == NULL ||
			    strchr(s.types[i], '*') == s.types[i] + k - 1,
			    "type '%s' has a '*' inside", s.types[i]);
			if (i)
				fuzz_sb_put(&b, ",");
			fuzz_sb_put(&b, s.types[i]);
		}
		if (n && list[n - 1] == ',')
			n--;
		FUZZ_CHECK(b.len == n && strncmp(b.s, list, n) == 0,
		    "'%s' parsed as '%s'", list, b.s);
		free(b.s);
	}
}

static void
check_id(const char *v)
{
	int64_t id = -7;
	int rc;

	err_clear();
	rc = events_parse_id(v, "since", &id);
	fuzz_check_rc(rc, "events_parse_id");
	if (rc < 0) {
		FUZZ_CHECK(id == -7, "*out set on failure");
		return;
	}
	FUZZ_CHECK(v[0] != '\0' && strspn(v, "0123456789") == strlen(v),
	    "id '%s' accepted", v);
	FUZZ_CHECK(id >= 0, "id '%s' gave %lld", v, (long long)id);
}

static void
check_idem(const char *key)
{
	size_t n = strlen(key);
	bool visible = true;

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)key[i] < 0x21 || (unsigned char)key[i] > 0x7e)
			visible = false;
	FUZZ_CHECK(idem_key_valid(key) == (n >= 1 && n < IDEM_KEY_MAX &&
	    visible), "idem_key_valid('%s') is wrong", key);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_strndup(data, size), *line, *sp, *types, *id, *key;
	char *nl;
	char allow[128];      /* as server.c */
	const struct route *rt;
	struct req r;

	line = in;
	types = "";
	id = "";
	key = "";
	if ((nl = strchr(line, '\n')) != NULL) {
		*nl = '\0';
		types = nl + 1;
		if ((nl = strchr(types, '\n')) != NULL) {
			*nl = '\0';
			id = nl + 1;
			if ((nl = strchr(id, '\n')) != NULL) {
				*nl = '\0';
				key = nl + 1;
			}
		}
	}
	memset(&r, 0, sizeof(r));
	if ((sp = strchr(line, ' ')) != NULL) {
		*sp = '\0';
		r.method = line;
		r.path = sp + 1;
	} else {
		r.method = "GET";
		r.path = line;
	}
	err_clear();
	memset(allow, 'X', sizeof(allow));
	rt = router_match(&r, allow, sizeof(allow));
	if (rt)
		check_route(&r, rt);
	else
		check_miss(&r, allow, sizeof(allow));

	check_types(types);
	check_id(id);
	check_idem(key);
	free(in);
	return 0;
}
