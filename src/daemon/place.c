/*
 * place.c - placing a VM (see place.h).
 *
 * The view's lock is held from the pick to the claim, so a concurrent
 * create always sees the room this one took.  A create's claim is taken
 * before its rows are committed, and the view let go for the commit: the
 * store commits concurrent creates together (group commit), which it
 * could not if each held the view through its fsync.  A failed commit
 * gives the claim back.  A move still commits with the view held.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../common/error.h"
#include "app.h"
#include "place.h"

struct place_tx {
	struct place_req *pr;
	const char *mac_prefix;
	struct nic_rec asked[VM_NICS_MAX];   /* pr->nics as asked: a re-run
	                                      * transaction starts from them */
	struct group_rec group;
	bool have_group;
};

static int
place_group_tx(struct store_conn *c, struct place_tx *t)
{
	if (t->pr->group == NULL)
		return 0;
	if (store_group_get(c, t->pr->group, &t->group) < 0) {
		err_set_field(ERR_NOT_FOUND, "group", "group '%s' not found",
		    t->pr->group);
		return -1;
	}
	t->have_group = true;
	return 0;
}

struct place_move {
	struct op_rec *op;
	const struct vm_rec *vm;
	int64_t to;                  /* the row moves there (0: it stays) */
};

static int
place_move_tx(struct store_conn *c, void *arg)
{
	struct place_move *m = arg;

	if (m->to && store_vm_set_host(c, m->vm->id, m->to, m->op->id) < 0)
		return -1;
	return store_op_insert(c, m->op);
}

static int
place_insert_tx(struct store_conn *c, void *arg)
{
	struct place_tx *t = arg;
	char field[32];

	if (store_vm_insert(c, t->pr->vm, t->pr->disks, t->pr->ndisks) < 0 ||
	    (t->pr->cloud_init && store_cloudinit_put(c, t->pr->vm->id,
	    t->pr->cloud_init) < 0))
		return -1;
	/* addresses and MACs are handed out in the VM's own transaction */
	for (int i = 0; i < t->pr->nnics; i++) {
		t->pr->nics[i] = t->asked[i];
		snprintf(field, sizeof(field), "nics[%d]", i);
		if (store_nic_insert(c, t->pr->vm->id, &t->pr->nics[i],
		    t->mac_prefix, field) < 0)
			return -1;
	}
	t->pr->op->vm_id = t->pr->vm->id;
	if (t->pr->env_id > 0 && store_env_vm_link(c, t->pr->env_id,
	    t->pr->vm->id, t->pr->env_role) < 0)
		return -1;
	return store_op_insert(c, t->pr->op);
}

/* The ids of the hosts holding a copy of an image (growing array). */
struct place_holders {
	int64_t *id;
	size_t n, cap;
};

static int
place_holder_add(int64_t host_id, void *arg)
{
	struct place_holders *h = arg;

	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		int64_t *id = realloc(h->id, cap * sizeof(*id));

		if (id == NULL)
			return 1;       /* a preference: fewer is no harm */
		h->id = id;
		h->cap = cap;
	}
	h->id[h->n++] = host_id;
	return 0;
}

/*
 * Which of the view's n hosts hold a copy of the image of sha (the image
 * weigher's input): a calloc'd array indexed like hosts, or NULL when
 * none does or it cannot be told (the preference is then simply absent).
 */
static bool *
place_image_hosts(struct app *app, const char *sha,
    const struct sched_host *hosts, size_t n)
{
	struct place_holders h = { NULL, 0, 0 };
	struct store_conn *c = store_read_begin(app->store);
	bool *has = NULL;

	if (store_host_image_holders(c, sha, place_holder_add, &h) < 0)
		err_clear();
	store_read_end(c);
	if (h.n > 0 && (has = calloc(n ? n : 1, sizeof(*has))) != NULL)
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < h.n && !has[i]; k++)
				has[i] = hosts[i].id == h.id[k];
	free(h.id);
	return has;
}

/* Which bridges each reachable host has (before the view is locked). */
struct place_bridges {
	const struct place_req *pr;
	struct place_bridge_host {
		char host[NAME_MAX_LEN];
		int lacks;           /* 1 + the first bridge it lacks; 0: none */
	} *h;                    /* owned */
	size_t n, cap;
};

static int
place_bridges_on(struct backend_conn *bc, const char *host, void *arg)
{
	struct place_bridges *b = arg;
	bool has = false;
	int lacks = 0;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct place_bridge_host *h = realloc(b->h, cap * sizeof(*h));

		if (h == NULL)
			return 0;   /* the others are judged lacking */
		b->h = h;
		b->cap = cap;
	}
	for (int i = 0; i < b->pr->nbridges && lacks == 0; i++)
		if (backend_bridge_exists(bc, b->pr->bridges[i], &has) < 0 ||
		    !has)
			lacks = i + 1;
	err_clear();
	snprintf(b->h[b->n].host, sizeof(b->h[b->n].host), "%s", host);
	b->h[b->n++].lacks = lacks;
	return 0;
}

/* The bridges filter's input, indexed like hosts (calloc'd), or NULL. */
static int *
place_lacks(const struct place_bridges *b, const struct sched_host *hosts,
    size_t n)
{
	int *lacks = calloc(n ? n : 1, sizeof(*lacks));

	for (size_t i = 0; lacks && i < n; i++) {
		lacks[i] = 1;       /* not reached: judged lacking */
		for (size_t k = 0; k < b->n; k++)
			if (strcmp(b->h[k].host, hosts[i].name) == 0)
				lacks[i] = b->h[k].lacks;
	}
	return lacks;
}

/* Keep every verdict in out; with the view locked. */
static int
place_keep(const struct sched_host *hosts, size_t n,
    const struct sched_verdict *v, int pick, struct place_out *out)
{
	out->pick = pick;
	out->n = n;
	out->hosts = calloc(n ? n : 1, sizeof(*out->hosts));
	if (out->hosts == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	for (size_t i = 0; i < n; i++) {
		snprintf(out->hosts[i].name, sizeof(out->hosts[i].name), "%s",
		    hosts[i].name);
		sched_host_free(&hosts[i], &out->hosts[i].free);
		out->hosts[i].v = v[i];
	}
	return 0;
}

/*
 * The pick and the claim with the view held (a move's commit too).
 * move: the VM that moves (pr->vm is NULL then); mop: its operation.
 */
static int
place_run(struct app *app, struct place_req *pr, struct place_out *out,
    const struct vm_rec *move, struct op_rec *mop, struct host_rec *dest)
{
	struct place_tx t;
	struct place_bridges *br = NULL;
	int *lacks = NULL;
	const struct sched_host *hosts;
	struct sched_verdict *v = NULL;
	struct store_conn *c;
	int *counts = NULL, pick, r = -1;
	bool *has_image = NULL;
	bool held;
	size_t n;
	char why[4096];

	if (out)
		memset(out, 0, sizeof(*out));
	memset(&t, 0, sizeof(t));
	t.pr = pr;
	t.mac_prefix = app->cfg.mac_prefix;
	for (int i = 0; i < pr->nnics && i < VM_NICS_MAX; i++)
		t.asked[i] = pr->nics[i];
	c = store_read_begin(app->store);
	r = place_group_tx(c, &t);
	store_read_end(c);
	if (r < 0)
		return -1;
	if (pr->nbridges > 0) {
		if ((br = calloc(1, sizeof(*br))) == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		br->pr = pr;
		fleet_each_reachable(app->fleet, place_bridges_on, br);
	}
	r = -1;
	view_lock(app->view);
	held = true;
	hosts = view_hosts(app->view, &n);
	if (pr->sr.host) {
		size_t i;

		for (i = 0; i < n && strcmp(hosts[i].name, pr->sr.host); i++)
			;
		if (i == n) {
			err_set_field(ERR_NOT_FOUND, "host", "host '%s' not "
			    "found", pr->sr.host);
			goto done;
		}
	}
	if (t.have_group) {
		if ((counts = calloc(n ? n : 1, sizeof(*counts))) == NULL) {
			err_set(ERR_INTERNAL, "out of memory");
			goto done;
		}
		view_group_counts(app->view, t.group.id, counts,
		    &pr->sr.group_total);
		pr->sr.group_counts = counts;
		pr->sr.group = strcmp(t.group.policy, "affinity") == 0 ?
		    SCHED_AFFINITY : SCHED_ANTI_AFFINITY;
		pr->sr.group_strict = t.group.strict;
		pr->sr.group_name = t.group.name;
	}
	if (out && (v = calloc(n ? n : 1, sizeof(*v))) == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		goto done;
	}
	if (pr->image_sha)
		pr->sr.has_image = has_image = place_image_hosts(app,
		    pr->image_sha, hosts, n);
	if (br) {
		pr->sr.bridges = pr->bridges;
		pr->sr.lacks_bridge = lacks = place_lacks(br, hosts, n);
	}
	pick = sched_pick(hosts, n, &pr->sr, v);
	if (pick < 0) {
		/* judge every host to say why none fits */
		if (v == NULL && (v = calloc(n ? n : 1, sizeof(*v))) != NULL)
			sched_pick(hosts, n, &pr->sr, v);
		if (v)
			sched_explain(hosts, v, n, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "out of memory explaining");
		err_set(ERR_NO_CAPACITY, "no host can take a VM of %d vCPUs, "
		    "%lld MiB and %lld GiB: %s", pr->sr.vcpus,
		    (long long)pr->sr.memory_mib, (long long)pr->sr.disk_gib,
		    why);
		if (out && v)
			place_keep(hosts, n, v, -1, out);
		goto done;
	}
	if (out && place_keep(hosts, n, v, pick, out) < 0)
		goto done;
	if (pr->vm) {
		pr->vm->host_id = hosts[pick].id;
		pr->vm->group_id = t.have_group ? t.group.id : 0;
		view_claim_locked(app->view, pr->vm);
		view_unlock(app->view);
		held = false;
		if (store_tx(app->store, place_insert_tx, &t) < 0) {
			view_release(app->view, pr->vm);
			goto done;
		}
	}
	if (move) {
		struct store_conn *rc = store_read_begin(app->store);
		int got = store_host_get_id(rc, hosts[pick].id, dest);

		store_read_end(rc);
		if (got < 0)
			goto done;
		if (mop) {
			struct vm_rec there = *move;
			json_t *p = json_loads(mop->params, 0, NULL);
			char *text;

			if (p == NULL)
				p = json_object();
			json_object_set_new(p, "to", json_string(dest->name));
			json_object_set_new(p, "to_id", json_integer(dest->id));
			text = json_dumps(p, JSON_COMPACT);
			json_decref(p);
			if (text == NULL || strlen(text) >= sizeof(mop->params)) {
				free(text);
				err_set(ERR_INTERNAL, "migration parameters too long");
				goto done;
			}
			snprintf(mop->params, sizeof(mop->params), "%s", text);
			free(text);
			struct place_move m = { mop, move,
			    pr->move_row ? dest->id : 0 };

			if (store_tx(app->store, place_move_tx, &m) < 0)
				goto done;
			/* held on both hosts until the move settles (or only
			 * where the row now is) */
			there.host_id = dest->id;
			view_claim_locked(app->view, &there);
			if (pr->move_row)
				view_release_locked(app->view, move);
		}
	}
	r = 0;
done:
	if (held)
		view_unlock(app->view);
	free(counts);
	free(has_image);
	free(lacks);
	if (br)
		free(br->h);
	free(br);
	free(v);
	pr->sr.group_counts = NULL;
	pr->sr.has_image = NULL;
	pr->sr.lacks_bridge = NULL;
	return r;
}

int
place_vm(struct app *app, struct place_req *pr, struct place_out *out)
{
	return place_run(app, pr, out, NULL, NULL, NULL);
}

int
place_move(struct app *app, const struct vm_rec *vm, struct place_req *pr,
    struct op_rec *op, struct host_rec *dest, struct place_out *out)
{
	pr->vm = NULL;
	pr->op = NULL;
	pr->sr.exclude_host = vm->host;
	pr->group = vm->group[0] ? vm->group : NULL;
	return place_run(app, pr, out, vm, op, dest);
}

void
place_out_free(struct place_out *out)
{
	if (out) {
		free(out->hosts);
		out->hosts = NULL;
		out->n = 0;
	}
}
