/*
 * ops_nic.c - a VM's NICs in its operations: loaded with the VM, written
 * into its domain description (an <interface> per NIC, in order), and
 * the static DHCP host of each NIC on a nat or isolated network, so the
 * guest gets the address hangar gave it (its network made sure of first):
 * added on the VM's host before
 * its domain is defined (create) or on the destination before it moves
 * (migration), removed where it no longer runs (delete, rollback, the
 * source after a move).  Every step may be repeated.  Where no DHCP
 * server of hangar's hands a NIC its address (a bridge network, DHCP
 * off), the guest's cloud-init network-config carries it instead.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
#include "../common/netaddr.h"
#include "ops_int.h"

int
ops_nics_load(struct store_conn *c, struct op_ctx *x)
{
	x->nnics = store_nic_list(c, x->vm.id, x->nics, VM_NICS_MAX);
	if (x->nnics < 0) {
		x->nnics = 0;
		return -1;
	}
	for (int i = 0; i < x->nnics; i++)
		if (store_network_get_id(c, x->nics[i].network_id,
		    &x->nic_nets[i]) < 0)
			return -1;
	return 0;
}

/* NIC i as a device, its names kept in *nm. */
static void
ops_nic_device(struct op_ctx *x, int i, struct network_names *nm,
    struct vm_nic_spec *n)
{
	bool on_hosts = networks_on_hosts(&x->nic_nets[i]);

	networks_lv_names(&x->nic_nets[i], nm);
	n->type = on_hosts ? "network" : "bridge";
	n->source = on_hosts ? nm->name : nm->bridge;
	n->mac = x->nics[i].mac;
	n->model = x->nics[i].model[0] ? x->nics[i].model : "virtio";
}

void
ops_nics_spec(struct op_ctx *x, struct ops_disks *d, struct vm_spec *spec)
{
	for (int i = 0; i < x->nnics; i++)
		ops_nic_device(x, i, &d->nic_names[i], &d->nic[i]);
	spec->nics = d->nic;
	spec->nnics = x->nnics;
}

/* Does NIC i get a static DHCP host on its network? */
static bool
ops_nic_dhcp_wanted(const struct op_ctx *x, int i)
{
	return networks_on_hosts(&x->nic_nets[i]) && x->nic_nets[i].dhcp &&
	    x->nics[i].ipv4[0] != '\0';
}

/* NIC i's network made sure of on bc and its DHCP host added there, or
 * its DHCP host removed from it. */
static int
ops_nic_dhcp(struct op_ctx *x, struct backend_conn *bc, int i, bool add)
{
	/* the host name is the VM's first NIC's only: libvirt refuses two
	 * entries of one name in a network */
	struct net_dhcp_host h = { x->nics[i].mac, x->nics[i].ipv4,
	    strcmp(x->nics[i].dev, "net0") == 0 ? x->vm.name : NULL };
	struct network_names nm;

	/* the network is there and running (made again if it was removed
	 * behind hangar's back) */
	if (add && networks_ensure_on(bc, &x->nic_nets[i]) < 0)
		return -1;
	if (!ops_nic_dhcp_wanted(x, i))
		return 0;
	networks_lv_names(&x->nic_nets[i], &nm);
	if (add)
		return backend_network_host_add(bc, nm.name, &h);
	return backend_network_host_remove(bc, nm.name, x->nics[i].mac);
}

int
ops_nics_dhcp_add(struct op_ctx *x, struct backend_conn *bc)
{
	for (int i = 0; i < x->nnics; i++)
		if (ops_nic_dhcp(x, bc, i, true) < 0)
			return -1;
	return 0;
}

int
ops_nics_dhcp_remove(struct op_ctx *x, struct backend_conn *bc)
{
	for (int i = 0; i < x->nnics; i++)
		if (ops_nic_dhcp(x, bc, i, false) < 0)
			return -1;
	return 0;
}

void
ops_nics_cloudinit(struct op_ctx *x, struct cloudinit_nic *out,
    char (*addr)[OPS_NIC_CIDR_LEN])
{
	bool routed = false;
	uint32_t net;
	int prefix;

	for (int i = 0; i < x->nnics; i++) {
		const struct network_rec *n = &x->nic_nets[i];

		memset(&out[i], 0, sizeof(out[i]));
		out[i].mac = x->nics[i].mac;
		if (ops_nic_dhcp_wanted(x, i) || x->nics[i].ipv4[0] == '\0' ||
		    ipv4_cidr_parse(n->cidr, &net, &prefix) < 0) {
			routed = true;     /* DHCP brings its own router */
			continue;
		}
		snprintf(addr[i], OPS_NIC_CIDR_LEN, "%s/%d", x->nics[i].ipv4,
		    prefix);
		out[i].address = addr[i];
		if (n->gateway[0] && !routed) {
			out[i].gateway = n->gateway;
			routed = true;
		}
		if (n->gateway[0] && networks_on_hosts(n))
			out[i].dns = n->gateway;
	}
}

/* --- hot-plug: one NIC added to or removed from a made VM --- */

/* The NIC the operation is about (its "mac" param): its index, or -1. */
static int
ops_nic_of(struct op_ctx *x)
{
	const char *mac = json_string_value(json_object_get(x->params,
	    "mac"));

	for (int i = 0; mac && i < x->nnics; i++)
		if (strcmp(x->nics[i].mac, mac) == 0)
			return i;
	return err_set(ERR_NOT_FOUND, "vm '%s' has no NIC '%s'", x->vm.name,
	    mac ? mac : "?");
}

/* Unplug NIC i and drop its DHCP host: every step may be repeated. */
static int
ops_nic_unplug(struct op_ctx *x, int i)
{
	enum vm_state st = VM_STOPPED;

	if (backend_state(x->bc, x->vm.uuid, &st) < 0 &&
	    err_last()->code != ERR_NOT_FOUND)
		return -1;
	if (backend_nic_detach(x->bc, x->vm.uuid, x->nics[i].mac,
	    st == VM_RUNNING || st == VM_PAUSED) < 0)
		return -1;
	return ops_nic_dhcp(x, x->bc, i, false);
}

int
ops_nic_add(struct op_ctx *x)
{
	struct network_names nm;
	struct vm_nic_spec n;
	struct err e;
	int i = ops_nic_of(x);
	bool live;

	if (i < 0 || ops_observe(x) < 0)
		return -1;
	live = x->observed == VM_RUNNING || x->observed == VM_PAUSED;
	ops_step(x, "adding its address to the network");
	if (ops_nic_dhcp(x, x->bc, i, true) < 0)
		goto fail;
	ops_nic_device(x, i, &nm, &n);
	ops_step(x, live ? "plugging the NIC into the running guest" :
	    "adding the NIC to the definition");
	if (backend_nic_attach(x->bc, x->vm.uuid, &n, live) == 0)
		return 0;
fail:
	err_save(&e);
	if (ops_nic_unplug(x, i) < 0) {
		log_error("op %s: undoing the new NIC %s of vm '%s' failed "
		    "(retried later): %s", x->op.id, x->nics[i].mac,
		    x->vm.name, err_last()->msg);
		x->unsettled = true;
	}
	err_restore(&e);
	return -1;
}

int
ops_nic_add_recover(struct op_ctx *x)
{
	int i = ops_nic_of(x);

	if (i < 0)
		return -1;
	if (ops_nic_unplug(x, i) < 0) {
		x->unsettled = true;
		return -1;
	}
	return err_set(ERR_INTERRUPTED, "the daemon stopped while a NIC was "
	    "being added to vm '%s'; the add was undone", x->vm.name);
}

int
ops_nic_remove(struct op_ctx *x)
{
	int i = ops_nic_of(x);

	if (i < 0)
		return -1;
	ops_step(x, "unplugging the NIC");
	return ops_nic_unplug(x, i);
}

/* The closing transaction: the NIC's row (its MAC and address) follows
 * what happened. */
int
ops_nic_close(struct store_conn *c, struct op_ctx *x, bool ok)
{
	const char *mac = json_string_value(json_object_get(x->params,
	    "mac"));

	if (mac == NULL || (x->op.kind == OP_NIC_ADD) == ok)
		return 0;
	if (store_nic_delete(c, x->vm.id, mac) == 0)
		return 0;
	/* the VM (and its NICs) may be gone meanwhile */
	if (err_last()->code != ERR_NOT_FOUND)
		return -1;
	err_clear();
	return 0;
}
