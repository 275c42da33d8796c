/*
 * disks.c - recording disk requests on a VM: add one, remove one, grow
 * one.  Each checks the VM and the disk, and writes the operation with
 * the disk's row (add) or new size (resize) in one transaction while the
 * view holds the host still, so that the room a disk takes is claimed as
 * a create claims a VM's; then it hands the operation to the engine
 * (ops_disk.c does the work, and gives the room back if it fails).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uuid/uuid.h>

#include "../common/error.h"
#include "app.h"

struct disks_tx {
	const struct disk_request *rq;
	struct op_rec op;
	int64_t host_id;
	int64_t delta;             /* GiB claimed on the host */
	struct app *app;
};

void
disks_volumes(struct disk_rec *d, int n, const char *uuid)
{
	/* the first disk keeps the name a VM's one disk always had */
	for (int i = 0; i < n; i++)
		if (strcmp(d[i].content, "cidata") == 0)
			snprintf(d[i].volume, sizeof(d[i].volume),
			    "%s-cidata.iso", uuid);
		else if (i == 0)
			snprintf(d[i].volume, sizeof(d[i].volume), "%s.qcow2",
			    uuid);
		else
			snprintf(d[i].volume, sizeof(d[i].volume),
			    "%s-%s.qcow2", uuid, d[i].dev);
}

int
disks_dev_name(const struct disk_rec *d, int n, const char *bus, char *out,
    const char *field)
{
	const char *p = strcmp(bus, "virtio") == 0 ? "vd" :
	    strcmp(bus, "ide") == 0 ? "hd" : "sd";
	int max = strcmp(p, "hd") == 0 ? 4 : 26;

	for (int k = 0; k < max; k++) {
		bool taken = false;

		snprintf(out, DISK_DEV_LEN, "%s%c", p, 'a' + k);
		for (int i = 0; i < n && !taken; i++)
			taken = strcmp(d[i].dev, out) == 0;
		if (!taken)
			return 0;
	}
	return err_set_field(ERR_INVALID, field, "no device name is left on "
	    "the %s bus (at most %d disks)", bus, max);
}

int
disks_from_image(struct store_conn *c, const char *field, const char *name,
    bool linked, struct disk_rec *d)
{
	struct image_rec *im = malloc(sizeof(*im));
	int64_t gib;
	int r = -1;

	if (im == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	if (store_image_get(c, name, im) < 0) {
		if (err_last()->code == ERR_NOT_FOUND)
			err_set_field(ERR_UNPROCESSABLE, field, "image '%s' is "
			    "not in the library", name);
	} else if (strcmp(im->state, "ready") != 0) {
		err_set_field(ERR_CONFLICT, field, "image '%s' is %s, not "
		    "ready", name, im->state);
	} else {
		gib = (im->virtual_size + (1LL << 30) - 1) >> 30;
		snprintf(d->image, sizeof(d->image), "%s", name);
		d->base_volume[0] = '\0';
		if (linked)
			imgcache_volume(im->sha256, d->base_volume);
		if (d->size_gib == 0)
			d->size_gib = gib > 0 ? gib : 1;
		if (d->size_gib < gib)
			err_set_field(ERR_INVALID, field, "image '%s' needs %lld "
			    "GiB: a disk made from it cannot be smaller",
			    name, (long long)gib);
		else
			r = 0;
	}
	free(im);
	return r;
}

/* A new disk: named, its row written, its room checked; params. */
static json_t *
disks_add(struct store_conn *c, struct disks_tx *t, const struct vm_rec *v)
{
	struct disk_rec d[VM_DISKS_MAX], nd;
	int n = store_disk_list(c, v->id, d, VM_DISKS_MAX);

	if (n < 0)
		return NULL;
	if (n == VM_DISKS_MAX) {
		err_set(ERR_CONFLICT, "vm '%s' has %d disks, the most it may "
		    "have", v->name, n);
		return NULL;
	}
	if (strcmp(t->rq->bus, "ide") == 0 && strcmp(v->machine, "q35") == 0) {
		err_set_field(ERR_INVALID, "bus", "vm '%s' has machine q35, "
		    "which has no IDE bus: use sata", v->name);
		return NULL;
	}
	memset(&nd, 0, sizeof(nd));
	if (disks_dev_name(d, n, t->rq->bus, nd.dev, "bus") < 0)
		return NULL;
	snprintf(nd.device, sizeof(nd.device), "disk");
	snprintf(nd.bus, sizeof(nd.bus), "%s", t->rq->bus);
	snprintf(nd.format, sizeof(nd.format), "qcow2");
	snprintf(nd.volume, sizeof(nd.volume), "%s-%s.qcow2", v->uuid, nd.dev);
	nd.size_gib = t->rq->size_gib;
	if (t->rq->image && disks_from_image(c, "image", t->rq->image, true,
	    &nd) < 0)
		return NULL;
	if (nd.size_gib <= 0) {
		err_set_field(ERR_INVALID, "size_gib", "a disk needs size_gib, "
		    "or an image to be made from");
		return NULL;
	}
	t->delta = nd.size_gib;
	if (view_disk_room_locked(t->app->view, v->host_id, t->delta) < 0 ||
	    store_disk_insert(c, v->id, &nd) < 0)
		return NULL;
	return json_pack("{s:s, s:I}", "dev", nd.dev, "size_gib",
	    (json_int_t)nd.size_gib);
}

/* An existing disk to remove or grow; params. */
static json_t *
disks_change(struct store_conn *c, struct disks_tx *t, const struct vm_rec *v)
{
	struct disk_rec d;

	if (store_disk_get(c, v->id, t->rq->dev, &d) < 0) {
		err_set(ERR_NOT_FOUND, "vm '%s' has no disk '%s'", v->name,
		    t->rq->dev);
		return NULL;
	}
	if (t->rq->kind == OP_DISK_REMOVE) {
		if (d.boot_order == 1) {
			err_set(ERR_CONFLICT, "disk '%s' is the one vm '%s' "
			    "boots from; delete the vm instead", d.dev, v->name);
			return NULL;
		}
		return json_pack("{s:s, s:I}", "dev", d.dev, "size_gib",
		    (json_int_t)d.size_gib);
	}
	if (strcmp(d.device, "cdrom") == 0) {
		err_set(ERR_CONFLICT, "disk '%s' of vm '%s' is a CD-ROM: it has "
		    "no size to grow", d.dev, v->name);
		return NULL;
	}
	if (t->rq->size_gib <= d.size_gib) {
		err_set_field(ERR_INVALID, "size_gib", "disk '%s' has %lld GiB: "
		    "a disk only grows (shrinking would cut the guest's "
		    "filesystems)", d.dev, (long long)d.size_gib);
		return NULL;
	}
	t->delta = t->rq->size_gib - d.size_gib;
	if (view_disk_room_locked(t->app->view, v->host_id, t->delta) < 0 ||
	    store_disk_resize(c, v->id, d.dev, t->rq->size_gib) < 0)
		return NULL;
	return json_pack("{s:s, s:I, s:I}", "dev", d.dev, "from_gib",
	    (json_int_t)d.size_gib, "size_gib", (json_int_t)t->rq->size_gib);
}

static int
disks_tx(struct store_conn *c, void *arg)
{
	struct disks_tx *t = arg;
	struct vm_rec v;
	json_t *params;
	char *text;

	t->delta = 0;
	if (vm_idle(c, t->rq->vm, &v) < 0)
		return -1;
	params = t->rq->kind == OP_DISK_ADD ? disks_add(c, t, &v) :
	    disks_change(c, t, &v);
	if (params == NULL)
		return -1;
	text = json_dumps(params, JSON_COMPACT);
	json_decref(params);
	if (text == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	snprintf(t->op.params, sizeof(t->op.params), "%s", text);
	free(text);
	t->host_id = v.host_id;
	t->op.kind = t->rq->kind;
	t->op.vm_id = v.id;
	snprintf(t->op.vm_uuid, sizeof(t->op.vm_uuid), "%s", v.uuid);
	snprintf(t->op.vm_name, sizeof(t->op.vm_name), "%s", v.name);
	return store_op_insert(c, &t->op);
}

int
disks_request(struct app *app, const struct disk_request *rq,
    struct op_rec *op)
{
	struct disks_tx t;
	uuid_t u;
	int r;

	memset(&t, 0, sizeof(t));
	t.rq = rq;
	t.app = app;
	uuid_generate_random(u);
	uuid_unparse_lower(u, t.op.id);
	if (rq->idem_key)
		snprintf(t.op.idem_key, sizeof(t.op.idem_key), "%s",
		    rq->idem_key);
	/* the room is checked and claimed with the view held still */
	view_lock(app->view);
	r = store_tx(app->store, disks_tx, &t);
	if (r == 0 && t.delta)
		view_disk_locked(app->view, t.host_id, t.delta);
	view_unlock(app->view);
	if (r < 0)
		return -1;
	ops_submit(app->ops, t.op.id);
	*op = t.op;
	return 0;
}
