/*
 * netaddr.c - parsing and formatting IPv4 addresses, CIDR networks and
 * MAC addresses (netaddr.h).  Every parser is strict and bounded: it
 * reads the whole string and accepts one spelling of each value.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "netaddr.h"

/* One decimal octet at *p: 0..255, no leading zero; advances *p. */
static int
ipv4_octet(const char **p, uint32_t *out)
{
	const char *s = *p;
	uint32_t v = 0;
	int n = 0;

	while (isdigit((unsigned char)s[n]) && n < 4)
		v = v * 10 + (uint32_t)(s[n++] - '0');
	if (n == 0 || n > 3 || v > 255 || (n > 1 && s[0] == '0'))
		return -1;
	*p = s + n;
	*out = v;
	return 0;
}

int
ipv4_parse(const char *s, uint32_t *out)
{
	uint32_t a = 0, o;

	if (s == NULL)
		return -1;
	for (int i = 0; i < 4; i++) {
		if (i > 0 && *s++ != '.')
			return -1;
		if (ipv4_octet(&s, &o) < 0)
			return -1;
		a = a << 8 | o;
	}
	if (*s != '\0')
		return -1;
	*out = a;
	return 0;
}

void
ipv4_format(uint32_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", a >> 24, a >> 16 & 255,
	    a >> 8 & 255, a & 255);
}

uint32_t
ipv4_mask(int prefix)
{
	if (prefix <= 0)
		return 0;
	if (prefix >= 32)
		return 0xffffffffu;
	return ~(0xffffffffu >> prefix);
}

int
ipv4_cidr_parse(const char *s, uint32_t *net, int *prefix)
{
	char addr[IPV4_STR_LEN];
	const char *slash;
	size_t n;
	int p = 0;
	uint32_t a;

	if (s == NULL || (slash = strchr(s, '/')) == NULL)
		return -1;
	n = (size_t)(slash - s);
	if (n >= sizeof(addr))
		return -1;
	memcpy(addr, s, n);
	addr[n] = '\0';
	slash++;
	if (!isdigit((unsigned char)slash[0]) ||
	    (slash[0] == '0' && slash[1] != '\0'))
		return -1;
	for (int i = 0; slash[i]; i++) {
		if (!isdigit((unsigned char)slash[i]) || i >= 2)
			return -1;
		p = p * 10 + (slash[i] - '0');
	}
	if (p > 32 || ipv4_parse(addr, &a) < 0 || (a & ~ipv4_mask(p)) != 0)
		return -1;
	*net = a;
	*prefix = p;
	return 0;
}

bool
ipv4_cidr_overlap(uint32_t net1, int p1, uint32_t net2, int p2)
{
	uint32_t m = ipv4_mask(p1 < p2 ? p1 : p2);

	return (net1 & m) == (net2 & m);
}

/* n octets "xx:xx:..." of s into out, lowercase; 0 or -1. */
static int
mac_octets(const char *s, int n, char *out, size_t len)
{
	if (s == NULL || len < (size_t)n * 3)
		return -1;
	for (int i = 0; i < n; i++) {
		const char *o = s + i * 3;

		if (!isxdigit((unsigned char)o[0]) ||
		    !isxdigit((unsigned char)o[1]) ||
		    o[2] != (i == n - 1 ? '\0' : ':'))
			return -1;
		out[i * 3] = (char)tolower((unsigned char)o[0]);
		out[i * 3 + 1] = (char)tolower((unsigned char)o[1]);
		out[i * 3 + 2] = i == n - 1 ? '\0' : ':';
	}
	/* the first octet's low bit is the multicast bit */
	if (strchr("13579bdf", out[1]) != NULL)
		return -1;
	return 0;
}

int
mac_parse(const char *s, char *out, size_t len)
{
	if (s == NULL || strlen(s) != 17)
		return -1;
	return mac_octets(s, 6, out, len);
}

int
mac_prefix_parse(const char *s, char *out, size_t len)
{
	size_t n;

	if (s == NULL || (n = strlen(s)) < 2 || n > 14 || (n + 1) % 3 != 0)
		return -1;
	return mac_octets(s, (int)(n + 1) / 3, out, len);
}
