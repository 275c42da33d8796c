/*
 * ops_clone.c - the clone and template operations.
 *
 * A clone runs on the new VM (clone.c made its rows): each of the
 * source's disks is streamed into a volume of the clone's on the clone's
 * host (backend_volume_copy: the same call that copies a cold
 * migration's disks, to this host or another), then the VM is finished
 * as a create is (ops_create_finish: its addresses, domain, start).
 *
 *   linked, a disk over an image: the copy is of the source's overlay
 *       alone, its header naming the clone's host's copy of the image
 *       (made there first if it has none).  The clone backs onto the
 *       image, as its source does, not onto the source's disk, which
 *       goes on changing; a clone of a clone is one overlay deep too.
 *   full, or a disk over no image: the copy goes to a staging volume
 *       (<volume>.part), which libvirt's qemu-img then flattens into the
 *       clone's volume (its whole chain, no internal snapshots, no dirty
 *       bitmaps), and it is removed; a stopped source in the clone's
 *       pool is flattened straight from its own volume (one pass).
 *
 * A running source is held still only while its disks are streamed:
 * its filesystems frozen through its guest agent when one answers (an
 * application-consistent copy, else crash-consistent), then paused.
 * Pausing makes QEMU drain and flush every disk (vm_stop), so the files
 * are whole and stay put while they are read; it is resumed and thawed
 * right after, before any flattening.  This was chosen over an external
 * disk-only snapshot plus a block commit: that would change the source's
 * disk chain, and a failure or crash between the two would leave the
 * source running on an overlay hangar does not know; a pause leaves
 * nothing to undo but a resume.
 *
 * Nothing half-made: a failure (or a crash, on recovery) removes the
 * staging volumes and the clone's volumes, domain and DHCP hosts
 * (ops_create_rollback), and the closing transaction its rows; a source
 * left paused by a crash is resumed.
 *
 * A template: the stopped VM's root disk is flattened on its host into a
 * staging volume (<op id>.template.qcow2), downloaded into the library's
 * staging area as the "upload" of an import, and the volume removed;
 * then the import runs on it as on any upload (ops_image_run: inspect,
 * convert, check, hash, store), and closes and cleans up like one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/error.h"
#include "../common/log.h"
#include "ops_int.h"

/* The step a held source is copied under: recovery reads it back. */
#define CLONE_STEP_HELD "copying the disks of the paused source"
#define CLONE_STEP_PAUSING "pausing the source"

/* The source of a clone. */
struct clone_src {
	struct vm_rec vm;
	struct disk_rec disks[VM_DISKS_MAX];
	int ndisks;
	struct backend_conn *bc;
	char pool[FLEET_POOL_MAX];
	enum vm_state state;       /* when the copy began */
	bool paused, frozen;       /* by this clone */
};

static const char *
clone_param(struct op_ctx *x, const char *k)
{
	const char *s = json_string_value(json_object_get(x->params, k));

	return s ? s : "";
}

/* The staging volume of disk d. */
static void
clone_part(const struct disk_rec *d, char *out, size_t len)
{
	snprintf(out, len, "%s.part", d->volume);
}

/* Load the source, its disks and its host's connection and pool. */
static int
clone_src_load(struct op_ctx *x, struct clone_src *s)
{
	struct store_conn *c = store_read_begin(x->app->store);
	int r = store_vm_get(c, clone_param(x, "source"), &s->vm);

	if (r == 0 && (s->ndisks = store_disk_list(c, s->vm.id, s->disks,
	    VM_DISKS_MAX)) < 0)
		r = -1;
	store_read_end(c);
	if (r < 0) {
		if (err_last()->code == ERR_NOT_FOUND)
			err_set(ERR_CONFLICT, "vm '%s', the source of this clone, "
			    "is gone", clone_param(x, "source_name"));
		return -1;
	}
	if ((s->bc = fleet_conn(x->app->fleet, s->vm.host_id)) == NULL ||
	    fleet_pool(x->app->fleet, s->vm.host_id, s->pool,
	    sizeof(s->pool)) < 0)
		return -1;
	return 0;
}

/* The source's disk of the same device as the clone's d, or NULL. */
static const struct disk_rec *
clone_src_disk(const struct clone_src *s, const struct disk_rec *d)
{
	for (int i = 0; i < s->ndisks; i++)
		if (strcmp(s->disks[i].dev, d->dev) == 0)
			return &s->disks[i];
	return NULL;
}

/* Hold a running source still: frozen (agent) and paused. */
static int
clone_hold(struct op_ctx *x, struct clone_src *s)
{
	if (s->vm.op_id[0])
		return err_set(ERR_CONFLICT, "vm '%s', the source, is %s: "
		    "operation %s is in progress", s->vm.name, s->vm.state,
		    s->vm.op_id);
	if (backend_state(s->bc, s->vm.uuid, &s->state) < 0)
		return -1;
	if (s->state != VM_RUNNING)
		return 0;
	s->frozen = ops_freeze(x, s->bc, &s->vm);
	ops_step(x, CLONE_STEP_PAUSING);
	if (backend_suspend(s->bc, s->vm.uuid) < 0) {
		if (s->frozen)
			ops_thaw(x, s->bc, &s->vm);
		s->frozen = false;
		return -1;
	}
	s->paused = true;
	return 0;
}

/* Let the source go on as it was (failures are logged). */
static void
clone_release(struct op_ctx *x, struct clone_src *s)
{
	struct err e;

	err_save(&e);
	if (s->paused) {
		ops_step(x, "resuming the source");
		if (backend_resume(s->bc, s->vm.uuid) < 0)
			log_error("op %s: vm '%s', the source of a clone, stays "
			    "paused: %s", x->op.id, s->vm.name,
			    err_last()->msg);
		s->paused = false;
	}
	if (s->frozen)
		ops_thaw(x, s->bc, &s->vm);
	s->frozen = false;
	err_restore(&e);
}

/*
 * Before the source is held: the path of the clone's host's copy of the
 * image each overlay of the source is over (uploaded there first if it
 * has none: it may take long), into bases[i]; "" for a disk over none.
 */
static int
clone_bases(struct op_ctx *x, struct clone_src *s, char (*bases)[1024])
{
	for (int i = 0; i < x->ndisks; i++) {
		const struct disk_rec *d = &x->disks[i];
		const struct disk_rec *sd = clone_src_disk(s, d);

		bases[i][0] = '\0';
		if (d->content[0] != '\0')
			continue;
		if (sd == NULL)
			return err_set(ERR_CONFLICT, "disk %s of vm '%s', the "
			    "source, is gone", d->dev, s->vm.name);
		if (sd->base_volume[0] && ops_disk_base_on(x, x->bc,
		    x->vm.host_id, x->pool, sd, bases[i], 1024) < 0)
			return -1;
	}
	return 0;
}

/* Stream disk i of the source (over base, or "") into the clone's host:
 * the clone's own volume (a linked overlay, a raw disk) or its staging
 * volume (*staged set). */
static int
clone_copy_one(struct op_ctx *x, struct clone_src *s, int i,
    const char base[1024], struct ops_disks *out, bool *staged)
{
	const struct disk_rec *d = &x->disks[i];
	const struct disk_rec *sd = clone_src_disk(s, d);
	char part[DISK_VOLUME_LEN + 8], step[96];

	snprintf(step, sizeof(step), s->paused ? CLONE_STEP_HELD " (%s)" :
	    "copying disk %s", d->dev);
	ops_step(x, step);
	*staged = !d->base_volume[0] && strcmp(d->format, "qcow2") == 0;
	/* the domain's chain names the base of an overlay only */
	if (d->base_volume[0])
		memcpy(out->base[i], base, sizeof(out->base[i]));
	else
		out->base[i][0] = '\0';
	if (*staged && s->state != VM_RUNNING && s->state != VM_PAUSED &&
	    s->vm.host_id == x->vm.host_id && strcmp(s->pool, x->pool) == 0) {
		/* a stopped source in the clone's pool: one qemu-img convert
		 * of its volume, not a stream and then a flatten */
		*staged = false;
		return backend_volume_clone(x->bc, x->pool, sd->volume,
		    d->volume, d->size_gib, out->path[i], sizeof(out->path[i]));
	}
	if (*staged)
		clone_part(d, part, sizeof(part));
	return backend_volume_copy(s->bc, s->pool, sd->volume, x->bc, x->pool,
	    *staged ? part : d->volume, base[0] ? base : NULL, out->path[i],
	    sizeof(out->path[i]));
}

/* A staged copy flattened into the clone's volume, then removed. */
static int
clone_flatten(struct op_ctx *x, const struct disk_rec *d, char *path,
    size_t len)
{
	char part[DISK_VOLUME_LEN + 8], step[96];
	int r;

	snprintf(step, sizeof(step), "flattening disk %s", d->dev);
	ops_step(x, step);
	clone_part(d, part, sizeof(part));
	r = backend_volume_clone(x->bc, x->pool, part, d->volume, d->size_gib,
	    path, len);
	if (backend_volume_delete(x->bc, x->pool, part) < 0 && r == 0)
		return -1;
	return r;
}

/* Remove every staging volume (all tried; a repeat is harmless). */
static int
clone_parts_delete(struct op_ctx *x)
{
	char part[DISK_VOLUME_LEN + 8];
	int r = 0;

	for (int i = 0; i < x->ndisks; i++) {
		clone_part(&x->disks[i], part, sizeof(part));
		if (x->disks[i].content[0] == '\0' &&
		    backend_volume_delete(x->bc, x->pool, part) < 0)
			r = -1;
	}
	return r;
}

/*
 * Every disk of the clone: the source's streamed (held still while it
 * is), then the staged ones flattened and the seed written.
 */
static int
clone_disks(struct op_ctx *x, struct clone_src *s, struct ops_disks *out)
{
	bool staged[VM_DISKS_MAX] = { false };
	char bases[VM_DISKS_MAX][1024];
	enum vm_state now;
	int i, r = 0;

	if (clone_bases(x, s, bases) < 0 || clone_hold(x, s) < 0)
		return -1;
	for (i = 0; r == 0 && i < x->ndisks; i++) {
		out->base[i][0] = '\0';
		if (x->disks[i].content[0] == '\0')
			r = clone_copy_one(x, s, i, bases[i], out, &staged[i]);
	}
	clone_release(x, s);
	/* a stopped source started meanwhile was copied as it changed */
	if (r == 0 && s->state != VM_RUNNING && s->state != VM_PAUSED) {
		if (backend_state(s->bc, s->vm.uuid, &now) < 0)
			return -1;
		if (now == VM_RUNNING || now == VM_PAUSED)
			return err_set(ERR_CONFLICT, "vm '%s', the source, was "
			    "started while its disks were copied: the copy is "
			    "not whole", s->vm.name);
	}
	for (i = 0; r == 0 && i < x->ndisks; i++) {
		const struct disk_rec *d = &x->disks[i];

		if (strcmp(d->content, "cidata") == 0)
			r = seed_make(x, x->bc, x->pool, d, out->path[i],
			    sizeof(out->path[i]));
		else if (staged[i])
			r = clone_flatten(x, d, out->path[i],
			    sizeof(out->path[i]));
	}
	return r;
}

/* Undo all of a clone: staging volumes, then what a create undoes. */
static int
clone_undo(struct op_ctx *x)
{
	struct err e;
	int r;

	err_save(&e);
	r = clone_parts_delete(x);
	if (r < 0) {
		log_error("op %s: the staging volumes of clone '%s' could not "
		    "all be removed (retried later): %s", x->op.id,
		    x->vm.name, err_last()->msg);
		x->unsettled = true;
	}
	err_restore(&e);
	if (ops_create_rollback(x) < 0 || r < 0) {
		x->delete_row = false;
		return -1;
	}
	return 0;
}

int
ops_clone_run(struct op_ctx *x)
{
	struct clone_src *s = calloc(1, sizeof(*s));
	struct ops_disks *d = calloc(1, sizeof(*d));
	int r = -1;

	if (s == NULL || d == NULL)
		err_set(ERR_INTERNAL, "out of memory");
	else if (clone_src_load(x, s) == 0 && clone_disks(x, s, d) == 0 &&
	    ops_create_finish(x, d) == 0)
		r = 0;
	if (s)
		clone_release(x, s);
	if (r < 0)
		clone_undo(x);
	free(s);
	free(d);
	return r;
}

int
ops_clone_recover(struct op_ctx *x)
{
	struct clone_src s;
	enum vm_state st;

	/* a crash while the source was held: it is let go */
	memset(&s, 0, sizeof(s));
	if ((strncmp(x->op.step, CLONE_STEP_HELD, strlen(CLONE_STEP_HELD)) ==
	    0 || strcmp(x->op.step, CLONE_STEP_PAUSING) == 0) &&
	    clone_src_load(x, &s) == 0 &&
	    backend_state(s.bc, s.vm.uuid, &st) == 0 && st == VM_PAUSED) {
		s.paused = s.frozen = true;
		clone_release(x, &s);
	}
	err_clear();
	if (clone_undo(x) < 0)
		return -1;
	return err_set(ERR_INTERRUPTED, "the daemon stopped while vm '%s' was "
	    "being cloned; the clone was rolled back", x->op.vm_name);
}

/* --- template --- */

/* The staging volume a template's disk is flattened into. */
static void
template_part(struct op_ctx *x, char *out, size_t len)
{
	snprintf(out, len, "%s.template.qcow2", x->op.id);
}

/* Download volume vol into the import's staged upload. */
static int
template_download(struct op_ctx *x, const char *vol)
{
	char up[CONFIG_STR_MAX + 64];
	int64_t bytes = 0;
	int fd, r;

	if (library_mkdirs(x->app) < 0 ||
	    library_staged(x->app, x->op.id, "upload", up, sizeof(up)) < 0)
		return -1;
	fd = open(up, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return err_set(ERR_UNAVAILABLE, "cannot make '%s': %s", up,
		    strerror(errno));
	ops_step(x, "copying the disk into the library");
	r = backend_volume_download(x->bc, x->pool, vol, fd, &bytes);
	if (r == 0 && fsync(fd) < 0)
		r = err_set(ERR_UNAVAILABLE, "cannot write '%s': %s", up,
		    strerror(errno));
	close(fd);
	if (r == 0)
		log_info("op %s: %lld bytes of vm '%s''s disk in '%s'", x->op.id,
		    (long long)bytes, x->vm.name, up);
	return r;
}

int
ops_template_run(struct op_ctx *x)
{
	const char *dev = clone_param(x, "dev");
	char part[DISK_VOLUME_LEN + 64], path[1024];
	const struct disk_rec *d = NULL;
	int r;

	for (int i = 0; i < x->ndisks; i++)
		if (strcmp(x->disks[i].dev, dev) == 0)
			d = &x->disks[i];
	if (d == NULL)
		return err_set(ERR_CONFLICT, "vm '%s' has no disk '%s' now",
		    x->vm.name, dev);
	if (ops_disk_pool(x) < 0 || ops_observe(x) < 0)
		return -1;
	if (x->observed != VM_STOPPED)
		return err_set(ERR_CONFLICT, "vm '%s' is %s: a template is made "
		    "of a stopped VM", x->vm.name, vm_state_name(x->observed));
	template_part(x, part, sizeof(part));
	ops_step(x, "flattening the disk");
	r = backend_volume_clone(x->bc, x->pool, d->volume, part, d->size_gib,
	    path, sizeof(path));
	if (r == 0)
		r = template_download(x, part);
	if (backend_volume_delete(x->bc, x->pool, part) < 0 && r == 0)
		return -1;
	if (r < 0)
		return -1;
	/* from here on it is an import of that upload */
	return ops_image_run(x);
}

int
ops_template_recover(struct op_ctx *x)
{
	char part[DISK_VOLUME_LEN + 64];

	template_part(x, part, sizeof(part));
	if (backend_volume_delete(x->bc, x->pool, part) < 0) {
		log_error("op %s: the staging volume '%s' stays: %s", x->op.id,
		    part, err_last()->msg);
		err_clear();
	}
	return ops_image_recover(x);
}
