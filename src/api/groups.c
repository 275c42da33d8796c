/*
 * groups.c - placement groups: POST /v1/groups {"name","policy","strict"},
 * list, show (with members), delete (refused while it has members).
 * A VM joins a group when it is created with "group".
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "req.h"

static json_t *
groups_json(const struct group_rec *g)
{
	json_t *j = json_pack("{s:s, s:s, s:b, s:i}", "name", g->name,
	    "policy", g->policy, "strict", g->strict, "vms", g->vms);

	if (j)
		json_object_set_new(j, "created_at", req_time(g->created_at));
	return j;
}

static int
groups_add(const struct group_rec *g, void *arg)
{
	json_array_append_new(arg, groups_json(g));
	return 0;
}

int
groups_list(struct req *r)
{
	struct store_conn *c = store_read_begin(r->app->store);
	json_t *arr = json_array();
	int rc = store_group_each(c, groups_add, arr);

	store_read_end(c);
	if (rc < 0) {
		json_decref(arr);
		return -1;
	}
	return req_reply(r, 200, json_pack("{s:o}", "groups", arr));
}

static int
groups_member(const struct vm_rec *v, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s, s:s, s:s}", "name",
	    v->name, "id", v->uuid, "host", v->host));
	return 0;
}

int
groups_get(struct req *r)
{
	struct store_conn *c = store_read_begin(r->app->store);
	struct group_rec g;
	json_t *members = json_array(), *j;
	int rc = store_group_get(c, r->params[0], &g);

	if (rc == 0)
		rc = store_vm_each_in_group(c, g.id, groups_member, members);
	store_read_end(c);
	if (rc < 0) {
		json_decref(members);
		return -1;
	}
	j = groups_json(&g);
	json_object_set_new(j, "members", members);
	return req_reply(r, 200, j);
}

static const struct body_field groups_fields[] = {
	{ "name", BODY_STRING, true, 0, 255 },
	{ "policy", BODY_STRING, true, 0, 32 },
	{ "strict", BODY_BOOL, false, 0, 0 },
};

static int
groups_insert_tx(struct store_conn *c, void *arg)
{
	return store_group_insert(c, arg);
}

int
groups_create(struct req *r)
{
	struct group_rec g;
	const char *policy;

	if (body_check(r, groups_fields, sizeof(groups_fields) /
	    sizeof(groups_fields[0])) < 0 ||
	    req_check_name("name", body_string(r, "name")) < 0)
		return -1;
	policy = body_string(r, "policy");
	if (strcmp(policy, "affinity") != 0 &&
	    strcmp(policy, "anti-affinity") != 0)
		return err_set_field(ERR_INVALID, "policy", "policy must be "
		    "affinity or anti-affinity");
	memset(&g, 0, sizeof(g));
	snprintf(g.name, sizeof(g.name), "%s", body_string(r, "name"));
	snprintf(g.policy, sizeof(g.policy), "%s", policy);
	g.strict = body_bool(r, "strict", true);
	if (store_tx(r->app->store, groups_insert_tx, &g) < 0)
		return -1;
	req_set_location(r, "/v1/groups/", g.name);
	return req_reply(r, 201, groups_json(&g));
}

struct groups_del {
	const char *name;
	struct group_rec g;
};

static int
groups_delete_tx(struct store_conn *c, void *arg)
{
	struct groups_del *d = arg;

	if (store_group_get(c, d->name, &d->g) < 0)
		return -1;
	if (d->g.vms > 0)
		return err_set(ERR_CONFLICT, "group '%s' still has %d VM(s)",
		    d->g.name, d->g.vms);
	return store_group_delete(c, d->g.id);
}

int
groups_delete(struct req *r)
{
	struct groups_del d = { r->params[0], { 0 } };

	if (store_tx(r->app->store, groups_delete_tx, &d) < 0)
		return -1;
	return req_reply(r, 200, groups_json(&d.g));
}
