/*
 * tokens.c - API tokens issued and revoked: the one path for POST and
 * DELETE /v1/tokens (api/tokens.c) and for `hangard token create|revoke`
 * (src/hangard.c, offline, with a store of its own and no HTTP).
 *
 * The token is made by common/token.c; only its hash goes into the row
 * (store_token.c).  Every create and revoke here moves a counter
 * (tokens_generation) so the API's in-memory copy of the table is read
 * again at the next bearer check; changes by another process are seen
 * through the database's data_version instead (api/auth_tokens.c).
 */
#include <stdio.h>
#include <string.h>
#include <uuid/uuid.h>

#include "../common/error.h"
#include "../common/log.h"
#include "app.h"

/* Bumped (atomically) by every create and revoke in this process. */
static unsigned tokens_gen;

unsigned
tokens_generation(void)
{
	return __atomic_load_n(&tokens_gen, __ATOMIC_ACQUIRE);
}

static void
tokens_changed(void)
{
	__atomic_add_fetch(&tokens_gen, 1, __ATOMIC_RELEASE);
}

static int
tokens_insert_tx(struct store_conn *c, void *arg)
{
	return store_token_insert(c, arg);
}

int
tokens_issue(struct store *s, const char *name, const char *role,
    char token[TOKEN_MAX], struct token_rec *out)
{
	enum auth_role r;
	uuid_t u;

	if (name_check("name", name) < 0 || auth_role_parse(role, &r) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	uuid_generate_random(u);
	uuid_unparse_lower(u, out->id);
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(out->role, sizeof(out->role), "%s", auth_role_name(r));
	if (token_generate(token) < 0 || token_hash(token, out->hash) < 0 ||
	    store_tx(s, tokens_insert_tx, out) < 0) {
		explicit_bzero(token, TOKEN_MAX);
		return -1;
	}
	tokens_changed();
	log_info("auth: token '%s' (%s) created", out->name, out->role);
	return 0;
}

struct tokens_revoke_arg {
	const char *name;
	struct token_rec *out;
};

static int
tokens_revoke_tx(struct store_conn *c, void *arg)
{
	struct tokens_revoke_arg *a = arg;

	return store_token_revoke(c, a->name, a->out);
}

int
tokens_revoke(struct store *s, const char *name, struct token_rec *out)
{
	struct tokens_revoke_arg a = { name, out };

	if (store_tx(s, tokens_revoke_tx, &a) < 0)
		return -1;
	tokens_changed();
	log_info("auth: token '%s' (%s) revoked", out->name, out->role);
	return 0;
}
