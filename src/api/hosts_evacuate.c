/*
 * hosts_evacuate.c - a lost host: POST /v1/hosts/{h}/evacuate fences it
 * and makes its VMs again on other hosts (daemon/evacuate.c says how);
 * POST /v1/hosts/{h}/unfence re-admits it once it answers again.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "req.h"

static const struct body_field hosts_evacuate_fields[] = {
	{ "confirm_host_down", BODY_BOOL, false, 0, 0 },
};

int
hosts_evacuate(struct req *r)
{
	struct evacuate_request rq;
	struct op_rec op;
	int64_t wait;

	if (body_check(r, hosts_evacuate_fields,
	    sizeof(hosts_evacuate_fields) /
	    sizeof(hosts_evacuate_fields[0])) < 0 ||
	    req_query_int(r, "wait", 0, 3600, 0, &wait) < 0)
		return -1;
	memset(&rq, 0, sizeof(rq));
	rq.host = r->params[0];
	rq.confirm_host_down = body_bool(r, "confirm_host_down", false);
	rq.idem_key = r->idem_key[0] ? r->idem_key : NULL;
	if (evacuate_request(r->app, &rq, &op) < 0)
		return -1;
	return operations_reply(r, &op, wait);
}

int
hosts_unfence(struct req *r)
{
	struct host_rec h;

	if (body_check(r, NULL, 0) < 0 ||
	    evacuate_unfence(r->app, r->params[0], &h) < 0)
		return -1;
	return req_reply(r, 200, hosts_json(&h));
}
