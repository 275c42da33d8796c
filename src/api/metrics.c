/*
 * metrics.c - GET /metrics: the whole fleet in the Prometheus text format
 * (0.0.4) in one scrape.  Hosts come from the scheduler's view (the same
 * capacity the placement computes), VMs from the store, their counters
 * from one domain-statistics call per host (daemon/vmstats.c: read a few
 * seconds apart, on threads of their own, a late host shown as not up
 * with its last values), and the process's own counters and histograms
 * from common/metrics.c.  The text is written by common/promtext.c.
 *
 * The statistics cache is the process's one (metrics_api_start() makes
 * it with the API; metrics_listen.c serves the same text on the
 * metrics_listen address).  docs/api.md lists every family.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/metrics.h"
#include "../common/version.h"
#include "../daemon/vmstats.h"
#include "metrics_int.h"
#include "req.h"

static struct vmstats *metrics_vs;   /* metrics_api_start()'s */

/* A host's resources: what the placement counts, per resource. */
static const struct {
	const char *res, *unit, *help;
	double scale;                /* to the unit */
} metrics_res[] = {
	{ "vcpus", "", "vCPUs", 1 },
	{ "memory", "_bytes", "memory", 1048576.0 },
	{ "disk", "_bytes", "disk (its VM storage pool)", 1073741824.0 },
};
static const char *const metrics_kinds[] = {
	"physical", "reserved", "capacity", "allocated",
};
static const char *const metrics_host_states[] = {
	"ready", "maintenance", "unreachable",
};
#define NB(a) (sizeof(a) / sizeof((a)[0]))

/* The families of hosts and VMs (the process's are metrics.c's). */
static const struct {
	const char *name, *help;
	enum pt_type type;
} metrics_fams[] = {
	{ "hangar_build_info", "hangard's version (the value is 1).",
	    PT_GAUGE },
	{ "hangar_store_database_bytes", "Size of the database file and its "
	    "write-ahead log.", PT_GAUGE },
	{ "hangar_host_up", "1 when the host answered its last statistics "
	    "call in time, else 0 (its VMs then show their last values).",
	    PT_GAUGE },
	{ "hangar_host_state", "The host's state as placement sees it: 1 for "
	    "the one it is in.", PT_GAUGE },
	{ "hangar_host_vms", "VMs placed on the host.", PT_GAUGE },
	{ "hangar_host_stats_age_seconds", "Age of the host's last domain "
	    "statistics.", PT_GAUGE },
	{ "hangar_vm_info", "A VM's labels for joins (the value is 1).",
	    PT_GAUGE },
	{ "hangar_vm_state", "The VM's observed state: 1 for the one it is "
	    "in.", PT_GAUGE },
	{ "hangar_vm_vcpus", "vCPUs the VM has.", PT_GAUGE },
	{ "hangar_vm_memory_bytes", "Memory the VM was given.", PT_GAUGE },
	{ "hangar_vm_cpu_seconds_total", "CPU time the VM's vCPUs used.",
	    PT_COUNTER },
	{ "hangar_vm_memory_used_bytes", "Memory in use in the guest (its "
	    "balloon driver's available minus unused), else the VM process's "
	    "resident size.", PT_GAUGE },
	{ "hangar_vm_memory_available_bytes", "Memory the guest sees (else "
	    "its current balloon size).", PT_GAUGE },
	{ "hangar_vm_disk_read_bytes_total", "Bytes read from a disk.",
	    PT_COUNTER },
	{ "hangar_vm_disk_written_bytes_total", "Bytes written to a disk.",
	    PT_COUNTER },
	{ "hangar_vm_disk_reads_total", "Read requests of a disk.",
	    PT_COUNTER },
	{ "hangar_vm_disk_writes_total", "Write requests of a disk.",
	    PT_COUNTER },
	{ "hangar_vm_network_receive_bytes_total", "Bytes received on an "
	    "interface.", PT_COUNTER },
	{ "hangar_vm_network_transmit_bytes_total", "Bytes sent on an "
	    "interface.", PT_COUNTER },
	{ "hangar_vm_network_receive_packets_total", "Packets received on "
	    "an interface.", PT_COUNTER },
	{ "hangar_vm_network_transmit_packets_total", "Packets sent on an "
	    "interface.", PT_COUNTER },
};

/* Declare every family: the fixed ones, then one per host resource. */
static void
metrics_declare(struct promtext *pt)
{
	char name[96], help[160];

	for (size_t i = 0; i < NB(metrics_fams); i++)
		promtext_family(pt, metrics_fams[i].name, metrics_fams[i].type,
		    metrics_fams[i].help);
	for (size_t r = 0; r < NB(metrics_res); r++)
		for (size_t k = 0; k < NB(metrics_kinds); k++) {
			snprintf(name, sizeof(name), "hangar_host_%s_%s%s",
			    metrics_res[r].res, metrics_kinds[k],
			    metrics_res[r].unit);
			snprintf(help, sizeof(help), "The host's %s, %s (as "
			    "placement counts them: capacity = (physical - "
			    "reserved) x ratio).", metrics_res[r].help,
			    metrics_kinds[k]);
			promtext_family(pt, name, PT_GAUGE, help);
		}
}

/* One host's gauges (st: its statistics entry, or NULL). */
static void
metrics_host(struct promtext *pt, const struct sched_host *h,
    const struct vmstats_host *st, int64_t now_ms)
{
	const char *lb[] = { "host", h->name, NULL };
	double res[NB(metrics_res)][NB(metrics_kinds)] = {
		{ h->cpus, h->reserved_vcpus, 0, (double)h->alloc_vcpus },
		{ (double)h->memory_mib, (double)h->reserved_memory_mib, 0,
		    (double)h->alloc_memory_mib },
		{ (double)h->disk_gib, (double)h->reserved_disk_gib, 0,
		    (double)h->alloc_disk_gib },
	};
	const double ratio[] = { h->cpu_ratio, h->ram_ratio, h->disk_ratio };
	char name[96];

	promtext_sample(pt, "hangar_host_up", lb, st && st->up ? 1 : 0);
	for (size_t s = 0; s < NB(metrics_host_states); s++)
		promtext_sample(pt, "hangar_host_state", (const char *[]){
		    "host", h->name, "state", metrics_host_states[s], NULL },
		    (size_t)h->state == s ? 1 : 0);
	promtext_sample(pt, "hangar_host_vms", lb, h->vms);
	if (st && st->at_ms)
		promtext_sample(pt, "hangar_host_stats_age_seconds", lb,
		    (double)(now_ms - st->at_ms) / 1000.0);
	for (size_t r = 0; r < NB(metrics_res); r++) {
		/* as the scheduler (and GET /v1/hosts) computes it */
		res[r][2] = (res[r][0] - res[r][1]) * ratio[r];
		if (res[r][2] < 0)
			res[r][2] = 0;
		for (size_t k = 0; k < NB(metrics_kinds); k++) {
			snprintf(name, sizeof(name), "hangar_host_%s_%s%s",
			    metrics_res[r].res, metrics_kinds[k],
			    metrics_res[r].unit);
			promtext_sample(pt, name, lb,
			    res[r][k] * metrics_res[r].scale);
		}
	}
}

/* What a scrape's VM walk needs. */
struct metrics_walk {
	struct promtext *pt;
	struct vmstats *vs;
	struct { int64_t vm_id; char *image; } *img;   /* by vm_id */
	size_t nimg, capimg;
};

static int
metrics_image_add(int64_t vm_id, const char *image, void *arg)
{
	struct metrics_walk *w = arg;

	if (w->nimg == w->capimg) {
		size_t cap = w->capimg ? w->capimg * 2 : 256;
		void *p = realloc(w->img, cap * sizeof(*w->img));

		if (p == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		w->img = p;
		w->capimg = cap;
	}
	if ((w->img[w->nimg].image = strdup(image ? image : "")) == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	w->img[w->nimg++].vm_id = vm_id;
	return 0;
}

/* The image of VM id ("" when none): img[] is sorted by vm_id. */
static const char *
metrics_image_of(const struct metrics_walk *w, int64_t id)
{
	size_t lo = 0, hi = w->nimg;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->img[mid].vm_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < w->nimg && w->img[lo].vm_id == id ? w->img[lo].image : "";
}

/* A device's four counters (those libvirt gave) into families f[4]. */
static void
metrics_dev(struct promtext *pt, const char *vm, const char *label,
    const struct domain_stats_dev *d, const char *const f[4])
{
	const char *lb[] = { "vm", vm, label, d->name, NULL };
	const int64_t v[4] = { d->rd_bytes, d->wr_bytes, d->rd_ops,
	    d->wr_ops };

	for (int i = 0; i < 4; i++)
		if (v[i] >= 0)
			promtext_sample(pt, f[i], lb, (double)v[i]);
}

static int
metrics_vm(const struct vm_rec *v, void *arg)
{
	static const char *const disk_f[4] = {
		"hangar_vm_disk_read_bytes_total",
		"hangar_vm_disk_written_bytes_total",
		"hangar_vm_disk_reads_total", "hangar_vm_disk_writes_total",
	};
	static const char *const nic_f[4] = {
		"hangar_vm_network_receive_bytes_total",
		"hangar_vm_network_transmit_bytes_total",
		"hangar_vm_network_receive_packets_total",
		"hangar_vm_network_transmit_packets_total",
	};
	struct metrics_walk *w = arg;
	struct promtext *pt = w->pt;
	const char *lb[] = { "vm", v->name, NULL };
	const struct domain_stats *d = w->vs == NULL ? NULL :
	    vmstats_domain(vmstats_host(w->vs, v->host_id), v->uuid);

	promtext_sample(pt, "hangar_vm_info", (const char *[]){ "vm", v->name,
	    "vm_id", v->uuid, "host", v->host, "image",
	    metrics_image_of(w, v->id), "group", v->group, NULL }, 1);
	for (int s = 0; s < VM_STATE__COUNT; s++)
		promtext_sample(pt, "hangar_vm_state", (const char *[]){ "vm",
		    v->name, "state", vm_state_name((enum vm_state)s), NULL },
		    strcmp(v->observed, vm_state_name((enum vm_state)s)) ==
		    0 ? 1 : 0);
	promtext_sample(pt, "hangar_vm_vcpus", lb, v->vcpus);
	promtext_sample(pt, "hangar_vm_memory_bytes", lb,
	    (double)v->memory_mib * 1048576.0);
	if (d == NULL)
		return 0;
	if (d->cpu_ns >= 0)
		promtext_sample(pt, "hangar_vm_cpu_seconds_total", lb,
		    (double)d->cpu_ns / 1e9);
	if (d->mem_used_kib >= 0)
		promtext_sample(pt, "hangar_vm_memory_used_bytes", lb,
		    (double)d->mem_used_kib * 1024.0);
	if (d->mem_available_kib >= 0)
		promtext_sample(pt, "hangar_vm_memory_available_bytes", lb,
		    (double)d->mem_available_kib * 1024.0);
	for (int i = 0; i < d->ndisks; i++)
		metrics_dev(pt, v->name, "disk", &d->disks[i], disk_f);
	for (int i = 0; i < d->nnics; i++)
		metrics_dev(pt, v->name, "interface", &d->nics[i], nic_f);
	return 0;
}

/* The hosts (copied from the view) and their statistics refreshed. */
static struct sched_host *
metrics_hosts(struct app *app, size_t *n)
{
	const struct sched_host *vh;
	struct sched_host *h;
	int64_t *ids;

	view_lock(app->view);
	vh = view_hosts(app->view, n);
	h = malloc((*n + 1) * sizeof(*h));
	if (h != NULL && *n > 0)
		memcpy(h, vh, *n * sizeof(*h));
	view_unlock(app->view);
	if (h == NULL || (ids = malloc((*n + 1) * sizeof(*ids))) == NULL) {
		free(h);
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < *n; i++) {
		h[i].labels = NULL;          /* the view's, not ours */
		ids[i] = h[i].id;
	}
	if (metrics_vs)
		vmstats_refresh(metrics_vs, ids, *n);
	free(ids);
	return h;
}

/* The hosts, the VMs and their statistics (vmstats locked meanwhile). */
static int
metrics_fleet(struct app *app, struct promtext *pt)
{
	struct metrics_walk w = { .pt = pt, .vs = metrics_vs };
	struct store_conn *c;
	struct sched_host *h;
	int64_t now = time_mono_ms();
	size_t n;
	int rc;

	if ((h = metrics_hosts(app, &n)) == NULL)
		return -1;
	c = store_read_begin(app->store);
	if (metrics_vs)
		vmstats_lock(metrics_vs);
	for (size_t i = 0; i < n; i++)
		metrics_host(pt, &h[i], metrics_vs ? vmstats_host(metrics_vs,
		    h[i].id) : NULL, now);
	rc = store_disk_each_image(c, metrics_image_add, &w);
	if (rc == 0)
		rc = store_vm_each(c, NULL, NULL, metrics_vm, &w);
	if (metrics_vs)
		vmstats_unlock(metrics_vs);
	store_read_end(c);
	for (size_t i = 0; i < w.nimg; i++)
		free(w.img[i].image);
	free(w.img);
	free(h);
	return rc;
}

/* The database file and its WAL, in bytes. */
static double
metrics_db_bytes(const char *path)
{
	char wal[CONFIG_STR_MAX + 8];
	struct stat st;
	double sum = 0;

	if (stat(path, &st) == 0)
		sum += (double)st.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &st) == 0)
		sum += (double)st.st_size;
	return sum;
}

char *
metrics_text(struct app *app, size_t *len)
{
	struct promtext *pt = promtext_new();

	if (pt == NULL)
		return NULL;
	metrics_declare(pt);
	metrics_write_all(pt);
	promtext_sample(pt, "hangar_build_info",
	    (const char *[]){ "version", HANGAR_VERSION, NULL }, 1);
	promtext_sample(pt, "hangar_store_database_bytes", NULL,
	    metrics_db_bytes(app->cfg.db_path));
	if (metrics_fleet(app, pt) < 0) {
		promtext_free(pt);
		return NULL;
	}
	return promtext_finish(pt, len);
}

struct MHD_Response *
metrics_response(struct app *app)
{
	struct MHD_Response *resp;
	size_t len;
	char *text = metrics_text(app, &len);

	if (text == NULL)
		return NULL;
	resp = MHD_create_response_from_buffer(len, text,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    METRICS_CONTENT_TYPE);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	    "no-store");
	return resp;
}

int
metrics_get(struct req *r)
{
	if ((r->raw = metrics_response(r->app)) == NULL)
		return -1;
	r->status = 200;
	return 0;
}

int
metrics_api_start(struct app *app)
{
	if ((metrics_vs = vmstats_open(app->fleet)) == NULL)
		return -1;
	return metrics_listen_start(app);
}

void
metrics_api_stop(void)
{
	metrics_listen_stop();
	vmstats_close(metrics_vs);
	metrics_vs = NULL;
}
