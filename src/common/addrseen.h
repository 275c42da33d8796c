/*
 * addrseen.h - the addresses a NIC was seen with, as a table of
 * (MAC, address, source) entries that each look at a source replaces
 * part of: pure code, no locks and no I/O (src/daemon/addrs.c keeps the
 * process's table and does the looking).  Also which addresses are worth
 * showing: not loopback, not link-local, not unspecified.
 */
#ifndef HANGAR_ADDRSEEN_H
#define HANGAR_ADDRSEEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where an address was seen: the network's DHCP leases, the guest's
 * agent, the host's ARP table. */
enum addr_source { ADDR_LEASE, ADDR_AGENT, ADDR_ARP, ADDR_SOURCE__COUNT };

#define ADDR_STR_LEN 46            /* INET6_ADDRSTRLEN */

struct addr_seen {
	char mac[18];              /* lowercase */
	char ip[ADDR_STR_LEN];     /* IPv4 or IPv6 text */
	enum addr_source source;
	int64_t seen_at;           /* first seen (ms since the epoch) */
	int64_t renewed_at;        /* first seen, or its lease last renewed
	                            * (its end moved): the guest asked */
	int64_t expiry_ms;         /* a lease's end; 0: none */
	bool fresh;                /* first seen by the last merge */
};

/* "lease", "agent", "arp". */
const char *addr_source_name(enum addr_source s);

/*
 * Is ip an address an operator can reach the guest at: a valid IPv4 or
 * IPv6 address that is not loopback (127/8, ::1), link-local
 * (169.254/16, fe80::/10), unspecified, or multicast.
 */
bool addr_shown(const char *ip);

/* Which MACs a merge replaces: in_scope(mac, arg); NULL: every MAC. */
typedef bool (*addr_scope_fn)(const char *mac, void *arg);

/*
 * The table old[nold] with its src entries of the MACs in scope replaced
 * by nv[nnv] (their source is set to src; a repeat within nv counts
 * once) into a new malloc'd array *out, *nout entries (old is left
 * alone: the caller frees it).  An entry of nv already in old (same MAC,
 * address and source) keeps its seen_at and is not fresh (its renewed_at
 * is now if its expiry_ms moved); a new one is seen and renewed at now,
 * and fresh when primed (after a process's first look, so
 * that what a restart finds is not news).  -1 when out of memory.
 */
int addr_merge(const struct addr_seen *old, size_t nold, enum addr_source src,
    addr_scope_fn in_scope, void *scope_arg, const struct addr_seen *nv,
    size_t nnv, int64_t now, bool primed, struct addr_seen **out,
    size_t *nout);

#endif
