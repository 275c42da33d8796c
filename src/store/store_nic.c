/*
 * store_nic.c - the vm_nics table: a VM's NICs as a list of rows, each
 * named by a stable device name (net0, net1, ...), with the MAC and the
 * IPv4 address hangar gave it.  Both are handed out here, inside the
 * caller's transaction (the one that inserts the VM or records the
 * hot-plug): a MAC is the configured prefix and random octets, retried
 * while the fleet-wide unique index says it is taken; an address is the
 * first free one of the network's range at or after its cursor
 * (networks.next_ipv4), going round: an address given back is handed out
 * again only once the range has been gone round, so the old lease that
 * dnsmasq keeps for the old MAC (for its whole lifetime, even after the
 * VM is gone) does not stop the new guest from getting it.
 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "../common/error.h"
#include "../common/netaddr.h"
#include "store_int.h"

/* tries at a free random MAC before giving up (3 random octets) */
#define NIC_MAC_TRIES 32

#define NIC_COLS \
	"SELECT i.dev, i.network_id, n.name, i.mac, i.model, i.ipv4," \
	" i.created_at FROM vm_nics i JOIN networks n ON n.id = i.network_id "

static void
nic_row(sqlite3_stmt *st, struct nic_rec *n)
{
	memset(n, 0, sizeof(*n));
	store_col_text(st, 0, n->dev, sizeof(n->dev));
	n->network_id = sqlite3_column_int64(st, 1);
	store_col_text(st, 2, n->network, sizeof(n->network));
	store_col_text(st, 3, n->mac, sizeof(n->mac));
	store_col_text(st, 4, n->model, sizeof(n->model));
	if (sqlite3_column_type(st, 5) != SQLITE_NULL)
		ipv4_format((uint32_t)sqlite3_column_int64(st, 5), n->ipv4,
		    sizeof(n->ipv4));
	n->created_at = sqlite3_column_int64(st, 6);
}

/* The network's range: prefix 0 when it has none. */
struct nic_range {
	uint32_t net, gw, bcast;
	uint32_t next;             /* the cursor: look from here first */
	int prefix;
	char name[NAME_MAX_LEN];
};

static int
nic_range(struct store_conn *c, int64_t network_id, struct nic_range *r)
{
	static const char sql[] = "SELECT net_addr, prefix, gateway, name,"
	    " next_ipv4 FROM networks WHERE id = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, network_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r->net = (uint32_t)sqlite3_column_int64(st, 0);
		r->prefix = sqlite3_column_int(st, 1);
		r->gw = (uint32_t)sqlite3_column_int64(st, 2);
		r->bcast = r->net | ~ipv4_mask(r->prefix);
		store_col_text(st, 3, r->name, sizeof(r->name));
		r->next = (uint32_t)sqlite3_column_int64(st, 4);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "get network");
	return err_set(ERR_NOT_FOUND, "network #%lld not found",
	    (long long)network_id);
}

/* "<field>.<name>", or name alone when field is NULL. */
static const char *
nic_field(char *buf, size_t len, const char *field, const char *name)
{
	if (field == NULL)
		return name;
	snprintf(buf, len, "%s.%s", field, name);
	return buf;
}

/*
 * The first free address of the range at or after from into *out (0 when
 * there is none): from itself, or one past a taken one or the gateway,
 * whichever is lowest and free.
 */
static int
nic_free_from(struct store_conn *c, int64_t network_id,
    const struct nic_range *r, uint32_t from, uint32_t *out)
{
	static const char sql[] = "SELECT MIN(a) FROM ("
	    " SELECT ?2 + 1 AS a UNION ALL SELECT ?3 + 1 UNION ALL SELECT ?5"
	    " UNION ALL SELECT ipv4 + 1 FROM vm_nics"
	    "  WHERE network_id = ?1 AND ipv4 IS NOT NULL)"
	    " WHERE a > ?2 AND a < ?4 AND a <> ?3 AND a >= ?5 AND a NOT IN"
	    " (SELECT ipv4 FROM vm_nics WHERE network_id = ?1"
	    "  AND ipv4 IS NOT NULL)";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, network_id);
	sqlite3_bind_int64(st, 2, r->net);
	sqlite3_bind_int64(st, 3, r->gw);
	sqlite3_bind_int64(st, 4, r->bcast);
	sqlite3_bind_int64(st, 5, from);
	rc = sqlite3_step(st);
	*out = 0;
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		*out = (uint32_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : store_fail(c, rc, "find a free address");
}

/*
 * A free address for a new NIC into *out: the first at or after the
 * network's cursor, else (gone round) the first of the range; the
 * cursor then moves past it.
 */
static int
nic_free_ipv4(struct store_conn *c, int64_t network_id,
    const struct nic_range *r, const char *field, uint32_t *out)
{
	static const char sql[] = "UPDATE networks SET next_ipv4 = ?2"
	    " WHERE id = ?1";
	sqlite3_stmt *st;
	char f[64];

	if (nic_free_from(c, network_id, r, r->next, out) < 0 ||
	    (*out == 0 && r->next > r->net + 1 &&
	    nic_free_from(c, network_id, r, 0, out) < 0))
		return -1;
	if (*out == 0)
		return err_set_field(ERR_CONFLICT, nic_field(f, sizeof(f),
		    field, "network"), "network '%s' has no free address "
		    "left", r->name);
	if ((st = store_stmt(c, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, network_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)*out + 1);
	return store_exec_stmt(c, st, "move a network's address cursor");
}

/* n->ipv4 checked (given) or chosen (empty) into *out; *has: any. */
static int
nic_ipv4(struct store_conn *c, struct nic_rec *n, const char *field,
    uint32_t *out, bool *has)
{
	struct nic_range r;
	char f[64];

	*has = false;
	if (nic_range(c, n->network_id, &r) < 0)
		return -1;
	if (n->wish && n->ipv4[0] && (r.prefix == 0 ||
	    ipv4_parse(n->ipv4, out) < 0 || (*out & ipv4_mask(r.prefix)) !=
	    r.net || *out == r.net || *out == r.bcast || *out == r.gw))
		n->ipv4[0] = '\0';      /* not of this network: a new one */
	if (r.prefix == 0) {
		if (n->ipv4[0])
			return err_set_field(ERR_INVALID, nic_field(f, sizeof(f),
			    field, "ipv4"), "network '%s' has no IPv4 range",
			    r.name);
		return 0;
	}
	*has = true;
	if (n->ipv4[0] == '\0') {
		if (nic_free_ipv4(c, n->network_id, &r, field, out) < 0)
			return -1;
		ipv4_format(*out, n->ipv4, sizeof(n->ipv4));
		return 0;
	}
	if (ipv4_parse(n->ipv4, out) < 0 || (*out & ipv4_mask(r.prefix)) !=
	    r.net || *out == r.net || *out == r.bcast || *out == r.gw)
		return err_set_field(ERR_INVALID, nic_field(f, sizeof(f), field,
		    "ipv4"), "'%s' is not a free address of network '%s': an "
		    "IPv4 address in its range, not its network, gateway or "
		    "broadcast address", n->ipv4, r.name);
	return 0;
}

/* A random MAC under prefix into n->mac. */
static int
nic_random_mac(const char *prefix, struct nic_rec *n)
{
	unsigned char b[6];
	size_t have = (strlen(prefix) + 1) / 3, len;

	if (have < 1 || have > 5 || getrandom(b, sizeof(b), 0) !=
	    (ssize_t)sizeof(b))
		return err_set(ERR_INTERNAL, "cannot make a MAC address under "
		    "prefix '%s'", prefix);
	len = (size_t)snprintf(n->mac, sizeof(n->mac), "%s", prefix);
	for (size_t i = have; i < 6 && len < sizeof(n->mac); i++)
		len += (size_t)snprintf(n->mac + len, sizeof(n->mac) - len,
		    ":%02x", b[i]);
	return 0;
}

/* The VM's first free device name netN into n->dev. */
static int
nic_dev(struct store_conn *c, int64_t vm_id, struct nic_rec *n)
{
	struct nic_rec have[VM_NICS_MAX];
	int k = store_nic_list(c, vm_id, have, VM_NICS_MAX);

	if (k < 0)
		return -1;
	for (int i = 0; i <= k; i++) {
		bool used = false;

		snprintf(n->dev, sizeof(n->dev), "net%d", i);
		for (int j = 0; j < k && !used; j++)
			used = strcmp(have[j].dev, n->dev) == 0;
		if (!used)
			return 0;
	}
	return err_set_field(ERR_CONFLICT, "nics", "a vm has at most %d "
	    "NICs", VM_NICS_MAX);
}

/* One INSERT of n; 0, or -1 with the constraint left in c. */
static int
nic_row_insert(struct store_conn *c, int64_t vm_id, const struct nic_rec *n,
    uint32_t ipv4, bool has_ipv4)
{
	static const char sql[] = "INSERT INTO vm_nics (vm_id, dev,"
	    " network_id, mac, model, ipv4, created_at)"
	    " VALUES (?1,?2,?3,?4,?5,?6,?7)";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_text(st, 2, n->dev, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, n->network_id);
	sqlite3_bind_text(st, 4, n->mac, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, n->model[0] ? n->model : "virtio", -1,
	    SQLITE_TRANSIENT);
	if (has_ipv4)
		sqlite3_bind_int64(st, 6, ipv4);
	sqlite3_bind_int64(st, 7, n->created_at);
	return store_exec_stmt(c, st, "insert nic");
}

/*
 * A wished-for address or MAC was taken (c's last constraint): a free
 * address of the network instead, or a MAC to be picked.  0 to try
 * again, -1 when that was not why (the error left as it was).
 */
static int
nic_wish_taken(struct store_conn *c, struct nic_rec *n, const char *field,
    uint32_t *ipv4, bool *pick_mac)
{
	struct nic_range r;

	if (store_unique_broken(c, "vm_nics.ipv4")) {
		if (nic_range(c, n->network_id, &r) < 0 ||
		    nic_free_ipv4(c, n->network_id, &r, field, ipv4) < 0)
			return -1;
		ipv4_format(*ipv4, n->ipv4, sizeof(n->ipv4));
		return 0;
	}
	if (store_unique_broken(c, "vm_nics.mac") && !*pick_mac) {
		*pick_mac = true;
		return 0;
	}
	return -1;
}

int
store_nic_insert(struct store_conn *c, int64_t vm_id, struct nic_rec *n,
    const char *mac_prefix, const char *field)
{
	bool pick_mac = n->mac[0] == '\0', has_ipv4;
	char f[64], mac[MAC_STR_LEN];
	uint32_t ipv4 = 0;

	if (!pick_mac) {
		if (mac_parse(n->mac, mac, sizeof(mac)) < 0)
			return err_set_field(ERR_INVALID, nic_field(f, sizeof(f),
			    field, "mac"), "'%s' is not a unicast MAC address "
			    "(six hex octets separated by ':')", n->mac);
		snprintf(n->mac, sizeof(n->mac), "%s", mac);
	}
	if ((n->dev[0] == '\0' && nic_dev(c, vm_id, n) < 0) ||
	    nic_ipv4(c, n, field, &ipv4, &has_ipv4) < 0)
		return -1;
	n->created_at = time_now_ms();
	for (int i = 0; i < NIC_MAC_TRIES; i++) {
		if (pick_mac && nic_random_mac(mac_prefix ? mac_prefix :
		    "52:54:00", n) < 0)
			return -1;
		if (nic_row_insert(c, vm_id, n, ipv4, has_ipv4) == 0)
			return 0;
		if (n->wish && nic_wish_taken(c, n, field, &ipv4, &pick_mac)
		    == 0)
			continue;
		if (store_unique_broken(c, "vm_nics.ipv4"))
			return err_set_field(ERR_CONFLICT, nic_field(f, sizeof(f),
			    field, "ipv4"), "address %s is taken", n->ipv4);
		if (!store_unique_broken(c, "vm_nics.mac"))
			break;
		if (!pick_mac)
			return err_set_field(ERR_CONFLICT, nic_field(f, sizeof(f),
			    field, "mac"), "MAC address %s is taken", n->mac);
	}
	if (c->last_rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return err_set_field(ERR_CONFLICT, nic_field(f, sizeof(f), field,
		    "dev"), "the vm already has a NIC '%s'", n->dev);
	if (store_unique_broken(c, "vm_nics.mac"))
		return err_set_field(ERR_CONFLICT, nic_field(f, sizeof(f), field,
		    "mac"), "no free MAC address found under prefix '%s'",
		    mac_prefix);
	return -1;
}

int
store_nic_delete(struct store_conn *c, int64_t vm_id, const char *mac)
{
	static const char sql[] = "DELETE FROM vm_nics WHERE vm_id = ?1"
	    " AND mac = ?2";
	sqlite3_stmt *st = store_stmt(c, sql);

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_text(st, 2, mac, -1, SQLITE_TRANSIENT);
	if (store_exec_stmt(c, st, "delete nic") < 0)
		return -1;
	return store_changed(c, "nic");
}

int
store_nic_list(struct store_conn *c, int64_t vm_id, struct nic_rec *out,
    int max)
{
	static const char sql[] = NIC_COLS "WHERE i.vm_id = ?1"
	    " ORDER BY length(i.dev), i.dev";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc, n = 0;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max)
		nic_row(st, &out[n++]);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return err_set(ERR_INTERNAL, "vm #%lld has more than %d NICs",
		    (long long)vm_id, max);
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "list nics");
	return n;
}

int
store_nic_get(struct store_conn *c, int64_t vm_id, const char *mac,
    struct nic_rec *out)
{
	static const char sql[] = NIC_COLS "WHERE i.vm_id = ?1 AND i.mac = ?2";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, vm_id);
	sqlite3_bind_text(st, 2, mac, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		nic_row(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "get nic");
	return err_set(ERR_NOT_FOUND, "the vm has no NIC '%s'", mac);
}

int
store_nic_vm(struct store_conn *c, const char *mac, int64_t *vm_id)
{
	static const char sql[] = "SELECT vm_id FROM vm_nics WHERE mac = ?1";
	sqlite3_stmt *st = store_stmt(c, sql);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*vm_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "find a nic");
	return err_set(ERR_NOT_FOUND, "no NIC has MAC '%s'", mac);
}

int
store_nic_each_running(struct store_conn *c,
    int (*fn)(const struct nic_run *n, void *arg), void *arg)
{
	static const char sql[] = "SELECT v.id, v.host_id, v.uuid, i.mac,"
	    " n.dhcp = 1 AND n.mode IN ('nat','isolated') FROM vm_nics i"
	    " JOIN vms v ON v.id = i.vm_id JOIN networks n"
	    " ON n.id = i.network_id WHERE v.observed_state = 'running'"
	    " ORDER BY v.id, i.mac";
	sqlite3_stmt *st = store_stmt(c, sql);
	struct nic_run n;
	int rc, r = 0;

	if (st == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&n, 0, sizeof(n));
		n.vm_id = sqlite3_column_int64(st, 0);
		n.host_id = sqlite3_column_int64(st, 1);
		store_col_text(st, 2, n.uuid, sizeof(n.uuid));
		store_col_text(st, 3, n.mac, sizeof(n.mac));
		n.leasing = sqlite3_column_int(st, 4) != 0;
		if ((r = fn(&n, arg)) != 0)
			break;
	}
	sqlite3_reset(st);
	if (r != 0)
		return r;
	if (rc != SQLITE_DONE)
		return store_fail(c, rc, "list the NICs of running vms");
	return 0;
}
