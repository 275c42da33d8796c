/*
 * networks.c - hangar's networks on the hosts.  A nat or isolated
 * network is a libvirt network on every host, named hangar-<name> with a
 * bridge hgn<id> (the store never reuses an id), and the same uuid
 * everywhere: created on every reachable host when the network is
 * created, and on a host when it connects (registered later, or back
 * after being unreachable: fleet.c calls networks_ensure_host).  A
 * bridge network attaches NICs to a bridge the hosts already have;
 * nothing is made for it.
 *
 * Creating one: the row first (bad input and conflicts never reach a
 * host), then every reachable host; a host that refuses (its own
 * networks use the range, the bridge name is taken) undoes it all, the
 * row too, and its words are the error.  Deleting one: the row, while no
 * NIC uses it, and in the same transaction a leftover row (the libvirt
 * name and uuid) for every host; then every reachable host, each
 * forgetting its leftover once the network is gone from it.  A host that
 * was unreachable (or refused) removes it when it connects again, before
 * the networks it should have are made there: a network deleted and
 * made again under the same name while the host was away comes back
 * new.  Only a network of that name and that uuid is removed: never one
 * hangar did not make.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/log.h"
#include "../common/netaddr.h"
#include "app.h"

void
networks_lv_names(const struct network_rec *n, struct network_names *out)
{
	snprintf(out->name, sizeof(out->name), "hangar-%s", n->name);
	if (strcmp(n->mode, "bridge") == 0)
		snprintf(out->bridge, sizeof(out->bridge), "%s", n->bridge);
	else
		snprintf(out->bridge, sizeof(out->bridge), "hgn%lld",
		    (long long)n->id);
}

bool
networks_on_hosts(const struct network_rec *n)
{
	return strcmp(n->mode, "bridge") != 0;
}

int
networks_ensure_on(struct backend_conn *bc, const struct network_rec *n)
{
	struct network_names nm;
	struct net_spec spec;
	uint32_t net;
	int prefix = 0;

	if (!networks_on_hosts(n))
		return 0;
	networks_lv_names(n, &nm);
	if (ipv4_cidr_parse(n->cidr, &net, &prefix) < 0)
		return err_set(ERR_INTERNAL, "network '%s' has no valid range",
		    n->name);
	memset(&spec, 0, sizeof(spec));
	spec.name = nm.name;
	spec.uuid = n->uuid;
	spec.mode = n->mode;
	spec.bridge = nm.bridge;
	spec.address = n->gateway;
	spec.prefix = prefix;
	spec.dhcp = n->dhcp;
	if (backend_network_define(bc, &spec) < 0 ||
	    backend_network_start(bc, nm.name) < 0)
		return -1;
	return 0;
}

/* --- on a host that connects --- */

struct networks_host {
	struct backend_conn *bc;
	const char *host;
	struct store *s;
};

struct networks_gone {
	const char *host;
	const char *uuid;
};

static int
networks_gone_tx(struct store_conn *c, void *arg)
{
	struct networks_gone *g = arg;

	return store_network_leftover_drop(c, g->host, g->uuid);
}

/* Network name (uuid) off host bc, and its leftover row with it. */
static int
networks_remove_on(struct store *s, struct backend_conn *bc,
    const char *host, const char *name, const char *uuid)
{
	struct networks_gone g = { host, uuid };

	if (backend_network_undefine(bc, name, uuid) < 0) {
		log_warnx("networks: cannot remove network '%s' from host "
		    "'%s' (again when it connects): %s", name, host,
		    err_last()->msg);
		return -1;
	}
	if (store_tx(s, networks_gone_tx, &g) < 0) {
		log_warnx("networks: network '%s' is off host '%s' but its "
		    "leftover row stays: %s", name, host, err_last()->msg);
		return -1;
	}
	log_info("networks: network '%s' removed from host '%s'", name, host);
	return 0;
}

/* The host's leftovers, read first: no store read open while removing. */
struct networks_leftovers {
	char (*name)[NAME_MAX_LEN + 8];
	char (*uuid)[UUID_STR_LEN];
	size_t n, cap;
};

static int
networks_leftover_add(const char *name, const char *uuid, void *arg)
{
	struct networks_leftovers *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		void *a = realloc(l->name, cap * sizeof(*l->name));

		if (a == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		l->name = a;
		if ((a = realloc(l->uuid, cap * sizeof(*l->uuid))) == NULL)
			return err_set(ERR_INTERNAL, "out of memory");
		l->uuid = a;
		l->cap = cap;
	}
	snprintf(l->name[l->n], sizeof(l->name[0]), "%s", name);
	snprintf(l->uuid[l->n++], sizeof(l->uuid[0]), "%s", uuid);
	return 0;
}

/* Remove from the host what was deleted while it was away. */
static void
networks_catch_up(struct networks_host *h)
{
	struct networks_leftovers l = { 0 };
	struct store_conn *c = store_read_begin(h->s);
	int r = store_network_leftover_each(c, h->host,
	    networks_leftover_add, &l);

	store_read_end(c);
	if (r < 0)
		log_warnx("networks: cannot list what to remove from host "
		    "'%s': %s", h->host, err_last()->msg);
	for (size_t i = 0; i < l.n; i++)
		networks_remove_on(h->s, h->bc, h->host, l.name[i], l.uuid[i]);
	free(l.name);
	free(l.uuid);
}

static int
networks_ensure_one(const struct network_rec *n, void *arg)
{
	struct networks_host *h = arg;

	if (networks_ensure_on(h->bc, n) < 0)
		log_warnx("networks: network '%s' is not on host '%s': %s",
		    n->name, h->host, err_last()->msg);
	return 0;
}

void
networks_ensure_host(struct store *s, struct backend_conn *bc,
    const char *host)
{
	struct networks_host h = { bc, host, s };
	struct store_conn *c;
	struct err e;

	err_save(&e);
	networks_catch_up(&h);
	c = store_read_begin(s);
	if (store_network_each(c, networks_ensure_one, &h) < 0)
		log_warnx("networks: cannot list networks for host '%s': %s",
		    host, err_last()->msg);
	store_read_end(c);
	err_restore(&e);
}

/* --- create, delete --- */

struct networks_drop {
	struct app *app;
	const struct network_rec *n;
};

static int
networks_insert_tx(struct store_conn *c, void *arg)
{
	return store_network_insert(c, arg);
}

static int
networks_delete_tx(struct store_conn *c, void *arg)
{
	struct network_rec *n = arg;
	struct network_names nm;

	if (store_network_get(c, n->name, n) < 0)
		return -1;
	if (n->nics > 0)
		return err_set_field(ERR_CONFLICT, "name", "network '%s' is "
		    "used by %d NIC(s)", n->name, n->nics);
	if (store_network_delete(c, n->id) < 0)
		return -1;
	if (!networks_on_hosts(n))
		return 0;
	networks_lv_names(n, &nm);
	return store_network_leftovers_add(c, nm.name, n->uuid);
}

static int
networks_make_on(struct backend_conn *bc, const char *host, void *arg)
{
	if (networks_ensure_on(bc, arg) == 0)
		return 0;
	return err_set(err_last()->code == ERR_UNAVAILABLE ? ERR_UNAVAILABLE :
	    ERR_CONFLICT, "host '%s' cannot have network '%s': %s", host,
	    ((const struct network_rec *)arg)->name, err_last()->msg);
}

/* Off a reachable host, with its leftover row (arg: networks_drop). */
static int
networks_drop_on(struct backend_conn *bc, const char *host, void *arg)
{
	struct networks_drop *d = arg;
	struct network_names nm;

	networks_lv_names(d->n, &nm);
	networks_remove_on(d->app->store, bc, host, nm.name, d->n->uuid);
	return 0;
}

int
networks_request_create(struct app *app, struct network_rec *n)
{
	struct network_rec gone;
	struct err e;

	if (store_tx(app->store, networks_insert_tx, n) < 0)
		return -1;
	if (!networks_on_hosts(n) ||
	    fleet_each_reachable(app->fleet, networks_make_on, n) == 0) {
		log_info("networks: network '%s' (%s %s) created", n->name,
		    n->mode, n->cidr[0] ? n->cidr : n->bridge);
		return 0;
	}
	err_save(&e);
	gone = *n;
	/* its rows go first: the leftovers the removals below forget */
	if (store_tx(app->store, networks_delete_tx, &gone) < 0)
		log_warnx("networks: cannot remove network '%s' after its "
		    "failed creation: %s", n->name, err_last()->msg);
	fleet_each_reachable(app->fleet, networks_drop_on,
	    &(struct networks_drop){ app, n });
	err_restore(&e);
	return -1;
}

int
networks_request_delete(struct app *app, const char *name, struct network_rec *out)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	if (store_tx(app->store, networks_delete_tx, out) < 0)
		return -1;
	/* a host not reached here removes it when it connects again */
	if (networks_on_hosts(out))
		fleet_each_reachable(app->fleet, networks_drop_on,
		    &(struct networks_drop){ app, out });
	log_info("networks: network '%s' deleted", out->name);
	return 0;
}
