/*
 * resize.c - PATCH /v1/vms/{vm} when it asks for a resize (vcpus,
 * memory_mib, apply, allow_move): validated here, recorded by the
 * daemon's resize_request(), answered as an operation (?wait=N).  A
 * resize the VM's host cannot take answers 409 with the host's verdict
 * in "hosts", as a create that fits nowhere does.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "../common/error.h"
#include "../daemon/place.h"
#include "req.h"

#define RESIZE_WAIT_MAX 300

/* PATCH's resize fields: a resize is an operation of its own */
static const struct body_field resize_fields[] = {
	{ "vcpus", BODY_INT, false, 1, 256 },
	{ "memory_mib", BODY_INT, false, 16, 4194304 },
	{ "apply", BODY_STRING, false, 0, 16 },
	{ "allow_move", BODY_BOOL, false, 0, 0 },
};

bool
resize_body(const json_t *body)
{
	for (size_t i = 0; i < sizeof(resize_fields) /
	    sizeof(resize_fields[0]); i++)
		if (json_object_get(body, resize_fields[i].name))
			return true;
	return false;
}

int
resize_parse(struct req *r, struct resize_request *rq)
{
	const char *apply;

	if (body_check(r, resize_fields, sizeof(resize_fields) /
	    sizeof(resize_fields[0])) < 0)
		return -1;
	memset(rq, 0, sizeof(*rq));
	rq->vm = r->params[0];
	rq->vcpus = (int)body_int(r, "vcpus", 0);
	rq->memory_mib = body_int(r, "memory_mib", 0);
	rq->allow_move = body_bool(r, "allow_move", false);
	rq->idem_key = r->idem_key[0] ? r->idem_key : NULL;
	if (rq->vcpus == 0 && rq->memory_mib == 0)
		return err_set_field(ERR_INVALID, "vcpus", "a resize needs "
		    "vcpus, memory_mib or both");
	if ((apply = body_string(r, "apply")) == NULL)
		rq->apply = RESIZE_AUTO;
	else if (strcmp(apply, "live") == 0)
		rq->apply = RESIZE_LIVE;
	else if (strcmp(apply, "next_boot") == 0)
		rq->apply = RESIZE_NEXT_BOOT;
	else
		return err_set_field(ERR_INVALID, "apply", "apply must be "
		    "live or next_boot");
	return 0;
}

/* PATCH /v1/vms/{vm} {"vcpus", "memory_mib", "apply", "allow_move"} */
int
resize_vm(struct req *r)
{
	struct resize_request rq;
	struct place_out out;
	struct op_rec op;
	int64_t wait;
	int rc;

	if (resize_parse(r, &rq) < 0 ||
	    req_query_int(r, "wait", 0, RESIZE_WAIT_MAX, 0, &wait) < 0)
		return -1;
	rc = resize_request(r->app, &rq, &op, &out);
	if (rc < 0 && err_last()->code == ERR_NO_CAPACITY && out.n > 0)
		r->problem_ext = json_pack("{s:o}", "hosts",
		    placements_hosts_json(&out));
	place_out_free(&out);
	if (rc < 0)
		return -1;
	return operations_reply(r, &op, wait);
}
