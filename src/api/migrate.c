/*
 * migrate.c - POST /v1/vms/{vm}/migrate: move a VM to another host.
 *
 *   {"host": "h2" (absent: the scheduler picks), "force": false,
 *    "live": true, "copy_storage": "auto" | true | false,
 *    "max_downtime_ms": N, "auto_converge": false, "post_copy": false,
 *    "bandwidth_mib_s": N}
 *
 * 202 + the operation (?wait=N: 200 once it has ended).  ?dry_run=1
 * answers 200 with the pre-flight checks instead and moves nothing.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "req.h"

#define MIGRATE_WAIT_MAX 3600

static const struct body_field migrate_fields[] = {
	{ "host", BODY_STRING, false, 0, 63 },
	{ "force", BODY_BOOL, false, 0, 0 },
	{ "live", BODY_BOOL, false, 0, 0 },
	{ "copy_storage", BODY_ANY, false, 0, 0 },
	{ "max_downtime_ms", BODY_INT, false, 1, 600000 },
	{ "auto_converge", BODY_BOOL, false, 0, 0 },
	{ "post_copy", BODY_BOOL, false, 0, 0 },
	{ "bandwidth_mib_s", BODY_INT, false, 1, 1000000 },
};

static int
migrate_parse(struct req *r, struct migrate_request *rq)
{
	json_t *cs;

	if (body_check(r, migrate_fields, sizeof(migrate_fields) /
	    sizeof(migrate_fields[0])) < 0)
		return -1;
	memset(rq, 0, sizeof(*rq));
	rq->vm = r->params[0];
	rq->host = body_string(r, "host");
	if (rq->host && req_check_name("host", rq->host) < 0)
		return -1;
	rq->force = body_bool(r, "force", false);
	if (rq->force && rq->host == NULL)
		return err_set_field(ERR_INVALID, "force", "force needs a host "
		    "to force the VM onto");
	rq->live_asked = json_object_get(r->body, "live") != NULL;
	rq->live = body_bool(r, "live", true);
	cs = json_object_get(r->body, "copy_storage");
	if (cs == NULL || (json_is_string(cs) &&
	    strcmp(json_string_value(cs), "auto") == 0))
		rq->copy_storage = -1;
	else if (json_is_boolean(cs))
		rq->copy_storage = json_is_true(cs) ? 1 : 0;
	else
		return err_set_field(ERR_INVALID, "copy_storage", "copy_storage "
		    "must be true, false or \"auto\"");
	rq->max_downtime_ms = body_int(r, "max_downtime_ms", 0);
	rq->auto_converge = body_bool(r, "auto_converge", false);
	rq->post_copy = body_bool(r, "post_copy", false);
	rq->bandwidth_mib_s = body_int(r, "bandwidth_mib_s", 0);
	rq->idem_key = r->idem_key[0] ? r->idem_key : NULL;
	return 0;
}

int
vms_migrate(struct req *r)
{
	struct migrate_request rq;
	struct op_rec op;
	json_t *checks;
	int64_t wait, dry;

	if (migrate_parse(r, &rq) < 0 ||
	    req_query_int(r, "wait", 0, MIGRATE_WAIT_MAX, 0, &wait) < 0 ||
	    req_query_int(r, "dry_run", 0, 1, 0, &dry) < 0)
		return -1;
	if (dry) {
		if (migrate_preflight(r->app, &rq, &checks) < 0)
			return -1;
		return req_reply(r, 200, checks);
	}
	if (migrate_request(r->app, &rq, &op) < 0)
		return -1;
	return operations_reply(r, &op, wait);
}
