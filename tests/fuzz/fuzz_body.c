/*
 * fuzz_body.c - libFuzzer target for every request-body parser and
 * validator of the API (src/api/): the JSON parse as server.c does it,
 * then each endpoint's checks, up to the point where the handler would
 * touch the store, a host or the operation engine.
 *
 * Input: the request body.  It is parsed with json_loadb and the flags of
 * server_parse_body (JSON_REJECT_DUPLICATES); a parse failure becomes the
 * same ERR_INVALID and problem+json body (body_where names the field of
 * a byte that is not UTF-8).  A body that parses is given,
 * in a fresh copy each, to:
 *   POST /v1/vms, /v1/placements   placements_parse (cloud_init_parse),
 *                                  vms_schedule_parse
 *   PATCH /v1/vms/{vm}             vms_update's null rewriting, its field
 *                                  table, vms_schedule_parse
 *   POST /v1/vms/{vm}/ACTION       vms_actions[] tables (start..delete)
 *   POST /v1/vms/{vm}/migrate      migrate_parse
 *   POST /v1/vms/{vm}/snapshots    snapshots_fields, snapshots_check_name,
 *                                  snapshots_check_text
 *   POST .../snapshots/{s}/revert, DELETE ..., POST /v1/hosts/{h}/undrain
 *                                  body_check with no fields
 *   POST /v1/networks              networks_parse (and the network XML)
 *   POST /v1/environments          envs_parse (each VM's body through
 *                                  placements_parse, as vms[i])
 *   POST /v1/hosts                 hosts_create_fields, req_check_name,
 *                                  hosts_check_uri, hosts_settings,
 *                                  hosts_check_path
 *   PATCH /v1/hosts/{h}            hosts_update_fields, hosts_settings
 *   POST /v1/hosts/{h}/drain       hosts_drain_fields, "stopped"
 *   POST /v1/groups                groups_fields, req_check_name, policy
 *   POST /v1/plans/...             plans_fields (both), plans_exec_fields
 *   POST /v1/images/prune          images_prune_parse
 *   POST .../orphans/{d}/adopt     drift_adopt_fields, req_check_name
 *   and body_labels / body_ratio on the body itself.
 * Most of these are static: their files are compiled into this one (the
 * archive's copies are then not linked).  The few lines a handler runs
 * between its checks (vms_update's null rewriting, the drain "stopped"
 * and group "policy" tests) are repeated here, marked MIRROR.
 *
 * Checks:
 *  - no crash, leak or undefined behaviour on any body;
 *  - every -1 leaves ERR_INVALID (or ERR_UNPROCESSABLE) with a message,
 *    and its problem+json body can be built (status 400/422);
 *  - what is accepted is in range: names 1-63 of [a-z0-9-], sizes within
 *    their tables, labels valid, ratios in (0, 1000], schedules that
 *    schedule_parse reads again, durations in range;
 *  - every accepted string that reaches libvirt XML (VM name, arch, host
 *    pool_path, snapshot name and description) is valid XML text, and
 *    domain_xml_domain / _pool / _snapshot built from it read back with
 *    exactly the expected elements and the strings unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "api/drift.c"
#include "api/envs.c"
#include "api/groups.c"
#include "api/hosts.c"
#include "api/images.c"
#include "api/migrate.c"
#include "api/networks.c"
#include "api/plans.c"
#include "api/snapshots.c"
#include "api/vms.c"
#include "api/vms_ops.c"
#include "common/schedule.h"
#include "daemon/place.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define FUZZ_UUID "6f1c2d3e-4a5b-4c6d-8e7f-8091a2b3c4d5"

static struct app fuzz_app;
static char fuzz_dir[] = "/tmp/hangar-fuzz-XXXXXX";

static int
fuzz_image_tx(struct store_conn *c, void *arg)
{
	return store_image_insert(c, arg);
}

static void
fuzz_store_rm(void)
{
	static const char *const f[] = { "fuzz.db", "fuzz.db-wal",
	    "fuzz.db-shm" };
	char p[128];

	store_close(fuzz_app.store);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", fuzz_dir, f[i]);
		unlink(p);
	}
	rmdir(fuzz_dir);
}

/*
 * A store of its own (a create body may name an image, which is looked
 * up), holding one ready image "img" of 1 GiB; removed at exit.
 */
static void
fuzz_store(void)
{
	struct image_rec im;
	char path[128];

	if (fuzz_app.store)
		return;
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/fuzz.db", fuzz_dir);
	if ((fuzz_app.store = store_open(path)) == NULL)
		abort();
	atexit(fuzz_store_rm);
	memset(&im, 0, sizeof(im));
	snprintf(im.name, sizeof(im.name), "img");
	snprintf(im.state, sizeof(im.state), "ready");
	snprintf(im.source_format, sizeof(im.source_format), "qcow2");
	memset(im.sha256, 'a', 64);
	im.virtual_size = 1LL << 30;
	snprintf(im.os, sizeof(im.os), "linux");
	snprintf(im.path, sizeof(im.path), "/nonexistent/img.qcow2");
	if (store_tx(fuzz_app.store, fuzz_image_tx, &im) < 0)
		abort();
}

/* A request for a handler: a fresh copy of body, path params set. */
static void
req_init(struct req *r, const json_t *body)
{
	memset(r, 0, sizeof(*r));
	r->app = &fuzz_app;
	r->method = "POST";
	r->path = "/v1/fuzz";
	snprintf(r->params[0], sizeof(r->params[0]), "web1");
	snprintf(r->params[1], sizeof(r->params[1]), "snap1");
	r->body = body ? json_deep_copy(body) : NULL;
	if (body && r->body == NULL)
		abort();
	err_clear();
}

/* fuzz_check_rc, plus: the problem body of a failure can be built. */
static void
req_done(struct req *r, int rc, const char *what)
{
	fuzz_check_rc(rc, what);
	if (rc < 0) {
		json_t *p = problem_json(err_last(), r->path);
		json_int_t st;

		FUZZ_CHECK(p != NULL, "%s: no problem body for '%s'", what,
		    err_last()->msg);
		st = json_integer_value(json_object_get(p, "status"));
		FUZZ_CHECK(st == 400 || st == 422, "%s: problem status %lld",
		    what, (long long)st);
		json_decref(p);
	}
	json_decref(r->body);
	json_decref(r->reply);
	r->body = r->reply = NULL;
}

static bool
name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n >= 1 && n <= 63 && s[0] != '-' &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static bool
label_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 63 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* A schedule, keep and max_age the daemon can use. */
static void
check_schedule(const char *text, size_t len, int keep, int64_t max_age_ms)
{
	struct schedule sc;

	FUZZ_CHECK(memchr(text, '\0', len) != NULL, "schedule unterminated");
	if (text[0]) {
		err_clear();
		FUZZ_CHECK(schedule_parse(text, NULL, &sc) == 0,
		    "stored schedule '%s' does not parse: %s", text,
		    err_last()->msg);
	}
	FUZZ_CHECK(keep >= 0 && keep <= 1000, "keep %d", keep);
	FUZZ_CHECK(max_age_ms == 0 || (max_age_ms >= SCHEDULE_DURATION_MIN_MS &&
	    max_age_ms <= SCHEDULE_DURATION_MAX_MS), "max_age %lld ms",
	    (long long)max_age_ms);
}

/* What vms_schedule_parse left in v is something the daemon can use. */
static void
check_schedule_fields(const struct vm_rec *v)
{
	check_schedule(v->snapshot_schedule, sizeof(v->snapshot_schedule),
	    v->snapshot_keep, v->snapshot_max_age_ms);
	check_schedule(v->backup_schedule, sizeof(v->backup_schedule),
	    v->backup_keep, v->backup_max_age_ms);
	FUZZ_CHECK(v->backup_full_every == 0 || (v->backup_full_every >= 1 &&
	    v->backup_full_every <= 1000), "backup_full_every %d",
	    v->backup_full_every);
	FUZZ_CHECK(v->on_drift[0] == '\0' || strcmp(v->on_drift, "record") == 0 ||
	    strcmp(v->on_drift, "enforce") == 0 ||
	    strcmp(v->on_drift, "alert") == 0, "on_drift '%s'", v->on_drift);
}

/* POST /v1/vms (and /v1/placements): vms_create up to place_vm. */
static void
vm_create(const json_t *body)
{
	struct placements_buf buf;
	struct place_req pr;
	struct vm_rec vm;
	struct req r;
	int rc;

	req_init(&r, body);
	rc = placements_parse(&r, &pr, &buf);
	if (rc == 0) {
		const char *name = body_string(&r, "name");
		struct vm_spec spec;
		struct vm_disk_spec disk = { 0 };
		char path[256];

		FUZZ_CHECK(name_ok(name), "VM name '%s' accepted", name);
		FUZZ_CHECK(pr.sr.vcpus >= 1 && pr.sr.vcpus <= 256 &&
		    pr.sr.memory_mib >= 16 && pr.sr.memory_mib <= 4194304 &&
		    pr.sr.disk_gib >= 1 && pr.sr.disk_gib <= 65536,
		    "sizes %d/%lld/%lld accepted", pr.sr.vcpus,
		    (long long)pr.sr.memory_mib, (long long)pr.sr.disk_gib);
		FUZZ_CHECK(pr.sr.host == NULL || name_ok(pr.sr.host),
		    "host '%s' accepted", pr.sr.host);
		FUZZ_CHECK(pr.group == NULL || name_ok(pr.group),
		    "group '%s' accepted", pr.group);
		FUZZ_CHECK(!pr.sr.force || pr.sr.host, "force without host");
		FUZZ_CHECK(strcmp(buf.vm.clock, "utc") == 0 ||
		    strcmp(buf.vm.clock, "localtime") == 0, "clock '%s'",
		    buf.vm.clock);
		FUZZ_CHECK(pr.sr.nlabels <= PLACEMENTS_LABELS_MAX, "%zu labels",
		    pr.sr.nlabels);
		for (size_t i = 0; i < pr.sr.nlabels; i++)
			FUZZ_CHECK(label_ok(pr.sr.labels[i].key) &&
			    label_ok(pr.sr.labels[i].value), "label '%s'='%s'",
			    pr.sr.labels[i].key, pr.sr.labels[i].value);
		FUZZ_CHECK(pr.sr.arch == NULL || (pr.sr.arch[0] &&
		    strspn(pr.sr.arch, "abcdefghijklmnopqrstuvwxyz0123456789_")
		    == strlen(pr.sr.arch)), "arch '%s'", pr.sr.arch);

		/* the domain vms_create would have defined */
		memset(&spec, 0, sizeof(spec));
		snprintf(path, sizeof(path), "%s/%s.qcow2",
		    fuzz_app.cfg.pool_path, FUZZ_UUID);
		spec.uuid = FUZZ_UUID;
		spec.name = name;
		spec.vcpus = pr.sr.vcpus;
		spec.memory_mib = pr.sr.memory_mib;
		FUZZ_CHECK(buf.vm.max_vcpus >= pr.sr.vcpus &&
		    buf.vm.max_vcpus <= 256 &&
		    buf.vm.max_memory_mib >= pr.sr.memory_mib &&
		    buf.vm.max_memory_mib <= 4194304, "ceilings %d/%lld "
		    "accepted", buf.vm.max_vcpus,
		    (long long)buf.vm.max_memory_mib);
		spec.max_vcpus = buf.vm.max_vcpus;
		spec.max_memory_mib = buf.vm.max_memory_mib;
		spec.domain_type = pr.sr.domain_type == SCHED_DT_QEMU ? "qemu" :
		    "kvm";
		spec.arch = pr.sr.arch ? pr.sr.arch : "x86_64";
		spec.clock = buf.vm.clock;
		spec.hyperv = buf.vm.hyperv;
		spec.graphics = strcmp(buf.vm.graphics, "vnc") == 0 ? "vnc" :
		    NULL;
		disk.dev = "vda";
		disk.path = path;
		spec.disks = &disk;
		spec.ndisks = 1;
		FUZZ_CHECK(fuzz_xml_text_ok(spec.name) &&
		    fuzz_xml_text_ok(spec.arch), "VM name '%s' or arch '%s' is "
		    "not XML text", spec.name, spec.arch);
		fuzz_check_domain(&spec, true);
		/* vms_create: then the schedule */
		memset(&vm, 0, sizeof(vm));
		err_clear();
		rc = vms_schedule_parse(r.body, &vm);
		if (rc == 0)
			check_schedule_fields(&vm);
	}
	req_done(&r, rc, "POST /v1/vms");
}

/* PATCH /v1/vms/{vm}: vms_update up to its store transaction. */
static void
vm_update(const json_t *body)
{
	bool null[VMS_NNULLABLE];
	struct vm_rec vm;
	struct req r;
	int rc;

	req_init(&r, body);
	if (resize_body(r.body)) {
		/* vms_update hands a resize to resize_vm: its checks */
		struct resize_request rq;

		rc = resize_parse(&r, &rq);
		if (rc == 0)
			FUZZ_CHECK((rq.vcpus == 0 || (rq.vcpus >= 1 &&
			    rq.vcpus <= 256)) && (rq.memory_mib == 0 ||
			    (rq.memory_mib >= 16 && rq.memory_mib <= 4194304)) &&
			    (rq.vcpus || rq.memory_mib) &&
			    rq.apply <= RESIZE_NEXT_BOOT, "resize %d/%lld/%d "
			    "accepted", rq.vcpus, (long long)rq.memory_mib,
			    (int)rq.apply);
		req_done(&r, rc, "PATCH /v1/vms/{vm} (resize)");
		return;
	}
	/* MIRROR of vms_update: null is allowed for a schedule and a
	 * retention ("none") */
	for (size_t i = 0; i < VMS_NNULLABLE; i++) {
		null[i] = json_is_null(json_object_get(r.body,
		    vms_nullable[i]));
		if (null[i])
			json_object_del(r.body, vms_nullable[i]);
	}
	rc = body_check(&r, vms_update_fields, N(vms_update_fields));
	for (size_t i = 0; rc == 0 && i < VMS_NNULLABLE; i++)
		if (null[i])
			json_object_set_new(r.body, vms_nullable[i],
			    json_null());
	if (rc == 0 && (r.body == NULL || json_object_size(r.body) == 0))
		rc = err_set(ERR_INVALID, "nothing to change");
	if (rc == 0) {
		memset(&vm, 0, sizeof(vm));
		snprintf(vm.snapshot_schedule, sizeof(vm.snapshot_schedule),
		    "@daily");
		vm.snapshot_keep = 3;
		vm.snapshot_max_age_ms = 86400000;
		snprintf(vm.backup_schedule, sizeof(vm.backup_schedule),
		    "@weekly");
		vm.backup_keep = 4;
		vm.backup_max_age_ms = 86400000;
		vm.backup_full_every = 7;
		rc = vms_schedule_parse(r.body, &vm);
		if (rc == 0)
			check_schedule_fields(&vm);
	}
	req_done(&r, rc, "PATCH /v1/vms/{vm}");
}

/* POST /v1/vms/{vm}/start|stop|reboot|pause|resume, DELETE /v1/vms/{vm} */
static void
vm_actions(const json_t *body)
{
	for (int k = OP_START; k <= OP_DELETE; k++) {
		const struct vms_action *act = &vms_actions[k];
		struct req r;
		int rc;

		req_init(&r, body);
		rc = body_check(&r, act->fields, act->nfields);
		if (rc == 0 && k == OP_STOP) {
			json_t *t = json_object_get(r.body, "timeout_s");

			FUZZ_CHECK(t == NULL || (json_integer_value(t) >= 1 &&
			    json_integer_value(t) <= 3600), "timeout_s");
		}
		req_done(&r, rc, op_kind_name((enum op_kind)k));
	}
}

/* POST /v1/vms/{vm}/migrate */
static void
vm_migrate(const json_t *body)
{
	struct migrate_request rq;
	struct req r;
	int rc;

	req_init(&r, body);
	rc = migrate_parse(&r, &rq);
	if (rc == 0) {
		FUZZ_CHECK(rq.host == NULL || name_ok(rq.host), "host '%s'",
		    rq.host);
		FUZZ_CHECK(!rq.force || rq.host, "force without host");
		FUZZ_CHECK(rq.copy_storage >= -1 && rq.copy_storage <= 1,
		    "copy_storage %d", rq.copy_storage);
		FUZZ_CHECK(rq.max_downtime_ms >= 0 &&
		    rq.max_downtime_ms <= 600000 && rq.bandwidth_mib_s >= 0 &&
		    rq.bandwidth_mib_s <= 1000000, "migration limits");
	}
	req_done(&r, rc, "POST /v1/vms/{vm}/migrate");
}

/* POST /v1/vms/{vm}/snapshots: snapshots_create up to the request. */
static void
snapshot_create(const json_t *body)
{
	struct req r;
	const char *name, *desc;
	int rc;

	req_init(&r, body);
	rc = body_check(&r, snapshots_fields, N(snapshots_fields));
	if (rc == 0) {
		name = body_string(&r, "name");
		desc = body_string(&r, "description");
		rc = snapshots_check_name("name", name);
		if (rc == 0 && desc)
			rc = snapshots_check_text("description", desc);
	}
	if (rc == 0) {
		struct snap_spec ss;
		bool ok;

		FUZZ_CHECK(strlen(name) >= 1 && strlen(name) <= 63 &&
		    name[0] != '.' && name[0] != '-' &&
		    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRS"
		    "TUVWXYZ0123456789._-") == strlen(name),
		    "snapshot name '%s' accepted", name);
		for (const unsigned char *p = (const unsigned char *)desc;
		    p && *p; p++)
			FUZZ_CHECK(*p >= 0x20 ? *p != 0x7f : *p == '\t' ||
			    *p == '\n', "description byte 0x%02x accepted", *p);
		ok = fuzz_xml_text_ok(name) && (desc == NULL ||
		    fuzz_xml_text_ok(desc));
		FUZZ_CHECK(ok, "snapshot "
		    "description '%s' accepted but is not XML text (libvirt "
		    "cannot parse the <domainsnapshot> made of it)", desc);
		memset(&ss, 0, sizeof(ss));
		ss.name = name;
		ss.description = desc;
		ss.memory = body_bool(&r, "memory", false);
		fuzz_check_snapshot(&ss, ok);
	}
	req_done(&r, rc, "POST /v1/vms/{vm}/snapshots");
}

/* Routes whose body must be empty or {}. */
static void
no_fields(const json_t *body)
{
	struct req r;

	req_init(&r, body);
	req_done(&r, body_check(&r, NULL, 0), "POST (no fields)");
}

/* POST /v1/images/prune: its body, up to prune_request. */
static void
image_prune(const json_t *body)
{
	struct prune_request rq;
	struct req r;
	int rc;

	req_init(&r, body);
	rc = images_prune_parse(&r, &rq);
	if (rc == 0) {
		const char *h = rq.host;
		const char *im = rq.image;

		FUZZ_CHECK(h == NULL || (h[0] && strlen(h) < NAME_MAX_LEN),
		    "host '%s' accepted", h);
		FUZZ_CHECK(im == NULL || (im[0] && strlen(im) < NAME_MAX_LEN),
		    "image '%s' accepted", im);
	}
	req_done(&r, rc, "POST /v1/images/prune");
}

/* What hosts_settings left in h is sane. */
static void
check_host(const struct host_rec *h)
{
	json_t *labels;
	const char *k;
	json_t *v;

	FUZZ_CHECK(h->cpu_ratio > 0 && h->cpu_ratio <= 1000 &&
	    h->ram_ratio > 0 && h->ram_ratio <= 1000 && h->disk_ratio > 0 &&
	    h->disk_ratio <= 1000, "ratios %g %g %g", h->cpu_ratio,
	    h->ram_ratio, h->disk_ratio);
	FUZZ_CHECK(h->reserved_vcpus >= 0 && h->reserved_vcpus <= 4096 &&
	    h->reserved_memory_mib >= 0 &&
	    h->reserved_memory_mib <= (1LL << 32) &&
	    h->reserved_disk_gib >= 0 && h->reserved_disk_gib <= (1LL << 32),
	    "reserved %d/%lld/%lld", h->reserved_vcpus,
	    (long long)h->reserved_memory_mib, (long long)h->reserved_disk_gib);
	FUZZ_CHECK(h->storage[0] == '\0' || name_ok(h->storage), "storage '%s'",
	    h->storage);
	labels = json_loads(h->labels, 0, NULL);
	FUZZ_CHECK(json_is_object(labels), "labels '%s' is not a JSON object",
	    h->labels);
	json_object_foreach(labels, k, v)
		FUZZ_CHECK(label_ok(k) && json_is_string(v) &&
		    label_ok(json_string_value(v)), "label '%s' stored", k);
	json_decref(labels);
}

static void
host_defaults(struct host_rec *h)
{
	/* as fleet_host_defaults */
	memset(h, 0, sizeof(*h));
	h->cpu_ratio = fuzz_app.cfg.cpu_ratio;
	h->ram_ratio = fuzz_app.cfg.ram_ratio;
	h->disk_ratio = fuzz_app.cfg.disk_ratio;
	h->reserved_vcpus = fuzz_app.cfg.reserved_vcpus;
	h->reserved_memory_mib = fuzz_app.cfg.reserved_memory_mib;
	h->reserved_disk_gib = fuzz_app.cfg.reserved_disk_gib;
	snprintf(h->labels, sizeof(h->labels), "{}");
}

/* POST /v1/hosts: hosts_create up to fleet_register. */
static void
host_create(const json_t *body)
{
	struct host_rec h;
	struct req r;
	const char *pool_path = NULL;
	int rc;

	req_init(&r, body);
	host_defaults(&h);
	rc = body_check(&r, hosts_create_fields, N(hosts_create_fields));
	if (rc == 0)
		rc = req_check_name("name", body_string(&r, "name"));
	if (rc == 0)
		rc = hosts_check_uri(body_string(&r, "uri"));
	if (rc == 0)
		rc = hosts_settings(&r, &h);
	if (rc == 0 && (pool_path = body_string(&r, "pool_path")) != NULL)
		rc = hosts_check_path("pool_path", pool_path);
	if (rc == 0) {
		const char *uri = body_string(&r, "uri");

		FUZZ_CHECK(name_ok(body_string(&r, "name")), "host name");
		for (const unsigned char *p = (const unsigned char *)uri; *p;
		    p++)
			FUZZ_CHECK(*p > ' ' && *p != 0x7f, "uri byte 0x%02x", *p);
		check_host(&h);
	}
	if (rc == 0 && pool_path) {
		/* the pool's <path>, and the disks' <source file> under it */
		struct vm_spec spec;
		struct vm_disk_spec vd = { 0 };
		char disk[2048];
		bool ok = fuzz_xml_text_ok(pool_path);

		FUZZ_CHECK(pool_path[0] == '/' && !strstr(pool_path, "/../") &&
		    !strstr(pool_path, "/./"), "pool_path '%s'", pool_path);
		FUZZ_CHECK(ok, "pool_path '%s' "
		    "accepted but is not XML text (the pool and domain XML "
		    "made of it do not parse)", pool_path);
		fuzz_check_pool(fuzz_app.cfg.pool_name, pool_path, ok);
		snprintf(disk, sizeof(disk), "%s/%s.qcow2", pool_path,
		    FUZZ_UUID);
		memset(&spec, 0, sizeof(spec));
		spec.uuid = FUZZ_UUID;
		spec.name = "web1";
		spec.vcpus = 1;
		spec.memory_mib = 512;
		spec.domain_type = "kvm";
		spec.arch = "x86_64";
		vd.dev = "vda";
		vd.path = disk;
		spec.disks = &vd;
		spec.ndisks = 1;
		fuzz_check_domain(&spec, ok);
	}
	req_done(&r, rc, "POST /v1/hosts");
}

/* PATCH /v1/hosts/{h}: hosts_update's checks and settings. */
static void
host_update(const json_t *body)
{
	struct host_rec h;
	struct req r;
	int rc;

	req_init(&r, body);
	host_defaults(&h);
	rc = body_check(&r, hosts_update_fields, N(hosts_update_fields));
	if (rc == 0)
		rc = hosts_settings(&r, &h);
	if (rc == 0)
		check_host(&h);
	req_done(&r, rc, "PATCH /v1/hosts/{h}");
}

/* POST /v1/hosts/{h}/drain */
static void
host_drain(const json_t *body)
{
	const char *stopped;
	struct req r;
	int rc;

	req_init(&r, body);
	rc = body_check(&r, hosts_drain_fields, N(hosts_drain_fields));
	/* MIRROR of hosts_drain */
	if (rc == 0 && (stopped = body_string(&r, "stopped")) != NULL &&
	    strcmp(stopped, "migrate") != 0 && strcmp(stopped, "stay") != 0)
		rc = err_set_field(ERR_INVALID, "stopped", "stopped must be "
		    "\"migrate\" or \"stay\"");
	req_done(&r, rc, "POST /v1/hosts/{h}/drain");
}

/* POST /v1/groups: groups_create up to its store transaction. */
static void
group_create(const json_t *body)
{
	const char *policy;
	struct req r;
	int rc;

	req_init(&r, body);
	rc = body_check(&r, groups_fields, N(groups_fields));
	if (rc == 0)
		rc = req_check_name("name", body_string(&r, "name"));
	/* MIRROR of groups_create */
	if (rc == 0 && (policy = body_string(&r, "policy")) != NULL &&
	    strcmp(policy, "affinity") != 0 &&
	    strcmp(policy, "anti-affinity") != 0)
		rc = err_set_field(ERR_INVALID, "policy", "policy must be "
		    "affinity or anti-affinity");
	req_done(&r, rc, "POST /v1/groups");
}

/* POST /v1/networks: networks_parse up to the store; what it accepts
 * writes a network definition that reads back. */
static void
network_create(const json_t *body)
{
	struct network_rec n;
	struct req r;
	int rc;

	req_init(&r, body);
	rc = networks_parse(&r, &n);
	if (rc == 0 && networks_on_hosts(&n)) {
		struct net_spec spec = { "hangar-x", FUZZ_UUID, n.mode, "hgn1",
		    n.gateway[0] ? n.gateway : "10.0.0.1", 24, n.dhcp };
		char *xml = network_xml_network(&spec);

		FUZZ_CHECK(xml != NULL && strstr(xml, "</network>") != NULL,
		    "no network XML for mode '%s'", n.mode);
		free(xml);
	}
	if (rc == 0 && n.bridge[0])
		FUZZ_CHECK(strlen(n.bridge) < NETWORK_BRIDGE_LEN &&
		    strspn(n.bridge, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM"
		    "NOPQRSTUVWXYZ0123456789_-.") == strlen(n.bridge),
		    "bridge '%s' accepted", n.bridge);
	req_done(&r, rc, "POST /v1/networks");
}

/* POST /v1/plans/consolidation|rebalance, POST /v1/plans/{id}/execute */
static void
plans(const json_t *body)
{
	struct req r;

	req_init(&r, body);
	req_done(&r, body_check(&r, plans_fields, N(plans_fields)),
	    "POST /v1/plans/consolidation");
	req_init(&r, body);
	req_done(&r, body_check(&r, plans_fields, 2),
	    "POST /v1/plans/rebalance");
	req_init(&r, body);
	req_done(&r, body_check(&r, plans_exec_fields, N(plans_exec_fields)),
	    "POST /v1/plans/{id}/execute");
}

/* POST /v1/hosts/{h}/orphans/{d}/adopt up to drift_adopt_domain. */
static void
adopt(const json_t *body)
{
	const char *name;
	struct req r;
	int rc;

	req_init(&r, body);
	rc = body_check(&r, drift_adopt_fields, N(drift_adopt_fields));
	if (rc == 0 && (name = body_string(&r, "name")) != NULL)
		rc = req_check_name("name", name);
	req_done(&r, rc, "POST .../orphans/{d}/adopt");
}

/* POST /v1/environments: envs_create up to envs_begin. */
static void
env_create(const json_t *body)
{
	struct placements_buf *buf = malloc(sizeof(*buf));
	struct envs_plan *pl = malloc(sizeof(*pl));
	struct req r;
	int rc, total = 0;
	uint32_t net;
	int prefix;

	if (buf == NULL || pl == NULL)
		abort();
	req_init(&r, body);
	rc = envs_parse(&r, pl, buf);
	if (rc == 0) {
		FUZZ_CHECK(name_ok(pl->e.name) &&
		    strlen(pl->e.name) <= ENV_NAME_MAX, "name '%s'",
		    pl->e.name);
		FUZZ_CHECK(pl->e.ttl_s >= 0 && pl->e.ttl_s <= ENV_TTL_MAX_S,
		    "ttl %lld s", (long long)pl->e.ttl_s);
		FUZZ_CHECK(strcmp(pl->net.mode, "isolated") == 0 ||
		    strcmp(pl->net.mode, "nat") == 0, "mode '%s'",
		    pl->net.mode);
		FUZZ_CHECK(ipv4_cidr_parse(pl->net.cidr, &net, &prefix) == 0 &&
		    prefix >= 1 && prefix <= 30, "cidr '%s'", pl->net.cidr);
		FUZZ_CHECK(pl->n >= 1 && pl->n <= ENV_ENTRIES_MAX, "%zu entries",
		    pl->n);
		for (size_t k = 0; k < pl->n; k++) {
			char vm[NAME_MAX_LEN + 16];

			FUZZ_CHECK(name_ok(pl->en[k].role) &&
			    strlen(pl->en[k].role) <= ENV_NAME_MAX, "role '%s'",
			    pl->en[k].role);
			FUZZ_CHECK(pl->en[k].count >= 1, "count %d",
			    pl->en[k].count);
			total += pl->en[k].count;
			/* the last VM's name is a name */
			snprintf(vm, sizeof(vm), "%s-%s-%d", pl->e.name,
			    pl->en[k].role, pl->en[k].count);
			FUZZ_CHECK(name_ok(vm), "VM name '%s'", vm);
		}
		FUZZ_CHECK(total >= 1 && total <= ENV_VMS_MAX, "%d VMs", total);
	}
	req_done(&r, rc, "POST /v1/environments");
	free(pl);
	free(buf);
}

/* body_labels and body_ratio on the body as a whole. */
static void
labels_and_ratio(const json_t *body)
{
	struct sched_label out[PLACEMENTS_LABELS_MAX];
	struct req r;
	size_t n = 99;
	double d = -1;
	int rc;

	req_init(&r, body);
	rc = body_labels(r.body, "labels", out, PLACEMENTS_LABELS_MAX, &n);
	if (rc == 0) {
		FUZZ_CHECK(n <= PLACEMENTS_LABELS_MAX, "%zu labels", n);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(label_ok(out[i].key) &&
			    label_ok(out[i].value), "label '%s'='%s'",
			    out[i].key, out[i].value);
	}
	req_done(&r, rc, "body_labels");
	req_init(&r, body);
	rc = body_ratio(r.body, "cpu_ratio", 4.0, &d);
	if (rc == 0)
		FUZZ_CHECK(d > 0 && d <= 1000, "ratio %g", d);
	req_done(&r, rc, "body_ratio");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *body = NULL;

	if (fuzz_app.cfg.pool_name[0] == '\0')
		config_defaults(&fuzz_app.cfg);
	fuzz_store();
	/* server_parse_body: no body at all is no JSON value */
	if (size > 0) {
		body = json_loadb((const char *)data, size,
		    JSON_REJECT_DUPLICATES, &je);
		if (body == NULL) {
			char field[ERR_FIELD_MAX];
			json_t *p;

			/* MIRROR server_parse_body: name a field that is
			 * not UTF-8 */
			body_where((const char *)data, size,
			    (size_t)je.position, field, sizeof(field));
			FUZZ_CHECK(strlen(field) < sizeof(field), "field");
			err_set(ERR_INVALID, "the request body is not valid "
			    "JSON: %s (line %d, column %d)", je.text, je.line,
			    je.column);
			p = problem_json(err_last(), "/v1/vms");
			FUZZ_CHECK(p != NULL, "no problem body for '%s'",
			    err_last()->msg);
			json_decref(p);
			return 0;
		}
	}
	vm_create(body);
	vm_update(body);
	vm_actions(body);
	vm_migrate(body);
	snapshot_create(body);
	no_fields(body);
	host_create(body);
	host_update(body);
	host_drain(body);
	image_prune(body);
	group_create(body);
	network_create(body);
	env_create(body);
	plans(body);
	adopt(body);
	labels_and_ratio(body);
	json_decref(body);
	return 0;
}
