/*
 * plan.c - migration plans: consolidation and rebalancing, from data alone.
 *
 * Both planners work on a private copy of the hosts (their claims and VM
 * counts) and of where each VM is, and update it as each move is planned,
 * so a later move sees the room an earlier one took or gave back.  Room is
 * judged by sched_host_free(), as placement judges it.  A VM moves at most
 * once in a plan, never to the host it is on, and only between hosts in
 * the subset; only ready hosts take VMs.
 *
 * Consolidation empties hosts one at a time, least loaded first (memory
 * claimed, then vCPUs): each VM of the host (largest memory first) goes to
 * the fullest host that can still take it (least free memory; it must
 * have the vCPUs and disk too, and no member of the VM's strict
 * anti-affinity group); if one VM fits nowhere, the host is given up and
 * its moves undone.  A host is only tried when all its VMs were given, may
 * move, and fit in the moves left.  Targets are ready hosts that already
 * run VMs (filling an empty host frees nothing) and are not being emptied;
 * a host that took a VM is not emptied later (no VM moves twice).  Targets
 * are kept in an ordered set (a treap keyed by free memory), so a pick is
 * O(log n) unless many hosts have the memory and fail on the rest.
 *
 * Rebalancing keeps the hosts in the same kind of set keyed by memory use
 * (allocated / capacity): it takes the most used host and the least used
 * one that can take one of its VMs, and moves the VM that brings their
 * use closest together.  Each move brings the two strictly closer and
 * never widens the spread (highest use - lowest), and each VM moves at
 * most once, so it ends.
 *
 * Ties are broken by host index, then VM index, so the same input always
 * gives the same plan.  The two sets the planners keep are in plan_sets.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "plan.h"
#include "plan_int.h"

struct plan_ctx {
	const struct sched_host *hosts;   /* as given */
	struct sched_host *h;             /* private copy; claims change */
	size_t nh;
	const struct plan_vm *vms;
	size_t nv;
	const bool *subset;
	size_t *cur;               /* [nv] the host a VM is on now */
	bool *moved;               /* [nv] the VM has a move in the plan */
	size_t *next, *prev;       /* [nv] list of the VMs on a host */
	size_t *head;              /* [nh] first VM on a host, or PLAN_NIL */
	size_t *listed;            /* [nh] VMs in vms[] on a host, before */
	int64_t *count0;           /* [nh] VMs on a host before */
	int64_t *count;            /* [nh] VMs on a host now */
	size_t *recv;              /* [nh] moves planned onto a host */
	double (*keyfn)(const struct sched_host *);
	struct plan_tree tree;
	struct plan_aa aa;
	struct plan_result *out;
};

/* Sort key for qsort: by a, then b, then i, all ascending. */
struct plan_key {
	int64_t a, b;
	size_t i;
};

static int
plan_key_cmp(const void *pa, const void *pb)
{
	const struct plan_key *x = pa, *y = pb;

	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	if (x->b != y->b)
		return x->b < y->b ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * Square root by Newton's method, so the planner needs no libm.  From a
 * start at or above the root the iterates fall until they stop moving.
 */
static double
plan_sqrt(double x)
{
	double r, next;

	if (!(x > 0))
		return 0;
	r = x > 1 ? x : 1;
	for (;;) {
		next = (r + x / r) / 2;
		if (next >= r)
			return r;
		r = next;
	}
}


/* --- the private view -------------------------------------------------- */

static bool
plan_strict(const struct plan_vm *v, enum sched_group_policy p)
{
	return v->group_id != 0 && v->group_strict && v->group_policy == p;
}

/* May this VM move at all? */
static bool
plan_can_move(const struct plan_vm *v)
{
	return v->movable && !plan_strict(v, SCHED_AFFINITY);
}

static bool
plan_insub(const struct plan_ctx *c, size_t i)
{
	return c->subset == NULL || c->subset[i];
}

/* May host t take VM v now (room and strict anti-affinity)? */
static bool
plan_fits(const struct plan_ctx *c, size_t t, const struct plan_vm *v)
{
	struct sched_free f;

	sched_host_free(&c->h[t], &f);
	if (f.vcpus < v->vcpus || f.memory_mib < v->memory_mib ||
	    f.disk_gib < v->disk_gib)
		return false;
	return !plan_strict(v, SCHED_ANTI_AFFINITY) ||
	    plan_aa_get(&c->aa, v->group_id, t) == 0;
}

static double
plan_key_free_memory(const struct sched_host *h)
{
	struct sched_free f;

	sched_host_free(h, &f);
	return (double)f.memory_mib;
}

static double
plan_key_memory_use(const struct sched_host *h)
{
	struct sched_free f;

	sched_host_free(h, &f);
	return f.memory_cap > 0 ?
	    (double)h->alloc_memory_mib / (double)f.memory_cap : 0;
}

/* Put host i in the set, keyed by its claims now. */
static void
plan_put(struct plan_ctx *c, size_t i)
{
	struct sched_free f;

	sched_host_free(&c->h[i], &f);
	plan_tree_insert(&c->tree, i, c->keyfn(&c->h[i]), f.vcpus,
	    (double)f.disk_gib);
}

/* Host i's claims changed: move it to its new place in the set. */
static void
plan_rekey(struct plan_ctx *c, size_t i)
{
	if (!c->tree.in[i])
		return;
	plan_tree_erase(&c->tree, i);
	plan_put(c, i);
}

static void
plan_unlink(struct plan_ctx *c, size_t v)
{
	if (c->prev[v] != PLAN_NIL)
		c->next[c->prev[v]] = c->next[v];
	else
		c->head[c->cur[v]] = c->next[v];
	if (c->next[v] != PLAN_NIL)
		c->prev[c->next[v]] = c->prev[v];
}

static void
plan_link(struct plan_ctx *c, size_t v, size_t host)
{
	c->cur[v] = host;
	c->prev[v] = PLAN_NIL;
	c->next[v] = c->head[host];
	if (c->head[host] != PLAN_NIL)
		c->prev[c->head[host]] = v;
	c->head[host] = v;
}

/* Carry VM v and its claims from host from to host to, in the view. */
static void
plan_shift(struct plan_ctx *c, size_t v, size_t from, size_t to)
{
	const struct plan_vm *vm = &c->vms[v];
	struct sched_host *a = &c->h[from], *b = &c->h[to];

	a->alloc_vcpus -= vm->vcpus;
	a->alloc_memory_mib -= vm->memory_mib;
	a->alloc_disk_gib -= vm->disk_gib;
	a->vms--;
	c->count[from]--;
	b->alloc_vcpus += vm->vcpus;
	b->alloc_memory_mib += vm->memory_mib;
	b->alloc_disk_gib += vm->disk_gib;
	b->vms++;
	c->count[to]++;
	if (plan_strict(vm, SCHED_ANTI_AFFINITY)) {
		plan_aa_dec(&c->aa, vm->group_id, from);
		plan_aa_inc(&c->aa, vm->group_id, to);
	}
	plan_unlink(c, v);
	plan_link(c, v, to);
	plan_rekey(c, from);
	plan_rekey(c, to);
}

/* Plan the move of VM v to host to (moves[] has room for every VM). */
static void
plan_move(struct plan_ctx *c, size_t v, size_t to)
{
	struct plan_move *m = &c->out->moves[c->out->nmoves++];

	m->vm = v;
	m->from = c->cur[v];
	m->to = to;
	c->moved[v] = true;
	c->recv[to]++;
	plan_shift(c, v, m->from, to);
}

/* Take back the moves planned after the first keep. */
static void
plan_undo(struct plan_ctx *c, size_t keep)
{
	while (c->out->nmoves > keep) {
		const struct plan_move *m = &c->out->moves[--c->out->nmoves];

		c->moved[m->vm] = false;
		c->recv[m->to]--;
		plan_shift(c, m->vm, m->to, m->from);
	}
}

/* --- utilisation ------------------------------------------------------- */

/* Per-host percent of capacity of resource r (0 vCPUs, 1 memory, 2 disk),
 * or -1 when the host has none of it. */
static double
plan_pct(const struct sched_host *h, int r)
{
	struct sched_free f;
	double cap, used;

	sched_host_free(h, &f);
	if (r == 0) {
		cap = f.vcpus_cap;
		used = (double)h->alloc_vcpus;
	} else if (r == 1) {
		cap = (double)f.memory_cap;
		used = (double)h->alloc_memory_mib;
	} else {
		cap = (double)f.disk_cap;
		used = (double)h->alloc_disk_gib;
	}
	return cap > 0 ? 100.0 * used / cap : -1;
}

static void
plan_use_of(const struct sched_host *hs, const bool *play, size_t nh, int r,
    struct plan_use *u)
{
	double sum = 0, dev = 0, mean;
	size_t n = 0;

	memset(u, 0, sizeof(*u));
	for (size_t i = 0; i < nh; i++) {
		double p;

		if (!play[i] || (p = plan_pct(&hs[i], r)) < 0)
			continue;
		if (n == 0 || p > u->max_pct)
			u->max_pct = p;
		if (n == 0 || p < u->min_pct)
			u->min_pct = p;
		sum += p;
		n++;
	}
	if (n == 0)
		return;
	mean = sum / (double)n;
	for (size_t i = 0; i < nh; i++) {
		double p;

		if (!play[i] || (p = plan_pct(&hs[i], r)) < 0)
			continue;
		dev += (p - mean) * (p - mean);
	}
	u->mean_pct = mean;
	u->stddev_pct = plan_sqrt(dev / (double)n);
}

static void
plan_util_of(const struct sched_host *hs, const int64_t *count,
    const bool *play, size_t nh, struct plan_util *u)
{
	memset(u, 0, sizeof(*u));
	for (size_t i = 0; i < nh; i++)
		if (play[i] && count[i] > 0)
			u->hosts_in_use++;
	plan_use_of(hs, play, nh, 0, &u->vcpus);
	plan_use_of(hs, play, nh, 1, &u->memory);
	plan_use_of(hs, play, nh, 2, &u->disk);
}

/*
 * Fill before and after over the hosts in play: those in the subset that
 * are ready or that the plan moves a VM away from.  Also lists, if
 * freed_too, the hosts the plan empties, in index order.
 */
static int
plan_finish(struct plan_ctx *c, bool freed_too)
{
	struct plan_result *r = c->out;
	bool *play = calloc(c->nh ? c->nh : 1, sizeof(*play));

	if (play == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	for (size_t i = 0; i < c->nh; i++)
		play[i] = plan_insub(c, i) && c->hosts[i].state == SCHED_READY;
	for (size_t k = 0; k < r->nmoves; k++)
		play[r->moves[k].from] = true;
	plan_util_of(c->hosts, c->count0, play, c->nh, &r->before);
	plan_util_of(c->h, c->count, play, c->nh, &r->after);
	free(play);
	if (freed_too)
		for (size_t i = 0; i < c->nh; i++)
			if (c->count0[i] > 0 && c->count[i] == 0)
				r->freed[r->nfreed++] = i;
	/* give back what the plan did not use */
	if (r->nmoves == 0) {
		free(r->moves);
		r->moves = NULL;
	} else {
		struct plan_move *m = realloc(r->moves,
		    r->nmoves * sizeof(*m));

		if (m)
			r->moves = m;
	}
	if (r->nfreed == 0) {
		free(r->freed);
		r->freed = NULL;
	}
	return 0;
}

/* --- setting up -------------------------------------------------------- */

static void
plan_end(struct plan_ctx *c)
{
	free(c->h);
	free(c->cur);
	free(c->moved);
	free(c->next);
	free(c->prev);
	free(c->head);
	free(c->listed);
	free(c->count0);
	free(c->count);
	free(c->recv);
	free(c->tree.left);
	free(c->tree.right);
	free(c->tree.pri);
	free(c->tree.key);
	free(c->tree.vcpus);
	free(c->tree.disk);
	free(c->tree.max_vcpus);
	free(c->tree.max_disk);
	free(c->tree.in);
	free(c->aa.slot);
}

static int
plan_check(const struct sched_host *hosts, size_t nhosts,
    const struct plan_vm *vms, size_t nvms, struct plan_result *out)
{
	if (out == NULL)
		return err_set(ERR_INVALID, "a plan needs a result to fill.");
	memset(out, 0, sizeof(*out));
	if (hosts == NULL && nhosts > 0)
		return err_set(ERR_INVALID, "%zu hosts were announced but "
		    "none given.", nhosts);
	if (vms == NULL && nvms > 0)
		return err_set(ERR_INVALID, "%zu VMs were announced but none "
		    "given.", nvms);
	for (size_t v = 0; v < nvms; v++) {
		if (vms[v].host >= nhosts)
			return err_set(ERR_INVALID, "VM %lld is on host %zu, "
			    "but there are %zu hosts.", (long long)vms[v].id,
			    vms[v].host, nhosts);
		if (vms[v].vcpus < 0 || vms[v].memory_mib < 0 ||
		    vms[v].disk_gib < 0)
			return err_set(ERR_INVALID, "VM %lld has a negative "
			    "size.", (long long)vms[v].id);
	}
	return 0;
}

/* calloc n (at least 1) elements of size sz into *p; false when out of
 * memory. */
static bool
plan_calloc(void *p, size_t n, size_t sz)
{
	void *q = calloc(n ? n : 1, sz);

	memcpy(p, &q, sizeof(q));
	return q != NULL;
}

/*
 * Check the arguments and build the private view; keyfn orders the set.
 * On failure everything is freed and err_last() says why.
 */
static int
plan_begin(struct plan_ctx *c, const struct sched_host *hosts, size_t nh,
    const struct plan_vm *vms, size_t nv, const struct plan_opts *opts,
    struct plan_result *out, double (*keyfn)(const struct sched_host *))
{
	size_t naa = 0, slots = 4;

	memset(c, 0, sizeof(*c));
	if (plan_check(hosts, nh, vms, nv, out) == -1)
		return -1;
	c->hosts = hosts;
	c->nh = nh;
	c->vms = vms;
	c->nv = nv;
	c->subset = opts ? opts->subset : NULL;
	c->keyfn = keyfn;
	c->out = out;
	for (size_t v = 0; v < nv; v++)
		if (plan_strict(&vms[v], SCHED_ANTI_AFFINITY))
			naa++;
	while (slots < 2 * naa)
		slots *= 2;
	if (!plan_calloc(&c->h, nh, sizeof(*c->h)) ||
	    !plan_calloc(&c->cur, nv, sizeof(*c->cur)) ||
	    !plan_calloc(&c->moved, nv, sizeof(*c->moved)) ||
	    !plan_calloc(&c->next, nv, sizeof(*c->next)) ||
	    !plan_calloc(&c->prev, nv, sizeof(*c->prev)) ||
	    !plan_calloc(&c->head, nh, sizeof(*c->head)) ||
	    !plan_calloc(&c->listed, nh, sizeof(*c->listed)) ||
	    !plan_calloc(&c->count0, nh, sizeof(*c->count0)) ||
	    !plan_calloc(&c->count, nh, sizeof(*c->count)) ||
	    !plan_calloc(&c->recv, nh, sizeof(*c->recv)) ||
	    !plan_calloc(&c->tree.left, nh, sizeof(size_t)) ||
	    !plan_calloc(&c->tree.right, nh, sizeof(size_t)) ||
	    !plan_calloc(&c->tree.pri, nh, sizeof(uint32_t)) ||
	    !plan_calloc(&c->tree.key, nh, sizeof(double)) ||
	    !plan_calloc(&c->tree.vcpus, nh, sizeof(double)) ||
	    !plan_calloc(&c->tree.disk, nh, sizeof(double)) ||
	    !plan_calloc(&c->tree.max_vcpus, nh, sizeof(double)) ||
	    !plan_calloc(&c->tree.max_disk, nh, sizeof(double)) ||
	    !plan_calloc(&c->tree.in, nh, sizeof(bool)) ||
	    !plan_calloc(&c->aa.slot, slots, sizeof(*c->aa.slot)) ||
	    !plan_calloc(&out->moves, nv, sizeof(*out->moves)) ||
	    !plan_calloc(&out->freed, nh, sizeof(*out->freed))) {
		plan_end(c);
		plan_result_free(out);
		return err_set(ERR_INTERNAL, "out of memory");
	}
	if (nh > 0)
		memcpy(c->h, hosts, nh * sizeof(*hosts));
	c->aa.mask = slots - 1;
	c->tree.root = PLAN_NIL;
	for (size_t i = 0; i < nh; i++) {
		c->head[i] = PLAN_NIL;
		c->tree.pri[i] = (uint32_t)plan_mix(i);
	}
	/* link in reverse so each host's list runs in VM index order */
	for (size_t v = nv; v-- > 0;) {
		c->prev[v] = c->next[v] = PLAN_NIL;
		plan_link(c, v, vms[v].host);
		c->listed[vms[v].host]++;
		if (plan_strict(&vms[v], SCHED_ANTI_AFFINITY))
			plan_aa_inc(&c->aa, vms[v].group_id, vms[v].host);
	}
	/* a host may hold VMs it was not given (creates in flight): count
	 * those too, so it is never called empty */
	for (size_t i = 0; i < nh; i++) {
		c->count0[i] = (int64_t)c->listed[i];
		if (hosts[i].vms > c->count0[i])
			c->count0[i] = hosts[i].vms;
		c->count[i] = c->count0[i];
	}
	return 0;
}

/* --- consolidation ----------------------------------------------------- */

/*
 * The first host in subtree x, in the set's order, with free memory (the
 * key) of at least the VM's that can take it; subtrees without a host with
 * the vCPUs or the disk are skipped whole.
 */
static size_t
plan_fit_in(const struct plan_ctx *c, size_t x, const struct plan_vm *vm)
{
	const struct plan_tree *t = &c->tree;
	size_t r;

	if (x == PLAN_NIL || t->max_vcpus[x] < vm->vcpus ||
	    t->max_disk[x] < (double)vm->disk_gib)
		return PLAN_NIL;
	if (t->key[x] < (double)vm->memory_mib)
		return plan_fit_in(c, t->right[x], vm);
	if ((r = plan_fit_in(c, t->left[x], vm)) != PLAN_NIL)
		return r;
	if (plan_fits(c, x, vm))
		return x;
	return plan_fit_in(c, t->right[x], vm);
}

/* The fullest target that can take VM v now (least free memory, then
 * lowest index), or PLAN_NIL. */
static size_t
plan_best_fit(const struct plan_ctx *c, size_t v)
{
	return plan_fit_in(c, c->tree.root, &c->vms[v]);
}

/* Can host i be emptied at all: all its VMs given, and all free to move? */
static bool
plan_source(const struct plan_ctx *c, size_t i, const struct plan_key *ord,
    const size_t *off)
{
	if (!plan_insub(c, i) || c->listed[i] == 0 ||
	    c->count0[i] != (int64_t)c->listed[i])
		return false;
	for (size_t k = off[i]; k < off[i + 1]; k++)
		if (!plan_can_move(&c->vms[ord[k].i]))
			return false;
	return true;
}

int
plan_consolidate(const struct sched_host *hosts, size_t nhosts,
    const struct plan_vm *vms, size_t nvms, const struct plan_opts *opts,
    struct plan_result *out)
{
	struct plan_ctx c;
	struct plan_key *ord = NULL, *src = NULL;
	size_t *off = NULL, nsrc = 0, left;
	int target = opts ? opts->target_free_hosts : 0;

	if (plan_begin(&c, hosts, nhosts, vms, nvms, opts, out,
	    plan_key_free_memory) == -1)
		return -1;
	left = opts && opts->max_moves > 0 ? (size_t)opts->max_moves :
	    SIZE_MAX;
	if (!plan_calloc(&ord, nvms, sizeof(*ord)) ||
	    !plan_calloc(&src, nhosts, sizeof(*src)) ||
	    !plan_calloc(&off, nhosts + 1, sizeof(*off))) {
		err_set(ERR_INTERNAL, "out of memory");
		goto fail;
	}
	/* each host's VMs, largest memory first */
	for (size_t v = 0; v < nvms; v++) {
		ord[v].a = (int64_t)vms[v].host;
		ord[v].b = -vms[v].memory_mib;
		ord[v].i = v;
	}
	qsort(ord, nvms, sizeof(*ord), plan_key_cmp);
	for (size_t i = 0; i < nhosts; i++)
		off[i + 1] = off[i] + c.listed[i];
	/* sources, least loaded first; targets, ready hosts with VMs */
	for (size_t i = 0; i < nhosts; i++) {
		if (plan_source(&c, i, ord, off)) {
			src[nsrc].a = hosts[i].alloc_memory_mib;
			src[nsrc].b = hosts[i].alloc_vcpus;
			src[nsrc++].i = i;
		}
		if (plan_insub(&c, i) && hosts[i].state == SCHED_READY &&
		    c.count[i] > 0)
			plan_put(&c, i);
	}
	qsort(src, nsrc, sizeof(*src), plan_key_cmp);

	for (size_t s = 0; s < nsrc && left > 0; s++) {
		size_t i = src[s].i, keep = out->nmoves;
		bool was_target = c.tree.in[i], ok = true;

		if (target > 0 && out->nfreed >= (size_t)target)
			break;
		/* a host filled by this plan is not emptied by it, nor one
		 * with more VMs than moves are left */
		if (c.recv[i] > 0 || c.listed[i] > left)
			continue;
		if (was_target)
			plan_tree_erase(&c.tree, i);
		for (size_t k = off[i]; k < off[i + 1] && ok; k++) {
			size_t t = plan_best_fit(&c, ord[k].i);

			if (t == PLAN_NIL)
				ok = false;
			else
				plan_move(&c, ord[k].i, t);
		}
		if (ok) {
			/* freed[] lists them in the order they are emptied */
			out->freed[out->nfreed++] = i;
			left -= c.listed[i];
			continue;
		}
		plan_undo(&c, keep);
		if (was_target)
			plan_put(&c, i);
	}
	if (plan_finish(&c, false) == -1)
		goto fail;
	free(ord);
	free(src);
	free(off);
	plan_end(&c);
	return 0;
fail:
	free(ord);
	free(src);
	free(off);
	plan_end(&c);
	plan_result_free(out);
	return -1;
}

/* --- rebalancing ------------------------------------------------------- */

/*
 * One step: from the most used host hi to a less used lo, the VM whose
 * memory is closest to the amount that would even the two out, among
 * those that fit lo, bring the two strictly closer and leave the fleet's
 * spread (highest use - lowest, now spread) no wider.  Each such move
 * lowers the sum over hosts of allocated^2 / capacity, so the steps cannot
 * cycle.
 * Returns the VM, or PLAN_NIL.
 */
static size_t
plan_rebalance_pick(struct plan_ctx *c, size_t hi, size_t lo, double spread)
{
	struct sched_free fh, fl;
	double ch, cl, ah, al, even, best_d = 0;
	double omax = 0, omin = 0;
	bool others;
	size_t best = PLAN_NIL;

	sched_host_free(&c->h[hi], &fh);
	sched_host_free(&c->h[lo], &fl);
	ch = (double)fh.memory_cap;
	cl = (double)fl.memory_cap;
	ah = (double)c->h[hi].alloc_memory_mib;
	al = (double)c->h[lo].alloc_memory_mib;
	/* (ah - m) / ch == (al + m) / cl; with equal capacities, half the
	 * difference */
	even = (ah * cl - al * ch) / (ch + cl);
	/* the use of every other host */
	plan_tree_erase(&c->tree, hi);
	plan_tree_erase(&c->tree, lo);
	others = c->tree.n > 0;
	if (others) {
		omin = c->tree.key[plan_tree_first(&c->tree)];
		omax = c->tree.key[plan_tree_top(&c->tree)];
	}
	plan_put(c, hi);
	plan_put(c, lo);

	for (size_t v = c->head[hi]; v != PLAN_NIL; v = c->next[v]) {
		const struct plan_vm *vm = &c->vms[v];
		double m = (double)vm->memory_mib, d = m > even ? m - even :
		    even - m, nh, nl, mx, mn;

		if (c->moved[v] || !plan_can_move(vm) || !(d < even))
			continue;
		if (best != PLAN_NIL && (d > best_d || (d == best_d &&
		    v > best)))
			continue;
		nh = (ah - m) / ch;
		nl = (al + m) / cl;
		mx = nh > nl ? nh : nl;
		mn = nh < nl ? nh : nl;
		if (others && omax > mx)
			mx = omax;
		if (others && omin < mn)
			mn = omin;
		if (mx - mn > spread || !plan_fits(c, lo, vm))
			continue;
		best = v;
		best_d = d;
	}
	return best;
}

/*
 * Into least, the smallest vCPUs, memory and disk of the VMs on host i
 * that may still move; false when there are none.
 */
static bool
plan_least(const struct plan_ctx *c, size_t i, struct plan_vm *least)
{
	bool any = false;

	for (size_t v = c->head[i]; v != PLAN_NIL; v = c->next[v]) {
		const struct plan_vm *vm = &c->vms[v];

		if (c->moved[v] || !plan_can_move(vm))
			continue;
		if (!any || vm->vcpus < least->vcpus)
			least->vcpus = vm->vcpus;
		if (!any || vm->memory_mib < least->memory_mib)
			least->memory_mib = vm->memory_mib;
		if (!any || vm->disk_gib < least->disk_gib)
			least->disk_gib = vm->disk_gib;
		any = true;
	}
	return any;
}

int
plan_rebalance(const struct sched_host *hosts, size_t nhosts,
    const struct plan_vm *vms, size_t nvms, const struct plan_opts *opts,
    struct plan_result *out)
{
	struct plan_ctx c;
	size_t limit;

	if (plan_begin(&c, hosts, nhosts, vms, nvms, opts, out,
	    plan_key_memory_use) == -1)
		return -1;
	/* each VM moves at most once, so nvms bounds the steps */
	limit = opts && opts->max_moves > 0 &&
	    (size_t)opts->max_moves < nvms ? (size_t)opts->max_moves : nvms;
	for (size_t i = 0; i < nhosts; i++) {
		struct sched_free f;

		sched_host_free(&c.h[i], &f);
		if (plan_insub(&c, i) && hosts[i].state == SCHED_READY &&
		    f.memory_cap > 0)
			plan_put(&c, i);
	}
	while (out->nmoves < limit && c.tree.n >= 2) {
		size_t hi = plan_tree_top(&c.tree), lo, v = PLAN_NIL;
		double spread = c.tree.key[hi] -
		    c.tree.key[plan_tree_first(&c.tree)];
		struct plan_vm least = { .movable = false };

		/* the least each resource a VM of hi could ask: a host with
		 * less free is passed over without looking at each VM */
		if (!plan_least(&c, hi, &least))
			break;
		for (lo = plan_tree_first(&c.tree); lo != PLAN_NIL &&
		    c.tree.key[lo] < c.tree.key[hi];
		    lo = plan_tree_next(&c.tree, lo)) {
			struct sched_free f;

			sched_host_free(&c.h[lo], &f);
			if (f.vcpus < least.vcpus ||
			    f.memory_mib < least.memory_mib ||
			    f.disk_gib < least.disk_gib)
				continue;
			if ((v = plan_rebalance_pick(&c, hi, lo, spread)) !=
			    PLAN_NIL)
				break;
		}
		if (v == PLAN_NIL)
			break;
		plan_move(&c, v, lo);
	}
	if (plan_finish(&c, true) == -1) {
		plan_end(&c);
		plan_result_free(out);
		return -1;
	}
	plan_end(&c);
	return 0;
}

void
plan_result_free(struct plan_result *r)
{
	if (r == NULL)
		return;
	free(r->moves);
	free(r->freed);
	memset(r, 0, sizeof(*r));
}
