/*
 * planner.c - making a migration plan: the hosts and their claims from the
 * view, the VMs and their groups from the store, the moves from the pure
 * planner (scheduler/plan.c).  The plan is stored as the JSON it is shown
 * as, so executing it later moves exactly what was shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uuid/uuid.h>

#include "../common/error.h"
#include "../scheduler/plan.h"
#include "app.h"

struct planner_data {
	struct sched_host *hosts;  /* a copy of the view's (labels not kept) */
	size_t nhosts;
	struct plan_vm *vms;
	struct vm_rec *recs;       /* the same VMs, for names */
	size_t nvms, cap;
	struct group_rec *groups;
	size_t ngroups, gcap;
};

static int
planner_group(const struct group_rec *g, void *arg)
{
	struct planner_data *d = arg;

	if (d->ngroups == d->gcap) {
		size_t cap = d->gcap ? d->gcap * 2 : 16;
		struct group_rec *ng = realloc(d->groups, cap * sizeof(*ng));

		if (ng == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		d->groups = ng;
		d->gcap = cap;
	}
	d->groups[d->ngroups++] = *g;
	return 0;
}

static int
planner_vm(const struct vm_rec *v, void *arg)
{
	struct planner_data *d = arg;
	struct plan_vm *p;
	size_t h;

	for (h = 0; h < d->nhosts && d->hosts[h].id != v->host_id; h++)
		;
	if (h == d->nhosts)
		return 0;              /* on a host the view does not have */
	if (d->nvms == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct plan_vm *nv = realloc(d->vms, cap * sizeof(*nv));
		struct vm_rec *nr = nv ? realloc(d->recs, cap * sizeof(*nr)) :
		    NULL;

		if (nv)
			d->vms = nv;
		if (nr == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		d->recs = nr;
		d->cap = cap;
	}
	d->recs[d->nvms] = *v;
	p = &d->vms[d->nvms++];
	memset(p, 0, sizeof(*p));
	p->id = v->id;
	p->host = h;
	p->vcpus = v->vcpus;
	p->memory_mib = v->memory_mib;
	p->disk_gib = v->disk_gib;
	p->group_id = v->group_id;
	for (size_t g = 0; g < d->ngroups; g++) {
		if (d->groups[g].id != v->group_id)
			continue;
		p->group_policy = strcmp(d->groups[g].policy, "affinity") == 0 ?
		    SCHED_AFFINITY : SCHED_ANTI_AFFINITY;
		p->group_strict = d->groups[g].strict;
	}
	/* busy, or out of sight: it stays */
	p->movable = v->op_id[0] == '\0' && strcmp(v->observed, "unknown");
	return 0;
}

static void
planner_free(struct planner_data *d)
{
	free(d->hosts);
	free(d->vms);
	free(d->recs);
	free(d->groups);
}

static json_t *
planner_use(const struct plan_use *u)
{
	return json_pack("{s:f, s:f, s:f, s:f}", "mean_pct", u->mean_pct,
	    "max_pct", u->max_pct, "min_pct", u->min_pct, "stddev_pct",
	    u->stddev_pct);
}

static json_t *
planner_util(const struct plan_util *u)
{
	return json_pack("{s:i, s:o, s:o, s:o}", "hosts_in_use",
	    u->hosts_in_use, "vcpus", planner_use(&u->vcpus), "memory",
	    planner_use(&u->memory), "disk", planner_use(&u->disk));
}

struct planner_store {
	const char *id, *kind, *body;
};

static int
planner_store_tx(struct store_conn *c, void *arg)
{
	struct planner_store *a = arg;

	return store_plan_insert(c, a->id, a->kind, a->body);
}

int
planner_make(struct app *app, const struct planner_request *rq,
    char *id_out, json_t **plan_out)
{
	struct planner_data d;
	struct plan_result res;
	struct plan_opts opts;
	const struct sched_host *vh;
	struct store_conn *c;
	bool *subset = NULL;
	json_t *plan = NULL, *moves, *freed;
	char *text = NULL;
	uuid_t u;
	int r = -1;

	memset(&d, 0, sizeof(d));
	memset(&res, 0, sizeof(res));
	*plan_out = NULL;
	view_lock(app->view);
	vh = view_hosts(app->view, &d.nhosts);
	d.hosts = calloc(d.nhosts ? d.nhosts : 1, sizeof(*d.hosts));
	if (d.hosts)
		for (size_t i = 0; i < d.nhosts; i++) {
			d.hosts[i] = vh[i];
			d.hosts[i].labels = NULL;   /* the view owns them */
			d.hosts[i].nlabels = 0;
		}
	view_unlock(app->view);
	if (d.hosts == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		goto done;
	}
	if (rq->nhosts > 0) {
		if ((subset = calloc(d.nhosts ? d.nhosts : 1,
		    sizeof(*subset))) == NULL) {
			err_set(ERR_INTERNAL, "out of memory");
			goto done;
		}
		for (size_t k = 0; k < rq->nhosts; k++) {
			size_t i;

			for (i = 0; i < d.nhosts &&
			    strcmp(d.hosts[i].name, rq->hosts[k]); i++)
				;
			if (i == d.nhosts) {
				err_set_field(ERR_NOT_FOUND, "hosts", "host '%s' "
				    "not found", rq->hosts[k]);
				goto done;
			}
			subset[i] = true;
		}
	}
	c = store_read_begin(app->store);
	r = store_group_each(c, planner_group, &d);
	if (r == 0)
		r = store_vm_each(c, NULL, NULL, planner_vm, &d);
	store_read_end(c);
	if (r < 0)
		goto done;
	r = -1;
	memset(&opts, 0, sizeof(opts));
	opts.max_moves = rq->max_moves;
	opts.subset = subset;
	opts.target_free_hosts = rq->target_free_hosts;
	if ((rq->rebalance ? plan_rebalance : plan_consolidate)(d.hosts,
	    d.nhosts, d.vms, d.nvms, &opts, &res) < 0)
		goto done;
	moves = json_array();
	for (size_t i = 0; i < res.nmoves; i++) {
		const struct vm_rec *v = &d.recs[res.moves[i].vm];

		json_array_append_new(moves, json_pack("{s:s, s:s, s:s, s:s, "
		    "s:s}", "vm", v->name, "vm_id", v->uuid,
		    "from", d.hosts[res.moves[i].from].name,
		    "to", d.hosts[res.moves[i].to].name,
		    "mode", strcmp(v->observed, "stopped") == 0 ||
		    strcmp(v->observed, "crashed") == 0 ? "cold" : "live"));
	}
	freed = json_array();
	for (size_t i = 0; i < res.nfreed; i++)
		json_array_append_new(freed,
		    json_string(d.hosts[res.freed[i]].name));
	uuid_generate_random(u);
	uuid_unparse_lower(u, id_out);
	plan = json_pack("{s:s, s:s, s:o, s:o, s:{s:o, s:o}, s:i}",
	    "id", id_out, "kind", rq->rebalance ? "rebalance" :
	    "consolidation", "moves", moves, "freed_hosts", freed,
	    "utilisation", "before", planner_util(&res.before), "after",
	    planner_util(&res.after), "max_moves", rq->max_moves);
	if (plan == NULL || (text = json_dumps(plan, JSON_COMPACT)) == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		goto done;
	}
	*plan_out = plan;
	plan = NULL;
	r = 0;
done:
	if (r == 0) {
		struct planner_store a = { id_out, rq->rebalance ?
		    "rebalance" : "consolidation", text };

		if (store_tx(app->store, planner_store_tx, &a) < 0) {
			json_decref(*plan_out);
			*plan_out = NULL;
			r = -1;
		}
	}
	json_decref(plan);
	free(text);
	free(subset);
	plan_result_free(&res);
	planner_free(&d);
	return r;
}
