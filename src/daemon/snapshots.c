/*
 * snapshots.c - recording snapshot requests: take, revert, delete.  Each
 * checks the VM and the snapshot and writes the operation (and, for a
 * take, the snapshot's row) in one transaction, then hands the operation
 * to the engine (ops_snap.c does the work).  The API and the snapshot
 * schedule (snapsched.c) both come through here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uuid/uuid.h>

#include "../common/error.h"
#include "app.h"

struct snapshots_tx {
	const struct snap_request *rq;
	enum op_kind kind;
	struct op_rec op;
	char vm_name[NAME_MAX_LEN];
};

int
vm_idle(struct store_conn *c, const char *ref, struct vm_rec *v)
{
	if (store_vm_get(c, ref, v) < 0)
		return -1;
	if (v->op_id[0])
		return err_set(ERR_CONFLICT, "vm '%s' is %s: operation %s is in "
		    "progress", v->name, v->state, v->op_id);
	if (strcmp(v->observed, "unknown") == 0)
		return err_set(ERR_CONFLICT, "vm '%s' is unknown: its host "
		    "cannot be reached now", v->name);
	return 0;
}

static int
snapshots_tx(struct store_conn *c, void *arg)
{
	struct snapshots_tx *t = arg;
	const struct snap_request *rq = t->rq;
	struct snap_rec s;
	struct vm_rec v;
	json_t *params;
	char *text;

	if (vm_idle(c, rq->vm, &v) < 0)
		return -1;
	snprintf(t->vm_name, sizeof(t->vm_name), "%s", v.name);
	memset(&s, 0, sizeof(s));
	if (t->kind == OP_SNAPSHOT_CREATE) {
		bool live = strcmp(v.observed, "running") == 0 ||
		    strcmp(v.observed, "paused") == 0;

		if (rq->memory && !live)
			return err_set_field(ERR_CONFLICT, "memory", "vm '%s' is "
			    "%s: a snapshot with memory needs it running or "
			    "paused", v.name, v.observed);
		s.vm_id = v.id;
		snprintf(s.name, sizeof(s.name), "%s", rq->name);
		snprintf(s.description, sizeof(s.description), "%s",
		    rq->description ? rq->description : "");
		s.memory = rq->memory;
		snprintf(s.vm_state, sizeof(s.vm_state), "%s", v.observed);
		s.scheduled = rq->scheduled;
		if (store_snap_insert(c, &s, v.name) < 0)
			return -1;
	} else {
		if (store_snap_get(c, v.id, rq->name, &s) < 0)
			return err_set(ERR_NOT_FOUND, "vm '%s' has no snapshot "
			    "named '%s'", v.name, rq->name);
		if (strcmp(s.status, "ready") != 0)
			return err_set(ERR_CONFLICT, "snapshot '%s' of vm '%s' "
			    "is still being taken", s.name, v.name);
	}
	t->op.kind = t->kind;
	t->op.vm_id = v.id;
	snprintf(t->op.vm_uuid, sizeof(t->op.vm_uuid), "%s", v.uuid);
	snprintf(t->op.vm_name, sizeof(t->op.vm_name), "%s", v.name);
	params = json_pack("{s:s, s:b}", "name", s.name, "memory", s.memory);
	text = params ? json_dumps(params, JSON_COMPACT) : NULL;
	json_decref(params);
	if (text == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	snprintf(t->op.params, sizeof(t->op.params), "%s", text);
	free(text);
	if (store_op_insert(c, &t->op) < 0)
		return -1;
	if (t->kind == OP_SNAPSHOT_REVERT)
		/* what the VM will be: as taken, or stopped without memory */
		return store_vm_set_desired(c, v.id, s.memory ? s.vm_state :
		    "stopped");
	return 0;
}

int
snapshots_request(struct app *app, enum op_kind kind,
    const struct snap_request *rq, struct op_rec *op)
{
	struct snapshots_tx t;
	uuid_t u;

	memset(&t, 0, sizeof(t));
	t.rq = rq;
	t.kind = kind;
	uuid_generate_random(u);
	uuid_unparse_lower(u, t.op.id);
	if (rq->idem_key)
		snprintf(t.op.idem_key, sizeof(t.op.idem_key), "%s",
		    rq->idem_key);
	if (store_tx(app->store, snapshots_tx, &t) < 0)
		return -1;
	ops_submit(app->ops, t.op.id);
	*op = t.op;
	return 0;
}
