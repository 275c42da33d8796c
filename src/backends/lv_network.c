/*
 * lv_network.c - the libvirt backend's networks: defining, starting and
 * undefining the libvirt networks hangar keeps on every host, their
 * static DHCP hosts (virNetworkUpdate, live and in the definition), their
 * DHCP leases, and whether a host has a bridge.
 *
 * A network is known by its name and its uuid: a network of hangar's
 * name with another uuid is someone else's (or a stale one) and is
 * refused, never taken over.  Each function opens the network itself,
 * so a repeat (recovery runs things again) finds what the first did.
 *
 * Bridges: virInterfaceLookupByName asks libvirt's interface driver,
 * which on Debian reads the host's sysfs through udev (no daemon
 * needed), so it sees exactly the host's own interfaces; a host whose
 * libvirt has no interface driver answers ERR_UNSUPPORTED.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/xpath.h>

#include "../common/error.h"
#include "../common/log.h"
#include "lv_int.h"

/* Network name on c; NULL with ERR_NOT_FOUND (or another error). */
static virNetworkPtr
lv_net_lookup(virConnectPtr c, const char *name)
{
	virNetworkPtr n = virNetworkLookupByName(c, name);

	if (n == NULL)
		lv_fail("find the network");
	return n;
}

int
lv_network_define(struct backend_conn *bc, const struct net_spec *spec)
{
	virConnectPtr c = lv_get(bc);
	virNetworkPtr n;
	char uuid[VIR_UUID_STRING_BUFLEN], *xml;
	int r = -1;

	if (c == NULL)
		return -1;
	if ((n = virNetworkLookupByName(c, spec->name)) != NULL) {
		if (virNetworkGetUUIDString(n, uuid) < 0)
			lv_fail("read the network's uuid");
		else if (strcasecmp(uuid, spec->uuid) != 0)
			err_set(ERR_CONFLICT, "host '%s' has a network '%s' "
			    "that is not hangar's (uuid %s)", bc->uri,
			    spec->name, uuid);
		else
			r = 0;
		virNetworkFree(n);
	} else if ((xml = network_xml_network(spec)) != NULL) {
		if ((n = virNetworkDefineXML(c, xml)) == NULL)
			lv_fail("define the network");
		else
			r = 0;
		virNetworkFree(n);
		free(xml);
	}
	virConnectClose(c);
	return r;
}

int
lv_network_start(struct backend_conn *bc, const char *name)
{
	virConnectPtr c = lv_get(bc);
	virNetworkPtr n;
	int r = -1, active;

	if (c == NULL)
		return -1;
	if ((n = lv_net_lookup(c, name)) != NULL) {
		if ((active = virNetworkIsActive(n)) < 0)
			lv_fail("read the network's state");
		else if (!active && virNetworkCreate(n) < 0)
			lv_fail("start the network");
		else if (virNetworkSetAutostart(n, 1) < 0)
			lv_fail("autostart the network");
		else
			r = 0;
		virNetworkFree(n);
	}
	virConnectClose(c);
	return r;
}

int
lv_network_undefine(struct backend_conn *bc, const char *name,
    const char *uuid)
{
	virConnectPtr c = lv_get(bc);
	virNetworkPtr n;
	char have[VIR_UUID_STRING_BUFLEN];
	int r = 0;

	if (c == NULL)
		return -1;
	if ((n = virNetworkLookupByName(c, name)) == NULL) {
		if (virGetLastErrorCode() != VIR_ERR_NO_NETWORK)
			r = lv_fail("find the network");
	} else {
		if (virNetworkGetUUIDString(n, have) < 0)
			r = lv_fail("read the network's uuid");
		else if (strcmp(have, uuid) != 0)
			log_info("libvirt: network '%s' on '%s' has uuid %s, not "
			    "%s: not hangar's, left alone", name, bc->uri,
			    have, uuid);
		else if (virNetworkIsActive(n) == 1 && virNetworkDestroy(n) < 0)
			r = lv_fail("stop the network");
		else if (virNetworkUndefine(n) < 0)
			r = lv_fail("undefine the network");
		virNetworkFree(n);
	}
	virConnectClose(c);
	return r;
}

/* One DHCP host change (command, the <host> of h) on n, live when the
 * network runs and in its definition. */
static int
lv_net_host_update(virNetworkPtr n, unsigned command,
    const struct net_dhcp_host *h)
{
	unsigned flags = VIR_NETWORK_UPDATE_AFFECT_CONFIG;
	char *xml = network_xml_dhcp_host(h);
	int r;

	if (xml == NULL)
		return -1;
	if (virNetworkIsActive(n) == 1)
		flags |= VIR_NETWORK_UPDATE_AFFECT_LIVE;
	r = virNetworkUpdate(n, command, VIR_NETWORK_SECTION_IP_DHCP_HOST, -1,
	    xml, flags);
	free(xml);
	if (r < 0)
		return lv_fail("update the network's DHCP hosts");
	return 0;
}

/*
 * Delete every DHCP host of n whose MAC is mac, whose address is ip or
 * whose name is name (ip, name may be NULL): what stands in the way of a
 * new entry (libvirt refuses one that shares any of them), or the entry
 * to remove.
 */
static int
lv_net_host_drop(virNetworkPtr n, const char *mac, const char *ip,
    const char *name)
{
	/* the running definition: hangar changes both alike (and libvirt's
	 * test driver describes no other) */
	char *xml = virNetworkGetXMLDesc(n, 0);
	char hmac[32], hip[64], hname[256];
	xmlXPathContextPtr ctx = NULL;
	xmlXPathObjectPtr o = NULL;
	xmlDocPtr doc;
	int k = 0, r = 0;

	if (xml == NULL)
		return lv_fail("describe the network");
	doc = lv_xml_read(xml, "network.xml");
	free(xml);
	if (doc == NULL || (ctx = xmlXPathNewContext(doc)) == NULL) {
		xmlFreeDoc(doc);
		return err_set(ERR_BACKEND, "cannot parse a network's "
		    "description");
	}
	o = lv_xpath_nodes(ctx, "/network/ip/dhcp/host", &k);
	for (int i = 0; i < k && r == 0; i++) {
		struct net_dhcp_host h = { hmac, NULL, NULL };

		lv_xpath_at(ctx, o->nodesetval->nodeTab[i], "string(@mac)",
		    hmac, sizeof(hmac));
		lv_xpath_at(ctx, o->nodesetval->nodeTab[i], "string(@ip)",
		    hip, sizeof(hip));
		lv_xpath_at(ctx, o->nodesetval->nodeTab[i], "string(@name)",
		    hname, sizeof(hname));
		if (hmac[0] && (strcasecmp(hmac, mac) == 0 ||
		    (ip && strcmp(hip, ip) == 0) ||
		    (name && name[0] && strcmp(hname, name) == 0)))
			r = lv_net_host_update(n,
			    VIR_NETWORK_UPDATE_COMMAND_DELETE, &h);
	}
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return r;
}

int
lv_network_host_add(struct backend_conn *bc, const char *name,
    const struct net_dhcp_host *h)
{
	virConnectPtr c = lv_get(bc);
	virNetworkPtr n;
	int r = -1;

	if (c == NULL)
		return -1;
	if ((n = lv_net_lookup(c, name)) != NULL) {
		if (lv_net_host_drop(n, h->mac, h->ip, h->name) == 0)
			r = lv_net_host_update(n,
			    VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, h);
		virNetworkFree(n);
	}
	virConnectClose(c);
	return r;
}

int
lv_network_host_remove(struct backend_conn *bc, const char *name,
    const char *mac)
{
	virConnectPtr c = lv_get(bc);
	virNetworkPtr n;
	int r = -1;

	if (c == NULL)
		return -1;
	if ((n = virNetworkLookupByName(c, name)) == NULL) {
		r = virGetLastErrorCode() == VIR_ERR_NO_NETWORK ? 0 :
		    lv_fail("find the network");
	} else {
		r = lv_net_host_drop(n, mac, NULL, NULL);
		virNetworkFree(n);
	}
	virConnectClose(c);
	return r;
}

int
lv_network_leases(struct backend_conn *bc, const char *name,
    const char *mac, struct net_lease *out, int max, int *nout)
{
	virConnectPtr c = lv_get(bc);
	virNetworkDHCPLeasePtr *leases = NULL;
	virNetworkPtr n;
	int k, r = -1;

	*nout = 0;
	if (c == NULL)
		return -1;
	if ((n = lv_net_lookup(c, name)) != NULL) {
		if ((k = virNetworkGetDHCPLeases(n, mac, &leases, 0)) < 0) {
			lv_fail("list the network's DHCP leases");
		} else {
			for (int i = 0; i < k; i++) {
				virNetworkDHCPLeasePtr l = leases[i];
				struct net_lease *o = &out[*nout];

				if (*nout < max && l->type ==
				    VIR_IP_ADDR_TYPE_IPV4) {
					memset(o, 0, sizeof(*o));
					snprintf(o->mac, sizeof(o->mac), "%s",
					    l->mac ? l->mac : "");
					snprintf(o->ip, sizeof(o->ip), "%s",
					    l->ipaddr ? l->ipaddr : "");
					snprintf(o->hostname,
					    sizeof(o->hostname), "%s",
					    l->hostname ? l->hostname : "");
					o->expiry_ms = l->expirytime * 1000;
					(*nout)++;
				}
				virNetworkDHCPLeaseFree(l);
			}
			free(leases);
			r = 0;
		}
		virNetworkFree(n);
	}
	virConnectClose(c);
	return r;
}

int
lv_bridge_exists(struct backend_conn *bc, const char *bridge, bool *out)
{
	virConnectPtr c = lv_get(bc);
	virInterfacePtr i;
	int r = 0;

	*out = false;
	if (c == NULL)
		return -1;
	if ((i = virInterfaceLookupByName(c, bridge)) != NULL) {
		*out = true;
		virInterfaceFree(i);
	} else if (virGetLastErrorCode() != VIR_ERR_NO_INTERFACE) {
		r = lv_fail("look up the host's interfaces");
	}
	virConnectClose(c);
	return r;
}
