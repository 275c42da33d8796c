/*
 * disks.c - a VM's disks in the API: the disk part of a create body
 * (the root disk, "disks" for data disks, "disk_bus", "firmware",
 * "machine") turned into the list the store keeps, device names given
 * here once and for all, and the list written back as JSON.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "../daemon/place.h"
#include "jsonw.h"
#include "req.h"

static const char *const disks_buses[] = { "virtio", "sata", "scsi", "ide" };

static const struct body_field disks_fields[] = {
	{ "size_gib", BODY_INT, true, 1, 65536 },
	{ "bus", BODY_STRING, false, 0, 16 },
};

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

/* The device-name prefix of a bus: vd (virtio), sd (sata, scsi), hd. */
static const char *
disks_prefix(const char *bus)
{
	if (strcmp(bus, "virtio") == 0)
		return "vd";
	return strcmp(bus, "ide") == 0 ? "hd" : "sd";
}

/*
 * The next free device name on bus among the n disks named so far:
 * vda, vdb, ...; sda, ... (sata and scsi share sd); hda..hdd (IDE has
 * four places, and a CD-ROM of the guest's own takes none of them here).
 */
int
disks_name(const struct disk_rec *d, int n, const char *bus, char *out,
    const char *field)
{
	const char *p = disks_prefix(bus);
	int max = strcmp(p, "hd") == 0 ? 4 : 26;

	for (int k = 0; k < max; k++) {
		bool taken = false;

		snprintf(out, DISK_DEV_LEN, "%s%c", p, 'a' + k);
		for (int i = 0; i < n && !taken; i++)
			taken = strcmp(d[i].dev, out) == 0;
		if (!taken)
			return 0;
	}
	return err_set_field(ERR_INVALID, field, "no device name is left on "
	    "the %s bus (at most %d disks)", bus, max);
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
	if (disks_name(d, *n, bus, x->dev, field) < 0)
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
disks_parse_extra(json_t *list, struct disk_rec *d, int *n,
    const char *machine)
{
	char field[48];
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
		if (disks_add(d, n, bus ? bus : "virtio",
		    json_integer_value(json_object_get(e, "size_gib")),
		    machine, field) < 0)
			return -1;
	}
	return 0;
}

void
disks_volumes(struct disk_rec *d, int n, const char *uuid)
{
	/* the first disk keeps the name a VM's one disk always had */
	for (int i = 0; i < n; i++)
		if (i == 0)
			snprintf(d[i].volume, sizeof(d[i].volume), "%s.qcow2",
			    uuid);
		else
			snprintf(d[i].volume, sizeof(d[i].volume),
			    "%s-%s.qcow2", uuid, d[i].dev);
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
	json_t *extra = json_object_get(r->body, "disks");

	*n = 0;
	if (fw && disks_word("firmware", fw, firmwares, 2) < 0)
		return -1;
	if (mach && disks_word("machine", mach, machines, 2) < 0)
		return -1;
	snprintf(vm->firmware, sizeof(vm->firmware), "%s", fw ? fw : "bios");
	snprintf(vm->machine, sizeof(vm->machine), "%s", mach ? mach : "pc");
	if (disks_add(d, n, bus ? bus : "virtio", body_int(r, "disk_gib", 10),
	    vm->machine, "disk_bus") < 0)
		return -1;
	if (extra && disks_parse_extra(extra, d, n, vm->machine) < 0)
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
