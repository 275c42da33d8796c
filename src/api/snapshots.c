/*
 * snapshots.c - a VM's snapshots: list, show, take, revert, delete.
 *
 *   GET    /v1/vms/{vm}/snapshots
 *   POST   /v1/vms/{vm}/snapshots        {"name", "memory", "description"}
 *   GET    /v1/vms/{vm}/snapshots/{name}
 *   POST   /v1/vms/{vm}/snapshots/{name}/revert
 *   DELETE /v1/vms/{vm}/snapshots/{name}
 *
 * Writes record an operation (daemon/snapshots.c) and answer 202 with it,
 * or wait for it with ?wait=N; a take that finished within the wait
 * answers 201 with the snapshot.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "../common/utf8.h"
#include "req.h"

#define SNAPSHOTS_WAIT_MAX 300

json_t *
snapshots_json(const struct snap_rec *s)
{
	json_t *j = json_pack("{s:s, s:s, s:b, s:s, s:s, s:b, s:s}",
	    "name", s->name, "description", s->description,
	    "memory", s->memory, "vm_state", s->vm_state,
	    "status", s->status, "scheduled", s->scheduled,
	    "consistency", s->consistency);

	if (j == NULL)
		return NULL;
	json_object_set_new(j, "parent", s->parent[0] ?
	    json_string(s->parent) : json_null());
	json_object_set_new(j, "created_at", req_time(s->created_at));
	return j;
}

/*
 * A snapshot name: 1-63 of [A-Za-z0-9._-], not starting with '.' or '-'
 * (it names a libvirt snapshot and a qcow2 internal snapshot).
 */
static int
snapshots_check_name(const char *field, const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 63)
		return err_set_field(ERR_INVALID, field, "%s must be 1 to 63 "
		    "characters long", field);
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") != n)
		return err_set_field(ERR_INVALID, field, "%s may only contain "
		    "letters, digits, '.', '_' and '-'", field);
	if (name[0] == '.' || name[0] == '-')
		return err_set_field(ERR_INVALID, field, "%s must not start "
		    "with '.' or '-'", field);
	return 0;
}

/* The VM named in the path (id or name). */
static int
snapshots_vm(struct store_conn *c, struct req *r, struct vm_rec *v)
{
	return store_vm_get(c, r->params[0], v);
}

static int
snapshots_add(const struct snap_rec *s, void *arg)
{
	json_array_append_new(arg, snapshots_json(s));
	return 0;
}

int
snapshots_list(struct req *r)
{
	struct store_conn *c = store_read_begin(r->app->store);
	json_t *arr = json_array();
	struct vm_rec v;
	int rc = snapshots_vm(c, r, &v);

	if (rc == 0)
		rc = store_snap_each(c, v.id, false, snapshots_add, arr);
	store_read_end(c);
	if (rc < 0) {
		json_decref(arr);
		return -1;
	}
	return req_reply(r, 200, json_pack("{s:o}", "snapshots", arr));
}

/* The snapshot in the path, with a 404 that names the VM. */
static int
snapshots_load(struct req *r, struct vm_rec *v, struct snap_rec *s)
{
	struct store_conn *c = store_read_begin(r->app->store);
	int rc = snapshots_vm(c, r, v);

	if (rc == 0 && store_snap_get(c, v->id, r->params[1], s) < 0)
		rc = err_last()->code == ERR_NOT_FOUND ? err_set(ERR_NOT_FOUND,
		    "vm '%s' has no snapshot named '%s'", v->name,
		    r->params[1]) : -1;
	store_read_end(c);
	return rc;
}

int
snapshots_get(struct req *r)
{
	struct vm_rec v;
	struct snap_rec s;

	if (snapshots_load(r, &v, &s) < 0)
		return -1;
	return req_reply(r, 200, snapshots_json(&s));
}

static const struct body_field snapshots_fields[] = {
	{ "name", BODY_STRING, true, 0, 63 },
	{ "memory", BODY_BOOL, false, 0, 0 },
	{ "description", BODY_STRING, false, 0, SNAP_DESC_CHARS },
};

/* Printable text: no control characters but tab and newline. */
static int
snapshots_check_text(const char *field, const char *s)
{
	if (utf8_control(s, "\t\n") >= 0)
		return err_set_field(ERR_INVALID, field, "%s must not "
		    "contain control characters", field);
	if (!utf8_xml_text(s))
		return err_set_field(ERR_INVALID, field, "%s must not contain "
		    "characters XML cannot carry (U+FFFE, U+FFFF)", field);
	return 0;
}

int
snapshots_create(struct req *r)
{
	struct snap_request rq;
	struct op_rec op;
	struct vm_rec v;
	struct snap_rec s;
	int64_t wait;

	if (body_check(r, snapshots_fields, sizeof(snapshots_fields) /
	    sizeof(snapshots_fields[0])) < 0 ||
	    req_query_int(r, "wait", 0, SNAPSHOTS_WAIT_MAX, 0, &wait) < 0)
		return -1;
	memset(&rq, 0, sizeof(rq));
	rq.vm = r->params[0];
	rq.name = body_string(r, "name");
	rq.description = body_string(r, "description");
	rq.memory = body_bool(r, "memory", false);
	rq.idem_key = r->idem_key[0] ? r->idem_key : NULL;
	if (snapshots_check_name("name", rq.name) < 0 ||
	    (rq.description &&
	    snapshots_check_text("description", rq.description) < 0) ||
	    snapshots_request(r->app, OP_SNAPSHOT_CREATE, &rq, &op) < 0)
		return -1;
	if (wait == 0)
		return operations_reply(r, &op, 0);
	if (ops_wait(r->app->ops, op.id, wait * 1000, &op) < 0)
		return -1;
	if (op.status == OP_FAILED) {
		struct err e;

		operations_err(&op, &e);
		err_restore(&e);
		return -1;
	}
	if (op.status != OP_SUCCEEDED)
		return operations_reply(r, &op, 0);
	snprintf(r->params[1], sizeof(r->params[1]), "%s", rq.name);
	if (snapshots_load(r, &v, &s) < 0)
		return -1;
	snprintf(r->location, sizeof(r->location), "/v1/vms/%s/snapshots/%s",
	    v.uuid, s.name);
	return req_reply(r, 201, snapshots_json(&s));
}

/* Revert and delete: the snapshot in the path, as an operation. */
static int
snapshots_act(struct req *r, enum op_kind kind)
{
	struct snap_request rq;
	struct op_rec op;
	int64_t wait;

	if (body_check(r, NULL, 0) < 0 ||
	    req_query_int(r, "wait", 0, SNAPSHOTS_WAIT_MAX, 0, &wait) < 0)
		return -1;
	memset(&rq, 0, sizeof(rq));
	rq.vm = r->params[0];
	rq.name = r->params[1];
	rq.idem_key = r->idem_key[0] ? r->idem_key : NULL;
	if (snapshots_request(r->app, kind, &rq, &op) < 0)
		return -1;
	return operations_reply(r, &op, wait);
}

int
snapshots_revert(struct req *r)
{
	return snapshots_act(r, OP_SNAPSHOT_REVERT);
}

int
snapshots_delete(struct req *r)
{
	return snapshots_act(r, OP_SNAPSHOT_DELETE);
}
