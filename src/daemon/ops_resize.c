/*
 * ops_resize.c - the resize operation's runner: the VM's size (already in
 * its row, and claimed on its host, since the request) made so in its
 * domain: in the definition always, in the running guest too when the
 * resize is live, and the guest's agent asked to bring new vCPUs online.
 * A failed resize puts the row back and gives the room back.  Setting a
 * size again is harmless, so recovery runs it again.
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

int
ops_resize_run(struct op_ctx *x)
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

/* The closing transaction: a failed resize leaves the size it had. */
int
ops_resize_close(struct store_conn *c, struct op_ctx *x, bool ok)
{
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
	if (ok || x->vm.host_id == 0)
		return;
	view_size(x->app->view, x->vm.host_id,
	    (int)(ops_resize_param(x, "from_vcpus") -
	    ops_resize_param(x, "vcpus")),
	    ops_resize_param(x, "from_memory_mib") -
	    ops_resize_param(x, "memory_mib"));
}
