/*
 * guest.c - what a VM's guest agent says of the guest, asked on demand
 * (GET /v1/vms/{vm}/guest): the VM's host is asked through the backend,
 * which bounds the wait (a guest without an agent answers "no agent" at
 * once, a hung agent after a few seconds).  Nothing is stored.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "app.h"

int
guest_get(struct app *app, const char *ref, struct vm_rec *v,
    struct guest_info *out)
{
	struct store_conn *c = store_read_begin(app->store);
	struct backend_conn *bc;
	int r = store_vm_get(c, ref, v);

	store_read_end(c);
	if (r < 0)
		return -1;
	if (strcmp(v->observed, "running") != 0)
		return err_set(ERR_CONFLICT, "vm '%s' is %s: its guest agent "
		    "answers only while it runs", v->name, v->observed);
	if ((bc = fleet_conn(app->fleet, v->host_id)) == NULL)
		return -1;
	return backend_guest_info(bc, v->uuid, out);
}
