/*
 * evacuate.c - a lost host: fenced, so that none of its VMs ever runs
 * twice, and its VMs made again on other hosts (ops_evacuate.c runs it).
 *
 * Fencing first.  A host hangar still reaches is not lost: evacuating it
 * is refused (drain it, or migrate its VMs).  One that does not answer
 * may still run its guests (a cut network); hangar fences it by its fence
 * action (fence.c: a program such as an IPMI power-off, which must exit
 * 0), or on the operator's word ("confirm_host_down": the host is powered
 * off, or its guests are dead) when it has none or it fails.  A fenced host (hosts.fenced_at) takes no placement
 * (the scheduler sees it as fenced), and when it answers again the
 * domains there of VMs that now live elsewhere are destroyed and
 * undefined (evacuate_sweep, called by the fleet before the host counts
 * as reachable) - their volumes are left, as they may be the very files
 * the VM now runs on when the storage is shared.  It stays fenced until
 * an operator re-admits it (evacuate_unfence), which is allowed only once
 * it answers, i.e. after that sweep.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uuid/uuid.h>

#include "../common/error.h"
#include "../common/log.h"
#include "app.h"

struct evac_busy {
	int64_t host_id;
	const char *op_id;         /* the evacuation found, or NULL */
	char id[UUID_STR_LEN];
};

static int
evac_busy_one(const struct op_rec *o, void *arg)
{
	struct evac_busy *b = arg;

	if (o->kind != OP_EVACUATE || o->host_id != b->host_id)
		return 0;
	snprintf(b->id, sizeof(b->id), "%s", o->id);
	b->op_id = b->id;
	return 1;
}

/* ERR_CONFLICT when host h is being evacuated. */
static int
evac_not_busy(struct app *app, const struct host_rec *h)
{
	struct store_conn *c = store_read_begin(app->store);
	struct evac_busy b = { h->id, NULL, "" };
	int r = store_op_each(c, 0, "running", 1000, evac_busy_one, &b);

	if (r == 0 && b.op_id == NULL)
		r = store_op_each(c, 0, "queued", 1000, evac_busy_one, &b);
	store_read_end(c);
	if (r < 0)
		return -1;
	if (b.op_id)
		return err_set(ERR_CONFLICT, "host '%s' is being evacuated "
		    "(operation %s)", h->name, b.op_id);
	return 0;
}

static int
evac_host(struct app *app, const char *name, struct host_rec *h)
{
	struct store_conn *c = store_read_begin(app->store);
	int r = store_host_get(c, name, h);

	store_read_end(c);
	return r;
}

struct evac_tx {
	struct host_rec *h;
	struct op_rec *op;         /* NULL: unfence */
	json_t *how;               /* the fencing event's data */
};

static int
evac_tx(struct store_conn *c, void *arg)
{
	struct evac_tx *t = arg;

	if (store_host_set_fenced(c, t->h->id, t->op != NULL, t->how) < 0 ||
	    (t->op && store_op_insert(c, t->op) < 0))
		return -1;
	return store_host_get_id(c, t->h->id, t->h);
}

/* The transaction with the view held, and the host shown to it. */
static int
evac_commit(struct app *app, struct evac_tx *t)
{
	int r;

	view_lock(app->view);
	r = store_tx(app->store, evac_tx, t);
	if (r == 0)
		r = view_host_put_locked(app->view, t->h);
	view_unlock(app->view);
	return r;
}

/*
 * Host h does not answer: fence it by its fence action, else (or when
 * that fails) on the operator's word; who did into *by.
 */
static int
evac_fence(const struct host_rec *h, const struct evacuate_request *rq,
    const char **by)
{
	struct err e;

	*by = "operator";
	if (h->fence[0] == '\0') {
		if (rq->confirm_host_down)
			return 0;
		return err_set_field(ERR_INVALID, "confirm_host_down", "host "
		    "'%s' does not answer, but hangar cannot tell whether its "
		    "VMs still run, and it has no fence action; make sure it "
		    "is down (powered off, or its guests killed) and say so "
		    "with \"confirm_host_down\": true, so that no VM runs "
		    "twice", h->name);
	}
	if (fence_run(h->name, h->fence) == 0) {
		*by = "fence action";
		return 0;
	}
	if (rq->confirm_host_down) {
		log_warnx("evacuate: %s; fenced on the operator's word",
		    err_last()->msg);
		err_clear();
		return 0;
	}
	err_save(&e);
	return err_set_field(ERR_CONFLICT, "confirm_host_down", "%s; nothing "
	    "was evacuated: make sure host '%s' is down and say so with "
	    "\"confirm_host_down\": true", e.msg, h->name);
}

int
evacuate_request(struct app *app, const struct evacuate_request *rq,
    struct op_rec *op)
{
	struct host_rec h;
	struct evac_tx t = { &h, op, NULL };
	const char *by;
	uuid_t u;
	int r, vms;

	if (evac_host(app, rq->host, &h) < 0 || evac_not_busy(app, &h) < 0)
		return -1;
	if ((r = fleet_answers(app->fleet, h.id)) < 0)
		return -1;
	if (r == 1)
		return err_set(ERR_CONFLICT, "host '%s' answers (hangar reaches "
		    "its libvirtd): it is not lost; drain it (POST "
		    "/v1/hosts/%s/drain) or migrate its VMs instead", h.name,
		    h.name);
	if (evac_fence(&h, rq, &by) < 0)
		return -1;
	memset(op, 0, sizeof(*op));
	uuid_generate_random(u);
	uuid_unparse_lower(u, op->id);
	op->kind = OP_EVACUATE;
	op->host_id = h.id;
	snprintf(op->params, sizeof(op->params), "{}");
	if (rq->idem_key)
		snprintf(op->idem_key, sizeof(op->idem_key), "%s", rq->idem_key);
	t.how = json_pack("{s:s, s:s}", "by", by, "op", op->id);
	vms = h.vms;
	r = evac_commit(app, &t);
	json_decref(t.how);
	if (r < 0)
		return -1;
	log_info("evacuate: host '%s' fenced (by %s); its %d VM(s) are made "
	    "again elsewhere, operation %s", h.name, by, vms, op->id);
	ops_submit(app->ops, op->id);
	return 0;
}

int
evacuate_unfence(struct app *app, const char *name, struct host_rec *h)
{
	struct evac_tx t = { h, NULL, NULL };
	int r;

	if (evac_host(app, name, h) < 0)
		return -1;
	if (h->fenced_at == 0)
		return 0;
	if (evac_not_busy(app, h) < 0 || (r = fleet_answers(app->fleet,
	    h->id)) < 0)
		return -1;
	if (r == 0)
		return err_set(ERR_CONFLICT, "host '%s' does not answer: it is "
		    "re-admitted once it does (the copies there of the VMs "
		    "evacuated from it are removed first)", h->name);
	if (evac_commit(app, &t) < 0)
		return -1;
	log_info("evacuate: host '%s' re-admitted", h->name);
	return 0;
}

/* --- a fenced host back --- */

struct evac_doms {
	char (*uuid)[UUID_STR_LEN];
	size_t n, cap;
};

static int
evac_dom(const struct domain_info *d, void *arg)
{
	struct evac_doms *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char (*nu)[UUID_STR_LEN] = realloc(l->uuid, cap * sizeof(*nu));

		if (nu == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		l->uuid = nu;
		l->cap = cap;
	}
	snprintf(l->uuid[l->n++], UUID_STR_LEN, "%s", d->uuid);
	return 0;
}

struct evac_gone {
	const char *host;
	const struct vm_rec *vm;
};

static int
evac_gone_tx(struct store_conn *c, void *arg)
{
	struct evac_gone *g = arg;
	json_t *d = json_pack("{s:s, s:s, s:s}", "vm", g->vm->name, "uuid",
	    g->vm->uuid, "now_on", g->vm->host);
	int r = store_event_host(c, g->host, "host.stale_domain_removed", d);

	json_decref(d);
	return r;
}

/* Domain uuid on the fenced host: gone if its VM lives elsewhere now. */
static int
evac_sweep_one(struct store *s, struct backend_conn *bc, int64_t host_id,
    const char *host, const char *uuid)
{
	struct store_conn *c = store_read_begin(s);
	struct evac_gone g = { host, NULL };
	struct vm_rec v;
	int r = store_vm_get(c, uuid, &v);

	store_read_end(c);
	if (r < 0) {    /* not hangar's (drift tells of it) */
		err_clear();
		return 0;
	}
	if (v.host_id == host_id)
		return 0;
	if (backend_destroy(bc, uuid) < 0 || backend_undefine(bc, uuid) < 0) {
		struct err e;

		err_save(&e);
		return err_set(e.code, "host '%s' is fenced and holds a stale "
		    "copy of vm '%s' (now on '%s') that cannot be removed: %s",
		    host, v.name, v.host, e.msg);
	}
	log_warnx("evacuate: fenced host '%s' answers again: its stale copy "
	    "of vm '%s' (now on '%s') was destroyed and undefined", host,
	    v.name, v.host);
	g.vm = &v;
	if (store_tx(s, evac_gone_tx, &g) < 0) {
		log_warnx("evacuate: %s", err_last()->msg);
		err_clear();
	}
	return 0;
}

int
evacuate_sweep(struct store *s, struct backend_conn *bc, int64_t host_id,
    const char *host)
{
	struct store_conn *c = store_read_begin(s);
	struct evac_doms l = { NULL, 0, 0 };
	struct host_rec h;
	int r = store_host_get_id(c, host_id, &h);

	store_read_end(c);
	if (r < 0 && err_last()->code != ERR_NOT_FOUND)
		return -1;
	err_clear();    /* not found: being registered, or gone */
	if (r < 0 || h.fenced_at == 0)
		return 0;
	r = backend_list_domains(bc, evac_dom, &l);
	for (size_t i = 0; r == 0 && i < l.n; i++)
		r = evac_sweep_one(s, bc, host_id, host, l.uuid[i]);
	free(l.uuid);
	return r;
}
