/*
 * ops_evacuate.c - the runners of a lost host's evacuation (evacuate.c
 * records it, once the host is fenced).
 *
 *  evacuate (no_vm, the host's): for each VM still placed on the lost
 *  host, a child evacuate_vm is placed by the scheduler and recorded
 *  (place_move with move_row: the VM's row points at its new host in
 *  the child's own transaction, which is its claim there), then the
 *  children run inline, EVAC_PARALLEL at a time.  A VM that cannot be
 *  recovered (no backup and no shared storage, busy, fits nowhere) is
 *  left as it is and said in the progress, never dropped.  Progress:
 *  {"total", "recovered", "not_recovered", "vms": [{vm, to, lost}],
 *  "lost_vms": [{vm, why}]} (the lists left out when too long).
 *
 *  evacuate_vm (on the VM, already placed on its new host, so the engine
 *  connects there): its disks from where they are when the new host sees
 *  them at the same path (shared storage: nothing is lost; the NoCloud
 *  seed, which hangar writes, does not count and is made again), else written
 *  from its latest backup's chain (ops_backup_disk.c: what was written after
 *  that backup is lost, and the step, progress and event vm.evacuated
 *  say how much: "restored from backup B taken 3m12s ago"); then its
 *  seed, addresses and domain as a create makes them, started when it
 *  was meant to run.  Same id, name, MACs and addresses.  A failure
 *  undoes what it made there and puts the row back on the lost host.
 *  Params: {"from", "from_id", "backup", "backup_at", "start"}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "../common/error.h"
#include "../common/log.h"
#include "../common/path.h"
#include "ops_int.h"
#include "place.h"

#define EVAC_PARALLEL 2

/* --- one VM --- */

static bool
evac_restorable(const struct disk_rec *d)
{
	return strcmp(d->content, "cidata") != 0 &&
	    strcmp(d->device, "disk") == 0;
}

/* The name of disk d's volume written from a backup. */
static void
evac_vol(const struct op_ctx *x, const struct disk_rec *d, char *out)
{
	snprintf(out, DISK_VOLUME_LEN, "%.36s-%.8s-e%.8s.qcow2", x->vm.uuid,
	    d->dev, x->op.id);
}

/* "3m12s", "2h5m", "41s": how old something made at ms is. */
static void
evac_age(int64_t at_ms, char *buf, size_t len)
{
	int64_t s = (time_now_ms() - at_ms) / 1000;

	if (s < 0)
		s = 0;
	if (s >= 86400)
		snprintf(buf, len, "%lldd%lldh", (long long)(s / 86400),
		    (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, len, "%lldh%lldm", (long long)(s / 3600),
		    (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, len, "%lldm%llds", (long long)(s / 60),
		    (long long)(s % 60));
	else
		snprintf(buf, len, "%llds", (long long)s);
}

/* The directory host h keeps its VM disks in. */
static const char *
evac_pool_dir(const struct app *app, const struct host_rec *h)
{
	return h->pool_path[0] ? h->pool_path : app->cfg.pool_path;
}

/*
 * Does the host at bc (pool) see every disk of the VM (disks[n]) at the
 * path it had on host from?  Then they share storage: the disks are used
 * as they are.  1, 0, or -1 with an error.
 */
static int
evac_sees_disks(const struct app *app, struct backend_conn *bc,
    const char *pool, const struct host_rec *from,
    const struct disk_rec *disks, int n)
{
	char want[4096 + DISK_VOLUME_LEN + 2], got[1024];
	const char *vols[2];

	for (int i = 0; i < n; i++) {
		if (strcmp(disks[i].content, "cidata") == 0)
			continue;       /* made again wherever it goes */
		vols[0] = disks[i].volume;
		vols[1] = disks[i].base_volume;
		for (int k = 0; k < 2; k++) {
			if (vols[k][0] == '\0')
				continue;
			snprintf(want, sizeof(want), "%s/%s",
			    evac_pool_dir(app, from), vols[k]);
			if (backend_volume_path(bc, pool, vols[k], got,
			    sizeof(got)) < 0) {
				if (err_last()->code != ERR_NOT_FOUND)
					return -1;
				err_clear();
				return 0;
			}
			if (!path_same(want, got))
				return 0;
		}
	}
	return 1;
}

/* The host the VM was lost with (params "from_id"). */
static int
evac_from(struct op_ctx *x, struct host_rec *from)
{
	struct store_conn *c = store_read_begin(x->app->store);
	int r = store_host_get_id(c, json_integer_value(json_object_get(
	    x->params, "from_id")), from);

	store_read_end(c);
	return r;
}

/* Every disk written from backup id (the rest made as a create does). */
static int
evac_from_backup(struct op_ctx *x, const char *id, struct ops_disks *d)
{
	struct store_conn *c = store_read_begin(x->app->store);
	struct backup_rec b;
	char vol[DISK_VOLUME_LEN], step[96], age[32];
	int r = store_backup_get(c, id, &b);

	store_read_end(c);
	if (r < 0)
		return -1;
	evac_age(b.created_at, age, sizeof(age));
	for (int i = 0; r == 0 && i < x->ndisks; i++) {
		struct disk_rec *k = &x->disks[i];

		d->base[i][0] = '\0';
		if (!evac_restorable(k)) {
			r = ops_disk_one(x, x->bc, x->vm.host_id, x->pool, k,
			    d->path[i], sizeof(d->path[i]), d->base[i],
			    sizeof(d->base[i]));
			continue;
		}
		snprintf(step, sizeof(step), "writing disk %s from backup %.8s "
		    "taken %s ago", k->dev, b.id, age);
		ops_step(x, step);
		evac_vol(x, k, vol);
		r = ops_backup_disk_write(x, x->bc, x->pool, &b, k->dev, vol,
		    d->path[i], sizeof(d->path[i]));
		if (r == 0) {
			snprintf(k->volume, sizeof(k->volume), "%s", vol);
			k->base_volume[0] = '\0';
		}
	}
	store_backup_clear(&b);
	return r;
}

/* The disks where they are (shared storage), the seed made again. */
static int
evac_shared_paths(struct op_ctx *x, struct ops_disks *d)
{
	for (int i = 0; i < x->ndisks; i++)
		if (strcmp(x->disks[i].content, "cidata") == 0 &&
		    ops_disk_one(x, x->bc, x->vm.host_id, x->pool, &x->disks[i],
		    d->path[i], sizeof(d->path[i]), d->base[i],
		    sizeof(d->base[i])) < 0)
			return -1;
	return ops_disks_paths(x, x->bc, x->pool, d);
}

/*
 * Undo what a failed run made on the new host (best effort): the domain,
 * the addresses, the volumes written from a backup and, made_disks (a
 * run that wrote from a backup), the ones it made as a create does.
 */
static void
evac_undo(struct op_ctx *x, bool made_disks)
{
	char vol[DISK_VOLUME_LEN];
	struct err e;

	err_save(&e);
	if (backend_destroy(x->bc, x->vm.uuid) < 0 ||
	    backend_undefine(x->bc, x->vm.uuid) < 0 ||
	    ops_nics_dhcp_remove(x, x->bc) < 0)
		log_warnx("op %s: cannot undo vm '%s' on host '%s': %s",
		    x->op.id, x->vm.name, x->host.name, err_last()->msg);
	for (int i = 0; i < x->ndisks; i++) {
		const struct disk_rec *k = &x->disks[i];

		if (evac_restorable(k))
			evac_vol(x, k, vol);
		else if (made_disks)    /* its seed, or a disk made as a create
		                         * does: not a shared file */
			snprintf(vol, sizeof(vol), "%s", k->volume);
		else
			continue;
		if (backend_volume_delete(x->bc, x->pool, vol) < 0)
			log_warnx("op %s: cannot remove volume '%s': %s",
			    x->op.id, vol, err_last()->msg);
	}
	err_restore(&e);
}

/* Say, once it runs there, where it came from and what it lost. */
static void
evac_report(struct op_ctx *x, const char *source, const char *backup,
    int64_t backup_at)
{
	char step[128], age[32];
	json_t *p;

	if (backup) {
		evac_age(backup_at, age, sizeof(age));
		snprintf(step, sizeof(step), "restored from backup %s taken %s "
		    "ago", backup, age);
		p = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "source", source,
		    "to", x->host.name, "backup", backup, "backup_taken_at",
		    (json_int_t)backup_at, "backup_age_s",
		    (json_int_t)((time_now_ms() - backup_at) / 1000), "lost",
		    step);
	} else {
		snprintf(step, sizeof(step), "recovered from its disks on shared "
		    "storage: nothing lost");
		p = json_pack("{s:s, s:s, s:s}", "source", source, "to",
		    x->host.name, "lost", "nothing");
	}
	ops_step(x, step);
	if (p) {
		ops_progress(x, p);
		json_object_set_new(x->params, "report", p);
	}
}

int
ops_evacuate_vm_run(struct op_ctx *x)
{
	const char *backup = json_string_value(json_object_get(x->params,
	    "backup"));
	struct ops_disks *d = calloc(1, sizeof(*d));
	struct host_rec from;
	bool made = false;
	int r = -1, shared;

	if (d == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	if (evac_from(x, &from) < 0)
		goto out;
	ops_step(x, "looking for its disks on the new host");
	shared = evac_sees_disks(x->app, x->bc, x->pool, &from, x->disks,
	    x->ndisks);
	if (shared < 0)
		goto out;
	if (shared) {
		r = evac_shared_paths(x, d);
	} else if (backup && backup[0]) {
		made = true;
		r = evac_from_backup(x, backup, d);
	} else {
		r = err_set(ERR_CONFLICT, "vm '%s' is not recoverable: it has "
		    "no backup, and host '%s' does not see its disks (no "
		    "shared storage with '%s')", x->vm.name, x->host.name,
		    from.name);
	}
	if (r == 0)
		r = ops_create_finish(x, d);
	if (r == 0)
		evac_report(x, shared ? "shared" : "backup", shared ? NULL :
		    backup, json_integer_value(json_object_get(x->params,
		    "backup_at")));
out:
	free(d);
	if (r < 0) {
		evac_undo(x, made);
		x->have_state = false;
	}
	return r;
}

/*
 * After a restart: a domain defined on the new host got that far (its
 * disks are the written ones where those exist); else undo and fail.
 */
int
ops_evacuate_vm_recover(struct op_ctx *x)
{
	char vol[DISK_VOLUME_LEN], path[1024];

	if (ops_observe(x) == 0) {
		for (int i = 0; i < x->ndisks; i++) {
			evac_vol(x, &x->disks[i], vol);
			if (evac_restorable(&x->disks[i]) && backend_volume_path(
			    x->bc, x->pool, vol, path, sizeof(path)) == 0)
				snprintf(x->disks[i].volume,
				    sizeof(x->disks[i].volume), "%s", vol);
		}
		err_clear();
		return 0;
	}
	if (err_last()->code != ERR_NOT_FOUND)
		return -1;
	evac_undo(x, false);
	return err_set(ERR_INTERRUPTED, "the daemon stopped while vm '%s' was "
	    "being evacuated to '%s'; it stays on the lost host: evacuate "
	    "that host again", x->vm.name, x->host.name);
}

int
ops_evacuate_vm_close(struct store_conn *c, struct op_ctx *x, bool ok)
{
	char vol[DISK_VOLUME_LEN];
	json_t *d;
	bool written = false;
	int r;

	if (!ok)        /* left as it was: on the lost host */
		return store_vm_set_host(c, x->vm.id, json_integer_value(
		    json_object_get(x->params, "from_id")), x->op.id);
	for (int i = 0; i < x->ndisks; i++) {
		evac_vol(x, &x->disks[i], vol);
		if (strcmp(x->disks[i].volume, vol) != 0)
			continue;
		written = true;
		if (store_disk_set_volume(c, x->vm.id, x->disks[i].dev,
		    vol) < 0)
			return -1;
	}
	/* the checkpoints were on the lost host: the next backup is full */
	if (written && store_backup_forget_checkpoints(c, x->vm.uuid) < 0)
		return -1;
	d = json_pack("{s:O?, s:s}", "from", json_object_get(x->params,
	    "from"), "to", x->host.name);
	if (d && json_object_get(x->params, "report"))
		json_object_update(d, json_object_get(x->params, "report"));
	r = store_event_vm(c, x->vm.id, "vm.evacuated", x->op.id, d);
	json_decref(d);
	return r;
}

/* A failed one: the claim goes back to the lost host with the row. */
void
ops_evacuate_vm_after(struct op_ctx *x, bool ok)
{
	struct vm_rec there = x->vm;

	if (ok || x->vm.id == 0)
		return;
	view_release(x->app->view, &x->vm);
	there.host_id = json_integer_value(json_object_get(x->params,
	    "from_id"));
	view_lock(x->app->view);
	view_claim_locked(x->app->view, &there);
	view_unlock(x->app->view);
}

/* --- the host --- */

struct evac_kids {
	struct op_ctx *x;
	char (*ids)[UUID_STR_LEN];
	size_t n, cap;
	json_t *refused;           /* [{vm, why}]: never got a child */
};

static int
evac_kid_add(struct evac_kids *k, const char *id)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 16;
		char (*ni)[UUID_STR_LEN] = realloc(k->ids, cap * sizeof(*ni));

		if (ni == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		k->ids = ni;
		k->cap = cap;
	}
	snprintf(k->ids[k->n++], UUID_STR_LEN, "%s", id);
	return 0;
}

/* VM v is left on the lost host; err_last() says why. */
static void
evac_refuse(struct evac_kids *k, const struct vm_rec *v)
{
	log_warnx("op %s: vm '%s' is not recovered: %s", k->x->op.id, v->name,
	    err_last()->msg);
	json_array_append_new(k->refused, json_pack("{s:s, s:s}", "vm",
	    v->name, "why", err_last()->msg));
	err_clear();
}

/* The hosts that keep their disks where the lost one did. */
struct evac_peers {
	const struct app *app;
	const struct host_rec *from;
	char (*name)[NAME_MAX_LEN];
	size_t n, cap;
};

static int
evac_peer(const struct host_rec *h, void *arg)
{
	struct evac_peers *p = arg;

	if (h->id == p->from->id || !path_same(evac_pool_dir(p->app, h),
	    evac_pool_dir(p->app, p->from)))
		return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		char (*nn)[NAME_MAX_LEN] = realloc(p->name, cap * sizeof(*nn));

		if (nn == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		p->name = nn;
		p->cap = cap;
	}
	snprintf(p->name[p->n++], NAME_MAX_LEN, "%s", h->name);
	return 0;
}

/*
 * For a VM without a backup: a host that can take it and sees its disks
 * where the lost host had them (shared storage), into pr->sr.host (kept
 * in host).  Only hosts whose pool is at the same directory can.  -1 with
 * why when there is none.
 */
static int
evac_shared_host(struct op_ctx *x, const struct vm_rec *v,
    struct place_req *pr, struct host_rec *host)
{
	struct disk_rec disks[VM_DISKS_MAX];
	struct host_rec from;
	struct evac_peers p = { x->app, &from, NULL, 0, 0 };
	struct store_conn *c = store_read_begin(x->app->store);
	struct backend_conn *bc;
	char pool[FLEET_POOL_MAX];
	int n = store_disk_list(c, v->id, disks, VM_DISKS_MAX), r;

	r = n < 0 ? -1 : store_host_get_id(c, v->host_id, &from);
	if (r == 0)
		r = store_host_each(c, evac_peer, &p);
	store_read_end(c);
	for (size_t i = 0; r == 0 && i < p.n; i++) {
		pr->sr.host = p.name[i];
		if (place_move(x->app, v, pr, NULL, host, NULL) < 0 ||
		    (bc = fleet_conn(x->app->fleet, host->id)) == NULL ||
		    fleet_pool(x->app->fleet, host->id, pool,
		    sizeof(pool)) < 0 ||
		    (r = evac_sees_disks(x->app, bc, pool, &from, disks, n)) < 0) {
			err_clear();    /* that one cannot: the next */
			r = 0;
			continue;
		}
		if (r == 1) {
			pr->sr.host = host->name;   /* host outlives p */
			free(p.name);
			return 0;
		}
	}
	free(p.name);
	if (r < 0)
		return -1;
	pr->sr.host = NULL;
	return err_set(ERR_CONFLICT, "it has no backup, and no host that can "
	    "take it sees its disks where '%s' had them (no shared "
	    "storage)", from.name);
}

/* Record the child that brings VM v back elsewhere (or say why not). */
static int
evac_child(struct evac_kids *k, const struct vm_rec *v)
{
	struct op_ctx *x = k->x;
	struct store_conn *c;
	struct backup_rec b;
	struct place_req pr;
	struct host_rec dst;
	struct op_rec op;
	uuid_t u;
	char *text;
	json_t *p;
	int r;

	if (v->op_id[0]) {
		err_set(ERR_CONFLICT, "operation %s is in progress on it",
		    v->op_id);
		evac_refuse(k, v);
		return 0;
	}
	c = store_read_begin(x->app->store);
	r = store_backup_latest(c, v->uuid, &b);
	store_read_end(c);
	if (r < 0 && err_last()->code != ERR_NOT_FOUND)
		return -1;
	memset(&pr, 0, sizeof(pr));
	pr.sr.vcpus = v->vcpus;
	pr.sr.memory_mib = v->memory_mib;
	pr.sr.disk_gib = v->disk_gib;
	if (strcmp(v->domain_type, "kvm") == 0)
		pr.sr.domain_type = SCHED_DT_KVM;
	else if (strcmp(v->domain_type, "qemu") == 0)
		pr.sr.domain_type = SCHED_DT_QEMU;
	pr.move_row = true;
	if (r < 0 && evac_shared_host(x, v, &pr, &dst) < 0) {
		evac_refuse(k, v);
		return 0;
	}
	memset(&op, 0, sizeof(op));
	uuid_generate_random(u);
	uuid_unparse_lower(u, op.id);
	op.kind = OP_EVACUATE_VM;
	op.vm_id = v->id;
	snprintf(op.vm_uuid, sizeof(op.vm_uuid), "%s", v->uuid);
	snprintf(op.vm_name, sizeof(op.vm_name), "%s", v->name);
	snprintf(op.parent_id, sizeof(op.parent_id), "%s", x->op.id);
	p = json_pack("{s:s, s:I, s:b}", "from", x->op.host, "from_id",
	    (json_int_t)x->op.host_id, "start", strcmp(v->desired,
	    "running") == 0);
	if (p && r == 0) {
		json_object_set_new(p, "backup", json_string(b.id));
		json_object_set_new(p, "backup_at", json_integer(b.created_at));
	}
	store_backup_clear(&b);
	text = p ? json_dumps(p, JSON_COMPACT) : NULL;
	json_decref(p);
	if (text == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	snprintf(op.params, sizeof(op.params), "%s", text);
	free(text);
	if (place_move(x->app, v, &pr, &op, &dst, NULL) < 0) {
		evac_refuse(k, v);
		return 0;
	}
	return evac_kid_add(k, op.id);
}

/*
 * How the children ended, with what was refused: the progress; the
 * number not recovered, the first of them into first.
 */
static int
evac_sum(struct evac_kids *k, char *first, size_t len)
{
	json_t *done = json_array(), *lost = json_copy(k->refused), *p, *rp;
	struct store_conn *c = store_read_begin(k->x->app->store);
	struct op_rec o;
	size_t total = k->n + json_array_size(k->refused);

	for (size_t i = 0; i < k->n; i++) {
		if (store_op_get(c, k->ids[i], &o) < 0)
			continue;
		rp = json_loads(o.progress, 0, NULL);
		if (o.status == OP_SUCCEEDED)
			json_array_append_new(done, json_pack("{s:s, s:O?, s:O?}",
			    "vm", o.vm_name, "to", json_object_get(rp, "to"),
			    "lost", json_object_get(rp, "lost")));
		else
			json_array_append_new(lost, json_pack("{s:s, s:s}",
			    "vm", o.vm_name, "why", o.err_msg));
		json_decref(rp);
	}
	store_read_end(c);
	err_clear();
	if (json_array_size(lost) > 0)
		snprintf(first, len, "vm '%s': %s", json_string_value(
		    json_object_get(json_array_get(lost, 0), "vm")),
		    json_string_value(json_object_get(json_array_get(lost, 0),
		    "why")));
	p = json_pack("{s:I, s:I, s:I, s:o, s:o}", "total", (json_int_t)total,
	    "recovered", (json_int_t)json_array_size(done), "not_recovered",
	    (json_int_t)json_array_size(lost), "vms", done, "lost_vms", lost);
	ops_progress(k->x, p);
	if (p && k->x->op.progress[0] == '\0') {
		/* too long to keep: the counts (each child says its own) */
		json_object_del(p, "vms");
		json_object_del(p, "lost_vms");
		ops_progress(k->x, p);
	}
	total = p ? (size_t)json_integer_value(json_object_get(p,
	    "not_recovered")) : 0;
	json_decref(p);
	return (int)total;
}

int
ops_evacuate_run(struct op_ctx *x)
{
	struct evac_kids k = { x, NULL, 0, 0, json_array() };
	struct vm_list vms = { NULL, 0, 0 };
	struct store_conn *c = store_read_begin(x->app->store);
	char first[600] = "";
	int r = store_vm_each(c, x->op.host, NULL, vm_list_add, &vms), bad;

	store_read_end(c);
	ops_step(x, "placing the VMs elsewhere");
	for (size_t i = 0; r == 0 && i < vms.n; i++)
		r = evac_child(&k, &vms.v[i]);
	if (r == 0) {
		ops_step(x, "bringing the VMs back on other hosts");
		ops_run_inline(x->app->ops, k.ids, k.n, EVAC_PARALLEL, NULL,
		    NULL);
		bad = evac_sum(&k, first, sizeof(first));
		if (bad > 0)
			r = err_set(ERR_CONFLICT, "%d of %zu VM(s) of host '%s' "
			    "were not recovered and stay there (first: %s); see "
			    "the operation's progress", bad, vms.n, x->op.host,
			    first);
		else
			log_info("op %s: the %zu VM(s) of host '%s' were "
			    "recovered elsewhere", x->op.id, vms.n, x->op.host);
	}
	vm_list_free(&vms);
	free(k.ids);
	json_decref(k.refused);
	return r;
}

int
ops_evacuate_recover(struct op_ctx *x)
{
	/* its children are operations of their own, settled on their own */
	return err_set(ERR_INTERRUPTED, "the daemon stopped during the "
	    "evacuation of host '%s'; its VMs were settled one by one; "
	    "evacuate it again to recover what is left there", x->op.host);
}
