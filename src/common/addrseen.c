/*
 * addrseen.c - merging what one look at an address source found into
 * the table of addresses seen, and which addresses are worth showing
 * (addrseen.h).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addrseen.h"

static const char *const addr_source_names[ADDR_SOURCE__COUNT] = {
	[ADDR_LEASE] = "lease",
	[ADDR_AGENT] = "agent",
	[ADDR_ARP] = "arp",
};

const char *
addr_source_name(enum addr_source s)
{
	return (unsigned)s < ADDR_SOURCE__COUNT ? addr_source_names[s] : "?";
}

static bool
addr_shown4(const unsigned char *b)
{
	return !(b[0] == 0 || b[0] == 127 || (b[0] == 169 && b[1] == 254) ||
	    b[0] >= 224);
}

bool
addr_shown(const char *ip)
{
	static const unsigned char zero[16], one[16] = { [15] = 1 };
	unsigned char b[16];

	if (inet_pton(AF_INET, ip, b) == 1)
		return addr_shown4(b);
	if (inet_pton(AF_INET6, ip, b) != 1)
		return false;
	if (memcmp(b, zero, 16) == 0 || memcmp(b, one, 16) == 0)
		return false;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)       /* fe80::/10 */
		return false;
	if (b[0] == 0xff)                                /* multicast */
		return false;
	/* an IPv4-mapped address is its IPv4 address */
	if (memcmp(b, zero, 10) == 0 && b[10] == 0xff && b[11] == 0xff)
		return addr_shown4(b + 12);
	return true;
}

static bool
addr_same(const struct addr_seen *a, const struct addr_seen *b,
    enum addr_source src)
{
	return a->source == src && strcasecmp(a->mac, b->mac) == 0 &&
	    strcmp(a->ip, b->ip) == 0;
}

/* The entry of src like e in v[n], or NULL. */
static const struct addr_seen *
addr_find(const struct addr_seen *v, size_t n, const struct addr_seen *e,
    enum addr_source src)
{
	for (size_t i = 0; i < n; i++)
		if (addr_same(&v[i], e, src))
			return &v[i];
	return NULL;
}

int
addr_merge(const struct addr_seen *old, size_t nold, enum addr_source src,
    addr_scope_fn in_scope, void *scope_arg, const struct addr_seen *nv,
    size_t nnv, int64_t now, bool primed, struct addr_seen **out,
    size_t *nout)
{
	struct addr_seen *v = malloc((nold + nnv + 1) * sizeof(*v));
	const struct addr_seen *was;
	size_t n = 0;

	if (v == NULL)
		return -1;
	for (size_t i = 0; i < nold; i++)
		if (old[i].source != src || (in_scope != NULL &&
		    !in_scope(old[i].mac, scope_arg))) {
			v[n] = old[i];
			v[n++].fresh = false;
		}
	for (size_t i = 0; i < nnv; i++) {
		if (addr_find(v, n, &nv[i], src))
			continue;               /* a repeat */
		v[n] = nv[i];
		v[n].source = src;
		if ((was = addr_find(old, nold, &nv[i], src)) != NULL) {
			v[n].seen_at = was->seen_at;
			v[n].renewed_at = was->expiry_ms != nv[i].expiry_ms ?
			    now : was->renewed_at;
			v[n].fresh = false;
		} else {
			v[n].seen_at = v[n].renewed_at = now;
			v[n].fresh = primed;
		}
		n++;
	}
	*out = v;
	*nout = n;
	return 0;
}
