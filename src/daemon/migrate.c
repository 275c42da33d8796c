/*
 * migrate.c - recording a migration and checking one before it happens.
 *
 * migrate_request() decides what kind of move it is — live (the VM runs
 * or is paused) or cold (it is stopped), over shared storage (a marker
 * file made through the source's pool is seen through the
 * destination's: fleet_shared) or with its disk copied — picks the
 * destination (the scheduler, or the host asked for, checked by the same
 * filters) and records the operation while the view holds the VM's
 * resources on both hosts (place_move).  A resize that moves the VM
 * (resize.c) is recorded here too, as an operation of kind resize whose
 * destination must take, and holds, the new size.  migrate_preflight()
 * runs the same decisions as checks, adds what the hypervisors say (CPU,
 * machine type, emulator, networks, room for a copy), and changes
 * nothing.  The work itself is ops_migrate.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uuid/uuid.h>

#include "../common/error.h"
#include "../common/log.h"
#include "app.h"
#include "place.h"

/* What kind of move: decided from the VM, the hosts and the request. */
struct migrate_plan {
	struct vm_rec vm;
	struct host_rec src;
	bool cold;                 /* the VM is stopped */
	int nsnaps;
	char linked[NAME_MAX_LEN]; /* an image one of its disks is a linked
	                            * clone of, or "" (a copy needs the
	                            * image's copy on the destination) */
	/* the host bridges its NICs on bridge networks attach to: the
	 * destination must have them too (the placement's "bridges") */
	char bridges[VM_NICS_MAX][NETWORK_BRIDGE_LEN];
	int nbridges;
};

/* Note the bridge of each of the VM's NICs on a bridge network (once). */
static int
migrate_find_bridges(struct store_conn *c, struct migrate_plan *p)
{
	struct nic_rec nics[VM_NICS_MAX];
	struct network_rec n;
	int k = store_nic_list(c, p->vm.id, nics, VM_NICS_MAX), j;

	for (int i = 0; i < k; i++) {
		if (store_network_get_id(c, nics[i].network_id, &n) < 0)
			return -1;
		if (networks_on_hosts(&n))
			continue;
		for (j = 0; j < p->nbridges && strcmp(p->bridges[j],
		    n.bridge) != 0; j++)
			;
		if (j == p->nbridges)
			snprintf(p->bridges[p->nbridges++], NETWORK_BRIDGE_LEN,
			    "%s", n.bridge);
	}
	return k < 0 ? -1 : 0;
}

/* Note the image of a linked clone among the VM's disks. */
static int
migrate_find_linked(struct store_conn *c, struct migrate_plan *p)
{
	struct disk_rec d[VM_DISKS_MAX];
	int n = store_disk_list(c, p->vm.id, d, VM_DISKS_MAX);

	for (int i = 0; i < n; i++)
		if (d[i].base_volume[0])
			snprintf(p->linked, sizeof(p->linked), "%s", d[i].image);
	return n < 0 ? -1 : 0;
}

static int
migrate_count_snap(const struct snap_rec *s, void *arg)
{
	(void)s;
	(*(int *)arg)++;
	return 0;
}

/* Load the VM and its host and judge whether it can move at all. */
static int
migrate_load(struct app *app, const struct migrate_request *rq,
    struct migrate_plan *p)
{
	struct store_conn *c = store_read_begin(app->store);
	int r;

	memset(p, 0, sizeof(*p));
	r = store_vm_get(c, rq->vm, &p->vm);
	if (r == 0)
		r = store_host_get_id(c, p->vm.host_id, &p->src);
	if (r == 0)
		r = store_snap_each(c, p->vm.id, false, migrate_count_snap,
		    &p->nsnaps);
	if (r == 0)
		r = migrate_find_linked(c, p);
	if (r == 0)
		r = migrate_find_bridges(c, p);
	store_read_end(c);
	if (r < 0)
		return -1;
	if (p->vm.op_id[0])
		return err_set(ERR_CONFLICT, "vm '%s' is %s: operation %s is in "
		    "progress", p->vm.name, p->vm.state, p->vm.op_id);
	if (strcmp(p->vm.observed, "unknown") == 0)
		return err_set(ERR_CONFLICT, "vm '%s' is unknown: its host "
		    "cannot be reached, so it cannot be moved", p->vm.name);
	p->cold = strcmp(p->vm.observed, "stopped") == 0 ||
	    strcmp(p->vm.observed, "crashed") == 0;
	if (p->cold && rq->live_asked && rq->live)
		return err_set_field(ERR_CONFLICT, "live", "vm '%s' is %s: a "
		    "live migration needs it running (send live:false, or "
		    "leave it out, for a cold migration)", p->vm.name,
		    p->vm.observed);
	return 0;
}

/*
 * Shared or copied storage between src and dst, as found by a marker
 * file (fleet_shared); 0, or -1 with the reason (field copy_storage).
 * *copy is the answer, why what was found.
 */
static int
migrate_storage(struct app *app, const struct migrate_request *rq,
    const struct migrate_plan *p, const struct host_rec *dst, bool *copy,
    char *why, size_t why_len)
{
	struct err e;
	bool shared;

	if (fleet_shared(app->fleet, p->src.id, dst->id, &shared, why,
	    why_len) < 0) {
		err_save(&e);
		return err_set_field(e.code, "copy_storage", "cannot tell "
		    "whether hosts '%s' and '%s' share storage: %s",
		    p->src.name, dst->name, e.msg);
	}
	if (rq->copy_storage == 1 && shared)
		return err_set_field(ERR_CONFLICT, "copy_storage", "%s: "
		    "copying the disk would overwrite it", why);
	if (rq->copy_storage == 0 && !shared)
		return err_set_field(ERR_CONFLICT, "copy_storage", "%s: the "
		    "disk must be copied (copy_storage true or \"auto\")",
		    why);
	*copy = !shared;
	if (*copy && !p->cold && p->nsnaps > 0)
		return err_set_field(ERR_CONFLICT, "copy_storage", "vm '%s' has "
		    "%d snapshot(s): a live copy of its disk carries only the "
		    "current state, not the snapshots inside it; move it over "
		    "shared storage, or stopped (a cold migration copies the "
		    "whole image)", p->vm.name, p->nsnaps);
	return 0;
}

static void
migrate_place_req(const struct migrate_request *rq,
    const struct migrate_plan *p, struct place_req *pr)
{
	memset(pr, 0, sizeof(*pr));
	pr->sr.vcpus = rq->vcpus ? rq->vcpus : p->vm.vcpus;
	pr->sr.memory_mib = rq->memory_mib ? rq->memory_mib : p->vm.memory_mib;
	/* a VM that asked for a domain type keeps it where it goes */
	if (strcmp(p->vm.domain_type, "kvm") == 0)
		pr->sr.domain_type = SCHED_DT_KVM;
	else if (strcmp(p->vm.domain_type, "qemu") == 0)
		pr->sr.domain_type = SCHED_DT_QEMU;
	pr->sr.disk_gib = p->vm.disk_gib;
	pr->sr.host = rq->host;
	pr->sr.force = rq->force;
	for (int i = 0; i < p->nbridges; i++)
		pr->bridges[i] = p->bridges[i];
	pr->nbridges = p->nbridges;
}

int
migrate_request(struct app *app, const struct migrate_request *rq,
    struct op_rec *op)
{
	struct migrate_plan p;
	struct place_req pr;
	struct host_rec dst;
	struct vm_rec sized;
	json_t *params;
	char *text, why[1200];
	bool copy;
	uuid_t u;
	int r;

	if (migrate_load(app, rq, &p) < 0)
		return -1;
	memset(op, 0, sizeof(*op));
	uuid_generate_random(u);
	uuid_unparse_lower(u, op->id);
	op->kind = rq->resize ? OP_RESIZE : OP_MIGRATE;
	/* the destination holds the VM at the size it arrives to have */
	sized = p.vm;
	sized.vcpus = rq->vcpus ? rq->vcpus : p.vm.vcpus;
	sized.memory_mib = rq->memory_mib ? rq->memory_mib : p.vm.memory_mib;
	op->vm_id = p.vm.id;
	snprintf(op->vm_uuid, sizeof(op->vm_uuid), "%s", p.vm.uuid);
	snprintf(op->vm_name, sizeof(op->vm_name), "%s", p.vm.name);
	if (rq->idem_key)
		snprintf(op->idem_key, sizeof(op->idem_key), "%s", rq->idem_key);
	if (rq->parent_id)
		snprintf(op->parent_id, sizeof(op->parent_id), "%s",
		    rq->parent_id);
	/* the storage mode needs the destination: pick it first (dry), then
	 * record with it */
	migrate_place_req(rq, &p, &pr);
	if (place_move(app, &sized, &pr, NULL, &dst, NULL) < 0)
		return -1;
	if (migrate_storage(app, rq, &p, &dst, &copy, why, sizeof(why)) < 0)
		return -1;
	params = json_pack("{s:s, s:b, s:s, s:I, s:I, s:b, s:b, s:s, s:I}",
	    "mode", p.cold ? "cold" : rq->live ? "live" : "offline",
	    "copy_storage", copy, "from", p.src.name,
	    "max_downtime_ms", (json_int_t)rq->max_downtime_ms,
	    "bandwidth_mib_s", (json_int_t)rq->bandwidth_mib_s,
	    "auto_converge", rq->auto_converge, "post_copy", rq->post_copy,
	    "state", p.vm.observed, "from_id", (json_int_t)p.src.id);
	if (params && rq->resize)
		json_object_update(params, rq->resize);
	text = params ? json_dumps(params, JSON_COMPACT) : NULL;
	json_decref(params);
	if (text == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	snprintf(op->params, sizeof(op->params), "%s", text);
	free(text);
	/* now for real, on the host just chosen (the view may have moved
	 * meanwhile: place_move checks it again under its lock) */
	pr.sr.host = dst.name;
	pr.sr.force = rq->force;
	r = place_move(app, &sized, &pr, op, &dst, NULL);
	if (r < 0)
		return -1;
	log_info("migrate: vm '%s' from '%s' to '%s' (%s, %s storage), "
	    "operation %s", p.vm.name, p.src.name, dst.name,
	    p.cold ? "cold" : rq->live ? "live" : "offline",
	    copy ? "copied" : "shared", op->id);
	if (!rq->no_submit)
		ops_submit(app->ops, op->id);
	return 0;
}

/* One check into the array. */
static void
migrate_check_add(json_t *arr, const char *name, bool pass,
    const char *reason)
{
	json_array_append_new(arr, json_pack("{s:s, s:b, s:s}", "name", name,
	    "pass", pass, "reason", reason));
}

int
migrate_preflight(struct app *app, const struct migrate_request *rq,
    json_t **out)
{
	struct migrate_checks mc;
	struct migrate_plan p;
	struct place_req pr;
	struct place_out po;
	struct host_rec dst;
	struct backend_conn *sbc, *dbc;
	json_t *checks = json_array(), *res;
	char why[1400], found[1200], dpool[FLEET_POOL_MAX];
	bool copy = false, ok = true, have_dst = false;
	int i;

	*out = NULL;
	if (migrate_load(app, rq, &p) < 0) {
		/* a VM that is unknown (404) is an error, not a check */
		if (err_last()->code == ERR_NOT_FOUND) {
			json_decref(checks);
			return -1;
		}
		migrate_check_add(checks, "state", false, err_last()->msg);
		ok = false;
	} else {
		snprintf(why, sizeof(why), "vm '%s' is %s: a %s migration",
		    p.vm.name, p.vm.observed, p.cold ? "cold" : rq->live ?
		    "live" : "offline");
		migrate_check_add(checks, "state", true, why);
	}
	if (p.vm.id) {
		migrate_place_req(rq, &p, &pr);
		if (place_move(app, &p.vm, &pr, NULL, &dst, &po) < 0) {
			migrate_check_add(checks, "capacity", false,
			    err_last()->msg);
			ok = false;
		} else {
			have_dst = true;
			snprintf(why, sizeof(why), "host '%s' can take it: "
			    "%g vCPUs, %lld MiB and %lld GiB free before it",
			    dst.name, po.hosts[po.pick].free.vcpus,
			    (long long)po.hosts[po.pick].free.memory_mib,
			    (long long)po.hosts[po.pick].free.disk_gib);
			migrate_check_add(checks, "capacity", true, why);
		}
		place_out_free(&po);
	}
	if (have_dst) {
		if (migrate_storage(app, rq, &p, &dst, &copy, found,
		    sizeof(found)) < 0) {
			migrate_check_add(checks, "storage_mode", false,
			    err_last()->msg);
			ok = false;
		} else {
			snprintf(why, sizeof(why), !copy ? "%s: the disk stays "
			    "where it is" : p.linked[0] ? "%s: the disk will be "
			    "copied to '%s', a linked clone over that host's "
			    "own copy of image '%s' (made first if it has none)"
			    : "%s: the disk will be copied to '%s'", found,
			    dst.name, p.linked);
			migrate_check_add(checks, "storage_mode", true, why);
		}
		sbc = fleet_conn(app->fleet, p.src.id);
		dbc = sbc ? fleet_conn(app->fleet, dst.id) : NULL;
		memset(&mc, 0, sizeof(mc));
		if (sbc == NULL || dbc == NULL || fleet_pool(app->fleet,
		    dst.id, dpool, sizeof(dpool)) < 0) {
			migrate_check_add(checks, "hosts", false,
			    err_last()->msg);
			ok = false;
		} else if (backend_migrate_check(sbc, p.vm.uuid, dbc, dpool,
		    copy, &mc) < 0) {
			migrate_check_add(checks, "hypervisor", false,
			    err_last()->msg);
			ok = false;
		}
		for (i = 0; i < mc.n; i++) {
			migrate_check_add(checks, mc.c[i].name, mc.c[i].pass,
			    mc.c[i].reason);
			ok = ok && mc.c[i].pass;
		}
	}
	res = json_pack("{s:b, s:o, s:o, s:o, s:o}", "ok", ok,
	    "vm", json_string(p.vm.name),
	    "from", p.src.name[0] ? json_string(p.src.name) : json_null(),
	    "host", have_dst ? json_string(dst.name) : json_null(),
	    "checks", checks);
	if (res && have_dst) {
		json_object_set_new(res, "mode", json_string(p.cold ? "cold" :
		    rq->live ? "live" : "offline"));
		json_object_set_new(res, "copy_storage", json_boolean(copy));
	}
	*out = res;
	err_clear();
	return res ? 0 : err_set(ERR_INTERNAL, "out of memory");
}
