/*
 * sched.c - the placement filters and the weigher, as tables.
 */
#include <stdio.h>
#include <string.h>

#include "sched.h"

/* A filter returns 1 when the host may take the request, else 0 and a
 * verdict saying why. */
typedef int (*sched_filter_fn)(struct sched_host *h,
    const struct sched_request *req, const struct sched_policy *pol);

static int
sched_filter_state(struct sched_host *h, const struct sched_request *req,
    const struct sched_policy *pol)
{
	(void)req;
	(void)pol;
	if (h->ready)
		return 1;
	snprintf(h->verdict, sizeof(h->verdict), "host is not ready");
	return 0;
}

static int
sched_filter_memory(struct sched_host *h, const struct sched_request *req,
    const struct sched_policy *pol)
{
	if (h->free_memory_mib >= req->memory_mib)
		return 1;
	snprintf(h->verdict, sizeof(h->verdict), "not enough memory: %lld MiB "
	    "free of %lld (ratio %.2f, %lld reserved), %lld MiB asked",
	    (long long)h->free_memory_mib, (long long)h->memory_mib,
	    pol->ram_ratio, (long long)pol->reserved_memory_mib,
	    (long long)req->memory_mib);
	return 0;
}

static int
sched_filter_vcpus(struct sched_host *h, const struct sched_request *req,
    const struct sched_policy *pol)
{
	double cap = (h->cpus - pol->reserved_vcpus) * pol->cpu_ratio;
	double free_vcpus = cap - (double)h->alloc_vcpus;

	if (free_vcpus >= req->vcpus)
		return 1;
	snprintf(h->verdict, sizeof(h->verdict), "not enough vCPUs: %.0f free "
	    "of %.0f (%d CPUs, ratio %.2f, %d reserved), %d asked",
	    free_vcpus < 0 ? 0 : free_vcpus, cap < 0 ? 0 : cap, h->cpus,
	    pol->cpu_ratio, pol->reserved_vcpus, req->vcpus);
	return 0;
}

static const sched_filter_fn sched_filters[] = {
	sched_filter_state,
	sched_filter_memory,
	sched_filter_vcpus,
};

void
sched_policy_defaults(struct sched_policy *p)
{
	p->cpu_ratio = 4.0;
	p->ram_ratio = 1.0;
	p->reserved_vcpus = 1;
	p->reserved_memory_mib = 512;
}

/* Is a a better home than b?  Most free memory, then fewest VMs, name. */
static int
sched_better(const struct sched_host *a, const struct sched_host *b)
{
	if (a->free_memory_mib != b->free_memory_mib)
		return a->free_memory_mib > b->free_memory_mib;
	if (a->vms != b->vms)
		return a->vms < b->vms;
	return strcmp(a->name, b->name) < 0;
}

int
sched_pick(struct sched_host *hosts, size_t n,
    const struct sched_request *req, const struct sched_policy *pol)
{
	int best = -1;

	for (size_t i = 0; i < n; i++) {
		struct sched_host *h = &hosts[i];
		size_t f;

		h->verdict[0] = '\0';
		h->free_memory_mib = (int64_t)(h->memory_mib * pol->ram_ratio) -
		    pol->reserved_memory_mib - h->alloc_memory_mib;
		if (h->free_memory_mib < 0)
			h->free_memory_mib = 0;
		for (f = 0; f < sizeof(sched_filters) / sizeof(sched_filters[0]);
		    f++)
			if (!sched_filters[f](h, req, pol))
				break;
		if (h->verdict[0] != '\0')
			continue;
		if (best < 0 || sched_better(h, &hosts[best]))
			best = (int)i;
	}
	return best;
}

void
sched_explain(const struct sched_host *hosts, size_t n, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%shost '%s': %s",
		    i ? "; " : "", hosts[i].name,
		    hosts[i].verdict[0] ? hosts[i].verdict : "fits");
		if (w < 0)
			break;
		off += (size_t)w;
	}
	if (n == 0)
		snprintf(buf, len, "no hosts are registered");
}
