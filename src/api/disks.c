/*
 * disks.c - a VM's disks in the API: the disk part of a create body
 * (the root disk, "disks" for data disks, "disk_bus", "firmware",
 * "machine", "clock", "hyperv", "graphics") turned into the list the
 * store keeps, device names given here once and for all, and the list
 * written back as JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../daemon/place.h"
#include "jsonw.h"
#include "req.h"

static const char *const disks_buses[] = { "virtio", "sata", "scsi", "ide" };

static const struct body_field disks_fields[] = {
	{ "size_gib", BODY_INT, false, 1, 65536 },
	{ "bus", BODY_STRING, false, 0, 16 },
	{ "image", BODY_STRING, false, 0, 63 },
};

/*
 * The disk just added (d[n - 1]) is made from image (a linked clone
 * unless full), or, without an image, has a size: field and sfield name
 * them in errors.
 */
static int
disks_image(struct req *r, struct disk_rec *x, const char *image, bool full,
    const char *field, const char *sfield)
{
	struct store_conn *c;
	int rc;

	if (image == NULL) {
		if (x->size_gib > 0)
			return 0;
		return err_set_field(ERR_INVALID, sfield, "%s: a disk needs a "
		    "size, or an image to be made from", sfield);
	}
	if (req_check_name(field, image) < 0)
		return -1;
	c = store_read_begin(r->app->store);
	rc = disks_from_image(c, field, image, !full, x);
	store_read_end(c);
	return rc;
}

/* s is one of the n words of set; field names it in the error. */
int
disks_word(const char *field, const char *s, const char *const *set,
    size_t n)
{
	char list[128] = "";

	for (size_t i = 0; i < n; i++) {
		if (strcmp(s, set[i]) == 0)
			return 0;
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		    "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", set[i]);
	}
	return err_set_field(ERR_INVALID, field, "%s must be %s", field, list);
}

/* One disk: bus checked against the machine, and named. */
static int
disks_add(struct disk_rec *d, int *n, const char *bus, int64_t gib,
    const char *machine, const char *field)
{
	struct disk_rec *x = &d[*n];

	if (disks_word(field, bus, disks_buses, 4) < 0)
		return -1;
	if (strcmp(bus, "ide") == 0 && strcmp(machine, "q35") == 0)
		return err_set_field(ERR_INVALID, field, "machine q35 has no "
		    "IDE bus: use sata, or machine pc");
	memset(x, 0, sizeof(*x));
	if (disks_dev_name(d, *n, bus, x->dev, field) < 0)
		return -1;
	snprintf(x->device, sizeof(x->device), "disk");
	snprintf(x->bus, sizeof(x->bus), "%s", bus);
	snprintf(x->format, sizeof(x->format), "qcow2");
	x->size_gib = gib;
	x->boot_order = *n == 0 ? 1 : 0;
	(*n)++;
	return 0;
}

static int
disks_parse_extra(struct req *r, json_t *list, struct disk_rec *d, int *n,
    const char *machine)
{
	char field[48], ifield[48], sfield[48];
	size_t i;
	json_t *e;

	if (!json_is_array(list))
		return err_set_field(ERR_INVALID, "disks", "disks must be an "
		    "array of objects");
	if (json_array_size(list) >= VM_DISKS_MAX)
		return err_set_field(ERR_INVALID, "disks", "a vm has at most "
		    "%d disks", VM_DISKS_MAX);
	json_array_foreach(list, i, e) {
		const char *bus;

		snprintf(field, sizeof(field), "disks[%zu]", i);
		if (body_check_object(e, field, disks_fields,
		    sizeof(disks_fields) / sizeof(disks_fields[0])) < 0)
			return -1;
		bus = json_string_value(json_object_get(e, "bus"));
		snprintf(field, sizeof(field), "disks[%zu].bus", i);
		snprintf(ifield, sizeof(ifield), "disks[%zu].image", i);
		snprintf(sfield, sizeof(sfield), "disks[%zu].size_gib", i);
		if (disks_add(d, n, bus ? bus : "virtio",
		    json_integer_value(json_object_get(e, "size_gib")),
		    machine, field) < 0 ||
		    disks_image(r, &d[*n - 1], json_string_value(
		    json_object_get(e, "image")), false, ifield, sfield) < 0)
			return -1;
	}
	return 0;
}

/*
 * Is the image's guest Windows, by its os hint?  The defaults of a VM
 * made from it follow, as Proxmox's ostype chooses them: a Windows guest
 * boots from SATA (it has no virtio driver until one is installed), keeps
 * its clock in local time, and gets the Hyper-V enlightenments; anything
 * else boots from virtio with its clock in UTC.
 */
bool
disks_image_windows(struct req *r, const char *image)
{
	struct store_conn *c;
	struct image_rec *im;
	bool windows = false;

	if (image == NULL || (im = malloc(sizeof(*im))) == NULL)
		return false;
	c = store_read_begin(r->app->store);
	if (store_image_get(c, image, im) == 0)
		windows = strcmp(im->os, "windows") == 0;
	else
		err_clear();        /* reported where the image is looked up */
	store_read_end(c);
	free(im);
	return windows;
}

/* The guest's clock, Hyper-V and graphical console: as asked, else as
 * the os hint says (a Windows guest has no serial console to speak of) */
static int
disks_clock(struct req *r, struct vm_rec *vm, bool windows)
{
	static const char *const clocks[] = { "utc", "localtime" };
	static const char *const graphics[] = { "none", "vnc" };
	const char *clk = body_string(r, "clock");
	const char *gr = body_string(r, "graphics");

	if (clk && disks_word("clock", clk, clocks, 2) < 0)
		return -1;
	if (gr && disks_word("graphics", gr, graphics, 2) < 0)
		return -1;
	snprintf(vm->clock, sizeof(vm->clock), "%s", clk ? clk :
	    windows ? "localtime" : "utc");
	vm->hyperv = body_bool(r, "hyperv", windows);
	snprintf(vm->graphics, sizeof(vm->graphics), "%s", gr ? gr :
	    windows ? "vnc" : "none");
	return 0;
}

int
disks_parse_create(struct req *r, struct vm_rec *vm, struct disk_rec *d,
    int *n)
{
	static const char *const firmwares[] = { "bios", "uefi" };
	static const char *const machines[] = { "pc", "q35" };
	const char *fw = body_string(r, "firmware");
	const char *mach = body_string(r, "machine");
	const char *bus = body_string(r, "disk_bus");
	const char *image = body_string(r, "image");
	const char *clone = body_string(r, "clone");
	json_t *extra = json_object_get(r->body, "disks");
	bool windows = disks_image_windows(r, image);

	*n = 0;
	if (fw && disks_word("firmware", fw, firmwares, 2) < 0)
		return -1;
	if (mach && disks_word("machine", mach, machines, 2) < 0)
		return -1;
	snprintf(vm->firmware, sizeof(vm->firmware), "%s", fw ? fw : "bios");
	snprintf(vm->machine, sizeof(vm->machine), "%s", mach ? mach : "pc");
	if (disks_clock(r, vm, windows) < 0)
		return -1;
	if (clone && strcmp(clone, "linked") != 0 &&
	    strcmp(clone, "full") != 0)
		return err_set_field(ERR_INVALID, "clone", "clone must be "
		    "linked or full");
	/* from an image, the root disk is the image's size unless told */
	if (disks_add(d, n, bus ? bus : windows ? "sata" : "virtio",
	    body_int(r, "disk_gib", image ? 0 : 10), vm->machine,
	    "disk_bus") < 0 ||
	    disks_image(r, &d[0], image, clone && strcmp(clone, "full") == 0,
	    "image", "disk_gib") < 0)
		return -1;
	if (extra && disks_parse_extra(r, extra, d, n, vm->machine) < 0)
		return -1;
	vm->disk_gib = 0;
	for (int i = 0; i < *n; i++)
		vm->disk_gib += d[i].size_gib;
	return 0;
}

json_t *
disks_json(const struct disk_rec *d, int n)
{
	json_t *a = json_array();

	for (int i = 0; a && i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:I,"
		    " s:s, s:o, s:o}", "dev", d[i].dev, "device", d[i].device,
		    "bus", d[i].bus, "format", d[i].format, "size_gib",
		    (json_int_t)d[i].size_gib, "volume", d[i].volume,
		    "boot_order", d[i].boot_order > 0 ?
		    json_integer(d[i].boot_order) : json_null(), "image",
		    d[i].image[0] ? json_string(d[i].image) : json_null()));
	return a;
}

void
disks_write(struct jw *w, const struct disk_rec *d, int n)
{
	jw_begin(w, '[');
	for (int i = 0; i < n; i++) {
		jw_begin(w, '{');
		jw_key(w, "dev");
		jw_str(w, d[i].dev);
		jw_key(w, "device");
		jw_str(w, d[i].device);
		jw_key(w, "bus");
		jw_str(w, d[i].bus);
		jw_key(w, "format");
		jw_str(w, d[i].format);
		jw_key(w, "size_gib");
		jw_int(w, d[i].size_gib);
		jw_key(w, "volume");
		jw_str(w, d[i].volume);
		jw_key(w, "boot_order");
		if (d[i].boot_order > 0)
			jw_int(w, d[i].boot_order);
		else
			jw_null(w);
		jw_key(w, "image");
		jw_str_or_null(w, d[i].image);
		jw_end(w, '}');
	}
	jw_end(w, ']');
}

/* --- /v1/vms/{vm}/disks --- */

#define DISKS_WAIT_MAX 300

int
disks_list(struct req *r)
{
	struct disk_rec d[VM_DISKS_MAX];
	struct vm_rec v;
	int n;

	if (vms_load_full(r, r->params[0], &v, d, &n) < 0)
		return -1;
	return req_reply(r, 200, json_pack("{s:o}", "disks",
	    disks_json(d, n)));
}

int
disks_get(struct req *r)
{
	struct disk_rec d[VM_DISKS_MAX];
	struct vm_rec v;
	int n;

	if (vms_load_full(r, r->params[0], &v, d, &n) < 0)
		return -1;
	for (int i = 0; i < n; i++)
		if (strcmp(d[i].dev, r->params[1]) == 0) {
			json_t *a = disks_json(&d[i], 1);
			json_t *one = json_incref(json_array_get(a, 0));

			json_decref(a);
			return req_reply(r, 200, one);
		}
	return err_set(ERR_NOT_FOUND, "vm '%s' has no disk '%s'", v.name,
	    r->params[1]);
}

/* Record rq (vm and idempotency key filled here) and answer with its
 * operation, after ?wait=N seconds when asked. */
static int
disks_act(struct req *r, struct disk_request *rq)
{
	struct op_rec op;
	int64_t wait;

	if (req_query_int(r, "wait", 0, DISKS_WAIT_MAX, 0, &wait) < 0)
		return -1;
	rq->vm = r->params[0];
	rq->idem_key = r->idem_key[0] ? r->idem_key : NULL;
	if (disks_request(r->app, rq, &op) < 0)
		return -1;
	return operations_reply(r, &op, wait);
}

/* POST /v1/vms/{vm}/disks {"size_gib": N, "bus": "virtio"} */
int
disks_add_one(struct req *r)
{
	struct disk_request rq;

	if (body_check(r, disks_fields, sizeof(disks_fields) /
	    sizeof(disks_fields[0])) < 0)
		return -1;
	memset(&rq, 0, sizeof(rq));
	rq.kind = OP_DISK_ADD;
	rq.bus = body_string(r, "bus") ? body_string(r, "bus") : "virtio";
	rq.size_gib = body_int(r, "size_gib", 0);
	rq.image = body_string(r, "image");
	if (rq.image && req_check_name("image", rq.image) < 0)
		return -1;
	if (disks_word("bus", rq.bus, disks_buses, 4) < 0)
		return -1;
	return disks_act(r, &rq);
}

/* DELETE /v1/vms/{vm}/disks/{dev}: detach it and delete its volume */
int
disks_remove(struct req *r)
{
	struct disk_request rq;

	if (body_check(r, NULL, 0) < 0)
		return -1;
	memset(&rq, 0, sizeof(rq));
	rq.kind = OP_DISK_REMOVE;
	rq.dev = r->params[1];
	return disks_act(r, &rq);
}

/* POST /v1/vms/{vm}/disks/{dev}/resize {"size_gib": N} */
int
disks_resize(struct req *r)
{
	static const struct body_field fields[] = {
		{ "size_gib", BODY_INT, true, 1, 65536 },
	};
	struct disk_request rq;

	if (body_check(r, fields, 1) < 0)
		return -1;
	memset(&rq, 0, sizeof(rq));
	rq.kind = OP_DISK_RESIZE;
	rq.dev = r->params[1];
	rq.size_gib = body_int(r, "size_gib", 0);
	return disks_act(r, &rq);
}
