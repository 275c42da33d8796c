/*
 * ops_disk.c - a VM's disks on its host: making every volume of the list,
 * removing them, and turning the list into the domain's description.
 * The create, delete and migration runners loop over the VM's disks
 * through these; nothing here knows of "the" disk.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
#include "ops_int.h"

/* Where libvirt's virtlogd keeps a domain's serial console output. */
#define OPS_SERIAL_LOG_DIR "/var/log/libvirt/qemu"

const char *
ops_pool_path(const struct op_ctx *x, const struct host_rec *h)
{
	return h->pool_path[0] ? h->pool_path : x->app->cfg.pool_path;
}

/* Make one volume; the pool is made again first if it has gone since
 * the host connected (undefined, stopped), then it is tried once more. */
static int
ops_disk_make(struct op_ctx *x, struct backend_conn *bc,
    const struct host_rec *h, const struct disk_rec *d, char *path,
    size_t len)
{
	const char *pool = x->app->cfg.pool_name;
	int64_t cap, avail;

	if (backend_volume_create(bc, pool, d->volume, d->size_gib, path,
	    len) == 0)
		return 0;
	if (err_last()->code != ERR_NOT_FOUND &&
	    err_last()->code != ERR_CONFLICT)
		return -1;
	if (backend_pool_ensure(bc, pool, ops_pool_path(x, h), &cap,
	    &avail) < 0)
		return -1;
	return backend_volume_create(bc, pool, d->volume, d->size_gib, path,
	    len);
}

int
ops_disks_make(struct op_ctx *x, struct backend_conn *bc,
    const struct host_rec *h, struct ops_disks *out)
{
	char step[96];

	for (int i = 0; i < x->ndisks; i++) {
		snprintf(step, sizeof(step), "creating disk %s",
		    x->disks[i].dev);
		ops_step(x, step);
		if (ops_disk_make(x, bc, h, &x->disks[i], out->path[i],
		    sizeof(out->path[i])) < 0)
			return -1;
	}
	return 0;
}

int
ops_disks_paths(struct op_ctx *x, struct backend_conn *bc,
    struct ops_disks *out)
{
	for (int i = 0; i < x->ndisks; i++)
		if (backend_volume_path(bc, x->app->cfg.pool_name,
		    x->disks[i].volume, out->path[i],
		    sizeof(out->path[i])) < 0)
			return -1;
	return 0;
}

int
ops_disks_delete(struct op_ctx *x, struct backend_conn *bc)
{
	int r = 0;
	struct err e = { 0 };

	/* every one is tried; the first failure is the one reported */
	for (int i = 0; i < x->ndisks; i++) {
		if (backend_volume_delete(bc, x->app->cfg.pool_name,
		    x->disks[i].volume) == 0)
			continue;
		if (r == 0)
			err_save(&e);
		r = -1;
	}
	if (r < 0)
		err_restore(&e);
	return r;
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
	spec->domain_type = h->domain_type[0] ? h->domain_type : "qemu";
	spec->arch = h->arch[0] ? h->arch : "x86_64";
	spec->machine = x->vm.machine[0] ? x->vm.machine : NULL;
	spec->firmware = x->vm.firmware[0] ? x->vm.firmware : NULL;
	snprintf(d->serial_log, sizeof(d->serial_log), "%s/%s-serial.log",
	    OPS_SERIAL_LOG_DIR, x->vm.uuid);
	spec->serial_log = d->serial_log;
	for (int i = 0; i < x->ndisks; i++) {
		struct vm_disk_spec *s = &d->spec[i];
		const struct disk_rec *r = &x->disks[i];

		memset(s, 0, sizeof(*s));
		s->dev = r->dev;
		s->device = r->device;
		s->bus = r->bus;
		s->format = r->format;
		s->path = d->path[i];
		s->boot_order = r->boot_order;
	}
	spec->disks = d->spec;
	spec->ndisks = x->ndisks;
}
