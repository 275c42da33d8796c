/*
 * vms.c - the VM resource as it is read (show, list, as JSON) and its
 * settings changed (PATCH); the routes that record operations (create,
 * the lifecycle actions, delete) are vms_ops.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uuid/uuid.h>

#include "../common/error.h"
#include "../common/schedule.h"
#include "../daemon/place.h"
#include "jsonw.h"
#include "req.h"
#include "vms_int.h"


/* ms as a duration in the form it is written: "7d", "1d12h", "90s" ->
 * "1m30s" (no weeks: "14d" reads better than "2w" back) */
static void
vms_duration(int64_t ms, char *buf, size_t len)
{
	static const struct { char unit; int64_t secs; } units[] = {
		{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
	};
	int64_t secs = ms / 1000;
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (secs >= units[i].secs && off < len) {
			int w = snprintf(buf + off, len - off, "%lld%c",
			    (long long)(secs / units[i].secs), units[i].unit);

			if (w > 0)
				off += (size_t)w;
			secs %= units[i].secs;
		}
	}
}

static json_t *
vms_retention_json(int keep, int64_t max_age_ms)
{
	char age[64];

	vms_duration(max_age_ms, age, sizeof(age));
	return json_pack("{s:o, s:o}", "keep", keep > 0 ?
	    json_integer(keep) : json_null(), "max_age",
	    max_age_ms > 0 ? json_string(age) : json_null());
}

/* The same, written as text. */
static void
vms_retention_write(struct jw *w, int keep, int64_t max_age_ms)
{
	char age[64];

	jw_begin(w, '{');
	jw_key(w, "keep");
	if (keep > 0)
		jw_int(w, keep);
	else
		jw_null(w);
	jw_key(w, "max_age");
	if (max_age_ms > 0) {
		vms_duration(max_age_ms, age, sizeof(age));
		jw_str(w, age);
	} else {
		jw_null(w);
	}
	jw_end(w, '}');
}

/* A VM's ceilings as shown: one made before they existed has its size. */
static int64_t
vms_max_vcpus(const struct vm_rec *v)
{
	return v->max_vcpus > v->vcpus ? v->max_vcpus : v->vcpus;
}

static int64_t
vms_max_memory(const struct vm_rec *v)
{
	return v->max_memory_mib > v->memory_mib ? v->max_memory_mib :
	    v->memory_mib;
}

json_t *
vms_json(const struct vm_rec *v)
{
	json_t *j = json_pack("{s:s, s:s, s:i, s:I, s:I, s:s, s:s, s:s, s:s}",
	    "id", v->uuid, "name", v->name, "vcpus", v->vcpus,
	    "memory_mib", (json_int_t)v->memory_mib,
	    "disk_gib", (json_int_t)v->disk_gib, "host", v->host,
	    "state", v->state, "desired_state", v->desired,
	    "observed_state", v->observed);

	if (j == NULL)
		return NULL;
	json_object_set_new(j, "operation", v->op_id[0] ?
	    json_string(v->op_id) : json_null());
	json_object_set_new(j, "group", v->group[0] ?
	    json_string(v->group) : json_null());
	json_object_set_new(j, "snapshot_schedule", v->snapshot_schedule[0] ?
	    json_string(v->snapshot_schedule) : json_null());
	json_object_set_new(j, "snapshot_retention",
	    vms_retention_json(v->snapshot_keep, v->snapshot_max_age_ms));
	json_object_set_new(j, "backup_schedule", v->backup_schedule[0] ?
	    json_string(v->backup_schedule) : json_null());
	json_object_set_new(j, "backup_retention",
	    vms_retention_json(v->backup_keep, v->backup_max_age_ms));
	json_object_set_new(j, "backup_full_every",
	    json_integer(v->backup_full_every));
	json_object_set_new(j, "on_drift", json_string(v->on_drift[0] ?
	    v->on_drift : "record"));
	json_object_set_new(j, "firmware", json_string(v->firmware));
	json_object_set_new(j, "machine", json_string(v->machine));
	json_object_set_new(j, "clock", json_string(v->clock));
	json_object_set_new(j, "hyperv", json_boolean(v->hyperv));
	json_object_set_new(j, "graphics", json_string(v->graphics));
	json_object_set_new(j, "domain_type", v->domain_type[0] ?
	    json_string(v->domain_type) : json_null());
	json_object_set_new(j, "provisioning", v->provisioning[0] ?
	    json_string(v->provisioning) : json_null());
	json_object_set_new(j, "max_vcpus", json_integer(vms_max_vcpus(v)));
	json_object_set_new(j, "max_memory_mib",
	    json_integer(vms_max_memory(v)));
	json_object_set_new(j, "created_at", req_time(v->created_at));
	json_object_set_new(j, "updated_at", req_time(v->updated_at));
	return j;
}

json_t *
vms_json_full(const struct vm_rec *v, const struct disk_rec *d, int n)
{
	json_t *j = vms_json(v);

	if (j)
		json_object_set_new(j, "disks", disks_json(d, n));
	return j;
}

/* vms_write without the closing brace: more members may follow. */
static void
vms_write_open(struct jw *w, const struct vm_rec *v, const struct disk_rec *d,
    int n)
{
	jw_begin(w, '{');
	jw_key(w, "id");
	jw_str(w, v->uuid);
	jw_key(w, "name");
	jw_str(w, v->name);
	jw_key(w, "vcpus");
	jw_int(w, v->vcpus);
	jw_key(w, "memory_mib");
	jw_int(w, v->memory_mib);
	jw_key(w, "disk_gib");
	jw_int(w, v->disk_gib);
	jw_key(w, "host");
	jw_str(w, v->host);
	jw_key(w, "state");
	jw_str(w, v->state);
	jw_key(w, "desired_state");
	jw_str(w, v->desired);
	jw_key(w, "observed_state");
	jw_str(w, v->observed);
	jw_key(w, "operation");
	jw_str_or_null(w, v->op_id);
	jw_key(w, "group");
	jw_str_or_null(w, v->group);
	jw_key(w, "snapshot_schedule");
	jw_str_or_null(w, v->snapshot_schedule);
	jw_key(w, "snapshot_retention");
	vms_retention_write(w, v->snapshot_keep, v->snapshot_max_age_ms);
	jw_key(w, "backup_schedule");
	jw_str_or_null(w, v->backup_schedule);
	jw_key(w, "backup_retention");
	vms_retention_write(w, v->backup_keep, v->backup_max_age_ms);
	jw_key(w, "backup_full_every");
	jw_int(w, v->backup_full_every);
	jw_key(w, "on_drift");
	jw_str(w, v->on_drift[0] ? v->on_drift : "record");
	jw_key(w, "firmware");
	jw_str(w, v->firmware);
	jw_key(w, "machine");
	jw_str(w, v->machine);
	jw_key(w, "clock");
	jw_str(w, v->clock);
	jw_key(w, "hyperv");
	jw_bool(w, v->hyperv);
	jw_key(w, "graphics");
	jw_str(w, v->graphics);
	jw_key(w, "domain_type");
	jw_str_or_null(w, v->domain_type);
	jw_key(w, "provisioning");
	jw_str_or_null(w, v->provisioning);
	jw_key(w, "max_vcpus");
	jw_int(w, vms_max_vcpus(v));
	jw_key(w, "max_memory_mib");
	jw_int(w, vms_max_memory(v));
	jw_key(w, "created_at");
	jw_time(w, v->created_at);
	jw_key(w, "updated_at");
	jw_time(w, v->updated_at);
	if (n >= 0) {
		jw_key(w, "disks");
		disks_write(w, d, n);
	}
}

void
vms_write(struct jw *w, const struct vm_rec *v, const struct disk_rec *d,
    int n)
{
	vms_write_open(w, v, d, n);
	jw_end(w, '}');
}

void
vms_new_uuid(char *out)
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}

/* The operation's error, as the current error (for ?wait replies). */
int
vms_op_error(const struct op_rec *o)
{
	struct err e;

	operations_err(o, &e);
	err_restore(&e);
	return -1;
}

int
vms_load(struct req *r, const char *id, struct vm_rec *v)
{
	struct store_conn *c = store_read_begin(r->app->store);
	int rc = store_vm_get(c, id, v);

	store_read_end(c);
	return rc;
}

/* The VM and its disks, as one read. */
int
vms_load_full(struct req *r, const char *id, struct vm_rec *v,
    struct disk_rec *d, int *n)
{
	struct store_conn *c = store_read_begin(r->app->store);
	int rc = store_vm_get(c, id, v);

	if (rc == 0 && (*n = store_disk_list(c, v->id, d, VM_DISKS_MAX)) < 0)
		rc = -1;
	store_read_end(c);
	return rc;
}

/* The VM's NICs into nics[VM_NICS_MAX]; their count, or -1. */
int
vms_nics(struct req *r, const struct vm_rec *v, struct nic_rec *nics)
{
	struct store_conn *c = store_read_begin(r->app->store);
	int k = store_nic_list(c, v->id, nics, VM_NICS_MAX);

	store_read_end(c);
	return k;
}

/* The VM with its disks and NICs, as a jansson tree. */
json_t *
vms_json_nics(const struct vm_rec *v, const struct disk_rec *d, int n,
    const struct nic_rec *nics, int k)
{
	json_t *j = vms_json_full(v, d, n);

	if (j)
		json_object_set_new(j, "nics", nics_json(nics, k));
	return j;
}

/*
 * The VM id as GET shows it, with status.  The hot read: written as
 * text, without a jansson tree, for a VM without NICs (one with NICs
 * shows the addresses they were seen with).
 */
int
vms_reply_one(struct req *r, const char *id, int status)
{
	struct disk_rec d[VM_DISKS_MAX];
	struct nic_rec nics[VM_NICS_MAX];
	struct vm_rec v;
	struct jw w;
	int n, k;

	if (vms_load_full(r, id, &v, d, &n) < 0 ||
	    (k = vms_nics(r, &v, nics)) < 0)
		return -1;
	if (k > 0)
		return req_reply(r, status, vms_json_nics(&v, d, n, nics, k));
	jw_init(&w);
	vms_write_open(&w, &v, d, n);
	jw_key(&w, "nics");
	jw_begin(&w, '[');
	jw_end(&w, ']');
	jw_end(&w, '}');
	if (jw_failed(&w)) {
		/* not UTF-8 (or out of memory): whatever jansson makes of it */
		jw_free(&w);
		return req_reply(r, status, vms_json_nics(&v, d, n, nics, 0));
	}
	return req_reply_text(r, status, &w);
}

int
vms_get(struct req *r)
{
	return vms_reply_one(r, r->params[0], 200);
}

/* One page of VMs as vms_list writes it (as text, or a jansson tree). */
struct vms_page {
	struct jw *w;            /* the text, or NULL: */
	json_t *arr;             /* the tree */
	const struct page *pg;
	int64_t n;               /* VMs written */
	bool more;               /* another page follows */
	char key[PAGE_KEY_MAX], id[UUID_STR_LEN];   /* the last one's */
};

/* store_vm_page's callback: one VM into the page, until it is full. */
static int
vms_page_add(const struct vm_rec *v, void *arg)
{
	struct vms_page *p = arg;

	if (p->n == p->pg->limit) {
		p->more = true;
		return 1;
	}
	if (p->w)
		vms_write(p->w, v, NULL, -1);
	else
		json_array_append_new(p->arr, vms_json(v));
	if (strcmp(p->pg->sort->name, "created") == 0)
		snprintf(p->key, sizeof(p->key), "%lld",
		    (long long)v->created_at);
	else
		snprintf(p->key, sizeof(p->key), "%s", v->name);
	snprintf(p->id, sizeof(p->id), "%s", v->uuid);
	p->n++;
	return 0;
}

/* A state a VM can show: a stable one, or an operation's transitional one. */
static bool
vms_state_known(const char *s)
{
	enum vm_state st;

	if (vm_state_parse(s, &st) == 0)
		return true;
	for (int k = 0; k < OP_KIND__COUNT; k++)
		if (strcmp(op_kind_transitional((enum op_kind)k), s) == 0)
			return true;
	return false;
}

/* The page's query: the filters and where the cursor says to start. */
static int
vms_query(struct req *r, const struct page *pg, struct store_vm_query *q)
{
	char *end;

	memset(q, 0, sizeof(*q));
	q->host = req_query(r, "host");
	q->state = req_query(r, "state");
	q->image = req_query(r, "image");
	q->network = req_query(r, "network");
	q->group = req_query(r, "group");
	if (q->state && !vms_state_known(q->state))
		return err_set_field(ERR_INVALID, "state", "state must be a VM "
		    "state such as stopped, running, paused, crashed, unknown "
		    "or creating");
	q->by_created = strcmp(pg->sort->name, "created") == 0;
	q->after_created = -1;
	q->after_name = pg->after ? pg->key : "";
	q->after_id = pg->after ? pg->id : "";
	if (pg->after && q->by_created) {
		q->after_created = strtoll(pg->key, &end, 10);
		if (pg->key[0] == '\0' || *end != '\0')
			return err_set_field(ERR_INVALID, "after", "after must be "
			    "a cursor from a Link header of this list");
	}
	/* one more than shown: is there a next page? */
	q->limit = pg->limit + 1;
	return 0;
}

/* The page into p (its w or arr); the Link of the next one. */
static int
vms_page_read(struct req *r, const struct store_vm_query *q,
    struct vms_page *p)
{
	struct store_conn *c = store_read_begin(r->app->store);
	int rc = store_vm_page(c, q, vms_page_add, p);

	store_read_end(c);
	if (rc == 0 && p->more)
		rc = page_next(r, p->pg, p->key, p->id);
	return rc;
}

int
vms_list(struct req *r)
{
	struct store_vm_query q;
	struct vms_page p;
	struct jw w;
	json_t *arr;

	if (r->page == NULL)
		return err_set(ERR_INTERNAL, "GET /v1/vms is not a list");
	if (vms_query(r, r->page, &q) < 0)
		return -1;
	r->paged = true;
	/* written as text: with 100,000 VMs a jansson tree of the list
	 * took ~400 MiB at its peak for a 40 MB reply */
	jw_init(&w);
	jw_begin(&w, '{');
	jw_key(&w, "vms");
	jw_begin(&w, '[');
	memset(&p, 0, sizeof(p));
	p.w = &w;
	p.pg = r->page;
	if (vms_page_read(r, &q, &p) < 0) {
		jw_free(&w);
		return -1;
	}
	jw_end(&w, ']');
	jw_end(&w, '}');
	if (!jw_failed(&w))
		return req_reply_text(r, 200, &w);
	/* not UTF-8 somewhere (or out of memory): jansson's tree, which
	 * drops what it cannot encode, as vms_get does */
	jw_free(&w);
	arr = json_array();
	memset(&p, 0, sizeof(p));
	p.arr = arr;
	p.pg = r->page;
	if (vms_page_read(r, &q, &p) < 0) {
		json_decref(arr);
		return -1;
	}
	return req_reply(r, 200, json_pack("{s:o}", "vms", arr));
}

/* --- snapshot schedule: on create and PATCH --- */

static const struct body_field vms_retention_fields[] = {
	{ "keep", BODY_INT, false, 0, 1000 },
	{ "max_age", BODY_STRING, false, 0, 64 },
};

/* A schedule and its retention, and where they go in a vm_rec. */
struct vms_sched {
	const char *sched, *ret, *age;     /* the fields' names */
	char *text;
	size_t len;
	int *keep;
	int64_t *max_age_ms;
};

/*
 * The schedule ("" or null for none) and retention {"keep": N,
 * "max_age": "7d"} (null for none) named by s from body; what body leaves
 * out stays as it is.
 */
static int
vms_sched_parse(json_t *body, const struct vms_sched *s)
{
	json_t *sch = json_object_get(body, s->sched);
	json_t *ret = json_object_get(body, s->ret);
	json_t *keep, *age;
	struct schedule sc;
	const char *t;

	if (sch && !json_is_null(sch)) {
		if (!json_is_string(sch))
			return err_set_field(ERR_INVALID, s->sched, "%s must be "
			    "a string or null", s->sched);
		t = json_string_value(sch);
		if (t[0] && schedule_parse(t, s->sched, &sc) < 0)
			return -1;
		snprintf(s->text, s->len, "%s", t);
	} else if (sch) {
		s->text[0] = '\0';
	}
	if (ret == NULL)
		return 0;
	if (json_is_null(ret)) {
		*s->keep = 0;
		*s->max_age_ms = 0;
		return 0;
	}
	if (body_check_object(ret, s->ret, vms_retention_fields,
	    sizeof(vms_retention_fields) / sizeof(vms_retention_fields[0])) < 0)
		return -1;
	if ((keep = json_object_get(ret, "keep")) != NULL)
		*s->keep = (int)json_integer_value(keep);
	if ((age = json_object_get(ret, "max_age")) != NULL) {
		*s->max_age_ms = 0;
		t = json_string_value(age);
		if (t[0] && schedule_parse_duration(t, s->age,
		    s->max_age_ms) < 0)
			return -1;
	}
	return 0;
}

/*
 * on_drift, the snapshot schedule and retention, and the backup
 * schedule, retention and backup_full_every from body into v; what body
 * leaves out stays as it is in v.
 */
int
vms_schedule_parse(json_t *body, struct vm_rec *v)
{
	const struct vms_sched snap = { "snapshot_schedule",
	    "snapshot_retention", "snapshot_retention.max_age",
	    v->snapshot_schedule, sizeof(v->snapshot_schedule),
	    &v->snapshot_keep, &v->snapshot_max_age_ms };
	const struct vms_sched backup = { "backup_schedule",
	    "backup_retention", "backup_retention.max_age",
	    v->backup_schedule, sizeof(v->backup_schedule),
	    &v->backup_keep, &v->backup_max_age_ms };
	json_t *od = json_object_get(body, "on_drift");
	json_t *every = json_object_get(body, "backup_full_every");
	const char *t;

	if (od) {
		t = json_string_value(od);
		if (t == NULL || (strcmp(t, "record") && strcmp(t, "enforce") &&
		    strcmp(t, "alert")))
			return err_set_field(ERR_INVALID, "on_drift", "on_drift "
			    "must be record, enforce or alert");
		snprintf(v->on_drift, sizeof(v->on_drift), "%s", t);
	}
	if (every) {
		if (!json_is_integer(every) || json_integer_value(every) < 1 ||
		    json_integer_value(every) > 1000)
			return err_set_field(ERR_INVALID, "backup_full_every",
			    "backup_full_every must be an integer from 1 to "
			    "1000");
		v->backup_full_every = (int)json_integer_value(every);
	}
	if (vms_sched_parse(body, &snap) < 0)
		return -1;
	return vms_sched_parse(body, &backup);
}

static const struct body_field vms_update_fields[] = {
	{ "snapshot_schedule", BODY_STRING, false, 0, 128 },
	{ "snapshot_retention", BODY_OBJECT, false, 0, 0 },
	{ "on_drift", BODY_STRING, false, 0, 16 },
	{ "backup_schedule", BODY_STRING, false, 0, 128 },
	{ "backup_retention", BODY_OBJECT, false, 0, 0 },
	{ "backup_full_every", BODY_INT, false, 1, 1000 },
};
/* the first of them that are the backup schedule's */
#define VMS_UPDATE_BACKUP 3

struct vms_update_tx {
	const char *id;
	json_t *body;
	struct vm_rec vm;
};

static int
vms_update_tx(struct store_conn *c, void *arg)
{
	struct vms_update_tx *t = arg;
	bool snap = false, backup = false;

	if (store_vm_get(c, t->id, &t->vm) < 0 ||
	    vms_schedule_parse(t->body, &t->vm) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(vms_update_fields) /
	    sizeof(vms_update_fields[0]); i++)
		if (json_object_get(t->body, vms_update_fields[i].name)) {
			if (i >= VMS_UPDATE_BACKUP)
				backup = true;
			else
				snap = true;
		}
	if (snap && store_vm_set_schedule(c, &t->vm) < 0)
		return -1;
	return backup ? store_vm_set_backup_schedule(c, &t->vm) : 0;
}

/* null is allowed for a schedule and a retention ("none"): checked as
 * absent, put back for vms_schedule_parse, which clears on null */
static const char *const vms_nullable[] = { "snapshot_schedule",
    "snapshot_retention", "backup_schedule", "backup_retention" };
#define VMS_NNULLABLE (sizeof(vms_nullable) / sizeof(vms_nullable[0]))

int
vms_update(struct req *r)
{
	struct vms_update_tx t;
	bool null[VMS_NNULLABLE];

	if (resize_body(r->body)) {
		/* a resize is an operation: it comes alone */
		for (size_t i = 0; i < sizeof(vms_update_fields) /
		    sizeof(vms_update_fields[0]); i++)
			if (json_object_get(r->body, vms_update_fields[i].name))
				return err_set_field(ERR_INVALID,
				    vms_update_fields[i].name, "%s cannot be "
				    "changed in the same request as a resize",
				    vms_update_fields[i].name);
		return resize_vm(r);
	}
	for (size_t i = 0; i < VMS_NNULLABLE; i++) {
		null[i] = json_is_null(json_object_get(r->body,
		    vms_nullable[i]));
		if (null[i])
			json_object_del(r->body, vms_nullable[i]);
	}
	if (body_check(r, vms_update_fields, sizeof(vms_update_fields) /
	    sizeof(vms_update_fields[0])) < 0)
		return -1;
	for (size_t i = 0; i < VMS_NNULLABLE; i++)
		if (null[i])
			json_object_set_new(r->body, vms_nullable[i],
			    json_null());
	if (r->body == NULL || json_object_size(r->body) == 0)
		return err_set(ERR_INVALID, "nothing to change: send "
		    "snapshot_schedule, snapshot_retention, on_drift, "
		    "backup_schedule, backup_retention or backup_full_every, "
		    "or vcpus and memory_mib to resize");
	memset(&t, 0, sizeof(t));
	t.id = r->params[0];
	t.body = r->body;
	if (store_tx(r->app->store, vms_update_tx, &t) < 0 ||
	    vms_load(r, r->params[0], &t.vm) < 0)
		return -1;
	return req_reply(r, 200, vms_json(&t.vm));
}
