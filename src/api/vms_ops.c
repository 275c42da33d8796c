/*
 * vms_ops.c - the VM routes that record operations: create, and the
 * lifecycle actions start, stop, reboot, pause, resume and delete.
 *
 * A write never touches libvirt here.  It checks the request, then in one
 * store transaction checks the VM's state, records the operation (the
 * intent) and, for a create, places the VM and claims its resources; then
 * it hands the operation to the engine and answers 201/202, or waits for
 * it when asked (?wait=N); a create or a start may also wait, after the
 * operation, for the VM's first observed address (?wait_for=address).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uuid/uuid.h>
#include "../common/error.h"
#include "../common/schedule.h"
#include "../daemon/place.h"
#include "jsonw.h"
#include "req.h"
#include "vms_int.h"

/* --- waiting: ?wait=N and ?wait_for=address --- */

/*
 * The seconds to wait (?wait) and whether to wait for an address too
 * (?wait_for=address, which alone waits up to VMS_WAIT_MAX).
 */
static int
vms_query_wait(struct req *r, int64_t *wait, bool *address)
{
	const char *f = req_query(r, "wait_for");

	*address = f != NULL;
	if (f != NULL && strcmp(f, "address") != 0)
		return err_set_field(ERR_INVALID, "wait_for", "query parameter "
		    "'wait_for' takes only 'address' (the vm's first observed "
		    "address)");
	return req_query_int(r, "wait", 0, VMS_WAIT_MAX,
	    *address ? VMS_WAIT_MAX : 0, wait);
}

/*
 * Wait until a NIC of VM id is seen with an address since since_ms (a
 * lease from before a restart does not count unless the guest renews
 * it), or until until_ms: 1 when seen, 0 not (yet; or never: a VM that
 * does not run or has no NIC is not waited for), -1 on error.
 */
static int
vms_address_wait(struct req *r, const char *id, int64_t since_ms,
    int64_t until_ms)
{
	struct nic_rec nics[VM_NICS_MAX];
	char macs[VM_NICS_MAX][18];
	struct vm_rec v;
	int k;

	if (vms_load(r, id, &v) < 0 || (k = vms_nics(r, &v, nics)) < 0)
		return -1;
	if (k == 0 || strcmp(v.observed, "running") != 0)
		return 0;
	for (int i = 0; i < k; i++)
		memcpy(macs[i], nics[i].mac, sizeof(macs[i]));
	return addrs_wait(r->app, (const char (*)[18])macs, k, since_ms,
	    until_ms);
}

/*
 * A start's reply with ?wait_for=address: 200 once the operation has
 * failed, or has succeeded and the VM was seen with an address within
 * wait seconds; else 202, the operation as it is.
 */
static int
vms_start_reply(struct req *r, struct op_rec *op, int64_t wait)
{
	int64_t since = time_now_ms(), until = since + wait * 1000;
	int seen = 0;

	req_set_location(r, "/v1/operations/", op->id);
	if (ops_wait(r->app->ops, op->id, wait * 1000, op) < 0)
		return -1;
	if (op->status == OP_SUCCEEDED &&
	    (seen = vms_address_wait(r, op->vm_uuid, since, until)) < 0)
		return -1;
	return req_reply(r, op->status == OP_FAILED || seen > 0 ? 200 : 202,
	    operations_json(op));
}

/* --- create --- */

void
vms_new_row(struct place_req *pr, struct placements_buf *buf,
    const char *name, struct vm_rec *vm)
{
	memset(vm, 0, sizeof(*vm));
	vms_new_uuid(vm->uuid);
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	vm->vcpus = pr->sr.vcpus;
	vm->memory_mib = pr->sr.memory_mib;
	vm->disk_gib = pr->sr.disk_gib;
	memcpy(vm->firmware, buf->vm.firmware, sizeof(vm->firmware));
	memcpy(vm->machine, buf->vm.machine, sizeof(vm->machine));
	memcpy(vm->clock, buf->vm.clock, sizeof(vm->clock));
	vm->hyperv = buf->vm.hyperv;
	memcpy(vm->graphics, buf->vm.graphics, sizeof(vm->graphics));
	vm->max_vcpus = buf->vm.max_vcpus;
	vm->max_memory_mib = buf->vm.max_memory_mib;
	/* a domain type asked for is the one it runs as, wherever it goes */
	if (pr->sr.domain_type != 0)
		snprintf(vm->domain_type, sizeof(vm->domain_type), "%s",
		    pr->sr.domain_type == SCHED_DT_KVM ? "kvm" : "qemu");
	disks_volumes(buf->disks, buf->ndisks, vm->uuid);
	pr->disks = buf->disks;
	pr->ndisks = buf->ndisks;
}

int
vms_place_body(struct req *r, const struct vms_env_link *ln,
    struct placements_buf *buf, struct vm_rec *vm, struct op_rec *op)
{
	struct place_req pr;
	struct place_out out;
	bool start;
	char *seed;
	int rc;

	if (placements_parse(r, &pr, buf) < 0)
		return -1;
	memset(op, 0, sizeof(*op));
	vms_new_row(&pr, buf, body_string(r, "name"), vm);
	if (vms_schedule_parse(r->body, vm) < 0)
		return -1;
	start = body_bool(r, "start", ln != NULL);
	snprintf(vm->desired, sizeof(vm->desired), "%s",
	    start ? "running" : "stopped");
	snprintf(vm->observed, sizeof(vm->observed), "stopped");
	vms_new_uuid(op->id);
	op->kind = OP_CREATE;
	snprintf(op->idem_key, sizeof(op->idem_key), "%s", r->idem_key);
	snprintf(op->vm_uuid, sizeof(op->vm_uuid), "%s", vm->uuid);
	snprintf(op->vm_name, sizeof(op->vm_name), "%s", vm->name);
	snprintf(op->params, sizeof(op->params), "{\"start\":%s}",
	    start ? "true" : "false");
	pr.vm = vm;
	pr.op = op;
	if (ln) {
		pr.env_id = ln->env_id;
		pr.env_role = ln->role;
		snprintf(op->parent_id, sizeof(op->parent_id), "%s", ln->parent);
		op->idem_key[0] = '\0';     /* the parent's request has it */
	}
	if (cloud_init_spec(r, vm->name, &seed) < 0)
		return -1;
	pr.cloud_init = seed;
	/* a VM with a seed: hangard follows cloud-init in it (provision.c) */
	if (seed)
		snprintf(vm->provisioning, sizeof(vm->provisioning), "pending");
	rc = place_vm(r->app, &pr, NULL);
	free(seed);
	if (rc < 0) {
		if (err_last()->code == ERR_NO_CAPACITY) {
			/* say, host by host, why none could take it */
			struct err e;

			err_save(&e);
			pr.vm = NULL;
			pr.op = NULL;
			if (place_vm(r->app, &pr, &out) < 0 && out.n > 0)
				r->problem_ext = json_pack("{s:o}", "hosts",
				    placements_hosts_json(&out));
			place_out_free(&out);
			err_restore(&e);
		}
		return -1;
	}
	return 0;
}

int
vms_create(struct req *r)
{
	struct placements_buf buf;
	struct vm_rec vm;
	struct op_rec op, done;
	bool address;
	int64_t wait, since, until;

	if (vms_query_wait(r, &wait, &address) < 0)
		return -1;
	since = time_now_ms();
	until = since + wait * 1000;
	if (vms_place_body(r, NULL, &buf, &vm, &op) < 0)
		return -1;
	ops_submit(r->app->ops, op.id);
	if (wait > 0) {
		if (ops_wait(r->app->ops, op.id, wait * 1000, &done) < 0)
			return -1;
		if (done.status == OP_FAILED)
			return vms_op_error(&done);
		if (address && done.status == OP_SUCCEEDED &&
		    vms_address_wait(r, vm.uuid, since, until) < 0)
			return -1;
	}
	req_set_location(r, "/v1/vms/", vm.uuid);
	if (vms_load_full(r, vm.uuid, &vm, buf.disks, &buf.ndisks) < 0 ||
	    (buf.nnics = vms_nics(r, &vm, buf.nics)) < 0)
		return -1;
	return req_reply(r, 201, vms_json_nics(&vm, buf.disks, buf.ndisks,
	    buf.nics, buf.nnics));
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
	char env[NAME_MAX_LEN] = "";
	struct vm_rec v;
	size_t i;

	if (store_vm_get(c, t->id, &v) < 0)
		return -1;
	/* an environment's VMs live and go with it (envs.c) */
	if (act->kind == OP_DELETE && (store_env_of_vm(c, v.id, env,
	    sizeof(env)) < 0 || env[0]))
		return env[0] ? err_set(ERR_CONFLICT, "vm '%s' belongs to "
		    "environment '%s': delete the environment", v.name, env) :
		    -1;
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
	bool address = false;

	if (body_check(r, act->fields, act->nfields) < 0 ||
	    (kind == OP_START ? vms_query_wait(r, &wait, &address) :
	    req_query_int(r, "wait", 0, VMS_WAIT_MAX, 0, &wait)) < 0)
		return -1;
	memset(&t, 0, sizeof(t));
	t.act = act;
	t.id = r->params[0];
	vms_new_uuid(t.op.id);
	t.op.kind = kind;
	snprintf(t.op.idem_key, sizeof(t.op.idem_key), "%s", r->idem_key);
	params = json_dumps(r->body, JSON_COMPACT);
	snprintf(t.op.params, sizeof(t.op.params), "%s",
	    params ? params : "{}");
	free(params);
	if (store_tx(r->app->store, vms_action_tx, &t) < 0)
		return -1;
	ops_submit(r->app->ops, t.op.id);
	if (address)
		return vms_start_reply(r, &t.op, wait);
	return operations_reply(r, &t.op, wait);
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
