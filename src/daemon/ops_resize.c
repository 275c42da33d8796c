/*
 * ops_resize.c - the resize operation's runner: the VM's size (already in
 * its row, and claimed on its host, since the request) made so in its
 * domain: in the definition always, in the running guest too when the
 * resize is live, and the guest's agent asked to bring new vCPUs online.
 * A failed resize puts the row back and gives the room back.  Setting a
 * size again is harmless, so recovery runs it again.
 *
 * A resize that moves (params "move", recorded by migrate_request with
 * the migration's parameters) is first a migration, ops_migrate.c's own
 * run, recovery, closing and claims, and then the resize on the
 * destination; its row takes the new size only when both are done (a
 * move whose resize failed leaves the VM moved, at its old size).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "../common/error.h"
#include "ops_int.h"

/* how long the guest may take to see hotplugged vCPUs before its agent
 * can bring them online (tries of OPS_RESIZE_TRY_MS) */
#define OPS_RESIZE_TRIES 15
#define OPS_RESIZE_TRY_MS 1000

static int64_t
ops_resize_param(struct op_ctx *x, const char *k)
{
	return json_integer_value(json_object_get(x->params, k));
}

static bool
ops_resize_live(struct op_ctx *x)
{
	const char *a = json_string_value(json_object_get(x->params, "apply"));

	return a && strcmp(a, "live") == 0;
}

/* New vCPUs online in the guest, through its agent; a note, not a fault. */
static void
ops_resize_online(struct op_ctx *x, int vcpus)
{
	json_t *note;
	int i;

	ops_step(x, "bringing the new vCPUs online in the guest");
	for (i = 0; i < OPS_RESIZE_TRIES; i++) {
		if (backend_guest_vcpus(x->bc, x->vm.uuid, vcpus) == 0)
			return;
		if (ops_cancelled(x))
			break;
		ops_sleep_ms(OPS_RESIZE_TRY_MS);
	}
	/* a guest that onlines them itself (udev) needs no agent */
	note = json_pack("{s:s, s:s}", "step", "resized; the guest agent did "
	    "not bring the vCPUs online", "agent", err_last()->msg);
	err_clear();
	if (note)
		ops_progress(x, note);
	json_decref(note);
}

static bool
ops_resize_moves(struct op_ctx *x)
{
	return json_is_true(json_object_get(x->params, "move"));
}

/* The resize itself, on the host the VM is on (x->bc). */
static int
ops_resize_set(struct op_ctx *x)
{
	int vcpus = (int)ops_resize_param(x, "vcpus");
	int64_t mem = ops_resize_param(x, "memory_mib");
	bool live = ops_resize_live(x);

	ops_step(x, live ? "resizing the running guest" : "resizing its "
	    "definition for the next boot");
	if (backend_set_size(x->bc, x->vm.uuid, vcpus, mem, live) < 0)
		return -1;
	if (live && vcpus > ops_resize_param(x, "from_vcpus"))
		ops_resize_online(x, vcpus);
	return 0;
}

/* A move's two steps, as its progress shows them. */
static void
ops_resize_steps(struct op_ctx *x, const char *move, const char *resize)
{
	json_t *p = json_pack("{s:[{s:s, s:s, s:s}, {s:s, s:s}]}", "steps",
	    "step", "move", "to", json_string_value(json_object_get(x->params,
	    "to")), "status", move, "step", "resize", "status", resize);

	if (p)
		ops_progress(x, p);
	json_decref(p);
}

/* A move done (run or recovered): the resize where it went. */
static int
ops_resize_moved(struct op_ctx *x, int r)
{
	if (r < 0) {
		ops_resize_steps(x, "failed", "not started");
		return -1;
	}
	if (ops_resize_set(x) < 0) {
		struct err e;

		err_save(&e);
		ops_resize_steps(x, "done", "failed");
		return err_set(e.code, "vm '%s' moved to '%s', but was not "
		    "resized there: %s", x->vm.name,
		    json_string_value(json_object_get(x->params, "to")), e.msg);
	}
	ops_resize_steps(x, "done", "done");
	return 0;
}

int
ops_resize_run(struct op_ctx *x)
{
	if (!ops_resize_moves(x))
		return ops_resize_set(x);
	ops_step(x, "moving it to a host with room for its new size");
	return ops_resize_moved(x, ops_migrate_run(x));
}

int
ops_resize_recover(struct op_ctx *x)
{
	if (!ops_resize_moves(x))
		return ops_resize_set(x);
	return ops_resize_moved(x, ops_migrate_recover(x));
}

/* The closing transaction: a failed resize leaves the size it had. */
int
ops_resize_close(struct store_conn *c, struct op_ctx *x, bool ok)
{
	if (ops_resize_moves(x)) {
		/* the row moves if the VM did, and grows if it grew */
		if (ops_migrate_close(c, x, x->moved_to != 0) < 0)
			return -1;
		return ok ? store_vm_set_size(c, x->vm.id,
		    (int)ops_resize_param(x, "vcpus"),
		    ops_resize_param(x, "memory_mib")) : 0;
	}
	if (ok || store_vm_set_size(c, x->vm.id,
	    (int)ops_resize_param(x, "from_vcpus"),
	    ops_resize_param(x, "from_memory_mib")) == 0)
		return 0;
	/* the VM may be gone meanwhile: nothing to undo */
	if (err_last()->code != ERR_NOT_FOUND)
		return -1;
	err_clear();
	return 0;
}

/* After it: a failed resize's room goes back to its host. */
void
ops_resize_after(struct op_ctx *x, bool ok)
{
	int64_t host = x->vm.host_id;

	if (ops_resize_moves(x)) {
		/* the migration's claims settle at the VM's old size ... */
		ops_migrate_after(x, x->moved_to != 0);
		/* ... and the destination held it at the new one */
		host = ops_resize_param(x, "to_id");
	}
	if (ok || host == 0 || x->vm.id == 0)
		return;
	view_size(x->app->view, host,
	    (int)(ops_resize_param(x, "from_vcpus") -
	    ops_resize_param(x, "vcpus")),
	    ops_resize_param(x, "from_memory_mib") -
	    ops_resize_param(x, "memory_mib"));
}

/* After a restart: a move's claim on its destination, at the new size. */
void
ops_resize_restart(struct app *app, const struct op_rec *op)
{
	json_t *p = json_loads(op->params, 0, NULL);
	int64_t to = json_integer_value(json_object_get(p, "to_id"));

	if (json_is_true(json_object_get(p, "move")) && to) {
		ops_migrate_restart(app, op);
		view_size(app->view, to,
		    (int)(json_integer_value(json_object_get(p, "vcpus")) -
		    json_integer_value(json_object_get(p, "from_vcpus"))),
		    json_integer_value(json_object_get(p, "memory_mib")) -
		    json_integer_value(json_object_get(p, "from_memory_mib")));
	}
	json_decref(p);
}
