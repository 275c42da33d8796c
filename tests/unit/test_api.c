/*
 * test_api.c - unit tests of the API's pure request-checking pieces:
 * body_check (api/body.c), req_check_name, router_match (api/router.c)
 * and problem_json (api/problem.c); and of the JSON text writer
 * (api/jsonw.c, vms_write), against what jansson makes of the same values
 * on many random inputs.
 *
 * No HTTP server runs: a struct req is built by hand with the fields
 * these functions read.  req_query and req_query_int need a live
 * libmicrohttpd connection and are left to the integration tests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/jsonw.h"
#include "api/req.h"
#include "common/error.h"

/* The same table as POST /v1/vms (api/vms.c), per docs/api.md. */
static const struct body_field create_fields[] = {
	{ "name", BODY_STRING, true, 0, 255 },
	{ "vcpus", BODY_INT, false, 1, 256 },
	{ "memory_mib", BODY_INT, false, 16, 4194304 },
	{ "disk_gib", BODY_INT, false, 1, 65536 },
	{ "start", BODY_BOOL, false, 0, 0 },
};
#define NCREATE (sizeof(create_fields) / sizeof(create_fields[0]))

/* POST /v1/vms/{vm}/stop: nothing required. */
static const struct body_field stop_fields[] = {
	{ "force", BODY_BOOL, false, 0, 0 },
	{ "timeout_s", BODY_INT, false, 1, 3600 },
};
#define NSTOP (sizeof(stop_fields) / sizeof(stop_fields[0]))

/*
 * Run body_check on a body given as JSON text (NULL: no body).  Returns
 * what body_check returned; *rq keeps the request (caller json_decrefs
 * rq->body).
 */
static int
check_text(struct req *rq, const char *text, const struct body_field *f,
    size_t n)
{
	json_error_t je;

	memset(rq, 0, sizeof(*rq));
	rq->method = "POST";
	rq->path = "/v1/vms";
	if (text) {
		rq->body = json_loads(text, JSON_DECODE_ANY, &je);
		if (rq->body == NULL)
			fail_msg("bad test JSON %s: %s", text, je.text);
	}
	err_clear();
	return body_check(rq, f, n);
}

/* body_check must fail with ERR_INVALID naming field (or "" for none). */
static void
assert_body_invalid(const char *text, const struct body_field *f, size_t n,
    const char *field)
{
	struct req rq;
	int rc = check_text(&rq, text, f, n);

	if (rc != -1)
		fail_msg("body %s was accepted", text ? text : "(none)");
	assert_int_equal(err_last()->code, ERR_INVALID);
	assert_string_equal(err_last()->field, field);
	assert_true(err_last()->msg[0] != '\0');
	json_decref(rq.body);
}

static void
assert_body_ok(const char *text, const struct body_field *f, size_t n)
{
	struct req rq;
	int rc = check_text(&rq, text, f, n);

	if (rc != 0)
		fail_msg("body %s refused: %s", text ? text : "(none)",
		    err_last()->msg);
	json_decref(rq.body);
}

/* --- body_check --- */

static void
test_body_valid(void **state)
{
	struct req rq;

	(void)state;
	assert_int_equal(check_text(&rq, "{\"name\":\"web1\",\"vcpus\":2,"
	    "\"memory_mib\":64,\"disk_gib\":3,\"start\":true}", create_fields,
	    NCREATE), 0);
	assert_string_equal(body_string(&rq, "name"), "web1");
	assert_int_equal(body_int(&rq, "vcpus", 1), 2);
	assert_int_equal(body_int(&rq, "memory_mib", 512), 64);
	assert_int_equal(body_int(&rq, "disk_gib", 10), 3);
	assert_true(body_bool(&rq, "start", false));
	json_decref(rq.body);

	/* absent optional fields give the caller's defaults */
	assert_int_equal(check_text(&rq, "{\"name\":\"x\"}", create_fields,
	    NCREATE), 0);
	assert_int_equal(body_int(&rq, "vcpus", 1), 1);
	assert_int_equal(body_int(&rq, "memory_mib", 512), 512);
	assert_false(body_bool(&rq, "start", false));
	assert_true(body_bool(&rq, "start", true));
	assert_null(body_string(&rq, "nothing"));
	json_decref(rq.body);

	/* range ends are inclusive */
	assert_body_ok("{\"name\":\"a\",\"vcpus\":1,\"memory_mib\":16,"
	    "\"disk_gib\":1}", create_fields, NCREATE);
	assert_body_ok("{\"name\":\"a\",\"vcpus\":256,\"memory_mib\":4194304,"
	    "\"disk_gib\":65536}", create_fields, NCREATE);
	assert_body_ok("{\"start\":false,\"name\":\"a\"}", create_fields,
	    NCREATE);
}

/* body_where names the field a byte is in (a body that is not UTF-8) */
static void
test_body_where(void **state)
{
	static const struct {
		const char *body, *at, *field;
	} cases[] = {
		{ "{\"name\":\"a\",\"cloud_init\":{\"user_data\":\"ab#",
		    "#", "cloud_init.user_data" },
		{ "{\"cloud_init\":{\"hostname\":\"x\",\"ssh_authorized_keys\""
		    ":[\"k1\",\"k\\\"2#", "#",
		    "cloud_init.ssh_authorized_keys[1]" },
		{ "{\"disks\":[{\"bus\":\"a\"},{\"size_gib\":1,\"bus\":\"#",
		    "#", "disks[1].bus" },
		{ "{\"a\":{\"b\":[1,[2,3]],\"c\":\"#", "#", "a.c" },
		{ "{\"na#", "#", "" },
		{ "\"#", "#", "" },
	};
	char field[ERR_FIELD_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *b = cases[i].body;

		body_where(b, strlen(b), (size_t)(strstr(b, cases[i].at) - b),
		    field, sizeof(field));
		assert_string_equal(field, cases[i].field);
	}
}

static void
test_body_none(void **state)
{
	struct req rq;

	(void)state;
	/* no body at all is an empty object: fine when nothing is required */
	assert_int_equal(check_text(&rq, NULL, stop_fields, NSTOP), 0);
	assert_true(json_is_object(rq.body));
	assert_int_equal(json_object_size(rq.body), 0);
	assert_false(body_bool(&rq, "force", false));
	assert_int_equal(body_int(&rq, "timeout_s", 60), 60);
	json_decref(rq.body);
	assert_body_ok("{}", stop_fields, NSTOP);
	assert_body_ok("{\"force\":true,\"timeout_s\":3600}", stop_fields,
	    NSTOP);

	/* ... and names the field when one is required */
	assert_body_invalid(NULL, create_fields, NCREATE, "name");
	assert_body_invalid("{}", create_fields, NCREATE, "name");
	assert_body_invalid("{\"vcpus\":2}", create_fields, NCREATE, "name");
}

static void
test_body_unknown_field(void **state)
{
	char key[200], text[300];

	(void)state;
	assert_body_invalid("{\"name\":\"a\",\"colour\":\"red\"}",
	    create_fields, NCREATE, "colour");
	assert_body_invalid("{\"Name\":\"a\"}", create_fields, NCREATE,
	    "Name");
	assert_body_invalid("{\"force\":true,\"forced\":true}", stop_fields,
	    NSTOP, "forced");
	assert_body_invalid("{\"\":1}", stop_fields, NSTOP, "");
	assert_true(strstr(err_last()->msg, "unknown field") != NULL);
	/* an unknown field among valid ones is still refused */
	assert_body_invalid("{\"timeout_s\":5,\"x\":null,\"force\":false}",
	    stop_fields, NSTOP, "x");

	/* a very long key is cut to the field slot, not overflowed */
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	snprintf(text, sizeof(text), "{\"%s\":1}", key);
	{
		struct req rq;

		assert_int_equal(check_text(&rq, text, stop_fields, NSTOP),
		    -1);
		assert_int_equal(err_last()->code, ERR_INVALID);
		assert_int_equal(strlen(err_last()->field), ERR_FIELD_MAX - 1);
		assert_int_equal(strncmp(err_last()->field, key,
		    ERR_FIELD_MAX - 1), 0);
		json_decref(rq.body);
	}
}

static void
test_body_wrong_type(void **state)
{
	(void)state;
	assert_body_invalid("{\"name\":5}", create_fields, NCREATE, "name");
	assert_body_invalid("{\"name\":null}", create_fields, NCREATE,
	    "name");
	assert_body_invalid("{\"name\":[\"a\"]}", create_fields, NCREATE,
	    "name");
	assert_body_invalid("{\"name\":\"a\",\"vcpus\":\"2\"}", create_fields,
	    NCREATE, "vcpus");
	assert_body_invalid("{\"name\":\"a\",\"vcpus\":2.0}", create_fields,
	    NCREATE, "vcpus");
	assert_body_invalid("{\"name\":\"a\",\"vcpus\":true}", create_fields,
	    NCREATE, "vcpus");
	assert_body_invalid("{\"name\":\"a\",\"vcpus\":null}", create_fields,
	    NCREATE, "vcpus");
	assert_body_invalid("{\"name\":\"a\",\"start\":1}", create_fields,
	    NCREATE, "start");
	assert_body_invalid("{\"name\":\"a\",\"start\":\"true\"}",
	    create_fields, NCREATE, "start");
	assert_body_invalid("{\"force\":{}}", stop_fields, NSTOP, "force");
	assert_true(strstr(err_last()->msg, "force") != NULL);
}

static void
test_body_out_of_range(void **state)
{
	char name[300], text[400];

	(void)state;
	assert_body_invalid("{\"name\":\"a\",\"vcpus\":0}", create_fields,
	    NCREATE, "vcpus");
	assert_body_invalid("{\"name\":\"a\",\"vcpus\":257}", create_fields,
	    NCREATE, "vcpus");
	assert_body_invalid("{\"name\":\"a\",\"vcpus\":-1}", create_fields,
	    NCREATE, "vcpus");
	assert_body_invalid("{\"name\":\"a\",\"memory_mib\":15}",
	    create_fields, NCREATE, "memory_mib");
	assert_body_invalid("{\"name\":\"a\",\"memory_mib\":4194305}",
	    create_fields, NCREATE, "memory_mib");
	assert_body_invalid("{\"name\":\"a\",\"disk_gib\":"
	    "9223372036854775807}", create_fields, NCREATE, "disk_gib");
	assert_body_invalid("{\"name\":\"a\",\"disk_gib\":"
	    "-9223372036854775807}", create_fields, NCREATE, "disk_gib");
	assert_body_invalid("{\"timeout_s\":0}", stop_fields, NSTOP,
	    "timeout_s");
	assert_body_invalid("{\"timeout_s\":3601}", stop_fields, NSTOP,
	    "timeout_s");
	assert_true(strstr(err_last()->msg, "3601") != NULL);

	/* strings: max is the longest length allowed */
	memset(name, 'a', 255);
	name[255] = '\0';
	snprintf(text, sizeof(text), "{\"name\":\"%s\"}", name);
	assert_body_ok(text, create_fields, NCREATE);
	memset(name, 'a', 256);
	name[256] = '\0';
	snprintf(text, sizeof(text), "{\"name\":\"%s\"}", name);
	assert_body_invalid(text, create_fields, NCREATE, "name");
}

static void
test_body_not_object(void **state)
{
	(void)state;
	assert_body_invalid("[]", stop_fields, NSTOP, "");
	assert_body_invalid("[{\"force\":true}]", stop_fields, NSTOP, "");
	assert_body_invalid("\"force\"", stop_fields, NSTOP, "");
	assert_body_invalid("42", stop_fields, NSTOP, "");
	assert_body_invalid("true", stop_fields, NSTOP, "");
	assert_body_invalid("null", stop_fields, NSTOP, "");
	assert_true(strstr(err_last()->msg, "object") != NULL);
}

/* --- req_check_name --- */

static void
test_name_valid(void **state)
{
	static const char *const good[] = {
		"a", "0", "web1", "a-b", "abc-", "a--b", "9lives",
		"abcdefghijklmnopqrstuvwxyz0123456789-",
		/* 63 characters */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};

	(void)state;
	assert_int_equal(strlen(good[8]), 63);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err_clear();
		if (req_check_name("name", good[i]) != 0)
			fail_msg("'%s' refused: %s", good[i], err_last()->msg);
		assert_int_equal(err_last()->code, ERR_NONE);
	}
}

static void
test_name_invalid(void **state)
{
	static const char *const bad[] = {
		"", "a</name><x>", "../../etc", "Ünï", "-abc", "-", "ABC",
		"0b6e2a4e-2f7c-4d3b-9d55-1c4f6ad2e0b1",
		"webA", "a b", "a_b", "a.b", "a/b", "a\nb", "a\tb", "a'b",
		"a\"b", "a&b", "web1\xff", "caf\xc3\xa9",
		/* 64 characters */
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};

	(void)state;
	assert_int_equal(strlen(bad[sizeof(bad) / sizeof(bad[0]) - 1]), 64);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear();
		if (req_check_name("vm_name", bad[i]) != -1)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(err_last()->code, ERR_INVALID);
		assert_string_equal(err_last()->field, "vm_name");
		assert_true(strstr(err_last()->msg, "vm_name") != NULL);
	}
}

/* --- router_match --- */

struct route_case {
	const char *method;
	const char *path;
	req_handler handler;
	const char *param;       /* expected params[0], or NULL */
};

static const struct route_case route_cases[] = {
	{ "GET", "/v1", root_get, NULL },
	{ "GET", "/v1/hosts", hosts_list, NULL },
	{ "GET", "/v1/hosts/local", hosts_get, "local" },
	{ "POST", "/v1/hosts", hosts_create, NULL },
	{ "PATCH", "/v1/hosts/h2", hosts_update, "h2" },
	{ "DELETE", "/v1/hosts/h2", hosts_delete, "h2" },
	{ "GET", "/v1/groups", groups_list, NULL },
	{ "POST", "/v1/groups", groups_create, NULL },
	{ "GET", "/v1/groups/web", groups_get, "web" },
	{ "DELETE", "/v1/groups/web", groups_delete, "web" },
	{ "POST", "/v1/placements", placements_create, NULL },
	{ "GET", "/v1/vms", vms_list, NULL },
	{ "POST", "/v1/vms", vms_create, NULL },
	{ "GET", "/v1/vms/web1", vms_get, "web1" },
	{ "GET", "/v1/vms/0b6e2a4e-2f7c-4d3b-9d55-1c4f6ad2e0b1", vms_get,
	    "0b6e2a4e-2f7c-4d3b-9d55-1c4f6ad2e0b1" },
	{ "DELETE", "/v1/vms/web1", vms_delete, "web1" },
	{ "POST", "/v1/vms/web1/start", vms_start, "web1" },
	{ "POST", "/v1/vms/web1/stop", vms_stop, "web1" },
	{ "POST", "/v1/vms/web1/reboot", vms_reboot, "web1" },
	{ "POST", "/v1/vms/web1/pause", vms_pause, "web1" },
	{ "POST", "/v1/vms/web1/resume", vms_resume, "web1" },
	/* a VM may be called like an action or a collection */
	{ "POST", "/v1/vms/start/stop", vms_stop, "start" },
	{ "GET", "/v1/vms/vms", vms_get, "vms" },
	{ "GET", "/v1/operations", operations_list, NULL },
	{ "GET", "/v1/operations/abc-123", operations_get, "abc-123" },
	{ "GET", "/v1/images", images_list, NULL },
	{ "POST", "/v1/images", images_create, NULL },
	{ "GET", "/v1/images/debian-12.5", images_get, "debian-12.5" },
	{ "DELETE", "/v1/images/debian-12.5", images_delete, "debian-12.5" },
	{ "GET", "/v1/images/debian-12.5/file", images_file, "debian-12.5" },
};

static const struct route *
match(struct req *rq, const char *method, const char *path, char *allow,
    size_t allow_len)
{
	memset(rq, 0, sizeof(*rq));
	rq->method = method;
	rq->path = path;
	err_clear();
	return router_match(rq, allow, allow_len);
}

static void
test_router_every_route(void **state)
{
	struct req rq;
	char allow[128];

	(void)state;
	for (size_t i = 0; i < sizeof(route_cases) / sizeof(route_cases[0]);
	    i++) {
		const struct route_case *rc = &route_cases[i];
		const struct route *rt = match(&rq, rc->method, rc->path, allow,
		    sizeof(allow));

		if (rt == NULL)
			fail_msg("%s %s: %s", rc->method, rc->path,
			    err_last()->msg);
		if (rt->handler != rc->handler)
			fail_msg("%s %s: wrong handler (pattern %s)", rc->method,
			    rc->path, rt->pattern);
		assert_string_equal(rt->method, rc->method);
		assert_string_equal(rq.params[0], rc->param ? rc->param : "");
		assert_int_equal(err_last()->code, ERR_NONE);
	}
}

/*
 * Where requests run (req.h): on the server's pool only reads of one row
 * that never wait; every write (the writer's lock and fsync) and anything
 * that asks libvirt or lists a table on a thread of its own.
 */
static void
test_router_run(void **state)
{
	static const char *const pool[] = {
		"GET /v1", "GET /v1/vms/*", "GET /v1/vms/*/snapshots",
		"GET /v1/vms/*/snapshots/*", "GET /v1/vms/*/disks",
		"GET /v1/vms/*/disks/*", "GET /v1/operations/*",
		"GET /v1/events", "GET /v1/tokens", "GET /v1/images/*",
		"GET /v1/networks/*", "GET /v1/vms/*/nics",
		"GET /v1/vms/*/backups/*",
	};
	const struct route *rt;
	size_t n, npool = 0;
	char name[128];

	(void)state;
	rt = router_table(&n);
	for (size_t i = 0; i < n; i++) {
		bool want = false;

		snprintf(name, sizeof(name), "%s %s", rt[i].method,
		    rt[i].pattern);
		for (size_t k = 0; k < sizeof(pool) / sizeof(pool[0]); k++)
			want |= strcmp(name, pool[k]) == 0;
		if ((rt[i].run == ROUTE_POOL) != want)
			fail_msg("%s runs %s", name, rt[i].run == ROUTE_POOL ?
			    "on the pool" : "on its own thread");
		if (strcmp(rt[i].method, "GET") != 0)
			assert_true(rt[i].run == ROUTE_THREAD ||
			    rt[i].run == ROUTE_STREAM);
		/* a streamed body needs somewhere to go, and only then */
		if ((rt[i].run == ROUTE_STREAM) != (router_sink(&rt[i]) != NULL))
			fail_msg("%s: ROUTE_STREAM and a sink go together", name);
		npool += rt[i].run == ROUTE_POOL;
	}
	assert_int_equal(npool, sizeof(pool) / sizeof(pool[0]));
	/* the safe default: a row that says nothing gets its own thread */
	assert_int_equal(ROUTE_THREAD, 0);
}

static void
assert_not_found(const char *method, const char *path)
{
	struct req rq;
	char allow[128];

	if (match(&rq, method, path, allow, sizeof(allow)) != NULL)
		fail_msg("%s %s matched", method, path);
	if (err_last()->code != ERR_NOT_FOUND)
		fail_msg("%s %s: %s, not not-found", method, path,
		    err_code_name(err_last()->code));
	assert_string_equal(allow, "");
}

static void
test_router_not_found(void **state)
{
	char longseg[2100];

	(void)state;
	assert_not_found("GET", "/");
	assert_not_found("GET", "");
	assert_not_found("GET", "/v2");
	assert_not_found("GET", "/v1x");
	assert_not_found("GET", "/v");
	assert_not_found("GET", "/v1/host");
	assert_not_found("GET", "/v1/hostsx");
	assert_not_found("GET", "/v1/vms/web1/start/now");
	assert_not_found("POST", "/v1/vms/web1/explode");
	assert_not_found("GET", "/v1/operations/a/b");
	assert_not_found("GET", "v1/vms");
	/* trailing slashes and empty segments */
	assert_not_found("GET", "/v1/");
	assert_not_found("GET", "/v1/vms/");
	assert_not_found("GET", "/v1/hosts/");
	assert_not_found("POST", "/v1/vms//start");
	assert_not_found("GET", "//v1/vms");
	assert_not_found("GET", "/v1//vms");
	assert_not_found("POST", "/v1/vms/web1/start/");
	assert_not_found("GET", "/v1/operations/");
	assert_true(strstr(err_last()->msg, "/v1/operations/") != NULL);

	/* a segment longer than a parameter slot is no match, not overflow */
	memcpy(longseg, "/v1/vms/", 8);
	memset(longseg + 8, 'a', sizeof(longseg) - 9);
	longseg[sizeof(longseg) - 1] = '\0';
	assert_not_found("GET", longseg);
}

static void
assert_method(const char *method, const char *path, const char *allow_want)
{
	struct req rq;
	char allow[128];

	if (match(&rq, method, path, allow, sizeof(allow)) != NULL)
		fail_msg("%s %s matched", method, path);
	if (err_last()->code != ERR_METHOD)
		fail_msg("%s %s: %s, not method-not-allowed", method, path,
		    err_code_name(err_last()->code));
	assert_string_equal(allow, allow_want);
	assert_true(strstr(err_last()->msg, allow_want) != NULL);
	assert_true(strstr(err_last()->msg, method) != NULL);
}

static void
test_router_wrong_method(void **state)
{
	struct req rq;
	char allow[8];

	(void)state;
	assert_method("POST", "/v1", "GET");
	assert_method("DELETE", "/v1/hosts", "GET, POST");
	assert_method("POST", "/v1/hosts/local", "GET, PATCH, DELETE");
	assert_method("PUT", "/v1/groups/web", "GET, DELETE");
	assert_method("GET", "/v1/placements", "POST");
	assert_method("PUT", "/v1/vms", "GET, POST");
	assert_method("DELETE", "/v1/vms", "GET, POST");
	assert_method("POST", "/v1/vms/web1", "GET, PATCH, DELETE");
	assert_method("PUT", "/v1/vms/web1", "GET, PATCH, DELETE");
	assert_method("PUT", "/v1/vms/web1/snapshots", "GET, POST");
	assert_method("POST", "/v1/vms/web1/snapshots/s1", "GET, DELETE");
	assert_method("GET", "/v1/vms/web1/snapshots/s1/revert", "POST");
	assert_method("POST", "/v1/events", "GET");
	assert_method("GET", "/v1/vms/web1/start", "POST");
	assert_method("DELETE", "/v1/vms/web1/resume", "POST");
	assert_method("POST", "/v1/operations", "GET");
	assert_method("POST", "/v1/operations/x", "GET, DELETE");
	/* methods are case-sensitive (RFC 9110) */
	assert_method("get", "/v1", "GET");

	/* a small Allow buffer is cut, never overrun */
	memset(allow, 'X', sizeof(allow));
	assert_null(match(&rq, "PUT", "/v1/vms", allow, 4));
	assert_int_equal(err_last()->code, ERR_METHOD);
	assert_string_equal(allow, "GET");
	assert_int_equal(allow[4], 'X');
}

/* --- problem_json --- */

/* The problem for err, dumped and parsed back: proves it is valid JSON. */
static json_t *
problem_roundtrip(const struct err *e, const char *instance)
{
	json_t *j = problem_json(e, instance), *back;
	json_error_t je;
	char *text;

	if (j == NULL)
		fail_msg("problem_json gave NULL for '%s'", e->msg);
	text = json_dumps(j, JSON_COMPACT);
	if (text == NULL)
		fail_msg("problem for '%s' cannot be dumped", e->msg);
	back = json_loads(text, 0, &je);
	if (back == NULL)
		fail_msg("problem is not valid JSON: %s: %s", je.text, text);
	free(text);
	json_decref(j);
	return back;
}

static const char *
jstr(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);

	if (!json_is_string(v))
		fail_msg("'%s' is not a string", key);
	return json_string_value(v);
}

static void
test_problem_fields(void **state)
{
	struct err e;
	json_t *j;

	(void)state;
	err_set_field(ERR_CONFLICT, "name", "a vm named '%s' already exists",
	    "web1");
	err_save(&e);
	j = problem_roundtrip(&e, "/v1/vms");
	assert_string_equal(jstr(j, "type"), "urn:hangar:problem:conflict");
	assert_string_equal(jstr(j, "title"), "Conflict");
	assert_int_equal(json_integer_value(json_object_get(j, "status")),
	    409);
	assert_string_equal(jstr(j, "detail"),
	    "a vm named 'web1' already exists");
	assert_true(json_is_false(json_object_get(j, "retryable")));
	assert_string_equal(jstr(j, "field"), "name");
	assert_string_equal(jstr(j, "instance"), "/v1/vms");
	assert_int_equal(json_object_size(j), 7);
	json_decref(j);

	/* no field, no instance: the members are absent, not empty */
	err_set(ERR_UNAVAILABLE, "host 'h1' is unreachable");
	err_save(&e);
	j = problem_roundtrip(&e, NULL);
	assert_string_equal(jstr(j, "type"), "urn:hangar:problem:unavailable");
	assert_int_equal(json_integer_value(json_object_get(j, "status")),
	    503);
	assert_true(json_is_true(json_object_get(j, "retryable")));
	assert_null(json_object_get(j, "field"));
	assert_null(json_object_get(j, "instance"));
	assert_int_equal(json_object_size(j), 5);
	json_decref(j);

	/* retryable follows the error, not the code's table */
	err_set(ERR_UNAVAILABLE, "x");
	err_set_retryable(false);
	err_save(&e);
	j = problem_roundtrip(&e, NULL);
	assert_true(json_is_false(json_object_get(j, "retryable")));
	json_decref(j);
	err_set(ERR_BACKEND, "x");
	err_set_retryable(true);
	err_save(&e);
	j = problem_roundtrip(&e, NULL);
	assert_true(json_is_true(json_object_get(j, "retryable")));
	json_decref(j);
}

static void
test_problem_every_code(void **state)
{
	/* docs/api.md: every type name and its status */
	static const struct {
		enum err_code code;
		const char *type;
		int status;
	} want[] = {
		{ ERR_INVALID, "invalid-request", 400 },
		{ ERR_NOT_FOUND, "not-found", 404 },
		{ ERR_METHOD, "method-not-allowed", 405 },
		{ ERR_CONFLICT, "conflict", 409 },
		{ ERR_TOO_LARGE, "payload-too-large", 413 },
		{ ERR_MEDIA_TYPE, "unsupported-media-type", 415 },
		{ ERR_UNPROCESSABLE, "unprocessable", 422 },
		{ ERR_INTERNAL, "internal-error", 500 },
		{ ERR_UNSUPPORTED, "not-implemented", 501 },
		{ ERR_BACKEND, "backend-error", 502 },
		{ ERR_UNAVAILABLE, "unavailable", 503 },
		{ ERR_INTERRUPTED, "interrupted", 503 },
		{ ERR_TIMEOUT, "timeout", 504 },
		{ ERR_NO_CAPACITY, "no-capacity", 409 },
		{ ERR_UNAUTHORIZED, "unauthorized", 401 },
		{ ERR_FORBIDDEN, "forbidden", 403 },
		{ ERR_INSUFFICIENT_STORAGE, "insufficient-storage", 507 },
	};
	char type[96];

	(void)state;
	assert_int_equal(sizeof(want) / sizeof(want[0]), ERR__COUNT - 1);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct err e;
		json_t *j;

		err_set(want[i].code, "something about %s", want[i].type);
		err_save(&e);
		j = problem_roundtrip(&e, "/v1");
		snprintf(type, sizeof(type), "urn:hangar:problem:%s",
		    want[i].type);
		assert_string_equal(jstr(j, "type"), type);
		assert_int_equal(json_integer_value(json_object_get(j,
		    "status")), want[i].status);
		assert_int_equal(err_code_http(want[i].code), want[i].status);
		assert_int_equal(err_code_from_name(want[i].type),
		    want[i].code);
		assert_true(strlen(jstr(j, "title")) > 0);
		json_decref(j);
	}
}

static void
test_problem_no_error(void **state)
{
	struct err e;
	json_t *j;

	(void)state;
	/* a handler that failed without setting an error: a 500, not a 200 */
	memset(&e, 0, sizeof(e));
	j = problem_roundtrip(&e, NULL);
	assert_string_equal(jstr(j, "type"),
	    "urn:hangar:problem:internal-error");
	assert_int_equal(json_integer_value(json_object_get(j, "status")),
	    500);
	/* an empty message still gives a detail */
	assert_true(strlen(jstr(j, "detail")) > 0);
	json_decref(j);
}

static void
test_problem_truncated_utf8(void **state)
{
	char msg[ERR_MSG_MAX + 16], key[100];
	struct err e;
	json_t *j;
	size_t n;

	(void)state;
	/* 1022 'a' and a 2-byte é: the slot keeps 1023 bytes, half an é */
	memset(msg, 'a', 1022);
	memcpy(msg + 1022, "\xc3\xa9 tail", 8);
	err_set(ERR_INVALID, "%s", msg);
	assert_int_equal(strlen(err_last()->msg), ERR_MSG_MAX - 1);
	assert_int_equal((unsigned char)err_last()->msg[1022], 0xc3);
	err_save(&e);
	j = problem_roundtrip(&e, "/v1/vms");
	n = strlen(jstr(j, "detail"));
	assert_int_equal(n, 1022);
	assert_int_equal(strspn(jstr(j, "detail"), "a"), 1022);
	json_decref(j);

	/* 1020 'a' and a 4-byte emoji cut after 3 bytes */
	memset(msg, 'a', 1020);
	memcpy(msg + 1020, "\xf0\x9f\x98\x80", 5);
	err_set(ERR_INVALID, "%s", msg);
	err_save(&e);
	j = problem_roundtrip(&e, NULL);
	assert_int_equal(strlen(jstr(j, "detail")), 1020);
	json_decref(j);

	/* whole multi-byte characters survive */
	err_set(ERR_CONFLICT, "vm 'caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80' "
	    "is paused");
	err_save(&e);
	j = problem_roundtrip(&e, NULL);
	assert_string_equal(jstr(j, "detail"),
	    "vm 'caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80' is paused");
	json_decref(j);

	/* a stray invalid byte ends the detail there */
	err_set(ERR_INVALID, "bad \xff byte");
	err_save(&e);
	j = problem_roundtrip(&e, NULL);
	assert_string_equal(jstr(j, "detail"), "bad ");
	json_decref(j);

	/* a field cut mid-character (unknown field with a long key) */
	memset(key, 0, sizeof(key));
	for (int i = 0; i < 40; i++)
		memcpy(key + 2 * i, "\xc3\xa9", 2);
	err_set_field(ERR_INVALID, key, "unknown field '%.64s'", key);
	assert_int_equal(strlen(err_last()->field), ERR_FIELD_MAX - 1);
	err_save(&e);
	j = problem_roundtrip(&e, NULL);
	assert_int_equal(strlen(jstr(j, "field")), 62);
	assert_int_equal(strncmp(jstr(j, "field"), key, 62), 0);
	/* '%.64s' keeps 32 whole é: the detail is complete */
	assert_int_equal(strncmp(jstr(j, "detail"), "unknown field '", 15), 0);
	assert_int_equal(strlen(jstr(j, "detail")), 15 + 64 + 1);
	json_decref(j);

	/* the same with one ASCII byte first: now '%.64s' cuts an é */
	key[0] = 'x';
	memset(key + 1, 0, sizeof(key) - 1);
	for (int i = 0; i < 40; i++)
		memcpy(key + 1 + 2 * i, "\xc3\xa9", 2);
	err_set_field(ERR_INVALID, key, "unknown field '%.64s'", key);
	err_save(&e);
	j = problem_roundtrip(&e, NULL);
	assert_int_equal(strlen(jstr(j, "field")), 63);
	assert_int_equal(strlen(jstr(j, "detail")), 15 + 63);
	json_decref(j);
}

static void
test_problem_invalid_utf8(void **state)
{
	/*
	 * Byte sequences that are well-formed in shape but not UTF-8:
	 * overlong, a UTF-16 surrogate, above U+10FFFF, bytes F5..FF.  A
	 * path like GET /v1/%C0%80 puts such bytes into "no resource at
	 * '...'", so they must still give a problem body.
	 */
	static const char *const bad[] = {
		"no resource at '/v1/\xc0\x80'",
		"no resource at '/v1/\xe0\x80\x80'",
		"no resource at '/v1/\xed\xa0\x80'",
		"no resource at '/v1/\xf0\x80\x80\x80'",
		"no resource at '/v1/\xf4\x90\x80\x80'",
		"no resource at '/v1/\xf8\x88\x80\x80\x80'",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct err e;
		json_t *j, *k;

		err_set(ERR_NOT_FOUND, "%s", bad[i]);
		err_save(&e);
		j = problem_json(&e, "/v1");
		/* jansson refuses invalid UTF-8: a NULL here is a 500 */
		assert_non_null(j);
		json_decref(j);
		k = problem_roundtrip(&e, "/v1");
		assert_string_equal(jstr(k, "type"),
		    "urn:hangar:problem:not-found");
		assert_int_equal(strncmp(jstr(k, "detail"),
		    "no resource at '/v1/", 20), 0);
		json_decref(k);
	}
}


/* --- the JSON text writer (jsonw.c) against jansson --- */

/* A small deterministic PRNG (xorshift64*): the same cases every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/*
 * A random string of up to max - 1 bytes made of pieces that matter to
 * JSON: plain ASCII, '"', '\\', '/', every control character, DEL, valid
 * 2-, 3- and 4-byte UTF-8 (U+2028 too), and (when bad) bytes that are not
 * UTF-8: stray continuations, overlongs, surrogates, > U+10FFFF, F5..FF,
 * sequences cut short.
 */
static void
rand_string(char *buf, size_t max, bool bad)
{
	static const char *const good[] = {
		"a", "Z", "0", " ", "-", "web1", "\"", "\\", "/", "\x7f",
		"\b", "\f", "\n", "\r", "\t", "\x01", "\x1f", "\x1b",
		"\xc3\xa9", "\xc2\x80", "\xdf\xbf", "\xe2\x80\xa8",
		"\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf",
		"\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "\xf0\x9f\x98\x80",
	};
	static const char *const evil[] = {
		"\x80", "\xbf", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\x80",
		"\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
		"\xf0\x80\x80\x80", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
		"\xf8", "\xfe", "\xff", "\xc3", "\xe2\x82", "\xf0\x9f\x98",
		"\xc3\x28", "\xe2\x28\xa1",
	};
	size_t n = 0, want = (size_t)(rng() % max);

	while (n < want) {
		char ctl[2] = { (char)(1 + rng() % 31), 0 };
		const char *p;
		size_t k;

		/* one piece in 8 any control character */
		if (rng() % 8 == 0)
			p = ctl;
		else if (bad && rng() % 10 == 0)
			p = evil[rng() % (sizeof(evil) / sizeof(evil[0]))];
		else
			p = good[rng() % (sizeof(good) / sizeof(good[0]))];
		k = strlen(p);
		if (n + k >= max)
			break;
		memcpy(buf + n, p, k);
		n += k;
	}
	buf[n] = '\0';
}

/* jansson's text for the string s, or NULL when it refuses s. */
static char *
jansson_string(const char *s)
{
	json_t *j = json_string(s);
	char *t = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	json_decref(j);
	return t;
}

/* jw_str(s) must be jansson's text, or fail where jansson refuses s.
 * Returns whether jansson took s. */
static bool
assert_jw_string(const char *s)
{
	char *want = jansson_string(s), *got;
	struct jw w;
	size_t len;

	jw_init(&w);
	jw_str(&w, s);
	got = jw_take(&w, &len);
	if (want == NULL) {
		if (got != NULL)
			fail_msg("jansson refuses %s but jw wrote %s", s, got);
	} else {
		if (got == NULL)
			fail_msg("jw failed on %s (jansson: %s)", s, want);
		assert_string_equal(got, want);
		assert_int_equal(len, strlen(want));
	}
	free(want);
	free(got);
	return want != NULL;
}

static void
test_jsonw_strings(void **state)
{
	static const char *const fixed[] = {
		"", "plain", "\"", "\\", "a\"b\\c/d", "\x01\x02\x1f\x7f",
		"\b\f\n\r\t", "\xc3\xa9t\xc3\xa9", "\xe2\x80\xa8\xe2\x80\xa9",
		"\xf0\x9f\x98\x80", "\xc0\x80", "\xed\xa0\x80", "x\xff",
		"\xf4\x90\x80\x80", "\xc3", "ok\xe2\x82", "\xef\xbb\xbf" "bom",
	};
	char buf[96];
	int took = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		assert_jw_string(fixed[i]);
	for (int i = 0; i < 20000; i++) {
		rand_string(buf, sizeof(buf), i % 2 == 1);
		took += assert_jw_string(buf);
	}
	/* both kinds were tried, many times */
	assert_in_range(took, 11000, 19000);
	/* every single byte, and every byte after a valid lead byte */
	for (int b = 1; b < 256; b++) {
		char one[2] = { (char)b, 0 }, two[3] = { (char)0xc3, (char)b, 0 };

		assert_jw_string(one);
		assert_jw_string(two);
	}
}

static void
test_jsonw_numbers(void **state)
{
	static const int64_t fixed[] = {
		0, 1, -1, 9, 10, -10, 99, 100, 1000000007, INT32_MAX,
		INT32_MIN, (int64_t)INT32_MAX + 1, INT64_MAX, INT64_MIN,
		INT64_MIN + 1, 999999999999999999LL, -999999999999999999LL,
	};
	char want[32];
	struct jw w;
	size_t len;
	char *got;

	(void)state;
	for (int i = 0; i < 5000; i++) {
		int64_t n = i < (int)(sizeof(fixed) / sizeof(fixed[0])) ?
		    fixed[i] : (int64_t)rng() >> (rng() % 64);

		snprintf(want, sizeof(want), "%lld", (long long)n);
		jw_init(&w);
		jw_int(&w, n);
		got = jw_take(&w, &len);
		assert_non_null(got);
		assert_string_equal(got, want);
		free(got);
	}
	jw_init(&w);
	jw_begin(&w, '[');
	jw_bool(&w, true);
	jw_bool(&w, false);
	jw_null(&w);
	jw_end(&w, ']');
	got = jw_take(&w, &len);
	assert_string_equal(got, "[true,false,null]");
	free(got);
}

/* jw_time(ms) must be req_time(ms) as jansson writes it. */
static void
assert_jw_time(int64_t ms)
{
	json_t *j = req_time(ms);
	char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY), *got;
	struct jw w;
	size_t len;

	jw_init(&w);
	jw_time(&w, ms);
	got = jw_take(&w, &len);
	assert_non_null(want);
	assert_non_null(got);
	if (strcmp(got, want) != 0)
		fail_msg("time %lld: jw %s, jansson %s", (long long)ms, got,
		    want);
	free(want);
	free(got);
	json_decref(j);
}

static void
test_jsonw_time(void **state)
{
	static const int64_t fixed[] = {
		0, 1, 999, 1000, 86399999, 86400000,
		951782400000LL,         /* 2000-02-29 */
		951868799999LL,         /* 2000-02-29T23:59:59.999 */
		4107542400000LL,        /* 2100-03-01 */
		4107455999999LL,        /* 2100-02-28T23:59:59.999 */
		1735689599999LL,        /* 2024-12-31T23:59:59.999 */
		1709164800000LL,        /* 2024-02-29 */
		253402300799999LL,      /* 9999-12-31T23:59:59.999 */
		253402300800000LL,      /* 10000-01-01: the fallback */
		-1, -86400001,          /* before 1970: the fallback */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		assert_jw_time(fixed[i]);
	for (int i = 0; i < 20000; i++)
		assert_jw_time((int64_t)(rng() % 253402300800000ULL));
	/* every day of 1999-2101, at a random time of day */
	for (int64_t d = 10592; d < 47847; d++)
		assert_jw_time(d * 86400000 + (int64_t)(rng() % 86400000));
}

static void
test_jsonw_nesting(void **state)
{
	struct jw w;
	size_t len;
	char *got;

	(void)state;
	jw_init(&w);
	jw_begin(&w, '[');
	jw_int(&w, 1);
	jw_begin(&w, '[');
	jw_end(&w, ']');
	jw_begin(&w, '{');
	jw_end(&w, '}');
	jw_begin(&w, '{');
	jw_key(&w, "a");
	jw_begin(&w, '[');
	jw_bool(&w, true);
	jw_null(&w);
	jw_end(&w, ']');
	jw_key(&w, "b");
	jw_str_or_null(&w, "");
	jw_key(&w, "c");
	jw_str_or_null(&w, "x");
	jw_end(&w, '}');
	jw_str(&w, "y");
	jw_end(&w, ']');
	got = jw_take(&w, &len);
	assert_non_null(got);
	assert_string_equal(got, "[1,[],{},{\"a\":[true,null],\"b\":null,"
	    "\"c\":\"x\"},\"y\"]");
	assert_int_equal(len, strlen(got));
	free(got);

	/* misuse fails the text rather than writing bad JSON */
	jw_init(&w);
	jw_begin(&w, '[');
	jw_key(&w, "k");                 /* a key in an array */
	assert_true(jw_failed(&w));
	assert_null(jw_take(&w, &len));
	jw_init(&w);
	jw_end(&w, '}');                 /* nothing open */
	assert_true(jw_failed(&w));
	jw_free(&w);
	jw_init(&w);
	for (int i = 0; i <= JW_DEPTH; i++)
		jw_begin(&w, '[');
	assert_true(jw_failed(&w));
	jw_free(&w);
	/* a long text grows the buffer */
	jw_init(&w);
	jw_begin(&w, '[');
	for (int i = 0; i < 5000; i++)
		jw_str(&w, "0123456789");
	jw_end(&w, ']');
	got = jw_take(&w, &len);
	assert_non_null(got);
	assert_int_equal(len, 2 + 5000 * 13 - 1);   /* "..." and ',' */
	free(got);
}

/* A VM record with random contents (bad: strings may not be UTF-8). */
static void
rand_vm(struct vm_rec *v, bool bad)
{
	static const char *const drift[] = { "", "record", "enforce", "alert" };

	memset(v, 0, sizeof(*v));
	rand_string(v->uuid, sizeof(v->uuid), bad && rng() % 8 == 0);
	rand_string(v->name, sizeof(v->name), bad && rng() % 8 == 0);
	rand_string(v->host, sizeof(v->host), bad && rng() % 8 == 0);
	rand_string(v->state, sizeof(v->state), bad && rng() % 8 == 0);
	rand_string(v->desired, sizeof(v->desired), bad && rng() % 8 == 0);
	rand_string(v->observed, sizeof(v->observed), bad && rng() % 8 == 0);
	if (rng() % 2)
		rand_string(v->op_id, sizeof(v->op_id), bad && rng() % 8 == 0);
	if (rng() % 2)
		rand_string(v->group, sizeof(v->group), bad && rng() % 8 == 0);
	if (rng() % 2)
		rand_string(v->snapshot_schedule, sizeof(v->snapshot_schedule),
		    bad && rng() % 8 == 0);
	snprintf(v->on_drift, sizeof(v->on_drift), "%s", drift[rng() % 4]);
	rand_string(v->firmware, sizeof(v->firmware), bad && rng() % 8 == 0);
	rand_string(v->machine, sizeof(v->machine), bad && rng() % 8 == 0);
	rand_string(v->clock, sizeof(v->clock), bad && rng() % 8 == 0);
	v->hyperv = rng() % 2 == 0;
	rand_string(v->graphics, sizeof(v->graphics), bad && rng() % 8 == 0);
	if (rng() % 2)
		rand_string(v->domain_type, sizeof(v->domain_type),
		    bad && rng() % 8 == 0);
	if (rng() % 2)
		rand_string(v->provisioning, sizeof(v->provisioning),
		    bad && rng() % 8 == 0);
	v->vcpus = (int)(rng() % 3 == 0 ? (int64_t)rng() : (int64_t)(rng() % 64));
	v->memory_mib = (int64_t)rng() >> (rng() % 64);
	v->disk_gib = (int64_t)rng() >> (rng() % 64);
	v->snapshot_keep = (int)(rng() % 4) - 1;
	v->snapshot_max_age_ms = rng() % 3 ? 0 : (int64_t)(rng() % 4000000000ULL) - 1000;
	if (rng() % 2)
		rand_string(v->backup_schedule, sizeof(v->backup_schedule),
		    bad && rng() % 8 == 0);
	v->backup_keep = (int)(rng() % 4) - 1;
	v->backup_max_age_ms = rng() % 3 ? 0 : (int64_t)(rng() % 4000000000ULL) - 1000;
	v->backup_full_every = (int)(rng() % 10);
	v->created_at = rng() % 4 ? (int64_t)(rng() % 4102444800000ULL) : 0;
	v->updated_at = rng() % 4 ? (int64_t)(rng() % 4102444800000ULL) : 0;
}

/* A random disk list: -1 (none shown, as in a list) to 3 disks. */
static int
rand_disks(struct disk_rec *d, bool bad)
{
	int n = (int)(rng() % 5) - 1;

	for (int i = 0; i < n; i++) {
		memset(&d[i], 0, sizeof(d[i]));
		rand_string(d[i].dev, sizeof(d[i].dev), bad && rng() % 8 == 0);
		rand_string(d[i].device, sizeof(d[i].device), false);
		rand_string(d[i].bus, sizeof(d[i].bus), false);
		rand_string(d[i].format, sizeof(d[i].format), false);
		rand_string(d[i].volume, sizeof(d[i].volume),
		    bad && rng() % 8 == 0);
		if (rng() % 2)
			rand_string(d[i].image, sizeof(d[i].image),
			    bad && rng() % 8 == 0);
		d[i].size_gib = (int64_t)rng() >> (rng() % 64);
		d[i].boot_order = (int)(rng() % 3);
	}
	return n;
}

static bool
str_utf8(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

/* Are all of v's (and its disks') strings UTF-8, as jansson sees it? */
static bool
vm_utf8(const struct vm_rec *v, const struct disk_rec *d, int n)
{
	const char *const f[] = { v->uuid, v->name, v->host, v->state,
	    v->desired, v->observed, v->op_id, v->group, v->snapshot_schedule,
	    v->backup_schedule, v->on_drift, v->firmware, v->machine, v->domain_type,
	    v->provisioning, v->clock, v->graphics };

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (!str_utf8(f[i]))
			return false;
	for (int i = 0; i < n; i++)
		if (!str_utf8(d[i].dev) || !str_utf8(d[i].device) ||
		    !str_utf8(d[i].bus) || !str_utf8(d[i].format) ||
		    !str_utf8(d[i].volume) || !str_utf8(d[i].image))
			return false;
	return true;
}

/*
 * vms_write must write jansson's text for every record whose strings are
 * UTF-8, and fail for every other: jansson does not always fail on those
 * (json_object_set_new drops a member whose string it refused), so
 * vms_get() answers with vms_json() whenever vms_write fails, and the
 * reply is jansson's in every case.
 */
static void
test_jsonw_vms(void **state)
{
	int same = 0;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		struct vm_rec v;
		struct disk_rec d[4];
		json_t *j;
		char *want, *got;
		struct jw w;
		size_t len;
		int n;

		rand_vm(&v, i % 2 == 1);
		n = rand_disks(d, i % 2 == 1);
		j = n < 0 ? vms_json(&v) : vms_json_full(&v, d, n);
		want = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		jw_init(&w);
		vms_write(&w, &v, d, n);
		got = jw_take(&w, &len);
		if (!vm_utf8(&v, d, n)) {
			if (got != NULL)
				fail_msg("vms_write wrote %s from strings that "
				    "are not UTF-8", got);
			free(want);
			continue;
		}
		if (got == NULL || want == NULL)
			fail_msg("record %d: vms_write %s, jansson %s", i,
			    got ? got : "failed", want ? want : "failed");
		assert_string_equal(got, want);
		assert_int_equal(len, strlen(want));
		same++;
		free(want);
		free(got);
	}
	assert_in_range(same, 12000, 19000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_valid),
		cmocka_unit_test(test_body_where),
		cmocka_unit_test(test_body_none),
		cmocka_unit_test(test_body_unknown_field),
		cmocka_unit_test(test_body_wrong_type),
		cmocka_unit_test(test_body_out_of_range),
		cmocka_unit_test(test_body_not_object),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_name_invalid),
		cmocka_unit_test(test_router_every_route),
		cmocka_unit_test(test_router_run),
		cmocka_unit_test(test_router_not_found),
		cmocka_unit_test(test_router_wrong_method),
		cmocka_unit_test(test_problem_fields),
		cmocka_unit_test(test_problem_every_code),
		cmocka_unit_test(test_problem_no_error),
		cmocka_unit_test(test_problem_truncated_utf8),
		cmocka_unit_test(test_problem_invalid_utf8),
		cmocka_unit_test(test_jsonw_strings),
		cmocka_unit_test(test_jsonw_numbers),
		cmocka_unit_test(test_jsonw_time),
		cmocka_unit_test(test_jsonw_nesting),
		cmocka_unit_test(test_jsonw_vms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
