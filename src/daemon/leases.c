/*
 * leases.c - the addresses NICs were seen with: the DHCP leases of every
 * hangar network with DHCP on every reachable host, read by the
 * reconcile sweep (leases_refresh) and kept here in memory, so that a
 * read of a VM (GET /v1/vms/{vm}, which never waits on a host) can show
 * them.  An address keeps the time it was first seen while its lease
 * stays; one seen for the first time is a vm.address event for the VM
 * of its MAC (after the first refresh of the process: what a restart
 * finds was seen before).  One table for the process, behind a mutex,
 * replaced whole by each refresh.  Between sweeps, while a running VM's
 * NIC has no lease yet (a guest booting), leases_watch refreshes every
 * few seconds (provision.c's ticker calls it), so the first address
 * shows within seconds of the guest's DHCP, not at the next sweep.
 */
#include <pthread.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
#include "app.h"

static pthread_mutex_t leases_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lease_seen *leases_v;     /* owned; guarded by leases_mu */
static size_t leases_n;
static bool leases_primed;              /* a refresh has filled it */

/* What a refresh gathers. */
struct leases_scan {
	struct network_rec *nets;
	size_t nnets, cap;
	struct lease_seen *v;
	size_t n, vcap;
};

static int
leases_net(const struct network_rec *n, void *arg)
{
	struct leases_scan *s = arg;

	if (!networks_on_hosts(n) || !n->dhcp)
		return 0;
	if (s->nnets == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct network_rec *v = realloc(s->nets, cap * sizeof(*v));

		if (v == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		s->nets = v;
		s->cap = cap;
	}
	s->nets[s->nnets++] = *n;
	return 0;
}

static void
leases_add(struct leases_scan *s, const struct net_lease *l)
{
	struct lease_seen *e;

	if (s->n == s->vcap) {
		size_t cap = s->vcap ? s->vcap * 2 : 32;
		struct lease_seen *v = realloc(s->v, cap * sizeof(*v));

		if (v == NULL)
			return;
		s->v = v;
		s->vcap = cap;
	}
	e = &s->v[s->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->mac, sizeof(e->mac), "%.17s", l->mac);
	snprintf(e->ip, sizeof(e->ip), "%.15s", l->ip);
	e->expiry_ms = l->expiry_ms;
	e->seen_at = time_now_ms();
}

static int
leases_host(struct backend_conn *bc, const char *host, void *arg)
{
	static struct net_lease l[NET_LEASES_MAX];   /* one sweep at a time */
	struct leases_scan *s = arg;
	struct network_names nm;
	int k;

	for (size_t i = 0; i < s->nnets; i++) {
		networks_lv_names(&s->nets[i], &nm);
		if (backend_network_leases(bc, nm.name, NULL, l, NET_LEASES_MAX,
		    &k) < 0) {
			log_debug("leases: network '%s' on host '%s': %s",
			    nm.name, host, err_last()->msg);
			continue;
		}
		for (int j = 0; j < k; j++)
			leases_add(s, &l[j]);
	}
	return 0;
}

/* A vm.address event for the VM of l's MAC, if it is one of hangar's. */
static int
leases_event_tx(struct store_conn *c, void *arg)
{
	const struct lease_seen *l = arg;
	int64_t vm_id;
	json_t *data;
	int r;

	if (store_nic_vm(c, l->mac, &vm_id) < 0) {
		if (err_last()->code != ERR_NOT_FOUND)
			return -1;
		err_clear();
		return 0;
	}
	data = json_pack("{s:s, s:s, s:s}", "mac", l->mac, "address", l->ip,
	    "source", "lease");
	if (data == NULL)
		return err_set(ERR_INTERNAL, "out of memory");
	r = store_event_vm(c, vm_id, "vm.address", NULL, data);
	json_decref(data);
	return r;
}

void
leases_refresh(struct app *app)
{
	static pthread_mutex_t one = PTHREAD_MUTEX_INITIALIZER;
	struct leases_scan s;
	struct store_conn *c;
	int rc;

	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&one);
	c = store_read_begin(app->store);
	rc = store_network_each(c, leases_net, &s);
	store_read_end(c);
	if (rc == 0 && s.nnets > 0)
		fleet_each_reachable(app->fleet, leases_host, &s);
	err_clear();
	if (rc < 0) {               /* keep what was seen */
		pthread_mutex_unlock(&one);
		free(s.nets);
		free(s.v);
		return;
	}
	pthread_mutex_lock(&leases_mu);
	/* an address seen before keeps when it was first seen */
	for (size_t i = 0; i < s.n; i++) {
		s.v[i].fresh = leases_primed;
		for (size_t k = 0; k < leases_n; k++)
			if (strcmp(s.v[i].mac, leases_v[k].mac) == 0 &&
			    strcmp(s.v[i].ip, leases_v[k].ip) == 0) {
				s.v[i].seen_at = leases_v[k].seen_at;
				s.v[i].fresh = false;
			}
	}
	free(leases_v);
	leases_v = s.v;
	leases_n = s.n;
	leases_primed = true;
	pthread_mutex_unlock(&leases_mu);
	/* events outside the table's lock (nobody else writes s.v: one
	 * refresh at a time, under one) */
	for (size_t i = 0; i < s.n; i++)
		if (s.v[i].fresh && store_tx_lazy(app->store, leases_event_tx,
		    &s.v[i]) < 0)
			log_warnx("leases: no vm.address event for %s: %s",
			    s.v[i].mac, err_last()->msg);
	pthread_mutex_unlock(&one);
	free(s.nets);
}

int
leases_of(const char *mac, struct lease_seen *out, int max)
{
	int n = 0;

	pthread_mutex_lock(&leases_mu);
	for (size_t i = 0; i < leases_n && n < max; i++)
		if (strcasecmp(leases_v[i].mac, mac) == 0)
			out[n++] = leases_v[i];
	pthread_mutex_unlock(&leases_mu);
	return n;
}

/* 1 when no lease of mac is known (a store_nic_each_leasing fn) */
static int
leases_unseen(const char *mac, void *arg)
{
	struct lease_seen one;

	(void)arg;
	return leases_of(mac, &one, 1) == 0;
}

void
leases_watch(struct app *app)
{
	struct store_conn *c = store_read_begin(app->store);
	int r = store_nic_each_leasing(c, leases_unseen, NULL);

	store_read_end(c);
	if (r < 0) {
		log_warnx("leases: %s", err_last()->msg);
		err_clear();
	} else if (r > 0) {
		leases_refresh(app);
	}
}
