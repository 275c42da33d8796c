/*
 * clone.c - recording a clone of a VM and a template made from one.
 *
 * clone_request() makes the new VM's rows from the source's, the way a
 * create makes them from a request: the same hardware, its disks (new
 * volume names; a linked clone's disks over an image stay over that
 * image, a full clone's stand alone), its cloud-init settings (the host
 * name becomes the clone's), and a NIC on each of the source's networks
 * with a new MAC and address (handed out in the VM's own transaction,
 * store_nic.c).  It is placed like a create (place_vm), on the source's
 * host unless another is asked for (then checked by the same filters),
 * and recorded with its clone operation, which ops_clone.c runs; the
 * new VM is "cloning" meanwhile, and a failed clone removes its rows as
 * a failed create does.
 *
 * template_request() records a template operation on a stopped VM and
 * its image row (importing), both in one transaction, so a taken image
 * name is refused before anything is copied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uuid/uuid.h>

#include "../common/cloudinit.h"
#include "../common/error.h"
#include "../common/log.h"
#include "app.h"
#include "place.h"

/* The source as the clone needs it, and the new VM's rows. */
struct clone_plan {
	struct vm_rec src;
	struct disk_rec sdisks[VM_DISKS_MAX];
	int nsdisks;
	struct vm_rec vm;
	struct disk_rec disks[VM_DISKS_MAX];
	struct nic_rec nics[VM_NICS_MAX];
	int nnics;
	char bridges[VM_NICS_MAX][NETWORK_BRIDGE_LEN];
	int nbridges;
	char *cloud_init;          /* the clone's settings (malloc'd), or NULL */
};

static void
clone_new_id(char out[UUID_STR_LEN])
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

/* The source's cloud-init settings, the host name made the clone's
 * (left out when its name is no host name). */
static int
clone_cloud_init(struct store_conn *c, struct clone_plan *p)
{
	char *text = NULL;
	json_t *spec;

	if (store_cloudinit_get(c, p->src.id, &text) < 0) {
		if (err_last()->code != ERR_NOT_FOUND)
			return -1;
		err_clear();
		return 0;
	}
	spec = json_loads(text, 0, NULL);
	free(text);
	if (!json_is_object(spec)) {
		json_decref(spec);
		return err_set(ERR_INTERNAL, "vm '%s': its stored cloud-init "
		    "settings are not a JSON object", p->src.name);
	}
	if (cloudinit_check_hostname("name", p->vm.name) == 0)
		json_object_set_new(spec, "hostname", json_string(p->vm.name));
	else
		json_object_del(spec, "hostname");
	err_clear();
	p->cloud_init = json_dumps(spec, JSON_COMPACT);
	json_decref(spec);
	if (p->cloud_init == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	snprintf(p->vm.provisioning, sizeof(p->vm.provisioning), "pending");
	return 0;
}

/* A NIC on each of the source's networks: new MAC, new address. */
static int
clone_nics(struct store_conn *c, struct clone_plan *p)
{
	struct nic_rec src[VM_NICS_MAX];
	struct network_rec nr;
	int n = store_nic_list(c, p->src.id, src, VM_NICS_MAX);

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		memset(&p->nics[i], 0, sizeof(p->nics[i]));
		p->nics[i].network_id = src[i].network_id;
		memcpy(p->nics[i].network, src[i].network,
		    sizeof(p->nics[i].network));
		memcpy(p->nics[i].dev, src[i].dev, sizeof(p->nics[i].dev));
		memcpy(p->nics[i].model, src[i].model, sizeof(p->nics[i].model));
		if (store_network_get_id(c, src[i].network_id, &nr) < 0)
			return -1;
		if (strcmp(nr.mode, "bridge") == 0)
			snprintf(p->bridges[p->nbridges++],
			    sizeof(p->bridges[0]), "%s", nr.bridge);
	}
	p->nnics = n;
	return 0;
}

/* The clone's disks from the source's: new volumes; a linked clone's
 * disk over an image stays over it, any other is a copy of its own. */
static int
clone_disks(struct clone_plan *p, bool linked)
{
	for (int i = 0; i < p->nsdisks; i++) {
		const struct disk_rec *s = &p->sdisks[i];
		struct disk_rec *d = &p->disks[i];

		if (s->volume[0] == '\0')
			return err_set(ERR_CONFLICT, "disk %s of vm '%s' is not in "
			    "hangar's storage pool (an adopted domain's own "
			    "file): hangar does not copy it", s->dev,
			    p->src.name);
		*d = *s;
		d->created_at = 0;
		if (!linked)
			d->base_volume[0] = '\0';
	}
	disks_volumes(p->disks, p->nsdisks, p->vm.uuid);
	return 0;
}

/* The new VM's record from the source's hardware. */
static void
clone_vm(struct clone_plan *p, const struct clone_request *rq)
{
	struct vm_rec *v = &p->vm;

	memset(v, 0, sizeof(*v));
	clone_new_id(v->uuid);
	snprintf(v->name, sizeof(v->name), "%s", rq->name);
	v->vcpus = p->src.vcpus;
	v->memory_mib = p->src.memory_mib;
	v->disk_gib = p->src.disk_gib;
	memcpy(v->firmware, p->src.firmware, sizeof(v->firmware));
	memcpy(v->machine, p->src.machine, sizeof(v->machine));
	memcpy(v->clock, p->src.clock, sizeof(v->clock));
	memcpy(v->domain_type, p->src.domain_type, sizeof(v->domain_type));
	memcpy(v->on_drift, p->src.on_drift, sizeof(v->on_drift));
	v->hyperv = p->src.hyperv;
	snprintf(v->desired, sizeof(v->desired), "%s", rq->start ? "running" :
	    "stopped");
	snprintf(v->observed, sizeof(v->observed), "stopped");
}

/* Load the source (idle, its state known) and make the clone's rows. */
static int
clone_plan(struct app *app, const struct clone_request *rq,
    struct clone_plan *p)
{
	struct store_conn *c = store_read_begin(app->store);
	int r;

	memset(p, 0, sizeof(*p));
	r = vm_idle(c, rq->vm, &p->src);
	if (r == 0 && (p->nsdisks = store_disk_list(c, p->src.id, p->sdisks,
	    VM_DISKS_MAX)) < 0)
		r = -1;
	if (r == 0) {
		clone_vm(p, rq);
		r = clone_disks(p, rq->linked);
	}
	if (r == 0)
		r = clone_nics(c, p);
	if (r == 0)
		r = clone_cloud_init(c, p);
	store_read_end(c);
	return r;
}

static void
clone_place_req(struct clone_plan *p, const struct clone_request *rq,
    struct op_rec *op, struct place_req *pr)
{
	memset(pr, 0, sizeof(*pr));
	pr->sr.vcpus = p->vm.vcpus;
	pr->sr.memory_mib = p->vm.memory_mib;
	pr->sr.disk_gib = p->vm.disk_gib;
	if (strcmp(p->vm.domain_type, "kvm") == 0)
		pr->sr.domain_type = SCHED_DT_KVM;
	else if (strcmp(p->vm.domain_type, "qemu") == 0)
		pr->sr.domain_type = SCHED_DT_QEMU;
	/* where the source is, unless asked: checked like a create's */
	pr->sr.host = rq->host ? rq->host : p->src.host;
	pr->vm = &p->vm;
	pr->disks = p->disks;
	pr->ndisks = p->nsdisks;
	pr->cloud_init = p->cloud_init;
	pr->nics = p->nics;
	pr->nnics = p->nnics;
	for (int i = 0; i < p->nbridges; i++)
		pr->bridges[i] = p->bridges[i];
	pr->nbridges = p->nbridges;
	pr->op = op;
}

int
clone_request(struct app *app, const struct clone_request *rq,
    struct op_rec *op, struct vm_rec *out)
{
	struct clone_plan *p = calloc(1, sizeof(*p));
	struct place_req pr;
	json_t *params;
	char *text;
	int r = -1;

	if (p == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	if (clone_plan(app, rq, p) < 0)
		goto done;
	memset(op, 0, sizeof(*op));
	clone_new_id(op->id);
	op->kind = OP_CLONE;
	if (rq->idem_key)
		snprintf(op->idem_key, sizeof(op->idem_key), "%s", rq->idem_key);
	snprintf(op->vm_uuid, sizeof(op->vm_uuid), "%s", p->vm.uuid);
	snprintf(op->vm_name, sizeof(op->vm_name), "%s", p->vm.name);
	params = json_pack("{s:b, s:s, s:s, s:s}", "start", rq->start,
	    "mode", rq->linked ? "linked" : "full", "source", p->src.uuid,
	    "source_name", p->src.name);
	text = params ? json_dumps(params, JSON_COMPACT) : NULL;
	json_decref(params);
	if (text == NULL || strlen(text) >= sizeof(op->params)) {
		free(text);
		err_set(ERR_INTERNAL, "out of memory");
		goto done;
	}
	snprintf(op->params, sizeof(op->params), "%s", text);
	free(text);
	clone_place_req(p, rq, op, &pr);
	if (place_vm(app, &pr, NULL) < 0)
		goto done;
	log_info("clone: vm '%s' from '%s' (%s) on host #%lld, operation %s",
	    p->vm.name, p->src.name, rq->linked ? "linked" : "full",
	    (long long)p->vm.host_id, op->id);
	*out = p->vm;
	ops_submit(app->ops, op->id);
	r = 0;
done:
	free(p->cloud_init);
	free(p);
	return r;
}

/* --- template --- */

struct template_tx {
	const struct template_request *rq;
	struct op_rec *op;
	struct vm_rec vm;
};

/* The disk a template is made of: the first of the guest's disks. */
static int
template_root(struct store_conn *c, const struct vm_rec *v,
    struct disk_rec *root)
{
	struct disk_rec d[VM_DISKS_MAX];
	int n = store_disk_list(c, v->id, d, VM_DISKS_MAX);

	for (int i = 0; i < n; i++)
		if (strcmp(d[i].device, "disk") == 0 && d[i].content[0] == '\0' &&
		    d[i].volume[0]) {
			*root = d[i];
			return 0;
		}
	if (n < 0)
		return -1;
	return err_set(ERR_CONFLICT, "vm '%s' has no disk in hangar's storage "
	    "pool to make an image of", v->name);
}

static int
template_tx(struct store_conn *c, void *arg)
{
	struct template_tx *t = arg;
	struct image_rec im, from;
	struct disk_rec root;
	json_t *params;
	char *text;

	if (vm_idle(c, t->rq->vm, &t->vm) < 0)
		return -1;
	if (strcmp(t->vm.observed, "stopped") != 0)
		return err_set(ERR_CONFLICT, "vm '%s' is %s: a template is made "
		    "of a stopped VM (stop it first)", t->vm.name,
		    t->vm.observed);
	if (template_root(c, &t->vm, &root) < 0)
		return -1;
	memset(&im, 0, sizeof(im));
	snprintf(im.name, sizeof(im.name), "%s", t->rq->image);
	snprintf(im.source_format, sizeof(im.source_format), "qcow2");
	/* its guest is what its image's was, if it came from one */
	if (root.image[0] && store_image_get(c, root.image, &from) == 0)
		memcpy(im.os, from.os, sizeof(im.os));
	else
		snprintf(im.os, sizeof(im.os), "other");
	err_clear();
	snprintf(im.op_id, sizeof(im.op_id), "%s", t->op->id);
	if (store_image_insert(c, &im) < 0) {
		if (err_last()->code == ERR_CONFLICT)
			err_set_field(ERR_CONFLICT, "image", "an image named '%s' "
			    "already exists", t->rq->image);
		return -1;
	}
	/* "name" and "format" as an import's: ops_image_run reads them */
	params = json_pack("{s:s, s:s, s:s}", "name", t->rq->image, "format",
	    "qcow2", "dev", root.dev);
	text = params ? json_dumps(params, JSON_COMPACT) : NULL;
	json_decref(params);
	if (text == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	snprintf(t->op->params, sizeof(t->op->params), "%s", text);
	free(text);
	t->op->vm_id = t->vm.id;
	snprintf(t->op->vm_uuid, sizeof(t->op->vm_uuid), "%s", t->vm.uuid);
	snprintf(t->op->vm_name, sizeof(t->op->vm_name), "%s", t->vm.name);
	return store_op_insert(c, t->op);
}

int
template_request(struct app *app, const struct template_request *rq,
    struct op_rec *op)
{
	struct template_tx t = { rq, op, { 0 } };

	memset(op, 0, sizeof(*op));
	clone_new_id(op->id);
	op->kind = OP_TEMPLATE;
	if (rq->idem_key)
		snprintf(op->idem_key, sizeof(op->idem_key), "%s", rq->idem_key);
	if (store_tx(app->store, template_tx, &t) < 0)
		return -1;
	log_info("template: image '%s' from vm '%s', operation %s", rq->image,
	    t.vm.name, op->id);
	ops_submit(app->ops, op->id);
	return 0;
}
