/*
 * vms_import.c - POST /v1/vms/import?name=NEW[&host=H][&start=false]:
 * a new VM made from a backup archive (the body, application/x-tar;
 * vms_import_tar.c stages and checks it) or from a backup hangar holds
 * ({"backup": id}, application/json), possibly of a VM since deleted.
 *
 * The backup's spec of the VM (the manifest's "vm", or the backup's
 * record) is turned into a create request, member by member (the
 * hardware, its disks' sizes and buses, its NICs' networks, models,
 * MACs and addresses, its cloud-init settings), and checked and placed
 * exactly as a create's (placements_parse, place_vm: the scheduler, or
 * the host asked for).  Its disks keep their device names.  The MACs and
 * addresses are wishes (nic_rec.wish): one taken, or not of the
 * network, is replaced in the VM's own transaction by a new one, and the
 * reply says which ("changed").  The operation (vm_import, ops_import.c)
 * writes the disks onto the host; ?wait=N as for a create.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
#include "../daemon/place.h"
#include "vms_import.h"
#include "vms_int.h"

/* Members of the spec copied as they are, when of the right type. */
static const struct {
	const char *key;
	int type;
} vmi_copied[] = {
	{ "vcpus", JSON_INTEGER }, { "memory_mib", JSON_INTEGER },
	{ "max_vcpus", JSON_INTEGER }, { "max_memory_mib", JSON_INTEGER },
	{ "firmware", JSON_STRING }, { "machine", JSON_STRING },
	{ "clock", JSON_STRING }, { "graphics", JSON_STRING },
	{ "hyperv", JSON_TRUE },
};

static bool
vmi_is(json_t *v, int type)
{
	return type == JSON_TRUE ? json_is_boolean(v) : v != NULL &&
	    (int)json_typeof(v) == type;
}

/* The spec's disks (device "disk") as a create's root disk and
 * "disks"; their device names, in order, into devs. */
static int
vmi_body_disks(json_t *spec, json_t *body, json_t *devs)
{
	json_t *extra = json_array(), *e;
	size_t i;

	json_array_foreach(json_object_get(spec, "disks"), i, e) {
		json_t *size = json_object_get(e, "size_gib");
		json_t *bus = json_object_get(e, "bus");
		json_t *dev = json_object_get(e, "dev");

		if (!json_is_object(e) || !json_is_string(json_object_get(e,
		    "device")) || strcmp(json_string_value(json_object_get(e,
		    "device")), "disk") != 0)
			continue;
		if (!json_is_integer(size) || !json_is_string(bus) ||
		    !json_is_string(dev)) {
			json_decref(extra);
			return err_set(ERR_UNPROCESSABLE, "disks[%zu] needs a "
			    "dev, a bus and a size_gib", i);
		}
		json_array_append(devs, dev);
		if (json_array_size(devs) == 1) {
			json_object_set(body, "disk_gib", size);
			json_object_set(body, "disk_bus", bus);
		} else {
			json_array_append_new(extra, json_pack("{s:O, s:O}",
			    "size_gib", size, "bus", bus));
		}
	}
	if (json_array_size(devs) == 0) {
		json_decref(extra);
		return err_set(ERR_UNPROCESSABLE, "it has no disk");
	}
	json_object_set_new(body, "disks", extra);
	return 0;
}

/* The spec's NICs: network, model, and the MAC and address wished. */
static void
vmi_body_nics(json_t *spec, json_t *body)
{
	static const char *const keys[] = { "network", "model", "mac", "ipv4" };
	json_t *nics = json_array(), *e;
	size_t i;

	json_array_foreach(json_object_get(spec, "nics"), i, e) {
		json_t *n = json_object();

		for (size_t k = 0; k < 4; k++)
			if (json_is_string(json_object_get(e, keys[k])))
				json_object_set(n, keys[k], json_object_get(e,
				    keys[k]));
		json_array_append_new(nics, n);
	}
	json_object_set_new(body, "nics", nics);
}

/* The create request the spec of a VM asks for, named name. */
static json_t *
vmi_body(struct req *r, json_t *spec, json_t *devs)
{
	json_t *body = json_pack("{s:s}", "name", req_query(r, "name"));
	json_t *ci = json_object_get(spec, "cloud_init");
	json_t *dt = json_object_get(spec, "domain_type");

	for (size_t i = 0; i < sizeof(vmi_copied) / sizeof(vmi_copied[0]);
	    i++) {
		json_t *v = json_object_get(spec, vmi_copied[i].key);

		if (vmi_is(v, vmi_copied[i].type))
			json_object_set(body, vmi_copied[i].key, v);
	}
	if (req_query(r, "host"))
		json_object_set_new(body, "host", json_string(req_query(r,
		    "host")));
	if (json_is_string(dt))
		json_object_set_new(body, "placement", json_pack("{s:O}",
		    "domain_type", dt));
	if (json_is_object(ci)) {
		/* the new VM's own host name, as for a clone */
		ci = json_deep_copy(ci);
		json_object_del(ci, "hostname");
		json_object_set_new(body, "cloud_init", ci);
	}
	vmi_body_nics(spec, body);
	if (vmi_body_disks(spec, body, devs) < 0) {
		json_decref(body);
		return NULL;
	}
	return body;
}

/* The disks made by the create's parse get the spec's device names. */
static int
vmi_rename(struct placements_buf *buf, json_t *devs)
{
	size_t k = 0;

	for (int i = 0; i < buf->ndisks; i++) {
		const char *dev;

		if (strcmp(buf->disks[i].device, "disk") != 0)
			continue;
		dev = json_string_value(json_array_get(devs, k++));
		if (dev == NULL || strlen(dev) >= sizeof(buf->disks[i].dev) ||
		    strspn(dev, "abcdefghijklmnopqrstuvwxyz0123456789") !=
		    strlen(dev) || dev[0] < 'a' || dev[0] > 'z')
			return err_set(ERR_UNPROCESSABLE, "disks: '%.16s' is not "
			    "a device name", dev ? dev : "");
		snprintf(buf->disks[i].dev, sizeof(buf->disks[i].dev), "%s",
		    dev);
	}
	for (int i = 0; i < buf->ndisks; i++)
		for (int j = 0; j < i; j++)
			if (strcmp(buf->disks[i].dev, buf->disks[j].dev) == 0)
				return err_set(ERR_UNPROCESSABLE, "disks: device "
				    "%s is named twice", buf->disks[i].dev);
	return 0;
}

/* An error in the spec, said of where it came from (not the query's). */
static int
vmi_spec_refused(const char *where, const char *field)
{
	struct err e;

	err_save(&e);
	if (strcmp(e.field, "name") == 0 || strcmp(e.field, "host") == 0 ||
	    e.code == ERR_INTERNAL || e.code == ERR_UNAVAILABLE) {
		err_restore(&e);
		return -1;
	}
	return err_set_field(e.code == ERR_INVALID ? ERR_UNPROCESSABLE :
	    e.code, field, "%s: vm: %s%s%s%s", where, e.msg, e.field[0] ?
	    " (vm." : "", e.field, e.field[0] ? ")" : "");
}

/* What an import is made from: the spec, and where it came from. */
struct vmi_src {
	json_t *spec;                    /* borrowed from m or b */
	struct bkm m;                    /* an archive's manifest */
	struct backup_rec b;             /* or a backup's record */
	bool archive;
	const char *where, *field;       /* said in errors */
};

static const struct body_field vmi_fields[] = {
	{ "backup", BODY_STRING, true, 1, UUID_STR_LEN - 1 },
};

/* The backup of {"backup": id}: ready, with a spec. */
static int
vmi_backup(struct req *r, struct vmi_src *s)
{
	struct store_conn *c;
	int rc;

	if (body_check(r, vmi_fields, 1) < 0)
		return -1;
	c = store_read_begin(r->app->store);
	rc = store_backup_get(c, body_string(r, "backup"), &s->b);
	store_read_end(c);
	if (rc < 0)
		return err_last()->code == ERR_NOT_FOUND ? err_set_field(
		    ERR_NOT_FOUND, "backup", "there is no backup '%s'",
		    body_string(r, "backup")) : -1;
	if (strcmp(s->b.status, "ready") != 0)
		return err_set_field(ERR_CONFLICT, "backup", "backup '%s' is "
		    "still being made", s->b.id);
	if (!json_is_object(s->b.spec))
		return err_set_field(ERR_UNPROCESSABLE, "backup", "backup '%s' "
		    "holds no spec of its VM", s->b.id);
	s->spec = s->b.spec;
	return 0;
}

/* Every disk of the new VM is one of the backup's, and the reverse. */
static int
vmi_backup_disks(const struct vmi_src *s, const struct placements_buf *buf)
{
	size_t want = 0, i;
	json_t *e;

	for (int k = 0; k < buf->ndisks; k++) {
		bool have = false;

		if (strcmp(buf->disks[k].device, "disk") != 0)
			continue;
		want++;
		json_array_foreach(s->b.disks, i, e)
			have |= json_is_string(json_object_get(e, "dev")) &&
			    strcmp(json_string_value(json_object_get(e, "dev")),
			    buf->disks[k].dev) == 0;
		if (!have)
			return err_set_field(ERR_UNPROCESSABLE, "backup", "backup "
			    "'%s' holds no disk %s", s->b.id, buf->disks[k].dev);
	}
	if (json_array_size(s->b.disks) != want)
		return err_set_field(ERR_UNPROCESSABLE, "backup", "backup '%s' "
		    "holds disks its VM's spec does not list", s->b.id);
	return 0;
}

/* The create request of the spec parsed into buf and *pr. */
static int
vmi_parse(struct req *r, struct vmi_src *s, struct placements_buf *buf,
    struct place_req *pr, char **seed)
{
	json_t *devs = json_array(), *body, *was = r->body;
	int rc = -1;

	if ((body = vmi_body(r, s->spec, devs)) == NULL) {
		json_decref(devs);
		return vmi_spec_refused(s->where, s->field);
	}
	r->body = body;
	if (placements_parse(r, pr, buf) == 0 && vmi_rename(buf, devs) == 0 &&
	    cloud_init_spec(r, req_query(r, "name"), seed) == 0)
		rc = 0;
	r->body = was;
	json_decref(body);
	json_decref(devs);
	return rc < 0 ? vmi_spec_refused(s->where, s->field) : 0;
}

/* The MACs and addresses that were taken, as said in the reply: the
 * wished ones in want[n], what was given in got. */
static json_t *
vmi_changed(const struct nic_rec *want, const struct nic_rec *got, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++) {
		if (want[i].mac[0] && strcmp(want[i].mac, got[i].mac) != 0)
			json_array_append_new(a, json_pack("{s:s, s:s, s:s, "
			    "s:s}", "nic", got[i].dev, "field", "mac", "was",
			    want[i].mac, "now", got[i].mac));
		if (want[i].ipv4[0] && strcmp(want[i].ipv4, got[i].ipv4) != 0)
			json_array_append_new(a, json_pack("{s:s, s:s, s:s, "
			    "s:o}", "nic", got[i].dev, "field", "ipv4", "was",
			    want[i].ipv4, "now", got[i].ipv4[0] ?
			    json_string(got[i].ipv4) : json_null()));
	}
	return a;
}

/* The new VM's operation (its id: the archive's staged name). */
static int
vmi_op(struct req *r, const struct vmi_src *s, const struct vmi_up *u,
    const struct vm_rec *vm, bool start, struct op_rec *op)
{
	json_t *p = json_pack("{s:b, s:s}", "start", start, "source",
	    s->archive ? "archive" : "backup");
	char *text;

	memset(op, 0, sizeof(*op));
	snprintf(op->id, sizeof(op->id), "%s", u->id);
	op->kind = OP_VM_IMPORT;
	snprintf(op->idem_key, sizeof(op->idem_key), "%s", r->idem_key);
	snprintf(op->vm_uuid, sizeof(op->vm_uuid), "%s", vm->uuid);
	snprintf(op->vm_name, sizeof(op->vm_name), "%s", vm->name);
	if (p && !s->archive)
		json_object_set_new(p, "backup", json_string(s->b.id));
	text = p ? json_dumps(p, JSON_COMPACT) : NULL;
	json_decref(p);
	if (text == NULL || strlen(text) >= sizeof(op->params)) {
		free(text);
		return err_set(ERR_INTERNAL, "out of memory");
	}
	snprintf(op->params, sizeof(op->params), "%s", text);
	free(text);
	return 0;
}

/* Parse, check the disks, and place the new VM with its operation;
 * the NICs wished for into want. */
static int
vmi_place(struct req *r, struct vmi_src *s, struct vmi_up *u,
    struct placements_buf *buf, struct nic_rec *want, struct vm_rec *vm,
    struct op_rec *op)
{
	const char *st = req_query(r, "start");
	struct place_req pr;
	char *seed = NULL;
	int rc;

	if (st && strcmp(st, "true") != 0 && strcmp(st, "false") != 0)
		return err_set_field(ERR_INVALID, "start", "query parameter "
		    "'start' is true or false");
	if (vmi_parse(r, s, buf, &pr, &seed) < 0)
		return -1;
	rc = s->archive ? vmi_disks(u, &s->m, buf->disks, buf->ndisks) :
	    vmi_backup_disks(s, buf);
	if (rc == 0) {
		vms_new_row(&pr, buf, req_query(r, "name"), vm);
		snprintf(vm->desired, sizeof(vm->desired), "%s", st &&
		    strcmp(st, "false") == 0 ? "stopped" : "running");
		snprintf(vm->observed, sizeof(vm->observed), "stopped");
		if (seed)
			snprintf(vm->provisioning, sizeof(vm->provisioning),
			    "pending");
		rc = vmi_op(r, s, u, vm, strcmp(vm->desired, "running") == 0,
		    op);
	}
	for (int i = 0; i < buf->nnics; i++) {
		buf->nics[i].wish = true;
		want[i] = buf->nics[i];
	}
	pr.vm = vm;
	pr.op = op;
	pr.cloud_init = seed;
	if (rc == 0)
		rc = place_vm(r->app, &pr, NULL);
	free(seed);
	return rc;
}

int
vms_import(struct req *r)
{
	struct vmi_up *u = r->sink_state;
	struct nic_rec want[VM_NICS_MAX];
	struct placements_buf *buf = calloc(1, sizeof(*buf));
	struct vmi_src s;
	struct op_rec op, done;
	struct vm_rec vm;
	json_t *changed = NULL, *j;
	int64_t wait;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	s.archive = u->tar;
	s.where = s.archive ? "manifest.json" : "the backup's spec";
	s.field = s.archive ? "archive" : "backup";
	if (buf == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	if (req_query_int(r, "wait", 0, VMS_WAIT_MAX, 0, &wait) < 0 ||
	    (s.archive ? vmi_manifest(u, &s.m) : vmi_backup(r, &s)) < 0)
		goto done;
	if (s.archive)
		s.spec = s.m.vm;
	if (vmi_place(r, &s, u, buf, want, &vm, &op) < 0)
		goto done;
	u->nstaged = 0;             /* the staged disks are the operation's */
	changed = vmi_changed(want, buf->nics, buf->nnics);
	log_info("import: vm '%s' from %s%s on host #%lld, operation %s; "
	    "%zu MACs or addresses changed", vm.name, s.archive ? "an archive"
	    : "backup ", s.archive ? "" : s.b.id, (long long)vm.host_id, op.id,
	    json_array_size(changed));
	ops_submit(r->app->ops, op.id);
	if (wait > 0) {
		if (ops_wait(r->app->ops, op.id, wait * 1000, &done) < 0)
			goto done;
		if (done.status == OP_FAILED) {
			vms_op_error(&done);
			goto done;
		}
	}
	req_set_location(r, "/v1/vms/", vm.uuid);
	if (vms_load_full(r, vm.uuid, &vm, buf->disks, &buf->ndisks) < 0 ||
	    (buf->nnics = vms_nics(r, &vm, buf->nics)) < 0)
		goto done;
	j = vms_json_nics(&vm, buf->disks, buf->ndisks, buf->nics, buf->nnics);
	if (j == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		goto done;
	}
	json_object_set_new(j, "import", json_pack("{s:s, s:O}", "operation",
	    op.id, "changed", changed));
	rc = req_reply(r, 201, j);
done:
	json_decref(changed);
	bkm_free(&s.m);
	store_backup_clear(&s.b);
	free(buf);
	return rc;
}
