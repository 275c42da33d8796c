/*
 * test_auth.c - unit tests of access control over HTTP (api/auth.c, the
 * role column of api/router.c): the unix peer's role, the permission
 * check, the route table's roles against the rules of docs/api.md, and
 * tokens issued and revoked in a real store (daemon/tokens.c,
 * store/store_token.c) and seen by the in-memory cache of the bearer
 * check (api/auth_tokens.c).  The token itself (hash, compare, making)
 * and the role names are tested without HTTP by test_token.c.
 *
 * What needs a live connection (a bearer header, SO_PEERCRED, a client
 * certificate) is tried by tests/integration/auth.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/auth.h"
#include "api/req.h"
#include "common/error.h"
#include "common/token.h"
#include "store/store.h"

/* --- the unix socket's peer --- */

static void
test_unix_role(void **state)
{
	struct auth_unix u;
	const gid_t g_admin[] = { 1000, 50 }, g_op[] = { 60 },
	    g_read[] = { 1000, 70, 5 }, g_both[] = { 70, 60 },
	    g_none[] = { 1000, 1001 };

	(void)state;
	memset(&u, 0, sizeof(u));
	u.au_set[AUTH_ADMIN] = true;
	u.au_gid[AUTH_ADMIN] = 50;
	u.au_set[AUTH_OPERATOR] = true;
	u.au_gid[AUTH_OPERATOR] = 60;
	u.au_set[AUTH_READER] = true;
	u.au_gid[AUTH_READER] = 70;
	assert_int_equal(auth_unix_role(&u, 0, NULL, 0), AUTH_ADMIN);
	assert_int_equal(auth_unix_role(&u, 1000, g_admin, 2), AUTH_ADMIN);
	assert_int_equal(auth_unix_role(&u, 1000, g_op, 1), AUTH_OPERATOR);
	assert_int_equal(auth_unix_role(&u, 1000, g_read, 3), AUTH_READER);
	/* the highest of the groups counts */
	assert_int_equal(auth_unix_role(&u, 1000, g_both, 2), AUTH_OPERATOR);
	assert_int_equal(auth_unix_role(&u, 1000, g_none, 2), AUTH_NONE);
	assert_int_equal(auth_unix_role(&u, 65534, NULL, 0), AUTH_NONE);
	/* a group that is not set gives nothing, even gid 0 */
	memset(&u, 0, sizeof(u));
	assert_int_equal(auth_unix_role(&u, 1000, (const gid_t[]){ 0 }, 1),
	    AUTH_NONE);
	assert_int_equal(auth_unix_role(&u, 0, NULL, 0), AUTH_ADMIN);
}

/* --- auth_permit --- */

static void
test_permit(void **state)
{
	struct auth_who w = { AUTH_OPERATOR, "token 'ci'" };
	json_t *ext = NULL;

	(void)state;
	assert_int_equal(auth_permit(&w, AUTH_READER, &ext), 0);
	assert_int_equal(auth_permit(&w, AUTH_OPERATOR, &ext), 0);
	assert_null(ext);
	err_clear();
	assert_int_equal(auth_permit(&w, AUTH_ADMIN, &ext), -1);
	assert_int_equal(err_last()->code, ERR_FORBIDDEN);
	assert_int_equal(err_code_http(err_last()->code), 403);
	assert_non_null(strstr(err_last()->msg, "needs the role admin"));
	assert_non_null(strstr(err_last()->msg, "token 'ci'"));
	assert_non_null(ext);
	assert_string_equal(json_string_value(json_object_get(ext,
	    "required_role")), "admin");
	assert_string_equal(json_string_value(json_object_get(ext, "role")),
	    "operator");
	json_decref(ext);
	ext = NULL;
	/* no role: nothing at all, not even a read */
	w.role = AUTH_NONE;
	snprintf(w.name, sizeof(w.name), "uid 1000");
	assert_int_equal(auth_permit(&w, AUTH_READER, &ext), -1);
	assert_int_equal(err_last()->code, ERR_FORBIDDEN);
	assert_non_null(strstr(err_last()->msg, "uid 1000 has no role"));
	json_decref(ext);
	ext = NULL;
	assert_int_equal(auth_permit(&w, AUTH_NONE, &ext), -1);
	json_decref(ext);
}

/* --- the route table's role column --- */

static bool
has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/*
 * The rules of docs/api.md "Access control", as code: the role a route
 * must have, or AUTH_NONE when no rule covers it (a new kind of route: a
 * person decides its role, then adds the rule here).
 */
static enum auth_role
expected_role(const char *method, const char *pattern)
{
	bool get = strcmp(method, "GET") == 0;

	if (has_prefix(pattern, "/v1/tokens"))
		return AUTH_ADMIN;            /* even listing them */
	if (get)
		return AUTH_READER;
	if (strcmp(pattern, "/v1/placements") == 0)
		return AUTH_READER;           /* a dry run */
	if (has_prefix(pattern, "/v1/hosts") ||
	    has_prefix(pattern, "/v1/groups") ||
	    has_prefix(pattern, "/v1/networks") ||      /* on every host */
	    has_prefix(pattern, "/v1/plans"))
		return AUTH_ADMIN;
	/* images are what operators make VMs from, as they make VMs; a test
	 * environment is VMs (its network is its own, made and removed
	 * with them) */
	if (has_prefix(pattern, "/v1/vms") ||
	    has_prefix(pattern, "/v1/environments") ||
	    has_prefix(pattern, "/v1/images") ||
	    has_prefix(pattern, "/v1/operations"))
		return AUTH_OPERATOR;
	return AUTH_NONE;
}

static void
test_route_roles(void **state)
{
	size_t n, tokens = 0;
	const struct route *rt = router_table(&n);

	(void)state;
	assert_true(n > 40);
	for (size_t i = 0; i < n; i++) {
		enum auth_role want = expected_role(rt[i].method,
		    rt[i].pattern);

		if (rt[i].role == AUTH_NONE)
			fail_msg("%s %s has no role", rt[i].method,
			    rt[i].pattern);
		if (want == AUTH_NONE)
			fail_msg("%s %s: no rule says its role; decide it and "
			    "add one to expected_role()", rt[i].method,
			    rt[i].pattern);
		if (rt[i].role != want)
			fail_msg("%s %s needs %s, the rules say %s",
			    rt[i].method, rt[i].pattern,
			    auth_role_name(rt[i].role), auth_role_name(want));
		tokens += has_prefix(rt[i].pattern, "/v1/tokens");
	}
	assert_int_equal(tokens, 3);
}

/* A few rows by name, so the rules above cannot drift with the table. */
static void
test_route_lookup(void **state)
{
	static const struct {
		const char *method, *path;
		enum auth_role role;
	} c[] = {
		{ "GET", "/v1", AUTH_READER },
		{ "GET", "/v1/events", AUTH_READER },
		{ "POST", "/v1/placements", AUTH_READER },
		{ "POST", "/v1/vms", AUTH_OPERATOR },
		{ "POST", "/v1/vms/web1/start", AUTH_OPERATOR },
		{ "PATCH", "/v1/vms/web1", AUTH_OPERATOR },
		{ "POST", "/v1/vms/web1/migrate", AUTH_OPERATOR },
		{ "POST", "/v1/vms/web1/snapshots/s1/revert", AUTH_OPERATOR },
		{ "DELETE", "/v1/operations/abc", AUTH_OPERATOR },
		{ "POST", "/v1/hosts", AUTH_ADMIN },
		{ "POST", "/v1/hosts/h1/drain", AUTH_ADMIN },
		{ "POST", "/v1/hosts/h1/orphans/d1/adopt", AUTH_ADMIN },
		{ "GET", "/v1/hosts/h1/orphans", AUTH_READER },
		{ "POST", "/v1/groups", AUTH_ADMIN },
		{ "POST", "/v1/plans/p1/execute", AUTH_ADMIN },
		{ "GET", "/v1/tokens", AUTH_ADMIN },
		{ "POST", "/v1/tokens", AUTH_ADMIN },
		{ "DELETE", "/v1/tokens/ci", AUTH_ADMIN },
	};
	struct req rq;
	char allow[128];

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const struct route *rt;

		memset(&rq, 0, sizeof(rq));
		rq.method = c[i].method;
		rq.path = c[i].path;
		if ((rt = router_match(&rq, allow, sizeof(allow))) == NULL)
			fail_msg("%s %s: %s", c[i].method, c[i].path,
			    err_last()->msg);
		if (rt->role != c[i].role)
			fail_msg("%s %s needs %s, want %s", c[i].method,
			    c[i].path, auth_role_name(rt->role),
			    auth_role_name(c[i].role));
	}
}

/* --- tokens in the store --- */

struct fix {
	char dir[64];
	char path[128];
	struct store *s;
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/hangar-test-auth.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/hangar.db", f->dir);
	if ((f->s = store_open(f->path)) == NULL) {
		print_error("store_open: %s\n", err_last()->msg);
		rmdir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;
	char p[160];

	store_close(f->s);
	unlink(f->path);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

struct collect {
	struct token_rec t[8];
	size_t n;
};

static int
collect(const struct token_rec *t, void *arg)
{
	struct collect *c = arg;

	if (c->n < 8)
		c->t[c->n++] = *t;
	return 0;
}

static void
list(struct fix *f, struct collect *c)
{
	struct store_conn *sc = store_read_begin(f->s);

	memset(c, 0, sizeof(*c));
	assert_int_equal(store_token_each(sc, collect, c), 0);
	store_read_end(sc);
}

/* Does the file at path hold the bytes of s anywhere? */
static bool
file_holds(const char *path, const char *s)
{
	FILE *fp = fopen(path, "rb");
	size_t n = strlen(s), len = 0;
	char *buf;
	bool found;

	if (fp == NULL)
		return false;
	buf = malloc(8 << 20);
	assert_non_null(buf);
	len = fread(buf, 1, 8 << 20, fp);
	fclose(fp);
	found = memmem(buf, len, s, n) != NULL;
	free(buf);
	return found;
}

static void
test_store_tokens(void **state)
{
	struct fix *f = *state;
	struct token_rec t, r;
	struct collect c;
	char tok[TOKEN_MAX], tok2[TOKEN_MAX], h[TOKEN_HASH_LEN];
	char wal[160];

	assert_int_equal(tokens_issue(f->s, "ci", "operator", tok, &t), 0);
	assert_string_equal(t.name, "ci");
	assert_string_equal(t.role, "operator");
	assert_int_equal(token_hash(tok, h), 0);
	assert_string_equal(t.hash, h);
	assert_true(t.created_at > 0);
	assert_int_equal(t.revoked_at, 0);
	assert_int_equal(strlen(t.id), 36);

	/* only the hash is stored */
	list(f, &c);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.t[0].hash, h);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_false(file_holds(f->path, tok + 4));
	assert_false(file_holds(wal, tok + 4));
	assert_true(file_holds(wal, h) || file_holds(f->path, h));

	/* a name in force is taken */
	err_clear();
	assert_int_equal(tokens_issue(f->s, "ci", "admin", tok2, &r), -1);
	assert_int_equal(err_last()->code, ERR_CONFLICT);
	assert_string_equal(err_last()->field, "name");
	/* bad names and roles */
	assert_int_equal(tokens_issue(f->s, "CI", "admin", tok2, &r), -1);
	assert_int_equal(err_last()->code, ERR_INVALID);
	assert_string_equal(err_last()->field, "name");
	assert_int_equal(tokens_issue(f->s, "x", "root", tok2, &r), -1);
	assert_string_equal(err_last()->field, "role");
	assert_int_equal(tokens_issue(f->s, "", "admin", tok2, &r), -1);

	/* revoke: the row stays, revoked; again keeps the first time */
	assert_int_equal(tokens_revoke(f->s, "ci", &r), 0);
	assert_true(r.revoked_at >= t.created_at);
	{
		int64_t first = r.revoked_at;

		usleep(2000);
		assert_int_equal(tokens_revoke(f->s, "ci", &r), 0);
		assert_int_equal(r.revoked_at, first);
	}
	list(f, &c);
	assert_int_equal(c.n, 1);
	assert_true(c.t[0].revoked_at > 0);
	err_clear();
	assert_int_equal(tokens_revoke(f->s, "nobody", &r), -1);
	assert_int_equal(err_last()->code, ERR_NOT_FOUND);

	/* a revoked name may be used again: a new token, a new hash */
	assert_int_equal(tokens_issue(f->s, "ci", "reader", tok2, &r), 0);
	assert_string_not_equal(tok, tok2);
	assert_string_not_equal(r.hash, t.hash);
	assert_string_not_equal(r.id, t.id);
	list(f, &c);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.t[0].role, "reader");
	assert_int_equal(c.t[0].revoked_at, 0);

	/* listed by name */
	assert_int_equal(tokens_issue(f->s, "a-first", "admin", tok2, &r),
	    0);
	list(f, &c);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.t[0].name, "a-first");
	assert_string_equal(c.t[1].name, "ci");
}

/* What `hangard token create|revoke` does from another process: write
 * the table through a store of its own, without telling this one. */
static int
other_insert_tx(struct store_conn *c, void *arg)
{
	return store_token_insert(c, arg);
}

static int
other_revoke_tx(struct store_conn *c, void *arg)
{
	struct token_rec r;

	return store_token_revoke(c, arg, &r);
}

/* auth_tokens_match for token tok: 1 found (row in *out), 0 not. */
static int
cache_find(struct auth_tokens *t, const char *tok, struct token_rec *out)
{
	char h[TOKEN_HASH_LEN];
	bool found = false;

	assert_int_equal(token_hash(tok, h), 0);
	assert_int_equal(auth_tokens_match(t, h, out, &found), 0);
	return found;
}

/*
 * The tokens kept in memory (auth_tokens.c) follow the table: made or
 * revoked here (the API) from the next check; made by another process
 * from the next check too; revoked by another process within
 * AUTH_TOKENS_RECHECK_MS (5 ms).
 */
static void
test_token_cache(void **state)
{
	struct fix *f = *state;
	struct auth_tokens *t = auth_tokens_open(f->s);
	struct store *other = store_open(f->path);
	struct token_rec r, row;
	char api[TOKEN_MAX], cli[TOKEN_MAX];

	assert_non_null(t);
	assert_non_null(other);
	assert_int_equal(cache_find(t, "hgr_nothing", &r), 0);

	/* made and revoked here */
	assert_int_equal(tokens_issue(f->s, "api", "admin", api, &row), 0);
	assert_int_equal(cache_find(t, api, &r), 1);
	assert_string_equal(r.name, "api");
	assert_string_equal(r.role, "admin");
	assert_int_equal(r.revoked_at, 0);

	/* made by another process: found at the first try */
	memset(&row, 0, sizeof(row));
	assert_int_equal(token_generate(cli), 0);
	assert_int_equal(token_hash(cli, row.hash), 0);
	snprintf(row.id, sizeof(row.id), "00000000-0000-4000-8000-000000000001");
	snprintf(row.name, sizeof(row.name), "cli");
	snprintf(row.role, sizeof(row.role), "reader");
	assert_int_equal(store_tx(other, other_insert_tx, &row), 0);
	assert_int_equal(cache_find(t, cli, &r), 1);
	assert_string_equal(r.role, "reader");
	assert_int_equal(r.revoked_at, 0);

	/* revoked by another process: refused within the recheck time */
	assert_int_equal(store_tx(other, other_revoke_tx, (void *)"cli"), 0);
	usleep(20 * 1000);
	assert_int_equal(cache_find(t, cli, &r), 1);
	assert_true(r.revoked_at > 0);
	/* and the one in force still works */
	assert_int_equal(cache_find(t, api, &r), 1);
	assert_int_equal(r.revoked_at, 0);

	/* revoked here: at the next check, without waiting */
	assert_int_equal(tokens_revoke(f->s, "api", &row), 0);
	assert_int_equal(cache_find(t, api, &r), 1);
	assert_true(r.revoked_at > 0);
	/* a revoked name made again by another process: the new token in
	 * force, the old one unknown */
	assert_int_equal(token_generate(cli), 0);
	assert_int_equal(token_hash(cli, row.hash), 0);
	snprintf(row.name, sizeof(row.name), "api");
	snprintf(row.role, sizeof(row.role), "operator");
	assert_int_equal(store_tx(other, other_insert_tx, &row), 0);
	assert_int_equal(cache_find(t, cli, &r), 1);
	assert_string_equal(r.role, "operator");
	assert_int_equal(r.revoked_at, 0);
	assert_int_equal(cache_find(t, api, &r), 0);

	store_close(other);
	auth_tokens_close(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unix_role),
		cmocka_unit_test(test_permit),
		cmocka_unit_test(test_route_roles),
		cmocka_unit_test(test_route_lookup),
		cmocka_unit_test_setup_teardown(test_store_tokens, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_token_cache, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
