/*
 * plans.c - migration plans.
 *
 *   POST /v1/plans/consolidation {"max_moves", "hosts": [names],
 *                                 "target_free_hosts"}
 *   POST /v1/plans/rebalance     {"max_moves", "hosts": [names]}
 *        -> 201 PLAN (computed and stored; nothing moves)
 *   GET  /v1/plans/{id}          -> PLAN (with "operation" once executed)
 *   POST /v1/plans/{id}/execute  {"max_parallel"} -> 202 OPERATION
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "req.h"

#define PLANS_HOSTS_MAX 1024

static const struct body_field plans_fields[] = {
	{ "max_moves", BODY_INT, false, 1, 100000 },
	{ "hosts", BODY_ARRAY, false, 0, 0 },
	{ "target_free_hosts", BODY_INT, false, 1, 100000 },
};

static int
plans_make(struct req *r, bool rebalance)
{
	struct planner_request rq;
	const char *names[PLANS_HOSTS_MAX];
	json_t *hosts, *h, *plan;
	char id[UUID_STR_LEN];
	size_t i;

	if (body_check(r, plans_fields, rebalance ? 2 :
	    sizeof(plans_fields) / sizeof(plans_fields[0])) < 0)
		return -1;
	memset(&rq, 0, sizeof(rq));
	rq.rebalance = rebalance;
	rq.max_moves = (int)body_int(r, "max_moves", 0);
	rq.target_free_hosts = (int)body_int(r, "target_free_hosts", 0);
	if ((hosts = json_object_get(r->body, "hosts")) != NULL) {
		if (json_array_size(hosts) > PLANS_HOSTS_MAX)
			return err_set_field(ERR_INVALID, "hosts", "at most %d "
			    "hosts", PLANS_HOSTS_MAX);
		json_array_foreach(hosts, i, h) {
			if (!json_is_string(h))
				return err_set_field(ERR_INVALID, "hosts", "hosts "
				    "must be an array of host names");
			if (req_check_name("hosts", json_string_value(h)) < 0)
				return -1;
			names[i] = json_string_value(h);
		}
		rq.hosts = names;
		rq.nhosts = json_array_size(hosts);
		if (rq.nhosts == 0)
			return err_set_field(ERR_INVALID, "hosts", "hosts must "
			    "name at least one host (or be left out for all)");
	}
	if (planner_make(r->app, &rq, id, &plan) < 0)
		return -1;
	json_object_set_new(plan, "operation", json_null());
	json_object_set_new(plan, "created_at", req_time(time_now_ms()));
	req_set_location(r, "/v1/plans/", id);
	return req_reply(r, 201, plan);
}

int
plans_consolidation(struct req *r)
{
	return plans_make(r, false);
}

int
plans_rebalance(struct req *r)
{
	return plans_make(r, true);
}

int
plans_get(struct req *r)
{
	struct store_conn *c = store_read_begin(r->app->store);
	struct plan_rec p;
	json_t *j;
	int rc = store_plan_get(c, r->params[0], &p);

	store_read_end(c);
	if (rc < 0)
		return -1;
	j = json_loads(p.body, 0, NULL);
	if (j == NULL)
		j = json_object();
	json_object_set_new(j, "operation", p.op_id[0] ?
	    json_string(p.op_id) : json_null());
	json_object_set_new(j, "created_at", req_time(p.created_at));
	store_plan_free(&p);
	return req_reply(r, 200, j);
}

static const struct body_field plans_exec_fields[] = {
	{ "max_parallel", BODY_INT, false, 1, 16 },
};

struct plans_exec_tx {
	const char *plan;
	struct op_rec op;
};

static int
plans_exec_tx(struct store_conn *c, void *arg)
{
	struct plans_exec_tx *t = arg;
	struct plan_rec p;

	if (store_plan_get(c, t->plan, &p) < 0)
		return -1;
	store_plan_free(&p);
	if (store_plan_set_op(c, t->plan, t->op.id) < 0)
		return -1;
	return store_op_insert(c, &t->op);
}

int
plans_execute(struct req *r)
{
	struct plans_exec_tx t;
	int64_t wait;
	json_t *params;
	char *text;

	if (body_check(r, plans_exec_fields, 1) < 0 ||
	    req_query_int(r, "wait", 0, 3600, 0, &wait) < 0)
		return -1;
	memset(&t, 0, sizeof(t));
	t.plan = r->params[0];
	req_new_id(t.op.id);
	t.op.kind = OP_PLAN;
	snprintf(t.op.idem_key, sizeof(t.op.idem_key), "%s", r->idem_key);
	params = json_pack("{s:s, s:I}", "plan", r->params[0], "max_parallel",
	    (json_int_t)body_int(r, "max_parallel", 1));
	text = params ? json_dumps(params, JSON_COMPACT) : NULL;
	json_decref(params);
	if (text == NULL || strlen(text) >= sizeof(t.op.params)) {
		free(text);
		return err_set_field(ERR_INVALID, "id", "the plan id is too "
		    "long");
	}
	snprintf(t.op.params, sizeof(t.op.params), "%s", text);
	free(text);
	if (store_tx(r->app->store, plans_exec_tx, &t) < 0)
		return -1;
	ops_submit(r->app->ops, t.op.id);
	return operations_reply(r, &t.op, wait);
}
