/*
 * plan_bench.c - how long a consolidation or rebalancing plan takes, in
 * process, for 1,000 and 10,000 hosts with 10 and 100 VMs per host.
 *
 * Hosts are heterogeneous (16-128 CPUs, 128-1024 GiB, vCPU ratio 4, a
 * little reserved); one in fifty is in maintenance.  Each host is filled
 * to its own level (5-95% of memory) with VMs of 1-32 GiB and 1-8 vCPUs,
 * placed where they fit, so the lightest hosts can be emptied and the
 * fullest take little more.  One VM in twenty is in a strict anti-affinity
 * group of five, one in fifty in a strict affinity group, one in thirty
 * may not move.  Each row is the best of three runs; the fleet is the
 * same every run (fixed seed).  Then the same fleet with every vCPU
 * taken: nothing fits anywhere, and each host tried is a failed search.
 * Prints one table row per case.
 *
 *   cc -O2 -std=gnu11 -D_GNU_SOURCE -Isrc bench/plan_bench.c \
 *       src/scheduler/plan.c src/scheduler/sched.c src/common/error.c \
 *       -o /tmp/plan_bench && /tmp/plan_bench
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scheduler/plan.h"
#include "scheduler/sched.h"

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
make_fleet(struct sched_host *h, size_t nh, struct plan_vm *v, size_t *nv,
    size_t want, unsigned seed)
{
	double *fill = calloc(nh, sizeof(*fill));
	size_t n = 0, tries = 0;

	if (fill == NULL)
		exit(1);
	for (size_t i = 0; i < nh; i++) {
		memset(&h[i], 0, sizeof(h[i]));
		h[i].id = (int64_t)i + 1;
		snprintf(h[i].name, sizeof(h[i].name), "host-%05zu", i);
		h[i].state = i % 50 == 7 ? SCHED_MAINTENANCE : SCHED_READY;
		snprintf(h[i].arch, sizeof(h[i].arch), "x86_64");
		h[i].domain_types = SCHED_DT_KVM | SCHED_DT_QEMU;
		h[i].cpus = 16 << (rand_r(&seed) % 4);
		h[i].memory_mib = (int64_t)(128 << (rand_r(&seed) % 4)) * 1024;
		h[i].disk_gib = 8192;
		h[i].cpu_ratio = 4.0;
		h[i].ram_ratio = 1.0;
		h[i].disk_ratio = 1.0;
		h[i].reserved_vcpus = 1;
		h[i].reserved_memory_mib = 4096;
		fill[i] = 0.05 + 0.9 * (rand_r(&seed) % 1000) / 1000.0;
	}
	while (n < want && tries++ < want * 50) {
		size_t i = (size_t)rand_r(&seed) % nh;
		struct sched_free f;
		struct plan_vm *vm = &v[n];
		int64_t mem = (int64_t)1024 << (rand_r(&seed) % 6);

		sched_host_free(&h[i], &f);
		if (h[i].alloc_memory_mib + mem > fill[i] * f.memory_cap)
			continue;
		memset(vm, 0, sizeof(*vm));
		vm->id = (int64_t)n + 1;
		vm->host = i;
		vm->vcpus = 1 << (rand_r(&seed) % 4);
		vm->memory_mib = mem;
		vm->disk_gib = 10 + rand_r(&seed) % 90;
		vm->movable = rand_r(&seed) % 30 != 0;
		if (f.vcpus < vm->vcpus || f.disk_gib < vm->disk_gib)
			continue;
		switch (rand_r(&seed) % 100) {
		case 0: case 1: case 2: case 3: case 4:
			vm->group_id = 1 + (int64_t)(n / 100);  /* ~5 each */
			vm->group_policy = SCHED_ANTI_AFFINITY;
			vm->group_strict = true;
			break;
		case 5: case 6:
			vm->group_id = 1000000 + (int64_t)i;
			vm->group_policy = SCHED_AFFINITY;
			vm->group_strict = true;
			break;
		}
		h[i].alloc_vcpus += vm->vcpus;
		h[i].alloc_memory_mib += vm->memory_mib;
		h[i].alloc_disk_gib += vm->disk_gib;
		h[i].vms++;
		n++;
	}
	*nv = n;
	free(fill);
}

typedef int (*plan_fn)(const struct sched_host *, size_t,
    const struct plan_vm *, size_t, const struct plan_opts *,
    struct plan_result *);

static void
run(const char *what, plan_fn fn, const struct sched_host *h, size_t nh,
    const struct plan_vm *v, size_t nv, int max_moves)
{
	struct plan_opts o;
	struct plan_result r;
	double best = 0;

	memset(&o, 0, sizeof(o));
	o.max_moves = max_moves;
	for (int k = 0; k < 3; k++) {
		double t0 = now_ms(), t;

		if (fn(h, nh, v, nv, &o, &r) == -1) {
			fprintf(stderr, "plan failed\n");
			exit(1);
		}
		t = now_ms() - t0;
		if (k == 0 || t < best)
			best = t;
		if (k < 2)
			plan_result_free(&r);
	}
	printf("%-12s %6zu %7zu %9d %8.1f %7zu %6zu   %5.1f%% %5.1f%%  "
	    "%5d %5d\n", what, nh, nv, max_moves, best, r.nmoves, r.nfreed,
	    r.before.memory.stddev_pct, r.after.memory.stddev_pct,
	    r.before.hosts_in_use, r.after.hosts_in_use);
	plan_result_free(&r);
}

int
main(void)
{
	static const struct {
		size_t hosts, vms;
	} sizes[] = { { 1000, 10000 }, { 10000, 100000 }, { 1000, 100000 } };

	printf("%-12s %6s %7s %9s %8s %7s %6s   %6s %6s  %5s %5s\n", "plan",
	    "hosts", "vms", "max_moves", "ms", "moves", "freed", "sd0",
	    "sd1", "used0", "used1");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct sched_host *h = calloc(sizes[s].hosts, sizeof(*h));
		struct plan_vm *v = calloc(sizes[s].vms, sizeof(*v));
		size_t nv;

		if (h == NULL || v == NULL)
			return 1;
		make_fleet(h, sizes[s].hosts, v, &nv, sizes[s].vms, 42);
		run("consolidate", plan_consolidate, h, sizes[s].hosts, v, nv,
		    1000);
		run("consolidate", plan_consolidate, h, sizes[s].hosts, v, nv,
		    0);
		run("rebalance", plan_rebalance, h, sizes[s].hosts, v, nv,
		    1000);
		run("rebalance", plan_rebalance, h, sizes[s].hosts, v, nv, 0);
		/* the worst case for a best fit: every host has memory to
		 * spare and not one vCPU, so no VM fits anywhere */
		for (size_t i = 0; i < sizes[s].hosts; i++)
			h[i].cpu_ratio = h[i].alloc_vcpus ?
			    (double)h[i].alloc_vcpus /
			    (h[i].cpus - h[i].reserved_vcpus) : 0;
		run("cons. full", plan_consolidate, h, sizes[s].hosts, v, nv,
		    1000);
		run("rebal. full", plan_rebalance, h, sizes[s].hosts, v, nv,
		    1000);
		free(h);
		free(v);
	}
	return 0;
}
