/*
 * fuzz_netaddr.c - libFuzzer target for the address parsers of
 * src/common/netaddr.c (IPv4 addresses, CIDR networks, MACs and MAC
 * prefixes), which read request fields before they reach the store or
 * a libvirt network definition.
 *
 * Input: the string (cut at its first NUL).  Checks:
 *  - whatever a parser accepts, formatting it again gives back exactly
 *    the input (one spelling per value: no leading zeros, no shortcuts)
 *    or, for MACs, its lowercase form;
 *  - a CIDR accepted has no host bits and a prefix of 0..32, and
 *    overlaps itself;
 *  - an accepted MAC is unicast and 17 characters long.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/netaddr.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_strndup(data, size);
	char buf[64], low[64];
	uint32_t a, net;
	int prefix;
	size_t n = strlen(in);

	if (ipv4_parse(in, &a) == 0) {
		ipv4_format(a, buf, sizeof(buf));
		FUZZ_CHECK(strcmp(buf, in) == 0, "'%s' parsed as %s", in, buf);
	}
	if (ipv4_cidr_parse(in, &net, &prefix) == 0) {
		FUZZ_CHECK(prefix >= 0 && prefix <= 32, "prefix %d", prefix);
		FUZZ_CHECK((net & ~ipv4_mask(prefix)) == 0, "host bits set");
		ipv4_format(net, buf, sizeof(buf));
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%d",
		    prefix);
		FUZZ_CHECK(strcmp(buf, in) == 0, "'%s' parsed as %s", in, buf);
		FUZZ_CHECK(ipv4_cidr_overlap(net, prefix, net, prefix),
		    "a network does not overlap itself");
	}
	for (size_t i = 0; i <= n && i < sizeof(low); i++)
		low[i] = (char)tolower((unsigned char)in[i]);
	if (mac_parse(in, buf, sizeof(buf)) == 0) {
		FUZZ_CHECK(strlen(buf) == 17 && strcmp(buf, low) == 0,
		    "'%s' parsed as %s", in, buf);
		FUZZ_CHECK(strchr("13579bdf", buf[1]) == NULL, "multicast");
	}
	if (mac_prefix_parse(in, buf, sizeof(buf)) == 0)
		FUZZ_CHECK(strcmp(buf, low) == 0 && strlen(buf) < 15,
		    "prefix '%s' parsed as %s", in, buf);
	free(in);
	return 0;
}
