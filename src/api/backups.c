/*
 * backups.c - a VM's backups: list, show, take, delete.
 *
 *   GET    /v1/vms/{vm}/backups
 *   POST   /v1/vms/{vm}/backups           {"mode": "full"|"incremental"}
 *   GET    /v1/vms/{vm}/backups/{id}
 *   DELETE /v1/vms/{vm}/backups/{id}
 *   GET    /v1/vms/{vm}/backups/{id}/archive   (backups_archive.c)
 *   POST   /v1/vms/{vm}/restore           {"backup": id}
 *
 * A take records the VM as GET /v1/vms/{vm} shows it (and its cloud-init
 * settings) in the backup, and an operation (daemon/backups.c) answered
 * 202, or waited for with ?wait=N.  A delete is done in the request: a
 * backup others build on is folded into them first (qemu-img rebase).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "api.h"
#include "req.h"
#include "vms_int.h"

#define BACKUPS_WAIT_MAX 3600

json_t *
backups_json(const struct backup_rec *b, bool with_spec)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:O*}", "id", b->id,
	    "vm", b->vm_uuid, "vm_name", b->vm_name, "mode", b->mode,
	    "size", (json_int_t)b->size, "disks", b->disks);

	if (j == NULL)
		return NULL;
	json_object_set_new(j, "status", json_string(b->status));
	json_object_set_new(j, "parent", b->parent[0] ?
	    json_string(b->parent) : json_null());
	json_object_set_new(j, "checkpoint", json_string(b->checkpoint));
	json_object_set_new(j, "operation", json_string(b->op_id));
	json_object_set_new(j, "scheduled", json_boolean(b->scheduled));
	json_object_set_new(j, "created_at", req_time(b->created_at));
	if (with_spec)
		json_object_set(j, "spec", b->spec ? b->spec : json_null());
	return j;
}

static int
backups_add(const struct backup_rec *b, void *arg)
{
	json_array_append_new(arg, backups_json(b, false));
	return 0;
}

int
backups_list(struct req *r)
{
	struct store_conn *c = store_read_begin(r->app->store);
	json_t *arr = json_array();
	struct vm_rec v;
	int rc = store_vm_get(c, r->params[0], &v);

	if (rc == 0)
		rc = store_backup_each(c, v.uuid, backups_add, arr);
	store_read_end(c);
	if (rc < 0) {
		json_decref(arr);
		return -1;
	}
	return req_reply(r, 200, json_pack("{s:o}", "backups", arr));
}

int
backups_get(struct req *r)
{
	struct store_conn *c = store_read_begin(r->app->store);
	struct backup_rec b;
	struct vm_rec v;
	int rc = backups_load(c, r->params[0], r->params[1], &v, &b);
	json_t *j;

	store_read_end(c);
	if (rc < 0)
		return -1;
	j = backups_json(&b, true);
	store_backup_clear(&b);
	return req_reply(r, 200, j);
}

static const struct body_field backups_fields[] = {
	{ "mode", BODY_STRING, false, 0, 16 },
};

/* The VM as it is shown, with its cloud-init settings (also what a
 * scheduled backup records: daemon/bsched.c is given it). */
json_t *
api_backup_spec(struct app *app, const char *vm)
{
	struct disk_rec d[VM_DISKS_MAX];
	struct nic_rec nics[VM_NICS_MAX];
	struct store_conn *c = store_read_begin(app->store);
	json_t *spec = NULL, *ci;
	struct vm_rec v;
	char *text = NULL;
	int n = -1, k = -1;

	if (store_vm_get(c, vm, &v) == 0 &&
	    (n = store_disk_list(c, v.id, d, VM_DISKS_MAX)) >= 0 &&
	    (k = store_nic_list(c, v.id, nics, VM_NICS_MAX)) >= 0 &&
	    (spec = vms_json_nics(&v, d, n, nics, k)) == NULL)
		err_set(ERR_INTERNAL, "out of memory");
	if (spec && store_cloudinit_get(c, v.id, &text) == 0 &&
	    (ci = json_loads(text, 0, NULL)) != NULL)
		json_object_set_new(spec, "cloud_init", ci);
	store_read_end(c);
	free(text);
	if (spec)
		err_clear();
	return spec;
}

int
backups_create(struct req *r)
{
	struct backup_request rq;
	struct op_rec op;
	char id[UUID_STR_LEN];     /* the backup's: in the operation's params */
	int64_t wait;
	int rc;

	if (body_check(r, backups_fields, sizeof(backups_fields) /
	    sizeof(backups_fields[0])) < 0 ||
	    req_query_int(r, "wait", 0, BACKUPS_WAIT_MAX, 0, &wait) < 0)
		return -1;
	memset(&rq, 0, sizeof(rq));
	rq.vm = r->params[0];
	rq.mode = body_string(r, "mode") ? body_string(r, "mode") : "full";
	if (strcmp(rq.mode, "full") != 0 && strcmp(rq.mode, "incremental") != 0)
		return err_set_field(ERR_INVALID, "mode", "mode must be 'full' "
		    "or 'incremental'");
	rq.idem_key = r->idem_key[0] ? r->idem_key : NULL;
	if ((rq.spec = api_backup_spec(r->app, r->params[0])) == NULL)
		return -1;
	rc = backups_request(r->app, &rq, &op, id, sizeof(id));
	json_decref(rq.spec);
	if (rc < 0)
		return -1;
	return operations_reply(r, &op, wait);
}

int
backups_delete_one(struct req *r)
{
	if (body_check(r, NULL, 0) < 0 ||
	    backups_delete(r->app, r->params[0], r->params[1]) < 0)
		return -1;
	return req_reply(r, 200, json_pack("{s:s, s:b}", "id", r->params[1],
	    "deleted", 1));
}

static const struct body_field backups_restore_fields[] = {
	{ "backup", BODY_STRING, true, 1, UUID_STR_LEN - 1 },
};

/* POST /v1/vms/{vm}/restore: a stopped VM's disks from its backup. */
int
backups_restore(struct req *r)
{
	struct op_rec op;
	int64_t wait;

	if (body_check(r, backups_restore_fields,
	    sizeof(backups_restore_fields) /
	    sizeof(backups_restore_fields[0])) < 0 ||
	    req_query_int(r, "wait", 0, BACKUPS_WAIT_MAX, 0, &wait) < 0 ||
	    backups_restore_request(r->app, r->params[0], body_string(r,
	    "backup"), r->idem_key[0] ? r->idem_key : NULL, &op) < 0)
		return -1;
	return operations_reply(r, &op, wait);
}
