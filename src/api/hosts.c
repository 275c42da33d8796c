/*
 * hosts.c - the host resource: register (POST), list, show, change
 * (PATCH: labels, ratios, reserved resources, maintenance, the fence
 * action, pool_path while no VM is there) and remove (DELETE, refused
 * while VMs live there).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/utf8.h"
#include "req.h"

/* The state a client sees: fenced, then maintenance, win over the
 * connection state. */
static const char *
hosts_state(const struct host_rec *h)
{
	if (h->fenced_at > 0)
		return "fenced";
	return h->maintenance ? "maintenance" : h->state;
}

static json_t *
hosts_resource(double physical, double reserved, double ratio,
    double allocated)
{
	double cap = (physical - reserved) * ratio;   /* as the scheduler */

	if (cap < 0)
		cap = 0;
	return json_pack("{s:f, s:f, s:f, s:f, s:f}", "physical", physical,
	    "reserved", reserved, "capacity", cap, "allocated", allocated,
	    "free", cap - allocated > 0 ? cap - allocated : 0.0);
}

/* A fence action as shown: its program and how many arguments (they may
 * hold a password: not shown), or null. */
static json_t *
hosts_fence_json(const struct host_rec *h)
{
	json_t *a = h->fence[0] ? json_loads(h->fence, 0, NULL) : NULL;
	json_t *j = NULL;

	if (json_array_size(a) > 0)
		j = json_pack("{s:O, s:I}", "program", json_array_get(a, 0),
		    "args", (json_int_t)json_array_size(a) - 1);
	json_decref(a);
	return j ? j : json_null();
}

json_t *
hosts_json(const struct host_rec *h)
{
	json_t *labels = json_loads(h->labels, 0, NULL);
	json_t *types = json_array();
	char buf[sizeof(h->domain_types)], *tok, *save;
	json_t *j;

	snprintf(buf, sizeof(buf), "%s", h->domain_types);
	for (tok = strtok_r(buf, " ", &save); tok;
	    tok = strtok_r(NULL, " ", &save))
		json_array_append_new(types, json_string(tok));
	j = json_pack("{s:s, s:s, s:s, s:b, s:o, s:s, s:s, s:o, s:s, s:i,"
	    " s:I, s:I, s:i, s:f, s:f, s:f, s:{s:I, s:I, s:I}}",
	    "name", h->name, "uri", h->uri, "state", hosts_state(h),
	    "maintenance", h->maintenance,
	    "labels", json_is_object(labels) ? labels : json_object(),
	    "arch", h->arch, "domain_type", h->domain_type,
	    "domain_types", types, "cpu_model", h->cpu_model,
	    "cpus", h->cpus, "memory_mib", (json_int_t)h->memory_mib,
	    "free_memory_mib", (json_int_t)h->free_memory_mib, "vms", h->vms,
	    "cpu_ratio", h->cpu_ratio, "ram_ratio", h->ram_ratio,
	    "disk_ratio", h->disk_ratio,
	    "allocated", "vcpus", (json_int_t)h->alloc_vcpus,
	    "memory_mib", (json_int_t)h->alloc_memory_mib,
	    "disk_gib", (json_int_t)h->alloc_disk_gib);
	if (!json_is_object(labels))
		json_decref(labels);
	if (j == NULL)
		return NULL;
	json_object_set_new(j, "resources", json_pack("{s:o, s:o, s:o}",
	    "vcpus", hosts_resource(h->cpus, h->reserved_vcpus, h->cpu_ratio,
	    (double)h->alloc_vcpus),
	    "memory_mib", hosts_resource((double)h->memory_mib,
	    (double)h->reserved_memory_mib, h->ram_ratio,
	    (double)h->alloc_memory_mib),
	    "disk_gib", hosts_resource((double)h->disk_gib,
	    (double)h->reserved_disk_gib, h->disk_ratio,
	    (double)h->alloc_disk_gib)));
	json_object_set_new(j, "pool_path", h->pool_path[0] ?
	    json_string(h->pool_path) : json_null());
	json_object_set_new(j, "storage", h->storage[0] ?
	    json_string(h->storage) : json_null());
	json_object_set_new(j, "connection", json_string(h->state));
	json_object_set_new(j, "fence", hosts_fence_json(h));
	json_object_set_new(j, "fenced_at", h->fenced_at > 0 ?
	    req_time(h->fenced_at) : json_null());
	json_object_set_new(j, "created_at", req_time(h->created_at));
	json_object_set_new(j, "updated_at", req_time(h->updated_at));
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

static int
hosts_load(struct req *r, struct host_rec *h)
{
	struct store_conn *c = store_read_begin(r->app->store);
	int rc = store_host_get(c, r->params[0], h);

	store_read_end(c);
	return rc;
}

int
hosts_get(struct req *r)
{
	struct host_rec h;

	if (hosts_load(r, &h) < 0)
		return -1;
	return req_reply(r, 200, hosts_json(&h));
}

static int hosts_check_path(const char *field, const char *p);

/*
 * A fence action: null or [] for none, else an argument vector of 1-32
 * strings, the program by its absolute path, no control characters.
 */
static int
hosts_fence(json_t *v, struct host_rec *h)
{
	size_t i, n = json_array_size(v);
	const char *s;
	char *text;
	json_t *e;

	h->fence[0] = '\0';
	if (json_is_null(v) || (json_is_array(v) && n == 0))
		return 0;
	if (!json_is_array(v) || n > 32)
		return err_set_field(ERR_INVALID, "fence", "fence must be an "
		    "argument vector: an array of 1 to 32 strings, the program "
		    "first (by its absolute path; no shell runs it), or null");
	json_array_foreach(v, i, e) {
		s = json_string_value(e);
		if (s == NULL || s[0] == '\0' || strlen(s) > 1000)
			return err_set_field(ERR_INVALID, "fence", "fence[%zu] "
			    "must be a non-empty string of at most 1000 bytes",
			    i);
		for (const unsigned char *u = (const unsigned char *)s; *u; u++)
			if (*u < ' ' || *u == 0x7f)
				return err_set_field(ERR_INVALID, "fence",
				    "fence[%zu] must not contain control "
				    "characters", i);
	}
	if (hosts_check_path("fence", json_string_value(json_array_get(v,
	    0))) < 0)
		return -1;
	text = json_dumps(v, JSON_COMPACT);
	if (text == NULL || strlen(text) >= sizeof(h->fence)) {
		free(text);
		return err_set_field(ERR_INVALID, "fence", "fence is too long");
	}
	snprintf(h->fence, sizeof(h->fence), "%s", text);
	free(text);
	return 0;
}

static const struct body_field hosts_reserved_fields[] = {
	{ "vcpus", BODY_INT, false, 0, 4096 },
	{ "memory_mib", BODY_INT, false, 0, 1LL << 32 },
	{ "disk_gib", BODY_INT, false, 0, 1LL << 32 },
};

/*
 * Apply the settings a body may carry (labels, reserved, ratios,
 * maintenance) onto h.
 */
static int
hosts_settings(struct req *r, struct host_rec *h)
{
	struct sched_label labels[PLACEMENTS_LABELS_MAX];
	json_t *res = json_object_get(r->body, "reserved");
	json_t *lj = json_object_get(r->body, "labels"), *out;
	size_t n;
	char *text;

	if (body_ratio(r->body, "cpu_ratio", h->cpu_ratio, &h->cpu_ratio) < 0 ||
	    body_ratio(r->body, "ram_ratio", h->ram_ratio, &h->ram_ratio) < 0 ||
	    body_ratio(r->body, "disk_ratio", h->disk_ratio,
	    &h->disk_ratio) < 0)
		return -1;
	if (res) {
		if (body_check_object(res, "reserved", hosts_reserved_fields,
		    sizeof(hosts_reserved_fields) /
		    sizeof(hosts_reserved_fields[0])) < 0)
			return -1;
		if (json_object_get(res, "vcpus"))
			h->reserved_vcpus = (int)json_integer_value(
			    json_object_get(res, "vcpus"));
		if (json_object_get(res, "memory_mib"))
			h->reserved_memory_mib = json_integer_value(
			    json_object_get(res, "memory_mib"));
		if (json_object_get(res, "disk_gib"))
			h->reserved_disk_gib = json_integer_value(
			    json_object_get(res, "disk_gib"));
	}
	if (lj) {
		if (body_labels(lj, "labels", labels, PLACEMENTS_LABELS_MAX,
		    &n) < 0)
			return -1;
		/* store them canonically: keys sorted, compact */
		out = json_object();
		for (size_t i = 0; i < n; i++)
			json_object_set_new(out, labels[i].key,
			    json_string(labels[i].value));
		text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(out);
		if (text == NULL || strlen(text) >= sizeof(h->labels)) {
			free(text);
			return err_set_field(ERR_INVALID, "labels", "labels "
			    "are too long");
		}
		snprintf(h->labels, sizeof(h->labels), "%s", text);
		free(text);
	}
	if (json_object_get(r->body, "maintenance"))
		h->maintenance = body_bool(r, "maintenance", false);
	if (json_object_get(r->body, "fence") &&
	    hosts_fence(json_object_get(r->body, "fence"), h) < 0)
		return -1;
	if (json_object_get(r->body, "storage")) {
		const char *st = body_string(r, "storage");

		if (st[0] && req_check_name("storage", st) < 0)
			return -1;
		snprintf(h->storage, sizeof(h->storage), "%s", st);
	}
	return 0;
}

/* An absolute directory, no "..", no blanks or control characters. */
static int
hosts_check_path(const char *field, const char *p)
{
	if (p[0] != '/' || strstr(p, "/../") || strstr(p, "/./") ||
	    (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0))
		return err_set_field(ERR_INVALID, field, "%s must be an "
		    "absolute directory without '.' or '..' parts", field);
	for (const unsigned char *u = (const unsigned char *)p; *u; u++)
		if (*u <= ' ' || *u == 0x7f || *u == '\'' || *u == '"')
			return err_set_field(ERR_INVALID, field, "%s must not "
			    "contain blanks, quotes or control characters", field);
	if (!utf8_xml_text(p))
		return err_set_field(ERR_INVALID, field, "%s must be UTF-8 "
		    "text XML can carry", field);
	return 0;
}

static const struct body_field hosts_create_fields[] = {
	{ "name", BODY_STRING, true, 0, 255 },
	{ "uri", BODY_STRING, true, 0, 1000 },
	{ "labels", BODY_OBJECT, false, 0, 0 },
	{ "reserved", BODY_OBJECT, false, 0, 0 },
	{ "cpu_ratio", BODY_NUMBER, false, 0, 0 },
	{ "ram_ratio", BODY_NUMBER, false, 0, 0 },
	{ "disk_ratio", BODY_NUMBER, false, 0, 0 },
	{ "maintenance", BODY_BOOL, false, 0, 0 },
	{ "storage", BODY_STRING, false, 0, 63 },
	{ "pool_path", BODY_STRING, false, 0, 1000 },
	{ "fence", BODY_ANY, false, 0, 0 },
};

/* A libvirt URI: scheme, ':', no blanks or control characters. */
static int
hosts_check_uri(const char *uri)
{
	size_t scheme = strspn(uri, "abcdefghijklmnopqrstuvwxyz0123456789+");

	if (scheme == 0 || uri[scheme] != ':')
		return err_set_field(ERR_INVALID, "uri", "uri must be a libvirt "
		    "URI such as qemu+tcp://host/system");
	for (const unsigned char *p = (const unsigned char *)uri; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return err_set_field(ERR_INVALID, "uri", "uri must not "
			    "contain blanks or control characters");
	return 0;
}

int
hosts_create(struct req *r)
{
	struct host_rec h;

	if (body_check(r, hosts_create_fields, sizeof(hosts_create_fields) /
	    sizeof(hosts_create_fields[0])) < 0 ||
	    req_check_name("name", body_string(r, "name")) < 0 ||
	    hosts_check_uri(body_string(r, "uri")) < 0)
		return -1;
	memset(&h, 0, sizeof(h));
	fleet_host_defaults(r->app->fleet, &h);
	snprintf(h.name, sizeof(h.name), "%s", body_string(r, "name"));
	snprintf(h.uri, sizeof(h.uri), "%s", body_string(r, "uri"));
	if (hosts_settings(r, &h) < 0)
		return -1;
	if (body_string(r, "pool_path")) {
		if (hosts_check_path("pool_path", body_string(r, "pool_path")) < 0)
			return -1;
		snprintf(h.pool_path, sizeof(h.pool_path), "%s",
		    body_string(r, "pool_path"));
	}
	/* refuse a taken name before dialling anything */
	{
		struct host_rec old;
		struct store_conn *c = store_read_begin(r->app->store);
		int rc = store_host_get(c, h.name, &old);

		store_read_end(c);
		if (rc == 0)
			return err_set_field(ERR_CONFLICT, "name", "host '%s' "
			    "already exists", h.name);
	}
	if (fleet_register(r->app->fleet, &h) < 0)
		return -1;
	req_set_location(r, "/v1/hosts/", h.name);
	return req_reply(r, 201, hosts_json(&h));
}

static const struct body_field hosts_update_fields[] = {
	{ "labels", BODY_OBJECT, false, 0, 0 },
	{ "reserved", BODY_OBJECT, false, 0, 0 },
	{ "cpu_ratio", BODY_NUMBER, false, 0, 0 },
	{ "ram_ratio", BODY_NUMBER, false, 0, 0 },
	{ "disk_ratio", BODY_NUMBER, false, 0, 0 },
	{ "maintenance", BODY_BOOL, false, 0, 0 },
	{ "storage", BODY_STRING, false, 0, 63 },
	{ "pool_path", BODY_STRING, false, 0, 1000 },
	{ "fence", BODY_ANY, false, 0, 0 },
};

struct hosts_tx {
	struct req *r;
	const char *name;
	struct host_rec h;
};

static int
hosts_update_tx(struct store_conn *c, void *arg)
{
	struct hosts_tx *t = arg;

	if (store_host_get(c, t->name, &t->h) < 0 ||
	    hosts_settings(t->r, &t->h) < 0 ||
	    store_host_update_settings(c, &t->h) < 0)
		return -1;
	return store_host_get(c, t->name, &t->h);
}

/*
 * PATCH's pool_path: "" for the configured one.  The other settings are
 * checked first (on a copy), so that a bad one changes nothing; the pool
 * is moved by the fleet (only while the host holds no VM).
 */
static int
hosts_update_pool(struct req *r, const char *name, const char *path)
{
	struct host_rec h, scratch;
	struct store_conn *c;
	int rc;

	if (path[0] && hosts_check_path("pool_path", path) < 0)
		return -1;
	c = store_read_begin(r->app->store);
	rc = store_host_get(c, name, &h);
	store_read_end(c);
	if (rc < 0)
		return -1;
	scratch = h;
	if (hosts_settings(r, &scratch) < 0)
		return -1;
	if (strcmp(path, h.pool_path) == 0)
		return 0;
	return fleet_set_pool_path(r->app->fleet, h.id, path, &h);
}

int
hosts_update(struct req *r)
{
	struct hosts_tx t = { r, r->params[0], { 0 } };
	int rc;

	if (body_check(r, hosts_update_fields, sizeof(hosts_update_fields) /
	    sizeof(hosts_update_fields[0])) < 0)
		return -1;
	if (body_string(r, "pool_path") && hosts_update_pool(r, t.name,
	    body_string(r, "pool_path")) < 0)
		return -1;
	/* view, then store: the order placements take them in */
	view_lock(r->app->view);
	rc = store_tx(r->app->store, hosts_update_tx, &t);
	if (rc == 0)
		rc = view_host_put_locked(r->app->view, &t.h);
	view_unlock(r->app->view);
	if (rc < 0)
		return -1;
	return req_reply(r, 200, hosts_json(&t.h));
}

static int
hosts_delete_tx(struct store_conn *c, void *arg)
{
	struct hosts_tx *t = arg;

	if (store_host_get(c, t->name, &t->h) < 0)
		return -1;
	if (t->h.vms > 0)
		return err_set(ERR_CONFLICT, "host '%s' still has %d VM(s); "
		    "move or delete them first", t->h.name, t->h.vms);
	return store_host_delete(c, t->h.id);
}

int
hosts_delete(struct req *r)
{
	struct hosts_tx t = { r, r->params[0], { 0 } };
	int rc;

	view_lock(r->app->view);
	rc = store_tx(r->app->store, hosts_delete_tx, &t);
	if (rc == 0)
		view_host_remove_locked(r->app->view, t.h.id);
	view_unlock(r->app->view);
	if (rc < 0)
		return -1;
	fleet_unregister(r->app->fleet, t.h.id);
	return req_reply(r, 200, hosts_json(&t.h));
}

/* --- drain and undrain --- */

struct hosts_busy {
	int64_t host_id;
	bool busy;
};

/* Is one of these a drain of the host?  (1 stops the walk.) */
static int
hosts_busy(const struct op_rec *o, void *arg)
{
	struct hosts_busy *b = arg;

	if (o->kind == OP_DRAIN && o->host_id == b->host_id)
		b->busy = true;
	return b->busy ? 1 : 0;
}

static const struct body_field hosts_drain_fields[] = {
	{ "stopped", BODY_STRING, false, 0, 16 },
	{ "max_parallel", BODY_INT, false, 1, 16 },
};

struct hosts_drain_tx {
	const char *name;
	struct host_rec h;
	struct op_rec op;
	bool undrain;
};

static int
hosts_drain_tx(struct store_conn *c, void *arg)
{
	struct hosts_drain_tx *t = arg;

	if (store_host_get(c, t->name, &t->h) < 0)
		return -1;
	t->h.maintenance = !t->undrain;
	if (store_host_update_settings(c, &t->h) < 0)
		return -1;
	if (!t->undrain) {
		t->op.host_id = t->h.id;
		if (store_op_insert(c, &t->op) < 0)
			return -1;
	}
	return store_host_get(c, t->name, &t->h);
}

/* Maintenance on or off, with the view in step (and, to drain, the op). */
static int
hosts_drain_commit(struct req *r, struct hosts_drain_tx *t)
{
	int rc;

	view_lock(r->app->view);
	rc = store_tx(r->app->store, hosts_drain_tx, t);
	if (rc == 0)
		rc = view_host_put_locked(r->app->view, &t->h);
	view_unlock(r->app->view);
	return rc;
}

int
hosts_drain(struct req *r)
{
	struct hosts_drain_tx t;
	const char *stopped;
	int64_t wait;
	char *params;

	if (body_check(r, hosts_drain_fields, sizeof(hosts_drain_fields) /
	    sizeof(hosts_drain_fields[0])) < 0 ||
	    req_query_int(r, "wait", 0, 3600, 0, &wait) < 0)
		return -1;
	stopped = body_string(r, "stopped");
	if (stopped && strcmp(stopped, "migrate") != 0 &&
	    strcmp(stopped, "stay") != 0)
		return err_set_field(ERR_INVALID, "stopped", "stopped must be "
		    "\"migrate\" (cold-migrate stopped VMs too) or \"stay\"");
	memset(&t, 0, sizeof(t));
	t.name = r->params[0];
	req_new_id(t.op.id);
	t.op.kind = OP_DRAIN;
	snprintf(t.op.idem_key, sizeof(t.op.idem_key), "%s", r->idem_key);
	if (asprintf(&params, "{\"stopped\":\"%s\",\"max_parallel\":%d}",
	    stopped ? stopped : "stay",
	    (int)body_int(r, "max_parallel", 1)) < 0)
		return err_set(ERR_INTERNAL, "out of memory");
	snprintf(t.op.params, sizeof(t.op.params), "%s", params);
	free(params);
	if (hosts_drain_commit(r, &t) < 0)
		return -1;
	ops_submit(r->app->ops, t.op.id);
	return operations_reply(r, &t.op, wait);
}

int
hosts_undrain(struct req *r)
{
	struct hosts_drain_tx t;

	if (body_check(r, NULL, 0) < 0)
		return -1;
	memset(&t, 0, sizeof(t));
	t.name = r->params[0];
	t.undrain = true;
	{
		struct store_conn *c = store_read_begin(r->app->store);
		struct hosts_busy b = { 0, false };
		int rc = store_host_get(c, t.name, &t.h);

		b.host_id = t.h.id;
		if (rc == 0)
			rc = store_op_each(c, 0, "running", 1000, hosts_busy, &b);
		if (rc == 0 && !b.busy)
			rc = store_op_each(c, 0, "queued", 1000, hosts_busy, &b);
		store_read_end(c);
		if (rc < 0)
			return -1;
		if (b.busy)
			return err_set(ERR_CONFLICT, "host '%s' is being drained; "
			    "cancel the drain first", t.name);
	}
	if (hosts_drain_commit(r, &t) < 0)
		return -1;
	return req_reply(r, 200, hosts_json(&t.h));
}
