/*
 * hosts.c - GET /v1/hosts and GET /v1/hosts/{name}.
 */
#include "../common/error.h"
#include "req.h"

json_t *
hosts_json(const struct host_rec *h)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:s,"
	    " s:i, s:{s:I, s:I, s:I}}",
	    "name", h->name, "uri", h->uri, "state", h->state,
	    "arch", h->arch, "domain_type", h->domain_type,
	    "cpus", h->cpus, "memory_mib", (json_int_t)h->memory_mib,
	    "free_memory_mib", (json_int_t)h->free_memory_mib,
	    "cpu_model", h->cpu_model, "vms", h->vms,
	    "allocated", "vcpus", (json_int_t)h->alloc_vcpus,
	    "memory_mib", (json_int_t)h->alloc_memory_mib,
	    "disk_gib", (json_int_t)h->alloc_disk_gib);

	if (j) {
		json_object_set_new(j, "created_at", req_time(h->created_at));
		json_object_set_new(j, "updated_at", req_time(h->updated_at));
	}
	return j;
}

static int
hosts_add(const struct host_rec *h, void *arg)
{
	json_array_append_new(arg, hosts_json(h));
	return 0;
}

int
hosts_list(struct req *r)
{
	struct store_conn *c = store_read_begin(r->app->store);
	json_t *arr = json_array();
	int rc = store_host_each(c, hosts_add, arr);

	store_read_end(c);
	if (rc < 0) {
		json_decref(arr);
		return -1;
	}
	return req_reply(r, 200, json_pack("{s:o}", "hosts", arr));
}

int
hosts_get(struct req *r)
{
	struct store_conn *c = store_read_begin(r->app->store);
	struct host_rec h;
	int rc = store_host_get(c, r->params[0], &h);

	store_read_end(c);
	if (rc < 0)
		return -1;
	return req_reply(r, 200, hosts_json(&h));
}
