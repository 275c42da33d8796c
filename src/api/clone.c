/*
 * clone.c - POST /v1/vms/{vm}/clone and POST /v1/vms/{vm}/template.
 *
 *   clone:    {"name": "new", "mode": "linked" | "full" (linked),
 *              "start": false, "host": "h2" (absent: the source's)}
 *   template: {"image": "name"}
 *
 * Both answer 202 + the operation (?wait=N: 200 once it has ended): a
 * clone's operation is the new VM's (its "vm"), a template's the
 * source's, its image importing until it ends.  The work is
 * daemon/clone.c's and daemon/ops_clone.c's.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "req.h"

#define CLONE_WAIT_MAX 3600

static const struct body_field clone_fields[] = {
	{ "name", BODY_STRING, true, 1, 63 },
	{ "mode", BODY_STRING, false, 1, 16 },
	{ "start", BODY_BOOL, false, 0, 0 },
	{ "host", BODY_STRING, false, 0, 63 },
};

static const struct body_field template_fields[] = {
	{ "image", BODY_STRING, true, 1, 63 },
};

static int
clone_parse(struct req *r, struct clone_request *rq)
{
	const char *mode;

	if (body_check(r, clone_fields, sizeof(clone_fields) /
	    sizeof(clone_fields[0])) < 0)
		return -1;
	memset(rq, 0, sizeof(*rq));
	rq->vm = r->params[0];
	rq->name = body_string(r, "name");
	if (req_check_name("name", rq->name) < 0)
		return -1;
	mode = body_string(r, "mode");
	if (mode && strcmp(mode, "linked") != 0 && strcmp(mode, "full") != 0)
		return err_set_field(ERR_INVALID, "mode", "mode must be linked "
		    "or full");
	rq->linked = mode == NULL || strcmp(mode, "linked") == 0;
	rq->start = body_bool(r, "start", false);
	rq->host = body_string(r, "host");
	if (rq->host && req_check_name("host", rq->host) < 0)
		return -1;
	rq->idem_key = r->idem_key[0] ? r->idem_key : NULL;
	return 0;
}

int
vms_clone(struct req *r)
{
	struct clone_request rq;
	struct vm_rec vm;
	struct op_rec op;
	int64_t wait;

	if (clone_parse(r, &rq) < 0 ||
	    req_query_int(r, "wait", 0, CLONE_WAIT_MAX, 0, &wait) < 0 ||
	    clone_request(r->app, &rq, &op, &vm) < 0)
		return -1;
	return operations_reply(r, &op, wait);
}

int
vms_template(struct req *r)
{
	struct template_request rq;
	struct op_rec op;
	int64_t wait;

	if (body_check(r, template_fields, sizeof(template_fields) /
	    sizeof(template_fields[0])) < 0 ||
	    req_query_int(r, "wait", 0, CLONE_WAIT_MAX, 0, &wait) < 0)
		return -1;
	memset(&rq, 0, sizeof(rq));
	rq.vm = r->params[0];
	rq.image = body_string(r, "image");
	if (req_check_name("image", rq.image) < 0)
		return -1;
	rq.idem_key = r->idem_key[0] ? r->idem_key : NULL;
	if (template_request(r->app, &rq, &op) < 0)
		return -1;
	return operations_reply(r, &op, wait);
}
