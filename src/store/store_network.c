/*
 * store_network.c - the networks table: the networks NICs plug into.
 * A network's IPv4 range is kept as its text and as integers (net_addr,
 * prefix, gateway), so that two ranges that overlap are found by
 * arithmetic in SQL: no two hangar networks share an address, whatever
 * their mode, because a VM may have NICs on both.  And the leftovers of
 * deleted networks: the hosts that may still have their libvirt network.
 */
#include <stdio.h>
#include <string.h>

#include "../common/error.h"
#include "../common/netaddr.h"
#include "store_int.h"

#define NETWORK_COLS \
	"SELECT n.id, n.uuid, n.name, n.mode, n.cidr, n.gateway, n.dhcp," \
	" n.bridge, n.description, n.created_at," \
	" (SELECT COUNT(*) FROM vm_nics i WHERE i.network_id = n.id)" \
	" FROM networks n "

static void
network_row(sqlite3_stmt *st, struct network_rec *n)
{
	memset(n, 0, sizeof(*n));
	n->id = sqlite3_column_int64(st, 0);
	store_col_text(st, 1, n->uuid, sizeof(n->uuid));
	store_col_text(st, 2, n->name, sizeof(n->name));
	store_col_text(st, 3, n->mode, sizeof(n->mode));
	store_col_text(st, 4, n->cidr, sizeof(n->cidr));
	if (sqlite3_column_int64(st, 5) != 0)
		ipv4_format((uint32_t)sqlite3_column_int64(st, 5), n->gateway,
		    sizeof(n->gateway));
	n->dhcp = sqlite3_column_int(st, 6) != 0;
	store_col_text(st, 7, n->bridge, sizeof(n->bridge));
	store_col_text(st, 8, n->description, sizeof(n->description));
	n->created_at = sqlite3_column_int64(st, 9);
	n->nics = sqlite3_column_int(st, 10);
}

/* The range of n as integers: 0/0/0 when it has none. */
static int
network_range(struct network_rec *n, uint32_t *net, int *prefix,
    uint32_t *gw)
{
	*net = *gw = 0;
	*prefix = 0;
	if (n->cidr[0] == '\0')
		return 0;
	if (ipv4_cidr_parse(n->cidr, net, prefix) < 0 || *prefix < 1 ||
	    *prefix > 30)
		return err_set_field(ERR_INVALID, "ipv4.cidr", "ipv4.cidr must "
		    "be an IPv4 network A.B.C.D/P with P 1..30 and no host "
		    "bits set, not '%s'", n->cidr);
	if (n->gateway[0] == '\0') {
		*gw = *net + 1;
		ipv4_format(*gw, n->gateway, sizeof(n->gateway));
		return 0;
	}
	if (ipv4_parse(n->gateway, gw) < 0 ||
	    (*gw & ipv4_mask(*prefix)) != *net || *gw == *net ||
	    *gw == (*net | ~ipv4_mask(*prefix)))
		return err_set_field(ERR_INVALID, "ipv4.gateway", "ipv4.gateway "
		    "must be an address of %s other than its network and "
		    "broadcast addresses", n->cidr);
	return 0;
}

/* ERR_CONFLICT when another network's range overlaps net/prefix. */
static int
network_overlap(struct store_conn *c, const char *cidr, uint32_t net,
    int prefix)
{
	static const char sql[] = "SELECT name, cidr FROM networks"
	    " WHERE prefix > 0 AND (net_addr >> (32 - MIN(prefix, ?2)))"
	    " = (?1 >> (32 - MIN(prefix, ?2))) ORDER BY name LIMIT 1";
	sqlite3_stmt *st = store_stmt(c, sql);
	char name[NAME_MAX_LEN], other[20];
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, net);
	sqlite3_bind_int(st, 2, prefix);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		store_col_text(st, 0, name, sizeof(name));
		store_col_text(st, 1, other, sizeof(other));
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return err_set_field(ERR_CONFLICT, "ipv4.cidr", "%s overlaps "
		    "network '%s' (%s)", cidr, name, other);
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "check network ranges");
	return 0;
}

int
store_network_insert(struct store_conn *c, struct network_rec *n)
{
	static const char sql[] = "INSERT INTO networks (uuid, name, mode,"
	    " cidr, net_addr, prefix, gateway, dhcp, bridge, description,"
	    " created_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)";
	sqlite3_stmt *st;
	uint32_t net, gw;
	int prefix;

	if (network_range(n, &net, &prefix, &gw) < 0 ||
	    (prefix > 0 && network_overlap(c, n->cidr, net, prefix) < 0))
		return -1;
	if ((st = store_stmt(c, sql)) == NULL)
		return -1;
	n->created_at = time_now_ms();
	sqlite3_bind_text(st, 1, n->uuid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, n->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, n->mode, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, n->cidr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, net);
	sqlite3_bind_int(st, 6, prefix);
	sqlite3_bind_int64(st, 7, gw);
	sqlite3_bind_int(st, 8, n->dhcp);
	sqlite3_bind_text(st, 9, n->bridge, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 10, n->description, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 11, n->created_at);
	if (store_exec_stmt(c, st, "insert network") < 0) {
		if (store_unique_broken(c, "networks.name"))
			err_set_field(ERR_CONFLICT, "name",
			    "network '%s' already exists", n->name);
		return -1;
	}
	n->id = sqlite3_last_insert_rowid(c->db);
	return 0;
}

/* The one row st finds (bound); what names it in the not-found error. */
static int
network_get_one(struct store_conn *c, sqlite3_stmt *st, const char *what,
    struct network_rec *out)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		network_row(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "get network");
	return err_set(ERR_NOT_FOUND, "network '%s' not found", what);
}

int
store_network_get(struct store_conn *c, const char *name,
    struct network_rec *out)
{
	static const char sql[] = NETWORK_COLS "WHERE n.name = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	return network_get_one(c, st, name, out);
}

int
store_network_get_id(struct store_conn *c, int64_t id,
    struct network_rec *out)
{
	static const char sql[] = NETWORK_COLS "WHERE n.id = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	char what[24];

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	snprintf(what, sizeof(what), "#%lld", (long long)id);
	return network_get_one(c, st, what, out);
}

int
store_network_set_description(struct store_conn *c, int64_t id,
    const char *description)
{
	static const char sql[] = "UPDATE networks SET description = ?2"
	    " WHERE id = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, description, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "update network") < 0)
		return -1;
	return store_changed(c, "network");
}

int
store_network_delete(struct store_conn *c, int64_t id)
{
	static const char sql[] = "DELETE FROM networks WHERE id = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (store_exec_stmt(c, st, "delete network") < 0) {
		if (store_fk_broken(c))
			err_set_field(ERR_CONFLICT, "name", "network #%lld is "
			    "still used by NICs", (long long)id);
		return -1;
	}
	return store_changed(c, "network");
}

int
store_network_each(struct store_conn *c, store_network_fn fn, void *arg)
{
	static const char sql[] = NETWORK_COLS "ORDER BY n.name";
	sqlite3_stmt *st = store_stmt(c, sql);
	struct network_rec n;
	int rc, r = 0;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		network_row(st, &n);
		if ((r = fn(&n, arg)) != 0)
			break;
	}
	sqlite3_reset(st);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "list networks");
	return 0;
}

/* --- leftovers of deleted networks --- */

int
store_network_leftovers_add(struct store_conn *c, const char *name,
    const char *uuid)
{
	static const char sql[] = "INSERT OR IGNORE INTO network_leftovers"
	    " (host_id, name, uuid) SELECT id, ?1, ?2 FROM hosts";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, uuid, -1, SQLITE_STATIC);
	return store_exec_stmt(c, st, "record a network's leftovers");
}

int
store_network_leftover_drop(struct store_conn *c, const char *host,
    const char *uuid)
{
	static const char sql[] = "DELETE FROM network_leftovers WHERE"
	    " uuid = ?2 AND host_id = (SELECT id FROM hosts WHERE name = ?1)";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, uuid, -1, SQLITE_STATIC);
	return store_exec_stmt(c, st, "forget a network's leftover");
}

int
store_network_leftover_each(struct store_conn *c, const char *host,
    store_leftover_fn fn, void *arg)
{
	static const char sql[] = "SELECT l.name, l.uuid FROM"
	    " network_leftovers l JOIN hosts h ON h.id = l.host_id"
	    " WHERE h.name = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	char name[NAME_MAX_LEN + 8], uuid[UUID_STR_LEN];
	int rc, r = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_col_text(st, 0, name, sizeof(name));
		store_col_text(st, 1, uuid, sizeof(uuid));
		if ((r = fn(name, uuid, arg)) != 0)
			break;
	}
	sqlite3_reset(st);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "list a host's network leftovers");
	return 0;
}
