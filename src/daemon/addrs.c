/*
 * addrs.c - the addresses NICs were seen with, from every source: the
 * DHCP leases of hangar's networks (leases.c reads them), the guest's
 * agent and the host's ARP table (virDomainInterfaceAddresses, asked
 * here).  Kept in memory, one table for the process behind a mutex, so
 * that a read of a VM (GET /v1/vms/{vm}, which never waits on a host)
 * can show them; each look replaces its source's part of the table
 * (addr_merge in src/common/addrseen.c).  An address keeps the time it
 * was first seen while its source keeps showing it; one seen for the
 * first time (a new address, or a known one by a new source) is one
 * vm.address event for the VM of its MAC, once the process has looked
 * at that source once (what a restart finds is not news).
 *
 * Who looks: the reconcile sweep (addrs_sweep, every round: leases,
 * then the agent and ARP of every running VM with NICs); and, every few
 * seconds (provision.c's ticker), addrs_watch for a running VM with a
 * NIC not yet seen with any address (a guest booting), so the first
 * address shows within seconds.  Both run off the request path; an
 * agent that does not answer costs its timeout on that thread only.
 * Agent and ARP entries of a VM that no longer runs are dropped by the
 * next look.  Loopback and link-local addresses are not kept
 * (addr_shown): an operator cannot reach a guest at them.
 *
 * addrs_wait lets a request wait (?wait_for=address) for a VM's first
 * address: a condition variable broadcast whenever the table changes.
 */
#include <pthread.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../common/error.h"
#include "../common/log.h"
#include "app.h"

#define MAC_LEN_SEEN sizeof(((struct addr_seen *)0)->mac)

_Static_assert(sizeof(((struct if_addr *)0)->mac) == MAC_LEN_SEEN &&
    sizeof(((struct if_addr *)0)->addr) == ADDR_STR_LEN,
    "a backend's address fits the table's as is");

static pthread_mutex_t addrs_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t addrs_cv = PTHREAD_COND_INITIALIZER;
static struct addr_seen *addrs_v;       /* owned; guarded by addrs_mu */
static size_t addrs_n;
static bool addrs_primed[ADDR_SOURCE__COUNT];   /* a look has been made */

/* A vm.address event for the VM of a's MAC, if it is one of hangar's. */
static int
addrs_event_tx(struct store_conn *c, void *arg)
{
	const struct addr_seen *a = arg;
	int64_t vm_id;
	json_t *data;
	int r;

	if (store_nic_vm(c, a->mac, &vm_id) < 0) {
		if (err_last()->code != ERR_NOT_FOUND)
			return -1;
		err_clear();
		return 0;
	}
	data = json_pack("{s:s, s:s, s:s}", "mac", a->mac, "address", a->ip,
	    "source", addr_source_name(a->source));
	if (data == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	r = store_event_vm(c, vm_id, "vm.address", NULL, data);
	json_decref(data);
	return r;
}

void
addrs_put(struct app *app, enum addr_source src, addr_scope_fn in_scope,
    void *scope_arg, const struct addr_seen *nv, size_t n, bool prime)
{
	struct addr_seen *v, *fresh = NULL;
	size_t nn, nfresh = 0;

	pthread_mutex_lock(&addrs_mu);
	if (addr_merge(addrs_v, addrs_n, src, in_scope, scope_arg, nv, n,
	    time_now_ms(), addrs_primed[src], &v, &nn) < 0) {
		pthread_mutex_unlock(&addrs_mu);
		log_warnx("addresses: out of memory");
		return;
	}
	free(addrs_v);
	addrs_v = v;
	addrs_n = nn;
	if (prime)
		addrs_primed[src] = true;
	for (size_t i = 0; i < nn; i++)
		nfresh += v[i].fresh;
	if (nfresh > 0 && (fresh = malloc(nfresh * sizeof(*fresh))) != NULL)
		for (size_t i = 0, k = 0; i < nn; i++)
			if (v[i].fresh)
				fresh[k++] = v[i];
	pthread_cond_broadcast(&addrs_cv);
	pthread_mutex_unlock(&addrs_mu);
	/* the events outside the table's lock */
	for (size_t i = 0; fresh && i < nfresh; i++)
		if (store_tx_lazy(app->store, addrs_event_tx, &fresh[i]) < 0)
			log_warnx("addresses: no vm.address event for %s: %s",
			    fresh[i].mac, err_last()->msg);
	free(fresh);
}

int
addrs_of(const char *mac, struct addr_seen *out, int max)
{
	int n = 0;

	pthread_mutex_lock(&addrs_mu);
	for (size_t i = 0; i < addrs_n && n < max; i++)
		if (strcasecmp(addrs_v[i].mac, mac) == 0)
			out[n++] = addrs_v[i];
	pthread_mutex_unlock(&addrs_mu);
	return n;
}

/* Is any of macs[n] in the table, seen or renewed at or after since?
 * (addrs_mu held) */
static bool
addrs_any_locked(const char (*macs)[18], int n, int64_t since)
{
	for (size_t i = 0; i < addrs_n; i++)
		for (int k = 0; k < n; k++)
			if (addrs_v[i].renewed_at >= since &&
			    strcasecmp(addrs_v[i].mac, macs[k]) == 0)
				return true;
	return false;
}

int
addrs_wait(struct app *app, const char (*macs)[18], int n, int64_t since_ms,
    int64_t until_ms)
{
	struct timespec ts;
	int64_t t;
	bool seen;

	pthread_mutex_lock(&addrs_mu);
	while (!(seen = addrs_any_locked(macs, n, since_ms)) &&
	    (t = time_now_ms()) < until_ms &&
	    !__atomic_load_n(&app->stopping, __ATOMIC_RELAXED)) {
		/* a second at a time: a shutdown does not wait for it */
		t = until_ms - t < 1000 ? until_ms : t + 1000;
		ts.tv_sec = t / 1000;
		ts.tv_nsec = (t % 1000) * 1000000L;
		pthread_cond_timedwait(&addrs_cv, &addrs_mu, &ts);
	}
	pthread_mutex_unlock(&addrs_mu);
	return seen;
}

/* --- asking a running VM's agent and its host's ARP table --- */

/* A running VM with NICs, from store_nic_each_running. */
struct addrs_vm {
	int64_t host_id;
	char uuid[UUID_STR_LEN];
	char macs[VM_NICS_MAX][18];
	int nmacs;
	bool leasing;              /* a NIC on a network hangar leases on */
	int64_t since;             /* the watch saw it start running (0:
	                            * before its first look) */
};

struct addrs_vms {
	struct addrs_vm *v;
	size_t n, cap;
};

static int
addrs_vms_add(const struct nic_run *r, void *arg)
{
	struct addrs_vms *l = arg;
	struct addrs_vm *m;

	if (l->n == 0 || l->v[l->n - 1].host_id != r->host_id ||
	    strcmp(l->v[l->n - 1].uuid, r->uuid) != 0) {
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 16;

			if ((m = realloc(l->v, cap * sizeof(*m))) == NULL)
				return err_set(ERR_INTERNAL, "out of memory");
			l->v = m;
			l->cap = cap;
		}
		m = &l->v[l->n++];
		memset(m, 0, sizeof(*m));
		m->host_id = r->host_id;
		snprintf(m->uuid, sizeof(m->uuid), "%s", r->uuid);
	}
	m = &l->v[l->n - 1];
	if (m->nmacs < VM_NICS_MAX)
		snprintf(m->macs[m->nmacs++], sizeof(m->macs[0]), "%s",
		    r->mac);
	m->leasing |= r->leasing;
	return 0;
}

/* The running VMs with NICs into *l; -1 after logging. */
static int
addrs_vms_list(struct app *app, struct addrs_vms *l)
{
	struct store_conn *c = store_read_begin(app->store);
	int r = store_nic_each_running(c, addrs_vms_add, l);

	store_read_end(c);
	if (r < 0) {
		log_warnx("addresses: cannot list running vms: %s",
		    err_last()->msg);
		err_clear();
	}
	return r;
}

/* Is mac one of the VM's (an addr_scope_fn over a struct addrs_vm)? */
static bool
addrs_vm_has(const char *mac, void *arg)
{
	const struct addrs_vm *m = arg;

	for (int i = 0; i < m->nmacs; i++)
		if (strcasecmp(m->macs[i], mac) == 0)
			return true;
	return false;
}

/* Is mac one of no running VM's (an addr_scope_fn over addrs_vms)? */
static bool
addrs_vms_lack(const char *mac, void *arg)
{
	const struct addrs_vms *l = arg;

	for (size_t i = 0; i < l->n; i++)
		if (addrs_vm_has(mac, &l->v[i]))
			return false;
	return true;
}

/* Ask m's agent and its host's ARP table; what they say replaces what
 * they said before (a failed ask keeps it). */
static void
addrs_vm_look(struct app *app, struct addrs_vm *m)
{
	static const enum if_addr_source from[] = { IF_ADDR_AGENT,
	    IF_ADDR_ARP };
	static const enum addr_source as[] = { ADDR_AGENT, ADDR_ARP };
	struct if_addr got[IF_ADDR_MAX];
	struct addr_seen nv[IF_ADDR_MAX];
	struct backend_conn *bc = fleet_conn(app->fleet, m->host_id);
	int k;
	size_t n;

	for (size_t s = 0; bc && s < 2; s++) {
		if (backend_vm_addresses(bc, m->uuid, from[s], got,
		    IF_ADDR_MAX, &k) < 0) {
			log_debug("addresses: vm %s, %s: %s", m->uuid,
			    addr_source_name(as[s]), err_last()->msg);
			err_clear();
			continue;
		}
		n = 0;
		for (int i = 0; i < k; i++) {
			if (!addrs_vm_has(got[i].mac, m) ||
			    !addr_shown(got[i].addr))
				continue;
			memset(&nv[n], 0, sizeof(nv[n]));
			memcpy(nv[n].mac, got[i].mac, sizeof(nv[n].mac));
			memcpy(nv[n].ip, got[i].addr, sizeof(nv[n].ip));
			n++;
		}
		addrs_put(app, as[s], addrs_vm_has, m, nv, n, false);
	}
	if (bc == NULL) {
		log_debug("addresses: vm %s: %s", m->uuid, err_last()->msg);
		err_clear();
	}
}

/* Forget the agent and ARP addresses of NICs no running VM has. */
static void
addrs_prune(struct app *app, struct addrs_vms *l, bool prime)
{
	addrs_put(app, ADDR_AGENT, addrs_vms_lack, l, NULL, 0, prime);
	addrs_put(app, ADDR_ARP, addrs_vms_lack, l, NULL, 0, prime);
}

void
addrs_sweep(struct app *app)
{
	struct addrs_vms l = { NULL, 0, 0 };

	leases_refresh(app);
	if (addrs_vms_list(app, &l) == 0) {
		for (size_t i = 0; i < l.n &&
		    !__atomic_load_n(&app->stopping, __ATOMIC_RELAXED); i++)
			addrs_vm_look(app, &l.v[i]);
		addrs_prune(app, &l, true);
	}
	free(l.v);
}

/* Has no NIC of m been seen with an address since it started? */
static bool
addrs_vm_unseen(const struct addrs_vm *m)
{
	bool seen;

	pthread_mutex_lock(&addrs_mu);
	seen = addrs_any_locked((const char (*)[18])m->macs, m->nmacs,
	    m->since);
	pthread_mutex_unlock(&addrs_mu);
	return !seen;
}

/*
 * The running VMs of the watch's last look (only addrs_watch, on one
 * thread, uses them): when each was first seen running, so that an
 * address seen before a VM's restart (its lease is still there) does not
 * count as seen since.
 */
static struct addrs_vms addrs_running;
static bool addrs_running_primed;

static void
addrs_since(struct addrs_vms *l)
{
	int64_t now = time_now_ms();

	for (size_t i = 0; i < l->n; i++) {
		l->v[i].since = addrs_running_primed ? now : 0;
		for (size_t k = 0; k < addrs_running.n; k++)
			if (strcmp(addrs_running.v[k].uuid, l->v[i].uuid) == 0)
				l->v[i].since = addrs_running.v[k].since;
	}
	free(addrs_running.v);
	addrs_running = *l;
	addrs_running_primed = true;
}

void
addrs_watch(struct app *app)
{
	struct addrs_vms l = { NULL, 0, 0 };
	bool leases = false;

	if (addrs_vms_list(app, &l) < 0) {
		free(l.v);
		return;
	}
	addrs_since(&l);                /* l's array is kept till next time */
	for (size_t i = 0; i < l.n; i++)
		if (addrs_vm_unseen(&l.v[i]) && l.v[i].leasing)
			leases = true;
	if (leases)
		leases_refresh(app);
	for (size_t i = 0; i < l.n &&
	    !__atomic_load_n(&app->stopping, __ATOMIC_RELAXED); i++)
		if (addrs_vm_unseen(&l.v[i]))
			addrs_vm_look(app, &l.v[i]);
	addrs_prune(app, &l, false);
}
