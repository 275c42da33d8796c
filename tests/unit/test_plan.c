/*
 * test_plan.c - unit tests of scheduler/plan.c: consolidation (which host
 * is emptied, where each VM goes, and what stops it: room after ratios and
 * reserved resources, strict groups, VMs that may not move, max_moves,
 * target_free_hosts, the subset, hosts that are not ready), rebalancing
 * (it narrows the spread, then stops), the utilisation before and after,
 * determinism, bad and empty input.
 *
 * The planner is pure, so every test builds its hosts and VMs by hand:
 * fx_vm() both lists a VM and adds its claim to its host, as the daemon's
 * view does.  Small cases check the exact moves; random fleets are
 * replayed move by move by check_plan(), which holds every plan to the
 * rules (room, states, subset, groups, each VM once) whatever it chose.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "scheduler/plan.h"
#include "scheduler/sched.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define FX_HOSTS 64
#define FX_VMS 512

struct fx {
	struct sched_host h[FX_HOSTS];
	size_t nh;
	struct plan_vm v[FX_VMS];
	size_t nv;
	bool sub[FX_HOSTS];
};

/* A ready host; ratios 1, nothing reserved or claimed.  Returns its index. */
static size_t
fx_host(struct fx *f, int cpus, int64_t memory_mib, int64_t disk_gib)
{
	struct sched_host *h = &f->h[f->nh];

	assert_true(f->nh < FX_HOSTS);
	memset(h, 0, sizeof(*h));
	h->id = (int64_t)f->nh + 1;
	snprintf(h->name, sizeof(h->name), "h%zu", f->nh);
	h->state = SCHED_READY;
	snprintf(h->arch, sizeof(h->arch), "x86_64");
	h->domain_types = SCHED_DT_QEMU | SCHED_DT_KVM;
	h->cpus = cpus;
	h->memory_mib = memory_mib;
	h->disk_gib = disk_gib;
	h->cpu_ratio = h->ram_ratio = h->disk_ratio = 1.0;
	f->sub[f->nh] = true;
	return f->nh++;
}

/* The usual host: 16 CPUs, 16 GiB, 100 GiB of disk. */
static size_t
fx_std(struct fx *f)
{
	return fx_host(f, 16, 16384, 100);
}

/* A movable VM without a group on host; its claim is added to the host. */
static size_t
fx_vm(struct fx *f, size_t host, int vcpus, int64_t memory_mib,
    int64_t disk_gib)
{
	struct plan_vm *v = &f->v[f->nv];

	assert_true(f->nv < FX_VMS);
	assert_true(host < f->nh);
	memset(v, 0, sizeof(*v));
	v->id = (int64_t)f->nv + 100;
	v->host = host;
	v->vcpus = vcpus;
	v->memory_mib = memory_mib;
	v->disk_gib = disk_gib;
	v->movable = true;
	f->h[host].alloc_vcpus += vcpus;
	f->h[host].alloc_memory_mib += memory_mib;
	f->h[host].alloc_disk_gib += disk_gib;
	f->h[host].vms++;
	return f->nv++;
}

/* A 1-vCPU, 1 GiB-of-disk VM of the given memory. */
static size_t
fx_mem(struct fx *f, size_t host, int64_t memory_mib)
{
	return fx_vm(f, host, 1, memory_mib, 1);
}

static void
fx_group(struct fx *f, size_t vm, int64_t group, enum sched_group_policy p,
    bool strict)
{
	f->v[vm].group_id = group;
	f->v[vm].group_policy = p;
	f->v[vm].group_strict = strict;
}

static struct plan_opts
opts_(int max_moves, int target, const bool *subset)
{
	struct plan_opts o;

	memset(&o, 0, sizeof(o));
	o.max_moves = max_moves;
	o.target_free_hosts = target;
	o.subset = subset;
	return o;
}

static bool
near(double a, double b)
{
	double d = a - b;

	return d < 1e-9 && d > -1e-9;
}

#define assert_near(a, b) do {						\
	double a_ = (a), b_ = (b);					\
	if (!near(a_, b_))						\
		fail_msg("%s is %.12g, expected %.12g", #a, a_, b_);	\
} while (0)

struct mv {
	size_t vm, from, to;
};

static void
assert_moves(const struct plan_result *r, const struct mv *want, size_t n)
{
	for (size_t k = 0; k < r->nmoves && k < n; k++)
		if (r->moves[k].vm != want[k].vm ||
		    r->moves[k].from != want[k].from ||
		    r->moves[k].to != want[k].to)
			fail_msg("move %zu is vm %zu %zu->%zu, expected vm "
			    "%zu %zu->%zu", k, r->moves[k].vm,
			    r->moves[k].from, r->moves[k].to, want[k].vm,
			    want[k].from, want[k].to);
	if (r->nmoves != n)
		fail_msg("%zu moves, expected %zu", r->nmoves, n);
	if (n == 0)
		assert_null(r->moves);
}

static void
assert_freed(const struct plan_result *r, const size_t *want, size_t n)
{
	if (r->nfreed != n)
		fail_msg("%zu hosts freed, expected %zu", r->nfreed, n);
	for (size_t k = 0; k < n; k++)
		assert_int_equal(r->freed[k], want[k]);
	if (n == 0)
		assert_null(r->freed);
}

static bool
strict_group(const struct plan_vm *v, enum sched_group_policy p)
{
	return v->group_id != 0 && v->group_strict && v->group_policy == p;
}

/*
 * The host a consolidation should pick for vm (index v), leaving host
 * from, in the fleet h with VMs where cur says, by brute force: of the
 * ready hosts in the subset that run VMs and can take it, the one with
 * the least free memory, then the lowest index.
 */
static size_t
best_fit(const struct fx *f, const struct sched_host *h, const size_t *cur,
    const bool *subset, size_t from, const struct plan_vm *vm, size_t v)
{
	size_t best = SIZE_MAX;
	int64_t best_free = 0;

	for (size_t t = 0; t < f->nh; t++) {
		struct sched_free fr;
		bool used = false, clash = false;

		if (t == from || h[t].state != SCHED_READY ||
		    (subset && !subset[t]))
			continue;
		for (size_t o = 0; o < f->nv; o++) {
			if (cur[o] != t)
				continue;
			used = true;
			if (o != v && strict_group(vm, SCHED_ANTI_AFFINITY) &&
			    strict_group(&f->v[o], SCHED_ANTI_AFFINITY) &&
			    f->v[o].group_id == vm->group_id)
				clash = true;
		}
		sched_host_free(&h[t], &fr);
		if (!used || clash || fr.vcpus < vm->vcpus ||
		    fr.memory_mib < vm->memory_mib || fr.disk_gib < vm->disk_gib)
			continue;
		if (best == SIZE_MAX || fr.memory_mib < best_free) {
			best = t;
			best_free = fr.memory_mib;
		}
	}
	return best;
}

/*
 * Replay r move by move on a copy of the fleet and hold it to the rules:
 * each move starts where the VM is, goes elsewhere, to a ready host in the
 * subset, with room for it after ratios, reserved resources and claims;
 * no strict anti-affinity group ever shares a host; strict affinity
 * members and immovable VMs stay; a VM moves once; a consolidation's
 * every move goes to the best fit (best_fit()).  Every host in freed
 * had VMs and has none; for a consolidation every host so emptied is in
 * freed, and hosts in use drop by exactly the hosts freed.
 */
static void
check_plan(const struct fx *f, const struct plan_result *r,
    const bool *subset, bool consolidation)
{
	struct sched_host h[FX_HOSTS];
	size_t cur[FX_VMS];
	bool moved[FX_VMS] = { false };
	int64_t before[FX_HOSTS] = { 0 }, after[FX_HOSTS] = { 0 };

	memcpy(h, f->h, sizeof(h));
	for (size_t v = 0; v < f->nv; v++)
		cur[v] = f->v[v].host;
	for (size_t k = 0; k < r->nmoves; k++) {
		const struct plan_move *m = &r->moves[k];
		const struct plan_vm *vm;
		struct sched_free fr;

		assert_true(m->vm < f->nv);
		vm = &f->v[m->vm];
		if (consolidation && m->from < f->nh) {
			size_t want = best_fit(f, h, cur, subset, m->from, vm,
			    m->vm);

			if (want != m->to)
				fail_msg("move %zu takes vm %zu to host %zu, "
				    "the best fit is %zu", k, m->vm, m->to,
				    want);
		}
		assert_true(m->from < f->nh && m->to < f->nh);
		assert_int_equal(m->from, cur[m->vm]);
		assert_int_not_equal(m->from, m->to);
		assert_int_equal(h[m->to].state, SCHED_READY);
		if (subset) {
			assert_true(subset[m->from]);
			assert_true(subset[m->to]);
		}
		assert_true(vm->movable);
		assert_false(strict_group(vm, SCHED_AFFINITY));
		assert_false(moved[m->vm]);
		moved[m->vm] = true;
		h[m->from].alloc_vcpus -= vm->vcpus;
		h[m->from].alloc_memory_mib -= vm->memory_mib;
		h[m->from].alloc_disk_gib -= vm->disk_gib;
		h[m->to].alloc_vcpus += vm->vcpus;
		h[m->to].alloc_memory_mib += vm->memory_mib;
		h[m->to].alloc_disk_gib += vm->disk_gib;
		cur[m->vm] = m->to;
		sched_host_free(&h[m->to], &fr);
		if (fr.vcpus < 0 || fr.memory_mib < 0 || fr.disk_gib < 0)
			fail_msg("move %zu overfills host %zu", k, m->to);
		if (strict_group(vm, SCHED_ANTI_AFFINITY))
			for (size_t o = 0; o < f->nv; o++)
				if (o != m->vm && cur[o] == m->to &&
				    f->v[o].group_id == vm->group_id &&
				    strict_group(&f->v[o],
				    SCHED_ANTI_AFFINITY))
					fail_msg("move %zu puts vm %zu with "
					    "vm %zu of its group", k, m->vm,
					    o);
	}
	for (size_t v = 0; v < f->nv; v++) {
		before[f->v[v].host]++;
		after[cur[v]]++;
	}
	for (size_t k = 0; k < r->nfreed; k++) {
		assert_true(r->freed[k] < f->nh);
		assert_true(before[r->freed[k]] > 0);
		assert_int_equal(after[r->freed[k]], 0);
		for (size_t j = 0; j < k; j++)
			assert_int_not_equal(r->freed[j], r->freed[k]);
	}
	if (!consolidation)
		return;
	for (size_t i = 0; i < f->nh; i++) {
		bool listed = false;

		for (size_t k = 0; k < r->nfreed; k++)
			listed |= r->freed[k] == i;
		if (before[i] > 0 && after[i] == 0)
			assert_true(listed);
	}
	assert_int_equal(r->after.hosts_in_use,
	    r->before.hosts_in_use - (int)r->nfreed);
}

static void
consolidate(const struct fx *f, const struct plan_opts *o,
    struct plan_result *r)
{
	assert_int_equal(plan_consolidate(f->h, f->nh, f->v, f->nv, o, r), 0);
	check_plan(f, r, o ? o->subset : NULL, true);
}

static void
rebalance(const struct fx *f, const struct plan_opts *o,
    struct plan_result *r)
{
	assert_int_equal(plan_rebalance(f->h, f->nh, f->v, f->nv, o, r), 0);
	check_plan(f, r, o ? o->subset : NULL, false);
}

/* ---------------------------------------------------------------------- */

/*
 * h1 is the lightest; its VMs go largest first, each to the fullest host
 * with room (h2, not the emptier h0).  h0 then has nowhere to go: h1 is
 * freed (never a target again) and h2 is full.
 */
static void
test_consolidate_empties_lightest(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;
	struct plan_opts o = opts_(0, 0, NULL);

	(void)state;
	fx_std(&f), fx_std(&f), fx_std(&f);
	fx_mem(&f, 0, 4096);            /* vm 0 */
	fx_mem(&f, 0, 4096);            /* vm 1 */
	fx_mem(&f, 1, 1024);            /* vm 2 */
	fx_mem(&f, 1, 2048);            /* vm 3 */
	fx_mem(&f, 2, 8192);            /* vm 4 */
	fx_mem(&f, 2, 2048);            /* vm 5 */
	consolidate(&f, &o, &r);
	assert_moves(&r, (const struct mv[]){ { 3, 1, 2 }, { 2, 1, 2 } }, 2);
	assert_freed(&r, (const size_t[]){ 1 }, 1);
	assert_int_equal(r.before.hosts_in_use, 3);
	assert_int_equal(r.after.hosts_in_use, 2);
	plan_result_free(&r);
	/* opts may be NULL: no limits, all hosts */
	consolidate(&f, NULL, &r);
	assert_int_equal(r.nmoves, 2);
	assert_freed(&r, (const size_t[]){ 1 }, 1);
	plan_result_free(&r);
}

/*
 * h0's larger VM fits h1, its second (8 vCPUs) nowhere: its first move
 * is taken back and h0 is not freed; h1 and h2 cannot be emptied either.
 */
static void
test_consolidate_unfit_vm_keeps_host(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;

	(void)state;
	fx_std(&f), fx_std(&f), fx_std(&f);
	fx_vm(&f, 0, 1, 4096, 1);
	fx_vm(&f, 0, 8, 1024, 1);
	fx_vm(&f, 1, 10, 8192, 1);      /* 6 vCPUs, 8 GiB free */
	fx_vm(&f, 2, 10, 15360, 1);     /* 1 GiB free */
	consolidate(&f, NULL, &r);
	assert_moves(&r, NULL, 0);
	assert_freed(&r, NULL, 0);
	assert_int_equal(r.before.hosts_in_use, 3);
	assert_int_equal(r.after.hosts_in_use, 3);
	plan_result_free(&r);
	/* with the vCPUs, both go to h1 and h0 is freed */
	f.h[1].cpus = 32;
	consolidate(&f, NULL, &r);
	assert_moves(&r, (const struct mv[]){ { 0, 0, 1 }, { 1, 0, 1 } }, 2);
	assert_freed(&r, (const size_t[]){ 0 }, 1);
	plan_result_free(&r);
}

/* Room is (physical - reserved) x ratio - claims, for every resource. */
static void
test_consolidate_ratios_and_reserved(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;

	(void)state;
	fx_std(&f), fx_std(&f);
	fx_mem(&f, 0, 3072);
	fx_mem(&f, 1, 12288);           /* 4096 free if nothing reserved */
	f.v[1].movable = false;         /* h1 is not to come to h0 */
	f.h[1].reserved_memory_mib = 2048;
	consolidate(&f, NULL, &r);
	assert_moves(&r, NULL, 0);
	plan_result_free(&r);
	/* overcommit memory 1.5x: (16384 - 2048) x 1.5 - 12288 = 9216 */
	f.h[1].ram_ratio = 1.5;
	consolidate(&f, NULL, &r);
	assert_moves(&r, (const struct mv[]){ { 0, 0, 1 } }, 1);
	plan_result_free(&r);

	/* vCPUs: 4 CPUs, 1 reserved, 2 claimed; a 2-vCPU VM needs ratio 2 */
	memset(&f, 0, sizeof(f));
	fx_host(&f, 16, 16384, 100);
	fx_host(&f, 4, 16384, 100);
	fx_vm(&f, 0, 2, 1024, 1);
	fx_vm(&f, 1, 2, 2048, 1);
	f.v[1].movable = false;
	f.h[1].reserved_vcpus = 1;
	consolidate(&f, NULL, &r);
	assert_moves(&r, NULL, 0);
	plan_result_free(&r);
	f.h[1].cpu_ratio = 2.0;         /* (4 - 1) x 2 - 2 = 4 free */
	consolidate(&f, NULL, &r);
	assert_moves(&r, (const struct mv[]){ { 0, 0, 1 } }, 1);
	plan_result_free(&r);

	/* disk: 100 GiB, 30 reserved, 60 claimed; a 20 GiB VM stays */
	memset(&f, 0, sizeof(f));
	fx_std(&f), fx_std(&f);
	fx_vm(&f, 0, 1, 1024, 20);
	fx_vm(&f, 1, 1, 2048, 60);
	f.v[1].movable = false;
	f.h[1].reserved_disk_gib = 30;
	consolidate(&f, NULL, &r);
	assert_moves(&r, NULL, 0);
	plan_result_free(&r);
	f.h[1].reserved_disk_gib = 20;  /* exactly 20 free: fits */
	consolidate(&f, NULL, &r);
	assert_moves(&r, (const struct mv[]){ { 0, 0, 1 } }, 1);
	plan_result_free(&r);
}

/*
 * Two members of strict anti-affinity group 7 on the two lightest hosts
 * would both best-fit h2: the second goes to h3 instead.
 */
static void
test_consolidate_anti_affinity_apart(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;

	(void)state;
	fx_std(&f), fx_std(&f), fx_std(&f), fx_std(&f);
	fx_group(&f, fx_mem(&f, 0, 1024), 7, SCHED_ANTI_AFFINITY, true);
	fx_group(&f, fx_mem(&f, 1, 1024), 7, SCHED_ANTI_AFFINITY, true);
	fx_mem(&f, 2, 12288);
	fx_mem(&f, 3, 8192);
	consolidate(&f, NULL, &r);
	assert_moves(&r, (const struct mv[]){ { 0, 0, 2 }, { 1, 1, 3 } }, 2);
	assert_freed(&r, (const size_t[]){ 0, 1 }, 2);
	plan_result_free(&r);
	/* not strict: ignored, both join h2 */
	f.v[0].group_strict = f.v[1].group_strict = false;
	consolidate(&f, NULL, &r);
	assert_moves(&r, (const struct mv[]){ { 0, 0, 2 }, { 1, 1, 2 } }, 2);
	plan_result_free(&r);
}

/* h0's VM fits only h1, which holds a member of its group: h0 stays. */
static void
test_consolidate_anti_affinity_blocks(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;

	(void)state;
	fx_std(&f), fx_std(&f), fx_std(&f);
	fx_group(&f, fx_mem(&f, 0, 1024), 7, SCHED_ANTI_AFFINITY, true);
	fx_group(&f, fx_mem(&f, 1, 4096), 7, SCHED_ANTI_AFFINITY, true);
	fx_mem(&f, 1, 8192);
	fx_mem(&f, 2, 16000);           /* 384 MiB free */
	consolidate(&f, NULL, &r);
	assert_moves(&r, NULL, 0);
	assert_freed(&r, NULL, 0);
	plan_result_free(&r);
	/* another group: free to join */
	f.v[1].group_id = 8;
	consolidate(&f, NULL, &r);
	assert_moves(&r, (const struct mv[]){ { 0, 0, 1 } }, 1);
	plan_result_free(&r);
}

/* Immovable VMs and strict affinity members never move; soft ones do. */
static void
test_consolidate_never_moves_pinned(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;
	size_t pinned, aff;

	(void)state;
	fx_std(&f), fx_std(&f), fx_std(&f);
	pinned = fx_mem(&f, 0, 512);
	fx_mem(&f, 0, 512);
	aff = fx_mem(&f, 1, 2048);
	fx_group(&f, aff, 3, SCHED_AFFINITY, true);
	fx_mem(&f, 2, 8192);
	f.v[pinned].movable = false;
	consolidate(&f, NULL, &r);
	/* neither h0 nor h1 can be emptied; h2 can, into h1, the fuller */
	assert_moves(&r, (const struct mv[]){ { 3, 2, 1 } }, 1);
	assert_freed(&r, (const size_t[]){ 2 }, 1);
	plan_result_free(&r);
	/* a soft affinity member moves like any VM */
	f.v[aff].group_strict = false;
	f.v[pinned].movable = true;
	consolidate(&f, NULL, &r);
	assert_moves(&r, (const struct mv[]){ { 0, 0, 2 }, { 1, 0, 2 },
	    { 2, 1, 2 } }, 3);
	assert_freed(&r, (const size_t[]){ 0, 1 }, 2);
	plan_result_free(&r);
}

/*
 * h0 (2 VMs) is lighter than h1 (1 VM); h2 and h3 have room for all.
 * A host is only tried when all its VMs fit the moves left.
 */
static void
test_consolidate_max_moves(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;
	struct plan_opts o;

	(void)state;
	fx_std(&f), fx_std(&f), fx_std(&f), fx_std(&f);
	fx_mem(&f, 0, 512);
	fx_mem(&f, 0, 512);
	fx_mem(&f, 1, 1536);
	fx_mem(&f, 2, 8192);
	fx_mem(&f, 3, 4096);
	o = opts_(1, 0, NULL);
	consolidate(&f, &o, &r);
	assert_moves(&r, (const struct mv[]){ { 2, 1, 2 } }, 1);
	assert_freed(&r, (const size_t[]){ 1 }, 1);
	plan_result_free(&r);
	o = opts_(2, 0, NULL);
	consolidate(&f, &o, &r);
	assert_moves(&r, (const struct mv[]){ { 0, 0, 2 }, { 1, 0, 2 } }, 2);
	assert_freed(&r, (const size_t[]){ 0 }, 1);
	plan_result_free(&r);
	o = opts_(3, 0, NULL);
	consolidate(&f, &o, &r);
	assert_moves(&r, (const struct mv[]){ { 0, 0, 2 }, { 1, 0, 2 },
	    { 2, 1, 2 } }, 3);
	assert_freed(&r, (const size_t[]){ 0, 1 }, 2);
	plan_result_free(&r);
	/* unlimited: h3 follows into h2 (4096 + 2560 + 8192 fits 16384) */
	o = opts_(-1, 0, NULL);
	consolidate(&f, &o, &r);
	assert_int_equal(r.nmoves, 4);
	assert_freed(&r, (const size_t[]){ 0, 1, 3 }, 3);
	plan_result_free(&r);
}

static void
test_consolidate_target_free_hosts(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;
	struct plan_opts o;

	(void)state;
	fx_std(&f), fx_std(&f), fx_std(&f), fx_std(&f);
	fx_mem(&f, 0, 512);
	fx_mem(&f, 1, 1024);
	fx_mem(&f, 2, 2048);
	fx_mem(&f, 3, 8192);
	o = opts_(0, 1, NULL);
	consolidate(&f, &o, &r);
	assert_moves(&r, (const struct mv[]){ { 0, 0, 3 } }, 1);
	assert_freed(&r, (const size_t[]){ 0 }, 1);
	plan_result_free(&r);
	o = opts_(0, 2, NULL);
	consolidate(&f, &o, &r);
	assert_moves(&r, (const struct mv[]){ { 0, 0, 3 }, { 1, 1, 3 } }, 2);
	assert_freed(&r, (const size_t[]){ 0, 1 }, 2);
	plan_result_free(&r);
	o = opts_(0, 0, NULL);
	consolidate(&f, &o, &r);
	assert_freed(&r, (const size_t[]){ 0, 1, 2 }, 3);
	plan_result_free(&r);
	/* asking for more than can be freed is not an error */
	o = opts_(0, 10, NULL);
	consolidate(&f, &o, &r);
	assert_int_equal(r.nfreed, 3);
	plan_result_free(&r);
}

/* Outside the subset a host neither gives nor takes. */
static void
test_consolidate_subset(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;
	struct plan_opts o;

	(void)state;
	fx_std(&f), fx_std(&f), fx_std(&f), fx_std(&f);
	fx_mem(&f, 0, 512);             /* lightest, outside */
	fx_mem(&f, 1, 1024);
	fx_mem(&f, 2, 4096);
	fx_mem(&f, 3, 12288);           /* fullest, outside */
	f.sub[0] = f.sub[3] = false;
	o = opts_(0, 0, f.sub);
	consolidate(&f, &o, &r);
	assert_moves(&r, (const struct mv[]){ { 1, 1, 2 } }, 1);
	assert_freed(&r, (const size_t[]){ 1 }, 1);
	/* in play: h1 and h2 only */
	assert_int_equal(r.before.hosts_in_use, 2);
	assert_int_equal(r.after.hosts_in_use, 1);
	plan_result_free(&r);
	/* an empty subset plans nothing */
	memset(f.sub, 0, sizeof(f.sub));
	consolidate(&f, &o, &r);
	assert_moves(&r, NULL, 0);
	assert_int_equal(r.before.hosts_in_use, 0);
	plan_result_free(&r);
}

/*
 * Hosts in maintenance or unreachable take nothing, though they are the
 * fullest; a host in maintenance may be emptied; an empty host takes
 * nothing (filling it would free nothing).
 */
static void
test_consolidate_not_ready(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;

	(void)state;
	fx_std(&f), fx_std(&f), fx_std(&f), fx_std(&f), fx_std(&f);
	fx_mem(&f, 0, 1024);
	fx_mem(&f, 1, 14336);
	fx_mem(&f, 2, 14336);
	fx_mem(&f, 3, 2048);
	f.h[1].state = SCHED_MAINTENANCE;
	f.h[2].state = SCHED_UNREACHABLE;
	/* h4 is empty */
	consolidate(&f, NULL, &r);
	assert_moves(&r, (const struct mv[]){ { 0, 0, 3 } }, 1);
	assert_freed(&r, (const size_t[]){ 0 }, 1);
	plan_result_free(&r);
	/* h1 and h2 are emptied into h3 once h3 has room */
	f.h[3].memory_mib = 32768;
	consolidate(&f, NULL, &r);
	assert_moves(&r, (const struct mv[]){ { 0, 0, 3 }, { 1, 1, 3 },
	    { 2, 2, 3 } }, 3);
	assert_freed(&r, (const size_t[]){ 0, 1, 2 }, 3);
	/* the emptied hosts are in play for utilisation */
	assert_int_equal(r.before.hosts_in_use, 4);
	assert_int_equal(r.after.hosts_in_use, 1);
	assert_near(r.after.memory.max_pct, 100.0 * 31744 / 32768);
	plan_result_free(&r);
}

/* A host running VMs the planner was not given is never called empty. */
static void
test_consolidate_unlisted_vms(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;

	(void)state;
	fx_std(&f), fx_std(&f);
	fx_mem(&f, 0, 1024);
	fx_mem(&f, 1, 4096);
	f.h[0].vms = 2;                 /* one more than listed */
	consolidate(&f, NULL, &r);
	/* h1 is emptied into h0 instead */
	assert_moves(&r, (const struct mv[]){ { 1, 1, 0 } }, 1);
	assert_freed(&r, (const size_t[]){ 1 }, 1);
	plan_result_free(&r);
}

/*
 * Exact utilisation for the first test's fleet (16 CPUs, 16384 MiB, 100
 * GiB each), and a host in maintenance that stays out of it.
 */
static void
test_utilisation_exact(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;

	(void)state;
	fx_std(&f), fx_std(&f), fx_std(&f), fx_std(&f);
	fx_vm(&f, 0, 2, 4096, 10);
	fx_vm(&f, 0, 2, 4096, 10);
	fx_vm(&f, 1, 1, 1024, 5);
	fx_vm(&f, 1, 1, 2048, 5);
	fx_vm(&f, 2, 4, 8192, 20);
	fx_vm(&f, 2, 2, 2048, 20);
	fx_vm(&f, 3, 16, 16384, 100);
	f.v[6].movable = false;
	f.h[3].state = SCHED_MAINTENANCE;
	consolidate(&f, NULL, &r);
	assert_moves(&r, (const struct mv[]){ { 3, 1, 2 }, { 2, 1, 2 } }, 2);
	assert_int_equal(r.before.hosts_in_use, 3);
	assert_int_equal(r.after.hosts_in_use, 2);
	/* memory: 50, 18.75, 62.5 -> 50, 0, 81.25 */
	assert_near(r.before.memory.mean_pct, 43.75);
	assert_near(r.before.memory.max_pct, 62.5);
	assert_near(r.before.memory.min_pct, 18.75);
	assert_near(r.before.memory.stddev_pct * r.before.memory.stddev_pct,
	    (6.25 * 6.25 + 25.0 * 25.0 + 18.75 * 18.75) / 3);
	assert_near(r.after.memory.mean_pct, 43.75);
	assert_near(r.after.memory.max_pct, 81.25);
	assert_near(r.after.memory.min_pct, 0);
	assert_near(r.after.memory.stddev_pct * r.after.memory.stddev_pct,
	    (6.25 * 6.25 + 43.75 * 43.75 + 37.5 * 37.5) / 3);
	/* vCPUs: 25, 12.5, 37.5 -> 25, 0, 50 */
	assert_near(r.before.vcpus.mean_pct, 25);
	assert_near(r.before.vcpus.max_pct, 37.5);
	assert_near(r.before.vcpus.min_pct, 12.5);
	assert_near(r.before.vcpus.stddev_pct * r.before.vcpus.stddev_pct,
	    (0 + 12.5 * 12.5 + 12.5 * 12.5) / 3);
	assert_near(r.after.vcpus.mean_pct, 25);
	assert_near(r.after.vcpus.max_pct, 50);
	assert_near(r.after.vcpus.min_pct, 0);
	/* disk: 20, 10, 40 -> 20, 0, 50 */
	assert_near(r.before.disk.mean_pct, 70.0 / 3);
	assert_near(r.before.disk.max_pct, 40);
	assert_near(r.before.disk.min_pct, 10);
	assert_near(r.after.disk.mean_pct, 70.0 / 3);
	assert_near(r.after.disk.max_pct, 50);
	assert_near(r.after.disk.min_pct, 0);
	assert_near(r.after.disk.stddev_pct * r.after.disk.stddev_pct,
	    ((20 - 70.0 / 3) * (20 - 70.0 / 3) + (70.0 / 3) * (70.0 / 3) +
	    (50 - 70.0 / 3) * (50 - 70.0 / 3)) / 3);
	plan_result_free(&r);

	/* a perfect square, stddev itself: 16 and 4 of 16 CPUs -> 100, 25,
	 * mean 62.5, stddev 37.5 */
	memset(&f, 0, sizeof(f));
	fx_std(&f), fx_std(&f);
	fx_vm(&f, 0, 16, 1024, 1);
	fx_vm(&f, 1, 4, 1024, 1);
	f.v[0].movable = f.v[1].movable = false;
	consolidate(&f, NULL, &r);
	assert_near(r.before.vcpus.stddev_pct, 37.5);
	assert_near(r.after.vcpus.stddev_pct, 37.5);
	assert_near(r.before.memory.stddev_pct, 0);
	plan_result_free(&r);
}

/* Capacity after ratio and reserved is the denominator. */
static void
test_utilisation_ratios(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;

	(void)state;
	fx_host(&f, 9, 10240, 100);
	f.h[0].reserved_vcpus = 1;      /* (9 - 1) x 2 = 16 vCPUs */
	f.h[0].cpu_ratio = 2;
	f.h[0].reserved_memory_mib = 2048;      /* 8192 MiB */
	f.h[0].disk_ratio = 0.5;        /* 50 GiB */
	fx_vm(&f, 0, 4, 2048, 10);
	consolidate(&f, NULL, &r);
	assert_int_equal(r.before.hosts_in_use, 1);
	assert_near(r.before.vcpus.mean_pct, 25);
	assert_near(r.before.memory.mean_pct, 25);
	assert_near(r.before.disk.mean_pct, 20);
	assert_near(r.after.memory.max_pct, 25);
	plan_result_free(&r);
}

/*
 * h0 11264 MiB, h1 1024: the ideal move is 5120 MiB, the nearest VM 4096
 * (vm 0, before vm 1); then 1024 evens them at 6144 each, and it stops.
 */
static void
test_rebalance_narrows_and_stops(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;

	(void)state;
	fx_std(&f), fx_std(&f);
	fx_mem(&f, 0, 4096);
	fx_mem(&f, 0, 4096);
	fx_mem(&f, 0, 2048);
	fx_mem(&f, 0, 1024);
	fx_mem(&f, 1, 1024);
	rebalance(&f, NULL, &r);
	assert_moves(&r, (const struct mv[]){ { 0, 0, 1 }, { 3, 0, 1 } }, 2);
	assert_freed(&r, NULL, 0);
	assert_near(r.before.memory.max_pct, 68.75);
	assert_near(r.before.memory.min_pct, 6.25);
	assert_near(r.after.memory.max_pct, 37.5);
	assert_near(r.after.memory.min_pct, 37.5);
	assert_near(r.after.memory.stddev_pct, 0);
	assert_int_equal(r.after.hosts_in_use, 2);
	plan_result_free(&r);

	/* max_moves */
	{
		struct plan_opts o = opts_(1, 0, NULL);

		rebalance(&f, &o, &r);
		assert_moves(&r, (const struct mv[]){ { 0, 0, 1 } }, 1);
		plan_result_free(&r);
	}

	/* one VM of 8192 against an empty host: moving it only swaps the
	 * two, so nothing moves */
	memset(&f, 0, sizeof(f));
	fx_std(&f), fx_std(&f);
	fx_mem(&f, 0, 8192);
	rebalance(&f, NULL, &r);
	assert_moves(&r, NULL, 0);
	plan_result_free(&r);
}

/*
 * Two hosts tie at the top: no single move lowers max - min, but each
 * step brings the two extremes closer without widening it; the plan ends
 * with the fleet even.
 */
static void
test_rebalance_ties(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;

	(void)state;
	fx_std(&f), fx_std(&f), fx_std(&f), fx_std(&f);
	for (int k = 0; k < 4; k++) {
		fx_mem(&f, 0, 2048);
		fx_mem(&f, 1, 2048);
	}
	rebalance(&f, NULL, &r);
	assert_moves(&r, (const struct mv[]){ { 0, 0, 2 }, { 1, 1, 3 },
	    { 2, 0, 2 }, { 3, 1, 3 } }, 4);
	assert_near(r.after.memory.max_pct, 25);
	assert_near(r.after.memory.min_pct, 25);
	plan_result_free(&r);
}

/*
 * The least used host (h1, no vCPUs) can take nothing: the VM goes to the
 * least used host that can.  h0 75%, h2 50%: 2048 MiB evens them at
 * 62.5%; the spread (75 - 0) narrows to 62.5 - 0.
 */
static void
test_rebalance_skips_full_target(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;

	(void)state;
	fx_std(&f);
	fx_host(&f, 0, 16384, 100);
	fx_std(&f);
	fx_mem(&f, 0, 4096);
	fx_mem(&f, 0, 4096);
	fx_mem(&f, 0, 2048);            /* vm 2 */
	fx_mem(&f, 0, 2048);
	fx_mem(&f, 2, 8192);
	rebalance(&f, NULL, &r);
	assert_moves(&r, (const struct mv[]){ { 2, 0, 2 } }, 1);
	assert_near(r.before.memory.max_pct, 75);
	assert_near(r.after.memory.max_pct, 62.5);
	assert_near(r.after.memory.min_pct, 0);
	plan_result_free(&r);
}

/* Rebalance moves only onto ready hosts in the subset, honouring the
 * room and the groups; pinned VMs stay. */
static void
test_rebalance_rules(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;
	struct plan_opts o;

	(void)state;
	fx_std(&f), fx_std(&f), fx_std(&f), fx_std(&f);
	fx_mem(&f, 0, 4096);            /* vm 0 */
	fx_mem(&f, 0, 4096);            /* vm 1 */
	fx_mem(&f, 0, 4096);            /* vm 2 */
	fx_mem(&f, 1, 4096);            /* vm 3 */
	f.h[2].state = SCHED_MAINTENANCE;       /* empty, but takes nothing */
	f.sub[3] = false;               /* empty, outside */
	o = opts_(0, 0, f.sub);
	rebalance(&f, &o, &r);
	assert_moves(&r, (const struct mv[]){ { 0, 0, 1 } }, 1);
	plan_result_free(&r);
	/* vm 0 pinned, vm 1 in a strict affinity group: vm 2 moves */
	f.v[0].movable = false;
	fx_group(&f, 1, 4, SCHED_AFFINITY, true);
	rebalance(&f, &o, &r);
	assert_moves(&r, (const struct mv[]){ { 2, 0, 1 } }, 1);
	plan_result_free(&r);
	/* vm 2 and vm 3 in a strict anti-affinity group: nothing moves */
	fx_group(&f, 2, 5, SCHED_ANTI_AFFINITY, true);
	fx_group(&f, 3, 5, SCHED_ANTI_AFFINITY, true);
	rebalance(&f, &o, &r);
	assert_moves(&r, NULL, 0);
	plan_result_free(&r);
	/* no vCPU free on h1: nothing moves */
	fx_group(&f, 2, 0, SCHED_GROUP_NONE, false);
	f.h[1].cpus = 1;
	rebalance(&f, &o, &r);
	assert_moves(&r, NULL, 0);
	plan_result_free(&r);
}

/* A random fleet: mixed sizes, ratios, reserved, states and groups. */
static void
random_fleet(struct fx *f, unsigned seed, size_t nh, size_t nv)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < nh; i++) {
		size_t h = fx_host(f, 8 << (rand_r(&seed) % 3),
		    (int64_t)(16384 << (rand_r(&seed) % 3)), 500);

		f->h[h].cpu_ratio = 1 + rand_r(&seed) % 4;
		f->h[h].ram_ratio = rand_r(&seed) % 4 ? 1.0 : 1.25;
		f->h[h].reserved_memory_mib = 1024 * (rand_r(&seed) % 3);
		f->h[h].reserved_vcpus = (int)(rand_r(&seed) % 2);
		if (rand_r(&seed) % 10 == 0)
			f->h[h].state = SCHED_MAINTENANCE;
		else if (rand_r(&seed) % 20 == 0)
			f->h[h].state = SCHED_UNREACHABLE;
		f->sub[h] = rand_r(&seed) % 8 != 0;
	}
	for (size_t k = 0; k < nv * 4 && f->nv < nv; k++) {
		size_t h = (size_t)rand_r(&seed) % nh;
		int vcpus = 1 << (rand_r(&seed) % 3);
		int64_t mem = 512 * (1 + rand_r(&seed) % 16);
		int64_t disk = 10 * (1 + rand_r(&seed) % 5);
		struct sched_free fr;
		size_t v;

		sched_host_free(&f->h[h], &fr);
		if (fr.vcpus < vcpus || fr.memory_mib < mem ||
		    fr.disk_gib < disk)
			continue;
		v = fx_vm(f, h, vcpus, mem, disk);
		switch (rand_r(&seed) % 10) {
		case 0:
			fx_group(f, v, 1 + rand_r(&seed) % 3,
			    SCHED_ANTI_AFFINITY, true);
			break;
		case 1:
			fx_group(f, v, 10, SCHED_AFFINITY, true);
			break;
		case 2:
			fx_group(f, v, 20, SCHED_ANTI_AFFINITY, false);
			break;
		case 3:
			f->v[v].movable = false;
			break;
		}
	}
}

static bool
same_result(const struct plan_result *a, const struct plan_result *b)
{
	return a->nmoves == b->nmoves && a->nfreed == b->nfreed &&
	    (a->nmoves == 0 || memcmp(a->moves, b->moves,
	    a->nmoves * sizeof(*a->moves)) == 0) &&
	    (a->nfreed == 0 || memcmp(a->freed, b->freed,
	    a->nfreed * sizeof(*a->freed)) == 0) &&
	    memcmp(&a->before, &b->before, sizeof(a->before)) == 0 &&
	    memcmp(&a->after, &b->after, sizeof(a->after)) == 0;
}

/* Random fleets: every plan obeys the rules and is the same twice. */
static void
test_random_fleets(void **state)
{
	static struct fx f;
	size_t total_moves = 0, total_freed = 0;

	(void)state;
	for (unsigned seed = 1; seed <= 60; seed++) {
		struct plan_result a, b;
		struct plan_opts o;
		const bool *sub = seed % 2 ? f.sub : NULL;

		random_fleet(&f, seed, 20 + seed % 40, 100 + 6 * seed);
		o = opts_(seed % 3 ? 0 : (int)(seed % 17),
		    seed % 5 ? 0 : 2, sub);
		consolidate(&f, &o, &a);
		consolidate(&f, &o, &b);
		assert_true(same_result(&a, &b));
		if (o.max_moves > 0)
			assert_true(a.nmoves <= (size_t)o.max_moves);
		if (o.target_free_hosts > 0)
			assert_true(a.nfreed <= (size_t)o.target_free_hosts);
		total_moves += a.nmoves;
		total_freed += a.nfreed;
		plan_result_free(&a);
		plan_result_free(&b);

		rebalance(&f, &o, &a);
		rebalance(&f, &o, &b);
		assert_true(same_result(&a, &b));
		if (o.max_moves > 0)
			assert_true(a.nmoves <= (size_t)o.max_moves);
		assert_true(a.after.memory.max_pct - a.after.memory.min_pct <=
		    a.before.memory.max_pct - a.before.memory.min_pct + 1e-9);
		total_moves += a.nmoves;
		plan_result_free(&a);
		plan_result_free(&b);
	}
	/* the fleets are not so full that nothing ever happens */
	assert_true(total_moves > 100);
	assert_true(total_freed > 20);
}

static void
test_empty_inputs(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;
	struct plan_opts o = opts_(5, 1, NULL);

	(void)state;
	assert_int_equal(plan_consolidate(NULL, 0, NULL, 0, NULL, &r), 0);
	assert_moves(&r, NULL, 0);
	assert_freed(&r, NULL, 0);
	assert_int_equal(r.before.hosts_in_use, 0);
	assert_near(r.before.memory.mean_pct, 0);
	assert_near(r.after.memory.max_pct, 0);
	plan_result_free(&r);
	assert_int_equal(plan_rebalance(NULL, 0, NULL, 0, &o, &r), 0);
	assert_moves(&r, NULL, 0);
	plan_result_free(&r);
	/* hosts without VMs: nothing to do, nothing freed */
	fx_std(&f), fx_std(&f), fx_std(&f);
	consolidate(&f, &o, &r);
	assert_moves(&r, NULL, 0);
	assert_freed(&r, NULL, 0);
	assert_near(r.before.memory.max_pct, 0);
	plan_result_free(&r);
	rebalance(&f, &o, &r);
	assert_moves(&r, NULL, 0);
	plan_result_free(&r);
	/* one host: nowhere to go */
	fx_mem(&f, 0, 1024);
	f.nh = 1;
	consolidate(&f, NULL, &r);
	assert_moves(&r, NULL, 0);
	plan_result_free(&r);
	rebalance(&f, NULL, &r);
	assert_moves(&r, NULL, 0);
	plan_result_free(&r);
}

static void
test_bad_arguments(void **state)
{
	struct fx f = { .nh = 0 };
	struct plan_result r;

	(void)state;
	fx_std(&f), fx_std(&f);
	fx_mem(&f, 0, 1024);
	err_clear();
	assert_int_equal(plan_consolidate(f.h, f.nh, f.v, f.nv, NULL, NULL),
	    -1);
	assert_int_equal(err_last()->code, ERR_INVALID);
	f.v[0].host = 2;
	memset(&r, 0xff, sizeof(r));
	err_clear();
	assert_int_equal(plan_consolidate(f.h, f.nh, f.v, f.nv, NULL, &r),
	    -1);
	assert_int_equal(err_last()->code, ERR_INVALID);
	assert_true(strstr(err_last()->msg, "100") != NULL);   /* vm id */
	assert_null(r.moves);
	assert_int_equal(r.nmoves, 0);
	plan_result_free(&r);
	err_clear();
	assert_int_equal(plan_rebalance(f.h, f.nh, f.v, f.nv, NULL, &r), -1);
	assert_int_equal(err_last()->code, ERR_INVALID);
	f.v[0].host = 0;
	f.v[0].memory_mib = -1;
	assert_int_equal(plan_rebalance(f.h, f.nh, f.v, f.nv, NULL, &r), -1);
	assert_int_equal(plan_consolidate(NULL, 2, f.v, f.nv, NULL, &r), -1);
	assert_int_equal(plan_consolidate(f.h, f.nh, NULL, 1, NULL, &r), -1);
	plan_result_free(&r);
}

static void
test_result_free(void **state)
{
	struct plan_result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	plan_result_free(&r);
	plan_result_free(&r);           /* twice: still zeroed */
	assert_null(r.moves);
	assert_null(r.freed);
	plan_result_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_consolidate_empties_lightest),
		cmocka_unit_test(test_consolidate_unfit_vm_keeps_host),
		cmocka_unit_test(test_consolidate_ratios_and_reserved),
		cmocka_unit_test(test_consolidate_anti_affinity_apart),
		cmocka_unit_test(test_consolidate_anti_affinity_blocks),
		cmocka_unit_test(test_consolidate_never_moves_pinned),
		cmocka_unit_test(test_consolidate_max_moves),
		cmocka_unit_test(test_consolidate_target_free_hosts),
		cmocka_unit_test(test_consolidate_subset),
		cmocka_unit_test(test_consolidate_not_ready),
		cmocka_unit_test(test_consolidate_unlisted_vms),
		cmocka_unit_test(test_utilisation_exact),
		cmocka_unit_test(test_utilisation_ratios),
		cmocka_unit_test(test_rebalance_narrows_and_stops),
		cmocka_unit_test(test_rebalance_ties),
		cmocka_unit_test(test_rebalance_skips_full_target),
		cmocka_unit_test(test_rebalance_rules),
		cmocka_unit_test(test_random_fleets),
		cmocka_unit_test(test_empty_inputs),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_result_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
