/*
 * fuzz_addrseen.c - libFuzzer target for src/common/addrseen.c: what a
 * guest's agent says of its interfaces is the guest's to choose, and
 * reaches addr_shown and addr_merge as it is.
 *
 * Input: lines "MAC ADDRESS" (each cut to the table's sizes).  Checks:
 *  - an address addr_shown accepts is an IPv4 or IPv6 address, and not
 *    loopback or link-local in its usual spellings;
 *  - merging the lines into an empty table gives each (MAC, address)
 *    once, all fresh, seen at the merge's time;
 *  - merging them again changes nothing and nothing is fresh;
 *  - merging nothing for the source empties its part.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/addrseen.h"
#include "fuzz.h"

#define FUZZ_ADDRS_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_shown(const char *ip)
{
	unsigned char b[16];

	if (!addr_shown(ip))
		return;
	FUZZ_CHECK(inet_pton(AF_INET, ip, b) == 1 ||
	    inet_pton(AF_INET6, ip, b) == 1, "'%s' shown", ip);
	FUZZ_CHECK(strncmp(ip, "127.", 4) != 0 && strcmp(ip, "::1") != 0 &&
	    strncmp(ip, "fe80:", 5) != 0 && strncmp(ip, "169.254.", 8) != 0,
	    "'%s' shown", ip);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_strndup(data, size), *save = NULL, *line;
	struct addr_seen nv[FUZZ_ADDRS_MAX], *t = NULL, *t2 = NULL, *t3 = NULL;
	size_t n = 0, nt = 0, nt2 = 0, nt3 = 0;

	for (line = strtok_r(in, "\n", &save); line && n < FUZZ_ADDRS_MAX;
	    line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');

		memset(&nv[n], 0, sizeof(nv[n]));
		if (sp)
			*sp++ = '\0';
		snprintf(nv[n].mac, sizeof(nv[n].mac), "%s", line);
		snprintf(nv[n].ip, sizeof(nv[n].ip), "%s", sp ? sp : "");
		fuzz_shown(nv[n].ip);
		n++;
	}
	FUZZ_CHECK(addr_merge(NULL, 0, ADDR_AGENT, NULL, NULL, nv, n, 7, true,
	    &t, &nt) == 0, "merge");
	FUZZ_CHECK(nt <= n, "%zu entries from %zu", nt, n);
	for (size_t i = 0; i < nt; i++) {
		FUZZ_CHECK(t[i].fresh && t[i].seen_at == 7 &&
		    t[i].source == ADDR_AGENT, "entry %zu", i);
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(strcasecmp(t[i].mac, t[k].mac) != 0 ||
			    strcmp(t[i].ip, t[k].ip) != 0, "twice: %s %s",
			    t[i].mac, t[i].ip);
	}
	FUZZ_CHECK(addr_merge(t, nt, ADDR_AGENT, NULL, NULL, nv, n, 9, true,
	    &t2, &nt2) == 0 && nt2 == nt, "merge again");
	for (size_t i = 0; i < nt2; i++)
		FUZZ_CHECK(!t2[i].fresh && t2[i].seen_at == 7, "entry %zu", i);
	FUZZ_CHECK(addr_merge(t2, nt2, ADDR_AGENT, NULL, NULL, NULL, 0, 11,
	    true, &t3, &nt3) == 0 && nt3 == 0, "emptied");
	free(t);
	free(t2);
	free(t3);
	free(in);
	return 0;
}
