/*
 * view.c - the in-memory view of hosts and claims (see view.h).
 *
 * Hosts are kept sorted by id (an insert usually appends; SQLite may reuse
 * the id of the newest host once it is deleted), found by binary search.  Group membership is a short list of (group, host,
 * count) rows: groups are small next to the fleet.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
#include "view.h"

struct view_member {
	int64_t group_id, host_id;
	int count;
};

struct view {
	pthread_mutex_t mu;
	struct sched_host *hosts;
	size_t n, cap;
	struct view_member *members;
	size_t nm, capm;
};

enum sched_state
view_state_of(const struct host_rec *h)
{
	if (h->fenced_at > 0)
		return SCHED_FENCED;
	if (h->maintenance)
		return SCHED_MAINTENANCE;
	return strcmp(h->state, "ready") == 0 ? SCHED_READY :
	    SCHED_UNREACHABLE;
}

static int
view_index(const struct view *v, int64_t id)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->hosts[mid].id == id)
			return (int)mid;
		if (v->hosts[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int
view_host_index(struct view *v, int64_t host_id)
{
	return view_index(v, host_id);
}

/* Parse a labels JSON object into an owned array. */
static int
view_labels(const char *text, struct sched_label **out, size_t *n)
{
	json_t *j = json_loads(text, 0, NULL), *val;
	const char *key;
	size_t i = 0;

	*out = NULL;
	*n = 0;
	if (!json_is_object(j) || json_object_size(j) == 0) {
		json_decref(j);
		return 0;
	}
	*out = calloc(json_object_size(j), sizeof(**out));
	if (*out == NULL) {
		json_decref(j);
		return err_set(ERR_INTERNAL, "out of memory");
	}
	json_object_foreach(j, key, val) {
		snprintf((*out)[i].key, sizeof((*out)[i].key), "%s", key);
		snprintf((*out)[i].value, sizeof((*out)[i].value), "%s",
		    json_is_string(val) ? json_string_value(val) : "");
		i++;
	}
	*n = i;
	json_decref(j);
	return 0;
}

/* Fill hs from h, keeping hs's claims. */
static int
view_fill(struct sched_host *hs, const struct host_rec *h)
{
	struct sched_label *labels;
	size_t nlabels;

	if (view_labels(h->labels, &labels, &nlabels) < 0)
		return -1;
	free(hs->labels);
	hs->id = h->id;
	snprintf(hs->name, sizeof(hs->name), "%s", h->name);
	hs->state = view_state_of(h);
	snprintf(hs->arch, sizeof(hs->arch), "%s", h->arch);
	hs->domain_types = (strstr(h->domain_types, "qemu") ? SCHED_DT_QEMU : 0) |
	    (strstr(h->domain_types, "kvm") ? SCHED_DT_KVM : 0);
	hs->cpus = h->cpus;
	hs->memory_mib = h->memory_mib;
	hs->disk_gib = h->disk_gib;
	hs->cpu_ratio = h->cpu_ratio;
	hs->ram_ratio = h->ram_ratio;
	hs->disk_ratio = h->disk_ratio;
	hs->reserved_vcpus = h->reserved_vcpus;
	hs->reserved_memory_mib = h->reserved_memory_mib;
	hs->reserved_disk_gib = h->reserved_disk_gib;
	hs->labels = labels;
	hs->nlabels = nlabels;
	return 0;
}

static int
view_put_locked(struct view *v, const struct host_rec *h, bool claims)
{
	int i = view_index(v, h->id);
	struct sched_host *hs;

	if (i < 0) {
		if (v->n == v->cap) {
			size_t cap = v->cap ? v->cap * 2 : 16;
			struct sched_host *nh = realloc(v->hosts,
			    cap * sizeof(*nh));

			if (nh == NULL)
				return err_set(ERR_INTERNAL, "out of memory");
			v->hosts = nh;
			v->cap = cap;
		}
		/* keep id order */
		i = (int)v->n;
		while (i > 0 && v->hosts[i - 1].id > h->id)
			i--;
		memmove(&v->hosts[i + 1], &v->hosts[i],
		    (v->n - (size_t)i) * sizeof(*v->hosts));
		memset(&v->hosts[i], 0, sizeof(v->hosts[i]));
		v->n++;
	}
	hs = &v->hosts[i];
	if (claims) {
		hs->alloc_vcpus = h->alloc_vcpus;
		hs->alloc_memory_mib = h->alloc_memory_mib;
		hs->alloc_disk_gib = h->alloc_disk_gib;
		hs->vms = h->vms;
	}
	return view_fill(hs, h);
}

int
view_host_put_locked(struct view *v, const struct host_rec *h)
{
	return view_put_locked(v, h, view_index(v, h->id) < 0);
}

int
view_host_put(struct view *v, const struct host_rec *h)
{
	int r;

	view_lock(v);
	r = view_host_put_locked(v, h);
	view_unlock(v);
	return r;
}

void
view_host_remove_locked(struct view *v, int64_t host_id)
{
	int i;

	if ((i = view_index(v, host_id)) >= 0) {
		free(v->hosts[i].labels);
		memmove(&v->hosts[i], &v->hosts[i + 1],
		    (v->n - (size_t)i - 1) * sizeof(*v->hosts));
		v->n--;
	}
}

void
view_host_remove(struct view *v, int64_t host_id)
{
	view_lock(v);
	view_host_remove_locked(v, host_id);
	view_unlock(v);
}

static void
view_member_add(struct view *v, int64_t group_id, int64_t host_id, int d)
{
	struct view_member *m;

	if (group_id == 0)
		return;
	for (size_t i = 0; i < v->nm; i++) {
		m = &v->members[i];
		if (m->group_id == group_id && m->host_id == host_id) {
			m->count += d;
			if (m->count <= 0)
				v->members[i] = v->members[--v->nm];
			return;
		}
	}
	if (d <= 0)
		return;
	if (v->nm == v->capm) {
		size_t cap = v->capm ? v->capm * 2 : 16;
		struct view_member *nm = realloc(v->members, cap * sizeof(*nm));

		if (nm == NULL) {
			log_error("view: out of memory recording a group member");
			return;
		}
		v->members = nm;
		v->capm = cap;
	}
	v->members[v->nm++] = (struct view_member){ group_id, host_id, d };
}

static void
view_account(struct view *v, const struct vm_rec *vm, int d)
{
	int i = view_index(v, vm->host_id);

	if (i < 0)
		return;
	v->hosts[i].alloc_vcpus += d * vm->vcpus;
	v->hosts[i].alloc_memory_mib += d * vm->memory_mib;
	v->hosts[i].alloc_disk_gib += d * vm->disk_gib;
	v->hosts[i].vms += d;
	view_member_add(v, vm->group_id, vm->host_id, d);
}

void
view_claim_locked(struct view *v, const struct vm_rec *vm)
{
	view_account(v, vm, 1);
}

void
view_release_locked(struct view *v, const struct vm_rec *vm)
{
	view_account(v, vm, -1);
}

void
view_release(struct view *v, const struct vm_rec *vm)
{
	view_lock(v);
	view_account(v, vm, -1);
	view_unlock(v);
}

int
view_disk_room_locked(struct view *v, int64_t host_id, int64_t delta)
{
	struct sched_free f;
	int i = view_index(v, host_id);

	if (i < 0)
		return err_set(ERR_NOT_FOUND, "host #%lld is not known",
		    (long long)host_id);
	sched_host_free(&v->hosts[i], &f);
	if (delta <= f.disk_gib)
		return 0;
	return err_set(ERR_NO_CAPACITY, "host '%s' has %lld GiB of disk free "
	    "(of %lld), not the %lld GiB more this needs", v->hosts[i].name,
	    (long long)f.disk_gib, (long long)f.disk_cap, (long long)delta);
}

void
view_disk_locked(struct view *v, int64_t host_id, int64_t delta)
{
	int i = view_index(v, host_id);

	if (i >= 0)
		v->hosts[i].alloc_disk_gib += delta;
}

void
view_disk(struct view *v, int64_t host_id, int64_t delta)
{
	view_lock(v);
	view_disk_locked(v, host_id, delta);
	view_unlock(v);
}

void
view_size_locked(struct view *v, int64_t host_id, int dvcpus, int64_t dmem)
{
	int i = view_index(v, host_id);

	if (i >= 0) {
		v->hosts[i].alloc_vcpus += dvcpus;
		v->hosts[i].alloc_memory_mib += dmem;
	}
}

void
view_size(struct view *v, int64_t host_id, int dvcpus, int64_t dmem)
{
	view_lock(v);
	view_size_locked(v, host_id, dvcpus, dmem);
	view_unlock(v);
}

void
view_group_counts(struct view *v, int64_t group_id, int *counts, int *total)
{
	memset(counts, 0, v->n * sizeof(*counts));
	*total = 0;
	for (size_t i = 0; i < v->nm; i++) {
		int h;

		if (v->members[i].group_id != group_id)
			continue;
		if ((h = view_index(v, v->members[i].host_id)) >= 0)
			counts[h] += v->members[i].count;
		*total += v->members[i].count;
	}
}

const struct sched_host *
view_hosts(struct view *v, size_t *n)
{
	*n = v->n;
	return v->hosts;
}

void
view_lock(struct view *v)
{
	pthread_mutex_lock(&v->mu);
}

void
view_unlock(struct view *v)
{
	pthread_mutex_unlock(&v->mu);
}

static int
view_load_host(const struct host_rec *h, void *arg)
{
	return view_put_locked(arg, h, true);
}

static int
view_load_vm(const struct vm_rec *vm, void *arg)
{
	struct view *v = arg;

	view_member_add(v, vm->group_id, vm->host_id, 1);
	return 0;
}

static int
view_load_group(const struct group_rec *g, void *arg)
{
	struct store_conn *c = ((void **)arg)[0];

	return store_vm_each_in_group(c, g->id, view_load_vm,
	    ((void **)arg)[1]);
}

struct view *
view_load(struct store *s)
{
	struct view *v = calloc(1, sizeof(*v));
	struct store_conn *c;
	void *args[2];
	int r;

	if (v == NULL) {
		err_set(ERR_INTERNAL, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&v->mu, NULL);
	c = store_read_begin(s);
	args[0] = c;
	args[1] = v;
	r = store_host_each(c, view_load_host, v);
	if (r == 0)
		r = store_group_each(c, view_load_group, args);
	store_read_end(c);
	if (r < 0) {
		view_free(v);
		return NULL;
	}
	return v;
}

void
view_free(struct view *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n; i++)
		free(v->hosts[i].labels);
	free(v->hosts);
	free(v->members);
	pthread_mutex_destroy(&v->mu);
	free(v);
}
