/*
 * ops_disk.c - a VM's disks on its host: making every volume of the list,
 * removing them, and turning the list into the domain's description.
 * The create, delete and migration runners loop over the VM's disks
 * through these; nothing here knows of "the" disk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
#include "ops_int.h"

/* A linked clone's backing chain: one qcow2 base. */
static const char *const ops_qcow2_chain[] = { "qcow2", NULL };

/* The image disk d is made from, as the library has it now. */
static int
ops_disk_image(struct op_ctx *x, const struct disk_rec *d,
    struct image_rec *im)
{
	struct store_conn *c = store_read_begin(x->app->store);
	int r = store_image_get(c, d->image, im);

	store_read_end(c);
	if (r < 0)
		return err_set(ERR_CONFLICT, "disk %s of vm '%s' is made from "
		    "image '%s', which is no longer in the library", d->dev,
		    x->vm.name, d->image);
	return 0;
}

/* The host's copy of the image disk d is made from (uploaded first when
 * it has none: imgcache_base), its path into base; im is the image. */
static int
ops_disk_base(struct op_ctx *x, struct backend_conn *bc, int64_t host_id,
    const char *pool, const struct disk_rec *d, struct image_rec *im,
    char *base, size_t blen)
{
	if (ops_disk_image(x, d, im) < 0)
		return -1;
	return imgcache_base(x->app, bc, host_id, pool, im, base, blen);
}

int
ops_disk_base_on(struct op_ctx *x, struct backend_conn *bc, int64_t host_id,
    const char *pool, const struct disk_rec *d, char *base, size_t blen)
{
	struct image_rec im;

	return ops_disk_base(x, bc, host_id, pool, d, &im, base, blen);
}

/*
 * Disk d made from an image: the host's base copy first, then a linked
 * clone over it (its path into base) or a full copy of it.
 */
static int
ops_disk_from_image(struct op_ctx *x, struct backend_conn *bc,
    int64_t host_id, const char *pool, const struct disk_rec *d, char *path,
    size_t len, char *base, size_t blen)
{
	struct image_rec im;
	char vol[DISK_VOLUME_LEN];

	if (ops_disk_base(x, bc, host_id, pool, d, &im, base, blen) < 0)
		return -1;
	if (d->base_volume[0])
		return backend_volume_overlay(bc, pool, d->volume, d->size_gib,
		    base, path, len);
	base[0] = '\0';           /* a full copy stands alone */
	imgcache_volume(im.sha256, vol);
	return backend_volume_clone(bc, pool, vol, d->volume, d->size_gib,
	    path, len);
}

/*
 * Make one volume; the pool is made again first if it has gone since the
 * host connected (undefined, stopped), then it is tried once more.
 */
static int
ops_disk_make(struct op_ctx *x, struct backend_conn *bc, int64_t host_id,
    char *pool, const struct disk_rec *d, char *path, size_t len)
{
	if (backend_volume_create(bc, pool, d->volume, d->size_gib, path,
	    len) == 0)
		return 0;
	if (err_last()->code != ERR_NOT_FOUND &&
	    err_last()->code != ERR_CONFLICT)
		return -1;
	if (fleet_pool_ensure(x->app->fleet, host_id, pool,
	    FLEET_POOL_MAX) < 0)
		return -1;
	return backend_volume_create(bc, pool, d->volume, d->size_gib, path,
	    len);
}

/* Disk d's volume, from its image or empty; its path into path, a
 * linked clone's base into base ("" for none). */
int
ops_disk_one(struct op_ctx *x, struct backend_conn *bc, int64_t host_id,
    char *pool, const struct disk_rec *d, char *path, size_t len,
    char *base, size_t blen)
{
	char step[96];

	base[0] = '\0';
	if (strcmp(d->content, "cidata") == 0)
		return seed_make(x, bc, pool, d, path, len);
	snprintf(step, sizeof(step), d->image[0] ? "creating disk %s from "
	    "image %s" : "creating disk %s", d->dev, d->image);
	ops_step(x, step);
	if (d->image[0])
		return ops_disk_from_image(x, bc, host_id, pool, d, path, len,
		    base, blen);
	return ops_disk_make(x, bc, host_id, pool, d, path, len);
}

/* The domain's description of disk r at path (over base, when given;
 * chain holds the chain's storage). */
static void
ops_disk_spec(const struct disk_rec *r, const char *path, const char *base,
    const char **chain, struct vm_disk_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->dev = r->dev;
	s->device = r->device;
	s->bus = r->bus;
	s->format = r->format;
	s->path = path;
	s->boot_order = r->boot_order;
	if (base[0]) {
		chain[0] = base;
		chain[1] = NULL;
		s->backing = chain;
		s->backing_format = ops_qcow2_chain;
	}
}

int
ops_disks_make(struct op_ctx *x, struct backend_conn *bc, int64_t host_id,
    char *pool, struct ops_disks *out)
{
	for (int i = 0; i < x->ndisks; i++)
		if (ops_disk_one(x, bc, host_id, pool, &x->disks[i],
		    out->path[i], sizeof(out->path[i]), out->base[i],
		    sizeof(out->base[i])) < 0)
			return -1;
	return 0;
}

/*
 * Copy every disk's volume from x's pool into pool on bc (host_id's), the
 * VM stopped: a linked clone over host_id's own copy of its image (made
 * there first, as a create does), its overlay's header naming that copy
 * as it streams; internal snapshots go with the volumes.
 */
int
ops_disks_copy(struct op_ctx *x, struct backend_conn *bc, int64_t host_id,
    const char *pool, struct ops_disks *out)
{
	struct image_rec im;
	struct err e;
	char step[96];

	for (int i = 0; i < x->ndisks; i++) {
		const struct disk_rec *d = &x->disks[i];

		out->base[i][0] = '\0';
		if (d->base_volume[0]) {
			snprintf(step, sizeof(step), "making sure the "
			    "destination has image %s", d->image);
			ops_step(x, step);
			if (ops_disk_base(x, bc, host_id, pool, d, &im,
			    out->base[i], sizeof(out->base[i])) < 0) {
				err_save(&e);
				return err_set(e.code, "disk %s of vm '%s' is a "
				    "linked clone of image '%s', and the "
				    "destination cannot get its copy of the "
				    "image: %s", d->dev, x->vm.name, d->image,
				    e.msg);
			}
		}
		snprintf(step, sizeof(step), "copying disk %s to the "
		    "destination", d->dev);
		ops_step(x, step);
		if (backend_volume_copy(x->bc, x->pool, d->volume, bc, pool,
		    NULL, out->base[i][0] ? out->base[i] : NULL, out->path[i],
		    sizeof(out->path[i])) < 0)
			return -1;
	}
	return 0;
}

int
ops_disks_paths(struct op_ctx *x, struct backend_conn *bc, const char *pool,
    struct ops_disks *out)
{
	for (int i = 0; i < x->ndisks; i++) {
		const struct disk_rec *d = &x->disks[i];

		out->base[i][0] = '\0';
		if (d->volume[0] == '\0')
			return err_set(ERR_CONFLICT, "disk %s of vm '%s' is not "
			    "in hangar's storage pool (an adopted domain's own "
			    "file): hangar does not move it", d->dev,
			    x->vm.name);
		if (backend_volume_path(bc, pool, d->volume, out->path[i],
		    sizeof(out->path[i])) < 0 || (d->base_volume[0] &&
		    backend_volume_path(bc, pool, d->base_volume, out->base[i],
		    sizeof(out->base[i])) < 0))
			return -1;
	}
	return 0;
}

/* The base volume disk d was made from (a full copy: the image's). */
static bool
ops_disk_base_of(struct op_ctx *x, const struct disk_rec *d, char *vol)
{
	struct image_rec *im;
	struct store_conn *c;
	int r;

	if (d->base_volume[0]) {
		snprintf(vol, DISK_VOLUME_LEN, "%s", d->base_volume);
		return true;
	}
	if (d->image[0] == '\0' || (im = malloc(sizeof(*im))) == NULL)
		return false;
	c = store_read_begin(x->app->store);
	r = store_image_get(c, d->image, im);
	store_read_end(c);
	if (r == 0 && im->sha256[0])
		imgcache_volume(im->sha256, vol);
	free(im);
	err_clear();
	return r == 0 && vol[0];
}

/*
 * After the closing transaction (the VM's rows gone, moved, or made):
 * the copies of its disks' images on host_id that no disk there uses
 * now are removed.  Run after the commit, so that of several VMs going
 * at once the last one to commit sees none of the others (failures are
 * logged).
 */
void
ops_disks_prune(struct op_ctx *x, int64_t host_id, const char *pool)
{
	struct backend_conn *bc;
	char vol[DISK_VOLUME_LEN];

	if (host_id == 0 || pool[0] == '\0' ||
	    (bc = fleet_conn(x->app->fleet, host_id)) == NULL) {
		err_clear();
		return;
	}
	for (int i = 0; i < x->ndisks; i++) {
		vol[0] = '\0';
		if (ops_disk_base_of(x, &x->disks[i], vol))
			imgcache_prune(x->app, bc, host_id, pool, vol);
	}
}

int
ops_disks_delete(struct op_ctx *x, struct backend_conn *bc, const char *pool)
{
	int r = 0;
	struct err e = { 0 };

	/* every one is tried; the first failure is the one reported */
	for (int i = 0; i < x->ndisks; i++) {
		/* a disk outside hangar's pool (adopted) is not hangar's */
		if (x->disks[i].volume[0] == '\0' ||
		    backend_volume_delete(bc, pool, x->disks[i].volume) == 0)
			continue;
		if (r == 0)
			err_save(&e);
		r = -1;
	}
	if (r < 0)
		err_restore(&e);
	return r;
}

int
ops_disk_pool(struct op_ctx *x)
{
	const char *legacy = x->app->cfg.pool_name;
	const char *vol = x->ndisks ? x->disks[0].volume : "";
	char path[4096];

	if (vol[0] == '\0' || strcmp(x->pool, legacy) == 0 ||
	    backend_volume_path(x->bc, x->pool, vol, path, sizeof(path)) == 0)
		return 0;
	if (err_last()->code != ERR_NOT_FOUND)
		return -1;
	if (backend_volume_path(x->bc, legacy, vol, path, sizeof(path)) < 0) {
		err_clear();       /* in neither: nothing to redirect */
		return 0;
	}
	log_warnx("op %s: the disks of vm '%s' are in the old pool '%s' ('%s'),"
	    " not in its host's pool '%s': they are used there", x->op.id,
	    x->vm.name, legacy, path, x->pool);
	snprintf(x->pool, sizeof(x->pool), "%s", legacy);
	return 0;
}

/* The domain description for x's VM on host h with its disks at d. */
void
ops_vm_spec(struct op_ctx *x, const struct host_rec *h, struct ops_disks *d,
    struct vm_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->uuid = x->vm.uuid;
	spec->name = x->vm.name;
	spec->vcpus = x->vm.vcpus;
	spec->memory_mib = x->vm.memory_mib;
	spec->max_vcpus = x->vm.max_vcpus;
	spec->max_memory_mib = x->vm.max_memory_mib;
	spec->domain_type = x->vm.domain_type[0] ? x->vm.domain_type :
	    h->domain_type[0] ? h->domain_type : "qemu";
	spec->arch = h->arch[0] ? h->arch : "x86_64";
	spec->machine = x->vm.machine[0] ? x->vm.machine : NULL;
	spec->firmware = x->vm.firmware[0] ? x->vm.firmware : NULL;
	spec->clock = x->vm.clock[0] ? x->vm.clock : NULL;
	spec->hyperv = x->vm.hyperv;
	spec->graphics = strcmp(x->vm.graphics, "vnc") == 0 ? "vnc" : NULL;
	console_log_path(x->vm.uuid, d->serial_log, sizeof(d->serial_log));
	spec->serial_log = d->serial_log;
	for (int i = 0; i < x->ndisks; i++)
		ops_disk_spec(&x->disks[i], d->path[i], d->base[i], d->chain[i],
		    &d->spec[i]);
	spec->disks = d->spec;
	spec->ndisks = x->ndisks;
	ops_nics_spec(x, d, spec);
}

/* --- disk operations on one disk of a made VM --- */

/* The disk the operation is about (its "dev" param), or NULL + error. */
static const struct disk_rec *
ops_disk_of(struct op_ctx *x)
{
	const char *dev = json_string_value(json_object_get(x->params,
	    "dev"));

	for (int i = 0; dev && i < x->ndisks; i++)
		if (strcmp(x->disks[i].dev, dev) == 0)
			return &x->disks[i];
	err_set(ERR_NOT_FOUND, "vm '%s' has no disk '%s'", x->vm.name,
	    dev ? dev : "?");
	return NULL;
}

/* Does a change reach the running guest too? */
static int
ops_disk_live(struct op_ctx *x, bool *live)
{
	if (ops_observe(x) < 0)
		return -1;
	*live = x->observed == VM_RUNNING || x->observed == VM_PAUSED;
	return 0;
}

/* Undo an add (after a failure or a crash): every step is idempotent. */
static int
ops_disk_add_undo(struct op_ctx *x, const struct disk_rec *d)
{
	struct err e;
	int r = 0;

	err_save(&e);
	if (backend_disk_detach(x->bc, x->vm.uuid, d->dev, true) < 0 ||
	    backend_volume_delete(x->bc, x->pool, d->volume) < 0) {
		log_error("op %s: undoing the new disk %s of vm '%s' failed "
		    "(retried later): %s", x->op.id, d->dev, x->vm.name,
		    err_last()->msg);
		x->unsettled = true;
		r = -1;
	}
	err_restore(&e);
	return r;
}

int
ops_disk_add(struct op_ctx *x)
{
	const struct disk_rec *d = ops_disk_of(x);
	struct vm_disk_spec s;
	char path[1024], base[1024];
	const char *chain[2];
	bool live;

	if (d == NULL)
		return -1;
	if (ops_disk_one(x, x->bc, x->vm.host_id, x->pool, d, path,
	    sizeof(path), base, sizeof(base)) < 0)
		goto fail;
	ops_disk_spec(d, path, base, chain, &s);
	if (ops_disk_live(x, &live) < 0)
		goto fail;
	ops_step(x, live ? "plugging the disk into the running guest" :
	    "adding the disk to the definition");
	if (backend_disk_attach(x->bc, x->vm.uuid, &s, live) < 0)
		goto fail;
	return 0;
fail:
	ops_disk_add_undo(x, d);
	return -1;
}

int
ops_disk_add_recover(struct op_ctx *x)
{
	const struct disk_rec *d = ops_disk_of(x);

	if (d == NULL || ops_disk_add_undo(x, d) < 0)
		return -1;
	return err_set(ERR_INTERRUPTED, "the daemon stopped while a disk was "
	    "being added to vm '%s'; the add was undone", x->vm.name);
}

int
ops_disk_remove(struct op_ctx *x)
{
	const struct disk_rec *d = ops_disk_of(x);
	bool live;

	if (d == NULL || ops_disk_live(x, &live) < 0)
		return -1;
	ops_step(x, "unplugging the disk");
	if (backend_disk_detach(x->bc, x->vm.uuid, d->dev, live) < 0)
		return -1;
	ops_step(x, "removing the disk's volume");
	return backend_volume_delete(x->bc, x->pool, d->volume);
}

int
ops_disk_resize(struct op_ctx *x)
{
	const struct disk_rec *d = ops_disk_of(x);
	bool live;

	/* the row already says the new size (claimed with the request) */
	if (d == NULL || ops_disk_live(x, &live) < 0)
		return -1;
	ops_step(x, live ? "growing the disk under the running guest" :
	    "growing the disk's volume");
	if (live)
		return backend_disk_resize(x->bc, x->vm.uuid, d->dev,
		    d->size_gib);
	return backend_volume_resize(x->bc, x->pool, d->volume, d->size_gib);
}

static int64_t
ops_disk_param(struct op_ctx *x, const char *k)
{
	return json_integer_value(json_object_get(x->params, k));
}

/* The closing transaction: the row follows what really happened. */
int
ops_disk_close(struct store_conn *c, struct op_ctx *x, bool ok)
{
	const char *dev = json_string_value(json_object_get(x->params,
	    "dev"));

	if (dev == NULL)
		return 0;
	switch (x->op.kind) {
	case OP_DISK_ADD:
		if (ok || store_disk_delete(c, x->vm.id, dev) == 0)
			return 0;
		break;
	case OP_DISK_REMOVE:
		if (!ok || store_disk_delete(c, x->vm.id, dev) == 0)
			return 0;
		break;
	default:
		if (ok || store_disk_resize(c, x->vm.id, dev,
		    ops_disk_param(x, "from_gib")) == 0)
			return 0;
		break;
	}
	/* the VM or the disk may be gone meanwhile: nothing to undo */
	if (err_last()->code != ERR_NOT_FOUND)
		return -1;
	err_clear();
	return 0;
}

/* After it: the room the view holds follows the row. */
void
ops_disk_after(struct op_ctx *x, bool ok)
{
	int64_t delta = 0;

	if (x->op.kind == OP_DISK_ADD && !ok)
		delta = -ops_disk_param(x, "size_gib");
	else if (x->op.kind == OP_DISK_REMOVE && ok)
		delta = -ops_disk_param(x, "size_gib");
	else if (x->op.kind == OP_DISK_RESIZE && !ok)
		delta = ops_disk_param(x, "from_gib") -
		    ops_disk_param(x, "size_gib");
	if (delta != 0 && x->vm.host_id)
		view_disk(x->app->view, x->vm.host_id, delta);
	/* a failed add or a removal may leave a copy of an image that no
	 * disk on the host uses now */
	if ((x->op.kind == OP_DISK_ADD && !ok) ||
	    (x->op.kind == OP_DISK_REMOVE && ok))
		ops_disks_prune(x, x->vm.host_id, x->pool);
}
