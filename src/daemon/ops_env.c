/*
 * ops_env.c - the runners of a test environment's operations (envs.c
 * says what an environment is).  Both are no_vm parents whose children
 * are ordinary VM operations, run inline ENV_PARALLEL at a time:
 *
 *  env_create: its children (the creates recorded with it) are run; when
 *  all succeed the environment is ready and its TTL starts; when one
 *  fails, everything is removed (env_teardown) and the error names the
 *  first VM that failed and why.
 *  env_delete: env_teardown: a delete child per VM, then the network and
 *  the row.  A VM that cannot be removed leaves the environment failed
 *  (with why), for a DELETE to try again.
 *
 * After a restart the children are recovered by the engine on their own;
 * the parent waits for them (ops_wait) and then finishes as a run would.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "../common/error.h"
#include "../common/log.h"
#include "ops_int.h"

#define ENV_PARALLEL 4
#define ENV_RECOVER_WAIT_MS (30LL * 60 * 1000)

struct env_ids {
	char (*id)[UUID_STR_LEN];
	size_t n, cap;
};

static int
env_ids_add(struct env_ids *l, const char *id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char (*ni)[UUID_STR_LEN] = realloc(l->id, cap * sizeof(*ni));

		if (ni == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		l->id = ni;
		l->cap = cap;
	}
	snprintf(l->id[l->n++], UUID_STR_LEN, "%s", id);
	return 0;
}

static int
env_child(const struct op_rec *o, void *arg)
{
	return env_ids_add(arg, o->id);
}

static int
env_vm(int64_t vm_id, const char *role, void *arg)
{
	char id[24];

	(void)role;
	snprintf(id, sizeof(id), "%lld", (long long)vm_id);
	return env_ids_add(arg, id);
}

/* The environment x works on (params {"name"}), and its children. */
static int
env_load(struct op_ctx *x, struct env_rec *e, struct env_ids *children)
{
	const char *name = json_string_value(json_object_get(x->params,
	    "name"));
	struct store_conn *c = store_read_begin(x->app->store);
	int r = store_env_get(c, name ? name : "", e);

	if (r == 0 && children)
		r = store_op_each_child(c, x->op.id, env_child, children);
	store_read_end(c);
	return r;
}

static int
env_update_tx(struct store_conn *c, void *arg)
{
	return store_env_update(c, arg);
}

static int
env_delete_tx(struct store_conn *c, void *arg)
{
	return store_env_delete(c, ((struct env_rec *)arg)->id);
}

/*
 * How the children ended: *bad those that did not succeed, the first's
 * VM and error into first (len); progress recorded.
 */
static void
env_children_sum(struct op_ctx *x, const struct env_ids *k, int refused,
    int *bad, char *first, size_t len)
{
	struct store_conn *c = store_read_begin(x->app->store);
	struct op_rec o;
	int ok = 0;
	json_t *p;

	*bad = refused;
	for (size_t i = 0; i < k->n; i++) {
		if (store_op_get(c, k->id[i], &o) < 0)
			continue;
		if (o.status == OP_SUCCEEDED) {
			ok++;
			continue;
		}
		if ((*bad)++ == 0 && first[0] == '\0')
			snprintf(first, len, "vm '%.63s': %.400s", o.vm_name,
			    o.err_msg[0] ? o.err_msg : "cancelled");
	}
	store_read_end(c);
	err_clear();
	p = json_pack("{s:i, s:i, s:i, s:s}", "total", (int)k->n + refused,
	    "succeeded", ok, "failed", *bad, "first_error", first);
	if (p)
		ops_progress(x, p);
	json_decref(p);
}

struct env_del_one {
	int64_t vm_id;
	const char *parent;
	struct op_rec op;
};

/* A delete of one VM, child of the parent; ERR_CONFLICT while it is busy. */
static int
env_del_one_tx(struct store_conn *c, void *arg)
{
	struct env_del_one *t = arg;
	struct vm_rec v;

	if (store_vm_get_id(c, t->vm_id, &v) < 0)
		return -1;
	if (v.op_id[0])
		return err_set(ERR_CONFLICT, "vm '%s' is %s: operation %s is "
		    "in progress", v.name, v.state, v.op_id);
	t->op.kind = OP_DELETE;
	t->op.vm_id = v.id;
	snprintf(t->op.vm_uuid, sizeof(t->op.vm_uuid), "%s", v.uuid);
	snprintf(t->op.vm_name, sizeof(t->op.vm_name), "%s", v.name);
	snprintf(t->op.params, sizeof(t->op.params), "{}");
	snprintf(t->op.parent_id, sizeof(t->op.parent_id), "%s", t->parent);
	return store_op_insert(c, &t->op);
}

/* Delete children for every VM of e still there (refused: *refused). */
static int
env_delete_children(struct op_ctx *x, struct env_rec *e, struct env_ids *k,
    int *refused, char *first, size_t len)
{
	struct env_ids vms = { NULL, 0, 0 };
	struct store_conn *c = store_read_begin(x->app->store);
	struct env_del_one t;
	uuid_t u;
	int r = store_env_vm_each(c, e->id, env_vm, &vms);

	store_read_end(c);
	for (size_t i = 0; r == 0 && i < vms.n; i++) {
		memset(&t, 0, sizeof(t));
		t.vm_id = strtoll(vms.id[i], NULL, 10);
		t.parent = x->op.id;
		uuid_generate_random(u);
		uuid_unparse_lower(u, t.op.id);
		if (store_tx(x->app->store, env_del_one_tx, &t) == 0)
			r = env_ids_add(k, t.op.id);
		else if (err_last()->code != ERR_NOT_FOUND &&
		    (*refused)++ == 0)
			snprintf(first, len, "%.500s", err_last()->msg);
	}
	free(vms.id);
	return r;
}

/* Remove e: its VMs, then its network and its row. */
static int
env_teardown(struct op_ctx *x, struct env_rec *e)
{
	struct env_ids k = { NULL, 0, 0 };
	struct network_rec n, gone;
	struct store_conn *c;
	char first[ENV_ERROR_MAX] = "";
	int refused = 0, bad = 0;

	snprintf(e->state, sizeof(e->state), "deleting");
	if (store_tx(x->app->store, env_update_tx, e) < 0)
		return -1;
	ops_step(x, "removing the VMs");
	if (env_delete_children(x, e, &k, &refused, first, sizeof(first)) < 0)
		goto fail;
	ops_run_inline(x->app->ops, k.id, k.n, ENV_PARALLEL, NULL, NULL);
	env_children_sum(x, &k, refused, &bad, first, sizeof(first));
	free(k.id);
	if (bad > 0) {
		err_set(ERR_CONFLICT, "%d VM(s) of environment '%s' could not "
		    "be removed (%s); delete it again", bad, e->name, first);
		goto fail;
	}
	ops_step(x, "removing the network");
	c = store_read_begin(x->app->store);
	if (e->network_id > 0 && store_network_get_id(c, e->network_id, &n) <
	    0)
		e->network_id = 0;
	store_read_end(c);
	if (e->network_id > 0 &&
	    networks_request_delete(x->app, n.name, &gone) < 0)
		goto fail;
	if (store_tx(x->app->store, env_delete_tx, e) < 0)
		return -1;
	log_info("envs: environment '%s' removed", e->name);
	return 0;
fail:
	{
		struct err saved;

		err_save(&saved);
		snprintf(e->state, sizeof(e->state), "failed");
		snprintf(e->error, sizeof(e->error), "%.500s", saved.msg);
		if (store_tx(x->app->store, env_update_tx, e) < 0)
			log_warnx("envs: environment '%s': %s", e->name,
			    err_last()->msg);
		err_restore(&saved);
	}
	return -1;
}

/* The creates have ended (k): ready, or everything removed. */
static int
env_create_finish(struct op_ctx *x, struct env_rec *e, struct env_ids *k)
{
	char first[ENV_ERROR_MAX] = "";
	int bad = 0;

	env_children_sum(x, k, 0, &bad, first, sizeof(first));
	if (bad == 0) {
		snprintf(e->state, sizeof(e->state), "ready");
		e->expires_at = e->ttl_s > 0 ? time_now_ms() + e->ttl_s * 1000 :
		    0;
		if (store_tx(x->app->store, env_update_tx, e) < 0)
			return -1;
		log_info("envs: environment '%s' is ready (%zu VMs)", e->name,
		    k->n);
		return 0;
	}
	ops_step(x, "removing what was made");
	if (env_teardown(x, e) < 0)
		return err_set(ERR_CONFLICT, "environment '%s' could not be "
		    "made (%s), and removing it failed: %s", e->name, first,
		    err_last()->msg);
	return err_set(ERR_CONFLICT, "environment '%s' could not be made: %s; "
	    "everything made for it was removed", e->name, first);
}

/* After a restart: the children settle on their own; wait for them. */
static void
env_wait_children(struct op_ctx *x, const struct env_ids *k)
{
	struct op_rec o;

	for (size_t i = 0; i < k->n; i++)
		if (ops_wait(x->app->ops, k->id[i], ENV_RECOVER_WAIT_MS, &o) <
		    0)
			err_clear();
}

static int
env_create(struct op_ctx *x, bool recover)
{
	struct env_ids k = { NULL, 0, 0 };
	struct env_rec e;
	int r;

	if (env_load(x, &e, &k) < 0) {
		free(k.id);
		return -1;
	}
	ops_step(x, "creating the VMs");
	if (recover)
		env_wait_children(x, &k);
	else
		ops_run_inline(x->app->ops, k.id, k.n, ENV_PARALLEL, NULL, NULL);
	r = env_create_finish(x, &e, &k);
	free(k.id);
	return r;
}

int
ops_env_create_run(struct op_ctx *x)
{
	return env_create(x, false);
}

int
ops_env_create_recover(struct op_ctx *x)
{
	return env_create(x, true);
}

int
ops_env_delete_run(struct op_ctx *x)
{
	struct env_rec e;

	if (env_load(x, &e, NULL) < 0)
		return err_last()->code == ERR_NOT_FOUND ? 0 : -1;
	return env_teardown(x, &e);
}

int
ops_env_delete_recover(struct op_ctx *x)
{
	struct env_ids k = { NULL, 0, 0 };
	struct env_rec e;

	if (env_load(x, &e, &k) < 0) {
		free(k.id);
		return err_last()->code == ERR_NOT_FOUND ? 0 : -1;
	}
	env_wait_children(x, &k);
	free(k.id);
	return env_teardown(x, &e);
}
