/*
 * operations.c - GET /v1/operations and GET /v1/operations/{id}
 * (?wait=N holds the reply until the operation ends: 200 once finished,
 * 202 while it still runs), and DELETE /v1/operations/{id}, which cancels
 * one: a queued operation at once (200, status cancelled), a running one
 * whose kind can stop part-way on request (202 while it stops, or 200 with
 * ?wait=N once it has), anything else 409.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "req.h"

#define OPERATIONS_WAIT_MAX 300

void
operations_err(const struct op_rec *o, struct err *e)
{
	memset(e, 0, sizeof(*e));
	e->code = err_code_from_name(o->err_code);
	e->retryable = err_code_http(e->code) == 503;
	snprintf(e->field, sizeof(e->field), "%s", o->err_field);
	snprintf(e->msg, sizeof(e->msg), "%s", o->err_msg);
}

json_t *
operations_json(const struct op_rec *o)
{
	json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:s, s:s}",
	    "id", o->id, "kind", op_kind_name(o->kind),
	    "vm", o->vm_name[0] ? json_string(o->vm_name) : json_null(),
	    "vm_id", o->vm_uuid[0] ? json_string(o->vm_uuid) : json_null(),
	    "status", op_status_name(o->status), "step", o->step);
	struct err e;

	if (j == NULL)
		return NULL;
	if (o->status == OP_FAILED) {
		operations_err(o, &e);
		json_object_set_new(j, "error", problem_json(&e, NULL));
	} else {
		json_object_set_new(j, "error", json_null());
	}
	json_object_set_new(j, "params", json_loads(o->params, 0, NULL));
	json_object_set_new(j, "progress", json_loads(o->progress[0] ?
	    o->progress : "{}", 0, NULL));
	json_object_set_new(j, "host", o->host[0] ? json_string(o->host) :
	    json_null());
	json_object_set_new(j, "parent", o->parent_id[0] ?
	    json_string(o->parent_id) : json_null());
	json_object_set_new(j, "created_at", req_time(o->created_at));
	json_object_set_new(j, "started_at", req_time(o->started_at));
	json_object_set_new(j, "finished_at", req_time(o->finished_at));
	return j;
}

/* One page of operations (store_op_page's callback), until it is full. */
struct operations_page {
	json_t *arr;
	int64_t n, limit;
	bool more;
	char key[32], id[UUID_STR_LEN];    /* the last one's */
};

static int
operations_add(const struct op_rec *o, void *arg)
{
	struct operations_page *p = arg;

	if (p->n == p->limit) {
		p->more = true;
		return 1;
	}
	json_array_append_new(p->arr, operations_json(o));
	snprintf(p->key, sizeof(p->key), "%lld", (long long)o->created_at);
	snprintf(p->id, sizeof(p->id), "%s", o->id);
	p->n++;
	return 0;
}

int
operations_list(struct req *r)
{
	const char *vm = req_query(r, "vm"), *status = req_query(r, "status");
	const struct page *pg = r->page;
	struct operations_page p;
	struct store_op_after after;
	struct store_conn *c;
	struct vm_rec v;
	enum op_status st;
	char *end;
	int rc = 0;

	if (pg == NULL)
		return err_set(ERR_INTERNAL, "GET /v1/operations is not a list");
	if (status && op_status_parse(status, &st) < 0)
		return err_set_field(ERR_INVALID, "status", "status must be one "
		    "of queued, running, succeeded, failed, cancelled");
	after.created_at = strtoll(pg->key, &end, 10);
	after.id = pg->id;
	if (pg->after && (pg->key[0] == '\0' || *end != '\0'))
		return err_set_field(ERR_INVALID, "after", "after must be a "
		    "cursor from a Link header of this list");
	r->paged = true;
	memset(&p, 0, sizeof(p));
	p.arr = json_array();
	p.limit = pg->limit;
	c = store_read_begin(r->app->store);
	v.id = 0;
	if (vm)
		rc = store_vm_get(c, vm, &v);
	if (rc == 0)
		rc = store_op_page(c, v.id, status, pg->after ? &after : NULL,
		    pg->limit + 1, operations_add, &p);
	store_read_end(c);
	if (rc == 0 && p.more)
		rc = page_next(r, pg, p.key, p.id);
	if (rc < 0) {
		json_decref(p.arr);
		return -1;
	}
	return req_reply(r, 200, json_pack("{s:o}", "operations", p.arr));
}

int
operations_get(struct req *r)
{
	struct op_rec o;
	int64_t wait;

	if (req_query_int(r, "wait", 0, OPERATIONS_WAIT_MAX, 0, &wait) < 0 ||
	    ops_wait(r->app->ops, r->params[0], wait * 1000, &o) < 0)
		return -1;
	return req_reply(r, (o.status == OP_QUEUED || o.status == OP_RUNNING) &&
	    wait > 0 ? 202 : 200, operations_json(&o));
}

int
operations_cancel(struct req *r)
{
	struct op_rec o;
	int64_t wait;

	if (body_check(r, NULL, 0) < 0 ||
	    req_query_int(r, "wait", 0, OPERATIONS_WAIT_MAX, 0, &wait) < 0 ||
	    ops_cancel(r->app->ops, r->params[0], &o) < 0)
		return -1;
	if (o.status == OP_RUNNING && wait > 0 &&
	    ops_wait(r->app->ops, o.id, wait * 1000, &o) < 0)
		return -1;
	req_set_location(r, "/v1/operations/", o.id);
	return req_reply(r, o.status == OP_QUEUED || o.status == OP_RUNNING ?
	    202 : 200, operations_json(&o));
}

int
operations_reply(struct req *r, struct op_rec *op, int64_t wait)
{
	struct store_conn *c;
	int rc = 202;

	req_set_location(r, "/v1/operations/", op->id);
	if (wait > 0) {
		if (ops_wait(r->app->ops, op->id, wait * 1000, op) < 0)
			return -1;
		if (op->status != OP_QUEUED && op->status != OP_RUNNING)
			rc = 200;
	} else {
		c = store_read_begin(r->app->store);
		rc = store_op_get(c, op->id, op) < 0 ? -1 : 202;
		store_read_end(c);
		if (rc < 0)
			return -1;
	}
	return req_reply(r, rc, operations_json(op));
}
