/*
 * drift.c - where the inventory and libvirt disagree.
 *
 *   GET  /v1/drift                       {"vms":[...],"orphans":[...],"hosts":[...]}
 *   GET  /v1/vms/{vm}/drift              {"vm", "drift": null | {...}}
 *   GET  /v1/hosts/{h}/orphans           {"orphans":[...]}
 *   POST /v1/hosts/{h}/orphans/{domain}/adopt  {"name"} -> 201 VM
 *
 * Each asks the hosts' libvirt now (one listing per host; a VM's drift
 * only its own host, for its own domain); nothing changes except by
 * adopt.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "req.h"

int
drift_list(struct req *r)
{
	const char *host = req_query(r, "host");
	json_t *out;

	if (host && req_check_name("host", host) < 0)
		return -1;
	if (drift_scan(r->app, NULL, host, &out) < 0)
		return -1;
	return req_reply(r, 200, out);
}

int
drift_get(struct req *r)
{
	json_t *out, *vms;

	if (drift_scan(r->app, r->params[0], NULL, &out) < 0)
		return -1;
	vms = json_object_get(out, "vms");
	req_reply(r, 200, json_pack("{s:s, s:O}", "vm", r->params[0],
	    "drift", json_array_size(vms) ? json_array_get(vms, 0) :
	    json_null()));
	json_decref(out);
	return 0;
}

int
drift_orphans(struct req *r)
{
	struct store_conn *c = store_read_begin(r->app->store);
	struct host_rec h;
	json_t *out;
	int rc = store_host_get(c, r->params[0], &h);

	store_read_end(c);
	if (rc < 0 || drift_scan(r->app, NULL, r->params[0], &out) < 0)
		return -1;
	req_reply(r, 200, json_pack("{s:s, s:O, s:O}", "host", h.name,
	    "orphans", json_object_get(out, "orphans"), "hosts",
	    json_object_get(out, "hosts")));
	json_decref(out);
	return 0;
}

static const struct body_field drift_adopt_fields[] = {
	{ "name", BODY_STRING, false, 0, 255 },
};

int
drift_adopt(struct req *r)
{
	const char *name;
	struct vm_rec v;

	if (body_check(r, drift_adopt_fields, 1) < 0)
		return -1;
	name = body_string(r, "name");
	if (name && req_check_name("name", name) < 0)
		return -1;
	if (drift_adopt_domain(r->app, r->params[0], r->params[1], name,
	    &v) < 0)
		return -1;
	req_set_location(r, "/v1/vms/", v.uuid);
	return vms_reply_one(r, v.uuid, 201);
}
