/*
 * place_bench.c - placements per second and latency of the scheduler, in
 * process, at 1,000 and 10,000 hosts with 100,000 VMs already placed.
 *
 * Each placement is what a create does with the view locked: pick a host
 * with sched_pick() (no explain array, so large fleets are sampled) and
 * claim the VM's resources on it.  Hosts are heterogeneous (16-128 CPUs,
 * 128-1024 GiB), three in ten carry a label and one in fifty is in
 * maintenance; one request in ten asks for the label, one in five packs
 * instead of spreading.  The fleet is never full, so every request fits:
 * this measures decisions, not refusals (a refusal judges every host).
 * Prints one table row per size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scheduler/sched.h"

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static struct sched_label rack_a = { "rack", "a" };

static void
make_hosts(struct sched_host *h, size_t n, unsigned *seed)
{
	for (size_t i = 0; i < n; i++) {
		memset(&h[i], 0, sizeof(h[i]));
		h[i].id = (int64_t)i + 1;
		snprintf(h[i].name, sizeof(h[i].name), "host-%05zu", i);
		h[i].state = i % 50 == 7 ? SCHED_MAINTENANCE : SCHED_READY;
		snprintf(h[i].arch, sizeof(h[i].arch), "x86_64");
		h[i].domain_types = SCHED_DT_KVM | SCHED_DT_QEMU;
		h[i].cpus = 16 << (rand_r(seed) % 4);
		h[i].memory_mib = (int64_t)(128 << (rand_r(seed) % 4)) * 1024;
		h[i].disk_gib = 4096;
		h[i].cpu_ratio = 4.0;
		h[i].ram_ratio = 1.0;
		h[i].disk_ratio = 1.0;
		h[i].reserved_vcpus = 1;
		h[i].reserved_memory_mib = 512;
		if (i % 10 < 3) {
			h[i].labels = &rack_a;
			h[i].nlabels = 1;
		}
	}
}

static void
claim(struct sched_host *h, const struct sched_request *r)
{
	h->alloc_vcpus += r->vcpus;
	h->alloc_memory_mib += r->memory_mib;
	h->alloc_disk_gib += r->disk_gib;
	h->vms++;
}

static void
run(size_t nhosts, size_t nvms, size_t nplace)
{
	struct sched_host *h = calloc(nhosts, sizeof(*h));
	double *lat = calloc(nplace, sizeof(*lat));
	struct sched_request r;
	unsigned seed = 42;
	double t0, total;
	size_t placed = 0, refused = 0;

	make_hosts(h, nhosts, &seed);
	/* the existing 100k VMs, spread round-robin over ready hosts */
	memset(&r, 0, sizeof(r));
	r.vcpus = 1;
	r.memory_mib = 1024;
	r.disk_gib = 10;
	for (size_t i = 0, k = 0; i < nvms; k++)
		if (h[k % nhosts].state == SCHED_READY) {
			claim(&h[k % nhosts], &r);
			i++;
		}
	for (size_t i = 0; i < nplace; i++) {
		int pick;

		memset(&r, 0, sizeof(r));
		r.vcpus = 1 + (int)(i % 4);
		r.memory_mib = 512 << (i % 3);
		r.disk_gib = 10;
		r.policy = i % 5 == 0 ? SCHED_PACK : SCHED_SPREAD;
		if (i % 10 == 1) {
			r.labels = &rack_a;
			r.nlabels = 1;
		}
		t0 = now_us();
		pick = sched_pick(h, nhosts, &r, NULL);
		if (pick >= 0)
			claim(&h[pick], &r);
		lat[i] = now_us() - t0;
		if (pick >= 0)
			placed++;
		else
			refused++;
	}
	total = 0;
	for (size_t i = 0; i < nplace; i++)
		total += lat[i];
	qsort(lat, nplace, sizeof(*lat), cmp_double);
	printf("| %6zu | %7zu | %7zu | %12.0f | %8.1f | %8.1f | %8.1f |\n",
	    nhosts, nvms, placed, nplace / (total / 1e6),
	    lat[nplace / 2], lat[nplace * 99 / 100], lat[nplace - 1]);
	if (refused)
		printf("(%zu refused: the fleet filled up)\n", refused);
	free(lat);
	free(h);
}

int
main(int argc, char **argv)
{
	size_t nplace = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;

	printf("placements in process (sched_pick + claim), %zu per row; "
	    "latency in microseconds\n\n", nplace);
	printf("| hosts  | VMs     | placed  | placements/s | p50 us   | p99 us   "
	    "| max us   |\n");
	printf("|--------|---------|---------|--------------|----------|----------"
	    "|----------|\n");
	run(1000, 100000, nplace);
	run(10000, 100000, nplace);
	return 0;
}
