/*
 * nics.c - recording NIC requests on a VM: plug one in (its row, with
 * its MAC and address handed out, is written with the operation, so
 * the address is known at once) or unplug one.  ops_nic.c does the
 * work; a failed add removes the row, a remove removes it once done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uuid/uuid.h>

#include "../common/error.h"
#include "app.h"

struct nics_tx {
	struct app *app;
	const struct nic_request *rq;
	struct nic_rec nic;
	struct op_rec op;
};

static int
nics_tx(struct store_conn *c, void *arg)
{
	struct nics_tx *t = arg;
	struct vm_rec v;

	if (vm_idle(c, t->rq->vm, &v) < 0)
		return -1;
	if (t->rq->kind == OP_NIC_ADD) {
		t->nic = t->rq->nic;        /* a re-run starts from the ask */
		if (store_nic_insert(c, v.id, &t->nic, t->app->cfg.mac_prefix,
		    NULL) < 0)
			return -1;
	} else if (store_nic_get(c, v.id, t->rq->mac, &t->nic) < 0) {
		return -1;
	}
	snprintf(t->op.params, sizeof(t->op.params), "{\"mac\":\"%s\","
	    "\"dev\":\"%s\"}", t->nic.mac, t->nic.dev);
	t->op.kind = t->rq->kind;
	t->op.vm_id = v.id;
	snprintf(t->op.vm_uuid, sizeof(t->op.vm_uuid), "%s", v.uuid);
	snprintf(t->op.vm_name, sizeof(t->op.vm_name), "%s", v.name);
	return store_op_insert(c, &t->op);
}

int
nics_request(struct app *app, const struct nic_request *rq,
    struct op_rec *op, struct nic_rec *nic)
{
	struct nics_tx t;
	uuid_t u;

	memset(&t, 0, sizeof(t));
	t.app = app;
	t.rq = rq;
	uuid_generate_random(u);
	uuid_unparse_lower(u, t.op.id);
	if (rq->idem_key)
		snprintf(t.op.idem_key, sizeof(t.op.idem_key), "%s",
		    rq->idem_key);
	if (store_tx(app->store, nics_tx, &t) < 0)
		return -1;
	ops_submit(app->ops, t.op.id);
	*op = t.op;
	if (nic)
		*nic = t.nic;
	return 0;
}
