/*
 * seed.c - a VM's NoCloud seed: the ISO 9660 volume labelled "cidata"
 * that cloud-init reads at boot, built in memory from the VM's stored
 * cloud-init settings (vm_cloud_init) and put into its host's pool
 * through a libvirt stream as the volume of its 'cidata' disk row (a
 * CD-ROM).  It is built again wherever the VM's disks are made (create,
 * a live migration's destination), from the same settings and the VM's
 * creation time, so each build is the same bytes.
 *
 * The files: meta-data (instance-id = the VM's uuid, local-hostname,
 * public-keys), user-data (the user's as it is, or an empty cloud-config),
 * vendor-data (the user's, or hangar's that gives a VM made from another's
 * disk a machine-id of its own: CLOUDINIT_VENDOR_DATA_DEFAULT) and
 * network-config (the user's, or one hangar writes matching each NIC by
 * MAC, by DHCP or with its static address: ops_nics_cloudinit; none when
 * the VM has no NIC).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cloudinit.h"
#include "../common/error.h"
#include "../common/seediso.h"
#include "ops_int.h"

#define SEED_FILES_MAX 4

/* The spec's string member k, or NULL. */
static const char *
seed_str(json_t *spec, const char *k)
{
	return json_string_value(json_object_get(spec, k));
}

/* Add file name (text) to f[*n]. */
static void
seed_file(struct seediso_file *f, size_t *n, const char *name,
    const char *text)
{
	f[*n].name = name;
	f[*n].data = text;
	f[*n].len = strlen(text);
	(*n)++;
}

/* The public keys of spec into keys[max]; how many. */
static size_t
seed_keys(json_t *spec, const char **keys, size_t max)
{
	json_t *a = json_object_get(spec, "ssh_authorized_keys"), *e;
	size_t i, n = 0;

	json_array_foreach(a, i, e)
		if (json_is_string(e) && n < max)
			keys[n++] = json_string_value(e);
	return n;
}

int
seed_build(const char *uuid, const char *spec_text,
    const struct cloudinit_nic *nics, size_t nnics, time_t when,
    unsigned char **out, size_t *len)
{
	struct seediso_file f[SEED_FILES_MAX];
	const char *keys[CLOUDINIT_KEYS_MAX];
	json_t *spec = json_loads(spec_text, 0, NULL), *nc;
	char *md = NULL, *net = NULL;
	const char *ud, *vd;
	size_t n = 0;
	int r = -1;

	if (!json_is_object(spec)) {
		json_decref(spec);
		return err_set(ERR_INTERNAL, "vm %s: its stored cloud-init "
		    "settings are not a JSON object", uuid);
	}
	md = cloudinit_meta_data(uuid, seed_str(spec, "hostname"), keys,
	    seed_keys(spec, keys, CLOUDINIT_KEYS_MAX));
	if (md == NULL)
		goto done;
	seed_file(f, &n, "meta-data", md);
	ud = seed_str(spec, "user_data");
	seed_file(f, &n, "user-data", ud ? ud : CLOUDINIT_USER_DATA_NONE);
	vd = seed_str(spec, "vendor_data");
	seed_file(f, &n, "vendor-data", vd ? vd : CLOUDINIT_VENDOR_DATA_DEFAULT);
	if ((nc = json_object_get(spec, "network_config")) != NULL)
		net = json_dumps(nc, JSON_INDENT(2) | JSON_ENSURE_ASCII |
		    JSON_PRESERVE_ORDER);
	else
		net = cloudinit_network_config(nics, nnics);
	if (net == NULL && (nc != NULL || nnics > 0))
		goto done;
	if (net)
		seed_file(f, &n, "network-config", net);
	r = seediso_build(CLOUDINIT_LABEL, f, n, when, out, len);
done:
	free(md);
	free(net);
	json_decref(spec);
	return r;
}

/* The VM's stored settings (malloc'd JSON text), or NULL + error. */
static char *
seed_spec(struct op_ctx *x)
{
	struct store_conn *c = store_read_begin(x->app->store);
	char *spec = NULL;

	if (store_cloudinit_get(c, x->vm.id, &spec) < 0 &&
	    err_last()->code == ERR_NOT_FOUND)
		err_set(ERR_CONFLICT, "vm '%s' has a cloud-init disk but no "
		    "cloud-init settings", x->vm.name);
	store_read_end(c);
	return spec;
}

int
seed_make(struct op_ctx *x, struct backend_conn *bc, const char *pool,
    const struct disk_rec *d, char *path, size_t len)
{
	struct cloudinit_nic nics[VM_NICS_MAX];
	char addrs[VM_NICS_MAX][OPS_NIC_CIDR_LEN];
	unsigned char *iso = NULL;
	size_t isolen = 0;
	char *spec;
	int r;

	ops_step(x, "writing the cloud-init seed");
	if ((spec = seed_spec(x)) == NULL)
		return -1;
	/* hangar's own network-config (when the user gave none) matches
	 * each of the VM's NICs (loaded with it: x->nics) by its MAC */
	ops_nics_cloudinit(x, nics, addrs);
	r = seed_build(x->vm.uuid, spec, nics, (size_t)x->nnics,
	    (time_t)(x->vm.created_at / 1000), &iso, &isolen);
	free(spec);
	/* made again from the start: a repeat (recovery) finds it there */
	if (r == 0)
		r = backend_volume_delete(bc, pool, d->volume);
	if (r == 0)
		r = backend_volume_put(bc, pool, d->volume, iso, isolen, path,
		    len);
	free(iso);
	return r;
}
