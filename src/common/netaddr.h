/*
 * netaddr.h - IPv4 addresses, IPv4 networks (CIDR) and Ethernet MAC
 * addresses as hangar reads and writes them: strict text forms, no
 * shortcuts ("10.1" or "010.0.0.1" are not addresses), lowercase MACs.
 * Addresses are host-order integers, so a range is arithmetic.
 */
#ifndef HANGAR_NETADDR_H
#define HANGAR_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPV4_STR_LEN 16            /* "255.255.255.255" + NUL */
#define CIDR_STR_LEN 19            /* + "/32" */
#define MAC_STR_LEN 18             /* "52:54:00:ab:cd:ef" + NUL */

/* A dotted quad (four decimal octets, no leading zeros) into *out. */
int ipv4_parse(const char *s, uint32_t *out);
/* a into buf (>= IPV4_STR_LEN). */
void ipv4_format(uint32_t a, char *buf, size_t len);
/*
 * "A.B.C.D/P" with P 0..32 and no host bits set into *net and *prefix.
 * -1 when malformed or when host bits are set.
 */
int ipv4_cidr_parse(const char *s, uint32_t *net, int *prefix);
/* The netmask of prefix (0..32). */
uint32_t ipv4_mask(int prefix);
/* Do net1/p1 and net2/p2 share an address? */
bool ipv4_cidr_overlap(uint32_t net1, int p1, uint32_t net2, int p2);

/*
 * Six two-digit hex octets separated by ':' (either case) into out as
 * lowercase (MAC_STR_LEN).  -1 when malformed, or a multicast address
 * (a NIC's own address is unicast).
 */
int mac_parse(const char *s, char *out, size_t len);
/*
 * A MAC prefix: one to five octets ("52:54:00") into out, lowercase; -1
 * when malformed or when its first octet is multicast.
 */
int mac_prefix_parse(const char *s, char *out, size_t len);

#endif
