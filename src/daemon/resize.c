/*
 * resize.c - recording a resize: a VM's vCPUs and memory, changed in the
 * running guest (vCPU hotplug up to max_vcpus, the balloon up to
 * max_memory_mib) or in its definition for the next boot.  The request
 * decides which, checks the new size against the VM's ceilings, and
 * places the growth like a create: its host is judged by the scheduler's
 * filters with the VM's present claim handed back, and the new size is
 * written to the VM's row and claimed in the view in one transaction
 * while the view is held, so two requests never take the same room.
 * When its host cannot take it and the request allows a move, the VM is
 * moved (live) to a host that can and resized there, as one operation:
 * migrate_request() records it, with the destination claimed at the new
 * size.  The work is ops_resize.c's, which gives the room back if it
 * fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uuid/uuid.h>

#include "../common/error.h"
#include "app.h"
#include "place.h"

struct resize_tx {
	struct app *app;
	const struct resize_request *rq;
	struct place_out *out;
	struct op_rec op;
	struct vm_rec vm;
	int vcpus;
	int64_t memory_mib;
	bool live;
};

/* Live or next boot, from the ask and the VM; 0 or -1 (field apply). */
static int
resize_mode(struct resize_tx *t)
{
	const struct vm_rec *v = &t->vm;
	bool runs = strcmp(v->observed, "running") == 0 ||
	    strcmp(v->observed, "paused") == 0;
	const char *why = NULL;

	if (!runs)
		why = "it is not running";
	else if (t->vcpus < v->vcpus)
		why = "vCPUs are taken away only at a boot (a guest must give "
		    "them up itself)";
	else if (t->memory_mib != v->memory_mib && v->max_memory_mib == 0)
		why = "it was made without a balloon, so its memory changes "
		    "only at a boot";
	t->live = why == NULL && t->rq->apply != RESIZE_NEXT_BOOT;
	if (why && t->rq->apply == RESIZE_LIVE)
		return err_set_field(ERR_CONFLICT, "apply", "vm '%s' cannot "
		    "be resized live: %s (send apply \"next_boot\")", v->name,
		    why);
	return 0;
}

/* The new size against the VM's ceilings; 0 or -1 naming the field. */
static int
resize_check(struct resize_tx *t)
{
	const struct vm_rec *v = &t->vm;
	int maxv = v->max_vcpus > v->vcpus ? v->max_vcpus : v->vcpus;
	int64_t maxm = v->max_memory_mib > v->memory_mib ? v->max_memory_mib :
	    v->memory_mib;

	t->vcpus = t->rq->vcpus ? t->rq->vcpus : v->vcpus;
	t->memory_mib = t->rq->memory_mib ? t->rq->memory_mib : v->memory_mib;
	if (t->vcpus > maxv)
		return err_set_field(ERR_INVALID, "vcpus", "vm '%s' may have "
		    "at most %d vCPUs (its max_vcpus, fixed when it was "
		    "made), not %d", v->name, maxv, t->vcpus);
	if (t->memory_mib > maxm)
		return err_set_field(ERR_INVALID, "memory_mib", "vm '%s' may "
		    "have at most %lld MiB (its max_memory_mib, fixed when "
		    "it was made), not %lld", v->name, (long long)maxm,
		    (long long)t->memory_mib);
	if (t->vcpus == v->vcpus && t->memory_mib == v->memory_mib)
		return err_set_field(ERR_INVALID, t->rq->vcpus ? "vcpus" :
		    "memory_mib", "vm '%s' already has %d vCPUs and %lld MiB",
		    v->name, v->vcpus, (long long)v->memory_mib);
	return resize_mode(t);
}

/* Can its host take the new size?  With the view held; verdict kept. */
static int
resize_room_locked(struct resize_tx *t)
{
	struct sched_request sr;
	struct sched_verdict v;
	const struct sched_host *hosts;
	size_t n;
	int i, fits;

	if (t->vcpus <= t->vm.vcpus && t->memory_mib <= t->vm.memory_mib)
		return 0;          /* nothing grows: nothing to find */
	hosts = view_hosts(t->app->view, &n);
	if ((i = view_host_index(t->app->view, t->vm.host_id)) < 0)
		return err_set(ERR_NOT_FOUND, "host '%s' of vm '%s' is not "
		    "known", t->vm.host, t->vm.name);
	memset(&sr, 0, sizeof(sr));
	sr.vcpus = t->vcpus;
	sr.memory_mib = t->memory_mib;
	sr.host = hosts[i].name;
	fits = sched_judge_resize(&hosts[i], &sr, t->vm.vcpus,
	    t->vm.memory_mib, &v);
	if (t->out) {
		t->out->pick = fits == 0 ? 0 : -1;
		t->out->n = 1;
		if ((t->out->hosts = calloc(1, sizeof(*t->out->hosts))) ==
		    NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		snprintf(t->out->hosts[0].name, sizeof(t->out->hosts[0].name),
		    "%s", hosts[i].name);
		sched_host_free(&hosts[i], &t->out->hosts[0].free);
		t->out->hosts[0].v = v;
	}
	if (fits == 0)
		return 0;
	return err_set(ERR_NO_CAPACITY, "host '%s' cannot take vm '%s' at %d "
	    "vCPUs and %lld MiB: %s: %s", hosts[i].name, t->vm.name, t->vcpus,
	    (long long)t->memory_mib, v.filter ? v.filter : "?", v.why);
}

static int
resize_tx(struct store_conn *c, void *arg)
{
	struct resize_tx *t = arg;
	json_t *params;
	char *text;

	place_out_free(t->out);
	if (vm_idle(c, t->rq->vm, &t->vm) < 0 || resize_check(t) < 0 ||
	    resize_room_locked(t) < 0)
		return -1;
	params = json_pack("{s:s, s:i, s:I, s:i, s:I}", "apply", t->live ?
	    "live" : "next_boot", "vcpus", t->vcpus, "memory_mib",
	    (json_int_t)t->memory_mib, "from_vcpus", t->vm.vcpus,
	    "from_memory_mib", (json_int_t)t->vm.memory_mib);
	text = params ? json_dumps(params, JSON_COMPACT) : NULL;
	json_decref(params);
	if (text == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	snprintf(t->op.params, sizeof(t->op.params), "%s", text);
	free(text);
	t->op.kind = OP_RESIZE;
	t->op.vm_id = t->vm.id;
	snprintf(t->op.vm_uuid, sizeof(t->op.vm_uuid), "%s", t->vm.uuid);
	snprintf(t->op.vm_name, sizeof(t->op.vm_name), "%s", t->vm.name);
	if (store_vm_set_size(c, t->vm.id, t->vcpus, t->memory_mib) < 0)
		return -1;
	return store_op_insert(c, &t->op);
}

/*
 * Its host cannot take it: a live migration (cold for a stopped VM) to
 * one that can, then the resize, as one operation of kind resize
 * (migrate_request records it, the destination claimed at the new size;
 * the row changes when it ends, as a migration's does).
 */
static int
resize_move(struct app *app, struct resize_tx *t, struct op_rec *op)
{
	struct migrate_request mr;
	json_t *also;
	int r;

	also = json_pack("{s:s, s:i, s:I, s:i, s:I, s:b}", "apply", t->live ?
	    "live" : "next_boot", "vcpus", t->vcpus, "memory_mib",
	    (json_int_t)t->memory_mib, "from_vcpus", t->vm.vcpus,
	    "from_memory_mib", (json_int_t)t->vm.memory_mib, "move", 1);
	if (also == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	memset(&mr, 0, sizeof(mr));
	mr.vm = t->vm.uuid;
	mr.live = true;
	mr.copy_storage = -1;
	mr.idem_key = t->rq->idem_key;
	mr.vcpus = t->vcpus;
	mr.memory_mib = t->memory_mib;
	mr.resize = also;
	r = migrate_request(app, &mr, op);
	json_decref(also);
	return r;
}

int
resize_request(struct app *app, const struct resize_request *rq,
    struct op_rec *op, struct place_out *out)
{
	struct resize_tx t;
	uuid_t u;
	int r;

	memset(&t, 0, sizeof(t));
	if (out)
		memset(out, 0, sizeof(*out));
	t.app = app;
	t.rq = rq;
	t.out = out;
	uuid_generate_random(u);
	uuid_unparse_lower(u, t.op.id);
	if (rq->idem_key)
		snprintf(t.op.idem_key, sizeof(t.op.idem_key), "%s",
		    rq->idem_key);
	/* checked and claimed with the view held still */
	view_lock(app->view);
	r = store_tx(app->store, resize_tx, &t);
	if (r == 0)
		view_size_locked(app->view, t.vm.host_id, t.vcpus - t.vm.vcpus,
		    t.memory_mib - t.vm.memory_mib);
	view_unlock(app->view);
	if (r < 0 && err_last()->code == ERR_NO_CAPACITY && rq->allow_move) {
		struct err e;

		err_save(&e);
		if (resize_move(app, &t, op) == 0) {
			place_out_free(out);
			return 0;
		}
		/* say both: why not here, and why nowhere else */
		if (err_last()->code == ERR_NO_CAPACITY) {
			struct err m;

			err_save(&m);
			err_set(ERR_NO_CAPACITY, "%s; and it cannot move: %s",
			    e.msg, m.msg);
		}
		return -1;
	}
	if (r < 0)
		return -1;
	ops_submit(app->ops, t.op.id);
	*op = t.op;
	return 0;
}
