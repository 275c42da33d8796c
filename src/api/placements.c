/*
 * placements.c - POST /v1/placements: the dry run of a VM create.  It
 * takes the same body, returns the host that would be chosen and every
 * host's verdict (the filter that refused it and why, or its score and
 * each weigher's part), and creates nothing.  Also the parsing of the
 * placement part of a create body, shared with vms.c.
 */
#include <string.h>

#include "../common/error.h"
#include "../daemon/place.h"
#include "req.h"

/* the fields of a VM create body */
const struct body_field placements_fields[] = {
	{ "name", BODY_STRING, true, 0, 255 },
	{ "vcpus", BODY_INT, false, 1, 256 },
	{ "memory_mib", BODY_INT, false, 16, 4194304 },
	{ "disk_gib", BODY_INT, false, 1, 65536 },
	{ "max_vcpus", BODY_INT, false, 1, 256 },
	{ "max_memory_mib", BODY_INT, false, 16, 4194304 },
	{ "start", BODY_BOOL, false, 0, 0 },
	{ "host", BODY_STRING, false, 0, 63 },
	{ "force", BODY_BOOL, false, 0, 0 },
	{ "group", BODY_STRING, false, 0, 63 },
	{ "placement", BODY_OBJECT, false, 0, 0 },
	/* a VM create's own settings, checked in vms.c */
	{ "snapshot_schedule", BODY_STRING, false, 0, 128 },
	{ "snapshot_retention", BODY_OBJECT, false, 0, 0 },
	{ "on_drift", BODY_STRING, false, 0, 16 },
	{ "backup_schedule", BODY_STRING, false, 0, 128 },
	{ "backup_retention", BODY_OBJECT, false, 0, 0 },
	{ "backup_full_every", BODY_INT, false, 1, 1000 },
	/* the VM's hardware, checked in disks.c */
	{ "disk_bus", BODY_STRING, false, 0, 16 },
	{ "disks", BODY_ARRAY, false, 0, 0 },
	{ "firmware", BODY_STRING, false, 0, 16 },
	{ "machine", BODY_STRING, false, 0, 16 },
	{ "clock", BODY_STRING, false, 0, 16 },
	{ "hyperv", BODY_BOOL, false, 0, 0 },
	{ "graphics", BODY_STRING, false, 0, 16 },
	{ "image", BODY_STRING, false, 0, 63 },
	{ "clone", BODY_STRING, false, 0, 16 },
	/* its NoCloud seed, checked in cloud_init.c */
	{ "cloud_init", BODY_OBJECT, false, 0, 0 },
	{ "nics", BODY_ARRAY, false, 0, 0 },            /* checked in nics.c */
};
const size_t placements_nfields =
    sizeof(placements_fields) / sizeof(placements_fields[0]);

static const struct body_field placements_inner[] = {
	{ "labels", BODY_OBJECT, false, 0, 0 },
	{ "policy", BODY_STRING, false, 0, 16 },
	{ "domain_type", BODY_STRING, false, 0, 16 },
	{ "arch", BODY_STRING, false, 0, 31 },
};

/*
 * How far the VM may grow while it runs (resize): max_vcpus, by default
 * twice its vCPUs and at least 4 (an unplugged vCPU costs nothing), at
 * most 64; max_memory_mib, by default its memory (a guest sees its
 * ceiling at boot until its balloon driver gives the rest back, so
 * headroom is asked for, not given).  Neither below the current size.
 */
static int
placements_ceiling(struct req *r, int vcpus, int64_t memory_mib,
    struct vm_rec *vm)
{
	int64_t dv = vcpus * 2 < 4 ? 4 : vcpus * 2;

	vm->max_vcpus = (int)body_int(r, "max_vcpus", dv > 64 ? (vcpus > 64 ?
	    vcpus : 64) : dv);
	vm->max_memory_mib = body_int(r, "max_memory_mib", memory_mib);
	if (vm->max_vcpus < vcpus)
		return err_set_field(ERR_INVALID, "max_vcpus", "max_vcpus "
		    "(%d) is below vcpus (%d)", vm->max_vcpus, vcpus);
	if (vm->max_memory_mib < memory_mib)
		return err_set_field(ERR_INVALID, "max_memory_mib",
		    "max_memory_mib (%lld) is below memory_mib (%lld)",
		    (long long)vm->max_memory_mib, (long long)memory_mib);
	return 0;
}

int
placements_parse(struct req *r, struct place_req *pr,
    struct placements_buf *buf)
{
	json_t *pl;
	const char *s;

	if (body_check(r, placements_fields, placements_nfields) < 0 ||
	    req_check_name("name", body_string(r, "name")) < 0)
		return -1;
	memset(pr, 0, sizeof(*pr));
	memset(&buf->vm, 0, sizeof(buf->vm));
	if (disks_parse_create(r, &buf->vm, buf->disks, &buf->ndisks) < 0 ||
	    cloud_init_parse(r, &buf->vm, buf->disks, &buf->ndisks) < 0 ||
	    nics_parse_create(r, buf) < 0)
		return -1;
	pr->nics = buf->nics;
	pr->nnics = buf->nnics;
	for (int i = 0; i < buf->nbridges; i++)
		pr->bridges[i] = buf->bridges[i];
	pr->nbridges = buf->nbridges;
	pr->sr.vcpus = (int)body_int(r, "vcpus", 1);
	pr->sr.memory_mib = body_int(r, "memory_mib", 512);
	pr->sr.disk_gib = buf->vm.disk_gib;
	if (placements_ceiling(r, pr->sr.vcpus, pr->sr.memory_mib,
	    &buf->vm) < 0)
		return -1;
	/* hosts holding the root disk's image (a linked clone) preferred */
	if (imgcache_sha(buf->disks[0].base_volume, buf->image_sha,
	    sizeof(buf->image_sha)))
		pr->image_sha = buf->image_sha;
	pr->sr.policy = strcmp(r->app->cfg.placement_policy, "pack") == 0 ?
	    SCHED_PACK : SCHED_SPREAD;
	if ((s = body_string(r, "host")) != NULL) {
		if (req_check_name("host", s) < 0)
			return -1;
		pr->sr.host = s;
	}
	pr->sr.force = body_bool(r, "force", false);
	if (pr->sr.force && pr->sr.host == NULL)
		return err_set_field(ERR_INVALID, "force", "force needs a "
		    "host to force the VM onto");
	if ((s = body_string(r, "group")) != NULL) {
		if (req_check_name("group", s) < 0)
			return -1;
		pr->group = s;
	}
	if ((pl = json_object_get(r->body, "placement")) == NULL)
		return 0;
	if (body_check_object(pl, "placement", placements_inner,
	    sizeof(placements_inner) / sizeof(placements_inner[0])) < 0 ||
	    body_labels(json_object_get(pl, "labels"), "placement.labels",
	    buf->labels, PLACEMENTS_LABELS_MAX, &pr->sr.nlabels) < 0)
		return -1;
	pr->sr.labels = buf->labels;
	if ((s = json_string_value(json_object_get(pl, "policy"))) != NULL) {
		if (strcmp(s, "spread") == 0)
			pr->sr.policy = SCHED_SPREAD;
		else if (strcmp(s, "pack") == 0)
			pr->sr.policy = SCHED_PACK;
		else
			return err_set_field(ERR_INVALID, "placement.policy",
			    "placement.policy must be spread or pack");
	}
	if ((s = json_string_value(json_object_get(pl, "domain_type")))) {
		if (strcmp(s, "kvm") == 0)
			pr->sr.domain_type = SCHED_DT_KVM;
		else if (strcmp(s, "qemu") == 0)
			pr->sr.domain_type = SCHED_DT_QEMU;
		else
			return err_set_field(ERR_INVALID,
			    "placement.domain_type", "placement.domain_type "
			    "must be kvm or qemu");
	}
	if ((s = json_string_value(json_object_get(pl, "arch")))) {
		if (*s == '\0' || strspn(s, "abcdefghijklmnopqrstuvwxyz"
		    "0123456789_") != strlen(s))
			return err_set_field(ERR_INVALID, "placement.arch",
			    "placement.arch must be an architecture name such "
			    "as x86_64");
		pr->sr.arch = s;
	}
	return 0;
}

json_t *
placements_hosts_json(const struct place_out *out)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < out->n; i++) {
		const struct place_host *h = &out->hosts[i];
		json_t *j = json_pack("{s:s, s:b, s:{s:f, s:I, s:I}}",
		    "name", h->name, "fits", h->v.fits,
		    "free", "vcpus", h->free.vcpus,
		    "memory_mib", (json_int_t)h->free.memory_mib,
		    "disk_gib", (json_int_t)h->free.disk_gib);

		if (j == NULL)
			continue;
		if (h->v.fits) {
			json_t *parts = json_object();

			for (size_t k = 0; k < h->v.nparts; k++)
				json_object_set_new(parts, h->v.parts[k].name,
				    json_real(h->v.parts[k].value));
			json_object_set_new(j, "score", json_real(h->v.score));
			json_object_set_new(j, "weighers", parts);
		} else {
			json_object_set_new(j, "filter",
			    json_string(h->v.filter));
			json_object_set_new(j, "reason", json_string(h->v.why));
		}
		json_object_set_new(j, "chosen",
		    json_boolean((int)i == out->pick));
		json_array_append_new(arr, j);
	}
	return arr;
}

int
placements_create(struct req *r)
{
	struct placements_buf buf;
	struct place_req pr;
	struct place_out out;
	int rc;

	if (placements_parse(r, &pr, &buf) < 0)
		return -1;
	rc = place_vm(r->app, &pr, &out);
	if (rc < 0 && err_last()->code != ERR_NO_CAPACITY) {
		place_out_free(&out);
		return -1;
	}
	/* a dry run answers 200 either way: the verdicts are the answer */
	req_reply(r, 200, json_pack("{s:o, s:s, s:o}",
	    "host", rc == 0 ? json_string(out.hosts[out.pick].name) :
	    json_null(),
	    "policy", pr.sr.policy == SCHED_PACK ? "pack" : "spread",
	    "hosts", placements_hosts_json(&out)));
	if (rc < 0)
		json_object_set_new(r->reply, "detail",
		    json_string(err_last()->msg));
	place_out_free(&out);
	err_clear();
	return 0;
}
