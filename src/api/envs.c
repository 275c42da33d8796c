/*
 * envs.c - test environments (daemon/envs.c says what one is):
 *
 *   POST   /v1/environments {"name", "vms": [{"name", "count"?, "image",
 *          ...any VM create field but "nics"}], "network": {"cidr",
 *          "mode"?: isolated|nat}, "ttl"?: "90s" | "30m" | "4h" | "1d12h"}
 *   GET    /v1/environments, /v1/environments/{name}
 *   PATCH  /v1/environments/{name} {"ttl": "..." | null}: from now
 *   DELETE /v1/environments/{name}
 *
 * A create checks everything first (each VM's body as a VM create would,
 * its field named vms[i].field), then makes the network and places every
 * VM <env>-<role>-<i> (i from 1) one after the other: the first that is
 * refused (409 with every host's verdict when none can take it) undoes
 * everything made, and the error names that VM.  The reply is the
 * env_create operation, the VMs' creates its children.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/netaddr.h"
#include "../common/schedule.h"
#include "../daemon/place.h"
#include "req.h"

#define ENV_ENTRIES_MAX 16
#define ENV_TTL_MAX_S (30LL * 86400)
#define ENV_WAIT_MAX 3600

struct envs_entry {
	const char *role;
	int count;
	json_t *spec;              /* borrowed from the request body */
};

int
envs_ttl_parse(const char *text, int64_t *ttl_s)
{
	int64_t ms;

	*ttl_s = 0;
	if (text == NULL)
		return 0;
	if (schedule_parse_duration(text, "ttl", &ms) < 0)
		return -1;
	if (ms % 1000 != 0 || ms > ENV_TTL_MAX_S * 1000)
		return err_set_field(ERR_INVALID, "ttl", "ttl must be whole "
		    "seconds, at most 30 days (\"30d\")");
	*ttl_s = ms / 1000;
	return 0;
}

int
envs_check_name(const char *field, const char *name)
{
	if (name_check(field, name) < 0)
		return -1;
	if (strlen(name) > ENV_NAME_MAX)
		return err_set_field(ERR_INVALID, field, "%s must be at most "
		    "%d characters long (it is part of the VMs' names)", field,
		    ENV_NAME_MAX);
	return 0;
}

/* One entry of "vms" (index i) into *en, checked; *total counts VMs. */
static int
envs_entry(json_t *o, int i, struct envs_entry *en, int *total)
{
	char f[32];
	json_t *cnt = json_object_get(o, "count");

	snprintf(f, sizeof(f), "vms[%d]", i);
	if (!json_is_object(o))
		return err_set_field(ERR_INVALID, f, "%s must be an object", f);
	snprintf(f, sizeof(f), "vms[%d].name", i);
	en->role = json_string_value(json_object_get(o, "name"));
	if (en->role == NULL)
		return err_set_field(ERR_INVALID, f, "%s is required: the "
		    "VMs' role, part of their names", f);
	if (envs_check_name(f, en->role) < 0)
		return -1;
	snprintf(f, sizeof(f), "vms[%d].count", i);
	if (cnt && (!json_is_integer(cnt) || json_integer_value(cnt) < 1 ||
	    json_integer_value(cnt) > ENV_VMS_MAX))
		return err_set_field(ERR_INVALID, f, "%s must be an integer "
		    "from 1 to %d", f, ENV_VMS_MAX);
	en->count = cnt ? (int)json_integer_value(cnt) : 1;
	snprintf(f, sizeof(f), "vms[%d].nics", i);
	if (json_object_get(o, "nics"))
		return err_set_field(ERR_INVALID, f, "%s cannot be given: an "
		    "environment's VMs have one NIC, on its own network", f);
	snprintf(f, sizeof(f), "vms[%d].image", i);
	if (!json_is_string(json_object_get(o, "image")))
		return err_set_field(ERR_INVALID, f, "%s is required: each VM "
		    "of an environment is a linked clone of an image", f);
	if ((*total += en->count) > ENV_VMS_MAX)
		return err_set_field(ERR_INVALID, "vms", "an environment has at "
		    "most %d VMs", ENV_VMS_MAX);
	en->spec = o;
	return 0;
}

static int
envs_entries(json_t *vms, struct envs_entry *en, size_t *n)
{
	int total = 0;

	*n = json_array_size(vms);
	if (*n == 0 || *n > ENV_ENTRIES_MAX)
		return err_set_field(ERR_INVALID, "vms", "vms must list 1 to %d "
		    "kinds of VM", ENV_ENTRIES_MAX);
	for (size_t i = 0; i < *n; i++) {
		if (envs_entry(json_array_get(vms, i), (int)i, &en[i], &total) <
		    0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(en[j].role, en[i].role) == 0)
				return err_set_field(ERR_INVALID, "vms", "vms "
				    "names '%s' twice", en[i].role);
	}
	return 0;
}

static const struct body_field envs_net_fields[] = {
	{ "cidr", BODY_STRING, true, 0, 32 },
	{ "mode", BODY_STRING, false, 0, 16 },
};

static int
envs_network(json_t *o, struct network_rec *n)
{
	const char *cidr, *mode;
	uint32_t net;
	int prefix;

	if (body_check_object(o, "network", envs_net_fields,
	    sizeof(envs_net_fields) / sizeof(envs_net_fields[0])) < 0)
		return -1;
	cidr = json_string_value(json_object_get(o, "cidr"));
	mode = json_string_value(json_object_get(o, "mode"));
	if (ipv4_cidr_parse(cidr, &net, &prefix) < 0 || prefix < 1 ||
	    prefix > 30)
		return err_set_field(ERR_INVALID, "network.cidr", "network.cidr "
		    "must be an IPv4 network A.B.C.D/P with P from 1 to 30 and "
		    "no host bits set");
	if (mode && disks_word("network.mode", mode, (const char *const[]){
	    "isolated", "nat" }, 2) < 0)
		return -1;
	memset(n, 0, sizeof(*n));
	snprintf(n->mode, sizeof(n->mode), "%s", mode ? mode : "isolated");
	snprintf(n->cidr, sizeof(n->cidr), "%s", cidr);
	n->dhcp = true;
	return 0;
}

/*
 * The create body of VM i (1-based) of entry en: the entry without
 * "count", named <env>-<role>-<i>, with a NIC on network (NULL: none,
 * for the checks before the network exists).
 */
static json_t *
envs_vm_body(const char *env, const struct envs_entry *en, int i,
    const char *network)
{
	json_t *b = json_deep_copy(en->spec);
	char name[NAME_MAX_LEN];

	if (b == NULL)
		return NULL;
	json_object_del(b, "count");
	snprintf(name, sizeof(name), "%s-%s-%d", env, en->role, i);
	json_object_set_new(b, "name", json_string(name));
	if (network)
		json_object_set_new(b, "nics", json_pack("[{s:s}]", "network",
		    network));
	return b;
}

/* The error of entry k's VM name, its field and words under vms[k]. */
static void
envs_vm_error(int k, const char *vm)
{
	struct err e;
	char field[ERR_FIELD_MAX];

	err_save(&e);
	if (e.field[0])
		snprintf(field, sizeof(field), "vms[%d].%.40s", k, e.field);
	else
		snprintf(field, sizeof(field), "vms[%d]", k);
	memcpy(e.field, field, sizeof(field));
	err_set_field(e.code, e.field, "vms[%d] (vm '%s'): %.900s", k, vm,
	    e.msg);
}

/* Run body as r's for fn (VM k): r->body is given back, body dropped. */
static int
envs_with_body(struct req *r, json_t *body, int k,
    int (*fn)(struct req *r, void *arg), void *arg)
{
	json_t *orig = r->body;
	char vm[NAME_MAX_LEN];
	int rc;

	if (body == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	snprintf(vm, sizeof(vm), "%s", json_string_value(json_object_get(body,
	    "name")));
	r->body = body;
	rc = fn(r, arg);
	r->body = orig;
	json_decref(body);
	if (rc < 0)
		envs_vm_error(k, vm);
	return rc;
}

static int
envs_check_one(struct req *r, void *arg)
{
	struct place_req pr;

	return placements_parse(r, &pr, arg);
}

struct envs_place {
	struct vms_env_link ln;
	struct placements_buf *buf;
	struct vm_rec vm;
	struct op_rec op;
};

static int
envs_place_one(struct req *r, void *arg)
{
	struct envs_place *p = arg;

	return vms_place_body(r, &p->ln, p->buf, &p->vm, &p->op);
}

/* Place every VM of e; on a refusal, undo everything (envs_abandon). */
static int
envs_place_all(struct req *r, struct env_rec *e, const struct envs_entry *en,
    size_t n, struct envs_place *p, const char *network)
{
	struct err saved;

	for (size_t k = 0; k < n; k++) {
		p->ln.role = en[k].role;
		for (int i = 1; i <= en[k].count; i++) {
			if (envs_with_body(r, envs_vm_body(e->name, &en[k], i,
			    network), (int)k, envs_place_one, p) < 0)
				goto undo;
		}
	}
	return 0;
undo:
	err_save(&saved);
	envs_abandon(r->app, e);
	err_restore(&saved);
	return -1;
}

static const struct body_field envs_fields[] = {
	{ "name", BODY_STRING, true, 0, 255 },
	{ "vms", BODY_ARRAY, true, 0, 0 },
	{ "network", BODY_OBJECT, true, 0, 0 },
	{ "ttl", BODY_STRING, false, 0, 32 },
};

/* A create body, checked: what envs_create makes. */
struct envs_plan {
	struct env_rec e;          /* name, ttl_s */
	struct network_rec net;    /* mode, cidr */
	struct envs_entry en[ENV_ENTRIES_MAX];
	size_t n;
};

/*
 * Check r's body into *pl, each VM's body too (as vms[i]; buf is
 * scratch), before anything is made.  ERR_INVALID naming the field.
 */
static int
envs_parse(struct req *r, struct envs_plan *pl, struct placements_buf *buf)
{
	memset(pl, 0, sizeof(*pl));
	if (body_check(r, envs_fields, sizeof(envs_fields) /
	    sizeof(envs_fields[0])) < 0 ||
	    envs_check_name("name", body_string(r, "name")) < 0 ||
	    envs_ttl_parse(body_string(r, "ttl"), &pl->e.ttl_s) < 0 ||
	    envs_network(json_object_get(r->body, "network"), &pl->net) < 0 ||
	    envs_entries(json_object_get(r->body, "vms"), pl->en, &pl->n) < 0)
		return -1;
	snprintf(pl->e.name, sizeof(pl->e.name), "%s", body_string(r, "name"));
	for (size_t k = 0; k < pl->n; k++)
		if (envs_with_body(r, envs_vm_body(pl->e.name, &pl->en[k], 1,
		    NULL), (int)k, envs_check_one, buf) < 0)
			return -1;
	return 0;
}

int
envs_create(struct req *r)
{
	struct envs_plan *pl = malloc(sizeof(*pl));
	struct envs_place p;
	struct op_rec op;
	int64_t wait = 0;
	int rc = -1;

	memset(&p, 0, sizeof(p));
	memset(&op, 0, sizeof(op));
	if (pl == NULL || (p.buf = malloc(sizeof(*p.buf))) == NULL) {
		rc = err_set(ERR_INTERNAL, "out of memory");
		goto out;
	}
	if (req_query_int(r, "wait", 0, ENV_WAIT_MAX, 0, &wait) < 0 ||
	    envs_parse(r, pl, p.buf) < 0)
		goto out;
	req_new_id(op.id);
	op.kind = OP_ENV_CREATE;
	snprintf(op.idem_key, sizeof(op.idem_key), "%s", r->idem_key);
	snprintf(op.params, sizeof(op.params), "{\"name\":\"%s\"}",
	    pl->e.name);
	snprintf(pl->e.op_id, sizeof(pl->e.op_id), "%s", op.id);
	req_new_id(pl->net.uuid);
	snprintf(pl->net.description, sizeof(pl->net.description),
	    "environment '%s'", pl->e.name);
	if (envs_begin(r->app, &pl->e, &pl->net) < 0)
		goto out;
	p.ln.env_id = pl->e.id;
	p.ln.parent = op.id;
	if (envs_place_all(r, &pl->e, pl->en, pl->n, &p, pl->net.name) < 0)
		goto out;
	if (envs_commit(r->app, &op) < 0) {
		struct err saved;

		err_save(&saved);
		envs_abandon(r->app, &pl->e);
		err_restore(&saved);
		goto out;
	}
	rc = 0;
out:
	free(p.buf);
	free(pl);
	return rc < 0 ? -1 : operations_reply(r, &op, wait);
}

/* --- list, show, extend, delete --- */

static json_t *
envs_json(const struct env_rec *e)
{
	char net[NAME_MAX_LEN];

	envs_network_name(e->name, net, sizeof(net));
	return json_pack("{s:s, s:s, s:s?, s:I, s:o, s:o, s:s?, s:s?, s:i}",
	    "name", e->name, "state", e->state,
	    "network", e->network_id > 0 ? net : NULL,
	    "ttl_s", (json_int_t)e->ttl_s,
	    "expires_at", e->expires_at > 0 ? req_time(e->expires_at) :
	    json_null(), "created_at", req_time(e->created_at),
	    "operation", e->op_id[0] ? e->op_id : NULL,
	    "error", e->error[0] ? e->error : NULL, "vm_count", e->nvms);
}

static int
envs_add(const struct env_rec *e, void *arg)
{
	json_array_append_new(arg, envs_json(e));
	return 0;
}

int
envs_list(struct req *r)
{
	struct store_conn *c = store_read_begin(r->app->store);
	json_t *arr = json_array();
	int rc = store_env_each(c, envs_add, arr);

	store_read_end(c);
	if (rc < 0) {
		json_decref(arr);
		return -1;
	}
	return req_reply(r, 200, json_pack("{s:o}", "environments", arr));
}

struct envs_show {
	struct store_conn *c;
	json_t *vms;
};

/* One VM of the environment: its name, role, state, host and NICs. */
static int
envs_show_vm(int64_t vm_id, const char *role, void *arg)
{
	struct envs_show *s = arg;
	struct nic_rec nics[VM_NICS_MAX];
	struct vm_rec v;
	json_t *addrs = json_array();
	int k;

	if (store_vm_get_id(s->c, vm_id, &v) < 0 ||
	    (k = store_nic_list(s->c, v.id, nics, VM_NICS_MAX)) < 0) {
		json_decref(addrs);
		return -1;
	}
	for (int i = 0; i < k; i++)
		if (nics[i].ipv4[0])
			json_array_append_new(addrs, json_string(nics[i].ipv4));
	json_array_append_new(s->vms, json_pack("{s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:o, s:o}", "name", v.name, "id", v.uuid, "role", role,
	    "state", v.state, "host", v.host, "desired_state", v.desired,
	    "addresses", addrs, "nics", nics_json(nics, k)));
	return 0;
}

int
envs_get(struct req *r)
{
	struct envs_show s = { store_read_begin(r->app->store), json_array() };
	struct env_rec e;
	json_t *j = NULL;
	int rc = store_env_get(s.c, r->params[0], &e);

	if (rc == 0)
		rc = store_env_vm_each(s.c, e.id, envs_show_vm, &s);
	store_read_end(s.c);
	if (rc == 0 && (j = envs_json(&e)) != NULL)
		json_object_set(j, "vms", s.vms);
	json_decref(s.vms);
	if (rc < 0)
		return -1;
	return req_reply(r, 200, j);
}

static const struct body_field envs_patch_fields[] = {
	{ "ttl", BODY_STRING, true, 0, 32 },
};

int
envs_update(struct req *r)
{
	struct env_rec e;
	int64_t ttl_s = 0;
	bool none = json_is_null(json_object_get(r->body, "ttl"));

	/* null: no expiry (checked as absent, the one field) */
	if (none)
		json_object_del(r->body, "ttl");
	if ((!none && (body_check(r, envs_patch_fields,
	    sizeof(envs_patch_fields) / sizeof(envs_patch_fields[0])) < 0 ||
	    envs_ttl_parse(body_string(r, "ttl"), &ttl_s) < 0)) ||
	    (none && body_check(r, NULL, 0) < 0))
		return -1;
	if (envs_set_ttl(r->app, r->params[0], ttl_s, &e) < 0)
		return -1;
	return req_reply(r, 200, envs_json(&e));
}

int
envs_delete(struct req *r)
{
	struct op_rec op;
	int64_t wait;

	if (body_check(r, NULL, 0) < 0 ||
	    req_query_int(r, "wait", 0, ENV_WAIT_MAX, 0, &wait) < 0)
		return -1;
	memset(&op, 0, sizeof(op));
	req_new_id(op.id);
	snprintf(op.idem_key, sizeof(op.idem_key), "%s", r->idem_key);
	if (envs_request_delete(r->app, r->params[0], &op) < 0)
		return -1;
	return operations_reply(r, &op, wait);
}
