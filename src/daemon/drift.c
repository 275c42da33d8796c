/*
 * drift.c - where the inventory and libvirt disagree, and what is done
 * about it.
 *
 * drift_scan() asks every reachable host for its domains (one listing per
 * host) and compares them with the VM rows: a VM whose state differs from
 * the one asked for ("state"), whose domain is gone ("missing") or on
 * another managed host ("elsewhere"), or whose host cannot be reached
 * ("unreachable"); and the domains no row knows (orphans).  It changes
 * nothing.  One VM's drift asks its own host for its own domain only.
 * drift_adopt() takes an orphan into the inventory.
 * drift_act() applies a VM's on_drift policy when the sweep or a libvirt
 * event sees its state move away from the desired one: `record` does
 * nothing more (the drift shows in GET /v1/drift), `alert` appends a
 * vm.drift event, `enforce` also starts the operation that brings it
 * back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uuid/uuid.h>

#include "../common/error.h"
#include "../common/log.h"
#include "app.h"

struct drift_scan;

/* One host's domains, as listed. */
struct drift_host {
	struct drift_scan *scan;   /* the scan it belongs to */
	struct host_rec h;
	bool listed;               /* reachable and listed */
	char why[ERR_MSG_MAX];     /* why not */
	struct domain_info *d;
	size_t n, cap;
	bool *known;               /* d[i] has a row */
};

struct drift_scan {
	struct drift_host *hosts;
	size_t nhosts, cap;
	struct vm_list vms;
	const char **uuids;        /* the rows' domains, sorted (strcmp) */
};

static int
drift_add_host(const struct host_rec *h, void *arg)
{
	struct drift_scan *s = arg;

	if (s->nhosts == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct drift_host *nh = realloc(s->hosts, cap * sizeof(*nh));

		if (nh == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		s->hosts = nh;
		s->cap = cap;
	}
	memset(&s->hosts[s->nhosts], 0, sizeof(s->hosts[0]));
	s->hosts[s->nhosts++].h = *h;
	return 0;
}

static int
drift_add_domain(const struct domain_info *d, void *arg)
{
	struct drift_host *dh = arg;

	if (dh->n == dh->cap) {
		size_t cap = dh->cap ? dh->cap * 2 : 16;
		struct domain_info *nd = realloc(dh->d, cap * sizeof(*nd));

		if (nd == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		dh->d = nd;
		dh->cap = cap;
	}
	dh->d[dh->n++] = *d;
	return 0;
}

static void
drift_free(struct drift_scan *s)
{
	for (size_t i = 0; i < s->nhosts; i++) {
		free(s->hosts[i].d);
		free(s->hosts[i].known);
	}
	free(s->hosts);
	free(s->uuids);
	vm_list_free(&s->vms);
}

static int
drift_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * A domain some VM row has is listed briefly (uuid, name, state: all its
 * drift needs); only the others, the orphans, are described in full.
 */
static bool
drift_brief(const char *uuid, void *arg)
{
	const struct drift_scan *s = ((struct drift_host *)arg)->scan;

	return s->vms.n > 0 && bsearch(&uuid, s->uuids, s->vms.n,
	    sizeof(s->uuids[0]), drift_cmp) != NULL;
}

/* Load the rows and list every host (host_name: only that one). */
static int
drift_load(struct app *app, const char *host_name, struct drift_scan *s)
{
	struct store_conn *c = store_read_begin(app->store);
	int r;

	memset(s, 0, sizeof(*s));
	r = store_host_each(c, drift_add_host, s);
	if (r == 0)
		r = store_vm_each(c, NULL, NULL, vm_list_add, &s->vms);
	store_read_end(c);
	if (r < 0)
		return -1;
	if ((s->uuids = calloc(s->vms.n + 1, sizeof(*s->uuids))) == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	for (size_t i = 0; i < s->vms.n; i++)
		s->uuids[i] = s->vms.v[i].uuid;
	qsort(s->uuids, s->vms.n, sizeof(*s->uuids), drift_cmp);
	for (size_t i = 0; i < s->nhosts; i++) {
		struct drift_host *dh = &s->hosts[i];
		struct backend_conn *bc;

		if (host_name && strcmp(dh->h.name, host_name) != 0)
			continue;
		dh->scan = s;
		bc = fleet_conn(app->fleet, dh->h.id);
		if (bc == NULL || backend_list_domains(bc, drift_brief,
		    drift_add_domain, dh) < 0) {
			snprintf(dh->why, sizeof(dh->why), "%s", err_last()->msg);
			err_clear();
			continue;
		}
		dh->listed = true;
		dh->known = calloc(dh->n ? dh->n : 1, sizeof(*dh->known));
		if (dh->known == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
	}
	return 0;
}

/*
 * Ask host dh for domain uuid alone (a lookup and its state): dh is then
 * listed with that domain, or with none when it has not got it; not
 * listed (dh->why) when it cannot be asked.  -1 only when out of memory.
 */
static int
drift_ask(struct app *app, struct drift_host *dh, const char *uuid)
{
	struct backend_conn *bc = fleet_conn(app->fleet, dh->h.id);
	struct domain_info d;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = bc ? backend_state(bc, uuid, &d.state) : -1;
	if (rc < 0 && (bc == NULL || err_last()->code != ERR_NOT_FOUND)) {
		snprintf(dh->why, sizeof(dh->why), "%s", err_last()->msg);
		err_clear();
		return 0;
	}
	err_clear();
	snprintf(d.uuid, sizeof(d.uuid), "%s", uuid);
	if (rc == 0 && drift_add_domain(&d, dh) < 0)
		return -1;
	dh->listed = true;
	dh->known = calloc(dh->n ? dh->n : 1, sizeof(*dh->known));
	return dh->known ? 0 : err_set(ERR_INTERNAL, "out of memory");
}

/*
 * Load one VM's row (by name or id) and ask its own host for its domain
 * alone; only when the domain is gone from there are the other hosts
 * asked for it (is it "elsewhere"?), again for that domain alone.  A
 * VM's drift thus costs a lookup on its host, whatever the fleet holds.
 */
static int
drift_load_vm(struct app *app, const char *vm, struct drift_scan *s)
{
	struct store_conn *c = store_read_begin(app->store);
	struct vm_rec v;
	size_t home;
	int r;

	memset(s, 0, sizeof(*s));
	r = store_host_each(c, drift_add_host, s);
	if (r == 0 && (r = store_vm_get(c, vm, &v)) == 0)
		r = vm_list_add(&v, &s->vms);
	store_read_end(c);
	if (r < 0)
		return -1;
	for (home = 0; home < s->nhosts; home++)
		if (s->hosts[home].h.id == v.host_id)
			break;
	if (home == s->nhosts)
		return 0;
	if (drift_ask(app, &s->hosts[home], v.uuid) < 0)
		return -1;
	if (!s->hosts[home].listed || s->hosts[home].n > 0)
		return 0;
	for (size_t i = 0; i < s->nhosts; i++)
		if (i != home && drift_ask(app, &s->hosts[i], v.uuid) < 0)
			return -1;
	return 0;
}

/* The domain with this uuid on host index i, or NULL. */
static const struct domain_info *
drift_find(struct drift_scan *s, size_t i, const char *uuid, bool mark)
{
	struct drift_host *dh = &s->hosts[i];

	for (size_t k = 0; dh->listed && k < dh->n; k++) {
		if (strcmp(dh->d[k].uuid, uuid) == 0) {
			if (mark)
				dh->known[k] = true;
			return &dh->d[k];
		}
	}
	return NULL;
}

/* A VM's drift, or NULL when there is none. */
static json_t *
drift_of_vm(struct drift_scan *s, const struct vm_rec *v)
{
	const struct domain_info *d = NULL;
	size_t i, home = s->nhosts;
	char why[640];

	for (i = 0; i < s->nhosts; i++)
		if (s->hosts[i].h.id == v->host_id)
			home = i;
	/* mark the domain as known wherever it is */
	for (i = 0; i < s->nhosts; i++)
		if (i != home)
			drift_find(s, i, v->uuid, true);
	if (home == s->nhosts)
		return NULL;
	if (!s->hosts[home].listed) {
		snprintf(why, sizeof(why), "host '%s' cannot be reached: %.500s",
		    v->host, s->hosts[home].why);
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "vm",
		    v->name, "id", v->uuid, "host", v->host, "kind",
		    "unreachable", "desired", v->desired, "detail", why);
	}
	d = drift_find(s, home, v->uuid, true);
	if (d == NULL) {
		for (i = 0; i < s->nhosts; i++)
			if (i != home && drift_find(s, i, v->uuid, false))
				break;
		if (i < s->nhosts) {
			snprintf(why, sizeof(why), "its domain is on host '%s', "
			    "not on '%s' where the inventory has it",
			    s->hosts[i].h.name, v->host);
			return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
			    "vm", v->name, "id", v->uuid, "host", v->host,
			    "kind", "elsewhere", "found_on", s->hosts[i].h.name,
			    "desired", v->desired, "detail", why);
		}
		snprintf(why, sizeof(why), "its domain is gone from host '%s'",
		    v->host);
		return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "vm", v->name,
		    "id", v->uuid, "host", v->host, "kind", "missing",
		    "desired", v->desired, "detail", why);
	}
	if (v->op_id[0] || strcmp(vm_state_name(d->state), v->desired) == 0)
		return NULL;
	/* a crashed VM that should be stopped is stopped enough */
	if (d->state == VM_CRASHED && strcmp(v->desired, "stopped") == 0)
		return NULL;
	snprintf(why, sizeof(why), "vm '%s' is %s but should be %s",
	    v->name, vm_state_name(d->state), v->desired);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "vm",
	    v->name, "id", v->uuid, "host", v->host, "kind", "state",
	    "desired", v->desired, "observed", vm_state_name(d->state),
	    "on_drift", v->on_drift, "detail", why);
}

static json_t *
drift_orphan_json(const struct drift_host *dh, const struct domain_info *d)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:i, s:I, s:s, s:I}",
	    "host", dh->h.name, "uuid", d->uuid, "name", d->name,
	    "state", vm_state_name(d->state), "persistent", d->persistent,
	    "hangar_metadata", d->hangar, "vcpus", d->vcpus,
	    "memory_mib", (json_int_t)d->memory_mib, "disk_path",
	    d->disk_path, "disk_gib", (json_int_t)d->disk_gib);
}

int
drift_scan(struct app *app, const char *vm, const char *host, json_t **out)
{
	struct drift_scan s;
	json_t *vms = json_array(), *orphans = json_array(), *hosts =
	    json_array(), *j;
	bool found = vm == NULL;
	int r;

	*out = NULL;
	r = vm ? drift_load_vm(app, vm, &s) : drift_load(app, host, &s);
	for (size_t i = 0; r == 0 && i < s.vms.n; i++) {
		const struct vm_rec *v = &s.vms.v[i];

		if (vm && strcmp(v->name, vm) && strcmp(v->uuid, vm))
			continue;
		found = true;
		if (host && strcmp(v->host, host) != 0)
			continue;
		if ((j = drift_of_vm(&s, v)) != NULL)
			json_array_append_new(vms, j);
	}
	if (r == 0 && !found)
		r = err_set(ERR_NOT_FOUND, "vm '%s' not found", vm);
	for (size_t i = 0; r == 0 && vm == NULL && i < s.nhosts; i++) {
		struct drift_host *dh = &s.hosts[i];

		if (host && strcmp(dh->h.name, host) != 0)
			continue;
		json_array_append_new(hosts, json_pack("{s:s, s:b, s:s}",
		    "host", dh->h.name, "listed", dh->listed, "detail",
		    dh->listed ? "" : dh->why));
		for (size_t k = 0; dh->listed && k < dh->n; k++)
			if (!dh->known[k])
				json_array_append_new(orphans,
				    drift_orphan_json(dh, &dh->d[k]));
	}
	drift_free(&s);
	if (r < 0) {
		json_decref(vms);
		json_decref(orphans);
		json_decref(hosts);
		return -1;
	}
	*out = json_pack("{s:o, s:o, s:o}", "vms", vms, "orphans", orphans,
	    "hosts", hosts);
	return *out ? 0 : err_set(ERR_INTERNAL, "out of memory");
}

/* --- adopting an orphan --- */

/* w must be one of the n words of set. */
static bool
drift_word(const char *w, const char *const *set, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(w, set[i]) == 0)
			return true;
	return false;
}

struct drift_adopt_tx {
	struct vm_rec vm;
	struct disk_rec disks[VM_DISKS_MAX];
	int ndisks;
	struct domain_nic dn[VM_NICS_MAX];     /* the domain's NICs */
	char lease[VM_NICS_MAX][16];           /* the address each leases */
	int nnics;
	struct nic_rec nics[VM_NICS_MAX];      /* out: as recorded */
	struct network_rec nets[VM_NICS_MAX];  /* out: their networks */
	const char *mac_prefix;
};

/* The bridge-mode network on bridge b into *out (1), or 0 when none. */
struct drift_bridge_find {
	const char *bridge;
	struct network_rec *out;
};

static int
drift_bridge_net(const struct network_rec *n, void *arg)
{
	struct drift_bridge_find *f = arg;

	if (networks_on_hosts(n) || strcmp(n->bridge, f->bridge) != 0)
		return 0;
	*f->out = *n;
	return 1;
}

/*
 * The hangar network NIC i of the domain is on into t->nets[i]: a nat or
 * isolated one by its libvirt name, a bridge one by its bridge.  A NIC
 * on anything else (libvirt's default network, a bridge hangar does not
 * know, user networking) cannot be kept: hangar writes the domain's
 * definition again when it moves it, from what it knows.
 */
static int
drift_adopt_net(struct store_conn *c, struct drift_adopt_tx *t, int i)
{
	const struct domain_nic *dn = &t->dn[i];
	struct drift_bridge_find f = { dn->source, &t->nets[i] };
	struct network_names nm;
	int r = 0;

	if (strcmp(dn->type, "network") == 0 &&
	    strncmp(dn->source, "hangar-", 7) == 0) {
		r = store_network_get(c, dn->source + 7, &t->nets[i]);
		if (r < 0 && err_last()->code != ERR_NOT_FOUND)
			return -1;
		if (r == 0) {
			networks_lv_names(&t->nets[i], &nm);
			r = strcmp(nm.name, dn->source) == 0 ? 1 : 0;
		}
	} else if (strcmp(dn->type, "bridge") == 0 && dn->source[0]) {
		if ((r = store_network_each(c, drift_bridge_net, &f)) < 0)
			return -1;
	}
	if (r != 1)
		return err_set(ERR_UNPROCESSABLE, "it is on %s '%.64s', not on "
		    "a hangar network: hangar keeps NICs on its own networks "
		    "only (make one with POST /v1/networks and move the NIC "
		    "onto it)", dn->type[0] ? dn->type : "an interface",
		    dn->source);
	err_clear();
	return 0;
}

/* src into dst[len], cut to fit (the two are fields of one struct,
 * which snprintf's restrict would not allow) */
static void
drift_copy(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memmove(dst, src, n);
	dst[n] = '\0';
}

/* NIC i recorded, with the address it leases if that is free, else a
 * new one of the network's range. */
static int
drift_adopt_nic(struct store_conn *c, struct drift_adopt_tx *t, int i)
{
	struct nic_rec *n = &t->nics[i];
	char field[24];

	static const char *const models[] = { "virtio", "e1000" };

	if (!drift_word(t->dn[i].model, models, 2))
		return err_set(ERR_UNPROCESSABLE, "its model '%s' is not one "
		    "hangar keeps (virtio or e1000)", t->dn[i].model[0] ?
		    t->dn[i].model : "(the hypervisor's default)");
	if (drift_adopt_net(c, t, i) < 0)
		return -1;
	memset(n, 0, sizeof(*n));
	n->network_id = t->nets[i].id;
	drift_copy(n->mac, sizeof(n->mac), t->dn[i].mac);
	drift_copy(n->model, sizeof(n->model), t->dn[i].model);
	snprintf(field, sizeof(field), "nics[%d]", i % VM_NICS_MAX);
	if (t->nets[i].cidr[0] && t->lease[i][0]) {
		drift_copy(n->ipv4, sizeof(n->ipv4), t->lease[i]);
		if (store_nic_insert(c, t->vm.id, n, t->mac_prefix, field) == 0)
			return 0;
		if (strstr(err_last()->field, ".ipv4") == NULL)
			return -1;
		err_clear();
		n->ipv4[0] = '\0';
		n->dev[0] = '\0';
	}
	return store_nic_insert(c, t->vm.id, n, t->mac_prefix, field);
}

static int
drift_adopt_tx(struct store_conn *c, void *arg)
{
	struct drift_adopt_tx *t = arg;

	if (store_vm_insert(c, &t->vm, t->disks, t->ndisks) < 0)
		return -1;
	for (int i = 0; i < t->nnics; i++)
		if (drift_adopt_nic(c, t, i) < 0) {
			struct err e;

			/* the request named no NIC: say which, no field */
			err_save(&e);
			return err_set(e.code, "the domain cannot be adopted: "
			    "its NIC %s: %s", t->dn[i].mac, e.msg);
		}
	return store_event_vm(c, t->vm.id, "vm.adopted", NULL, NULL);
}

/*
 * One disk of a domain to adopt, as a row.  A file in the host's pool is
 * hangar's from now on (its volume, deleted with the VM); a file
 * elsewhere is recorded without a volume, and left alone.
 */
static int
drift_adopt_disk(const char *pool_dir, const struct domain_disk *dd,
    struct disk_rec *r)
{
	static const char *const buses[] = { "virtio", "sata", "scsi", "ide" };
	static const char *const formats[] = { "qcow2", "raw" };
	const char *slash = strrchr(dd->path, '/');
	size_t dl = strlen(pool_dir);

	if (!drift_word(dd->bus, buses, 4) || !drift_word(dd->format,
	    formats, 2) || strlen(dd->dev) >= sizeof(r->dev) ||
	    strspn(dd->dev, "abcdefghijklmnopqrstuvwxyz") != strlen(dd->dev))
		return err_set(ERR_UNPROCESSABLE, "its disk '%.15s' (bus '%s', "
		    "format '%s') is not one hangar keeps: a qcow2 or raw "
		    "file on virtio, sata, scsi or ide", dd->dev, dd->bus,
		    dd->format);
	memset(r, 0, sizeof(*r));
	snprintf(r->dev, sizeof(r->dev), "%s", dd->dev);
	snprintf(r->device, sizeof(r->device), "%s",
	    strcmp(dd->device, "cdrom") == 0 ? "cdrom" : "disk");
	snprintf(r->bus, sizeof(r->bus), "%s", dd->bus);
	snprintf(r->format, sizeof(r->format), "%s", dd->format);
	r->size_gib = dd->gib;
	while (dl > 1 && pool_dir[dl - 1] == '/')
		dl--;
	if (slash && (size_t)(slash - dd->path) == dl &&
	    strncmp(dd->path, pool_dir, dl) == 0 &&
	    strlen(slash + 1) < sizeof(r->volume))
		snprintf(r->volume, sizeof(r->volume), "%s", slash + 1);
	return 0;
}

/* Every disk of the domain into t (the first disk is the boot disk). */
static int
drift_adopt_disks(struct app *app, const struct host_rec *h,
    const char *uuid, struct drift_adopt_tx *t)
{
	struct domain_disk dd[DOMAIN_DISKS_MAX];
	struct backend_conn *bc = fleet_conn(app->fleet, h->id);
	int n = 0;
	bool boot = false;

	if (bc == NULL || backend_disk_list(bc, uuid, dd, VM_DISKS_MAX,
	    &n) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		struct disk_rec *r = &t->disks[t->ndisks];

		if (drift_adopt_disk(h->pool_path[0] ? h->pool_path :
		    app->cfg.pool_path, &dd[i], r) < 0)
			return -1;
		if (!boot && strcmp(r->device, "disk") == 0)
			r->boot_order = boot = 1;
		t->ndisks++;
	}
	return 0;
}

/*
 * The domain's NICs into t, each with the address its hangar network's
 * DHCP leases it now (kept when free: the guest goes on using it).
 */
static int
drift_adopt_nics(struct app *app, const struct host_rec *h,
    const char *uuid, struct drift_adopt_tx *t)
{
	struct backend_conn *bc = fleet_conn(app->fleet, h->id);
	struct net_lease l;
	int n = 0;

	if (bc == NULL || backend_nic_list(bc, uuid, t->dn, VM_NICS_MAX,
	    &t->nnics) < 0)
		return -1;
	for (int i = 0; i < t->nnics; i++)
		if (strcmp(t->dn[i].type, "network") == 0 &&
		    strncmp(t->dn[i].source, "hangar-", 7) == 0 &&
		    backend_network_leases(bc, t->dn[i].source, t->dn[i].mac,
		    &l, 1, &n) == 0 && n == 1)
			snprintf(t->lease[i], sizeof(t->lease[i]), "%s", l.ip);
	err_clear();
	return 0;
}

/*
 * The static DHCP host of each adopted NIC that has one on its network
 * (as a create adds them), so the guest keeps its address; on failure
 * the adoption is undone.
 */
static int
drift_adopt_dhcp(struct app *app, const struct drift_adopt_tx *t)
{
	struct backend_conn *bc = fleet_conn(app->fleet, t->vm.host_id);
	struct network_names nm;

	for (int i = 0; i < t->nnics; i++) {
		struct net_dhcp_host dh = { t->nics[i].mac, t->nics[i].ipv4,
		    i == 0 ? t->vm.name : NULL };

		if (!networks_on_hosts(&t->nets[i]) || !t->nets[i].dhcp ||
		    t->nics[i].ipv4[0] == '\0')
			continue;
		networks_lv_names(&t->nets[i], &nm);
		if (bc == NULL || backend_network_host_add(bc, nm.name,
		    &dh) < 0)
			return -1;
	}
	return 0;
}

static int
drift_unadopt_tx(struct store_conn *c, void *arg)
{
	const struct vm_rec *vm = arg;

	return store_vm_delete(c, vm->id, NULL);
}

int
drift_adopt_domain(struct app *app, const char *host, const char *domain,
    const char *name, struct vm_rec *out)
{
	struct drift_scan s;
	const struct domain_info *d = NULL;
	struct drift_adopt_tx t;
	size_t i, k;
	int r;

	if ((r = drift_load(app, host, &s)) < 0) {
		drift_free(&s);
		return -1;
	}
	for (i = 0; i < s.nhosts && strcmp(s.hosts[i].h.name, host); i++)
		;
	if (i == s.nhosts) {
		drift_free(&s);
		return err_set(ERR_NOT_FOUND, "host '%s' not found", host);
	}
	if (!s.hosts[i].listed) {
		r = err_set(ERR_UNAVAILABLE, "host '%s' cannot be listed: %s",
		    host, s.hosts[i].why);
		drift_free(&s);
		return r;
	}
	for (k = 0; k < s.hosts[i].n; k++)
		if (strcmp(s.hosts[i].d[k].uuid, domain) == 0 ||
		    strcmp(s.hosts[i].d[k].name, domain) == 0)
			d = &s.hosts[i].d[k];
	if (d == NULL) {
		drift_free(&s);
		return err_set(ERR_NOT_FOUND, "host '%s' has no domain '%s'",
		    host, domain);
	}
	for (k = 0; k < s.vms.n; k++)
		if (strcmp(s.vms.v[k].uuid, d->uuid) == 0) {
			r = err_set(ERR_CONFLICT, "domain '%s' is vm '%s' of the "
			    "inventory already", domain, s.vms.v[k].name);
			drift_free(&s);
			return r;
		}
	if (!d->persistent) {
		drift_free(&s);
		return err_set(ERR_CONFLICT, "domain '%s' is transient (not "
		    "defined): hangar only manages defined domains", domain);
	}
	memset(&t, 0, sizeof(t));
	t.mac_prefix = app->cfg.mac_prefix;
	if (drift_adopt_disks(app, &s.hosts[i].h, d->uuid, &t) < 0 ||
	    drift_adopt_nics(app, &s.hosts[i].h, d->uuid, &t) < 0) {
		struct err e;

		err_save(&e);
		drift_free(&s);
		return err_set(e.code, "domain '%.64s' cannot be adopted: %s",
		    domain, e.msg);
	}
	snprintf(t.vm.uuid, sizeof(t.vm.uuid), "%s", d->uuid);
	if (name_check("name", name ? name : d->name) < 0) {
		struct err e;

		err_save(&e);
		drift_free(&s);
		return err_set_field(ERR_UNPROCESSABLE, "name", "domain '%.64s' "
		    "cannot be adopted under that name (%s); give one in "
		    "\"name\"", domain, e.msg);
	}
	snprintf(t.vm.name, sizeof(t.vm.name), "%.63s", name ? name : d->name);
	t.vm.vcpus = d->vcpus > 0 ? d->vcpus : 1;
	t.vm.memory_mib = d->memory_mib > 0 ? d->memory_mib : 1;
	t.vm.disk_gib = d->disk_gib > 0 ? d->disk_gib : 1;
	t.vm.host_id = s.hosts[i].h.id;
	snprintf(t.vm.observed, sizeof(t.vm.observed), "%s",
	    vm_state_name(d->state));
	snprintf(t.vm.desired, sizeof(t.vm.desired), "%s",
	    d->state == VM_CRASHED ? "stopped" : vm_state_name(d->state));
	snprintf(t.vm.on_drift, sizeof(t.vm.on_drift), "record");
	drift_free(&s);
	/* view, then store, as for any claim */
	view_lock(app->view);
	r = store_tx(app->store, drift_adopt_tx, &t);
	if (r == 0)
		view_claim_locked(app->view, &t.vm);
	view_unlock(app->view);
	if (r == 0 && drift_adopt_dhcp(app, &t) < 0) {
		struct err e;

		err_save(&e);
		if (store_tx(app->store, drift_unadopt_tx, &t.vm) == 0)
			view_release(app->view, &t.vm);
		return err_set(e.code, "domain '%.64s' was not adopted: the "
		    "DHCP host of its NIC could not be added: %s", domain,
		    e.msg);
	}
	if (r < 0)
		return -1;
	log_info("drift: adopted domain '%s' on host '%s' as vm '%s'", domain,
	    host, t.vm.name);
	*out = t.vm;
	return 0;
}

/* --- acting on drift --- */

static const struct {
	const char *desired, *observed;
	enum op_kind kind;
} drift_fixes[] = {
	{ "running", "stopped", OP_START },
	{ "running", "crashed", OP_START },
	{ "running", "paused", OP_RESUME },
	{ "stopped", "running", OP_STOP },
	{ "stopped", "paused", OP_STOP },
	{ "paused", "running", OP_PAUSE },
};

struct drift_act_tx {
	const struct vm_rec *v;
	bool enforce;
	struct op_rec op;
	bool have_op;
	bool changed;              /* news: say it on the event stream */
};

static int
drift_act_tx(struct store_conn *c, void *arg)
{
	struct drift_act_tx *t = arg;
	const struct vm_rec *v = t->v;
	json_t *d = json_pack("{s:s, s:s, s:s}", "desired", v->desired,
	    "observed", v->observed, "on_drift", v->on_drift);
	int r = t->changed ? store_event_vm(c, v->id, "vm.drift", NULL, d) : 0;

	json_decref(d);
	if (r < 0 || !t->enforce)
		return r;
	for (size_t i = 0; i < sizeof(drift_fixes) / sizeof(drift_fixes[0]);
	    i++) {
		uuid_t u;

		if (strcmp(drift_fixes[i].desired, v->desired) ||
		    strcmp(drift_fixes[i].observed, v->observed))
			continue;
		memset(&t->op, 0, sizeof(t->op));
		uuid_generate_random(u);
		uuid_unparse_lower(u, t->op.id);
		t->op.kind = drift_fixes[i].kind;
		t->op.vm_id = v->id;
		snprintf(t->op.vm_uuid, sizeof(t->op.vm_uuid), "%s", v->uuid);
		snprintf(t->op.vm_name, sizeof(t->op.vm_name), "%s", v->name);
		snprintf(t->op.params, sizeof(t->op.params),
		    "{\"reason\":\"on_drift enforce\"}");
		if (store_op_insert(c, &t->op) < 0)
			return -1;
		t->have_op = true;
		break;
	}
	return 0;
}

void
drift_act(struct app *app, const struct vm_rec *v, bool changed)
{
	struct drift_act_tx t;

	if (strcmp(v->on_drift, "record") == 0 || v->op_id[0] ||
	    strcmp(v->desired, v->observed) == 0 ||
	    strcmp(v->observed, "unknown") == 0 ||
	    (strcmp(v->desired, "stopped") == 0 &&
	    strcmp(v->observed, "crashed") == 0))
		return;
	memset(&t, 0, sizeof(t));
	t.v = v;
	t.changed = changed;
	t.enforce = strcmp(v->on_drift, "enforce") == 0;
	if (store_tx(app->store, drift_act_tx, &t) < 0) {
		log_warnx("drift: vm '%s' (%s, should be %s): %s", v->name,
		    v->observed, v->desired, err_last()->msg);
		return;
	}
	if (!t.have_op && !changed)
		return;
	if (t.have_op) {
		log_info("drift: vm '%s' is %s but should be %s: operation %s "
		    "(%s) brings it back", v->name, v->observed, v->desired,
		    t.op.id, op_kind_name(t.op.kind));
		ops_submit(app->ops, t.op.id);
	} else {
		log_info("drift: vm '%s' is %s but should be %s", v->name,
		    v->observed, v->desired);
	}
}
