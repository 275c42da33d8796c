/*
 * ops_nic.c - a VM's NICs in its operations: loaded with the VM, written
 * into its domain description (an <interface> per NIC, in order), and
 * the static DHCP host of each NIC on a nat or isolated network, so the
 * guest gets the address hangar gave it (its network made sure of first):
 * added on the VM's host before
 * its domain is defined (create) or on the destination before it moves
 * (migration), removed where it no longer runs (delete, rollback, the
 * source after a move).  Every step may be repeated.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
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

void
ops_nics_spec(struct op_ctx *x, struct ops_disks *d, struct vm_spec *spec)
{
	for (int i = 0; i < x->nnics; i++) {
		struct vm_nic_spec *n = &d->nic[i];
		bool on_hosts = networks_on_hosts(&x->nic_nets[i]);

		networks_lv_names(&x->nic_nets[i], &d->nic_names[i]);
		n->type = on_hosts ? "network" : "bridge";
		n->source = on_hosts ? d->nic_names[i].name :
		    d->nic_names[i].bridge;
		n->mac = x->nics[i].mac;
		n->model = x->nics[i].model[0] ? x->nics[i].model : "virtio";
	}
	spec->nics = d->nic;
	spec->nnics = x->nnics;
}

/* Does NIC i get a static DHCP host on its network? */
static bool
ops_nic_dhcp(const struct op_ctx *x, int i)
{
	return networks_on_hosts(&x->nic_nets[i]) && x->nic_nets[i].dhcp &&
	    x->nics[i].ipv4[0] != '\0';
}

int
ops_nics_dhcp_add(struct op_ctx *x, struct backend_conn *bc)
{
	struct network_names nm;

	for (int i = 0; i < x->nnics; i++) {
		struct net_dhcp_host h = { x->nics[i].mac, x->nics[i].ipv4,
		    x->vm.name };

		/* the network is there and running (made again if it was
		 * removed behind hangar's back) */
		if (networks_ensure_on(bc, &x->nic_nets[i]) < 0)
			return -1;
		if (!ops_nic_dhcp(x, i))
			continue;
		networks_lv_names(&x->nic_nets[i], &nm);
		if (backend_network_host_add(bc, nm.name, &h) < 0)
			return -1;
	}
	return 0;
}

int
ops_nics_dhcp_remove(struct op_ctx *x, struct backend_conn *bc)
{
	struct network_names nm;

	for (int i = 0; i < x->nnics; i++) {
		if (!ops_nic_dhcp(x, i))
			continue;
		networks_lv_names(&x->nic_nets[i], &nm);
		if (backend_network_host_remove(bc, nm.name, x->nics[i].mac) < 0)
			return -1;
	}
	return 0;
}
