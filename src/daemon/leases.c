/*
 * leases.c - the DHCP leases of every hangar network with DHCP on every
 * reachable host, read by the reconcile sweep and by addrs_watch while a
 * booting guest's NIC has no address yet (leases_refresh), and handed to
 * the table of addresses seen (addrs.c) as source "lease": the whole
 * "lease" part of it is replaced by each refresh.  A host that cannot be
 * asked drops its leases from the table until it can.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
#include "app.h"

/* What a refresh gathers. */
struct leases_scan {
	struct network_rec *nets;
	size_t nnets, cap;
	struct addr_seen *v;
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
	struct addr_seen *e;

	if (s->n == s->vcap) {
		size_t cap = s->vcap ? s->vcap * 2 : 32;
		struct addr_seen *v = realloc(s->v, cap * sizeof(*v));

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
	addrs_put(app, ADDR_LEASE, NULL, NULL, s.v, s.n, true);
	pthread_mutex_unlock(&one);
	free(s.nets);
	free(s.v);
}
