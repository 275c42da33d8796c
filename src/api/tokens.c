/*
 * tokens.c - API tokens: POST /v1/tokens {"name","role"} makes one (the
 * token is in that reply and nowhere else, ever), GET /v1/tokens lists
 * names, roles and dates (never a token or a hash), DELETE
 * /v1/tokens/{name} revokes one (its row stays, with revoked_at).  Only
 * admins reach these (router.c).  Issuing and revoking are
 * daemon/tokens.c, which `hangard token` calls offline.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "req.h"

static json_t *
tokens_json(const struct token_rec *t)
{
	json_t *j = json_pack("{s:s, s:s}", "name", t->name, "role", t->role);

	if (j) {
		json_object_set_new(j, "created_at", req_time(t->created_at));
		json_object_set_new(j, "revoked_at", req_time(t->revoked_at));
	}
	return j;
}

static int
tokens_add(const struct token_rec *t, void *arg)
{
	json_array_append_new(arg, tokens_json(t));
	return 0;
}

int
tokens_list(struct req *r)
{
	struct store_conn *c = store_read_begin(r->app->store);
	json_t *arr = json_array();
	int rc = store_token_each(c, tokens_add, arr);

	store_read_end(c);
	if (rc < 0) {
		json_decref(arr);
		return -1;
	}
	return req_reply(r, 200, json_pack("{s:o}", "tokens", arr));
}

static const struct body_field tokens_fields[] = {
	{ "name", BODY_STRING, true, 0, 255 },
	{ "role", BODY_STRING, true, 0, 32 },
};

int
tokens_create(struct req *r)
{
	struct token_rec t;
	char token[TOKEN_MAX];
	json_t *j;

	/* a remembered reply would keep the token in the database */
	if (r->idem_key[0] != '\0')
		return err_set_field(ERR_INVALID, "Idempotency-Key", "POST "
		    "/v1/tokens takes no Idempotency-Key: its reply holds a "
		    "secret that is never stored");
	if (body_check(r, tokens_fields, sizeof(tokens_fields) /
	    sizeof(tokens_fields[0])) < 0 ||
	    tokens_issue(r->app->store, body_string(r, "name"),
	    body_string(r, "role"), token, &t) < 0)
		return -1;
	j = tokens_json(&t);
	if (j)
		json_object_set_new(j, "token", json_string(token));
	explicit_bzero(token, sizeof(token));
	return req_reply(r, 201, j);
}

int
tokens_delete(struct req *r)
{
	struct token_rec t;

	if (tokens_revoke(r->app->store, r->params[0], &t) < 0)
		return -1;
	return req_reply(r, 200, tokens_json(&t));
}
