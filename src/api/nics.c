/*
 * nics.c - a VM's NICs in the API: "nics" of a create body, checked here
 * ([{"network", "mac"?, "ipv4"?, "model"?}]: the network must exist, a
 * MAC or address asked for must be well-formed; the store then checks
 * the address against the range and both against what is taken), and
 * a VM's NICs as JSON, each with the addresses its network's DHCP server
 * was last seen leasing to it (daemon/leases.c: read by the sweep, so
 * that showing a VM never waits on a host).
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "../common/netaddr.h"
#include "req.h"

static const struct body_field nics_fields[] = {
	{ "network", BODY_STRING, true, 0, 255 },
	{ "mac", BODY_STRING, false, 0, 64 },
	{ "ipv4", BODY_STRING, false, 0, 64 },
	{ "model", BODY_STRING, false, 0, 16 },
};

static const char *const nics_models[] = { "virtio", "e1000" };

/* A bridge network's bridge into buf's list, once. */
static void
nics_bridge(struct placements_buf *buf, const char *bridge)
{
	for (int i = 0; i < buf->nbridges; i++)
		if (strcmp(buf->bridges[i], bridge) == 0)
			return;
	snprintf(buf->bridges[buf->nbridges++], NETWORK_BRIDGE_LEN, "%s",
	    bridge);
}

/* NIC i (object e) into n; field "nics[i]" names it in errors. */
static int
nics_one(struct store_conn *c, json_t *e, size_t i, const char *model,
    struct nic_rec *n, struct placements_buf *buf)
{
	char field[32], f[48], mac[MAC_STR_LEN];
	const char *net, *s;
	struct network_rec nr;
	uint32_t a;

	snprintf(field, sizeof(field), "nics[%zu]", i);
	if (body_check_object(e, field, nics_fields, sizeof(nics_fields) /
	    sizeof(nics_fields[0])) < 0)
		return -1;
	memset(n, 0, sizeof(*n));
	net = json_string_value(json_object_get(e, "network"));
	snprintf(f, sizeof(f), "%s.network", field);
	if (req_check_name(f, net) < 0)
		return -1;
	if (store_network_get(c, net, &nr) < 0)
		return err_set_field(ERR_UNPROCESSABLE, f, "there is no network "
		    "'%s'", net);
	n->network_id = nr.id;
	snprintf(n->network, sizeof(n->network), "%s", nr.name);
	if (strcmp(nr.mode, "bridge") == 0)
		nics_bridge(buf, nr.bridge);
	snprintf(f, sizeof(f), "%s.mac", field);
	if ((s = json_string_value(json_object_get(e, "mac"))) != NULL) {
		if (mac_parse(s, mac, sizeof(mac)) < 0)
			return err_set_field(ERR_INVALID, f, "%s must be a unicast "
			    "MAC address: six hex octets separated by ':'", f);
		snprintf(n->mac, sizeof(n->mac), "%s", mac);
	}
	snprintf(f, sizeof(f), "%s.ipv4", field);
	if ((s = json_string_value(json_object_get(e, "ipv4"))) != NULL) {
		if (ipv4_parse(s, &a) < 0)
			return err_set_field(ERR_INVALID, f, "%s must be an IPv4 "
			    "address A.B.C.D", f);
		snprintf(n->ipv4, sizeof(n->ipv4), "%s", s);
	}
	snprintf(f, sizeof(f), "%s.model", field);
	if ((s = json_string_value(json_object_get(e, "model"))) != NULL &&
	    disks_word(f, s, nics_models, 2) < 0)
		return -1;
	snprintf(n->model, sizeof(n->model), "%s", s ? s : model);
	return 0;
}

int
nics_parse_create(struct req *r, struct placements_buf *buf)
{
	json_t *list = json_object_get(r->body, "nics"), *e;
	struct store_conn *c;
	const char *model;
	size_t i;
	int rc = 0;

	buf->nnics = buf->nbridges = 0;
	if (list == NULL)
		return 0;
	if (json_array_size(list) > VM_NICS_MAX)
		return err_set_field(ERR_INVALID, "nics", "a vm has at most %d "
		    "NICs", VM_NICS_MAX);
	/* a Windows guest has no virtio driver until one is installed */
	model = disks_image_windows(r, body_string(r, "image")) ? "e1000" :
	    "virtio";
	c = store_read_begin(r->app->store);
	json_array_foreach(list, i, e) {
		if ((rc = nics_one(c, e, i, model, &buf->nics[i], buf)) < 0)
			break;
		buf->nnics++;
	}
	store_read_end(c);
	return rc;
}

/* The addresses NIC n was last seen with (leases.c keeps them). */
static json_t *
nics_addresses(const struct nic_rec *n)
{
	struct lease_seen l[4];
	int k = leases_of(n->mac, l, 4);
	json_t *a = json_array();

	for (int i = 0; a && i < k; i++) {
		json_t *e = json_pack("{s:s, s:s}", "address", l[i].ip,
		    "source", "lease");

		if (e == NULL)
			continue;
		json_object_set_new(e, "seen_at", req_time(l[i].seen_at));
		json_object_set_new(e, "expires_at", l[i].expiry_ms > 0 ?
		    req_time(l[i].expiry_ms) : json_null());
		json_array_append_new(a, e);
	}
	return a;
}

json_t *
nics_json(const struct nic_rec *n, int count)
{
	json_t *arr = json_array();

	for (int i = 0; arr && i < count; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, "
		    "s:o, s:o}", "dev", n[i].dev, "network", n[i].network,
		    "mac", n[i].mac, "model", n[i].model, "ipv4",
		    n[i].ipv4[0] ? json_string(n[i].ipv4) : json_null(),
		    "addresses", nics_addresses(&n[i])));
	return arr;
}
