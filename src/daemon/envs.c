/*
 * envs.c - test environments: a private hangar network (env-<name>) and
 * VMs (<env>-<role>-<i>, each a linked clone of its image with one NIC
 * on that network), made and removed together.
 *
 * Making one (POST /v1/environments, api/envs.c drives it): envs_begin
 * records the environment (state creating) and makes its network on
 * every host; then every VM is placed, one after the other, each create
 * a child of the environment's operation (queued, not yet submitted),
 * so each placement sees the claims of the ones before; envs_commit
 * records the parent (env_create) and hands it to the engine, which
 * runs the children (ops_env.c).  Anything refused before the commit
 * is undone by envs_abandon: the queued children cancelled (their rows
 * and claims go with them), the network and the environment removed.
 *
 * Removing one (DELETE, or its TTL running out: the expiry ticker here
 * looks at the store every ENV_TICK_MS, so an expiry survives a
 * restart): an env_delete operation whose children delete every VM,
 * then the network and the row go (ops_env.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "../common/error.h"
#include "../common/log.h"
#include "../common/ticker.h"
#include "app.h"

#define ENV_TICK_MS 1000

void
envs_network_name(const char *env, char *out, size_t len)
{
	/* names are checked at ENV_NAME_MAX: it always fits */
	if (snprintf(out, len, "env-%.*s", ENV_NAME_MAX, env) >= (int)len)
		out[0] = '\0';
}

static int
envs_insert_tx(struct store_conn *c, void *arg)
{
	return store_env_insert(c, arg);
}

static int
envs_update_tx(struct store_conn *c, void *arg)
{
	return store_env_update(c, arg);
}

static int
envs_delete_tx(struct store_conn *c, void *arg)
{
	return store_env_delete(c, ((struct env_rec *)arg)->id);
}

int
envs_begin(struct app *app, struct env_rec *e, struct network_rec *n)
{
	struct err saved;

	snprintf(e->state, sizeof(e->state), "creating");
	if (store_tx(app->store, envs_insert_tx, e) < 0)
		return -1;
	envs_network_name(e->name, n->name, sizeof(n->name));
	if (networks_request_create(app, n) == 0) {
		e->network_id = n->id;
		if (store_tx(app->store, envs_update_tx, e) == 0)
			return 0;
		err_save(&saved);
		envs_abandon(app, e);
		err_restore(&saved);
		return -1;
	}
	err_save(&saved);
	/* the network's fields are the environment's network.* */
	if (strncmp(saved.field, "ipv4.", 5) == 0) {
		char f[ERR_FIELD_MAX];

		snprintf(f, sizeof(f), "network.%.48s", saved.field + 5);
		memcpy(saved.field, f, sizeof(f));
	}
	e->network_id = 0;
	if (store_tx(app->store, envs_delete_tx, e) < 0)
		log_warnx("envs: cannot remove environment '%s' after its "
		    "network failed: %s", e->name, err_last()->msg);
	err_restore(&saved);
	return -1;
}

struct envs_ids {
	char (*id)[UUID_STR_LEN];
	size_t n, cap;
};

static int
envs_child(const struct op_rec *o, void *arg)
{
	struct envs_ids *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char (*ni)[UUID_STR_LEN] = realloc(l->id, cap * sizeof(*ni));

		if (ni == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		l->id = ni;
		l->cap = cap;
	}
	snprintf(l->id[l->n++], UUID_STR_LEN, "%s", o->id);
	return 0;
}

void
envs_abandon(struct app *app, struct env_rec *e)
{
	struct envs_ids k = { NULL, 0, 0 };
	struct store_conn *c = store_read_begin(app->store);
	struct network_rec net;
	struct op_rec o;
	char name[NAME_MAX_LEN];

	if (store_op_each_child(c, e->op_id, envs_child, &k) < 0)
		log_warnx("envs: environment '%s': cannot list its VMs' "
		    "operations: %s", e->name, err_last()->msg);
	store_read_end(c);
	for (size_t i = 0; i < k.n; i++)
		if (ops_cancel(app->ops, k.id[i], &o) < 0)
			log_warnx("envs: environment '%s': cannot cancel %s: %s",
			    e->name, k.id[i], err_last()->msg);
	free(k.id);
	envs_network_name(e->name, name, sizeof(name));
	if (e->network_id > 0 &&
	    networks_request_delete(app, name, &net) < 0)
		log_warnx("envs: environment '%s': cannot remove network "
		    "'%s': %s", e->name, name, err_last()->msg);
	if (store_tx(app->store, envs_delete_tx, e) < 0)
		log_warnx("envs: cannot remove environment '%s': %s", e->name,
		    err_last()->msg);
	log_info("envs: environment '%s' not made: everything made for it "
	    "was removed", e->name);
	err_clear();
}

static int
envs_commit_tx(struct store_conn *c, void *arg)
{
	return store_op_insert(c, arg);
}

int
envs_commit(struct app *app, struct op_rec *op)
{
	if (store_tx(app->store, envs_commit_tx, op) < 0)
		return -1;
	ops_submit(app->ops, op->id);
	return 0;
}

/* --- delete, extend --- */

struct envs_del {
	const char *name;
	struct env_rec e;
	struct op_rec *op;
};

/*
 * ERR_CONFLICT while e's own operation is queued or running, or not yet
 * recorded (its VMs are being placed: envs_begin .. envs_commit).
 */
static int
envs_idle(struct store_conn *c, const struct env_rec *e)
{
	struct op_rec o;

	if (e->op_id[0] == '\0')
		return 0;
	if (store_op_get(c, e->op_id, &o) < 0) {
		if (err_last()->code != ERR_NOT_FOUND)
			return -1;
		err_clear();
		if (strcmp(e->state, "creating") == 0)
			return err_set(ERR_CONFLICT, "environment '%s' is being "
			    "created", e->name);
		return 0;
	}
	if (o.status == OP_QUEUED || o.status == OP_RUNNING)
		return err_set(ERR_CONFLICT, "environment '%s' is %s: "
		    "operation %s is in progress", e->name, e->state, o.id);
	return 0;
}

static int
envs_del_tx(struct store_conn *c, void *arg)
{
	struct envs_del *t = arg;

	if (store_env_get(c, t->name, &t->e) < 0 || envs_idle(c, &t->e) < 0)
		return -1;
	snprintf(t->op->params, sizeof(t->op->params), "{\"name\":\"%s\"}",
	    t->e.name);              /* a checked name: [a-z0-9-] */
	snprintf(t->e.op_id, sizeof(t->e.op_id), "%s", t->op->id);
	snprintf(t->e.state, sizeof(t->e.state), "deleting");
	if (store_env_update(c, &t->e) < 0)
		return -1;
	return store_op_insert(c, t->op);
}

int
envs_request_delete(struct app *app, const char *name, struct op_rec *op)
{
	struct envs_del t = { name, { 0 }, op };

	op->kind = OP_ENV_DELETE;
	if (store_tx(app->store, envs_del_tx, &t) < 0)
		return -1;
	ops_submit(app->ops, op->id);
	return 0;
}

struct envs_ext {
	const char *name;
	int64_t ttl_s;
	struct env_rec *e;
};

static int
envs_ext_tx(struct store_conn *c, void *arg)
{
	struct envs_ext *t = arg;

	if (store_env_get(c, t->name, t->e) < 0)
		return -1;
	if (strcmp(t->e->state, "ready") != 0)
		return err_set(ERR_CONFLICT, "environment '%s' is %s; its ttl "
		    "can be changed once it is ready", t->name, t->e->state);
	t->e->ttl_s = t->ttl_s;
	t->e->expires_at = t->ttl_s > 0 ? time_now_ms() + t->ttl_s * 1000 : 0;
	return store_env_update(c, t->e);
}

int
envs_set_ttl(struct app *app, const char *name, int64_t ttl_s,
    struct env_rec *out)
{
	struct envs_ext t = { name, ttl_s, out };

	return store_tx(app->store, envs_ext_tx, &t);
}

/* --- the expiry ticker --- */

struct envs_names {
	char (*name)[NAME_MAX_LEN];
	size_t n, cap;
};

static int
envs_expired_add(const struct env_rec *e, void *arg)
{
	struct envs_names *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char (*nn)[NAME_MAX_LEN] = realloc(l->name, cap * sizeof(*nn));

		if (nn == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		l->name = nn;
		l->cap = cap;
	}
	snprintf(l->name[l->n++], NAME_MAX_LEN, "%s", e->name);
	return 0;
}

void
envs_expire(struct app *app)
{
	struct envs_names l = { NULL, 0, 0 };
	struct store_conn *c = store_read_begin(app->store);
	struct op_rec op;
	int r = store_env_each_expired(c, time_now_ms(), envs_expired_add, &l);

	store_read_end(c);
	if (r < 0)
		log_warnx("envs: cannot look for expired environments: %s",
		    err_last()->msg);
	for (size_t i = 0; i < l.n; i++) {
		uuid_t u;

		memset(&op, 0, sizeof(op));
		uuid_generate_random(u);
		uuid_unparse_lower(u, op.id);
		if (envs_request_delete(app, l.name[i], &op) < 0)
			log_warnx("envs: environment '%s' expired but cannot be "
			    "removed: %s", l.name[i], err_last()->msg);
		else
			log_info("envs: environment '%s' expired: removing it "
			    "(operation %s)", l.name[i], op.id);
	}
	err_clear();
	free(l.name);
}

static void
envs_tick(void *arg)
{
	envs_expire(arg);
}

/*
 * An environment left creating with no operation: the daemon stopped
 * while its VMs were being placed.  It is marked failed, for a DELETE
 * (whose children remove whatever of it was made).
 */
static int
envs_orphan(const struct env_rec *e, void *arg)
{
	struct store_conn *c = arg;
	struct env_rec f = *e;
	struct op_rec o;

	if (strcmp(e->state, "creating") != 0 || e->op_id[0] == '\0' ||
	    store_op_get(c, e->op_id, &o) == 0 ||
	    err_last()->code != ERR_NOT_FOUND)
		return 0;
	err_clear();
	snprintf(f.state, sizeof(f.state), "failed");
	snprintf(f.error, sizeof(f.error), "hangard stopped while it was "
	    "being made; delete it");
	log_warnx("envs: environment '%s' was left half made: marked failed",
	    e->name);
	return store_env_update(c, &f);
}

static int
envs_orphans_tx(struct store_conn *c, void *arg)
{
	(void)arg;
	return store_env_each(c, envs_orphan, c);
}

struct ticker *
envs_start(struct app *app)
{
	if (store_tx(app->store, envs_orphans_tx, NULL) < 0)
		log_warnx("envs: cannot look for half-made environments: %s",
		    err_last()->msg);
	err_clear();
	return ticker_start(ENV_TICK_MS, envs_tick, app,
	    "the environment expiry");
}
