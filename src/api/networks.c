/*
 * networks.c - the networks NICs plug into: POST /v1/networks {"name",
 * "mode": nat|isolated|bridge, "ipv4": {"cidr", "gateway", "dhcp"},
 * "bridge" (bridge mode), "description"}, list, show, PATCH (the
 * description: the one thing that changes without touching a host or a
 * guest), DELETE (refused while a NIC uses it).  Every field is checked
 * here, before the store or a host sees it; the store finds taken names
 * and overlapping ranges (409).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "../common/netaddr.h"
#include "../common/utf8.h"
#include "req.h"

static json_t *
networks_json(const struct network_rec *n)
{
	struct network_names nm;
	json_t *j = json_pack("{s:s, s:s, s:s, s:i}", "name", n->name,
	    "mode", n->mode, "description", n->description, "nics", n->nics);

	if (j == NULL)
		return NULL;
	networks_lv_names(n, &nm);
	if (n->cidr[0])
		json_object_set_new(j, "ipv4", json_pack("{s:s, s:s, s:b}",
		    "cidr", n->cidr, "gateway", n->gateway, "dhcp", n->dhcp));
	else
		json_object_set_new(j, "ipv4", json_null());
	json_object_set_new(j, "bridge", json_string(nm.bridge));
	if (networks_on_hosts(n))
		json_object_set_new(j, "libvirt_name", json_string(nm.name));
	json_object_set_new(j, "created_at", req_time(n->created_at));
	return j;
}

static int
networks_add(const struct network_rec *n, void *arg)
{
	json_array_append_new(arg, networks_json(n));
	return 0;
}

int
networks_list(struct req *r)
{
	struct store_conn *c = store_read_begin(r->app->store);
	json_t *arr = json_array();
	int rc = store_network_each(c, networks_add, arr);

	store_read_end(c);
	if (rc < 0) {
		json_decref(arr);
		return -1;
	}
	return req_reply(r, 200, json_pack("{s:o}", "networks", arr));
}

int
networks_get(struct req *r)
{
	struct store_conn *c = store_read_begin(r->app->store);
	struct network_rec n;
	int rc = store_network_get(c, r->params[0], &n);

	store_read_end(c);
	if (rc < 0)
		return -1;
	return req_reply(r, 200, networks_json(&n));
}

static const struct body_field networks_fields[] = {
	{ "name", BODY_STRING, true, 0, 255 },
	{ "mode", BODY_STRING, true, 0, 16 },
	{ "ipv4", BODY_OBJECT, false, 0, 0 },
	{ "bridge", BODY_STRING, false, 0, 64 },
	{ "description", BODY_STRING, false, 0, NETWORK_DESC_CHARS },
};

static const struct body_field networks_ipv4_fields[] = {
	{ "cidr", BODY_STRING, true, 0, 32 },
	{ "gateway", BODY_STRING, false, 0, 32 },
	{ "dhcp", BODY_BOOL, false, 0, 0 },
};

/*
 * A host bridge's name: what Linux takes for an interface (1-15 bytes,
 * no '/', blank or ':'), narrowed to letters, digits, '-', '_' and '.'
 * (not first), so that it is never a path or a word a shell or XML
 * would read differently.
 */
static int
networks_check_bridge(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    (i == 0 || (s[i] != '-' && s[i] != '.')))
			n = 0;
	if (n == 0 || n >= NETWORK_BRIDGE_LEN)
		return err_set_field(ERR_INVALID, "bridge", "bridge must be a "
		    "host interface name: 1-15 letters, digits, '_', '-' or "
		    "'.' (not first)");
	return 0;
}

static int
networks_check_desc(const char *s)
{
	if (utf8_control(s, "") >= 0)
		return err_set_field(ERR_INVALID, "description",
		    "description must not hold control characters");
	return 0;
}

/* The ipv4 object into n (cidr, gateway, dhcp), each checked. */
static int
networks_ipv4(json_t *o, struct network_rec *n)
{
	const char *cidr, *gw;
	uint32_t a, net;
	int prefix;

	if (body_check_object(o, "ipv4", networks_ipv4_fields,
	    sizeof(networks_ipv4_fields) / sizeof(networks_ipv4_fields[0])) < 0)
		return -1;
	cidr = json_string_value(json_object_get(o, "cidr"));
	gw = json_string_value(json_object_get(o, "gateway"));
	if (ipv4_cidr_parse(cidr, &net, &prefix) < 0 || prefix < 1 ||
	    prefix > 30)
		return err_set_field(ERR_INVALID, "ipv4.cidr", "ipv4.cidr must "
		    "be an IPv4 network A.B.C.D/P with P from 1 to 30 and no "
		    "host bits set");
	if (gw && ipv4_parse(gw, &a) < 0)
		return err_set_field(ERR_INVALID, "ipv4.gateway", "ipv4.gateway "
		    "must be an IPv4 address A.B.C.D");
	snprintf(n->cidr, sizeof(n->cidr), "%s", cidr);
	snprintf(n->gateway, sizeof(n->gateway), "%s", gw ? gw : "");
	n->dhcp = json_is_false(json_object_get(o, "dhcp")) ? false : true;
	return 0;
}

/* The create body into n. */
static int
networks_parse(struct req *r, struct network_rec *n)
{
	const char *mode, *bridge, *desc;
	json_t *ipv4;
	bool is_bridge;

	if (body_check(r, networks_fields, sizeof(networks_fields) /
	    sizeof(networks_fields[0])) < 0 ||
	    req_check_name("name", body_string(r, "name")) < 0)
		return -1;
	mode = body_string(r, "mode");
	if (disks_word("mode", mode, (const char *const[]){ "nat",
	    "isolated", "bridge" }, 3) < 0)
		return -1;
	is_bridge = strcmp(mode, "bridge") == 0;
	bridge = body_string(r, "bridge");
	ipv4 = json_object_get(r->body, "ipv4");
	if (is_bridge && (bridge == NULL || networks_check_bridge(bridge) < 0))
		return err_set_field(ERR_INVALID, "bridge", "a bridge network "
		    "needs bridge: the name of the hosts' bridge (1-15 "
		    "letters, digits, '_', '-' or '.', not first)");
	if (!is_bridge && bridge)
		return err_set_field(ERR_INVALID, "bridge", "only a bridge "
		    "network has a bridge: a %s network gets its own", mode);
	if (!is_bridge && ipv4 == NULL)
		return err_set_field(ERR_INVALID, "ipv4", "a %s network needs "
		    "ipv4: {\"cidr\": \"A.B.C.D/P\"}", mode);
	if ((desc = body_string(r, "description")) &&
	    networks_check_desc(desc) < 0)
		return -1;
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", body_string(r, "name"));
	snprintf(n->mode, sizeof(n->mode), "%s", mode);
	snprintf(n->bridge, sizeof(n->bridge), "%s", bridge ? bridge : "");
	snprintf(n->description, sizeof(n->description), "%s",
	    desc ? desc : "");
	n->dhcp = !is_bridge;
	if (ipv4 && networks_ipv4(ipv4, n) < 0)
		return -1;
	if (is_bridge)
		n->dhcp = false;        /* the bridge's own network answers */
	return 0;
}

int
networks_create(struct req *r)
{
	struct network_rec n;

	if (networks_parse(r, &n) < 0)
		return -1;
	req_new_id(n.uuid);
	if (networks_request_create(r->app, &n) < 0)
		return -1;
	req_set_location(r, "/v1/networks/", n.name);
	return req_reply(r, 201, networks_json(&n));
}

static const struct body_field networks_patch_fields[] = {
	{ "description", BODY_STRING, true, 0, NETWORK_DESC_CHARS },
};

struct networks_patch {
	const char *name, *desc;
	struct network_rec n;
};

static int
networks_patch_tx(struct store_conn *c, void *arg)
{
	struct networks_patch *p = arg;

	if (store_network_get(c, p->name, &p->n) < 0 ||
	    store_network_set_description(c, p->n.id, p->desc) < 0)
		return -1;
	return store_network_get(c, p->name, &p->n);
}

int
networks_update(struct req *r)
{
	struct networks_patch p = { r->params[0], NULL, { 0 } };

	if (body_check(r, networks_patch_fields,
	    sizeof(networks_patch_fields) / sizeof(networks_patch_fields[0])) <
	    0 || networks_check_desc(p.desc = body_string(r, "description")) <
	    0)
		return -1;
	if (store_tx(r->app->store, networks_patch_tx, &p) < 0)
		return -1;
	return req_reply(r, 200, networks_json(&p.n));
}

int
networks_remove(struct req *r)
{
	struct network_rec n;

	if (networks_request_delete(r->app, r->params[0], &n) < 0)
		return -1;
	return req_reply(r, 200, networks_json(&n));
}
