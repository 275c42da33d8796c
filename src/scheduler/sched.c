/*
 * sched.c - the placement pipeline: filters, then weighers, both tables.
 *
 * Scores are in GiB of memory so an operator can read them: `spread`
 * scores a host by the memory it would have free after the placement,
 * `pack` by minus that (the tightest fit wins).  A tiny per-VM part breaks
 * ties toward the emptier host; a soft (non-strict) group adds or takes
 * 10^6 per member (more GiB than any host has) so it outweighs any memory
 * difference but never refuses.
 */
#include <stdio.h>
#include <string.h>

#include "sched.h"

#define SCHED_FULL_SCAN_MAX 1000   /* up to this many hosts, judge all */
#define SCHED_SAMPLE_MIN 100
/* a soft group's weight per member: more GiB than any host has */
#define SCHED_GROUP_WEIGHT 1e6
#define SCHED_IMAGE_WEIGHT 4.0   /* GiB of free memory */

/*
 * Capacity is (physical - reserved) x ratio for every resource, the rule
 * OpenStack Placement uses: what the host keeps for itself is never
 * overcommitted.
 */
void
sched_host_free(const struct sched_host *h, struct sched_free *f)
{
	f->vcpus_cap = (h->cpus - h->reserved_vcpus) * h->cpu_ratio;
	if (f->vcpus_cap < 0)
		f->vcpus_cap = 0;
	f->memory_cap = (int64_t)((h->memory_mib - h->reserved_memory_mib) *
	    h->ram_ratio);
	if (f->memory_cap < 0)
		f->memory_cap = 0;
	f->disk_cap = (int64_t)((h->disk_gib - h->reserved_disk_gib) *
	    h->disk_ratio);
	if (f->disk_cap < 0)
		f->disk_cap = 0;
	f->vcpus = f->vcpus_cap - (double)h->alloc_vcpus;
	f->memory_mib = f->memory_cap - h->alloc_memory_mib;
	f->disk_gib = f->disk_cap - h->alloc_disk_gib;
}

/* Say why a filter refused, unless nobody will read it (why == NULL):
 * formatting is most of the cost of a refusal. */
#define SCHED_WHY(why, ...) \
	do { if (why) snprintf(why, SCHED_WHY_MAX, __VA_ARGS__); } while (0)

/*
 * A filter: 1 when the host may take the request, else 0 with why filled
 * (when why is not NULL).
 * i is the host's index (for per-host request data such as group counts).
 */
typedef int (*sched_filter_fn)(const struct sched_host *h, size_t i,
    const struct sched_request *r, const struct sched_free *f, char *why);

static int
sched_f_state(const struct sched_host *h, size_t i,
    const struct sched_request *r, const struct sched_free *f, char *why)
{
	(void)i, (void)r, (void)f;
	if (h->state == SCHED_READY)
		return 1;
	SCHED_WHY(why, "host is %s", h->state ==
	    SCHED_MAINTENANCE ? "in maintenance" : h->state == SCHED_FENCED ?
	    "fenced (lost and evacuated)" : "unreachable");
	return 0;
}

static int
sched_f_arch(const struct sched_host *h, size_t i,
    const struct sched_request *r, const struct sched_free *f, char *why)
{
	(void)i, (void)f;
	if (r->arch == NULL || strcmp(r->arch, h->arch) == 0)
		return 1;
	SCHED_WHY(why, "arch is %s, %s asked", h->arch,
	    r->arch);
	return 0;
}

static int
sched_f_domain_type(const struct sched_host *h, size_t i,
    const struct sched_request *r, const struct sched_free *f, char *why)
{
	(void)i, (void)f;
	if (r->domain_type == 0 || (h->domain_types & r->domain_type))
		return 1;
	SCHED_WHY(why, "does not offer domain type %s",
	    r->domain_type == SCHED_DT_KVM ? "kvm" : "qemu");
	return 0;
}

static int
sched_f_vcpus(const struct sched_host *h, size_t i,
    const struct sched_request *r, const struct sched_free *f, char *why)
{
	(void)i;
	if (f->vcpus >= r->vcpus)
		return 1;
	SCHED_WHY(why, "%g vCPUs free of %g ((%d CPUs - "
	    "%d reserved) x %.2f, %lld claimed), %d asked",
	    f->vcpus < 0 ? 0 : f->vcpus, f->vcpus_cap, h->cpus,
	    h->reserved_vcpus, h->cpu_ratio, (long long)h->alloc_vcpus,
	    r->vcpus);
	return 0;
}

static int
sched_f_memory(const struct sched_host *h, size_t i,
    const struct sched_request *r, const struct sched_free *f, char *why)
{
	(void)i;
	if (f->memory_mib >= r->memory_mib)
		return 1;
	SCHED_WHY(why, "%lld MiB free of %lld ((%lld MiB - %lld "
	    "reserved) x %.2f, %lld claimed), %lld asked",
	    (long long)(f->memory_mib < 0 ? 0 : f->memory_mib),
	    (long long)f->memory_cap, (long long)h->memory_mib,
	    (long long)h->reserved_memory_mib, h->ram_ratio,
	    (long long)h->alloc_memory_mib,
	    (long long)r->memory_mib);
	return 0;
}

static int
sched_f_disk(const struct sched_host *h, size_t i,
    const struct sched_request *r, const struct sched_free *f, char *why)
{
	(void)i;
	if (f->disk_gib >= r->disk_gib)
		return 1;
	SCHED_WHY(why, "%lld GiB of disk free of %lld ((%lld GiB "
	    "- %lld reserved) x %.2f, %lld claimed), %lld asked",
	    (long long)(f->disk_gib < 0 ? 0 : f->disk_gib),
	    (long long)f->disk_cap, (long long)h->disk_gib,
	    (long long)h->reserved_disk_gib, h->disk_ratio,
	    (long long)h->alloc_disk_gib,
	    (long long)r->disk_gib);
	return 0;
}

static int
sched_f_labels(const struct sched_host *h, size_t i,
    const struct sched_request *r, const struct sched_free *f, char *why)
{
	(void)i, (void)f;
	for (size_t k = 0; k < r->nlabels; k++) {
		const char *have = NULL;

		for (size_t j = 0; j < h->nlabels; j++)
			if (strcmp(h->labels[j].key, r->labels[k].key) == 0)
				have = h->labels[j].value;
		if (have && strcmp(have, r->labels[k].value) == 0)
			continue;
		if (have)
			SCHED_WHY(why, "label %s is '%s', '%s' "
			    "asked", r->labels[k].key, have, r->labels[k].value);
		else
			SCHED_WHY(why, "has no label %s (asked "
			    "'%s')", r->labels[k].key, r->labels[k].value);
		return 0;
	}
	return 1;
}

static int
sched_f_group(const struct sched_host *h, size_t i,
    const struct sched_request *r, const struct sched_free *f, char *why)
{
	int here = r->group_counts ? r->group_counts[i] : 0;

	(void)h, (void)f;
	if (r->group == SCHED_GROUP_NONE || !r->group_strict)
		return 1;
	if (r->group == SCHED_ANTI_AFFINITY && here > 0) {
		SCHED_WHY(why, "already runs %d VM(s) of "
		    "anti-affinity group '%s'", here, r->group_name);
		return 0;
	}
	if (r->group == SCHED_AFFINITY && r->group_total > 0 && here == 0) {
		SCHED_WHY(why, "affinity group '%s' has its VMs "
		    "on another host", r->group_name);
		return 0;
	}
	return 1;
}

/* A NIC on a bridge network needs that bridge on the host. */
static int
sched_f_bridges(const struct sched_host *h, size_t i,
    const struct sched_request *r, const struct sched_free *f, char *why)
{
	(void)h, (void)f;
	if (r->lacks_bridge == NULL || r->lacks_bridge[i] == 0)
		return 1;
	SCHED_WHY(why, "has no bridge '%s'",
	    r->bridges[r->lacks_bridge[i] - 1]);
	return 0;
}

/* A move never goes back to the host it leaves. */
static int
sched_f_source(const struct sched_host *h, size_t i,
    const struct sched_request *r, const struct sched_free *f, char *why)
{
	(void)i, (void)f;
	if (r->exclude_host == NULL || strcmp(h->name, r->exclude_host) != 0)
		return 1;
	SCHED_WHY(why, "is where the VM is now");
	return 0;
}

static const struct {
	const char *name;
	sched_filter_fn fn;
} sched_filters[] = {
	{ "source", sched_f_source },
	{ "state", sched_f_state },
	{ "arch", sched_f_arch },
	{ "domain_type", sched_f_domain_type },
	{ "vcpus", sched_f_vcpus },
	{ "memory", sched_f_memory },
	{ "disk", sched_f_disk },
	{ "labels", sched_f_labels },
	{ "group", sched_f_group },
	{ "bridges", sched_f_bridges },
};

/* A weigher: its part of a fitting host's score. */
typedef double (*sched_weigher_fn)(const struct sched_host *h, size_t i,
    const struct sched_request *r, const struct sched_free *f);

static double
sched_w_free_memory(const struct sched_host *h, size_t i,
    const struct sched_request *r, const struct sched_free *f)
{
	double after = (double)(f->memory_mib - r->memory_mib) / 1024.0;

	(void)h, (void)i;
	return r->policy == SCHED_PACK ? -after : after;
}

static double
sched_w_vms(const struct sched_host *h, size_t i,
    const struct sched_request *r, const struct sched_free *f)
{
	(void)i, (void)f, (void)r;
	/* a tie-breaker toward the emptier host, under either policy: small
	 * enough never to beat 1 MiB of memory */
	return -1e-6 * h->vms;
}

static double
sched_w_group(const struct sched_host *h, size_t i,
    const struct sched_request *r, const struct sched_free *f)
{
	int here = r->group_counts ? r->group_counts[i] : 0;

	(void)h, (void)f;
	if (r->group == SCHED_GROUP_NONE || r->group_strict)
		return 0;
	if (r->group == SCHED_AFFINITY)
		return SCHED_GROUP_WEIGHT * here;
	return -SCHED_GROUP_WEIGHT * here;
}

/*
 * A host that already holds the VM's image saves copying it there: worth
 * as much as SCHED_IMAGE_WEIGHT GiB more free memory, so it decides
 * between hosts of about the same room, never against a group.
 */
static double
sched_w_image(const struct sched_host *h, size_t i,
    const struct sched_request *r, const struct sched_free *f)
{
	(void)h, (void)f;
	return r->has_image && r->has_image[i] ? SCHED_IMAGE_WEIGHT : 0;
}

static const struct {
	const char *name;
	sched_weigher_fn fn;
} sched_weighers[] = {
	{ "free_memory", sched_w_free_memory },
	{ "vms", sched_w_vms },
	{ "group", sched_w_group },
	{ "image", sched_w_image },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Judge host i; fills v; returns whether it fits. */
static bool
sched_judge(const struct sched_host *hosts, size_t i,
    const struct sched_request *r, struct sched_verdict *v, bool explain)
{
	const struct sched_host *h = &hosts[i];
	struct sched_free f;
	size_t k;

	v->fits = false;
	v->filter = NULL;
	v->why[0] = '\0';
	v->score = 0;
	v->nparts = 0;
	if (r->host && strcmp(r->host, h->name) != 0) {
		v->filter = "host";
		SCHED_WHY(explain ? v->why : NULL, "host '%s' was asked for",
		    r->host);
		return false;
	}
	sched_host_free(h, &f);
	if (!(r->host && r->force)) {
		for (k = 0; k < NELEM(sched_filters); k++) {
			if (!sched_filters[k].fn(h, i, r, &f,
			    explain ? v->why : NULL)) {
				v->filter = sched_filters[k].name;
				return false;
			}
		}
	}
	for (k = 0; k < NELEM(sched_weighers) && k < SCHED_MAX_WEIGHERS; k++) {
		double part = sched_weighers[k].fn(h, i, r, &f);

		v->parts[k].name = sched_weighers[k].name;
		v->parts[k].value = part;
		v->score += part;
	}
	v->nparts = k;
	v->fits = true;
	return true;
}

int
sched_judge_resize(const struct sched_host *h, const struct sched_request *req,
    int from_vcpus, int64_t from_memory_mib, struct sched_verdict *v)
{
	struct sched_host t = *h;

	/* the VM's claim as it is now is the host's to give */
	t.alloc_vcpus -= from_vcpus;
	t.alloc_memory_mib -= from_memory_mib;
	return sched_judge(&t, 0, req, v, true) ? 0 : -1;
}

int
sched_pick(const struct sched_host *hosts, size_t n,
    const struct sched_request *req, struct sched_verdict *out)
{
	static unsigned long rotor;
	struct sched_verdict tmp;
	size_t want, found = 0, start = 0;
	int best = -1;
	double best_score = 0;

	/* sample big fleets unless every verdict is wanted */
	want = n / 50 > SCHED_SAMPLE_MIN ? n / 50 : SCHED_SAMPLE_MIN;
	if (out || req->host || n <= SCHED_FULL_SCAN_MAX)
		want = n;
	else
		start = (size_t)(__atomic_fetch_add(&rotor, 7919,
		    __ATOMIC_RELAXED) % n);
	for (size_t s = 0; s < n && found < want; s++) {
		size_t i = (start + s) % n;
		struct sched_verdict *v = out ? &out[i] : &tmp;

		if (!sched_judge(hosts, i, req, v, out != NULL))
			continue;
		found++;
		if (best < 0 || v->score > best_score ||
		    (v->score == best_score &&
		    strcmp(hosts[i].name, hosts[best].name) < 0)) {
			best = (int)i;
			best_score = v->score;
		}
	}
	return best;
}

void
sched_explain(const struct sched_host *hosts, const struct sched_verdict *v,
    size_t n, char *buf, size_t len)
{
	size_t off = 0;

	if (len == 0)
		return;
	if (n == 0) {
		snprintf(buf, len, "no hosts are registered");
		return;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < n && off + 1 < len; i++) {
		int w = snprintf(buf + off, len - off, "%shost '%s': %s%s%s",
		    i ? "; " : "", hosts[i].name,
		    v[i].fits ? "fits" : v[i].filter,
		    v[i].fits ? "" : ": ", v[i].fits ? "" : v[i].why);

		if (w < 0)
			break;
		off += (size_t)w;
	}
}
