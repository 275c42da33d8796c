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

/* The most addresses a NIC shows. */
#define NIC_ADDRS_MAX 16

static const struct body_field nics_fields[] = {
	{ "network", BODY_STRING, true, 0, 255 },
	{ "mac", BODY_STRING, false, 0, 64 },
	{ "ipv4", BODY_STRING, false, 0, 64 },
	{ "model", BODY_STRING, false, 0, 16 },
};

static const char *const nics_models[] = { "virtio", "e1000" };

/* "<field>.<name>", or name alone when field is NULL, into buf. */
static void
nics_field(char *buf, size_t len, const char *field, const char *name)
{
	snprintf(buf, len, "%s%s%s", field ? field : "", field ? "." : "",
	    name);
}

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

/*
 * One NIC (object e) into n; field ("nics[0]", or NULL for a body of its
 * own) names it in errors.  A bridge network's bridge goes into buf
 * (when given).
 */
static int
nics_one(struct store_conn *c, json_t *e, const char *field,
    const char *model, struct nic_rec *n, struct placements_buf *buf)
{
	char f[48], mac[MAC_STR_LEN];
	const char *net, *s;
	struct network_rec nr;
	uint32_t a;

	if (body_check_object(e, field, nics_fields, sizeof(nics_fields) /
	    sizeof(nics_fields[0])) < 0)
		return -1;
	memset(n, 0, sizeof(*n));
	net = json_string_value(json_object_get(e, "network"));
	nics_field(f, sizeof(f), field, "network");
	if (req_check_name(f, net) < 0)
		return -1;
	if (store_network_get(c, net, &nr) < 0)
		return err_set_field(ERR_UNPROCESSABLE, f, "there is no network "
		    "'%s'", net);
	n->network_id = nr.id;
	snprintf(n->network, sizeof(n->network), "%s", nr.name);
	if (buf && strcmp(nr.mode, "bridge") == 0)
		nics_bridge(buf, nr.bridge);
	nics_field(f, sizeof(f), field, "mac");
	if ((s = json_string_value(json_object_get(e, "mac"))) != NULL) {
		if (mac_parse(s, mac, sizeof(mac)) < 0)
			return err_set_field(ERR_INVALID, f, "%s must be a unicast "
			    "MAC address: six hex octets separated by ':'", f);
		snprintf(n->mac, sizeof(n->mac), "%s", mac);
	}
	nics_field(f, sizeof(f), field, "ipv4");
	if ((s = json_string_value(json_object_get(e, "ipv4"))) != NULL) {
		if (ipv4_parse(s, &a) < 0)
			return err_set_field(ERR_INVALID, f, "%s must be an IPv4 "
			    "address A.B.C.D", f);
		snprintf(n->ipv4, sizeof(n->ipv4), "%s", s);
	}
	nics_field(f, sizeof(f), field, "model");
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
		char field[32];

		snprintf(field, sizeof(field), "nics[%zu]", i);
		if ((rc = nics_one(c, e, field, model, &buf->nics[i], buf)) < 0)
			break;
		buf->nnics++;
	}
	store_read_end(c);
	return rc;
}

/* The addresses NIC n was last seen with (addrs.c keeps them), by
 * source: lease, agent, arp. */
static json_t *
nics_addresses(const struct nic_rec *n)
{
	struct addr_seen l[NIC_ADDRS_MAX];
	int k = addrs_of(n->mac, l, NIC_ADDRS_MAX);
	json_t *a = json_array();

	for (int src = 0; a && src < ADDR_SOURCE__COUNT; src++)
		for (int i = 0; i < k; i++) {
			json_t *e;

			if ((int)l[i].source != src || (e = json_pack(
			    "{s:s, s:s}", "address", l[i].ip, "source",
			    addr_source_name(l[i].source))) == NULL)
				continue;
			json_object_set_new(e, "seen_at",
			    req_time(l[i].seen_at));
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

/* --- /v1/vms/{vm}/nics --- */

int
nics_list(struct req *r)
{
	struct nic_rec n[VM_NICS_MAX];
	struct store_conn *c = store_read_begin(r->app->store);
	struct vm_rec v;
	int k = -1;

	if (store_vm_get(c, r->params[0], &v) == 0)
		k = store_nic_list(c, v.id, n, VM_NICS_MAX);
	store_read_end(c);
	if (k < 0)
		return -1;
	return req_reply(r, 200, json_pack("{s:o}", "nics", nics_json(n, k)));
}

/* Record rq and answer with its operation (?wait=N). */
static int
nics_act(struct req *r, struct nic_request *rq)
{
	struct op_rec op;
	int64_t wait;

	if (req_query_int(r, "wait", 0, 300, 0, &wait) < 0)
		return -1;
	rq->vm = r->params[0];
	rq->idem_key = r->idem_key[0] ? r->idem_key : NULL;
	if (nics_request(r->app, rq, &op, NULL) < 0)
		return -1;
	return operations_reply(r, &op, wait);
}

/* POST /v1/vms/{vm}/nics {"network", "mac"?, "ipv4"?, "model"?} */
int
nics_add_one(struct req *r)
{
	struct nic_request rq;
	struct store_conn *c;
	int rc;

	if (r->body == NULL)
		return err_set(ERR_INVALID, "the body must be a NIC: "
		    "{\"network\": NAME}");
	memset(&rq, 0, sizeof(rq));
	rq.kind = OP_NIC_ADD;
	c = store_read_begin(r->app->store);
	rc = nics_one(c, r->body, NULL, "virtio", &rq.nic, NULL);
	store_read_end(c);
	if (rc < 0)
		return -1;
	return nics_act(r, &rq);
}

/* DELETE /v1/vms/{vm}/nics/{mac} */
int
nics_remove(struct req *r)
{
	struct nic_request rq;
	char mac[MAC_STR_LEN];

	if (body_check(r, NULL, 0) < 0)
		return -1;
	if (mac_parse(r->params[1], mac, sizeof(mac)) < 0)
		return err_set(ERR_NOT_FOUND, "a NIC is named by its MAC "
		    "address, not '%.64s'", r->params[1]);
	memset(&rq, 0, sizeof(rq));
	rq.kind = OP_NIC_REMOVE;
	rq.mac = mac;
	return nics_act(r, &rq);
}
