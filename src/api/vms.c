/*
 * vms.c - the VM resource: create, list, show, delete, and the lifecycle
 * actions start, stop, reboot, pause and resume.
 *
 * A write never touches libvirt here.  It checks the request, then in one
 * store transaction checks the VM's state, records the operation (the
 * intent) and, for a create, places the VM and claims its resources; then
 * it hands the operation to the engine and answers 201/202, or waits for
 * it when asked (?wait=N).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "../common/error.h"
#include "req.h"

#define VMS_WAIT_MAX 300

json_t *
vms_json(const struct vm_rec *v)
{
	json_t *j = json_pack("{s:s, s:s, s:i, s:I, s:I, s:s, s:s, s:s, s:s}",
	    "id", v->uuid, "name", v->name, "vcpus", v->vcpus,
	    "memory_mib", (json_int_t)v->memory_mib,
	    "disk_gib", (json_int_t)v->disk_gib, "host", v->host,
	    "state", v->state, "desired_state", v->desired,
	    "observed_state", v->observed);

	if (j == NULL)
		return NULL;
	json_object_set_new(j, "operation", v->op_id[0] ?
	    json_string(v->op_id) : json_null());
	json_object_set_new(j, "created_at", req_time(v->created_at));
	json_object_set_new(j, "updated_at", req_time(v->updated_at));
	return j;
}

static void
vms_new_uuid(char *out)
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

/* The operation's error, as the current error (for ?wait replies). */
static int
vms_op_error(const struct op_rec *o)
{
	struct err e;

	operations_err(o, &e);
	err_restore(&e);
	return -1;
}

static int
vms_load(struct req *r, const char *id, struct vm_rec *v)
{
	struct store_conn *c = store_read_begin(r->app->store);
	int rc = store_vm_get(c, id, v);

	store_read_end(c);
	return rc;
}

int
vms_get(struct req *r)
{
	struct vm_rec v;

	if (vms_load(r, r->params[0], &v) < 0)
		return -1;
	return req_reply(r, 200, vms_json(&v));
}

static int
vms_add(const struct vm_rec *v, void *arg)
{
	json_array_append_new(arg, vms_json(v));
	return 0;
}

static const char *const vms_states[] = {
	"stopped", "running", "paused", "crashed", "unknown", "creating",
	"starting", "stopping", "rebooting", "pausing", "resuming", "deleting",
};

int
vms_list(struct req *r)
{
	const char *host = req_query(r, "host"), *state = req_query(r, "state");
	struct store_conn *c;
	json_t *arr;
	size_t i;
	int rc;

	if (state) {
		for (i = 0; i < sizeof(vms_states) / sizeof(vms_states[0]); i++)
			if (strcmp(vms_states[i], state) == 0)
				break;
		if (i == sizeof(vms_states) / sizeof(vms_states[0]))
			return err_set_field(ERR_INVALID, "state", "state must "
			    "be a VM state such as stopped, running, paused, "
			    "crashed, unknown or creating");
	}
	arr = json_array();
	c = store_read_begin(r->app->store);
	rc = store_vm_each(c, host, state, vms_add, arr);
	store_read_end(c);
	if (rc < 0) {
		json_decref(arr);
		return -1;
	}
	return req_reply(r, 200, json_pack("{s:o}", "vms", arr));
}

/* --- create --- */

static const struct body_field vms_create_fields[] = {
	{ "name", BODY_STRING, true, 0, 255 },
	{ "vcpus", BODY_INT, false, 1, 256 },
	{ "memory_mib", BODY_INT, false, 16, 4194304 },
	{ "disk_gib", BODY_INT, false, 1, 65536 },
	{ "start", BODY_BOOL, false, 0, 0 },
};

struct vms_create_tx {
	struct vm_rec vm;
	struct op_rec op;
	const struct sched_policy *policy;
	struct host_rec *hosts;
	size_t n, cap;
};

static int
vms_collect_host(const struct host_rec *h, void *arg)
{
	struct vms_create_tx *t = arg;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct host_rec *nh = realloc(t->hosts, cap * sizeof(*nh));

		if (nh == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		t->hosts = nh;
		t->cap = cap;
	}
	t->hosts[t->n++] = *h;
	return 0;
}

/* Place the VM and claim its resources, atomically with its rows. */
static int
vms_create_tx(struct store_conn *c, void *arg)
{
	struct vms_create_tx *t = arg;
	struct sched_request req = { t->vm.vcpus, t->vm.memory_mib };
	struct sched_host *sh;
	char why[2048];
	int pick;

	t->n = 0;
	if (store_host_each(c, vms_collect_host, t) < 0)
		return -1;
	if ((sh = calloc(t->n ? t->n : 1, sizeof(*sh))) == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	for (size_t i = 0; i < t->n; i++) {
		sh[i].name = t->hosts[i].name;
		sh[i].ready = strcmp(t->hosts[i].state, "ready") == 0;
		sh[i].cpus = t->hosts[i].cpus;
		sh[i].memory_mib = t->hosts[i].memory_mib;
		sh[i].vms = t->hosts[i].vms;
		sh[i].alloc_vcpus = t->hosts[i].alloc_vcpus;
		sh[i].alloc_memory_mib = t->hosts[i].alloc_memory_mib;
	}
	pick = sched_pick(sh, t->n, &req, t->policy);
	if (pick < 0) {
		sched_explain(sh, t->n, why, sizeof(why));
		free(sh);
		return err_set(ERR_NO_CAPACITY, "no host can take vm '%s' "
		    "(%d vCPUs, %lld MiB): %s", t->vm.name, t->vm.vcpus,
		    (long long)t->vm.memory_mib, why);
	}
	free(sh);
	t->vm.host_id = t->hosts[pick].id;
	if (store_vm_insert(c, &t->vm) < 0)
		return -1;
	t->op.vm_id = t->vm.id;
	return store_op_insert(c, &t->op);
}

int
vms_create(struct req *r)
{
	struct vms_create_tx t;
	struct op_rec done;
	const char *name;
	bool start;
	int64_t wait;
	int rc;

	if (body_check(r, vms_create_fields, sizeof(vms_create_fields) /
	    sizeof(vms_create_fields[0])) < 0 ||
	    req_check_name("name", (name = body_string(r, "name"))) < 0 ||
	    req_query_int(r, "wait", 0, VMS_WAIT_MAX, 0, &wait) < 0)
		return -1;
	memset(&t, 0, sizeof(t));
	t.policy = &r->app->policy;
	vms_new_uuid(t.vm.uuid);
	snprintf(t.vm.name, sizeof(t.vm.name), "%s", name);
	t.vm.vcpus = (int)body_int(r, "vcpus", 1);
	t.vm.memory_mib = body_int(r, "memory_mib", 512);
	t.vm.disk_gib = body_int(r, "disk_gib", 10);
	start = body_bool(r, "start", false);
	snprintf(t.vm.desired, sizeof(t.vm.desired), "%s",
	    start ? "running" : "stopped");
	snprintf(t.vm.observed, sizeof(t.vm.observed), "stopped");
	vms_new_uuid(t.op.id);
	t.op.kind = OP_CREATE;
	snprintf(t.op.vm_uuid, sizeof(t.op.vm_uuid), "%s", t.vm.uuid);
	snprintf(t.op.vm_name, sizeof(t.op.vm_name), "%s", t.vm.name);
	snprintf(t.op.params, sizeof(t.op.params), "{\"start\":%s}",
	    start ? "true" : "false");
	rc = store_tx(r->app->store, vms_create_tx, &t);
	free(t.hosts);
	if (rc < 0)
		return -1;
	ops_submit(r->app->ops, t.op.id);
	if (wait > 0) {
		if (ops_wait(r->app->ops, t.op.id, wait * 1000, &done) < 0)
			return -1;
		if (done.status == OP_FAILED)
			return vms_op_error(&done);
	}
	req_set_location(r, "/v1/vms/", t.vm.uuid);
	if (vms_load(r, t.vm.uuid, &t.vm) < 0)
		return -1;
	return req_reply(r, 201, vms_json(&t.vm));
}

/* --- lifecycle actions --- */

struct vms_action {
	enum op_kind kind;
	const char *needs;             /* said in a 409: "needs it running" */
	const char *from[4];           /* observed states it may start from */
	const char *desired;           /* desired state afterwards, or NULL */
	const struct body_field *fields;
	size_t nfields;
};

static const struct body_field vms_stop_fields[] = {
	{ "force", BODY_BOOL, false, 0, 0 },
	{ "timeout_s", BODY_INT, false, 1, 3600 },
};

static const struct body_field vms_reboot_fields[] = {
	{ "force", BODY_BOOL, false, 0, 0 },
};

static const struct vms_action vms_actions[OP_KIND__COUNT] = {
	[OP_START] = { OP_START, "stopped or crashed",
	    { "stopped", "crashed" }, "running", NULL, 0 },
	[OP_STOP] = { OP_STOP, "running or paused",
	    { "running", "paused" }, "stopped", vms_stop_fields, 2 },
	[OP_REBOOT] = { OP_REBOOT, "running", { "running" }, "running",
	    vms_reboot_fields, 1 },
	[OP_PAUSE] = { OP_PAUSE, "running", { "running" }, "paused", NULL, 0 },
	[OP_RESUME] = { OP_RESUME, "paused", { "paused" }, "running", NULL, 0 },
	[OP_DELETE] = { OP_DELETE, NULL, { NULL }, NULL, NULL, 0 },
};

struct vms_action_tx {
	const struct vms_action *act;
	const char *id;
	struct op_rec op;
};

static int
vms_action_tx(struct store_conn *c, void *arg)
{
	struct vms_action_tx *t = arg;
	const struct vms_action *act = t->act;
	struct vm_rec v;
	size_t i;

	if (store_vm_get(c, t->id, &v) < 0)
		return -1;
	if (v.op_id[0])
		return err_set(ERR_CONFLICT, "vm '%s' is %s: operation %s is "
		    "in progress", v.name, v.state, v.op_id);
	if (act->needs) {
		for (i = 0; i < 4 && act->from[i]; i++)
			if (strcmp(act->from[i], v.observed) == 0)
				break;
		if (i == 4 || act->from[i] == NULL)
			return err_set(ERR_CONFLICT, "vm '%s' is %s; %s needs it "
			    "%s", v.name, v.observed, op_kind_name(act->kind),
			    act->needs);
	}
	t->op.vm_id = v.id;
	snprintf(t->op.vm_uuid, sizeof(t->op.vm_uuid), "%s", v.uuid);
	snprintf(t->op.vm_name, sizeof(t->op.vm_name), "%s", v.name);
	if (store_op_insert(c, &t->op) < 0)
		return -1;
	if (act->desired)
		return store_vm_set_desired(c, v.id, act->desired);
	return 0;
}

static int
vms_action(struct req *r, enum op_kind kind)
{
	const struct vms_action *act = &vms_actions[kind];
	struct vms_action_tx t;
	char *params;
	int64_t wait;
	int rc;

	if (body_check(r, act->fields, act->nfields) < 0 ||
	    req_query_int(r, "wait", 0, VMS_WAIT_MAX, 0, &wait) < 0)
		return -1;
	memset(&t, 0, sizeof(t));
	t.act = act;
	t.id = r->params[0];
	vms_new_uuid(t.op.id);
	t.op.kind = kind;
	params = json_dumps(r->body, JSON_COMPACT);
	snprintf(t.op.params, sizeof(t.op.params), "%s",
	    params ? params : "{}");
	free(params);
	if (store_tx(r->app->store, vms_action_tx, &t) < 0)
		return -1;
	ops_submit(r->app->ops, t.op.id);
	req_set_location(r, "/v1/operations/", t.op.id);
	rc = 202;
	if (wait > 0) {
		if (ops_wait(r->app->ops, t.op.id, wait * 1000, &t.op) < 0)
			return -1;
		if (t.op.status != OP_QUEUED && t.op.status != OP_RUNNING)
			rc = 200;
	} else {
		struct store_conn *c = store_read_begin(r->app->store);

		if (store_op_get(c, t.op.id, &t.op) < 0)
			rc = -1;
		store_read_end(c);
		if (rc < 0)
			return -1;
	}
	return req_reply(r, rc, operations_json(&t.op));
}

int
vms_start(struct req *r)
{
	return vms_action(r, OP_START);
}

int
vms_stop(struct req *r)
{
	return vms_action(r, OP_STOP);
}

int
vms_reboot(struct req *r)
{
	return vms_action(r, OP_REBOOT);
}

int
vms_pause(struct req *r)
{
	return vms_action(r, OP_PAUSE);
}

int
vms_resume(struct req *r)
{
	return vms_action(r, OP_RESUME);
}

int
vms_delete(struct req *r)
{
	return vms_action(r, OP_DELETE);
}
