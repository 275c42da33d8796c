/*
 * cloud_init.c - "cloud_init" in a VM create body: the settings of the
 * VM's NoCloud seed, checked here, and the seed's disk row (a CD-ROM
 * whose content hangard writes).  What hangar writes itself is checked
 * to the letter (the host name: RFC 1123; each SSH key: one line, a key
 * type OpenSSH knows, a base64 blob of that type); user_data and
 * vendor_data are the user's, passed through as they are, and only
 * their size is held to CLOUDINIT_MAX (64 KiB for everything together).
 * Text that is not UTF-8 never gets here: the body is JSON, and a body
 * with bytes that are not UTF-8 is refused by server.c naming the field
 * they are in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cloudinit.h"
#include "../common/error.h"
#include "../daemon/place.h"
#include "req.h"

#define CI "cloud_init"

static const struct body_field cloud_init_fields[] = {
	{ "user_data", BODY_STRING, false, 0, CLOUDINIT_MAX },
	{ "vendor_data", BODY_STRING, false, 0, CLOUDINIT_MAX },
	{ "ssh_authorized_keys", BODY_ARRAY, false, 0, 0 },
	{ "hostname", BODY_STRING, false, 0, CLOUDINIT_HOSTNAME_MAX },
	{ "network_config", BODY_OBJECT, false, 0, 0 },
};

/* Add n bytes of field to the running total: over the limit names it. */
static int
cloud_init_count(size_t *total, size_t n, const char *field)
{
	*total += n;
	if (*total <= CLOUDINIT_MAX)
		return 0;
	return err_set_field(ERR_INVALID, field, "cloud_init is over %d bytes "
	    "(%zu with %s): the seed holds small settings, not files",
	    CLOUDINIT_MAX, *total, field);
}

/* A string field: no NUL inside (jansson can carry one), counted. */
static int
cloud_init_text(json_t *ci, const char *k, size_t *total)
{
	json_t *v = json_object_get(ci, k);
	char field[48];

	if (v == NULL)
		return 0;
	snprintf(field, sizeof(field), CI ".%s", k);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return err_set_field(ERR_INVALID, field, "%s must not contain "
		    "NUL characters", field);
	return cloud_init_count(total, json_string_length(v), field);
}

static int
cloud_init_keys(json_t *a, size_t *total)
{
	char field[64];
	json_t *k;
	size_t i;

	if (a == NULL)
		return 0;
	if (json_array_size(a) > CLOUDINIT_KEYS_MAX)
		return err_set_field(ERR_INVALID, CI ".ssh_authorized_keys",
		    CI ".ssh_authorized_keys holds at most %d keys",
		    CLOUDINIT_KEYS_MAX);
	json_array_foreach(a, i, k) {
		snprintf(field, sizeof(field), CI ".ssh_authorized_keys[%zu]",
		    i);
		if (!json_is_string(k))
			return err_set_field(ERR_INVALID, field, "%s must be a "
			    "string", field);
		if (strlen(json_string_value(k)) != json_string_length(k))
			return err_set_field(ERR_INVALID, field, "%s must not "
			    "contain NUL characters", field);
		if (cloudinit_check_key(field, json_string_value(k)) < 0 ||
		    cloud_init_count(total, json_string_length(k), field) < 0)
			return -1;
	}
	return 0;
}

/* The seed's disk, after the n disks of d: a read-only CD-ROM on a bus
 * the guest's kernel has a driver for (machine q35: virtio-scsi, as the
 * cloud kernels lack AHCI; pc: IDE) */
static int
cloud_init_disk(const struct vm_rec *vm, struct disk_rec *d, int *n)
{
	struct disk_rec *x = &d[*n];
	const char *bus = strcmp(vm->machine, "q35") == 0 ? "scsi" : "ide";

	if (*n >= VM_DISKS_MAX)
		return err_set_field(ERR_INVALID, CI, "a vm has at most %d "
		    "disks, the cloud-init seed among them", VM_DISKS_MAX);
	memset(x, 0, sizeof(*x));
	if (disks_dev_name(d, *n, bus, x->dev, CI) < 0)
		return -1;
	snprintf(x->device, sizeof(x->device), "cdrom");
	snprintf(x->bus, sizeof(x->bus), "%s", bus);
	snprintf(x->format, sizeof(x->format), "raw");
	snprintf(x->content, sizeof(x->content), "cidata");
	(*n)++;
	return 0;
}

int
cloud_init_parse(struct req *r, const struct vm_rec *vm, struct disk_rec *d,
    int *n)
{
	json_t *ci = json_object_get(r->body, CI), *nc;
	const char *host;
	size_t total = 0;
	char *text;

	if (ci == NULL)
		return 0;
	if (body_check_object(ci, CI, cloud_init_fields,
	    sizeof(cloud_init_fields) / sizeof(cloud_init_fields[0])) < 0)
		return -1;
	host = json_string_value(json_object_get(ci, "hostname"));
	if (host && cloudinit_check_hostname(CI ".hostname", host) < 0)
		return -1;
	if (cloud_init_count(&total, host ? strlen(host) : 0,
	    CI ".hostname") < 0 ||
	    cloud_init_keys(json_object_get(ci, "ssh_authorized_keys"),
	    &total) < 0 || cloud_init_text(ci, "user_data", &total) < 0 ||
	    cloud_init_text(ci, "vendor_data", &total) < 0)
		return -1;
	if ((nc = json_object_get(ci, "network_config")) != NULL) {
		if ((text = json_dumps(nc, JSON_COMPACT)) == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		total += strlen(text);
		free(text);
		if (cloud_init_count(&total, 0, CI ".network_config") < 0)
			return -1;
		if (!json_is_integer(json_object_get(nc, "version")))
			return err_set_field(ERR_INVALID, CI ".network_config."
			    "version", CI ".network_config must be a cloud-init "
			    "network config with its version (1 or 2)");
	}
	return cloud_init_disk(vm, d, n);
}

int
cloud_init_spec(struct req *r, const char *vm_name, char **out)
{
	json_t *ci = json_object_get(r->body, CI), *spec;

	*out = NULL;
	if (ci == NULL)
		return 0;
	if ((spec = json_deep_copy(ci)) == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	/* the VM's name is its host name unless told (when it is one) */
	if (json_object_get(spec, "hostname") == NULL &&
	    cloudinit_check_hostname("name", vm_name) == 0)
		json_object_set_new(spec, "hostname", json_string(vm_name));
	err_clear();
	*out = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(spec);
	return *out ? 0 : err_set(ERR_INTERNAL, "out of memory");
}
